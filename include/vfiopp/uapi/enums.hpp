// vfiopp/uapi/enums.hpp - named constants: value enums and typed bitmasks, declared once.
//
// A kernel constant family is declared once as an X-macro list of (C++ name, kernel macro name, value):
//
//   #define VFIOPP_ENUM_region_info_flag(X)        /* (C++ name, kernel macro, value, since) */
//       X(read,  VFIO_REGION_INFO_FLAG_READ,  1u << 0, k6_1)
//       X(write, VFIO_REGION_INFO_FLAG_WRITE, 1u << 1, k6_1)
//   VFIOPP_FLAGS(region_info_flag, u32)      // or VFIOPP_ENUM(name, u32) for a value enum
//
// which defines `enum class region_info_flag : u32 { read = 1, write = 2 }`, a table of its names (used by
// printing and decoding) and, for VFIOPP_FLAGS, marks it as a bit set so that `bitmask<region_info_flag>` and
// `region_info_flag::read | region_info_flag::write` work. The kernel macro name is kept for printing and for the
// cross-check against <linux/*.h> (tests/unit/kernel_xcheck.hpp/.inc, built against the 6.1, 7.3 and 5.10 headers), which asserts every value equals the macro.
//
// bitmask<E> is what mirrors hold in their flags fields: the same size as E's underlying type, every bit kept
// (bits vfiopp does not know survive a round trip and print as hex).
#pragma once

#include <array>
#include <bit>
#include <optional>
#include <string_view>
#include <type_traits>

namespace vfiopp::uapi {

/// One named constant of an enum family.
template <typename E>
struct enum_entry {
    E value;
    std::string_view name;         // C++ name: "read"
    std::string_view kernel_name;  // kernel macro: "VFIO_REGION_INFO_FLAG_READ"
};

/// Enums declared with VFIOPP_ENUM / VFIOPP_FLAGS (found by ADL).
template <typename E>
concept named_enum = std::is_enum_v<E> && requires { vfiopp_is_named(E{}); };
template <typename E>
concept flag_enum = named_enum<E> && requires { vfiopp_known_bits(E{}); };

/// All named constants of E: `for (auto& e : enum_entries<region_info_flag>) ...`.
template <named_enum E>
inline constexpr auto enum_entries = vfiopp_enum_entries(E{});

/// The C++ name of a value, or nullopt when it has none: `enum_name(irq_index::msi) == "msi"`.
template <named_enum E>
constexpr std::optional<std::string_view> enum_name(E v) {
    for (const auto& e : enum_entries<E>)
        if (e.value == v) return e.name;
    return std::nullopt;
}

/// The kernel macro name of a value, or nullopt: `kernel_name(irq_index::msi) == "VFIO_PCI_MSI_IRQ_INDEX"`.
template <named_enum E>
constexpr std::optional<std::string_view> kernel_name(E v) {
    for (const auto& e : enum_entries<E>)
        if (e.value == v) return e.kernel_name;
    return std::nullopt;
}

/// A value by C++ or kernel name: `enum_from_name<irq_index>("msix")`.
template <named_enum E>
constexpr std::optional<E> enum_from_name(std::string_view n) {
    for (const auto& e : enum_entries<E>)
        if (e.name == n || e.kernel_name == n) return e.value;
    return std::nullopt;
}

/// A set of E's bits stored exactly as the kernel stores the flags word; unknown bits are kept.
///   bitmask<region_info_flag> f = region_info_flag::read | region_info_flag::mmap;
///   if (f.has(region_info_flag::mmap)) ...;   f.unknown() == 0
template <flag_enum E>
class bitmask {
public:
    using enum_type = E;
    using underlying_type = std::underlying_type_t<E>;

    constexpr bitmask() = default;
    constexpr bitmask(E e) : bits_(static_cast<underlying_type>(e)) {}  // NOLINT: implicit by design
    static constexpr bitmask from_bits(underlying_type b) {
        bitmask m;
        m.bits_ = b;
        return m;
    }

    constexpr underlying_type bits() const { return bits_; }
    constexpr bool has(E e) const { return (bits_ & static_cast<underlying_type>(e)) == static_cast<underlying_type>(e); }
    constexpr bool any() const { return bits_ != 0; }
    /// The union of every named bit of E.
    static constexpr underlying_type known_bits() { return vfiopp_known_bits(E{}); }
    /// Bits set here that E does not name.
    constexpr underlying_type unknown() const { return bits_ & ~known_bits(); }

    constexpr bitmask& operator|=(bitmask o) { bits_ |= o.bits_; return *this; }
    constexpr bitmask& operator&=(bitmask o) { bits_ &= o.bits_; return *this; }
    friend constexpr bitmask operator|(bitmask a, bitmask b) { return from_bits(a.bits_ | b.bits_); }
    friend constexpr bitmask operator&(bitmask a, bitmask b) { return from_bits(a.bits_ & b.bits_); }
    friend constexpr bitmask operator~(bitmask a) { return from_bits(static_cast<underlying_type>(~a.bits_)); }
    friend constexpr bool operator==(bitmask, bitmask) = default;

    // public for structural-type use (NTTP) and aggregate-like layout; prefer bits().
    underlying_type bits_ = 0;
};

template <flag_enum E>
constexpr bitmask<E> operator|(E a, E b) { return bitmask<E>(a) | bitmask<E>(b); }

/// True for bitmask<E> types.
template <typename T>
inline constexpr bool is_bitmask_v = false;
template <typename E>
inline constexpr bool is_bitmask_v<bitmask<E>> = true;

}  // namespace vfiopp::uapi

#define VFIOPP_DETAIL_ENUMERATOR(n, k, v, since) n = (v),
#define VFIOPP_DETAIL_ENUM_BITS(n, k, v, since) | (v)
#define VFIOPP_DETAIL_ENUM_ENTRY(n, k, v, since) ::vfiopp::uapi::enum_entry<vfiopp_enum_t>{vfiopp_enum_t::n, #n, #k},

/// Declares `enum class NAME : UNDERLYING` from the list VFIOPP_ENUM_##NAME(X), with its name table.
#define VFIOPP_ENUM(NAME, UNDERLYING)                                                                         \
    enum class NAME : UNDERLYING { VFIOPP_ENUM_##NAME(VFIOPP_DETAIL_ENUMERATOR) };                           \
    template <typename vfiopp_E = NAME> /* dependent: the table is built only where names are used */        \
    [[maybe_unused]] constexpr auto vfiopp_enum_entries(NAME) {                                               \
        using vfiopp_enum_t = vfiopp_E;                                                                           \
        return std::array{VFIOPP_ENUM_##NAME(VFIOPP_DETAIL_ENUM_ENTRY)};                                      \
    }                                                                                                         \
    [[maybe_unused]] constexpr bool vfiopp_is_named(NAME) { return true; }

/// As VFIOPP_ENUM, and NAME's values are bits: bitmask<NAME> and operator| apply.
#define VFIOPP_FLAGS(NAME, UNDERLYING)                                                                        \
    VFIOPP_ENUM(NAME, UNDERLYING)                                                                             \
    [[maybe_unused]] constexpr std::underlying_type_t<NAME> vfiopp_known_bits(NAME) {                        \
        return static_cast<std::underlying_type_t<NAME>>(0 VFIOPP_ENUM_##NAME(VFIOPP_DETAIL_ENUM_BITS));     \
    }
