/* Golden images, part 2: one function per remaining builder of wire/requests.hpp, each filling the kernel's own
 * struct (7.3 uapi headers) the way a C VMM would; plus the kernel's ioctl codes by name, so the C++ side can
 * compare every builder's code (and a value ioctl's integer argument) with the kernel's macro. */
#include <linux/vfio.h>
#include <linux/iommufd.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- ioctl codes: the kernel's macros, by name; the proposal's restated (SEED-UAPI.md sections 1, 2) ---- */
struct golden_code { const char *abi; const char *name; unsigned long code; };
#define GC(M) {"mainline", #M, (unsigned long)(M)}
static const struct golden_code codes[] = {
    GC(VFIO_GET_API_VERSION), GC(VFIO_CHECK_EXTENSION), GC(VFIO_SET_IOMMU), GC(VFIO_IOMMU_ENABLE),
    GC(VFIO_IOMMU_DISABLE), GC(VFIO_IOMMU_GET_INFO), GC(VFIO_IOMMU_MAP_DMA), GC(VFIO_IOMMU_UNMAP_DMA),
    GC(VFIO_IOMMU_DIRTY_PAGES), GC(VFIO_GROUP_GET_STATUS), GC(VFIO_GROUP_SET_CONTAINER),
    GC(VFIO_GROUP_UNSET_CONTAINER), GC(VFIO_GROUP_GET_DEVICE_FD), GC(VFIO_DEVICE_GET_INFO),
    GC(VFIO_DEVICE_GET_REGION_INFO), GC(VFIO_DEVICE_GET_IRQ_INFO), GC(VFIO_DEVICE_SET_IRQS), GC(VFIO_DEVICE_RESET),
    GC(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO), GC(VFIO_DEVICE_PCI_HOT_RESET), GC(VFIO_DEVICE_QUERY_GFX_PLANE),
    GC(VFIO_DEVICE_GET_GFX_DMABUF), GC(VFIO_DEVICE_IOEVENTFD), GC(VFIO_DEVICE_FEATURE), GC(VFIO_DEVICE_BIND_IOMMUFD),
    GC(VFIO_DEVICE_ATTACH_IOMMUFD_PT), GC(VFIO_DEVICE_DETACH_IOMMUFD_PT), GC(VFIO_MIG_GET_PRECOPY_INFO),
    GC(IOMMU_DESTROY), GC(IOMMU_IOAS_ALLOC), GC(IOMMU_IOAS_ALLOW_IOVAS), GC(IOMMU_IOAS_COPY), GC(IOMMU_IOAS_IOVA_RANGES),
    GC(IOMMU_IOAS_MAP), GC(IOMMU_IOAS_UNMAP), GC(IOMMU_OPTION), GC(IOMMU_VFIO_IOAS), GC(IOMMU_HWPT_ALLOC),
    GC(IOMMU_GET_HW_INFO), GC(IOMMU_HWPT_SET_DIRTY_TRACKING), GC(IOMMU_HWPT_GET_DIRTY_BITMAP), GC(IOMMU_HWPT_INVALIDATE),
    GC(IOMMU_FAULT_QUEUE_ALLOC), GC(IOMMU_IOAS_MAP_FILE), GC(IOMMU_VIOMMU_ALLOC), GC(IOMMU_VDEVICE_ALLOC),
    GC(IOMMU_IOAS_CHANGE_PROCESS), GC(IOMMU_VEVENTQ_ALLOC), GC(IOMMU_HW_QUEUE_ALLOC), GC(IOMMU_IOAS_NOIOMMU_GET_PA),
    /* The proposal: seed #22/#23, v7 BASE+18/+19, all _IO(VFIO_TYPE, VFIO_BASE + n). */
    {"seed", "VFIO_IOMMU_PASID_REQUEST", (unsigned long)_IO(VFIO_TYPE, VFIO_BASE + 22)},
    {"seed", "VFIO_IOMMU_NESTING_OP", (unsigned long)_IO(VFIO_TYPE, VFIO_BASE + 23)},
    {"v7", "VFIO_IOMMU_PASID_REQUEST", (unsigned long)_IO(VFIO_TYPE, VFIO_BASE + 18)},
    {"v7", "VFIO_IOMMU_NESTING_OP", (unsigned long)_IO(VFIO_TYPE, VFIO_BASE + 19)},
};
#undef GC

