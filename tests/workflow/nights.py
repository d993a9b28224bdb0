"""The stage around the workflow runner: the image, the repository on "GitHub", a kernel
git repository by file:// URL, and the changes made to it between nights."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from rig import paths
from rig.build import qemu_build
from rig.build import source as src
from rig.nightly import ci_keys
from rig.progress import Progress
from tests.workflow import actions
from tests.workflow.runner import Repository

# The +5% of night 4: the baseline's 1M unmap is about 675 us on the 6.1 MMU-500 cell
# (the batched kernel's about 368 us), so 35 us more is 5.2% (9.5%) at 1M and nothing at
# other sizes.
SLOW_UNMAP = """
	if (size == SZ_1M)
		udelay(35);	/* the nightly workflow test's regression */
"""


def git(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["git", *args], capture_output=True, text=True, check=True, cwd=cwd,
        env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
             "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
             **(env or {})},
    )  # fmt: skip
    return done.stdout.strip()


def image(work: Path) -> Path:
    """A Debian 12 minbase root with this machine's apt sources and nothing else."""
    root = work / "image"
    if not (root / "etc" / "debian_version").exists():
        if root.exists():
            shutil.rmtree(root)
        subprocess.run(
            [str(paths.REPO / ".ci" / "fresh-root")],
            env={**os.environ, "FRESH_ROOT_DIR": str(root), "FRESH_ROOT_IMAGE": "1"},
            check=True,
        )
    return root


def project_remote(work: Path, matrix_text: str, workflow: str | None = None) -> Repository:
    """A bare remote whose main is the commit under test plus the test's matrix (and, for
    a broken copy, another workflow file)."""
    remote = work / "smmu-rig.git"
    clone = work / "project"
    for folder in (remote, clone):
        if folder.exists():
            shutil.rmtree(folder)
    git("clone", "-q", "--no-local", str(paths.REPO), str(clone))
    git(
        "-C",
        str(clone),
        "checkout",
        "-q",
        "-B",
        "main",
        git("-C", str(paths.REPO), "rev-parse", "HEAD"),
    )
    _overlay_working_tree(clone)
    (clone / "nightly.yaml").write_text(matrix_text)
    if workflow is not None:
        (clone / ".github" / "workflows" / "nightly.yml").write_text(workflow)
    git("-C", str(clone), "add", "-A")
    git("-C", str(clone), "commit", "-q", "-m", "the working tree and the test's matrix")
    git("init", "-q", "--bare", str(remote))
    git("-C", str(clone), "push", "-q", str(remote), "main:refs/heads/main")
    repo = Repository(remote)
    repo.guard_pushes()
    return repo


def _overlay_working_tree(clone: Path) -> None:
    """What is tested is the working tree, as pytest tests it: its files (tracked or
    new, not ignored) over the clone of HEAD, its deletions removed."""
    listed = git("-C", str(paths.REPO), "ls-files", "-co", "--exclude-standard", "-z")
    for name in filter(None, listed.split("\0")):
        source = paths.REPO / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    deleted = git("-C", str(paths.REPO), "ls-files", "--deleted", "-z")
    for name in filter(None, deleted.split("\0")):
        (clone / name).unlink(missing_ok=True)
    git("-C", str(clone), "add", "-A")


class KernelRepo:
    """Debian's 6.1 tree as a git repository (bare, by file:// URL) with branches main
    and stable; later commits are made without a checkout."""

    def __init__(self, work: Path) -> None:
        self.git_dir = work / "linux.git"
        self.index = work / "linux.index"
        self.url = f"file://{self.git_dir}"

    def create(self) -> None:
        """The repository at its first commit (made once; later runs start from it)."""
        if (self.git_dir / "refs" / "tags" / "base").exists():
            env = self._env()
            for branch in ("main", "stable"):
                git("update-ref", f"refs/heads/{branch}", "refs/tags/base", env=env)
            return
        tree = src.resolve(None, paths.cache_root(), "debian:6.1").tree
        git("init", "-q", "--bare", str(self.git_dir))
        env = self._env(work_tree=tree)
        git("add", "-A", "-f", ".", env=env, cwd=tree)
        git("commit", "-q", "-m", "Debian's linux-source-6.1", env=env, cwd=tree)
        head = git("rev-parse", "HEAD", env=env)
        git("update-ref", "refs/heads/main", head, env=env)
        git("update-ref", "refs/heads/stable", head, env=env)
        git("update-ref", "refs/tags/base", head, env=env)
        git("symbolic-ref", "HEAD", "refs/heads/main", env=env)

    def _env(self, work_tree: Path | None = None) -> dict[str, str]:
        env = {"GIT_DIR": str(self.git_dir), "GIT_INDEX_FILE": str(self.index)}
        if work_tree is not None:
            env["GIT_WORK_TREE"] = str(work_tree)
        return env

    def commit(self, branch: str, path: str, edits: list[str], message: str) -> str:
        """A commit on ``branch`` whose ``path`` is edited by each of ``edits`` in turn
        (appended, or inserted after the line holding the marker before '|||')."""
        env = self._env()
        git("read-tree", f"refs/heads/{branch}", env=env)
        text = git("show", f"refs/heads/{branch}:{path}", env=env) + "\n"
        for edit in edits:
            if "|||" in edit:
                marker, addition = edit.split("|||", 1)
                at = text.index(marker) + len(marker)
                at = text.index("\n", at) + 1
                text = text[:at] + addition + text[at:]
            else:
                text += edit
        blob = subprocess.run(
            ["git", "hash-object", "-w", "--stdin"], input=text, capture_output=True, text=True,
            env={**os.environ, **env}, check=True,
        ).stdout.strip()  # fmt: skip
        git("update-index", "--cacheinfo", f"100644,{blob},{path}", env=env)
        tree = git("write-tree", env=env)
        commit = git("commit-tree", tree, "-p", f"refs/heads/{branch}", "-m", message, env=env)
        git("update-ref", f"refs/heads/{branch}", commit, env=env)
        return commit


def seed_qemu(store: actions.Store, work: Path) -> str:
    """The store starts with the QEMU build under the workflow's QEMU key, as after any
    earlier night: the rig's build from this machine's cache (built now if missing).
    Returns the key. Kernels are not seeded: night 1 builds them."""
    built = qemu_build.build(paths.cache_root(), Progress(quiet=True))
    key = f"qemu-{ci_keys.qemu_key()[:32]}"
    staging = work / "qemu-seed"
    if staging.exists():
        shutil.rmtree(staging)
    inside = staging / ".rig-cache" / "qemu"
    inside.mkdir(parents=True)
    home = built.binary.parents[2]
    subprocess.run(["cp", "-a", "--reflink=auto", str(home), str(inside / home.name)], check=True)
    subprocess.run(
        ["cp", "-a", str(paths.cache_root() / "qemu" / "debian-source"), str(inside)], check=True
    )
    # An empty workspace: relative paths start at the staging folder.
    workspace = actions.Container(staging, "")
    actions.cache_save(store, workspace, {"path": ".rig-cache/qemu", "key": key})
    shutil.rmtree(staging)
    return key
