// Unit tests of the per-ioctl builders of wire/requests.hpp: the image bytes (sizes, flags, argsz), the refusals
// before the ioctl (bad ranges, overflow, bad names) and, where the return value matters, a fake submission.
#include <vfiopp/fmt_error.hpp>
#include <vfiopp/io/negotiate.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/wire/builders.hpp>

#include <catch2/catch_test_macros.hpp>

#include <sys/eventfd.h>

#include <cstring>
#include <string>
#include <vector>

using namespace vfiopp;
using namespace vfiopp::uapi;
namespace wv = vfiopp::wire::vfio;
namespace wi = vfiopp::wire::iommufd;

namespace {

template <typename T>
T at(std::span<const std::byte> b, std::size_t off) {
    T v{};
    REQUIRE(off + sizeof v <= b.size());
    std::memcpy(&v, b.data() + off, sizeof v);
    return v;
}

template <typename R>
void check_refused(const R& r, std::string_view ioctl, std::string_view field, int code) {
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().ioctl == ioctl);
    CHECK(r.error().field == field);
    CHECK(r.error().code == code);
    CHECK(r.error().origin == error_origin::library);
}

/// A fake ioctl(2) recording the code and argument, returning `rc`.
struct recorder {
    unsigned long code = 0;
    void* arg = nullptr;
    int rc = 0;
    auto fn() {
        return [this](int, unsigned long c, void* a) {
            code = c;
            arg = a;
            return rc;
        };
    }
};

template <typename A>
concept can_free_range = requires(wire::pasid_range r) { wire::pasid_free<A>(r); };
template <typename A>
concept can_free_one = requires(u32 p) { wire::pasid_free<A>(p); };
template <typename T>
concept ioeventfd_width_ok = requires { wv::device_ioeventfd<T>(0, T{}, -1); };

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// VFIO: ioctls without argsz
// ---------------------------------------------------------------------------------------------------------------
TEST_CASE("value and argument-less VFIO requests", "[wire][requests]") {
    constexpr auto ver = wv::get_api_version();
    STATIC_CHECK(ver.ret.kind == wire::returns::value);
    STATIC_CHECK(ver.ioctl.code == 0x3b64);
    CHECK(ver.value() == 0);

    constexpr auto ext = wv::check_extension(extension::type1v2_iommu);
    STATIC_CHECK(ext.value() == 3);
    STATIC_CHECK(ext.ret.kind == wire::returns::value);
    constexpr auto set = wv::set_iommu(extension::type1v2_iommu);
    STATIC_CHECK(set.value() == 3);
    STATIC_CHECK(set.ret.kind == wire::returns::status);
    STATIC_CHECK(set.ioctl.code == 0x3b66);

    STATIC_CHECK(wv::device_reset().ioctl.name == "VFIO_DEVICE_RESET");
    STATIC_CHECK(wv::group_unset_container().ioctl.name == "VFIO_GROUP_UNSET_CONTAINER");
    STATIC_CHECK(wv::iommu_enable().ret.kind == wire::returns::status);
    STATIC_CHECK(wv::iommu_disable().ioctl.code == 0x3b74);

    recorder k;
    k.rc = 1;
    auto r = io::submit(3, wv::check_extension(extension::unmap_all), k.fn());
    REQUIRE(r.has_value());
    CHECK(*r == 1);
    CHECK(k.code == 0x3b65);
    CHECK(reinterpret_cast<std::uintptr_t>(k.arg) == 9);
    auto s = io::submit(3, wv::device_reset(), k.fn());
    STATIC_CHECK(std::is_same_v<decltype(s), result<void>>);
    CHECK(s.has_value());
}

