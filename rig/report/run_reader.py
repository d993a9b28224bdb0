"""One reader of a run folder, for every consumer of its records: results.csv and run.json
read and checked (mistakes named), the run's reference marked, and the run's rows keyed as
the history and the exports key them. Nothing here writes."""

from __future__ import annotations

import json
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import pandas as pd

from rig.errors import UserError
from rig.report import frames, stats, summary
from rig.run import correctness, records
from rig.run.records import CSV_COLUMNS
from rig.sizes import format_size

RUN_JSON = "run.json"
# The metrics a history row is kept for: the report's.
METRICS = tuple(summary.METRICS)


def load(csv_path: Path) -> pd.DataFrame:
    if not csv_path.is_file():
        raise UserError(f"{csv_path}: no such file; expected a run folder with results.csv")
    frame = frames.read_csv(csv_path, CSV_COLUMNS)
    summary.check_columns(frame, str(csv_path))
    return frame


def load_run_info(run_dir: Path) -> dict[str, Any] | None:
    """run.json as a dict, or None when the folder has none (a report from results.csv)."""
    path = run_dir / RUN_JSON
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not readable JSON ({err})") from err
    if not isinstance(value, dict):
        raise UserError(f"{path}: expected a JSON object at the top")
    return value


def check_run_dir(run_dir: Path) -> None:
    """A missing run folder is named, with the runs that do exist beside it."""
    if run_dir.is_dir():
        return
    parent = run_dir.parent
    runs = sorted(
        str(folder)
        for folder in (parent.iterdir() if parent.is_dir() else [])
        if (folder / "results.csv").is_file() and not folder.is_symlink()
    )
    why = (
        " (`latest` points at the newest run completed in this checkout; a fresh clone "
        "has none until `make bench` completes)"
        if run_dir.name == "latest"
        else ""
    )
    listing = "; runs there: " + ", ".join(runs[-8:]) if runs else ""
    raise UserError(
        f"{run_dir}: no such run folder{why}; pass one with `make report RUN=<folder>` "
        f"or `python -m rig report <folder>`{listing}"
    )


def criteria_for(run_info: dict[str, Any] | None, threshold_pct: float | None) -> stats.Criteria:
    """The threshold given here wins, then one recorded in run.json's settings, then 5%."""
    recorded = ((run_info or {}).get("settings") or {}).get("threshold_pct")
    chosen = threshold_pct if threshold_pct is not None else recorded
    if chosen is None:
        return stats.Criteria()
    if isinstance(chosen, bool) or not isinstance(chosen, int | float) or not 0 < chosen < 100:
        raise UserError(f"verdict threshold {chosen!r} is out of range; expected a % in (0, 100)")
    return stats.Criteria(threshold_pct=float(chosen))


def mark_reference(frame: pd.DataFrame, run_info: dict[str, Any] | None) -> pd.DataFrame:
    """In a revert run (run.json: one variant whose patches are all applied in reverse)
    the revert is the reference, so the tables read without | with | % improvement of
    the change."""
    recorded = (run_info or {}).get("variants") or []
    reverts = [
        str(v["name"])
        for v in recorded
        if (listed := records.recorded_patches(v)) and all(p.get("reverse") for p in listed)
    ]
    if len(reverts) != 1 or reverts[0] not in set(frame["variant"]):
        return frame
    return frame.assign(**{stats.REFERENCE_COLUMN: frame["variant"] == reverts[0]})


def read(run_dir: Path) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """A run's rows with its reference marked, and its run.json (None without one)."""
    frame = load(run_dir / "results.csv")
    run_info = load_run_info(run_dir)
    return mark_reference(frame, run_info), run_info


def kernel_source_of(kernel: dict[str, Any]) -> str | None:
    source = kernel.get("source") or {}
    if source.get("kind") == "debian-package":
        return f"{source.get('package')} {source.get('package_version')}"
    if source.get("url") and source.get("branch") and source.get("commit"):
        # A git:URL@BRANCH kernel: "git URL@BRANCH COMMIT" (the trend names its cell so).
        return f"git {source['url']}@{source['branch']} {source['commit']}"
    for key in ("commit", "fingerprint", "sha256"):
        if source.get(key):
            return f"{source.get('kind')} {source[key]}"
    return None


def _qemu_source(qemu: dict[str, Any]) -> str | None:
    source = qemu.get("source") or {}
    for key in ("version", "commit", "fingerprint"):
        if source.get(key):
            return f"{source.get('kind')} {source[key]}"
    return None


