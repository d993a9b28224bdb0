from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rig.build import kbuild, patches
from rig.build.patches import AA_CONTROL, BASELINE
from rig.build.source import KernelSource
from rig.errors import UserError
from tests import locations


def test_default_variants_are_baseline_then_patches() -> None:
    names = [v.name for v in kbuild.variants_for(["rfc", "final"])]
    assert names == [BASELINE, "rfc", "final"]


def test_none_is_an_aa_run_of_two_unpatched_builds() -> None:
    baseline, control = kbuild.variants_for(["none"])
    assert (baseline.name, control.name) == (BASELINE, AA_CONTROL)
    assert baseline.series == [] and control.series == []


def test_none_cannot_be_mixed() -> None:
    with pytest.raises(UserError):
        kbuild.variants_for(["none", "final"])


def test_duplicate_variant_is_refused() -> None:
    with pytest.raises(UserError) as caught:
        kbuild.variants_for(["final", "final"])
    assert "already in the run" in caught.value.message


def test_profile_support_patches_go_into_every_variant() -> None:
    variants = kbuild.variants_for(["final"], ("force-page-size",))
    assert [[p.name for p in v.series] for v in variants] == [
        ["force-page-size"],
        ["force-page-size", "final"],
    ]


def test_unknown_support_patch() -> None:
    with pytest.raises(UserError) as caught:
        kbuild.variants_for(["final"], ("no-such-support",))
    assert "force-page-size" in caught.value.message


FINAL = locations.REPO / "kernel-patches" / "final.patch"


@pytest.mark.parametrize(
    ("file_name", "label"),
    [
        (
            "0001-iommu-io-pgtable-arm-Optimise-non-coherent-unmap.patch",
            "iommu-io-pgtable-arm-optimise",
        ),
        ("v6.12-revert.patch", "v6-12-revert"),
        ("My_Fix.diff", "my-fix"),
        ("final.patch", "final"),
        ("baseline.patch", "baseline-patch"),
        ("none.patch", "none-patch"),
        ("0002-.patch", "patch"),
        ("x" * 50 + ".patch", "x" * 32),
    ],
)
def test_label_from_any_file_name(file_name: str, label: str) -> None:
    derived = patches.label_from_file_name(file_name)
    assert derived == label
    assert patches.check_label(derived, file_name) == derived


def test_format_patch_names_and_dotted_names_run(tmp_path: Path) -> None:
    upstream = tmp_path / "0001-iommu-io-pgtable-arm-Optimise-non-coherent-unmap.patch"
    dotted = tmp_path / "v6.12-revert.patch"
    for path in (upstream, dotted):
        shutil.copy(FINAL, path)
    names = [v.name for v in kbuild.variants_for([str(upstream), str(dotted)])]
    assert names == [BASELINE, "iommu-io-pgtable-arm-optimise", "v6-12-revert"]


def test_explicit_label(tmp_path: Path) -> None:
    path = tmp_path / "0001-Some-Upstream-Name.patch"
    shutil.copy(FINAL, path)
    (_, variant) = kbuild.variants_for([f"upstream={path}"])
    assert variant.name == "upstream"
    assert [p.path for p in variant.patches] == [path]


@pytest.mark.parametrize("label", ["Upstream", "has space", "baseline", "none", "x" * 41, "-lead"])
def test_bad_explicit_label_is_named(tmp_path: Path, label: str) -> None:
    path = tmp_path / "fix.patch"
    shutil.copy(FINAL, path)
    with pytest.raises(UserError) as caught:
        kbuild.variants_for([f"{label}={path}"])
    assert repr(label) in caught.value.message
    assert "lower-case letters, digits and '-'" in caught.value.message


def test_derived_labels_stay_unique_in_a_run(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "final.patch", tmp_path / "b" / "final.patch"
    for path in (first, second):
        shutil.copy(FINAL, path)
    names = [v.name for v in kbuild.variants_for(["final", str(first), str(second)])]
    assert names == [BASELINE, "final", "final-2", "final-3"]


def test_a_chosen_label_that_is_taken_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.patch"
    shutil.copy(FINAL, path)
    with pytest.raises(UserError) as caught:
        kbuild.variants_for(["final", f"final={path}"])
    assert "already in the run" in caught.value.message and "LABEL=PATH" in caught.value.message


def test_a_missing_path_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "gone.patch"
    with pytest.raises(UserError) as caught:
        kbuild.variants_for([f"mine={missing}"])
    assert str(missing) in caught.value.message


def test_the_label_is_part_of_the_kernel_key(tmp_path: Path) -> None:
    path = tmp_path / "copy.patch"
    shutil.copy(FINAL, path)
    (_, shipped), (_, relabelled) = (
        kbuild.variants_for(["final"]),
        kbuild.variants_for([f"other={path}"]),
    )
    assert shipped.patch_sha256 == relabelled.patch_sha256 is not None
    source = KernelSource(tree=tmp_path, kernel_version="6.1.0", identity={"kind": "test"})
    fragment = locations.REPO / "kernel-configs" / "smmu-rig.config"
    keys = {kbuild.kernel_key(source, fragment, v) for v in (shipped, relabelled)}
    assert len(keys) == 2
