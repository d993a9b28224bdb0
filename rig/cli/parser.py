"""The command line's words: every subcommand, its options and an example of it, in the
order a user meets them; and the sweep settings the options make."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeAlias

from rig import paths
from rig.nightly import history_branch, matrix, trend
from rig.report import seed
from rig.report.summary import METRICS
from rig.run import settings


def _config_option(
    parser: argparse.ArgumentParser, help_text: str = "sweep settings YAML (default: bench.yaml)"
) -> None:
    parser.add_argument("--config", type=Path, default=paths.DEFAULT_BENCH_CONFIG, help=help_text)


def _common(parser: argparse.ArgumentParser) -> None:
    _config_option(parser)
    parser.add_argument(
        "--kernel",
        help="Debian's kernel source by name: debian:6.1 (default), debian:6.12, debian:7.2; "
        "fetched into the cache, never installed",
    )
    parser.add_argument(
        "--kernel-src",
        type=Path,
        default=None,
        help="a kernel tree on disk to use instead of Debian's",
    )
    parser.add_argument(
        "--ref",
        action="append",
        help="with --kernel-src on a git tree: build this commit, tag or branch (checked "
        "out in the cache; the user's checkout and repository are not touched); given "
        "twice, compare the two commits, the first as the baseline, the second labelled by "
        "its short commit; run.json records each commit and subject",
    )
    _qemu_src_option(parser)
    parser.add_argument(
        "--profile", help="machine profile from qemu-configs/ (default from --config)"
    )
    parser.add_argument(
        "--patch",
        help="comma-separated variants, each [LABEL=]PART[+PART...]: a PART is NAME "
        "(kernel-patches/NAME.patch) or a path to a patch file, revert:NAME-OR-PATH applies "
        "it in reverse, A+B is a series applied in order; the label is derived from the "
        "file names unless LABEL= gives it",
    )
    parser.add_argument(
        "--mode",
        help="timing mode: icount, wallclock, or stress (4 vCPUs, the disk on an iothread: "
        "for the checks, never for timing)",
    )
    parser.add_argument(
        "--page-size",
        help="the guest kernel's page size: 4K (default), 16K or 64K "
        "(CONFIG_ARM64_*K_PAGES; sizes below one page are left out)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    _jobs_option(parser, "boots")


def _jobs_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--jobs",
        type=int,
        help=f"{what} at once (default: one per core); icount results do not depend on it, "
        "wallclock mode runs one at a time",
    )


def _sweep_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", help="comma-separated buffer sizes, e.g. 4K,1M,4M")
    parser.add_argument("--seconds", type=int, help="dma_map_benchmark seconds per size")
    parser.add_argument("--threads", type=int, help="dma_map_benchmark threads")
    parser.add_argument("--direction", choices=["BIDIRECTIONAL", "TO_DEVICE", "FROM_DEVICE"])
    parser.add_argument("--dma-bits", type=int, help="DMA mask bits (20..64)")
    parser.add_argument("--repeat", type=int, help="boots per variant")
    parser.add_argument(
        "--counters",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a traced boot per variant counting syncs and TLB calls per unmap",
    )
    parser.add_argument("--boot-timeout", type=float, help="seconds from QEMU start to ready")
    parser.add_argument("--command-timeout", type=float, help="seconds for one guest command")
    parser.add_argument(
        "--out", type=Path, default=paths.DEFAULT_RESULTS, help="results folder (default: results/)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the QEMU command lines and exit"
    )


def _qemu_src_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--qemu-src",
        help="a QEMU tree (10.2 or newer) to build the emulator from instead of Debian's "
        "source: a git checkout's HEAD is exported, a plain folder copied; the tree is "
        "never written",
    )


# The subparsers action is generic only to the type checker.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _subcommand(
    sub: Subparsers, name: str, summary: str, *examples: str
) -> argparse.ArgumentParser:
    """A subcommand with its one-line summary (in the main --help) and its examples (at
    the end of its own --help)."""
    lines = "\n".join(f"  {example}" for example in examples)
    return sub.add_parser(
        name,
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
        epilog=f"example{'s' if len(examples) > 1 else ''}:\n{lines}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _bench(sub: Subparsers) -> None:
    bench = _subcommand(
        sub,
        "bench",
        "build both kernels, boot each, measure, check, report",
        "python -m rig bench",
        "python -m rig bench --kernel debian:7.2 --patch revert:final-7.2 --sizes 64K,1M",
        "python -m rig bench --profile smmuv3-noncoherent --dry-run",
        "python -m rig bench --kernel-src ../linux --ref v6.11 --ref v6.12 --sizes 64K,1M",
    )
    _common(bench)
    _sweep_options(bench)


def _report(sub: Subparsers) -> None:
    rep = _subcommand(
        sub,
        "report",
        "rebuild a run's summary.md, plots, report.html, junit.xml and kcidb.json",
        "python -m rig report results/latest",
        "python -m rig report results/latest --threshold 3",
    )
    rep.add_argument("run_dir", type=Path, help="a results/<run-id> folder (or results/latest)")
    rep.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="verdict threshold in %% (default 5): the smallest change called improved or "
        "regressed; see docs/how-a-number-is-made.md",
    )


def _shell(sub: Subparsers) -> None:
    shell = _subcommand(
        sub,
        "shell",
        "boot a profile and hand over the guest console",
        "python -m rig shell --variant final",
        "python -m rig shell --profile mmu500-coherent --dry-run",
    )
    _common(shell)
    shell.add_argument(
        "--variant",
        default="baseline",
        help="which kernel to boot: baseline or one variant as --patch writes it",
    )
    shell.add_argument("--dry-run", action="store_true", help="print the QEMU command line")


def _build(sub: Subparsers) -> None:
    build = _subcommand(
        sub,
        "build",
        "build (or find cached) the kernels and the guest image, and stop",
        "python -m rig build --kernel debian:6.12 --patch revert:final-6.12",
    )
    _common(build)


def _qemu(sub: Subparsers) -> None:
    qemu = _subcommand(
        sub,
        "qemu",
        "build QEMU with the MMU-500 model (qemu/) and the model's qtest",
        "python -m rig qemu",
    )
    _qemu_src_option(qemu)
    qemu.add_argument("--quiet", action="store_true", help="no progress output")


def _qemu_peer(sub: Subparsers) -> None:
    peer = _subcommand(
        sub,
        "qemu-peer",
        "run QEMU's own aarch64 qtests on the rig's QEMU and on the same QEMU without the "
        "rig's files and patches; fail on a test only the rig's build fails",
        "python -m rig qemu-peer",
    )
    peer.add_argument("--jobs", type=int, default=0, help="tests at once (0: one per core)")
    peer.add_argument("--quiet", action="store_true", help="no progress output")


def _matrix(sub: Subparsers) -> None:
    mat = _subcommand(
        sub,
        "matrix",
        "run the nightly matrix (nightly.yaml): kernels x profiles, a run each",
        "python -m rig matrix --list",
        "python -m rig matrix --cell 6.1-mmu500-noncoherent",
    )
    mat.add_argument(
        "--file", type=Path, default=matrix.FILE, help="the matrix (default nightly.yaml)"
    )
    _config_option(mat, "settings the cells start from (default: bench.yaml)")
    mat.add_argument("--cell", help="run this cell only (see --list)")
    mat.add_argument("--list", action="store_true", help="print the cells' names and stop")
    mat.add_argument(
        "--json", action="store_true", help="print the cells as a CI job list (JSON) and stop"
    )
    mat.add_argument(
        "--measured",
        type=Path,
        metavar="DIR",
        help="with --json: leave out the cells whose inputs key has a marker in DIR (the "
        "history branch's measured/)",
    )
    mat.add_argument("--out", type=Path, default=paths.DEFAULT_RESULTS, help="results folder")
    mat.add_argument("--quiet", action="store_true", help="no progress output")
    _jobs_option(mat, "cells")
    mat.add_argument(
        "--keys",
        action="store_true",
        help="with --cell: print its CI cache keys (QEMU build, kernels, measured inputs) as "
        "JSON and stop",
    )
    mat.add_argument(
        "--confirm-with",
        type=Path,
        metavar="HISTORY",
        help="with --cell: after the run, look for a regression this run starts in HISTORY "
        "plus the run, and if there is one run the cell again so the trend sees whether it "
        "reproduces (CI's cell jobs, which have the build at hand)",
    )
    # Where a cell run by `matrix --jobs N` leaves its result for the parent.
    mat.add_argument("--result-file", type=Path, help=argparse.SUPPRESS)


def _merge(sub: Subparsers) -> None:
    merge = _subcommand(
        sub,
        "merge",
        "add run folders' measurements to a history (SQLite), idempotently",
        "python -m rig merge results/2*/ --history results/history.sqlite",
    )
    merge.add_argument("run_dirs", type=Path, nargs="+", help="results/<run-id> folders")
    merge.add_argument(
        "--history",
        type=Path,
        default=paths.DEFAULT_RESULTS / "history.sqlite",
        help="the history file (default results/history.sqlite; created when missing)",
    )


def _trend(sub: Subparsers) -> None:
    tr = _subcommand(
        sub,
        "trend",
        "find change points in the history: plots, trend.md and trend.html",
        "python -m rig trend --history results/history.sqlite",
        "python -m rig trend --min-change 3 --confirm",
    )
    tr.add_argument(
        "--history",
        type=Path,
        default=paths.DEFAULT_RESULTS / "history.sqlite",
        help="the history (default results/history.sqlite; see merge)",
    )
    tr.add_argument(
        "--out", type=Path, default=paths.DEFAULT_RESULTS / "trend", help="where the report goes"
    )
    tr.add_argument(
        "--min-change",
        type=float,
        default=trend.Criteria.min_change_pct,
        help="smallest change in %% kept as a change point (default %(default)s)",
    )
    tr.add_argument(
        "--alpha",
        type=float,
        default=trend.Criteria.alpha,
        help="level the test of a break (which pays for where the break was placed) must "
        "pass (default %(default)s)",
    )
    tr.add_argument(
        "--confirm",
        action="store_true",
        help="re-run the matrix cell of a regression seen only in its newest run, and keep "
        "the regression only if the re-run measures it too",
    )
    tr.add_argument("--file", type=Path, default=matrix.FILE, help="the matrix, for --confirm")
    _config_option(tr, "settings, for --confirm")
    tr.add_argument(
        "--results", type=Path, default=paths.DEFAULT_RESULTS, help="where --confirm's runs go"
    )
    tr.add_argument("--quiet", action="store_true", help="no progress output")
    tr.add_argument(
        "--step-summary",
        type=Path,
        metavar="FILE",
        help="append a markdown summary to FILE (CI: $GITHUB_STEP_SUMMARY)",
    )
    tr.add_argument(
        "--plots-url",
        help="where the trend's plots will be published, for the summary's links",
    )


def _history_branch(sub: Subparsers) -> None:
    hb = _subcommand(
        sub,
        "history-branch",
        "keep the nightly history on a git branch: record runs, publish the trend site",
        "python -m rig history-branch --clone build/history --runs results/2*/",
        "python -m rig history-branch --clone build/history --site results/trend",
    )
    hb.add_argument(
        "--clone",
        type=Path,
        required=True,
        help="a private clone of the branch (made when missing, reset to the remote's tip)",
    )
    hb.add_argument(
        "--branch",
        default=history_branch.DEFAULT_BRANCH,
        help="the branch (default %(default)s)",
    )
    hb.add_argument(
        "--repo", type=Path, default=paths.REPO, help="the repository whose origin holds it"
    )
    hb.add_argument("--runs", type=Path, nargs="+", help="run folders whose records to push")
    hb.add_argument(
        "--measured",
        type=Path,
        help="a folder of inputs-key markers (CI cells write one per measured cell), kept "
        "under measured/ beside the records so a later night skips those cells",
    )
    hb.add_argument("--site", type=Path, help="a trend report folder to publish as trend/")


def _calibrate(sub: Subparsers) -> None:
    cal = _subcommand(
        sub,
        "calibrate",
        "fit a timed profile's hardware costs on a seed table and check them on both tables",
        "python -m rig calibrate",
        "python -m rig calibrate --profile tegra234-mmu500 --reference no-workaround --no-verify",
    )
    _common(cal)
    cal.add_argument(
        "--reference",
        choices=sorted(seed.TABLES),
        help="the seed table to fit on (default: the profile's own, seed_table)",
    )
    cal.add_argument(
        "--no-verify",
        action="store_true",
        help="stop after writing the costs (no runs with them against the seed's tables)",
    )
    cal.add_argument(
        "--out", type=Path, default=paths.DEFAULT_RESULTS, help="results folder (default: results/)"
    )


def _soak(sub: Subparsers) -> None:
    soak = _subcommand(
        sub,
        "soak",
        "boot and benchmark one kernel N times: the rig's own failures and spread",
        "python -m rig soak --cycles 30 --variant final",
    )
    _common(soak)
    soak.add_argument("--cycles", type=int, default=30, help="boot+benchmark cycles (default 30)")
    soak.add_argument(
        "--variant", default="baseline", help="baseline or one variant as --patch writes it"
    )
    soak.add_argument("--sizes", help="comma-separated buffer sizes (default 4K,64K,1M)")
    soak.add_argument("--seconds", type=int, help="dma_map_benchmark seconds per size")
    soak.add_argument(
        "--out",
        type=Path,
        default=paths.DEFAULT_RESULTS,
        help="results folder; the soak goes into OUT/soak/",
    )


def _bisect(sub: Subparsers) -> None:
    bisect = _subcommand(
        sub,
        "bisect",
        "find the commit between two refs of a git tree that made a latency worse (or, "
        "with --correctness, that made a kernel fail a check)",
        "python -m rig bisect --kernel-src ../linux v6.11 v6.12 --metric unmap --size 1M",
        "python -m rig bisect --kernel-src ../linux GOOD BAD --correctness",
    )
    bisect.add_argument("good", help="a commit, tag or branch that is good (measured first)")
    bisect.add_argument("bad", help="a later commit, tag or branch that is bad")
    bisect.add_argument(
        "--kernel-src",
        type=Path,
        required=True,
        help="the git tree (read only: each commit is checked out in the cache)",
    )
    bisect.add_argument(
        "--metric", choices=list(METRICS), default="unmap", help="the latency (default unmap)"
    )
    bisect.add_argument("--size", default="1M", help="the buffer size (default 1M)")
    bisect.add_argument(
        "--correctness",
        action="store_true",
        help="look for the first commit that FAILS a correctness check instead",
    )
    bisect.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="the smallest change in %% that makes the ends differ (default 5)",
    )
    _config_option(bisect)
    bisect.add_argument("--profile", help="machine profile (default from --config)")
    bisect.add_argument("--mode", help="timing mode: icount (one boot a step) or wallclock")
    bisect.add_argument(
        "--repeat", type=int, help="boots per step in wallclock mode (default from --config)"
    )
    bisect.add_argument("--seconds", type=int, help="dma_map_benchmark seconds")
    bisect.add_argument("--boot-timeout", type=float, help="seconds from QEMU start to ready")
    _qemu_src_option(bisect)
    _jobs_option(bisect, "boots")
    bisect.add_argument("--quiet", action="store_true", help="no progress output")
    bisect.add_argument(
        "--out",
        type=Path,
        default=paths.DEFAULT_RESULTS,
        help="where the bisection's folder goes (default: results/)",
    )
    bisect.set_defaults(patch=None, sizes=None)


# The subcommands in the order a user meets them: --help lists them so.
SUBCOMMANDS = (
    _bench,
    _report,
    _shell,
    _build,
    _qemu,
    _qemu_peer,
    _matrix,
    _merge,
    _trend,
    _bisect,
    _history_branch,
    _calibrate,
    _soak,
)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rig",
        description="A/B benchmarks of Linux IOMMU page-table patches on an emulated Arm "
        "SMMU (the rig's MMU-500 model, or QEMU's SMMUv3): two kernels built, booted, "
        "measured with dma_map_benchmark, checked for correctness and compared.",
        epilog="each subcommand's --help shows its options and an example; "
        "the README and docs/ say more",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def effective_settings(args: argparse.Namespace) -> settings.Settings:
    base = settings.load(args.config)
    patch_list = (
        tuple(p.strip() for p in args.patch.split(",") if p.strip()) if args.patch else None
    )
    sizes = (
        tuple(s.strip() for s in args.sizes.split(",")) if getattr(args, "sizes", None) else None
    )
    refs: list[str] = getattr(args, "ref", None) or []
    return settings.override(
        base,
        {
            "kernel": getattr(args, "kernel", None),
            "kernel_refs": tuple(refs) if refs else None,
            "qemu_src": getattr(args, "qemu_src", None),
            "profile": args.profile,
            # Two refs are the variants themselves: the file's patches do not apply.
            "patches": () if patch_list is None and len(refs) == 2 else patch_list,
            "mode": args.mode,
            "sizes": sizes,
            "page_size": getattr(args, "page_size", None),
            "seconds": getattr(args, "seconds", None),
            "threads": getattr(args, "threads", None),
            "direction": getattr(args, "direction", None),
            "dma_bits": getattr(args, "dma_bits", None),
            "repeat": getattr(args, "repeat", None),
            "counters": getattr(args, "counters", None),
            "boot_timeout_s": getattr(args, "boot_timeout", None),
            "command_timeout_s": getattr(args, "command_timeout", None),
            "jobs": getattr(args, "jobs", None),
        },
    )
