"""Build qemu-system-aarch64 from Debian's QEMU source with qemu-patches/ applied.

For profiles whose machine upstream QEMU lacks (the MMU-500 model). The result is
cached under a key made of the Debian source package and the patches, so it is
built once per machine; a build runs under a lock and appears atomically.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from rig import buildlog, paths, tools
from rig.errors import InfraError, UserError
from rig.hashing import sha256_file, sha256_json
from rig.locking import locked
from rig.patch_apply import APPLY, run_patch
from rig.progress import Progress

PACKAGE = "qemu"
CONFIGURE = (
    "--target-list=aarch64-softmmu",
    "--disable-docs",
    "--disable-werror",
    "--disable-tools",
    "--disable-user",
    "--disable-slirp",
)
# Bump when the way QEMU is built changes.
RECIPE_VERSION = 1
_NINJA_STEP = re.compile(r"^\[(\d+)/(\d+)\]")


def patch_files(patch_dir: Path = paths.QEMU_PATCHES) -> list[Path]:
    return sorted(patch_dir.glob("*.patch"))


def _source_package(cache: Path) -> Path:
    """Debian's source package (.dsc and its tarballs), downloaded once."""
    download = cache / "qemu" / "debian-source"
    found = sorted(download.glob(f"{PACKAGE}_*.dsc"))
    if found:
        return found[-1]
    download.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["apt-get", "source", "--download-only", PACKAGE],
        cwd=download,
        capture_output=True,
        text=True,
        check=False,
    )
    found = sorted(download.glob(f"{PACKAGE}_*.dsc"))
    if result.returncode != 0 or not found:
        raise InfraError(
            "could not download Debian's QEMU source (apt-get source qemu); "
            "`make prereqs` (as root) enables the deb-src entries it needs",
            excerpt=(result.stderr or result.stdout)[-2000:],
        )
    return found[-1]


def _run_logged(cmd: list[str], cwd: Path, log: Path, label: str, progress: Progress) -> None:
    def show_step(line: str) -> None:
        step = _NINJA_STEP.match(line)
        if step:
            progress.update(f"{label}: {step.group(1)}/{step.group(2)}")

    buildlog.run(cmd, log, label, show_step, cwd=cwd, check="QEMU build")


def _apply(patches: list[Path], tree: Path) -> None:
    for patch in patches:
        result = run_patch(patch, tree, *APPLY)
        if result.returncode != 0:
            raise UserError(
                f"QEMU patch {patch.name} does not apply to Debian's QEMU source",
                excerpt=result.stdout + result.stderr,
            )


def binary(cache: Path, progress: Progress) -> Path:
    """qemu-system-aarch64 with the rig's patches: cached, or built now (minutes)."""
    patches = patch_files()
    if not patches:
        raise UserError(f"no patches in {paths.QEMU_PATCHES}; nothing to build")
    with locked(cache / "locks" / "qemu.lock", "the QEMU build"):
        dsc = _source_package(cache)
        key = sha256_json(
            {
                "dsc": sha256_file(dsc),
                "patches": {p.name: sha256_file(p) for p in patches},
                "configure": CONFIGURE,
                "recipe": RECIPE_VERSION,
            }
        )
        home = cache / "qemu" / key[:16]
        built = home / "src" / "build" / "qemu-system-aarch64"
        stamp = home / "complete"
        if stamp.exists() and built.exists():
            return built
        # Built in place (a meson tree is not relocatable); the stamp marks it complete,
        # and a tree without one is a killed build, started again from scratch.
        if home.exists():
            shutil.rmtree(home)
        home.mkdir(parents=True)
        log = home / "build.log"
        with progress.phase("QEMU build (Debian source + qemu-patches/)"):
            tools.output(["dpkg-source", "-x", str(dsc), str(home / "src")])
            _apply(patches, home / "src")
            (home / "src" / "build").mkdir()
            _run_logged(
                ["../configure", *CONFIGURE],
                home / "src" / "build",
                log,
                "QEMU configure",
                progress,
            )
            _run_logged(
                ["ninja", "qemu-system-aarch64"],
                home / "src" / "build",
                log,
                "QEMU build",
                progress,
            )
        stamp.write_text(key + "\n")
        return built
