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
from rig.errors import RunFailed
from rig.report import stats, summary, tables
from rig.sizes import format_size

# The seed's columns for the run's reference and patched variants.
WITHOUT, WITH = "without_us", "with_us"


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


def unmap_medians(frame: pd.DataFrame, reference_variant: str) -> pd.DataFrame:
    """role, size_bytes, unmap_us (median over boots) of a run with one patched variant."""
    names = list(dict.fromkeys(frame["variant"]))
    patched = [name for name in names if name != reference_variant]
    if reference_variant not in names or len(patched) != 1:
        raise RunFailed(
            f"calibration needs a run of one reference and one patched variant; got {names}"
        )
    medians = frame.groupby(["variant", "size_bytes"])["unmap_us"].median().reset_index()
    medians["role"] = medians["variant"].map({reference_variant: WITHOUT, patched[0]: WITH})
    return medians[["role", "size_bytes", "unmap_us"]]


def comparison(measured: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Rig (role, size_bytes, hw_us) against one seed table: a row per size with both
    variants, the gap of each in %, both improvements and their gap in points."""
    wide = measured.pivot(index="size_bytes", columns="role", values="hw_us")
    ref = table.set_index("size_bytes")
    rows = []
    for size in sorted(set(wide.index) & set(ref.index)):
        rig_without, rig_with = float(wide.loc[size, WITHOUT]), float(wide.loc[size, WITH])
        seed_without, seed_with = float(ref.loc[size, WITHOUT]), float(ref.loc[size, WITH])
        rig_pct = (rig_without - rig_with) / rig_without * 100
        seed_pct = float(ref.loc[size, "improvement_pct"])
        rows.append(
            {
                "size_bytes": int(size),
                "rig_without_us": rig_without,
                "seed_without_us": seed_without,
                "without_gap_pct": (rig_without / seed_without - 1) * 100,
                "rig_with_us": rig_with,
                "seed_with_us": seed_with,
                "with_gap_pct": (rig_with / seed_with - 1) * 100,
                "rig_improvement_pct": rig_pct,
                "seed_improvement_pct": seed_pct,
                "improvement_gap_points": rig_pct - seed_pct,
            }
        )
    return pd.DataFrame(rows)


def hardware_medians(frame: pd.DataFrame, timing: HardwareTiming, shift: int) -> pd.DataFrame:
    """role (seed column), size_bytes, hw_us: each variant's median unmap in hardware us,
    the run's reference as the seed's 'without'. Empty unless exactly two variants."""
    reference = stats.reference(frame)
    try:
        medians = unmap_medians(frame, reference)
    except RunFailed:
        return pd.DataFrame(columns=["role", "size_bytes", "hw_us"])
    return medians.assign(hw_us=medians["unmap_us"] * timing.scale(shift))[
        ["role", "size_bytes", "hw_us"]
    ]


def hardware_comparison(
    frame: pd.DataFrame, run_info: dict[str, Any] | None, reference: pd.DataFrame
) -> tuple[HardwareTiming, pd.DataFrame] | None:
    """A run on a profile with hardware timing: its costs, and its latencies in
    hardware-equivalent us against the seed table's, size by size."""
    found = timing_of(run_info)
    if found is None:
        return None
    timing, shift = found
    medians = hardware_medians(frame, timing, shift)
    if medians.empty:
        return None
    compared = comparison(medians, reference)
    return (timing, compared) if not compared.empty else None


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