/* The code of ioctl `name` of `abi` ("mainline", "seed", "v7"), or 0 when the C side does not know it. */
unsigned long golden_code_of(const char *abi, const char *name, size_t name_len) {
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; ++i)
        if (strcmp(codes[i].abi, abi) == 0 && strlen(codes[i].name) == name_len && memcmp(codes[i].name, name, name_len) == 0)
            return codes[i].code;
    return 0;
}

/* ---- value / no-argument ioctls: what a C VMM passes as the third ioctl() argument ---- */
unsigned long golden_arg_check_extension_type1v2(void) { return VFIO_TYPE1v2_IOMMU; }
unsigned long golden_arg_set_iommu_type1v2(void) { return VFIO_TYPE1v2_IOMMU; }
unsigned long golden_arg_none(void) { return 0; }

/* ---- vfio container ---- */
size_t golden_iommu_get_info(void *buf) {
    struct vfio_iommu_type1_info *i = buf;
    memset(i, 0, sizeof(*i));
    i->argsz = sizeof(*i);
    return sizeof(*i);
}

/* flags: 0 (plain), VFIO_DMA_UNMAP_FLAG_ALL (iova = size = 0) or VFIO_DMA_UNMAP_FLAG_VADDR. */
size_t golden_unmap_dma(void *buf, uint32_t flags, uint64_t iova, uint64_t size) {
    struct vfio_iommu_type1_dma_unmap *u = buf;
    memset(u, 0, sizeof(*u));
    u->argsz = sizeof(*u);
    u->flags = flags;
    u->iova = iova;
    u->size = size;
    return sizeof(*u);
}

size_t golden_dirty_pages(void *buf, uint32_t flags) {
    struct vfio_iommu_type1_dirty_bitmap *d = buf;
    memset(d, 0, sizeof(*d));
    d->argsz = sizeof(*d);
    d->flags = flags;
    return sizeof(*d);
}
uint32_t golden_dirty_pages_start_flag(void) { return VFIO_IOMMU_DIRTY_PAGES_FLAG_START; }
uint32_t golden_dirty_pages_stop_flag(void) { return VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP; }
uint32_t golden_unmap_all_flag(void) { return VFIO_DMA_UNMAP_FLAG_ALL; }
uint32_t golden_unmap_vaddr_flag(void) { return VFIO_DMA_UNMAP_FLAG_VADDR; }

/* ---- vfio group ---- */
size_t golden_group_get_status(void *buf) {
    struct vfio_group_status *s = buf;
    memset(s, 0, sizeof(*s));
    s->argsz = sizeof(*s);
    return sizeof(*s);
}

/* VFIO_GROUP_SET_CONTAINER reads an int through the pointer: `ioctl(group, VFIO_GROUP_SET_CONTAINER, &container)`. */
size_t golden_group_set_container(void *buf, int container) {
    memcpy(buf, &container, sizeof container);
    return sizeof container;
}

/* ---- vfio device ---- */
size_t golden_device_get_info(void *buf) {
    struct vfio_device_info *i = buf;
    memset(i, 0, sizeof(*i));
    i->argsz = sizeof(*i);
    return sizeof(*i);
}

size_t golden_device_get_region_info(void *buf, uint32_t index) {
    struct vfio_region_info *r = buf;
    memset(r, 0, sizeof(*r));
    r->argsz = sizeof(*r);
    r->index = index;
    return sizeof(*r);
}

size_t golden_device_get_irq_info(void *buf, uint32_t index) {
    struct vfio_irq_info *r = buf;
    memset(r, 0, sizeof(*r));
    r->argsz = sizeof(*r);
    r->index = index;
    return sizeof(*r);
}

size_t golden_set_irqs_unmask_none(void *buf, uint32_t index, uint32_t start, uint32_t count) {
    struct vfio_irq_set *s = buf;
    memset(s, 0, sizeof(*s));
    s->argsz = sizeof(*s);
    s->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK;
    s->index = index;
    s->start = start;
    s->count = count;
    return sizeof(*s);
}

