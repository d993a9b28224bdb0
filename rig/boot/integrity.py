"""Real DMA through the SMMU: data written to and read back from a virtio disk.

The disk is a virtio-blk-pci device with iommu_platform=on, so the guest maps its
buffers through the DMA API and QEMU translates every access through the same SMMU
the benchmark measures. Each size from 4K to 4M is written with O_DIRECT from a
random pattern at its own offset, read back with O_DIRECT, and the checksums are
compared: a page table that unmaps the wrong entries, or leaves one behind, shows
up as a fault, an I/O error or different bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rig.errors import RunFailed

DISK = "/dev/vda"
SLOT_BYTES = 4 * 1024 * 1024  # each size gets its own 4M-aligned slot on the disk
SIZES = tuple(4096 << shift for shift in range(11))  # 4K, 8K, ... 4M
DISK_BYTES = SLOT_BYTES * len(SIZES)
_MD5 = re.compile(r"^([0-9a-f]{32})\s+(\S+)$", re.M)
_IO_ERROR = re.compile(r"I/O error|blk_update_request|critical medium error|Buffer I/O error")


def scratch_disk(path: Path | None) -> None:
    """An empty (sparse) disk for one boot's integrity pass."""
    if path is not None:
        with path.open("wb") as handle:
            handle.truncate(DISK_BYTES)


@dataclass(frozen=True)
class IntegrityResult:
    size_bytes: int
    written_md5: str
    read_md5: str

    @property
    def intact(self) -> bool:
        return self.written_md5 == self.read_md5


def device_group_command() -> str:
    """Prints the IOMMU group of the disk's PCI function (empty when it has none)."""
    return f"readlink $(readlink -f /sys/block/{DISK.rsplit('/', 1)[-1]}/device)/../iommu_group"


def round_trip_command(size_bytes: int, slot: int) -> str:
    block = f"bs={size_bytes}"
    return (
        f"dd if=/dev/urandom of=/tmp/written {block} count=1 2>/dev/null && "
        f"dd if=/tmp/written of={DISK} {block} seek={slot * SLOT_BYTES // size_bytes} "
        "oflag=direct conv=notrunc 2>/dev/null && "
        f"dd if={DISK} of=/tmp/read {block} skip={slot * SLOT_BYTES // size_bytes} count=1 "
        "iflag=direct 2>/dev/null && md5sum /tmp/written /tmp/read"
    )


def parse_round_trip(output: str, size_bytes: int) -> IntegrityResult:
    sums = {name: digest for digest, name in _MD5.findall(output)}
    if set(sums) != {"/tmp/written", "/tmp/read"}:
        raise RunFailed(
            f"integrity pass at {size_bytes} bytes: no checksums from the guest",
            excerpt=output,
            check="DMA integrity",
        )
    return IntegrityResult(size_bytes, sums["/tmp/written"], sums["/tmp/read"])


def io_errors(dmesg: str) -> list[str]:
    return [line.strip() for line in dmesg.splitlines() if _IO_ERROR.search(line)]
