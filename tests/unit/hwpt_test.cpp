// vfiopp::hwpt, vfiopp::get_hw_info and the device's PASID methods over a fake kernel behind io::ioctl_hook: the
// images each puts on the wire (and the vendor data / entries / bitmaps their pointers reach, copied at call time),
// what they read back, what they refuse before any ioctl, and that a HWPT is destroyed exactly once. The VT-d
// register decode is checked against the values QEMU 10's intel-iommu reports in the testbed (tests/vm).
#include <vfiopp/device.hpp>
#include <vfiopp/error.hpp>
#include <vfiopp/fmt_error.hpp>
#include <vfiopp/hw_info.hpp>
#include <vfiopp/hwpt.hpp>
#include <vfiopp/iommufd.hpp>
#include <vfiopp/uapi/iommufd.hpp>
#include <vfiopp/uapi/vfio.hpp>
#include <vfiopp/unique_fd.hpp>

#include "unit_support.hpp"

#include <catch2/catch_test_macros.hpp>
#include <fmt/format.h>

#include <sys/eventfd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

using namespace vfiopp;
namespace ua = vfiopp::uapi;
namespace ui = vfiopp::uapi::iommufd;
namespace uv = vfiopp::uapi::vfio;
using ua::u32;
using ua::u64;

// A caller-defined driver's types (the IOMMUFD_TEST mock's), made HWPT data through the open traits.
namespace {
using unit_support::new_eventfd;
using unit_support::must;
using unit_support::value_of;

struct selftest_data {
    u32 iotlb;
    u32 pagetable_type;
};
struct selftest_inv {
    u32 flags;
    u32 iotlb_id;
};
struct selftest_info {
    u32 flags;
    u32 test_reg;
};
}  // namespace
template <>
struct vfiopp::wire::hwpt_data_traits<selftest_data> {
    static constexpr auto data_type = static_cast<vfiopp::uapi::hwpt_data_type>(0xdead);
};
template <>
struct vfiopp::wire::hwpt_data_traits<selftest_inv> {
    static constexpr auto invalidate_type = static_cast<vfiopp::uapi::hwpt_invalidate_data_type>(0xdeadbeef);
};
template <>
struct vfiopp::wire::hw_info_traits<selftest_info> {
    static constexpr auto type = static_cast<vfiopp::uapi::hw_info_type>(0xfeedbeef);
};

namespace {

static_assert(wire::iommufd::hwpt_vendor_data<selftest_data>);
static_assert(wire::iommufd::hwpt_vendor_data<ua::iommu_hwpt_vtd_s1>);
static_assert(!wire::iommufd::hwpt_vendor_data<selftest_inv>);  // an entry type is not alloc data
static_assert(wire::iommufd::hwpt_invalidate_entry<selftest_inv>);
static_assert(wire::iommufd::hwpt_invalidate_entry<ua::iommu_hwpt_vtd_s1_invalidate>);
static_assert(wire::iommufd::hw_info_data<selftest_info>);

/// One ioctl as the fake kernel saw it, with the bytes its pointers reached.
struct call {
    int fd = -1;
    unsigned long code = 0;
    std::vector<std::byte> image;
    std::vector<std::byte> pointed;  ///< hwpt_alloc data / hwpt_invalidate entries, copied at call time
    template <typename T>
    T as() const {
        T v{};
        std::memcpy(&v, image.data(), std::min(sizeof v, image.size()));
        return v;
    }
};

struct fake_kernel {
    using handler = std::function<int(fake_kernel&, void*)>;  // >= 0, or -errno
    std::vector<call> log;
    std::map<unsigned long, handler> handlers;
    u32 next_id = 0x40;

    io::ioctl_hook hook() { return {&fake_kernel::dispatch, this}; }
    void on(const auto& def, handler h) { handlers[def.code] = std::move(h); }
    std::vector<const call*> calls(const auto& def) const {
        std::vector<const call*> out;
        for (const auto& c : log)
            if (c.code == def.code) out.push_back(&c);
        return out;
    }
    std::size_t count(const auto& def) const { return calls(def).size(); }

