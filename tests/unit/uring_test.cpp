// The io_uring submitter (io/uring.hpp) on the host's own io_uring, with stand-ins for VFIO's fds: eventfds for
// interrupt eventfds, pipes for the migration data_fd and event fds, memfds for regions, and an injected ioctl hook
// for the ioctl offload. Each test checks exact tags, values, byte counts and errors, and counts completions per tag
// (none lost, none twice), hook calls (no ioctl run twice, dropped ones never run) and open fds (rings, workers and
// fds returned by ioctls are released).
#include <vfiopp/io/sync.hpp>
#include <vfiopp/io/uring.hpp>
#include <vfiopp/uapi/vfio.hpp>
#include <vfiopp/wire/iommufd.hpp>
#include <vfiopp/wire/vfio.hpp>

#include "unit_support.hpp"

#include <catch2/catch_test_macros.hpp>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <span>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

using namespace vfiopp;
using namespace std::chrono_literals;
using unit_support::must;
using unit_support::new_eventfd;
using unit_support::open_fds;
using unit_support::value_of;

namespace {

/// Every completion wait() delivers, by tag; a tag delivered twice fails the test.
struct collector {
    std::map<std::uint64_t, io::completion> by_tag;
    void operator()(io::completion&& c) {
        CAPTURE(c.tag);
        CHECK(by_tag.count(c.tag) == 0);
        by_tag.insert_or_assign(c.tag, std::move(c));
    }
};

/// Waits (5 s at most) until n completions were delivered into col.
void collect(io::uring& ring, collector& col, std::size_t n) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (col.by_tag.size() < n && std::chrono::steady_clock::now() < until)
        must(ring.wait([&](io::completion&& c) { col(std::move(c)); }, 1, 100ms));
    REQUIRE(col.by_tag.size() == n);
}

unique_fd new_memfd(std::size_t size) {
    unique_fd f{::memfd_create("vfiopp-uring-test", MFD_CLOEXEC)};
    REQUIRE(f);
    REQUIRE(::ftruncate(f.get(), static_cast<off_t>(size)) == 0);
    return f;
}

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131 + seed * 7 + (i >> 8)) & 0xff);
    return v;
}

void signal(int efd, std::uint64_t v) { REQUIRE(::eventfd_write(efd, v) == 0); }

/// An ioctl hook for the offload tests: counts calls, records the thread and code, and answers as configured.
struct fake_kernel {
    std::atomic<int> calls{0};
    std::atomic<int> started{0};
    std::atomic<bool> release{true};          // false: every call waits until it is set
    std::chrono::milliseconds delay{0};       // every call sleeps this long first
    int answer = 0;                            // returned when errno_code == 0
    int errno_code = 0;                        // > 0: fail with -1 and this errno
    bool make_fd = false;                      // return (new_fd) or write (out_fd at fd_offset) a fresh eventfd
    std::uint16_t fd_offset = 0;               // where an out_fd is written in the image
    bool out_fd = false;
    std::atomic<unsigned long> last_code{0};
    std::thread::id last_thread{};
    std::mutex m;

    static int call(void* ctx, int, unsigned long code, void* arg) noexcept {
        auto* k = static_cast<fake_kernel*>(ctx);
        ++k->started;
        while (!k->release.load()) std::this_thread::sleep_for(1ms);
        if (k->delay.count() > 0) std::this_thread::sleep_for(k->delay);
        ++k->calls;
        k->last_code = code;
        {
            std::lock_guard lock(k->m);
            k->last_thread = std::this_thread::get_id();
        }
        if (k->errno_code != 0) {
            errno = k->errno_code;
            return -1;
        }
        if (k->make_fd) {
            int fd = ::eventfd(0, EFD_CLOEXEC);
            if (!k->out_fd) return fd;
            std::memcpy(static_cast<std::byte*>(arg) + k->fd_offset, &fd, sizeof fd);
            return 0;
        }
        return k->answer;
    }
    io::ioctl_hook hook() { return {&call, this}; }
};

/// Whether uring::ioctl() accepts a Req (an lvalue when Req is a reference, else a temporary).
template <typename Req>
concept ring_takes = requires(io::uring& r, Req&& req) { r.ioctl(1, 0, std::forward<Req>(req)); };

}  // namespace

