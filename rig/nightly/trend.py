"""Change points in the history: which run first measured a different latency.

A series is one cell (kernel line x profile), timing mode, variant, metric and size,
over runs in time order; each run's point is the mean of its repeats. A run whose
variant FAILED its correctness checks stays in the series (drawn and counted) but out
of every statistic: a wrong kernel's latency says nothing about the code measured.

**Epochs.** A change of QEMU version or source, of the rig's identity
(``rig.identity``: a hash of its code, QEMU model, profiles, config fragments and pins;
the rig version for runs recorded before it) or of the cross toolchain is not a
kernel change: the series starts a new epoch there, and no break is sought across it.

Within an epoch, on the runs that passed:

1. **Noise.** sigma, the standard deviation of one run's mean relative to the epoch's
   median, is the larger of the repeats' pooled within-run variance over the number
   of repeats and 1.4826 x the median absolute successive difference of the means /
   sqrt(2), floored at 0.01% (icount repeats are identical). The differences across
   the breaks of a first PELT pass at the repeats' noise are left out (a step and an
   excursion in six runs are three differences of five: changes, not noise), and the
   rest count from 3 on.
2. **Candidates.** PELT (``ruptures``, l2 cost on the means relative to the median)
   with the BIC-like penalty ``Criteria.penalty * sigma**2 * ln(n)``, never below
   ``(min_change_pct / 2)**2``, the penalty a fixed minimum change needs.
3. **Confirmation.** A candidate at k, between the neighbouring breaks lo and hi (or
   the epoch's ends), is kept when the segments lo..k and k..hi differ by at least
   ``min_change_pct`` (a magnitude floor: a test alone calls every icount wobble a
   change) and p < ``alpha``. With n1 and n2 the runs on either side::

       t = |mean of the run means after k - mean before| / (s * sqrt(1/n1 + 1/n2))

   where s, one run mean's noise, is the larger of the within-run estimate of step 1
   and the spread of the run means about their segments' means, with df the two
   estimates' degrees of freedom together. A break is not kept while every segment is
   one run (the run means then have no spread of their own to compare with). Breaks
   that fail are dropped, weakest first, the others moved to their best place between
   their new neighbours, and all tested again until every one passes.

   **What p means.** p is the chance that, were the n1 + n2 runs between lo and hi at
   one level with independent normal noise, the best split anywhere between them
   (whichever place PELT or any other rule picks) would show a t at least this large:
   ``P(max over the m = n1 + n2 - 1 places of |Z_j| / S >= t)``, with Z_j the split
   statistics at known noise and S**2 a chi2 with df degrees of freedom over df. It is
   computed from 20000 seeded draws of the max (averaged exactly over S) and capped by
   the Bonferroni bound ``m * 2 * P(T_df > t)``, which is p itself when below 1e-4
   (the far tail, where the bound is all but exact and the draws too few). It pays for
   the choice of k between lo and hi; not for the choice of lo and hi (the neighbouring
   breaks, themselves tested the same way). Under per-boot noise s is at least the
   pooled estimate whose t has exactly df degrees of freedom, so p errs on the large
   side; when runs vary more than their repeats, s follows the run means' spread but
   df still counts the repeats', and p is somewhat small. The detection delay and
   false-alarm rate this gives are measured, not only argued:
   ``tests/nightly/simulate_trend.py`` and docs/nightly.md ("How a change is found").
4. **Excursions.** A break followed by one back to the earlier level (the segments
   before the first and after the second do not differ by the same test) is one
   excursion of the runs between them.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import ruptures
from scipy import special
from scipy import stats as sps

from rig.build.source import kernel_label
from rig.errors import UserError
from rig.run.correctness import FAILED
from rig.sizes import format_size

# What one series is, and what a tool epoch within it is.
SERIES = ("cell", "mode", "variant", "metric", "size_bytes")
EPOCH = ("qemu_version", "qemu_source", "rig_identity", "toolchain")
# cell, mode, variant, metric, size in bytes
SeriesKey = tuple[str, str, str, str, int]

# Relative noise below which a series counts as noiseless (icount's identical repeats).
NOISE_FLOOR = 1e-4
# Successive differences of the means (within a first pass's segments) from which
# their median is taken as a noise estimate.
MIN_DIFFERENCES = 3
# Draws (and their seed) of the null distribution of the best split's statistic.
NULL_DRAWS = 20000
NULL_CHUNK = 2000
NULL_SEED = 20261207
# Below this the Bonferroni bound is the p-value (events this rare hardly overlap).
TAIL = 1e-4
# The MAD of a normal sample times this estimates its standard deviation.
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Criteria:
    min_change_pct: float = 3.0
    # The level of the selection-paying p of the module's docstring (far more cautious
    # than a t-test's at one fixed place; 0.01 is what the simulation's bounds need).
    alpha: float = 0.01
    # c in PELT's penalty c * sigma**2 * ln(n) (chosen by tests/nightly/simulate_trend.py).
    penalty: float = 2.0


@dataclass(frozen=True)
class Point:
    run_id: str
    created: str
    mean_us: float
    values: tuple[float, ...]
    epoch: tuple[str, ...]
    # The variant FAILED its correctness checks in this run: drawn, not analysed.
    failed: bool = False
    # The run's kernel source as the history records it ("git URL@BRANCH COMMIT" for a
    # git-tree cell) and its profile: what a bisection between two runs starts from.
    kernel_source: str = ""
    profile: str = ""


@dataclass(frozen=True)
class Change:
    """A kept break: from ``first_run`` on (through ``last_run`` for an excursion), the
    series measured ``change_pct`` away from the runs before."""

    series: SeriesKey
    first_run: str
    last_run: str | None  # an excursion's last run; None for a lasting shift
    before_us: float
    after_us: float
    p_value: float  # the module's docstring says what it means (it pays for the place)
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
    points: list[Point]  # every run, FAILED ones included, in time order
    changes: list[Change] = field(default_factory=list)
    # Indices of points that start a new tool epoch.
    epoch_starts: list[int] = field(default_factory=list)

    @property
    def failed(self) -> list[Point]:
        return [p for p in self.points if p.failed]


@dataclass(frozen=True)
class Spread:
    """The variance of one run's mean, relative to the epoch's median, and the degrees of
    freedom it was estimated with."""

    variance: float
    df: int
    # Of df, those of the run means about their segments' means: with none, every level
    # is one run and nothing says how far runs wander beyond their repeats.
    between_df: int = 0


def kernel_line(version: object) -> str:
    """6.1.192 -> 6.1: the kernel a nightly cell follows across stable updates."""
    text = str(version or "unknown")
    return ".".join(text.split(".")[:2])


def with_cells(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    # A git:URL@BRANCH kernel's runs record its URL and branch: its cell is named by them
    # (two branches of one repository are two cells, as in the matrix).
    sources = out["kernel_source"] if "kernel_source" in out else [None] * len(out)
    out["cell"] = [
        f"{_kernel_part(v, k)}-{p}"
        for v, k, p in zip(out["kernel_version"], sources, out["profile"], strict=True)
    ]
    return out


def _kernel_part(version: object, source: object) -> str:
    found = _git_source(str(source or ""))
    if found is not None and "://" in found[0]:
        url, branch, _ = found
        return kernel_label(f"git:{url}@{branch}")
    return kernel_line(version)


def bisect_command(one: Series, change: Change) -> str | None:
    """The `rig bisect` command between the last run before ``change`` and its first run,
    for a git-tree cell whose two runs measured different commits; None otherwise."""
    at = {p.run_id: i for i, p in enumerate(one.points)}
    index = at.get(change.first_run)
    if not index:
        return None
    before = next((p for p in reversed(one.points[:index]) if not p.failed), None)
    after = one.points[index]
    old = _git_source(before.kernel_source) if before is not None else None
    new = _git_source(after.kernel_source)
    if old is None or new is None or old[2] == new[2]:
        return None
    url, _, good = old
    bad = new[2]
    _, mode, _, metric, size = one.key
    return (
        f"git clone {url} linux && python -m rig bisect --kernel-src linux {good} {bad} "
        f"--metric {metric} --size {format_size(size)} --profile {after.profile} --mode {mode}"
    )


def _git_source(text: str) -> tuple[str, str, str] | None:
    """A history row's kernel source "git URL@BRANCH COMMIT" (as
    run_reader.kernel_source_of writes a git:URL@BRANCH kernel's) -> (URL, BRANCH,
    COMMIT); None for any other source."""
    parts = text.split(" ")
    if len(parts) != 3 or parts[0] != "git" or "@" not in parts[1]:
        return None
    url, _, branch = parts[1].rpartition("@")
    return url, branch, parts[2]


def _text(value: object) -> str:
    """A cell of the history as text; a missing one (None, NaN) as ''."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def epoch_of(row: dict[Hashable, Any]) -> tuple[str, ...]:
    """A run's tool epoch in EPOCH's order; the rig's version stands in for its identity
    in runs recorded before run.json had one."""
    values = {c: _text(row.get(c)) for c in EPOCH}
    values["rig_identity"] = values["rig_identity"] or _text(row.get("rig_version"))
    return tuple(values[c] for c in EPOCH)


