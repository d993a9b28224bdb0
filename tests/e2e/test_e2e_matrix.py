"""One cell of the shipped nightly matrix, end to end: an ordinary run folder, and a
summary that names it with its result and unmap change."""

from __future__ import annotations

from pathlib import Path

import pytest

from rig.cli import main

pytestmark = pytest.mark.e2e


def test_one_cell_runs_as_an_ordinary_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["matrix", "--cell", "6.1-mmu500-coherent", "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    runs = [p for p in tmp_path.iterdir() if (p / "results.csv").is_file() and not p.is_symlink()]
    assert len(runs) == 1
    assert "| 6.1-mmu500-coherent | final | passed | " in out
    assert runs[0].name in out
    assert "1 of 1 cells passed" in out
