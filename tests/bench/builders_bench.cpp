// Host benchmark (issue 14, 1a): building and serializing requests with vfiopp's wire builders against hand-written
// C (c_baseline.c, c_baseline_nesting.c: compiled as C, filling the kernel's own structs with the same checks). No
// device, no syscall: only the image a submit would hand to ioctl(2).
//   map_dma    VFIO_IOMMU_MAP_DMA              wire::vfio::iommu_map_dma
//   bind       VFIO_IOMMU_NESTING_OP (v7)      wire::nesting_op<abi::v7>(wire::bind_pgtbl{...})   (2020 proposal)
//   invalidate IOMMU_HWPT_INVALIDATE, 64 VT-d  wire::iommufd::hwpt_invalidate (entries are pointed to, not copied)
//   set_irqs   VFIO_DEVICE_SET_IRQS, 32 fds    wire::vfio::set_irqs_eventfds<irq_trigger> into a set_irqs_request<32>
// Both sides build into a request that lives in the loop body (the library's request object, the C's stack buffer),
// read their inputs from memory the compiler cannot see through (DoNotOptimize on the inputs each iteration) and
// hand the status, the image's address and its size to the same consume(), which makes the image's bytes
// observable (ClobberMemory). The C functions are linked with link-time optimization when CMake supports it for the
// compiler (so that C can be inlined into the loop just as the header-only builders are); the `fact` line says
// whether it was.
//
// Before timing, each pair is run on the same inputs and the images compared byte for byte (and refused inputs, for
// the pairs where one can be made in memory, for the same errno): the program fails when they differ. Heap allocations per request are counted
// (alloc_count.hpp) and printed as `fact` lines. Summary lines: tests/bench/bench_report.hpp, section "a builders".
// Times are CPU time per request (the machine may be shared); on a busy one run, e.g.,
//   builders_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true --benchmark_enable_random_interleaving=true
// and the summary takes each benchmark's median.
#define VFIOPP_BENCH_ALLOC_COUNT_DEFINE
#include "alloc_count.hpp"
#include "bench_report.hpp"
#include "c_baseline.h"

#include <vfiopp/wire/iommufd.hpp>
#include <vfiopp/wire/nesting.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>

using namespace vfiopp;
namespace wv = vfiopp::wire::vfio;

