"""The seed's hardware numbers (results/reference/) and which of its two tables a run matches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from rig import paths
from rig.errors import UserError

REFERENCE_CSV = paths.REPO / "results" / "reference" / "seed-2024-05-unmap.csv"
WORKAROUND = "workaround"
NO_WORKAROUND = "no-workaround"
TABLES = {
    WORKAROUND: "seed table 1: Tegra's erratum workaround forcing PAGE_SIZE mappings",
    NO_WORKAROUND: "seed table 2: the erratum workaround reverted",
}
HARDWARE = "NVIDIA Tegra, Arm MMU-500, non-coherent table walk"
COLUMNS = ("table", "size_bytes", "without_us", "with_us", "improvement_pct")


def load(path: Path = REFERENCE_CSV) -> pd.DataFrame:
    if not path.is_file():
        raise UserError(f"{path}: the seed's reference numbers are missing")
    frame = pd.read_csv(path)
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}")
    unknown = set(frame["table"]) - set(TABLES)
    if unknown:
        raise UserError(f"{path}: unknown table(s) {sorted(unknown)}; expected {list(TABLES)}")
    return frame


def table(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """One seed table's rows, smallest size first."""
    return frame[frame["table"] == name].sort_values("size_bytes").reset_index(drop=True)


def choose_table(run_info: dict[str, Any] | None, profile_name: str) -> str:
    """The seed table a run compares with.

    run.json's profile says it outright ("seed_table"); without that key (older runs, or a
    report from results.csv alone) a profile named "...pagesize..." forces PAGE_SIZE
    mappings like the seed's workaround, and any other profile matches the second table.
    """
    profile = (run_info or {}).get("profile") or {}
    named = profile.get("seed_table") if isinstance(profile, dict) else None
    if named is not None:
        if named not in TABLES:
            raise UserError(
                f"run.json: profile.seed_table is {named!r}; expected one of {list(TABLES)}"
            )
        return str(named)
    return WORKAROUND if "pagesize" in profile_name else NO_WORKAROUND