def _short(column: str, value: str) -> str:
    if column == "qemu_version":
        return "QEMU " + (value.removeprefix("QEMU emulator version ") or "unknown")
    if column == "qemu_source":
        return "QEMU source " + (value or "unknown")
    if column == "rig_identity":
        return "rig " + (value[:8] if re.fullmatch(r"[0-9a-f]{64}", value) else value or "unknown")
    # aarch64-linux-gnu-gcc (Debian 12.2.0-14) 12.2.0; GNU ld ... -> 12.2.0
    found = re.search(r"\)\s*([\w.+-]+)", value)
    return "toolchain " + (found.group(1) if found else value[:24] or "unknown")


def epoch_change(before: tuple[str, ...], after: tuple[str, ...]) -> str:
    """What a new epoch changed, shortly: 'rig 1a2b3c4d', 'QEMU 10.2.2, toolchain 12.2.0'.
    QEMU's source is named only when its version stayed (it follows the version)."""
    changed = [c for c, b, a in zip(EPOCH, before, after, strict=True) if b != a]
    if "qemu_version" in changed:
        changed = [c for c in changed if c != "qemu_source"]
    return ", ".join(_short(c, after[EPOCH.index(c)]) for c in changed)


def points_of(rows: pd.DataFrame) -> list[Point]:
    """One series' rows as its runs' points, in time order."""
    return _points(rows.to_dict("records"))


