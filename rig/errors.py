"""Who is at fault decides the exit code a CI acts on."""

from __future__ import annotations

EXIT_OK = 0
EXIT_RUN_FAILED = 1  # the kernel or the benchmark misbehaved: panic, gate, timeout
EXIT_BAD_INPUT = 2  # the user's input or this machine's set-up is wrong
EXIT_REGRESSION = 3  # `rig trend`: a lasting, confirmed regression in the history
EXIT_INTERRUPTED = 130


class RigError(Exception):
    """Base class; ``exit_code`` tells the CLI what to return."""

    exit_code = EXIT_RUN_FAILED

    def __init__(
        self, message: str, *, excerpt: str = "", log_path: str | None = None, check: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.excerpt = excerpt
        self.log_path = log_path
        # Which check caught it, in a few words: "console: WARNING", "gates", "timeout".
        self.check = check

    def render(self) -> str:
        parts = [f"error: {self.message}"]
        if self.excerpt:
            indented = "\n".join("    " + line for line in self.excerpt.rstrip().splitlines())
            parts.append(indented)
        if self.log_path:
            parts.append(f"full log: {self.log_path}")
        return "\n".join(parts)


class UserError(RigError):
    """Bad input: a config file, key, value, profile, patch or size."""

    exit_code = EXIT_BAD_INPUT


class InfraError(RigError):
    """This machine cannot do it: a tool missing, QEMU unable to start."""

    exit_code = EXIT_BAD_INPUT


class RunFailed(RigError):
    """The thing under test failed: build error, panic, gate, hang."""

    exit_code = EXIT_RUN_FAILED
