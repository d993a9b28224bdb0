"""Is a commit good or bad? The ends decide what "bad" means, then each step is judged
against them: by the nearer end in icount mode (one boot repeats to the printed digit),
by the rig's own statistics in wallclock mode (rig.report.stats, as a run's verdicts).
Pure: measurements in, marks and reasons out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rig.bisect.search import BAD, GOOD, SKIP
from rig.errors import UserError
from rig.report import stats

# How a step that did not give a measurement ends up.
NOT_BUILT = "does not build"
NOT_BOOTED = "does not boot"


@dataclass(frozen=True)
class Measured:
    """One commit's outcome: its latencies (us, one per boot) and the correctness check
    it failed, if any; ``unusable`` says why it has neither (does not build or boot)."""

    values: tuple[float, ...] = ()
    failed_check: str | None = None
    unusable: str | None = None

    @property
    def median(self) -> float:
        return float(np.median(self.values))


@dataclass(frozen=True)
class Judge:
    """Marks steps by the ends' measurements."""

    good: Measured
    bad: Measured
    correctness: bool
    icount: bool
    threshold_pct: float = stats.DEFAULT_THRESHOLD_PCT

    def check_ends(self, good_name: str, bad_name: str) -> str:
        """What separates the ends, in words; a UserError when nothing does, or when
        they differ the other way."""
        for name, end in ((good_name, self.good), (bad_name, self.bad)):
            if end.unusable:
                raise UserError(f"{name} {end.unusable}: a bisection needs both ends measured")
        if self.correctness:
            if self.good.failed_check:
                raise UserError(
                    f"{good_name} (good) FAILS {self.good.failed_check}: with --correctness "
                    "the good end must pass every check"
                )
            if not self.bad.failed_check:
                raise UserError(
                    f"{bad_name} (bad) passes every check: nothing to bisect with --correctness"
                )
            return f"{good_name} passes every check, {bad_name} FAILS {self.bad.failed_check}"
        if self.good.failed_check:
            raise UserError(
                f"{good_name} (good) FAILS {self.good.failed_check}, so its timing cannot be "
                "the reference; bisect the failure with --correctness"
            )
        change = stats.change_pct(self.good.median, self.bad.median)
        verdict = self._verdict(self.good, self.bad)
        said = (
            f"{good_name} {self.good.median:.1f} us, {bad_name} {self.bad.median:.1f} us "
            f"({-change:+.1f}% time)"
        )
        if verdict == stats.REGRESSED:
            return said
        if verdict == stats.IMPROVED:
            raise UserError(
                f"the ends differ the other way: {said}; the bad end is faster, so there is "
                "no slowdown to find (give the ends the other way round to find the speed-up)"
            )
        raise UserError(
            f"the ends do not differ by more than the {self.threshold_pct:g}% threshold: "
            f"{said} ({verdict}); nothing to bisect"
        )

    def mark(self, step: Measured) -> tuple[str, str]:
        """The step's mark and why."""
        if step.unusable:
            return SKIP, step.unusable
        if self.correctness:
            if step.failed_check:
                return BAD, f"FAILS {step.failed_check}"
            return GOOD, "passes every check"
        if not step.values:
            return SKIP, f"FAILS {step.failed_check} before it was measured"
        also = f"; also FAILS {step.failed_check}" if step.failed_check else ""
        change = -stats.change_pct(self.good.median, step.median)
        said = f"{step.median:.1f} us ({change:+.1f}% time vs good)"
        if self.icount:
            mark = self._nearer(step)
            return mark, f"{said}, nearer the {mark} end{also}"
        verdict = self._verdict(self.good, step)
        if verdict == stats.REGRESSED:
            return BAD, f"{said}: {verdict} vs good{also}"
        if verdict == stats.NO_CHANGE:
            return GOOD, f"{said}: {verdict} vs good{also}"
        mark = self._nearer(step)
        return mark, f"{said}: {verdict} vs good, so by the nearer median: {mark}{also}"

    def _nearer(self, step: Measured) -> str:
        """BAD when the step's median is nearer the bad end's, GOOD otherwise."""
        to_bad = abs(step.median - self.bad.median)
        return BAD if to_bad < abs(step.median - self.good.median) else GOOD

    def _verdict(self, reference: Measured, other: Measured) -> str:
        """The rig's verdict for ``other`` against ``reference``. One icount boot each has
        no interval: its single values are compared with the threshold directly."""
        change = stats.change_pct(reference.median, other.median)
        if self.icount:
            if change < -self.threshold_pct:
                return stats.REGRESSED
            if change > self.threshold_pct:
                return stats.IMPROVED
            return stats.NO_CHANGE
        criteria = stats.Criteria(threshold_pct=self.threshold_pct)
        cell = stats.compare_one(np.array(reference.values), np.array(other.values), criteria)
        return str(cell["verdict"])
