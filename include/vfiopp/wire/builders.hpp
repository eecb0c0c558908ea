// vfiopp/wire/builders.hpp - which typed builder each ioctl has: the wire layer's coverage registry.
//
// wire::builders lists one entry per (ioctl, builder), derived from the builder's *return type*, so an entry cannot
// name the wrong ioctl; wire::has_builder(def) / wire::builder_of<def> say whether an ioctl_def is covered
// (tests/unit/wire_coverage_test.cpp checks every ioctl of every mirrored header at compile time).
//   for (auto& b : wire::builders) fmt::print("{} -> {}\n", b.ioctl, b.builder);
// Including it instantiates every builder's signature: only tools and tests need it.
#pragma once

#include <vfiopp/wire/iommufd.hpp>
#include <vfiopp/wire/nesting.hpp>
#include <vfiopp/wire/request.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <array>
#include <string_view>
#include <type_traits>

namespace vfiopp::wire {

/// One builder of one ioctl, taken from the builder's return type.
struct builder_info {
    uapi::abi_kind abi;
    u32 code;
    std::string_view ioctl;    ///< kernel macro name
    std::string_view builder;  ///< the C++ builder, for reports
};

}  // namespace vfiopp::wire

namespace vfiopp::detail {
template <typename T>
struct request_of {
    using type = T;
};
template <typename T>
struct request_of<result<T>> {
    using type = T;
};
/// An entry for the request type a builder returns (result<R> unwrapped); Req::ioctl *is* the ioctl.
template <typename BuilderResult>
constexpr wire::builder_info cover(std::string_view builder) {
    using Req = typename request_of<std::remove_cvref_t<BuilderResult>>::type;
    static_assert(wire::request_like<Req>, "vfiopp: a registered builder must return a request (or result<request>)");
    return {Req::ioctl.abi, Req::ioctl.code, Req::ioctl.name, builder};
}
}  // namespace vfiopp::detail

