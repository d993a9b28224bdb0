"""The nightly workflow's pieces that can be checked without running it (that is
tests/workflow/): actionlint accepts it and rejects a broken copy, every job installs
the base packages before its first make and has a timeout, the workflow has a
concurrency group, and the CI keys follow what was resolved, not names."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rig import paths
from rig.nightly import ci_keys, matrix
from rig.run import settings

WORKFLOW = paths.REPO / ".github" / "workflows" / "nightly.yml"
ACTIONLINT = paths.REPO / ".venv" / "bin" / "actionlint"


def _lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ACTIONLINT), str(path)], capture_output=True, text=True, check=False)


def test_actionlint_accepts_the_workflow_and_rejects_a_broken_one(tmp_path: Path) -> None:
    checked = _lint(WORKFLOW)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    broken = tmp_path / "nightly.yml"
    broken.write_text(
        WORKFLOW.read_text().replace(
            "needs.set-matrix.outputs.cells", "needs.set-matrix.outputs.cels"
        )
    )
    assert _lint(broken).returncode != 0


def test_every_job_installs_the_base_set_first_and_has_a_timeout() -> None:
    flow = yaml.safe_load(WORKFLOW.read_text())
    assert flow["concurrency"]["group"]
    assert flow["env"]["SMMU_RIG_CACHE"] == ".rig-cache"  # relative: inside the container
    for name, job in flow["jobs"].items():
        assert job["container"] == "debian:12" and job["timeout-minutes"] > 0, name
        first = job["steps"][0]
        assert "${BASE_PACKAGES}" in first["run"], name
    assert flow["jobs"]["trend"]["permissions"] == {"contents": "write"}
    assert flow["permissions"] == {"contents": "read"}


@pytest.fixture
def resolved(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The resolvers, answered from a dict the test changes (no network)."""
    answers: dict[str, Any] = {
        "kernel": {"kind": "debian", "package": "linux-source-6.1", "version": "6.1.1-1"},
        "qemu": {"package": "qemu", "version": "1:10.2.2+ds-1"},
        "toolchain": {"gcc-aarch64-linux-gnu": "4:12.2.0-3"},
    }
    for name in ("kernel", "qemu", "toolchain"):
        cached = getattr(ci_keys, f"resolved_{name}")
        cached.cache_clear()
        monkeypatch.setattr(ci_keys, f"resolved_{name}", lambda *_, n=name: dict(answers[n]))
    return answers


def _keys(name: str) -> dict[str, Any]:
    shape, cells = matrix.load()
    (cell,) = matrix.choose(cells, name)
    return ci_keys.cell_keys(settings.load(paths.DEFAULT_BENCH_CONFIG), shape, cell)


def test_keys_follow_the_resolved_versions(resolved: dict[str, Any]) -> None:
    first = _keys("6.1-mmu500-noncoherent")
    assert _keys("6.1-mmu500-noncoherent") == first  # an unchanged night: the same keys
    resolved["kernel"]["version"] = "6.1.2-1"  # a new linux-source-6.1 upload
    upload = _keys("6.1-mmu500-noncoherent")
    assert upload["kernel"] != first["kernel"] and upload["inputs"] != first["inputs"]
    assert upload["qemu"] == first["qemu"]
    assert upload["kernel"].startswith(first["kernel_restore"])
    resolved["toolchain"]["gcc-aarch64-linux-gnu"] = "4:12.2.0-4"
    assert _keys("6.1-mmu500-noncoherent")["kernel"] != upload["kernel"]
    resolved["qemu"]["version"] = "1:10.2.3+ds-1"
    moved = _keys("6.1-mmu500-noncoherent")
    assert moved["qemu"] != first["qemu"] and moved["inputs"] != upload["inputs"]


def test_measured_cells_are_left_out(resolved: dict[str, Any], tmp_path: Path) -> None:
    _, cells = matrix.load()
    listed = json.loads(ci_keys.jobs_json(paths.DEFAULT_BENCH_CONFIG, matrix.FILE, cells))
    assert [job["cell"] for job in listed["include"]] == [c.name for c in cells]
    (tmp_path / listed["include"][0]["keys"]["inputs"]).write_text("1001\n")
    left = json.loads(
        ci_keys.jobs_json(paths.DEFAULT_BENCH_CONFIG, matrix.FILE, cells, measured=tmp_path)
    )
    assert [job["cell"] for job in left["include"]] == [c.name for c in cells[1:]]


def test_git_kernels_in_the_matrix(tmp_path: Path) -> None:
    path = tmp_path / "nightly.yaml"
    path.write_text(
        "kernels:\n  git:file:///srv/linux.git@main: [final]\nprofiles: [mmu500-noncoherent]\n"
    )
    _, cells = matrix.load(path)
    assert [c.name for c in cells] == ["linux-main-mmu500-noncoherent"]
    path.write_text("kernels:\n  git:nowhere: [final]\nprofiles: [mmu500-noncoherent]\n")
    with pytest.raises(Exception, match="git:URL@BRANCH"):
        matrix.load(path)
