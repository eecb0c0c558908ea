// The vIOMMU objects (viommu, vdevice, veventq, hw_queue: <vfiopp/viommu.hpp>) and the fault queue
// (<vfiopp/fault_queue.hpp>) over a fake kernel: the objects route their ioctls through an io::ioctl_hook, which a
// small in-process "kernel" answers (object IDs, the fd an *_ALLOC hands back) and logs; a pipe or a socketpair
// stands in for the vEVENTQ / fault fd, and the test writes the kernel's records into its other end.
//
// Checked: the request images; events read in order with lost events counted from sequence gaps (INT_MAX wraps to
// 0, as in the kernel) and LOST_EVENTS headers; truncated and malformed reads refused without touching the counts;
// fault groups assembled across reads (records cut in two included); page response bytes; a short write of
// responses continued; destroy order and exactly-once destruction, an event fd closed before its IOMMU_DESTROY.
#include <vfiopp/fault_queue.hpp>
#include <vfiopp/fmt_error.hpp>
#include <vfiopp/iommufd.hpp>
#include <vfiopp/viommu.hpp>

#include "unit_support.hpp"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <fmt/format.h>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace vfiopp;
namespace ua = vfiopp::uapi;
namespace ui = vfiopp::uapi::iommufd;
using Catch::Matchers::ContainsSubstring;
using ua::u32;
using ua::u64;

namespace {
using unit_support::is_open;
using unit_support::must;
using unit_support::value_of;


// ---- the fake kernel ----
struct fake_kernel {
    struct object {
        u32 parent = 0;  // the object it holds a reference on (vIOMMU of a vDEVICE, ...)
        int fd = -1;     // the fd handed out with it (vEVENTQ, fault queue): DESTROY is EBUSY while it is open
    };
    std::map<u32, object> alive;
    std::vector<u32> destroyed;       // successful IOMMU_DESTROYs, in order
    std::vector<u32> destroy_calls;   // every IOMMU_DESTROY issued
    std::vector<unsigned long> codes;  // every ioctl code
    u32 next_id = 100;
    int next_fd = -1;      // what the next VEVENTQ_ALLOC / FAULT_QUEUE_ALLOC hands out (the caller then owns it)
    int fail_code = 0;     // fail the next ioctl of fail_ioctl with this errno
    u32 fail_ioctl = 0;
    ua::iommu_viommu_alloc last_viommu{};
    ua::iommu_vdevice_alloc last_vdevice{};
    ua::iommu_veventq_alloc last_veventq{};
    ua::iommu_hw_queue_alloc last_hw_queue{};

    io::ioctl_hook hook() { return {&fake_kernel::entry, this}; }
    template <typename Def>
    std::size_t count(const Def& def) const {
        return static_cast<std::size_t>(std::count(codes.begin(), codes.end(), static_cast<unsigned long>(def.code)));
    }
    bool referenced(u32 id) const {
        for (const auto& [k, o] : alive)
            if (o.parent == id) return true;
        return false;
    }
    u32 add(u32 parent, int fd = -1) {
        u32 id = next_id++;
        alive[id] = {parent, fd};
        return id;
    }

