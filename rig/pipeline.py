"""The bench pipeline, one way: inputs -> kernels -> guest -> DTB -> boots -> records -> report."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rig import counters, dtb, guest, kbuild, paths, provenance, records, report, tools
from rig import profile as prof
from rig import source as src
from rig.benchmark import Measurement
from rig.errors import RigError
from rig.kbuild import BuiltKernel, Variant
from rig.profile import BootFiles, MachineProfile, TimingMode
from rig.progress import Progress
from rig.session import BootKind, BootResult, BootSpec, run_boot, run_counting_boot
from rig.settings import Settings
from rig.sizes import format_size


@dataclass(frozen=True)
class Inputs:
    """Everything a run needs, validated before anything is built or written."""

    settings: Settings
    profile: MachineProfile
    mode: TimingMode
    variants: list[Variant]
    kernel_src: Path | None
    results_root: Path
    cache: Path


def resolve_inputs(
    settings: Settings, kernel_src: Path | None, results_root: Path, cache: Path
) -> Inputs:
    profile = prof.load_profile(settings.profile)
    return Inputs(
        settings=settings,
        profile=profile,
        mode=prof.mode_by_name(settings.mode),
        variants=kbuild.variants_for(list(settings.patches), profile.support_patches),
        kernel_src=kernel_src,
        results_root=results_root,
        cache=cache,
    )


@dataclass
class RunState:
    """What a run has produced so far; run.json is written from it, also on failure."""

    inputs: Inputs
    run_id: str
    source: src.KernelSource | None = None
    kernels: list[BuiltKernel] = field(default_factory=list)
    dtb: dtb.PreparedDtb | None = None
    specs: list[BootSpec] = field(default_factory=list)
    boots: list[BootResult] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    counter_rows: list[dict[str, Any]] = field(default_factory=list)


def schedule(variants: list[str], repeat: int) -> list[tuple[str, int]]:
    """Interleaved boots, A B B A A B ...: slow drift of the host hits every variant alike."""
    order: list[tuple[str, int]] = []
    for index in range(repeat):
        names = variants if index % 2 == 0 else list(reversed(variants))
        order += [(name, index + 1) for name in names]
    return order


def prepare_kernels(
    inputs: Inputs, progress: Progress, log_dir: Path
) -> tuple[src.KernelSource, list[BuiltKernel], Path]:
    with progress.phase("kernel source"):
        source = src.resolve(inputs.kernel_src, inputs.cache)
    builder = kbuild.KernelBuilder(
        source, inputs.cache, paths.CONFIG_FRAGMENT, progress, log_dir=log_dir
    )
    kernels = builder.build(inputs.variants)
    for kernel in kernels:
        if kernel.cached:
            progress.say(f"    {kernel.variant}: cached {kernel.release}")
    headers = builder.headers()
    with progress.phase("guest image"):
        initrd = guest.initramfs(source, headers, inputs.cache)
    return source, kernels, initrd


def boot_plan(inputs: Inputs) -> list[tuple[str, int, BootKind]]:
    """Timed boots interleaved, then one counting boot per variant when counters are on."""
    names = [v.name for v in inputs.variants]
    plan: list[tuple[str, int, BootKind]] = [
        (name, repeat, "timed") for name, repeat in schedule(names, inputs.settings.repeat)
    ]
    if inputs.settings.counters:
        plan += [(name, 1, "counting") for name in names]
    return plan


def boot_specs(
    inputs: Inputs, kernels: list[BuiltKernel], initrd: Path, dtb_path: Path, run_dir: Path
) -> list[BootSpec]:
    by_name = {k.variant: k for k in kernels}
    specs = []
    # AF_UNIX socket paths are limited to 108 bytes; a deep results folder would overflow.
    socket_dir = Path(tempfile.gettempdir()) if len(str(run_dir)) > 80 else run_dir
    for order, (name, repeat, kind) in enumerate(boot_plan(inputs), start=1):
        kernel = by_name[name]
        qmp = socket_dir / f"rig-qmp-{os.getpid()}-{order}.sock"
        boot = BootFiles(kernel=kernel.image, initrd=initrd, dtb=dtb_path, qmp_socket=qmp)
        suffix = f"r{repeat}" if kind == "timed" else "count"
        specs.append(
            BootSpec(
                variant=name,
                repeat=repeat,
                order=order,
                expected_release=kernel.release,
                argv=prof.argv(inputs.profile, inputs.mode, boot, qemu=tools.QEMU),
                qmp_socket=qmp,
                console_log=run_dir / "console" / f"{order:02d}-{name}-{suffix}.log",
                kind=kind,
            )
        )
    return specs


def counter_rows(result: BootResult, inputs: Inputs) -> list[dict[str, Any]]:
    profile = inputs.profile
    rows = []
    for size, counted in result.counts:
        rows.append(
            {
                "variant": result.spec.variant,
                "size_bytes": size,
                "unmap_calls": counted.unmap_calls,
                "syncs_per_unmap": round(counted.per_unmap(counted.syncs), 3),
                "syncs_min": counted.syncs_min,
                "syncs_max": counted.syncs_max,
                "min_syncs_per_unmap": counters.minimum_syncs(
                    size,
                    coherent=profile.walk == "coherent",
                    page_size_only=profile.page_sizes == "page-size-only",
                ),
                "tlb_add_page_per_unmap": round(counted.per_unmap(counted.tlb_add_page), 3),
                "tlb_sync_per_unmap": round(counted.per_unmap(counted.tlb_sync), 3),
            }
        )
    return rows


def rows_of(result: BootResult, inputs: Inputs) -> list[dict[str, Any]]:
    rows = []
    for size, measurement in result.measurements:
        rows.append(
            {
                "variant": result.spec.variant,
                "kernel_release": result.spec.expected_release,
                "profile": inputs.profile.name,
                "mode": inputs.mode.name,
                "size_bytes": size,
                "repeat": result.spec.repeat,
                "boot_order": result.spec.order,
                "threads": measurement.threads,
                "seconds": measurement.seconds,
                "direction": measurement.direction,
                "dma_bits": inputs.settings.dma_bits,
                "map_us": measurement.map_us,
                "map_stddev_us": measurement.map_stddev_us,
                "unmap_us": measurement.unmap_us,
                "unmap_stddev_us": measurement.unmap_stddev_us,
            }
        )
    return rows


def sweep(state: RunState, progress: Progress) -> None:
    """Boot every spec in order and collect its rows; the first failure stops the sweep."""
    timed = sum(1 for spec in state.specs if spec.kind == "timed")
    total = timed * len(state.inputs.settings.size_bytes)
    done = 0

    def on_size(spec: BootSpec, size: int, m: Measurement) -> None:
        nonlocal done
        done += 1
        progress.update(
            f"[{done}/{total}] boot {spec.order}/{len(state.specs)} {spec.variant} "
            f"r{spec.repeat}: {format_size(size)} unmap {m.unmap_us:.1f} us, "
            f"map {m.map_us:.1f} us",
            force=True,
        )

    for spec in state.specs:
        if spec.kind == "counting":
            progress.update(
                f"boot {spec.order}/{len(state.specs)} {spec.variant}: counting pass", force=True
            )
            result = run_counting_boot(spec, state.inputs.profile, state.inputs.settings)
            state.counter_rows += counter_rows(result, state.inputs)
        else:
            result = run_boot(spec, state.inputs.profile, state.inputs.settings, on_size)
            state.rows += rows_of(result, state.inputs)
        state.boots.append(result)


def run(inputs: Inputs, progress: Progress) -> Path:
    """The whole bench; returns the completed run folder. Raises RigError on failure."""
    run_id = records.new_run_id(inputs.profile.name, inputs.mode.name)
    run_dir = records.RunDir(inputs.results_root, run_id)
    state = RunState(inputs=inputs, run_id=run_id)
    started = time.monotonic()
    try:
        state.source, state.kernels, initrd = prepare_kernels(
            inputs, progress, run_dir.path / "logs"
        )
        with progress.phase("device tree"):
            probe = BootFiles(kernel=state.kernels[0].image, initrd=initrd)
            state.dtb = dtb.prepare(inputs.profile, inputs.mode, probe, run_dir.path, tools.QEMU)
            for edit in state.dtb.edits:
                progress.say(f"    {edit}")
        state.specs = boot_specs(inputs, state.kernels, initrd, state.dtb.path, run_dir.path)
        boots, sizes = len(state.specs), len(inputs.settings.sizes)
        with progress.phase(f"sweep ({boots} boots x {sizes} sizes)"):
            sweep(state, progress)
        records.write_csv(state.rows, run_dir.path / "results.csv")
        if state.counter_rows:
            records.write_counters(state.counter_rows, run_dir.path / "counters.csv")
        with progress.phase("report"):
            report.build(run_dir.path)
    except (RigError, KeyboardInterrupt) as err:
        progress.timings["total"] = time.monotonic() - started
        if state.rows:
            records.write_csv(state.rows, run_dir.path / "results.csv")
        records.write_json(provenance.describe(state, progress.timings), run_dir.path / "run.json")
        in_progress = str(run_dir.path)
        kept = run_dir.abandon(err.message if isinstance(err, RigError) else "interrupted")
        if isinstance(err, RigError) and err.log_path:
            err.log_path = err.log_path.replace(in_progress, str(kept))
        progress.say(f"[red]run failed; what it wrote is kept in {kept}[/red]")
        raise
    progress.timings["total"] = time.monotonic() - started
    records.write_json(provenance.describe(state, progress.timings), run_dir.path / "run.json")
    return run_dir.complete()
