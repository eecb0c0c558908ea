#include <vfiopp/fmt.hpp>
#include <vfiopp/uapi/all.hpp>

int main() {
    auto& d = vfiopp::uapi::vfio::device_get_region_info;
    fmt::print("consumer: {} = {:#x}\n", d.name, d.code);
}
