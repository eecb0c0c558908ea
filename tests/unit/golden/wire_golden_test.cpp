// Golden tests: every request image equals, byte for byte, what C code filling the kernel's own struct produces
// (golden.c, compiled as C against the 7.3 uapi headers; the proposal's layouts restated in C).
#include <vfiopp/wire/requests.hpp>
#include <vfiopp/wire/trailer.hpp>

#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <vector>

extern "C" {
std::size_t golden_set_irqs_eventfds(void*, std::uint32_t, std::uint32_t, const std::int32_t*, std::uint32_t);
std::size_t golden_feature_set_mig_state(void*, std::uint32_t);
std::size_t golden_pci_hot_reset(void*, const std::int32_t*, std::uint32_t);
std::size_t golden_map_dma(void*, std::uint64_t, std::uint64_t, std::uint64_t);
std::size_t golden_hwpt_alloc_vtd(void*, std::uint32_t, std::uint32_t, const void*);
std::size_t golden_hwpt_invalidate_vtd(void*, std::uint32_t, const void*, std::uint32_t);
std::size_t golden_seed_nesting_op(void*, std::uint32_t, const void*, std::size_t);
std::size_t golden_v7_nesting_op(void*, std::uint32_t, const void*, std::size_t);
std::size_t golden_unmap_dma_dirty(void*, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t*);
std::size_t golden_dirty_pages_get(void*, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t*);
std::size_t golden_attach_pt(void*, std::uint32_t, std::int64_t);
std::size_t golden_detach_pt(void*, std::int64_t);
std::size_t golden_hwpt_get_dirty_bitmap(void*, std::uint32_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t*);
std::size_t golden_get_hw_info_vtd(void*, std::uint32_t, void*);
std::size_t golden_group_get_device_fd(void*, const char*);
std::size_t golden_v7_pasid_request(void*, int, std::uint32_t, std::uint32_t);
}

using namespace vfiopp;
using namespace vfiopp::uapi;
namespace wv = vfiopp::wire::vfio;

namespace {
template <typename Req>
std::vector<std::byte> image(const Req& r) {
    return {r.bytes().begin(), r.bytes().end()};
}
std::vector<std::byte> c_image(std::size_t (*fill)(void*)) {
    alignas(8) std::byte buf[512]{};
    std::size_t n = fill(buf);
    return {buf, buf + n};
}
}  // namespace

TEST_CASE("golden: VFIO_DEVICE_SET_IRQS eventfds", "[golden]") {
    static const std::int32_t fds[] = {11, -1, 13};
    wv::set_irqs_request<3> r;
    REQUIRE(wv::set_irqs_eventfds<wv::irq_trigger>(r, pci_irq_index::msix, 1, std::span<const int>(fds)).has_value());
    CHECK(image(r) == c_image([](void* b) { return golden_set_irqs_eventfds(b, 2, 1, fds, 3); }));
}

TEST_CASE("golden: VFIO_DEVICE_FEATURE SET mig_device_state", "[golden]") {
    vfio_device_feature_mig_state st{};
    st.device_state = device_mig_state::stop_copy;
    st.data_fd = -1;
    CHECK(image(wv::feature_set(st)) == c_image([](void* b) { return golden_feature_set_mig_state(b, 3); }));
}

TEST_CASE("golden: VFIO_DEVICE_PCI_HOT_RESET group fds", "[golden]") {
    static const std::int32_t fds[] = {7, 9};
    wv::pci_hot_reset_request<2> r;
    REQUIRE(wv::pci_hot_reset_groups(r, std::span<const int>(fds)).has_value());
    CHECK(image(r) == c_image([](void* b) { return golden_pci_hot_reset(b, fds, 2); }));
    CHECK(image(wv::pci_hot_reset_devid()) == c_image([](void* b) { return golden_pci_hot_reset(b, nullptr, 0); }));
}

TEST_CASE("golden: VFIO_IOMMU_MAP_DMA", "[golden]") {
    auto r = wv::iommu_map_dma(0x7f0012340000, 0x100000, 0x200000, map_dma_flag::read | map_dma_flag::write);
    REQUIRE(r.has_value());
    CHECK(image(*r) == c_image([](void* b) { return golden_map_dma(b, 0x7f0012340000, 0x100000, 0x200000); }));
}

TEST_CASE("golden: IOMMU_HWPT_ALLOC VT-d S1 and IOMMU_HWPT_INVALIDATE", "[golden]") {
    static iommu_hwpt_vtd_s1 s1{};
    s1.pgtbl_addr = 0xabc000;
    s1.addr_width = 48;
    static wire::iommufd::hwpt_data data = s1;
    auto a = wire::iommufd::hwpt_alloc(5, 6, {}, data);
    REQUIRE(a.has_value());
    CHECK(image(*a) == c_image([](void* b) { return golden_hwpt_alloc_vtd(b, 5, 6, &std::get<iommu_hwpt_vtd_s1>(data)); }));
    static std::array<iommu_hwpt_vtd_s1_invalidate, 2> e{};
    auto i = wire::iommufd::hwpt_invalidate(8, e);
    REQUIRE(i.has_value());
    CHECK(image(*i) == c_image([](void* b) { return golden_hwpt_invalidate_vtd(b, 8, e.data(), 2); }));
}

