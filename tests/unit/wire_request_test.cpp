// Unit tests of the generic request machinery, the synchronous submitter and negotiation (fake ioctl injected).
#include <vfiopp/fmt.hpp>
#include <vfiopp/fmt_error.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/uapi/iommufd.hpp>
#include <vfiopp/uapi/vfio.hpp>
#include <vfiopp/wire/checked.hpp>
#include <vfiopp/io/negotiate.hpp>
#include <vfiopp/wire/request.hpp>

#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <functional>
#include <vector>

using namespace vfiopp;
using namespace vfiopp::uapi;

namespace {

// A fake ioctl(2) that records what it was given and replays a scripted reply.
struct fake_kernel {
    struct call {
        int fd;
        unsigned long code;
        std::vector<std::byte> image;  // the request image as the kernel saw it (argsz bytes)
    };
    std::vector<call> calls;
    std::function<int(void*, std::size_t)> reply;  // returns ioctl's result; sets errno itself

    auto fn() {
        return [this](int fd, unsigned long code, void* arg) {
            u32 argsz = 0;
            if (arg && reinterpret_cast<std::uintptr_t>(arg) > 0x10000) std::memcpy(&argsz, arg, 4);
            auto* p = static_cast<std::byte*>(arg);
            calls.push_back({fd, code, argsz ? std::vector<std::byte>(p, p + argsz) : std::vector<std::byte>{}});
            return reply ? reply(arg, calls.size()) : 0;
        };
    }
};

template <typename T>
T from_bytes(std::span<const std::byte> b, std::size_t off = 0) {
    T v{};
    std::memcpy(&v, b.data() + off, sizeof v);
    return v;
}

}  // namespace

TEST_CASE("prep writes argsz = sizeof(struct) whatever the caller put there", "[wire]") {
    vfio_region_info in{};
    in.argsz = 9999;
    in.index = 5;
    auto req = wire::prep<vfio::device_get_region_info>(in);
    STATIC_CHECK(sizeof(req) >= 32);
    CHECK(req.size() == 32);
    CHECK(req.header().argsz == 32);
    CHECK(req.header().index == 5);
    CHECK(from_bytes<u32>(req.bytes(), 8) == 5);
    CHECK(wire::name_of(req) == "VFIO_DEVICE_GET_REGION_INFO");
    CHECK(reinterpret_cast<std::uintptr_t>(req.ioctl_arg()) % 8 == 0);
}

TEST_CASE("value requests carry the integer in the pointer's place", "[wire]") {
    auto ext = wire::prep<vfio::check_extension>(8u);
    CHECK(ext.value() == 8);
    CHECK(reinterpret_cast<std::uintptr_t>(ext.ioctl_arg()) == 8);
    auto ver = wire::prep<vfio::get_api_version>();
    CHECK(ver.ioctl_arg() == nullptr);
}

TEST_CASE("submit issues the request's code on its image and returns the ioctl's value", "[wire][io]") {
    fake_kernel k;
    k.reply = [](void* arg, std::size_t) { return static_cast<int>(reinterpret_cast<std::uintptr_t>(arg)) + 1; };
    auto r = io::submit(7, wire::prep<vfio::check_extension>(3u), k.fn());
    STATIC_CHECK(std::is_same_v<decltype(r), result<int>>);
    REQUIRE(r);
    CHECK(*r == 4);
    REQUIRE(k.calls.size() == 1);
    CHECK(k.calls[0].fd == 7);
    CHECK(k.calls[0].code == 0x3b65);

    fake_kernel k2;
    k2.reply = [](void* arg, std::size_t) {
        u64 size = 0x4000;
        std::memcpy(static_cast<std::byte*>(arg) + 16, &size, 8);
        return 0;
    };
    vfio_region_info in{};
    in.index = 2;
    auto req = wire::prep<vfio::device_get_region_info>(in);
    auto s = io::submit(3, req, k2.fn());
    STATIC_CHECK(std::is_same_v<decltype(s), result<void>>);
    REQUIRE(s);
    CHECK(k2.calls.at(0).code == 0x3b6c);
    CHECK(k2.calls.at(0).image.size() == 32);
    CHECK(req.header().size == 0x4000);  // the reply landed in the image in place
}

