"""Gates: what must be true of a booted guest before any of its numbers is accepted.

Pure functions over what the guest reported (dmesg and sysfs), so they can be
tested on captured logs. Each result carries the lines that show why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rig.boot import io_pages
from rig.boot.profile import DEVICE_NAMES, MachineProfile
from rig.sizes import format_size

SMMUV3_FEAT_COHERENCY = 1 << 8  # ARM_SMMU_FEAT_COHERENCY in arm-smmu-v3.h
_SMMUV3_PROBED = re.compile(
    # Linux 7.x no longer prints the "ias N-bit, " part.
    r"arm-smmu-v3 (\S+): (?:ias \d+-bit, )?oas \d+-bit \(features 0x([0-9a-f]+)\)"
)
_SMMUV2_PROBED = re.compile(r"arm-smmu (\S+): SMMUv2 with:")
_SMMUV2_COHERENT = re.compile(r"arm-smmu \S+: \s*coherent table walk")
_COHACC_OVERRIDE = re.compile(
    r"arm-smmu-v3 \S+: IDR0\.COHACC overridden by FW configuration \((\w+)\)"
)
_PAGE_SIZE_ONLY = re.compile(
    r"arm-smmu(?:-v3)? \S+: force_page_size: page sizes restricted to 0x([0-9a-f]+)"
)
_SELFTEST = re.compile(r"arm-lpae io-pgtable: selftest: completed with (\d+) PASS (\d+) FAIL")
# Since the selftest became a KUnit suite: its case's own summary and the suite's KTAP result.
KUNIT_SUITE = "io-pgtable-arm-test"
_KUNIT_SUMMARY = re.compile(r"# arm_lpae_do_selftests: completed with (\d+) PASS (\d+) FAIL")
_KUNIT_RESULT = re.compile(rf"^(?:\[[^\]]*\])?\s*(not ok|ok) \d+ {KUNIT_SUITE}\b", re.MULTILINE)
_POLICY = re.compile(r"DMA domain TLB invalidation policy: (strict|lazy) mode")
# The IOMMU core names default DMA domains "DMA" (strict) and "DMA-FQ" (lazy, flush queue).
GROUP_TYPE = {"strict": "DMA", "lazy": "DMA-FQ"}


@dataclass(frozen=True)
class GuestFacts:
    release: str
    dmesg: str
    iommu_group: str | None
    group_type: str | None
    driver: str | None
    # The SMMU's device-tree node as the guest sees it, and "dma-coherent" if it has one.
    smmu_node: str | None = None
    # The same for the PCIe host bridge, whose DMA attributes its devices take.
    pcie_node: str | None = None
    # The kernel's page size in bytes, as /proc/self/smaps gives it (KernelPageSize).
    page_size: int | None = None


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    detail: str
    evidence: tuple[str, ...] = field(default_factory=tuple)


def _lines(dmesg: str, pattern: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in dmesg.splitlines() if re.search(pattern, line))


def kernel_identity(facts: GuestFacts, expected_release: str) -> GateResult:
    ok = facts.release == expected_release
    return GateResult(
        "kernel identity",
        ok,
        f"uname -r is {facts.release!r}" + ("" if ok else f", expected {expected_release!r}"),
        (f"uname -r: {facts.release}",),
    )


def smmu_probed(facts: GuestFacts, profile: MachineProfile) -> GateResult:
    name = f"{profile.driver} probed"
    evidence = _lines(facts.dmesg, r"arm-smmu")[:12]
    probe = _SMMUV3_PROBED if profile.driver == "arm-smmu-v3" else _SMMUV2_PROBED
    found = probe.search(facts.dmesg)
    if not found:
        return GateResult(name, False, f"no {profile.driver} probe line in dmesg", evidence)
    node = facts.smmu_node or "(no device-tree node)"
    if facts.smmu_node is None:
        return GateResult(
            name,
            False,
            f"no device-tree node compatible with {profile.smmu_compatible}",
            (*evidence, node),
        )
    return GateResult(
        name,
        True,
        f"{found.group(1)} probed; DT node {node} is {profile.smmu_compatible}",
        evidence,
    )


def device_in_group(facts: GuestFacts, profile: MachineProfile) -> GateResult:
    bdf = profile.bench_device_bdf
    evidence = _lines(facts.dmesg, rf"{re.escape(bdf)}.*iommu group")
    evidence += (f"/sys/bus/pci/devices/{bdf}/iommu_group -> {facts.iommu_group}",)
    ok = facts.iommu_group is not None
    return GateResult(
        "device in an IOMMU group",
        ok,
        f"{bdf} is in IOMMU group {facts.iommu_group}" if ok else f"{bdf} has no IOMMU group",
        evidence,
    )


def benchmark_bound(facts: GuestFacts, profile: MachineProfile) -> GateResult:
    ok = facts.driver == "dma_map_benchmark"
    return GateResult(
        "benchmark driver bound",
        ok,
        f"{profile.bench_device_bdf} driver is {facts.driver}",
        (f"/sys/bus/pci/devices/{profile.bench_device_bdf}/driver -> {facts.driver}",),
    )


def tlb_invalidation(facts: GuestFacts, profile: MachineProfile) -> GateResult:
    want = profile.tlb_invalidation
    policy = _POLICY.search(facts.dmesg)
    evidence = _lines(facts.dmesg, _POLICY.pattern)
    evidence += (f"iommu group {facts.iommu_group} type: {facts.group_type}",)
    problems = []
    if not policy or policy.group(1) != want:
        problems.append(f"policy is {policy.group(1) if policy else 'not logged'}")
    if facts.group_type != GROUP_TYPE[want]:
        problems.append(f"group type is {facts.group_type}, expected {GROUP_TYPE[want]}")
    ok = not problems
    detail = f"{want} as configured" if ok else f"expected {want}: " + "; ".join(problems)
    return GateResult("TLB invalidation mode", ok, detail, evidence)


def walk_coherency(facts: GuestFacts, profile: MachineProfile) -> GateResult:
    if profile.driver == "arm-smmu":
        return _walk_coherency_v2(facts, profile)
    found = _SMMUV3_PROBED.search(facts.dmesg)
    evidence = _lines(facts.dmesg, r"oas \d+-bit|COHACC")
    if not found:
        return GateResult("table walk coherency", False, "no SMMU features line in dmesg", evidence)
    features = int(found.group(2), 16)
    coherent = bool(features & SMMUV3_FEAT_COHERENCY)
    want = profile.walk == "coherent"
    override = _COHACC_OVERRIDE.search(facts.dmesg)
    detail = (
        f"features 0x{features:08x}: coherency bit {'set' if coherent else 'clear'}, "
        f"so coherent_walk={str(coherent).lower()}"
    )
    if override:
        detail += f"; firmware overrode IDR0.COHACC to {override.group(1)}"
    ok = coherent == want
    if not ok:
        detail += f"; the profile wants a {profile.walk} walk"
    return GateResult("table walk coherency", ok, detail, evidence)


def _walk_coherency_v2(facts: GuestFacts, profile: MachineProfile) -> GateResult:
    """arm-smmu says "coherent table walk" only when ID0.CTTW or the DT claims one."""
    coherent = _SMMUV2_COHERENT.search(facts.dmesg) is not None
    dt_coherent = _dt_coherent(facts.smmu_node)
    evidence = _lines(facts.dmesg, r"table walk|IDR0\.CTTW") or ("(no table-walk line)",)
    evidence += (f"device tree: {facts.smmu_node}",)
    detail = (
        f"coherent_walk={str(coherent).lower()} (the DT makes the SMMU "
        f"{'coherent' if dt_coherent else 'non-coherent'})"
    )
    ok = coherent == (profile.walk == "coherent") and coherent == dt_coherent
    if not ok:
        detail += f"; the profile wants a {profile.walk} walk"
    return GateResult("table walk coherency", ok, detail, evidence)


def _dt_coherent(node: str | None) -> bool:
    """As of_dma_is_coherent() reads a node: its own word, else its parent's."""
    said = (node or "").split()
    return "dma-coherent" in said or (
        "parent:dma-coherent" in said and "dma-noncoherent" not in said
    )


