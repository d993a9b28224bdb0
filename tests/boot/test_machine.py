"""The QEMU lifecycle and console watching, against small stand-in programs.

The stand-ins print what a guest would and then misbehave in one way each; the real
QEMU is exercised by the end-to-end test.
"""

from __future__ import annotations

import asyncio
import os
import socket
import stat
from pathlib import Path

import pytest

from rig.boot.machine import Machine, _qmp_quit
from rig.errors import InfraError, RunFailed

READY = 'echo "SMMU-RIG-READY release=6.1.0-rig-test"'


def stand_in(tmp_path: Path, body: str) -> list[str]:
    script = tmp_path / "fake-qemu"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return [str(script)]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def machine(argv: list[str], tmp_path: Path, boot_timeout: float = 5) -> Machine:
    return Machine(
        argv,
        tmp_path / "console.log",
        qmp_socket=None,
        boot_timeout_s=boot_timeout,
        command_timeout_s=2,
    )


def test_ready_marker_and_commands(tmp_path: Path) -> None:
    argv = stand_in(tmp_path, f"echo Booting Linux; {READY}; exec sh")
    with machine(argv, tmp_path) as vm:
        assert vm.wait_ready() == "6.1.0-rig-test"
        assert vm.console is not None
        vm.console.check("stty -echo; export PS1=''")
        status, output = vm.console.run("echo hello; false")
        assert status == 1
        assert output.strip() == "hello"
        pid = vm.child.pid if vm.child else -1
    assert gone(pid)
    assert "SMMU-RIG-READY" in (tmp_path / "console.log").read_text()


def test_panic_during_boot_fails_with_the_excerpt(tmp_path: Path) -> None:
    argv = stand_in(
        tmp_path,
        "echo Booting Linux; echo 'Kernel panic - not syncing: VFS: Unable to mount root fs';"
        " echo 'CPU: 0 PID: 1 Comm: swapper'; sleep 60",
    )
    with pytest.raises(RunFailed) as caught, machine(argv, tmp_path) as vm:
        pid = vm.child.pid if vm.child else -1
        vm.wait_ready()
    assert "kernel panic" in caught.value.message
    assert "Unable to mount root fs" in caught.value.excerpt
    assert "CPU: 0 PID: 1" in caught.value.excerpt  # the grace period read the rest
    assert caught.value.log_path == str(tmp_path / "console.log")
    assert "Kernel panic" in (tmp_path / "console.log").read_text()
    assert gone(pid)


def test_warning_after_ready_fails_the_command(tmp_path: Path) -> None:
    argv = stand_in(tmp_path, f"echo Booting Linux; {READY}; exec sh")
    with pytest.raises(RunFailed) as caught, machine(argv, tmp_path) as vm:
        vm.wait_ready()
        assert vm.console is not None
        vm.console.run("echo 'WARNING: CPU: 0 PID: 42 at drivers/iommu/io-pgtable-arm.c:650'")
    assert "WARNING" in caught.value.message


def test_boot_that_never_reaches_ready_times_out(tmp_path: Path) -> None:
    argv = stand_in(tmp_path, "echo Booting Linux; sleep 60")
    with pytest.raises(RunFailed) as caught, machine(argv, tmp_path, boot_timeout=1) as vm:
        pid = vm.child.pid if vm.child else -1
        vm.wait_ready()
    assert "timed out after 1 s waiting for the guest's ready marker" in caught.value.message
    assert gone(pid)


def test_hanging_guest_command_times_out(tmp_path: Path) -> None:
    argv = stand_in(tmp_path, f"echo Booting Linux; {READY}; exec sh")
    with pytest.raises(RunFailed) as caught, machine(argv, tmp_path) as vm:
        pid = vm.child.pid if vm.child else -1
        vm.wait_ready()
        assert vm.console is not None
        vm.console.run("sleep 60", timeout_s=1)
    assert "timed out" in caught.value.message and "sleep 60" in caught.value.message
    assert gone(pid)


def test_qemu_exiting_at_once_is_an_infrastructure_error(tmp_path: Path) -> None:
    argv = stand_in(tmp_path, "echo 'qemu-system-aarch64: -device bogus: not found' >&2; exit 1")
    with pytest.raises(InfraError) as caught, machine(argv, tmp_path) as vm:
        vm.wait_ready()
    assert "QEMU exited before the kernel started (exit code 1)" in caught.value.message
    assert "-device bogus" in caught.value.excerpt


def test_missing_qemu_binary(tmp_path: Path) -> None:
    with pytest.raises(InfraError), machine([str(tmp_path / "no-such-qemu")], tmp_path):
        pass


def test_a_qemu_that_never_greets_does_not_hold_up_the_stop(tmp_path: Path) -> None:
    """A deadlocked QEMU still accepts a QMP connection (the kernel's backlog) and never
    sends its greeting; asking it to quit gives up instead of waiting forever, and the
    stop goes on to signals."""
    path = tmp_path / "qmp.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    try:
        with pytest.raises((TimeoutError, asyncio.TimeoutError)):
            asyncio.run(_qmp_quit(str(path)))
    finally:
        server.close()
