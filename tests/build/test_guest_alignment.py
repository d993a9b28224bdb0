"""The guest's programs load under the kernel's page size: checked on their segments."""

from __future__ import annotations

from pathlib import Path

import pytest

from rig.build import guest, tools
from rig.errors import RunFailed

# `readelf -lW` of Debian's arm64 busybox-static (its two loadable segments).
BUSYBOX = """
Program Headers:
  Type           Offset   VirtAddr           PhysAddr           FileSiz  MemSiz   Flg Align
  LOAD           0x000000 0x0000000000400000 0x0000000000400000 0x1b20ca 0x1b20ca R E 0x10000
  LOAD           0x1b9850 0x00000000005c9850 0x00000000005c9850 0x008cc8 0x00fdb8 RW  0x10000
  NOTE           0x000190 0x0000000000400190 0x0000000000400190 0x000044 0x000044 R   0x4
"""


def test_load_alignments_are_read_from_the_program_headers() -> None:
    assert guest.load_alignments(BUSYBOX) == [0x10000, 0x10000]


def test_a_program_aligned_below_the_page_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    four_k = BUSYBOX.replace("0x10000", "0x1000")
    monkeypatch.setattr(tools, "output", lambda cmd: four_k)
    guest.check_load_alignment(tmp_path / "prog", 4096)
    with pytest.raises(RunFailed) as caught:
        guest.check_load_alignment(tmp_path / "prog", 16384)
    assert "prog has segments aligned to 4K, 4K" in caught.value.message
    assert "16K pages cannot load it" in caught.value.message