TEST_CASE("group_get_device_fd: NUL-terminated name inline, returns the new fd", "[wire][requests]") {
    auto req = wv::group_get_device_fd("0000:00:04.0");
    REQUIRE(req.has_value());
    CHECK(req->size() == 13);
    CHECK(req->capacity() == wv::device_name_max + 1);
    CHECK(req->bytes()[12] == std::byte{0});
    CHECK(std::string_view(reinterpret_cast<const char*>(req->bytes().data())) == "0000:00:04.0");

    std::string seen;
    int given = -1;
    auto r = io::submit(5, *req, [&](int fd, unsigned long code, void* arg) {
        CHECK(fd == 5);
        CHECK(code == 0x3b6a);
        seen = static_cast<const char*>(arg);  // what the kernel's strndup_user would read
        return given = ::eventfd(0, EFD_CLOEXEC);  // a real new fd, as the kernel's would be
    });
    STATIC_CHECK(std::is_same_v<decltype(r), result<unique_fd>>);  // the new device fd is owned from here on
    REQUIRE(r.has_value());
    CHECK(r->get() == given);
    CHECK(seen == "0000:00:04.0");

    check_refused(wv::group_get_device_fd(""), "VFIO_GROUP_GET_DEVICE_FD", "name", EINVAL);
    check_refused(wv::group_get_device_fd(std::string_view("00:04\0x", 7)), "VFIO_GROUP_GET_DEVICE_FD", "name", EINVAL);
    check_refused(wv::group_get_device_fd<8>("0000:00:04.0"), "VFIO_GROUP_GET_DEVICE_FD", "name", E2BIG);
    auto exact = wv::group_get_device_fd<12>("0000:00:04.0");
    REQUIRE(exact.has_value());
    CHECK(exact->size() == 13);
    CHECK(exact->capacity() == 13);
    std::string long_name(wv::device_name_max, 'a');
    CHECK(wv::group_get_device_fd(long_name).has_value());
    check_refused(wv::group_get_device_fd(long_name + "a"), "VFIO_GROUP_GET_DEVICE_FD", "name", E2BIG);
}

TEST_CASE("group_set_container passes a pointer to the fd; get_gfx_dmabuf a pointer to the id", "[wire][requests]") {
    auto req = wv::group_set_container(17);
    REQUIRE(req.has_value());
    CHECK(req->size() == 4);
    int seen = -1;
    auto r = io::submit(4, *req, [&](int, unsigned long code, void* arg) {
        CHECK(code == 0x3b68);
        std::memcpy(&seen, arg, 4);
        return 0;
    });
    STATIC_CHECK(std::is_same_v<decltype(r), result<void>>);
    CHECK(r.has_value());
    CHECK(seen == 17);
    check_refused(wv::group_set_container(-1), "VFIO_GROUP_SET_CONTAINER", "container_fd", EBADF);

    auto buf = wv::device_get_gfx_dmabuf(0x1234);
    CHECK(at<u32>(buf.bytes(), 0) == 0x1234);
    recorder k;
    k.rc = ::eventfd(0, EFD_CLOEXEC);
    auto fd = io::submit(4, buf, k.fn());
    REQUIRE(fd.has_value());
    CHECK(fd->get() == k.rc);
    CHECK(k.code == 0x3b73);
}

// ---------------------------------------------------------------------------------------------------------------
// VFIO: device fd
// ---------------------------------------------------------------------------------------------------------------
TEST_CASE("info requests carry argsz = struct size with room to negotiate", "[wire][requests]") {
    auto info = wv::device_get_info<256>();
    CHECK(info.size() == 24);
    CHECK(info.header().argsz == 24);
    CHECK(info.capacity() == 256);
    auto region = wv::device_get_region_info<1024>(pci_region_index::config);
    CHECK(region.size() == 32);
    CHECK(region.header().index == 7);
    auto plain = wv::device_get_region_info(2u);
    CHECK(plain.capacity() == 32);
    auto irq = wv::device_get_irq_info(pci_irq_index::msix);
    CHECK(irq.size() == 16);
    CHECK(irq.header().index == 2);
    auto iommu = wv::iommu_get_info<512>();
    CHECK(iommu.size() == 24);
    CHECK(wv::group_get_status().size() == 8);
    CHECK(wv::mig_get_precopy_info().size() == 24);
    CHECK(wv::mig_get_precopy_info().ioctl.fd == fd_kind::migration_data);

    // Negotiation: a chain needing 80 bytes is fetched in a second round.
    int round = 0;
    auto r = io::negotiate(3, region, [&](int, unsigned long, void* arg) {
        ++round;
        u32 argsz;
        std::memcpy(&argsz, arg, 4);
        if (argsz < 80) {
            u32 need = 80;
            std::memcpy(arg, &need, 4);
        }
        return 0;
    });
    CHECK(r.has_value());
    CHECK(round == 2);
    CHECK(region.size() == 80);
    CHECK(region.header().index == 7);
}

