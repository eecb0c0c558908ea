// Concurrency through the objects (issue 14, part 6): two threads map and unmap 10,000 4 KiB mappings each on one
// shared address space, the type1 container of edu's group and the IOAS edu's cdev is attached to, through the
// same dma_space (dma_space::map, dma_mapping::unmap). Every call succeeds, each thread counts exactly 10,000 maps
// and 10,000 unmaps, the container's own count of live mappings is exact while both threads hold theirs and 0
// afterwards, the address space maps nothing at the end (unmap-all: 0 bytes), and fds, VmLck and VmPin are what
// they were. A second variant takes the IOVAs from one vfiopp::iova_allocator shared by both threads: the
// allocator is not thread-safe (iova_allocator.hpp: one owner or a lock; dma_space has none of its own), so the
// test holds a mutex around it, as a VMM must. Runs on every backend the kernel has (Debian 6.1: type1; 7.3 both).
#include <vfiopp/dma_space.hpp>
#include <vfiopp/fmt_error.hpp>
#include <vfiopp/iova_allocator.hpp>

#include "objects_support.hpp"

#include <catch2/catch_test_macros.hpp>
#include <fmt/format.h>

#include <array>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {
using namespace vmtest;
using clock_type = std::chrono::steady_clock;

constexpr unsigned per_thread = 10000;
constexpr std::uint64_t page = 4096;
constexpr std::size_t buffer_pages = 64;  // each thread maps its own 64 pages over and over at distinct IOVAs

struct worker_report {
    unsigned maps = 0, unmaps = 0;
    std::optional<error> first_error;
    std::string where;
    void fail(const error& e, std::string what) {
        if (!first_error) {
            first_error = e;
            where = std::move(what);
        }
    }
};

// Thread t's IOVAs: [256 MiB + t * 128 MiB, + 10,000 pages), below the MSI window of both backends.
constexpr std::uint64_t thread_base(unsigned t) { return 0x10000000ull + t * 0x08000000ull; }

struct resources {
    std::size_t fds = 0;
    long locked_kb = 0, pinned_kb = 0;
    friend bool operator==(const resources&, const resources&) = default;
};
resources held() {
    auto f = measure();  // the mmaps are left out: glibc keeps the stacks of joined threads for reuse
    return {f.fds, f.locked_kb, f.pinned_kb};
}
std::ostream& operator<<(std::ostream& os, const resources& r) {
    return os << "{fds " << r.fds << ", VmLck " << r.locked_kb << " kB, VmPin " << r.pinned_kb << " kB}";
}

std::string report_text(const worker_report& r) {
    return fmt::format("{} maps, {} unmaps, {}", r.maps, r.unmaps,
                       r.first_error ? fmt::format("first error at {}: {}", r.where, *r.first_error) : std::string("no error"));
}

result<std::uint64_t> unmap_everything(dma_space& s) {
    return s.kind() == backend::type1 ? s.type1()->unmap_all() : s.ioas()->unmap_all();
}

}  // namespace

TEST_CASE("vm: two threads map and unmap 10,000 4 KiB mappings each on one shared container / IOAS", "[concurrency]") {
    auto edu = env_list("VFIOPP_EDU");
    REQUIRE(!edu.empty());
    for (backend b : backends()) {
        DYNAMIC_SECTION("backend " << name_of(b)) {
            const resources before = held();
            {
                auto space = dma_space::open(b);
                REQUIRE_OK(space);
                auto dev = space->open_device(edu[0]);
                REQUIRE_OK(dev);
                dma_space& s = *space;
                std::array<worker_report, 2> rep;
                // three parties: both workers and this thread, which counts the live mappings between the phases
                std::barrier sync(3);
                auto body = [&](unsigned t) {
                    worker_report& r = rep[t];
                    page_buffer buf(buffer_pages * page);
                    if (buf.data() != nullptr) std::memset(buf.data(), static_cast<int>(t + 1), buffer_pages * page);
                    std::vector<dma_mapping> live;
                    live.reserve(per_thread);
                    for (unsigned i = 0; i < per_thread && buf.data() != nullptr; ++i) {
                        const std::uint64_t iova = thread_base(t) + i * page;
                        auto m = s.map(buf.data() + (i % buffer_pages) * page, iova, page);
                        if (!m) {
                            r.fail(m.error(), fmt::format("map {} (iova {:#x})", i, iova));
                            break;
                        }
                        ++r.maps;
                        live.push_back(std::move(*m));
                    }
                    sync.arrive_and_wait();  // all mapped: the main thread counts
                    sync.arrive_and_wait();
                    for (auto& m : live) {
                        const std::uint64_t iova = m.iova();
                        if (auto u = m.unmap(); !u) r.fail(u.error(), fmt::format("unmap of iova {:#x}", iova));
                        else ++r.unmaps;
                    }
                };
                const auto t0 = clock_type::now();
                std::thread w0(body, 0u), w1(body, 1u);
                sync.arrive_and_wait();
                const auto t_mapped = clock_type::now();
                const unsigned long live_count = b == backend::type1 ? s.type1()->mappings() : 0;
                sync.arrive_and_wait();
                w0.join();
                w1.join();
                const auto t1 = clock_type::now();
                for (unsigned t = 0; t < 2; ++t) {
                    INFO("thread " << t << ": " << report_text(rep[t]));
                    CHECK(!rep[t].first_error);
                    CHECK(rep[t].maps == per_thread);
                    CHECK(rep[t].unmaps == per_thread);
                }
                if (b == backend::type1) {
                    CHECK(live_count == 2 * per_thread);  // the container counted every mapping of both threads
                    CHECK(s.type1()->mappings() == 0);
                }
                auto left = unmap_everything(s);
                REQUIRE_OK(left);
                CHECK(*left == 0);
                const double map_s = std::chrono::duration<double>(t_mapped - t0).count();
                const double all_s = std::chrono::duration<double>(t1 - t0).count();
                fmt::print("concurrency: {} fixed IOVAs: 2 threads x {} maps + {} unmaps of 4 KiB, {} live at once: "
                           "maps {:.2f} s, all {:.2f} s ({:.1f} us per map+unmap per thread)\n",
                           name_of(b), per_thread, per_thread, live_count ? live_count : 2 * per_thread, map_s, all_s,
                           all_s * 1e6 / per_thread);
                std::fflush(stdout);
            }
            const resources after = held();
            INFO("before " << before << ", after " << after);
            CHECK(after == before);
        }
    }
}

