// hot_reset.hpp, device_features.hpp and live_update.hpp over a fake kernel: every function routes its ioctls
// through an io::ioctl_hook, so a small in-process "kernel" answers them and records each call (code and a copy of
// the argument image). The device, container and iommufd objects adopt eventfds (the host has no /dev/vfio).
//
// What is checked: the two-call sizing of GET_PCI_HOT_RESET_INFO, the group and devid images of PCI_HOT_RESET,
// the decoding of group ids, device IDs and the OWNED / NOT_OWNED ownership values, the ioeventfd's removal image
// when it is dropped, the DMA_BUF feature image, and the UNMAP_DMA / MAP_DMA FLAG_VADDR images of a live update.
#include <vfiopp/container.hpp>
#include <vfiopp/device.hpp>
#include <vfiopp/device_features.hpp>
#include <vfiopp/error.hpp>
#include <vfiopp/fmt_error.hpp>
#include <vfiopp/hot_reset.hpp>
#include <vfiopp/iommufd.hpp>
#include <vfiopp/live_update.hpp>
#include <vfiopp/uapi/iommufd.hpp>
#include <vfiopp/uapi/vfio.hpp>
#include <vfiopp/unique_fd.hpp>

#include <catch2/catch_test_macros.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace vfiopp;
namespace ua = vfiopp::uapi;
namespace uv = vfiopp::uapi::vfio;
namespace ui = vfiopp::uapi::iommufd;
using ua::u32;
using ua::u64;

namespace {

struct call {
    int fd;
    unsigned long code;
    std::vector<std::byte> image;  // the argument as the library sent it
};

// The fake kernel: answer(code, arg) decides; every call is logged before it answers.
struct fake_kernel {
    std::function<int(unsigned long code, std::byte* arg)> answer;
    std::vector<call> calls;
    static int fn(void* ctx, int fd, unsigned long code, void* arg) noexcept {
        auto* self = static_cast<fake_kernel*>(ctx);
        auto* p = static_cast<std::byte*>(arg);
        if (code == static_cast<unsigned long>(uv::get_api_version.code) ||
            code == static_cast<unsigned long>(uv::check_extension.code)) {  // integer arguments
            self->calls.push_back({fd, code, {}});
            return code == static_cast<unsigned long>(uv::check_extension.code) ? 1 : 0;
        }
        u32 size = 0;
        std::memcpy(&size, p, sizeof size);
        self->calls.push_back({fd, code, std::vector<std::byte>(p, p + size)});
        int rc = self->answer ? self->answer(code, p) : 0;
        if (rc < 0) {
            errno = -rc;
            return -1;
        }
        return rc;
    }
    io::ioctl_hook hook() { return {&fake_kernel::fn, this}; }
    template <typename T>
    static T at(const std::vector<std::byte>& img, std::size_t off) {
        T v{};
        std::memcpy(&v, img.data() + off, sizeof v);
        return v;
    }
};

template <typename T>
T get(const std::byte* p, std::size_t off) {
    T v{};
    std::memcpy(&v, p + off, sizeof v);
    return v;
}
template <typename T>
void put(std::byte* p, std::size_t off, T v) {
    std::memcpy(p + off, &v, sizeof v);
}

device fake_device(io::ioctl_hook hook = {}) {
    return device::from_fd(unique_fd{eventfd(0, EFD_CLOEXEC)}, "0000:01:01.0", hook).value();
}

constexpr unsigned long info_code = static_cast<unsigned long>(uv::device_get_pci_hot_reset_info.code);
constexpr unsigned long reset_code = static_cast<unsigned long>(uv::device_pci_hot_reset.code);

// A kernel with two devices behind a bridge: answers GET_PCI_HOT_RESET_INFO like vfio_pci_core.c (ENOSPC and the
// count when argsz is short; else the entries).
struct bus_kernel : fake_kernel {
    bool cdev = false;
    std::array<ua::vfio_pci_dependent_device, 2> devs{};
    bus_kernel() {
        devs[0].id.group_id = 7;
        devs[0].segment = 0;
        devs[0].bus = 1;
        devs[0].devfn = 1 << 3;
        devs[1].id.group_id = 7;
        devs[1].segment = 0;
        devs[1].bus = 1;
        devs[1].devfn = 2 << 3 | 1;
        answer = [this](unsigned long code, std::byte* p) -> int {
            if (code != info_code) return 0;
            u32 argsz = get<u32>(p, 0);
            if (argsz < 12) return -EINVAL;
            if (argsz < 12 + 8 * devs.size()) {
                put<u32>(p, 4, 0);
                put<u32>(p, 8, static_cast<u32>(devs.size()));
                return -ENOSPC;
            }
            u32 flags = 0;
            if (cdev) {
                flags = 3;  // DEV_ID | DEV_ID_OWNED
                for (auto& d : devs)
                    if (d.id.devid == static_cast<u32>(ua::pci_devid_not_owned)) flags = 1;
            }
            put<u32>(p, 4, flags);
            put<u32>(p, 8, static_cast<u32>(devs.size()));
            std::memcpy(p + 12, devs.data(), sizeof devs);
            return 0;
        };
    }
};

}  // namespace

