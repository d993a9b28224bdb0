"""The DMA probe of checks boots: what pci-dma-probe saw around the benchmark's unmaps.

On profiles with a ``probe_device``, the checks boot's benchmark device is QEMU's
pci-dma-probe, and the support patch dma-probe has it read every page of each range
through the SMMU right after the map (all must translate, and the walks fill the
SMMU's IOTLB and walk cache as a device's first access would) and right after the
unmap was synced (none may). A translation left alive (a missing invalidation or
sync, a walk cache entry for a freed table) is used at once and counted by the
device, and the SMMU model's sanitizer names it on the console. The guest reads the
device's counters from its BAR with devmem after the benchmark has run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from rig.boot import benchmark
from rig.errors import RunFailed
from rig.sizes import PAGE_SIZE

CHECK = "DMA after unmap"

# BAR0 registers of pci-dma-probe (qemu/rig/hw/misc/pci-dma-probe.c), in this order.
_REGISTERS = (
    ("probes", 0x1C),
    ("pages", 0x20),
    ("leaked", 0x24),
    ("refused", 0x28),
    ("map_probes", 0x2C),
    ("map_pages", 0x30),
    ("missing", 0x34),
)


@dataclass(frozen=True)
class ProbeCounts:
    probes: int
    pages: int
    leaked: int
    refused: int
    map_probes: int
    map_pages: int
    missing: int
    # Runs of the benchmark's own scatter-gather mode (each unmap frees level-3
    # tables); 0 where the tool has no such mode.
    sg_runs: int = 0
    # The support patch's own scatter-gather passes (512 pages mapped and unmapped at
    # once over a 2M-aligned range): each unmap freed a level-3 table. Every kernel.
    sg_passes: int = 0


# Linux's unmap frees a level-3 table (and must flush the walk cache for it) only when
# a 2M-aligned range mapped with 4K pages is unmapped whole. The benchmark's own buffers
# are order-aligned at size-aligned IOVAs, so with blocks allowed they map as 2M blocks;
# its scatter-gather mode (Linux 7.x) maps 512 separate pages over 2M, which does it,
# and so, on every kernel, does the support patch (kernel-patches/support/dma-probe.patch)
# when asked, after the benchmark: SG_RUNS passes written to SG_RUN, those that freed a
# table counted in SG_PASSES.
SG_MODE = 1
SG_PAGES = 512
SG_RUNS = 16
SG_RUN = "/sys/module/dma_iommu/parameters/rig_sg_run"
SG_PASSES = "/sys/module/dma_iommu/parameters/rig_sg_passes"


def sg_command(*, dma_bits: int, page_size: int = PAGE_SIZE) -> str:
    """One second of scatter-gather maps of 2M in pages, where the tool has that mode; an
    older tool refuses the option (its complaint shows no mode: ``ran_sg`` says so)."""
    single = benchmark.command(
        SG_PAGES * PAGE_SIZE,
        threads=1,
        seconds=1,
        direction="BIDIRECTIONAL",
        dma_bits=dma_bits,
        page_size=page_size,
    )
    return f"{single} -m {SG_MODE} 2>&1; true"


def ran_sg(output: str) -> bool:
    """Whether the tool ran its scatter-gather mode (it names the mode it ran)."""
    try:
        measurement = benchmark.parse(output)
    except RunFailed:
        return False
    return measurement.map_mode is not None and "SG" in measurement.map_mode.upper()


def sg_passes_command() -> str:
    """Run the support patch's SG_RUNS passes, then print how many freed a table."""
    return (
        f"echo {SG_RUNS} > {SG_RUN} 2>/dev/null; "
        f"echo sg_passes=$(cat {SG_PASSES} 2>/dev/null || echo none)"
    )


def parse_sg_passes(output: str) -> int:
    """The support patch's scatter-gather passes; a kernel without the counter is an
    error, not 0 (its checks boot would free no table unnoticed)."""
    found = re.search(r"^sg_passes=(\d+)\s*$", output, re.MULTILINE)
    if found is None:
        raise RunFailed(
            f"could not read {SG_PASSES}: is the kernel built with the dma-probe "
            "support patch (kernel-patches/support/dma-probe.patch)?",
            excerpt=output,
            check=CHECK,
        )
    return int(found.group(1))


def registers_command(bdf: str) -> str:
    """Prints one 'name=value' line per counter, read from the device's BAR0."""
    reads = "; ".join(
        f"echo {name}=$(devmem $((bar + {offset:#x})) 32)" for name, offset in _REGISTERS
    )
    return (
        f"bar=$(head -n1 /sys/bus/pci/devices/{bdf}/resource | cut -d' ' -f1); "
        f"test $((bar)) -ne 0 && {{ {reads}; }}"
    )


def parse(output: str) -> ProbeCounts:
    values = dict(re.findall(r"^(\w+)=(0x[0-9A-Fa-f]+)\s*$", output, re.MULTILINE))
    missing = [name for name, _ in _REGISTERS if name not in values]
    if missing:
        raise RunFailed(
            f"could not read pci-dma-probe's counters ({', '.join(missing)} missing)",
            excerpt=output,
            check=CHECK,
        )
    return ProbeCounts(**{name: int(values[name], 16) for name, _ in _REGISTERS})


def problem(counts: ProbeCounts) -> str | None:
    """Why the probe's counts fail the check, or None."""
    if counts.leaked:
        return (
            f"{counts.leaked} of {counts.pages} pages read right after their unmap still "
            "translated through the SMMU"
        )
    if counts.missing:
        return (
            f"{counts.missing} of {counts.map_pages} pages read right after their map did "
            "not translate through the SMMU"
        )
    if counts.refused:
        return f"the probe refused {counts.refused} requests (bus mastering off?)"
    if not counts.probes or not counts.map_probes:
        return "the probe never ran: no map and unmap of the benchmark device rang it"
    if counts.sg_passes < SG_RUNS:
        return (
            f"{counts.sg_passes} of the support patch's {SG_RUNS} scatter-gather passes "
            "freed a last-level table (a span-aligned range of one table's pages, 2M "
            "of them with a 4K granule): the walk flush of a freed table went unchecked"
        )
    return None


def total(counts: list[ProbeCounts]) -> ProbeCounts:
    return ProbeCounts(
        **{f.name: sum(getattr(c, f.name) for c in counts) for f in fields(ProbeCounts)}
    )


def describe(counts: ProbeCounts) -> str:
    return (
        f"{counts.map_probes} ranges ({counts.map_pages} pages) read through the SMMU "
        f"right after their map, all translated; {counts.probes} ({counts.pages} pages) "
        "right after their unmap, none translated; "
        f"{counts.sg_passes} last-level tables freed by the probe's own scatter-gather "
        "unmaps of one table's span"
        + (
            f", and {counts.sg_runs} run of the benchmark's scatter-gather mode, whose "
            "unmaps free more"
            if counts.sg_runs
            else " (this kernel's benchmark has no scatter-gather mode)"
        )
    )
