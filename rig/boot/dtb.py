"""The device tree a boot uses: QEMU's own, dumped with the exact boot options, then edited.

Dumping with the exact options matters: a DTB dumped with -smp 2 and booted with
-smp 1 describes a CPU that is not there.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import libfdt

from rig.boot import profile as prof
from rig.boot.profile import BootFiles, MachineProfile, TimingMode
from rig.errors import InfraError, RunFailed


@dataclass(frozen=True)
class PreparedDtb:
    path: Path
    smmu_node: str
    edits: tuple[str, ...]


def _compatibles(fdt: libfdt.Fdt, offset: int) -> list[str]:
    prop = fdt.getprop(offset, "compatible", libfdt.QUIET_NOTFOUND)
    if isinstance(prop, int):
        return []
    return [item for item in bytes(prop).decode(errors="replace").split("\0") if item]


def find_node(fdt: libfdt.Fdt, compatible: str) -> int:
    offset = 0
    depth = 0
    while True:
        if compatible in _compatibles(fdt, offset):
            return offset
        try:
            offset, depth = fdt.next_node(offset, depth)
        except libfdt.FdtException:
            raise RunFailed(
                f"the machine's device tree has no node compatible with {compatible!r}"
            ) from None


def _has(fdt: libfdt.Fdt, offset: int, name: str) -> bool:
    return not isinstance(fdt.getprop(offset, name, libfdt.QUIET_NOTFOUND), int)


def _inherits_coherent(fdt: libfdt.Fdt, node: int) -> str | None:
    """The ancestor that makes ``node`` DMA-coherent for Linux (of_dma_is_coherent walks
    up to the first node saying dma-coherent or dma-noncoherent), if one does. QEMU 9
    and later put dma-coherent on the root node."""
    offset = node
    while offset != 0:
        offset = fdt.parent_offset(offset)
        if _has(fdt, offset, "dma-coherent"):
            return str(fdt.get_path(offset))
        if _has(fdt, offset, "dma-noncoherent"):
            return None
    return None


# The node of QEMU virt's PCIe host bridge, whose DMA attributes its devices inherit.
PCIE_HOST_COMPATIBLE = "pci-host-ecam-generic"


def _set_coherency(fdt: libfdt.Fdt, node: int, coherent: bool) -> list[str]:
    """Make Linux's of_dma_is_coherent() answer ``coherent`` for ``node``; the edits made."""
    path = fdt.get_path(node)
    edits: list[str] = []
    if not coherent:
        if _has(fdt, node, "dma-coherent"):
            fdt.delprop(node, "dma-coherent")
            edits.append(f"deleted dma-coherent from {path}")
        ancestor = _inherits_coherent(fdt, node)
        if ancestor is not None and not _has(fdt, node, "dma-noncoherent"):
            fdt.setprop(node, "dma-noncoherent", b"")
            edits.append(f"added dma-noncoherent to {path} ({ancestor} says dma-coherent)")
    else:
        if _has(fdt, node, "dma-noncoherent"):
            fdt.delprop(node, "dma-noncoherent")
            edits.append(f"deleted dma-noncoherent from {path}")
        if not _has(fdt, node, "dma-coherent"):
            fdt.setprop(node, "dma-coherent", b"")
            edits.append(f"added dma-coherent to {path}")
    return edits


def apply_walk(blob: bytes, profile: MachineProfile) -> tuple[bytes, str, tuple[str, ...]]:
    """Make the SMMU node say what the profile's walk coherency is, and the PCIe host
    bridge what its devices' DMA is when the profile says non-coherent. Pure."""
    fdt = libfdt.Fdt(bytearray(blob))
    node = find_node(fdt, profile.smmu_compatible)
    path = fdt.get_path(node)
    edits = _set_coherency(fdt, node, profile.walk == "coherent")
    if profile.device_dma == "noncoherent":
        edits += _set_coherency(fdt, find_node(fdt, PCIE_HOST_COMPATIBLE), coherent=False)
    fdt.pack()
    return bytes(fdt.as_bytearray()), path, tuple(edits)


def prepare(
    profile: MachineProfile, mode: TimingMode, boot: BootFiles, out_dir: Path, qemu: str
) -> PreparedDtb:
    """Dump QEMU's DTB for exactly this boot, then edit the SMMU node per the profile."""
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / f"{profile.name}-{mode.name}.qemu.dtb"
    cmd = prof.argv(profile, mode, boot, qemu=qemu, dump_dtb=raw)
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
    if result.returncode != 0 or not raw.exists():
        raise InfraError(
            f"QEMU could not dump the machine's device tree (exit code {result.returncode})",
            excerpt=" ".join(cmd) + "\n" + result.stderr + result.stdout,
        )
    blob, smmu_node, edits = apply_walk(raw.read_bytes(), profile)
    raw.unlink()  # QEMU pads its dump to 1 MiB; the edits are recorded instead
    edited = out_dir / f"{profile.name}-{mode.name}.dtb"
    edited.write_bytes(blob)
    return PreparedDtb(path=edited, smmu_node=smmu_node, edits=edits)
