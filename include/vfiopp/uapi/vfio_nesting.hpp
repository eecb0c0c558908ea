// vfiopp/uapi/vfio_nesting.hpp - the 2020 VFIO vSVA proposal (Liu Yi L, never merged), in two ABI revisions.
//
// VFIO_IOMMU_PASID_REQUEST allocates/frees host PASIDs for a VM; VFIO_IOMMU_NESTING_OP binds a guest stage-1 page
// table to a host PASID, unbinds it, or invalidates stage-1 caches, with the payload structs of the 5.10
// <linux/iommu.h> (iommu.hpp). Two revisions are mirrored, because they are not compatible:
//
//   namespace seed - Yi Liu's reply "RE: [PATCH v1 7/8] vfio/type1: Add VFIO_IOMMU_CACHE_INVALIDATE", 16 Apr 2020:
//                    PASID_REQUEST = VFIO_BASE+22 with an out field `pasid` (20 bytes); NESTING_OP = VFIO_BASE+23
//                    with the op in its own field, so data[] sits at offset 12 (only 4-byte aligned).
//   namespace v7   - the last 2020 revision (v7, 10 Sep 2020; same ABI since v4): PASID_REQUEST = VFIO_BASE+18,
//                    16 bytes, the PASID is the ioctl's return value; NESTING_OP = VFIO_BASE+19 with the op in
//                    flags[15:0], data[] at offset 8; nesting capability VFIO_IOMMU_TYPE1_INFO_CAP_NESTING.
//
// Code generic over the revision names it by tag type, never by macro: abi_traits<abi::seed> / abi_traits<abi::v7>
// (end of this file). No released kernel implements either revision (a mainline vfio_iommu_type1 answers ENOTTY);
// every entry's SINCE is therefore `never`, and the layouts are proven only by the static asserts below, from
// ../shared/reference/SEED-UAPI.md §0-§4.
//
// Both namespaces declare a struct named vfio_iommu_type1_nesting_op. VFIOPP_LAYOUT pastes the struct name into
// the field-list macro name, so that one list (VFIOPP_FIELDS_vfio_iommu_type1_nesting_op) is defined, expanded and
// #undef'd in each namespace in turn; the cross-check never expands it (`never` entries are dropped unexpanded).
// Enum families are declared in vfiopp::uapi with a seed_/v7_ prefix (the cross-check names an enum family as
// ::vfiopp::uapi::<name>) and aliased into their revision's namespace without the prefix.
#pragma once

#include <vfiopp/uapi/enums.hpp>
#include <vfiopp/uapi/iommu.hpp>
#include <vfiopp/uapi/ioctl.hpp>
#include <vfiopp/uapi/layout.hpp>
#include <vfiopp/uapi/vfio.hpp>

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>

