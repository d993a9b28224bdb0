/*
 * QTest for the Arm MMU-500 (SMMUv2) on the virt machine
 *
 * Drives the SMMU's registers directly, as Linux's arm-smmu driver would,
 * and uses the edu PCI device as a DMA master behind it (libqos/mmu500.h):
 * ID and reset values, bypass, stream matching and global faults, stage-1
 * translation at 4K and 64K and through TTBR1 with tables built in guest
 * RAM, walks that abort, unsupported configurations, IOTLB capacity and
 * eviction, the walk cache, every invalidation and the sync that completes
 * it, context faults with their syndromes and interrupts, system reset and
 * migration.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "hw/pci/pci_regs.h"
#include "qobject/qdict.h"
#include "libqos/mmu500.h"

static void test_id_regs(void)
{
    QMMU500 *r = qmmu500_start(NULL);

    /* S1TS, SMS, ATOSNS, no AArch32 tables, NUMSIDB 15, NUMSMRG 16 */
    g_assert_cmphex(qmmu500_gr0_read(r, ID0), ==, 0x4f001e10);
    /* 4K pages, NUMPAGENDXB 3 (16 pages), 3 context banks, no S2 ones */
    g_assert_cmphex(qmmu500_gr0_read(r, ID1), ==, 0x30000003);
    /* 4K and 64K granules (never 16K), UBS = OAS = IAS = 48 bits */
    g_assert_cmphex(qmmu500_gr0_read(r, ID2), ==, 0x5555);
    for (uint32_t off = 0x02c; off < ID7; off += 4) {
        g_assert_cmphex(qmmu500_gr0_read(r, off), ==, 0);
    }
    /* r2p1 */
    g_assert_cmphex(qmmu500_gr0_read(r, ID7), ==, 0x21);
    /* The MMU-500's reset values: bypassing, SMCFCFG fixed at 1 */
    g_assert_cmphex(qmmu500_gr0_read(r, SCR0), ==,
                    SCR0_CLIENTPD | SCR0_SMCFCFG);
    g_assert_cmphex(qmmu500_gr0_read(r, SACR), ==, SACR_CACHE_LOCK | 0x1c);
    g_assert_cmphex(qmmu500_gr0_read(r, SGFSR), ==, 0);
    for (int i = 0; i < 16; i++) {
        g_assert_cmphex(qmmu500_gr0_read(r, SMR(i)), ==, 0);
        g_assert_cmphex(qmmu500_gr0_read(r, S2CR(i)), ==, S2CR_TYPE_FAULT);
    }
    for (int n = 0; n < NUM_CB; n++) {
        g_assert_cmphex(qtest_readl(r->qts, GR1(CBAR(n))), ==, 0x20000);
        g_assert_cmphex(qmmu500_cb_read(r, n, CB_SCTLR), ==, 0x100);
        g_assert_cmphex(qmmu500_cb_read(r, n, CB_ACTLR), ==, 0x3);
        g_assert_cmphex(qmmu500_cb_read(r, n, CB_FSR), ==, 0);
    }
    /* ACTLR is read-only until CACHE_LOCK is cleared, as Linux does */
    qmmu500_cb_write(r, 0, CB_ACTLR, 0x1);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_ACTLR), ==, 0x3);
    qmmu500_gr0_write(r, SACR, qmmu500_gr0_read(r, SACR) & ~SACR_CACHE_LOCK);
    qmmu500_cb_write(r, 0, CB_ACTLR, 0x1);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_ACTLR), ==, 0x1);
    qmmu500_stop(r);
}

static void test_id_coherent(void)
{
    QMMU500 *r = qmmu500_start("-global arm-mmu500.coherent-walk=on");

    /* CTTW joins the rest */
    g_assert_cmphex(qmmu500_gr0_read(r, ID0), ==, 0x4f005e10);
    qmmu500_stop(r);
}

static void test_reg_readback(void)
{
    QMMU500 *r = qmmu500_start(NULL);

    qmmu500_gr0_write(r, SMR(5), SMR_ENTRY(0x1234, 0x7));
    qmmu500_gr0_write(r, S2CR(5), S2CR_TYPE_TRANS | 2);
    g_assert_cmphex(qmmu500_gr0_read(r, SMR(5)), ==, 0x80071234);
    g_assert_cmphex(qmmu500_gr0_read(r, S2CR(5)), ==, 2);
    g_assert_cmphex(qmmu500_gr0_read(r, SMR(4)), ==, 0);
    qtest_writel(r->qts, GR1(CBA2R(2)), CBA2R_VA64);
    qtest_writel(r->qts, GR1(CBAR(2)), 0x1f300);
    g_assert_cmphex(qtest_readl(r->qts, GR1(CBA2R(2))), ==, 1);
    g_assert_cmphex(qtest_readl(r->qts, GR1(CBAR(2))), ==, 0x1f300);
    g_assert_cmphex(qtest_readl(r->qts, GR1(CBAR(1))), ==, 0x20000);

    /* TTBR0 as one 64-bit access and as two 32-bit halves */
    qtest_writeq(r->qts, CB(2, CB_TTBR0), 0x00420000fedcb000ULL);
    g_assert_cmphex(qtest_readq(r->qts, CB(2, CB_TTBR0)), ==,
                    0x00420000fedcb000ULL);
    g_assert_cmphex(qmmu500_cb_read(r, 2, CB_TTBR0), ==, 0xfedcb000);
    g_assert_cmphex(qmmu500_cb_read(r, 2, CB_TTBR0 + 4), ==, 0x00420000);
    qmmu500_cb_write(r, 2, CB_TTBR0 + 4, 0x00430001);
    qmmu500_cb_write(r, 2, CB_TTBR0, 0x12345000);
    g_assert_cmphex(qtest_readq(r->qts, CB(2, CB_TTBR0)), ==,
                    0x0043000112345000ULL);
    g_assert_cmphex(qtest_readq(r->qts, CB(1, CB_TTBR0)), ==, 0);

    qmmu500_cb_write(r, 2, CB_TCR, TCR_LINUX);
    qmmu500_cb_write(r, 2, CB_TCR2, TCR2_LINUX);
    qmmu500_cb_write(r, 2, CB_MAIR0, MAIR_LINUX);
    g_assert_cmphex(qmmu500_cb_read(r, 2, CB_TCR), ==, TCR_LINUX);
    g_assert_cmphex(qmmu500_cb_read(r, 2, CB_TCR2), ==, TCR2_LINUX);
    g_assert_cmphex(qmmu500_cb_read(r, 2, CB_MAIR0), ==, MAIR_LINUX);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_MAIR0), ==, 0);
    qmmu500_stop(r);
}

/* sCR0.CLIENTPD: every stream bypasses, even one whose S2CR says fault */
static void test_bypass_clientpd(void)
{
    QMMU500 *r = qmmu500_start(NULL);

    qmmu500_set_stream(r, 0, SMR_ENTRY(EDU_SID, 0), S2CR_TYPE_FAULT);
    qmmu500_gr0_write(r, SCR0, SCR0_CLIENTPD | SCR0_USFCFG);
    qmmu500_fill(r, DATA(0), PAGE_SIZE, 0x10);
    qtest_memset(r->qts, DATA(1), 0, PAGE_SIZE);
    qmmu500_dma_read(r, DATA(0), PAGE_SIZE);
    qmmu500_dma_write(r, DATA(1), PAGE_SIZE);
    qmmu500_check(r, DATA(1), PAGE_SIZE, 0x10);
    g_assert_cmphex(qmmu500_gr0_read(r, SGFSR), ==, 0);
    qmmu500_stop(r);
}

/* An unmatched stream bypasses when sCR0.USFCFG is clear */
static void test_unmatched_bypass(void)
{
    QMMU500 *r = qmmu500_start(NULL);

    qmmu500_seed_buffer(r, 0x20);
    qmmu500_set_stream(r, 0, SMR_ENTRY(EDU_SID + 1, 0), S2CR_TYPE_FAULT);
    qmmu500_gr0_write(r, SCR0, SCR0_LINUX & ~SCR0_USFCFG);
    qtest_memset(r->qts, DATA(1), 0, PAGE_SIZE);
    qmmu500_dma_write(r, DATA(1), PAGE_SIZE);
    qmmu500_check(r, DATA(1), PAGE_SIZE, 0x20);
    g_assert_cmphex(qmmu500_gr0_read(r, SGFSR), ==, 0);
    qmmu500_stop(r);
}

/*
 * With sCR0.USFCFG, a stream no valid SMR matches takes a global fault:
 * sGFSR.USF, the stream in sGFSYNR1, the global interrupt.
 */
