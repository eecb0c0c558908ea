// Every mirrored ioctl (mainline vfio.h and iommufd.h, both proposal revisions) has a typed builder in the wire
// layer. The check is at compile time over the uapi headers' all_ioctls tuples: adding an ioctl to a mirror
// without registering a builder in wire::builders (requests.hpp) stops this file from compiling.
#include <vfiopp/uapi/iommufd.hpp>
#include <vfiopp/uapi/all_ioctls.hpp>
#include <vfiopp/uapi/vfio.hpp>
#include <vfiopp/uapi/vfio_nesting.hpp>
#include <vfiopp/wire/builders.hpp>

#include <catch2/catch_test_macros.hpp>

#include <cstddef>
#include <string>
#include <tuple>
#include <vector>

using namespace vfiopp;

namespace {

/// Number of ioctls of a tuple of ioctl_defs that have a builder.
template <typename Tuple>
constexpr std::size_t covered_count(const Tuple& t) {
    return std::apply([](const auto&... d) { return (std::size_t{0} + ... + (wire::has_builder(d) ? 1u : 0u)); }, t);
}

template <typename Tuple>
constexpr bool all_covered(const Tuple& t) {
    return covered_count(t) == std::tuple_size_v<Tuple>;
}

/// Names of uncovered ioctls, for the failure message.
template <typename Tuple>
std::vector<std::string> uncovered(const Tuple& t) {
    std::vector<std::string> out;
    std::apply([&](const auto&... d) { ((wire::has_builder(d) ? void() : void(out.emplace_back(d.name))), ...); }, t);
    return out;
}

// The compile-time gate: a new ioctl without a builder fails the build here, naming the header.
static_assert(all_covered(uapi::vfio::all_ioctls), "vfiopp: an ioctl of vfio.hpp has no wire builder (wire::builders)");
static_assert(all_covered(uapi::iommufd::all_ioctls), "vfiopp: an ioctl of iommufd.hpp has no wire builder (wire::builders)");
static_assert(all_covered(uapi::seed::all_ioctls), "vfiopp: a seed proposal ioctl has no wire builder (wire::builders)");
static_assert(all_covered(uapi::v7::all_ioctls), "vfiopp: a v7 proposal ioctl has no wire builder (wire::builders)");

constexpr std::size_t total_ioctls = std::tuple_size_v<decltype(uapi::vfio::all_ioctls)> +
                                     std::tuple_size_v<decltype(uapi::iommufd::all_ioctls)> +
                                     std::tuple_size_v<decltype(uapi::seed::all_ioctls)> +
                                     std::tuple_size_v<decltype(uapi::v7::all_ioctls)>;

/// Each builder entry names an ioctl of some mirror (no stale entries left behind when an ioctl is removed).
template <typename... Tuples>
constexpr bool entry_is_mirrored(const wire::builder_info& b, const Tuples&... ts) {
    auto in = [&](const auto& t) {
        return std::apply([&](const auto&... d) { return ((d.abi == b.abi && d.code == b.code && d.name == b.ioctl) || ...); }, t);
    };
    return (in(ts) || ...);
}
constexpr bool every_entry_mirrored() {
    for (const auto& b : wire::builders)
        if (!entry_is_mirrored(b, uapi::vfio::all_ioctls, uapi::iommufd::all_ioctls, uapi::seed::all_ioctls, uapi::v7::all_ioctls))
            return false;
    return true;
}
static_assert(every_entry_mirrored(), "vfiopp: a wire::builders entry names an ioctl that no mirror declares");

}  // namespace

TEST_CASE("every mirrored ioctl has a typed wire builder", "[wire][coverage]") {
    CHECK(uncovered(uapi::vfio::all_ioctls).empty());
    CHECK(uncovered(uapi::iommufd::all_ioctls).empty());
    CHECK(uncovered(uapi::seed::all_ioctls).empty());
    CHECK(uncovered(uapi::v7::all_ioctls).empty());
    // The counts the mirrors document (docs/uapi.md): 28 vfio + 22 iommufd + 2 seed + 2 v7.
    STATIC_CHECK(covered_count(uapi::vfio::all_ioctls) == 28);
    STATIC_CHECK(covered_count(uapi::iommufd::all_ioctls) == 22);
    STATIC_CHECK(covered_count(uapi::seed::all_ioctls) == 2);
    STATIC_CHECK(covered_count(uapi::v7::all_ioctls) == 2);
    STATIC_CHECK(total_ioctls == 54);
    // One entry per ioctl: no ioctl is registered twice (a duplicate would hide a missing one in the count).
    STATIC_CHECK(wire::builders.size() == total_ioctls);
}

TEST_CASE("the coverage check can fail: an unregistered ioctl is not covered", "[wire][coverage]") {
    // Same code as VFIO_DEVICE_BIND_IOMMUFD but another ABI, and same ABI but an unknown code/name.
    constexpr uapi::ioctl_def<uapi::no_arg> other_abi{"VFIO_DEVICE_BIND_IOMMUFD", uapi::vfio::device_bind_iommufd.code,
                                                      uapi::fd_kind::device, uapi::arg_kind::none, uapi::abi_kind::seed, {}};
    constexpr uapi::ioctl_def<uapi::no_arg> unknown{"VFIO_NOT_A_REAL_IOCTL", uapi::io(';', 200), uapi::fd_kind::device,
                                                    uapi::arg_kind::none, uapi::abi_kind::mainline, {}};
    STATIC_CHECK_FALSE(wire::has_builder(other_abi));
    STATIC_CHECK_FALSE(wire::has_builder(unknown));
    STATIC_CHECK(covered_count(std::tuple{uapi::vfio::device_reset, unknown}) == 1);
    CHECK(uncovered(std::tuple{uapi::vfio::device_reset, unknown}) == std::vector<std::string>{"VFIO_NOT_A_REAL_IOCTL"});
    // The colliding codes resolve to their own builders.
    STATIC_CHECK(wire::builder_of<uapi::vfio::device_bind_iommufd>);
    STATIC_CHECK(wire::builder_of<uapi::v7::iommu_pasid_request>);
    STATIC_CHECK(wire::builder_for(uapi::vfio::device_bind_iommufd)->builder == "wire::vfio::device_bind_iommufd");
    STATIC_CHECK(wire::builder_for(uapi::v7::iommu_pasid_request)->builder == "wire::pasid_alloc<abi::v7> / pasid_free<abi::v7>");
    STATIC_CHECK(wire::builder_for(uapi::vfio::device_get_pci_hot_reset_info)->builder ==
                 "wire::vfio::device_get_pci_hot_reset_info");
    STATIC_CHECK(wire::builder_for(uapi::vfio::iommu_get_info)->builder == "wire::vfio::iommu_get_info");
}
