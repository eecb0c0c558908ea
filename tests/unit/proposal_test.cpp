// vfiopp::proposal (proposal.hpp) over fake kernels behind io::ioctl_hook:
//   - a "2020 kernel" whose answers come from the kernel-rules model (wire/nesting_rules.hpp): the container backend
//     in both ABIs, the probe, and the refusals before the ioctl;
//   - a mainline kernel (ENOTTY for the proposal's numbers): the typed "not supported" error;
//   - an iommufd fake and a fake port: the iommufd backend's PASID table, bind/unbind bookkeeping, invalidation
//     routing and the order it undoes things in.
// The real kernels (VM tests) are in tests/vm/objects_proposal_test.cpp.
#include "unit_support.hpp"

#include <vfiopp/proposal.hpp>

#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace vfiopp;
using namespace vfiopp::uapi;
using namespace unit_support;
namespace rules = vfiopp::wire::rules;

namespace {

// ---- a 2020 kernel, from the model ----
struct kernel2020 {
    bool has_proposal = true;        // false: a mainline kernel (ENOTTY)
    rules::kernel_state state{};
    rules::pasid_table table{};
    std::set<u64> bound;             // hpasids bound
    std::map<unsigned long, int> calls;
    int discarded = 0;               // errors the kernel computed and dropped

    io::ioctl_hook hook() { return {&kernel2020::entry, this}; }

    template <typename Abi>
    long nesting(std::byte* arg) {
        using T = abi_traits<Abi>;
        u32 payload_argsz = 0;
        std::memcpy(&payload_argsz, arg + T::data_offset, 4);
        const std::size_t n = T::data_offset + std::min<std::size_t>(payload_argsz, 72);
        auto v = rules::check_nesting_op<Abi>(std::span<const std::byte>(arg, std::max<std::size_t>(n, T::data_offset)), state);
        if (!v.accepted()) {
            if (v.reported) return -v.code;
            ++discarded;
            return 0;
        }
        typename T::nesting_op_type h{};
        std::memcpy(&h, arg, sizeof h);
        iommu_gpasid_bind_data d{};
        std::memcpy(&d, arg + T::data_offset, sizeof d);
        const auto op = static_cast<u32>(T::op_of(h));
        if (op == 0) bound.insert(d.hpasid);
        if (op == 1) bound.erase(d.hpasid);
        return 0;
    }
    static int entry(void* self, int, unsigned long code, void* arg) noexcept {
        auto& k = *static_cast<kernel2020*>(self);
        ++k.calls[code];
        auto* b = static_cast<std::byte*>(arg);
        long rc = -ENOTTY;
        if (code == vfio::get_api_version.code) rc = 0;
        else if (code == vfio::check_extension.code) rc = k.has_proposal ? 1 : 0;
        else if (k.has_proposal && code == v7::iommu_pasid_request.code)
            rc = rules::pasid_request_effect<abi::v7>(std::span(b, 16), k.table, k.state);
        else if (k.has_proposal && code == seed::iommu_pasid_request.code)
            rc = rules::pasid_request_effect<abi::seed>(std::span(b, 20), k.table, k.state);
        else if (k.has_proposal && code == v7::iommu_nesting_op.code) rc = k.nesting<abi::v7>(b);
        else if (k.has_proposal && code == seed::iommu_nesting_op.code) rc = k.nesting<abi::seed>(b);
        if (rc < 0) {
            errno = static_cast<int>(-rc);
            return -1;
        }
        return static_cast<int>(rc);
    }
};

iommu_gpasid_bind_data bind_at(u64 hpasid) {
    iommu_gpasid_bind_data b{};
    b.format = iommu_pasid_format::intel_vtd;
    b.addr_width = 48;
    b.gpgd = 0x12345000;
    b.hpasid = hpasid;
    b.vendor.vtd.flags = iommu_gpasid_vtd_flag::sre;
    return b;
}
iommu_cache_invalidate_info iotlb_addr(u64 pasid, u64 addr, u64 pages) {
    iommu_cache_invalidate_info i{};
    i.cache = iommu_cache_inv_type::iotlb | iommu_cache_inv_type::dev_iotlb;
    i.granularity = iommu_inv_granularity::addr;
    i.granu.addr_info.flags = iommu_inv_addr_flag::pasid | iommu_inv_addr_flag::leaf;
    i.granu.addr_info.pasid = pasid;
    i.granu.addr_info.addr = addr;
    i.granu.addr_info.granule_size = 4096;
    i.granu.addr_info.nb_granules = pages;
    return i;
}
iommu_cache_invalidate_info domain_flush() {
    iommu_cache_invalidate_info i{};
    i.cache = iommu_cache_inv_type::iotlb;
    i.granularity = iommu_inv_granularity::domain;
    return i;
}

// The program the issue asks for: written against the proposal, run unchanged on every backend.
result<u32> guest_sva_session(proposal::vsva& s) {
    auto pasid = s.pasid_alloc({1, 1000});
    if (!pasid) return pasid.error();
    if (auto b = s.bind(bind_at(*pasid)); !b) return b.error();
    auto out = s.invalidate(iotlb_addr(*pasid, 0x200000, 4));
    if (!out.status) return out.status.error();
    if (auto u = s.unbind(bind_at(*pasid)); !u) return u.error();
    if (auto f = s.pasid_free({*pasid, *pasid}); !f) return f.error();
    return out.done;
}

}  // namespace

