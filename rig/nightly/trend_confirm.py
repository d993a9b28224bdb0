"""Before a regression in a cell's newest run is flagged, the cell runs again.

A change seen in earlier runs is confirmed by the runs after it. One seen only in the
newest run has nothing after it: the cell of the matrix is re-run with the same
inputs, merged into the history, and the trend analysed again. The change stands
when the re-run measures the new level; when the re-run is back at the old level the
change is dropped and said to be not reproduced.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rig.nightly import history, matrix, trend
from rig.progress import Progress
from rig.run import settings


@dataclass(frozen=True)
class Confirmation:
    series: list[trend.Series]
    # (series, first run) of a change -> what its re-run said.
    said: dict[tuple[trend.SeriesKey, str], str]


def pending(series: list[trend.Series]) -> list[trend.Change]:
    return [
        c
        for s in series
        for c in s.changes
        if c.kind == "regression" and c.last_run is None and c.runs_after == 0
    ]


def confirm(
    series: list[trend.Series],
    history_file: Path,
    files: matrix.Files,
    criteria: trend.Criteria,
    progress: Progress,
) -> Confirmation:
    waiting = pending(series)
    if not waiting:
        return Confirmation(series, {})
    shape, cells = matrix.load(files.matrix)
    by_name = {c.name: c for c in cells}
    base = settings.load(files.config)
    said: dict[tuple[trend.SeriesKey, str], str] = {}
    reruns: dict[str, str] = {}
    for name in sorted({c.cell for c in waiting}):
        if name not in by_name:
            for change in (c for c in waiting if c.cell == name):
                said[change.series, change.first_run] = (
                    f"not re-run: no cell {name!r} in {files.matrix}"
                )
            continue
        progress.say(f"==> re-running cell {name} to confirm a regression in its newest run")
        result = matrix.run_cell(base, shape, by_name[name], files.out, progress)
        if result.run_dir is None or result.status != "passed":
            for change in (c for c in waiting if c.cell == name):
                said[change.series, change.first_run] = (
                    f"re-run of {name} {result.status}: {result.detail}"
                )
            continue
        history.merge([result.run_dir], history_file)
        reruns[name] = result.run_dir.name
    again = trend.analyse(history.read(history_file), criteria)
    keys = {(c.series, c.first_run) for c in waiting if c.cell in reruns}
    for one in again:
        for change in one.changes:
            if (change.series, change.first_run) in keys and change.runs_after >= 1:
                said[change.series, change.first_run] = (
                    f"confirmed by a re-run ({reruns[change.cell]})"
                )
    dropped = {k for k in keys if k not in said}
    for key in dropped:
        said[key] = f"not reproduced by a re-run ({reruns[key[0][0]]}): dropped"
    # A dropped change is gone from the series; its row in `said` still tells of it.
    kept = [
        dataclasses.replace(
            one,
            changes=[c for c in one.changes if (c.series, c.first_run) not in dropped],
        )
        for one in again
    ]
    return Confirmation(kept, said)


def rerun_if_regressed(
    result: matrix.CellResult,
    history_file: Path,
    *,
    base: settings.Settings,
    shape: matrix.MatrixFile,
    out: Path,
    progress: Progress,
) -> list[matrix.CellResult]:
    """In the job that just measured a cell: when that run starts a regression in the
    history (read, never written here), run the cell once more. Both runs go to the
    history; the trend then sees the new level twice, or an excursion of one run."""
    if result.status != "passed" or result.run_dir is None:
        return []
    with tempfile.TemporaryDirectory(prefix="smmu-rig-confirm-") as tmp:
        scratch = Path(tmp) / "history.sqlite"
        if history_file.is_file():
            shutil.copy2(history_file, scratch)
        history.merge([result.run_dir], scratch)
        series = trend.analyse(history.read(scratch))
    started = [c for c in pending(series) if c.first_run == result.run_dir.name]
    if not started:
        progress.say(f"    {result.cell.name}: no regression starts at this run")
        return []
    sizes = sorted({c.series[4] for c in started})
    progress.say(
        f"==> {result.cell.name}: this run starts a regression (sizes {sizes} B); "
        "running the cell again to confirm it"
    )
    return [matrix.run_cell(base, shape, result.cell, out, progress)]
