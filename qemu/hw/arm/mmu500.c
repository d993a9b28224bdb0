/*
 * Arm MMU-500 (SMMUv2 architecture) model.
 *
 * What Linux's arm-smmu driver and its MMU-500 implementation use: the global
 * register space (sCR0, sACR, ID0-ID7, sGFSR and syndromes, global TLB
 * invalidation with sync and status, stream match and stream-to-context
 * registers), the CBAR/CBA2R space, and per context bank SCTLR, ACTLR,
 * TCR/TCR2, TTBR0/1, MAIR0/1, FSR, FAR, FSYNR0, the TLB invalidation registers
 * (by VA, by ASID, all) and TLBSYNC/TLBSTATUS. Stage-1 AArch64 tables with the
 * shared SMMU walker and IOTLB (which keeps an entry until it is invalidated or
 * the IOTLB fills and is emptied). The sanitizers (smmu-sanitizer.c) report a
 * translation served from the IOTLB that the tables no longer give, and, with
 * strict-noncoherent, a walk of lines the guest never cleaned.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qapi/error.h"
#include "hw/irq.h"
#include "hw/qdev-properties.h"
#include "hw/sysbus.h"
#include "hw/arm/mmu500.h"
#include "migration/vmstate.h"
#include "qemu/error-report.h"
#include "system/address-spaces.h"
#include "trace.h"

/* Global register space 0 */
#define GR0_SCR0            0x000
#define GR0_SACR            0x010
#define GR0_ID0             0x020
#define GR0_ID7             0x03c
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
#define GR0_SMR(n)          (0x800 + 4 * (n))
#define GR0_S2CR(n)         (0xc00 + 4 * (n))

#define SCR0_CLIENTPD       (1u << 0)
#define SCR0_GFIE           (1u << 2)
#define SCR0_USFCFG         (1u << 10)

#define SGFSR_USF           (1u << 1)

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
#define ID2_UBS(n)          ((uint32_t)(n) << 8)
#define ID2_OAS(n)          ((uint32_t)(n) << 4)
#define ID2_IAS(n)          ((uint32_t)(n))
#define ID7_MAJOR(n)        ((uint32_t)(n) << 4)
#define ID7_MINOR(n)        ((uint32_t)(n))
#define ID_SIZE_48          5

#define SMR_VALID           (1u << 31)
#define SMR_MASK(v)         (((v) >> 16) & 0x7fff)
#define SMR_ID(v)           ((v) & 0x7fff)

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
#define FSR_PF              (1u << 3)
#define FSR_EF              (1u << 4)
#define FSR_MULTI           (1u << 31)
#define FSR_FAULT           (FSR_MULTI | 0x1feu)
#define FSYNR0_WNR          (1u << 4)

#define TCR_T0SZ(v)         ((v) & 0x3f)
#define TCR_EPD0            (1u << 7)
#define TCR_TG0(v)          (((v) >> 14) & 3)
#define TCR_T1SZ(v)         (((v) >> 16) & 0x3f)
#define TCR_EPD1            (1u << 23)
#define TCR_TG1(v)          (((v) >> 30) & 3)
#define TCR2_PASIZE(v)      ((v) & 0xf)

#define TTBR_ASID(v)        ((uint16_t)((v) >> 48))
#define TTBR_ADDR(v)        ((v) & 0x0000fffffffffff0ULL)

static const uint8_t pasize_bits[] = { 32, 36, 40, 42, 44, 48, 52 };

static void mmu500_update_irqs(MMU500State *s)
{
    qemu_set_irq(s->irq[0], (s->scr0 & SCR0_GFIE) && (s->sgfsr != 0));
    /*
     * Context bank n raises context interrupt n, as Linux's arm-smmu expects on
     * SMMUv2 (it never writes CBAR.IRPTNDX).
     */
    for (int n = 0; n < MMU500_NUM_CB; n++) {
        MMU500ContextBank *cb = &s->cb[n];

        qemu_set_irq(s->irq[1 + n],
                     (cb->sctlr & CBSCTLR_CFIE) && (cb->fsr & FSR_FAULT));
    }
}