static void test_unmatched_fault(void)
{
    QMMU500 *r = qmmu500_start(NULL);

    qmmu500_intercept_irqs(r);
    qmmu500_seed_buffer(r, 0x30);
    qmmu500_set_stream(r, 0, SMR_ENTRY(EDU_SID + 1, 0), S2CR_TYPE_BYPASS);
    /* matches, but not valid */
    qmmu500_set_stream(r, 1, EDU_SID, S2CR_TYPE_BYPASS);
    /* would match but for the one bit the mask leaves */
    qmmu500_set_stream(r, 2, SMR_ENTRY(EDU_SID ^ 0xc, 0x7), S2CR_TYPE_BYPASS);
    qmmu500_gr0_write(r, SCR0, SCR0_LINUX);
    qmmu500_check_irq(r, 0, false);

    qtest_memset(r->qts, DATA(1), 0xee, PAGE_SIZE);
    qmmu500_dma_write(r, DATA(1), 4);
    qmmu500_check_fill(r, DATA(1), PAGE_SIZE, 0xee);
    g_assert_cmphex(qmmu500_gr0_read(r, SGFSR), ==, SGFSR_USF);
    g_assert_cmphex(qmmu500_gr0_read(r, SGFSYNR1) & 0xffff, ==, EDU_SID);
    qmmu500_check_irq(r, 0, true);
    for (int n = 0; n < NUM_CB; n++) {
        qmmu500_check_irq(r, 1 + n, false);
    }

    /* write-1-to-clear */
    qmmu500_gr0_write(r, SGFSR, 0);
    g_assert_cmphex(qmmu500_gr0_read(r, SGFSR), ==, SGFSR_USF);
    qmmu500_check_irq(r, 0, true);
    qmmu500_gr0_write(r, SGFSR, SGFSR_USF);
    g_assert_cmphex(qmmu500_gr0_read(r, SGFSR), ==, 0);
    qmmu500_check_irq(r, 0, false);

    /* GFIE clear: recorded, no interrupt */
    qmmu500_gr0_write(r, SCR0, SCR0_LINUX & ~SCR0_GFIE);
    qmmu500_dma_write(r, DATA(1), 4);
    qmmu500_check_fill(r, DATA(1), PAGE_SIZE, 0xee);
    g_assert_cmphex(qmmu500_gr0_read(r, SGFSR), ==, SGFSR_USF);
    qmmu500_check_irq(r, 0, false);
    qmmu500_stop(r);
}

static void test_s2cr_bypass(void)
{
    QMMU500 *r = qmmu500_start(NULL);

    qmmu500_seed_buffer(r, 0x40);
    qmmu500_set_stream(r, 3, SMR_ENTRY(EDU_SID, 0), S2CR_TYPE_BYPASS);
    qmmu500_gr0_write(r, SCR0, SCR0_LINUX);
    qtest_memset(r->qts, DATA(1), 0, PAGE_SIZE);
    qmmu500_dma_write(r, DATA(1), PAGE_SIZE);
    qmmu500_check(r, DATA(1), PAGE_SIZE, 0x40);
    g_assert_cmphex(qmmu500_gr0_read(r, SGFSR), ==, 0);
    qmmu500_stop(r);
}

static void test_s2cr_fault(void)
{
    QMMU500 *r = qmmu500_start(NULL);

    qmmu500_seed_buffer(r, 0x50);
    qmmu500_set_stream(r, 3, SMR_ENTRY(EDU_SID, 0), S2CR_TYPE_FAULT);
    qmmu500_gr0_write(r, SCR0, SCR0_LINUX);
    qtest_memset(r->qts, DATA(1), 0xee, PAGE_SIZE);
    qmmu500_dma_write(r, DATA(1), PAGE_SIZE);
    qmmu500_check_fill(r, DATA(1), PAGE_SIZE, 0xee);
    for (int n = 0; n < NUM_CB; n++) {
        g_assert_cmphex(qmmu500_cb_read(r, n, CB_FSR), ==, 0);
    }
    qmmu500_stop(r);
}

/*
 * Translation through context bank @n: a read from IOVA(0) sees DATA(0), a
 * write to IOVA(1) lands in DATA(1) and not at the IOVA taken as a PA.
 */
static void check_translation(QMMU500 *r, uint8_t seed)
{
    qmmu500_fill(r, DATA(0), PAGE_SIZE, seed);
    qtest_memset(r->qts, DATA(1), 0, PAGE_SIZE);
    qtest_memset(r->qts, IOVA(1), 0xee, PAGE_SIZE);
    qmmu500_dma_read(r, IOVA(0), PAGE_SIZE);
    qmmu500_dma_write(r, IOVA(1), PAGE_SIZE);
    qmmu500_check(r, DATA(1), PAGE_SIZE, seed);
    qmmu500_check_fill(r, IOVA(1), PAGE_SIZE, 0xee);
}

static void test_smr_exact(void)
{
    QMMU500 *r = qmmu500_start(NULL);

    qmmu500_setup_translation(r, 0, 1);
    qmmu500_map_page(r, 0, IOVA(0), DATA(0), false);
    qmmu500_map_page(r, 0, IOVA(1), DATA(1), true);
    check_translation(r, 0x60);
    g_assert_cmphex(qmmu500_gr0_read(r, SGFSR), ==, 0);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==, 0);
    qmmu500_stop(r);
}

static void test_smr_mask(void)
{
    QMMU500 *r = qmmu500_start(NULL);

    qmmu500_setup_cb(r, 1, 2);
    qmmu500_map_page(r, 1, IOVA(0), DATA(0), false);
    qmmu500_map_page(r, 1, IOVA(1), DATA(1), true);
    /* a different stream, then edu's with its low three bits masked */
    qmmu500_set_stream(r, 0, SMR_ENTRY(EDU_SID ^ 0x8, 0x7), S2CR_TYPE_FAULT);
    qmmu500_set_stream(r, 1, SMR_ENTRY(EDU_SID ^ 0x5, 0x7),
                       S2CR_TYPE_TRANS | 1);
    qmmu500_gr0_write(r, SCR0, SCR0_LINUX);
    check_translation(r, 0x70);
    g_assert_cmphex(qmmu500_gr0_read(r, SGFSR), ==, 0);
    g_assert_cmphex(qmmu500_cb_read(r, 1, CB_FSR), ==, 0);
    qmmu500_stop(r);
}

/* Offsets within a page, and a transfer across two scattered pages */
static void test_translate_offsets(void)
{
    QMMU500 *r = qmmu500_start(NULL);

    qmmu500_setup_translation(r, 0, 3);
    qmmu500_map_page(r, 0, IOVA(0), DATA(7), false);
    qmmu500_map_page(r, 0, IOVA(1), DATA(3), false);
    qmmu500_map_page(r, 0, IOVA_HIGH, DATA(9), true);
    qmmu500_fill(r, DATA(7), PAGE_SIZE, 0x80);
    qmmu500_fill(r, DATA(3), PAGE_SIZE, 0x90);
    qtest_memset(r->qts, DATA(9), 0, PAGE_SIZE);

    /* 0x20 bytes from the end of IOVA(0) on into IOVA(1) */
    qmmu500_dma_read(r, IOVA(0) + PAGE_SIZE - 0x20, 0x40);
    qmmu500_dma_write(r, IOVA_HIGH + 0x123, 0x40);
    qmmu500_check(r, DATA(9) + 0x123, 0x20, (uint8_t)(0x80 + 0xfe0 * 7));
    qmmu500_check(r, DATA(9) + 0x143, 0x20, 0x90);
    qmmu500_check_fill(r, DATA(9), 0x123, 0);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==, 0);
    qmmu500_stop(r);
}

/*
 * A 2 MiB block: any offset in it translates, and an invalidation by VA of
 * any page in the block drops the whole cached block.
 */
static void test_translate_block(void)
{
    QMMU500 *r = qmmu500_start(NULL);
    uint64_t desc;

    qmmu500_setup_translation(r, 0, 6);
    desc = qmmu500_map_block(r, 0, IOVA_BLOCK, PA_BLOCK(0));
    qmmu500_map_page(r, 0, IOVA(1), DATA(1), true);
    qmmu500_fill(r, PA_BLOCK(0) + 0x12000, PAGE_SIZE, 0x11);
    qmmu500_fill(r, PA_BLOCK(1) + 0x12000, PAGE_SIZE, 0x22);
    qtest_memset(r->qts, DATA(1), 0, PAGE_SIZE);
    qmmu500_dma_read(r, IOVA_BLOCK + 0x12000, PAGE_SIZE);
    qmmu500_dma_write(r, IOVA(1), PAGE_SIZE);
    qmmu500_check(r, DATA(1), PAGE_SIZE, 0x11);

    /* repoint the block: stale until invalidated, by another page in it */
    qtest_writeq(r->qts, desc,
                 (qtest_readq(r->qts, desc) & ~PTE_ADDR_MASK) | PA_BLOCK(1));
    qmmu500_dma_read(r, IOVA_BLOCK + 0x12000, PAGE_SIZE);
    qmmu500_dma_write(r, IOVA(1), PAGE_SIZE);
    qmmu500_check(r, DATA(1), PAGE_SIZE, 0x11);
    qtest_writeq(r->qts, CB(0, CB_TLBIVAL),
                 ((IOVA_BLOCK + 0x34000) >> 12) | 6ULL << 48);
    qmmu500_cb_sync(r, 0);
    qmmu500_dma_read(r, IOVA_BLOCK + 0x12000, PAGE_SIZE);
    qmmu500_dma_write(r, IOVA(1), PAGE_SIZE);
    qmmu500_check(r, DATA(1), PAGE_SIZE, 0x22);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==, 0);
    qmmu500_stop(r);
}

