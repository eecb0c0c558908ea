// Unit tests of the payload-typed builders: flags/op/sizes derived from types, refusals before the ioctl.
#include <vfiopp/wire/iommufd.hpp>
#include <vfiopp/wire/nesting.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <catch2/catch_test_macros.hpp>

#include <cstring>

using namespace vfiopp;
using namespace vfiopp::uapi;
namespace wv = vfiopp::wire::vfio;

namespace {
template <typename T, typename Req>
T at(const Req& r, std::size_t off) {
    T v{};
    REQUIRE(off + sizeof v <= r.size());
    std::memcpy(&v, r.bytes().data() + off, sizeof v);
    return v;
}
template <typename D>
concept hwpt_alloc_takes_temporary =
    requires { wire::iommufd::hwpt_alloc(1u, 2u, bitmask<hwpt_alloc_flag>{}, D{}); };
template <typename D>
concept hwpt_alloc_takes_lvalue =
    requires(const D& d) { wire::iommufd::hwpt_alloc(1u, 2u, bitmask<hwpt_alloc_flag>{}, d); };
}  // namespace

TEST_CASE("SET_IRQS: data type bit from the trailer, action bit from the tag", "[wire][irq]") {
    auto none = wv::set_irqs_none<wv::irq_trigger>(pci_irq_index::intx, 0, 1);
    CHECK(none.size() == 20);
    CHECK(at<u32>(none, 4) == (1u << 0 | 1u << 5));
    CHECK(at<u32>(none, 8) == 0);  // INTX index
    CHECK(at<u32>(none, 16) == 1);

    wv::set_irqs_request<4> ev;
    std::array<int, 3> fds{10, -1, 12};
    REQUIRE(wv::set_irqs_eventfds<wv::irq_trigger>(ev, pci_irq_index::msix, 2, std::span<const int>(fds)).has_value());
    CHECK(ev.size() == 20 + 12);
    CHECK(at<u32>(ev, 4) == (1u << 2 | 1u << 5));
    CHECK(at<u32>(ev, 8) == 2);  // MSIX index
    CHECK(at<u32>(ev, 12) == 2);
    CHECK(at<u32>(ev, 16) == 3);
    CHECK(at<s32>(ev, 20) == 10);
    CHECK(at<s32>(ev, 24) == -1);
    CHECK(at<s32>(ev, 28) == 12);

    std::array<int, 5> too_many{1, 2, 3, 4, 5};
    auto e = wv::set_irqs_eventfds<wv::irq_trigger>(ev, pci_irq_index::msix, 0, std::span<const int>(too_many));
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error().code == E2BIG);
    CHECK(e.error().field == "count");
    CHECK(e.error().ioctl == "VFIO_DEVICE_SET_IRQS");
    std::array<int, 1> bad{-7};
    CHECK(wv::set_irqs_eventfds<wv::irq_unmask>(ev, pci_irq_index::intx, 0, std::span<const int>(bad)).error().code == EINVAL);
    std::array<int, 1> one{3};
    auto wrap = wv::set_irqs_eventfds<wv::irq_trigger>(ev, pci_irq_index::msix, 0xffffffffu, std::span<const int>(one));
    CHECK(wrap.error().code == EOVERFLOW);

    wv::set_irqs_request<1> b;
    std::array<bool, 3> bits{true, false, true};
    REQUIRE(wv::set_irqs_bools<wv::irq_mask>(b, pci_irq_index::msi, 0, std::span<const bool>(bits)).has_value());
    CHECK(b.size() == 23);
    CHECK(at<u32>(b, 4) == (1u << 1 | 1u << 3));
    CHECK(at<u8>(b, 20) == 1);
    CHECK(at<u8>(b, 21) == 0);
    CHECK(at<u8>(b, 22) == 1);
}

