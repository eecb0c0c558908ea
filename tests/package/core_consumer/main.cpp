// Uses the core alone: no {fmt}, no liburing (the checks below fail the build if a core header pulls either in).
#include <vfiopp/error.hpp>
#include <vfiopp/uapi/vfio.hpp>

#include <cerrno>
#include <iostream>

#if defined(FMT_VERSION)
#error "a core vfiopp header included {fmt}"
#endif
#if defined(LIB_URING_H)
#error "a core vfiopp header included <liburing.h>"
#endif

int main() {
    const auto& d = vfiopp::uapi::vfio::device_get_region_info;
    const vfiopp::result<unsigned> r = vfiopp::error{d.name, "index", EINVAL, "no such region"};
    std::cout << "core_consumer: " << d.name << " = 0x" << std::hex << d.code << std::dec << "; " << r.error()
              << '\n';
}
