/*
 * A PCI test device that reads through its IOMMU on request.
 *
 * The guest writes an IOVA range and rings the doorbell; the device reads
 * eight bytes of every 4K page of the range at once, through the IOMMU in
 * its DMA path, and counts the pages that translated. A test rig rings it
 * right after a DMA map (every page must translate; the walk fills the
 * IOMMU's caches as a real device's first access would) and right after the
 * unmap, when nothing of the range may translate any more: a translation
 * that outlived the unmap (a missing TLB invalidation or sync, a walk cache
 * entry left after a table was freed) is exercised at once and counted, and
 * an SMMU model's sanitizers see it.
 *
 * The reads carry the debug attribute: an IOMMU that honours it (the MMU-500
 * model) translates them like any other access but records no fault, so the
 * expected outcome of a probe, no translation, leaves the guest undisturbed.
 *
 * BAR0 (4K, 32- and 64-bit accesses):
 *   0x00 ID          RO  "DPB1"
 *   0x08 IOVA        RW  64 bit, start of the range
 *   0x10 LEN         RW  bytes
 *   0x14 DOORBELL    WO  probe the range now: 1 after an unmap, 2 after a map
 *   0x18 TRANSLATED  RO  pages that translated in the last probe
 *   0x1c PROBES      RO  probes after an unmap
 *   0x20 PAGES       RO  pages they read
 *   0x24 LEAKED      RO  of those, pages that translated
 *   0x28 REFUSED     RO  probes refused: bus mastering off, LEN > 1 GiB, or
 *                        a doorbell value other than 1 or 2
 *   0x2c MAP_PROBES  RO  probes after a map
 *   0x30 MAP_PAGES   RO  pages they read
 *   0x34 MISSING     RO  of those, pages that did not translate
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "hw/pci/pci_device.h"
#include "system/dma.h"
#include "qom/object.h"
#include "qemu/module.h"

#define TYPE_PCI_DMA_PROBE "pci-dma-probe"
OBJECT_DECLARE_SIMPLE_TYPE(PCIDMAProbeState, PCI_DMA_PROBE)

/*
 * An ID from the range docs/specs/pci-ids.rst leaves for experimental use
 * (1af4:10f0 to 1af4:10ff): the device is a test rig's, never shipped.
 */
#define PCI_DMA_PROBE_VENDOR_ID PCI_VENDOR_ID_REDHAT_QUMRANET
#define PCI_DMA_PROBE_DEVICE_ID 0x10f0

#define REG_ID          0x00
#define REG_IOVA        0x08
#define REG_LEN         0x10
#define REG_DOORBELL    0x14
#define REG_TRANSLATED  0x18
#define REG_PROBES      0x1c
#define REG_PAGES       0x20
#define REG_LEAKED      0x24
#define REG_REFUSED     0x28
#define REG_MAP_PROBES  0x2c
#define REG_MAP_PAGES   0x30
#define REG_MISSING     0x34

#define DOORBELL_UNMAPPED 1
#define DOORBELL_MAPPED   2

#define PROBE_ID        0x31425044u         /* "DPB1" */
#define PROBE_PAGE      0x1000
#define PROBE_MAX_LEN   (1 * GiB)

struct PCIDMAProbeState {
    PCIDevice parent_obj;

    MemoryRegion mmio;
    uint64_t iova;
    uint32_t len;
    uint32_t translated;
    uint32_t probes;
    uint32_t pages;
    uint32_t leaked;
    uint32_t refused;
    uint32_t map_probes;
    uint32_t map_pages;
    uint32_t missing;
};

