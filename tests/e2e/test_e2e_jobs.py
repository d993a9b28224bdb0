"""Two boots at once measure what one at a time measures (icount mode).

Not to the bit: a boot's guest time also depends on when the host delivers console
input and disk completions, so two `--jobs 1` runs already differ by up to a few
tenths of a microsecond in a mean. The test holds `--jobs 2` to that same bound and
to the same rows, verdicts and correctness checks.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from rig.cli import main

pytestmark = pytest.mark.e2e

# The spread of one boot's means between two runs of the same kernel, one at a time.
_ABS_US = 0.3
_REL = 0.005


def _run(out: Path, jobs: int) -> Path:
    sweep = ["--sizes", "64K,1M", "--repeat", "2", "--jobs", str(jobs)]
    code = main(["bench", *sweep, "--out", str(out), "--quiet"])
    assert code == 0
    (run,) = [p for p in out.iterdir() if (p / "run.json").is_file() and not p.is_symlink()]
    assert json.loads((run / "run.json").read_text())["jobs"] == jobs
    return run


def _rows(run: Path) -> dict[tuple[str, str, str], dict[str, str]]:
    with (run / "results.csv").open() as handle:
        return {(r["variant"], r["size_bytes"], r["boot_order"]): r for r in csv.DictReader(handle)}


def test_two_at_once_measure_what_one_at_a_time_measure(tmp_path: Path) -> None:
    serial = _run(tmp_path / "one", 1)
    parallel = _run(tmp_path / "two", 2)
    one, two = _rows(serial), _rows(parallel)
    assert list(one) == list(two)
    for key, row in one.items():
        for metric in ("map_us", "unmap_us"):
            a, b = float(row[metric]), float(two[key][metric])
            assert abs(a - b) <= max(_ABS_US, _REL * a), (key, metric, a, b)
    checks = [json.loads((run / "correctness.json").read_text()) for run in (serial, parallel)]
    names = [{v: [c["name"] for c in found["checks"]] for v, found in c.items()} for c in checks]
    assert names[0] == names[1]
    verdicts = [(run / "summary.md").read_text().count("improved") for run in (serial, parallel)]
    assert verdicts[0] == verdicts[1] > 0