namespace vfiopp::uapi {

// ---- enum families of both revisions (X(name, KERNEL_MACRO, value, since)) ----
/// seed: vfio_iommu_pasid_request::flags; exactly one of them.
#define VFIOPP_ENUM_seed_pasid_request_flag(X)            \
    X(alloc, VFIO_IOMMU_ALLOC_PASID, 1u << 0, never)      \
    X(free, VFIO_IOMMU_FREE_PASID, 1u << 1, never)
VFIOPP_FLAGS(seed_pasid_request_flag, u32)

/// seed: vfio_iommu_type1_nesting_op::op (#defines in the seed email).
#define VFIOPP_ENUM_seed_nesting_op(X)                              \
    X(bind_pgtbl, VFIO_IOMMU_NESTING_OP_BIND_PGTBL, 0u, never)      \
    X(unbind_pgtbl, VFIO_IOMMU_NESTING_OP_UNBIND_PGTBL, 1u, never)  \
    X(cache_invld, VFIO_IOMMU_NESTING_OP_CACHE_INVLD, 2u, never)
VFIOPP_ENUM(seed_nesting_op, u32)

/// v7: vfio_iommu_type1_pasid_request::flags (renamed from VFIO_IOMMU_{ALLOC,FREE}_PASID in v4, same values).
#define VFIOPP_ENUM_v7_pasid_request_flag(X)                   \
    X(alloc, VFIO_IOMMU_FLAG_ALLOC_PASID, 1u << 0, never)      \
    X(free, VFIO_IOMMU_FLAG_FREE_PASID, 1u << 1, never)
VFIOPP_FLAGS(v7_pasid_request_flag, u32)

/// v7: the op in vfio_iommu_type1_nesting_op::flags[15:0] (an enum in v7; VFIO_IOMMU_NESTING_OP_NUM = 3 is the
/// constant v7::vfio_iommu_nesting_op_num, not an op).
#define VFIOPP_ENUM_v7_nesting_op(X)                                \
    X(bind_pgtbl, VFIO_IOMMU_NESTING_OP_BIND_PGTBL, 0u, never)      \
    X(unbind_pgtbl, VFIO_IOMMU_NESTING_OP_UNBIND_PGTBL, 1u, never)  \
    X(cache_invld, VFIO_IOMMU_NESTING_OP_CACHE_INVLD, 2u, never)
VFIOPP_ENUM(v7_nesting_op, u16)

/// v7: iommu_nesting_info::features (added to <linux/iommu.h> by v7 01/16; v8 dropped syswide_pasid and
/// renumbered the others, which is not mirrored).
#define VFIOPP_ENUM_v7_nesting_feature(X)                                   \
    X(syswide_pasid, IOMMU_NESTING_FEAT_SYSWIDE_PASID, 1u << 0, never)      \
    X(bind_pgtbl, IOMMU_NESTING_FEAT_BIND_PGTBL, 1u << 1, never)            \
    X(cache_invld, IOMMU_NESTING_FEAT_CACHE_INVLD, 1u << 2, never)
VFIOPP_FLAGS(v7_nesting_feature, u32)

}  // namespace vfiopp::uapi

// =====================================================================================================================
namespace vfiopp::uapi::seed {

using pasid_request_flag = seed_pasid_request_flag;
using nesting_op = seed_nesting_op;

#define VFIOPP_CONSTANTS_seed(X)
#define VFIOPP_ENUMS_seed(X) X(seed_pasid_request_flag) X(seed_nesting_op)

/// The inclusive PASID range of a request (the kernel's anonymous `struct { __u32 min, max; } range`).
struct vfio_iommu_pasid_request_range {
    u32 min;
    u32 max;
};
#define VFIOPP_FIELDS_vfio_iommu_pasid_request_range(F, T) F(T, min, 0) F(T, max, 4)

/// Argument of seed VFIO_IOMMU_PASID_REQUEST (20 bytes): `pasid` returns the allocated PASID (alloc) or names
/// the PASID to free (free); `range` bounds an allocation.
struct vfio_iommu_pasid_request {
    u32 argsz;
    bitmask<pasid_request_flag> flags;
    u32 pasid;
    vfio_iommu_pasid_request_range range;
};
#define VFIOPP_FIELDS_vfio_iommu_pasid_request(F, T) F(T, argsz, 0) F(T, flags, 4) F(T, pasid, 8) F(T, range, 12)

/// Header of seed VFIO_IOMMU_NESTING_OP (12 bytes); the payload follows at offset 12 (data[]).
struct vfio_iommu_type1_nesting_op {
    u32 argsz;
    u32 flags;
    nesting_op op;
};
#define VFIOPP_FIELDS_vfio_iommu_type1_nesting_op(F, T) F(T, argsz, 0) F(T, flags, 4) F(T, op, 8)

#define VFIOPP_STRUCTS_seed(X)                              \
    X(vfio_iommu_pasid_request_range, 8, 4, never)          \
    X(vfio_iommu_pasid_request, 20, 4, never)               \
    X(vfio_iommu_type1_nesting_op, 12, 4, never)
VFIOPP_STRUCTS_seed(VFIOPP_LAYOUT)
#undef VFIOPP_FIELDS_vfio_iommu_type1_nesting_op  // v7 declares its own (see the top of this file)
VFIOPP_FLEX(vfio_iommu_type1_nesting_op, data, u8, 12)

// X(cxx_name, KERNEL_MACRO, type, nr, fd, arg, ArgType, returns, since). Only the seed email defines these; no kernel
// implementation of exactly this form was posted, so argsz/errno rules are those of the review thread and of v2
// (which kept #22/#23).
#define VFIOPP_IOCTLS_seed(X)                                                                                      \
    /* VFIO_IOMMU_PASID_REQUEST (#22 = 0x3b7a, container fd, seed form): argsz = sizeof = 20; flags exactly one   \
       of alloc / free. alloc: the kernel allocates one PASID in [range.min, range.max] and writes it to `pasid`   \
       (hence inout; Alex Williamson asked instead to return it as the ioctl value, which v2+ did). free: frees    \
       `pasid`. Returns 0 or -1/errno; expected errnos (by v2's implementation): EINVAL (argsz too small, unknown  \
       or both/no flags), EFAULT (copy), EOPNOTSUPP/ENOTSUPP(524) (container without PASID support), ENOSPC       \
       (range exhausted or per-process quota). */                                                                \
    X(iommu_pasid_request, VFIO_IOMMU_PASID_REQUEST, vfio_type, vfio_base + 22, container, inout,                 \
      vfio_iommu_pasid_request, status, never)                                                                           \
    /* VFIO_IOMMU_NESTING_OP (#23 = 0x3b7b, container fd, seed form): header {argsz, flags (0), op} then the     \
       payload at offset 12; argsz = 12 + payload size. op bind_pgtbl / unbind_pgtbl: iommu_gpasid_bind_data;     \
       cache_invld: iommu_cache_invalidate_info. The payload is only 4-byte aligned here, the flaw that made v2    \
       move op into flags. Returns 0 or -1/errno (EINVAL for a bad header or unknown op, EOPNOTSUPP without       \
       nesting support, plus the payload checks of iommu.hpp). */                                                \
    X(iommu_nesting_op, VFIO_IOMMU_NESTING_OP, vfio_type, vfio_base + 23, container, inout,                       \
      vfio_iommu_type1_nesting_op, status, never)
VFIOPP_IOCTL_DEFS(VFIOPP_IOCTLS_seed, seed)
}  // namespace vfiopp::uapi::seed

