/*
 * QTest for what the test rig adds to the Arm MMU-500 model (hw/arm/mmu500-
 * rig.c): the sanitizers (the strict non-coherent view and the stale-
 * translation check), the time a sync and a register access take, and the
 * pci-dma-probe device.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "hw/pci/pci_regs.h"
#include "qobject/qdict.h"
#include "libqos/mmu500.h"

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

/* The arm-mmu500 tlb-sync-ns the timing tests give */
#define SYNC_NS                 1600

/* A sync written to @sync stays active in @status for SYNC_NS, then ends */
static void check_sync_wait(QMMU500 *r, uint64_t sync, uint64_t status)
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
    QMMU500 *r = qmmu500_start("-global arm-mmu500.tlb-sync-ns="
                       stringify(SYNC_NS));

    qmmu500_setup_translation(r, 0, 1);
    for (int n = 0; n < NUM_CB; n++) {
        g_assert_cmphex(qmmu500_cb_read(r, n, CB_TLBSTATUS), ==, 0);
    }
    g_assert_cmphex(qmmu500_gr0_read(r, STLBGSTATUS), ==, 0);

    qmmu500_cb_write(r, 1, CB_TLBSYNC, 0);
    for (int i = 0; i < 100; i++) {
        g_assert_cmphex(qmmu500_cb_read(r, 1, CB_TLBSTATUS), ==, SYNC_ACTIVE);
    }
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_TLBSTATUS), ==, 0);
    g_assert_cmphex(qmmu500_cb_read(r, 2, CB_TLBSTATUS), ==, 0);
    g_assert_cmphex(qmmu500_gr0_read(r, STLBGSTATUS), ==, 0);
    qtest_clock_step(r->qts, SYNC_NS);
    g_assert_cmphex(qmmu500_cb_read(r, 1, CB_TLBSTATUS), ==, 0);

    for (int n = 0; n < NUM_CB; n++) {
        check_sync_wait(r, CB(n, CB_TLBSYNC), CB(n, CB_TLBSTATUS));
    }
    check_sync_wait(r, GR0(STLBGSYNC), GR0(STLBGSTATUS));
    for (int n = 0; n < NUM_CB; n++) {
        g_assert_cmphex(qmmu500_cb_read(r, n, CB_TLBSTATUS), ==, 0);
    }
    qmmu500_stop(r);
}

/*
 * With no sync time (the default) a sync is complete when it is written.
 * Register accesses move no clock: without a vCPU (qtest) reg-access-ns has
 * no one to charge, and with the default nothing is charged at all.
 */
static void test_timing_free(const void *opaque)
{
    QMMU500 *r = qmmu500_start(opaque);
    int64_t before;

    qmmu500_setup_translation(r, 0, 1);
    before = qtest_clock_step(r->qts, 1);
    for (int i = 0; i < 100; i++) {
        for (int n = 0; n < NUM_CB; n++) {
            qmmu500_cb_write(r, n, CB_TLBIASID, 1);
            qmmu500_cb_write(r, n, CB_TLBSYNC, 0);
            g_assert_cmphex(qmmu500_cb_read(r, n, CB_TLBSTATUS), ==, 0);
        }
        qmmu500_gr0_write(r, TLBIALLNSNH, 0);
        qmmu500_gr0_write(r, STLBGSYNC, 0);
        g_assert_cmphex(qmmu500_gr0_read(r, STLBGSTATUS), ==, 0);
    }
    g_assert_cmphex(qtest_clock_step(r->qts, 1), ==, before + 1);
    qmmu500_stop(r);
}

