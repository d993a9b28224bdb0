"""The sweep: every planned boot, its rows, and each variant's correctness.

A patched variant that fails a check is marked FAILED and its remaining boots are
skipped; the others go on, so the report can show which check caught it. A failing
baseline fails the run: there is nothing left to compare against.

Boots run ``jobs`` at a time in icount mode (guest time counts instructions, so a
boot measures the same beside others as alone). They start in plan order, and what
the sweep keeps is what the same boots run one after another would have kept.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from rig.boot import counters, dma_probe, io_pages, machine
from rig.boot.benchmark import Measurement
from rig.boot.profile import MachineProfile, TimingMode
from rig.boot.session import BootResult, BootSpec, SizeCallback, run_boot, run_checks_boot
from rig.build.patches import BASELINE
from rig.errors import RigError, RunFailed
from rig.progress import Progress
from rig.run import correctness
from rig.run.plan import Inputs, RunState
from rig.sizes import format_size


def row_of(spec: BootSpec, size: int, measurement: Measurement, inputs: Inputs) -> dict[str, Any]:
    """One results.csv row: one size of one timed boot."""
    return {
        "variant": spec.variant,
        "kernel_release": spec.expected_release,
        "profile": inputs.profile.name,
        "mode": inputs.mode.name,
        "size_bytes": size,
        "repeat": spec.repeat,
        "boot_order": spec.order,
        "threads": measurement.threads,
        "seconds": measurement.seconds,
        "direction": measurement.direction,
        "dma_bits": inputs.settings.dma_bits,
        "map_us": measurement.map_us,
        "map_stddev_us": measurement.map_stddev_us,
        "unmap_us": measurement.unmap_us,
        "unmap_stddev_us": measurement.unmap_stddev_us,
    }


def counter_rows(result: BootResult, inputs: Inputs) -> list[dict[str, Any]]:
    profile = inputs.profile
    granule = io_pages.io_granule(profile, inputs.settings.page_size_bytes)
    page_size_only = not io_pages.has_blocks(profile)
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
                    page_size_only=page_size_only,
                    granule=granule,
                ),
                "tlb_add_page_per_unmap": round(counted.per_unmap(counted.tlb_add_page), 3),
                "tlb_sync_per_unmap": round(counted.per_unmap(counted.tlb_sync), 3),
                # Empty where the kernel has no dma:dma_sync_single_for_device event.
                "bytes_cleaned_per_unmap": None
                if counted.bytes_cleaned is None
                else round(counted.per_unmap(counted.bytes_cleaned), 3),
                "entry_bytes_cleared": counters.entry_bytes_cleared(
                    size,
                    coherent=profile.walk == "coherent",
                    page_size_only=page_size_only,
                    granule=granule,
                ),
            }
        )
    return rows


def _boot(spec: BootSpec, state: RunState, on_size: SizeCallback) -> BootResult:
    inputs = state.inputs
    started = time.monotonic()
    if spec.kind == "checks":
        result = run_checks_boot(spec, inputs.profile, inputs.settings)
    else:
        result = run_boot(spec, inputs.profile, inputs.settings, on_size)
    return dataclasses.replace(result, wall_seconds=time.monotonic() - started)


def _sanitizers(profile: MachineProfile, boots: int) -> list[correctness.Check]:
    """The QEMU sanitizers that watched a variant's boots and found nothing (what they
    find fails the console watch by name)."""
    if profile.qemu != "rig-build":
        return []
    # As the devices' properties say: both checks off unless the profile turns them on.
    active = [
        name
        for name, on in (
            (
                "cache-maintenance violation (strict non-coherent view)",
                any(g.endswith(".strict-noncoherent=on") for g in profile.qemu_globals),
            ),
            (
                "stale translation",
                any(g.endswith(".check-stale=on") for g in profile.qemu_globals),
            ),
        )
        if on
    ]
    if not active:
        return []
    return [
        correctness.Check(
            "QEMU sanitizers",
            True,
            f"active in {boots} boots, nothing reported: {', '.join(active)}",
        )
    ]


def _settle(state: RunState, ledger: _Ledger) -> None:
    """Keep what a serial sweep would have kept, in boot order."""
    orders = {spec.order: spec.variant for spec in state.specs}
    with ledger.lock:
        state.rows = sorted(
            (
                row
                for row in state.rows
                if ledger.counts(int(row["boot_order"]), str(row["variant"]))
            ),
            key=lambda row: int(row["boot_order"]),
        )
        kept = [
            result
            for order, result in sorted(ledger.results.items())
            if ledger.counts(order, orders[order])
        ]
    state.boots = kept
    state.counter_rows = [row for result in kept for row in counter_rows(result, state.inputs)]


def _passed_checks(state: RunState, variant: str) -> list[correctness.Check]:
    boots = [b for b in state.boots if b.spec.variant == variant]
    gates = sum(len(b.gates) for b in boots)
    found = [
        correctness.Check("gates", True, f"{gates} gates passed over {len(boots)} boots"),
        correctness.Check(
            "console watch",
            True,
            f"no panic, Oops, BUG, WARNING or SMMU event in {len(boots)} boots",
        ),
        *_sanitizers(state.inputs.profile, len(boots)),
    ]
    probed = [b.probe for b in boots if b.probe is not None]
    if probed:
        found.append(
            correctness.Check(
                dma_probe.CHECK,
                True,
                dma_probe.describe(dma_probe.total(probed)),
            )
        )
    checked = [r for b in boots for r in b.integrity]
    if checked:
        found.append(
            correctness.Check(
                "DMA integrity",
                True,
                f"{len(checked)} sizes from 4K to 4M written and read back intact through the SMMU",
            )
        )
    for check in (
        correctness.sync_count(variant, state.counter_rows),
        correctness.sync_coverage(variant, state.counter_rows),
    ):
        if check is not None:
            found.append(check)
    return found


def effective_jobs(requested: int, mode: TimingMode) -> tuple[int, str | None]:
    """How many boots run at once, and why fewer than asked when so. Under icount a
    boot's guest time counts instructions, so boots sharing the host's cores measure
    exactly what they measure alone; wall-clock boots would slow each other down."""
    jobs = requested or os.cpu_count() or 1
    if jobs > 1 and mode.icount_shift is None:
        return 1, (
            f"{mode.name} mode boots one at a time (asked for {jobs}): boots sharing the "
            "host's cores would slow each other's measured time"
        )
    return jobs, None


@dataclass
class _Ledger:
    """What the boots running in parallel have told the sweep, kept under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    results: dict[int, BootResult] = field(default_factory=dict)
    # Variant -> (boot order, the check it failed) of its earliest failed boot.
    failed: dict[str, tuple[int, correctness.Check]] = field(default_factory=dict)
    # The earliest boot whose failure ends the run (the baseline's, or the rig's own).
    fatal: tuple[int, RigError] | None = None

    def skip(self, spec: BootSpec) -> bool:
        """A boot that would run after its variant failed (its numbers would mean
        nothing) or after the run's end was decided is not started."""
        with self.lock:
            if self.fatal is not None and self.fatal[0] < spec.order:
                return True
            earlier = self.failed.get(spec.variant)
            return earlier is not None and earlier[0] < spec.order

    def fail(self, spec: BootSpec, err: RigError) -> bool:
        """Record a failed boot; True when it ends the run."""
        with self.lock:
            if isinstance(err, RunFailed) and spec.variant != BASELINE:
                earlier = self.failed.get(spec.variant)
                if earlier is None or spec.order < earlier[0]:
                    self.failed[spec.variant] = (
                        spec.order,
                        correctness.from_error(err, spec.label),
                    )
                return False
            if self.fatal is None or spec.order < self.fatal[0]:
                self.fatal = (spec.order, err)
            return True

    def counts(self, order: int, variant: str) -> bool:
        """Whether boot ``order`` of ``variant`` is part of the run as a serial sweep
        would have made it: before the run's end and before its variant's failure."""
        if self.fatal is not None and order > self.fatal[0]:
            return False
        earlier = self.failed.get(variant)
        return earlier is None or order <= earlier[0]


