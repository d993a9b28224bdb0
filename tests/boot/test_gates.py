"""Gates over a real captured dmesg from the smmuv3-noncoherent profile."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rig.boot import gates
from rig.boot import profile as prof

RELEASE = "6.1.192-rig-baseline-a5618a4c"
# QEMU's PCIe host node as the guest reads it: coherent by the root's word, or not.
PCIE_COHERENT = "/proc/device-tree/pcie@10000000/ parent:dma-coherent"
PCIE_NONCOHERENT = "/proc/device-tree/pcie@10000000/ dma-noncoherent parent:dma-coherent"


def facts(data_dir: Path, **changes: object) -> gates.GuestFacts:
    base = gates.GuestFacts(
        release=RELEASE,
        dmesg=(data_dir / "dmesg-smmuv3-noncoherent.txt").read_text(),
        iommu_group="0",
        group_type="DMA",
        driver="dma_map_benchmark",
        smmu_node="/proc/device-tree/smmuv3@9050000/",
        pcie_node=PCIE_COHERENT,
        page_size=4096,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def by_name(results: list[gates.GateResult]) -> dict[str, gates.GateResult]:
    return {r.name: r for r in results}


def test_noncoherent_boot_passes_every_gate(data_dir: Path) -> None:
    results = gates.check_all(
        facts(data_dir), prof.load_profile("smmuv3-noncoherent"), RELEASE, 4096
    )
    assert all(r.passed for r in results), [r for r in results if not r.passed]
    walk = by_name(results)["table walk coherency"]
    assert "0x00008205" in walk.detail and "coherency bit clear" in walk.detail


def test_the_same_log_fails_the_coherent_profile_with_evidence(data_dir: Path) -> None:
    results = by_name(
        gates.check_all(facts(data_dir), prof.load_profile("smmuv3-coherent"), RELEASE, 4096)
    )
    walk = results["table walk coherency"]
    assert not walk.passed
    assert any("features 0x00008205" in line for line in walk.evidence)


def test_wrong_kernel_fails_identity(data_dir: Path) -> None:
    results = by_name(
        gates.check_all(
            facts(data_dir, release="6.1.192-other"),
            prof.load_profile("smmuv3-noncoherent"),
            RELEASE,
            4096,
        )
    )
    assert not results["kernel identity"].passed


def test_no_smmu_no_group_no_driver(data_dir: Path) -> None:
    bare = facts(data_dir, dmesg="Booting Linux\n", iommu_group=None, group_type=None, driver=None)
    results = by_name(gates.check_all(bare, prof.load_profile("smmuv3-noncoherent"), RELEASE, 4096))
    for name in (
        "arm-smmu-v3 probed",
        "device in an IOMMU group",
        "benchmark driver bound",
        "TLB invalidation mode",
        "table walk coherency",
        "io-pgtable selftest",
    ):
        assert not results[name].passed, name


def test_lazy_domain_fails_a_strict_profile(data_dir: Path) -> None:
    lazy = facts(data_dir, group_type="DMA-FQ")
    results = by_name(gates.check_all(lazy, prof.load_profile("smmuv3-noncoherent"), RELEASE, 4096))
    gate = results["TLB invalidation mode"]
    assert not gate.passed
    assert "DMA-FQ" in gate.detail


def test_a_failing_selftest_fails_its_gate(data_dir: Path) -> None:
    text = (data_dir / "dmesg-smmuv3-noncoherent.txt").read_text()
    broken = facts(data_dir, dmesg=text.replace("18 PASS 0 FAIL", "17 PASS 1 FAIL"))
    results = by_name(
        gates.check_all(broken, prof.load_profile("smmuv3-noncoherent"), RELEASE, 4096)
    )
    assert not results["io-pgtable selftest"].passed
    assert results["io-pgtable selftest"].detail == "17 PASS 1 FAIL"


def test_page_size_profile_needs_the_drivers_word(data_dir: Path) -> None:
    profile = prof.load_profile("smmuv3-noncoherent-pagesize")
    results = by_name(gates.check_all(facts(data_dir), profile, RELEASE, 4096))
    assert not results["page sizes"].passed
    forced = facts(
        data_dir,
        dmesg=(data_dir / "dmesg-smmuv3-noncoherent.txt").read_text()
        + "arm-smmu-v3 9050000.smmuv3: force_page_size: page sizes restricted to 0x1000\n",
    )
    assert by_name(gates.check_all(forced, profile, RELEASE, 4096))["page sizes"].passed


def mmu500_facts(data_dir: Path, **changes: object) -> gates.GuestFacts:
    base = gates.GuestFacts(
        release="6.1.192-rig-baseline-b7ea9651",
        dmesg=(data_dir / "dmesg-mmu500-noncoherent.txt").read_text(),
        iommu_group="1",
        group_type="DMA",
        driver="dma_map_benchmark",
        smmu_node="/proc/device-tree/iommu@9050000/",
        pcie_node=PCIE_COHERENT,
        page_size=4096,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_mmu500_boot_passes_every_gate_of_its_profile(data_dir: Path) -> None:
    profile = prof.load_profile("mmu500-noncoherent")
    results = by_name(
        gates.check_all(mmu500_facts(data_dir), profile, "6.1.192-rig-baseline-b7ea9651", 4096)
    )
    assert all(r.passed for r in results.values()), [r for r in results.values() if not r.passed]
    assert "arm-smmu probed" in results
    assert "coherent_walk=false" in results["table walk coherency"].detail


def test_mmu500_coherent_profile_needs_cttw_and_the_dt_to_agree(data_dir: Path) -> None:
    profile = prof.load_profile("mmu500-coherent")
    release = "6.1.192-rig-baseline-b7ea9651"
    plain = by_name(gates.check_all(mmu500_facts(data_dir), profile, release, 4096))
    assert not plain["table walk coherency"].passed
    dmesg = (data_dir / "dmesg-mmu500-noncoherent.txt").read_text()
    coherent = mmu500_facts(
        data_dir,
        dmesg=dmesg + "arm-smmu 9050000.iommu: \tcoherent table walk\n",
        smmu_node="/proc/device-tree/iommu@9050000/ dma-coherent",
    )
    assert by_name(gates.check_all(coherent, profile, release, 4096))["table walk coherency"].passed


def test_a_walk_the_root_makes_coherent_is_coherent(data_dir: Path) -> None:
    """QEMU 9 and later put dma-coherent on the root node; Linux's of_dma_is_coherent()
    inherits it unless the SMMU node says dma-noncoherent."""
    profile = prof.load_profile("mmu500-noncoherent")
    release = "6.1.192-rig-baseline-b7ea9651"
    dmesg = (data_dir / "dmesg-mmu500-noncoherent.txt").read_text()
    inherited = mmu500_facts(
        data_dir,
        dmesg=dmesg + "arm-smmu 9050000.iommu: \tcoherent table walk\n",
        smmu_node="/proc/device-tree/iommu@9050000/ parent:dma-coherent",
    )
    gate = by_name(gates.check_all(inherited, profile, release, 4096))["table walk coherency"]
    assert not gate.passed and "the DT makes the SMMU coherent" in gate.detail
    overridden = mmu500_facts(
        data_dir, smmu_node="/proc/device-tree/iommu@9050000/ dma-noncoherent parent:dma-coherent"
    )
    assert by_name(gates.check_all(overridden, profile, release, 4096))[
        "table walk coherency"
    ].passed


def test_an_smmuv3_log_fails_the_mmu500_profile(data_dir: Path) -> None:
    profile = prof.load_profile("mmu500-noncoherent")
    results = by_name(gates.check_all(facts(data_dir), profile, RELEASE, 4096))
    assert not results["arm-smmu probed"].passed


RELEASE_7_2 = "7.2.13-rig-baseline-5bc35559"


def test_a_7_2_boot_passes_every_gate_with_the_kunit_page_table_suite(data_dir: Path) -> None:
    """Captured on Debian's 7.2.13: the probe line lost its "ias N-bit, " part, and the
    LPAE test is the KUnit suite io-pgtable-arm-test, reported in KTAP."""
    dmesg = (data_dir / "dmesg-7.2-smmuv3-noncoherent.txt").read_text()
    booted = facts(data_dir, release=RELEASE_7_2, dmesg=dmesg)
    results = by_name(
        gates.check_all(booted, prof.load_profile("smmuv3-noncoherent"), RELEASE_7_2, 4096)
    )
    assert all(r.passed for r in results.values()), [r for r in results.values() if not r.passed]
    selftest = results["io-pgtable selftest"]
    assert selftest.detail == "KUnit io-pgtable-arm-test: ok, 63 PASS 0 FAIL"
    assert "ok 1 io-pgtable-arm-test" in "\n".join(selftest.evidence)
    assert "0x01008205" in results["table walk coherency"].detail


def test_a_failing_kunit_suite_fails_its_gate(data_dir: Path) -> None:
    dmesg = (data_dir / "dmesg-7.2-smmuv3-noncoherent.txt").read_text()
    failing = dmesg.replace("63 PASS 0 FAIL", "62 PASS 1 FAIL").replace(
        "ok 1 io-pgtable-arm-test", "not ok 1 io-pgtable-arm-test"
    )
    gate = gates.pgtable_selftest(facts(data_dir, dmesg=failing))
    assert not gate.passed and "not ok, 62 PASS 1 FAIL" in gate.detail
    # A suite that says ok over a case summary with a failure still fails.
    mixed = dmesg.replace("63 PASS 0 FAIL", "62 PASS 1 FAIL")
    assert not gates.pgtable_selftest(facts(data_dir, dmesg=mixed)).passed


def test_device_dma_gate_holds_the_dt_to_the_profile(data_dir: Path) -> None:
    """tegra234-mmu500 wants a non-coherent device: the PCIe host node must say so
    (the root's dma-coherent would otherwise make it coherent), and the default
    profiles want it as QEMU makes it."""
    tegra = prof.load_profile("tegra234-mmu500")
    default = prof.load_profile("mmu500-noncoherent")
    coherent = facts(data_dir)
    noncoherent = facts(data_dir, pcie_node=PCIE_NONCOHERENT)
    gate = gates.device_dma(coherent, tegra)
    assert not gate.passed
    assert gate.detail.endswith("the profile wants noncoherent device DMA")
    assert gate.evidence == (f"device tree: {PCIE_COHERENT}",)
    assert gates.device_dma(noncoherent, tegra).passed
    assert gates.device_dma(coherent, default).passed
    assert not gates.device_dma(noncoherent, default).passed
    missing = gates.device_dma(facts(data_dir, pcie_node=None), default)
    assert not missing.passed and "no PCIe host bridge node" in missing.detail


def test_kernel_page_size_gate(data_dir: Path) -> None:
    profile = prof.load_profile("mmu500-noncoherent")
    sixteen = mmu500_facts(data_dir, page_size=16384)
    gate = by_name(gates.check_all(sixteen, profile, "6.1.192-rig-baseline-b7ea9651", 16384))
    assert gate["kernel page size"].passed and gate["kernel page size"].detail == "16K pages"
    wrong = by_name(gates.check_all(sixteen, profile, "6.1.192-rig-baseline-b7ea9651", 65536))
    assert not wrong["kernel page size"].passed
    assert "16K pages, expected 64K" in wrong["kernel page size"].detail
    unknown = mmu500_facts(data_dir, page_size=None)
    assert not gates.kernel_page_size(unknown, 4096).passed


def _forced(data_dir: Path, bitmap: int, page_size: int) -> gates.GuestFacts:
    line = f"arm-smmu 9050000.iommu: force_page_size: page sizes restricted to 0x{bitmap:x}\n"
    return mmu500_facts(
        data_dir,
        dmesg=(data_dir / "dmesg-mmu500-noncoherent.txt").read_text() + line,
        page_size=page_size,
    )


def test_tegra_workaround_on_16k_pages_fails_by_name(data_dir: Path) -> None:
    """Tegra's workaround as it was before 6.12 forces PAGE_SIZE: under 16K pages a
    granule the MMU-500 does not implement."""
    profile = prof.load_profile("mmu500-noncoherent-pagesize-tegra")
    gate = gates.page_sizes(_forced(data_dir, 0x4000, 16384), profile, 16384)
    assert not gate.passed
    assert "no 16K granule" in gate.detail and "4K, 64K" in gate.detail


def test_fixed_workaround_falls_back_to_4k_on_16k_pages(data_dir: Path) -> None:
    profile = prof.load_profile("mmu500-noncoherent-pagesize")
    gate = gates.page_sizes(_forced(data_dir, 0x1000, 16384), profile, 16384)
    assert gate.passed and "4K IO pages" in gate.detail
    # 64K pages: sizes up to PAGE_SIZE are 4K and 64K, and io-pgtable takes 64K.
    assert gates.page_sizes(_forced(data_dir, 0x11000, 65536), profile, 65536).passed
    # A block size left in is not the workaround.
    assert not gates.page_sizes(_forced(data_dir, 0x201000, 4096), profile, 4096).passed


def test_both_workarounds_are_4k_only_on_4k_pages(data_dir: Path) -> None:
    for name in ("mmu500-noncoherent-pagesize", "mmu500-noncoherent-pagesize-tegra"):
        profile = prof.load_profile(name)
        assert gates.page_sizes(_forced(data_dir, 0x1000, 4096), profile, 4096).passed
