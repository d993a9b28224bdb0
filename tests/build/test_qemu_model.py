"""The MMU-500 model's own tests, in QEMU's qtest framework, and QEMU's style checker.

The model is two series (qemu/upstream/, qemu/rig/). The device's qtest
(upstream/tests/qtest/mmu500-test.c) and the rig's (rig/tests/qtest/mmu500-rig-test.c)
are built with the rig's QEMU and drive the SMMU's registers directly; the upstream
series is also built and tested on its own, without the rig's files and patches. Both
series' files pass QEMU's checkpatch.pl, each at the path it has in a QEMU tree.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from rig import paths
from rig.build import qemu_build
from rig.build.qemu_build import BuiltQemu
from rig.progress import Progress

pytestmark = pytest.mark.e2e
_TAP_RESULT = re.compile(r"^(ok|not ok) \d+ (.*)$", re.MULTILINE)


@dataclass(frozen=True)
class QtestRun:
    passed: list[str]
    stderr: str


def _run_qtest(binary: Path, qtest: Path) -> QtestRun:
    result = subprocess.run(
        [str(qtest), "--tap", "-k"],
        env={**os.environ, "QTEST_QEMU_BINARY": str(binary)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    results = _TAP_RESULT.findall(result.stdout)
    failed = [name for verdict, name in results if verdict == "not ok"]
    assert result.returncode == 0 and not failed, result.stdout[-4000:] + result.stderr[-4000:]
    return QtestRun([name for verdict, name in results if verdict == "ok"], result.stderr)


def _check_device_qtest(run: QtestRun) -> None:
    # ID and reset values, stream matching and global faults, translation at 4K and 64K
    # and through TTBR1, walks that abort, each invalidation and the sync that
    # completes it, faults and syndromes, bypass, unsupported configurations, IOTLB
    # capacity, the walk cache, reset and migration.
    assert len(run.passed) >= 48, run.passed
    # A configuration the model cannot walk is a translation fault on every access
    # and one log line, naming it.
    granule = [line for line in run.stderr.splitlines() if "uses the 16K granule" in line]
    assert len(granule) == 1, run.stderr[-2000:]


def test_the_qtests_pass(rig_qemu: BuiltQemu) -> None:
    device, rig = rig_qemu.qtests
    _check_device_qtest(_run_qtest(rig_qemu.binary, device))
    run = _run_qtest(rig_qemu.binary, rig)
    # The sanitizers, the probe device, the time a sync and an access take.
    assert len(run.passed) >= 10, run.passed
    # The stale-translation check names each use of a translation the tests leave,
    # with where, and what was served against what the tables say.
    stale = [line for line in run.stderr.splitlines() if "mmu500: stale translation:" in line]
    assert stale and "cb=0 stream=0x20" in stale[0], run.stderr[-2000:]
    kinds = {
        "IOTLB": "served from the IOTLB -> ",
        "walk cache": "served from a walk through the walk cache (level 3 table at ",
        "unsynced": "an entry whose invalidation by VA was issued but not synced",
    }
    for kind, words in kinds.items():
        assert any(words in line for line in stale), (kind, stale)
    assert "mmu500: cache-maintenance violation: cb=0 stream=0x20" in run.stderr


def test_the_upstream_series_stands_alone() -> None:
    """The device as an upstream series would post it builds without the rig's files
    and patches, and its qtest passes there."""
    built = qemu_build.build_upstream_only(paths.cache_root(), Progress(quiet=True))
    (device,) = built.qtests
    assert all(not name.startswith("rig/") for name in [*built.model, *built.patches])
    _check_device_qtest(_run_qtest(built.binary, device))


@pytest.mark.parametrize("series", paths.QEMU_SERIES)
def test_the_model_is_in_qemu_style(rig_qemu: BuiltQemu, series: str) -> None:
    checkpatch = rig_qemu.binary.parent.parent / "scripts" / "checkpatch.pl"
    root = paths.QEMU_MODEL / series
    files = [Path(*p.parts[1:]) for p in qemu_build.model_files((series,))]
    assert files
    for relative in files:
        result = subprocess.run(
            ["perl", str(checkpatch), "--no-tree", "--terse", "-f", str(relative)],
            # Checked by the path it has in a QEMU tree (tests/ may use glib's
            # non-exiting asserts), as a series posted upstream would be.
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"{series}/{relative}:\n{result.stdout}{result.stderr}"