def _points(rows: list[dict[Hashable, Any]]) -> list[Point]:
    runs: dict[tuple[str, str], list[dict[Hashable, Any]]] = {}
    for row in sorted(rows, key=lambda r: (str(r["created"]), str(r["run_id"]), r["repeat"])):
        runs.setdefault((str(row["created"]), str(row["run_id"])), []).append(row)
    return [
        Point(
            run_id,
            created,
            float(np.mean([float(r["value_us"]) for r in group])),
            tuple(float(r["value_us"]) for r in group),
            epoch_of(group[0]),
            failed=any(r.get("correctness") == FAILED for r in group),
            kernel_source=_text(group[0].get("kernel_source")),
            profile=_text(group[0].get("profile")),
        )
        for (created, run_id), group in runs.items()
    ]


def _within(points: list[Point], scale: float) -> Spread:
    """The repeats' pooled within-run variance, as the variance of one run's mean."""
    squares, df = 0.0, 0
    for p in points:
        squares += sum((v - p.mean_us) ** 2 for v in p.values) / scale**2
        df += len(p.values) - 1
    if df == 0:
        return Spread(0.0, 0)
    per_mean = float(np.mean([1.0 / len(p.values) for p in points]))
    return Spread(squares / df * per_mean, df)


def _signal(points: list[Point]) -> np.ndarray:
    """The run means relative to their median: PELT's signal, in relative units."""
    means = np.array([p.mean_us for p in points])
    return np.asarray(means / float(np.median(means)) - 1.0)


def _pelt(signal: np.ndarray, variance: float, criteria: Criteria) -> list[int]:
    """PELT's breaks (indices where a new segment starts) at the penalty for ``variance``:
    BIC-like, never below the penalty a break of the minimum change needs."""
    floor = (criteria.min_change_pct / 100.0 / 2.0) ** 2
    pen = max(criteria.penalty * variance * math.log(len(signal)), floor)
    ends = ruptures.Pelt(model="l2", min_size=1, jump=1).fit(signal.reshape(-1, 1))
    return [int(i) for i in ends.predict(pen=pen)[:-1]]


def noise(points: list[Point], criteria: Criteria) -> float:
    """sigma of one run's mean relative to the median (step 1 of the module's docstring):
    the repeats' estimate, or the successive differences' when larger. A difference
    across a break of a first PELT pass (at the repeats' noise) is a change, not noise:
    a step and an excursion in six runs are three differences of five."""
    scale = float(np.median([p.mean_us for p in points]))
    variance = max(_within(points, scale).variance, NOISE_FLOOR**2)
    signal = _signal(points)
    cuts = set(_pelt(signal, variance, criteria)) if len(points) > 1 else set()
    steps = [abs(float(d)) for i, d in enumerate(np.diff(signal), 1) if i not in cuts]
    if len(steps) >= MIN_DIFFERENCES:
        variance = max(variance, (MAD_TO_SIGMA * float(np.median(steps)) / math.sqrt(2)) ** 2)
    return math.sqrt(variance)


