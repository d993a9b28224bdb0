"""The history: run folders merged into one SQLite file, idempotently."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rig import paths
from rig.cli import main
from rig.errors import UserError
from rig.nightly import history

RUNS = [
    paths.DEFAULT_RESULTS / "20261125-024623-mmu500-noncoherent-icount",
    paths.DEFAULT_RESULTS / "20261125-024708-smmuv3-noncoherent-icount",
]


def test_merging_the_same_runs_twice_gives_the_same_history(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    first = history.merge(RUNS, db)
    once = history.read(db)
    second = history.merge(RUNS, db)
    assert first.added == first.total == len(once) > 0
    assert second.added == 0 and second.already == first.added
    assert history.read(db).equals(once)


def test_a_row_carries_its_series_keys_and_the_runs_verdicts(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    history.merge(RUNS[:1], db)
    frame = history.read(db)
    # 2 variants x 8 sizes x 3 boots x 2 metrics
    assert len(frame) == 96
    final = frame[(frame.variant == "final") & (frame.metric == "unmap")]
    at_1m = final[final.size_bytes == 1024 * 1024]
    assert set(at_1m.verdict) == {"improved"} and set(at_1m.correctness) == {"passed"}
    assert set(final.qemu_version) == {"QEMU emulator version 10.2.2"}
    assert set(final.kernel_source) == {"linux-source-6.1 6.1.192-2"}
    assert set(final["mode"]) == {"icount"} and set(final.profile) == {"mmu500-noncoherent"}
    # The reference has no verdict of its own.
    assert frame[frame.variant == "baseline"].verdict.isna().all()


def test_a_bad_folder_is_named_and_leaves_the_history_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    history.merge(RUNS[:1], db)
    before = db.read_bytes()
    broken = tmp_path / "broken-run"
    shutil.copytree(RUNS[1], broken)
    (broken / "run.json").unlink()
    with pytest.raises(UserError) as caught:
        history.merge([RUNS[1], broken], db)
    assert str(broken / "run.json") in caught.value.message
    assert db.read_bytes() == before


def test_an_incomplete_run_is_skipped_by_name(tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    shutil.copytree(RUNS[1], partial)
    (partial / "INCOMPLETE").write_text("stopped\n")
    merged = history.merge([RUNS[1], partial], tmp_path / "h.sqlite")
    assert merged.skipped == (str(partial),) and merged.runs == 1


def test_the_merge_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "h.sqlite"
    assert main(["merge", *map(str, RUNS), "--history", str(db)]) == 0
    assert "192 rows added, 0 already there" in capsys.readouterr().out
    assert main(["merge", str(tmp_path / "nope"), "--history", str(db)]) == 2
    assert "no such run folder" in capsys.readouterr().err


def test_a_file_that_is_not_a_history_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not sqlite at all, " * 100)
    with pytest.raises(UserError) as caught:
        history.merge(RUNS[:1], junk)
    assert str(junk) in caught.value.message
