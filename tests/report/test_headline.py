"""The headline: one line per compared variant, from the unmap table's own comparisons."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rig.report import headline, run_report, summary
from tests import locations

KB, MB = 1024, 1024 * 1024
SIZES = [4 * KB, 64 * KB, 128 * KB, 256 * KB, 512 * KB, 1 * MB, 2 * MB, 4 * MB]
REVERT_RUN = locations.REPO / "results" / "20261124-211432-smmuv3-noncoherent-icount"


def check(name: str, passed: bool) -> dict[str, Any]:
    return {"name": name, "passed": passed, "detail": "as recorded", "log": None}


def passed(*variants: str) -> dict[str, dict[str, Any]]:
    return {
        v: {"verdict": "passed", "checks": [check("gates", True), check("DMA integrity", True)]}
        for v in variants
    }


def said(
    frame: pd.DataFrame, verdicts: dict[str, dict[str, Any]], complete: bool = True
) -> list[str]:
    """The headline as the reports make it: from the unmap table's comparison rows."""
    failed = summary.failed_variants(verdicts)
    _, compared = summary.display_table(frame, "unmap", failed=failed)
    return summary.headlines(frame, compared, verdicts, complete)


@pytest.fixture
def frame(data_dir: Path) -> pd.DataFrame:
    return pd.read_csv(data_dir / "results-default.csv")


def test_improved_sizes_become_a_range_with_their_changes_and_the_rest_a_list(
    frame: pd.DataFrame,
) -> None:
    assert said(frame, passed("baseline", "final")) == [
        "final: unmap 64K..1M improved +27.3..+51.9%, 4K/2M/4M no significant change; "
        "every correctness check passed"
    ]


def test_a_regression_is_said_with_its_change(frame: pd.DataFrame) -> None:
    slower = (frame["variant"] == "final") & (frame["size_bytes"] == 4 * KB)
    frame.loc[slower, "unmap_us"] = frame.loc[slower, "unmap_us"] * 1.2
    assert said(frame, passed("baseline", "final")) == [
        "final: unmap 64K..1M improved +27.3..+51.9%, 4K regressed -21.6%, "
        "2M/4M no significant change; every correctness check passed"
    ]


def test_a_failed_correctness_check_is_named_and_voids_the_latencies(
    frame: pd.DataFrame,
) -> None:
    verdicts = passed("baseline")
    verdicts["final"] = {
        "verdict": "FAILED",
        "checks": [check("gates", True), check("page-table syncs per unmap", False)],
    }
    assert said(frame, verdicts) == [
        "final: unmap 4K..4M FAILED; correctness FAILED (page-table syncs per unmap)"
    ]


def test_a_failed_reference_is_named_too(frame: pd.DataFrame) -> None:
    verdicts = passed("final")
    verdicts["baseline"] = {"verdict": "FAILED", "checks": [check("console watch", False)]}
    assert said(frame, verdicts) == [
        "final: unmap 4K..4M FAILED; its own correctness checks passed; "
        "the reference baseline FAILED correctness (console watch)"
    ]


def test_each_patched_variant_gets_its_line(frame: pd.DataFrame) -> None:
    rfc = frame[frame["variant"] == "final"].copy()
    rfc["variant"] = "rfc"
    rfc.loc[rfc["size_bytes"] == 4 * KB, "unmap_us"] = 40.0
    lines = said(pd.concat([frame, rfc]), passed("baseline", "final", "rfc"))
    assert [line.split(":")[0] for line in lines] == ["final", "rfc"]
    assert lines[1].startswith("rfc: unmap 64K..1M improved +27.3..+51.9%, 4K regressed -30.3%")


def test_a_run_of_one_variant_says_there_is_nothing_to_compare(frame: pd.DataFrame) -> None:
    alone = frame[frame["variant"] == "baseline"]
    assert said(alone, {}) == [
        "baseline only: no other variant to compare it with; no correctness checks recorded"
    ]
    failed = {"baseline": {"verdict": "FAILED", "checks": [check("gates", False)]}}
    assert said(alone, failed) == [
        "baseline only: no other variant to compare it with; correctness FAILED (gates)"
    ]


def test_an_incomplete_run_does_not_claim_every_check(frame: pd.DataFrame) -> None:
    line = said(frame, passed("baseline", "final"), complete=False)[0]
    assert line.endswith("; every correctness check that ran passed")


def test_a_results_csv_alone_still_gets_a_headline(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame[frame["variant"] == "baseline"].to_csv(tmp_path / "results.csv", index=False)
    run_report.build(tmp_path)
    text = (tmp_path / "summary.md").read_text()
    line = "- baseline only: no other variant to compare it with; no correctness checks recorded"
    assert text.splitlines()[2] == line
    assert "<li>" + line.removeprefix("- ") + "</li>" in (tmp_path / "report.html").read_text()


def test_a_revert_run_reads_the_same_way(tmp_path: Path) -> None:
    for name in ("results.csv", "counters.csv", "run.json", "correctness.json"):
        shutil.copy(REVERT_RUN / name, tmp_path / name)
    run_report.build(tmp_path)
    lines = (tmp_path / "summary.md").read_text().splitlines()
    assert lines[2] == (
        "- baseline: unmap 64K..1M improved +29.4..+55.1%, 4K/2M/4M no significant change; "
        "every correctness check passed"
    )
    assert lines[4].startswith("> Revert run:")  # what "baseline" means here, right below
    verdicts = json.loads((tmp_path / "correctness.json").read_text())
    verdicts["revert-final-6-12"]["verdict"] = "FAILED"
    verdicts["revert-final-6-12"]["checks"][0]["passed"] = False
    (tmp_path / "correctness.json").write_text(json.dumps(verdicts))
    run_report.build(tmp_path)
    assert (tmp_path / "summary.md").read_text().splitlines()[2] == (
        "- baseline: unmap 4K..4M FAILED; its own correctness checks passed; "
        "the reference revert-final-6-12 FAILED correctness (gates)"
    )


@pytest.mark.parametrize(
    ("sizes", "text"),
    [
        (SIZES[1:6], "64K..1M"),
        ([SIZES[0], SIZES[6], SIZES[7]], "4K/2M/4M"),  # two neighbours are not a range
        ([*SIZES[:4], SIZES[5]], "4K..256K/1M"),  # 512K missing: the range stops at 256K
        ([SIZES[3]], "256K"),
        (SIZES, "4K..4M"),
    ],
)
def test_sizes_next_to_each_other_become_ranges(sizes: list[int], text: str) -> None:
    assert headline.sizes_text(sizes, SIZES) == text


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ([30.59, 45.58, 37.47], "+30.6..+45.6%"),
        ([-32.58], "-32.6%"),
        ([-5.21, -32.58], "-5.2..-32.6%"),  # smallest change first, as for improvements
        ([12.04, 12.01], "+12.0%"),  # the same once rounded: one number
    ],
)
def test_changes_are_a_range_from_the_smallest(changes: list[float], text: str) -> None:
    assert headline.change_text(changes) == text
