/*
 * Sanitizers for the SMMU models.
 *
 * TCG models no caches: a table walker reads RAM, so a page-table write the
 * guest never cleaned to the point of coherency is seen anyway, and a fast
 * but wrong change to Linux's io-pgtable code looks correct. Two checks make
 * such changes visible, each reported on stderr by name:
 *
 * - "cache-maintenance violation": with the strict non-coherent view, walks
 *   read each line as the guest last cleaned it (target/arm reports every
 *   clean to the PoC by VA); at an invalidation, the tables in memory and in
 *   that view must agree about the invalidated address.
 * - "stale translation": a translation served from the IOTLB must still be
 *   what a walk of the current tables gives; if not, an invalidation is
 *   missing (or was issued for the wrong address) and the device reaches
 *   memory that is no longer mapped for it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "system/memory.h"
#include "system/address-spaces.h"
#include "hw/arm/smmu-sanitizer.h"
#include "qemu/cutils.h"
#include "qemu/rcu_queue.h"
#include "qemu/bitops.h"
#include "qapi/error.h"
#include "cpu.h"

static const char *const check_names[SMMU_CHECK_NR] = {
    [SMMU_CHECK_CACHE_MAINTENANCE] = "cache-maintenance violation",
    [SMMU_CHECK_STALE_TRANSLATION] = "stale translation",
};

/*
 * The cleaned view is kept per guest page (host address of its first byte):
 * the bytes of the lines cleaned so far and which lines those are. A line
 * cleaned as all zeros reads as one never cleaned, so a page whose cleaned
 * lines are all zero is dropped: the record holds what the guest cleaned and
 * still has in its tables, not every line it ever cleaned.
 */
#define VIEW_PAGE_SIZE  4096
#define VIEW_MIN_LINE   16

typedef struct SMMUSanitizerPage {
    uint8_t bytes[VIEW_PAGE_SIZE];
    /* one bit per line of line_size bytes */
    unsigned long cleaned[BITS_TO_LONGS(VIEW_PAGE_SIZE / VIEW_MIN_LINE)];
} SMMUSanitizerPage;

static bool smmu_sanitizer_page_zero(SMMUSanitizerPage *page)
{
    return buffer_is_zero(page->bytes, sizeof(page->bytes));
}

static void smmu_sanitizer_record(SMMUSanitizer *san, void *host,
                                  uint64_t len)
{
    uintptr_t line = (uintptr_t)host & ~(uintptr_t)(len - 1);
    uintptr_t base = line & ~(uintptr_t)(VIEW_PAGE_SIZE - 1);
    uintptr_t offset = line - base;
    SMMUSanitizerPage *page;

    if (len < VIEW_MIN_LINE || len > VIEW_PAGE_SIZE) {
        return;
    }
    qemu_mutex_lock(&san->lock);
    san->line_size = len;
    page = g_hash_table_lookup(san->cleaned, (gpointer)base);
    if (!page) {
        if (buffer_is_zero((void *)line, len)) {
            /* a line cleaned as zeros reads as one never cleaned */
            qemu_mutex_unlock(&san->lock);
            return;
        }
        page = g_new0(SMMUSanitizerPage, 1);
        g_hash_table_insert(san->cleaned, (gpointer)base, page);
    }
    memcpy(page->bytes + offset, (void *)line, len);
    set_bit(offset / VIEW_MIN_LINE, page->cleaned);
    if (smmu_sanitizer_page_zero(page)) {
        g_hash_table_remove(san->cleaned, (gpointer)base);
    }
    qemu_mutex_unlock(&san->lock);
}

/*
 * target/arm has one clean listener; every strict SMMU of the machine gets
 * the cleans through this list (added and removed under the BQL, walked from
 * the vCPU threads under RCU).
 */
static QLIST_HEAD(, SMMUSanitizer) strict_sanitizers =
    QLIST_HEAD_INITIALIZER(strict_sanitizers);

static void smmu_sanitizer_dc_clean(void *opaque, void *host, uint64_t len)
{
    SMMUSanitizer *san;

    RCU_READ_LOCK_GUARD();
    QLIST_FOREACH_RCU(san, &strict_sanitizers, next) {
        smmu_sanitizer_record(san, host, len);
    }
}

static void *smmu_sanitizer_host_ptr(hwaddr pa)
{
    MemoryRegionSection section = memory_region_find(get_system_memory(),
                                                     pa, 8);
    void *host = NULL;

    if (section.mr) {
        if (memory_region_is_ram(section.mr)) {
            host = (uint8_t *)memory_region_get_ram_ptr(section.mr) +
                   section.offset_within_region;
        }
        memory_region_unref(section.mr);
    }
    return host;
}

