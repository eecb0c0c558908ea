// VM benchmarks of the io_uring submitter (issue 12), Google Benchmark, run inside the emulated VT-d guest (TCG) by
// tests/vm/run. Each vfiopp path is measured beside a hand-written C baseline in the same run, and the summary
// printed at the end gives the ratios (vfiopp / baseline) that README.md's performance table quotes:
//   (a) interrupt delivery: an MSI raised through edu (a BAR store) and waited for - blocking read(2) on the
//       eventfd (baseline), epoll_wait + read, and the ring (wait_eventfd);
//   (b) ioctl offload: a 4 KiB VFIO_IOMMU_MAP_DMA + UNMAP_DMA pair - raw ioctl(2) with C structs (baseline),
//       io::submit, and the ring (worker thread + IORING_OP_MSG_RING); the goal is ring <= 1.25x direct;
//   (c) region reads: a 4-byte BAR register - pread(2) (baseline), a load from the mmap, and the ring at batch
//       1, 16 and 256 (time per read);
//   (d) data_fd streaming: mtty's migration stream (96 bytes) read to its end - read(2) loop (baseline) and the
//       ring; the device's state changes around each stream are not timed (7.3 kernel with --mtty only).
// Nothing here fails on a ratio: speed goals are reported, not enforced.
#include <vfiopp/dma_space.hpp>
#include <vfiopp/interrupts.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/io/uring.hpp>
#include <vfiopp/migration.hpp>
#include <vfiopp/region.hpp>
#include <vfiopp/wire/vfio.hpp>

#include "bench_report.hpp"

#include <benchmark/benchmark.h>

#include <linux/vfio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using namespace vfiopp;
using vfiopp::uapi::pci_irq_index;
using vfiopp::uapi::pci_region_index;

namespace {

std::vector<std::string> env_list(const char* name) {
    std::vector<std::string> out;
    const char* v = std::getenv(name);
    std::istringstream in(v ? v : "");
    for (std::string s; in >> s;) out.push_back(s);
    return out;
}
[[noreturn]] void die(const std::string& what, const error& e) {
    std::fprintf(stderr, "uring_bench: %s: %.*s errno %d\n", what.c_str(), static_cast<int>(e.ioctl.size()),
                 e.ioctl.data(), e.code);
    std::exit(1);
}
template <typename T>
T must(result<T> r, const char* what) {
    if (!r) die(what, r.error());
    return std::move(*r);
}
void must(result<void> r, const char* what) {
    if (!r) die(what, r.error());
}

constexpr std::uint64_t edu_id = 0x00, edu_irq_raise = 0x60, edu_irq_ack = 0x64;

// The devices every benchmark shares: edu[0] on a type1 container (the backend both kernels have).
struct bench_env {
    std::optional<dma_space> space;
    std::optional<device> dev;
    std::optional<region> bar;
    std::optional<interrupts> msi;
    int msi_fd = -1;   // a blocking eventfd of our own, so that the read(2) baseline can block on it
    int container = -1;
    void* page = nullptr;
};
bench_env* env = nullptr;

void setup() {
    auto edu = env_list("VFIOPP_EDU");
    if (edu.empty()) {
        std::fprintf(stderr, "uring_bench: VFIOPP_EDU is empty (run inside tests/vm/run)\n");
        std::exit(1);
    }
    env = new bench_env;
    env->space.emplace(must(dma_space::open(backend::type1), "dma_space::open(type1)"));
    env->dev.emplace(must(env->space->open_device(edu[0]), "open edu"));
    env->bar.emplace(must(env->dev->region(pci_region_index::bar0), "BAR0"));
    must(env->bar->map(), "map BAR0");
    auto cfg = must(env->dev->region(pci_region_index::config), "config");
    auto cmd = must(cfg.read<std::uint16_t>(4), "command register");
    must(cfg.write<std::uint16_t>(4, static_cast<std::uint16_t>(cmd | 0x6)), "bus master");
    env->msi_fd = ::eventfd(0, EFD_CLOEXEC);  // blocking
    env->msi.emplace(must(env->dev->interrupts(pci_irq_index::msi), "MSI"));
    std::array<int, 1> fds{env->msi_fd};
    must(env->msi->enable(fds), "MSI enable");
    env->container = env->space->type1()->fd();
    env->page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
}

void raise_msi() {
    must(env->bar->write<std::uint32_t>(edu_irq_raise, 0x1), "raise");
}
void ack_msi() {
    must(env->bar->write<std::uint32_t>(edu_irq_ack, 0x1), "ack");
}

// ---- (a) interrupt delivery ----
void BM_msi_read_baseline(benchmark::State& st) {
    std::uint64_t v;
    for (auto _ : st) {
        raise_msi();
        if (::read(env->msi_fd, &v, sizeof v) != sizeof v) st.SkipWithError("read");
        ack_msi();
    }
}
void BM_msi_epoll(benchmark::State& st) {
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = env->msi_fd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, env->msi_fd, &ev);
    std::uint64_t v;
    for (auto _ : st) {
        raise_msi();
        epoll_event out{};
        if (::epoll_wait(ep, &out, 1, 2000) != 1 || ::read(env->msi_fd, &v, sizeof v) != sizeof v) st.SkipWithError("epoll");
        ack_msi();
    }
    ::close(ep);
}
void BM_msi_uring(benchmark::State& st) {
    auto ring = must(io::uring::create(8, 0), "ring");
    std::uint64_t tag = 0;
    for (auto _ : st) {
        must(ring.wait_eventfd(++tag, env->msi_fd), "wait_eventfd");
        must(ring.submit(), "submit");
        raise_msi();
        bool ok = false;
        auto n = ring.wait([&](io::completion&& c) { ok = c.value.has_value(); });
        if (!n || !ok) st.SkipWithError("ring wait");
        ack_msi();
    }
}

