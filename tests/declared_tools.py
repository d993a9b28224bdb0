"""A PATH holding only what a new machine has plus what rig.build.prereqs declares.

A new machine of the project's kind is Debian's minbase (the packages of priority
"required", and apt) with python3, python3-venv, python3-pip, git, make and gcc. The rig
installs the declared packages on top, without Recommends: so the commands such a machine
has are those of the Depends closure of both sets. This module reads that closure from
dpkg's database on this (fuller) machine and links each of its commands into a folder, so
that a step run with that folder as PATH fails here as it would on a new machine.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

NEW_MACHINE_PACKAGES = ("apt", "python3", "python3-venv", "python3-pip", "git", "make", "gcc")
BIN_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
DPKG_INFO = Path("/var/lib/dpkg/info")
_FIELDS = "\t".join(
    (
        "${Package}",
        "${Architecture}",
        "${db:Status-Status}",
        "${Priority}",
        "${Pre-Depends}, ${Depends}",
        "${Provides}\n",
    )
)


@dataclass
class Installed:
    name: str
    priority: str = ""
    # Each dependency is a list of alternatives.
    depends: list[list[str]] = field(default_factory=list)
    list_files: list[Path] = field(default_factory=list)


def _names(relation: str) -> list[str]:
    """Package names of one dependency's alternatives: 'a (>= 1) | b:any' -> ['a', 'b']."""
    return [alt.split()[0].split(":")[0] for alt in relation.split("|") if alt.strip()]


@functools.cache
def installed() -> tuple[dict[str, Installed], dict[str, list[str]]]:
    """Installed packages, and the real packages that provide each virtual one (read once;
    callers do not change them)."""
    out = subprocess.run(
        ["dpkg-query", "-W", f"-f={_FIELDS}"], capture_output=True, text=True, check=True
    ).stdout
    packages: dict[str, Installed] = {}
    providers: dict[str, list[str]] = {}
    for line in out.splitlines():
        name, arch, status, priority, depends, provides = line.split("\t")
        if status != "installed":
            continue
        package = packages.setdefault(name, Installed(name))
        package.priority = package.priority or priority
        package.depends += [_names(rel) for rel in depends.split(",") if rel.strip()]
        for list_name in (f"{name}.list", f"{name}:{arch}.list"):
            if (DPKG_INFO / list_name).is_file():
                package.list_files.append(DPKG_INFO / list_name)
        for virtual in provides.split(","):
            if virtual.strip():
                providers.setdefault(_names(virtual)[0], []).append(name)
    return packages, providers


def closure(roots: Iterable[str]) -> set[str]:
    """``roots`` with everything they depend on, as apt would install it here."""
    packages, providers = installed()
    found: set[str] = set()
    todo = [r for r in roots if r in packages]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        for alternatives in packages[name].depends:
            for alt in alternatives:
                choices = [alt] if alt in packages else providers.get(alt, [])
                if choices:
                    todo.append(choices[0])
                    break
    return found


def new_machine_packages() -> set[str]:
    packages, _ = installed()
    required = {p.name for p in packages.values() if p.priority == "required"}
    return required | set(NEW_MACHINE_PACKAGES)


def executables(package_names: set[str]) -> dict[str, Path]:
    """Command name -> path, for every command in a bin folder owned by those packages,
    and every alternative (/etc/alternatives) that resolves to one of them."""
    packages, _ = installed()
    owned: set[str] = set()
    for name in package_names:
        for list_file in packages[name].list_files:
            owned.update(list_file.read_text().splitlines())
    owned_real = {Path(path).resolve() for path in owned if str(Path(path).parent) in BIN_DIRS}
    commands: dict[str, Path] = {}
    for folder in reversed(BIN_DIRS):  # earlier PATH entries win, as in a shell
        if not Path(folder).is_dir():
            continue
        for entry in Path(folder).iterdir():
            real = entry.resolve()
            if real in owned_real and real.is_file() and os.access(real, os.X_OK):
                commands[entry.name] = entry
    return commands


def path_folder(folder: Path, declared: Iterable[str]) -> Path:
    """``folder`` filled with links to the commands of a new machine plus ``declared``."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = closure(new_machine_packages() | set(declared))
    for name, target in executables(wanted).items():
        (folder / name).symlink_to(target)
    return folder
