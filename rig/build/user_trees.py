"""Trees the user points the rig at (a kernel or a QEMU checkout), read and never written:
a commit exported with `git archive`, a commit checked out in the cache from a clone
that borrows the repository's objects, and a cheap fingerprint of a plain folder."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from rig.build import remote_trees
from rig.errors import InfraError, UserError
from rig.hashing import sha256_text
from rig.locking import locked


def export_commit(repo: Path, commit: str, dest: Path) -> None:
    """The files of ``commit`` in ``repo``, written into the existing folder ``dest``."""
    archive = subprocess.Popen(
        ["git", "-C", str(repo), "archive", "--format=tar", commit], stdout=subprocess.PIPE
    )
    unpacked = subprocess.run(
        ["tar", "-x", "-C", str(dest)], stdin=archive.stdout, capture_output=True, check=False
    )
    if archive.wait() != 0 or unpacked.returncode != 0:
        raise InfraError(
            f"exporting {commit[:12]} of {repo} failed",
            excerpt=unpacked.stderr.decode(errors="replace"),
        )


def fingerprint(tree: Path, skip: tuple[str, ...] = (".git",)) -> str:
    """Path, size and mtime of every file outside the ``skip`` folders: changes when any
    file does."""
    entries = []
    for root, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d not in skip)
        for name in sorted(files):
            full = Path(root) / name
            try:
                info = full.stat()
            except OSError:
                continue
            entries.append(f"{full.relative_to(tree)}:{info.st_size}:{info.st_mtime_ns}")
    return sha256_text("\n".join(entries))


def git_repo(path: Path, why: str) -> Path:
    """``path`` resolved, when it is a git tree; a UserError saying ``why`` one is needed."""
    repo = path.expanduser().resolve()
    if not (repo / ".git").exists():
        raise UserError(f"--kernel-src {path}: not a git tree, so {why}")
    return repo


def commit_of(repo: Path, ref: str) -> str:
    """The full commit ``ref`` names in ``repo`` (read only), or a UserError naming it."""
    found = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        raise UserError(f"--ref {ref}: not a commit, tag or branch of {repo}")
    return found.stdout.strip()


def subject(repo: Path, commit: str) -> str:
    """The commit's subject line."""
    return subprocess.run(
        ["git", "-C", str(repo), "log", "-1", "--format=%s", commit],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def slot(repo: Path) -> str:
    """The cache folder name shared by every commit of one repository on disk."""
    return f"repo-{sha256_text(str(repo))[:16]}"


def cache_checkout(repo: Path, commit: str, cache: Path) -> Path:
    """``commit`` of ``repo`` checked out in the cache, in one working tree per repository.

    The clone borrows the repository's objects (``--shared``: nothing is written to the
    repository, not even a worktree entry), and moving it to another commit rewrites only
    the files that differ, so the kernel's output tree, kept per repository, rebuilds
    incrementally from one commit to the next, as a bisection's steps do.
    """
    name = slot(repo)
    work = cache / "git" / name / "tree"
    with locked(cache / "locks" / f"{name}.lock", "the kernel checkout"):
        wanted = (f"{commit}^{{commit}}", "HEAD^{tree}")
        if (work / ".git").exists() and not all(remote_trees.has_object(work, w) for w in wanted):
            # The repository at that path was made anew (the borrowed objects are not
            # those the clone knew): clone it again.
            shutil.rmtree(work)
        if not (work / ".git").exists():
            work.parent.mkdir(parents=True, exist_ok=True)
            done = subprocess.run(
                ["git", "clone", "-q", "--shared", "--no-checkout", str(repo), str(work)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise InfraError(f"cloning {repo} into the cache failed", excerpt=done.stderr)
        remote_trees.ensure_at(work, commit)
    return work
