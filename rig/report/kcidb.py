"""A run as a KernelCI KCIDB document (schema v5): a checkout per variant (the kernel
source with the patches that variant applies), a build per variant, and a test per
variant x operation x size whose number is the measured latency.

KCIDB's checkout is "base code plus a patchset", so each variant is its own checkout on
the same base: the git commit, tree and repository where the source names them, and the
patchset the rig applied (its support patches, then the variant's own). A test is PASS
when its variant passed every correctness check and did not regress at that size, as in
the JUnit export. Every id is derived from the run id, the variant and the test's names,
and nothing depends on when the export ran: the same run exports to the same document.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from rig import paths
from rig.errors import UserError
from rig.hashing import sha256_file
from rig.report import run_reader, stats
from rig.run import correctness, records
from rig.sizes import format_size

ORIGIN = "smmu_rig"
VERSION = {"major": 5, "minor": 3}
# Where kernel-patches/ can be downloaded from (KCIDB's patchset_files are links): unset,
# the checkouts name their patches in misc only, since the rig publishes them nowhere.
PATCH_URL_ENV = "SMMU_RIG_PATCH_URL"
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^\s\0]+$")
# How the rig configures every kernel (rig/build/kbuild.py): allnoconfig with the
# fragment as KCONFIG_ALLCONFIG, the fragment being these pieces of kernel-configs/.
CONFIG_BASE = "allnoconfig"
DEFAULT_FRAGMENT = ("smmu-rig.config",)
# What KCIDB accepts as git fields (schema v5.3); anything else stays in misc.
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_HTTPS = re.compile(r"^https://[^\0\s]+$")
# `git diff HEAD` of a clean tree: a user's tree recorded with this has no local changes.
_EMPTY_DIFF = hashlib.sha256(b"").hexdigest()
# Repositories KernelCI knows by a tree name, by the end of their path.
_TREES = {
    "torvalds/linux": "mainline",
    "stable/linux": "stable",
    "stable/linux-stable": "stable",
    "stable/linux-stable-rc": "stable-rc",
    "next/linux-next": "next",
}


def _time(created: str) -> str:
    """run.json's 2026-11-25T02:46:23+0000 as RFC 3339 (2026-11-25T02:46:23+00:00)."""
    if len(created) > 5 and created[-5] in "+-" and ":" not in created[-5:]:
        return f"{created[:-2]}:{created[-2:]}"
    return created


def _tree_name(url: str) -> str | None:
    """mainline, stable, stable-rc or next for kernel.org's (and mirrors') repositories;
    None for any other, since KCIDB wants a widely recognized name, not a made-up one."""
    path = url.lower().rstrip("/").removesuffix(".git")
    return next((name for end, name in _TREES.items() if path.endswith(f"/{end}")), None)


def _base(source: dict[str, Any]) -> dict[str, Any]:
    """The checkout fields the kernel source's identity gives (rig/build/source.py): a
    Debian package is the debian tree at a package version, a git tree its commit (and
    its repository and branch when recorded); a local path is never published as one."""
    fields: dict[str, Any] = {}
    if source.get("kind") == "debian-package":
        fields["tree_name"] = "debian"
    url = str(source.get("url") or "")
    if source.get("kind") == "git" and url:
        tree = _tree_name(url)
        if tree:
            fields["tree_name"] = tree
        if _HTTPS.match(url):
            fields["git_repository_url"] = url
    if source.get("branch"):
        fields["git_repository_branch"] = str(source["branch"])
    if _COMMIT.match(str(source.get("commit") or "")):
        fields["git_commit_hash"] = source["commit"]
    return fields


def _patchset(kernel: dict[str, Any], variant: dict[str, Any]) -> list[dict[str, Any]]:
    """Everything applied to the base, in order: a git tree's uncommitted changes (as
    `git diff HEAD`), the profile's support patches, then the variant's own patches."""
    source = kernel.get("source") or {}
    local = source.get("local_changes_sha256")
    applied: list[dict[str, Any]] = []
    if local and local != _EMPTY_DIFF:
        applied.append({"file": "local changes (git diff HEAD)", "sha256": local})
    for support in kernel.get("support_patches") or []:
        applied.append({"file": f"support/{support.get('name')}.patch", **support})
    applied.extend(records.recorded_patches(variant))
    return applied