TEST_CASE("proposal: probe tells a 2020 kernel from a mainline one before any attempt", "[proposal]") {
    kernel2020 k;
    auto c = must(container::from_fd(new_eventfd(), k.hook()));
    auto s = must(proposal::probe(c));
    CHECK(s.nesting_extension);
    CHECK(s.v7_pasid_request);
    CHECK(s.v7_nesting_op);
    CHECK(s.seed_pasid_request);
    CHECK(s.seed_nesting_op);
    CHECK(s.any());
    CHECK(k.table.size() == 0);  // the argsz-0 probes allocated nothing
    CHECK(k.bound.empty());

    kernel2020 mainline;
    mainline.has_proposal = false;
    auto m = must(container::from_fd(new_eventfd(), mainline.hook()));
    auto ms = must(proposal::probe(m));
    CHECK_FALSE(ms.any());
    CHECK_FALSE(ms.nesting_extension);
    CHECK(mainline.calls[v7::iommu_pasid_request.code] == 1);
}

TEST_CASE("proposal: container backend in both ABIs against the 2020 kernel model", "[proposal]") {
    kernel2020 k;
    auto c = must(container::from_fd(new_eventfd(), k.hook()));
    SECTION("v7: the PASID is the ioctl's value; bind, invalidate, unbind, free; the destructor frees the rest") {
        {
            proposal::container_backend<abi::v7> s{c};
            CHECK(s.backend() == "container/v7");
            auto done = must(guest_sva_session(s));
            CHECK(done == 1);
            CHECK(k.table.size() == 0);
            CHECK(k.bound.empty());
            CHECK(k.calls[v7::iommu_nesting_op.code] == 3);
            auto p1 = must(s.pasid_alloc({5, 9}));
            auto p2 = must(s.pasid_alloc({5, 9}));
            CHECK(p1 == 5);
            CHECK(p2 == 6);
            must(s.bind(bind_at(p2)));
            CHECK(k.bound.count(6) == 1);
            CHECK(s.pasids().size() == 2);
        }
        CHECK(k.table.size() == 0);  // freed when the backend went
        CHECK(k.bound.empty());      // and unbound first
        CHECK(k.discarded == 0);
    }
    SECTION("seed: the PASID comes back in the image; a range free is one request per held PASID") {
        proposal::container_backend<abi::seed> s{c};
        CHECK(s.backend() == "container/seed");
        CHECK(must(guest_sva_session(s)) == 1);
        for (int i = 0; i < 3; ++i) (void)must(s.pasid_alloc({10, 20}));
        const auto before = k.calls[seed::iommu_pasid_request.code];
        must(s.pasid_free({10, 11}));
        CHECK(k.calls[seed::iommu_pasid_request.code] == before + 2);
        CHECK(k.table.size() == 1);
        CHECK(k.table.holds(12));
    }
    SECTION("refused before the ioctl, naming the field: what v7 would silently drop") {
        proposal::container_backend<abi::v7> s{c};
        auto p = must(s.pasid_alloc({1, 10}));
        auto bad = domain_flush();
        bad.cache = iommu_cache_inv_type::dev_iotlb;  // DEV_IOTLB at domain granularity
        auto out = s.invalidate(bad);
        REQUIRE_FALSE(out.status);
        CHECK(out.status.error().ioctl == "VFIO_IOMMU_NESTING_OP");
        CHECK(out.status.error().field == "data.cache");
        CHECK(out.status.error().code == EINVAL);
        CHECK(out.done == 0);
        auto unb = bind_at(p);
        unb.format = static_cast<iommu_pasid_format>(2);
        auto u = s.unbind(unb);
        REQUIRE_FALSE(u);
        CHECK(u.error().field == "data.format");
        CHECK(k.calls[v7::iommu_nesting_op.code] == 0);  // neither reached the kernel
        auto r = s.pasid_alloc({1, 0x80000000u});
        REQUIRE_FALSE(r);
        CHECK(r.error().field == "range");
    }
    SECTION("the kernel's own answers reach the caller: quota (ENOSPC), no BIND_PGTBL (EOPNOTSUPP)") {
        k.table = rules::pasid_table{2};
        proposal::container_backend<abi::v7> s{c};
        (void)must(s.pasid_alloc({1, 100}));
        (void)must(s.pasid_alloc({1, 100}));
        auto third = s.pasid_alloc({1, 100});
        REQUIRE_FALSE(third);
        CHECK(third.error().code == ENOSPC);
        CHECK(third.error().origin == error_origin::kernel);
        k.state.features = v7::nesting_feature::cache_invld;
        auto b = s.bind(bind_at(1));
        REQUIRE_FALSE(b);
        CHECK(b.error().code == EOPNOTSUPP);
        CHECK(value_of(b.error(), "hpasid") == 1u);
    }
}

