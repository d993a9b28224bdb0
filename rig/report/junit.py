"""A run's correctness checks and verdicts as JUnit XML, which CI systems render.

One test suite per variant: a test case per correctness check (failed when the
check failed, with its detail) and a test case per operation and size for the
verdict against the reference (failed when the variant regressed there).

The file is valid against the strict Apache Ant JUnit schema (windyroad's JUnit.xsd),
so the strictest readers take it as well as the lenient ones: an attribute-less
<testsuites>; on each suite its package, id, timestamp (without a time zone), hostname
and time; on each case its time; a suite's <system-out> and <system-err> after its
cases, and nothing inside a case but its failure. So each case's detail is a line of
its suite's <system-out> (a failure carries it too).

Class names carry the cell (smmu-rig.<kernel line>-<profile>-<mode>.<variant>), so the
files of a matrix's cells merge into one report without two cases of the same name.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from junitparser import (
    Attr,
    Failure,
    IntAttr,
    JUnitXml,
    SystemErr,
    SystemOut,
    TestCase,
    TestSuite,
)

from rig.build.source import kernel_label
from rig.report import kcidb, run_reader, stats
from rig.run import correctness
from rig.sizes import format_size

# The strict schema wants a host; the rig records none (run.json publishes no local
# names), and the schema says to use this when it cannot be determined.
HOSTNAME = "localhost"


class _Suite(TestSuite):
    """A suite inside <testsuites>, where the strict schema also wants its package
    (the cell) and its id (0, 1, ... in the file)."""

    package = Attr()
    id = IntAttr()


def cell_of(run_info: dict[str, Any]) -> str:
    """6.1-mmu500-noncoherent-icount: the nightly's cell (kernel line x profile) and the
    timing mode, which measures differently in the same cell."""
    version = (run_info.get("kernel") or {}).get("version")
    kernel = (run_info.get("settings") or {}).get("kernel")
    profile = (run_info.get("profile") or {}).get("name")
    mode = (run_info.get("mode") or {}).get("name")
    return f"{kernel_label(kernel, version)}-{profile}-{mode}"


def timestamp_of(created: str) -> str:
    """run.json's 2026-11-25T02:47:03+0100 as the schema's zone-less form, in UTC
    (2026-11-25T01:47:03): the run's time, never the export's."""
    try:
        moment = datetime.strptime(created, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)
    except ValueError:
        return created[:19]  # already zone-less, or not a time the rig writes
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _check_case(classname: str, check: dict[str, Any]) -> tuple[TestCase, str]:
    """A check's case (it judges recorded evidence, so takes no time of its own) and
    its line for the suite's output."""
    detail = str(check.get("detail") or "")
    case = TestCase(str(check["name"]), classname=f"{classname}.correctness", time=0)
    if not check.get("passed"):
        failure = Failure(detail or "failed", "correctness")
        failure.text = detail
        case.result = [failure]
    return case, f"correctness {case.name}: {detail}"


def _verdict_cases(
    classname: str, rows: list[dict[str, Any]], seconds: dict[int, float]
) -> list[tuple[TestCase, str]]:
    """A case per operation and size with a verdict; its time is the benchmark's at
    that size (one benchmark run measures both operations, so both carry it)."""
    by_point: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:
        if row["verdict"] is not None:
            by_point.setdefault((row["metric"], int(row["size_bytes"])), row)
    cases = []
    for (metric, size), row in sorted(by_point.items()):
        text = f"{row['change_pct']:+.1f}% {row['verdict']} against {row['reference']}"
        case = TestCase(
            f"{metric} {format_size(size)}",
            classname=f"{classname}.verdict",
            time=seconds.get(size, 0.0),
        )
        if row["verdict"] == stats.REGRESSED:
            failure = Failure(text, "regression")
            failure.text = text
            case.result = [failure]
        cases.append((case, f"verdict {case.name}: {text}"))
    return cases


def _suite(
    run_info: dict[str, Any],
    variant: str,
    index: int,
    cases: list[tuple[TestCase, str]],
    seconds: dict[int, float],
) -> TestSuite:
    """The variant's suite, its children in the schema's order: properties, cases,
    system-out (a line per case), system-err. Its time is the variant's benchmark
    time, each size counted once (its cases count a size once per operation)."""
    suite = _Suite(f"{run_info['run_id']}.{variant}")
    suite.package = f"smmu-rig.{cell_of(run_info)}"
    suite.id = index
    suite.hostname = HOSTNAME
    suite.timestamp = timestamp_of(str(run_info["created"]))
    for name, value in (
        ("profile", (run_info.get("profile") or {}).get("name")),
        ("mode", (run_info.get("mode") or {}).get("name")),
        ("kernel", (run_info.get("kernel") or {}).get("version")),
    ):
        suite.add_property(name, str(value))
    suite.add_testcases([case for case, _ in cases])
    suite.time = round(sum(seconds.values()), 3)
    output = SystemOut("".join(f"{line}\n" for _, line in cases))
    # junitparser leaves Element.append untyped.
    suite.append(output)  # type: ignore[no-untyped-call]
    suite.append(SystemErr(""))  # type: ignore[no-untyped-call]
    return suite


def document(run_dir: Path) -> JUnitXml:
    run_info = run_reader.run_info_of(run_dir)
    verdicts = correctness.read(run_dir)
    by_variant: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in run_reader.rows_of(run_dir):
        by_variant[row["variant"]].append(row)
    xml = JUnitXml()  # the strict schema gives <testsuites> no attributes
    benchmark = kcidb.benchmark_seconds(run_dir)  # the KCIDB tests' durations
    variants = [str(v["name"]) for v in run_info.get("variants") or []]
    for index, variant in enumerate(variants):
        classname = f"smmu-rig.{cell_of(run_info)}.{variant}"
        checks = (verdicts.get(variant) or {}).get("checks") or []
        cases = [_check_case(classname, check) for check in checks]
        seconds = {size: s for (v, size), s in benchmark.items() if v == variant}
        cases += _verdict_cases(classname, by_variant[variant], seconds)
        xml.add_testsuite(_suite(run_info, variant, index, cases, seconds))
    return xml


def write(run_dir: Path, path: Path) -> None:
    document(run_dir).write(str(path), pretty=True)
