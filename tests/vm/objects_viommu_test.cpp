// VM tests of the vIOMMU objects (<vfiopp/viommu.hpp>) and the fault queue (<vfiopp/fault_queue.hpp>), issue 10:
// on the 7.3 kernel, VIOMMU_ALLOC on edu behind emulated VT-d (EOPNOTSUPP: VT-d has no vIOMMU), then the whole
// chain on the kernel's IOMMUFD_TEST mock IOMMU: vIOMMU, vDEVICE, vEVENTQ with events injected by the mock
// (IOMMU_TEST_OP_TRIGGER_VEVENT) read back in order, overflow of a depth-2 queue counted (LOST_EVENTS header and
// sequence gap), a HW queue, and a fault queue whose HWPT gets an I/O page fault (IOMMU_TEST_OP_TRIGGER_IOPF) read
// as a group and answered (the kernel takes the response). On Debian's 6.1 there is no /dev/iommu: checked, not
// skipped. Part of the shared program vfiopp_vm_objects ("[viommu]" runs these alone).
#include <vfiopp/device.hpp>
#include <vfiopp/fault_queue.hpp>
#include <vfiopp/fmt_error.hpp>
#include <vfiopp/io/uring.hpp>
#include <vfiopp/iommufd.hpp>
#include <vfiopp/viommu.hpp>

#include "objects_support.hpp"

#include <catch2/catch_test_macros.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {
using namespace vmtest;
namespace ua = vfiopp::uapi;
using ua::u32;
using ua::u64;

// ---- IOMMU_TEST_CMD (drivers/iommu/iommufd/iommufd_test.h; not uapi, so restated here): 72 bytes, the union at
// 16 (48 bytes), `last` at 64. The forms used: MOCK_DOMAIN (out_stdev_id, out_hwpt_id, out_idev_id at 16, 20, 24),
// MOCK_DOMAIN_REPLACE (id = stdev, pt_id at 16), TRIGGER_IOPF (dev_id, pasid, grpid, perm at 16..28, addr at 32),
// TRIGGER_VEVENT (dev_id at 16).
struct alignas(8) iommu_test_cmd {
    u32 size = sizeof(iommu_test_cmd);
    u32 op = 0;
    u32 id = 0;
    u32 reserved = 0;
    std::array<u32, 12> u{};
    u32 last = 0;
    u32 pad = 0;
};
static_assert(sizeof(iommu_test_cmd) == 72);
struct iommu_test_cmd_req {
    static constexpr ua::ioctl_def<iommu_test_cmd> ioctl{"IOMMU_TEST_CMD", ua::io(ua::iommufd_type, ua::iommufd_cmd_base + 32),
                                                         ua::fd_kind::iommufd, ua::arg_kind::inout, ua::abi_kind::mainline,
                                                         {ua::returns::status, 0}};
    static constexpr ua::return_spec ret = ioctl.ret;
    iommu_test_cmd cmd{};
    void* ioctl_arg() { return &cmd; }
};
enum : u32 { op_mock_domain = 2, op_mock_domain_replace = 10, op_trigger_iopf = 15, op_trigger_vevent = 17 };
constexpr u32 hwpt_data_selftest = 0xdead;  // IOMMU_HWPT_DATA_SELFTEST
constexpr u32 iotlb_default = 0xbadbeef;    // IOMMU_TEST_IOTLB_DEFAULT
constexpr u64 mock_iova = 0x1000000;        // MOCK_APERTURE_START

result<void> test_cmd(const iommufd& ctx, iommu_test_cmd& c) {
    iommu_test_cmd_req req;
    req.cmd = c;
    auto r = io::submit(ctx.fd(), req);
    c = req.cmd;
    if (!r) return r.error().with("op", c.op);
    return {};
}
result<void> mock_replace(const iommufd& ctx, u32 stdev, u32 pt_id) {
    iommu_test_cmd c;
    c.op = op_mock_domain_replace;
    c.id = stdev;
    c.u[0] = pt_id;
    return test_cmd(ctx, c);
}
result<void> trigger_vevents(const iommufd& ctx, u32 idev, int n) {
    for (int i = 0; i < n; ++i) {
        iommu_test_cmd c;
        c.op = op_trigger_vevent;
        c.u[0] = idev;
        if (auto r = test_cmd(ctx, c); !r) return r;
    }
    return {};
}
result<void> trigger_iopf(const iommufd& ctx, u32 idev, u32 grpid, u64 addr) {
    iommu_test_cmd c;
    c.op = op_trigger_iopf;
    c.u[0] = idev;
    c.u[1] = 0;  // IOMMU_NO_PASID: the fault goes to the RID's domain, no PASID_VALID
    c.u[2] = grpid;
    c.u[3] = static_cast<u32>(ua::hwpt_pgfault_perm::read) | static_cast<u32>(ua::hwpt_pgfault_perm::write);
    std::memcpy(&c.u[4], &addr, sizeof addr);
    return test_cmd(ctx, c);
}

