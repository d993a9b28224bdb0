"""Which kernel tree to build, and an identity for it that keys every cache."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rig.build import debian_archive, prereqs, remote_trees, tools, user_trees
from rig.errors import InfraError, UserError
from rig.hashing import sha256_file, sha256_json, sha256_text
from rig.locking import locked

# Debian's kernel source packages the rig knows by name, and the suite carrying each.
DEBIAN_KERNELS = {
    "6.1": ("linux-source-6.1", "bookworm"),
    "6.12": ("linux-source-6.12", "bookworm-security"),
    "7.2": ("linux-source-7.2", "sid"),
}
DEFAULT_KERNEL = "debian:6.1"
DEFAULT_PACKAGE = DEBIAN_KERNELS["6.1"][0]


@dataclass(frozen=True)
class KernelSource:
    tree: Path
    kernel_version: str
    identity: dict[str, Any]
    # The output tree's folder name when commits of one repository share it (a
    # git:URL@BRANCH kernel or a --ref builds incrementally); by default one per source.
    slot: str | None = None
    # The commit a checkout shared by a repository's commits is put at before each use.
    checkout: str | None = None
    # What the user named it (--ref) and where it came from; the identity keys by commit.
    ref: str | None = None
    repository: Path | None = None

    @property
    def key(self) -> str:
        return sha256_json(self.identity)

    @property
    def build_slot(self) -> str:
        return self.slot or self.key[:16]

    def ensure_tree(self) -> None:
        """Called with the tree's lock held, before a build: a shared checkout is put
        back at this source's commit if another run (or variant) moved it."""
        if self.checkout is not None:
            remote_trees.ensure_at(self.tree, self.checkout)

    @property
    def commit(self) -> str | None:
        value = self.identity.get("commit")
        return str(value) if value else None

    @property
    def subject(self) -> str | None:
        value = self.identity.get("subject")
        return str(value) if value else None


def check_kernel_name(kernel: str) -> None:
    """A kernel setting's value is `debian:VERSION` or `git:URL@BRANCH`."""
    if remote_trees.is_remote(kernel):
        remote_trees.parse(kernel)
    else:
        debian_version(kernel)


def kernel_label(kernel: str | None, version: object = None) -> str:
    """The kernel part of a nightly cell's name: `debian:6.1` -> 6.1, `git:URL@BRANCH`
    -> REPO-BRANCH; without a kernel setting (older runs), the version's line (6.1.192
    -> 6.1)."""
    if kernel and remote_trees.is_remote(kernel):
        return remote_trees.parse(kernel).label
    if kernel and kernel.startswith("debian:"):
        return kernel.split(":", 1)[1]
    return ".".join(str(version or "unknown").split(".")[:2])


def debian_version(kernel: str) -> str:
    """The version in a `debian:VERSION` name, checked against the kernels the rig knows."""
    kind, _, version = kernel.partition(":")
    if kind != "debian" or version not in DEBIAN_KERNELS:
        known = ", ".join(f"debian:{name}" for name in DEBIAN_KERNELS)
        raise UserError(
            f"kernel {kernel!r} is unknown; expected one of: {known}, git:URL@BRANCH "
            "(or a tree on disk with --kernel-src PATH)"
        )
    return version


def resolve(
    kernel_src: Path | None, cache: Path, kernel: str = DEFAULT_KERNEL, ref: str | None = None
) -> KernelSource:
    if ref is not None:
        if kernel_src is None:
            raise UserError(f"--ref {ref}: needs a git tree to take it from (--kernel-src PATH)")
        return _git_ref(kernel_src, ref, cache)
    if kernel_src is not None:
        return _user_tree(kernel_src)
    if remote_trees.is_remote(kernel):
        return _remote_tree(remote_trees.parse(kernel), cache)
    package, suite = DEBIAN_KERNELS[debian_version(kernel)]
    installed = _installed_tarball(package)
    if installed is not None:  # `make prereqs` installs 6.1's
        version = tools.output(["dpkg-query", "-W", "-f=${Version}", package])
        return _from_tarball(cache, package, version, installed)
    return _downloaded_tarball(cache, package, suite)


def compared_label(kernel_src: Path | None, refs: tuple[str, str]) -> str:
    """The variant label of the second of two compared refs: its short commit. Both are
    checked first: they need a git tree, and must name two different commits."""
    if kernel_src is None:
        raise UserError(f"--ref {refs[0]} --ref {refs[1]}: needs a git tree (--kernel-src PATH)")
    repo = user_trees.git_repo(kernel_src, "refs cannot be compared")
    first, second = (user_trees.commit_of(repo, ref) for ref in refs)
    if first == second:
        raise UserError(
            f"--ref {refs[0]} and --ref {refs[1]} are the same commit ({first[:12]}); "
            "for an A/A run of one tree use --patch none"
        )
    return second[:12]


def kernel_version(tree: Path) -> str:
    values: dict[str, str] = {}
    with (tree / "Makefile").open() as makefile:
        for line in makefile:
            name, sep, value = line.partition("=")
            if sep and name.strip() in {"VERSION", "PATCHLEVEL", "SUBLEVEL", "EXTRAVERSION"}:
                values[name.strip()] = value.strip()
            if len(values) == 4:
                break
    version = f"{values.get('VERSION')}.{values.get('PATCHLEVEL')}.{values.get('SUBLEVEL')}"
    return version + values.get("EXTRAVERSION", "")