static uint32_t mmu500_id(MMU500State *s, int n)
{
    switch (n) {
    case 0:
        return ID0_S1TS | ID0_SMS | ID0_ATOSNS | ID0_PTFS_NO_AARCH32 |
               (s->coherent_walk ? ID0_CTTW : 0) |
               ID0_NUMSIDB(15) | ID0_NUMSMRG(MMU500_NUM_SMR);
    case 1:
        /* 4K pages; 2^(NUMPAGENDXB + 1) pages of global space */
        return ID1_NUMPAGENDXB(3) | ID1_NUMCB(MMU500_NUM_CB);
    case 2:
        return ID2_PTFS_4K | ID2_UBS(ID_SIZE_48) | ID2_OAS(ID_SIZE_48) |
               ID2_IAS(ID_SIZE_48);
    case 7:
        return ID7_MAJOR(2) | ID7_MINOR(1);     /* r2p1 */
    default:
        return 0;
    }
}

static void mmu500_fill_cfg(MMU500State *s, MMU500ContextBank *cb,
                            SMMUTransCfg *cfg);

/* "cb=N stream=0x20,0x21": a context bank and the streams that use it. */
static void mmu500_where(MMU500State *s, int n, char *buf, size_t len)
{
    size_t used = snprintf(buf, len, "cb=%d stream=", n);
    bool any = false;

    for (int i = 0; i < MMU500_NUM_SMR && used < len; i++) {
        if ((s->smr[i] & SMR_VALID) &&
            S2CR_TYPE(s->s2cr[i]) == S2CR_TYPE_TRANS &&
            S2CR_CBNDX(s->s2cr[i]) == n) {
            used += snprintf(buf + used, len - used, "%s0x%x",
                             any ? "," : "", SMR_ID(s->smr[i]));
            any = true;
        }
    }
    if (!any && used < len) {
        snprintf(buf + used, len - used, "none");
    }
}

/*
 * The cache-maintenance check: when the guest invalidates a translation,
 * memory and the walker's cleaned view must agree about it.
 */
static void mmu500_check_invalidation(MMU500State *s, int asid, dma_addr_t iova)
{
    char where[96];

    if (!s->strict_noncoherent) {
        return;
    }
    for (int n = 0; n < MMU500_NUM_CB; n++) {
        MMU500ContextBank *cb = &s->cb[n];
        SMMUTransCfg cfg;

        if (!(cb->sctlr & CBSCTLR_M) ||
            (asid >= 0 && TTBR_ASID(cb->ttbr0) != asid)) {
            continue;
        }
        mmu500_fill_cfg(s, cb, &cfg);
        mmu500_where(s, n, where, sizeof(where));
        smmu_sanitizer_check_invalidation(&s->sanitizer, ARM_SMMU(s), &cfg,
                                          iova, where);
    }
}

static void mmu500_tlb_inv_va(MMU500State *s, uint64_t val, bool all_asids)
{
    int asid = all_asids ? -1 : TTBR_ASID(val);
    dma_addr_t iova = (val & ((1ULL << 44) - 1)) << 12;

    trace_mmu500_tlbi_va(asid, iova);
    mmu500_check_invalidation(s, asid, iova);
    smmu_iotlb_inv_iova(ARM_SMMU(s), asid, -1, iova, 0, 1, 0);
}

static void mmu500_tlb_inv_all(MMU500State *s)
{
    trace_mmu500_tlbi_all();
    smmu_iotlb_inv_all(ARM_SMMU(s));
}

