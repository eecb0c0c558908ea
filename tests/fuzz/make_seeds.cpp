// make_seeds DIR: writes the seed inputs of every fuzz target into DIR/<target>/ (decode_fuzz, caps_fuzz,
// nesting_rules_fuzz, trace_render_fuzz), each file in its target's input format (see the targets' comments).
// The request images are the golden ones: tests/unit/golden/golden*.c fill the kernel's own structs (7.3 uapi headers,
// the 5.10 <linux/iommu.h> for NESTING_OP payloads, the proposal's headers restated) exactly as the golden tests
// compare them; this program is linked with the same C code and calls it. The replies are written here: the
// testbed's real VFIO_IOMMU_GET_INFO reply (TESTBED.md), a 6.1 kernel's packed chain, a v7 NESTING chain, region
// and device info with capabilities, hot-reset devices, iommufd arrays. Deterministic: no host pointer reaches a
// file (pointer arguments are fixed fake addresses), so the seeds are the same on every run.
// tests/fuzz/corpus/<target>/seed-* are this program's output; see tests/fuzz/README.md.
#include <vfiopp/uapi/registry.hpp>
#include <vfiopp/wire/decode.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "golden_c.hpp"

using namespace vfiopp;
using bytes = std::vector<unsigned char>;

namespace {

std::filesystem::path out_dir;
bool check_only = false;  // --check: compare with the files in out_dir instead of writing them
int mismatches = 0;
std::map<std::string, int> used_names;

void write(const std::string& target, const std::string& name, const bytes& b) {
    std::string file = "seed-" + name;
    if (int n = used_names[target + "/" + file]++; n > 0) file += "-" + std::to_string(n);
    const auto path = out_dir / target / file;
    if (check_only) {
        std::ifstream f(path, std::ios::binary);
        const bytes have((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        if (!f.is_open() || have != b) {
            std::fprintf(stderr, "make_seeds --check: %s %s\n", path.c_str(), f.is_open() ? "differs" : "is missing");
            ++mismatches;
        }
        return;
    }
    std::filesystem::create_directories(out_dir / target);
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!f) {
        std::fprintf(stderr, "make_seeds: cannot write %s\n", path.c_str());
        std::exit(1);
    }
}

template <typename T>
void put(bytes& b, std::size_t off, T v) {
    if (b.size() < off + sizeof v) b.resize(off + sizeof v);
    std::memcpy(b.data() + off, &v, sizeof v);
}
void cap(bytes& b, std::size_t off, std::uint16_t id, std::uint32_t next) {
    put(b, off, id), put<std::uint16_t>(b, off + 2, 1), put(b, off + 4, next);
}
bytes cat(bytes a, const bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// ---- the golden request images ----
struct golden {
    uapi::abi_kind abi;
    std::string_view ioctl;  // kernel name
    bytes image;
};

// The fake tracee addresses pointer fields get: trace_render_fuzz's memory starts at trace_base, the image first
// and pointed-to data at trace_base + trace_extra.
constexpr std::uint64_t trace_base = 0x7ffc00000fe0;  // 32 bytes before a page boundary: images straddle it
constexpr std::size_t trace_extra = 512;
constexpr std::uint64_t extra_addr = trace_base + trace_extra;
template <typename P = void>
P* fake(std::uint64_t a = extra_addr) {
    return reinterpret_cast<P*>(static_cast<std::uintptr_t>(a));
}

std::vector<golden> golden_images() {
    std::vector<golden> g;
    unsigned char buf[4096];
    auto add = [&](uapi::abi_kind abi, std::string_view ioctl, std::size_t n) {
        g.push_back({abi, ioctl, bytes(buf, buf + n)});
    };
    using enum uapi::abi_kind;
    const std::int32_t fds[] = {21, 22, 23};
    const std::uint8_t bools[] = {1, 0, 1};
    const std::uint8_t uuid[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8};
    constexpr std::uint64_t none = ~std::uint64_t{0};
    // vfio container
    add(mainline, "VFIO_IOMMU_GET_INFO", golden_iommu_get_info(buf));
    add(mainline, "VFIO_IOMMU_MAP_DMA", golden_map_dma(buf, 0x7f0012340000, 0x100000, 0x200000));
    add(mainline, "VFIO_IOMMU_UNMAP_DMA", golden_unmap_dma(buf, 0, 0x100000, 0x200000));
    add(mainline, "VFIO_IOMMU_UNMAP_DMA", golden_unmap_dma(buf, golden_unmap_all_flag(), 0, 0));
    add(mainline, "VFIO_IOMMU_UNMAP_DMA", golden_unmap_dma(buf, golden_unmap_vaddr_flag(), 0x100000, 0x200000));
    add(mainline, "VFIO_IOMMU_UNMAP_DMA", golden_unmap_dma_dirty(buf, 0x10000, 65 * 4096, 4096, 16, fake<std::uint64_t>()));
    add(mainline, "VFIO_IOMMU_DIRTY_PAGES", golden_dirty_pages(buf, golden_dirty_pages_start_flag()));
    add(mainline, "VFIO_IOMMU_DIRTY_PAGES", golden_dirty_pages(buf, golden_dirty_pages_stop_flag()));
    add(mainline, "VFIO_IOMMU_DIRTY_PAGES", golden_dirty_pages_get(buf, 0x10000, 65 * 4096, 4096, 16, fake<std::uint64_t>()));
    // vfio group
    add(mainline, "VFIO_GROUP_GET_STATUS", golden_group_get_status(buf));
    add(mainline, "VFIO_GROUP_SET_CONTAINER", golden_group_set_container(buf, 17));
    add(mainline, "VFIO_GROUP_GET_DEVICE_FD", golden_group_get_device_fd(buf, "0000:00:04.0"));
    // vfio device
    add(mainline, "VFIO_DEVICE_GET_INFO", golden_device_get_info(buf));
    add(mainline, "VFIO_DEVICE_GET_REGION_INFO", golden_device_get_region_info(buf, 2));
    add(mainline, "VFIO_DEVICE_GET_REGION_INFO", golden_device_get_region_info(buf, 7));
    add(mainline, "VFIO_DEVICE_GET_IRQ_INFO", golden_device_get_irq_info(buf, 2));
    add(mainline, "VFIO_DEVICE_SET_IRQS", golden_set_irqs_eventfds(buf, 2, 1, fds, 3));
    add(mainline, "VFIO_DEVICE_SET_IRQS", golden_set_irqs_unmask_none(buf, 0, 0, 1));
    add(mainline, "VFIO_DEVICE_SET_IRQS", golden_set_irqs_disable(buf, 2));
    add(mainline, "VFIO_DEVICE_SET_IRQS", golden_set_irqs_unmask_eventfds(buf, 0, 0, fds, 1));
    add(mainline, "VFIO_DEVICE_SET_IRQS", golden_set_irqs_mask_bools(buf, 2, 4, bools, 3));
    add(mainline, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", golden_pci_hot_reset_info(buf, 4));
    add(mainline, "VFIO_DEVICE_PCI_HOT_RESET", golden_pci_hot_reset(buf, fds, 2));
    add(mainline, "VFIO_DEVICE_PCI_HOT_RESET", golden_pci_hot_reset(buf, nullptr, 0));
    add(mainline, "VFIO_DEVICE_QUERY_GFX_PLANE", golden_query_gfx_plane_dmabuf(buf, 1));
    add(mainline, "VFIO_DEVICE_GET_GFX_DMABUF", golden_get_gfx_dmabuf(buf, 0x1234));
    add(mainline, "VFIO_DEVICE_IOEVENTFD", golden_ioeventfd(buf, 8, 0x41, 0xa5, 22));
    add(mainline, "VFIO_DEVICE_IOEVENTFD", golden_ioeventfd(buf, 64, 0x3000, 0x0123456789abcdef, 25));
    add(mainline, "VFIO_DEVICE_IOEVENTFD", golden_ioeventfd(buf, 16, 0x40, 0, -1));
    add(mainline, "VFIO_DEVICE_FEATURE", golden_feature_set_mig_state(buf, 3));
    add(mainline, "VFIO_DEVICE_FEATURE", golden_feature_get(buf, 0));
    add(mainline, "VFIO_DEVICE_FEATURE", golden_feature_get(buf, 1));
    add(mainline, "VFIO_DEVICE_FEATURE", golden_feature_get(buf, 2));
    add(mainline, "VFIO_DEVICE_FEATURE", golden_feature_probe_migration(buf));
    add(mainline, "VFIO_DEVICE_FEATURE", golden_feature_set_vf_token(buf, uuid));
    add(mainline, "VFIO_DEVICE_FEATURE", golden_feature_set_low_power_entry(buf));
    add(mainline, "VFIO_DEVICE_FEATURE", golden_feature_probe_low_power_exit(buf));
    add(mainline, "VFIO_DEVICE_FEATURE", golden_feature_set_bus_master(buf, 1));
    add(mainline, "VFIO_DEVICE_BIND_IOMMUFD", golden_bind_iommufd(buf, 5, nullptr));
    add(mainline, "VFIO_DEVICE_BIND_IOMMUFD", golden_bind_iommufd(buf, 5, fake<const std::uint8_t>()));
    add(mainline, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", golden_attach_pt(buf, 9, -1));
    add(mainline, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", golden_attach_pt(buf, 9, 0x55));
    add(mainline, "VFIO_DEVICE_DETACH_IOMMUFD_PT", golden_detach_pt(buf, -1));
    add(mainline, "VFIO_DEVICE_DETACH_IOMMUFD_PT", golden_detach_pt(buf, 0x55));
    add(mainline, "VFIO_MIG_GET_PRECOPY_INFO", golden_mig_get_precopy_info(buf));
    // iommufd
    add(mainline, "IOMMU_DESTROY", golden_destroy(buf, 42));
    add(mainline, "IOMMU_IOAS_ALLOC", golden_ioas_alloc(buf));
    add(mainline, "IOMMU_IOAS_ALLOW_IOVAS", golden_ioas_allow_iovas(buf, 3, fake(), 2));
    add(mainline, "IOMMU_IOAS_COPY", golden_ioas_copy(buf, 4, 3, 0x40000000, 0x200000, 0x90000000));
    add(mainline, "IOMMU_IOAS_COPY", golden_ioas_copy(buf, 4, 3, 0x40000000, 0x200000, none));
    add(mainline, "IOMMU_IOAS_IOVA_RANGES", golden_ioas_iova_ranges(buf, 3));
    add(mainline, "IOMMU_IOAS_MAP", golden_ioas_map(buf, 3, 0x7f0000000000, 0x200000, 0x40000000));
    add(mainline, "IOMMU_IOAS_MAP", golden_ioas_map(buf, 3, 0x7f0000000000, 0x200000, none));
    add(mainline, "IOMMU_IOAS_MAP_FILE", golden_ioas_map_file(buf, 3, 9, 0x1000, 0x200000, 0x80000000));
    add(mainline, "IOMMU_IOAS_UNMAP", golden_ioas_unmap(buf, 3, 0, UINT64_MAX));
    add(mainline, "IOMMU_IOAS_UNMAP", golden_ioas_unmap(buf, 3, 0x40000000, 0x200000));
    add(mainline, "IOMMU_OPTION", golden_option(buf, 0, 0, 0));
    add(mainline, "IOMMU_OPTION", golden_option(buf, 1, 3, 1));
    add(mainline, "IOMMU_VFIO_IOAS", golden_vfio_ioas(buf, 0, 0));
    add(mainline, "IOMMU_VFIO_IOAS", golden_vfio_ioas(buf, 1, 6));
    add(mainline, "IOMMU_VFIO_IOAS", golden_vfio_ioas(buf, 2, 0));
    add(mainline, "IOMMU_HWPT_ALLOC", golden_hwpt_alloc_data(buf, 5, 7, 1, fake(), -1));
    add(mainline, "IOMMU_HWPT_ALLOC", golden_hwpt_alloc_data(buf, 5, 7, 2, fake(), 9));
    add(mainline, "IOMMU_HWPT_ALLOC", golden_hwpt_alloc_data(buf, 5, 7, 3, fake(), -1));
    add(mainline, "IOMMU_HWPT_ALLOC", golden_hwpt_alloc_ioas(buf, 5, 6, 1, 1, 0, 12));
    add(mainline, "IOMMU_HWPT_ALLOC", golden_hwpt_alloc_ioas(buf, 5, 6, 0, 0, 1, -1));
    add(mainline, "IOMMU_GET_HW_INFO", golden_get_hw_info(buf, 3, 0, nullptr, 0));
    add(mainline, "IOMMU_GET_HW_INFO", golden_get_hw_info(buf, 3, 1, fake(), 0));
    add(mainline, "IOMMU_GET_HW_INFO", golden_get_hw_info(buf, 3, 2, fake(), 1));
    add(mainline, "IOMMU_GET_HW_INFO", golden_get_hw_info(buf, 3, 4, fake(), 1));
    add(mainline, "IOMMU_HWPT_SET_DIRTY_TRACKING", golden_hwpt_set_dirty_tracking(buf, 8, 1));
    add(mainline, "IOMMU_HWPT_GET_DIRTY_BITMAP",
        golden_hwpt_get_dirty_bitmap(buf, 4, 0x100000, 128 * 4096, 4096, fake<std::uint64_t>(), 1));
    add(mainline, "IOMMU_HWPT_INVALIDATE", golden_hwpt_invalidate(buf, 8, 0, fake(), 2));
    add(mainline, "IOMMU_HWPT_INVALIDATE", golden_hwpt_invalidate(buf, 11, 1, fake(), 3));
    add(mainline, "IOMMU_FAULT_QUEUE_ALLOC", golden_fault_queue_alloc(buf));
    add(mainline, "IOMMU_VIOMMU_ALLOC", golden_viommu_alloc_smmuv3(buf, 2, 7));
    add(mainline, "IOMMU_VIOMMU_ALLOC", golden_viommu_alloc_tegra(buf, 2, 7, fake()));
    add(mainline, "IOMMU_VDEVICE_ALLOC", golden_vdevice_alloc(buf, 10, 2, 0x10));
    add(mainline, "IOMMU_IOAS_CHANGE_PROCESS", golden_ioas_change_process(buf));
    add(mainline, "IOMMU_VEVENTQ_ALLOC", golden_veventq_alloc_smmuv3(buf, 10, 64));
    add(mainline, "IOMMU_HW_QUEUE_ALLOC", golden_hw_queue_alloc_tegra(buf, 10, 1, 0x80000000, 0x10000));
    add(mainline, "IOMMU_IOAS_NOIOMMU_GET_PA", golden_ioas_noiommu_get_pa(buf, 3, 0x40000000, 0x100000));
    // the 2020 proposal
    add(seed, "VFIO_IOMMU_PASID_REQUEST", golden_seed_pasid_alloc(buf, 1, 1000));
    add(seed, "VFIO_IOMMU_PASID_REQUEST", golden_seed_pasid_free(buf, 5));
    add(v7, "VFIO_IOMMU_PASID_REQUEST", golden_v7_pasid_request(buf, 1, 1, 1000));
    add(v7, "VFIO_IOMMU_PASID_REQUEST", golden_v7_pasid_request(buf, 0, 5, 5));
    for (int abi = 0; abi < 2; ++abi) {
        const auto k = abi ? v7 : seed;
        add(k, "VFIO_IOMMU_NESTING_OP", golden_nesting_bind(buf, abi, 0, 0x12345000, 0x42, 0x7, 48, 0x00070406, 0x6));
        add(k, "VFIO_IOMMU_NESTING_OP", golden_nesting_bind(buf, abi, 1, 0x12345000, 0x42, 0x7, 48, 0x00070406, 0x6));
        add(k, "VFIO_IOMMU_NESTING_OP", golden_nesting_inv_addr(buf, abi, 0x42, 0x7f0000200000, 4096, 16));
        add(k, "VFIO_IOMMU_NESTING_OP", golden_nesting_inv_pasid(buf, abi, 0x42));
        add(k, "VFIO_IOMMU_NESTING_OP", golden_nesting_inv_domain(buf, abi));
    }
    return g;
}

// ---- replies (what the kernel writes back) ----
bytes testbed_iommu_info() {  // MIGRATION @24 -> DMA_AVAIL @56 -> IOVA_RANGE @72 (two ranges)
    bytes t(120);
    put<std::uint32_t>(t, 0, 120), put<std::uint32_t>(t, 4, 3), put<std::uint64_t>(t, 8, 0x40201000);
    put<std::uint32_t>(t, 16, 24);
    cap(t, 24, 2, 56), put<std::uint64_t>(t, 40, 0x1000), put<std::uint64_t>(t, 48, 0x10000000);
    cap(t, 56, 3, 72), put<std::uint32_t>(t, 64, 65535);
    cap(t, 72, 1, 0), put<std::uint32_t>(t, 80, 2), put<std::uint64_t>(t, 96, 0xfedfffff);
    put<std::uint64_t>(t, 104, 0xfef00000), put<std::uint64_t>(t, 112, 0xffffffffffff);
    return t;
}
bytes packed_iommu_info() {  // a 6.1 kernel: DMA_AVAIL @56 (12 bytes) -> IOVA_RANGE @68 (4 mod 8)
    bytes t(116);
    put<std::uint32_t>(t, 0, 116), put<std::uint32_t>(t, 4, 3), put<std::uint64_t>(t, 8, 0x40201000);
    put<std::uint32_t>(t, 16, 24);
    cap(t, 24, 2, 56), put<std::uint64_t>(t, 40, 0x1000), put<std::uint64_t>(t, 48, 0x10000000);
    cap(t, 56, 3, 68), put<std::uint32_t>(t, 64, 65535);
    cap(t, 68, 1, 0), put<std::uint32_t>(t, 76, 2), put<std::uint64_t>(t, 92, 0xfedfffff);
    put<std::uint64_t>(t, 100, 0xfef00000), put<std::uint64_t>(t, 108, 0xffffffffffff);
    return t;
}
bytes truncated_iommu_info() {  // argsz 24 asked: CAPS set, cap_offset 0, argsz raised to 120
    bytes t(24);
    put<std::uint32_t>(t, 0, 120), put<std::uint32_t>(t, 4, 3), put<std::uint64_t>(t, 8, 0x40201000);
    return t;
}
bytes v7_nesting_info() {  // v7 NESTING @24 with a VT-d iommu_nesting_info
    bytes t(88);
    put<std::uint32_t>(t, 0, 88), put<std::uint32_t>(t, 4, 3), put<std::uint32_t>(t, 16, 24), cap(t, 24, 3, 0);
    put<std::uint32_t>(t, 32, 56), put<std::uint32_t>(t, 40, 1), put<std::uint32_t>(t, 44, 7);
    put<std::uint64_t>(t, 72, 0xd2008c222f0606);
    return t;
}
bytes region_info() {  // SPARSE_MMAP (2 areas) -> TYPE -> MSIX_MAPPABLE -> unknown
    bytes r(120);
    put<std::uint32_t>(r, 0, 120), put<std::uint32_t>(r, 4, 0xf), put<std::uint32_t>(r, 12, 32);
    put<std::uint64_t>(r, 16, 0x100000);
    cap(r, 32, 1, 80), put<std::uint32_t>(r, 40, 2), put<std::uint64_t>(r, 56, 0x2000), put<std::uint64_t>(r, 64, 0x3000);
    cap(r, 80, 2, 96), put<std::uint32_t>(r, 88, 0x80008086), cap(r, 96, 3, 104), cap(r, 104, 4, 0);
    return r;
}
bytes device_info() {  // PCI_ATOMIC_COMP -> ZPCI_BASE (unknown to device_info_caps)
    bytes d(48);
    put<std::uint32_t>(d, 0, 48), put<std::uint32_t>(d, 4, 0x82), put<std::uint32_t>(d, 8, 9), put<std::uint32_t>(d, 12, 5);
    put<std::uint32_t>(d, 16, 24), cap(d, 24, 5, 40), put<std::uint32_t>(d, 32, 3), cap(d, 40, 1, 0);
    return d;
}

struct reply_image {
    std::string name;
    std::string_view ioctl;
    bytes image;
};
std::vector<reply_image> replies() {
    return {{"iommu-info-testbed", "VFIO_IOMMU_GET_INFO", testbed_iommu_info()},
            {"iommu-info-packed-6.1", "VFIO_IOMMU_GET_INFO", packed_iommu_info()},
            {"iommu-info-truncated", "VFIO_IOMMU_GET_INFO", truncated_iommu_info()},
            {"iommu-info-v7-nesting", "VFIO_IOMMU_GET_INFO", v7_nesting_info()},
            {"region-info-caps", "VFIO_DEVICE_GET_REGION_INFO", region_info()},
            {"device-info-caps", "VFIO_DEVICE_GET_INFO", device_info()}};
}

std::string label(const golden& g) {
    return std::string(uapi::to_string(g.abi)) + "-" + std::string(g.ioctl);
}

// ---- decode_fuzz: byte 0 def index, byte 1 options (0x80 | fd, 0x40 | abi << 3, 0x20 by name) ----
void decode_seeds(const std::vector<golden>& gold) {
    std::vector<std::pair<std::string_view, uapi::abi_kind>> defs;
    std::vector<std::size_t> sizes;
    std::vector<unsigned char> fds;
    wire::for_each_decodable([&](const auto& d) {
        using Arg = typename std::decay_t<decltype(d)>::arg_type;
        defs.emplace_back(d.name, d.abi);
        sizes.push_back(std::is_same_v<Arg, uapi::no_arg> ? 0 : sizeof(Arg));
        fds.push_back(static_cast<unsigned char>(d.fd));
    });
    auto index_of = [&](std::string_view name, uapi::abi_kind abi) {
        for (std::size_t i = 0; i < defs.size(); ++i)
            if (defs[i].first == name && defs[i].second == abi) return i;
        std::fprintf(stderr, "make_seeds: no def %.*s\n", static_cast<int>(name.size()), name.data());
        std::exit(1);
    };
    auto opts = [&](std::size_t i) {
        return static_cast<unsigned char>(0xc0 | fds[i] | (static_cast<unsigned>(defs[i].second) << 3));
    };
    for (std::size_t i = 0; i < defs.size(); ++i)  // every def: a zeroed image of its size, by code and by name
        write("decode_fuzz", "zero-" + std::string(uapi::to_string(defs[i].second)) + "-" + std::string(defs[i].first),
              cat({static_cast<unsigned char>(i), static_cast<unsigned char>(opts(i) | (i % 2 ? 0x20 : 0))}, bytes(sizes[i])));
    for (const auto& g : gold) {
        const auto i = index_of(g.ioctl, g.abi);
        write("decode_fuzz", label(g), cat({static_cast<unsigned char>(i), opts(i)}, g.image));
    }
    for (const auto& r : replies()) {
        const auto i = index_of(r.ioctl, uapi::abi_kind::mainline);
        write("decode_fuzz", r.name, cat({static_cast<unsigned char>(i), opts(i)}, r.image));
        write("decode_fuzz", r.name + "-any-fd-unaligned", cat({static_cast<unsigned char>(i), 0x10}, r.image));
    }
    write("decode_fuzz", "code-0x3b70-ambiguous", cat({0x70, 0}, testbed_iommu_info()));
    write("decode_fuzz", "code-0x3bff-unknown", {0xff, 0xc0, 0, 0, 0, 0});
}

// ---- caps_fuzz: byte 0 misalignment, then the reply ----
void caps_seeds(const std::vector<golden>& gold) {
    for (const auto& r : replies()) {
        write("caps_fuzz", r.name, cat({0}, r.image));
        write("caps_fuzz", r.name + "-off4", cat({4}, r.image));
    }
    for (const auto& g : gold)
        if (g.ioctl == "VFIO_IOMMU_GET_INFO" || g.ioctl == "VFIO_DEVICE_GET_INFO" || g.ioctl == "VFIO_DEVICE_GET_REGION_INFO")
            write("caps_fuzz", label(g), cat({0}, g.image));
    bytes big = testbed_iommu_info();  // argsz below the buffer: the chain ends at argsz
    big.resize(256, 0xa5);
    write("caps_fuzz", "iommu-info-buffer-past-argsz", cat({1}, big));
}

// ---- nesting_rules_fuzz: byte 0 = v7 (bit 0) | NESTING_OP (bit 1) | kernel state bits, then the image ----
void nesting_seeds(const std::vector<golden>& gold) {
    for (const auto& g : gold) {
        if (g.abi == uapi::abi_kind::mainline) continue;
        const unsigned char sel = (g.abi == uapi::abi_kind::v7 ? 1 : 0) | (g.ioctl == "VFIO_IOMMU_NESTING_OP" ? 2 : 0);
        write("nesting_rules_fuzz", label(g), cat({sel}, g.image));
        write("nesting_rules_fuzz", label(g) + "-no-vtd", cat({static_cast<unsigned char>(sel | 0x20)}, g.image));
        if (sel & 2) write("nesting_rules_fuzz", label(g) + "-no-features", cat({static_cast<unsigned char>(sel | 0xc0)}, g.image));
        else write("nesting_rules_fuzz", label(g) + "-no-vfio-mm", cat({static_cast<unsigned char>(sel | 0x08)}, g.image));
    }
}

// ---- trace_render_fuzz: a 32-byte header, then the tracee's memory at `base` ----
struct trace_case {
    std::uint8_t kind = 0, flags = 0x1;
    std::uint16_t sel = 0;
    std::uint32_t code = 0;
    std::uint64_t base = trace_base;
    std::int32_t arg_delta = 0;
    std::int64_t rval = 0;
    bytes before, after;  // memory at entry; at exit (empty: unchanged)
};
void write_trace(const std::string& name, const trace_case& c) {
    bytes h(32);
    put(h, 0, c.kind), put(h, 1, static_cast<std::uint8_t>(c.flags | (c.after.empty() ? 0 : 0x4))), put(h, 2, c.sel);
    put(h, 4, c.code), put(h, 8, c.base), put(h, 16, c.arg_delta);
    put(h, 20, static_cast<std::uint32_t>(c.before.size())), put(h, 24, c.rval);
    write("trace_render_fuzz", name, cat(cat(h, c.before), c.after));
}
std::uint16_t registry_index(std::string_view name, uapi::abi_kind abi) {
    for (std::size_t i = 0; i < uapi::ioctl_registry.size(); ++i)
        if (uapi::ioctl_registry[i].name == name && uapi::ioctl_registry[i].abi == abi) return static_cast<std::uint16_t>(i);
    std::fprintf(stderr, "make_seeds: no registry entry %.*s\n", static_cast<int>(name.size()), name.data());
    std::exit(1);
}
bytes with_extra(bytes image, const bytes& extra) {  // the image, then `extra` at trace_extra
    image.resize(trace_extra, 0);
    return cat(image, extra);
}

void trace_seeds(const std::vector<golden>& gold) {
    using enum uapi::abi_kind;
    bytes ranges;  // two iommu_iova_range at extra_addr
    put<std::uint64_t>(ranges, 0, 0x1000), put<std::uint64_t>(ranges, 8, 0xfedfffff);
    put<std::uint64_t>(ranges, 16, 0xfef00000), put<std::uint64_t>(ranges, 24, 0xffffffffffff);
    for (const auto& g : gold) {  // every golden request, the kernel leaving it unchanged
        trace_case c;
        c.sel = registry_index(g.ioctl, g.abi);
        c.before = g.ioctl == "IOMMU_IOAS_ALLOW_IOVAS" ? with_extra(g.image, ranges) : g.image;
        write_trace(label(g), c);
    }
    auto reply_case = [&](std::string_view ioctl, bytes before, bytes after, std::int64_t rval = 0, bool failed = false) {
        trace_case c;
        c.sel = registry_index(ioctl, mainline);
        c.flags = static_cast<std::uint8_t>(0x1 | (failed ? 0x2 : 0));
        c.rval = rval;
        c.before = std::move(before);
        c.after = std::move(after);
        return c;
    };
    // GET_INFO with room for the chain, and the chains the kernel writes
    for (const auto& r : replies()) {
        if (r.name == "iommu-info-v7-nesting") continue;  // the tracer decodes mainline only
        bytes req(r.image.size());
        put<std::uint32_t>(req, 0, static_cast<std::uint32_t>(r.image.size()));
        if (r.ioctl == "VFIO_DEVICE_GET_REGION_INFO") put<std::uint32_t>(req, 8, 2);
        if (r.name == "iommu-info-truncated") put<std::uint32_t>(req, 0, 24);
        write_trace("reply-" + r.name, reply_case(r.ioctl, req, r.image));
    }
    {  // GET_PCI_HOT_RESET_INFO: ENOSPC with count set, then the devices
        bytes req(12 + 4 * 8);
        put<std::uint32_t>(req, 0, 12), put<std::uint32_t>(req, 8, 0);
        bytes nospc = req;
        put<std::uint32_t>(nospc, 8, 2);
        write_trace("reply-hot-reset-info-enospc", reply_case("VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", bytes(req.begin(), req.begin() + 12),
                                                              bytes(nospc.begin(), nospc.begin() + 12), -ENOSPC, true));
        put<std::uint32_t>(req, 0, 28);
        bytes full = req;
        put<std::uint32_t>(full, 4, 1), put<std::uint32_t>(full, 8, 2);
        put<std::uint32_t>(full, 12, 7), put<std::uint16_t>(full, 16, 0), put<std::uint8_t>(full, 18, 0), put<std::uint8_t>(full, 19, 0x18);
        put<std::uint32_t>(full, 20, 8), put<std::uint16_t>(full, 24, 0), put<std::uint8_t>(full, 26, 1), put<std::uint8_t>(full, 27, 0);
        write_trace("reply-hot-reset-info", reply_case("VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", bytes(req.begin(), req.begin() + 28),
                                                       bytes(full.begin(), full.begin() + 28)));
    }
    {  // IOMMU_IOAS_IOVA_RANGES: capacity 4 at extra_addr, the kernel fills 2
        bytes req(32);
        put<std::uint32_t>(req, 0, 32), put<std::uint32_t>(req, 4, 3), put<std::uint32_t>(req, 8, 4);
        put<std::uint64_t>(req, 16, extra_addr);
        bytes rep = req;
        put<std::uint32_t>(rep, 8, 2), put<std::uint64_t>(rep, 24, 0x1000);
        write_trace("reply-ioas-iova-ranges", reply_case("IOMMU_IOAS_IOVA_RANGES", with_extra(req, {}), with_extra(rep, ranges)));
        put<std::uint32_t>(req, 8, 1);
        rep = req;
        put<std::uint32_t>(rep, 8, 2);
        write_trace("reply-ioas-iova-ranges-emsgsize",
                    reply_case("IOMMU_IOAS_IOVA_RANGES", with_extra(req, {}), with_extra(rep, ranges), -EMSGSIZE, true));
    }
    {  // IOMMU_GET_HW_INFO: VT-d data at extra_addr
        bytes req(40);
        put<std::uint32_t>(req, 0, 40), put<std::uint32_t>(req, 8, 3), put<std::uint32_t>(req, 12, 24);
        put<std::uint64_t>(req, 16, extra_addr);
        bytes rep = req;
        put<std::uint32_t>(rep, 24, 1), put<std::uint8_t>(rep, 28, 20), put<std::uint64_t>(rep, 32, 1);
        bytes vtd;
        put<std::uint32_t>(vtd, 0, 0), put<std::uint32_t>(vtd, 4, 0), put<std::uint64_t>(vtd, 8, 0xd2008c22260206);
        put<std::uint64_t>(vtd, 16, 0xf050da);
        write_trace("reply-get-hw-info-vtd", reply_case("IOMMU_GET_HW_INFO", with_extra(req, {}), with_extra(rep, vtd)));
    }
    {  // VFIO_DEVICE_FEATURE: MIG_DEVICE_STATE SET answers a data_fd; GET MIGRATION fills flags
        bytes req(16);
        put<std::uint32_t>(req, 0, 16), put<std::uint32_t>(req, 4, (1u << 17) | 8), put<std::uint32_t>(req, 8, 3);
        put<std::int32_t>(req, 12, -1);
        bytes rep = req;
        put<std::int32_t>(rep, 12, 12);
        write_trace("reply-feature-mig-state-data-fd", reply_case("VFIO_DEVICE_FEATURE", req, rep));
        bytes get(16);
        put<std::uint32_t>(get, 0, 16), put<std::uint32_t>(get, 4, (1u << 16) | 1);
        bytes got = get;
        put<std::uint64_t>(got, 8, 0x7);
        write_trace("reply-feature-get-migration", reply_case("VFIO_DEVICE_FEATURE", get, got));
    }
    {  // fds returned: GROUP_GET_DEVICE_FD's value, FAULT_QUEUE_ALLOC's out field
        bytes name{'0', '0', '0', '0', ':', '0', '0', ':', '0', '4', '.', '0', 0};
        write_trace("reply-group-get-device-fd", reply_case("VFIO_GROUP_GET_DEVICE_FD", name, {}, 9));
        bytes req(16);
        put<std::uint32_t>(req, 0, 16);
        bytes rep = req;
        put<std::uint32_t>(rep, 8, 4), put<std::int32_t>(rep, 12, 11);
        write_trace("reply-fault-queue-alloc", reply_case("IOMMU_FAULT_QUEUE_ALLOC", req, rep));
    }
    {  // value and no-argument ioctls: the argument is the value
        trace_case c;
        c.sel = registry_index("VFIO_CHECK_EXTENSION", mainline);
        c.base = 0;
        c.arg_delta = 3;  // VFIO_TYPE1v2_IOMMU
        c.rval = 1;
        write_trace("value-check-extension", c);
        c.sel = registry_index("VFIO_GET_API_VERSION", mainline);
        c.arg_delta = 0;
        write_trace("none-get-api-version", c);
    }
    {  // the argument unreadable, half readable, argsz clipped
        trace_case c;
        c.sel = registry_index("VFIO_IOMMU_MAP_DMA", mainline);
        c.arg_delta = -4096;
        c.before = bytes(32);
        write_trace("unreadable-argument", c);
        c.arg_delta = 0;
        c.before.resize(16);
        put<std::uint32_t>(c.before, 0, 32);
        write_trace("half-readable-argument", c);
        put<std::uint32_t>(c.before, 0, 0x7fffffff);
        c.flags |= 0x8;  // short pieces
        write_trace("argsz-clipped-short-reads", c);
    }
    for (std::string_view path : {"/dev/vfio/12", "/dev/vfio/noiommu-0", "/dev/vfio/devices/vfio3", "/dev/iommu",
                                  "/dev/vfio/vfio", "anon_inode:[vfio-device]", "/tmp/fake-vfio"}) {  // open()'s path
        trace_case c;
        c.flags = 0x1 | 0x20;
        c.sel = registry_index("VFIO_GET_API_VERSION", mainline);
        c.before.assign(path.begin(), path.end());
        c.before.push_back(0);
        std::string name(path);
        for (auto& ch : name)
            if (ch == '/' || ch == ':' || ch == '[' || ch == ']') ch = '_';
        write_trace("open-path" + name, c);
    }
    {  // codes nothing resolves: a VFIO code on a non-VFIO fd, an unknown code on a device
        trace_case c;
        c.flags = 0;
        c.kind = 0;
        c.code = 0x3b71;
        c.before = bytes(32);
        write_trace("vfio-code-on-other-fd", c);
        c.kind = 3;
        c.code = 0x3bf0;
        write_trace("unknown-code-on-device", c);
    }
}

}  // namespace

int main(int argc, char** argv) {
    check_only = argc == 3 && std::string_view(argv[1]) == "--check";
    if (argc != 2 + check_only) {
        std::fprintf(stderr, "usage: make_seeds [--check] DIR\n");
        return 2;
    }
    out_dir = argv[1 + check_only];
    const auto gold = golden_images();
    decode_seeds(gold);
    caps_seeds(gold);
    nesting_seeds(gold);
    trace_seeds(gold);
    std::size_t n = 0;
    for (const auto& [file, count] : used_names) n += static_cast<std::size_t>(count);
    if (check_only && mismatches) {
        std::fprintf(stderr, "make_seeds --check: %d of %zu seeds differ; regenerate them (tests/fuzz/README.md)\n",
                     mismatches, n);
        return 1;
    }
    std::printf("make_seeds: %zu seeds %s %s\n", n, check_only ? "match in" : "written to", out_dir.c_str());
    return 0;
}
