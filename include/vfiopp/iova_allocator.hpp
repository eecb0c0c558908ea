// vfiopp/iova_allocator.hpp - an optional IOVA allocator inside the IOMMU's usable ranges.
//
//   std::vector<vfiopp::iova_range> usable = ...;   // VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE or IOMMU_IOAS_IOVA_RANGES
//   auto iovas = vfiopp::iova_allocator::create(usable, out_iova_alignment).value();
//   vfiopp::result<std::uint64_t> iova = iovas.allocate(2 << 20);   // first fit, lowest address, aligned
//   if (!iova) return iova.error();   // iova_allocator::allocate: size: ENOSPC: no free IOVA range that large ...
//   ...map the buffer at *iova, later unmap it, then:
//   (void)iovas.release(*iova, 2 << 20);
//
// A VMM mapping memory for DMA must put it at IOVAs the IOMMU accepts: VFIO type1 reports them in the
// VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE capability, iommufd in IOMMU_IOAS_IOVA_RANGES together with
// out_iova_alignment. This allocator hands out IOVAs inside those ranges at that alignment, and takes fixed ranges
// (guest-physical == IOVA identity maps) with reserve(). It issues no ioctl and includes no other vfiopp header but
// <vfiopp/error.hpp>. It keeps a sorted, merged list of free ranges and a sorted list of what was handed out (both
// on the heap), so a release is checked against what was really allocated or reserved. Every size is rounded up
// to the allocator's alignment. No arithmetic wraps: ranges may end at UINT64_MAX and sizes may be near 2^64.
// Not thread-safe: one owner, or a lock around it.
#pragma once

#include <vfiopp/error.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <span>
#include <vector>

namespace vfiopp {

/// One range of IOVAs, last inclusive like the kernel's vfio_iova_range and iommu_iova_range (so a range may end
/// at UINT64_MAX): `vfiopp::iova_range r{0xfef00000, 0x7fffffffffff};`
struct iova_range {
    std::uint64_t start = 0;  ///< first IOVA of the range
    std::uint64_t last = 0;   ///< last IOVA of the range (inclusive)

    friend constexpr bool operator==(const iova_range&, const iova_range&) = default;
};

/// Hands out aligned IOVAs inside the IOMMU's usable ranges:
///   auto a = vfiopp::iova_allocator::create(ranges, 4096).value(); auto iova = a.allocate(len);
class iova_allocator {
public:
    /// An allocator over the usable ranges (inclusive last, any order; overlapping or touching ranges are merged)
    /// with every IOVA and size a multiple of alignment (a power of two; 0 means 1). Errors: EINVAL "alignment"
    /// when it is not a power of two, EINVAL "ranges" when a range's last is below its start. No ranges at all
    /// makes an allocator on which every allocate fails with ENOSPC.
    ///   auto a = iova_allocator::create(std::vector<iova_range>{{0, 0xfedfffff}, {0xfef00000, 0x7fffffffffff}});
    [[nodiscard]] static result<iova_allocator> create(std::span<const iova_range> ranges,
                                                      std::uint64_t alignment = 4096) {
        constexpr std::string_view op = "iova_allocator::create";
        if (alignment == 0) alignment = 1;
        if (!std::has_single_bit(alignment))
            return detail::refuse(op, "alignment", EINVAL, "the IOVA alignment must be a power of two");
        for (const iova_range& r : ranges)
            if (r.last < r.start)
                return detail::refuse(op, "ranges", EINVAL, "a usable range's last is below its start");

        iova_allocator a;
        a.alignment_ = alignment;
        a.free_.assign(ranges.begin(), ranges.end());
        std::sort(a.free_.begin(), a.free_.end(),
                  [](const iova_range& x, const iova_range& y) { return x.start < y.start; });
        std::size_t out = 0;
        for (std::size_t i = 0; i < a.free_.size(); ++i) {
            const iova_range r = a.free_[i];
            // Merge r into the previous range when it overlaps or touches it (r.start <= prev.last + 1, written
            // so that prev.last == UINT64_MAX does not wrap; r.start >= prev.start holds from the sort).
            if (out != 0 && (r.start <= a.free_[out - 1].last || r.start - a.free_[out - 1].last == 1)) {
                a.free_[out - 1].last = std::max(a.free_[out - 1].last, r.last);
            } else {
                a.free_[out++] = r;
            }
        }
        a.free_.resize(out);
        return a;
    }