    static int entry(void* ctx, int, unsigned long code, void* arg) noexcept {
        auto& k = *static_cast<fake_kernel*>(ctx);
        k.codes.push_back(code);
        int rc = k.answer(code, arg);
        if (rc < 0) {
            errno = -rc;
            return -1;
        }
        return rc;
    }
    int answer(unsigned long code, void* arg) {
        if (fail_code && code == fail_ioctl) return -std::exchange(fail_code, 0);
        if (code == ui::destroy.code) {
            ua::iommu_destroy d;
            std::memcpy(&d, arg, sizeof d);
            destroy_calls.push_back(d.id);
            auto it = alive.find(d.id);
            if (it == alive.end()) return -ENOENT;
            if (referenced(d.id) || (it->second.fd >= 0 && is_open(it->second.fd))) return -EBUSY;
            alive.erase(it);
            destroyed.push_back(d.id);
            return 0;
        }
        if (code == ui::viommu_alloc.code) {
            std::memcpy(&last_viommu, arg, sizeof last_viommu);
            if (last_viommu.size != sizeof last_viommu) return -EINVAL;
            last_viommu.out_viommu_id = add(last_viommu.hwpt_id);
            std::memcpy(arg, &last_viommu, sizeof last_viommu);
            return 0;
        }
        if (code == ui::vdevice_alloc.code) {
            std::memcpy(&last_vdevice, arg, sizeof last_vdevice);
            if (!alive.count(last_vdevice.viommu_id)) return -ENOENT;
            last_vdevice.out_vdevice_id = add(last_vdevice.viommu_id);
            std::memcpy(arg, &last_vdevice, sizeof last_vdevice);
            return 0;
        }
        if (code == ui::veventq_alloc.code) {
            std::memcpy(&last_veventq, arg, sizeof last_veventq);
            if (!alive.count(last_veventq.viommu_id)) return -ENOENT;
            int fd = std::exchange(next_fd, -1);
            last_veventq.out_veventq_id = add(last_veventq.viommu_id, fd);
            last_veventq.out_veventq_fd = static_cast<u32>(fd);
            std::memcpy(arg, &last_veventq, sizeof last_veventq);
            return 0;
        }
        if (code == ui::hw_queue_alloc.code) {
            std::memcpy(&last_hw_queue, arg, sizeof last_hw_queue);
            if (!alive.count(last_hw_queue.viommu_id)) return -ENOENT;
            last_hw_queue.out_hw_queue_id = add(last_hw_queue.viommu_id);
            std::memcpy(arg, &last_hw_queue, sizeof last_hw_queue);
            return 0;
        }
        if (code == ui::fault_queue_alloc.code) {
            ua::iommu_fault_alloc f;
            std::memcpy(&f, arg, sizeof f);
            if (f.size != sizeof f || f.flags != 0) return -EINVAL;
            int fd = std::exchange(next_fd, -1);
            f.out_fault_id = add(0, fd);
            f.out_fault_fd = static_cast<u32>(fd);
            std::memcpy(arg, &f, sizeof f);
            return 0;
        }
        return -ENOTTY;
    }
};

// An iommufd context over the fake kernel (its fd is an eventfd: nothing is issued on it for real).
iommufd fake_ctx(fake_kernel& k) {
    return must(iommufd::from_fd(unique_fd{::eventfd(0, EFD_CLOEXEC)}, k.hook()));
}

struct pipe_pair {
    unique_fd r, w;
    pipe_pair() {
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
        r.reset(p[0]);
        w.reset(p[1]);
    }
};

// ---- vEVENT records as the kernel lays them out ----
void put_header(std::vector<std::byte>& out, u32 flags, u32 seq) {
    const std::size_t at = out.size();
    out.resize(at + 8);
    std::memcpy(out.data() + at, &flags, 4);
    std::memcpy(out.data() + at + 4, &seq, 4);
}
// An ARM SMMUv3 event: header + 4 little-endian u64 (evt[0] carries seq so the test can tell events apart).
void put_smmu(std::vector<std::byte>& out, u32 seq) {
    put_header(out, 0, seq);
    ua::iommu_vevent_arm_smmuv3 e{};
    e.evt[0] = 0x10 | (u64{seq} << 32);  // F_TRANSLATION
    e.evt[1] = 0x1234;
    const std::size_t at = out.size();
    out.resize(at + sizeof e);
    std::memcpy(out.data() + at, &e, sizeof e);
}
void put_lost(std::vector<std::byte>& out, u32 seq) { put_header(out, 1u /* LOST_EVENTS */, seq); }
void feed(const pipe_pair& p, const std::vector<std::byte>& bytes) {
    REQUIRE(::write(p.w.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
}

struct mock_viommu {
    fake_kernel k;
    iommufd ctx = fake_ctx(k);
    viommu vi = must(viommu::alloc(ctx, 5, 9, ua::viommu_type::arm_smmuv3));
};

// ---- fault records ----
ua::iommu_hwpt_pgfault fault(u32 dev, u32 grpid, u32 cookie, u64 addr, bool last) {
    ua::iommu_hwpt_pgfault f{};
    if (last) f.flags = ua::hwpt_pgfault_flag::last_page;
    f.dev_id = dev;
    f.grpid = grpid;
    f.perm = ua::hwpt_pgfault_perm::read | ua::hwpt_pgfault_perm::write;
    f.addr = addr;
    f.cookie = cookie;
    return f;
}
void send(int fd, const std::vector<ua::iommu_hwpt_pgfault>& faults) {
    const auto bytes = faults.size() * sizeof(ua::iommu_hwpt_pgfault);
    REQUIRE(::write(fd, faults.data(), bytes) == static_cast<ssize_t>(bytes));
}

}  // namespace

TEST_CASE("viommu: the ALLOC images and the IDs the kernel returns", "[viommu]") {
    fake_kernel k;
    auto ctx = fake_ctx(k);
    auto vi = must(viommu::alloc(ctx, 5, 9, ua::viommu_type::arm_smmuv3));
    CHECK(k.last_viommu.size == 40);
    CHECK(k.last_viommu.flags == 0);
    CHECK(k.last_viommu.type == ua::viommu_type::arm_smmuv3);
    CHECK(k.last_viommu.dev_id == 5);
    CHECK(k.last_viommu.hwpt_id == 9);
    CHECK(k.last_viommu.data_len == 0);
    CHECK(k.last_viommu.data_uptr == 0);
    CHECK(vi.id() == 100);
    CHECK(vi.dev_id() == 5);
    CHECK(vi.hwpt_id() == 9);
    CHECK(vi.fd() == ctx.fd());

    auto vd = must(vi.alloc_vdevice(5, 0x10));
    CHECK(k.last_vdevice.size == 24);
    CHECK(k.last_vdevice.viommu_id == 100);
    CHECK(k.last_vdevice.dev_id == 5);
    CHECK(k.last_vdevice.virt_id == 0x10);
    CHECK(vd.id() == 101);
    CHECK(vd.virt_id() == 0x10);

    pipe_pair p;
    const int qfd = p.r.get();
    k.next_fd = p.r.release();
    auto q = must(vi.alloc_veventq(ua::veventq_type::arm_smmuv3, 64));
    CHECK(k.last_veventq.size == 32);
    CHECK(k.last_veventq.viommu_id == 100);
    CHECK(k.last_veventq.type == ua::veventq_type::arm_smmuv3);
    CHECK(k.last_veventq.veventq_depth == 64);
    CHECK(q.id() == 102);
    CHECK(q.fd() == qfd);
    CHECK(q.data_size() == 32);
    CHECK(q.record_size() == 40);

    auto hq = must(vi.alloc_hw_queue(ua::hw_queue_type::tegra241_cmdqv, 1, 0x80000000, 0x10000));
    CHECK(k.last_hw_queue.size == 40);
    CHECK(k.last_hw_queue.viommu_id == 100);
    CHECK(k.last_hw_queue.index == 1);
    CHECK(k.last_hw_queue.nesting_parent_iova == 0x80000000);
    CHECK(k.last_hw_queue.length == 0x10000);
    CHECK(hq.id() == 103);
    CHECK(hq.index() == 1);
}

TEST_CASE("viommu: the kernel's refusals name the ioctl and the request", "[viommu]") {
    fake_kernel k;
    auto ctx = fake_ctx(k);
    k.fail_ioctl = ui::viommu_alloc.code;
    k.fail_code = EOPNOTSUPP;
    auto r = viommu::alloc(ctx, 5, 9, ua::viommu_type::arm_smmuv3);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().ioctl == "IOMMU_VIOMMU_ALLOC");
    CHECK(r.error().code == EOPNOTSUPP);
    CHECK(r.error().origin == error_origin::kernel);
    CHECK(value_of(r.error(), "type") == 1);
    CHECK(value_of(r.error(), "dev_id") == 5);
    CHECK(value_of(r.error(), "hwpt_id") == 9);
    CHECK_THAT(fmt::format("{}", r.error()), ContainsSubstring("no vIOMMU"));

    auto vi = must(viommu::alloc(ctx, 5, 9, ua::viommu_type::arm_smmuv3));
    k.fail_ioctl = ui::vdevice_alloc.code;
    k.fail_code = EEXIST;
    auto vd = vi.alloc_vdevice(5, 0x10);
    REQUIRE_FALSE(vd.has_value());
    CHECK(vd.error().ioctl == "IOMMU_VDEVICE_ALLOC");
    CHECK(value_of(vd.error(), "viommu") == vi.id());
    CHECK(value_of(vd.error(), "virt_id") == 0x10);

    // refused before any ioctl: depth 0, an unknown event type without its record size, a zero-length HW queue
    const auto before = k.codes.size();
    auto d0 = vi.alloc_veventq(ua::veventq_type::arm_smmuv3, 0);
    REQUIRE_FALSE(d0.has_value());
    CHECK(d0.error().field == "veventq_depth");
    CHECK(d0.error().origin == error_origin::library);
    auto unk = vi.alloc_veventq(static_cast<ua::veventq_type>(0x77u), 4);
    REQUIRE_FALSE(unk.has_value());
    CHECK(unk.error().field == "data_size");
    CHECK(unk.error().code == EINVAL);
    auto hq = vi.alloc_hw_queue(ua::hw_queue_type::tegra241_cmdqv, 0, 0x1000, 0);
    REQUIRE_FALSE(hq.has_value());
    CHECK(hq.error().field == "length");
    CHECK(k.codes.size() == before);
    // the mock's type has its 4-byte record size
    pipe_pair p;
    k.next_fd = p.r.release();
    auto mq = must(vi.alloc_veventq(iommufd_test::veventq_type_selftest, 2));
    CHECK(mq.data_size() == 4);
    CHECK(k.last_veventq.type == iommufd_test::veventq_type_selftest);
}

TEST_CASE("viommu: children go before the vIOMMU, each object is destroyed once", "[viommu]") {
    fake_kernel k;
    auto ctx = fake_ctx(k);
    int qfd = -1;
    u32 vi_id = 0, vd_id = 0, q_id = 0, hq_id = 0;
    {
        auto vi = must(viommu::alloc(ctx, 5, 9, ua::viommu_type::arm_smmuv3));
        auto vd = must(vi.alloc_vdevice(5, 0x10));
        pipe_pair p;
        qfd = p.r.get();
        k.next_fd = p.r.release();
        auto q = must(vi.alloc_veventq(ua::veventq_type::arm_smmuv3, 8));
        auto hq = must(vi.alloc_hw_queue(ua::hw_queue_type::tegra241_cmdqv, 0, 0x1000, 0x1000));
        vi_id = vi.id(), vd_id = vd.id(), q_id = q.id(), hq_id = hq.id();

        // moves hand the ID over: the moved-from objects destroy nothing
        vdevice vd2 = std::move(vd);
        veventq q2 = std::move(q);
        CHECK(vd.id() == 0);
        CHECK(q.fd() == -1);
        CHECK(vd2.id() == vd_id);
        CHECK(q2.fd() == qfd);

        // the kernel's EBUSY while children exist; the vIOMMU's ID is then dropped, never retried
        viommu vi_early = viommu::alloc(ctx, 5, 9, ua::viommu_type::arm_smmuv3).value();
        auto child = must(vi_early.alloc_vdevice(6, 0x20));
        const u32 early_id = vi_early.id();
        CHECK(early_id == 104);
        auto busy = vi_early.destroy();
        REQUIRE_FALSE(busy.has_value());
        CHECK(busy.error().code == EBUSY);
        CHECK(value_of(busy.error(), "viommu") == early_id);
        CHECK(vi_early.id() == 0);
        CHECK_THAT(fmt::format("{}", busy.error()), ContainsSubstring("vDEVICEs"));
        CHECK(child.destroy().has_value());
        k.destroyed.clear();
        k.destroy_calls.clear();
    }
    // reverse declaration order: the moved-to vEVENTQ (its fd closed first, or the fake kernel says EBUSY) and
    // vDEVICE, then the HW queue, then the vIOMMU; the moved-from shells issue nothing
    CHECK(k.destroyed == std::vector<u32>{q_id, vd_id, hq_id, vi_id});
    CHECK(k.destroy_calls == k.destroyed);
    CHECK_FALSE(is_open(qfd));
    CHECK(k.alive.count(104) == 1);  // vi_early: its one DESTROY was refused; not retried by its destructor
}

TEST_CASE("veventq: events in order, lost ones counted from gaps and LOST_EVENTS headers", "[viommu]") {
    mock_viommu m;
    pipe_pair p;
    m.k.next_fd = p.r.release();
    auto q = must(m.vi.alloc_veventq(ua::veventq_type::arm_smmuv3, 4));
    std::array<std::byte, 1024> buf{};

    SECTION("three events, no loss") {
        std::vector<std::byte> w;
        for (u32 s = 0; s < 3; ++s) put_smmu(w, s);
        feed(p, w);
        auto l = must(q.read_events(buf));
        CHECK(l.records() == 3);
        CHECK(l.events() == 3);
        CHECK(l.lost() == 0);
        u32 expect = 0;
        for (const vevent& e : l) {
            CHECK(e.sequence == expect);
            CHECK(e.lost == 0);
            CHECK_FALSE(e.lost_events());
            auto rec = e.as<ua::iommu_vevent_arm_smmuv3>();
            REQUIRE(rec);
            CHECK(rec->evt[0] == (0x10 | (u64{expect} << 32)));
            CHECK(rec->evt[1] == 0x1234);
            CHECK_FALSE(e.as<iommufd_test::vevent_selftest>());  // wrong size: no value
            ++expect;
        }
        CHECK(expect == 3);
        CHECK(q.next_sequence() == 3);
        CHECK(q.received() == 3);
        CHECK(q.lost() == 0);
    }
    SECTION("a sequence gap: delta - 1 events lost, also across reads") {
        std::vector<std::byte> w;
        put_smmu(w, 0);
        put_smmu(w, 3);  // 1 and 2 lost
        feed(p, w);
        auto l = must(q.read_events(buf));
        std::vector<u32> lost;
        for (const vevent& e : l) lost.push_back(e.lost);
        CHECK(lost == std::vector<u32>{0, 2});
        CHECK(l.lost() == 2);
        w.clear();
        put_smmu(w, 9);  // 4..8 lost: the gap is measured from the previous read's last record
        feed(p, w);
        auto l2 = must(q.read_events(buf));
        CHECK(l2.lost() == 5);
        CHECK(q.lost() == 7);
        CHECK(q.received() == 3);
        CHECK(q.next_sequence() == 10);
    }
    SECTION("a LOST_EVENTS header stands for the events up to its own sequence") {
        // depth 4: 0..3 queued, 4..6 dropped at the tail; the kernel's header carries the last dropped (6)
        std::vector<std::byte> w;
        for (u32 s = 0; s < 4; ++s) put_smmu(w, s);
        put_lost(w, 6);
        feed(p, w);
        auto l = must(q.read_events(buf));
        CHECK(l.records() == 5);
        CHECK(l.events() == 4);
        CHECK(l.lost() == 3);
        std::vector<vevent> all(l.begin(), l.end());
        REQUIRE(all.size() == 5);
        CHECK(all[4].lost_events());
        CHECK(all[4].data.empty());
        CHECK(all[4].lost == 3);
        CHECK(all[4].sequence == 6);
        // the next event follows the header without a gap
        w.clear();
        put_smmu(w, 7);
        feed(p, w);
        auto l2 = must(q.read_events(buf));
        CHECK(l2.lost() == 0);
        CHECK(q.lost() == 3);
        CHECK(q.received() == 5);
    }
    SECTION("a LOST_EVENTS header right after the previous record: one event lost") {
        std::vector<std::byte> w;
        put_smmu(w, 0);
        put_lost(w, 1);
        feed(p, w);
        CHECK(must(q.read_events(buf)).lost() == 1);
    }
    SECTION("a truncated record is refused and changes no count") {
        std::vector<std::byte> w;
        put_smmu(w, 0);
        put_smmu(w, 5);
        w.resize(w.size() - 10);  // the second event's data cut short
        feed(p, w);
        auto r = q.read_events(buf);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == EBADMSG);
        CHECK(r.error().ioctl == "read");
        CHECK(value_of(r.error(), "offset") == 40);
        CHECK(value_of(r.error(), "record") == 40);
        CHECK_THAT(fmt::format("{}", r.error()), ContainsSubstring("truncated"));
        CHECK(q.received() == 0);
        CHECK(q.lost() == 0);
        CHECK(q.next_sequence() == 0);
    }
    SECTION("a read ending inside a header is refused") {
        std::vector<std::byte> w;
        put_smmu(w, 0);
        w.resize(w.size() + 4);
        feed(p, w);
        auto r = q.read_events(buf);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == EBADMSG);
        CHECK(value_of(r.error(), "offset") == 40);
    }
    SECTION("a buffer smaller than one event is refused before the read") {
        std::vector<std::byte> w;
        put_smmu(w, 0);
        feed(p, w);
        auto r = q.read_events(std::span(buf).first(39));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == EINVAL);
        CHECK(r.error().origin == error_origin::library);
        CHECK(must(q.read_events(buf)).events() == 1);  // still there
    }
    SECTION("an empty read (writer gone) yields no record; the callback form") {
        std::vector<std::byte> w;
        put_smmu(w, 0);
        put_smmu(w, 1);
        feed(p, w);
        std::vector<u32> seen;
        auto n = must(q.read_events(buf, [&](const vevent& e) { seen.push_back(e.sequence); }));
        CHECK(n == 2);
        CHECK(seen == std::vector<u32>{0, 1});
        p.w.reset();
        auto l = must(q.read_events(buf));
        CHECK(l.empty());
        CHECK(l.begin() == l.end());
    }
}

