"""Counting the mechanism, not timing it: page-table syncs and TLB calls per unmap.

A separate boot per variant runs the same benchmark with the kernel's function-graph
tracer limited to the DMA unmap path, for a short window once the benchmark is in
its steady state. Only complete unmap calls inside the window count: each is an
`iommu_dma_unmap_page() { ... }` block, and what is nested in it is what that one
unmap did. The timed boots never have tracing switched on.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rig.boot import io_pages
from rig.errors import RunFailed
from rig.sizes import PAGE_SIZE

# tracefs, mounted by the guest's /init (not under debugfs: 7.x no longer puts it there).
TRACING = "/sys/kernel/tracing"
# dma-iommu's unmap of one mapping: one call per dma_unmap_single. Linux 7.x moved the DMA
# API to physical addresses and renamed it.
UNMAP_FUNCTIONS = ("iommu_dma_unmap_page", "iommu_dma_unmap_phys")
# io-pgtable's clean of page-table writes (non-coherent walk). Linux 6.1 can trace the
# function by this name; since 6.11 it is a static inline around the second name.
SYNC_FUNCTIONS = ("dma_sync_single_for_device", "__dma_sync_single_for_device")
# Since 6.12 the tracepoint dma:dma_sync_single_for_device, with the size cleaned.
SYNC_EVENT = "dma/dma_sync_single_for_device"
# iommu_flush_ops.tlb_add_page of arm-smmu-v3 and of arm-smmu (SMMUv2, stage 1).
TLB_ADD_PAGE = ("arm_smmu_tlb_inv_page_nosync", "arm_smmu_tlb_add_page_s1")
TLB_SYNC = "arm_smmu_iotlb_sync"  # both drivers' iotlb_sync: the gathered invalidation
CANDIDATES = (*UNMAP_FUNCTIONS, *SYNC_FUNCTIONS, *TLB_ADD_PAGE, TLB_SYNC)
WARMUP_US = 200_000
WINDOW_US = 100_000

# What this kernel can trace: the candidates it lists, and whether it has the event.
PROBE = (
    f"test -r {TRACING}/available_filter_functions || echo RIG-NO-FUNCTION-TRACER; "
    f"grep -E '^({'|'.join(CANDIDATES)})( |$)' {TRACING}/available_filter_functions; "
    f"test -d {TRACING}/events/{SYNC_EVENT} && echo RIG-EVENT {SYNC_EVENT}; true"
)


@dataclass(frozen=True)
class TracePlan:
    """What one kernel's counting pass traces, resolved from what it offers."""

    # The unmap whose calls are counted, and whose graph holds what one unmap did.
    unmap: str
    # The function whose calls are syncs; None when the event counts them.
    sync_function: str | None
    # dma:dma_sync_single_for_device: one event per sync, with the bytes cleaned.
    sync_event: bool
    tlb_add_page: tuple[str, ...]

    @property
    def functions(self) -> tuple[str, ...]:
        sync = (self.sync_function,) if self.sync_function else ()
        return (self.unmap, *sync, *self.tlb_add_page, TLB_SYNC)


def resolve(probe_output: str, kernel: str) -> TracePlan:
    """The trace plan for a kernel, from PROBE's output there; a kernel that lacks what
    counting needs is named with what it lacks."""
    listed = {line.split()[0] for line in probe_output.splitlines() if line.strip()}
    listed.discard("RIG-NO-FUNCTION-TRACER")
    event = f"RIG-EVENT {SYNC_EVENT}" in probe_output

    def missing(what: str) -> RunFailed:
        return RunFailed(
            f"counting pass: kernel {kernel} has no {what}; syncs and TLB calls per unmap "
            "cannot be counted on it (run with --no-counters to measure without them)",
            excerpt=probe_output,
            check="counters",
        )

    if "RIG-NO-FUNCTION-TRACER" in probe_output:
        raise missing(f"function tracer ({TRACING}/available_filter_functions is missing)")
    unmap = next((name for name in UNMAP_FUNCTIONS if name in listed), None)
    if unmap is None:
        raise missing(
            f"traceable {' or '.join(UNMAP_FUNCTIONS)} (not in available_filter_functions)"
        )
    sync_function = next((name for name in SYNC_FUNCTIONS if name in listed), None)
    if not event and sync_function is None:
        raise missing(
            f"tracepoint {SYNC_EVENT.replace('/', ':')} and no traceable "
            + " or ".join(SYNC_FUNCTIONS)
        )
    tlb_add_page = tuple(name for name in TLB_ADD_PAGE if name in listed)
    if not tlb_add_page or TLB_SYNC not in listed:
        raise missing(f"traceable TLB maintenance ({', '.join((*TLB_ADD_PAGE, TLB_SYNC))})")
    return TracePlan(unmap, None if event else sync_function, event, tlb_add_page)


def setup_commands(plan: TracePlan) -> list[str]:
    commands = [
        f"echo 0 > {TRACING}/tracing_on",
        f"echo nop > {TRACING}/current_tracer",
        f"echo 16384 > {TRACING}/buffer_size_kb",
        f"echo '{' '.join(plan.functions)}' > {TRACING}/set_ftrace_filter",
        f"echo {plan.unmap} > {TRACING}/set_graph_function",
        f"echo 0 > {TRACING}/options/funcgraph-irqs",
    ]
    if plan.sync_event:
        commands.append(f"echo 1 > {TRACING}/events/{SYNC_EVENT}/enable")
    commands.append(f"echo function_graph > {TRACING}/current_tracer")
    return commands


