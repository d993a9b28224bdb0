"""Trees the user points the rig at (a kernel or a QEMU checkout), read and never written:
a commit exported with `git archive`, and a cheap fingerprint of a plain folder."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from rig.errors import InfraError
from rig.hashing import sha256_text


def export_commit(repo: Path, commit: str, dest: Path) -> None:
    """The files of ``commit`` in ``repo``, written into the existing folder ``dest``."""
    archive = subprocess.Popen(
        ["git", "-C", str(repo), "archive", "--format=tar", commit], stdout=subprocess.PIPE
    )
    unpacked = subprocess.run(
        ["tar", "-x", "-C", str(dest)], stdin=archive.stdout, capture_output=True, check=False
    )
    if archive.wait() != 0 or unpacked.returncode != 0:
        raise InfraError(
            f"exporting {commit[:12]} of {repo} failed",
            excerpt=unpacked.stderr.decode(errors="replace"),
        )


def fingerprint(tree: Path, skip: tuple[str, ...] = (".git",)) -> str:
    """Path, size and mtime of every file outside the ``skip`` folders: changes when any
    file does."""
    entries = []
    for root, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d not in skip)
        for name in sorted(files):
            full = Path(root) / name
            try:
                info = full.stat()
            except OSError:
                continue
            entries.append(f"{full.relative_to(tree)}:{info.st_size}:{info.st_mtime_ns}")
    return sha256_text("\n".join(entries))