TEST_CASE("get_pci_hot_reset_info offers its whole storage as argsz", "[wire][requests]") {
    auto req = wv::device_get_pci_hot_reset_info<4>();
    CHECK(req.size() == 12 + 8 * 4);
    CHECK(req.header().argsz == 44);
    CHECK(req.header().count == 0);
    auto r = io::submit(3, req, [](int, unsigned long code, void* arg) {
        CHECK(code == 0x3b70);
        vfio_pci_dependent_device d{};
        d.id.devid = 3;
        d.devfn = 0x20;
        u32 count = 1;
        std::memcpy(static_cast<std::byte*>(arg) + 8, &count, 4);
        std::memcpy(static_cast<std::byte*>(arg) + 12, &d, sizeof d);
        return 0;
    });
    REQUIRE(r.has_value());
    CHECK(req.header().count == 1);
    CHECK(req.read<vfio_pci_dependent_device>(12).devfn == 0x20);
}

TEST_CASE("query_gfx_plane wants exactly one of dmabuf and region", "[wire][requests]") {
    auto q = wv::device_query_gfx_plane(gfx_plane_flag::probe | gfx_plane_flag::dmabuf, 1);
    REQUIRE(q.has_value());
    CHECK(q->size() == 64);
    CHECK(q->header().flags.bits() == 3);
    CHECK(q->header().drm_plane_type == 1);
    check_refused(wv::device_query_gfx_plane(gfx_plane_flag::probe, 1), "VFIO_DEVICE_QUERY_GFX_PLANE", "flags", EINVAL);
    check_refused(wv::device_query_gfx_plane(gfx_plane_flag::dmabuf | gfx_plane_flag::region, 1), "VFIO_DEVICE_QUERY_GFX_PLANE",
                  "flags", EINVAL);
    check_refused(wv::device_query_gfx_plane(bitmask<gfx_plane_flag>::from_bits(0x12), 1), "VFIO_DEVICE_QUERY_GFX_PLANE", "flags",
                  EINVAL);
}

TEST_CASE("device_ioeventfd: the data type gives the width flag", "[wire][requests]") {
    auto r8 = wv::device_ioeventfd<u8>(0x100, 0xab, 7);
    REQUIRE(r8.has_value());
    CHECK(r8->size() == 32);
    CHECK(r8->header().flags.bits() == 1);
    CHECK(r8->header().data == 0xab);
    CHECK(r8->header().fd == 7);
    CHECK(wv::device_ioeventfd<u16>(0, 1, 7)->header().flags.bits() == 2);
    CHECK(wv::device_ioeventfd<u32>(0, 1, 7)->header().flags.bits() == 4);
    auto r64 = wv::device_ioeventfd<u64>(0x2000, 0x1122334455667788, -1);  // -1 removes
    REQUIRE(r64.has_value());
    CHECK(r64->header().flags.bits() == 8);
    CHECK(at<u64>(r64->bytes(), 16) == 0x1122334455667788);
    CHECK(at<s32>(r64->bytes(), 24) == -1);
    check_refused(wv::device_ioeventfd<u32>(0, 1, -2), "VFIO_DEVICE_IOEVENTFD", "fd", EBADF);
    check_refused(wv::device_ioeventfd<u64>(~u64{0} - 3, 1, 3), "VFIO_DEVICE_IOEVENTFD", "offset", EOVERFLOW);
    STATIC_CHECK(ioeventfd_width_ok<u16>);
}

TEST_CASE("bind / attach / detach: pasid and token only with their flag, argsz follows", "[wire][requests]") {
    auto bind = wv::device_bind_iommufd(5);
    REQUIRE(bind.has_value());
    CHECK(bind->size() == 16);
    CHECK(bind->header().argsz == 16);
    CHECK(bind->header().flags.bits() == 0);
    CHECK(bind->header().iommufd == 5);
    std::array<u8, 16> token{1, 2, 3};
    auto tok = wv::device_bind_iommufd(5, token);
    REQUIRE(tok.has_value());
    CHECK(tok->size() == 24);
    CHECK(tok->header().flags.has(device_bind_flag::token));
    CHECK(tok->header().token_uuid_ptr == reinterpret_cast<std::uintptr_t>(token.data()));
    check_refused(wv::device_bind_iommufd(-1), "VFIO_DEVICE_BIND_IOMMUFD", "iommufd", EBADF);

    auto att = wv::device_attach_iommufd_pt(9);
    CHECK(att.size() == 12);
    CHECK(att.header().flags.bits() == 0);
    CHECK(att.header().pt_id == 9);
    auto attp = wv::device_attach_iommufd_pt(9, 0x55);
    CHECK(attp.size() == 16);
    CHECK(attp.header().flags.has(device_attach_flag::pasid));
    CHECK(at<u32>(attp.bytes(), 12) == 0x55);

    auto det = wv::device_detach_iommufd_pt();
    CHECK(det.size() == 8);
    CHECK(det.header().flags.bits() == 0);
    auto detp = wv::device_detach_iommufd_pt(0x55);
    CHECK(detp.size() == 12);
    CHECK(detp.header().flags.has(device_detach_flag::pasid));
    CHECK(at<u32>(detp.bytes(), 8) == 0x55);

    // The kernel sees exactly argsz bytes: 12 for the plain attach, and writes back pt_id.
    auto r = io::submit(3, att, [](int, unsigned long code, void* arg) {
        CHECK(code == 0x3b77);
        u32 argsz;
        std::memcpy(&argsz, arg, 4);
        CHECK(argsz == 12);
        u32 hwpt = 11;
        std::memcpy(static_cast<std::byte*>(arg) + 8, &hwpt, 4);
        return 0;
    });
    CHECK(r.has_value());
    CHECK(att.header().pt_id == 11);
}

