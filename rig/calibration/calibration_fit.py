"""Fitting a platform's hardware costs to a seed table. Pure.

Under icount a run's guest time is linear in the charged costs: an unmap that takes T0
guest us with nothing charged takes T0 + sum(n_k * g_k) with cost k charged g_k guest ns
per event, n_k being how many such events one unmap has. So one sweep with nothing
charged and one per cost with only that cost charged give T0 and every n_k per variant
and size, measured by the guest's own clock rather than assumed. In hardware us an unmap
is then  a * T0 + sum(c_k * n_k)  with a = instruction_ns / 2**shift, and a and the c_k
are fitted, non-negative, to the seed's numbers by least squares on relative error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from rig.boot.hardware_time import HardwareTiming
from rig.errors import RunFailed
from rig.sizes import format_size

# The costs the fit estimates. tlb_sync_ns is not among them: each unmap has exactly one
# sync in either variant at every size, so in these tables it cannot be told apart from
# the unmap's fixed instruction cost; and Linux polls a sync with an exponential backoff,
# so its charge is not linear in the cost. It stays what the profile says.
FITTED = ("dc_line_ns", "dsb_poc_ns", "reg_access_ns")
# Guest ns charged per event in each cost's sensitivity sweep: large against the 0.1 us
# the benchmark prints, small against a guest second.
PROBE_GUEST_NS = {"dc_line_ns": 320, "dsb_poc_ns": 32_000, "reg_access_ns": 16_000}


@dataclass(frozen=True)
class Events:
    """Per variant role (WITHOUT/WITH) and size: guest us with nothing charged (t0) and
    events per unmap for each fitted cost."""

    frame: pd.DataFrame  # columns: role, size_bytes, t0_us, and one per FITTED cost


def events(zero: pd.DataFrame, probes: dict[str, pd.DataFrame]) -> Events:
    """T0 and n_k from the medians of the zero sweep and of each cost's probe sweep."""
    table = zero.rename(columns={"unmap_us": "t0_us"}).set_index(["role", "size_bytes"])
    for cost in FITTED:
        probe = probes[cost].set_index(["role", "size_bytes"])["unmap_us"]
        extra_us = probe.reindex(table.index) - table["t0_us"]
        if extra_us.isna().any():
            raise RunFailed(f"calibration: the {cost} sweep lacks sizes the zero sweep has")
        table[cost] = (extra_us * 1000 / PROBE_GUEST_NS[cost]).clip(lower=0.0)
    return Events(table.reset_index())


def _design(ev: Events, shift: int) -> np.ndarray:
    """Columns: hardware us per unit of a (instruction scale) and of each c_k (ns)."""
    frame = ev.frame
    columns = [frame["t0_us"].to_numpy(dtype=float) / 2**shift]
    columns += [frame[cost].to_numpy(dtype=float) / 1000 for cost in FITTED]
    return np.column_stack(columns)


def reference_values(ev: Events, table: pd.DataFrame) -> np.ndarray:
    """The seed's us for each row of ``ev`` (its role and size)."""
    by_size = table.set_index("size_bytes")
    values = []
    for role, size in zip(ev.frame["role"], ev.frame["size_bytes"], strict=True):
        if int(size) not in by_size.index:
            raise RunFailed(f"calibration: the seed table has no row for {int(size)} bytes")
        values.append(float(by_size.loc[int(size), role]))
    return np.array(values)


def fit(ev: Events, table: pd.DataFrame, base: HardwareTiming, shift: int) -> HardwareTiming:
    """instruction_ns and the FITTED costs (ns) that best give the seed's table, by
    non-negative least squares on relative error; other costs as in ``base``."""
    target = reference_values(ev, table)
    fixed = predict(ev, _only_unfitted(base), shift, instructions=False)
    design = _design(ev, shift)
    weights = 1.0 / target
    solution, _ = nnls(design * weights[:, None], (target - fixed) * weights)
    if solution[0] <= 0:
        raise RunFailed(
            "calibration: the fit gives no time to instructions; the sweeps do not "
            "look like unmaps (see the calibration's runs)"
        )
    # Rounded as the profile states them (4 decimals of ns per instruction, 0.1 ns per
    # cost), so that what is written is what was fitted.
    dc_line, dsb_poc, reg_access = (round(float(v), 1) for v in solution[1:])
    return HardwareTiming(
        instruction_ns=round(float(solution[0]), 4),
        dc_line_ns=dc_line,
        dsb_poc_ns=dsb_poc,
        reg_access_ns=reg_access,
        tlb_sync_ns=base.tlb_sync_ns,
    )


def _only_unfitted(timing: HardwareTiming) -> HardwareTiming:
    return HardwareTiming(instruction_ns=timing.instruction_ns, tlb_sync_ns=timing.tlb_sync_ns)


def predict(
    ev: Events, timing: HardwareTiming, shift: int, *, instructions: bool = True
) -> np.ndarray:
    """Hardware us per row of ``ev`` under ``timing`` (the linear model; the unfitted
    tlb_sync_ns counts once per unmap)."""
    design = _design(ev, shift)
    scale = timing.instruction_ns if instructions else 0.0
    coefficients = np.array([scale, *(getattr(timing, cost) for cost in FITTED)])
    return np.asarray(design @ coefficients + timing.tlb_sync_ns / 1000)


def residual_lines(compared: pd.DataFrame) -> tuple[str, ...]:
    """One line per row, for the profile's timing block."""
    return tuple(
        f"{format_size(int(r['size_bytes']))}: without {r['rig_without_us']:.1f} us vs seed "
        f"{r['seed_without_us']:.1f} ({r['without_gap_pct']:+.1f}%), with "
        f"{r['rig_with_us']:.1f} vs {r['seed_with_us']:.1f} ({r['with_gap_pct']:+.1f}%), "
        f"improvement {r['rig_improvement_pct']:+.1f}% vs {r['seed_improvement_pct']:+.1f}% "
        f"({r['improvement_gap_points']:+.1f} points)"
        for r in compared.to_dict("records")
    )