    static int dispatch(void* self, int fd, unsigned long code, void* arg) noexcept {
        auto& k = *static_cast<fake_kernel*>(self);
        call c;
        c.fd = fd;
        c.code = code;
        u32 size;
        std::memcpy(&size, arg, sizeof size);
        c.image.resize(size);
        std::memcpy(c.image.data(), arg, size);
        if (code == ui::hwpt_alloc.code) {
            auto h = c.as<ua::iommu_hwpt_alloc>();
            c.pointed.resize(h.data_len);
            if (h.data_len) std::memcpy(c.pointed.data(), reinterpret_cast<const void*>(static_cast<std::uintptr_t>(h.data_uptr)), h.data_len);
        }
        if (code == ui::hwpt_invalidate.code) {
            auto h = c.as<ua::iommu_hwpt_invalidate>();
            c.pointed.resize(std::size_t{h.entry_len} * h.entry_num);
            if (!c.pointed.empty())
                std::memcpy(c.pointed.data(), reinterpret_cast<const void*>(static_cast<std::uintptr_t>(h.data_uptr)), c.pointed.size());
        }
        k.log.push_back(std::move(c));
        int rc = 0;
        if (auto it = k.handlers.find(code); it != k.handlers.end()) rc = it->second(k, arg);
        else if (code == ui::hwpt_alloc.code) {  // default: a fresh ID
            ua::iommu_hwpt_alloc h;
            std::memcpy(&h, arg, sizeof h);
            h.out_hwpt_id = k.next_id++;
            std::memcpy(arg, &h, sizeof h);
        }
        if (rc < 0) {
            errno = -rc;
            return -1;
        }
        return rc;
    }
};

template <typename T>
T pointed_as(const call& c) {
    T v{};
    REQUIRE(c.pointed.size() == sizeof v);
    std::memcpy(&v, c.pointed.data(), sizeof v);
    return v;
}

}  // namespace

TEST_CASE("hwpt: plain, nest-parent and fault-queue alloc images; destroy once on drop, after moves", "[hwpt]") {
    fake_kernel k;
    auto ctx = must(iommufd::from_fd(new_eventfd(), k.hook()));
    {
        auto h = must(hwpt::alloc(ctx, 0x21, 7));
        CHECK(h.id() == 0x40);
        CHECK(h.fd() == ctx.fd());
        CHECK(h.parent_id() == 0);
        auto a = k.calls(ui::hwpt_alloc);
        REQUIRE(a.size() == 1);
        CHECK(a[0]->fd == ctx.fd());
        auto img = a[0]->as<ua::iommu_hwpt_alloc>();
        CHECK(a[0]->image.size() == 48);
        CHECK(img.size == 48);
        CHECK(img.flags.bits() == 0);
        CHECK(img.dev_id == 0x21);
        CHECK(img.pt_id == 7);
        CHECK(img.data_type == ua::hwpt_data_type::none);
        CHECK(img.data_len == 0);
        CHECK(img.data_uptr == 0);
        CHECK(img.fault_id == 0);

        auto p = must(hwpt::alloc(ctx, 0x21, 7, ua::hwpt_alloc_flag::nest_parent | ua::hwpt_alloc_flag::dirty_tracking, 0x33u));
        auto pi = k.calls(ui::hwpt_alloc)[1]->as<ua::iommu_hwpt_alloc>();
        CHECK(pi.flags == (ua::hwpt_alloc_flag::nest_parent | ua::hwpt_alloc_flag::dirty_tracking |
                           ua::hwpt_alloc_flag::fault_id_valid));
        CHECK(pi.fault_id == 0x33);
        CHECK(p.flags().has(ua::hwpt_alloc_flag::fault_id_valid));

        hwpt moved = std::move(h);  // the moved-from object destroys nothing
        CHECK(h.id() == 0);
        CHECK(moved.id() == 0x40);
        hwpt assigned;
        assigned = std::move(moved);
        CHECK(k.count(ui::destroy) == 0);
    }
    auto d = k.calls(ui::destroy);
    REQUIRE(d.size() == 2);  // assigned (0x40), then p (0x41): reverse declaration order, once each
    CHECK(d[0]->as<ua::iommu_destroy>().id == 0x40);
    CHECK(d[1]->as<ua::iommu_destroy>().id == 0x41);
}

