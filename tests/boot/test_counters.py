"""The counting pass: the guest-side awk program run here on a function_graph trace."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from rig.boot import counters
from rig.errors import RunFailed

MIB = 1024 * 1024


# The plans Linux 6.1 and 6.12 resolve to (tests below derive them from captured lists).
PAGE = "iommu_dma_unmap_page"
PLAN_6_1 = counters.TracePlan(PAGE, "dma_sync_single_for_device", False, counters.TLB_ADD_PAGE)
PLAN_6_12 = counters.TracePlan(PAGE, None, True, counters.TLB_ADD_PAGE)


def run_awk_on(trace: Path, plan: counters.TracePlan) -> str:
    program = counters.awk_program(plan, str(trace))
    return subprocess.run(["sh", "-c", program], capture_output=True, text=True, check=True).stdout


def probe_output(data_dir: Path, kernel: str, event: bool) -> str:
    """What PROBE prints on a kernel: its listed candidates (from a captured
    available_filter_functions), and the event line where the event exists."""
    listed = (data_dir / f"available-filter-functions-{kernel}.txt").read_text().split()
    shown = [name for name in listed if name in counters.CANDIDATES]
    return "\n".join([*shown, *([f"RIG-EVENT {counters.SYNC_EVENT}"] if event else [])])


def test_linux_6_1_traces_the_sync_function(data_dir: Path) -> None:
    assert counters.resolve(probe_output(data_dir, "6.1", False), "6.1.192") == PLAN_6_1


def test_linux_6_12_counts_the_event_its_inline_sync_cannot_be_traced_by_name(
    data_dir: Path,
) -> None:
    listed = (data_dir / "available-filter-functions-6.12.txt").read_text().split()
    assert "dma_sync_single_for_device" not in listed  # a static inline since 6.11
    assert "__dma_sync_single_for_device" in listed
    assert counters.resolve(probe_output(data_dir, "6.12", True), "6.12.117") == PLAN_6_12
    # Without the event, the traceable wrapper is used instead of the inline's name.
    without = counters.resolve(probe_output(data_dir, "6.12", False), "6.12.117")
    assert without.sync_function == "__dma_sync_single_for_device"


def test_linux_7_2_unmaps_by_physical_address(data_dir: Path) -> None:
    """7.x moved the DMA API to physical addresses: the unmap hook is iommu_dma_unmap_phys."""
    listed = (data_dir / "available-filter-functions-7.2.txt").read_text().split()
    assert "iommu_dma_unmap_page" not in listed
    plan = counters.resolve(probe_output(data_dir, "7.2", True), "7.2.13")
    assert plan == counters.TracePlan("iommu_dma_unmap_phys", None, True, counters.TLB_ADD_PAGE)
    assert "echo iommu_dma_unmap_phys > " in "\n".join(counters.setup_commands(plan))
    assert "iommu_dma_unmap_phys\\(\\) [{]" in counters.awk_program(plan)


@pytest.mark.parametrize(
    ("drop", "named"),
    [
        ("iommu_dma_unmap_page", "no traceable iommu_dma_unmap_page or iommu_dma_unmap_phys"),
        ("dma_sync_single_for_device", "no tracepoint dma:dma_sync_single_for_device"),
        ("arm_smmu_iotlb_sync", "no traceable TLB maintenance"),
    ],
)
def test_a_kernel_lacking_what_counting_needs_is_named(
    data_dir: Path, drop: str, named: str
) -> None:
    output = "\n".join(
        line for line in probe_output(data_dir, "6.1", False).split("\n") if line != drop
    )
    with pytest.raises(RunFailed) as caught:
        counters.resolve(output, "6.1.192-rig-baseline-0000")
    assert "kernel 6.1.192-rig-baseline-0000" in caught.value.message
    assert named in caught.value.message and caught.value.check == "counters"


def test_setup_enables_the_event_only_where_it_is_used() -> None:
    assert not any("events/" in c for c in counters.setup_commands(PLAN_6_1))
    with_event = counters.setup_commands(PLAN_6_12)
    assert f"echo 1 > {counters.TRACING}/events/{counters.SYNC_EVENT}/enable" in with_event
    assert with_event[-1].endswith("current_tracer")  # tracing starts last
    filters = [c for c in with_event if "set_ftrace_filter" in c]
    assert filters and "dma_sync" not in filters[0]


@pytest.mark.skipif(shutil.which("awk") is None, reason="no awk")
def test_counts_only_complete_unmap_blocks(data_dir: Path) -> None:
    counted = counters.parse(run_awk_on(data_dir / "trace-graph-unmap.txt", PLAN_6_1), "test")
    assert counted.unmap_calls == 2
    assert counted.syncs == 4 and counted.syncs_min == 2 and counted.syncs_max == 2
    assert counted.tlb_add_page == 4 and counted.tlb_sync == 2
    assert counted.per_unmap(counted.syncs) == 2.0
    assert counted.bytes_cleaned is None  # 6.1 has no event with a size


@pytest.mark.skipif(shutil.which("awk") is None, reason="no awk")
def test_counts_events_and_bytes_on_a_6_12_trace(data_dir: Path) -> None:
    """Captured on Linux 6.12 (merged batched unmap), 64K buffers: one sync of 16 PTEs
    (128 bytes) and 16 TLB invalidations per unmap; the syncs of the map path between
    unmaps, and the block cut off by the window, are not counted."""
    trace = data_dir / "trace-graph-unmap-6.12-event.txt"
    counted = counters.parse(run_awk_on(trace, PLAN_6_12), "test")
    blocks = trace.read_text().count("iommu_dma_unmap_page() {")
    assert counted.unmap_calls in (blocks, blocks - 1) and counted.unmap_calls >= 3
    assert counted.syncs == counted.unmap_calls and counted.syncs_max == 1
    assert counted.bytes_cleaned == 128 * counted.unmap_calls
    assert counted.tlb_add_page == 16 * counted.unmap_calls
    assert counted.tlb_sync == counted.unmap_calls


@pytest.mark.skipif(shutil.which("awk") is None, reason="no awk")
def test_a_nested_sync_block_does_not_end_the_unmap(tmp_path: Path) -> None:
    """With the sync function traced and the event on, the sync is a block of its own
    inside the unmap; its closing brace is not the unmap's."""
    trace = tmp_path / "trace"
    trace.write_text(
        " 0)               |  iommu_dma_unmap_page() {\n"
        " 0)               |    __dma_sync_single_for_device() {\n"
        " 0)               |      /* dma_sync_single_for_device: smmu dir=TO_DEVICE "
        "dma_addr=42c8ef80 size=128 */\n"
        " 0) + 24.704 us   |    }\n"
        " 0) + 13.632 us   |    arm_smmu_tlb_inv_page_nosync();\n"
        " 0) + 29.920 us   |    arm_smmu_iotlb_sync();\n"
        " 0) ! 580.800 us  |  }\n"
    )
    plan = counters.TracePlan(PAGE, "__dma_sync_single_for_device", True, counters.TLB_ADD_PAGE)
    counted = counters.parse(run_awk_on(trace, plan), "test")
    assert (counted.unmap_calls, counted.syncs, counted.bytes_cleaned) == (1, 1, 128)
    assert (counted.tlb_add_page, counted.tlb_sync) == (1, 1)


def test_lost_events_or_no_complete_block_fail() -> None:
    line = (
        "RIG-COUNT unmaps={} syncs=0 tlb_add_page=0 tlb_sync=0 syncs_min=0 syncs_max=0 "
        "lost={} bytes=-1"
    )
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


def test_a_kernel_without_the_function_tracer_is_named() -> None:
    output = (
        "RIG-NO-FUNCTION-TRACER\ngrep: /sys/kernel/tracing/available_filter_functions: "
        "No such file or directory"
    )
    with pytest.raises(RunFailed) as caught:
        counters.resolve(output, "7.2.13-rig-baseline-0000")
    assert "kernel 7.2.13-rig-baseline-0000 has no function tracer" in caught.value.message