/* Disables every vector of an index: DATA_NONE | ACTION_TRIGGER with start 0, count 0. */
size_t golden_set_irqs_disable(void *buf, uint32_t index) {
    struct vfio_irq_set *s = buf;
    memset(s, 0, sizeof(*s));
    s->argsz = sizeof(*s);
    s->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
    s->index = index;
    return sizeof(*s);
}

/* An unmask eventfd (INTx resampling): DATA_EVENTFD | ACTION_UNMASK. */
size_t golden_set_irqs_unmask_eventfds(void *buf, uint32_t index, uint32_t start, const int32_t *fds, uint32_t n) {
    struct vfio_irq_set *s = buf;
    size_t sz = sizeof(*s) + n * sizeof(int32_t);
    memset(buf, 0, sz);
    s->argsz = (uint32_t)sz;
    s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK;
    s->index = index;
    s->start = start;
    s->count = n;
    memcpy(s->data, fds, n * sizeof(int32_t));
    return sz;
}

size_t golden_set_irqs_mask_bools(void *buf, uint32_t index, uint32_t start, const uint8_t *bools, uint32_t n) {
    struct vfio_irq_set *s = buf;
    size_t sz = sizeof(*s) + n;
    memset(buf, 0, sz);
    s->argsz = (uint32_t)sz;
    s->flags = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_MASK;
    s->index = index;
    s->start = start;
    s->count = n;
    memcpy(s->data, bools, n);
    return sz;
}

/* Room for n dependent devices; argsz covers it all so the kernel can fill it. */
size_t golden_pci_hot_reset_info(void *buf, uint32_t n) {
    struct vfio_pci_hot_reset_info *h = buf;
    size_t sz = sizeof(*h) + n * sizeof(struct vfio_pci_dependent_device);
    memset(buf, 0, sz);
    h->argsz = (uint32_t)sz;
    return sz;
}

size_t golden_query_gfx_plane_dmabuf(void *buf, uint32_t drm_plane_type) {
    struct vfio_device_gfx_plane_info *p = buf;
    memset(p, 0, sizeof(*p));
    p->argsz = sizeof(*p);
    p->flags = VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_DMABUF;
    p->drm_plane_type = drm_plane_type;
    return sizeof(*p);
}

/* VFIO_DEVICE_GET_GFX_DMABUF reads the __u32 dmabuf_id through the pointer. */
size_t golden_get_gfx_dmabuf(void *buf, uint32_t dmabuf_id) {
    memcpy(buf, &dmabuf_id, sizeof dmabuf_id);
    return sizeof dmabuf_id;
}

/* bits: the write width, 8, 16, 32 or 64 (VFIO_DEVICE_IOEVENTFD_8 .. _64). */
size_t golden_ioeventfd(void *buf, unsigned bits, uint64_t offset, uint64_t data, int32_t fd) {
    struct vfio_device_ioeventfd *e = buf;
    memset(e, 0, sizeof(*e));
    e->argsz = sizeof(*e);
    e->flags = bits == 8 ? VFIO_DEVICE_IOEVENTFD_8 : bits == 16 ? VFIO_DEVICE_IOEVENTFD_16
             : bits == 32 ? VFIO_DEVICE_IOEVENTFD_32 : VFIO_DEVICE_IOEVENTFD_64;
    e->offset = offset;
    e->data = data;
    e->fd = fd;
    return sizeof(*e);
}

/* VFIO_DEVICE_FEATURE GET of a feature whose payload the kernel fills: the header and a zeroed payload of the
 * kernel's struct. which: 0 MIGRATION, 1 MIG_DATA_SIZE, 2 MIG_DEVICE_STATE. */
