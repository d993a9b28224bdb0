"""The history on its own branch, against a local bare repository standing in for the
remote: records land append-only, two nights pushing at once both land, the site is
replaced, a clone rebuilds the same history, and bad run folders are named."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rig import paths
from rig.errors import UserError
from rig.nightly import history, history_branch

RUNS = [
    paths.DEFAULT_RESULTS / "20261125-024623-mmu500-noncoherent-icount",
    paths.DEFAULT_RESULTS / "20261125-024708-smmuv3-noncoherent-icount",
]
BRANCH = "nightly-history"


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare "origin" with a main branch, and a checkout of it as the job's workspace."""
    bare = tmp_path / "origin.git"
    _git("init", "-q", "--bare", str(bare))
    work = tmp_path / "workspace"
    _git("init", "-q", str(work))
    (work / "README").write_text("project\n")
    _git("-C", str(work), "add", "README")
    _git("-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
         "commit", "-qm", "main")  # fmt: skip
    _git("-C", str(work), "remote", "add", "origin", str(bare))
    _git("-C", str(work), "push", "-q", "origin", "HEAD:refs/heads/main")
    return work


def _branch_files(work: Path) -> list[str]:
    bare = _git("-C", str(work), "remote", "get-url", "origin").strip()
    return sorted(_git("-C", bare, "ls-tree", "-r", "--name-only", BRANCH).split())


def test_records_are_pushed_once_and_the_branch_starts_as_an_orphan(
    remote: Path, tmp_path: Path
) -> None:
    clone = history_branch.open_branch(remote, BRANCH, tmp_path / "a")
    assert history_branch.publish(clone, BRANCH, history_branch.add_runs(RUNS[:1]))
    assert not history_branch.publish(clone, BRANCH, history_branch.add_runs(RUNS[:1]))
    files = _branch_files(remote)
    assert files == sorted(f"runs/{RUNS[0].name}/{name}" for name in history_branch.RECORD_FILES)
    assert "README" not in files  # the branch holds the history only
    log = _git("-C", str(clone), "log", "--format=%s", BRANCH)
    assert log.splitlines() == [f"records: {RUNS[0].name}"]


def test_two_nights_pushing_at_once_both_land(
    remote: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = history_branch.open_branch(remote, BRANCH, tmp_path / "first")
    second = history_branch.open_branch(remote, BRANCH, tmp_path / "second")
    adds = history_branch.add_runs(RUNS[1:])
    raced: list[bool] = []

    def late(folder: Path) -> str | None:
        # The other night pushes between this one's fetch and its push.
        if not raced:
            raced.append(True)
            history_branch.publish(first, BRANCH, history_branch.add_runs(RUNS[:1]))
        return adds(folder)

    assert history_branch.publish(second, BRANCH, late)
    assert "rejected (attempt 1); starting again from its tip" in capsys.readouterr().out
    files = _branch_files(remote)
    assert {f.split("/")[1] for f in files if f.startswith("runs/")} == {r.name for r in RUNS}


def test_the_site_is_replaced_and_a_clone_rebuilds_the_history(
    remote: Path, tmp_path: Path
) -> None:
    clone = history_branch.open_branch(remote, BRANCH, tmp_path / "a")
    markers = tmp_path / "measured"
    markers.mkdir()
    (markers / "measured-cell-abc").write_text("1001\n")
    history_branch.publish(clone, BRANCH, history_branch.add_runs(RUNS, markers))
    for version in ("one", "two"):
        site = tmp_path / f"site-{version}"
        site.mkdir()
        (site / f"trend-{version}.md").write_text(version)
        history_branch.publish(clone, BRANCH, history_branch.replace_site(site))
    files = _branch_files(remote)
    assert "trend/trend-two.md" in files and "trend/trend-one.md" not in files
    assert "measured/measured-cell-abc" in files
    other = history_branch.open_branch(remote, BRANCH, tmp_path / "b")
    rebuilt, direct = tmp_path / "rebuilt.sqlite", tmp_path / "direct.sqlite"
    history.merge(history_branch.recorded_runs(other), rebuilt)
    history.merge(RUNS, direct)
    assert history.read(rebuilt).equals(history.read(direct))


def test_a_folder_that_is_not_a_run_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a run folder"):
        history_branch.add_runs([tmp_path])
