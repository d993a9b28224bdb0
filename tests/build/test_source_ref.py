"""--ref on a git tree: the commit is exported into the cache, the user's repo is only read."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rig.build import source
from rig.errors import UserError
from rig.run import settings

MAKEFILE = "VERSION = 6\nPATCHLEVEL = {}\nSUBLEVEL = 0\nEXTRAVERSION =\n"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@localhost", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A tree shaped like Linux: v6.1 tagged, a later commit, and an uncommitted edit."""
    root = tmp_path / "linux"
    (root / "arch" / "arm64").mkdir(parents=True)
    (root / "arch" / "arm64" / "Kconfig").write_text("config ARM64\n")
    (root / "Makefile").write_text(MAKEFILE.format(1))
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "v6.1")
    git(root, "tag", "v6.1")
    (root / "Makefile").write_text(MAKEFILE.format(2))
    git(root, "commit", "-q", "-am", "v6.2")
    (root / "Makefile").write_text(MAKEFILE.format(3))  # not committed
    return root


def test_a_tag_is_exported_and_named_by_its_commit(repo: Path, tmp_path: Path) -> None:
    before = (git(repo, "status", "--porcelain"), sorted(p.name for p in (repo / ".git").iterdir()))
    built = source.resolve(repo, tmp_path / "cache", ref="v6.1")
    assert built.kernel_version == "6.1.0"
    assert built.tree.parent == tmp_path / "cache" / "src" and built.tree != repo
    commit = git(repo, "rev-parse", "v6.1^{commit}").strip()
    assert built.identity == {"kind": "git", "path": str(repo), "ref": "v6.1", "commit": commit}
    # The checkout keeps its edit and the repository gained nothing (no worktree entries).
    assert (repo / "Makefile").read_text() == MAKEFILE.format(3)
    after = (git(repo, "status", "--porcelain"), sorted(p.name for p in (repo / ".git").iterdir()))
    assert after == before
    # A second resolve reuses the export.
    (built.tree / "marker").write_text("kept")
    assert (source.resolve(repo, tmp_path / "cache", ref=commit).tree / "marker").exists()


def test_head_of_a_branch_differs_from_the_tag(repo: Path, tmp_path: Path) -> None:
    branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    assert source.resolve(repo, tmp_path / "cache", ref=branch).kernel_version == "6.2.0"


def test_an_unknown_ref_is_named(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        source.resolve(repo, tmp_path / "cache", ref="v9.9")
    assert "--ref v9.9: not a commit, tag or branch" in caught.value.message


def test_ref_needs_a_git_tree(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="needs a git tree"):
        source.resolve(None, tmp_path, ref="v6.1")
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(UserError, match="not a git tree"):
        source.resolve(plain, tmp_path, ref="v6.1")


def test_ref_is_a_setting_from_the_command_line() -> None:
    chosen = settings.override(settings.Settings(), {"kernel_ref": "v6.12"})
    assert chosen.kernel_ref == "v6.12"
