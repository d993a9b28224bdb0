"""The kernel configuration: allnoconfig plus the repo's fragment, verified after olddefconfig."""

from __future__ import annotations

import re
from pathlib import Path

from rig.errors import RunFailed, UserError

_SET = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")


def parse_config(text: str) -> dict[str, str]:
    """Option -> value ('n' for '# CONFIG_X is not set')."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if match := _SET.match(line):
            values[match.group(1)] = match.group(2)
        elif match := _UNSET.match(line):
            values[match.group(1)] = "n"
    return values


def read_fragment(path: Path) -> dict[str, str]:
    try:
        text = path.read_text()
    except OSError as err:
        raise UserError(f"{path}: cannot read the config fragment ({err.strerror})") from err
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#") and not _SET.match(line):
            raise UserError(f"{path}:{number}: {line!r} is not a CONFIG_NAME=value line")
    return parse_config(text)


def missing_options(wanted: dict[str, str], config_text: str) -> list[str]:
    """Options of the fragment that olddefconfig dropped or changed, as 'NAME=want (got)'."""
    have = parse_config(config_text)
    problems = []
    for name, value in wanted.items():
        got = have.get(name, "n")
        if got != value:
            problems.append(f"{name}={value} (got {got})")
    return problems


def verify(fragment: Path, config: Path) -> None:
    problems = missing_options(read_fragment(fragment), config.read_text())
    if problems:
        raise RunFailed(
            f"the kernel config lost {len(problems)} option(s) of {fragment.name} after "
            "olddefconfig (a dependency is missing or the option does not exist in this tree)",
            excerpt="\n".join(problems),
            log_path=str(config),
        )
