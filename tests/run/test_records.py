from __future__ import annotations

from pathlib import Path

from rig.run import records
from rig.run.plan import schedule


def test_schedule_interleaves_abba() -> None:
    order = schedule(["baseline", "final"], 3)
    assert order == [
        ("baseline", 1),
        ("final", 1),
        ("final", 2),
        ("baseline", 2),
        ("baseline", 3),
        ("final", 3),
    ]


def test_complete_run_is_renamed_and_latest_points_at_it(tmp_path: Path) -> None:
    first = records.RunDir(tmp_path, "run-1")
    assert first.path.name.startswith(".in-progress-")
    done = first.complete()
    assert done == tmp_path / "run-1"
    assert (tmp_path / "latest").resolve() == done.resolve()


def test_failed_run_is_kept_labelled_and_latest_untouched(tmp_path: Path) -> None:
    records.RunDir(tmp_path, "good").complete()
    failed = records.RunDir(tmp_path, "bad")
    (failed.path / "results.csv").write_text("partial\n")
    kept = failed.abandon("kernel panic during boot 2")
    assert kept == tmp_path / "bad.incomplete"
    assert (kept / "INCOMPLETE").read_text() == "kernel panic during boot 2\n"
    assert (kept / "results.csv").exists()
    assert (tmp_path / "latest").resolve() == (tmp_path / "good").resolve()


def test_two_runs_with_the_same_id_both_survive(tmp_path: Path) -> None:
    first = records.RunDir(tmp_path, "same-second")
    second = records.RunDir(tmp_path, "same-second")
    (first.path / "results.csv").write_text("first\n")
    (second.path / "results.csv").write_text("second\n")
    one, two = first.complete(), second.complete()
    assert one != two
    assert (one / "results.csv").read_text() == "first\n"
    assert (two / "results.csv").read_text() == "second\n"
    assert (tmp_path / "latest").resolve() == two.resolve()