def device_dma(facts: GuestFacts, profile: MachineProfile) -> GateResult:
    """The benchmark device's DMA is as coherent as the profile says: Linux takes a PCI
    device's from the host bridge's node, and maintains a non-coherent device's buffers
    on every map and unmap."""
    name = "device DMA coherency"
    if facts.pcie_node is None:
        return GateResult(name, False, "no PCIe host bridge node in the guest's device tree")
    coherent = _dt_coherent(facts.pcie_node)
    detail = f"the DT makes the PCIe host bridge's devices {'' if coherent else 'non-'}coherent"
    ok = coherent == (profile.device_dma == "coherent")
    if not ok:
        detail += f"; the profile wants {profile.device_dma} device DMA"
    return GateResult(name, ok, detail, (f"device tree: {facts.pcie_node}",))


def kernel_page_size(facts: GuestFacts, page_size: int) -> GateResult:
    """The running kernel has the page size the run asked for."""
    got = facts.page_size
    evidence = (f"/proc/self/smaps KernelPageSize: {got // 1024 if got else '?'} kB",)
    ok = got == page_size
    detail = (
        f"{format_size(page_size)} pages"
        if ok
        else (
            f"the kernel runs with {format_size(got) if got else 'unknown'} pages, "
            f"expected {format_size(page_size)}"
        )
    )
    return GateResult("kernel page size", ok, detail, evidence)