TEST_CASE("hwpt: nested alloc with the kernel's vtd_s1 and with a caller-defined type through the traits", "[hwpt]") {
    fake_kernel k;
    auto ctx = must(iommufd::from_fd(new_eventfd(), k.hook()));
    auto parent = must(hwpt::alloc(ctx, 0x21, 7, ua::hwpt_alloc_flag::nest_parent));
    ua::iommu_hwpt_vtd_s1 s1{};
    s1.flags = ua::hwpt_vtd_s1_flag::sre;
    s1.pgtbl_addr = 0x12345000;
    s1.addr_width = 48;
    {
        auto n = must(hwpt::alloc_nested(ctx, 0x21, parent, s1));
        CHECK(n.parent_id() == parent.id());
        auto c = k.calls(ui::hwpt_alloc).back();
        auto img = c->as<ua::iommu_hwpt_alloc>();
        CHECK(img.pt_id == parent.id());
        CHECK(img.data_type == ua::hwpt_data_type::vtd_s1);
        CHECK(img.data_len == 24);
        auto sent = pointed_as<ua::iommu_hwpt_vtd_s1>(*c);
        CHECK(sent.pgtbl_addr == 0x12345000);
        CHECK(sent.addr_width == 48);
        CHECK(sent.flags == ua::hwpt_vtd_s1_flag::sre);
    }
    {
        auto n = must(hwpt::alloc_nested(ctx, 0x21, parent.id(), selftest_data{0xbadbeef, 0}));
        auto c = k.calls(ui::hwpt_alloc).back();
        auto img = c->as<ua::iommu_hwpt_alloc>();
        CHECK(static_cast<u32>(img.data_type) == 0xdead);
        CHECK(img.data_len == 8);
        CHECK(pointed_as<selftest_data>(*c).iotlb == 0xbadbeef);
        // a caller's type is not nested-only: the kernel decides whether it takes flags with it
        const std::size_t before = k.log.size();
        CHECK(hwpt::alloc_nested(ctx, 0x21, parent.id(), selftest_data{}, ua::hwpt_alloc_flag::dirty_tracking).has_value());
        REQUIRE(k.log.size() == before + 2);  // issued, then destroyed with the temporary
        CHECK(k.log[before].code == ui::hwpt_alloc.code);
        CHECK(k.log[before + 1].code == ui::destroy.code);
    }
    // the kernel's vendor types are nested-only: refused before the ioctl
    const std::size_t before = k.log.size();
    auto bad = hwpt::alloc_nested(ctx, 0x21, parent, s1, ua::hwpt_alloc_flag::nest_parent);
    REQUIRE(!bad);
    CHECK(bad.error().code == EOPNOTSUPP);
    CHECK(bad.error().origin == error_origin::library);
    CHECK(k.log.size() == before);
    // a kernel refusal names the IDs and the data type, with advice
    k.on(ui::hwpt_alloc, [](fake_kernel&, void*) { return -EINVAL; });
    auto refused = hwpt::alloc_nested(ctx, 0x21, 0x99, selftest_data{});
    REQUIRE(!refused);
    CHECK(refused.error().ioctl == "IOMMU_HWPT_ALLOC");
    CHECK(refused.error().origin == error_origin::kernel);
    CHECK(value_of(refused.error(), "pt_id") == 0x99);
    CHECK(value_of(refused.error(), "data_type") == 0xdead);
    CHECK(std::string(refused.error().message).find("NEST_PARENT") != std::string::npos);
}

