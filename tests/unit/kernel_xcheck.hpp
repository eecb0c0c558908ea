// kernel_xcheck.hpp - compares every vfiopp mirror with the real kernel header it mirrors, at compile time, and
// counts what it compared.
//
// Included by kernel_xcheck.inc (kernel_xcheck_61.cpp: the system's <linux/*.h>, Linux 6.1 on Debian 12;
// kernel_xcheck_73.cpp: linux-libc-dev 7.3 from the cache), by kernel_xcheck_510.cpp (linux-libc-dev 5.10 from the
// cache: the 5.10 payloads of iommu.hpp) and by tests/compile_fail/broken_mirror.cpp (the negative control, which
// puts a broken mirror through these same macros). Everything is generated from the uapi headers' X-macro lists:
//  - structs: sizeof, alignof, every field's offset and size, integer field types (signedness and width), and,
//    where Boost.PFR can reflect the kernel struct (no C array, no anonymous union), the field count and each
//    field's type through PFR;
//  - every constant and enum value against the kernel's macro or enumerator;
//  - every ioctl code against the kernel's macro.
//
// What happens to an entry follows from its SINCE token and the header at hand (VFIOPP_XC_STATE_<token>):
//   checked - compared with the kernel;
//   newer   - the entry is newer than the header (k6_8 on a 6.1 header): skipped by version;
//   never   - the 2020 proposal, in no mainline header: skipped (the 5.10 check compares iommu.hpp's `never`
//             entries, which are the 5.10 <linux/iommu.h>'s: it defines VFIOPP_XC_CHECK_NEVER);
//   removed - the entry left the kernel before the header (until6_7 on a 7.3 header): skipped.
// Each list is expanded into a constant *expression*: every entry contributes a ::vfiopp_xcheck::tally of one, and a
// checked entry's static_asserts sit in the lambda that yields its tally, so an entry is counted as checked only
// where its checks were compiled. kernel_xcheck.inc compares those tallies with what the lists and the ioctl registry
// hold (read independently of these macros, from the SINCE spelling): visited + skipped == total, state by state.
#pragma once

#include <linux/version.h>

#include <vfiopp/uapi/enums.hpp>
#include <vfiopp/uapi/layout.hpp>

#include <boost/pfr/core.hpp>

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