typedef enum {
    INV_NONE,
    INV_VA,
    INV_VAL,
    INV_VAA,
    INV_ASID,
    INV_ALL,
    INV_ALLNSNH,
} InvKind;

#define TLB_ASID    0x35

/*
 * IOVA(0) -> DATA(0) is used and so cached, then its PTE is pointed at
 * DATA(2). Until an invalidation covers it, the device still reads DATA(0).
 */
static void tlb_read_through(QMMU500 *r, uint8_t want)
{
    qtest_memset(r->qts, DATA(1), 0, PAGE_SIZE);
    qmmu500_dma_read(r, IOVA(0), PAGE_SIZE);
    qmmu500_dma_write(r, IOVA(1), PAGE_SIZE);
    qmmu500_check(r, DATA(1), PAGE_SIZE, want);
}

static void test_tlb(const void *opaque)
{
    InvKind kind = GPOINTER_TO_INT(opaque);
    QMMU500 *r = qmmu500_start(NULL);
    uint64_t pte, va_op = (IOVA(0) >> 12) | (uint64_t)TLB_ASID << 48;

    qmmu500_setup_translation(r, 0, TLB_ASID);
    pte = qmmu500_map_page(r, 0, IOVA(0), DATA(0), false);
    qmmu500_map_page(r, 0, IOVA(1), DATA(1), true);
    qmmu500_fill(r, DATA(0), PAGE_SIZE, 0xa0);
    qmmu500_fill(r, DATA(2), PAGE_SIZE, 0xb0);

    tlb_read_through(r, 0xa0);
    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | DATA(2));
    /* no invalidation yet: the old translation stays */
    tlb_read_through(r, 0xa0);

    switch (kind) {
    case INV_NONE:
        qmmu500_cb_sync(r, 0);
        break;
    case INV_VA:
    case INV_VAL: {
        uint32_t reg = kind == INV_VA ? CB_TLBIVA : CB_TLBIVAL;

        /* another ASID, then another page: neither touches the entry */
        qtest_writeq(r->qts, CB(0, reg), va_op + (1ULL << 48));
        qmmu500_cb_sync(r, 0);
        tlb_read_through(r, 0xa0);
        qtest_writeq(r->qts, CB(0, reg), va_op + 2);
        qmmu500_cb_sync(r, 0);
        tlb_read_through(r, 0xa0);
        qtest_writeq(r->qts, CB(0, reg), va_op);
        qmmu500_cb_sync(r, 0);
        break;
    }
    case INV_VAA:
        qtest_writeq(r->qts, CB(0, CB_TLBIVAA), (IOVA(0) >> 12) + 2);
        qmmu500_cb_sync(r, 0);
        tlb_read_through(r, 0xa0);
        qtest_writeq(r->qts, CB(0, CB_TLBIVAA), IOVA(0) >> 12);
        qmmu500_cb_sync(r, 0);
        break;
    case INV_ASID:
        qmmu500_cb_write(r, 0, CB_TLBIASID, TLB_ASID + 1);
        qmmu500_cb_sync(r, 0);
        tlb_read_through(r, 0xa0);
        qmmu500_cb_write(r, 0, CB_TLBIASID, TLB_ASID);
        qmmu500_cb_sync(r, 0);
        break;
    case INV_ALL:
        qmmu500_cb_write(r, 0, CB_TLBIALL, 0);
        qmmu500_cb_sync(r, 0);
        break;
    case INV_ALLNSNH:
        qmmu500_gr0_write(r, TLBIALLNSNH, 0);
        qmmu500_gr0_write(r, STLBGSYNC, 0);
        g_assert_cmphex(qmmu500_gr0_read(r, STLBGSTATUS), ==, 0);
        break;
    }
    tlb_read_through(r, kind == INV_NONE ? 0xa0 : 0xb0);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==, 0);
    qmmu500_stop(r);
}

static void test_tlb_sync(void)
{
    QMMU500 *r = qmmu500_start(NULL);

    qmmu500_setup_translation(r, 0, 1);
    for (int n = 0; n < NUM_CB; n++) {
        qmmu500_cb_write(r, n, CB_TLBIASID, 1);
        qmmu500_cb_write(r, n, CB_TLBSYNC, 0);
        g_assert_cmphex(qmmu500_cb_read(r, n, CB_TLBSTATUS), ==, 0);
    }
    qmmu500_gr0_write(r, TLBIALLNSNH, 0);
    qmmu500_gr0_write(r, STLBGSYNC, 0);
    g_assert_cmphex(qmmu500_gr0_read(r, STLBGSTATUS), ==, 0);
    qmmu500_stop(r);
}

static void check_context_fault(QMMU500 *r, int n, uint32_t fsr, uint64_t far,
                                bool write)
{
    g_assert_cmphex(qmmu500_cb_read(r, n, CB_FSR), ==,
                    fsr | FSR_FORMAT_AARCH64);
    g_assert_cmphex(qtest_readq(r->qts, CB(n, CB_FAR)), ==, far);
    g_assert_cmphex(qmmu500_cb_read(r, n, CB_FAR), ==, (uint32_t)far);
    g_assert_cmphex(qmmu500_cb_read(r, n, CB_FAR + 4), ==, far >> 32);
    g_assert_cmphex(qmmu500_cb_read(r, n, CB_FSYNR0) & FSYNR0_WNR, ==,
                    write ? FSYNR0_WNR : 0);
}

static void test_fault_unmapped(void)
{
    QMMU500 *r = qmmu500_start(NULL);

    qmmu500_setup_translation(r, 0, 4);
    qmmu500_map_page(r, 0, IOVA(1), DATA(1), true);

    /* a read, a long way from anything mapped */
    qmmu500_dma_read(r, IOVA_HIGH + 0xabc, 4);
    check_context_fault(r, 0, FSR_TF, IOVA_HIGH + 0xabc, false);
    qmmu500_cb_write(r, 0, CB_FSR, 0);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==,
                    FSR_TF | FSR_FORMAT_AARCH64);
    qmmu500_cb_write(r, 0, CB_FSR, FSR_TF);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==, 0);

    /* a write, next to a mapped page */
    qtest_memset(r->qts, IOVA(2), 0xee, PAGE_SIZE);
    qmmu500_dma_write(r, IOVA(2) + 0x40, 4);
    check_context_fault(r, 0, FSR_TF, IOVA(2) + 0x40, true);
    qmmu500_check_fill(r, IOVA(2), PAGE_SIZE, 0xee);

    /* another fault before the first is cleared: MULTI, first FAR kept */
    qmmu500_dma_write(r, IOVA(3), 4);
    check_context_fault(r, 0, FSR_MULTI | FSR_TF, IOVA(2) + 0x40, true);
    qmmu500_cb_write(r, 0, CB_FSR, FSR_MULTI | FSR_TF);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==, 0);
    g_assert_cmphex(qmmu500_gr0_read(r, SGFSR), ==, 0);
    qmmu500_stop(r);
}

static void test_fault_permission(void)
{
    QMMU500 *r = qmmu500_start(NULL);

    qmmu500_seed_buffer(r, 0xc0);
    qmmu500_setup_translation(r, 0, 5);
    qmmu500_map_page(r, 0, IOVA(0), DATA(0), false);
    qmmu500_map_page(r, 0, IOVA(1), DATA(1), true);
    qmmu500_fill(r, DATA(0), PAGE_SIZE, 0xd0);

    /* a write to the read-only page, before anything is cached */
    qmmu500_dma_write(r, IOVA(0) + 0x100, 4);
    check_context_fault(r, 0, FSR_PF, IOVA(0) + 0x100, true);
    qmmu500_check(r, DATA(0), PAGE_SIZE, 0xd0);
    qmmu500_cb_write(r, 0, CB_FSR, FSR_PF);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==, 0);

    /* reading it is fine */
    check_translation(r, 0xd0);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==, 0);

    /* and a write still faults with the translation cached */
    qmmu500_map_page(r, 0, IOVA(2), DATA(2), false);
    qmmu500_fill(r, DATA(2), PAGE_SIZE, 0xe0);
    qmmu500_dma_read(r, IOVA(2), PAGE_SIZE);
    qmmu500_dma_write(r, IOVA(0) + 0x200, 4);
    check_context_fault(r, 0, FSR_PF, IOVA(0) + 0x200, true);
    qmmu500_check(r, DATA(0), PAGE_SIZE, 0xd0);
    qmmu500_stop(r);
}