TEST_CASE("hwpt: invalidate reports the entries handled and the failing entry's error", "[hwpt]") {
    fake_kernel k;
    auto ctx = must(iommufd::from_fd(new_eventfd(), k.hook()));
    auto h = hwpt::adopt(ctx.fd(), 0x50, k.hook());
    std::array<selftest_inv, 3> e{{{0, 1}, {0, 4}, {1, 0}}};
    k.on(ui::hwpt_invalidate, [](fake_kernel&, void* arg) {
        ua::iommu_hwpt_invalidate r;
        std::memcpy(&r, arg, sizeof r);
        r.entry_num = 1;  // the second entry is bad
        std::memcpy(arg, &r, sizeof r);
        return -EINVAL;
    });
    auto out = h.invalidate(e);
    CHECK(out.done == 1);
    REQUIRE(!out.status);
    CHECK(out.status.error().code == EINVAL);
    CHECK(out.status.error().ioctl == "IOMMU_HWPT_INVALIDATE");
    CHECK(value_of(out.status.error(), "hwpt") == 0x50);
    CHECK(value_of(out.status.error(), "entry_num") == 1);
    CHECK(value_of(out.status.error(), "entries") == 3);
    auto c = k.calls(ui::hwpt_invalidate);
    REQUIRE(c.size() == 1);
    auto img = c[0]->as<ua::iommu_hwpt_invalidate>();
    CHECK(img.size == 32);
    CHECK(img.hwpt_id == 0x50);
    CHECK(static_cast<u32>(img.data_type) == 0xdeadbeef);
    CHECK(img.entry_len == 8);
    CHECK(img.entry_num == 3);
    CHECK(img.data_uptr == reinterpret_cast<std::uintptr_t>(e.data()));
    REQUIRE(c[0]->pointed.size() == 24);
    CHECK(std::memcmp(c[0]->pointed.data(), e.data(), 24) == 0);

    // all handled
    k.on(ui::hwpt_invalidate, [](fake_kernel&, void*) { return 0; });  // entry_num left as sent
    std::array<ua::iommu_hwpt_vtd_s1_invalidate, 2> v{};
    auto ok = h.invalidate(v);
    CHECK(ok.status.has_value());
    CHECK(ok.done == 2);
    CHECK(k.calls(ui::hwpt_invalidate).back()->as<ua::iommu_hwpt_invalidate>().data_type ==
          ua::hwpt_invalidate_data_type::vtd_s1);
    (void)h.destroy();
}

