/*
 * Arm MMU-500 (SMMUv2 architecture) model.
 *
 * What Linux's arm-smmu driver and its MMU-500 implementation use: the global
 * register space (sCR0, sACR, ID0-ID7, sGFAR, sGFSR and syndromes, global TLB
 * invalidation with sync and status, stream match and stream-to-context
 * registers), the CBAR/CBFRSYNRA/CBA2R space, and per context bank SCTLR,
 * ACTLR, TCR/TCR2, TTBR0/1, MAIR0/1, FSR, FAR, FSYNR0, the TLB invalidation
 * registers (by VA, leaf only or not, by ASID, all) and TLBSYNC/TLBSTATUS.
 * Reset values are the MMU-500's.
 *
 * Translation: stage 1 only (CBAR type "stage 1, stage 2 bypass"), AArch64
 * descriptors (CBA2R.VA64) with the 4K or the 64K granule (the MMU-500 has
 * no 16K), TTBR0 and TTBR1, walked by the model itself so that intermediate
 * levels can be cached. Walks read guest RAM only: a table anywhere else is
 * an external abort, so no walk re-enters a device. Any other configuration
 * the guest writes raises a translation fault and is logged once, never an
 * abort. The IOTLB and the walk cache (mmu500-tlb.c) have a fixed capacity;
 * an invalidation takes effect when a sync that completes it is written (a
 * context bank's TLBSYNC for that bank's, sTLBGSYNC for all), and a sync
 * completes at once.
 *
 * Accesses with the debug attribute (MMU500_IDX_PROBE) are translated like
 * any other but never recorded as faults, so a debugger or a test device can
 * look at what the SMMU would do with an IOVA without disturbing the guest.
 *
 * Locking: the device's mutex covers its state. Lock order: the BQL, then
 * the mutex. Nothing done under the mutex takes the BQL or enters another
 * device; a fault found by a DMA from a thread without the BQL raises its
 * interrupt from a bottom half.
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
#include "migration/vmstate.h"
#include "qemu/main-loop.h"
#include "block/aio.h"
#include "system/address-spaces.h"
#include "mmu500-internal.h"
#include "trace.h"

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

static void mmu500_irq_bh(void *opaque)
{
    MMU500State *s = opaque;

    qemu_mutex_lock(&s->mutex);
    mmu500_update_irqs(s);
    qemu_mutex_unlock(&s->mutex);
}

/*
 * After a fault was recorded: the interrupt controller is entered under the
 * BQL only, so a DMA from a thread that does not hold it (an iothread) has
 * the interrupts raised from a bottom half.
 */
static void mmu500_raise_irqs(MMU500State *s)
{
    if (bql_locked()) {
        mmu500_update_irqs(s);
    } else {
        qemu_bh_schedule(s->irq_bh);
    }
}

static uint32_t mmu500_id(MMU500State *s, int n)
{
    switch (n) {
    case 0:
        return ID0_S1TS | ID0_SMS | ID0_ATOSNS | ID0_PTFS_NO_AARCH32 |
               (s->coherent_walk ? ID0_CTTW : 0) |
               ID0_NUMSIDB(MMU500_SID_BITS) | ID0_NUMSMRG(MMU500_NUM_SMR);
    case 1:
        /* 4K pages; 2^(NUMPAGENDXB + 1) pages of global space */
        return ID1_NUMPAGENDXB(3) | ID1_NUMCB(MMU500_NUM_CB);
    case 2:
        /* The MMU-500 walks 4K and 64K granules, never 16K (TRM, ID2) */
        return ID2_PTFS_4K | ID2_PTFS_64K | ID2_UBS(ID_SIZE_48) |
               ID2_OAS(ID_SIZE_48) |
               ID2_IAS(ID_SIZE_48);
    case 7:
        return ID7_MAJOR(2) | ID7_MINOR(1);     /* r2p1 */
    default:
        return 0;
    }
}

/* "cb=N stream=0x20,0x21": a context bank and the streams that use it. */
void mmu500_where(MMU500State *s, int n, char *buf, size_t len)
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

/* The ASID of bank @n: TTBR1's with TCR.A1, 16 bits with TCR2.AS, else 8. */
uint16_t mmu500_asid(MMU500ContextBank *cb)
{
    uint16_t asid = TTBR_ASID((cb->tcr & TCR_A1) ? cb->ttbr1 : cb->ttbr0);

    return (cb->tcr2 & TCR2_AS) ? asid : (asid & 0xff);
}

/* The tags bank @n's entries carry, and its invalidations match. */
void mmu500_tag(MMU500State *s, int n, MMU500Tag *tag)
{
    MMU500ContextBank *cb = &s->cb[n];

    tag->cb = n;
    tag->vmid = CBAR_VMID(cb->cbar);
    tag->hyp = cb->cbar & CBAR_HYPC;
    tag->asid = mmu500_asid(cb);
}

