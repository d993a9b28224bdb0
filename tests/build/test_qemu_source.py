"""Which QEMU source the rig builds: Debian's newest fetchable, or the user's tree."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import ClassVar

import pytest

from rig.build import debian_archive, qemu_build, qemu_source
from rig.errors import InfraError, UserError


@pytest.mark.parametrize(
    ("debian", "upstream"),
    [("1:10.2.2+ds-1", "10.2.2"), ("1:11.1.3+ds-1", "11.1.3"), ("1:7.2+dfsg-7+deb12u18", "7.2")],
)
def test_upstream_version(debian: str, upstream: str) -> None:
    assert qemu_source.upstream_version(debian) == upstream


def test_versions_sort_as_debian_sorts_them() -> None:
    listed = ["1:10.2.2+ds-1", "1:11.1.3+ds-1", "1:11.1.2+ds-3", "1:7.2+dfsg-7"]
    ordered = sorted(
        listed, key=debian_archive.version_key, reverse=True
    )  # dpkg's order, not string order
    assert ordered == ["1:11.1.3+ds-1", "1:11.1.2+ds-3", "1:10.2.2+ds-1", "1:7.2+dfsg-7"]


class Archive:
    """Debian's archive as the mirror here serves it: sid lists 11.1.x, serves 10.2.2."""

    served: ClassVar[tuple[str, ...]] = ("1:10.2.2+ds-1",)
    fetched: ClassVar[list[str]] = []

    def __init__(self, suite: str, cache: Path) -> None:
        self.suite = suite

    def source_versions(self, package: str) -> list[str]:
        return ["1:11.1.3+ds-1", "1:11.1.2+ds-3", "1:10.2.2+ds-1", "1:7.2+dfsg-7"]

    def fetch_source(self, package: str, version: str, dest: Path) -> Path | None:
        self.fetched.append(version)
        if version not in self.served:
            return None
        dest.mkdir(parents=True, exist_ok=True)
        dsc = dest / f"{package}_{version.split(':', 1)[1]}.dsc"
        dsc.write_text("Format: 3.0 (quilt)\n")
        return dsc


def test_the_newest_version_the_mirror_serves_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(debian_archive, "Suite", Archive)
    Archive.fetched = []
    source = qemu_source.from_debian(tmp_path)
    assert Archive.fetched == ["1:11.1.3+ds-1", "1:11.1.2+ds-3", "1:10.2.2+ds-1"]
    assert source.version == "10.2.2"
    assert source.identity["version"] == "10.2.2+ds-1"
    assert "lists qemu 1:11.1.3+ds-1 but the mirror does not serve" in capsys.readouterr().err
    # Downloaded once: a second resolve asks the archive nothing.
    Archive.fetched = []
    assert qemu_source.from_debian(tmp_path).dsc == source.dsc
    assert Archive.fetched == []


def test_nothing_new_enough_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(debian_archive, "Suite", Archive)
    monkeypatch.setattr(Archive, "served", ("1:7.2+dfsg-7",))
    with pytest.raises(InfraError) as caught:
        qemu_source.from_debian(tmp_path)
    message = caught.value.message
    assert "no qemu source of version 10.2 or newer" in message and "--qemu-src" in message
    assert "1:7.2" not in message  # too old to be tried at all


def qemu_tree(root: Path, version: str = "10.2.50") -> Path:
    root.mkdir()
    (root / "configure").write_text("#!/bin/sh\n")
    (root / "VERSION").write_text(version + "\n")
    (root / "hw").mkdir()
    (root / "hw" / "file.c").write_text("int x;\n")
    return root


def test_a_folder_that_is_not_qemu_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        qemu_source.from_tree(tmp_path)
    assert str(tmp_path) in caught.value.message and "configure" in caught.value.message


def test_a_qemu_too_old_for_the_model_is_refused(tmp_path: Path) -> None:
    tree = qemu_tree(tmp_path / "old", "9.2.0")
    with pytest.raises(UserError) as caught:
        qemu_source.from_tree(tree)
    assert "QEMU 9.2.0 is older than 10.2" in caught.value.message


def test_a_plain_tree_is_copied_and_keyed_by_what_it_holds(tmp_path: Path) -> None:
    tree = qemu_tree(tmp_path / "qemu")
    (tree / "build").mkdir()
    (tree / "build" / "big.o").write_text("object")
    first = qemu_source.from_tree(tree)
    assert first.identity["kind"] == "tree" and first.version == "10.2.50"
    first.unpack(tmp_path / "copy")
    assert (tmp_path / "copy" / "hw" / "file.c").read_text() == "int x;\n"
    assert not (tmp_path / "copy" / "build").exists()
    (tree / "hw" / "file.c").write_text("int y;\n")
    assert qemu_source.from_tree(tree).identity != first.identity
    assert qemu_build.build_key(qemu_source.from_tree(tree)) != qemu_build.build_key(first)


def test_a_git_tree_is_built_at_its_head_and_never_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = qemu_tree(tmp_path / "qemu")

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(tree), "-c", "user.email=t@t", "-c", "user.name=t", *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "base")
    head = git("rev-parse", "HEAD")
    (tree / "hw" / "file.c").write_text("int uncommitted;\n")
    source = qemu_source.from_tree(tree)
    assert source.identity["commit"] == head and source.commit == head
    assert "uncommitted changes" in capsys.readouterr().err
    source.unpack(tmp_path / "export")
    assert (tmp_path / "export" / "hw" / "file.c").read_text() == "int x;\n"
    assert git("status", "--porcelain") == "M hw/file.c"