static uint64_t mmu500_read_gr0(MMU500State *s, hwaddr off)
{
    if (off >= GR0_ID0 && off <= GR0_ID7) {
        return mmu500_id(s, (off - GR0_ID0) / 4);
    }
    if (off >= GR0_SMR(0) && off < GR0_SMR(MMU500_NUM_SMR)) {
        return s->smr[(off - GR0_SMR(0)) / 4];
    }
    if (off >= GR0_S2CR(0) && off < GR0_S2CR(MMU500_NUM_SMR)) {
        return s->s2cr[(off - GR0_S2CR(0)) / 4];
    }
    switch (off) {
    case GR0_SCR0:
        return s->scr0;
    case GR0_SACR:
        return s->sacr;
    case GR0_SGFSR:
        return s->sgfsr;
    case GR0_SGFSYNR0:
        return s->sgfsynr0;
    case GR0_SGFSYNR1:
        return s->sgfsynr1;
    case GR0_STLBGSTATUS:
        return 0;               /* every invalidation completes at once */
    default:
        return 0;
    }
}

static void mmu500_write_gr0(MMU500State *s, hwaddr off, uint64_t val)
{
    if (off >= GR0_SMR(0) && off < GR0_SMR(MMU500_NUM_SMR)) {
        s->smr[(off - GR0_SMR(0)) / 4] = val;
        return;
    }
    if (off >= GR0_S2CR(0) && off < GR0_S2CR(MMU500_NUM_SMR)) {
        s->s2cr[(off - GR0_S2CR(0)) / 4] = val;
        return;
    }
    switch (off) {
    case GR0_SCR0:
        s->scr0 = val;
        break;
    case GR0_SACR:
        s->sacr = val;
        break;
    case GR0_SGFSR:
        s->sgfsr &= ~(uint32_t)val;
        break;
    case GR0_SGFSRRESTORE:
        s->sgfsr = val;
        break;
    case GR0_TLBIVMID:
    case GR0_TLBIALLNSNH:
    case GR0_TLBIALLH:
        mmu500_tlb_inv_all(s);
        break;
    case GR0_STLBGSYNC:
        break;
    default:
        qemu_log_mask(LOG_UNIMP, "mmu500: write to GR0 0x%" HWADDR_PRIx "\n",
                      off);
        break;
    }
}

static uint64_t mmu500_read_gr1(MMU500State *s, hwaddr off)
{
    int n = (off & 0x3ff) / 4;

    if (n >= MMU500_NUM_CB) {
        return 0;
    }
    if (off < GR1_CBFRSYNRA(0)) {
        return s->cb[n].cbar;
    }
    if (off >= GR1_CBA2R(0) && off < GR1_CBA2R(0) + 0x400) {
        return s->cb[n].cba2r;
    }
    return 0;
}

static void mmu500_write_gr1(MMU500State *s, hwaddr off, uint64_t val)
{
    int n = (off & 0x3ff) / 4;

    if (n >= MMU500_NUM_CB) {
        return;
    }
    if (off < GR1_CBFRSYNRA(0)) {
        s->cb[n].cbar = val;
    } else if (off >= GR1_CBA2R(0) && off < GR1_CBA2R(0) + 0x400) {
        s->cb[n].cba2r = val;
    }
}

static uint64_t mmu500_read_cb(MMU500State *s, int n, hwaddr off, unsigned size)
{
    MMU500ContextBank *cb = &s->cb[n];

    switch (off) {
    case CB_SCTLR:
        return cb->sctlr;
    case CB_ACTLR:
        return cb->actlr;
    case CB_TCR2:
        return cb->tcr2;
    case CB_TTBR0:
        return size == 8 ? cb->ttbr0 : (uint32_t)cb->ttbr0;
    case CB_TTBR0 + 4:
        return cb->ttbr0 >> 32;
    case CB_TTBR1:
        return size == 8 ? cb->ttbr1 : (uint32_t)cb->ttbr1;
    case CB_TTBR1 + 4:
        return cb->ttbr1 >> 32;
    case CB_TCR:
        return cb->tcr;
    case CB_CONTEXTIDR:
        return cb->contextidr;
    case CB_MAIR0:
        return cb->mair0;
    case CB_MAIR1:
        return cb->mair1;
    case CB_PAR:
        return cb->par;
    case CB_FSR:
        return cb->fsr;
    case CB_FAR:
        return size == 8 ? cb->far : (uint32_t)cb->far;
    case CB_FAR + 4:
        return cb->far >> 32;
    case CB_FSYNR0:
        return cb->fsynr0;
    case CB_TLBSTATUS:
        return 0;               /* SACTIVE clear: the sync is complete */
    default:
        return 0;
    }
}