TEST_CASE("hot reset info: two calls, sized by the kernel's count; group form decoded") {
    bus_kernel k;
    auto dev = fake_device();
    auto info = hot_reset_info(dev, k.hook());
    REQUIRE(info.has_value());
    REQUIRE(k.calls.size() == 2);
    CHECK(k.calls[0].code == info_code);
    CHECK(k.calls[0].image.size() == 12);  // first: no room
    CHECK(fake_kernel::at<u32>(k.calls[0].image, 0) == 12);
    CHECK(fake_kernel::at<u32>(k.calls[1].image, 0) == 12 + 2 * 8);  // second: room for the count
    CHECK(!info->dev_id_form());
    CHECK(!info->all_owned());
    REQUIRE(info->devices.size() == 2);
    CHECK(info->devices[0].address() == "0000:01:01.0");
    CHECK(info->devices[1].address() == "0000:01:02.1");
    CHECK(info->devices[1].slot() == 2);
    CHECK(info->devices[1].function() == 1);
    CHECK(info->devices[0].group_id == 7);
    CHECK(info->devices[0].ownership == reset_ownership::group);
    CHECK(info->groups() == std::vector<std::uint32_t>{7});
}

TEST_CASE("hot reset info: devid form with OWNED and NOT_OWNED") {
    bus_kernel k;
    k.cdev = true;
    k.devs[0].id.devid = 5;
    k.devs[1].id.devid = static_cast<u32>(ua::pci_devid_owned);
    auto dev = fake_device();
    auto info = hot_reset_info(dev, k.hook());
    REQUIRE(info.has_value());
    CHECK(info->dev_id_form());
    CHECK(info->all_owned());
    CHECK(info->groups().empty());
    CHECK(info->devices[0].ownership == reset_ownership::devid);
    CHECK(info->devices[0].devid == 5);
    CHECK(info->devices[0].group_id == 0);
    CHECK(info->devices[1].ownership == reset_ownership::owned);
    CHECK(info->devices[1].devid == 0);
    CHECK(info->devices[1].owned());

    k.devs[1].id.devid = static_cast<u32>(ua::pci_devid_not_owned);
    auto info2 = hot_reset_info(dev, k.hook());
    REQUIRE(info2.has_value());
    CHECK(!info2->all_owned());
    CHECK(info2->devices[1].ownership == reset_ownership::not_owned);
    CHECK(!info2->devices[1].owned());
}

TEST_CASE("hot reset info: ENODEV (root bus) names the ioctl, advises, and is not retried") {
    fake_kernel k;
    k.answer = [](unsigned long, std::byte*) { return -ENODEV; };
    auto dev = fake_device();
    auto info = hot_reset_info(dev, k.hook());
    REQUIRE(!info);
    CHECK(k.calls.size() == 1);
    CHECK(info.error().code == ENODEV);
    CHECK(info.error().ioctl == "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO");
    CHECK(info.error().subject.view() == "0000:01:01.0");
    CHECK(std::string(info.error().message).find("root bus") != std::string::npos);
}

TEST_CASE("hot reset info: a topology that keeps growing ends with EAGAIN") {
    fake_kernel k;
    u32 grow = 1;
    k.answer = [&](unsigned long, std::byte* p) {
        put<u32>(p, 8, ++grow);
        return -ENOSPC;
    };
    auto dev = fake_device();
    auto info = hot_reset_info(dev, k.hook());
    REQUIRE(!info);
    CHECK(info.error().code == EAGAIN);
    CHECK(k.calls.size() == 4);
}