TEST_CASE("uring: 32 eventfds waited on at once complete with their tags and counter values", "[uring]") {
    auto ring = must(io::uring::create(64));
    std::vector<unique_fd> efds;
    for (int i = 0; i < 32; ++i) {
        efds.emplace_back(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));  // as interrupts::enable(n) makes them
        REQUIRE(efds.back());
    }
    for (std::uint64_t i = 0; i < 32; ++i) must(ring.wait_eventfd(1000 + i, efds[i].get()));
    CHECK(ring.pending() == 32);
    CHECK(must(ring.submit()) == 32);
    CHECK(ring.in_flight() == 32);

    collector col;
    CHECK(must(ring.poll([&](io::completion&& c) { col(std::move(c)); })) == 0);  // nothing signalled: all wait
    CHECK(must(ring.wait([&](io::completion&& c) { col(std::move(c)); }, 1, 20ms)) == 0);  // a timeout is no error

    for (std::uint64_t i = 32; i-- > 0;) signal(efds[i].get(), (i + 1) * 3);  // in reverse order
    collect(ring, col, 32);
    for (std::uint64_t i = 0; i < 32; ++i) {
        CAPTURE(i);
        auto& c = col.by_tag.at(1000 + i);
        CHECK(c.op == io::uring_op::eventfd);
        CHECK_FALSE(c.cancelled);
        REQUIRE(c.value);
        CHECK(*c.value == (i + 1) * 3);
    }
    CHECK(ring.pending() == 0);
    CHECK(ring.in_flight() == 0);
    CHECK(must(ring.wait([](io::completion&&) { FAIL("nothing is pending"); })) == 0);  // returns at once
}

TEST_CASE("uring: a callback re-arms its eventfd wait; signals before a read add up", "[uring]") {
    auto ring = must(io::uring::create(4));
    auto efd = new_eventfd();
    must(ring.wait_eventfd(7, efd.get()));
    std::vector<std::uint64_t> seen;
    auto rearm = [&](io::completion&& c) {
        REQUIRE(c.value);
        seen.push_back(*c.value);
        if (seen.size() < 3) must(ring.wait_eventfd(c.tag, efd.get()));
    };
    signal(efd.get(), 1);
    signal(efd.get(), 4);  // before the read is sent (wait() sends it): one completion with 5
    CHECK(must(ring.wait(rearm, 1, 2s)) == 1);
    signal(efd.get(), 2);
    CHECK(must(ring.wait(rearm, 1, 2s)) == 1);
    signal(efd.get(), 9);
    CHECK(must(ring.wait(rearm, 1, 2s)) == 1);
    CHECK(seen == std::vector<std::uint64_t>{5, 2, 9});
    CHECK(ring.pending() == 0);
}

