"""Debian's archive, any suite, without touching the host's apt configuration.

Each suite gets a private apt configuration in the rig's cache: a sources list naming
this machine's own mirror (read from its apt sources, never written here) and the
archive keyring, and a lists folder of its own. `apt-get update`, `download` and
`source` then run with that configuration, so a kernel or QEMU source from a suite the
host does not follow (sid, bookworm-security) can be fetched, with signatures checked.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from rig.errors import InfraError
from rig.locking import locked

KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
HOST_SOURCES = (Path("/etc/apt/sources.list.d"), Path("/etc/apt/sources.list"))
# apt's words when a suite's Release file is past its Valid-Until date.
_EXPIRED = ("is expired", "is no longer valid")


def host_entries(sources: tuple[Path, Path] = HOST_SOURCES) -> list[tuple[str, list[str]]]:
    """(mirror, suites) of the host's Debian entries, deb822 files and the legacy list."""
    folder, legacy = sources
    entries: list[tuple[str, list[str]]] = []
    for path in sorted(folder.glob("*.sources")) if folder.is_dir() else []:
        for stanza in path.read_text().split("\n\n"):
            fields = dict(
                line.split(":", 1) for line in stanza.splitlines() if ":" in line and line[0] != "#"
            )
            if "deb" in fields.get("Types", "").split() and "URIs" in fields:
                entries.append((fields["URIs"].split()[0], fields.get("Suites", "").split()))
    if legacy.is_file():
        for line in legacy.read_text().splitlines():
            words = [w for w in line.split() if not w.startswith("[")] if line.strip() else []
            if len(words) >= 3 and words[0] == "deb":
                entries.append((words[1], [words[2]]))
    return entries


def mirror_for(suite: str, sources: tuple[Path, Path] = HOST_SOURCES) -> str:
    """The host's mirror serving ``suite``; for a suite it does not follow, the mirror of
    its main archive (the one whose suites are not security ones)."""
    entries = host_entries(sources)
    for mirror, suites in entries:
        if suite in suites:
            return mirror
    security = suite.endswith("-security")
    for mirror, suites in entries:
        if suites and all(s.endswith("-security") == security for s in suites):
            return mirror
    raise InfraError(
        f"no Debian mirror for suite {suite!r} in this machine's apt sources "
        f"({', '.join(str(p) for p in sources)}); expected a deb entry for Debian's archive"
    )


