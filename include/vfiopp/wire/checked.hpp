// vfiopp/wire/checked.hpp - size and address arithmetic that cannot overflow silently.
//
// Every sum or product that ends up in a kernel field (argsz, entry_num * entry_len, iova + length) goes through
// these helpers; an overflow (or a value that does not fit the field's width) is an EOVERFLOW error naming the
// ioctl and the field, detected before the ioctl is issued.
//
//   auto bytes = wire::checked_mul<u32>(n, sizeof(entry), {"IOMMU_HWPT_INVALIDATE", "entry_num"});
//   if (!bytes) return bytes.error();   // EOVERFLOW
#pragma once

#include <vfiopp/error.hpp>

#include <concepts>
#include <cstdint>
#include <string_view>

namespace vfiopp::wire {

/// The ioctl and field a checked computation is for, used to name the error.
struct where {
    std::string_view ioctl;
    std::string_view field;
};

}  // namespace vfiopp::wire

namespace vfiopp::detail {
// The same checks as plain tests, and their errors as refusals, for the builders: a check that returns a result
// puts that result (and the error it may hold) in memory at every use, since the error is made out of line; a bool
// keeps the builder's success path in registers. Each wire::checked_* below is one test and one refusal.

/// a + b fits To (and is stored in out): `u32 end; if (!detail::add_fits(start, count, end)) ...`
template <std::unsigned_integral To, std::integral A, std::integral B>
[[nodiscard]] constexpr bool add_fits(A a, B b, To& out) noexcept {
    return !__builtin_add_overflow(a, b, &out);
}
/// a * b fits To (and is stored in out).
template <std::unsigned_integral To, std::integral A, std::integral B>
[[nodiscard]] constexpr bool mul_fits(A a, B b, To& out) noexcept {
    return !__builtin_mul_overflow(a, b, &out);
}
/// v fits To (and is stored in out).
template <std::unsigned_integral To, std::integral From>
[[nodiscard]] constexpr bool cast_fits(From v, To& out) noexcept {
    return !__builtin_add_overflow(v, 0, &out);
}
/// [start, start + length) stays within the 64-bit address space (length 0 does).
[[nodiscard]] constexpr bool range_fits(std::uint64_t start, std::uint64_t length) noexcept {
    return length == 0 || start + (length - 1) >= start;
}
/// The errors of wire::checked_add, checked_mul, checked_cast and checked_range.
[[nodiscard]] constexpr refusal sum_overflow(wire::where w) noexcept {
    return refused(w.ioctl, w.field, EOVERFLOW, "sum does not fit the field");
}
[[nodiscard]] constexpr refusal product_overflow(wire::where w) noexcept {
    return refused(w.ioctl, w.field, EOVERFLOW, "product does not fit the field");
}
[[nodiscard]] constexpr refusal value_overflow(wire::where w) noexcept {
    return refused(w.ioctl, w.field, EOVERFLOW, "value does not fit the field");
}
[[nodiscard]] constexpr refusal range_overflow(wire::where w) noexcept {
    return refused(w.ioctl, w.field, EOVERFLOW, "start + length wraps past 2^64");
}

}  // namespace vfiopp::detail

namespace vfiopp::wire {

/// a + b in To, or EOVERFLOW: `checked_add<u32>(hdr, payload, {"VFIO_DEVICE_SET_IRQS", "argsz"})`.
template <std::unsigned_integral To, std::integral A, std::integral B>
[[nodiscard]] constexpr result<To> checked_add(A a, B b, where w) {
    To r{};
    if (!detail::add_fits(a, b, r)) return detail::sum_overflow(w);
    return r;
}

/// a * b in To, or EOVERFLOW: `checked_mul<u32>(entry_num, entry_len, {"IOMMU_HWPT_INVALIDATE", "entry_num"})`.
template <std::unsigned_integral To, std::integral A, std::integral B>
[[nodiscard]] constexpr result<To> checked_mul(A a, B b, where w) {
    To r{};
    if (!detail::mul_fits(a, b, r)) return detail::product_overflow(w);
    return r;
}

/// v converted to To, or EOVERFLOW when it does not fit: `checked_cast<u32>(fds.size(), {"...", "count"})`.
template <std::unsigned_integral To, std::integral From>
[[nodiscard]] constexpr result<To> checked_cast(From v, where w) {
    To r{};
    if (!detail::cast_fits(v, r)) return detail::value_overflow(w);
    return r;
}

/// Checks that [start, start + length) lies within the 64-bit address space (a range ending exactly at 2^64 is
/// allowed; length 0 is allowed). `checked_range(iova, size, {"VFIO_IOMMU_MAP_DMA", "size"})`.
[[nodiscard]] constexpr result<void> checked_range(std::uint64_t start, std::uint64_t length, where w) {
    if (!detail::range_fits(start, length)) return detail::range_overflow(w);
    return {};
}

}  // namespace vfiopp::wire
