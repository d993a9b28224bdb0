"""The bench pipeline, one way: inputs -> kernels -> guest -> DTB -> boots -> records ->
report. The report is the caller's: the pipeline hands the run folder to the writer it is
given, so a run never imports what reads it."""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rig.boot import dtb, integrity
from rig.boot.profile import BootFiles
from rig.build import buildlog, guest, kbuild, qemu_build, tools
from rig.build import source as src
from rig.build.kbuild import BuiltKernel
from rig.errors import RigError
from rig.progress import Progress
from rig.run import correctness, plan, provenance, records
from rig.run.plan import Inputs, RunState, boot_specs
from rig.run.sweep import effective_jobs, sweep
from rig.sizes import format_size

# Writes a run folder's report and exports from its records; returns what it wrote.
ReportWriter = Callable[[Path], object]


@dataclass(frozen=True)
class Outcome:
    """A completed run: its folder, and the variants that failed a correctness check."""

    path: Path
    failed_variants: list[str]


def with_qemu(inputs: Inputs, progress: Progress) -> Inputs:
    """The inputs with the QEMU the profile needs; the rig's own build is made if missing."""
    if inputs.profile.qemu == "rig-build":
        qemu_src = inputs.settings.qemu_src
        built = qemu_build.build(inputs.cache, progress, Path(qemu_src) if qemu_src else None)
        return dataclasses.replace(inputs, qemu=str(built.binary), built_qemu=built)
    tools.require(tools.QEMU)
    return inputs


def prepare_builds(
    inputs: Inputs, progress: Progress, log_dir: Path
) -> tuple[Inputs, src.KernelSource, list[BuiltKernel], Path]:
    """The QEMU and the kernels a run boots. The rig's QEMU is made in a thread beside the
    kernels (each build leaves single-threaded stretches: configure, links, the kernel's
    unpack and headers, that the other fills). A kernel that fails, or a stop, stops
    QEMU's build too; a QEMU build that fails is raised once the kernels are done. Their
    phases' times overlap in run.json."""
    if inputs.profile.qemu != "rig-build":
        inputs = with_qemu(inputs, progress)
        return (inputs, *prepare_kernels(inputs, progress, log_dir))
    beside = progress.beside()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qemu")
    qemu = pool.submit(with_qemu, inputs, beside)
    try:
        source, kernels, initrd = prepare_kernels(inputs, progress, log_dir)
    except BaseException:
        # Stopped, or a kernel that does not build: nothing more is worth waiting for
        # (ccache keeps what QEMU's build compiled so far).
        buildlog.stop_running()
        raise
    finally:
        pool.shutdown(wait=True)
        buildlog.allow_runs()
        progress.timings.update(beside.timings)
    return qemu.result(), source, kernels, initrd


def prepare_kernels(
    inputs: Inputs, progress: Progress, log_dir: Path
) -> tuple[src.KernelSource, list[BuiltKernel], Path]:
    """Every variant's kernel, and the guest image (its benchmark built from the
    baseline's tree). Variants with their own ref (two compared commits) are built after
    the baseline in the same output tree, so only what differs compiles."""
    by_ref: dict[str | None, list[kbuild.Variant]] = {}
    for variant in inputs.variants:  # the baseline first, so its source comes first
        by_ref.setdefault(plan.variant_ref(inputs, variant), []).append(variant)
    built: dict[str, BuiltKernel] = {}
    builders = []
    for ref, variants in by_ref.items():
        with progress.phase("kernel source"):
            source = src.resolve(inputs.kernel_src, inputs.cache, inputs.settings.kernel, ref)
        page_size = inputs.settings.page_size_bytes
        fragment = kbuild.fragment_at(source, inputs.cache, page_size)
        builder = kbuild.KernelBuilder(
            source, inputs.cache, fragment, progress, log_dir=log_dir, page_size=page_size
        )
        builders.append(builder)
        built.update((kernel.variant, kernel) for kernel in builder.build(variants))
    kernels = [built[v.name] for v in inputs.variants]
    for kernel in kernels:
        if kernel.cached:
            progress.say(f"    {kernel.variant}: cached {kernel.release}")
    baseline = builders[0]
    headers = baseline.headers()
    with progress.phase("guest image"):
        initrd = guest.initramfs(
            baseline.source, headers, inputs.cache, inputs.settings.page_size_bytes
        )
    return baseline.source, kernels, initrd


