// vfiopp/wire/requests.hpp - a typed builder for every mirrored ioctl that trailer.hpp does not already cover.
//
// One small function fills one kernel struct (liburing's io_uring_prep_* style); argsz/size, flags and op words are
// derived from the arguments and cannot be set inconsistently:
//
//   auto fd  = io::submit(group, wire::vfio::group_get_device_fd("0000:00:04.0").value());   // result<int>
//   auto att = wire::vfio::device_attach_iommufd_pt(hwpt, 5);       // flags = PASID, argsz 16 (12 without pasid)
//   auto dp  = wire::vfio::iommu_dirty_pages_get_bitmap(iova, size, 4096, std::span{words}).value();
//   auto db  = wire::iommufd::hwpt_get_dirty_bitmap(hwpt, iova, len, 4096, std::span{words}).value();
//   auto pa  = wire::pasid_alloc<uapi::abi::v7>({1, 1000}).value();  // submit() yields the PASID
//
// What the kernel would reject is refused before the ioctl, with a vfiopp::error naming the ioctl, the field and
// the errno the kernel would give; what the types decide is refused at compile time (static_assert).
//
// Coverage: wire::builders lists one entry per (ioctl, builder), derived from the builder's *return type*, so an
// entry cannot name the wrong ioctl; wire::has_builder(def) / wire::builder_of<def> say whether an ioctl_def is
// covered (tests/unit/wire_coverage_test.cpp checks every ioctl of every mirrored header).
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/uapi/iommufd.hpp>
#include <vfiopp/uapi/vfio.hpp>
#include <vfiopp/uapi/vfio_nesting.hpp>
#include <vfiopp/wire/checked.hpp>
#include <vfiopp/wire/negotiate.hpp>
#include <vfiopp/wire/request.hpp>
#include <vfiopp/wire/trailer.hpp>

#include <array>
#include <climits>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

