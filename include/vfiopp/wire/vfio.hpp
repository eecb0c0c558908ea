// vfiopp/wire/vfio.hpp - a typed builder for every ioctl of linux/vfio.h (7.3): container, group, device, migration.
//
// One small function fills one request (liburing's io_uring_prep_* style); argsz, flags and op words follow from the
// arguments and their types and cannot be set inconsistently:
//
//   auto map = wire::vfio::iommu_map_dma(uintptr_t(ram), iova, size, map_dma_flag::read | map_dma_flag::write);
//   auto dev = wire::vfio::group_get_device_fd("0000:00:04.0");      // submit() yields a unique_fd
//   wire::vfio::set_irqs_request<8> msix;                             // room for 8 eventfds, no heap
//   wire::vfio::set_irqs_eventfds<wire::vfio::irq_trigger>(msix, pci_irq_index::msix, 0, fds).value();
//   auto mig = wire::vfio::feature_set(vfio_device_feature_mig_state{device_mig_state::stop_copy, -1});
//   auto att = wire::vfio::device_attach_iommufd_pt(hwpt, 5);       // flags = PASID, argsz 16 (12 without pasid)
//
// What the kernel would reject is refused here: at compile time (static_assert naming the ioctl) when the types
// decide it, else before the ioctl with a vfiopp::error naming the ioctl, the field and the errno the kernel would
// give. Builders are grouped by the fd they are issued on, in the order of linux/vfio.h. The iommufd builders are
// in wire/iommufd.hpp, the 2020 proposal's in wire/nesting.hpp.
//
// This header is longer than 600 lines because linux/vfio.h has 28 ioctls, several with more than one form
// (SET_IRQS x 3 data types, DEVICE_FEATURE x 12 payloads, UNMAP_DMA x 4); splitting it by fd would make a reader
// look in three places for one kernel header.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/uapi/vfio.hpp>
#include <vfiopp/wire/checked.hpp>
#include <vfiopp/wire/detail/trailer.hpp>
#include <vfiopp/wire/request.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <type_traits>

namespace vfiopp::wire::vfio {
using uapi::irq_set_flag;


// ---- container fd ----
/// VFIO_GET_API_VERSION (no argument; submit() yields the version, 0): `io::submit(c, wire::vfio::get_api_version())`
[[nodiscard]] constexpr value_request<uapi::vfio::get_api_version> get_api_version() noexcept { return {}; }

/// VFIO_CHECK_EXTENSION (by value; submit() yields 0 or > 0): `wire::vfio::check_extension(extension::type1v2_iommu)`
[[nodiscard]] constexpr value_request<uapi::vfio::check_extension> check_extension(uapi::extension e) noexcept {
    return value_request<uapi::vfio::check_extension>{static_cast<u32>(e)};
}

/// VFIO_SET_IOMMU (by value; submit() yields result<void>): `wire::vfio::set_iommu(extension::type1v2_iommu)`
[[nodiscard]] constexpr value_request<uapi::vfio::set_iommu> set_iommu(uapi::extension e) noexcept {
    return value_request<uapi::vfio::set_iommu>{static_cast<u32>(e)};
}

/// VFIO_IOMMU_ENABLE (SPAPR TCE only; no argument): `io::submit(c, wire::vfio::iommu_enable())`
[[nodiscard]] constexpr value_request<uapi::vfio::iommu_enable> iommu_enable() noexcept { return {}; }
/// VFIO_IOMMU_DISABLE (SPAPR TCE only; no argument): `io::submit(c, wire::vfio::iommu_disable())`
[[nodiscard]] constexpr value_request<uapi::vfio::iommu_disable> iommu_disable() noexcept { return {}; }

/// VFIO_IOMMU_GET_INFO with room for a capability chain of Capacity bytes (argsz starts at 24; negotiate() grows it).
///   auto req = wire::vfio::iommu_get_info<512>(); io::negotiate(container, req).value();
template <std::size_t Capacity = sizeof(uapi::vfio_iommu_type1_info)>
[[nodiscard]] inline request<uapi::vfio::iommu_get_info, inline_storage<Capacity>> iommu_get_info() {
    return prep_with_room<uapi::vfio::iommu_get_info, Capacity>({});
}

/// VFIO_IOMMU_MAP_DMA of [vaddr, vaddr + size) at iova; size 0 or a wrapping range is refused (EINVAL / EOVERFLOW).
///   auto r = wire::vfio::iommu_map_dma(uintptr_t(p), 0x100000, 0x200000, map_dma_flag::read | map_dma_flag::write).value();
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::vfio::iommu_map_dma>> iommu_map_dma(u64 vaddr, u64 iova, u64 size, uapi::bitmask<uapi::map_dma_flag> flags) {
    constexpr std::string_view name = uapi::vfio::iommu_map_dma.name;
    if (size == 0) return detail::refused(name, "size", EINVAL, "a mapping needs a non-zero size");
    if (!detail::range_fits(iova, size)) return detail::range_overflow({name, "size"});
    if (!detail::range_fits(vaddr, size)) return detail::range_overflow({name, "size"});
    uapi::vfio_iommu_type1_dma_map m{};
    m.flags = flags;
    m.vaddr = vaddr;
    m.iova = iova;
    m.size = size;
    return detail::prep_result<uapi::vfio::iommu_map_dma, Lazy>(m);
}

/// VFIO_IOMMU_UNMAP_DMA of the mappings in [iova, iova + size) (flags 0, argsz 24); size 0 is EINVAL, a wrapping
/// range EOVERFLOW. After the ioctl header().size is the number of bytes unmapped.
///   auto r = wire::vfio::iommu_unmap_dma(0x100000, 0x200000).value();
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::vfio::iommu_unmap_dma>> iommu_unmap_dma(u64 iova, u64 size) {
    constexpr std::string_view name = uapi::vfio::iommu_unmap_dma.name;
    if (size == 0) return detail::refused(name, "size", EINVAL, "an unmap needs a non-zero size (use iommu_unmap_all)");
    if (!detail::range_fits(iova, size)) return detail::range_overflow({name, "size"});
    uapi::vfio_iommu_type1_dma_unmap u{};
    u.iova = iova;
    u.size = size;
    return detail::prep_result<uapi::vfio::iommu_unmap_dma, Lazy>(u);
}

/// VFIO_IOMMU_UNMAP_DMA of every mapping (flags UNMAP_ALL, iova 0, size 0; needs extension::unmap_all).
///   io::submit(container, wire::vfio::iommu_unmap_all());
[[nodiscard]] inline request<uapi::vfio::iommu_unmap_dma> iommu_unmap_all() {
    uapi::vfio_iommu_type1_dma_unmap u{};
    u.flags = uapi::unmap_dma_flag::all;
    return prep<uapi::vfio::iommu_unmap_dma>(u);
}

/// VFIO_IOMMU_UNMAP_DMA with flags VADDR: invalidates the vaddr of [iova, iova + size) (extension::update_vaddr);
/// re-supply it with MAP_DMA flags vaddr. `auto r = wire::vfio::iommu_unmap_vaddr(iova, size).value();`
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::vfio::iommu_unmap_dma>> iommu_unmap_vaddr(u64 iova, u64 size) {
    auto r = iommu_unmap_dma<Lazy>(iova, size);  // <Lazy>: instantiated only where this is
    if (r) {
        auto h = r->header();
        h.flags = uapi::unmap_dma_flag::vaddr;
        detail::put_header(*r, h, static_cast<u32>(sizeof h));
    }
    return r;  // the one return: r is the caller's result (NRVO)
}

}  // namespace vfiopp::wire::vfio

