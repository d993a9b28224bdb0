"""The command line, on top of every other package: ``python -m rig`` and its subcommands.
Offers ``main``; nothing below imports it."""

from rig.cli.main import main

__all__ = ["main"]
