// vfiopp/uapi/vfio_nesting.hpp - the 2020 VFIO vSVA proposal (never merged), both ABI revisions (work in progress).
#pragma once

#include <vfiopp/uapi/iommu.hpp>
#include <vfiopp/uapi/vfio.hpp>

namespace vfiopp::uapi::seed {
inline constexpr abi_kind vfiopp_abi = abi_kind::seed;
#define VFIOPP_CONSTANTS_seed(X)
#define VFIOPP_ENUMS_seed(X)
#define VFIOPP_STRUCTS_seed(X)
#define VFIOPP_IOCTLS_seed(X)
VFIOPP_IOCTL_DEFS(VFIOPP_IOCTLS_seed)
}  // namespace vfiopp::uapi::seed

namespace vfiopp::uapi::v7 {
inline constexpr abi_kind vfiopp_abi = abi_kind::v7;
#define VFIOPP_CONSTANTS_v7(X)
#define VFIOPP_ENUMS_v7(X)
#define VFIOPP_STRUCTS_v7(X)
#define VFIOPP_IOCTLS_v7(X)
VFIOPP_IOCTL_DEFS(VFIOPP_IOCTLS_v7)
}  // namespace vfiopp::uapi::v7
