/*
 * libqos helpers for the Arm MMU-500 (SMMUv2) on the virt machine: its
 * registers, a machine with the edu device as a DMA master behind it, and
 * stage-1 tables built in guest RAM as Linux's io-pgtable would.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef LIBQOS_MMU500_H
#define LIBQOS_MMU500_H

#include "../libqtest.h"
#include "pci.h"
#include "generic-pcihost.h"

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

typedef struct QMMU500 {
    QTestState *qts;
    QGenericPCIBus pcibus;
    QPCIDevice *edu;
    QPCIBar bar;
    uint64_t pt_next;
    uint64_t root[NUM_CB];
} QMMU500;

/* The level of SMMU interrupt @n (0 global, 1 + n context bank n) */
#define qmmu500_check_irq(r, n, level) \
    g_assert_cmphex(qtest_get_irq((r)->qts, (n)), ==, (level))

uint32_t qmmu500_gr0_read(QMMU500 *r, uint32_t off);
void qmmu500_gr0_write(QMMU500 *r, uint32_t off, uint32_t val);
uint32_t qmmu500_cb_read(QMMU500 *r, int n, uint32_t off);
void qmmu500_cb_write(QMMU500 *r, int n, uint32_t off, uint32_t val);
char *qmmu500_find_smmu(QTestState *qts);
QMMU500 *qmmu500_start(const char *extra);
void qmmu500_stop(QMMU500 *r);
void qmmu500_intercept_irqs(QMMU500 *r);
void qmmu500_edu_dma(QMMU500 *r, uint64_t src, uint64_t dst, uint64_t cnt,
                    uint64_t cmd);
void qmmu500_dma_read(QMMU500 *r, uint64_t iova, uint64_t cnt);
void qmmu500_dma_write(QMMU500 *r, uint64_t iova, uint64_t cnt);
void qmmu500_fill(QMMU500 *r, uint64_t pa, size_t len, uint8_t seed);
void qmmu500_check(QMMU500 *r, uint64_t pa, size_t len, uint8_t seed);
void qmmu500_check_fill(QMMU500 *r, uint64_t pa, size_t len, uint8_t byte);
void qmmu500_seed_buffer(QMMU500 *r, uint8_t seed);
uint64_t qmmu500_pt_alloc(QMMU500 *r);
uint64_t qmmu500_map_page(QMMU500 *r, int n, uint64_t iova, uint64_t pa,
                         bool writable);
uint64_t qmmu500_map_block(QMMU500 *r, int n, uint64_t iova, uint64_t pa);
void qmmu500_setup_cb(QMMU500 *r, int n, uint16_t asid);
void qmmu500_set_stream(QMMU500 *r, int i, uint32_t smr, uint32_t s2cr);
void qmmu500_setup_translation(QMMU500 *r, int n, uint16_t asid);
void qmmu500_cb_sync(QMMU500 *r, int n);
uint64_t qmmu500_desc_slot(QMMU500 *r, int n, uint64_t iova, int level);
void qmmu500_check_reads(QMMU500 *r, uint64_t iova, uint8_t seed);

#endif /* LIBQOS_MMU500_H */
