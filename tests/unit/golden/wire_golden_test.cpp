// Golden tests: every request image equals, byte for byte, what C code filling the kernel's own struct produces
// (golden.c, compiled as C against the 7.3 uapi headers; the proposal's layouts restated in C).
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
