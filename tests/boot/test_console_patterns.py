"""The console watch names each failure by the line that shows it."""

from __future__ import annotations

import re

import pytest

from rig.boot.console import FATAL_PATTERNS

# As the kernel and the rig's QEMU print them.
LINES = {
    "cache-maintenance violation": (
        "qemu-system-aarch64: mmu500: cache-maintenance violation: cb=0 stream=0x8 asid=1 "
        "iova=0xfffff000: memory says no translation (translation fault), the walker's "
        "cleaned view says -> 0x4a3b1000 rw"
    ),
    "stale translation": (
        "qemu-system-aarch64: smmuv3: stale translation: stream=0x8 asid=1 iova=0xffe00000: "
        "served from the IOTLB -> 0x4a3b1000 rw, the page tables now say no translation "
        "(translation fault)"
    ),
    "DMA after unmap": (
        "pci 0000:00:01.0: smmu-rig: DMA probe: 3 page(s) of 0x00000000fff00000+0x10000 "
        "still translate after unmap"
    ),
    "unimplemented SMMU configuration": (
        "mmu500: CB0 uses the 16K granule, which the MMU-500 does not implement "
        "(ID2.PTFS: 4K and 64K): translation fault"
    ),
    "SMMU fault": "arm-smmu 9050000.iommu: Unhandled context fault: fsr=0x402, iova=0xffe00000",
    "WARNING": "WARNING: CPU: 0 PID: 1 at drivers/iommu/io-pgtable-arm.c:651 __arm_lpae_unmap",
}


@pytest.mark.parametrize("name", sorted(LINES))
def test_each_failure_is_named_by_its_own_pattern(name: str) -> None:
    matched = [p.name for p in FATAL_PATTERNS if re.search(p.regex, LINES[name])]
    assert matched == [name]


def test_the_stale_check_of_both_smmus_is_watched() -> None:
    (stale,) = [p for p in FATAL_PATTERNS if p.name == "stale translation"]
    assert re.search(stale.regex, "mmu500: stale translation: cb=1 stream=0x20")
    assert not re.search(stale.regex, "a stale translation was avoided")


def test_a_translation_qemus_smmuv3_could_not_make_is_an_smmu_fault() -> None:
    """The line QEMU's SMMUv3 logs (the rig's QEMU runs with -d guest_errors) when a DMA
    does not translate: a device may break on it before Linux reports the event."""
    line = (
        "smmuv3-iommu-memory-region-16-2 translation failed for iova=0xfffed000 "
        "(SMMU_EVT_F_PERMISSION)"
    )
    assert [p.name for p in FATAL_PATTERNS if re.search(p.regex, line)] == ["SMMU fault"]
