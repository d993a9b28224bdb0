/*
 * The Arm MMU-500 model with what a test rig adds (hw/arm/mmu500-rig.c):
 * sanitizers that name a fast but wrong page-table change, and the time a
 * sync and a register access take under icount.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_ARM_MMU500_RIG_H
#define HW_ARM_MMU500_RIG_H

#include "hw/arm/mmu500.h"
#include "hw/arm/smmu-sanitizer.h"

#define TYPE_ARM_MMU500_RIG "arm-mmu500-rig"
OBJECT_DECLARE_TYPE(MMU500RigState, MMU500RigClass, ARM_MMU500_RIG)

/* By-VA invalidations kept per issuer until a sync, for the strict view */
#define MMU500_MAX_UNSYNCED (1u << 22)

struct MMU500RigState {
    MMU500State parent_obj;

    /*
     * Strict non-coherent mode: the walker reads a page-table line as it was
     * when the guest last cleaned it to the PoC (a line never cleaned reads as
     * zero), and tables that memory and the cleaned view disagree about at an
     * invalidation, a sync or a first walk are a cache-maintenance violation.
     */
    bool strict_noncoherent;
    /*
     * Report a translation served from the IOTLB or through the walk cache
     * that the current tables no longer give (a stale translation).
     */
    bool check_stale;
    /*
     * What hardware takes, in ns of guest time (0, the default: nothing).
     * Each register access stalls the vCPU that makes it for reg_access_ns
     * (charged under icount); a TLB sync stays active in TLBSTATUS or
     * sTLBGSTATUS for tlb_sync_ns of QEMU_CLOCK_VIRTUAL after it is written,
     * so the guest's own poll loop waits for it.
     */
    uint32_t reg_access_ns;
    uint32_t tlb_sync_ns;
    /* QEMU_CLOCK_VIRTUAL time each issuer's last sync completes at */
    int64_t sync_done[MMU500_NUM_ISSUERS];
    /* the strict view's by-VA invalidations awaiting a sync, per issuer */
    GArray *unsynced[MMU500_NUM_ISSUERS];
    /* those past MMU500_MAX_UNSYNCED, counted and reported at the sync */
    uint64_t unsynced_dropped[MMU500_NUM_ISSUERS];
    SMMUSanitizer sanitizer;
    Error *migration_blocker;
};

struct MMU500RigClass {
    MMU500Class parent_class;
    DeviceRealize parent_realize;
    DeviceUnrealize parent_unrealize;
    ResettablePhases parent_phases;
};

#endif /* HW_ARM_MMU500_RIG_H */
