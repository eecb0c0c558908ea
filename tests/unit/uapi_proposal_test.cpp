// The 2020 vSVA proposal (seed email and v7) and the 5.10 <linux/iommu.h> payloads: codes, layouts that tell the
// revisions apart, abi_traits, and printing. Expected numbers come from ../shared/reference/SEED-UAPI.md, not from
// the mirrors, so a wrong mirror fails here as well as in its static asserts.
#include <vfiopp/fmt.hpp>
#include <vfiopp/uapi/all_ioctls.hpp>
#include <vfiopp/uapi/all.hpp>

#include <catch2/catch_test_macros.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <type_traits>

using namespace vfiopp::uapi;

TEST_CASE("proposal ioctl codes: seed #22/#23, v7 #18/#19", "[uapi][proposal]") {
    STATIC_CHECK(seed::iommu_pasid_request.code == 0x3b7a);
    STATIC_CHECK(seed::iommu_nesting_op.code == 0x3b7b);
    STATIC_CHECK(v7::iommu_pasid_request.code == 0x3b76);
    STATIC_CHECK(v7::iommu_nesting_op.code == 0x3b77);

    CHECK(seed::iommu_pasid_request.name == "VFIO_IOMMU_PASID_REQUEST");
    CHECK(v7::iommu_nesting_op.name == "VFIO_IOMMU_NESTING_OP");
    CHECK(seed::iommu_nesting_op.abi == abi_kind::seed);
    CHECK(v7::iommu_pasid_request.abi == abi_kind::v7);
    CHECK(v7::iommu_pasid_request.fd == fd_kind::container);
    CHECK(seed::iommu_nesting_op.fd == fd_kind::container);
    // v7 returns the PASID as the ioctl value (the struct is only read); the seed wrote it back into the struct.
    CHECK(v7::iommu_pasid_request.arg == arg_kind::in);
    CHECK(seed::iommu_pasid_request.arg == arg_kind::inout);
    CHECK(v7::iommu_nesting_op.arg == arg_kind::inout);
    STATIC_CHECK(std::is_same_v<decltype(v7::iommu_pasid_request)::arg_type, v7::vfio_iommu_type1_pasid_request>);
    STATIC_CHECK(std::is_same_v<decltype(seed::iommu_pasid_request)::arg_type, seed::vfio_iommu_pasid_request>);
    CHECK(std::tuple_size_v<decltype(seed::all_ioctls)> == 2);
    CHECK(std::tuple_size_v<decltype(v7::all_ioctls)> == 2);
}

TEST_CASE("v7 codes are the numbers of mainline device-fd ioctls", "[uapi][proposal]") {
    // VFIO_DEVICE_BIND_IOMMUFD = _IO(';', 100 + 18), VFIO_DEVICE_ATTACH_IOMMUFD_PT = _IO(';', 100 + 19): the same
    // codes on another fd. Computed here from the _IO formula so the test does not depend on another mirror.
    CHECK(v7::iommu_pasid_request.code == io(';', 100 + 18));
    CHECK(v7::iommu_nesting_op.code == io(';', 100 + 19));
    CHECK(seed::iommu_pasid_request.code != v7::iommu_pasid_request.code);
}

