// vfiopp/uapi/vfio.hpp - layout mirror of <linux/vfio.h> (Linux 7.3), written from the ABI.
//
// Conventions (see layout.hpp, enums.hpp, ioctl.hpp):
//  - structs keep the kernel's names, in namespace vfiopp::uapi; flags fields are bitmask<...>;
//    C arrays are std::array; anonymous unions are named (listed with F##_AS for the cross-check);
//    flexible array members are declared with VFIOPP_FLEX after the struct. A kernel member whose name C++
//    reserves (`__reserved`, `__pad`) is mirrored without the underscores and listed with F##_AS.
//  - Boost.PFR cannot reflect a kernel struct with a flexible array member (GCC decomposes data[] as one more
//    member): the cross-check leaves PFR out for mirrors with VFIOPP_FLEX and still compares every field.
//  - a flags word that also carries a multi-bit sub-field (VFIO_DEVICE_FEATURE_MASK, the IRQ_SET data/action
//    types) is still a bitmask of the named bits; the masks are in VFIOPP_CONSTANTS_vfio.
//  - values that are enumerations (extension ids, capability ids, region types and subtypes, region and IRQ
//    indexes, device features, migration states) are VFIOPP_ENUM families; a struct field keeps u32 where the
//    kernel's __u32 holds values of several such families (vfio_region_info::index, vfio_irq_info::index, ...).
//  - VFIOPP_STRUCTS_vfio lists every struct with (size, align, since); its expansion at the end of this file
//    proves each layout and defines its descriptor.
//  - ioctls are the objects in namespace vfiopp::uapi::vfio; each is documented where it is declared.
// Left out on purpose: s390 (ccw, zdev, AP: VFIO_DEVICE_FLAGS_CCW/_AP, VFIO_DEVICE_INFO_CAP_ZPCI_*,
// VFIO_REGION_TYPE_CCW and its subtypes, VFIO_CCW_* and VFIO_AP_* indexes, VFIO_DEVICE_FEATURE_ZPCI_ERROR) and
// POWER (SPAPR TCE, EEH) parts; a one-line comment marks each place.
// Longer than 600 lines because it mirrors all of linux/vfio.h (1923 lines in 7.3: 44 structs, 36 constant
// families, 28 ioctls, each documented where it is declared); one mirror per kernel header is what lets a reader
// check it against the kernel's file side by side.
#pragma once

#include <vfiopp/uapi/enums.hpp>
#include <vfiopp/uapi/ioctl.hpp>
#include <vfiopp/uapi/layout.hpp>

#include <string_view>

