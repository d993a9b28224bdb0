"""Which kernel tree to build, and an identity for it that keys every cache."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rig import tools
from rig.errors import InfraError, UserError
from rig.hashing import sha256_file, sha256_json, sha256_text
from rig.locking import locked

DEFAULT_PACKAGE = "linux-source-6.1"


@dataclass(frozen=True)
class KernelSource:
    tree: Path
    kernel_version: str
    identity: dict[str, Any]

    @property
    def key(self) -> str:
        return sha256_json(self.identity)


def resolve(kernel_src: Path | None, cache: Path) -> KernelSource:
    if kernel_src is None:
        return _debian_tarball(cache)
    return _user_tree(kernel_src)


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


def _debian_tarball(cache: Path) -> KernelSource:
    listing = tools.output(["dpkg", "-L", DEFAULT_PACKAGE]) if shutil.which("dpkg") else ""
    tarballs = [Path(p) for p in listing.split() if p.endswith(".tar.xz")]
    if not tarballs:
        raise InfraError(
            f"Debian package {DEFAULT_PACKAGE} is not installed; run `make prereqs` as root, "
            "or point the rig at a kernel tree with KERNEL_SRC=/path"
        )
    tarball = tarballs[0]
    package_version = tools.output(["dpkg-query", "-W", "-f=${Version}", DEFAULT_PACKAGE])
    digest = sha256_file(tarball)
    identity = {
        "kind": "debian-package",
        "package": DEFAULT_PACKAGE,
        "package_version": package_version,
        "tarball": tarball.name,
        "sha256": digest,
    }
    dest = cache / "src" / f"{DEFAULT_PACKAGE}-{digest[:12]}"
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
        identity["files_fingerprint"] = _fingerprint(tree)
    return KernelSource(tree=tree, kernel_version=kernel_version(tree), identity=identity)


def _fingerprint(tree: Path) -> str:
    """Path, size and mtime of every file: changes when any file does."""
    entries = []
    for root, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(files):
            full = Path(root) / name
            try:
                info = full.stat()
            except OSError:
                continue
            entries.append(f"{full.relative_to(tree)}:{info.st_size}:{info.st_mtime_ns}")
    return sha256_text("\n".join(entries))
