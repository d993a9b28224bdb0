"""The real .github/workflows/nightly.yml, executed night after night as a runner would
(tests/workflow/runner.py) in fresh Debian 12 roots standing in for the debian:12 image.

Four nights on a small matrix: one kernel repository by file:// URL with two branches
(main, stable), one profile, sizes 4K and 1M, two repeats.
1. every cell is measured; the runs are recorded on the history branch;
2. nothing changed: nothing is measured, and the trend still shows night 1;
3. main gains a commit: exactly main's cell is measured, built incrementally;
4. main gains a commit that adds 35 us (5% of the baseline) to 1M unmaps: the cell job
   measures it twice (the confirmation), the trend job fails with exit code 3 and its
   step summary names the cell, the size and the run; nothing else is flagged.
Then the history branch rebuilds a history equal to the one the trend job used.

Two broken copies of the workflow fail on night 1 by name: one that installs nothing
before its first make, one whose rig cache is the host's github.workspace path.

Needs root (chroot, mounts) and about 40 minutes; `make test-workflow` runs it, and
.ci/run runs it in its fresh root after `make test`.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from rig import paths
from tests.workflow import nights
from tests.workflow.actions import Store
from tests.workflow.runner import Night, Runner

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the runner needs root (chroot, mounts)"),
]

WORKFLOW = paths.REPO / ".github" / "workflows" / "nightly.yml"
MAIN_CELL = "linux-main-mmu500-noncoherent"
# The history branch's runs after each night of the four.
RECORDED: list[list[str]] = []
STABLE_CELL = "linux-stable-mmu500-noncoherent"


def matrix_text(kernel: nights.KernelRepo) -> str:
    return (
        "kernels:\n"
        f"  git:{kernel.url}@main: [final]\n"
        f"  git:{kernel.url}@stable: [final]\n"
        "profiles: [mmu500-noncoherent]\n"
        "sizes: [4K, 1M]\n"
        "repeat: 2\n"
    )


@pytest.fixture(scope="module")
def work() -> Path:
    folder = paths.REPO / "build" / "workflow-test"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def make_runner(work: Path, name: str, workflow_text: str | None) -> tuple[Runner, Store]:
    kernel = nights.KernelRepo(work)
    kernel.create()
    stage = work / name
    subprocess.run(["rm", "-rf", "--one-file-system", str(stage)], check=True)
    stage.mkdir()
    repo = nights.project_remote(stage, matrix_text(kernel), workflow_text)
    store = Store(stage / "store")
    nights.seed_qemu(store, stage)
    shared = {
        "/var/cache/apt/archives": work / "apt-archives",
        "/github/home/.cache/pip": work / "pip-cache",
    }
    for folder in shared.values():
        (folder / "partial").mkdir(parents=True, exist_ok=True)
    image = nights.image(work)
    runner = Runner(
        workflow_text_path(stage, workflow_text), repo, image=image, work=stage / "jobs",
        store=store, mounts=[kernel.git_dir], shared_caches=shared,
    )  # fmt: skip
    return runner, store


def workflow_text_path(stage: Path, text: str | None) -> Path:
    if text is None:
        return WORKFLOW
    path = stage / "nightly.yml"
    path.write_text(text)
    return path


def branch_runs(runner: Runner) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(runner.repo.remote), "ls-tree", "--name-only", "nightly-history",
         "runs/"],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    return sorted(line.split("/", 1)[1] for line in out.split())


def measured_cells(night: Night) -> list[str]:
    return sorted(j.name.removeprefix("cell ") for j in night.job("cell") if j.result != "skipped")


# The kernel commits the nights make, by name.
COMMITS: dict[str, str] = {}


@pytest.fixture(scope="module")
def four_nights(work: Path) -> Iterator[tuple[Runner, Store, list[Night]]]:
    runner, store = make_runner(work, "nights", None)
    kernel = nights.KernelRepo(work)
    done = [runner.run("1001")]
    RECORDED.append(branch_runs(runner))
    done.append(runner.run("1002"))
    RECORDED.append(branch_runs(runner))
    COMMITS["night 3"] = kernel.commit(
        "main", "drivers/iommu/iommu.c", ["/* night 3: an unrelated comment */\n"], "night 3"
    )
    done.append(runner.run("1003"))
    RECORDED.append(branch_runs(runner))
    COMMITS["night 4"] = kernel.commit(
        "main", "drivers/iommu/dma-iommu.c",
        ["#include <linux/atomic.h>|||#include <linux/delay.h>\n",
         "size = iova_align(iovad, size + iova_off);|||" + nights.SLOW_UNMAP],
        "night 4: slower 1M unmap",
    )  # fmt: skip
    done.append(runner.run("1004"))
    yield runner, store, done


def test_night_1_measures_every_cell(four_nights: tuple[Runner, Store, list[Night]]) -> None:
    _runner, store, done = four_nights
    night = done[0]
    assert night.job("set-matrix")[0].outputs["count"] == "2"
    assert measured_cells(night) == sorted([MAIN_CELL, STABLE_CELL])
    for job in night.job("cell"):
        assert job.result == "success", job.log_text()[-3000:]
        # The seeded QEMU was restored where the rig looks for it: not built again.
        assert (
            "QEMU 10" not in job.log_text()
            or "build (with the MMU-500 model)" not in job.log_text()
        )
    assert night.job("trend")[0].result == "success", night.job("trend")[0].log_text()[-3000:]
    assert len(RECORDED[0]) == 2
    assert any(line.startswith("cache saved kernel-") for line in store.log)


def test_night_2_measures_nothing_and_keeps_the_trend(
    four_nights: tuple[Runner, Store, list[Night]],
) -> None:
    _runner, _, done = four_nights
    night = done[1]
    assert night.job("set-matrix")[0].outputs["count"] == "0"
    assert [j.result for j in night.job("cell")] == ["skipped"]
    trend = night.job("trend")[0]
    assert trend.result == "success", trend.log_text()[-3000:]
    assert "2 run(s) recorded" in trend.log_text()
    assert len(RECORDED[1]) == 2


def test_night_3_measures_the_changed_cell_incrementally(
    four_nights: tuple[Runner, Store, list[Night]],
) -> None:
    _runner, _, done = four_nights
    night = done[2]
    assert measured_cells(night) == [MAIN_CELL]
    (job,) = night.job("cell")
    assert job.result == "success", job.log_text()[-3000:]
    log = job.log_text()
    assert "files compiled" in log
    compiled = [int(line.split(",")[1].split()[0]) for line in log.splitlines()
                if "-rig-" in line and "files compiled" in line]  # fmt: skip
    assert compiled and max(compiled) < 50, compiled  # incremental: not the whole kernel
    assert night.job("trend")[0].result == "success"
    assert len(RECORDED[2]) == 3


def test_night_4_turns_red_on_the_regression_only(
    four_nights: tuple[Runner, Store, list[Night]],
) -> None:
    runner, _, done = four_nights
    night = done[3]
    assert measured_cells(night) == [MAIN_CELL]
    (job,) = night.job("cell")
    assert job.result == "success", job.log_text()[-3000:]
    assert "running the cell again to confirm it" in job.log_text()
    (trend,) = night.job("trend")
    assert trend.result == "failure"
    assert "exit code 2" in trend.log_text() or "Error 3" in trend.log_text()
    summary = trend.summary
    new_runs = sorted(set(branch_runs(runner)) - set(_runs_before(done)))
    assert len(new_runs) == 2
    assert MAIN_CELL in summary and "1M" in summary and new_runs[0] in summary, summary
    assert STABLE_CELL not in summary.split("regression")[-1] and "4K" not in summary, summary
    assert trend.step("publish the trend site").outcome == "success"
    # The command that finds the commit: from night 3's commit to night 4's.
    bisect = (
        f"python -m rig bisect --kernel-src linux {COMMITS['night 3']} {COMMITS['night 4']} "
        "--metric unmap --size 1M"
    )
    assert bisect in summary, summary


def _runs_before(done: list[Night]) -> list[str]:
    return RECORDED[len(done) - 2]


def test_the_branch_rebuilds_the_trend_jobs_history(
    four_nights: tuple[Runner, Store, list[Night]], tmp_path: Path
) -> None:
    runner, store, _ = four_nights
    used = store.artifacts("1004") / "trend-1004-1" / "nightly-history.sqlite"
    clone = tmp_path / "branch"
    subprocess.run(
        ["git", "clone", "-q", "--branch", "nightly-history", str(runner.repo.remote), str(clone)],
        check=True,
    )
    rebuilt = tmp_path / "history.sqlite"
    runs = sorted(str(p) for p in (clone / "runs").iterdir())
    subprocess.run(
        [
            str(paths.REPO / ".venv" / "bin" / "python"),
            "-m",
            "rig",
            "merge",
            *runs,
            "--history",
            str(rebuilt),
        ],
        check=True,
        cwd=paths.REPO,
    )
    assert _rows(rebuilt) == _rows(used)
    assert (clone / "trend").is_dir()


def _rows(db: Path) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(db)) as con:
        return sorted(con.execute("SELECT * FROM measurements").fetchall(), key=repr)


def test_a_workflow_without_base_packages_fails_at_once(work: Path) -> None:
    install = "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install"
    broken = "\n".join(
        line.replace(line.strip(), "true") if install in line else line
        for line in WORKFLOW.read_text().splitlines()
    )
    assert broken != WORKFLOW.read_text()
    runner, _ = make_runner(work, "broken-base", broken)
    night = runner.run("2001")
    (job,) = night.job("set-matrix")
    assert job.result == "failure"
    assert "make: not found" in job.log_text() or "make: command not found" in job.log_text()
    assert [j.result for j in night.job("cell")] == ["skipped"]


def test_a_cache_outside_the_workspace_fails_by_name(work: Path) -> None:
    broken = WORKFLOW.read_text().replace(
        "  SMMU_RIG_CACHE: .rig-cache", "  SMMU_RIG_CACHE: ${{ github.workspace }}/.rig-cache"
    )
    runner, _ = make_runner(work, "broken-cache", broken)
    night = runner.run("3001")
    failed = [j for j in night.job("cell") if j.result == "failure"]
    assert failed
    assert "SMMU_RIG_REQUIRE_CACHED=qemu" in failed[0].log_text()
