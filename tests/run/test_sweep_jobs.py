"""Boots run at once keep what the same boots run one after another keep: rows in boot
order, a failed variant's later boots dropped, a failed baseline ending the run.

The boots here are stand-ins that end in a scrambled order (later boots sooner); the
real boots' equality across --jobs is tested end to end in test_e2e_jobs.py.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from rig import paths
from rig.boot.benchmark import Measurement
from rig.boot.profile import mode_by_name
from rig.boot.session import BootResult, BootSpec, SizeCallback
from rig.errors import InfraError, RigError, RunFailed
from rig.progress import Progress
from rig.run import plan, settings, sweep


def _state(tmp_path: Path) -> plan.RunState:
    chosen = settings.override(
        settings.load(paths.DEFAULT_BENCH_CONFIG),
        {"patches": ("final", "rfc"), "sizes": ("64K", "1M"), "repeat": 3, "counters": False},
    )
    inputs = plan.resolve_inputs(chosen, None, tmp_path, tmp_path / "cache")
    state = plan.RunState(inputs=inputs, run_id="20261125-000000-jobs")
    for order, (name, repeat, kind) in enumerate(plan.boot_plan(inputs), start=1):
        state.specs.append(
            BootSpec(
                variant=name,
                repeat=repeat,
                order=order,
                expected_release=f"6.1-{name}",
                argv=["qemu"],
                qmp_socket=tmp_path / f"{order}.sock",
                console_log=tmp_path / f"{order}.log",
                kind=kind,
            )
        )
    return state


def _fake_boots(
    monkeypatch: pytest.MonkeyPatch, failing: dict[int, type[RigError]], after_sizes: int = 1
) -> None:
    """Boot N measures each size (N and the size give the latency) and sleeps less the
    later it is in the plan; a boot in ``failing`` raises after ``after_sizes`` sizes,
    slowly, so that later boots of its variant have started and ended by then."""

    def boot(spec: BootSpec, state: plan.RunState, on_size: SizeCallback) -> BootResult:
        time.sleep(0.02 * (len(state.specs) - spec.order))
        for index, size in enumerate(state.inputs.settings.size_bytes):
            if spec.order in failing and index == after_sizes:
                time.sleep(0.5)
                raise failing[spec.order](f"boot {spec.order} broke", check="console: Oops")
            if spec.kind == "timed":
                latency = spec.order + size / 1e6
                on_size(
                    spec,
                    size,
                    Measurement(1, 1, -1, "BIDIRECTIONAL", 1, None, latency, 0.1, latency, 0.1),
                )
        return BootResult(spec, 1.0, [])

    monkeypatch.setattr(sweep, "_boot", boot)


def _outcome(state: plan.RunState) -> tuple[Any, ...]:
    return (
        state.rows,
        [(b.spec.order, b.spec.variant) for b in state.boots],
        {v: [dataclasses.astuple(c) for c in checks] for v, checks in state.checks.items()},
    )


@pytest.mark.parametrize(
    "failing",
    [{}, {3: RunFailed}, {5: RunFailed, 8: RunFailed}, {11: RunFailed}],
    ids=["all-pass", "rfc-fails-early", "final-fails-twice", "a-checks-boot-fails"],
)
def test_three_at_once_keeps_what_one_at_a_time_keeps(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, failing: dict[int, type[RigError]]
) -> None:
    outcomes = []
    for jobs in (1, 3):
        _fake_boots(monkeypatch, failing)
        state = _state(tmp_path)
        sweep.sweep(state, Progress(quiet=True), jobs)
        outcomes.append(_outcome(state))
    assert outcomes[0] == outcomes[1]
    rows = outcomes[0][0]
    assert [r["boot_order"] for r in rows] == sorted(r["boot_order"] for r in rows)
    if failing:
        first = min(failing)
        variant = _state(tmp_path).specs[first - 1].variant
        assert outcomes[0][2][variant][0][0] == "console: Oops"
        assert all(r["boot_order"] <= first for r in rows if r["variant"] == variant)


@pytest.mark.parametrize("error", [RunFailed, InfraError])
def test_a_failed_baseline_ends_the_run_with_what_was_measured_before_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, error: type[RigError]
) -> None:
    kept = []
    for jobs in (1, 3):
        _fake_boots(monkeypatch, {6: error})  # boot 6 is the baseline's second
        state = _state(tmp_path)
        with pytest.raises(error, match="boot 6 broke"):
            sweep.sweep(state, Progress(quiet=True), jobs)
        kept.append(state.rows)
    assert kept[0] == kept[1]
    assert max(r["boot_order"] for r in kept[0]) == 6  # boot 6's first size is kept


def test_wallclock_boots_one_at_a_time_and_says_why() -> None:
    assert sweep.effective_jobs(4, mode_by_name("icount")) == (4, None)
    jobs, why = sweep.effective_jobs(4, mode_by_name("wallclock"))
    assert jobs == 1 and why is not None and "wallclock" in why
