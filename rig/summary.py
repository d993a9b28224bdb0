"""From results rows to the seed-style tables: medians, % improvement, spread. Pure."""

from __future__ import annotations

import pandas as pd

from rig.errors import UserError
from rig.patches import BASELINE
from rig.records import CSV_COLUMNS
from rig.sizes import format_size

METRICS = {"unmap": "Unmap", "map": "Map"}
ICOUNT_NOTE = (
    "icount mode: guest time counts executed instructions (2^4 ns each), not real time. "
    "Absolute latencies are not comparable with hardware; only ratios between variants are."
)
WALLCLOCK_NOTE = (
    "wallclock mode: plain TCG on a shared host; boots were interleaved to cancel drift, "
    "but expect more noise than in icount mode."
)


def check_columns(frame: pd.DataFrame, source: str) -> None:
    missing = [column for column in CSV_COLUMNS if column not in frame.columns]
    if missing:
        raise UserError(f"{source}: missing column(s) {', '.join(missing)}")
    if frame.empty:
        raise UserError(f"{source}: no rows")
    if BASELINE not in set(frame["variant"]):
        raise UserError(f"{source}: no rows for variant {BASELINE!r}")
    for column in ("profile", "mode"):
        if frame[column].nunique() != 1:
            raise UserError(f"{source}: mixes several values of {column!r}; one run per file")


def variants(frame: pd.DataFrame) -> list[str]:
    """Baseline first, then patched variants in order of first appearance."""
    seen = list(dict.fromkeys(frame["variant"]))
    return [BASELINE, *[v for v in seen if v != BASELINE]]


def per_size(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Median, min, max and spread % over boots, per variant and size."""
    column = f"{metric}_us"
    grouped = frame.groupby(["variant", "size_bytes"])[column]
    stats = grouped.agg(["median", "min", "max", "count"]).reset_index()
    stats["spread_pct"] = (stats["max"] - stats["min"]) / stats["median"] * 100.0
    return stats


def improvement_table(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per size: each variant's median, and each patch's % improvement over baseline."""
    stats = per_size(frame, metric)
    medians = stats.pivot(index="size_bytes", columns="variant", values="median")
    spreads = stats.pivot(index="size_bytes", columns="variant", values="spread_pct")
    table = pd.DataFrame(index=medians.index)
    for variant in variants(frame):
        table[variant] = medians[variant]
    for variant in variants(frame)[1:]:
        table[f"improvement_pct:{variant}"] = (
            (medians[BASELINE] - medians[variant]) / medians[BASELINE] * 100.0
        )
    for variant in variants(frame):
        table[f"spread_pct:{variant}"] = spreads[variant]
    return table.sort_index()


def _markdown_table(table: pd.DataFrame, names: list[str]) -> list[str]:
    patched = names[1:]
    header = ["Size", *[f"{name} (us)" for name in names]]
    header += [f"% improvement ({name})" for name in patched]
    header += [f"spread {name}" for name in names]
    lines = ["| " + " | ".join(header) + " |", "|" + "---:|" * len(header)]
    for size, row in table.iterrows():
        cells = [format_size(int(str(size)))]
        cells += [f"{row[name]:.1f}" for name in names]
        cells += [f"{row[f'improvement_pct:{name}']:+.2f}" for name in patched]
        cells += [f"{row[f'spread_pct:{name}']:.1f}%" for name in names]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(frame: pd.DataFrame, title_note: str = "") -> str:
    names = variants(frame)
    profile = str(frame["profile"].iloc[0])
    mode = str(frame["mode"].iloc[0])
    boots = frame.groupby("variant")["repeat"].nunique().to_dict()
    releases = frame.groupby("variant")["kernel_release"].first().to_dict()
    first = frame.iloc[0]
    lines = [
        f"# smmu-rig: {', '.join(names[1:]) or 'baseline'} vs baseline on {profile} ({mode})",
        "",
        f"- profile: `{profile}`; timing mode: `{mode}`",
        f"- dma_map_benchmark: {first['threads']} thread(s), {first['seconds']} s per size, "
        f"dir {first['direction']}, {first['dma_bits']}-bit mask",
        "- boots per variant: " + ", ".join(f"{v} {boots.get(v, 0)}" for v in names),
        "- kernels: " + ", ".join(f"{v} `{releases.get(v)}`" for v in names),
        "",
        "> " + (ICOUNT_NOTE if mode == "icount" else WALLCLOCK_NOTE),
        "",
        "Latencies are medians over boots. % improvement = (baseline - patched) / baseline, "
        "as in the seed's tables (positive is faster). Spread = (max - min) / median over "
        "boots: a difference smaller than the spread is not a result.",
    ]
    if title_note:
        lines += ["", title_note]
    for metric, title in METRICS.items():
        table = improvement_table(frame, metric)
        lines += ["", f"## {title} latency (us)", "", *_markdown_table(table, names)]
    lines += ["", "Plots: `latency.png` (latency vs size), `improvement.png` (% vs size).", ""]
    return "\n".join(lines)
