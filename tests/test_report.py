"""summary.md and plots from a results.csv captured from a real default run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from rig import report, summary
from rig.cli import main
from rig.errors import EXIT_BAD_INPUT, EXIT_OK, UserError


@pytest.fixture
def run_dir(tmp_path: Path, data_dir: Path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(data_dir / "results-default.csv", folder / "results.csv")
    return folder


def test_report_rebuilds_summary_and_plots_from_csv_alone(run_dir: Path) -> None:
    assert main(["report", str(run_dir)]) == EXIT_OK
    text = (run_dir / "summary.md").read_text()
    assert "## Unmap latency (us)" in text and "## Map latency (us)" in text
    assert "| 1M | 597.1 | 287.2 | +51.90 |" in text
    assert "only ratios between variants are" in text  # icount caveat
    for name in ("latency.png", "improvement.png"):
        assert (run_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_improvement_is_computed_like_the_seed(data_dir: Path) -> None:
    frame = report.load(data_dir / "results-default.csv")
    table = summary.improvement_table(frame, "unmap")
    one_mb = table.loc[1024 * 1024]
    expected = (one_mb["baseline"] - one_mb["final"]) / one_mb["baseline"] * 100
    assert one_mb["improvement_pct:final"] == pytest.approx(expected)
    assert table["improvement_pct:final"][4096] < 5  # 4K: nothing to batch


def test_spread_is_max_minus_min_over_median(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "results-default.csv")
    rows = (frame["variant"] == "baseline") & (frame["size_bytes"] == 4096)
    frame.loc[rows, "unmap_us"] = [10.0, 11.0, 12.0]
    stats = summary.per_size(frame, "unmap")
    row = stats[(stats["variant"] == "baseline") & (stats["size_bytes"] == 4096)].iloc[0]
    assert row["spread_pct"] == pytest.approx(2.0 / 11.0 * 100)


def test_missing_column_is_named(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "results-default.csv").drop(columns=["unmap_us"])
    (tmp_path / "results.csv").write_text(frame.to_csv(index=False))
    with pytest.raises(UserError) as caught:
        report.build(tmp_path)
    assert "unmap_us" in caught.value.message


def test_report_on_missing_run_exits_2(tmp_path: Path) -> None:
    assert main(["report", str(tmp_path / "nope")]) == EXIT_BAD_INPUT


def test_incomplete_run_gets_no_report(run_dir: Path) -> None:
    (run_dir / "INCOMPLETE").write_text("interrupted\n")
    with pytest.raises(UserError) as caught:
        report.build(run_dir)
    assert "incomplete" in caught.value.message
    assert not (run_dir / "summary.md").exists()
