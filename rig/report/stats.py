"""Is a difference between two variants a result? Medians, bootstrap CIs, verdicts. Pure.

The unit of replication is the boot: dma_map_benchmark's own per-call average is one
number per boot and size, so every interval and test here works over boots.
docs/how-a-number-is-made.md ("Statistics") explains the verdict rule and why it is built this way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from rig.build.patches import BASELINE
from rig.sizes import format_size

DEFAULT_THRESHOLD_PCT = 5.0
RESAMPLES = 10_000
# Fixed so that rebuilding a report from the same results.csv prints the same intervals.
SEED = 20240524
CONFIDENCE = 0.95
# Exhaustive permutation p-values above this many splits get slow; beyond it both groups
# are large enough (about 9 boots each) for the normal approximation.
MAX_EXACT_SPLITS = 20_000
# Boot counts the warning will still suggest; beyond it more boots is not the fix.
MAX_SUGGESTED_REPEAT = 25

IMPROVED = "improved"
REGRESSED = "regressed"
NO_CHANGE = "no significant change"
INCONCLUSIVE = "inconclusive"
VERDICTS = (IMPROVED, REGRESSED, NO_CHANGE, INCONCLUSIVE)

COMPARISON_COLUMNS = (
    "variant",
    "metric",
    "size_bytes",
    "baseline_median",
    "patched_median",
    "change_pct",
    "ci_low_pct",
    "ci_high_pct",
    "p_value",
    "verdict",
    "baseline_boots",
    "patched_boots",
)

# Expected range of n normal samples in standard deviations (the d2 constant of
# control charts), to turn an observed spread into a noise estimate.
_RANGE_IN_SIGMAS = {
    2: 1.128,
    3: 1.693,
    4: 2.059,
    5: 2.326,
    6: 2.534,
    7: 2.704,
    8: 2.847,
    9: 2.970,
    10: 3.078,
}


@dataclass(frozen=True)
class Criteria:
    """How comparisons are judged; the defaults are what every report uses unless told."""

    threshold_pct: float = DEFAULT_THRESHOLD_PCT
    resamples: int = RESAMPLES
    seed: int = SEED
    confidence: float = CONFIDENCE


DEFAULT_CRITERIA = Criteria()


def change_pct(baseline: float, patched: float) -> float:
    """The seed's convention: positive means the patched kernel is faster."""
    return (baseline - patched) / baseline * 100.0


def spread_pct(values: np.ndarray) -> float:
    """(max - min) / median over boots, in percent."""
    return float((values.max() - values.min()) / np.median(values) * 100.0)


def bootstrap_ci(
    baseline: np.ndarray, patched: np.ndarray, criteria: Criteria = DEFAULT_CRITERIA
) -> tuple[float, float]:
    """Percentile interval of the median-based % change, resampling each variant's boots.

    A fresh generator per call keeps each interval independent of how many others were
    computed before it, so a report is reproducible cell by cell.
    """
    if len(baseline) < 2 or len(patched) < 2:
        return (math.nan, math.nan)
    rng = np.random.default_rng(criteria.seed)
    base_idx = rng.integers(0, len(baseline), size=(criteria.resamples, len(baseline)))
    patch_idx = rng.integers(0, len(patched), size=(criteria.resamples, len(patched)))
    base_medians = np.median(baseline[base_idx], axis=1)
    patch_medians = np.median(patched[patch_idx], axis=1)
    changes = (base_medians - patch_medians) / base_medians * 100.0
    tail = (1.0 - criteria.confidence) / 2.0 * 100.0
    low, high = np.percentile(changes, [tail, 100.0 - tail])
    return (float(low), float(high))


def smallest_p(boots_a: int, boots_b: int) -> float:
    """The lowest two-sided exact Mann-Whitney p two groups of this size can reach: both
    complete separations out of all ways to split the pooled boots."""
    return min(1.0, 2.0 / math.comb(boots_a + boots_b, boots_a))