/* The pci-dma-probe device, on its own stream, mapped through bank 0 */
static QPCIDevice *probe_start(QMMU500 *r, QPCIBar *bar)
{
    QPCIDevice *probe = qpci_device_find(&r->pcibus.bus,
                                         QPCI_DEVFN(PROBE_SLOT, 0));

    g_assert(probe);
    g_assert_cmphex(qpci_config_readw(probe, PCI_VENDOR_ID), ==, 0x1af4);
    g_assert_cmphex(qpci_config_readw(probe, PCI_DEVICE_ID), ==, 0x10f0);
    qpci_device_enable(probe);
    *bar = qpci_iomap(probe, 0, NULL);
    qmmu500_set_stream(r, 1, SMR_ENTRY(PROBE_SID, 0), S2CR_TYPE_TRANS | 0);
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
    QMMU500 *r = qmmu500_start("-device pci-dma-probe,addr=5.0");
    QPCIDevice *probe;
    QPCIBar bar;
    uint32_t translated;
    uint64_t pte;

    qmmu500_setup_translation(r, 0, 5);
    probe = probe_start(r, &bar);
    pte = qmmu500_map_page(r, 0, IOVA(0), DATA(0), true);
    qmmu500_map_page(r, 0, IOVA(1), DATA(1), true);

    translated = probe_run(probe, bar, IOVA(0), 4 * PAGE_SIZE, PROBE_MAPPED);
    g_assert_cmphex(translated, ==, 2);
    translated = probe_run(probe, bar, IOVA(2) + 8, PAGE_SIZE, PROBE_UNMAPPED);
    g_assert_cmphex(translated, ==, 0);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==, 0);

    /* unmapped, invalidated, synced: nothing translates any more */
    qtest_writeq(r->qts, pte, 0);
    qtest_writeq(r->qts, CB(0, CB_TLBIVAL), (IOVA(0) >> 12) | 5ULL << 48);
    qmmu500_cb_sync(r, 0);
    translated = probe_run(probe, bar, IOVA(0), 2 * PAGE_SIZE, PROBE_UNMAPPED);
    g_assert_cmphex(translated, ==, 1);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_PROBES), ==, 2);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_PAGES), ==, 4);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_LEAKED), ==, 1);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_MAP_PROBES), ==, 1);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_MAP_PAGES), ==, 4);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_MISSING), ==, 2);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==, 0);

    probe_run(probe, bar, IOVA(1), PAGE_SIZE, 3);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_REFUSED), ==, 1);
    qpci_config_writew(probe, PCI_COMMAND, PCI_COMMAND_MEMORY);
    probe_run(probe, bar, IOVA(1), PAGE_SIZE, PROBE_UNMAPPED);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_REFUSED), ==, 2);
    g_assert_cmphex(qpci_io_readl(probe, bar, PROBE_PROBES), ==, 2);
    qpci_iounmap(probe, bar);
    g_free(probe);
    qmmu500_stop(r);
}

/*
 * The strict non-coherent view: tables the guest never cleaned to the PoC
 * read as zero, so the first walk faults, and the sanitizer names the
 * disagreement between memory and the view (on stderr, which the rig's test
 * reads).
 */
static void test_strict_view(void)
{
    QMMU500 *r = qmmu500_start("-global arm-mmu500.strict-noncoherent=on");

    qmmu500_setup_translation(r, 0, 3);
    qmmu500_map_page(r, 0, IOVA(0), DATA(0), false);
    qmmu500_dma_read(r, IOVA(0), 4);
    g_assert_cmphex(qmmu500_cb_read(r, 0, CB_FSR), ==,
                    FSR_TF | FSR_FORMAT_AARCH64);
    qmmu500_stop(r);
}

/* The stale-translation check on: every test below leaves a translation */
#define CHECKED "-global arm-mmu500.check-stale=on "

/* Bank 0 maps IOVA(0) -> DATA(0) (read-only) and IOVA(1) -> DATA(1) */
static uint64_t stale_setup(QMMU500 *r)
{
    uint64_t pte;

    qmmu500_setup_translation(r, 0, 3);
    pte = qmmu500_map_page(r, 0, IOVA(0), DATA(0), false);
    qmmu500_map_page(r, 0, IOVA(1), DATA(1), true);
    qmmu500_fill(r, DATA(0), PAGE_SIZE, 0x41);
    qmmu500_fill(r, DATA(2), PAGE_SIZE, 0x42);
    qmmu500_check_reads(r, IOVA(0), 0x41);
    return pte;
}

static void move_pte(QMMU500 *r, uint64_t pte, uint64_t pa)
{
    qtest_writeq(r->qts, pte, (qtest_readq(r->qts, pte) & ~PTE_ADDR_MASK) | pa);
}

/*
 * The stale-translation check names each use of a translation the tables no
 * longer give (rig's tests/build/test_qemu_model.py reads the reports on
 * stderr): a PTE moved without an invalidation and served from the IOTLB, an
 * invalidation by VA issued but not synced, or synced on another bank, and a
 * table replaced without invalidation and walked from the walk cache.
 */
