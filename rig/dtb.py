"""The device tree a boot uses: QEMU's own, dumped with the exact boot options, then edited.

Dumping with the exact options matters: a DTB dumped with -smp 2 and booted with
-smp 1 describes a CPU that is not there.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import libfdt

from rig import profile as prof
from rig.errors import InfraError, RunFailed
from rig.profile import BootFiles, MachineProfile, TimingMode


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


def apply_walk(blob: bytes, profile: MachineProfile) -> tuple[bytes, str, tuple[str, ...]]:
    """Make the SMMU node say what the profile's walk coherency is. Pure."""
    fdt = libfdt.Fdt(bytearray(blob))
    node = find_node(fdt, profile.smmu_compatible)
    path = fdt.get_path(node)
    has_coherent = fdt.getprop(
        node, "dma-coherent", libfdt.QUIET_NOTFOUND
    ) is not None and not isinstance(fdt.getprop(node, "dma-coherent", libfdt.QUIET_NOTFOUND), int)
    edits: list[str] = []
    if profile.walk == "noncoherent" and has_coherent:
        fdt.delprop(node, "dma-coherent")
        edits.append(f"deleted dma-coherent from {path}")
    elif profile.walk == "coherent" and not has_coherent:
        fdt.setprop(node, "dma-coherent", b"")
        edits.append(f"added dma-coherent to {path}")
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