def mann_whitney_p(baseline: np.ndarray, patched: np.ndarray) -> float:
    """Two-sided Mann-Whitney U p-value, exact wherever the sample is small.

    Equal boots are the norm under icount, and scipy's default switches to the normal
    approximation on ties, which for 3 against 3 boots claims p < 0.05 where the exact
    permutation answer is 0.1; so ties get the exhaustive permutation test instead.
    """
    pooled = np.concatenate([baseline, patched])
    if np.unique(pooled).size == 1:
        return 1.0  # every boot of both variants identical: nothing to rank
    splits = math.comb(len(baseline) + len(patched), len(baseline))
    has_ties = np.unique(pooled).size < pooled.size
    method: str | sps.PermutationMethod
    if not has_ties:
        method = "exact" if splits <= MAX_EXACT_SPLITS else "asymptotic"
    elif splits <= MAX_EXACT_SPLITS:
        method = sps.PermutationMethod(n_resamples=np.inf)
    else:
        method = "asymptotic"
    result = sps.mannwhitneyu(baseline, patched, alternative="two-sided", method=method)
    return float(min(1.0, result.pvalue))


def verdict(change: float, ci_low: float, ci_high: float, threshold_pct: float) -> str:
    """Improved/regressed need a CI clear of 0 and a median change beyond the threshold;
    no significant change needs the whole CI inside +-threshold; anything else is
    inconclusive (the data cannot tell a relevant change from none)."""
    if math.isnan(ci_low) or math.isnan(ci_high):
        return INCONCLUSIVE
    if ci_low > 0.0 and change > threshold_pct:
        return IMPROVED
    if ci_high < 0.0 and change < -threshold_pct:
        return REGRESSED
    if -threshold_pct <= ci_low and ci_high <= threshold_pct:
        return NO_CHANGE
    return INCONCLUSIVE


def boots_needed(spread: float, boots: int, threshold_pct: float) -> int:
    """Boots per variant for a 95% CI half-width of about the threshold, given a spread.

    The noise (sigma) is estimated from the spread with the expected range of `boots`
    normal samples; the median's standard error is about 1.2533 sigma / sqrt(n), and the
    % change takes the error of two medians, so the half-width is about
    1.96 * sqrt(2) * 1.2533 * sigma / sqrt(n), i.e. 3.47 sigma / sqrt(n).
    """
    sigma = spread / _RANGE_IN_SIGMAS.get(boots, _RANGE_IN_SIGMAS[10])
    wanted = math.ceil((3.47 * sigma / threshold_pct) ** 2)
    return max(wanted, boots + 2, 3)


def _boot_values(frame: pd.DataFrame, variant: str, size: int, column: str) -> np.ndarray:
    rows = frame[(frame["variant"] == variant) & (frame["size_bytes"] == size)]
    return rows[column].to_numpy(dtype=float)


def compare_one(
    baseline: np.ndarray, patched: np.ndarray, criteria: Criteria = DEFAULT_CRITERIA
) -> dict[str, float | str]:
    """Every number for one (variant, metric, size) cell."""
    change = change_pct(float(np.median(baseline)), float(np.median(patched)))
    low, high = bootstrap_ci(baseline, patched, criteria)
    return {
        "baseline_median": float(np.median(baseline)),
        "patched_median": float(np.median(patched)),
        "change_pct": change,
        "ci_low_pct": low,
        "ci_high_pct": high,
        "p_value": mann_whitney_p(baseline, patched),
        "verdict": verdict(change, low, high, criteria.threshold_pct),
        "baseline_boots": len(baseline),
        "patched_boots": len(patched),
    }


# A frame may mark its reference variant (what every other is compared against) in this
# column; without it the reference is the baseline. A revert run marks the revert: the
# change's effect is then measured from the code without it, as in the seed's tables.
REFERENCE_COLUMN = "reference"


def reference(frame: pd.DataFrame) -> str:
    if REFERENCE_COLUMN in frame and frame[REFERENCE_COLUMN].any():
        marked = set(frame.loc[frame[REFERENCE_COLUMN].astype(bool), "variant"])
        if len(marked) == 1:
            return str(marked.pop())
    return BASELINE