TEST_CASE("veventq: sequences wrap from INT_MAX to 0 without a gap", "[viommu]") {
    const std::size_t ds = sizeof(iommufd_test::vevent_selftest);
    auto records = [&](std::initializer_list<u32> seqs) {
        std::vector<std::byte> w;
        for (u32 s : seqs) {
            put_header(w, 0, s);
            w.resize(w.size() + ds);
        }
        return w;
    };
    auto w = records({0x7ffffffeu, 0x7fffffffu, 0u, 1u});
    auto l = must(vevent_list::parse(w, ds, 0x7ffffffeu));
    CHECK(l.lost() == 0);
    CHECK(l.next_sequence() == 2);
    std::vector<u32> lost;
    for (const vevent& e : l) lost.push_back(e.lost);
    CHECK(lost == std::vector<u32>{0, 0, 0, 0});

    // a gap across the wrap: INT_MAX and 0 lost
    auto g = records({0x7ffffffeu, 1u});
    auto lg = must(vevent_list::parse(g, ds, 0x7ffffffeu));
    CHECK(lg.lost() == 2);
    // the kernel never writes a sequence above INT_MAX (it does not wrap at 2^32): such a read is malformed
    auto bad = records({0xffffffffu, 0u});
    auto lb = vevent_list::parse(bad, ds, 0xffffffffu & vevent_sequence_max);
    REQUIRE_FALSE(lb.has_value());
    CHECK(lb.error().field == "sequence");
    CHECK(value_of(lb.error(), "sequence") == 0xffffffffu);

    // through a queue: its counts follow the wrap too
    mock_viommu m;
    pipe_pair p;
    m.k.next_fd = p.r.release();
    auto q = must(m.vi.alloc_veventq(iommufd_test::veventq_type_selftest, 4));
    std::array<std::byte, 256> buf{};
    feed(p, records({0x7fffffffu}));  // 0 .. INT_MAX - 1 lost from a new queue's 0
    CHECK(must(q.read_events(buf)).lost() == 0x7fffffffu);
    feed(p, records({0u, 1u}));
    auto l2 = must(q.read_events(buf));
    CHECK(l2.lost() == 0);
    CHECK(q.next_sequence() == 2);
    CHECK(q.lost() == 0x7fffffffu);
}

