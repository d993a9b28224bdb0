"""Fast but wrong: each broken form of the batched unmap is FAILED by its named check,
on both SMMUs' non-coherent profiles, while the merged form passes.

The broken patches (tests/data/patches/) are the merged form with one mistake each:
the clean after clearing cut to the first entry (only a non-coherent walker notices),
no TLB invalidation of the unmapped pages, and an invalidation of the first page only
(the SMMU keeps translating the others). Under TCG none of them corrupts anything the
benchmark sees; the QEMU sanitizers name them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rig.cli import main

pytestmark = pytest.mark.e2e
PATCHES = Path(__file__).parent / "data" / "patches"
EXPECTED = {
    "broken-partial-clean": "console: cache-maintenance violation",
    "broken-no-tlbi": "console: stale translation",
    "broken-tlbi-first-page": "console: stale translation",
}


@pytest.mark.parametrize("profile", ["smmuv3-noncoherent", "mmu500-noncoherent"])
def test_each_broken_class_is_failed_by_its_named_check(tmp_path: Path, profile: str) -> None:
    broken = [str(PATCHES / f"{name}.patch") for name in EXPECTED]
    code = main(
        [
            "bench",
            "--profile",
            profile,
            "--patch",
            ",".join(["final", *broken]),
            "--sizes",
            "64K,1M",
            "--repeat",
            "1",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 1
    run = (tmp_path / "latest").resolve()
    verdicts = json.loads((run / "correctness.json").read_text())
    assert verdicts["final"]["verdict"] == "passed", verdicts["final"]
    for variant, check in EXPECTED.items():
        failed = [c["name"] for c in verdicts[variant]["checks"] if not c["passed"]]
        assert check in failed, (variant, failed)
        # Named, not found by a command running into its timeout.
        assert not any("timeout" in name for name in failed), (variant, failed)