TEST_CASE("uring: read and write on a memfd equal pread and pwrite", "[uring]") {
    constexpr std::size_t size = 64 * 1024;
    auto mem = new_memfd(size);
    const auto data = pattern(size, 1);
    REQUIRE(::pwrite(mem.get(), data.data(), size, 0) == static_cast<ssize_t>(size));

    auto ring = must(io::uring::create(8));
    struct access {
        std::uint64_t offset;
        std::size_t len;
    };
    const std::vector<access> reads{{0, 16}, {4095, 100}, {40000, 4096}, {size - 10, 64}, {size, 8}};
    std::vector<std::vector<std::byte>> bufs;
    for (auto a : reads) bufs.emplace_back(a.len, std::byte{0xee});
    for (std::size_t i = 0; i < reads.size(); ++i) must(ring.read(i, mem.get(), std::span(bufs[i]), reads[i].offset));
    collector col;
    collect(ring, col, reads.size());
    for (std::size_t i = 0; i < reads.size(); ++i) {
        CAPTURE(i);
        std::vector<std::byte> expect(reads[i].len, std::byte{0xee});
        const ssize_t n = ::pread(mem.get(), expect.data(), expect.size(), static_cast<off_t>(reads[i].offset));
        auto& c = col.by_tag.at(i);
        CHECK(c.op == io::uring_op::read);
        REQUIRE(c.value);
        CHECK(*c.value == static_cast<std::uint64_t>(n));  // 16, 100, 4096, 10 (short at the end), 0 (end of file)
        CHECK(bufs[i] == expect);
    }
    CHECK(*col.by_tag.at(3).value == 10);
    CHECK(*col.by_tag.at(4).value == 0);

    // Writes at offsets, then compared with what pwrite of the same bytes gives on a second memfd.
    auto mem2 = new_memfd(size);
    REQUIRE(::pwrite(mem2.get(), data.data(), size, 0) == static_cast<ssize_t>(size));
    const auto w1 = pattern(300, 2), w2 = pattern(5000, 3);
    must(ring.write(10, mem.get(), std::span(w1), 1000));
    must(ring.write(11, mem.get(), std::span(w2), size - 100));  // grows the file, as pwrite does
    REQUIRE(::pwrite(mem2.get(), w1.data(), w1.size(), 1000) == 300);
    REQUIRE(::pwrite(mem2.get(), w2.data(), w2.size(), size - 100) == 5000);
    collector wcol;
    collect(ring, wcol, 2);
    CHECK(wcol.by_tag.at(10).op == io::uring_op::write);
    CHECK(*wcol.by_tag.at(10).value == 300);
    CHECK(*wcol.by_tag.at(11).value == 5000);
    std::vector<std::byte> a(size + 4900), b(size + 4900);
    REQUIRE(::pread(mem.get(), a.data(), a.size(), 0) == static_cast<ssize_t>(a.size()));
    REQUIRE(::pread(mem2.get(), b.data(), b.size(), 0) == static_cast<ssize_t>(b.size()));
    CHECK(a == b);
}

TEST_CASE("uring: a pipe read waits for data; write then read through the ring moves the bytes", "[uring]") {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    unique_fd rd{p[0]}, wr{p[1]};
    auto ring = must(io::uring::create(4));
    std::vector<std::byte> in(64, std::byte{0});
    must(ring.read(1, rd.get(), std::span(in), io::uring::current_position));
    collector col;
    CHECK(must(ring.wait([&](io::completion&& c) { col(std::move(c)); }, 1, 30ms)) == 0);  // no data yet
    const auto out = pattern(40, 4);
    must(ring.write(2, wr.get(), std::span(out), io::uring::current_position));
    collect(ring, col, 2);
    CHECK(*col.by_tag.at(2).value == 40);
    CHECK(*col.by_tag.at(1).value == 40);
    CHECK(std::memcmp(in.data(), out.data(), 40) == 0);
}

TEST_CASE("uring: kernel errors name the operation and errno; refusals come before any request", "[uring][errors]") {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    unique_fd rd{p[0]}, wr{p[1]};
    auto ring = must(io::uring::create(4));
    std::array<std::byte, 8> buf{};
    must(ring.read(1, wr.get(), std::span(buf), 0));           // the write end: EBADF
    must(ring.write(2, rd.get(), std::span(buf), 0));          // the read end: EBADF
    must(ring.wait_eventfd(3, wr.get()));                      // not readable either
    collector col;
    collect(ring, col, 3);
    for (std::uint64_t tag : {1, 2, 3}) {
        CAPTURE(tag);
        auto& c = col.by_tag.at(tag);
        CHECK_FALSE(c.cancelled);
        REQUIRE_FALSE(c.value);
        CHECK(c.value.error().ioctl == (tag == 2 ? "IORING_OP_WRITE" : "IORING_OP_READ"));
        CHECK(c.value.error().field == (tag == 3 ? "eventfd" : "fd"));
        CHECK(c.value.error().code == EBADF);
        CHECK(c.value.error().origin == error_origin::kernel);
        CHECK(value_of(c.value.error(), "fd") == static_cast<std::uint64_t>(tag == 2 ? rd.get() : wr.get()));
    }
    CHECK(value_of(col.by_tag.at(1).value.error(), "len") == 8);

    // A read of a non-eventfd that gives fewer than 8 bytes is not a counter.
    REQUIRE(::write(wr.get(), "abc", 3) == 3);
    must(ring.wait_eventfd(4, rd.get()));
    collector short_col;
    collect(ring, short_col, 1);
    REQUIRE_FALSE(short_col.by_tag.at(4).value);
    CHECK(short_col.by_tag.at(4).value.error().code == EIO);
    CHECK(value_of(short_col.by_tag.at(4).value.error(), "bytes") == 3);

    // Refused before anything is queued.
    auto r = ring.read(5, -1, std::span(buf), 0);
    REQUIRE_FALSE(r);
    CHECK(r.error().ioctl == "IORING_OP_READ");
    CHECK(r.error().code == EBADF);
    CHECK(r.error().origin == error_origin::library);
    CHECK(ring.wait_eventfd(6, -3).error().field == "eventfd");
    CHECK(ring.pending() == 0);

    io::uring empty;
    CHECK_FALSE(empty);
    CHECK(empty.fd() == -1);
    CHECK(empty.wait_eventfd(1, rd.get()).error().code == EBADF);
    CHECK(empty.submit().error().code == EBADF);
    CHECK(empty.cancel(1).error().code == EBADF);
    auto v = wire::vfio::get_api_version();
    CHECK(empty.ioctl(1, rd.get(), v).error().ioctl == "VFIO_GET_API_VERSION");
    CHECK(io::uring::create(0).error().field == "entries");
}

