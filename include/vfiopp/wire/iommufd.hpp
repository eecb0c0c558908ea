// vfiopp/wire/iommufd.hpp - a typed builder for every ioctl of linux/iommufd.h (7.3), issued on /dev/iommu.
//
//   auto ioas = wire::iommufd::ioas_alloc();                                      // out_ioas_id after the submit
//   auto map  = wire::iommufd::ioas_map(ioas_id, uintptr_t(ram), len, ioas_map_flag::readable, 0x100000);
//   std::array<uapi::iommu_iova_range, 8> ranges;
//   auto rq   = wire::iommufd::ioas_iova_ranges(ioas_id, ranges);               // io::negotiate_array() issues it
//   auto hwpt = wire::iommufd::hwpt_alloc(dev, parent, flags, vtd_s1);          // data_type/len/uptr from vtd_s1
//   auto inv  = wire::iommufd::hwpt_invalidate(hwpt_id, std::span{entries});
//   auto fq   = wire::iommufd::fault_queue_alloc();                             // submit() yields a unique_fd
//
// `size` is always the struct's size, written by the library. Pointers the kernel follows (data_uptr,
// allowed_iovas, data) point at the caller's objects: no copy, and temporaries are refused at compile time where the
// pointer would dangle. What the kernel would reject is refused before the ioctl, naming the ioctl, field and errno.
//
// This header is longer than 600 lines because linux/iommufd.h has 22 ioctls, most with vendor-data variants
// (HWPT_ALLOC, GET_HW_INFO, VIOMMU_ALLOC, HWPT_INVALIDATE); one header per kernel header is the rule that lets a
// reader find a builder by the ioctl's name.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/uapi/iommufd.hpp>
#include <vfiopp/wire/checked.hpp>
#include <vfiopp/wire/detail/trailer.hpp>
#include <vfiopp/wire/request.hpp>

#include <array>
#include <concepts>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <variant>

namespace vfiopp::wire::iommufd {

/// IOMMU_DESTROY of object id: `io::submit(iommufd, wire::iommufd::destroy(hwpt_id));`
[[nodiscard]] inline request<uapi::iommufd::destroy> destroy(u32 id) {
    uapi::iommu_destroy h{};
    h.id = id;
    return prep<uapi::iommufd::destroy>(h);
}

/// IOMMU_IOAS_ALLOC (flags 0): `auto r = wire::iommufd::ioas_alloc(); io::submit(fd, r); r.header().out_ioas_id;`
[[nodiscard]] inline request<uapi::iommufd::ioas_alloc> ioas_alloc() { return prep<uapi::iommufd::ioas_alloc>({}); }

}  // namespace vfiopp::wire::iommufd

namespace vfiopp::detail {
/// Access flags of a map: fixed_iova is derived from the optional iova and may not be passed by hand.
[[nodiscard]] inline result<uapi::bitmask<uapi::ioas_map_flag>> map_flags(std::string_view name, uapi::bitmask<uapi::ioas_map_flag> access,
                                                            std::optional<u64> iova) {
    if (access.has(uapi::ioas_map_flag::fixed_iova))
        return detail::refused(name, "flags", EINVAL, "fixed_iova follows from passing an iova; do not set it");
    if (access.unknown() != 0) return detail::refused(name, "flags", EOPNOTSUPP, "unknown map flag bits");
    if (iova) access |= uapi::ioas_map_flag::fixed_iova;
    return access;
}

/// The checks IOAS_MAP, IOAS_MAP_FILE and IOAS_COPY share: a non-zero length, no wrap from the source start or
/// from the requested iova, then the access flags (map_flags). Field names are those of the ioctl's struct.
struct mapping_fields {
    std::string_view source;   ///< field named when source + length wraps ("length", "src_iova")
    std::string_view iova;     ///< field named when iova + length wraps ("iova", "dst_iova")
    std::string_view empty;    ///< message for length 0
};
[[nodiscard]] inline result<uapi::bitmask<uapi::ioas_map_flag>> mapping_flags(std::string_view name, mapping_fields fields, u64 source,
                                                                u64 length, std::optional<u64> iova,
                                                                uapi::bitmask<uapi::ioas_map_flag> access) {
    if (length == 0) return detail::refused(name, "length", EINVAL, fields.empty);
    if (!detail::range_fits(source, length)) return detail::range_overflow({name, fields.source});
    if (iova)
        if (!detail::range_fits(*iova, length)) return detail::range_overflow({name, fields.iova});
    return map_flags(name, access, iova);
}
}  // namespace vfiopp::detail

