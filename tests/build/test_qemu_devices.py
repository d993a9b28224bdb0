"""The rig's QEMU is built with the devices of qemu/devices/smmu-rig.mak only: every
profile boots what it holds, a profile naming anything else is refused when the run is
planned, the file is part of the build key, and the built QEMU has what it names."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from rig import paths
from rig.boot import profile as prof
from rig.build import qemu_build, qemu_devices, qemu_source
from rig.build.qemu_build import BuiltQemu
from rig.errors import UserError
from rig.run import plan, settings


def rig_build_profiles() -> list[prof.MachineProfile]:
    names = sorted(p.stem for p in paths.QEMU_CONFIGS.glob("*.yaml"))
    return [p for p in map(prof.load_profile, names) if p.qemu == "rig-build"]


def test_the_file_names_the_machine_and_devices_it_builds() -> None:
    named = qemu_devices.named()
    assert named["machine"] == {"virt"}
    assert {"pci-testdev", "pci-dma-probe", "virtio-blk-pci", "edu"} <= named["device"]


def test_every_profile_on_the_rigs_qemu_boots_only_what_it_is_built_with() -> None:
    profiles = rig_build_profiles()
    assert len(profiles) >= 5
    for profile in profiles:
        qemu_devices.check(profile.name, profile.machine, plan.booted_devices(profile))


def test_a_profile_naming_a_device_left_out_is_refused_at_plan_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = prof.load_profile("mmu500-noncoherent")
    changed = dataclasses.replace(real, integrity_device="nvme,serial=rig")
    monkeypatch.setattr(prof, "load_profile", lambda name: changed)
    chosen = settings.load(paths.DEFAULT_BENCH_CONFIG)
    with pytest.raises(UserError) as caught:
        plan.resolve_inputs(chosen, None, tmp_path / "results", tmp_path / "cache")
    message = caught.value.message
    assert "profile mmu500-noncoherent: key 'integrity_device' names device 'nvme'" in message
    assert "qemu/devices/smmu-rig.mak" in message and "pci-testdev" in message
    assert not (tmp_path / "results").exists() and not (tmp_path / "cache").exists()


def test_a_machine_left_out_is_named_too(tmp_path: Path) -> None:
    config = tmp_path / "devices.mak"
    config.write_text("# -machine virt\nCONFIG_ARM_VIRT=y\n# -device edu\nCONFIG_EDU=y\n")
    with pytest.raises(UserError) as caught:
        qemu_devices.check("p", "sbsa-ref", {"bench_device": "edu"}, config)
    assert "key 'machine' names machine 'sbsa-ref'" in caught.value.message
    assert str(config) in caught.value.message
    qemu_devices.check("p", "virt", {"bench_device": "edu,addr=04.0"}, config)


def test_a_changed_device_list_changes_the_build_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tree = tmp_path / "qemu"
    (tree / "hw").mkdir(parents=True)
    (tree / "VERSION").write_text("10.2.50\n")
    (tree / "configure").write_text("#!/bin/sh\n")
    (tree / "hw" / "file.c").write_text("int x;\n")
    source = qemu_source.from_tree(tree)
    before = qemu_build.build_key(source), qemu_build.plain_build_key(source)
    config = tmp_path / "smmu-rig.mak"
    config.write_text(qemu_devices.CONFIG.read_text() + "CONFIG_NVME_PCI=y\n")
    monkeypatch.setattr(qemu_devices, "CONFIG", config)
    after = qemu_build.build_key(source), qemu_build.plain_build_key(source)
    assert after[0] != before[0] and after[1] != before[1]


def test_install_puts_the_file_where_configure_looks(tmp_path: Path) -> None:
    qemu_devices.install(tmp_path)
    installed = tmp_path / "configs" / "devices" / "aarch64-softmmu" / "smmu-rig.mak"
    assert installed.read_text() == qemu_devices.CONFIG.read_text()
    assert "--with-devices-aarch64=smmu-rig" in qemu_build.CONFIGURE


@pytest.mark.e2e
def test_the_built_qemu_has_every_device_the_file_names(rig_qemu: BuiltQemu) -> None:
    named = qemu_devices.named()
    for kind in ("machine", "device"):
        listing = subprocess.run(
            [str(rig_qemu.binary), f"-{kind}", "help"], capture_output=True, text=True,
            check=True,
        ).stdout  # fmt: skip
        for name in named[kind]:
            assert f'name "{name}"' in listing or f"\n{name} " in listing, name
    # and not the boards a default build has
    machines = subprocess.run(
        [str(rig_qemu.binary), "-machine", "help"], capture_output=True, text=True, check=True
    ).stdout
    assert "raspi3b" not in machines and "sbsa-ref" not in machines
