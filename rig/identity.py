"""The rig's own identity: a hash of everything in the repository that can change a
measurement other than the kernel: the rig's code, the QEMU model and its patches, the
machine profiles, the kernel config fragments and support patches, and the Python pins.

Two checkouts with the same identity measure the same way; a change to any of these
files starts a new epoch in the nightly history (a rig change is not a kernel change).
"""

from __future__ import annotations

import functools
import subprocess

from rig import paths
from rig.hashing import sha256_file, sha256_json

# What the identity covers, as globs under the repository.
COVERED = (
    "rig/**/*.py",
    "rig/**/*.sh",
    "qemu/**/*.c",
    "qemu/**/*.h",
    "qemu/*/patches/*.patch",
    "qemu-configs/*",
    "kernel-configs/*",
    "kernel-patches/support/*.patch",
    "requirements.lock",
)


def covered_files(patterns: tuple[str, ...] = COVERED) -> dict[str, str]:
    """Repository-relative path -> sha256 of every file the patterns match."""
    found = sorted({p for pattern in patterns for p in paths.REPO.glob(pattern) if p.is_file()})
    return {str(p.relative_to(paths.REPO)): sha256_file(p) for p in found}


@functools.cache
def rig_hash() -> str:
    """sha256 over the covered files' paths and contents (not their git history: a
    tarball of the same files has the same identity)."""
    return sha256_json(covered_files())


@functools.cache
def describe() -> str | None:
    """`git describe` of the checkout when it is one (for people; the hash is the key)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(paths.REPO), "describe", "--always", "--dirty", "--tags"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