namespace vfiopp::wire::iommufd {

/// IOMMU_IOAS_MAP of [user_va, user_va + length) with access (readable/writeable); with iova the mapping is placed
/// there (fixed_iova), else the kernel picks one (header().iova after). length 0: EINVAL; wrapping: EOVERFLOW.
///   auto r = wire::iommufd::ioas_map(ioas, uintptr_t(p), len, ioas_map_flag::readable | ioas_map_flag::writeable).value();
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::iommufd::ioas_map>> ioas_map(u32 ioas_id, u64 user_va, u64 length, uapi::bitmask<uapi::ioas_map_flag> access,
                                                         std::optional<u64> iova = {}) {
    constexpr std::string_view name = uapi::iommufd::ioas_map.name;
    auto f = detail::mapping_flags(name, {"length", "iova", "a mapping needs a non-zero length"}, user_va, length, iova,
                                   access);
    if (!f) return detail::pass_error(f);
    uapi::iommu_ioas_map h{};
    h.flags = *f;
    h.ioas_id = ioas_id;
    h.user_va = user_va;
    h.length = length;
    h.iova = iova.value_or(0);
    return detail::prep_result<uapi::iommufd::ioas_map, Lazy>(h);
}

/// IOMMU_IOAS_MAP_FILE of [start, start + length) of memfd fd; as ioas_map otherwise (fd < 0: EBADF).
///   auto r = wire::iommufd::ioas_map_file(ioas, memfd, 0, len, ioas_map_flag::readable, 0x100000).value();
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::iommufd::ioas_map_file>> ioas_map_file(u32 ioas_id, int fd, u64 start, u64 length,
                                                                   uapi::bitmask<uapi::ioas_map_flag> access,
                                                                   std::optional<u64> iova = {}) {
    constexpr std::string_view name = uapi::iommufd::ioas_map_file.name;
    if (fd < 0) return detail::refused(name, "fd", EBADF, "the file descriptor must be >= 0");
    auto f = detail::mapping_flags(name, {"length", "iova", "a mapping needs a non-zero length"}, start, length, iova,
                                   access);
    if (!f) return detail::pass_error(f);
    uapi::iommu_ioas_map_file h{};
    h.flags = *f;
    h.ioas_id = ioas_id;
    h.fd = fd;
    h.start = start;
    h.length = length;
    h.iova = iova.value_or(0);
    return detail::prep_result<uapi::iommufd::ioas_map_file, Lazy>(h);
}

/// IOMMU_IOAS_COPY of the mapping [src_iova, src_iova + length) of src into dst, at dst_iova if given.
///   auto r = wire::iommufd::ioas_copy(dst, src, src_iova, len, ioas_map_flag::readable).value();
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::iommufd::ioas_copy>> ioas_copy(u32 dst_ioas_id, u32 src_ioas_id, u64 src_iova, u64 length,
                                                           uapi::bitmask<uapi::ioas_map_flag> access,
                                                           std::optional<u64> dst_iova = {}) {
    constexpr std::string_view name = uapi::iommufd::ioas_copy.name;
    auto f = detail::mapping_flags(name, {"src_iova", "dst_iova", "a copy needs a non-zero length"}, src_iova, length,
                                   dst_iova, access);
    if (!f) return detail::pass_error(f);
    uapi::iommu_ioas_copy h{};
    h.flags = *f;
    h.dst_ioas_id = dst_ioas_id;
    h.src_ioas_id = src_ioas_id;
    h.length = length;
    h.dst_iova = dst_iova.value_or(0);
    h.src_iova = src_iova;
    return detail::prep_result<uapi::iommufd::ioas_copy, Lazy>(h);
}

/// IOMMU_IOAS_UNMAP of the mappings inside [iova, iova + length) (length 0: EINVAL; wrapping: EOVERFLOW);
/// header().length = bytes unmapped after. `auto r = wire::iommufd::ioas_unmap(ioas, iova, len).value();`
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::iommufd::ioas_unmap>> ioas_unmap(u32 ioas_id, u64 iova, u64 length) {
    constexpr std::string_view name = uapi::iommufd::ioas_unmap.name;
    if (length == 0) return detail::refused(name, "length", EINVAL, "an unmap needs a non-zero length (use ioas_unmap_all)");
    if (!detail::range_fits(iova, length)) return detail::range_overflow({name, "length"});
    uapi::iommu_ioas_unmap h{};
    h.ioas_id = ioas_id;
    h.iova = iova;
    h.length = length;
    return detail::prep_result<uapi::iommufd::ioas_unmap, Lazy>(h);
}

/// IOMMU_IOAS_UNMAP of everything (iova 0, length U64_MAX): `io::submit(fd, wire::iommufd::ioas_unmap_all(ioas));`
[[nodiscard]] inline request<uapi::iommufd::ioas_unmap> ioas_unmap_all(u32 ioas_id) {
    uapi::iommu_ioas_unmap h{};
    h.ioas_id = ioas_id;
    h.length = ~u64{0};
    return prep<uapi::iommufd::ioas_unmap>(h);
}

/// IOMMU_IOAS_ALLOW_IOVAS: the caller's ranges (pointed to; they must outlive the submit) become the allowed
/// list; empty clears it. start > last is EINVAL. `auto r = wire::iommufd::ioas_allow_iovas(ioas, std::span{ranges}).value();`
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::iommufd::ioas_allow_iovas>> ioas_allow_iovas(u32 ioas_id, std::span<const uapi::iommu_iova_range> ranges) {
    constexpr std::string_view name = uapi::iommufd::ioas_allow_iovas.name;
    u32 n = 0;
    if (!detail::cast_fits(ranges.size(), n)) return detail::value_overflow({name, "num_iovas"});
    for (const auto& rg : ranges)
        if (rg.start > rg.last) return detail::refused(name, "allowed_iovas", EINVAL, "a range's start is above its last");
    uapi::iommu_ioas_allow_iovas h{};
    h.ioas_id = ioas_id;
    h.num_iovas = n;
    h.allowed_iovas = ranges.empty() ? 0 : reinterpret_cast<std::uintptr_t>(ranges.data());
    return detail::prep_result<uapi::iommufd::ioas_allow_iovas, Lazy>(h);
}

/// IOMMU_IOAS_IOVA_RANGES of ioas_id into the caller's array (allowed_iovas = out.data(), num_iovas = its size; it
/// must outlive the submit). The kernel writes num_iovas = the total and out_iova_alignment, and fails with
/// EMSGSIZE when the array is too small: io::negotiate_array() re-issues then.
///   std::array<iommu_iova_range, 8> out; auto r = wire::iommufd::ioas_iova_ranges(ioas, out).value();
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::iommufd::ioas_iova_ranges>> ioas_iova_ranges(u32 ioas_id,
                                                                                      std::span<uapi::iommu_iova_range> out) {
    u32 n = 0;
    if (!detail::cast_fits(out.size(), n)) return detail::value_overflow({uapi::iommufd::ioas_iova_ranges.name, "num_iovas"});
    uapi::iommu_ioas_iova_ranges h{};
    h.ioas_id = ioas_id;
    h.num_iovas = n;
    h.allowed_iovas = out.empty() ? 0 : reinterpret_cast<std::uintptr_t>(out.data());
    return detail::prep_result<uapi::iommufd::ioas_iova_ranges, Lazy>(h);
}

/// IOMMU_IOAS_CHANGE_PROCESS: `io::submit(fd, wire::iommufd::ioas_change_process());`
[[nodiscard]] inline request<uapi::iommufd::ioas_change_process> ioas_change_process() { return prep<uapi::iommufd::ioas_change_process>({}); }

/// IOMMU_OPTION get of option_id (object_id 0 for rlimit_mode, the IOAS for huge_pages); val64 after.
///   auto r = wire::iommufd::option_get(iommufd_option::huge_pages, ioas); io::submit(fd, r); r.header().val64;
[[nodiscard]] inline request<uapi::iommufd::option> option_get(uapi::iommufd_option id, u32 object_id = 0) {
    uapi::iommu_option h{};
    h.option_id = id;
    h.op = uapi::iommufd_option_op::get;
    h.object_id = object_id;
    return prep<uapi::iommufd::option>(h);
}
/// IOMMU_OPTION set: `io::submit(fd, wire::iommufd::option_set(iommufd_option::huge_pages, 0, ioas));`
[[nodiscard]] inline request<uapi::iommufd::option> option_set(uapi::iommufd_option id, u64 value, u32 object_id = 0) {
    uapi::iommu_option h{};
    h.option_id = id;
    h.op = uapi::iommufd_option_op::set;
    h.object_id = object_id;
    h.val64 = value;
    return prep<uapi::iommufd::option>(h);
}

/// IOMMU_VFIO_IOAS get (ioas_id out): `auto r = wire::iommufd::vfio_ioas_get(); io::submit(fd, r); r.header().ioas_id;`
[[nodiscard]] inline request<uapi::iommufd::vfio_ioas> vfio_ioas_get() {
    uapi::iommu_vfio_ioas h{};
    h.op = uapi::vfio_ioas_op::get;
    return prep<uapi::iommufd::vfio_ioas>(h);
}
/// IOMMU_VFIO_IOAS set: `io::submit(fd, wire::iommufd::vfio_ioas_set(ioas));`
[[nodiscard]] inline request<uapi::iommufd::vfio_ioas> vfio_ioas_set(u32 ioas_id) {
    uapi::iommu_vfio_ioas h{};
    h.ioas_id = ioas_id;
    h.op = uapi::vfio_ioas_op::set;
    return prep<uapi::iommufd::vfio_ioas>(h);
}
/// IOMMU_VFIO_IOAS clear: `io::submit(fd, wire::iommufd::vfio_ioas_clear());`
[[nodiscard]] inline request<uapi::iommufd::vfio_ioas> vfio_ioas_clear() {
    uapi::iommu_vfio_ioas h{};
    h.op = uapi::vfio_ioas_op::clear;
    return prep<uapi::iommufd::vfio_ioas>(h);
}

// ---- IOMMU_HWPT_ALLOC, IOMMU_HWPT_INVALIDATE ----
}  // namespace vfiopp::wire::iommufd

