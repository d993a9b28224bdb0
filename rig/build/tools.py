"""Running host commands, and the cross toolchain's identity."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

from rig.errors import InfraError

CROSS_COMPILE = "aarch64-linux-gnu-"
QEMU = "qemu-system-aarch64"


def require(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise InfraError(f"{tool} is not installed; run `make prereqs` (as root) to install it")
    return found


def output(cmd: list[str], cwd: Path | None = None) -> str:
    require(cmd[0])
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise InfraError(
            f"`{' '.join(cmd)}` failed with exit code {result.returncode}",
            excerpt=(result.stderr or result.stdout)[-2000:],
        )
    return result.stdout


@cache
def toolchain_version() -> str:
    """First lines of gcc's and ld's --version: part of every kernel's cache key."""
    gcc = output([f"{CROSS_COMPILE}gcc", "--version"]).splitlines()[0]
    ld = output([f"{CROSS_COMPILE}ld", "--version"]).splitlines()[0]
    return f"{gcc}; {ld}"


@cache
def qemu_version(qemu: str = QEMU) -> str:
    return output([qemu, "--version"]).splitlines()[0].strip()
