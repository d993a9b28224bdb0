/*
 * The Arm MMU-500 model with what a test rig adds: a subclass of arm-mmu500
 * that watches the guest through the device's hooks (MMU500Watch).
 *
 * Sanitizers (smmu-sanitizer.c) report by name a translation served from the
 * IOTLB or the walk cache that the current tables no longer give, or one whose
 * invalidation by VA was issued but never completed by a sync that covers it
 * ("stale translation", check-stale), and, with strict-noncoherent, walks
 * that read the page tables as the guest last cleaned them to the PoC, and
 * tables whose memory and cleaned view disagree at an invalidation, at a sync
 * or at a first walk ("cache-maintenance violation").
 *
 * Time, when asked for (all 0 by default, and then nothing changes): each
 * register access costs the vCPU that makes it reg-access-ns of guest time,
 * charged under icount as if it had run instructions for that long, and a
 * TLB sync stays active in TLBSTATUS/sTLBGSTATUS for tlb-sync-ns of
 * QEMU_CLOCK_VIRTUAL, so that the guest's own poll loop spends the wait.
 * Both follow guest time only: a run is timed the same on any host.
 *
 * Lock order: the BQL, the device's lock, then the sanitizer's; the hooks
 * run under the device's lock except accessed(), which runs after it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "hw/core/cpu.h"
#include "exec/icount.h"
#include "migration/blocker.h"
#include "hw/arm/mmu500-rig.h"
#include "mmu500-internal.h"

static MMU500RigState *rig_of(MMU500State *s)
{
    return container_of(s, MMU500RigState, parent_obj);
}

/* Descriptors as the walker sees them: the cleaned view when strict */
static bool rig_read_view(MMU500State *s, uint64_t pa, uint64_t *desc)
{
    MMU500RigState *g = rig_of(s);

    if (!g->strict_noncoherent) {
        return mmu500_read_ram(s, pa, desc);
    }
    return smmu_sanitizer_read_view(&g->sanitizer, pa, desc) == 0;
}

static void rig_describe(const MMU500Walk *w, uint64_t iova, char *buf,
                            size_t len)
{
    if (w->fault) {
        snprintf(buf, len, "no translation (%s at level %d)",
                 w->fault == FSR_EF ? "walk abort" :
                 w->fault == FSR_AFF ? "access flag fault" :
                 w->fault == FSR_ASF ? "address size fault" :
                 "translation fault", w->level);
    } else {
        snprintf(buf, len, "-> 0x%" PRIx64 " %s", w->pa + (iova & w->mask),
                 w->perm & IOMMU_WO ? "rw" : "ro");
    }
}

static bool rig_same(const MMU500Walk *a, const MMU500Walk *b,
                        uint64_t iova)
{
    if (a->fault || b->fault) {
        return a->fault && b->fault;
    }
    return a->pa + (iova & a->mask) == b->pa + (iova & b->mask) &&
           a->perm == b->perm;
}

static void rig_report(MMU500RigState *g, SMMUSanitizerCheck check, int n,
                       uint64_t iova, const char *what)
{
    MMU500State *s = &g->parent_obj;
    char where[96], *detail;

    mmu500_where(s, n, where, sizeof(where));
    detail = g_strdup_printf("%s asid=%d iova=0x%" PRIx64 ": %s", where,
                             mmu500_asid(&s->cb[n]), iova, what);
    smmu_sanitizer_report(&g->sanitizer, check, detail);
    g_free(detail);
}

/*
 * The cache-maintenance check: the tables in memory and in the cleaned view
 * must agree about @iova (at an invalidation, at a sync, at a first walk).
 */
static bool rig_check_view(MMU500RigState *g, int n, uint64_t iova,
                           const char *when)
{
    MMU500State *s = &g->parent_obj;
    MMU500Regime r;
    MMU500Walk memory, view;
    char said_memory[80], said_view[80], *what;

    if (!g->strict_noncoherent || !(s->cb[n].sctlr & CBSCTLR_M)) {
        return false;
    }
    mmu500_regime(s, n, iova, &r);
    if (r.unsupported) {
        return false;
    }
    mmu500_walk(s, n, &r, iova, false, mmu500_read_ram, &memory);
    mmu500_walk(s, n, &r, iova, false, rig_read_view, &view);
    if (rig_same(&memory, &view, iova)) {
        return false;
    }
    rig_describe(&memory, iova, said_memory, sizeof(said_memory));
    rig_describe(&view, iova, said_view, sizeof(said_view));
    what = g_strdup_printf("%s: memory says %s, the walker's cleaned view "
                           "says %s", when, said_memory, said_view);
    rig_report(g, SMMU_CHECK_CACHE_MAINTENANCE, n, iova, what);
    g_free(what);
    return true;
}