TEST_CASE("vm: two threads map and unmap 10,000 4 KiB mappings each with IOVAs from one shared iova_allocator under a "
          "lock",
          "[concurrency]") {
    auto edu = env_list("VFIOPP_EDU");
    REQUIRE(!edu.empty());
    for (backend b : backends()) {
        DYNAMIC_SECTION("backend " << name_of(b)) {
            const resources before = held();
            {
                auto space = dma_space::open(b);
                REQUIRE_OK(space);
                auto dev = space->open_device(edu[0]);
                REQUIRE_OK(dev);
                dma_space& s = *space;
                auto ranges = s.iova_ranges();  // type1: CAP_IOVA_RANGE (a device is open); iommufd: IOAS_IOVA_RANGES
                REQUIRE_OK(ranges);
                auto alloc = iova_allocator::create(ranges->ranges, ranges->alignment);
                REQUIRE_OK(alloc);
                const std::uint64_t free0 = alloc->free_bytes();
                const std::vector<iova_range> ranges0(alloc->free_ranges().begin(), alloc->free_ranges().end());
                std::mutex alloc_lock;  // the allocator's one lock: both threads take IOVAs from it
                std::array<worker_report, 2> rep;
                constexpr std::size_t window = 16;  // live mappings per thread; IOVAs are reused once released
                auto body = [&](unsigned t) {
                    worker_report& r = rep[t];
                    page_buffer buf(buffer_pages * page);
                    if (buf.data() == nullptr) return;
                    std::memset(buf.data(), static_cast<int>(t + 1), buffer_pages * page);
                    std::deque<dma_mapping> live;
                    auto retire = [&] {
                        dma_mapping& m = live.front();
                        const std::uint64_t iova = m.iova();
                        if (auto u = m.unmap(); !u) r.fail(u.error(), fmt::format("unmap of iova {:#x}", iova));
                        else ++r.unmaps;
                        live.pop_front();
                        std::lock_guard hold(alloc_lock);
                        if (auto rel = alloc->release(iova, page); !rel) r.fail(rel.error(), "iova_allocator::release");
                    };
                    for (unsigned i = 0; i < per_thread && !r.first_error; ++i) {
                        result<std::uint64_t> iova = std::uint64_t{0};
                        {
                            std::lock_guard hold(alloc_lock);
                            iova = alloc->allocate(page);
                        }
                        if (!iova) {
                            r.fail(iova.error(), "iova_allocator::allocate");
                            break;
                        }
                        auto m = s.map(buf.data() + (i % buffer_pages) * page, *iova, page);
                        if (!m) {
                            r.fail(m.error(), fmt::format("map {} (iova {:#x})", i, *iova));
                            std::lock_guard hold(alloc_lock);
                            (void)alloc->release(*iova, page);
                            break;
                        }
                        ++r.maps;
                        live.push_back(std::move(*m));
                        if (live.size() > window) retire();
                    }
                    while (!live.empty()) retire();
                };
                const auto t0 = clock_type::now();
                std::thread w0(body, 0u), w1(body, 1u);
                w0.join();
                w1.join();
                const double all_s = std::chrono::duration<double>(clock_type::now() - t0).count();
                for (unsigned t = 0; t < 2; ++t) {
                    INFO("thread " << t << ": " << report_text(rep[t]));
                    CHECK(!rep[t].first_error);
                    CHECK(rep[t].maps == per_thread);
                    CHECK(rep[t].unmaps == per_thread);
                }
                // every IOVA went back: the allocator is as it started
                CHECK(alloc->free_bytes() == free0);
                CHECK(std::vector<iova_range>(alloc->free_ranges().begin(), alloc->free_ranges().end()) == ranges0);
                if (b == backend::type1) CHECK(s.type1()->mappings() == 0);
                auto left = unmap_everything(s);
                REQUIRE_OK(left);
                CHECK(*left == 0);
                fmt::print("concurrency: {} shared iova_allocator (mutex): 2 threads x {} maps + {} unmaps of 4 KiB, up "
                           "to {} live per thread: {:.2f} s ({:.1f} us per map+unmap per thread)\n",
                           name_of(b), per_thread, per_thread, window + 1, all_s, all_s * 1e6 / per_thread);
                std::fflush(stdout);
            }
            const resources after = held();
            INFO("before " << before << ", after " << after);
            CHECK(after == before);
        }
    }
}