TEST_CASE("hot reset: the group form sends the fds, the cdev form a zero-length array") {
    fake_kernel k;
    auto dev = fake_device();
    const int fds[] = {11, 12};
    REQUIRE(hot_reset(dev, fds, k.hook()).has_value());
    REQUIRE(k.calls.size() == 1);
    CHECK(k.calls[0].code == reset_code);
    CHECK(k.calls[0].image.size() == 12 + 8);
    CHECK(fake_kernel::at<u32>(k.calls[0].image, 4) == 0);  // flags
    CHECK(fake_kernel::at<u32>(k.calls[0].image, 8) == 2);  // count
    CHECK(fake_kernel::at<int>(k.calls[0].image, 12) == 11);
    CHECK(fake_kernel::at<int>(k.calls[0].image, 16) == 12);

    REQUIRE(hot_reset(dev, k.hook()).has_value());
    REQUIRE(k.calls.size() == 2);
    CHECK(k.calls[1].image.size() == 12);
    CHECK(fake_kernel::at<u32>(k.calls[1].image, 8) == 0);

    // refused before any ioctl: no fd, a negative fd
    auto none = hot_reset(dev, std::span<const int>{}, k.hook());
    REQUIRE(!none);
    CHECK(none.error().origin == error_origin::library);
    const int bad[] = {-3};
    CHECK(hot_reset(dev, bad, k.hook()).error().code == EBADF);
    CHECK(k.calls.size() == 2);

    // the kernel's refusal of an unproven reset: EINVAL with advice, the count attached
    k.answer = [](unsigned long, std::byte*) { return -EINVAL; };
    auto r = hot_reset(dev, fds, k.hook());
    REQUIRE(!r);
    CHECK(r.error().code == EINVAL);
    CHECK(r.error().values[0].name == "count");
    CHECK(r.error().values[0].value == 2);
    auto rv = hot_reset(dev, k.hook());
    CHECK(std::string(rv.error().message).find("iommufd") != std::string::npos);
}

TEST_CASE("ioeventfd: the add image, and the removal image when it is dropped") {
    fake_kernel k;
    auto dev = fake_device();
    // a region object needs a REGION_INFO answer: serve one (BAR0 at offset 0x10000, 1 MiB)
    k.answer = [](unsigned long code, std::byte* p) {
        if (code == static_cast<unsigned long>(uv::device_get_region_info.code)) {
            put<u32>(p, 4, 3u);  // read | write
            put<u64>(p, 16, u64{1} << 20);
            put<u64>(p, 24, 0x10000);
        }
        return 0;
    };
    auto bar = region::query(dev.fd(), 0, k.hook());
    REQUIRE(bar.has_value());
    k.calls.clear();
    {
        auto ev = ioeventfd::add<std::uint16_t>(dev, *bar, 0x8, 0xbeef, {}, k.hook());
        REQUIRE(ev.has_value());
        REQUIRE(k.calls.size() == 1);
        const auto& img = k.calls[0].image;
        CHECK(img.size() == 32);
        CHECK(fake_kernel::at<u32>(img, 4) == 2u);  // VFIO_DEVICE_IOEVENTFD_16
        CHECK(fake_kernel::at<u64>(img, 8) == 0x10008);
        CHECK(fake_kernel::at<u64>(img, 16) == 0xbeef);
        CHECK(fake_kernel::at<int>(img, 24) == ev->fd());
        CHECK(ev->fd() >= 0);
        auto moved = std::move(*ev);  // the move leaves one owner: one removal
        CHECK(!ev->active());
        CHECK(moved.active());
    }
    REQUIRE(k.calls.size() == 2);
    const auto& del = k.calls[1].image;
    CHECK(fake_kernel::at<u32>(del, 4) == 2u);
    CHECK(fake_kernel::at<u64>(del, 8) == 0x10008);
    CHECK(fake_kernel::at<u64>(del, 16) == 0xbeef);
    CHECK(fake_kernel::at<int>(del, 24) == -1);

    // outside the region: refused before the ioctl
    auto out = ioeventfd::add<std::uint64_t>(dev, *bar, (u64{1} << 20) - 4, 1, {}, k.hook());
    REQUIRE(!out);
    CHECK(out.error().origin == error_origin::library);
    CHECK(k.calls.size() == 2);
    // the kernel's EEXIST: advice, no object, nothing to remove
    k.answer = [](unsigned long, std::byte*) { return -EEXIST; };
    auto dup = ioeventfd::add<std::uint32_t>(dev, *bar, 4, 1, {}, k.hook());
    REQUIRE(!dup);
    CHECK(dup.error().code == EEXIST);
    CHECK(k.calls.size() == 3);
}