def _verdicts(
    marked: pd.DataFrame, run_info: dict[str, Any]
) -> dict[tuple[str, str, int], dict[Hashable, Any]]:
    """(variant, metric, size) -> the run's comparison row against its reference."""
    compared = stats.compare(marked, METRICS, criteria_for(run_info, None))
    return {
        (str(r["variant"]), str(r["metric"]), int(r["size_bytes"])): r
        for r in compared.to_dict("records")
    }


def run_info_of(run_dir: Path) -> dict[str, Any]:
    """run.json of a run folder, with the keys a history row needs; a bad folder is named."""
    check_run_dir(run_dir)
    run_info = load_run_info(run_dir)
    if run_info is None:
        raise UserError(f"{run_dir / RUN_JSON}: no such file; expected a run folder")
    for key in ("run_id", "created", "profile", "mode"):
        if key not in run_info:
            raise UserError(f"{run_dir / RUN_JSON}: key {key!r} is missing")
    return run_info


def rows_of(run_dir: Path) -> list[dict[str, Any]]:
    """Every history row of one complete run folder; a bad folder is named."""
    run_info = run_info_of(run_dir)
    frame = load(run_dir / "results.csv")
    marked = mark_reference(frame, run_info)
    reference = stats.reference(marked)
    compared = _verdicts(marked, run_info)
    verdicts = correctness.read(run_dir)
    variants = {str(v.get("name")): v for v in run_info.get("variants") or []}
    kernel, qemu = run_info.get("kernel") or {}, run_info.get("qemu") or {}
    profile = run_info["profile"]
    rows = []
    for row in frame.to_dict("records"):
        variant = str(row["variant"])
        for metric in METRICS:
            cell = compared.get((variant, metric, int(row["size_bytes"])))
            rows.append(
                {
                    "run_id": str(run_info["run_id"]),
                    "variant": variant,
                    "size_bytes": int(row["size_bytes"]),
                    "metric": metric,
                    "repeat": int(row["repeat"]),
                    "created": str(run_info["created"]),
                    "value_us": float(row[f"{metric}_us"]),
                    "stddev_us": float(row[f"{metric}_stddev_us"]),
                    "kernel_release": str(row["kernel_release"]),
                    "kernel_version": kernel.get("version"),
                    "kernel_source": kernel_source_of(kernel),
                    "patch_sha256": (variants.get(variant) or {}).get("patch_sha256"),
                    "qemu_version": qemu.get("version"),
                    "qemu_source": _qemu_source(qemu),
                    "profile": profile.get("name") if isinstance(profile, dict) else str(profile),
                    "mode": str(
                        run_info["mode"].get("name")
                        if isinstance(run_info["mode"], dict)
                        else run_info["mode"]
                    ),
                    "rig_version": run_info.get("rig_version"),
                    # None for runs recorded before run.json had them.
                    "rig_identity": run_info.get("rig_identity"),
                    "toolchain": kernel.get("toolchain"),
                    "reference": reference,
                    "change_pct": None if cell is None else float(cell["change_pct"]),
                    "verdict": None if cell is None else str(cell["verdict"]),
                    "correctness": (verdicts.get(variant) or {}).get("verdict"),
                }
            )
    return rows


def variant_commits(run_info: dict[str, Any] | None) -> dict[str, str]:
    """Variant -> "COMMIT12 subject" for a run whose variants were built from different
    commits (two compared refs); empty for a run of one source."""
    found: dict[str, str] = {}
    for entry in (run_info or {}).get("variants") or []:
        source = entry.get("source") if isinstance(entry, dict) else None
        if isinstance(source, dict) and source.get("commit"):
            subject = source.get("subject") or ""
            found[str(entry.get("name"))] = f"{str(source['commit'])[:12]} {subject}".strip()
    return found if len(set(found.values())) > 1 else {}


def page_sizes(run_info: dict[str, Any] | None) -> str | None:
    """ "Kernel pages 16K; 4K IO pages ..." for a run whose run.json records its page size
    (runs from before page sizes were a setting were all 4K, and say nothing)."""
    kernel = (run_info or {}).get("kernel") or {}
    page, io = kernel.get("page_size"), kernel.get("io_pages")
    if not isinstance(page, int) or not isinstance(io, str):
        return None
    return f"Kernel pages: {format_size(page)}; {io}"
