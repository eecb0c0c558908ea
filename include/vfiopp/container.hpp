// vfiopp/container.hpp - a VFIO type1 container (/dev/vfio/vfio): the IOMMU address space of the legacy backend.
//
//   auto c = vfiopp::container::open().value();              // API version checked
//   auto g = vfiopp::group::open(12).value();
//   g.attach(c).value();                                      // SET_CONTAINER, then SET_IOMMU (type1v2) if unset
//   auto ram = c.map(guest_ram, 0x0, 64 << 20).value();       // VFIO_IOMMU_MAP_DMA; unmapped when `ram` goes
//   auto info = c.info().value();                             // page sizes, usable IOVA ranges, mappings left
//
// The container refuses to map before an IOMMU model is set (the kernel would say EINVAL without a reason): a
// group must be attached first. It counts its groups and live mappings, so that group::detach() can refuse to
// drop the last group while mappings exist (the kernel would silently discard them with the IOMMU model).
#pragma once

#include <vfiopp/dma_mapping.hpp>
#include <vfiopp/error.hpp>
#include <vfiopp/io/negotiate.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/iova_allocator.hpp>
#include <vfiopp/unique_fd.hpp>
#include <vfiopp/wire/caps.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <fcntl.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace vfiopp {

/// What VFIO_IOMMU_GET_INFO reports, with its capability chain read out.
struct container_info {
    std::uint64_t iova_pgsizes = 0;             ///< bit n set: pages of 2^n bytes can be mapped
    std::vector<iova_range> iova_ranges;        ///< usable IOVA ranges (CAP_IOVA_RANGE); empty if not reported
    std::optional<std::uint32_t> dma_avail;     ///< mappings the container may still create (DMA_AVAIL)
    std::optional<std::uint64_t> dirty_pgsizes; ///< dirty-tracking page sizes (CAP_MIGRATION)
    std::uint64_t max_dirty_bitmap_size = 0;    ///< bytes, from CAP_MIGRATION
    /// The smallest IOMMU page size: the alignment of every mapping. `c.info()->min_page_size()`.
    [[nodiscard]] std::uint64_t min_page_size() const noexcept {
        return iova_pgsizes ? iova_pgsizes & (~iova_pgsizes + 1) : 4096;
    }
};

