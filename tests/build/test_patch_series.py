"""A variant as a series of patches: how it is written, checked, applied and recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rig.build import kbuild, patch_apply, patches
from rig.build.source import KernelSource
from rig.errors import UserError
from rig.report import html_report, run_reader
from rig.run import settings
from tests import locations
from tests.build.test_patches import CARRIED, GOOD, ORIGINAL

# On top of GOOD: changes the line GOOD wrote, so it applies only after GOOD.
SECOND = """--- a/src/file.c
+++ b/src/file.c
@@ -2,3 +2,3 @@
 line 2
-line three
+line THREE
 line 4
"""
# A second file, created by the patch.
NEW_FILE = """--- /dev/null
+++ b/src/new.c
@@ -0,0 +1 @@
+int added;
"""
KERNEL_PATCHES = locations.REPO / "kernel-patches"
TEST_PATCHES = locations.TEST_PATCHES


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small real tree: src/file.c as the patches expect it."""
    root = tmp_path / "tree"
    (root / "src").mkdir(parents=True)
    (root / "src" / "file.c").write_text(ORIGINAL)
    return root


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_a_series_is_written_with_plus_and_labelled_from_its_parts(tmp_path: Path) -> None:
    first = write(tmp_path, "0001-Clear-in-one-go.patch", GOOD)
    second = write(tmp_path, "0002-Shout.patch", SECOND)
    series = patches.load_series(f"{first}+{second}")
    assert [p.path for p in series.patches] == [first, second]
    assert series.label == "clear-in-one-go-shout" and series.derived_label
    named = patches.load_series(f"v2={first}+revert:{second}")
    assert (named.label, named.derived_label) == ("v2", False)
    assert [p.reverse for p in named.patches] == [False, True]
    assert named.patches[1].name == "revert-shout"


def test_a_file_whose_name_has_a_plus_is_one_patch(tmp_path: Path) -> None:
    odd = write(tmp_path, "c++-fix.patch", GOOD)
    series = patches.load_series(str(odd))
    assert [p.path for p in series.patches] == [odd]


@pytest.mark.parametrize("spec", ["final+", "+final", "final++rfc"])
def test_an_empty_part_is_named(spec: str) -> None:
    with pytest.raises(UserError) as caught:
        patches.load_series(spec)
    assert repr(spec) in caught.value.message and "empty part" in caught.value.message


def test_an_unknown_part_is_named_with_its_series() -> None:
    with pytest.raises(UserError) as caught:
        patches.load_series("final+no-such-fix")
    assert "'no-such-fix' in 'final+no-such-fix'" in caught.value.message


def test_a_series_is_checked_each_on_top_of_the_ones_before(tmp_path: Path, tree: Path) -> None:
    first = patches.load(str(write(tmp_path, "first.patch", GOOD)))
    second = patches.load(str(write(tmp_path, "second.patch", SECOND)))
    added = patches.load(str(write(tmp_path, "added.patch", NEW_FILE)))
    before = (tree / "src" / "file.c").stat().st_mtime_ns
    patch_apply.check_series([first, second, added], tree)
    # The check never touched the tree: no rebuild of what it names.
    assert (tree / "src" / "file.c").stat().st_mtime_ns == before
    assert (tree / "src" / "file.c").read_text() == ORIGINAL
    assert not (tree / "src" / "new.c").exists()
    with pytest.raises(UserError):  # the second alone does not apply to the tree
        patch_apply.check_applies(second, tree)


def test_a_part_that_fails_on_top_of_the_others_is_named(tmp_path: Path, tree: Path) -> None:
    first = patches.load(str(write(tmp_path, "first.patch", GOOD)))
    second = patches.load(str(write(tmp_path, "second.patch", SECOND)))
    with pytest.raises(UserError) as caught:
        patch_apply.check_series([second, first], tree)
    message = caught.value.message
    assert "patch second (second.patch) does not apply to tree" in message
    assert "Hunk #1 FAILED" in caught.value.excerpt
    with pytest.raises(UserError) as caught:
        patch_apply.check_series([first, first], tree)
    assert "already in tree with first.patch applied" in caught.value.message
    assert (tree / "src" / "file.c").read_text() == ORIGINAL