// An iommufd object made by a raw request (mock device, HWPTs): IOMMU_DESTROY when it goes.
struct owned_id {
    const iommufd* ctx = nullptr;
    u32 id = 0;
    owned_id(const iommufd& c, u32 i) : ctx(&c), id(i) {}
    owned_id(const owned_id&) = delete;
    owned_id& operator=(const owned_id&) = delete;
    ~owned_id() {
        if (id) (void)ctx->destroy(id);
    }
    result<void> destroy() {
        auto r = ctx->destroy(std::exchange(id, 0));
        return r;
    }
};

// A mock device in an IOAS (IOMMU_TEST_OP_MOCK_DOMAIN): its iommufd device ID and the selftest object's ID.
struct mock_dev {
    u32 idev = 0, stdev = 0;
};
result<mock_dev> add_mock_dev(const iommufd& ctx, const ioas& as) {
    iommu_test_cmd c;
    c.op = op_mock_domain;
    c.id = as.id();
    if (auto r = test_cmd(ctx, c); !r) return r.error();
    return mock_dev{c.u[2], c.u[0]};
}

bool no_iommufd_here() {
    if (has_iommufd()) return false;
    // Debian 6.1: CONFIG_IOMMUFD unset; the objects need /dev/iommu
    errno = 0;
    CHECK(::access("/dev/iommu", F_OK) == -1);
    CHECK(errno == ENOENT);
    auto ctx = iommufd::open();
    REQUIRE_FALSE(ctx.has_value());
    CHECK(ctx.error().code == ENOENT);
    fmt::print("vm: viommu: no /dev/iommu on this kernel (checked)\n");
    return true;
}

int poll_in(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, ms);
    return n == 1 && (p.revents & POLLIN) ? 1 : n < 0 ? -1 : 0;
}

}  // namespace

TEST_CASE("vm: viommu on edu behind VT-d: IOMMU_VIOMMU_ALLOC answered EOPNOTSUPP", "[viommu]") {
    if (no_iommufd_here()) return;
    auto cdevs = env_list("VFIOPP_EDU_CDEVS");
    REQUIRE(!cdevs.empty());
    footprint before = measure();
    {
        auto ctx = iommufd::open();
        REQUIRE_OK(ctx);
        auto as = ctx->alloc_ioas();
        REQUIRE_OK(as);
        auto dev = device::open_cdev(cdevs[0]);
        REQUIRE_OK(dev);
        REQUIRE_OK(dev->bind(*ctx));
        REQUIRE_OK(dev->attach(*as));
        REQUIRE(dev->pt_id() != 0);
        for (auto type : {ua::viommu_type::arm_smmuv3, ua::viommu_type::tegra241_cmdqv}) {
            auto vi = viommu::alloc(*ctx, dev->dev_id(), dev->pt_id(), type);
            INFO("type " << static_cast<u32>(type) << ": " << text(vi));
            REQUIRE_FALSE(vi.has_value());
            CHECK(vi.error().ioctl == "IOMMU_VIOMMU_ALLOC");
            CHECK(vi.error().code == EOPNOTSUPP);
            CHECK(vi.error().origin == error_origin::kernel);
            fmt::print("vm: viommu on VT-d: {}\n", vi.error());
        }
        REQUIRE_OK(dev->detach());
    }
    CHECK(measure().fds == before.fds);
}