TEST_CASE("hwpt: dirty tracking and the dirty bitmap: image, zeroing, the kernel's relative indexing", "[hwpt]") {
    fake_kernel k;
    auto ctx = must(iommufd::from_fd(new_eventfd(), k.hook()));
    auto h = hwpt::adopt(ctx.fd(), 0x50, k.hook());
    must(h.set_dirty_tracking(true));
    must(h.set_dirty_tracking(false));
    auto sd = k.calls(ui::hwpt_set_dirty_tracking);
    REQUIRE(sd.size() == 2);
    CHECK(sd[0]->as<ua::iommu_hwpt_set_dirty_tracking>().flags == ua::hwpt_set_dirty_tracking_flag::enable);
    CHECK(sd[0]->as<ua::iommu_hwpt_set_dirty_tracking>().hwpt_id == 0x50);
    CHECK(sd[1]->as<ua::iommu_hwpt_set_dirty_tracking>().flags.bits() == 0);

    // The fake kernel marks dirty IOVAs as drivers/iommu/iommufd/iova_bitmap.c does: bit (iova - req.iova) / page_size
    static const std::vector<u64> dirty{0x1005000, 0x1006000, 0x1028000, 0x1045000, 0x107f000};
    k.on(ui::hwpt_get_dirty_bitmap, [](fake_kernel&, void* arg) {
        ua::iommu_hwpt_get_dirty_bitmap r;
        std::memcpy(&r, arg, sizeof r);
        auto* bits = reinterpret_cast<u64*>(static_cast<std::uintptr_t>(r.data));
        for (u64 iova : dirty)
            if (iova >= r.iova && iova < r.iova + r.length) {
                u64 n = (iova - r.iova) / r.page_size;
                bits[n / 64] |= u64{1} << (n % 64);
            }
        return 0;
    });
    std::array<u64, 3> bits{~u64{0}, ~u64{0}, ~u64{0}};
    auto n = must(h.get_dirty_bitmap(0x1005000, 100 * 4096, 4096, std::span(bits)));
    CHECK(n == 4);
    CHECK(bits[0] == (u64{1} << 0 | u64{1} << 1 | u64{1} << 35));
    CHECK(bits[1] == 1);             // page 69 is bit 64
    CHECK(bits[2] == ~u64{0});       // past ceil(100 / 64) words: untouched
    CHECK(hwpt::dirty_page(bits, 35));
    CHECK(!hwpt::dirty_page(bits, 34));
    CHECK(!hwpt::dirty_page(std::span<const u64>(bits.data(), 1), 64));  // past the span: false
    auto g = k.calls(ui::hwpt_get_dirty_bitmap);
    REQUIRE(g.size() == 1);
    auto img = g[0]->as<ua::iommu_hwpt_get_dirty_bitmap>();
    CHECK(img.size == 48);
    CHECK(img.hwpt_id == 0x50);
    CHECK(img.flags.bits() == 0);
    CHECK(img.iova == 0x1005000);
    CHECK(img.length == 100 * 4096);
    CHECK(img.page_size == 4096);
    CHECK(img.data == reinterpret_cast<std::uintptr_t>(bits.data()));
    must(h.get_dirty_bitmap(0x1000000, 64 * 4096, 4096, std::span(bits), dirty_read::keep));
    CHECK(k.calls(ui::hwpt_get_dirty_bitmap).back()->as<ua::iommu_hwpt_get_dirty_bitmap>().flags ==
          ua::hwpt_get_dirty_bitmap_flag::no_clear);

    // refused before the ioctl: unaligned iova, a bitmap too small
    const std::size_t before = k.log.size();
    auto unaligned = h.get_dirty_bitmap(0x1001000, 4 * 8192, 8192, std::span(bits));
    REQUIRE(!unaligned);
    CHECK(unaligned.error().code == EINVAL);
    CHECK(unaligned.error().origin == error_origin::library);
    auto small = h.get_dirty_bitmap(0x1000000, 200 * 4096, 4096, std::span(bits.data(), 2));
    REQUIRE(!small);
    CHECK(small.error().field == "bitmap");
    CHECK(k.log.size() == before);

    // EOPNOTSUPP from the kernel: advice names the alloc flag
    k.on(ui::hwpt_set_dirty_tracking, [](fake_kernel&, void*) { return -EOPNOTSUPP; });
    auto no = h.set_dirty_tracking(true);
    REQUIRE(!no);
    CHECK(std::string(no.error().message).find("dirty_tracking") != std::string::npos);
    (void)h.destroy();
}

TEST_CASE("hwpt: destroy() reports EBUSY once; the destructor does not retry", "[hwpt]") {
    fake_kernel k;
    auto ctx = must(iommufd::from_fd(new_eventfd(), k.hook()));
    k.on(ui::destroy, [](fake_kernel&, void*) { return -EBUSY; });
    {
        auto h = must(hwpt::alloc(ctx, 1, 2));
        auto r = h.destroy();
        REQUIRE(!r);
        CHECK(r.error().code == EBUSY);
        CHECK(value_of(r.error(), "hwpt") == 0x40);
        CHECK(std::string(r.error().message).find("replace") != std::string::npos);
        CHECK(h.id() == 0);
    }
    CHECK(k.count(ui::destroy) == 1);
}

