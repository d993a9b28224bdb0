"""End to end on today's kernels: Debian's 6.12 (bookworm-security) and 7.2 (sid),
fetched by name, each measured by the revert of the change it already carries, with
every gate, check and counter.

The first run downloads and builds each kernel (a few minutes); later runs reuse the cache.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from rig.cli import main
from rig.errors import EXIT_BAD_INPUT, EXIT_OK

pytestmark = pytest.mark.e2e
KERNEL = "debian:7.2"


@dataclass(frozen=True)
class Today:
    """What one of today's kernels must show."""

    version: str
    package: str
    # The LPAE page-table test the tree offers: the boot selftest, or the KUnit suite.
    lpae_piece: str
    selftest_detail: str


TODAY = (
    Today("6.12", "linux-source-6.12", "lpae-selftest.config", "PASS 0 FAIL"),
    Today("7.2", "linux-source-7.2", "lpae-kunit.config", "KUnit io-pgtable-arm-test: ok"),
)


@pytest.mark.parametrize("today", TODAY, ids=[t.version for t in TODAY])
def test_today_by_name_measured_by_its_revert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], today: Today
) -> None:
    revert = f"revert-final-{today.version.replace('.', '-')}"
    code = main(
        [
            "bench",
            "--kernel",
            f"debian:{today.version}",
            "--patch",
            f"revert:final-{today.version}",
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
    assert source["package"] == today.package
    assert record["kernel"]["version"].startswith(f"{today.version}.")
    assert record["kernel"]["config_fragment_pieces"] == ["smmu-rig.config", today.lpae_piece]
    variant = next(v for v in record["variants"] if v["name"] == revert)
    assert [(p["file"], p["reverse"]) for p in variant["patches"]] == [
        (f"final-{today.version}.patch", True)
    ]
    assert variant["release"].startswith(today.version) and f"-rig-{revert}-" in variant["release"]
    # Every gate passed, the tree's form of the page-table test among them.
    gates = [g for boot in record["boots"] for g in boot["gates"]]
    selftest = [g for g in gates if g["name"] == "io-pgtable selftest"]
    assert selftest and all(g["passed"] for g in gates)
    assert all(today.selftest_detail in g["detail"] for g in selftest)
    # Counted with the dma:dma_sync_single_for_device event: the upstream code syncs once
    # per unmap, its revert once per PTE; the same bytes are cleaned either way.
    counted = pd.read_csv(run / "counters.csv").set_index(["variant", "size_bytes"])
    assert counted.loc[("baseline", 1 << 20), "syncs_per_unmap"] == 1
    assert counted.loc[(revert, 1 << 20), "syncs_per_unmap"] == 256
    assert counted.loc[(revert, 1 << 20), "bytes_cleaned_per_unmap"] == 2048
    assert counted.loc[("baseline", 1 << 20), "bytes_cleaned_per_unmap"] == 2048
    # Reported like the seed's tables: without (the revert) | with (upstream) | % improvement.
    text = (run / "summary.md").read_text()
    assert f"Revert run: the tree already carries the change. `{revert}`" in text
    row_1m = next(
        line for line in text.split("## Unmap")[1].splitlines() if line.startswith("| 1M")
    )
    cells = [cell.strip() for cell in row_1m.strip("|").split("|")]
    without_us, with_us, change = float(cells[1]), float(cells[3]), float(cells[5].rstrip("%"))
    assert without_us > with_us and change > 40  # one boot each: no verdict, only the change
    verdicts = json.loads((run / "correctness.json").read_text())
    assert {name: v["verdict"] for name, v in verdicts.items()} == {
        "baseline": "passed",
        revert: "passed",
    }


def test_a_forward_patch_7_2_already_carries_names_the_revert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["build", "--kernel", KERNEL, "--patch", "final-7.2", "--quiet"])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT, err
    assert "is already in" in err and "--patch revert:" in err and "final-7.2.patch" in err
    assert "FAILED" not in err
