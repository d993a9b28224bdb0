"""python -m rig: parse, dispatch, and turn the rig's errors and stop signals into exit codes."""

from __future__ import annotations

import signal
import sys
from types import FrameType

from rig.cli import commands
from rig.cli.parser import make_parser
from rig.errors import EXIT_INTERRUPTED, RigError


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def install_stop_handlers() -> None:
    """Ctrl-C (SIGINT) and a scheduler's stop (SIGTERM) end a run cleanly however the rig
    was started. A background job of a non-interactive shell (`cmd &`, nohup, many CI
    runners) inherits SIGINT as ignored, and Python then never raises KeyboardInterrupt:
    the handler is installed explicitly, not inherited."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    install_stop_handlers()
    try:
        return commands.COMMANDS[args.command](args)
    except RigError as err:
        print(err.render(), file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted; QEMU stopped, partial results kept as incomplete", file=sys.stderr)
        return EXIT_INTERRUPTED