def sweep(state: RunState, progress: Progress, jobs: int = 1) -> None:
    """Boot every spec, ``jobs`` at a time, collect rows and counts, and judge each
    variant. Boots start in plan order; whatever order they end in, the rows, counts
    and verdicts are those of the same boots run one after another."""
    timed = sum(1 for spec in state.specs if spec.kind == "timed")
    total = timed * len(state.inputs.settings.size_bytes)
    ledger = _Ledger()
    done = 0

    def on_size(spec: BootSpec, size: int, m: Measurement) -> None:
        nonlocal done
        with ledger.lock:
            # Kept as soon as it is taken: a run stopped later still has every size measured.
            state.rows.append(row_of(spec, size, m, state.inputs))
            done += 1
            count = done
        progress.update(
            f"[{count}/{total}] boot {spec.order}/{len(state.specs)} {spec.variant} "
            f"r{spec.repeat}: {format_size(size)} unmap {m.unmap_us:.1f} us, "
            f"map {m.map_us:.1f} us",
            force=True,
        )

    def one(spec: BootSpec) -> None:
        if ledger.skip(spec):
            return
        if spec.kind == "checks":
            progress.update(
                f"boot {spec.order}/{len(state.specs)} {spec.variant}: integrity and counting pass",
                force=True,
            )
        try:
            result = _boot(spec, state, on_size)
        except RigError as err:
            if not ledger.fail(spec, err) and isinstance(err, RunFailed):
                progress.say(
                    f"[red]{spec.variant} FAILED ({correctness.from_error(err, spec.label).name})"
                    f": {err.message}[/red]"
                )
            return
        with ledger.lock:
            ledger.results[spec.order] = result

    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="boot")
    try:
        for future in [pool.submit(one, spec) for spec in state.specs]:
            future.result()
    except BaseException:
        # Ctrl-C or a stop reaches this thread only: end the boots running elsewhere.
        pool.shutdown(wait=False, cancel_futures=True)
        machine.terminate_running()
        pool.shutdown(wait=True)
        _settle(state, ledger)
        raise
    pool.shutdown(wait=True)
    _settle(state, ledger)
    if ledger.fatal is not None:
        raise ledger.fatal[1]
    failed = {variant: check for variant, (_, check) in ledger.failed.items()}
    for variant in [v.name for v in state.inputs.variants]:
        state.checks[variant] = (
            [failed[variant]] if variant in failed else _passed_checks(state, variant)
        )
    baseline_checks = state.checks[BASELINE]
    if correctness.verdict(baseline_checks) == correctness.FAILED:
        problem = next(c for c in baseline_checks if not c.passed)
        raise RunFailed(
            f"the baseline kernel fails a correctness check: {problem.detail}", check=problem.name
        )