TEST_CASE("proposal: on a mainline kernel every operation is a typed 'not supported' (ENOTTY)", "[proposal]") {
    kernel2020 k;
    k.has_proposal = false;
    auto c = must(container::from_fd(new_eventfd(), k.hook()));
    proposal::container_backend<abi::v7> s{c};
    auto r = guest_sva_session(s);
    REQUIRE_FALSE(r);
    CHECK(proposal::not_supported(r.error()));
    CHECK(r.error().ioctl == "VFIO_IOMMU_PASID_REQUEST");
    CHECK(r.error().message.find("does not implement the 2020 proposal") != std::string_view::npos);
    auto b = s.bind(bind_at(5));
    REQUIRE_FALSE(b);
    CHECK(proposal::not_supported(b.error()));
    CHECK(b.error().ioctl == "VFIO_IOMMU_NESTING_OP");
    proposal::container_backend<abi::seed> seed_s{c};
    auto sr = seed_s.pasid_alloc({1, 5});
    REQUIRE_FALSE(sr);
    CHECK(proposal::not_supported(sr.error()));
    // a library refusal is not "not supported"
    CHECK_FALSE(proposal::not_supported(s.pasid_alloc({2, 1}).error()));
}

// ---- iommufd: a fake kernel for HWPT_ALLOC / DESTROY / HWPT_INVALIDATE and a fake port ----
namespace {
struct fake_iommufd {
    u32 next_id = 100;
    std::set<u32> objects;
    std::map<u32, u32> parent_of;
    std::vector<std::pair<u32, iommu_hwpt_vtd_s1_invalidate>> invalidations;  // (hwpt, entry)
    std::vector<iommu_hwpt_vtd_s1> stage1s;
    int fail_alloc = 0;       // errno for the next HWPT_ALLOC
    u32 consume_max = 1000;   // entries HWPT_INVALIDATE handles before EINVAL
    io::ioctl_hook hook() { return {&fake_iommufd::entry, this}; }
    static int entry(void* self, int, unsigned long code, void* arg) noexcept {
        auto& k = *static_cast<fake_iommufd*>(self);
        int rc = 0;
        if (code == uapi::iommufd::hwpt_alloc.code) {
            iommu_hwpt_alloc h;
            std::memcpy(&h, arg, sizeof h);
            if (k.fail_alloc) rc = -std::exchange(k.fail_alloc, 0);
            else {
                h.out_hwpt_id = k.next_id++;
                k.objects.insert(h.out_hwpt_id);
                if (h.data_len) {
                    iommu_hwpt_vtd_s1 s{};
                    std::memcpy(&s, reinterpret_cast<const void*>(static_cast<std::uintptr_t>(h.data_uptr)), sizeof s);
                    k.stage1s.push_back(s);
                    k.parent_of[h.out_hwpt_id] = h.pt_id;
                }
                std::memcpy(arg, &h, sizeof h);
            }
        } else if (code == uapi::iommufd::destroy.code) {
            iommu_destroy d;
            std::memcpy(&d, arg, sizeof d);
            for (auto [child, parent] : k.parent_of)
                if (parent == d.id && k.objects.count(child)) rc = -EBUSY;
            if (rc == 0 && k.objects.erase(d.id) == 0) rc = -ENOENT;
        } else if (code == uapi::iommufd::hwpt_invalidate.code) {
            iommu_hwpt_invalidate h;
            std::memcpy(&h, arg, sizeof h);
            u32 n = std::min(h.entry_num, k.consume_max);
            for (u32 i = 0; i < n; ++i) {
                iommu_hwpt_vtd_s1_invalidate e;
                std::memcpy(&e, reinterpret_cast<const std::byte*>(static_cast<std::uintptr_t>(h.data_uptr)) + i * h.entry_len, sizeof e);
                k.invalidations.emplace_back(h.hwpt_id, e);
            }
            if (n < h.entry_num) rc = -EINVAL;
            h.entry_num = n;
            std::memcpy(arg, &h, sizeof h);
        }
        if (rc < 0) {
            errno = -rc;
            return -1;
        }
        return rc;
    }
};
struct fake_port final : proposal::port {
    bool pasid = true;
    u32 rid = 7;  // the IOAS's auto HWPT
    std::map<u32, u32> attached;  // pasid -> hwpt
    std::vector<std::string> log;
    [[nodiscard]] u32 dev_id() const noexcept override { return 3; }
    [[nodiscard]] result<bool> has_pasid() const override { return pasid; }
    [[nodiscard]] result<void> replace_rid(u32 pt) override {
        log.push_back("rid " + std::to_string(pt));
        rid = pt;
        return {};
    }
    [[nodiscard]] result<void> attach_pasid(u32 p, u32 pt) override {
        log.push_back("attach " + std::to_string(p) + " " + std::to_string(pt));
        attached[p] = pt;
        return {};
    }
    [[nodiscard]] result<void> detach_pasid(u32 p) override {
        log.push_back("detach " + std::to_string(p));
        attached.erase(p);
        return {};
    }
};
}  // namespace

