"""Long build commands (make, configure, ninja): streamed to a log, progress shown, and on
failure the lines that say why."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

from rig.errors import RunFailed

# The builds running now, in any thread: a stop that reaches the main thread ends the
# ones running beside it too (stop_running).
_running: set[subprocess.Popen[str]] = set()
_running_lock = threading.Lock()
# Set by stop_running until allow_runs: a build a thread was about to start fails at once.
_stopping = threading.Event()
_ERROR_LINE = re.compile(r"(error|Error \d|undefined reference|\*\*\*|not found)")


def run(
    cmd: list[str],
    log: Path,
    label: str,
    on_line: Callable[[str], None],
    *,
    cwd: Path | None = None,
    check: str = "",
    env: dict[str, str] | None = None,
) -> None:
    """Run ``cmd``, appending everything it prints to ``log``; each line goes to ``on_line``.

    A non-zero exit raises RunFailed with the error lines of the output's tail (or the
    tail itself when none looks like an error).
    """
    if _stopping.is_set():
        raise RunFailed(f"{label} not started: the run is stopping", check=check)
    tail: deque[str] = deque(maxlen=400)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as handle:
        handle.write("$ " + " ".join(cmd) + "\n")
        # Its own process group: when the rig is stopped, the whole build (make and every
        # compiler it started) is stopped with it, before a patch is reverted under it.
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        assert proc.stdout is not None
        with _running_lock:
            _running.add(proc)
        try:
            for line in proc.stdout:
                handle.write(line)
                tail.append(line.rstrip("\n"))
                on_line(line)
            code = proc.wait()
        except BaseException:
            stop_group(proc)
            raise
        finally:
            with _running_lock:
                _running.discard(proc)
    if code != 0:
        errors = [line for line in tail if _ERROR_LINE.search(line)]
        raise RunFailed(
            f"{label} failed (exit code {code})",
            excerpt="\n".join((errors or list(tail))[-40:]),
            log_path=str(log),
            check=check,
        )


def stop_running() -> None:
    """Stop every build this process runs, in whichever thread: their output ends, and
    the threads reading it see a failed build; none starts until allow_runs."""
    _stopping.set()
    with _running_lock:
        running = list(_running)
    for proc in running:
        stop_group(proc)


def allow_runs() -> None:
    """Builds may start again (after stop_running, once the threads it stopped ended)."""
    _stopping.clear()


def stop_group(proc: subprocess.Popen[str], grace_s: float = 10.0) -> None:
    """SIGTERM to the process group ``proc`` leads, then SIGKILL if it has not ended."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=grace_s)
            break
        except subprocess.TimeoutExpired:
            continue
    # Members of the group may outlive its leader; nothing of it may keep running.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