/* A fault in context bank 2 raises context interrupt 2, and only that */
static void test_fault_irq(void)
{
    QMMU500 *r = qmmu500_start(NULL);

    qmmu500_intercept_irqs(r);
    qmmu500_setup_cb(r, 0, 1);
    qmmu500_setup_translation(r, 2, 7);
    qmmu500_map_page(r, 2, IOVA(1), DATA(1), true);
    for (int i = 0; i <= NUM_CB; i++) {
        qmmu500_check_irq(r, i, false);
    }

    qmmu500_dma_read(r, IOVA(5), 4);
    check_context_fault(r, 2, FSR_TF, IOVA(5), false);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==, 0);
    g_assert_cmphex(qmmu500_cb_read(r, 1, CB_FSR), ==, 0);
    qmmu500_check_irq(r, 3, true);
    qmmu500_check_irq(r, 0, false);
    qmmu500_check_irq(r, 1, false);
    qmmu500_check_irq(r, 2, false);

    qmmu500_cb_write(r, 2, CB_FSR, FSR_TF);
    g_assert_cmphex(qmmu500_cb_read(r, 2, CB_FSR), ==, 0);
    qmmu500_check_irq(r, 3, false);

    /* CFIE clear: the fault is recorded, the line stays low until set */
    qmmu500_cb_write(r, 2, CB_SCTLR, SCTLR_LINUX & ~SCTLR_CFIE);
    qmmu500_dma_write(r, IOVA(6), 4);
    check_context_fault(r, 2, FSR_TF, IOVA(6), true);
    qmmu500_check_irq(r, 3, false);
    qmmu500_cb_write(r, 2, CB_SCTLR, SCTLR_LINUX);
    qmmu500_check_irq(r, 3, true);
    qmmu500_cb_write(r, 2, CB_FSR, FSR_TF);
    qmmu500_check_irq(r, 3, false);
    qmmu500_stop(r);
}


typedef enum {
    CFG_AARCH32,
    CFG_GRANULE_16K,
    CFG_NESTED,
} BadConfig;

/*
 * Configurations the model does not translate raise a translation fault in
 * the bank, never an abort of QEMU, and the bank works once set right.
 */
static void test_config_unsupported(const void *opaque)
{
    BadConfig bad = GPOINTER_TO_INT(opaque);
    /* the model logs the configuration it cannot walk as a guest error */
    QMMU500 *r = qmmu500_start("-d guest_errors");

    qmmu500_setup_translation(r, 1, 9);
    qmmu500_map_page(r, 1, IOVA(0), DATA(0), false);
    qmmu500_map_page(r, 1, IOVA(1), DATA(1), true);
    switch (bad) {
    case CFG_AARCH32:
        qtest_writel(r->qts, GR1(CBA2R(1)), 0);
        break;
    case CFG_GRANULE_16K:
        /* TG0 = 0b10: 16K, which the MMU-500 does not implement */
        qmmu500_cb_write(r, 1, CB_TCR, TCR_LINUX | (2u << 14));
        break;
    case CFG_NESTED:
        qtest_writel(r->qts, GR1(CBAR(1)), CBAR_TYPE_NESTED);
        break;
    }
    /* twice: a translation fault each time, the configuration logged once */
    for (int i = 0; i < 2; i++) {
        qmmu500_dma_read(r, IOVA(0) + 0x10, 4);
        g_assert_cmphex(qmmu500_cb_read(r, 1, CB_FSR), ==,
                        FSR_TF | FSR_FORMAT_AARCH64);
        g_assert_cmphex(qtest_readq(r->qts, CB(1, CB_FAR)), ==, IOVA(0) + 0x10);
        qmmu500_cb_write(r, 1, CB_FSR, FSR_TF);
    }

    qmmu500_setup_cb(r, 1, 9);
    qmmu500_map_page(r, 1, IOVA(0), DATA(0), false);
    qmmu500_map_page(r, 1, IOVA(1), DATA(1), true);
    qmmu500_fill(r, DATA(0), PAGE_SIZE, 0x31);
    qmmu500_check_reads(r, IOVA(0), 0x31);
    g_assert_cmphex(qmmu500_cb_read(r, 1, CB_FSR), ==, 0);
    qmmu500_stop(r);
}

/*
 * The IOTLB holds tlb-entries translations and, when full, evicts the least
 * recently used one alone. IOVA(1) -> DATA(1) is the copy target and stays
 * recently used; A(i) = IOVA(8 + i) are read, then repointed without any
 * invalidation, so a read that sees the new page shows a miss.
 */
static void test_tlb_capacity(void)
{
    QMMU500 *r = qmmu500_start("-global arm-mmu500.tlb-entries=4");
    uint64_t pte[4];

    qmmu500_setup_translation(r, 0, 2);
    qmmu500_map_page(r, 0, IOVA(1), DATA(1), true);
    for (int i = 0; i < 4; i++) {
        pte[i] = qmmu500_map_page(r, 0, IOVA(8 + i), DATA(8 + i), false);
        qmmu500_fill(r, DATA(8 + i), PAGE_SIZE, 0x10 * i);
        qmmu500_fill(r, DATA(16 + i), PAGE_SIZE, 0x10 * i + 0x80);
    }
    /* [IOVA(1), A0, A1, A2]: full */
    for (int i = 0; i < 3; i++) {
        qmmu500_check_reads(r, IOVA(8 + i), 0x10 * i);
    }
    for (int i = 0; i < 3; i++) {
        qtest_writeq(r->qts, pte[i],
                     (qtest_readq(r->qts, pte[i]) & ~PTE_ADDR_MASK) |
                     DATA(16 + i));
    }
    /* A3 evicts A0 only: A1 is still the old translation */
    qmmu500_check_reads(r, IOVA(11), 0x30);
    qmmu500_check_reads(r, IOVA(9), 0x10);
    /* A0 missed; it evicts A2, the least recently used */
    qmmu500_check_reads(r, IOVA(8), 0x80);
    qmmu500_check_reads(r, IOVA(10), 0xa0);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==, 0);
    qmmu500_stop(r);
}

/*
 * An invalidation takes effect when a sync completes: until then the
 * device may still be served the old translation.
 */
static void test_tlb_unsynced(void)
{
    QMMU500 *r = qmmu500_start(NULL);
    uint64_t pte;

    qmmu500_setup_translation(r, 0, 3);
    pte = qmmu500_map_page(r, 0, IOVA(0), DATA(0), false);
    qmmu500_map_page(r, 0, IOVA(1), DATA(1), true);
    qmmu500_fill(r, DATA(0), PAGE_SIZE, 0x41);
    qmmu500_fill(r, DATA(2), PAGE_SIZE, 0x42);
    qmmu500_check_reads(r, IOVA(0), 0x41);
    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | DATA(2));
    qtest_writeq(r->qts, CB(0, CB_TLBIVAL), (IOVA(0) >> 12) | 3ULL << 48);
    qmmu500_check_reads(r, IOVA(0), 0x41);
    qmmu500_cb_sync(r, 0);
    qmmu500_check_reads(r, IOVA(0), 0x42);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==, 0);
    qmmu500_stop(r);
}

typedef enum {
    WALK_LEAF_ONLY,
    WALK_BY_VA,
    WALK_BY_ASID,
} WalkInv;

/*
 * The walk cache: IOVA(0)'s level-3 table is freed (left as it was, as freed
 * memory is) and a new one installed that maps IOVA(0) elsewhere. A
 * leaf-only invalidation keeps the cached pointer to the old table, so the
 * next walk still reads it; TLBIVA and TLBIASID drop it.
 */
