"""The nightly history kept in the repository itself, on a branch of its own.

The branch holds append-only records of every run (``runs/<run-id>/``: results.csv,
counters.csv, correctness.json and run.json; never console logs) and the trend site
rebuilt from them (``trend/``). Any clone can rebuild the history with
``rig merge runs/*/``; no cache eviction can lose it.

Every push starts again from the remote's branch: fetch, reset to it, apply the change
(copy records or the site), commit, push. Two nights pushing at once both land, the
later one on top of the earlier; records go in a push of their own before the trend is
computed, so a failed trend step loses no run.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from rig.errors import InfraError, UserError
from rig.run.records import INCOMPLETE_MARKER

DEFAULT_BRANCH = "nightly-history"
RECORD_FILES = ("results.csv", "counters.csv", "correctness.json", "run.json")
RUNS = "runs"
MEASURED = "measured"
SITE = "trend"
ATTEMPTS = 6
AUTHOR = ("smmu-rig nightly", "nightly@smmu-rig.invalid")


def _git(folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, text=True, check=False
    )
    if check and done.returncode != 0:
        raise InfraError(
            f"git {' '.join(args[:2])} in {folder} failed (exit code {done.returncode})",
            excerpt=done.stderr[-2000:],
        )
    return done


def open_branch(repo: Path, branch: str, folder: Path) -> Path:
    """A private clone in ``folder`` that tracks ``branch`` of ``repo``'s ``origin``
    (with the credentials the checkout configured), at the remote's tip; an empty
    orphan when the branch does not exist yet."""
    url = _git(repo, "remote", "get-url", "origin").stdout.strip()
    if not (folder / ".git").exists():
        folder.mkdir(parents=True, exist_ok=True)
        _git(folder, "init", "-q")
        _git(folder, "remote", "add", "origin", url)
        # A CI checkout keeps its token as an extra HTTP header: the clone pushes with it.
        headers = _git(repo, "config", "--get-regexp", r"^http\..*\.extraheader$", check=False)
        for line in headers.stdout.splitlines():
            name, _, value = line.partition(" ")
            _git(folder, "config", name, value)
        _git(folder, "config", "user.name", AUTHOR[0])
        _git(folder, "config", "user.email", AUTHOR[1])
    _reset_to_remote(folder, branch)
    return folder


def _reset_to_remote(folder: Path, branch: str) -> None:
    fetched = _git(
        folder, "fetch", "-q", "origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}",
        check=False,
    )  # fmt: skip
    if fetched.returncode == 0:
        _git(folder, "checkout", "-q", "-B", branch, f"refs/remotes/origin/{branch}")
        _git(folder, "reset", "-q", "--hard", f"refs/remotes/origin/{branch}")
        _git(folder, "clean", "-q", "-fdx")
    elif "couldn't find remote ref" in fetched.stderr:
        _git(folder, "checkout", "-q", "--orphan", branch)
        _git(folder, "rm", "-rq", "--cached", "--ignore-unmatch", ".")
        _git(folder, "clean", "-q", "-fdx")
    else:
        raise InfraError(f"git fetch of {branch} failed", excerpt=fetched.stderr[-2000:])


def publish(folder: Path, branch: str, change: Callable[[Path], str | None]) -> bool:
    """Apply ``change`` (it edits the folder and returns a commit message, or None when
    there is nothing to commit) on the remote's tip and push; when another push landed
    first, start again from the new tip. True when something was pushed."""
    for attempt in range(1, ATTEMPTS + 1):
        _reset_to_remote(folder, branch)
        message = change(folder)
        if message is None:
            return False
        _git(folder, "add", "-A")
        if not _git(folder, "status", "--porcelain").stdout.strip():
            return False
        _git(folder, "commit", "-q", "-m", message)
        pushed = _git(folder, "push", "-q", "origin", f"HEAD:refs/heads/{branch}", check=False)
        if pushed.returncode == 0:
            return True
        if attempt == ATTEMPTS:
            raise InfraError(
                f"pushing {branch} failed {ATTEMPTS} times", excerpt=pushed.stderr[-2000:]
            )
        print(f"push of {branch} rejected (attempt {attempt}); starting again from its tip")
        time.sleep(min(2**attempt, 30))
    return False


def _checked_run(run_dir: Path) -> str:
    if not (run_dir / "run.json").is_file() or not (run_dir / "results.csv").is_file():
        raise UserError(f"{run_dir}: not a run folder (expected run.json and results.csv)")
    return run_dir.resolve().name


def add_runs(run_dirs: list[Path], measured: Path | None = None) -> Callable[[Path], str | None]:
    """The change that copies the records of ``run_dirs`` into runs/<run-id>/ and the
    markers in ``measured`` into measured/; what is already recorded is left as it is
    (records are append-only)."""
    complete = [d for d in run_dirs if not (d / INCOMPLETE_MARKER).exists()]
    names = {d: _checked_run(d) for d in complete}
    markers = sorted(p for p in measured.iterdir() if p.is_file()) if measured else []

    def change(folder: Path) -> str | None:
        added = []
        for marker in markers:
            if not (folder / MEASURED / marker.name).exists():
                (folder / MEASURED).mkdir(parents=True, exist_ok=True)
                shutil.copy2(marker, folder / MEASURED / marker.name)
                added.append(marker.name)
        for run_dir, name in names.items():
            dest = folder / RUNS / name
            if dest.exists():
                continue
            dest.mkdir(parents=True)
            for record in RECORD_FILES:
                if (run_dir / record).is_file():
                    shutil.copy2(run_dir / record, dest / record)
            added.append(name)
        return f"records: {', '.join(sorted(added))}" if added else None

    return change


def replace_site(site: Path) -> Callable[[Path], str | None]:
    """The change that makes trend/ the given trend report folder."""
    if not site.is_dir():
        raise UserError(f"{site}: no trend report folder (make one with `rig trend --out`)")

    def change(folder: Path) -> str | None:
        dest = folder / SITE
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(site, dest)
        runs = len(list((folder / RUNS).glob("*/run.json")))
        return f"trend: rebuilt from {runs} run(s)"

    return change


def recorded_runs(folder: Path) -> list[Path]:
    """The run folders recorded on the branch, oldest name first."""
    return sorted(p.parent for p in (folder / RUNS).glob("*/run.json"))
