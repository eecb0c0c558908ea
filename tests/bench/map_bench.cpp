// VM benchmark (issue 14, 1c): DMA MAP + UNMAP loops through the library's objects against raw ioctl(2) in C, on
// both backends, inside the emulated VT-d guest (TCG) started by tests/vm/run (7.3 kernel: edu[0] on a type1
// container through its group, edu[1] on an IOAS through its cdev). Per backend and size (4 KiB, 2 MiB):
//   c       raw ioctl(2) with the kernel's structs filled by hand, a fixed IOVA (the baseline);
//   objects dma_space::map -> dma_mapping, then dma_mapping::unmap, at the same caller-chosen IOVA (goal <= 1.02x);
//   alloc   the same with the library's iova_allocator choosing the IOVA (allocate ... release) (goal <= 1.05x).
// Every iteration pins and unpins the pages in the kernel, so the pair costs what the kernel costs plus what the
// library adds. Prints the common summary lines (tests/bench/bench_report.hpp); nothing fails on a ratio.
#include <vfiopp/dma_space.hpp>
#include <vfiopp/iova_allocator.hpp>

#include "bench_report.hpp"

#include <benchmark/benchmark.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using namespace vfiopp;

namespace {

std::vector<std::string> env_list(const char* name) {
    std::vector<std::string> out;
    const char* v = std::getenv(name);
    std::istringstream in(v ? v : "");
    for (std::string s; in >> s;) out.push_back(s);
    return out;
}
template <typename T>
T must(result<T> r, const char* what) {
    if (!r) {
        std::fprintf(stderr, "map_bench: %s: %.*s %.*s errno %d\n", what, static_cast<int>(r.error().ioctl.size()),
                     r.error().ioctl.data(), static_cast<int>(r.error().field.size()), r.error().field.data(),
                     r.error().code);
        std::exit(1);
    }
    return std::move(*r);
}

constexpr std::uint64_t fixed_iova = 64u << 20;  // 2 MiB aligned, inside both spaces' usable ranges

struct space_env {
    std::optional<dma_space> space;
    std::optional<device> dev;
    std::optional<iova_allocator> alloc;
    int fd = -1;            // container fd (type1) or iommufd fd
    std::uint32_t ioas = 0;  // iommufd: the IOAS id
};
space_env type1_env, ioas_env;
void* ram = nullptr;  // 2 MiB, populated, 2 MiB aligned
constexpr std::uint64_t ram_size = 2u << 20;

void setup_space(space_env& e, backend b, const std::string& dev) {
    e.space.emplace(must(dma_space::open(b), "dma_space::open"));
    e.dev.emplace(must(e.space->open_device(dev), "open device"));
    auto r = must(e.space->iova_ranges(), "iova ranges");
    e.alloc.emplace(must(iova_allocator::create(r.ranges, r.alignment), "iova_allocator"));
    if (b == backend::type1) {
        e.fd = e.space->type1()->fd();
    } else {
        e.fd = e.space->context()->fd();
        e.ioas = e.space->ioas()->id();
    }
}

// ---- baselines: raw ioctl(2) ----
void BM_type1_c(benchmark::State& st) {
    const auto size = static_cast<std::uint64_t>(st.range(0));
    vfio_iommu_type1_dma_map m{};
    m.argsz = sizeof m;
    m.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
    m.vaddr = reinterpret_cast<std::uintptr_t>(ram);
    m.iova = fixed_iova;
    m.size = size;
    vfio_iommu_type1_dma_unmap u{};
    for (auto _ : st) {
        if (::ioctl(type1_env.fd, VFIO_IOMMU_MAP_DMA, &m) != 0) st.SkipWithError("map");
        u.argsz = sizeof u;
        u.flags = 0;
        u.iova = fixed_iova;
        u.size = size;
        if (::ioctl(type1_env.fd, VFIO_IOMMU_UNMAP_DMA, &u) != 0 || u.size != size) st.SkipWithError("unmap");
    }
}
void BM_ioas_c(benchmark::State& st) {
    const auto size = static_cast<std::uint64_t>(st.range(0));
    for (auto _ : st) {
        iommu_ioas_map m{};
        m.size = sizeof m;
        m.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
        m.ioas_id = ioas_env.ioas;
        m.user_va = reinterpret_cast<std::uintptr_t>(ram);
        m.length = size;
        m.iova = fixed_iova;
        if (::ioctl(ioas_env.fd, IOMMU_IOAS_MAP, &m) != 0) st.SkipWithError("map");
        iommu_ioas_unmap u{};
        u.size = sizeof u;
        u.ioas_id = ioas_env.ioas;
        u.iova = fixed_iova;
        u.length = size;
        if (::ioctl(ioas_env.fd, IOMMU_IOAS_UNMAP, &u) != 0 || u.length != size) st.SkipWithError("unmap");
    }
}

// ---- the library's objects ----
void objects(benchmark::State& st, space_env& e) {
    const auto size = static_cast<std::uint64_t>(st.range(0));
    for (auto _ : st) {
        auto m = e.space->map(ram, fixed_iova, size);
        if (!m) {
            st.SkipWithError("map");
            break;
        }
        if (!m->unmap()) st.SkipWithError("unmap");
    }
}
void alloc(benchmark::State& st, space_env& e) {
    const auto size = static_cast<std::uint64_t>(st.range(0));
    for (auto _ : st) {
        auto iova = e.alloc->allocate(size);
        if (!iova) {
            st.SkipWithError("allocate");
            break;
        }
        auto m = e.space->map(ram, *iova, size);
        if (!m) {
            st.SkipWithError("map");
            break;
        }
        if (!m->unmap() || !e.alloc->release(*iova, size)) st.SkipWithError("unmap");
    }
}
void BM_type1_objects(benchmark::State& st) { objects(st, type1_env); }
void BM_type1_alloc(benchmark::State& st) { alloc(st, type1_env); }
void BM_ioas_objects(benchmark::State& st) { objects(st, ioas_env); }
void BM_ioas_alloc(benchmark::State& st) { alloc(st, ioas_env); }

}  // namespace