TEST_CASE("submit retries EINTR and names the ioctl on failure", "[wire][io]") {
    fake_kernel k;
    k.reply = [](void*, std::size_t n) {
        errno = n < 3 ? EINTR : ENOTTY;
        return -1;
    };
    auto req = wire::prep<vfio::iommu_get_info>({});
    auto r = io::submit(3, req, k.fn());
    REQUIRE_FALSE(r);
    CHECK(k.calls.size() == 3);
    CHECK(r.error().code == ENOTTY);
    CHECK(r.error().ioctl == "VFIO_IOMMU_GET_INFO");
    CHECK(r.error().origin == error_origin::kernel);
    CHECK(fmt::format("{}", r.error()) == "VFIO_IOMMU_GET_INFO: kernel: ENOTTY (Inappropriate ioctl for device)");
    CHECK(r.error().error_code() == std::errc::inappropriate_io_control_operation);
    CHECK_THROWS_AS(r.value(), vfiopp::system_error);
}

TEST_CASE("checked arithmetic rejects overflow with EOVERFLOW naming ioctl and field", "[wire][checked]") {
    wire::where w{"IOMMU_HWPT_INVALIDATE", "entry_num"};
    CHECK(*wire::checked_mul<u32>(1000u, 24u, w) == 24000);
    auto m = wire::checked_mul<u32>(0x10000u, 0x10000u, w);
    REQUIRE_FALSE(m);
    CHECK(m.error().code == EOVERFLOW);
    CHECK(m.error().field == "entry_num");
    CHECK(fmt::format("{}", m.error()).starts_with("IOMMU_HWPT_INVALIDATE: entry_num: EOVERFLOW"));
    CHECK(*wire::checked_add<u32>(0xfffffff0u, 0xfu, w) == 0xffffffffu);
    CHECK_FALSE(wire::checked_add<u32>(0xfffffff0u, 0x10u, w));
    CHECK_FALSE(wire::checked_cast<u32>(std::size_t{1} << 32, w));
    CHECK_FALSE(wire::checked_cast<u32>(-1, w));
    CHECK(*wire::checked_cast<u32>(std::size_t{7}, w) == 7);
    CHECK(wire::checked_range(0xffff'ffff'ffff'f000, 0x1000, w));  // ends exactly at 2^64
    CHECK_FALSE(wire::checked_range(0xffff'ffff'ffff'f000, 0x1001, w));
    CHECK(wire::checked_range(~u64{0}, 0, w));
}

TEST_CASE("negotiate re-issues with the argsz the kernel asked for", "[wire][negotiate]") {
    fake_kernel k;
    // A GET_INFO that needs 64 bytes: short argsz gets argsz=64 and cap_offset 0; 64 gets a chain at 32.
    k.reply = [](void* arg, std::size_t) {
        auto* p = static_cast<std::byte*>(arg);
        u32 argsz;
        std::memcpy(&argsz, p, 4);
        u32 flags = 3;
        std::memcpy(p + 4, &flags, 4);
        if (argsz < 64) {
            u32 need = 64;
            std::memcpy(p, &need, 4);
            return 0;
        }
        u32 cap_off = 24;
        std::memcpy(p + 16, &cap_off, 4);
        vfio_info_cap_header cap{1, 1, 0};
        std::memcpy(p + 24, &cap, sizeof cap);
        return 0;
    };
    auto req = wire::prep_with_room<vfio::iommu_get_info, 128>({});
    CHECK(req.size() == 24);
    auto r = io::negotiate(4, req, k.fn());
    REQUIRE(r);
    REQUIRE(k.calls.size() == 2);
    CHECK(k.calls[0].image.size() == 24);
    CHECK(k.calls[1].image.size() == 64);
    CHECK(from_bytes<u32>(k.calls[1].image, 4) == 0);  // the kernel's flags of round 1 were not sent back
    CHECK(req.size() == 64);
    CHECK(req.header().cap_offset == 24);
    CHECK(req.read<vfio_info_cap_header>(24).id == 1);

    auto small = wire::prep_with_room<vfio::iommu_get_info, 32>({});
    auto e = io::negotiate(4, small, k.fn());
    REQUIRE_FALSE(e);
    CHECK(e.error().code == EMSGSIZE);
    CHECK(e.error().field == "argsz");
    CHECK(small.header().argsz == 64);  // what the kernel asked for, for the caller to size its buffer
}

TEST_CASE("prep_in builds in the caller's buffer and refuses a short or misaligned one", "[wire]") {
    alignas(8) std::array<std::byte, 256> buf{};
    vfio_region_info in{};
    in.index = 1;
    auto req = wire::prep_in<vfio::device_get_region_info>(buf, in);
    REQUIRE(req.has_value());
    CHECK(req->ioctl_arg() == buf.data());
    CHECK(req->capacity() == 256);
    CHECK(from_bytes<u32>(buf, 0) == 32);
    CHECK(from_bytes<u32>(buf, 8) == 1);
    auto short_buf = wire::prep_in<vfio::device_get_region_info>(std::span{buf}.first(16), {});
    REQUIRE_FALSE(short_buf.has_value());
    CHECK(short_buf.error().code == EINVAL);
    CHECK(short_buf.error().field == "argsz");
    CHECK_FALSE(wire::prep_in<vfio::device_get_region_info>(std::span{buf}.subspan(4), {}).has_value());
}

TEST_CASE("IOAS_IOVA_RANGES: EMSGSIZE with num_iovas written back is negotiated within the caller's array",
          "[wire][negotiate]") {
    // A kernel with 3 allowed ranges: fewer slots -> EMSGSIZE and num_iovas = 3; the set grows to 3 only after
    // the first call (a race), so the first call with room for 4 still fails and is retried.
    int calls = 0;
    auto kernel = [&](int, unsigned long code, void* arg) {
        ++calls;
        CHECK(code == 0x3b84);
        iommu_ioas_iova_ranges h;
        std::memcpy(&h, arg, sizeof h);
        CHECK(h.size == sizeof h);
        const u32 have = 3;
        if (calls == 1 || h.num_iovas < have) {
            h.num_iovas = calls == 1 ? 2 : have;  // round 1: "2 needed" (changed since), forces a retry
            std::memcpy(arg, &h, sizeof h);
            errno = EMSGSIZE;
            return -1;
        }
        auto* r = reinterpret_cast<iommu_iova_range*>(static_cast<std::uintptr_t>(h.allowed_iovas));
        for (u32 i = 0; i < have; ++i) r[i] = {i * 0x1000, i * 0x1000 + 0xfff};
        h.num_iovas = have;
        std::memcpy(arg, &h, sizeof h);
        return 0;
    };
    std::array<iommu_iova_range, 4> buf{};
    auto got = io::ioas_iova_ranges(3, 1, std::span{buf}, kernel);
    REQUIRE(got.has_value());
    CHECK(calls == 2);
    CHECK(got->ranges.size() == 3);
    CHECK(got->ranges[2].start == 0x2000);

    std::array<iommu_iova_range, 2> small{};
    calls = 5;  // skip the race: plain "3 needed"
    auto e = io::ioas_iova_ranges(3, 1, std::span{small}, kernel);
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error().code == EMSGSIZE);
    CHECK(e.error().field == "num_iovas");
    CHECK(e.error().ioctl == "IOMMU_IOAS_IOVA_RANGES");
}
