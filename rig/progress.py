"""Progress for long work, and the phase timings that go into run.json.

On a terminal a live status line; elsewhere (CI logs) a plain line at most every
few seconds, so a log shows the work moving without drowning in it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console


class Progress:
    def __init__(self, quiet: bool = False, plain_interval_s: float = 15.0) -> None:
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self.live = sys.stderr.isatty() and not quiet
        self.quiet = quiet
        self.plain_interval_s = plain_interval_s
        self.timings: dict[str, float] = {}
        self._status: object | None = None
        self._last_plain = 0.0

    def beside(self) -> Progress:
        """Progress for work running in another thread beside this one's: the same
        console, plain lines only (one live status line at a time), its own timings."""
        other = Progress(quiet=self.quiet, plain_interval_s=self.plain_interval_s)
        other.console = self.console
        other.live = False
        return other

    def say(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a phase; the duration lands in ``timings`` even if the phase fails."""
        start = time.monotonic()
        self.say(f"[bold]==> {name}[/bold]")
        try:
            if self.live:
                with self.console.status(name) as status:
                    self._status = status
                    yield
            else:
                yield
        finally:
            self._status = None
            elapsed = time.monotonic() - start
            self.timings[name] = self.timings.get(name, 0.0) + elapsed
            self.say(f"    {name}: {elapsed:.1f} s")

    def update(self, text: str, *, force: bool = False) -> None:
        if self.quiet:
            return
        if self._status is not None:
            self._status.update(text)  # type: ignore[attr-defined]
            return
        now = time.monotonic()
        if force or now - self._last_plain >= self.plain_interval_s:
            self._last_plain = now
            print(f"    {text}", file=sys.stderr, flush=True)
