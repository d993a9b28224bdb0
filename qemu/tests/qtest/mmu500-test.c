/*
 * QTest for the Arm MMU-500 (SMMUv2) model on the virt machine
 *
 * Drives the SMMU's registers directly, as Linux's arm-smmu driver would,
 * and uses the edu PCI device as a DMA master behind it: ID registers,
 * bypass, stream matching, stage-1 translation through tables built in
 * guest RAM, unsupported configurations, IOTLB capacity and eviction, the
 * walk cache, invalidations that wait for a sync, context and global faults
 * with their syndromes and interrupts, the pci-dma-probe device, and the time
 * a TLB sync stays active (tlb-sync-ns).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "libqtest.h"
#include "libqos/pci.h"
#include "libqos/generic-pcihost.h"
#include "hw/pci/pci_regs.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"

#define SMMU_BASE               0x09050000ULL

/* Global register space 0 */
#define GR0(off)                (SMMU_BASE + (off))
#define SCR0                    0x000
#define SACR                    0x010
#define ID0                     0x020
#define ID1                     0x024
#define ID2                     0x028
#define ID7                     0x03c
#define SGFAR                   0x040
#define SGFSR                   0x048
#define SGFSYNR1                0x054
#define TLBIALLNSNH             0x068
#define STLBGSYNC               0x070
#define STLBGSTATUS             0x074
#define SMR(n)                  (0x800 + 4 * (n))
#define S2CR(n)                 (0xc00 + 4 * (n))

#define SCR0_CLIENTPD           (1u << 0)
#define SCR0_GFRE               (1u << 1)
#define SCR0_GFIE               (1u << 2)
#define SCR0_GCFGFRE            (1u << 4)
#define SCR0_GCFGFIE            (1u << 5)
#define SCR0_USFCFG             (1u << 10)
#define SCR0_VMIDPNE            (1u << 11)
#define SCR0_PTM                (1u << 12)
#define SCR0_SMCFCFG            (1u << 21)
#define SACR_CACHE_LOCK         (1u << 26)
/* What Linux's arm_smmu_device_reset() leaves in sCR0 (disable_bypass) */
#define SCR0_LINUX              (SCR0_GFRE | SCR0_GFIE | SCR0_GCFGFRE | \
                                 SCR0_GCFGFIE | SCR0_USFCFG | SCR0_VMIDPNE | \
                                 SCR0_PTM)

#define SGFSR_USF               (1u << 1)
#define SGFSR_SMCF              (1u << 2)
#define SGFSR_UCBF              (1u << 3)
#define SGFSR_MULTI             (1u << 31)
#define TLBIVMID                0x064
#define TLBIALLH                0x06c

#define SMR_VALID               (1u << 31)
#define SMR_ENTRY(id, mask)     (SMR_VALID | ((uint32_t)(mask) << 16) | (id))
#define S2CR_TYPE_TRANS         (0u << 16)
#define S2CR_TYPE_BYPASS        (1u << 16)
#define S2CR_TYPE_FAULT         (2u << 16)

/* Global register space 1 */
#define GR1(off)                (SMMU_BASE + 0x1000 + (off))
#define CBAR(n)                 (0x000 + 4 * (n))
#define CBFRSYNRA(n)            (0x400 + 4 * (n))
#define CBA2R(n)                (0x800 + 4 * (n))
#define CBA2R_VA64              (1u << 0)
#define CBAR_TYPE_S1_S2BYPASS   (1u << 16)
#define CBAR_TYPE_NESTED        (3u << 16)
#define CBAR_S1_BPSHCFG_NSH     (3u << 8)
#define CBAR_S1_MEMATTR_WB      (0xfu << 12)

/* Context banks, from page 16 */
#define CB(n, off)              (SMMU_BASE + 0x10000 + 0x1000 * (n) + (off))
#define CB_SCTLR                0x000
#define CB_ACTLR                0x004
#define CB_TCR2                 0x010
#define CB_TTBR0                0x020
#define CB_TTBR1                0x028
#define CB_TCR                  0x030
#define CB_MAIR0                0x038
#define CB_MAIR1                0x03c
#define CB_FSR                  0x058
#define CB_FAR                  0x060
#define CB_FSYNR0               0x068
#define CB_TLBIVA               0x600
#define CB_TLBIVAA              0x608
#define CB_TLBIASID             0x610
#define CB_TLBIALL              0x618
#define CB_TLBIVAL              0x620
#define CB_TLBIVAAL             0x628
#define CB_TLBSYNC              0x7f0
#define CB_TLBSTATUS            0x7f4
/* TLBSTATUS.SACTIVE, sTLBGSTATUS.GSACTIVE */
#define SYNC_ACTIVE             (1u << 0)

#define SCTLR_M                 (1u << 0)
#define SCTLR_TRE               (1u << 1)
#define SCTLR_AFE               (1u << 2)
#define SCTLR_CFRE              (1u << 5)
#define SCTLR_CFIE              (1u << 6)
#define SCTLR_ASIDPNE           (1u << 12)
#define SCTLR_LINUX             (SCTLR_CFIE | SCTLR_CFRE | SCTLR_AFE | \
                                 SCTLR_TRE | SCTLR_M | SCTLR_ASIDPNE)

/* 48-bit input, 4K granule, inner/outer WBWA, inner shareable, no TTBR1 */
#define TCR_LINUX               (16 | (1u << 8) | (1u << 10) | (3u << 12) | \
                                 (1u << 23))
/* 48-bit PA, 16-bit ASIDs, SEP_UPSTREAM */
#define TCR2_AS                 (1u << 4)
#define TCR2_LINUX              (5 | TCR2_AS | (7u << 15))
/* io-pgtable-arm: NC, WBRWA, device nGnRE, inner NC outer WBRWA */
#define MAIR_LINUX              0xf404ff44u

#define FSR_TF                  (1u << 1)
#define FSR_AFF                 (1u << 2)
#define FSR_PF                  (1u << 3)
#define FSR_EF                  (1u << 4)
#define FSR_MULTI               (1u << 31)
/* FSR.FORMAT: an AArch64 fault record, read while one is recorded */
#define FSR_FORMAT_AARCH64      (2u << 9)
#define FSYNR0_PLVL             3u
#define FSYNR0_WNR              (1u << 4)
#define FSYNR0_PTWF             (1u << 10)

/* Stage-1 descriptors, as io-pgtable-arm writes them */
#define PTE_VALID               (1ULL << 0)
#define PTE_TABLE               (1ULL << 1)
#define PTE_PAGE                (1ULL << 1)
#define PTE_ATTRINDX(i)         ((uint64_t)(i) << 2)
#define PTE_AP_UNPRIV           (1ULL << 6)
#define PTE_AP_RDONLY           (2ULL << 6)
#define PTE_SH_IS               (3ULL << 8)
#define PTE_AF                  (1ULL << 10)
#define PTE_NG                  (1ULL << 11)
#define PTE_ADDR_MASK           0x0000fffffffff000ULL
#define MAIR_IDX_CACHE          1

/* The edu device: DMA registers in BAR0, a 4K buffer at 0x40000 */
#define EDU_DMA_SRC             0x80
#define EDU_DMA_DST             0x88
#define EDU_DMA_CNT             0x90
#define EDU_DMA_CMD             0x98
#define EDU_DMA_RUN             0x1
#define EDU_DMA_TO_PCI_MEM      0x2
#define EDU_BUF                 0x40000
#define EDU_SLOT                4
#define EDU_SID                 (EDU_SLOT << 3)   /* bus 0, function 0 */

/* The pci-dma-probe device */
#define PROBE_SLOT              5
#define PROBE_SID               (PROBE_SLOT << 3)
#define PROBE_IOVA              0x08
#define PROBE_LEN               0x10
#define PROBE_DOORBELL          0x14
#define PROBE_TRANSLATED        0x18
#define PROBE_PROBES            0x1c
#define PROBE_PAGES             0x20
#define PROBE_LEAKED            0x24
#define PROBE_REFUSED           0x28
#define PROBE_MAP_PROBES        0x2c
#define PROBE_MAP_PAGES         0x30
#define PROBE_MISSING           0x34
#define PROBE_UNMAPPED          1
#define PROBE_MAPPED            2

/* Guest RAM (the virt machine's starts at 1 GiB) */
#define PT_POOL                 0x44000000ULL
#define DATA(n)                 (0x45000000ULL + 0x1000 * (n))
/* IOVAs that are RAM addresses too, so a missed translation shows */
#define IOVA(n)                 (0x46000000ULL + 0x1000 * (n))
#define IOVA_HIGH               0x123456789000ULL
/* 2 MiB blocks */
#define BLOCK_SIZE              0x200000ULL
#define IOVA_BLOCK              0x46200000ULL
#define PA_BLOCK(n)             (0x45400000ULL + BLOCK_SIZE * (n))

#define PAGE_SIZE               0x1000
#define NUM_CB                  3

typedef struct Rig {
    QTestState *qts;
    QGenericPCIBus pcibus;
    QPCIDevice *edu;
    QPCIBar bar;
    uint64_t pt_next;
    uint64_t root[NUM_CB];
} Rig;

static uint32_t gr0_read(Rig *r, uint32_t off)
{
    return qtest_readl(r->qts, GR0(off));
}

static void gr0_write(Rig *r, uint32_t off, uint32_t val)
{
    qtest_writel(r->qts, GR0(off), val);
}

static uint32_t cb_read(Rig *r, int n, uint32_t off)
{
    return qtest_readl(r->qts, CB(n, off));
}

static void cb_write(Rig *r, int n, uint32_t off, uint32_t val)
{
    qtest_writel(r->qts, CB(n, off), val);
}

/* The QOM path of the arm-mmu500 device the machine created */
static char *find_smmu(QTestState *qts)
{
    QDict *resp;
    QList *list;
    QListEntry *e;
    char *path = NULL;

    resp = qtest_qmp(qts, "{ 'execute': 'qom-list', 'arguments': "
                     "{ 'path': '/machine/unattached' } }");
    g_assert(qdict_haskey(resp, "return"));
    list = qdict_get_qlist(resp, "return");
    QLIST_FOREACH_ENTRY(list, e) {
        QDict *prop = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(prop, "type"), "child<arm-mmu500>")) {
            g_assert(!path);
            path = g_strdup_printf("/machine/unattached/%s",
                                   qdict_get_str(prop, "name"));
        }
    }
    qobject_unref(resp);
    g_assert(path);
    return path;
}