size_t golden_feature_get(void *buf, int which) {
    struct vfio_device_feature *f = buf;
    size_t n = which == 0 ? sizeof(struct vfio_device_feature_migration)
             : which == 1 ? sizeof(struct vfio_device_feature_mig_data_size)
                          : sizeof(struct vfio_device_feature_mig_state);
    size_t sz = sizeof(*f) + n;
    memset(buf, 0, sz);
    f->argsz = (uint32_t)sz;
    f->flags = VFIO_DEVICE_FEATURE_GET | (which == 0 ? VFIO_DEVICE_FEATURE_MIGRATION
                                         : which == 1 ? VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
                                                      : VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE);
    return sz;
}

/* PROBE of MIGRATION, which only GET supports: PROBE | GET. */
size_t golden_feature_probe_migration(void *buf) {
    struct vfio_device_feature *f = buf;
    memset(f, 0, sizeof(*f));
    f->argsz = sizeof(*f);
    f->flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION;
    return sizeof(*f);
}

/* SET of PCI_VF_TOKEN: the 16-byte UUID as the payload. */
size_t golden_feature_set_vf_token(void *buf, const uint8_t *uuid) {
    struct vfio_device_feature *f = buf;
    size_t sz = sizeof(*f) + 16;
    memset(buf, 0, sz);
    f->argsz = (uint32_t)sz;
    f->flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN;
    memcpy(f->data, uuid, 16);
    return sz;
}

/* SET of LOW_POWER_ENTRY: the feature number alone, no payload. */
size_t golden_feature_set_low_power_entry(void *buf) {
    struct vfio_device_feature *f = buf;
    memset(f, 0, sizeof(*f));
    f->argsz = sizeof(*f);
    f->flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
    return sizeof(*f);
}

size_t golden_feature_probe_low_power_exit(void *buf) {
    struct vfio_device_feature *f = buf;
    memset(f, 0, sizeof(*f));
    f->argsz = sizeof(*f);
    f->flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_EXIT;
    return sizeof(*f);
}

size_t golden_feature_set_bus_master(void *buf, uint32_t op) {
    struct vfio_device_feature *f = buf;
    struct vfio_device_feature_bus_master *b = (void *)f->data;
    size_t sz = sizeof(*f) + sizeof(*b);
    memset(buf, 0, sz);
    f->argsz = (uint32_t)sz;
    f->flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_BUS_MASTER;
    b->op = op;
    return sz;
}

/* token == NULL: the 6.6 form whose argsz ends before token_uuid_ptr. */
size_t golden_bind_iommufd(void *buf, int32_t iommufd, const uint8_t *token) {
    struct vfio_device_bind_iommufd *b = buf;
    memset(b, 0, sizeof(*b));
    b->argsz = token ? sizeof(*b) : offsetof(struct vfio_device_bind_iommufd, token_uuid_ptr);
    b->iommufd = iommufd;
    if (token) {
        b->flags = VFIO_DEVICE_BIND_FLAG_TOKEN;
        b->token_uuid_ptr = (uintptr_t)token;
    }
    return b->argsz;
}

size_t golden_mig_get_precopy_info(void *buf) {
    struct vfio_precopy_info *p = buf;
    memset(p, 0, sizeof(*p));
    p->argsz = sizeof(*p);
    return sizeof(*p);
}

/* ---- iommufd ---- */
size_t golden_destroy(void *buf, uint32_t id) {
    struct iommu_destroy *d = buf;
    memset(d, 0, sizeof(*d));
    d->size = sizeof(*d);
    d->id = id;
    return sizeof(*d);
}

size_t golden_ioas_alloc(void *buf) {
    struct iommu_ioas_alloc *a = buf;
    memset(a, 0, sizeof(*a));
    a->size = sizeof(*a);
    return sizeof(*a);
}

size_t golden_ioas_allow_iovas(void *buf, uint32_t ioas, const struct iommu_iova_range *r, uint32_t n) {
    struct iommu_ioas_allow_iovas *a = buf;
    memset(a, 0, sizeof(*a));
    a->size = sizeof(*a);
    a->ioas_id = ioas;
    a->num_iovas = n;
    a->allowed_iovas = (uintptr_t)r;
    return sizeof(*a);
}

