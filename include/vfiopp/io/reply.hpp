// vfiopp/io/reply.hpp - what a submitted request yields, for every submitter (synchronous, io_uring).
//
// The ioctl's declaration (its RETURNS in the uapi list, or the builder's `returning<...>`) decides the type:
//   status -> result<void>         VFIO_IOMMU_MAP_DMA
//   value  -> result<int>          VFIO_CHECK_EXTENSION, v7 VFIO_IOMMU_PASID_REQUEST (the PASID)
//   new_fd -> result<unique_fd>    VFIO_GROUP_GET_DEVICE_FD, VFIO_DEVICE_GET_GFX_DMABUF, DEVICE_FEATURE DMA_BUF
//   out_fd -> result<unique_fd>    IOMMU_FAULT_QUEUE_ALLOC (out_fault_fd), IOMMU_VEVENTQ_ALLOC, MIG_DEVICE_STATE SET
// so a new fd is owned from the moment the ioctl returns, and dropping the result closes it.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/unique_fd.hpp>
#include <vfiopp/uapi/ioctl.hpp>
#include <vfiopp/wire/request.hpp>

#include <type_traits>

namespace vfiopp::io {

/// The result type of submitting Req: `io::submit_result<decltype(req)>`.
template <wire::request_like Req>
using submit_result =
    std::conditional_t<Req::ret.kind == uapi::returns::value, result<int>,
                       std::conditional_t<Req::ret.kind == uapi::returns::new_fd || Req::ret.kind == uapi::returns::out_fd,
                                          result<unique_fd>, result<void>>>;

}  // namespace vfiopp::io

namespace vfiopp::detail {

/// Turns a finished ioctl into Req's result: rc is ioctl(2)'s return value, or -errno (io_uring's cqe->res).
///   return detail::reply(req, ::ioctl(fd, code, arg) < 0 ? -errno : rc);
template <wire::request_like Req>
[[nodiscard]] io::submit_result<Req> reply(Req& req, int rc) noexcept {
    if (rc < 0) return error{Req::ioctl.name, {}, -rc, {}, error_origin::kernel};
    if constexpr (Req::ret.kind == uapi::returns::value) {
        return rc;
    } else if constexpr (Req::ret.kind == uapi::returns::new_fd) {
        return unique_fd{rc};
    } else if constexpr (Req::ret.kind == uapi::returns::out_fd) {
        // The kernel wrote the new fd into the image (-1 when the call made none, e.g. a MIG_DEVICE_STATE SET to a
        // state without a data transfer): an empty unique_fd then.
        return unique_fd{req.template read<int>(Req::ret.fd_offset)};
    } else {
        (void)req;
        return {};
    }
}

}  // namespace vfiopp::detail