    /// Takes the lowest free IOVA that is a multiple of max(align, alignment()) and has size bytes (rounded up to
    /// alignment()) free from there; align 0 means alignment(). Errors: EINVAL "size" for size 0, EINVAL "align"
    /// when align is not a power of two, ENOSPC "size" when no free space is that large (at that alignment).
    ///   result<std::uint64_t> iova = a.allocate(guest_ram_bytes, 2 << 20);
    [[nodiscard]] result<std::uint64_t> allocate(std::uint64_t size, std::uint64_t align = 0) {
        constexpr std::string_view op = "iova_allocator::allocate";
        if (size == 0) return detail::refuse(op, "size", EINVAL, "an IOVA allocation needs a non-zero size");
        if (align != 0 && !std::has_single_bit(align))
            return detail::refuse(op, "align", EINVAL, "the requested alignment must be a power of two");
        const std::uint64_t eff = std::max(align, alignment_);
        const std::optional<std::uint64_t> rounded = align_up(size, alignment_);
        if (rounded) {
            const std::uint64_t extent = *rounded - 1;  // last - start of the allocation
            for (std::size_t i = 0; i < free_.size(); ++i) {
                const std::optional<std::uint64_t> at = align_up(free_[i].start, eff);
                if (!at) break;  // no aligned IOVA at or above this range's start; the later ranges start higher
                if (*at > free_[i].last || free_[i].last - *at < extent) continue;
                take(i, iova_range{*at, *at + extent});
                return *at;
            }
        }
        return detail::refuse(op, "size", ENOSPC, "no free IOVA range that large inside the IOMMU's usable ranges");
    }

    /// Takes the fixed range [iova, iova + size) (size rounded up to alignment()), e.g. for a guest-physical ==
    /// IOVA identity map; it must lie inside free space. Errors: EINVAL "size" for size 0, EINVAL "iova" when iova
    /// is not a multiple of alignment(), EEXIST "iova" when the range overlaps an allocation or reservation,
    /// ERANGE "iova" when it reaches outside the usable ranges (or past UINT64_MAX). Nothing changes on an error.
    ///   if (auto r = a.reserve(0x100000000, 4ull << 30); !r) return r.error();
    [[nodiscard]] result<void> reserve(std::uint64_t iova, std::uint64_t size) {
        constexpr std::string_view op = "iova_allocator::reserve";
        if (size == 0) return detail::refuse(op, "size", EINVAL, "an IOVA reservation needs a non-zero size");
        if ((iova & (alignment_ - 1)) != 0)
            return detail::refuse(op, "iova", EINVAL, "a reserved IOVA must be a multiple of the IOVA alignment");
        const std::optional<std::uint64_t> rounded = align_up(size, alignment_);
        if (!rounded || *rounded - 1 > std::numeric_limits<std::uint64_t>::max() - iova)
            return detail::refuse(op, "iova", ERANGE, "the reserved range reaches past the last IOVA (UINT64_MAX)");
        const iova_range want{iova, iova + (*rounded - 1)};

        // The free range holding iova, if any: the last one starting at or below it.
        auto it = std::upper_bound(free_.begin(), free_.end(), iova,
                                   [](std::uint64_t v, const iova_range& r) { return v < r.start; });
        if (it != free_.begin() && std::prev(it)->last >= want.last) {
            take(static_cast<std::size_t>(std::prev(it) - free_.begin()), want);
            return {};
        }
        // Not inside free space: an allocation in the way, or a stretch outside the usable ranges. Allocations
        // are disjoint and sorted by start, so they are sorted by last too: the first ending at or above iova is
        // the only candidate for an overlap that starts at or before want.last.
        auto a = std::lower_bound(allocated_.begin(), allocated_.end(), want.start,
                                  [](const iova_range& r, std::uint64_t v) { return r.last < v; });
        if (a != allocated_.end() && a->start <= want.last)
            return detail::refuse(op, "iova", EEXIST, "the range overlaps an IOVA allocation or reservation");
        return detail::refuse(op, "iova", ERANGE, "the range is not inside the IOMMU's usable IOVA ranges");
    }