namespace {

/// What both sides do with what they built: the status, the image's address and its size become observable, and
/// so do the image's bytes (the asm statements may read any memory).
[[gnu::always_inline]] inline void consume(long status, const void* image, std::size_t size) {
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(image);
    benchmark::DoNotOptimize(size);
    benchmark::ClobberMemory();
}

// ---- inputs (read through DoNotOptimize each iteration, on both sides) ----
struct map_in {
    std::uint64_t vaddr = 0x7f0000000000;
    std::uint64_t iova = 0x100000;
    std::uint64_t size = 0x200000;
    std::uint32_t flags = 3;  // READ | WRITE
};

uapi::iommu_gpasid_bind_data make_bind() {
    uapi::iommu_gpasid_bind_data b{};
    b.format = uapi::iommu_pasid_format::intel_vtd;
    b.addr_width = 48;
    b.flags = uapi::iommu_gpasid_bind_flag::gpasid_val;
    b.gpgd = 0x12345000;
    b.hpasid = 0x42;
    b.gpasid = 0x7;
    b.vendor.vtd.flags = uapi::iommu_gpasid_vtd_flag::sre | uapi::iommu_gpasid_vtd_flag::eafe;
    b.vendor.vtd.pat = 0x00070406u;
    b.vendor.vtd.emt = 0;
    return b;
}
struct bind_in {
    uapi::iommu_gpasid_bind_data data = make_bind();
};

constexpr std::size_t n_inv = 64;
struct inv_in {
    std::array<uapi::iommu_hwpt_vtd_s1_invalidate, n_inv> entries{};
    std::uint32_t hwpt_id = 7;
    inv_in() {
        for (std::size_t i = 0; i < entries.size(); ++i) {
            entries[i].addr = 0x100000 + i * 0x1000;
            entries[i].npages = 1;
        }
    }
};

constexpr std::size_t n_fds = 32;
struct irqs_in {
    std::array<int, n_fds> fds{};
    std::uint32_t index = 2;  // VFIO_PCI_MSIX_IRQ_INDEX
    std::uint32_t start = 0;
    irqs_in() {
        for (std::size_t i = 0; i < fds.size(); ++i) fds[i] = static_cast<int>(10 + i);
    }
};

// ---- one request, each side; the benchmarks and the checks below call these. Both sides are forced inline into the
// loop alike (the header-only builders and, with LTO, the C functions are then inlined into them or not on their
// own merits).
template <typename In>
[[gnu::always_inline]] inline void lib_map_dma(In& in, auto&& use) {
    auto r = wv::iommu_map_dma(in.vaddr, in.iova, in.size,
                               uapi::bitmask<uapi::map_dma_flag>::from_bits(in.flags));
    if (r) use(static_cast<long>(r->size()), r->ioctl_arg(), r->size());
    else use(-static_cast<long>(r.error().code), nullptr, 0);
}
template <typename In>
[[gnu::always_inline]] inline void c_map(In& in, auto&& use) {
    alignas(8) unsigned char buf[32];
    const long n = c_map_dma(buf, in.vaddr, in.iova, in.size, in.flags);
    if (n > 0) use(n, buf, static_cast<std::size_t>(n));
    else use(n, nullptr, 0);
}

template <typename In>
[[gnu::always_inline]] inline void lib_bind(In& in, auto&& use) {
    auto r = wire::nesting_op<uapi::abi::v7>(wire::bind_pgtbl{in.data});
    if (r) use(static_cast<long>(r->size()), r->ioctl_arg(), r->size());
    else use(-static_cast<long>(r.error().code), nullptr, 0);
}
template <typename In>
[[gnu::always_inline]] inline void c_bind(In& in, auto&& use) {
    alignas(8) unsigned char buf[80];
    const long n = c_nesting_bind_v7(buf, &in.data);
    if (n > 0) use(n, buf, static_cast<std::size_t>(n));
    else use(n, nullptr, 0);
}

template <typename In>
[[gnu::always_inline]] inline void lib_invalidate(In& in, auto&& use) {
    auto r = wire::iommufd::hwpt_invalidate(in.hwpt_id, std::span<const uapi::iommu_hwpt_vtd_s1_invalidate>(in.entries));
    if (r) use(static_cast<long>(r->size()), r->ioctl_arg(), r->size());
    else use(-static_cast<long>(r.error().code), nullptr, 0);
}
template <typename In>
[[gnu::always_inline]] inline void c_invalidate(In& in, auto&& use) {
    alignas(8) unsigned char buf[32];
    const long n = c_hwpt_invalidate_vtd(buf, in.hwpt_id, in.entries.data(), in.entries.size());
    if (n > 0) use(n, buf, static_cast<std::size_t>(n));
    else use(n, nullptr, 0);
}

template <typename In>
[[gnu::always_inline]] inline void lib_set_irqs(In& in, auto&& use) {
    wv::set_irqs_request<n_fds> r;
    auto st = wv::set_irqs_eventfds<wv::irq_trigger>(r, in.index, in.start,
                                                     std::span<const int>(in.fds));
    if (st) use(static_cast<long>(r.size()), r.ioctl_arg(), r.size());
    else use(-static_cast<long>(st.error().code), nullptr, 0);
}
template <typename In>
[[gnu::always_inline]] inline void c_set_irqs(In& in, auto&& use) {
    alignas(8) unsigned char buf[20 + 4 * n_fds];
    const long n = c_set_irqs_eventfds(buf, sizeof buf, in.index, in.start, in.fds.data(), in.fds.size());
    if (n > 0) use(n, buf, static_cast<std::size_t>(n));
    else use(n, nullptr, 0);
}

// ---- the benchmarks ----
#define VFIOPP_BENCH_PAIR(NAME, IN, LIB, C)                       \
    void BM_##NAME##_lib(benchmark::State& state) {              \
        IN in;                                                    \
        for (auto _ : state) {                                    \
            benchmark::DoNotOptimize(in);                         \
            LIB(in, consume);                                     \
        }                                                         \
    }                                                             \
    void BM_##NAME##_c(benchmark::State& state) {                \
        IN in;                                                    \
        for (auto _ : state) {                                    \
            benchmark::DoNotOptimize(in);                         \
            C(in, consume);                                       \
        }                                                         \
    }                                                             \
    BENCHMARK(BM_##NAME##_lib);                                   \
    BENCHMARK(BM_##NAME##_c);

VFIOPP_BENCH_PAIR(map_dma, map_in, lib_map_dma, c_map)
VFIOPP_BENCH_PAIR(nesting_bind, bind_in, lib_bind, c_bind)
VFIOPP_BENCH_PAIR(hwpt_invalidate_64, inv_in, lib_invalidate, c_invalidate)
VFIOPP_BENCH_PAIR(set_irqs_32, irqs_in, lib_set_irqs, c_set_irqs)
#undef VFIOPP_BENCH_PAIR

// ---- same bytes, same refusals ----
struct captured {
    long status = 0;
    std::string bytes;
};
auto capture(captured& c) {
    return [&c](long status, const void* image, std::size_t size) {
        c.status = status;
        c.bytes.assign(static_cast<const char*>(image ? image : ""), image ? size : 0);
    };
}
template <typename In>
bool same(const char* what, In in, auto lib, auto c) {
    captured a, b;
    lib(in, capture(a));
    c(in, capture(b));
    if (a.status == b.status && a.bytes == b.bytes) return true;
    std::fprintf(stderr, "builders_bench: %s: library and C differ (status %ld / %ld, %zu / %zu bytes)\n", what, a.status,
                 b.status, a.bytes.size(), b.bytes.size());
    return false;
}

bool check_pairs() {
    bool ok = true;
    map_in m;
    ok &= same("map_dma", m, [](auto& i, auto&& u) { lib_map_dma(i, u); }, [](auto& i, auto&& u) { c_map(i, u); });
    m.size = 0;  // EINVAL
    ok &= same("map_dma size 0", m, [](auto& i, auto&& u) { lib_map_dma(i, u); }, [](auto& i, auto&& u) { c_map(i, u); });
    m.size = 0x1000;
    m.iova = ~std::uint64_t{0};  // EOVERFLOW
    ok &= same("map_dma wrap", m, [](auto& i, auto&& u) { lib_map_dma(i, u); }, [](auto& i, auto&& u) { c_map(i, u); });
    bind_in b;
    ok &= same("nesting bind", b, [](auto& i, auto&& u) { lib_bind(i, u); }, [](auto& i, auto&& u) { c_bind(i, u); });
    b.data.hpasid = 0;  // EINVAL
    ok &= same("nesting bind hpasid 0", b, [](auto& i, auto&& u) { lib_bind(i, u); }, [](auto& i, auto&& u) { c_bind(i, u); });
    inv_in v;
    ok &= same("hwpt invalidate", v, [](auto& i, auto&& u) { lib_invalidate(i, u); }, [](auto& i, auto&& u) { c_invalidate(i, u); });
    irqs_in q;
    ok &= same("set_irqs", q, [](auto& i, auto&& u) { lib_set_irqs(i, u); }, [](auto& i, auto&& u) { c_set_irqs(i, u); });
    q.fds[5] = -2;  // EINVAL
    ok &= same("set_irqs fd -2", q, [](auto& i, auto&& u) { lib_set_irqs(i, u); }, [](auto& i, auto&& u) { c_set_irqs(i, u); });
    q.fds[5] = 3;
    q.start = 0xfffffff0u;  // EOVERFLOW
    ok &= same("set_irqs start wraps", q, [](auto& i, auto&& u) { lib_set_irqs(i, u); }, [](auto& i, auto&& u) { c_set_irqs(i, u); });
    return ok;
}

template <typename In, typename F>
std::string allocs(F f) {
    In in;
    return bench::alloc_text(bench::allocations_per_call(1000, [&] { f(in, consume); }));
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    if (!check_pairs()) return 1;

    // counted before timing, so that nothing else runs in between
    const std::string a_map = allocs<map_in>([](auto& i, auto&& u) { lib_map_dma(i, u); });
    const std::string a_bind = allocs<bind_in>([](auto& i, auto&& u) { lib_bind(i, u); });
    const std::string a_inv = allocs<inv_in>([](auto& i, auto&& u) { lib_invalidate(i, u); });
    const std::string a_irqs = allocs<irqs_in>([](auto& i, auto&& u) { lib_set_irqs(i, u); });
    const std::string c_all = allocs<map_in>([](auto& i, auto&& u) { c_map(i, u); });

    bench::summary_reporter rep{true};  // CPU time: the machine may be shared
    benchmark::RunSpecifiedBenchmarks(&rep);

    const char* s = "a builders";
    rep.ratio(s, "MAP_DMA image: wire::vfio::iommu_map_dma / C", "BM_map_dma_lib", "BM_map_dma_c", 1.05);
    rep.ratio(s, "NESTING_OP v7 bind: wire::nesting_op / C", "BM_nesting_bind_lib", "BM_nesting_bind_c", 1.05);
    rep.ratio(s, "HWPT_INVALIDATE 64 VT-d entries: wire::iommufd::hwpt_invalidate / C", "BM_hwpt_invalidate_64_lib",
              "BM_hwpt_invalidate_64_c", 1.05);
    rep.ratio(s, "SET_IRQS 32 eventfds: wire::vfio::set_irqs_eventfds / C", "BM_set_irqs_32_lib", "BM_set_irqs_32_c", 1.05);
    bench::fact(s, "MAP_DMA heap allocations per request", a_map);
    bench::fact(s, "NESTING_OP bind heap allocations per request", a_bind);
    bench::fact(s, "HWPT_INVALIDATE heap allocations per request", a_inv);
    bench::fact(s, "SET_IRQS heap allocations per request", a_irqs);
    bench::fact(s, "C baseline (MAP_DMA) heap allocations per request", c_all);
    bench::fact(s, "images identical to the C baseline's (and refusals' errno)", "yes");
    bench::fact(s, "time per request", "CPU time (median of the repetitions with --benchmark_repetitions)");
#if defined(VFIOPP_BENCH_LTO)
    bench::fact(s, "C baseline linked with LTO (inlinable like the headers)", "yes");
#else
    bench::fact(s, "C baseline linked with LTO (inlinable like the headers)", "no: every C call is a function call");
#endif
#if defined(__clang__)
    bench::fact(s, "compiler", "clang " __clang_version__);
#elif defined(__GNUC__)
    bench::fact(s, "compiler", "g++ " __VERSION__);
#endif
    benchmark::Shutdown();
    return 0;
}
