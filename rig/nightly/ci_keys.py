"""Cache keys a CI job can compute before it has any cache: for the QEMU build, for a
cell's kernels, and for everything a cell's measurement depends on.

They hash the rig's own inputs to those caches as far as they are known without
fetching anything: the model's files and patches for QEMU; the kernel by name, the
config fragments and the patches for the kernels. What is resolved later (the Debian
source package's version) stays in the rig's own keys inside the cache: a restored
cache built from another version is simply not used. The inputs key adds the cell's
settings and the rig's code, so a CI job can skip a cell already measured on the
same inputs.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from rig import paths
from rig.build import kbuild, qemu_build
from rig.hashing import sha256_file, sha256_json
from rig.nightly import matrix
from rig.run import settings


def _files(*patterns: str) -> dict[str, str]:
    found = sorted(p for pattern in patterns for p in paths.REPO.glob(pattern) if p.is_file())
    return {str(p.relative_to(paths.REPO)): sha256_file(p) for p in found}


def qemu_key() -> str:
    return sha256_json(
        {
            "model": _files("qemu/**/*.c", "qemu/**/*.h", "qemu/patches/*.patch"),
            "configure": qemu_build.CONFIGURE,
            "recipe": qemu_build.RECIPE_VERSION,
        }
    )


def kernel_key(cell: matrix.Cell) -> str:
    return sha256_json(
        {
            "kernel": cell.kernel,
            "patches": cell.patches,
            "files": _files("kernel-configs/*", "kernel-patches/**/*.patch"),
            "recipe": kbuild.RECIPE_VERSION,
        }
    )


def inputs_key(base: settings.Settings, shape: matrix.MatrixFile, cell: matrix.Cell) -> str:
    chosen = dataclasses.asdict(matrix.settings_for(base, shape, cell))
    chosen.pop("jobs")  # icount results do not depend on it
    return sha256_json(
        {
            "qemu": qemu_key(),
            "kernel": kernel_key(cell),
            "settings": chosen,
            "rig": _files("rig/**/*.py", "rig/**/*.sh", "qemu-configs/*", "requirements.lock"),
        }
    )


def keys(config: Path, file: Path, name: str) -> str:
    """The three keys of cell ``name`` as JSON: {"qemu", "kernel", "inputs"}."""
    shape, cells = matrix.load(file)
    (cell,) = matrix.choose(cells, name)
    base = settings.load(config)
    return json.dumps(
        {
            "qemu": f"qemu-{qemu_key()[:32]}",
            "kernel": f"kernel-{kernel_key(cell)[:32]}",
            "inputs": f"measured-{cell.name}-{inputs_key(base, shape, cell)[:32]}",
        },
        sort_keys=True,
    )
