// examples/vfio-trace/output.hpp - one traced ioctl as a line (or a JSON object), and the --summary table.
#pragma once

#include "fds.hpp"
#include "render.hpp"

#include <vfiopp/error.hpp>

#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vfio_trace {

/// One traced ioctl on a VFIO/iommufd fd (or with a VFIO code on any fd), from entry to exit.
struct record {
    pid_t tid = 0, pid = 0;
    int fd = -1;
    fd_kind kind = fd_kind::other;
    std::uint32_t code = 0;
    const uapi::ioctl_info* info = nullptr;  ///< nullptr: no mirrored ioctl has this code on this fd kind
    std::uint64_t arg = 0;                   ///< the third argument, raw
    std::optional<std::uint64_t> value;      ///< a by-value argument (VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU)
    std::string value_name;                  ///< its constant's kernel name, when it has one
    rendered request;
    std::optional<rendered> reply;
    bool finished = true;                    ///< false: the thread died or was detached inside the call
    std::int64_t ret = 0;
    int err = 0;                             ///< errno when the call failed
    std::optional<int> new_fd;               ///< an fd the call made (returned, or written into an out field)
    fd_kind new_fd_kind = fd_kind::other;
    std::string new_fd_field;                ///< "" when returned, else the out field's name
    std::string unfinished_why;
};

/// Names of every mirrored ioctl with this code, for a VFIO code on an fd that is not VFIO's.
inline std::string candidates(std::uint32_t code) {
    std::string s;
    for (const uapi::ioctl_info* i : uapi::find_ioctls(code)) {
        if (i->abi != uapi::abi_kind::mainline) continue;
        s += fmt::format("{}{} on a {}", s.empty() ? "" : ", ", i->name, uapi::to_string(i->fd));
    }
    return s;
}

inline std::string to_text(const record& r) {
    std::string s = fmt::format("[{}] fd {} ({}) ", r.tid, r.fd, to_string(r.kind));
    if (r.info)
        s += r.info->name;
    else if (r.kind == fd_kind::other)
        s += fmt::format("unknown {:#x} on a non-VFIO fd", r.code);
    else
        s += fmt::format("unknown {:#x} (no {} ioctl has this code)", r.code, to_string(r.kind));
    if (!r.info) {
        if (auto c = candidates(r.code); !c.empty()) s += fmt::format(" [{}]", c);
        s += fmt::format(" arg={:#x}", r.arg);
    }
    if (r.value) s += r.value_name.empty() ? fmt::format(" {}", *r.value) : fmt::format(" {} ({})", *r.value, r.value_name);
    if (!r.request.text.empty()) s += " " + r.request.text;
    if (r.reply) s += " => " + r.reply->text;
    if (!r.finished) return s + fmt::format(" <unfinished: {}>", r.unfinished_why);
    if (r.err) return s + fmt::format(" = -1 {} ({})", errno_text(r.err), r.err < 512 ? std::strerror(r.err) : "kernel-internal");
    s += fmt::format(" = {}", r.ret);
    if (r.new_fd) {
        if (r.new_fd_field.empty())
            s += fmt::format(" (new {} fd)", to_string(r.new_fd_kind));
        else
            s += fmt::format(" ({}={}: new {} fd)", r.new_fd_field, *r.new_fd, to_string(r.new_fd_kind));
    }
    return s;
}

inline json to_json(const record& r) {
    json j = json::object();
    j["tid"] = r.tid;
    j["pid"] = r.pid;
    j["fd"] = r.fd;
    j["kind"] = std::string(to_string(r.kind));
    j["code"] = fmt::format("{:#x}", r.code);
    j["ioctl"] = r.info ? json(std::string(r.info->name)) : json(nullptr);
    if (!r.info) {
        j["arg"] = r.arg;
        if (auto c = candidates(r.code); !c.empty()) j["candidates"] = c;
    }
    if (r.value) j["value"] = *r.value;
    if (!r.value_name.empty()) j["value_name"] = r.value_name;
    if (!r.request.js.empty()) j["request"] = r.request.js;
    if (r.reply) j["reply"] = r.reply->js;
    if (!r.finished) {
        j["unfinished"] = r.unfinished_why;
        return j;
    }
    j["ret"] = r.err ? -1 : r.ret;
    if (r.err) j["errno"] = errno_text(r.err);
    if (r.new_fd) {
        j["new_fd"] = *r.new_fd;
        j["new_fd_kind"] = std::string(to_string(r.new_fd_kind));
        if (!r.new_fd_field.empty()) j["new_fd_field"] = r.new_fd_field;
    }
    return j;
}

/// Counts for --summary: per ioctl (in order of first call), per errno, and the calls nothing decoded.
class summary {
public:
    void count(const record& r) {
        ++total_;
        std::string name = r.info ? std::string(r.info->name) : "unknown";
        auto key = std::make_tuple(name, r.kind, r.code);
        auto it = index_.find(key);
        if (it == index_.end()) {
            it = index_.emplace(key, rows_.size()).first;
            rows_.push_back({name, r.kind, r.code, 0, 0});
        }
        auto& row = rows_[it->second];
        ++row.calls;
        if (!r.info) ++unknown_;
        if (r.finished && r.err) {
            ++row.errors;
            ++failed_;
            ++errnos_[errno_text(r.err)];
        }
    }

    std::string text() const {
        std::string s = "vfio-trace summary:\n";
        s += fmt::format("  {:>6} {:>6}  {:<15} {:<7} {}\n", "calls", "errors", "fd kind", "code", "ioctl");
        for (const auto& row : rows_)
            s += fmt::format("  {:>6} {:>6}  {:<15} {:<7} {}\n", row.calls, row.errors, to_string(row.kind),
                             fmt::format("{:#x}", row.code), row.name);
        std::string per_errno;
        for (const auto& [name, n] : errnos_) per_errno += fmt::format("{}{} {}", per_errno.empty() ? "" : ", ", name, n);
        s += fmt::format("  errors by errno: {}\n", per_errno.empty() ? "none" : per_errno);
        s += fmt::format("  total: {} ioctls, {} failed, {} unknown\n", total_, failed_, unknown_);
        return s;
    }

    json to_json() const {
        json rows = json::array();
        for (const auto& row : rows_)
            rows.push_back({{"ioctl", row.name}, {"kind", std::string(vfio_trace::to_string(row.kind))},
                            {"code", fmt::format("{:#x}", row.code)}, {"calls", row.calls}, {"errors", row.errors}});
        json errs = json::object();
        for (const auto& [name, n] : errnos_) errs[name] = n;
        return {{"summary",
                 {{"ioctls", rows}, {"errors_by_errno", errs}, {"total", total_}, {"failed", failed_}, {"unknown", unknown_}}}};
    }

private:
    struct row {
        std::string name;
        fd_kind kind;
        std::uint32_t code;
        std::uint64_t calls, errors;
    };
    std::vector<row> rows_;
    std::map<std::tuple<std::string, fd_kind, std::uint32_t>, std::size_t> index_;
    std::map<std::string, std::uint64_t> errnos_;
    std::uint64_t total_ = 0, failed_ = 0, unknown_ = 0;
};

}  // namespace vfio_trace