namespace vfiopp::uapi {

// ---- lone constants: X(name, KERNEL_MACRO, value, since) ----
// Values keep the kernel's C type where it matters to the comparison: VFIO_REGION_TYPE_PCI_VENDOR_TYPE is
// `(1 << 31)`, an int, and VFIO_PCI_DEVID_NOT_OWNED is `-1`, so both are s32 here.
#define VFIOPP_CONSTANTS_vfio(X)                                                                                   \
    X(vfio_api_version, VFIO_API_VERSION, u32{0}, k6_1)                                                           \
    X(vfio_type, VFIO_TYPE, u32{';'}, k6_1)                                                                       \
    X(vfio_base, VFIO_BASE, u32{100}, k6_1)                                                                       \
    X(region_type_pci_vendor_type, VFIO_REGION_TYPE_PCI_VENDOR_TYPE, static_cast<s32>(0x80000000u), k6_1)         \
    X(region_type_pci_vendor_mask, VFIO_REGION_TYPE_PCI_VENDOR_MASK, u32{0xffff}, k6_1)                           \
    X(device_state_v1_mask, VFIO_DEVICE_STATE_MASK, u32{0x7}, k6_1)                                               \
    X(irq_set_data_type_mask, VFIO_IRQ_SET_DATA_TYPE_MASK, u32{0x7}, k6_1)                                        \
    X(irq_set_action_type_mask, VFIO_IRQ_SET_ACTION_TYPE_MASK, u32{0x38}, k6_1)                                   \
    X(pci_num_regions, VFIO_PCI_NUM_REGIONS, u32{9}, k6_1)                                                        \
    X(pci_num_irqs, VFIO_PCI_NUM_IRQS, u32{5}, k6_1)                                                              \
    X(pci_devid_owned, VFIO_PCI_DEVID_OWNED, s32{0}, k6_6)                                                        \
    X(pci_devid_not_owned, VFIO_PCI_DEVID_NOT_OWNED, s32{-1}, k6_6)                                               \
    X(device_ioeventfd_size_mask, VFIO_DEVICE_IOEVENTFD_SIZE_MASK, u32{0xf}, k6_1)                                \
    X(device_feature_mask, VFIO_DEVICE_FEATURE_MASK, u32{0xffff}, k6_1)                                           \
    X(device_mig_state_nr, VFIO_DEVICE_STATE_NR, u32{8}, k6_2)
VFIOPP_CONSTANTS(VFIOPP_CONSTANTS_vfio)

// Device API strings of mdev types' `device_api` attribute (strings: the integer cross-check does not see them).
// s390: VFIO_DEVICE_API_CCW_STRING and VFIO_DEVICE_API_AP_STRING left out.
inline constexpr std::string_view device_api_pci_string = "vfio-pci";
inline constexpr std::string_view device_api_platform_string = "vfio-platform";
inline constexpr std::string_view device_api_amba_string = "vfio-amba";

// ---- VFIO_CHECK_EXTENSION / VFIO_SET_IOMMU arguments ----
// POWER: VFIO_SPAPR_TCE_IOMMU (2), VFIO_EEH (5) and VFIO_SPAPR_TCE_v2_IOMMU (7) left out.
// 6 was VFIO_TYPE1_NESTING_IOMMU up to 6.12; now reserved (SET_IOMMU treats it as type1v2, CHECK_EXTENSION says 0).
#define VFIOPP_ENUM_extension(X)                                                                       \
    X(type1_iommu, VFIO_TYPE1_IOMMU, 1u, k6_1)                                                        \
    X(type1v2_iommu, VFIO_TYPE1v2_IOMMU, 3u, k6_1)                                                    \
    X(dma_cc_iommu, VFIO_DMA_CC_IOMMU, 4u, k6_1)                                                      \
    X(reserved_type1_nesting_iommu, __VFIO_RESERVED_TYPE1_NESTING_IOMMU, 6u, k6_13)                   \
    X(noiommu_iommu, VFIO_NOIOMMU_IOMMU, 8u, k6_1)                                                    \
    X(unmap_all, VFIO_UNMAP_ALL, 9u, k6_1)                                                            \
    X(update_vaddr, VFIO_UPDATE_VADDR, 10u, k6_1)
VFIOPP_ENUM(extension, u32)

// ---- capability chains ----
/// Header of every capability in an info reply's chain; `next` is the offset of the next one from the start of
/// the reply buffer, 0 ends the chain. Every capability mirrored here is version 1.
struct vfio_info_cap_header {
    u16 id;
    u16 version;
    u32 next;
};
#define VFIOPP_FIELDS_vfio_info_cap_header(F, T) F(T, id, 0) F(T, version, 2) F(T, next, 4)

// ---- VFIO_GROUP_GET_STATUS ----
#define VFIOPP_ENUM_group_flag(X)                                          \
    X(viable, VFIO_GROUP_FLAGS_VIABLE, 1u << 0, k6_1)                     \
    X(container_set, VFIO_GROUP_FLAGS_CONTAINER_SET, 1u << 1, k6_1)
VFIOPP_FLAGS(group_flag, u32)

/// VFIO_GROUP_GET_STATUS reply.
struct vfio_group_status {
    u32 argsz;
    bitmask<group_flag> flags;
};
#define VFIOPP_FIELDS_vfio_group_status(F, T) F(T, argsz, 0) F(T, flags, 4)

// ---- VFIO_DEVICE_GET_INFO ----
// s390: VFIO_DEVICE_FLAGS_CCW (1 << 4) and VFIO_DEVICE_FLAGS_AP (1 << 5) left out.
#define VFIOPP_ENUM_device_info_flag(X)                           \
    X(reset, VFIO_DEVICE_FLAGS_RESET, 1u << 0, k6_1)             \
    X(pci, VFIO_DEVICE_FLAGS_PCI, 1u << 1, k6_1)                 \
    X(platform, VFIO_DEVICE_FLAGS_PLATFORM, 1u << 2, k6_1)       \
    X(amba, VFIO_DEVICE_FLAGS_AMBA, 1u << 3, k6_1)               \
    X(fsl_mc, VFIO_DEVICE_FLAGS_FSL_MC, 1u << 6, k6_1)           \
    X(caps, VFIO_DEVICE_FLAGS_CAPS, 1u << 7, k6_1)               \
    X(cdx, VFIO_DEVICE_FLAGS_CDX, 1u << 8, k6_5)
VFIOPP_FLAGS(device_info_flag, u32)

/// VFIO_DEVICE_GET_INFO reply; `pad` arrived in 6.6 (capability alignment), before it the struct was 20 bytes.
struct vfio_device_info {
    u32 argsz;
    bitmask<device_info_flag> flags;
    u32 num_regions;  ///< max region index + 1
    u32 num_irqs;     ///< max IRQ index + 1
    u32 cap_offset;
    u32 pad;
};
#define VFIOPP_FIELDS_vfio_device_info(F, T) \
    F(T, argsz, 0) F(T, flags, 4) F(T, num_regions, 8) F(T, num_irqs, 12) F(T, cap_offset, 16) F(T, pad, 20)

// Capability ids of the VFIO_DEVICE_GET_INFO chain. s390: VFIO_DEVICE_INFO_CAP_ZPCI_* (1..4) left out.
#define VFIOPP_ENUM_device_info_cap(X) X(pci_atomic_comp, VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP, 5u, k6_5)
VFIOPP_ENUM(device_info_cap, u16)

#define VFIOPP_ENUM_pci_atomic_comp_flag(X)                   \
    X(comp32, VFIO_PCI_ATOMIC_COMP32, 1u << 0, k6_5)         \
    X(comp64, VFIO_PCI_ATOMIC_COMP64, 1u << 1, k6_5)         \
    X(comp128, VFIO_PCI_ATOMIC_COMP128, 1u << 2, k6_5)
VFIOPP_FLAGS(pci_atomic_comp_flag, u32)

/// Device info capability: PCIe AtomicOp completion widths supported towards the root bus.
struct vfio_device_info_cap_pci_atomic_comp {
    vfio_info_cap_header header;
    bitmask<pci_atomic_comp_flag> flags;
    u32 reserved;
};
#define VFIOPP_FIELDS_vfio_device_info_cap_pci_atomic_comp(F, T) F(T, header, 0) F(T, flags, 8) F(T, reserved, 12)

// ---- VFIO_DEVICE_GET_REGION_INFO ----
#define VFIOPP_ENUM_region_info_flag(X)                   \
    X(read, VFIO_REGION_INFO_FLAG_READ, 1u << 0, k6_1)    \
    X(write, VFIO_REGION_INFO_FLAG_WRITE, 1u << 1, k6_1)  \
    X(mmap, VFIO_REGION_INFO_FLAG_MMAP, 1u << 2, k6_1)    \
    X(caps, VFIO_REGION_INFO_FLAG_CAPS, 1u << 3, k6_1)
VFIOPP_FLAGS(region_info_flag, u32)

/// VFIO_DEVICE_GET_REGION_INFO argument; `index` is a pci_region_index for vfio-pci (or >= 9: see cap type).
struct vfio_region_info {
    u32 argsz;
    bitmask<region_info_flag> flags;
    u32 index;
    u32 cap_offset;
    aligned_u64 size;
    aligned_u64 offset;  ///< offset of the region in the device fd (pread/pwrite/mmap)
};
#define VFIOPP_FIELDS_vfio_region_info(F, T) \
    F(T, argsz, 0) F(T, flags, 4) F(T, index, 8) F(T, cap_offset, 12) F(T, size, 16) F(T, offset, 24)

// Capability ids of the VFIO_DEVICE_GET_REGION_INFO chain (the NVLink2 ones are deprecated, no longer provided).
#define VFIOPP_ENUM_region_info_cap(X)                                        \
    X(sparse_mmap, VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1u, k6_1)               \
    X(type, VFIO_REGION_INFO_CAP_TYPE, 2u, k6_1)                             \
    X(msix_mappable, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 3u, k6_1)           \
    X(nvlink2_ssatgt, VFIO_REGION_INFO_CAP_NVLINK2_SSATGT, 4u, k6_1)         \
    X(nvlink2_lnkspd, VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD, 5u, k6_1)
VFIOPP_ENUM(region_info_cap, u16)

/// One mmap-able area of a region (element of vfio_region_info_cap_sparse_mmap::areas[]).
struct vfio_region_sparse_mmap_area {
    aligned_u64 offset;  ///< within the region
    aligned_u64 size;
};
#define VFIOPP_FIELDS_vfio_region_sparse_mmap_area(F, T) F(T, offset, 0) F(T, size, 8)

/// Region info capability: only the listed areas may be mmap'ed. 8-aligned because of areas[].
struct alignas(8) vfio_region_info_cap_sparse_mmap {
    vfio_info_cap_header header;
    u32 nr_areas;
    u32 reserved;
};
#define VFIOPP_FIELDS_vfio_region_info_cap_sparse_mmap(F, T) F(T, header, 0) F(T, nr_areas, 8) F(T, reserved, 12)
VFIOPP_FLEX(vfio_region_info_cap_sparse_mmap, areas, vfio_region_sparse_mmap_area, 16)

/// Region info capability: a device-specific region's type and subtype.
struct vfio_region_info_cap_type {
    vfio_info_cap_header header;
    u32 type;     ///< region_type, or region_type_pci_vendor_type | PCI vendor id
    u32 subtype;  ///< one of the *_region_subtype families, by type
};
#define VFIOPP_FIELDS_vfio_region_info_cap_type(F, T) F(T, header, 0) F(T, type, 8) F(T, subtype, 12)

// Region types; VFIO_REGION_TYPE_PCI_VENDOR_TYPE (a bit combined with a vendor id) is a constant above.
// s390: VFIO_REGION_TYPE_CCW (2) and its subtypes left out.
#define VFIOPP_ENUM_region_type(X)                                                   \
    X(gfx, VFIO_REGION_TYPE_GFX, 1u, k6_1)                                          \
    X(migration_deprecated, VFIO_REGION_TYPE_MIGRATION_DEPRECATED, 3u, k6_1)
VFIOPP_ENUM(region_type, u32)

// Subtypes of region_type_pci_vendor_type | 0x8086.
#define VFIOPP_ENUM_intel_igd_region_subtype(X)                                 \
    X(opregion, VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION, 1u, k6_1)              \
    X(host_cfg, VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG, 2u, k6_1)              \
    X(lpc_cfg, VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG, 3u, k6_1)
VFIOPP_ENUM(intel_igd_region_subtype, u32)

// Subtype of region_type_pci_vendor_type | 0x10de (deprecated, no longer provided).
#define VFIOPP_ENUM_nvidia_region_subtype(X) X(nvlink2_ram, VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM, 1u, k6_1)
VFIOPP_ENUM(nvidia_region_subtype, u32)

// Subtype of region_type_pci_vendor_type | 0x1014 (deprecated, no longer provided).
#define VFIOPP_ENUM_ibm_region_subtype(X) X(nvlink2_atsd, VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD, 1u, k6_1)
VFIOPP_ENUM(ibm_region_subtype, u32)

// Subtype of region_type::gfx.
#define VFIOPP_ENUM_gfx_region_subtype(X) X(edid, VFIO_REGION_SUBTYPE_GFX_EDID, 1u, k6_1)
VFIOPP_ENUM(gfx_region_subtype, u32)

// Subtype of region_type::migration_deprecated (the v1 migration region).
#define VFIOPP_ENUM_migration_region_subtype(X) \
    X(migration_deprecated, VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED, 1u, k6_1)
VFIOPP_ENUM(migration_region_subtype, u32)

#define VFIOPP_ENUM_gfx_link_state(X)                        \
    X(up, VFIO_DEVICE_GFX_LINK_STATE_UP, 1u, k6_1)          \
    X(down, VFIO_DEVICE_GFX_LINK_STATE_DOWN, 2u, k6_1)
VFIOPP_ENUM(gfx_link_state, u32)

/// Layout of the gfx EDID region (region_type::gfx / gfx_region_subtype::edid), read and written with
/// pread/pwrite at the region's offset. Update protocol: link down, write blob and size, link up.
struct vfio_region_gfx_edid {
    u32 edid_offset;    ///< read-only: blob offset within the region
    u32 edid_max_size;  ///< read-only
    u32 edid_size;
    u32 max_xres;       ///< read-only, 0 = no limit
    u32 max_yres;       ///< read-only, 0 = no limit
    gfx_link_state link_state;
};
#define VFIOPP_FIELDS_vfio_region_gfx_edid(F, T)                                                          \
    F(T, edid_offset, 0) F(T, edid_max_size, 4) F(T, edid_size, 8) F(T, max_xres, 12) F(T, max_yres, 16) \
        F(T, link_state, 20)

// v1 migration region device_state bits (deprecated protocol; stop is the empty set).
#define VFIOPP_ENUM_device_state_v1(X)                        \
    X(stop, VFIO_DEVICE_STATE_V1_STOP, 0u, k6_1)             \
    X(running, VFIO_DEVICE_STATE_V1_RUNNING, 1u << 0, k6_1)  \
    X(saving, VFIO_DEVICE_STATE_V1_SAVING, 1u << 1, k6_1)    \
    X(resuming, VFIO_DEVICE_STATE_V1_RESUMING, 1u << 2, k6_1)
VFIOPP_FLAGS(device_state_v1, u32)

/// Header of the deprecated v1 migration region (region_type::migration_deprecated).
struct vfio_device_migration_info {
    bitmask<device_state_v1> device_state;
    u32 reserved;
    aligned_u64 pending_bytes;
    aligned_u64 data_offset;
    aligned_u64 data_size;
};
#define VFIOPP_FIELDS_vfio_device_migration_info(F, T)                                                  \
    F(T, device_state, 0) F(T, reserved, 4) F(T, pending_bytes, 8) F(T, data_offset, 16) F(T, data_size, 24)

/// Region info capability (deprecated): NVLink2 GPU RAM system bus address.
struct vfio_region_info_cap_nvlink2_ssatgt {
    vfio_info_cap_header header;
    aligned_u64 tgt;
};
#define VFIOPP_FIELDS_vfio_region_info_cap_nvlink2_ssatgt(F, T) F(T, header, 0) F(T, tgt, 8)

/// Region info capability (deprecated): NVLink2 link speed. The kernel's `__pad` is `pad` here.
struct vfio_region_info_cap_nvlink2_lnkspd {
    vfio_info_cap_header header;
    u32 link_speed;
    u32 pad;
};
#define VFIOPP_FIELDS_vfio_region_info_cap_nvlink2_lnkspd(F, T) \
    F(T, header, 0) F(T, link_speed, 8) F##_AS(T, pad, 12, __pad)

// ---- VFIO_DEVICE_GET_IRQ_INFO ----
#define VFIOPP_ENUM_irq_info_flag(X)                            \
    X(eventfd, VFIO_IRQ_INFO_EVENTFD, 1u << 0, k6_1)           \
    X(maskable, VFIO_IRQ_INFO_MASKABLE, 1u << 1, k6_1)         \
    X(automasked, VFIO_IRQ_INFO_AUTOMASKED, 1u << 2, k6_1)     \
    X(noresize, VFIO_IRQ_INFO_NORESIZE, 1u << 3, k6_1)
VFIOPP_FLAGS(irq_info_flag, u32)

/// VFIO_DEVICE_GET_IRQ_INFO argument; `index` is a pci_irq_index for vfio-pci.
struct vfio_irq_info {
    u32 argsz;
    bitmask<irq_info_flag> flags;
    u32 index;
    u32 count;  ///< IRQs within this index
};
#define VFIOPP_FIELDS_vfio_irq_info(F, T) F(T, argsz, 0) F(T, flags, 4) F(T, index, 8) F(T, count, 12)

// ---- VFIO_DEVICE_SET_IRQS ----
// One data_* bit (irq_set_data_type_mask) and one action_* bit (irq_set_action_type_mask) per call.
#define VFIOPP_ENUM_irq_set_flag(X)                                    \
    X(data_none, VFIO_IRQ_SET_DATA_NONE, 1u << 0, k6_1)               \
    X(data_bool, VFIO_IRQ_SET_DATA_BOOL, 1u << 1, k6_1)               \
    X(data_eventfd, VFIO_IRQ_SET_DATA_EVENTFD, 1u << 2, k6_1)         \
    X(action_mask, VFIO_IRQ_SET_ACTION_MASK, 1u << 3, k6_1)           \
    X(action_unmask, VFIO_IRQ_SET_ACTION_UNMASK, 1u << 4, k6_1)       \
    X(action_trigger, VFIO_IRQ_SET_ACTION_TRIGGER, 1u << 5, k6_1)
VFIOPP_FLAGS(irq_set_flag, u32)

/// VFIO_DEVICE_SET_IRQS argument; data[] holds `count` u8 (data_bool) or s32 eventfds (data_eventfd, -1 skips or
/// de-assigns), none for data_none.
struct vfio_irq_set {
    u32 argsz;
    bitmask<irq_set_flag> flags;
    u32 index;
    u32 start;
    u32 count;
};
#define VFIOPP_FIELDS_vfio_irq_set(F, T) \
    F(T, argsz, 0) F(T, flags, 4) F(T, index, 8) F(T, start, 12) F(T, count, 16)
VFIOPP_FLEX(vfio_irq_set, data, u8, 20)

// ---- vfio-pci fixed region and IRQ indexes (the kernel's anonymous enums) ----
#define VFIOPP_ENUM_pci_region_index(X)                         \
    X(bar0, VFIO_PCI_BAR0_REGION_INDEX, 0u, k6_1)              \
    X(bar1, VFIO_PCI_BAR1_REGION_INDEX, 1u, k6_1)              \
    X(bar2, VFIO_PCI_BAR2_REGION_INDEX, 2u, k6_1)              \
    X(bar3, VFIO_PCI_BAR3_REGION_INDEX, 3u, k6_1)              \
    X(bar4, VFIO_PCI_BAR4_REGION_INDEX, 4u, k6_1)              \
    X(bar5, VFIO_PCI_BAR5_REGION_INDEX, 5u, k6_1)              \
    X(rom, VFIO_PCI_ROM_REGION_INDEX, 6u, k6_1)                \
    X(config, VFIO_PCI_CONFIG_REGION_INDEX, 7u, k6_1)          \
    X(vga, VFIO_PCI_VGA_REGION_INDEX, 8u, k6_1)
VFIOPP_ENUM(pci_region_index, u32)

#define VFIOPP_ENUM_pci_irq_index(X)                       \
    X(intx, VFIO_PCI_INTX_IRQ_INDEX, 0u, k6_1)            \
    X(msi, VFIO_PCI_MSI_IRQ_INDEX, 1u, k6_1)              \
    X(msix, VFIO_PCI_MSIX_IRQ_INDEX, 2u, k6_1)            \
    X(err, VFIO_PCI_ERR_IRQ_INDEX, 3u, k6_1)              \
    X(req, VFIO_PCI_REQ_IRQ_INDEX, 4u, k6_1)
VFIOPP_ENUM(pci_irq_index, u32)
// s390: the vfio-ccw (VFIO_CCW_*_INDEX) and vfio-ap (VFIO_AP_*_IRQ_INDEX) index enums left out.

// ---- VFIO_DEVICE_GET_PCI_HOT_RESET_INFO / VFIO_DEVICE_PCI_HOT_RESET ----
#define VFIOPP_ENUM_pci_hot_reset_flag(X)                                   \
    X(dev_id, VFIO_PCI_HOT_RESET_FLAG_DEV_ID, 1u << 0, k6_6)               \
    X(dev_id_owned, VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED, 1u << 1, k6_6)
VFIOPP_FLAGS(pci_hot_reset_flag, u32)

/// One device affected by a hot reset. `id` is the kernel's anonymous union: group_id (group/container
/// interface) or devid (cdev interface, pci_hot_reset_flag::dev_id; pci_devid_owned / pci_devid_not_owned).
struct vfio_pci_dependent_device {
    union {
        u32 group_id;
        u32 devid;
    } id;
    u16 segment;
    u8 bus;
    u8 devfn;  ///< slot << 3 | function
};
#define VFIOPP_FIELDS_vfio_pci_dependent_device(F, T) \
    F##_AS(T, id, 0, devid) F(T, segment, 4) F(T, bus, 6) F(T, devfn, 7)

/// VFIO_DEVICE_GET_PCI_HOT_RESET_INFO argument; devices[] has room for (argsz - 12) / 8 entries.
struct vfio_pci_hot_reset_info {
    u32 argsz;
    bitmask<pci_hot_reset_flag> flags;
    u32 count;
};
#define VFIOPP_FIELDS_vfio_pci_hot_reset_info(F, T) F(T, argsz, 0) F(T, flags, 4) F(T, count, 8)
VFIOPP_FLEX(vfio_pci_hot_reset_info, devices, vfio_pci_dependent_device, 12)

/// VFIO_DEVICE_PCI_HOT_RESET argument: `count` group fds proving ownership (0 on a cdev). No flags are defined.
struct vfio_pci_hot_reset {
    u32 argsz;
    u32 flags;
    u32 count;
};
#define VFIOPP_FIELDS_vfio_pci_hot_reset(F, T) F(T, argsz, 0) F(T, flags, 4) F(T, count, 8)
VFIOPP_FLEX(vfio_pci_hot_reset, group_fds, s32, 12)

// ---- VFIO_DEVICE_QUERY_GFX_PLANE ----
#define VFIOPP_ENUM_gfx_plane_flag(X)                        \
    X(probe, VFIO_GFX_PLANE_TYPE_PROBE, 1u << 0, k6_1)      \
    X(dmabuf, VFIO_GFX_PLANE_TYPE_DMABUF, 1u << 1, k6_1)    \
    X(region, VFIO_GFX_PLANE_TYPE_REGION, 1u << 2, k6_1)
VFIOPP_FLAGS(gfx_plane_flag, u32)

/// VFIO_DEVICE_QUERY_GFX_PLANE argument. `id` is the kernel's anonymous union: region_index (region planes) or
/// dmabuf_id (dma-buf planes, for VFIO_DEVICE_GET_GFX_DMABUF). `reserved` arrived in 6.7.
struct vfio_device_gfx_plane_info {
    u32 argsz;
    bitmask<gfx_plane_flag> flags;
    u32 drm_plane_type;  ///< in: DRM_PLANE_TYPE_*
    u32 drm_format;
    aligned_u64 drm_format_mod;
    u32 width;
    u32 height;
    u32 stride;
    u32 size;
    u32 x_pos;
    u32 y_pos;
    u32 x_hot;  ///< 0xffffffff: no hotspot
    u32 y_hot;
    union {
        u32 region_index;
        u32 dmabuf_id;
    } id;
    u32 reserved;
};
#define VFIOPP_FIELDS_vfio_device_gfx_plane_info(F, T)                                                    \
    F(T, argsz, 0) F(T, flags, 4) F(T, drm_plane_type, 8) F(T, drm_format, 12) F(T, drm_format_mod, 16)  \
        F(T, width, 24) F(T, height, 28) F(T, stride, 32) F(T, size, 36) F(T, x_pos, 40) F(T, y_pos, 44) \
            F(T, x_hot, 48) F(T, y_hot, 52) F##_AS(T, id, 56, region_index) F(T, reserved, 60)

// ---- VFIO_DEVICE_IOEVENTFD ----
// Write width, one bit per call (device_ioeventfd_size_mask).
#define VFIOPP_ENUM_ioeventfd_flag(X)                    \
    X(bits8, VFIO_DEVICE_IOEVENTFD_8, 1u << 0, k6_1)    \
    X(bits16, VFIO_DEVICE_IOEVENTFD_16, 1u << 1, k6_1)  \
    X(bits32, VFIO_DEVICE_IOEVENTFD_32, 1u << 2, k6_1)  \
    X(bits64, VFIO_DEVICE_IOEVENTFD_64, 1u << 3, k6_1)
VFIOPP_FLAGS(ioeventfd_flag, u32)

/// VFIO_DEVICE_IOEVENTFD argument: write `data` at device fd `offset` when eventfd `fd` fires (-1 removes).
/// `reserved` arrived in 6.7.
struct vfio_device_ioeventfd {
    u32 argsz;
    bitmask<ioeventfd_flag> flags;
    aligned_u64 offset;
    aligned_u64 data;
    s32 fd;
    u32 reserved;
};
#define VFIOPP_FIELDS_vfio_device_ioeventfd(F, T) \
    F(T, argsz, 0) F(T, flags, 4) F(T, offset, 8) F(T, data, 16) F(T, fd, 24) F(T, reserved, 28)

// ---- VFIO_DEVICE_FEATURE ----
// The low 16 bits of flags are the feature (device_feature_id, device_feature_mask); these bits say what to do.
#define VFIOPP_ENUM_device_feature_flag(X)                     \
    X(get, VFIO_DEVICE_FEATURE_GET, 1u << 16, k6_1)           \
    X(set, VFIO_DEVICE_FEATURE_SET, 1u << 17, k6_1)           \
    X(probe, VFIO_DEVICE_FEATURE_PROBE, 1u << 18, k6_1)
VFIOPP_FLAGS(device_feature_flag, u32)

/// VFIO_DEVICE_FEATURE argument; data[] is the feature's payload (a vfio_device_feature_* struct).
struct vfio_device_feature {
    u32 argsz;
    bitmask<device_feature_flag> flags;
};
#define VFIOPP_FIELDS_vfio_device_feature(F, T) F(T, argsz, 0) F(T, flags, 4)
VFIOPP_FLEX(vfio_device_feature, data, u8, 8)

// Feature numbers (the low 16 bits of vfio_device_feature::flags). s390: VFIO_DEVICE_FEATURE_ZPCI_ERROR (13)
// and struct vfio_device_feature_zpci_err left out.
#define VFIOPP_ENUM_device_feature_id(X)                                                                   \
    X(pci_vf_token, VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, 0u, k6_1)                                        \
    X(migration, VFIO_DEVICE_FEATURE_MIGRATION, 1u, k6_1)                                              \
    X(mig_device_state, VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, 2u, k6_1)                                \
    X(low_power_entry, VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY, 3u, k6_1)                                  \
    X(low_power_entry_with_wakeup, VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, 4u, k6_1)          \
    X(low_power_exit, VFIO_DEVICE_FEATURE_LOW_POWER_EXIT, 5u, k6_1)                                    \
    X(dma_logging_start, VFIO_DEVICE_FEATURE_DMA_LOGGING_START, 6u, k6_1)                              \
    X(dma_logging_stop, VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, 7u, k6_1)                                \
    X(dma_logging_report, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, 8u, k6_1)                            \
    X(mig_data_size, VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, 9u, k6_2)                                      \
    X(bus_master, VFIO_DEVICE_FEATURE_BUS_MASTER, 10u, k6_7)                                           \
    X(dma_buf, VFIO_DEVICE_FEATURE_DMA_BUF, 11u, k7_0)                                                 \
    X(mig_precopy_infov2, VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2, 12u, k7_3)
VFIOPP_ENUM(device_feature_id, u16)

// ---- VFIO_DEVICE_BIND_IOMMUFD / VFIO_DEVICE_[AT|DE]TACH_IOMMUFD_PT (cdev only) ----
#define VFIOPP_ENUM_device_bind_flag(X) X(token, VFIO_DEVICE_BIND_FLAG_TOKEN, 1u << 0, k6_17)
VFIOPP_FLAGS(device_bind_flag, u32)

/// VFIO_DEVICE_BIND_IOMMUFD argument. token_uuid_ptr (6.17, with device_bind_flag::token) points to a 16-byte
/// VF token UUID; before 6.17 the struct ended at out_devid (16 bytes).
struct vfio_device_bind_iommufd {
    u32 argsz;
    bitmask<device_bind_flag> flags;
    s32 iommufd;
    u32 out_devid;  ///< out: the devid for IOMMUFD commands
    aligned_u64 token_uuid_ptr;
};
#define VFIOPP_FIELDS_vfio_device_bind_iommufd(F, T) \
    F(T, argsz, 0) F(T, flags, 4) F(T, iommufd, 8) F(T, out_devid, 12) F(T, token_uuid_ptr, 16)

#define VFIOPP_ENUM_device_attach_flag(X) X(pasid, VFIO_DEVICE_ATTACH_PASID, 1u << 0, k7_3)
VFIOPP_FLAGS(device_attach_flag, u32)

/// VFIO_DEVICE_ATTACH_IOMMUFD_PT argument; `pasid` only with device_attach_flag::pasid (12 bytes before it).
struct vfio_device_attach_iommufd_pt {
    u32 argsz;
    bitmask<device_attach_flag> flags;
    u32 pt_id;  ///< in: IOAS or HWPT id; out: the HWPT actually attached
    u32 pasid;
};
#define VFIOPP_FIELDS_vfio_device_attach_iommufd_pt(F, T) F(T, argsz, 0) F(T, flags, 4) F(T, pt_id, 8) F(T, pasid, 12)

#define VFIOPP_ENUM_device_detach_flag(X) X(pasid, VFIO_DEVICE_DETACH_PASID, 1u << 0, k7_3)
VFIOPP_FLAGS(device_detach_flag, u32)

/// VFIO_DEVICE_DETACH_IOMMUFD_PT argument; `pasid` only with device_detach_flag::pasid (8 bytes before it).
struct vfio_device_detach_iommufd_pt {
    u32 argsz;
    bitmask<device_detach_flag> flags;
    u32 pasid;
};
#define VFIOPP_FIELDS_vfio_device_detach_iommufd_pt(F, T) F(T, argsz, 0) F(T, flags, 4) F(T, pasid, 8)

// ---- device features: migration (v2 protocol) ----
#define VFIOPP_ENUM_migration_flag(X)                            \
    X(stop_copy, VFIO_MIGRATION_STOP_COPY, 1u << 0, k6_1)       \
    X(p2p, VFIO_MIGRATION_P2P, 1u << 1, k6_1)                   \
    X(pre_copy, VFIO_MIGRATION_PRE_COPY, 1u << 2, k6_2)
VFIOPP_FLAGS(migration_flag, u64)

/// Payload of device_feature_id::migration (GET): which optional migration states the device supports.
struct vfio_device_feature_migration {
    bitmask<migration_flag> flags;
};
#define VFIOPP_FIELDS_vfio_device_feature_migration(F, T) F(T, flags, 0)

#define VFIOPP_ENUM_device_mig_state(X)                                  \
    X(error, VFIO_DEVICE_STATE_ERROR, 0u, k6_1)                         \
    X(stop, VFIO_DEVICE_STATE_STOP, 1u, k6_1)                           \
    X(running, VFIO_DEVICE_STATE_RUNNING, 2u, k6_1)                     \
    X(stop_copy, VFIO_DEVICE_STATE_STOP_COPY, 3u, k6_1)                 \
    X(resuming, VFIO_DEVICE_STATE_RESUMING, 4u, k6_1)                   \
    X(running_p2p, VFIO_DEVICE_STATE_RUNNING_P2P, 5u, k6_1)             \
    X(pre_copy, VFIO_DEVICE_STATE_PRE_COPY, 6u, k6_2)                   \
    X(pre_copy_p2p, VFIO_DEVICE_STATE_PRE_COPY_P2P, 7u, k6_2)
VFIOPP_ENUM(device_mig_state, u32)

/// Payload of device_feature_id::mig_device_state: SET moves to device_state (data_fd out: the new data transfer
/// session's fd, or -1); GET reads the current state (data_fd -1).
struct vfio_device_feature_mig_state {
    device_mig_state device_state;
    s32 data_fd;
};
#define VFIOPP_FIELDS_vfio_device_feature_mig_state(F, T) F(T, device_state, 0) F(T, data_fd, 4)

// ---- VFIO_MIG_GET_PRECOPY_INFO (on the migration data fd) ----
// reinit is reported only after SET of device_feature_id::mig_precopy_infov2; before that flags is reserved.
#define VFIOPP_ENUM_precopy_info_flag(X) X(reinit, VFIO_PRECOPY_INFO_REINIT, 1u << 0, k7_3)
VFIOPP_FLAGS(precopy_info_flag, u32)

/// VFIO_MIG_GET_PRECOPY_INFO argument: estimates of the data still to read in PRE_COPY states.
struct vfio_precopy_info {
    u32 argsz;
    bitmask<precopy_info_flag> flags;
    aligned_u64 initial_bytes;
    aligned_u64 dirty_bytes;
};
#define VFIOPP_FIELDS_vfio_precopy_info(F, T) \
    F(T, argsz, 0) F(T, flags, 4) F(T, initial_bytes, 8) F(T, dirty_bytes, 16)

// ---- device features: power management, DMA logging, migration data size, bus master, dma-buf ----
/// Payload of device_feature_id::low_power_entry_with_wakeup (SET).
struct vfio_device_low_power_entry_with_wakeup {
    s32 wakeup_eventfd;
    u32 reserved;
};
#define VFIOPP_FIELDS_vfio_device_low_power_entry_with_wakeup(F, T) F(T, wakeup_eventfd, 0) F(T, reserved, 4)

/// Payload of device_feature_id::dma_logging_start (SET): `ranges` points to num_ranges
/// vfio_device_feature_dma_logging_range; page_size is a hint in, the chosen size out. The kernel's
/// `__reserved` is `reserved` here.
struct vfio_device_feature_dma_logging_control {
    aligned_u64 page_size;
    u32 num_ranges;
    u32 reserved;
    aligned_u64 ranges;
};
#define VFIOPP_FIELDS_vfio_device_feature_dma_logging_control(F, T) \
    F(T, page_size, 0) F(T, num_ranges, 8) F##_AS(T, reserved, 12, __reserved) F(T, ranges, 16)

/// One IOVA range of vfio_device_feature_dma_logging_control::ranges.
struct vfio_device_feature_dma_logging_range {
    aligned_u64 iova;
    aligned_u64 length;
};
#define VFIOPP_FIELDS_vfio_device_feature_dma_logging_range(F, T) F(T, iova, 0) F(T, length, 8)

/// Payload of device_feature_id::dma_logging_report (GET): reads and clears the log of [iova, iova + length) into
/// the u64 bitmap at `bitmap`, one bit per page_size.
struct vfio_device_feature_dma_logging_report {
    aligned_u64 iova;
    aligned_u64 length;
    aligned_u64 page_size;
    aligned_u64 bitmap;
};
#define VFIOPP_FIELDS_vfio_device_feature_dma_logging_report(F, T) \
    F(T, iova, 0) F(T, length, 8) F(T, page_size, 16) F(T, bitmap, 24)

/// Payload of device_feature_id::mig_data_size (GET): estimated bytes to complete STOP_COPY.
struct vfio_device_feature_mig_data_size {
    aligned_u64 stop_copy_length;
};
#define VFIOPP_FIELDS_vfio_device_feature_mig_data_size(F, T) F(T, stop_copy_length, 0)

#define VFIOPP_ENUM_bus_master_op(X)                             \
    X(clear_master, VFIO_DEVICE_FEATURE_CLEAR_MASTER, 0u, k6_7) \
    X(set_master, VFIO_DEVICE_FEATURE_SET_MASTER, 1u, k6_7)
VFIOPP_ENUM(bus_master_op, u32)

/// Payload of device_feature_id::bus_master (SET; CDX devices only).
struct vfio_device_feature_bus_master {
    bus_master_op op;
};
#define VFIOPP_FIELDS_vfio_device_feature_bus_master(F, T) F(T, op, 0)

/// One slice of a region, element of vfio_device_feature_dma_buf::dma_ranges[].
struct vfio_region_dma_range {
    u64 offset;
    u64 length;
};
#define VFIOPP_FIELDS_vfio_region_dma_range(F, T) F(T, offset, 0) F(T, length, 8)

/// Payload of device_feature_id::dma_buf (GET): the ioctl returns a dma-buf fd of nr_ranges slices of region
/// region_index; open_flags as for open(2); flags must be 0. 8-aligned because of dma_ranges[].
struct alignas(8) vfio_device_feature_dma_buf {
    u32 region_index;
    u32 open_flags;
    u32 flags;
    u32 nr_ranges;
};
#define VFIOPP_FIELDS_vfio_device_feature_dma_buf(F, T) \
    F(T, region_index, 0) F(T, open_flags, 4) F(T, flags, 8) F(T, nr_ranges, 12)
VFIOPP_FLEX(vfio_device_feature_dma_buf, dma_ranges, vfio_region_dma_range, 16)

// ---- Type1 IOMMU: VFIO_IOMMU_GET_INFO ----
#define VFIOPP_ENUM_iommu_info_flag(X)                   \
    X(pgsizes, VFIO_IOMMU_INFO_PGSIZES, 1u << 0, k6_1)   \
    X(caps, VFIO_IOMMU_INFO_CAPS, 1u << 1, k6_1)
VFIOPP_FLAGS(iommu_info_flag, u32)

/// VFIO_IOMMU_GET_INFO reply; `pad` arrived in 6.6 (the size was 24 before, through tail padding).
struct vfio_iommu_type1_info {
    u32 argsz;
    bitmask<iommu_info_flag> flags;
    aligned_u64 iova_pgsizes;
    u32 cap_offset;
    u32 pad;
};
#define VFIOPP_FIELDS_vfio_iommu_type1_info(F, T) \
    F(T, argsz, 0) F(T, flags, 4) F(T, iova_pgsizes, 8) F(T, cap_offset, 16) F(T, pad, 20)

// Capability ids of the VFIO_IOMMU_GET_INFO chain.
#define VFIOPP_ENUM_iommu_type1_info_cap(X)                                     \
    X(iova_range, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1u, k6_1)              \
    X(migration, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, 2u, k6_1)                \
    X(dma_avail, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 3u, k6_1)
VFIOPP_ENUM(iommu_type1_info_cap, u16)

/// One valid IOVA range [start, end] (inclusive), element of iova_ranges[].
struct vfio_iova_range {
    u64 start;
    u64 end;
};
#define VFIOPP_FIELDS_vfio_iova_range(F, T) F(T, start, 0) F(T, end, 8)

/// IOMMU info capability: the valid IOVA ranges. 8-aligned because of iova_ranges[].
struct alignas(8) vfio_iommu_type1_info_cap_iova_range {
    vfio_info_cap_header header;
    u32 nr_iovas;
    u32 reserved;
};
#define VFIOPP_FIELDS_vfio_iommu_type1_info_cap_iova_range(F, T) \
    F(T, header, 0) F(T, nr_iovas, 8) F(T, reserved, 12)
VFIOPP_FLEX(vfio_iommu_type1_info_cap_iova_range, iova_ranges, vfio_iova_range, 16)

/// IOMMU info capability: dirty page logging is supported. No flags are defined.
struct vfio_iommu_type1_info_cap_migration {
    vfio_info_cap_header header;
    u32 flags;
    u64 pgsize_bitmap;
    u64 max_dirty_bitmap_size;  ///< bytes
};
#define VFIOPP_FIELDS_vfio_iommu_type1_info_cap_migration(F, T) \
    F(T, header, 0) F(T, flags, 8) F(T, pgsize_bitmap, 16) F(T, max_dirty_bitmap_size, 24)

/// IOMMU info capability: how many more DMA mappings are allowed now.
struct vfio_iommu_type1_info_dma_avail {
    vfio_info_cap_header header;
    u32 avail;
};
#define VFIOPP_FIELDS_vfio_iommu_type1_info_dma_avail(F, T) F(T, header, 0) F(T, avail, 8)

// ---- Type1 IOMMU: VFIO_IOMMU_MAP_DMA / VFIO_IOMMU_UNMAP_DMA ----
#define VFIOPP_ENUM_map_dma_flag(X)                       \
    X(read, VFIO_DMA_MAP_FLAG_READ, 1u << 0, k6_1)       \
    X(write, VFIO_DMA_MAP_FLAG_WRITE, 1u << 1, k6_1)     \
    X(vaddr, VFIO_DMA_MAP_FLAG_VADDR, 1u << 2, k6_1)
VFIOPP_FLAGS(map_dma_flag, u32)

/// VFIO_IOMMU_MAP_DMA argument: map [vaddr, vaddr + size) of this process at iova.
struct vfio_iommu_type1_dma_map {
    u32 argsz;
    bitmask<map_dma_flag> flags;
    u64 vaddr;
    u64 iova;
    u64 size;
};
#define VFIOPP_FIELDS_vfio_iommu_type1_dma_map(F, T) \
    F(T, argsz, 0) F(T, flags, 4) F(T, vaddr, 8) F(T, iova, 16) F(T, size, 24)

/// A user dirty bitmap: one bit per pgsize page; `data` is zeroed memory of `size` bytes.
struct vfio_bitmap {
    u64 pgsize;
    u64 size;  ///< bytes
    u64* data;
};
#define VFIOPP_FIELDS_vfio_bitmap(F, T) F(T, pgsize, 0) F(T, size, 8) F(T, data, 16)

#define VFIOPP_ENUM_unmap_dma_flag(X)                                          \
    X(get_dirty_bitmap, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 1u << 0, k6_1)  \
    X(all, VFIO_DMA_UNMAP_FLAG_ALL, 1u << 1, k6_1)                            \
    X(vaddr, VFIO_DMA_UNMAP_FLAG_VADDR, 1u << 2, k6_1)
VFIOPP_FLAGS(unmap_dma_flag, u32)

/// VFIO_IOMMU_UNMAP_DMA argument; data[] holds a vfio_bitmap with unmap_dma_flag::get_dirty_bitmap.
struct vfio_iommu_type1_dma_unmap {
    u32 argsz;
    bitmask<unmap_dma_flag> flags;
    u64 iova;
    u64 size;  ///< out: bytes actually unmapped
};
#define VFIOPP_FIELDS_vfio_iommu_type1_dma_unmap(F, T) F(T, argsz, 0) F(T, flags, 4) F(T, iova, 8) F(T, size, 16)
VFIOPP_FLEX(vfio_iommu_type1_dma_unmap, data, u8, 24)

// ---- Type1 IOMMU: VFIO_IOMMU_DIRTY_PAGES ----
// Exactly one per call.
#define VFIOPP_ENUM_dirty_pages_flag(X)                                      \
    X(start, VFIO_IOMMU_DIRTY_PAGES_FLAG_START, 1u << 0, k6_1)              \
    X(stop, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, 1u << 1, k6_1)                \
    X(get_bitmap, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, 1u << 2, k6_1)
VFIOPP_FLAGS(dirty_pages_flag, u32)

/// VFIO_IOMMU_DIRTY_PAGES argument; data[] holds a vfio_iommu_type1_dirty_bitmap_get with get_bitmap.
struct vfio_iommu_type1_dirty_bitmap {
    u32 argsz;
    bitmask<dirty_pages_flag> flags;
};
#define VFIOPP_FIELDS_vfio_iommu_type1_dirty_bitmap(F, T) F(T, argsz, 0) F(T, flags, 4)
VFIOPP_FLEX(vfio_iommu_type1_dirty_bitmap, data, u8, 8)

/// The data[] of VFIO_IOMMU_DIRTY_PAGES with dirty_pages_flag::get_bitmap: range and bitmap to fill.
struct vfio_iommu_type1_dirty_bitmap_get {
    u64 iova;
    u64 size;
    vfio_bitmap bitmap;
};
#define VFIOPP_FIELDS_vfio_iommu_type1_dirty_bitmap_get(F, T) F(T, iova, 0) F(T, size, 8) F(T, bitmap, 16)

// POWER: SPAPR TCE (vfio_iommu_spapr_tce_*, vfio_iommu_spapr_register_memory) and EEH (vfio_eeh_pe_*) left out.

// ---- every enum family of this header (for the cross-check) ----
#define VFIOPP_ENUMS_vfio(X)                                                                                  \
    X(extension) X(group_flag) X(device_info_flag) X(device_info_cap) X(pci_atomic_comp_flag)                \
    X(region_info_flag) X(region_info_cap) X(region_type) X(intel_igd_region_subtype)                        \
    X(nvidia_region_subtype) X(ibm_region_subtype) X(gfx_region_subtype) X(migration_region_subtype)         \
    X(gfx_link_state) X(device_state_v1) X(irq_info_flag) X(irq_set_flag) X(pci_region_index)                \
    X(pci_irq_index) X(pci_hot_reset_flag) X(gfx_plane_flag) X(ioeventfd_flag) X(device_feature_flag)        \
    X(device_feature_id) X(device_bind_flag) X(device_attach_flag) X(device_detach_flag) X(migration_flag)      \
    X(device_mig_state) X(precopy_info_flag) X(bus_master_op) X(iommu_info_flag) X(iommu_type1_info_cap)     \
    X(map_dma_flag) X(unmap_dma_flag) X(dirty_pages_flag)

// ---- every struct of this header: (name, size, align, since) ----
#define VFIOPP_STRUCTS_vfio(X)                                    \
    X(vfio_info_cap_header, 8, 4, k6_1)                           \
    X(vfio_group_status, 8, 4, k6_1)                              \
    X(vfio_device_info, 24, 4, k6_6)                              \
    X(vfio_device_info_cap_pci_atomic_comp, 16, 4, k6_5)          \
    X(vfio_region_info, 32, 8, k6_1)                              \
    X(vfio_region_sparse_mmap_area, 16, 8, k6_1)                  \
    X(vfio_region_info_cap_sparse_mmap, 16, 8, k6_1)              \
    X(vfio_region_info_cap_type, 16, 4, k6_1)                     \
    X(vfio_region_gfx_edid, 24, 4, k6_1)                          \
    X(vfio_device_migration_info, 32, 8, k6_1)                    \
    X(vfio_region_info_cap_nvlink2_ssatgt, 16, 8, k6_1)           \
    X(vfio_region_info_cap_nvlink2_lnkspd, 16, 4, k6_1)           \
    X(vfio_irq_info, 16, 4, k6_1)                                 \
    X(vfio_irq_set, 20, 4, k6_1)                                  \
    X(vfio_pci_dependent_device, 8, 4, k6_6)                      \
    X(vfio_pci_hot_reset_info, 12, 4, k6_1)                       \
    X(vfio_pci_hot_reset, 12, 4, k6_1)                            \
    X(vfio_device_gfx_plane_info, 64, 8, k6_7)                    \
    X(vfio_device_ioeventfd, 32, 8, k6_7)                         \
    X(vfio_device_feature, 8, 4, k6_1)                            \
    X(vfio_device_bind_iommufd, 24, 8, k6_17)                     \
    X(vfio_device_attach_iommufd_pt, 16, 4, k7_3)                 \
    X(vfio_device_detach_iommufd_pt, 12, 4, k7_3)                 \
    X(vfio_device_feature_migration, 8, 8, k6_1)                  \
    X(vfio_device_feature_mig_state, 8, 4, k6_1)                  \
    X(vfio_precopy_info, 24, 8, k6_2)                             \
    X(vfio_device_low_power_entry_with_wakeup, 8, 4, k6_1)        \
    X(vfio_device_feature_dma_logging_control, 24, 8, k6_1)       \
    X(vfio_device_feature_dma_logging_range, 16, 8, k6_1)         \
    X(vfio_device_feature_dma_logging_report, 32, 8, k6_1)        \
    X(vfio_device_feature_mig_data_size, 8, 8, k6_2)              \
    X(vfio_device_feature_bus_master, 4, 4, k6_7)                 \
    X(vfio_region_dma_range, 16, 8, k7_0)                         \
    X(vfio_device_feature_dma_buf, 16, 8, k7_0)                   \
    X(vfio_iommu_type1_info, 24, 8, k6_6)                         \
    X(vfio_iova_range, 16, 8, k6_1)                               \
    X(vfio_iommu_type1_info_cap_iova_range, 16, 8, k6_1)          \
    X(vfio_iommu_type1_info_cap_migration, 32, 8, k6_1)           \
    X(vfio_iommu_type1_info_dma_avail, 12, 4, k6_1)               \
    X(vfio_iommu_type1_dma_map, 32, 8, k6_1)                      \
    X(vfio_bitmap, 24, 8, k6_1)                                   \
    X(vfio_iommu_type1_dma_unmap, 24, 8, k6_1)                    \
    X(vfio_iommu_type1_dirty_bitmap, 8, 4, k6_1)                  \
    X(vfio_iommu_type1_dirty_bitmap_get, 40, 8, k6_1)
VFIOPP_STRUCTS_vfio(VFIOPP_LAYOUT)
// mig_device_state SET writes the new data transfer session's fd (or -1) here; wire::vfio::feature_set owns it.
VFIOPP_OUT_FD(vfio_device_feature_mig_state, data_fd)

}  // namespace vfiopp::uapi