// ---- SINCE token -> what the cross-check does with the entry, for the header at hand ----
#define VFIOPP_XC_VERSIONED(major, minor) (LINUX_VERSION_CODE >= KERNEL_VERSION(major, minor, 0))
#if VFIOPP_XC_VERSIONED(6, 1)
#define VFIOPP_XC_STATE_k6_1 checked
#else
#define VFIOPP_XC_STATE_k6_1 newer
#endif
#if VFIOPP_XC_VERSIONED(6, 2)
#define VFIOPP_XC_STATE_k6_2 checked
#else
#define VFIOPP_XC_STATE_k6_2 newer
#endif
#if VFIOPP_XC_VERSIONED(6, 5)
#define VFIOPP_XC_STATE_k6_5 checked
#else
#define VFIOPP_XC_STATE_k6_5 newer
#endif
#if VFIOPP_XC_VERSIONED(6, 6)
#define VFIOPP_XC_STATE_k6_6 checked
#else
#define VFIOPP_XC_STATE_k6_6 newer
#endif
#if VFIOPP_XC_VERSIONED(6, 7)
#define VFIOPP_XC_STATE_k6_7 checked
#else
#define VFIOPP_XC_STATE_k6_7 newer
#endif
#if VFIOPP_XC_VERSIONED(6, 8)
#define VFIOPP_XC_STATE_k6_8 checked
#else
#define VFIOPP_XC_STATE_k6_8 newer
#endif
#if VFIOPP_XC_VERSIONED(6, 10)
#define VFIOPP_XC_STATE_k6_10 checked
#else
#define VFIOPP_XC_STATE_k6_10 newer
#endif
#if VFIOPP_XC_VERSIONED(6, 11)
#define VFIOPP_XC_STATE_k6_11 checked
#else
#define VFIOPP_XC_STATE_k6_11 newer
#endif
#if VFIOPP_XC_VERSIONED(6, 13)
#define VFIOPP_XC_STATE_k6_13 checked
#else
#define VFIOPP_XC_STATE_k6_13 newer
#endif
#if VFIOPP_XC_VERSIONED(6, 15)
#define VFIOPP_XC_STATE_k6_15 checked
#else
#define VFIOPP_XC_STATE_k6_15 newer
#endif
#if VFIOPP_XC_VERSIONED(6, 17)
#define VFIOPP_XC_STATE_k6_17 checked
#else
#define VFIOPP_XC_STATE_k6_17 newer
#endif
#if VFIOPP_XC_VERSIONED(6, 18)
#define VFIOPP_XC_STATE_k6_18 checked
#else
#define VFIOPP_XC_STATE_k6_18 newer
#endif
#if VFIOPP_XC_VERSIONED(6, 19)
#define VFIOPP_XC_STATE_k6_19 checked
#else
#define VFIOPP_XC_STATE_k6_19 newer
#endif
#if VFIOPP_XC_VERSIONED(7, 0)
#define VFIOPP_XC_STATE_k7_0 checked
#else
#define VFIOPP_XC_STATE_k7_0 newer
#endif
#if VFIOPP_XC_VERSIONED(7, 1)
#define VFIOPP_XC_STATE_k7_1 checked
#else
#define VFIOPP_XC_STATE_k7_1 newer
#endif
#if VFIOPP_XC_VERSIONED(7, 3)
#define VFIOPP_XC_STATE_k7_3 checked
#else
#define VFIOPP_XC_STATE_k7_3 newer
#endif
// present up to (not including) a version: the uapi <linux/iommu.h> fault structs were removed later
#if VFIOPP_XC_VERSIONED(6, 7)
#define VFIOPP_XC_STATE_until6_7 removed
#else
#define VFIOPP_XC_STATE_until6_7 checked
#endif
#if defined(VFIOPP_XC_CHECK_NEVER)
#define VFIOPP_XC_STATE_never checked
#else
#define VFIOPP_XC_STATE_never never
#endif
/// The newest SINCE token above: a header at least this new must have every versioned entry checked.
#define VFIOPP_XC_NEWEST_TOKEN_VERSION KERNEL_VERSION(7, 3, 0)

