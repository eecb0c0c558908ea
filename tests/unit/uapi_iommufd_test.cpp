// Runtime checks of the iommufd mirror beyond its static layout asserts: ioctl codes and descriptors, enum names,
// printing, bitmasks with bits vfiopp does not know.
#include <vfiopp/fmt.hpp>
#include <vfiopp/uapi/all_ioctls.hpp>
#include <vfiopp/uapi/iommufd.hpp>

#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <set>
#include <string>
#include <tuple>

using namespace vfiopp::uapi;

TEST_CASE("iommufd ioctl codes are _IO(';', 0x80 + n)", "[uapi][iommufd]") {
    // values from _IO(IOMMUFD_TYPE, IOMMUFD_CMD_*) computed by hand: (';' << 8) | nr
    STATIC_CHECK(iommufd::destroy.code == 0x3b80);
    STATIC_CHECK(iommufd::ioas_map.code == 0x3b85);
    STATIC_CHECK(iommufd::hwpt_alloc.code == 0x3b89);
    STATIC_CHECK(iommufd::get_hw_info.code == 0x3b8a);
    STATIC_CHECK(iommufd::hwpt_invalidate.code == 0x3b8d);
    STATIC_CHECK(iommufd::hw_queue_alloc.code == 0x3b94);
    CHECK(iommufd::hwpt_alloc.name == "IOMMU_HWPT_ALLOC");
    CHECK(iommufd::get_hw_info.name == "IOMMU_GET_HW_INFO");
    CHECK(iommufd::hwpt_invalidate.arg == arg_kind::inout);
    CHECK(iommufd::destroy.arg == arg_kind::in);
    CHECK(iommufd::ioas_map.abi == abi_kind::mainline);
    STATIC_CHECK(std::is_same_v<decltype(iommufd::get_hw_info)::arg_type, iommu_hw_info>);
}

TEST_CASE("every iommufd ioctl is on /dev/iommu with a distinct number in 0x80..0x95", "[uapi][iommufd]") {
    std::set<u32> codes;
    std::size_t n = 0;
    auto check_one = [&](const auto& def) {
        CHECK(def.fd == fd_kind::iommufd);
        CHECK((def.code >> 8) == u32{';'});
        CHECK((def.code & 0xff) >= 0x80);
        CHECK((def.code & 0xff) <= 0x95);
        CHECK(def.name.substr(0, 6) == "IOMMU_");
        codes.insert(def.code);
        ++n;
    };
    std::apply([&](const auto&... def) { (check_one(def), ...); }, iommufd::all_ioctls);
    CHECK(n == 22);
    CHECK(codes.size() == n);  // no two ioctls share a code
}

TEST_CASE("iommufd enum families name their values", "[uapi][iommufd]") {
    CHECK(enum_name(hwpt_data_type::vtd_s1) == "vtd_s1");
    CHECK(kernel_name(hwpt_data_type::arm_smmuv3) == "IOMMU_HWPT_DATA_ARM_SMMUV3");
    CHECK(enum_from_name<hw_info_type>("IOMMU_HW_INFO_TYPE_INTEL_VTD") == hw_info_type::intel_vtd);
    CHECK(enum_from_name<hwpt_invalidate_data_type>("vtd_s1") == hwpt_invalidate_data_type::vtd_s1);
    CHECK(kernel_name(iommufd_option::huge_pages) == "IOMMU_OPTION_HUGE_PAGES");
    CHECK(kernel_name(veventq_type::arm_smmuv3) == "IOMMU_VEVENTQ_TYPE_ARM_SMMUV3");
    // NONE and DEFAULT share 0: the first listed name wins when printing, both names parse
    CHECK(enum_name(hw_info_type::default_) == "none");
    CHECK(enum_from_name<hw_info_type>("IOMMU_HW_INFO_TYPE_DEFAULT") == hw_info_type::none);
    CHECK_FALSE(enum_name(static_cast<hwpt_data_type>(77)).has_value());
    CHECK(fmt::format("{}", static_cast<hwpt_data_type>(77)) == "0x4d");
}

