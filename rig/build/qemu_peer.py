"""QEMU's own aarch64 qtests as the model's peer check.

The rig's QEMU is QEMU's source with the rig's files and patches. Its own test suite,
``meson test --suite qtest-aarch64``, runs against it and against the same source
built the same way without them (rig.build.qemu_build.build_plain): the rig's build
must fail nothing the plain one passes. Tests both fail (for firmware Debian 12 does
not ship, say) are listed, not held against the model.

Debian's source tarball drops QEMU's firmware blobs; the ROMs and EFI images Debian
packages (FIRMWARE_PACKAGES) are linked into each build's data folder
(qemu-bundle/.../share/qemu, where a QEMU run from its build folder looks), so tests
that need them can run on both.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rig import paths
from rig.build import buildlog, qemu_build
from rig.errors import RunFailed, UserError
from rig.hashing import sha256_json
from rig.progress import Progress

SUITE = "qtest-aarch64"
CHECK = "QEMU peer qtests"
# Debian packages with firmware the suite's machines load, and where their files are.
FIRMWARE_PACKAGES = {
    "ipxe-qemu": Path("/usr/lib/ipxe/qemu"),
    "qemu-efi-aarch64": Path("/usr/share/qemu-efi-aarch64"),
    "qemu-system-data": Path("/usr/share/qemu"),
}
# Meson's results that count as a pass.
PASSED = frozenset({"OK", "EXPECTEDFAIL", "SKIP"})
# Bump when how the suite is run changes (the cached comparison is then run again).
RECIPE_VERSION = 2


@dataclass(frozen=True)
class Comparison:
    plain: dict[str, str]
    rig: dict[str, str]

    def regressions(self) -> list[str]:
        """Tests the plain build passes and the rig's does not (or does not run)."""
        return sorted(
            name
            for name, result in self.plain.items()
            if result in PASSED and self.rig.get(name, "MISSING") not in PASSED
        )

    def both_fail(self) -> list[str]:
        return sorted(
            name
            for name, result in self.plain.items()
            if result not in PASSED and self.rig.get(name, "MISSING") not in PASSED
        )

    def table(self) -> str:
        rows = ["| test | plain QEMU | the rig's QEMU |", "|---|---|---|"]
        for name in sorted(set(self.plain) | set(self.rig)):
            rows.append(f"| {name} | {self.plain.get(name, '-')} | {self.rig.get(name, '-')} |")
        return "\n".join(rows)

    def summary(self) -> str:
        passed = sum(1 for r in self.rig.values() if r in PASSED)
        return (
            f"{passed} of {len(self.rig)} {SUITE} tests pass on the rig's QEMU; "
            f"{len(self.regressions())} fail there that pass without its files and "
            f"patches; {len(self.both_fail())} fail on both"
        )


def short_name(meson_name: str) -> str:
    """'qemu:qtest+qtest-aarch64 / qtest-aarch64/qom-test' -> 'qom-test'."""
    return meson_name.rsplit("/", 1)[-1].strip()


def parse_testlog(text: str, source: Path) -> dict[str, str]:
    """Meson's JSON test log (one object per line) -> test name: result."""
    results: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            results[short_name(entry["name"])] = str(entry["result"])
        except (ValueError, KeyError, TypeError) as err:
            raise UserError(
                f"{source}:{number}: not a meson test log entry with a name and a result ({err})"
            ) from err
    return results


def link_firmware(build_dir: Path) -> list[str]:
    """Link the packaged firmware into the data folder a QEMU run from its build folder
    searches (qemu-bundle/PREFIX/share/qemu), never over a file QEMU put there; returns
    the packages whose folder is missing."""
    bundles = sorted(build_dir.glob("qemu-bundle/**/share/qemu"))
    if not bundles:
        raise RunFailed(f"{build_dir} has no qemu-bundle/.../share/qemu data folder", check=CHECK)
    data = bundles[0]
    missing = []
    for package, folder in FIRMWARE_PACKAGES.items():
        if not folder.is_dir():
            missing.append(package)
            continue
        for item in sorted(folder.iterdir()):
            target = data / item.name
            if item.is_file() and not target.exists() and not target.is_symlink():
                target.symlink_to(item)
    return missing


