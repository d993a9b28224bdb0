"""The correctness checks that read the counters, on rows as the counting boot writes them."""

from __future__ import annotations

from rig.boot import counters
from rig.run import correctness


def row(variant: str, size: int, syncs_min: int, needed: int) -> dict[str, object]:
    return {
        "variant": variant,
        "size_bytes": size,
        "syncs_min": syncs_min,
        "min_syncs_per_unmap": needed,
    }


def test_an_unmap_without_its_sync_fails_the_count_by_size() -> None:
    rows = [row("final", 4096, 1, 1), row("no-sync", 4096, 0, 1), row("no-sync", 65536, 0, 1)]
    check = correctness.sync_count("no-sync", rows)
    assert check is not None and not check.passed
    assert check.name == "page-table syncs per unmap"
    assert "4K: 0 syncs in an unmap, at least 1 needed" in check.detail
    assert "64K: 0 syncs" in check.detail
    good = correctness.sync_count("final", rows)
    assert good is not None and good.passed
    assert correctness.sync_count("never-counted", rows) is None


def coverage_row(variant: str, size: int, cleaned: float | None) -> dict[str, object]:
    return {
        "variant": variant,
        "size_bytes": size,
        "bytes_cleaned_per_unmap": cleaned,
        "entry_bytes_cleared": counters.entry_bytes_cleared(
            size, coherent=False, page_size_only=False
        ),
    }


def test_entry_bytes_an_unmap_clears() -> None:
    assert counters.entry_bytes_cleared(4096, coherent=False, page_size_only=False) == 8
    assert counters.entry_bytes_cleared(1 << 20, coherent=False, page_size_only=False) == 2048
    # Block entries from 2M: one per 2M, and PTEs for what is left.
    assert counters.entry_bytes_cleared(4 << 20, coherent=False, page_size_only=False) == 16
    assert counters.entry_bytes_cleared(4 << 20, coherent=False, page_size_only=True) == 8192
    assert counters.entry_bytes_cleared(1 << 20, coherent=True, page_size_only=False) == 0


def test_a_clean_that_covers_part_of_the_cleared_range_fails_sync_coverage() -> None:
    """As the 6.12 tracepoint measures it: the merged patch cleans the whole cleared
    range in one sync; the broken one only its first line's worth."""
    rows = [
        coverage_row("final", 65536, 128),
        coverage_row("final", 1 << 20, 2048),
        coverage_row("partial", 65536, 8),
        coverage_row("partial", 1 << 20, 8),
    ]
    good = correctness.sync_coverage("final", rows)
    assert good is not None and good.passed and "at all 2 sizes" in good.detail
    bad = correctness.sync_coverage("partial", rows)
    assert bad is not None and not bad.passed and bad.name == "sync coverage"
    assert "1M: 8 bytes cleaned per unmap, the entries cleared are 2048 bytes" in bad.detail


def test_sync_coverage_needs_the_sizes_the_kernel_traces() -> None:
    """6.1 traces the sync by function, without its size: no check, not a pass."""
    assert correctness.sync_coverage("final", [coverage_row("final", 65536, None)]) is None
