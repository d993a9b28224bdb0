"""Rebuild a run's summary.md, plots and report.html from what the run folder holds.

results.csv is required; counters.csv and run.json are used when present.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rig.boot import profile
from rig.errors import UserError
from rig.report import (
    exports,
    hardware_report,
    html_report,
    plots,
    run_reader,
    seed,
    summary,
    work_counters,
)
from rig.run import correctness, records
from rig.run.records import INCOMPLETE_MARKER

OUTPUTS = ("summary.md", "latency.png", "improvement.png", "comparison.png", "report.html")


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


def write(run_dir: Path, threshold_pct: float | None = None) -> list[Path]:
    """Everything a run folder's records make: the report (summary.md, plots,
    report.html) and the exports (junit.xml, kcidb.json). The pipeline is handed this
    for a finished or failed run, and `rig report` calls it on a stored one."""
    return build(run_dir, threshold_pct) + exports.write(run_dir.resolve())


def build(run_dir: Path, threshold_pct: float | None = None) -> list[Path]:
    run_reader.check_run_dir(run_dir)
    run_dir = run_dir.resolve()
    marker = run_dir / INCOMPLETE_MARKER
    reason = marker.read_text().strip() if marker.exists() else ""
    if reason and not (run_dir / "results.csv").is_file():
        raise UserError(
            f"{run_dir}: the run is incomplete ({reason}) and stopped before any timed "
            "result; there is nothing to report"
        )
    note = summary.incomplete_note(reason) if reason else ""
    frame, run_info = run_reader.read(run_dir)
    counters = work_counters.load(run_dir)
    criteria = run_reader.criteria_for(run_info, threshold_pct)
    seed_name = seed.choose_table(run_info, str(frame["profile"].iloc[0]))
    reference = seed.table(seed.load(), seed_name)

    verdicts = correctness.read(run_dir)
    hardware = hardware_report.hardware_comparison(frame, run_info, reference)
    hardware_lines = (
        ()
        if hardware is None
        else hardware_report.markdown(hardware[1], hardware[0], seed.TABLES[seed_name])
    )
    text = summary.markdown(
        frame,
        title_note=note,
        counters=counters,
        criteria=criteria,
        verdicts=verdicts,
        after_unmap=hardware_lines,
        commits=run_reader.variant_commits(run_info),
        pages=run_reader.page_sizes(run_info),
    )
    records.write_text(text, run_dir / "summary.md")
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
    records.write_text(page, run_dir / "report.html")
    return [run_dir / name for name in OUTPUTS]