static Rig *rig_start(const char *extra)
{
    Rig *r = g_new0(Rig, 1);
    uint64_t barsize;

    /* with the stale-translation check, which names what the tests leave */
    r->qts = qtest_initf("-machine virt,iommu=mmu500 -nodefaults "
                         "-global arm-mmu500.check-stale=on "
                         "-device edu,addr=%d.0,dma_mask=0xffffffffffffffff %s",
                         EDU_SLOT, extra ? extra : "");
    qpci_init_generic(&r->pcibus, r->qts, NULL, false);
    r->edu = qpci_device_find(&r->pcibus.bus, QPCI_DEVFN(EDU_SLOT, 0));
    g_assert(r->edu);
    g_assert_cmphex(qpci_config_readw(r->edu, PCI_VENDOR_ID), ==, 0x1234);
    g_assert_cmphex(qpci_config_readw(r->edu, PCI_DEVICE_ID), ==, 0x11e8);
    qpci_device_enable(r->edu);
    r->bar = qpci_iomap(r->edu, 0, &barsize);
    g_assert_cmphex(barsize, ==, 1 * MiB);
    r->pt_next = PT_POOL;
    return r;
}

static void rig_stop(Rig *r)
{
    qpci_iounmap(r->edu, r->bar);
    g_free(r->edu);
    qtest_quit(r->qts);
    g_free(r);
}

/* Watch the SMMU's interrupt lines: qtest irq 0 is global, 1 + n is CB n */
static void intercept_irqs(Rig *r)
{
    g_autofree char *path = find_smmu(r->qts);

    qtest_irq_intercept_out_named(r->qts, path, "sysbus-irq");
}

/* The level of SMMU interrupt @n (0 global, 1 + n context bank n) */
#define check_irq(r, n, level) \
    g_assert_cmphex(qtest_get_irq((r)->qts, (n)), ==, (level))

/* Run one edu DMA and wait for it to complete */
static void edu_dma(Rig *r, uint64_t src, uint64_t dst, uint64_t cnt,
                    uint64_t cmd)
{
    qpci_io_writeq(r->edu, r->bar, EDU_DMA_SRC, src);
    qpci_io_writeq(r->edu, r->bar, EDU_DMA_DST, dst);
    qpci_io_writeq(r->edu, r->bar, EDU_DMA_CNT, cnt);
    qpci_io_writeq(r->edu, r->bar, EDU_DMA_CMD, cmd | EDU_DMA_RUN);
    qtest_clock_step(r->qts, 200 * 1000 * 1000);     /* it runs after 100ms */
    g_assert_cmphex(qpci_io_readq(r->edu, r->bar, EDU_DMA_CMD) & EDU_DMA_RUN,
                    ==, 0);
}

/* The device reads @cnt bytes at @iova into its buffer */
static void dma_read(Rig *r, uint64_t iova, uint64_t cnt)
{
    edu_dma(r, iova, EDU_BUF, cnt, 0);
}

/* The device writes @cnt bytes of its buffer to @iova */
static void dma_write(Rig *r, uint64_t iova, uint64_t cnt)
{
    edu_dma(r, EDU_BUF, iova, cnt, EDU_DMA_TO_PCI_MEM);
}

static void fill(Rig *r, uint64_t pa, size_t len, uint8_t seed)
{
    g_autofree uint8_t *buf = g_malloc(len);

    for (size_t i = 0; i < len; i++) {
        buf[i] = seed + i * 7;
    }
    qtest_memwrite(r->qts, pa, buf, len);
}

static void check(Rig *r, uint64_t pa, size_t len, uint8_t seed)
{
    g_autofree uint8_t *want = g_malloc(len);
    g_autofree uint8_t *got = g_malloc(len);

    for (size_t i = 0; i < len; i++) {
        want[i] = seed + i * 7;
    }
    qtest_memread(r->qts, pa, got, len);
    g_assert_cmpmem(got, len, want, len);
}

static void check_fill(Rig *r, uint64_t pa, size_t len, uint8_t byte)
{
    g_autofree uint8_t *want = g_malloc(len);
    g_autofree uint8_t *got = g_malloc(len);

    memset(want, byte, len);
    qtest_memread(r->qts, pa, got, len);
    g_assert_cmpmem(got, len, want, len);
}

/* Load the device's buffer from RAM while the SMMU is still off */
static void seed_buffer(Rig *r, uint8_t seed)
{
    g_assert_cmphex(gr0_read(r, SCR0) & SCR0_CLIENTPD, ==, SCR0_CLIENTPD);
    fill(r, DATA(100), PAGE_SIZE, seed);
    dma_read(r, DATA(100), PAGE_SIZE);
}

static uint64_t pt_alloc(Rig *r)
{
    uint64_t page = r->pt_next;

    r->pt_next += PAGE_SIZE;
    qtest_memset(r->qts, page, 0, PAGE_SIZE);
    return page;
}

/* Map one 4K page in context bank @n's tables; returns the PTE's address */
static uint64_t map_page(Rig *r, int n, uint64_t iova, uint64_t pa,
                         bool writable)
{
    uint64_t table = r->root[n];
    uint64_t pte;

    for (int level = 0; level < 3; level++) {
        uint64_t slot = table + 8 * ((iova >> (39 - 9 * level)) & 0x1ff);
        uint64_t desc = qtest_readq(r->qts, slot);

        if (!(desc & PTE_VALID)) {
            desc = pt_alloc(r) | PTE_TABLE | PTE_VALID;
            qtest_writeq(r->qts, slot, desc);
        }
        table = desc & PTE_ADDR_MASK;
    }
    pte = table + 8 * ((iova >> 12) & 0x1ff);
    qtest_writeq(r->qts, pte,
                 pa | PTE_PAGE | PTE_VALID | PTE_AF | PTE_SH_IS | PTE_NG |
                 PTE_AP_UNPRIV | (writable ? 0 : PTE_AP_RDONLY) |
                 PTE_ATTRINDX(MAIR_IDX_CACHE));
    return pte;
}

/* Map a 2 MiB block with a level-2 descriptor; returns its address */
static uint64_t map_block(Rig *r, int n, uint64_t iova, uint64_t pa)
{
    uint64_t table = r->root[n];
    uint64_t desc;

    for (int level = 0; level < 2; level++) {
        uint64_t slot = table + 8 * ((iova >> (39 - 9 * level)) & 0x1ff);

        desc = qtest_readq(r->qts, slot);
        if (!(desc & PTE_VALID)) {
            desc = pt_alloc(r) | PTE_TABLE | PTE_VALID;
            qtest_writeq(r->qts, slot, desc);
        }
        table = desc & PTE_ADDR_MASK;
    }
    desc = table + 8 * ((iova >> 21) & 0x1ff);
    qtest_writeq(r->qts, desc,
                 pa | PTE_VALID | PTE_AF | PTE_SH_IS | PTE_NG |
                 PTE_AP_UNPRIV | PTE_AP_RDONLY |
                 PTE_ATTRINDX(MAIR_IDX_CACHE));
    return desc;
}

/* Program context bank @n for stage-1 AArch64, as arm-smmu does */
static void setup_cb(Rig *r, int n, uint16_t asid)
{
    r->root[n] = pt_alloc(r);
    qtest_writel(r->qts, GR1(CBA2R(n)), CBA2R_VA64);
    qtest_writel(r->qts, GR1(CBAR(n)), CBAR_TYPE_S1_S2BYPASS |
                 CBAR_S1_BPSHCFG_NSH | CBAR_S1_MEMATTR_WB);
    cb_write(r, n, CB_TCR2, TCR2_LINUX);
    cb_write(r, n, CB_TCR, TCR_LINUX);
    qtest_writeq(r->qts, CB(n, CB_TTBR0), r->root[n] | (uint64_t)asid << 48);
    qtest_writeq(r->qts, CB(n, CB_TTBR1), (uint64_t)asid << 48);
    cb_write(r, n, CB_MAIR0, MAIR_LINUX);
    cb_write(r, n, CB_MAIR1, 0);
    cb_write(r, n, CB_SCTLR, SCTLR_LINUX);
}

/* Stream map entry @i: SMR then S2CR, written S2CR first as Linux does */
static void set_stream(Rig *r, int i, uint32_t smr, uint32_t s2cr)
{
    gr0_write(r, S2CR(i), s2cr);
    gr0_write(r, SMR(i), smr);
}

/* The usual setup: edu's stream to context bank @n, translation enabled */
static void setup_translation(Rig *r, int n, uint16_t asid)
{
    setup_cb(r, n, asid);
    set_stream(r, 0, SMR_ENTRY(EDU_SID, 0), S2CR_TYPE_TRANS | n);
    gr0_write(r, SCR0, SCR0_LINUX);
}

static void cb_sync(Rig *r, int n)
{
    cb_write(r, n, CB_TLBSYNC, 0);
    g_assert_cmphex(cb_read(r, n, CB_TLBSTATUS), ==, 0);
}

