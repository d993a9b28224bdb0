"""Build qemu-system-aarch64 with the rig's MMU-500 model, and the model's qtests.

The source (rig.qemu_source) is unpacked into the cache and the model goes in as two
series (rig.paths.QEMU_SERIES), each laid out as in a QEMU tree: qemu/upstream/ (the
device as an upstream series would have it: hw/arm/mmu500*.c, its header, its qtest
and libqos helpers) and qemu/rig/ (the sanitizers, the time charges and the probe
device, a subclass of the device), each's own files copied in and its edits to
QEMU's files (patches/) applied with --fuzz=0. The upstream series also builds on its
own (build_upstream_only), as the check that it stands alone. Meson comes from the
rig's virtualenv (pinned in requirements.lock): Debian's +ds source tarball drops
QEMU's bundled meson, and Debian 12's is too old. Each build is cached under a key
made of the source identity, the series' files and patches and this recipe; a build
runs under a lock and is marked complete only at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rig import paths
from rig.build import buildlog, qemu_devices, qemu_source
from rig.build.patch_apply import APPLY, failing_hunks, run_patch
from rig.build.qemu_source import QemuSource
from rig.errors import UserError
from rig.hashing import sha256_file, sha256_json
from rig.locking import locked
from rig.progress import Progress

CONFIGURE = (
    "--target-list=aarch64-softmmu",
    # Only what the rig boots: no optional feature it does not ask for (display, audio,
    # network backends, KVM, ...), and the devices of qemu/devices/ (rig.qemu_devices).
    "--without-default-features",
    *qemu_devices.CONFIGURE,
    # The virt board builds its device tree with libfdt (Debian's, libfdt-dev).
    "--enable-fdt=system",
    # No -g: nothing reads QEMU's debug information, and it is a third of the compile.
    "--disable-debug-info",
    "--disable-docs",
    "--disable-werror",
    "--disable-tools",
    "--disable-user",
    "--disable-slirp",
    # Debian's +ds tarball drops the firmware blobs; the rig boots without firmware.
    "--disable-install-blobs",
)
QEMU = "qemu-system-aarch64"
# The device's qtest (the upstream series) and the rig's additions' (the rig series).
QTEST = "tests/qtest/mmu500-test"
RIG_QTEST = "tests/qtest/mmu500-rig-test"
# Bump when the way QEMU is built changes.
RECIPE_VERSION = 3
_NINJA_STEP = re.compile(r"^\[(\d+)/(\d+)\]")


@dataclass(frozen=True)
class BuiltQemu:
    binary: Path
    # The qtests built with it: the device's, then (with the rig series) the rig's.
    qtests: tuple[Path, ...]
    source: QemuSource
    key: str
    # What was built into it, hashed once when it was keyed: qemu/'s files, the patches.
    model: dict[str, str]
    patches: dict[str, str]

    def record(self) -> dict[str, Any]:
        """How run.json names the emulator it ran."""
        return {
            "source": self.source.identity,
            "model_files": self.model,
            "patches": self.patches,
            "build_key": self.key,
        }


def patch_files(series: tuple[str, ...] = paths.QEMU_SERIES) -> list[Path]:
    """The series' edits to QEMU's own files, in the order they apply."""
    return [
        p for name in series for p in sorted((paths.QEMU_MODEL / name / "patches").glob("*.patch"))
    ]


def model_files(series: tuple[str, ...] = paths.QEMU_SERIES) -> list[Path]:
    """The series' own files, relative to qemu/ (SERIES/PATH; PATH is where the file
    goes in a QEMU tree)."""
    return [
        p.relative_to(paths.QEMU_MODEL)
        for name in series
        for p in sorted((paths.QEMU_MODEL / name).rglob("*"))
        if p.is_file()
        and "patches" not in p.relative_to(paths.QEMU_MODEL / name).parts
        and p.suffix in (".c", ".h", ".rst")
    ]


def _model_hashes(series: tuple[str, ...] = paths.QEMU_SERIES) -> dict[str, str]:
    return {str(p): sha256_file(paths.QEMU_MODEL / p) for p in model_files(series)}


def _patch_hashes(series: tuple[str, ...] = paths.QEMU_SERIES) -> dict[str, str]:
    return {str(p.relative_to(paths.QEMU_MODEL)): sha256_file(p) for p in patch_files(series)}


def build_key(
    source: QemuSource, model: dict[str, str] | None = None, patches: dict[str, str] | None = None
) -> str:
    return sha256_json(
        {
            "source": source.identity,
            "model": _model_hashes() if model is None else model,
            "patches": _patch_hashes() if patches is None else patches,
            "configure": CONFIGURE,
            "devices": qemu_devices.digest(),
            "recipe": RECIPE_VERSION,
        }
    )


def meson_path() -> str:
    """PATH with the virtualenv's bin first, so configure finds the pinned meson."""
    venv_bin = Path(sys.executable).parent
    if not (venv_bin / "meson").exists():
        raise UserError(
            f"meson is not in {venv_bin}; the rig's virtualenv provides it "
            "(requirements.lock): run the rig through `make`, or `make venv`"
        )
    return f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"


