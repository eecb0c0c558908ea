// vfiopp/uapi/iommufd.hpp - layout mirror of <linux/iommufd.h> (Linux 7.3), written from the ABI.
//
// Conventions are those of vfio.hpp (see layout.hpp, enums.hpp, ioctl.hpp): structs keep the kernel's names (and
// field names, `__reserved` included, so that the cross-check can compare every field), flags fields are
// bitmask<...>, fields holding one of a kernel enum are that enum family, C arrays are std::array, the anonymous
// union of iommu_hw_info is named (F##_AS in its field list).
//
// Every iommufd ioctl is _IO(';', 0x80 + n) on /dev/iommu and passes a struct whose first u32 `size` is the caller's
// sizeof. The kernel (drivers/iommu/iommufd/main.c, iommufd_fops_ioctl):
//  - EINVAL if size is below the ioctl's minimum (offsetofend of the last field of its first release, given per
//    ioctl below), E2BIG if bytes beyond the kernel's own struct are non-zero (copy_struct_from_user), so a newer
//    mirror than the running kernel works as long as its new fields are zero;
//  - EOPNOTSUPP when a known field holds an unsupported value, non-zero `__reserved` fields and unknown flag bits
//    included; EINVAL for a wrong value; ENOENT for an unknown object ID or IOVA; EOVERFLOW on arithmetic overflow;
//    ENOTTY for an ioctl number it does not know;
//  - writes results back by copying its struct to the caller's buffer (at most `size` bytes).
// Object IDs (IOAS, HWPT, device, fault, vIOMMU, vDEVICE, vEVENTQ, HW queue) share one ID space per iommufd and are
// all released with IOMMU_DESTROY.
//
// SINCE tokens: iommufd appeared in 6.2; versions of later additions are from the kernel's history as far as known,
// rounded up to the next token vfiopp defines (6.14 additions are k6_15) and k7_3 where unknown.
// Longer than 600 lines because it mirrors all of linux/iommufd.h (38 structs, 23 constant families, 22 ioctls,
// each documented where it is declared); one mirror per kernel header keeps it comparable with the kernel's file.
#pragma once

#include <vfiopp/uapi/enums.hpp>
#include <vfiopp/uapi/ioctl.hpp>
#include <vfiopp/uapi/layout.hpp>