/* log2 of the granule a TG0 (@upper: TG1) value selects, or 0 if not walked */
static int mmu500_granule_bits(uint32_t tg, bool upper, const char **name)
{
    static const int tg0_bits[] = { 12, 16, 14, 0 };
    static const int tg1_bits[] = { 0, 14, 12, 16 };
    int bits = upper ? tg1_bits[tg & 3] : tg0_bits[tg & 3];

    *name = bits == 14 ? "the 16K granule, which the MMU-500 does not "
                         "implement (ID2.PTFS: 4K and 64K)" :
            "a reserved granule encoding";
    return bits == 14 ? 0 : bits;
}

void mmu500_regime(MMU500State *s, int n, uint64_t iova, MMU500Regime *r)
{
    MMU500ContextBank *cb = &s->cb[n];
    uint32_t pasize = TCR2_PASIZE(cb->tcr2);
    int tsz, stride;
    bool upper;

    memset(r, 0, sizeof(*r));
    mmu500_tag(s, n, &r->tag);
    if (CBAR_TYPE(cb->cbar) != CBAR_TYPE_S1_S2BYPASS) {
        r->unsupported = "CBAR type other than stage 1 with stage 2 bypass";
        return;
    }
    if (!(cb->cba2r & CBA2R_VA64)) {
        r->unsupported = "AArch32 descriptors (CBA2R.VA64 clear)";
        return;
    }
    upper = extract64(iova, 63, 1);
    tsz = upper ? TCR_T1SZ(cb->tcr) : TCR_T0SZ(cb->tcr);
    r->granule_bits = mmu500_granule_bits(upper ? TCR_TG1(cb->tcr) :
                                          TCR_TG0(cb->tcr), upper,
                                          &r->unsupported);
    if (!r->granule_bits) {
        return;
    }
    r->unsupported = NULL;
    if (tsz < 16 || tsz > 39) {
        r->unsupported = "a T0SZ/T1SZ outside 16..39";
        return;
    }
    r->va_bits = 64 - tsz;
    stride = r->granule_bits - 3;
    r->start_level = 4 - DIV_ROUND_UP(r->va_bits - r->granule_bits, stride);
    r->oas = pasize < ARRAY_SIZE(pasize_bits) ? pasize_bits[pasize] : 48;
    r->oas = MIN(r->oas, 48);
    r->ttb = TTBR_ADDR(upper ? cb->ttbr1 : cb->ttbr0);
    /*
     * An address outside both regions, or in one whose walks are disabled
     * (TCR.EPDn), is a translation fault.
     */
    if ((upper ? (cb->tcr & TCR_EPD1) : (cb->tcr & TCR_EPD0)) ||
        (upper ? ~iova : iova) >> r->va_bits) {
        r->start_level = -1;
    }
}

/* The address range a level-@level descriptor maps, log2. */
int mmu500_level_shift(const MMU500Regime *r, int level)
{
    return r->granule_bits + (r->granule_bits - 3) * (3 - level);
}

/*
 * Read a descriptor. The walker reads normal memory only: a table address
 * that is not RAM (a device's registers, the SMMU's own among them, or
 * nothing at all) ends the walk with an external abort, as a bus error would
 * on hardware. So no walk ever re-enters a device model, this one included,
 * and none takes the BQL.
 */
bool mmu500_read_ram(MMU500State *s, uint64_t pa, uint64_t *desc)
{
    MemoryRegion *mr;
    hwaddr xlat, len = sizeof(*desc);

    RCU_READ_LOCK_GUARD();
    mr = address_space_translate(&address_space_memory, pa, &xlat, &len,
                                 false, MEMTXATTRS_UNSPECIFIED);
    if (!memory_region_is_ram(mr) || memory_region_is_ram_device(mr) ||
        len < sizeof(*desc)) {
        return false;
    }
    *desc = ldq_le_p((uint8_t *)memory_region_get_ram_ptr(mr) + xlat);
    return true;
}

/*
 * Walk bank @n's stage-1 tables for @iova, reading descriptors with @read.
 * With @cached, start at the deepest table the walk cache holds and fill it
 * on the way down.
 *
 * The start level indexes only the input bits of the region (VA[va_bits-1:
 * shift]), for TTBR1 as for TTBR0. Blocks: levels 1 and 2 with a 4K granule,
 * level 2 with 64K (a 64K level-1 block needs 52-bit addresses).
 */
