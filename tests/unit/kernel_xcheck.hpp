// kernel_xcheck.hpp - compares every vfiopp mirror with the real kernel header it mirrors, at compile time.
//
// Included by kernel_xcheck_61.cpp (the system's <linux/*.h>, Linux 6.1 on Debian 12) and kernel_xcheck_73.cpp
// (linux-libc-dev 7.3 from the cache). Everything is generated from the uapi headers' X-macro lists:
//  - structs: sizeof, alignof, every field's offset and size, integer field types (signedness and width), and,
//    where Boost.PFR can reflect the kernel struct (no C array, no anonymous union), the field count and each
//    field's type through PFR;
//  - every constant and enum value against the kernel's macro or enumerator;
//  - every ioctl code against the kernel's macro.
// An entry whose SINCE token names a kernel newer than the header at hand is left out by the preprocessor.
#pragma once

#include <linux/version.h>

#include <boost/pfr/core.hpp>

#include <cstddef>
#include <type_traits>
#include <utility>

#define VFIOPP_XC_k6_1(...) __VA_ARGS__
#define VFIOPP_XC_never(...)
#define VFIOPP_XC_VERSION_GATE(...) __VA_ARGS__
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define VFIOPP_XC_k6_2(...) __VA_ARGS__
#else
#define VFIOPP_XC_k6_2(...)
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
#define VFIOPP_XC_k6_5(...) __VA_ARGS__
#else
#define VFIOPP_XC_k6_5(...)
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define VFIOPP_XC_k6_6(...) __VA_ARGS__
#else
#define VFIOPP_XC_k6_6(...)
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
#define VFIOPP_XC_k6_7(...) __VA_ARGS__
#else
#define VFIOPP_XC_k6_7(...)
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define VFIOPP_XC_k6_8(...) __VA_ARGS__
#else
#define VFIOPP_XC_k6_8(...)
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define VFIOPP_XC_k6_10(...) __VA_ARGS__
#else
#define VFIOPP_XC_k6_10(...)
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
#define VFIOPP_XC_k6_11(...) __VA_ARGS__
#else
#define VFIOPP_XC_k6_11(...)
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define VFIOPP_XC_k6_13(...) __VA_ARGS__
#else
#define VFIOPP_XC_k6_13(...)
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
#define VFIOPP_XC_k6_15(...) __VA_ARGS__
#else
#define VFIOPP_XC_k6_15(...)
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 17, 0)
#define VFIOPP_XC_k6_17(...) __VA_ARGS__
#else
#define VFIOPP_XC_k6_17(...)
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 18, 0)
#define VFIOPP_XC_k6_18(...) __VA_ARGS__
#else
#define VFIOPP_XC_k6_18(...)
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
#define VFIOPP_XC_k6_19(...) __VA_ARGS__
#else
#define VFIOPP_XC_k6_19(...)
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
#define VFIOPP_XC_k7_0(...) __VA_ARGS__
#else
#define VFIOPP_XC_k7_0(...)
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 1, 0)
#define VFIOPP_XC_k7_1(...) __VA_ARGS__
#else
#define VFIOPP_XC_k7_1(...)
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 3, 0)
#define VFIOPP_XC_k7_3(...) __VA_ARGS__
#else
#define VFIOPP_XC_k7_3(...)
#endif
// present up to (not including) a version: the uapi <linux/iommu.h> fault structs were removed later
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 7, 0)
#define VFIOPP_XC_until6_7(...) __VA_ARGS__
#else
#define VFIOPP_XC_until6_7(...)
#endif

namespace vfiopp_xcheck {

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
#define VFIOPP_XC_STRUCT(T, size, align, since) VFIOPP_XC_##since(VFIOPP_XC_STRUCT_BODY(T))

#define VFIOPP_XC_ENUM_VALUE(n, K, v, since)                                                                   \
    VFIOPP_XC_##since(static_assert(static_cast<unsigned long long>(vfiopp_xc_enum::n) ==                      \
                                        static_cast<unsigned long long>(K),                                    \
                                    #K " differs from the mirror");)
#define VFIOPP_XC_ENUM(E)                                                                                      \
    namespace vfiopp_xc_enum_##E {                                                                             \
    using vfiopp_xc_enum = ::vfiopp::uapi::E;                                                                  \
    VFIOPP_ENUM_##E(VFIOPP_XC_ENUM_VALUE)                                                                      \
    }
#define VFIOPP_XC_CONSTANT(n, K, v, since)                                                                     \
    VFIOPP_XC_##since(static_assert(static_cast<unsigned long long>(::vfiopp::uapi::n) ==                      \
                                        static_cast<unsigned long long>(K),                                    \
                                    #K " differs from the mirror");)
#define VFIOPP_XC_IOCTL(n, K, type, nr, fd, arg, A, ret, since)                                                     \
    VFIOPP_XC_##since(static_assert(VFIOPP_XC_IOCTL_NS::n.code == (K), #K " code differs from the mirror");)
