"""Which IO page size Linux maps with, for a kernel page size over each emulated SMMU.

Linux's io-pgtable (arm_lpae_restrict_pgsizes) builds its tables with the kernel's
PAGE_SIZE as the granule when the SMMU offers it; otherwise with the largest granule
the SMMU offers below PAGE_SIZE, else the smallest above. The granule fixes the
sizes one entry can map: the granule itself (a PTE) and the span of one leaf table
(a block: 2M for 4K, 32M for 16K, 512M for 64K), which is what an unmap clears and
cleans. An erratum workaround that restricts the SMMU's page sizes (the profile's
``page_sizes: page-size-only``) takes the blocks away.
"""

from __future__ import annotations

from rig.boot.profile import DEVICE_NAMES, MachineProfile
from rig.sizes import format_size

K = 1024
# The translation granules each emulated SMMU implements: the MMU-500's ID2 has 4K and
# 64K and never 16K (its TRM); QEMU's SMMUv3 sets IDR5.GRAN4K, GRAN16K and GRAN64K.
SMMU_GRANULES: dict[str, tuple[int, ...]] = {
    "mmu500": (4 * K, 64 * K),
    "smmuv3": (4 * K, 16 * K, 64 * K),
}


def pick_granule(offered: tuple[int, ...], page_size: int) -> int:
    """io-pgtable's choice among ``offered`` granules for a kernel of ``page_size``."""
    if page_size in offered:
        return page_size
    below = [size for size in offered if size < page_size]
    return max(below) if below else min(offered)


def io_granule(profile: MachineProfile, page_size: int) -> int:
    """The granule Linux maps the benchmark's buffers with on this profile's SMMU. A
    page-size-only profile's workaround keeps the sizes up to PAGE_SIZE, which leaves
    io-pgtable the same choice of granule, without blocks."""
    return pick_granule(SMMU_GRANULES[profile.iommu], page_size)


def leaf_table_span(granule: int) -> int:
    """What one leaf table maps: a granule's worth of 8-byte entries, each a granule."""
    return granule * (granule // 8)


def has_blocks(profile: MachineProfile) -> bool:
    """Whether Linux may map a naturally aligned leaf-table span as one block entry."""
    return profile.page_sizes != "page-size-only"


def describe(profile: MachineProfile, page_size: int) -> str:
    """The IO page size in a report's words, with why when it is not PAGE_SIZE."""
    granule = io_granule(profile, page_size)
    text = f"{format_size(granule)} IO pages"
    if granule != page_size:
        offered = ", ".join(format_size(size) for size in SMMU_GRANULES[profile.iommu])
        text += (
            f" under {format_size(page_size)} kernel pages: the "
            f"{DEVICE_NAMES[profile.iommu]} has no {format_size(page_size)} granule "
            f"(it has {offered}), so io-pgtable falls back to {format_size(granule)}"
        )
    if not has_blocks(profile):
        text += "; no block mappings (page sizes restricted to PAGE_SIZE and below)"
    return text
