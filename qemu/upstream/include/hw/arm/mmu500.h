/*
 * Arm MMU-500 (SMMUv2 architecture) model: the register interface Linux's
 * arm-smmu driver programs, stage-1 AArch64 translation through the shared
 * SMMU page-table walker, and an IOTLB that forgets only what is invalidated.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_ARM_MMU500_H
#define HW_ARM_MMU500_H

#include "hw/arm/smmu-common.h"
#include "qom/object.h"

#define MMU500_PAGE_SIZE     0x1000
/* global space pages; the CB space is as large */
#define MMU500_NUM_PAGES     16
#define MMU500_MMIO_SIZE     (2 * MMU500_NUM_PAGES * MMU500_PAGE_SIZE)
#define MMU500_NUM_CB        3
#define MMU500_NUM_SMR       16
/* stream ID width: 15 bits, PCI requester IDs 0 to 0x7fff */
#define MMU500_SID_BITS      15
/* global, then one per context bank */
#define MMU500_NUM_IRQS      (1 + MMU500_NUM_CB)

/* Index of the IOMMU region for debug accesses: translated, never faulted. */
#define MMU500_IDX_NORMAL    0
#define MMU500_IDX_PROBE     1

/*
 * Who issued an invalidation, and so which sync completes it: context bank n
 * (0 .. MMU500_NUM_CB - 1) for its own TLBI registers, MMU500_ISSUER_GLOBAL
 * for the global space's (TLBIVMID, TLBIALLNSNH, TLBIALLH).
 */
#define MMU500_ISSUER_GLOBAL MMU500_NUM_CB
#define MMU500_NUM_ISSUERS   (MMU500_NUM_CB + 1)
#define MMU500_ISSUER(i)     (1u << (i))
#define MMU500_ALL_ISSUERS   ((1u << MMU500_NUM_ISSUERS) - 1)

/*
 * A translation in the IOTLB: a leaf of context bank @cb's tables, tagged as
 * the architecture tags TLB entries, with the VMID (CBAR.VMID), the ASID and
 * whether the context is a hypervisor one. An invalidation only marks it
 * (@pending, one bit per issuer); it is dropped when a sync that completes one
 * of those invalidations does, and until then a device may still be served by
 * it, as on hardware.
 */
typedef struct MMU500TLBEntry {
    bool valid;
    /* MMU500_ISSUER() bits of the invalidations waiting for a sync */
    uint8_t pending;
    /* a TLBI by VA named it: a DMA through it before the sync is a bug */
    bool pending_va;
    bool hyp;
    uint8_t cb;
    uint8_t level;
    uint8_t vmid;
    uint16_t asid;
    IOMMUAccessFlags perm;
    uint64_t iova;
    uint64_t pa;
    /* leaf size - 1 */
    uint64_t mask;
    uint64_t last_use;
} MMU500TLBEntry;

/*
 * A walk cache entry: the address of the level-@level table that translates
 * the @iova region (of size @mask + 1) of the level above.
 */
typedef struct MMU500WalkEntry {
    bool valid;
    uint8_t pending;
    bool hyp;
    uint8_t cb;
    uint8_t level;
    uint8_t vmid;
    uint16_t asid;
    uint64_t iova;
    uint64_t mask;
    uint64_t table;
    uint64_t last_use;
} MMU500WalkEntry;

/* What a lookup or a walk cache fill is for: a bank's current context. */
typedef struct MMU500Tag {
    int cb;
    bool hyp;
    uint8_t vmid;
    uint16_t asid;
} MMU500Tag;

/* What an invalidation matches; -1 for any. */
typedef struct MMU500InvScope {
    /* the issuer: the sync that completes it */
    int issuer;
    int vmid;
    int asid;
    /* 1: hypervisor contexts only (TLBIALLH), 0: the others, -1: both */
    int hyp;
    /* by VA when set: the address @iova */
    bool by_va;
    /* leaf only (TLBIVAL, TLBIVAAL): walk cache entries are kept */
    bool leaf_only;
    uint64_t iova;
} MMU500InvScope;

