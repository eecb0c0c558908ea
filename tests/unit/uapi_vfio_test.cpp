// Runtime checks of the <linux/vfio.h> mirror beyond its static asserts and the kernel-header cross-check:
// request codes against the numbers VMMs hard-code, name lookups, printing, unknown flag bits, the flexible
// array descriptors and the multi-bit sub-fields of flags words.
#include <vfiopp/fmt.hpp>
#include <vfiopp/uapi/all_ioctls.hpp>
#include <vfiopp/uapi/vfio.hpp>

#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <set>
#include <string>
#include <tuple>

using namespace vfiopp::uapi;

TEST_CASE("vfio ioctl codes are the numbers userspace uses", "[uapi][vfio]") {
    // These are the request numbers as strace prints them; the cross-check proves the rest against the macros.
    STATIC_CHECK(vfio::iommu_map_dma.code == 0x3b71);
    STATIC_CHECK(vfio::device_set_irqs.code == 0x3b6e);
    STATIC_CHECK(vfio::device_feature.code == 0x3b75);
    STATIC_CHECK(vfio::group_get_device_fd.code == 0x3b6a);
    STATIC_CHECK(vfio::mig_get_precopy_info.code == 0x3b79);
    CHECK(vfio::iommu_map_dma.name == "VFIO_IOMMU_MAP_DMA");
    CHECK(vfio::iommu_map_dma.fd == fd_kind::container);
    CHECK(vfio::iommu_map_dma.arg == arg_kind::in);
    CHECK(vfio::device_set_irqs.fd == fd_kind::device);
    CHECK(vfio::device_feature.arg == arg_kind::inout);
    CHECK(vfio::group_get_device_fd.fd == fd_kind::group);
    STATIC_CHECK(std::is_same_v<decltype(vfio::iommu_unmap_dma)::arg_type, vfio_iommu_type1_dma_unmap>);
}

TEST_CASE("vfio ioctl list: names unique, codes unique per fd kind", "[uapi][vfio]") {
    // Numbers are reused across fd kinds (IOMMU_GET_INFO == DEVICE_GET_PCI_HOT_RESET_INFO), never within one.
    std::set<std::string_view> names;
    std::set<std::pair<fd_kind, u32>> codes;
    std::size_t n = 0;
    std::apply(
        [&](const auto&... d) {
            ((names.insert(d.name), codes.insert({d.fd, d.code}), ++n), ...);
        },
        vfio::all_ioctls);
    CHECK(n == 28);
    CHECK(names.size() == n);
    CHECK(codes.size() == n);
    CHECK(vfio::iommu_get_info.code == vfio::device_get_pci_hot_reset_info.code);
}

TEST_CASE("vfio enums look up by C++ and kernel name", "[uapi][vfio]") {
    CHECK(enum_name(pci_irq_index::msix) == "msix");
    CHECK(kernel_name(pci_irq_index::msi) == "VFIO_PCI_MSI_IRQ_INDEX");
    CHECK(enum_from_name<pci_region_index>("VFIO_PCI_CONFIG_REGION_INDEX") == pci_region_index::config);
    CHECK(enum_from_name<device_mig_state>("stop_copy") == device_mig_state::stop_copy);
    CHECK(static_cast<u32>(device_mig_state::pre_copy_p2p) == 7);
    CHECK(enum_from_name<device_feature_id>("VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE") ==
          device_feature_id::mig_device_state);
    CHECK(kernel_name(extension::type1v2_iommu) == "VFIO_TYPE1v2_IOMMU");
    CHECK_FALSE(enum_name(static_cast<extension>(2)).has_value());  // SPAPR TCE: deliberately not mirrored
    CHECK_FALSE(enum_from_name<pci_irq_index>("msi-x").has_value());
    CHECK(fmt::format("{}", region_info_cap::sparse_mmap) == "sparse_mmap");
    CHECK(fmt::format("{}", static_cast<region_info_cap>(0x42)) == "0x42");
}

TEST_CASE("vfio structs print field by field", "[uapi][vfio][fmt]") {
    vfio_iommu_type1_dma_map map{};
    map.argsz = sizeof map;
    map.flags = map_dma_flag::read | map_dma_flag::write;
    map.vaddr = 0x7f0000000000;
    map.iova = 0x100000;
    map.size = 0x200000;
    CHECK(fmt::format("{}", map) ==
          "vfio_iommu_type1_dma_map{argsz=32, flags=read|write, vaddr=0x7f0000000000, iova=0x100000, size=0x200000}");

    vfio_device_feature_mig_state st{};
    st.device_state = device_mig_state::running_p2p;
    st.data_fd = -1;
    CHECK(fmt::format("{}", st) == "vfio_device_feature_mig_state{device_state=running_p2p, data_fd=-1}");

    // a nested capability header prints as a struct
    vfio_region_info_cap_type cap{};
    cap.header.id = static_cast<u16>(region_info_cap::type);
    cap.header.version = 1;
    cap.type = static_cast<u32>(region_type::gfx);
    cap.subtype = static_cast<u32>(gfx_region_subtype::edid);
    CHECK(fmt::format("{}", cap) ==
          "vfio_region_info_cap_type{header=vfio_info_cap_header{id=2, version=1, next=0}, type=1, subtype=1}");

    // a named union (the kernel's anonymous one) prints as bytes
    vfio_pci_dependent_device dep{};
    dep.id.devid = 0x01020304;
    dep.segment = 0;
    dep.bus = 3;
    dep.devfn = 0x08;
    CHECK(fmt::format("{}", dep) == "vfio_pci_dependent_device{id={04030201}, segment=0, bus=3, devfn=8}");
}

