"""The installer's test-only packages: listed and installed only with --tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rig.build import prereqs
from tests import locations


@pytest.fixture
def nothing_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    real_which = shutil.which

    def which(name: str) -> str | None:
        return None if name == "dpkg-query" else real_which(name)

    monkeypatch.setattr(shutil, "which", which)
    monkeypatch.setattr(prereqs, "find_busybox_deb", lambda: Path("busybox.deb"))


@pytest.mark.usefixtures("nothing_installed")
def test_chromium_only_with_tests_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert prereqs.main(["--check"]) == 2
    plain = capsys.readouterr().err
    assert "apt package ninja-build" in plain and "chromium" not in plain
    assert prereqs.main(["--check", "--tests"]) == 2
    with_tests = capsys.readouterr().err
    assert "apt package ninja-build" in with_tests
    assert "apt package chromium: headless browser for the report test" in with_tests


def test_test_packages_are_kept_apart_from_bench_packages() -> None:
    assert "chromium" in prereqs.TEST_APT_PACKAGES
    assert "chromium" not in prereqs.APT_PACKAGES
    assert set(prereqs.wanted_apt_packages(tests=True)) == set(prereqs.APT_PACKAGES) | set(
        prereqs.TEST_APT_PACKAGES
    )


def test_make_test_installs_the_test_packages() -> None:
    makefile = (locations.REPO / "Makefile").read_text()
    assert "\ntest: prereqs-test " in makefile
    assert "\nbench: prereqs " in makefile
    assert "$(PYTHON) -m rig.build.prereqs --tests" in makefile
