"""The commands that start from the sweep settings (bench and its dry run, build, soak,
shell), on top of the pipeline."""

from __future__ import annotations

import dataclasses
import shlex
import sys
import tempfile
from pathlib import Path

from rig import paths
from rig.boot import dtb
from rig.boot import profile as prof
from rig.boot.machine import Machine
from rig.boot.profile import BootFiles
from rig.boot.session import bind_benchmark_device
from rig.build import kbuild, tools
from rig.build import source as src
from rig.errors import EXIT_OK, EXIT_RUN_FAILED, UserError
from rig.progress import Progress
from rig.report import run_report
from rig.run import pipeline, plan
from rig.run import soak as soak_run
from rig.run.settings import Settings


def bench(
    settings: Settings, kernel_src: Path | None, out: Path, dry_run: bool, progress: Progress
) -> int:
    inputs = plan.resolve_inputs(settings, kernel_src, out, paths.cache_root())
    if dry_run:
        print_dry_run(inputs)
        return EXIT_OK
    outcome = pipeline.run(inputs, progress, run_report.write)
    print((outcome.path / "summary.md").read_text())
    if outcome.failed_variants:
        failed = ", ".join(outcome.failed_variants)
        print(
            f"error: {failed} FAILED a correctness check (see summary.md); results in "
            f"{outcome.path}",
            file=sys.stderr,
        )
        return EXIT_RUN_FAILED
    progress.say(f"[green]done[/green]: {outcome.path}")
    return EXIT_OK


def soak(
    settings: Settings,
    kernel_src: Path | None,
    variant: str,
    *,
    cycles: int,
    out: Path,
    progress: Progress,
) -> int:
    patches = () if variant == "baseline" else (variant,)
    chosen = dataclasses.replace(settings, patches=patches)
    inputs = plan.resolve_inputs(chosen, kernel_src, out, paths.cache_root())
    inputs = pipeline.with_qemu(inputs, progress)
    _, kernels, initrd = pipeline.prepare_kernels(inputs, progress, inputs.cache / "logs")
    folder, failures = soak_run.soak(inputs, kernels[-1], initrd, cycles, progress)
    print(f"soak results: {folder}")
    return EXIT_RUN_FAILED if failures else EXIT_OK


def build(settings: Settings, kernel_src: Path | None, progress: Progress) -> int:
    inputs = plan.resolve_inputs(settings, kernel_src, paths.DEFAULT_RESULTS, paths.cache_root())
    log_dir = inputs.cache / "logs"
    _, kernels, initrd = pipeline.prepare_kernels(inputs, progress, log_dir)
    for kernel in kernels:
        state = "cached" if kernel.cached else f"built in {kernel.build_seconds:.1f} s"
        print(f"{kernel.variant}: {kernel.release} ({state}) {kernel.image}")
    print(f"initramfs: {initrd}")
    return EXIT_OK


def print_dry_run(inputs: plan.Inputs) -> None:
    """The QEMU command lines a run would use; nothing is built, booted or written."""
    if inputs.profile.qemu == "rig-build":
        inputs = dataclasses.replace(
            inputs, qemu=str(inputs.cache / "qemu" / "KEY" / "src" / "build" / tools.QEMU)
        )
    images = {}
    for variant in inputs.variants:
        ref = plan.variant_ref(inputs, variant)
        source = src.resolve(inputs.kernel_src, inputs.cache, inputs.settings.kernel, ref)
        fragment = kbuild.fragment_at(source, inputs.cache, inputs.settings.page_size_bytes)
        key = kbuild.kernel_key(source, fragment, variant)
        images[variant.name] = inputs.cache / "kernels" / key / "Image"
    initrd = inputs.cache / "initramfs" / "INITRAMFS.cpio.gz"
    dtb_path = inputs.results_root / "RUN-ID" / f"{inputs.profile.name}-{inputs.mode.name}.dtb"
    first = next(iter(images.values()))
    dump = prof.argv(
        inputs.profile,
        inputs.mode,
        BootFiles(first, initrd),
        qemu=inputs.qemu,
        dump_dtb=dtb_path.with_suffix(".qemu.dtb"),
    )
    print("# device tree dump (then the SMMU node is edited per the profile's walk)")
    print(shlex.join(dump))
    for order, (name, repeat, kind) in enumerate(plan.boot_plan(inputs), start=1):
        boot = BootFiles(
            images[name],
            initrd,
            dtb=dtb_path,
            qmp_socket=Path(f"SCRATCH/qmp-{order}.sock"),
            disk=Path("SCRATCH/integrity-disk.img"),
        )
        what = f"repeat {repeat}" if kind == "timed" else "checks (integrity, counters)"
        print(f"# boot {order}: {name}, {what}")
        print(shlex.join(prof.argv(inputs.profile, inputs.mode, boot, qemu=inputs.qemu)))


def shell(
    settings: Settings, kernel_src: Path | None, variant: str, dry_run: bool, progress: Progress
) -> int:
    patches = [] if variant == "baseline" else [variant]
    chosen = dataclasses.replace(settings, patches=tuple(patches), repeat=1)
    inputs = plan.resolve_inputs(chosen, kernel_src, paths.DEFAULT_RESULTS, paths.cache_root())
    if dry_run:
        print_dry_run(inputs)
        return EXIT_OK
    if not sys.stdin.isatty():
        raise UserError("shell needs a terminal on standard input")
    inputs = pipeline.with_qemu(inputs, progress)
    _, kernels, initrd = pipeline.prepare_kernels(inputs, progress, inputs.cache / "logs")
    kernel = kernels[-1]
    with tempfile.TemporaryDirectory(prefix="smmu-rig-shell-") as tmp:
        work = Path(tmp)
        boot = BootFiles(kernel.image, initrd)
        prepared = dtb.prepare(inputs.profile, inputs.mode, boot, work, inputs.qemu)
        qmp = work / "qmp.sock"
        boot = BootFiles(kernel.image, initrd, dtb=prepared.path, qmp_socket=qmp)
        argv = prof.argv(inputs.profile, inputs.mode, boot, qemu=inputs.qemu)
        log = paths.cache_root() / "logs" / "shell-console.log"
        with Machine(
            argv,
            log,
            qmp_socket=qmp,
            boot_timeout_s=settings.boot_timeout_s,
            command_timeout_s=settings.command_timeout_s,
        ) as machine:
            release = machine.wait_ready()
            assert machine.console is not None
            bind_benchmark_device(machine.console, inputs.profile.bench_device_bdf)
            print(
                f"\nbooted {release} on {inputs.profile.name}, {inputs.profile.bench_device_bdf} "
                "bound to dma_map_benchmark; Ctrl-] leaves (QEMU is then stopped)"
            )
            assert machine.child is not None
            machine.child.logfile_read = None
            machine.child.sendline("")
            machine.child.interact()
        print(f"console log: {log}")
    return EXIT_OK