namespace vfiopp::detail {
/// The checks both type1 dirty-bitmap requests (UNMAP_DMA with GET_DIRTY_BITMAP, DIRTY_PAGES GET_BITMAP) make:
/// a page-aligned, non-wrapping range of at most INT_MAX pages, and a caller bitmap with one bit per page.
/// Returns the bitmap's size in bytes (vfio_bitmap::size).
[[nodiscard]] constexpr result<u64> vfio_dirty_bitmap_bytes(u64 iova, u64 size, u64 pgsize, std::span<const u64> bitmap,
                                                            std::string_view ioctl) {
    auto need = dirty_bitmap_bytes(iova, size, pgsize, {ioctl, "size"});
    if (!need) return detail::pass_error(need);
    if (*need > vfio_dirty_bitmap_size_max)
        return refused(ioctl, "size", EINVAL, "the range needs more than INT_MAX bitmap bits");
    if (auto c = check_bitmap_room(bitmap, *need, ioctl); !c) return detail::pass_error(c);
    return need;
}
}  // namespace vfiopp::detail

namespace vfiopp::wire::vfio {

/// VFIO_IOMMU_UNMAP_DMA with a dirty bitmap (argsz 24 + sizeof(vfio_bitmap) = 48).
using unmap_dma_dirty_request =
    request<uapi::vfio::iommu_unmap_dma,
            inline_storage<::vfiopp::detail::flex_offset<uapi::vfio_iommu_type1_dma_unmap> + sizeof(uapi::vfio_bitmap)>>;

/// VFIO_IOMMU_UNMAP_DMA with GET_DIRTY_BITMAP: unmaps [iova, iova + size) and fills the caller's bitmap (one bit
/// per pgsize page from iova; bitmap.size = the exact bytes needed). pgsize not a power of two, an unaligned
/// range or a too-small bitmap is EINVAL; a wrapping range EOVERFLOW. The bitmap must outlive the submit.
///   std::array<u64, 8> bits{}; auto r = wire::vfio::iommu_unmap_dma_dirty(iova, size, 4096, std::span{bits}).value();
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, unmap_dma_dirty_request> iommu_unmap_dma_dirty(u64 iova, u64 size, u64 pgsize, std::span<u64> bitmap) {
    constexpr std::string_view name = uapi::vfio::iommu_unmap_dma.name;
    auto need = detail::vfio_dirty_bitmap_bytes(iova, size, pgsize, bitmap, name);
    if (!need) return detail::pass_error(need);
    uapi::vfio_iommu_type1_dma_unmap u{};
    u.flags = uapi::unmap_dma_flag::get_dirty_bitmap;
    u.iova = iova;
    u.size = size;
    uapi::vfio_bitmap b{};
    b.pgsize = pgsize;
    b.size = *need;
    b.data = bitmap.data();
    // the storage is sized for exactly this trailer: put_with_trailer's checks cannot fail
    return detail::make_result<unmap_dma_dirty_request>(
        [&](unmap_dma_dirty_request& r) { detail::write_with_trailer(r, u, &b, sizeof b); });
}

/// VFIO_IOMMU_DIRTY_PAGES with room for the GET_BITMAP trailer (argsz 8 for start/stop, 8 + 40 = 48 for get).
using dirty_pages_request =
    request<uapi::vfio::iommu_dirty_pages,
            inline_storage<::vfiopp::detail::flex_offset<uapi::vfio_iommu_type1_dirty_bitmap> +
                           sizeof(uapi::vfio_iommu_type1_dirty_bitmap_get)>>;

}  // namespace vfiopp::wire::vfio

