"""The dma_map_benchmark output parser, on real captured output."""

from __future__ import annotations

from pathlib import Path

import pytest

from rig.boot import benchmark
from rig.errors import RunFailed


def test_parses_linux_6_1_output(data_dir: Path) -> None:
    result = benchmark.parse((data_dir / "bench-6.1-granule16.txt").read_text())
    assert result.granule == 16
    assert result.threads == 1
    assert result.direction == "BIDIRECTIONAL"
    assert result.map_mode is None
    assert (result.map_us, result.map_stddev_us) == (20.5, 2.7)
    assert (result.unmap_us, result.unmap_stddev_us) == (64.0, 5.3)


def test_parses_newer_output_with_map_mode_line(data_dir: Path) -> None:
    result = benchmark.parse((data_dir / "bench-map-mode-header.txt").read_text())
    assert result.map_mode == "DMA_MAP_BENCH_SINGLE_MODE"
    assert result.granule == 256
    assert result.unmap_us == 597.1


def test_tolerates_carriage_returns_and_surrounding_noise(data_dir: Path) -> None:
    text = (data_dir / "bench-6.1-granule16.txt").read_text().replace("\n", "\r\n")
    result = benchmark.parse("some earlier line\r\n" + text + "rig# ")
    assert result.unmap_us == 64.0


def test_error_output_is_a_failure_with_the_text() -> None:
    with pytest.raises(RunFailed) as caught:
        benchmark.parse("ioctl: Invalid argument\n")
    assert "ioctl: Invalid argument" in caught.value.excerpt


def test_command_line_uses_granule_in_pages() -> None:
    command = benchmark.command(
        1024 * 1024, threads=2, seconds=3, direction="TO_DEVICE", dma_bits=40
    )
    assert command == "/bin/dma_map_benchmark -t 2 -s 3 -b 40 -d 1 -g 256"


def test_parses_linux_7_2_output_with_the_mode_in_the_header(data_dir: Path) -> None:
    """Captured from Debian's 7.2.13 tool and kernel, 4K (granule 1)."""
    result = benchmark.parse((data_dir / "bench-7.2-granule1.txt").read_text())
    assert result.map_mode == "SINGLE_MODE"
    assert (result.threads, result.seconds, result.node) == (1, 1, -1)
    assert (result.direction, result.granule) == ("BIDIRECTIONAL", 1)
    assert (result.map_us, result.unmap_us, result.unmap_stddev_us) == (17.7, 37.5, 3.9)
