"""Bad profiles and bad sweep settings: a message naming file, key and value, and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from rig import paths
from rig.boot import profile as prof
from rig.cli import main
from rig.errors import EXIT_BAD_INPUT, UserError
from rig.run import settings

GOOD_PROFILE = (paths.QEMU_CONFIGS / "smmuv3-noncoherent.yaml").read_text()


def write_profile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "custom.yaml"
    path.write_text(text)
    return path


def test_shipped_profiles_load() -> None:
    for name in prof.available_profiles():
        loaded = prof.load_profile(name)
        assert loaded.name == name
    assert {"smmuv3-noncoherent", "smmuv3-coherent"} <= set(prof.available_profiles())


def test_profile_is_frozen() -> None:
    loaded = prof.load_profile("smmuv3-coherent")
    with pytest.raises(AttributeError):
        loaded.walk = "noncoherent"  # type: ignore[misc]


def test_unknown_profile_key_names_file_and_allowed_keys(tmp_path: Path) -> None:
    path = write_profile(tmp_path, GOOD_PROFILE + "dma_coherent: false\n")
    with pytest.raises(UserError) as caught:
        prof.load_profile_file(path)
    assert str(path) in caught.value.message
    assert "'dma_coherent'" in caught.value.message
    assert "walk" in caught.value.message  # the allowed keys are listed


def test_wrong_type_names_key_and_value(tmp_path: Path) -> None:
    path = write_profile(tmp_path, GOOD_PROFILE.replace("memory_mb: 1024", "memory_mb: lots"))
    with pytest.raises(UserError) as caught:
        prof.load_profile_file(path)
    assert "'memory_mb'" in caught.value.message
    assert "'lots'" in caught.value.message
    assert "an integer" in caught.value.message


def test_bad_choice_lists_the_allowed_values(tmp_path: Path) -> None:
    path = write_profile(tmp_path, GOOD_PROFILE.replace("walk: noncoherent", "walk: sometimes"))
    with pytest.raises(UserError) as caught:
        prof.load_profile_file(path)
    assert "'coherent'" in caught.value.message and "'noncoherent'" in caught.value.message


def test_missing_key(tmp_path: Path) -> None:
    text = "\n".join(line for line in GOOD_PROFILE.splitlines() if not line.startswith("cpu:"))
    with pytest.raises(UserError) as caught:
        prof.load_profile_file(write_profile(tmp_path, text))
    assert "'cpu' is missing" in caught.value.message


def test_broken_yaml(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        prof.load_profile_file(write_profile(tmp_path, "machine: [virt\n"))
    assert "not valid YAML" in caught.value.message


def test_unknown_profile_lists_known_ones() -> None:
    with pytest.raises(UserError) as caught:
        prof.load_profile("smmuv9")
    assert "smmuv3-noncoherent" in caught.value.message


def test_default_settings_file_is_valid() -> None:
    loaded = settings.load(paths.DEFAULT_BENCH_CONFIG)
    assert loaded.profile == "mmu500-noncoherent"
    assert loaded.patches == ("final",)
    assert [s // 1024 for s in loaded.size_bytes] == [4, 64, 128, 256, 512, 1024, 2048, 4096]


def test_sizes_below_a_page_are_left_out() -> None:
    chosen = settings.override(settings.load(paths.DEFAULT_BENCH_CONFIG), {"page_size": "64K"})
    assert chosen.page_size_bytes == 65536
    assert [s // 1024 for s in chosen.size_bytes] == [64, 128, 256, 512, 1024, 2048, 4096]
    assert chosen.sizes_below_page == (4096,)


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("seconds: 0", "seconds=0 is out of range"),
        ("dma_bits: 16", "dma_bits=16 is out of range"),
        ("repeat: many", "'repeat'"),
        ("sizes: [4K, 5K]", "'5K' is out of range"),
        ("direction: SIDEWAYS", "'SIDEWAYS' is not allowed"),
        ("turbo: true", "unknown key 'turbo'"),
        ("mode: fast", "mode='fast' is unknown"),
        ("page_size: 8K", "'8K' is not a kernel page size; expected one of 4K, 16K, 64K"),
        ("page_size: 16K\nsizes: [4K, 8K]", "every size is below one 16K page"),
        ("page_size: 64K\nsizes: [64K, 96K]", "sizes 96K are not whole 64K pages"),
    ],
)
def test_bad_settings(tmp_path: Path, line: str, fragment: str) -> None:
    path = tmp_path / "bench.yaml"
    path.write_text(line + "\n")
    with pytest.raises(UserError) as caught:
        settings.load(path)
    assert fragment in caught.value.message
    assert str(path) in caught.value.message


@pytest.mark.parametrize(
    "args",
    [
        ["bench", "--dry-run", "--sizes", "4K,8M"],
        ["bench", "--dry-run", "--profile", "nope"],
        ["bench", "--dry-run", "--patch", "nope"],
        ["bench", "--dry-run", "--mode", "turbo"],
        ["bench", "--dry-run", "--repeat", "0"],
        ["bench", "--dry-run", "--page-size", "32K"],
    ],
)
def test_cli_bad_input_exits_2_and_writes_nothing(
    tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"
    assert main([*args, "--out", str(out)]) == EXIT_BAD_INPUT
    assert "error:" in capsys.readouterr().err
    assert not out.exists()


def test_cli_bad_config_file_exits_2_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "sweep.yaml"
    config.write_text((paths.DEFAULT_BENCH_CONFIG).read_text() + "warp_speed: 9\n")
    out = tmp_path / "results"
    assert main(["bench", "--config", str(config), "--out", str(out)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert str(config) in err and "'warp_speed'" in err
    assert not out.exists()