static void test_id_regs(void)
{
    Rig *r = rig_start(NULL);

    /* S1TS, SMS, ATOSNS, no AArch32 tables, NUMSIDB 15, NUMSMRG 16 */
    g_assert_cmphex(gr0_read(r, ID0), ==, 0x4f001e10);
    /* 4K pages, NUMPAGENDXB 3 (16 pages), 3 context banks, no S2 ones */
    g_assert_cmphex(gr0_read(r, ID1), ==, 0x30000003);
    /* 4K and 64K granules (never 16K), UBS = OAS = IAS = 48 bits */
    g_assert_cmphex(gr0_read(r, ID2), ==, 0x5555);
    for (uint32_t off = 0x02c; off < ID7; off += 4) {
        g_assert_cmphex(gr0_read(r, off), ==, 0);
    }
    /* r2p1 */
    g_assert_cmphex(gr0_read(r, ID7), ==, 0x21);
    /* The MMU-500's reset values: bypassing, SMCFCFG fixed at 1 */
    g_assert_cmphex(gr0_read(r, SCR0), ==, SCR0_CLIENTPD | SCR0_SMCFCFG);
    g_assert_cmphex(gr0_read(r, SACR), ==, SACR_CACHE_LOCK | 0x1c);
    g_assert_cmphex(gr0_read(r, SGFSR), ==, 0);
    for (int i = 0; i < 16; i++) {
        g_assert_cmphex(gr0_read(r, SMR(i)), ==, 0);
        g_assert_cmphex(gr0_read(r, S2CR(i)), ==, S2CR_TYPE_FAULT);
    }
    for (int n = 0; n < NUM_CB; n++) {
        g_assert_cmphex(qtest_readl(r->qts, GR1(CBAR(n))), ==, 0x20000);
        g_assert_cmphex(cb_read(r, n, CB_SCTLR), ==, 0x100);
        g_assert_cmphex(cb_read(r, n, CB_ACTLR), ==, 0x3);
        g_assert_cmphex(cb_read(r, n, CB_FSR), ==, 0);
    }
    /* ACTLR is read-only until CACHE_LOCK is cleared, as Linux does */
    cb_write(r, 0, CB_ACTLR, 0x1);
    g_assert_cmphex(cb_read(r, 0, CB_ACTLR), ==, 0x3);
    gr0_write(r, SACR, gr0_read(r, SACR) & ~SACR_CACHE_LOCK);
    cb_write(r, 0, CB_ACTLR, 0x1);
    g_assert_cmphex(cb_read(r, 0, CB_ACTLR), ==, 0x1);
    rig_stop(r);
}

static void test_id_coherent(void)
{
    Rig *r = rig_start("-global arm-mmu500.coherent-walk=on");

    /* CTTW joins the rest */
    g_assert_cmphex(gr0_read(r, ID0), ==, 0x4f005e10);
    rig_stop(r);
}

static void test_reg_readback(void)
{
    Rig *r = rig_start(NULL);

    gr0_write(r, SMR(5), SMR_ENTRY(0x1234, 0x7));
    gr0_write(r, S2CR(5), S2CR_TYPE_TRANS | 2);
    g_assert_cmphex(gr0_read(r, SMR(5)), ==, 0x80071234);
    g_assert_cmphex(gr0_read(r, S2CR(5)), ==, 2);
    g_assert_cmphex(gr0_read(r, SMR(4)), ==, 0);
    qtest_writel(r->qts, GR1(CBA2R(2)), CBA2R_VA64);
    qtest_writel(r->qts, GR1(CBAR(2)), 0x1f300);
    g_assert_cmphex(qtest_readl(r->qts, GR1(CBA2R(2))), ==, 1);
    g_assert_cmphex(qtest_readl(r->qts, GR1(CBAR(2))), ==, 0x1f300);
    g_assert_cmphex(qtest_readl(r->qts, GR1(CBAR(1))), ==, 0x20000);

    /* TTBR0 as one 64-bit access and as two 32-bit halves */
    qtest_writeq(r->qts, CB(2, CB_TTBR0), 0x00420000fedcb000ULL);
    g_assert_cmphex(qtest_readq(r->qts, CB(2, CB_TTBR0)), ==,
                    0x00420000fedcb000ULL);
    g_assert_cmphex(cb_read(r, 2, CB_TTBR0), ==, 0xfedcb000);
    g_assert_cmphex(cb_read(r, 2, CB_TTBR0 + 4), ==, 0x00420000);
    cb_write(r, 2, CB_TTBR0 + 4, 0x00430001);
    cb_write(r, 2, CB_TTBR0, 0x12345000);
    g_assert_cmphex(qtest_readq(r->qts, CB(2, CB_TTBR0)), ==,
                    0x0043000112345000ULL);
    g_assert_cmphex(qtest_readq(r->qts, CB(1, CB_TTBR0)), ==, 0);

    cb_write(r, 2, CB_TCR, TCR_LINUX);
    cb_write(r, 2, CB_TCR2, TCR2_LINUX);
    cb_write(r, 2, CB_MAIR0, MAIR_LINUX);
    g_assert_cmphex(cb_read(r, 2, CB_TCR), ==, TCR_LINUX);
    g_assert_cmphex(cb_read(r, 2, CB_TCR2), ==, TCR2_LINUX);
    g_assert_cmphex(cb_read(r, 2, CB_MAIR0), ==, MAIR_LINUX);
    g_assert_cmphex(cb_read(r, 0, CB_MAIR0), ==, 0);
    rig_stop(r);
}

/* sCR0.CLIENTPD: every stream bypasses, even one whose S2CR says fault */
static void test_bypass_clientpd(void)
{
    Rig *r = rig_start(NULL);

    set_stream(r, 0, SMR_ENTRY(EDU_SID, 0), S2CR_TYPE_FAULT);
    gr0_write(r, SCR0, SCR0_CLIENTPD | SCR0_USFCFG);
    fill(r, DATA(0), PAGE_SIZE, 0x10);
    qtest_memset(r->qts, DATA(1), 0, PAGE_SIZE);
    dma_read(r, DATA(0), PAGE_SIZE);
    dma_write(r, DATA(1), PAGE_SIZE);
    check(r, DATA(1), PAGE_SIZE, 0x10);
    g_assert_cmphex(gr0_read(r, SGFSR), ==, 0);
    rig_stop(r);
}

/* An unmatched stream bypasses when sCR0.USFCFG is clear */
static void test_unmatched_bypass(void)
{
    Rig *r = rig_start(NULL);

    seed_buffer(r, 0x20);
    set_stream(r, 0, SMR_ENTRY(EDU_SID + 1, 0), S2CR_TYPE_FAULT);
    gr0_write(r, SCR0, SCR0_LINUX & ~SCR0_USFCFG);
    qtest_memset(r->qts, DATA(1), 0, PAGE_SIZE);
    dma_write(r, DATA(1), PAGE_SIZE);
    check(r, DATA(1), PAGE_SIZE, 0x20);
    g_assert_cmphex(gr0_read(r, SGFSR), ==, 0);
    rig_stop(r);
}

/*
 * With sCR0.USFCFG, a stream no valid SMR matches takes a global fault:
 * sGFSR.USF, the stream in sGFSYNR1, the global interrupt.
 */
static void test_unmatched_fault(void)
{
    Rig *r = rig_start(NULL);

    intercept_irqs(r);
    seed_buffer(r, 0x30);
    set_stream(r, 0, SMR_ENTRY(EDU_SID + 1, 0), S2CR_TYPE_BYPASS);
    /* matches, but not valid */
    set_stream(r, 1, EDU_SID, S2CR_TYPE_BYPASS);
    /* would match but for the one bit the mask leaves */
    set_stream(r, 2, SMR_ENTRY(EDU_SID ^ 0xc, 0x7), S2CR_TYPE_BYPASS);
    gr0_write(r, SCR0, SCR0_LINUX);
    check_irq(r, 0, false);

    qtest_memset(r->qts, DATA(1), 0xee, PAGE_SIZE);
    dma_write(r, DATA(1), 4);
    check_fill(r, DATA(1), PAGE_SIZE, 0xee);
    g_assert_cmphex(gr0_read(r, SGFSR), ==, SGFSR_USF);
    g_assert_cmphex(gr0_read(r, SGFSYNR1) & 0xffff, ==, EDU_SID);
    check_irq(r, 0, true);
    for (int n = 0; n < NUM_CB; n++) {
        check_irq(r, 1 + n, false);
    }

    /* write-1-to-clear */
    gr0_write(r, SGFSR, 0);
    g_assert_cmphex(gr0_read(r, SGFSR), ==, SGFSR_USF);
    check_irq(r, 0, true);
    gr0_write(r, SGFSR, SGFSR_USF);
    g_assert_cmphex(gr0_read(r, SGFSR), ==, 0);
    check_irq(r, 0, false);

    /* GFIE clear: recorded, no interrupt */
    gr0_write(r, SCR0, SCR0_LINUX & ~SCR0_GFIE);
    dma_write(r, DATA(1), 4);
    check_fill(r, DATA(1), PAGE_SIZE, 0xee);
    g_assert_cmphex(gr0_read(r, SGFSR), ==, SGFSR_USF);
    check_irq(r, 0, false);
    rig_stop(r);
}

static void test_s2cr_bypass(void)
{
    Rig *r = rig_start(NULL);

    seed_buffer(r, 0x40);
    set_stream(r, 3, SMR_ENTRY(EDU_SID, 0), S2CR_TYPE_BYPASS);
    gr0_write(r, SCR0, SCR0_LINUX);
    qtest_memset(r->qts, DATA(1), 0, PAGE_SIZE);
    dma_write(r, DATA(1), PAGE_SIZE);
    check(r, DATA(1), PAGE_SIZE, 0x40);
    g_assert_cmphex(gr0_read(r, SGFSR), ==, 0);
    rig_stop(r);
}

static void test_s2cr_fault(void)
{
    Rig *r = rig_start(NULL);

    seed_buffer(r, 0x50);
    set_stream(r, 3, SMR_ENTRY(EDU_SID, 0), S2CR_TYPE_FAULT);
    gr0_write(r, SCR0, SCR0_LINUX);
    qtest_memset(r->qts, DATA(1), 0xee, PAGE_SIZE);
    dma_write(r, DATA(1), PAGE_SIZE);
    check_fill(r, DATA(1), PAGE_SIZE, 0xee);
    for (int n = 0; n < NUM_CB; n++) {
        g_assert_cmphex(cb_read(r, n, CB_FSR), ==, 0);
    }
    rig_stop(r);
}

/*
 * Translation through context bank @n: a read from IOVA(0) sees DATA(0), a
 * write to IOVA(1) lands in DATA(1) and not at the IOVA taken as a PA.
 */
static void check_translation(Rig *r, uint8_t seed)
{
    fill(r, DATA(0), PAGE_SIZE, seed);
    qtest_memset(r->qts, DATA(1), 0, PAGE_SIZE);
    qtest_memset(r->qts, IOVA(1), 0xee, PAGE_SIZE);
    dma_read(r, IOVA(0), PAGE_SIZE);
    dma_write(r, IOVA(1), PAGE_SIZE);
    check(r, DATA(1), PAGE_SIZE, seed);
    check_fill(r, IOVA(1), PAGE_SIZE, 0xee);
}

