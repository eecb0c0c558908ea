// HWPT vendor data and invalidation entries are open to any type with wire::hwpt_data_traits; a type without the
// trait must not compile, and the message must say how to add it. The control case specializes the trait.
#include <vfiopp/wire/iommufd.hpp>

#include <array>
#include <cstdint>

using namespace vfiopp;

namespace {
struct my_driver_data {  // a future driver's IOMMU_HWPT_ALLOC data, or the IOMMUFD_TEST selftest type
    std::uint32_t iotlb = 0;
};
struct my_invalidate_entry {
    std::uint32_t flags = 0, iotlb_id = 0;
};
}  // namespace

#if !defined(VFIOPP_TRAITS_ALLOC) && !defined(VFIOPP_TRAITS_INVALIDATE)
template <>
struct vfiopp::wire::hwpt_data_traits<my_driver_data> {
    static constexpr uapi::hwpt_data_type data_type = static_cast<uapi::hwpt_data_type>(0xdead);
};
template <>
struct vfiopp::wire::hwpt_data_traits<my_invalidate_entry> {
    static constexpr uapi::hwpt_invalidate_data_type invalidate_type = static_cast<uapi::hwpt_invalidate_data_type>(0xdeadbeef);
};
#endif

int main() {
    my_driver_data data{};
    std::array<my_invalidate_entry, 2> entries{};
#if defined(VFIOPP_TRAITS_ALLOC)
    auto r = wire::iommufd::hwpt_alloc(1, 2, {}, data);  // no IOMMU_HWPT_DATA_* value for this type
    return r ? 0 : 1;
#elif defined(VFIOPP_TRAITS_INVALIDATE)
    auto r = wire::iommufd::hwpt_invalidate(3, std::span<const my_invalidate_entry>(entries));
    return r ? 0 : 1;
#else
    auto a = wire::iommufd::hwpt_alloc(1, 2, {}, data);
    auto i = wire::iommufd::hwpt_invalidate(3, std::span<const my_invalidate_entry>(entries));
    return a && i ? 0 : 1;
#endif
}
