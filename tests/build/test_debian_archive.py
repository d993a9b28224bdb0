"""Debian suites the host does not follow, read through a private apt configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from rig.build import debian_archive, source
from rig.errors import InfraError, UserError
from rig.run import settings

DEB822 = """Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


@pytest.fixture
def deb822(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "sources.list.d"
    folder.mkdir()
    (folder / "debian.sources").write_text(DEB822)
    (folder / "rig-deb-src.sources").write_text(DEB822.replace("Types: deb", "Types: deb-src"))
    return folder, tmp_path / "sources.list"


def test_mirrors_of_followed_and_unfollowed_suites(deb822: tuple[Path, Path]) -> None:
    assert debian_archive.mirror_for("bookworm", deb822) == "http://mirror.example/debian"
    security = debian_archive.mirror_for("bookworm-security", deb822)
    assert security == "http://mirror.example/debian-security"
    # Not followed by the host: the main archive's mirror, not the security one.
    assert debian_archive.mirror_for("sid", deb822) == "http://mirror.example/debian"
    assert debian_archive.mirror_for("trixie-security", deb822).endswith("debian-security")


def test_legacy_sources_list(tmp_path: Path) -> None:
    legacy = tmp_path / "sources.list"
    legacy.write_text(
        "# comment\ndeb [arch=amd64] http://old.example/debian bookworm main\n"
        "deb-src http://old.example/debian bookworm main\n"
    )
    sources = (tmp_path / "none", legacy)
    assert debian_archive.host_entries(sources) == [("http://old.example/debian", ["bookworm"])]
    assert debian_archive.mirror_for("sid", sources) == "http://old.example/debian"


def test_no_mirror_is_named(tmp_path: Path) -> None:
    with pytest.raises(InfraError) as caught:
        debian_archive.mirror_for("sid", (tmp_path / "none", tmp_path / "sources.list"))
    assert "'sid'" in caught.value.message


def test_private_configuration_stays_in_the_cache(tmp_path: Path) -> None:
    suite = debian_archive.Suite("sid", tmp_path)
    options = suite._options(check_valid_until=True)
    values = options[1::2]
    assert all(flag == "-o" for flag in options[::2])
    assert f"Dir::Etc::SourceList={tmp_path}/apt/sid/sources.list" in values
    assert "Dir::Etc::SourceParts=/dev/null" in values
    assert f"Dir::State::Lists={tmp_path}/apt/sid/lists" in values
    assert not any("Valid-Until" in value for value in values)
    relaxed = suite._options(check_valid_until=False)
    assert "Acquire::Check-Valid-Until=false" in relaxed


@pytest.mark.parametrize("name", ["debian:6.1", "debian:6.12", "debian:7.2"])
def test_known_kernels(name: str) -> None:
    assert source.debian_version(name) == name.split(":")[1]


@pytest.mark.parametrize("name", ["debian:5.10", "6.12", "linux:6.12", "debian:"])
def test_unknown_kernel_is_named_with_the_known_ones(name: str) -> None:
    with pytest.raises(UserError) as caught:
        settings.override(settings.Settings(), {"kernel": name})
    message = caught.value.message
    assert message.startswith("command line: ") and repr(name) in message
    assert "debian:6.1, debian:6.12, debian:7.2" in message


def test_the_mirror_command_names_its_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert debian_archive.main(["mirror"]) == 2
    assert "usage: python3 -m rig.build.debian_archive mirror SUITE" in capsys.readouterr().err
