"""End to end with the real parts: Debian's kernel tree, the cross compiler, the rig's
QEMU with its MMU-500 model (the default profile).

The first run on a machine builds the kernel (about 3 minutes on 2 cores); later
runs use the rig's cache, as `make bench` does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rig import paths
from rig.cli import main
from rig.errors import EXIT_BAD_INPUT
from rig.progress import Progress
from rig.report import run_report
from rig.run import pipeline, plan, settings
from tests import trees

pytestmark = pytest.mark.e2e


def test_baseline_boots_passes_the_gates_and_measures_two_sizes(tmp_path: Path) -> None:
    chosen = settings.override(
        settings.load(paths.DEFAULT_BENCH_CONFIG),
        {"patches": (), "sizes": ("4K", "1M"), "seconds": 1, "repeat": 1},
    )
    inputs = plan.resolve_inputs(chosen, None, tmp_path, paths.cache_root())
    outcome = pipeline.run(inputs, Progress(quiet=True), run_report.write)
    assert outcome.failed_variants == []
    run_dir = outcome.path

    assert (tmp_path / "latest").resolve() == run_dir.resolve()
    frame = pd.read_csv(run_dir / "results.csv")
    assert list(frame["size_bytes"]) == [4096, 1024 * 1024]
    assert (frame["unmap_us"] > 0).all() and (frame["map_us"] > 0).all()
    # A 1M unmap clears 256 PTEs one sync at a time in the baseline: far slower than 4K.
    assert frame["unmap_us"].iloc[1] > 5 * frame["unmap_us"].iloc[0]

    record = json.loads((run_dir / "run.json").read_text())
    boot, checks = record["boots"]
    assert (boot["kind"], checks["kind"]) == ("timed", "checks")
    assert (
        boot["expected_release"].startswith("6.1.") and "-rig-baseline-" in boot["expected_release"]
    )
    assert {g["name"]: g["passed"] for g in boot["gates"]} == {
        "kernel identity": True,
        "kernel page size": True,
        "arm-smmu probed": True,
        "device in an IOMMU group": True,
        "benchmark driver bound": True,
        "TLB invalidation mode": True,
        "table walk coherency": True,
        "device DMA coherency": True,
        "page sizes": True,
        "io-pgtable selftest": True,
    }
    # QEMU marks the whole machine coherent at the DT root; the model's node says
    # otherwise, as its ID0.CTTW does.
    node = record["qemu"]["dtb_smmu_node"]
    assert node.startswith("/iommu@")
    assert record["qemu"]["dtb_edits"] == [f"added dma-noncoherent to {node} (/ says dma-coherent)"]
    console = (run_dir / boot["console_log"]).read_text()
    assert f"SMMU-RIG-READY release={boot['expected_release']}" in console
    assert (run_dir / "summary.md").exists() and (run_dir / "latency.png").exists()

    # The checks boot moved real data through the SMMU and traced the unmap path: the
    # unpatched kernel syncs once per PTE.
    verdict = json.loads((run_dir / "correctness.json").read_text())["baseline"]
    assert verdict["verdict"] == "passed"
    assert [c["name"] for c in verdict["checks"]] == [
        "gates",
        "console watch",
        "QEMU sanitizers",
        "DMA after unmap",
        "DMA integrity",
        "page-table syncs per unmap",
    ]
    (sanitizers,) = [c for c in verdict["checks"] if c["name"] == "QEMU sanitizers"]
    assert (
        "cache-maintenance violation (strict non-coherent view), stale translation"
        in (sanitizers["detail"])
    )
    counted = {
        int(row["size_bytes"]): row
        for row in pd.read_csv(run_dir / "counters.csv").to_dict("records")
    }
    assert counted[4096]["syncs_per_unmap"] == 1
    assert counted[1024 * 1024]["syncs_per_unmap"] == 256
    assert counted[1024 * 1024]["syncs_min"] == counted[1024 * 1024]["syncs_max"] == 256
    assert counted[1024 * 1024]["tlb_add_page_per_unmap"] == 256


def test_patch_that_does_not_apply_stops_before_building_and_leaves_the_tree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = "drivers/iommu/io-pgtable-arm.c"
    broken = tmp_path / "stale.patch"
    broken.write_text(
        f"--- a/{target}\n+++ b/{target}\n@@ -256,3 +256,3 @@\n"
        " static void __arm_lpae_clear_pte(arm_lpae_iopte *ptep)\n"
        "-{\n+{ /* stale context */\n \n"
    )
    kernel = trees.default_tree()
    before = trees.read_unpatched(kernel, target)
    code = main(
        [
            "bench",
            "--patch",
            str(broken),
            "--sizes",
            "4K",
            "--repeat",
            "1",
            "--out",
            str(tmp_path / "results"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert "patch stale (stale.patch) does not apply" in err
    assert "Hunk #1 FAILED" in err and "stale context" in err
    assert trees.read_unpatched(kernel, target) == before
    assert not (tmp_path / "results" / "latest").exists()


def test_aa_run_reports_no_significant_change(tmp_path: Path) -> None:
    """The baseline against a second build of itself, through the whole pipeline."""
    code = main(
        [
            "bench",
            "--patch",
            "none",
            "--sizes",
            "4K,64K,1M",
            "--repeat",
            "3",
            "--no-counters",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 0
    run_dir = (tmp_path / "latest").resolve()
    record = json.loads((run_dir / "run.json").read_text())
    releases = [v["release"] for v in record["variants"]]
    assert [v["name"] for v in record["variants"]] == ["baseline", "aa-control"]
    assert releases[0] != releases[1]  # two separately labelled builds of one tree
    summary = (run_dir / "summary.md").read_text()
    for metric in ("Unmap", "Map"):
        section = summary.split(f"## {metric} latency (us)")[1]
        verdicts = next(line for line in section.splitlines() if line.startswith("Verdicts:"))
        assert verdicts == "Verdicts: aa-control: no significant change at 4K, 64K, 1M."