/* Readable only; dst_iova == UINT64_MAX: let the kernel choose (no FIXED_IOVA). */
size_t golden_ioas_copy(void *buf, uint32_t dst, uint32_t src, uint64_t src_iova, uint64_t length, uint64_t dst_iova) {
    struct iommu_ioas_copy *c = buf;
    memset(c, 0, sizeof(*c));
    c->size = sizeof(*c);
    c->flags = IOMMU_IOAS_MAP_READABLE;
    if (dst_iova != UINT64_MAX) {
        c->flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
        c->dst_iova = dst_iova;
    }
    c->dst_ioas_id = dst;
    c->src_ioas_id = src;
    c->length = length;
    c->src_iova = src_iova;
    return sizeof(*c);
}

size_t golden_ioas_iova_ranges(void *buf, uint32_t ioas) {
    struct iommu_ioas_iova_ranges *r = buf;
    memset(r, 0, sizeof(*r));
    r->size = sizeof(*r);
    r->ioas_id = ioas;
    return sizeof(*r);
}

/* iova == UINT64_MAX: let the kernel choose (no FIXED_IOVA). Readable and writeable. */
size_t golden_ioas_map(void *buf, uint32_t ioas, uint64_t va, uint64_t length, uint64_t iova) {
    struct iommu_ioas_map *m = buf;
    memset(m, 0, sizeof(*m));
    m->size = sizeof(*m);
    m->flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
    if (iova != UINT64_MAX) {
        m->flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
        m->iova = iova;
    }
    m->ioas_id = ioas;
    m->user_va = va;
    m->length = length;
    return sizeof(*m);
}

/* Readable only; iova == UINT64_MAX: let the kernel choose (no FIXED_IOVA). */
size_t golden_ioas_map_file(void *buf, uint32_t ioas, int32_t fd, uint64_t start, uint64_t length, uint64_t iova) {
    struct iommu_ioas_map_file *m = buf;
    memset(m, 0, sizeof(*m));
    m->size = sizeof(*m);
    m->flags = IOMMU_IOAS_MAP_READABLE;
    if (iova != UINT64_MAX) {
        m->flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
        m->iova = iova;
    }
    m->ioas_id = ioas;
    m->fd = fd;
    m->start = start;
    m->length = length;
    return sizeof(*m);
}

size_t golden_ioas_unmap(void *buf, uint32_t ioas, uint64_t iova, uint64_t length) {
    struct iommu_ioas_unmap *u = buf;
    memset(u, 0, sizeof(*u));
    u->size = sizeof(*u);
    u->ioas_id = ioas;
    u->iova = iova;
    u->length = length;
    return sizeof(*u);
}

/* set != 0: IOMMU_OPTION_OP_SET of val on HUGE_PAGES; else OP_GET of RLIMIT_MODE. */
size_t golden_option(void *buf, int set, uint32_t object, uint64_t val) {
    struct iommu_option *o = buf;
    memset(o, 0, sizeof(*o));
    o->size = sizeof(*o);
    o->option_id = set ? IOMMU_OPTION_HUGE_PAGES : IOMMU_OPTION_RLIMIT_MODE;
    o->op = set ? IOMMU_OPTION_OP_SET : IOMMU_OPTION_OP_GET;
    o->object_id = object;
    o->val64 = set ? val : 0;
    return sizeof(*o);
}

/* op: 0 get, 1 set, 2 clear (the kernel's enum, used by name below). */
size_t golden_vfio_ioas(void *buf, int op, uint32_t ioas) {
    static const uint16_t ops[] = {IOMMU_VFIO_IOAS_GET, IOMMU_VFIO_IOAS_SET, IOMMU_VFIO_IOAS_CLEAR};
    struct iommu_vfio_ioas *v = buf;
    memset(v, 0, sizeof(*v));
    v->size = sizeof(*v);
    v->op = ops[op];
    v->ioas_id = op == 1 ? ioas : 0;
    return sizeof(*v);
}

size_t golden_hwpt_set_dirty_tracking(void *buf, uint32_t hwpt, int enable) {
    struct iommu_hwpt_set_dirty_tracking *d = buf;
    memset(d, 0, sizeof(*d));
    d->size = sizeof(*d);
    d->flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0;
    d->hwpt_id = hwpt;
    return sizeof(*d);
}