def _patchset_hash(applied: list[dict[str, Any]]) -> str | None:
    """KCIDB's patchset hash: sha256 over each patch's newline-terminated sha256, in
    order ("" for none). None when a patch's hash is unknown (an old run.json) or it was
    applied in reverse, since then no patch file with a known hash is what was applied."""
    if any(not p.get("sha256") or p.get("reverse") for p in applied):
        return None
    return hashlib.sha256("".join(f"{p['sha256']}\n" for p in applied).encode()).hexdigest()


def _patchset_files(
    applied: list[dict[str, Any]], patch_url: str | None
) -> list[dict[str, str]] | None:
    """Links to the patch files under `patch_url` (a copy of kernel-patches/), or None
    unless every patch applied is one of the rig's own files as recorded (same sha256)
    and applied forward: a partial list would misstate the patchset."""
    if patch_url is None:
        return None
    root = paths.KERNEL_PATCHES.resolve()
    files = []
    for patch in applied:
        relative = str(patch.get("file") or "")
        path = (root / relative).resolve()
        if (
            patch.get("reverse")
            or not path.is_relative_to(root)
            or not path.is_file()
            or sha256_file(path) != patch.get("sha256")
        ):
            return None
        files.append({"name": path.name, "url": f"{patch_url.rstrip('/')}/{relative}"})
    return files


def _checkout_id(run_info: dict[str, Any], variant: str) -> str:
    return f"{ORIGIN}:{run_info['run_id']}:{variant}"


def _checkouts(run_info: dict[str, Any], patch_url: str | None) -> list[dict[str, Any]]:
    kernel = run_info.get("kernel") or {}
    source = kernel.get("source") or {}
    checkouts = []
    for variant in run_info.get("variants") or []:
        name = str(variant["name"])
        applied = _patchset(kernel, variant)
        checkout: dict[str, Any] = {
            "id": _checkout_id(run_info, name),
            "origin": ORIGIN,
            **_base(source),
            "start_time": _time(run_info["created"]),
            "comment": f"Linux {kernel.get('version')}: "
            f"{run_reader.kernel_source_of(kernel)}, {name}",
            "misc": {"source": source, "variant": name, "patchset": applied},
        }
        patchset_hash = _patchset_hash(applied)
        if patchset_hash is not None:
            checkout["patchset_hash"] = patchset_hash
        patchset_files = _patchset_files(applied, patch_url)
        if patchset_files is not None:
            checkout["patchset_files"] = patchset_files
        if variant.get("release"):
            checkout["valid"] = True  # the patches applied: the kernel was built
        checkouts.append(checkout)
    return checkouts


def _config_name(kernel: dict[str, Any]) -> str:
    """allnoconfig+smmu-rig.config+...: the base target and the fragment's pieces."""
    pieces = kernel.get("config_fragment_pieces") or DEFAULT_FRAGMENT
    return "+".join([CONFIG_BASE, *(str(p) for p in pieces)])


def _builds(run_info: dict[str, Any], verdicts: dict[str, Any]) -> list[dict[str, Any]]:
    kernel = run_info.get("kernel") or {}
    builds = []
    for variant in run_info.get("variants") or []:
        name = str(variant["name"])
        build: dict[str, Any] = {
            "id": f"{ORIGIN}:{run_info['run_id']}:{name}",
            "checkout_id": _checkout_id(run_info, name),
            "origin": ORIGIN,
            "architecture": "arm64",
            "compiler": str(kernel.get("toolchain") or ""),
            "config_name": _config_name(kernel),
            # A variant carries a release once its kernel was built (or found built).
            "status": "PASS" if variant.get("release") else "FAIL",
            "comment": f"{name}: {variant.get('release')}",
            "misc": {
                "release": variant.get("release"),
                "patches": [
                    p.get("file") or p.get("name") for p in records.recorded_patches(variant)
                ],
                "patch_sha256": variant.get("patch_sha256"),
                "config_sha256": variant.get("config_sha256"),
                "config_fragment_sha256": kernel.get("config_fragment_sha256"),
                "cached": variant.get("cached"),
                "correctness": (verdicts.get(name) or {}).get("verdict"),
            },
        }
        # The kernel's own build time (its cache entry's), also when this run reused it.
        if variant.get("build_seconds") is not None:
            build["duration"] = float(variant["build_seconds"])
        builds.append(build)
    return builds