static void test_walk_cache(const void *opaque)
{
    WalkInv inv = GPOINTER_TO_INT(opaque);
    QMMU500 *r = qmmu500_start(NULL);
    uint64_t l2, table;

    qmmu500_setup_translation(r, 0, 4);
    qmmu500_map_page(r, 0, IOVA(0), DATA(0), false);
    qmmu500_map_page(r, 0, IOVA(1), DATA(1), true);
    qmmu500_fill(r, DATA(0), PAGE_SIZE, 0x51);
    qmmu500_fill(r, DATA(2), PAGE_SIZE, 0x52);
    qmmu500_check_reads(r, IOVA(0), 0x51);

    l2 = qmmu500_desc_slot(r, 0, IOVA(0), 2);
    table = qmmu500_pt_alloc(r);
    qtest_writeq(r->qts, table + 8 * ((IOVA(0) >> 12) & 0x1ff),
                 qtest_readq(r->qts, qmmu500_desc_slot(r, 0, IOVA(0), 3)) -
                 DATA(0) + DATA(2));
    qtest_writeq(r->qts, table + 8 * ((IOVA(1) >> 12) & 0x1ff),
                 qtest_readq(r->qts, qmmu500_desc_slot(r, 0, IOVA(1), 3)));
    qtest_writeq(r->qts, l2, table | PTE_TABLE | PTE_VALID);

    switch (inv) {
    case WALK_LEAF_ONLY:
        qtest_writeq(r->qts, CB(0, CB_TLBIVAL), (IOVA(0) >> 12) | 4ULL << 48);
        qtest_writeq(r->qts, CB(0, CB_TLBIVAL), (IOVA(1) >> 12) | 4ULL << 48);
        qmmu500_cb_sync(r, 0);
        qmmu500_check_reads(r, IOVA(0), 0x51);
        qtest_writeq(r->qts, CB(0, CB_TLBIVA), (IOVA(0) >> 12) | 4ULL << 48);
        break;
    case WALK_BY_VA:
        qtest_writeq(r->qts, CB(0, CB_TLBIVA), (IOVA(0) >> 12) | 4ULL << 48);
        qtest_writeq(r->qts, CB(0, CB_TLBIVA), (IOVA(1) >> 12) | 4ULL << 48);
        break;
    case WALK_BY_ASID:
        qmmu500_cb_write(r, 0, CB_TLBIASID, 4);
        break;
    }
    qmmu500_cb_sync(r, 0);
    qmmu500_check_reads(r, IOVA(0), 0x52);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==, 0);
    qmmu500_stop(r);
}

/* What Linux prints of a context fault: FSR, FAR, FSYNR0 and CBFRSYNRA */
static void test_fault_syndrome(void)
{
    QMMU500 *r = qmmu500_start(NULL);
    uint64_t pte;

    qmmu500_setup_cb(r, 0, 1);
    qmmu500_setup_translation(r, 1, 8);
    pte = qmmu500_map_page(r, 1, IOVA(0), DATA(0), true);
    qmmu500_map_page(r, 1, IOVA(1), DATA(1), true);

    /* nothing at level 0 for IOVA_HIGH: a read faults there */
    qmmu500_dma_read(r, IOVA_HIGH, 4);
    g_assert_cmphex(qmmu500_cb_read(r, 1, CB_FSR), ==,
                    FSR_TF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(qmmu500_cb_read(r, 1, CB_FSYNR0), ==, 0);
    g_assert_cmphex(qtest_readl(r->qts, GR1(CBFRSYNRA(1))), ==, EDU_SID);
    g_assert_cmphex(qtest_readl(r->qts, GR1(CBFRSYNRA(0))), ==, 0);
    qmmu500_cb_write(r, 1, CB_FSR, FSR_TF);

    /* a missing page in a present table: level 3, a write */
    qmmu500_dma_write(r, IOVA(2), 4);
    g_assert_cmphex(qmmu500_cb_read(r, 1, CB_FSR), ==,
                    FSR_TF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(qmmu500_cb_read(r, 1, CB_FSYNR0), ==, FSYNR0_WNR | 3);
    qmmu500_cb_write(r, 1, CB_FSR, FSR_TF);

    /* a page without the access flag: an access flag fault at level 3 */
    qtest_writeq(r->qts, pte, qtest_readq(r->qts, pte) & ~PTE_AF);
    qmmu500_dma_read(r, IOVA(0), 4);
    g_assert_cmphex(qmmu500_cb_read(r, 1, CB_FSR), ==,
                    FSR_AFF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(qmmu500_cb_read(r, 1,
                                    CB_FSYNR0) & (FSYNR0_PLVL | FSYNR0_WNR), ==,
                    3);

    /* a table outside RAM: the walk's read fails at level 1, with PTWF */
    qmmu500_cb_write(r, 1, CB_FSR, FSR_AFF);
    qtest_writeq(r->qts, qmmu500_desc_slot(r, 1, IOVA(1), 0),
                 0xfff000000000ULL | PTE_TABLE | PTE_VALID);
    qmmu500_cb_write(r, 1, CB_TLBIASID, 8);
    qmmu500_cb_sync(r, 1);
    qmmu500_dma_read(r, IOVA(1), 4);
    g_assert_cmphex(qmmu500_cb_read(r, 1, CB_FSR), ==,
                    FSR_EF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(qmmu500_cb_read(r, 1, CB_FSYNR0), ==, FSYNR0_PTWF | 1);
    qmmu500_stop(r);
}

/*
 * Which sync completes which invalidation, and what each invalidation
 * matches. Context bank 0 serves edu's stream with VMID 1 and ASID 3; bank 1
 * is programmed (VMID 2, ASID 7) but serves nothing. A page's entry moves to
 * other memory without an invalidation; the case's maintenance follows, and
 * the entry must still be used (the invalidation did not match, or no sync
 * that completes it came) until the right one is done.
 */
typedef enum SyncCase {
    SYNC_WRONG_BANK,
    SYNC_GLOBAL_BY_CONTEXT,
    SYNC_CONTEXT_BY_GLOBAL,
    SYNC_VMID,
    SYNC_ALLH,
    SYNC_ASID,
    SYNC_VAAL,
} SyncCase;

#define SYNC_ASID_CB0       3
#define SYNC_VMID_CB0       1

static void sync_setup(QMMU500 *r)
{
    uint32_t cbar = CBAR_TYPE_S1_S2BYPASS | CBAR_S1_BPSHCFG_NSH |
                    CBAR_S1_MEMATTR_WB;

    qmmu500_setup_translation(r, 0, SYNC_ASID_CB0);
    qmmu500_setup_cb(r, 1, 7);
    qtest_writel(r->qts, GR1(CBAR(0)), cbar | SYNC_VMID_CB0);
    qtest_writel(r->qts, GR1(CBAR(1)), cbar | 2);
}

static void test_sync_scope(const void *opaque)
{
    SyncCase c = GPOINTER_TO_INT(opaque);
    QMMU500 *r = qmmu500_start(NULL);
    uint64_t va = (IOVA(0) >> 12) | (uint64_t)SYNC_ASID_CB0 << 48;
    uint64_t pte;

    sync_setup(r);
    pte = qmmu500_map_page(r, 0, IOVA(0), DATA(0), false);
    qmmu500_map_page(r, 0, IOVA(1), DATA(1), true);
    qmmu500_fill(r, DATA(0), PAGE_SIZE, 0x61);
    qmmu500_fill(r, DATA(2), PAGE_SIZE, 0x62);
    qmmu500_check_reads(r, IOVA(0), 0x61);
    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | DATA(2));

    switch (c) {
    case SYNC_WRONG_BANK:
        /* bank 0's invalidation, synced on bank 1: not complete */
        qtest_writeq(r->qts, CB(0, CB_TLBIVA), va);
        qmmu500_cb_sync(r, 1);
        qmmu500_check_reads(r, IOVA(0), 0x61);
        qmmu500_cb_sync(r, 0);
        break;
    case SYNC_GLOBAL_BY_CONTEXT:
        /* a global invalidation needs the global sync */
        qmmu500_gr0_write(r, TLBIALLNSNH, 0);
        qmmu500_cb_sync(r, 0);
        qmmu500_check_reads(r, IOVA(0), 0x61);
        qmmu500_gr0_write(r, STLBGSYNC, 0);
        break;
    case SYNC_CONTEXT_BY_GLOBAL:
        /* the global sync completes every bank's maintenance */
        qtest_writeq(r->qts, CB(0, CB_TLBIVA), va);
        qmmu500_gr0_write(r, STLBGSYNC, 0);
        break;
    case SYNC_VMID:
        qmmu500_gr0_write(r, TLBIVMID, 2);
        qmmu500_gr0_write(r, STLBGSYNC, 0);
        qmmu500_check_reads(r, IOVA(0), 0x61);
        qmmu500_gr0_write(r, TLBIVMID, SYNC_VMID_CB0);
        qmmu500_gr0_write(r, STLBGSYNC, 0);
        break;
    case SYNC_ALLH:
        /* hypervisor contexts only: bank 0 is not one */
        qmmu500_gr0_write(r, TLBIALLH, 0);
        qmmu500_gr0_write(r, STLBGSYNC, 0);
        qmmu500_check_reads(r, IOVA(0), 0x61);
        qmmu500_gr0_write(r, TLBIALLNSNH, 0);
        qmmu500_gr0_write(r, STLBGSYNC, 0);
        break;
    case SYNC_ASID:
        /* bank 1's ASID, then bank 0's through bank 1's VMID: neither */
        qmmu500_cb_write(r, 0, CB_TLBIASID, 7);
        qmmu500_cb_write(r, 1, CB_TLBIASID, SYNC_ASID_CB0);
        qmmu500_cb_sync(r, 0);
        qmmu500_cb_sync(r, 1);
        qmmu500_check_reads(r, IOVA(0), 0x61);
        qmmu500_cb_write(r, 0, CB_TLBIASID, SYNC_ASID_CB0);
        qmmu500_cb_sync(r, 0);
        break;
    case SYNC_VAAL:
        /* any ASID, leaf only */
        qtest_writeq(r->qts, CB(0, CB_TLBIVAAL), IOVA(0) >> 12);
        qmmu500_cb_sync(r, 0);
        break;
    }
    qmmu500_check_reads(r, IOVA(0), 0x62);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==, 0);
    qmmu500_stop(r);
}

/*
 * Tables the walker cannot read: the SMMU's own registers as the root table
 * or as a level-1 table, and an address with nothing behind it. Each is an
 * external abort on the walk (FSR.EF, FSYNR0.PTWF), and the SMMU answers
 * afterwards: no walk re-enters the device.
 */
static void test_walk_abort(void)
{
    QMMU500 *r = qmmu500_start(NULL);
    uint64_t l0;

    qmmu500_setup_translation(r, 0, 2);
    qmmu500_map_page(r, 0, IOVA(1), DATA(1), true);
    qtest_writeq(r->qts, CB(0, CB_TTBR0), SMMU_BASE | 2ULL << 48);
    qmmu500_dma_read(r, IOVA(0), 4);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==,
                    FSR_EF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSYNR0) &
                    (FSYNR0_PTWF | FSYNR0_PLVL), ==, FSYNR0_PTWF | 0);
    qmmu500_cb_write(r, 0, CB_FSR, FSR_EF);
    g_assert_cmphex(qmmu500_gr0_read(r, ID7), ==, 0x21);

    /* a level-0 descriptor pointing at the context bank registers */
    qtest_writeq(r->qts, CB(0, CB_TTBR0), r->root[0] | 2ULL << 48);
    l0 = r->root[0] + 8 * ((IOVA(0) >> 39) & 0x1ff);
    qtest_writeq(r->qts, l0, (SMMU_BASE + 0x10000) | PTE_TABLE | PTE_VALID);
    qmmu500_cb_write(r, 0, CB_TLBIASID, 2);
    qmmu500_cb_sync(r, 0);
    qmmu500_dma_read(r, IOVA(0), 4);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==,
                    FSR_EF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSYNR0) &
                    (FSYNR0_PTWF | FSYNR0_PLVL), ==, FSYNR0_PTWF | 1);
    qmmu500_cb_write(r, 0, CB_FSR, FSR_EF);

    /* nothing behind the address */
    qtest_writeq(r->qts, l0, 0xfff00000000ULL | PTE_TABLE | PTE_VALID);
    qmmu500_cb_write(r, 0, CB_TLBIASID, 2);
    qmmu500_cb_sync(r, 0);
    qmmu500_dma_read(r, IOVA(0), 4);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==,
                    FSR_EF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(qmmu500_gr0_read(r, ID7), ==, 0x21);
    qmmu500_stop(r);
}