typedef enum StaleCase {
    STALE_IOTLB,
    STALE_UNSYNCED,
    STALE_WRONG_BANK,
    STALE_WALK_CACHE,
} StaleCase;

static void test_stale(const void *opaque)
{
    StaleCase c = GPOINTER_TO_INT(opaque);
    QMMU500 *r = qmmu500_start(CHECKED);
    uint64_t va = (IOVA(0) >> 12) | 3ULL << 48;
    uint64_t pte = stale_setup(r);
    uint64_t l2, old, table;

    switch (c) {
    case STALE_IOTLB:
        move_pte(r, pte, DATA(2));
        break;
    case STALE_UNSYNCED:
        move_pte(r, pte, DATA(2));
        qtest_writeq(r->qts, CB(0, CB_TLBIVA), va);
        break;
    case STALE_WRONG_BANK:
        qmmu500_setup_cb(r, 1, 7);
        move_pte(r, pte, DATA(2));
        qtest_writeq(r->qts, CB(0, CB_TLBIVA), va);
        qmmu500_cb_sync(r, 1);
        break;
    case STALE_WALK_CACHE:
        /* IOVA(0)'s level-3 table replaced by a copy mapping it elsewhere */
        l2 = qmmu500_desc_slot(r, 0, IOVA(0), 2);
        old = qtest_readq(r->qts, l2) & PTE_ADDR_MASK;
        table = qmmu500_pt_alloc(r);
        for (int i = 0; i < 512; i++) {
            qtest_writeq(r->qts, table + 8 * i,
                         qtest_readq(r->qts, old + 8 * i));
        }
        move_pte(r, table + (pte - old), DATA(2));
        qtest_writeq(r->qts, l2, table | PTE_TABLE | PTE_VALID);
        /* a leaf-only invalidation: the walk cache keeps the old table */
        qtest_writeq(r->qts, CB(0, CB_TLBIVAL), va);
        qmmu500_cb_sync(r, 0);
        break;
    }
    qmmu500_check_reads(r, IOVA(0), 0x41);
    qmmu500_stop(r);
}

/* strict-noncoherent blocks migration, by name */
static void test_migration_blocked(void)
{
    g_autofree char *uri = g_strdup_printf("file:%s/mmu500-rig-test-%d.mig",
                                           g_get_tmp_dir(), getpid());
    QMMU500 *r = qmmu500_start("-global arm-mmu500.strict-noncoherent=on");
    QDict *rsp;

    rsp = qtest_qmp(r->qts, "{ 'execute': 'migrate', "
                    "'arguments': { 'uri': %s } }", uri);
    g_assert(qdict_haskey(rsp, "error"));
    g_assert(strstr(qdict_get_str(qdict_get_qdict(rsp, "error"), "desc"),
                    "strict-noncoherent"));
    qobject_unref(rsp);
    qmmu500_stop(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_data_func("mmu500-rig/stale/iotlb", GINT_TO_POINTER(STALE_IOTLB),
                        test_stale);
    qtest_add_data_func("mmu500-rig/stale/unsynced",
                        GINT_TO_POINTER(STALE_UNSYNCED), test_stale);
    qtest_add_data_func("mmu500-rig/stale/wrong-bank",
                        GINT_TO_POINTER(STALE_WRONG_BANK), test_stale);
    qtest_add_data_func("mmu500-rig/stale/walk-cache",
                        GINT_TO_POINTER(STALE_WALK_CACHE), test_stale);
    qtest_add_func("mmu500-rig/migration-blocked", test_migration_blocked);
    qtest_add_func("mmu500-rig/sanitizer/strict-view", test_strict_view);
    qtest_add_func("mmu500-rig/probe", test_probe);
    qtest_add_func("mmu500-rig/timing/tlb-sync", test_timing_sync);
    qtest_add_data_func("mmu500-rig/timing/free", NULL, test_timing_free);
    qtest_add_data_func("mmu500-rig/timing/reg-access-no-vcpu",
                        "-global arm-mmu500.reg-access-ns=1000",
                        test_timing_free);

    return g_test_run();
}
