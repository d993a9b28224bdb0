"""dma_map_benchmark: its command line and its output."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from rig.errors import RunFailed
from rig.sizes import PAGE_SIZE, granule

Direction = Literal["BIDIRECTIONAL", "TO_DEVICE", "FROM_DEVICE"]
DIRECTION_CODES: dict[str, int] = {"BIDIRECTIONAL": 0, "TO_DEVICE": 1, "FROM_DEVICE": 2}
TOOL = "/bin/dma_map_benchmark"
DEBUGFS_NODE = "/sys/kernel/debug/dma_map_benchmark"

# Linux 7.x names the map mode in the header, `dma mapping benchmark(SINGLE_MODE):`, and
# prints `granule:%d` without the space; some trees print a mode line first and say
# "granule/sg_nents".
_MODE = re.compile(r"^dma mapping mode: (\S+)\s*$", re.M)
_HEADER = re.compile(
    r"^dma mapping benchmark(?:\((\S+)\))?: threads:(\d+) seconds:(\d+) node:(-?\d+) "
    r"dir:(\S+) granule(?:/sg_nents)?: ?(\d+)\s*$",
    re.M,
)
_MAP = re.compile(r"^average map latency\(us\):([\d.]+) standard deviation:([\d.]+)\s*$", re.M)
_UNMAP = re.compile(r"^average unmap latency\(us\):([\d.]+) standard deviation:([\d.]+)\s*$", re.M)


@dataclass(frozen=True)
class Measurement:
    threads: int
    seconds: int
    node: int
    direction: str
    granule: int
    map_mode: str | None
    map_us: float
    map_stddev_us: float
    unmap_us: float
    unmap_stddev_us: float


def command(
    size_bytes: int,
    *,
    threads: int,
    seconds: int,
    direction: Direction,
    dma_bits: int,
    page_size: int = PAGE_SIZE,
) -> str:
    return (
        f"{TOOL} -t {threads} -s {seconds} -b {dma_bits} "
        f"-d {DIRECTION_CODES[direction]} -g {granule(size_bytes, page_size)}"
    )


def parse(output: str) -> Measurement:
    header, mapped, unmapped = _HEADER.search(output), _MAP.search(output), _UNMAP.search(output)
    if not (header and mapped and unmapped):
        raise RunFailed(
            "dma_map_benchmark printed no result (expected its header and the average "
            "map and unmap latency lines)",
            excerpt=output.strip()[-2000:],
            check="benchmark output",
        )
    mode_line = _MODE.search(output)
    return Measurement(
        threads=int(header.group(2)),
        seconds=int(header.group(3)),
        node=int(header.group(4)),
        direction=header.group(5),
        granule=int(header.group(6)),
        map_mode=header.group(1) or (mode_line.group(1) if mode_line else None),
        map_us=float(mapped.group(1)),
        map_stddev_us=float(mapped.group(2)),
        unmap_us=float(unmapped.group(1)),
        unmap_stddev_us=float(unmapped.group(2)),
    )
