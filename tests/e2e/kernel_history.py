"""A small kernel history for the bisection's end-to-end tests, on top of Debian's 6.1
tree in a git repository: the batched unmap applied, unrelated edits, a commit that does
not compile and its fix, the batched unmap reverted, more unrelated edits; then a
broken form of the batched unmap (no TLB invalidation) between two more edits.

Commits are written with git's plumbing (hash-object, update-index, write-tree,
commit-tree) against the index, so only the first commit reads the whole tree; the
checkout is then filled as a user's would be.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests import locations

FINAL = locations.REPO / "kernel-patches" / "final.patch"
# The batched unmap that never gathers the unmapped entries: no TLB invalidation.
NO_TLBI = locations.DATA / "patches" / "broken-no-tlbi.patch"
PGTABLE = "drivers/iommu/io-pgtable-arm.c"
# A file every kernel the rig builds compiles, and a file it never reads.
COMPILED = "drivers/iommu/iommu.c"
UNREAD = "Documentation/core-api/dma-api.rst"
_ENV = {
    "GIT_AUTHOR_NAME": "smmu-rig test",
    "GIT_AUTHOR_EMAIL": "rig@localhost",
    "GIT_COMMITTER_NAME": "smmu-rig test",
    "GIT_COMMITTER_EMAIL": "rig@localhost",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


@dataclass(frozen=True)
class History:
    repo: Path
    # Subject -> commit, oldest first.
    commits: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.commits[name]


class _Writer:
    def __init__(self, repo: Path, tree: Path) -> None:
        self.repo = repo
        self.tree = tree
        self.head: str | None = None
        self.commits: dict[str, str] = {}

    def git(self, *args: str, stdin: str | None = None) -> str:
        return subprocess.run(
            ["git", "-C", str(self.repo), *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **_ENV},
        ).stdout.strip()

    def text(self, path: str) -> str:
        return self.git("show", f"{self.head}:{path}")

    def put(self, path: str, content: str) -> None:
        with tempfile.NamedTemporaryFile("w", delete=False) as handle:
            handle.write(content)
        blob = self.git("hash-object", "-w", handle.name)
        Path(handle.name).unlink()
        self.git("update-index", "--cacheinfo", f"100644,{blob},{path}")

    def commit(self, subject: str) -> str:
        tree = self.git("write-tree")
        parents = ["-p", self.head] if self.head else []
        self.head = self.git("commit-tree", tree, *parents, "-m", subject)
        self.commits[subject] = self.head
        return self.head


def _patched(original: str, patch: Path, path: str) -> str:
    """``path``'s content with ``patch`` applied (exact context, as the rig applies)."""
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch, path)
        target.parent.mkdir(parents=True)
        target.write_text(original)
        subprocess.run(
            ["patch", "-p1", "--batch", "--fuzz=0", "-d", scratch, "-i", str(patch)],
            capture_output=True,
            check=True,
        )
        return target.read_text()


def build(debian_tree: Path, repo: Path) -> History:
    """Write the history into a new repository at ``repo`` and check it out there."""
    repo.mkdir(parents=True)
    writer = _Writer(repo, debian_tree)
    writer.git("init", "-q")
    writer.git("config", "core.compression", "1")
    # The Debian tree as it is, read in place (its own folder is never written).
    subprocess.run(
        ["git", f"--git-dir={repo / '.git'}", f"--work-tree={debian_tree}", "add", "-A", "-f", "."],
        cwd=debian_tree,
        check=True,
        capture_output=True,
    )
    writer.commit("Debian 6.1")
    original = writer.text(PGTABLE)
    writer.put(PGTABLE, _patched(original, FINAL, PGTABLE))
    writer.commit("iommu/io-pgtable-arm: Optimise non-coherent unmap")
    compiled = writer.text(COMPILED)
    unread = writer.text(UNREAD)
    writer.put(UNREAD, unread + "\n.. unrelated edit 1\n")
    writer.commit("Documentation: iommu: an unrelated edit")
    writer.put(COMPILED, compiled + "\n/* an unrelated edit */\n")
    writer.commit("iommu: an unrelated comment")
    writer.put(COMPILED, compiled + "\n/* an unrelated edit */\nthis_does_not_compile;\n")
    writer.commit("iommu: a change that does not compile")
    writer.put(COMPILED, compiled + "\n/* an unrelated edit */\n")
    writer.commit("iommu: fix the build")
    writer.put(PGTABLE, original)
    writer.commit('Revert "iommu/io-pgtable-arm: Optimise non-coherent unmap"')
    writer.put(UNREAD, unread + "\n.. unrelated edit 1\n.. unrelated edit 2\n")
    writer.commit("Documentation: iommu: another unrelated edit")
    writer.put(COMPILED, compiled + "\n/* an unrelated edit */\n/* and another */\n")
    writer.commit("iommu: another unrelated comment")
    writer.put(UNREAD, unread + "\n.. unrelated edit 1\n.. unrelated edit 2\n.. 3\n")
    writer.commit("Documentation: iommu: a third unrelated edit")
    writer.put(COMPILED, compiled + "\n/* an unrelated edit */\n/* and another */\n/* 3 */\n")
    writer.commit("iommu: a third unrelated comment")
    writer.put(PGTABLE, _patched(original, NO_TLBI, PGTABLE))
    writer.commit("iommu/io-pgtable-arm: batch unmap, but never gather the leaves")
    writer.put(UNREAD, unread + "\n.. unrelated edit 1\n.. unrelated edit 2\n.. 3\n.. 4\n")
    writer.commit("Documentation: iommu: a fourth unrelated edit")
    assert writer.head is not None
    writer.git("update-ref", "refs/heads/master", writer.head)
    writer.git("symbolic-ref", "HEAD", "refs/heads/master")
    writer.git("checkout", "-q", "-f", "master")
    return History(repo, writer.commits)