static void test_smr_exact(void)
{
    Rig *r = rig_start(NULL);

    setup_translation(r, 0, 1);
    map_page(r, 0, IOVA(0), DATA(0), false);
    map_page(r, 0, IOVA(1), DATA(1), true);
    check_translation(r, 0x60);
    g_assert_cmphex(gr0_read(r, SGFSR), ==, 0);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, 0);
    rig_stop(r);
}

static void test_smr_mask(void)
{
    Rig *r = rig_start(NULL);

    setup_cb(r, 1, 2);
    map_page(r, 1, IOVA(0), DATA(0), false);
    map_page(r, 1, IOVA(1), DATA(1), true);
    /* a different stream, then edu's with its low three bits masked */
    set_stream(r, 0, SMR_ENTRY(EDU_SID ^ 0x8, 0x7), S2CR_TYPE_FAULT);
    set_stream(r, 1, SMR_ENTRY(EDU_SID ^ 0x5, 0x7), S2CR_TYPE_TRANS | 1);
    gr0_write(r, SCR0, SCR0_LINUX);
    check_translation(r, 0x70);
    g_assert_cmphex(gr0_read(r, SGFSR), ==, 0);
    g_assert_cmphex(cb_read(r, 1, CB_FSR), ==, 0);
    rig_stop(r);
}

/* Offsets within a page, and a transfer across two scattered pages */
static void test_translate_offsets(void)
{
    Rig *r = rig_start(NULL);

    setup_translation(r, 0, 3);
    map_page(r, 0, IOVA(0), DATA(7), false);
    map_page(r, 0, IOVA(1), DATA(3), false);
    map_page(r, 0, IOVA_HIGH, DATA(9), true);
    fill(r, DATA(7), PAGE_SIZE, 0x80);
    fill(r, DATA(3), PAGE_SIZE, 0x90);
    qtest_memset(r->qts, DATA(9), 0, PAGE_SIZE);

    /* 0x20 bytes from the end of IOVA(0) on into IOVA(1) */
    dma_read(r, IOVA(0) + PAGE_SIZE - 0x20, 0x40);
    dma_write(r, IOVA_HIGH + 0x123, 0x40);
    check(r, DATA(9) + 0x123, 0x20, (uint8_t)(0x80 + 0xfe0 * 7));
    check(r, DATA(9) + 0x143, 0x20, 0x90);
    check_fill(r, DATA(9), 0x123, 0);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, 0);
    rig_stop(r);
}

/*
 * A 2 MiB block: any offset in it translates, and an invalidation by VA of
 * any page in the block drops the whole cached block.
 */
static void test_translate_block(void)
{
    Rig *r = rig_start(NULL);
    uint64_t desc;

    setup_translation(r, 0, 6);
    desc = map_block(r, 0, IOVA_BLOCK, PA_BLOCK(0));
    map_page(r, 0, IOVA(1), DATA(1), true);
    fill(r, PA_BLOCK(0) + 0x12000, PAGE_SIZE, 0x11);
    fill(r, PA_BLOCK(1) + 0x12000, PAGE_SIZE, 0x22);
    qtest_memset(r->qts, DATA(1), 0, PAGE_SIZE);
    dma_read(r, IOVA_BLOCK + 0x12000, PAGE_SIZE);
    dma_write(r, IOVA(1), PAGE_SIZE);
    check(r, DATA(1), PAGE_SIZE, 0x11);

    /* repoint the block: stale until invalidated, by another page in it */
    qtest_writeq(r->qts, desc,
                 (qtest_readq(r->qts, desc) & ~PTE_ADDR_MASK) | PA_BLOCK(1));
    dma_read(r, IOVA_BLOCK + 0x12000, PAGE_SIZE);
    dma_write(r, IOVA(1), PAGE_SIZE);
    check(r, DATA(1), PAGE_SIZE, 0x11);
    qtest_writeq(r->qts, CB(0, CB_TLBIVAL),
                 ((IOVA_BLOCK + 0x34000) >> 12) | 6ULL << 48);
    cb_sync(r, 0);
    dma_read(r, IOVA_BLOCK + 0x12000, PAGE_SIZE);
    dma_write(r, IOVA(1), PAGE_SIZE);
    check(r, DATA(1), PAGE_SIZE, 0x22);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, 0);
    rig_stop(r);
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
static void tlb_read_through(Rig *r, uint8_t want)
{
    qtest_memset(r->qts, DATA(1), 0, PAGE_SIZE);
    dma_read(r, IOVA(0), PAGE_SIZE);
    dma_write(r, IOVA(1), PAGE_SIZE);
    check(r, DATA(1), PAGE_SIZE, want);
}

static void test_tlb(const void *opaque)
{
    InvKind kind = GPOINTER_TO_INT(opaque);
    Rig *r = rig_start(NULL);
    uint64_t pte, va_op = (IOVA(0) >> 12) | (uint64_t)TLB_ASID << 48;

    setup_translation(r, 0, TLB_ASID);
    pte = map_page(r, 0, IOVA(0), DATA(0), false);
    map_page(r, 0, IOVA(1), DATA(1), true);
    fill(r, DATA(0), PAGE_SIZE, 0xa0);
    fill(r, DATA(2), PAGE_SIZE, 0xb0);

    tlb_read_through(r, 0xa0);
    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | DATA(2));
    /* no invalidation yet: the old translation stays */
    tlb_read_through(r, 0xa0);

    switch (kind) {
    case INV_NONE:
        cb_sync(r, 0);
        break;
    case INV_VA:
    case INV_VAL: {
        uint32_t reg = kind == INV_VA ? CB_TLBIVA : CB_TLBIVAL;

        /* another ASID, then another page: neither touches the entry */
        qtest_writeq(r->qts, CB(0, reg), va_op + (1ULL << 48));
        cb_sync(r, 0);
        tlb_read_through(r, 0xa0);
        qtest_writeq(r->qts, CB(0, reg), va_op + 2);
        cb_sync(r, 0);
        tlb_read_through(r, 0xa0);
        qtest_writeq(r->qts, CB(0, reg), va_op);
        cb_sync(r, 0);
        break;
    }
    case INV_VAA:
        qtest_writeq(r->qts, CB(0, CB_TLBIVAA), (IOVA(0) >> 12) + 2);
        cb_sync(r, 0);
        tlb_read_through(r, 0xa0);
        qtest_writeq(r->qts, CB(0, CB_TLBIVAA), IOVA(0) >> 12);
        cb_sync(r, 0);
        break;
    case INV_ASID:
        cb_write(r, 0, CB_TLBIASID, TLB_ASID + 1);
        cb_sync(r, 0);
        tlb_read_through(r, 0xa0);
        cb_write(r, 0, CB_TLBIASID, TLB_ASID);
        cb_sync(r, 0);
        break;
    case INV_ALL:
        cb_write(r, 0, CB_TLBIALL, 0);
        cb_sync(r, 0);
        break;
    case INV_ALLNSNH:
        gr0_write(r, TLBIALLNSNH, 0);
        gr0_write(r, STLBGSYNC, 0);
        g_assert_cmphex(gr0_read(r, STLBGSTATUS), ==, 0);
        break;
    }
    tlb_read_through(r, kind == INV_NONE ? 0xa0 : 0xb0);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, 0);
    rig_stop(r);
}

static void test_tlb_sync(void)
{
    Rig *r = rig_start(NULL);

    setup_translation(r, 0, 1);
    for (int n = 0; n < NUM_CB; n++) {
        cb_write(r, n, CB_TLBIASID, 1);
        cb_write(r, n, CB_TLBSYNC, 0);
        g_assert_cmphex(cb_read(r, n, CB_TLBSTATUS), ==, 0);
    }
    gr0_write(r, TLBIALLNSNH, 0);
    gr0_write(r, STLBGSYNC, 0);
    g_assert_cmphex(gr0_read(r, STLBGSTATUS), ==, 0);
    rig_stop(r);
}

/* The arm-mmu500 tlb-sync-ns the timing tests give */
#define SYNC_NS                 1600

/* A sync written to @sync stays active in @status for SYNC_NS, then ends */
static void check_sync_wait(Rig *r, uint64_t sync, uint64_t status)
{
    qtest_writel(r->qts, sync, 0);
    g_assert_cmphex(qtest_readl(r->qts, status), ==, SYNC_ACTIVE);
    qtest_clock_step(r->qts, SYNC_NS - 1);
    g_assert_cmphex(qtest_readl(r->qts, status), ==, SYNC_ACTIVE);
    qtest_clock_step(r->qts, 1);
    g_assert_cmphex(qtest_readl(r->qts, status), ==, 0);

    /* One written while another is active waits SYNC_NS from its own write */
    qtest_writel(r->qts, sync, 0);
    qtest_clock_step(r->qts, SYNC_NS / 2);
    qtest_writel(r->qts, sync, 0);
    qtest_clock_step(r->qts, SYNC_NS - 1);
    g_assert_cmphex(qtest_readl(r->qts, status), ==, SYNC_ACTIVE);
    qtest_clock_step(r->qts, 1);
    g_assert_cmphex(qtest_readl(r->qts, status), ==, 0);
}

/*
 * tlb-sync-ns: each bank's TLBSYNC and the global sTLBGSYNC stay active in
 * their status register for that long of virtual time, independently, so
 * that the driver's poll loop spends the wait; polling does not end it.
 */
