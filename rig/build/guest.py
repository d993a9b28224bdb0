"""The guest: Debian's arm64 busybox, dma_map_benchmark built from the same tree, an /init."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from rig.build import prereqs, tools
from rig.build.source import KernelSource
from rig.errors import InfraError, RunFailed
from rig.hashing import sha256_file, sha256_json
from rig.locking import locked
from rig.sizes import PAGE_SIZE, format_size

INIT_SCRIPT = Path(__file__).with_name("guest_init.sh")
READY_MARKER = "SMMU-RIG-READY"
# The tool moved out of selftests in later kernels; the first that exists wins.
TOOL_SOURCES = ("tools/testing/selftests/dma/dma_map_benchmark.c", "tools/dma/dma_map_benchmark.c")


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> None:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RunFailed(
            f"{what} failed (exit code {result.returncode})",
            excerpt=(result.stdout + result.stderr)[-3000:],
        )


def busybox_binary(cache: Path) -> Path:
    deb = prereqs.find_busybox_deb()
    if deb is None:
        raise InfraError(
            f"Debian's {prereqs.BUSYBOX_PACKAGE} is not downloaded; run `make prereqs` as root"
        )
    dest = cache / "busybox" / sha256_file(deb)[:16]
    binary = dest / "bin" / "busybox"
    if not binary.exists():
        with tempfile.TemporaryDirectory(dir=cache, prefix=".busybox-") as tmp:
            _run(["dpkg-deb", "-x", str(deb), tmp], f"unpacking {deb.name}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.exists():
                shutil.rmtree(dest)
            Path(tmp).rename(dest)
            Path(tmp).mkdir()
    return binary


def benchmark_tool(source: KernelSource, headers: Path, cache: Path) -> Path:
    """dma_map_benchmark, static, from the same tree: its ioctl number encodes the
    size of struct map_benchmark, so a tool from another tree may not talk to the kernel."""
    for relative in TOOL_SOURCES:
        tool_source = source.tree / relative
        if tool_source.is_file():
            break
    else:
        raise RunFailed(
            f"{source.tree}: no dma_map_benchmark.c (looked for {', '.join(TOOL_SOURCES)})"
        )
    key = sha256_json({"source": source.key, "toolchain": tools.toolchain_version(), "tool": 1})
    binary = cache / "tools" / key[:16] / "dma_map_benchmark"
    if not binary.exists():
        binary.parent.mkdir(parents=True, exist_ok=True)
        partial = binary.with_suffix(".partial")
        _run(
            [
                f"{tools.CROSS_COMPILE}gcc",
                "-static",
                "-O2",
                "-I",
                str(headers),
                "-I",
                str(source.tree / "include"),
                "-o",
                str(partial),
                str(tool_source),
            ],
            "building dma_map_benchmark",
        )
        partial.rename(binary)
    return binary


def gen_init_cpio(source: KernelSource, cache: Path) -> Path:
    """The kernel's own initramfs writer: makes /dev/console without needing mknod."""
    binary = cache / "tools" / source.key[:16] / "gen_init_cpio"
    if not binary.exists():
        binary.parent.mkdir(parents=True, exist_ok=True)
        partial = binary.with_suffix(".partial")
        _run(
            ["cc", "-O2", "-o", str(partial), str(source.tree / "usr" / "gen_init_cpio.c")],
            "building gen_init_cpio",
        )
        partial.rename(binary)
    return binary


def initramfs(source: KernelSource, headers: Path, cache: Path, page_size: int = PAGE_SIZE) -> Path:
    """The guest image, built once per content; two rig processes never build it at once.
    One image serves every page size: each of its programs is checked to load on a
    kernel with ``page_size`` pages."""
    with locked(cache / "locks" / "guest.lock", "the guest image cache"):
        busybox = busybox_binary(cache)
        tool = benchmark_tool(source, headers, cache)
        for program in (busybox, tool):
            check_load_alignment(program, page_size)
        return _initramfs(busybox, tool, source, cache)


_LOAD = re.compile(r"^\s*LOAD\s.*\s0x([0-9a-f]+)\s*$", re.MULTILINE)


def load_alignments(readelf_output: str) -> list[int]:
    """The alignment of each loadable segment in `readelf -lW`'s program headers."""
    return [int(found, 16) for found in _LOAD.findall(readelf_output)]


def check_load_alignment(program: Path, page_size: int) -> None:
    """A static program loads on a kernel only if each segment is aligned to its page
    size (the kernel maps segments page by page); the linker's aarch64 default is 64K."""
    listed = tools.output([f"{tools.CROSS_COMPILE}readelf", "-lW", str(program)])
    alignments = load_alignments(listed)
    if not alignments or min(alignments) < page_size:
        raise RunFailed(
            f"guest image: {program.name} has segments aligned to "
            f"{', '.join(format_size(a) for a in alignments) or 'nothing'}; a kernel with "
            f"{format_size(page_size)} pages cannot load it",
            excerpt=listed,
            check="guest image",
        )


def _initramfs(busybox: Path, tool: Path, source: KernelSource, cache: Path) -> Path:
    writer = gen_init_cpio(source, cache)
    key = sha256_json(
        {
            "busybox": sha256_file(busybox),
            "tool": sha256_file(tool),
            "init": sha256_file(INIT_SCRIPT),
        }
    )
    image = cache / "initramfs" / f"{key[:16]}.cpio.gz"
    if image.exists():
        return image
    listing = "\n".join(
        [
            "dir /dev 0755 0 0",
            "nod /dev/console 0600 0 0 c 5 1",
            "dir /proc 0755 0 0",
            "dir /sys 0755 0 0",
            "dir /tmp 1777 0 0",
            "dir /root 0700 0 0",
            "dir /bin 0755 0 0",
            f"file /bin/busybox {busybox} 0755 0 0",
            f"file /bin/dma_map_benchmark {tool} 0755 0 0",
            f"file /init {INIT_SCRIPT} 0755 0 0",
            "",
        ]
    )
    image.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=image.parent, prefix=".new-") as tmp:
        list_file = Path(tmp) / "list"
        list_file.write_text(listing)
        cpio = subprocess.run([str(writer), str(list_file)], capture_output=True, check=False)
        if cpio.returncode != 0:
            raise RunFailed("gen_init_cpio failed", excerpt=cpio.stderr.decode(errors="replace"))
        partial = Path(tmp) / "initramfs.cpio.gz"
        with gzip.GzipFile(partial, "wb", mtime=0) as handle:
            handle.write(cpio.stdout)
        partial.rename(image)
    return image