TEST_CASE("hw_info: VT-d registers decoded (QEMU 10's values in each mode)", "[hwpt][hw_info]") {
    // legacy and scalable: cap 0x00d2008c222f0606
    constexpr auto cap = vtd_cap::decode(0x00d2008c222f0606);
    STATIC_CHECK(cap.nd == 6);
    STATIC_CHECK(cap.num_domains() == 65536);
    STATIC_CHECK(cap.sagaw == 6);
    STATIC_CHECK(cap.mgaw == 48);
    STATIC_CHECK(cap.fro == 0x220);
    STATIC_CHECK(cap.sllps == 3);
    STATIC_CHECK(cap.psi);
    STATIC_CHECK(cap.nfr == 1);
    STATIC_CHECK(cap.mamv == 18);
    STATIC_CHECK(cap.dwd);
    STATIC_CHECK(cap.drd);
    STATIC_CHECK(!cap.fl1gp);
    STATIC_CHECK(!cap.cm);
    STATIC_CHECK(!cap.afl && !cap.rwbf && !cap.plmr && !cap.phmr && !cap.zlr && !cap.pi && !cap.fl5lp && !cap.esrtps);
    STATIC_CHECK(vtd_cap::decode(0x01d2008c222f0606).fl1gp);  // first-stage mode
    // every bit the kernel reads, one at a time
    STATIC_CHECK(vtd_cap::decode(u64{1} << 63).esrtps);
    STATIC_CHECK(vtd_cap::decode(u64{1} << 62).esirtps);
    STATIC_CHECK(vtd_cap::decode(u64{1} << 61).ecmds);
    STATIC_CHECK(vtd_cap::decode(u64{1} << 60).fl5lp);
    STATIC_CHECK(vtd_cap::decode(u64{1} << 59).pi);
    STATIC_CHECK(vtd_cap::decode(u64{1} << 23).isoch);
    STATIC_CHECK(vtd_cap::decode(u64{1} << 7).cm);
    STATIC_CHECK(vtd_cap::decode(0).mgaw == 1);
    STATIC_CHECK(vtd_cap::decode(0).nfr == 1);

    // scalable + PASID: ecap 0x490080f00f4a
    constexpr auto e = vtd_ecap::decode(0x0000490080f00f4a);
    STATIC_CHECK(e.qi && e.ir && e.pt && !e.c && !e.dt && !e.eim && !e.sc);
    STATIC_CHECK(e.iro == 0xf0);
    STATIC_CHECK(e.mhmv == 0xf);
    STATIC_CHECK(e.srs && e.pasid && e.smts && e.slts);
    STATIC_CHECK(!e.flts && !e.nest && !e.slads && !e.prs && !e.pds && !e.smpwc);
    STATIC_CHECK(e.pss == 0);
    constexpr auto legacy = vtd_ecap::decode(0xf00f4a);
    STATIC_CHECK(!legacy.smts && !legacy.pasid && !legacy.slts && !legacy.srs);
    constexpr auto fs = vtd_ecap::decode(0x0000880000f00f4a);
    STATIC_CHECK(fs.smts && fs.flts && !fs.slts && !fs.pasid);
    STATIC_CHECK(vtd_ecap::decode(u64{0x1f} << 35).pss == 0x1f);
    STATIC_CHECK(vtd_ecap::decode(u64{1} << 51).pms);
    STATIC_CHECK(vtd_ecap::decode(u64{1} << 28).broken_pasid);
    STATIC_CHECK(vtd_ecap::decode(u64{1} << 45).slads);

    // for_each_field visits every field once, in bit order, with the decoded values
    std::string s;
    cap.for_each_field([&s](std::string_view n, u64 v) { s += fmt::format("{}={} ", n, v); });
    CHECK(s == "nd=6 afl=0 rwbf=0 plmr=0 phmr=0 cm=0 sagaw=6 mgaw=48 zlr=0 isoch=0 fro=544 sllps=3 psi=1 nfr=1 mamv=18 "
               "dwd=1 drd=1 fl1gp=0 pi=0 fl5lp=0 ecmds=0 esirtps=0 esrtps=0 ");
    int fields = 0;
    e.for_each_field([&fields](std::string_view, u64) { ++fields; });
    CHECK(fields == 29);
}

