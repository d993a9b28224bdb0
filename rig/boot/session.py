"""One boot: start QEMU, check the guest against the gates, then measure or count."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol

from rig.boot import benchmark, counters, dma_probe, gates, integrity
from rig.boot.benchmark import Direction
from rig.boot.console import Console
from rig.boot.dtb import PCIE_HOST_COMPATIBLE
from rig.boot.machine import Machine
from rig.boot.profile import MachineProfile
from rig.errors import RunFailed
from rig.sizes import format_size, granule


class GuestSettings(Protocol):
    """What a boot reads of a run's settings (the run's ``Settings`` has all of it):
    declared here, so the boot never imports the run that drives it."""

    @property
    def boot_timeout_s(self) -> float: ...
    @property
    def command_timeout_s(self) -> float: ...
    @property
    def threads(self) -> int: ...
    @property
    def seconds(self) -> int: ...
    @property
    def direction(self) -> Direction: ...
    @property
    def dma_bits(self) -> int: ...
    @property
    def counters(self) -> bool: ...
    @property
    def size_bytes(self) -> tuple[int, ...]: ...
    @property
    def page_size_bytes(self) -> int: ...


# timed: measured, never traced. checks: untimed; DMA integrity pass, then counting when enabled.
BootKind = Literal["timed", "checks"]


@dataclass(frozen=True)
class BootSpec:
    variant: str
    repeat: int
    order: int
    expected_release: str
    argv: list[str]
    qmp_socket: Path
    console_log: Path
    # The boot's own scratch disk for the integrity pass (QEMU locks an image it opens).
    disk: Path | None = None
    kind: BootKind = "timed"

    @property
    def label(self) -> str:
        return (
            f"{self.variant}-r{self.repeat}" if self.kind == "timed" else f"{self.variant}-checks"
        )


@dataclass(frozen=True)
class BootResult:
    spec: BootSpec
    boot_seconds: float
    gates: list[gates.GateResult]
    measurements: list[tuple[int, benchmark.Measurement]] = field(default_factory=list)
    counts: list[tuple[int, counters.UnmapCounts]] = field(default_factory=list)
    integrity: list[integrity.IntegrityResult] = field(default_factory=list)
    probe: dma_probe.ProbeCounts | None = None
    # The boot's wall time, QEMU's start to its end (set by the sweep that ran it).
    wall_seconds: float | None = None


SizeCallback = Callable[[BootSpec, int, benchmark.Measurement], None]


def bind_benchmark_device(console: Console, bdf: str) -> None:
    device = f"/sys/bus/pci/devices/{bdf}"
    console.check(f"test -e {device}")
    console.check(
        f"echo dma_map_benchmark > {device}/driver_override && "
        f"echo {bdf} > /sys/bus/pci/drivers/dma_map_benchmark/bind"
    )


def dt_node_command(compatible: str) -> str:
    """Prints the device-tree node compatible with ``compatible``, then dma-coherent and
    dma-noncoherent if it has them, and parent:dma-coherent when the root (its parent)
    says dma-coherent, which Linux's of_dma_is_coherent() inherits."""
    # One grep over every node's compatible (a grep per node cost 0.25 s a query
    # under TCG), then the matching nodes' properties.
    return (
        "for c in $(grep -ls '" + compatible + "' /proc/device-tree/*/compatible); do "
        "n=${c%compatible}; echo $n $(test -e ${n}dma-coherent && echo dma-coherent)"
        " $(test -e ${n}dma-noncoherent && echo dma-noncoherent)"
        " $(test -e /proc/device-tree/dma-coherent && echo parent:dma-coherent); done; true"
    )


# KernelPageSize of the shell's first mapping: the kernel's page size, in kB.
PAGE_SIZE_COMMAND = "grep -m1 KernelPageSize /proc/self/smaps"