TEST_CASE("uring: an ioctl runs on the worker and completes with io::submit's value", "[uring][ioctl]") {
    fake_kernel k;
    k.answer = 7;
    auto dev = new_eventfd();  // stands in for the container fd
    auto ring = must(io::uring::create(4));
    auto req = wire::vfio::get_api_version();
    must(ring.ioctl(42, dev.get(), req, k.hook()));
    CHECK(k.calls == 0);  // queued until submit() or wait()
    collector col;
    collect(ring, col, 1);
    CHECK(k.calls == 1);
    CHECK(k.last_code == uapi::vfio::get_api_version.code);
    {
        std::lock_guard lock(k.m);
        CHECK(k.last_thread != std::this_thread::get_id());
    }
    auto& c = col.by_tag.at(42);
    CHECK(c.op == io::uring_op::ioctl);
    CHECK_FALSE(c.cancelled);
    REQUIRE(c.value);
    CHECK(*c.value == 7);
    auto r = c.reply(req);
    STATIC_CHECK(std::is_same_v<decltype(r), result<int>>);
    STATIC_CHECK(std::is_same_v<decltype(r), decltype(io::submit(dev.get(), req, k.hook()))>);
    REQUIRE(r);
    CHECK(*r == 7);

    // A temporary request would be gone before the worker runs it: refused at compile time.
    STATIC_CHECK_FALSE(ring_takes<decltype(wire::vfio::get_api_version())>);
    STATIC_CHECK(ring_takes<decltype(wire::vfio::get_api_version())&>);

    // A status ioctl yields result<void>, as the synchronous path does.
    auto set = wire::vfio::set_iommu(uapi::extension::type1v2_iommu);
    k.answer = 0;
    must(ring.ioctl(43, dev.get(), set, k.hook()));
    collect(ring, col, 2);
    CHECK(k.last_code == uapi::vfio::set_iommu.code);
    auto s = col.by_tag.at(43).reply(set);
    STATIC_CHECK(std::is_same_v<decltype(s), result<void>>);
    CHECK(s.has_value());
    CHECK(*col.by_tag.at(43).value == 0);

    // A completion of another ioctl is not this request's reply.
    auto other = wire::vfio::check_extension(uapi::extension::type1v2_iommu);
    auto wrong = c.reply(other);
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == EINVAL);
    CHECK(wrong.error().field == "tag");
}

