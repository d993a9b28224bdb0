"""The IO page size Linux maps with, as io-pgtable picks it from what the SMMU offers."""

from __future__ import annotations

import pytest

from rig.boot import counters, io_pages
from rig.boot import profile as prof

K = 1024


@pytest.mark.parametrize(
    ("profile", "page", "granule"),
    [
        ("mmu500-noncoherent", 4 * K, 4 * K),
        ("mmu500-noncoherent", 16 * K, 4 * K),  # no 16K granule: the largest below
        ("mmu500-noncoherent", 64 * K, 64 * K),
        ("smmuv3-noncoherent", 16 * K, 16 * K),
        ("smmuv3-noncoherent", 64 * K, 64 * K),
        ("mmu500-noncoherent-pagesize", 16 * K, 4 * K),
    ],
)
def test_io_granule(profile: str, page: int, granule: int) -> None:
    assert io_pages.io_granule(prof.load_profile(profile), page) == granule


def test_leaf_table_spans() -> None:
    assert [io_pages.leaf_table_span(g * K) // K // K for g in (4, 16, 64)] == [2, 32, 512]


def test_the_report_says_why_the_granule_is_not_the_page() -> None:
    text = io_pages.describe(prof.load_profile("mmu500-noncoherent"), 16 * K)
    assert text.startswith("4K IO pages under 16K kernel pages")
    assert "has no 16K granule (it has 4K, 64K)" in text
    assert io_pages.describe(prof.load_profile("smmuv3-noncoherent"), 16 * K) == "16K IO pages"


def test_expected_work_follows_the_granule() -> None:
    # 64K granule: a 4M unmap is 64 PTEs in one leaf table (spans are 512M), one sync.
    def cleared(size: int, granule: int) -> int:
        return counters.entry_bytes_cleared(
            size, coherent=False, page_size_only=False, granule=granule
        )

    assert cleared(4 * K * K, 64 * K) == 8 * 64
    assert (
        counters.minimum_syncs(4 * K * K, coherent=False, page_size_only=False, granule=64 * K) == 1
    )
    # 16K granule: 32M spans, so 2M and 4M are PTEs too.
    assert cleared(2 * K * K, 16 * K) == 8 * 128
    # 4K granule, the default: 4M is two 2M blocks.
    assert counters.entry_bytes_cleared(4 * K * K, coherent=False, page_size_only=False) == 16
