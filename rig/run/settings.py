"""Sweep settings: bench.yaml (or --config FILE), then command-line overrides."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rig import schema
from rig.boot.benchmark import Direction
from rig.boot.profile import MODES
from rig.build.patches import SERIES_SEPARATOR
from rig.build.source import DEFAULT_KERNEL, check_kernel_name
from rig.errors import UserError
from rig.sizes import format_size, parse_page_size, parse_sizes

DEFAULT_SIZES = ("4K", "64K", "128K", "256K", "512K", "1M", "2M", "4M")


@dataclass(frozen=True)
class Settings:
    # debian:6.1, debian:6.12 or debian:7.2 (Debian's source packages), or
    # git:URL@BRANCH (a repository's branch; --kernel-src points at a tree on disk instead).
    kernel: str = DEFAULT_KERNEL
    # Commits, tags or branches of the --kernel-src git tree to build instead of its
    # checkout: one builds that commit; two compare them, the first as the baseline.
    kernel_refs: tuple[str, ...] = ()
    # A QEMU source tree to build the emulator from instead of Debian's (see
    # rig.qemu_source): a git checkout's HEAD, or a plain folder.
    qemu_src: str | None = None
    # The seed's IOMMU: the rig's Arm MMU-500 model, non-coherent walk, sanitizers on.
    profile: str = "mmu500-noncoherent"
    patches: tuple[str, ...] = ("final",)
    mode: str = "icount"
    sizes: tuple[str, ...] = DEFAULT_SIZES
    # The guest kernel's page size (CONFIG_ARM64_{4K,16K,64K}_PAGES). dma_map_benchmark
    # maps whole pages, so sizes below one page are left out of the sweep.
    page_size: str = "4K"
    threads: int = 1
    seconds: int = 1
    direction: Direction = "BIDIRECTIONAL"
    dma_bits: int = 32
    repeat: int = 3
    # A separate, traced boot per variant that counts syncs and TLB calls per unmap.
    counters: bool = True
    boot_timeout_s: float = 60.0
    command_timeout_s: float = 120.0
    # Boots run at once (icount mode only; wallclock boots one at a time). 0: one per core.
    jobs: int = 0

    @property
    def page_size_bytes(self) -> int:
        return parse_page_size(self.page_size)

    @property
    def size_bytes(self) -> tuple[int, ...]:
        """The sizes measured: those of at least one page."""
        return tuple(s for s in parse_sizes(list(self.sizes)) if s >= self.page_size_bytes)

    @property
    def sizes_below_page(self) -> tuple[int, ...]:
        """Sizes asked for that a kernel with this page size cannot map on their own."""
        return tuple(s for s in parse_sizes(list(self.sizes)) if s < self.page_size_bytes)


# (low, high) bounds, inclusive, and where they come from.
_RANGES: dict[str, tuple[float, float, str]] = {
    "threads": (1, 64, "dma_map_benchmark threads"),
    "seconds": (1, 300, "dma_map_benchmark allows 1..300"),
    "dma_bits": (20, 64, "dma_map_benchmark allows 20..64"),
    "repeat": (1, 100, "boots per variant"),
    "boot_timeout_s": (1, 3600, "seconds"),
    "command_timeout_s": (1, 3600, "seconds"),
    "jobs": (0, 256, "boots at once; 0 is one per core"),
}


def validate(settings: Settings, source: str) -> Settings:
    for name, (low, high, why) in _RANGES.items():
        value = getattr(settings, name)
        if not low <= value <= high:
            raise UserError(
                f"{source}: {name}={value} is out of range; expected {low:g}..{high:g} ({why})"
            )
    if settings.mode not in MODES:
        raise UserError(
            f"{source}: mode={settings.mode!r} is unknown; expected one of: {', '.join(MODES)}"
        )
    sizes = parse_sizes(list(settings.sizes), where=f"{source}: sizes")
    page = parse_page_size(settings.page_size, where=f"{source}: page_size")
    ragged = [format_size(s) for s in sizes if s >= page and s % page]
    if ragged:
        raise UserError(
            f"{source}: sizes {', '.join(ragged)} are not whole {format_size(page)} pages; "
            f"with page_size={settings.page_size} every size must be a multiple of "
            f"{format_size(page)} (dma_map_benchmark maps whole pages)"
        )
    if not any(s >= page for s in sizes):
        raise UserError(
            f"{source}: every size is below one {format_size(page)} page; expected at least "
            f"one size of {format_size(page)} or more"
        )
    if len(settings.kernel_refs) > 2:
        raise UserError(
            f"{source}: {len(settings.kernel_refs)} refs given; expected one (build it) or "
            "two (compare them, the first as the baseline)"
        )
    if len(settings.kernel_refs) == 2 and settings.patches:
        raise UserError(
            f"{source}: two refs compare two commits, which are the variants; patches "
            f"{', '.join(settings.patches)} cannot be added to that comparison"
        )
    try:
        check_kernel_name(settings.kernel)
    except UserError as err:
        raise UserError(f"{source}: {err.message}") from None
    return settings


def load(path: Path) -> Settings:
    data = schema.read_yaml_mapping(path)
    if isinstance(data.get("sizes"), str):
        data["sizes"] = [item.strip() for item in data["sizes"].split(",")]
    if "sizes" in data and isinstance(data["sizes"], list):
        data["sizes"] = [str(item) for item in data["sizes"]]
    if isinstance(data.get("patches"), list):
        data["patches"] = [
            _series(item, f"{path}: key 'patches'[{index}]")
            for index, item in enumerate(data["patches"])
        ]
    return validate(schema.build(Settings, data, str(path)), str(path))


def _series(item: Any, where: str) -> Any:
    """A YAML list inside `patches` is one variant, a series: [A, B] means A+B."""
    if not isinstance(item, list):
        return item
    if not item or not all(isinstance(part, str) and part.strip() for part in item):
        raise UserError(
            f"{where}: {item!r} is not a series; expected a non-empty list of patch names "
            "or paths (each optionally revert:), applied in order"
        )
    return SERIES_SEPARATOR.join(part.strip() for part in item)


def override(settings: Settings, changes: dict[str, Any]) -> Settings:
    """Command-line values win over the file's; None means 'not given'."""
    given = {key: value for key, value in changes.items() if value is not None}
    return validate(dataclasses.replace(settings, **given), "command line")
