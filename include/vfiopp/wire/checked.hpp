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

/// a + b in To, or EOVERFLOW: `checked_add<u32>(hdr, payload, {"VFIO_DEVICE_SET_IRQS", "argsz"})`.
template <std::unsigned_integral To, std::integral A, std::integral B>
[[nodiscard]] constexpr result<To> checked_add(A a, B b, where w) {
    To r{};
    if (__builtin_add_overflow(a, b, &r)) return detail::refuse(w.ioctl, w.field, EOVERFLOW, "sum does not fit the field");
    return r;
}

/// a * b in To, or EOVERFLOW: `checked_mul<u32>(entry_num, entry_len, {"IOMMU_HWPT_INVALIDATE", "entry_num"})`.
template <std::unsigned_integral To, std::integral A, std::integral B>
[[nodiscard]] constexpr result<To> checked_mul(A a, B b, where w) {
    To r{};
    if (__builtin_mul_overflow(a, b, &r)) return detail::refuse(w.ioctl, w.field, EOVERFLOW, "product does not fit the field");
    return r;
}

/// v converted to To, or EOVERFLOW when it does not fit: `checked_cast<u32>(fds.size(), {"...", "count"})`.
template <std::unsigned_integral To, std::integral From>
[[nodiscard]] constexpr result<To> checked_cast(From v, where w) {
    To r{};
    if (__builtin_add_overflow(v, 0, &r)) return detail::refuse(w.ioctl, w.field, EOVERFLOW, "value does not fit the field");
    return r;
}

/// Checks that [start, start + length) lies within the 64-bit address space (a range ending exactly at 2^64 is
/// allowed; length 0 is allowed). `checked_range(iova, size, {"VFIO_IOMMU_MAP_DMA", "size"})`.
[[nodiscard]] constexpr result<void> checked_range(std::uint64_t start, std::uint64_t length, where w) {
    if (length != 0 && start + (length - 1) < start) return detail::refuse(w.ioctl, w.field, EOVERFLOW, "start + length wraps past 2^64");
    return {};
}

}  // namespace vfiopp::wire
