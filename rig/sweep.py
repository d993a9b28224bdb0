"""The sweep: every planned boot in order, its rows, and each variant's correctness.

A patched variant that fails a check is marked FAILED and its remaining boots are
skipped; the others go on, so the report can show which check caught it. A failing
baseline fails the run: there is nothing left to compare against.
"""

from __future__ import annotations

from typing import Any

from rig import correctness, counters, dma_probe
from rig.benchmark import Measurement
from rig.errors import RunFailed
from rig.patches import BASELINE
from rig.plan import Inputs, RunState
from rig.profile import MachineProfile
from rig.progress import Progress
from rig.session import BootResult, BootSpec, run_boot, run_checks_boot
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
                # Empty where the kernel has no dma:dma_sync_single_for_device event.
                "bytes_cleaned_per_unmap": None
                if counted.bytes_cleaned is None
                else round(counted.per_unmap(counted.bytes_cleaned), 3),
                "entry_bytes_cleared": counters.entry_bytes_cleared(
                    size,
                    coherent=profile.walk == "coherent",
                    page_size_only=profile.page_sizes == "page-size-only",
                ),
            }
        )
    return rows


def _boot(spec: BootSpec, state: RunState, on_size: Any) -> BootResult:
    inputs = state.inputs
    if spec.kind == "checks":
        result = run_checks_boot(spec, inputs.profile, inputs.settings)
        state.counter_rows += counter_rows(result, inputs)
    else:
        result = run_boot(spec, inputs.profile, inputs.settings, on_size)
    return result


def _sanitizers(profile: MachineProfile, boots: int) -> list[correctness.Check]:
    """The QEMU sanitizers that watched a variant's boots and found nothing (what they
    find fails the console watch by name)."""
    if profile.qemu != "rig-build":
        return []
    # As the devices' properties say: strict-noncoherent off and check-stale on by default.
    active = [
        name
        for name, on in (
            (
                "cache-maintenance violation (strict non-coherent view)",
                any(g.endswith(".strict-noncoherent=on") for g in profile.qemu_globals),
            ),
            (
                "stale translation",
                not any(g.endswith(".check-stale=off") for g in profile.qemu_globals),
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


def sweep(state: RunState, progress: Progress) -> None:
    """Boot every spec in order, collect rows and counts, and judge each variant."""
    timed = sum(1 for spec in state.specs if spec.kind == "timed")
    total = timed * len(state.inputs.settings.size_bytes)
    done = 0

    def on_size(spec: BootSpec, size: int, m: Measurement) -> None:
        # Kept as soon as it is taken: a run stopped later still has every size measured.
        state.rows.append(row_of(spec, size, m, state.inputs))
        nonlocal done
        done += 1
        progress.update(
            f"[{done}/{total}] boot {spec.order}/{len(state.specs)} {spec.variant} "
            f"r{spec.repeat}: {format_size(size)} unmap {m.unmap_us:.1f} us, "
            f"map {m.map_us:.1f} us",
            force=True,
        )

    failed: dict[str, correctness.Check] = {}
    for spec in state.specs:
        if spec.variant in failed:
            continue  # a FAILED variant's numbers would mean nothing
        if spec.kind == "checks":
            progress.update(
                f"boot {spec.order}/{len(state.specs)} {spec.variant}: integrity and counting pass",
                force=True,
            )
        try:
            state.boots.append(_boot(spec, state, on_size))
        except RunFailed as err:
            if spec.variant == BASELINE:
                raise
            failed[spec.variant] = correctness.from_error(err, spec.label)
            progress.say(
                f"[red]{spec.variant} FAILED ({failed[spec.variant].name}): {err.message}[/red]"
            )
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
