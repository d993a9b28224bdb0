"""Install what the rig needs from Debian, or say exactly what is missing.

Runs with the system Python before the virtualenv exists, so: standard library only.
Usage: ``python3 -m rig.build.prereqs [--check] [--tests]``. ``--tests`` adds what only the
test suite needs. Exit 0 when everything is present, 2 when something is missing and
cannot be installed here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from rig.paths import cache_root


@dataclass(frozen=True)
class Need:
    why: str
    # The package's commands that the rig, or a build it runs, executes. Read off an
    # execve trace of a cold `make bench` and QEMU build; tests/build/test_declared_tools.py
    # runs the rig's build steps with a PATH that holds only these and a new machine's.
    commands: tuple[str, ...] = ()


# Host packages beyond a new machine's (Debian minbase, python3, python3-venv,
# python3-pip, git, make, gcc), and why each is needed. Installed without Recommends.
APT_PACKAGES: dict[str, Need] = {
    "gcc-aarch64-linux-gnu": Need(
        "cross compiler for the kernel and the guest tool",
        ("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-ld", "aarch64-linux-gnu-ar"),
    ),
    "libc6-dev-arm64-cross": Need("static libc for the guest's dma_map_benchmark"),
    "linux-source-6.1": Need("the default kernel tree"),
    "flex": Need("kernel build: kconfig's lexer", ("flex",)),
    "bison": Need("kernel build: kconfig's parser", ("bison",)),
    "bc": Need("kernel build: kernel/time/timeconst.h", ("bc",)),
    "rsync": Need("the kernel's headers_install", ("rsync",)),
    "xz-utils": Need("unpacking the kernel source tarball", ("xz",)),
    "make": Need("the kernel build", ("make",)),
    "gcc": Need("host tools (kconfig, fixdep, gen_init_cpio)", ("cc",)),
    "patch": Need("applying kernel and QEMU patches", ("patch",)),
    "python3-venv": Need("the rig's virtualenv"),
    # Building QEMU with the MMU-500 model (qemu/) from Debian's source; meson comes
    # from the virtualenv (requirements.lock), Debian 12's is too old for QEMU 10.
    "dpkg-dev": Need("dpkg-source, to unpack Debian's QEMU source", ("dpkg-source",)),
    "ninja-build": Need("QEMU's build system", ("ninja",)),
    "ccache": Need(
        "QEMU's compiler through a cache: a second build of the same source (the upstream "
        "series alone, the plain peer build, an edited model) compiles only what differs",
        ("ccache",),
    ),
    "libglib2.0-dev": Need("QEMU build dependency"),
    "libfdt-dev": Need("QEMU build dependency"),
    "zlib1g-dev": Need("QEMU build dependency"),
    "pkg-config": Need("QEMU build dependency", ("pkg-config",)),
}
# Only the tests need these (make test); a bench run never does.
TEST_APT_PACKAGES: dict[str, Need] = {
    "chromium": Need("headless browser for the report test", ("chromium",)),
    "shellcheck": Need("lint of the shell scripts (CI, the guest's /init)", ("shellcheck",)),
    # QEMU's own qtests, the model's peer check (rig.build.qemu_peer): the firmware the
    # suite's machines load, which Debian's QEMU source tarball leaves out.
    "ipxe-qemu": Need("network boot ROMs for QEMU's qtests"),
    "qemu-efi-aarch64": Need("UEFI firmware for QEMU's aarch64 qtests"),
    "qemu-system-data": Need("QEMU's data files (keymaps, VGA BIOS) for its qtests"),
}
BUSYBOX_PACKAGE = "busybox-static:arm64"


def busybox_deb_dir() -> Path:
    return cache_root() / "debs"


def find_busybox_deb() -> Path | None:
    found = sorted(busybox_deb_dir().glob("busybox-static_*_arm64.deb"))
    return found[-1] if found else None


def wanted_apt_packages(tests: bool = False) -> dict[str, Need]:
    return {**APT_PACKAGES, **TEST_APT_PACKAGES} if tests else dict(APT_PACKAGES)


def is_installed(package: str) -> bool:
    """Whether dpkg has ``package`` installed (False where there is no dpkg)."""
    if shutil.which("dpkg-query") is None:
        return False
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Status}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() == "installed"


def missing_apt_packages(tests: bool = False) -> list[str]:
    return [name for name in wanted_apt_packages(tests) if not is_installed(name)]


def can_install() -> tuple[bool, str]:
    if not Path("/etc/debian_version").exists() or shutil.which("apt-get") is None:
        return False, "this is not a Debian system with apt-get"
    if os.geteuid() != 0:
        return False, "installing needs root (run as root, or install the list above yourself)"
    return True, ""


def run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(cmd, check=True, env=env)


def install(apt_missing: list[str], need_busybox: bool) -> None:
    updated = False
    if apt_missing:
        run(["apt-get", "update", "-q"])
        updated = True
    if apt_missing:
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *apt_missing])
    if need_busybox:
        arches = subprocess.run(
            ["dpkg", "--print-foreign-architectures"], capture_output=True, text=True, check=True
        ).stdout.split()
        if "arm64" not in arches:
            run(["dpkg", "--add-architecture", "arm64"])
            updated = False
        if not updated:
            run(["apt-get", "update", "-q"])
        target = busybox_deb_dir()
        target.mkdir(parents=True, exist_ok=True)
        print(f"+ (cd {target} && apt-get download {BUSYBOX_PACKAGE})", flush=True)
        subprocess.run(["apt-get", "download", "-q", BUSYBOX_PACKAGE], cwd=target, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m rig.build.prereqs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report, never install")
    parser.add_argument("--tests", action="store_true", help="also what the tests need (make test)")
    args = parser.parse_args(argv)

    wanted_apt = wanted_apt_packages(args.tests)
    apt_missing = missing_apt_packages(args.tests)
    need_busybox = find_busybox_deb() is None
    if not apt_missing and not need_busybox:
        print("prereqs: all host packages present")
        return 0

    wanted = [f"  apt package {name}: {wanted_apt[name].why}" for name in apt_missing]
    if need_busybox:
        wanted.append(
            f"  {BUSYBOX_PACKAGE} (.deb downloaded into {busybox_deb_dir()}): the guest's userland"
        )
    ok, why = can_install()
    if args.check or not ok:
        print("prereqs: missing:\n" + "\n".join(wanted), file=sys.stderr)
        if not args.check:
            print(f"prereqs: cannot install: {why}", file=sys.stderr)
        return 2
    print("prereqs: installing:\n" + "\n".join(wanted), flush=True)
    try:
        install(apt_missing, need_busybox)
    except subprocess.CalledProcessError as err:
        print(
            f"prereqs: install step failed ({err}); still missing:\n" + "\n".join(wanted),
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