/* A descriptor as a non-coherent walker sees it: as last cleaned, else 0. */
static int smmu_sanitizer_read_cleaned(void *opaque, dma_addr_t addr,
                                       uint64_t *desc)
{
    SMMUSanitizer *san = opaque;
    uint8_t *host = smmu_sanitizer_host_ptr(addr);
    uintptr_t base, offset, line;
    SMMUSanitizerPage *page;

    if (!host) {
        return -1;
    }
    qemu_mutex_lock(&san->lock);
    base = (uintptr_t)host & ~(uintptr_t)(VIEW_PAGE_SIZE - 1);
    offset = (uintptr_t)host - base;
    line = offset & ~(uintptr_t)(san->line_size - 1);
    page = g_hash_table_lookup(san->cleaned, (gpointer)base);
    if (page && test_bit(line / VIEW_MIN_LINE, page->cleaned)) {
        memcpy(desc, page->bytes + offset, sizeof(*desc));
        *desc = le64_to_cpu(*desc);
    } else {
        *desc = 0;
    }
    qemu_mutex_unlock(&san->lock);
    return 0;
}

int smmu_sanitizer_read_view(SMMUSanitizer *san, dma_addr_t addr,
                             uint64_t *desc)
{
    return smmu_sanitizer_read_cleaned(san, addr, desc);
}

/* Pages of the cleaned view held, for tests and the monitor. */
unsigned smmu_sanitizer_view_pages(SMMUSanitizer *san)
{
    unsigned n = 0;

    if (san->strict) {
        qemu_mutex_lock(&san->lock);
        n = g_hash_table_size(san->cleaned);
        qemu_mutex_unlock(&san->lock);
    }
    return n;
}

bool smmu_sanitizer_init(SMMUSanitizer *san, const char *model, bool strict,
                         Error **errp)
{
    san->model = model;
    san->strict = strict;
    san->line_size = 64;
    memset(san->reports, 0, sizeof(san->reports));
    qemu_mutex_init(&san->lock);
    if (strict) {
        san->cleaned = g_hash_table_new_full(g_direct_hash, g_direct_equal,
                                             NULL, g_free);
        QLIST_INSERT_HEAD_RCU(&strict_sanitizers, san, next);
        arm_set_dc_clean_listener(smmu_sanitizer_dc_clean, NULL);
    }
    return true;
}

void smmu_sanitizer_cleanup(SMMUSanitizer *san)
{
    if (san->strict) {
        QLIST_REMOVE_RCU(san, next);
        synchronize_rcu();
        if (QLIST_EMPTY(&strict_sanitizers)) {
            arm_set_dc_clean_listener(NULL, NULL);
        }
        g_hash_table_destroy(san->cleaned);
        san->cleaned = NULL;
    }
    qemu_mutex_destroy(&san->lock);
}

void smmu_sanitizer_set_walk(SMMUSanitizer *san, SMMUTransCfg *cfg)
{
    cfg->read_desc = san->strict ? smmu_sanitizer_read_cleaned : NULL;
    cfg->read_desc_opaque = san->strict ? san : NULL;
}

static void smmu_sanitizer_describe(int ret, SMMUPTWEventInfo *info,
                                    SMMUTLBEntry *e, dma_addr_t iova,
                                    char *buf, size_t len)
{
    static const char *const faults[] = {
        [SMMU_PTW_ERR_NONE] = "no fault",
        [SMMU_PTW_ERR_WALK_EABT] = "walk abort",
        [SMMU_PTW_ERR_TRANSLATION] = "translation fault",
        [SMMU_PTW_ERR_ADDR_SIZE] = "address size fault",
        [SMMU_PTW_ERR_ACCESS] = "access fault",
        [SMMU_PTW_ERR_PERMISSION] = "permission fault",
    };

    if (ret) {
        snprintf(buf, len, "no translation (%s)",
                 info->type < ARRAY_SIZE(faults) ? faults[info->type] : "?");
    } else {
        snprintf(buf, len, "-> 0x%" PRIx64 " %s",
                 (uint64_t)CACHED_ENTRY_TO_ADDR(e, iova),
                 (e->entry.perm & IOMMU_WO) ? "rw" : "ro");
    }
}

/* Print a report, or only count it once there have been many. */
bool smmu_sanitizer_report(SMMUSanitizer *san, SMMUSanitizerCheck check,
                           const char *detail)
{
    uint64_t n = ++san->reports[check];

    if (n <= SMMU_SANITIZER_MAX_REPORTS) {
        error_report("%s: %s: %s", san->model, check_names[check], detail);
    }
    if (n == SMMU_SANITIZER_MAX_REPORTS) {
        error_report("%s: %s: further reports are counted, not printed",
                     san->model, check_names[check]);
    }
    return true;
}

