// io::coroutines and io::uring_task (io/uring_coro.hpp) on the host's io_uring: coroutines awaiting eventfd waits,
// reads, writes and an offloaded ioctl on one ring, other completions handed to the caller, a request the ring
// refuses resuming at once with its error, and a coroutine destroyed while it waits (its request cancelled, its
// late completion dropped).
#include <vfiopp/io/uring_coro.hpp>
#include <vfiopp/wire/vfio.hpp>

#include "unit_support.hpp"

#include <catch2/catch_test_macros.hpp>

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

using namespace vfiopp;
using namespace std::chrono_literals;
using unit_support::must;

namespace {

io::uring_task count_signals(io::coroutines& co, int efd, int wanted, std::uint64_t& total, int& rounds) {
    while (rounds < wanted) {
        io::completion c = co_await co.wait_eventfd(efd);
        if (c.cancelled || !c.value) co_return;
        total += *c.value;
        ++rounds;
    }
}

io::uring_task copy_file(io::coroutines& co, int in, int out, std::size_t& copied) {
    std::array<std::byte, 7> chunk{};  // odd-sized, so that the copy takes several rounds
    for (std::uint64_t off = 0;;) {
        io::completion r = co_await co.read(in, chunk, off);
        if (!r.value || *r.value == 0) co_return;
        io::completion w = co_await co.write(out, std::span<const std::byte>(chunk.data(), *r.value), off);
        if (!w.value) co_return;
        off += *w.value;
        copied += *w.value;
    }
}

int api_version_hook(void*, int, unsigned long code, void*) noexcept {
    return code == uapi::vfio::get_api_version.code ? 0 : (errno = ENOTTY, -1);
}

io::uring_task ask_version(io::coroutines& co, int fd, int& version) {
    auto req = wire::vfio::get_api_version();
    io::completion c = co_await co.ioctl(fd, req, {&api_version_hook, nullptr});
    auto r = c.reply(req);
    version = r ? *r : -1;
}

io::uring_task read_bad_fd(io::coroutines& co, int& code, bool& suspended_never) {
    std::array<std::byte, 4> b{};
    const auto before = co.waiting();
    io::completion c = co_await co.read(-1, b, 0);
    suspended_never = co.waiting() == before;
    code = c.value ? 0 : c.value.error().code;
}

}  // namespace

TEST_CASE("uring coroutines: eventfd waits, a file copy and an offloaded ioctl on one ring; others to the caller",
          "[uring][coro]") {
    auto ring = must(io::uring::create(8));
    io::coroutines co{ring};
    auto efd = unit_support::new_eventfd();
    vfiopp::unique_fd in{::memfd_create("in", MFD_CLOEXEC)}, out{::memfd_create("out", MFD_CLOEXEC)};
    const std::string text = "the migration stream, in odd-sized chunks";
    REQUIRE(::pwrite(in.get(), text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()));

    std::uint64_t total = 0;
    int rounds = 0, version = -2;
    std::size_t copied = 0;
    auto a = count_signals(co, efd.get(), 3, total, rounds);
    auto b = copy_file(co, in.get(), out.get(), copied);
    auto v = ask_version(co, 3, version);  // any fd: the hook answers
    CHECK_FALSE(a.done());
    // a request of the caller's own on the same ring
    auto other = unit_support::new_eventfd();
    must(ring.wait_eventfd(42, other.get()));
    std::vector<std::uint64_t> others;
    std::uint64_t one = 1;
    int signals = 0;
    for (int i = 0; i < 200 && !(a.done() && b.done() && v.done() && !others.empty()); ++i) {
        if (signals < 3) {
            REQUIRE(::write(efd.get(), &one, sizeof one) == sizeof one);
            ++signals;
        }
        if (i == 5) REQUIRE(::write(other.get(), &one, sizeof one) == sizeof one);
        must(co.run([&](io::completion&& c) { others.push_back(c.tag); }, 1, 100ms));
    }
    CHECK(a.done());
    CHECK(b.done());
    CHECK(v.done());
    CHECK(rounds == 3);
    CHECK(total == 3);
    CHECK(copied == text.size());
    std::string back(text.size(), '\0');
    REQUIRE(::pread(out.get(), back.data(), back.size(), 0) == static_cast<ssize_t>(back.size()));
    CHECK(back == text);
    CHECK(version == 0);
    CHECK(others == std::vector<std::uint64_t>{42});
    CHECK(co.waiting() == 0);
}

TEST_CASE("uring coroutines: a refused request resumes at once with its error; a destroyed waiter is forgotten",
          "[uring][coro]") {
    auto ring = must(io::uring::create(4, 0));
    io::coroutines co{ring};
    int code = 0;
    bool never = false;
    auto t = read_bad_fd(co, code, never);
    CHECK(t.done());  // it never suspended
    CHECK(never);
    CHECK(code == EBADF);

    auto efd = unit_support::new_eventfd();
    std::uint64_t total = 0;
    int rounds = 0;
    {
        auto waiter = count_signals(co, efd.get(), 1, total, rounds);
        must(ring.submit());
        CHECK(co.waiting() == 1);
    }  // destroyed while suspended: its wait is cancelled and forgotten
    CHECK(co.waiting() == 0);
    std::uint64_t one = 1;
    REQUIRE(::write(efd.get(), &one, sizeof one) == sizeof one);
    int delivered_to_caller = 0;
    for (int i = 0; i < 5; ++i) must(co.run([&](io::completion&&) { ++delivered_to_caller; }, 0, 20ms));
    CHECK(delivered_to_caller == 0);  // the cancelled wait's completion was dropped, not handed on
    CHECK(rounds == 0);
    CHECK(ring.pending() == 0);
}
