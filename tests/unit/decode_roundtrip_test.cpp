// decode(): every mirrored ioctl decodes random valid images and re-encodes them byte for byte; garbage gives a
// value or an error, never a crash; reused codes need the fd kind / ABI.
#include <vfiopp/wire/caps.hpp>
#include <vfiopp/wire/decode.hpp>

#include <catch2/catch_test_macros.hpp>

#include <cerrno>
#include <map>
#include <random>
#include <set>
#include <vector>

using namespace vfiopp;
using namespace vfiopp::uapi;

namespace {

std::vector<std::byte> random_bytes(std::mt19937_64& rng, std::size_t n) {
    std::vector<std::byte> v(n);
    for (auto& b : v) b = std::byte(rng() & 0xff);
    return v;
}

template <typename Arg>
constexpr std::size_t fixed_size() {
    if constexpr (std::is_same_v<Arg, no_arg>)
        return 0;
    else
        return sizeof(Arg);
}

}  // namespace

TEST_CASE("every mirrored ioctl: decode then encode gives back the image", "[decode]") {
    std::mt19937_64 rng(0x5eed'caf5);
    std::size_t ioctls = 0, images = 0;
    wire::for_each_decodable([&](const auto& def) {
        using Arg = typename std::decay_t<decltype(def)>::arg_type;
        ++ioctls;
        INFO(def.name);
        for (int round = 0; round < 64; ++round) {
            const std::size_t trailer = std::is_same_v<Arg, no_arg> ? 0 : rng() % 97;
            const auto image = random_bytes(rng, fixed_size<Arg>() + trailer);
            auto d = wire::decode(def.code, image, {.fd = def.fd, .abi = def.abi});
            REQUIRE(d.has_value());
            auto* typed = std::get_if<wire::decoded<Arg>>(&*d);
            REQUIRE(typed != nullptr);
            CHECK(typed->ioctl.name == def.name);
            CHECK(typed->ioctl.fd == def.fd);
            CHECK(typed->trailer.size() == trailer);
            CHECK(wire::encode(*d) == image);
            // the same through the typed entry point and by kernel name
            auto t = wire::decode_as(def, image);
            REQUIRE(t.has_value());
            CHECK(wire::encode(*t) == image);
            auto by_name = wire::decode(def.name, image, {.fd = def.fd, .abi = def.abi});
            REQUIRE(by_name.has_value());
            CHECK(wire::ioctl_name(*by_name) == def.name);
            ++images;
        }
    });
    CHECK(ioctls == vfiopp::detail::decode_def_count);
    CHECK(ioctls >= 4);
    CHECK(images == ioctls * 64);
}

TEST_CASE("decode errors: short images, arguments for argument-less ioctls, unknown codes", "[decode]") {
    std::vector<std::byte> short_image(sizeof(vfio_region_info) - 1);
    auto s = wire::decode(vfio::device_get_region_info.code, short_image, {.fd = fd_kind::device});
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error().code == EINVAL);
    CHECK(s.error().ioctl == "VFIO_DEVICE_GET_REGION_INFO");
    CHECK(s.error().field == "argsz");

    std::vector<std::byte> one(1);
    auto g = wire::decode(vfio::get_api_version.code, one, {.fd = fd_kind::container});
    REQUIRE_FALSE(g.has_value());
    CHECK(g.error().code == EINVAL);
    auto empty = wire::decode(vfio::get_api_version.code, {}, {.fd = fd_kind::container});
    REQUIRE(empty.has_value());
    CHECK(std::holds_alternative<wire::decoded<no_arg>>(*empty));
    CHECK(wire::encode(*empty).empty());

    auto unknown = wire::decode(0x3b00u, one);
    REQUIRE_FALSE(unknown.has_value());
    CHECK(unknown.error().code == ENOTTY);
    auto wrong_fd = wire::decode(vfio::device_get_region_info.code, short_image, {.fd = fd_kind::iommufd});
    REQUIRE_FALSE(wrong_fd.has_value());
    CHECK(wrong_fd.error().code == ENOTTY);
    auto unknown_name = wire::decode("VFIO_NOT_AN_IOCTL", one);
    REQUIRE_FALSE(unknown_name.has_value());
    CHECK(unknown_name.error().code == ENOTTY);
}

TEST_CASE("reused codes are ambiguous without fd kind or ABI, and resolve with them", "[decode]") {
    std::map<u32, int> uses;
    wire::for_each_decodable([&](const auto& def) { ++uses[def.code]; });
    std::mt19937_64 rng(7);
    wire::for_each_decodable([&](const auto& def) {
        using Arg = typename std::decay_t<decltype(def)>::arg_type;
        const auto image = random_bytes(rng, fixed_size<Arg>() + (std::is_same_v<Arg, no_arg> ? 0 : 8));
        INFO(def.name);
        auto bare = wire::decode(def.code, image);
        if (uses[def.code] > 1) {
            REQUIRE_FALSE(bare.has_value());
            CHECK(bare.error().code == EINVAL);
        } else {
            REQUIRE(bare.has_value());
            CHECK(wire::ioctl_name(*bare) == def.name);
        }
        auto exact = wire::decode(def.code, image, {.fd = def.fd, .abi = def.abi});
        REQUIRE(exact.has_value());
        CHECK(wire::ioctl_name(*exact) == def.name);
    });
}

TEST_CASE("random garbage decodes to a value or an error, never a crash", "[decode]") {
    std::vector<u32> codes;
    wire::for_each_decodable([&](const auto& def) { codes.push_back(def.code); });
    std::mt19937_64 rng(0xbad'f00d);
    std::size_t values = 0, errors = 0;
    for (int i = 0; i < 20000; ++i) {
        const u32 code = (rng() % 4 == 0) ? static_cast<u32>(rng()) : codes[rng() % codes.size()];
        wire::decode_options opts;
        if (rng() % 2) opts.fd = static_cast<fd_kind>(rng() % 4);
        if (rng() % 2) opts.abi = static_cast<abi_kind>(rng() % 3);
        const auto image = random_bytes(rng, rng() % 160);
        auto d = wire::decode(code, image, opts);
        if (d) {
            ++values;
            CHECK(wire::encode(*d) == image);
        } else {
            ++errors;
            CHECK((d.error().code == EINVAL || d.error().code == ENOTTY));
        }
    }
    CHECK(values > 0);
    CHECK(errors > 0);
}

TEST_CASE("a decoded VFIO_IOMMU_GET_INFO reply's trailer is its capability chain", "[decode][caps]") {
    std::vector<std::byte> img(120);
    auto put32 = [&](std::size_t off, u32 v) { std::memcpy(img.data() + off, &v, 4); };
    put32(0, 120);
    put32(4, 0x3);
    put32(16, 24);
    put32(24, 3 | (1u << 16));  // DMA_AVAIL, version 1, next 0
    put32(32, 42);
    auto d = wire::decode("VFIO_IOMMU_GET_INFO", img, {.fd = fd_kind::container, .abi = abi_kind::mainline});
    REQUIRE(d.has_value());
    auto& info = std::get<wire::decoded<vfio_iommu_type1_info>>(*d);
    CHECK(info.value.cap_offset == 24);
    CHECK(info.trailer.size() == 96);
    auto chain = wire::iommu_info_chain::parse(img);
    REQUIRE(chain.has_value());
    REQUIRE(chain->find<wire::dma_avail_cap>());
    CHECK(chain->find<wire::dma_avail_cap>()->value.avail == 42);
}