/* 64K granule: 48-bit input, walks start at level 1 */
#define GRANULE_64K             0x10000ULL
#define TCR_64K                 (TCR_LINUX | (1u << 14))
#define IOVA_64K(n)             (0x46000000ULL + GRANULE_64K * (n))
#define PA_64K(n)               (0x45800000ULL + GRANULE_64K * (n))

static uint64_t pt_alloc_64k(QMMU500 *r)
{
    uint64_t table = ROUND_UP(r->pt_next, GRANULE_64K);

    r->pt_next = table + GRANULE_64K;
    qtest_memset(r->qts, table, 0, GRANULE_64K);
    return table;
}

/* Map one 64K page; returns the PTE's address */
static uint64_t map_page_64k(QMMU500 *r, uint64_t root, uint64_t iova,
                             uint64_t pa, bool writable)
{
    static const int shift[] = { 0, 42, 29, 16 };
    uint64_t table = root;
    uint64_t pte;

    for (int level = 1; level < 3; level++) {
        uint64_t slot = table + 8 * ((iova >> shift[level]) & 0x1fff);
        uint64_t desc = qtest_readq(r->qts, slot);

        if (!(desc & PTE_VALID)) {
            desc = pt_alloc_64k(r) | PTE_TABLE | PTE_VALID;
            qtest_writeq(r->qts, slot, desc);
        }
        table = desc & PTE_ADDR_MASK;
    }
    pte = table + 8 * ((iova >> 16) & 0x1fff);
    qtest_writeq(r->qts, pte,
                 pa | PTE_PAGE | PTE_VALID | PTE_AF | PTE_SH_IS | PTE_NG |
                 PTE_AP_UNPRIV | (writable ? 0 : PTE_AP_RDONLY) |
                 PTE_ATTRINDX(MAIR_IDX_CACHE));
    return pte;
}

static void test_granule_64k(void)
{
    QMMU500 *r = qmmu500_start(NULL);
    uint64_t root, pte;

    qmmu500_setup_translation(r, 0, 6);
    root = pt_alloc_64k(r);
    qmmu500_cb_write(r, 0, CB_TCR, TCR_64K);
    qtest_writeq(r->qts, CB(0, CB_TTBR0), root | 6ULL << 48);
    pte = map_page_64k(r, root, IOVA_64K(0), PA_64K(0), false);
    map_page_64k(r, root, IOVA_64K(1), PA_64K(1), true);
    qmmu500_fill(r, PA_64K(0) + 0x9000, PAGE_SIZE, 0x71);
    qmmu500_fill(r, PA_64K(2) + 0x9000, PAGE_SIZE, 0x72);

    /* a 4K read in the middle of the 64K page, written back at the next */
    qtest_memset(r->qts, PA_64K(1), 0, PAGE_SIZE);
    qmmu500_dma_read(r, IOVA_64K(0) + 0x9000, PAGE_SIZE);
    qmmu500_dma_write(r, IOVA_64K(1), PAGE_SIZE);
    qmmu500_check(r, PA_64K(1), PAGE_SIZE, 0x71);

    /* one TLBIVA anywhere in the 64K page invalidates it */
    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | PA_64K(2));
    qtest_writeq(r->qts, CB(0, CB_TLBIVA),
                 ((IOVA_64K(0) + 0x3000) >> 12) | 6ULL << 48);
    qmmu500_cb_sync(r, 0);
    qtest_memset(r->qts, PA_64K(1), 0, PAGE_SIZE);
    qmmu500_dma_read(r, IOVA_64K(0) + 0x9000, PAGE_SIZE);
    qmmu500_dma_write(r, IOVA_64K(1), PAGE_SIZE);
    qmmu500_check(r, PA_64K(1), PAGE_SIZE, 0x72);

    /* unmapped: a translation fault at level 3 */
    qmmu500_dma_read(r, IOVA_64K(5), 4);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==,
                    FSR_TF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSYNR0) & FSYNR0_PLVL, ==, 3);
    qmmu500_stop(r);
}

/*
 * TTBR1: the upper region (T1SZ 16, 4K granule, EPD1 clear) walks its own
 * tables, indexed by VA[47:12] only; a TLBIVA's operand is sign-extended from
 * VA[55], so it names the upper address.
 */
#define IOVA_UPPER(n)           (0xffff000046000000ULL + 0x1000 * (n))
#define TCR_TTBR1               ((TCR_LINUX & ~(1u << 23)) | (16u << 16) | \
                                 (2u << 30))

static void test_ttbr1(void)
{
    QMMU500 *r = qmmu500_start(NULL);
    uint64_t upper, lower, pte;

    qmmu500_setup_translation(r, 0, 5);
    lower = r->root[0];
    upper = qmmu500_pt_alloc(r);
    qmmu500_cb_write(r, 0, CB_TCR, TCR_TTBR1);
    qtest_writeq(r->qts, CB(0, CB_TTBR1), upper);
    qmmu500_map_page(r, 0, IOVA(1), DATA(1), true);
    r->root[0] = upper;
    pte = qmmu500_map_page(r, 0, IOVA_UPPER(0), DATA(0), false);
    r->root[0] = lower;
    qmmu500_fill(r, DATA(0), PAGE_SIZE, 0x51);
    qmmu500_fill(r, DATA(2), PAGE_SIZE, 0x52);
    qmmu500_check_reads(r, IOVA_UPPER(0), 0x51);
    /* the same low bits in the lower region: nothing mapped */
    qmmu500_dma_read(r, IOVA_UPPER(0) & 0xffffffffffffULL, 4);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==,
                    FSR_TF | FSR_FORMAT_AARCH64);
    qmmu500_cb_write(r, 0, CB_FSR, FSR_TF);

    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | DATA(2));
    qtest_writeq(r->qts, CB(0, CB_TLBIVA),
                 ((IOVA_UPPER(0) >> 12) & ((1ULL << 44) - 1)) | 5ULL << 48);
    qmmu500_cb_sync(r, 0);
    qmmu500_check_reads(r, IOVA_UPPER(0), 0x52);

    /* EPD1: walks of the upper region disabled */
    qmmu500_cb_write(r, 0, CB_TCR, TCR_TTBR1 | (1u << 23));
    qmmu500_cb_write(r, 0, CB_TLBIASID, 5);
    qmmu500_cb_sync(r, 0);
    qmmu500_dma_read(r, IOVA_UPPER(0), 4);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==,
                    FSR_TF | FSR_FORMAT_AARCH64);
    qmmu500_stop(r);
}