TEST_CASE("DEVICE_FEATURE: feature number and GET/SET/PROBE from the payload type", "[wire][feature]") {
    auto g = wv::feature_get<vfio_device_feature_migration>();
    CHECK(g.size() == 16);
    CHECK(at<u32>(g, 4) == (1u << 16 | 1u));
    vfio_device_feature_mig_state st{};
    st.device_state = device_mig_state::stop_copy;
    st.data_fd = -1;
    auto s = wv::feature_set(st);
    CHECK(s.size() == 16);
    CHECK(at<u32>(s, 4) == (1u << 17 | 2u));
    CHECK(at<u32>(s, 8) == 3);
    CHECK(at<s32>(s, 12) == -1);
    auto p = wv::feature_probe<vfio_device_feature_mig_state>();
    CHECK(p.size() == 8);
    CHECK(at<u32>(p, 4) == (1u << 18 | 1u << 17 | 1u << 16 | 2u));
    auto lp = wv::feature_set(wv::low_power_entry{});
    CHECK(lp.size() == 8);
    CHECK(at<u32>(lp, 4) == (1u << 17 | 3u));
    auto dmabuf = wv::feature_get<vfio_device_feature_dma_buf>();
    STATIC_CHECK(decltype(dmabuf)::ret.kind == wire::returns::new_fd);  // the ioctl returns the dma-buf fd
    wv::pci_vf_token tok{};
    tok.uuid[0] = 0xab;
    auto t = wv::feature_set(tok);
    CHECK(t.size() == 24);
    CHECK(at<u32>(t, 4) == (1u << 17 | 0u));
    CHECK(at<u8>(t, 8) == 0xab);
}

TEST_CASE("PCI hot reset: group fds or the cdev (devid) form", "[wire][reset]") {
    auto d = wv::pci_hot_reset_devid();
    CHECK(d.size() == 12);
    CHECK(at<u32>(d, 8) == 0);
    wv::pci_hot_reset_request<2> g;
    std::array<int, 2> groups{5, 6};
    REQUIRE(wv::pci_hot_reset_groups(g, std::span<const int>(groups)).has_value());
    CHECK(g.size() == 20);
    CHECK(at<u32>(g, 8) == 2);
    CHECK(at<s32>(g, 16) == 6);
    CHECK(wv::pci_hot_reset_groups(g, std::span<const int>{}).error().code == EINVAL);
    std::array<int, 3> three{1, 2, 3};
    CHECK(wv::pci_hot_reset_groups(g, std::span<const int>(three)).error().code == E2BIG);
}