// ---------------------------------------------------------------------------------------------------------------
// VFIO type1: unmap and dirty tracking
// ---------------------------------------------------------------------------------------------------------------
TEST_CASE("iommu_unmap_dma: plain, all, vaddr", "[wire][requests]") {
    auto u = wv::iommu_unmap_dma(0x100000, 0x200000);
    REQUIRE(u.has_value());
    CHECK(u->size() == 24);
    CHECK(u->header().flags.bits() == 0);
    CHECK(u->header().iova == 0x100000);
    CHECK(u->header().size == 0x200000);
    auto all = wv::iommu_unmap_all();
    CHECK(all.size() == 24);
    CHECK(all.header().flags.bits() == 2);
    CHECK(all.header().iova == 0);
    CHECK(all.header().size == 0);
    auto va = wv::iommu_unmap_vaddr(0x1000, 0x1000);
    REQUIRE(va.has_value());
    CHECK(va->header().flags.bits() == 4);
    CHECK(va->header().argsz == 24);
    check_refused(wv::iommu_unmap_dma(0x1000, 0), "VFIO_IOMMU_UNMAP_DMA", "size", EINVAL);
    check_refused(wv::iommu_unmap_dma(~u64{0} - 0xfff, 0x2000), "VFIO_IOMMU_UNMAP_DMA", "size", EOVERFLOW);
}

TEST_CASE("iommu_unmap_dma_dirty: vfio_bitmap trailer, bitmap size checked", "[wire][requests]") {
    std::array<u64, 2> bits{};
    // 65 pages need 2 u64 words = 16 bytes.
    auto r = wv::iommu_unmap_dma_dirty(0x10000, 65 * 4096, 4096, bits);
    REQUIRE(r.has_value());
    CHECK(r->size() == 48);
    CHECK(r->header().argsz == 48);
    CHECK(r->header().flags.bits() == 1);
    CHECK(at<u64>(r->bytes(), 24) == 4096);  // bitmap.pgsize
    CHECK(at<u64>(r->bytes(), 32) == 16);    // bitmap.size in bytes
    CHECK(at<u64>(r->bytes(), 40) == reinterpret_cast<std::uintptr_t>(bits.data()));

    std::array<u64, 1> small{};
    check_refused(wv::iommu_unmap_dma_dirty(0x10000, 65 * 4096, 4096, small), "VFIO_IOMMU_UNMAP_DMA", "bitmap", EINVAL);
    CHECK(wv::iommu_unmap_dma_dirty(0x10000, 64 * 4096, 4096, small).has_value());  // 64 pages fit one word
    check_refused(wv::iommu_unmap_dma_dirty(0x10000, 4096, 3000, bits), "VFIO_IOMMU_UNMAP_DMA", "page_size", EINVAL);
    check_refused(wv::iommu_unmap_dma_dirty(0x10000, 4096, 0, bits), "VFIO_IOMMU_UNMAP_DMA", "page_size", EINVAL);
    check_refused(wv::iommu_unmap_dma_dirty(0x10800, 4096, 4096, bits), "VFIO_IOMMU_UNMAP_DMA", "size", EINVAL);
    check_refused(wv::iommu_unmap_dma_dirty(0x10000, 0, 4096, bits), "VFIO_IOMMU_UNMAP_DMA", "size", EINVAL);
    check_refused(wv::iommu_unmap_dma_dirty(~u64{0} - 0xfff, 0x2000, 4096, bits), "VFIO_IOMMU_UNMAP_DMA", "size", EOVERFLOW);
    // A bitmap beyond the kernel's DIRTY_BITMAP_SIZE_MAX (INT_MAX pages, rounded to 2^28 bytes) is refused before
    // the bitmap's room is even looked at.
    check_refused(wv::iommu_unmap_dma_dirty(0, ((u64{1} << 31) + 64) * 4096, 4096, bits), "VFIO_IOMMU_UNMAP_DMA", "size", EINVAL);
}

