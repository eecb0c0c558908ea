/* Golden images: each function fills a buffer exactly as a C program using the kernel's own structs would.
 * Mainline: the real Linux 7.3 uapi headers. Seed/v7 PASID_REQUEST: a C restatement of the proposal's headers;
 * NESTING_OP: golden_nesting.c (its payloads from the 5.10 <linux/iommu.h>). Returns the image size. */
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
    if (n) memcpy(r->group_fds, fds, n * sizeof(int32_t));  /* fds may be NULL when n == 0 (memcpy's args are nonnull) */
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

/* IOMMU_HWPT_ALLOC with vendor data: type 1 VT-d S1, 2 ARM SMMUv3, 3 AMD guest (the kernel's data_type and
 * struct size); fault_id >= 0 sets FAULT_ID_VALID. */
size_t golden_hwpt_alloc_data(void *buf, uint32_t dev, uint32_t pt, int type, const void *data, int64_t fault_id) {
    struct iommu_hwpt_alloc *h = buf;
    memset(h, 0, sizeof(*h));
    h->size = sizeof(*h);
    h->dev_id = dev;
    h->pt_id = pt;
    switch (type) {
        case 1: h->data_type = IOMMU_HWPT_DATA_VTD_S1; h->data_len = sizeof(struct iommu_hwpt_vtd_s1); break;
        case 2: h->data_type = IOMMU_HWPT_DATA_ARM_SMMUV3; h->data_len = sizeof(struct iommu_hwpt_arm_smmuv3); break;
        default: h->data_type = IOMMU_HWPT_DATA_AMD_GUEST; h->data_len = sizeof(struct iommu_hwpt_amd_guest); break;
    }
    h->data_uptr = (uintptr_t)data;
    if (fault_id >= 0) {
        h->flags = IOMMU_HWPT_FAULT_ID_VALID;
        h->fault_id = (uint32_t)fault_id;
    }
    return sizeof(*h);
}

/* IOMMU_HWPT_ALLOC of a kernel-managed HWPT from an IOAS (data_type NONE): the allocation flags named by the
 * booleans; fault_id >= 0 sets FAULT_ID_VALID. */
size_t golden_hwpt_alloc_ioas(void *buf, uint32_t dev, uint32_t ioas, int nest_parent, int dirty_tracking, int pasid,
                              int64_t fault_id) {
    struct iommu_hwpt_alloc *h = buf;
    memset(h, 0, sizeof(*h));
    h->size = sizeof(*h);
    h->dev_id = dev;
    h->pt_id = ioas;
    h->data_type = IOMMU_HWPT_DATA_NONE;
    if (nest_parent) h->flags |= IOMMU_HWPT_ALLOC_NEST_PARENT;
    if (dirty_tracking) h->flags |= IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
    if (pasid) h->flags |= IOMMU_HWPT_ALLOC_PASID;
    if (fault_id >= 0) {
        h->flags |= IOMMU_HWPT_FAULT_ID_VALID;
        h->fault_id = (uint32_t)fault_id;
    }
    return sizeof(*h);
}

/* IOMMU_HWPT_INVALIDATE: type 0 VT-d S1 entries (of a nested HWPT), 1 ARM SMMUv3 commands (of a vIOMMU). */
size_t golden_hwpt_invalidate(void *buf, uint32_t hwpt, int type, const void *e, uint32_t n) {
    struct iommu_hwpt_invalidate *h = buf;
    memset(h, 0, sizeof(*h));
    h->size = sizeof(*h);
    h->hwpt_id = hwpt;
    h->data_uptr = (uintptr_t)e;
    if (type == 0) {
        h->data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1;
        h->entry_len = sizeof(struct iommu_hwpt_vtd_s1_invalidate);
    } else {
        h->data_type = IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3;
        h->entry_len = sizeof(struct iommu_viommu_arm_smmuv3_invalidate);
    }
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
                                    uint64_t *bitmap, int no_clear) {
    struct iommu_hwpt_get_dirty_bitmap *g = buf;
    memset(g, 0, sizeof(*g));
    g->size = sizeof(*g);
    g->hwpt_id = hwpt;
    g->flags = no_clear ? IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR : 0;
    g->iova = iova;
    g->length = length;
    g->page_size = page_size;
    g->data = (uintptr_t)bitmap;
    return sizeof(*g);
}

/* IOMMU_GET_HW_INFO: type 0 no data (data_len 0: probe), 1 VT-d, 2 ARM SMMUv3, 3 Tegra241 CMDQV, 4 AMD (the kernel's
 * struct size at data); ask_type sets FLAG_INPUT_TYPE with in_data_type = that type. */
size_t golden_get_hw_info(void *buf, uint32_t dev, int type, void *data, int ask_type) {
    static const uint32_t types[] = {IOMMU_HW_INFO_TYPE_DEFAULT, IOMMU_HW_INFO_TYPE_INTEL_VTD, IOMMU_HW_INFO_TYPE_ARM_SMMUV3,
                                     IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV, IOMMU_HW_INFO_TYPE_AMD};
    static const uint32_t sizes[] = {0, sizeof(struct iommu_hw_info_vtd), sizeof(struct iommu_hw_info_arm_smmuv3),
                                     sizeof(struct iommu_hw_info_tegra241_cmdqv), sizeof(struct iommu_hw_info_amd)};
    struct iommu_hw_info *h = buf;
    memset(h, 0, sizeof(*h));
    h->size = sizeof(*h);
    h->dev_id = dev;
    h->data_len = sizes[type];
    h->data_uptr = (uintptr_t)data;
    if (ask_type) {
        h->flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE;
        h->in_data_type = types[type];
    }
    return sizeof(*h);
}

size_t golden_group_get_device_fd(void *buf, const char *name) {
    size_t n = strlen(name) + 1;
    memcpy(buf, name, n);
    return n;
}

/* ---- the 2020 proposal, restated: v7 VFIO_IOMMU_PASID_REQUEST (SEED-UAPI.md section 2) ---- */
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
