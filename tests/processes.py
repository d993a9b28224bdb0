"""Which QEMU processes are running, read from /proc (a fresh machine has no pgrep)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any


def qemu_command_lines() -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # ended while we looked
        if argv and Path(argv[0].decode(errors="replace")).name == "qemu-system-aarch64":
            found.append(" ".join(arg.decode(errors="replace") for arg in argv if arg))
    return found


def qemu_running_with(marker: str) -> list[str]:
    """Command lines of running QEMUs that mention ``marker`` (a path, a kernel option)."""
    return [line for line in qemu_command_lines() if marker in line]


def start_as_background_job(argv: list[str], **options: Any) -> subprocess.Popen[str]:
    """Start ``argv`` as a non-interactive shell's background job starts it (`cmd &`,
    nohup, many CI runners): with SIGINT inherited as ignored."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.Popen(argv, text=True, **options)
    finally:
        signal.signal(signal.SIGINT, previous)
