"""Build the baseline and patched kernels incrementally in one tree, and cache them.

A kernel is cached under a key made of the source identity, the config fragment,
the patch contents, the toolchain and this recipe's version: a second run with
the same inputs builds nothing. Patched variants are built right after the
baseline in the same output tree, so only the files a patch touches recompile,
and the source tree is returned to its original state afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rig.build import buildlog, kconfig, patch_apply, patches, tools
from rig.build.patches import AA_CONTROL, BASELINE, Patch, Series
from rig.build.source import KernelSource
from rig.errors import UserError
from rig.hashing import sha256_file, sha256_json
from rig.locking import locked
from rig.progress import Progress
from rig.sizes import PAGE_SIZE, format_size

# Bump when the way a kernel is built changes, so old cache entries are not reused.
RECIPE_VERSION = 1
_COMPILED = re.compile(r"^\s+CC\s")


@dataclass(frozen=True)
class Variant:
    name: str
    # The variant's own patches, in order (none for the baseline and the A/A control).
    patches: tuple[Patch, ...] = ()
    # Patches the machine profile needs in every variant (kernel-patches/support/).
    support: tuple[Patch, ...] = ()
    # Another commit of the run's git tree to build this variant from (two --ref); None
    # builds it from the run's source.
    ref: str | None = None

    @property
    def series(self) -> list[Patch]:
        """Everything applied to the tree for this variant, in order."""
        return [*self.support, *self.patches]

    @property
    def patch_sha256(self) -> str | None:
        return patches.series_sha256(self.patches)


@dataclass(frozen=True)
class BuiltKernel:
    variant: str
    release: str
    image: Path
    config: Path
    config_sha256: str
    key: str
    patch_sha256: str | None
    cached: bool
    build_seconds: float
    objects_compiled: int
    # The source's identity as meta.json recorded it (a git tree's commit and subject).
    source: dict[str, object]


def kernel_key(source: KernelSource, fragment: Path, variant: Variant) -> str:
    identity = {
        "source": source.identity,
        "fragment_sha256": sha256_file(fragment),
        "patch_sha256": variant.patch_sha256,
        "support_sha256": [p.sha256 for p in variant.support],
        "toolchain": tools.toolchain_version(),
        "recipe": RECIPE_VERSION,
        # The label is built into the kernel (LOCALVERSION): the same patch under another
        # label, or the A/A control's second build of the same tree, is another kernel.
        "label": variant.name,
    }
    if len(variant.patches) == 1 and variant.patches[0].reverse:
        identity["patch_reverse"] = True  # the same file the other way round
    return sha256_json(identity)


def local_version(variant: str, key: str) -> str:
    """What `uname -r` carries after the kernel version: the variant and its cache key."""
    return f"-rig-{variant}-{key[:8]}"


def tree_lock(cache: Path, source: KernelSource) -> Path:
    """Held while the source tree may carry a patch or move to another commit, or the
    output tree is written."""
    return cache / "locks" / f"tree-{source.build_slot}.lock"


def fragment_at(source: KernelSource, cache: Path, page_size: int = PAGE_SIZE) -> Path:
    """The config fragment for ``source``, read with its tree at its own commit (a
    checkout shared by a repository's commits may stand at another one)."""
    with locked(tree_lock(cache, source), "the kernel tree"):
        source.ensure_tree()
        return kconfig.fragment_for(source.tree, cache, page_size=page_size)


def build_dir(cache: Path, source: KernelSource, page_size: int = PAGE_SIZE) -> Path:
    """The output tree: one per source and page size, since a page size changes what
    nearly every object is compiled with (4K keeps the name it always had)."""
    suffix = "" if page_size == PAGE_SIZE else f"-{format_size(page_size).lower()}"
    return cache / "build" / f"{source.build_slot}{suffix}"


class KernelBuilder:
    def __init__(
        self,
        source: KernelSource,
        cache: Path,
        fragment: Path,
        progress: Progress,
        *,
        log_dir: Path,
        jobs: int | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.source = source
        self.cache = cache
        self.fragment = fragment
        self.progress = progress
        self.log_dir = log_dir
        self.jobs = jobs or os.cpu_count() or 1
        self.build_dir = build_dir(cache, source, page_size)

    @property
    def tree_lock(self) -> Path:
        return tree_lock(self.cache, self.source)

    def entry_dir(self, key: str) -> Path:
        return self.cache / "kernels" / key

    def build(self, variants: list[Variant]) -> list[BuiltKernel]:
        keys = {v.name: kernel_key(self.source, self.fragment, v) for v in variants}
        todo = [v for v in variants if not (self.entry_dir(keys[v.name]) / "meta.json").exists()]
        built_here: set[str] = set()
        if todo:
            self.build_dir.mkdir(parents=True, exist_ok=True)
            with locked(self.tree_lock, "the kernel tree"):
                self.source.ensure_tree()
                patch_apply.repair(self.source.tree, self.build_dir)
                for variant in todo:
                    patch_apply.check_series(variant.series, self.source.tree)
                self.configure()
                # Baseline first: patched variants then rebuild only what their patch touches.
                for variant in sorted(todo, key=lambda v: len(v.series)):
                    key = keys[variant.name]
                    if (self.entry_dir(key) / "meta.json").exists():
                        continue  # another rig process built it while we waited
                    self._build_variant(variant, key)
                    built_here.add(variant.name)
        return [self._load(v, keys[v.name], cached=v.name not in built_here) for v in variants]

    def headers(self) -> Path:
        """The tree's UAPI headers (make headers_install), for building guest tools."""
        include = self.build_dir / "usr" / "include"
        stamp = self.build_dir / ".rig-headers-stamp"
        # The stamp names the source: an output tree shared by a repository's commits
        # installs the headers again for each commit.
        if not stamp.exists() or stamp.read_text() != self.source.key:
            self.build_dir.mkdir(parents=True, exist_ok=True)
            with locked(self.tree_lock, "the kernel tree"), self.progress.phase("kernel headers"):
                self.source.ensure_tree()
                patch_apply.repair(self.source.tree, self.build_dir)
                self._make(["headers_install"], "headers_install", self.log_dir / "headers.log")
                stamp.write_text(self.source.key)
        return include

    def _make(self, args: list[str], label: str, log: Path) -> int:
        """Run make in the output tree, streaming to ``log``; return objects compiled."""
        cmd = [
            "make",
            "-C",
            str(self.source.tree),
            f"O={self.build_dir}",
            "ARCH=arm64",
            f"CROSS_COMPILE={tools.CROSS_COMPILE}",
            *args,
        ]
        compiled = 0

        def count(line: str) -> None:
            nonlocal compiled
            if _COMPILED.match(line):
                compiled += 1
                self.progress.update(
                    f"{label}: {compiled} files compiled ({line.rsplit(maxsplit=1)[-1]})"
                )

        buildlog.run(cmd, log, label, count, check="kernel build")
        return compiled

    def configure(self) -> None:
        """Write the .config from the fragment (once per fragment) and verify it."""
        config = self.build_dir / ".config"
        stamp = self.build_dir / ".rig-config-stamp"
        want = sha256_json({"fragment": sha256_file(self.fragment), "recipe": RECIPE_VERSION})
        log = self.log_dir / "kernel-config.log"
        if not config.exists() or not stamp.exists() or stamp.read_text() != want:
            with self.progress.phase("kernel config"):
                self._make(
                    ["allnoconfig", f"KCONFIG_ALLCONFIG={self.fragment}"], "allnoconfig", log
                )
                self._make(["olddefconfig"], "olddefconfig", log)
                stamp.write_text(want)
        kconfig.verify(self.fragment, config)

    def _build_variant(self, variant: Variant, key: str) -> None:
        localversion = f"LOCALVERSION={local_version(variant.name, key)}"
        log = self.log_dir / f"build-{variant.name}.log"
        log.unlink(missing_ok=True)
        with self.progress.phase(f"kernel build ({variant.name})"):
            start = time.monotonic()
            with patch_apply.applied_series(variant.series, self.source.tree, self.build_dir):
                compiled = self._make([localversion, f"-j{self.jobs}", "Image"], variant.name, log)
            seconds = time.monotonic() - start
            release = (
                subprocess.run(
                    [
                        "make",
                        "-s",
                        "-C",
                        str(self.source.tree),
                        f"O={self.build_dir}",
                        "ARCH=arm64",
                        localversion,
                        "kernelrelease",
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            self._store(variant, key, release, seconds, compiled)
        self.progress.say(f"    {variant.name}: {release}, {compiled} files compiled")

    def _store(
        self, variant: Variant, key: str, release: str, seconds: float, compiled: int
    ) -> None:
        """Copy the Image into the cache atomically: a half-written entry never looks done."""
        dest = self.entry_dir(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".new-") as tmp:
            staging = Path(tmp)
            shutil.copy2(self.build_dir / "arch" / "arm64" / "boot" / "Image", staging / "Image")
            shutil.copy2(self.build_dir / ".config", staging / "config")
            meta = {
                "variant": variant.name,
                "release": release,
                "key": key,
                "patches": [p.record() for p in variant.patches],
                "patch_sha256": variant.patch_sha256,
                "support_patches": {p.name: p.sha256 for p in variant.support},
                "source": self.source.identity,
                "toolchain": tools.toolchain_version(),
                "build_seconds": round(seconds, 2),
                "objects_compiled": compiled,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            (staging / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
            if dest.exists():
                shutil.rmtree(dest)
            staging.rename(dest)
            staging.mkdir()  # TemporaryDirectory removes what it created

    def _load(self, variant: Variant, key: str, *, cached: bool) -> BuiltKernel:
        entry = self.entry_dir(key)
        meta = json.loads((entry / "meta.json").read_text())
        return BuiltKernel(
            variant=variant.name,
            release=meta["release"],
            image=entry / "Image",
            config=entry / "config",
            config_sha256=sha256_file(entry / "config"),
            key=key,
            patch_sha256=meta["patch_sha256"],
            cached=cached,
            build_seconds=meta["build_seconds"],
            objects_compiled=meta["objects_compiled"],
            source=meta.get("source") or {},
        )


def variants_for(
    patch_names: list[str],
    support_names: tuple[str, ...] = (),
    compared: tuple[str, str] | None = None,
) -> list[Variant]:
    """The baseline plus one variant per patch, in that order.

    ``none`` alone asks for an A/A run: the baseline against a second build of the
    same tree under another name, through the whole pipeline. ``compared`` is another
    commit of the tree (its ref and its label) to build as the one variant instead.
    """
    support = tuple(patches.load_support(name) for name in support_names)
    chosen = [Variant(BASELINE, (), support)]
    if compared is not None:
        ref, label = compared
        return [*chosen, Variant(label, (), support, ref=ref)]
    if "none" in patch_names:
        if len(patch_names) != 1:
            raise UserError("patch 'none' (an A/A run) cannot be combined with other patches")
        return [*chosen, Variant(AA_CONTROL, (), support)]
    for spec in patch_names:
        series = patches.load_series(spec)
        label = _unique_label(series, {v.name for v in chosen}, spec)
        chosen.append(Variant(label, series.patches, support))
    return chosen


def _unique_label(series: Series, taken: set[str], spec: str) -> str:
    """A label derived from file names gets -2, -3... when the run already has it; a label
    the user chose (a shipped name, LABEL=...) is refused instead."""
    if series.label not in taken:
        return series.label
    if not series.derived_label:
        raise UserError(
            f"patch {spec!r}: a variant named {series.label!r} is already in the run; "
            "name this one with LABEL=PATH"
        )
    number = 2
    while f"{series.label}-{number}" in taken:
        number += 1
    return f"{series.label}-{number}"