def _sizes(bitmap: int) -> list[int]:
    return [1 << bit for bit in range(bitmap.bit_length()) if bitmap >> bit & 1]


def page_sizes(facts: GuestFacts, profile: MachineProfile, page_size: int) -> GateResult:
    """An erratum workaround's restriction, where the profile asks for one, leaves the
    SMMU granules it implements and no block sizes: Linux builds its tables with a
    granule from what is left, and one the SMMU lacks is a configuration it cannot walk
    (Tegra's workaround before Linux 6.12 under 16K pages)."""
    found = _PAGE_SIZE_ONLY.search(facts.dmesg)
    evidence = _lines(facts.dmesg, _PAGE_SIZE_ONLY.pattern) or ("(no force_page_size line)",)
    if io_pages.has_blocks(profile):
        ok = found is None
        detail = "all page sizes the SMMU offers" if ok else "page sizes unexpectedly restricted"
        return GateResult("page sizes", ok, detail, evidence)
    if found is None:
        return GateResult("page sizes", False, "the driver did not restrict page sizes", evidence)
    bitmap = int(found.group(1), 16)
    offered = io_pages.SMMU_GRANULES[profile.iommu]
    sizes = _sizes(bitmap)
    named = ", ".join(format_size(size) for size in sizes) or "none"
    lacking = [size for size in sizes if size not in offered]
    if lacking:
        detail = (
            f"page sizes restricted to {named}: the {DEVICE_NAMES[profile.iommu]} implements "
            f"no {', '.join(format_size(size) for size in lacking)} granule (it has "
            f"{', '.join(format_size(size) for size in offered)}), so its context banks are "
            "configured with a granule it cannot walk"
        )
        return GateResult("page sizes", False, detail, evidence)
    want = io_pages.io_granule(profile, page_size)
    if (
        not sizes
        or max(sizes) > page_size
        or io_pages.pick_granule(tuple(sizes), page_size) != want
    ):
        detail = (
            f"page sizes restricted to {named}; expected sizes up to the "
            f"{format_size(page_size)} page that leave io-pgtable a {format_size(want)} granule"
        )
        return GateResult("page sizes", False, detail, evidence)
    return GateResult(
        "page sizes",
        True,
        f"page sizes restricted to {named}: {format_size(want)} IO pages",
        evidence,
    )


def pgtable_selftest(facts: GuestFacts) -> GateResult:
    """The LPAE page-table test passed at boot: the selftest's summary line, or, where the
    tree has it as a KUnit suite, the suite's KTAP result and its case's summary."""
    found = _SELFTEST.search(facts.dmesg)
    if found:
        evidence = _lines(facts.dmesg, r"arm-lpae io-pgtable: selftest")
        passed, failed = int(found.group(1)), int(found.group(2))
        ok = failed == 0 and passed > 0
        return GateResult("io-pgtable selftest", ok, f"{passed} PASS {failed} FAIL", evidence[-3:])
    result = _KUNIT_RESULT.search(facts.dmesg)
    if result:
        evidence = _lines(facts.dmesg, rf"{KUNIT_SUITE}|arm_lpae_do_selftests: completed")
        summary = _KUNIT_SUMMARY.search(facts.dmesg)
        passed, failed = (int(summary.group(1)), int(summary.group(2))) if summary else (0, 0)
        ok = result.group(1) == "ok" and summary is not None and failed == 0 and passed > 0
        detail = f"KUnit {KUNIT_SUITE}: {result.group(1)}, {passed} PASS {failed} FAIL"
        return GateResult("io-pgtable selftest", ok, detail, evidence[-3:])
    return GateResult(
        "io-pgtable selftest",
        False,
        f"the LPAE selftest did not run (neither its summary nor KUnit's {KUNIT_SUITE} result)",
        ("(no selftest lines)",),
    )


def check_all(
    facts: GuestFacts, profile: MachineProfile, expected_release: str, page_size: int
) -> list[GateResult]:
    return [
        kernel_identity(facts, expected_release),
        kernel_page_size(facts, page_size),
        smmu_probed(facts, profile),
        device_in_group(facts, profile),
        benchmark_bound(facts, profile),
        tlb_invalidation(facts, profile),
        walk_coherency(facts, profile),
        device_dma(facts, profile),
        page_sizes(facts, profile, page_size),
        pgtable_selftest(facts),
    ]
