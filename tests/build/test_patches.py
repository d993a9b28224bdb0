"""Patches against a small real tree with GNU patch: failing hunks named, tree untouched."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rig.build import patch_apply, patches
from rig.errors import UserError

ORIGINAL = "".join(f"line {n}\n" for n in range(1, 21))
GOOD = """--- a/src/file.c
+++ b/src/file.c
@@ -2,3 +2,3 @@
 line 2
-line 3
+line three
 line 4
"""
BAD = """--- a/src/file.c
+++ b/src/file.c
@@ -2,3 +2,3 @@
 line 2
-line 3
+line three
 line 4
@@ -15,3 +15,3 @@
 line 15
-line sixteen
+line 16 changed
 line 17
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "src").mkdir(parents=True)
    (root / "src" / "file.c").write_text(ORIGINAL)
    return root


def make_patch(tmp_path: Path, name: str, text: str) -> patches.Patch:
    path = tmp_path / f"{name}.patch"
    path.write_text(text)
    return patches.load(str(path))


def test_failing_hunk_is_named_and_tree_is_untouched(tmp_path: Path, tree: Path) -> None:
    bad = make_patch(tmp_path, "broken", BAD)
    with pytest.raises(UserError) as caught:
        patch_apply.check_applies(bad, tree)
    assert "broken" in caught.value.message
    assert "Hunk #2 FAILED" in caught.value.excerpt
    assert "-line sixteen" in caught.value.excerpt  # the hunk's own text
    assert "-line 3" not in caught.value.excerpt  # hunk 1 applied fine
    assert (tree / "src" / "file.c").read_text() == ORIGINAL


def test_a_series_is_reverted_last_first(tmp_path: Path, tree: Path) -> None:
    first = make_patch(tmp_path, "first", GOOD)
    second = make_patch(
        tmp_path,
        "second",
        GOOD.replace("-line 3\n+line three", "-line three\n+line THREE").replace(
            " line 2\n", " line 2\n", 1
        ),
    )
    with patch_apply.applied_series([first, second], tree, tmp_path):
        assert "line THREE" in (tree / "src" / "file.c").read_text()
        assert sorted(m.name for m in tmp_path.glob(f"{patch_apply.MARKER_PREFIX}*")) == [
            f"{patch_apply.MARKER_PREFIX}0",
            f"{patch_apply.MARKER_PREFIX}1",
        ]
    assert (tree / "src" / "file.c").read_text() == ORIGINAL
    assert not list(tmp_path.glob(f"{patch_apply.MARKER_PREFIX}*"))


def test_applied_is_reverted_even_on_error(tmp_path: Path, tree: Path) -> None:
    good = make_patch(tmp_path, "good", GOOD)
    marker = tmp_path / "marker"
    with pytest.raises(RuntimeError), patch_apply.applied(good, tree, marker):
        assert "line three" in (tree / "src" / "file.c").read_text()
        assert marker.exists()
        raise RuntimeError("build failed")
    assert (tree / "src" / "file.c").read_text() == ORIGINAL
    assert not marker.exists()


def test_repair_reverts_what_a_killed_run_left(tmp_path: Path, tree: Path) -> None:
    marker = tmp_path / f"{patch_apply.MARKER_PREFIX}0"
    # What a run killed inside patch_apply.applied() leaves: the patch in the tree and
    # its copy in the marker (the patch file itself may have changed since).
    marker.write_text(GOOD)
    subprocess.run(
        ["patch", "-p1", "-d", str(tree)], input=GOOD, text=True, check=True, capture_output=True
    )
    assert "line three" in (tree / "src" / "file.c").read_text()
    patch_apply.repair(tree, tmp_path)
    assert (tree / "src" / "file.c").read_text() == ORIGINAL
    assert not marker.exists()


def test_shipped_patches_are_known() -> None:
    assert {"final", "rfc"} <= set(patches.available())
    for name in ("final", "rfc"):
        assert patches.load(name).files == ["drivers/iommu/io-pgtable-arm.c"]


def test_unknown_patch_lists_the_known_ones() -> None:
    with pytest.raises(UserError) as caught:
        patches.load("fastest")
    assert "final" in caught.value.message and "rfc" in caught.value.message


# The tree after GOOD: a tree that already carries the change, as 6.12 carries the merged
# batched unmap.
CARRIED = ORIGINAL.replace("line 3\n", "line three\n")


@pytest.fixture
def carried(tmp_path: Path) -> Path:
    root = tmp_path / "carried"
    (root / "src").mkdir(parents=True)
    (root / "src" / "file.c").write_text(CARRIED)
    return root


def test_a_revert_is_applied_in_reverse_and_undone(tmp_path: Path, carried: Path) -> None:
    path = tmp_path / "change.patch"
    path.write_text(GOOD)
    revert = patches.load(f"revert:{path}")
    assert (revert.name, revert.reverse) == ("revert-change", True)
    marker = tmp_path / "marker"
    with patch_apply.applied(revert, carried, marker):
        assert (carried / "src" / "file.c").read_text() == ORIGINAL
    assert (carried / "src" / "file.c").read_text() == CARRIED
    assert not marker.exists()


def test_repair_undoes_a_revert_a_killed_run_left(tmp_path: Path, carried: Path) -> None:
    path = tmp_path / "change.patch"
    path.write_text(GOOD)
    revert = patches.load(f"revert:{path}")
    marker = tmp_path / f"{patch_apply.MARKER_PREFIX}0"
    with pytest.raises(KeyboardInterrupt), patch_apply.applied(revert, carried, marker):
        # A run killed outright leaves the revert applied and the marker behind.
        kept = marker.read_text()
        raise KeyboardInterrupt
    marker.write_text(kept)
    patch_apply.run_patch(path, carried, "-R")
    assert (carried / "src" / "file.c").read_text() == ORIGINAL
    patch_apply.repair(carried, tmp_path)
    assert (carried / "src" / "file.c").read_text() == CARRIED
    assert not marker.exists()


def test_a_forward_patch_the_tree_already_carries_names_the_fix(
    tmp_path: Path, carried: Path
) -> None:
    forward = make_patch(tmp_path, "merged", GOOD)
    with pytest.raises(UserError) as caught:
        patch_apply.check_applies(forward, carried)
    message = caught.value.message
    assert "is already in carried" in message and "applies in reverse" in message
    assert f"--patch revert:{forward.path}" in message
    assert "FAILED" not in caught.value.excerpt
    assert (carried / "src" / "file.c").read_text() == CARRIED


def test_a_revert_of_a_change_the_tree_lacks_names_the_fix(tmp_path: Path, tree: Path) -> None:
    path = tmp_path / "change.patch"
    path.write_text(GOOD)
    with pytest.raises(UserError) as caught:
        patch_apply.check_applies(patches.load(f"revert:{path}"), tree)
    assert "does not carry this change" in caught.value.message
    assert f"--patch {path}" in caught.value.message
    assert (tree / "src" / "file.c").read_text() == ORIGINAL


def test_revert_labels(tmp_path: Path) -> None:
    path = tmp_path / "v6.12-revert.patch"
    path.write_text(GOOD)
    assert patches.load(f"revert:{path}").name == "v6-12-revert"
    assert patches.load(f"upstream={path}").reverse is False
    labelled = patches.load(f"without=revert:{path}")
    assert (labelled.name, labelled.reverse) == ("without", True)
    shipped = patches.load_series("revert:final")
    assert (shipped.label, shipped.patches[0].reverse) == ("revert-final", True)
    assert not shipped.derived_label
