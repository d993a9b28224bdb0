from __future__ import annotations

from pathlib import Path

import pytest

from rig import paths
from rig.build import kconfig
from rig.errors import RunFailed, UserError


def test_dropped_and_changed_options_are_named(tmp_path: Path) -> None:
    fragment = tmp_path / "frag.config"
    fragment.write_text("CONFIG_ARM_SMMU_V3=y\nCONFIG_DMA_MAP_BENCHMARK=y\nCONFIG_HZ=250\n")
    config = tmp_path / ".config"
    config.write_text(
        "CONFIG_ARM_SMMU_V3=y\n# CONFIG_DMA_MAP_BENCHMARK is not set\nCONFIG_HZ=100\n"
    )
    with pytest.raises(RunFailed) as caught:
        kconfig.verify(fragment, config)
    assert "CONFIG_DMA_MAP_BENCHMARK=y (got n)" in caught.value.excerpt
    assert "CONFIG_HZ=250 (got 100)" in caught.value.excerpt
    assert "CONFIG_ARM_SMMU_V3" not in caught.value.excerpt


def test_a_surviving_config_passes(tmp_path: Path) -> None:
    config = tmp_path / ".config"
    config.write_text(paths.CONFIG_FRAGMENT.read_text())
    kconfig.verify(paths.CONFIG_FRAGMENT, config)


def test_fragment_lines_are_checked(tmp_path: Path) -> None:
    fragment = tmp_path / "frag.config"
    fragment.write_text("CONFIG_OK=y\nARM_SMMU_V3\n")
    with pytest.raises(UserError) as caught:
        kconfig.read_fragment(fragment)
    assert "frag.config:2" in caught.value.message


def tree_with(tmp_path: Path, *options: str) -> Path:
    """A tree whose drivers/iommu/Kconfig defines ``options`` (as Linux's does)."""
    kconfig_file = tmp_path / "tree" / "drivers" / "iommu" / "Kconfig"
    kconfig_file.parent.mkdir(parents=True)
    kconfig_file.write_text(
        "config IOMMU_IO_PGTABLE_LPAE\n\tbool\n"
        + "".join(f'\nconfig {option}\n\tbool "test"\n' for option in options)
    )
    return tmp_path / "tree"


SELFTEST = "IOMMU_IO_PGTABLE_LPAE_SELFTEST"  # Linux 6.1, 6.12
KUNIT_TEST = "IOMMU_IO_PGTABLE_LPAE_KUNIT_TEST"  # later: the same tests under KUnit


@pytest.mark.parametrize(
    ("option", "piece"), [(SELFTEST, "lpae-selftest.config"), (KUNIT_TEST, "lpae-kunit.config")]
)
def test_the_fragment_takes_the_lpae_test_the_tree_offers(
    tmp_path: Path, option: str, piece: str
) -> None:
    tree = tree_with(tmp_path, option)
    wanted = f"CONFIG_{option}"
    assert kconfig.lpae_test_piece(tree) == paths.KERNEL_CONFIGS / piece
    fragment = kconfig.fragment_for(tree, tmp_path / "cache")
    options = kconfig.read_fragment(fragment)
    assert options[wanted] == "y" and options["CONFIG_ARM_SMMU"] == "y"
    assert fragment.parent == tmp_path / "cache" / "fragments"
    # Content-addressed: the same tree gives the same file, the other test another.
    assert kconfig.fragment_for(tree, tmp_path / "cache") == fragment


def test_the_two_lpae_test_forms_give_two_fragments(tmp_path: Path) -> None:
    old = kconfig.fragment_for(
        tree_with(tmp_path / "a", "IOMMU_IO_PGTABLE_LPAE_SELFTEST"), tmp_path
    )
    new = kconfig.fragment_for(
        tree_with(tmp_path / "b", "IOMMU_IO_PGTABLE_LPAE_KUNIT_TEST"), tmp_path
    )
    assert old != new and "CONFIG_KUNIT=y" in new.read_text()


def test_a_tree_without_an_lpae_test_is_named(tmp_path: Path) -> None:
    tree = tree_with(tmp_path)
    with pytest.raises(UserError) as caught:
        kconfig.fragment_for(tree, tmp_path / "cache")
    assert str(tree) in caught.value.message
    assert KUNIT_TEST in caught.value.message


def test_a_page_size_adds_its_piece_and_4k_adds_none(tmp_path: Path) -> None:
    tree = tree_with(tmp_path, "IOMMU_IO_PGTABLE_LPAE_SELFTEST")
    four = kconfig.fragment_for(tree, tmp_path / "cache")
    assert kconfig.fragment_for(tree, tmp_path / "cache", page_size=4096) == four
    sixteen = kconfig.fragment_for(tree, tmp_path / "cache", page_size=16384)
    sixty_four = kconfig.fragment_for(tree, tmp_path / "cache", page_size=65536)
    assert len({four, sixteen, sixty_four}) == 3  # three kernels, three cache keys
    assert kconfig.read_fragment(sixteen)["CONFIG_ARM64_16K_PAGES"] == "y"
    assert kconfig.read_fragment(sixty_four)["CONFIG_ARM64_64K_PAGES"] == "y"
    assert "PAGES" not in four.read_text()
