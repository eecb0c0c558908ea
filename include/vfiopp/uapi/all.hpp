// vfiopp/uapi/all.hpp - every layout mirror: mainline VFIO and iommufd, and the 2020 proposal's two revisions.
#pragma once
#include <vfiopp/uapi/iommu.hpp>
#include <vfiopp/uapi/iommufd.hpp>
#include <vfiopp/uapi/vfio.hpp>
#include <vfiopp/uapi/vfio_nesting.hpp>