def penalty(points: list[Point], criteria: Criteria) -> float:
    """PELT's penalty in squared relative units: BIC-like on the noise, never below the
    penalty a break of the minimum change needs."""
    floor = (criteria.min_change_pct / 100.0 / 2.0) ** 2
    return max(criteria.penalty * noise(points, criteria) ** 2 * math.log(len(points)), floor)


def breaks(points: list[Point], criteria: Criteria) -> list[int]:
    """PELT's candidate breaks (indices where a new segment starts) in one epoch, at the
    penalty for the epoch's noise."""
    if len(points) < 2:
        return []
    return _pelt(_signal(points), noise(points, criteria) ** 2, criteria)


def _mean(points: list[Point]) -> float:
    return float(np.mean([p.mean_us for p in points]))


def _spread(segments: list[list[Point]], scale: float) -> Spread:
    """The test's variance of one run's mean: the larger of the repeats' estimate and the
    run means' spread about their segments' means, with both estimates' df."""
    within = _within([p for s in segments for p in s], scale)
    squares = sum(
        float(((np.array([p.mean_us for p in s]) / scale - _mean(s) / scale) ** 2).sum())
        for s in segments
    )
    df = sum(len(s) for s in segments) - len(segments)
    between = squares / df if df else 0.0
    return Spread(max(within.variance, between, NOISE_FLOOR**2), within.df + df, df)