TEST_CASE("vm: viommu, vdevice, veventq and hw_queue on the IOMMUFD_TEST mock; events and lost events", "[viommu]") {
    if (no_iommufd_here()) return;
    footprint before = measure();
    std::size_t fds_during = 0;
    {
        auto ctx = iommufd::open();
        REQUIRE_OK(ctx);
        auto as = ctx->alloc_ioas();
        REQUIRE_OK(as);
        page_buffer mem(4096);
        REQUIRE(mem.data() != nullptr);
        auto map = as->map(mem.data(), 4096, dma_access::read_write, mock_iova);  // the HW queue's guest memory
        REQUIRE_OK(map);
        auto md = add_mock_dev(*ctx, *as);
        REQUIRE_OK(md);
        owned_id stdev{*ctx, md->stdev};
        auto pa = wire::iommufd::hwpt_alloc(md->idev, as->id(), ua::hwpt_alloc_flag::nest_parent);
        REQUIRE_OK(pa);
        REQUIRE_OK(io::submit(ctx->fd(), *pa));
        owned_id parent{*ctx, pa->header().out_hwpt_id};

        auto vi = viommu::alloc(*ctx, md->idev, parent.id, iommufd_test::viommu_type_selftest);
        REQUIRE_OK(vi);
        CHECK(vi->id() != 0);
        // the parent is held by the vIOMMU
        auto busy = ctx->destroy(parent.id);
        REQUIRE_FALSE(busy.has_value());
        CHECK(busy.error().code == EBUSY);

        auto vd = vi->alloc_vdevice(md->idev, 0x99);
        REQUIRE_OK(vd);
        auto again = vi->alloc_vdevice(md->idev, 0x98);
        REQUIRE_FALSE(again.has_value());
        CHECK(again.error().code == EEXIST);

        auto q = vi->alloc_veventq(iommufd_test::veventq_type_selftest, 2);
        REQUIRE_OK(q);
        CHECK(q->data_size() == 4);
        CHECK(::fcntl(q->fd(), F_GETFD) == FD_CLOEXEC);
        auto q2 = vi->alloc_veventq(iommufd_test::veventq_type_selftest, 2);
        REQUIRE_FALSE(q2.has_value());
        CHECK(q2.error().code == EEXIST);

        auto hq = vi->alloc_hw_queue(iommufd_test::hw_queue_type_selftest, 0, mock_iova, 4096);
        INFO("hw_queue: " << text(hq));
        REQUIRE_OK(hq);
        CHECK(hq->id() != 0);

        // a nested HWPT on the vIOMMU with the mock's data; the mock device attached to it (after its vDEVICE
        // exists) reports vEVENTs with the vDEVICE's virt_id
        struct {
            u32 iotlb, pagetable_type;
        } data{iotlb_default, 0};
        ua::iommu_hwpt_alloc na{};
        na.dev_id = md->idev;
        na.pt_id = vi->id();
        na.data_type = static_cast<ua::hwpt_data_type>(hwpt_data_selftest);
        na.data_len = sizeof data;
        na.data_uptr = reinterpret_cast<std::uintptr_t>(&data);
        auto nreq = wire::prep<ua::iommufd::hwpt_alloc>(na);
        REQUIRE_OK(io::submit(ctx->fd(), nreq));
        owned_id nested{*ctx, nreq.header().out_hwpt_id};
        REQUIRE_OK(mock_replace(*ctx, md->stdev, nested.id));
        struct replace_back {  // before the nested HWPT and the vDEVICE go
            const iommufd& c;
            u32 stdev, ioas;
            ~replace_back() { (void)mock_replace(c, stdev, ioas); }
        } back{*ctx, md->stdev, as->id()};

        std::array<std::byte, 256> buf{};
        CHECK(poll_in(q->fd(), 0) == 0);
        auto empty = q->read_events(buf);
        REQUIRE_OK(empty);
        CHECK(empty->empty());

        // one event: sequence 0, the virt_id
        REQUIRE_OK(trigger_vevents(*ctx, md->idev, 1));
        CHECK(poll_in(q->fd(), 1000) == 1);
        auto l1 = q->read_events(buf);
        REQUIRE_OK(l1);
        REQUIRE(l1->records() == 1);
        for (const vevent& e : *l1) {
            CHECK(e.sequence == 0);
            CHECK(e.lost == 0);
            auto rec = e.as<iommufd_test::vevent_selftest>();
            REQUIRE(rec.has_value());
            CHECK(rec->virt_id == 0x99);
        }

        // overflow at the tail: 5 events into a depth-2 queue: 1 and 2 kept, 3..5 dropped; the LOST_EVENTS header
        // carries sequence 5
        REQUIRE_OK(trigger_vevents(*ctx, md->idev, 5));
        auto l2 = q->read_events(buf);
        REQUIRE_OK(l2);
        std::vector<std::string> seen;
        for (const vevent& e : *l2) seen.push_back(fmt::format("{}{}/{}", e.lost_events() ? "L" : "", e.sequence, e.lost));
        INFO("records: " << fmt::format("{}", fmt::join(seen, " ")));
        CHECK(seen == std::vector<std::string>{"1/0", "2/0", "L5/3"});
        CHECK(l2->lost() == 3);
        CHECK(q->lost() == 3);
        CHECK(q->received() == 3);

        // the overflow is gone after the read: the next event follows without a gap
        REQUIRE_OK(trigger_vevents(*ctx, md->idev, 1));
        auto l3 = q->read_events(buf);
        REQUIRE_OK(l3);
        CHECK(l3->records() == 1);
        CHECK(l3->lost() == 0);
        CHECK(q->next_sequence() == 7);

        // a gap: 7 and 8 kept, 9 and 10 dropped; a read with room for the two events only leaves the LOST_EVENTS
        // header, which the next event replaces (sequence 11): its gap says 2 lost
        REQUIRE_OK(trigger_vevents(*ctx, md->idev, 4));
        auto l4 = q->read_events(std::span(buf).first(2 * q->record_size()));
        REQUIRE_OK(l4);
        CHECK(l4->records() == 2);
        CHECK(l4->lost() == 0);
        REQUIRE_OK(trigger_vevents(*ctx, md->idev, 1));
        auto l5 = q->read_events(buf);
        REQUIRE_OK(l5);
        seen.clear();
        for (const vevent& e : *l5) seen.push_back(fmt::format("{}{}/{}", e.lost_events() ? "L" : "", e.sequence, e.lost));
        INFO("records: " << fmt::format("{}", fmt::join(seen, " ")));
        CHECK(seen == std::vector<std::string>{"11/2"});
        CHECK(q->lost() == 5);
        CHECK(q->received() == 7);
        fmt::print("vm: viommu mock: viommu {}, vdevice {}, veventq {} (fd {}), hw_queue {}: {} events read, {} lost\n",
                   vi->id(), vd->id(), q->id(), q->fd(), hq->id(), q->received(), q->lost());

        // a buffer of exactly one selftest event (header + 4 bytes) is enough
        REQUIRE_OK(trigger_vevents(*ctx, md->idev, 1));
        std::array<std::byte, 12> one{};
        auto l6 = q->read_events(std::span(one).first(12));
        REQUIRE_OK(l6);  // 12 bytes hold exactly one selftest event
        CHECK(l6->records() == 1);

        // the same vEVENTQ read through io_uring (issue 12): a read waits on the queue's fd until an event arrives,
        // which a VMM's event loop would get in its one completion stream
        {
            auto ring = io::uring::create(2, 0);
            REQUIRE_OK(ring);
            std::array<std::byte, 12> rec{};
            REQUIRE_OK(ring->read(7, q->fd(), rec, io::uring::current_position));
            REQUIRE_OK(ring->submit());
            REQUIRE_OK(trigger_vevents(*ctx, md->idev, 1));
            std::uint64_t got = 0;
            REQUIRE_OK(ring->wait([&](io::completion&& c) {
                CHECK(c.tag == 7);
                if (c.value) got = *c.value;
                else FAIL_CHECK(c.value.error());
            }));
            CHECK(got == 12);  // the 8-byte vEVENT header and the selftest record
            std::uint32_t virt_id = 0;
            std::memcpy(&virt_id, rec.data() + 8, 4);
            CHECK(virt_id == 0x99);
        }

        // the vIOMMU is held by its children
        auto vbusy = vi->destroy();
        REQUIRE_FALSE(vbusy.has_value());
        CHECK(vbusy.error().code == EBUSY);
        CHECK(vi->id() == 0);  // not retried; the kernel frees it with the iommufd
        fds_during = measure().fds;
        CHECK(fds_during == before.fds + 2);  // the iommufd and the vEVENTQ
        // the rest in reverse declaration order: replace back to the IOAS, nested HWPT, HW queue, vEVENTQ (fd
        // closed first), vDEVICE, parent (EBUSY: the vIOMMU above is still there until the iommufd closes), ...
        REQUIRE_OK(mock_replace(*ctx, md->stdev, as->id()));
        REQUIRE_OK(nested.destroy());
        REQUIRE_OK(hq->destroy());
        REQUIRE_OK(q->destroy());
        CHECK(q->fd() == -1);
        REQUIRE_OK(vd->destroy());
    }
    CHECK(measure().fds == before.fds);
}