def gather_facts(console: Console, bdf: str, smmu_compatible: str) -> gates.GuestFacts:
    device = f"/sys/bus/pci/devices/{bdf}"

    def optional(command: str) -> str | None:
        status, output = console.run(command)
        text = output.strip()
        return text if status == 0 and text else None

    group_link = optional(f"readlink {device}/iommu_group")
    group = group_link.rsplit("/", 1)[-1] if group_link else None
    driver_link = optional(f"readlink {device}/driver")
    return gates.GuestFacts(
        release=console.check("uname -r").strip(),
        dmesg=console.check("dmesg"),
        iommu_group=group,
        group_type=optional(f"cat /sys/kernel/iommu_groups/{group}/type") if group else None,
        driver=driver_link.rsplit("/", 1)[-1] if driver_link else None,
        smmu_node=optional(dt_node_command(smmu_compatible)),
        pcie_node=optional(dt_node_command(PCIE_HOST_COMPATIBLE)),
        page_size=_kernel_page_size(optional(PAGE_SIZE_COMMAND)),
    )


def _kernel_page_size(line: str | None) -> int | None:
    words = (line or "").split()
    return int(words[1]) * 1024 if len(words) == 3 and words[1].isdigit() else None


def failed_gates_error(spec: BootSpec, results: list[gates.GateResult]) -> RunFailed:
    failed = [g for g in results if not g.passed]
    lines = []
    for gate in failed:
        lines.append(f"{gate.name}: {gate.detail}")
        lines.extend(f"  | {line}" for line in gate.evidence)
    return RunFailed(
        f"boot {spec.label}: {len(failed)} gate(s) failed: " + ", ".join(g.name for g in failed),
        excerpt="\n".join(lines),
        log_path=str(spec.console_log),
        check="gates: " + ", ".join(g.name for g in failed),
    )


@contextmanager
def gated_guest(
    spec: BootSpec, profile: MachineProfile, settings: GuestSettings
) -> Iterator[tuple[Machine, Console, list[gates.GateResult]]]:
    """A booted guest that passed every gate, with the benchmark device bound."""
    with Machine(
        spec.argv,
        spec.console_log,
        qmp_socket=spec.qmp_socket,
        boot_timeout_s=settings.boot_timeout_s,
        command_timeout_s=settings.command_timeout_s,
    ) as machine:
        machine.wait_ready()
        console = machine.console
        assert console is not None
        # No echo and no prompt: command output comes back clean. Only warnings
        # and worse reach the console from here on; dmesg keeps everything.
        console.check("stty -echo; export PS1=''; dmesg -n 5")
        bind_benchmark_device(console, profile.bench_device_bdf)
        facts = gather_facts(console, profile.bench_device_bdf, profile.smmu_compatible)
        spec.console_log.with_suffix(".dmesg").write_text(facts.dmesg)
        results = gates.check_all(facts, profile, spec.expected_release, settings.page_size_bytes)
        if not all(g.passed for g in results):
            raise failed_gates_error(spec, results)
        yield machine, console, results


def _command(settings: GuestSettings, size: int) -> str:
    return benchmark.command(
        size,
        threads=settings.threads,
        seconds=settings.seconds,
        direction=settings.direction,
        dma_bits=settings.dma_bits,
        page_size=settings.page_size_bytes,
    )


def run_boot(
    spec: BootSpec,
    profile: MachineProfile,
    settings: GuestSettings,
    on_size: SizeCallback | None = None,
) -> BootResult:
    """A timed boot: every size once, no tracing."""
    with gated_guest(spec, profile, settings) as (machine, console, results):
        measurements = []
        for size in settings.size_bytes:
            output = console.check(_command(settings, size))
            try:
                measurement = benchmark.parse(output)
            except RunFailed as err:
                err.log_path = str(spec.console_log)
                raise
            pages = granule(size, settings.page_size_bytes)
            if measurement.granule != pages:
                raise RunFailed(
                    f"dma_map_benchmark ran granule {measurement.granule}, asked for {pages} "
                    f"({format_size(size)} in {format_size(settings.page_size_bytes)} pages)",
                    excerpt=output,
                    check="benchmark output",
                )
            measurements.append((size, measurement))
            if on_size is not None:
                on_size(spec, size, measurement)
        assert machine.boot_seconds is not None
        return BootResult(spec, machine.boot_seconds, results, measurements=measurements)


