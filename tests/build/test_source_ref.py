"""--ref on a git tree: the commit is checked out in the cache, the user's repo is only read."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from rig.build import source
from rig.cli import parser
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


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (.git included) and its content."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_tag_is_checked_out_in_the_cache_and_named_by_its_commit(
    repo: Path, tmp_path: Path
) -> None:
    before = tree_bytes(repo)
    built = source.resolve(repo, tmp_path / "cache", ref="v6.1")
    assert built.kernel_version == "6.1.0"
    assert built.tree.is_relative_to(tmp_path / "cache" / "git") and built.tree != repo
    commit = git(repo, "rev-parse", "v6.1^{commit}").strip()
    assert built.identity == {"kind": "git", "commit": commit, "subject": "v6.1"}
    assert (built.ref, built.checkout, built.commit) == ("v6.1", commit, commit)
    assert built.repository == repo
    # The checkout keeps its edit and the repository is byte for byte what it was.
    assert (repo / "Makefile").read_text() == MAKEFILE.format(3)
    assert tree_bytes(repo) == before


def test_commits_of_one_repository_share_the_checkout_and_the_output_tree(
    repo: Path, tmp_path: Path
) -> None:
    old = source.resolve(repo, tmp_path / "cache", ref="v6.1")
    new = source.resolve(repo, tmp_path / "cache", ref="HEAD")
    assert old.tree == new.tree and old.build_slot == new.build_slot
    assert old.key != new.key
    # The shared checkout stands at the last one resolved; a build puts it back first.
    assert (new.tree / "Makefile").read_text() == MAKEFILE.format(2)
    old.ensure_tree()
    assert (old.tree / "Makefile").read_text() == MAKEFILE.format(1)


def test_the_same_commit_by_another_name_is_the_same_kernel(repo: Path, tmp_path: Path) -> None:
    commit = git(repo, "rev-parse", "v6.1^{commit}").strip()
    by_tag = source.resolve(repo, tmp_path / "cache", ref="v6.1")
    assert source.resolve(repo, tmp_path / "cache", ref=commit).key == by_tag.key


def test_two_refs_are_labelled_by_the_second_commit(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    assert source.compared_label(repo, ("v6.1", "HEAD")) == head[:12]
    with pytest.raises(UserError, match="are the same commit"):
        source.compared_label(repo, ("v6.1", "v6.1"))
    with pytest.raises(UserError, match="needs a git tree"):
        source.compared_label(None, ("v6.1", "HEAD"))


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


def test_refs_are_a_setting_from_the_command_line() -> None:
    chosen = settings.override(settings.Settings(), {"kernel_refs": ("v6.12",)})
    assert chosen.kernel_refs == ("v6.12",)
    both = settings.override(
        settings.Settings(), {"kernel_refs": ("v6.11", "v6.12"), "patches": ()}
    )
    assert both.kernel_refs == ("v6.11", "v6.12") and both.patches == ()


def test_two_refs_take_no_patches_and_three_are_refused() -> None:
    with pytest.raises(UserError, match="cannot be added to that comparison"):
        settings.override(settings.Settings(), {"kernel_refs": ("a", "b")})
    with pytest.raises(UserError, match="3 refs given"):
        settings.override(settings.Settings(), {"kernel_refs": ("a", "b", "c"), "patches": ()})


def test_the_command_line_compares_two_refs_without_the_files_patches() -> None:
    args = parser.make_parser().parse_args(["bench", "--ref", "v6.11", "--ref", "v6.12"])
    chosen = parser.effective_settings(args)
    assert chosen.kernel_refs == ("v6.11", "v6.12") and chosen.patches == ()


def test_a_repository_made_anew_at_the_same_path_is_cloned_again(
    repo: Path, tmp_path: Path
) -> None:
    source.resolve(repo, tmp_path / "cache", ref="v6.1")
    shutil.rmtree(repo / ".git")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "another history")
    again = source.resolve(repo, tmp_path / "cache", ref="HEAD")
    assert again.subject == "another history"
    assert (again.tree / "Makefile").read_text() == MAKEFILE.format(3)