void mmu500_walk(MMU500State *s, int n, const MMU500Regime *r, uint64_t iova,
                 bool cached, MMU500ReadDesc *read, MMU500Walk *w)
{
    uint64_t granule_mask = (1ULL << r->granule_bits) - 1;
    uint64_t table = r->ttb & DESC_ADDR & ~granule_mask;
    int level = r->start_level;
    int first_block = r->granule_bits == 12 ? 1 : 2;

    memset(w, 0, sizeof(*w));
    w->fault = FSR_TF;
    if (level < 0) {
        w->level = 0;
        return;
    }
    if (cached) {
        MMU500WalkEntry *hit = mmu500_walk_lookup(&s->cache, &r->tag, iova);

        if (hit && hit->level > level) {
            level = hit->level;
            table = hit->table;
            w->cached_level = level;
            w->cached_table = table;
        }
    }
    for (;; level++) {
        int shift = mmu500_level_shift(r, level);
        int bits = MIN(r->granule_bits - 3, r->va_bits - shift);
        uint64_t desc, out;

        w->level = level;
        if (!read(s, table + extract64(iova, shift, bits) * 8, &desc)) {
            w->fault = FSR_EF;
            w->ptw_abort = true;
            return;
        }
        if (!(desc & DESC_VALID)) {
            return;
        }
        out = desc & DESC_ADDR & ~granule_mask;
        if (level < 3 && (desc & DESC_TABLE)) {
            if (out >> r->oas) {
                w->fault = FSR_ASF;
                return;
            }
            if (cached) {
                mmu500_walk_insert(&s->cache, &r->tag, level + 1, iova,
                                   (1ULL << shift) - 1, out);
            }
            table = out;
            continue;
        }
        if ((level == 3) != !!(desc & DESC_TABLE) || level < first_block) {
            return;             /* reserved, or a block the granule lacks */
        }
        w->mask = (1ULL << shift) - 1;
        w->pa = out & ~w->mask;
        if (w->pa >> r->oas) {
            w->fault = FSR_ASF;
        } else if (!(desc & DESC_AF)) {
            w->fault = FSR_AFF;
        } else {
            w->fault = 0;
            w->perm = (desc & DESC_AP_RDONLY) ? IOMMU_RO : IOMMU_RW;
        }
        return;
    }
}

/*
 * IOMMU_NOTIFIER_UNMAP: what a device model keeps of earlier translations
 * (vhost's IOTLB) goes at each invalidation. By VA, the region of the largest
 * leaf a context's tables can hold at that address (1G, or 512M with a 64K
 * granule), since a TLBI by VA names an address, not a size; by ASID, VMID or
 * all, everything. Every device with a notifier is told: more than needed,
 * never less. Called with the device's lock held: an UNMAP notifier must not
 * translate.
 */
static void mmu500_notify_unmap(MMU500State *s, const MMU500InvScope *scope)
{
    SMMUDevice *sdev;

    if (!scope->by_va) {
        smmu_inv_notifiers_all(&s->smmu_state);
        return;
    }
    QLIST_FOREACH(sdev, &s->smmu_state.devices_with_notifiers, next) {
        uint64_t size = 1ULL << 30;
        IOMMUTLBEvent event = {
            .type = IOMMU_NOTIFIER_UNMAP,
            .entry = {
                .target_as = &address_space_memory,
                .iova = scope->iova & ~(size - 1),
                .addr_mask = size - 1,
                .perm = IOMMU_NONE,
            },
        };
        IOMMUNotifier *n;

        IOMMU_NOTIFIER_FOREACH(n, &sdev->iommu) {
            memory_region_notify_iommu_one(n, &event);
        }
    }
}

static void mmu500_invalidate(MMU500State *s, const MMU500InvScope *scope,
                              const char *op)
{
    unsigned matched = mmu500_tlb_invalidate(&s->cache, scope);

    trace_mmu500_tlbi(op, scope->issuer, scope->vmid, scope->asid,
                      scope->iova, matched);
    mmu500_notify_unmap(s, scope);
}

/* A TLB sync: the invalidations @issuers accepted take effect. */
static void mmu500_sync(MMU500State *s, uint32_t issuers, const char *op)
{
    trace_mmu500_tlb_sync(op, issuers);
    mmu500_tlb_sync(&s->cache, issuers);
}

/*
 * A context bank's own invalidation: the bank's VMID, and the ASID the
 * operand names (the ASID field as wide as TCR2.AS makes it) or any.
 */
static MMU500InvScope mmu500_cb_scope(MMU500State *s, int n, int asid)
{
    MMU500Tag tag;

    mmu500_tag(s, n, &tag);
    return (MMU500InvScope) {
        .issuer = n,
        .vmid = tag.vmid,
        .hyp = tag.hyp,
        .asid = asid < 0 ? -1 :
                asid & ((s->cb[n].tcr2 & TCR2_AS) ? 0xffff : 0xff),
    };
}