namespace vfiopp::wire {

/// The open customization point of IOMMU_HWPT_ALLOC and IOMMU_HWPT_INVALIDATE: what a vendor-data type is called
/// on the wire. A HWPT_ALLOC payload type defines `data_type` (its IOMMU_HWPT_DATA_* value) and may set
/// `nested_only` (true: the kernel takes it only for a nested HWPT, so NEST_PARENT / DIRTY_TRACKING with it are
/// refused before the ioctl); an invalidation entry type defines `invalidate_type` (its IOMMU_HWPT_INVALIDATE_DATA_*
/// value). The kernel's own types are specialized below; a driver vfiopp does not know (a new vendor, the
/// IOMMUFD_TEST mock) is added by the caller, at namespace scope, before the first use:
///   struct my_s1 { u32 iotlb; u32 pagetable_type; };
///   template <> struct vfiopp::wire::hwpt_data_traits<my_s1> {
///       static constexpr auto data_type = static_cast<vfiopp::uapi::hwpt_data_type>(0xdead);
///   };
/// Types must be trivially copyable (the kernel copies data_len bytes of the object as is).
template <typename T>
struct hwpt_data_traits {};

template <>
struct hwpt_data_traits<uapi::iommu_hwpt_vtd_s1> {
    static constexpr uapi::hwpt_data_type data_type = uapi::hwpt_data_type::vtd_s1;
    static constexpr bool nested_only = true;
};
template <>
struct hwpt_data_traits<uapi::iommu_hwpt_arm_smmuv3> {
    static constexpr uapi::hwpt_data_type data_type = uapi::hwpt_data_type::arm_smmuv3;
    static constexpr bool nested_only = true;
};
template <>
struct hwpt_data_traits<uapi::iommu_hwpt_amd_guest> {
    static constexpr uapi::hwpt_data_type data_type = uapi::hwpt_data_type::amd_guest;
    static constexpr bool nested_only = true;
};
template <>
struct hwpt_data_traits<uapi::iommu_hwpt_vtd_s1_invalidate> {
    static constexpr uapi::hwpt_invalidate_data_type invalidate_type = uapi::hwpt_invalidate_data_type::vtd_s1;
};
template <>
struct hwpt_data_traits<uapi::iommu_viommu_arm_smmuv3_invalidate> {
    static constexpr uapi::hwpt_invalidate_data_type invalidate_type = uapi::hwpt_invalidate_data_type::viommu_arm_smmuv3;
};

/// The open customization point of IOMMU_GET_HW_INFO: a driver's hw_info struct defines `type` (its
/// IOMMU_HW_INFO_TYPE_* value). The kernel's types are specialized; add others as for hwpt_data_traits:
///   template <> struct vfiopp::wire::hw_info_traits<my_info> {
///       static constexpr auto type = static_cast<vfiopp::uapi::hw_info_type>(0xfeedbeef);
///   };
template <typename T>
struct hw_info_traits {};
template <>
struct hw_info_traits<uapi::iommu_hw_info_vtd> {
    static constexpr uapi::hw_info_type type = uapi::hw_info_type::intel_vtd;
};
template <>
struct hw_info_traits<uapi::iommu_hw_info_arm_smmuv3> {
    static constexpr uapi::hw_info_type type = uapi::hw_info_type::arm_smmuv3;
};
template <>
struct hw_info_traits<uapi::iommu_hw_info_tegra241_cmdqv> {
    static constexpr uapi::hw_info_type type = uapi::hw_info_type::tegra241_cmdqv;
};
template <>
struct hw_info_traits<uapi::iommu_hw_info_amd> {
    static constexpr uapi::hw_info_type type = uapi::hw_info_type::amd;
};

}  // namespace vfiopp::wire