namespace vfiopp::detail {
[[nodiscard]] inline wire::vfio::dirty_pages_request dirty_pages(uapi::dirty_pages_flag f) {
    wire::vfio::dirty_pages_request r;
    uapi::vfio_iommu_type1_dirty_bitmap h{};
    h.flags = f;
    detail::put_header(r, h, static_cast<u32>(sizeof h));
    return r;
}
}  // namespace vfiopp::detail

namespace vfiopp::wire::vfio {

/// VFIO_IOMMU_DIRTY_PAGES START (argsz 8): `io::submit(container, wire::vfio::iommu_dirty_pages_start());`
[[nodiscard]] inline dirty_pages_request iommu_dirty_pages_start() { return detail::dirty_pages(uapi::dirty_pages_flag::start); }
/// VFIO_IOMMU_DIRTY_PAGES STOP (argsz 8): `io::submit(container, wire::vfio::iommu_dirty_pages_stop());`
[[nodiscard]] inline dirty_pages_request iommu_dirty_pages_stop() { return detail::dirty_pages(uapi::dirty_pages_flag::stop); }

/// VFIO_IOMMU_DIRTY_PAGES GET_BITMAP of [iova, iova + size) into the caller's bitmap (argsz 48; same checks as
/// iommu_unmap_dma_dirty). `auto r = wire::vfio::iommu_dirty_pages_get_bitmap(iova, sz, 4096, std::span{bits}).value();`
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, dirty_pages_request> iommu_dirty_pages_get_bitmap(u64 iova, u64 size, u64 pgsize, std::span<u64> bitmap) {
    constexpr std::string_view name = uapi::vfio::iommu_dirty_pages.name;
    auto need = detail::vfio_dirty_bitmap_bytes(iova, size, pgsize, bitmap, name);
    if (!need) return detail::pass_error(need);
    uapi::vfio_iommu_type1_dirty_bitmap h{};
    h.flags = uapi::dirty_pages_flag::get_bitmap;
    uapi::vfio_iommu_type1_dirty_bitmap_get g{};
    g.iova = iova;
    g.size = size;
    g.bitmap.pgsize = pgsize;
    g.bitmap.size = *need;
    g.bitmap.data = bitmap.data();
    // the storage is sized for exactly this trailer: put_with_trailer's checks cannot fail
    return detail::make_result<dirty_pages_request>(
        [&](dirty_pages_request& r) { detail::write_with_trailer(r, h, &g, sizeof g); });
}

// ---- group fd ----
/// VFIO_GROUP_GET_STATUS (argsz 8; flags out): `auto r = wire::vfio::group_get_status(); io::submit(g, r);`
[[nodiscard]] inline request<uapi::vfio::group_get_status> group_get_status() { return prep<uapi::vfio::group_get_status>({}); }

/// VFIO_GROUP_SET_CONTAINER: the image is the container fd itself (the kernel reads an int through the pointer).
using group_set_container_request = request<uapi::vfio::group_set_container, inline_storage<sizeof(uapi::s32)>>;

/// VFIO_GROUP_SET_CONTAINER(container_fd); a negative fd is EBADF before the ioctl.
///   io::submit(group, wire::vfio::group_set_container(container).value());
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, group_set_container_request> group_set_container(int container_fd) {
    if (container_fd < 0)
        return detail::refused(uapi::vfio::group_set_container.name, "container_fd", EBADF, "the container fd must be >= 0");
    return detail::make_result<group_set_container_request>([&](group_set_container_request& r) {
        detail::image_access::write(r, 0, static_cast<uapi::s32>(container_fd));
        detail::image_access::set_size(r, sizeof(uapi::s32));
    });
}

/// VFIO_GROUP_UNSET_CONTAINER (no argument): `io::submit(group, wire::vfio::group_unset_container());`
[[nodiscard]] constexpr value_request<uapi::vfio::group_unset_container> group_unset_container() noexcept { return {}; }

/// Longest device name group_get_device_fd() holds inline by default (PCI names are 12, mdev UUIDs 36 bytes).
inline constexpr std::size_t device_name_max = 255;

/// VFIO_GROUP_GET_DEVICE_FD: the NUL-terminated name in inline storage; submit() yields the new device fd.
template <std::size_t MaxName = device_name_max>
using group_get_device_fd_request = request<uapi::vfio::group_get_device_fd, inline_storage<MaxName + 1>>;

/// VFIO_GROUP_GET_DEVICE_FD(name): an empty name or one containing NUL is EINVAL, one longer than MaxName E2BIG.
///   unique_fd dev = io::submit(group, wire::vfio::group_get_device_fd("0000:00:04.0").value()).value();
template <std::size_t MaxName = device_name_max>
[[nodiscard]] inline result<group_get_device_fd_request<MaxName>> group_get_device_fd(std::string_view name) {
    constexpr std::string_view ioctl = uapi::vfio::group_get_device_fd.name;
    if (name.empty()) return detail::refused(ioctl, "name", EINVAL, "the device name is empty");
    if (name.find('\0') != std::string_view::npos)
        return detail::refused(ioctl, "name", EINVAL, "the device name contains a NUL byte");
    if (name.size() > MaxName) return detail::refused(ioctl, "name", E2BIG, "the device name is longer than the inline storage");
    using Req = group_get_device_fd_request<MaxName>;
    return detail::make_result<Req>([&](Req& r) {
        detail::image_access::write_bytes(r, 0, name.data(), name.size());
        detail::image_access::zero(r, name.size(), 1);
        detail::image_access::set_size(r, static_cast<u32>(name.size() + 1));
    });
}

// ---- device fd ----
/// VFIO_DEVICE_RESET (no argument): `io::submit(dev, wire::vfio::device_reset());`
[[nodiscard]] constexpr value_request<uapi::vfio::device_reset> device_reset() noexcept { return {}; }

/// VFIO_DEVICE_GET_INFO with room for a capability chain (argsz starts at 24; io::negotiate() grows it).
///   auto req = wire::vfio::device_get_info<256>(); io::negotiate(dev, req).value();
template <std::size_t Capacity = sizeof(uapi::vfio_device_info)>
[[nodiscard]] inline request<uapi::vfio::device_get_info, inline_storage<Capacity>> device_get_info() {
    return prep_with_room<uapi::vfio::device_get_info, Capacity>({});
}

/// VFIO_DEVICE_GET_REGION_INFO of region `index` with room for a capability chain (argsz starts at 32).
///   auto req = wire::vfio::device_get_region_info<1024>(pci_region_index::bar0); io::negotiate(dev, req).value();
template <std::size_t Capacity = sizeof(uapi::vfio_region_info), typename Index>
[[nodiscard]] inline request<uapi::vfio::device_get_region_info, inline_storage<Capacity>> device_get_region_info(Index index) {
    uapi::vfio_region_info h{};
    h.index = static_cast<u32>(index);
    return prep_with_room<uapi::vfio::device_get_region_info, Capacity>(h);
}

/// VFIO_DEVICE_GET_IRQ_INFO of irq `index` (argsz 16): `auto r = wire::vfio::device_get_irq_info(pci_irq_index::msix);`
template <typename Index>
[[nodiscard]] inline request<uapi::vfio::device_get_irq_info> device_get_irq_info(Index index) {
    uapi::vfio_irq_info h{};
    h.index = static_cast<u32>(index);
    return prep<uapi::vfio::device_get_irq_info>(h);
}

// ---- VFIO_DEVICE_SET_IRQS ----

/// Action tags of VFIO_DEVICE_SET_IRQS: the action bit is a type, so the data type it allows is checked.
struct irq_mask {
    static constexpr irq_set_flag flag = irq_set_flag::action_mask;
};
struct irq_unmask {
    static constexpr irq_set_flag flag = irq_set_flag::action_unmask;
};
struct irq_trigger {
    static constexpr irq_set_flag flag = irq_set_flag::action_trigger;
};

/// VFIO_DEVICE_SET_IRQS with inline room for MaxData trailer elements (eventfds are 4 bytes, bools 1).
///   wire::vfio::set_irqs_request<32> req;
template <std::size_t MaxData>
using set_irqs_request =
    request<uapi::vfio::device_set_irqs, inline_storage<::vfiopp::detail::flex_offset<uapi::vfio_irq_set> + 4 * MaxData>>;

}  // namespace vfiopp::wire::vfio

