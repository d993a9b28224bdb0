"""Long build commands (make, configure, ninja): streamed to a log, progress shown, and on
failure the lines that say why."""

from __future__ import annotations

import re
import subprocess
from collections import deque
from collections.abc import Callable
from pathlib import Path

from rig.errors import RunFailed

_ERROR_LINE = re.compile(r"(error|Error \d|undefined reference|\*\*\*)")


def run(
    cmd: list[str],
    log: Path,
    label: str,
    on_line: Callable[[str], None],
    *,
    cwd: Path | None = None,
    check: str = "",
) -> None:
    """Run ``cmd``, appending everything it prints to ``log``; each line goes to ``on_line``.

    A non-zero exit raises RunFailed with the error lines of the output's tail (or the
    tail itself when none looks like an error).
    """
    tail: deque[str] = deque(maxlen=400)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as handle:
        handle.write("$ " + " ".join(cmd) + "\n")
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            handle.write(line)
            tail.append(line.rstrip("\n"))
            on_line(line)
        code = proc.wait()
    if code != 0:
        errors = [line for line in tail if _ERROR_LINE.search(line)]
        raise RunFailed(
            f"{label} failed (exit code {code})",
            excerpt="\n".join((errors or list(tail))[-40:]),
            log_path=str(log),
            check=check,
        )