// ---- (b) ioctl offload: 4 KiB map + unmap ----
constexpr std::uint64_t bench_iova = 64u << 20;
void BM_map_unmap_c_baseline(benchmark::State& st) {
    vfio_iommu_type1_dma_map m{};
    m.argsz = sizeof m;
    m.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
    m.vaddr = reinterpret_cast<std::uintptr_t>(env->page);
    m.iova = bench_iova;
    m.size = 4096;
    vfio_iommu_type1_dma_unmap u{};
    u.argsz = sizeof u;
    u.iova = bench_iova;
    u.size = 4096;
    for (auto _ : st) {
        if (::ioctl(env->container, VFIO_IOMMU_MAP_DMA, &m) != 0) st.SkipWithError("map");
        u.size = 4096;
        if (::ioctl(env->container, VFIO_IOMMU_UNMAP_DMA, &u) != 0) st.SkipWithError("unmap");
    }
}
void BM_map_unmap_submit(benchmark::State& st) {
    const auto va = reinterpret_cast<std::uintptr_t>(env->page);
    for (auto _ : st) {
        auto m = wire::vfio::iommu_map_dma(va, bench_iova, 4096, uapi::map_dma_flag::read | uapi::map_dma_flag::write);
        if (!m || !io::submit(env->container, *m)) st.SkipWithError("map");
        auto u = wire::vfio::iommu_unmap_dma(bench_iova, 4096);
        if (!u || !io::submit(env->container, *u)) st.SkipWithError("unmap");
    }
}
void BM_map_unmap_uring(benchmark::State& st) {
    auto ring = must(io::uring::create(8, 1), "ring");
    const auto va = reinterpret_cast<std::uintptr_t>(env->page);
    std::uint64_t tag = 0;
    for (auto _ : st) {
        auto m = wire::vfio::iommu_map_dma(va, bench_iova, 4096, uapi::map_dma_flag::read | uapi::map_dma_flag::write).value();
        must(ring.ioctl(++tag, env->container, m), "ioctl map");
        bool ok = false;
        if (!ring.wait([&](io::completion&& c) { ok = c.reply(m).has_value(); }) || !ok) st.SkipWithError("map");
        auto u = wire::vfio::iommu_unmap_dma(bench_iova, 4096).value();
        must(ring.ioctl(++tag, env->container, u), "ioctl unmap");
        if (!ring.wait([&](io::completion&& c) { ok = c.reply(u).has_value(); }) || !ok) st.SkipWithError("unmap");
    }
}

// ---- (c) region reads: a 4-byte BAR register ----
void BM_bar_read_pread_baseline(benchmark::State& st) {
    const int fd = env->dev->fd();
    const auto off = static_cast<off_t>(env->bar->offset() + edu_id);
    std::uint32_t v;
    for (auto _ : st) {
        if (::pread(fd, &v, 4, off) != 4) st.SkipWithError("pread");
        benchmark::DoNotOptimize(v);
    }
    st.SetItemsProcessed(st.iterations());
}
void BM_bar_read_mmap(benchmark::State& st) {
    auto* p = reinterpret_cast<volatile std::uint32_t*>(env->bar->mapped_at(edu_id, 4));
    for (auto _ : st) {
        std::uint32_t v = *p;
        benchmark::DoNotOptimize(v);
    }
    st.SetItemsProcessed(st.iterations());
}
void BM_bar_read_uring(benchmark::State& st) {
    const auto batch = static_cast<std::size_t>(st.range(0));
    auto ring = must(io::uring::create(static_cast<unsigned>(batch), 0), "ring");
    std::vector<std::array<std::byte, 4>> bufs(batch);
    const int fd = env->dev->fd();
    const std::uint64_t off = env->bar->offset() + edu_id;
    for (auto _ : st) {
        for (std::size_t i = 0; i < batch; ++i) must(ring.read(i, fd, bufs[i], off), "read");
        std::size_t done = 0;
        while (done < batch) {
            auto n = ring.wait([&](io::completion&&) { ++done; }, static_cast<unsigned>(batch - done));
            if (!n) {
                st.SkipWithError("wait");
                break;
            }
        }
    }
    st.SetItemsProcessed(st.iterations() * static_cast<std::int64_t>(batch));
    st.counters["batch"] = static_cast<double>(batch);
}

