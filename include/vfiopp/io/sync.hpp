// vfiopp/io/sync.hpp - the synchronous submitter: one request, one ioctl(2).
//
//   auto req = wire::prep<uapi::vfio::device_get_region_info>({.index = 0});
//   if (auto r = io::submit(device_fd, req); !r) return r.error();   // names VFIO_DEVICE_GET_REGION_INFO
//   auto info = req.header();                                          // the kernel's reply, in place
//
// EINTR is retried. The syscall is a parameter so that tests (and tracers) can inject their own:
//   io::submit(fd, req, [](int fd, unsigned long code, void* arg) { ...; return 0; });
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/wire/request.hpp>

#include <sys/ioctl.h>

#include <cerrno>

namespace vfiopp::io {

/// The real ioctl(2): `io::sys_ioctl{}(fd, code, arg)`.
struct sys_ioctl {
    int operator()(int fd, unsigned long code, void* arg) const noexcept { return ::ioctl(fd, code, arg); }
};

/// submit()'s result: result<int> for ioctls that return a value (fd, PASID, version), result<void> otherwise.
template <wire::request_like Req>
using submit_result = std::conditional_t<Req::return_kind == wire::returns::value, result<int>, result<void>>;

/// Issues req's ioctl on fd (retrying EINTR) and returns its value or a kernel error naming the ioctl.
///   auto version = io::submit(container, wire::prep<uapi::vfio::get_api_version>());   // result<int>
/// The injected Ioctl must behave like ioctl(2): return -1 and set errno on failure.
template <wire::request_like Req, typename Ioctl = sys_ioctl>
submit_result<Req> submit(int fd, Req& req, Ioctl&& ioctl_fn = {}) {
    int rc;
    do {
        rc = ioctl_fn(fd, static_cast<unsigned long>(Req::ioctl.code), req.ioctl_arg());
    } while (rc == -1 && errno == EINTR);
    if (rc < 0) {
        int e = rc == -1 ? errno : -rc;  // a raw-syscall style injected function may return -errno
        return error{Req::ioctl.name, {}, e, {}, error_origin::kernel};
    }
    if constexpr (Req::return_kind == wire::returns::value) return rc;
    else return {};
}

/// As above for a temporary request (value requests, or when the reply is not read):
///   io::submit(container, wire::prep<uapi::vfio::check_extension>(1u));
template <wire::request_like Req, typename Ioctl = sys_ioctl>
    requires(!std::is_lvalue_reference_v<Req>)
submit_result<Req> submit(int fd, Req&& req, Ioctl&& ioctl_fn = {}) {
    return submit(fd, req, std::forward<Ioctl>(ioctl_fn));
}

}  // namespace vfiopp::io
