"""QEMU's own aarch64 qtests as the model's peer check (rig/build/qemu_peer.py).

The comparison's rules on made-up logs, and the real thing: QEMU's suite on the rig's
build and on the same source built the same way without the rig's files and patches.
The first run builds the plain QEMU and everything the suite needs in both (about as
long as a QEMU build each) and runs the suite twice; the result is cached under both
builds' keys.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from rig import paths
from rig.build import qemu_build, qemu_peer
from rig.build.qemu_peer import Comparison
from rig.errors import UserError
from rig.progress import Progress


def _log(results: dict[str, str]) -> str:
    return "\n".join(
        json.dumps({"name": f"qemu:qtest+qtest-aarch64 / qtest-aarch64/{name}", "result": r})
        for name, r in results.items()
    )


def test_a_test_only_the_rigs_build_fails_is_a_regression() -> None:
    plain = qemu_peer.parse_testlog(
        _log({"qom-test": "FAIL", "numa-test": "OK", "qmp-test": "OK", "cxl-test": "SKIP"}),
        Path("plain.json"),
    )
    rig = qemu_peer.parse_testlog(
        _log({"qom-test": "FAIL", "numa-test": "TIMEOUT", "cxl-test": "SKIP", "mmu500-test": "OK"}),
        Path("rig.json"),
    )
    comparison = Comparison(plain=plain, rig=rig)
    # numa-test timed out, qmp-test did not run at all: both count against the rig.
    assert comparison.regressions() == ["numa-test", "qmp-test"]
    assert comparison.both_fail() == ["qom-test"]
    assert "| mmu500-test | - | OK |" in comparison.table()
    assert "2 of 4 qtest-aarch64 tests pass on the rig's QEMU; 2 fail there" in (
        comparison.summary()
    )


def test_a_log_that_is_not_meson_s_is_named() -> None:
    with pytest.raises(UserError, match=r"peer.json:2: not a meson test log entry"):
        qemu_peer.parse_testlog(
            '{"name": "a", "result": "OK"}\n{"result": "OK"}\n', Path("peer.json")
        )


@pytest.mark.e2e
def test_the_plain_build_is_qemu_without_the_rigs_files() -> None:
    """The peer check's baseline, built in the parallel phase of make test so the check
    itself (serial) only runs the suites: the same source and devices, no MMU-500."""
    build_dir = qemu_build.build_plain(paths.cache_root(), Progress(quiet=True))
    binary = build_dir / qemu_build.QEMU
    devices = subprocess.run(
        [str(binary), "-device", "help"], capture_output=True, text=True, check=True
    ).stdout
    assert '"pci-testdev"' in devices and '"virtio-blk-pci"' in devices
    assert "pci-dma-probe" not in devices
    machine = subprocess.run(
        [str(binary), "-machine", "virt,iommu=mmu500", "-S", "-display", "none"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert machine.returncode != 0 and "Invalid iommu value" in machine.stderr


@pytest.mark.e2e
@pytest.mark.serial(
    reason="QEMU's qtests run with wall-clock timeouts and meson runs them on every core; "
    "the check holds a test only the rig's build fails against it, so load from other "
    "tests must not decide one"
)
def test_the_rigs_qemu_fails_none_of_qemus_own_tests_the_plain_one_passes() -> None:
    comparison = qemu_peer.check(quiet=True)
    assert comparison.regressions() == []
    # The model's own qtest is in the suite on the rig's build only.
    assert comparison.rig.get("mmu500-test") == "OK"
    assert "mmu500-test" not in comparison.plain
    # The suite really ran on both: most of it passes.
    passed = [name for name, result in comparison.plain.items() if result == "OK"]
    assert len(passed) >= max(10, 0.75 * len(comparison.plain)), comparison.table()
