"""A boot that nobody types into: the benchmark runs from /init and the guest powers off.

An interactive boot waits at a shell prompt for the rig's next command, and how long
the host takes to send it moves the guest's timer ticks against the benchmark by a few
instructions, so two boots of one QEMU differ by 0.1-0.3 us in a mean. Here the rig's
initramfs gets a second archive (Linux unpacks concatenated archives, later files
winning) whose /init binds the benchmark device, runs dma_map_benchmark at each size
and powers off, with no disk and QEMU's -seed fixed: under icount its output is then
the same on every run, so "the same numbers" can be checked to the printed digit.

`python -m tests.unattended QEMU_A QEMU_B` compares two QEMU binaries that way on the
default profile's kernels (docs/hardware-time.md's zero-cost comparison with the QEMU from before
time could be charged).
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from rig import paths
from rig.boot import dtb
from rig.boot import profile as prof
from rig.boot.profile import BootFiles, MachineProfile
from rig.build import guest
from rig.errors import RunFailed
from rig.progress import Progress
from rig.run import pipeline, plan, settings

SIZES = (4096, 65536, 1 << 20)
DONE = "RIG-UNATTENDED-DONE"


# The rig's own /init hands the console to a shell at its end; here the benchmark runs
# there instead.
SHELL_LINE = "exec setsid cttyhack sh"


def init_script(bdf: str, sizes: tuple[int, ...]) -> str:
    """The rig's /init (rig/build/guest_init.sh) with its last line replaced by the runs."""
    init = guest.INIT_SCRIPT.read_text()
    if SHELL_LINE not in init:
        raise RunFailed(f"{guest.INIT_SCRIPT}: no {SHELL_LINE!r} line to replace")
    device = f"/sys/bus/pci/devices/{bdf}"
    runs = [
        f"echo dma_map_benchmark > {device}/driver_override",
        f"echo {bdf} > /sys/bus/pci/drivers/dma_map_benchmark/bind",
        *(f"/bin/dma_map_benchmark -t 1 -s 1 -g {size // 4096}" for size in sizes),
        f"echo {DONE}",
        "poweroff -f",
    ]
    return init.replace(SHELL_LINE, "\n".join(runs))


def overlay_initrd(base: Path, writer: Path, script: str, out: Path) -> Path:
    """``base`` with a second archive holding ``script`` as /init."""
    script_file = out / "init"
    script_file.write_text(script)
    os.utime(script_file, (0, 0))  # the archive records it: the same bytes every time
    listing = out / "overlay.list"
    listing.write_text(f"file /init {script_file} 0755 0 0\n")
    cpio = subprocess.run([str(writer), str(listing)], capture_output=True, check=True)
    combined = out / "initrd.unattended"
    combined.write_bytes(base.read_bytes() + gzip.compress(cpio.stdout, mtime=0))
    return combined


def boot(qemu: str, profile: MachineProfile, files: BootFiles, timeout: float = 300) -> str:
    """The lines the benchmark printed, in order; the boot must reach DONE."""
    mode = prof.mode_by_name("icount")
    args = [*prof.argv(profile, mode, files, qemu=qemu), "-seed", "1"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if DONE not in result.stdout:
        raise RunFailed("unattended boot did not finish", excerpt=result.stdout[-3000:])
    return "\n".join(line.strip() for line in result.stdout.splitlines() if "latency(us)" in line)


def prepare(
    folder: Path, profile_name: str = "mmu500-noncoherent"
) -> tuple[MachineProfile, list[BootFiles], str]:
    """The profile's baseline and patched kernels (cached builds), each with the
    unattended initramfs and the profile's DTB; and the rig's QEMU."""
    chosen = settings.override(settings.load(paths.DEFAULT_BENCH_CONFIG), {"profile": profile_name})
    inputs = plan.resolve_inputs(chosen, None, folder, paths.cache_root())
    progress = Progress(quiet=True)
    inputs = pipeline.with_qemu(inputs, progress)
    source, kernels, initrd = pipeline.prepare_kernels(inputs, progress, folder / "logs")
    writer = guest.gen_init_cpio(source, paths.cache_root())
    script = init_script(inputs.profile.bench_device_bdf, SIZES)
    unattended = overlay_initrd(initrd, writer, script, folder)
    probe = BootFiles(kernel=kernels[0].image, initrd=unattended)
    machine_dtb = dtb.prepare(inputs.profile, inputs.mode, probe, folder, inputs.qemu)
    files = [BootFiles(kernel=k.image, initrd=unattended, dtb=machine_dtb.path) for k in kernels]
    return inputs.profile, files, inputs.qemu


def with_globals(profile: MachineProfile, *settings_: str) -> MachineProfile:
    return replace(profile, qemu_globals=(*profile.qemu_globals, *settings_))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.unattended QEMU_A QEMU_B", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        profile, files, _ = prepare(Path(scratch))
        outputs = {}
        for qemu in argv:
            outputs[qemu] = [boot(qemu, profile, f) for f in files]
            for kernel, text in zip(files, outputs[qemu], strict=True):
                print(f"== {qemu} {kernel.kernel.parent.name}\n{text}")
    same = len({tuple(v) for v in outputs.values()}) == 1
    print("identical" if same else "DIFFERENT")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