TEST_CASE("iommu_dirty_pages: start/stop argsz 8, get_bitmap argsz 48 with the range and bitmap", "[wire][requests]") {
    auto start = wv::iommu_dirty_pages_start();
    CHECK(start.size() == 8);
    CHECK(start.header().flags.bits() == 1);
    auto stop = wv::iommu_dirty_pages_stop();
    CHECK(stop.size() == 8);
    CHECK(stop.header().flags.bits() == 2);
    STATIC_CHECK(std::is_same_v<decltype(start), decltype(stop)>);

    std::array<u64, 8> bits{};
    auto get = wv::iommu_dirty_pages_get_bitmap(0x200000, 0x200000, 0x1000, bits);  // 512 pages, 64 bytes
    REQUIRE(get.has_value());
    CHECK(get->size() == 48);
    CHECK(get->header().flags.bits() == 4);
    CHECK(at<u64>(get->bytes(), 8) == 0x200000);   // iova
    CHECK(at<u64>(get->bytes(), 16) == 0x200000);  // size
    CHECK(at<u64>(get->bytes(), 24) == 0x1000);    // bitmap.pgsize
    CHECK(at<u64>(get->bytes(), 32) == 64);        // bitmap.size
    CHECK(at<u64>(get->bytes(), 40) == reinterpret_cast<std::uintptr_t>(bits.data()));
    std::array<u64, 7> short_bits{};
    check_refused(wv::iommu_dirty_pages_get_bitmap(0x200000, 0x200000, 0x1000, short_bits), "VFIO_IOMMU_DIRTY_PAGES", "bitmap",
                  EINVAL);
    check_refused(wv::iommu_dirty_pages_get_bitmap(~u64{0} - 0xfff, 0x2000, 0x1000, bits), "VFIO_IOMMU_DIRTY_PAGES", "size",
                  EOVERFLOW);
}

// ---------------------------------------------------------------------------------------------------------------
// iommufd
// ---------------------------------------------------------------------------------------------------------------
TEST_CASE("iommufd object requests: size = struct, inputs placed", "[wire][requests]") {
    auto d = wi::destroy(7);
    CHECK(d.size() == 8);
    CHECK(d.header().id == 7);
    CHECK(wi::ioas_alloc().size() == 12);
    CHECK(wi::ioas_change_process().size() == 8);
    CHECK(wi::fault_queue_alloc().size() == 16);
    CHECK(wi::ioas_iova_ranges(3, {}).value().header().ioas_id == 3);

    auto og = wi::option_get(iommufd_option::huge_pages, 4);
    CHECK(og.size() == 24);
    CHECK(og.header().op == iommufd_option_op::get);
    CHECK(og.header().object_id == 4);
    auto os = wi::option_set(iommufd_option::rlimit_mode, 1);
    CHECK(os.header().op == iommufd_option_op::set);
    CHECK(os.header().val64 == 1);
    CHECK(os.header().object_id == 0);

    CHECK(wi::vfio_ioas_get().header().op == vfio_ioas_op::get);
    CHECK(wi::vfio_ioas_set(5).header().ioas_id == 5);
    CHECK(wi::vfio_ioas_set(5).header().op == vfio_ioas_op::set);
    CHECK(wi::vfio_ioas_clear().header().op == vfio_ioas_op::clear);
    CHECK(wi::vfio_ioas_clear().size() == 12);

    auto dt = wi::hwpt_set_dirty_tracking(3, true);
    CHECK(dt.size() == 16);
    CHECK(dt.header().flags.bits() == 1);
    CHECK(wi::hwpt_set_dirty_tracking(3, false).header().flags.bits() == 0);

    auto vd = wi::vdevice_alloc(2, 3, 0x10);
    CHECK(vd.size() == 24);
    CHECK(vd.header().virt_id == 0x10);
}