TEST_CASE("vm: viommu hw_queue, vdevice and viommu destroyed by their owners in order", "[viommu]") {
    if (no_iommufd_here()) return;
    footprint before = measure();
    {
        auto ctx = iommufd::open();
        REQUIRE_OK(ctx);
        auto as = ctx->alloc_ioas();
        REQUIRE_OK(as);
        page_buffer mem(4096);
        auto map = as->map(mem.data(), 4096, dma_access::read_write, mock_iova);
        REQUIRE_OK(map);
        auto md = add_mock_dev(*ctx, *as);
        REQUIRE_OK(md);
        owned_id stdev{*ctx, md->stdev};
        auto pa = wire::iommufd::hwpt_alloc(md->idev, as->id(), ua::hwpt_alloc_flag::nest_parent);
        REQUIRE_OK(pa);
        REQUIRE_OK(io::submit(ctx->fd(), *pa));
        owned_id parent{*ctx, pa->header().out_hwpt_id};
        u32 vi_id = 0;
        {
            auto vi = viommu::alloc(*ctx, md->idev, parent.id, iommufd_test::viommu_type_selftest);
            REQUIRE_OK(vi);
            vi_id = vi->id();
            auto vd = vi->alloc_vdevice(md->idev, 0x42);
            REQUIRE_OK(vd);
            auto q = vi->alloc_veventq(iommufd_test::veventq_type_selftest, 8);
            REQUIRE_OK(q);
            auto hq = vi->alloc_hw_queue(iommufd_test::hw_queue_type_selftest, 0, mock_iova, 4096);
            REQUIRE_OK(hq);
            // the destructors: hq, q (fd, then object), vd, vi
        }
        // everything went: the parent can be destroyed now, and the vIOMMU's ID is gone
        auto gone = ctx->destroy(vi_id);
        REQUIRE_FALSE(gone.has_value());
        CHECK(gone.error().code == ENOENT);
        REQUIRE_OK(parent.destroy());
    }
    CHECK(measure().fds == before.fds);
}

