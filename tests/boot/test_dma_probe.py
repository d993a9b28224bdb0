"""Reading pci-dma-probe's counters in a checks boot, and what fails the check."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rig.boot import dma_probe
from rig.errors import RunFailed

GOOD = """probes=0x00000010
pages=0x00000100
leaked=0x00000000
refused=0x00000000
map_probes=0x00000010
map_pages=0x00000100
missing=0x00000000
"""


def test_the_counters_are_read_from_devmem_output() -> None:
    counts = dma_probe.parse(GOOD)
    assert counts == dma_probe.ProbeCounts(16, 256, 0, 0, 16, 256, 0)
    assert dma_probe.problem(replace(counts, sg_passes=dma_probe.SG_RUNS)) is None
    assert "16 ranges (256 pages)" in dma_probe.describe(counts)


def test_the_command_reads_every_counter_from_bar0() -> None:
    command = dma_probe.registers_command("0000:00:01.0")
    assert "/sys/bus/pci/devices/0000:00:01.0/resource" in command
    for offset in ("0x1c", "0x20", "0x24", "0x28", "0x2c", "0x30", "0x34"):
        assert f"$((bar + {offset}))" in command


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("leaked", "0x00000003", "3 of 256 pages read right after their unmap still translated"),
        ("missing", "0x00000002", "2 of 256 pages read right after their map did not translate"),
        ("refused", "0x00000001", "refused 1"),
        ("probes", "0x00000000", "never ran"),
        ("map_probes", "0x00000000", "never ran"),
    ],
)
def test_each_bad_count_is_named(field: str, value: str, words: str) -> None:
    text = GOOD.replace(f"\n{field}=", f"\n{field}=").replace(
        next(line for line in GOOD.splitlines() if line.startswith(f"{field}=")),
        f"{field}={value}",
    )
    problem = dma_probe.problem(dma_probe.parse(text))
    assert problem is not None and words in problem


def test_missing_counters_fail_by_the_checks_name() -> None:
    with pytest.raises(RunFailed) as caught:
        dma_probe.parse("probes=0x1\n")
    assert caught.value.check == dma_probe.CHECK
    assert "pages" in caught.value.message


def test_totals_add_up_over_boots() -> None:
    one = dma_probe.parse(GOOD)
    assert dma_probe.total([one, one]).map_pages == 512


def test_the_scatter_gather_pass_is_known_by_the_mode_the_tool_names() -> None:
    ran = (
        "dma mapping benchmark(SG_MODE): threads:1 seconds:1 node:-1 dir:BIDIRECTIONAL "
        "granule:512\naverage map latency(us):900.1 standard deviation:3.0\n"
        "average unmap latency(us):400.2 standard deviation:2.0\n"
    )
    refused = "dma_map_benchmark: invalid option -- 'm'\n"
    single = ran.replace("SG_MODE", "SINGLE_MODE")
    assert dma_probe.ran_sg(ran)
    assert not dma_probe.ran_sg(refused)
    assert not dma_probe.ran_sg(single)
    assert "-m 1" in dma_probe.sg_command(dma_bits=32)
    counts = dma_probe.ProbeCounts(1, 1, 0, 0, 1, 1, 0, sg_runs=1, sg_passes=3)
    assert "3 last-level tables freed" in dma_probe.describe(counts)
    assert "and 1 run of the benchmark's scatter-gather mode" in dma_probe.describe(counts)
    assert "has no scatter-gather mode" in dma_probe.describe(dma_probe.parse(GOOD))


def test_the_support_patch_counts_the_tables_it_freed() -> None:
    command = dma_probe.sg_passes_command()
    assert command.startswith("echo 16 > /sys/module/dma_iommu/parameters/rig_sg_run")
    assert "rig_sg_passes" in command
    assert dma_probe.parse_sg_passes("sg_passes=12\n") == 12
    # A kernel without the counter is not a kernel that freed nothing.
    with pytest.raises(RunFailed, match="dma-probe support patch"):
        dma_probe.parse_sg_passes("sg_passes=none\n")


def test_passes_that_freed_no_table_fail_the_check() -> None:
    counts = replace(dma_probe.parse(GOOD), sg_passes=dma_probe.SG_RUNS)
    assert dma_probe.problem(counts) is None
    problem = dma_probe.problem(replace(counts, sg_passes=3))
    assert problem is not None and "3 of the support patch's 16" in problem
    assert "walk flush of a freed table went unchecked" in problem
