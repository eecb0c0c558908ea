// vfiopp/uapi/vfio.hpp - layout mirror of <linux/vfio.h> (Linux 7.3), written from the ABI.
//
// Conventions (see layout.hpp, enums.hpp, ioctl.hpp):
//  - structs keep the kernel's names, in namespace vfiopp::uapi; flags fields are bitmask<...>;
//    C arrays are std::array; anonymous unions are named (listed with F##_AS for the cross-check);
//    flexible array members are declared with VFIOPP_FLEX, not in the struct.
//  - VFIOPP_STRUCTS_vfio lists every struct with (size, align, since); its expansion at the end of this file
//    proves each layout and defines its descriptor.
//  - ioctls are the objects in namespace vfiopp::uapi::vfio; each is documented where it is declared.
// Left out on purpose: s390 (ccw, zdev: VFIO_DEVICE_INFO_CAP_ZPCI_*, VFIO_REGION_INFO_CAP_..._CCW) and POWER
// (SPAPR TCE, EEH) parts.
#pragma once

#include <vfiopp/uapi/enums.hpp>
#include <vfiopp/uapi/ioctl.hpp>
#include <vfiopp/uapi/layout.hpp>

namespace vfiopp::uapi {

// X(name, KERNEL_MACRO, value, since)
#define VFIOPP_CONSTANTS_vfio(X)                          \
    X(vfio_api_version, VFIO_API_VERSION, u32{0}, k6_1)   \
    X(vfio_type, VFIO_TYPE, u32{';'}, k6_1)               \
    X(vfio_base, VFIO_BASE, u32{100}, k6_1)
VFIOPP_CONSTANTS(VFIOPP_CONSTANTS_vfio)

// ---- capability chains ----
/// Header of every capability in an info reply's chain; `next` is the offset of the next one from the start of
/// the reply buffer, 0 ends the chain.
struct vfio_info_cap_header {
    u16 id;
    u16 version;
    u32 next;
};
#define VFIOPP_FIELDS_vfio_info_cap_header(F, T) F(T, id, 0) F(T, version, 2) F(T, next, 4)

// ---- VFIO_IOMMU_GET_INFO ----
#define VFIOPP_ENUM_iommu_info_flag(X)                   \
    X(pgsizes, VFIO_IOMMU_INFO_PGSIZES, 1u << 0, k6_1)   \
    X(caps, VFIO_IOMMU_INFO_CAPS, 1u << 1, k6_1)
VFIOPP_FLAGS(iommu_info_flag, u32)

struct vfio_iommu_type1_info {
    u32 argsz;
    bitmask<iommu_info_flag> flags;
    aligned_u64 iova_pgsizes;
    u32 cap_offset;
    u32 pad;
};
#define VFIOPP_FIELDS_vfio_iommu_type1_info(F, T) \
    F(T, argsz, 0) F(T, flags, 4) F(T, iova_pgsizes, 8) F(T, cap_offset, 16) F(T, pad, 20)

// ---- VFIO_DEVICE_GET_REGION_INFO ----
#define VFIOPP_ENUM_region_info_flag(X)                   \
    X(read, VFIO_REGION_INFO_FLAG_READ, 1u << 0, k6_1)    \
    X(write, VFIO_REGION_INFO_FLAG_WRITE, 1u << 1, k6_1)  \
    X(mmap, VFIO_REGION_INFO_FLAG_MMAP, 1u << 2, k6_1)    \
    X(caps, VFIO_REGION_INFO_FLAG_CAPS, 1u << 3, k6_1)
VFIOPP_FLAGS(region_info_flag, u32)

struct vfio_region_info {
    u32 argsz;
    bitmask<region_info_flag> flags;
    u32 index;
    u32 cap_offset;
    aligned_u64 size;
    aligned_u64 offset;
};
#define VFIOPP_FIELDS_vfio_region_info(F, T) \
    F(T, argsz, 0) F(T, flags, 4) F(T, index, 8) F(T, cap_offset, 12) F(T, size, 16) F(T, offset, 24)

// ---- every enum family of this header (for the cross-check) ----
#define VFIOPP_ENUMS_vfio(X) X(iommu_info_flag) X(region_info_flag)

// ---- every struct of this header: (name, size, align, since) ----
#define VFIOPP_STRUCTS_vfio(X)                 \
    X(vfio_info_cap_header, 8, 4, k6_1)        \
    X(vfio_iommu_type1_info, 24, 8, k7_3)      \
    X(vfio_region_info, 32, 8, k6_1)
VFIOPP_STRUCTS_vfio(VFIOPP_LAYOUT)

}  // namespace vfiopp::uapi

namespace vfiopp::uapi::vfio {
inline constexpr abi_kind vfiopp_abi = abi_kind::mainline;

// X(cxx_name, KERNEL_MACRO, type, nr, fd, arg, ArgType, since)
#define VFIOPP_IOCTLS_vfio(X)                                                                                      \
    /* VFIO_GET_API_VERSION: returns VFIO_API_VERSION (0). No argument. */                                        \
    X(get_api_version, VFIO_GET_API_VERSION, vfio_type, vfio_base + 0, container, none, no_arg, k6_1)            \
    /* VFIO_CHECK_EXTENSION(u32 extension): returns 0 (unsupported) or >0 (supported). */                        \
    X(check_extension, VFIO_CHECK_EXTENSION, vfio_type, vfio_base + 1, container, value, no_arg, k6_1)           \
    /* VFIO_IOMMU_GET_INFO: argsz >= 16 (EINVAL below); the kernel fills flags, iova_pgsizes and, with           \
       VFIO_IOMMU_INFO_CAPS, a capability chain at cap_offset; if argsz is too small for the chain it writes     \
       the argsz it needs and cap_offset 0. */                                                                   \
    X(iommu_get_info, VFIO_IOMMU_GET_INFO, vfio_type, vfio_base + 12, container, inout, vfio_iommu_type1_info, k6_1) \
    /* VFIO_DEVICE_GET_REGION_INFO: argsz >= 32, index in; size, offset, flags and an optional capability        \
       chain out (argsz grown as for IOMMU_GET_INFO). */                                                         \
    X(device_get_region_info, VFIO_DEVICE_GET_REGION_INFO, vfio_type, vfio_base + 8, device, inout, vfio_region_info, k6_1)
VFIOPP_IOCTL_DEFS(VFIOPP_IOCTLS_vfio)
}  // namespace vfiopp::uapi::vfio
