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
#include "hw/arm/smmu-sanitizer.h"
#include "qom/object.h"

#define MMU500_PAGE_SIZE     0x1000
/* global space pages; the CB space is as large */
#define MMU500_NUM_PAGES     16
#define MMU500_MMIO_SIZE     (2 * MMU500_NUM_PAGES * MMU500_PAGE_SIZE)
#define MMU500_NUM_CB        3
#define MMU500_NUM_SMR       16
/* global, then one per context bank */
#define MMU500_NUM_IRQS      (1 + MMU500_NUM_CB)

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
    uint64_t ttbr0;
    uint64_t ttbr1;
    uint64_t far;
    uint64_t par;
} MMU500ContextBank;

struct MMU500State {
    SMMUState smmu_state;

    uint32_t scr0;
    uint32_t sacr;
    uint32_t sgfsr;
    uint32_t sgfsynr0;
    uint32_t sgfsynr1;
    uint32_t smr[MMU500_NUM_SMR];
    uint32_t s2cr[MMU500_NUM_SMR];
    MMU500ContextBank cb[MMU500_NUM_CB];

    /* IDR0.CTTW; the machine adds dma-coherent to match */
    bool coherent_walk;
    /*
     * Strict non-coherent mode: the walker reads a page-table line as it was
     * when the guest last cleaned it to the PoC (a line never cleaned reads as
     * zero), and an invalidation of a translation that memory and the cleaned
     * view disagree about is reported as a cache-maintenance violation.
     */
    bool strict_noncoherent;
    /*
     * Report a translation served from the IOTLB that the current tables no
     * longer give (a stale translation: a missing invalidation).
     */
    bool check_stale;
    SMMUSanitizer sanitizer;

    qemu_irq irq[MMU500_NUM_IRQS];
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

#endif /* HW_ARM_MMU500_H */
