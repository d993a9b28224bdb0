"""Rebuild a run's summary.md and plots from its results.csv alone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rig import plots, summary
from rig.errors import UserError
from rig.records import INCOMPLETE_MARKER

OUTPUTS = ("summary.md", "latency.png", "improvement.png")


def load(csv_path: Path) -> pd.DataFrame:
    if not csv_path.is_file():
        raise UserError(f"{csv_path}: no such file; expected a run folder with results.csv")
    try:
        frame = pd.read_csv(csv_path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"{csv_path}: not a readable CSV ({err})") from err
    summary.check_columns(frame, str(csv_path))
    return frame


def build(run_dir: Path) -> list[Path]:
    run_dir = run_dir.resolve()
    marker = run_dir / INCOMPLETE_MARKER
    if marker.exists():
        reason = marker.read_text().strip()
        raise UserError(f"{run_dir}: the run is incomplete ({reason}); it gets no report")
    frame = load(run_dir / "results.csv")
    written = []
    text = summary.markdown(frame)
    target = run_dir / "summary.md"
    partial = target.with_suffix(".partial")
    partial.write_text(text)
    partial.replace(target)
    written.append(target)
    plots.latency_plot(frame, run_dir / "latency.png")
    plots.improvement_plot(frame, run_dir / "improvement.png")
    written += [run_dir / "latency.png", run_dir / "improvement.png"]
    return written