TEST_CASE("hw_info: get_hw_info image, VT-d data decoded, a driver's own type kept raw", "[hwpt][hw_info]") {
    fake_kernel k;
    auto ctx = must(iommufd::from_fd(new_eventfd(), k.hook()));
    k.on(ui::get_hw_info, [](fake_kernel&, void* arg) {
        ua::iommu_hw_info r;
        std::memcpy(&r, arg, sizeof r);
        ua::iommu_hw_info_vtd v{};
        v.cap_reg = 0x00d2008c222f0606;
        v.ecap_reg = 0x0000490080f00f4a;
        std::memcpy(reinterpret_cast<void*>(static_cast<std::uintptr_t>(r.data_uptr)), &v, std::min<std::size_t>(sizeof v, r.data_len));
        r.data_len = sizeof v;
        r.data_type.out_data_type = ua::hw_info_type::intel_vtd;
        r.out_capabilities = ua::hw_capability::pci_ats_not_supported;
        std::memcpy(arg, &r, sizeof r);
        return 0;
    });
    auto info = must(get_hw_info(ctx, 0x21));
    auto c = k.calls(ui::get_hw_info);
    REQUIRE(c.size() == 1);
    auto img = c[0]->as<ua::iommu_hw_info>();
    CHECK(img.size == 40);
    CHECK(img.dev_id == 0x21);
    CHECK(img.data_len == 64);
    CHECK(img.flags.bits() == 0);
    CHECK(info.type == ua::hw_info_type::intel_vtd);
    CHECK(info.data_len == 24);
    CHECK(info.capabilities == ua::hw_capability::pci_ats_not_supported);
    auto* vtd = std::get_if<vtd_hw_info>(&info.data);
    REQUIRE(vtd != nullptr);
    CHECK(vtd->cap_reg == 0x00d2008c222f0606);
    CHECK(vtd->cap.mgaw == 48);
    CHECK(vtd->ecap.smts);
    CHECK(info.as<ua::iommu_hw_info_vtd>()->ecap_reg == 0x0000490080f00f4a);
    CHECK(!info.as<selftest_info>().has_value());

    k.on(ui::get_hw_info, [](fake_kernel&, void* arg) {
        ua::iommu_hw_info r;
        std::memcpy(&r, arg, sizeof r);
        selftest_info t{0, 0xdeadbeef};
        std::memcpy(reinterpret_cast<void*>(static_cast<std::uintptr_t>(r.data_uptr)), &t, sizeof t);
        r.data_len = sizeof t;
        r.data_type.out_data_type = static_cast<ua::hw_info_type>(0xfeedbeef);
        std::memcpy(arg, &r, sizeof r);
        return 0;
    });
    auto mock = must(get_hw_info(ctx.fd(), 3, ctx.hook()));
    CHECK(std::holds_alternative<std::monostate>(mock.data));
    CHECK(mock.as<selftest_info>()->test_reg == 0xdeadbeef);

    k.on(ui::get_hw_info, [](fake_kernel&, void*) { return -ENOENT; });
    auto missing = get_hw_info(ctx, 9);
    REQUIRE(!missing);
    CHECK(value_of(missing.error(), "dev_id") == 9);
    CHECK(std::string(missing.error().message).find("bind") != std::string::npos);
}

