"""The DTB edit on a device tree dumped by the real QEMU."""

from __future__ import annotations

from pathlib import Path

import libfdt
import pytest

from rig import dtb, tools
from rig import profile as prof
from rig.profile import BootFiles

pytestmark = pytest.mark.skipif(
    not __import__("shutil").which(tools.QEMU), reason="QEMU not installed (make prereqs)"
)


def dump(tmp_path: Path, name: str) -> tuple[dtb.PreparedDtb, libfdt.Fdt]:
    kernel = tmp_path / "Image"
    kernel.write_bytes(b"\0" * 4096)
    initrd = tmp_path / "initrd"
    initrd.write_bytes(b"\0" * 512)
    profile = prof.load_profile(name)
    prepared = dtb.prepare(
        profile, prof.mode_by_name("icount"), BootFiles(kernel, initrd), tmp_path, tools.QEMU
    )
    return prepared, libfdt.Fdt(prepared.path.read_bytes())


def has_dma_coherent(fdt: libfdt.Fdt, path: str) -> bool:
    found = fdt.getprop(fdt.path_offset(path), "dma-coherent", libfdt.QUIET_NOTFOUND)
    return not isinstance(found, int)


def test_noncoherent_profile_removes_dma_coherent_from_the_smmu(tmp_path: Path) -> None:
    prepared, fdt = dump(tmp_path, "smmuv3-noncoherent")
    assert prepared.smmu_node.startswith("/smmuv3@")
    assert prepared.edits == (f"deleted dma-coherent from {prepared.smmu_node}",)
    assert not has_dma_coherent(fdt, prepared.smmu_node)
    # Only the SMMU node changed: the PCIe host keeps its dma-coherent.
    assert has_dma_coherent(fdt, fdt.get_path(dtb.find_node(fdt, "pci-host-ecam-generic")))


def test_coherent_profile_keeps_qemus_tree(tmp_path: Path) -> None:
    prepared, fdt = dump(tmp_path, "smmuv3-coherent")
    assert prepared.edits == ()
    assert has_dma_coherent(fdt, prepared.smmu_node)