/*
 * TLBIVA and friends, AArch64 operand: ASID in [63:48], VA[55:12] in [43:0],
 * sign-extended from VA[55] so that TTBR1's addresses match.
 */
static void mmu500_tlbi_va(MMU500State *s, int n, uint64_t val, bool all_asids,
                           bool leaf_only, const char *op)
{
    MMU500InvScope scope = mmu500_cb_scope(s, n,
                                           all_asids ? -1 : TTBR_ASID(val));

    scope.by_va = true;
    scope.leaf_only = leaf_only;
    scope.iova = (uint64_t)sextract64(val, 0, 44) << 12;
    mmu500_invalidate(s, &scope, op);
}

static void mmu500_tlbi_all(MMU500State *s, int n, int asid, const char *op)
{
    MMU500InvScope scope = mmu500_cb_scope(s, n, asid);

    mmu500_invalidate(s, &scope, op);
}

/* A global-space invalidation: @hyp contexts or not, VMID @vmid or any. */
static void mmu500_tlbi_global(MMU500State *s, int hyp, int vmid,
                               const char *op)
{
    MMU500InvScope scope = {
        .issuer = MMU500_ISSUER_GLOBAL, .hyp = hyp, .vmid = vmid, .asid = -1,
    };

    mmu500_invalidate(s, &scope, op);
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

static uint64_t mmu500_read_gr0(MMU500State *s, hwaddr off, unsigned size)
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
    case GR0_SGFAR:
        return size == 8 ? s->sgfar : (uint32_t)s->sgfar;
    case GR0_SGFAR + 4:
        return s->sgfar >> 32;
    case GR0_SGFSR:
        return s->sgfsr;
    case GR0_SGFSYNR0:
        return s->sgfsynr0;
    case GR0_SGFSYNR1:
        return s->sgfsynr1;
    case GR0_STLBGSTATUS:
        return 0;               /* a sync completes when it is written */
    case GR0_SGFSYNR2:
        return 0;
    default:
        qemu_log_mask(LOG_UNIMP, "mmu500: read of GR0 0x%" HWADDR_PRIx
                      ", which the model does not implement: 0\n", off);
        return 0;
    }
}

