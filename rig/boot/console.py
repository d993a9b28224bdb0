"""The guest's serial console: every wait also watches for the kernel failing.

The fatal patterns are a table (the LAVA habit): a panic, Oops, BUG, WARNING or an
SMMU event seen during any wait fails the run with the text around it.
"""

from __future__ import annotations

import itertools
import re
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import pexpect

from rig.errors import RunFailed


@dataclass(frozen=True)
class FatalPattern:
    name: str
    regex: str


FATAL_PATTERNS: tuple[FatalPattern, ...] = (
    FatalPattern("kernel panic", r"Kernel panic - not syncing"),
    FatalPattern("Oops", r"Internal error: Oops"),
    FatalPattern("kernel fault", r"Unable to handle kernel "),
    FatalPattern("BUG", r"kernel BUG at |BUG: [a-z]"),
    FatalPattern("WARNING", r"WARNING: CPU: \d+ PID: \d+"),
    FatalPattern("SMMU event", r"arm-smmu(?:-v3)? \S+: event 0x[0-9a-f]+ received"),
    # arm-smmu's own report, or QEMU's SMMUv3 naming a DMA it could not translate (a
    # guest error: the rig's QEMU runs with -d guest_errors), on which a device can break
    # (virtio marks itself broken) before Linux drains the event queue.
    FatalPattern(
        "SMMU fault",
        r"arm-smmu \S+: (?:Unhandled context fault|Unexpected global fault)"
        r"|smmuv3-iommu-memory-region-\S+ translation failed for iova=",
    ),
    FatalPattern("RCU stall", r"rcu: INFO: rcu_\w+ detected stalls"),
    # The SMMU models' sanitizers (qemu/rig/hw/arm/smmu-sanitizer.c), on QEMU's stderr:
    # a walk of page-table lines the guest never cleaned (strict non-coherent view), and
    # a DMA served from an IOTLB entry the page tables no longer give.
    FatalPattern("cache-maintenance violation", r"(?:mmu500|smmuv3): cache-maintenance violation"),
    FatalPattern("stale translation", r"(?:mmu500|smmuv3): stale translation"),
    # The MMU-500 model's guest error for a context bank configured beyond what the
    # hardware implements (e.g. the 16K granule), whose walks it faults.
    FatalPattern("unimplemented SMMU configuration", r"mmu500: CB\d+ uses "),
    FatalPattern("DMA after unmap", r"smmu-rig: DMA probe: \d+ page\(s\)"),
)
# After a fatal match, keep reading this long so the excerpt holds the whole splat.
SPLAT_GRACE_S = 2.0


class ConsoleLog:
    """Writes the console to disk whole lines at a time, and keeps the recent tail."""

    def __init__(self, path: Path, tail_lines: int = 400) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handle: TextIO = path.open("w", encoding="utf-8")
        self._partial = ""
        self.tail: deque[str] = deque(maxlen=tail_lines)

    def write(self, chunk: str) -> None:
        text = self._partial + chunk.replace("\r", "")
        *lines, self._partial = text.split("\n")
        for line in lines:
            self._handle.write(line + "\n")
            self.tail.append(line)
        self._handle.flush()

    def flush(self) -> None:
        self._handle.flush()

    def close(self) -> None:
        if self._partial:
            self._handle.write(self._partial + "\n")
            self.tail.append(self._partial)
            self._partial = ""
        self._handle.close()

    def excerpt(self, lines: int = 60) -> str:
        recent = [*self.tail, self._partial] if self._partial else list(self.tail)
        return "\n".join(recent[-lines:])


class Console:
    def __init__(self, child: Any, log: ConsoleLog, command_timeout_s: float) -> None:
        self.child = child
        self.log = log
        self.command_timeout_s = command_timeout_s
        self._counter = itertools.count(1)
        self._fatal = [re.compile(p.regex) for p in FATAL_PATTERNS]

    def expect(self, pattern: str, timeout_s: float, waiting_for: str) -> re.Match[str]:
        """Wait for ``pattern``; a fatal pattern, QEMU exiting or the timeout raise RunFailed."""
        patterns: list[Any] = [re.compile(pattern), *self._fatal, pexpect.EOF, pexpect.TIMEOUT]
        index = self.child.expect(patterns, timeout=timeout_s)
        if index == 0:
            match: re.Match[str] = self.child.match
            return match
        if index <= len(self._fatal):
            self._drain(SPLAT_GRACE_S)
            name = FATAL_PATTERNS[index - 1].name
            raise RunFailed(
                f"{name} on the guest console while waiting for {waiting_for}",
                excerpt=self.log.excerpt(),
                log_path=str(self.log.path),
                check=f"console: {name}",
            )
        if patterns[index] is pexpect.EOF:
            raise RunFailed(
                f"QEMU exited while waiting for {waiting_for}",
                excerpt=self.log.excerpt(),
                log_path=str(self.log.path),
                check="QEMU exited",
            )
        raise RunFailed(
            f"timed out after {timeout_s:.0f} s waiting for {waiting_for}",
            excerpt=self.log.excerpt(),
            log_path=str(self.log.path),
            check="timeout",
        )

    def _drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.child.read_nonblocking(size=4096, timeout=0.2)
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                break

    def run(self, command: str, timeout_s: float | None = None) -> tuple[int, str]:
        """Run a shell command in the guest; return (exit status, output)."""
        number = next(self._counter)
        self.child.sendline(f"{command}; echo RIG-RC-{number}=$?")
        self.expect(
            rf"RIG-RC-{number}=(\d+)\r*\n",
            timeout_s if timeout_s is not None else self.command_timeout_s,
            f"`{command}` to finish",
        )
        status = int(self.child.match.group(1))
        output = str(self.child.before).replace("\r", "")
        # With echo still on (the first command), the first line is the command itself.
        if f"echo RIG-RC-{number}=" in output.split("\n", 1)[0]:
            output = output.split("\n", 1)[1] if "\n" in output else ""
        return status, output

    def check(self, command: str, timeout_s: float | None = None) -> str:
        """Run a command that must succeed."""
        status, output = self.run(command, timeout_s)
        if status != 0:
            raise RunFailed(
                f"guest command `{command}` failed with exit status {status}",
                excerpt=output.strip() or self.log.excerpt(20),
                log_path=str(self.log.path),
                check="guest command",
            )
        return output
