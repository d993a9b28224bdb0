"""Change points on made-up histories: what is kept, what is one excursion, and what
a tool upgrade is (a new epoch, not a change)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from rig.errors import UserError
from rig.nightly import trend


def _history(
    levels: list[float], qemu: list[str] | None = None, wobble: float = 0.05
) -> pd.DataFrame:
    """One series (6.1 x mmu500, final, unmap, 64K): run i measures levels[i], each of
    two repeats off by +-wobble us."""
    rows: list[dict[str, Any]] = []
    for i, level in enumerate(levels):
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


def test_bad_criteria_are_named() -> None:
    with pytest.raises(UserError, match="--min-change"):
        trend.analyse(_history([40.0, 41.0]), trend.Criteria(min_change_pct=0))
