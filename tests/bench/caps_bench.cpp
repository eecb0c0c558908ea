// Host benchmark (issue 14, 1b): walking a capability chain with vfiopp's views (wire/caps.hpp) against a
// hand-written C walker (c_baseline.c) that makes the same checks: the reply at least its struct, only bytes below
// min(size, argsz) read, every capability 4-aligned and past the previous one's fixed part (no loop, nothing
// backwards, no overlap), each fixed part and array inside its capability, counts * element size overflow-checked.
//   iommu_info   VFIO_IOMMU_GET_INFO reply with MIGRATION, DMA_AVAIL and IOVA_RANGE (2 ranges), in the kernel's
//                order; every value of the three is summed
//   region_info  VFIO_DEVICE_GET_REGION_INFO reply with one SPARSE_MMAP of 16 areas; offset + size of each summed
// The library side is the documented use: parse() (which validates the whole chain), then a range-for with
// std::visit (IOMMU info) or find<sparse_mmap_cap>() (region info). Both sides read the reply through a pointer the
// compiler cannot see through (DoNotOptimize each iteration) and hand the status and the sum to the same consume().
// Before timing, both sides are run on the same replies and on broken ones (loop, misaligned, array past the end)
// and must agree on the sum or the errno. Summary lines: tests/bench/bench_report.hpp, section "b cap chains".
// Times are CPU time per request (the machine may be shared); on a busy one run, e.g.,
//   caps_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true --benchmark_enable_random_interleaving=true
// and the summary takes each benchmark's median.
#define VFIOPP_BENCH_ALLOC_COUNT_DEFINE
#include "alloc_count.hpp"
#include "bench_report.hpp"
#include "c_baseline.h"

#include <vfiopp/wire/caps.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <variant>

using namespace vfiopp;