namespace vfiopp::wire::iommufd {

/// HWPT_ALLOC vendor data: none (kernel-managed HWPT from an IOAS) or a user-managed stage-1 table.
using hwpt_data = std::variant<std::monostate, uapi::iommu_hwpt_vtd_s1, uapi::iommu_hwpt_arm_smmuv3, uapi::iommu_hwpt_amd_guest>;

/// Vendor data types of IOMMU_HWPT_ALLOC: those with a wire::hwpt_data_traits<D>::data_type (the kernel's, and the
/// caller's own specializations). `static_assert(wire::iommufd::hwpt_vendor_data<uapi::iommu_hwpt_vtd_s1>);`
template <typename D>
concept hwpt_vendor_data = std::is_trivially_copyable_v<D> && requires {
    { hwpt_data_traits<D>::data_type } -> std::convertible_to<uapi::hwpt_data_type>;
};
/// Entry types of IOMMU_HWPT_INVALIDATE: those with a wire::hwpt_data_traits<E>::invalidate_type.
template <typename E>
concept hwpt_invalidate_entry = std::is_trivially_copyable_v<E> && requires {
    { hwpt_data_traits<E>::invalidate_type } -> std::convertible_to<uapi::hwpt_invalidate_data_type>;
};

}  // namespace vfiopp::wire::iommufd