TEST_CASE("device features: low power, DMA_BUF and VF token images") {
    fake_kernel k;
    k.answer = [](unsigned long, std::byte*) { return 42; };  // DMA_BUF's GET returns the new fd
    auto dev = fake_device();
    const auto feature = static_cast<unsigned long>(uv::device_feature.code);
    REQUIRE(low_power_entry(dev, k.hook()).has_value());
    CHECK(k.calls.back().code == feature);
    CHECK(fake_kernel::at<u32>(k.calls.back().image, 4) == ((1u << 17) | 3u));  // SET | LOW_POWER_ENTRY
    REQUIRE(low_power_entry(dev, 9, k.hook()).has_value());
    CHECK(k.calls.back().image.size() == 16);
    CHECK(fake_kernel::at<u32>(k.calls.back().image, 4) == ((1u << 17) | 4u));
    CHECK(fake_kernel::at<int>(k.calls.back().image, 8) == 9);
    REQUIRE(low_power_exit(dev, k.hook()).has_value());
    CHECK(fake_kernel::at<u32>(k.calls.back().image, 4) == ((1u << 17) | 5u));

    std::array<ua::vfio_region_dma_range, 2> ranges{{{0x1000, 0x2000}, {0x8000, 0x1000}}};
    auto buf = export_dma_buf(dev, 2, ranges, O_RDWR, k.hook());
    REQUIRE(buf.has_value());
    CHECK(buf->get() == 42);
    (void)buf->release();  // not a real fd
    const auto& img = k.calls.back().image;
    CHECK(img.size() == 8 + 16 + 2 * 16);
    CHECK(fake_kernel::at<u32>(img, 4) == ((1u << 16) | 11u));  // GET | DMA_BUF
    CHECK(fake_kernel::at<u32>(img, 8) == 2);                   // region_index
    CHECK(fake_kernel::at<u32>(img, 12) == static_cast<u32>(O_RDWR));
    CHECK(fake_kernel::at<u32>(img, 16) == 0);                  // flags
    CHECK(fake_kernel::at<u32>(img, 20) == 2);                  // nr_ranges
    CHECK(fake_kernel::at<u64>(img, 24) == 0x1000);
    CHECK(fake_kernel::at<u64>(img, 32) == 0x2000);
    CHECK(fake_kernel::at<u64>(img, 40) == 0x8000);
    CHECK(fake_kernel::at<u64>(img, 48) == 0x1000);
    const std::size_t n = k.calls.size();
    CHECK(export_dma_buf(dev, 0, 0, 100, O_RDWR, k.hook()).error().origin == error_origin::library);
    CHECK(export_dma_buf(dev, 0, std::span<const ua::vfio_region_dma_range>{}, O_RDWR, k.hook()).error().code == EINVAL);
    CHECK(k.calls.size() == n);

    auto token = parse_uuid("2ab74924-c335-45f4-9b16-8569e5b08258");
    REQUIRE(token.has_value());
    CHECK((*token)[0] == 0x2a);
    CHECK((*token)[15] == 0x58);
    CHECK(!parse_uuid("2ab74924-c335-45f4-9b16-8569e5b0825").has_value());
    CHECK(!parse_uuid("2ab74924xc335-45f4-9b16-8569e5b08258").has_value());
    CHECK(!parse_uuid("2ab74924-c335-45f4-9b16-8569e5b0825g").has_value());
    k.answer = [](unsigned long, std::byte*) { return 0; };
    REQUIRE(set_vf_token(dev, *token, k.hook()).has_value());
    CHECK(k.calls.back().image.size() == 24);
    CHECK(fake_kernel::at<u32>(k.calls.back().image, 4) == ((1u << 17) | 0u));
    CHECK(std::memcmp(k.calls.back().image.data() + 8, token->data(), 16) == 0);

    k.answer = [](unsigned long, std::byte*) { return -ENOTTY; };
    auto probe = feature_supported<ua::vfio_device_feature_dma_buf>(dev, k.hook());
    REQUIRE(probe.has_value());
    CHECK(!*probe);  // ENOTTY: not supported, not an error
    CHECK(fake_kernel::at<u32>(k.calls.back().image, 4) == ((1u << 18) | (1u << 16) | 11u));  // PROBE | GET | DMA_BUF
    k.answer = [](unsigned long, std::byte*) { return -EIO; };
    CHECK(!feature_supported<ua::vfio_device_feature_dma_buf>(dev, k.hook()).has_value());
}

