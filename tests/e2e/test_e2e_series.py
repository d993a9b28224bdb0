"""End to end with a variant that is a series: the 6.1 RFC, then the review's changes.

`rfc+rfc-to-final.patch` must build the merged form: the same latencies and counts
as `final`, which is measured beside it, under icount.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rig.cli import main
from rig.errors import EXIT_BAD_INPUT, EXIT_OK
from tests import locations, trees

pytestmark = pytest.mark.e2e
FIXUP = locations.TEST_PATCHES / "rfc-to-final.patch"
SERIES = "rfc-rfc-to-final"
TARGET = "drivers/iommu/io-pgtable-arm.c"


def test_the_rfc_and_its_fixup_measure_as_the_merged_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "bench",
            "--patch",
            f"final,rfc+{FIXUP}",
            "--sizes",
            "64K,1M",
            "--repeat",
            "1",
            "--quiet",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == EXIT_OK, capsys.readouterr().err
    run = (tmp_path / "latest").resolve()
    record = json.loads((run / "run.json").read_text())
    assert [v["name"] for v in record["variants"]] == ["baseline", "final", SERIES]
    series = record["variants"][2]
    assert [(p["file"], p["reverse"]) for p in series["patches"]] == [
        ("rfc.patch", False),
        ("rfc-to-final.patch", False),
    ]
    assert f"-rig-{SERIES}-" in series["release"]
    assert series["patch_sha256"] not in {p["sha256"] for p in series["patches"]}
    results = pd.read_csv(run / "results.csv")
    unmap = results.groupby(["variant", "size_bytes"])["unmap_us"].mean()
    for size in (64 << 10, 1 << 20):
        final = float(unmap.loc[("final", size)])
        assert abs(float(unmap.loc[(SERIES, size)]) - final) <= 0.01 * final
    counted = pd.read_csv(run / "counters.csv").set_index(["variant", "size_bytes"])
    columns = ["syncs_per_unmap", "tlb_add_page_per_unmap", "tlb_sync_per_unmap"]
    for size in (64 << 10, 1 << 20):
        final_counts = counted.loc[("final", size), columns]
        assert final_counts.equals(counted.loc[(SERIES, size), columns])
        assert final_counts["syncs_per_unmap"] == 1
    verdicts = json.loads((run / "correctness.json").read_text())
    assert {name: v["verdict"] for name, v in verdicts.items()} == {
        "baseline": "passed",
        "final": "passed",
        SERIES: "passed",
    }
    assert "rfc.patch + rfc-to-final.patch" in (run / "report.html").read_text()


def test_a_part_that_does_not_apply_on_top_of_the_others_is_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Read under the rig's tree lock: a run on another make test worker patches (and
    # restores) the same tree under it.
    kernel = trees.default_tree()
    before = trees.read_unpatched(kernel, TARGET)
    code = main(["build", "--patch", "rfc+final", "--quiet"])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert "patch final (final.patch) does not apply to linux-source-6.1" in err
    # The default profile's support patch comes first in the chain it was tried on.
    assert "with dma-probe.patch + rfc.patch applied" in err and "Hunk #" in err
    assert trees.read_unpatched(kernel, TARGET) == before