static void mmu500_write_gr0(MMU500State *s, hwaddr off, uint64_t val,
                             unsigned size)
{
    if (off >= GR0_SMR(0) && off < GR0_SMR(MMU500_NUM_SMR)) {
        /* Linux learns the ID and mask widths from what reads back */
        s->smr[(off - GR0_SMR(0)) / 4] = val & SMR_WRITABLE;
        return;
    }
    if (off >= GR0_S2CR(0) && off < GR0_S2CR(MMU500_NUM_SMR)) {
        s->s2cr[(off - GR0_S2CR(0)) / 4] = val;
        return;
    }
    switch (off) {
    case GR0_SCR0:
        s->scr0 = val | SCR0_SMCFCFG;
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
    case GR0_SGFAR:
    case GR0_SGFAR + 4:
        set64(&s->sgfar, off, GR0_SGFAR, val, size);
        break;
    case GR0_TLBIVMID:
        /* the non-hypervisor entries of one VMID (VMID[7:0]: 8-bit VMIDs) */
        mmu500_tlbi_global(s, 0, val & 0xff, "TLBIVMID");
        break;
    case GR0_TLBIALLNSNH:
        mmu500_tlbi_global(s, 0, -1, "TLBIALLNSNH");
        break;
    case GR0_TLBIALLH:
        mmu500_tlbi_global(s, 1, -1, "TLBIALLH");
        break;
    case GR0_STLBGSYNC:
        /* the global sync completes all maintenance accepted before it */
        mmu500_sync(s, MMU500_ALL_ISSUERS, "sTLBGSYNC");
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
    if (off < GR1_CBA2R(0)) {
        return s->cb[n].cbfrsynra;
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
        qemu_log_mask(LOG_GUEST_ERROR, "mmu500: write to GR1 0x%" HWADDR_PRIx
                      " names context bank %d of %d: ignored\n", off, n,
                      MMU500_NUM_CB);
        return;
    }
    if (off < GR1_CBFRSYNRA(0)) {
        s->cb[n].cbar = val;
        s->cb[n].unsupported_logged = false;
    } else if (off >= GR1_CBA2R(0) && off < GR1_CBA2R(0) + 0x400) {
        s->cb[n].cba2r = val;
        s->cb[n].unsupported_logged = false;
    } else {
        qemu_log_mask(LOG_GUEST_ERROR, "mmu500: write to read-only GR1 0x%"
                      HWADDR_PRIx ": ignored\n", off);
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
        /* FORMAT describes the fault record: there while there is one */
        return cb->fsr | ((cb->fsr & FSR_FAULT) ? FSR_FORMAT_AARCH64 : 0);
    case CB_FAR:
        return size == 8 ? cb->far : (uint32_t)cb->far;
    case CB_FAR + 4:
        return cb->far >> 32;
    case CB_FSYNR0:
        return cb->fsynr0;
    case CB_TLBSTATUS:
        return 0;
    default:
        qemu_log_mask(LOG_UNIMP, "mmu500: read of CB%d 0x%" HWADDR_PRIx
                      ", which the model does not implement: 0\n", n, off);
        return 0;
    }
}

static void mmu500_write_cb(MMU500State *s, int n, hwaddr off, uint64_t val,
                            unsigned size)
{
    MMU500ContextBank *cb = &s->cb[n];

    trace_mmu500_cb_write(n, off, val);
    if (off < CB_PAR) {
        cb->unsupported_logged = false;     /* the configuration changed */
    }
    switch (off) {
    case CB_SCTLR:
        cb->sctlr = val;
        break;
    case CB_ACTLR:
        /* read-only while sACR.CACHE_LOCK is set (MMU-500 TRM, ACR) */
        if (!(s->sacr & SACR_CACHE_LOCK)) {
            cb->actlr = val;
        }
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
        mmu500_tlbi_va(s, n, val, false, false, "TLBIVA");
        break;
    case CB_TLBIVAL:
        mmu500_tlbi_va(s, n, val, false, true, "TLBIVAL");
        break;
    case CB_TLBIVAA:
        mmu500_tlbi_va(s, n, val, true, false, "TLBIVAA");
        break;
    case CB_TLBIVAAL:
        mmu500_tlbi_va(s, n, val, true, true, "TLBIVAAL");
        break;
    case CB_TLBIASID:
        mmu500_tlbi_all(s, n, val & 0xffff, "TLBIASID");
        break;
    case CB_TLBIALL:
        mmu500_tlbi_all(s, n, -1, "TLBIALL");
        break;
    case CB_TLBSYNC:
        /* a bank's sync completes the maintenance that bank accepted */
        mmu500_sync(s, MMU500_ISSUER(n), "TLBSYNC");
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
        *data = mmu500_read_gr0(s, offset, size);
    } else if (offset < 2 * MMU500_PAGE_SIZE) {
        *data = mmu500_read_gr1(s, offset - MMU500_PAGE_SIZE);
    } else if (offset >= cb_base &&
               offset < cb_base + MMU500_NUM_CB * MMU500_PAGE_SIZE) {
        int n = (offset - cb_base) / MMU500_PAGE_SIZE;
        *data = mmu500_read_cb(s, n, offset & (MMU500_PAGE_SIZE - 1), size);
    } else {
        qemu_log_mask(LOG_UNIMP, "mmu500: read of 0x%" HWADDR_PRIx
                      ", in a page the model does not implement: 0\n", offset);
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
        mmu500_write_gr0(s, offset, data, size);
    } else if (offset < 2 * MMU500_PAGE_SIZE) {
        mmu500_write_gr1(s, offset - MMU500_PAGE_SIZE, data);
    } else if (offset >= cb_base &&
               offset < cb_base + MMU500_NUM_CB * MMU500_PAGE_SIZE) {
        int n = (offset - cb_base) / MMU500_PAGE_SIZE;
        mmu500_write_cb(s, n, offset & (MMU500_PAGE_SIZE - 1), data, size);
    } else {
        qemu_log_mask(LOG_UNIMP, "mmu500: write to 0x%" HWADDR_PRIx
                      ", in a page the model does not implement: ignored\n",
                      offset);
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

/*
 * The stream map entry for a stream ID: -1 when none matches, -2 when more
 * than one does (a stream match conflict, which sCR0.SMCFCFG, fixed at 1 on
 * the MMU-500, makes a global fault).
 */
static int mmu500_match_stream(MMU500State *s, uint32_t sid)
{
    int found = -1;

    for (int i = 0; i < MMU500_NUM_SMR; i++) {
        uint32_t smr = s->smr[i];

        if ((smr & SMR_VALID) &&
            !((sid ^ SMR_ID(smr)) & ~SMR_MASK(smr) & SID_MASK)) {
            if (found >= 0) {
                return -2;
            }
            found = i;
        }
    }
    return found;
}

/*
 * Record a global fault (@sgfsr one of USF, SMCF, UCBF) for stream @sid: the
 * first one fills sGFAR and the syndromes, later ones only set MULTI.
 */
static void mmu500_global_fault(MMU500State *s, uint32_t sgfsr, uint32_t sid,
                                hwaddr iova, IOMMUAccessFlags flag)
{
    if (s->sgfsr & ~SGFSR_MULTI) {
        s->sgfsr |= SGFSR_MULTI;
    } else {
        s->sgfsr |= sgfsr;
        s->sgfar = iova;
        s->sgfsynr0 = (flag & IOMMU_WO) ? SGFSYNR0_WNR : 0;
        s->sgfsynr1 = sid & 0xffff;
    }
    trace_mmu500_global_fault(sid, s->sgfsr);
    mmu500_raise_irqs(s);
}

/* Record a context fault as Linux reads it: FSR, FAR, FSYNR0, CBFRSYNRA. */
static void mmu500_context_fault(MMU500State *s, int n, uint32_t sid,
                                 hwaddr iova, IOMMUAccessFlags flag,
                                 const MMU500Walk *w)
{
    MMU500ContextBank *cb = &s->cb[n];

    if (cb->fsr & FSR_FAULT) {
        cb->fsr |= FSR_MULTI;
    } else {
        cb->fsr |= w->fault;
        cb->far = iova;
        cb->fsynr0 = FSYNR0_PLVL(w->level) |
                     ((flag & IOMMU_WO) ? FSYNR0_WNR : 0) |
                     (w->ptw_abort ? FSYNR0_PTWF : 0);
        cb->cbfrsynra = sid & 0xffff;
    }
    trace_mmu500_context_fault(n, iova, cb->fsr);
    mmu500_raise_irqs(s);
}

/* Translate @iova through bank @n: the IOTLB, else a walk. */
static void mmu500_translate_cb(MMU500State *s, int n, uint64_t iova,
                                const MMU500Regime *r, MMU500Walk *w)
{
    MMU500TLBEntry *hit = mmu500_tlb_lookup(&s->cache, &r->tag, iova);
    MMU500TLBEntry fill;

    if (hit) {
        memset(w, 0, sizeof(*w));
        w->level = hit->level;
        w->pa = hit->pa;
        w->mask = hit->mask;
        w->perm = hit->perm;
        return;
    }
    mmu500_walk(s, n, r, iova, true, mmu500_read_ram, w);
    if (w->fault) {
        return;
    }
    fill = (MMU500TLBEntry) {
        .cb = n, .hyp = r->tag.hyp, .vmid = r->tag.vmid, .asid = r->tag.asid,
        .level = w->level, .perm = w->perm,
        .iova = iova & ~w->mask, .pa = w->pa, .mask = w->mask,
    };
    mmu500_tlb_insert(&s->cache, &fill);
}

static IOMMUTLBEntry mmu500_translate(IOMMUMemoryRegion *mr, hwaddr addr,
                                      IOMMUAccessFlags flag, int iommu_idx)
{
    SMMUDevice *sdev = container_of(mr, SMMUDevice, iommu);
    MMU500State *s = sdev->smmu;
    /* the stream ID bus carries 15 bits (MMU500_SID_BITS) */
    uint32_t sid = smmu_get_sid(sdev) & SID_MASK;
    IOMMUTLBEntry entry = {
        .target_as = &address_space_memory,
        .iova = addr,
        .translated_addr = addr,
        /* bypass and faults: one page at a time */
        .addr_mask = MMU500_PAGE_SIZE - 1,
        .perm = IOMMU_NONE,
    };
    bool probe = iommu_idx == MMU500_IDX_PROBE;
    MMU500Regime regime;
    MMU500Walk walk;
    int smr, n;

    qemu_mutex_lock(&s->mutex);

    if (s->scr0 & SCR0_CLIENTPD) {
        entry.perm = flag;                      /* the SMMU is off: bypass */
        goto out;
    }
    smr = mmu500_match_stream(s, sid);
    if (smr == -2) {
        if (!probe) {
            mmu500_global_fault(s, SGFSR_SMCF, sid, addr, flag);
        }
        goto out;
    }
    if (smr < 0) {
        if (!(s->scr0 & SCR0_USFCFG)) {
            entry.perm = flag;
        } else if (!probe) {
            mmu500_global_fault(s, SGFSR_USF, sid, addr, flag);
        }
        goto out;
    }
    switch (S2CR_TYPE(s->s2cr[smr])) {
    case S2CR_TYPE_BYPASS:
        entry.perm = flag;
        goto out;
    case S2CR_TYPE_TRANS:
        break;
    default:
        /* FAULT, and the reserved type 3, which the model treats as FAULT */
        goto out;
    }
    n = S2CR_CBNDX(s->s2cr[smr]);
    if (n >= MMU500_NUM_CB) {
        /* a context bank the SMMU does not implement */
        if (!probe) {
            mmu500_global_fault(s, SGFSR_UCBF, sid, addr, flag);
        }
        goto out;
    }
    if (!(s->cb[n].sctlr & CBSCTLR_M)) {
        entry.perm = flag;                      /* stage 1 disabled: flat */
        goto out;
    }

    mmu500_regime(s, n, addr, &regime);
    if (regime.unsupported) {
        /* once per configuration: a register write to the bank re-arms it */
        if (!s->cb[n].unsupported_logged) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "mmu500: CB%d uses %s: translation fault\n", n,
                          regime.unsupported);
            s->cb[n].unsupported_logged = true;
        }
        memset(&walk, 0, sizeof(walk));
        walk.fault = FSR_TF;
    } else {
        mmu500_translate_cb(s, n, addr, &regime, &walk);
    }
    if (!walk.fault && (flag & IOMMU_WO) && !(walk.perm & IOMMU_WO)) {
        walk.fault = FSR_PF;
    }
    if (walk.fault) {
        if (!probe) {
            mmu500_context_fault(s, n, sid, addr, flag, &walk);
        }
        goto out;
    }
    entry.perm = walk.perm;
    entry.translated_addr = walk.pa + (addr & walk.mask);
    /* one page at a time, so that every access is looked up and checked */
    entry.translated_addr &= ~(hwaddr)(MMU500_PAGE_SIZE - 1);
    entry.iova = addr & ~(hwaddr)(MMU500_PAGE_SIZE - 1);
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
    /*
     * The MMU-500's reset values (TRM, and the register references of the
     * SoCs that integrate it): the SMMU bypassing (sCR0.CLIENTPD), stream
     * match conflicts faulting, every stream map entry a fault context and
     * every context bank a stage-2 one, ACTLR with CPRE and CMTLB set and
     * locked by sACR.CACHE_LOCK, SCTLR.HUPCF set.
     */
    s->scr0 = SCR0_CLIENTPD | SCR0_SMCFCFG;
    s->sacr = MMU500_SACR_RESET;
    s->sgfsr = s->sgfsynr0 = s->sgfsynr1 = 0;
    s->sgfar = 0;
    memset(s->smr, 0, sizeof(s->smr));
    for (int i = 0; i < MMU500_NUM_SMR; i++) {
        s->s2cr[i] = S2CR_TYPE_FAULT << 16;
    }
    memset(s->cb, 0, sizeof(s->cb));
    for (int n = 0; n < MMU500_NUM_CB; n++) {
        s->cb[n].cbar = MMU500_CBAR_RESET;
        s->cb[n].actlr = MMU500_ACTLR_RESET;
        s->cb[n].sctlr = MMU500_SCTLR_RESET;
    }
    mmu500_tlb_reset(&s->cache);
}

static void mmu500_realize(DeviceState *d, Error **errp)
{
    SMMUState *sys = ARM_SMMU(d);
    MMU500State *s = ARM_MMU500(d);
    MMU500Class *c = ARM_MMU500_GET_CLASS(s);
    SysBusDevice *dev = SYS_BUS_DEVICE(d);
    Error *local_err = NULL;

    /* the properties first, so that a refusal leaves nothing to free */
    if (!s->tlb_entries || !s->walk_entries) {
        error_setg(errp, "tlb-entries and walk-entries must be at least 1");
        return;
    }
    c->parent_realize(d, &local_err);
    if (local_err) {
        error_propagate(errp, local_err);
        return;
    }
    qemu_mutex_init(&s->mutex);
    s->irq_bh = aio_bh_new_guarded(qemu_get_aio_context(), mmu500_irq_bh, s,
                                   &d->mem_reentrancy_guard);
    memory_region_init_io(&sys->iomem, OBJECT(s), &mmu500_mem_ops, s,
                          TYPE_ARM_MMU500, MMU500_MMIO_SIZE);
    sys->mrtypename = TYPE_MMU500_IOMMU_MEMORY_REGION;
    sysbus_init_mmio(dev, &sys->iomem);
    for (int i = 0; i < MMU500_NUM_IRQS; i++) {
        sysbus_init_irq(dev, &s->irq[i]);
    }
    mmu500_tlb_init(&s->cache, s->tlb_entries, s->walk_entries);
}

static void mmu500_unrealize(DeviceState *d)
{
    MMU500State *s = ARM_MMU500(d);

    qemu_bh_delete(s->irq_bh);
    s->irq_bh = NULL;
    mmu500_tlb_free(&s->cache);
    qemu_mutex_destroy(&s->mutex);
}

/*
 * Migration: the registers and fault records. The IOTLB and the walk cache
 * start empty on the destination, as any cache may lose entries at any time;
 * invalidations accepted and not yet synced are then complete, which the
 * architecture allows too.
 */
static const VMStateDescription vmstate_mmu500_cb = {
    .name = "arm-mmu500/context-bank",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(cbar, MMU500ContextBank),
        VMSTATE_UINT32(cba2r, MMU500ContextBank),
        VMSTATE_UINT32(sctlr, MMU500ContextBank),
        VMSTATE_UINT32(actlr, MMU500ContextBank),
        VMSTATE_UINT32(tcr, MMU500ContextBank),
        VMSTATE_UINT32(tcr2, MMU500ContextBank),
        VMSTATE_UINT32(contextidr, MMU500ContextBank),
        VMSTATE_UINT32(mair0, MMU500ContextBank),
        VMSTATE_UINT32(mair1, MMU500ContextBank),
        VMSTATE_UINT32(fsr, MMU500ContextBank),
        VMSTATE_UINT32(fsynr0, MMU500ContextBank),
        VMSTATE_UINT32(cbfrsynra, MMU500ContextBank),
        VMSTATE_UINT64(ttbr0, MMU500ContextBank),
        VMSTATE_UINT64(ttbr1, MMU500ContextBank),
        VMSTATE_UINT64(far, MMU500ContextBank),
        VMSTATE_UINT64(par, MMU500ContextBank),
        VMSTATE_END_OF_LIST()
    },
};

