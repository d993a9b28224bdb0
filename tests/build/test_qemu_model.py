"""The MMU-500 model's own tests, in QEMU's qtest framework, and QEMU's style checker.

The qtest (qemu/tests/qtest/mmu500-test.c) is built with the rig's QEMU and drives the
model's registers directly; checkpatch.pl comes from the same QEMU tree.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from rig import paths
from rig.build import qemu_build
from rig.build.qemu_build import BuiltQemu

pytestmark = pytest.mark.e2e
_TAP_RESULT = re.compile(r"^(ok|not ok) \d+ (.*)$", re.MULTILINE)


def test_the_qtests_pass(rig_qemu: BuiltQemu) -> None:
    result = subprocess.run(
        [str(rig_qemu.qtest), "--tap", "-k"],
        env={**os.environ, "QTEST_QEMU_BINARY": str(rig_qemu.binary)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    results = _TAP_RESULT.findall(result.stdout)
    failed = [name for verdict, name in results if verdict == "not ok"]
    assert result.returncode == 0 and not failed, result.stdout[-4000:] + result.stderr[-4000:]
    # Probe and reset values, stream matching and global faults, translation at 4K and
    # 64K and through TTBR1, each invalidation and the sync that completes it, faults
    # and syndromes, walks that abort, bypass, unsupported configurations, IOTLB
    # capacity, the walk cache, the strict view, migration and the probe device.
    assert len(results) >= 53, result.stdout
    # A configuration the model cannot walk is a translation fault on every access
    # and one log line, naming it.
    granule = [line for line in result.stderr.splitlines() if "uses the 16K granule" in line]
    assert len(granule) == 1, result.stderr[-2000:]
    assert "cache-maintenance violation: cb=0 stream=0x20" in result.stderr
    # The TLB and walk-cache tests use entries on purpose after changing the tables
    # without invalidating (or syncing): the stale-translation sanitizer names each
    # use, with where, and what was served against what the tables say.
    stale = [line for line in result.stderr.splitlines() if "mmu500: stale translation:" in line]
    assert stale, result.stderr[-2000:]
    assert "cb=0 stream=0x20" in stale[0]
    kinds = {
        "IOTLB": "served from the IOTLB -> ",
        "walk cache": "served from a walk through the walk cache (level 3 table at ",
        "unsynced": "an entry whose invalidation by VA was issued but not synced",
    }
    for kind, words in kinds.items():
        assert any(words in line for line in stale), (kind, stale)


def test_the_model_is_in_qemu_style(rig_qemu: BuiltQemu) -> None:
    checkpatch = rig_qemu.binary.parent.parent / "scripts" / "checkpatch.pl"
    for relative in qemu_build.model_files():
        result = subprocess.run(
            [
                "perl",
                str(checkpatch),
                "--no-tree",
                "--terse",
                "-f",
                str(relative),
            ],
            # Checked by the path it has in a QEMU tree (tests/ may use glib's
            # non-exiting asserts), as a series posted upstream would be.
            cwd=paths.QEMU_MODEL,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"{relative}:\n{result.stdout}{result.stderr}"
