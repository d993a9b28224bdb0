"""Reading counters.csv for the report: work counted per unmap, optional beside results.csv.

Latency says how long an unmap took; these say how much work it did, which is what the
patch changes (one page-table sync per unmap instead of one per PTE) and what does not
depend on how QEMU's clock relates to hardware.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rig.errors import UserError
from rig.report import frames

FILE_NAME = "counters.csv"
COLUMNS = (
    "variant",
    "size_bytes",
    "unmap_calls",
    "syncs_per_unmap",
    "min_syncs_per_unmap",
    "tlb_add_page_per_unmap",
    "tlb_sync_per_unmap",
)
_NUMERIC = COLUMNS[1:]


def load(run_dir: Path) -> pd.DataFrame | None:
    """The run's counters, or None when the run did not count (the file is optional)."""
    path = run_dir / FILE_NAME
    if not path.is_file():
        return None
    frame = frames.read_csv(path, COLUMNS)
    check(frame, str(path))
    return frame


def check(frame: pd.DataFrame, source: str) -> None:
    for column in _NUMERIC:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise UserError(f"{source}: column {column!r} must be numeric")
    if frame.duplicated(["variant", "size_bytes"]).any():
        raise UserError(f"{source}: a variant and size appear twice; one row each expected")
