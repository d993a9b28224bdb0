"""QEMU command lines against golden files. UPDATE_GOLDEN=1 rewrites the goldens."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from rig import paths
from rig.boot import profile as prof
from rig.boot.profile import BootFiles
from rig.errors import UserError
from tests import locations

GOLDEN = locations.GOLDEN
BOOT = BootFiles(
    kernel=Path("/images/Image"),
    initrd=Path("/images/initramfs.cpio.gz"),
    dtb=Path("/run/machine.dtb"),
    qmp_socket=Path("/run/qmp.sock"),
    disk=Path("/run/disk.img"),
)


@pytest.mark.parametrize("profile_name", prof.available_profiles())
@pytest.mark.parametrize("mode_name", sorted(prof.MODES))
def test_argv_matches_golden(profile_name: str, mode_name: str) -> None:
    argv = prof.argv(prof.load_profile(profile_name), prof.mode_by_name(mode_name), BOOT)
    golden = GOLDEN / f"{profile_name}-{mode_name}.argv"
    text = "\n".join(argv) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert golden.read_text() == text


def test_argv_is_pure() -> None:
    profile = prof.load_profile("smmuv3-noncoherent")
    mode = prof.mode_by_name("icount")
    assert prof.argv(profile, mode, BOOT) == prof.argv(profile, mode, BOOT)


def test_icount_mode_uses_one_vcpu_and_instruction_time() -> None:
    argv = prof.argv(prof.load_profile("smmuv3-noncoherent"), prof.mode_by_name("icount"), BOOT)
    assert argv[argv.index("-smp") + 1] == "1"
    assert argv[argv.index("-icount") + 1] == "shift=4,align=off,sleep=off"


def test_dump_dtb_is_the_same_machine_plus_dumpdtb() -> None:
    profile = prof.load_profile("smmuv3-noncoherent")
    mode = prof.mode_by_name("icount")
    plain = prof.argv(profile, mode, BOOT)
    dump = prof.argv(profile, mode, BOOT, dump_dtb=Path("/run/x.dtb"))
    assert dump[dump.index("-machine") + 1] == "virt,iommu=smmuv3,dumpdtb=/run/x.dtb"
    differing = [(a, b) for a, b in zip(plain, dump, strict=True) if a != b]
    assert differing == [("virt,iommu=smmuv3", "virt,iommu=smmuv3,dumpdtb=/run/x.dtb")]


def test_lazy_invalidation_goes_on_the_kernel_command_line(tmp_path: Path) -> None:
    text = (paths.QEMU_CONFIGS / "smmuv3-noncoherent.yaml").read_text()
    (tmp_path / "lazy.yaml").write_text(
        text.replace("tlb_invalidation: strict", "tlb_invalidation: lazy")
    )
    profile = prof.load_profile("lazy", tmp_path)
    argv = prof.argv(profile, prof.mode_by_name("icount"), BOOT)
    assert "iommu.strict=0" in argv[argv.index("-append") + 1]


def test_checks_boots_swap_in_the_probe_device_at_the_same_address() -> None:
    profile = prof.load_profile("mmu500-noncoherent")
    mode = prof.mode_by_name("icount")
    timed = prof.argv(profile, mode, BOOT)
    checks = prof.argv(profile, mode, replace(BOOT, probe=True))
    differing = [(a, b) for a, b in zip(timed, checks, strict=True) if a != b]
    assert differing == [("pci-testdev", "pci-dma-probe")]


def test_a_profile_without_a_probe_device_keeps_its_device_in_checks_boots() -> None:
    profile = prof.load_profile("smmuv3-noncoherent")
    mode = prof.mode_by_name("icount")
    assert prof.argv(profile, mode, replace(BOOT, probe=True)) == prof.argv(profile, mode, BOOT)


def test_a_probe_device_without_the_patch_that_rings_it_is_refused(tmp_path: Path) -> None:
    text = (paths.QEMU_CONFIGS / "mmu500-noncoherent.yaml").read_text()
    (tmp_path / "noring.yaml").write_text(
        text.replace("support_patches: [dma-probe]", "support_patches: []")
    )
    with pytest.raises(UserError) as caught:
        prof.load_profile("noring", tmp_path)
    assert "'probe_device'" in caught.value.message
    assert "dma-probe" in caught.value.message


def test_stress_mode_races_vcpus_and_an_iothread() -> None:
    argv = prof.argv(prof.load_profile("mmu500-noncoherent"), prof.mode_by_name("stress"), BOOT)
    assert argv[argv.index("-smp") + 1] == "4"
    assert "-icount" not in argv
    assert argv[argv.index("-object") + 1] == "iothread,id=rigio"
    disk = argv[argv.index("-drive") + 3]
    assert disk.startswith("virtio-blk-pci,") and disk.endswith(",drive=rigdisk,iothread=rigio")