namespace vfiopp::uapi::vfio {

// X(cxx_name, KERNEL_MACRO, type, nr, fd, arg, ArgType, returns, since)
// Every call returns -1 with errno on failure; "returns" below is the success value. Structs with argsz: the
// caller sets argsz to the bytes it passes (at least the size up to the last field it uses); for info ioctls
// with a capability chain, a too-small argsz is not an error: the kernel writes the argsz it needs and
// cap_offset 0, and the caller retries with a larger buffer.
#define VFIOPP_IOCTLS_vfio(X)                                                                                      \
    /* ---- container fd (/dev/vfio/vfio) ---- */                                                                \
    /* VFIO_GET_API_VERSION: returns VFIO_API_VERSION (0). No argument. */                                        \
    X(get_api_version, VFIO_GET_API_VERSION, vfio_type, vfio_base + 0, container, none, no_arg, value, k6_1)            \
    /* VFIO_CHECK_EXTENSION(u32 extension, by value): returns 0 (unsupported) or >0 (supported); with a group  \
       attached, answers for that IOMMU backend. */                                                              \
    X(check_extension, VFIO_CHECK_EXTENSION, vfio_type, vfio_base + 1, container, value, no_arg, value, k6_1)           \
    /* VFIO_SET_IOMMU(s32 type, by value: extension::type1v2_iommu, ...): selects the IOMMU backend; needs a    \
       group set on the container first. Returns 0. */                                                           \
    X(set_iommu, VFIO_SET_IOMMU, vfio_type, vfio_base + 2, container, value, no_arg, status, k6_1)                       \
    /* ---- group fd (/dev/vfio/$GROUP) ---- */                                                                  \
    /* VFIO_GROUP_GET_STATUS: argsz >= 8 in; flags (group_flag: viable, container_set) out. */                   \
    X(group_get_status, VFIO_GROUP_GET_STATUS, vfio_type, vfio_base + 3, group, inout, vfio_group_status, status, k6_1)  \
    /* VFIO_GROUP_SET_CONTAINER(const s32* container_fd): joins the group to the container. Returns 0. */       \
    X(group_set_container, VFIO_GROUP_SET_CONTAINER, vfio_type, vfio_base + 4, group, in, s32, status, k6_1)             \
    /* VFIO_GROUP_UNSET_CONTAINER: leaves the container (all device fds closed first); the last group's leaving \
       resets the container's IOMMU. No argument. */                                                             \
    X(group_unset_container, VFIO_GROUP_UNSET_CONTAINER, vfio_type, vfio_base + 5, group, none, no_arg, status, k6_1)    \
    /* VFIO_GROUP_GET_DEVICE_FD(const char* name, NUL-terminated, e.g. "0000:00:04.0"): returns a new device fd; \
       needs the container set. */                                                                               \
    X(group_get_device_fd, VFIO_GROUP_GET_DEVICE_FD, vfio_type, vfio_base + 6, group, in, char, new_fd, k6_1)            \
    /* ---- device fd ---- */                                                                                    \
    /* VFIO_DEVICE_GET_INFO: argsz >= 20 in (24 with pad); flags (device_info_flag), num_regions, num_irqs and,  \
       with device_info_flag::caps, a capability chain (device_info_cap) at cap_offset out; argsz grown if the  \
       chain does not fit. */                                                                                    \
    X(device_get_info, VFIO_DEVICE_GET_INFO, vfio_type, vfio_base + 7, device, inout, vfio_device_info, status, k6_1)    \
    /* VFIO_DEVICE_GET_REGION_INFO: argsz >= 32, index in; size, offset, flags (region_info_flag) and, with      \
       region_info_flag::caps, a capability chain (region_info_cap) out (argsz grown as for GET_INFO). */        \
    X(device_get_region_info, VFIO_DEVICE_GET_REGION_INFO, vfio_type, vfio_base + 8, device, inout, vfio_region_info, status, k6_1) \
    /* VFIO_DEVICE_GET_IRQ_INFO: argsz >= 16, index in; flags (irq_info_flag) and count out. */                  \
    X(device_get_irq_info, VFIO_DEVICE_GET_IRQ_INFO, vfio_type, vfio_base + 9, device, inout, vfio_irq_info, status, k6_1) \
    /* VFIO_DEVICE_SET_IRQS: argsz >= 20 + the data[] bytes; flags = one data_* | one action_* irq_set_flag,     \
       index, start, count. data_eventfd|action_trigger with count 0 (data_none) disables the index. Nothing    \
       written back. */                                                                                          \
    X(device_set_irqs, VFIO_DEVICE_SET_IRQS, vfio_type, vfio_base + 10, device, in, vfio_irq_set, status, k6_1)          \
    /* VFIO_DEVICE_RESET: resets the device (device_info_flag::reset). No argument. */                           \
    X(device_reset, VFIO_DEVICE_RESET, vfio_type, vfio_base + 11, device, none, no_arg, status, k6_1)                    \
    /* VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: argsz >= 12 in; flags (pci_hot_reset_flag), count and devices[]      \
       out; ENOSPC with count set when argsz is too small for devices[]. */                                     \
    X(device_get_pci_hot_reset_info, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, vfio_type, vfio_base + 12, device, inout, vfio_pci_hot_reset_info, status, k6_1) \
    /* VFIO_DEVICE_PCI_HOT_RESET: argsz >= 12 + 4 * count, flags 0, count group fds in group_fds[] (group      \
       interface) or count 0 (cdev, ownership through iommufd). Nothing written back. */                        \
    X(device_pci_hot_reset, VFIO_DEVICE_PCI_HOT_RESET, vfio_type, vfio_base + 13, device, in, vfio_pci_hot_reset, status, k6_1) \
    /* VFIO_DEVICE_QUERY_GFX_PLANE: argsz, flags (gfx_plane_flag: probe with dmabuf or region asks for support; \
       dmabuf or region alone queries) and drm_plane_type in; the plane's format, geometry and id out (zeroes   \
       for a disabled plane). */                                                                                 \
    X(device_query_gfx_plane, VFIO_DEVICE_QUERY_GFX_PLANE, vfio_type, vfio_base + 14, device, inout, vfio_device_gfx_plane_info, status, k6_1) \
    /* VFIO_DEVICE_GET_GFX_DMABUF(const u32* dmabuf_id, from QUERY_GFX_PLANE): returns a new dma-buf fd. */      \
    X(device_get_gfx_dmabuf, VFIO_DEVICE_GET_GFX_DMABUF, vfio_type, vfio_base + 15, device, in, u32, new_fd, k6_1)       \
    /* VFIO_DEVICE_IOEVENTFD: argsz >= 32, flags = one ioeventfd_flag width, offset, data, fd (-1 removes).     \
       Nothing written back. */                                                                                  \
    X(device_ioeventfd, VFIO_DEVICE_IOEVENTFD, vfio_type, vfio_base + 16, device, in, vfio_device_ioeventfd, status, k6_1) \
    /* VFIO_DEVICE_FEATURE: argsz >= 8 + payload; flags = feature number (device_feature_id, low 16 bits) | get or \
       set, or probe (optionally | get/set). GET writes the payload into data[]; SET reads it. Some features    \
       return an fd (mig_device_state in data_fd, dma_buf as the return value). */                              \
    X(device_feature, VFIO_DEVICE_FEATURE, vfio_type, vfio_base + 17, device, inout, vfio_device_feature, status, k6_1)  \
    /* VFIO_DEVICE_BIND_IOMMUFD (cdev fd only): argsz >= 16 (24 with token_uuid_ptr), flags 0 or                \
       device_bind_flag::token, iommufd in; out_devid out. */                                                    \
    X(device_bind_iommufd, VFIO_DEVICE_BIND_IOMMUFD, vfio_type, vfio_base + 18, device, inout, vfio_device_bind_iommufd, status, k6_6) \
    /* VFIO_DEVICE_ATTACH_IOMMUFD_PT (cdev fd only): argsz >= 12 (16 with pasid), flags 0 or                    \
       device_attach_flag::pasid, pt_id in; pt_id out (the HWPT attached, auto-created for an IOAS). Attaching  \
       again replaces. EBUSY while a device of the group resets. */                                              \
    X(device_attach_iommufd_pt, VFIO_DEVICE_ATTACH_IOMMUFD_PT, vfio_type, vfio_base + 19, device, inout, vfio_device_attach_iommufd_pt, status, k6_6) \
    /* VFIO_DEVICE_DETACH_IOMMUFD_PT (cdev fd only): argsz >= 8 (12 with pasid), flags 0 or                     \
       device_detach_flag::pasid. The device (or pasid) then blocks DMA. Nothing written back. */              \
    X(device_detach_iommufd_pt, VFIO_DEVICE_DETACH_IOMMUFD_PT, vfio_type, vfio_base + 20, device, in, vfio_device_detach_iommufd_pt, status, k6_6) \
    /* VFIO_MIG_GET_PRECOPY_INFO: issued on the migration data fd (from mig_device_state), not the device fd;   \
       only in PRE_COPY states (EINVAL otherwise). argsz >= 24 in; initial_bytes, dirty_bytes and, after        \
       mig_precopy_infov2, flags (precopy_info_flag::reinit) out. */                                              \
    X(mig_get_precopy_info, VFIO_MIG_GET_PRECOPY_INFO, vfio_type, vfio_base + 21, migration_data, inout, vfio_precopy_info, status, k6_2) \
    /* ---- container fd, Type1 IOMMU (numbers overlap the device fd's) ---- */                                \
    /* VFIO_IOMMU_GET_INFO: argsz >= 16 (EINVAL below); the kernel fills flags, iova_pgsizes and, with           \
       VFIO_IOMMU_INFO_CAPS, a capability chain at cap_offset; if argsz is too small for the chain it writes     \
       the argsz it needs and cap_offset 0. */                                                                   \
    X(iommu_get_info, VFIO_IOMMU_GET_INFO, vfio_type, vfio_base + 12, container, inout, vfio_iommu_type1_info, status, k6_1) \
    /* VFIO_IOMMU_MAP_DMA: argsz >= 32, flags read|write (or vaddr alone: re-supply a vaddr invalidated by      \
       UNMAP_DMA with vaddr, same iova and size), vaddr, iova, size. Nothing written back. */                   \
    X(iommu_map_dma, VFIO_IOMMU_MAP_DMA, vfio_type, vfio_base + 13, container, in, vfio_iommu_type1_dma_map, status, k6_1) \
    /* VFIO_IOMMU_UNMAP_DMA: argsz >= 24 (+ sizeof(vfio_bitmap) with get_dirty_bitmap), flags (unmap_dma_flag; \
       all needs iova and size 0), iova, size in; size out (bytes unmapped), and the dirty bitmap filled. */     \
    X(iommu_unmap_dma, VFIO_IOMMU_UNMAP_DMA, vfio_type, vfio_base + 14, container, inout, vfio_iommu_type1_dma_unmap, status, k6_1) \
    /* VFIO_IOMMU_ENABLE: enables container usage; only the SPAPR TCE backend implements it (Type1: ENOTTY).   \
       No argument. */                                                                                           \
    X(iommu_enable, VFIO_IOMMU_ENABLE, vfio_type, vfio_base + 15, container, none, no_arg, status, k6_1)                 \
    /* VFIO_IOMMU_DISABLE: the reverse of VFIO_IOMMU_ENABLE (SPAPR TCE only). No argument. */                    \
    X(iommu_disable, VFIO_IOMMU_DISABLE, vfio_type, vfio_base + 16, container, none, no_arg, status, k6_1)               \
    /* VFIO_IOMMU_DIRTY_PAGES: flags = one dirty_pages_flag; argsz >= 8 for start/stop, >= 48 for get_bitmap    \
       (data[] = vfio_iommu_type1_dirty_bitmap_get, the bitmap excluded); get_bitmap fills bitmap.data. */       \
    X(iommu_dirty_pages, VFIO_IOMMU_DIRTY_PAGES, vfio_type, vfio_base + 17, container, inout, vfio_iommu_type1_dirty_bitmap, status, k6_1)
// POWER: VFIO_IOMMU_SPAPR_TCE_GET_INFO, VFIO_EEH_PE_OP, VFIO_IOMMU_SPAPR_[UN]REGISTER_MEMORY and
// VFIO_IOMMU_SPAPR_TCE_CREATE/REMOVE left out.
VFIOPP_IOCTL_DEFS(VFIOPP_IOCTLS_vfio, mainline)
}  // namespace vfiopp::uapi::vfio