static void test_timing_sync(void)
{
    Rig *r = rig_start("-global arm-mmu500.tlb-sync-ns="
                       stringify(SYNC_NS));

    setup_translation(r, 0, 1);
    for (int n = 0; n < NUM_CB; n++) {
        g_assert_cmphex(cb_read(r, n, CB_TLBSTATUS), ==, 0);
    }
    g_assert_cmphex(gr0_read(r, STLBGSTATUS), ==, 0);

    cb_write(r, 1, CB_TLBSYNC, 0);
    for (int i = 0; i < 100; i++) {
        g_assert_cmphex(cb_read(r, 1, CB_TLBSTATUS), ==, SYNC_ACTIVE);
    }
    g_assert_cmphex(cb_read(r, 0, CB_TLBSTATUS), ==, 0);
    g_assert_cmphex(cb_read(r, 2, CB_TLBSTATUS), ==, 0);
    g_assert_cmphex(gr0_read(r, STLBGSTATUS), ==, 0);
    qtest_clock_step(r->qts, SYNC_NS);
    g_assert_cmphex(cb_read(r, 1, CB_TLBSTATUS), ==, 0);

    for (int n = 0; n < NUM_CB; n++) {
        check_sync_wait(r, CB(n, CB_TLBSYNC), CB(n, CB_TLBSTATUS));
    }
    check_sync_wait(r, GR0(STLBGSYNC), GR0(STLBGSTATUS));
    for (int n = 0; n < NUM_CB; n++) {
        g_assert_cmphex(cb_read(r, n, CB_TLBSTATUS), ==, 0);
    }
    rig_stop(r);
}

/*
 * With no sync time (the default) a sync is complete when it is written.
 * Register accesses move no clock: without a vCPU (qtest) reg-access-ns has
 * no one to charge, and with the default nothing is charged at all.
 */
static void test_timing_free(const void *opaque)
{
    Rig *r = rig_start(opaque);
    int64_t before;

    setup_translation(r, 0, 1);
    before = qtest_clock_step(r->qts, 1);
    for (int i = 0; i < 100; i++) {
        for (int n = 0; n < NUM_CB; n++) {
            cb_write(r, n, CB_TLBIASID, 1);
            cb_write(r, n, CB_TLBSYNC, 0);
            g_assert_cmphex(cb_read(r, n, CB_TLBSTATUS), ==, 0);
        }
        gr0_write(r, TLBIALLNSNH, 0);
        gr0_write(r, STLBGSYNC, 0);
        g_assert_cmphex(gr0_read(r, STLBGSTATUS), ==, 0);
    }
    g_assert_cmphex(qtest_clock_step(r->qts, 1), ==, before + 1);
    rig_stop(r);
}

static void check_context_fault(Rig *r, int n, uint32_t fsr, uint64_t far,
                                bool write)
{
    g_assert_cmphex(cb_read(r, n, CB_FSR), ==, fsr | FSR_FORMAT_AARCH64);
    g_assert_cmphex(qtest_readq(r->qts, CB(n, CB_FAR)), ==, far);
    g_assert_cmphex(cb_read(r, n, CB_FAR), ==, (uint32_t)far);
    g_assert_cmphex(cb_read(r, n, CB_FAR + 4), ==, far >> 32);
    g_assert_cmphex(cb_read(r, n, CB_FSYNR0) & FSYNR0_WNR, ==,
                    write ? FSYNR0_WNR : 0);
}

static void test_fault_unmapped(void)
{
    Rig *r = rig_start(NULL);

    setup_translation(r, 0, 4);
    map_page(r, 0, IOVA(1), DATA(1), true);

    /* a read, a long way from anything mapped */
    dma_read(r, IOVA_HIGH + 0xabc, 4);
    check_context_fault(r, 0, FSR_TF, IOVA_HIGH + 0xabc, false);
    cb_write(r, 0, CB_FSR, 0);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, FSR_TF | FSR_FORMAT_AARCH64);
    cb_write(r, 0, CB_FSR, FSR_TF);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, 0);

    /* a write, next to a mapped page */
    qtest_memset(r->qts, IOVA(2), 0xee, PAGE_SIZE);
    dma_write(r, IOVA(2) + 0x40, 4);
    check_context_fault(r, 0, FSR_TF, IOVA(2) + 0x40, true);
    check_fill(r, IOVA(2), PAGE_SIZE, 0xee);

    /* another fault before the first is cleared: MULTI, first FAR kept */
    dma_write(r, IOVA(3), 4);
    check_context_fault(r, 0, FSR_MULTI | FSR_TF, IOVA(2) + 0x40, true);
    cb_write(r, 0, CB_FSR, FSR_MULTI | FSR_TF);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, 0);
    g_assert_cmphex(gr0_read(r, SGFSR), ==, 0);
    rig_stop(r);
}

static void test_fault_permission(void)
{
    Rig *r = rig_start(NULL);

    seed_buffer(r, 0xc0);
    setup_translation(r, 0, 5);
    map_page(r, 0, IOVA(0), DATA(0), false);
    map_page(r, 0, IOVA(1), DATA(1), true);
    fill(r, DATA(0), PAGE_SIZE, 0xd0);

    /* a write to the read-only page, before anything is cached */
    dma_write(r, IOVA(0) + 0x100, 4);
    check_context_fault(r, 0, FSR_PF, IOVA(0) + 0x100, true);
    check(r, DATA(0), PAGE_SIZE, 0xd0);
    cb_write(r, 0, CB_FSR, FSR_PF);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, 0);

    /* reading it is fine */
    check_translation(r, 0xd0);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, 0);

    /* and a write still faults with the translation cached */
    map_page(r, 0, IOVA(2), DATA(2), false);
    fill(r, DATA(2), PAGE_SIZE, 0xe0);
    dma_read(r, IOVA(2), PAGE_SIZE);
    dma_write(r, IOVA(0) + 0x200, 4);
    check_context_fault(r, 0, FSR_PF, IOVA(0) + 0x200, true);
    check(r, DATA(0), PAGE_SIZE, 0xd0);
    rig_stop(r);
}

/* A fault in context bank 2 raises context interrupt 2, and only that */
static void test_fault_irq(void)
{
    Rig *r = rig_start(NULL);

    intercept_irqs(r);
    setup_cb(r, 0, 1);
    setup_translation(r, 2, 7);
    map_page(r, 2, IOVA(1), DATA(1), true);
    for (int i = 0; i <= NUM_CB; i++) {
        check_irq(r, i, false);
    }

    dma_read(r, IOVA(5), 4);
    check_context_fault(r, 2, FSR_TF, IOVA(5), false);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, 0);
    g_assert_cmphex(cb_read(r, 1, CB_FSR), ==, 0);
    check_irq(r, 3, true);
    check_irq(r, 0, false);
    check_irq(r, 1, false);
    check_irq(r, 2, false);

    cb_write(r, 2, CB_FSR, FSR_TF);
    g_assert_cmphex(cb_read(r, 2, CB_FSR), ==, 0);
    check_irq(r, 3, false);

    /* CFIE clear: the fault is recorded, the line stays low until set */
    cb_write(r, 2, CB_SCTLR, SCTLR_LINUX & ~SCTLR_CFIE);
    dma_write(r, IOVA(6), 4);
    check_context_fault(r, 2, FSR_TF, IOVA(6), true);
    check_irq(r, 3, false);
    cb_write(r, 2, CB_SCTLR, SCTLR_LINUX);
    check_irq(r, 3, true);
    cb_write(r, 2, CB_FSR, FSR_TF);
    check_irq(r, 3, false);
    rig_stop(r);
}

/* Where a table walk for @iova reads its level-@level descriptor */
static uint64_t desc_slot(Rig *r, int n, uint64_t iova, int level)
{
    uint64_t table = r->root[n];

    for (int l = 0; l < level; l++) {
        uint64_t slot = table + 8 * ((iova >> (39 - 9 * l)) & 0x1ff);

        table = qtest_readq(r->qts, slot) & PTE_ADDR_MASK;
    }
    return table + 8 * ((iova >> (39 - 9 * level)) & 0x1ff);
}

/* What the device reads at @iova: copied to writable IOVA(1) -> DATA(1) */
static void check_reads(Rig *r, uint64_t iova, uint8_t seed)
{
    qtest_memset(r->qts, DATA(1), 0, PAGE_SIZE);
    dma_read(r, iova, PAGE_SIZE);
    dma_write(r, IOVA(1), PAGE_SIZE);
    check(r, DATA(1), PAGE_SIZE, seed);
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
    Rig *r = rig_start("-d guest_errors");

    setup_translation(r, 1, 9);
    map_page(r, 1, IOVA(0), DATA(0), false);
    map_page(r, 1, IOVA(1), DATA(1), true);
    switch (bad) {
    case CFG_AARCH32:
        qtest_writel(r->qts, GR1(CBA2R(1)), 0);
        break;
    case CFG_GRANULE_16K:
        /* TG0 = 0b10: 16K, which the MMU-500 does not implement */
        cb_write(r, 1, CB_TCR, TCR_LINUX | (2u << 14));
        break;
    case CFG_NESTED:
        qtest_writel(r->qts, GR1(CBAR(1)), CBAR_TYPE_NESTED);
        break;
    }
    /* twice: a translation fault each time, the configuration logged once */
    for (int i = 0; i < 2; i++) {
        dma_read(r, IOVA(0) + 0x10, 4);
        g_assert_cmphex(cb_read(r, 1, CB_FSR), ==, FSR_TF | FSR_FORMAT_AARCH64);
        g_assert_cmphex(qtest_readq(r->qts, CB(1, CB_FAR)), ==, IOVA(0) + 0x10);
        cb_write(r, 1, CB_FSR, FSR_TF);
    }

    setup_cb(r, 1, 9);
    map_page(r, 1, IOVA(0), DATA(0), false);
    map_page(r, 1, IOVA(1), DATA(1), true);
    fill(r, DATA(0), PAGE_SIZE, 0x31);
    check_reads(r, IOVA(0), 0x31);
    g_assert_cmphex(cb_read(r, 1, CB_FSR), ==, 0);
    rig_stop(r);
}

/*
 * The IOTLB holds tlb-entries translations and, when full, evicts the least
 * recently used one alone. IOVA(1) -> DATA(1) is the copy target and stays
 * recently used; A(i) = IOVA(8 + i) are read, then repointed without any
 * invalidation, so a read that sees the new page shows a miss.
 */