static void pci_dma_probe_run(PCIDMAProbeState *s, uint64_t doorbell)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    MemTxAttrs attrs = { .debug = 1 };
    uint64_t first = s->iova & ~(uint64_t)(PROBE_PAGE - 1);
    uint64_t end = s->iova + s->len;
    uint32_t pages = 0;
    uint64_t data;

    if (!(pci_get_word(pdev->config + PCI_COMMAND) & PCI_COMMAND_MASTER) ||
        s->len > PROBE_MAX_LEN ||
        (doorbell != DOORBELL_UNMAPPED && doorbell != DOORBELL_MAPPED)) {
        s->refused++;
        return;
    }
    s->translated = 0;
    for (uint64_t page = first; page < end; page += PROBE_PAGE) {
        if (pci_dma_rw(pdev, page, &data, sizeof(data),
                       DMA_DIRECTION_TO_DEVICE, attrs) == MEMTX_OK) {
            s->translated++;
        }
        pages++;
    }
    if (doorbell == DOORBELL_UNMAPPED) {
        s->probes++;
        s->pages += pages;
        s->leaked += s->translated;
    } else {
        s->map_probes++;
        s->map_pages += pages;
        s->missing += pages - s->translated;
    }
}

static uint64_t pci_dma_probe_read(void *opaque, hwaddr addr, unsigned size)
{
    PCIDMAProbeState *s = opaque;

    switch (addr) {
    case REG_ID:
        return PROBE_ID;
    case REG_IOVA:
        return size == 8 ? s->iova : (uint32_t)s->iova;
    case REG_IOVA + 4:
        return s->iova >> 32;
    case REG_LEN:
        return s->len;
    case REG_TRANSLATED:
        return s->translated;
    case REG_PROBES:
        return s->probes;
    case REG_PAGES:
        return s->pages;
    case REG_LEAKED:
        return s->leaked;
    case REG_REFUSED:
        return s->refused;
    case REG_MAP_PROBES:
        return s->map_probes;
    case REG_MAP_PAGES:
        return s->map_pages;
    case REG_MISSING:
        return s->missing;
    default:
        return 0;
    }
}

static void pci_dma_probe_write(void *opaque, hwaddr addr, uint64_t val,
                                unsigned size)
{
    PCIDMAProbeState *s = opaque;

    switch (addr) {
    case REG_IOVA:
        s->iova = size == 8 ? val : deposit64(s->iova, 0, 32, val);
        break;
    case REG_IOVA + 4:
        s->iova = deposit64(s->iova, 32, 32, val);
        break;
    case REG_LEN:
        s->len = val;
        break;
    case REG_DOORBELL:
        pci_dma_probe_run(s, val);
        break;
    default:
        break;
    }
}

static const MemoryRegionOps pci_dma_probe_ops = {
    .read = pci_dma_probe_read,
    .write = pci_dma_probe_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 4, .max_access_size = 8 },
    .impl = { .min_access_size = 4, .max_access_size = 8 },
};

static void pci_dma_probe_realize(PCIDevice *pdev, Error **errp)
{
    PCIDMAProbeState *s = PCI_DMA_PROBE(pdev);

    memory_region_init_io(&s->mmio, OBJECT(s), &pci_dma_probe_ops, s,
                          "pci-dma-probe-mmio", PROBE_PAGE);
    pci_register_bar(pdev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->mmio);
}

static void pci_dma_probe_reset(DeviceState *dev)
{
    PCIDMAProbeState *s = PCI_DMA_PROBE(dev);

    s->iova = 0;
    s->len = 0;
    s->translated = s->probes = s->pages = s->leaked = s->refused = 0;
    s->map_probes = s->map_pages = s->missing = 0;
}

static void pci_dma_probe_class_init(ObjectClass *klass, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = pci_dma_probe_realize;
    k->vendor_id = PCI_DMA_PROBE_VENDOR_ID;
    k->device_id = PCI_DMA_PROBE_DEVICE_ID;
    k->revision = 1;
    k->class_id = PCI_CLASS_OTHERS;
    dc->desc = "Reads an IOVA range through its IOMMU on request";
    device_class_set_legacy_reset(dc, pci_dma_probe_reset);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo pci_dma_probe_info = {
    .name = TYPE_PCI_DMA_PROBE,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(PCIDMAProbeState),
    .class_init = pci_dma_probe_class_init,
    .interfaces = (const InterfaceInfo[]) {
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { },
    },
};

static void pci_dma_probe_register_types(void)
{
    type_register_static(&pci_dma_probe_info);
}

type_init(pci_dma_probe_register_types)
