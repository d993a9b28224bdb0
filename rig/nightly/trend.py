"""Change points in the history: which run first measured a different latency.

A series is one cell (kernel line x profile), timing mode, variant, metric and size,
over runs in time order; each run's point is the mean of its repeats. Within one tool
epoch (the same QEMU and rig version) PELT (ruptures) proposes breaks. A break is
kept only when the segments on either side differ by at least ``min_change_pct`` and
Welch's t-test on their repeats agrees (p below ``alpha``): icount spreads are well
under 1%, so a bare test would call every wobble significant, and a bare magnitude
would call one noisy run a change. A break followed by one back to the earlier level
is one excursion of the runs between them. A change of QEMU or rig version is not a
break: the series starts a new epoch there, shown as an annotation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import ruptures
from scipy import stats as sps

from rig.errors import UserError

# What one series is, and what a tool epoch within it is.
SERIES = ("cell", "mode", "variant", "metric", "size_bytes")
EPOCH = ("qemu_version", "qemu_source", "rig_version")
# cell, mode, variant, metric, size in bytes
SeriesKey = tuple[str, str, str, str, int]


@dataclass(frozen=True)
class Criteria:
    min_change_pct: float = 3.0
    alpha: float = 0.001


@dataclass(frozen=True)
class Point:
    run_id: str
    created: str
    mean_us: float
    values: tuple[float, ...]
    epoch: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    """A kept break: from ``first_run`` on (through ``last_run`` for an excursion), the
    series measured ``change_pct`` away from the runs before."""

    series: SeriesKey
    first_run: str
    last_run: str | None  # an excursion's last run; None for a lasting shift
    before_us: float
    after_us: float
    p_value: float
    runs_after: int  # later runs in the new level (they confirm it)

    @property
    def change_pct(self) -> float:
        return (self.after_us / self.before_us - 1.0) * 100.0

    @property
    def kind(self) -> str:
        return "regression" if self.after_us > self.before_us else "improvement"

    @property
    def cell(self) -> str:
        return self.series[0]


@dataclass(frozen=True)
class Series:
    key: SeriesKey
    points: list[Point]
    changes: list[Change] = field(default_factory=list)
    # Indices of points that start a new tool epoch.
    epoch_starts: list[int] = field(default_factory=list)


def kernel_line(version: object) -> str:
    """6.1.192 -> 6.1: the kernel a nightly cell follows across stable updates."""
    text = str(version or "unknown")
    return ".".join(text.split(".")[:2])


def with_cells(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["cell"] = [
        f"{kernel_line(v)}-{p}" for v, p in zip(out["kernel_version"], out["profile"], strict=True)
    ]
    return out


def points_of(rows: pd.DataFrame) -> list[Point]:
    points = []
    for (run_id, created), group in rows.groupby(["run_id", "created"], sort=False):
        first = group.iloc[0]
        epoch = tuple(str(first[c]) for c in EPOCH)
        values = tuple(float(v) for v in group.sort_values("repeat")["value_us"])
        points.append(Point(str(run_id), str(created), float(np.mean(values)), values, epoch))
    return sorted(points, key=lambda p: (p.created, p.run_id))


def breaks(means: list[float], criteria: Criteria) -> list[int]:
    """PELT's candidate breaks (indices where a new segment starts) in one epoch,
    on the means relative to their median so the penalty is in relative units."""
    if len(means) < 2:
        return []
    signal = np.array(means) / float(np.median(means)) - 1.0
    penalty = (criteria.min_change_pct / 100.0 / 2.0) ** 2
    ends = ruptures.Pelt(model="l2", min_size=1, jump=1).fit(signal.reshape(-1, 1))
    return [int(i) for i in ends.predict(pen=penalty)[:-1]]


def _pooled(points: list[Point]) -> list[float]:
    return [v for p in points for v in p.values]


def _mean(points: list[Point]) -> float:
    return float(np.mean([p.mean_us for p in points]))


def _kept(before: list[Point], after: list[Point], criteria: Criteria) -> float | None:
    """The t-test's p-value when the break passes both tests, else None."""
    a, b = _mean(before), _mean(after)
    if abs(b / a - 1.0) * 100.0 < criteria.min_change_pct:
        return None
    left, right = _pooled(before), _pooled(after)
    if len(left) < 2 or len(right) < 2:
        return None
    if np.std(left) == 0 and np.std(right) == 0:
        return 0.0  # two constant levels that differ by more than the minimum
    with warnings.catch_warnings():
        # Nearly constant repeats (icount) make scipy warn of lost precision; the
        # magnitude test above is what guards those.
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(sps.ttest_ind(left, right, equal_var=False).pvalue)
    return p if p < criteria.alpha else None


def _epoch_changes(key: SeriesKey, points: list[Point], criteria: Criteria) -> list[Change]:
    cuts = breaks([p.mean_us for p in points], criteria)
    bounds = [0, *cuts, len(points)]
    segments = [points[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
    # Drop the breaks that fail the tests, merging their segments, until all pass.
    changed = True
    while changed and len(segments) > 1:
        changed = False
        for i in range(1, len(segments)):
            if _kept(segments[i - 1], segments[i], criteria) is None:
                segments[i - 1 : i + 1] = [segments[i - 1] + segments[i]]
                changed = True
                break
    changes: list[Change] = []
    i = 1
    while i < len(segments):
        before, after = segments[i - 1], segments[i]
        p = _kept(before, after, criteria) or 0.0
        back = i + 1 < len(segments) and _kept(before, segments[i + 1], criteria) is None
        changes.append(
            Change(
                series=key,
                first_run=after[0].run_id,
                last_run=after[-1].run_id if back else None,
                before_us=_mean(before),
                after_us=_mean(after),
                p_value=p,
                runs_after=0 if back else len(after) - 1,
            )
        )
        i += 2 if back else 1  # an excursion's return is part of the same change
    return changes


def analyse(frame: pd.DataFrame, criteria: Criteria | None = None) -> list[Series]:
    """Every series of the history with its kept changes, epoch by epoch."""
    criteria = criteria or Criteria()
    if criteria.min_change_pct <= 0 or not 0 < criteria.alpha < 1:
        raise UserError(
            f"trend: --min-change {criteria.min_change_pct} must be above 0 and --alpha "
            f"{criteria.alpha} between 0 and 1"
        )
    found = []
    for key, rows in with_cells(frame).groupby(list(SERIES), sort=True):
        typed = (str(key[0]), str(key[1]), str(key[2]), str(key[3]), int(str(key[4])))
        points = points_of(rows)
        starts = [i for i in range(1, len(points)) if points[i].epoch != points[i - 1].epoch]
        changes: list[Change] = []
        for lo, hi in zip([0, *starts], [*starts, len(points)], strict=True):
            changes += _epoch_changes(typed, points[lo:hi], criteria)
        found.append(Series(typed, points, changes, starts))
    return found


def newest_run(series: Series) -> str:
    return series.points[-1].run_id
