/* c_baseline_nesting.c - hand-written C for the host benchmarks: the 2020 proposal's (v7) VFIO_IOMMU_NESTING_OP
 * with a BIND_PGTBL payload, struct iommu_gpasid_bind_data from Linux 5.10's own <linux/iommu.h> (first on this
 * file's include path), behind the proposal's header restated (no kernel header has it; as in
 * tests/unit/golden/golden_nesting.c). The checks are the ones vfiopp's wire::nesting_op<abi::v7> makes for a bind:
 * the 5.10 generic bind checks and the VT-d driver's. */
#include "c_baseline.h"

#include <errno.h>
#include <linux/iommu.h>
#include <linux/version.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

_Static_assert(LINUX_VERSION_CODE >= KERNEL_VERSION(5, 10, 0) && LINUX_VERSION_CODE < KERNEL_VERSION(5, 11, 0),
               "c_baseline_nesting.c must see the 5.10 uapi headers");

/* the proposal (v7): the op in flags[15:0], data[] at 8 */
struct v7_nesting_op { uint32_t argsz; uint32_t flags; uint8_t data[]; };
#define V7_NESTING_OP_BIND_PGTBL 0u
#define VTD_PASID_MAX (1ull << 20)

long c_nesting_bind_v7(void *out, const void *bind) {
    struct iommu_gpasid_bind_data b;
    memcpy(&b, bind, sizeof b);
    b.argsz = sizeof b;
    b.version = IOMMU_GPASID_BIND_VERSION_1;
    /* iommu_check_bind_data() */
    if (b.format >= IOMMU_PASID_FORMAT_LAST) return -EINVAL;
    if (b.flags & ~(uint64_t)IOMMU_SVA_GPASID_VAL) return -EINVAL;
    for (size_t i = 0; i < sizeof b.padding; ++i)
        if (b.padding[i]) return -EINVAL;
    /* intel_svm_bind_gpasid() */
    if (b.format != IOMMU_PASID_FORMAT_INTEL_VTD) return -EINVAL;
    if (b.vendor.vtd.flags & ~(uint64_t)(IOMMU_SVA_VTD_GPASID_LAST - 1)) return -EINVAL;
    if (b.hpasid == 0 || b.hpasid >= VTD_PASID_MAX) return -EINVAL;
    struct v7_nesting_op *h = out;
    h->argsz = (uint32_t)(sizeof *h + sizeof b);
    h->flags = V7_NESTING_OP_BIND_PGTBL;
    memcpy(h->data, &b, sizeof b);
    return (long)h->argsz;
}