namespace vfiopp::detail {
template <typename Action>
inline uapi::vfio_irq_set irq_header(uapi::irq_set_flag data, u32 index, u32 start, u32 count) {
    uapi::vfio_irq_set h{};
    h.flags = data | Action::flag;
    h.index = index;
    h.start = start;
    h.count = count;
    return h;
}
template <typename I>
constexpr u32 index_value(I i) {
    return static_cast<u32>(i);
}
}  // namespace vfiopp::detail

namespace vfiopp::wire::vfio {

/// VFIO_DEVICE_SET_IRQS, DATA_NONE: apply Action to [start, start + count) of irq `index` (count 0 with
/// irq_trigger disables the index). `auto r = wire::vfio::set_irqs_none<irq_unmask>(pci_irq_index::intx, 0, 1);`
template <typename Action, typename Index>
[[nodiscard]] inline set_irqs_request<0> set_irqs_none(Index index, u32 start, u32 count) {
    set_irqs_request<0> r;
    detail::put_header(r, detail::irq_header<Action>(irq_set_flag::data_none, detail::index_value(index), start, count),
                             static_cast<u32>(sizeof(uapi::vfio_irq_set)));
    return r;
}

/// VFIO_DEVICE_SET_IRQS, DATA_BOOL: one bool per vector from start (true = apply Action).
///   wire::vfio::set_irqs_request<4> r; wire::vfio::set_irqs_bools<irq_mask>(r, pci_irq_index::msix, 0, bits);
template <typename Action, std::size_t N, typename Index>
[[nodiscard, gnu::always_inline]] inline result<void> set_irqs_bools(request<uapi::vfio::device_set_irqs, inline_storage<N>>& r, Index index, u32 start,
                            std::span<const bool> values) {
    constexpr std::string_view name = uapi::vfio::device_set_irqs.name;
    u32 count = 0, end = 0;
    if (!detail::cast_fits(values.size(), count)) return detail::value_overflow({name, "count"});
    if (!detail::add_fits(start, count, end)) return detail::sum_overflow({name, "start"});
    std::array<u8, N> bytes{};
    if (values.size() > N - ::vfiopp::detail::flex_offset<uapi::vfio_irq_set>)
        return detail::refused(name, "count", E2BIG, "more bools than the request's inline capacity");
    for (std::size_t i = 0; i < values.size(); ++i) bytes[i] = values[i] ? 1 : 0;
    return detail::put_with_trailer(r, detail::irq_header<Action>(irq_set_flag::data_bool, detail::index_value(index), start, count),
                                          bytes.data(), values.size(), "count");
}

/// VFIO_DEVICE_SET_IRQS, DATA_EVENTFD: one eventfd per vector from start (-1 de-assigns that vector).
///   wire::vfio::set_irqs_request<8> r; wire::vfio::set_irqs_eventfds<irq_trigger>(r, pci_irq_index::msix, 0, fds);
/// (Always inlined, like the other writers of a caller's trailer request: past GCC's inlining budget for its checks
/// and loop, and inlined it sees the caller's fd count, so the trailer copy becomes fixed-size moves.)
template <typename Action, std::size_t N, typename Index>
[[nodiscard, gnu::always_inline]] inline result<void> set_irqs_eventfds(request<uapi::vfio::device_set_irqs, inline_storage<N>>& r, Index index, u32 start,
                               std::span<const int> fds) {
    static_assert(!std::is_same_v<Action, irq_mask>,
                  "VFIO_DEVICE_SET_IRQS: ACTION_MASK with DATA_EVENTFD is not implemented by vfio-pci (the kernel "
                  "returns ENOTTY); use set_irqs_none or set_irqs_bools to mask");
    constexpr std::string_view name = uapi::vfio::device_set_irqs.name;
    u32 count = 0, end = 0;
    if (!detail::cast_fits(fds.size(), count)) return detail::value_overflow({name, "count"});
    if (!detail::add_fits(start, count, end)) return detail::sum_overflow({name, "start"});
    if (fds.size() > (N - ::vfiopp::detail::flex_offset<uapi::vfio_irq_set>) / sizeof(int))
        return detail::refused(name, "count", E2BIG, "more eventfds than the request's inline capacity");
    for (int fd : fds)
        if (fd < -1)
            return detail::refused(name, "data", EINVAL, "an eventfd must be >= 0, or -1 to de-assign");
    return detail::put_with_trailer(r, detail::irq_header<Action>(irq_set_flag::data_eventfd, detail::index_value(index), start, count),
                                          fds.data(), fds.size_bytes(), "count");
}

// ---- VFIO_DEVICE_FEATURE ----
/// Operations a feature payload allows.
enum class feature_ops : u8 { get = 1, set = 2, get_set = 3 };

/// Payloads without data (the feature number alone says it).
struct low_power_entry {};
struct low_power_exit {};
struct dma_logging_stop {};
/// device_feature_id::mig_precopy_infov2 (SET, no data; 7.3): VFIO_MIG_GET_PRECOPY_INFO then reports
/// precopy_info_flag::reinit. EINVAL on a device without PRE_COPY.
struct mig_precopy_infov2 {};
/// device_feature_id::pci_vf_token payload: the VF token UUID (SET).
struct pci_vf_token {
    std::array<u8, 16> uuid;
};

/// feature_traits<P>: feature number and allowed operations of a payload type.
template <typename P>
struct feature_traits {
    static_assert(detail::dependent_false<P>,
                  "VFIO_DEVICE_FEATURE: this type is not a device feature payload (see feature_traits)");
};
// GET_RET / SET_RET: what a GET / SET of the feature returns (DMA_BUF's GET returns a new dma-buf fd; a
// MIG_DEVICE_STATE SET writes the new data transfer fd into the payload's data_fd, at 8 + its offset).
#define VFIOPP_DETAIL_FEATURE(T, ID, OPS, GET_RET, SET_RET)                                                          \
    template <>                                                                                                      \
    struct feature_traits<T> {                                                                                       \
        static constexpr uapi::device_feature_id id = uapi::device_feature_id::ID;                                   \
        static constexpr feature_ops ops = feature_ops::OPS;                                                         \
        static constexpr std::size_t size = std::is_empty_v<T> ? 0 : sizeof(T);                                     \
        using get_returns = GET_RET;                                                          \
        using set_returns = SET_RET;                                                          \
    };
#define VFIOPP_DETAIL_STATUS returning<returns::status>
#define VFIOPP_DETAIL_MIG_DATA_FD                                                                                    \
    returning<returns::out_fd, static_cast<u16>(sizeof(uapi::vfio_device_feature) +                                 \
                                                vfiopp_out_fd(std::type_identity<uapi::vfio_device_feature_mig_state>{}))>
VFIOPP_DETAIL_FEATURE(pci_vf_token, pci_vf_token, set, VFIOPP_DETAIL_STATUS, VFIOPP_DETAIL_STATUS)
VFIOPP_DETAIL_FEATURE(uapi::vfio_device_feature_migration, migration, get, VFIOPP_DETAIL_STATUS, VFIOPP_DETAIL_STATUS)
VFIOPP_DETAIL_FEATURE(uapi::vfio_device_feature_mig_state, mig_device_state, get_set, VFIOPP_DETAIL_STATUS,
                      VFIOPP_DETAIL_MIG_DATA_FD)
VFIOPP_DETAIL_FEATURE(low_power_entry, low_power_entry, set, VFIOPP_DETAIL_STATUS, VFIOPP_DETAIL_STATUS)
VFIOPP_DETAIL_FEATURE(uapi::vfio_device_low_power_entry_with_wakeup, low_power_entry_with_wakeup, set, VFIOPP_DETAIL_STATUS,
                      VFIOPP_DETAIL_STATUS)
VFIOPP_DETAIL_FEATURE(low_power_exit, low_power_exit, set, VFIOPP_DETAIL_STATUS, VFIOPP_DETAIL_STATUS)
VFIOPP_DETAIL_FEATURE(uapi::vfio_device_feature_dma_logging_control, dma_logging_start, set, VFIOPP_DETAIL_STATUS,
                      VFIOPP_DETAIL_STATUS)
VFIOPP_DETAIL_FEATURE(dma_logging_stop, dma_logging_stop, set, VFIOPP_DETAIL_STATUS, VFIOPP_DETAIL_STATUS)
VFIOPP_DETAIL_FEATURE(mig_precopy_infov2, mig_precopy_infov2, set, VFIOPP_DETAIL_STATUS, VFIOPP_DETAIL_STATUS)
VFIOPP_DETAIL_FEATURE(uapi::vfio_device_feature_dma_logging_report, dma_logging_report, get, VFIOPP_DETAIL_STATUS,
                      VFIOPP_DETAIL_STATUS)
VFIOPP_DETAIL_FEATURE(uapi::vfio_device_feature_mig_data_size, mig_data_size, get, VFIOPP_DETAIL_STATUS, VFIOPP_DETAIL_STATUS)
VFIOPP_DETAIL_FEATURE(uapi::vfio_device_feature_bus_master, bus_master, set, VFIOPP_DETAIL_STATUS, VFIOPP_DETAIL_STATUS)
VFIOPP_DETAIL_FEATURE(uapi::vfio_device_feature_dma_buf, dma_buf, get, returning<returns::new_fd>, VFIOPP_DETAIL_STATUS)
#undef VFIOPP_DETAIL_STATUS
#undef VFIOPP_DETAIL_MIG_DATA_FD
#undef VFIOPP_DETAIL_FEATURE

/// The request type of a feature operation on payload P: header (8) + P, in place.
template <typename P, typename R = returning<returns::status>>
using feature_request =
    request<uapi::vfio::device_feature, inline_storage<::vfiopp::detail::round8(sizeof(uapi::vfio_device_feature) + std::max<std::size_t>(feature_traits<P>::size, 1))>, R>;

}  // namespace vfiopp::wire::vfio

