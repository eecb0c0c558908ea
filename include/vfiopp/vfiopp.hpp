// vfiopp/vfiopp.hpp - everything a VMM holds, in one include: every object header of vfiopp (the top-level headers
// of include/vfiopp/) and, through them, the error type, the uapi mirrors, the wire builders and io::submit.
//
//   #include <vfiopp/vfiopp.hpp>
//   auto space = vfiopp::dma_space::open().value();   // and containers, groups, iommufd, devices, regions, ...
//
// Not included, because they are opt-in components with their own dependencies and targets:
//   <vfiopp/fmt.hpp>, <vfiopp/fmt_error.hpp>   {fmt} formatters (vfiopp::fmt)
//   <vfiopp/io/uring.hpp>, <vfiopp/io/uring_coro.hpp>   the io_uring submitter (vfiopp::uring)
// and the headers only tools and tests need (<vfiopp/wire/builders.hpp>, <vfiopp/wire/decode.hpp>,
// <vfiopp/uapi/registry.hpp>, <vfiopp/uapi/all_ioctls.hpp>).
//
// The umbrella costs compile time: a TU that needs one object pays for all of them (tools/bench-compile.sh measures
// both against the standard, Boost and system headers they include). Include the object headers you use when that
// matters.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/unique_fd.hpp>

#include <vfiopp/container.hpp>
#include <vfiopp/device.hpp>
#include <vfiopp/device_features.hpp>
#include <vfiopp/dma_mapping.hpp>
#include <vfiopp/dma_space.hpp>
#include <vfiopp/fault_queue.hpp>
#include <vfiopp/fd_passing.hpp>
#include <vfiopp/group.hpp>
#include <vfiopp/hot_reset.hpp>
#include <vfiopp/hw_info.hpp>
#include <vfiopp/hwpt.hpp>
#include <vfiopp/interrupts.hpp>
#include <vfiopp/iommufd.hpp>
#include <vfiopp/iova_allocator.hpp>
#include <vfiopp/live_update.hpp>
#include <vfiopp/migration.hpp>
#include <vfiopp/proposal.hpp>
#include <vfiopp/region.hpp>
#include <vfiopp/sysfs.hpp>
#include <vfiopp/viommu.hpp>