namespace vfiopp::detail {
/// What hwpt_alloc's data argument may be: any class type but the ones other overloads take (the fault_id, the
/// variant), so that a type without traits reaches the static_assert below instead of "no matching function".
template <typename D>
concept hwpt_data_candidate = std::is_class_v<D> && !std::is_same_v<D, std::optional<u32>> &&
                              !std::is_same_v<D, wire::iommufd::hwpt_data> && !std::is_same_v<D, std::monostate>;

template <typename D>
constexpr bool hwpt_nested_only() {
    if constexpr (requires { wire::hwpt_data_traits<D>::nested_only; }) return wire::hwpt_data_traits<D>::nested_only;
    else return false;
}

template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::iommufd::hwpt_alloc>> hwpt_alloc_impl(u32 dev_id, u32 pt_id, uapi::bitmask<uapi::hwpt_alloc_flag> flags,
                                                                  uapi::hwpt_data_type type, const void* data, u32 len,
                                                                  std::optional<u32> fault_id, bool nested_only = true) {
    constexpr std::string_view name = uapi::iommufd::hwpt_alloc.name;
    uapi::iommu_hwpt_alloc h{};
    h.dev_id = dev_id;
    h.pt_id = pt_id;
    h.flags = flags;
    if (flags.has(uapi::hwpt_alloc_flag::fault_id_valid) && !fault_id)
        return detail::refused(name, "flags", EINVAL, "fault_id_valid is set by passing a fault_id");
    if (fault_id) {
        h.flags |= uapi::hwpt_alloc_flag::fault_id_valid;
        h.fault_id = *fault_id;
    }
    if (data && nested_only && (flags.has(uapi::hwpt_alloc_flag::nest_parent) || flags.has(uapi::hwpt_alloc_flag::dirty_tracking)))
        return detail::refused(name, "flags", EOPNOTSUPP, "a nested (vendor data) HWPT cannot be a nest parent or track dirty pages");
    h.data_type = type;
    h.data_len = len;
    h.data_uptr = reinterpret_cast<std::uintptr_t>(data);
    return detail::prep_result<uapi::iommufd::hwpt_alloc, Lazy>(h);
}
}  // namespace vfiopp::detail

namespace vfiopp::wire::iommufd {

/// IOMMU_HWPT_ALLOC of a kernel-managed HWPT from an IOAS (data_type none, data_len 0, data_uptr 0).
/// fault_id sets fault_id_valid. `auto r = wire::iommufd::hwpt_alloc(dev, ioas, hwpt_alloc_flag::nest_parent);`
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::iommufd::hwpt_alloc>> hwpt_alloc(u32 dev_id, u32 pt_id, uapi::bitmask<uapi::hwpt_alloc_flag> flags,
                                                             std::optional<u32> fault_id = {}) {
    return detail::hwpt_alloc_impl(dev_id, pt_id, flags, uapi::hwpt_data_type::none, nullptr, 0, fault_id);
}

/// IOMMU_HWPT_ALLOC with vendor data: data_type from wire::hwpt_data_traits<D> (the kernel's types, or the caller's
/// own specialization), data_len = sizeof(D), data_uptr points at the caller's object (no copy; it must outlive the
/// submit, so temporaries are refused at compile time). The kernel's vendor types are nested-only: with them
/// nest_parent or dirty_tracking is refused (EOPNOTSUPP) before the ioctl.
///   uapi::iommu_hwpt_vtd_s1 s1{...}; auto r = wire::iommufd::hwpt_alloc(dev, parent_hwpt, {}, s1);
template <detail::hwpt_data_candidate D>
[[nodiscard]] inline result<request<uapi::iommufd::hwpt_alloc>> hwpt_alloc(u32 dev_id, u32 pt_id, uapi::bitmask<uapi::hwpt_alloc_flag> flags,
                                                      const D& data, std::optional<u32> fault_id = {}) {
    static_assert(hwpt_vendor_data<D>,
                  "IOMMU_HWPT_ALLOC: this type has no IOMMU_HWPT_DATA_* value: specialize "
                  "vfiopp::wire::hwpt_data_traits<D> with `static constexpr vfiopp::uapi::hwpt_data_type data_type = "
                  "static_cast<vfiopp::uapi::hwpt_data_type>(<the driver's value>);` (and the type must be trivially "
                  "copyable)");
    if constexpr (hwpt_vendor_data<D>)
        return detail::hwpt_alloc_impl(dev_id, pt_id, flags, hwpt_data_traits<D>::data_type, &data,
                                       static_cast<u32>(sizeof(D)), fault_id, detail::hwpt_nested_only<D>());
    else
        return detail::refused(uapi::iommufd::hwpt_alloc.name, "data_type", EOPNOTSUPP, "unknown vendor data type");
}
template <detail::hwpt_data_candidate D>
[[nodiscard]] inline result<request<uapi::iommufd::hwpt_alloc>> hwpt_alloc(u32, u32, uapi::bitmask<uapi::hwpt_alloc_flag>, const D&&,
                                                      std::optional<u32> = {}) = delete;  // data_uptr would dangle

/// The same from a vendor-data variant (the alternative picks data_type; monostate = none); the variant must
/// outlive the submit. `wire::iommufd::hwpt_data d = s1; auto r = wire::iommufd::hwpt_alloc(dev, parent, {}, d);`
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::iommufd::hwpt_alloc>> hwpt_alloc(u32 dev_id, u32 pt_id, uapi::bitmask<uapi::hwpt_alloc_flag> flags,
                                                             const hwpt_data& data, std::optional<u32> fault_id = {}) {
    return std::visit(
        [&](const auto& d) -> result<request<uapi::iommufd::hwpt_alloc>> {
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(d)>, std::monostate>) return hwpt_alloc(dev_id, pt_id, flags, fault_id);
            else return hwpt_alloc(dev_id, pt_id, flags, d, fault_id);
        },
        data);
}
[[nodiscard]] result<request<uapi::iommufd::hwpt_alloc>> hwpt_alloc(u32, u32, uapi::bitmask<uapi::hwpt_alloc_flag>, const hwpt_data&&,
                                                      std::optional<u32> = {}) = delete;  // data_uptr would dangle

}  // namespace vfiopp::wire::iommufd