TEST_CASE("uring: a failing ioctl's completion is io::submit's error, naming the ioctl and errno", "[uring][ioctl]") {
    fake_kernel k;
    k.errno_code = EINVAL;
    auto dev = new_eventfd();
    auto ring = must(io::uring::create(4));
    auto req = wire::vfio::check_extension(uapi::extension::type1v2_iommu);
    must(ring.ioctl(5, dev.get(), req, k.hook()));
    collector col;
    collect(ring, col, 1);
    auto& c = col.by_tag.at(5);
    REQUIRE_FALSE(c.value);
    CHECK(c.value.error().ioctl == "VFIO_CHECK_EXTENSION");
    CHECK(c.value.error().code == EINVAL);
    CHECK(c.value.error().origin == error_origin::kernel);
    auto sync = io::submit(dev.get(), req, k.hook());  // the synchronous path's error, for comparison
    REQUIRE_FALSE(sync);
    CHECK(c.value.error() == sync.error());
    auto r = c.reply(req);
    REQUIRE_FALSE(r);
    CHECK(r.error() == sync.error());
    CHECK(k.calls == 2);
}

TEST_CASE("uring: an ioctl's new fd is owned by its completion, then by reply()", "[uring][ioctl]") {
    fake_kernel k;
    k.make_fd = true;
    auto group = new_eventfd();
    auto ring = must(io::uring::create(4));
    const int before = open_fds();
    auto req = wire::vfio::group_get_device_fd("0000:00:04.0").value();
    must(ring.ioctl(1, group.get(), req, k.hook()));
    {
        collector col;
        collect(ring, col, 1);
        auto& c = col.by_tag.at(1);
        REQUIRE(c.value);
        REQUIRE(c.fd);
        CHECK(*c.value == static_cast<std::uint64_t>(c.fd.get()));
        CHECK(open_fds() == before + 1);
        auto r = c.reply(req);
        STATIC_CHECK(std::is_same_v<decltype(r), result<unique_fd>>);
        REQUIRE(r);
        CHECK(unit_support::is_open(r->get()));
        CHECK_FALSE(c.fd);
    }
    CHECK(open_fds() == before);  // the reply's unique_fd closed it

    // A completion dropped without reply() closes its fd; so does an out_fd reply (IOMMU_FAULT_QUEUE_ALLOC).
    must(ring.ioctl(2, group.get(), req, k.hook()));
    {
        collector col;
        collect(ring, col, 1);
        CHECK(open_fds() == before + 1);
    }
    CHECK(open_fds() == before);
    auto fq = wire::iommufd::fault_queue_alloc();
    k.out_fd = true;
    k.fd_offset = decltype(fq)::ret.fd_offset;
    must(ring.ioctl(3, group.get(), fq, k.hook()));
    {
        collector col;
        collect(ring, col, 1);
        auto& c = col.by_tag.at(3);
        REQUIRE(c.value);
        CHECK(*c.value == 0);
        auto r = c.reply(fq);
        REQUIRE(r);
        CHECK(r->get() == static_cast<int>(fq.header().out_fault_fd));
        CHECK(open_fds() == before + 1);
    }
    CHECK(open_fds() == before);
}

TEST_CASE("uring: cancelling a pending eventfd wait completes it as cancelled, not as an error", "[uring][cancel]") {
    auto ring = must(io::uring::create(4));
    auto efd = new_eventfd();
    must(ring.wait_eventfd(9, efd.get()));
    must(ring.submit());
    CHECK(ring.in_flight() == 1);
    CHECK(must(ring.cancel(9)) == 1);
    CHECK(must(ring.cancel(12345)) == 0);  // no such tag
    collector col;
    collect(ring, col, 1);
    auto& c = col.by_tag.at(9);
    CHECK(c.op == io::uring_op::eventfd);
    CHECK(c.cancelled);
    CHECK(c.value);  // not an error
    CHECK(ring.pending() == 0);
    // The cancelled read consumed nothing: a later signal is still in the counter.
    signal(efd.get(), 6);
    CHECK(must(ring.wait([](io::completion&&) { FAIL("no request is pending"); }, 1, 20ms)) == 0);
    std::uint64_t v = 0;
    REQUIRE(::eventfd_read(efd.get(), &v) == 0);
    CHECK(v == 6);
}

