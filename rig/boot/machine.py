"""QEMU's lifecycle as a context manager: launch, wait for the guest, always stop.

Stopping escalates: QMP `quit`, then SIGTERM, then SIGKILL, each with a timeout,
so no QEMU outlives the rig, also on Ctrl-C or an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from pathlib import Path
from types import TracebackType

import pexpect
from qemu.qmp import QMPClient

from rig.boot.console import Console, ConsoleLog
from rig.build.guest import READY_MARKER
from rig.errors import InfraError, RunFailed

_BOOT_STARTED = "Booting Linux"
_READY = rf"{READY_MARKER} release=(\S+)\r*\n"
# What a failure before the guest was ready says it was waiting for: the kernel did not boot.
WAITING_FOR_READY = "the guest's ready marker"

# Every QEMU this process has started and not yet stopped (parallel boots run in threads).
_running: set[Machine] = set()
_running_lock = threading.Lock()


def terminate_running() -> None:
    """SIGTERM every QEMU this process started that still runs. For a thread other than
    the boots' own (a parallel sweep's main thread on Ctrl-C): each boot then sees its
    QEMU end and stops and cleans up in its own thread as usual."""
    with _running_lock:
        machines = list(_running)
    for machine in machines:
        child = machine.child
        if child is not None and child.isalive():
            with contextlib.suppress(OSError):
                child.kill(signal.SIGTERM)


# How long QMP gets to connect, greet and answer "quit" before signals take over.
QMP_TIMEOUT_S = 3.0


async def _qmp_quit(socket: str) -> None:
    client = QMPClient("rig")
    try:
        await asyncio.wait_for(client.connect(socket), QMP_TIMEOUT_S)
        await asyncio.wait_for(client.execute("quit"), QMP_TIMEOUT_S)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(), QMP_TIMEOUT_S)


class Machine:
    def __init__(
        self,
        argv: list[str],
        console_log: Path,
        *,
        qmp_socket: Path | None,
        boot_timeout_s: float,
        command_timeout_s: float,
    ) -> None:
        self.argv = argv
        self.qmp_socket = qmp_socket
        self.boot_timeout_s = boot_timeout_s
        self.log = ConsoleLog(console_log)
        self.command_timeout_s = command_timeout_s
        self.child: pexpect.spawn | None = None
        self.console: Console | None = None
        self.started_at = 0.0
        self.boot_seconds: float | None = None
        self.release: str | None = None

    def __enter__(self) -> Machine:
        try:
            self.child = pexpect.spawn(
                self.argv[0],
                self.argv[1:],
                encoding="utf-8",
                codec_errors="replace",
                timeout=self.command_timeout_s,
                dimensions=(50, 250),
            )
        except pexpect.ExceptionPexpect as err:
            self.log.close()
            raise InfraError(f"cannot start QEMU: {err}", excerpt=" ".join(self.argv)) from err
        self.child.logfile_read = self.log
        # pexpect waits 50 ms before each send by default (for terminals that drop
        # what comes too early); the guest's shell reads its tty as it comes, and a
        # boot sends a few hundred commands.
        self.child.delaybeforesend = None
        with _running_lock:
            _running.add(self)
        self.started_at = time.monotonic()
        self.console = Console(self.child, self.log, self.command_timeout_s)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_ready(self) -> str:
        """Wait for /init's marker; return the release the guest reports (uname -r)."""
        assert self.console is not None
        try:
            match = self.console.expect(_READY, self.boot_timeout_s, WAITING_FOR_READY)
        except RunFailed as err:
            if _BOOT_STARTED not in self.log.excerpt(400) and not self._alive():
                raise InfraError(
                    f"QEMU exited before the kernel started (exit code {self._exit_code()})",
                    excerpt=" ".join(self.argv) + "\n" + self.log.excerpt(30),
                    log_path=str(self.log.path),
                ) from err
            raise
        self.boot_seconds = time.monotonic() - self.started_at
        self.release = match.group(1)
        return self.release

    def _alive(self) -> bool:
        return self.child is not None and self.child.isalive()

    def _exit_code(self) -> int | None:
        if self.child is None:
            return None
        with contextlib.suppress(Exception):
            self.child.close(force=True)
        status = self.child.exitstatus
        return int(status) if status is not None else self.child.signalstatus

    def _qmp_quit(self) -> bool:
        """Ask QEMU to quit over QMP; False if there was no monitor to ask, or it did
        not answer within QMP_TIMEOUT_S (a QEMU that hangs accepts the connection and
        never greets: every step has a deadline)."""
        if self.qmp_socket is None or not self.qmp_socket.exists():
            return False
        try:
            asyncio.run(_qmp_quit(str(self.qmp_socket)))
        except Exception:
            return False  # no answer: escalate to signals
        return True

    def stop(self) -> None:
        child = self.child
        try:
            if child is not None and child.isalive() and self._qmp_quit():
                deadline = time.monotonic() + 5
                while child.isalive() and time.monotonic() < deadline:
                    with contextlib.suppress(pexpect.TIMEOUT, pexpect.EOF):
                        child.read_nonblocking(size=4096, timeout=0.2)
            if child is not None and child.isalive():
                child.terminate(force=False)
            if child is not None and child.isalive():
                child.terminate(force=True)
            if child is not None:
                with contextlib.suppress(Exception):
                    child.close(force=True)
        finally:
            with _running_lock:
                _running.discard(self)
            self.log.close()
            if self.qmp_socket is not None:
                self.qmp_socket.unlink(missing_ok=True)