namespace {

[[gnu::always_inline]] inline void consume(long status, std::uint64_t sum) {
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(sum);
    benchmark::ClobberMemory();
}

template <typename... F>
struct overloaded : F... {
    using F::operator()...;
};
template <typename... F>
overloaded(F...) -> overloaded<F...>;

// ---- the replies, laid out as a 7.3 kernel writes them (vfio_info_cap_add: each capability 8-aligned) ----
template <std::size_t N>
struct reply {
    alignas(8) std::array<std::byte, N> bytes{};
    std::size_t size = N;
    template <typename T>
    void put(std::size_t off, const T& v) {
        std::memcpy(bytes.data() + off, &v, sizeof v);
    }
};

constexpr std::size_t iommu_reply_size = 24 + 32 + 16 + 16 + 2 * 16;  // info, migration, dma_avail (12 + 4), iova_range
reply<iommu_reply_size> make_iommu_reply() {
    reply<iommu_reply_size> r;
    uapi::vfio_iommu_type1_info info{};
    info.argsz = iommu_reply_size;
    info.flags = uapi::bitmask<uapi::iommu_info_flag>::from_bits(1u | 2u);  // PGSIZES | CAPS
    info.iova_pgsizes = 0x40201000;
    info.cap_offset = 24;
    r.put(0, info);
    uapi::vfio_iommu_type1_info_cap_migration mig{};
    mig.header = {2, 1, 56};
    mig.flags = 0;
    mig.pgsize_bitmap = 0x40201000;
    mig.max_dirty_bitmap_size = 256u << 20;
    r.put(24, mig);
    uapi::vfio_iommu_type1_info_dma_avail avail{};
    avail.header = {3, 1, 72};
    avail.avail = 65535;
    r.put(56, avail);
    uapi::vfio_info_cap_header h{1, 1, 0};
    r.put(72, h);
    r.put(80, std::uint32_t{2});  // nr_iovas
    r.put(88, uapi::vfio_iova_range{0, 0xfedfffff});
    r.put(104, uapi::vfio_iova_range{0xfef00000, 0xffffffffffff});
    return r;
}

constexpr std::size_t n_areas = 16;
constexpr std::size_t region_reply_size = 32 + 16 + n_areas * 16;
reply<region_reply_size> make_region_reply() {
    reply<region_reply_size> r;
    uapi::vfio_region_info info{};
    info.argsz = region_reply_size;
    info.flags = uapi::bitmask<uapi::region_info_flag>::from_bits(1u | 2u | 4u | 8u);  // READ WRITE MMAP CAPS
    info.index = 0;
    info.cap_offset = 32;
    info.size = 0x100000;
    info.offset = 0;
    r.put(0, info);
    uapi::vfio_info_cap_header h{1, 1, 0};
    r.put(32, h);
    r.put(40, static_cast<std::uint32_t>(n_areas));
    for (std::size_t i = 0; i < n_areas; ++i)
        r.put(48 + 16 * i, uapi::vfio_region_sparse_mmap_area{i * 0x10000, 0x8000});
    return r;
}

// ---- one walk, each side ----
[[gnu::always_inline]] inline void lib_iommu(std::span<const std::byte> bytes, auto&& use) {
    auto chain = wire::iommu_info_chain::parse(bytes);
    if (!chain) return use(-static_cast<long>(chain.error().code), 0);
    std::uint64_t s = 0;
    for (const auto& cap : *chain)
        std::visit(overloaded{[&](const wire::iova_range_cap& c) {
                                  for (auto r : c.ranges) s += r.start + r.end;
                              },
                              [&](const wire::migration_cap& c) {
                                  s += c.value.flags + c.value.pgsize_bitmap + c.value.max_dirty_bitmap_size;
                              },
                              [&](const wire::dma_avail_cap& c) { s += c.value.avail; },
                              [](const wire::unknown_cap&) {}},
                   cap);
    use(0, s);
}
[[gnu::always_inline]] inline void c_iommu(std::span<const std::byte> bytes, auto&& use) {
    std::uint64_t s = 0;
    const int rc = c_walk_iommu_info(bytes.data(), bytes.size(), &s);
    use(rc, rc == 0 ? s : 0);
}

[[gnu::always_inline]] inline void lib_region(std::span<const std::byte> bytes, auto&& use) {
    auto chain = wire::region_info_chain::parse(bytes);
    if (!chain) return use(-static_cast<long>(chain.error().code), 0);
    std::uint64_t s = 0;
    if (auto sparse = chain->find<wire::sparse_mmap_cap>())
        for (auto a : sparse->areas) s += a.offset + a.size;
    use(0, s);
}
[[gnu::always_inline]] inline void c_region(std::span<const std::byte> bytes, auto&& use) {
    std::uint64_t s = 0;
    const int rc = c_walk_region_info(bytes.data(), bytes.size(), &s);
    use(rc, rc == 0 ? s : 0);
}

const auto iommu_reply = make_iommu_reply();
const auto region_reply = make_region_reply();

#define VFIOPP_BENCH_WALK(NAME, REPLY, LIB, C)                                                   \
    void BM_##NAME##_lib(benchmark::State& state) {                                             \
        const std::byte* p = REPLY.bytes.data();                                                 \
        std::size_t n = REPLY.size;                                                              \
        for (auto _ : state) {                                                                   \
            benchmark::DoNotOptimize(p);                                                         \
            benchmark::DoNotOptimize(n);                                                         \
            LIB(std::span<const std::byte>(p, n), consume);                                      \
        }                                                                                        \
    }                                                                                            \
    void BM_##NAME##_c(benchmark::State& state) {                                               \
        const std::byte* p = REPLY.bytes.data();                                                 \
        std::size_t n = REPLY.size;                                                              \
        for (auto _ : state) {                                                                   \
            benchmark::DoNotOptimize(p);                                                         \
            benchmark::DoNotOptimize(n);                                                         \
            C(std::span<const std::byte>(p, n), consume);                                        \
        }                                                                                        \
    }                                                                                            \
    BENCHMARK(BM_##NAME##_lib);                                                                  \
    BENCHMARK(BM_##NAME##_c);

VFIOPP_BENCH_WALK(iommu_info_3_caps, iommu_reply, lib_iommu, c_iommu)
VFIOPP_BENCH_WALK(region_info_sparse_16, region_reply, lib_region, c_region)
#undef VFIOPP_BENCH_WALK

// ---- both sides agree, also on broken chains ----
struct outcome {
    long status = 0;
    std::uint64_t sum = 0;
};
template <typename R>
bool same(const char* what, const R& r, auto lib, auto c, bool expect_error) {
    outcome a, b;
    std::span<const std::byte> bytes(r.bytes.data(), r.size);
    lib(bytes, [&](long st, std::uint64_t s) { a = {st, s}; });
    c(bytes, [&](long st, std::uint64_t s) { b = {st, s}; });
    if (a.status == b.status && a.sum == b.sum && (a.status != 0) == expect_error) return true;
    std::fprintf(stderr, "caps_bench: %s: library %ld/%llu, C %ld/%llu\n", what, a.status,
                 static_cast<unsigned long long>(a.sum), b.status, static_cast<unsigned long long>(b.sum));
    return false;
}

bool check_pairs() {
    auto li = [](auto b, auto&& u) { lib_iommu(b, u); };
    auto ci = [](auto b, auto&& u) { c_iommu(b, u); };
    auto lr = [](auto b, auto&& u) { lib_region(b, u); };
    auto cr = [](auto b, auto&& u) { c_region(b, u); };
    bool ok = same("iommu info", iommu_reply, li, ci, false) && same("region info", region_reply, lr, cr, false);
    {
        auto r = iommu_reply;  // DMA_AVAIL's next points back at MIGRATION: a loop
        r.put(56, uapi::vfio_info_cap_header{3, 1, 24});
        ok &= same("iommu info loop", r, li, ci, true);
    }
    {
        auto r = iommu_reply;  // MIGRATION's next is misaligned
        r.put(24, uapi::vfio_info_cap_header{2, 1, 58});
        ok &= same("iommu info misaligned", r, li, ci, true);
    }
    {
        auto r = iommu_reply;  // next inside MIGRATION's fixed part
        r.put(24, uapi::vfio_info_cap_header{2, 1, 40});
        ok &= same("iommu info overlap", r, li, ci, true);
    }
    {
        auto r = region_reply;  // one area more than the reply holds
        r.put(40, static_cast<std::uint32_t>(n_areas + 1));
        ok &= same("region info areas past the end", r, lr, cr, true);
    }
    {
        auto r = region_reply;  // argsz cuts the reply short
        r.put(0, static_cast<std::uint32_t>(region_reply_size - 16));
        ok &= same("region info argsz short", r, lr, cr, true);
    }
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    if (!check_pairs()) return 1;

    const std::span<const std::byte> ib(iommu_reply.bytes.data(), iommu_reply.size);
    const std::span<const std::byte> rb(region_reply.bytes.data(), region_reply.size);
    const std::string a_iommu = bench::alloc_text(bench::allocations_per_call(1000, [&] { lib_iommu(ib, consume); }));
    const std::string a_region = bench::alloc_text(bench::allocations_per_call(1000, [&] { lib_region(rb, consume); }));

    bench::summary_reporter rep{true};  // CPU time: the machine may be shared
    benchmark::RunSpecifiedBenchmarks(&rep);

    const char* s = "b cap chains";
    rep.ratio(s, "IOMMU_GET_INFO 3 caps: iommu_info_chain parse + visit / C walk", "BM_iommu_info_3_caps_lib",
              "BM_iommu_info_3_caps_c", 1.10);
    rep.ratio(s, "REGION_INFO SPARSE_MMAP 16 areas: region_info_chain parse + find / C walk",
              "BM_region_info_sparse_16_lib", "BM_region_info_sparse_16_c", 1.10);
    bench::fact(s, "IOMMU_GET_INFO walk heap allocations", a_iommu);
    bench::fact(s, "REGION_INFO walk heap allocations", a_region);
    bench::fact(s, "sums and errnos identical to the C walker's (5 broken chains)", "yes");
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
