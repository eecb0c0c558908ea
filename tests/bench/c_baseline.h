/* c_baseline.h - the hand-written C the host benchmarks (builders_bench.cpp, caps_bench.cpp) measure the library
 * against. Compiled as C (-O2): c_baseline.c fills the kernel's own structs from the Linux 7.3 uapi headers,
 * c_baseline_nesting.c the 2020 proposal's NESTING_OP with Linux 5.10's struct iommu_gpasid_bind_data. Each function
 * makes the checks the library's builder or capability-chain view makes (same errno), and nothing more.
 *
 * Builders write the image into `out` (8-aligned, at least the image's size) and return its size in bytes, or
 * -errno when the request is refused (nothing useful is in `out` then). The walkers return 0 with the sum in *sum,
 * or -errno (a malformed chain yields nothing: *sum is left alone).
 *
 * This header uses plain C types only, so the C++ side needs no kernel header. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* VFIO_IOMMU_MAP_DMA: size 0 -> -EINVAL; iova + size or vaddr + size wrapping past 2^64 -> -EOVERFLOW. */
long c_map_dma(void *out, uint64_t vaddr, uint64_t iova, uint64_t size, uint32_t flags);

/* The proposal's (v7) VFIO_IOMMU_NESTING_OP with BIND_PGTBL: `bind` is a struct iommu_gpasid_bind_data (5.10, 72
 * bytes) whose argsz and version are overwritten; the generic and VT-d bind checks -> -EINVAL. `out` holds 80 bytes. */
long c_nesting_bind_v7(void *out, const void *bind);

/* IOMMU_HWPT_INVALIDATE of n struct iommu_hwpt_vtd_s1_invalidate entries (pointed to, not copied): n or
 * n * entry size not fitting a u32 -> -EOVERFLOW. */
long c_hwpt_invalidate_vtd(void *out, uint32_t hwpt_id, const void *entries, size_t n);

/* VFIO_DEVICE_SET_IRQS, DATA_EVENTFD | ACTION_TRIGGER, with n eventfds in a buffer of `capacity` bytes: n or
 * start + n not fitting a u32 -> -EOVERFLOW; more than fit -> -E2BIG; an fd < -1 -> -EINVAL. */
long c_set_irqs_eventfds(void *out, size_t capacity, uint32_t index, uint32_t start, const int32_t *fds, size_t n);

/* VFIO_IOMMU_GET_INFO reply of `size` bytes: walks its capability chain with the checks of vfiopp's
 * wire::iommu_info_chain (bounds, 4-byte alignment, offsets strictly growing past the previous capability's fixed
 * part, arrays inside their capability) and sums every value of IOVA_RANGE (start + end of each range), MIGRATION
 * (flags, pgsize_bitmap, max_dirty_bitmap_size) and DMA_AVAIL (avail). */
int c_walk_iommu_info(const void *reply, size_t size, uint64_t *sum);

/* VFIO_DEVICE_GET_REGION_INFO reply: the same checks; sums offset + size of every SPARSE_MMAP area (the first
 * SPARSE_MMAP capability's). */
int c_walk_region_info(const void *reply, size_t size, uint64_t *sum);

#ifdef __cplusplus
}
#endif