/* Whether bank @n translates with the tags @scope matches. */
static bool rig_bank_in_scope(MMU500State *s, int n,
                              const MMU500InvScope *scope)
{
    MMU500Tag tag;

    mmu500_tag(s, n, &tag);
    return (s->cb[n].sctlr & CBSCTLR_M) &&
           mmu500_scope_matches(scope, tag.hyp, tag.vmid, tag.asid);
}

/* The cache-maintenance check at a by-VA invalidation's address, per bank. */
static void rig_check_view_va(MMU500RigState *g, const MMU500InvScope *scope,
                              const char *when)
{
    MMU500State *s = &g->parent_obj;

    for (int n = 0; n < MMU500_NUM_CB; n++) {
        if (rig_bank_in_scope(s, n, scope)) {
            rig_check_view(g, n, scope->iova, when);
        }
    }
}

/* Descriptors one whole-table comparison reads at most, before giving up */
#define RIG_DIFF_BUDGET  (1u << 22)

/*
 * Compare bank @n's level-@level table at @table, translating from @base, in
 * memory and in the cleaned view, descending where both hold the same table
 * descriptor; the first address the two translate differently is reported.
 * Returns true when it reported, or ran out of @budget.
 */
static bool rig_diff_tables(MMU500RigState *g, int n, const MMU500Regime *r,
                            int level, uint64_t table, uint64_t base,
                            const char *when, uint32_t *budget)
{
    MMU500State *s = &g->parent_obj;
    int shift = mmu500_level_shift(r, level);
    int bits = MIN(r->granule_bits - 3, r->va_bits - shift);
    uint64_t granule_mask = (1ULL << r->granule_bits) - 1;

    for (uint64_t i = 0; i < (1ULL << bits); i++) {
        uint64_t memory, view, iova = base + (i << shift);

        if (!(*budget)--) {
            qemu_log_mask(LOG_UNIMP, "mmu500: CB%d: the tables are too large "
                          "to compare whole %s; compared part\n", n, when);
            return true;
        }
        if (!mmu500_read_ram(s, table + 8 * i, &memory) ||
            !rig_read_view(s, table + 8 * i, &view)) {
            return false;
        }
        if (memory == view) {
            if (level < 3 && (memory & DESC_VALID) && (memory & DESC_TABLE) &&
                rig_diff_tables(g, n, r, level + 1,
                                memory & DESC_ADDR & ~granule_mask, iova,
                                when, budget)) {
                return true;
            }
            continue;
        }
        if (rig_check_view(g, n, iova, when)) {
            return true;
        }
    }
    return false;
}

/*
 * At an invalidation by ASID or of everything: every translation bank @n's
 * tables give must be the same in memory and in the cleaned view, not only
 * those the IOTLB happens to hold (both regions the bank walks).
 */
static void rig_check_view_all(MMU500RigState *g, int n, const char *when)
{
    MMU500State *s = &g->parent_obj;
    uint32_t budget = RIG_DIFF_BUDGET;

    for (int upper = 0; upper < 2; upper++) {
        uint64_t first = upper ? ~0ULL : 0;
        MMU500Regime r;

        mmu500_regime(s, n, first, &r);
        if (r.unsupported || r.start_level < 0) {
            continue;
        }
        if (rig_diff_tables(g, n, &r, r.start_level,
                            r.ttb & DESC_ADDR &
                            ~((1ULL << r.granule_bits) - 1),
                            upper ? ~0ULL << r.va_bits : 0, when,
                            &budget)) {
            return;
        }
    }
}

/*
 * Stale-translation checks on what the caches served for @iova: it must be
 * what a walk of the current tables (through the walker's view, no caches)
 * gives, and no invalidation by VA of this page may be waiting for a sync.
 */
