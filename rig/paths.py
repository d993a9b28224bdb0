"""Where the rig keeps things: the repository's data folders and the shared cache."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QEMU_CONFIGS = REPO / "qemu-configs"
KERNEL_PATCHES = REPO / "kernel-patches"
KERNEL_CONFIGS = REPO / "kernel-configs"
# The MMU-500 model's own files, laid out as in a QEMU tree, and patches/ with the
# edits to existing QEMU files.
QEMU_MODEL = REPO / "qemu"
# The model as two series, applied in this order: the device as an upstream series
# would have it, then what the rig adds (its checks, time and probe device). Each is
# laid out as in a QEMU tree, with its edits to QEMU's own files in patches/.
QEMU_SERIES = ("upstream", "rig")
CONFIG_FRAGMENT = KERNEL_CONFIGS / "smmu-rig.config"
DEFAULT_RESULTS = REPO / "results"
DEFAULT_BENCH_CONFIG = REPO / "bench.yaml"


def cache_root() -> Path:
    """The cache shared by every checkout on this machine (kernel trees, builds, debs).

    ``SMMU_RIG_CACHE`` overrides it; otherwise it follows the XDG convention.
    """
    override = os.environ.get("SMMU_RIG_CACHE")
    if override:
        return Path(override).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return (base / "smmu-rig").resolve()
