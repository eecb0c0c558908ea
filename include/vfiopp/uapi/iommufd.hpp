// vfiopp/uapi/iommufd.hpp - layout mirror of <linux/iommufd.h> (work in progress: lists are filled in by the uapi issue).
#pragma once

#include <vfiopp/uapi/enums.hpp>
#include <vfiopp/uapi/ioctl.hpp>
#include <vfiopp/uapi/layout.hpp>

namespace vfiopp::uapi {
#define VFIOPP_CONSTANTS_iommufd(X)
#define VFIOPP_ENUMS_iommufd(X)
#define VFIOPP_STRUCTS_iommufd(X)
}  // namespace vfiopp::uapi

namespace vfiopp::uapi::iommufd {
inline constexpr abi_kind vfiopp_abi = abi_kind::mainline;
#define VFIOPP_IOCTLS_iommufd(X)
VFIOPP_IOCTL_DEFS(VFIOPP_IOCTLS_iommufd)
}  // namespace vfiopp::uapi::iommufd
