#include <vfiopp/fmt.hpp>
#include <vfiopp/uapi/all.hpp>

#if defined(VFIOPP_CONSUMER_URING)
#include <liburing.h>
#endif

int main() {
    auto& d = vfiopp::uapi::vfio::device_get_region_info;
    fmt::print("consumer: {} = {:#x}\n", d.name, d.code);
#if defined(VFIOPP_CONSUMER_URING)
    // Taking the address makes the link need liburing's symbol; calling it would need io_uring in the sandbox.
    auto* volatile init = &io_uring_queue_init;
    fmt::print("consumer: liburing linked: {}\n", init != nullptr);
#endif
}