def _install_model(tree: Path, series: tuple[str, ...] = paths.QEMU_SERIES) -> None:
    """Each series in turn: its files copied to their place, then its patches."""
    for name in series:
        _install_series(tree, name)


def _install_series(tree: Path, name: str) -> None:
    for relative in model_files((name,)):
        target = tree / Path(*relative.parts[1:])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(paths.QEMU_MODEL / relative, target)
    for patch in patch_files((name,)):
        result = run_patch(patch, tree, *APPLY)
        if result.returncode != 0:
            raise UserError(
                f"QEMU patch {patch.name} does not apply to this QEMU source; the model "
                "is written for QEMU "
                f"{qemu_source.MINIMUM_VERSION} and the edits apply with --fuzz=0",
                excerpt=failing_hunks(patch, result.stdout + result.stderr),
            )


def ninja_progress(progress: Progress, label: str) -> Callable[[str], None]:
    """A build log line handler that shows ninja's step count."""

    def show_step(line: str) -> None:
        step = _NINJA_STEP.match(line)
        if step:
            progress.update(f"{label}: {step.group(1)}/{step.group(2)}")

    return show_step


# Debian's ccache puts a `cc` that caches in front of the compiler here.
CCACHE_BIN = Path("/usr/lib/ccache")
CCACHE_SIZE = "4G"


def build_env(cache: Path) -> dict[str, str]:
    """The environment of QEMU's configure and ninja: the pinned meson first, and the
    compiler through ccache, keyed by paths relative to each build (every build of the
    rig sits at cache/qemu/NAME/src/build), so the second build of the same source (the
    upstream series alone, the plain peer build, a model edited) compiles only the
    files that differ."""
    env = {**os.environ, "PATH": meson_path()}
    if (CCACHE_BIN / "cc").exists():
        env.update(
            PATH=f"{CCACHE_BIN}{os.pathsep}{env['PATH']}",
            CCACHE_DIR=str(cache / "ccache"),
            CCACHE_BASEDIR=str(cache / "qemu"),
            CCACHE_NOHASHDIR="1",
            CCACHE_MAXSIZE=CCACHE_SIZE,
        )
    return env


def _run_logged(cmd: list[str], cwd: Path, log: Path, label: str, progress: Progress) -> None:
    show_step = ninja_progress(progress, label)
    # cwd is cache/qemu/NAME/src/build.
    env = build_env(cwd.parents[3])
    buildlog.run(cmd, log, label, show_step, cwd=cwd, check="QEMU build", env=env)


def _required_cached() -> bool:
    """CI says the QEMU build was restored from its cache: building it is an error."""
    return "qemu" in os.environ.get("SMMU_RIG_REQUIRE_CACHED", "").split(",")


def _build_tree(
    home: Path,
    source: QemuSource,
    progress: Progress,
    *,
    series: tuple[str, ...],
    targets: tuple[str, ...],
) -> None:
    """Unpack, install ``series`` of the model, configure and build ``targets`` in
    ``home/src``.

    Built in place (a meson tree is not relocatable); the caller's stamp marks it
    complete, and a tree without one is a killed build, started again from scratch."""
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    log = home / "build.log"
    source.unpack(home / "src")
    _install_model(home / "src", series)
    qemu_devices.install(home / "src")
    (home / "src" / "build").mkdir()
    _run_logged(
        ["../configure", *CONFIGURE], home / "src" / "build", log, "QEMU configure", progress
    )
    _run_logged(["ninja", *targets], home / "src" / "build", log, "QEMU build", progress)


