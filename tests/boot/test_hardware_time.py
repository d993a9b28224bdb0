"""Hardware timing: profile blocks and the QEMU settings they make (the fit and the
profile rewrite: tests/calibration/). Pure parts only; the calibration's runs are in the
e2e tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rig import paths
from rig.boot import hardware_time
from rig.boot import profile as prof
from rig.boot.hardware_time import HardwareTiming
from rig.boot.profile import BootFiles
from rig.errors import UserError

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
