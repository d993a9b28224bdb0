"""Change points on made-up histories: what is kept, what is one excursion, what a
tool upgrade is (a new epoch, not a change), and what a FAILED run is (drawn, not
analysed)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from rig.errors import UserError
from rig.nightly import trend


def _history(
    levels: list[float],
    qemu: list[str] | None = None,
    wobble: float = 0.05,
    **per_run: list[Any],
) -> pd.DataFrame:
    """One series (6.1 x mmu500, final, unmap, 64K): run i measures levels[i], each of
    two repeats off by +-wobble us; ``per_run`` gives a column's value run by run."""
    rows: list[dict[str, Any]] = []
    for i, level in enumerate(levels):
        more = {column: values[i] for column, values in per_run.items()}
        for repeat, sign in ((1, 1), (2, -1)):
            rows.append(
                {
                    "run_id": f"20261201-{i:06d}-mmu500-noncoherent-icount",
                    "created": f"2026-12-01T00:{i:02d}:00+0000",
                    "variant": "final",
                    "metric": "unmap",
                    "size_bytes": 65536,
                    "repeat": repeat,
                    "value_us": level + sign * wobble,
                    "kernel_version": "6.1.192",
                    "profile": "mmu500-noncoherent",
                    "mode": "icount",
                    "qemu_version": (qemu or ["10.2.2"] * len(levels))[i],
                    "qemu_source": "debian",
                    "rig_version": "0.1.0",
                    **more,
                }
            )
    return pd.DataFrame(rows)


def _changes(frame: pd.DataFrame) -> list[trend.Change]:
    (series,) = trend.analyse(frame)
    assert series.key == ("6.1-mmu500-noncoherent", "icount", "final", "unmap", 65536)
    return series.changes


def test_a_steady_series_has_no_change() -> None:
    assert _changes(_history([40.0, 40.1, 39.9, 40.0, 40.1, 40.0])) == []


def test_a_lasting_shift_names_its_first_run_and_the_runs_that_confirm_it() -> None:
    (change,) = _changes(_history([40.0, 40.1, 40.0, 44.0, 44.1, 44.0]))
    assert change.first_run.startswith("20261201-000003")
    assert change.kind == "regression" and change.last_run is None and change.runs_after == 2
    assert change.change_pct == pytest.approx(10.0, abs=0.5)


def test_one_run_away_and_back_is_one_excursion() -> None:
    (change,) = _changes(_history([40.0, 40.1, 45.0, 40.0, 40.1]))
    assert change.first_run.startswith("20261201-000002")
    assert change.last_run == change.first_run


def test_a_change_below_the_minimum_is_not_kept_however_significant() -> None:
    # 1% apart with repeats 0.01 us apart: a t-test alone would call it a change.
    assert _changes(_history([40.0, 40.0, 40.4, 40.4], wobble=0.01)) == []


def test_a_change_within_the_noise_is_not_kept_however_large() -> None:
    assert _changes(_history([40.0, 44.0, 40.0, 44.0], wobble=6.0)) == []


def test_a_qemu_upgrade_starts_an_epoch_instead_of_a_change() -> None:
    frame = _history([40.0, 40.1, 44.0, 44.1], qemu=["10.2.2", "10.2.2", "11.0.0", "11.0.0"])
    (series,) = trend.analyse(frame)
    assert series.changes == [] and series.epoch_starts == [2]


IDENTITY = ["1a2b3c4d" + "0" * 56, "5e6f7a8b" + "0" * 56]
GCC = "aarch64-linux-gnu-gcc (Debian {0}-14) {0}; GNU ld (GNU Binutils for Debian) 2.40"


def test_a_new_rig_identity_starts_an_epoch_named_by_its_hash() -> None:
    frame = _history([40.0, 40.1, 44.0, 44.1], rig_identity=[*IDENTITY[:1] * 2, *IDENTITY[1:] * 2])
    (series,) = trend.analyse(frame)
    assert series.changes == [] and series.epoch_starts == [2]
    before, after = series.points[1].epoch, series.points[2].epoch
    assert trend.epoch_change(before, after) == "rig 5e6f7a8b"


def test_runs_without_an_identity_fall_back_to_the_rig_version() -> None:
    # Older run folders have no rig_identity: the same version is the same epoch, and
    # the first run that records an identity starts one.
    frame = _history([40.0, 40.1, 40.0, 40.1], rig_identity=[None, None, None, IDENTITY[0]])
    (series,) = trend.analyse(frame)
    assert series.epoch_starts == [3]
    assert trend.epoch_change(series.points[2].epoch, series.points[3].epoch) == "rig 1a2b3c4d"
    no_column = _history([40.0, 40.1])  # a frame without the column at all
    assert trend.analyse(no_column)[0].points[0].epoch[2] == "0.1.0"


