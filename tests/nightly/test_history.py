"""The history: run folders merged into one SQLite file, idempotently, with what a
series' epochs are keyed by (QEMU, the rig's identity, the toolchain)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from rig import identity, paths
from rig.cli import main
from rig.errors import UserError
from rig.nightly import history
from rig.report import run_reader
from rig.run import plan, provenance, settings

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


def test_a_row_carries_the_rig_identity_and_the_toolchain(tmp_path: Path) -> None:
    # A published run predates rig_identity: its rows say None, and keep the toolchain.
    db = tmp_path / "history.sqlite"
    history.merge(RUNS[:1], db)
    frame = history.read(db)
    toolchain = json.loads((RUNS[0] / "run.json").read_text())["kernel"]["toolchain"]
    assert frame.rig_identity.isna().all() and set(frame.toolchain) == {toolchain}
    # A run that records it carries it into every row.
    newer = tmp_path / "newer-run"
    shutil.copytree(RUNS[1], newer)
    info = json.loads((newer / "run.json").read_text())
    (newer / "run.json").write_text(json.dumps({**info, "rig_identity": "ab" * 32}))
    assert {r["rig_identity"] for r in run_reader.rows_of(newer)} == {"ab" * 32}


def _old_history(path: Path) -> None:
    """A history written before the rig_identity and toolchain columns, with one run."""
    old = {k: v for k, v in history.COLUMNS.items() if k not in ("rig_identity", "toolchain")}
    rows = run_reader.rows_of(RUNS[0])
    with closing(sqlite3.connect(path)) as db, db:
        columns = ", ".join(f"{name} {kind}" for name, kind in old.items())
        db.execute(f"CREATE TABLE measurements ({columns}, PRIMARY KEY ({', '.join(history.KEY)}))")
        db.executemany(
            f"INSERT INTO measurements VALUES ({', '.join('?' * len(old))})",
            [tuple(r[n] for n in old) for r in rows],
        )


def test_a_history_written_before_the_new_columns_reads_and_merges(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    _old_history(db)
    before = db.read_bytes()
    frame = history.read(db)
    assert frame.rig_identity.isna().all() and frame.toolchain.isna().all()
    assert db.read_bytes() == before  # reading never writes
    merged = history.merge(RUNS, db)
    assert merged.already == len(frame) and merged.added == merged.total - len(frame)
    after = history.read(db)
    assert list(after.columns) == list(history.COLUMNS)
    first = after[after.run_id == RUNS[0].name]
    second = after[after.run_id == RUNS[1].name]
    assert first.toolchain.isna().all() and second.toolchain.notna().all()


def test_run_json_records_the_identity_the_history_keys_epochs_by(tmp_path: Path) -> None:
    chosen = settings.load(paths.DEFAULT_BENCH_CONFIG)
    inputs = plan.resolve_inputs(chosen, None, tmp_path, tmp_path / "cache")
    inputs = dataclasses.replace(inputs, qemu=str(tmp_path / "never-built" / "qemu"))
    state = plan.RunState(inputs=inputs, run_id="20261207-000000-test")
    described = provenance.describe(state, {"total": 1.0})
    assert described["rig_identity"] == identity.rig_hash()
    assert described["rig_describe"] == identity.describe() and described["rig_version"]