namespace vfiopp::wire {

/// Every ioctl builder of the wire layer (wire/vfio.hpp, wire/iommufd.hpp, wire/nesting.hpp), by the type it returns.
///   for (auto& b : wire::builders) fmt::print("{} -> {}\n", b.ioctl, b.builder);
inline constexpr auto builders = std::array{
    // vfio container
    detail::cover<decltype(vfio::get_api_version())>("wire::vfio::get_api_version"),
    detail::cover<decltype(vfio::check_extension(uapi::extension{}))>("wire::vfio::check_extension"),
    detail::cover<decltype(vfio::set_iommu(uapi::extension{}))>("wire::vfio::set_iommu"),
    detail::cover<decltype(vfio::iommu_enable())>("wire::vfio::iommu_enable"),
    detail::cover<decltype(vfio::iommu_disable())>("wire::vfio::iommu_disable"),
    detail::cover<decltype(vfio::iommu_get_info())>("wire::vfio::iommu_get_info"),
    detail::cover<decltype(vfio::iommu_map_dma(0, 0, 0, {}))>("wire::vfio::iommu_map_dma"),
    detail::cover<decltype(vfio::iommu_unmap_dma(0, 0))>("wire::vfio::iommu_unmap_dma / _all / _vaddr / _dma_dirty"),
    detail::cover<vfio::dirty_pages_request>("wire::vfio::iommu_dirty_pages_start / _stop / _get_bitmap"),
    // vfio group
    detail::cover<decltype(vfio::group_get_status())>("wire::vfio::group_get_status"),
    detail::cover<decltype(vfio::group_set_container(0))>("wire::vfio::group_set_container"),
    detail::cover<decltype(vfio::group_unset_container())>("wire::vfio::group_unset_container"),
    detail::cover<decltype(vfio::group_get_device_fd(std::string_view{}))>("wire::vfio::group_get_device_fd"),
    // vfio device
    detail::cover<decltype(vfio::device_get_info())>("wire::vfio::device_get_info"),
    detail::cover<decltype(vfio::device_get_region_info(0u))>("wire::vfio::device_get_region_info"),
    detail::cover<decltype(vfio::device_get_irq_info(0u))>("wire::vfio::device_get_irq_info"),
    detail::cover<vfio::set_irqs_request<0>>("wire::vfio::set_irqs_none / _bools / _eventfds"),
    detail::cover<decltype(vfio::device_reset())>("wire::vfio::device_reset"),
    detail::cover<vfio::pci_hot_reset_info_request<1>>("wire::vfio::device_get_pci_hot_reset_info"),
    detail::cover<decltype(vfio::pci_hot_reset_devid())>("wire::vfio::pci_hot_reset_devid / _groups"),
    detail::cover<decltype(vfio::device_query_gfx_plane({}, 0))>("wire::vfio::device_query_gfx_plane"),
    detail::cover<decltype(vfio::device_get_gfx_dmabuf(0))>("wire::vfio::device_get_gfx_dmabuf"),
    detail::cover<decltype(vfio::device_ioeventfd<u32>(0, 0, 0))>("wire::vfio::device_ioeventfd"),
    detail::cover<decltype(vfio::feature_probe<vfio::low_power_exit>())>("wire::vfio::feature_get / _set / _probe"),
    detail::cover<decltype(vfio::device_bind_iommufd(0))>("wire::vfio::device_bind_iommufd"),
    detail::cover<decltype(vfio::device_attach_iommufd_pt(0))>("wire::vfio::device_attach_iommufd_pt"),
    detail::cover<decltype(vfio::device_detach_iommufd_pt())>("wire::vfio::device_detach_iommufd_pt"),
    detail::cover<decltype(vfio::mig_get_precopy_info())>("wire::vfio::mig_get_precopy_info"),
    // iommufd
    detail::cover<decltype(iommufd::destroy(0))>("wire::iommufd::destroy"),
    detail::cover<decltype(iommufd::ioas_alloc())>("wire::iommufd::ioas_alloc"),
    detail::cover<decltype(iommufd::ioas_allow_iovas(0, {}))>("wire::iommufd::ioas_allow_iovas"),
    detail::cover<decltype(iommufd::ioas_copy(0, 0, 0, 0, {}))>("wire::iommufd::ioas_copy"),
    detail::cover<decltype(iommufd::ioas_iova_ranges(0, {}))>("wire::iommufd::ioas_iova_ranges"),
    detail::cover<decltype(iommufd::ioas_map(0, 0, 0, {}))>("wire::iommufd::ioas_map"),
    detail::cover<decltype(iommufd::ioas_unmap(0, 0, 0))>("wire::iommufd::ioas_unmap / ioas_unmap_all"),
    detail::cover<decltype(iommufd::option_get({}))>("wire::iommufd::option_get / option_set"),
    detail::cover<decltype(iommufd::vfio_ioas_get())>("wire::iommufd::vfio_ioas_get / _set / _clear"),
    detail::cover<decltype(iommufd::hwpt_alloc(0, 0, {}))>("wire::iommufd::hwpt_alloc"),
    detail::cover<decltype(iommufd::get_hw_info(0))>("wire::iommufd::get_hw_info"),
    detail::cover<decltype(iommufd::hwpt_set_dirty_tracking(0, false))>("wire::iommufd::hwpt_set_dirty_tracking"),
    detail::cover<request<uapi::iommufd::hwpt_get_dirty_bitmap>>("wire::iommufd::hwpt_get_dirty_bitmap"),
    detail::cover<request<uapi::iommufd::hwpt_invalidate>>("wire::iommufd::hwpt_invalidate"),
    detail::cover<decltype(iommufd::fault_queue_alloc())>("wire::iommufd::fault_queue_alloc"),
    detail::cover<decltype(iommufd::ioas_map_file(0, 0, 0, 0, {}))>("wire::iommufd::ioas_map_file"),
    detail::cover<decltype(iommufd::viommu_alloc(0, 0, uapi::viommu_type{}))>("wire::iommufd::viommu_alloc"),
    detail::cover<decltype(iommufd::vdevice_alloc(0, 0, 0))>("wire::iommufd::vdevice_alloc"),
    detail::cover<decltype(iommufd::ioas_change_process())>("wire::iommufd::ioas_change_process"),
    detail::cover<decltype(iommufd::veventq_alloc(0, {}, 0))>("wire::iommufd::veventq_alloc"),
    detail::cover<decltype(iommufd::hw_queue_alloc(0, {}, 0, 0, 0))>("wire::iommufd::hw_queue_alloc"),
    detail::cover<decltype(iommufd::ioas_noiommu_get_pa(0, 0, 0))>("wire::iommufd::ioas_noiommu_get_pa"),
    // the 2020 proposal
    detail::cover<decltype(pasid_alloc<uapi::abi::seed>({}))>("wire::pasid_alloc<abi::seed> / pasid_free<abi::seed>"),
    detail::cover<decltype(nesting_op<uapi::abi::seed>(nesting_payload{}))>("wire::nesting_op<abi::seed>"),
    detail::cover<decltype(pasid_alloc<uapi::abi::v7>({}))>("wire::pasid_alloc<abi::v7> / pasid_free<abi::v7>"),
    detail::cover<decltype(nesting_op<uapi::abi::v7>(nesting_payload{}))>("wire::nesting_op<abi::v7>"),
};

/// The builder entry of an ioctl (matched by ABI, code and name, since codes collide across fds and ABIs), or
/// nullptr. `static_assert(wire::builder_for(uapi::vfio::device_reset) != nullptr);`
template <typename Arg>
constexpr const builder_info* builder_for(const uapi::ioctl_def<Arg>& def) {
    for (const auto& b : builders)
        if (b.abi == def.abi && b.code == def.code && b.ioctl == def.name) return &b;
    return nullptr;
}

/// Whether the wire layer has a typed builder for def: `static_assert(wire::has_builder(uapi::iommufd::destroy));`
template <typename Arg>
constexpr bool has_builder(const uapi::ioctl_def<Arg>& def) {
    return builder_for(def) != nullptr;
}

/// The same as a trait on the ioctl_def object: `static_assert(wire::builder_of<uapi::vfio::device_reset>);`
template <const auto& Def>
inline constexpr bool builder_of = has_builder(Def);

}  // namespace vfiopp::wire
