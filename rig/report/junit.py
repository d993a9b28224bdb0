"""A run's correctness checks and verdicts as JUnit XML, which CI systems render.

One test suite per variant: a test case per correctness check (failed when the
check failed, with its detail) and a test case per operation and size for the
verdict against the reference (failed when the variant regressed there).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from junitparser import Failure, JUnitXml, TestCase, TestSuite

from rig.report import run_reader
from rig.run import correctness
from rig.sizes import format_size


def _check_case(variant: str, check: dict[str, Any]) -> TestCase:
    case = TestCase(str(check["name"]), classname=f"{variant}.correctness")
    case.system_out = str(check.get("detail") or "")
    if not check.get("passed"):
        case.result = [Failure(str(check.get("detail") or "failed"), "correctness")]
    return case


def _verdict_cases(variant: str, rows: list[dict[str, Any]]) -> list[TestCase]:
    by_point: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:
        if row["variant"] == variant and row["verdict"] is not None:
            by_point.setdefault((row["metric"], int(row["size_bytes"])), row)
    cases = []
    for (metric, size), row in sorted(by_point.items()):
        text = f"{row['change_pct']:+.1f}% {row['verdict']} against {row['reference']}"
        case = TestCase(f"{metric} {format_size(size)}", classname=f"{variant}.verdict")
        case.system_out = text
        if row["verdict"] == "regressed":
            case.result = [Failure(text, "regression")]
        cases.append(case)
    return cases


def document(run_dir: Path) -> JUnitXml:
    run_info = run_reader.run_info_of(run_dir)
    verdicts = correctness.read(run_dir)
    rows = run_reader.rows_of(run_dir)
    by_variant: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_variant[row["variant"]].append(row)
    xml = JUnitXml(f"smmu-rig {run_info['run_id']}")
    for variant in [str(v["name"]) for v in run_info.get("variants") or []]:
        suite = TestSuite(f"{run_info['run_id']}.{variant}")
        for name, value in (
            ("profile", (run_info.get("profile") or {}).get("name")),
            ("mode", (run_info.get("mode") or {}).get("name")),
            ("kernel", (run_info.get("kernel") or {}).get("version")),
        ):
            suite.add_property(name, str(value))
        for check in (verdicts.get(variant) or {}).get("checks") or []:
            suite.add_testcase(_check_case(variant, check))
        for case in _verdict_cases(variant, by_variant[variant]):
            suite.add_testcase(case)
        xml.add_testsuite(suite)
    return xml


def write(run_dir: Path, path: Path) -> None:
    document(run_dir).write(str(path), pretty=True)