def test_a_new_toolchain_starts_an_epoch_and_a_new_qemu_is_named_by_its_version() -> None:
    frame = _history(
        [40.0, 40.1, 44.0, 44.1],
        qemu=["QEMU emulator version 10.2.2"] * 2 + ["QEMU emulator version 10.2.3"] * 2,
        toolchain=[GCC.format("12.2.0")] * 3 + [GCC.format("14.2.0")],
        qemu_source=["debian 10.2.2"] * 2 + ["debian 10.2.3"] * 2,
    )
    (series,) = trend.analyse(frame)
    assert series.changes == [] and series.epoch_starts == [2, 3]
    said = [trend.epoch_change(series.points[i - 1].epoch, series.points[i].epoch) for i in (2, 3)]
    assert said == ["QEMU 10.2.3", "toolchain 14.2.0"]


def test_a_failed_run_is_kept_in_the_series_but_out_of_the_statistics() -> None:
    # Run 3 is 20% slower but its variant FAILED: no change, and it is still drawn.
    correctness = ["passed"] * 3 + ["FAILED"] + ["passed"] * 2
    (series,) = trend.analyse(
        _history([40.0, 40.1, 40.0, 48.0, 40.1, 40.0], correctness=correctness)
    )
    assert series.changes == []
    assert [p.failed for p in series.points] == [c == "FAILED" for c in correctness]
    assert [p.run_id for p in series.failed] == [series.points[3].run_id]


def test_a_failed_run_does_not_hide_a_change_after_it() -> None:
    correctness = ["passed"] * 3 + ["FAILED"] + ["passed"] * 3
    frame = _history([40.0, 40.1, 40.0, 60.0, 44.0, 44.1, 44.0], correctness=correctness)
    (change,) = _changes(frame)
    assert change.first_run.startswith("20261201-000004") and change.runs_after == 2
    assert change.change_pct == pytest.approx(10.0, abs=0.5)


def _points(means: list[float], spread: float) -> list[trend.Point]:
    return [
        trend.Point(f"run{i}", f"2026-12-01T{i:02d}", m, (m - spread, m + spread), ())
        for i, m in enumerate(means)
    ]


def test_the_penalty_follows_the_noise_and_never_drops_below_the_minimum_change() -> None:
    criteria = trend.Criteria()
    floor = (criteria.min_change_pct / 100 / 2) ** 2
    quiet = _points([40.0] * 8, 0.0)  # icount: identical repeats
    assert trend.noise(quiet, criteria) == trend.NOISE_FLOOR
    assert trend.penalty(quiet, criteria) == floor
    # 2 repeats 4 us apart at 40 us: each repeat has sd 2.83 us, a run's mean 2 us (5%).
    noisy = _points([40.0] * 8, 2.0)
    assert trend.noise(noisy, criteria) == pytest.approx(0.05)
    assert trend.penalty(noisy, criteria) == pytest.approx(2.0 * 0.05**2 * np.log(8))
    # Runs that wander more than their repeats: the successive differences say so.
    wandering = _points([40.0, 40.8, 39.6, 40.4, 39.8, 40.6, 40.2, 39.4], 0.0)
    assert trend.noise(wandering, criteria) == pytest.approx(1.4826 * 0.8 / 40.1 / np.sqrt(2))


def test_runs_that_only_alternate_are_not_changes_however_exact_their_repeats() -> None:
    # Every level is one run: nothing says how far runs wander beyond their repeats.
    assert _changes(_history([40.0, 44.0] * 4, wobble=0.0)) == []


def test_an_excursion_and_a_new_step_in_six_runs_are_both_found() -> None:
    # Three of the five differences are changes: they must not be taken for noise.
    first, second = _changes(_history([18.6, 18.6, 23.6, 18.6, 18.6, 23.6], wobble=0.0))
    assert first.first_run == first.last_run and first.first_run.startswith("20261201-000002")
    assert second.first_run.startswith("20261201-000005") and second.last_run is None
    assert second.runs_after == 0 and second.kind == "regression"


def test_the_p_value_pays_for_where_the_break_was_chosen() -> None:
    """The same t (3.5, one run's mean known to 1% with 20 df) is less surprising the
    more places the break could have been: more than the naive p of one fixed place,
    at most Bonferroni's bound over the places."""
    noise, t = trend.Spread(variance=0.01**2, df=20), 3.5
    one_place = 2 * float(sps.t.sf(t, 20))
    alone = trend.p_value(
        _points([40.0], 0), _points([40.0 + 40 * t * 0.01 * 2**0.5], 0), noise, 40.0
    )
    jump = 40 * t * 0.01 * (1 / 6 + 1) ** 0.5
    among_6 = trend.p_value(_points([40.0] * 6, 0), _points([40.0 + jump], 0), noise, 40.0)
    assert alone == pytest.approx(one_place, rel=0.05)  # one place: nothing to pay
    assert one_place < among_6 < 6 * one_place


def test_bad_criteria_are_named() -> None:
    with pytest.raises(UserError, match="--min-change"):
        trend.analyse(_history([40.0, 41.0]), trend.Criteria(min_change_pct=0))
