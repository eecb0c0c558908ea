// vfiopp/uapi/iommu.hpp - layout mirror of <linux/iommu.h> in its 5.10 form (the payloads of the 2020 proposal).
//
// include/uapi/linux/iommu.h existed from 5.8 to about 6.7. Its gpasid-bind and cache-invalidate parts were the
// payloads of the never-merged VFIO_IOMMU_NESTING_OP (vfio_nesting.hpp); they are mirrored here as they were in
// 5.10, after Jacob Pan's "IOMMU user API enhancement" gave every payload its own leading `argsz` (the 5.8 form,
// without argsz, is not mirrored). They were removed again around 5.15, so neither the system's 6.1 headers nor 7.3's
// have them: their SINCE is `never`, their layout proof is the static asserts below, and the 5.10 cross-check
// (tests/unit/kernel_xcheck_510.cpp, against Debian 11's linux-libc-dev, downloaded by tools/setup-debian.sh)
// compares every struct, field and constant with the real 5.10 <linux/iommu.h>.
//
// The fault and page-response definitions stayed until the uapi header was dropped (≈6.7): they are identical in
// 5.10 and in the system's 6.1 <linux/iommu.h>, so they are marked `until6_7` and the 6.1 cross-check compares them.
//
// Conventions as in vfio.hpp: kernel struct names, bitmask<...> flags, std::array for C arrays, anonymous unions
// given a name (listed with F##_AS). Enum families keep an `iommu_` prefix so that they cannot collide with the
// iommufd.h families (iommufd has its own fault and page-response types).
#pragma once

#include <vfiopp/uapi/enums.hpp>
#include <vfiopp/uapi/ioctl.hpp>
#include <vfiopp/uapi/layout.hpp>

#include <array>

