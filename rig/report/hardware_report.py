"""Hardware-equivalent microseconds for runs on a profile with a timing block, beside the
seed's numbers. Pure.

Only a profile whose timing was calibrated (or set by hand) and an icount run have them:
guest us x instruction_ns / 2**shift, the charged costs included. Anywhere else only
ratios between variants mean anything, and no absolute figure is shown.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from rig.boot.hardware_time import COST_MEANINGS, COST_NAMES, HardwareTiming, field_names
from rig.calibration import calibration_fit
from rig.errors import RunFailed
from rig.report import stats, summary, tables
from rig.sizes import format_size


def timing_of(run_info: dict[str, Any] | None) -> tuple[HardwareTiming, int] | None:
    """The run's timing block (run.json's profile) and icount shift, if it has one and
    ran under icount."""
    info = run_info or {}
    profile, mode = info.get("profile"), info.get("mode")
    if not isinstance(profile, dict) or not isinstance(mode, dict):
        return None
    block, shift = profile.get("timing"), mode.get("icount_shift")
    if not isinstance(block, dict) or not isinstance(shift, int):
        return None
    known = set(field_names())
    values = {k: v for k, v in block.items() if k in known}
    values["residuals"] = tuple(values.get("residuals") or ())
    return HardwareTiming(**values), shift


def hardware_medians(frame: pd.DataFrame, timing: HardwareTiming, shift: int) -> pd.DataFrame:
    """role (seed column), size_bytes, hw_us: each variant's median unmap in hardware us,
    the run's reference as the seed's 'without'. Empty unless exactly two variants."""
    reference = stats.reference(frame)
    try:
        medians = calibration_fit.unmap_medians(frame, reference)
    except RunFailed:
        return pd.DataFrame(columns=["role", "size_bytes", "hw_us"])
    return medians.assign(hw_us=medians["unmap_us"] * timing.scale(shift))[
        ["role", "size_bytes", "hw_us"]
    ]


TITLE = "Unmap latency in hardware-equivalent us, beside the seed"
HEADER = (
    "size",
    "rig without",
    "seed without",
    "gap",
    "rig with",
    "seed with",
    "gap",
    "rig %",
    "seed %",
    "gap (points)",
)


def intro(timing: HardwareTiming, table_title: str) -> str:
    charged = ", ".join(
        f"{getattr(timing, name):.1f} ns per {COST_MEANINGS[name].split(' ', 1)[1]}"
        for name in COST_NAMES
    )
    return (
        f"The tables above are instruction-counted guest us; here they are scaled to "
        f"hardware by the profile's timing ({timing.calibration}): one guest instruction "
        f"stands for {timing.instruction_ns:.3f} ns, and the guest was charged {charged}. "
        f"Seed: {table_title}. Gaps: rig against seed, in % of the seed's latency and in "
        "points of improvement."
    )


def table(compared: pd.DataFrame) -> tables.Table:
    rows = tuple(
        (
            format_size(int(r["size_bytes"])),
            f"{r['rig_without_us']:.1f}",
            f"{r['seed_without_us']:.1f}",
            f"{r['without_gap_pct']:+.1f}%",
            f"{r['rig_with_us']:.1f}",
            f"{r['seed_with_us']:.1f}",
            f"{r['with_gap_pct']:+.1f}%",
            f"{r['rig_improvement_pct']:+.1f}",
            f"{r['seed_improvement_pct']:+.1f}",
            f"{r['improvement_gap_points']:+.1f}",
        )
        for r in compared.to_dict("records")
    )
    return tables.Table(HEADER, rows, left_columns=frozenset({0}))


def markdown(compared: pd.DataFrame, timing: HardwareTiming, table_title: str) -> list[str]:
    """The summary's section: what the scale is, then a row per size with the gaps."""
    rendered = summary.render_markdown(table(compared))
    return [f"## {TITLE}", "", intro(timing, table_title), "", *rendered]
