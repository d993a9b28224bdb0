"""End to end with the real kernel and QEMU: a panic, a boot that never gets ready,
a hung guest command, QEMU refusing its command line. Each is caught, named, the
console log is kept, and no QEMU is left behind."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rig import paths
from rig.boot import profile as prof
from rig.boot.machine import Machine
from rig.boot.profile import BootFiles
from rig.build.qemu_build import BuiltQemu
from rig.errors import InfraError, RunFailed
from rig.progress import Progress
from rig.run import plan, settings
from rig.run.pipeline import prepare_kernels
from tests.processes import qemu_running_with

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def baseline(rig_qemu: BuiltQemu) -> tuple[plan.Inputs, Path, Path]:
    chosen = settings.override(settings.load(paths.DEFAULT_BENCH_CONFIG), {"patches": ()})
    inputs = plan.resolve_inputs(chosen, None, paths.DEFAULT_RESULTS, paths.cache_root())
    inputs = dataclasses.replace(inputs, qemu=str(rig_qemu.binary), built_qemu=rig_qemu)
    _, kernels, initrd = prepare_kernels(inputs, Progress(quiet=True), paths.cache_root() / "logs")
    return inputs, kernels[0].image, initrd


def machine(
    baseline: tuple[plan.Inputs, Path, Path],
    log: Path,
    *cmdline: str,
    extra: list[str] | None = None,
    boot_timeout: float = 30,
) -> Machine:
    inputs, image, initrd = baseline
    argv = prof.argv(
        inputs.profile, inputs.mode, BootFiles(image, initrd, cmdline=cmdline), qemu=inputs.qemu
    )
    return Machine(
        [*argv, *(extra or [])],
        log,
        qmp_socket=None,
        boot_timeout_s=boot_timeout,
        command_timeout_s=30,
    )


def no_qemu_with(marker: str) -> bool:
    return not qemu_running_with(marker)


def test_kernel_panic_during_boot(baseline: tuple[plan.Inputs, Path, Path], tmp_path: Path) -> None:
    log = tmp_path / "panic.log"
    # No init at that path: the kernel panics with "No working init found".
    with pytest.raises(RunFailed) as caught, machine(baseline, log, "rdinit=/no/such/init") as vm:
        vm.wait_ready()
    assert caught.value.check == "console: kernel panic"
    assert "Kernel panic - not syncing" in caught.value.excerpt
    assert "Kernel panic" in log.read_text()
    assert no_qemu_with("rdinit=/no/such/init")


def test_boot_that_never_reaches_the_ready_marker(
    baseline: tuple[plan.Inputs, Path, Path], tmp_path: Path
) -> None:
    log = tmp_path / "hang.log"
    # busybox cat as init instead of the rig's /init: the kernel boots, init waits for
    # console input that never comes, the marker never comes (everything after "--" is
    # init's arguments). Not `sleep`: under icount with sleep=off an idle guest's clock
    # jumps to the next timer, so a sleeping init exits at once and the kernel panics.
    with (
        pytest.raises(RunFailed) as caught,
        machine(baseline, log, "rdinit=/bin/busybox", "--", "cat", boot_timeout=5) as vm,
    ):
        vm.wait_ready()
    assert caught.value.check == "timeout"
    assert "waiting for the guest's ready marker" in caught.value.message
    assert "Run /bin/busybox as init process" in log.read_text()
    assert no_qemu_with("rdinit=/bin/busybox")


def test_guest_command_that_hangs(baseline: tuple[plan.Inputs, Path, Path], tmp_path: Path) -> None:
    log = tmp_path / "command.log"
    with pytest.raises(RunFailed) as caught, machine(baseline, log, "rig.test=hang") as vm:
        vm.wait_ready()
        assert vm.console is not None
        # Reads console input that never comes: a hang whatever guest time does (a
        # `sleep` ends early under icount, where an idle guest's clock jumps ahead).
        vm.console.run("cat", timeout_s=3)
    assert caught.value.check == "timeout" and "`cat`" in caught.value.message
    assert log.exists()
    assert no_qemu_with("rig.test=hang")


def test_qemu_refusing_its_command_line(
    baseline: tuple[plan.Inputs, Path, Path], tmp_path: Path
) -> None:
    with (
        pytest.raises(InfraError) as caught,
        machine(
            baseline, tmp_path / "qemu.log", "rig.test=bad-device", extra=["-device", "no-such-dev"]
        ) as vm,
    ):
        vm.wait_ready()
    assert "QEMU exited before the kernel started (exit code 1)" in caught.value.message
    assert "no-such-dev" in caught.value.excerpt
    assert no_qemu_with("rig.test=bad-device")