// =====================================================================================================================
namespace vfiopp::uapi::v7 {

using pasid_request_flag = v7_pasid_request_flag;
using nesting_op = v7_nesting_op;
using nesting_feature = v7_nesting_feature;

// X(name, KERNEL_MACRO, value, since)
#define VFIOPP_CONSTANTS_v7(X)                                                                        \
    X(vfio_pasid_request_mask, VFIO_PASID_REQUEST_MASK, u32{0x3}, never)                              \
    X(vfio_iommu_pasid_bits, VFIO_IOMMU_PASID_BITS, u32{31}, never)                                   \
    X(vfio_nesting_op_mask, VFIO_NESTING_OP_MASK, u32{0xffff}, never)                                 \
    X(vfio_iommu_nesting_op_num, VFIO_IOMMU_NESTING_OP_NUM, u32{3}, never)                            \
    X(vfio_iommu_type1_info_cap_nesting_id, VFIO_IOMMU_TYPE1_INFO_CAP_NESTING, u16{3}, never)         \
    X(vfio_type1_nesting_iommu, VFIO_TYPE1_NESTING_IOMMU, u32{6}, never)
VFIOPP_CONSTANTS(VFIOPP_CONSTANTS_v7)
// VFIO_IOMMU_TYPE1_INFO_CAP_NESTING (3) is the number mainline gave VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL (5.10+): a cap
// chain is read against one ABI only. VFIO_TYPE1_NESTING_IOMMU (6) is also in mainline <linux/vfio.h> up to 6.x
// (only as an extension/SET_IOMMU value); it is `never` here because this namespace's name is not the kernel's.
/// The capability version the v7 kernel reports in vfio_info_cap_header::version for CAP_NESTING.
inline constexpr u16 vfio_iommu_type1_info_cap_nesting_version = 1;

#define VFIOPP_ENUMS_v7(X) X(v7_pasid_request_flag) X(v7_nesting_op) X(v7_nesting_feature)

/// The inclusive PASID range of a request (the kernel's anonymous `struct { __u32 min, max; } range`).
struct vfio_iommu_type1_pasid_request_range {
    u32 min;
    u32 max;
};
#define VFIOPP_FIELDS_vfio_iommu_type1_pasid_request_range(F, T) F(T, min, 0) F(T, max, 4)

/// Argument of v7 VFIO_IOMMU_PASID_REQUEST (16 bytes); the allocated PASID is the ioctl's return value.
///   vfio_iommu_type1_pasid_request r{sizeof r, pasid_request_flag::alloc, {1, (1u << 20) - 1}};
struct vfio_iommu_type1_pasid_request {
    u32 argsz;
    bitmask<pasid_request_flag> flags;
    vfio_iommu_type1_pasid_request_range range;
};
#define VFIOPP_FIELDS_vfio_iommu_type1_pasid_request(F, T) F(T, argsz, 0) F(T, flags, 4) F(T, range, 8)

/// Header of v7 VFIO_IOMMU_NESTING_OP (8 bytes): op in flags[15:0] (vfio_nesting_op_mask), flags[31:16] zero;
/// the payload follows at offset 8 (data[], 8-byte aligned).
struct vfio_iommu_type1_nesting_op {
    u32 argsz;
    u32 flags;
};
#define VFIOPP_FIELDS_vfio_iommu_type1_nesting_op(F, T) F(T, argsz, 0) F(T, flags, 4)

/// VT-d part of iommu_nesting_info: the host's cap/ecap registers masked to what nesting needs. Note the
/// implicit 4-byte hole after flags (cap_reg @8 on x86_64 but @4 on i386; v8 made it explicit padding).
struct iommu_nesting_info_vtd {
    u32 flags;  // must be 0
    u64 cap_reg;
    u64 ecap_reg;
};
#define VFIOPP_FIELDS_iommu_nesting_info_vtd(F, T) F(T, flags, 0) F(T, cap_reg, 8) F(T, ecap_reg, 16)

/// The kernel's `union { struct iommu_nesting_info_vtd vtd; } vendor` of iommu_nesting_info.
union iommu_nesting_info_vendor {
    iommu_nesting_info_vtd vtd;
};

/// What the host IOMMU supports for nesting (v7 form, 56 bytes); in VFIO_IOMMU_GET_INFO's CAP_NESTING.
/// format 0 means no nesting (GET_INFO then fails with ENOENT); pasid_bits 0 means no PASID support.
struct iommu_nesting_info {
    u32 argsz;
    u32 flags;  // must be 0
    iommu_pasid_format format;
    bitmask<nesting_feature> features;
    u16 addr_width;
    u16 pasid_bits;
    std::array<u8, 12> padding;
    iommu_nesting_info_vendor vendor;
};
#define VFIOPP_FIELDS_iommu_nesting_info(F, T)                                                              \
    F(T, argsz, 0) F(T, flags, 4) F(T, format, 8) F(T, features, 12) F(T, addr_width, 16) F(T, pasid_bits, 18) \
    F(T, padding, 20) F(T, vendor, 32)

/// VFIO_IOMMU_TYPE1_INFO_CAP_NESTING (id 3, version 1) in the VFIO_IOMMU_GET_INFO cap chain; the kernel sizes
/// it 8 + info.argsz. Only containers of type VFIO_TYPE1_NESTING_IOMMU (one group each) report it.
struct vfio_iommu_type1_info_cap_nesting {
    vfio_info_cap_header header;
    iommu_nesting_info info;
};
#define VFIOPP_FIELDS_vfio_iommu_type1_info_cap_nesting(F, T) F(T, header, 0) F(T, info, 8)

#define VFIOPP_STRUCTS_v7(X)                                  \
    X(vfio_iommu_type1_pasid_request_range, 8, 4, never)      \
    X(vfio_iommu_type1_pasid_request, 16, 4, never)           \
    X(vfio_iommu_type1_nesting_op, 8, 4, never)               \
    X(iommu_nesting_info_vtd, 24, 8, never)                   \
    X(iommu_nesting_info, 56, 8, never)                       \
    X(vfio_iommu_type1_info_cap_nesting, 64, 8, never)
VFIOPP_STRUCTS_v7(VFIOPP_LAYOUT)
#undef VFIOPP_FIELDS_vfio_iommu_type1_nesting_op  // the seed's struct of the same name has its own list
VFIOPP_FLEX(vfio_iommu_type1_nesting_op, data, u8, 8)

static_assert(sizeof(iommu_nesting_info_vendor) == 24 && alignof(iommu_nesting_info_vendor) == 8);

// X(cxx_name, KERNEL_MACRO, type, nr, fd, arg, ArgType, returns, since)
// Both codes collide with mainline ioctls on *other* fds: VFIO_BASE+18/19 are VFIO_DEVICE_BIND_IOMMUFD /
// VFIO_DEVICE_ATTACH_IOMMUFD_PT (device fd, 6.6+) and VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY / _TCE_CREATE (SPAPR
// container). Never dispatch on the code alone; ioctl_def::abi and ::fd say which one is meant.
#define VFIOPP_IOCTLS_v7(X)                                                                                        \
    /* VFIO_IOMMU_PASID_REQUEST (#18 = 0x3b76, container fd, v4-v7): argsz >= 16; flags exactly one of alloc /   \
       free (no other bit of vfio_pasid_request_mask). range is inclusive; min <= max, both <= 1 << 31 (the      \
       kernel compares with `>`, so 0x80000000 itself passes: stay <= 0x7fffffff). alloc: returns one PASID of   \
       the range as the ioctl's (positive) return value. free: frees every PASID of this process within the      \
       range, returns 0; PASIDs not owned are skipped silently. Errors (in check order): EFAULT (copy), EINVAL    \
       (argsz < 16, unknown flag bits, min > max, bound > 1 << 31), EOPNOTSUPP (container without a vfio_mm:     \
       not a nesting container or no syswide_pasid feature), EINVAL (flags neither exactly alloc nor free),       \
       ENOSPC (range exhausted or the per-process quota, vfio_pasid.ko `pasid_quota`, default 1000, exceeded),    \
       ENOMEM. Availability: nesting_feature::syswide_pasid in CAP_NESTING. */                                  \
    X(iommu_pasid_request, VFIO_IOMMU_PASID_REQUEST, vfio_type, vfio_base + 18, container, in,                    \
      vfio_iommu_type1_pasid_request, value, never)                                                                     \
    /* VFIO_IOMMU_NESTING_OP (#19 = 0x3b77, container fd, v2-v7): header {argsz, flags}, op = flags &             \
       vfio_nesting_op_mask, flags[31:16] must be 0; payload at offset 8, argsz = 8 + payload argsz (VFIO itself  \
       checks only argsz >= 8 and hands arg + 8 to the IOMMU layer, which checks the payload's own argsz and       \
       version). bind_pgtbl: iommu_gpasid_bind_data (bind gpgd to hpasid on every device of the container's one   \
       group; on failure all are unbound again). unbind_pgtbl: iommu_gpasid_bind_data, only hpasid used; errors   \
       of the per-device unbind are ignored. cache_invld: iommu_cache_invalidate_info; per-device errors ignored.  \
       Returns 0 or -1/errno: EFAULT (copy), EINVAL (argsz < 8, flags[31:16] set, op >= vfio_iommu_nesting_op_num; \
       bind/unbind on a container without vfio_mm), EOPNOTSUPP (no nesting info, or the op's feature bit          \
       bind_pgtbl / cache_invld missing), and from the payload checks: ENODEV (IOMMU driver without the op),       \
       EINVAL (payload argsz too small, version != 1, bad format/flags, non-zero padding). Nothing is written      \
       back in v7; inout because the data[] design leaves room for ops that return data. */                     \
    X(iommu_nesting_op, VFIO_IOMMU_NESTING_OP, vfio_type, vfio_base + 19, container, inout,                       \
      vfio_iommu_type1_nesting_op, status, never)
VFIOPP_IOCTL_DEFS(VFIOPP_IOCTLS_v7, v7)
}  // namespace vfiopp::uapi::v7

