// Failure injection into every multi-step operation of the objects (issue 14, part 4), beyond the VMM sequence of
// objects_test.cpp: open a device (group and cdev paths), set IRQs, migrate (mtty), bind a page table (a nested
// HWPT on the IOMMUFD_TEST mock, and proposal::iommufd_backend on it). Each operation runs once to count its
// ioctls, then once per ioctl with that ioctl failed (EIO) through the io::ioctl_hook the objects carry; after
// every run nothing may be left: fds (/proc/self/fd), heap (the global operator new below), kernel objects (an
// iommufd the test keeps is probed with IOMMU_DESTROY: iommufd hands out the lowest free ID, so every ID that is
// not the test's own must answer ENOENT), IRQs (/proc/interrupts has no vfio- line) and migration state (RUNNING).
// Every failure of a forward step must reach the caller naming the ioctl. A failure inside a destructor (or of an
// explicit teardown the object does not retry: IOMMU_DESTROY) cannot be reported or undone by the library: those
// runs are counted apart; the fds and heap are checked all the same, and what the kernel still holds (an object in
// the iommufd the test keeps, an IRQ until the device fd closes) is counted, shown to be exactly that, and released.
//
// This file also defines the program's one replacement of the global operator new / delete (tests/vm/heap_count.hpp).
#include <vfiopp/device.hpp>
#include <vfiopp/dma_space.hpp>
#include <vfiopp/hwpt.hpp>
#include <vfiopp/iommufd.hpp>
#include <vfiopp/migration.hpp>
#include <vfiopp/proposal.hpp>

#include "heap_count.hpp"
#include "iommufd_mock.hpp"
#include "objects_support.hpp"

#include <catch2/catch_test_macros.hpp>
#include <fmt/format.h>

#include <fcntl.h>
#include <malloc.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>
#include <optional>
#include <string>

// ---- the heap, counted: every form of the global operator new / delete ----
namespace {
std::atomic<std::int64_t> heap_blocks{0}, heap_bytes{0}, heap_total{0};

void counted_in(void* p) noexcept {
    heap_blocks.fetch_add(1, std::memory_order_relaxed);
    heap_bytes.fetch_add(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
    heap_total.fetch_add(1, std::memory_order_relaxed);
}
void counted_free(void* p) noexcept {
    if (p == nullptr) return;
    heap_blocks.fetch_sub(1, std::memory_order_relaxed);
    heap_bytes.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
    std::free(p);
}
void* raw_alloc(std::size_t n, std::size_t align) noexcept {
    if (n == 0) n = 1;
    if (align <= alignof(std::max_align_t)) return std::malloc(n);
    void* p = nullptr;
    return posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, n) == 0 ? p : nullptr;
}
// operator new's contract: retry through the new-handler, bad_alloc when there is none
void* counted_new(std::size_t n, std::size_t align) {
    for (;;) {
        if (void* p = raw_alloc(n, align)) {
            counted_in(p);
            return p;
        }
        std::new_handler h = std::get_new_handler();
        if (h == nullptr) throw std::bad_alloc();
        h();
    }
}
void* counted_new_nothrow(std::size_t n, std::size_t align) noexcept {
    try {
        return counted_new(n, align);
    } catch (...) {
        return nullptr;
    }
}
constexpr std::size_t plain = alignof(std::max_align_t);
}  // namespace