static void set64(uint64_t *reg, hwaddr off, hwaddr base, uint64_t val,
                  unsigned size)
{
    if (size == 8) {
        *reg = val;
    } else if (off == base) {
        *reg = deposit64(*reg, 0, 32, val);
    } else {
        *reg = deposit64(*reg, 32, 32, val);
    }
}

static void mmu500_write_cb(MMU500State *s, int n, hwaddr off, uint64_t val,
                            unsigned size)
{
    MMU500ContextBank *cb = &s->cb[n];

    trace_mmu500_cb_write(n, off, val);
    switch (off) {
    case CB_SCTLR:
        cb->sctlr = val;
        break;
    case CB_ACTLR:
        cb->actlr = val;
        break;
    case CB_RESUME:
        break;
    case CB_TCR2:
        cb->tcr2 = val;
        break;
    case CB_TTBR0:
    case CB_TTBR0 + 4:
        set64(&cb->ttbr0, off, CB_TTBR0, val, size);
        break;
    case CB_TTBR1:
    case CB_TTBR1 + 4:
        set64(&cb->ttbr1, off, CB_TTBR1, val, size);
        break;
    case CB_TCR:
        cb->tcr = val;
        break;
    case CB_CONTEXTIDR:
        cb->contextidr = val;
        break;
    case CB_MAIR0:
        cb->mair0 = val;
        break;
    case CB_MAIR1:
        cb->mair1 = val;
        break;
    case CB_FSR:
        cb->fsr &= ~(uint32_t)val;
        break;
    case CB_FSRRESTORE:
        cb->fsr = val;
        break;
    case CB_TLBIVA:
    case CB_TLBIVAL:
        mmu500_tlb_inv_va(s, val, false);
        break;
    case CB_TLBIVAA:
    case CB_TLBIVAAL:
        mmu500_tlb_inv_va(s, val, true);
        break;
    case CB_TLBIASID:
        trace_mmu500_tlbi_asid(val & 0xffff);
        smmu_iotlb_inv_asid_vmid(ARM_SMMU(s), val & 0xffff, -1);
        break;
    case CB_TLBIALL:
        mmu500_tlb_inv_all(s);
        break;
    case CB_TLBSYNC:
        break;
    default:
        qemu_log_mask(LOG_UNIMP,
                      "mmu500: write to CB%d 0x%" HWADDR_PRIx "\n", n, off);
        break;
    }
}

static MemTxResult mmu500_read(void *opaque, hwaddr offset, uint64_t *data,
                               unsigned size, MemTxAttrs attrs)
{
    MMU500State *s = opaque;
    hwaddr cb_base = MMU500_NUM_PAGES * MMU500_PAGE_SIZE;

    qemu_mutex_lock(&s->mutex);
    if (offset < MMU500_PAGE_SIZE) {
        *data = mmu500_read_gr0(s, offset);
    } else if (offset < 2 * MMU500_PAGE_SIZE) {
        *data = mmu500_read_gr1(s, offset - MMU500_PAGE_SIZE);
    } else if (offset >= cb_base &&
               offset < cb_base + MMU500_NUM_CB * MMU500_PAGE_SIZE) {
        int n = (offset - cb_base) / MMU500_PAGE_SIZE;
        *data = mmu500_read_cb(s, n, offset & (MMU500_PAGE_SIZE - 1), size);
    } else {
        *data = 0;
    }
    qemu_mutex_unlock(&s->mutex);
    return MEMTX_OK;
}