/// A type1 container; move-only, owns its fd, closes it last (after the groups and mappings made through it).
class container {
public:
    /// Opens /dev/vfio/vfio and checks VFIO_GET_API_VERSION: `auto c = vfiopp::container::open().value();`
    [[nodiscard]] static result<container> open(io::ioctl_hook hook = {}) {
        unique_fd fd{::open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC)};
        if (!fd) {
            int code = errno;
            error e{"open", "path", code, {}, error_origin::kernel};
            e.about("/dev/vfio/vfio");
            if (code == ENOENT) e.advise("no VFIO: load the vfio and vfio_iommu_type1 modules (modprobe vfio-pci)");
            if (code == EACCES || code == EPERM) e.advise("permission denied: the VMM needs read/write access to /dev/vfio/vfio");
            return e;
        }
        return from_fd(std::move(fd), hook);
    }
    /// Adopts a container fd (e.g. one received with receive_fd() from a privileged helper); checks the API version.
    ///   auto c = vfiopp::container::from_fd(vfiopp::receive_fd(sock).value()).value();
    [[nodiscard]] static result<container> from_fd(unique_fd fd, io::ioctl_hook hook = {}) {
        container c{std::move(fd), hook};
        auto v = c.api_version();
        if (!v) return v.error();
        if (static_cast<std::uint32_t>(*v) != uapi::vfio_api_version)
            return detail::refuse(uapi::vfio::get_api_version.name, "version", EINVAL,
                                  "the kernel's VFIO API version is not the one vfiopp speaks (0)")
                .with("version", static_cast<std::uint64_t>(*v));
        return c;
    }

    /// The fd, for the caller's own event loop or to hand to another process: `send_fd(sock, c.fd());`
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    /// The ioctl hook every request of this container (and what it makes) goes through.
    [[nodiscard]] const io::ioctl_hook& hook() const noexcept { return hook_; }

    /// VFIO_GET_API_VERSION: `c.api_version().value() == 0`.
    [[nodiscard]] result<int> api_version() const { return io::submit(fd(), wire::vfio::get_api_version(), hook_); }
    /// VFIO_CHECK_EXTENSION: `if (c.has_extension(uapi::extension::unmap_all).value()) ...`.
    [[nodiscard]] result<bool> has_extension(uapi::extension e) const {
        auto r = io::submit(fd(), wire::vfio::check_extension(e), hook_);
        if (!r) return r.error().with("extension", static_cast<std::uint32_t>(e));
        return *r > 0;
    }
    /// VFIO_SET_IOMMU with the model e (needs an attached group): `c.set_iommu(uapi::extension::type1v2_iommu);`
    [[nodiscard]] result<void> set_iommu(uapi::extension e = uapi::extension::type1v2_iommu) {
        if (auto r = io::submit(fd(), wire::vfio::set_iommu(e), hook_); !r) {
            auto err = r.error().with("extension", static_cast<std::uint32_t>(e));
            if (err.code == EINVAL && groups() == 0)
                err.advise("no group is attached to the container yet: attach one (group::attach) first");
            return err;
        }
        if (state_) state_->iommu_set = true;
        return {};
    }
    /// Whether an IOMMU model is set (maps are possible): `if (!c.iommu_set()) g.attach(c);`
    [[nodiscard]] bool iommu_set() const noexcept { return state_ && state_->iommu_set; }
    /// Groups attached through vfiopp.
    [[nodiscard]] unsigned groups() const noexcept { return state_ ? state_->groups.load() : 0u; }
    /// Live dma_mapping objects made by map().
    [[nodiscard]] unsigned long mappings() const noexcept { return state_ ? state_->mappings.load() : 0; }

    /// VFIO_IOMMU_GET_INFO with its capability chain (negotiated argsz): `auto info = c.info().value();`
    [[nodiscard]] result<container_info> info() const {
        if (auto n = need_iommu(uapi::vfio::iommu_get_info.name); !n) return n.error();
        auto req = wire::vfio::iommu_get_info<1024>();
        if (auto r = io::negotiate(fd(), req, hook_); !r) return r.error();
        auto chain = wire::iommu_info_chain::parse(req.bytes());
        if (!chain) return chain.error();
        container_info out;
        out.iova_pgsizes = req.header().iova_pgsizes;
        if (auto ranges = chain->find<wire::iova_range_cap>())
            for (auto r : ranges->ranges) out.iova_ranges.push_back({r.start, r.end});
        if (auto avail = chain->find<wire::dma_avail_cap>()) out.dma_avail = avail->value.avail;
        if (auto mig = chain->find<wire::migration_cap>()) {
            out.dirty_pgsizes = mig->value.pgsize_bitmap;
            out.max_dirty_bitmap_size = mig->value.max_dirty_bitmap_size;
        }
        return out;
    }

    /// VFIO_IOMMU_MAP_DMA of [vaddr, vaddr + size) at iova; the mapping unmaps itself when it goes.
    ///   auto m = c.map(buf, 0x100000, 2 << 20, vfiopp::dma_access::read).value();
    [[nodiscard]] result<dma_mapping> map(const void* vaddr, std::uint64_t iova, std::uint64_t size,
                                          dma_access access = dma_access::read_write) {
        constexpr auto name = uapi::vfio::iommu_map_dma.name;
        if (auto n = need_iommu(name); !n) return std::move(n.error()).with("iova", iova).with("size", size);
        uapi::bitmask<uapi::map_dma_flag> flags{};
        if (static_cast<unsigned>(access) & 1u) flags |= uapi::map_dma_flag::read;
        if (static_cast<unsigned>(access) & 2u) flags |= uapi::map_dma_flag::write;
        auto va = reinterpret_cast<std::uintptr_t>(vaddr);
        auto req = wire::vfio::iommu_map_dma(va, iova, size, flags);
        if (!req) return std::move(req.error()).with("iova", iova).with("size", size);
        if (auto r = io::submit(fd(), *req, hook_); !r) {
            auto e = r.error().with("iova", iova).with("size", size).with("vaddr", va);
            if (auto a = detail::map_advice(e.code, va, iova, size); !a.empty()) e.advise(a);
            return e;
        }
        return dma_mapping{dma_mapping::kind::type1, fd(), hook_, state_, 0, iova, size};
    }

    /// VFIO_IOMMU_UNMAP_DMA of [iova, iova + size) by address (for mappings given up with release(), or a vIOMMU
    /// unmap); returns the bytes unmapped. `c.unmap(iova, size, vfiopp::missing_mapping::ignore).value();`
    [[nodiscard]] result<std::uint64_t> unmap(std::uint64_t iova, std::uint64_t size,
                                              missing_mapping missing = missing_mapping::error) {
        return detail::type1_unmap(fd(), hook_, iova, size, missing);
    }
    /// VFIO_IOMMU_UNMAP_DMA with FLAG_ALL (kernel 5.12+): every mapping; returns the bytes unmapped.
    [[nodiscard]] result<std::uint64_t> unmap_all() {
        auto req = wire::vfio::iommu_unmap_all();
        if (auto r = io::submit(fd(), req, hook_); !r) return r.error();
        return req.header().size;
    }

    /// VFIO_IOMMU_DIRTY_PAGES START or STOP (dirty tracking for migration): `c.dirty_tracking(true).value();`
    [[nodiscard]] result<void> dirty_tracking(bool on) {
        auto req = on ? wire::vfio::iommu_dirty_pages_start() : wire::vfio::iommu_dirty_pages_stop();
        return io::submit(fd(), req, hook_);
    }
    /// VFIO_IOMMU_DIRTY_PAGES GET_BITMAP of [iova, iova + size) at pgsize into bitmap (bit n: page n dirtied).
    ///   std::vector<std::uint64_t> bits(words); c.dirty_bitmap(0, ram_size, 4096, bits).value();
    [[nodiscard]] result<void> dirty_bitmap(std::uint64_t iova, std::uint64_t size, std::uint64_t pgsize,
                                            std::span<std::uint64_t> bitmap) {
        auto req = wire::vfio::iommu_dirty_pages_get_bitmap(iova, size, pgsize, bitmap);
        if (!req) return std::move(req.error()).with("iova", iova).with("size", size);
        if (auto r = io::submit(fd(), *req, hook_); !r) return r.error().with("iova", iova).with("size", size);
        return {};
    }

    container(container&&) noexcept = default;
    /// Closes this container (see the destructor), then takes o's.
    container& operator=(container&& o) noexcept {
        if (this != &o) {
            mark_closed();
            hook_ = o.hook_;
            state_ = std::move(o.state_);
            fd_ = std::move(o.fd_);
        }
        return *this;
    }
    /// Closes the fd; groups and mappings still around (declared in the wrong order) see the container closed
    /// instead of using a stale fd number.
    ~container() { mark_closed(); }

private:
    friend class group;
    void mark_closed() noexcept {
        if (state_ && fd_) state_->closed = true;
    }
    container(unique_fd fd, io::ioctl_hook hook) : hook_(hook), state_(std::make_shared<detail::type1_state>()), fd_(std::move(fd)) {}

    [[nodiscard]] result<void> need_iommu(std::string_view ioctl) const {
        if (!iommu_set())
            return detail::refuse(ioctl, "container", EINVAL,
                                  "no IOMMU model is set yet: attach a group first (group::attach sets type1v2), or "
                                  "call set_iommu() after attaching");
        return {};
    }

    io::ioctl_hook hook_;
    std::shared_ptr<detail::type1_state> state_;  // shared with its groups and mappings (see detail::type1_state)
    unique_fd fd_;  // declared last, destroyed last: the kernel container outlives everything above
};

}  // namespace vfiopp