size_t golden_fault_queue_alloc(void *buf) {
    struct iommu_fault_alloc *f = buf;
    memset(f, 0, sizeof(*f));
    f->size = sizeof(*f);
    return sizeof(*f);
}

size_t golden_viommu_alloc_smmuv3(void *buf, uint32_t dev, uint32_t hwpt) {
    struct iommu_viommu_alloc *v = buf;
    memset(v, 0, sizeof(*v));
    v->size = sizeof(*v);
    v->type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3;
    v->dev_id = dev;
    v->hwpt_id = hwpt;
    return sizeof(*v);
}

size_t golden_viommu_alloc_tegra(void *buf, uint32_t dev, uint32_t hwpt, struct iommu_viommu_tegra241_cmdqv *data) {
    struct iommu_viommu_alloc *v = buf;
    memset(v, 0, sizeof(*v));
    v->size = sizeof(*v);
    v->type = IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV;
    v->dev_id = dev;
    v->hwpt_id = hwpt;
    v->data_len = sizeof(*data);
    v->data_uptr = (uintptr_t)data;
    return sizeof(*v);
}

size_t golden_vdevice_alloc(void *buf, uint32_t viommu, uint32_t dev, uint64_t virt) {
    struct iommu_vdevice_alloc *v = buf;
    memset(v, 0, sizeof(*v));
    v->size = sizeof(*v);
    v->viommu_id = viommu;
    v->dev_id = dev;
    v->virt_id = virt;
    return sizeof(*v);
}

size_t golden_ioas_change_process(void *buf) {
    struct iommu_ioas_change_process *c = buf;
    memset(c, 0, sizeof(*c));
    c->size = sizeof(*c);
    return sizeof(*c);
}

size_t golden_veventq_alloc_smmuv3(void *buf, uint32_t viommu, uint32_t depth) {
    struct iommu_veventq_alloc *q = buf;
    memset(q, 0, sizeof(*q));
    q->size = sizeof(*q);
    q->viommu_id = viommu;
    q->type = IOMMU_VEVENTQ_TYPE_ARM_SMMUV3;
    q->veventq_depth = depth;
    return sizeof(*q);
}

size_t golden_hw_queue_alloc_tegra(void *buf, uint32_t viommu, uint32_t index, uint64_t iova, uint64_t length) {
    struct iommu_hw_queue_alloc *q = buf;
    memset(q, 0, sizeof(*q));
    q->size = sizeof(*q);
    q->viommu_id = viommu;
    q->type = IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV;
    q->index = index;
    q->nesting_parent_iova = iova;
    q->length = length;
    return sizeof(*q);
}

size_t golden_ioas_noiommu_get_pa(void *buf, uint32_t ioas, uint64_t iova, uint64_t length) {
    struct iommu_ioas_noiommu_get_pa *p = buf;
    memset(p, 0, sizeof(*p));
    p->size = sizeof(*p);
    p->ioas_id = ioas;
    p->iova = iova;
    p->length = length;
    return sizeof(*p);
}

/* ---- the seed's VFIO_IOMMU_PASID_REQUEST, restated (SEED-UAPI.md section 1: 20 bytes, pasid field) ---- */
struct seed_pasid_request { uint32_t argsz; uint32_t flags; uint32_t pasid; struct { uint32_t min, max; } range; };
#define SEED_ALLOC_PASID (1u << 0)
#define SEED_FREE_PASID (1u << 1)

size_t golden_seed_pasid_alloc(void *buf, uint32_t min, uint32_t max) {
    struct seed_pasid_request *r = buf;
    memset(r, 0, sizeof(*r));
    r->argsz = sizeof(*r);
    r->flags = SEED_ALLOC_PASID;
    r->range.min = min;
    r->range.max = max;
    return sizeof(*r);
}

size_t golden_seed_pasid_free(void *buf, uint32_t pasid) {
    struct seed_pasid_request *r = buf;
    memset(r, 0, sizeof(*r));
    r->argsz = sizeof(*r);
    r->flags = SEED_FREE_PASID;
    r->pasid = pasid;
    return sizeof(*r);
}