namespace vfiopp::uapi {

// X(name, KERNEL_MACRO_or_enumerator, value, since): the ioctl type and the command numbers (_IOC_NR).
#define VFIOPP_CONSTANTS_iommufd(X)                                                         \
    X(iommufd_type, IOMMUFD_TYPE, u32{';'}, k6_2)                                           \
    X(iommufd_cmd_base, IOMMUFD_CMD_BASE, u32{0x80}, k6_2)                                  \
    X(iommufd_cmd_destroy, IOMMUFD_CMD_DESTROY, u32{0x80}, k6_2)                            \
    X(iommufd_cmd_ioas_alloc, IOMMUFD_CMD_IOAS_ALLOC, u32{0x81}, k6_2)                      \
    X(iommufd_cmd_ioas_allow_iovas, IOMMUFD_CMD_IOAS_ALLOW_IOVAS, u32{0x82}, k6_2)          \
    X(iommufd_cmd_ioas_copy, IOMMUFD_CMD_IOAS_COPY, u32{0x83}, k6_2)                        \
    X(iommufd_cmd_ioas_iova_ranges, IOMMUFD_CMD_IOAS_IOVA_RANGES, u32{0x84}, k6_2)          \
    X(iommufd_cmd_ioas_map, IOMMUFD_CMD_IOAS_MAP, u32{0x85}, k6_2)                          \
    X(iommufd_cmd_ioas_unmap, IOMMUFD_CMD_IOAS_UNMAP, u32{0x86}, k6_2)                      \
    X(iommufd_cmd_option, IOMMUFD_CMD_OPTION, u32{0x87}, k6_2)                              \
    X(iommufd_cmd_vfio_ioas, IOMMUFD_CMD_VFIO_IOAS, u32{0x88}, k6_2)                        \
    X(iommufd_cmd_hwpt_alloc, IOMMUFD_CMD_HWPT_ALLOC, u32{0x89}, k6_6)                      \
    X(iommufd_cmd_get_hw_info, IOMMUFD_CMD_GET_HW_INFO, u32{0x8a}, k6_6)                    \
    X(iommufd_cmd_hwpt_set_dirty_tracking, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING, u32{0x8b}, k6_7) \
    X(iommufd_cmd_hwpt_get_dirty_bitmap, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP, u32{0x8c}, k6_7) \
    X(iommufd_cmd_hwpt_invalidate, IOMMUFD_CMD_HWPT_INVALIDATE, u32{0x8d}, k6_8)            \
    X(iommufd_cmd_fault_queue_alloc, IOMMUFD_CMD_FAULT_QUEUE_ALLOC, u32{0x8e}, k6_11)       \
    X(iommufd_cmd_ioas_map_file, IOMMUFD_CMD_IOAS_MAP_FILE, u32{0x8f}, k6_13)               \
    X(iommufd_cmd_viommu_alloc, IOMMUFD_CMD_VIOMMU_ALLOC, u32{0x90}, k6_13)                 \
    X(iommufd_cmd_vdevice_alloc, IOMMUFD_CMD_VDEVICE_ALLOC, u32{0x91}, k6_13)               \
    X(iommufd_cmd_ioas_change_process, IOMMUFD_CMD_IOAS_CHANGE_PROCESS, u32{0x92}, k6_13)   \
    X(iommufd_cmd_veventq_alloc, IOMMUFD_CMD_VEVENTQ_ALLOC, u32{0x93}, k6_15)               \
    X(iommufd_cmd_hw_queue_alloc, IOMMUFD_CMD_HW_QUEUE_ALLOC, u32{0x94}, k6_17)             \
    X(iommufd_cmd_ioas_noiommu_get_pa, IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA, u32{0x95}, k7_3)
VFIOPP_CONSTANTS(VFIOPP_CONSTANTS_iommufd)

// ---- IOMMU_DESTROY ----
/// Destroys any iommufd object by ID.
struct iommu_destroy {
    u32 size;
    u32 id;
};
#define VFIOPP_FIELDS_iommu_destroy(F, T) F(T, size, 0) F(T, id, 4)

// ---- IOMMU_IOAS_ALLOC ----
/// Allocates an IO address space; flags must be 0.
struct iommu_ioas_alloc {
    u32 size;
    u32 flags;
    u32 out_ioas_id;
};
#define VFIOPP_FIELDS_iommu_ioas_alloc(F, T) F(T, size, 0) F(T, flags, 4) F(T, out_ioas_id, 8)

// ---- IOMMU_IOAS_IOVA_RANGES / IOMMU_IOAS_ALLOW_IOVAS ----
/// An IOVA interval, last inclusive; the elements of the arrays at allowed_iovas.
struct iommu_iova_range {
    aligned_u64 start;
    aligned_u64 last;
};
#define VFIOPP_FIELDS_iommu_iova_range(F, T) F(T, start, 0) F(T, last, 8)

/// Reads an IOAS's usable IOVA ranges into the iommu_iova_range array at allowed_iovas (num_iovas entries).
struct iommu_ioas_iova_ranges {
    u32 size;
    u32 ioas_id;
    u32 num_iovas;
    u32 __reserved;
    aligned_u64 allowed_iovas;
    aligned_u64 out_iova_alignment;
};
#define VFIOPP_FIELDS_iommu_ioas_iova_ranges(F, T)                                                     \
    F(T, size, 0) F(T, ioas_id, 4) F(T, num_iovas, 8) F(T, __reserved, 12) F(T, allowed_iovas, 16)  \
    F(T, out_iova_alignment, 24)

/// Replaces an IOAS's list of IOVA ranges that must stay usable (num_iovas iommu_iova_range at allowed_iovas).
struct iommu_ioas_allow_iovas {
    u32 size;
    u32 ioas_id;
    u32 num_iovas;
    u32 __reserved;
    aligned_u64 allowed_iovas;
};
#define VFIOPP_FIELDS_iommu_ioas_allow_iovas(F, T) \
    F(T, size, 0) F(T, ioas_id, 4) F(T, num_iovas, 8) F(T, __reserved, 12) F(T, allowed_iovas, 16)

// ---- IOMMU_IOAS_MAP / IOMMU_IOAS_MAP_FILE / IOMMU_IOAS_COPY ----
#define VFIOPP_ENUM_ioas_map_flag(X)                                 \
    X(fixed_iova, IOMMU_IOAS_MAP_FIXED_IOVA, 1u << 0, k6_2)          \
    X(writeable, IOMMU_IOAS_MAP_WRITEABLE, 1u << 1, k6_2)            \
    X(readable, IOMMU_IOAS_MAP_READABLE, 1u << 2, k6_2)
VFIOPP_FLAGS(ioas_map_flag, u32)

/// Maps user memory [user_va, user_va + length) at iova (in with fixed_iova, else chosen and written back).
struct iommu_ioas_map {
    u32 size;
    bitmask<ioas_map_flag> flags;
    u32 ioas_id;
    u32 __reserved;
    aligned_u64 user_va;
    aligned_u64 length;
    aligned_u64 iova;
};
#define VFIOPP_FIELDS_iommu_ioas_map(F, T)                                                                 \
    F(T, size, 0) F(T, flags, 4) F(T, ioas_id, 8) F(T, __reserved, 12) F(T, user_va, 16) F(T, length, 24) \
    F(T, iova, 32)

/// Looks up the physical address behind an IOVA, for noiommu devices doing unsafe DMA; flags must be 0.
struct iommu_ioas_noiommu_get_pa {
    u32 size;
    u32 flags;
    u32 ioas_id;
    u32 __reserved;
    aligned_u64 iova;
    aligned_u64 length;
    aligned_u64 out_phys;
};
#define VFIOPP_FIELDS_iommu_ioas_noiommu_get_pa(F, T)                                                   \
    F(T, size, 0) F(T, flags, 4) F(T, ioas_id, 8) F(T, __reserved, 12) F(T, iova, 16) F(T, length, 24) \
    F(T, out_phys, 32)

/// As iommu_ioas_map, from a memfd (or a supported dma-buf) at byte offset `start` instead of a user pointer.
struct iommu_ioas_map_file {
    u32 size;
    bitmask<ioas_map_flag> flags;
    u32 ioas_id;
    s32 fd;
    aligned_u64 start;
    aligned_u64 length;
    aligned_u64 iova;
};
#define VFIOPP_FIELDS_iommu_ioas_map_file(F, T)                                                          \
    F(T, size, 0) F(T, flags, 4) F(T, ioas_id, 8) F(T, fd, 12) F(T, start, 16) F(T, length, 24)         \
    F(T, iova, 32)

/// Maps into dst_ioas_id what an earlier IOAS_MAP established in src_ioas_id at [src_iova, src_iova + length).
struct iommu_ioas_copy {
    u32 size;
    bitmask<ioas_map_flag> flags;
    u32 dst_ioas_id;
    u32 src_ioas_id;
    aligned_u64 length;
    aligned_u64 dst_iova;
    aligned_u64 src_iova;
};
#define VFIOPP_FIELDS_iommu_ioas_copy(F, T)                                                                    \
    F(T, size, 0) F(T, flags, 4) F(T, dst_ioas_id, 8) F(T, src_ioas_id, 12) F(T, length, 16) F(T, dst_iova, 24) \
    F(T, src_iova, 32)

// ---- IOMMU_IOAS_UNMAP ----
/// Unmaps whole earlier mappings inside [iova, iova + length); length is written back as the bytes unmapped.
struct iommu_ioas_unmap {
    u32 size;
    u32 ioas_id;
    aligned_u64 iova;
    aligned_u64 length;
};
#define VFIOPP_FIELDS_iommu_ioas_unmap(F, T) F(T, size, 0) F(T, ioas_id, 4) F(T, iova, 8) F(T, length, 16)

// ---- IOMMU_OPTION ----
#define VFIOPP_ENUM_iommufd_option(X)                        \
    X(rlimit_mode, IOMMU_OPTION_RLIMIT_MODE, 0u, k6_2)       \
    X(huge_pages, IOMMU_OPTION_HUGE_PAGES, 1u, k6_2)
VFIOPP_ENUM(iommufd_option, u32)

#define VFIOPP_ENUM_iommufd_option_op(X)      \
    X(set, IOMMU_OPTION_OP_SET, 0u, k6_2)     \
    X(get, IOMMU_OPTION_OP_GET, 1u, k6_2)
VFIOPP_ENUM(iommufd_option_op, u16)

/// Sets or gets one option (global, or of the object object_id) through val64.
struct iommu_option {
    u32 size;
    iommufd_option option_id;
    iommufd_option_op op;
    u16 __reserved;
    u32 object_id;
    aligned_u64 val64;
};
#define VFIOPP_FIELDS_iommu_option(F, T) \
    F(T, size, 0) F(T, option_id, 4) F(T, op, 8) F(T, __reserved, 10) F(T, object_id, 12) F(T, val64, 16)

// ---- IOMMU_VFIO_IOAS ----
#define VFIOPP_ENUM_vfio_ioas_op(X)            \
    X(get, IOMMU_VFIO_IOAS_GET, 0u, k6_2)      \
    X(set, IOMMU_VFIO_IOAS_SET, 1u, k6_2)      \
    X(clear, IOMMU_VFIO_IOAS_CLEAR, 2u, k6_2)
VFIOPP_ENUM(vfio_ioas_op, u16)

/// Gets, sets or clears the IOAS used by the VFIO container compatibility layer.
struct iommu_vfio_ioas {
    u32 size;
    u32 ioas_id;
    vfio_ioas_op op;
    u16 __reserved;
};
#define VFIOPP_FIELDS_iommu_vfio_ioas(F, T) F(T, size, 0) F(T, ioas_id, 4) F(T, op, 8) F(T, __reserved, 10)

// ---- IOMMU_HWPT_ALLOC and its driver data ----
#define VFIOPP_ENUM_hwpt_alloc_flag(X)                                  \
    X(nest_parent, IOMMU_HWPT_ALLOC_NEST_PARENT, 1u << 0, k6_7)         \
    X(dirty_tracking, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 1u << 1, k6_7)   \
    X(fault_id_valid, IOMMU_HWPT_FAULT_ID_VALID, 1u << 2, k6_11)        \
    X(pasid, IOMMU_HWPT_ALLOC_PASID, 1u << 3, k6_15)
VFIOPP_FLAGS(hwpt_alloc_flag, u32)

#define VFIOPP_ENUM_hwpt_vtd_s1_flag(X)            \
    X(sre, IOMMU_VTD_S1_SRE, 1u << 0, k6_7)        \
    X(eafe, IOMMU_VTD_S1_EAFE, 1u << 1, k6_7)      \
    X(wpe, IOMMU_VTD_S1_WPE, 1u << 2, k6_7)
VFIOPP_FLAGS(hwpt_vtd_s1_flag, u64)

/// Intel VT-d stage-1 page table (data_type vtd_s1); the PASID is chosen when the HWPT is attached.
struct iommu_hwpt_vtd_s1 {
    bitmask<hwpt_vtd_s1_flag> flags;
    aligned_u64 pgtbl_addr;
    u32 addr_width;
    u32 __reserved;
};
#define VFIOPP_FIELDS_iommu_hwpt_vtd_s1(F, T) \
    F(T, flags, 0) F(T, pgtbl_addr, 8) F(T, addr_width, 16) F(T, __reserved, 20)

/// ARM SMMUv3 nested STE, first two little-endian double words (data_type arm_smmuv3).
struct iommu_hwpt_arm_smmuv3 {
    std::array<aligned_u64, 2> ste;
};
#define VFIOPP_FIELDS_iommu_hwpt_arm_smmuv3(F, T) F(T, ste, 0)

/// AMD IOMMU guest Device Table Entry (data_type amd_guest).
struct iommu_hwpt_amd_guest {
    std::array<aligned_u64, 4> dte;
};
#define VFIOPP_FIELDS_iommu_hwpt_amd_guest(F, T) F(T, dte, 0)

#define VFIOPP_ENUM_hwpt_data_type(X)                          \
    X(none, IOMMU_HWPT_DATA_NONE, 0u, k6_7)                    \
    X(vtd_s1, IOMMU_HWPT_DATA_VTD_S1, 1u, k6_7)                \
    X(arm_smmuv3, IOMMU_HWPT_DATA_ARM_SMMUV3, 2u, k6_15)       \
    X(amd_guest, IOMMU_HWPT_DATA_AMD_GUEST, 3u, k7_3)
VFIOPP_ENUM(hwpt_data_type, u32)

/// Allocates a HW page table: kernel-managed from an IOAS (data_type none) or user-managed (nested) from a
/// NEST_PARENT HWPT or a vIOMMU, with data_len bytes of driver data (iommu_hwpt_vtd_s1, ...) at data_uptr.
struct iommu_hwpt_alloc {
    u32 size;
    bitmask<hwpt_alloc_flag> flags;
    u32 dev_id;
    u32 pt_id;
    u32 out_hwpt_id;
    u32 __reserved;
    hwpt_data_type data_type;
    u32 data_len;
    aligned_u64 data_uptr;
    u32 fault_id;
    u32 __reserved2;
};
#define VFIOPP_FIELDS_iommu_hwpt_alloc(F, T)                                                                \
    F(T, size, 0) F(T, flags, 4) F(T, dev_id, 8) F(T, pt_id, 12) F(T, out_hwpt_id, 16) F(T, __reserved, 20) \
    F(T, data_type, 24) F(T, data_len, 28) F(T, data_uptr, 32) F(T, fault_id, 40) F(T, __reserved2, 44)

// ---- IOMMU_GET_HW_INFO and its driver data ----
#define VFIOPP_ENUM_hw_info_vtd_flag(X) X(errata_772415_spr17, IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17, 1u << 0, k6_8)
VFIOPP_FLAGS(hw_info_vtd_flag, u32)

/// Intel VT-d capability and extended capability registers (hw_info_type intel_vtd).
struct iommu_hw_info_vtd {
    bitmask<hw_info_vtd_flag> flags;
    u32 __reserved;
    aligned_u64 cap_reg;
    aligned_u64 ecap_reg;
};
#define VFIOPP_FIELDS_iommu_hw_info_vtd(F, T) F(T, flags, 0) F(T, __reserved, 4) F(T, cap_reg, 8) F(T, ecap_reg, 16)

#define VFIOPP_ENUM_hw_info_arm_smmuv3_flag(X) \
    X(errata_repeat_tlbi_cfgi, IOMMU_HW_INFO_ARM_SMMUV3_ERRATA_REPEAT_TLBI_CFGI, 1u << 0, k7_3)
VFIOPP_FLAGS(hw_info_arm_smmuv3_flag, u32)

/// ARM SMMUv3 ID registers (hw_info_type arm_smmuv3); only the fields the kernel documents may be read.
struct iommu_hw_info_arm_smmuv3 {
    bitmask<hw_info_arm_smmuv3_flag> flags;
    u32 __reserved;
    std::array<u32, 6> idr;
    u32 iidr;
    u32 aidr;
};
#define VFIOPP_FIELDS_iommu_hw_info_arm_smmuv3(F, T) \
    F(T, flags, 0) F(T, __reserved, 4) F(T, idr, 8) F(T, iidr, 32) F(T, aidr, 36)

/// NVIDIA Tegra241 CMDQV parameters (hw_info_type tegra241_cmdqv); flags must be 0.
struct iommu_hw_info_tegra241_cmdqv {
    u32 flags;
    u8 version;
    u8 log2vcmdqs;
    u8 log2vsids;
    u8 __reserved;
};
#define VFIOPP_FIELDS_iommu_hw_info_tegra241_cmdqv(F, T) \
    F(T, flags, 0) F(T, version, 4) F(T, log2vcmdqs, 5) F(T, log2vsids, 6) F(T, __reserved, 7)

/// AMD IOMMU extended feature registers EFR and EFR2 (hw_info_type amd).
struct iommu_hw_info_amd {
    aligned_u64 efr;
    aligned_u64 efr2;
};
#define VFIOPP_FIELDS_iommu_hw_info_amd(F, T) F(T, efr, 0) F(T, efr2, 8)

// none (output: the driver reports no data) and default_ (input: the driver's default type) are both 0.
#define VFIOPP_ENUM_hw_info_type(X)                                      \
    X(none, IOMMU_HW_INFO_TYPE_NONE, 0u, k6_6)                           \
    X(default_, IOMMU_HW_INFO_TYPE_DEFAULT, 0u, k6_17)                   \
    X(intel_vtd, IOMMU_HW_INFO_TYPE_INTEL_VTD, 1u, k6_6)                 \
    X(arm_smmuv3, IOMMU_HW_INFO_TYPE_ARM_SMMUV3, 2u, k6_15)              \
    X(tegra241_cmdqv, IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV, 3u, k6_17)      \
    X(amd, IOMMU_HW_INFO_TYPE_AMD, 4u, k7_3)
VFIOPP_ENUM(hw_info_type, u32)

#define VFIOPP_ENUM_hw_capability(X)                                                  \
    X(dirty_tracking, IOMMU_HW_CAP_DIRTY_TRACKING, 1u << 0, k6_7)                     \
    X(pci_pasid_exec, IOMMU_HW_CAP_PCI_PASID_EXEC, 1u << 1, k6_15)                    \
    X(pci_pasid_priv, IOMMU_HW_CAP_PCI_PASID_PRIV, 1u << 2, k6_15)                    \
    X(pci_ats_not_supported, IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED, 1u << 3, k7_3)
VFIOPP_FLAGS(hw_capability, u64)

#define VFIOPP_ENUM_hw_info_flag(X) X(input_type, IOMMU_HW_INFO_FLAG_INPUT_TYPE, 1u << 0, k6_17)
VFIOPP_FLAGS(hw_info_flag, u32)

/// Reads the IOMMU behind dev_id: driver data (iommu_hw_info_vtd, ...) into data_len bytes at data_uptr, its type,
/// PASID width and capabilities.
struct iommu_hw_info {
    /// The kernel's anonymous union: in_data_type is read with hw_info_flag::input_type, out_data_type is written.
    union data_type_union {
        hw_info_type in_data_type;
        hw_info_type out_data_type;
    };
    u32 size;
    bitmask<hw_info_flag> flags;
    u32 dev_id;
    u32 data_len;
    aligned_u64 data_uptr;
    data_type_union data_type;
    u8 out_max_pasid_log2;
    std::array<u8, 3> __reserved;
    bitmask<hw_capability> out_capabilities;
};
#define VFIOPP_FIELDS_iommu_hw_info(F, T)                                                                    \
    F(T, size, 0) F(T, flags, 4) F(T, dev_id, 8) F(T, data_len, 12) F(T, data_uptr, 16)                     \
    F##_AS(T, data_type, 24, out_data_type) F(T, out_max_pasid_log2, 28) F(T, __reserved, 29)                \
    F(T, out_capabilities, 32)

// ---- IOMMU_HWPT_SET_DIRTY_TRACKING / IOMMU_HWPT_GET_DIRTY_BITMAP ----
#define VFIOPP_ENUM_hwpt_set_dirty_tracking_flag(X) X(enable, IOMMU_HWPT_DIRTY_TRACKING_ENABLE, 1u, k6_7)
VFIOPP_FLAGS(hwpt_set_dirty_tracking_flag, u32)

/// Turns dirty tracking of a HWPT on (flags enable) or off (flags 0).
struct iommu_hwpt_set_dirty_tracking {
    u32 size;
    bitmask<hwpt_set_dirty_tracking_flag> flags;
    u32 hwpt_id;
    u32 __reserved;
};
#define VFIOPP_FIELDS_iommu_hwpt_set_dirty_tracking(F, T) \
    F(T, size, 0) F(T, flags, 4) F(T, hwpt_id, 8) F(T, __reserved, 12)

#define VFIOPP_ENUM_hwpt_get_dirty_bitmap_flag(X) X(no_clear, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, 1u, k6_7)
VFIOPP_FLAGS(hwpt_get_dirty_bitmap_flag, u32)

/// Writes a bitmap (one bit per page_size of [iova, iova + length)) of dirty IOVAs to `data`.
struct iommu_hwpt_get_dirty_bitmap {
    u32 size;
    u32 hwpt_id;
    bitmask<hwpt_get_dirty_bitmap_flag> flags;
    u32 __reserved;
    aligned_u64 iova;
    aligned_u64 length;
    aligned_u64 page_size;
    aligned_u64 data;
};
#define VFIOPP_FIELDS_iommu_hwpt_get_dirty_bitmap(F, T)                                                \
    F(T, size, 0) F(T, hwpt_id, 4) F(T, flags, 8) F(T, __reserved, 12) F(T, iova, 16) F(T, length, 24) \
    F(T, page_size, 32) F(T, data, 40)

// ---- IOMMU_HWPT_INVALIDATE and its entries ----
#define VFIOPP_ENUM_hwpt_invalidate_data_type(X)                                  \
    X(vtd_s1, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 0u, k6_8)                        \
    X(viommu_arm_smmuv3, IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, 1u, k6_15)
VFIOPP_ENUM(hwpt_invalidate_data_type, u32)

#define VFIOPP_ENUM_hwpt_vtd_s1_invalidate_flag(X) X(leaf, IOMMU_VTD_INV_FLAGS_LEAF, 1u << 0, k6_8)
VFIOPP_FLAGS(hwpt_vtd_s1_invalidate_flag, u32)

/// One VT-d stage-1 invalidation (data_type vtd_s1): npages 4 KiB pages from addr; addr 0 + npages U64_MAX = all.
struct iommu_hwpt_vtd_s1_invalidate {
    aligned_u64 addr;
    aligned_u64 npages;
    bitmask<hwpt_vtd_s1_invalidate_flag> flags;
    u32 __reserved;
};
#define VFIOPP_FIELDS_iommu_hwpt_vtd_s1_invalidate(F, T) \
    F(T, addr, 0) F(T, npages, 8) F(T, flags, 16) F(T, __reserved, 20)

/// One ARM SMMUv3 CMDQ command, little-endian (data_type viommu_arm_smmuv3, hwpt_id a vIOMMU).
struct iommu_viommu_arm_smmuv3_invalidate {
    std::array<aligned_u64, 2> cmd;
};
#define VFIOPP_FIELDS_iommu_viommu_arm_smmuv3_invalidate(F, T) F(T, cmd, 0)

/// Invalidates caches of a nested HWPT or a vIOMMU with entry_num entries of entry_len bytes at data_uptr.
struct iommu_hwpt_invalidate {
    u32 size;
    u32 hwpt_id;
    aligned_u64 data_uptr;
    hwpt_invalidate_data_type data_type;
    u32 entry_len;
    u32 entry_num;
    u32 __reserved;
};
#define VFIOPP_FIELDS_iommu_hwpt_invalidate(F, T)                                                        \
    F(T, size, 0) F(T, hwpt_id, 4) F(T, data_uptr, 8) F(T, data_type, 16) F(T, entry_len, 20)          \
    F(T, entry_num, 24) F(T, __reserved, 28)

// ---- fault queue: records read from and responses written to the fault fd ----
#define VFIOPP_ENUM_hwpt_pgfault_flag(X)                                 \
    X(pasid_valid, IOMMU_PGFAULT_FLAGS_PASID_VALID, 1u << 0, k6_11)      \
    X(last_page, IOMMU_PGFAULT_FLAGS_LAST_PAGE, 1u << 1, k6_11)
VFIOPP_FLAGS(hwpt_pgfault_flag, u32)

#define VFIOPP_ENUM_hwpt_pgfault_perm(X)                     \
    X(read, IOMMU_PGFAULT_PERM_READ, 1u << 0, k6_11)         \
    X(write, IOMMU_PGFAULT_PERM_WRITE, 1u << 1, k6_11)       \
    X(exec, IOMMU_PGFAULT_PERM_EXEC, 1u << 2, k6_11)         \
    X(priv, IOMMU_PGFAULT_PERM_PRIV, 1u << 3, k6_11)
VFIOPP_FLAGS(hwpt_pgfault_perm, u32)

/// One page fault record, read() from the fault fd of IOMMU_FAULT_QUEUE_ALLOC. The explicit __reserved (the
/// former implicit padding at 20) appeared after 6.11, hence k6_15.
struct iommu_hwpt_pgfault {
    bitmask<hwpt_pgfault_flag> flags;
    u32 dev_id;
    u32 pasid;
    u32 grpid;
    bitmask<hwpt_pgfault_perm> perm;
    u32 __reserved;
    aligned_u64 addr;
    u32 length;
    u32 cookie;
};
#define VFIOPP_FIELDS_iommu_hwpt_pgfault(F, T)                                                        \
    F(T, flags, 0) F(T, dev_id, 4) F(T, pasid, 8) F(T, grpid, 12) F(T, perm, 16) F(T, __reserved, 20) \
    F(T, addr, 24) F(T, length, 32) F(T, cookie, 36)

#define VFIOPP_ENUM_hwpt_page_response_code(X)                 \
    X(success, IOMMUFD_PAGE_RESP_SUCCESS, 0u, k6_11)           \
    X(invalid, IOMMUFD_PAGE_RESP_INVALID, 1u, k6_11)
VFIOPP_ENUM(hwpt_page_response_code, u32)

/// A page fault response, write() to the fault fd; cookie echoes the last fault of the group.
struct iommu_hwpt_page_response {
    u32 cookie;
    hwpt_page_response_code code;
};
#define VFIOPP_FIELDS_iommu_hwpt_page_response(F, T) F(T, cookie, 0) F(T, code, 4)

// ---- IOMMU_FAULT_QUEUE_ALLOC ----
/// Allocates a fault queue object and its fd; flags must be 0.
struct iommu_fault_alloc {
    u32 size;
    u32 flags;
    u32 out_fault_id;
    u32 out_fault_fd;
};
#define VFIOPP_FIELDS_iommu_fault_alloc(F, T) F(T, size, 0) F(T, flags, 4) F(T, out_fault_id, 8) F(T, out_fault_fd, 12)

// ---- IOMMU_VIOMMU_ALLOC ----
#define VFIOPP_ENUM_viommu_type(X)                                         \
    X(default_, IOMMU_VIOMMU_TYPE_DEFAULT, 0u, k6_13)                      \
    X(arm_smmuv3, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 1u, k6_15)                 \
    X(tegra241_cmdqv, IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV, 2u, k6_17)
VFIOPP_ENUM(viommu_type, u32)

/// Tegra241 CMDQV vIOMMU data (viommu_type tegra241_cmdqv): the kernel returns where to mmap VINTF page0.
struct iommu_viommu_tegra241_cmdqv {
    aligned_u64 out_vintf_mmap_offset;
    aligned_u64 out_vintf_mmap_length;
};
#define VFIOPP_FIELDS_iommu_viommu_tegra241_cmdqv(F, T) F(T, out_vintf_mmap_offset, 0) F(T, out_vintf_mmap_length, 8)

/// Allocates a virtual IOMMU of `type` over a nesting parent HWPT for dev_id's IOMMU; flags must be 0. The
/// data_len/__reserved/data_uptr tail appeared in 6.17 (24 bytes before).
struct iommu_viommu_alloc {
    u32 size;
    u32 flags;
    viommu_type type;
    u32 dev_id;
    u32 hwpt_id;
    u32 out_viommu_id;
    u32 data_len;
    u32 __reserved;
    aligned_u64 data_uptr;
};
#define VFIOPP_FIELDS_iommu_viommu_alloc(F, T)                                                              \
    F(T, size, 0) F(T, flags, 4) F(T, type, 8) F(T, dev_id, 12) F(T, hwpt_id, 16) F(T, out_viommu_id, 20) \
    F(T, data_len, 24) F(T, __reserved, 28) F(T, data_uptr, 32)

// ---- IOMMU_VDEVICE_ALLOC ----
/// Allocates a virtual device (dev_id seen by the guest as virt_id: vSID, vDeviceID, vRID) on a vIOMMU.
struct iommu_vdevice_alloc {
    u32 size;
    u32 viommu_id;
    u32 dev_id;
    u32 out_vdevice_id;
    aligned_u64 virt_id;
};
#define VFIOPP_FIELDS_iommu_vdevice_alloc(F, T) \
    F(T, size, 0) F(T, viommu_id, 4) F(T, dev_id, 8) F(T, out_vdevice_id, 12) F(T, virt_id, 16)

// ---- IOMMU_IOAS_CHANGE_PROCESS ----
/// Moves the pinned-memory accounting of every IOAS_MAP_FILE mapping to the calling process.
struct iommu_ioas_change_process {
    u32 size;
    u32 __reserved;
};
#define VFIOPP_FIELDS_iommu_ioas_change_process(F, T) F(T, size, 0) F(T, __reserved, 4)

// ---- IOMMU_VEVENTQ_ALLOC and the records read from a vEVENTQ fd ----
#define VFIOPP_ENUM_veventq_flag(X) X(lost_events, IOMMU_VEVENTQ_FLAG_LOST_EVENTS, 1u << 0, k6_15)
VFIOPP_FLAGS(veventq_flag, u32)

/// Header of every vEVENT read from a vEVENTQ fd; a gap in sequence (or flags lost_events) means lost events.
struct iommufd_vevent_header {
    bitmask<veventq_flag> flags;
    u32 sequence;
};
#define VFIOPP_FIELDS_iommufd_vevent_header(F, T) F(T, flags, 0) F(T, sequence, 4)

#define VFIOPP_ENUM_veventq_type(X)                                          \
    X(default_, IOMMU_VEVENTQ_TYPE_DEFAULT, 0u, k6_15)                       \
    X(arm_smmuv3, IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, 1u, k6_15)                  \
    X(tegra241_cmdqv, IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV, 2u, k6_17)
VFIOPP_ENUM(veventq_type, u32)

/// ARM SMMUv3 event record, little-endian (veventq_type arm_smmuv3); StreamID is the vDEVICE's virt_id.
struct iommu_vevent_arm_smmuv3 {
    std::array<aligned_u64, 4> evt;
};
#define VFIOPP_FIELDS_iommu_vevent_arm_smmuv3(F, T) F(T, evt, 0)

/// Tegra241 CMDQV logical VCMDQ error map, little-endian (veventq_type tegra241_cmdqv).
struct iommu_vevent_tegra241_cmdqv {
    std::array<aligned_u64, 2> lvcmdq_err_map;
};
#define VFIOPP_FIELDS_iommu_vevent_tegra241_cmdqv(F, T) F(T, lvcmdq_err_map, 0)

/// Allocates a virtual event queue (one per type per vIOMMU) and its fd; flags must be 0.
struct iommu_veventq_alloc {
    u32 size;
    u32 flags;
    u32 viommu_id;
    veventq_type type;
    u32 veventq_depth;
    u32 out_veventq_id;
    u32 out_veventq_fd;
    u32 __reserved;
};
#define VFIOPP_FIELDS_iommu_veventq_alloc(F, T)                                                                 \
    F(T, size, 0) F(T, flags, 4) F(T, viommu_id, 8) F(T, type, 12) F(T, veventq_depth, 16)                     \
    F(T, out_veventq_id, 20) F(T, out_veventq_fd, 24) F(T, __reserved, 28)

// ---- IOMMU_HW_QUEUE_ALLOC ----
#define VFIOPP_ENUM_hw_queue_type(X)                                         \
    X(default_, IOMMU_HW_QUEUE_TYPE_DEFAULT, 0u, k6_17)                      \
    X(tegra241_cmdqv, IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV, 1u, k6_17)
VFIOPP_ENUM(hw_queue_type, u32)

/// Allocates a HW-accelerated queue of a vIOMMU over guest memory [nesting_parent_iova, + length); flags must be 0.
struct iommu_hw_queue_alloc {
    u32 size;
    u32 flags;
    u32 viommu_id;
    hw_queue_type type;
    u32 index;
    u32 out_hw_queue_id;
    aligned_u64 nesting_parent_iova;
    aligned_u64 length;
};
#define VFIOPP_FIELDS_iommu_hw_queue_alloc(F, T)                                                          \
    F(T, size, 0) F(T, flags, 4) F(T, viommu_id, 8) F(T, type, 12) F(T, index, 16)                       \
    F(T, out_hw_queue_id, 20) F(T, nesting_parent_iova, 24) F(T, length, 32)

// ---- every enum family of this header (for the cross-check) ----
#define VFIOPP_ENUMS_iommufd(X)                                                                             \
    X(ioas_map_flag) X(iommufd_option) X(iommufd_option_op) X(vfio_ioas_op) X(hwpt_alloc_flag)              \
    X(hwpt_vtd_s1_flag) X(hwpt_data_type) X(hw_info_vtd_flag) X(hw_info_arm_smmuv3_flag) X(hw_info_type)   \
    X(hw_capability) X(hw_info_flag) X(hwpt_set_dirty_tracking_flag) X(hwpt_get_dirty_bitmap_flag)          \
    X(hwpt_invalidate_data_type) X(hwpt_vtd_s1_invalidate_flag) X(hwpt_pgfault_flag) X(hwpt_pgfault_perm)   \
    X(hwpt_page_response_code) X(viommu_type) X(veventq_flag) X(veventq_type) X(hw_queue_type)

// ---- every struct of this header: (name, size, align, since) ----
#define VFIOPP_STRUCTS_iommufd(X)                          \
    X(iommu_destroy, 8, 4, k6_2)                           \
    X(iommu_ioas_alloc, 12, 4, k6_2)                       \
    X(iommu_iova_range, 16, 8, k6_2)                       \
    X(iommu_ioas_iova_ranges, 32, 8, k6_2)                 \
    X(iommu_ioas_allow_iovas, 24, 8, k6_2)                 \
    X(iommu_ioas_map, 40, 8, k6_2)                         \
    X(iommu_ioas_noiommu_get_pa, 40, 8, k7_3)              \
    X(iommu_ioas_map_file, 40, 8, k6_13)                   \
    X(iommu_ioas_copy, 40, 8, k6_2)                        \
    X(iommu_ioas_unmap, 24, 8, k6_2)                       \
    X(iommu_option, 24, 8, k6_2)                           \
    X(iommu_vfio_ioas, 12, 4, k6_2)                        \
    X(iommu_hwpt_vtd_s1, 24, 8, k6_7)                      \
    X(iommu_hwpt_arm_smmuv3, 16, 8, k6_15)                 \
    X(iommu_hwpt_amd_guest, 32, 8, k7_3)                   \
    X(iommu_hwpt_alloc, 48, 8, k6_11)                      \
    X(iommu_hw_info_vtd, 24, 8, k6_6)                      \
    X(iommu_hw_info_arm_smmuv3, 40, 4, k6_15)              \
    X(iommu_hw_info_tegra241_cmdqv, 8, 4, k6_17)           \
    X(iommu_hw_info_amd, 16, 8, k7_3)                      \
    X(iommu_hw_info, 40, 8, k6_17)                         \
    X(iommu_hwpt_set_dirty_tracking, 16, 4, k6_7)          \
    X(iommu_hwpt_get_dirty_bitmap, 48, 8, k6_7)            \
    X(iommu_hwpt_vtd_s1_invalidate, 24, 8, k6_8)           \
    X(iommu_viommu_arm_smmuv3_invalidate, 16, 8, k6_15)    \
    X(iommu_hwpt_invalidate, 32, 8, k6_8)                  \
    X(iommu_hwpt_pgfault, 40, 8, k6_15)                    \
    X(iommu_hwpt_page_response, 8, 4, k6_11)               \
    X(iommu_fault_alloc, 16, 4, k6_11)                     \
    X(iommu_viommu_tegra241_cmdqv, 16, 8, k6_17)           \
    X(iommu_viommu_alloc, 40, 8, k6_17)                    \
    X(iommu_vdevice_alloc, 24, 8, k6_13)                   \
    X(iommu_ioas_change_process, 8, 4, k6_13)              \
    X(iommufd_vevent_header, 8, 4, k6_15)                  \
    X(iommu_vevent_arm_smmuv3, 32, 8, k6_15)               \
    X(iommu_vevent_tegra241_cmdqv, 16, 8, k6_17)           \
    X(iommu_veventq_alloc, 32, 4, k6_15)                   \
    X(iommu_hw_queue_alloc, 40, 8, k6_17)
VFIOPP_STRUCTS_iommufd(VFIOPP_LAYOUT)
// The new fds these structs carry back (their ioctls return out_fd): owned by a unique_fd from the submit on.
VFIOPP_OUT_FD(iommu_fault_alloc, out_fault_fd)
VFIOPP_OUT_FD(iommu_veventq_alloc, out_veventq_fd)

}  // namespace vfiopp::uapi

