"""A run's CSV files as DataFrames, for the report step only; mistakes are named."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from rig.errors import UserError


def read_csv(path: Path, required: Sequence[str]) -> pd.DataFrame:
    """The file as a frame with every ``required`` column and at least one row."""
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not a readable CSV ({err})") from err
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}")
    if frame.empty:
        raise UserError(f"{path}: no rows")
    return frame
