/* Golden images, part 3: the 2020 proposal's VFIO_IOMMU_NESTING_OP, its payload built in C from Linux 5.10's own
 * <linux/iommu.h> (linux-libc-dev 5.10 from Debian 11, first on this file's include path: struct
 * iommu_gpasid_bind_data and struct iommu_cache_invalidate_info with the kernel's macros), behind the proposal's two
 * headers restated (SEED-UAPI.md section 4.1: the seed's op field with data[] at 12, v7's op in flags[15:0] with
 * data[] at 8; no kernel header has them). The C++ side passes the values only, never payload bytes. */
#include <linux/iommu.h>
#include <linux/version.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

_Static_assert(LINUX_VERSION_CODE >= KERNEL_VERSION(5, 10, 0) && LINUX_VERSION_CODE < KERNEL_VERSION(5, 11, 0),
               "golden_nesting.c must see the 5.10 uapi headers");

/* ---- the proposal, restated ---- */
struct seed_nesting_op { uint32_t argsz; uint32_t flags; uint32_t op; uint8_t data[]; };
struct v7_nesting_op { uint32_t argsz; uint32_t flags; uint8_t data[]; };
#define V7_NESTING_OP_MASK 0xffffu
/* The ops: the seed's #defines and v7's enum have the same values. */
#define NESTING_OP_BIND_PGTBL 0u
#define NESTING_OP_UNBIND_PGTBL 1u
#define NESTING_OP_CACHE_INVLD 2u

/* abi 0: seed, 1: v7. The payload is copied in (the seed's data[] at 12 is only 4-byte aligned). */
static size_t nesting_op(void *buf, int abi, uint32_t op, const void *payload, size_t len) {
    if (abi == 0) {
        struct seed_nesting_op h = {0};
        h.argsz = (uint32_t)(sizeof h + len);
        h.op = op;
        memset(buf, 0, sizeof h + len);
        memcpy(buf, &h, sizeof h);
        memcpy((char *)buf + offsetof(struct seed_nesting_op, data), payload, len);
        return sizeof h + len;
    }
    struct v7_nesting_op h = {0};
    h.argsz = (uint32_t)(sizeof h + len);
    h.flags = op & V7_NESTING_OP_MASK;
    memset(buf, 0, sizeof h + len);
    memcpy(buf, &h, sizeof h);
    memcpy((char *)buf + offsetof(struct v7_nesting_op, data), payload, len);
    return sizeof h + len;
}

/* BIND_PGTBL (unbind == 0) or UNBIND_PGTBL of a VT-d guest page table: the 5.10 struct iommu_gpasid_bind_data with
 * its own argsz and version, format INTEL_VTD, gpasid valid, the VT-d entry flags SRE | EAFE and the PAT/EMT given. */
size_t golden_nesting_bind(void *buf, int abi, int unbind, uint64_t gpgd, uint64_t hpasid, uint64_t gpasid,
                           uint32_t addr_width, uint32_t pat, uint32_t emt) {
    struct iommu_gpasid_bind_data b;
    memset(&b, 0, sizeof b);
    b.argsz = sizeof b;
    b.version = IOMMU_GPASID_BIND_VERSION_1;
    b.format = IOMMU_PASID_FORMAT_INTEL_VTD;
    b.addr_width = addr_width;
    b.flags = IOMMU_SVA_GPASID_VAL;
    b.gpgd = gpgd;
    b.hpasid = hpasid;
    b.gpasid = gpasid;
    b.vendor.vtd.flags = IOMMU_SVA_VTD_GPASID_SRE | IOMMU_SVA_VTD_GPASID_EAFE;
    b.vendor.vtd.pat = pat;
    b.vendor.vtd.emt = emt;
    return nesting_op(buf, abi, unbind ? NESTING_OP_UNBIND_PGTBL : NESTING_OP_BIND_PGTBL, &b, sizeof b);
}

/* CACHE_INVLD, address-selective: IOTLB and device IOTLB, nb granules of `granule` bytes from addr, tagged with pasid,
 * leaf entries only. */
size_t golden_nesting_inv_addr(void *buf, int abi, uint64_t pasid, uint64_t addr, uint64_t granule, uint64_t nb) {
    struct iommu_cache_invalidate_info i;
    memset(&i, 0, sizeof i);
    i.argsz = sizeof i;
    i.version = IOMMU_CACHE_INVALIDATE_INFO_VERSION_1;
    i.cache = IOMMU_CACHE_INV_TYPE_IOTLB | IOMMU_CACHE_INV_TYPE_DEV_IOTLB;
    i.granularity = IOMMU_INV_GRANU_ADDR;
    i.granu.addr_info.flags = IOMMU_INV_ADDR_FLAGS_PASID | IOMMU_INV_ADDR_FLAGS_LEAF;
    i.granu.addr_info.pasid = pasid;
    i.granu.addr_info.addr = addr;
    i.granu.addr_info.granule_size = granule;
    i.granu.addr_info.nb_granules = nb;
    return nesting_op(buf, abi, NESTING_OP_CACHE_INVLD, &i, sizeof i);
}

/* CACHE_INVLD, PASID-selective: IOTLB and PASID cache of pasid. The rest of the granu union stays zero. */
size_t golden_nesting_inv_pasid(void *buf, int abi, uint64_t pasid) {
    struct iommu_cache_invalidate_info i;
    memset(&i, 0, sizeof i);
    i.argsz = sizeof i;
    i.version = IOMMU_CACHE_INVALIDATE_INFO_VERSION_1;
    i.cache = IOMMU_CACHE_INV_TYPE_IOTLB | IOMMU_CACHE_INV_TYPE_PASID;
    i.granularity = IOMMU_INV_GRANU_PASID;
    i.granu.pasid_info.flags = IOMMU_INV_PASID_FLAGS_PASID;
    i.granu.pasid_info.pasid = pasid;
    return nesting_op(buf, abi, NESTING_OP_CACHE_INVLD, &i, sizeof i);
}

/* CACHE_INVLD, domain-selective: the whole IOTLB; no granu argument. */
size_t golden_nesting_inv_domain(void *buf, int abi) {
    struct iommu_cache_invalidate_info i;
    memset(&i, 0, sizeof i);
    i.argsz = sizeof i;
    i.version = IOMMU_CACHE_INVALIDATE_INFO_VERSION_1;
    i.cache = IOMMU_CACHE_INV_TYPE_IOTLB;
    i.granularity = IOMMU_INV_GRANU_DOMAIN;
    return nesting_op(buf, abi, NESTING_OP_CACHE_INVLD, &i, sizeof i);
}
