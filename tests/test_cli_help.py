"""python -m rig --help lists the subcommands in the order a user meets them, and every
example a subcommand's --help shows is a command line the parser accepts."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys

import pytest

from rig.cli import commands
from rig.cli.parser import make_parser
from tests import locations

ORDER = [
    "bench",
    "report",
    "shell",
    "build",
    "qemu",
    "qemu-peer",
    "matrix",
    "merge",
    "trend",
    "bisect",
    "history-branch",
    "calibrate",
]
ORDER += ["soak"]


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = make_parser()
    (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_help_lists_the_subcommands_in_order_one_line_each() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "rig", "--help"],
        cwd=locations.REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    positions = [shown.index(f"\n    {name}") for name in ORDER]
    assert positions == sorted(positions), shown
    assert list(_subparsers()) == ORDER
    assert list(commands.COMMANDS) == ORDER, "a subcommand without its handler, or one more"


@pytest.mark.parametrize("name", ORDER)
def test_every_example_parses(name: str) -> None:
    sub = _subparsers()[name]
    examples = [
        line.strip() for line in (sub.epilog or "").splitlines() if line.startswith("  python")
    ]
    assert examples, f"{name} --help shows no example"
    for example in examples:
        words = shlex.split(example)
        assert words[:4] == ["python", "-m", "rig", name], example
        args = make_parser().parse_args(words[3:])
        assert args.command == name