static void rig_check_stale(MMU500RigState *g, int n, const MMU500Regime *r,
                            uint64_t iova, const MMU500Walk *served,
                            const MMU500TLBEntry *hit)
{
    MMU500State *s = &g->parent_obj;
    MMU500Walk now;
    char said_served[80], said_now[80], *what;
    const char *from;

    if (hit && hit->pending_va) {
        rig_describe(served, iova, said_served, sizeof(said_served));
        what = g_strdup_printf("served from the IOTLB %s, an entry whose "
                               "invalidation by VA was issued but not synced",
                               said_served);
        rig_report(g, SMMU_CHECK_STALE_TRANSLATION, n, iova, what);
        g_free(what);
        return;
    }
    mmu500_walk(s, n, r, iova, false, rig_read_view, &now);
    /*
     * Linux never changes a live entry in place, so any difference, in the
     * output address or in the permissions either way, is a translation whose
     * invalidation is missing (fewer permissions fault on hardware).
     */
    if (rig_same(served, &now, iova)) {
        return;
    }
    rig_describe(served, iova, said_served, sizeof(said_served));
    rig_describe(&now, iova, said_now, sizeof(said_now));
    from = hit ? "the IOTLB" : "a walk through the walk cache";
    what = hit ? g_strdup_printf("served from %s %s, the page tables now say "
                                 "%s", from, said_served, said_now) :
           g_strdup_printf("served from %s (level %d table at 0x%" PRIx64
                           ") %s, the page tables now say %s", from,
                           served->cached_level, served->cached_table,
                           said_served, said_now);
    rig_report(g, SMMU_CHECK_STALE_TRANSLATION, n, iova, what);
    g_free(what);
}

/*
 * Before an invalidation takes its mark: the strict view's look at what it
 * covers (by VA: the address in every bank it matches; by ASID or all: every
 * translation those banks' tables give), and, by VA, the address kept for
 * the look at the sync that completes it.
 */
static void rig_invalidating(MMU500State *s, const MMU500InvScope *scope,
                             const char *op)
{
    MMU500RigState *g = rig_of(s);
    GArray *list = g->unsynced[scope->issuer];

    if (!g->strict_noncoherent) {
        return;
    }
    if (!scope->by_va) {
        for (int n = 0; n < MMU500_NUM_CB; n++) {
            if (rig_bank_in_scope(s, n, scope)) {
                rig_check_view_all(g, n, op);
            }
        }
        return;
    }
    rig_check_view_va(g, scope, op);
    if (list->len < MMU500_MAX_UNSYNCED) {
        g_array_append_val(list, *scope);
    } else {
        g->unsynced_dropped[scope->issuer]++;
    }
}

/*
 * A sync completing what @issuers accepted: the strict view's look at every
 * address they invalidated by VA since their last sync (it must be unmapped
 * in memory and in the view alike, else the clear was not cleaned, or the
 * invalidation came before the clear), and when the sync completes.
 */
static void rig_syncing(MMU500State *s, uint32_t issuers, const char *op)
{
    MMU500RigState *g = rig_of(s);
    int64_t done = 0;

    if (g->tlb_sync_ns) {
        /* a sync written while one is in progress waits for both */
        done = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + g->tlb_sync_ns;
    }
    for (int i = 0; i < MMU500_NUM_ISSUERS; i++) {
        GArray *list = g->unsynced[i];

        if (!(issuers & MMU500_ISSUER(i))) {
            continue;
        }
        for (guint j = 0; g->strict_noncoherent && j < list->len; j++) {
            rig_check_view_va(g, &g_array_index(list, MMU500InvScope, j),
                              "at the TLB sync");
        }
        if (g->unsynced_dropped[i]) {
            qemu_log_mask(LOG_UNIMP, "mmu500: %s: %" PRIu64 " invalidations "
                          "by VA past the first %u were not checked by the "
                          "strict view\n", op, g->unsynced_dropped[i],
                          MMU500_MAX_UNSYNCED);
        }
        g_array_set_size(list, 0);
        g->unsynced_dropped[i] = 0;
    }
    /* the global sync's status, or the one bank's */
    g->sync_done[issuers == MMU500_ALL_ISSUERS ? MMU500_ISSUER_GLOBAL :
                 ctz32(issuers)] = done;
}

static bool rig_sync_active(MMU500State *s, int issuer)
{
    int64_t done = rig_of(s)->sync_done[issuer];

    return done && qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) < done;
}

/*
 * What the caches served, or a walk gave: an IOTLB hit, or a walk that
 * started from the walk cache, must be what the tables give now; a first
 * walk must find memory and the cleaned view agreeing.
 */
static void rig_translated(MMU500State *s, int n, const MMU500Regime *r,
                           uint64_t iova, const MMU500Walk *w,
                           const MMU500TLBEntry *hit)
{
    MMU500RigState *g = rig_of(s);

    if (g->check_stale && (hit || w->cached_level)) {
        rig_check_stale(g, n, r, iova, w, hit);
    }
    if (!hit && g->strict_noncoherent) {
        rig_check_view(g, n, iova, "at a first walk");
    }
}

