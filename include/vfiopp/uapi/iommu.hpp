// vfiopp/uapi/iommu.hpp - layout mirror of <linux/iommu.h> (work in progress: lists are filled in by the uapi issue).
#pragma once

#include <vfiopp/uapi/enums.hpp>
#include <vfiopp/uapi/ioctl.hpp>
#include <vfiopp/uapi/layout.hpp>

namespace vfiopp::uapi {
#define VFIOPP_CONSTANTS_iommu(X)
#define VFIOPP_ENUMS_iommu(X)
#define VFIOPP_STRUCTS_iommu(X)
}  // namespace vfiopp::uapi
