"""A run as a KernelCI KCIDB document (schema v5): one checkout (the kernel source),
a build per variant (the source with its patches), and a test per variant x
operation x size whose number is the measured latency.

The test's status is the variant's correctness (PASS when it passed every check,
FAIL when it failed one); its number is the mean over the run's boots in
microseconds; the machine profile and timing mode are its environment.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from rig.report import run_reader
from rig.run import correctness
from rig.sizes import format_size

ORIGIN = "smmu_rig"
VERSION = {"major": 5, "minor": 3}


def _checkout(run_info: dict[str, Any]) -> dict[str, Any]:
    kernel = run_info.get("kernel") or {}
    source = kernel.get("source") or {}
    checkout: dict[str, Any] = {
        "id": f"{ORIGIN}:{run_info['run_id']}",
        "origin": ORIGIN,
        "start_time": _time(run_info["created"]),
        "comment": f"Linux {kernel.get('version')}: {run_reader.kernel_source_of(kernel)}",
        "valid": True,
        "misc": {"source": source},
    }
    if source.get("commit"):
        checkout["git_commit_hash"] = source["commit"]
    if source.get("url"):
        checkout["git_repository_url"] = source["url"]
    return checkout


def _time(created: str) -> str:
    """run.json's 2026-11-25T02:46:23+0000 as RFC 3339 (2026-11-25T02:46:23+00:00)."""
    if len(created) > 5 and created[-5] in "+-" and ":" not in created[-5:]:
        return f"{created[:-2]}:{created[-2:]}"
    return created


def _builds(run_info: dict[str, Any], verdicts: dict[str, Any]) -> list[dict[str, Any]]:
    kernel = run_info.get("kernel") or {}
    builds = []
    for variant in run_info.get("variants") or []:
        name = str(variant["name"])
        build: dict[str, Any] = {
            "id": f"{ORIGIN}:{run_info['run_id']}:{name}",
            "checkout_id": f"{ORIGIN}:{run_info['run_id']}",
            "origin": ORIGIN,
            "architecture": "arm64",
            "compiler": str(kernel.get("toolchain") or ""),
            "config_name": "defconfig+smmu-rig",
            "status": "PASS",
            "comment": f"{name}: {variant.get('release')}",
            "misc": {
                "release": variant.get("release"),
                "patches": [p.get("name") for p in variant.get("patches") or []],
                "patch_sha256": variant.get("patch_sha256"),
                "correctness": (verdicts.get(name) or {}).get("verdict"),
            },
        }
        if variant.get("build_seconds") is not None:
            build["duration"] = float(variant["build_seconds"])
        builds.append(build)
    return builds


def _tests(run_dir: Path, run_info: dict[str, Any], verdicts: dict[str, Any]) -> list[Any]:
    profile = run_info.get("profile") or {}
    mode = run_info.get("mode") or {}
    environment = {
        "comment": f"{profile.get('name')}: {profile.get('description')} ({mode.get('name')})",
        "misc": {
            "profile": profile.get("name"),
            "mode": mode.get("name"),
            "qemu": (run_info.get("qemu") or {}).get("version"),
        },
    }
    grouped: dict[tuple[str, str, int], list[dict[str, Any]]] = defaultdict(list)
    for row in run_reader.rows_of(run_dir):
        grouped[row["variant"], row["metric"], int(row["size_bytes"])].append(row)
    tests = []
    for (variant, metric, size), rows in sorted(grouped.items()):
        passed = (verdicts.get(variant) or {}).get("verdict") == correctness.PASSED
        values = [float(r["value_us"]) for r in rows]
        first = rows[0]
        tests.append(
            {
                "id": f"{ORIGIN}:{run_info['run_id']}:{variant}:{metric}:{size}",
                "build_id": f"{ORIGIN}:{run_info['run_id']}:{variant}",
                "origin": ORIGIN,
                "path": f"dma_map_benchmark.{metric}.{format_size(size)}",
                "status": "PASS" if passed else "FAIL",
                "number": {"value": sum(values) / len(values), "unit": "us"},
                "environment": environment,
                "start_time": _time(run_info["created"]),
                "comment": f"{metric} latency of a {format_size(size)} buffer, "
                f"mean of {len(values)} boot(s)",
                "misc": {
                    "boots": values,
                    "reference": first["reference"],
                    "change_pct": first["change_pct"],
                    "verdict": first["verdict"],
                },
            }
        )
    return tests


def document(run_dir: Path) -> dict[str, Any]:
    run_info = run_reader.run_info_of(run_dir)
    verdicts = correctness.read(run_dir)
    return {
        "version": VERSION,
        "checkouts": [_checkout(run_info)],
        "builds": _builds(run_info, verdicts),
        "tests": _tests(run_dir, run_info, verdicts),
    }
