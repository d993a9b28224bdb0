"""The package map holds: imports run down the floors (build -> boot -> run -> report ->
calibration and nightly -> the command line), never up, never between siblings, and no
module imports itself back through a circle. Read from the source, so it stays true."""

from __future__ import annotations

import ast
import fnmatch
import tomllib
from collections.abc import Iterator
from pathlib import Path

from rig import paths

RIG = paths.REPO / "rig"

# The floors, lowest first. The root's modules other than the command line are the
# shared basics every package may use; the command line sits on top of everything.
FLOORS: dict[str, int] = {
    "": 0,
    "build": 1,
    "boot": 2,
    "run": 3,
    "report": 4,
    "calibration": 5,
    "nightly": 5,
    "bisect": 5,
    "cli": 6,
}
TOP = {"rig.__main__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(paths.REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str) -> str:
    if module in TOP or module == "rig.cli" or module.startswith("rig.cli."):
        return "cli"
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in FLOORS) else ""


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(RIG.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> Iterator[str]:
    """The rig modules ``path`` imports, anywhere in it (functions included)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("rig"):
                continue
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield full if full in known else node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "rig")


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {
        name: {m for m in imports_of(path, known) if m != name and m in known}
        for name, path in found.items()
    }


def test_every_module_is_on_a_floor() -> None:
    for name in modules():
        assert package_of(name) in FLOORS, f"{name}: in no package of the map"


def test_imports_never_run_up_or_sideways() -> None:
    wrong = []
    for name, targets in graph().items():
        home = package_of(name)
        for target in sorted(targets):
            there = package_of(target)
            if there == home or target == "rig":
                continue
            if FLOORS[there] > FLOORS[home] or FLOORS[there] == FLOORS[home]:
                wrong.append(f"{name} ({home or 'root'}) imports {target} ({there or 'root'})")
    assert not wrong, "imports against the floors:\n" + "\n".join(wrong)


def test_no_circles() -> None:
    edges = graph()
    state: dict[str, int] = {}
    trail: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        trail.append(name)
        for target in sorted(edges[name]):
            if state.get(target) == 1:
                circle = [*trail[trail.index(target) :], target]
                raise AssertionError("import circle: " + " -> ".join(circle))
            if target not in state:
                visit(target)
        trail.pop()
        state[name] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name)


def test_each_package_says_what_it_is_for() -> None:
    for package in FLOORS:
        if package == "":
            continue
        doc = ast.get_docstring(ast.parse((RIG / package / "__init__.py").read_text()))
        assert doc, f"rig/{package}/__init__.py: no docstring saying what the package is for"


def test_every_test_folder_is_collected() -> None:
    """pytest passes over folders matching norecursedirs (by default that includes any
    folder named build): none of the tests' folders may match it."""
    config = tomllib.loads((paths.REPO / "pyproject.toml").read_text())
    skipped = config["tool"]["pytest"]["ini_options"]["norecursedirs"]
    folders = {p.parent.name for p in (paths.REPO / "tests").rglob("test_*.py")}
    hidden = sorted(f for f in folders for pattern in skipped if fnmatch.fnmatch(f, pattern))
    assert not hidden, f"pytest would not collect the tests in {hidden}"