TEST_CASE("ioas_map / map_file / copy: fixed_iova follows the optional iova", "[wire][requests]") {
    auto pick = wi::ioas_map(1, 0x7f0000000000, 0x10000, ioas_map_flag::readable | ioas_map_flag::writeable);
    REQUIRE(pick.has_value());
    CHECK(pick->size() == 40);
    CHECK(pick->header().flags.bits() == 6);
    CHECK(pick->header().iova == 0);
    auto fixed = wi::ioas_map(1, 0x7f0000000000, 0x10000, ioas_map_flag::readable, 0x100000);
    REQUIRE(fixed.has_value());
    CHECK(fixed->header().flags.bits() == (4 | 1));
    CHECK(fixed->header().iova == 0x100000);
    check_refused(wi::ioas_map(1, 0x1000, 0x1000, ioas_map_flag::fixed_iova), "IOMMU_IOAS_MAP", "flags", EINVAL);
    check_refused(wi::ioas_map(1, 0x1000, 0, ioas_map_flag::readable), "IOMMU_IOAS_MAP", "length", EINVAL);
    check_refused(wi::ioas_map(1, ~u64{0}, 2, ioas_map_flag::readable), "IOMMU_IOAS_MAP", "length", EOVERFLOW);
    check_refused(wi::ioas_map(1, 0x1000, 0x2000, ioas_map_flag::readable, ~u64{0} - 0xfff), "IOMMU_IOAS_MAP", "iova", EOVERFLOW);
    check_refused(wi::ioas_map(1, 0x1000, 0x1000, bitmask<ioas_map_flag>::from_bits(0x100)), "IOMMU_IOAS_MAP", "flags",
                  EOPNOTSUPP);

    auto mf = wi::ioas_map_file(1, 9, 0x2000, 0x1000, ioas_map_flag::readable, 0x40000);
    REQUIRE(mf.has_value());
    CHECK(mf->header().fd == 9);
    CHECK(mf->header().start == 0x2000);
    CHECK(mf->header().flags.has(ioas_map_flag::fixed_iova));
    check_refused(wi::ioas_map_file(1, -1, 0, 0x1000, ioas_map_flag::readable), "IOMMU_IOAS_MAP_FILE", "fd", EBADF);

    auto cp = wi::ioas_copy(2, 1, 0x100000, 0x1000, ioas_map_flag::readable);
    REQUIRE(cp.has_value());
    CHECK(cp->header().dst_ioas_id == 2);
    CHECK(cp->header().src_ioas_id == 1);
    CHECK(cp->header().src_iova == 0x100000);
    CHECK_FALSE(cp->header().flags.has(ioas_map_flag::fixed_iova));
    check_refused(wi::ioas_copy(2, 1, 0, 0, ioas_map_flag::readable), "IOMMU_IOAS_COPY", "length", EINVAL);
}

TEST_CASE("ioas_unmap, ioas_allow_iovas, noiommu_get_pa", "[wire][requests]") {
    auto u = wi::ioas_unmap(1, 0x1000, 0x2000);
    REQUIRE(u.has_value());
    CHECK(u->size() == 24);
    auto all = wi::ioas_unmap_all(1);
    CHECK(all.header().iova == 0);
    CHECK(all.header().length == ~u64{0});
    check_refused(wi::ioas_unmap(1, 0x1000, 0), "IOMMU_IOAS_UNMAP", "length", EINVAL);

    std::array<iommu_iova_range, 2> ranges{{{0x1000, 0x1fff}, {0x100000, 0x1fffff}}};
    auto allow = wi::ioas_allow_iovas(1, ranges);
    REQUIRE(allow.has_value());
    CHECK(allow->header().num_iovas == 2);
    CHECK(allow->header().allowed_iovas == reinterpret_cast<std::uintptr_t>(ranges.data()));
    auto clear = wi::ioas_allow_iovas(1, {});
    REQUIRE(clear.has_value());
    CHECK(clear->header().num_iovas == 0);
    CHECK(clear->header().allowed_iovas == 0);
    ranges[1].start = 0x200000;
    check_refused(wi::ioas_allow_iovas(1, ranges), "IOMMU_IOAS_ALLOW_IOVAS", "allowed_iovas", EINVAL);

    auto pa = wi::ioas_noiommu_get_pa(1, 0x1000, 0x1000);
    REQUIRE(pa.has_value());
    CHECK(pa->size() == 40);
    check_refused(wi::ioas_noiommu_get_pa(1, 0x1000, 0), "IOMMU_IOAS_NOIOMMU_GET_PA", "length", EINVAL);
}