static MemTxResult mmu500_write(void *opaque, hwaddr offset, uint64_t data,
                                unsigned size, MemTxAttrs attrs)
{
    MMU500State *s = opaque;
    hwaddr cb_base = MMU500_NUM_PAGES * MMU500_PAGE_SIZE;

    qemu_mutex_lock(&s->mutex);
    if (offset < MMU500_PAGE_SIZE) {
        trace_mmu500_gr0_write(offset, data);
        mmu500_write_gr0(s, offset, data);
    } else if (offset < 2 * MMU500_PAGE_SIZE) {
        mmu500_write_gr1(s, offset - MMU500_PAGE_SIZE, data);
    } else if (offset >= cb_base &&
               offset < cb_base + MMU500_NUM_CB * MMU500_PAGE_SIZE) {
        int n = (offset - cb_base) / MMU500_PAGE_SIZE;
        mmu500_write_cb(s, n, offset & (MMU500_PAGE_SIZE - 1), data, size);
    }
    mmu500_update_irqs(s);
    qemu_mutex_unlock(&s->mutex);
    return MEMTX_OK;
}

static const MemoryRegionOps mmu500_mem_ops = {
    .read_with_attrs = mmu500_read,
    .write_with_attrs = mmu500_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 4, .max_access_size = 8 },
    .impl = { .min_access_size = 4, .max_access_size = 8 },
};

/* The stream map entry for a stream ID, or -1 when none matches. */
static int mmu500_match_stream(MMU500State *s, uint32_t sid)
{
    for (int i = 0; i < MMU500_NUM_SMR; i++) {
        uint32_t smr = s->smr[i];
        if ((smr & SMR_VALID) &&
            !((sid ^ SMR_ID(smr)) & ~SMR_MASK(smr) & 0x7fff)) {
            return i;
        }
    }
    return -1;
}

/* The bank's translation regime; walks read what the model's walker sees. */
static void mmu500_fill_cfg(MMU500State *s, MMU500ContextBank *cb,
                            SMMUTransCfg *cfg)
{
    static const uint8_t tg0_shift[] = { 12, 16, 14, 0 };
    static const uint8_t tg1_shift[] = { 0, 14, 12, 16 };
    uint32_t pasize = TCR2_PASIZE(cb->tcr2);

    memset(cfg, 0, sizeof(*cfg));
    cfg->stage = SMMU_STAGE_1;
    cfg->s2cfg.vmid = -1;
    cfg->aa64 = cb->cba2r & CBA2R_VA64;
    cfg->oas = pasize < ARRAY_SIZE(pasize_bits) ? pasize_bits[pasize] : 48;
    cfg->oas = MIN(cfg->oas, 48);
    cfg->asid = TTBR_ASID(cb->ttbr0);
    cfg->tt[0].tsz = TCR_T0SZ(cb->tcr);
    cfg->tt[0].granule_sz = tg0_shift[TCR_TG0(cb->tcr)];
    cfg->tt[0].ttb = TTBR_ADDR(cb->ttbr0);
    cfg->tt[0].disabled = (cb->tcr & TCR_EPD0) || !cfg->tt[0].granule_sz;
    cfg->tt[1].tsz = TCR_T1SZ(cb->tcr);
    cfg->tt[1].granule_sz = tg1_shift[TCR_TG1(cb->tcr)];
    cfg->tt[1].ttb = TTBR_ADDR(cb->ttbr1);
    cfg->tt[1].disabled = (cb->tcr & TCR_EPD1) || !cfg->tt[1].granule_sz;
    smmu_sanitizer_set_walk(&s->sanitizer, cfg);
}

static void mmu500_context_fault(MMU500State *s, int n, hwaddr iova,
                                 IOMMUAccessFlags flag, uint32_t fsr_bit)
{
    MMU500ContextBank *cb = &s->cb[n];

    if (cb->fsr & FSR_FAULT) {
        cb->fsr |= FSR_MULTI;
    } else {
        cb->fsr |= fsr_bit;
        cb->far = iova;
        cb->fsynr0 = (flag & IOMMU_WO) ? FSYNR0_WNR : 0;
    }
    trace_mmu500_context_fault(n, iova, cb->fsr);
    mmu500_update_irqs(s);
}

