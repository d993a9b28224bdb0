"""The commits between two refs of the user's repository, read and never written."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from rig.build import user_trees
from rig.errors import InfraError, UserError


@dataclass(frozen=True)
class CommitRange:
    repo: Path
    good: str
    bad: str
    # GOOD..BAD along first parents, oldest first, BAD last.
    commits: tuple[str, ...]
    subjects: dict[str, str]

    def subject(self, commit: str) -> str:
        return self.subjects.get(commit, "")

    def name(self, commit: str) -> str:
        """A commit as a reader meets it: short commit and subject."""
        return f"{commit[:12]} ({self.subject(commit)})"


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )


def resolve(kernel_src: Path, good_ref: str, bad_ref: str) -> CommitRange:
    """GOOD..BAD of the tree at ``kernel_src``; every way it cannot be bisected named.
    Merges are stepped over as one commit, as `git bisect --first-parent` does."""
    repo = user_trees.git_repo(kernel_src, "it cannot be bisected")
    good = user_trees.commit_of(repo, good_ref)
    bad = user_trees.commit_of(repo, bad_ref)
    if good == bad:
        raise UserError(f"{good_ref} and {bad_ref} are the same commit ({good[:12]})")
    if _git(repo, "merge-base", "--is-ancestor", good, bad).returncode != 0:
        raise UserError(
            f"{good_ref} ({good[:12]}) is not an ancestor of {bad_ref} ({bad[:12]}): the "
            "good end must come before the bad one in the history"
        )
    listed = _git(repo, "rev-list", "--first-parent", "--reverse", f"{good}..{bad}")
    if listed.returncode != 0:
        raise InfraError(f"git rev-list {good_ref}..{bad_ref} failed", excerpt=listed.stderr)
    commits = tuple(listed.stdout.split())
    if not commits or commits[-1] != bad:
        raise UserError(
            f"{bad_ref} is not reached from {good_ref} along first parents; give the merge "
            "that brought it in as the bad end"
        )
    logged = _git(repo, "log", "--first-parent", "--format=%H %s", f"{good}..{bad}")
    subjects: dict[str, str] = {}
    for line in logged.stdout.splitlines():
        commit, _, subject = line.partition(" ")
        subjects[commit] = subject
    subjects.setdefault(good, user_trees.subject(repo, good))
    return CommitRange(repo, good, bad, commits, subjects)