static int mmu500_post_load(void *opaque, int version_id)
{
    MMU500State *s = opaque;

    mmu500_tlb_reset(&s->cache);
    mmu500_update_irqs(s);
    return 0;
}

static const VMStateDescription vmstate_mmu500 = {
    .name = "arm-mmu500",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = mmu500_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(scr0, MMU500State),
        VMSTATE_UINT32(sacr, MMU500State),
        VMSTATE_UINT32(sgfsr, MMU500State),
        VMSTATE_UINT32(sgfsynr0, MMU500State),
        VMSTATE_UINT32(sgfsynr1, MMU500State),
        VMSTATE_UINT64(sgfar, MMU500State),
        VMSTATE_UINT32_ARRAY(smr, MMU500State, MMU500_NUM_SMR),
        VMSTATE_UINT32_ARRAY(s2cr, MMU500State, MMU500_NUM_SMR),
        VMSTATE_STRUCT_ARRAY(cb, MMU500State, MMU500_NUM_CB, 1,
                             vmstate_mmu500_cb, MMU500ContextBank),
        VMSTATE_END_OF_LIST()
    },
};

static const Property mmu500_properties[] = {
    DEFINE_PROP_BOOL("coherent-walk", MMU500State, coherent_walk, false),
    DEFINE_PROP_UINT32("tlb-entries", MMU500State, tlb_entries, 128),
    DEFINE_PROP_UINT32("walk-entries", MMU500State, walk_entries, 32),
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
    dc->unrealize = mmu500_unrealize;
    dc->vmsd = &vmstate_mmu500;
    dc->user_creatable = false;
}

