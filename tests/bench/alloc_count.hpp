// alloc_count.hpp - counts heap allocations of a host benchmark program: every global operator new (all forms)
// and, unless the program runs under AddressSanitizer (which owns malloc), every malloc, calloc, realloc,
// aligned_alloc, posix_memalign, memalign, valloc and pvalloc.
//
//   #define VFIOPP_BENCH_ALLOC_COUNT_DEFINE   // in exactly one TU of the program, before including
//   #include "alloc_count.hpp"
//   auto n = bench::allocations_per_call(1000, [&] { auto r = build(); benchmark::DoNotOptimize(r); });
//   bench::fact("a builders", "MAP_DMA heap allocations per request", bench::alloc_text(n));
//
// The malloc family is replaced by definitions that call glibc's __libc_* entry points (glibc supports replacing
// malloc this way); operator new/delete are the usual replaceable functions, on top of malloc.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <string>

namespace bench {

/// Allocations counted so far (operator new and the malloc family).
std::size_t allocations() noexcept;
/// Whether malloc and friends are counted too (false under AddressSanitizer: operator new only).
bool counts_malloc() noexcept;

/// Average number of heap allocations of one call of f, over n calls.
template <typename F>
double allocations_per_call(std::size_t n, F&& f) {
    f();  // first call outside: one-time initialisation (static locals, ...) is not a per-request cost
    const std::size_t before = allocations();
    for (std::size_t i = 0; i < n; ++i) f();
    return static_cast<double>(allocations() - before) / static_cast<double>(n);
}

/// "0" or the average with two decimals, and what was counted.
inline std::string alloc_text(double per_call) {
    char buf[96];
    std::snprintf(buf, sizeof buf, per_call == 0 ? "%.0f (%s)" : "%.2f (%s)", per_call,
                  counts_malloc() ? "operator new + malloc family" : "operator new only: ASan owns malloc");
    return buf;
}

}  // namespace bench

#ifdef VFIOPP_BENCH_ALLOC_COUNT_DEFINE

#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define VFIOPP_BENCH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VFIOPP_BENCH_ASAN 1
#endif
#endif

namespace bench {
namespace {
std::atomic<std::size_t> alloc_counter{0};
inline void count_one() noexcept { alloc_counter.fetch_add(1, std::memory_order_relaxed); }
}  // namespace
std::size_t allocations() noexcept { return alloc_counter.load(std::memory_order_relaxed); }
#if defined(VFIOPP_BENCH_ASAN)
bool counts_malloc() noexcept { return false; }
#else
bool counts_malloc() noexcept { return true; }
#endif
}  // namespace bench

#if !defined(VFIOPP_BENCH_ASAN)
// The malloc family, counted, on glibc's own allocator.
extern "C" {
void* __libc_malloc(std::size_t) noexcept;
void* __libc_calloc(std::size_t, std::size_t) noexcept;
void* __libc_realloc(void*, std::size_t) noexcept;
void* __libc_memalign(std::size_t, std::size_t) noexcept;
void* __libc_valloc(std::size_t) noexcept;
void* __libc_pvalloc(std::size_t) noexcept;
void __libc_free(void*) noexcept;

void* malloc(std::size_t n) noexcept {
    bench::count_one();
    return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t m) noexcept {
    bench::count_one();
    return __libc_calloc(n, m);
}
void* realloc(void* p, std::size_t n) noexcept {
    bench::count_one();
    return __libc_realloc(p, n);
}
void* memalign(std::size_t a, std::size_t n) noexcept {
    bench::count_one();
    return __libc_memalign(a, n);
}
void* aligned_alloc(std::size_t a, std::size_t n) noexcept {
    bench::count_one();
    return __libc_memalign(a, n);
}
int posix_memalign(void** out, std::size_t a, std::size_t n) noexcept {
    bench::count_one();
    if (a < sizeof(void*) || (a & (a - 1)) != 0) return 22;  // EINVAL
    void* p = __libc_memalign(a, n);
    if (!p) return 12;  // ENOMEM
    *out = p;
    return 0;
}
void* valloc(std::size_t n) noexcept {
    bench::count_one();
    return __libc_valloc(n);
}
void* pvalloc(std::size_t n) noexcept {
    bench::count_one();
    return __libc_pvalloc(n);
}
void free(void* p) noexcept { __libc_free(p); }
}  // extern "C"
#endif

// operator new / delete, every replaceable form; counted here only when malloc is not (else each would count twice).
namespace bench::detail {
inline void* counted_new(std::size_t n) {
#if defined(VFIOPP_BENCH_ASAN)
    bench::count_one();
#endif
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc{};
}
inline void* counted_new_aligned(std::size_t n, std::align_val_t a) {
#if defined(VFIOPP_BENCH_ASAN)
    bench::count_one();
#endif
    const auto al = static_cast<std::size_t>(a);
    void* p = std::aligned_alloc(al, (n + al - 1) / al * al);
    if (!p) throw std::bad_alloc{};
    return p;
}
}  // namespace bench::detail

void* operator new(std::size_t n) { return bench::detail::counted_new(n); }
void* operator new[](std::size_t n) { return bench::detail::counted_new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try { return bench::detail::counted_new(n); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    try { return bench::detail::counted_new(n); } catch (...) { return nullptr; }
}
void* operator new(std::size_t n, std::align_val_t a) { return bench::detail::counted_new_aligned(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return bench::detail::counted_new_aligned(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

#endif  // VFIOPP_BENCH_ALLOC_COUNT_DEFINE