namespace vfiopp_xcheck {

/// What the cross-check did with one list entry (see the top of this file).
enum class state { checked, newer, never, removed };

/// How many list entries ended in each state; the lists expand into sums of these.
struct tally {
    std::size_t checked = 0;
    std::size_t newer = 0;    ///< skipped by version: newer than the header
    std::size_t never = 0;    ///< skipped: in no mainline header
    std::size_t removed = 0;  ///< skipped: removed before the header
    constexpr std::size_t total() const { return checked + newer + never + removed; }
    friend constexpr tally operator+(tally a, tally b) {
        return {a.checked + b.checked, a.newer + b.newer, a.never + b.never, a.removed + b.removed};
    }
    friend constexpr bool operator==(tally, tally) = default;
};
constexpr tally one(state s) {
    tally t;
    switch (s) {
        case state::checked: t.checked = 1; break;
        case state::newer: t.newer = 1; break;
        case state::never: t.never = 1; break;
        case state::removed: t.removed = 1; break;
    }
    return t;
}

/// Not constexpr: a constant-evaluated skipped() that reaches it fails to compile (see below).
inline void a_checked_entry_yields_no_checks() noexcept {}
/// The tally of an entry whose checks were *not* compiled: never `checked`, so a gate that drops an entry's checks
/// cannot count it as checked.
constexpr tally skipped(state s) {
    if (s == state::checked) a_checked_entry_yields_no_checks();
    return one(s);
}

/// Not constexpr: a constant-evaluated expected_state() that reaches it fails to compile (an unknown SINCE token).
inline void unknown_since_token() noexcept {}
constexpr std::size_t parse_number(std::string_view s) {
    std::size_t n = 0;
    for (char c : s) {
        if (c < '0' || c > '9') unknown_since_token();
        n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    return n;
}
constexpr unsigned version_of(std::string_view major_minor) {  // "6_13" -> KERNEL_VERSION(6, 13, 0)
    auto u = major_minor.find('_');
    if (u == std::string_view::npos) unknown_since_token();
    return static_cast<unsigned>(KERNEL_VERSION(parse_number(major_minor.substr(0, u)), parse_number(major_minor.substr(u + 1)), 0));
}

/// What the cross-check must do with an entry, from the spelling of its SINCE token alone (not from the
/// VFIOPP_XC_STATE_* table the macros use), for the header at hand.
constexpr state expected_state(std::string_view since) {
    constexpr unsigned header = LINUX_VERSION_CODE;
    if (since == "never") {
#if defined(VFIOPP_XC_CHECK_NEVER)
        return state::checked;
#else
        return state::never;
#endif
    }
    if (since.starts_with("until")) return header < version_of(since.substr(5)) ? state::checked : state::removed;
    if (since.starts_with("k")) return header >= version_of(since.substr(1)) ? state::checked : state::newer;
    unknown_since_token();
    return state::never;
}
constexpr tally expect(std::string_view since) { return one(expected_state(since)); }

// What a mirror's field stores, as the kernel spells it: bitmask<E> and enums by their underlying type,
// std::array<E, N> as E[N].
template <typename T>
struct repr { using type = T; };
template <typename E>
struct repr<vfiopp::uapi::bitmask<E>> { using type = std::underlying_type_t<E>; };
template <typename T, std::size_t N>
struct repr<std::array<T, N>> { using type = typename repr<T>::type[N]; };
template <typename T>
    requires std::is_enum_v<T>
struct repr<T> { using type = std::underlying_type_t<T>; };
template <typename T>
using repr_t = typename repr<T>::type;

// kernel __u64/__s64 are unsigned long long; std::uint64_t is unsigned long: same width and signedness.
template <typename A, typename B>
constexpr bool same_scalar() {
    if constexpr (std::is_array_v<A> && std::is_array_v<B>)
        return std::extent_v<A> == std::extent_v<B> && same_scalar<std::remove_extent_t<A>, std::remove_extent_t<B>>();
    else if constexpr (std::is_integral_v<A> && std::is_integral_v<B>)
        return sizeof(A) == sizeof(B) && std::is_signed_v<A> == std::is_signed_v<B>;
    else
        return sizeof(A) == sizeof(B);  // nested structs and unions are checked on their own
}

template <typename K>
constexpr bool pfr_safe_member() { return !std::is_array_v<K> && !std::is_union_v<K>; }

template <typename K, typename M, std::size_t... I>
constexpr bool pfr_types_match(std::index_sequence<I...>) {
    return (same_scalar<boost::pfr::tuple_element_t<I, K>, repr_t<boost::pfr::tuple_element_t<I, M>>>() && ...);
}

// Boost.PFR is instantiated only when the kernel struct is reflectable (no C array, no anonymous union): for the
// others tuple_size_v itself is a hard error, so it must sit behind `if constexpr`, not `||`.
// A kernel struct with a flexible array member is not reflectable either (GCC counts `data[]` as a member).
template <typename K, typename M, bool Reflectable>
constexpr bool pfr_matches() {
    if constexpr (!Reflectable || vfiopp::uapi::has_flexible_array<M>)
        return true;
    else
        return boost::pfr::tuple_size_v<K> == boost::pfr::tuple_size_v<M> &&
               pfr_types_match<K, M>(std::make_index_sequence<boost::pfr::tuple_size_v<M>>{});
}

}  // namespace vfiopp_xcheck

// ---- one list entry: its checks if its SINCE token is checked for this header, and its tally either way ----
#define VFIOPP_XC_UNWRAP(...) __VA_ARGS__
#define VFIOPP_XC_PICK_checked(yes, no) VFIOPP_XC_UNWRAP yes
#define VFIOPP_XC_PICK_newer(yes, no) VFIOPP_XC_UNWRAP no
#define VFIOPP_XC_PICK_never(yes, no) VFIOPP_XC_UNWRAP no
#define VFIOPP_XC_PICK_removed(yes, no) VFIOPP_XC_UNWRAP no
#define VFIOPP_XC_PICK(st, yes, no) VFIOPP_XC_PICK_I(st, yes, no)
#define VFIOPP_XC_PICK_I(st, yes, no) VFIOPP_XC_PICK_##st(yes, no)
/// `+ tally` of one entry: CHECKS (parenthesised declarations: static_asserts) are compiled, in the lambda that
/// yields the `checked` tally, only when SINCE is checked for this header; otherwise the tally says why not.
#define VFIOPP_XC_ENTRY(since, CHECKS)                                                                         \
    VFIOPP_XC_PICK(VFIOPP_XC_STATE_##since,                                                                    \
                   (+[] {                                                                                      \
                       VFIOPP_XC_UNWRAP CHECKS                                                                 \
                       return ::vfiopp_xcheck::one(::vfiopp_xcheck::state::checked);                           \
                   }()),                                                                                       \
                   (+::vfiopp_xcheck::skipped(::vfiopp_xcheck::state::VFIOPP_XC_STATE_##since)))

// ---- structs ----
#define VFIOPP_XC_FIELD(T, f, off)                                                                             \
    static_assert(offsetof(::T, f) == (off), "kernel " #T "::" #f " is not at the mirror's offset");          \
    static_assert(sizeof(::T::f) == sizeof(::vfiopp::uapi::T::f), "kernel " #T "::" #f " has another size");  \
    static_assert(::vfiopp_xcheck::same_scalar<decltype(::T::f), ::vfiopp_xcheck::repr_t<decltype(::vfiopp::uapi::T::f)>>(), \
                  "kernel " #T "::" #f " has another type");
#define VFIOPP_XC_FIELD_AS(T, f, off, k)                                                                       \
    static_assert(offsetof(::T, k) == (off), "kernel " #T "::" #k " is not at the mirror's offset of " #f);
#define VFIOPP_XC_PFR_SAFE(T, f, off) &&::vfiopp_xcheck::pfr_safe_member<decltype(::T::f)>()
#define VFIOPP_XC_PFR_SAFE_AS(T, f, off, k) && false
#define VFIOPP_XC_STRUCT_BODY(T)                                                                               \
    static_assert(sizeof(::T) == sizeof(::vfiopp::uapi::T), "kernel sizeof(" #T ") differs from the mirror");  \
    static_assert(alignof(::T) == alignof(::vfiopp::uapi::T), "kernel alignof(" #T ") differs from the mirror"); \
    VFIOPP_FIELDS_##T(VFIOPP_XC_FIELD, T)                                                                      \
    static_assert(::vfiopp_xcheck::pfr_matches<::T, ::vfiopp::uapi::T,                                         \
                                               (true VFIOPP_FIELDS_##T(VFIOPP_XC_PFR_SAFE, T))>(),              \
                  "kernel " #T ": Boost.PFR field count or field types differ from the mirror");
/// X of a VFIOPP_STRUCTS_* list: the mirror ::vfiopp::uapi::T against the kernel's ::T.
#define VFIOPP_XC_STRUCT(T, size, align, since) VFIOPP_XC_ENTRY(since, (VFIOPP_XC_STRUCT_BODY(T)))

// ---- enum values, constants, ioctl codes ----
#define VFIOPP_XC_ENUM_VALUE(n, K, v, since)                                                                   \
    VFIOPP_XC_ENTRY(since, (static_assert(static_cast<unsigned long long>(vfiopp_xc_enum::n) ==                \
                                              static_cast<unsigned long long>(K),                              \
                                          #K " differs from the mirror");))
/// X of a VFIOPP_ENUMS_* list: every value of the family ::vfiopp::uapi::E.
#define VFIOPP_XC_ENUM(E)                                                                                      \
    +[] {                                                                                                      \
        using vfiopp_xc_enum [[maybe_unused]] = ::vfiopp::uapi::E;                                                            \
        return ::vfiopp_xcheck::tally{} VFIOPP_ENUM_##E(VFIOPP_XC_ENUM_VALUE);                                 \
    }()
/// X of a VFIOPP_CONSTANTS_* list.
#define VFIOPP_XC_CONSTANT(n, K, v, since)                                                                     \
    VFIOPP_XC_ENTRY(since, (static_assert(static_cast<unsigned long long>(::vfiopp::uapi::n) ==                \
                                              static_cast<unsigned long long>(K),                              \
                                          #K " differs from the mirror");))
/// X of a VFIOPP_IOCTLS_* list; VFIOPP_XC_IOCTL_NS names the namespace of the list's ioctl_def objects.
#define VFIOPP_XC_IOCTL(n, K, type, nr, fd, arg, A, ret, since)                                                \
    VFIOPP_XC_ENTRY(since, (static_assert(VFIOPP_XC_IOCTL_NS::n.code == (K), #K " code differs from the mirror");))

// ---- a whole list, as a tally expression: what the cross-check compared and skipped ----
#define VFIOPP_XC_STRUCTS_OF(H) (::vfiopp_xcheck::tally{} VFIOPP_STRUCTS_##H(VFIOPP_XC_STRUCT))
#define VFIOPP_XC_ENUM_VALUES_OF(H) (::vfiopp_xcheck::tally{} VFIOPP_ENUMS_##H(VFIOPP_XC_ENUM))
#define VFIOPP_XC_CONSTANTS_OF(H) (::vfiopp_xcheck::tally{} VFIOPP_CONSTANTS_##H(VFIOPP_XC_CONSTANT))
#define VFIOPP_XC_IOCTLS_OF(H) (::vfiopp_xcheck::tally{} VFIOPP_IOCTLS_##H(VFIOPP_XC_IOCTL))

// ---- what the lists hold, read without the macros above: one expected tally per entry, from its SINCE spelling ----
#define VFIOPP_XC_EXPECT_STRUCT(T, size, align, since) +::vfiopp_xcheck::expect(#since)
#define VFIOPP_XC_EXPECT_VALUE(n, K, v, since) +::vfiopp_xcheck::expect(#since)
#define VFIOPP_XC_EXPECT_ENUM(E) +(::vfiopp_xcheck::tally{} VFIOPP_ENUM_##E(VFIOPP_XC_EXPECT_VALUE))
#define VFIOPP_XC_EXPECTED_STRUCTS_OF(H) (::vfiopp_xcheck::tally{} VFIOPP_STRUCTS_##H(VFIOPP_XC_EXPECT_STRUCT))
#define VFIOPP_XC_EXPECTED_ENUM_VALUES_OF(H) (::vfiopp_xcheck::tally{} VFIOPP_ENUMS_##H(VFIOPP_XC_EXPECT_ENUM))
#define VFIOPP_XC_EXPECTED_CONSTANTS_OF(H) (::vfiopp_xcheck::tally{} VFIOPP_CONSTANTS_##H(VFIOPP_XC_EXPECT_VALUE))
/// The library's own name table of each enum family (enum_entries<E>): its size, for the enum-value total.
#define VFIOPP_XC_TABLE_SIZE(E) +::vfiopp::uapi::enum_entries<::vfiopp::uapi::E>.size()
#define VFIOPP_XC_ENUM_TABLE_SIZES_OF(H) (std::size_t{0} VFIOPP_ENUMS_##H(VFIOPP_XC_TABLE_SIZE))
