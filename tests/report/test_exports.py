"""junit.xml and kcidb.json of a run: KCIDB's own schema accepts the document, and a
failed check shows as a failure in both."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import kcidb_io
from junitparser import Failure, JUnitXml

from rig import paths
from rig.report import exports
from tests.report.failed_runs import fail_a_check

PUBLISHED = paths.DEFAULT_RESULTS / "20261125-024623-mmu500-noncoherent-icount"


def _copy(tmp_path: Path) -> Path:
    run = tmp_path / PUBLISHED.name
    shutil.copytree(PUBLISHED, run)
    return run


def test_the_kcidb_document_is_valid_v5_with_a_test_per_variant_operation_and_size(
    tmp_path: Path,
) -> None:
    run = _copy(tmp_path)
    exports.write(run)
    document = json.loads((run / "kcidb.json").read_text())
    kcidb_io.schema.LATEST.validate(document)
    assert kcidb_io.schema.LATEST.major == document["version"]["major"] == 5
    assert [c["id"].rsplit(":", 1)[1] for c in document["checkouts"]] == ["baseline", "final"]
    assert [b["id"].rsplit(":", 1)[1] for b in document["builds"]] == ["baseline", "final"]
    tests = {t["path"]: t for t in document["tests"] if t["build_id"].endswith(":final")}
    assert len(document["tests"]) == 2 * 2 * 8  # variants x operations x sizes
    unmap = tests["dma_map_benchmark.unmap.1M"]
    assert unmap["status"] == "PASS" and unmap["number"]["unit"] == "us"
    assert 300 < unmap["number"]["value"] < 400  # final's 1M unmap on the model
    assert unmap["environment"]["misc"]["profile"] == "mmu500-noncoherent"
    assert unmap["misc"]["verdict"] == "improved"


def test_junit_has_a_case_per_check_and_per_verdict_and_fails_a_failed_check(
    tmp_path: Path,
) -> None:
    run = _copy(tmp_path)
    exports.write(run)
    suites = {s.name.rsplit(".", 1)[1]: s for s in JUnitXml.fromfile(str(run / "junit.xml"))}
    assert suites["final"].failures == 0 and suites["final"].tests > 16
    verdicts = [c for c in suites["final"] if c.classname.endswith(".final.verdict")]
    assert len(verdicts) == 16 and {c.name for c in verdicts} >= {"map 4K", "unmap 1M"}

    fail_a_check(run)
    exports.write(run)
    suites = {s.name.rsplit(".", 1)[1]: s for s in JUnitXml.fromfile(str(run / "junit.xml"))}
    (failed,) = [c for c in suites["final"] if not c.is_passed]
    assert failed.name == "console: Oops" and isinstance(failed.result[0], Failure)
    assert "paging request" in (failed.result[0].message or "")
    document = json.loads((run / "kcidb.json").read_text())
    statuses = {t["status"] for t in document["tests"] if t["build_id"].endswith(":final")}
    assert statuses == {"FAIL"}