TEST_CASE("golden: VFIO_IOMMU_NESTING_OP seed and v7", "[golden]") {
    static iommu_cache_invalidate_info inv{};
    inv.argsz = sizeof inv;
    inv.version = 1;
    inv.granularity = iommu_inv_granularity{2};
    static iommu_gpasid_bind_data bind{};
    bind.argsz = sizeof bind;
    bind.version = 1;
    bind.hpasid = 0x42;
    CHECK(image(wire::nesting_op<abi::seed>(wire::cache_invalidate{inv})) ==
          c_image([](void* b) { return golden_seed_nesting_op(b, 2, &inv, sizeof inv); }));
    CHECK(image(wire::nesting_op<abi::v7>(wire::cache_invalidate{inv})) ==
          c_image([](void* b) { return golden_v7_nesting_op(b, 2, &inv, sizeof inv); }));
    CHECK(image(wire::nesting_op<abi::seed>(wire::bind_pgtbl{bind})) ==
          c_image([](void* b) { return golden_seed_nesting_op(b, 0, &bind, sizeof bind); }));
    CHECK(image(wire::nesting_op<abi::v7>(wire::unbind_pgtbl{bind})) ==
          c_image([](void* b) { return golden_v7_nesting_op(b, 1, &bind, sizeof bind); }));
}

TEST_CASE("golden: VFIO_IOMMU_UNMAP_DMA with GET_DIRTY_BITMAP and VFIO_IOMMU_DIRTY_PAGES GET_BITMAP", "[golden]") {
    static std::array<u64, 2> bits{};
    // 65 pages of 4 KiB: the bitmap is 2 u64 words = 16 bytes.
    auto u = wv::iommu_unmap_dma_dirty(0x10000, 65 * 4096, 4096, bits);
    REQUIRE(u.has_value());
    CHECK(image(*u) == c_image([](void* b) { return golden_unmap_dma_dirty(b, 0x10000, 65 * 4096, 4096, 16, bits.data()); }));
    auto g = wv::iommu_dirty_pages_get_bitmap(0x10000, 65 * 4096, 4096, bits);
    REQUIRE(g.has_value());
    CHECK(image(*g) == c_image([](void* b) { return golden_dirty_pages_get(b, 0x10000, 65 * 4096, 4096, 16, bits.data()); }));
}

TEST_CASE("golden: VFIO_DEVICE_ATTACH/DETACH_IOMMUFD_PT with and without PASID", "[golden]") {
    CHECK(image(wv::device_attach_iommufd_pt(9)) == c_image([](void* b) { return golden_attach_pt(b, 9, -1); }));
    CHECK(image(wv::device_attach_iommufd_pt(9, 0x55)) == c_image([](void* b) { return golden_attach_pt(b, 9, 0x55); }));
    CHECK(image(wv::device_detach_iommufd_pt()) == c_image([](void* b) { return golden_detach_pt(b, -1); }));
    CHECK(image(wv::device_detach_iommufd_pt(0x55)) == c_image([](void* b) { return golden_detach_pt(b, 0x55); }));
}

TEST_CASE("golden: IOMMU_HWPT_GET_DIRTY_BITMAP and IOMMU_GET_HW_INFO", "[golden]") {
    static std::array<u64, 2> bits{};
    auto g = wire::iommufd::hwpt_get_dirty_bitmap(4, 0x100000, 128 * 4096, 4096, bits, true);
    REQUIRE(g.has_value());
    CHECK(image(*g) == c_image([](void* b) { return golden_hwpt_get_dirty_bitmap(b, 4, 0x100000, 128 * 4096, 4096, bits.data()); }));
    static iommu_hw_info_vtd vtd{};
    CHECK(image(wire::iommufd::get_hw_info(3, vtd)) == c_image([](void* b) { return golden_get_hw_info_vtd(b, 3, &vtd); }));
}

TEST_CASE("golden: VFIO_GROUP_GET_DEVICE_FD name and v7 VFIO_IOMMU_PASID_REQUEST", "[golden]") {
    auto d = wv::group_get_device_fd("0000:00:04.0");
    REQUIRE(d.has_value());
    CHECK(image(*d) == c_image([](void* b) { return golden_group_get_device_fd(b, "0000:00:04.0"); }));
    auto a = wire::pasid_alloc<abi::v7>({1, 1000});
    REQUIRE(a.has_value());
    CHECK(image(*a) == c_image([](void* b) { return golden_v7_pasid_request(b, 1, 1, 1000); }));
    auto f = wire::pasid_free<abi::v7>({5, 5});
    REQUIRE(f.has_value());
    CHECK(image(*f) == c_image([](void* b) { return golden_v7_pasid_request(b, 0, 5, 5); }));
}