static IOMMUTLBEntry mmu500_translate(IOMMUMemoryRegion *mr, hwaddr addr,
                                      IOMMUAccessFlags flag, int iommu_idx)
{
    SMMUDevice *sdev = container_of(mr, SMMUDevice, iommu);
    MMU500State *s = sdev->smmu;
    SMMUState *bs = ARM_SMMU(s);
    uint32_t sid = smmu_get_sid(sdev);
    IOMMUTLBEntry entry = {
        .target_as = &address_space_memory,
        .iova = addr,
        .translated_addr = addr,
        /* bypass and faults: one page at a time */
        .addr_mask = MMU500_PAGE_SIZE - 1,
        .perm = IOMMU_NONE,
    };
    SMMUTransCfg cfg;
    SMMUTransTableInfo *tt;
    SMMUTLBEntry *cached;
    SMMUPTWEventInfo ptw_info = {};
    hwaddr page;
    int smr, n;

    qemu_mutex_lock(&s->mutex);

    if (s->scr0 & SCR0_CLIENTPD) {
        entry.perm = flag;                      /* the SMMU is off: bypass */
        goto out;
    }
    smr = mmu500_match_stream(s, sid);
    if (smr < 0) {
        if (s->scr0 & SCR0_USFCFG) {
            s->sgfsr |= SGFSR_USF;
            s->sgfsynr1 = sid;
            trace_mmu500_global_fault(sid, s->sgfsr);
            mmu500_update_irqs(s);
        } else {
            entry.perm = flag;
        }
        goto out;
    }
    switch (S2CR_TYPE(s->s2cr[smr])) {
    case S2CR_TYPE_BYPASS:
        entry.perm = flag;
        goto out;
    case S2CR_TYPE_FAULT:
        goto out;
    default:
        break;
    }
    n = S2CR_CBNDX(s->s2cr[smr]);
    if (n >= MMU500_NUM_CB) {
        goto out;
    }
    if (!(s->cb[n].sctlr & CBSCTLR_M)) {
        entry.perm = flag;                      /* stage 1 disabled: flat */
        goto out;
    }

    mmu500_fill_cfg(s, &s->cb[n], &cfg);
    tt = select_tt(&cfg, addr);
    if (!tt || tt->disabled) {
        mmu500_context_fault(s, n, addr, flag, FSR_TF);
        goto out;
    }
    page = addr & ~((1ULL << tt->granule_sz) - 1);
    cached = smmu_iotlb_lookup(bs, &cfg, tt, page);
    if (!cached) {
        cached = g_new0(SMMUTLBEntry, 1);
        if (smmu_ptw(bs, &cfg, page, flag, cached, &ptw_info)) {
            g_free(cached);
            mmu500_context_fault(s, n, addr, flag,
                ptw_info.type == SMMU_PTW_ERR_PERMISSION ? FSR_PF :
                ptw_info.type == SMMU_PTW_ERR_WALK_EABT ? FSR_EF :
                FSR_TF);
            goto out;
        }
        smmu_iotlb_insert(bs, &cfg, cached);
    } else if (s->check_stale) {
        char where[96];

        mmu500_where(s, n, where, sizeof(where));
        smmu_sanitizer_check_hit(&s->sanitizer, bs, &cfg, cached, addr, where);
    }
    if ((flag & IOMMU_WO) && !(cached->entry.perm & IOMMU_WO)) {
        mmu500_context_fault(s, n, addr, flag, FSR_PF);
        goto out;
    }
    entry.perm = cached->entry.perm;
    entry.translated_addr = cached->entry.translated_addr +
                            (addr & cached->entry.addr_mask);
    entry.addr_mask = cached->entry.addr_mask;
    trace_mmu500_translate(sid, n, addr, entry.translated_addr);
out:
    qemu_mutex_unlock(&s->mutex);
    return entry;
}

/* Reset in the exit phase, once outstanding DMA has been quiesced. */
static void mmu500_reset_exit(Object *obj, ResetType type)
{
    MMU500State *s = ARM_MMU500(obj);
    MMU500Class *c = ARM_MMU500_GET_CLASS(s);

    if (c->parent_phases.exit) {
        c->parent_phases.exit(obj, type);
    }
    s->scr0 = SCR0_CLIENTPD;
    s->sacr = 0;
    s->sgfsr = s->sgfsynr0 = s->sgfsynr1 = 0;
    memset(s->smr, 0, sizeof(s->smr));
    memset(s->s2cr, 0, sizeof(s->s2cr));
    memset(s->cb, 0, sizeof(s->cb));
}

