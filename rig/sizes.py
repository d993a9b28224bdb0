"""Buffer sizes as people write them (4K, 1M) and as dma_map_benchmark takes them (granule),
and the kernel page sizes the rig builds (4K, 16K, 64K)."""

from __future__ import annotations

import re

from rig.errors import UserError

PAGE_SIZE = 4096  # the default kernel page size, and the unit every size is a multiple of
# The page sizes an arm64 kernel can be built with (CONFIG_ARM64_{4K,16K,64K}_PAGES).
PAGE_SIZES = (4096, 16384, 65536)
# dma_map_benchmark's granule is a page count, 1..1024; the rig measures 4K..4M.
MIN_SIZE = PAGE_SIZE
MAX_SIZE = 1024 * PAGE_SIZE

_UNITS = {"": 1, "K": 1024, "M": 1024 * 1024}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([KkMm]?)[Bb]?\s*$")


def _bytes(text: str) -> int | None:
    """4K, 64k, 1MB, 4096 as bytes; None when it is not a size."""
    match = _SIZE_RE.match(str(text))
    return int(match.group(1)) * _UNITS[match.group(2).upper()] if match else None


def parse_size(text: str, *, where: str = "size") -> int:
    value = _bytes(text)
    if value is None:
        raise UserError(f"{where}: {text!r} is not a size; expected e.g. 4K, 64K, 1M")
    if value % PAGE_SIZE or not MIN_SIZE <= value <= MAX_SIZE:
        raise UserError(
            f"{where}: {text!r} is out of range; expected a multiple of 4K "
            f"from {format_size(MIN_SIZE)} to {format_size(MAX_SIZE)}"
        )
    return value


def parse_sizes(text: str | list[str] | list[int], *, where: str = "sizes") -> tuple[int, ...]:
    items = text.split(",") if isinstance(text, str) else [str(item) for item in text]
    items = [item for item in items if item.strip()]
    if not items:
        raise UserError(f"{where}: no sizes given; expected e.g. 4K,64K,1M")
    sizes = tuple(parse_size(item, where=where) for item in items)
    if len(set(sizes)) != len(sizes):
        raise UserError(f"{where}: {text!r} lists a size twice")
    return sizes


def format_size(size_bytes: int) -> str:
    for unit, factor in (("M", 1024 * 1024), ("K", 1024)):
        if size_bytes % factor == 0:
            return f"{size_bytes // factor}{unit}"
    return str(size_bytes)


def parse_page_size(text: str, *, where: str = "page_size") -> int:
    """A kernel page size: 4K, 16K or 64K."""
    value = _bytes(text)
    if value is None or value not in PAGE_SIZES:
        expected = ", ".join(format_size(size) for size in PAGE_SIZES)
        raise UserError(f"{where}: {text!r} is not a kernel page size; expected one of {expected}")
    return value


def granule(size_bytes: int, page_size: int = PAGE_SIZE) -> int:
    """dma_map_benchmark's -g for a buffer: its length in the kernel's pages."""
    if size_bytes % page_size:
        raise UserError(
            f"size {format_size(size_bytes)} is not a whole number of "
            f"{format_size(page_size)} pages; dma_map_benchmark maps whole pages"
        )
    return size_bytes // page_size
