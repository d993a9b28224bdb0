"""report.html: content, escaping, and a real headless Chromium rendering it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from rig.report import run_report
from rig.report.html_report import NO_RUN_JSON

CHROMIUM = shutil.which("chromium")
BOOTS_IN_FIXTURE = 6
GATES_PER_BOOT = 6


@pytest.fixture
def full_run(tmp_path: Path, data_dir: Path) -> Path:
    """A run folder as bench leaves it: results, counters, run.json and console logs."""
    folder = tmp_path / "run"
    (folder / "console").mkdir(parents=True)
    shutil.copy(data_dir / "results-default.csv", folder / "results.csv")
    shutil.copy(data_dir / "counters-default.csv", folder / "counters.csv")
    shutil.copy(data_dir / "run-default.json", folder / "run.json")
    for boot in json.loads((data_dir / "run-default.json").read_text())["boots"]:
        log = folder / boot["console_log"]
        log.write_text("Booting Linux on physical CPU 0x0\n")
        log.with_suffix(".dmesg").write_text("[    0.000000] Booting Linux\n")
    run_report.build(folder)
    return folder


def test_page_holds_configuration_tables_plots_gates_and_timings(full_run: Path) -> None:
    page = (full_run / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<h1>smmu-rig: final vs baseline on smmuv3-noncoherent (icount)</h1>" in page
    assert NO_RUN_JSON not in page
    for expected in (
        "20261124-005437-smmuv3-noncoherent-icount",  # run id
        "linux-source-6.1",  # kernel source identity
        "4d415b3d364834fd818270e88813e90323bbfce4f519a0e6bd4940ddcd7df693",
        "4ccf7f6badbf17483bb72cc1dff4dd28074d0fd065da3c7c103b9e41a8ed202e",  # final's patch
        "6.1.192-rig-final-c9ab3dee",
        "QEMU emulator version 7.2.22",
        "<h2>Unmap latency (us)</h2>",
        "<h2>Map latency (us)</h2>",
        "<h2>Work counted per unmap</h2>",
        "sweep (6 boots x 8 sizes)",  # a phase timing
    ):
        assert expected in page, expected
    for image in ("latency.png", "improvement.png", "comparison.png"):
        assert f'<img src="{image}"' in page
    assert page.count('<td class="pass">PASS</td>') == BOOTS_IN_FIXTURE * GATES_PER_BOOT
    assert '<a href="console/01-baseline-r1.log">console</a>' in page
    assert '<a href="console/06-final-r3.dmesg">dmesg</a>' in page
    assert '<td class="left improved">improved</td>' in page


def test_without_run_json_the_page_says_so(full_run: Path) -> None:
    (full_run / "run.json").unlink()
    run_report.build(full_run)
    page = (full_run / "report.html").read_text()
    assert f"{NO_RUN_JSON}: the configuration" in page
    assert "<h2>Unmap latency (us)</h2>" in page  # the numbers are still there


def test_text_from_files_is_escaped(full_run: Path) -> None:
    info = json.loads((full_run / "run.json").read_text())
    info["boots"][0]["gates"][0]["detail"] = "<script>alert(1)</script>"
    info["boots"][0]["gates"][0]["passed"] = False
    info["boots"][1]["console_log"] = "/etc/passwd"
    info["profile"]["description"] = 'say "hi" & <b>bye</b>'
    (full_run / "run.json").write_text(json.dumps(info))
    run_report.build(full_run)
    page = (full_run / "report.html").read_text()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<td class="fail">FAIL</td>' in page
    assert "&quot;hi&quot; &amp; &lt;b&gt;bye&lt;/b&gt;" in page
    assert 'href="/etc/passwd"' not in page  # shown, not linked: it is outside the run


def _dump_dom(page: Path, profile_dir: Path) -> str:
    assert CHROMIUM is not None
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile_dir}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not on PATH (make prereqs-test installs it)")
def test_chromium_renders_tables_and_loads_every_image(full_run: Path, tmp_path: Path) -> None:
    profile_dir = tmp_path / "chromium-profile"
    profile_dir.mkdir()
    dom = _dump_dom(full_run / "report.html", profile_dir)
    # configuration, variants, unmap, map, counters, seed, boots, gates, timings
    assert dom.count("<table") == 9
    one_mb = re.search(r"<tr><td>1M</td><td>597\.1</td>.*?</tr>", dom)
    assert one_mb is not None
    assert "+51.90%" in one_mb.group(0) and "improved" in one_mb.group(0)
    body = re.search(r'<body data-images-ok="(\d+)/(\d+)"', dom)
    assert body is not None, "the load handler did not run"
    assert body.group(1) == body.group(2) == "3"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not on PATH (make prereqs-test installs it)")
def test_chromium_notices_a_missing_image(full_run: Path, tmp_path: Path) -> None:
    """The check is real: with one PNG gone the page reports 2 of 3."""
    (full_run / "comparison.png").unlink()
    profile_dir = tmp_path / "chromium-profile"
    profile_dir.mkdir()
    dom = _dump_dom(full_run / "report.html", profile_dir)
    assert 'data-images-ok="2/3"' in dom
