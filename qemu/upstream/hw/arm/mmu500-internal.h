/*
 * Arm MMU-500 model: the register layout, and the walker and stream helpers
 * the device's files share.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_ARM_MMU500_INTERNAL_H
#define HW_ARM_MMU500_INTERNAL_H

#include "hw/arm/mmu500.h"

/* Global register space 0 */
#define GR0_SCR0            0x000
#define GR0_SACR            0x010
#define GR0_ID0             0x020
#define GR0_ID7             0x03c
#define GR0_SGFAR           0x040
#define GR0_SGFSR           0x048
#define GR0_SGFSRRESTORE    0x04c
#define GR0_SGFSYNR0        0x050
#define GR0_SGFSYNR1        0x054
#define GR0_SGFSYNR2        0x058
#define GR0_TLBIVMID        0x064
#define GR0_TLBIALLNSNH     0x068
#define GR0_TLBIALLH        0x06c
#define GR0_STLBGSYNC       0x070
#define GR0_STLBGSTATUS     0x074
/* sTLBGSTATUS.GSACTIVE and TLBSTATUS.SACTIVE: a sync is in progress */
#define SYNC_ACTIVE         (1u << 0)
#define GR0_SMR(n)          (0x800 + 4 * (n))
#define GR0_S2CR(n)         (0xc00 + 4 * (n))

#define SCR0_CLIENTPD       (1u << 0)
/* the MMU-500's sACR (its ACR): CACHE_LOCK makes every CBn_ACTLR read-only */
#define SACR_CACHE_LOCK     (1u << 26)
#define SCR0_GFIE           (1u << 2)
#define SCR0_USFCFG         (1u << 10)
/* stream match conflicts fault: read-only 1 on the MMU-500 */
#define SCR0_SMCFCFG        (1u << 21)

/* Global fault status: one record, further faults only set MULTI */
#define SGFSR_USF           (1u << 1)
#define SGFSR_SMCF          (1u << 2)
#define SGFSR_UCBF          (1u << 3)
#define SGFSR_MULTI         (1u << 31)
#define SGFSYNR0_WNR        (1u << 1)

#define ID0_S1TS            (1u << 30)
#define ID0_SMS             (1u << 27)
#define ID0_ATOSNS          (1u << 26)
#define ID0_PTFS_NO_AARCH32 (3u << 24)
#define ID0_CTTW            (1u << 14)
#define ID0_NUMSIDB(n)      ((uint32_t)(n) << 9)
#define ID0_NUMSMRG(n)      ((uint32_t)(n))
#define ID1_NUMPAGENDXB(n)  ((uint32_t)(n) << 28)
#define ID1_NUMCB(n)        ((uint32_t)(n))
#define ID2_PTFS_4K         (1u << 12)
#define ID2_PTFS_64K        (1u << 14)
#define ID2_UBS(n)          ((uint32_t)(n) << 8)
#define ID2_OAS(n)          ((uint32_t)(n) << 4)
#define ID2_IAS(n)          ((uint32_t)(n))
#define ID7_MAJOR(n)        ((uint32_t)(n) << 4)
#define ID7_MINOR(n)        ((uint32_t)(n))
#define ID_SIZE_48          5

/*
 * Stream match: the MMU-500 takes 15-bit stream IDs (ID0.NUMSIDB 15, no
 * extended IDs), so SMR.ID and SMR.MASK are 15 bits and bit 15 is reserved.
 */
#define SID_MASK            ((1u << MMU500_SID_BITS) - 1)
#define SMR_VALID           (1u << 31)
#define SMR_MASK(v)         (((v) >> 16) & SID_MASK)
#define SMR_ID(v)           ((v) & SID_MASK)
#define SMR_WRITABLE        (SMR_VALID | (SID_MASK << 16) | SID_MASK)

#define S2CR_TYPE(v)        (((v) >> 16) & 3)
#define S2CR_TYPE_TRANS     0
#define S2CR_TYPE_BYPASS    1
#define S2CR_TYPE_FAULT     2
#define S2CR_CBNDX(v)       ((v) & 0xff)

/* Global register space 1 */
#define GR1_CBAR(n)         (0x000 + 4 * (n))
#define GR1_CBFRSYNRA(n)    (0x400 + 4 * (n))
#define GR1_CBA2R(n)        (0x800 + 4 * (n))
#define CBA2R_VA64          (1u << 0)
#define CBAR_TYPE(v)        (((v) >> 16) & 3)
#define CBAR_TYPE_S1_S2BYPASS 1
#define CBAR_VMID(v)        ((v) & 0xff)
#define CBAR_HYPC           (1u << 10)

/* Reset values that are not 0 */
#define MMU500_SACR_RESET   (SACR_CACHE_LOCK | 0x1c)
#define MMU500_CBAR_RESET   0x00020000u
#define MMU500_ACTLR_RESET  0x3u
#define MMU500_SCTLR_RESET  0x100u