typedef struct MMU500TLB {
    MMU500TLBEntry *tlb;
    uint32_t tlb_size;
    MMU500WalkEntry *walk;
    uint32_t walk_size;
    uint64_t clock;
    uint64_t evictions;
} MMU500TLB;

typedef struct MMU500ContextBank {
    uint32_t cbar;
    uint32_t cba2r;
    uint32_t sctlr;
    uint32_t actlr;
    uint32_t tcr;
    uint32_t tcr2;
    uint32_t contextidr;
    uint32_t mair0;
    uint32_t mair1;
    uint32_t fsr;
    uint32_t fsynr0;
    /* the faulting stream, as CBFRSYNRA reads */
    uint32_t cbfrsynra;
    uint64_t ttbr0;
    uint64_t ttbr1;
    uint64_t far;
    uint64_t par;
    /* the unsupported configuration was logged; a write to the bank re-arms */
    bool unsupported_logged;
} MMU500ContextBank;

struct MMU500State {
    SMMUState smmu_state;

    uint32_t scr0;
    uint32_t sacr;
    uint32_t sgfsr;
    uint32_t sgfsynr0;
    uint32_t sgfsynr1;
    uint64_t sgfar;
    uint32_t smr[MMU500_NUM_SMR];
    uint32_t s2cr[MMU500_NUM_SMR];
    MMU500ContextBank cb[MMU500_NUM_CB];

    /* IDR0.CTTW; the machine adds dma-coherent to match */
    bool coherent_walk;
    /* IOTLB and walk cache capacity, in entries */
    uint32_t tlb_entries;
    uint32_t walk_entries;
    MMU500TLB cache;

    qemu_irq irq[MMU500_NUM_IRQS];
    /* raises the interrupts of a fault recorded without the BQL */
    QEMUBH *irq_bh;
    /*
     * The device's state. Lock order: the BQL, then this. Nothing done under
     * it takes the BQL or enters another device: walks read RAM only
     * (mmu500_read_ram), and a fault found by a DMA from a thread without the
     * BQL raises its interrupt from irq_bh.
     */
    QemuMutex mutex;
};

struct MMU500Class {
    SMMUBaseClass smmu_base_class;
    DeviceRealize parent_realize;
    ResettablePhases parent_phases;
};

#define TYPE_ARM_MMU500 "arm-mmu500"
OBJECT_DECLARE_TYPE(MMU500State, MMU500Class, ARM_MMU500)

#define TYPE_MMU500_IOMMU_MEMORY_REGION "arm-mmu500-iommu-memory-region"

/* mmu500-tlb.c */
void mmu500_tlb_init(MMU500TLB *c, uint32_t tlb_size, uint32_t walk_size);
void mmu500_tlb_free(MMU500TLB *c);
void mmu500_tlb_reset(MMU500TLB *c);
MMU500TLBEntry *mmu500_tlb_lookup(MMU500TLB *c, const MMU500Tag *tag,
                                  uint64_t iova);
void mmu500_tlb_insert(MMU500TLB *c, const MMU500TLBEntry *e);
/* The deepest cached table for @iova, or NULL. */
MMU500WalkEntry *mmu500_walk_lookup(MMU500TLB *c, const MMU500Tag *tag,
                                    uint64_t iova);
/* Cache the level-@level table for the region of size @mask + 1 at @iova. */
void mmu500_walk_insert(MMU500TLB *c, const MMU500Tag *tag, int level,
                        uint64_t iova, uint64_t mask, uint64_t table);
/* Whether @scope covers entries tagged with @hyp, @vmid and @asid. */
bool mmu500_scope_matches(const MMU500InvScope *s, bool hyp, int vmid,
                          int asid);
/* Mark what @scope matches as pending; returns how many entries. */
unsigned mmu500_tlb_invalidate(MMU500TLB *c, const MMU500InvScope *scope);
/*
 * Complete the invalidations the issuers in @issuers (MMU500_ISSUER() bits)
 * accepted so far: drop every entry one of them left pending.
 */
void mmu500_tlb_sync(MMU500TLB *c, uint32_t issuers);

#endif /* HW_ARM_MMU500_H */
