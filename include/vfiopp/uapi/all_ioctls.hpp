// vfiopp/uapi/all_ioctls.hpp - each mirror header's ioctls as one tuple: `vfio::all_ioctls`, `iommufd::all_ioctls`,
// `seed::all_ioctls`, `v7::all_ioctls`, expanded from the same X-macro lists as the ioctl_def objects.
//   std::apply([](const auto&... def) { (print(def.name), ...); }, uapi::vfio::all_ioctls);
// Kept out of the mirror headers: a tuple of 28 distinct types is costly to instantiate, and only the registry,
// decoding and the tests walk every ioctl.
#pragma once

#include <vfiopp/uapi/all.hpp>

#include <tuple>

#define VFIOPP_DETAIL_IOCTL_REF(n, K, type, nr, fd, arg, A, ret, since) n,

namespace vfiopp::uapi::vfio {
inline constexpr auto all_ioctls = std::tuple{VFIOPP_IOCTLS_vfio(VFIOPP_DETAIL_IOCTL_REF)};
}
namespace vfiopp::uapi::iommufd {
inline constexpr auto all_ioctls = std::tuple{VFIOPP_IOCTLS_iommufd(VFIOPP_DETAIL_IOCTL_REF)};
}
namespace vfiopp::uapi::seed {
inline constexpr auto all_ioctls = std::tuple{VFIOPP_IOCTLS_seed(VFIOPP_DETAIL_IOCTL_REF)};
}
namespace vfiopp::uapi::v7 {
inline constexpr auto all_ioctls = std::tuple{VFIOPP_IOCTLS_v7(VFIOPP_DETAIL_IOCTL_REF)};
}