def awk_program(plan: TracePlan, trace: str = f"{TRACING}/trace") -> str:
    """Counts complete unmap blocks of the function_graph output and what they contain.

    A block opens at the unmap's `name() {` and closes at its matching `}`; nested
    blocks (a traced call that holds an event) are followed by depth. Syncs are the
    event's lines, whose `size=` is summed, or the sync function's calls. Braces go in
    bracket expressions: busybox awk takes a bare { as an interval.
    """
    if plan.sync_event:
        sync = "/dma_sync_single_for_device: / { s++; "
        sync += "if (match($0, /size=[0-9]+/)) b += substr($0, RSTART + 5, RLENGTH - 5) } "
    else:
        sync = f"/{plan.sync_function}\\(\\)/ {{ s++ }} "
    return (
        "awk '"
        "/LOST/ { lost++ } "
        f"!inb && /{plan.unmap}\\(\\) [{{]/ {{ inb=1; d=1; s=0; a=0; y=0; b=0; next }} "
        "!inb { next } " + sync + f"/({'|'.join(plan.tlb_add_page)})\\(\\)/ {{ a++ }} "
        f"/{TLB_SYNC}\\(\\)/ {{ y++ }} "
        "/\\(\\) [{]/ { d++ } "
        "/[}]/ && !/[{]/ { d--; if (d == 0) { n++; S+=s; A+=a; Y+=y; "
        "B += b; "
        "if (n == 1 || s < smin) smin=s; if (s > smax) smax=s; inb=0 } } "
        'END { printf "RIG-COUNT unmaps=%d syncs=%d tlb_add_page=%d tlb_sync=%d '
        'syncs_min=%d syncs_max=%d lost=%d bytes=%d\\n", n, S, A, Y, smin, smax, lost, '
        f"{'B' if plan.sync_event else -1} }}"
        f"' {trace}"
    )


_RESULT = re.compile(
    r"RIG-COUNT unmaps=(\d+) syncs=(\d+) tlb_add_page=(\d+) tlb_sync=(\d+) "
    r"syncs_min=(\d+) syncs_max=(\d+) lost=(\d+) bytes=(-?\d+)"
)


@dataclass(frozen=True)
class UnmapCounts:
    unmap_calls: int
    syncs: int
    tlb_add_page: int
    tlb_sync: int
    syncs_min: int
    syncs_max: int
    # Bytes of page table cleaned to the point of coherency, from the event's sizes;
    # None where the kernel has no such event.
    bytes_cleaned: int | None = None

    def per_unmap(self, total: int) -> float:
        return total / self.unmap_calls


def window_commands(plan: TracePlan, benchmark_command: str) -> list[str]:
    """Start the benchmark, trace a window of its steady state, count, wait for it.

    The count runs in the benchmark's last 700 ms (the window is closed by then): what
    it reads is fixed, and the guest's CPU is busy either way, so the boot is shorter
    by the count's time. The command's status is the benchmark's."""
    return [
        f"echo > {TRACING}/trace",
        f"{benchmark_command} > /tmp/bench.out 2>&1 & "
        f"usleep {WARMUP_US}; echo 1 > {TRACING}/tracing_on; usleep {WINDOW_US}; "
        f"echo 0 > {TRACING}/tracing_on; {awk_program(plan)}; wait $!",
    ]


def parse(output: str, what: str) -> UnmapCounts:
    found = _RESULT.search(output)
    if not found:
        raise RunFailed(f"counting pass for {what}: no counts from the trace", excerpt=output)
    unmaps, syncs, add_page, tlb_sync, smin, smax, lost, cleaned = (int(v) for v in found.groups())
    if lost:
        raise RunFailed(f"counting pass for {what}: the trace lost events; counts are partial")
    if unmaps == 0:
        raise RunFailed(
            f"counting pass for {what}: no complete unmap call in the {WINDOW_US // 1000} ms "
            "trace window"
        )
    return UnmapCounts(
        unmaps, syncs, add_page, tlb_sync, smin, smax, None if cleaned < 0 else cleaned
    )


def entry_bytes_cleared(
    size_bytes: int, *, coherent: bool, page_size_only: bool, granule: int = PAGE_SIZE
) -> int:
    """Bytes of page-table entries an unmap of this size clears, which a non-coherent walk
    needs cleaned to the point of coherency (nothing for a coherent walk): 8 per entry, a
    block entry per naturally aligned leaf-table span (2M with a 4K granule) when blocks
    are on offer and a PTE per granule of the rest (every granule with PAGE_SIZE
    mappings only)."""
    if coherent:
        return 0
    if page_size_only:
        return 8 * (size_bytes // granule)
    blocks, rest = divmod(size_bytes, io_pages.leaf_table_span(granule))
    return 8 * (blocks + rest // granule)


def minimum_syncs(
    size_bytes: int, *, coherent: bool, page_size_only: bool, granule: int = PAGE_SIZE
) -> int:
    """The fewest page-table syncs an unmap of this size can do: one per table touched.

    A coherent walk needs none. With every size on offer, a naturally aligned buffer
    of a leaf-table span (2M with a 4K granule) or more is block entries in one
    table, and what is left over below it is PTEs in one leaf table. With PAGE_SIZE
    mappings only, every span of the buffer fills its own leaf table.
    """
    if coherent:
        return 0
    span = io_pages.leaf_table_span(granule)
    if page_size_only:
        return max(1, math.ceil(size_bytes / span))
    return int(size_bytes >= span) + int(size_bytes % span != 0)
