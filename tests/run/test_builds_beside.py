"""The rig's QEMU builds in a thread beside the kernels: both finish and their phase
times reach the run; a kernel that fails stops QEMU's build at once (by its process
group), and a build the thread was about to start is not started."""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from pathlib import Path

import pytest

from rig import paths
from rig.build import buildlog
from rig.errors import RunFailed
from rig.progress import Progress
from rig.run import pipeline, plan, settings
from rig.run.plan import Inputs

# What prepare_kernels returns, in the stand-ins' terms.
Kernels = tuple[str, list[str], Path]


def inputs(tmp_path: Path) -> Inputs:
    chosen = settings.load(paths.DEFAULT_BENCH_CONFIG)
    return plan.resolve_inputs(chosen, None, tmp_path / "results", tmp_path / "cache")


def slow_build(seconds: float, log: Path, started: threading.Event) -> None:
    started.set()
    buildlog.run(
        [sys.executable, "-c", f"import time; time.sleep({seconds})"],
        log,
        "QEMU build",
        lambda line: None,
        check="QEMU build",
    )


def qemu_building() -> bool:
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        with buildlog._running_lock:
            if buildlog._running:
                return True
        time.sleep(0.01)
    return False


def test_both_finish_and_their_times_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = threading.Event()

    def with_qemu(given: Inputs, progress: Progress) -> Inputs:
        with progress.phase("QEMU build"):
            slow_build(2, tmp_path / "qemu.log", started)
        return dataclasses.replace(given, qemu="built")

    def prepare_kernels(given: Inputs, progress: Progress, log_dir: Path) -> Kernels:
        assert started.wait(5)
        with progress.phase("kernel build (baseline)"):
            running.append(qemu_building())  # the kernels build while QEMU does
        return "source", ["kernel"], Path("initrd")

    monkeypatch.setattr(pipeline, "with_qemu", with_qemu)
    monkeypatch.setattr(pipeline, "prepare_kernels", prepare_kernels)
    progress = Progress(quiet=True)
    running: list[bool] = []
    built, _, kernels, _ = pipeline.prepare_builds(inputs(tmp_path), progress, tmp_path)
    assert built.qemu == "built" and list(map(str, kernels)) == ["kernel"]
    assert running == [True]
    assert set(progress.timings) == {"QEMU build", "kernel build (baseline)"}


def test_a_kernel_that_fails_stops_the_qemu_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = threading.Event()
    outcome: list[RunFailed] = []

    def with_qemu(given: Inputs, progress: Progress) -> Inputs:
        try:
            slow_build(60, tmp_path / "qemu.log", started)
        except RunFailed as err:
            outcome.append(err)
            # What a thread would start next is refused while the run stops.
            with pytest.raises(RunFailed, match="not started: the run is stopping"):
                slow_build(60, tmp_path / "qemu.log", threading.Event())
            raise
        return given

    def prepare_kernels(given: Inputs, progress: Progress, log_dir: Path) -> Kernels:
        assert started.wait(5)
        time.sleep(0.3)
        raise RunFailed("patch final does not apply", check="patch applies")

    monkeypatch.setattr(pipeline, "with_qemu", with_qemu)
    monkeypatch.setattr(pipeline, "prepare_kernels", prepare_kernels)
    begun = time.monotonic()
    with pytest.raises(RunFailed, match="does not apply"):
        pipeline.prepare_builds(inputs(tmp_path), Progress(quiet=True), tmp_path)
    assert time.monotonic() - begun < 15  # not the 60 s QEMU's build would take
    assert outcome and "QEMU build failed" in outcome[0].message
    # Builds run again afterwards.
    buildlog.run([sys.executable, "-c", "pass"], tmp_path / "after.log", "after", print)