namespace vfiopp::uapi {

// X(name, KERNEL_MACRO, value, since)
#define VFIOPP_CONSTANTS_iommu(X)                                                                     \
    X(iommu_page_resp_version_1, IOMMU_PAGE_RESP_VERSION_1, u32{1}, until6_7)                         \
    X(iommu_cache_invalidate_info_version_1, IOMMU_CACHE_INVALIDATE_INFO_VERSION_1, u32{1}, never)    \
    X(iommu_cache_inv_type_nr, IOMMU_CACHE_INV_TYPE_NR, u32{3}, never)                                \
    X(iommu_inv_granu_nr, IOMMU_INV_GRANU_NR, u32{3}, never)                                          \
    X(iommu_gpasid_bind_version_1, IOMMU_GPASID_BIND_VERSION_1, u32{1}, never)                        \
    X(iommu_pasid_format_last, IOMMU_PASID_FORMAT_LAST, u32{2}, never)                                \
    X(iommu_sva_vtd_gpasid_last, IOMMU_SVA_VTD_GPASID_LAST, u64{1} << 6, never)
VFIOPP_CONSTANTS(VFIOPP_CONSTANTS_iommu)
// IOMMU_INV_GRANU_NR is the last enumerator of the kernel's enum iommu_inv_granularity and
// IOMMU_SVA_VTD_GPASID_LAST the first VT-d flag bit that is *not* valid (the kernel rejects
// `flags & ~(LAST - 1)`); both are bounds, not values, so they are constants rather than enumerators.

// ---- faults (identical in 5.10 and 6.1) ----
#define VFIOPP_ENUM_iommu_fault_perm(X)                    \
    X(read, IOMMU_FAULT_PERM_READ, 1u << 0, until6_7)      \
    X(write, IOMMU_FAULT_PERM_WRITE, 1u << 1, until6_7)    \
    X(exec, IOMMU_FAULT_PERM_EXEC, 1u << 2, until6_7)      \
    X(priv, IOMMU_FAULT_PERM_PRIV, 1u << 3, until6_7)
VFIOPP_FLAGS(iommu_fault_perm, u32)

#define VFIOPP_ENUM_iommu_fault_type(X)                          \
    X(dma_unrecov, IOMMU_FAULT_DMA_UNRECOV, 1u, until6_7)        \
    X(page_req, IOMMU_FAULT_PAGE_REQ, 2u, until6_7)
VFIOPP_ENUM(iommu_fault_type, u32)

#define VFIOPP_ENUM_iommu_fault_reason(X)                                       \
    X(unknown, IOMMU_FAULT_REASON_UNKNOWN, 0u, until6_7)                        \
    X(pasid_fetch, IOMMU_FAULT_REASON_PASID_FETCH, 1u, until6_7)                \
    X(bad_pasid_entry, IOMMU_FAULT_REASON_BAD_PASID_ENTRY, 2u, until6_7)        \
    X(pasid_invalid, IOMMU_FAULT_REASON_PASID_INVALID, 3u, until6_7)            \
    X(walk_eabt, IOMMU_FAULT_REASON_WALK_EABT, 4u, until6_7)                    \
    X(pte_fetch, IOMMU_FAULT_REASON_PTE_FETCH, 5u, until6_7)                    \
    X(permission, IOMMU_FAULT_REASON_PERMISSION, 6u, until6_7)                  \
    X(access, IOMMU_FAULT_REASON_ACCESS, 7u, until6_7)                          \
    X(oor_address, IOMMU_FAULT_REASON_OOR_ADDRESS, 8u, until6_7)
VFIOPP_ENUM(iommu_fault_reason, u32)

#define VFIOPP_ENUM_iommu_fault_unrecov_flag(X)                                   \
    X(pasid_valid, IOMMU_FAULT_UNRECOV_PASID_VALID, 1u << 0, until6_7)            \
    X(addr_valid, IOMMU_FAULT_UNRECOV_ADDR_VALID, 1u << 1, until6_7)              \
    X(fetch_addr_valid, IOMMU_FAULT_UNRECOV_FETCH_ADDR_VALID, 1u << 2, until6_7)
VFIOPP_FLAGS(iommu_fault_unrecov_flag, u32)

/// An unrecoverable DMA fault (iommu_fault::payload.event when type == dma_unrecov).
struct iommu_fault_unrecoverable {
    iommu_fault_reason reason;
    bitmask<iommu_fault_unrecov_flag> flags;
    u32 pasid;
    bitmask<iommu_fault_perm> perm;
    u64 addr;
    u64 fetch_addr;
};
#define VFIOPP_FIELDS_iommu_fault_unrecoverable(F, T)                                                      \
    F(T, reason, 0) F(T, flags, 4) F(T, pasid, 8) F(T, perm, 12) F(T, addr, 16) F(T, fetch_addr, 24)

#define VFIOPP_ENUM_iommu_fault_page_request_flag(X)                                       \
    X(pasid_valid, IOMMU_FAULT_PAGE_REQUEST_PASID_VALID, 1u << 0, until6_7)                \
    X(last_page, IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE, 1u << 1, until6_7)                    \
    X(priv_data, IOMMU_FAULT_PAGE_REQUEST_PRIV_DATA, 1u << 2, until6_7)                    \
    X(response_needs_pasid, IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID, 1u << 3, until6_7)
VFIOPP_FLAGS(iommu_fault_page_request_flag, u32)

/// A page request (PRI/stall) fault (iommu_fault::payload.prm when type == page_req).
struct iommu_fault_page_request {
    bitmask<iommu_fault_page_request_flag> flags;
    u32 pasid;
    u32 grpid;
    bitmask<iommu_fault_perm> perm;
    u64 addr;
    std::array<u64, 2> private_data;
};
#define VFIOPP_FIELDS_iommu_fault_page_request(F, T)                                                       \
    F(T, flags, 0) F(T, pasid, 4) F(T, grpid, 8) F(T, perm, 12) F(T, addr, 16) F(T, private_data, 24)

/// The kernel's anonymous union of struct iommu_fault; padding2 fixes its size at 56 bytes.
union iommu_fault_payload {
    // bitmask members make the members' default constructors non-trivial, which would delete the union's
    // constructor; it initialises the largest member so that every byte of a value-initialised union is zero.
    constexpr iommu_fault_payload() : padding2{} {}
    iommu_fault_unrecoverable event;
    iommu_fault_page_request prm;
    std::array<u8, 56> padding2;
};

/// A fault record: `type` says which member of `payload` is valid.
struct iommu_fault {
    iommu_fault_type type;
    u32 padding;
    iommu_fault_payload payload;
};
#define VFIOPP_FIELDS_iommu_fault(F, T) F(T, type, 0) F(T, padding, 4) F##_AS(T, payload, 8, event)

#define VFIOPP_ENUM_iommu_page_response_code(X)                  \
    X(success, IOMMU_PAGE_RESP_SUCCESS, 0u, until6_7)            \
    X(invalid, IOMMU_PAGE_RESP_INVALID, 1u, until6_7)            \
    X(failure, IOMMU_PAGE_RESP_FAILURE, 2u, until6_7)
VFIOPP_ENUM(iommu_page_response_code, u32)

#define VFIOPP_ENUM_iommu_page_resp_flag(X) X(pasid_valid, IOMMU_PAGE_RESP_PASID_VALID, 1u << 0, until6_7)
VFIOPP_FLAGS(iommu_page_resp_flag, u32)

/// The answer to a page request (5.10 form with argsz, 24 bytes; 5.8 had no argsz and was 20 bytes).
struct iommu_page_response {
    u32 argsz;
    u32 version;  // iommu_page_resp_version_1
    bitmask<iommu_page_resp_flag> flags;
    u32 pasid;
    u32 grpid;
    iommu_page_response_code code;
};
#define VFIOPP_FIELDS_iommu_page_response(F, T)                                                            \
    F(T, argsz, 0) F(T, version, 4) F(T, flags, 8) F(T, pasid, 12) F(T, grpid, 16) F(T, code, 20)

// ---- cache invalidation (5.10; payload of NESTING_OP CACHE_INVLD) ----
/// enum iommu_inv_granularity; stored in a __u8 (iommu_cache_invalidate_info::granularity).
#define VFIOPP_ENUM_iommu_inv_granularity(X)          \
    X(domain, IOMMU_INV_GRANU_DOMAIN, 0u, never)      \
    X(pasid, IOMMU_INV_GRANU_PASID, 1u, never)        \
    X(addr, IOMMU_INV_GRANU_ADDR, 2u, never)
VFIOPP_ENUM(iommu_inv_granularity, u8)

/// Which caches to invalidate (iommu_cache_invalidate_info::cache, a __u8).
/// Valid (granularity x cache): domain: iotlb, pasid; pasid: all three; addr: iotlb, dev_iotlb.
#define VFIOPP_ENUM_iommu_cache_inv_type(X)                  \
    X(iotlb, IOMMU_CACHE_INV_TYPE_IOTLB, 1u << 0, never)     \
    X(dev_iotlb, IOMMU_CACHE_INV_TYPE_DEV_IOTLB, 1u << 1, never) \
    X(pasid, IOMMU_CACHE_INV_TYPE_PASID, 1u << 2, never)
VFIOPP_FLAGS(iommu_cache_inv_type, u8)

#define VFIOPP_ENUM_iommu_inv_addr_flag(X)                  \
    X(pasid, IOMMU_INV_ADDR_FLAGS_PASID, 1u << 0, never)    \
    X(archid, IOMMU_INV_ADDR_FLAGS_ARCHID, 1u << 1, never)  \
    X(leaf, IOMMU_INV_ADDR_FLAGS_LEAF, 1u << 2, never)
VFIOPP_FLAGS(iommu_inv_addr_flag, u32)

#define VFIOPP_ENUM_iommu_inv_pasid_flag(X)                 \
    X(pasid, IOMMU_INV_PASID_FLAGS_PASID, 1u << 0, never)   \
    X(archid, IOMMU_INV_PASID_FLAGS_ARCHID, 1u << 1, never)
VFIOPP_FLAGS(iommu_inv_pasid_flag, u32)

/// Address-selective invalidation: nb_granules granules of granule_size bytes from addr (flags say whether
/// pasid/archid tag the range and whether only leaf entries go).
struct iommu_inv_addr_info {
    bitmask<iommu_inv_addr_flag> flags;
    u32 archid;
    u64 pasid;
    u64 addr;
    u64 granule_size;
    u64 nb_granules;
};
#define VFIOPP_FIELDS_iommu_inv_addr_info(F, T)                                                            \
    F(T, flags, 0) F(T, archid, 4) F(T, pasid, 8) F(T, addr, 16) F(T, granule_size, 24) F(T, nb_granules, 32)

/// PASID-selective invalidation (at least one of the pasid/archid flags must be set).
struct iommu_inv_pasid_info {
    bitmask<iommu_inv_pasid_flag> flags;
    u32 archid;
    u64 pasid;
};
#define VFIOPP_FIELDS_iommu_inv_pasid_info(F, T) F(T, flags, 0) F(T, archid, 4) F(T, pasid, 8)

/// The kernel's `union { ... } granu` of iommu_cache_invalidate_info (named in 5.10, so no _AS needed).
union iommu_cache_invalidate_granu {
    // bitmask members make the members' default constructors non-trivial, which would delete the union's
    // constructor; it initialises the largest member so that every byte of a value-initialised union is zero.
    constexpr iommu_cache_invalidate_granu() : addr_info{} {}
    iommu_inv_pasid_info pasid_info;
    iommu_inv_addr_info addr_info;
};

/// First-level (stage-1) cache invalidation, 5.10 form (56 bytes). argsz is the payload's own size: the kernel
/// needs argsz >= 16 (offsetof granu), >= 32 for granularity pasid, >= 56 for addr; version must be 1, padding 0.
///   iommu_cache_invalidate_info i{}; i.argsz = sizeof i; i.version = iommu_cache_invalidate_info_version_1;
struct iommu_cache_invalidate_info {
    u32 argsz;
    u32 version;
    bitmask<iommu_cache_inv_type> cache;
    iommu_inv_granularity granularity;
    std::array<u8, 6> padding;
    iommu_cache_invalidate_granu granu;
};
#define VFIOPP_FIELDS_iommu_cache_invalidate_info(F, T)                                                    \
    F(T, argsz, 0) F(T, version, 4) F(T, cache, 8) F(T, granularity, 9) F(T, padding, 10) F(T, granu, 16)

// ---- guest PASID bind (5.10; payload of NESTING_OP BIND_PGTBL / UNBIND_PGTBL) ----
/// Values of iommu_gpasid_bind_data::format (and of v7 iommu_nesting_info::format).
#define VFIOPP_ENUM_iommu_pasid_format(X) X(intel_vtd, IOMMU_PASID_FORMAT_INTEL_VTD, 1u, never)
VFIOPP_ENUM(iommu_pasid_format, u32)

#define VFIOPP_ENUM_iommu_gpasid_bind_flag(X) X(gpasid_val, IOMMU_SVA_GPASID_VAL, 1u << 0, never)
VFIOPP_FLAGS(iommu_gpasid_bind_flag, u64)

/// VT-d PASID-entry attributes. mts_mask (CD|EMTE|PCD|PWT = 0x3c) is the memory-type-selection group, a mask
/// rather than a flag; valid bits are those below iommu_sva_vtd_gpasid_last.
#define VFIOPP_ENUM_iommu_gpasid_vtd_flag(X)                       \
    X(sre, IOMMU_SVA_VTD_GPASID_SRE, 1u << 0, never)               \
    X(eafe, IOMMU_SVA_VTD_GPASID_EAFE, 1u << 1, never)             \
    X(pcd, IOMMU_SVA_VTD_GPASID_PCD, 1u << 2, never)               \
    X(pwt, IOMMU_SVA_VTD_GPASID_PWT, 1u << 3, never)               \
    X(emte, IOMMU_SVA_VTD_GPASID_EMTE, 1u << 4, never)             \
    X(cd, IOMMU_SVA_VTD_GPASID_CD, 1u << 5, never)                 \
    X(mts_mask, IOMMU_SVA_VTD_GPASID_MTS_MASK, 0x3cu, never)
VFIOPP_FLAGS(iommu_gpasid_vtd_flag, u64)

/// Intel VT-d part of a gpasid bind: PASID-entry flags, PAT and extended memory type.
struct iommu_gpasid_bind_data_vtd {
    bitmask<iommu_gpasid_vtd_flag> flags;
    u32 pat;
    u32 emt;
};
#define VFIOPP_FIELDS_iommu_gpasid_bind_data_vtd(F, T) F(T, flags, 0) F(T, pat, 8) F(T, emt, 12)

/// The kernel's `union { ... } vendor` of iommu_gpasid_bind_data (named in 5.10).
union iommu_gpasid_bind_vendor {
    // a bitmask member makes vtd's default constructor non-trivial, which would delete the union's
    constexpr iommu_gpasid_bind_vendor() : vtd{} {}
    iommu_gpasid_bind_data_vtd vtd;
};

/// Bind a guest page table (gpgd) to host PASID hpasid, 5.10 form (72 bytes). argsz is the payload's own size
/// (kernel: >= 56 = offsetof vendor, else EINVAL); version 1; format < iommu_pasid_format_last; padding 0.
/// UNBIND_PGTBL uses the same struct, only hpasid matters.
///   iommu_gpasid_bind_data b{}; b.argsz = sizeof b; b.version = iommu_gpasid_bind_version_1;
struct iommu_gpasid_bind_data {
    u32 argsz;
    u32 version;
    iommu_pasid_format format;
    u32 addr_width;
    bitmask<iommu_gpasid_bind_flag> flags;
    u64 gpgd;
    u64 hpasid;
    u64 gpasid;
    std::array<u8, 8> padding;
    iommu_gpasid_bind_vendor vendor;
};
#define VFIOPP_FIELDS_iommu_gpasid_bind_data(F, T)                                                          \
    F(T, argsz, 0) F(T, version, 4) F(T, format, 8) F(T, addr_width, 12) F(T, flags, 16) F(T, gpgd, 24)     \
    F(T, hpasid, 32) F(T, gpasid, 40) F(T, padding, 48) F(T, vendor, 56)

// ---- every enum family of this header (for the cross-check) ----
#define VFIOPP_ENUMS_iommu(X)                                                                              \
    X(iommu_fault_perm) X(iommu_fault_type) X(iommu_fault_reason) X(iommu_fault_unrecov_flag)              \
    X(iommu_fault_page_request_flag) X(iommu_page_response_code) X(iommu_page_resp_flag)                   \
    X(iommu_inv_granularity) X(iommu_cache_inv_type) X(iommu_inv_addr_flag) X(iommu_inv_pasid_flag)        \
    X(iommu_pasid_format) X(iommu_gpasid_bind_flag) X(iommu_gpasid_vtd_flag)

// ---- every struct of this header: (name, size, align, since) ----
#define VFIOPP_STRUCTS_iommu(X)                           \
    X(iommu_fault_unrecoverable, 32, 8, until6_7)         \
    X(iommu_fault_page_request, 40, 8, until6_7)          \
    X(iommu_fault, 64, 8, until6_7)                       \
    X(iommu_page_response, 24, 4, until6_7)               \
    X(iommu_inv_addr_info, 40, 8, never)                  \
    X(iommu_inv_pasid_info, 16, 8, never)                 \
    X(iommu_cache_invalidate_info, 56, 8, never)          \
    X(iommu_gpasid_bind_data_vtd, 16, 8, never)           \
    X(iommu_gpasid_bind_data, 72, 8, never)
VFIOPP_STRUCTS_iommu(VFIOPP_LAYOUT)

static_assert(sizeof(iommu_fault_payload) == 56 && alignof(iommu_fault_payload) == 8);
static_assert(sizeof(iommu_cache_invalidate_granu) == 40 && alignof(iommu_cache_invalidate_granu) == 8);
static_assert(sizeof(iommu_gpasid_bind_vendor) == 16 && alignof(iommu_gpasid_bind_vendor) == 8);
// The kernel's per-granularity argsz minimums (§5.4) are offsetofend of the union members.
static_assert(offsetof(iommu_cache_invalidate_info, granu) + sizeof(iommu_inv_pasid_info) == 32);
static_assert(offsetof(iommu_cache_invalidate_info, granu) + sizeof(iommu_inv_addr_info) == 56);

}  // namespace vfiopp::uapi
