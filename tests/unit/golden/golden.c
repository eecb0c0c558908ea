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

/* ---- builders of wire/requests.hpp ---- */
size_t golden_unmap_dma_dirty(void *buf, uint64_t iova, uint64_t size, uint64_t pgsize, uint64_t bytes, uint64_t *bitmap) {
    struct vfio_iommu_type1_dma_unmap *u = buf;
    struct vfio_bitmap *b = (void *)u->data;
    size_t sz = sizeof(*u) + sizeof(*b);
    memset(buf, 0, sz);
    u->argsz = (uint32_t)sz;
    u->flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
    u->iova = iova;
    u->size = size;
    b->pgsize = pgsize;
    b->size = bytes;
    b->data = (__u64 *)bitmap;
    return sz;
}

size_t golden_dirty_pages_get(void *buf, uint64_t iova, uint64_t size, uint64_t pgsize, uint64_t bytes, uint64_t *bitmap) {
    struct vfio_iommu_type1_dirty_bitmap *d = buf;
    struct vfio_iommu_type1_dirty_bitmap_get *g = (void *)d->data;
    size_t sz = sizeof(*d) + sizeof(*g);
    memset(buf, 0, sz);
    d->argsz = (uint32_t)sz;
    d->flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
    g->iova = iova;
    g->size = size;
    g->bitmap.pgsize = pgsize;
    g->bitmap.size = bytes;
    g->bitmap.data = (__u64 *)bitmap;
    return sz;
}

/* pasid < 0: the whole-device form, whose argsz ends before the pasid field. */
size_t golden_attach_pt(void *buf, uint32_t pt, int64_t pasid) {
    struct vfio_device_attach_iommufd_pt *a = buf;
    memset(a, 0, sizeof(*a));
    a->argsz = pasid < 0 ? offsetof(struct vfio_device_attach_iommufd_pt, pasid) : sizeof(*a);
    a->pt_id = pt;
    if (pasid >= 0) {
        a->flags = VFIO_DEVICE_ATTACH_PASID;
        a->pasid = (uint32_t)pasid;
    }
    return a->argsz;
}

size_t golden_detach_pt(void *buf, int64_t pasid) {
    struct vfio_device_detach_iommufd_pt *d = buf;
    memset(d, 0, sizeof(*d));
    d->argsz = pasid < 0 ? offsetof(struct vfio_device_detach_iommufd_pt, pasid) : sizeof(*d);
    if (pasid >= 0) {
        d->flags = VFIO_DEVICE_DETACH_PASID;
        d->pasid = (uint32_t)pasid;
    }
    return d->argsz;
}

size_t golden_hwpt_get_dirty_bitmap(void *buf, uint32_t hwpt, uint64_t iova, uint64_t length, uint64_t page_size,
                                    uint64_t *bitmap) {
    struct iommu_hwpt_get_dirty_bitmap *g = buf;
    memset(g, 0, sizeof(*g));
    g->size = sizeof(*g);
    g->hwpt_id = hwpt;
    g->flags = IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR;
    g->iova = iova;
    g->length = length;
    g->page_size = page_size;
    g->data = (uintptr_t)bitmap;
    return sizeof(*g);
}

size_t golden_get_hw_info_vtd(void *buf, uint32_t dev, struct iommu_hw_info_vtd *vtd) {
    struct iommu_hw_info *h = buf;
    memset(h, 0, sizeof(*h));
    h->size = sizeof(*h);
    h->dev_id = dev;
    h->data_len = sizeof(*vtd);
    h->data_uptr = (uintptr_t)vtd;
    return sizeof(*h);
}

size_t golden_group_get_device_fd(void *buf, const char *name) {
    size_t n = strlen(name) + 1;
    memcpy(buf, name, n);
    return n;
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

struct v7_pasid_request { uint32_t argsz; uint32_t flags; struct { uint32_t min, max; } range; };
#define V7_FLAG_ALLOC_PASID (1u << 0)
#define V7_FLAG_FREE_PASID (1u << 1)

size_t golden_v7_pasid_request(void *buf, int alloc, uint32_t min, uint32_t max) {
    struct v7_pasid_request *r = buf;
    memset(r, 0, sizeof(*r));
    r->argsz = sizeof(*r);
    r->flags = alloc ? V7_FLAG_ALLOC_PASID : V7_FLAG_FREE_PASID;
    r->range.min = min;
    r->range.max = max;
    return sizeof(*r);
}
