"""The nightly workflow: actionlint accepts it (and rejects a broken copy), its job
list is the matrix file's, and its jobs call make targets."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from rig import paths
from rig.nightly import matrix

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


def test_the_generated_job_list_is_the_matrix_file() -> None:
    printed = subprocess.run(
        ["make", "-s", "matrix-json"], cwd=paths.REPO, capture_output=True, text=True, check=True
    ).stdout
    _, cells = matrix.load()
    assert json.loads(printed) == json.loads(matrix.jobs_json(cells))
    assert [job["cell"] for job in json.loads(printed)["include"]] == [c.name for c in cells]


def test_one_job_per_cell_from_the_job_list_calling_make() -> None:
    flow = yaml.safe_load(WORKFLOW.read_text())
    jobs = flow["jobs"]
    assert jobs["cell"]["strategy"] == {
        "fail-fast": False,
        "matrix": "${{ fromJSON(needs.set-matrix.outputs.cells) }}",
    }
    runs = [s["run"] for job in jobs.values() for s in job["steps"] if "run" in s]
    assert any("make -s matrix-json" in r for r in runs)
    assert any("make matrix-cell" in r for r in runs)
    assert any("make history" in r for r in runs) and any("make trend" in r for r in runs)
    assert not any("python -m rig" in r for r in runs)  # every rig step goes through make
    downloads = [s for s in jobs["trend"]["steps"] if "download-artifact" in s.get("uses", "")]
    assert downloads[0]["with"]["merge-multiple"] is True
