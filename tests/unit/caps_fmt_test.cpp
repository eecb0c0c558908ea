// Printing capability views, chains and decoded arguments (one line and multi-line).
#include <vfiopp/wire/fmt.hpp>

#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <string>
#include <vector>

using namespace vfiopp;
using namespace vfiopp::uapi;

namespace {

std::vector<std::byte> testbed_iommu_info() {
    std::vector<std::byte> img(120);
    auto put = [&](std::size_t off, auto v) { std::memcpy(img.data() + off, &v, sizeof v); };
    put(0, u32{120});
    put(4, u32{0x3});
    put(8, u64{0x40201000});
    put(16, u32{24});
    put(24, u16{2}), put(26, u16{1}), put(28, u32{56});
    put(40, u64{0x1000});
    put(48, u64{0x10000000});
    put(56, u16{3}), put(58, u16{1}), put(60, u32{72});
    put(64, u32{65535});
    put(72, u16{1}), put(74, u16{1}), put(76, u32{0});
    put(80, u32{2});
    put(96, u64{0xfedfffff});
    put(104, u64{0xfef00000});
    put(112, u64{0xffffffffffff});
    return img;
}

bool has(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("a capability prints its name, offset, mirror and array", "[caps][fmt]") {
    const auto img = testbed_iommu_info();
    auto chain = wire::iommu_info_chain::parse(img);
    REQUIRE(chain.has_value());
    auto iova = chain->find<wire::iova_range_cap>();
    REQUIRE(iova);
    const auto one = fmt::format("{}", *iova);
    INFO(one);
    CHECK(one.starts_with("iova_range@72 vfio_iommu_type1_info_cap_iova_range{"));
    CHECK(has(one, "nr_iovas=2"));
    CHECK(has(one, "nr_iovas=[vfio_iova_range{start=0x0, end=0xfedfffff}, "
                   "vfio_iova_range{start=0xfef00000, end=0xffffffffffff}]"));
    CHECK(one.find('\n') == std::string::npos);
    const auto multi = fmt::format("{:l}", *iova);
    INFO(multi);
    CHECK(has(multi, "\n  vfio_iova_range{start=0xfef00000, end=0xffffffffffff}\n]"));
}

TEST_CASE("a chain prints the reply then every capability", "[caps][fmt]") {
    const auto img = testbed_iommu_info();
    auto chain = wire::iommu_info_chain::parse(img);
    REQUIRE(chain.has_value());
    const auto one = fmt::format("{}", *chain);
    INFO(one);
    CHECK(one.starts_with("vfio_iommu_type1_info{argsz=120, "));
    CHECK(has(one, "iova_pgsizes=0x40201000"));
    const auto m = one.find("migration@24");
    const auto a = one.find("dma_avail@56");
    const auto i = one.find("iova_range@72");
    CHECK(m != std::string::npos);
    CHECK(a > m);
    CHECK(i > a);
    CHECK(has(one, "avail=65535"));
    const auto multi = fmt::format("{:l}", *chain);
    INFO(multi);
    CHECK(has(multi, "\n  migration@24 "));
    CHECK(has(multi, "\n  dma_avail@56 "));
    std::string cap_lines;
    for (const auto& cap : *chain) cap_lines += fmt::format("{}\n", cap);
    CHECK(has(cap_lines, "dma_avail@56 vfio_iommu_type1_info_dma_avail{"));
}

TEST_CASE("decoded arguments print the ioctl, the mirror and the trailer", "[decode][fmt]") {
    const auto img = testbed_iommu_info();
    auto d = wire::decode("VFIO_IOMMU_GET_INFO", img, {.fd = fd_kind::container});
    REQUIRE(d.has_value());
    const auto one = fmt::format("{}", *d);
    INFO(one);
    CHECK(one.starts_with("VFIO_IOMMU_GET_INFO vfio_iommu_type1_info{argsz=120, "));
    CHECK(one.ends_with("} +96 bytes"));
    const auto multi = fmt::format("{:l}", *d);
    INFO(multi);
    CHECK(has(multi, "\n  argsz=120\n"));
    CHECK(has(multi, "\n  trailer (96 bytes): {02000100380000"));
    auto none = wire::decode(vfio::get_api_version.code, {}, {.fd = fd_kind::container});
    REQUIRE(none.has_value());
    CHECK(fmt::format("{}", *none) == "VFIO_GET_API_VERSION (no pointed-to argument)");
}

TEST_CASE("an unknown capability prints its header and size", "[caps][fmt]") {
    std::vector<std::byte> img(48);
    auto put = [&](std::size_t off, auto v) { std::memcpy(img.data() + off, &v, sizeof v); };
    put(0, u32{48});
    put(4, u32{0x8});  // CAPS
    put(12, u32{32});
    put(32, u16{9}), put(34, u16{2});
    auto chain = wire::region_info_chain::parse(img);
    REQUIRE(chain.has_value());
    auto u = chain->find<wire::unknown_cap>();
    REQUIRE(u);
    CHECK(fmt::format("{}", *u) == "unknown@32 vfio_info_cap_header{id=9, version=2, next=0} bytes=16");
}
