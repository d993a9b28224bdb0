"""The nightly trend end to end: runs of one matrix cell, one of them carrying a patch
that adds 5 us of work to every unmap; the trend flags that run and no other. Then a
newest run with the same patch is a regression only until the cell runs again
(--confirm), and the re-run, without it, drops it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rig import paths
from rig.cli import main

pytestmark = pytest.mark.e2e

CELL = "6.1-mmu500-noncoherent"
SLOW = paths.REPO / "tests" / "data" / "patches" / "slow-unmap.patch"


def _runs(out: Path) -> set[Path]:
    return {p for p in out.iterdir() if (p / "run.json").is_file() and not p.is_symlink()}


def _cell_run(out: Path) -> Path:
    before = _runs(out)
    assert main(["matrix", "--cell", CELL, "--out", str(out), "--quiet"]) == 0
    (run,) = _runs(out) - before
    return run


def _slow_run(out: Path) -> Path:
    """The cell's run, its `final` carrying the extra unmap work under the same label."""
    before = _runs(out)
    sweep = ["--sizes", "4K,64K,1M", "--repeat", "2", "--patch", f"final=final+{SLOW}"]
    assert main(["bench", *sweep, "--out", str(out), "--quiet"]) == 0
    (run,) = _runs(out) - before
    return run


def _trend(history: Path, out: Path, capsys: pytest.CaptureFixture[str], *more: str) -> str:
    capsys.readouterr()
    assert main(["trend", "--history", str(history), "--out", str(out), *more]) == 0
    return capsys.readouterr().out


def test_the_trend_flags_the_run_with_more_unmap_work_and_no_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, history = tmp_path / "results", tmp_path / "history.sqlite"
    out.mkdir()
    runs = [_cell_run(out), _cell_run(out), _slow_run(out), _cell_run(out), _cell_run(out)]
    assert main(["merge", *map(str, runs), "--history", str(history)]) == 0
    text = _trend(history, tmp_path / "trend", capsys)
    flagged = [line for line in text.splitlines() if line.startswith(f"| {CELL} |")]
    assert flagged, text
    slow = runs[2].name
    for line in flagged:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[2:4] == ["final", "unmap"] and "regression" in cells[5], line
        assert cells[6] == slow and cells[7] == slow, line  # an excursion of that run only
    assert any(f"| {CELL} | icount | final | unmap | 4K |" in line for line in flagged)
    for name in (f"trend-{CELL}.png", "trend.html", "trend.md"):
        assert (tmp_path / "trend" / name).is_file()

    # The same patch in the newest run: pending until the cell runs again.
    newest = _slow_run(out)
    assert main(["merge", str(newest), "--history", str(history)]) == 0
    text = _trend(history, tmp_path / "trend", capsys)
    assert "newest run: not yet confirmed" in text and newest.name in text
    text = _trend(
        history, tmp_path / "trend", capsys, "--confirm", "--results", str(out), "--quiet"
    )
    assert "not reproduced by a re-run" in text and "dropped" in text
    pending = [line for line in text.splitlines() if f"| {newest.name} | - |" in line]
    assert pending == [], text
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT COUNT(DISTINCT run_id) FROM measurements").fetchone()[0] == 7