TEST_CASE("fault_queue: groups assembled across reads, responses written exactly", "[viommu][fault]") {
    fake_kernel k;
    auto ctx = fake_ctx(k);
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    unique_fd peer{sv[1]};
    const int qfd = sv[0];
    k.next_fd = sv[0];
    auto q = must(fault_queue::alloc(ctx));
    CHECK(q.id() == 100);
    CHECK(q.fd() == qfd);
    std::array<std::byte, 40 * 8> buf{};

    // a group of two faults whose LAST_PAGE fault comes in a later read
    send(peer.get(), {fault(3, 7, 11, 0x1000, false)});
    std::vector<fault_group> got;
    auto take = [&got](fault_group&& g) { got.push_back(std::move(g)); };
    CHECK(must(q.read_groups(buf, take)) == 0);
    CHECK(q.pending() == 1);
    send(peer.get(), {fault(3, 7, 11, 0x2000, true)});
    CHECK(must(q.read_groups(buf, take)) == 1);
    CHECK(q.pending() == 0);
    REQUIRE(got.size() == 1);
    CHECK(got[0].faults.size() == 2);
    CHECK(got[0].faults[0].addr == 0x1000);
    CHECK(got[0].faults[1].addr == 0x2000);
    CHECK(got[0].dev_id() == 3);
    CHECK(got[0].grpid() == 7);
    CHECK(got[0].cookie() == 11);
    CHECK_FALSE(got[0].pasid());

    // a record cut in two by the reads; two devices' groups interleaved, completed in the order of their last faults
    auto a1 = fault(4, 1, 21, 0xa000, false), b1 = fault(5, 1, 22, 0xb000, true), a2 = fault(4, 1, 21, 0xa100, true);
    a2.flags |= ua::hwpt_pgfault_flag::pasid_valid;
    a2.pasid = 0x33;
    std::vector<std::byte> bytes(3 * 40);
    std::memcpy(bytes.data(), &a1, 40);
    std::memcpy(bytes.data() + 40, &b1, 40);
    std::memcpy(bytes.data() + 80, &a2, 40);
    got.clear();
    REQUIRE(::write(peer.get(), bytes.data(), 60) == 60);
    CHECK(must(q.read_groups(buf, take)) == 0);  // a1 and half of b1
    CHECK(q.pending() == 1);
    REQUIRE(::write(peer.get(), bytes.data() + 60, 60) == 60);
    CHECK(must(q.read_groups(buf, take)) == 2);
    REQUIRE(got.size() == 2);
    CHECK(got[0].dev_id() == 5);
    CHECK(got[0].faults.size() == 1);
    CHECK(got[1].dev_id() == 4);
    CHECK(got[1].faults.size() == 2);
    CHECK(got[1].pasid() == 0x33);
    CHECK(got[1].cookie() == 21);

    // the responses: {cookie, code} little-endian, 8 bytes each, in order
    must(q.respond(got[1], ua::hwpt_page_response_code::success));
    must(q.respond(got[0], ua::hwpt_page_response_code::invalid));
    std::array<unsigned char, 16> resp{};
    REQUIRE(::read(peer.get(), resp.data(), resp.size()) == 16);
    const std::array<unsigned char, 16> want{21, 0, 0, 0, 0, 0, 0, 0, 22, 0, 0, 0, 1, 0, 0, 0};
    CHECK(resp == want);

    // the vector form
    send(peer.get(), {fault(6, 2, 31, 0xc000, true), fault(6, 3, 32, 0xd000, true)});
    auto groups = must(q.read_groups());
    REQUIRE(groups.size() == 2);
    CHECK(groups[0].grpid() == 2);
    CHECK(groups[1].grpid() == 3);

    // refused before the write / read
    ua::iommu_hwpt_page_response bad{31, static_cast<ua::hwpt_page_response_code>(2u)};
    auto rb = q.respond(std::span(&bad, 1));
    REQUIRE_FALSE(rb.has_value());
    CHECK(rb.error().field == "code");
    CHECK(rb.error().origin == error_origin::library);
    auto small = q.read_groups(std::span(buf).first(39), take);
    REQUIRE_FALSE(small.has_value());
    CHECK(small.error().field == "count");
    CHECK(small.error().code == EINVAL);
}

