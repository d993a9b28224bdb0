"""The devices the rig's QEMU is built with (qemu/devices/smmu-rig.mak), and the check
that a profile boots only those.

QEMU is configured with ``--without-default-devices`` and the file as its aarch64
device configuration, so the build holds the machine and devices the file asks for
(and what they select), not the hundreds of boards an aarch64 system emulator has.
The file names each machine and device a run may use in ``# -machine NAME`` and
``# -device NAME`` lines; a profile naming anything else is refused when the run is
planned, before anything is built or booted.
"""

from __future__ import annotations

import re
from pathlib import Path

from rig import paths
from rig.errors import UserError
from rig.hashing import sha256_file

CONFIG = paths.QEMU_MODEL / "devices" / "smmu-rig.mak"
# Where QEMU's configure looks for --with-devices-aarch64=NAME.
TREE_PATH = Path("configs/devices/aarch64-softmmu/smmu-rig.mak")
CONFIGURE = (
    "--without-default-devices",
    f"--with-devices-aarch64={TREE_PATH.stem}",
)
_NAMED = re.compile(r"^#\s*-(machine|device)\s+([A-Za-z0-9_.-]+)\s*$")


def named(config: Path | None = None) -> dict[str, frozenset[str]]:
    """{'machine': {...}, 'device': {...}}: what the configuration says it builds."""
    config = config or CONFIG
    found: dict[str, set[str]] = {"machine": set(), "device": set()}
    for line in config.read_text().splitlines():
        match = _NAMED.match(line.strip())
        if match:
            found[match.group(1)].add(match.group(2))
    return {kind: frozenset(names) for kind, names in found.items()}


def digest(config: Path | None = None) -> str:
    """What the build key takes: a changed device list rebuilds QEMU."""
    return sha256_file(config or CONFIG)


def install(tree: Path, config: Path | None = None) -> None:
    """Put the configuration where configure finds it, in an unpacked QEMU source."""
    config = config or CONFIG
    target = tree / TREE_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(config.read_text())


def _shown(config: Path) -> str:
    return str(config.relative_to(paths.REPO)) if config.is_relative_to(paths.REPO) else str(config)


def device_name(option: str) -> str:
    """'virtio-blk-pci,iommu_platform=on' -> 'virtio-blk-pci'."""
    return option.split(",", 1)[0]


def check(
    profile_name: str, machine: str, devices: dict[str, str], config: Path | None = None
) -> None:
    """Refuse a profile whose machine or a device (by its profile key) the rig's QEMU is
    not built with; the message names the key, the value and the file."""
    config = config or CONFIG
    built = named(config)
    wanted = [("machine", "machine", machine)] + [
        ("device", key, device_name(value)) for key, value in devices.items()
    ]
    for kind, key, name in wanted:
        if name not in built[kind]:
            raise UserError(
                f"profile {profile_name}: key {key!r} names {kind} {name!r}, which the "
                f"rig's QEMU is not built with; {_shown(config)} builds "
                f"the {kind}s {', '.join(sorted(built[kind]))}. Add it there (a "
                f"'# -{kind} {name}' line and its CONFIG_ symbol) and QEMU rebuilds"
            )
