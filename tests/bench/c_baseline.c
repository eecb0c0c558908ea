/* c_baseline.c - hand-written C for the host benchmarks: requests and capability-chain walks on the kernel's own
 * structs (Linux 7.3 uapi headers, first on this file's include path), with the same checks as vfiopp's builders
 * and capability views (see c_baseline.h). The NESTING_OP bind is in c_baseline_nesting.c (5.10 headers). */
#include "c_baseline.h"

#include <errno.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <linux/version.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

_Static_assert(LINUX_VERSION_CODE >= KERNEL_VERSION(7, 3, 0), "c_baseline.c must see the 7.3 uapi headers");

/* ---- requests ----
 * Written straight into the caller's buffer through the kernel struct (as kernel selftests and QEMU do). */

long c_map_dma(void *out, uint64_t vaddr, uint64_t iova, uint64_t size, uint32_t flags) {
    if (size == 0) return -EINVAL;
    if (iova + (size - 1) < iova) return -EOVERFLOW;   /* [iova, iova + size) wraps past 2^64 */
    if (vaddr + (size - 1) < vaddr) return -EOVERFLOW;
    struct vfio_iommu_type1_dma_map *m = out;
    m->argsz = sizeof *m;
    m->flags = flags;
    m->vaddr = vaddr;
    m->iova = iova;
    m->size = size;
    return (long)sizeof *m;
}

long c_hwpt_invalidate_vtd(void *out, uint32_t hwpt_id, const void *entries, size_t n) {
    if (n > UINT32_MAX) return -EOVERFLOW;
    if (n > UINT32_MAX / sizeof(struct iommu_hwpt_vtd_s1_invalidate)) return -EOVERFLOW;
    struct iommu_hwpt_invalidate *h = out;
    h->size = sizeof *h;
    h->hwpt_id = hwpt_id;
    h->data_uptr = n ? (uint64_t)(uintptr_t)entries : 0;
    h->data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1;
    h->entry_len = sizeof(struct iommu_hwpt_vtd_s1_invalidate);
    h->entry_num = (uint32_t)n;
    h->__reserved = 0;
    return (long)sizeof *h;
}

long c_set_irqs_eventfds(void *out, size_t capacity, uint32_t index, uint32_t start, const int32_t *fds, size_t n) {
    if (n > UINT32_MAX) return -EOVERFLOW;
    if (start > UINT32_MAX - (uint32_t)n) return -EOVERFLOW;  /* start + count must fit the u32 */
    if (capacity < sizeof(struct vfio_irq_set) || n > (capacity - sizeof(struct vfio_irq_set)) / sizeof(int32_t))
        return -E2BIG;
    for (size_t i = 0; i < n; ++i)
        if (fds[i] < -1) return -EINVAL;
    struct vfio_irq_set *h = out;
    h->argsz = (uint32_t)(sizeof *h + n * sizeof(int32_t));
    h->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    h->index = index;
    h->start = start;
    h->count = (uint32_t)n;
    memcpy(h->data, fds, n * sizeof(int32_t));
    return (long)h->argsz;
}

/* ---- capability chains ----
 * One pass: each capability is checked and read before the next; the sum is handed out only when the whole chain
 * is valid. Capabilities are copied out with memcpy (before 6.5 they are only 4-byte aligned). */

/* The fixed part of a capability (what must fit before the next one starts). */
static size_t iommu_cap_fixed(uint16_t id) {
    switch (id) {
        case VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: return sizeof(struct vfio_iommu_type1_info_cap_iova_range);
        case VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION: return sizeof(struct vfio_iommu_type1_info_cap_migration);
        case VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: return sizeof(struct vfio_iommu_type1_info_dma_avail);
        default: return sizeof(struct vfio_info_cap_header);
    }
}

static size_t region_cap_fixed(uint16_t id) {
    switch (id) {
        case VFIO_REGION_INFO_CAP_SPARSE_MMAP: return sizeof(struct vfio_region_info_cap_sparse_mmap);
        case VFIO_REGION_INFO_CAP_TYPE: return sizeof(struct vfio_region_info_cap_type);
        case VFIO_REGION_INFO_CAP_MSIX_MAPPABLE: return sizeof(struct vfio_info_cap_header);
        default: return sizeof(struct vfio_info_cap_header);
    }
}

/* Checks the capability at `off` (readable reply length `len`; `min` = first offset it may start at; `prev` = the
 * previous capability's offset, 0 for the first) and finds where it ends (`*end`: the next capability or the end of
 * the reply). Returns 0 or -errno. */
