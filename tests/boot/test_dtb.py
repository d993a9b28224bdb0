"""The DTB edit on a device tree dumped by the real QEMU."""

from __future__ import annotations

from pathlib import Path

import libfdt
import pytest

from rig.boot import dtb
from rig.boot import profile as prof
from rig.boot.profile import BootFiles
from rig.build.qemu_build import BuiltQemu

# Real QEMU: the rig's own build (tests/conftest.py), so an e2e test.
pytestmark = pytest.mark.e2e


def dump(tmp_path: Path, name: str, qemu: BuiltQemu) -> tuple[dtb.PreparedDtb, libfdt.Fdt]:
    kernel = tmp_path / "Image"
    kernel.write_bytes(b"\0" * 4096)
    initrd = tmp_path / "initrd"
    initrd.write_bytes(b"\0" * 512)
    profile = prof.load_profile(name)
    prepared = dtb.prepare(
        profile, prof.mode_by_name("icount"), BootFiles(kernel, initrd), tmp_path, str(qemu.binary)
    )
    return prepared, libfdt.Fdt(prepared.path.read_bytes())


def has_dma_coherent(fdt: libfdt.Fdt, path: str) -> bool:
    found = fdt.getprop(fdt.path_offset(path), "dma-coherent", libfdt.QUIET_NOTFOUND)
    return not isinstance(found, int)


def test_noncoherent_profile_removes_dma_coherent_from_the_smmu(
    tmp_path: Path, rig_qemu: BuiltQemu
) -> None:
    prepared, fdt = dump(tmp_path, "smmuv3-noncoherent", rig_qemu)
    assert prepared.smmu_node.startswith("/smmuv3@")
    # QEMU marks the whole machine coherent at the root: the node overrides that.
    assert prepared.edits == (
        f"deleted dma-coherent from {prepared.smmu_node}",
        f"added dma-noncoherent to {prepared.smmu_node} (/ says dma-coherent)",
    )
    assert not has_dma_coherent(fdt, prepared.smmu_node)
    found = fdt.getprop(
        fdt.path_offset(prepared.smmu_node), "dma-noncoherent", libfdt.QUIET_NOTFOUND
    )
    assert not isinstance(found, int)
    # Only the SMMU node changed: the PCIe host keeps its dma-coherent.
    assert has_dma_coherent(fdt, fdt.get_path(dtb.find_node(fdt, "pci-host-ecam-generic")))


def test_coherent_profile_keeps_qemus_tree(tmp_path: Path, rig_qemu: BuiltQemu) -> None:
    prepared, fdt = dump(tmp_path, "smmuv3-coherent", rig_qemu)
    assert prepared.edits == ()
    assert has_dma_coherent(fdt, prepared.smmu_node)


def test_noncoherent_device_dma_takes_the_pcie_host_off_coherent(
    tmp_path: Path, rig_qemu: BuiltQemu
) -> None:
    """tegra234-mmu500: the PCIe host bridge says dma-noncoherent (QEMU's root says
    dma-coherent), so Linux maintains the benchmark buffer's caches; the SMMU as well."""
    prepared, fdt = dump(tmp_path, "tegra234-mmu500", rig_qemu)
    host = fdt.get_path(dtb.find_node(fdt, dtb.PCIE_HOST_COMPATIBLE))
    assert not has_dma_coherent(fdt, host)
    found = fdt.getprop(fdt.path_offset(host), "dma-noncoherent", libfdt.QUIET_NOTFOUND)
    assert not isinstance(found, int)
    assert any(edit.startswith(f"added dma-noncoherent to {host}") for edit in prepared.edits)
    assert not has_dma_coherent(fdt, prepared.smmu_node)


def test_default_profile_leaves_the_pcie_host_coherent(tmp_path: Path, rig_qemu: BuiltQemu) -> None:
    prepared, fdt = dump(tmp_path, "mmu500-noncoherent", rig_qemu)
    host = fdt.get_path(dtb.find_node(fdt, dtb.PCIE_HOST_COMPATIBLE))
    assert not any(host in edit for edit in prepared.edits)
    found = fdt.getprop(fdt.path_offset(host), "dma-noncoherent", libfdt.QUIET_NOTFOUND)
    assert isinstance(found, int)