TEST_CASE("uring: cancel reaches queued requests at once, and leaves others with the same ring alone", "[uring][cancel]") {
    auto ring = must(io::uring::create(1));  // depth 1: the second wait stays queued in the uring object
    auto a = new_eventfd(), b = new_eventfd();
    must(ring.wait_eventfd(1, a.get()));
    must(ring.wait_eventfd(2, b.get()));
    must(ring.submit());
    CHECK(ring.in_flight() == 1);
    CHECK(ring.pending() == 2);
    CHECK(must(ring.cancel(2)) == 1);
    collector col;
    CHECK(must(ring.wait([&](io::completion&& c) { col(std::move(c)); }, 1, 1s)) == 1);
    REQUIRE(col.by_tag.count(2) == 1);
    CHECK(col.by_tag.at(2).cancelled);
    signal(a.get(), 3);
    collect(ring, col, 2);
    CHECK_FALSE(col.by_tag.at(1).cancelled);
    CHECK(*col.by_tag.at(1).value == 3);
    signal(b.get(), 1);  // its wait was never sent: nothing reads it
    std::uint64_t v = 0;
    REQUIRE(::eventfd_read(b.get(), &v) == 0);
    CHECK(v == 1);
}

TEST_CASE("uring: a cancelled ioctl that a worker started reports its real result; a waiting one is cancelled",
          "[uring][cancel][ioctl]") {
    fake_kernel k;
    k.answer = 11;
    k.release = false;
    auto dev = new_eventfd();
    auto ring = must(io::uring::create(4));
    auto first = wire::vfio::get_api_version(), second = wire::vfio::get_api_version();
    must(ring.ioctl(1, dev.get(), first, k.hook()));
    must(ring.ioctl(2, dev.get(), second, k.hook()));
    must(ring.submit());
    while (k.started == 0) std::this_thread::sleep_for(1ms);  // the worker runs the first; the second waits for it
    CHECK(must(ring.cancel(1)) == 0);                         // running: cannot be stopped
    CHECK(must(ring.cancel(2)) == 1);
    k.release = true;
    collector col;
    collect(ring, col, 2);
    CHECK_FALSE(col.by_tag.at(1).cancelled);
    CHECK(*col.by_tag.at(1).value == 11);
    CHECK(*col.by_tag.at(1).reply(first) == 11);
    auto& c2 = col.by_tag.at(2);
    CHECK(c2.cancelled);
    CHECK(c2.op == io::uring_op::ioctl);
    CHECK(c2.value);
    auto r2 = c2.reply(second);
    REQUIRE_FALSE(r2);
    CHECK(r2.error().code == ECANCELED);
    CHECK(k.calls == 1);  // the cancelled one never ran
}

TEST_CASE("uring: a ring of 4 given 100 requests loses none and runs none twice", "[uring]") {
    fake_kernel k;
    k.answer = 3;
    auto dev = new_eventfd();
    constexpr std::size_t size = 4096;
    auto mem = new_memfd(size);
    const auto data = pattern(size, 5);
    REQUIRE(::pwrite(mem.get(), data.data(), size, 0) == static_cast<ssize_t>(size));
    std::vector<unique_fd> efds;
    auto ring = must(io::uring::create(4, 2));

    // 60 reads of 8 bytes at distinct offsets, 20 waits on signalled eventfds, 20 ioctls: tag = index.
    std::vector<std::array<std::byte, 8>> bufs(100);  // one per tag; the reads use theirs
    std::vector<decltype(wire::vfio::get_api_version())> reqs(20);
    for (std::uint64_t t = 0; t < 100; ++t) {
        if (t % 5 == 1) {
            efds.emplace_back(::eventfd(static_cast<unsigned>(t), EFD_CLOEXEC));
            must(ring.wait_eventfd(t, efds.back().get()));
        } else if (t % 5 == 3) {
            must(ring.ioctl(t, dev.get(), reqs[t / 5], k.hook()));
        } else {
            must(ring.read(t, mem.get(), std::span(bufs[t]), t * 8));
        }
    }
    CHECK(ring.pending() == 100);
    std::map<std::uint64_t, int> seen;
    std::size_t most_in_flight = 0;
    std::map<std::uint64_t, io::completion> by_tag;
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (ring.pending() > 0 && std::chrono::steady_clock::now() < until) {
        most_in_flight = std::max(most_in_flight, ring.in_flight());
        must(ring.wait(
            [&](io::completion&& c) {
                most_in_flight = std::max(most_in_flight, ring.in_flight() + 1);
                ++seen[c.tag];
                by_tag.insert_or_assign(c.tag, std::move(c));
            },
            1, 100ms));
    }
    REQUIRE(seen.size() == 100);
    for (auto [tag, n] : seen) {
        CAPTURE(tag);
        CHECK(n == 1);
        auto& c = by_tag.at(tag);
        REQUIRE(c.value);
        if (tag % 5 == 1) {
            CHECK(c.op == io::uring_op::eventfd);
            CHECK(*c.value == tag);
        } else if (tag % 5 == 3) {
            CHECK(c.op == io::uring_op::ioctl);
            CHECK(*c.value == 3);
        } else {
            CHECK(c.op == io::uring_op::read);
            CHECK(*c.value == 8);
            CHECK(std::memcmp(bufs[tag].data(), data.data() + tag * 8, 8) == 0);
        }
    }
    CHECK(k.calls == 20);
    CHECK(most_in_flight <= 4);
    CHECK(most_in_flight >= 1);
}

