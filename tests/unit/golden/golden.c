/* Golden images: each function fills a buffer exactly as a C program using the kernel's own structs would.
 * Mainline: the real Linux 7.3 uapi headers. Seed/v7 NESTING_OP: a C restatement of the proposal's headers
 * (SEED-UAPI.md section 4.1), the payload as raw bytes of the caller's choosing. Returns the image size. */
#include <linux/vfio.h>
#include <linux/iommufd.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

size_t golden_set_irqs_eventfds(void *buf, uint32_t index, uint32_t start, const int32_t *fds, uint32_t n) {
    struct vfio_irq_set *s = buf;
    size_t sz = sizeof(*s) + n * sizeof(int32_t);
    memset(buf, 0, sz);
    s->argsz = (uint32_t)sz;
    s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    s->index = index;
    s->start = start;
    s->count = n;
    memcpy(s->data, fds, n * sizeof(int32_t));
    return sz;
}

size_t golden_feature_set_mig_state(void *buf, uint32_t state) {
    struct vfio_device_feature *f = buf;
    struct vfio_device_feature_mig_state *m = (void *)f->data;
    size_t sz = sizeof(*f) + sizeof(*m);
    memset(buf, 0, sz);
    f->argsz = (uint32_t)sz;
    f->flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
    m->device_state = state;
    m->data_fd = -1;
    return sz;
}

size_t golden_pci_hot_reset(void *buf, const int32_t *fds, uint32_t n) {
    struct vfio_pci_hot_reset *r = buf;
    size_t sz = sizeof(*r) + n * sizeof(int32_t);
    memset(buf, 0, sz);
    r->argsz = (uint32_t)sz;
    r->count = n;
    memcpy(r->group_fds, fds, n * sizeof(int32_t));
    return sz;
}

size_t golden_map_dma(void *buf, uint64_t vaddr, uint64_t iova, uint64_t size) {
    struct vfio_iommu_type1_dma_map *m = buf;
    memset(m, 0, sizeof(*m));
    m->argsz = sizeof(*m);
    m->flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
    m->vaddr = vaddr;
    m->iova = iova;
    m->size = size;
    return sizeof(*m);
}

size_t golden_hwpt_alloc_vtd(void *buf, uint32_t dev, uint32_t pt, const struct iommu_hwpt_vtd_s1 *s1) {
    struct iommu_hwpt_alloc *h = buf;
    memset(h, 0, sizeof(*h));
    h->size = sizeof(*h);
    h->dev_id = dev;
    h->pt_id = pt;
    h->data_type = IOMMU_HWPT_DATA_VTD_S1;
    h->data_len = sizeof(*s1);
    h->data_uptr = (uintptr_t)s1;
    return sizeof(*h);
}

size_t golden_hwpt_invalidate_vtd(void *buf, uint32_t hwpt, const struct iommu_hwpt_vtd_s1_invalidate *e, uint32_t n) {
    struct iommu_hwpt_invalidate *h = buf;
    memset(h, 0, sizeof(*h));
    h->size = sizeof(*h);
    h->hwpt_id = hwpt;
    h->data_uptr = (uintptr_t)e;
    h->data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1;
    h->entry_len = sizeof(*e);
    h->entry_num = n;
    return sizeof(*h);
}

/* ---- the 2020 proposal, restated ---- */
struct seed_nesting_op { uint32_t argsz; uint32_t flags; uint32_t op; uint8_t data[]; };
struct v7_nesting_op { uint32_t argsz; uint32_t flags; uint8_t data[]; };
#define V7_NESTING_OP_MASK 0xffffu

size_t golden_seed_nesting_op(void *buf, uint32_t op, const void *payload, size_t len) {
    struct seed_nesting_op *h = buf;
    memset(buf, 0, sizeof(*h) + len);
    h->argsz = (uint32_t)(sizeof(*h) + len);
    h->op = op;
    memcpy(h->data, payload, len);
    return sizeof(*h) + len;
}

size_t golden_v7_nesting_op(void *buf, uint32_t op, const void *payload, size_t len) {
    struct v7_nesting_op *h = buf;
    memset(buf, 0, sizeof(*h) + len);
    h->argsz = (uint32_t)(sizeof(*h) + len);
    h->flags = op & V7_NESTING_OP_MASK;
    memcpy(h->data, payload, len);
    return sizeof(*h) + len;
}
