"""The seed's hardware numbers as posted, and which table a run is compared with."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rig import paths
from rig.errors import UserError
from rig.report import run_report, seed

KB, MB = 1024, 1024 * 1024


def test_reference_holds_both_tables_as_posted() -> None:
    frame = seed.load()
    first = seed.table(frame, seed.WORKAROUND)
    second = seed.table(frame, seed.NO_WORKAROUND)
    assert first["size_bytes"].tolist() == [4 * KB, MB, 2 * MB, 4 * MB]
    assert second["size_bytes"].tolist() == [
        4 * KB,
        64 * KB,
        128 * KB,
        256 * KB,
        512 * KB,
        MB,
        2 * MB,
        4 * MB,
    ]
    four_mb = first[first["size_bytes"] == 4 * MB].iloc[0]
    assert (float(four_mb["without_us"]), float(four_mb["with_us"])) == (974.7, 723.4)
    assert second.set_index("size_bytes").loc[MB, "improvement_pct"] == 24.72
    assert second.set_index("size_bytes").loc[2 * MB, "improvement_pct"] == -0.15


def test_posted_percentages_agree_with_the_posted_latencies() -> None:
    frame = seed.load()
    recomputed = (frame["without_us"] - frame["with_us"]) / frame["without_us"] * 100
    # Posted figures were rounded from unrounded latencies: agree to the last digit.
    assert (recomputed - frame["improvement_pct"]).abs().max() < 0.02


def test_reference_is_tracked_by_git() -> None:
    ignore = (paths.REPO / ".gitignore").read_text().splitlines()
    assert "!results/reference/" in ignore


def _info(**profile: Any) -> dict[str, Any]:
    return {"profile": {"name": "x", **profile}}


@pytest.mark.parametrize(
    ("run_info", "profile", "expected"),
    [
        (None, "smmuv3-noncoherent", seed.NO_WORKAROUND),
        (None, "smmuv3-noncoherent-pagesize", seed.WORKAROUND),
        (_info(seed_table="workaround"), "smmuv3-noncoherent", seed.WORKAROUND),
        (_info(seed_table="no-workaround"), "smmuv3-noncoherent-pagesize", seed.NO_WORKAROUND),
        (_info(), "smmuv3-coherent", seed.NO_WORKAROUND),
    ],
)
def test_choose_table(run_info: dict[str, Any] | None, profile: str, expected: str) -> None:
    assert seed.choose_table(run_info, profile) == expected


def test_unknown_seed_table_is_bad_input() -> None:
    with pytest.raises(UserError) as caught:
        seed.choose_table(_info(seed_table="table-3"), "p")
    assert "table-3" in caught.value.message and "no-workaround" in caught.value.message


def test_report_names_the_table_it_compares_with(tmp_path: Path, data_dir: Path) -> None:
    shutil.copy(data_dir / "results-default.csv", tmp_path / "results.csv")
    info = json.loads((data_dir / "run-default.json").read_text())
    info["profile"]["seed_table"] = "workaround"
    (tmp_path / "run.json").write_text(json.dumps(info))
    run_report.build(tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert html.escape(seed.TABLES[seed.WORKAROUND]) in page
    assert "974.7" in page  # table 1's 4M row
    frame = pd.read_csv(tmp_path / "results.csv")
    frame["profile"] = "smmuv3-noncoherent-pagesize"
    frame.to_csv(tmp_path / "results.csv", index=False)
    (tmp_path / "run.json").unlink()
    run_report.build(tmp_path)
    assert html.escape(seed.TABLES[seed.WORKAROUND]) in (tmp_path / "report.html").read_text()
