// vfiopp/fmt.hpp - {fmt} formatters for every mirrored struct, enum and bitmask (target vfiopp::fmt).
//
//   fmt::print("{}\n", info);    // vfio_region_info{argsz=32, flags=read|write|mmap, index=0, ...}
//   fmt::print("{:l}\n", info);  // the same, one field per line
//   fmt::print("{}\n", bitmask<region_info_flag>::from_bits(0x105));   // read|mmap|0x100
//
// Everything is derived from the layout descriptors (uapi/layout.hpp) and enum tables (uapi/enums.hpp): a
// struct added to a uapi header prints without any code here. u64 values print in hex (addresses, sizes,
// offsets), narrower integers in decimal, padding and unions as hex bytes.
#pragma once

#include <vfiopp/fmt_error.hpp>
#include <vfiopp/uapi/enums.hpp>
#include <vfiopp/uapi/layout.hpp>

#include <fmt/format.h>

#include <array>
#include <string_view>
#include <type_traits>

namespace vfiopp::detail {

template <typename T>
inline constexpr bool is_std_array_v = false;
template <typename T, std::size_t N>
inline constexpr bool is_std_array_v<std::array<T, N>> = true;
template <typename T>
inline constexpr bool is_byte_array_v = false;
template <std::size_t N>
inline constexpr bool is_byte_array_v<std::array<std::uint8_t, N>> = true;

template <typename Out, typename E>
Out format_enum(Out out, E v) {
    if (auto n = uapi::enum_name(v)) return fmt::format_to(out, "{}", *n);
    return fmt::format_to(out, "{:#x}", static_cast<std::underlying_type_t<E>>(v));
}

template <typename Out, typename E>
Out format_bitmask(Out out, uapi::bitmask<E> m) {
    if (m.bits() == 0) return fmt::format_to(out, "0");
    bool first = true;
    for (const auto& e : uapi::enum_entries<E>) {
        auto b = static_cast<std::underlying_type_t<E>>(e.value);
        if (b != 0 && std::has_single_bit(b) && (m.bits() & b)) {
            out = fmt::format_to(out, "{}{}", first ? "" : "|", e.name);
            first = false;
        }
    }
    // multi-bit names (masks, fields such as an op in the low bits) print through the numeric rest
    if (auto rest = m.bits() & ~[&] {
            std::underlying_type_t<E> k = 0;
            for (const auto& e : uapi::enum_entries<E>) {
                auto b = static_cast<std::underlying_type_t<E>>(e.value);
                if (b != 0 && std::has_single_bit(b)) k |= b;
            }
            return k;
        }())
        out = fmt::format_to(out, "{}{:#x}", first ? "" : "|", rest);
    return out;
}

template <typename Out>
Out format_bytes(Out out, const void* p, std::size_t n) {
    auto b = static_cast<const unsigned char*>(p);
    bool all_zero = true;
    for (std::size_t i = 0; i < n; ++i) all_zero = all_zero && b[i] == 0;
    if (all_zero) return fmt::format_to(out, "{{0 x{}}}", n);
    out = fmt::format_to(out, "{{");
    for (std::size_t i = 0; i < n; ++i) out = fmt::format_to(out, "{:02x}", b[i]);
    return fmt::format_to(out, "}}");
}

template <typename Out, typename V>
Out format_value(Out out, const V& v, int indent);

template <typename Out, typename T>
Out format_struct(Out out, const T& s, int indent) {
    constexpr auto d = uapi::layout_of<T>;
    out = fmt::format_to(out, "{}{{", d.name);
    bool first = true;
    uapi::for_each_field(d, [&](auto f) {
        if (indent >= 0)
            out = fmt::format_to(out, "\n{:{}}", "", (indent + 1) * 2);
        else if (!first)
            out = fmt::format_to(out, ", ");
        first = false;
        out = fmt::format_to(out, "{}=", f.name);
        out = format_value(out, s.*(f.member), indent >= 0 ? indent + 1 : -1);
    });
    if (indent >= 0) out = fmt::format_to(out, "\n{:{}}", "", indent * 2);
    return fmt::format_to(out, "}}");
}

template <typename Out, typename V>
Out format_value(Out out, const V& v, int indent) {
    if constexpr (uapi::is_bitmask_v<V>) {
        return format_bitmask(out, v);
    } else if constexpr (uapi::named_enum<V>) {
        return format_enum(out, v);
    } else if constexpr (std::is_enum_v<V>) {
        return fmt::format_to(out, "{}", static_cast<std::underlying_type_t<V>>(v));
    } else if constexpr (uapi::described<V>) {
        return format_struct(out, v, indent);
    } else if constexpr (std::is_same_v<V, std::uint64_t> || std::is_same_v<V, std::int64_t>) {
        return fmt::format_to(out, "{:#x}", v);
    } else if constexpr (std::is_integral_v<V>) {
        return fmt::format_to(out, "{}", v);
    } else if constexpr (is_byte_array_v<V>) {
        return format_bytes(out, v.data(), v.size());
    } else if constexpr (is_std_array_v<V>) {
        out = fmt::format_to(out, "[");
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (i) out = fmt::format_to(out, ", ");
            out = format_value(out, v[i], -1);
        }
        return fmt::format_to(out, "]");
    } else {
        static_assert(std::is_trivially_copyable_v<V>, "vfiopp::fmt: no formatter for this field type");
        return format_bytes(out, &v, sizeof v);  // unions: the bytes; the active member is not knowable here
    }
}

/// Parses "" (one line) or "l" (one field per line).
struct layout_format_spec {
    bool multiline = false;
    constexpr auto parse(fmt::format_parse_context& ctx) {
        auto it = ctx.begin();
        if (it != ctx.end() && *it == 'l') {
            multiline = true;
            ++it;
        }
        if (it != ctx.end() && *it != '}') FMT_THROW(fmt::format_error("vfiopp: format spec must be {} or {:l}"));
        return it;
    }
};

}  // namespace vfiopp::detail

template <typename T>
    requires vfiopp::uapi::described<T>
struct fmt::formatter<T> : vfiopp::detail::layout_format_spec {
    auto format(const T& v, fmt::format_context& ctx) const {
        return vfiopp::detail::format_struct(ctx.out(), v, multiline ? 0 : -1);
    }
};

template <typename E>
struct fmt::formatter<vfiopp::uapi::bitmask<E>> : vfiopp::detail::layout_format_spec {
    auto format(vfiopp::uapi::bitmask<E> v, fmt::format_context& ctx) const {
        return vfiopp::detail::format_bitmask(ctx.out(), v);
    }
};

template <typename E>
    requires vfiopp::uapi::named_enum<E>
struct fmt::formatter<E> : vfiopp::detail::layout_format_spec {
    auto format(E v, fmt::format_context& ctx) const { return vfiopp::detail::format_enum(ctx.out(), v); }
};
