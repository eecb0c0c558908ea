// vfiopp/wire/fmt.hpp - {fmt} formatters for decoded ioctl arguments and capability views (target vfiopp::fmt).
//
//   fmt::print("{}\n", *wire::decode(code, img, opts));   // VFIO_IOMMU_GET_INFO vfio_iommu_type1_info{...} +96 bytes
//   fmt::print("{:l}\n", *chain);                          // the reply struct, then one capability per line
//   fmt::print("{}\n", cap);                               // iova_range@72 vfio_iommu_type1_info_cap_iova_range{...} [..]
//
// Built on <vfiopp/fmt.hpp>'s detail::format_struct, so mirrors print exactly as everywhere else; "{}" is one
// line, "{:l}" one field per line.
#pragma once

#include <vfiopp/fmt.hpp>
#include <vfiopp/wire/caps.hpp>
#include <vfiopp/wire/decode.hpp>

#include <fmt/format.h>

#include <type_traits>
#include <variant>

namespace vfiopp::detail {

template <typename T>
inline constexpr bool is_cap_chain_view_v = false;
template <typename K>
inline constexpr bool is_cap_chain_view_v<wire::cap_chain_view<K>> = true;

template <typename T>
concept cap_view = std::is_base_of_v<wire::cap_location, T>;

/// indent < 0: one line; indent >= 0: multi-line at that depth.
template <typename Out, typename Cap>
Out format_cap(Out out, const Cap& c, int indent) {
    if constexpr (std::is_same_v<Cap, wire::unknown_cap>) {
        out = fmt::format_to(out, "unknown@{} ", c.offset);
        out = format_struct(out, c.value, indent);
        return fmt::format_to(out, " bytes={}", c.bytes.size());
    } else {
        out = fmt::format_to(out, "{}@{} ", Cap::name, c.offset);
        out = format_struct(out, c.value, indent);
        if constexpr (array_cap<Cap>) {
            out = fmt::format_to(out, " {}=[", Cap::count_field);
            bool first = true;
            for (auto e : c.elements()) {
                if (indent >= 0)
                    out = fmt::format_to(out, "\n{:{}}", "", (indent + 1) * 2);
                else if (!first)
                    out = fmt::format_to(out, ", ");
                first = false;
                out = format_struct(out, e, -1);
            }
            if (indent >= 0 && !first) out = fmt::format_to(out, "\n{:{}}", "", indent * 2);
            out = fmt::format_to(out, "]");
        }
        return out;
    }
}

template <typename Out, typename K>
Out format_chain(Out out, const wire::cap_chain_view<K>& chain, int indent) {
    out = format_struct(out, chain.reply(), indent);
    if (chain.truncated()) return fmt::format_to(out, " caps=truncated(argsz {} needed)", chain.required_argsz());
    out = fmt::format_to(out, " caps=[");
    bool first = true;
    for (const auto& cap : chain) {
        if (indent >= 0)
            out = fmt::format_to(out, "\n{:{}}", "", (indent + 1) * 2);
        else if (!first)
            out = fmt::format_to(out, ", ");
        first = false;
        out = std::visit([&](const auto& c) { return format_cap(out, c, indent >= 0 ? indent + 1 : -1); }, cap);
    }
    if (indent >= 0 && !first) out = fmt::format_to(out, "\n{:{}}", "", indent * 2);
    return fmt::format_to(out, "]");
}

template <typename Out, typename Arg>
Out format_decoded(Out out, const wire::decoded<Arg>& d, int indent) {
    out = fmt::format_to(out, "{} ", d.ioctl.name);
    if constexpr (std::is_same_v<Arg, uapi::no_arg>)
        return fmt::format_to(out, "(no pointed-to argument)");
    else {
        if constexpr (std::is_same_v<Arg, char>)  // a device name's first byte: any byte, escaped (one line)
            out = fmt::format_to(out, "{:?}", d.value);
        else
            out = format_value(out, d.value, indent);
        if (d.trailer.empty()) return out;
        if (indent < 0) return fmt::format_to(out, " +{} bytes", d.trailer.size());
        out = fmt::format_to(out, "\n{:{}}trailer ({} bytes): ", "", (indent + 1) * 2, d.trailer.size());
        return format_bytes(out, d.trailer.data(), d.trailer.size());
    }
}

}  // namespace vfiopp::detail

/// A capability view: `fmt::format("{}", iova_cap)`, `{:l}` for one field per line.
template <typename Cap>
    requires vfiopp::detail::cap_view<Cap>
struct fmt::formatter<Cap> : vfiopp::detail::layout_format_spec {
    auto format(const Cap& c, fmt::format_context& ctx) const {
        return vfiopp::detail::format_cap(ctx.out(), c, multiline ? 0 : -1);
    }
};

/// A capability chain: the reply struct then its capabilities: `fmt::print("{:l}\n", *chain)`.
template <typename K>
struct fmt::formatter<vfiopp::wire::cap_chain_view<K>> : vfiopp::detail::layout_format_spec {
    auto format(const vfiopp::wire::cap_chain_view<K>& c, fmt::format_context& ctx) const {
        return vfiopp::detail::format_chain(ctx.out(), c, multiline ? 0 : -1);
    }
};

/// A decoded argument of one type: `fmt::print("{}\n", *wire::decode_as(vfio::iommu_get_info, img))`.
template <typename Arg>
struct fmt::formatter<vfiopp::wire::decoded<Arg>> : vfiopp::detail::layout_format_spec {
    auto format(const vfiopp::wire::decoded<Arg>& d, fmt::format_context& ctx) const {
        return vfiopp::detail::format_decoded(ctx.out(), d, multiline ? 0 : -1);
    }
};

/// Any decoded argument: `fmt::print("{:l}\n", *wire::decode(code, img, opts))`.
template <>
struct fmt::formatter<vfiopp::wire::decoded_arg> : vfiopp::detail::layout_format_spec {
    auto format(const vfiopp::wire::decoded_arg& d, fmt::format_context& ctx) const {
        return std::visit([&](const auto& a) { return vfiopp::detail::format_decoded(ctx.out(), a, multiline ? 0 : -1); },
                          d);
    }
};

/// A capability variant of any chain kind: `fmt::print("{}\n", cap)` inside `for (auto& cap : chain)`.
template <typename... Caps>
    requires(vfiopp::detail::cap_view<Caps> && ...)
struct fmt::formatter<std::variant<Caps...>> : vfiopp::detail::layout_format_spec {
    auto format(const std::variant<Caps...>& v, fmt::format_context& ctx) const {
        return std::visit([&](const auto& c) { return vfiopp::detail::format_cap(ctx.out(), c, multiline ? 0 : -1); }, v);
    }
};