TEST_CASE("uring: created, moved-from and destroyed rings hold and release their fds", "[uring]") {
    const int before = open_fds();
    {
        auto ring = must(io::uring::create(8, 2));  // the ring and one ring per worker
        CHECK(open_fds() == before + 3);
        CHECK(ring.fd() >= 0);
        io::uring moved = std::move(ring);
        CHECK_FALSE(ring);  // NOLINT(bugprone-use-after-move): a moved-from ring is empty
        CHECK(ring.fd() == -1);
        CHECK(open_fds() == before + 3);
        auto other = must(io::uring::create(4, 0));  // no workers: the ring alone
        CHECK(open_fds() == before + 4);
        moved = std::move(other);  // the old ring and its workers go
        CHECK(open_fds() == before + 1);
        auto v = wire::vfio::get_api_version();
        CHECK(moved.ioctl(1, 0, v).error().field == "workers");
    }
    CHECK(open_fds() == before);
}

TEST_CASE("uring: destruction with requests in flight joins the worker and releases everything", "[uring][ioctl]") {
    const int before = open_fds();
    fake_kernel k;
    k.delay = 100ms;
    k.make_fd = true;
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    unique_fd rd{p[0]}, wr{p[1]};
    auto efd = new_eventfd();
    auto group = new_eventfd();
    const int with_test_fds = open_fds();
    std::vector<decltype(wire::vfio::group_get_device_fd("x").value())> reqs;
    for (int i = 0; i < 5; ++i) reqs.push_back(wire::vfio::group_get_device_fd("0000:00:04.0").value());
    std::array<std::byte, 16> buf{};
    const auto start = std::chrono::steady_clock::now();
    {
        auto ring = must(io::uring::create(8));
        for (std::uint64_t i = 0; i < 5; ++i) must(ring.ioctl(i, group.get(), reqs[i], k.hook()));
        must(ring.wait_eventfd(10, efd.get()));
        must(ring.read(11, rd.get(), std::span(buf), io::uring::current_position));  // the kernel holds buf
        must(ring.submit());
        while (k.started == 0) std::this_thread::sleep_for(1ms);
        CHECK(ring.in_flight() == 7);
    }  // the worker finishes the ioctl it runs (its new fd is closed unread); the other four never run
    CHECK(std::chrono::steady_clock::now() - start >= 100ms);
    CHECK(k.calls == 1);
    CHECK(open_fds() == with_test_fds);
    // Nothing reads the pipe or the eventfd any more.
    REQUIRE(::write(wr.get(), "0123456789abcdef", 16) == 16);
    signal(efd.get(), 2);
    std::array<char, 17> back{};
    REQUIRE(::read(rd.get(), back.data(), 16) == 16);
    CHECK(std::string_view(back.data()) == "0123456789abcdef");
    std::uint64_t v = 0;
    REQUIRE(::eventfd_read(efd.get(), &v) == 0);
    CHECK(v == 2);
    CHECK(std::all_of(buf.begin(), buf.end(), [](std::byte b) { return b == std::byte{0}; }));
    rd.reset();
    wr.reset();
    efd.reset();
    group.reset();
    CHECK(open_fds() == before);
}

