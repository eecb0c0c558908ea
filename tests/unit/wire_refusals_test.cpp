// Every refusal site of every builder (wire/request.hpp, wire/checked.hpp, wire/detail/trailer.hpp, wire/vfio.hpp,
// wire/iommufd.hpp, wire/nesting.hpp) triggered at least once, each checked for the ioctl it names, the field, the
// errno and the origin (library: nothing was issued). Sections follow the headers; within a builder, one refusal per
// condition, in the order the builder checks them, with the nearest accepted input next to it where the boundary
// matters. tools/coverage.sh lists any refusal line of include/vfiopp that no test reaches.
#include <vfiopp/error.hpp>
#include <vfiopp/uapi/iommufd.hpp>
#include <vfiopp/uapi/vfio.hpp>
#include <vfiopp/wire/checked.hpp>
#include <vfiopp/wire/detail/trailer.hpp>
#include <vfiopp/wire/iommufd.hpp>
#include <vfiopp/wire/nesting.hpp>
#include <vfiopp/wire/request.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <catch2/catch_test_macros.hpp>

#include <array>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

using namespace vfiopp;
using namespace vfiopp::uapi;
namespace wv = vfiopp::wire::vfio;
namespace wi = vfiopp::wire::iommufd;

namespace {

void check_library_error(const error& e, std::string_view ioctl, std::string_view field, int code) {
    CHECK(e.ioctl == ioctl);
    CHECK(e.field == field);
    CHECK(e.code == code);
    CHECK(e.origin == error_origin::library);
    CHECK_FALSE(e.message.empty());
}

/// r is a refusal naming ioctl and field with errno code.
template <typename R>
void refused(const R& r, std::string_view ioctl, std::string_view field, int code) {
    REQUIRE_FALSE(r.has_value());
    check_library_error(r.error(), ioctl, field, code);
}

constexpr u64 max64 = ~u64{0};

/// A span claiming `n` elements over one real element: never dereferenced, because the size is refused first.
template <typename T>
std::span<T> fake_span(T* one, std::size_t n) {
    return std::span<T>(one, n);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// wire/checked.hpp: each helper names the ioctl and field it is given
// ---------------------------------------------------------------------------------------------------------------
TEST_CASE("checked_add / checked_mul / checked_cast / checked_range refuse with EOVERFLOW", "[wire][refusals]") {
    const wire::where w{"IOCTL_X", "field_y"};
    refused(wire::checked_add<u32>(0xffffffffu, 1u, w), "IOCTL_X", "field_y", EOVERFLOW);
    CHECK(wire::checked_add<u32>(0xfffffffeu, 1u, w).value() == 0xffffffffu);
    refused(wire::checked_add<u16>(0u, 0x10000u, w), "IOCTL_X", "field_y", EOVERFLOW);  // the sum does not fit To
    refused(wire::checked_mul<u32>(0x10000u, 0x10000u, w), "IOCTL_X", "field_y", EOVERFLOW);
    CHECK(wire::checked_mul<u32>(0xffffu, 0x10001u, w).value() == 0xffffffffu);
    refused(wire::checked_mul<std::size_t>(std::size_t{1} << 63, 2, w), "IOCTL_X", "field_y", EOVERFLOW);
    refused(wire::checked_cast<u32>(u64{1} << 32, w), "IOCTL_X", "field_y", EOVERFLOW);
    refused(wire::checked_cast<u32>(-1, w), "IOCTL_X", "field_y", EOVERFLOW);
    CHECK(wire::checked_cast<u32>(u64{0xffffffff}, w).value() == 0xffffffffu);
    refused(wire::checked_range(max64, 2, w), "IOCTL_X", "field_y", EOVERFLOW);
    refused(wire::checked_range(0x1000, max64, w), "IOCTL_X", "field_y", EOVERFLOW);
    CHECK(wire::checked_range(1, max64, w).has_value());  // [1, 2^64): ends exactly at 2^64
    CHECK(wire::checked_range(max64, 1, w).has_value());
    CHECK(wire::checked_range(max64, 0, w).has_value());
}

// ---------------------------------------------------------------------------------------------------------------
// wire/request.hpp: prep_in
// ---------------------------------------------------------------------------------------------------------------
TEST_CASE("prep_in refuses a short or misaligned buffer, naming the size field", "[wire][refusals]") {
    alignas(8) std::array<std::byte, 64> buf{};
    refused(wire::prep_in<vfio::device_get_region_info>(std::span{buf}.first(31), {}), "VFIO_DEVICE_GET_REGION_INFO",
            "argsz", EINVAL);
    CHECK(wire::prep_in<vfio::device_get_region_info>(std::span{buf}.first(32), {}).has_value());
    refused(wire::prep_in<vfio::device_get_region_info>(std::span{buf}.subspan(4), {}), "VFIO_DEVICE_GET_REGION_INFO",
            "argsz", EINVAL);
    refused(wire::prep_in<iommufd::ioas_alloc>(std::span{buf}.first(11), {}), "IOMMU_IOAS_ALLOC", "size", EINVAL);
    refused(wire::prep_in<iommufd::ioas_alloc>(std::span{buf}.subspan(8 + 4), {}), "IOMMU_IOAS_ALLOC", "size", EINVAL);
    CHECK(wire::prep_in<iommufd::ioas_alloc>(std::span{buf}.subspan(8), {}).has_value());
}

// ---------------------------------------------------------------------------------------------------------------
// wire/detail/trailer.hpp: the helpers every trailer and bitmap builder goes through
// ---------------------------------------------------------------------------------------------------------------
TEST_CASE("put_with_trailer: an argsz past u32 is EOVERFLOW, past the capacity E2BIG", "[wire][refusals]") {
    std::array<int, 2> fds{1, 2};
    wv::set_irqs_request<1> r;  // 20 + 4 bytes
    refused(vfiopp::detail::put_with_trailer(r, vfio_irq_set{}, fds.data(), std::size_t{0xffffffff}, "count"),
            "VFIO_DEVICE_SET_IRQS", "argsz", EOVERFLOW);
    refused(vfiopp::detail::put_with_trailer(r, vfio_irq_set{}, fds.data(), 5, "count"), "VFIO_DEVICE_SET_IRQS", "count",
            E2BIG);
    CHECK(r.size() == 0);  // nothing written on a refusal
    REQUIRE(vfiopp::detail::put_with_trailer(r, vfio_irq_set{}, fds.data(), 4, "count").has_value());
    CHECK(r.size() == 24);
    wv::pci_hot_reset_request<1> h;  // the count field's name is the caller's
    refused(vfiopp::detail::put_with_trailer(h, vfio_pci_hot_reset{}, fds.data(), 8, "group_fds"),
            "VFIO_DEVICE_PCI_HOT_RESET", "group_fds", E2BIG);
}

TEST_CASE("dirty_bitmap_bytes and check_bitmap_room refuse each bad input", "[wire][refusals]") {
    const wire::where w{"IOCTL_X", "len_field"};
    refused(vfiopp::detail::dirty_bitmap_bytes(0, 0x1000, 0, w), "IOCTL_X", "page_size", EINVAL);
    refused(vfiopp::detail::dirty_bitmap_bytes(0, 0x3000, 0x3000, w), "IOCTL_X", "page_size", EINVAL);
    refused(vfiopp::detail::dirty_bitmap_bytes(0, 0, 0x1000, w), "IOCTL_X", "len_field", EINVAL);
    refused(vfiopp::detail::dirty_bitmap_bytes(max64 - 0xfff, 0x2000, 0x1000, w), "IOCTL_X", "len_field", EOVERFLOW);
    refused(vfiopp::detail::dirty_bitmap_bytes(0x800, 0x1000, 0x1000, w), "IOCTL_X", "len_field", EINVAL);
    refused(vfiopp::detail::dirty_bitmap_bytes(0x1000, 0x1800, 0x1000, w), "IOCTL_X", "len_field", EINVAL);
    CHECK(vfiopp::detail::dirty_bitmap_bytes(0x1000, 65 * 0x1000, 0x1000, w).value() == 16);
    CHECK(vfiopp::detail::dirty_bitmap_bytes(0, u64{1} << 63, u64{1} << 63, w).value() == 8);

    std::array<u64, 2> bits{};
    refused(vfiopp::detail::check_bitmap_room(bits, 17, "IOCTL_X"), "IOCTL_X", "bitmap", EINVAL);
    CHECK(vfiopp::detail::check_bitmap_room(bits, 16, "IOCTL_X").has_value());
}

// ---------------------------------------------------------------------------------------------------------------
// wire/vfio.hpp
// ---------------------------------------------------------------------------------------------------------------
TEST_CASE("VFIO_IOMMU_MAP_DMA refusals", "[wire][refusals]") {
    constexpr std::string_view n = "VFIO_IOMMU_MAP_DMA";
    const auto rw = map_dma_flag::read | map_dma_flag::write;
    refused(wv::iommu_map_dma(0x1000, 0x100000, 0, rw), n, "size", EINVAL);
    refused(wv::iommu_map_dma(0x1000, max64 - 0xfff, 0x2000, rw), n, "size", EOVERFLOW);  // iova wraps
    refused(wv::iommu_map_dma(max64 - 0xfff, 0x100000, 0x2000, rw), n, "size", EOVERFLOW);  // vaddr wraps
    CHECK(wv::iommu_map_dma(max64 - 0xfff, max64 - 0xfff, 0x1000, rw).has_value());
}

TEST_CASE("VFIO_IOMMU_UNMAP_DMA refusals: plain, vaddr", "[wire][refusals]") {
    constexpr std::string_view n = "VFIO_IOMMU_UNMAP_DMA";
    refused(wv::iommu_unmap_dma(0x1000, 0), n, "size", EINVAL);
    refused(wv::iommu_unmap_dma(max64, 2), n, "size", EOVERFLOW);
    refused(wv::iommu_unmap_vaddr(0x1000, 0), n, "size", EINVAL);
    refused(wv::iommu_unmap_vaddr(max64, 2), n, "size", EOVERFLOW);
}

TEST_CASE("VFIO_IOMMU_UNMAP_DMA with a dirty bitmap, and VFIO_IOMMU_DIRTY_PAGES GET_BITMAP: every refusal",
          "[wire][refusals]") {
    std::array<u64, 2> bits{};
    std::array<u64, 1> one{};
    // The INT_MAX-page limit: 2^31 + 64 pages of 4 KiB.
    const u64 too_many_pages = ((u64{1} << 31) + 64) * 4096;
    // Both type1 dirty-bitmap builders make the same checks (detail::vfio_dirty_bitmap_bytes); each is driven
    // through all of them under its own ioctl name.
    auto every_refusal = [&](auto build, std::string_view n) {
        refused(build(0x10000, 0x1000, 0, std::span<u64>(bits)), n, "page_size", EINVAL);
        refused(build(0x10000, 0x1000, 0x1800, std::span<u64>(bits)), n, "page_size", EINVAL);
        refused(build(0x10000, 0, 0x1000, std::span<u64>(bits)), n, "size", EINVAL);
        refused(build(max64 - 0xfff, 0x2000, 0x1000, std::span<u64>(bits)), n, "size", EOVERFLOW);
        refused(build(0x10800, 0x1000, 0x1000, std::span<u64>(bits)), n, "size", EINVAL);
        refused(build(0, too_many_pages, 0x1000, std::span<u64>(bits)), n, "size", EINVAL);
        refused(build(0, 65 * 0x1000, 0x1000, std::span<u64>(one)), n, "bitmap", EINVAL);
        CHECK(build(0, 64 * 0x1000, 0x1000, std::span<u64>(one)).has_value());
    };
    SECTION("unmap_dma_dirty") {
        every_refusal([](auto... a) { return wv::iommu_unmap_dma_dirty(a...); }, "VFIO_IOMMU_UNMAP_DMA");
    }
    SECTION("dirty_pages_get_bitmap") {
        constexpr std::string_view n = "VFIO_IOMMU_DIRTY_PAGES";
        every_refusal([](auto... a) { return wv::iommu_dirty_pages_get_bitmap(a...); }, n);
        // Exactly INT_MAX pages is the kernel's maximum: the bitmap-room check comes next.
        refused(wv::iommu_dirty_pages_get_bitmap(0, u64{INT_MAX} * 4096, 0x1000, one), n, "bitmap", EINVAL);
    }
}

TEST_CASE("group refusals: SET_CONTAINER fd, GET_DEVICE_FD name", "[wire][refusals]") {
    refused(wv::group_set_container(-1), "VFIO_GROUP_SET_CONTAINER", "container_fd", EBADF);
    refused(wv::group_set_container(INT_MIN), "VFIO_GROUP_SET_CONTAINER", "container_fd", EBADF);
    CHECK(wv::group_set_container(0).has_value());
    constexpr std::string_view n = "VFIO_GROUP_GET_DEVICE_FD";
    refused(wv::group_get_device_fd(""), n, "name", EINVAL);
    refused(wv::group_get_device_fd(std::string_view("0000\0:00", 8)), n, "name", EINVAL);
    refused(wv::group_get_device_fd(std::string_view("\0", 1)), n, "name", EINVAL);
    refused(wv::group_get_device_fd<4>("abcde"), n, "name", E2BIG);
    CHECK(wv::group_get_device_fd<4>("abcd").has_value());
}

TEST_CASE("VFIO_DEVICE_SET_IRQS refusals: bools and eventfds", "[wire][refusals]") {
    constexpr std::string_view n = "VFIO_DEVICE_SET_IRQS";
    SECTION("bools") {
        wv::set_irqs_request<1> r;  // 4 bytes of trailer: 4 bools
        bool b = true;
        refused(wv::set_irqs_bools<wv::irq_mask>(r, pci_irq_index::msix, 0, fake_span<const bool>(&b, std::size_t{1} << 32)),
                n, "count", EOVERFLOW);
        std::array<bool, 2> two{true, false};
        refused(wv::set_irqs_bools<wv::irq_mask>(r, pci_irq_index::msix, 0xffffffffu, std::span<const bool>(two)), n, "start",
                EOVERFLOW);
        CHECK(wv::set_irqs_bools<wv::irq_mask>(r, pci_irq_index::msix, 0xfffffffdu, std::span<const bool>(two)).has_value());  // end 2^32 - 1
        std::array<bool, 5> five{};
        refused(wv::set_irqs_bools<wv::irq_unmask>(r, pci_irq_index::msi, 0, std::span<const bool>(five)), n, "count", E2BIG);
        CHECK(wv::set_irqs_bools<wv::irq_unmask>(r, pci_irq_index::msi, 0, std::span<const bool>(five).first(4)).has_value());
    }
    SECTION("eventfds") {
        wv::set_irqs_request<2> r;
        int fd = 3;
        refused(wv::set_irqs_eventfds<wv::irq_trigger>(r, pci_irq_index::msix, 0, fake_span<const int>(&fd, std::size_t{1} << 32)),
                n, "count", EOVERFLOW);
        std::array<int, 2> two{3, 4};
        refused(wv::set_irqs_eventfds<wv::irq_trigger>(r, pci_irq_index::msix, 0xffffffffu, std::span<const int>(two)), n, "start",
                EOVERFLOW);
        std::array<int, 3> three{3, 4, 5};
        refused(wv::set_irqs_eventfds<wv::irq_trigger>(r, pci_irq_index::msix, 0, std::span<const int>(three)), n, "count", E2BIG);
        std::array<int, 2> bad{3, -2};
        refused(wv::set_irqs_eventfds<wv::irq_unmask>(r, pci_irq_index::intx, 0, std::span<const int>(bad)), n, "data", EINVAL);
        std::array<int, 2> deassign{-1, -1};
        CHECK(wv::set_irqs_eventfds<wv::irq_trigger>(r, pci_irq_index::msix, 0, std::span<const int>(deassign)).has_value());
    }
}

TEST_CASE("VFIO_DEVICE_PCI_HOT_RESET refusals", "[wire][refusals]") {
    constexpr std::string_view n = "VFIO_DEVICE_PCI_HOT_RESET";
    wv::pci_hot_reset_request<2> r;
    refused(wv::pci_hot_reset_groups(r, std::span<const int>{}), n, "count", EINVAL);
    std::array<int, 3> three{4, 5, 6};
    refused(wv::pci_hot_reset_groups(r, std::span<const int>(three)), n, "count", E2BIG);
    std::array<int, 2> neg{4, -1};
    refused(wv::pci_hot_reset_groups(r, std::span<const int>(neg)), n, "group_fds", EBADF);
    std::array<int, 2> zero{0, 5};
    CHECK(wv::pci_hot_reset_groups(r, std::span<const int>(zero)).has_value());
}

TEST_CASE("VFIO_DEVICE_QUERY_GFX_PLANE refusals", "[wire][refusals]") {
    constexpr std::string_view n = "VFIO_DEVICE_QUERY_GFX_PLANE";
    refused(wv::device_query_gfx_plane(bitmask<gfx_plane_flag>::from_bits(0x8 | 0x2), 1), n, "flags", EINVAL);  // unknown bit
    refused(wv::device_query_gfx_plane(gfx_plane_flag::probe, 1), n, "flags", EINVAL);                          // neither
    refused(wv::device_query_gfx_plane(gfx_plane_flag::dmabuf | gfx_plane_flag::region, 1), n, "flags", EINVAL);  // both
    CHECK(wv::device_query_gfx_plane(gfx_plane_flag::region, 1).has_value());
}

TEST_CASE("VFIO_DEVICE_IOEVENTFD refusals", "[wire][refusals]") {
    constexpr std::string_view n = "VFIO_DEVICE_IOEVENTFD";
    refused(wv::device_ioeventfd<u32>(0x100, 1, -2), n, "fd", EBADF);
    CHECK(wv::device_ioeventfd<u32>(0x100, 1, -1).has_value());
    refused(wv::device_ioeventfd<u16>(max64, 1, 3), n, "offset", EOVERFLOW);  // 2 bytes from the last byte wrap
    CHECK(wv::device_ioeventfd<u8>(max64, 1, 3).has_value());                 // 1 byte ends exactly at 2^64
    refused(wv::device_ioeventfd<u64>(max64 - 6, 1, 3), n, "offset", EOVERFLOW);
    CHECK(wv::device_ioeventfd<u64>(max64 - 7, 1, 3).has_value());
}

TEST_CASE("VFIO_DEVICE_BIND_IOMMUFD refusals, with and without a token", "[wire][refusals]") {
    constexpr std::string_view n = "VFIO_DEVICE_BIND_IOMMUFD";
    refused(wv::device_bind_iommufd(-1), n, "iommufd", EBADF);
    const std::array<u8, 16> token{1};
    refused(wv::device_bind_iommufd(-3, token), n, "iommufd", EBADF);
    CHECK(wv::device_bind_iommufd(0, token).has_value());
}

// ---------------------------------------------------------------------------------------------------------------
// wire/iommufd.hpp
// ---------------------------------------------------------------------------------------------------------------
TEST_CASE("IOMMU_IOAS_MAP refusals", "[wire][refusals]") {
    constexpr std::string_view n = "IOMMU_IOAS_MAP";
    const bitmask<ioas_map_flag> r = ioas_map_flag::readable;
    refused(wi::ioas_map(1, 0x1000, 0, r), n, "length", EINVAL);
    refused(wi::ioas_map(1, max64 - 0xfff, 0x2000, r), n, "length", EOVERFLOW);
    refused(wi::ioas_map(1, 0x1000, 0x2000, r, max64 - 0xfff), n, "iova", EOVERFLOW);
    refused(wi::ioas_map(1, 0x1000, 0x1000, r | ioas_map_flag::fixed_iova, 0x100000), n, "flags", EINVAL);
    refused(wi::ioas_map(1, 0x1000, 0x1000, bitmask<ioas_map_flag>::from_bits(0x4 | 0x80)), n, "flags", EOPNOTSUPP);
    CHECK(wi::ioas_map(1, 0x1000, 0x1000, r, max64 - 0xfff).has_value());
}

TEST_CASE("IOMMU_IOAS_MAP_FILE refusals", "[wire][refusals]") {
    constexpr std::string_view n = "IOMMU_IOAS_MAP_FILE";
    const bitmask<ioas_map_flag> r = ioas_map_flag::readable;
    refused(wi::ioas_map_file(1, -1, 0, 0x1000, r), n, "fd", EBADF);
    refused(wi::ioas_map_file(1, 5, 0, 0, r), n, "length", EINVAL);
    refused(wi::ioas_map_file(1, 5, max64, 2, r), n, "length", EOVERFLOW);
    refused(wi::ioas_map_file(1, 5, 0, 0x2000, r, max64), n, "iova", EOVERFLOW);
    refused(wi::ioas_map_file(1, 5, 0, 0x1000, ioas_map_flag::fixed_iova), n, "flags", EINVAL);
    refused(wi::ioas_map_file(1, 5, 0, 0x1000, bitmask<ioas_map_flag>::from_bits(0x40)), n, "flags", EOPNOTSUPP);
    CHECK(wi::ioas_map_file(1, 0, 0, 0x1000, r).has_value());
}

TEST_CASE("IOMMU_IOAS_COPY refusals", "[wire][refusals]") {
    constexpr std::string_view n = "IOMMU_IOAS_COPY";
    const bitmask<ioas_map_flag> r = ioas_map_flag::readable;
    refused(wi::ioas_copy(2, 1, 0x1000, 0, r), n, "length", EINVAL);
    refused(wi::ioas_copy(2, 1, max64 - 0xfff, 0x2000, r), n, "src_iova", EOVERFLOW);
    refused(wi::ioas_copy(2, 1, 0x1000, 0x2000, r, max64 - 0xfff), n, "dst_iova", EOVERFLOW);
    refused(wi::ioas_copy(2, 1, 0x1000, 0x1000, ioas_map_flag::fixed_iova | ioas_map_flag::writeable), n, "flags", EINVAL);
    refused(wi::ioas_copy(2, 1, 0x1000, 0x1000, bitmask<ioas_map_flag>::from_bits(0x100)), n, "flags", EOPNOTSUPP);
    CHECK(wi::ioas_copy(2, 1, 0x1000, 0x1000, r, 0x200000).has_value());
}

TEST_CASE("IOMMU_IOAS_UNMAP, ALLOW_IOVAS and IOVA_RANGES refusals", "[wire][refusals]") {
    refused(wi::ioas_unmap(1, 0x1000, 0), "IOMMU_IOAS_UNMAP", "length", EINVAL);
    refused(wi::ioas_unmap(1, max64 - 0xfff, 0x2000), "IOMMU_IOAS_UNMAP", "length", EOVERFLOW);

    iommu_iova_range one{0x1000, 0x1fff};
    refused(wi::ioas_allow_iovas(1, fake_span<const iommu_iova_range>(&one, std::size_t{1} << 32)), "IOMMU_IOAS_ALLOW_IOVAS",
            "num_iovas", EOVERFLOW);
    std::array<iommu_iova_range, 2> ranges{{{0x1000, 0x1fff}, {0x3000, 0x2fff}}};
    refused(wi::ioas_allow_iovas(1, ranges), "IOMMU_IOAS_ALLOW_IOVAS", "allowed_iovas", EINVAL);
    ranges[1] = {0x3000, 0x3000};  // a one-byte range is fine
    CHECK(wi::ioas_allow_iovas(1, ranges).has_value());

    iommu_iova_range out{};
    refused(wi::ioas_iova_ranges(1, fake_span<iommu_iova_range>(&out, std::size_t{1} << 32)), "IOMMU_IOAS_IOVA_RANGES",
            "num_iovas", EOVERFLOW);
}

TEST_CASE("IOMMU_HWPT_ALLOC refusals, for every form", "[wire][refusals]") {
    constexpr std::string_view n = "IOMMU_HWPT_ALLOC";
    iommu_hwpt_vtd_s1 s1{};
    iommu_hwpt_arm_smmuv3 smmu{};
    wi::hwpt_data none{};
    wi::hwpt_data vtd = s1;
    // fault_id_valid by hand, without a fault_id
    refused(wi::hwpt_alloc(1, 2, hwpt_alloc_flag::fault_id_valid), n, "flags", EINVAL);
    refused(wi::hwpt_alloc(1, 2, hwpt_alloc_flag::fault_id_valid, s1), n, "flags", EINVAL);
    refused(wi::hwpt_alloc(1, 2, hwpt_alloc_flag::fault_id_valid, none), n, "flags", EINVAL);
    CHECK(wi::hwpt_alloc(1, 2, hwpt_alloc_flag::fault_id_valid, std::optional<u32>{7}).has_value());
    // vendor data with nest_parent or dirty_tracking
    refused(wi::hwpt_alloc(1, 2, hwpt_alloc_flag::nest_parent, s1), n, "flags", EOPNOTSUPP);
    refused(wi::hwpt_alloc(1, 2, hwpt_alloc_flag::dirty_tracking, smmu), n, "flags", EOPNOTSUPP);
    refused(wi::hwpt_alloc(1, 2, hwpt_alloc_flag::dirty_tracking, vtd), n, "flags", EOPNOTSUPP);
    CHECK(wi::hwpt_alloc(1, 2, hwpt_alloc_flag::nest_parent | hwpt_alloc_flag::dirty_tracking).has_value());
    CHECK(wi::hwpt_alloc(1, 2, hwpt_alloc_flag::nest_parent, none).has_value());
}

TEST_CASE("IOMMU_HWPT_INVALIDATE refusals: entry count past u32, entry bytes past u32", "[wire][refusals]") {
    constexpr std::string_view n = "IOMMU_HWPT_INVALIDATE";
    iommu_hwpt_vtd_s1_invalidate e{};
    refused(wi::hwpt_invalidate(1, fake_span<const iommu_hwpt_vtd_s1_invalidate>(&e, std::size_t{1} << 32)), n, "entry_num",
            EOVERFLOW);
    // 24-byte entries: 0xffffffff / 24 + 1 of them is more than 4 GiB.
    refused(wi::hwpt_invalidate(1, fake_span<const iommu_hwpt_vtd_s1_invalidate>(&e, 0xffffffffu / 24 + 1)), n, "entry_num",
            EOVERFLOW);
    CHECK(wi::hwpt_invalidate(1, fake_span<const iommu_hwpt_vtd_s1_invalidate>(&e, 0xffffffffu / 24)).has_value());
}

TEST_CASE("IOMMU_HWPT_GET_DIRTY_BITMAP refusals", "[wire][refusals]") {
    constexpr std::string_view n = "IOMMU_HWPT_GET_DIRTY_BITMAP";
    std::array<u64, 2> bits{};
    refused(wi::hwpt_get_dirty_bitmap(1, 0, 0x1000, 0, bits), n, "page_size", EINVAL);
    refused(wi::hwpt_get_dirty_bitmap(1, 0, 0x3000, 0x3000, bits), n, "page_size", EINVAL);
    refused(wi::hwpt_get_dirty_bitmap(1, 0, 0, 0x1000, bits), n, "length", EINVAL);
    refused(wi::hwpt_get_dirty_bitmap(1, max64 - 0xfff, 0x2000, 0x1000, bits), n, "length", EOVERFLOW);
    refused(wi::hwpt_get_dirty_bitmap(1, 0x1800, 0x1000, 0x1000, bits), n, "length", EINVAL);
    refused(wi::hwpt_get_dirty_bitmap(1, 0, 129 * 0x1000, 0x1000, bits), n, "bitmap", EINVAL);
    CHECK(wi::hwpt_get_dirty_bitmap(1, 0, 128 * 0x1000, 0x1000, bits).has_value());
}

TEST_CASE("IOMMU_VEVENTQ_ALLOC, IOMMU_HW_QUEUE_ALLOC and IOMMU_IOAS_NOIOMMU_GET_PA refusals", "[wire][refusals]") {
    refused(wi::veventq_alloc(1, veventq_type::default_, 8), "IOMMU_VEVENTQ_ALLOC", "type", EOPNOTSUPP);
    refused(wi::veventq_alloc(1, veventq_type::default_, 0), "IOMMU_VEVENTQ_ALLOC", "type", EOPNOTSUPP);  // type first
    refused(wi::veventq_alloc(1, veventq_type::arm_smmuv3, 0), "IOMMU_VEVENTQ_ALLOC", "veventq_depth", EINVAL);
    CHECK(wi::veventq_alloc(1, veventq_type::arm_smmuv3, 1).has_value());

    refused(wi::hw_queue_alloc(1, hw_queue_type::tegra241_cmdqv, 0, 0x1000, 0), "IOMMU_HW_QUEUE_ALLOC", "length", EINVAL);
    refused(wi::hw_queue_alloc(1, hw_queue_type::tegra241_cmdqv, 0, max64 - 0xfff, 0x2000), "IOMMU_HW_QUEUE_ALLOC", "length",
            EOVERFLOW);

    refused(wi::ioas_noiommu_get_pa(1, 0x1000, 0), "IOMMU_IOAS_NOIOMMU_GET_PA", "length", EINVAL);
    refused(wi::ioas_noiommu_get_pa(1, max64 - 0xfff, 0x2000), "IOMMU_IOAS_NOIOMMU_GET_PA", "length", EOVERFLOW);
}

// ---------------------------------------------------------------------------------------------------------------
// wire/nesting.hpp
// ---------------------------------------------------------------------------------------------------------------
TEST_CASE("VFIO_IOMMU_PASID_REQUEST refusals in both revisions", "[wire][refusals][proposal]") {
    constexpr std::string_view n = "VFIO_IOMMU_PASID_REQUEST";
    refused(wire::pasid_alloc<abi::v7>({2, 1}), n, "range", EINVAL);
    refused(wire::pasid_alloc<abi::v7>({1, 0x80000000u}), n, "range", EINVAL);
    CHECK(wire::pasid_alloc<abi::v7>({0x7fffffffu, 0x7fffffffu}).has_value());
    refused(wire::pasid_free<abi::v7>({2, 1}), n, "range", EINVAL);
    refused(wire::pasid_free<abi::v7>({0, 0x80000000u}), n, "range", EINVAL);
    refused(wire::pasid_alloc<abi::seed>({2, 1}), n, "range", EINVAL);
    CHECK(wire::pasid_alloc<abi::seed>({1, 0xffffffffu}).has_value());
}