def compare(
    frame: pd.DataFrame, metrics: tuple[str, ...], criteria: Criteria = DEFAULT_CRITERIA
) -> pd.DataFrame:
    """One row per compared variant x metric x size, columns as in COMPARISON_COLUMNS;
    each variant is compared against the frame's reference (see ``reference``)."""
    ref = reference(frame)
    patched_names = [v for v in dict.fromkeys(frame["variant"]) if v != ref]
    sizes = sorted(int(s) for s in frame["size_bytes"].unique())
    rows: list[dict[str, float | str]] = []
    for variant in patched_names:
        for metric in metrics:
            column = f"{metric}_us"
            for size in sizes:
                base = _boot_values(frame, ref, size, column)
                patch = _boot_values(frame, variant, size, column)
                if base.size == 0 or patch.size == 0:
                    continue  # a size only one variant ran has nothing to compare
                cell = compare_one(base, patch, criteria)
                rows.append({"variant": variant, "metric": metric, "size_bytes": size, **cell})
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def noise_warnings(
    frame: pd.DataFrame,
    comparisons: pd.DataFrame,
    metric: str,
    criteria: Criteria = DEFAULT_CRITERIA,
) -> list[str]:
    """One sentence per variant whose boots are too noisy for the threshold, with a fix.

    A variant is flagged at the sizes where its spread exceeds the threshold (its own boots
    disagree by more than the change the verdict is about), and a patched variant also
    where the CI is wider than twice the threshold (then no verdict but "inconclusive"
    can fit inside it). The suggested boot count comes from the worst of those sizes.
    """
    threshold = criteria.threshold_pct
    column = f"{metric}_us"
    ref = reference(frame)
    flagged: dict[str, list[tuple[int, str, float, int]]] = {}
    for (variant, size), group in frame.groupby(["variant", "size_bytes"], sort=True):
        values = group[column].to_numpy(dtype=float)
        name, size_bytes = str(variant), int(str(size))
        if len(values) < 2:
            flagged.setdefault(name, []).append((size_bytes, "a single boot", 0.0, 1))
            continue
        spread = spread_pct(values)
        if spread > threshold:
            flagged.setdefault(name, []).append(
                (size_bytes, f"spread {spread:.1f}%", spread, len(values))
            )
    rows = comparisons[comparisons["metric"] == metric]
    for row in rows.to_dict("records"):
        width = float(row["ci_high_pct"]) - float(row["ci_low_pct"])
        name, size_bytes = str(row["variant"]), int(row["size_bytes"])
        already = {entry[0] for entry in flagged.get(name, [])}
        if width > 2 * threshold and size_bytes not in already:
            spread = max(
                spread_pct(_boot_values(frame, ref, size_bytes, column)),
                spread_pct(_boot_values(frame, name, size_bytes, column)),
            )
            boots = min(int(row["baseline_boots"]), int(row["patched_boots"]))
            flagged.setdefault(name, []).append(
                (size_bytes, f"CI {width:.1f} points wide", spread, boots)
            )
    warnings = []
    for name, entries in flagged.items():
        entries.sort()
        single = [format_size(size) for size, _, _, boots in entries if boots < 2]
        if single:
            warnings.append(
                f"{name} has a single boot at {', '.join(single)}: no spread, no interval and "
                "no verdict; use --repeat 3 or more"
            )
        noisy = [entry for entry in entries if entry[3] >= 2]
        if noisy:
            where = ", ".join(f"{format_size(size)} ({what})" for size, what, _, _ in noisy)
            _, _, spread, boots = max(noisy, key=lambda entry: entry[2])
            warnings.append(
                f"{name} is too noisy for the {threshold:g}% threshold at {where}; "
                + _suggestion(spread, boots, threshold)
            )
    return warnings


def _suggestion(spread: float, boots: int, threshold: float) -> str:
    needed = boots_needed(spread, boots, threshold)
    if needed > MAX_SUGGESTED_REPEAT:
        return (
            f"about {needed} boots per variant would be needed, so reduce the noise instead "
            "(icount mode, an idle host) or judge with a larger --threshold"
        )
    return f"use --repeat {needed}"
