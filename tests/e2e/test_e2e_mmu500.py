"""End to end on the MMU-500 model: QEMU built by the rig from Debian's source with its
model (qemu/), Linux's arm-smmu driver, the real kernels. The first run on a machine
builds QEMU (about 6 minutes on 2 cores); later runs use the cache."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rig import paths
from rig.boot import profile as prof
from rig.boot.machine import Machine
from rig.boot.profile import BootFiles
from rig.boot.session import bind_benchmark_device
from rig.cli import main
from rig.errors import RunFailed
from rig.progress import Progress
from rig.run import pipeline, plan, settings
from tests import locations

pytestmark = pytest.mark.e2e


def test_both_kernels_on_the_model_pass_every_check(tmp_path: Path) -> None:
    code = main(
        [
            "bench",
            "--profile",
            "mmu500-noncoherent",
            "--sizes",
            "4K,1M",
            "--repeat",
            "1",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 0
    run_dir = (tmp_path / "latest").resolve()
    verdicts = json.loads((run_dir / "correctness.json").read_text())
    assert {v: found["verdict"] for v, found in verdicts.items()} == {
        "baseline": "passed",
        "final": "passed",
    }
    record = json.loads((run_dir / "run.json").read_text())
    gates = {g["name"]: g for g in record["boots"][0]["gates"]}
    assert gates["arm-smmu probed"]["passed"]
    assert "arm,mmu-500" in gates["arm-smmu probed"]["detail"]
    assert "coherent_walk=false" in gates["table walk coherency"]["detail"]
    assert record["qemu"]["patches"]  # the rig's own QEMU build was used
    counted = {
        (row["variant"], int(row["size_bytes"])): row
        for row in pd.read_csv(run_dir / "counters.csv").to_dict("records")
    }
    assert counted[("baseline", 1024 * 1024)]["syncs_per_unmap"] == 256
    assert counted[("final", 1024 * 1024)]["syncs_per_unmap"] == 1
    # SMMUv2 invalidates page by page: one TLBIVAL per PTE in both kernels.
    assert counted[("final", 1024 * 1024)]["tlb_add_page_per_unmap"] == 256


def test_dma_to_an_unmapped_address_is_a_context_fault_linux_reports(tmp_path: Path) -> None:
    chosen = settings.override(
        settings.load(paths.DEFAULT_BENCH_CONFIG), {"profile": "mmu500-noncoherent", "patches": ()}
    )
    inputs = pipeline.with_qemu(
        plan.resolve_inputs(chosen, None, tmp_path, paths.cache_root()), Progress(quiet=True)
    )
    _, kernels, initrd = pipeline.prepare_kernels(inputs, Progress(quiet=True), tmp_path)
    argv = prof.argv(
        inputs.profile, inputs.mode, BootFiles(kernels[0].image, initrd), qemu=inputs.qemu
    )
    # QEMU's edu device has a DMA engine the guest drives through its BAR.
    argv += ["-device", "edu"]
    edu = "/sys/bus/pci/devices/0000:00:02.0"
    with (
        pytest.raises(RunFailed) as caught,
        Machine(
            argv, tmp_path / "console.log", qmp_socket=None, boot_timeout_s=60, command_timeout_s=60
        ) as machine,
    ):
        machine.wait_ready()
        console = machine.console
        assert console is not None
        console.check("stty -echo; export PS1=''")
        # Attach edu to a DMA domain (any driver does), enable memory and bus mastering.
        bind_benchmark_device(console, "0000:00:02.0")
        console.check(f"printf '\\006\\000' | dd of={edu}/config bs=1 seek=4 count=2 conv=notrunc")
        bar = console.check(f"head -1 {edu}/resource").split()[0]
        for offset, value in ((0x80, 0x1000), (0x88, 0x40000), (0x90, 8), (0x98, 1)):
            console.check(f"devmem $(({bar} + {offset:#x})) 64 {value:#x}")
        # The engine starts 100 ms later and reads IOVA 0x1000, which was never mapped:
        # the model faults the context bank, Linux reports it, the console watch fails it.
        console.run("sleep 3")
    assert caught.value.check == "console: SMMU fault"
    assert "Unhandled context fault" in caught.value.excerpt
    assert "iova=0x00001000" in caught.value.excerpt


def test_strict_mode_catches_a_patch_that_skips_the_sync(tmp_path: Path) -> None:
    """Under TCG a skipped clean corrupts nothing; the strict model's sanitizer sees it."""
    broken = locations.TEST_PATCHES / "broken-no-sync.patch"
    code = main(
        [
            "bench",
            "--profile",
            "mmu500-noncoherent",
            "--patch",
            f"rfc,{broken}",
            "--sizes",
            "4K,64K",
            "--repeat",
            "1",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 1
    verdicts = json.loads(((tmp_path / "latest").resolve() / "correctness.json").read_text())
    assert verdicts["rfc"]["verdict"] == "passed"
    failed = [c for c in verdicts["broken-no-sync"]["checks"] if not c["passed"]]
    assert [c["name"] for c in failed] == ["console: cache-maintenance violation"]


@pytest.mark.serial(
    reason="stress mode: four vCPU threads under multi-threaded TCG in wall-clock time, "
    "which wants the cores to itself"
)
def test_the_model_under_four_vcpus_and_an_iothread(tmp_path: Path) -> None:
    """Stress mode: four vCPUs under multi-threaded TCG run four benchmark threads that
    map and unmap at once, the probe reads every range, and the disk's DMA comes from an
    iothread without QEMU's big lock; the merged patch passes every check, and tables in
    the SMMU's own window give a context fault Linux reports, never a hung QEMU."""
    code = main(
        [
            "bench",
            "--profile",
            "mmu500-noncoherent",
            "--mode",
            "stress",
            "--threads",
            "4",
            # Counting traces one unmap in a 100 ms window, which four threads in host
            # time do not leave; the checks boot runs the benchmark itself.
            "--no-counters",
            "--patch",
            f"final,{locations.TEST_PATCHES / 'broken-ttbr-smmu-window.patch'}",
            "--sizes",
            "64K,1M",
            "--repeat",
            "1",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 1
    run_dir = (tmp_path / "latest").resolve()
    verdicts = json.loads((run_dir / "correctness.json").read_text())
    assert verdicts["baseline"]["verdict"] == "passed", verdicts["baseline"]
    assert verdicts["final"]["verdict"] == "passed", verdicts["final"]
    failed = [c["name"] for c in verdicts["broken-ttbr-smmu-window"]["checks"] if not c["passed"]]
    assert "console: SMMU fault" in failed, failed
    assert not any("timeout" in name for name in failed), failed
    record = json.loads((run_dir / "run.json").read_text())
    argv = record["boots"][0]["argv"]
    assert argv[argv.index("-smp") + 1] == "4" and "iothread,id=rigio" in argv