def benchmark_seconds(run_dir: Path) -> dict[tuple[str, int], float]:
    """(variant, size) -> dma_map_benchmark's seconds at that size summed over the
    variant's boots: guest time (instruction-counted under icount), and one benchmark
    run measures both map and unmap."""
    frame = run_reader.load(run_dir / "results.csv")
    seconds: dict[tuple[str, int], float] = defaultdict(float)
    for row in frame.to_dict("records"):
        seconds[str(row["variant"]), int(row["size_bytes"])] += float(row["seconds"])
    return dict(seconds)


def _status(correct: bool, verdict: str | None) -> str:
    """FAIL for a variant that failed a correctness check, or at a size where it
    regressed against the reference; PASS otherwise."""
    return "PASS" if correct and verdict != stats.REGRESSED else "FAIL"


def _environment(run_info: dict[str, Any]) -> dict[str, Any]:
    profile = run_info.get("profile") or {}
    mode = run_info.get("mode") or {}
    return {
        "comment": f"{profile.get('name')}: {profile.get('description')} ({mode.get('name')})",
        "misc": {
            "profile": profile.get("name"),
            "mode": mode.get("name"),
            "qemu": (run_info.get("qemu") or {}).get("version"),
        },
    }


def _tests(run_dir: Path, run_info: dict[str, Any], verdicts: dict[str, Any]) -> list[Any]:
    environment = _environment(run_info)
    seconds = benchmark_seconds(run_dir)
    grouped: dict[tuple[str, str, int], list[dict[str, Any]]] = defaultdict(list)
    for row in run_reader.rows_of(run_dir):
        grouped[row["variant"], row["metric"], int(row["size_bytes"])].append(row)
    tests = []
    for (variant, metric, size), rows in sorted(grouped.items()):
        correct = (verdicts.get(variant) or {}).get("verdict") == correctness.PASSED
        values = [float(r["value_us"]) for r in rows]
        first = rows[0]
        tests.append(
            {
                "id": f"{ORIGIN}:{run_info['run_id']}:{variant}:{metric}:{size}",
                "build_id": f"{ORIGIN}:{run_info['run_id']}:{variant}",
                "origin": ORIGIN,
                "path": f"dma_map_benchmark.{metric}.{format_size(size)}",
                "status": _status(correct, first["verdict"]),
                "number": {"value": sum(values) / len(values), "unit": "us"},
                "environment": environment,
                "start_time": _time(run_info["created"]),
                "duration": seconds.get((variant, size), 0.0),
                "comment": f"{metric} latency of a {format_size(size)} buffer, "
                f"mean of {len(values)} boot(s)",
                "misc": {
                    "boots": values,
                    "reference": first["reference"],
                    "change_pct": first["change_pct"],
                    "verdict": first["verdict"],
                    "correctness": first["correctness"],
                },
            }
        )
    return tests


def patch_url_of(patch_url: str | None) -> str | None:
    """The download location of kernel-patches/: the one given, else $SMMU_RIG_PATCH_URL."""
    chosen = patch_url or os.environ.get(PATCH_URL_ENV) or None
    if chosen is not None and not _URL.match(chosen):
        raise UserError(
            f"patch URL {chosen!r} (${PATCH_URL_ENV}): expected an absolute "
            "URL such as https://example.org/smmu-rig/kernel-patches"
        )
    return chosen


def document(run_dir: Path, patch_url: str | None = None) -> dict[str, Any]:
    """The run's KCIDB document; with `patch_url` (or $SMMU_RIG_PATCH_URL) the
    checkouts also link their patch files under it."""
    run_info = run_reader.run_info_of(run_dir)
    verdicts = correctness.read(run_dir)
    return {
        "version": VERSION,
        "checkouts": _checkouts(run_info, patch_url_of(patch_url)),
        "builds": _builds(run_info, verdicts),
        "tests": _tests(run_dir, run_info, verdicts),
    }