def run(inputs: Inputs, progress: Progress, write_report: ReportWriter) -> Outcome:
    """The whole bench, its report written by ``write_report`` from the run's records.
    Raises RigError when the run cannot complete (what was measured is still reported);
    a patched variant failing a correctness check completes the run and is listed in the
    outcome."""
    run_id = records.new_run_id(inputs.profile.name, inputs.mode.name)
    run_dir = records.RunDir(inputs.results_root, run_id)
    state = RunState(inputs=inputs, run_id=run_id)
    started = time.monotonic()
    try:
        inputs, state.source, state.kernels, initrd = prepare_builds(
            inputs, progress, run_dir.path / "logs"
        )
        state.inputs = inputs
        with progress.phase("device tree"):
            probe = BootFiles(kernel=state.kernels[0].image, initrd=initrd)
            state.dtb = dtb.prepare(inputs.profile, inputs.mode, probe, run_dir.path, inputs.qemu)
            for edit in state.dtb.edits:
                progress.say(f"    {edit}")
        # Sockets and the integrity disks live outside the results: an AF_UNIX path is
        # limited to 108 bytes, and the disks are scratch (one per boot: QEMU locks its
        # image, and boots may run at once).
        with tempfile.TemporaryDirectory(prefix="smmu-rig-") as scratch:
            state.specs = boot_specs(
                inputs,
                state.kernels,
                initrd,
                state.dtb.path,
                run_dir=run_dir.path,
                scratch=Path(scratch),
            )
            for spec in state.specs:
                integrity.scratch_disk(spec.disk)
            state.jobs, why = effective_jobs(inputs.settings.jobs, inputs.mode)
            progress.say(f"    {why or f'{state.jobs} boot(s) at once'}")
            boots, sizes = len(state.specs), len(inputs.settings.size_bytes)
            if inputs.settings.sizes_below_page:
                below = ", ".join(format_size(s) for s in inputs.settings.sizes_below_page)
                progress.say(
                    f"    {below} left out: below one {inputs.settings.page_size} page, which "
                    "dma_map_benchmark maps at the least"
                )
            with progress.phase(f"sweep ({boots} boots x {sizes} sizes)"):
                sweep(state, progress, state.jobs)
        records.write_csv(state.rows, run_dir.path / "results.csv")
        if state.counter_rows:
            records.write_counters(state.counter_rows, run_dir.path / "counters.csv")
        correctness.write(state.checks, run_dir.path)
        # The report reads run.json (configuration, gates, timings): write it first.
        records.write_json(provenance.describe(state, progress.timings), run_dir.path / "run.json")
        with progress.phase("report"):
            write_report(run_dir.path)
    except (RigError, KeyboardInterrupt) as err:
        progress.timings["total"] = time.monotonic() - started
        if state.rows:
            records.write_csv(state.rows, run_dir.path / "results.csv")
        records.write_json(provenance.describe(state, progress.timings), run_dir.path / "run.json")
        in_progress = str(run_dir.path)
        kept = run_dir.abandon(err.message if isinstance(err, RigError) else "interrupted")
        if isinstance(err, RigError) and err.log_path:
            err.log_path = err.log_path.replace(in_progress, str(kept))
        if state.rows:
            _report_what_was_measured(kept, progress, write_report)
        progress.say(f"[red]run failed; what it wrote is kept in {kept}[/red]")
        raise
    progress.timings["total"] = time.monotonic() - started
    records.write_json(provenance.describe(state, progress.timings), run_dir.path / "run.json")
    failed = [
        v for v, found in state.checks.items() if correctness.verdict(found) != correctness.PASSED
    ]
    return Outcome(run_dir.complete(), failed)


def _report_what_was_measured(kept: Path, progress: Progress, write_report: ReportWriter) -> None:
    """A run that failed after measuring still gets its report, marked incomplete; a
    failure here is said and does not hide the run's own error."""
    try:
        write_report(kept)
    except (RigError, OSError, ValueError, KeyError) as err:
        progress.say(f"[red]no report for the incomplete run: {err}[/red]")