def integrity_pass(spec: BootSpec, console: Console) -> list[integrity.IntegrityResult]:
    """Write and read back every size through the SMMU; any damage fails the variant."""
    group = console.run(integrity.device_group_command())[1].strip()
    if not group:
        raise RunFailed(
            f"boot {spec.label}: the integrity disk is not behind the SMMU (no IOMMU group)",
            log_path=str(spec.console_log),
            check="DMA integrity",
        )
    results = []
    for slot, size in enumerate(integrity.SIZES):
        output = console.check(integrity.round_trip_command(size, slot))
        result = integrity.parse_round_trip(output, size)
        if not result.intact:
            raise RunFailed(
                f"boot {spec.label}: {size} bytes read back through the SMMU differ from "
                "what was written",
                excerpt=output,
                log_path=str(spec.console_log),
                check="DMA integrity",
            )
        results.append(result)
    errors = integrity.io_errors(console.check("dmesg"))
    if errors:
        raise RunFailed(
            f"boot {spec.label}: I/O errors during the integrity pass",
            excerpt="\n".join(errors[-20:]),
            log_path=str(spec.console_log),
            check="DMA integrity",
        )
    return results


def run_checks_boot(spec: BootSpec, profile: MachineProfile, settings: GuestSettings) -> BootResult:
    """An untimed boot: the DMA integrity pass, then (if enabled) the traced counting pass."""
    with gated_guest(spec, profile, settings) as (machine, console, results):
        checked = integrity_pass(spec, console)
        counted = []
        if settings.counters:
            plan = counters.resolve(console.check(counters.PROBE), spec.expected_release)
            for command in counters.setup_commands(plan):
                console.check(command)
            for size in settings.size_bytes:
                output = ""
                for command in counters.window_commands(plan, _command(settings, size)):
                    output = console.check(command)
                counted.append((size, counters.parse(output, f"{spec.variant} at {size} bytes")))
        probed = None
        if profile.probe_device is not None:
            probed = probe_pass(spec, console, profile, settings, ran_benchmark=bool(counted))
        assert machine.boot_seconds is not None
        return BootResult(
            spec, machine.boot_seconds, results, counts=counted, integrity=checked, probe=probed
        )


def probe_pass(
    spec: BootSpec,
    console: Console,
    profile: MachineProfile,
    settings: GuestSettings,
    *,
    ran_benchmark: bool,
) -> dma_probe.ProbeCounts:
    """The probe device's counts after the benchmark's unmaps (run here when counting
    did not run it); a translation that outlived an unmap fails the variant."""
    if not ran_benchmark:
        for size in settings.size_bytes:
            console.check(_command(settings, size))
    sg = console.check(
        dma_probe.sg_command(dma_bits=settings.dma_bits, page_size=settings.page_size_bytes)
    )
    output = console.check(dma_probe.registers_command(profile.bench_device_bdf))
    passes = console.check(dma_probe.sg_passes_command())
    try:
        counts = dma_probe.parse(output)
        sg_passes = dma_probe.parse_sg_passes(passes)
    except RunFailed as err:
        err.log_path = str(spec.console_log)
        raise
    counts = replace(counts, sg_runs=int(dma_probe.ran_sg(sg)), sg_passes=sg_passes)
    problem = dma_probe.problem(counts)
    if problem is not None:
        raise RunFailed(
            f"boot {spec.label}: {problem}",
            excerpt=output,
            log_path=str(spec.console_log),
            check=dma_probe.CHECK,
        )
    return counts