TEST_CASE("proposal layouts: the numbers that tell the revisions apart", "[uapi][proposal]") {
    CHECK(sizeof(seed::vfio_iommu_pasid_request) == 20);
    CHECK(offsetof(seed::vfio_iommu_pasid_request, pasid) == 8);
    CHECK(offsetof(seed::vfio_iommu_pasid_request, range) == 12);
    CHECK(sizeof(v7::vfio_iommu_type1_pasid_request) == 16);
    CHECK(offsetof(v7::vfio_iommu_type1_pasid_request, range) == 8);

    CHECK(sizeof(seed::vfio_iommu_type1_nesting_op) == 12);
    CHECK(flexible_array_of<seed::vfio_iommu_type1_nesting_op>::offset == 12);
    CHECK(sizeof(v7::vfio_iommu_type1_nesting_op) == 8);
    CHECK(flexible_array_of<v7::vfio_iommu_type1_nesting_op>::offset == 8);
    CHECK(flexible_array_name<v7::vfio_iommu_type1_nesting_op> == "data");

    CHECK(sizeof(iommu_cache_invalidate_info) == 56);
    CHECK(offsetof(iommu_cache_invalidate_info, cache) == 8);
    CHECK(offsetof(iommu_cache_invalidate_info, granularity) == 9);
    CHECK(offsetof(iommu_cache_invalidate_info, granu) == 16);
    CHECK(sizeof(iommu_inv_addr_info) == 40);
    CHECK(sizeof(iommu_inv_pasid_info) == 16);

    CHECK(sizeof(iommu_gpasid_bind_data) == 72);
    CHECK(offsetof(iommu_gpasid_bind_data, addr_width) == 12);
    CHECK(offsetof(iommu_gpasid_bind_data, flags) == 16);
    CHECK(offsetof(iommu_gpasid_bind_data, vendor) == 56);
    CHECK(sizeof(iommu_gpasid_bind_data_vtd) == 16);

    CHECK(sizeof(v7::iommu_nesting_info) == 56);
    CHECK(offsetof(v7::iommu_nesting_info, addr_width) == 16);
    CHECK(offsetof(v7::iommu_nesting_info, vendor) == 32);
    CHECK(sizeof(v7::iommu_nesting_info_vtd) == 24);
    CHECK(offsetof(v7::iommu_nesting_info_vtd, cap_reg) == 8);  // after an implicit 4-byte hole
    CHECK(offsetof(v7::iommu_nesting_info_vtd, ecap_reg) == 16);
    CHECK(sizeof(v7::vfio_iommu_type1_info_cap_nesting) == 64);
    CHECK(offsetof(v7::vfio_iommu_type1_info_cap_nesting, info) == 8);

    CHECK(sizeof(iommu_page_response) == 24);
    CHECK(sizeof(iommu_fault) == 64);
    CHECK(offsetof(iommu_fault, payload) == 8);

    // Descriptors agree with the compiler (they feed printing and the wire layer).
    CHECK(layout_of<iommu_gpasid_bind_data>.size == 72);
    CHECK(layout_of<seed::vfio_iommu_type1_nesting_op>.name == "vfio_iommu_type1_nesting_op");
    CHECK(layout_of<v7::vfio_iommu_type1_nesting_op>.size == 8);
    std::size_t fields = 0;
    for_each_field(layout_of<v7::iommu_nesting_info>, [&](auto) { ++fields; });
    CHECK(fields == 8);
}

TEST_CASE("proposal constants and enum values", "[uapi][proposal]") {
    CHECK(v7::vfio_iommu_pasid_bits == 31);
    CHECK(v7::vfio_pasid_request_mask == 0x3);
    CHECK(v7::vfio_nesting_op_mask == 0xffff);
    CHECK(v7::vfio_iommu_nesting_op_num == 3);
    CHECK(v7::vfio_iommu_type1_info_cap_nesting_id == 3);
    CHECK(v7::vfio_type1_nesting_iommu == 6);
    CHECK(bitmask<v7::pasid_request_flag>::known_bits() == v7::vfio_pasid_request_mask);
    CHECK(static_cast<u32>(v7::nesting_feature::cache_invld) == 1u << 2);
    CHECK(static_cast<u32>(seed::nesting_op::cache_invld) == 2);
    CHECK(static_cast<u32>(seed::pasid_request_flag::free) == 1u << 1);
    CHECK(kernel_name(seed::pasid_request_flag::alloc) == "VFIO_IOMMU_ALLOC_PASID");
    CHECK(kernel_name(v7::pasid_request_flag::alloc) == "VFIO_IOMMU_FLAG_ALLOC_PASID");

    CHECK(static_cast<u64>(iommu_gpasid_vtd_flag::mts_mask) == 0x3c);
    auto mts = iommu_gpasid_vtd_flag::cd | iommu_gpasid_vtd_flag::emte | iommu_gpasid_vtd_flag::pcd |
               iommu_gpasid_vtd_flag::pwt;
    CHECK(mts == bitmask<iommu_gpasid_vtd_flag>(iommu_gpasid_vtd_flag::mts_mask));
    CHECK(iommu_sva_vtd_gpasid_last == 1u << 6);
    CHECK(bitmask<iommu_gpasid_vtd_flag>::known_bits() == iommu_sva_vtd_gpasid_last - 1);
    CHECK(iommu_pasid_format_last == 2);
    CHECK(static_cast<u32>(iommu_fault_reason::oor_address) == 8);
    CHECK(static_cast<u32>(iommu_page_response_code::failure) == 2);
    CHECK(enum_from_name<iommu_inv_granularity>("IOMMU_INV_GRANU_ADDR") == iommu_inv_granularity::addr);
}