namespace vfiopp::detail {
template <typename P, typename R>
[[nodiscard]] inline wire::vfio::feature_request<P, R> make_feature_request(uapi::bitmask<uapi::device_feature_flag> op, const P* payload) {
    using T = wire::vfio::feature_traits<P>;
    wire::vfio::feature_request<P, R> r;
    uapi::vfio_device_feature h{};
    h.flags = op | uapi::bitmask<uapi::device_feature_flag>::from_bits(static_cast<u32>(T::id));
    std::size_t n = payload ? T::size : 0;
    detail::image_access::write(r, 0, h);
    if (n) detail::image_access::write_bytes(r, sizeof h, payload, n);
    detail::image_access::set_size(r, static_cast<u32>(sizeof h + n));
    return r;
}
}  // namespace vfiopp::detail

namespace vfiopp::wire::vfio {

/// VFIO_DEVICE_FEATURE GET of payload P (feature number and GET flag from P; argsz = 8 + sizeof(P)).
///   auto req = wire::vfio::feature_get<vfio_device_feature_migration>(); io::submit(dev, req); req.read<...>(8);
template <typename P>
[[nodiscard]] inline feature_request<P, typename feature_traits<P>::get_returns> feature_get() {
    static_assert(static_cast<u8>(feature_traits<P>::ops) & static_cast<u8>(feature_ops::get),
                  "VFIO_DEVICE_FEATURE: this feature does not support GET (the kernel returns EINVAL)");
    P zero{};
    return detail::make_feature_request<P, typename feature_traits<P>::get_returns>(uapi::device_feature_flag::get, &zero);
}

/// VFIO_DEVICE_FEATURE SET with payload p: `auto req = wire::vfio::feature_set(vfio_device_feature_bus_master{...});`
template <typename P>
[[nodiscard]] inline feature_request<P, typename feature_traits<P>::set_returns> feature_set(const P& p) {
    static_assert(static_cast<u8>(feature_traits<P>::ops) & static_cast<u8>(feature_ops::set),
                  "VFIO_DEVICE_FEATURE: this feature does not support SET (the kernel returns EINVAL)");
    return detail::make_feature_request<P, typename feature_traits<P>::set_returns>(uapi::device_feature_flag::set, &p);
}

/// VFIO_DEVICE_FEATURE PROBE: does the device support P with the operations P allows? No payload (argsz 8).
///   bool mig = io::submit(dev, wire::vfio::feature_probe<vfio_device_feature_migration>()).has_value();
template <typename P>
[[nodiscard]] inline feature_request<P> feature_probe() {
    using T = feature_traits<P>;
    uapi::bitmask<uapi::device_feature_flag> f = uapi::device_feature_flag::probe;
    if (static_cast<u8>(T::ops) & static_cast<u8>(feature_ops::get)) f |= uapi::device_feature_flag::get;
    if (static_cast<u8>(T::ops) & static_cast<u8>(feature_ops::set)) f |= uapi::device_feature_flag::set;
    return detail::make_feature_request<P, returning<returns::status>>(f, static_cast<const P*>(nullptr));
}

// ---- VFIO_DEVICE_PCI_HOT_RESET ----
/// VFIO_DEVICE_PCI_HOT_RESET with room for MaxGroups group fds.
template <std::size_t MaxGroups>
using pci_hot_reset_request =
    request<uapi::vfio::device_pci_hot_reset, inline_storage<::vfiopp::detail::flex_offset<uapi::vfio_pci_hot_reset> + 4 * MaxGroups>>;

/// Hot reset on a cdev device (iommufd ownership, no group fds: count 0): `io::submit(dev, wire::vfio::pci_hot_reset_devid());`
[[nodiscard]] inline pci_hot_reset_request<0> pci_hot_reset_devid() {
    pci_hot_reset_request<0> r;
    detail::put_header(r, uapi::vfio_pci_hot_reset{}, static_cast<u32>(sizeof(uapi::vfio_pci_hot_reset)));
    return r;
}

/// Hot reset proving ownership of every affected group with its fd.
///   wire::vfio::pci_hot_reset_request<4> r; wire::vfio::pci_hot_reset_groups(r, group_fds).value();
template <std::size_t N>
[[nodiscard, gnu::always_inline]] inline result<void> pci_hot_reset_groups(request<uapi::vfio::device_pci_hot_reset, inline_storage<N>>& r, std::span<const int> group_fds) {
    constexpr std::string_view name = uapi::vfio::device_pci_hot_reset.name;
    if (group_fds.empty())
        return detail::refused(name, "count", EINVAL, "the group form needs at least one group fd (use pci_hot_reset_devid on a cdev)");
    if (group_fds.size() > (N - ::vfiopp::detail::flex_offset<uapi::vfio_pci_hot_reset>) / sizeof(int))
        return detail::refused(name, "count", E2BIG, "more group fds than the request's inline capacity");
    for (int fd : group_fds)
        if (fd < 0) return detail::refused(name, "group_fds", EBADF, "a group fd must be >= 0");
    uapi::vfio_pci_hot_reset h{};
    h.count = static_cast<u32>(group_fds.size());
    return detail::put_with_trailer(r, h, group_fds.data(), group_fds.size_bytes(), "count");
}

// ---- VFIO_DEVICE_GET_PCI_HOT_RESET_INFO ----
/// VFIO_DEVICE_GET_PCI_HOT_RESET_INFO with room for MaxDevices vfio_pci_dependent_device entries.
template <std::size_t MaxDevices>
using pci_hot_reset_info_request =
    request<uapi::vfio::device_get_pci_hot_reset_info,
            inline_storage<::vfiopp::detail::flex_offset<uapi::vfio_pci_hot_reset_info> + sizeof(uapi::vfio_pci_dependent_device) * MaxDevices>>;

/// VFIO_DEVICE_GET_PCI_HOT_RESET_INFO; argsz = 12 + 8 * MaxDevices (the whole storage, so the kernel can fill it;
/// ENOSPC with header().count = the number needed when it cannot). Entry i: req.read<vfio_pci_dependent_device>(12 + 8 * i).
///   auto req = wire::vfio::device_get_pci_hot_reset_info<16>(); io::submit(dev, req).value();
template <std::size_t MaxDevices>
[[nodiscard]] inline pci_hot_reset_info_request<MaxDevices> device_get_pci_hot_reset_info() {
    pci_hot_reset_info_request<MaxDevices> r;
    detail::put_header(r, uapi::vfio_pci_hot_reset_info{}, static_cast<u32>(r.capacity()));
    // argsz covers the whole storage (the kernel's reply room): zero what the header does not
    detail::image_access::zero(r, sizeof(uapi::vfio_pci_hot_reset_info), r.capacity() - sizeof(uapi::vfio_pci_hot_reset_info));
    return r;
}

/// VFIO_DEVICE_QUERY_GFX_PLANE: flags must hold exactly one of dmabuf / region, optionally probe (EINVAL else).
///   auto r = wire::vfio::device_query_gfx_plane(gfx_plane_flag::dmabuf, 1 /* DRM_PLANE_TYPE_PRIMARY */).value();
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::vfio::device_query_gfx_plane>> device_query_gfx_plane(uapi::bitmask<uapi::gfx_plane_flag> flags,
                                                                                   u32 drm_plane_type) {
    constexpr std::string_view name = uapi::vfio::device_query_gfx_plane.name;
    if (flags.unknown() != 0) return detail::refused(name, "flags", EINVAL, "unknown gfx plane flag bits");
    if (flags.has(uapi::gfx_plane_flag::dmabuf) == flags.has(uapi::gfx_plane_flag::region))
        return detail::refused(name, "flags", EINVAL, "exactly one of dmabuf and region must be set");
    uapi::vfio_device_gfx_plane_info h{};
    h.flags = flags;
    h.drm_plane_type = drm_plane_type;
    return detail::prep_result<uapi::vfio::device_query_gfx_plane, Lazy>(h);
}

/// VFIO_DEVICE_GET_GFX_DMABUF: the image is the dmabuf_id (u32, from QUERY_GFX_PLANE); submit() yields the fd.
using device_get_gfx_dmabuf_request = request<uapi::vfio::device_get_gfx_dmabuf, inline_storage<sizeof(u32)>>;

/// VFIO_DEVICE_GET_GFX_DMABUF(dmabuf_id): `unique_fd buf = io::submit(dev, wire::vfio::device_get_gfx_dmabuf(id)).value();`
[[nodiscard]] inline device_get_gfx_dmabuf_request device_get_gfx_dmabuf(u32 dmabuf_id) {
    device_get_gfx_dmabuf_request r;
    detail::image_access::write(r, 0, dmabuf_id);
    detail::image_access::set_size(r, sizeof(u32));
    return r;
}

}  // namespace vfiopp::wire::vfio