TEST_CASE("vfio bitmasks keep unknown bits and name sub-field bits", "[uapi][vfio][fmt]") {
    // device feature flags: the low 16 bits are the feature number, not named bits
    auto f = bitmask<device_feature_flag>::from_bits(
        static_cast<u32>(device_feature_id::mig_device_state) | static_cast<u32>(device_feature_flag::set));
    CHECK(f.has(device_feature_flag::set));
    CHECK_FALSE(f.has(device_feature_flag::get));
    CHECK((f.bits() & device_feature_mask) == 2);
    CHECK(f.unknown() == 2);
    CHECK(fmt::format("{}", f) == "set|0x2");

    auto irq = irq_set_flag::data_eventfd | irq_set_flag::action_trigger;
    CHECK((irq.bits() & irq_set_data_type_mask) == static_cast<u32>(irq_set_flag::data_eventfd));
    CHECK((irq.bits() & irq_set_action_type_mask) == static_cast<u32>(irq_set_flag::action_trigger));
    CHECK(fmt::format("{}", irq) == "data_eventfd|action_trigger");

    // bit 4 of VFIO_DEVICE_FLAGS is vfio-ccw (s390, not mirrored): kept and printed as hex
    auto dev = bitmask<device_info_flag>::from_bits(0x1u | 0x2u | 0x10u | 0x80u);
    CHECK(dev.unknown() == 0x10);
    CHECK(fmt::format("{}", dev) == "reset|pci|caps|0x10");

    // a 64-bit flags word (vfio_device_feature_migration)
    vfio_device_feature_migration mig{};
    mig.flags = migration_flag::stop_copy | migration_flag::pre_copy;
    mig.flags |= bitmask<migration_flag>::from_bits(u64{1} << 40);
    CHECK(mig.flags.unknown() == u64{1} << 40);
    CHECK(fmt::format("{}", mig) == "vfio_device_feature_migration{flags=stop_copy|pre_copy|0x10000000000}");
}

TEST_CASE("vfio flexible array members are where the kernel puts them", "[uapi][vfio]") {
    STATIC_CHECK(flexible_array_of<vfio_irq_set>::offset == 20);
    STATIC_CHECK(std::is_same_v<flexible_array_of<vfio_irq_set>::element_type, u8>);
    STATIC_CHECK(flexible_array_of<vfio_pci_hot_reset_info>::offset == 12);
    STATIC_CHECK(std::is_same_v<flexible_array_of<vfio_pci_hot_reset>::element_type, s32>);
    STATIC_CHECK(flexible_array_of<vfio_iommu_type1_info_cap_iova_range>::offset == 16);
    STATIC_CHECK(std::is_same_v<flexible_array_of<vfio_region_info_cap_sparse_mmap>::element_type,
                                vfio_region_sparse_mmap_area>);
    CHECK(flexible_array_name<vfio_device_feature> == "data");
    CHECK(flexible_array_name<vfio_device_feature_dma_buf> == "dma_ranges");
    STATIC_CHECK_FALSE(has_flexible_array<vfio_region_info>);

    // A VFIO_DEVICE_SET_IRQS buffer for two eventfds, built the way a VMM does: header then s32 data.
    alignas(vfio_irq_set) unsigned char buf[sizeof(vfio_irq_set) + 2 * sizeof(s32)]{};
    vfio_irq_set hdr{};
    hdr.argsz = sizeof buf;
    hdr.flags = irq_set_flag::data_eventfd | irq_set_flag::action_trigger;
    hdr.index = static_cast<u32>(pci_irq_index::msix);
    hdr.count = 2;
    std::memcpy(buf, &hdr, sizeof hdr);
    const s32 fds[2] = {7, -1};
    std::memcpy(buf + flexible_array_of<vfio_irq_set>::offset, fds, sizeof fds);
    u32 word = 0;
    std::memcpy(&word, buf + 4, 4);
    CHECK(word == 0x24);  // DATA_EVENTFD | ACTION_TRIGGER, as the kernel reads flags at offset 4
    std::memcpy(&word, buf + 8, 4);
    CHECK(word == 2);  // MSI-X index
    s32 second = 0;
    std::memcpy(&second, buf + 24, 4);
    CHECK(second == -1);
}

TEST_CASE("vfio constants keep the kernel's values", "[uapi][vfio]") {
    CHECK(static_cast<u32>(region_type_pci_vendor_type) == 0x80000000u);
    CHECK((static_cast<u32>(region_type_pci_vendor_type) | 0x8086u) == 0x80008086u);
    CHECK(pci_devid_not_owned == -1);
    CHECK(static_cast<u32>(pci_region_index::vga) + 1 == pci_num_regions);
    CHECK(static_cast<u32>(pci_irq_index::req) + 1 == pci_num_irqs);
    CHECK(device_api_pci_string == "vfio-pci");
}
