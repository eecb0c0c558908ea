// vfiopp/fmt_error.hpp - {fmt} formatter for vfiopp::error (target vfiopp::fmt).
//
//   fmt::print("{}\n", r.error());
//   // IOMMU_HWPT_INVALIDATE: entry_num: EOVERFLOW (Value too large for defined data type): entry_num * entry_len ...
// Kernel errors read "IOMMU_HWPT_ALLOC: kernel: EOPNOTSUPP (Operation not supported)".
#pragma once

#include <vfiopp/error.hpp>

#include <fmt/format.h>

#include <cstring>

template <>
struct fmt::formatter<vfiopp::error> {
    constexpr auto parse(fmt::format_parse_context& ctx) {
        auto it = ctx.begin();
        if (it != ctx.end() && *it != '}') FMT_THROW(fmt::format_error("vfiopp: vfiopp::error takes no format spec"));
        return it;
    }
    auto format(const vfiopp::error& e, fmt::format_context& ctx) const {
        auto out = ctx.out();
        if (!e.ioctl.empty()) out = fmt::format_to(out, "{}: ", e.ioctl);
        if (!e.field.empty()) out = fmt::format_to(out, "{}: ", e.field);
        else if (e.origin == vfiopp::error_origin::kernel) out = fmt::format_to(out, "kernel: ");
        auto name = vfiopp::errno_name(e.code);
        if (name.empty()) out = fmt::format_to(out, "errno {}", e.code);
        else out = fmt::format_to(out, "{}", name);
        out = fmt::format_to(out, " ({})", e.error_code().message());
        if (!e.message.empty()) out = fmt::format_to(out, ": {}", e.message);
        for (std::size_t i = 0; i < e.values.size() && !e.values[i].name.empty(); ++i)
            out = fmt::format_to(out, "{}{}={:#x}", i == 0 ? " [" : " ", e.values[i].name, e.values[i].value);
        if (!e.values[0].name.empty()) out = fmt::format_to(out, "]");
        if (!e.subject.empty()) out = fmt::format_to(out, " on {}", e.subject.view());
        return out;
    }
};
