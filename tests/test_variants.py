from __future__ import annotations

import pytest

from rig import kbuild
from rig.errors import UserError
from rig.patches import AA_CONTROL, BASELINE


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
