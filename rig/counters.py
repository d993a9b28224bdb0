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

from rig.errors import RunFailed

TRACING = "/sys/kernel/debug/tracing"
UNMAP = "iommu_dma_unmap_page"  # the dma_map_ops unmap_page hook: one call per dma_unmap_single
SYNC = "dma_sync_single_for_device"  # io-pgtable's clean of page-table writes (non-coherent walk)
# iommu_flush_ops.tlb_add_page of arm-smmu-v3 and of arm-smmu (SMMUv2, stage 1).
TLB_ADD_PAGE = ("arm_smmu_tlb_inv_page_nosync", "arm_smmu_tlb_add_page_s1")
TLB_SYNC = "arm_smmu_iotlb_sync"  # both drivers' iotlb_sync: the gathered invalidation
TRACED = (UNMAP, SYNC, *TLB_ADD_PAGE, TLB_SYNC)
LEAF_TABLE_SPAN = 2 * 1024 * 1024  # one 4K-granule leaf table maps 2M
WARMUP_US = 200_000
WINDOW_US = 100_000

SETUP = (
    f"echo 0 > {TRACING}/tracing_on",
    f"echo nop > {TRACING}/current_tracer",
    f"echo 16384 > {TRACING}/buffer_size_kb",
    f"echo '{' '.join(TRACED)}' > {TRACING}/set_ftrace_filter",
    f"echo {UNMAP} > {TRACING}/set_graph_function",
    f"echo 0 > {TRACING}/options/funcgraph-irqs",
    f"echo function_graph > {TRACING}/current_tracer",
)

# Counts complete unmap blocks of the function_graph output and what they contain.
# Braces go in bracket expressions: busybox awk takes a bare { as an interval.
_AWK = (
    "awk '"
    "/LOST/ { lost++ } "
    f"/{UNMAP}\\(\\) [{{]/ {{ inb=1; s=0; a=0; y=0; next }} "
    f"inb && /{SYNC}\\(\\);/ {{ s++; next }} "
    f"inb && /({'|'.join(TLB_ADD_PAGE)})\\(\\);/ {{ a++; next }} "
    f"inb && /{TLB_SYNC}\\(\\);/ {{ y++; next }} "
    "inb && /[}]/ { n++; S+=s; A+=a; Y+=y; if (n==1 || s<smin) smin=s; if (s>smax) smax=s; "
    "inb=0; next } "
    'END { printf "RIG-COUNT unmaps=%d syncs=%d tlb_add_page=%d tlb_sync=%d '
    'syncs_min=%d syncs_max=%d lost=%d\\n", n, S, A, Y, smin, smax, lost }'
    f"' {TRACING}/trace"
)
_RESULT = re.compile(
    r"RIG-COUNT unmaps=(\d+) syncs=(\d+) tlb_add_page=(\d+) tlb_sync=(\d+) "
    r"syncs_min=(\d+) syncs_max=(\d+) lost=(\d+)"
)


@dataclass(frozen=True)
class UnmapCounts:
    unmap_calls: int
    syncs: int
    tlb_add_page: int
    tlb_sync: int
    syncs_min: int
    syncs_max: int

    def per_unmap(self, total: int) -> float:
        return total / self.unmap_calls


def window_commands(benchmark_command: str) -> list[str]:
    """Start the benchmark, trace a window of its steady state, wait for it, count."""
    return [
        f"echo > {TRACING}/trace",
        f"{benchmark_command} > /tmp/bench.out 2>&1 & "
        f"usleep {WARMUP_US}; echo 1 > {TRACING}/tracing_on; usleep {WINDOW_US}; "
        f"echo 0 > {TRACING}/tracing_on; wait $!",
        _AWK,
    ]


def parse(output: str, what: str) -> UnmapCounts:
    found = _RESULT.search(output)
    if not found:
        raise RunFailed(f"counting pass for {what}: no counts from the trace", excerpt=output)
    unmaps, syncs, add_page, tlb_sync, smin, smax, lost = (int(v) for v in found.groups())
    if lost:
        raise RunFailed(f"counting pass for {what}: the trace lost events; counts are partial")
    if unmaps == 0:
        raise RunFailed(
            f"counting pass for {what}: no complete unmap call in the {WINDOW_US // 1000} ms "
            "trace window"
        )
    return UnmapCounts(unmaps, syncs, add_page, tlb_sync, smin, smax)


def minimum_syncs(size_bytes: int, *, coherent: bool, page_size_only: bool) -> int:
    """The fewest page-table syncs an unmap of this size can do: one per table touched.

    A coherent walk needs none. With every size on offer, a naturally aligned buffer
    of 2M or more is block entries in one level-2 table, and what is left over below
    2M is PTEs in one leaf table. With PAGE_SIZE mappings only, every 2M of the
    buffer fills its own leaf table.
    """
    if coherent:
        return 0
    if page_size_only:
        return max(1, math.ceil(size_bytes / LEAF_TABLE_SPAN))
    return int(size_bytes >= LEAF_TABLE_SPAN) + int(size_bytes % LEAF_TABLE_SPAN != 0)
