// vfiopp/uapi/layout.hpp - how a kernel uAPI layout is mirrored, once.
//
// Every mirrored struct is declared once, as a C++ aggregate plus an X-macro field list that names each
// field and its ABI offset (x86_64):
//
//   struct vfio_region_info {
//       u32 argsz;
//       bitmask<region_info_flag> flags;
//       u32 index;
//       u32 cap_offset;
//       aligned_u64 size;
//       aligned_u64 offset;
//   };
//   #define VFIOPP_FIELDS_vfio_region_info(F, T)
//       F(T, argsz, 0) F(T, flags, 4) F(T, index, 8) F(T, cap_offset, 12) F(T, size, 16) F(T, offset, 24)
//   VFIOPP_LAYOUT(vfio_region_info, 32, 8, k6_1)   // normally through the header's VFIOPP_STRUCTS_* list
//
// SINCE names the first kernel whose header has the struct in this form (k6_1: 6.1 or older; never: the 2020
// proposal); only the kernel-header cross-check reads it. VFIOPP_LAYOUT then
//  - proves the mirror against the ABI at compile time, in every TU: sizeof, alignof, every field's offset;
//  - defines the mirror's descriptor (`layout_of<T>`): name, field names, member pointers, offsets. Printing,
//    decoding and the kernel-header cross-check (tests/unit/kernel_xcheck.hpp/.inc, built against the 6.1, 7.3 and 5.10 headers) are all derived from it. Using
//    the descriptor also proves the field count against Boost.PFR's independent count (mirrors use std::array and
//    named unions, which PFR counts right; see ../shared/reference/NOTES.md); the tests use every descriptor.
//
// A field whose kernel counterpart has another name (a member of an anonymous union, which the mirror must name
// for PFR) is listed as F##_AS(T, mirror_name, offset, kernel_member): the cross-check then compares the offset
// of the kernel's `kernel_member`.
//
// A flexible array member (`__u8 data[]`) is never part of the mirror (ISO C++ has none); it is declared with
// VFIOPP_FLEX(T, name, element, offset), which asserts offset >= sizeof(T) and lets the wire layer find it.
#pragma once

#include <boost/pfr/core.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace vfiopp::uapi {

using u8 = std::uint8_t;
using u16 = std::uint16_t;
using u32 = std::uint32_t;
using u64 = std::uint64_t;
using s32 = std::int32_t;
using s64 = std::int64_t;
// __aligned_u64: on x86_64 a u64 member is 8-aligned already; the asserted offsets keep this honest.
using aligned_u64 = std::uint64_t;
static_assert(alignof(u64) == 8, "vfiopp mirrors the x86_64 ABI");

/// One field of a mirrored struct: its name, member pointer and ABI offset.
template <typename T, typename M>
struct field_desc {
    std::string_view name;
    M T::*member;
    std::size_t offset;
    using type = M;
};

/// Found by ADL for every type declared with VFIOPP_LAYOUT; `layout_of<T>` is the public spelling.
template <typename T>
concept described = requires { vfiopp_layout(std::type_identity<T>{}); };

/// The descriptor of a mirrored struct: `layout_of<T>.name`, `.size`, `.fields` (a tuple of field_desc).
///   for_each_field(layout_of<vfio_region_info>, [](auto f) { fmt::print("{} @{}\n", f.name, f.offset); });
template <described T>
inline constexpr auto layout_of = vfiopp_layout(std::type_identity<T>{});

template <typename T, typename Fields>
struct layout_desc {
    std::string_view name;
    std::size_t size;
    std::size_t align;
    Fields fields;
    using type = T;
};

/// Calls fn(field_desc) for every field of a descriptor, in declaration order.
template <typename Desc, typename Fn>
constexpr void for_each_field(const Desc& d, Fn&& fn) {
    std::apply([&](const auto&... f) { (fn(f), ...); }, d.fields);
}

/// A flexible array member at the end of a struct (the kernel's `data[]`): element type and offset.
template <typename Elem, std::size_t Offset>
struct flexible_array {
    using element_type = Elem;
    static constexpr std::size_t offset = Offset;
    std::string_view name;  ///< the kernel's member name, e.g. "data"
};
template <typename T>
concept has_flexible_array = requires { vfiopp_flex(std::type_identity<T>{}); };
/// The flexible array of T: `flexible_array_of<vfio_irq_set>::offset == 20`, `::element_type`.
template <has_flexible_array T>
using flexible_array_of = decltype(vfiopp_flex(std::type_identity<T>{}));
/// Its kernel member name: `flexible_array_name<vfio_irq_set> == "data"`.
template <has_flexible_array T>
inline constexpr std::string_view flexible_array_name = vfiopp_flex(std::type_identity<T>{}).name;

}  // namespace vfiopp::uapi

