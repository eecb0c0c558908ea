// examples/vfio-trace/capture.hpp - what vfio-trace does with one ioctl at syscall entry and at exit: which
// mirrored ioctl it is, the argument image read from the tracee and rendered (request), the image read again and
// rendered after the call (reply), and the fds the call made. The ptrace loop (examples/vfio-trace.cpp) calls these
// with the real tracee; tests/fuzz/trace_render_fuzz.cpp calls the same functions on arbitrary "tracee memory".
#pragma once

#include "memory.hpp"
#include "output.hpp"
#include "render.hpp"

#include <vfiopp/uapi/registry.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

namespace vfio_trace {

/// At syscall entry, for a record whose kind, code and arg are set: finds the mirrored ioctl (r.info), records a
/// by-value argument, reads the argument image from the tracee (ctx.tid) into in_image and renders it as
/// r.request, with a note when it was unreadable, short or clipped at max_image.
///   vt::record r; r.kind = kind; r.code = code; r.arg = arg; vt::capture_request(r, c.in_image, ctx);
inline void capture_request(record& r, std::vector<std::byte>& in_image, const render_ctx& ctx) {
    const std::uint64_t arg = r.arg;
    if (auto rk = registry_kind(r.kind)) r.info = uapi::find_ioctl(r.code, *rk, uapi::abi_kind::mainline);
    if (r.info) {
        uapi::visit_ioctl(*r.info, [&](const auto& def) {
            using A = typename std::decay_t<decltype(def)>::arg_type;
            if (def.arg == uapi::arg_kind::value) {
                r.value = arg;
                if (def.code == uapi::vfio::check_extension.code || def.code == uapi::vfio::set_iommu.code)
                    if (auto n = uapi::kernel_name(static_cast<uapi::extension>(arg))) r.value_name = std::string(*n);
            }
            if constexpr (!std::is_same_v<A, uapi::no_arg>) {
                if (def.arg == uapi::arg_kind::value || def.arg == uapi::arg_kind::none) return;
                auto img = read_image<A>(ctx.tid, arg);
                in_image = img.bytes;
                if (img.bytes.empty() && !img.complete) {
                    r.request.note(fmt::format("argument at {:#x} unreadable: {}", arg, errno_text(img.err)));
                    return;
                }
                r.request = render_image(def, img.bytes, {}, phase::request, ctx);
                if (!img.complete)
                    r.request.note(fmt::format("only {} of {} bytes readable: {}", img.bytes.size(), img.declared,
                                               errno_text(img.err)));
                if (img.clipped) r.request.note(fmt::format("argsz {} clipped to {}", img.declared, img.bytes.size()));
            }
        });
    }
}

/// At syscall exit: the return value and errno, the reply (read again from the tracee, rendered against the
/// request image; "(unchanged)" when the kernel wrote nothing new) and any fd the call made (r.new_fd, its kind and
/// the out field it was written to). The caller records r.new_fd in its fd table.
///   vt::finish_reply(r, c.in_image, rval, is_error, ctx); if (r.new_fd) fds.set(*r.new_fd, r.new_fd_kind);
inline void finish_reply(record& r, const std::vector<std::byte>& in_image, std::int64_t rval, bool is_error,
                         const render_ctx& ctx) {
    r.ret = rval;
    r.err = is_error ? static_cast<int>(-rval) : 0;
    if (r.info) {
        uapi::visit_ioctl(*r.info, [&](const auto& def) {
            using A = typename std::decay_t<decltype(def)>::arg_type;
            if constexpr (!std::is_same_v<A, uapi::no_arg> && !std::is_same_v<A, char>) {
                if ((def.arg == uapi::arg_kind::out || def.arg == uapi::arg_kind::inout) && !in_image.empty()) {
                    auto now = read_remote(ctx.tid, r.arg, in_image.size());
                    // The reply: always on success; on failure only when the kernel wrote something back
                    // (IOAS_IOVA_RANGES' EMSGSIZE sets num_iovas, GET_PCI_HOT_RESET_INFO's ENOSPC sets count).
                    if (!r.err || now.bytes != in_image) {
                        auto reply = render_image(def, now.bytes, in_image, phase::reply, ctx);
                        if (now.bytes == in_image && reply.text == r.request.text) {
                            reply.text = "(unchanged)";
                            reply.js = json::object();
                        }
                        r.reply = std::move(reply);
                    }
                    if (!r.err && def.ret.kind == uapi::returns::out_fd && now.bytes.size() >= def.ret.fd_offset + 4u) {
                        std::int32_t nfd;
                        std::memcpy(&nfd, now.bytes.data() + def.ret.fd_offset, 4);
                        if (nfd >= 0) {
                            r.new_fd = nfd;
                            r.new_fd_kind = fd_kind::other;  // a fault queue / vEVENTQ: read(2), not ioctl
                            if constexpr (uapi::described<A>)
                                uapi::for_each_field(uapi::layout_of<A>, [&](auto f) {
                                    if (f.offset == def.ret.fd_offset) r.new_fd_field = std::string(f.name);
                                });
                        }
                    }
                    if constexpr (std::is_same_v<A, uapi::vfio_device_feature>) {
                        // MIG_DEVICE_STATE SET writes the data transfer fd (or -1) into the payload's data_fd; it
                        // is VFIO's migration data fd (VFIO_MIG_GET_PRECOPY_INFO is issued on it)
                        uapi::vfio_device_feature h{};
                        std::memcpy(&h, now.bytes.data(), std::min(sizeof h, now.bytes.size()));
                        auto id = static_cast<uapi::device_feature_id>(h.flags.bits() & 0xffff);
                        constexpr std::size_t data_fd_at =
                            sizeof(uapi::vfio_device_feature) +
                            vfiopp_out_fd(std::type_identity<uapi::vfio_device_feature_mig_state>{});
                        if (!r.err && id == uapi::device_feature_id::mig_device_state &&
                            h.flags.has(uapi::device_feature_flag::set) && now.bytes.size() >= data_fd_at + 4) {
                            std::int32_t nfd;
                            std::memcpy(&nfd, now.bytes.data() + data_fd_at, 4);
                            if (nfd >= 0) {
                                r.new_fd = nfd;
                                r.new_fd_kind = fd_kind::migration_data;
                                r.new_fd_field = "data_fd";
                            }
                        }
                        // DMA_BUF GET returns a dma-buf fd as the ioctl's value
                        if (!r.err && id == uapi::device_feature_id::dma_buf && h.flags.has(uapi::device_feature_flag::get) &&
                            !h.flags.has(uapi::device_feature_flag::probe) && rval > 0) {
                            r.new_fd = static_cast<int>(rval);
                            r.new_fd_kind = fd_kind::other;
                        }
                    }
                }
            }
            if (!r.err && def.ret.kind == uapi::returns::new_fd) {
                r.new_fd = static_cast<int>(rval);
                r.new_fd_kind = def.code == uapi::vfio::group_get_device_fd.code ? fd_kind::device : fd_kind::other;
            }
        });
    }
}

}  // namespace vfio_trace
