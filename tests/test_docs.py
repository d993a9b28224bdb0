"""The README and docs/ say only what exists: every relative link and every repository
path they name is there, and every command the README shows is one the rig accepts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from rig.cli.parser import make_parser
from tests import locations

PAGES = [locations.REPO / "README.md", *sorted((locations.REPO / "docs").glob("*.md"))]
# Top-level folders and files of the repository: a backticked word starting with one of
# them is a path the page says is there.
TOP = {p.name for p in locations.REPO.iterdir() if not p.name.startswith(".")} | {
    ".ci",
    ".github",
}
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\n]+)`")
# Written-out names that stand for many (results/<run-id>/) or are made by a run.
PLACEHOLDER = re.compile(r"[<*{]|\.\.\.|RUN|KEY|NAME|latest|history\.sqlite|/trend/")


def _ids(pages: list[Path]) -> list[str]:
    return [str(p.relative_to(locations.REPO)) for p in pages]


def test_the_readme_is_a_front_page() -> None:
    lines = (locations.REPO / "README.md").read_text().count("\n")
    assert lines <= 250, f"README.md: {lines} lines; the front page keeps to 250"
    assert len(PAGES) > 5, "docs/: expected a page per subject"


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_relative_links_resolve(page: Path) -> None:
    missing = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#", 1)[0]).resolve()
        if not path.exists():
            missing.append(target)
    assert not missing, f"{page.name}: links to nothing: {missing}"


def _named_paths(text: str) -> set[str]:
    named = set()
    for code in CODE.findall(text):
        for written in code.split():
            word = written.strip("\"'(),;:")
            head = word.split("/", 1)[0]
            if "/" in word and head in TOP and not PLACEHOLDER.search(word):
                named.add(word.split(":", 1)[0].rstrip("."))
    return named


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_named_repository_paths_exist(page: Path) -> None:
    missing = sorted(p for p in _named_paths(page.read_text()) if not (locations.REPO / p).exists())
    assert not missing, f"{page.name}: names paths that are not in the repository: {missing}"


def _shell_lines(text: str) -> list[str]:
    blocks = re.findall(r"```(?:sh|shell|bash|console)?\n(.*?)```", text, re.S)
    lines = []
    for block in blocks:
        for written in block.splitlines():
            line = written.strip().removeprefix("$ ").strip()
            if line.startswith(("make ", "python -m rig", "python3 -m rig", ".venv/bin/python")):
                lines.append(line)
    return lines


def _make_targets() -> set[str]:
    makefile = (locations.REPO / "Makefile").read_text()
    return {
        name
        for line in makefile.splitlines()
        if (m := re.match(r"^([a-z][\w-]*(?: [a-z][\w-]*)*):(?!=)", line))
        for name in m.group(1).split()
    }


README_COMMANDS = _shell_lines((locations.REPO / "README.md").read_text())


def test_the_readme_shows_commands() -> None:
    assert any(c.startswith("make bench") for c in README_COMMANDS)
    assert any(c.startswith("make test") for c in README_COMMANDS)


@pytest.mark.parametrize("command", README_COMMANDS)
def test_readme_commands_parse(command: str) -> None:
    # What a reader types: the comment, optional [words] and --help (which only prints)
    # left out; the rest must parse.
    words = [
        w
        for w in shlex.split(command.split(" #", 1)[0])
        if not (w.startswith("[") and w.endswith("]")) and w not in ("--help", "-h")
    ]
    if words[0] == "make":
        targets = [w for w in words[1:] if "=" not in w and not w.startswith("-")]
        assert targets, command
        unknown = set(targets) - _make_targets()
        assert not unknown, f"{command}: no such make target {sorted(unknown)}"
        options = [w.split("=", 1)[1] for w in words[1:] if w.startswith("ARGS=")]
        if options and targets[0] in {"bench", "build", "shell", "matrix", "trend"}:
            make_parser().parse_args([targets[0], *shlex.split(options[0])])
        return
    at = words.index("rig")
    make_parser().parse_args(words[at + 1 :])