@functools.cache
def _max_split_null(n: int) -> np.ndarray:
    """Draws of max over the n - 1 splits of |difference of the sides' means| /
    sqrt(1/n1 + 1/n2) for n runs at one level with unit noise (seeded: reproducible;
    drawn in chunks so a long epoch does not hold draws x runs numbers at once)."""
    rng = np.random.default_rng(NULL_SEED)
    sizes = np.arange(1, n)
    scale = np.sqrt(1.0 / sizes + 1.0 / (n - sizes))
    chunks = []
    for _ in range(NULL_DRAWS // NULL_CHUNK):
        sums = np.cumsum(rng.standard_normal((NULL_CHUNK, n)), axis=1)
        left = sums[:, :-1] / sizes
        right = (sums[:, -1:] - sums[:, :-1]) / (n - sizes)
        chunks.append((np.abs(right - left) / scale).max(axis=1))
    return np.concatenate(chunks)


def p_value(before: list[Point], after: list[Point], noise_: Spread, scale: float) -> float:
    """The chance of the module's docstring for a break between ``before`` and ``after``:
    of the best split anywhere between their ends looking at least this different."""
    n1, n2 = len(before), len(after)
    t = abs(_mean(after) - _mean(before)) / scale / math.sqrt(noise_.variance * (1 / n1 + 1 / n2))
    if noise_.df == 0 or t == 0:
        return 1.0
    bound = (n1 + n2 - 1) * 2.0 * float(sps.t.sf(t, noise_.df))
    if bound < TAIL:
        return bound  # far in the tail the bound is all but exact, and the draws too few
    # max|Z| / S >= t  <=>  chi2_df <= df * (max|Z| / t)**2, averaged over the draws of max|Z|.
    # (chi2_df's distribution function, as the regularised lower incomplete gamma)
    drawn = special.gammainc(noise_.df / 2, noise_.df * (_max_split_null(n1 + n2) / t) ** 2 / 2)
    return min(1.0, bound, float(np.mean(drawn)))


def _score(
    before: list[Point], after: list[Point], noise_: Spread, scale: float, criteria: Criteria
) -> float:
    """The break's p-value, or infinity when it is under the minimum change or no level
    has two runs (see Spread): kept when below alpha, and the largest is the weakest."""
    a, b = _mean(before), _mean(after)
    if abs(b / a - 1.0) * 100.0 < criteria.min_change_pct or noise_.between_df == 0:
        return math.inf
    return p_value(before, after, noise_, scale)


def _split_scores(means: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """For each break lo+1..hi-1 in means[lo:hi], |difference of the two sides' means| /
    sqrt(1/n1 + 1/n2): the larger, the smaller the two levels' squared error."""
    n = hi - lo
    sizes = np.arange(1, n)
    sums = np.cumsum(means[lo:hi])
    left = sums[:-1] / sizes
    right = (sums[-1] - sums[:-1]) / (n - sizes)
    return np.asarray(np.abs(right - left) / np.sqrt(1.0 / sizes + 1.0 / (n - sizes)))


def _placed(cuts: list[int], means: np.ndarray) -> list[int]:
    """Each break moved to where it best splits the runs between its neighbours, until
    none moves (after a neighbour was dropped, PELT's place for it need not be best).
    Every move lowers the squared error, so this ends; the test pays for any place."""
    cuts = list(cuts)
    for _ in range(len(means)):
        moved = False
        for i in range(len(cuts)):
            lo = cuts[i - 1] if i else 0
            hi = cuts[i + 1] if i + 1 < len(cuts) else len(means)
            scores = _split_scores(means, lo, hi)
            best = lo + 1 + int(np.argmax(scores))
            if scores[best - lo - 1] > scores[cuts[i] - lo - 1] * (1 + 1e-12):
                cuts[i], moved = best, True
        if not moved:
            break
    return cuts


def _segments(points: list[Point], cuts: list[int]) -> list[list[Point]]:
    bounds = [0, *cuts, len(points)]
    return [points[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]


def _confirmed(points: list[Point], scale: float, criteria: Criteria) -> list[list[Point]]:
    """PELT's candidates, the weakest failing one dropped and the rest placed again,
    until every break passes."""
    means = np.array([p.mean_us for p in points]) / scale
    cuts = breaks(points, criteria)
    while cuts:
        segments = _segments(points, cuts)
        noise_ = _spread(segments, scale)
        scores = [
            _score(segments[i - 1], segments[i], noise_, scale, criteria)
            for i in range(1, len(segments))
        ]
        weakest = int(np.argmax(scores))
        if scores[weakest] < criteria.alpha:
            break
        cuts = _placed(cuts[:weakest] + cuts[weakest + 1 :], means)
    return _segments(points, cuts)


def _epoch_changes(key: SeriesKey, points: list[Point], criteria: Criteria) -> list[Change]:
    """The kept changes of one epoch's runs that passed (steps 1 to 4 of the docstring)."""
    if len(points) < 2:
        return []
    scale = float(np.median([p.mean_us for p in points]))
    segments = _confirmed(points, scale, criteria)
    noise_ = _spread(segments, scale)
    changes: list[Change] = []
    i = 1
    while i < len(segments):
        before, after = segments[i - 1], segments[i]
        back = (
            i + 1 < len(segments)
            and _score(before, segments[i + 1], noise_, scale, criteria) >= criteria.alpha
        )
        changes.append(
            Change(
                series=key,
                first_run=after[0].run_id,
                last_run=after[-1].run_id if back else None,
                before_us=_mean(before),
                after_us=_mean(after),
                p_value=p_value(before, after, noise_, scale),
                runs_after=0 if back else len(after) - 1,
            )
        )
        i += 2 if back else 1  # an excursion's return is part of the same change
    return changes


def analyse(frame: pd.DataFrame, criteria: Criteria | None = None) -> list[Series]:
    """Every series of the history with its kept changes, epoch by epoch."""
    criteria = criteria or Criteria()
    if criteria.min_change_pct <= 0 or not 0 < criteria.alpha < 1 or criteria.penalty <= 0:
        raise UserError(
            f"trend: --min-change {criteria.min_change_pct} must be above 0, --alpha "
            f"{criteria.alpha} between 0 and 1 and the penalty {criteria.penalty} above 0"
        )
    by_series: dict[SeriesKey, list[dict[Hashable, Any]]] = {}
    for row in with_cells(frame).to_dict("records"):
        cell, mode, variant, metric = (str(row[c]) for c in SERIES[:4])
        by_series.setdefault((cell, mode, variant, metric, int(row["size_bytes"])), []).append(row)
    found = []
    for key, rows in sorted(by_series.items()):
        points = _points(rows)
        starts = [i for i in range(1, len(points)) if points[i].epoch != points[i - 1].epoch]
        changes: list[Change] = []
        for lo, hi in zip([0, *starts], [*starts, len(points)], strict=True):
            passed = [p for p in points[lo:hi] if not p.failed]
            changes += _epoch_changes(key, passed, criteria)
        found.append(Series(key, points, changes, starts))
    return found


def newest_run(series: Series) -> str:
    return series.points[-1].run_id