namespace vfiopp::detail {
template <typename T>
constexpr uapi::ioeventfd_flag ioeventfd_width() {
    if constexpr (std::is_same_v<T, u8>) return uapi::ioeventfd_flag::bits8;
    else if constexpr (std::is_same_v<T, u16>) return uapi::ioeventfd_flag::bits16;
    else if constexpr (std::is_same_v<T, u32>) return uapi::ioeventfd_flag::bits32;
    else if constexpr (std::is_same_v<T, u64>) return uapi::ioeventfd_flag::bits64;
    else static_assert(detail::dependent_false<T>,
                       "VFIO_DEVICE_IOEVENTFD: the data type gives the write width and must be u8, u16, u32 or u64");
}
}  // namespace vfiopp::detail

namespace vfiopp::wire::vfio {

/// VFIO_DEVICE_IOEVENTFD: write `data` (its type gives the width flag) at device fd `offset` when eventfd `fd`
/// fires; fd -1 removes it, fd < -1 is EBADF. `auto r = wire::vfio::device_ioeventfd<u16>(off, 0x1, efd).value();`
template <typename T>
[[nodiscard]] inline result<request<uapi::vfio::device_ioeventfd>> device_ioeventfd(u64 offset, std::type_identity_t<T> data, int fd) {
    constexpr auto width = detail::ioeventfd_width<T>();
    if (fd < -1) return detail::refused(uapi::vfio::device_ioeventfd.name, "fd", EBADF, "the eventfd must be >= 0, or -1 to remove");
    if (!detail::range_fits(offset, sizeof(T))) return detail::range_overflow({uapi::vfio::device_ioeventfd.name, "offset"});
    uapi::vfio_device_ioeventfd h{};
    h.flags = width;
    h.offset = offset;
    h.data = static_cast<u64>(data);
    h.fd = fd;
    return detail::prep_result<uapi::vfio::device_ioeventfd, T>(h);
}

/// VFIO_DEVICE_BIND_IOMMUFD (cdev fd) without VF token: argsz 16 (accepted since 6.6); header().out_devid after.
///   auto r = wire::vfio::device_bind_iommufd(iommufd).value(); io::submit(dev, r).value();
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::vfio::device_bind_iommufd>> device_bind_iommufd(int iommufd) {
    constexpr std::string_view name = uapi::vfio::device_bind_iommufd.name;
    if (iommufd < 0) return detail::refused(name, "iommufd", EBADF, "the iommufd must be >= 0");
    uapi::vfio_device_bind_iommufd h{};
    h.iommufd = iommufd;
    using Req = request<uapi::vfio::device_bind_iommufd>;
    return detail::make_result<Req>(
        [&](Req& r) { detail::put_header(r, h, static_cast<u32>(offsetof(uapi::vfio_device_bind_iommufd, token_uuid_ptr))); });
}

/// VFIO_DEVICE_BIND_IOMMUFD with a VF token (6.17+): flags TOKEN, argsz 24, token_uuid_ptr = &token (which must
/// outlive the submit; temporaries are refused). `std::array<u8, 16> t{...}; auto r = wire::vfio::device_bind_iommufd(fd, t);`
template <typename Lazy = void>
[[nodiscard]] inline lazy_result<Lazy, request<uapi::vfio::device_bind_iommufd>> device_bind_iommufd(int iommufd, const std::array<u8, 16>& token) {
    auto r = device_bind_iommufd<Lazy>(iommufd);  // <Lazy>: instantiated only where this is
    if (r) {
        auto h = r->header();
        h.flags = uapi::device_bind_flag::token;
        h.token_uuid_ptr = reinterpret_cast<std::uintptr_t>(token.data());
        detail::put_header(*r, h, static_cast<u32>(sizeof h));
    }
    return r;  // the one return: r is the caller's result (NRVO)
}
[[nodiscard]] result<request<uapi::vfio::device_bind_iommufd>> device_bind_iommufd(int, const std::array<u8, 16>&&) = delete;  // dangling token

/// VFIO_DEVICE_ATTACH_IOMMUFD_PT of IOAS/HWPT pt_id to the whole device: flags 0, argsz 12 (pasid not sent).
///   auto r = wire::vfio::device_attach_iommufd_pt(ioas); io::submit(dev, r); r.header().pt_id;  // the HWPT
[[nodiscard]] inline request<uapi::vfio::device_attach_iommufd_pt> device_attach_iommufd_pt(u32 pt_id) {
    request<uapi::vfio::device_attach_iommufd_pt> r;
    uapi::vfio_device_attach_iommufd_pt h{};
    h.pt_id = pt_id;
    detail::put_header(r, h, static_cast<u32>(offsetof(uapi::vfio_device_attach_iommufd_pt, pasid)));
    return r;
}
/// VFIO_DEVICE_ATTACH_IOMMUFD_PT to one PASID (7.3+): flags PASID, argsz 16.
///   auto r = wire::vfio::device_attach_iommufd_pt(hwpt, 5);
[[nodiscard]] inline request<uapi::vfio::device_attach_iommufd_pt> device_attach_iommufd_pt(u32 pt_id, u32 pasid) {
    request<uapi::vfio::device_attach_iommufd_pt> r;
    uapi::vfio_device_attach_iommufd_pt h{};
    h.flags = uapi::device_attach_flag::pasid;
    h.pt_id = pt_id;
    h.pasid = pasid;
    detail::put_header(r, h, static_cast<u32>(sizeof h));
    return r;
}

/// VFIO_DEVICE_DETACH_IOMMUFD_PT of the whole device: flags 0, argsz 8. `io::submit(dev, wire::vfio::device_detach_iommufd_pt());`
[[nodiscard]] inline request<uapi::vfio::device_detach_iommufd_pt> device_detach_iommufd_pt() {
    request<uapi::vfio::device_detach_iommufd_pt> r;
    detail::put_header(r, uapi::vfio_device_detach_iommufd_pt{}, static_cast<u32>(offsetof(uapi::vfio_device_detach_iommufd_pt, pasid)));
    return r;
}
/// VFIO_DEVICE_DETACH_IOMMUFD_PT of one PASID (7.3+): flags PASID, argsz 12. `wire::vfio::device_detach_iommufd_pt(5)`
[[nodiscard]] inline request<uapi::vfio::device_detach_iommufd_pt> device_detach_iommufd_pt(u32 pasid) {
    request<uapi::vfio::device_detach_iommufd_pt> r;
    uapi::vfio_device_detach_iommufd_pt h{};
    h.flags = uapi::device_detach_flag::pasid;
    h.pasid = pasid;
    detail::put_header(r, h, static_cast<u32>(sizeof h));
    return r;
}

/// VFIO_MIG_GET_PRECOPY_INFO, issued on the migration data fd (argsz 24; initial/dirty bytes and flags out).
///   auto r = wire::vfio::mig_get_precopy_info(); io::submit(data_fd, r).value(); r.header().dirty_bytes;
[[nodiscard]] inline request<uapi::vfio::mig_get_precopy_info> mig_get_precopy_info() { return prep<uapi::vfio::mig_get_precopy_info>({}); }

}  // namespace vfiopp::wire::vfio
