from __future__ import annotations

from pathlib import Path

import pytest

from rig import kconfig, paths
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