def suite_targets(build_dir: Path, env: dict[str, str]) -> list[str]:
    """The ninja targets of the suite's tests: tests/qtest/NAME for each test meson
    lists (the emulator is built already)."""
    listed = subprocess.run(
        ["meson", "test", "--list", "--no-rebuild", "--suite", SUITE],
        cwd=build_dir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = [short_name(line) for line in listed.splitlines() if f"{SUITE}/" in line]
    if not names:
        raise RunFailed(f"meson lists no {SUITE} tests in {build_dir}", excerpt=listed, check=CHECK)
    return [f"tests/qtest/{name}" for name in names]


def run_suite(build_dir: Path, label: str, progress: Progress, jobs: int) -> dict[str, str]:
    """Build what the suite needs and run it; the results by test name."""
    log = build_dir / f"peer-{label}.log"
    env = qemu_build.build_env(build_dir.parents[3])  # cache/qemu/NAME/src/build
    with progress.phase(f"{SUITE} on {label}: build"):
        buildlog.run(
            ["ninja", qemu_build.QEMU, *suite_targets(build_dir, env)],
            log,
            f"build for {SUITE} ({label})",
            qemu_build.ninja_progress(progress, f"{label} build"),
            cwd=build_dir,
            check="QEMU build",
            env=env,
        )
    missing = link_firmware(build_dir)
    if missing:
        raise UserError(
            f"the firmware packages {', '.join(missing)} are not installed; the peer "
            "check needs them on both builds (make qemu-peer installs them)"
        )
    logbase = f"peer-{label}"
    testlog = build_dir / "meson-logs" / f"{logbase}.json"
    testlog.unlink(missing_ok=True)
    # A failing test makes meson exit non-zero; the log says which.
    with progress.phase(f"{SUITE} on {label}: run"), contextlib.suppress(RunFailed):
        buildlog.run(
            [
                "meson",
                "test",
                "--no-rebuild",
                "--suite",
                SUITE,
                "--num-processes",
                str(jobs),
                "--logbase",
                logbase,
            ],
            log,
            f"{SUITE} ({label})",
            lambda line: progress.update(f"{label}: {line.strip()[:70]}"),
            cwd=build_dir,
            check="",
            env=env,
        )
    if not testlog.exists():
        raise RunFailed(
            f"meson test wrote no results for the {label} build", log_path=str(log), check=CHECK
        )
    return parse_testlog(testlog.read_text(), testlog)


def compare(cache: Path, progress: Progress, jobs: int) -> Comparison:
    """The suite on both builds (each built if missing); cached by both builds' keys."""
    built = qemu_build.build(cache, progress)
    plain_dir = qemu_build.build_plain(cache, progress)
    key = sha256_json(
        {
            "rig": built.key,
            "plain": plain_dir.parent.parent.name,
            "suite": SUITE,
            "recipe": RECIPE_VERSION,
        }
    )
    stored = cache / "qemu" / f"peer-{key[:16]}.json"
    if stored.exists():
        record = json.loads(stored.read_text())
        return Comparison(plain=record["plain"], rig=record["rig"])
    plain = run_suite(plain_dir, "plain", progress, jobs)
    rig = run_suite(built.binary.parent, "rig", progress, jobs)
    comparison = Comparison(plain=plain, rig=rig)
    stored.write_text(json.dumps({"plain": plain, "rig": rig}, indent=1, sort_keys=True))
    return comparison


def check(cache: Path | None = None, *, quiet: bool = False, jobs: int = 0) -> Comparison:
    """Run the comparison; a test the rig's build fails and the plain one passes is a
    RunFailed naming it."""
    progress = Progress(quiet=quiet)
    comparison = compare(cache or paths.cache_root(), progress, jobs or os.cpu_count() or 1)
    regressions = comparison.regressions()
    if regressions:
        raise RunFailed(
            f"the rig's QEMU fails {len(regressions)} of QEMU's own {SUITE} tests that "
            f"the same QEMU without its files and patches passes: {', '.join(regressions)}",
            excerpt=comparison.table(),
            check=CHECK,
        )
    return comparison
