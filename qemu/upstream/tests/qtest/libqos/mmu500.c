/*
 * libqos helpers for the Arm MMU-500 (SMMUv2) on the virt machine
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "hw/pci/pci_regs.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "mmu500.h"

uint32_t qmmu500_gr0_read(QMMU500 *r, uint32_t off)
{
    return qtest_readl(r->qts, GR0(off));
}

void qmmu500_gr0_write(QMMU500 *r, uint32_t off, uint32_t val)
{
    qtest_writel(r->qts, GR0(off), val);
}

uint32_t qmmu500_cb_read(QMMU500 *r, int n, uint32_t off)
{
    return qtest_readl(r->qts, CB(n, off));
}

void qmmu500_cb_write(QMMU500 *r, int n, uint32_t off, uint32_t val)
{
    qtest_writel(r->qts, CB(n, off), val);
}

/* The QOM path of the arm-mmu500 device the machine created */
char *qmmu500_find_smmu(QTestState *qts)
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

        /* the device, or a subclass of it ("arm-mmu500-...") */
        if (g_str_has_prefix(qdict_get_str(prop, "type"), "child<arm-mmu500")) {
            g_assert(!path);
            path = g_strdup_printf("/machine/unattached/%s",
                                   qdict_get_str(prop, "name"));
        }
    }
    qobject_unref(resp);
    g_assert(path);
    return path;
}