namespace vfiopp::detail {
template <typename E>
constexpr uapi::hwpt_invalidate_data_type invalidate_type_of() {
    static_assert(wire::iommufd::hwpt_invalidate_entry<E>,
                  "IOMMU_HWPT_INVALIDATE: this entry type has no IOMMU_HWPT_INVALIDATE_DATA_* value: specialize "
                  "vfiopp::wire::hwpt_data_traits<E> with `static constexpr vfiopp::uapi::hwpt_invalidate_data_type "
                  "invalidate_type = static_cast<vfiopp::uapi::hwpt_invalidate_data_type>(<the driver's value>);` "
                  "(the kernel's: iommu_hwpt_vtd_s1_invalidate, iommu_viommu_arm_smmuv3_invalidate)");
    if constexpr (wire::iommufd::hwpt_invalidate_entry<E>) return wire::hwpt_data_traits<E>::invalidate_type;
    else return {};
}
}  // namespace vfiopp::detail

namespace vfiopp::wire::iommufd {

/// IOMMU_HWPT_INVALIDATE of hwpt_id with the caller's entries (data_uptr points at them; data_type from
/// wire::hwpt_data_traits<Entry>::invalidate_type, entry_len and entry_num from the span). After the ioctl,
/// header().entry_num is the number the kernel handled (on an error: the index of the entry that failed).
///   std::array<iommu_hwpt_vtd_s1_invalidate, 2> e{...}; auto r = wire::iommufd::hwpt_invalidate(hwpt, std::span{e});
template <typename Entry>
[[nodiscard]] inline result<request<uapi::iommufd::hwpt_invalidate>> hwpt_invalidate(u32 hwpt_id, std::span<const Entry> entries) {
    constexpr std::string_view name = uapi::iommufd::hwpt_invalidate.name;
    constexpr auto type = detail::invalidate_type_of<Entry>();
    u32 n = 0, bytes = 0;
    if (!detail::cast_fits(entries.size(), n)) return detail::value_overflow({name, "entry_num"});
    if (!detail::mul_fits(n, sizeof(Entry), bytes)) return detail::product_overflow({name, "entry_num"});
    uapi::iommu_hwpt_invalidate h{};
    h.hwpt_id = hwpt_id;
    h.data_type = type;
    h.entry_len = static_cast<u32>(sizeof(Entry));
    h.entry_num = n;
    h.data_uptr = entries.empty() ? 0 : reinterpret_cast<std::uintptr_t>(entries.data());
    return detail::prep_result<uapi::iommufd::hwpt_invalidate, Entry>(h);
}
/// The same from an array: `std::array<iommu_hwpt_vtd_s1_invalidate, 2> e{}; wire::iommufd::hwpt_invalidate(hwpt, e);`
template <typename Entry, std::size_t N>
[[nodiscard]] inline result<request<uapi::iommufd::hwpt_invalidate>> hwpt_invalidate(u32 hwpt_id, const std::array<Entry, N>& entries) {
    return hwpt_invalidate(hwpt_id, std::span<const Entry>(entries));
}

// ---- IOMMU_GET_HW_INFO ----
/// Vendor data types of IOMMU_GET_HW_INFO: those with a wire::hw_info_traits<D>::type (the kernel's and the caller's).
template <typename D>
concept hw_info_data = std::is_trivially_copyable_v<D> && requires {
    { hw_info_traits<D>::type } -> std::convertible_to<uapi::hw_info_type>;
};
/// The hw_info_type a vendor struct is: `wire::iommufd::hw_info_type_of<uapi::iommu_hw_info_vtd> == hw_info_type::intel_vtd`.
template <hw_info_data D>
inline constexpr uapi::hw_info_type hw_info_type_of = hw_info_traits<D>::type;

/// IOMMU_GET_HW_INFO without vendor data (data_len 0: out_data_type, capabilities and the needed data_len only).
///   auto r = wire::iommufd::get_hw_info(dev_id); io::submit(fd, r); r.header().out_capabilities;
[[nodiscard]] inline request<uapi::iommufd::get_hw_info> get_hw_info(u32 dev_id) {
    uapi::iommu_hw_info h{};
    h.dev_id = dev_id;
    return prep<uapi::iommufd::get_hw_info>(h);
}

/// IOMMU_GET_HW_INFO into the caller's vendor struct (data_len = sizeof(D), data_uptr = &data; the kernel writes
/// it during the submit, so temporaries are refused). With ask_type the kernel must report D's type (flags
/// INPUT_TYPE, 6.17+); without it the driver's default type is reported: check header().data_type.out_data_type.
///   iommu_hw_info_vtd vtd{}; auto r = wire::iommufd::get_hw_info(dev_id, vtd); io::submit(fd, r);
template <hw_info_data D>
[[nodiscard]] inline request<uapi::iommufd::get_hw_info> get_hw_info(u32 dev_id, D& data, bool ask_type = false) {
    uapi::iommu_hw_info h{};
    h.dev_id = dev_id;
    h.data_len = static_cast<u32>(sizeof(D));
    h.data_uptr = reinterpret_cast<std::uintptr_t>(&data);
    if (ask_type) {
        h.flags = uapi::hw_info_flag::input_type;
        h.data_type.in_data_type = hw_info_type_of<D>;
    }
    return prep<uapi::iommufd::get_hw_info>(h);
}
template <hw_info_data D>
[[nodiscard]] inline request<uapi::iommufd::get_hw_info> get_hw_info(u32, const D&&, bool = false) = delete;  // data_uptr would dangle

/// IOMMU_GET_HW_INFO of whatever the driver's default type is, into the caller's bytes (data_len = out.size(),
/// at most 2^32 - 1: EOVERFLOW; the kernel copies min(data_len, its length) bytes and zeroes the rest, then writes
/// its own length back into data_len). `alignas(8) std::array<std::byte, 64> b; auto r = wire::iommufd::get_hw_info(dev, std::span{b});`
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::iommufd::get_hw_info>> get_hw_info(u32 dev_id, std::span<std::byte> out) {
    u32 n = 0;
    if (!detail::cast_fits(out.size(), n)) return detail::value_overflow({uapi::iommufd::get_hw_info.name, "data_len"});
    uapi::iommu_hw_info h{};
    h.dev_id = dev_id;
    h.data_len = n;
    h.data_uptr = out.empty() ? 0 : reinterpret_cast<std::uintptr_t>(out.data());
    return detail::prep_result<uapi::iommufd::get_hw_info, Lazy>(h);
}

// ---- dirty tracking ----
/// IOMMU_HWPT_SET_DIRTY_TRACKING on (flags ENABLE) or off (0): `io::submit(fd, wire::iommufd::hwpt_set_dirty_tracking(hwpt, true));`
[[nodiscard]] inline request<uapi::iommufd::hwpt_set_dirty_tracking> hwpt_set_dirty_tracking(u32 hwpt_id, bool enable) {
    uapi::iommu_hwpt_set_dirty_tracking h{};
    h.hwpt_id = hwpt_id;
    if (enable) h.flags = uapi::hwpt_set_dirty_tracking_flag::enable;
    return prep<uapi::iommufd::hwpt_set_dirty_tracking>(h);
}

/// IOMMU_HWPT_GET_DIRTY_BITMAP of [iova, iova + length) into the caller's bitmap (bit i = page iova + i * page_size;
/// data = bitmap). page_size not a power of two, an unaligned or empty range, or a bitmap smaller than
/// ceil(length / page_size / 64) words: EINVAL; a wrapping range: EOVERFLOW. no_clear keeps the dirty state.
///   std::array<u64, 4> bits{}; auto r = wire::iommufd::hwpt_get_dirty_bitmap(hwpt, iova, len, 4096, std::span{bits}).value();
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::iommufd::hwpt_get_dirty_bitmap>> hwpt_get_dirty_bitmap(u32 hwpt_id, u64 iova, u64 length, u64 page_size,
                                                                                   std::span<u64> bitmap, bool no_clear = false) {
    constexpr std::string_view name = uapi::iommufd::hwpt_get_dirty_bitmap.name;
    auto need = detail::dirty_bitmap_bytes(iova, length, page_size, {name, "length"});
    if (!need) return detail::pass_error(need);
    if (auto c = detail::check_bitmap_room(bitmap, *need, name); !c) return detail::pass_error(c);
    uapi::iommu_hwpt_get_dirty_bitmap h{};
    h.hwpt_id = hwpt_id;
    if (no_clear) h.flags = uapi::hwpt_get_dirty_bitmap_flag::no_clear;
    h.iova = iova;
    h.length = length;
    h.page_size = page_size;
    h.data = reinterpret_cast<std::uintptr_t>(bitmap.data());
    return detail::prep_result<uapi::iommufd::hwpt_get_dirty_bitmap, Lazy>(h);
}

// ---- fault queues, vIOMMUs, vDEVICEs, vEVENTQs, HW queues ----
/// IOMMU_FAULT_QUEUE_ALLOC (flags 0): out_fault_id / out_fault_fd after. `auto r = wire::iommufd::fault_queue_alloc();`
[[nodiscard]] inline request<uapi::iommufd::fault_queue_alloc> fault_queue_alloc() { return prep<uapi::iommufd::fault_queue_alloc>({}); }

/// IOMMU_VIOMMU_ALLOC of `type` over nest-parent HWPT hwpt_id for dev_id, without driver data (data_len 0).
///   auto r = wire::iommufd::viommu_alloc(dev, parent, viommu_type::arm_smmuv3); r.header().out_viommu_id;
[[nodiscard]] inline request<uapi::iommufd::viommu_alloc> viommu_alloc(u32 dev_id, u32 hwpt_id, uapi::viommu_type type) {
    uapi::iommu_viommu_alloc h{};
    h.type = type;
    h.dev_id = dev_id;
    h.hwpt_id = hwpt_id;
    return prep<uapi::iommufd::viommu_alloc>(h);
}
/// IOMMU_VIOMMU_ALLOC of a Tegra241 CMDQV vIOMMU: type from the data, data_uptr = &data (the kernel writes the
/// mmap offset/length into it; temporaries refused). `iommu_viommu_tegra241_cmdqv d{}; wire::iommufd::viommu_alloc(dev, p, d);`
[[nodiscard]] inline request<uapi::iommufd::viommu_alloc> viommu_alloc(u32 dev_id, u32 hwpt_id, uapi::iommu_viommu_tegra241_cmdqv& data) {
    uapi::iommu_viommu_alloc h{};
    h.type = uapi::viommu_type::tegra241_cmdqv;
    h.dev_id = dev_id;
    h.hwpt_id = hwpt_id;
    h.data_len = static_cast<u32>(sizeof data);
    h.data_uptr = reinterpret_cast<std::uintptr_t>(&data);
    return prep<uapi::iommufd::viommu_alloc>(h);
}
[[nodiscard]] request<uapi::iommufd::viommu_alloc> viommu_alloc(u32, u32, uapi::iommu_viommu_tegra241_cmdqv&&) = delete;  // dangling data

/// IOMMU_VDEVICE_ALLOC: dev_id is virt_id (vSID / vRID) on the vIOMMU. `auto r = wire::iommufd::vdevice_alloc(viommu, dev, 0x10);`
[[nodiscard]] inline request<uapi::iommufd::vdevice_alloc> vdevice_alloc(u32 viommu_id, u32 dev_id, u64 virt_id) {
    uapi::iommu_vdevice_alloc h{};
    h.viommu_id = viommu_id;
    h.dev_id = dev_id;
    h.virt_id = virt_id;
    return prep<uapi::iommufd::vdevice_alloc>(h);
}

/// IOMMU_VEVENTQ_ALLOC of a queue of `type` (not default_: EOPNOTSUPP) holding depth events (0: EINVAL).
///   auto r = wire::iommufd::veventq_alloc(viommu, veventq_type::arm_smmuv3, 64).value(); r.header().out_veventq_fd;
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::iommufd::veventq_alloc>> veventq_alloc(u32 viommu_id, uapi::veventq_type type, u32 depth) {
    constexpr std::string_view name = uapi::iommufd::veventq_alloc.name;
    if (type == uapi::veventq_type::default_) return detail::refused(name, "type", EOPNOTSUPP, "a vEVENTQ needs a driver event type");
    if (depth == 0) return detail::refused(name, "veventq_depth", EINVAL, "the queue depth must be > 0");
    uapi::iommu_veventq_alloc h{};
    h.viommu_id = viommu_id;
    h.type = type;
    h.veventq_depth = depth;
    return detail::prep_result<uapi::iommufd::veventq_alloc, Lazy>(h);
}

/// IOMMU_HW_QUEUE_ALLOC of queue `index` of `type` over guest memory [nesting_parent_iova, + length) (length 0:
/// EINVAL; wrapping: EOVERFLOW). `auto r = wire::iommufd::hw_queue_alloc(viommu, hw_queue_type::tegra241_cmdqv, 0, gpa, 0x10000).value();`
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::iommufd::hw_queue_alloc>> hw_queue_alloc(u32 viommu_id, uapi::hw_queue_type type, u32 index,
                                                                     u64 nesting_parent_iova, u64 length) {
    constexpr std::string_view name = uapi::iommufd::hw_queue_alloc.name;
    if (length == 0) return detail::refused(name, "length", EINVAL, "a queue needs a non-zero length");
    if (!detail::range_fits(nesting_parent_iova, length)) return detail::range_overflow({name, "length"});
    uapi::iommu_hw_queue_alloc h{};
    h.viommu_id = viommu_id;
    h.type = type;
    h.index = index;
    h.nesting_parent_iova = nesting_parent_iova;
    h.length = length;
    return detail::prep_result<uapi::iommufd::hw_queue_alloc, Lazy>(h);
}

/// IOMMU_IOAS_NOIOMMU_GET_PA of iova (at most length bytes; 0: EINVAL): out_phys and the contiguous length after.
///   auto r = wire::iommufd::ioas_noiommu_get_pa(ioas, iova, 1 << 20).value();
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::iommufd::ioas_noiommu_get_pa>> ioas_noiommu_get_pa(u32 ioas_id, u64 iova, u64 length) {
    constexpr std::string_view name = uapi::iommufd::ioas_noiommu_get_pa.name;
    if (length == 0) return detail::refused(name, "length", EINVAL, "the query needs a non-zero length");
    if (!detail::range_fits(iova, length)) return detail::range_overflow({name, "length"});
    uapi::iommu_ioas_noiommu_get_pa h{};
    h.ioas_id = ioas_id;
    h.iova = iova;
    h.length = length;
    return detail::prep_result<uapi::iommufd::ioas_noiommu_get_pa, Lazy>(h);
}

}  // namespace vfiopp::wire::iommufd
