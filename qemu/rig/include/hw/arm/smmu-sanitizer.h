/*
 * Sanitizers for the SMMU models: they make a fast but wrong page-table
 * change visible where TCG would hide it, and name it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_ARM_SMMU_SANITIZER_H
#define HW_ARM_SMMU_SANITIZER_H

#include "hw/arm/smmu-common.h"
#include "qemu/thread.h"

/* Reports of one kind past this many are counted, not printed. */
#define SMMU_SANITIZER_MAX_REPORTS 16

typedef enum SMMUSanitizerCheck {
    SMMU_CHECK_CACHE_MAINTENANCE,
    SMMU_CHECK_STALE_TRANSLATION,
    SMMU_CHECK_NR,
} SMMUSanitizerCheck;

typedef struct SMMUSanitizer {
    /* The reports' prefix: "mmu500", "smmuv3". */
    const char *model;
    /*
     * Strict non-coherent view: walks read each page-table line as it was
     * when the guest last cleaned it to the PoC (a line never cleaned reads
     * as zero), as a non-coherent walker on hardware would.
     */
    bool strict;
    /* Host address of a guest page -> its cleaned lines (smmu-sanitizer.c) */
    GHashTable *cleaned;
    /* CTR_EL0.DminLine's, learnt at the first clean */
    uint64_t line_size;
    /* in the list of strict sanitizers the guest's cleans go to */
    QLIST_ENTRY(SMMUSanitizer) next;
    QemuMutex lock;
    uint64_t reports[SMMU_CHECK_NR];
} SMMUSanitizer;

/*
 * Set up; with @strict, start listening to the guest's cleans to the PoC.
 * Any number of SMMUs may listen, each keeping its own view.
 */
bool smmu_sanitizer_init(SMMUSanitizer *san, const char *model, bool strict,
                         Error **errp);
/* Stop listening and free the view (at unrealize). */
void smmu_sanitizer_cleanup(SMMUSanitizer *san);
/* How many guest pages the cleaned view holds lines of. */
unsigned smmu_sanitizer_view_pages(SMMUSanitizer *san);

/*
 * Read the descriptor at @addr as the strict view has it (as last cleaned to
 * the PoC; zero if never cleaned). Returns 0 on success.
 */
int smmu_sanitizer_read_view(SMMUSanitizer *san, dma_addr_t addr,
                             uint64_t *desc);

/*
 * Report @detail under @check's name on stderr ("mmu500: stale translation:
 * ..."); past SMMU_SANITIZER_MAX_REPORTS of a kind, only count. Returns true.
 */
bool smmu_sanitizer_report(SMMUSanitizer *san, SMMUSanitizerCheck check,
                           const char *detail);

/* Make @cfg's walks read through the cleaned view when the view is strict. */
void smmu_sanitizer_set_walk(SMMUSanitizer *san, SMMUTransCfg *cfg);

/*
 * At an invalidation of @iova: report a "cache-maintenance violation" when
 * the tables in memory and in the cleaned view disagree about it (the walker
 * could keep using an entry the guest believes it removed, or never see one
 * it wrote). @where names the context ("cb=1 stream=0x20"). Returns true when
 * something was wrong.
 */
bool smmu_sanitizer_check_invalidation(SMMUSanitizer *san, SMMUState *bs,
                                       SMMUTransCfg *cfg, dma_addr_t iova,
                                       const char *where);

/*
 * For a translation served from the IOTLB (@hit): report a "stale
 * translation" when a walk of the current tables (through the view the
 * walker uses) no longer gives it: a missing or unsynced invalidation lets a
 * device reach memory that is no longer mapped for it. Returns true when
 * the translation was stale.
 */
bool smmu_sanitizer_check_hit(SMMUSanitizer *san, SMMUState *bs,
                              SMMUTransCfg *cfg, SMMUTLBEntry *hit,
                              dma_addr_t iova, const char *where);

#endif /* HW_ARM_SMMU_SANITIZER_H */
