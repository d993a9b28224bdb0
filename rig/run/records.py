"""Raw results on disk: results.csv (one row per variant x size x boot) and run.json.

These are the record; summaries and plots are always rebuilt from them. A run is
written into a hidden folder and renamed into place only when complete.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
CSV_COLUMNS = (
    "variant",
    "kernel_release",
    "profile",
    "mode",
    "size_bytes",
    "repeat",
    "boot_order",
    "threads",
    "seconds",
    "direction",
    "dma_bits",
    "map_us",
    "map_stddev_us",
    "unmap_us",
    "unmap_stddev_us",
)
COUNTER_COLUMNS = (
    "variant",
    "size_bytes",
    "unmap_calls",
    "syncs_per_unmap",
    "syncs_min",
    "syncs_max",
    "min_syncs_per_unmap",
    "tlb_add_page_per_unmap",
    "tlb_sync_per_unmap",
    "bytes_cleaned_per_unmap",
    "entry_bytes_cleared",
)
INCOMPLETE_MARKER = "INCOMPLETE"


def write_csv(
    rows: list[dict[str, Any]], path: Path, columns: tuple[str, ...] = CSV_COLUMNS
) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def write_counters(rows: list[dict[str, Any]], path: Path) -> None:
    write_csv(rows, path, COUNTER_COLUMNS)


def recorded_patches(variant: Any) -> list[dict[str, Any]]:
    """A run.json variant's own patches in order, each {file, sha256, reverse}; runs
    written before series existed record one patch as `patch` (without sha256)."""
    if not isinstance(variant, dict):
        return []
    listed = variant.get("patches")
    if listed is None and isinstance(variant.get("patch"), dict):
        listed = [variant["patch"]]
    return [p for p in listed or [] if isinstance(p, dict)]


def write_text(text: str, path: Path) -> None:
    """Written beside, then renamed: a reader never sees half a file."""
    partial = path.with_suffix(".partial")
    partial.write_text(text)
    partial.replace(path)


def write_json(value: Any, path: Path) -> None:
    write_text(json.dumps(value, indent=2, sort_keys=False, default=str) + "\n", path)


def new_run_id(profile: str, mode: str) -> str:
    """Time, profile, mode and a random tag: runs started in the same second on one
    machine (parallel matrix cells) or many (CI jobs) still differ, and the history
    keys rows by it."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{profile}-{mode}-{secrets.token_hex(3)}"


def claim_folder(root: Path, name: str) -> Path | None:
    """A new empty folder ``root/name``, or ``name-2``, ``-3``... when taken: a name is
    claimed by creating it (atomic), so two processes never get the same one. None
    when 99 are taken."""
    for attempt in range(1, 100):
        target = root / (name if attempt == 1 else f"{name}-{attempt}")
        try:
            target.mkdir()
        except FileExistsError:
            continue
        return target
    return None


@dataclass
class RunDir:
    """A run's folder: hidden while in progress, renamed when it completes or fails."""

    results_root: Path
    run_id: str

    def __post_init__(self) -> None:
        self.results_root.mkdir(parents=True, exist_ok=True)
        self.path = Path(
            tempfile.mkdtemp(prefix=f".in-progress-{self.run_id}-", dir=self.results_root)
        )

    @property
    def final_path(self) -> Path:
        return self.results_root / self.run_id

    def _move_to(self, name: str) -> Path:
        """Rename into a name no other run holds: the name is claimed (claim_folder),
        then the run is renamed over the empty claim."""
        target = claim_folder(self.results_root, name)
        if target is None:
            raise RuntimeError(f"no free run folder name for {name} in {self.results_root}")
        self.path.rename(target)
        self.path = target
        return target

    def complete(self) -> Path:
        target = self._move_to(self.run_id)
        self._point_latest(target)
        return target

    def abandon(self, reason: str) -> Path:
        """Keep what was written, labelled incomplete; `latest` is left alone."""
        (self.path / INCOMPLETE_MARKER).write_text(reason.rstrip() + "\n")
        return self._move_to(f"{self.run_id}.incomplete")

    def _point_latest(self, target: Path) -> None:
        latest = self.results_root / "latest"
        temporary = self.results_root / f".latest-{os.getpid()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(target.name)
        temporary.replace(latest)
