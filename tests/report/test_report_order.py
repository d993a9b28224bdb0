"""summary.md and report.html lead with the answer: the headline, the comparison plot, the
unmap table; the configuration comes last."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from rig.report import hardware_report, run_report, summary

HEADLINE = "final: unmap 64K..1M improved +27.3..+51.9%, 4K/2M/4M no significant change"


@pytest.fixture
def run_dir(tmp_path: Path, data_dir: Path) -> Path:
    """A run folder with every optional record: counters, run.json and correctness."""
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(data_dir / "results-default.csv", folder / "results.csv")
    shutil.copy(data_dir / "counters-default.csv", folder / "counters.csv")
    shutil.copy(data_dir / "run-default.json", folder / "run.json")
    check = {"name": "gates", "passed": True, "detail": "all passed", "log": None}
    verdicts = {v: {"verdict": "passed", "checks": [check]} for v in ("baseline", "final")}
    (folder / "correctness.json").write_text(json.dumps(verdicts))
    return folder


def positions(text: str, *markers: str) -> list[int]:
    found = [text.find(marker) for marker in markers]
    assert -1 not in found, dict(zip(markers, found, strict=True))
    return found


def test_summary_md_leads_with_the_headline_and_ends_with_the_configuration(
    run_dir: Path,
) -> None:
    run_report.build(run_dir)
    text = (run_dir / "summary.md").read_text()
    assert text.splitlines()[2] == f"- {HEADLINE}; every correctness check passed"
    order = positions(
        text,
        "# smmu-rig: final vs baseline",
        HEADLINE,
        "`comparison.png`",
        "## Unmap latency (us)",
        "## Correctness",
        "## Work counted per unmap",
        "## Map latency (us)",
        "## Configuration",
        "- profile: `smmuv3-noncoherent`",
        "> icount mode:",
    )
    assert order == sorted(order)


def test_report_html_leads_with_the_headline_and_ends_with_the_configuration(
    run_dir: Path,
) -> None:
    run_report.build(run_dir)
    page = (run_dir / "report.html").read_text()
    order = positions(
        page,
        "<h1>smmu-rig: final vs baseline",
        f"<li>{HEADLINE}; every correctness check passed</li>",
        '<img src="comparison.png"',
        "<h2>Seed reference (hardware)</h2>",
        "<h2>Unmap latency (us)</h2>",
        "<h2>Correctness</h2>",
        "<h2>Work counted per unmap</h2>",
        "<h2>Map latency (us)</h2>",
        '<img src="latency.png"',
        "<h2>Configuration</h2>",
        '<p class="note">icount mode:',
        "<h2>Boots and gates</h2>",
        "<h2>Phase timings</h2>",
    )
    assert order == sorted(order)


def test_the_hardware_time_section_follows_the_unmap_table(run_dir: Path) -> None:
    info = json.loads((run_dir / "run.json").read_text())
    info["profile"]["timing"] = {"instruction_ns": 0.5, "dc_line_ns": 2.0}
    (run_dir / "run.json").write_text(json.dumps(info))
    run_report.build(run_dir)
    page = (run_dir / "report.html").read_text()
    order = positions(
        page,
        "<h2>Unmap latency (us)</h2>",
        f"<h2>{hardware_report.TITLE}</h2>",
        "<h2>Correctness</h2>",
        "<h2>Map latency (us)</h2>",
    )
    assert order == sorted(order)


def test_summary_md_puts_lines_it_is_given_after_the_unmap_table(data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "results-default.csv")
    text = summary.markdown(frame, after_unmap=["## Hardware time", "", "a line"])
    order = positions(text, "## Unmap latency (us)", "## Hardware time", "## Map latency (us)")
    assert order == sorted(order)