void* operator new(std::size_t n) { return counted_new(n, plain); }
void* operator new[](std::size_t n) { return counted_new(n, plain); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_new_nothrow(n, plain); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_new_nothrow(n, plain); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_new(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_new(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return counted_new_nothrow(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return counted_new_nothrow(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { counted_free(p); }

vmtest::heap_count vmtest::heap_live() noexcept {
    return {heap_blocks.load(std::memory_order_relaxed), heap_bytes.load(std::memory_order_relaxed)};
}
std::int64_t vmtest::heap_allocations_total() noexcept { return heap_total.load(std::memory_order_relaxed); }

namespace {
using namespace vmtest;
using vfiopp::uapi::hwpt_alloc_flag;
using clock_type = std::chrono::steady_clock;

// ---- the test submitter ----
// Fails the fail_at-th ioctl (1-based) it sees while armed with EIO, without issuing it; passes every other one to
// the kernel. The operation under test sets `cleanup` when its teardown starts (destructors, IOMMU_DESTROY), so a
// run knows whether its failure hit a forward step (must be reported, must leave nothing) or the teardown.
struct injector {
    bool armed = false;
    bool cleanup = false;
    int calls = 0;
    int fail_at = 0;
    unsigned long failed_code = 0;
    bool failed_in_cleanup = false;
    static int fn(void* ctx, int fd, unsigned long code, void* arg) noexcept {
        auto* self = static_cast<injector*>(ctx);
        if (self->armed && ++self->calls == self->fail_at) {
            self->failed_code = code;
            // IOMMU_DESTROY is teardown wherever it is issued (hwpt::destroy(), an unbind): a failed one is never
            // retried by the library, since iommufd hands a freed ID to the next object (a retry could destroy a
            // stranger), so its object stays in the iommufd
            self->failed_in_cleanup = self->cleanup || code == static_cast<unsigned long>(uapi::iommufd::destroy.code);
            errno = EIO;
            return -1;
        }
        return ::ioctl(fd, code, arg);
    }
    io::ioctl_hook hook() { return {&injector::fn, this}; }
    void start(int n) {
        armed = true;
        cleanup = false;
        calls = 0;
        fail_at = n;
        failed_code = 0;
        failed_in_cleanup = false;
    }
    [[nodiscard]] bool fired() const { return failed_code != 0; }
};

// One run of an operation: its outcome and the heap around it (measured around the run only: nothing of Catch2).
struct run_outcome {
    bool ok = true;
    error err{};
    bool fired = false;
    bool in_cleanup = false;
    heap_count heap_before{}, heap_after{};
    std::int64_t allocations = 0;  // operator new calls during the run (the counter is live)
};
template <typename Op>
run_outcome run_once(injector& inj, int fail_at, Op& op) {
    run_outcome out;
    inj.start(fail_at);
    const std::int64_t total_before = heap_allocations_total();
    out.heap_before = heap_live();
    {
        result<void> r = op();
        if (!r) {
            out.ok = false;
            out.err = r.error();  // an error owns no heap
        }
    }
    out.heap_after = heap_live();
    out.allocations = heap_allocations_total() - total_before;
    inj.armed = false;
    out.fired = inj.fired();
    out.in_cleanup = inj.failed_in_cleanup;
    return out;
}

// What a case counts, and its one summary line.
struct tally {
    std::string op;
    int ioctls = 0;            // in the full run
    int reported = 0;          // runs whose result carried the error
    int cleanup = 0;           // runs whose failed ioctl belonged to the teardown
    int cleanup_reported = 0;  // ... of which the operation still reported it (an explicit teardown step)
    int cleanup_later = 0;     // ... after which a later step failed on what the kernel still held
    int kernel_left = 0;       // kernel objects / IRQs such teardown failures left (counted, then released)
    std::int64_t allocations = 0;  // operator new calls of the full run
    clock_type::time_point t0 = clock_type::now();
    explicit tally(std::string name) : op(std::move(name)) {}
    void print() const {
        const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
        std::string tail;
        if (cleanup > 0)
            tail = fmt::format("; {} failed in the teardown ({} reported by an explicit teardown call, {} inside "
                               "destructors, which cannot report{}), leaving {} kernel objects/IRQs the test then "
                               "released",
                               cleanup, cleanup_reported, cleanup - cleanup_reported,
                               cleanup_later ? fmt::format(", {} of them making a later step fail", cleanup_later) : "",
                               kernel_left);
        fmt::print("vm: {} failure injection: {} ioctls, {} runs reported the error, heap/fds/objects unchanged{} "
                   "({} heap allocations in a full run; {:.1f} s)\n",
                   op, ioctls, reported, tail, allocations, s);
    }
};

// The checks every run gets: the heap and the fds as before, a forward failure reported with its ioctl's name.
void check_run(tally& t, int n, const run_outcome& o, const footprint& fds_before) {
    const footprint after = measure();
    INFO(t.op << ": ioctl " << n << " of " << t.ioctls << " failed"
              << (o.in_cleanup ? " (in the teardown)" : "") << ": " << (o.ok ? std::string("ok") : fmt::format("{}", o.err))
              << "; " << o.heap_before << " -> " << o.heap_after);
    CHECK(o.fired);  // the operation issues the same ioctls every run
    CHECK(o.heap_after == o.heap_before);
    CHECK(after == fds_before);
    if (!o.ok) {
        ++t.reported;
        CHECK(!o.err.ioctl.empty());
        // a forward failure comes back as the injected EIO, not as a later step's error; after a teardown failure
        // a later step may fail on what the kernel still holds (INTx left enabled refuses MSI: EINVAL)
        if (!o.in_cleanup) CHECK(o.err.code == EIO);
    }
    if (o.in_cleanup) {
        ++t.cleanup;
        if (!o.ok && o.err.code == EIO) ++t.cleanup_reported;
        else if (!o.ok) ++t.cleanup_later;
    } else {
        CHECK(!o.ok);  // a forward step's failure always reaches the caller
    }
}

// ---- kernel objects of an iommufd the test keeps ----
// IOMMU_DESTROY of every ID in [1, hi] that is not the test's own: each must answer ENOENT. `attached` (the HWPT
// the device's RID sits on) must answer EBUSY. Whatever destroys was left behind (and is gone now).
struct probe_outcome {
    int destroyed = 0;  // objects left behind (the probe removed them)
    int busy = 0;       // objects left behind and still in use
    int other = 0;      // any other answer than ENOENT
    bool attached_busy = true;
    [[nodiscard]] bool clean() const { return destroyed == 0 && busy == 0 && other == 0 && attached_busy; }
};
probe_outcome probe_objects(const iommufd& ctx, std::initializer_list<std::uint32_t> own, std::uint32_t attached,
                            std::uint32_t hi) {
    probe_outcome p;
    for (std::uint32_t id = 1; id <= hi; ++id) {
        bool mine = false;
        for (auto o : own) mine |= o == id;
        if (mine) continue;
        auto d = ctx.destroy(id);
        const int code = d ? 0 : d.error().code;
        if (id == attached) {
            if (code != EBUSY) p.attached_busy = false;
            if (code == 0) ++p.destroyed;
            continue;
        }
        if (code == 0) ++p.destroyed;
        else if (code == EBUSY) ++p.busy;
        else if (code != ENOENT) ++p.other;
    }
    return p;
}
std::ostream& operator<<(std::ostream& os, const probe_outcome& p) {
    return os << "{destroyed " << p.destroyed << ", busy " << p.busy << ", other " << p.other << ", RID's HWPT "
              << (p.attached_busy ? "in use" : "NOT in use") << "}";
}

// ---- IRQs the kernel has requested for vfio-pci (vfio-intx(...), vfio-msi[n](...), vfio-msix[n](...)) ----
int vfio_irq_lines() {
    static char buf[1 << 16];  // no heap: called inside the measured window
    int fd = ::open("/proc/interrupts", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    std::size_t n = 0;
    for (ssize_t r; n < sizeof buf - 1 && (r = ::read(fd, buf + n, sizeof buf - 1 - n)) > 0;) n += static_cast<std::size_t>(r);
    ::close(fd);
    buf[n] = '\0';
    int count = 0;
    for (const char* p = buf; (p = std::strstr(p, "vfio-")) != nullptr; p += 5) ++count;
    return count;
}

// ---- the IOMMUFD_TEST mock device, its RID moved through the test's own IOMMU_TEST_CMD (via the hook) ----
constexpr std::uint32_t op_mock_domain_replace = 10, op_mock_domain_flags = 12, op_md_check_iotlb = 14,
                        op_pasid_attach = 18, op_pasid_detach = 20, op_pasid_check_hwpt = 21;
constexpr std::uint32_t mock_flags_device_pasid = 1u << 2;

result<std::uint32_t> mock_op(const iommufd& ctx, io::ioctl_hook hook, std::uint32_t op, std::uint32_t id,
                              std::uint32_t a, std::uint32_t b = 0) {
    test_cmd_req r;
    r.cmd.op = op;
    r.cmd.id = id;
    r.cmd.put<std::uint32_t>(0, a);
    r.cmd.put<std::uint32_t>(4, b);
    if (auto s = io::submit(ctx.fd(), r, hook); !s) return s.error();
    return r.cmd.get<std::uint32_t>(0);
}

// A mock device on the test's IOAS: stdev (its selftest object), idev (its iommufd device), rid_hwpt (the HWPT its
// RID is on while on the IOAS: the IOAS's automatic HWPT, a new ID each time the RID comes back).
struct mock_dev {
    const iommufd* ctx = nullptr;
    std::uint32_t ioas = 0, stdev = 0, idev = 0, rid_hwpt = 0;
    static result<mock_dev> make(const iommufd& ctx, std::uint32_t ioas_id, std::uint32_t flags) {
        test_cmd_req md;
        md.cmd.op = op_mock_domain_flags;
        md.cmd.id = ioas_id;
        md.cmd.put<std::uint32_t>(12, flags);
        if (auto s = io::submit(ctx.fd(), md); !s) return s.error();
        return mock_dev{&ctx, ioas_id, md.cmd.get<std::uint32_t>(0), md.cmd.get<std::uint32_t>(8), md.cmd.get<std::uint32_t>(4)};
    }
    // IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE (the mock's attach/replace at the RID), through hook
    result<void> replace(std::uint32_t pt, io::ioctl_hook hook) {
        auto r = mock_op(*ctx, hook, op_mock_domain_replace, stdev, pt);
        if (!r) return r.error();
        if (pt == ioas) rid_hwpt = *r;
        return {};
    }
    [[nodiscard]] bool pasid_attached(std::uint32_t pasid) const {
        return !mock_op(*ctx, {}, op_pasid_check_hwpt, stdev, pasid, 0).has_value();
    }
    // Puts the device back as the test set it up (its RID on the IOAS, no PASID attached) without the hook, then
    // destroys what the IDs above hold; returns the objects that were left.
    int repair(std::initializer_list<std::uint32_t> pasids, std::uint32_t hi) {
        int left = 0;
        for (auto p : pasids)
            if (pasid_attached(p)) {
                ++left;
                (void)mock_op(*ctx, {}, op_pasid_detach, stdev, p);
            }
        (void)replace(ioas, {});
        for (int pass = 0; pass < 3; ++pass) left += probe_objects(*ctx, {ioas, stdev, idev}, rid_hwpt, hi).destroyed;
        return left;
    }
};

// The RID back on the IOAS when the scope ends (a VMM's unbind-on-error), unless restore() did it already.
struct rid_guard {
    mock_dev& dev;
    io::ioctl_hook hook;
    bool moved = false;
    result<void> move(std::uint32_t pt) {
        moved = true;  // a failed replace may still have left the RID elsewhere: restore either way
        return dev.replace(pt, hook);
    }
    result<void> restore() {
        if (!moved) return {};
        if (auto r = dev.replace(dev.ioas, hook); !r) return r;
        moved = false;
        return {};
    }
    ~rid_guard() { (void)restore(); }
};

bool on_debian_61() {
    if (has_iommufd()) return false;
    // Debian 6.1 guest: no iommufd, no mtty (tests/vm/README.md); the case has nothing to run
    CHECK(env_list("VFIOPP_MTTY").empty());
    auto ctx = iommufd::open();
    REQUIRE(!ctx);
    CHECK(ctx.error().code == ENOENT);
    return true;
}

}  // namespace

// =====================================================================================================================
TEST_CASE("vm: injection: open a device (group path, cdev path) fails at each ioctl, nothing left", "[injection]") {
    auto edu = env_list("VFIOPP_EDU");
    REQUIRE(!edu.empty());
    for (backend b : backends()) {
        DYNAMIC_SECTION("backend " << name_of(b)) {
            // dma_space::open + open_device: type1 = container (GET_API_VERSION), group (GET_STATUS, SET_CONTAINER,
            // CHECK_EXTENSION, SET_IOMMU), GET_DEVICE_FD; iommufd = IOAS_ALLOC, cdev open, BIND_IOMMUFD,
            // ATTACH_IOMMUFD_PT; then GET_INFO; the teardown (UNSET_CONTAINER / IOMMU_DESTROY) in destructors.
            injector inj;
            auto op = [&]() -> result<void> {
                auto space = dma_space::open(b, inj.hook());
                if (!space) return space.error();
                auto dev = space->open_device(edu[0]);
                if (!dev) return dev.error();
                auto info = dev->info();
                if (!info) return info.error();
                inj.cleanup = true;  // from here on: the destructors (device close, group leaves, IOAS destroyed)
                return {};
            };
            tally t{fmt::format("open device ({})", name_of(b))};
            auto warm = run_once(inj, 0, op);  // counts, and warms up whatever allocates once
            INFO(fmt::format("{}", warm.err));
            REQUIRE(warm.ok);
            t.ioctls = inj.calls;
            t.allocations = warm.allocations;
            REQUIRE(t.ioctls >= 4);
            CHECK(warm.allocations > 0);  // the counter sees the library's allocations (paths, names, groups)
            const footprint before = measure();
            for (int n = 1; n <= t.ioctls; ++n) {
                auto o = run_once(inj, n, op);
                check_run(t, n, o, before);
            }
            auto again = run_once(inj, 0, op);  // and the device opens again, the whole way
            CHECK(again.ok);
            CHECK(again.heap_after == again.heap_before);
            t.print();
        }
    }
    if (has_iommufd()) {
        SECTION("cdev bound to an iommufd the test keeps: the device's object and automatic HWPT go with it") {
            injector inj;
            auto ctx = iommufd::open(inj.hook());
            REQUIRE_OK(ctx);
            auto as = ctx->alloc_ioas();
            REQUIRE_OK(as);
            const auto cdev = env_list("VFIOPP_EDU_CDEVS").at(0);
            auto op = [&]() -> result<void> {
                auto dev = device::open_cdev(cdev, inj.hook(), edu[0]);
                if (!dev) return dev.error();
                if (auto r = dev->bind(*ctx); !r) return r.error();
                if (auto r = dev->attach(*as); !r) return r.error();
                auto info = dev->info();
                if (!info) return info.error();
                inj.cleanup = true;
                return {};  // closing the cdev unbinds it: no ioctl
            };
            tally t{"open device (cdev on a kept iommufd)"};
            auto warm = run_once(inj, 0, op);
            INFO(fmt::format("{}", warm.err));
            REQUIRE(warm.ok);
            t.ioctls = inj.calls;
            t.allocations = warm.allocations;
            const footprint before = measure();
            const std::uint32_t hi = as->id() + 16;
            for (int n = 1; n <= t.ioctls; ++n) {
                auto o = run_once(inj, n, op);
                check_run(t, n, o, before);
                auto p = probe_objects(*ctx, {as->id()}, 0, hi);
                INFO("ioctl " << n << ": objects of the kept iommufd " << p);
                CHECK(p.clean());
            }
            auto again = run_once(inj, 0, op);  // bound and attached again, the whole way
            CHECK(again.ok);
            CHECK(probe_objects(*ctx, {as->id()}, 0, hi).clean());
            REQUIRE_OK(as->destroy());  // no device holds the IOAS any more
            t.print();
        }
    }
}

// =====================================================================================================================
namespace {
// MSI enable, a trigger seen on its eventfd, re-enable with new eventfds, explicit disable; INTx enable, resample,
// mask, unmask, trigger, disabled by the destructor; MSI on the caller's eventfd, disabled by the destructor.
result<void> irq_steps(device& dev, injector& inj) {
    {
        auto msi = dev.interrupts(pci_irq_index::msi);
        if (!msi) return msi.error();
        if (auto r = msi->enable(msi->count()); !r) return r;  // every vector the index has (edu: 1)
        if (auto r = msi->trigger(0, msi->count()); !r) return r;
        if (!wait_eventfd(msi->eventfd(0), 2000)) return detail::refuse("eventfd", "msi", ETIMEDOUT, "no MSI trigger");
        if (auto r = msi->enable(msi->count()); !r) return r;  // new eventfds: the first ones are closed
        if (auto r = msi->trigger(0); !r) return r;
        if (!wait_eventfd(msi->eventfd(0), 2000)) return detail::refuse("eventfd", "msi", ETIMEDOUT, "no MSI trigger");
        inj.cleanup = true;
        if (auto r = msi->disable(); !r) return r;
        inj.cleanup = false;
    }
    {
        auto intx = dev.interrupts(pci_irq_index::intx);
        if (!intx) return intx.error();
        if (auto r = intx->enable(1u); !r) return r;
        auto resample = intx->enable_resample();
        if (!resample) return resample.error();
        if (auto r = intx->mask(); !r) return r;
        if (auto r = intx->unmask(); !r) return r;
        if (auto r = intx->trigger(); !r) return r;
        if (!wait_eventfd(intx->eventfd(0), 2000)) return detail::refuse("eventfd", "intx", ETIMEDOUT, "no INTx trigger");
        inj.cleanup = true;  // the destructor disables INTx
    }
    inj.cleanup = false;
    {
        unique_fd efd{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
        if (!efd) return error{"eventfd", "", errno, {}, error_origin::kernel};
        auto msi = dev.interrupts(pci_irq_index::msi);
        if (!msi) return msi.error();
        const int fds[] = {efd.get()};
        if (auto r = msi->enable(std::span<const int>(fds)); !r) return r;
        if (auto r = msi->trigger(0); !r) return r;
        if (!wait_eventfd(efd.get(), 2000)) return detail::refuse("eventfd", "msi", ETIMEDOUT, "no MSI trigger");
        inj.cleanup = true;  // the destructor disables MSI before efd closes (declared first)
    }
    return {};
}
}  // namespace

TEST_CASE("vm: injection: set IRQs (MSI, INTx with resample) fails at each ioctl, eventfds closed, IRQs off",
          "[injection]") {
    auto edu = env_list("VFIOPP_EDU");
    REQUIRE(!edu.empty());
    REQUIRE(vfio_irq_lines() == 0);
    injector inj;
    int irqs_left = -1;  // vfio IRQs the kernel still has once the interrupts objects are gone, the device open
    auto op = [&]() -> result<void> {
        inj.armed = false;  // opening the device is the other case's: only the IRQ ioctls count here
        auto space = dma_space::open(backend::automatic, inj.hook());
        if (!space) return space.error();
        auto dev = space->open_device(edu[0]);
        if (!dev) return dev.error();
        inj.armed = true;
        auto r = irq_steps(*dev, inj);
        irqs_left = vfio_irq_lines();
        inj.armed = false;
        return r;
    };
    tally t{"set IRQs"};
    auto warm = run_once(inj, 0, op);
    INFO(fmt::format("{}", warm.err));
    REQUIRE(warm.ok);
    CHECK(irqs_left == 0);
    t.ioctls = inj.calls;
    t.allocations = warm.allocations;
    const footprint before = measure();
    for (int n = 1; n <= t.ioctls; ++n) {
        auto o = run_once(inj, n, op);
        check_run(t, n, o, before);
        INFO("ioctl " << n << ": vfio IRQs left with the device still open: " << irqs_left);
        if (o.in_cleanup) {
            // the failed SET_IRQS was the disable: the library has closed its eventfds (the fd count says so) and
            // cannot disable again; the kernel keeps the index enabled until the device fd closes
            CHECK(irqs_left <= 1);
            t.kernel_left += irqs_left;
        } else {
            CHECK(irqs_left == 0);
        }
        CHECK(vfio_irq_lines() == 0);  // the device closed: nothing requested any more
    }
    auto again = run_once(inj, 0, op);  // MSI and INTx enable again on the same device
    INFO(fmt::format("{}", again.err));
    CHECK(again.ok);
    CHECK(irqs_left == 0);
    t.print();
}

// =====================================================================================================================
namespace {
using st = uapi::device_mig_state;

// mtty port 0: LCR, SCR, then bytes written to THR loop back into the RX FIFO (FCR 0x07 clears it first).
result<void> program_port(device& dev, std::uint8_t lcr, std::uint8_t scr, std::string_view tx) {
    auto bar = dev.region(pci_region_index::bar0);
    if (!bar) return bar.error();
    if (auto r = bar->write<std::uint8_t>(3, lcr); !r) return r;
    if (auto r = bar->write<std::uint8_t>(7, scr); !r) return r;
    if (auto r = bar->write<std::uint8_t>(2, 0x07); !r) return r;
    for (char c : tx)
        if (auto r = bar->write<std::uint8_t>(0, static_cast<std::uint8_t>(c)); !r) return r;
    return {};
}
result<bool> port_is(device& dev, std::uint8_t lcr, std::uint8_t scr, std::string_view rx) {
    auto bar = dev.region(pci_region_index::bar0);
    if (!bar) return bar.error();
    auto l = bar->read<std::uint8_t>(3);
    auto s = bar->read<std::uint8_t>(7);
    if (!l) return l.error();
    if (!s) return s.error();
    bool same = *l == lcr && *s == scr;
    for (char c : rx) {
        auto b = bar->read<std::uint8_t>(0);
        if (!b) return b.error();
        same &= *b == static_cast<std::uint8_t>(c);
    }
    return same;
}
// MIG_DEVICE_STATE as the kernel has it, without the hook
result<st> kernel_state(int device_fd) {
    auto g = wire::vfio::feature_get<uapi::vfio_device_feature_mig_state>();
    if (auto r = io::submit(device_fd, g); !r) return r.error();
    return g.read<uapi::vfio_device_feature_mig_state>(sizeof(uapi::vfio_device_feature)).device_state;
}

struct mig_checks {
    int inconsistent = 0;  // current() differed from the kernel's state after a failure
    int unrecovered = 0;   // move_to(running) did not bring the device back
};
// The VMM's abort path when a migration step fails: current() must be what the kernel says, and move_to(running)
// from there must work (the library never moves a device by itself, also not when the object goes).
struct back_to_running {
    std::optional<migration>& mig;
    int fd;
    mig_checks& checks;
    ~back_to_running() {
        if (!mig) return;
        auto k = kernel_state(fd);
        if (!k || *k != mig->current()) ++checks.inconsistent;
        if (mig->current() != st::running && !mig->move_to(st::running)) ++checks.unrecovered;
    }
};
}  // namespace

TEST_CASE("vm: injection: migrate mtty 0 into mtty 1, a failure at each ioctl of source and target", "[injection]") {
    if (on_debian_61()) return;
    auto mtty = env_list("VFIOPP_MTTY");
    REQUIRE(mtty.size() >= 2);
    auto space = dma_space::open(backend::iommufd);
    REQUIRE_OK(space);
    auto src_dev = space->open_device(mtty[0]);
    REQUIRE_OK(src_dev);
    auto dst_dev = space->open_device(mtty[1]);
    REQUIRE_OK(dst_dev);
    injector inj;
    mig_checks checks;
    bool moved = false;  // the target holds the source's port once the full run verified it
    auto op = [&]() -> result<void> {
        moved = false;
        if (auto r = program_port(*src_dev, 0x03, 0x5a, "ab"); !r) return r;
        if (auto r = program_port(*dst_dev, 0x07, 0x11, "x"); !r) return r;
        std::optional<migration> src, dst;
        back_to_running g_src{src, src_dev->fd(), checks}, g_dst{dst, dst_dev->fd(), checks};
        auto s = migration::open(*src_dev, inj.hook());  // GET MIGRATION, GET MIG_DEVICE_STATE
        if (!s) return s.error();
        src = std::move(*s);
        auto d = migration::open(*dst_dev, inj.hook());
        if (!d) return d.error();
        dst = std::move(*d);
        auto size = src->data_size();
        if (!size) return size.error();
        std::array<std::byte, 256> image{};
        std::size_t used = 0;
        auto sink = [&](std::span<const std::byte> c) -> result<void> {
            if (c.size() > image.size() - used) return detail::refuse("save", "image", ENOSPC, "more than 256 bytes");
            std::memcpy(image.data() + used, c.data(), c.size());
            used += c.size();
            return {};
        };
        if (auto r = src->move_to(st::pre_copy); !r) return r;  // RUNNING -> PRE_COPY: a data fd
        auto pi = src->precopy_info();                           // on the data fd
        if (!pi) return pi.error();
        if (auto r = src->save(sink); !r) return r.error();
        if (auto r = src->move_to(st::stop_copy); !r) return r;  // -> PRE_COPY_P2P -> STOP_COPY
        if (auto r = src->save(sink); !r) return r.error();
        if (used != *size) return detail::refuse("save", "image", EIO, "the image is not MIG_DATA_SIZE long");
        if (auto r = dst->move_to(st::resuming); !r) return r;  // -> RUNNING_P2P -> STOP -> RESUMING
        if (auto r = dst->load(std::span<const std::byte>(image.data(), used)); !r) return r.error();
        if (auto r = dst->move_to(st::running); !r) return r;   // -> STOP (loads) -> RUNNING_P2P -> RUNNING
        if (auto r = src->move_to(st::running); !r) return r;   // -> STOP -> RUNNING_P2P -> RUNNING
        auto same = port_is(*dst_dev, 0x03, 0x5a, "ab");
        if (!same) return same.error();
        moved = *same;
        return {};
    };
    tally t{"migrate"};
    auto warm = run_once(inj, 0, op);
    INFO(fmt::format("{}", warm.err));
    REQUIRE(warm.ok);
    REQUIRE(moved);
    t.ioctls = inj.calls;
    t.allocations = warm.allocations;
    const footprint before = measure();
    for (int n = 1; n <= t.ioctls; ++n) {
        auto o = run_once(inj, n, op);
        check_run(t, n, o, before);
        INFO("ioctl " << n);
        CHECK(checks.inconsistent == 0);
        CHECK(checks.unrecovered == 0);
        // both devices RUNNING again, as the kernel says (no hook)
        CHECK(kernel_state(src_dev->fd()).value() == st::running);
        CHECK(kernel_state(dst_dev->fd()).value() == st::running);
    }
    auto again = run_once(inj, 0, op);  // and the next migration goes through, state verified
    INFO(fmt::format("{}", again.err));
    CHECK(again.ok);
    CHECK(moved);
    t.print();
}

// =====================================================================================================================
TEST_CASE("vm: injection: bind a guest page table as a nested HWPT on the IOMMUFD_TEST mock, a failure at each ioctl",
          "[injection]") {
    if (on_debian_61()) return;
    injector inj;
    auto ctx = iommufd::open(inj.hook());  // the test's: kept across the runs
    REQUIRE_OK(ctx);
    auto as = ctx->alloc_ioas();
    REQUIRE_OK(as);
    auto md = mock_dev::make(*ctx, as->id(), 0);
    REQUIRE_OK(md);
    const std::uint32_t hi = std::max({as->id(), md->stdev, md->idev, md->rid_hwpt}) + 16;
    // NEST_PARENT and nested HWPT_ALLOC; the RID attached to the parent, replaced by the nested one; HWPT_INVALIDATE;
    // the RID back on the IOAS; both HWPTs destroyed (explicitly: reported; the destructors do it on an error).
    auto op = [&]() -> result<void> {
        auto parent = hwpt::alloc(*ctx, md->idev, as->id(), hwpt_alloc_flag::nest_parent);
        if (!parent) return parent.error();
        auto nested = hwpt::alloc_nested(*ctx, md->idev, *parent, mock::hwpt_selftest{mock::iotlb_default, 0});
        if (!nested) return nested.error();
        rid_guard g{*md, inj.hook(), false};
        if (auto r = g.move(parent->id()); !r) return r;
        if (auto r = g.move(nested->id()); !r) return r;
        auto out = nested->invalidate(std::array<mock::hwpt_invalidate_selftest, 2>{{{0, 0}, {mock::invalidate_flag_all, 0}}});
        if (!out.status) return out.status.error();
        if (out.done != 2) return detail::refuse("IOMMU_HWPT_INVALIDATE", "entry_num", EIO, "not both entries handled");
        if (auto c = mock_op(*ctx, {}, op_md_check_iotlb, nested->id(), 3, 0); !c) return c.error();  // flushed
        if (auto r = g.restore(); !r) return r;
        inj.cleanup = true;  // IOMMU_DESTROY: a failed one is not retried (hwpt::destroy), the object stays
        if (auto r = nested->destroy(); !r) return r;
        if (auto r = parent->destroy(); !r) return r;
        return {};
    };
    tally t{"bind page table (nested HWPT)"};
    auto warm = run_once(inj, 0, op);
    INFO(fmt::format("{}", warm.err));
    REQUIRE(warm.ok);
    t.ioctls = inj.calls;
    t.allocations = warm.allocations;
    REQUIRE(probe_objects(*ctx, {as->id(), md->stdev, md->idev}, md->rid_hwpt, hi).clean());
    const footprint before = measure();
    for (int n = 1; n <= t.ioctls; ++n) {
        auto o = run_once(inj, n, op);
        check_run(t, n, o, before);
        INFO("ioctl " << n);
        if (o.in_cleanup) {
            const int left = md->repair({}, hi);
            CHECK(left >= 1);  // what the failed IOMMU_DESTROY was for (and the parent the nested one held)
            t.kernel_left += left;
        }
        auto p = probe_objects(*ctx, {as->id(), md->stdev, md->idev}, md->rid_hwpt, hi);
        INFO("objects of the kept iommufd after the run: " << p);
        CHECK(p.clean());
    }
    auto again = run_once(inj, 0, op);  // the RID attaches, is replaced and comes back again
    INFO(fmt::format("{}", again.err));
    CHECK(again.ok);
    CHECK(probe_objects(*ctx, {as->id(), md->stdev, md->idev}, md->rid_hwpt, hi).clean());
    REQUIRE_OK(ctx->destroy(md->stdev));
    REQUIRE_OK(as->destroy());
    t.print();
}

// =====================================================================================================================
namespace {
using vfiopp::proposal::cache_info;
using vfiopp::proposal::gpasid_bind;

gpasid_bind bind_of(std::uint64_t hpasid) {
    gpasid_bind b{};
    b.format = uapi::iommu_pasid_format::intel_vtd;
    b.addr_width = 48;
    b.gpgd = 0x40000000;
    b.hpasid = hpasid;
    b.vendor.vtd.flags = uapi::iommu_gpasid_vtd_flag::sre;
    return b;
}
cache_info iotlb_flush_of(std::uint64_t pasid) {
    cache_info i{};
    i.cache = uapi::iommu_cache_inv_type::iotlb;
    i.granularity = uapi::iommu_inv_granularity::pasid;
    i.granu.pasid_info = {};
    i.granu.pasid_info.flags = uapi::iommu_inv_pasid_flag::pasid;
    i.granu.pasid_info.pasid = pasid;
    return i;
}
// the mock's stage-1 data and invalidation entry (as objects_proposal_test.cpp)
struct mock_translation {
    using stage1_type = mock::hwpt_selftest;
    using invalidate_entry = mock::hwpt_invalidate_selftest;
    static constexpr std::size_t max_entries = 1;
    [[nodiscard]] static result<stage1_type> stage1(const gpasid_bind&) { return stage1_type{mock::iotlb_default, 0}; }
    [[nodiscard]] static result<std::size_t> entries(const cache_info&, std::span<invalidate_entry> out) {
        out[0] = invalidate_entry{0, 0};
        return std::size_t{1};
    }
};
// the mock device as a proposal::port, every command through the hook
struct mock_port final : proposal::port {
    mock_dev* dev = nullptr;
    io::ioctl_hook hook{};
    [[nodiscard]] std::uint32_t dev_id() const noexcept override { return dev->idev; }
    [[nodiscard]] result<bool> has_pasid() const override { return true; }
    [[nodiscard]] result<void> replace_rid(std::uint32_t pt) override { return dev->replace(pt, hook); }
    [[nodiscard]] result<void> attach_pasid(std::uint32_t pasid, std::uint32_t pt) override {
        if (auto r = mock_op(*dev->ctx, hook, op_pasid_attach, dev->stdev, pasid, pt); !r) return r.error();
        return {};
    }
    [[nodiscard]] result<void> detach_pasid(std::uint32_t pasid) override {
        if (auto r = mock_op(*dev->ctx, hook, op_pasid_detach, dev->stdev, pasid); !r) return r.error();
        return {};
    }
};
}  // namespace

TEST_CASE("vm: injection: proposal::iommufd_backend bind / invalidate / unbind on the mock, a failure at each ioctl",
          "[injection]") {
    if (on_debian_61()) return;
    injector inj;
    auto ctx = iommufd::open(inj.hook());
    REQUIRE_OK(ctx);
    auto as = ctx->alloc_ioas();
    REQUIRE_OK(as);
    auto md = mock_dev::make(*ctx, as->id(), mock_flags_device_pasid);
    REQUIRE_OK(md);
    mock_port port;
    port.dev = &*md;
    port.hook = inj.hook();
    const std::uint32_t hi = std::max({as->id(), md->stdev, md->idev, md->rid_hwpt}) + 16;
    // create (NEST_PARENT, RID onto it), bind (nested HWPT, attach at the PASID), invalidate, unbind, free; a second
    // bind left for the destructor (detach, destroy, RID back on the IOAS, parent destroyed)
    auto op = [&]() -> result<void> {
        using backend_type = proposal::iommufd_backend<mock_translation>;
        auto s = backend_type::create(*ctx, port, as->id());
        if (!s) return s.error();
        proposal::vsva& sva = **s;
        auto p = sva.pasid_alloc({100, 200});
        if (!p) return p.error();
        if (auto r = sva.bind(bind_of(*p)); !r) return r;
        auto inv = sva.invalidate(iotlb_flush_of(*p));
        if (!inv.status) return inv.status.error();
        if (inv.done != 1) return detail::refuse("IOMMU_HWPT_INVALIDATE", "entry_num", EIO, "the entry was not handled");
        if (auto r = sva.unbind(bind_of(*p)); !r) return r;
        if (auto r = sva.pasid_free({*p, *p}); !r) return r;
        auto p2 = sva.pasid_alloc({100, 200});
        if (!p2) return p2.error();
        if (auto r = sva.bind(bind_of(*p2)); !r) return r;
        inj.cleanup = true;  // the destructor: unbind (detach, IOMMU_DESTROY), RID back, parent IOMMU_DESTROY
        s->reset();
        return {};
    };
    tally t{"bind page table (proposal iommufd_backend)"};
    auto warm = run_once(inj, 0, op);
    INFO(fmt::format("{}", warm.err));
    REQUIRE(warm.ok);
    t.ioctls = inj.calls;
    t.allocations = warm.allocations;
    REQUIRE(probe_objects(*ctx, {as->id(), md->stdev, md->idev}, md->rid_hwpt, hi).clean());
    const footprint before = measure();
    for (int n = 1; n <= t.ioctls; ++n) {
        auto o = run_once(inj, n, op);
        check_run(t, n, o, before);
        INFO("ioctl " << n);
        if (o.in_cleanup) {
            const int left = md->repair({100, 101}, hi);
            CHECK(left >= 1);
            t.kernel_left += left;
        }
        CHECK(!md->pasid_attached(100));
        CHECK(!md->pasid_attached(101));
        auto p = probe_objects(*ctx, {as->id(), md->stdev, md->idev}, md->rid_hwpt, hi);
        INFO("objects of the kept iommufd after the run: " << p);
        CHECK(p.clean());
    }
    auto again = run_once(inj, 0, op);
    INFO(fmt::format("{}", again.err));
    CHECK(again.ok);
    CHECK(probe_objects(*ctx, {as->id(), md->stdev, md->idev}, md->rid_hwpt, hi).clean());
    REQUIRE_OK(ctx->destroy(md->stdev));
    REQUIRE_OK(as->destroy());
    t.print();
}