class Suite:
    """A private apt configuration for one suite, kept in the rig's cache."""

    def __init__(self, suite: str, cache: Path, components: str = "main") -> None:
        self.suite = suite
        self.home = cache / "apt" / suite
        self.components = components
        # Cleared, with a warning, when the mirror serves the suite past its Valid-Until.
        self.check_valid_until = True

    def _options(self, *, check_valid_until: bool) -> list[str]:
        options = [
            f"Dir::Etc::SourceList={self.home / 'sources.list'}",
            "Dir::Etc::SourceParts=/dev/null",
            f"Dir::State::Lists={self.home / 'lists'}",
            f"Dir::Cache={self.home / 'cache'}",
        ]
        if not check_valid_until:
            options.append("Acquire::Check-Valid-Until=false")
        return [word for option in options for word in ("-o", option)]

    def _write_sources(self) -> None:
        mirror = mirror_for(self.suite)
        line = f"[signed-by={KEYRING}] {mirror} {self.suite} {self.components}"
        (self.home / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (self.home / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        (self.home / "sources.list").write_text(f"deb {line}\ndeb-src {line}\n")

    def update(self) -> None:
        """Read the suite's index. A suite past its Valid-Until date (sid on some mirrors)
        is read again without that check, with a warning; signatures are still checked."""
        # apt refuses a second update of the same lists at once (QEMU's source and a
        # kernel's may be fetched from one suite in two threads, or by two rigs).
        with locked(self.home.parent / f"{self.suite}-index.lock", f"Debian's {self.suite} index"):
            self._write_sources()
            first = self._apt(["update"], check=False)
            if first.returncode == 0 and "\nE:" not in "\n" + first.stderr:
                return
            if any(word in first.stdout + first.stderr for word in _EXPIRED):
                print(
                    f"warning: Debian's {self.suite} index on this machine's mirror is past "
                    "its Valid-Until date; reading it with Acquire::Check-Valid-Until=false "
                    "(signatures are still verified)",
                    file=sys.stderr,
                    flush=True,
                )
                self.check_valid_until = False
                self._apt(["update"])
                return
        raise InfraError(
            f"apt-get update of Debian's {self.suite} failed (exit code {first.returncode})",
            excerpt=(first.stderr or first.stdout)[-2000:],
        )

    def _apt(
        self, args: list[str], *, cwd: Path | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        if shutil.which("apt-get") is None:
            raise InfraError("apt-get is not installed: the rig reads Debian's archive with it")
        cmd = ["apt-get", "-q", *self._options(check_valid_until=self.check_valid_until), *args]
        result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise InfraError(
                f"`apt-get {' '.join(args)}` from Debian's {self.suite} failed "
                f"(exit code {result.returncode})",
                excerpt=(result.stderr or result.stdout)[-2000:],
            )
        return result

    def download(self, package: str, dest: Path) -> Path:
        """The .deb of the package's newest version in the index, in ``dest``; each version
        is downloaded once. Without the index (no network) the newest one already
        downloaded is used, with a warning."""
        with locked(self.home.parent / f"{self.suite}.lock", f"Debian's {self.suite} downloads"):
            found = sorted(dest.glob(f"{package}_*.deb"), key=_deb_version_key)
            try:
                newest = self.binary_versions(package)[0]
            except InfraError as err:
                if not found:
                    raise
                print(
                    f"warning: Debian's {self.suite} index could not be read "
                    f"({err.message.splitlines()[0]}); using {found[-1].name}",
                    file=sys.stderr,
                    flush=True,
                )
                return found[-1]
            wanted = [deb for deb in found if _deb_version(deb) == newest]
            if wanted:
                return wanted[0]
            dest.mkdir(parents=True, exist_ok=True)
            self._apt(["download", f"{package}={newest}"], cwd=dest)
            wanted = [deb for deb in dest.glob(f"{package}_*.deb") if _deb_version(deb) == newest]
            if not wanted:
                raise InfraError(
                    f"apt-get download {package}={newest} from {self.suite} left no .deb"
                )
            return wanted[0]

    def source_versions(self, package: str) -> list[str]:
        """The versions of a source package the suite's index lists, newest first."""
        self.update()
        cmd = ["apt-cache", *self._options(check_valid_until=self.check_valid_until)]
        result = subprocess.run(
            [*cmd, "showsrc", package], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise InfraError(
                f"apt-cache showsrc {package} in Debian's {self.suite} failed",
                excerpt=(result.stderr or result.stdout)[-2000:],
            )
        found = set(re.findall(r"^Version: (\S+)$", result.stdout, re.MULTILINE))
        return sorted(found, key=version_key, reverse=True)

    def binary_versions(self, package: str) -> list[str]:
        """The versions of a binary package the suite's index lists, newest first."""
        self.update()
        cmd = ["apt-cache", *self._options(check_valid_until=self.check_valid_until)]
        result = subprocess.run(
            [*cmd, "show", package], capture_output=True, text=True, check=False
        )
        found = set(re.findall(r"^Version: (\S+)$", result.stdout, re.MULTILINE))
        if result.returncode != 0 or not found:
            raise InfraError(
                f"apt-cache show {package}: Debian's {self.suite} lists no such package",
                excerpt=(result.stderr or result.stdout)[-2000:],
            )
        return sorted(found, key=version_key, reverse=True)

    def serves_source(self, package: str, version: str) -> bool:
        """Whether the mirror serves the source package's .dsc (asked with a HEAD
        request; nothing is downloaded): an index can list what is not there yet."""
        printed = self._apt(
            ["source", "--print-uris", f"{package}={version}"], cwd=self.home, check=False
        )
        uris = [
            line.split()[0].strip("'")
            for line in printed.stdout.splitlines()
            if line.startswith("'") and ".dsc'" in line
        ]
        if printed.returncode != 0 or not uris:
            return False
        try:
            with urllib.request.urlopen(
                urllib.request.Request(uris[0], method="HEAD"), timeout=60
            ) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def fetch_source(self, package: str, version: str, dest: Path) -> Path | None:
        """The source package's .dsc (and its tarballs) in ``dest``, or None when the
        mirror does not serve its files (an index can list what is not there yet)."""
        dest.mkdir(parents=True, exist_ok=True)
        result = self._apt(
            ["source", "--download-only", f"{package}={version}"], cwd=dest, check=False
        )
        upstream = version.split(":", 1)[-1]
        dsc = dest / f"{package}_{upstream}.dsc"
        return dsc if result.returncode == 0 and dsc.is_file() else None


def _deb_version(deb: Path) -> str:
    """`linux-source-6.1_6.1.192-3_all.deb` -> `6.1.192-3` (an epoch is written %3a)."""
    return deb.name.split("_")[1].replace("%3a", ":")


def _deb_version_key(deb: Path) -> Any:
    return version_key(_deb_version(deb))  # defined below; used at call time


def compare_versions(first: str, second: str) -> int:
    """Debian's version order (dpkg --compare-versions): <0, 0 or >0."""
    for answer, relation in ((0, "eq"), (-1, "lt")):
        asked = ["dpkg", "--compare-versions", first, relation, second]
        if subprocess.run(asked, check=False).returncode == 0:
            return answer
    return 1


# Sorts versions as Debian does: sorted(versions, key=version_key).
version_key = functools.cmp_to_key(compare_versions)


def main(argv: list[str] | None = None) -> int:
    """``python3 -m rig.build.debian_archive mirror SUITE``: the host's mirror for SUITE,
    for scripts that run before the virtualenv (.ci/fresh-root's debootstrap)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "mirror":
        print("usage: python3 -m rig.build.debian_archive mirror SUITE", file=sys.stderr)
        return 2
    try:
        print(mirror_for(args[1]))
    except InfraError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
