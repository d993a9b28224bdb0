"""Machine profiles (qemu-configs/*.yaml) and timing modes, and the QEMU argv they make."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rig import paths, schema
from rig.boot import hardware_time
from rig.boot.hardware_time import HardwareTiming
from rig.errors import UserError

Walk = Literal["coherent", "noncoherent"]
Invalidation = Literal["strict", "lazy"]
PageSizes = Literal["all", "page-size-only"]
# rig-build: QEMU built by the rig (Debian's newest source or --qemu-src, with the MMU-500
# model from qemu/), see rig.qemu_build. system: the distribution's qemu-system-aarch64.
QemuBuild = Literal["system", "rig-build"]
# The Linux driver each emulated SMMU is probed by.
DRIVERS = {"smmuv3": "arm-smmu-v3", "mmu500": "arm-smmu"}
# The support patch that has the probe device read each range right after its unmap.
PROBE_PATCH = "dma-probe"

# What each emulated SMMU is, in a plot's or a report's words.
DEVICE_NAMES = {"smmuv3": "emulated SMMUv3", "mmu500": "emulated Arm MMU-500 (SMMUv2)"}
WALK_NAMES = {"coherent": "coherent walk", "noncoherent": "non-coherent walk"}
SeedTable = Literal["workaround", "no-workaround"]


@dataclass(frozen=True)
class MachineProfile:
    name: str
    description: str
    machine: str
    iommu: str
    cpu: str
    memory_mb: int
    # noncoherent: the dumped DTB loses `dma-coherent` on the SMMU node, so Linux
    # cleans every page-table write to the point of coherency (dma_sync_single_for_device).
    walk: Walk
    tlb_invalidation: Invalidation
    smmu_compatible: str
    bench_device: str
    bench_device_bdf: str
    extra_cmdline: tuple[str, ...] = ()
    # A DMA-capable device behind the same SMMU for the data-integrity pass; the rig
    # attaches its scratch disk to it (",drive=...").
    integrity_device: str = "virtio-blk-pci,iommu_platform=on,disable-legacy=on"
    # Patches from kernel-patches/support/ that every variant of this profile is built with.
    support_patches: tuple[str, ...] = ()
    # "page-size-only": the profile forces PAGE_SIZE mappings (an erratum workaround's
    # effect) and a gate checks the kernel said so.
    page_sizes: PageSizes = "all"
    # Which of the seed's hardware tables this profile is compared with.
    seed_table: SeedTable = "no-workaround"
    qemu: QemuBuild = "system"
    # Device properties set with -global, e.g. arm-mmu500.coherent-walk=on.
    qemu_globals: tuple[str, ...] = ()
    # The benchmark device of checks boots, at bench_device_bdf: pci-dma-probe reads
    # every unmapped range through the SMMU right after the unmap (the support patch
    # dma-probe rings it), so a translation the unmap left alive is used.
    probe_device: str | None = None
    # The benchmark device's DMA: "noncoherent" takes dma-coherent off the PCIe host
    # bridge's node, so Linux maintains the buffer's caches on every map and unmap (as for
    # the seed board's device); "coherent" leaves QEMU's DT as it is.
    device_dma: Walk = "coherent"
    # Hardware time under icount (rig.hardware_time): what one instruction stands for and
    # what cache maintenance, barriers, SMMU register accesses and TLB syncs cost. None:
    # nothing is charged and latencies stay instruction-counted.
    timing: HardwareTiming | None = None
    # Take the timing block from this profile (a calibrated platform's variant that must
    # not be refitted, e.g. its erratum-workaround twin).
    timing_from: str | None = None

    @property
    def driver(self) -> str:
        return DRIVERS[self.iommu]

    def __post_init__(self) -> None:
        if self.probe_device is not None and PROBE_PATCH not in self.support_patches:
            raise UserError(
                f"profile {self.name}: key 'probe_device' needs support patch "
                f"{PROBE_PATCH!r} in 'support_patches', which rings the probe after an unmap"
            )
        if self.memory_mb < 256:
            raise UserError(f"profile {self.name}: key 'memory_mb' must be at least 256")
        if self.timing is not None and (self.iommu != "mmu500" or self.qemu != "rig-build"):
            raise UserError(
                f"profile {self.name}: key 'timing' needs the rig's MMU-500 model "
                "(iommu: mmu500, qemu: rig-build), whose QEMU charges the costs"
            )
        if self.iommu not in DRIVERS:
            raise UserError(
                f"profile {self.name}: iommu {self.iommu!r} is unknown; "
                f"expected one of: {', '.join(DRIVERS)}"
            )


@dataclass(frozen=True)
class TimingMode:
    name: str
    smp: int
    # icount: guest time counts instructions (2**shift ns each), so a boot repeats
    # to within a few percent; absolute figures are not real time, only ratios are.
    icount_shift: int | None
    description: str
    # The integrity disk's I/O on an iothread of its own, so that its DMA reaches the
    # SMMU from a thread that does not hold QEMU's big lock.
    iothread: bool = False


MODES: dict[str, TimingMode] = {
    # One vCPU: with two, icount's round-robin lets the idle vCPU's instructions leak
    # into the measured interval (phantom regressions of 20-40% at 2M/4M).
    "icount": TimingMode(
        "icount", smp=1, icount_shift=4, description="-icount shift=4: instruction-counted time"
    ),
    "wallclock": TimingMode(
        "wallclock", smp=1, icount_shift=None, description="plain TCG, host wall-clock time"
    ),
    # Correctness under concurrency, never a measurement: four vCPUs under multi-threaded
    # TCG (the benchmark's threads map and unmap at once) and the disk on an iothread,
    # so the SMMU model's register writes, walks, faults and sanitizers race as they
    # would with a real guest. Host time, like wallclock.
    "stress": TimingMode(
        "stress",
        smp=4,
        icount_shift=None,
        description="4 vCPUs under multi-threaded TCG, the disk on an iothread",
        iothread=True,
    ),
}


@dataclass(frozen=True)
class BootFiles:
    """What one boot needs besides the machine: files and the kernel command line."""

    kernel: Path
    initrd: Path
    dtb: Path | None = None
    qmp_socket: Path | None = None
    disk: Path | None = None
    cmdline: tuple[str, ...] = field(default_factory=tuple)
    # A checks boot: the profile's probe device, if any, replaces the benchmark device.
    probe: bool = False


def mode_by_name(name: str) -> TimingMode:
    try:
        return MODES[name]
    except KeyError:
        raise UserError(
            f"unknown mode {name!r}; expected one of: {', '.join(sorted(MODES))}"
        ) from None


def available_profiles(config_dir: Path = paths.QEMU_CONFIGS) -> list[str]:
    return sorted(p.stem for p in config_dir.glob("*.yaml"))


def load_profile(name: str, config_dir: Path = paths.QEMU_CONFIGS) -> MachineProfile:
    path = config_dir / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(available_profiles(config_dir)) or "(none)"
        raise UserError(
            f"unknown profile {name!r} (no {path.name} in qemu-configs/); known: {known}"
        )
    return load_profile_file(path)


def load_profile_file(path: Path) -> MachineProfile:
    data = schema.read_yaml_mapping(path)
    source = data.get("timing_from")
    if source is not None:
        if "timing" in data:
            raise UserError(f"{path}: keys 'timing' and 'timing_from' exclude each other")
        if not isinstance(source, str) or source == path.stem:
            raise UserError(
                f"{path}: key 'timing_from' must name another profile in qemu-configs/, "
                f"got {source!r}"
            )
        lender = load_profile(source, path.parent)
        if lender.timing is None:
            raise UserError(f"{path}: key 'timing_from': profile {source!r} has no 'timing' block")
        data = {**data, "timing": dataclasses.asdict(lender.timing)}
    return schema.build(MachineProfile, data, str(path), name=path.stem)


def machine_option(profile: MachineProfile, dump_dtb: Path | None = None) -> str:
    option = f"{profile.machine},iommu={profile.iommu}"
    if dump_dtb is not None:
        option += f",dumpdtb={dump_dtb}"
    return option


def kernel_cmdline(profile: MachineProfile, extra: tuple[str, ...] = ()) -> str:
    strict = "1" if profile.tlb_invalidation == "strict" else "0"
    words = ["console=ttyAMA0", "panic=-1", f"iommu.strict={strict}"]
    return " ".join([*words, *profile.extra_cmdline, *extra])


def argv(
    profile: MachineProfile,
    mode: TimingMode,
    boot: BootFiles,
    *,
    qemu: str = "qemu-system-aarch64",
    dump_dtb: Path | None = None,
) -> list[str]:
    """The full QEMU command line. Pure: same inputs, same list."""
    args = [
        qemu,
        "-machine",
        machine_option(profile, dump_dtb),
        "-cpu",
        profile.cpu,
        "-m",
        str(profile.memory_mb),
        "-smp",
        str(mode.smp),
    ]
    for setting in profile.qemu_globals:
        args += ["-global", setting]
    for setting in hardware_time.qemu_globals(profile.timing, mode.icount_shift):
        args += ["-global", setting]
    if mode.icount_shift is not None:
        args += ["-icount", f"shift={mode.icount_shift},align=off,sleep=off"]
    if profile.qemu == "rig-build":
        # The MMU-500 model names a configuration it does not implement (a granule, a
        # context bank type) as a guest error; on stderr, the console watch sees it.
        args += ["-d", "guest_errors"]
    # -nic none: without it QEMU 7.2 stops, failing to find romfile "efi-virtio.rom".
    args += ["-nographic", "-no-reboot", "-nic", "none"]
    args += ["-kernel", str(boot.kernel), "-initrd", str(boot.initrd)]
    args += ["-append", kernel_cmdline(profile, boot.cmdline)]
    if boot.dtb is not None:
        args += ["-dtb", str(boot.dtb)]
    device = profile.probe_device if boot.probe and profile.probe_device else profile.bench_device
    args += ["-device", device]
    if boot.disk is not None:
        disk = f"{profile.integrity_device},drive=rigdisk"
        if mode.iothread:
            args += ["-object", "iothread,id=rigio"]
            disk += ",iothread=rigio"
        args += ["-drive", f"file={boot.disk},if=none,format=raw,id=rigdisk"]
        args += ["-device", disk]
    if boot.qmp_socket is not None:
        args += ["-qmp", f"unix:{boot.qmp_socket},server=on,wait=off"]
    return args