TEST_CASE("iommufd flags keep bits the mirror does not know", "[uapi][iommufd][fmt]") {
    auto f = hwpt_alloc_flag::nest_parent | hwpt_alloc_flag::pasid;
    CHECK(f.bits() == 0x9);
    CHECK(f.has(hwpt_alloc_flag::pasid));
    CHECK_FALSE(f.has(hwpt_alloc_flag::dirty_tracking));
    CHECK(bitmask<hwpt_alloc_flag>::known_bits() == 0xf);
    auto g = bitmask<hwpt_alloc_flag>::from_bits(0x80000011);
    CHECK(g.unknown() == 0x80000010);
    CHECK(fmt::format("{}", g) == "nest_parent|0x80000010");
    auto caps = bitmask<hw_capability>::from_bits(u64{1} << 40 | 1);
    CHECK(caps.has(hw_capability::dirty_tracking));
    CHECK(caps.unknown() == u64{1} << 40);
    CHECK(fmt::format("{}", caps) == "dirty_tracking|0x10000000000");
}

TEST_CASE("iommu_hwpt_alloc prints field by field", "[uapi][iommufd][fmt]") {
    iommu_hwpt_alloc a{};
    a.size = sizeof a;
    a.flags = hwpt_alloc_flag::nest_parent | hwpt_alloc_flag::fault_id_valid;
    a.dev_id = 1;
    a.pt_id = 2;
    a.data_type = hwpt_data_type::vtd_s1;
    a.data_len = sizeof(iommu_hwpt_vtd_s1);
    a.data_uptr = 0x7f0000001000;
    a.fault_id = 5;
    CHECK(fmt::format("{}", a) ==
          "iommu_hwpt_alloc{size=48, flags=nest_parent|fault_id_valid, dev_id=1, pt_id=2, out_hwpt_id=0, "
          "__reserved=0, data_type=vtd_s1, data_len=24, data_uptr=0x7f0000001000, fault_id=5, __reserved2=0}");
    CHECK(fmt::format("{:l}", a).find("\n  data_type=vtd_s1\n") != std::string::npos);
}

TEST_CASE("iommu_hw_info: the named union sits where the kernel's anonymous one is", "[uapi][iommufd][fmt]") {
    iommu_hw_info h{};
    h.size = sizeof h;
    h.dev_id = 3;
    h.data_len = sizeof(iommu_hw_info_vtd);
    h.data_type.out_data_type = hw_info_type::intel_vtd;
    h.out_max_pasid_log2 = 20;
    h.out_capabilities = hw_capability::dirty_tracking | hw_capability::pci_pasid_exec;
    // in_data_type and out_data_type are the same 4 bytes at offset 24
    CHECK(static_cast<u32>(h.data_type.in_data_type) == 1);
    unsigned char raw[sizeof h];
    std::memcpy(raw, &h, sizeof h);
    CHECK(raw[24] == 1);
    CHECK(raw[28] == 20);
    CHECK(raw[32] == 0x3);
    // unions print as their bytes (the active member is not knowable)
    CHECK(fmt::format("{}", h) ==
          "iommu_hw_info{size=40, flags=0, dev_id=3, data_len=24, data_uptr=0x0, data_type={01000000}, "
          "out_max_pasid_log2=20, __reserved={0 x3}, out_capabilities=dirty_tracking|pci_pasid_exec}");
    CHECK(layout_of<iommu_hw_info>.size == 40);
    std::size_t fields = 0;
    for_each_field(layout_of<iommu_hw_info>, [&](auto) { ++fields; });
    CHECK(fields == 9);
}

TEST_CASE("vendor data and fault records print", "[uapi][iommufd][fmt]") {
    iommu_hw_info_arm_smmuv3 s{};
    s.idr = {1, 2, 3, 4, 5, 6};
    s.aidr = 2;
    CHECK(fmt::format("{}", s) ==
          "iommu_hw_info_arm_smmuv3{flags=0, __reserved=0, idr=[1, 2, 3, 4, 5, 6], iidr=0, aidr=2}");
    iommu_hwpt_pgfault pf{};
    pf.flags = hwpt_pgfault_flag::pasid_valid | hwpt_pgfault_flag::last_page;
    pf.perm = hwpt_pgfault_perm::read | hwpt_pgfault_perm::write;
    pf.pasid = 9;
    pf.addr = 0x1000;
    CHECK(fmt::format("{}", pf) ==
          "iommu_hwpt_pgfault{flags=pasid_valid|last_page, dev_id=0, pasid=9, grpid=0, perm=read|write, "
          "__reserved=0, addr=0x1000, length=0, cookie=0}");
    iommu_hwpt_page_response r{7, hwpt_page_response_code::invalid};
    CHECK(fmt::format("{}", r) == "iommu_hwpt_page_response{cookie=7, code=invalid}");
}
