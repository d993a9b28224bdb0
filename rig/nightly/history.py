"""The history: every measurement of many run folders in one SQLite file.

Run folders stay the source of truth; the history is derived from them and can be
rebuilt at any time. One row per run x variant x size x metric x repeat, with what a
series is keyed by beside the number: the kernel (release, version, source), the
patches, QEMU's version and source, the profile, the timing mode and the rig's
version, so that a tool upgrade shows as a new series rather than a kernel change. Each
row also carries the run's verdict for that variant, metric and size (against the
run's reference) and the variant's correctness.

The primary key is the row's identity and rows are added with ``INSERT ... ON
CONFLICT DO NOTHING``: merging the same run twice adds nothing, and runs from many
machines merge into one file. pandas reads it with ``read``.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rig.errors import UserError
from rig.report import run_reader
from rig.run.records import INCOMPLETE_MARKER

TABLE = "measurements"
# Column -> SQLite type; the first five are the primary key.
COLUMNS: dict[str, str] = {
    "run_id": "TEXT NOT NULL",
    "variant": "TEXT NOT NULL",
    "size_bytes": "INTEGER NOT NULL",
    "metric": "TEXT NOT NULL",
    "repeat": "INTEGER NOT NULL",
    "created": "TEXT NOT NULL",
    "value_us": "REAL NOT NULL",
    "stddev_us": "REAL",
    "kernel_release": "TEXT",
    "kernel_version": "TEXT",
    "kernel_source": "TEXT",
    "patch_sha256": "TEXT",
    "qemu_version": "TEXT",
    "qemu_source": "TEXT",
    "profile": "TEXT NOT NULL",
    "mode": "TEXT NOT NULL",
    "rig_version": "TEXT",
    "reference": "TEXT",
    "change_pct": "REAL",
    "verdict": "TEXT",
    "correctness": "TEXT",
    # Added later: a history written before them gains them (ALTER TABLE) on its next
    # merge, and reads with them empty.
    "rig_identity": "TEXT",
    "toolchain": "TEXT",
}
KEY = ("run_id", "variant", "size_bytes", "metric", "repeat")


@dataclass(frozen=True)
class Merged:
    runs: int
    added: int
    already: int
    skipped: tuple[str, ...]
    total: int


def _create(db: sqlite3.Connection) -> None:
    """The table, made or brought up to COLUMNS: a column added to the rig since the file
    was written is added to it (empty for the rows already there)."""
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
    db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({columns}, PRIMARY KEY ({', '.join(KEY)}))")
    there = {row[1] for row in db.execute(f"PRAGMA table_info({TABLE})")}
    for name, kind in COLUMNS.items():
        if name not in there:
            db.execute(f"ALTER TABLE {TABLE} ADD COLUMN {name} {kind}")


def merge(run_dirs: list[Path], history: Path) -> Merged:
    """Add the rows of ``run_dirs`` to ``history`` (created when missing). Every folder
    is read before anything is written, and the rows go in as one transaction: a bad
    folder leaves the history as it was. Incomplete runs are skipped and named."""
    if not run_dirs:
        raise UserError("merge: no run folders given; expected one or more results/<run-id>")
    rows: list[dict[str, Any]] = []
    skipped = []
    for run_dir in run_dirs:
        if (run_dir / INCOMPLETE_MARKER).exists():
            skipped.append(str(run_dir))
            continue
        rows.extend(run_reader.rows_of(run_dir))
    history.parent.mkdir(parents=True, exist_ok=True)
    names = list(COLUMNS)
    insert = (
        f"INSERT INTO {TABLE} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
        f"ON CONFLICT ({', '.join(KEY)}) DO NOTHING"
    )
    try:
        with closing(sqlite3.connect(history)) as db, db:
            _create(db)
            before = db.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0]
            db.executemany(insert, [tuple(r[n] for n in names) for r in rows])
            total = db.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0]
    except sqlite3.DatabaseError as err:
        raise UserError(f"{history}: not a history this rig can write ({err})") from err
    added = total - before
    return Merged(
        runs=len(run_dirs) - len(skipped),
        added=added,
        already=len(rows) - added,
        skipped=tuple(skipped),
        total=total,
    )


def read(history: Path) -> pd.DataFrame:
    """The whole history as a frame, in key order; the columns a history written before
    them lacks are there, empty (reading never writes the file)."""
    if not history.is_file():
        raise UserError(f"{history}: no such history; make one with `python -m rig merge`")
    try:
        with closing(sqlite3.connect(history)) as db:
            frame = pd.read_sql_query(f"SELECT * FROM {TABLE} ORDER BY {', '.join(KEY)}", db)
    except (sqlite3.DatabaseError, pd.errors.DatabaseError) as err:
        raise UserError(f"{history}: not a history this rig wrote ({err})") from err
    missing = [name for name in COLUMNS if name not in frame.columns]
    return frame.assign(**dict.fromkeys(missing)) if missing else frame