namespace vfiopp::wire {

namespace detail {
/// Bytes of a dirty bitmap with one bit per page_size page of length bytes, in whole u64 words (the kernels'
/// DIRTY_BITMAP_BYTES / iova_bitmap rounding). page_size must be a power of two and length a non-zero multiple.
constexpr result<u64> dirty_bitmap_bytes(u64 iova, u64 length, u64 page_size, where w) {
    if (page_size == 0 || (page_size & (page_size - 1)) != 0)
        return refuse(w.ioctl, "page_size", EINVAL, "the page size must be a power of two");
    if (length == 0) return refuse(w.ioctl, w.field, EINVAL, "the range must not be empty");
    if (auto c = checked_range(iova, length, w); !c) return c.error();
    if (iova % page_size != 0 || length % page_size != 0)
        return refuse(w.ioctl, w.field, EINVAL, "iova and length must be multiples of the page size");
    const u64 pages = length / page_size;
    const u64 words = pages / 64 + (pages % 64 != 0 ? 1 : 0);
    return checked_mul<u64>(words, sizeof(u64), {w.ioctl, "bitmap"});
}

/// The vfio type1 limit on one bitmap: DIRTY_BITMAP_BYTES(DIRTY_BITMAP_PAGES_MAX = INT_MAX) (EINVAL above it).
inline constexpr u64 vfio_dirty_bitmap_size_max = (u64{INT_MAX} + 63) / 64 * 8;

/// Refuses a bitmap span smaller than `need` bytes.
constexpr result<void> check_bitmap_room(std::span<const u64> bitmap, u64 need, std::string_view ioctl) {
    if (bitmap.size_bytes() < need)
        return refuse(ioctl, "bitmap", EINVAL, "the bitmap is smaller than one bit per page of the range");
    return {};
}
}  // namespace detail

// =====================================================================================================
// VFIO (mainline)
// =====================================================================================================
namespace vfio {

// ---- container fd ----
/// VFIO_GET_API_VERSION (no argument; submit() yields the version, 0): `io::submit(c, wire::vfio::get_api_version())`
constexpr value_request<uapi::vfio::get_api_version> get_api_version() noexcept { return {}; }

/// VFIO_CHECK_EXTENSION (by value; submit() yields 0 or > 0): `wire::vfio::check_extension(extension::type1v2_iommu)`
constexpr value_request<uapi::vfio::check_extension> check_extension(uapi::extension e) noexcept {
    return value_request<uapi::vfio::check_extension>{static_cast<u32>(e)};
}

/// VFIO_SET_IOMMU (by value; submit() yields result<void>): `wire::vfio::set_iommu(extension::type1v2_iommu)`
constexpr value_request<uapi::vfio::set_iommu, returns::status> set_iommu(uapi::extension e) noexcept {
    return value_request<uapi::vfio::set_iommu, returns::status>{static_cast<u32>(e)};
}

/// VFIO_IOMMU_ENABLE (SPAPR TCE only; no argument): `io::submit(c, wire::vfio::iommu_enable())`
constexpr value_request<uapi::vfio::iommu_enable, returns::status> iommu_enable() noexcept { return {}; }
/// VFIO_IOMMU_DISABLE (SPAPR TCE only; no argument): `io::submit(c, wire::vfio::iommu_disable())`
constexpr value_request<uapi::vfio::iommu_disable, returns::status> iommu_disable() noexcept { return {}; }

/// VFIO_IOMMU_GET_INFO with room for a capability chain of Capacity bytes (argsz starts at 24; negotiate() grows it).
///   auto req = wire::vfio::iommu_get_info<512>(); wire::negotiate(container, req).value();
template <std::size_t Capacity = sizeof(uapi::vfio_iommu_type1_info)>
request<uapi::vfio::iommu_get_info, inline_storage<Capacity>> iommu_get_info() {
    return prep_with_room<uapi::vfio::iommu_get_info, Capacity>({});
}

/// VFIO_IOMMU_UNMAP_DMA of the mappings in [iova, iova + size) (flags 0, argsz 24); size 0 is EINVAL, a wrapping
/// range EOVERFLOW. After the ioctl header().size is the number of bytes unmapped.
///   auto r = wire::vfio::iommu_unmap_dma(0x100000, 0x200000).value();
inline result<request<uapi::vfio::iommu_unmap_dma>> iommu_unmap_dma(u64 iova, u64 size) {
    constexpr std::string_view name = uapi::vfio::iommu_unmap_dma.name;
    if (size == 0) return wire::detail::refuse(name, "size", EINVAL, "an unmap needs a non-zero size (use iommu_unmap_all)");
    if (auto c = checked_range(iova, size, {name, "size"}); !c) return c.error();
    uapi::vfio_iommu_type1_dma_unmap u{};
    u.iova = iova;
    u.size = size;
    return prep<uapi::vfio::iommu_unmap_dma>(u);
}

/// VFIO_IOMMU_UNMAP_DMA of every mapping (flags UNMAP_ALL, iova 0, size 0; needs extension::unmap_all).
///   io::submit(container, wire::vfio::iommu_unmap_all());
inline request<uapi::vfio::iommu_unmap_dma> iommu_unmap_all() {
    uapi::vfio_iommu_type1_dma_unmap u{};
    u.flags = uapi::unmap_dma_flag::all;
    return prep<uapi::vfio::iommu_unmap_dma>(u);
}

/// VFIO_IOMMU_UNMAP_DMA with flags VADDR: invalidates the vaddr of [iova, iova + size) (extension::update_vaddr);
/// re-supply it with MAP_DMA flags vaddr. `auto r = wire::vfio::iommu_unmap_vaddr(iova, size).value();`
inline result<request<uapi::vfio::iommu_unmap_dma>> iommu_unmap_vaddr(u64 iova, u64 size) {
    auto r = iommu_unmap_dma(iova, size);
    if (!r) return r.error();
    auto h = r->header();
    h.flags = uapi::unmap_dma_flag::vaddr;
    wire::detail::put_header(*r, h, static_cast<u32>(sizeof h));
    return r;
}

/// VFIO_IOMMU_UNMAP_DMA with a dirty bitmap (argsz 24 + sizeof(vfio_bitmap) = 48).
using unmap_dma_dirty_request =
    request<uapi::vfio::iommu_unmap_dma,
            inline_storage<::vfiopp::wire::detail::flex_offset<uapi::vfio_iommu_type1_dma_unmap> + sizeof(uapi::vfio_bitmap)>>;

/// VFIO_IOMMU_UNMAP_DMA with GET_DIRTY_BITMAP: unmaps [iova, iova + size) and fills the caller's bitmap (one bit
/// per pgsize page from iova; bitmap.size = the exact bytes needed). pgsize not a power of two, an unaligned
/// range or a too-small bitmap is EINVAL; a wrapping range EOVERFLOW. The bitmap must outlive the submit.
///   std::array<u64, 8> bits{}; auto r = wire::vfio::iommu_unmap_dma_dirty(iova, size, 4096, std::span{bits}).value();
inline result<unmap_dma_dirty_request> iommu_unmap_dma_dirty(u64 iova, u64 size, u64 pgsize, std::span<u64> bitmap) {
    constexpr std::string_view name = uapi::vfio::iommu_unmap_dma.name;
    auto need = wire::detail::dirty_bitmap_bytes(iova, size, pgsize, {name, "size"});
    if (!need) return need.error();
    if (*need > wire::detail::vfio_dirty_bitmap_size_max)
        return wire::detail::refuse(name, "size", EINVAL, "the range needs more than INT_MAX bitmap bits");
    if (auto c = wire::detail::check_bitmap_room(bitmap, *need, name); !c) return c.error();
    uapi::vfio_iommu_type1_dma_unmap u{};
    u.flags = uapi::unmap_dma_flag::get_dirty_bitmap;
    u.iova = iova;
    u.size = size;
    uapi::vfio_bitmap b{};
    b.pgsize = pgsize;
    b.size = *need;
    b.data = bitmap.data();
    unmap_dma_dirty_request r;
    if (auto st = wire::detail::put_with_trailer(r, u, &b, sizeof b, "data"); !st) return st.error();
    return r;
}

/// VFIO_IOMMU_DIRTY_PAGES with room for the GET_BITMAP trailer (argsz 8 for start/stop, 8 + 40 = 48 for get).
using dirty_pages_request =
    request<uapi::vfio::iommu_dirty_pages,
            inline_storage<::vfiopp::wire::detail::flex_offset<uapi::vfio_iommu_type1_dirty_bitmap> +
                           sizeof(uapi::vfio_iommu_type1_dirty_bitmap_get)>>;

namespace detail {
inline dirty_pages_request dirty_pages(uapi::dirty_pages_flag f) {
    dirty_pages_request r;
    uapi::vfio_iommu_type1_dirty_bitmap h{};
    h.flags = f;
    wire::detail::put_header(r, h, static_cast<u32>(sizeof h));
    return r;
}
}  // namespace detail

/// VFIO_IOMMU_DIRTY_PAGES START (argsz 8): `io::submit(container, wire::vfio::iommu_dirty_pages_start());`
inline dirty_pages_request iommu_dirty_pages_start() { return detail::dirty_pages(uapi::dirty_pages_flag::start); }
/// VFIO_IOMMU_DIRTY_PAGES STOP (argsz 8): `io::submit(container, wire::vfio::iommu_dirty_pages_stop());`
inline dirty_pages_request iommu_dirty_pages_stop() { return detail::dirty_pages(uapi::dirty_pages_flag::stop); }

/// VFIO_IOMMU_DIRTY_PAGES GET_BITMAP of [iova, iova + size) into the caller's bitmap (argsz 48; same checks as
/// iommu_unmap_dma_dirty). `auto r = wire::vfio::iommu_dirty_pages_get_bitmap(iova, sz, 4096, std::span{bits}).value();`
inline result<dirty_pages_request> iommu_dirty_pages_get_bitmap(u64 iova, u64 size, u64 pgsize, std::span<u64> bitmap) {
    constexpr std::string_view name = uapi::vfio::iommu_dirty_pages.name;
    auto need = wire::detail::dirty_bitmap_bytes(iova, size, pgsize, {name, "size"});
    if (!need) return need.error();
    if (*need > wire::detail::vfio_dirty_bitmap_size_max)
        return wire::detail::refuse(name, "size", EINVAL, "the range needs more than INT_MAX bitmap bits");
    if (auto c = wire::detail::check_bitmap_room(bitmap, *need, name); !c) return c.error();
    uapi::vfio_iommu_type1_dirty_bitmap h{};
    h.flags = uapi::dirty_pages_flag::get_bitmap;
    uapi::vfio_iommu_type1_dirty_bitmap_get g{};
    g.iova = iova;
    g.size = size;
    g.bitmap.pgsize = pgsize;
    g.bitmap.size = *need;
    g.bitmap.data = bitmap.data();
    dirty_pages_request r;
    if (auto st = wire::detail::put_with_trailer(r, h, &g, sizeof g, "data"); !st) return st.error();
    return r;
}

// ---- group fd ----
/// VFIO_GROUP_GET_STATUS (argsz 8; flags out): `auto r = wire::vfio::group_get_status(); io::submit(g, r);`
inline request<uapi::vfio::group_get_status> group_get_status() { return prep<uapi::vfio::group_get_status>({}); }

/// VFIO_GROUP_SET_CONTAINER: the image is the container fd itself (the kernel reads an int through the pointer).
using group_set_container_request = request<uapi::vfio::group_set_container, inline_storage<sizeof(uapi::s32)>>;

/// VFIO_GROUP_SET_CONTAINER(container_fd); a negative fd is EBADF before the ioctl.
///   io::submit(group, wire::vfio::group_set_container(container).value());
inline result<group_set_container_request> group_set_container(int container_fd) {
    if (container_fd < 0)
        return wire::detail::refuse(uapi::vfio::group_set_container.name, "container_fd", EBADF, "the container fd must be >= 0");
    group_set_container_request r;
    wire::detail::image_access::write(r, 0, static_cast<uapi::s32>(container_fd));
    wire::detail::image_access::set_size(r, sizeof(uapi::s32));
    return r;
}

/// VFIO_GROUP_UNSET_CONTAINER (no argument): `io::submit(group, wire::vfio::group_unset_container());`
constexpr value_request<uapi::vfio::group_unset_container, returns::status> group_unset_container() noexcept { return {}; }

/// Longest device name group_get_device_fd() holds inline by default (PCI names are 12, mdev UUIDs 36 bytes).
inline constexpr std::size_t device_name_max = 255;

/// VFIO_GROUP_GET_DEVICE_FD: the NUL-terminated name in inline storage; submit() yields the new device fd.
template <std::size_t MaxName = device_name_max>
using group_get_device_fd_request = request<uapi::vfio::group_get_device_fd, inline_storage<MaxName + 1>, returns::value>;

/// VFIO_GROUP_GET_DEVICE_FD(name): an empty name or one containing NUL is EINVAL, one longer than MaxName E2BIG.
///   int dev = io::submit(group, wire::vfio::group_get_device_fd("0000:00:04.0").value()).value();
template <std::size_t MaxName = device_name_max>
result<group_get_device_fd_request<MaxName>> group_get_device_fd(std::string_view name) {
    constexpr std::string_view ioctl = uapi::vfio::group_get_device_fd.name;
    if (name.empty()) return wire::detail::refuse(ioctl, "name", EINVAL, "the device name is empty");
    if (name.find('\0') != std::string_view::npos)
        return wire::detail::refuse(ioctl, "name", EINVAL, "the device name contains a NUL byte");
    if (name.size() > MaxName) return wire::detail::refuse(ioctl, "name", E2BIG, "the device name is longer than the inline storage");
    group_get_device_fd_request<MaxName> r;
    wire::detail::image_access::write_bytes(r, 0, name.data(), name.size());
    wire::detail::image_access::zero(r, name.size(), 1);
    wire::detail::image_access::set_size(r, static_cast<u32>(name.size() + 1));
    return r;
}

// ---- device fd ----
/// VFIO_DEVICE_RESET (no argument): `io::submit(dev, wire::vfio::device_reset());`
constexpr value_request<uapi::vfio::device_reset, returns::status> device_reset() noexcept { return {}; }

/// VFIO_DEVICE_GET_INFO with room for a capability chain (argsz starts at 24; wire::negotiate() grows it).
///   auto req = wire::vfio::device_get_info<256>(); wire::negotiate(dev, req).value();
template <std::size_t Capacity = sizeof(uapi::vfio_device_info)>
request<uapi::vfio::device_get_info, inline_storage<Capacity>> device_get_info() {
    return prep_with_room<uapi::vfio::device_get_info, Capacity>({});
}

/// VFIO_DEVICE_GET_REGION_INFO of region `index` with room for a capability chain (argsz starts at 32).
///   auto req = wire::vfio::device_get_region_info<1024>(pci_region_index::bar0); wire::negotiate(dev, req).value();
template <std::size_t Capacity = sizeof(uapi::vfio_region_info), typename Index>
request<uapi::vfio::device_get_region_info, inline_storage<Capacity>> device_get_region_info(Index index) {
    uapi::vfio_region_info h{};
    h.index = static_cast<u32>(index);
    return prep_with_room<uapi::vfio::device_get_region_info, Capacity>(h);
}

/// VFIO_DEVICE_GET_IRQ_INFO of irq `index` (argsz 16): `auto r = wire::vfio::device_get_irq_info(pci_irq_index::msix);`
template <typename Index>
request<uapi::vfio::device_get_irq_info> device_get_irq_info(Index index) {
    uapi::vfio_irq_info h{};
    h.index = static_cast<u32>(index);
    return prep<uapi::vfio::device_get_irq_info>(h);
}

/// VFIO_DEVICE_GET_PCI_HOT_RESET_INFO with room for MaxDevices vfio_pci_dependent_device entries.
template <std::size_t MaxDevices>
using pci_hot_reset_info_request =
    request<uapi::vfio::device_get_pci_hot_reset_info,
            inline_storage<::vfiopp::wire::detail::flex_offset<uapi::vfio_pci_hot_reset_info> + sizeof(uapi::vfio_pci_dependent_device) * MaxDevices>>;

/// VFIO_DEVICE_GET_PCI_HOT_RESET_INFO; argsz = 12 + 8 * MaxDevices (the whole storage, so the kernel can fill it;
/// ENOSPC with header().count = the number needed when it cannot). Entry i: req.read<vfio_pci_dependent_device>(12 + 8 * i).
///   auto req = wire::vfio::device_get_pci_hot_reset_info<16>(); io::submit(dev, req).value();
template <std::size_t MaxDevices>
pci_hot_reset_info_request<MaxDevices> device_get_pci_hot_reset_info() {
    pci_hot_reset_info_request<MaxDevices> r;
    wire::detail::put_header(r, uapi::vfio_pci_hot_reset_info{}, static_cast<u32>(r.capacity()));
    return r;
}

/// VFIO_DEVICE_QUERY_GFX_PLANE: flags must hold exactly one of dmabuf / region, optionally probe (EINVAL else).
///   auto r = wire::vfio::device_query_gfx_plane(gfx_plane_flag::dmabuf, 1 /* DRM_PLANE_TYPE_PRIMARY */).value();
inline result<request<uapi::vfio::device_query_gfx_plane>> device_query_gfx_plane(uapi::bitmask<uapi::gfx_plane_flag> flags,
                                                                                   u32 drm_plane_type) {
    constexpr std::string_view name = uapi::vfio::device_query_gfx_plane.name;
    if (flags.unknown() != 0) return wire::detail::refuse(name, "flags", EINVAL, "unknown gfx plane flag bits");
    if (flags.has(uapi::gfx_plane_flag::dmabuf) == flags.has(uapi::gfx_plane_flag::region))
        return wire::detail::refuse(name, "flags", EINVAL, "exactly one of dmabuf and region must be set");
    uapi::vfio_device_gfx_plane_info h{};
    h.flags = flags;
    h.drm_plane_type = drm_plane_type;
    return prep<uapi::vfio::device_query_gfx_plane>(h);
}

/// VFIO_DEVICE_GET_GFX_DMABUF: the image is the dmabuf_id (u32, from QUERY_GFX_PLANE); submit() yields the fd.
using device_get_gfx_dmabuf_request = request<uapi::vfio::device_get_gfx_dmabuf, inline_storage<sizeof(u32)>, returns::value>;

/// VFIO_DEVICE_GET_GFX_DMABUF(dmabuf_id): `int buf = io::submit(dev, wire::vfio::device_get_gfx_dmabuf(id)).value();`
inline device_get_gfx_dmabuf_request device_get_gfx_dmabuf(u32 dmabuf_id) {
    device_get_gfx_dmabuf_request r;
    wire::detail::image_access::write(r, 0, dmabuf_id);
    wire::detail::image_access::set_size(r, sizeof(u32));
    return r;
}

namespace detail {
template <typename T>
constexpr uapi::ioeventfd_flag ioeventfd_width() {
    if constexpr (std::is_same_v<T, u8>) return uapi::ioeventfd_flag::bits8;
    else if constexpr (std::is_same_v<T, u16>) return uapi::ioeventfd_flag::bits16;
    else if constexpr (std::is_same_v<T, u32>) return uapi::ioeventfd_flag::bits32;
    else if constexpr (std::is_same_v<T, u64>) return uapi::ioeventfd_flag::bits64;
    else static_assert(wire::detail::dependent_false<T>,
                       "VFIO_DEVICE_IOEVENTFD: the data type gives the write width and must be u8, u16, u32 or u64");
}
}  // namespace detail

/// VFIO_DEVICE_IOEVENTFD: write `data` (its type gives the width flag) at device fd `offset` when eventfd `fd`
/// fires; fd -1 removes it, fd < -1 is EBADF. `auto r = wire::vfio::device_ioeventfd<u16>(off, 0x1, efd).value();`
template <typename T>
result<request<uapi::vfio::device_ioeventfd>> device_ioeventfd(u64 offset, std::type_identity_t<T> data, int fd) {
    constexpr auto width = detail::ioeventfd_width<T>();
    if (fd < -1) return wire::detail::refuse(uapi::vfio::device_ioeventfd.name, "fd", EBADF, "the eventfd must be >= 0, or -1 to remove");
    if (auto c = checked_range(offset, sizeof(T), {uapi::vfio::device_ioeventfd.name, "offset"}); !c) return c.error();
    uapi::vfio_device_ioeventfd h{};
    h.flags = width;
    h.offset = offset;
    h.data = static_cast<u64>(data);
    h.fd = fd;
    return prep<uapi::vfio::device_ioeventfd>(h);
}

/// VFIO_DEVICE_BIND_IOMMUFD (cdev fd) without VF token: argsz 16 (accepted since 6.6); header().out_devid after.
///   auto r = wire::vfio::device_bind_iommufd(iommufd).value(); io::submit(dev, r).value();
inline result<request<uapi::vfio::device_bind_iommufd>> device_bind_iommufd(int iommufd) {
    constexpr std::string_view name = uapi::vfio::device_bind_iommufd.name;
    if (iommufd < 0) return wire::detail::refuse(name, "iommufd", EBADF, "the iommufd must be >= 0");
    request<uapi::vfio::device_bind_iommufd> r;
    uapi::vfio_device_bind_iommufd h{};
    h.iommufd = iommufd;
    wire::detail::put_header(r, h, static_cast<u32>(offsetof(uapi::vfio_device_bind_iommufd, token_uuid_ptr)));
    return r;
}

/// VFIO_DEVICE_BIND_IOMMUFD with a VF token (6.17+): flags TOKEN, argsz 24, token_uuid_ptr = &token (which must
/// outlive the submit; temporaries are refused). `std::array<u8, 16> t{...}; auto r = wire::vfio::device_bind_iommufd(fd, t);`
inline result<request<uapi::vfio::device_bind_iommufd>> device_bind_iommufd(int iommufd, const std::array<u8, 16>& token) {
    auto r = device_bind_iommufd(iommufd);
    if (!r) return r.error();
    auto h = r->header();
    h.flags = uapi::device_bind_flag::token;
    h.token_uuid_ptr = reinterpret_cast<std::uintptr_t>(token.data());
    wire::detail::put_header(*r, h, static_cast<u32>(sizeof h));
    return r;
}
result<request<uapi::vfio::device_bind_iommufd>> device_bind_iommufd(int, const std::array<u8, 16>&&) = delete;  // dangling token

/// VFIO_DEVICE_ATTACH_IOMMUFD_PT of IOAS/HWPT pt_id to the whole device: flags 0, argsz 12 (pasid not sent).
///   auto r = wire::vfio::device_attach_iommufd_pt(ioas); io::submit(dev, r); r.header().pt_id;  // the HWPT
inline request<uapi::vfio::device_attach_iommufd_pt> device_attach_iommufd_pt(u32 pt_id) {
    request<uapi::vfio::device_attach_iommufd_pt> r;
    uapi::vfio_device_attach_iommufd_pt h{};
    h.pt_id = pt_id;
    wire::detail::put_header(r, h, static_cast<u32>(offsetof(uapi::vfio_device_attach_iommufd_pt, pasid)));
    return r;
}
/// VFIO_DEVICE_ATTACH_IOMMUFD_PT to one PASID (7.3+): flags PASID, argsz 16.
///   auto r = wire::vfio::device_attach_iommufd_pt(hwpt, 5);
inline request<uapi::vfio::device_attach_iommufd_pt> device_attach_iommufd_pt(u32 pt_id, u32 pasid) {
    request<uapi::vfio::device_attach_iommufd_pt> r;
    uapi::vfio_device_attach_iommufd_pt h{};
    h.flags = uapi::device_attach_flag::pasid;
    h.pt_id = pt_id;
    h.pasid = pasid;
    wire::detail::put_header(r, h, static_cast<u32>(sizeof h));
    return r;
}

/// VFIO_DEVICE_DETACH_IOMMUFD_PT of the whole device: flags 0, argsz 8. `io::submit(dev, wire::vfio::device_detach_iommufd_pt());`
inline request<uapi::vfio::device_detach_iommufd_pt> device_detach_iommufd_pt() {
    request<uapi::vfio::device_detach_iommufd_pt> r;
    wire::detail::put_header(r, uapi::vfio_device_detach_iommufd_pt{}, static_cast<u32>(offsetof(uapi::vfio_device_detach_iommufd_pt, pasid)));
    return r;
}
/// VFIO_DEVICE_DETACH_IOMMUFD_PT of one PASID (7.3+): flags PASID, argsz 12. `wire::vfio::device_detach_iommufd_pt(5)`
inline request<uapi::vfio::device_detach_iommufd_pt> device_detach_iommufd_pt(u32 pasid) {
    request<uapi::vfio::device_detach_iommufd_pt> r;
    uapi::vfio_device_detach_iommufd_pt h{};
    h.flags = uapi::device_detach_flag::pasid;
    h.pasid = pasid;
    wire::detail::put_header(r, h, static_cast<u32>(sizeof h));
    return r;
}

/// VFIO_MIG_GET_PRECOPY_INFO, issued on the migration data fd (argsz 24; initial/dirty bytes and flags out).
///   auto r = wire::vfio::mig_get_precopy_info(); io::submit(data_fd, r).value(); r.header().dirty_bytes;
inline request<uapi::vfio::mig_get_precopy_info> mig_get_precopy_info() { return prep<uapi::vfio::mig_get_precopy_info>({}); }

}  // namespace vfio

// =====================================================================================================
// iommufd
// =====================================================================================================
namespace iommufd {

/// IOMMU_DESTROY of object id: `io::submit(iommufd, wire::iommufd::destroy(hwpt_id));`
inline request<uapi::iommufd::destroy> destroy(u32 id) {
    uapi::iommu_destroy h{};
    h.id = id;
    return prep<uapi::iommufd::destroy>(h);
}

/// IOMMU_IOAS_ALLOC (flags 0): `auto r = wire::iommufd::ioas_alloc(); io::submit(fd, r); r.header().out_ioas_id;`
inline request<uapi::iommufd::ioas_alloc> ioas_alloc() { return prep<uapi::iommufd::ioas_alloc>({}); }

namespace detail {
/// Access flags of a map: fixed_iova is derived from the optional iova and may not be passed by hand.
inline result<uapi::bitmask<uapi::ioas_map_flag>> map_flags(std::string_view name, uapi::bitmask<uapi::ioas_map_flag> access,
                                                            std::optional<u64> iova) {
    if (access.has(uapi::ioas_map_flag::fixed_iova))
        return wire::detail::refuse(name, "flags", EINVAL, "fixed_iova follows from passing an iova; do not set it");
    if (access.unknown() != 0) return wire::detail::refuse(name, "flags", EOPNOTSUPP, "unknown map flag bits");
    if (iova) access |= uapi::ioas_map_flag::fixed_iova;
    return access;
}

/// The checks IOAS_MAP, IOAS_MAP_FILE and IOAS_COPY share: a non-zero length, no wrap from the source start or
/// from the requested iova, then the access flags (map_flags). Field names are those of the ioctl's struct.
struct mapping_fields {
    std::string_view source;   ///< field named when source + length wraps ("length", "src_iova")
    std::string_view iova;     ///< field named when iova + length wraps ("iova", "dst_iova")
    std::string_view empty;    ///< message for length 0
};
inline result<uapi::bitmask<uapi::ioas_map_flag>> mapping_flags(std::string_view name, mapping_fields fields, u64 source,
                                                                u64 length, std::optional<u64> iova,
                                                                uapi::bitmask<uapi::ioas_map_flag> access) {
    if (length == 0) return wire::detail::refuse(name, "length", EINVAL, fields.empty);
    if (auto c = checked_range(source, length, {name, fields.source}); !c) return c.error();
    if (iova)
        if (auto c = checked_range(*iova, length, {name, fields.iova}); !c) return c.error();
    return map_flags(name, access, iova);
}
}  // namespace detail

/// IOMMU_IOAS_MAP of [user_va, user_va + length) with access (readable/writeable); with iova the mapping is placed
/// there (fixed_iova), else the kernel picks one (header().iova after). length 0: EINVAL; wrapping: EOVERFLOW.
///   auto r = wire::iommufd::ioas_map(ioas, uintptr_t(p), len, ioas_map_flag::readable | ioas_map_flag::writeable).value();
inline result<request<uapi::iommufd::ioas_map>> ioas_map(u32 ioas_id, u64 user_va, u64 length, uapi::bitmask<uapi::ioas_map_flag> access,
                                                         std::optional<u64> iova = {}) {
    constexpr std::string_view name = uapi::iommufd::ioas_map.name;
    auto f = detail::mapping_flags(name, {"length", "iova", "a mapping needs a non-zero length"}, user_va, length, iova,
                                   access);
    if (!f) return f.error();
    uapi::iommu_ioas_map h{};
    h.flags = *f;
    h.ioas_id = ioas_id;
    h.user_va = user_va;
    h.length = length;
    h.iova = iova.value_or(0);
    return prep<uapi::iommufd::ioas_map>(h);
}

/// IOMMU_IOAS_MAP_FILE of [start, start + length) of memfd fd; as ioas_map otherwise (fd < 0: EBADF).
///   auto r = wire::iommufd::ioas_map_file(ioas, memfd, 0, len, ioas_map_flag::readable, 0x100000).value();
inline result<request<uapi::iommufd::ioas_map_file>> ioas_map_file(u32 ioas_id, int fd, u64 start, u64 length,
                                                                   uapi::bitmask<uapi::ioas_map_flag> access,
                                                                   std::optional<u64> iova = {}) {
    constexpr std::string_view name = uapi::iommufd::ioas_map_file.name;
    if (fd < 0) return wire::detail::refuse(name, "fd", EBADF, "the file descriptor must be >= 0");
    auto f = detail::mapping_flags(name, {"length", "iova", "a mapping needs a non-zero length"}, start, length, iova,
                                   access);
    if (!f) return f.error();
    uapi::iommu_ioas_map_file h{};
    h.flags = *f;
    h.ioas_id = ioas_id;
    h.fd = fd;
    h.start = start;
    h.length = length;
    h.iova = iova.value_or(0);
    return prep<uapi::iommufd::ioas_map_file>(h);
}

/// IOMMU_IOAS_COPY of the mapping [src_iova, src_iova + length) of src into dst, at dst_iova if given.
///   auto r = wire::iommufd::ioas_copy(dst, src, src_iova, len, ioas_map_flag::readable).value();
inline result<request<uapi::iommufd::ioas_copy>> ioas_copy(u32 dst_ioas_id, u32 src_ioas_id, u64 src_iova, u64 length,
                                                           uapi::bitmask<uapi::ioas_map_flag> access,
                                                           std::optional<u64> dst_iova = {}) {
    constexpr std::string_view name = uapi::iommufd::ioas_copy.name;
    auto f = detail::mapping_flags(name, {"src_iova", "dst_iova", "a copy needs a non-zero length"}, src_iova, length,
                                   dst_iova, access);
    if (!f) return f.error();
    uapi::iommu_ioas_copy h{};
    h.flags = *f;
    h.dst_ioas_id = dst_ioas_id;
    h.src_ioas_id = src_ioas_id;
    h.length = length;
    h.dst_iova = dst_iova.value_or(0);
    h.src_iova = src_iova;
    return prep<uapi::iommufd::ioas_copy>(h);
}

/// IOMMU_IOAS_UNMAP of the mappings inside [iova, iova + length) (length 0: EINVAL; wrapping: EOVERFLOW);
/// header().length = bytes unmapped after. `auto r = wire::iommufd::ioas_unmap(ioas, iova, len).value();`
inline result<request<uapi::iommufd::ioas_unmap>> ioas_unmap(u32 ioas_id, u64 iova, u64 length) {
    constexpr std::string_view name = uapi::iommufd::ioas_unmap.name;
    if (length == 0) return wire::detail::refuse(name, "length", EINVAL, "an unmap needs a non-zero length (use ioas_unmap_all)");
    if (auto c = checked_range(iova, length, {name, "length"}); !c) return c.error();
    uapi::iommu_ioas_unmap h{};
    h.ioas_id = ioas_id;
    h.iova = iova;
    h.length = length;
    return prep<uapi::iommufd::ioas_unmap>(h);
}

/// IOMMU_IOAS_UNMAP of everything (iova 0, length U64_MAX): `io::submit(fd, wire::iommufd::ioas_unmap_all(ioas));`
inline request<uapi::iommufd::ioas_unmap> ioas_unmap_all(u32 ioas_id) {
    uapi::iommu_ioas_unmap h{};
    h.ioas_id = ioas_id;
    h.length = ~u64{0};
    return prep<uapi::iommufd::ioas_unmap>(h);
}

/// IOMMU_IOAS_ALLOW_IOVAS: the caller's ranges (pointed to; they must outlive the submit) become the allowed
/// list; empty clears it. start > last is EINVAL. `auto r = wire::iommufd::ioas_allow_iovas(ioas, std::span{ranges}).value();`
inline result<request<uapi::iommufd::ioas_allow_iovas>> ioas_allow_iovas(u32 ioas_id, std::span<const uapi::iommu_iova_range> ranges) {
    constexpr std::string_view name = uapi::iommufd::ioas_allow_iovas.name;
    auto n = checked_cast<u32>(ranges.size(), {name, "num_iovas"});
    if (!n) return n.error();
    for (const auto& rg : ranges)
        if (rg.start > rg.last) return wire::detail::refuse(name, "allowed_iovas", EINVAL, "a range's start is above its last");
    uapi::iommu_ioas_allow_iovas h{};
    h.ioas_id = ioas_id;
    h.num_iovas = *n;
    h.allowed_iovas = ranges.empty() ? 0 : reinterpret_cast<std::uintptr_t>(ranges.data());
    return prep<uapi::iommufd::ioas_allow_iovas>(h);
}

/// IOMMU_IOAS_IOVA_RANGES request (ioas_id in); issue it with wire::iommufd::ioas_iova_ranges(fd, ioas, out)
/// (negotiate.hpp), which points it at the caller's array. `auto r = wire::iommufd::ioas_iova_ranges_request(ioas);`
inline request<uapi::iommufd::ioas_iova_ranges> ioas_iova_ranges_request(u32 ioas_id) {
    uapi::iommu_ioas_iova_ranges h{};
    h.ioas_id = ioas_id;
    return prep<uapi::iommufd::ioas_iova_ranges>(h);
}

/// IOMMU_IOAS_CHANGE_PROCESS: `io::submit(fd, wire::iommufd::ioas_change_process());`
inline request<uapi::iommufd::ioas_change_process> ioas_change_process() { return prep<uapi::iommufd::ioas_change_process>({}); }

/// IOMMU_OPTION get of option_id (object_id 0 for rlimit_mode, the IOAS for huge_pages); val64 after.
///   auto r = wire::iommufd::option_get(iommufd_option::huge_pages, ioas); io::submit(fd, r); r.header().val64;
inline request<uapi::iommufd::option> option_get(uapi::iommufd_option id, u32 object_id = 0) {
    uapi::iommu_option h{};
    h.option_id = id;
    h.op = uapi::iommufd_option_op::get;
    h.object_id = object_id;
    return prep<uapi::iommufd::option>(h);
}
/// IOMMU_OPTION set: `io::submit(fd, wire::iommufd::option_set(iommufd_option::huge_pages, 0, ioas));`
inline request<uapi::iommufd::option> option_set(uapi::iommufd_option id, u64 value, u32 object_id = 0) {
    uapi::iommu_option h{};
    h.option_id = id;
    h.op = uapi::iommufd_option_op::set;
    h.object_id = object_id;
    h.val64 = value;
    return prep<uapi::iommufd::option>(h);
}

/// IOMMU_VFIO_IOAS get (ioas_id out): `auto r = wire::iommufd::vfio_ioas_get(); io::submit(fd, r); r.header().ioas_id;`
inline request<uapi::iommufd::vfio_ioas> vfio_ioas_get() {
    uapi::iommu_vfio_ioas h{};
    h.op = uapi::vfio_ioas_op::get;
    return prep<uapi::iommufd::vfio_ioas>(h);
}
/// IOMMU_VFIO_IOAS set: `io::submit(fd, wire::iommufd::vfio_ioas_set(ioas));`
inline request<uapi::iommufd::vfio_ioas> vfio_ioas_set(u32 ioas_id) {
    uapi::iommu_vfio_ioas h{};
    h.ioas_id = ioas_id;
    h.op = uapi::vfio_ioas_op::set;
    return prep<uapi::iommufd::vfio_ioas>(h);
}
/// IOMMU_VFIO_IOAS clear: `io::submit(fd, wire::iommufd::vfio_ioas_clear());`
inline request<uapi::iommufd::vfio_ioas> vfio_ioas_clear() {
    uapi::iommu_vfio_ioas h{};
    h.op = uapi::vfio_ioas_op::clear;
    return prep<uapi::iommufd::vfio_ioas>(h);
}

// ---- IOMMU_GET_HW_INFO ----
/// Vendor data types of IOMMU_GET_HW_INFO and the hw_info_type each one is.
template <typename D>
concept hw_info_data = std::is_same_v<D, uapi::iommu_hw_info_vtd> || std::is_same_v<D, uapi::iommu_hw_info_arm_smmuv3> ||
                       std::is_same_v<D, uapi::iommu_hw_info_tegra241_cmdqv> || std::is_same_v<D, uapi::iommu_hw_info_amd>;
template <hw_info_data D>
inline constexpr uapi::hw_info_type hw_info_type_of = std::is_same_v<D, uapi::iommu_hw_info_vtd>          ? uapi::hw_info_type::intel_vtd
                                                      : std::is_same_v<D, uapi::iommu_hw_info_arm_smmuv3> ? uapi::hw_info_type::arm_smmuv3
                                                      : std::is_same_v<D, uapi::iommu_hw_info_tegra241_cmdqv>
                                                          ? uapi::hw_info_type::tegra241_cmdqv
                                                          : uapi::hw_info_type::amd;

/// IOMMU_GET_HW_INFO without vendor data (data_len 0: out_data_type, capabilities and the needed data_len only).
///   auto r = wire::iommufd::get_hw_info(dev_id); io::submit(fd, r); r.header().out_capabilities;
inline request<uapi::iommufd::get_hw_info> get_hw_info(u32 dev_id) {
    uapi::iommu_hw_info h{};
    h.dev_id = dev_id;
    return prep<uapi::iommufd::get_hw_info>(h);
}

/// IOMMU_GET_HW_INFO into the caller's vendor struct (data_len = sizeof(D), data_uptr = &data; the kernel writes
/// it during the submit, so temporaries are refused). With ask_type the kernel must report D's type (flags
/// INPUT_TYPE, 6.17+); without it the driver's default type is reported: check header().data_type.out_data_type.
///   iommu_hw_info_vtd vtd{}; auto r = wire::iommufd::get_hw_info(dev_id, vtd); io::submit(fd, r);
template <hw_info_data D>
request<uapi::iommufd::get_hw_info> get_hw_info(u32 dev_id, D& data, bool ask_type = false) {
    uapi::iommu_hw_info h{};
    h.dev_id = dev_id;
    h.data_len = static_cast<u32>(sizeof(D));
    h.data_uptr = reinterpret_cast<std::uintptr_t>(&data);
    if (ask_type) {
        h.flags = uapi::hw_info_flag::input_type;
        h.data_type.in_data_type = hw_info_type_of<D>;
    }
    return prep<uapi::iommufd::get_hw_info>(h);
}
template <hw_info_data D>
request<uapi::iommufd::get_hw_info> get_hw_info(u32, const D&&, bool = false) = delete;  // data_uptr would dangle

// ---- dirty tracking ----
/// IOMMU_HWPT_SET_DIRTY_TRACKING on (flags ENABLE) or off (0): `io::submit(fd, wire::iommufd::hwpt_set_dirty_tracking(hwpt, true));`
inline request<uapi::iommufd::hwpt_set_dirty_tracking> hwpt_set_dirty_tracking(u32 hwpt_id, bool enable) {
    uapi::iommu_hwpt_set_dirty_tracking h{};
    h.hwpt_id = hwpt_id;
    if (enable) h.flags = uapi::hwpt_set_dirty_tracking_flag::enable;
    return prep<uapi::iommufd::hwpt_set_dirty_tracking>(h);
}

/// IOMMU_HWPT_GET_DIRTY_BITMAP of [iova, iova + length) into the caller's bitmap (bit i = page iova + i * page_size;
/// data = bitmap). page_size not a power of two, an unaligned or empty range, or a bitmap smaller than
/// ceil(length / page_size / 64) words: EINVAL; a wrapping range: EOVERFLOW. no_clear keeps the dirty state.
///   std::array<u64, 4> bits{}; auto r = wire::iommufd::hwpt_get_dirty_bitmap(hwpt, iova, len, 4096, std::span{bits}).value();
inline result<request<uapi::iommufd::hwpt_get_dirty_bitmap>> hwpt_get_dirty_bitmap(u32 hwpt_id, u64 iova, u64 length, u64 page_size,
                                                                                   std::span<u64> bitmap, bool no_clear = false) {
    constexpr std::string_view name = uapi::iommufd::hwpt_get_dirty_bitmap.name;
    auto need = wire::detail::dirty_bitmap_bytes(iova, length, page_size, {name, "length"});
    if (!need) return need.error();
    if (auto c = wire::detail::check_bitmap_room(bitmap, *need, name); !c) return c.error();
    uapi::iommu_hwpt_get_dirty_bitmap h{};
    h.hwpt_id = hwpt_id;
    if (no_clear) h.flags = uapi::hwpt_get_dirty_bitmap_flag::no_clear;
    h.iova = iova;
    h.length = length;
    h.page_size = page_size;
    h.data = reinterpret_cast<std::uintptr_t>(bitmap.data());
    return prep<uapi::iommufd::hwpt_get_dirty_bitmap>(h);
}

// ---- fault queues, vIOMMUs, vDEVICEs, vEVENTQs, HW queues ----
/// IOMMU_FAULT_QUEUE_ALLOC (flags 0): out_fault_id / out_fault_fd after. `auto r = wire::iommufd::fault_queue_alloc();`
inline request<uapi::iommufd::fault_queue_alloc> fault_queue_alloc() { return prep<uapi::iommufd::fault_queue_alloc>({}); }

/// IOMMU_VIOMMU_ALLOC of `type` over nest-parent HWPT hwpt_id for dev_id, without driver data (data_len 0).
///   auto r = wire::iommufd::viommu_alloc(dev, parent, viommu_type::arm_smmuv3); r.header().out_viommu_id;
inline request<uapi::iommufd::viommu_alloc> viommu_alloc(u32 dev_id, u32 hwpt_id, uapi::viommu_type type) {
    uapi::iommu_viommu_alloc h{};
    h.type = type;
    h.dev_id = dev_id;
    h.hwpt_id = hwpt_id;
    return prep<uapi::iommufd::viommu_alloc>(h);
}
/// IOMMU_VIOMMU_ALLOC of a Tegra241 CMDQV vIOMMU: type from the data, data_uptr = &data (the kernel writes the
/// mmap offset/length into it; temporaries refused). `iommu_viommu_tegra241_cmdqv d{}; wire::iommufd::viommu_alloc(dev, p, d);`
inline request<uapi::iommufd::viommu_alloc> viommu_alloc(u32 dev_id, u32 hwpt_id, uapi::iommu_viommu_tegra241_cmdqv& data) {
    uapi::iommu_viommu_alloc h{};
    h.type = uapi::viommu_type::tegra241_cmdqv;
    h.dev_id = dev_id;
    h.hwpt_id = hwpt_id;
    h.data_len = static_cast<u32>(sizeof data);
    h.data_uptr = reinterpret_cast<std::uintptr_t>(&data);
    return prep<uapi::iommufd::viommu_alloc>(h);
}
request<uapi::iommufd::viommu_alloc> viommu_alloc(u32, u32, uapi::iommu_viommu_tegra241_cmdqv&&) = delete;  // dangling data

/// IOMMU_VDEVICE_ALLOC: dev_id is virt_id (vSID / vRID) on the vIOMMU. `auto r = wire::iommufd::vdevice_alloc(viommu, dev, 0x10);`
inline request<uapi::iommufd::vdevice_alloc> vdevice_alloc(u32 viommu_id, u32 dev_id, u64 virt_id) {
    uapi::iommu_vdevice_alloc h{};
    h.viommu_id = viommu_id;
    h.dev_id = dev_id;
    h.virt_id = virt_id;
    return prep<uapi::iommufd::vdevice_alloc>(h);
}

/// IOMMU_VEVENTQ_ALLOC of a queue of `type` (not default_: EOPNOTSUPP) holding depth events (0: EINVAL).
///   auto r = wire::iommufd::veventq_alloc(viommu, veventq_type::arm_smmuv3, 64).value(); r.header().out_veventq_fd;
inline result<request<uapi::iommufd::veventq_alloc>> veventq_alloc(u32 viommu_id, uapi::veventq_type type, u32 depth) {
    constexpr std::string_view name = uapi::iommufd::veventq_alloc.name;
    if (type == uapi::veventq_type::default_) return wire::detail::refuse(name, "type", EOPNOTSUPP, "a vEVENTQ needs a driver event type");
    if (depth == 0) return wire::detail::refuse(name, "veventq_depth", EINVAL, "the queue depth must be > 0");
    uapi::iommu_veventq_alloc h{};
    h.viommu_id = viommu_id;
    h.type = type;
    h.veventq_depth = depth;
    return prep<uapi::iommufd::veventq_alloc>(h);
}

/// IOMMU_HW_QUEUE_ALLOC of queue `index` of `type` over guest memory [nesting_parent_iova, + length) (length 0:
/// EINVAL; wrapping: EOVERFLOW). `auto r = wire::iommufd::hw_queue_alloc(viommu, hw_queue_type::tegra241_cmdqv, 0, gpa, 0x10000).value();`
inline result<request<uapi::iommufd::hw_queue_alloc>> hw_queue_alloc(u32 viommu_id, uapi::hw_queue_type type, u32 index,
                                                                     u64 nesting_parent_iova, u64 length) {
    constexpr std::string_view name = uapi::iommufd::hw_queue_alloc.name;
    if (length == 0) return wire::detail::refuse(name, "length", EINVAL, "a queue needs a non-zero length");
    if (auto c = checked_range(nesting_parent_iova, length, {name, "length"}); !c) return c.error();
    uapi::iommu_hw_queue_alloc h{};
    h.viommu_id = viommu_id;
    h.type = type;
    h.index = index;
    h.nesting_parent_iova = nesting_parent_iova;
    h.length = length;
    return prep<uapi::iommufd::hw_queue_alloc>(h);
}

/// IOMMU_IOAS_NOIOMMU_GET_PA of iova (at most length bytes; 0: EINVAL): out_phys and the contiguous length after.
///   auto r = wire::iommufd::ioas_noiommu_get_pa(ioas, iova, 1 << 20).value();
inline result<request<uapi::iommufd::ioas_noiommu_get_pa>> ioas_noiommu_get_pa(u32 ioas_id, u64 iova, u64 length) {
    constexpr std::string_view name = uapi::iommufd::ioas_noiommu_get_pa.name;
    if (length == 0) return wire::detail::refuse(name, "length", EINVAL, "the query needs a non-zero length");
    if (auto c = checked_range(iova, length, {name, "length"}); !c) return c.error();
    uapi::iommu_ioas_noiommu_get_pa h{};
    h.ioas_id = ioas_id;
    h.iova = iova;
    h.length = length;
    return prep<uapi::iommufd::ioas_noiommu_get_pa>(h);
}

}  // namespace iommufd

// =====================================================================================================
// The 2020 proposal: VFIO_IOMMU_PASID_REQUEST, both revisions, selected by ABI tag
// =====================================================================================================
/// An inclusive PASID range: `wire::pasid_range{1, 1000}`.
struct pasid_range {
    u32 min;
    u32 max;
};

/// VFIO_IOMMU_PASID_REQUEST of revision Abi: v7 returns the PASID as the ioctl's value (submit() yields it), the
/// seed writes it to header().pasid.
template <typename Abi>
using pasid_request =
    request<uapi::abi_traits<Abi>::pasid_request, inline_storage<sizeof(typename uapi::abi_traits<Abi>::pasid_request_type)>,
            uapi::abi_traits<Abi>::pasid_is_return_value ? returns::value : returns::status>;

namespace detail {
template <typename Abi>
result<void> check_pasid_range(pasid_range r) {
    constexpr std::string_view name = uapi::abi_traits<Abi>::pasid_request.name;
    if (r.min > r.max) return wire::detail::refuse(name, "range", EINVAL, "range.min is above range.max");
    if constexpr (std::is_same_v<Abi, uapi::abi::v7>) {
        // The v7 kernel compares with `> 1 << VFIO_IOMMU_PASID_BITS`; PASIDs are 31-bit values, so stay below.
        constexpr u32 pasid_max = (u32{1} << uapi::v7::vfio_iommu_pasid_bits) - 1;
        if (r.max > pasid_max) return wire::detail::refuse(name, "range", EINVAL, "range.max exceeds the 31-bit PASID space");
    }
    return {};
}
}  // namespace detail

/// VFIO_IOMMU_PASID_REQUEST ALLOC of one PASID in range (flags = alloc; min > max, or for v7 max > 0x7fffffff:
/// EINVAL before the ioctl). `int pasid = io::submit(container, wire::pasid_alloc<abi::v7>({1, 1000}).value()).value();`
template <uapi::proposal_abi Abi>
result<pasid_request<Abi>> pasid_alloc(pasid_range range) {
    using T = uapi::abi_traits<Abi>;
    if (auto c = detail::check_pasid_range<Abi>(range); !c) return c.error();
    typename T::pasid_request_type h{};
    h.flags = T::pasid_request_flag::alloc;
    h.range.min = range.min;
    h.range.max = range.max;
    pasid_request<Abi> r;
    wire::detail::put_header(r, h, static_cast<u32>(sizeof h));
    return r;
}

/// v7 VFIO_IOMMU_PASID_REQUEST FREE of every PASID of this process in range (flags = free; same range checks).
///   io::submit(container, wire::pasid_free<abi::v7>({5, 5}).value());
template <uapi::proposal_abi Abi>
    requires std::is_same_v<Abi, uapi::abi::v7>
result<pasid_request<Abi>> pasid_free(pasid_range range) {
    if (auto c = detail::check_pasid_range<Abi>(range); !c) return c.error();
    uapi::v7::vfio_iommu_type1_pasid_request h{};
    h.flags = uapi::v7::pasid_request_flag::free;
    h.range.min = range.min;
    h.range.max = range.max;
    pasid_request<Abi> r;
    wire::detail::put_header(r, h, static_cast<u32>(sizeof h));
    return r;
}

/// seed VFIO_IOMMU_PASID_REQUEST FREE of one PASID (the seed frees `pasid`, not a range): `wire::pasid_free<abi::seed>(5u)`
template <uapi::proposal_abi Abi>
    requires std::is_same_v<Abi, uapi::abi::seed>
pasid_request<Abi> pasid_free(u32 pasid) {
    uapi::seed::vfio_iommu_pasid_request h{};
    h.flags = uapi::seed::pasid_request_flag::free;
    h.pasid = pasid;
    pasid_request<Abi> r;
    wire::detail::put_header(r, h, static_cast<u32>(sizeof h));
    return r;
}

// =====================================================================================================
// Coverage: which ioctl each builder is for
// =====================================================================================================
/// One builder of one ioctl, taken from the builder's return type.
struct builder_info {
    uapi::abi_kind abi;
    u32 code;
    std::string_view ioctl;    ///< kernel macro name
    std::string_view builder;  ///< the C++ builder, for reports
};

namespace detail {
template <typename T>
struct request_of {
    using type = T;
};
template <typename T>
struct request_of<result<T>> {
    using type = T;
};
/// An entry for the request type a builder returns (result<R> unwrapped); Req::ioctl *is* the ioctl.
template <typename BuilderResult>
constexpr builder_info cover(std::string_view builder) {
    using Req = typename request_of<std::remove_cvref_t<BuilderResult>>::type;
    static_assert(request_like<Req>, "vfiopp: a registered builder must return a request (or result<request>)");
    return {Req::ioctl.abi, Req::ioctl.code, Req::ioctl.name, builder};
}
}  // namespace detail

/// Every ioctl builder of the wire layer (trailer.hpp, negotiate.hpp and this header), by the type it returns.
///   for (auto& b : wire::builders) fmt::print("{} -> {}\n", b.ioctl, b.builder);
inline constexpr auto builders = std::array{
    // vfio container
    detail::cover<decltype(vfio::get_api_version())>("wire::vfio::get_api_version"),
    detail::cover<decltype(vfio::check_extension(uapi::extension{}))>("wire::vfio::check_extension"),
    detail::cover<decltype(vfio::set_iommu(uapi::extension{}))>("wire::vfio::set_iommu"),
    detail::cover<decltype(vfio::iommu_enable())>("wire::vfio::iommu_enable"),
    detail::cover<decltype(vfio::iommu_disable())>("wire::vfio::iommu_disable"),
    detail::cover<decltype(vfio::iommu_get_info())>("wire::vfio::iommu_get_info"),
    detail::cover<decltype(vfio::iommu_map_dma(0, 0, 0, {}))>("wire::vfio::iommu_map_dma"),
    detail::cover<decltype(vfio::iommu_unmap_dma(0, 0))>("wire::vfio::iommu_unmap_dma / _all / _vaddr / _dma_dirty"),
    detail::cover<vfio::dirty_pages_request>("wire::vfio::iommu_dirty_pages_start / _stop / _get_bitmap"),
    // vfio group
    detail::cover<decltype(vfio::group_get_status())>("wire::vfio::group_get_status"),
    detail::cover<decltype(vfio::group_set_container(0))>("wire::vfio::group_set_container"),
    detail::cover<decltype(vfio::group_unset_container())>("wire::vfio::group_unset_container"),
    detail::cover<decltype(vfio::group_get_device_fd(std::string_view{}))>("wire::vfio::group_get_device_fd"),
    // vfio device
    detail::cover<decltype(vfio::device_get_info())>("wire::vfio::device_get_info"),
    detail::cover<decltype(vfio::device_get_region_info(0u))>("wire::vfio::device_get_region_info"),
    detail::cover<decltype(vfio::device_get_irq_info(0u))>("wire::vfio::device_get_irq_info"),
    detail::cover<vfio::set_irqs_request<0>>("wire::vfio::set_irqs_none / _bools / _eventfds"),
    detail::cover<decltype(vfio::device_reset())>("wire::vfio::device_reset"),
    detail::cover<vfio::pci_hot_reset_info_request<1>>("wire::vfio::device_get_pci_hot_reset_info"),
    detail::cover<decltype(vfio::pci_hot_reset_devid())>("wire::vfio::pci_hot_reset_devid / _groups"),
    detail::cover<decltype(vfio::device_query_gfx_plane({}, 0))>("wire::vfio::device_query_gfx_plane"),
    detail::cover<decltype(vfio::device_get_gfx_dmabuf(0))>("wire::vfio::device_get_gfx_dmabuf"),
    detail::cover<decltype(vfio::device_ioeventfd<u32>(0, 0, 0))>("wire::vfio::device_ioeventfd"),
    detail::cover<decltype(vfio::feature_probe<vfio::low_power_exit>())>("wire::vfio::feature_get / _set / _probe"),
    detail::cover<decltype(vfio::device_bind_iommufd(0))>("wire::vfio::device_bind_iommufd"),
    detail::cover<decltype(vfio::device_attach_iommufd_pt(0))>("wire::vfio::device_attach_iommufd_pt"),
    detail::cover<decltype(vfio::device_detach_iommufd_pt())>("wire::vfio::device_detach_iommufd_pt"),
    detail::cover<decltype(vfio::mig_get_precopy_info())>("wire::vfio::mig_get_precopy_info"),
    // iommufd
    detail::cover<decltype(iommufd::destroy(0))>("wire::iommufd::destroy"),
    detail::cover<decltype(iommufd::ioas_alloc())>("wire::iommufd::ioas_alloc"),
    detail::cover<decltype(iommufd::ioas_allow_iovas(0, {}))>("wire::iommufd::ioas_allow_iovas"),
    detail::cover<decltype(iommufd::ioas_copy(0, 0, 0, 0, {}))>("wire::iommufd::ioas_copy"),
    detail::cover<decltype(iommufd::ioas_iova_ranges_request(0))>("wire::iommufd::ioas_iova_ranges (negotiate.hpp)"),
    detail::cover<decltype(iommufd::ioas_map(0, 0, 0, {}))>("wire::iommufd::ioas_map"),
    detail::cover<decltype(iommufd::ioas_unmap(0, 0, 0))>("wire::iommufd::ioas_unmap / ioas_unmap_all"),
    detail::cover<decltype(iommufd::option_get({}))>("wire::iommufd::option_get / option_set"),
    detail::cover<decltype(iommufd::vfio_ioas_get())>("wire::iommufd::vfio_ioas_get / _set / _clear"),
    detail::cover<decltype(iommufd::hwpt_alloc(0, 0, {}))>("wire::iommufd::hwpt_alloc"),
    detail::cover<decltype(iommufd::get_hw_info(0))>("wire::iommufd::get_hw_info"),
    detail::cover<decltype(iommufd::hwpt_set_dirty_tracking(0, false))>("wire::iommufd::hwpt_set_dirty_tracking"),
    detail::cover<request<uapi::iommufd::hwpt_get_dirty_bitmap>>("wire::iommufd::hwpt_get_dirty_bitmap"),
    detail::cover<request<uapi::iommufd::hwpt_invalidate>>("wire::iommufd::hwpt_invalidate"),
    detail::cover<decltype(iommufd::fault_queue_alloc())>("wire::iommufd::fault_queue_alloc"),
    detail::cover<decltype(iommufd::ioas_map_file(0, 0, 0, 0, {}))>("wire::iommufd::ioas_map_file"),
    detail::cover<decltype(iommufd::viommu_alloc(0, 0, uapi::viommu_type{}))>("wire::iommufd::viommu_alloc"),
    detail::cover<decltype(iommufd::vdevice_alloc(0, 0, 0))>("wire::iommufd::vdevice_alloc"),
    detail::cover<decltype(iommufd::ioas_change_process())>("wire::iommufd::ioas_change_process"),
    detail::cover<decltype(iommufd::veventq_alloc(0, {}, 0))>("wire::iommufd::veventq_alloc"),
    detail::cover<decltype(iommufd::hw_queue_alloc(0, {}, 0, 0, 0))>("wire::iommufd::hw_queue_alloc"),
    detail::cover<decltype(iommufd::ioas_noiommu_get_pa(0, 0, 0))>("wire::iommufd::ioas_noiommu_get_pa"),
    // the 2020 proposal
    detail::cover<decltype(pasid_alloc<uapi::abi::seed>({}))>("wire::pasid_alloc<abi::seed> / pasid_free<abi::seed>"),
    detail::cover<decltype(nesting_op<uapi::abi::seed>(nesting_payload{}))>("wire::nesting_op<abi::seed>"),
    detail::cover<decltype(pasid_alloc<uapi::abi::v7>({}))>("wire::pasid_alloc<abi::v7> / pasid_free<abi::v7>"),
    detail::cover<decltype(nesting_op<uapi::abi::v7>(nesting_payload{}))>("wire::nesting_op<abi::v7>"),
};

/// The builder entry of an ioctl (matched by ABI, code and name, since codes collide across fds and ABIs), or
/// nullptr. `static_assert(wire::builder_for(uapi::vfio::device_reset) != nullptr);`
template <typename Arg>
constexpr const builder_info* builder_for(const uapi::ioctl_def<Arg>& def) {
    for (const auto& b : builders)
        if (b.abi == def.abi && b.code == def.code && b.ioctl == def.name) return &b;
    return nullptr;
}

/// Whether the wire layer has a typed builder for def: `static_assert(wire::has_builder(uapi::iommufd::destroy));`
template <typename Arg>
constexpr bool has_builder(const uapi::ioctl_def<Arg>& def) {
    return builder_for(def) != nullptr;
}

/// The same as a trait on the ioctl_def object: `static_assert(wire::builder_of<uapi::vfio::device_reset>);`
template <const auto& Def>
inline constexpr bool builder_of = has_builder(Def);

}  // namespace vfiopp::wire
