"""`rig trend` as CI hears it: exit code 3 and a step summary for a lasting regression
seen twice; 0 for a history without one, or with one seen only in the newest run."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from rig.cli import main
from rig.errors import EXIT_OK, EXIT_REGRESSION
from rig.nightly import history


def _history(path: Path, levels: list[float]) -> Path:
    """One series (6.1 MMU-500, unmap at 4K), a run per level, two identical repeats."""
    names = list(history.COLUMNS)
    with closing(sqlite3.connect(path)) as db, db:
        history._create(db)
        for night, level in enumerate(levels, start=1):
            for repeat in (1, 2):
                row = dict.fromkeys(names)
                row.update(
                    run_id=f"2026120{night}-run", variant="final", size_bytes=4096,
                    metric="unmap", repeat=repeat, created=f"2026-12-0{night}T01:00:00",
                    value_us=level, kernel_version="6.1.192", profile="mmu500-noncoherent",
                    mode="icount", qemu_version="10.2.2", rig_identity="same",
                )  # fmt: skip
                marks = ", ".join("?" * len(names))
                db.execute(
                    f"INSERT INTO {history.TABLE} ({', '.join(names)}) VALUES ({marks})",
                    [row[n] for n in names],
                )
    return path


@pytest.mark.parametrize(
    ("levels", "code"),
    [
        ([40.0, 40.0, 40.0, 44.0, 44.0], EXIT_REGRESSION),  # seen twice: red
        ([40.0, 40.0, 40.0, 40.0, 44.0], EXIT_OK),  # newest run only: pending
        ([40.0, 40.0, 44.0, 40.0, 40.0], EXIT_OK),  # an excursion that came back
        ([40.0] * 5, EXIT_OK),
    ],
)
def test_the_exit_code_and_the_step_summary(tmp_path: Path, levels: list[float], code: int) -> None:
    db = _history(tmp_path / "history.sqlite", levels)
    summary = tmp_path / "summary.md"
    argv = ["trend", "--history", str(db), "--out", str(tmp_path / "trend")]
    argv += ["--step-summary", str(summary), "--plots-url", "https://example.invalid/trend"]
    assert main(argv) == code
    text = summary.read_text()
    if code == EXIT_REGRESSION:
        assert "| 6.1-mmu500-noncoherent | icount | final | unmap | 4K | 20261204-run |" in text
        assert "[plot](https://example.invalid/trend/trend-6.1-mmu500-noncoherent.png)" in text
    else:
        assert "No lasting regression." in text
    if levels[-1] != levels[-2]:
        assert "pending, seen once" in text
