"""The report's first lines: per compared variant, what its unmap latencies did and whether
it passed its correctness checks, in one sentence. Pure.

Made from the comparison rows the unmap table shows (verdicts already FAILED where a
correctness check failed) and the run's correctness verdicts, so it can never say
something the tables below it do not.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from rig.report import stats
from rig.run import correctness
from rig.sizes import format_size

METRIC = "unmap"
# The order the verdicts are said in, as in the tables' "Verdicts:" lines: FAILED comes
# from the correctness checks and outranks the statistics.
ORDER = (correctness.FAILED, *stats.VERDICTS)
# Verdicts that claim a change also say how large: the range of their % improvements.
_WITH_CHANGE = {stats.IMPROVED, stats.REGRESSED}
# A run of at least this many neighbouring sizes with one verdict is written as a range.
MIN_RANGE = 3
ALL_PASSED = "every correctness check passed"


def sizes_text(sizes: list[int], neighbours: list[int]) -> str:
    """`sizes` (sorted) as 64K..1M for runs of MIN_RANGE or more sizes that are next to
    each other in `neighbours` (every size compared), the rest one by one: 4K/2M/4M."""
    position = {size: index for index, size in enumerate(neighbours)}
    runs: list[list[int]] = []
    for size in sizes:
        if runs and position[size] == position[runs[-1][-1]] + 1:
            runs[-1].append(size)
        else:
            runs.append([size])
    pieces: list[str] = []
    for run in runs:
        if len(run) >= MIN_RANGE:
            pieces.append(f"{format_size(run[0])}..{format_size(run[-1])}")
        else:
            pieces += [format_size(size) for size in run]
    return "/".join(pieces)


def change_text(changes: list[float]) -> str:
    """The % improvements of one verdict, smallest to largest change: +30.6..+45.6%."""
    ordered = sorted(changes, key=abs)
    low, high = f"{ordered[0]:+.1f}", f"{ordered[-1]:+.1f}"
    return f"{low}%" if low == high else f"{low}..{high}%"


def verdicts_text(rows: pd.DataFrame) -> str:
    """One variant's comparison rows as "64K..1M improved +30.6..+45.6%, 4K/2M/4M no
    significant change"."""
    ordered = rows.sort_values("size_bytes")
    neighbours = [int(size) for size in ordered["size_bytes"]]
    parts = []
    for name in ORDER:
        group = ordered[ordered["verdict"] == name]
        if group.empty:
            continue
        part = f"{sizes_text([int(s) for s in group['size_bytes']], neighbours)} {name}"
        if name in _WITH_CHANGE:
            part += " " + change_text([float(c) for c in group["change_pct"]])
        parts.append(part)
    return ", ".join(parts)


def _failed_checks(found: dict[str, Any]) -> str:
    """The checks behind a verdict that is not a pass, named: " (gates, DMA integrity)"."""
    names = [str(check["name"]) for check in found.get("checks") or [] if not check["passed"]]
    return f" ({', '.join(names)})" if names else ""


def correctness_text(
    variant: str, reference: str, verdicts: dict[str, dict[str, Any]], complete: bool = True
) -> str:
    """Whether the variant and the reference it is compared with passed their checks;
    a failure is named with the checks that failed."""
    if not verdicts:
        return "no correctness checks recorded"
    own, ref = verdicts.get(variant), verdicts.get(reference)
    own_passed = own is not None and own["verdict"] == correctness.PASSED
    ref_passed = ref is not None and ref["verdict"] == correctness.PASSED
    if own_passed and ref_passed:
        return ALL_PASSED if complete else "every correctness check that ran passed"
    if own is None:
        parts = ["no correctness verdict"]
    elif own_passed:
        parts = ["its own correctness checks passed"]
    else:
        parts = [f"correctness {own['verdict']}{_failed_checks(own)}"]
    if reference == variant:
        return parts[0]  # a run of the reference alone: said once
    if ref is None:
        parts.append(f"no correctness verdict for the reference {reference}")
    elif not ref_passed:
        parts.append(f"the reference {reference} {ref['verdict']} correctness{_failed_checks(ref)}")
    return "; ".join(parts)


def lines(
    compared: pd.DataFrame,
    names: list[str],
    verdicts: dict[str, dict[str, Any]],
    complete: bool = True,
) -> list[str]:
    """One line per compared variant, e.g. "final: unmap 64K..1M improved +30.6..+45.6%,
    4K/2M/4M no significant change; every correctness check passed".

    `compared` holds the unmap table's comparison rows, `names` the reference first and
    then the compared variants (summary.variants). A run of the reference alone says so.
    `complete` is False for a run that stopped early: its checks did not all run.
    """
    reference, patched = names[0], names[1:]
    if not patched:
        own = correctness_text(reference, reference, verdicts, complete)
        return [f"{reference} only: no other variant to compare it with; {own}"]
    result = []
    for variant in patched:
        rows = compared[compared["variant"] == variant]
        said = verdicts_text(rows) if not rows.empty else "no size measured by both"
        checks = correctness_text(variant, reference, verdicts, complete)
        result.append(f"{variant}: {METRIC} {said}; {checks}")
    return result