def test_a_series_of_reverts_on_a_tree_that_carries_both(tmp_path: Path) -> None:
    carried = tmp_path / "carried"
    (carried / "src").mkdir(parents=True)
    (carried / "src" / "file.c").write_text(CARRIED.replace("line three", "line THREE"))
    first = write(tmp_path, "first.patch", GOOD)
    second = write(tmp_path, "second.patch", SECOND)
    # Reverted last change first, as `git revert` of a series would.
    series = patches.load_series(f"revert:{second}+revert:{first}").patches
    patch_apply.check_series(series, carried)
    with patch_apply.applied_series(list(series), carried, tmp_path):
        assert (carried / "src" / "file.c").read_text() == ORIGINAL
    assert "line THREE" in (carried / "src" / "file.c").read_text()


def test_the_order_of_a_series_is_part_of_the_kernel_key(tmp_path: Path) -> None:
    first = write(tmp_path, "first.patch", GOOD)
    second = write(tmp_path, "second.patch", SECOND)
    _, forward, backward = kbuild.variants_for([f"s={first}+{second}", f"t={second}+{first}"])
    assert forward.patch_sha256 != backward.patch_sha256
    (_, single) = kbuild.variants_for([str(first)])
    assert single.patch_sha256 == patches.load(str(first)).sha256  # sha256sum of the file
    source = KernelSource(tree=tmp_path, kernel_version="6.1.0", identity={"kind": "test"})
    fragment = KERNEL_PATCHES.parent / "kernel-configs" / "smmu-rig.config"
    relabelled = kbuild.Variant("s", backward.patches, ())
    keys = {kbuild.kernel_key(source, fragment, v) for v in (forward, relabelled)}
    assert len(keys) == 2


def test_a_shipped_name_and_a_path_in_one_series() -> None:
    series = patches.load_series(f"rfc+{TEST_PATCHES / 'rfc-to-final.patch'}")
    assert series.label == "rfc-rfc-to-final"
    assert [p.path.name for p in series.patches] == ["rfc.patch", "rfc-to-final.patch"]


def test_yaml_lists_a_series_as_a_list(tmp_path: Path) -> None:
    config = write(tmp_path, "bench.yaml", "patches: [final, [rfc, revert:final], v2=rfc+final]\n")
    assert settings.load(config).patches == ("final", "rfc+revert:final", "v2=rfc+final")
    bad = write(tmp_path, "bad.yaml", "patches: [final, [rfc, 3]]\n")
    with pytest.raises(UserError) as caught:
        settings.load(bad)
    assert f"{bad}: key 'patches'[1]" in caught.value.message
    assert "not a series" in caught.value.message


def test_reports_read_a_series_from_run_json_and_the_old_single_patch() -> None:
    frame = pd.DataFrame({"variant": ["baseline", "without", "baseline", "without"]})
    both = [{"file": "b.patch", "reverse": True}, {"file": "a.patch", "reverse": True}]

    def run_info(listed: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "variants": [
                {"name": "baseline", "patches": []},
                {"name": "without", "patches": listed},
            ]
        }

    marked = run_reader.mark_reference(frame, run_info(both))
    assert list(marked["reference"]) == [False, True, False, True]
    mixed = [{"file": "b.patch", "reverse": True}, {"file": "new.patch", "reverse": False}]
    assert "reference" not in run_reader.mark_reference(frame, run_info(mixed))
    legacy = {"variants": [{"name": "without", "patch": {"file": "x.patch", "reverse": True}}]}
    assert "reference" in run_reader.mark_reference(frame, legacy)
    cell = html_report._patches_cell({"patches": mixed})
    assert cell == "revert:b.patch + new.patch"
    assert html_report._patches_cell({"patch": None}) == "none (the tree as it is)"


def test_kernel_meta_records_the_series(tmp_path: Path) -> None:
    """What kbuild stores beside a cached Image names every patch in order."""
    first = write(tmp_path, "first.patch", GOOD)
    second = write(tmp_path, "second.patch", SECOND)
    (_, variant) = kbuild.variants_for([f"{first}+revert:{second}"])
    assert [p.record() for p in variant.patches] == [
        {"file": "first.patch", "sha256": patches.load(str(first)).sha256, "reverse": False},
        {"file": "second.patch", "sha256": patches.load(str(second)).sha256, "reverse": True},
    ]
