// Dropping what a submit or a builder returns is an error under the project's warning flags (-Werror): results
// are [[nodiscard]], so `io::submit(fd, req);` cannot lose a kernel error (or a new fd) silently. Each case must
// fail to build with the compiler's "ignoring return value" diagnostic; the control case uses every result.
#include <vfiopp/io/negotiate.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/wire/iommufd.hpp>
#include <vfiopp/wire/vfio.hpp>

using namespace vfiopp;

namespace {
int fake_ioctl(int, unsigned long, void*) { return 0; }
}  // namespace

int main() {
    auto req = wire::vfio::iommu_get_info<64>();
#if defined(VFIOPP_DISCARD_SUBMIT)
    io::submit(-1, req, fake_ioctl);  // a kernel error would be lost
#elif defined(VFIOPP_DISCARD_SUBMIT_FD)
    io::submit(-1, wire::vfio::group_get_device_fd("0000:00:04.0").value(), fake_ioctl);  // a device fd
#elif defined(VFIOPP_DISCARD_BUILDER)
    wire::vfio::iommu_map_dma(0x1000, 0x1000, 0x1000, uapi::map_dma_flag::read);  // a refusal would be lost
#elif defined(VFIOPP_DISCARD_REQUEST)
    wire::iommufd::ioas_alloc();  // a request built for nothing
#elif defined(VFIOPP_DISCARD_NEGOTIATE)
    io::negotiate(-1, req, fake_ioctl);
#else
    auto r = io::submit(-1, req, fake_ioctl);
    auto n = io::negotiate(-1, req, fake_ioctl);
    auto m = wire::vfio::iommu_map_dma(0x1000, 0x1000, 0x1000, uapi::map_dma_flag::read);
    return (r && n && m) ? 0 : 1;
#endif
    return 0;
}
