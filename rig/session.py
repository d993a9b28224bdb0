"""One boot: start QEMU, check the guest against the gates, run the sizes, stop QEMU."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rig import benchmark, gates
from rig.console import Console
from rig.errors import RunFailed
from rig.machine import Machine
from rig.profile import MachineProfile
from rig.settings import Settings


@dataclass(frozen=True)
class BootSpec:
    variant: str
    repeat: int
    order: int
    expected_release: str
    argv: list[str]
    qmp_socket: Path
    console_log: Path

    @property
    def label(self) -> str:
        return f"{self.variant}-r{self.repeat}"


@dataclass(frozen=True)
class BootResult:
    spec: BootSpec
    boot_seconds: float
    gates: list[gates.GateResult]
    measurements: list[tuple[int, benchmark.Measurement]]


def bind_benchmark_device(console: Console, bdf: str) -> None:
    device = f"/sys/bus/pci/devices/{bdf}"
    console.check(f"test -e {device}")
    console.check(
        f"echo dma_map_benchmark > {device}/driver_override && "
        f"echo {bdf} > /sys/bus/pci/drivers/dma_map_benchmark/bind"
    )


def gather_facts(console: Console, bdf: str) -> gates.GuestFacts:
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
    )


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
    )


def run_boot(
    spec: BootSpec, profile: MachineProfile, settings: Settings, on_size: object = None
) -> BootResult:
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
        facts = gather_facts(console, profile.bench_device_bdf)
        spec.console_log.with_suffix(".dmesg").write_text(facts.dmesg)
        results = gates.check_all(facts, profile, spec.expected_release)
        if not all(g.passed for g in results):
            raise failed_gates_error(spec, results)
        measurements = []
        for size in settings.size_bytes:
            command = benchmark.command(
                size,
                threads=settings.threads,
                seconds=settings.seconds,
                direction=settings.direction,
                dma_bits=settings.dma_bits,
            )
            output = console.check(command)
            try:
                measurement = benchmark.parse(output)
            except RunFailed as err:
                err.log_path = str(spec.console_log)
                raise
            if measurement.granule != size // 4096:
                raise RunFailed(
                    f"dma_map_benchmark ran granule {measurement.granule}, asked for "
                    f"{size // 4096}",
                    excerpt=output,
                )
            measurements.append((size, measurement))
            if callable(on_size):
                on_size(spec, size, measurement)
        assert machine.boot_seconds is not None
        return BootResult(spec, machine.boot_seconds, results, measurements)
