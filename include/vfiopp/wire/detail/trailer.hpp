// vfiopp/wire/detail/trailer.hpp - writing a request image with a flexible-array trailer, and dirty bitmaps.
// Used by the builders of wire/vfio.hpp, wire/iommufd.hpp and wire/nesting.hpp; not part of the API.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/uapi/layout.hpp>
#include <vfiopp/wire/checked.hpp>
#include <vfiopp/wire/request.hpp>

#include <climits>
#include <cstddef>
#include <span>
#include <string_view>

namespace vfiopp::detail {
// The builders' helpers live here, beside the public names they use most.
using uapi::u16;
using uapi::u32;
using uapi::u64;
using uapi::u8;
using wire::checked_add;
using wire::checked_cast;
using wire::checked_mul;
using wire::checked_range;
using wire::inline_storage;
using wire::lazy_result;
using wire::prep;
using wire::request;
using wire::return_spec;
using wire::returning;
using wire::returns;
using wire::where;

constexpr std::size_t round8(std::size_t n) { return (n + 7) / 8 * 8; }
template <typename A>
inline constexpr std::size_t flex_offset = uapi::flexible_array_of<A>::offset;
template <typename T>
inline constexpr bool dependent_false = false;

/// put_with_trailer() without its checks, for a builder that has made them (or whose storage is sized for the
/// largest trailer): header, zeroed gap up to the flexible array, `bytes` trailer bytes, size.
template <typename Req>
inline void write_with_trailer(Req& r, const typename Req::arg_type& h, const void* data, std::size_t bytes) noexcept {
    using A = typename Req::arg_type;
    constexpr std::size_t off = flex_offset<A>;
    const auto total = static_cast<u32>(off + bytes);
    image_access::put_header(r, h, total);
    image_access::zero(r, sizeof(A), off - sizeof(A));
    image_access::write_bytes(r, off, data, bytes);
}

/// Header + `bytes` trailer bytes at the flexible array's offset; fails (E2BIG) past the inline capacity.
template <typename Req>
[[nodiscard]] inline result<void> put_with_trailer(Req& r, const typename Req::arg_type& h, const void* data, std::size_t bytes,
                              std::string_view count_field) {
    using A = typename Req::arg_type;
    constexpr std::size_t off = flex_offset<A>;
    u32 total = 0;
    if (!add_fits(off, bytes, total)) return sum_overflow({Req::ioctl.name, size_field_name<A>()});
    if (total > r.capacity())
        return refused(Req::ioctl.name, count_field, E2BIG, "more trailer elements than the request's capacity");
    write_with_trailer(r, h, data, bytes);
    return {};
}

/// Bytes of a dirty bitmap with one bit per page_size page of length bytes, in whole u64 words (the kernels'
/// DIRTY_BITMAP_BYTES / iova_bitmap rounding). page_size must be a power of two and length a non-zero multiple.
[[nodiscard]] constexpr result<u64> dirty_bitmap_bytes(u64 iova, u64 length, u64 page_size, where w) {
    if (page_size == 0 || (page_size & (page_size - 1)) != 0)
        return refused(w.ioctl, "page_size", EINVAL, "the page size must be a power of two");
    if (length == 0) return refused(w.ioctl, w.field, EINVAL, "the range must not be empty");
    if (auto c = checked_range(iova, length, w); !c) return pass_error(c);
    if (iova % page_size != 0 || length % page_size != 0)
        return refused(w.ioctl, w.field, EINVAL, "iova and length must be multiples of the page size");
    const u64 pages = length / page_size;
    const u64 words = pages / 64 + (pages % 64 != 0 ? 1 : 0);
    return checked_mul<u64>(words, sizeof(u64), {w.ioctl, "bitmap"});
}

/// The vfio type1 limit on one bitmap: DIRTY_BITMAP_BYTES(DIRTY_BITMAP_PAGES_MAX = INT_MAX) (EINVAL above it).
inline constexpr u64 vfio_dirty_bitmap_size_max = (u64{INT_MAX} + 63) / 64 * 8;

/// Refuses a bitmap span smaller than `need` bytes.
[[nodiscard]] constexpr result<void> check_bitmap_room(std::span<const u64> bitmap, u64 need, std::string_view ioctl) {
    if (bitmap.size_bytes() < need)
        return refused(ioctl, "bitmap", EINVAL, "the bitmap is smaller than one bit per page of the range");
    return {};
}

}  // namespace vfiopp::detail