TEST_CASE("MAP_DMA refuses empty and wrapping ranges", "[wire][dma]") {
    auto m = wv::iommu_map_dma(0x7f0000000000, 0x100000, 0x200000, map_dma_flag::read | map_dma_flag::write);
    REQUIRE(m.has_value());
    CHECK(m->size() == 32);
    CHECK(at<u32>(*m, 4) == 3);
    CHECK(at<u64>(*m, 24) == 0x200000);
    CHECK(wv::iommu_map_dma(0, 0x1000, 0, map_dma_flag::read).error().code == EINVAL);
    auto w = wv::iommu_map_dma(0x1000, 0xffff'ffff'ffff'f000, 0x2000, map_dma_flag::read);
    CHECK(w.error().code == EOVERFLOW);
    CHECK(w.error().field == "size");
}

TEST_CASE("NESTING_OP: op follows the alternative; seed op field at 8 and data at 12, v7 op in flags and data at 8",
          "[wire][nesting]") {
    iommu_cache_invalidate_info inv{};  // argsz and version left 0: the builder derives them
    inv.cache = iommu_cache_inv_type::iotlb;
    auto v7 = wire::nesting_op<abi::v7>(wire::cache_invalidate{inv}).value();
    CHECK(v7.size() == 8 + sizeof inv);
    CHECK(at<u32>(v7, 4) == 2);
    CHECK(at<u32>(v7, 8) == sizeof inv);  // the payload's own argsz, at data[0]
    CHECK(at<u32>(v7, 12) == 1);          // and its version
    auto seed = wire::nesting_op<abi::seed>(wire::cache_invalidate{inv}).value();
    CHECK(seed.size() == 12 + sizeof inv);
    CHECK(at<u32>(seed, 4) == 0);
    CHECK(at<u32>(seed, 8) == 2);
    CHECK(at<u32>(seed, 12) == sizeof inv);
    iommu_gpasid_bind_data bind{};
    bind.format = iommu_pasid_format::intel_vtd;
    bind.hpasid = 0x55;
    auto u = wire::nesting_op<abi::v7>(wire::unbind_pgtbl{bind}).value();
    CHECK(u.size() == 80);
    CHECK(at<u32>(u, 4) == 1);
    CHECK(at<u64>(u, 8 + 32) == 0x55);
    CHECK(at<u32>(u, 8) == 72);
    CHECK(at<u32>(u, 12) == 1);
    STATIC_CHECK(decltype(u)::ioctl.code == 0x3b77);
    STATIC_CHECK(decltype(seed)::ioctl.code == 0x3b7b);
}

TEST_CASE("HWPT_ALLOC: data_type/len/uptr from the vendor data, pointing at the caller's object", "[wire][iommufd]") {
    iommu_hwpt_vtd_s1 s1{};
    s1.pgtbl_addr = 0x1234000;
    s1.addr_width = 48;
    wire::iommufd::hwpt_data data = s1;
    auto r = wire::iommufd::hwpt_alloc(1, 2, {}, data);
    REQUIRE(r.has_value());
    CHECK(r->size() == sizeof(iommu_hwpt_alloc));
    CHECK(at<u32>(*r, 24) == 1);
    CHECK(at<u32>(*r, 28) == 24);
    CHECK(at<u64>(*r, 32) == reinterpret_cast<std::uintptr_t>(&std::get<iommu_hwpt_vtd_s1>(data)));
    auto parent = wire::iommufd::hwpt_alloc(1, 3, hwpt_alloc_flag::nest_parent);
    REQUIRE(parent.has_value());
    CHECK(at<u32>(*parent, 4) == 1);
    CHECK(at<u32>(*parent, 28) == 0);
    CHECK(at<u64>(*parent, 32) == 0);
    auto bad = wire::iommufd::hwpt_alloc(1, 2, hwpt_alloc_flag::nest_parent, data);
    CHECK(bad.error().code == EOPNOTSUPP);
    auto direct = wire::iommufd::hwpt_alloc(1, 2, {}, s1);  // the caller's own object, no copy
    CHECK(at<u64>(*direct, 32) == reinterpret_cast<std::uintptr_t>(&s1));
    STATIC_CHECK_FALSE(hwpt_alloc_takes_temporary<iommu_hwpt_vtd_s1>);  // data_uptr would dangle
    STATIC_CHECK(hwpt_alloc_takes_lvalue<iommu_hwpt_vtd_s1>);
    auto f = wire::iommufd::hwpt_alloc(1, 2, {}, data, 9u);
    CHECK(at<u32>(*f, 4) == (1u << 2));
    CHECK(at<u32>(*f, 40) == 9);
}

TEST_CASE("HWPT_INVALIDATE: entry_len/num/type from the span; overflow rejected", "[wire][iommufd]") {
    std::array<iommu_hwpt_vtd_s1_invalidate, 3> e{};
    e[0].npages = ~u64{0};
    auto r = wire::iommufd::hwpt_invalidate(7, e);
    REQUIRE(r.has_value());
    CHECK(at<u32>(*r, 4) == 7);
    CHECK(at<u64>(*r, 8) == reinterpret_cast<std::uintptr_t>(e.data()));
    CHECK(at<u32>(*r, 16) == 0);
    CHECK(at<u32>(*r, 20) == 24);
    CHECK(at<u32>(*r, 24) == 3);
    std::span<const iommu_viommu_arm_smmuv3_invalidate> huge(reinterpret_cast<const iommu_viommu_arm_smmuv3_invalidate*>(e.data()),
                                                             std::size_t{1} << 29);  // never dereferenced
    auto o = wire::iommufd::hwpt_invalidate(7, huge);
    REQUIRE_FALSE(o.has_value());
    CHECK(o.error().code == EOVERFLOW);
    CHECK(o.error().field == "entry_num");
}
