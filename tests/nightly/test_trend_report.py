"""The trend report's words for people and for CI: which regressions turn CI red, the
step summary, the tool epochs named by what changed, FAILED runs counted and drawn."""

from __future__ import annotations

from pathlib import Path

from rig.nightly import trend, trend_report
from rig.nightly.trend import Change, Point, Series

CELL = "6.1-mmu500-noncoherent"
OLD = ("QEMU emulator version 10.2.2", "debian 10.2.2", "1a2b3c4d" + "0" * 56, "gcc")
NEW = (*OLD[:2], "5e6f7a8b" + "0" * 56, "gcc")


def _key(variant: str, size: int) -> trend.SeriesKey:
    return (CELL, "icount", variant, "unmap", size)


def _series(variant: str, size: int, changes: list[Change], failed: bool = False) -> Series:
    """Four runs; run2 starts a new rig identity; run1 FAILED when ``failed``."""
    points = [
        Point(f"run{i}", f"2026-12-0{i + 1}", 40.0, (40.0, 40.0), OLD if i < 2 else NEW)
        for i in range(4)
    ]
    if failed:
        points[1] = Point("run1", "2026-12-02", 90.0, (90.0, 90.0), OLD, failed=True)
    return Series(_key(variant, size), points, changes, epoch_starts=[2])


def _change(key: trend.SeriesKey, first: str, after: float, **more: object) -> Change:
    fields: dict[str, object] = {"last_run": None, "p_value": 1e-6, "runs_after": 0, **more}
    return Change(key, first, before_us=40.0, after_us=after, **fields)  # type: ignore[arg-type]


LASTING = _change(_key("final", 1 << 20), "run2", 44.0, runs_after=1)
PENDING = _change(_key("final", 4096), "run3", 46.0)
EXCURSION = _change(_key("final", 65536), "run2", 48.0, last_run="run2")
IMPROVED = _change(_key("baseline", 4096), "run2", 30.0, runs_after=1)
DROPPED = _change(_key("baseline", 65536), "run3", 47.0)
SERIES = [
    _series("final", 1 << 20, [LASTING], failed=True),
    _series("final", 4096, [PENDING]),
    _series("final", 65536, [EXCURSION]),
    _series("baseline", 4096, [IMPROVED]),
    _series("baseline", 65536, [DROPPED]),
]
SAID = {(DROPPED.series, "run3"): "not reproduced by a re-run (run4): dropped"}


def test_what_turns_ci_red_is_a_lasting_regression_seen_twice() -> None:
    # Not an excursion (it came back), not an improvement, not what a re-run dropped,
    # not the newest run's regression until a re-run confirms it.
    assert trend_report.regressions(SERIES, SAID) == [LASTING]
    confirmed = {**SAID, (PENDING.series, "run3"): "confirmed by a re-run (run4)"}
    assert trend_report.regressions(SERIES, confirmed) == [LASTING, PENDING]
    assert trend_report.lasting(SERIES, {}) == [LASTING, PENDING, DROPPED]


def test_the_step_summary_has_a_row_per_regression_with_its_plot() -> None:
    links = {CELL: f"https://example.org/trend/trend-{CELL}.png"}
    said = {**SAID, (PENDING.series, "run3"): "confirmed by a re-run (run4)"}
    text = trend_report.step_summary(SERIES, said, links)
    assert text.startswith("## Nightly trend: 2 regression(s)\n")
    rows = [line for line in text.splitlines() if line.startswith(f"| {CELL} |")]
    assert rows == [
        f"| {CELL} | icount | final | unmap | 1M | run2 | 40.0 -> 44.0 | +10.0% | 1e-06 "
        f"| confirmed by 1 later run(s) | [plot]({links[CELL]}) |",
        f"| {CELL} | icount | final | unmap | 4K | run3 | 40.0 -> 46.0 | +15.0% | 1e-06 "
        f"| confirmed by a re-run (run4) | [plot]({links[CELL]}) |",
    ]
    assert text.rstrip().endswith(
        "5 series, 1 epoch start(s), 1 improvement(s), 1 FAILED run(s) left out."
    )


def test_the_step_summary_without_links_or_regressions() -> None:
    text = trend_report.step_summary(SERIES[:1], {}, None)
    assert "| [plot](" not in text and text.count("| - |") == 1
    assert "pending" not in text
    waiting = trend_report.step_summary(SERIES[1:2], {}, None)
    assert "No lasting regression." in waiting and "pending, seen once" in waiting
    calm = trend_report.step_summary(SERIES[3:4], {}, None)
    assert "No lasting regression." in calm and "1 improvement(s)" in calm


def test_the_markdown_names_each_epoch_and_counts_the_failed_runs() -> None:
    text = trend_report.markdown(SERIES, SAID)
    assert f"- {CELL}: from run2: rig 5e6f7a8b" in text
    assert (
        "FAILED its correctness checks, drawn but left out of the statistics (1 point(s))" in text
    )
    assert f"| {CELL} | icount | final | run1 | 1 |" in text


def test_a_cell_is_drawn_with_its_failed_runs_and_epochs(tmp_path: Path) -> None:
    written = trend_report.write(SERIES, SAID, tmp_path)
    png = tmp_path / f"trend-{CELL}.png"
    assert png in written and png.stat().st_size > 10_000


def test_a_git_tree_regression_prints_the_bisect_command_between_its_two_commits() -> None:
    url = "https://example.org/linux.git"

    def point(run: str, commit: str, value: float) -> Point:
        return Point(
            run, run, value, (value,), ("e",), kernel_source=f"git {url}@main {commit}",
            profile="mmu500-noncoherent",
        )  # fmt: skip

    points = [point("r1", "a" * 40, 20.0), point("r2", "a" * 40, 20.0), point("r3", "b" * 40, 30.0)]
    key = ("linux-main-mmu500-noncoherent", "icount", "final", "unmap", 1 << 20)
    change = Change(key, "r3", None, 20.0, 30.0, 0.001, 1)
    one = Series(key, points, [change])
    command = trend.bisect_command(one, change)
    assert command == (
        f"git clone {url} linux && python -m rig bisect --kernel-src linux {'a' * 40} "
        f"{'b' * 40} --metric unmap --size 1M --profile mmu500-noncoherent --mode icount"
    )
    assert trend_report.bisect_lines([one]) == [
        f"- linux-main-mmu500-noncoherent unmap 1M: `{command}`"
    ]
    # A Debian cell (no commits) or two runs of one commit give no command.
    debian = Series(key, [Point(p.run_id, p.created, p.mean_us, p.values, p.epoch) for p in points])
    assert trend.bisect_command(debian, change) is None
    same = [point("r1", "a" * 40, 20.0), point("r3", "a" * 40, 30.0)]
    assert trend.bisect_command(Series(key, same), change) is None