namespace vfiopp::uapi::iommufd {

// X(cxx_name, KERNEL_MACRO, type, nr, fd, arg, ArgType, returns, since). "size >= N": the kernel's minimum (EINVAL below);
// pass sizeof(ArgType). E2BIG / EOPNOTSUPP / ENOENT as described at the top of this file apply to all of them.
#define VFIOPP_IOCTLS_iommufd(X)                                                                                     \
    /* IOMMU_DESTROY: size >= 8. Destroys object `id` of any type; ENOENT if there is none, EBUSY while another     \
       object or a device still uses it (an IOAS with HWPTs, a HWPT with attached devices, ...). */                 \
    X(destroy, IOMMU_DESTROY, iommufd_type, iommufd_cmd_destroy, iommufd, in, iommu_destroy, status, k6_2)                   \
    /* IOMMU_IOAS_ALLOC: size >= 12, flags must be 0 (EOPNOTSUPP). Writes back out_ioas_id. */                      \
    X(ioas_alloc, IOMMU_IOAS_ALLOC, iommufd_type, iommufd_cmd_ioas_alloc, iommufd, inout, iommu_ioas_alloc, status, k6_2)    \
    /* IOMMU_IOAS_ALLOW_IOVAS: size >= 24, __reserved 0. Replaces the IOAS's allowed list with num_iovas            \
       iommu_iova_range at allowed_iovas (num_iovas 0 clears it); fails if the IOAS is already narrower than a       \
       given range (an attached device reserves part of it). */                           \
    X(ioas_allow_iovas, IOMMU_IOAS_ALLOW_IOVAS, iommufd_type, iommufd_cmd_ioas_allow_iovas, iommufd, in,            \
      iommu_ioas_allow_iovas, status, k6_2)                                                                                  \
    /* IOMMU_IOAS_COPY: size >= 40, flags of ioas_map_flag (dst_iova in with fixed_iova, else written back). The     \
       source range must exactly match an earlier IOAS_MAP; the pages are pinned once for both IOASes. */            \
    X(ioas_copy, IOMMU_IOAS_COPY, iommufd_type, iommufd_cmd_ioas_copy, iommufd, inout, iommu_ioas_copy, status, k6_2)        \
    /* IOMMU_IOAS_IOVA_RANGES: size >= 32, __reserved 0. In: num_iovas = capacity of the iommu_iova_range array at   \
       allowed_iovas. Out: num_iovas = total number of ranges, the array filled as space permits, and               \
       out_iova_alignment (1 .. PAGE_SIZE). EMSGSIZE (with num_iovas set to the number needed) when the array is     \
       too small: grow it and retry. Ranges narrow with every attached device: re-read after attach/detach. */       \
    X(ioas_iova_ranges, IOMMU_IOAS_IOVA_RANGES, iommufd_type, iommufd_cmd_ioas_iova_ranges, iommufd, inout,         \
      iommu_ioas_iova_ranges, status, k6_2)                                                                                  \
    /* IOMMU_IOAS_MAP: size >= 40, __reserved 0, flags of ioas_map_flag (readable/writeable give the DMA access).    \
       With fixed_iova, iova is in and the range must be unused (EEXIST); without it the kernel picks an IOVA        \
       within the allowed ranges and writes it back. user_va/length/iova must respect out_iova_alignment. */          \
    X(ioas_map, IOMMU_IOAS_MAP, iommufd_type, iommufd_cmd_ioas_map, iommufd, inout, iommu_ioas_map, status, k6_2)            \
    /* IOMMU_IOAS_UNMAP: size >= 24. Unmaps every mapping inside [iova, iova + length) (0 .. U64_MAX: all);         \
       splitting a mapping is refused. Writes back length = the bytes unmapped.                  */                  \
    X(ioas_unmap, IOMMU_IOAS_UNMAP, iommufd_type, iommufd_cmd_ioas_unmap, iommufd, inout, iommu_ioas_unmap, status, k6_2)    \
    /* IOMMU_OPTION: size >= 24, __reserved 0 (EOPNOTSUPP). op set loads val64, op get writes val64 back.           \
       rlimit_mode is global (object_id 0, privileged to set: EPERM), huge_pages is per IOAS (object_id = IOAS). \
       Unknown option_id or op: EOPNOTSUPP. */                                                                      \
    X(option, IOMMU_OPTION, iommufd_type, iommufd_cmd_option, iommufd, inout, iommu_option, status, k6_2)                    \
    /* IOMMU_VFIO_IOAS: size >= 12, __reserved 0. op get writes back ioas_id of the VFIO-compat IOAS (ENOENT if      \
       none), set makes ioas_id that IOAS, clear disables compatibility. */                                          \
    X(vfio_ioas, IOMMU_VFIO_IOAS, iommufd_type, iommufd_cmd_vfio_ioas, iommufd, inout, iommu_vfio_ioas, status, k6_2)        \
    /* IOMMU_HWPT_ALLOC: size >= 24 (through __reserved; 40 adds the data fields, 48 fault_id), __reserved and       \
       __reserved2 0, flags of hwpt_alloc_flag (unknown: EOPNOTSUPP). data_type none: kernel-managed HWPT of IOAS    \
       pt_id (data_len/data_uptr 0); otherwise a nested HWPT over a NEST_PARENT HWPT or vIOMMU pt_id with data_len   \
       bytes of driver data at data_uptr (EOPNOTSUPP if the driver lacks that type). fault_id is read only with      \
       fault_id_valid. Writes back out_hwpt_id. */                                                                  \
    X(hwpt_alloc, IOMMU_HWPT_ALLOC, iommufd_type, iommufd_cmd_hwpt_alloc, iommufd, inout, iommu_hwpt_alloc, status, k6_6)    \
    /* IOMMU_GET_HW_INFO: size >= 32, __reserved 0, flags of hw_info_flag (with input_type, data_type.in_data_type   \
       selects the info type). The kernel fills min(data_len, its length) bytes at data_uptr and zeroes the rest of  \
       the buffer, then writes back data_len = its length, data_type.out_data_type, out_max_pasid_log2 and           \
       out_capabilities. data_len 0 is allowed (probe the length). */                                               \
    X(get_hw_info, IOMMU_GET_HW_INFO, iommufd_type, iommufd_cmd_get_hw_info, iommufd, inout, iommu_hw_info, status, k6_6)    \
    /* IOMMU_HWPT_SET_DIRTY_TRACKING: size >= 16, __reserved 0, flags enable or 0 (unknown bits: EOPNOTSUPP). The   \
       HWPT must be allocated with hwpt_alloc_flag::dirty_tracking. Nothing is written back. */                    \
    X(hwpt_set_dirty_tracking, IOMMU_HWPT_SET_DIRTY_TRACKING, iommufd_type, iommufd_cmd_hwpt_set_dirty_tracking,    \
      iommufd, in, iommu_hwpt_set_dirty_tracking, status, k6_7)                                                              \
    /* IOMMU_HWPT_GET_DIRTY_BITMAP: size >= 48, __reserved 0, flags no_clear or 0. The kernel sets one bit per dirty  \
       page_size page of [iova, iova + length) in the u64 bitmap at `data` (bit (iova/page_size) % 64 of word        \
       (iova/page_size) / 64) and clears the dirty state unless no_clear; iova/length must be page_size aligned      \
       (EINVAL). The struct itself is not written back. */                                                          \
    X(hwpt_get_dirty_bitmap, IOMMU_HWPT_GET_DIRTY_BITMAP, iommufd_type, iommufd_cmd_hwpt_get_dirty_bitmap, iommufd, \
      in, iommu_hwpt_get_dirty_bitmap, status, k6_7)                                                                         \
    /* IOMMU_HWPT_INVALIDATE: size >= 32, __reserved 0 (EOPNOTSUPP). hwpt_id is a nested HWPT or a vIOMMU;           \
       entry_num entries of entry_len bytes of data_type at data_uptr (each copied like a struct: shorter is zero-   \
       extended, longer needs a zero tail). entry_num 0 probes whether data_type is supported; entry_num != 0 with   \
       entry_len or data_uptr 0 is EINVAL. On every return, errors included, the kernel writes back entry_num =      \
       the number of entries handled. */                                                                            \
    X(hwpt_invalidate, IOMMU_HWPT_INVALIDATE, iommufd_type, iommufd_cmd_hwpt_invalidate, iommufd, inout,            \
      iommu_hwpt_invalidate, status, k6_8)                                                                                   \
    /* IOMMU_FAULT_QUEUE_ALLOC: size >= 16, flags must be 0 (EOPNOTSUPP). Writes back out_fault_id (for              \
       iommu_hwpt_alloc::fault_id) and out_fault_fd: read() iommu_hwpt_pgfault records from it, write()             \
       iommu_hwpt_page_response; close it when done. */                                                              \
    X(fault_queue_alloc, IOMMU_FAULT_QUEUE_ALLOC, iommufd_type, iommufd_cmd_fault_queue_alloc, iommufd, inout,      \
      iommu_fault_alloc, out_fd, k6_11)                                                                                      \
    /* IOMMU_IOAS_MAP_FILE: size >= 40, flags of ioas_map_flag; as IOMMU_IOAS_MAP with memfd (or a supported         \
       dma-buf) fd at byte offset start instead of user_va. Writes back iova unless fixed_iova. */                  \
    X(ioas_map_file, IOMMU_IOAS_MAP_FILE, iommufd_type, iommufd_cmd_ioas_map_file, iommufd, inout,                  \
      iommu_ioas_map_file, status, k6_13)                                                                                    \
    /* IOMMU_VIOMMU_ALLOC: size >= 24 (through out_viommu_id; 40 adds the driver data), flags 0, __reserved 0.       \
       type of viommu_type (unsupported: EOPNOTSUPP), hwpt_id a NEST_PARENT HWPT, optional data_len bytes of driver  \
       data at data_uptr (the kernel may write outputs there, e.g. iommu_viommu_tegra241_cmdqv). Writes back         \
       out_viommu_id. */                                                                                            \
    X(viommu_alloc, IOMMU_VIOMMU_ALLOC, iommufd_type, iommufd_cmd_viommu_alloc, iommufd, inout, iommu_viommu_alloc,  \
      status, k6_13)                                                                                                         \
    /* IOMMU_VDEVICE_ALLOC: size >= 24. Binds dev_id to viommu_id as virt_id (once per device); writes back           \
       out_vdevice_id. Destroy it (IOMMU_DESTROY) before closing the VFIO device fd. */                              \
    X(vdevice_alloc, IOMMU_VDEVICE_ALLOC, iommufd_type, iommufd_cmd_vdevice_alloc, iommufd, inout,                  \
      iommu_vdevice_alloc, status, k6_13)                                                                                    \
    /* IOMMU_IOAS_CHANGE_PROCESS: size >= 8, __reserved 0 (EOPNOTSUPP). Moves the pinned-page accounting of all      \
       mappings to the calling process; EINVAL if any mapping was not made with IOAS_MAP_FILE; all or nothing. */    \
    X(ioas_change_process, IOMMU_IOAS_CHANGE_PROCESS, iommufd_type, iommufd_cmd_ioas_change_process, iommufd, in,   \
      iommu_ioas_change_process, status, k6_13)                                                                              \
    /* IOMMU_VEVENTQ_ALLOC: size >= 28 (through out_veventq_fd), flags 0, __reserved 0. One queue per type per       \
       vIOMMU, veventq_depth events at most (then lost_events). Writes back out_veventq_id and              \
       out_veventq_fd: read() iommufd_vevent_header + type-specific records from it; close it when done. */         \
    X(veventq_alloc, IOMMU_VEVENTQ_ALLOC, iommufd_type, iommufd_cmd_veventq_alloc, iommufd, inout,                  \
      iommu_veventq_alloc, out_fd, k6_15)                                                                                    \
    /* IOMMU_HW_QUEUE_ALLOC: size >= 40, flags 0. type of hw_queue_type, index unique per type and vIOMMU, queue     \
       memory [nesting_parent_iova, + length) must be mapped in the parent IOAS. Writes back out_hw_queue_id. */    \
    X(hw_queue_alloc, IOMMU_HW_QUEUE_ALLOC, iommufd_type, iommufd_cmd_hw_queue_alloc, iommufd, inout,               \
      iommu_hw_queue_alloc, status, k6_17)                                                                                   \
    /* IOMMU_IOAS_NOIOMMU_GET_PA: size 40, flags 0, __reserved 0; noiommu (unsafe DMA) devices only. In: iova (must  \
       be mapped) and length > 0 (the most to query). Out: out_phys and length = the physically contiguous bytes     \
       from out_phys. */                                                                                             \
    X(ioas_noiommu_get_pa, IOMMU_IOAS_NOIOMMU_GET_PA, iommufd_type, iommufd_cmd_ioas_noiommu_get_pa, iommufd, inout, \
      iommu_ioas_noiommu_get_pa, status, k7_3)
VFIOPP_IOCTL_DEFS(VFIOPP_IOCTLS_iommufd, mainline)
}  // namespace vfiopp::uapi::iommufd
