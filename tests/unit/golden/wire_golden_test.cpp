// Golden tests: every request image equals, byte for byte, what C code filling the kernel's own struct produces
// (golden.c, compiled as C against the 7.3 uapi headers; the proposal's layouts restated in C).
#include <vfiopp/wire/builders.hpp>
#include <vfiopp/wire/iommufd.hpp>
#include <vfiopp/wire/nesting.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <utility>
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
// golden_all.c
unsigned long golden_code_of(const char*, const char*, std::size_t);
unsigned long golden_arg_check_extension_type1v2();
unsigned long golden_arg_set_iommu_type1v2();
unsigned long golden_arg_none();
std::size_t golden_iommu_get_info(void*);
std::size_t golden_unmap_dma(void*, std::uint32_t, std::uint64_t, std::uint64_t);
std::size_t golden_dirty_pages(void*, std::uint32_t);
std::uint32_t golden_dirty_pages_start_flag();
std::uint32_t golden_dirty_pages_stop_flag();
std::uint32_t golden_unmap_all_flag();
std::uint32_t golden_unmap_vaddr_flag();
std::size_t golden_group_get_status(void*);
std::size_t golden_group_set_container(void*, int);
std::size_t golden_device_get_info(void*);
std::size_t golden_device_get_region_info(void*, std::uint32_t);
std::size_t golden_device_get_irq_info(void*, std::uint32_t);
std::size_t golden_set_irqs_unmask_none(void*, std::uint32_t, std::uint32_t, std::uint32_t);
std::size_t golden_set_irqs_mask_bools(void*, std::uint32_t, std::uint32_t, const std::uint8_t*, std::uint32_t);
std::size_t golden_pci_hot_reset_info(void*, std::uint32_t);
std::size_t golden_query_gfx_plane_dmabuf(void*, std::uint32_t);
std::size_t golden_get_gfx_dmabuf(void*, std::uint32_t);
std::size_t golden_ioeventfd16(void*, std::uint64_t, std::uint16_t, std::int32_t);
std::size_t golden_feature_probe_low_power_exit(void*);
std::size_t golden_feature_set_bus_master(void*, std::uint32_t);
std::size_t golden_bind_iommufd(void*, std::int32_t, const std::uint8_t*);
std::size_t golden_mig_get_precopy_info(void*);
std::size_t golden_destroy(void*, std::uint32_t);
std::size_t golden_ioas_alloc(void*);
std::size_t golden_ioas_allow_iovas(void*, std::uint32_t, const void*, std::uint32_t);
std::size_t golden_ioas_copy(void*, std::uint32_t, std::uint32_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::size_t golden_ioas_iova_ranges(void*, std::uint32_t);
std::size_t golden_ioas_map(void*, std::uint32_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::size_t golden_ioas_map_file(void*, std::uint32_t, std::int32_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::size_t golden_ioas_unmap(void*, std::uint32_t, std::uint64_t, std::uint64_t);
std::size_t golden_option(void*, int, std::uint32_t, std::uint64_t);
std::size_t golden_vfio_ioas(void*, int, std::uint32_t);
std::size_t golden_hwpt_set_dirty_tracking(void*, std::uint32_t, int);
std::size_t golden_fault_queue_alloc(void*);
std::size_t golden_viommu_alloc_smmuv3(void*, std::uint32_t, std::uint32_t);
std::size_t golden_viommu_alloc_tegra(void*, std::uint32_t, std::uint32_t, void*);
std::size_t golden_vdevice_alloc(void*, std::uint32_t, std::uint32_t, std::uint64_t);
std::size_t golden_ioas_change_process(void*);
std::size_t golden_veventq_alloc_smmuv3(void*, std::uint32_t, std::uint32_t);
std::size_t golden_hw_queue_alloc_tegra(void*, std::uint32_t, std::uint32_t, std::uint64_t, std::uint64_t);
std::size_t golden_ioas_noiommu_get_pa(void*, std::uint32_t, std::uint64_t, std::uint64_t);
std::size_t golden_seed_pasid_alloc(void*, std::uint32_t, std::uint32_t);
std::size_t golden_seed_pasid_free(void*, std::uint32_t);
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

/// The ioctls (abi, kernel name) that have a golden case below; filled at static initialisation by GOLDEN_COVERS,
/// which sits next to each TEST_CASE, so the list cannot drift from the cases.
std::set<std::pair<uapi::abi_kind, std::string>>& covered() {
    static std::set<std::pair<uapi::abi_kind, std::string>> s;
    return s;
}
bool covers(uapi::abi_kind abi, std::string_view name) {
    covered().emplace(abi, std::string(name));
    return true;
}
constexpr const char* abi_name(uapi::abi_kind a) {
    switch (a) {
        case uapi::abi_kind::mainline: return "mainline";
        case uapi::abi_kind::seed: return "seed";
        case uapi::abi_kind::v7: return "v7";
    }
    return "?";
}

/// A value/no-argument request as C issues it: (ioctl code, integer third argument).
template <typename Req>
std::pair<unsigned long, unsigned long> value_call(const Req& r) {
    return {Req::ioctl.code, reinterpret_cast<unsigned long>(r.ioctl_arg())};
}
/// The kernel's macro for a mainline ioctl, from the C side.
unsigned long kernel_code(std::string_view name) { return golden_code_of("mainline", name.data(), name.size()); }
}  // namespace

#define GOLDEN_CAT2(a, b) a##b
#define GOLDEN_CAT(a, b) GOLDEN_CAT2(a, b)
/// Registers one ioctl as having a golden case (use it next to the TEST_CASE that compares its image).
#define GOLDEN_COVERS(abi, name) \
    [[maybe_unused]] static const bool GOLDEN_CAT(golden_covers_, __LINE__) = covers(uapi::abi_kind::abi, name)

GOLDEN_COVERS(mainline, "VFIO_DEVICE_SET_IRQS");
TEST_CASE("golden: VFIO_DEVICE_SET_IRQS eventfds", "[golden]") {
    static const std::int32_t fds[] = {11, -1, 13};
    wv::set_irqs_request<3> r;
    REQUIRE(wv::set_irqs_eventfds<wv::irq_trigger>(r, pci_irq_index::msix, 1, std::span<const int>(fds)).has_value());
    CHECK(image(r) == c_image([](void* b) { return golden_set_irqs_eventfds(b, 2, 1, fds, 3); }));
}

GOLDEN_COVERS(mainline, "VFIO_DEVICE_FEATURE");
TEST_CASE("golden: VFIO_DEVICE_FEATURE SET mig_device_state", "[golden]") {
    vfio_device_feature_mig_state st{};
    st.device_state = device_mig_state::stop_copy;
    st.data_fd = -1;
    CHECK(image(wv::feature_set(st)) == c_image([](void* b) { return golden_feature_set_mig_state(b, 3); }));
}

GOLDEN_COVERS(mainline, "VFIO_DEVICE_PCI_HOT_RESET");
TEST_CASE("golden: VFIO_DEVICE_PCI_HOT_RESET group fds", "[golden]") {
    static const std::int32_t fds[] = {7, 9};
    wv::pci_hot_reset_request<2> r;
    REQUIRE(wv::pci_hot_reset_groups(r, std::span<const int>(fds)).has_value());
    CHECK(image(r) == c_image([](void* b) { return golden_pci_hot_reset(b, fds, 2); }));
    CHECK(image(wv::pci_hot_reset_devid()) == c_image([](void* b) { return golden_pci_hot_reset(b, nullptr, 0); }));
}

GOLDEN_COVERS(mainline, "VFIO_IOMMU_MAP_DMA");
TEST_CASE("golden: VFIO_IOMMU_MAP_DMA", "[golden]") {
    auto r = wv::iommu_map_dma(0x7f0012340000, 0x100000, 0x200000, map_dma_flag::read | map_dma_flag::write);
    REQUIRE(r.has_value());
    CHECK(image(*r) == c_image([](void* b) { return golden_map_dma(b, 0x7f0012340000, 0x100000, 0x200000); }));
}

GOLDEN_COVERS(mainline, "IOMMU_HWPT_ALLOC");
GOLDEN_COVERS(mainline, "IOMMU_HWPT_INVALIDATE");
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

GOLDEN_COVERS(seed, "VFIO_IOMMU_NESTING_OP");
GOLDEN_COVERS(v7, "VFIO_IOMMU_NESTING_OP");
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

GOLDEN_COVERS(mainline, "VFIO_IOMMU_UNMAP_DMA");
GOLDEN_COVERS(mainline, "VFIO_IOMMU_DIRTY_PAGES");
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

GOLDEN_COVERS(mainline, "VFIO_DEVICE_ATTACH_IOMMUFD_PT");
GOLDEN_COVERS(mainline, "VFIO_DEVICE_DETACH_IOMMUFD_PT");
TEST_CASE("golden: VFIO_DEVICE_ATTACH/DETACH_IOMMUFD_PT with and without PASID", "[golden]") {
    CHECK(image(wv::device_attach_iommufd_pt(9)) == c_image([](void* b) { return golden_attach_pt(b, 9, -1); }));
    CHECK(image(wv::device_attach_iommufd_pt(9, 0x55)) == c_image([](void* b) { return golden_attach_pt(b, 9, 0x55); }));
    CHECK(image(wv::device_detach_iommufd_pt()) == c_image([](void* b) { return golden_detach_pt(b, -1); }));
    CHECK(image(wv::device_detach_iommufd_pt(0x55)) == c_image([](void* b) { return golden_detach_pt(b, 0x55); }));
}

GOLDEN_COVERS(mainline, "IOMMU_HWPT_GET_DIRTY_BITMAP");
GOLDEN_COVERS(mainline, "IOMMU_GET_HW_INFO");
TEST_CASE("golden: IOMMU_HWPT_GET_DIRTY_BITMAP and IOMMU_GET_HW_INFO", "[golden]") {
    static std::array<u64, 2> bits{};
    auto g = wire::iommufd::hwpt_get_dirty_bitmap(4, 0x100000, 128 * 4096, 4096, bits, true);
    REQUIRE(g.has_value());
    CHECK(image(*g) == c_image([](void* b) { return golden_hwpt_get_dirty_bitmap(b, 4, 0x100000, 128 * 4096, 4096, bits.data()); }));
    static iommu_hw_info_vtd vtd{};
    CHECK(image(wire::iommufd::get_hw_info(3, vtd)) == c_image([](void* b) { return golden_get_hw_info_vtd(b, 3, &vtd); }));
}

GOLDEN_COVERS(mainline, "VFIO_GROUP_GET_DEVICE_FD");
GOLDEN_COVERS(v7, "VFIO_IOMMU_PASID_REQUEST");
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

// ---- value / no-argument ioctls: the code and the integer third argument, against the kernel's macros ----
GOLDEN_COVERS(mainline, "VFIO_GET_API_VERSION");
GOLDEN_COVERS(mainline, "VFIO_CHECK_EXTENSION");
GOLDEN_COVERS(mainline, "VFIO_SET_IOMMU");
GOLDEN_COVERS(mainline, "VFIO_IOMMU_ENABLE");
GOLDEN_COVERS(mainline, "VFIO_IOMMU_DISABLE");
GOLDEN_COVERS(mainline, "VFIO_GROUP_UNSET_CONTAINER");
GOLDEN_COVERS(mainline, "VFIO_DEVICE_RESET");
TEST_CASE("golden: value and no-argument ioctls (code and argument)", "[golden]") {
    using call = std::pair<unsigned long, unsigned long>;
    CHECK(value_call(wv::get_api_version()) == call{kernel_code("VFIO_GET_API_VERSION"), golden_arg_none()});
    CHECK(value_call(wv::check_extension(extension::type1v2_iommu)) ==
          call{kernel_code("VFIO_CHECK_EXTENSION"), golden_arg_check_extension_type1v2()});
    CHECK(value_call(wv::set_iommu(extension::type1v2_iommu)) == call{kernel_code("VFIO_SET_IOMMU"), golden_arg_set_iommu_type1v2()});
    CHECK(value_call(wv::iommu_enable()) == call{kernel_code("VFIO_IOMMU_ENABLE"), golden_arg_none()});
    CHECK(value_call(wv::iommu_disable()) == call{kernel_code("VFIO_IOMMU_DISABLE"), golden_arg_none()});
    CHECK(value_call(wv::group_unset_container()) == call{kernel_code("VFIO_GROUP_UNSET_CONTAINER"), golden_arg_none()});
    CHECK(value_call(wv::device_reset()) == call{kernel_code("VFIO_DEVICE_RESET"), golden_arg_none()});
}

// ---- vfio container ----
GOLDEN_COVERS(mainline, "VFIO_IOMMU_GET_INFO");
TEST_CASE("golden: VFIO_IOMMU_GET_INFO", "[golden]") {
    CHECK(image(wv::iommu_get_info()) == c_image([](void* b) { return golden_iommu_get_info(b); }));
    // With room for a capability chain the image (argsz) still starts at sizeof(struct).
    CHECK(image(wv::iommu_get_info<512>()) == c_image([](void* b) { return golden_iommu_get_info(b); }));
}

TEST_CASE("golden: VFIO_IOMMU_UNMAP_DMA plain, UNMAP_ALL and VADDR", "[golden]") {
    auto u = wv::iommu_unmap_dma(0x100000, 0x200000);
    REQUIRE(u.has_value());
    CHECK(image(*u) == c_image([](void* b) { return golden_unmap_dma(b, 0, 0x100000, 0x200000); }));
    CHECK(image(wv::iommu_unmap_all()) == c_image([](void* b) { return golden_unmap_dma(b, golden_unmap_all_flag(), 0, 0); }));
    auto v = wv::iommu_unmap_vaddr(0x100000, 0x200000);
    REQUIRE(v.has_value());
    CHECK(image(*v) == c_image([](void* b) { return golden_unmap_dma(b, golden_unmap_vaddr_flag(), 0x100000, 0x200000); }));
}

TEST_CASE("golden: VFIO_IOMMU_DIRTY_PAGES START and STOP", "[golden]") {
    CHECK(image(wv::iommu_dirty_pages_start()) == c_image([](void* b) { return golden_dirty_pages(b, golden_dirty_pages_start_flag()); }));
    CHECK(image(wv::iommu_dirty_pages_stop()) == c_image([](void* b) { return golden_dirty_pages(b, golden_dirty_pages_stop_flag()); }));
}

// ---- vfio group ----
GOLDEN_COVERS(mainline, "VFIO_GROUP_GET_STATUS");
GOLDEN_COVERS(mainline, "VFIO_GROUP_SET_CONTAINER");
TEST_CASE("golden: VFIO_GROUP_GET_STATUS and VFIO_GROUP_SET_CONTAINER", "[golden]") {
    CHECK(image(wv::group_get_status()) == c_image([](void* b) { return golden_group_get_status(b); }));
    auto s = wv::group_set_container(17);
    REQUIRE(s.has_value());
    CHECK(image(*s) == c_image([](void* b) { return golden_group_set_container(b, 17); }));
}

// ---- vfio device ----
GOLDEN_COVERS(mainline, "VFIO_DEVICE_GET_INFO");
GOLDEN_COVERS(mainline, "VFIO_DEVICE_GET_REGION_INFO");
GOLDEN_COVERS(mainline, "VFIO_DEVICE_GET_IRQ_INFO");
TEST_CASE("golden: VFIO_DEVICE_GET_INFO, GET_REGION_INFO, GET_IRQ_INFO", "[golden]") {
    CHECK(image(wv::device_get_info()) == c_image([](void* b) { return golden_device_get_info(b); }));
    CHECK(image(wv::device_get_info<256>()) == c_image([](void* b) { return golden_device_get_info(b); }));
    CHECK(image(wv::device_get_region_info(pci_region_index::bar2)) ==
          c_image([](void* b) { return golden_device_get_region_info(b, 2); }));
    CHECK(image(wv::device_get_region_info<1024>(7u)) == c_image([](void* b) { return golden_device_get_region_info(b, 7); }));
    CHECK(image(wv::device_get_irq_info(pci_irq_index::msix)) == c_image([](void* b) { return golden_device_get_irq_info(b, 2); }));
}

TEST_CASE("golden: VFIO_DEVICE_SET_IRQS DATA_NONE unmask and DATA_BOOL mask", "[golden]") {
    CHECK(image(wv::set_irqs_none<wv::irq_unmask>(pci_irq_index::intx, 0, 1)) ==
          c_image([](void* b) { return golden_set_irqs_unmask_none(b, 0, 0, 1); }));
    static const bool bools[] = {true, false, true};
    static const std::uint8_t bytes[] = {1, 0, 1};
    wv::set_irqs_request<3> r;
    REQUIRE(wv::set_irqs_bools<wv::irq_mask>(r, pci_irq_index::msix, 4, std::span<const bool>(bools)).has_value());
    CHECK(image(r) == c_image([](void* b) { return golden_set_irqs_mask_bools(b, 2, 4, bytes, 3); }));
}

GOLDEN_COVERS(mainline, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO");
TEST_CASE("golden: VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", "[golden]") {
    CHECK(image(wv::device_get_pci_hot_reset_info<4>()) == c_image([](void* b) { return golden_pci_hot_reset_info(b, 4); }));
    CHECK(image(wv::device_get_pci_hot_reset_info<1>()) == c_image([](void* b) { return golden_pci_hot_reset_info(b, 1); }));
}

GOLDEN_COVERS(mainline, "VFIO_DEVICE_QUERY_GFX_PLANE");
GOLDEN_COVERS(mainline, "VFIO_DEVICE_GET_GFX_DMABUF");
TEST_CASE("golden: VFIO_DEVICE_QUERY_GFX_PLANE and VFIO_DEVICE_GET_GFX_DMABUF", "[golden]") {
    auto q = wv::device_query_gfx_plane(gfx_plane_flag::probe | gfx_plane_flag::dmabuf, 1);
    REQUIRE(q.has_value());
    CHECK(image(*q) == c_image([](void* b) { return golden_query_gfx_plane_dmabuf(b, 1); }));
    CHECK(image(wv::device_get_gfx_dmabuf(0x1234)) == c_image([](void* b) { return golden_get_gfx_dmabuf(b, 0x1234); }));
}

GOLDEN_COVERS(mainline, "VFIO_DEVICE_IOEVENTFD");
TEST_CASE("golden: VFIO_DEVICE_IOEVENTFD 16-bit", "[golden]") {
    auto e = wv::device_ioeventfd<u16>(0x10000000040, 0xbeef, 23);
    REQUIRE(e.has_value());
    CHECK(image(*e) == c_image([](void* b) { return golden_ioeventfd16(b, 0x10000000040, 0xbeef, 23); }));
    auto rm = wv::device_ioeventfd<u16>(0x40, 0, -1);
    REQUIRE(rm.has_value());
    CHECK(image(*rm) == c_image([](void* b) { return golden_ioeventfd16(b, 0x40, 0, -1); }));
}

TEST_CASE("golden: VFIO_DEVICE_FEATURE PROBE low_power_exit and SET bus_master", "[golden]") {
    CHECK(image(wv::feature_probe<wv::low_power_exit>()) == c_image([](void* b) { return golden_feature_probe_low_power_exit(b); }));
    vfio_device_feature_bus_master bm{};
    bm.op = bus_master_op::set_master;
    CHECK(image(wv::feature_set(bm)) == c_image([](void* b) { return golden_feature_set_bus_master(b, 1); }));
}

GOLDEN_COVERS(mainline, "VFIO_DEVICE_BIND_IOMMUFD");
TEST_CASE("golden: VFIO_DEVICE_BIND_IOMMUFD with and without VF token", "[golden]") {
    auto r = wv::device_bind_iommufd(5);
    REQUIRE(r.has_value());
    CHECK(image(*r) == c_image([](void* b) { return golden_bind_iommufd(b, 5, nullptr); }));
    static const std::array<u8, 16> token{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    auto t = wv::device_bind_iommufd(5, token);
    REQUIRE(t.has_value());
    CHECK(image(*t) == c_image([](void* b) { return golden_bind_iommufd(b, 5, token.data()); }));
}

GOLDEN_COVERS(mainline, "VFIO_MIG_GET_PRECOPY_INFO");
TEST_CASE("golden: VFIO_MIG_GET_PRECOPY_INFO", "[golden]") {
    CHECK(image(wv::mig_get_precopy_info()) == c_image([](void* b) { return golden_mig_get_precopy_info(b); }));
}

// ---- iommufd ----
namespace wi = vfiopp::wire::iommufd;

GOLDEN_COVERS(mainline, "IOMMU_DESTROY");
GOLDEN_COVERS(mainline, "IOMMU_IOAS_ALLOC");
GOLDEN_COVERS(mainline, "IOMMU_IOAS_IOVA_RANGES");
GOLDEN_COVERS(mainline, "IOMMU_IOAS_CHANGE_PROCESS");
GOLDEN_COVERS(mainline, "IOMMU_FAULT_QUEUE_ALLOC");
TEST_CASE("golden: IOMMU_DESTROY, IOAS_ALLOC, IOAS_IOVA_RANGES, IOAS_CHANGE_PROCESS, FAULT_QUEUE_ALLOC", "[golden]") {
    CHECK(image(wi::destroy(42)) == c_image([](void* b) { return golden_destroy(b, 42); }));
    CHECK(image(wi::ioas_alloc()) == c_image([](void* b) { return golden_ioas_alloc(b); }));
    CHECK(image(wi::ioas_iova_ranges(3, {}).value()) == c_image([](void* b) { return golden_ioas_iova_ranges(b, 3); }));
    CHECK(image(wi::ioas_change_process()) == c_image([](void* b) { return golden_ioas_change_process(b); }));
    CHECK(image(wi::fault_queue_alloc()) == c_image([](void* b) { return golden_fault_queue_alloc(b); }));
}

GOLDEN_COVERS(mainline, "IOMMU_IOAS_ALLOW_IOVAS");
TEST_CASE("golden: IOMMU_IOAS_ALLOW_IOVAS", "[golden]") {
    static const std::array<iommu_iova_range, 2> ranges{{{0x1000, 0xffff}, {0x100000, 0x1fffff}}};
    auto a = wi::ioas_allow_iovas(3, ranges);
    REQUIRE(a.has_value());
    CHECK(image(*a) == c_image([](void* b) { return golden_ioas_allow_iovas(b, 3, ranges.data(), 2); }));
}

GOLDEN_COVERS(mainline, "IOMMU_IOAS_MAP");
GOLDEN_COVERS(mainline, "IOMMU_IOAS_MAP_FILE");
GOLDEN_COVERS(mainline, "IOMMU_IOAS_COPY");
GOLDEN_COVERS(mainline, "IOMMU_IOAS_UNMAP");
TEST_CASE("golden: IOMMU_IOAS_MAP, MAP_FILE, COPY, UNMAP", "[golden]") {
    constexpr u64 none = ~u64{0};
    auto m = wi::ioas_map(3, 0x7f0000000000, 0x200000, ioas_map_flag::readable | ioas_map_flag::writeable);
    REQUIRE(m.has_value());
    CHECK(image(*m) == c_image([](void* b) { return golden_ioas_map(b, 3, 0x7f0000000000, 0x200000, none); }));
    auto mf = wi::ioas_map(3, 0x7f0000000000, 0x200000, ioas_map_flag::readable | ioas_map_flag::writeable, 0x40000000);
    REQUIRE(mf.has_value());
    CHECK(image(*mf) == c_image([](void* b) { return golden_ioas_map(b, 3, 0x7f0000000000, 0x200000, 0x40000000); }));
    auto f = wi::ioas_map_file(3, 9, 0x1000, 0x200000, ioas_map_flag::readable, 0x80000000);
    REQUIRE(f.has_value());
    CHECK(image(*f) == c_image([](void* b) { return golden_ioas_map_file(b, 3, 9, 0x1000, 0x200000, 0x80000000); }));
    auto c = wi::ioas_copy(4, 3, 0x40000000, 0x200000, ioas_map_flag::readable, 0x90000000);
    REQUIRE(c.has_value());
    CHECK(image(*c) == c_image([](void* b) { return golden_ioas_copy(b, 4, 3, 0x40000000, 0x200000, 0x90000000); }));
    auto u = wi::ioas_unmap(3, 0x40000000, 0x200000);
    REQUIRE(u.has_value());
    CHECK(image(*u) == c_image([](void* b) { return golden_ioas_unmap(b, 3, 0x40000000, 0x200000); }));
    CHECK(image(wi::ioas_unmap_all(3)) == c_image([](void* b) { return golden_ioas_unmap(b, 3, 0, UINT64_MAX); }));
}

GOLDEN_COVERS(mainline, "IOMMU_OPTION");
GOLDEN_COVERS(mainline, "IOMMU_VFIO_IOAS");
TEST_CASE("golden: IOMMU_OPTION get/set and IOMMU_VFIO_IOAS get/set/clear", "[golden]") {
    CHECK(image(wi::option_get(iommufd_option::rlimit_mode)) == c_image([](void* b) { return golden_option(b, 0, 0, 0); }));
    CHECK(image(wi::option_set(iommufd_option::huge_pages, 0, 3)) == c_image([](void* b) { return golden_option(b, 1, 3, 0); }));
    CHECK(image(wi::option_set(iommufd_option::huge_pages, 1, 3)) == c_image([](void* b) { return golden_option(b, 1, 3, 1); }));
    CHECK(image(wi::vfio_ioas_get()) == c_image([](void* b) { return golden_vfio_ioas(b, 0, 0); }));
    CHECK(image(wi::vfio_ioas_set(6)) == c_image([](void* b) { return golden_vfio_ioas(b, 1, 6); }));
    CHECK(image(wi::vfio_ioas_clear()) == c_image([](void* b) { return golden_vfio_ioas(b, 2, 0); }));
}

GOLDEN_COVERS(mainline, "IOMMU_HWPT_SET_DIRTY_TRACKING");
TEST_CASE("golden: IOMMU_HWPT_SET_DIRTY_TRACKING on and off", "[golden]") {
    CHECK(image(wi::hwpt_set_dirty_tracking(8, true)) == c_image([](void* b) { return golden_hwpt_set_dirty_tracking(b, 8, 1); }));
    CHECK(image(wi::hwpt_set_dirty_tracking(8, false)) == c_image([](void* b) { return golden_hwpt_set_dirty_tracking(b, 8, 0); }));
}

GOLDEN_COVERS(mainline, "IOMMU_VIOMMU_ALLOC");
GOLDEN_COVERS(mainline, "IOMMU_VDEVICE_ALLOC");
GOLDEN_COVERS(mainline, "IOMMU_VEVENTQ_ALLOC");
GOLDEN_COVERS(mainline, "IOMMU_HW_QUEUE_ALLOC");
TEST_CASE("golden: IOMMU_VIOMMU_ALLOC, VDEVICE_ALLOC, VEVENTQ_ALLOC, HW_QUEUE_ALLOC", "[golden]") {
    CHECK(image(wi::viommu_alloc(2, 7, viommu_type::arm_smmuv3)) == c_image([](void* b) { return golden_viommu_alloc_smmuv3(b, 2, 7); }));
    static iommu_viommu_tegra241_cmdqv cmdqv{};
    CHECK(image(wi::viommu_alloc(2, 7, cmdqv)) == c_image([](void* b) { return golden_viommu_alloc_tegra(b, 2, 7, &cmdqv); }));
    CHECK(image(wi::vdevice_alloc(10, 2, 0x10)) == c_image([](void* b) { return golden_vdevice_alloc(b, 10, 2, 0x10); }));
    auto q = wi::veventq_alloc(10, veventq_type::arm_smmuv3, 64);
    REQUIRE(q.has_value());
    CHECK(image(*q) == c_image([](void* b) { return golden_veventq_alloc_smmuv3(b, 10, 64); }));
    auto h = wi::hw_queue_alloc(10, hw_queue_type::tegra241_cmdqv, 1, 0x80000000, 0x10000);
    REQUIRE(h.has_value());
    CHECK(image(*h) == c_image([](void* b) { return golden_hw_queue_alloc_tegra(b, 10, 1, 0x80000000, 0x10000); }));
}

GOLDEN_COVERS(mainline, "IOMMU_IOAS_NOIOMMU_GET_PA");
TEST_CASE("golden: IOMMU_IOAS_NOIOMMU_GET_PA", "[golden]") {
    auto p = wi::ioas_noiommu_get_pa(3, 0x40000000, 0x100000);
    REQUIRE(p.has_value());
    CHECK(image(*p) == c_image([](void* b) { return golden_ioas_noiommu_get_pa(b, 3, 0x40000000, 0x100000); }));
}

// ---- the seed's VFIO_IOMMU_PASID_REQUEST ----
GOLDEN_COVERS(seed, "VFIO_IOMMU_PASID_REQUEST");
TEST_CASE("golden: seed VFIO_IOMMU_PASID_REQUEST alloc and free", "[golden]") {
    auto a = wire::pasid_alloc<abi::seed>({1, 1000});
    REQUIRE(a.has_value());
    CHECK(image(*a) == c_image([](void* b) { return golden_seed_pasid_alloc(b, 1, 1000); }));
    CHECK(image(wire::pasid_free<abi::seed>(5u)) == c_image([](void* b) { return golden_seed_pasid_free(b, 5); }));
}

// ---- coverage: every builder of wire::builders has a golden case, and its code is the kernel's ----
TEST_CASE("golden: every wire builder has a golden case", "[golden][coverage]") {
    std::vector<std::string> missing;
    for (const auto& b : wire::builders)
        if (!covered().contains({b.abi, std::string(b.ioctl)}))
            missing.push_back(std::string(abi_name(b.abi)) + ":" + std::string(b.ioctl) + " (" + std::string(b.builder) + ")");
    INFO("builders without a golden image comparison: " << missing.size());
    for (const auto& m : missing) UNSCOPED_INFO(m);
    CHECK(missing.empty());
    // A registered name that matches no builder is a typo that would hide a gap.
    std::vector<std::string> stray;
    for (const auto& [abi, name] : covered())
        if (std::none_of(wire::builders.begin(), wire::builders.end(), [&](const auto& b) { return b.abi == abi && b.ioctl == name; }))
            stray.push_back(std::string(abi_name(abi)) + ":" + name);
    for (const auto& s : stray) UNSCOPED_INFO("golden case for no builder: " << s);
    CHECK(stray.empty());
}

TEST_CASE("golden: every builder's ioctl code is the kernel's macro", "[golden][coverage]") {
    for (const auto& b : wire::builders) {
        const char* abi = abi_name(b.abi);
        INFO(abi << ":" << b.ioctl);
        unsigned long c = golden_code_of(abi, b.ioctl.data(), b.ioctl.size());
        CHECK(c != 0);
        CHECK(b.code == c);
    }
}