    /// Gives back exactly one earlier allocation or reservation: the same iova and the same size (rounded up to
    /// alignment() as allocate and reserve did), merging it with the free space around it. Anything else is
    /// EINVAL "iova" and changes nothing.
    ///   if (auto r = a.release(iova, len); !r) log(r.error());
    [[nodiscard]] result<void> release(std::uint64_t iova, std::uint64_t size) {
        const std::optional<std::uint64_t> rounded = size == 0 ? std::nullopt : align_up(size, alignment_);
        auto a = std::lower_bound(allocated_.begin(), allocated_.end(), iova,
                                  [](const iova_range& r, std::uint64_t v) { return r.start < v; });
        if (!rounded || a == allocated_.end() || a->start != iova || a->last - a->start != *rounded - 1)
            return detail::refuse("iova_allocator::release", "iova", EINVAL,
                                  "not an allocation or reservation of this allocator (same iova and size)");
        const iova_range back = *a;
        free_.reserve(free_.size() + 1);  // the only step that can fail, done before anything changes
        allocated_.erase(a);

        auto next = std::lower_bound(free_.begin(), free_.end(), back.start,
                                     [](const iova_range& r, std::uint64_t v) { return r.start < v; });
        // back lies between two free ranges: prev->last < back.start and back.last < next->start, so the + 1s below
        // cannot wrap.
        const bool join_prev = next != free_.begin() && std::prev(next)->last + 1 == back.start;
        const bool join_next = next != free_.end() && back.last + 1 == next->start;
        if (join_prev && join_next) {
            std::prev(next)->last = next->last;
            free_.erase(next);
        } else if (join_prev) {
            std::prev(next)->last = back.last;
        } else if (join_next) {
            next->start = back.start;
        } else {
            free_.insert(next, back);
        }
        return {};
    }

    /// Bytes not allocated or reserved, saturated at UINT64_MAX (reached only when all 2^64 IOVAs are free):
    /// `std::uint64_t left = a.free_bytes();`
    [[nodiscard]] std::uint64_t free_bytes() const noexcept {
        constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
        std::uint64_t total = 0;
        for (const iova_range& r : free_) {
            const std::uint64_t extent = r.last - r.start;  // bytes - 1, cannot wrap
            if (extent >= max - total) return max;
            total += extent + 1;
        }
        return total;
    }

    /// The free ranges, sorted by start, merged (no two overlap or touch), inclusive last; valid until the next
    /// call that changes the allocator: `for (iova_range r : a.free_ranges()) ...`
    [[nodiscard]] std::span<const iova_range> free_ranges() const noexcept { return free_; }

    /// The allocator's alignment (a power of two; 1 when create was given 0): `a.alignment() == 4096`.
    [[nodiscard]] std::uint64_t alignment() const noexcept { return alignment_; }

private:
    iova_allocator() = default;

    /// v rounded up to a multiple of the power of two a, or nothing when that is past UINT64_MAX.
    static constexpr std::optional<std::uint64_t> align_up(std::uint64_t v, std::uint64_t a) noexcept {
        const std::uint64_t mask = a - 1;
        if ((v & mask) == 0) return v;
        if ((v | mask) == std::numeric_limits<std::uint64_t>::max()) return std::nullopt;
        return (v | mask) + 1;
    }

    /// Moves r, which lies inside free_[i], from the free list to the allocated list.
    void take(std::size_t i, iova_range r) {
        // Reserve room first: the only steps that can fail come before anything changes.
        free_.reserve(free_.size() + 1);
        allocated_.reserve(allocated_.size() + 1);
        const auto pos = static_cast<std::ptrdiff_t>(i);
        const iova_range f = free_[i];
        if (r.start == f.start && r.last == f.last) {
            free_.erase(free_.begin() + pos);
        } else if (r.start == f.start) {
            free_[i].start = r.last + 1;  // r.last < f.last
        } else if (r.last == f.last) {
            free_[i].last = r.start - 1;  // r.start > f.start
        } else {
            free_[i].last = r.start - 1;
            free_.insert(free_.begin() + pos + 1, iova_range{r.last + 1, f.last});
        }
        allocated_.insert(std::upper_bound(allocated_.begin(), allocated_.end(), r.start,
                                           [](std::uint64_t v, const iova_range& x) { return v < x.start; }),
                          r);
    }

    std::uint64_t alignment_ = 1;
    std::vector<iova_range> free_;       // sorted by start, disjoint, no two touching
    std::vector<iova_range> allocated_;  // allocations and reservations, sorted by start, disjoint
};

}  // namespace vfiopp