namespace {

// Generic over the revision: what a VMM's bind call would build.
template <proposal_abi A>
typename abi_traits<A>::nesting_op_type bind_header(std::size_t payload) {
    using t = abi_traits<A>;
    typename t::nesting_op_type h{};
    h.argsz = t::argsz_for(payload);
    t::set_op(h, t::op_type::bind_pgtbl);
    return h;
}

}  // namespace

TEST_CASE("abi_traits select a revision by tag type", "[uapi][proposal]") {
    using s = abi_traits<abi::seed>;
    using v = abi_traits<abi::v7>;
    STATIC_CHECK(std::is_same_v<s::pasid_request_type, seed::vfio_iommu_pasid_request>);
    STATIC_CHECK(std::is_same_v<v::pasid_request_type, v7::vfio_iommu_type1_pasid_request>);
    STATIC_CHECK(std::is_same_v<s::nesting_op_type, seed::vfio_iommu_type1_nesting_op>);
    STATIC_CHECK(std::is_same_v<v::nesting_op_type, v7::vfio_iommu_type1_nesting_op>);
    STATIC_CHECK(std::is_same_v<s::op_type, seed::nesting_op>);
    STATIC_CHECK(std::is_same_v<v::op_type, v7::nesting_op>);
    CHECK(&s::pasid_request == &seed::iommu_pasid_request);
    CHECK(&v::nesting_op == &v7::iommu_nesting_op);
    CHECK(s::nesting_op.code == 0x3b7b);
    CHECK(v::pasid_request.code == 0x3b76);
    CHECK(s::data_offset == 12);
    CHECK(v::data_offset == 8);
    CHECK(s::op_encoding == nesting_op_encoding::own_field);
    CHECK(v::op_encoding == nesting_op_encoding::flags_low16);
    CHECK_FALSE(s::pasid_is_return_value);
    CHECK(v::pasid_is_return_value);
    STATIC_CHECK(proposal_abi<abi::seed>);
    STATIC_CHECK(!proposal_abi<int>);

    // v7: the op lives in flags[15:0] and leaves the upper half alone.
    v7::vfio_iommu_type1_nesting_op h7{};
    h7.flags = 0xabcd0000u;
    v::set_op(h7, v7::nesting_op::cache_invld);
    CHECK(h7.flags == 0xabcd0002u);
    CHECK(v::op_of(h7) == v7::nesting_op::cache_invld);
    v::set_op(h7, v7::nesting_op::bind_pgtbl);
    CHECK(h7.flags == 0xabcd0000u);

    // seed: the op has its own field, flags are untouched.
    seed::vfio_iommu_type1_nesting_op hs{};
    s::set_op(hs, seed::nesting_op::unbind_pgtbl);
    CHECK(hs.flags == 0);
    CHECK(static_cast<u32>(hs.op) == 1);
    CHECK(s::op_of(hs) == seed::nesting_op::unbind_pgtbl);

    // A bind of a 72-byte iommu_gpasid_bind_data: 80 bytes with v7 (QEMU's 8 + 72), 84 with the seed.
    auto b7 = bind_header<abi::v7>(sizeof(iommu_gpasid_bind_data));
    auto bs = bind_header<abi::seed>(sizeof(iommu_gpasid_bind_data));
    CHECK(b7.argsz == 80);
    CHECK(b7.flags == 0);
    CHECK(bs.argsz == 84);
    CHECK(bs.op == seed::nesting_op::bind_pgtbl);
}