// =====================================================================================================================
namespace vfiopp::uapi {

/// ABI tags: pick a revision of the proposal by type, e.g. `abi_traits<abi::v7>`.
namespace abi {
struct seed;  ///< the 16 Apr 2020 seed email: #22/#23, op in its own field, data[] at 12
struct v7;    ///< the final 2020 revision (v4-v7 ABI): #18/#19, op in flags[15:0], data[] at 8
}  // namespace abi

/// Where a nesting_op header keeps its op.
enum class nesting_op_encoding : u8 {
    own_field,     ///< seed: `__u32 op` after flags
    flags_low16,   ///< v7: flags & 0xffff
};

/// What differs between the revisions, for code written once for both; only specialised for abi::seed, abi::v7.
///   using t = abi_traits<abi::v7>; t::nesting_op_type h{}; t::set_op(h, t::op_type::cache_invld);
template <typename Abi>
struct abi_traits;

template <>
struct abi_traits<abi::seed> {
    static constexpr abi_kind kind = abi_kind::seed;
    using pasid_request_type = seed::vfio_iommu_pasid_request;
    using pasid_request_flag = seed::pasid_request_flag;
    using nesting_op_type = seed::vfio_iommu_type1_nesting_op;
    using op_type = seed::nesting_op;
    static constexpr const auto& pasid_request = seed::iommu_pasid_request;
    static constexpr const auto& nesting_op = seed::iommu_nesting_op;
    /// Offset of the payload (data[]) from the start of the header.
    static constexpr std::size_t data_offset = flexible_array_of<nesting_op_type>::offset;
    static constexpr nesting_op_encoding op_encoding = nesting_op_encoding::own_field;
    /// False: the seed returns the allocated PASID in pasid_request_type::pasid, not as the ioctl's value.
    static constexpr bool pasid_is_return_value = false;