/*
 * Whether two results for @iova translate it alike: both fail the same way,
 * or both give the same output address with the same permissions.  The one
 * meaning of "the same translation" for every check (IOTLB hit against the
 * tables, memory against the cleaned view), on every SMMU model.
 */
static bool smmu_sanitizer_same_translation(int ret_a, SMMUTLBEntry *a,
                                            int ret_b, SMMUTLBEntry *b,
                                            dma_addr_t iova)
{
    if (ret_a || ret_b) {
        return ret_a == ret_b;
    }
    return CACHED_ENTRY_TO_ADDR(a, iova) == CACHED_ENTRY_TO_ADDR(b, iova) &&
           a->entry.perm == b->entry.perm;
}

/* Walk @cfg's tables at @iova as @read_desc sees them; 0 if it translates. */
static int smmu_sanitizer_walk(SMMUState *bs, SMMUTransCfg *cfg,
                               dma_addr_t iova, bool cleaned,
                               SMMUSanitizer *san, SMMUTLBEntry *out,
                               SMMUPTWEventInfo *info)
{
    SMMUTransCfg copy = *cfg;

    copy.read_desc = cleaned ? smmu_sanitizer_read_cleaned : NULL;
    copy.read_desc_opaque = cleaned ? san : NULL;
    if (!select_tt(&copy, iova)) {
        info->type = SMMU_PTW_ERR_TRANSLATION;
        return -EINVAL;
    }
    return smmu_ptw(bs, &copy, iova, IOMMU_NONE, out, info);
}

bool smmu_sanitizer_check_invalidation(SMMUSanitizer *san, SMMUState *bs,
                                       SMMUTransCfg *cfg, dma_addr_t iova,
                                       const char *where)
{
    SMMUTLBEntry in_memory = {}, in_view = {};
    SMMUPTWEventInfo info_memory = {}, info_view = {};
    char said_memory[80], said_view[80], *detail;
    int r_memory, r_view;
    bool wrong;

    if (!san->strict) {
        return false;
    }
    r_memory = smmu_sanitizer_walk(bs, cfg, iova, false, san, &in_memory,
                                   &info_memory);
    r_view = smmu_sanitizer_walk(bs, cfg, iova, true, san, &in_view,
                                 &info_view);
    if (smmu_sanitizer_same_translation(r_memory, &in_memory, r_view, &in_view,
                                        iova)) {
        return false;
    }
    smmu_sanitizer_describe(r_memory, &info_memory, &in_memory, iova,
                            said_memory, sizeof(said_memory));
    smmu_sanitizer_describe(r_view, &info_view, &in_view, iova,
                            said_view, sizeof(said_view));
    detail = g_strdup_printf("%s asid=%d iova=0x%" PRIx64 ": memory says %s, "
                             "the walker's cleaned view says %s",
                             where, cfg->asid, (uint64_t)iova, said_memory,
                             said_view);
    wrong = smmu_sanitizer_report(san, SMMU_CHECK_CACHE_MAINTENANCE, detail);
    g_free(detail);
    return wrong;
}

bool smmu_sanitizer_check_hit(SMMUSanitizer *san, SMMUState *bs,
                              SMMUTransCfg *cfg, SMMUTLBEntry *hit,
                              dma_addr_t iova, const char *where)
{
    SMMUTLBEntry now = {};
    SMMUPTWEventInfo info = {};
    char said_tlb[80], said_now[80], *detail;
    bool wrong;
    int ret;

    ret = smmu_sanitizer_walk(bs, cfg, iova, san->strict, san, &now, &info);
    /*
     * Linux never changes a live entry in place, so any difference, in the
     * output address or in the permissions either way, is a translation whose
     * invalidation is missing (fewer permissions fault on hardware).
     */
    if (smmu_sanitizer_same_translation(ret, &now, 0, hit, iova)) {
        return false;
    }
    smmu_sanitizer_describe(0, &info, hit, iova, said_tlb, sizeof(said_tlb));
    smmu_sanitizer_describe(ret, &info, &now, iova, said_now,
                            sizeof(said_now));
    detail = g_strdup_printf("%s asid=%d iova=0x%" PRIx64 ": served from the "
                             "IOTLB %s, the page tables now say %s",
                             where, cfg->asid, (uint64_t)iova, said_tlb,
                             said_now);
    wrong = smmu_sanitizer_report(san, SMMU_CHECK_STALE_TRANSLATION, detail);
    g_free(detail);
    return wrong;
}
