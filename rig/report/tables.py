"""The report's tables as rows of text, so summary.md and report.html show the same cells."""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rig.report import stats
from rig.sizes import format_size


@dataclass(frozen=True)
class Table:
    """Header and rows of display text; `verdict_columns` name the cells holding a verdict."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    verdict_columns: frozenset[int] = frozenset()
    left_columns: frozenset[int] = frozenset()


def format_change(value: float) -> str:
    return f"{value:+.2f}%"


def format_ci(low: float, high: float) -> str:
    if math.isnan(low) or math.isnan(high):
        return "n/a"
    return f"[{low:+.2f}, {high:+.2f}]"


def format_p(value: float) -> str:
    if value < 0.001:
        return "<0.001"
    return f"{value:.3f}" if value < 0.01 else f"{value:.2f}"


def format_count(value: float) -> str:
    """Counts per unmap: whole numbers as such, averages with two decimals."""
    if math.isnan(value):
        return "n/a"
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def latency_table(
    medians: pd.DataFrame, spreads: pd.DataFrame, comparisons: pd.DataFrame, names: list[str]
) -> Table:
    """Per size: each variant's median and spread, then per patch its change, CI, p, verdict.

    `medians` and `spreads` are indexed by size with one column per variant; `comparisons`
    is stats.compare's frame for one metric.
    """
    patched = names[1:]
    header = ["Size"]
    for name in names:
        header += [f"{name} (us)", f"{name} spread"]
    for name in patched:
        header += [f"{name} % improvement", f"{name} 95% CI", f"{name} p", f"{name} verdict"]
    median_of, spread_of = medians.to_dict(), spreads.to_dict()
    by_cell = {
        (str(cell["variant"]), int(cell["size_bytes"])): cell
        for cell in comparisons.to_dict("records")
    }
    rows = []
    for size in (int(s) for s in medians.index):
        cells = [format_size(size)]
        for name in names:
            cells += [f"{median_of[name][size]:.1f}", f"{spread_of[name][size]:.1f}%"]
        for name in patched:
            cell = by_cell.get((name, size))
            if cell is None:
                cells += ["n/a"] * 4
                continue
            cells += [
                format_change(float(cell["change_pct"])),
                format_ci(float(cell["ci_low_pct"]), float(cell["ci_high_pct"])),
                format_p(float(cell["p_value"])),
                str(cell["verdict"]),
            ]
        rows.append(tuple(cells))
    first_verdict = 1 + 2 * len(names) + 3
    verdicts = frozenset(first_verdict + 4 * i for i in range(len(patched)))
    return Table(tuple(header), tuple(rows), verdict_columns=verdicts, left_columns=verdicts)


def verdict_digest(comparisons: pd.DataFrame) -> list[str]:
    """One line per patched variant: which sizes got which verdict, in verdict order."""
    lines = []
    for variant, group in comparisons.groupby("variant", sort=False):
        parts = []
        # FAILED comes from rig.correctness, not from the statistics; it outranks them.
        for name in ("FAILED", *stats.VERDICTS):
            sizes = [format_size(int(s)) for s in group[group["verdict"] == name]["size_bytes"]]
            if sizes:
                parts.append(f"{name} at {', '.join(sizes)}")
        lines.append(f"{variant}: " + "; ".join(parts))
    return lines


def counters_table(counters: pd.DataFrame, names: list[str]) -> Table:
    """Per size: syncs per unmap for each variant with the minimum beside them, then TLB
    add-page calls per unmap for each variant, then, where the kernel's sync event gave
    them, bytes of page table cleaned per unmap."""
    sizes = sorted(int(s) for s in counters["size_bytes"].unique())
    indexed = {
        (str(row["variant"]), int(row["size_bytes"])): row for row in counters.to_dict("records")
    }
    present = [name for name in names if name in set(counters["variant"])]
    header = ["Size"]
    header += [f"syncs/unmap {name}" for name in present]
    header += ["minimum syncs/unmap"]
    header += [f"TLB add-page/unmap {name}" for name in present]
    with_bytes = (
        "bytes_cleaned_per_unmap" in counters and counters["bytes_cleaned_per_unmap"].notna().any()
    )
    if with_bytes:
        header += [f"bytes cleaned/unmap {name}" for name in present]
    rows = []
    for size in sizes:
        at_size = counters[counters["size_bytes"] == size]
        cells = [format_size(size)]
        cells += [_counter(indexed, name, size, "syncs_per_unmap") for name in present]
        cells += [format_count(float(at_size["min_syncs_per_unmap"].min()))]
        cells += [_counter(indexed, name, size, "tlb_add_page_per_unmap") for name in present]
        if with_bytes:
            cells += [_counter(indexed, name, size, "bytes_cleaned_per_unmap") for name in present]
        rows.append(tuple(cells))
    return Table(tuple(header), tuple(rows))


def _counter(
    indexed: dict[tuple[str, int], dict[Hashable, Any]], name: str, size: int, column: str
) -> str:
    row = indexed.get((name, size))
    if row is None or pd.isna(row.get(column)):
        return "n/a"
    return format_count(float(row[column]))