static void test_tlb_capacity(void)
{
    Rig *r = rig_start("-global arm-mmu500.tlb-entries=4");
    uint64_t pte[4];

    setup_translation(r, 0, 2);
    map_page(r, 0, IOVA(1), DATA(1), true);
    for (int i = 0; i < 4; i++) {
        pte[i] = map_page(r, 0, IOVA(8 + i), DATA(8 + i), false);
        fill(r, DATA(8 + i), PAGE_SIZE, 0x10 * i);
        fill(r, DATA(16 + i), PAGE_SIZE, 0x10 * i + 0x80);
    }
    /* [IOVA(1), A0, A1, A2]: full */
    for (int i = 0; i < 3; i++) {
        check_reads(r, IOVA(8 + i), 0x10 * i);
    }
    for (int i = 0; i < 3; i++) {
        qtest_writeq(r->qts, pte[i],
                     (qtest_readq(r->qts, pte[i]) & ~PTE_ADDR_MASK) |
                     DATA(16 + i));
    }
    /* A3 evicts A0 only: A1 is still the old translation */
    check_reads(r, IOVA(11), 0x30);
    check_reads(r, IOVA(9), 0x10);
    /* A0 missed; it evicts A2, the least recently used */
    check_reads(r, IOVA(8), 0x80);
    check_reads(r, IOVA(10), 0xa0);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, 0);
    rig_stop(r);
}

/*
 * An invalidation takes effect when a sync completes: until then the
 * device may still be served the old translation.
 */
static void test_tlb_unsynced(void)
{
    Rig *r = rig_start(NULL);
    uint64_t pte;

    setup_translation(r, 0, 3);
    pte = map_page(r, 0, IOVA(0), DATA(0), false);
    map_page(r, 0, IOVA(1), DATA(1), true);
    fill(r, DATA(0), PAGE_SIZE, 0x41);
    fill(r, DATA(2), PAGE_SIZE, 0x42);
    check_reads(r, IOVA(0), 0x41);
    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | DATA(2));
    qtest_writeq(r->qts, CB(0, CB_TLBIVAL), (IOVA(0) >> 12) | 3ULL << 48);
    check_reads(r, IOVA(0), 0x41);
    cb_sync(r, 0);
    check_reads(r, IOVA(0), 0x42);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, 0);
    rig_stop(r);
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
    Rig *r = rig_start(NULL);
    uint64_t l2, table;

    setup_translation(r, 0, 4);
    map_page(r, 0, IOVA(0), DATA(0), false);
    map_page(r, 0, IOVA(1), DATA(1), true);
    fill(r, DATA(0), PAGE_SIZE, 0x51);
    fill(r, DATA(2), PAGE_SIZE, 0x52);
    check_reads(r, IOVA(0), 0x51);

    l2 = desc_slot(r, 0, IOVA(0), 2);
    table = pt_alloc(r);
    qtest_writeq(r->qts, table + 8 * ((IOVA(0) >> 12) & 0x1ff),
                 qtest_readq(r->qts, desc_slot(r, 0, IOVA(0), 3)) -
                 DATA(0) + DATA(2));
    qtest_writeq(r->qts, table + 8 * ((IOVA(1) >> 12) & 0x1ff),
                 qtest_readq(r->qts, desc_slot(r, 0, IOVA(1), 3)));
    qtest_writeq(r->qts, l2, table | PTE_TABLE | PTE_VALID);

    switch (inv) {
    case WALK_LEAF_ONLY:
        qtest_writeq(r->qts, CB(0, CB_TLBIVAL), (IOVA(0) >> 12) | 4ULL << 48);
        qtest_writeq(r->qts, CB(0, CB_TLBIVAL), (IOVA(1) >> 12) | 4ULL << 48);
        cb_sync(r, 0);
        check_reads(r, IOVA(0), 0x51);
        qtest_writeq(r->qts, CB(0, CB_TLBIVA), (IOVA(0) >> 12) | 4ULL << 48);
        break;
    case WALK_BY_VA:
        qtest_writeq(r->qts, CB(0, CB_TLBIVA), (IOVA(0) >> 12) | 4ULL << 48);
        qtest_writeq(r->qts, CB(0, CB_TLBIVA), (IOVA(1) >> 12) | 4ULL << 48);
        break;
    case WALK_BY_ASID:
        cb_write(r, 0, CB_TLBIASID, 4);
        break;
    }
    cb_sync(r, 0);
    check_reads(r, IOVA(0), 0x52);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, 0);
    rig_stop(r);
}

/* What Linux prints of a context fault: FSR, FAR, FSYNR0 and CBFRSYNRA */
static void test_fault_syndrome(void)
{
    Rig *r = rig_start(NULL);
    uint64_t pte;

    setup_cb(r, 0, 1);
    setup_translation(r, 1, 8);
    pte = map_page(r, 1, IOVA(0), DATA(0), true);
    map_page(r, 1, IOVA(1), DATA(1), true);

    /* nothing at level 0 for IOVA_HIGH: a read faults there */
    dma_read(r, IOVA_HIGH, 4);
    g_assert_cmphex(cb_read(r, 1, CB_FSR), ==, FSR_TF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(cb_read(r, 1, CB_FSYNR0), ==, 0);
    g_assert_cmphex(qtest_readl(r->qts, GR1(CBFRSYNRA(1))), ==, EDU_SID);
    g_assert_cmphex(qtest_readl(r->qts, GR1(CBFRSYNRA(0))), ==, 0);
    cb_write(r, 1, CB_FSR, FSR_TF);

    /* a missing page in a present table: level 3, a write */
    dma_write(r, IOVA(2), 4);
    g_assert_cmphex(cb_read(r, 1, CB_FSR), ==, FSR_TF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(cb_read(r, 1, CB_FSYNR0), ==, FSYNR0_WNR | 3);
    cb_write(r, 1, CB_FSR, FSR_TF);

    /* a page without the access flag: an access flag fault at level 3 */
    qtest_writeq(r->qts, pte, qtest_readq(r->qts, pte) & ~PTE_AF);
    dma_read(r, IOVA(0), 4);
    g_assert_cmphex(cb_read(r, 1, CB_FSR), ==, FSR_AFF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(cb_read(r, 1, CB_FSYNR0) & (FSYNR0_PLVL | FSYNR0_WNR), ==,
                    3);

    /* a table outside RAM: the walk's read fails at level 1, with PTWF */
    cb_write(r, 1, CB_FSR, FSR_AFF);
    qtest_writeq(r->qts, desc_slot(r, 1, IOVA(1), 0),
                 0xfff000000000ULL | PTE_TABLE | PTE_VALID);
    cb_write(r, 1, CB_TLBIASID, 8);
    cb_sync(r, 1);
    dma_read(r, IOVA(1), 4);
    g_assert_cmphex(cb_read(r, 1, CB_FSR), ==, FSR_EF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(cb_read(r, 1, CB_FSYNR0), ==, FSYNR0_PTWF | 1);
    rig_stop(r);
}

/* The pci-dma-probe device, on its own stream, mapped through bank 0 */
static QPCIDevice *probe_start(Rig *r, QPCIBar *bar)
{
    QPCIDevice *probe = qpci_device_find(&r->pcibus.bus,
                                         QPCI_DEVFN(PROBE_SLOT, 0));

    g_assert(probe);
    g_assert_cmphex(qpci_config_readw(probe, PCI_VENDOR_ID), ==, 0x1af4);
    g_assert_cmphex(qpci_config_readw(probe, PCI_DEVICE_ID), ==, 0x10f0);
    qpci_device_enable(probe);
    *bar = qpci_iomap(probe, 0, NULL);
    set_stream(r, 1, SMR_ENTRY(PROBE_SID, 0), S2CR_TYPE_TRANS | 0);
    return probe;
}

static uint32_t probe_run(QPCIDevice *probe, QPCIBar bar, uint64_t iova,
                          uint32_t len, uint32_t doorbell)
{
    qpci_io_writeq(probe, bar, PROBE_IOVA, iova);
    qpci_io_writel(probe, bar, PROBE_LEN, len);
    qpci_io_writel(probe, bar, PROBE_DOORBELL, doorbell);
    return qpci_io_readl(probe, bar, PROBE_TRANSLATED);
}

/*
 * The probe counts the pages of a range that translate, at once, and the
 * SMMU records no fault for its reads; with bus mastering off it refuses.
 */
static void test_probe(void)
{
    Rig *r = rig_start("-device pci-dma-probe,addr=5.0");
    QPCIDevice *probe;
    QPCIBar bar;
    uint32_t translated;
    uint64_t pte;

    setup_translation(r, 0, 5);
    probe = probe_start(r, &bar);
    pte = map_page(r, 0, IOVA(0), DATA(0), true);
    map_page(r, 0, IOVA(1), DATA(1), true);

    translated = probe_run(probe, bar, IOVA(0), 4 * PAGE_SIZE, PROBE_MAPPED);
    g_assert_cmphex(translated, ==, 2);
    translated = probe_run(probe, bar, IOVA(2) + 8, PAGE_SIZE, PROBE_UNMAPPED);
    g_assert_cmphex(translated, ==, 0);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, 0);

    /* unmapped, invalidated, synced: nothing translates any more */
    qtest_writeq(r->qts, pte, 0);
    qtest_writeq(r->qts, CB(0, CB_TLBIVAL), (IOVA(0) >> 12) | 5ULL << 48);
    cb_sync(r, 0);
    translated = probe_run(probe, bar, IOVA(0), 2 * PAGE_SIZE, PROBE_UNMAPPED);
    g_assert_cmphex(translated, ==, 1);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_PROBES), ==, 2);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_PAGES), ==, 4);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_LEAKED), ==, 1);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_MAP_PROBES), ==, 1);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_MAP_PAGES), ==, 4);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_MISSING), ==, 2);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, 0);

    probe_run(probe, bar, IOVA(1), PAGE_SIZE, 3);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_REFUSED), ==, 1);
    qpci_config_writew(probe, PCI_COMMAND, PCI_COMMAND_MEMORY);
    probe_run(probe, bar, IOVA(1), PAGE_SIZE, PROBE_UNMAPPED);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_REFUSED), ==, 2);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_PROBES), ==, 2);
    qpci_iounmap(probe, bar);
    g_free(probe);
    rig_stop(r);
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