/*
 * UNMAP notifiers are told of every invalidation (mmu500_notify_unmap); MAP
 * notifiers (a device that shadows the tables) and device-IOTLB ones have no
 * counterpart on an SMMUv2.
 */
static int mmu500_notify_flag_changed(IOMMUMemoryRegion *iommu,
                                      IOMMUNotifierFlag old,
                                      IOMMUNotifierFlag new, Error **errp)
{
    SMMUDevice *sdev = container_of(iommu, SMMUDevice, iommu);
    MMU500State *s = sdev->smmu;

    if (new & (IOMMU_NOTIFIER_MAP | IOMMU_NOTIFIER_DEVIOTLB_UNMAP)) {
        error_setg(errp,
                   "the MMU-500 model supports no MAP or dev-iotlb notifiers");
        return -EINVAL;
    }
    qemu_mutex_lock(&s->mutex);
    if (old == IOMMU_NOTIFIER_NONE) {
        QLIST_INSERT_HEAD(&s->smmu_state.devices_with_notifiers, sdev, next);
    } else if (new == IOMMU_NOTIFIER_NONE) {
        QLIST_REMOVE(sdev, next);
    }
    qemu_mutex_unlock(&s->mutex);
    return 0;
}

static int mmu500_attrs_to_index(IOMMUMemoryRegion *iommu, MemTxAttrs attrs)
{
    return attrs.debug ? MMU500_IDX_PROBE : MMU500_IDX_NORMAL;
}

static int mmu500_num_indexes(IOMMUMemoryRegion *iommu)
{
    return 2;
}

static void mmu500_iommu_memory_region_class_init(ObjectClass *klass,
                                                  const void *data)
{
    IOMMUMemoryRegionClass *imrc = IOMMU_MEMORY_REGION_CLASS(klass);

    imrc->translate = mmu500_translate;
    imrc->attrs_to_index = mmu500_attrs_to_index;
    imrc->num_indexes = mmu500_num_indexes;
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