TEST_CASE("a v7 nesting_op buffer puts the payload 8-aligned at data_offset", "[uapi][proposal]") {
    using v = abi_traits<abi::v7>;
    alignas(8) unsigned char buf[v::data_offset + sizeof(iommu_cache_invalidate_info)] = {};
    iommu_cache_invalidate_info inv{};
    inv.argsz = sizeof inv;
    inv.version = iommu_cache_invalidate_info_version_1;
    inv.cache = iommu_cache_inv_type::iotlb;
    inv.granularity = iommu_inv_granularity::addr;
    inv.granu.addr_info.addr = 0x1000;
    v7::vfio_iommu_type1_nesting_op h{v::argsz_for(sizeof inv), 0};
    v::set_op(h, v7::nesting_op::cache_invld);
    std::memcpy(buf, &h, sizeof h);
    std::memcpy(buf + v::data_offset, &inv, sizeof inv);
    CHECK(h.argsz == 64);  // QEMU's flush: 8 + 56
    CHECK(reinterpret_cast<std::uintptr_t>(buf + v::data_offset) % alignof(iommu_cache_invalidate_info) == 0);
    u32 op_word;
    std::memcpy(&op_word, buf + 4, 4);
    CHECK(op_word == 2);
    u64 addr;
    std::memcpy(&addr, buf + v::data_offset + 16 + 16, 8);  // granu @16, addr_info.addr @16 within it
    CHECK(addr == 0x1000);
}

TEST_CASE("iommu.h payloads print field by field", "[uapi][proposal][fmt]") {
    iommu_gpasid_bind_data b{};
    b.argsz = sizeof b;
    b.version = iommu_gpasid_bind_version_1;
    b.format = iommu_pasid_format::intel_vtd;
    b.addr_width = 48;
    b.flags = iommu_gpasid_bind_flag::gpasid_val;
    b.gpgd = 0x12345000;
    b.hpasid = 5;
    b.gpasid = 7;
    b.vendor.vtd.flags = iommu_gpasid_vtd_flag::sre | iommu_gpasid_vtd_flag::eafe;
    const auto sb = fmt::format("{}", b);
    INFO(sb);
    CHECK(sb.starts_with("iommu_gpasid_bind_data{argsz=72, version=1, format=intel_vtd, addr_width=48, "
                         "flags=gpasid_val, gpgd=0x12345000, hpasid=0x5, gpasid=0x7, padding={0 x8}, vendor="));
    // vendor is a union: printed as its bytes (vtd.flags = sre|eafe = 3 in the first, little-endian, byte)
    CHECK(sb.find("vendor={03000000") != std::string::npos);
    CHECK(fmt::format("{}", b.vendor.vtd) == "iommu_gpasid_bind_data_vtd{flags=sre|eafe, pat=0, emt=0}");

    iommu_cache_invalidate_info inv{};
    inv.argsz = sizeof inv;
    inv.version = iommu_cache_invalidate_info_version_1;
    inv.cache = iommu_cache_inv_type::iotlb | iommu_cache_inv_type::dev_iotlb;
    inv.granularity = iommu_inv_granularity::pasid;
    inv.granu.pasid_info.flags = iommu_inv_pasid_flag::pasid;
    inv.granu.pasid_info.pasid = 9;
    const auto si = fmt::format("{}", inv);
    INFO(si);
    CHECK(si.starts_with("iommu_cache_invalidate_info{argsz=56, version=1, cache=iotlb|dev_iotlb, "
                         "granularity=pasid, padding={0 x6}, granu="));
    CHECK(fmt::format("{}", inv.granu.pasid_info) == "iommu_inv_pasid_info{flags=pasid, archid=0, pasid=0x9}");

    v7::iommu_nesting_info ni{};
    ni.argsz = sizeof ni;
    ni.format = iommu_pasid_format::intel_vtd;
    ni.features = v7::nesting_feature::syswide_pasid | v7::nesting_feature::bind_pgtbl;
    ni.pasid_bits = 20;
    CHECK(fmt::format("{}", ni).starts_with(
        "iommu_nesting_info{argsz=56, flags=0, format=intel_vtd, features=syswide_pasid|bind_pgtbl, addr_width=0, "
        "pasid_bits=20, "));
    seed::vfio_iommu_type1_nesting_op hs{12, 0, seed::nesting_op::cache_invld};
    CHECK(fmt::format("{}", hs) == "vfio_iommu_type1_nesting_op{argsz=12, flags=0, op=cache_invld}");
}