def _installed_tarball(package: str) -> Path | None:
    """The tarball of an installed linux-source package, or None."""
    if not prereqs.is_installed(package):
        return None
    listing = tools.output(["dpkg", "-L", package])
    tarballs = [Path(p) for p in listing.split() if p.endswith(".tar.xz")]
    return tarballs[0] if tarballs else None


def _downloaded_tarball(cache: Path, package: str, suite: str) -> KernelSource:
    """A linux-source package from any suite, downloaded into the cache (never installed):
    its tarball is taken out of the .deb once."""
    deb = debian_archive.Suite(suite, cache).download(package, cache / "debs")
    version = tools.output(["dpkg-deb", "-f", str(deb), "Version"]).strip()
    tarball = cache / "debs" / f"{deb.stem}.tar.xz"
    if not tarball.is_file():
        with tempfile.TemporaryDirectory(dir=tarball.parent, prefix=".deb-") as tmp:
            tools.output(["dpkg-deb", "-x", str(deb), tmp])
            inside = sorted(Path(tmp, "usr", "src").glob("linux-source-*.tar.xz"))
            if not inside:
                raise InfraError(f"{deb.name}: no usr/src/linux-source-*.tar.xz inside")
            inside[0].rename(tarball)
    return _from_tarball(cache, package, version, tarball)


def _from_tarball(cache: Path, package: str, version: str, tarball: Path) -> KernelSource:
    digest = sha256_file(tarball)
    identity = {
        "kind": "debian-package",
        "package": package,
        "package_version": version,
        "tarball": f"{package}.tar.xz",
        "sha256": digest,
    }
    dest = cache / "src" / f"{package}-{digest[:12]}"
    with locked(cache / "src" / f"{dest.name}.lock", "the unpacked kernel source"):
        if not (dest / "Makefile").is_file():
            _unpack(tarball, dest)
    return KernelSource(tree=dest, kernel_version=kernel_version(dest), identity=identity)


def _unpack(tarball: Path, dest: Path) -> None:
    """Unpack into a temporary folder, then rename: a half-unpacked tree never looks done."""
    print(f"unpacking {tarball.name} into the cache", flush=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".unpack-") as tmp:
        tools.output(["tar", "-xf", str(tarball), "-C", tmp])
        tops = list(Path(tmp).iterdir())
        if len(tops) != 1 or not (tops[0] / "Makefile").is_file():
            raise InfraError(f"{tarball}: expected one kernel tree inside, found {tops}")
        if dest.exists():
            shutil.rmtree(dest)
        tops[0].rename(dest)


def _user_tree(path: Path) -> KernelSource:
    tree = path.expanduser().resolve()
    if not (tree / "Makefile").is_file() or not (tree / "arch" / "arm64").is_dir():
        raise UserError(
            f"KERNEL_SRC={path}: not a Linux source tree (expected a Makefile and arch/arm64)"
        )
    if (tree / ".config").exists() or (tree / "include" / "config").exists():
        raise UserError(
            f"KERNEL_SRC={path}: the tree has been configured or built in place; the rig "
            "builds out of tree (O=) and needs it clean: run `make ARCH=arm64 mrproper` there"
        )
    identity: dict[str, Any] = {"kind": "tree", "path": str(tree)}
    if (tree / ".git").exists():
        head = tools.output(["git", "-C", str(tree), "rev-parse", "HEAD"]).strip()
        diff = tools.output(["git", "-C", str(tree), "diff", "HEAD"])
        identity.update(kind="git", commit=head, local_changes_sha256=sha256_text(diff))
    else:
        identity["files_fingerprint"] = user_trees.fingerprint(tree)
    return KernelSource(tree=tree, kernel_version=kernel_version(tree), identity=identity)


def _git_ref(path: Path, ref: str, cache: Path) -> KernelSource:
    """A commit of the user's git tree, checked out in the cache (see
    user_trees.cache_checkout): the user's checkout and repository are only read."""
    repo = user_trees.git_repo(path, f"--ref {ref} cannot be taken")
    commit = user_trees.commit_of(repo, ref)
    tree = user_trees.cache_checkout(repo, commit, cache)
    if not (tree / "Makefile").is_file() or not (tree / "arch" / "arm64").is_dir():
        raise UserError(f"--ref {ref} of {repo}: not a Linux source tree at that commit")
    # The commit alone names the files: the same commit in another clone is the same
    # kernel (the repository is recorded beside it, outside the key).
    identity = {"kind": "git", "commit": commit, "subject": user_trees.subject(repo, commit)}
    return KernelSource(
        tree,
        kernel_version(tree),
        identity,
        slot=user_trees.slot(repo),
        checkout=commit,
        ref=ref,
        repository=repo,
    )


def _remote_tree(remote: remote_trees.RemoteTree, cache: Path) -> KernelSource:
    commit = remote_trees.resolve_commit(remote)
    tree = remote_trees.checkout(remote, commit, cache)
    if not (tree / "Makefile").is_file() or not (tree / "arch" / "arm64").is_dir():
        raise UserError(f"git:{remote.url}@{remote.branch}: not a Linux source tree at {commit}")
    identity = {"kind": "git", "url": remote.url, "branch": remote.branch, "commit": commit}
    return KernelSource(tree, kernel_version(tree), identity, slot=remote.slot, checkout=commit)
