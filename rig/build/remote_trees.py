"""Kernel trees named by a git repository and branch (``git:URL@BRANCH``), the way a
nightly follows mainline or linux-next.

The branch is resolved to a commit with ``git ls-remote`` before anything is fetched
(cheap, and what a CI key is made of), then that commit alone is fetched shallowly into
one working checkout per repository in the cache. Moving the checkout to the next
commit rewrites only the files that changed, so the kernel's output tree, kept per
repository, rebuilds incrementally: a night that adds a commit compiles what it touched.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rig.errors import InfraError, UserError
from rig.hashing import sha256_text
from rig.locking import locked

PREFIX = "git:"
_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class RemoteTree:
    url: str
    branch: str

    @property
    def slot(self) -> str:
        """The cache folder name shared by every commit of this repository."""
        return f"git-{sha256_text(self.url)[:16]}"

    @property
    def label(self) -> str:
        """A short name for cells and reports: the repository's last path part and branch."""
        base = self.url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        base = base.removesuffix(".git") or "tree"
        return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{base}-{self.branch}")


def is_remote(kernel: str) -> bool:
    return kernel.startswith(PREFIX)


def parse(kernel: str) -> RemoteTree:
    """``git:URL@BRANCH`` -> its URL and branch; every malformed form named."""
    body = kernel.removeprefix(PREFIX)
    url, at, branch = body.rpartition("@")
    if not at or not url or not branch or ("/" not in url and ":" not in url):
        raise UserError(
            f"kernel {kernel!r}: expected git:URL@BRANCH, e.g. "
            "git:https://example.org/linux.git@master or git:file:///srv/linux.git@main"
        )
    if branch.startswith("-") or ".." in branch or branch.endswith("/"):
        raise UserError(f"kernel {kernel!r}: {branch!r} is not a branch name")
    return RemoteTree(url, branch)


def _git(args: list[str], what: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=3600
    )
    if done.returncode != 0:
        raise InfraError(f"{what} failed (git exit code {done.returncode})", excerpt=done.stderr)
    return done.stdout


def resolve_commit(tree: RemoteTree) -> str:
    """The commit the branch points at now, asked of the remote (nothing is fetched)."""
    out = _git(
        ["ls-remote", "--heads", tree.url, f"refs/heads/{tree.branch}"],
        f"git ls-remote {tree.url} {tree.branch}",
    )
    lines = [line.split() for line in out.splitlines() if line.strip()]
    if not lines or not _SHA.match(lines[0][0]):
        raise UserError(f"kernel git:{tree.url}@{tree.branch}: the remote has no such branch")
    return lines[0][0]


def checkout(tree: RemoteTree, commit: str, cache: Path) -> Path:
    """The repository's working checkout in the cache, moved to ``commit`` (fetched with
    depth 1 when missing). Only files that differ between commits are rewritten."""
    home = cache / "git" / tree.slot
    work = home / "tree"
    with locked(cache / "locks" / f"{tree.slot}.lock", "the kernel checkout"):
        if not (work / ".git").exists():
            work.mkdir(parents=True, exist_ok=True)
            _git(["init", "-q", str(work)], "git init of the kernel checkout")
        if not has_object(work, f"{commit}^{{commit}}"):
            print(f"fetching {commit[:12]} ({tree.branch}) of {tree.url}", flush=True)
            _git(
                ["-C", str(work), "fetch", "-q", "--depth", "1", tree.url,
                 f"refs/heads/{tree.branch}"],
                f"git fetch {tree.url} {tree.branch}",
            )  # fmt: skip
            fetched = _git(["-C", str(work), "rev-parse", "FETCH_HEAD"], "git rev-parse").strip()
            if fetched != commit:
                raise InfraError(
                    f"git:{tree.url}@{tree.branch} moved while the rig fetched it "
                    f"(resolved {commit[:12]}, fetched {fetched[:12]}); run again"
                )
        ensure_at(work, commit)
    return work


def has_object(work: Path, spec: str) -> bool:
    """Whether the checkout at ``work`` can read the object ``spec`` names."""
    found = subprocess.run(
        ["git", "-C", str(work), "cat-file", "-e", spec], capture_output=True, check=False
    )
    return found.returncode == 0


def ensure_at(work: Path, commit: str) -> None:
    """Put the checkout at ``commit`` unless it already is there (a build about to use
    it holds the tree's lock)."""
    head = subprocess.run(
        ["git", "-C", str(work), "rev-parse", "--verify", "--quiet", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    status = _git(["-C", str(work), "status", "--porcelain"], "git status of the checkout")
    if head == commit and not status.strip():
        return
    _git(["-C", str(work), "checkout", "-q", "--force", "--detach", commit], "git checkout")
    _git(["-C", str(work), "clean", "-q", "-fdx"], "git clean of the kernel checkout")
