"""Buffer sizes as people write them (4K, 1M) and as dma_map_benchmark takes them (granule)."""

from __future__ import annotations

import re

from rig.errors import UserError

PAGE_SIZE = 4096
# dma_map_benchmark's granule is a page count, 1..1024.
MIN_SIZE = PAGE_SIZE
MAX_SIZE = 1024 * PAGE_SIZE

_UNITS = {"": 1, "K": 1024, "M": 1024 * 1024}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([KkMm]?)[Bb]?\s*$")


def parse_size(text: str, *, where: str = "size") -> int:
    match = _SIZE_RE.match(str(text))
    if not match:
        raise UserError(f"{where}: {text!r} is not a size; expected e.g. 4K, 64K, 1M")
    value = int(match.group(1)) * _UNITS[match.group(2).upper()]
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


def granule(size_bytes: int) -> int:
    return size_bytes // PAGE_SIZE