TEST_CASE("fault_queue: a short write of responses is continued, the refusal names the response", "[viommu][fault]") {
    fake_kernel k;
    auto ctx = fake_ctx(k);
    pipe_pair p;  // a non-blocking pipe of 4096 bytes: a write of 8192 bytes stops at 4096, the next is EAGAIN
    REQUIRE(::fcntl(p.w.get(), F_SETPIPE_SZ, 4096) >= 4096);
    REQUIRE(::fcntl(p.w.get(), F_SETFL, O_NONBLOCK) == 0);
    const int cap = ::fcntl(p.w.get(), F_GETPIPE_SZ);
    REQUIRE(cap == 4096);
    k.next_fd = p.w.release();
    auto q = must(fault_queue::alloc(ctx));
    std::vector<ua::iommu_hwpt_page_response> rs(1024);
    for (u32 i = 0; i < rs.size(); ++i) rs[i] = {1000 + i, ua::hwpt_page_response_code::success};
    auto r = q.respond(rs);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == EAGAIN);
    CHECK(r.error().ioctl == "write");
    CHECK(value_of(r.error(), "index") == 512);
    CHECK(value_of(r.error(), "cookie") == 1512);
    CHECK(value_of(r.error(), "fault") == q.id());
    std::vector<ua::iommu_hwpt_page_response> back(512);
    REQUIRE(::read(p.r.get(), back.data(), 4096) == 4096);
    for (u32 i = 0; i < back.size(); ++i) {
        INFO(i);
        CHECK(back[i].cookie == 1000 + i);
        CHECK(back[i].code == ua::hwpt_page_response_code::success);
    }
    // with room again, the rest goes through (the first write above was partial: it was continued, not repeated)
    must(q.respond(std::span(rs).subspan(512)));
    REQUIRE(::read(p.r.get(), back.data(), 4096) == 4096);
    CHECK(back[0].cookie == 1512);
    CHECK(back[511].cookie == 2023);
}