TEST_CASE("vm: viommu fault queue on the IOMMUFD_TEST mock: an IOPF read as a group and answered", "[viommu]") {
    if (no_iommufd_here()) return;
    footprint before = measure();
    {
        auto ctx = iommufd::open();
        REQUIRE_OK(ctx);
        auto as = ctx->alloc_ioas();
        REQUIRE_OK(as);
        auto md = add_mock_dev(*ctx, *as);
        REQUIRE_OK(md);
        owned_id stdev{*ctx, md->stdev};
        auto fq = fault_queue::alloc(*ctx);
        REQUIRE_OK(fq);
        CHECK(fq->id() != 0);
        CHECK(::fcntl(fq->fd(), F_GETFD) == FD_CLOEXEC);
        auto hr = wire::iommufd::hwpt_alloc(md->idev, as->id(), {}, fq->id());
        REQUIRE_OK(hr);
        CHECK(hr->header().flags.has(ua::hwpt_alloc_flag::fault_id_valid));
        REQUIRE_OK(io::submit(ctx->fd(), *hr));
        owned_id hwpt{*ctx, hr->header().out_hwpt_id};
        REQUIRE_OK(mock_replace(*ctx, md->stdev, hwpt.id));
        struct replace_back {
            const iommufd& c;
            u32 stdev, ioas;
            ~replace_back() { (void)mock_replace(c, stdev, ioas); }
        } back{*ctx, md->stdev, as->id()};

        CHECK(poll_in(fq->fd(), 0) == 0);
        auto none = fq->read_groups();
        REQUIRE_OK(none);
        CHECK(none->empty());

        REQUIRE_OK(trigger_iopf(*ctx, md->idev, 0x2, 0xdeadb000));
        CHECK(poll_in(fq->fd(), 1000) == 1);
        auto groups = fq->read_groups();
        REQUIRE_OK(groups);
        REQUIRE(groups->size() == 1);
        const fault_group& g = groups->front();
        REQUIRE(g.faults.size() == 1);
        const auto& f = g.faults[0];
        CHECK(f.flags == ua::bitmask<ua::hwpt_pgfault_flag>{ua::hwpt_pgfault_flag::last_page});
        CHECK_FALSE(g.pasid().has_value());
        CHECK(g.dev_id() == md->idev);
        CHECK(g.grpid() == 0x2);
        CHECK(f.perm == (ua::hwpt_pgfault_perm::read | ua::hwpt_pgfault_perm::write));
        CHECK(f.addr == 0xdeadb000);
        CHECK(f.length == 0);
        CHECK(fq->pending() == 0);
        REQUIRE_OK(fq->respond(g, ua::hwpt_page_response_code::success));  // the kernel took all 8 bytes
        // a second response to the same cookie: nothing waits for it
        auto twice = fq->respond(g, ua::hwpt_page_response_code::success);
        REQUIRE_FALSE(twice.has_value());
        CHECK(twice.error().code == EINVAL);
        CHECK(twice.error().origin == error_origin::kernel);
        fmt::print("vm: viommu fault queue: group grpid {} cookie {} answered; again: {}\n", g.grpid(), g.cookie(), twice.error());

        // two faults, two groups in one read, both answered in one write
        REQUIRE_OK(trigger_iopf(*ctx, md->idev, 0x3, 0x1000));
        REQUIRE_OK(trigger_iopf(*ctx, md->idev, 0x4, 0x2000));
        auto two = fq->read_groups();
        REQUIRE_OK(two);
        REQUIRE(two->size() == 2);
        CHECK((*two)[0].grpid() == 0x3);
        CHECK((*two)[1].grpid() == 0x4);
        CHECK((*two)[0].cookie() != (*two)[1].cookie());
        std::array<ua::iommu_hwpt_page_response, 2> rs{(*two)[0].response(ua::hwpt_page_response_code::success),
                                                       (*two)[1].response(ua::hwpt_page_response_code::invalid)};
        REQUIRE_OK(fq->respond(std::span<const ua::iommu_hwpt_page_response>(rs)));

        // the same through io_uring (issue 12): the fault record read by the ring, the response written by it
        {
            auto ring = io::uring::create(2, 0);
            REQUIRE_OK(ring);
            std::array<std::byte, sizeof(ua::iommu_hwpt_pgfault)> rec{};
            REQUIRE_OK(ring->read(1, fq->fd(), rec, io::uring::current_position));
            REQUIRE_OK(ring->submit());
            REQUIRE_OK(trigger_iopf(*ctx, md->idev, 0x6, 0x4000));
            std::uint64_t got = 0;
            REQUIRE_OK(ring->wait([&](io::completion&& c) { got = c.value ? *c.value : 0; }));
            REQUIRE(got == sizeof rec);
            ua::iommu_hwpt_pgfault f{};
            std::memcpy(&f, rec.data(), sizeof f);
            CHECK(f.grpid == 0x6);
            CHECK(f.addr == 0x4000);
            CHECK(f.dev_id == md->idev);
            ua::iommu_hwpt_page_response r{};
            r.cookie = f.cookie;
            r.code = ua::hwpt_page_response_code::success;
            REQUIRE_OK(ring->write(2, fq->fd(), std::as_bytes(std::span(&r, 1)), io::uring::current_position));
            REQUIRE_OK(ring->wait([&](io::completion&& c) { got = c.value ? *c.value : 0; }));
            CHECK(got == sizeof r);
            // the kernel took the ring's response: a second one for the cookie finds nothing waiting
            auto again = fq->respond(std::span<const ua::iommu_hwpt_page_response>(&r, 1));
            REQUIRE_FALSE(again.has_value());
            CHECK(again.error().code == EINVAL);
        }

        // a read buffer not holding one record is refused by the library; the kernel's own rule (count % 40) too
        std::array<std::byte, 60> odd{};
        REQUIRE_OK(trigger_iopf(*ctx, md->idev, 0x5, 0x3000));
        auto n = fq->read_groups(odd, [](fault_group&&) {});  // rounded down to 40: one record, one group
        REQUIRE_OK(n);
        CHECK(*n == 1);
        // that group is left unanswered: the kernel answers INVALID when the queue's fd closes

        // the fault queue is held by the HWPT until the HWPT goes
        REQUIRE_OK(mock_replace(*ctx, md->stdev, as->id()));
        REQUIRE_OK(hwpt.destroy());
        REQUIRE_OK(fq->destroy());
        CHECK(fq->fd() == -1);
    }
    CHECK(measure().fds == before.fds);
}