/*
 * Input size and walk disables: past 2^(64 - T0SZ), or with EPD0 set, a
 * translation fault at level 0.
 */
static void test_fault_region(void)
{
    QMMU500 *r = qmmu500_start(NULL);

    qmmu500_setup_translation(r, 0, 4);
    qmmu500_map_page(r, 0, IOVA(0), DATA(0), false);
    qmmu500_dma_read(r, 1ULL << 48, 4);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==,
                    FSR_TF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSYNR0) & FSYNR0_PLVL, ==, 0);
    qmmu500_cb_write(r, 0, CB_FSR, FSR_TF);
    qmmu500_cb_write(r, 0, CB_TCR, TCR_LINUX | (1u << 7));
    qmmu500_dma_read(r, IOVA(0), 4);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==,
                    FSR_TF | FSR_FORMAT_AARCH64);
    qmmu500_stop(r);
}

/*
 * The ASID: 8 bits without TCR2.AS (TTBR0.ASID[15:8] ignored, as are the
 * operand's), and TTBR1's with TCR.A1.
 */
static void test_asid_width(void)
{
    QMMU500 *r = qmmu500_start(NULL);
    uint64_t pte;

    qmmu500_setup_translation(r, 0, 0x105);
    qmmu500_cb_write(r, 0, CB_TCR2, TCR2_LINUX & ~TCR2_AS);
    pte = qmmu500_map_page(r, 0, IOVA(0), DATA(0), false);
    qmmu500_map_page(r, 0, IOVA(1), DATA(1), true);
    qmmu500_fill(r, DATA(0), PAGE_SIZE, 0x21);
    qmmu500_fill(r, DATA(2), PAGE_SIZE, 0x22);
    qmmu500_check_reads(r, IOVA(0), 0x21);
    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | DATA(2));
    /* ASID 0x205 is 5 on 8 bits: the same ASID */
    qmmu500_cb_write(r, 0, CB_TLBIASID, 0x205);
    qmmu500_cb_sync(r, 0);
    qmmu500_check_reads(r, IOVA(0), 0x22);

    /* A1: the ASID is TTBR1's (9), not TTBR0's (5) */
    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | DATA(0));
    qmmu500_cb_write(r, 0, CB_TCR2, TCR2_LINUX);
    qmmu500_cb_write(r, 0, CB_TCR, TCR_LINUX | (1u << 22));
    qtest_writeq(r->qts, CB(0, CB_TTBR1), 9ULL << 48);
    qmmu500_check_reads(r, IOVA(0), 0x21);
    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | DATA(2));
    qmmu500_cb_write(r, 0, CB_TLBIASID, 0x105);
    qmmu500_cb_sync(r, 0);
    qmmu500_check_reads(r, IOVA(0), 0x21);
    qmmu500_cb_write(r, 0, CB_TLBIASID, 9);
    qmmu500_cb_sync(r, 0);
    qmmu500_check_reads(r, IOVA(0), 0x22);
    qmmu500_stop(r);
}

/* Linux's probe of the SMR widths: 15-bit IDs and masks read back */
static void test_smr_probe(void)
{
    QMMU500 *r = qmmu500_start(NULL);

    qmmu500_gr0_write(r, SMR(0), 0xffff);
    g_assert_cmphex(qmmu500_gr0_read(r, SMR(0)), ==, 0x7fff);
    qmmu500_gr0_write(r, SMR(0), 0x7fffu << 16);
    g_assert_cmphex(qmmu500_gr0_read(r, SMR(0)), ==, 0x7fffu << 16);
    qmmu500_gr0_write(r, SMR(0), 0xffffu << 16);
    g_assert_cmphex(qmmu500_gr0_read(r, SMR(0)), ==, 0xffffu << 16);
    qmmu500_stop(r);
}

/*
 * Global faults other than an unmatched stream: two stream map entries
 * matching (SMCF; sCR0.SMCFCFG is fixed at 1), a context bank the SMMU does
 * not have (UCBF), the reserved S2CR type 3 (a fault context). The first
 * fills sGFAR and the syndromes, the next only sets MULTI.
 */
static void test_global_faults(void)
{
    QMMU500 *r = qmmu500_start(NULL);

    qmmu500_intercept_irqs(r);
    qmmu500_seed_buffer(r, 0x30);
    qmmu500_set_stream(r, 0, SMR_ENTRY(EDU_SID, 0), S2CR_TYPE_BYPASS);
    qmmu500_set_stream(r, 1, SMR_ENTRY(EDU_SID & ~1, 1), S2CR_TYPE_BYPASS);
    qmmu500_gr0_write(r, SCR0, SCR0_LINUX);
    qtest_memset(r->qts, DATA(1), 0xee, PAGE_SIZE);
    qmmu500_dma_write(r, DATA(1) + 0x40, 4);
    qmmu500_check_fill(r, DATA(1), PAGE_SIZE, 0xee);
    g_assert_cmphex(qmmu500_gr0_read(r, SGFSR), ==, SGFSR_SMCF);
    g_assert_cmphex(qtest_readq(r->qts, GR0(SGFAR)), ==, DATA(1) + 0x40);
    g_assert_cmphex(qmmu500_gr0_read(r, SGFSYNR1) & 0xffff, ==, EDU_SID);
    qmmu500_check_irq(r, 0, true);
    qmmu500_dma_write(r, DATA(1), 4);
    g_assert_cmphex(qmmu500_gr0_read(r, SGFSR), ==, SGFSR_SMCF | SGFSR_MULTI);
    qmmu500_gr0_write(r, SGFSR, SGFSR_SMCF | SGFSR_MULTI);
    qmmu500_check_irq(r, 0, false);

    qmmu500_set_stream(r, 1, 0, S2CR_TYPE_BYPASS);
    qmmu500_set_stream(r, 0, SMR_ENTRY(EDU_SID, 0), S2CR_TYPE_TRANS | 5);
    qmmu500_dma_write(r, DATA(1), 4);
    qmmu500_check_fill(r, DATA(1), PAGE_SIZE, 0xee);
    g_assert_cmphex(qmmu500_gr0_read(r, SGFSR), ==, SGFSR_UCBF);
    qmmu500_gr0_write(r, SGFSR, SGFSR_UCBF);

    qmmu500_set_stream(r, 0, SMR_ENTRY(EDU_SID, 0), 3u << 16);
    qmmu500_dma_write(r, DATA(1), 4);
    qmmu500_check_fill(r, DATA(1), PAGE_SIZE, 0xee);
    qmmu500_stop(r);
}

/* A system reset empties the caches and restores the reset values */
static void test_reset(void)
{
    QMMU500 *r = qmmu500_start(NULL);
    uint64_t pte;

    qmmu500_setup_translation(r, 0, 3);
    pte = qmmu500_map_page(r, 0, IOVA(0), DATA(0), false);
    qmmu500_map_page(r, 0, IOVA(1), DATA(1), true);
    qmmu500_fill(r, DATA(0), PAGE_SIZE, 0x11);
    qmmu500_fill(r, DATA(2), PAGE_SIZE, 0x12);
    qmmu500_check_reads(r, IOVA(0), 0x11);
    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | DATA(2));

    qtest_system_reset(r->qts);
    g_assert_cmphex(qmmu500_gr0_read(r, SCR0), ==,
                    SCR0_CLIENTPD | SCR0_SMCFCFG);
    g_assert_cmphex(qmmu500_gr0_read(r, S2CR(0)), ==, S2CR_TYPE_FAULT);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_SCTLR), ==, 0x100);
    g_assert_cmphex(qtest_readq(r->qts, CB(0, CB_TTBR0)), ==, 0);

    /* the same setup over the same tables: the moved entry, not the old */
    /* the reset cleared the PCI BARs too: map edu's again */
    qpci_iounmap(r->edu, r->bar);
    qpci_device_enable(r->edu);
    r->bar = qpci_iomap(r->edu, 0, NULL);
    r->pt_next = PT_POOL;
    qmmu500_setup_translation(r, 0, 3);
    qmmu500_map_page(r, 0, IOVA(0), DATA(2), false);
    qmmu500_map_page(r, 0, IOVA(1), DATA(1), true);
    qmmu500_check_reads(r, IOVA(0), 0x12);
    qmmu500_stop(r);
}