TEST_CASE("get_hw_info: vendor data out of line, type from the struct", "[wire][requests]") {
    auto none = wi::get_hw_info(3);
    CHECK(none.size() == 40);
    CHECK(none.header().data_len == 0);
    CHECK(none.header().data_uptr == 0);
    iommu_hw_info_vtd vtd{};
    auto r = wi::get_hw_info(3, vtd);
    CHECK(r.header().data_len == 24);
    CHECK(r.header().data_uptr == reinterpret_cast<std::uintptr_t>(&vtd));
    CHECK(r.header().flags.bits() == 0);
    iommu_hw_info_amd amd{};
    auto typed = wi::get_hw_info(3, amd, true);
    CHECK(typed.header().flags.has(hw_info_flag::input_type));
    CHECK(typed.header().data_type.in_data_type == hw_info_type::amd);
    CHECK(typed.header().data_len == 16);
    iommu_hw_info_arm_smmuv3 smmu{};
    CHECK(wi::get_hw_info(3, smmu).header().data_len == 40);
    STATIC_CHECK(wi::hw_info_type_of<iommu_hw_info_tegra241_cmdqv> == hw_info_type::tegra241_cmdqv);

    // A fake kernel writes through data_uptr: the caller's struct receives the registers.
    auto s = io::submit(3, r, [](int, unsigned long code, void* arg) {
        CHECK(code == 0x3b8a);
        iommu_hw_info h;
        std::memcpy(&h, arg, sizeof h);
        iommu_hw_info_vtd out{};
        out.cap_reg = 0xabc;
        std::memcpy(reinterpret_cast<void*>(static_cast<std::uintptr_t>(h.data_uptr)), &out, sizeof out);
        return 0;
    });
    CHECK(s.has_value());
    CHECK(vtd.cap_reg == 0xabc);
}

TEST_CASE("hwpt_get_dirty_bitmap: bitmap size against iova/length/page_size", "[wire][requests]") {
    std::array<u64, 2> bits{};
    auto r = wi::hwpt_get_dirty_bitmap(4, 0x100000, 128 * 4096, 4096, bits, true);
    REQUIRE(r.has_value());
    CHECK(r->size() == 48);
    CHECK(r->header().hwpt_id == 4);
    CHECK(r->header().flags.bits() == 1);
    CHECK(r->header().page_size == 4096);
    CHECK(r->header().data == reinterpret_cast<std::uintptr_t>(bits.data()));
    CHECK(wi::hwpt_get_dirty_bitmap(4, 0, 4096, 4096, bits)->header().flags.bits() == 0);
    constexpr std::string_view name = "IOMMU_HWPT_GET_DIRTY_BITMAP";
    check_refused(wi::hwpt_get_dirty_bitmap(4, 0x100000, 129 * 4096, 4096, bits), name, "bitmap", EINVAL);
    check_refused(wi::hwpt_get_dirty_bitmap(4, ~u64{0} - 0xfff, 0x2000, 4096, bits), name, "length", EOVERFLOW);
    check_refused(wi::hwpt_get_dirty_bitmap(4, 0, 0x2000, 0, bits), name, "page_size", EINVAL);
    check_refused(wi::hwpt_get_dirty_bitmap(4, 0, 0x2000, 0x1800, bits), name, "page_size", EINVAL);
    check_refused(wi::hwpt_get_dirty_bitmap(4, 0x800, 0x2000, 0x1000, bits), name, "length", EINVAL);
    // A 2 MiB page size: one bit covers the whole range.
    std::array<u64, 1> one{};
    CHECK(wi::hwpt_get_dirty_bitmap(4, 0, 64 * 0x200000, 0x200000, one).has_value());
}

