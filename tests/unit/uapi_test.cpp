#include <vfiopp/fmt.hpp>
#include <vfiopp/uapi/all.hpp>

#include <catch2/catch_test_macros.hpp>

using namespace vfiopp::uapi;

TEST_CASE("ioctl codes are _IO(';', 100 + n)", "[uapi]") {
    STATIC_CHECK(vfio::get_api_version.code == 0x3b64);
    STATIC_CHECK(vfio::iommu_get_info.code == 0x3b70);
    STATIC_CHECK(vfio::device_get_region_info.code == 0x3b6c);
    CHECK(vfio::device_get_region_info.name == "VFIO_DEVICE_GET_REGION_INFO");
    CHECK(vfio::device_get_region_info.fd == fd_kind::device);
}

TEST_CASE("bitmask keeps unknown bits and names known ones", "[uapi][fmt]") {
    auto f = region_info_flag::read | region_info_flag::mmap;
    CHECK(f.has(region_info_flag::read));
    CHECK_FALSE(f.has(region_info_flag::write));
    CHECK(f.bits() == 0x5);
    auto g = bitmask<region_info_flag>::from_bits(0x105);
    CHECK(g.unknown() == 0x100);
    CHECK(fmt::format("{}", g) == "read|mmap|0x100");
    CHECK(fmt::format("{}", bitmask<region_info_flag>{}) == "0");
    CHECK(enum_from_name<region_info_flag>("VFIO_REGION_INFO_FLAG_CAPS") == region_info_flag::caps);
    CHECK(kernel_name(region_info_flag::write) == "VFIO_REGION_INFO_FLAG_WRITE");
}

TEST_CASE("structs print field by field from their descriptor", "[uapi][fmt]") {
    vfio_region_info r{};
    r.argsz = sizeof r;
    r.flags = region_info_flag::read | region_info_flag::write;
    r.index = 7;
    r.size = 0x1000;
    r.offset = 0x70000000000;
    CHECK(fmt::format("{}", r) ==
          "vfio_region_info{argsz=32, flags=read|write, index=7, cap_offset=0, size=0x1000, offset=0x70000000000}");
    CHECK(fmt::format("{:l}", r).find("\n  index=7\n") != std::string::npos);
    CHECK(layout_of<vfio_region_info>.size == 32);
    std::size_t n = 0;
    for_each_field(layout_of<vfio_region_info>, [&](auto) { ++n; });
    CHECK(n == 6);
}
