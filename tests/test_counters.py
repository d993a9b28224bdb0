"""The counting pass: the guest-side awk program run here on a function_graph trace."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from rig import counters
from rig.errors import RunFailed

MIB = 1024 * 1024


def run_awk_on(trace: Path) -> str:
    program = counters._AWK.replace(f"{counters.TRACING}/trace", str(trace))
    return subprocess.run(["sh", "-c", program], capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(shutil.which("awk") is None, reason="no awk")
def test_counts_only_complete_unmap_blocks(data_dir: Path) -> None:
    counted = counters.parse(run_awk_on(data_dir / "trace-graph-unmap.txt"), "test")
    assert counted.unmap_calls == 2
    assert counted.syncs == 4 and counted.syncs_min == 2 and counted.syncs_max == 2
    assert counted.tlb_add_page == 4 and counted.tlb_sync == 2
    assert counted.per_unmap(counted.syncs) == 2.0


def test_lost_events_or_no_complete_block_fail() -> None:
    line = "RIG-COUNT unmaps={} syncs=0 tlb_add_page=0 tlb_sync=0 syncs_min=0 syncs_max=0 lost={}"
    with pytest.raises(RunFailed, match="lost events"):
        counters.parse(line.format(5, 1), "x")
    with pytest.raises(RunFailed, match="no complete unmap"):
        counters.parse(line.format(0, 0), "x")


@pytest.mark.parametrize(
    ("size", "coherent", "page_only", "expected"),
    [
        (4096, False, False, 1),
        (MIB, False, False, 1),
        (2 * MIB, False, False, 1),  # one block entry
        (4 * MIB, False, False, 1),  # two block entries, one table
        (3 * MIB, False, False, 2),  # a block plus a leaf table
        (2 * MIB, False, True, 1),  # 512 PTEs fill one leaf table
        (4 * MIB, False, True, 2),  # 1024 PTEs in two leaf tables
        (MIB, True, False, 0),  # a coherent walk needs no sync
    ],
)
def test_minimum_syncs(size: int, coherent: bool, page_only: bool, expected: int) -> None:
    assert counters.minimum_syncs(size, coherent=coherent, page_size_only=page_only) == expected