TEST_CASE("live update: UNMAP_DMA FLAG_VADDR and MAP_DMA FLAG_VADDR images, CHANGE_PROCESS") {
    fake_kernel k;
    const auto unmap = static_cast<unsigned long>(uv::iommu_unmap_dma.code);
    const auto map = static_cast<unsigned long>(uv::iommu_map_dma.code);
    k.answer = [&](unsigned long code, std::byte*) { return code == unmap ? 0 : 0; };
    auto c = container::from_fd(unique_fd{eventfd(0, EFD_CLOEXEC)}, k.hook());
    REQUIRE(c.has_value());
    CHECK(supports_update_vaddr(*c).value());
    // the kernel reports the bytes invalidated in size (left as sent here)
    auto inv = invalidate_vaddr(*c, 0x100000, 0x200000);
    REQUIRE(inv.has_value());
    CHECK(*inv == 0x200000);
    auto& u = k.calls.back();
    CHECK(u.code == unmap);
    CHECK(u.image.size() == 24);
    CHECK(fake_kernel::at<u32>(u.image, 4) == 4u);  // VFIO_DMA_UNMAP_FLAG_VADDR (1 << 2)
    CHECK(fake_kernel::at<u64>(u.image, 8) == 0x100000);
    CHECK(fake_kernel::at<u64>(u.image, 16) == 0x200000);

    alignas(4096) static std::byte ram[4096];
    REQUIRE(update_vaddr(*c, 0x100000, 0x200000, ram).has_value());
    auto& m = k.calls.back();
    CHECK(m.code == map);
    CHECK(m.image.size() == 32);
    CHECK(fake_kernel::at<u32>(m.image, 4) == 4u);  // VFIO_DMA_MAP_FLAG_VADDR alone: no READ/WRITE
    CHECK(fake_kernel::at<u64>(m.image, 8) == reinterpret_cast<std::uintptr_t>(ram));
    CHECK(fake_kernel::at<u64>(m.image, 16) == 0x100000);
    CHECK(fake_kernel::at<u64>(m.image, 24) == 0x200000);

    REQUIRE(invalidate_all_vaddr(*c).has_value());
    CHECK(fake_kernel::at<u32>(k.calls.back().image, 4) == 6u);  // ALL (1 << 1) | VADDR

    // nothing invalidated: ENOENT from the library; the kernel's EINVAL on MAP VADDR with advice
    k.answer = [&](unsigned long code, std::byte* p) {
        if (code == unmap) put<u64>(p, 16, 0);
        return code == map ? -EINVAL : 0;
    };
    auto none = invalidate_vaddr(*c, 0x100000, 0x1000);
    REQUIRE(!none);
    CHECK(none.error().code == ENOENT);
    auto bad = update_vaddr(*c, 0x100000, 0x200000, ram);
    REQUIRE(!bad);
    CHECK(bad.error().code == EINVAL);
    CHECK(std::string(bad.error().message).find("invalidate") != std::string::npos);
    CHECK(bad.error().values[2].name == "vaddr");

    fake_kernel ik;
    auto ctx = iommufd::from_fd(unique_fd{eventfd(0, EFD_CLOEXEC)}, ik.hook());
    REQUIRE(ctx.has_value());
    REQUIRE(change_process(*ctx).has_value());
    CHECK(ik.calls.back().code == static_cast<unsigned long>(ui::ioas_change_process.code));
    CHECK(ik.calls.back().image.size() == 8);
    ik.answer = [](unsigned long, std::byte*) { return -EINVAL; };
    auto cp = change_process(*ctx);
    REQUIRE(!cp);
    CHECK(std::string(cp.error().message).find("file-backed") != std::string::npos);
}
