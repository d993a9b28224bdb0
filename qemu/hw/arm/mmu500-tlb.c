/*
 * Arm MMU-500 model: the IOTLB and the walk cache.
 *
 * Both have a fixed capacity (device properties) and evict the least recently
 * used entry, one at a time, when full. Entries are tagged with the context
 * bank and the ASID. An invalidation marks the entries it matches as pending
 * and they stay usable until the next TLB sync completes, as on hardware,
 * where an invalidation is only known to have taken effect once a sync
 * reports it complete: a driver that skips the sync keeps old translations
 * alive, and the model shows it.
 *
 * Invalidation by VA (TLBIVA, TLBIVAA) removes the leaf translation and the
 * walk cache entries for that address; the leaf-only forms (TLBIVAL,
 * TLBIVAAL) keep the walk cache entries, as the architecture allows, so a
 * table freed with only a leaf invalidation can still be walked.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/arm/mmu500.h"

/* By-VA invalidations remembered between syncs, for the strict view. */
#define MMU500_MAX_UNSYNCED 65536

uint64_t mmu500_level_region(int level)
{
    return 1ULL << (12 + 9 * (4 - level));
}

void mmu500_tlb_init(MMU500TLB *c, uint32_t tlb_size, uint32_t walk_size)
{
    c->tlb_size = tlb_size;
    c->walk_size = walk_size;
    c->tlb = g_new0(MMU500TLBEntry, tlb_size);
    c->walk = g_new0(MMU500WalkEntry, walk_size);
    c->unsynced = g_array_new(false, false, sizeof(MMU500InvScope));
}

void mmu500_tlb_reset(MMU500TLB *c)
{
    memset(c->tlb, 0, c->tlb_size * sizeof(*c->tlb));
    memset(c->walk, 0, c->walk_size * sizeof(*c->walk));
    g_array_set_size(c->unsynced, 0);
    c->clock = 0;
    c->evictions = 0;
}

MMU500TLBEntry *mmu500_tlb_lookup(MMU500TLB *c, int cb, int asid,
                                  uint64_t iova)
{
    for (uint32_t i = 0; i < c->tlb_size; i++) {
        MMU500TLBEntry *e = &c->tlb[i];

        if (e->valid && e->cb == cb && e->asid == asid &&
            (iova & ~e->mask) == e->iova) {
            e->last_use = ++c->clock;
            return e;
        }
    }
    return NULL;
}

/* A free slot, else the least recently used one. */
static uint32_t mmu500_victim(MMU500TLB *c, bool walk, bool *evicted)
{
    uint32_t size = walk ? c->walk_size : c->tlb_size;
    uint32_t victim = 0;
    uint64_t oldest = UINT64_MAX;

    for (uint32_t i = 0; i < size; i++) {
        bool valid = walk ? c->walk[i].valid : c->tlb[i].valid;
        uint64_t used = walk ? c->walk[i].last_use : c->tlb[i].last_use;

        if (!valid) {
            *evicted = false;
            return i;
        }
        if (used < oldest) {
            oldest = used;
            victim = i;
        }
    }
    *evicted = true;
    return victim;
}

void mmu500_tlb_insert(MMU500TLB *c, const MMU500TLBEntry *e)
{
    bool evicted;
    uint32_t slot = mmu500_victim(c, false, &evicted);

    c->evictions += evicted;
    c->tlb[slot] = *e;
    c->tlb[slot].valid = true;
    c->tlb[slot].pending = false;
    c->tlb[slot].pending_va = false;
    c->tlb[slot].last_use = ++c->clock;
}

MMU500WalkEntry *mmu500_walk_lookup(MMU500TLB *c, int cb, int asid,
                                    uint64_t iova)
{
    MMU500WalkEntry *best = NULL;

    for (uint32_t i = 0; i < c->walk_size; i++) {
        MMU500WalkEntry *w = &c->walk[i];

        if (w->valid && w->cb == cb && w->asid == asid &&
            (iova & ~(mmu500_level_region(w->level) - 1)) == w->iova &&
            (!best || w->level > best->level)) {
            best = w;
        }
    }
    if (best) {
        best->last_use = ++c->clock;
    }
    return best;
}

void mmu500_walk_insert(MMU500TLB *c, int cb, int asid, int level,
                        uint64_t iova, uint64_t table)
{
    uint64_t base = iova & ~(mmu500_level_region(level) - 1);
    bool evicted;
    uint32_t slot;

    for (uint32_t i = 0; i < c->walk_size; i++) {
        MMU500WalkEntry *w = &c->walk[i];

        if (w->valid && !w->pending && w->cb == cb && w->asid == asid &&
            w->level == level && w->iova == base) {
            w->table = table;
            w->last_use = ++c->clock;
            return;
        }
    }
    slot = mmu500_victim(c, true, &evicted);
    c->walk[slot] = (MMU500WalkEntry) {
        .valid = true, .cb = cb, .asid = asid, .level = level,
        .iova = base, .table = table, .last_use = ++c->clock,
    };
}

bool mmu500_scope_matches(const MMU500InvScope *s, int cb, int asid)
{
    return (s->cb < 0 || s->cb == cb) && (s->asid < 0 || s->asid == asid);
}

unsigned mmu500_tlb_invalidate(MMU500TLB *c, const MMU500InvScope *scope)
{
    unsigned n = 0;

    for (uint32_t i = 0; i < c->tlb_size; i++) {
        MMU500TLBEntry *e = &c->tlb[i];

        if (!e->valid || !mmu500_scope_matches(scope, e->cb, e->asid) ||
            (scope->by_va && (scope->iova & ~e->mask) != e->iova)) {
            continue;
        }
        e->pending = true;
        if (scope->by_va) {
            e->pending_va = true;
            e->pending_iova = scope->iova & ~0xfffULL;
        }
        n++;
    }
    for (uint32_t i = 0; i < c->walk_size && !scope->leaf_only; i++) {
        MMU500WalkEntry *w = &c->walk[i];

        if (!w->valid || !mmu500_scope_matches(scope, w->cb, w->asid) ||
            (scope->by_va &&
             (scope->iova & ~(mmu500_level_region(w->level) - 1)) !=
             w->iova)) {
            continue;
        }
        w->pending = true;
        n++;
    }
    if (scope->by_va && c->unsynced->len < MMU500_MAX_UNSYNCED) {
        g_array_append_val(c->unsynced, *scope);
    }
    return n;
}

void mmu500_tlb_sync(MMU500TLB *c)
{
    for (uint32_t i = 0; i < c->tlb_size; i++) {
        if (c->tlb[i].pending) {
            c->tlb[i].valid = false;
        }
    }
    for (uint32_t i = 0; i < c->walk_size; i++) {
        if (c->walk[i].pending) {
            c->walk[i].valid = false;
        }
    }
    g_array_set_size(c->unsynced, 0);
}
