"""Rebuild a run's summary.md, plots and report.html from what the run folder holds.

results.csv is required; counters.csv and run.json are used when present.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from rig.boot import profile
from rig.boot.hardware_time import HardwareTiming
from rig.calibration import calibration_fit
from rig.errors import UserError
from rig.report import (
    frames,
    hardware_report,
    html_report,
    plots,
    seed,
    stats,
    summary,
    work_counters,
)
from rig.run import correctness, records
from rig.run.records import CSV_COLUMNS, INCOMPLETE_MARKER

OUTPUTS = ("summary.md", "latency.png", "improvement.png", "comparison.png", "report.html")
RUN_JSON = "run.json"


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


def device_label(run_info: dict[str, Any] | None, profile_name: str) -> str:
    """The emulated SMMU and walk a run measured, from run.json's profile; for a report
    from results.csv alone, from the shipped profile of that name."""
    recorded = (run_info or {}).get("profile")
    if isinstance(recorded, dict) and "iommu" in recorded:
        iommu, walk = str(recorded["iommu"]), str(recorded.get("walk", ""))
    elif profile_name in profile.available_profiles():
        shipped = profile.load_profile(profile_name)
        iommu, walk = shipped.iommu, shipped.walk
    else:
        return f"profile {profile_name}"
    name = profile.DEVICE_NAMES.get(iommu, f"emulated {iommu}")
    return f"{name}, {profile.WALK_NAMES[walk]}" if walk in profile.WALK_NAMES else name


def _write_text(target: Path, text: str) -> None:
    partial = target.with_suffix(".partial")
    partial.write_text(text)
    partial.replace(target)


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


def hardware_comparison(
    frame: pd.DataFrame, run_info: dict[str, Any] | None, reference: pd.DataFrame
) -> tuple[HardwareTiming, pd.DataFrame] | None:
    """A run on a profile with hardware timing: its costs, and its latencies in
    hardware-equivalent us against the seed table's, size by size."""
    found = hardware_report.timing_of(run_info)
    if found is None:
        return None
    timing, shift = found
    medians = hardware_report.hardware_medians(frame, timing, shift)
    if medians.empty:
        return None
    compared = calibration_fit.comparison(medians, reference)
    return (timing, compared) if not compared.empty else None


def build(run_dir: Path, threshold_pct: float | None = None) -> list[Path]:
    check_run_dir(run_dir)
    run_dir = run_dir.resolve()
    marker = run_dir / INCOMPLETE_MARKER
    reason = marker.read_text().strip() if marker.exists() else ""
    if reason and not (run_dir / "results.csv").is_file():
        raise UserError(
            f"{run_dir}: the run is incomplete ({reason}) and stopped before any timed "
            "result; there is nothing to report"
        )
    note = summary.incomplete_note(reason) if reason else ""
    frame = load(run_dir / "results.csv")
    counters = work_counters.load(run_dir)
    run_info = load_run_info(run_dir)
    frame = mark_reference(frame, run_info)
    criteria = criteria_for(run_info, threshold_pct)
    seed_name = seed.choose_table(run_info, str(frame["profile"].iloc[0]))
    reference = seed.table(seed.load(), seed_name)

    verdicts = correctness.read(run_dir)
    hardware = hardware_comparison(frame, run_info, reference)
    text = summary.markdown(
        frame, title_note=note, counters=counters, criteria=criteria, verdicts=verdicts
    )
    if hardware is not None:
        timing, compared = hardware
        section = hardware_report.markdown(compared, timing, seed.TABLES[seed_name])
        text += "\n" + "\n".join(section) + "\n"
    _write_text(run_dir / "summary.md", text)
    plots.latency_plot(frame, run_dir / "latency.png")
    plots.improvement_plot(frame, run_dir / "improvement.png", criteria)
    device = device_label(run_info, str(frame["profile"].iloc[0]))
    plots.comparison_plot(
        frame,
        reference,
        run_dir / "comparison.png",
        device,
        criteria,
        hardware=None if hardware is None else hardware[1],
    )
    page = html_report.render(
        html_report.Inputs(
            frame=frame,
            run_info=run_info,
            counters=counters,
            criteria=criteria,
            seed_table=seed_name,
            run_dir=run_dir,
            verdicts=verdicts,
            title_note=note,
            hardware=hardware,
        )
    )
    _write_text(run_dir / "report.html", page)
    return [run_dir / name for name in OUTPUTS]
