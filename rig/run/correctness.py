"""Correctness verdicts per variant: a fast patch that is wrong is never a win.

A variant FAILS when any of its boots trips a check (a gate, a panic/Oops/WARNING or
SMMU event on the console, a hang, a benchmark error), or when its counting boot
shows fewer page-table syncs per unmap than a non-coherent walk needs. Under TCG
the emulated SMMU reads page tables straight from guest memory, so a skipped sync
corrupts nothing here: the count is the only thing that can catch it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rig.errors import RigError
from rig.sizes import format_size

FILE = "correctness.json"
PASSED = "passed"
FAILED = "FAILED"


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str
    log: str | None = None


def from_error(err: RigError, boot_label: str) -> Check:
    return Check(
        name=err.check or "run",
        passed=False,
        detail=f"boot {boot_label}: {err.message}",
        log=err.log_path,
    )


def _per_size(name: str, short: list[str], why: str, passed: str) -> Check:
    """A check over the counted sizes: FAILED with the sizes that fell short, if any."""
    if short:
        return Check(name, False, f"{why}: " + "; ".join(short))
    return Check(name, True, passed)


def sync_count(variant: str, counter_rows: list[dict[str, Any]]) -> Check | None:
    """Every unmap must clean at least one page-table write per table it touched."""
    rows = [r for r in counter_rows if r["variant"] == variant]
    if not rows:
        return None
    short = [
        f"{format_size(r['size_bytes'])}: {r['syncs_min']} syncs in an unmap, "
        f"at least {r['min_syncs_per_unmap']} needed"
        for r in rows
        if r["syncs_min"] < r["min_syncs_per_unmap"]
    ]
    why = "cleared entries not cleaned to the point of coherency"
    passed = f"at or above the minimum at all {len(rows)} sizes"
    return _per_size("page-table syncs per unmap", short, why, passed)


def sync_coverage(variant: str, counter_rows: list[dict[str, Any]]) -> Check | None:
    """Every unmap must clean (to the point of coherency) at least the bytes of the
    entries it cleared; None where the kernel's trace gives no sizes (before 6.11 the
    sync is traced by function, without its size)."""
    rows = [
        r
        for r in counter_rows
        if r["variant"] == variant and r.get("bytes_cleaned_per_unmap") is not None
    ]
    if not rows:
        return None
    short = [
        f"{format_size(r['size_bytes'])}: {r['bytes_cleaned_per_unmap']:g} bytes cleaned per "
        f"unmap, the entries cleared are {r['entry_bytes_cleared']} bytes"
        for r in rows
        if r["bytes_cleaned_per_unmap"] < r["entry_bytes_cleared"]
    ]
    why = "part of each cleared range not cleaned to the point of coherency"
    passed = f"bytes cleaned cover the entries cleared at all {len(rows)} sizes"
    return _per_size("sync coverage", short, why, passed)


def verdict(checks: list[Check]) -> str:
    return FAILED if any(not c.passed for c in checks) else PASSED


def _relative(check: Check, run_dir: Path) -> dict[str, Any]:
    """Log paths relative to the run folder, which is renamed when the run completes."""
    described = asdict(check)
    if check.log and Path(check.log).is_relative_to(run_dir):
        described["log"] = str(Path(check.log).relative_to(run_dir))
    return described


def write(checks: dict[str, list[Check]], run_dir: Path) -> None:
    document = {
        variant: {"verdict": verdict(found), "checks": [_relative(c, run_dir) for c in found]}
        for variant, found in checks.items()
    }
    (run_dir / FILE).write_text(json.dumps(document, indent=2) + "\n")


def read(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Variant -> {"verdict", "checks"}; empty when the run has no correctness file."""
    path = run_dir / FILE
    if not path.is_file():
        return {}
    loaded: dict[str, dict[str, Any]] = json.loads(path.read_text())
    return loaded
