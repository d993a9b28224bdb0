"""End to end, the ways a run goes wrong: each is caught, named, and damages nothing.

Real kernels, real QEMU. Each test injects one failure and checks the message, the
exit code, that no QEMU is left running, and that earlier results and the kernel
tree are untouched.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rig import paths
from rig.cli import main
from rig.errors import EXIT_INTERRUPTED, EXIT_RUN_FAILED
from tests import locations, trees
from tests.processes import qemu_running_with, start_as_background_job

pytestmark = pytest.mark.e2e
PATCHES = locations.TEST_PATCHES
TARGET = "drivers/iommu/io-pgtable-arm.c"


def qemu_running_for(folder: Path) -> list[str]:
    return qemu_running_with(str(folder))


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A results folder that already holds a complete earlier run."""
    root = tmp_path / "results"
    earlier = root / "20250101-000000-earlier"
    earlier.mkdir(parents=True)
    (earlier / "results.csv").write_text("earlier run\n")
    (root / "latest").symlink_to(earlier.name)
    return root


def assert_earlier_untouched(root: Path) -> None:
    assert (root / "20250101-000000-earlier" / "results.csv").read_text() == "earlier run\n"


def test_broken_patches_are_failed_by_a_named_check(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = [PATCHES / "broken-partial-clear.patch", PATCHES / "broken-no-sync.patch"]
    code = main(
        [
            "bench",
            "--patch",
            ",".join(["final", *map(str, broken)]),
            "--sizes",
            "4K,64K",
            "--repeat",
            "1",
            "--out",
            str(results),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == EXIT_RUN_FAILED
    assert "broken-partial-clear, broken-no-sync FAILED" in err
    run = (results / "latest").resolve()
    verdicts = json.loads((run / "correctness.json").read_text())
    assert verdicts["final"]["verdict"] == "passed"
    assert verdicts["baseline"]["verdict"] == "passed"
    caught = {
        name: [c["name"] for c in verdicts[name]["checks"] if not c["passed"]]
        for name in ("broken-partial-clear", "broken-no-sync")
    }
    # The stale PTE left behind is found by the next map of the same IOVA (a WARN in
    # io-pgtable); the missing clean, invisible to TCG's walker, by the strict
    # non-coherent view of the default profile at the first invalidation
    # (tests/test_correctness.py covers the sync count it used to be left to).
    assert caught["broken-partial-clear"] == ["console: WARNING"]
    assert caught["broken-no-sync"] == ["console: cache-maintenance violation"]
    summary = (run / "summary.md").read_text()
    assert "broken-no-sync" in summary and "FAILED" in summary
    assert not qemu_running_for(results)
    assert_earlier_untouched(results)


def test_build_error_is_reported_with_the_compiler_message(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kernel = trees.default_tree()
    before = trees.read_unpatched(kernel, TARGET)
    code = main(
        [
            "bench",
            "--patch",
            str(PATCHES / "compile-error.patch"),
            "--sizes",
            "4K",
            "--repeat",
            "1",
            "--out",
            str(results),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == EXIT_RUN_FAILED
    assert "kernel build (compile-error)" in err or "compile-error failed" in err
    assert "io-pgtable-arm.c" in err and "error:" in err
    assert trees.read_unpatched(kernel, TARGET) == before
    (kept,) = results.glob("*.incomplete")
    assert "failed" in (kept / "INCOMPLETE").read_text()
    assert (kept / "logs" / "build-compile-error.log").exists()
    assert str((results / "latest").readlink()) == "20250101-000000-earlier"
    assert_earlier_untouched(results)


def test_ctrl_c_in_the_sweep_stops_qemu_and_keeps_an_incomplete_run(results: Path) -> None:
    """Started as a background job of a non-interactive shell starts it (SIGINT inherited
    as ignored, as under nohup or a CI runner), the rig still stops on Ctrl-C."""
    log = results.parent / "bench.log"
    with log.open("w") as handle:
        proc = start_as_background_job(
            [
                sys.executable,
                "-m",
                "rig",
                "bench",
                "--sizes",
                "4K,64K,1M,2M",
                "--repeat",
                "5",
                "--out",
                str(results),
            ],
            cwd=paths.REPO,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        # A size of the first boot measured: with two boots at once the second may
        # report first, and what a stopped sweep keeps is what the same boots run one
        # after another would have kept (nothing of boot 2 while boot 1 is unfinished).
        while "] boot 1/" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    assert code == EXIT_INTERRUPTED, log.read_text()
    assert not qemu_running_for(results)
    (kept,) = results.glob("*.incomplete")
    assert (kept / "INCOMPLETE").read_text().strip() == "interrupted"
    assert any(kept.glob("console/*.log"))
    # What was timed before the stop is kept, and reported as incomplete.
    assert "**Incomplete run** (interrupted)" in (kept / "summary.md").read_text()
    assert str((results / "latest").readlink()) == "20250101-000000-earlier"
    assert_earlier_untouched(results)


def test_two_rig_processes_at_once_share_the_cache_safely(results: Path, tmp_path: Path) -> None:
    # A patch no earlier run has built: both processes want the same new kernel.
    unique = tmp_path / "final-copy.patch"
    unique.write_text(
        f"Built by two processes at once ({time.time()}).\n\n"
        + (paths.KERNEL_PATCHES / "final.patch").read_text()
    )
    args = [
        sys.executable,
        "-m",
        "rig",
        "bench",
        "--patch",
        str(unique),
        "--sizes",
        "4K,1M",
        "--repeat",
        "1",
        "--no-counters",
        "--out",
        str(results),
    ]
    logs = [tmp_path / f"proc{n}.log" for n in (1, 2)]
    procs = [
        subprocess.Popen(args, cwd=paths.REPO, stdout=log.open("w"), stderr=subprocess.STDOUT)
        for log in logs
    ]
    codes = [proc.wait(timeout=600) for proc in procs]
    assert codes == [0, 0], [log.read_text()[-3000:] for log in logs]
    runs = sorted(
        p
        for p in results.iterdir()
        if p.is_dir() and not p.is_symlink() and "earlier" not in p.name and p.name[0] != "."
    )
    assert len(runs) == 2
    releases = set()
    for run in runs:
        record = json.loads((run / "run.json").read_text())
        releases.add(record["variants"][1]["release"])
        assert (run / "summary.md").exists()
    assert len(releases) == 1  # one kernel, built once, used by both
    cached = [json.loads((r / "run.json").read_text())["variants"][1]["cached"] for r in runs]
    assert sorted(cached) == [False, True]  # the lock made the second wait and reuse it
    build_logs = [r for r in runs if (r / "logs" / "build-final-copy.log").exists()]
    assert len(build_logs) == 1
    assert not qemu_running_for(results)
    assert_earlier_untouched(results)
