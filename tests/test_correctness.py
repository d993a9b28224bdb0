"""The correctness checks that read the counters, on rows as the counting boot writes them."""

from __future__ import annotations

from rig import correctness


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
