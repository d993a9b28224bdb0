"""The shared kernel tree as a test reads it: under the rig's own lock, so a run on
another make test worker (which applies its patches under that lock) is never caught
half-way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rig import paths
from rig.build import kbuild
from rig.build import source as src
from rig.locking import locked


def default_tree() -> src.KernelSource:
    return src.resolve(None, paths.cache_root())


@contextmanager
def unpatched(kernel: src.KernelSource) -> Iterator[Path]:
    """The tree, with no run's patch applied to it while the block runs."""
    with locked(kbuild.tree_lock(paths.cache_root(), kernel), "the kernel tree"):
        yield kernel.tree


def read_unpatched(kernel: src.KernelSource, relative: str) -> bytes:
    """A file of the tree with no run's patch applied to it."""
    with unpatched(kernel) as tree:
        return Path(tree, relative).read_bytes()
