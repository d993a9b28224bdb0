"""What a run will do: its validated inputs, its boots in order, and its state so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rig.boot import dtb
from rig.boot import profile as prof
from rig.boot.profile import BootFiles, MachineProfile, TimingMode
from rig.boot.session import BootKind, BootResult, BootSpec
from rig.build import kbuild, qemu_devices, tools
from rig.build import source as src
from rig.build.kbuild import BuiltKernel, Variant
from rig.build.qemu_build import BuiltQemu
from rig.run.correctness import Check
from rig.run.settings import Settings


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
    # The emulator: the system's, or the rig's own build (see pipeline.with_qemu).
    qemu: str = tools.QEMU
    built_qemu: BuiltQemu | None = None


def resolve_inputs(
    settings: Settings, kernel_src: Path | None, results_root: Path, cache: Path
) -> Inputs:
    profile = prof.load_profile(settings.profile)
    if profile.qemu == "rig-build":
        qemu_devices.check(profile.name, profile.machine, booted_devices(profile))
    compared = None
    if len(settings.kernel_refs) == 2:
        first, second = settings.kernel_refs
        compared = (second, src.compared_label(kernel_src, (first, second)))
    return Inputs(
        settings=settings,
        profile=profile,
        mode=prof.mode_by_name(settings.mode),
        variants=kbuild.variants_for(
            list(settings.patches), profile.support_patches, compared=compared
        ),
        kernel_src=kernel_src,
        results_root=results_root,
        cache=cache,
    )


def booted_devices(profile: MachineProfile) -> dict[str, str]:
    """The devices a run of ``profile`` puts on the command line, by profile key."""
    devices = {"bench_device": profile.bench_device, "integrity_device": profile.integrity_device}
    if profile.probe_device is not None:
        devices["probe_device"] = profile.probe_device
    return devices


def variant_ref(inputs: Inputs, variant: Variant) -> str | None:
    """The git ref ``variant`` is built from: its own (the second of two compared refs),
    else the run's first --ref, else None (the run's source as it is)."""
    refs = inputs.settings.kernel_refs
    return variant.ref or (refs[0] if refs else None)


@dataclass
class RunState:
    """What a run has produced so far; run.json is written from it, also on failure."""

    inputs: Inputs
    run_id: str
    source: src.KernelSource | None = None
    kernels: list[BuiltKernel] = field(default_factory=list)
    dtb: dtb.PreparedDtb | None = None
    specs: list[BootSpec] = field(default_factory=list)
    # Boots that ran at once (see rig.sweep.effective_jobs).
    jobs: int = 1
    boots: list[BootResult] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    counter_rows: list[dict[str, Any]] = field(default_factory=list)
    # Variant -> the correctness checks it went through (see rig.correctness).
    checks: dict[str, list[Check]] = field(default_factory=dict)


def schedule(variants: list[str], repeat: int) -> list[tuple[str, int]]:
    """Interleaved boots, A B B A A B ...: slow drift of the host hits every variant alike."""
    order: list[tuple[str, int]] = []
    for index in range(repeat):
        names = variants if index % 2 == 0 else list(reversed(variants))
        order += [(name, index + 1) for name in names]
    return order


def boot_plan(inputs: Inputs) -> list[tuple[str, int, BootKind]]:
    """Timed boots interleaved, then one untimed checks boot per variant."""
    names = [v.name for v in inputs.variants]
    plan: list[tuple[str, int, BootKind]] = [
        (name, repeat, "timed") for name, repeat in schedule(names, inputs.settings.repeat)
    ]
    return plan + [(name, 1, "checks") for name in names]


def boot_specs(
    inputs: Inputs,
    kernels: list[BuiltKernel],
    initrd: Path,
    dtb_path: Path,
    *,
    run_dir: Path,
    scratch: Path,
) -> list[BootSpec]:
    by_name = {k.variant: k for k in kernels}
    specs = []
    for order, (name, repeat, kind) in enumerate(boot_plan(inputs), start=1):
        kernel = by_name[name]
        qmp = scratch / f"qmp-{order}.sock"
        disk = scratch / f"disk-{order}.img"
        boot = BootFiles(
            kernel.image, initrd, dtb=dtb_path, qmp_socket=qmp, disk=disk, probe=kind == "checks"
        )
        suffix = f"r{repeat}" if kind == "timed" else "checks"
        log = run_dir / "console" / f"{order:02d}-{name}-{suffix}.log"
        specs.append(
            boot_spec(inputs, kernel, boot, order=order, repeat=repeat, log=log, kind=kind)
        )
    return specs


def boot_spec(
    inputs: Inputs,
    kernel: BuiltKernel,
    boot: BootFiles,
    *,
    order: int,
    repeat: int,
    log: Path,
    kind: BootKind = "timed",
) -> BootSpec:
    """One boot of ``kernel`` on the run's machine, with its QEMU argv."""
    assert boot.qmp_socket is not None
    return BootSpec(
        variant=kernel.variant,
        repeat=repeat,
        order=order,
        expected_release=kernel.release,
        argv=prof.argv(inputs.profile, inputs.mode, boot, qemu=inputs.qemu),
        qmp_socket=boot.qmp_socket,
        console_log=log,
        disk=boot.disk,
        kind=kind,
    )
