"""What each subcommand does: the sweep's commands (bench, build, soak, shell) start from
the settings, the others from their own files; the pipeline is handed the report writer."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from rig import paths
from rig.bisect import bisection, commit_range, step
from rig.boot import profile as prof
from rig.build import qemu_build, qemu_peer
from rig.calibration import calibrate
from rig.cli import run_commands
from rig.cli.parser import effective_settings
from rig.errors import EXIT_OK, EXIT_REGRESSION, EXIT_RUN_FAILED, UserError
from rig.nightly import (
    ci_keys,
    history,
    history_branch,
    matrix,
    trend,
    trend_confirm,
    trend_report,
)
from rig.progress import Progress
from rig.report import run_report
from rig.report.stats import DEFAULT_THRESHOLD_PCT
from rig.run import settings
from rig.run.sweep import effective_jobs
from rig.sizes import parse_sizes

# The profile `calibrate` fits when --profile does not name one.
CALIBRATED_DEFAULT = "tegra234-mmu500"


def matrix_command(args: argparse.Namespace) -> int:
    shape, cells = matrix.load(args.file)
    cells = matrix.choose(cells, args.cell)
    if args.list:
        print("\n".join(c.name for c in cells))
        return EXIT_OK
    if args.json:
        print(ci_keys.jobs_json(args.config, args.file, cells, measured=args.measured))
        return EXIT_OK
    if args.keys:
        if args.cell is None:
            raise UserError("matrix --keys: name the cell with --cell NAME (see --list)")
        print(ci_keys.keys(args.config, args.file, args.cell))
        return EXIT_OK
    base = settings.load(args.config)
    progress = Progress(quiet=args.quiet)
    jobs, why = effective_jobs(args.jobs or 0, prof.mode_by_name(base.mode))
    if why:
        progress.say(why)
    if jobs > 1 and len(cells) > 1:
        files = matrix.Files(args.file.resolve(), args.config.resolve(), args.out.resolve())
        results = matrix.run_at_once(files, cells, min(jobs, len(cells)), progress)
    else:
        base = settings.override(base, {"jobs": args.jobs})
        results = matrix.run(base, shape, cells, args.out, progress)
    if args.confirm_with is not None:
        if args.cell is None:
            raise UserError("matrix --confirm-with: name the cell with --cell NAME")
        results += trend_confirm.rerun_if_regressed(
            results[0], args.confirm_with, base=base, shape=shape, out=args.out, progress=progress
        )
    if args.result_file is not None and len(results) == 1:
        args.result_file.write_text(matrix.result_json(results[0]))
    print(matrix.summary(results, shape))
    return EXIT_OK if all(r.status == "passed" for r in results) else EXIT_RUN_FAILED


def report_command(args: argparse.Namespace) -> int:
    for path in run_report.write(args.run_dir, threshold_pct=args.threshold):
        print(path)
    return EXIT_OK


def merge_command(args: argparse.Namespace) -> int:
    merged = history.merge(args.run_dirs, args.history)
    for folder in merged.skipped:
        print(f"skipped {folder}: the run is incomplete", file=sys.stderr)
    print(
        f"merged {merged.runs} run(s): {merged.added} rows added, "
        f"{merged.already} already there; {args.history}: {merged.total} rows"
    )
    return EXIT_OK


def trend_command(args: argparse.Namespace) -> int:
    """The trend report; exit code EXIT_REGRESSION when a lasting regression stands
    (confirmed by later runs or by a re-run), so CI turns red."""
    criteria = trend.Criteria(args.min_change, args.alpha)
    series = trend.analyse(history.read(args.history), criteria)
    said: dict[tuple[trend.SeriesKey, str], str] = {}
    if args.confirm:
        files = matrix.Files(args.file, args.config, args.results)
        confirmed = trend_confirm.confirm(
            series, args.history, files, criteria, Progress(quiet=args.quiet)
        )
        series, said = confirmed.series, confirmed.said
    written = trend_report.write(series, said, args.out)
    print((args.out / "trend.md").read_text(), end="")
    for path in written:
        print(path)
    found = trend_report.regressions(series, said)
    if args.step_summary is not None:
        links = trend_report.plot_links(series, args.plots_url) if args.plots_url else None
        with args.step_summary.open("a") as summary:
            summary.write(trend_report.step_summary(series, said, links) + "\n")
    if found:
        print(
            f"{len(found)} confirmed regression(s): "
            + "; ".join(
                f"{c.cell} {c.series[3]} at {c.series[4]} B from {c.first_run}" for c in found
            ),
            file=sys.stderr,
        )
        return EXIT_REGRESSION
    return EXIT_OK


def history_branch_command(args: argparse.Namespace) -> int:
    folder = history_branch.open_branch(args.repo, args.branch, args.clone)
    if args.runs or args.measured:
        change = history_branch.add_runs(args.runs or [], args.measured)
        pushed = history_branch.publish(folder, args.branch, change)
        print(
            f"{args.branch}: records of {len(args.runs or [])} run(s) "
            + ("pushed" if pushed else "already there")
        )
    if args.site is not None:
        pushed = history_branch.publish(folder, args.branch, history_branch.replace_site(args.site))
        print(f"{args.branch}: trend site " + ("pushed" if pushed else "unchanged"))
    print(f"{args.branch}: {len(history_branch.recorded_runs(folder))} run(s) recorded in {folder}")
    return EXIT_OK


def calibrate_command(args: argparse.Namespace) -> int:
    if args.profile is None:
        args.profile = CALIBRATED_DEFAULT
    request = calibrate.Request(
        profile=args.profile,
        reference=args.reference,
        settings=effective_settings(args),
        out=args.out,
        verify=not args.no_verify,
    )
    result = calibrate.calibrate(request, Progress(quiet=args.quiet))
    print((result.folder / "calibration.md").read_text())
    print(f"costs written to {result.profile_file}; calibration in {result.folder}")
    return EXIT_OK


def qemu_command(args: argparse.Namespace) -> int:
    qemu_src = Path(args.qemu_src) if args.qemu_src else None
    built = qemu_build.build(paths.cache_root(), Progress(quiet=args.quiet), qemu_src)
    print(built.binary)
    for qtest in built.qtests:
        print(qtest)
    return EXIT_OK


def qemu_peer_command(args: argparse.Namespace) -> int:
    comparison = qemu_peer.check(quiet=args.quiet, jobs=args.jobs)
    print(comparison.table())
    print(comparison.summary())
    return EXIT_OK


def bench_command(args: argparse.Namespace) -> int:
    chosen = effective_settings(args)
    return run_commands.bench(
        chosen, args.kernel_src, args.out, args.dry_run, Progress(quiet=args.quiet)
    )


def build_command(args: argparse.Namespace) -> int:
    return run_commands.build(effective_settings(args), args.kernel_src, Progress(quiet=args.quiet))


def soak_command(args: argparse.Namespace) -> int:
    chosen = effective_settings(args)
    if not 1 <= args.cycles <= 10000:
        raise UserError(f"--cycles {args.cycles} is out of range; expected 1..10000")
    if args.sizes is None:
        chosen = settings.override(chosen, {"sizes": ("4K", "64K", "1M")})
    return run_commands.soak(
        chosen,
        args.kernel_src,
        args.variant,
        cycles=args.cycles,
        out=args.out,
        progress=Progress(quiet=args.quiet),
    )


def bisect_command(args: argparse.Namespace) -> int:
    """Exit 0 with the first bad commit named, 1 when skipped commits leave it one of
    several, 2 when the ends cannot be bisected (they do not differ, or the other way)."""
    chosen = effective_settings(args)
    request = step.Request(
        settings=chosen,
        kernel_src=args.kernel_src,
        metric=args.metric,
        size_bytes=parse_sizes([args.size], where="--size")[0],
        correctness=args.correctness,
        cache=paths.cache_root(),
    )
    commits = commit_range.resolve(args.kernel_src, args.good, args.bad)
    threshold = args.threshold if args.threshold is not None else DEFAULT_THRESHOLD_PCT
    if not threshold > 0:
        raise UserError(f"--threshold {threshold:g}: expected a percentage above 0")
    outcome = bisection.bisect(request, commits, args.out, Progress(quiet=args.quiet), threshold)
    print((outcome.folder / "summary.md").read_text())
    print(f"bisection: {outcome.folder}")
    return EXIT_OK if len(outcome.culprits) == 1 else EXIT_RUN_FAILED


def shell_command(args: argparse.Namespace) -> int:
    chosen = effective_settings(args)
    return run_commands.shell(
        chosen, args.kernel_src, args.variant, args.dry_run, Progress(quiet=args.quiet)
    )


# Each subcommand's handler, in the order --help lists them.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "bench": bench_command,
    "report": report_command,
    "shell": shell_command,
    "build": build_command,
    "qemu": qemu_command,
    "qemu-peer": qemu_peer_command,
    "matrix": matrix_command,
    "merge": merge_command,
    "trend": trend_command,
    "bisect": bisect_command,
    "history-branch": history_branch_command,
    "calibrate": calibrate_command,
    "soak": soak_command,
}