/*
 * The vCPU that makes a register access waits for it: charged under icount,
 * after the access, which saw the device as it was when the access arrived.
 * A debugger's access costs nothing.
 */
static void rig_accessed(MMU500State *s, MemTxAttrs attrs)
{
    MMU500RigState *g = rig_of(s);

    if (g->reg_access_ns && !attrs.debug) {
        icount_charge_ns(current_cpu, g->reg_access_ns);
    }
}

static const MMU500Watch rig_watch = {
    .read_desc = rig_read_view,
    .invalidating = rig_invalidating,
    .syncing = rig_syncing,
    .translated = rig_translated,
    .sync_active = rig_sync_active,
    .accessed = rig_accessed,
};

static void rig_reset_exit(Object *obj, ResetType type)
{
    MMU500RigState *g = ARM_MMU500_RIG(obj);
    MMU500RigClass *c = ARM_MMU500_RIG_GET_CLASS(g);

    if (c->parent_phases.exit) {
        c->parent_phases.exit(obj, type);
    }
    memset(g->sync_done, 0, sizeof(g->sync_done));
    for (int i = 0; i < MMU500_NUM_ISSUERS; i++) {
        g_array_set_size(g->unsynced[i], 0);
        g->unsynced_dropped[i] = 0;
    }
}

static void rig_realize(DeviceState *d, Error **errp)
{
    MMU500RigState *g = ARM_MMU500_RIG(d);
    MMU500RigClass *c = ARM_MMU500_RIG_GET_CLASS(g);
    Error *local_err = NULL;

    if (g->strict_noncoherent && g->parent_obj.coherent_walk) {
        error_setg(errp, "strict-noncoherent needs a non-coherent walk "
                   "(coherent-walk=off)");
        return;
    }
    c->parent_realize(d, &local_err);
    if (local_err) {
        error_propagate(errp, local_err);
        return;
    }
    for (int i = 0; i < MMU500_NUM_ISSUERS; i++) {
        g->unsynced[i] = g_array_new(false, false, sizeof(MMU500InvScope));
    }
    if (!smmu_sanitizer_init(&g->sanitizer, "mmu500", g->strict_noncoherent,
                             errp)) {
        return;
    }
    if (g->strict_noncoherent) {
        error_setg(&g->migration_blocker, "arm-mmu500: strict-noncoherent "
                   "keeps the guest's cleaned lines, which do not migrate");
        migrate_add_blocker(&g->migration_blocker, errp);
    }
}

static void rig_unrealize(DeviceState *d)
{
    MMU500RigState *g = ARM_MMU500_RIG(d);
    MMU500RigClass *c = ARM_MMU500_RIG_GET_CLASS(g);

    migrate_del_blocker(&g->migration_blocker);
    smmu_sanitizer_cleanup(&g->sanitizer);
    for (int i = 0; i < MMU500_NUM_ISSUERS; i++) {
        g_array_free(g->unsynced[i], true);
        g->unsynced[i] = NULL;
    }
    if (c->parent_unrealize) {
        c->parent_unrealize(d);
    }
}

static const Property rig_properties[] = {
    DEFINE_PROP_BOOL("strict-noncoherent", MMU500RigState, strict_noncoherent,
                     false),
    DEFINE_PROP_BOOL("check-stale", MMU500RigState, check_stale, false),
    DEFINE_PROP_UINT32("reg-access-ns", MMU500RigState, reg_access_ns, 0),
    DEFINE_PROP_UINT32("tlb-sync-ns", MMU500RigState, tlb_sync_ns, 0),
};

static void rig_class_init(ObjectClass *klass, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);
    MMU500RigClass *c = ARM_MMU500_RIG_CLASS(klass);

    c->parent_class.watch = &rig_watch;
    device_class_set_props(dc, rig_properties);
    resettable_class_set_parent_phases(rc, NULL, NULL, rig_reset_exit,
                                       &c->parent_phases);
    device_class_set_parent_realize(dc, rig_realize, &c->parent_realize);
    device_class_set_parent_unrealize(dc, rig_unrealize, &c->parent_unrealize);
}

static const TypeInfo rig_type_info = {
    .name          = TYPE_ARM_MMU500_RIG,
    .parent        = TYPE_ARM_MMU500,
    .instance_size = sizeof(MMU500RigState),
    .class_size    = sizeof(MMU500RigClass),
    .class_init    = rig_class_init,
};

static void rig_register_types(void)
{
    type_register_static(&rig_type_info);
}

type_init(rig_register_types)