QMMU500 *qmmu500_start(const char *extra)
{
    QMMU500 *r = g_new0(QMMU500, 1);
    uint64_t barsize;

    r->qts = qtest_initf("-machine virt,iommu=mmu500 -nodefaults "
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

void qmmu500_stop(QMMU500 *r)
{
    qpci_iounmap(r->edu, r->bar);
    g_free(r->edu);
    qtest_quit(r->qts);
    g_free(r);
}

/* Watch the SMMU's interrupt lines: qtest irq 0 is global, 1 + n is CB n */
void qmmu500_intercept_irqs(QMMU500 *r)
{
    g_autofree char *path = qmmu500_find_smmu(r->qts);

    qtest_irq_intercept_out_named(r->qts, path, "sysbus-irq");
}


/* Run one edu DMA and wait for it to complete */
void qmmu500_edu_dma(QMMU500 *r, uint64_t src, uint64_t dst, uint64_t cnt,
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
void qmmu500_dma_read(QMMU500 *r, uint64_t iova, uint64_t cnt)
{
    qmmu500_edu_dma(r, iova, EDU_BUF, cnt, 0);
}

/* The device writes @cnt bytes of its buffer to @iova */
void qmmu500_dma_write(QMMU500 *r, uint64_t iova, uint64_t cnt)
{
    qmmu500_edu_dma(r, EDU_BUF, iova, cnt, EDU_DMA_TO_PCI_MEM);
}

void qmmu500_fill(QMMU500 *r, uint64_t pa, size_t len, uint8_t seed)
{
    g_autofree uint8_t *buf = g_malloc(len);

    for (size_t i = 0; i < len; i++) {
        buf[i] = seed + i * 7;
    }
    qtest_memwrite(r->qts, pa, buf, len);
}

void qmmu500_check(QMMU500 *r, uint64_t pa, size_t len, uint8_t seed)
{
    g_autofree uint8_t *want = g_malloc(len);
    g_autofree uint8_t *got = g_malloc(len);

    for (size_t i = 0; i < len; i++) {
        want[i] = seed + i * 7;
    }
    qtest_memread(r->qts, pa, got, len);
    g_assert_cmpmem(got, len, want, len);
}

void qmmu500_check_fill(QMMU500 *r, uint64_t pa, size_t len, uint8_t byte)
{
    g_autofree uint8_t *want = g_malloc(len);
    g_autofree uint8_t *got = g_malloc(len);

    memset(want, byte, len);
    qtest_memread(r->qts, pa, got, len);
    g_assert_cmpmem(got, len, want, len);
}

/* Load the device's buffer from RAM while the SMMU is still off */
void qmmu500_seed_buffer(QMMU500 *r, uint8_t seed)
{
    g_assert_cmphex(qmmu500_gr0_read(r, SCR0) & SCR0_CLIENTPD, ==,
                    SCR0_CLIENTPD);
    qmmu500_fill(r, DATA(100), PAGE_SIZE, seed);
    qmmu500_dma_read(r, DATA(100), PAGE_SIZE);
}

uint64_t qmmu500_pt_alloc(QMMU500 *r)
{
    uint64_t page = r->pt_next;

    r->pt_next += PAGE_SIZE;
    qtest_memset(r->qts, page, 0, PAGE_SIZE);
    return page;
}

/* Map one 4K page in context bank @n's tables; returns the PTE's address */
uint64_t qmmu500_map_page(QMMU500 *r, int n, uint64_t iova, uint64_t pa,
                         bool writable)
{
    uint64_t table = r->root[n];
    uint64_t pte;

    for (int level = 0; level < 3; level++) {
        uint64_t slot = table + 8 * ((iova >> (39 - 9 * level)) & 0x1ff);
        uint64_t desc = qtest_readq(r->qts, slot);

        if (!(desc & PTE_VALID)) {
            desc = qmmu500_pt_alloc(r) | PTE_TABLE | PTE_VALID;
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
uint64_t qmmu500_map_block(QMMU500 *r, int n, uint64_t iova, uint64_t pa)
{
    uint64_t table = r->root[n];
    uint64_t desc;

    for (int level = 0; level < 2; level++) {
        uint64_t slot = table + 8 * ((iova >> (39 - 9 * level)) & 0x1ff);

        desc = qtest_readq(r->qts, slot);
        if (!(desc & PTE_VALID)) {
            desc = qmmu500_pt_alloc(r) | PTE_TABLE | PTE_VALID;
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
void qmmu500_setup_cb(QMMU500 *r, int n, uint16_t asid)
{
    r->root[n] = qmmu500_pt_alloc(r);
    qtest_writel(r->qts, GR1(CBA2R(n)), CBA2R_VA64);
    qtest_writel(r->qts, GR1(CBAR(n)), CBAR_TYPE_S1_S2BYPASS |
                 CBAR_S1_BPSHCFG_NSH | CBAR_S1_MEMATTR_WB);
    qmmu500_cb_write(r, n, CB_TCR2, TCR2_LINUX);
    qmmu500_cb_write(r, n, CB_TCR, TCR_LINUX);
    qtest_writeq(r->qts, CB(n, CB_TTBR0), r->root[n] | (uint64_t)asid << 48);
    qtest_writeq(r->qts, CB(n, CB_TTBR1), (uint64_t)asid << 48);
    qmmu500_cb_write(r, n, CB_MAIR0, MAIR_LINUX);
    qmmu500_cb_write(r, n, CB_MAIR1, 0);
    qmmu500_cb_write(r, n, CB_SCTLR, SCTLR_LINUX);
}

/* Stream map entry @i: SMR then S2CR, written S2CR first as Linux does */
void qmmu500_set_stream(QMMU500 *r, int i, uint32_t smr, uint32_t s2cr)
{
    qmmu500_gr0_write(r, S2CR(i), s2cr);
    qmmu500_gr0_write(r, SMR(i), smr);
}

/* The usual setup: edu's stream to context bank @n, translation enabled */
void qmmu500_setup_translation(QMMU500 *r, int n, uint16_t asid)
{
    qmmu500_setup_cb(r, n, asid);
    qmmu500_set_stream(r, 0, SMR_ENTRY(EDU_SID, 0), S2CR_TYPE_TRANS | n);
    qmmu500_gr0_write(r, SCR0, SCR0_LINUX);
}

void qmmu500_cb_sync(QMMU500 *r, int n)
{
    qmmu500_cb_write(r, n, CB_TLBSYNC, 0);
    g_assert_cmphex(qmmu500_cb_read(r, n, CB_TLBSTATUS), ==, 0);
}

/* Where a table walk for @iova reads its level-@level descriptor */
uint64_t qmmu500_desc_slot(QMMU500 *r, int n, uint64_t iova, int level)
{
    uint64_t table = r->root[n];

    for (int l = 0; l < level; l++) {
        uint64_t slot = table + 8 * ((iova >> (39 - 9 * l)) & 0x1ff);

        table = qtest_readq(r->qts, slot) & PTE_ADDR_MASK;
    }
    return table + 8 * ((iova >> (39 - 9 * level)) & 0x1ff);
}

/* What the device reads at @iova: copied to writable IOVA(1) -> DATA(1) */
void qmmu500_check_reads(QMMU500 *r, uint64_t iova, uint8_t seed)
{
    qtest_memset(r->qts, DATA(1), 0, PAGE_SIZE);
    qmmu500_dma_read(r, iova, PAGE_SIZE);
    qmmu500_dma_write(r, IOVA(1), PAGE_SIZE);
    qmmu500_check(r, DATA(1), PAGE_SIZE, seed);
}