def plain_build_key(source: QemuSource) -> str:
    """The same QEMU source and configuration, without the rig's files or patches."""
    return sha256_json(
        {
            "source": source.identity,
            "configure": CONFIGURE,
            "devices": qemu_devices.digest(),
            "recipe": RECIPE_VERSION,
        }
    )


def build_plain(cache: Path, progress: Progress, qemu_src: Path | None = None) -> Path:
    """QEMU as its source has it, configured as the rig's: the peer check's baseline
    (rig.build.qemu_peer). Returns its build folder; cached like the rig's build."""
    with progress.phase("QEMU source"):
        source = qemu_source.resolve(cache, qemu_src)
    home = cache / "qemu" / f"plain-{plain_build_key(source)[:16]}"
    stamp = home / "complete"
    with locked(cache / "locks" / "qemu.lock", "the QEMU build"):
        if not stamp.exists():
            with progress.phase(f"QEMU {source.version} build (as its source has it)"):
                _build_tree(home, source, progress, series=(), targets=(QEMU,))
            stamp.write_text(plain_build_key(source) + "\n")
    return home / "src" / "build"


def build_upstream_only(cache: Path, progress: Progress, qemu_src: Path | None = None) -> BuiltQemu:
    """QEMU with the upstream series alone (the device, its qtest, its docs): the check
    that the series builds and passes its tests without the rig's. Cached like the
    rig's build, under its own key."""
    with progress.phase("QEMU source"):
        source = qemu_source.resolve(cache, qemu_src)
    upstream = ("upstream",)
    model, patches = _model_hashes(upstream), _patch_hashes(upstream)
    key = build_key(source, model, patches)
    home = cache / "qemu" / f"upstream-{key[:16]}"
    build_dir = home / "src" / "build"
    built = BuiltQemu(build_dir / QEMU, (build_dir / QTEST,), source, key, model, patches)
    with locked(cache / "locks" / "qemu.lock", "the QEMU build"):
        if not (home / "complete").exists():
            with progress.phase(f"QEMU {source.version} build (the upstream series alone)"):
                _build_tree(home, source, progress, series=upstream, targets=(QEMU, QTEST))
            (home / "complete").write_text(key + "\n")
    return built


def build(cache: Path, progress: Progress, qemu_src: Path | None = None) -> BuiltQemu:
    """qemu-system-aarch64 with the model, and its qtest: cached, or built now (minutes)."""
    if _required_cached() and not any((cache / "qemu").glob("*/complete")):
        raise UserError(
            f"SMMU_RIG_REQUIRE_CACHED=qemu: a restored cache should hold a QEMU build, but "
            f"{cache / 'qemu'} has none; is SMMU_RIG_CACHE ({cache}) where the cache was "
            "restored to?"
        )
    with progress.phase("QEMU source"):
        source = qemu_source.resolve(cache, qemu_src)
    model, patches = _model_hashes(), _patch_hashes()
    key = build_key(source, model, patches)
    home = cache / "qemu" / key[:16]
    build_dir = home / "src" / "build"
    qtests = (build_dir / QTEST, build_dir / RIG_QTEST)
    built = BuiltQemu(build_dir / QEMU, qtests, source, key, model, patches)
    stamp = home / "complete"
    with locked(cache / "locks" / "qemu.lock", "the QEMU build"):
        if stamp.exists() and built.binary.exists() and all(q.exists() for q in qtests):
            return built
        if _required_cached():
            raise UserError(
                f"SMMU_RIG_REQUIRE_CACHED=qemu: a restored cache should hold QEMU "
                f"{source.version} with this model, but {home} has no finished build; is "
                f"SMMU_RIG_CACHE ({cache}) where the cache was restored to?"
            )
        with progress.phase(f"QEMU {source.version} build (with the MMU-500 model)"):
            _build_tree(
                home, source, progress, series=paths.QEMU_SERIES, targets=(QEMU, QTEST, RIG_QTEST)
            )
        stamp.write_text(key + "\n")
        return built