static void sync_setup(Rig *r)
{
    uint32_t cbar = CBAR_TYPE_S1_S2BYPASS | CBAR_S1_BPSHCFG_NSH |
                    CBAR_S1_MEMATTR_WB;

    setup_translation(r, 0, SYNC_ASID_CB0);
    setup_cb(r, 1, 7);
    qtest_writel(r->qts, GR1(CBAR(0)), cbar | SYNC_VMID_CB0);
    qtest_writel(r->qts, GR1(CBAR(1)), cbar | 2);
}

static void test_sync_scope(const void *opaque)
{
    SyncCase c = GPOINTER_TO_INT(opaque);
    Rig *r = rig_start(NULL);
    uint64_t va = (IOVA(0) >> 12) | (uint64_t)SYNC_ASID_CB0 << 48;
    uint64_t pte;

    sync_setup(r);
    pte = map_page(r, 0, IOVA(0), DATA(0), false);
    map_page(r, 0, IOVA(1), DATA(1), true);
    fill(r, DATA(0), PAGE_SIZE, 0x61);
    fill(r, DATA(2), PAGE_SIZE, 0x62);
    check_reads(r, IOVA(0), 0x61);
    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | DATA(2));

    switch (c) {
    case SYNC_WRONG_BANK:
        /* bank 0's invalidation, synced on bank 1: not complete */
        qtest_writeq(r->qts, CB(0, CB_TLBIVA), va);
        cb_sync(r, 1);
        check_reads(r, IOVA(0), 0x61);
        cb_sync(r, 0);
        break;
    case SYNC_GLOBAL_BY_CONTEXT:
        /* a global invalidation needs the global sync */
        gr0_write(r, TLBIALLNSNH, 0);
        cb_sync(r, 0);
        check_reads(r, IOVA(0), 0x61);
        gr0_write(r, STLBGSYNC, 0);
        break;
    case SYNC_CONTEXT_BY_GLOBAL:
        /* the global sync completes every bank's maintenance */
        qtest_writeq(r->qts, CB(0, CB_TLBIVA), va);
        gr0_write(r, STLBGSYNC, 0);
        break;
    case SYNC_VMID:
        gr0_write(r, TLBIVMID, 2);
        gr0_write(r, STLBGSYNC, 0);
        check_reads(r, IOVA(0), 0x61);
        gr0_write(r, TLBIVMID, SYNC_VMID_CB0);
        gr0_write(r, STLBGSYNC, 0);
        break;
    case SYNC_ALLH:
        /* hypervisor contexts only: bank 0 is not one */
        gr0_write(r, TLBIALLH, 0);
        gr0_write(r, STLBGSYNC, 0);
        check_reads(r, IOVA(0), 0x61);
        gr0_write(r, TLBIALLNSNH, 0);
        gr0_write(r, STLBGSYNC, 0);
        break;
    case SYNC_ASID:
        /* bank 1's ASID, then bank 0's through bank 1's VMID: neither */
        cb_write(r, 0, CB_TLBIASID, 7);
        cb_write(r, 1, CB_TLBIASID, SYNC_ASID_CB0);
        cb_sync(r, 0);
        cb_sync(r, 1);
        check_reads(r, IOVA(0), 0x61);
        cb_write(r, 0, CB_TLBIASID, SYNC_ASID_CB0);
        cb_sync(r, 0);
        break;
    case SYNC_VAAL:
        /* any ASID, leaf only */
        qtest_writeq(r->qts, CB(0, CB_TLBIVAAL), IOVA(0) >> 12);
        cb_sync(r, 0);
        break;
    }
    check_reads(r, IOVA(0), 0x62);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, 0);
    rig_stop(r);
}

/*
 * Tables the walker cannot read: the SMMU's own registers as the root table
 * or as a level-1 table, and an address with nothing behind it. Each is an
 * external abort on the walk (FSR.EF, FSYNR0.PTWF), and the SMMU answers
 * afterwards: no walk re-enters the device.
 */
static void test_walk_abort(void)
{
    Rig *r = rig_start(NULL);
    uint64_t l0;

    setup_translation(r, 0, 2);
    map_page(r, 0, IOVA(1), DATA(1), true);
    qtest_writeq(r->qts, CB(0, CB_TTBR0), SMMU_BASE | 2ULL << 48);
    dma_read(r, IOVA(0), 4);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, FSR_EF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(cb_read(r, 0, CB_FSYNR0) & (FSYNR0_PTWF | FSYNR0_PLVL), ==,
                    FSYNR0_PTWF | 0);
    cb_write(r, 0, CB_FSR, FSR_EF);
    g_assert_cmphex(gr0_read(r, ID7), ==, 0x21);

    /* a level-0 descriptor pointing at the context bank registers */
    qtest_writeq(r->qts, CB(0, CB_TTBR0), r->root[0] | 2ULL << 48);
    l0 = r->root[0] + 8 * ((IOVA(0) >> 39) & 0x1ff);
    qtest_writeq(r->qts, l0, (SMMU_BASE + 0x10000) | PTE_TABLE | PTE_VALID);
    cb_write(r, 0, CB_TLBIASID, 2);
    cb_sync(r, 0);
    dma_read(r, IOVA(0), 4);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, FSR_EF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(cb_read(r, 0, CB_FSYNR0) & (FSYNR0_PTWF | FSYNR0_PLVL), ==,
                    FSYNR0_PTWF | 1);
    cb_write(r, 0, CB_FSR, FSR_EF);

    /* nothing behind the address */
    qtest_writeq(r->qts, l0, 0xfff00000000ULL | PTE_TABLE | PTE_VALID);
    cb_write(r, 0, CB_TLBIASID, 2);
    cb_sync(r, 0);
    dma_read(r, IOVA(0), 4);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, FSR_EF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(gr0_read(r, ID7), ==, 0x21);
    rig_stop(r);
}

/* 64K granule: 48-bit input, walks start at level 1 */
#define GRANULE_64K             0x10000ULL
#define TCR_64K                 (TCR_LINUX | (1u << 14))
#define IOVA_64K(n)             (0x46000000ULL + GRANULE_64K * (n))
#define PA_64K(n)               (0x45800000ULL + GRANULE_64K * (n))

static uint64_t pt_alloc_64k(Rig *r)
{
    uint64_t table = ROUND_UP(r->pt_next, GRANULE_64K);

    r->pt_next = table + GRANULE_64K;
    qtest_memset(r->qts, table, 0, GRANULE_64K);
    return table;
}

/* Map one 64K page; returns the PTE's address */
static uint64_t map_page_64k(Rig *r, uint64_t root, uint64_t iova,
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
    Rig *r = rig_start(NULL);
    uint64_t root, pte;

    setup_translation(r, 0, 6);
    root = pt_alloc_64k(r);
    cb_write(r, 0, CB_TCR, TCR_64K);
    qtest_writeq(r->qts, CB(0, CB_TTBR0), root | 6ULL << 48);
    pte = map_page_64k(r, root, IOVA_64K(0), PA_64K(0), false);
    map_page_64k(r, root, IOVA_64K(1), PA_64K(1), true);
    fill(r, PA_64K(0) + 0x9000, PAGE_SIZE, 0x71);
    fill(r, PA_64K(2) + 0x9000, PAGE_SIZE, 0x72);

    /* a 4K read in the middle of the 64K page, written back at the next */
    qtest_memset(r->qts, PA_64K(1), 0, PAGE_SIZE);
    dma_read(r, IOVA_64K(0) + 0x9000, PAGE_SIZE);
    dma_write(r, IOVA_64K(1), PAGE_SIZE);
    check(r, PA_64K(1), PAGE_SIZE, 0x71);

    /* one TLBIVA anywhere in the 64K page invalidates it */
    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | PA_64K(2));
    qtest_writeq(r->qts, CB(0, CB_TLBIVA),
                 ((IOVA_64K(0) + 0x3000) >> 12) | 6ULL << 48);
    cb_sync(r, 0);
    qtest_memset(r->qts, PA_64K(1), 0, PAGE_SIZE);
    dma_read(r, IOVA_64K(0) + 0x9000, PAGE_SIZE);
    dma_write(r, IOVA_64K(1), PAGE_SIZE);
    check(r, PA_64K(1), PAGE_SIZE, 0x72);

    /* unmapped: a translation fault at level 3 */
    dma_read(r, IOVA_64K(5), 4);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, FSR_TF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(cb_read(r, 0, CB_FSYNR0) & FSYNR0_PLVL, ==, 3);
    rig_stop(r);
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
    Rig *r = rig_start(NULL);
    uint64_t upper, lower, pte;

    setup_translation(r, 0, 5);
    lower = r->root[0];
    upper = pt_alloc(r);
    cb_write(r, 0, CB_TCR, TCR_TTBR1);
    qtest_writeq(r->qts, CB(0, CB_TTBR1), upper);
    map_page(r, 0, IOVA(1), DATA(1), true);
    r->root[0] = upper;
    pte = map_page(r, 0, IOVA_UPPER(0), DATA(0), false);
    r->root[0] = lower;
    fill(r, DATA(0), PAGE_SIZE, 0x51);
    fill(r, DATA(2), PAGE_SIZE, 0x52);
    check_reads(r, IOVA_UPPER(0), 0x51);
    /* the same low bits in the lower region: nothing mapped */
    dma_read(r, IOVA_UPPER(0) & 0xffffffffffffULL, 4);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, FSR_TF | FSR_FORMAT_AARCH64);
    cb_write(r, 0, CB_FSR, FSR_TF);

    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | DATA(2));
    qtest_writeq(r->qts, CB(0, CB_TLBIVA),
                 ((IOVA_UPPER(0) >> 12) & ((1ULL << 44) - 1)) | 5ULL << 48);
    cb_sync(r, 0);
    check_reads(r, IOVA_UPPER(0), 0x52);

    /* EPD1: walks of the upper region disabled */
    cb_write(r, 0, CB_TCR, TCR_TTBR1 | (1u << 23));
    cb_write(r, 0, CB_TLBIASID, 5);
    cb_sync(r, 0);
    dma_read(r, IOVA_UPPER(0), 4);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, FSR_TF | FSR_FORMAT_AARCH64);
    rig_stop(r);
}

