"""How the ends decide what "bad" means, and how each step is marked."""

from __future__ import annotations

import pytest

from rig.bisect.judge import NOT_BUILT, Judge, Measured
from rig.bisect.search import BAD, GOOD, SKIP
from rig.errors import UserError

GOOD_END = Measured(values=(20.0,))
BAD_END = Measured(values=(30.0,))


def icount(good: Measured = GOOD_END, bad: Measured = BAD_END) -> Judge:
    return Judge(good, bad, correctness=False, icount=True)


def test_slower_bad_end_is_bisectable_and_says_by_how_much() -> None:
    said = icount().check_ends("A", "B")
    assert "A 20.0 us, B 30.0 us (+50.0% time)" in said


def test_ends_within_the_threshold_are_refused_by_name() -> None:
    with pytest.raises(UserError) as caught:
        icount(bad=Measured(values=(20.5,))).check_ends("A", "B")
    assert "do not differ by more than the 5% threshold" in caught.value.message
    assert caught.value.exit_code == 2


def test_a_faster_bad_end_is_refused_as_the_other_way() -> None:
    with pytest.raises(UserError, match="differ the other way"):
        icount(bad=Measured(values=(10.0,))).check_ends("A", "B")


def test_an_end_that_does_not_build_is_refused() -> None:
    with pytest.raises(UserError, match="B does not build"):
        icount(bad=Measured(unusable=NOT_BUILT)).check_ends("A", "B")


def test_a_failing_good_end_cannot_be_the_timing_reference() -> None:
    with pytest.raises(UserError, match="bisect the failure with --correctness"):
        icount(good=Measured(values=(20.0,), failed_check="console: WARNING")).check_ends("A", "B")


def test_steps_go_to_the_nearer_end_in_icount() -> None:
    judge = icount()
    assert judge.mark(Measured(values=(21.0,)))[0] == GOOD
    assert judge.mark(Measured(values=(29.0,)))[0] == BAD
    mark, why = judge.mark(Measured(values=(29.0,), failed_check="DMA integrity"))
    assert mark == BAD and "also FAILS DMA integrity" in why


def test_a_step_without_a_measurement_is_skipped() -> None:
    judge = icount()
    assert judge.mark(Measured(unusable=NOT_BUILT)) == (SKIP, NOT_BUILT)
    assert judge.mark(Measured(failed_check="console: Oops"))[0] == SKIP


def test_correctness_mode_looks_for_the_first_failure() -> None:
    judge = Judge(
        Measured(values=(20.0,)),
        Measured(values=(20.0,), failed_check="console: stale translation"),
        correctness=True,
        icount=True,
    )
    assert "FAILS console: stale translation" in judge.check_ends("A", "B")
    assert judge.mark(Measured(values=(20.0,)))[0] == GOOD
    assert judge.mark(Measured(failed_check="DMA integrity"))[0] == BAD
    with pytest.raises(UserError, match="passes every check"):
        Judge(GOOD_END, BAD_END, correctness=True, icount=True).check_ends("A", "B")


def test_wallclock_steps_are_judged_by_the_rigs_statistics() -> None:
    good = Measured(values=(20.0, 20.2, 19.9, 20.1, 20.0))
    bad = Measured(values=(30.0, 30.3, 29.8, 30.1, 30.0))
    judge = Judge(good, bad, correctness=False, icount=False)
    assert "+50" in judge.check_ends("A", "B")
    assert judge.mark(Measured(values=(29.9, 30.2, 30.0, 30.1, 29.9)))[0] == BAD
    assert judge.mark(Measured(values=(20.1, 19.9, 20.0, 20.2, 20.0)))[0] == GOOD
    with pytest.raises(UserError, match="do not differ"):
        Judge(good, Measured(values=(20.1, 20.0, 19.9, 20.2, 20.0)), False, False).check_ends(
            "A", "B"
        )