/* Context bank registers */
#define CB_SCTLR            0x000
#define CB_ACTLR            0x004
#define CB_RESUME           0x008
#define CB_TCR2             0x010
#define CB_TTBR0            0x020
#define CB_TTBR1            0x028
#define CB_TCR              0x030
#define CB_CONTEXTIDR       0x034
#define CB_MAIR0            0x038
#define CB_MAIR1            0x03c
#define CB_PAR              0x050
#define CB_FSR              0x058
#define CB_FSRRESTORE       0x05c
#define CB_FAR              0x060
#define CB_FSYNR0           0x068
#define CB_TLBIVA           0x600
#define CB_TLBIVAA          0x608
#define CB_TLBIASID         0x610
#define CB_TLBIALL          0x618
#define CB_TLBIVAL          0x620
#define CB_TLBIVAAL         0x628
#define CB_TLBSYNC          0x7f0
#define CB_TLBSTATUS        0x7f4

#define CBSCTLR_M             (1u << 0)
#define CBSCTLR_CFIE          (1u << 6)

#define FSR_TF              (1u << 1)
#define FSR_AFF             (1u << 2)
#define FSR_PF              (1u << 3)
#define FSR_EF              (1u << 4)
#define FSR_ASF             (1u << 7)
#define FSR_MULTI           (1u << 31)
#define FSR_FAULT           (FSR_MULTI | 0x1feu)
/* FSR.FORMAT: the fault record is in the AArch64 (long-descriptor) format */
#define FSR_FORMAT_AARCH64  (2u << 9)
#define FSYNR0_PLVL(l)      ((uint32_t)(l) & 3)
#define FSYNR0_WNR          (1u << 4)
#define FSYNR0_PTWF         (1u << 10)

/* Stage-1 AArch64 descriptors; the address is granule-aligned */
#define DESC_VALID          (1ULL << 0)
#define DESC_TABLE          (1ULL << 1)
#define DESC_AP_RDONLY      (1ULL << 7)
#define DESC_AF             (1ULL << 10)
#define DESC_ADDR           0x0000fffffffff000ULL

#define TCR_T0SZ(v)         ((v) & 0x3f)
#define TCR_EPD0            (1u << 7)
#define TCR_TG0(v)          (((v) >> 14) & 3)
#define TCR_T1SZ(v)         (((v) >> 16) & 0x3f)
#define TCR_A1              (1u << 22)
#define TCR_EPD1            (1u << 23)
#define TCR_TG1(v)          (((v) >> 30) & 3)
#define TCR2_PASIZE(v)      ((v) & 0xf)
#define TCR2_AS             (1u << 4)

#define TTBR_ASID(v)        ((uint16_t)((v) >> 48))
#define TTBR_ADDR(v)        ((v) & 0x0000fffffffffff0ULL)

/* A walk's outcome: a leaf, or a fault and the level it was found at. */
typedef struct MMU500Walk {
    uint32_t fault;             /* an FSR bit, 0 when it translates */
    bool ptw_abort;             /* the fault was a descriptor read's */
    int level;
    uint64_t pa;                /* the leaf's output address */
    uint64_t mask;              /* the leaf's size - 1 */
    IOMMUAccessFlags perm;
    int cached_level;           /* the walk cache gave this level's table */
    uint64_t cached_table;
} MMU500Walk;

/* What bank @n's registers select for @iova, or why they cannot be walked. */
typedef struct MMU500Regime {
    const char *unsupported;    /* NULL when the model can walk it */
    MMU500Tag tag;
    int granule_bits;           /* 12 (4K) or 16 (64K) */
    int va_bits;                /* the region's input size, 64 - TnSZ */
    int start_level;            /* -1: outside both regions */
    int oas;
    uint64_t ttb;
} MMU500Regime;

/* Reads the descriptor at @pa; false for an external abort. */
typedef bool MMU500ReadDesc(MMU500State *s, uint64_t pa, uint64_t *desc);

/* "cb=N stream=0x20,0x21": a context bank and the streams that use it. */
void mmu500_where(MMU500State *s, int n, char *buf, size_t len);
/* The ASID of bank @cb: TTBR1's with TCR.A1, 16 bits with TCR2.AS, else 8. */
uint16_t mmu500_asid(MMU500ContextBank *cb);
/* The tags bank @n's entries carry, and its invalidations match. */
void mmu500_tag(MMU500State *s, int n, MMU500Tag *tag);
/* What bank @n's registers select for @iova. */
void mmu500_regime(MMU500State *s, int n, uint64_t iova, MMU500Regime *r);
/* The address range a level-@level descriptor maps, log2. */
int mmu500_level_shift(const MMU500Regime *r, int level);
/* Guest RAM only: anything else is an external abort. */
MMU500ReadDesc mmu500_read_ram;
/*
 * Walk bank @n's tables for @iova, reading descriptors with @read; with
 * @cached, from the deepest table the walk cache holds, filling it.
 */
void mmu500_walk(MMU500State *s, int n, const MMU500Regime *r, uint64_t iova,
                 bool cached, MMU500ReadDesc *read, MMU500Walk *w);

#endif /* HW_ARM_MMU500_INTERNAL_H */
