/*
 * Arm MMU-500 model: the IOTLB and the walk cache.
 *
 * Both have a fixed capacity (device properties) and evict the least recently
 * used entry, one at a time, when full. Entries are tagged as the SMMUv2
 * architecture tags them: the VMID of the context bank (CBAR.VMID), the ASID,
 * and whether the context is a hypervisor one; lookups also key on the bank,
 * so that two banks a guest gives the same tags never share an entry.
 *
 * An invalidation marks the entries it matches as pending, remembering who
 * issued it: a context bank through its own TLBI registers, or the global
 * space. Pending entries stay usable until a sync completes the invalidation,
 * as on hardware, where an invalidation is only known to have taken effect
 * once a sync reports it complete. Which sync completes what is the
 * architecture's rule (SMMUv2, "TLB maintenance operations" and the
 * SMMU_CBn_TLBSYNC and SMMU_sTLBGSYNC register descriptions): a context
 * bank's TLBSYNC completes the maintenance accepted through that bank, the
 * global sTLBGSYNC all maintenance accepted before it. So a sync written to
 * the wrong bank, or a global invalidation followed only by a context sync,
 * leaves the old translations alive, and the model shows it.
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

void mmu500_tlb_init(MMU500TLB *c, uint32_t tlb_size, uint32_t walk_size)
{
    c->tlb_size = tlb_size;
    c->walk_size = walk_size;
    c->tlb = g_new0(MMU500TLBEntry, tlb_size);
    c->walk = g_new0(MMU500WalkEntry, walk_size);
}

void mmu500_tlb_free(MMU500TLB *c)
{
    g_free(c->tlb);
    g_free(c->walk);
    c->tlb = NULL;
    c->walk = NULL;
}

void mmu500_tlb_reset(MMU500TLB *c)
{
    memset(c->tlb, 0, c->tlb_size * sizeof(*c->tlb));
    memset(c->walk, 0, c->walk_size * sizeof(*c->walk));
    c->clock = 0;
    c->evictions = 0;
}

static bool mmu500_tag_is(const MMU500Tag *t, int cb, bool hyp, int vmid,
                          int asid)
{
    return t->cb == cb && t->hyp == hyp && t->vmid == vmid && t->asid == asid;
}

MMU500TLBEntry *mmu500_tlb_lookup(MMU500TLB *c, const MMU500Tag *tag,
                                  uint64_t iova)
{
    for (uint32_t i = 0; i < c->tlb_size; i++) {
        MMU500TLBEntry *e = &c->tlb[i];

        if (e->valid && mmu500_tag_is(tag, e->cb, e->hyp, e->vmid, e->asid) &&
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
    c->tlb[slot].pending = 0;
    c->tlb[slot].pending_va = false;
    c->tlb[slot].last_use = ++c->clock;
}

MMU500WalkEntry *mmu500_walk_lookup(MMU500TLB *c, const MMU500Tag *tag,
                                    uint64_t iova)
{
    MMU500WalkEntry *best = NULL;

    for (uint32_t i = 0; i < c->walk_size; i++) {
        MMU500WalkEntry *w = &c->walk[i];

        if (w->valid && mmu500_tag_is(tag, w->cb, w->hyp, w->vmid, w->asid) &&
            (iova & ~w->mask) == w->iova &&
            (!best || w->level > best->level)) {
            best = w;
        }
    }
    if (best) {
        best->last_use = ++c->clock;
    }
    return best;
}

void mmu500_walk_insert(MMU500TLB *c, const MMU500Tag *tag, int level,
                        uint64_t iova, uint64_t mask, uint64_t table)
{
    uint64_t base = iova & ~mask;
    bool evicted;
    uint32_t slot;

    for (uint32_t i = 0; i < c->walk_size; i++) {
        MMU500WalkEntry *w = &c->walk[i];

        if (w->valid && !w->pending &&
            mmu500_tag_is(tag, w->cb, w->hyp, w->vmid, w->asid) &&
            w->level == level && w->iova == base) {
            w->table = table;
            w->last_use = ++c->clock;
            return;
        }
    }
    slot = mmu500_victim(c, true, &evicted);
    c->walk[slot] = (MMU500WalkEntry) {
        .valid = true, .cb = tag->cb, .hyp = tag->hyp, .vmid = tag->vmid,
        .asid = tag->asid, .level = level, .iova = base, .mask = mask,
        .table = table, .last_use = ++c->clock,
    };
}

bool mmu500_scope_matches(const MMU500InvScope *s, bool hyp, int vmid,
                          int asid)
{
    return (s->hyp < 0 || s->hyp == hyp) &&
           (s->vmid < 0 || s->vmid == vmid) &&
           (s->asid < 0 || s->asid == asid);
}

unsigned mmu500_tlb_invalidate(MMU500TLB *c, const MMU500InvScope *scope)
{
    uint8_t issuer = MMU500_ISSUER(scope->issuer);
    unsigned n = 0;

    for (uint32_t i = 0; i < c->tlb_size; i++) {
        MMU500TLBEntry *e = &c->tlb[i];

        if (!e->valid ||
            !mmu500_scope_matches(scope, e->hyp, e->vmid, e->asid) ||
            (scope->by_va && (scope->iova & ~e->mask) != e->iova)) {
            continue;
        }
        e->pending |= issuer;
        e->pending_va |= scope->by_va;
        n++;
    }
    for (uint32_t i = 0; i < c->walk_size && !scope->leaf_only; i++) {
        MMU500WalkEntry *w = &c->walk[i];

        if (!w->valid ||
            !mmu500_scope_matches(scope, w->hyp, w->vmid, w->asid) ||
            (scope->by_va && (scope->iova & ~w->mask) != w->iova)) {
            continue;
        }
        w->pending |= issuer;
        n++;
    }
    return n;
}

void mmu500_tlb_sync(MMU500TLB *c, uint32_t issuers)
{
    for (uint32_t i = 0; i < c->tlb_size; i++) {
        if (c->tlb[i].pending & issuers) {
            c->tlb[i].valid = false;
        }
    }
    for (uint32_t i = 0; i < c->walk_size; i++) {
        if (c->walk[i].pending & issuers) {
            c->walk[i].valid = false;
        }
    }
}