static void mmu500_realize(DeviceState *d, Error **errp)
{
    SMMUState *sys = ARM_SMMU(d);
    MMU500State *s = ARM_MMU500(d);
    MMU500Class *c = ARM_MMU500_GET_CLASS(s);
    SysBusDevice *dev = SYS_BUS_DEVICE(d);
    Error *local_err = NULL;

    c->parent_realize(d, &local_err);
    if (local_err) {
        error_propagate(errp, local_err);
        return;
    }
    qemu_mutex_init(&s->mutex);
    memory_region_init_io(&sys->iomem, OBJECT(s), &mmu500_mem_ops, s,
                          TYPE_ARM_MMU500, MMU500_MMIO_SIZE);
    sys->mrtypename = TYPE_MMU500_IOMMU_MEMORY_REGION;
    sysbus_init_mmio(dev, &sys->iomem);
    for (int i = 0; i < MMU500_NUM_IRQS; i++) {
        sysbus_init_irq(dev, &s->irq[i]);
    }
    if (s->strict_noncoherent && s->coherent_walk) {
        error_setg(errp, "strict-noncoherent needs a non-coherent walk "
                   "(coherent-walk=off)");
        return;
    }
    smmu_sanitizer_init(&s->sanitizer, "mmu500", s->strict_noncoherent);
}

static const Property mmu500_properties[] = {
    DEFINE_PROP_BOOL("coherent-walk", MMU500State, coherent_walk, false),
    DEFINE_PROP_BOOL("strict-noncoherent", MMU500State, strict_noncoherent,
                     false),
    DEFINE_PROP_BOOL("check-stale", MMU500State, check_stale, true),
};

static void mmu500_class_init(ObjectClass *klass, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);
    MMU500Class *c = ARM_MMU500_CLASS(klass);

    device_class_set_props(dc, mmu500_properties);
    resettable_class_set_parent_phases(rc, NULL, NULL, mmu500_reset_exit,
                                       &c->parent_phases);
    device_class_set_parent_realize(dc, mmu500_realize, &c->parent_realize);
    /* No migration support: the rig boots fresh every time. */
    dc->user_creatable = false;
}

static int mmu500_notify_flag_changed(IOMMUMemoryRegion *iommu,
                                      IOMMUNotifierFlag old,
                                      IOMMUNotifierFlag new, Error **errp)
{
    if (new & (IOMMU_NOTIFIER_MAP | IOMMU_NOTIFIER_DEVIOTLB_UNMAP)) {
        error_setg(errp,
                   "the MMU-500 model supports no MAP or dev-iotlb notifiers");
        return -EINVAL;
    }
    return 0;
}

static void mmu500_iommu_memory_region_class_init(ObjectClass *klass,
                                                  const void *data)
{
    IOMMUMemoryRegionClass *imrc = IOMMU_MEMORY_REGION_CLASS(klass);

    imrc->translate = mmu500_translate;
    imrc->notify_flag_changed = mmu500_notify_flag_changed;
}

static const TypeInfo mmu500_type_info = {
    .name          = TYPE_ARM_MMU500,
    .parent        = TYPE_ARM_SMMU,
    .instance_size = sizeof(MMU500State),
    .class_size    = sizeof(MMU500Class),
    .class_init    = mmu500_class_init,
};

static const TypeInfo mmu500_iommu_memory_region_info = {
    .parent = TYPE_IOMMU_MEMORY_REGION,
    .name = TYPE_MMU500_IOMMU_MEMORY_REGION,
    .class_init = mmu500_iommu_memory_region_class_init,
};

static void mmu500_register_types(void)
{
    type_register_static(&mmu500_type_info);
    type_register_static(&mmu500_iommu_memory_region_info);
}

type_init(mmu500_register_types)