/* Wait for the migration @qts takes part in to complete */
static void wait_migrated(QTestState *qts)
{
    for (int i = 0; i < 1000; i++) {
        QDict *rsp = qtest_qmp(qts, "{ 'execute': 'query-migrate' }");
        QDict *ret = qdict_get_qdict(rsp, "return");
        const char *status = qdict_haskey(ret, "status") ?
                             qdict_get_str(ret, "status") : "none";
        bool done = !strcmp(status, "completed");

        g_assert_cmpstr(status, !=, "failed");
        qobject_unref(rsp);
        if (done) {
            return;
        }
        g_usleep(10 * 1000);
    }
    g_assert_not_reached();
}

/*
 * Migration: the registers and the fault record arrive; the caches start
 * empty, so a translation cached on the source is walked again.
 */
static void test_migration(void)
{
    g_autofree char *path = g_strdup_printf("%s/mmu500-test-%d.mig",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    QMMU500 *r = qmmu500_start(NULL);
    QTestState *dst;

    qmmu500_setup_translation(r, 1, 9);
    qmmu500_map_page(r, 1, IOVA(0), DATA(0), false);
    qmmu500_map_page(r, 1, IOVA(1), DATA(1), true);
    qmmu500_fill(r, DATA(0), PAGE_SIZE, 0x91);
    qmmu500_check_reads(r, IOVA(0), 0x91);
    qmmu500_dma_read(r, IOVA(7), 4);
    g_assert_cmphex(qmmu500_cb_read(r, 1, CB_FSR), ==,
                    FSR_TF | FSR_FORMAT_AARCH64);

    qtest_qmp_assert_success(r->qts, "{ 'execute': 'stop' }");
    qtest_qmp_assert_success(r->qts, "{ 'execute': 'migrate', "
                             "'arguments': { 'uri': %s } }", uri);
    wait_migrated(r->qts);
    dst = qtest_initf("-machine virt,iommu=mmu500 -nodefaults "
                      "-device edu,addr=%d.0,dma_mask=0xffffffffffffffff "
                      "-incoming %s", EDU_SLOT, uri);
    wait_migrated(dst);
    g_assert_cmphex(qtest_readl(dst, GR0(SCR0)), ==,
                    SCR0_LINUX | SCR0_SMCFCFG);
    g_assert_cmphex(qtest_readl(dst, GR0(SMR(0))), ==,
                    SMR_ENTRY(EDU_SID, 0));
    g_assert_cmphex(qtest_readl(dst, GR0(S2CR(0))), ==, S2CR_TYPE_TRANS | 1);
    g_assert_cmphex(qtest_readq(dst, CB(1, CB_TTBR0)), ==,
                    r->root[1] | 9ULL << 48);
    g_assert_cmphex(qtest_readl(dst, CB(1, CB_SCTLR)), ==, SCTLR_LINUX);
    g_assert_cmphex(qtest_readl(dst, CB(1, CB_FSR)), ==,
                    FSR_TF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(qtest_readq(dst, CB(1, CB_FAR)), ==, IOVA(7));
    qtest_quit(dst);
    unlink(path);
    qmmu500_stop(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);


    qtest_add_func("mmu500/id-regs", test_id_regs);
    qtest_add_func("mmu500/id-regs-coherent", test_id_coherent);
    qtest_add_func("mmu500/reg-readback", test_reg_readback);
    qtest_add_func("mmu500/bypass/clientpd", test_bypass_clientpd);
    qtest_add_func("mmu500/bypass/unmatched", test_unmatched_bypass);
    qtest_add_func("mmu500/bypass/s2cr", test_s2cr_bypass);
    qtest_add_func("mmu500/stream/unmatched-fault", test_unmatched_fault);
    qtest_add_func("mmu500/stream/s2cr-fault", test_s2cr_fault);
    qtest_add_func("mmu500/stream/smr-exact", test_smr_exact);
    qtest_add_func("mmu500/stream/smr-mask", test_smr_mask);
    qtest_add_func("mmu500/translate/offsets", test_translate_offsets);
    qtest_add_func("mmu500/translate/block", test_translate_block);
    qtest_add_data_func("mmu500/tlb/stale", GINT_TO_POINTER(INV_NONE),
                        test_tlb);
    qtest_add_data_func("mmu500/tlb/tlbiva", GINT_TO_POINTER(INV_VA),
                        test_tlb);
    qtest_add_data_func("mmu500/tlb/tlbival", GINT_TO_POINTER(INV_VAL),
                        test_tlb);
    qtest_add_data_func("mmu500/tlb/tlbivaa", GINT_TO_POINTER(INV_VAA),
                        test_tlb);
    qtest_add_data_func("mmu500/tlb/tlbiasid", GINT_TO_POINTER(INV_ASID),
                        test_tlb);
    qtest_add_data_func("mmu500/tlb/tlbiall", GINT_TO_POINTER(INV_ALL),
                        test_tlb);
    qtest_add_data_func("mmu500/tlb/tlbiallnsnh",
                        GINT_TO_POINTER(INV_ALLNSNH), test_tlb);
    qtest_add_func("mmu500/tlb/sync", test_tlb_sync);
    qtest_add_func("mmu500/fault/unmapped", test_fault_unmapped);
    qtest_add_func("mmu500/fault/permission", test_fault_permission);
    qtest_add_func("mmu500/fault/irq", test_fault_irq);
    qtest_add_func("mmu500/fault/syndrome", test_fault_syndrome);
    qtest_add_data_func("mmu500/config/aarch32", GINT_TO_POINTER(CFG_AARCH32),
                        test_config_unsupported);
    qtest_add_data_func("mmu500/config/granule-16k",
                        GINT_TO_POINTER(CFG_GRANULE_16K),
                        test_config_unsupported);
    qtest_add_data_func("mmu500/config/nested", GINT_TO_POINTER(CFG_NESTED),
                        test_config_unsupported);
    qtest_add_func("mmu500/tlb/capacity", test_tlb_capacity);
    qtest_add_func("mmu500/tlb/unsynced", test_tlb_unsynced);
    qtest_add_data_func("mmu500/walk-cache/leaf-only",
                        GINT_TO_POINTER(WALK_LEAF_ONLY), test_walk_cache);
    qtest_add_data_func("mmu500/walk-cache/tlbiva",
                        GINT_TO_POINTER(WALK_BY_VA), test_walk_cache);
    qtest_add_data_func("mmu500/walk-cache/tlbiasid",
                        GINT_TO_POINTER(WALK_BY_ASID), test_walk_cache);
    qtest_add_data_func("mmu500/sync/wrong-bank",
                        GINT_TO_POINTER(SYNC_WRONG_BANK), test_sync_scope);
    qtest_add_data_func("mmu500/sync/global-by-context",
                        GINT_TO_POINTER(SYNC_GLOBAL_BY_CONTEXT),
                        test_sync_scope);
    qtest_add_data_func("mmu500/sync/context-by-global",
                        GINT_TO_POINTER(SYNC_CONTEXT_BY_GLOBAL),
                        test_sync_scope);
    qtest_add_data_func("mmu500/tlbi/vmid", GINT_TO_POINTER(SYNC_VMID),
                        test_sync_scope);
    qtest_add_data_func("mmu500/tlbi/allh", GINT_TO_POINTER(SYNC_ALLH),
                        test_sync_scope);
    qtest_add_data_func("mmu500/tlbi/asid", GINT_TO_POINTER(SYNC_ASID),
                        test_sync_scope);
    qtest_add_data_func("mmu500/tlbi/vaal", GINT_TO_POINTER(SYNC_VAAL),
                        test_sync_scope);
    qtest_add_func("mmu500/walk/abort", test_walk_abort);
    qtest_add_func("mmu500/translate/granule-64k", test_granule_64k);
    qtest_add_func("mmu500/translate/ttbr1", test_ttbr1);
    qtest_add_func("mmu500/fault/region", test_fault_region);
    qtest_add_func("mmu500/tlbi/asid-width", test_asid_width);
    qtest_add_func("mmu500/stream/smr-probe", test_smr_probe);
    qtest_add_func("mmu500/stream/global-faults", test_global_faults);
    qtest_add_func("mmu500/reset", test_reset);
    qtest_add_func("mmu500/migration", test_migration);

    return g_test_run();
}
