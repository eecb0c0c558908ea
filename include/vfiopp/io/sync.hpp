// vfiopp/io/sync.hpp - the synchronous submitter: one request, one ioctl(2).
//
//   auto req = wire::vfio::device_get_region_info(pci_region_index::bar0);
//   if (auto r = io::submit(device_fd, req); !r) return r.error();   // names VFIO_DEVICE_GET_REGION_INFO
//   auto info = req.header();                                          // the kernel's reply, in place
//   unique_fd dev = io::submit(group, wire::vfio::group_get_device_fd("0000:00:04.0").value()).value();
//
// What a submit yields follows from the ioctl (io/reply.hpp): result<void>, result<int> or result<unique_fd>;
// results are [[nodiscard]]. EINTR is retried. The syscall is a parameter so that tests (and tracers) can inject
// their own:
//   io::submit(fd, req, [](int fd, unsigned long code, void* arg) { ...; return 0; });
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/io/reply.hpp>
#include <vfiopp/wire/request.hpp>

#include <sys/ioctl.h>

#include <cerrno>
#include <utility>

namespace vfiopp::io {

/// The real ioctl(2): `io::sys_ioctl{}(fd, code, arg)`.
struct sys_ioctl {
    int operator()(int fd, unsigned long code, void* arg) const noexcept { return ::ioctl(fd, code, arg); }
};

/// A replaceable ioctl(2) that objects (container, device, ioas, ...) carry and pass to every submit: tests inject
/// failures through it, tracers record calls. Empty, it is the real ioctl(2); behaves like ioctl(2) either way.
///   static int fail_map(void*, int fd, unsigned long code, void* arg) noexcept { ... }
///   auto c = vfiopp::container::open({fail_map, &state});
struct ioctl_hook {
    using function = int (*)(void* context, int fd, unsigned long code, void* arg) noexcept;
    function fn = nullptr;
    void* context = nullptr;
    int operator()(int fd, unsigned long code, void* arg) const noexcept {
        return fn ? fn(context, fd, code, arg) : ::ioctl(fd, code, arg);
    }
};

/// Issues req's ioctl on fd (retrying EINTR) and returns what the ioctl yields, or a kernel error naming it.
///   auto version = io::submit(container, wire::vfio::get_api_version());   // result<int>
/// The injected Ioctl must behave like ioctl(2) (return -1 and set errno) or return -errno like a raw syscall; the
/// two meet at -1 == -EPERM, which is read as ioctl(2)'s -1 (errno then decides), so a raw-style function should
/// set errno = EPERM too when it returns -EPERM.
template <wire::request_like Req, typename Ioctl = sys_ioctl>
[[nodiscard]] submit_result<Req> submit(int fd, Req& req, Ioctl&& ioctl_fn = {}) {
    int rc;
    do {
        rc = ioctl_fn(fd, static_cast<unsigned long>(Req::ioctl.code), req.ioctl_arg());
    } while (rc == -1 && errno == EINTR);
    if (rc == -1) rc = errno > 0 ? -errno : -EIO;  // -1 without errno would otherwise read as success
    return detail::reply(req, rc);
}

/// As above for a temporary request (value requests, or when the reply is not read):
///   io::submit(container, wire::vfio::check_extension(extension::type1v2_iommu));
template <wire::request_like Req, typename Ioctl = sys_ioctl>
    requires(!std::is_lvalue_reference_v<Req>)
[[nodiscard]] submit_result<Req> submit(int fd, Req&& req, Ioctl&& ioctl_fn = {}) {
    return submit(fd, req, std::forward<Ioctl>(ioctl_fn));
}

/// The synchronous submitter as an object, for code written once over any submitter (io/negotiate.hpp):
///   io::sync_submitter<> s;  auto r = s(fd, req);
template <typename Ioctl = sys_ioctl>
struct sync_submitter {
    Ioctl ioctl_fn{};
    template <wire::request_like Req>
    [[nodiscard]] submit_result<Req> operator()(int fd, Req& req) {
        return io::submit(fd, req, ioctl_fn);
    }
};
template <typename Ioctl>
sync_submitter(Ioctl) -> sync_submitter<Ioctl>;

}  // namespace vfiopp::io
