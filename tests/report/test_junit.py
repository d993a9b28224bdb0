"""junit.xml against the strict Apache Ant JUnit schema (windyroad's JUnit.xsd), and
class names that keep the cells of a matrix apart when their files are merged.

No maintained PyPI package ships that XSD (junitparser names it but does not carry it),
and the rig copies no other project's schema file, so `strict_ant_violations` states
what the schema requires, element by element, and the tests hold the export to it."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from junitparser import JUnitXml

from rig import paths
from rig.report import exports, junit
from tests.report.failed_runs import fail_a_check

PUBLISHED = paths.DEFAULT_RESULTS / "20261125-024623-mmu500-noncoherent-icount"

# The strict schema's types: ISO8601_DATETIME_PATTERN (no time zone), xs:decimal
# (no exponent), xs:int.
_TIMESTAMP = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$")
_DECIMAL = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")
_INT = re.compile(r"^[+-]?[0-9]+$")
# A <testsuite> inside <testsuites>: the base type's attributes plus package and id.
_SUITE_REQUIRED = {"name", "timestamp", "hostname", "tests", "failures", "errors", "time"}
_SUITE_REQUIRED |= {"package", "id"}
_SUITE_OPTIONAL = {"skipped"}
# properties, any test cases, then system-out and system-err, each exactly once.
_SUITE_CHILDREN = re.compile(r"^properties( testcase)* system-out system-err$")
_CASE_ATTRIBUTES = {"name", "classname", "time"}


def _token(value: str | None) -> bool:
    """xs:token with minLength 1: something left once whitespace is collapsed."""
    return bool(value and value.split())


def _simple(element: ET.Element, where: str) -> list[str]:
    """Text-only content (system-out, system-err, a failure or error's text)."""
    return [f"{where}: child <{child.tag}> in text-only content" for child in element]


def _suite_attribute_violations(suite: ET.Element, where: str) -> list[str]:
    found = []
    names = set(suite.attrib)
    if missing := _SUITE_REQUIRED - names:
        found.append(f"{where}: missing {sorted(missing)}")
    if extra := names - _SUITE_REQUIRED - _SUITE_OPTIONAL:
        found.append(f"{where}: attributes {sorted(extra)} not in the schema")
    checks: dict[str, Callable[[str], object]] = {
        "timestamp": _TIMESTAMP.match,
        "time": _DECIMAL.match,
        **{name: _INT.match for name in ("tests", "failures", "errors", "skipped", "id")},
        **{name: _token for name in ("name", "hostname")},
    }
    for name, check in checks.items():
        value = suite.get(name)
        if value is not None and not check(value):
            found.append(f"{where}: {name}={value!r} is not of the schema's type")
    return found


def _case_violations(case: ET.Element, where: str) -> list[str]:
    found = []
    if set(case.attrib) != _CASE_ATTRIBUTES:
        found.append(f"{where}: attributes {sorted(case.attrib)}, want {sorted(_CASE_ATTRIBUTES)}")
    if not _DECIMAL.match(case.get("time") or ""):
        found.append(f"{where}: time={case.get('time')!r} is not an xs:decimal")
    children = list(case)
    if len(children) > 1 or any(c.tag not in {"skipped", "error", "failure"} for c in children):
        found.append(f"{where}: children {[c.tag for c in children]}, want one result at most")
    for result in (c for c in children if c.tag in {"error", "failure"}):
        if "type" not in result.attrib or set(result.attrib) - {"message", "type"}:
            found.append(f"{where}: <{result.tag}> attributes {sorted(result.attrib)}")
        found += _simple(result, f"{where} <{result.tag}>")
    return found


def _suite_violations(suite: ET.Element, where: str) -> list[str]:
    if suite.tag != "testsuite":
        return [f"{where}: <{suite.tag}>, want <testsuite>"]
    found = _suite_attribute_violations(suite, where)
    tags = " ".join(child.tag for child in suite)
    if not _SUITE_CHILDREN.match(tags):
        found.append(f"{where}: children {tags!r}, want properties, testcase*, system-out/err")
    for child in suite:
        if child.tag == "properties":
            for prop in child:
                if prop.tag != "property" or set(prop.attrib) != {"name", "value"}:
                    found.append(f"{where}: <{prop.tag} {sorted(prop.attrib)}> in properties")
                elif not _token(prop.get("name")):
                    found.append(f"{where}: a property without a name")
        elif child.tag == "testcase":
            found += _case_violations(child, f"{where} testcase {child.get('name')!r}")
        elif child.tag in {"system-out", "system-err"}:
            found += _simple(child, f"{where} <{child.tag}>")
            if child.attrib:
                found.append(f"{where}: <{child.tag}> has attributes")
    return found


def strict_ant_violations(path: Path) -> list[str]:
    """Everything in a <testsuites> file that the strict Ant JUnit schema rejects."""
    root = ET.parse(path).getroot()
    found = []
    if root.tag != "testsuites":
        found.append(f"root <{root.tag}>, want <testsuites>")
    if root.attrib:
        found.append(f"<testsuites> has attributes {sorted(root.attrib)}: the schema has none")
    for index, suite in enumerate(root):
        found += _suite_violations(suite, f"testsuite {index} {suite.get('name')!r}")
    return found


def _copy(tmp_path: Path, name: str = PUBLISHED.name) -> Path:
    run = tmp_path / name
    shutil.copytree(PUBLISHED, run)
    return run


def test_the_export_is_valid_against_the_strict_schema_passed_or_failed(tmp_path: Path) -> None:
    run = _copy(tmp_path)
    exports.write(run)
    assert strict_ant_violations(run / "junit.xml") == []
    fail_a_check(run)
    exports.write(run)
    assert strict_ant_violations(run / "junit.xml") == []
    root = ET.parse(run / "junit.xml").getroot()
    for index, suite in enumerate(root):
        cases = suite.findall("testcase")
        assert suite.get("id") == str(index) and suite.get("tests") == str(len(cases))
        assert suite.get("failures") == str(len(suite.findall("testcase/failure")))
        assert suite.get("timestamp") == "2026-11-25T02:47:03"  # the run's, in UTC
        assert suite.get("package") == "smmu-rig.6.1-mmu500-noncoherent-icount"
    (failure,) = root.iterfind("testsuite/testcase/failure")
    assert failure.get("type") == "correctness" and "paging request" in (failure.text or "")


def test_a_regressed_size_is_a_failed_case_and_still_valid(tmp_path: Path) -> None:
    run = _copy(tmp_path)
    csv = run / "results.csv"
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    for row in rows:
        if row["variant"] == "final" and row["size_bytes"] == str(1024 * 1024):
            row["unmap_us"] = "2000.0"  # far slower than baseline's ~676 us
    csv.write_text("\n".join([lines[0], *(",".join(r[h] for h in header) for r in rows)]) + "\n")
    exports.write(run)
    assert strict_ant_violations(run / "junit.xml") == []
    root = ET.parse(run / "junit.xml").getroot()
    failed = [
        (case.get("name"), failure.get("type"))
        for case in root.iterfind("testsuite/testcase")
        for failure in case.iterfind("failure")
    ]
    assert failed == [("unmap 1M", "regression")]


def test_the_checker_rejects_what_the_strict_schema_rejects(tmp_path: Path) -> None:
    """The lenient form (junitparser's defaults, the rig's old export) fails it."""
    lenient = tmp_path / "lenient.xml"
    lenient.write_text(
        '<testsuites name="x" tests="1"><testsuite name="s" tests="1" errors="0" '
        'failures="0" time="0" timestamp="2026-11-25T02:47:03+00:00">'
        '<testcase name="c" classname="k"><system-out>detail</system-out></testcase>'
        "</testsuite></testsuites>"
    )
    found = "\n".join(strict_ant_violations(lenient))
    for wanted in (
        "<testsuites> has attributes",
        "missing ['hostname', 'id', 'package']",
        "timestamp='2026-11-25T02:47:03+00:00'",
        "children 'testcase'",
        "attributes ['classname', 'name'], want",
        "children ['system-out']",
    ):
        assert wanted in found


def test_each_case_keeps_its_detail_in_the_suite_output(tmp_path: Path) -> None:
    run = _copy(tmp_path)
    exports.write(run)
    suites = {s.name.rsplit(".", 1)[1]: s for s in JUnitXml.fromfile(str(run / "junit.xml"))}
    root = ET.parse(run / "junit.xml").getroot()
    output = {s.get("name", "").rsplit(".", 1)[1]: s.findtext("system-out") for s in root}
    assert "verdict unmap 1M: +45.6% improved against baseline" in (output["final"] or "")
    assert "correctness gates: 32 gates passed over 4 boots" in (output["baseline"] or "")
    verdicts = [c for c in suites["final"] if c.classname.endswith(".verdict")]
    # Each verdict case is timed by its benchmark: 1 s per boot at its size, 3 boots.
    assert {c.time for c in verdicts} == {3.0} and suites["final"].time == 24.0


def test_timestamps_are_the_runs_in_utc_without_a_zone() -> None:
    assert junit.timestamp_of("2026-11-25T02:47:03+0100") == "2026-11-25T01:47:03"
    assert junit.timestamp_of("2026-11-25T02:47:03+00:00") == "2026-11-25T02:47:03"
    assert junit.timestamp_of("2026-11-25T02:47:03") == "2026-11-25T02:47:03"


def test_merged_runs_of_two_cells_have_no_duplicate_cases(tmp_path: Path) -> None:
    """Two cells' files merged into one report (as a CI page or junitparser merges
    them): every (classname, name) stays unique, though the case names repeat."""
    first = _copy(tmp_path)
    other_id = "20261125-031500-smmuv3-noncoherent-icount"
    second = _copy(tmp_path, other_id)
    info = json.loads((second / "run.json").read_text())
    info["run_id"] = other_id
    info["profile"]["name"] = "smmuv3-noncoherent"
    (second / "run.json").write_text(json.dumps(info))
    exports.write(first)
    exports.write(second)

    merged = JUnitXml.fromfile(str(first / "junit.xml")) + JUnitXml.fromfile(
        str(second / "junit.xml")
    )
    pairs = [(case.classname, case.name) for suite in merged for case in suite]
    assert len(pairs) == 2 * (6 + 6 + 16)  # two runs x (checks x 2 variants + verdicts)
    assert [pair for pair, count in Counter(pairs).items() if count > 1] == []
    assert max(Counter(name for _, name in pairs).values()) == 4  # names alone collide
    assert {c.split(".verdict")[0] for c, _ in pairs if c.endswith(".verdict")} == {
        "smmu-rig.6.1-mmu500-noncoherent-icount.final",
        "smmu-rig.6.1-smmuv3-noncoherent-icount.final",
    }


def test_the_same_run_exports_to_the_same_bytes(tmp_path: Path) -> None:
    first = _copy(tmp_path / "one")
    second = _copy(tmp_path / "two")
    exports.write(first)
    exports.write(second)
    assert (first / "junit.xml").read_bytes() == (second / "junit.xml").read_bytes()
