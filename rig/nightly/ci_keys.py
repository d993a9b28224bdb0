"""Cache keys a CI job computes before it has any cache, from what was resolved.

Resolving is cheap and happens before anything is built: the Debian index gives the
version of a kernel source package, of QEMU's source and of the cross toolchain;
`git ls-remote` gives a git branch's commit. The keys hash those versions, not the
names: a new `linux-source-6.1` upload or a new commit on a followed branch changes
its cells' keys, and an unchanged night changes none.

- ``qemu``: QEMU's source version, the model's files and patches, the configure line.
- ``kernel``: the resolved kernel, the config fragments and patches, the toolchain;
  prefixed by the repository (``kernel-<slot>-``) so a git tree's new commit restores
  the previous commit's checkout and output tree and builds incrementally.
- ``inputs``: both, the cell's settings and the rig's identity (its code and model):
  a cell already measured on the same inputs is not measured again.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path
from typing import Any

from rig import identity, paths
from rig.build import debian_archive, kbuild, qemu_build, qemu_source, remote_trees
from rig.build import source as src
from rig.errors import InfraError
from rig.hashing import sha256_json
from rig.identity import covered_files
from rig.nightly import matrix
from rig.run import settings

# The cross toolchain's packages, from the suite the rig installs them from.
TOOLCHAIN = ("gcc-aarch64-linux-gnu", "binutils-aarch64-linux-gnu")
TOOLCHAIN_SUITE = "bookworm"


@functools.cache
def _suite(name: str) -> debian_archive.Suite:
    return debian_archive.Suite(name, paths.cache_root())


@functools.cache
def resolved_qemu() -> dict[str, str]:
    """The QEMU source the rig's build would take: the newest version the index lists
    and the mirror serves (what qemu_source downloads), at least the model's minimum."""
    suite = _suite(qemu_source.SUITE)
    for version in suite.source_versions(qemu_source.PACKAGE):
        upstream = qemu_source.upstream_version(version)
        if debian_archive.compare_versions(upstream, qemu_source.MINIMUM_VERSION) < 0:
            continue
        if suite.serves_source(qemu_source.PACKAGE, version):
            return {"package": qemu_source.PACKAGE, "version": version}
    raise InfraError(f"Debian's {qemu_source.SUITE} serves no usable QEMU source")


@functools.cache
def resolved_toolchain() -> dict[str, str]:
    return {name: _suite(TOOLCHAIN_SUITE).binary_versions(name)[0] for name in TOOLCHAIN}


@functools.cache
def resolved_kernel(kernel: str) -> dict[str, str]:
    """What the kernel's name points at today: a package version or a commit."""
    if remote_trees.is_remote(kernel):
        tree = remote_trees.parse(kernel)
        return {"kind": "git", "url": tree.url, "branch": tree.branch,
                "commit": remote_trees.resolve_commit(tree)}  # fmt: skip
    package, suite = src.DEBIAN_KERNELS[src.debian_version(kernel)]
    return {"kind": "debian", "package": package,
            "version": _suite(suite).binary_versions(package)[0]}  # fmt: skip


def kernel_slot(kernel: str) -> str:
    """The part of a kernel key shared by the kernel's versions."""
    if remote_trees.is_remote(kernel):
        return remote_trees.parse(kernel).slot
    return "debian-" + src.debian_version(kernel)


def qemu_key() -> str:
    return sha256_json(
        {
            "source": resolved_qemu(),
            "model": covered_files(
                ("qemu/**/*.c", "qemu/**/*.h", "qemu/*/patches/*.patch", "qemu/devices/*.mak")
            ),
            "configure": qemu_build.CONFIGURE,
            "recipe": qemu_build.RECIPE_VERSION,
        }
    )  # fmt: skip


def kernel_key(cell: matrix.Cell) -> str:
    return sha256_json(
        {
            "kernel": resolved_kernel(cell.kernel),
            "patches": cell.patches,
            "files": covered_files(("kernel-configs/*", "kernel-patches/**/*.patch")),
            "toolchain": resolved_toolchain(),
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
            "rig": identity.rig_hash(),
        }
    )


def cell_keys(
    base: settings.Settings, shape: matrix.MatrixFile, cell: matrix.Cell
) -> dict[str, Any]:
    slot = kernel_slot(cell.kernel)
    return {
        "qemu": f"qemu-{qemu_key()[:32]}",
        "kernel": f"kernel-{slot}-{kernel_key(cell)[:32]}",
        "kernel_restore": f"kernel-{slot}-",
        "inputs": f"measured-{cell.name}-{inputs_key(base, shape, cell)[:32]}",
        "resolved": resolved_kernel(cell.kernel),
    }


def keys(config: Path, file: Path, name: str) -> str:
    """The keys of cell ``name`` as JSON (see ``cell_keys``)."""
    shape, cells = matrix.load(file)
    (cell,) = matrix.choose(cells, name)
    return json.dumps(cell_keys(settings.load(config), shape, cell), sort_keys=True)


def jobs_json(
    config: Path, file: Path, cells: list[matrix.Cell], measured: Path | None = None
) -> str:
    """The cells as a CI job list with their keys: {"include": [{"cell": NAME, "keys":
    {...}, ...}, ...], "count": N}; cells whose inputs key has a marker in ``measured``
    were measured on these inputs already and are left out."""
    shape, _ = matrix.load(file)
    base = settings.load(config)
    include = []
    for cell in cells:
        keys = cell_keys(base, shape, cell)
        if measured is not None and (measured / keys["inputs"]).exists():
            continue
        include.append({**matrix.job_of(cell), "keys": keys})
    return json.dumps({"include": include}, sort_keys=True)
