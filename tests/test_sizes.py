from __future__ import annotations

import pytest

from rig.errors import UserError
from rig.sizes import format_size, parse_sizes


def test_parses_the_seed_sizes() -> None:
    sizes = parse_sizes("4K,64K,128K,256K,512K,1M,2M,4M")
    assert sizes[0] == 4096
    assert sizes[-1] == 4 * 1024 * 1024
    assert [format_size(s) for s in sizes] == [
        "4K",
        "64K",
        "128K",
        "256K",
        "512K",
        "1M",
        "2M",
        "4M",
    ]


@pytest.mark.parametrize("bad", ["3K", "8M", "0", "2K", "1G", "abc", "4K,4K", ""])
def test_rejects_out_of_range_or_malformed(bad: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_sizes(bad)
    assert "expected" in caught.value.message or "twice" in caught.value.message