// ---- (d) data_fd streaming (mtty, 7.3) ----
struct mtty_env {
    std::optional<dma_space> space;
    std::optional<device> dev;
    std::optional<migration> mig;
};
mtty_env* mt = nullptr;
int start_stream(benchmark::State& st) {
    st.PauseTiming();
    must(mt->mig->move_to(uapi::device_mig_state::stop_copy), "STOP_COPY");
    st.ResumeTiming();
    return mt->mig->data_fd();
}
void end_stream(benchmark::State& st) {
    st.PauseTiming();
    must(mt->mig->move_to(uapi::device_mig_state::running), "RUNNING");
    st.ResumeTiming();
}
void BM_stream_read_baseline(benchmark::State& st) {
    std::array<std::byte, 32> buf;
    std::int64_t bytes = 0;
    for (auto _ : st) {
        const int fd = start_stream(st);
        for (ssize_t n; (n = ::read(fd, buf.data(), buf.size())) > 0;) bytes += n;
        end_stream(st);
    }
    st.SetBytesProcessed(bytes);
}
void BM_stream_uring(benchmark::State& st) {
    auto ring = must(io::uring::create(4, 0), "ring");
    std::array<std::byte, 32> buf;
    std::int64_t bytes = 0;
    for (auto _ : st) {
        const int fd = start_stream(st);
        for (std::uint64_t n = 1; n > 0;) {
            must(ring.read(1, fd, buf, io::uring::current_position), "read");
            n = 0;
            if (!ring.wait([&](io::completion&& c) { n = c.value ? *c.value : 0; })) st.SkipWithError("wait");
            bytes += static_cast<std::int64_t>(n);
        }
        end_stream(st);
    }
    st.SetBytesProcessed(bytes);
}

}  // namespace

BENCHMARK(BM_msi_read_baseline)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_msi_epoll)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_msi_uring)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_map_unmap_c_baseline)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_map_unmap_submit)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_map_unmap_uring)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_bar_read_pread_baseline)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_bar_read_mmap)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_bar_read_uring)->Arg(1)->Arg(16)->Arg(256)->Unit(benchmark::kNanosecond);

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    setup();
    auto mtty = env_list("VFIOPP_MTTY");
    if (!mtty.empty()) {
        mt = new mtty_env;
        mt->space.emplace(must(dma_space::open(backend::iommufd), "dma_space::open(iommufd)"));
        mt->dev.emplace(must(mt->space->open_device(mtty[0]), "open mtty"));
        mt->mig.emplace(must(migration::open(*mt->dev), "migration"));
        benchmark::RegisterBenchmark("BM_stream_read_baseline", BM_stream_read_baseline)->Unit(benchmark::kNanosecond);
        benchmark::RegisterBenchmark("BM_stream_uring", BM_stream_uring)->Unit(benchmark::kNanosecond);
    }
    bench::summary_reporter rep;
    benchmark::RunSpecifiedBenchmarks(&rep);
    std::printf("\nuring_bench summary (time per interrupt / pair / read / stream; ratio = path / baseline)\n");
    const char* sec = "e io_uring";
    rep.ratio(sec, "MSI: epoll / blocking read", "BM_msi_epoll", "BM_msi_read_baseline");
    rep.ratio(sec, "MSI: ring / blocking read", "BM_msi_uring", "BM_msi_read_baseline");
    rep.ratio(sec, "map+unmap 4 KiB: io::submit / C ioctl", "BM_map_unmap_submit", "BM_map_unmap_c_baseline");
    rep.ratio(sec, "map+unmap 4 KiB: ring / C ioctl", "BM_map_unmap_uring", "BM_map_unmap_c_baseline");
    rep.ratio(sec, "map+unmap 4 KiB: ring / io::submit", "BM_map_unmap_uring", "BM_map_unmap_submit", 1.25);
    rep.ratio(sec, "BAR read: mmap / pread", "BM_bar_read_mmap", "BM_bar_read_pread_baseline");
    rep.ratio(sec, "BAR read: ring batch 1 / pread", "BM_bar_read_uring/1", "BM_bar_read_pread_baseline");
    rep.ratio(sec, "BAR read: ring batch 16 / pread", "BM_bar_read_uring/16", "BM_bar_read_pread_baseline");
    rep.ratio(sec, "BAR read: ring batch 256 / pread", "BM_bar_read_uring/256", "BM_bar_read_pread_baseline");
    rep.ratio(sec, "data_fd stream: ring / read loop", "BM_stream_uring", "BM_stream_read_baseline");
    if (mt) must(mt->mig->move_to(uapi::device_mig_state::running), "RUNNING");
    return 0;
}
