"""Soak: boot and benchmark the same kernel N times in a row; report failures and spread.

Not a test: a measurement of the rig itself. Every cycle is a full boot with every
gate and the console watch; a cycle that fails is recorded with the check that
caught it, and the soak goes on.
"""

from __future__ import annotations

import csv
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rig.boot import dtb
from rig.boot.profile import BootFiles
from rig.boot.session import run_boot
from rig.build.kbuild import BuiltKernel
from rig.errors import RunFailed
from rig.progress import Progress
from rig.run import records
from rig.run.plan import Inputs, boot_spec
from rig.sizes import format_size


@dataclass(frozen=True)
class Cycle:
    number: int
    seconds: float
    failure: str  # the check that caught it; empty when the cycle passed
    detail: str
    unmap_us: dict[int, float]


def run_cycles(
    inputs: Inputs,
    kernel: BuiltKernel,
    initrd: Path,
    out: Path,
    *,
    cycles: int,
    progress: Progress,
) -> list[Cycle]:
    done: list[Cycle] = []
    with tempfile.TemporaryDirectory(prefix="smmu-rig-soak-") as scratch:
        disk = Path(scratch) / "integrity-disk.img"
        disk.touch()
        machine_dtb = dtb.prepare(
            inputs.profile, inputs.mode, BootFiles(kernel.image, initrd), out, inputs.qemu
        )
        for number in range(1, cycles + 1):
            qmp = Path(scratch) / f"qmp-{number}.sock"
            boot = BootFiles(kernel.image, initrd, dtb=machine_dtb.path, qmp_socket=qmp, disk=disk)
            log = out / "console" / f"{number:03d}.log"
            spec = boot_spec(inputs, kernel, boot, order=number, repeat=number, log=log)
            started = time.monotonic()
            try:
                result = run_boot(spec, inputs.profile, inputs.settings)
                unmap = {size: m.unmap_us for size, m in result.measurements}
                cycle = Cycle(number, time.monotonic() - started, "", "", unmap)
            except RunFailed as err:
                check = err.check or "run"
                cycle = Cycle(number, time.monotonic() - started, check, err.message, {})
            done.append(cycle)
            state = "ok" if not cycle.failure else f"FAILED ({cycle.failure})"
            progress.update(
                f"cycle {number}/{cycles}: {state} in {cycle.seconds:.1f} s", force=True
            )
    return done


def write(done: list[Cycle], sizes: tuple[int, ...], out: Path, header: list[str]) -> str:
    with (out / "soak.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["cycle", "seconds", "failure", "detail", *[f"unmap_us_{s}" for s in sizes]]
        )
        for cycle in done:
            writer.writerow(
                [
                    cycle.number,
                    f"{cycle.seconds:.2f}",
                    cycle.failure,
                    cycle.detail,
                    *[cycle.unmap_us.get(s, "") for s in sizes],
                ]
            )
    failed = [c for c in done if c.failure]
    lines = [
        *header,
        "",
        f"- cycles: {len(done)}, failed: {len(failed)} ({100 * len(failed) / len(done):.1f}%)",
        f"- seconds per cycle: median {statistics.median(c.seconds for c in done):.2f}, "
        f"max {max(c.seconds for c in done):.2f}",
    ]
    for cycle in failed:
        lines.append(f"- cycle {cycle.number} FAILED by {cycle.failure}: {cycle.detail}")
    lines += [
        "",
        "| Size | unmap median (us) | min | max | (max-min)/median | stdev/mean |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        values = [c.unmap_us[size] for c in done if size in c.unmap_us]
        if len(values) < 2:
            continue
        median = statistics.median(values)
        lines.append(
            f"| {format_size(size)} | {median:.1f} | {min(values):.1f} | {max(values):.1f} | "
            f"{(max(values) - min(values)) / median * 100:.2f}% | "
            f"{statistics.stdev(values) / statistics.mean(values) * 100:.2f}% |"
        )
    text = "\n".join(lines) + "\n"
    (out / "soak.md").write_text(text)
    return text


def soak(
    inputs: Inputs, kernel: BuiltKernel, initrd: Path, cycles: int, progress: Progress
) -> tuple[Path, int]:
    """Run the soak into results/soak/<id>/; return the folder and the failure count."""
    run_dir = records.RunDir(
        inputs.results_root / "soak", records.new_run_id(inputs.profile.name, inputs.mode.name)
    )
    with progress.phase(f"soak ({cycles} cycles of boot + benchmark)"):
        done = run_cycles(inputs, kernel, initrd, run_dir.path, cycles=cycles, progress=progress)
    header = [
        f"# Soak: {kernel.variant} `{kernel.release}` on {inputs.profile.name} "
        f"({inputs.mode.name})",
        "",
        f"Each cycle: boot, all gates, console watch, dma_map_benchmark at "
        f"{', '.join(format_size(s) for s in inputs.settings.size_bytes)} for "
        f"{inputs.settings.seconds} s each.",
    ]
    text = write(done, inputs.settings.size_bytes, run_dir.path, header)
    print(text)
    return run_dir.complete(), sum(1 for c in done if c.failure)
