"""Hardware timing: profile blocks, the QEMU settings they make, the fit, the profile
rewrite. Pure parts only; the calibration's runs are in the e2e tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rig import paths
from rig.boot import hardware_time
from rig.boot import profile as prof
from rig.boot.hardware_time import HardwareTiming
from rig.boot.profile import BootFiles
from rig.calibration import calibrate, calibration_fit
from rig.errors import UserError
from rig.report import hardware_report, seed

SHIFT = 4


def test_costs_become_guest_ns_so_guest_time_times_scale_is_hardware_time() -> None:
    timing = HardwareTiming(instruction_ns=0.5, dc_line_ns=2.0, dsb_poc_ns=200.0)
    assert timing.scale(SHIFT) == pytest.approx(0.5 / 16)
    assert hardware_time.qemu_globals(timing, SHIFT) == (
        "arm-cpu.dc-poc-line-ns=64",
        "arm-cpu.dsb-poc-ns=6400",
    )


def test_no_icount_or_no_timing_charges_nothing() -> None:
    timing = HardwareTiming(instruction_ns=0.5, reg_access_ns=500.0)
    assert hardware_time.qemu_globals(timing, None) == ()
    assert hardware_time.qemu_globals(None, SHIFT) == ()


def test_zero_costs_leave_the_argv_as_without_a_timing_block() -> None:
    plain = prof.load_profile("mmu500-noncoherent")
    zero = dataclasses.replace(plain, timing=HardwareTiming(instruction_ns=0.45))
    boot = BootFiles(Path("Image"), Path("initrd"))
    mode = prof.mode_by_name("icount")
    assert prof.argv(zero, mode, boot) == prof.argv(plain, mode, boot)


def test_a_cost_too_large_for_qemu_is_named() -> None:
    timing = HardwareTiming(instruction_ns=0.001, tlb_sync_ns=1e6)
    with pytest.raises(UserError, match="more than a QEMU property holds"):
        hardware_time.qemu_globals(timing, SHIFT)


def write_profile(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


BASE = (paths.QEMU_CONFIGS / "tegra234-mmu500.yaml").read_text()


def test_bad_timing_keys_are_named_with_the_file(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "p", BASE.replace("dsb_poc_ns:", "dsb_poc_nsx:"))
    with pytest.raises(UserError, match=r"p\.yaml: key 'timing': unknown key 'dsb_poc_nsx'"):
        prof.load_profile_file(path)
    path = write_profile(tmp_path, "q", BASE.replace("instruction_ns: ", "instruction_ns: -"))
    with pytest.raises(UserError, match=r"q\.yaml.*instruction_ns=-.*must be above 0"):
        prof.load_profile_file(path)


def test_timing_from_borrows_and_refuses_what_it_cannot(tmp_path: Path) -> None:
    write_profile(tmp_path, "lender", BASE)
    borrower = (paths.QEMU_CONFIGS / "tegra234-mmu500-pagesize.yaml").read_text()
    write_profile(tmp_path, "b", borrower.replace("tegra234-mmu500\n", "lender\n"))
    lender = prof.load_profile("lender", tmp_path)
    assert prof.load_profile("b", tmp_path).timing == lender.timing
    write_profile(tmp_path, "c", borrower.replace("tegra234-mmu500\n", "mmu500-noncoherent\n"))
    (tmp_path / "mmu500-noncoherent.yaml").write_text(
        (paths.QEMU_CONFIGS / "mmu500-noncoherent.yaml").read_text()
    )
    with pytest.raises(UserError, match="has no 'timing' block"):
        prof.load_profile("c", tmp_path)


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
