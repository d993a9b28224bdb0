"""python -m rig calibrate: fit a timed profile's hardware costs on one seed table, write
them into the profile, and measure the calibrated platform against both tables.

The sweeps are ordinary runs (kept under the calibration's folder): one with nothing
charged, one per fitted cost with only that cost charged (calibration_fit says why that
measures each cost's events per unmap), then, with the fitted costs written, one run of
the profile (against the table it was fitted on) and one of each profile that borrows its
timing (timing_from), against the other table, which no fit ever sees.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from rig import paths, schema
from rig.boot import hardware_time
from rig.boot import profile as prof
from rig.boot.hardware_time import HardwareTiming
from rig.boot.profile import MachineProfile
from rig.calibration import calibration_fit
from rig.errors import RunFailed, UserError
from rig.progress import Progress
from rig.report import hardware_report, run_reader, run_report, seed, stats, summary
from rig.run import pipeline, plan
from rig.run.settings import Settings
from rig.sizes import format_size

# The line in a profile after which `calibrate` writes the timing block.
MARKER = "# Written by `python -m rig calibrate`"


@dataclass(frozen=True)
class Request:
    profile: str
    reference: str | None  # seed table to fit on; None: the profile's own
    settings: Settings
    out: Path
    verify: bool = True


@dataclass(frozen=True)
class Result:
    folder: Path
    timing: HardwareTiming
    profile_file: Path


def run_profile(settings: Settings, profile: MachineProfile, out: Path, progress: Progress) -> Path:
    """One ordinary run of ``profile`` into ``out``; its folder."""
    # The profile by name picks the kernels (its support patches); then its timing.
    named = dataclasses.replace(settings, profile=profile.name)
    inputs = plan.resolve_inputs(named, None, out, paths.cache_root())
    inputs = dataclasses.replace(inputs, profile=profile)
    outcome = pipeline.run(inputs, progress, run_report.write)
    if outcome.failed_variants:
        raise RunFailed(
            f"calibration: {', '.join(outcome.failed_variants)} FAILED a correctness check "
            f"on {profile.name}; see {outcome.path / 'summary.md'}"
        )
    return outcome.path


def _sweep(
    settings: Settings, profile: MachineProfile, out: Path, progress: Progress
) -> tuple[Path, pd.DataFrame]:
    """A sensitivity sweep: its folder and its unmap medians by seed column and size."""
    path = run_profile(settings, profile, out, progress)
    frame, _ = run_reader.read(path)
    return path, hardware_report.unmap_medians(frame, stats.reference(frame))


def timed(profile: MachineProfile, timing: HardwareTiming) -> MachineProfile:
    return dataclasses.replace(profile, timing=timing)


def borrowers(name: str, config_dir: Path = paths.QEMU_CONFIGS) -> list[MachineProfile]:
    """The profiles that take their timing from ``name``."""
    found = []
    for other in prof.available_profiles(config_dir):
        path = config_dir / f"{other}.yaml"
        if schema.read_yaml_mapping(path).get("timing_from") == name:
            found.append(prof.load_profile(other, config_dir))
    return found


def check(request: Request) -> tuple[MachineProfile, str]:
    """The profile to calibrate and the seed table to fit on, or a UserError."""
    profile = prof.load_profile(request.profile)
    if profile.timing is None or profile.timing_from is not None:
        raise UserError(
            f"qemu-configs/{profile.name}.yaml: calibrate needs a profile with its own "
            "'timing' block (not 'timing_from'); e.g. --profile tegra234-mmu500"
        )
    if prof.mode_by_name(request.settings.mode).icount_shift is None:
        raise UserError(
            f"calibrate: mode {request.settings.mode!r} has no instruction-counted time; "
            "costs are charged under icount only (use --mode icount)"
        )
    table = request.reference or profile.seed_table
    if table not in seed.TABLES:
        raise UserError(f"--reference {table!r} is unknown; expected one of {list(seed.TABLES)}")
    return profile, table


def calibrate(request: Request, progress: Progress) -> Result:
    profile, table_name = check(request)
    assert profile.timing is not None
    shift = prof.mode_by_name(request.settings.mode).icount_shift
    assert shift is not None
    reference = seed.table(seed.load(), table_name)
    sizes = tuple(format_size(int(size)) for size in reference["size_bytes"])
    sweep = dataclasses.replace(request.settings, sizes=sizes, repeat=1, counters=False)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = request.out / "calibration" / f"{stamp}-{profile.name}"
    folder.mkdir(parents=True, exist_ok=False)
    # The profile's unfitted costs stay as they are in the fit; the sweeps charge nothing
    # but the one cost each measures.
    base = HardwareTiming(
        instruction_ns=profile.timing.instruction_ns, tlb_sync_ns=profile.timing.tlb_sync_ns
    )
    nothing = HardwareTiming(
        instruction_ns=base.instruction_ns,
        calibration="a calibration sweep with nothing charged (not a calibrated platform)",
    )
    runs: list[str] = []
    with progress.phase("calibration: sweep with nothing charged"):
        zero_path, zero = _sweep(sweep, timed(profile, nothing), folder, progress)
        runs.append(zero_path.name)
    probes: dict[str, pd.DataFrame] = {}
    for cost, guest in calibration_fit.PROBE_GUEST_NS.items():
        probe = with_cost(
            nothing,
            cost,
            guest * base.scale(shift),
            f"a calibration sweep charging {cost} alone (not a calibrated platform)",
        )
        with progress.phase(f"calibration: sweep charging {cost} alone ({guest} guest ns)"):
            path, probes[cost] = _sweep(sweep, timed(profile, probe), folder, progress)
            runs.append(path.name)
    events = calibration_fit.events(zero, probes)
    fitted = calibration_fit.fit(events, reference, base, shift)
    model = events.frame.assign(hw_us=calibration_fit.predict(events, fitted, shift))
    compared = hardware_report.comparison(model, reference)
    name = (
        f"rig calibrate {time.strftime('%Y-%m-%d')}: fitted on "
        f"{seed.TABLES[table_name].split(':')[0]} ({profile.name}, {request.settings.kernel}, "
        f"{'+'.join(request.settings.patches)})"
    )
    timing = dataclasses.replace(
        fitted, calibration=name, residuals=calibration_fit.residual_lines(compared)
    )
    profile_file = write_timing(paths.QEMU_CONFIGS / f"{profile.name}.yaml", timing)
    progress.say(f"    wrote the timing block of {profile_file}")
    events.frame.to_csv(folder / "events.csv", index=False)
    sections = [("fit", table_name, profile.name, compared, runs)]
    if request.verify:
        sections += _verify(request.settings, profile.name, table_name, folder, progress)
    (folder / "calibration.md").write_text(
        calibration_markdown(timing, shift, sections, events.frame)
    )
    return Result(folder, timing, profile_file)


def with_cost(timing: HardwareTiming, cost: str, value: float, calibration: str) -> HardwareTiming:
    values = dataclasses.asdict(timing)
    values.update({cost: value, "calibration": calibration})
    return HardwareTiming(**values)


Section = tuple[str, str, str, pd.DataFrame, list[str]]


def _verify(
    settings: Settings, name: str, fitted_on: str, folder: Path, progress: Progress
) -> list[Section]:
    """The calibrated profile against its table, each borrower against its own."""
    sections: list[Section] = []
    for profile in [prof.load_profile(name), *borrowers(name)]:
        table_name = profile.seed_table
        kind = "measured, fitted table" if table_name == fitted_on else "prediction, never fitted"
        with progress.phase(f"calibration: {profile.name} with the fitted costs ({kind})"):
            path = run_profile(settings, profile, folder, progress)
        frame, run_info = run_reader.read(path)
        found = hardware_report.hardware_comparison(
            frame, run_info, seed.table(seed.load(), table_name)
        )
        if found is None:
            raise RunFailed(f"calibration: {path} has no hardware-equivalent latencies")
        sections.append((kind, table_name, profile.name, found[1], [path.name]))
    return sections


def timing_block(timing: HardwareTiming) -> str:
    values = dataclasses.asdict(timing)
    values["residuals"] = list(timing.residuals)
    body = yaml.safe_dump({"timing": values}, sort_keys=False, width=100)
    return (
        f"{MARKER}; everything from here to the end of the file is\n"
        "# replaced by the next calibration.\n" + body
    )


def write_timing(path: Path, timing: HardwareTiming) -> Path:
    """Replace the profile's timing block (from MARKER to the end) with ``timing``. The
    new file is loaded as a profile before it replaces the old one, which a failure
    leaves as it was."""
    text = path.read_text()
    head = text[: text.index(MARKER)] if MARKER in text else text.rstrip("\n") + "\n"
    if MARKER not in text and "\ntiming:" in "\n" + text:
        raise UserError(
            f"{path}: has a 'timing' block but no line starting {MARKER!r}; calibrate "
            "only replaces a block it wrote (add the line above the block)"
        )
    staged = path.with_name(f".{path.stem}.calibrating.yaml")
    staged.write_text(head + timing_block(timing))
    try:
        prof.load_profile_file(staged)
    except UserError:
        staged.unlink()
        raise
    staged.replace(path)
    return path


def calibration_markdown(
    timing: HardwareTiming, shift: int, sections: list[Section], events: pd.DataFrame
) -> str:
    lines = [
        "# Calibration",
        "",
        f"{timing.calibration}.",
        "",
        f"| cost | hardware ns | charged in guest ns (icount shift {shift}) |",
        "|---|---|---|",
        f"| {hardware_time.COST_MEANINGS['instruction_ns']} | {timing.instruction_ns:.3f} "
        f"| {2**shift} |",
    ]
    for cost in hardware_time.COST_NAMES:
        value = getattr(timing, cost)
        lines.append(
            f"| {hardware_time.COST_MEANINGS[cost]} | {value:.1f} | "
            f"{hardware_time.guest_ns(value, timing, shift)} |"
        )
    lines += [
        "",
        "tlb_sync_ns is not fitted: one sync per unmap in either variant at every size "
        "cannot be told apart from the unmap's fixed instruction cost in the seed's tables.",
    ]
    for kind, table_name, profile_name, compared, runs in sections:
        lines += [
            "",
            f"## {profile_name}: {kind}",
            "",
            f"{seed.TABLES[table_name]}; runs: {', '.join(runs)}.",
            "",
            *summary.render_markdown(hardware_report.table(compared)),
        ]
    lines += [
        "",
        "## Events per unmap (from the sensitivity sweeps)",
        "",
        "| seed column | size | guest us, nothing charged | "
        + " | ".join(calibration_fit.FITTED)
        + " |",
        "|---|---|---|" + "---|" * len(calibration_fit.FITTED),
    ]
    for values in events.to_dict("records"):
        counts = " | ".join(f"{values[cost]:.2f}" for cost in calibration_fit.FITTED)
        lines.append(
            f"| {values['role']} | {format_size(int(values['size_bytes']))} | "
            f"{values['t0_us']:.1f} | {counts} |"
        )
    lines.append("")
    return "\n".join(lines)