static int cap_at(const unsigned char *p, size_t len, size_t off, size_t min, size_t prev, bool first,
                  size_t (*fixed_of)(uint16_t), struct vfio_info_cap_header *hdr, size_t *fixed, size_t *end) {
    if (!first && off <= prev) return -EINVAL;   /* loop or backwards */
    if (off < min) return -EINVAL;               /* overlaps the reply struct or the previous capability */
    if (off % 4 != 0) return -EINVAL;
    if (off > len || len - off < sizeof *hdr) return -EOVERFLOW;
    memcpy(hdr, p + off, sizeof *hdr);
    *fixed = fixed_of(hdr->id);
    *end = len;
    if (hdr->next != 0 && hdr->next > off) {
        if (hdr->next - off < *fixed) return -EINVAL;
        if (hdr->next < len) *end = hdr->next;
    }
    if (*fixed > *end - off) return -EOVERFLOW;
    return 0;
}

/* count elements of elem bytes at off must end at or before end. */
static int array_fits(size_t off, uint32_t count, size_t elem, size_t end) {
    size_t bytes;
    if (__builtin_mul_overflow((size_t)count, elem, &bytes)) return -EOVERFLOW;
    if (off > end || bytes > end - off) return -EOVERFLOW;
    return 0;
}

int c_walk_iommu_info(const void *reply, size_t size, uint64_t *sum) {
    const unsigned char *p = reply;
    struct vfio_iommu_type1_info info;
    if (size < sizeof info) return -EINVAL;
    memcpy(&info, p, sizeof info);
    const size_t len = info.argsz < size ? info.argsz : size;
    if (!(info.flags & VFIO_IOMMU_INFO_CAPS) || info.cap_offset == 0) {
        *sum = 0;
        return 0;
    }
    uint64_t s = 0;
    size_t off = info.cap_offset, min = sizeof info, prev = 0;
    for (bool first = true;; first = false) {
        struct vfio_info_cap_header h;
        size_t fixed, end;
        int rc = cap_at(p, len, off, min, prev, first, iommu_cap_fixed, &h, &fixed, &end);
        if (rc) return rc;
        switch (h.id) {
            case VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: {
                struct vfio_iommu_type1_info_cap_iova_range c;
                memcpy(&c, p + off, sizeof c);
                if ((rc = array_fits(off + sizeof c, c.nr_iovas, sizeof(struct vfio_iova_range), end))) return rc;
                for (uint32_t i = 0; i < c.nr_iovas; ++i) {
                    struct vfio_iova_range r;
                    memcpy(&r, p + off + sizeof c + i * sizeof r, sizeof r);
                    s += r.start + r.end;
                }
                break;
            }
            case VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION: {
                struct vfio_iommu_type1_info_cap_migration c;
                memcpy(&c, p + off, sizeof c);
                s += c.flags + c.pgsize_bitmap + c.max_dirty_bitmap_size;
                break;
            }
            case VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: {
                struct vfio_iommu_type1_info_dma_avail c;
                memcpy(&c, p + off, sizeof c);
                s += c.avail;
                break;
            }
            default: break;
        }
        if (h.next == 0) break;
        prev = off;
        min = off + fixed;
        off = h.next;
    }
    *sum = s;
    return 0;
}

int c_walk_region_info(const void *reply, size_t size, uint64_t *sum) {
    const unsigned char *p = reply;
    struct vfio_region_info info;
    if (size < sizeof info) return -EINVAL;
    memcpy(&info, p, sizeof info);
    const size_t len = info.argsz < size ? info.argsz : size;
    if (!(info.flags & VFIO_REGION_INFO_FLAG_CAPS) || info.cap_offset == 0) {
        *sum = 0;
        return 0;
    }
    uint64_t s = 0;
    bool found = false;
    size_t off = info.cap_offset, min = sizeof info, prev = 0;
    for (bool first = true;; first = false) {
        struct vfio_info_cap_header h;
        size_t fixed, end;
        int rc = cap_at(p, len, off, min, prev, first, region_cap_fixed, &h, &fixed, &end);
        if (rc) return rc;
        if (h.id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
            struct vfio_region_info_cap_sparse_mmap c;
            memcpy(&c, p + off, sizeof c);
            if ((rc = array_fits(off + sizeof c, c.nr_areas, sizeof(struct vfio_region_sparse_mmap_area), end)))
                return rc;
            if (!found) {
                for (uint32_t i = 0; i < c.nr_areas; ++i) {
                    struct vfio_region_sparse_mmap_area a;
                    memcpy(&a, p + off + sizeof c + i * sizeof a, sizeof a);
                    s += a.offset + a.size;
                }
                found = true;
            }
        }
        if (h.next == 0) break;
        prev = off;
        min = off + fixed;
        off = h.next;
    }
    *sum = s;
    return 0;
}
