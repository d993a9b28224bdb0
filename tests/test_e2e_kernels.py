"""End to end on today's kernels: Debian's 7.2 (sid), fetched by name, measured by the
revert of the change it already carries, with every gate, check and counter.

The first run downloads and builds 7.2 (a few minutes); later runs reuse the cache.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rig.cli import main
from rig.errors import EXIT_BAD_INPUT, EXIT_OK

pytestmark = pytest.mark.e2e
KERNEL = "debian:7.2"
REVERT = "revert-final-7-2"


def test_7_2_by_name_measured_by_its_revert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "bench",
            "--kernel",
            KERNEL,
            "--patch",
            "revert:final-7.2",
            "--sizes",
            "4K,1M",
            "--repeat",
            "1",
            "--quiet",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == EXIT_OK, capsys.readouterr().err
    (run,) = (p for p in tmp_path.iterdir() if p.is_dir() and not p.is_symlink())
    record = json.loads((run / "run.json").read_text())
    source = record["kernel"]["source"]
    assert source["package"] == "linux-source-7.2" and record["kernel"]["version"].startswith("7.2")
    assert record["kernel"]["config_fragment_pieces"] == ["smmu-rig.config", "lpae-kunit.config"]
    revert = next(v for v in record["variants"] if v["name"] == REVERT)
    assert [(p["file"], p["reverse"]) for p in revert["patches"]] == [("final-7.2.patch", True)]
    assert revert["release"].startswith("7.2") and f"-rig-{REVERT}-" in revert["release"]
    # Every gate passed, the KUnit form of the page-table test among them.
    gates = [g for boot in record["boots"] for g in boot["gates"]]
    selftest = [g for g in gates if g["name"] == "io-pgtable selftest"]
    assert selftest and all(g["passed"] for g in gates)
    assert all("KUnit io-pgtable-arm-test: ok" in g["detail"] for g in selftest)
    # Counted with the dma:dma_sync_single_for_device event: the upstream code syncs once
    # per unmap, its revert once per PTE; the same bytes are cleaned either way.
    counted = pd.read_csv(run / "counters.csv").set_index(["variant", "size_bytes"])
    assert counted.loc[("baseline", 1 << 20), "syncs_per_unmap"] == 1
    assert counted.loc[(REVERT, 1 << 20), "syncs_per_unmap"] == 256
    assert counted.loc[(REVERT, 1 << 20), "bytes_cleaned_per_unmap"] == 2048
    assert counted.loc[("baseline", 1 << 20), "bytes_cleaned_per_unmap"] == 2048
    # Reported like the seed's tables: without (the revert) | with (upstream) | % improvement.
    text = (run / "summary.md").read_text()
    assert f"Revert run: the tree already carries the change. `{REVERT}`" in text
    row_1m = next(
        line for line in text.split("## Unmap")[1].splitlines() if line.startswith("| 1M")
    )
    cells = [cell.strip() for cell in row_1m.strip("|").split("|")]
    without_us, with_us, change = float(cells[1]), float(cells[3]), float(cells[5].rstrip("%"))
    assert without_us > with_us and change > 40  # one boot each: no verdict, only the change
    verdicts = json.loads((run / "correctness.json").read_text())
    assert {name: v["verdict"] for name, v in verdicts.items()} == {
        "baseline": "passed",
        REVERT: "passed",
    }


def test_a_forward_patch_7_2_already_carries_names_the_revert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["build", "--kernel", KERNEL, "--patch", "final-7.2", "--quiet"])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT, err
    assert "is already in" in err and "--patch revert:" in err and "final-7.2.patch" in err
    assert "FAILED" not in err
