"""Calibration: the fit recovers the costs that made a table, events per unmap from the
sensitivity sweeps, and the profile rewrite. Pure parts only; the calibration's runs are
in the e2e tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rig import paths
from rig.boot import profile as prof
from rig.boot.hardware_time import HardwareTiming
from rig.calibration import calibrate, calibration_fit
from rig.errors import UserError
from rig.report import hardware_report, seed
from tests.boot.test_hardware_time import write_profile

SHIFT = 4
BASE = (paths.QEMU_CONFIGS / "tegra234-mmu500.yaml").read_text()


def synthetic_events(counts: dict[str, list[float]], t0: list[float]) -> calibration_fit.Events:
    table = seed.table(seed.load(), seed.NO_WORKAROUND)
    rows = []
    for i, size in enumerate(table["size_bytes"]):
        for role in (hardware_report.WITHOUT, hardware_report.WITH):
            j = 2 * i + (role == hardware_report.WITH)
            row = {"role": role, "size_bytes": int(size), "t0_us": t0[j]}
            row.update({cost: counts[cost][j] for cost in calibration_fit.FITTED})
            rows.append(row)
    return calibration_fit.Events(pd.DataFrame(rows))


def test_the_fit_recovers_costs_that_made_the_table() -> None:
    """Events and a table made from known costs: the fit returns those costs."""
    rng = np.random.default_rng(7)
    counts = {cost: list(rng.uniform(1, 300, 16)) for cost in calibration_fit.FITTED}
    t0 = list(rng.uniform(20, 2000, 16))
    ev = synthetic_events(counts, t0)
    truth = HardwareTiming(
        instruction_ns=0.4, dc_line_ns=2.0, dsb_poc_ns=150.0, reg_access_ns=500.0
    )
    made = ev.frame.assign(hw_us=calibration_fit.predict(ev, truth, SHIFT))
    wide = made.pivot(index="size_bytes", columns="role", values="hw_us").reset_index()
    wide["improvement_pct"] = 0.0
    fitted = calibration_fit.fit(ev, wide, HardwareTiming(instruction_ns=1.0), SHIFT)
    for name in ("instruction_ns", *calibration_fit.FITTED):
        assert getattr(fitted, name) == pytest.approx(getattr(truth, name), rel=1e-6)


def test_events_are_the_extra_time_over_the_probe_cost() -> None:
    zero = pd.DataFrame(
        {"role": ["without_us", "with_us"], "size_bytes": [4096, 4096], "unmap_us": [30.0, 30.0]}
    )
    probes = {}
    for cost, guest in calibration_fit.PROBE_GUEST_NS.items():
        extra = 3 * guest / 1000  # three events per unmap
        probes[cost] = zero.assign(unmap_us=zero["unmap_us"] + extra)
    ev = calibration_fit.events(zero, probes)
    for cost in calibration_fit.FITTED:
        assert list(ev.frame[cost]) == pytest.approx([3.0, 3.0])


def test_write_timing_replaces_only_its_block_and_keeps_a_bad_write_out(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "tegra", BASE)
    head = BASE[: BASE.index(calibrate.MARKER)]
    timing = HardwareTiming(
        instruction_ns=0.3, dsb_poc_ns=123.0, calibration="test", residuals=("a",)
    )
    calibrate.write_timing(path, timing)
    text = path.read_text()
    assert text.startswith(head)
    assert prof.load_profile_file(path).timing == timing
    bad = write_profile(tmp_path, "bad", "bogus: 1\n" + BASE)
    before = bad.read_text()
    with pytest.raises(UserError, match="unknown key 'bogus'"):
        calibrate.write_timing(bad, timing)
    assert bad.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "tegra.yaml"]