TEST_CASE("proposal: iommufd backend: the same program, translated to HWPTs and PASID attaches", "[proposal]") {
    fake_iommufd k;
    auto ctx = must(vfiopp::iommufd::from_fd(new_eventfd(), k.hook()));
    fake_port port;
    SECTION("the session runs unchanged; nothing is left behind; the RID goes back") {
        {
            auto s = must(proposal::iommufd_backend<>::create(ctx, port, 1));
            CHECK(s->backend() == "iommufd");
            CHECK(s->pasid_attach());
            const u32 parent = s->parent_id();
            CHECK(port.rid == parent);
            CHECK(must(guest_sva_session(*s)) == 1);  // one entry consumed
            REQUIRE(k.stage1s.size() == 1);
            CHECK(k.stage1s[0].pgtbl_addr == 0x12345000);
            CHECK(k.stage1s[0].addr_width == 48);
            CHECK(k.stage1s[0].flags.bits() == 1);  // SRE
            REQUIRE(k.invalidations.size() == 1);
            CHECK(k.invalidations[0].second.addr == 0x200000);
            CHECK(k.invalidations[0].second.npages == 4);
            CHECK(k.invalidations[0].second.flags.bits() == 1);  // LEAF
            CHECK(k.objects == std::set<u32>{parent});          // the nested HWPT is gone
            CHECK(port.attached.empty());
            // two binds at two PASIDs, a domain flush reaches both tables
            auto a = must(s->pasid_alloc({1, 10}));
            auto b = must(s->pasid_alloc({1, 10}));
            must(s->bind(bind_at(a)));
            must(s->bind(bind_at(b)));
            CHECK(port.attached.size() == 2);
            k.invalidations.clear();
            auto out = s->invalidate(domain_flush());
            CHECK(out.status);
            CHECK(out.done == 2);
            REQUIRE(k.invalidations.size() == 2);
            CHECK(k.invalidations[0].second.npages == ~u64{0});
            CHECK(k.invalidations[0].first != k.invalidations[1].first);
        }
        CHECK(k.objects.empty());  // nested HWPTs, then the parent
        CHECK(port.rid == 1);      // the RID is back on the IOAS
        CHECK(port.attached.empty());
    }
    SECTION("refusals: unallocated PASID, double bind, unbind of nothing, PASID cache only, memory types") {
        auto s = must(proposal::iommufd_backend<>::create(ctx, port, 1));
        auto r = s->bind(bind_at(5));
        REQUIRE_FALSE(r);
        CHECK(r.error().field == "data.hpasid");
        auto p = must(s->pasid_alloc({5, 5}));
        must(s->bind(bind_at(p)));
        auto again = s->bind(bind_at(p));
        REQUIRE_FALSE(again);
        CHECK(again.error().code == EBUSY);
        auto none = s->unbind(bind_at(6));
        REQUIRE_FALSE(none);
        CHECK(none.error().code == ENOENT);
        auto pc = domain_flush();
        pc.cache = iommu_cache_inv_type::pasid;
        auto out = s->invalidate(pc);
        CHECK(out.status);
        CHECK(out.done == 0);  // documented no-op
        auto other = s->invalidate(iotlb_addr(9, 0, 1));
        REQUIRE_FALSE(other.status);
        CHECK(other.status.error().code == ENOENT);
        auto mt = bind_at(p);
        mt.vendor.vtd.flags |= iommu_gpasid_vtd_flag::pcd;
        must(s->unbind(bind_at(p)));
        auto m = s->bind(mt);
        REQUIRE_FALSE(m);
        CHECK(m.error().code == EOPNOTSUPP);
        CHECK(m.error().field == "data.vendor.vtd.flags");
        auto big = s->pasid_alloc({1, 0x80000000u});
        REQUIRE_FALSE(big);
        CHECK(big.error().field == "range");
        // the quota, as v7's vfio_pasid.ko
        auto q = must(proposal::iommufd_backend<>::create(ctx, port, 1, 3));
        for (int i = 0; i < 3; ++i) (void)must(q->pasid_alloc({1, 100}));
        auto over = q->pasid_alloc({1, 100});
        REQUIRE_FALSE(over);
        CHECK(over.error().code == ENOSPC);
    }
    SECTION("partial progress comes back: the kernel stops at entry 0, done says so") {
        auto s = must(proposal::iommufd_backend<>::create(ctx, port, 1));
        auto p = must(s->pasid_alloc({1, 10}));
        must(s->bind(bind_at(p)));
        k.consume_max = 0;
        auto out = s->invalidate(iotlb_addr(p, 0x1000, 1));
        REQUIRE_FALSE(out.status);
        CHECK(out.done == 0);
        CHECK(out.status.error().ioctl == "IOMMU_HWPT_INVALIDATE");
        CHECK(value_of(out.status.error(), "hwpt") == s->hwpt_of(p));
    }
    SECTION("without PASID attach: one bind at the RID, unbind puts the RID back on the parent") {
        port.pasid = false;
        auto s = must(proposal::iommufd_backend<>::create(ctx, port, 1));
        CHECK_FALSE(s->pasid_attach());
        auto a = must(s->pasid_alloc({1, 10}));
        auto b = must(s->pasid_alloc({1, 10}));
        must(s->bind(bind_at(a)));
        CHECK(port.rid == s->hwpt_of(a));
        auto second = s->bind(bind_at(b));
        REQUIRE_FALSE(second);
        CHECK(second.error().code == EBUSY);
        must(s->pasid_free({1, 10}));  // unbinds first
        CHECK(port.rid == s->parent_id());
        CHECK(s->pasids().empty());
    }
    SECTION("a parent the IOMMU refuses: the kernel's answer, typed; nothing moved") {
        k.fail_alloc = EOPNOTSUPP;
        auto s = proposal::iommufd_backend<>::create(ctx, port, 1);
        REQUIRE_FALSE(s);
        CHECK(s.error().code == EOPNOTSUPP);
        CHECK(s.error().ioctl == "IOMMU_HWPT_ALLOC");
        CHECK(port.log.empty());
    }
}
