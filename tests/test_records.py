from __future__ import annotations

from pathlib import Path

from rig import records
from rig.pipeline import schedule


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