TEST_CASE("vIOMMU, vEVENTQ and HW queue allocation", "[wire][requests]") {
    auto v = wi::viommu_alloc(3, 4, viommu_type::arm_smmuv3);
    CHECK(v.size() == 40);
    CHECK(v.header().type == viommu_type::arm_smmuv3);
    CHECK(v.header().data_len == 0);
    iommu_viommu_tegra241_cmdqv cmdqv{};
    auto t = wi::viommu_alloc(3, 4, cmdqv);
    CHECK(t.header().type == viommu_type::tegra241_cmdqv);
    CHECK(t.header().data_len == 16);
    CHECK(t.header().data_uptr == reinterpret_cast<std::uintptr_t>(&cmdqv));

    auto q = wi::veventq_alloc(5, veventq_type::arm_smmuv3, 64);
    REQUIRE(q.has_value());
    CHECK(q->size() == 32);
    CHECK(q->header().veventq_depth == 64);
    check_refused(wi::veventq_alloc(5, veventq_type::default_, 64), "IOMMU_VEVENTQ_ALLOC", "type", EOPNOTSUPP);
    check_refused(wi::veventq_alloc(5, veventq_type::arm_smmuv3, 0), "IOMMU_VEVENTQ_ALLOC", "veventq_depth", EINVAL);

    auto hq = wi::hw_queue_alloc(5, hw_queue_type::tegra241_cmdqv, 1, 0x80000000, 0x10000);
    REQUIRE(hq.has_value());
    CHECK(hq->size() == 40);
    CHECK(hq->header().index == 1);
    CHECK(hq->header().nesting_parent_iova == 0x80000000);
    check_refused(wi::hw_queue_alloc(5, hw_queue_type::tegra241_cmdqv, 1, 0, 0), "IOMMU_HW_QUEUE_ALLOC", "length", EINVAL);
    check_refused(wi::hw_queue_alloc(5, hw_queue_type::tegra241_cmdqv, 1, ~u64{0}, 2), "IOMMU_HW_QUEUE_ALLOC", "length", EOVERFLOW);
}

// ---------------------------------------------------------------------------------------------------------------
// The 2020 proposal: PASID_REQUEST in both revisions
// ---------------------------------------------------------------------------------------------------------------
TEST_CASE("v7 PASID_REQUEST: alloc xor free by function, range checked, PASID returned", "[wire][requests][proposal]") {
    auto a = wire::pasid_alloc<abi::v7>({1, 1000});
    REQUIRE(a.has_value());
    STATIC_CHECK(std::remove_cvref_t<decltype(*a)>::ret.kind == wire::returns::value);
    CHECK(a->size() == 16);
    CHECK(a->header().flags.bits() == 1);
    CHECK(a->header().range.min == 1);
    CHECK(a->header().range.max == 1000);
    recorder k;
    k.rc = 77;
    auto pasid = io::submit(3, *a, k.fn());
    REQUIRE(pasid.has_value());
    CHECK(*pasid == 77);
    CHECK(k.code == 0x3b76);

    auto f = wire::pasid_free<abi::v7>({5, 5});
    REQUIRE(f.has_value());
    CHECK(f->header().flags.bits() == 2);
    CHECK(wire::pasid_alloc<abi::v7>({0, 0x7fffffff}).has_value());
    constexpr std::string_view name = "VFIO_IOMMU_PASID_REQUEST";
    check_refused(wire::pasid_alloc<abi::v7>({0, 0x80000000}), name, "range", EINVAL);
    check_refused(wire::pasid_free<abi::v7>({0, 0xffffffff}), name, "range", EINVAL);
    check_refused(wire::pasid_alloc<abi::v7>({10, 9}), name, "range", EINVAL);
    STATIC_CHECK(can_free_range<abi::v7>);
    STATIC_CHECK_FALSE(can_free_one<abi::v7>);
}

TEST_CASE("seed PASID_REQUEST: 20 bytes, PASID written to the struct, free names one PASID", "[wire][requests][proposal]") {
    auto a = wire::pasid_alloc<abi::seed>({1, 0xffffffff});  // the seed has no 31-bit bound
    REQUIRE(a.has_value());
    STATIC_CHECK(std::remove_cvref_t<decltype(*a)>::ret.kind == wire::returns::status);
    CHECK(a->size() == 20);
    CHECK(a->header().flags.bits() == 1);
    CHECK(at<u32>(a->bytes(), 12) == 1);
    CHECK(at<u32>(a->bytes(), 16) == 0xffffffff);
    auto r = io::submit(3, *a, [](int, unsigned long code, void* arg) {
        CHECK(code == 0x3b7a);
        u32 pasid = 42;
        std::memcpy(static_cast<std::byte*>(arg) + 8, &pasid, 4);
        return 0;
    });
    CHECK(r.has_value());
    CHECK(a->header().pasid == 42);
    check_refused(wire::pasid_alloc<abi::seed>({9, 1}), "VFIO_IOMMU_PASID_REQUEST", "range", EINVAL);

    auto f = wire::pasid_free<abi::seed>(42u);
    CHECK(f.size() == 20);
    CHECK(f.header().flags.bits() == 2);
    CHECK(f.header().pasid == 42);
    STATIC_CHECK(can_free_one<abi::seed>);
    STATIC_CHECK_FALSE(can_free_range<abi::seed>);
}
