"""The QEMU source the rig builds its emulator from.

By default Debian's `qemu` source package, the newest version the archive's unstable
suite lists *and* the mirror serves (an index may list a version whose files are not
there yet), read through a private apt configuration (rig.debian_archive). Or a tree
of the user's (`--qemu-src`): a git checkout's HEAD, exported, or a plain folder,
copied. Either way the rig builds in its cache and never writes to the source.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rig.build import debian_archive, tools, user_trees
from rig.errors import InfraError, UserError
from rig.hashing import sha256_file
from rig.locking import locked

PACKAGE = "qemu"
SUITE = "sid"
# The oldest QEMU the model (qemu/) and its patches are written against.
MINIMUM_VERSION = "10.2"
# Folders of a plain tree that are build output, not source.
_NOT_SOURCE = ("build", ".git", "pyvenv")


@dataclass(frozen=True)
class QemuSource:
    """Where the source comes from; ``identity`` goes into the build key and run.json."""

    identity: dict[str, Any]
    # QEMU's own version (its VERSION file, or the Debian upstream version).
    version: str
    dsc: Path | None = None
    tree: Path | None = None
    commit: str | None = None

    def unpack(self, dest: Path) -> None:
        """A fresh, writable copy of the source at ``dest`` (which must not exist)."""
        if self.dsc is not None:
            tools.output(["dpkg-source", "-x", str(self.dsc), str(dest)])
        elif self.commit is not None and self.tree is not None:
            dest.mkdir(parents=True)
            user_trees.export_commit(self.tree, self.commit, dest)
        elif self.tree is not None:
            shutil.copytree(
                self.tree, dest, symlinks=True, ignore=shutil.ignore_patterns(*_NOT_SOURCE)
            )


def upstream_version(debian_version: str) -> str:
    """`1:10.2.2+ds-1` -> `10.2.2`."""
    return debian_version.split(":", 1)[-1].split("+", 1)[0].rsplit("-", 1)[0]


def _new_enough(debian_version: str) -> bool:
    return debian_archive.compare_versions(upstream_version(debian_version), MINIMUM_VERSION) >= 0


def resolve(cache: Path, qemu_src: Path | None) -> QemuSource:
    return from_tree(qemu_src) if qemu_src is not None else from_debian(cache)


def from_debian(cache: Path) -> QemuSource:
    """Debian's newest fetchable qemu source (at least MINIMUM_VERSION), downloaded once."""
    download = cache / "qemu" / "debian-source"
    with locked(cache / "locks" / "qemu-source.lock", "the QEMU source download"):
        dsc = _downloaded(download)
        if dsc is None:
            dsc = _download(cache, download)
    version = _dsc_version(dsc)
    return QemuSource(
        identity={
            "kind": "debian",
            "package": PACKAGE,
            "version": version,
            "dsc_sha256": sha256_file(dsc),
        },
        version=upstream_version(version),
        dsc=dsc,
    )


def _dsc_version(dsc: Path) -> str:
    """`qemu_10.2.2+ds-1.dsc` -> `10.2.2+ds-1`."""
    return dsc.name.removeprefix(f"{PACKAGE}_").removesuffix(".dsc")


def _downloaded(download: Path) -> Path | None:
    """The newest downloaded source new enough for the model, if any."""
    found = {_dsc_version(dsc): dsc for dsc in download.glob(f"{PACKAGE}_*.dsc")}
    usable = [version for version in found if _new_enough(version)]
    return found[max(usable, key=debian_archive.version_key)] if usable else None


def _download(cache: Path, download: Path) -> Path:
    suite = debian_archive.Suite(SUITE, cache)
    listed = [v for v in suite.source_versions(PACKAGE) if _new_enough(v)]
    tried: list[str] = []
    for version in listed:
        print(f"    fetching Debian's {PACKAGE} {version} source ({SUITE})", flush=True)
        dsc = suite.fetch_source(PACKAGE, version, download)
        if dsc is not None:
            return dsc
        tried.append(version)
        print(
            f"warning: Debian's {SUITE} lists {PACKAGE} {version} but the mirror does not "
            "serve its files; trying the next version",
            file=sys.stderr,
            flush=True,
        )
    raise InfraError(
        f"no {PACKAGE} source of version {MINIMUM_VERSION} or newer could be fetched from "
        f"Debian's {SUITE}; tried: {', '.join(tried) or 'none listed'}. Point the rig at a "
        "QEMU tree with --qemu-src PATH instead"
    )


def from_tree(tree: Path) -> QemuSource:
    """A user's QEMU tree: a git checkout's HEAD (exported), or a plain folder (copied)."""
    tree = tree.expanduser().resolve()
    version_file = tree / "VERSION"
    if not (tree / "configure").is_file() or not version_file.is_file():
        raise UserError(
            f"--qemu-src {tree}: not a QEMU source tree (expected its configure script and "
            "VERSION file at the top)"
        )
    version = version_file.read_text().strip()
    if debian_archive.compare_versions(version, MINIMUM_VERSION) < 0:
        raise UserError(
            f"--qemu-src {tree}: QEMU {version} is older than {MINIMUM_VERSION}, the oldest "
            "the rig's model is written for"
        )
    inside = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    if inside.returncode != 0:
        return QemuSource(
            identity={
                "kind": "tree",
                "path": str(tree),
                "version": version,
                "fingerprint": user_trees.fingerprint(tree, _NOT_SOURCE),
            },
            version=version,
            tree=tree,
        )
    commit = inside.stdout.strip()
    status = subprocess.run(
        ["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
        check=False,
        capture_output=True,
        text=True,
    )
    if status.stdout.strip():
        print(
            f"warning: {tree} has uncommitted changes; the rig builds its HEAD ({commit[:12]}) "
            "and records that commit",
            file=sys.stderr,
            flush=True,
        )
    return QemuSource(
        identity={"kind": "git", "path": str(tree), "commit": commit, "version": version},
        version=version,
        tree=tree,
        commit=commit,
    )