TEST_CASE("fault_queue: read errors name the queue; the fd is closed before IOMMU_DESTROY, once", "[viommu][fault]") {
    fake_kernel k;
    auto ctx = fake_ctx(k);
    pipe_pair p;
    REQUIRE(::fcntl(p.r.get(), F_SETFL, O_NONBLOCK) == 0);
    const int qfd = p.r.get();
    k.next_fd = p.r.release();
    u32 id = 0;
    {
        auto q = must(fault_queue::alloc(ctx));
        id = q.id();
        std::array<std::byte, 80> buf{};
        auto r = q.read_groups(buf, [](fault_group&&) {});
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == EAGAIN);
        CHECK(r.error().ioctl == "read");
        CHECK(r.error().field == "fault_fd");
        CHECK(value_of(r.error(), "fault") == id);
        CHECK(value_of(r.error(), "count") == 80);
        fault_queue moved = std::move(q);
        CHECK(q.id() == 0);
        CHECK(moved.fd() == qfd);
    }
    CHECK_FALSE(is_open(qfd));
    CHECK(k.destroy_calls == std::vector<u32>{id});
    CHECK(k.destroyed == std::vector<u32>{id});  // the fake kernel refuses EBUSY while the fd is open

    // a failing FAULT_QUEUE_ALLOC leaves nothing behind
    k.fail_ioctl = ui::fault_queue_alloc.code;
    k.fail_code = ENOMEM;
    auto f = fault_queue::alloc(ctx);
    REQUIRE_FALSE(f.has_value());
    CHECK(f.error().ioctl == "IOMMU_FAULT_QUEUE_ALLOC");
    CHECK(f.error().code == ENOMEM);
}
