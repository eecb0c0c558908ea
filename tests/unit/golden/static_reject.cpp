// Combinations the kernel rejects must not compile; each case is built at test time and must fail with its
// message. The control case (no define) must build, so a failure is the assertion's and not a typo's.
#include <vfiopp/wire/iommufd.hpp>
#include <vfiopp/wire/nesting.hpp>
#include <vfiopp/wire/vfio.hpp>

using namespace vfiopp;
using namespace vfiopp::uapi;

int main() {
#if defined(VFIOPP_REJECT_MASK_EVENTFD)
    wire::vfio::set_irqs_request<1> r;
    std::array<int, 1> fds{3};
    (void)wire::vfio::set_irqs_eventfds<wire::vfio::irq_mask>(r, pci_irq_index::intx, 0, std::span<const int>(fds));
#elif defined(VFIOPP_REJECT_SET_GET_ONLY)
    (void)wire::vfio::feature_set(vfio_device_feature_migration{});
#elif defined(VFIOPP_REJECT_GET_SET_ONLY)
    (void)wire::vfio::feature_get<vfio_device_feature_bus_master>();
#elif defined(VFIOPP_REJECT_NOT_A_FEATURE)
    (void)wire::vfio::feature_get<vfio_region_info>();
#elif defined(VFIOPP_REJECT_PREP_VALUE_IOCTL)
    (void)wire::request<uapi::vfio::check_extension>{};
#endif
    return 0;
}
