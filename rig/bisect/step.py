"""One commit measured: a run of the bench pipeline with that commit as its only kernel,
one size, in the bisection's folder. The kernel is built in the repository's checkout in
the cache, after the previous step's, so only what differs compiles."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

from rig.bisect.judge import NOT_BOOTED, NOT_BUILT, Measured
from rig.boot.machine import WAITING_FOR_READY
from rig.boot.profile import mode_by_name
from rig.build.patches import BASELINE
from rig.errors import RunFailed
from rig.progress import Progress
from rig.report import run_reader
from rig.run import pipeline, plan
from rig.run.settings import Settings
from rig.sizes import format_size

# Checks that say the kernel never ran the benchmark: its build, or its boot.
_BUILD_CHECKS = ("kernel build", "kernel config")
_BOOT_CHECKS = ("timeout", "QEMU exited")


@dataclass(frozen=True)
class Request:
    """What every step measures, and where."""

    settings: Settings
    kernel_src: Path
    metric: str
    size_bytes: int
    correctness: bool
    cache: Path

    @property
    def icount(self) -> bool:
        return mode_by_name(self.settings.mode).name == "icount"


@dataclass(frozen=True)
class StepRecord:
    commit: str
    measured: Measured
    # The step's run folder, relative to the bisection's.
    run_dir: str | None
    build_seconds: float | None
    kernel_cached: bool
    objects_compiled: int | None
    boot_seconds: float | None
    seconds: float
    error: str | None = None


def step_settings(request: Request) -> Settings:
    """The bench settings for one step: that commit alone, one size, one boot in icount
    (it repeats to the printed digit), the file's boots per variant in wallclock."""
    return dataclasses.replace(
        request.settings,
        kernel_refs=(),
        patches=(),
        sizes=(format_size(request.size_bytes),),
        repeat=1 if request.icount else request.settings.repeat,
        # The counting boot's sync checks are correctness; a timing bisection skips them.
        counters=request.settings.counters and request.correctness,
    )


def measure(request: Request, commit: str, folder: Path, quiet: bool) -> StepRecord:
    """Build, boot and measure ``commit``; its run folder goes under ``folder``."""
    settings = dataclasses.replace(step_settings(request), kernel_refs=(commit,))
    inputs = plan.resolve_inputs(settings, request.kernel_src, folder, request.cache)
    started = time.monotonic()
    error: RunFailed | None = None
    try:
        pipeline.run(inputs, Progress(quiet=quiet), _no_report)
    except RunFailed as err:
        error = err
    seconds = time.monotonic() - started
    run_dir = _the_run(folder)
    info = (run_reader.load_run_info(run_dir) if run_dir else None) or {}
    values = _values(run_dir, request.metric, request.size_bytes)
    variant = (info.get("variants") or [{}])[0]
    phases: dict[str, float] = info.get("phase_seconds") or {}
    measured = Measured(values=values)
    if error is not None:
        measured = _failed(error, values)
    return StepRecord(
        commit=commit,
        measured=measured,
        run_dir=str(run_dir.relative_to(folder.parent.parent)) if run_dir else None,
        build_seconds=_phase(phases, "kernel build") if not variant.get("cached") else 0.0,
        kernel_cached=bool(variant.get("cached")),
        objects_compiled=variant.get("objects_compiled"),
        boot_seconds=_phase(phases, "sweep"),
        seconds=round(seconds, 2),
        error=error.message if error else None,
    )


def _no_report(run_dir: Path) -> None:
    """A step's folder keeps its records (`rig report` renders them); the bisection's
    own report is the one a reader wants."""


def _failed(err: RunFailed, values: tuple[float, ...]) -> Measured:
    check = err.check or "run"
    if check in _BUILD_CHECKS:
        return Measured(unusable=NOT_BUILT)
    if check in _BOOT_CHECKS or WAITING_FOR_READY in err.message:
        return Measured(unusable=f"{NOT_BOOTED} ({check})")
    return Measured(values=values, failed_check=check)


def _the_run(folder: Path) -> Path | None:
    runs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    runs = [p for p in runs if not p.is_symlink()]
    return max(runs, key=lambda p: p.stat().st_mtime) if runs else None


def _values(run_dir: Path | None, metric: str, size: int) -> tuple[float, ...]:
    """The baseline's latencies at ``size``, one per timed boot, from results.csv."""
    if run_dir is None or not (run_dir / "results.csv").is_file():
        return ()
    frame = run_reader.load(run_dir / "results.csv")
    chosen = frame[(frame["variant"] == BASELINE) & (frame["size_bytes"] == size)]
    return tuple(float(value) for value in chosen[f"{metric}_us"])


def _phase(phases: dict[str, float], prefix: str) -> float | None:
    found = [value for name, value in phases.items() if name.startswith(prefix)]
    return round(sum(found), 2) if found else None
