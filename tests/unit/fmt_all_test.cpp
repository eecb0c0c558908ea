// Every mirrored struct of every uapi header prints, through the generic formatter, with every field named.
#include <vfiopp/fmt.hpp>
#include <vfiopp/uapi/all.hpp>

#include <catch2/catch_test_macros.hpp>

#include <string>

namespace {

template <typename T>
void check_prints() {
    T v{};
    const auto one = fmt::format("{}", v);
    const auto multi = fmt::format("{:l}", v);
    constexpr auto d = vfiopp::uapi::layout_of<T>;
    INFO(one);
    CHECK(one.starts_with(std::string(d.name) + "{"));
    CHECK(one.find('\n') == std::string::npos);
    vfiopp::uapi::for_each_field(d, [&](auto f) {
        CHECK(one.find(std::string(f.name) + "=") != std::string::npos);
        CHECK(multi.find("\n  " + std::string(f.name) + "=") != std::string::npos);
    });
}

}  // namespace

#define VFIOPP_TEST_PRINTS(T, size, align, since) check_prints<T>(); ++n;

TEST_CASE("every mirrored struct prints with all its fields", "[fmt]") {
    int n = 0;
    {
        using namespace vfiopp::uapi;
        VFIOPP_STRUCTS_vfio(VFIOPP_TEST_PRINTS)
        VFIOPP_STRUCTS_iommufd(VFIOPP_TEST_PRINTS)
        VFIOPP_STRUCTS_iommu(VFIOPP_TEST_PRINTS)
    }
    {
        using namespace vfiopp::uapi;
        using namespace vfiopp::uapi::seed;
        VFIOPP_STRUCTS_seed(VFIOPP_TEST_PRINTS)
    }
    {
        using namespace vfiopp::uapi;
        using namespace vfiopp::uapi::v7;
        VFIOPP_STRUCTS_v7(VFIOPP_TEST_PRINTS)
    }
    CHECK(n >= 3);
}