/*
 * Input size and walk disables: past 2^(64 - T0SZ), or with EPD0 set, a
 * translation fault at level 0.
 */
static void test_fault_region(void)
{
    Rig *r = rig_start(NULL);

    setup_translation(r, 0, 4);
    map_page(r, 0, IOVA(0), DATA(0), false);
    dma_read(r, 1ULL << 48, 4);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, FSR_TF | FSR_FORMAT_AARCH64);
    g_assert_cmphex(cb_read(r, 0, CB_FSYNR0) & FSYNR0_PLVL, ==, 0);
    cb_write(r, 0, CB_FSR, FSR_TF);
    cb_write(r, 0, CB_TCR, TCR_LINUX | (1u << 7));
    dma_read(r, IOVA(0), 4);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, FSR_TF | FSR_FORMAT_AARCH64);
    rig_stop(r);
}

/*
 * The ASID: 8 bits without TCR2.AS (TTBR0.ASID[15:8] ignored, as are the
 * operand's), and TTBR1's with TCR.A1.
 */
static void test_asid_width(void)
{
    Rig *r = rig_start(NULL);
    uint64_t pte;

    setup_translation(r, 0, 0x105);
    cb_write(r, 0, CB_TCR2, TCR2_LINUX & ~TCR2_AS);
    pte = map_page(r, 0, IOVA(0), DATA(0), false);
    map_page(r, 0, IOVA(1), DATA(1), true);
    fill(r, DATA(0), PAGE_SIZE, 0x21);
    fill(r, DATA(2), PAGE_SIZE, 0x22);
    check_reads(r, IOVA(0), 0x21);
    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | DATA(2));
    /* ASID 0x205 is 5 on 8 bits: the same ASID */
    cb_write(r, 0, CB_TLBIASID, 0x205);
    cb_sync(r, 0);
    check_reads(r, IOVA(0), 0x22);

    /* A1: the ASID is TTBR1's (9), not TTBR0's (5) */
    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | DATA(0));
    cb_write(r, 0, CB_TCR2, TCR2_LINUX);
    cb_write(r, 0, CB_TCR, TCR_LINUX | (1u << 22));
    qtest_writeq(r->qts, CB(0, CB_TTBR1), 9ULL << 48);
    check_reads(r, IOVA(0), 0x21);
    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | DATA(2));
    cb_write(r, 0, CB_TLBIASID, 0x105);
    cb_sync(r, 0);
    check_reads(r, IOVA(0), 0x21);
    cb_write(r, 0, CB_TLBIASID, 9);
    cb_sync(r, 0);
    check_reads(r, IOVA(0), 0x22);
    rig_stop(r);
}

/* Linux's probe of the SMR widths: 15-bit IDs and masks read back */
static void test_smr_probe(void)
{
    Rig *r = rig_start(NULL);

    gr0_write(r, SMR(0), 0xffff);
    g_assert_cmphex(gr0_read(r, SMR(0)), ==, 0x7fff);
    gr0_write(r, SMR(0), 0x7fffu << 16);
    g_assert_cmphex(gr0_read(r, SMR(0)), ==, 0x7fffu << 16);
    gr0_write(r, SMR(0), 0xffffu << 16);
    g_assert_cmphex(gr0_read(r, SMR(0)), ==, 0xffffu << 16);
    rig_stop(r);
}

/*
 * Global faults other than an unmatched stream: two stream map entries
 * matching (SMCF; sCR0.SMCFCFG is fixed at 1), a context bank the SMMU does
 * not have (UCBF), the reserved S2CR type 3 (a fault context). The first
 * fills sGFAR and the syndromes, the next only sets MULTI.
 */
static void test_global_faults(void)
{
    Rig *r = rig_start(NULL);

    intercept_irqs(r);
    seed_buffer(r, 0x30);
    set_stream(r, 0, SMR_ENTRY(EDU_SID, 0), S2CR_TYPE_BYPASS);
    set_stream(r, 1, SMR_ENTRY(EDU_SID & ~1, 1), S2CR_TYPE_BYPASS);
    gr0_write(r, SCR0, SCR0_LINUX);
    qtest_memset(r->qts, DATA(1), 0xee, PAGE_SIZE);
    dma_write(r, DATA(1) + 0x40, 4);
    check_fill(r, DATA(1), PAGE_SIZE, 0xee);
    g_assert_cmphex(gr0_read(r, SGFSR), ==, SGFSR_SMCF);
    g_assert_cmphex(qtest_readq(r->qts, GR0(SGFAR)), ==, DATA(1) + 0x40);
    g_assert_cmphex(gr0_read(r, SGFSYNR1) & 0xffff, ==, EDU_SID);
    check_irq(r, 0, true);
    dma_write(r, DATA(1), 4);
    g_assert_cmphex(gr0_read(r, SGFSR), ==, SGFSR_SMCF | SGFSR_MULTI);
    gr0_write(r, SGFSR, SGFSR_SMCF | SGFSR_MULTI);
    check_irq(r, 0, false);

    set_stream(r, 1, 0, S2CR_TYPE_BYPASS);
    set_stream(r, 0, SMR_ENTRY(EDU_SID, 0), S2CR_TYPE_TRANS | 5);
    dma_write(r, DATA(1), 4);
    check_fill(r, DATA(1), PAGE_SIZE, 0xee);
    g_assert_cmphex(gr0_read(r, SGFSR), ==, SGFSR_UCBF);
    gr0_write(r, SGFSR, SGFSR_UCBF);

    set_stream(r, 0, SMR_ENTRY(EDU_SID, 0), 3u << 16);
    dma_write(r, DATA(1), 4);
    check_fill(r, DATA(1), PAGE_SIZE, 0xee);
    rig_stop(r);
}

/* A system reset empties the caches and restores the reset values */
static void test_reset(void)
{
    Rig *r = rig_start(NULL);
    uint64_t pte;

    setup_translation(r, 0, 3);
    pte = map_page(r, 0, IOVA(0), DATA(0), false);
    map_page(r, 0, IOVA(1), DATA(1), true);
    fill(r, DATA(0), PAGE_SIZE, 0x11);
    fill(r, DATA(2), PAGE_SIZE, 0x12);
    check_reads(r, IOVA(0), 0x11);
    qtest_writeq(r->qts, pte,
                 (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | DATA(2));

    qtest_system_reset(r->qts);
    g_assert_cmphex(gr0_read(r, SCR0), ==, SCR0_CLIENTPD | SCR0_SMCFCFG);
    g_assert_cmphex(gr0_read(r, S2CR(0)), ==, S2CR_TYPE_FAULT);
    g_assert_cmphex(cb_read(r, 0, CB_SCTLR), ==, 0x100);
    g_assert_cmphex(qtest_readq(r->qts, CB(0, CB_TTBR0)), ==, 0);

    /* the same setup over the same tables: the moved entry, not the old */
    /* the reset cleared the PCI BARs too: map edu's again */
    qpci_iounmap(r->edu, r->bar);
    qpci_device_enable(r->edu);
    r->bar = qpci_iomap(r->edu, 0, NULL);
    r->pt_next = PT_POOL;
    setup_translation(r, 0, 3);
    map_page(r, 0, IOVA(0), DATA(2), false);
    map_page(r, 0, IOVA(1), DATA(1), true);
    check_reads(r, IOVA(0), 0x12);
    rig_stop(r);
}

/*
 * The strict non-coherent view: tables the guest never cleaned to the PoC
 * read as zero, so the first walk faults, and the sanitizer names the
 * disagreement between memory and the view (on stderr, which the rig's test
 * reads).
 */
static void test_strict_view(void)
{
    Rig *r = rig_start("-global arm-mmu500.strict-noncoherent=on");

    setup_translation(r, 0, 3);
    map_page(r, 0, IOVA(0), DATA(0), false);
    dma_read(r, IOVA(0), 4);
    g_assert_cmphex(cb_read(r, 0, CB_FSR), ==, FSR_TF | FSR_FORMAT_AARCH64);
    rig_stop(r);
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
 * empty, so a translation cached on the source is walked again. With
 * strict-noncoherent the device blocks migration, by name.
 */
static void test_migration(void)
{
    g_autofree char *path = g_strdup_printf("%s/mmu500-test-%d.mig",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    Rig *r = rig_start(NULL);
    QTestState *dst;
    QDict *rsp;

    setup_translation(r, 1, 9);
    map_page(r, 1, IOVA(0), DATA(0), false);
    map_page(r, 1, IOVA(1), DATA(1), true);
    fill(r, DATA(0), PAGE_SIZE, 0x91);
    check_reads(r, IOVA(0), 0x91);
    dma_read(r, IOVA(7), 4);
    g_assert_cmphex(cb_read(r, 1, CB_FSR), ==, FSR_TF | FSR_FORMAT_AARCH64);

    qtest_qmp_assert_success(r->qts, "{ 'execute': 'stop' }");
    qtest_qmp_assert_success(r->qts, "{ 'execute': 'migrate', "
                             "'arguments': { 'uri': %s } }", uri);
    wait_migrated(r->qts);
    dst = qtest_initf("-machine virt,iommu=mmu500 -nodefaults "
                      "-global arm-mmu500.check-stale=on "
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
    rig_stop(r);

    r = rig_start("-global arm-mmu500.strict-noncoherent=on");
    rsp = qtest_qmp(r->qts, "{ 'execute': 'migrate', "
                    "'arguments': { 'uri': %s } }", uri);
    g_assert(qdict_haskey(rsp, "error"));
    g_assert(strstr(qdict_get_str(qdict_get_qdict(rsp, "error"), "desc"),
                    "strict-noncoherent"));
    qobject_unref(rsp);
    unlink(path);
    rig_stop(r);
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
    qtest_add_func("mmu500/sanitizer/strict-view", test_strict_view);
    qtest_add_func("mmu500/probe", test_probe);
    qtest_add_func("mmu500/timing/tlb-sync", test_timing_sync);
    qtest_add_data_func("mmu500/timing/free", NULL, test_timing_free);
    qtest_add_data_func("mmu500/timing/reg-access-no-vcpu",
                        "-global arm-mmu500.reg-access-ns=1000",
                        test_timing_free);

    return g_test_run();
}