// Registered size by size, baseline first, so that a slow phase of the host hits a baseline and its paths alike.
#define VFIOPP_MAP_BENCH(size)                                                      \
    BENCHMARK(BM_type1_c)->Arg(size)->Unit(benchmark::kNanosecond);                 \
    BENCHMARK(BM_type1_objects)->Arg(size)->Unit(benchmark::kNanosecond);           \
    BENCHMARK(BM_type1_alloc)->Arg(size)->Unit(benchmark::kNanosecond);             \
    BENCHMARK(BM_ioas_c)->Arg(size)->Unit(benchmark::kNanosecond);                  \
    BENCHMARK(BM_ioas_objects)->Arg(size)->Unit(benchmark::kNanosecond);            \
    BENCHMARK(BM_ioas_alloc)->Arg(size)->Unit(benchmark::kNanosecond)
VFIOPP_MAP_BENCH(4096);
VFIOPP_MAP_BENCH(2 << 20);

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    auto edu = env_list("VFIOPP_EDU");
    if (edu.size() < 2) {
        std::fprintf(stderr, "map_bench: needs two edu devices in VFIOPP_EDU (run inside tests/vm/run)\n");
        return 1;
    }
    ram = ::mmap(nullptr, 2 * ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (ram == MAP_FAILED) return 1;
    ram = reinterpret_cast<void*>((reinterpret_cast<std::uintptr_t>(ram) + ram_size - 1) & ~(ram_size - 1));
    setup_space(type1_env, backend::type1, edu[0]);
    setup_space(ioas_env, backend::iommufd, edu[1]);

    bench::summary_reporter rep;
    benchmark::RunSpecifiedBenchmarks(&rep);
    std::printf("\nmap_bench summary (time per MAP + UNMAP pair; ratio = library / raw C ioctl)\n");
    for (const char* size : {"4096", "2097152"}) {
        const std::string s = size, label = s == "4096" ? "4 KiB" : "2 MiB";
        for (const char* b : {"type1", "ioas"}) {
            const std::string base = std::string("BM_") + b + "_c/" + s;
            rep.ratio("c VM map+unmap", (std::string(b) + " " + label + ": objects / C").c_str(),
                      std::string("BM_") + b + "_objects/" + s, base, 1.02);
            rep.ratio("c VM map+unmap", (std::string(b) + " " + label + ": objects + iova_allocator / C").c_str(),
                      std::string("BM_") + b + "_alloc/" + s, base, 1.05);
        }
    }
    return 0;
}