TEST_CASE("uring: refusals before the kernel: an ioctl without fd, a moved-from ring, a read of 4 GiB or more",
          "[uring][errors]") {
    auto ring = must(io::uring::create(4));
    auto req = wire::vfio::get_api_version();
    auto bad_fd = ring.ioctl(1, -1, req);
    REQUIRE_FALSE(bad_fd);
    CHECK(bad_fd.error().code == EBADF);
    CHECK(bad_fd.error().field == "fd");
    CHECK(bad_fd.error().ioctl == "VFIO_GET_API_VERSION");
    // a span of 4 GiB + 1 is refused by its length alone: its memory is never touched
    std::byte one{};
    auto huge = ring.read(2, 0, std::span<std::byte>(&one, (std::size_t{1} << 32) + 1), 0);
    REQUIRE_FALSE(huge);
    CHECK(huge.error().code == EINVAL);
    CHECK(huge.error().field == "len");
    CHECK(ring.pending() == 0);
    auto moved = std::move(ring);
    auto s = ring.submit();  // NOLINT(bugprone-use-after-move): the moved-from ring refuses
    REQUIRE_FALSE(s);
    CHECK(s.error().code == EBADF);
    CHECK(s.error().field == "ring");
    auto w = ring.wait([](io::completion&&) {}, 0, 0ns);  // NOLINT(bugprone-use-after-move)
    REQUIRE_FALSE(w);
    CHECK(w.error().code == EBADF);
    CHECK(moved.depth() == 4);
}

TEST_CASE("uring: io_uring_enter failing (the ring fd replaced behind its back) reaches the caller; nothing is lost",
          "[uring][errors]") {
    // Fault injection: /dev/null is dup2()ed onto the ring's fd number. The ring's memory stays mapped, but every
    // io_uring_enter now fails (not an io_uring fd); the destructor closes /dev/null's copy, nothing else.
    auto e1 = new_eventfd(), e2 = new_eventfd(), e3 = new_eventfd(), e4 = new_eventfd();
    vfiopp::unique_fd null_fd{::open("/dev/null", O_RDWR | O_CLOEXEC)};
    REQUIRE(null_fd.get() >= 0);
    auto is_enter_error = [](const error& e) {
        return e.ioctl == "io_uring_enter" && e.origin == error_origin::kernel && e.code != 0;
    };
    SECTION("submit, cancel without room, a queued request without room, wait") {
        auto ring = must(io::uring::create(4));
        must(ring.wait_eventfd(7, e1.get()));
        must(ring.wait_eventfd(9, e2.get()));
        must(ring.wait_eventfd(10, e3.get()));
        REQUIRE(::dup2(null_fd.get(), ring.fd()) == ring.fd());
        auto s = ring.submit();  // three SQEs placed, the kernel takes none
        REQUIRE_FALSE(s);
        CHECK(is_enter_error(s.error()));
        CHECK(s.error().field == "to_submit");
        CHECK(must(ring.cancel(7)) == 1);  // the SQ's 4th slot
        auto full = ring.cancel(9);        // no room, and the submit that would make room fails
        REQUIRE_FALSE(full);
        CHECK(is_enter_error(full.error()));
        CHECK(value_of(full.error(), "tag") == 9u);
        must(ring.wait_eventfd(8, e4.get()));
        auto s2 = ring.submit();  // the queued request finds no SQE: it stays queued
        REQUIRE_FALSE(s2);
        CHECK(is_enter_error(s2.error()));
        CHECK(ring.pending() == 4);  // nothing dropped
        auto w = ring.wait([](io::completion&&) {}, 1, 0ns);
        REQUIRE_FALSE(w);
        CHECK(is_enter_error(w.error()));
    }
    SECTION("waiting for a completion fails") {
        auto ring = must(io::uring::create(4));
        must(ring.wait_eventfd(7, e1.get()));
        CHECK(must(ring.submit()) == 1);  // the kernel has it
        REQUIRE(::dup2(null_fd.get(), ring.fd()) == ring.fd());
        auto w = ring.wait([](io::completion&&) {});  // nothing to submit; the wait for a CQE fails
        REQUIRE_FALSE(w);
        CHECK(is_enter_error(w.error()));
        CHECK(w.error().field == "min_complete");
    }
}
