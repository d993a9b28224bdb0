"""How soon the nightly trend finds a step, and how often it flags one that is not there:
made-up histories at several per-boot noise levels, through ``trend.analyse`` as the
nightly runs it (every night the whole history so far).

    .venv/bin/python -m tests.nightly.simulate_trend

prints the table of docs/nightly.md ("How a change is found"). Each history has
NIGHTS runs of REPEATS boots; a boot measures the night's level times (1 + noise * a
standard normal). With a step, nights STEP_AT on measure STEP_PCT more; the trend
finds it when it flags a change whose first run is within a night of STEP_AT, and its
delay is how many nights after STEP_AT's it first did. Without a step, a false alarm
is any change flagged: in the last night's report, and in any night's report.
tests/nightly/test_simulate_trend.py holds the method to bounds on a smaller sample.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rig.nightly import trend

NIGHTS = 12
REPEATS = 2
STEP_AT = 6  # 0-based: nights 0..5 at the base level, 6..11 at +STEP_PCT
STEP_PCT = 5.0
NOISES_PCT = (0.0, 0.5, 2.0, 5.0)
BASE_US = 40.0
SEED = 20261207


@dataclass(frozen=True)
class Measured:
    noise_pct: float
    histories: int  # with the step, and as many without
    # Per step history flagged by the last night: nights after the step's first night
    # until it was (0: flagged the night the new level was first measured).
    delays: tuple[int, ...]
    false_last: float  # share of no-step histories with a change in the last report
    false_any: float | None  # ... in any night's report (None: not measured)

    @property
    def detected(self) -> float:
        return len(self.delays) / self.histories

    @property
    def median_delay(self) -> float | None:
        return float(np.median(self.delays)) if self.delays else None

    def within(self, nights: int) -> float:
        """Share of the step histories flagged with a delay of at most ``nights``."""
        return sum(d <= nights for d in self.delays) / self.histories


def _run_id(night: int) -> str:
    return f"20261201-{night:06d}-sim"


def histories(
    rng: np.random.Generator, noise_pct: float, step_pct: float, count: int
) -> pd.DataFrame:
    """``count`` histories shaped like history.read(), one cell (profile) each."""
    night = [n for n in range(NIGHTS) for _ in range(REPEATS)]
    repeat = [r for _ in range(NIGHTS) for r in range(1, REPEATS + 1)]
    level = BASE_US * np.where(np.array(night) >= STEP_AT, 1.0 + step_pct / 100.0, 1.0)
    frames = []
    for one in range(count):
        values = level * (1.0 + noise_pct / 100.0 * rng.standard_normal(len(level)))
        frames.append(
            pd.DataFrame(
                {
                    "run_id": [_run_id(n) for n in night],
                    "created": [f"2026-12-01T{n:02d}:00:00+0000" for n in night],
                    "night": night,
                    "variant": "final",
                    "metric": "unmap",
                    "size_bytes": 65536,
                    "repeat": repeat,
                    "value_us": values,
                    "kernel_version": "6.1.192",
                    "profile": f"sim{one:04d}",
                    "mode": "wallclock",
                    "qemu_version": "QEMU emulator version 10.2.2",
                    "qemu_source": "debian 10.2.2+ds-1",
                    "rig_version": "0.1.0",
                    "rig_identity": "0" * 64,
                    "toolchain": "gcc 12.2.0",
                    "correctness": "passed",
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def flagged_by_night(frame: pd.DataFrame, nights: range, criteria: trend.Criteria) -> pd.DataFrame:
    """cell x night: the first-run nights of the changes flagged in that night's report."""
    out = []
    for last in nights:
        for series in trend.analyse(frame[frame["night"] <= last], criteria):
            firsts = [int(c.first_run.split("-")[1]) for c in series.changes]
            out.append({"cell": series.key[0], "night": last, "firsts": firsts})
    return pd.DataFrame(out)


def measure(
    noise_pct: float,
    count: int,
    seed: int = SEED,
    criteria: trend.Criteria | None = None,
    every_night: bool = True,
) -> Measured:
    """The figures at one noise level over ``count`` histories with the step and
    ``count`` without; ``every_night=False`` analyses the no-step ones only as of the
    last night (faster; false_any is then None)."""
    rng = np.random.default_rng([seed, round(noise_pct * 1000)])
    criteria = criteria or trend.Criteria()
    step = flagged_by_night(
        histories(rng, noise_pct, STEP_PCT, count), range(STEP_AT, NIGHTS), criteria
    )
    step["hit"] = [any(abs(f - STEP_AT) <= 1 for f in firsts) for firsts in step["firsts"]]
    delays = step[step["hit"]].groupby("cell")["night"].min() - STEP_AT
    nights = range(1, NIGHTS) if every_night else range(NIGHTS - 1, NIGHTS)
    flat = flagged_by_night(histories(rng, noise_pct, 0.0, count), nights, criteria)
    flat["any"] = [bool(firsts) for firsts in flat["firsts"]]
    last = flat[flat["night"] == NIGHTS - 1]
    return Measured(
        noise_pct=noise_pct,
        histories=count,
        delays=tuple(int(d) for d in delays),
        false_last=float(last["any"].mean()),
        false_any=float(flat.groupby("cell")["any"].any().mean()) if every_night else None,
    )


def table(rows: list[Measured]) -> str:
    lines = [
        "| per-boot noise | detected | median delay (nights) | detected within 4 nights "
        "| false alarms, last report | false alarms, any night's report |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        delay = "-" if r.median_delay is None else f"{r.median_delay:g}"
        any_night = "-" if r.false_any is None else f"{r.false_any:.1%}"
        lines.append(
            f"| {r.noise_pct:g}% | {r.detected:.0%} | {delay} | {r.within(4):.0%} "
            f"| {r.false_last:.1%} | {any_night} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, default=500, help="per noise level and kind")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    rows = [measure(noise, args.histories, args.seed) for noise in NOISES_PCT]
    print(
        f"{args.histories} histories per noise level and kind; {NIGHTS} nights of "
        f"{REPEATS} boots, a +{STEP_PCT:g}% step from night {STEP_AT + 1}; "
        f"trend.Criteria() defaults; seed {args.seed}"
    )
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
