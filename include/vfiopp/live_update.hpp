// vfiopp/live_update.hpp - handing DMA mappings to a new process without stopping DMA (live update / CPR).
//
//   // type1 (VFIO_UPDATE_VADDR): guest RAM in a memfd, mapped in both processes
//   vfiopp::invalidate_vaddr(c, ram_mapping).value();   // old process: UNMAP_DMA FLAG_VADDR (DMA keeps going)
//   vfiopp::send_fds(sock, std::array{c.fd(), dev.fd(), memfd}, {}).value();  ram_mapping.release();
//   // new process: container::from_fd, mmap the memfd anywhere, then
//   vfiopp::update_vaddr(c2, iova, size, new_ram).value();   // MAP_DMA FLAG_VADDR: the new owner's address
//
//   // iommufd (IOMMU_IOAS_CHANGE_PROCESS): only file-backed mappings (ioas.map_file of a memfd) may exist
//   vfiopp::change_process(ctx2).value();                    // new process: pinned pages now charged to it
//
// UPDATE_VADDR does not move DMA: the IOMMU keeps the pages pinned at MAP time; the new vaddr must map the same
// memory (a shared memfd or file) in the new process. Between the two calls the kernel blocks only what needs the
// vaddr (new pins of mdev devices: EBUSY when one is attached). The old process must give its dma_mapping objects
// up (release()) rather than let them unmap.
#pragma once

#include <vfiopp/container.hpp>
#include <vfiopp/dma_mapping.hpp>
#include <vfiopp/error.hpp>
#include <vfiopp/iommufd.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/wire/iommufd.hpp>
#include <vfiopp/wire/request.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <cerrno>
#include <cstdint>

namespace vfiopp {

/// VFIO_CHECK_EXTENSION VFIO_UPDATE_VADDR (type1 since 5.12): `if (supports_update_vaddr(c).value()) ...`
[[nodiscard]] inline result<bool> supports_update_vaddr(const container& c) {
    return c.has_extension(uapi::extension::update_vaddr);
}

/// VFIO_IOMMU_UNMAP_DMA FLAG_VADDR of [iova, iova + size): the IOMMU keeps translating, the kernel forgets the
/// process address (call before exec or handing the container over). Returns the bytes invalidated.
///   vfiopp::invalidate_vaddr(c, 0x100000, 2 << 20).value();
[[nodiscard]] inline result<std::uint64_t> invalidate_vaddr(container& c, std::uint64_t iova, std::uint64_t size) {
    auto req = wire::vfio::iommu_unmap_vaddr(iova, size);
    if (!req) return std::move(req.error()).with("iova", iova).with("size", size);
    if (auto r = io::submit(c.fd(), *req, c.hook()); !r) {
        auto e = r.error().with("iova", iova).with("size", size);
        if (e.code == EBUSY) e.advise("a mediated device (mdev) is in the container: its pins need the vaddr");
        if (e.code == EINVAL)
            e.advise("the range must cover whole mappings (their exact starts and ends), or the kernel lacks "
                     "VFIO_UPDATE_VADDR (check supports_update_vaddr)");
        return e;
    }
    std::uint64_t done = req->header().size;
    if (done == 0)
        return detail::refuse(uapi::vfio::iommu_unmap_dma.name, "iova", ENOENT, "no mapping there to invalidate")
            .with("iova", iova)
            .with("size", size);
    return done;
}
/// invalidate_vaddr() of exactly one mapping (which stays mapped; release() it before its object goes):
/// `vfiopp::invalidate_vaddr(c, ram).value(); ram.release();`
[[nodiscard]] inline result<std::uint64_t> invalidate_vaddr(container& c, const dma_mapping& m) {
    return invalidate_vaddr(c, m.iova(), m.size());
}
/// VFIO_IOMMU_UNMAP_DMA FLAG_VADDR | FLAG_ALL: every mapping's vaddr; returns the bytes invalidated.
///   vfiopp::invalidate_all_vaddr(c).value();
[[nodiscard]] inline result<std::uint64_t> invalidate_all_vaddr(container& c) {
    auto req = wire::vfio::iommu_unmap_all();
    auto h = req.header();
    h.flags = uapi::bitmask<uapi::unmap_dma_flag>(uapi::unmap_dma_flag::all) | uapi::unmap_dma_flag::vaddr;
    detail::put_header(req, h, static_cast<std::uint32_t>(sizeof h));
    if (auto r = io::submit(c.fd(), req, c.hook()); !r) {
        auto e = r.error();
        if (e.code == EBUSY) e.advise("a mediated device (mdev) is in the container: its pins need the vaddr");
        return e;
    }
    return req.header().size;
}

/// VFIO_IOMMU_MAP_DMA FLAG_VADDR: re-supplies the process address of the invalidated mapping [iova, iova + size)
/// (same iova and size as mapped); the mapping's pinned-page accounting moves to the calling process (7.x).
///   vfiopp::update_vaddr(c, 0x100000, 2 << 20, new_ram).value();
[[nodiscard]] inline result<void> update_vaddr(container& c, std::uint64_t iova, std::uint64_t size, const void* new_vaddr) {
    auto va = reinterpret_cast<std::uintptr_t>(new_vaddr);
    auto req = wire::vfio::iommu_map_dma(va, iova, size, uapi::map_dma_flag::vaddr);
    if (!req) return std::move(req.error()).with("iova", iova).with("size", size);
    if (auto r = io::submit(c.fd(), *req, c.hook()); !r) {
        auto e = r.error().with("iova", iova).with("size", size).with("vaddr", va);
        if (e.code == ENOENT) e.advise("no mapping starts at this iova");
        if (e.code == EINVAL)
            e.advise("the mapping's vaddr was not invalidated first (invalidate_vaddr), or iova/size differ from the "
                     "mapping's, or the address is not page-aligned");
        return e;
    }
    return {};
}
/// update_vaddr() of a mapping the calling process still holds: `vfiopp::update_vaddr(c, ram, new_ram).value();`
[[nodiscard]] inline result<void> update_vaddr(container& c, const dma_mapping& m, const void* new_vaddr) {
    return update_vaddr(c, m.iova(), m.size(), new_vaddr);
}

/// IOMMU_IOAS_CHANGE_PROCESS (6.14+): the calling process takes over the iommufd's mappings (their pinned pages
/// are charged to it). Every mapping of every IOAS must be file-backed (ioas::map_file): EINVAL otherwise.
///   auto ctx = vfiopp::iommufd::from_fd(vfiopp::receive_fd(sock).value()).value(); vfiopp::change_process(ctx).value();
[[nodiscard]] inline result<void> change_process(const iommufd& ctx) {
    if (auto r = io::submit(ctx.fd(), wire::iommufd::ioas_change_process(), ctx.hook()); !r) {
        auto e = r.error();
        if (e.code == EINVAL)
            e.advise("a mapping is not file-backed (IOAS_MAP of user memory): only IOAS_MAP_FILE mappings can change "
                     "process; unmap the others first");
        if (e.code == ENOTTY) e.advise("IOMMU_IOAS_CHANGE_PROCESS needs Linux 6.14 or later");
        if (e.code == EBUSY) e.advise("a mapping is being made or torn down (an access object holds it)");
        return e;
    }
    return {};
}

}  // namespace vfiopp
