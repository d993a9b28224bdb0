"""The prerequisite list is complete: the rig's build steps run with a PATH that holds only
a new machine's commands and those of the packages rig.build.prereqs declares.

The fresh-root CI stage (.ci/fresh-root) proves the whole of `make bench` and `make test`
on a new machine; these tests catch a missing declaration on any machine, in a minute.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rig.build import guest, kbuild, kconfig, patch_apply, patches, prereqs, tools
from rig.build import source as src
from rig.errors import RunFailed
from rig.progress import Progress
from tests import declared_tools

needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="not a Debian host")


@functools.cache
def new_machine_commands() -> frozenset[str]:
    base = declared_tools.closure(declared_tools.new_machine_packages())
    return frozenset(declared_tools.executables(base))


@needs_dpkg
@pytest.mark.parametrize(
    ("package", "need"),
    sorted({**prereqs.APT_PACKAGES, **prereqs.TEST_APT_PACKAGES}.items()),
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_each_declared_command_comes_with_its_package(package: str, need: prereqs.Need) -> None:
    if prereqs.missing_apt_packages(tests=True):
        pytest.skip("declared packages not installed here (make prereqs-test)")
    provided = declared_tools.executables(declared_tools.closure({package}))
    assert set(need.commands) <= set(provided), f"{package} does not provide these here"


@needs_dpkg
def test_a_new_machine_lacks_what_the_issue_found_missing() -> None:
    """The model of a new machine is not everything this machine has."""
    assert "rsync" not in new_machine_commands()
    assert {"sh", "tar", "sed", "make", "gcc", "git", "python3"} <= new_machine_commands()


@pytest.fixture(scope="module")
def source_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache of its own, so Debian's tree is unpacked under the declared PATH too; shared
    by the tests here (one unpack, 1.3 GB) and removed after them."""
    cache = tmp_path_factory.mktemp("declared-tools-cache")
    yield cache
    shutil.rmtree(cache, ignore_errors=True)


def build_steps(source_cache: Path, build_cache: Path) -> Path:
    """What a cold `make bench` does before the first boot, through the rig's own code,
    except compiling the kernel (the fresh-root stage does that): unpack Debian's tree,
    check a patch, configure, headers_install, the guest image, tool versions."""
    source = src.resolve(None, source_cache)
    patch_apply.check_applies(patches.load("final"), source.tree)
    builder = kbuild.KernelBuilder(
        source,
        build_cache,
        kconfig.fragment_for(source.tree, build_cache),
        Progress(quiet=True),
        log_dir=build_cache / "logs",
    )
    builder.configure()
    headers = builder.headers()
    tools.toolchain_version.cache_clear()
    tools.toolchain_version()
    return guest.initramfs(source, headers, build_cache)


@pytest.mark.e2e
@needs_dpkg
def test_build_steps_need_only_declared_tools(
    source_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = declared_tools.path_folder(tmp_path / "bin", prereqs.APT_PACKAGES)
    monkeypatch.setenv("PATH", str(folder))
    image = build_steps(source_cache, tmp_path / "cache")
    assert image.stat().st_size > 500_000


@pytest.mark.e2e
@needs_dpkg
def test_an_undeclared_tool_is_caught(
    source_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check can fail: without rsync declared, headers_install fails as it did on a
    new machine."""
    declared = {name: need for name, need in prereqs.APT_PACKAGES.items() if name != "rsync"}
    folder = declared_tools.path_folder(tmp_path / "bin", declared)
    monkeypatch.setenv("PATH", str(folder))
    with pytest.raises(RunFailed) as caught:
        build_steps(source_cache, tmp_path / "cache")
    assert "headers_install failed" in caught.value.message
    assert "rsync: not found" in caught.value.excerpt