    /// Stores op in a header: `abi_traits<abi::seed>::set_op(h, seed::nesting_op::bind_pgtbl);`
    static constexpr void set_op(nesting_op_type& h, op_type op) { h.op = op; }
    /// The op of a header: `auto op = abi_traits<abi::seed>::op_of(h);`
    static constexpr op_type op_of(const nesting_op_type& h) { return h.op; }
    /// Header argsz for a payload of `payload_size` bytes: `h.argsz = abi_traits<abi::seed>::argsz_for(56);`
    static constexpr u32 argsz_for(std::size_t payload_size) { return static_cast<u32>(data_offset + payload_size); }
};

template <>
struct abi_traits<abi::v7> {
    static constexpr abi_kind kind = abi_kind::v7;
    using pasid_request_type = v7::vfio_iommu_type1_pasid_request;
    using pasid_request_flag = v7::pasid_request_flag;
    using nesting_op_type = v7::vfio_iommu_type1_nesting_op;
    using op_type = v7::nesting_op;
    static constexpr const auto& pasid_request = v7::iommu_pasid_request;
    static constexpr const auto& nesting_op = v7::iommu_nesting_op;
    /// Offset of the payload (data[]) from the start of the header.
    static constexpr std::size_t data_offset = flexible_array_of<nesting_op_type>::offset;
    static constexpr nesting_op_encoding op_encoding = nesting_op_encoding::flags_low16;
    /// True: a successful alloc returns the PASID as the ioctl's value (31 bits, so it fits a positive int).
    static constexpr bool pasid_is_return_value = true;

    /// Stores op in flags[15:0], keeping flags[31:16]: `abi_traits<abi::v7>::set_op(h, v7::nesting_op::bind_pgtbl);`
    static constexpr void set_op(nesting_op_type& h, op_type op) {
        h.flags = (h.flags & ~v7::vfio_nesting_op_mask) | static_cast<u32>(op);
    }
    /// The op in flags[15:0]: `auto op = abi_traits<abi::v7>::op_of(h);`
    static constexpr op_type op_of(const nesting_op_type& h) {
        return static_cast<op_type>(h.flags & v7::vfio_nesting_op_mask);
    }
    /// Header argsz for a payload of `payload_size` bytes: `h.argsz = abi_traits<abi::v7>::argsz_for(72);`
    static constexpr u32 argsz_for(std::size_t payload_size) { return static_cast<u32>(data_offset + payload_size); }
};

/// The two revisions' tag types: `template <proposal_abi A> void bind(...)`.
template <typename A>
concept proposal_abi = requires { abi_traits<A>::kind; };

}  // namespace vfiopp::uapi