// ---- macro machinery. Every vfiopp macro starts with VFIOPP_; the declaration macros are defined here, in
// enums.hpp (VFIOPP_ENUM, VFIOPP_FLAGS) and ioctl.hpp (VFIOPP_IOCTL_DEFS, VFIOPP_OUT_FD); each mirror header adds
// its lists (VFIOPP_FIELDS_*, VFIOPP_ENUM_*, VFIOPP_STRUCTS_*, VFIOPP_IOCTLS_*, ...), which must stay defined
// because the registry, printing and the kernel cross-check expand them again. ----
#define VFIOPP_DETAIL_COUNT(T, f, off) +1
#define VFIOPP_DETAIL_COUNT_AS(T, f, off, k) +1
#define VFIOPP_DETAIL_ASSERT(T, f, off)                                                                       \
    static_assert(offsetof(T, f) == (off), "vfiopp: " #T "::" #f " is not at ABI offset " #off);
#define VFIOPP_DETAIL_ASSERT_AS(T, f, off, k) VFIOPP_DETAIL_ASSERT(T, f, off)
#define VFIOPP_DETAIL_DESC(T, f, off) ::vfiopp::uapi::field_desc<T, decltype(T::f)>{#f, &T::f, (off)},
#define VFIOPP_DETAIL_DESC_AS(T, f, off, k) VFIOPP_DETAIL_DESC(T, f, off)

#define VFIOPP_DETAIL_SIZE_FIELD(T, f, off)                                                                   \
    ((off) == 0 && std::is_same_v<decltype(T::f), ::vfiopp::uapi::u32> &&                                     \
     (std::string_view{#f} == "argsz" || std::string_view{#f} == "size"))                                     \
        ? std::string_view{#f}                                                                                \
        :
#define VFIOPP_DETAIL_SIZE_FIELD_AS(T, f, off, k) VFIOPP_DETAIL_SIZE_FIELD(T, f, off)

/// Declares T's descriptor and proves its layout; see the top of this file.
#define VFIOPP_LAYOUT(T, SIZE, ALIGN, SINCE)                                                                       \
    static_assert(std::is_standard_layout_v<T> && std::is_trivially_copyable_v<T>,                            \
                  "vfiopp: " #T " must be a trivially copyable standard-layout aggregate");                   \
    static_assert(sizeof(T) == (SIZE), "vfiopp: sizeof(" #T ") differs from the kernel ABI (" #SIZE ")");     \
    static_assert(alignof(T) == (ALIGN), "vfiopp: alignof(" #T ") differs from the kernel ABI (" #ALIGN ")");  \
    VFIOPP_FIELDS_##T(VFIOPP_DETAIL_ASSERT, T)                                                                \
    /* The descriptor and the field-count proof are a template with a dependent body, so that a TU pays for \
       them (std::tuple and Boost.PFR instantiations) only when it uses layout_of<T>: printing, decoding and \
       the tests do; a VMM that only builds requests does not (see tools/compile-cost.sh). */             \
    /* The leading u32 holding the image size ("argsz" or "size"), or "": cheap, for the wire layer. */     \
    [[maybe_unused]] constexpr std::string_view vfiopp_size_field(std::type_identity<T>) {                    \
        return VFIOPP_FIELDS_##T(VFIOPP_DETAIL_SIZE_FIELD, T) std::string_view{};                             \
    }                                                                                                         \
    template <typename vfiopp_T = T>                                                                          \
    [[maybe_unused]] constexpr auto vfiopp_layout(std::type_identity<T>) {                                    \
        static_assert(::boost::pfr::tuple_size_v<vfiopp_T> == (0 VFIOPP_FIELDS_##T(VFIOPP_DETAIL_COUNT, T)),  \
                      "vfiopp: " #T " has fields that its field list does not name");                         \
        return ::vfiopp::uapi::layout_desc<vfiopp_T,                                                          \
                                           decltype(std::tuple{VFIOPP_FIELDS_##T(VFIOPP_DETAIL_DESC, vfiopp_T)})>{ \
            #T, (SIZE), (ALIGN), std::tuple{VFIOPP_FIELDS_##T(VFIOPP_DETAIL_DESC, vfiopp_T)}};                \
    }

#define VFIOPP_DETAIL_CONSTANT(n, K, v, since) inline constexpr auto n = (v);
/// Defines `inline constexpr auto name = value;` for every entry X(name, KERNEL_MACRO, value, since) of LIST.
#define VFIOPP_CONSTANTS(LIST) LIST(VFIOPP_DETAIL_CONSTANT)

/// Declares T's flexible array member `NAME[]` of ELEM at OFFSET (not part of the C++ mirror).
#define VFIOPP_FLEX(T, NAME, ELEM, OFFSET)                                                                    \
    static_assert((OFFSET) >= sizeof(T) - alignof(T) + 1 || (OFFSET) == sizeof(T),                            \
                  "vfiopp: " #T "::" #NAME "[] must start at the end of the mirror");                         \
    [[maybe_unused]] constexpr auto vfiopp_flex(std::type_identity<T>) {                                      \
        return ::vfiopp::uapi::flexible_array<ELEM, (OFFSET)>{#NAME};                                         \
    }
