"""The bisection's folder: the answer first, each step's row, and how a failed step's
error becomes its mark."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from rig.bisect import report, step
from rig.bisect.commit_range import CommitRange
from rig.bisect.judge import NOT_BUILT, Measured
from rig.bisect.step import Request, StepRecord
from rig.errors import RunFailed
from rig.run.settings import Settings

COMMITS = tuple(c * 40 for c in "abcd")
RANGE = CommitRange(
    Path("/src/linux"), "0" * 40, COMMITS[-1], COMMITS, {c: f"subject {c[0]}" for c in COMMITS}
)


def record(commit: str, measured: Measured) -> StepRecord:
    return StepRecord(commit, measured, f"steps/{commit[:4]}", 6.0, False, 9, 4.0, 12.0)


def test_the_answer_names_the_commit_the_pair_and_the_command(tmp_path: Path) -> None:
    request = Request(Settings(), Path("/src/linux"), "unmap", 1 << 20, False, tmp_path)
    book = report.Book(tmp_path, request, RANGE, 5.0)
    book.add(record("0" * 40, Measured(values=(20.0,))), "good end", None, "")
    book.add(record(COMMITS[-1], Measured(values=(30.0,))), "bad end", None, "")
    book.add(record(COMMITS[1], Measured(values=(20.1,))), "step", "good", "nearer good")
    book.add(record(COMMITS[2], Measured(unusable=NOT_BUILT)), "step", "skip", NOT_BUILT)
    book.add(record(COMMITS[3], Measured(values=(30.0,))), "step", "bad", "nearer bad")
    book.finish(culprits=(COMMITS[2], COMMITS[3]))
    summary = (tmp_path / "summary.md").read_text()
    assert "only skipped commits are left; the first bad commit is one of:" in summary
    assert f"last good: {'b' * 12} (subject b): 20.1 us" in summary
    assert f"--ref {COMMITS[1]} --ref {COMMITS[3]}" in summary
    document = json.loads((tmp_path / "bisect.json").read_text())
    assert document["result"]["status"] == "ambiguous"
    assert document["steps"][0]["why"] == "20.0 us"
    rows = list(csv.DictReader((tmp_path / "steps.csv").open()))
    assert [r["mark"] for r in rows] == ["good", "bad", "good", "skip", "bad"]


def test_a_failed_steps_check_decides_between_skip_and_a_failure() -> None:
    built = step._failed(RunFailed("make failed", check="kernel build"), ())
    assert built.unusable == NOT_BUILT
    hung = step._failed(
        RunFailed("timed out waiting for the guest's ready marker", check="timeout"), ()
    )
    assert hung.unusable == "does not boot (timeout)"
    panicked = step._failed(
        RunFailed("Kernel panic on the guest console while waiting for the guest's ready marker",
                  check="console: Kernel panic"), ()
    )  # fmt: skip
    assert panicked.unusable == "does not boot (console: Kernel panic)"
    warned = step._failed(RunFailed("WARNING", check="console: WARNING"), (20.0,))
    assert (warned.failed_check, warned.values, warned.unusable) == (
        "console: WARNING",
        (20.0,),
        None,
    )


def test_a_step_settings_are_one_size_and_one_boot_in_icount() -> None:
    request = Request(Settings(), Path("/src/linux"), "map", 64 << 10, False, Path("/cache"))
    chosen = step.step_settings(request)
    assert (chosen.sizes, chosen.repeat, chosen.patches, chosen.counters) == (
        ("64K",),
        1,
        (),
        False,
    )
    wall = Request(Settings(mode="wallclock", repeat=5), Path("/x"), "map", 4096, True, Path("/c"))
    assert (step.step_settings(wall).repeat, step.step_settings(wall).counters) == (5, True)