TEST_CASE("device: PASID attach / replace / detach images (argsz 16 / 12) and a kernel without the PASID forms",
          "[hwpt][pasid]") {
    fake_kernel k;
    auto dev = must(device::from_fd(new_eventfd(), "0000:00:04.0", k.hook()));
    // replace_pasid of a PASID not attached: refused, nothing issued
    auto early = dev.replace_pasid(5, 0x40);
    REQUIRE(!early);
    CHECK(early.error().origin == error_origin::library);
    CHECK(k.log.empty());

    k.on(uv::device_attach_iommufd_pt, [](fake_kernel&, void*) { return 0; });
    CHECK(must(dev.attach_pasid(5, 0x40)) == 0x40);
    auto a = k.calls(uv::device_attach_iommufd_pt);
    REQUIRE(a.size() == 1);
    CHECK(a[0]->image.size() == 16);
    auto ai = a[0]->as<ua::vfio_device_attach_iommufd_pt>();
    CHECK(ai.argsz == 16);
    CHECK(ai.flags == ua::device_attach_flag::pasid);
    CHECK(ai.pt_id == 0x40);
    CHECK(ai.pasid == 5);
    REQUIRE(dev.pasids().size() == 1);
    CHECK(must(dev.replace_pasid(5, 0x41)) == 0x41);
    CHECK(dev.pasids().size() == 1);
    must(dev.detach_pasid(5));
    CHECK(dev.pasids().empty());
    auto d = k.calls(uv::device_detach_iommufd_pt);
    REQUIRE(d.size() == 1);
    CHECK(d[0]->image.size() == 12);
    CHECK(d[0]->as<ua::vfio_device_detach_iommufd_pt>().flags == ua::device_detach_flag::pasid);
    CHECK(d[0]->as<ua::vfio_device_detach_iommufd_pt>().pasid == 5);
    // the whole-device forms keep their pre-PASID sizes
    k.on(uv::device_attach_iommufd_pt, [](fake_kernel&, void*) { return 0; });
    must(dev.attach(0x40));
    CHECK(k.calls(uv::device_attach_iommufd_pt).back()->image.size() == 12);

    // a 7.3 kernel: EINVAL for an incompatible page table; the probe (DETACH of PASID 0xffffffff) succeeds
    k.on(uv::device_attach_iommufd_pt, [](fake_kernel&, void*) { return -EINVAL; });
    k.on(uv::device_detach_iommufd_pt, [](fake_kernel&, void*) { return 0; });
    auto incompatible = dev.attach_pasid(5, 0x40);
    REQUIRE(!incompatible);
    CHECK(std::string(incompatible.error().message).find("PASID-compatible") != std::string::npos);
    CHECK(k.calls(uv::device_detach_iommufd_pt).back()->as<ua::vfio_device_detach_iommufd_pt>().pasid == 0xffffffffu);
    CHECK(incompatible.error().subject.view() == "0000:00:04.0");
    CHECK(value_of(incompatible.error(), "pasid") == 5);

    // an older kernel: EINVAL for any flag, the probe too: the error says the kernel lacks the PASID forms
    k.on(uv::device_detach_iommufd_pt, [](fake_kernel&, void* arg) {
        u32 flags = 0;
        std::memcpy(&flags, static_cast<const std::byte*>(arg) + 4, sizeof flags);
        return flags != 0 ? -EINVAL : 0;
    });
    CHECK(!must(dev.has_pasid_forms()));
    auto old = dev.attach_pasid(5, 0x40);
    REQUIRE(!old);
    CHECK(old.error().code == EINVAL);
    CHECK(std::string(old.error().message).find("no PASID forms") != std::string::npos);
    auto old_detach = dev.detach_pasid(5);
    REQUIRE(!old_detach);
    CHECK(std::string(old_detach.error().message).find("no PASID forms") != std::string::npos);
    // a device without PASID ops: EOPNOTSUPP, with advice
    k.on(uv::device_attach_iommufd_pt, [](fake_kernel&, void*) { return -EOPNOTSUPP; });
    auto none = dev.attach_pasid(5, 0x40);
    REQUIRE(!none);
    CHECK(std::string(none.error().message).find("no PASID support") != std::string::npos);
}

TEST_CASE("hwpt: get_hw_info into raw bytes refuses a buffer whose length does not fit data_len", "[hwpt]") {
    // data_len is a u32: a span of 4 GiB cannot be described. The span is never read (refused before anything).
    std::span<std::byte> huge(reinterpret_cast<std::byte*>(alignof(std::max_align_t)), std::size_t{1} << 32);
    auto r = vfiopp::wire::iommufd::get_hw_info(1, huge);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().ioctl == "IOMMU_GET_HW_INFO");
    CHECK(r.error().field == "data_len");
    CHECK(r.error().code == EOVERFLOW);
    alignas(8) std::array<std::byte, 64> small{};
    auto ok = vfiopp::wire::iommufd::get_hw_info(1, std::span<std::byte>(small));
    REQUIRE(ok.has_value());
    CHECK(ok->header().data_len == 64);
}
