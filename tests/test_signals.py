"""Stops reach the rig however it was started, and a stopped build leaves nothing running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rig.build import buildlog
from tests import locations
from tests.processes import start_as_background_job

# A child that inherits SIGINT as ignored, as a background job of a non-interactive shell
# (`cmd &`, nohup, a CI runner) does; then the rig's handlers, then a wait for the signal.
WAITER = """
import signal, sys, time
from rig.cli.main import install_stop_handlers
install_stop_handlers()
try:
    print("ready", flush=True)
    time.sleep(60)
except KeyboardInterrupt:
    print("stopped", flush=True)
    sys.exit(130)
sys.exit(0)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stop_signals_reach_a_rig_started_with_sigint_ignored(sig: signal.Signals) -> None:
    proc = start_as_background_job(
        [sys.executable, "-c", WAITER],
        cwd=locations.REPO,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(sig)
    assert proc.wait(timeout=10) == 130
    assert proc.stdout.read().strip() == "stopped"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for every purpose here.
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"


def test_an_interrupted_build_stops_its_whole_process_group(tmp_path: Path) -> None:
    """The rig stopped mid-build: make and the compilers it started stop too, so no
    compiler keeps reading a tree whose patch is being reverted."""
    pid_file = tmp_path / "grandchild.pid"
    # A "build" whose worker runs in the background, as make's compilers do.
    script = f"sleep 300 & echo $! > {pid_file}; echo started; wait"

    def interrupt(line: str) -> None:
        if line.strip() == "started":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        buildlog.run(["sh", "-c", script], tmp_path / "build.log", "build", interrupt)
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild)
    assert "started" in (tmp_path / "build.log").read_text()
