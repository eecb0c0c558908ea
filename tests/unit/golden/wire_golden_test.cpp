// Golden tests: every request image equals, byte for byte, what C code filling the kernel's own struct produces
// (golden.c and golden_all.c, compiled as C against the 7.3 uapi headers; golden_nesting.c, the NESTING_OP payloads
// built from the 5.10 <linux/iommu.h>; the proposal's own headers restated in C).
//
// Coverage is counted per builder *variant*: each builder function, overload, template instantiation and
// optional-argument form that puts something else into the image (golden_variants below, each tied to its entry of
// wire::builders). It is counted from the comparisons actually made: GOLDEN_COMPARE(variant, builder image, C image)
// records the variant when it runs a comparison against a non-empty C image, nothing else does. ctest runs every
// TEST_CASE in a process of its own, so the coverage case runs every golden case's body again and counts what they
// compared: every variant at least once, every comparison naming a listed variant, every builder with variants.
#include <vfiopp/wire/builders.hpp>
#include <vfiopp/wire/iommufd.hpp>
#include <vfiopp/wire/nesting.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "golden_c.hpp"

using namespace vfiopp;
using namespace vfiopp::uapi;
namespace wv = vfiopp::wire::vfio;
namespace wi = vfiopp::wire::iommufd;

namespace {

// ---- the builder variants: every one must be compared with a C image at least once ----
struct golden_variant {
    uapi::abi_kind abi;
    std::string_view ioctl;    ///< the wire::builders entry it belongs to (abi + kernel name)
    std::string_view variant;  ///< `wire::ns::function<template args>(arguments)`
};
using enum uapi::abi_kind;
constexpr golden_variant golden_variants[] = {
    // vfio container
    {mainline, "VFIO_GET_API_VERSION", "wire::vfio::get_api_version()"},
    {mainline, "VFIO_CHECK_EXTENSION", "wire::vfio::check_extension(extension)"},
    {mainline, "VFIO_SET_IOMMU", "wire::vfio::set_iommu(extension)"},
    {mainline, "VFIO_IOMMU_ENABLE", "wire::vfio::iommu_enable()"},
    {mainline, "VFIO_IOMMU_DISABLE", "wire::vfio::iommu_disable()"},
    {mainline, "VFIO_IOMMU_GET_INFO", "wire::vfio::iommu_get_info()"},
    {mainline, "VFIO_IOMMU_GET_INFO", "wire::vfio::iommu_get_info<Capacity>()"},
    {mainline, "VFIO_IOMMU_MAP_DMA", "wire::vfio::iommu_map_dma(vaddr, iova, size, flags)"},
    {mainline, "VFIO_IOMMU_UNMAP_DMA", "wire::vfio::iommu_unmap_dma(iova, size)"},
    {mainline, "VFIO_IOMMU_UNMAP_DMA", "wire::vfio::iommu_unmap_all()"},
    {mainline, "VFIO_IOMMU_UNMAP_DMA", "wire::vfio::iommu_unmap_vaddr(iova, size)"},
    {mainline, "VFIO_IOMMU_UNMAP_DMA", "wire::vfio::iommu_unmap_dma_dirty(iova, size, pgsize, bitmap)"},
    {mainline, "VFIO_IOMMU_DIRTY_PAGES", "wire::vfio::iommu_dirty_pages_start()"},
    {mainline, "VFIO_IOMMU_DIRTY_PAGES", "wire::vfio::iommu_dirty_pages_stop()"},
    {mainline, "VFIO_IOMMU_DIRTY_PAGES", "wire::vfio::iommu_dirty_pages_get_bitmap(iova, size, pgsize, bitmap)"},
    // vfio group
    {mainline, "VFIO_GROUP_GET_STATUS", "wire::vfio::group_get_status()"},
    {mainline, "VFIO_GROUP_SET_CONTAINER", "wire::vfio::group_set_container(fd)"},
    {mainline, "VFIO_GROUP_UNSET_CONTAINER", "wire::vfio::group_unset_container()"},
    {mainline, "VFIO_GROUP_GET_DEVICE_FD", "wire::vfio::group_get_device_fd(name)"},
    // vfio device
    {mainline, "VFIO_DEVICE_GET_INFO", "wire::vfio::device_get_info()"},
    {mainline, "VFIO_DEVICE_GET_INFO", "wire::vfio::device_get_info<Capacity>()"},
    {mainline, "VFIO_DEVICE_GET_REGION_INFO", "wire::vfio::device_get_region_info(index)"},
    {mainline, "VFIO_DEVICE_GET_REGION_INFO", "wire::vfio::device_get_region_info<Capacity>(index)"},
    {mainline, "VFIO_DEVICE_GET_IRQ_INFO", "wire::vfio::device_get_irq_info(index)"},
    {mainline, "VFIO_DEVICE_SET_IRQS", "wire::vfio::set_irqs_none<irq_trigger>(index, start, count)"},
    {mainline, "VFIO_DEVICE_SET_IRQS", "wire::vfio::set_irqs_none<irq_unmask>(index, start, count)"},
    {mainline, "VFIO_DEVICE_SET_IRQS", "wire::vfio::set_irqs_bools<irq_mask>(r, index, start, bools)"},
    {mainline, "VFIO_DEVICE_SET_IRQS", "wire::vfio::set_irqs_eventfds<irq_trigger>(r, index, start, fds)"},
    {mainline, "VFIO_DEVICE_SET_IRQS", "wire::vfio::set_irqs_eventfds<irq_unmask>(r, index, start, fds)"},
    {mainline, "VFIO_DEVICE_RESET", "wire::vfio::device_reset()"},
    {mainline, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", "wire::vfio::device_get_pci_hot_reset_info<MaxDevices>()"},
    {mainline, "VFIO_DEVICE_PCI_HOT_RESET", "wire::vfio::pci_hot_reset_devid()"},
    {mainline, "VFIO_DEVICE_PCI_HOT_RESET", "wire::vfio::pci_hot_reset_groups(r, group_fds)"},
    {mainline, "VFIO_DEVICE_QUERY_GFX_PLANE", "wire::vfio::device_query_gfx_plane(flags, drm_plane_type)"},
    {mainline, "VFIO_DEVICE_GET_GFX_DMABUF", "wire::vfio::device_get_gfx_dmabuf(dmabuf_id)"},
    {mainline, "VFIO_DEVICE_IOEVENTFD", "wire::vfio::device_ioeventfd<u8>(offset, data, fd)"},
    {mainline, "VFIO_DEVICE_IOEVENTFD", "wire::vfio::device_ioeventfd<u16>(offset, data, fd)"},
    {mainline, "VFIO_DEVICE_IOEVENTFD", "wire::vfio::device_ioeventfd<u32>(offset, data, fd)"},
    {mainline, "VFIO_DEVICE_IOEVENTFD", "wire::vfio::device_ioeventfd<u64>(offset, data, fd)"},
    {mainline, "VFIO_DEVICE_FEATURE", "wire::vfio::feature_get<P>()"},
    {mainline, "VFIO_DEVICE_FEATURE", "wire::vfio::feature_set<P>(payload)"},
    {mainline, "VFIO_DEVICE_FEATURE", "wire::vfio::feature_set<P>(payload without data)"},
    {mainline, "VFIO_DEVICE_FEATURE", "wire::vfio::feature_probe<P>()"},
    {mainline, "VFIO_DEVICE_BIND_IOMMUFD", "wire::vfio::device_bind_iommufd(iommufd)"},
    {mainline, "VFIO_DEVICE_BIND_IOMMUFD", "wire::vfio::device_bind_iommufd(iommufd, token)"},
    {mainline, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", "wire::vfio::device_attach_iommufd_pt(pt_id)"},
    {mainline, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", "wire::vfio::device_attach_iommufd_pt(pt_id, pasid)"},
    {mainline, "VFIO_DEVICE_DETACH_IOMMUFD_PT", "wire::vfio::device_detach_iommufd_pt()"},
    {mainline, "VFIO_DEVICE_DETACH_IOMMUFD_PT", "wire::vfio::device_detach_iommufd_pt(pasid)"},
    {mainline, "VFIO_MIG_GET_PRECOPY_INFO", "wire::vfio::mig_get_precopy_info()"},
    // iommufd
    {mainline, "IOMMU_DESTROY", "wire::iommufd::destroy(id)"},
    {mainline, "IOMMU_IOAS_ALLOC", "wire::iommufd::ioas_alloc()"},
    {mainline, "IOMMU_IOAS_ALLOW_IOVAS", "wire::iommufd::ioas_allow_iovas(ioas, ranges)"},
    {mainline, "IOMMU_IOAS_COPY", "wire::iommufd::ioas_copy(dst, src, src_iova, length, access)"},
    {mainline, "IOMMU_IOAS_COPY", "wire::iommufd::ioas_copy(dst, src, src_iova, length, access, dst_iova)"},
    {mainline, "IOMMU_IOAS_IOVA_RANGES", "wire::iommufd::ioas_iova_ranges(ioas, out)"},
    {mainline, "IOMMU_IOAS_MAP", "wire::iommufd::ioas_map(ioas, user_va, length, access)"},
    {mainline, "IOMMU_IOAS_MAP", "wire::iommufd::ioas_map(ioas, user_va, length, access, iova)"},
    {mainline, "IOMMU_IOAS_UNMAP", "wire::iommufd::ioas_unmap(ioas, iova, length)"},
    {mainline, "IOMMU_IOAS_UNMAP", "wire::iommufd::ioas_unmap_all(ioas)"},
    {mainline, "IOMMU_OPTION", "wire::iommufd::option_get(id, object)"},
    {mainline, "IOMMU_OPTION", "wire::iommufd::option_set(id, value, object)"},
    {mainline, "IOMMU_VFIO_IOAS", "wire::iommufd::vfio_ioas_get()"},
    {mainline, "IOMMU_VFIO_IOAS", "wire::iommufd::vfio_ioas_set(ioas)"},
    {mainline, "IOMMU_VFIO_IOAS", "wire::iommufd::vfio_ioas_clear()"},
    {mainline, "IOMMU_HWPT_ALLOC", "wire::iommufd::hwpt_alloc(dev, ioas, flags)"},
    {mainline, "IOMMU_HWPT_ALLOC", "wire::iommufd::hwpt_alloc(dev, ioas, flags, fault_id)"},
    {mainline, "IOMMU_HWPT_ALLOC", "wire::iommufd::hwpt_alloc<iommu_hwpt_vtd_s1>(dev, parent, flags, data)"},
    {mainline, "IOMMU_HWPT_ALLOC", "wire::iommufd::hwpt_alloc<iommu_hwpt_arm_smmuv3>(dev, parent, flags, data)"},
    {mainline, "IOMMU_HWPT_ALLOC", "wire::iommufd::hwpt_alloc<iommu_hwpt_amd_guest>(dev, parent, flags, data)"},
    {mainline, "IOMMU_HWPT_ALLOC", "wire::iommufd::hwpt_alloc<D>(dev, parent, flags, data, fault_id)"},
    {mainline, "IOMMU_HWPT_ALLOC", "wire::iommufd::hwpt_alloc(dev, pt, flags, hwpt_data)"},
    {mainline, "IOMMU_GET_HW_INFO", "wire::iommufd::get_hw_info(dev)"},
    {mainline, "IOMMU_GET_HW_INFO", "wire::iommufd::get_hw_info<iommu_hw_info_vtd>(dev, data)"},
    {mainline, "IOMMU_GET_HW_INFO", "wire::iommufd::get_hw_info<iommu_hw_info_arm_smmuv3>(dev, data)"},
    {mainline, "IOMMU_GET_HW_INFO", "wire::iommufd::get_hw_info<iommu_hw_info_tegra241_cmdqv>(dev, data)"},
    {mainline, "IOMMU_GET_HW_INFO", "wire::iommufd::get_hw_info<iommu_hw_info_amd>(dev, data)"},
    {mainline, "IOMMU_GET_HW_INFO", "wire::iommufd::get_hw_info<D>(dev, data, ask_type)"},
    {mainline, "IOMMU_HWPT_SET_DIRTY_TRACKING", "wire::iommufd::hwpt_set_dirty_tracking(hwpt, enable)"},
    {mainline, "IOMMU_HWPT_GET_DIRTY_BITMAP", "wire::iommufd::hwpt_get_dirty_bitmap(hwpt, iova, length, page_size, bitmap)"},
    {mainline, "IOMMU_HWPT_GET_DIRTY_BITMAP", "wire::iommufd::hwpt_get_dirty_bitmap(hwpt, iova, length, page_size, bitmap, no_clear)"},
    {mainline, "IOMMU_HWPT_INVALIDATE", "wire::iommufd::hwpt_invalidate<iommu_hwpt_vtd_s1_invalidate>(hwpt, entries)"},
    {mainline, "IOMMU_HWPT_INVALIDATE", "wire::iommufd::hwpt_invalidate<iommu_viommu_arm_smmuv3_invalidate>(viommu, entries)"},
    {mainline, "IOMMU_FAULT_QUEUE_ALLOC", "wire::iommufd::fault_queue_alloc()"},
    {mainline, "IOMMU_IOAS_MAP_FILE", "wire::iommufd::ioas_map_file(ioas, fd, start, length, access)"},
    {mainline, "IOMMU_IOAS_MAP_FILE", "wire::iommufd::ioas_map_file(ioas, fd, start, length, access, iova)"},
    {mainline, "IOMMU_VIOMMU_ALLOC", "wire::iommufd::viommu_alloc(dev, hwpt, type)"},
    {mainline, "IOMMU_VIOMMU_ALLOC", "wire::iommufd::viommu_alloc(dev, hwpt, tegra241_cmdqv data)"},
    {mainline, "IOMMU_VDEVICE_ALLOC", "wire::iommufd::vdevice_alloc(viommu, dev, virt_id)"},
    {mainline, "IOMMU_IOAS_CHANGE_PROCESS", "wire::iommufd::ioas_change_process()"},
    {mainline, "IOMMU_VEVENTQ_ALLOC", "wire::iommufd::veventq_alloc(viommu, type, depth)"},
    {mainline, "IOMMU_HW_QUEUE_ALLOC", "wire::iommufd::hw_queue_alloc(viommu, type, index, iova, length)"},
    {mainline, "IOMMU_IOAS_NOIOMMU_GET_PA", "wire::iommufd::ioas_noiommu_get_pa(ioas, iova, length)"},
    // the 2020 proposal
    {seed, "VFIO_IOMMU_PASID_REQUEST", "wire::pasid_alloc<abi::seed>(range)"},
    {seed, "VFIO_IOMMU_PASID_REQUEST", "wire::pasid_free<abi::seed>(pasid)"},
    {seed, "VFIO_IOMMU_NESTING_OP", "wire::nesting_op<abi::seed>(bind_pgtbl)"},
    {seed, "VFIO_IOMMU_NESTING_OP", "wire::nesting_op<abi::seed>(unbind_pgtbl)"},
    {seed, "VFIO_IOMMU_NESTING_OP", "wire::nesting_op<abi::seed>(cache_invalidate)"},
    {v7, "VFIO_IOMMU_PASID_REQUEST", "wire::pasid_alloc<abi::v7>(range)"},
    {v7, "VFIO_IOMMU_PASID_REQUEST", "wire::pasid_free<abi::v7>(range)"},
    {v7, "VFIO_IOMMU_NESTING_OP", "wire::nesting_op<abi::v7>(bind_pgtbl)"},
    {v7, "VFIO_IOMMU_NESTING_OP", "wire::nesting_op<abi::v7>(unbind_pgtbl)"},
    {v7, "VFIO_IOMMU_NESTING_OP", "wire::nesting_op<abi::v7>(cache_invalidate)"},
};

// ---- comparisons made, per variant ----
std::map<std::string, std::size_t, std::less<>>& comparisons() {
    static std::map<std::string, std::size_t, std::less<>> m;
    return m;
}
// A comparison counts only against a real C image: an empty one would compare nothing.
bool real_image(const std::vector<std::byte>& c) { return !c.empty(); }
bool real_image(const std::pair<unsigned long, unsigned long>& c) { return c.first != 0; }

// ---- golden cases: each TEST_CASE's body is a function the coverage case can run again ----
struct golden_case {
    const char* title;
    void (*body)();
};
std::vector<golden_case>& golden_cases() {
    static std::vector<golden_case> v;
    return v;
}
bool add_golden_case(const char* title, void (*body)()) {
    golden_cases().push_back({title, body});
    return true;
}

template <typename Req>
std::vector<std::byte> image(const Req& r) {
    return {r.bytes().begin(), r.bytes().end()};
}
template <typename Fill>
std::vector<std::byte> c_image(Fill fill) {
    alignas(8) std::byte buf[512]{};
    std::size_t n = fill(buf);
    return {buf, buf + n};
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

/// The function a variant names: `wire::vfio::device_ioeventfd<u8>(...)` -> `device_ioeventfd`.
std::string_view function_of(std::string_view variant) {
    variant = variant.substr(0, variant.find_first_of("<("));
    auto colons = variant.rfind("::");
    return colons == std::string_view::npos ? variant : variant.substr(colons + 2);
}
/// Whether a wire::builders description names the function: in full, or as one of its "/ _suffix" alternatives
/// ("wire::vfio::iommu_unmap_dma / _all / _vaddr / _dma_dirty" names iommu_unmap_all).
bool describes(std::string_view builder, std::string_view function) {
    if (builder.find(function) != std::string_view::npos) return true;
    for (std::size_t u = function.find('_'); u != std::string_view::npos; u = function.find('_', u + 1))
        if (builder.find("/ " + std::string(function.substr(u))) != std::string_view::npos) return true;
    return false;
}

}  // namespace

#define GOLDEN_CAT2(a, b) a##b
#define GOLDEN_CAT(a, b) GOLDEN_CAT2(a, b)
/// One golden case: a TEST_CASE whose body the coverage case can run again. Use it as `GOLDEN_CASE("...") { ... }`.
#define GOLDEN_CASE(title)                                                                                     \
    static void GOLDEN_CAT(golden_case_body_, __LINE__)();                                                     \
    [[maybe_unused]] static const bool GOLDEN_CAT(golden_case_added_, __LINE__) =                              \
        add_golden_case(title, &GOLDEN_CAT(golden_case_body_, __LINE__));                                      \
    TEST_CASE(title, "[golden]") { GOLDEN_CAT(golden_case_body_, __LINE__)(); }                                \
    static void GOLDEN_CAT(golden_case_body_, __LINE__)()
/// Compares a builder's image (or value call) with the C image, and records that VARIANT was compared.
#define GOLDEN_COMPARE(VARIANT, BUILDER, C)                                                                    \
    do {                                                                                                       \
        const auto golden_b_ = (BUILDER);                                                                      \
        const auto golden_c_ = (C);                                                                            \
        INFO("builder variant: " << (VARIANT));                                                                \
        CHECK(real_image(golden_c_));                                                                          \
        CHECK(golden_b_ == golden_c_);                                                                         \
        if (real_image(golden_c_)) ++comparisons()[std::string(VARIANT)];                                      \
    } while (0)

// ---- value / no-argument ioctls: the code and the integer third argument, against the kernel's macros ----
GOLDEN_CASE("golden: value and no-argument ioctls (code and argument)") {
    using call = std::pair<unsigned long, unsigned long>;
    GOLDEN_COMPARE("wire::vfio::get_api_version()", value_call(wv::get_api_version()),
                   (call{kernel_code("VFIO_GET_API_VERSION"), golden_arg_none()}));
    GOLDEN_COMPARE("wire::vfio::check_extension(extension)", value_call(wv::check_extension(extension::type1v2_iommu)),
                   (call{kernel_code("VFIO_CHECK_EXTENSION"), golden_arg_check_extension_type1v2()}));
    GOLDEN_COMPARE("wire::vfio::set_iommu(extension)", value_call(wv::set_iommu(extension::type1v2_iommu)),
                   (call{kernel_code("VFIO_SET_IOMMU"), golden_arg_set_iommu_type1v2()}));
    GOLDEN_COMPARE("wire::vfio::iommu_enable()", value_call(wv::iommu_enable()), (call{kernel_code("VFIO_IOMMU_ENABLE"), golden_arg_none()}));
    GOLDEN_COMPARE("wire::vfio::iommu_disable()", value_call(wv::iommu_disable()),
                   (call{kernel_code("VFIO_IOMMU_DISABLE"), golden_arg_none()}));
    GOLDEN_COMPARE("wire::vfio::group_unset_container()", value_call(wv::group_unset_container()),
                   (call{kernel_code("VFIO_GROUP_UNSET_CONTAINER"), golden_arg_none()}));
    GOLDEN_COMPARE("wire::vfio::device_reset()", value_call(wv::device_reset()), (call{kernel_code("VFIO_DEVICE_RESET"), golden_arg_none()}));
}

// ---- vfio container ----
GOLDEN_CASE("golden: VFIO_IOMMU_GET_INFO") {
    GOLDEN_COMPARE("wire::vfio::iommu_get_info()", image(wv::iommu_get_info()), c_image([](void* b) { return golden_iommu_get_info(b); }));
    // With room for a capability chain the image (argsz) still starts at sizeof(struct).
    GOLDEN_COMPARE("wire::vfio::iommu_get_info<Capacity>()", image(wv::iommu_get_info<512>()),
                   c_image([](void* b) { return golden_iommu_get_info(b); }));
}

GOLDEN_CASE("golden: VFIO_IOMMU_MAP_DMA") {
    auto r = wv::iommu_map_dma(0x7f0012340000, 0x100000, 0x200000, map_dma_flag::read | map_dma_flag::write);
    REQUIRE(r.has_value());
    GOLDEN_COMPARE("wire::vfio::iommu_map_dma(vaddr, iova, size, flags)", image(*r),
                   c_image([](void* b) { return golden_map_dma(b, 0x7f0012340000, 0x100000, 0x200000); }));
}

GOLDEN_CASE("golden: VFIO_IOMMU_UNMAP_DMA plain, UNMAP_ALL, VADDR and GET_DIRTY_BITMAP") {
    auto u = wv::iommu_unmap_dma(0x100000, 0x200000);
    REQUIRE(u.has_value());
    GOLDEN_COMPARE("wire::vfio::iommu_unmap_dma(iova, size)", image(*u),
                   c_image([](void* b) { return golden_unmap_dma(b, 0, 0x100000, 0x200000); }));
    GOLDEN_COMPARE("wire::vfio::iommu_unmap_all()", image(wv::iommu_unmap_all()),
                   c_image([](void* b) { return golden_unmap_dma(b, golden_unmap_all_flag(), 0, 0); }));
    auto v = wv::iommu_unmap_vaddr(0x100000, 0x200000);
    REQUIRE(v.has_value());
    GOLDEN_COMPARE("wire::vfio::iommu_unmap_vaddr(iova, size)", image(*v),
                   c_image([](void* b) { return golden_unmap_dma(b, golden_unmap_vaddr_flag(), 0x100000, 0x200000); }));
    static std::array<u64, 2> bits{};
    // 65 pages of 4 KiB: the bitmap is 2 u64 words = 16 bytes.
    auto d = wv::iommu_unmap_dma_dirty(0x10000, 65 * 4096, 4096, bits);
    REQUIRE(d.has_value());
    GOLDEN_COMPARE("wire::vfio::iommu_unmap_dma_dirty(iova, size, pgsize, bitmap)", image(*d),
                   c_image([](void* b) { return golden_unmap_dma_dirty(b, 0x10000, 65 * 4096, 4096, 16, bits.data()); }));
}

GOLDEN_CASE("golden: VFIO_IOMMU_DIRTY_PAGES START, STOP and GET_BITMAP") {
    GOLDEN_COMPARE("wire::vfio::iommu_dirty_pages_start()", image(wv::iommu_dirty_pages_start()),
                   c_image([](void* b) { return golden_dirty_pages(b, golden_dirty_pages_start_flag()); }));
    GOLDEN_COMPARE("wire::vfio::iommu_dirty_pages_stop()", image(wv::iommu_dirty_pages_stop()),
                   c_image([](void* b) { return golden_dirty_pages(b, golden_dirty_pages_stop_flag()); }));
    static std::array<u64, 2> bits{};
    auto g = wv::iommu_dirty_pages_get_bitmap(0x10000, 65 * 4096, 4096, bits);
    REQUIRE(g.has_value());
    GOLDEN_COMPARE("wire::vfio::iommu_dirty_pages_get_bitmap(iova, size, pgsize, bitmap)", image(*g),
                   c_image([](void* b) { return golden_dirty_pages_get(b, 0x10000, 65 * 4096, 4096, 16, bits.data()); }));
}

// ---- vfio group ----
GOLDEN_CASE("golden: VFIO_GROUP_GET_STATUS, SET_CONTAINER and GET_DEVICE_FD") {
    GOLDEN_COMPARE("wire::vfio::group_get_status()", image(wv::group_get_status()),
                   c_image([](void* b) { return golden_group_get_status(b); }));
    auto s = wv::group_set_container(17);
    REQUIRE(s.has_value());
    GOLDEN_COMPARE("wire::vfio::group_set_container(fd)", image(*s), c_image([](void* b) { return golden_group_set_container(b, 17); }));
    auto d = wv::group_get_device_fd("0000:00:04.0");
    REQUIRE(d.has_value());
    GOLDEN_COMPARE("wire::vfio::group_get_device_fd(name)", image(*d),
                   c_image([](void* b) { return golden_group_get_device_fd(b, "0000:00:04.0"); }));
}

// ---- vfio device ----
GOLDEN_CASE("golden: VFIO_DEVICE_GET_INFO, GET_REGION_INFO, GET_IRQ_INFO") {
    GOLDEN_COMPARE("wire::vfio::device_get_info()", image(wv::device_get_info()), c_image([](void* b) { return golden_device_get_info(b); }));
    GOLDEN_COMPARE("wire::vfio::device_get_info<Capacity>()", image(wv::device_get_info<256>()),
                   c_image([](void* b) { return golden_device_get_info(b); }));
    GOLDEN_COMPARE("wire::vfio::device_get_region_info(index)", image(wv::device_get_region_info(pci_region_index::bar2)),
                   c_image([](void* b) { return golden_device_get_region_info(b, 2); }));
    GOLDEN_COMPARE("wire::vfio::device_get_region_info<Capacity>(index)", image(wv::device_get_region_info<1024>(7u)),
                   c_image([](void* b) { return golden_device_get_region_info(b, 7); }));
    GOLDEN_COMPARE("wire::vfio::device_get_irq_info(index)", image(wv::device_get_irq_info(pci_irq_index::msix)),
                   c_image([](void* b) { return golden_device_get_irq_info(b, 2); }));
}

GOLDEN_CASE("golden: VFIO_DEVICE_SET_IRQS, every data type") {
    GOLDEN_COMPARE("wire::vfio::set_irqs_none<irq_unmask>(index, start, count)",
                   image(wv::set_irqs_none<wv::irq_unmask>(pci_irq_index::intx, 0, 1)),
                   c_image([](void* b) { return golden_set_irqs_unmask_none(b, 0, 0, 1); }));
    GOLDEN_COMPARE("wire::vfio::set_irqs_none<irq_trigger>(index, start, count)",
                   image(wv::set_irqs_none<wv::irq_trigger>(pci_irq_index::msix, 0, 0)),
                   c_image([](void* b) { return golden_set_irqs_disable(b, 2); }));
    static const bool bools[] = {true, false, true};
    static const std::uint8_t bytes[] = {1, 0, 1};
    wv::set_irqs_request<3> m;
    REQUIRE(wv::set_irqs_bools<wv::irq_mask>(m, pci_irq_index::msix, 4, std::span<const bool>(bools)).has_value());
    GOLDEN_COMPARE("wire::vfio::set_irqs_bools<irq_mask>(r, index, start, bools)", image(m),
                   c_image([](void* b) { return golden_set_irqs_mask_bools(b, 2, 4, bytes, 3); }));
    static const std::int32_t fds[] = {11, -1, 13};
    wv::set_irqs_request<3> t;
    REQUIRE(wv::set_irqs_eventfds<wv::irq_trigger>(t, pci_irq_index::msix, 1, std::span<const int>(fds)).has_value());
    GOLDEN_COMPARE("wire::vfio::set_irqs_eventfds<irq_trigger>(r, index, start, fds)", image(t),
                   c_image([](void* b) { return golden_set_irqs_eventfds(b, 2, 1, fds, 3); }));
    static const std::int32_t resample[] = {21};
    wv::set_irqs_request<1> u;
    REQUIRE(wv::set_irqs_eventfds<wv::irq_unmask>(u, pci_irq_index::intx, 0, std::span<const int>(resample)).has_value());
    GOLDEN_COMPARE("wire::vfio::set_irqs_eventfds<irq_unmask>(r, index, start, fds)", image(u),
                   c_image([](void* b) { return golden_set_irqs_unmask_eventfds(b, 0, 0, resample, 1); }));
}

GOLDEN_CASE("golden: VFIO_DEVICE_GET_PCI_HOT_RESET_INFO and VFIO_DEVICE_PCI_HOT_RESET") {
    GOLDEN_COMPARE("wire::vfio::device_get_pci_hot_reset_info<MaxDevices>()", image(wv::device_get_pci_hot_reset_info<4>()),
                   c_image([](void* b) { return golden_pci_hot_reset_info(b, 4); }));
    GOLDEN_COMPARE("wire::vfio::device_get_pci_hot_reset_info<MaxDevices>()", image(wv::device_get_pci_hot_reset_info<1>()),
                   c_image([](void* b) { return golden_pci_hot_reset_info(b, 1); }));
    static const std::int32_t fds[] = {7, 9};
    wv::pci_hot_reset_request<2> r;
    REQUIRE(wv::pci_hot_reset_groups(r, std::span<const int>(fds)).has_value());
    GOLDEN_COMPARE("wire::vfio::pci_hot_reset_groups(r, group_fds)", image(r),
                   c_image([](void* b) { return golden_pci_hot_reset(b, fds, 2); }));
    GOLDEN_COMPARE("wire::vfio::pci_hot_reset_devid()", image(wv::pci_hot_reset_devid()),
                   c_image([](void* b) { return golden_pci_hot_reset(b, nullptr, 0); }));
}

GOLDEN_CASE("golden: VFIO_DEVICE_QUERY_GFX_PLANE and VFIO_DEVICE_GET_GFX_DMABUF") {
    auto q = wv::device_query_gfx_plane(gfx_plane_flag::probe | gfx_plane_flag::dmabuf, 1);
    REQUIRE(q.has_value());
    GOLDEN_COMPARE("wire::vfio::device_query_gfx_plane(flags, drm_plane_type)", image(*q),
                   c_image([](void* b) { return golden_query_gfx_plane_dmabuf(b, 1); }));
    GOLDEN_COMPARE("wire::vfio::device_get_gfx_dmabuf(dmabuf_id)", image(wv::device_get_gfx_dmabuf(0x1234)),
                   c_image([](void* b) { return golden_get_gfx_dmabuf(b, 0x1234); }));
}

GOLDEN_CASE("golden: VFIO_DEVICE_IOEVENTFD 8, 16, 32 and 64 bits") {
    auto e8 = wv::device_ioeventfd<u8>(0x41, 0xa5, 22);
    REQUIRE(e8.has_value());
    GOLDEN_COMPARE("wire::vfio::device_ioeventfd<u8>(offset, data, fd)", image(*e8),
                   c_image([](void* b) { return golden_ioeventfd(b, 8, 0x41, 0xa5, 22); }));
    auto e16 = wv::device_ioeventfd<u16>(0x10000000040, 0xbeef, 23);
    REQUIRE(e16.has_value());
    GOLDEN_COMPARE("wire::vfio::device_ioeventfd<u16>(offset, data, fd)", image(*e16),
                   c_image([](void* b) { return golden_ioeventfd(b, 16, 0x10000000040, 0xbeef, 23); }));
    auto rm = wv::device_ioeventfd<u16>(0x40, 0, -1);
    REQUIRE(rm.has_value());
    GOLDEN_COMPARE("wire::vfio::device_ioeventfd<u16>(offset, data, fd)", image(*rm),
                   c_image([](void* b) { return golden_ioeventfd(b, 16, 0x40, 0, -1); }));
    auto e32 = wv::device_ioeventfd<u32>(0x2000, 0xdeadbeef, 24);
    REQUIRE(e32.has_value());
    GOLDEN_COMPARE("wire::vfio::device_ioeventfd<u32>(offset, data, fd)", image(*e32),
                   c_image([](void* b) { return golden_ioeventfd(b, 32, 0x2000, 0xdeadbeef, 24); }));
    auto e64 = wv::device_ioeventfd<u64>(0x3000, 0x0123456789abcdef, 25);
    REQUIRE(e64.has_value());
    GOLDEN_COMPARE("wire::vfio::device_ioeventfd<u64>(offset, data, fd)", image(*e64),
                   c_image([](void* b) { return golden_ioeventfd(b, 64, 0x3000, 0x0123456789abcdef, 25); }));
}

GOLDEN_CASE("golden: VFIO_DEVICE_FEATURE GET, SET and PROBE") {
    GOLDEN_COMPARE("wire::vfio::feature_get<P>()", image(wv::feature_get<vfio_device_feature_migration>()),
                   c_image([](void* b) { return golden_feature_get(b, 0); }));
    GOLDEN_COMPARE("wire::vfio::feature_get<P>()", image(wv::feature_get<vfio_device_feature_mig_data_size>()),
                   c_image([](void* b) { return golden_feature_get(b, 1); }));
    GOLDEN_COMPARE("wire::vfio::feature_get<P>()", image(wv::feature_get<vfio_device_feature_mig_state>()),
                   c_image([](void* b) { return golden_feature_get(b, 2); }));
    vfio_device_feature_mig_state st{};
    st.device_state = device_mig_state::stop_copy;
    st.data_fd = -1;
    GOLDEN_COMPARE("wire::vfio::feature_set<P>(payload)", image(wv::feature_set(st)),
                   c_image([](void* b) { return golden_feature_set_mig_state(b, 3); }));
    vfio_device_feature_bus_master bm{};
    bm.op = bus_master_op::set_master;
    GOLDEN_COMPARE("wire::vfio::feature_set<P>(payload)", image(wv::feature_set(bm)),
                   c_image([](void* b) { return golden_feature_set_bus_master(b, 1); }));
    static const std::uint8_t uuid[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    wv::pci_vf_token token{};
    std::memcpy(token.uuid.data(), uuid, sizeof uuid);
    GOLDEN_COMPARE("wire::vfio::feature_set<P>(payload)", image(wv::feature_set(token)),
                   c_image([](void* b) { return golden_feature_set_vf_token(b, uuid); }));
    GOLDEN_COMPARE("wire::vfio::feature_set<P>(payload without data)", image(wv::feature_set(wv::low_power_entry{})),
                   c_image([](void* b) { return golden_feature_set_low_power_entry(b); }));
    GOLDEN_COMPARE("wire::vfio::feature_probe<P>()", image(wv::feature_probe<wv::low_power_exit>()),
                   c_image([](void* b) { return golden_feature_probe_low_power_exit(b); }));
    GOLDEN_COMPARE("wire::vfio::feature_probe<P>()", image(wv::feature_probe<vfio_device_feature_migration>()),
                   c_image([](void* b) { return golden_feature_probe_migration(b); }));
}

GOLDEN_CASE("golden: VFIO_DEVICE_BIND_IOMMUFD with and without VF token") {
    auto r = wv::device_bind_iommufd(5);
    REQUIRE(r.has_value());
    GOLDEN_COMPARE("wire::vfio::device_bind_iommufd(iommufd)", image(*r), c_image([](void* b) { return golden_bind_iommufd(b, 5, nullptr); }));
    static const std::array<u8, 16> token{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    auto t = wv::device_bind_iommufd(5, token);
    REQUIRE(t.has_value());
    GOLDEN_COMPARE("wire::vfio::device_bind_iommufd(iommufd, token)", image(*t),
                   c_image([](void* b) { return golden_bind_iommufd(b, 5, token.data()); }));
}

GOLDEN_CASE("golden: VFIO_DEVICE_ATTACH/DETACH_IOMMUFD_PT with and without PASID") {
    GOLDEN_COMPARE("wire::vfio::device_attach_iommufd_pt(pt_id)", image(wv::device_attach_iommufd_pt(9)),
                   c_image([](void* b) { return golden_attach_pt(b, 9, -1); }));
    GOLDEN_COMPARE("wire::vfio::device_attach_iommufd_pt(pt_id, pasid)", image(wv::device_attach_iommufd_pt(9, 0x55)),
                   c_image([](void* b) { return golden_attach_pt(b, 9, 0x55); }));
    GOLDEN_COMPARE("wire::vfio::device_detach_iommufd_pt()", image(wv::device_detach_iommufd_pt()),
                   c_image([](void* b) { return golden_detach_pt(b, -1); }));
    GOLDEN_COMPARE("wire::vfio::device_detach_iommufd_pt(pasid)", image(wv::device_detach_iommufd_pt(0x55)),
                   c_image([](void* b) { return golden_detach_pt(b, 0x55); }));
}

GOLDEN_CASE("golden: VFIO_MIG_GET_PRECOPY_INFO") {
    GOLDEN_COMPARE("wire::vfio::mig_get_precopy_info()", image(wv::mig_get_precopy_info()),
                   c_image([](void* b) { return golden_mig_get_precopy_info(b); }));
}

// ---- iommufd ----
GOLDEN_CASE("golden: IOMMU_DESTROY, IOAS_ALLOC, IOAS_IOVA_RANGES, IOAS_CHANGE_PROCESS, FAULT_QUEUE_ALLOC") {
    GOLDEN_COMPARE("wire::iommufd::destroy(id)", image(wi::destroy(42)), c_image([](void* b) { return golden_destroy(b, 42); }));
    GOLDEN_COMPARE("wire::iommufd::ioas_alloc()", image(wi::ioas_alloc()), c_image([](void* b) { return golden_ioas_alloc(b); }));
    GOLDEN_COMPARE("wire::iommufd::ioas_iova_ranges(ioas, out)", image(wi::ioas_iova_ranges(3, {}).value()),
                   c_image([](void* b) { return golden_ioas_iova_ranges(b, 3); }));
    GOLDEN_COMPARE("wire::iommufd::ioas_change_process()", image(wi::ioas_change_process()),
                   c_image([](void* b) { return golden_ioas_change_process(b); }));
    GOLDEN_COMPARE("wire::iommufd::fault_queue_alloc()", image(wi::fault_queue_alloc()),
                   c_image([](void* b) { return golden_fault_queue_alloc(b); }));
}

GOLDEN_CASE("golden: IOMMU_IOAS_ALLOW_IOVAS") {
    static const std::array<iommu_iova_range, 2> ranges{{{0x1000, 0xffff}, {0x100000, 0x1fffff}}};
    auto a = wi::ioas_allow_iovas(3, ranges);
    REQUIRE(a.has_value());
    GOLDEN_COMPARE("wire::iommufd::ioas_allow_iovas(ioas, ranges)", image(*a),
                   c_image([](void* b) { return golden_ioas_allow_iovas(b, 3, ranges.data(), 2); }));
}

GOLDEN_CASE("golden: IOMMU_IOAS_MAP, MAP_FILE, COPY (kernel-chosen and fixed IOVA), UNMAP") {
    constexpr u64 none = ~u64{0};
    auto m = wi::ioas_map(3, 0x7f0000000000, 0x200000, ioas_map_flag::readable | ioas_map_flag::writeable);
    REQUIRE(m.has_value());
    GOLDEN_COMPARE("wire::iommufd::ioas_map(ioas, user_va, length, access)", image(*m),
                   c_image([](void* b) { return golden_ioas_map(b, 3, 0x7f0000000000, 0x200000, none); }));
    auto mf = wi::ioas_map(3, 0x7f0000000000, 0x200000, ioas_map_flag::readable | ioas_map_flag::writeable, 0x40000000);
    REQUIRE(mf.has_value());
    GOLDEN_COMPARE("wire::iommufd::ioas_map(ioas, user_va, length, access, iova)", image(*mf),
                   c_image([](void* b) { return golden_ioas_map(b, 3, 0x7f0000000000, 0x200000, 0x40000000); }));
    auto f = wi::ioas_map_file(3, 9, 0x1000, 0x200000, ioas_map_flag::readable, 0x80000000);
    REQUIRE(f.has_value());
    GOLDEN_COMPARE("wire::iommufd::ioas_map_file(ioas, fd, start, length, access, iova)", image(*f),
                   c_image([](void* b) { return golden_ioas_map_file(b, 3, 9, 0x1000, 0x200000, 0x80000000); }));
    auto fk = wi::ioas_map_file(3, 9, 0x1000, 0x200000, ioas_map_flag::readable);
    REQUIRE(fk.has_value());
    GOLDEN_COMPARE("wire::iommufd::ioas_map_file(ioas, fd, start, length, access)", image(*fk),
                   c_image([](void* b) { return golden_ioas_map_file(b, 3, 9, 0x1000, 0x200000, none); }));
    auto c = wi::ioas_copy(4, 3, 0x40000000, 0x200000, ioas_map_flag::readable, 0x90000000);
    REQUIRE(c.has_value());
    GOLDEN_COMPARE("wire::iommufd::ioas_copy(dst, src, src_iova, length, access, dst_iova)", image(*c),
                   c_image([](void* b) { return golden_ioas_copy(b, 4, 3, 0x40000000, 0x200000, 0x90000000); }));
    auto ck = wi::ioas_copy(4, 3, 0x40000000, 0x200000, ioas_map_flag::readable);
    REQUIRE(ck.has_value());
    GOLDEN_COMPARE("wire::iommufd::ioas_copy(dst, src, src_iova, length, access)", image(*ck),
                   c_image([](void* b) { return golden_ioas_copy(b, 4, 3, 0x40000000, 0x200000, none); }));
    auto u = wi::ioas_unmap(3, 0x40000000, 0x200000);
    REQUIRE(u.has_value());
    GOLDEN_COMPARE("wire::iommufd::ioas_unmap(ioas, iova, length)", image(*u),
                   c_image([](void* b) { return golden_ioas_unmap(b, 3, 0x40000000, 0x200000); }));
    GOLDEN_COMPARE("wire::iommufd::ioas_unmap_all(ioas)", image(wi::ioas_unmap_all(3)),
                   c_image([](void* b) { return golden_ioas_unmap(b, 3, 0, UINT64_MAX); }));
}

GOLDEN_CASE("golden: IOMMU_OPTION get/set and IOMMU_VFIO_IOAS get/set/clear") {
    GOLDEN_COMPARE("wire::iommufd::option_get(id, object)", image(wi::option_get(iommufd_option::rlimit_mode)),
                   c_image([](void* b) { return golden_option(b, 0, 0, 0); }));
    GOLDEN_COMPARE("wire::iommufd::option_set(id, value, object)", image(wi::option_set(iommufd_option::huge_pages, 0, 3)),
                   c_image([](void* b) { return golden_option(b, 1, 3, 0); }));
    GOLDEN_COMPARE("wire::iommufd::option_set(id, value, object)", image(wi::option_set(iommufd_option::huge_pages, 1, 3)),
                   c_image([](void* b) { return golden_option(b, 1, 3, 1); }));
    GOLDEN_COMPARE("wire::iommufd::vfio_ioas_get()", image(wi::vfio_ioas_get()), c_image([](void* b) { return golden_vfio_ioas(b, 0, 0); }));
    GOLDEN_COMPARE("wire::iommufd::vfio_ioas_set(ioas)", image(wi::vfio_ioas_set(6)), c_image([](void* b) { return golden_vfio_ioas(b, 1, 6); }));
    GOLDEN_COMPARE("wire::iommufd::vfio_ioas_clear()", image(wi::vfio_ioas_clear()),
                   c_image([](void* b) { return golden_vfio_ioas(b, 2, 0); }));
}

GOLDEN_CASE("golden: IOMMU_HWPT_ALLOC from an IOAS, with flags and with a fault_id") {
    auto plain = wi::hwpt_alloc(5, 6, {});
    REQUIRE(plain.has_value());
    GOLDEN_COMPARE("wire::iommufd::hwpt_alloc(dev, ioas, flags)", image(*plain),
                   c_image([](void* b) { return golden_hwpt_alloc_ioas(b, 5, 6, 0, 0, 0, -1); }));
    auto parent = wi::hwpt_alloc(5, 6, hwpt_alloc_flag::nest_parent | hwpt_alloc_flag::dirty_tracking);
    REQUIRE(parent.has_value());
    GOLDEN_COMPARE("wire::iommufd::hwpt_alloc(dev, ioas, flags)", image(*parent),
                   c_image([](void* b) { return golden_hwpt_alloc_ioas(b, 5, 6, 1, 1, 0, -1); }));
    auto pasid = wi::hwpt_alloc(5, 6, hwpt_alloc_flag::pasid);
    REQUIRE(pasid.has_value());
    GOLDEN_COMPARE("wire::iommufd::hwpt_alloc(dev, ioas, flags)", image(*pasid),
                   c_image([](void* b) { return golden_hwpt_alloc_ioas(b, 5, 6, 0, 0, 1, -1); }));
    auto fault = wi::hwpt_alloc(5, 6, hwpt_alloc_flag::nest_parent, 12u);
    REQUIRE(fault.has_value());
    GOLDEN_COMPARE("wire::iommufd::hwpt_alloc(dev, ioas, flags, fault_id)", image(*fault),
                   c_image([](void* b) { return golden_hwpt_alloc_ioas(b, 5, 6, 1, 0, 0, 12); }));
}

GOLDEN_CASE("golden: IOMMU_HWPT_ALLOC with vendor data (VT-d S1, ARM SMMUv3, AMD guest), fault_id, hwpt_data") {
    static iommu_hwpt_vtd_s1 s1{};
    s1.pgtbl_addr = 0xabc000;
    s1.addr_width = 48;
    static iommu_hwpt_arm_smmuv3 ste{};
    ste.ste = {0x1, 0x2};
    static iommu_hwpt_amd_guest dte{};
    dte.dte = {0x3, 0x4, 0x5, 0x6};
    auto v = wi::hwpt_alloc(5, 7, {}, s1);
    REQUIRE(v.has_value());
    GOLDEN_COMPARE("wire::iommufd::hwpt_alloc<iommu_hwpt_vtd_s1>(dev, parent, flags, data)", image(*v),
                   c_image([](void* b) { return golden_hwpt_alloc_data(b, 5, 7, 1, &s1, -1); }));
    auto a = wi::hwpt_alloc(5, 7, {}, ste);
    REQUIRE(a.has_value());
    GOLDEN_COMPARE("wire::iommufd::hwpt_alloc<iommu_hwpt_arm_smmuv3>(dev, parent, flags, data)", image(*a),
                   c_image([](void* b) { return golden_hwpt_alloc_data(b, 5, 7, 2, &ste, -1); }));
    auto d = wi::hwpt_alloc(5, 7, {}, dte);
    REQUIRE(d.has_value());
    GOLDEN_COMPARE("wire::iommufd::hwpt_alloc<iommu_hwpt_amd_guest>(dev, parent, flags, data)", image(*d),
                   c_image([](void* b) { return golden_hwpt_alloc_data(b, 5, 7, 3, &dte, -1); }));
    auto f = wi::hwpt_alloc(5, 7, {}, s1, 9u);
    REQUIRE(f.has_value());
    GOLDEN_COMPARE("wire::iommufd::hwpt_alloc<D>(dev, parent, flags, data, fault_id)", image(*f),
                   c_image([](void* b) { return golden_hwpt_alloc_data(b, 5, 7, 1, &s1, 9); }));
    static wi::hwpt_data data = s1;
    auto hd = wi::hwpt_alloc(5, 7, {}, data);
    REQUIRE(hd.has_value());
    GOLDEN_COMPARE("wire::iommufd::hwpt_alloc(dev, pt, flags, hwpt_data)", image(*hd),
                   c_image([](void* b) { return golden_hwpt_alloc_data(b, 5, 7, 1, &std::get<iommu_hwpt_vtd_s1>(data), -1); }));
    static wi::hwpt_data nothing{};  // monostate: a kernel-managed HWPT, as from an IOAS
    auto hn = wi::hwpt_alloc(5, 6, hwpt_alloc_flag::nest_parent, nothing);
    REQUIRE(hn.has_value());
    GOLDEN_COMPARE("wire::iommufd::hwpt_alloc(dev, pt, flags, hwpt_data)", image(*hn),
                   c_image([](void* b) { return golden_hwpt_alloc_ioas(b, 5, 6, 1, 0, 0, -1); }));
}

GOLDEN_CASE("golden: IOMMU_HWPT_INVALIDATE VT-d S1 and ARM SMMUv3") {
    static std::array<iommu_hwpt_vtd_s1_invalidate, 2> e{};
    auto i = wi::hwpt_invalidate(8, e);
    REQUIRE(i.has_value());
    GOLDEN_COMPARE("wire::iommufd::hwpt_invalidate<iommu_hwpt_vtd_s1_invalidate>(hwpt, entries)", image(*i),
                   c_image([](void* b) { return golden_hwpt_invalidate(b, 8, 0, e.data(), 2); }));
    static std::array<iommu_viommu_arm_smmuv3_invalidate, 3> cmds{};
    auto s = wi::hwpt_invalidate(11, cmds);
    REQUIRE(s.has_value());
    GOLDEN_COMPARE("wire::iommufd::hwpt_invalidate<iommu_viommu_arm_smmuv3_invalidate>(viommu, entries)", image(*s),
                   c_image([](void* b) { return golden_hwpt_invalidate(b, 11, 1, cmds.data(), 3); }));
}

GOLDEN_CASE("golden: IOMMU_GET_HW_INFO without data, into each vendor struct, and asking for the type") {
    GOLDEN_COMPARE("wire::iommufd::get_hw_info(dev)", image(wi::get_hw_info(3)),
                   c_image([](void* b) { return golden_get_hw_info(b, 3, 0, nullptr, 0); }));
    static iommu_hw_info_vtd vtd{};
    static iommu_hw_info_arm_smmuv3 smmu{};
    static iommu_hw_info_tegra241_cmdqv cmdqv{};
    static iommu_hw_info_amd amd{};
    GOLDEN_COMPARE("wire::iommufd::get_hw_info<iommu_hw_info_vtd>(dev, data)", image(wi::get_hw_info(3, vtd)),
                   c_image([](void* b) { return golden_get_hw_info(b, 3, 1, &vtd, 0); }));
    GOLDEN_COMPARE("wire::iommufd::get_hw_info<iommu_hw_info_arm_smmuv3>(dev, data)", image(wi::get_hw_info(3, smmu)),
                   c_image([](void* b) { return golden_get_hw_info(b, 3, 2, &smmu, 0); }));
    GOLDEN_COMPARE("wire::iommufd::get_hw_info<iommu_hw_info_tegra241_cmdqv>(dev, data)", image(wi::get_hw_info(3, cmdqv)),
                   c_image([](void* b) { return golden_get_hw_info(b, 3, 3, &cmdqv, 0); }));
    GOLDEN_COMPARE("wire::iommufd::get_hw_info<iommu_hw_info_amd>(dev, data)", image(wi::get_hw_info(3, amd)),
                   c_image([](void* b) { return golden_get_hw_info(b, 3, 4, &amd, 0); }));
    GOLDEN_COMPARE("wire::iommufd::get_hw_info<D>(dev, data, ask_type)", image(wi::get_hw_info(3, vtd, true)),
                   c_image([](void* b) { return golden_get_hw_info(b, 3, 1, &vtd, 1); }));
    GOLDEN_COMPARE("wire::iommufd::get_hw_info<D>(dev, data, ask_type)", image(wi::get_hw_info(3, smmu, true)),
                   c_image([](void* b) { return golden_get_hw_info(b, 3, 2, &smmu, 1); }));
    GOLDEN_COMPARE("wire::iommufd::get_hw_info<D>(dev, data, ask_type)", image(wi::get_hw_info(3, cmdqv, true)),
                   c_image([](void* b) { return golden_get_hw_info(b, 3, 3, &cmdqv, 1); }));
    GOLDEN_COMPARE("wire::iommufd::get_hw_info<D>(dev, data, ask_type)", image(wi::get_hw_info(3, amd, true)),
                   c_image([](void* b) { return golden_get_hw_info(b, 3, 4, &amd, 1); }));
}

GOLDEN_CASE("golden: IOMMU_HWPT_SET_DIRTY_TRACKING and IOMMU_HWPT_GET_DIRTY_BITMAP") {
    GOLDEN_COMPARE("wire::iommufd::hwpt_set_dirty_tracking(hwpt, enable)", image(wi::hwpt_set_dirty_tracking(8, true)),
                   c_image([](void* b) { return golden_hwpt_set_dirty_tracking(b, 8, 1); }));
    GOLDEN_COMPARE("wire::iommufd::hwpt_set_dirty_tracking(hwpt, enable)", image(wi::hwpt_set_dirty_tracking(8, false)),
                   c_image([](void* b) { return golden_hwpt_set_dirty_tracking(b, 8, 0); }));
    static std::array<u64, 2> bits{};
    auto k = wi::hwpt_get_dirty_bitmap(4, 0x100000, 128 * 4096, 4096, bits, true);
    REQUIRE(k.has_value());
    GOLDEN_COMPARE("wire::iommufd::hwpt_get_dirty_bitmap(hwpt, iova, length, page_size, bitmap, no_clear)", image(*k),
                   c_image([](void* b) { return golden_hwpt_get_dirty_bitmap(b, 4, 0x100000, 128 * 4096, 4096, bits.data(), 1); }));
    auto c = wi::hwpt_get_dirty_bitmap(4, 0x100000, 128 * 4096, 4096, bits);
    REQUIRE(c.has_value());
    GOLDEN_COMPARE("wire::iommufd::hwpt_get_dirty_bitmap(hwpt, iova, length, page_size, bitmap)", image(*c),
                   c_image([](void* b) { return golden_hwpt_get_dirty_bitmap(b, 4, 0x100000, 128 * 4096, 4096, bits.data(), 0); }));
}

GOLDEN_CASE("golden: IOMMU_VIOMMU_ALLOC, VDEVICE_ALLOC, VEVENTQ_ALLOC, HW_QUEUE_ALLOC") {
    GOLDEN_COMPARE("wire::iommufd::viommu_alloc(dev, hwpt, type)", image(wi::viommu_alloc(2, 7, viommu_type::arm_smmuv3)),
                   c_image([](void* b) { return golden_viommu_alloc_smmuv3(b, 2, 7); }));
    static iommu_viommu_tegra241_cmdqv cmdqv{};
    GOLDEN_COMPARE("wire::iommufd::viommu_alloc(dev, hwpt, tegra241_cmdqv data)", image(wi::viommu_alloc(2, 7, cmdqv)),
                   c_image([](void* b) { return golden_viommu_alloc_tegra(b, 2, 7, &cmdqv); }));
    GOLDEN_COMPARE("wire::iommufd::vdevice_alloc(viommu, dev, virt_id)", image(wi::vdevice_alloc(10, 2, 0x10)),
                   c_image([](void* b) { return golden_vdevice_alloc(b, 10, 2, 0x10); }));
    auto q = wi::veventq_alloc(10, veventq_type::arm_smmuv3, 64);
    REQUIRE(q.has_value());
    GOLDEN_COMPARE("wire::iommufd::veventq_alloc(viommu, type, depth)", image(*q),
                   c_image([](void* b) { return golden_veventq_alloc_smmuv3(b, 10, 64); }));
    auto h = wi::hw_queue_alloc(10, hw_queue_type::tegra241_cmdqv, 1, 0x80000000, 0x10000);
    REQUIRE(h.has_value());
    GOLDEN_COMPARE("wire::iommufd::hw_queue_alloc(viommu, type, index, iova, length)", image(*h),
                   c_image([](void* b) { return golden_hw_queue_alloc_tegra(b, 10, 1, 0x80000000, 0x10000); }));
}

GOLDEN_CASE("golden: IOMMU_IOAS_NOIOMMU_GET_PA") {
    auto p = wi::ioas_noiommu_get_pa(3, 0x40000000, 0x100000);
    REQUIRE(p.has_value());
    GOLDEN_COMPARE("wire::iommufd::ioas_noiommu_get_pa(ioas, iova, length)", image(*p),
                   c_image([](void* b) { return golden_ioas_noiommu_get_pa(b, 3, 0x40000000, 0x100000); }));
}

// ---- the 2020 proposal ----
GOLDEN_CASE("golden: VFIO_IOMMU_PASID_REQUEST seed and v7, alloc and free") {
    auto sa = wire::pasid_alloc<abi::seed>({1, 1000});
    REQUIRE(sa.has_value());
    GOLDEN_COMPARE("wire::pasid_alloc<abi::seed>(range)", image(*sa), c_image([](void* b) { return golden_seed_pasid_alloc(b, 1, 1000); }));
    GOLDEN_COMPARE("wire::pasid_free<abi::seed>(pasid)", image(wire::pasid_free<abi::seed>(5u)),
                   c_image([](void* b) { return golden_seed_pasid_free(b, 5); }));
    auto va = wire::pasid_alloc<abi::v7>({1, 1000});
    REQUIRE(va.has_value());
    GOLDEN_COMPARE("wire::pasid_alloc<abi::v7>(range)", image(*va), c_image([](void* b) { return golden_v7_pasid_request(b, 1, 1, 1000); }));
    auto vf = wire::pasid_free<abi::v7>({5, 5});
    REQUIRE(vf.has_value());
    GOLDEN_COMPARE("wire::pasid_free<abi::v7>(range)", image(*vf), c_image([](void* b) { return golden_v7_pasid_request(b, 0, 5, 5); }));
}

namespace {
// The C++ side of the NESTING_OP payloads: values only, with argsz and version left 0 (the builder sets both);
// golden_nesting.c builds the same payloads from the 5.10 <linux/iommu.h> with its own macros.
// `iommu_cache_invalidate_info i{}` zeroes all of i: the granu union's constructor initialises its largest member
// (addr_info). It used to initialise pasid_info (16 bytes) only, leaving bytes 32..55 to whatever was on the stack,
// which the builder copied into the image; these comparisons under Clang are what found it.
iommu_gpasid_bind_data bind_data() {
    iommu_gpasid_bind_data b{};
    b.format = iommu_pasid_format::intel_vtd;
    b.addr_width = 48;
    b.flags = iommu_gpasid_bind_flag::gpasid_val;
    b.gpgd = 0x12345000;
    b.hpasid = 0x42;
    b.gpasid = 0x7;
    b.vendor.vtd.flags = iommu_gpasid_vtd_flag::sre | iommu_gpasid_vtd_flag::eafe;
    b.vendor.vtd.pat = 0x00070406;
    b.vendor.vtd.emt = 0x6;
    return b;
}
iommu_cache_invalidate_info inv_addr() {
    iommu_cache_invalidate_info i{};
    i.cache = iommu_cache_inv_type::iotlb | iommu_cache_inv_type::dev_iotlb;
    i.granularity = iommu_inv_granularity::addr;
    i.granu.addr_info.flags = iommu_inv_addr_flag::pasid | iommu_inv_addr_flag::leaf;
    i.granu.addr_info.pasid = 0x42;
    i.granu.addr_info.addr = 0x7f0000200000;
    i.granu.addr_info.granule_size = 4096;
    i.granu.addr_info.nb_granules = 16;
    return i;
}
iommu_cache_invalidate_info inv_pasid() {
    iommu_cache_invalidate_info i{};
    i.cache = iommu_cache_inv_type::iotlb | iommu_cache_inv_type::pasid;
    i.granularity = iommu_inv_granularity::pasid;
    i.granu.pasid_info = {};
    i.granu.pasid_info.flags = iommu_inv_pasid_flag::pasid;
    i.granu.pasid_info.pasid = 0x42;
    return i;
}
iommu_cache_invalidate_info inv_domain() {
    iommu_cache_invalidate_info i{};
    i.cache = iommu_cache_inv_type::iotlb;
    i.granularity = iommu_inv_granularity::domain;
    return i;
}
template <typename Abi>
void nesting_op_cases(const char* abi_tag, int abi) {
    const std::string v = std::string("wire::nesting_op<abi::") + abi_tag + ">";
    GOLDEN_COMPARE(v + "(bind_pgtbl)", image(wire::nesting_op<Abi>(wire::bind_pgtbl{bind_data()}).value()),
                   c_image([abi](void* b) { return golden_nesting_bind(b, abi, 0, 0x12345000, 0x42, 0x7, 48, 0x00070406, 0x6); }));
    GOLDEN_COMPARE(v + "(unbind_pgtbl)", image(wire::nesting_op<Abi>(wire::unbind_pgtbl{bind_data()}).value()),
                   c_image([abi](void* b) { return golden_nesting_bind(b, abi, 1, 0x12345000, 0x42, 0x7, 48, 0x00070406, 0x6); }));
    GOLDEN_COMPARE(v + "(cache_invalidate)", image(wire::nesting_op<Abi>(wire::cache_invalidate{inv_addr()}).value()),
                   c_image([abi](void* b) { return golden_nesting_inv_addr(b, abi, 0x42, 0x7f0000200000, 4096, 16); }));
    GOLDEN_COMPARE(v + "(cache_invalidate)", image(wire::nesting_op<Abi>(wire::cache_invalidate{inv_pasid()}).value()),
                   c_image([abi](void* b) { return golden_nesting_inv_pasid(b, abi, 0x42); }));
    GOLDEN_COMPARE(v + "(cache_invalidate)", image(wire::nesting_op<Abi>(wire::cache_invalidate{inv_domain()}).value()),
                   c_image([abi](void* b) { return golden_nesting_inv_domain(b, abi); }));
}
}  // namespace

GOLDEN_CASE("golden: VFIO_IOMMU_NESTING_OP seed, every op, payloads from the 5.10 <linux/iommu.h>") {
    nesting_op_cases<abi::seed>("seed", 0);
}
GOLDEN_CASE("golden: VFIO_IOMMU_NESTING_OP v7, every op, payloads from the 5.10 <linux/iommu.h>") {
    nesting_op_cases<abi::v7>("v7", 1);
}

// ---- coverage, per builder variant, from the comparisons the cases above make ----
TEST_CASE("golden: every builder variant is compared with a C image", "[golden][coverage]") {
    comparisons().clear();
    for (const auto& c : golden_cases()) {
        INFO("golden case: " << c.title);
        c.body();
    }
    // Every listed variant belongs to a builder of wire::builders that names its function.
    for (const auto& v : golden_variants) {
        INFO("variant " << abi_name(v.abi) << ":" << v.ioctl << " " << v.variant);
        auto b = std::find_if(wire::builders.begin(), wire::builders.end(),
                              [&](const auto& e) { return e.abi == v.abi && e.ioctl == v.ioctl; });
        REQUIRE(b != wire::builders.end());
        CHECK(describes(b->builder, function_of(v.variant)));
    }
    // Every builder has variants; every variant was compared; every comparison named a listed variant.
    std::vector<std::string> no_variant, not_compared, stray;
    for (const auto& b : wire::builders)
        if (std::none_of(std::begin(golden_variants), std::end(golden_variants),
                         [&](const auto& v) { return v.abi == b.abi && v.ioctl == b.ioctl; }))
            no_variant.push_back(std::string(abi_name(b.abi)) + ":" + std::string(b.ioctl) + " (" + std::string(b.builder) + ")");
    std::size_t made = 0;
    std::printf("golden: comparisons per builder variant\n");
    for (const auto& v : golden_variants) {
        auto it = comparisons().find(v.variant);
        const std::size_t n = it == comparisons().end() ? 0 : it->second;
        made += n;
        std::printf("  %3zu  %-8s %s\n", n, abi_name(v.abi), std::string(v.variant).c_str());
        if (n == 0) not_compared.push_back(std::string(v.variant));
    }
    for (const auto& [name, n] : comparisons())
        if (std::none_of(std::begin(golden_variants), std::end(golden_variants), [&](const auto& v) { return v.variant == name; }))
            stray.push_back(name);
    const std::size_t variants = std::size(golden_variants);
    std::printf("golden: %zu of %zu builder variants compared with a C image (%zu comparisons, %zu builders)\n",
                variants - not_compared.size(), variants, made, wire::builders.size());
    for (const auto& m : no_variant) UNSCOPED_INFO("builder without a golden variant: " << m);
    for (const auto& m : not_compared) UNSCOPED_INFO("variant never compared: " << m);
    for (const auto& m : stray) UNSCOPED_INFO("comparison naming no listed variant: " << m);
    CHECK(no_variant.empty());
    CHECK(not_compared.empty());
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
