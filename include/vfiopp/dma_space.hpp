// vfiopp/dma_space.hpp - one API for a VM's DMA address space, whatever the backend: cdev + iommufd when the kernel
// has them, the type1 container otherwise (or the one the caller forces).
//
//   auto space = vfiopp::dma_space::open().value();               // backend::automatic
//   auto dev = space.open_device("0000:00:04.0").value();          // by PCI address (or mdev UUID)
//   auto ram = space.map(guest_ram, 0x0, ram_size).value();        // MAP_DMA or IOAS_MAP: same call
//   space.kind();                                                  // backend::iommufd or backend::type1
//   // teardown: ram (unmap), dev (close), space (groups leave the container / the IOAS is destroyed)
//
// On type1 the first device opened sets the container's IOMMU model, and map() before it is refused with a
// reason (the kernel's EINVAL would not say why). On iommufd, guest RAM may be mapped before any device.
#pragma once

#include <vfiopp/container.hpp>
#include <vfiopp/device.hpp>
#include <vfiopp/dma_mapping.hpp>
#include <vfiopp/error.hpp>
#include <vfiopp/group.hpp>
#include <vfiopp/iommufd.hpp>
#include <vfiopp/sysfs.hpp>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vfiopp {

/// Which kernel interface a dma_space uses.
enum class backend : unsigned char {
    automatic,  ///< iommufd when /dev/iommu opens and the kernel has VFIO cdevs, else type1
    iommufd,    ///< /dev/iommu + /dev/vfio/devices/vfioN (Linux 6.6+ with CONFIG_VFIO_DEVICE_CDEV)
    type1,      ///< /dev/vfio/vfio + /dev/vfio/N
};

/// A VM's DMA address space and the groups it holds; move-only.
class dma_space {
public:
    dma_space() noexcept = default;
    dma_space(dma_space&&) noexcept = default;
    dma_space(const dma_space&) = delete;
    dma_space& operator=(const dma_space&) = delete;
    /// Tears this space down in the kernel's order, then takes o's.
    dma_space& operator=(dma_space&& o) noexcept {
        if (this != &o) {
            close();
            hook_ = o.hook_;
            sysfs_ = std::move(o.sysfs_);
            kind_ = std::exchange(o.kind_, backend::automatic);
            container_ = std::move(o.container_);
            groups_ = std::move(o.groups_);
            ctx_ = std::move(o.ctx_);
            ioas_ = std::move(o.ioas_);
            o.close();
        }
        return *this;
    }
    ~dma_space() { close(); }

    /// Releases everything now, in the kernel's teardown order: the IOAS before its iommufd, the groups (which
    /// leave the container) before the container. The caller's devices and mappings must be gone already.
    void close() noexcept {
        ioas_.reset();
        ctx_.reset();
        groups_.clear();
        container_.reset();
        kind_ = backend::automatic;
    }

    /// Opens the backend: `auto s = vfiopp::dma_space::open(vfiopp::backend::type1).value();`
    [[nodiscard]] static result<dma_space> open(backend want = backend::automatic, io::ioctl_hook hook = {},
                                                std::string_view sysfs_root = "/sys") {
        dma_space s;
        s.hook_ = hook;
        s.sysfs_ = sysfs_root;
        if (want == backend::automatic) {
            // Only "not there" (ENOENT, ENOTDIR) selects type1: any other failure (EACCES, ENOMEM, ...) says
            // nothing about what the kernel has, and choosing type1 on it would hide the error behind a second one.
            const auto present = [](const std::string& path) -> result<bool> {
                auto st = detail::stat_if_present(path, "backend",
                                                  "cannot tell whether the kernel has VFIO cdevs and iommufd");
                if (!st) return std::move(st.error()).about(path);
                return st->has_value();
            };
            auto cdevs = present(s.sysfs_ + "/class/vfio-dev");
            if (!cdevs) return cdevs.error();
            auto iommu = *cdevs ? present("/dev/iommu") : result<bool>(false);
            if (!iommu) return iommu.error();
            want = *cdevs && *iommu ? backend::iommufd : backend::type1;
        }
        if (want == backend::iommufd) {
            auto ctx = iommufd::open(hook);
            if (!ctx) return ctx.error();
            auto as = ctx->alloc_ioas();
            if (!as) return as.error();
            s.ctx_ = std::move(*ctx);
            s.ioas_ = std::move(*as);
        } else {
            auto c = container::open(hook);
            if (!c) return c.error();
            s.container_ = std::move(*c);
        }
        s.kind_ = want;
        return s;
    }

    /// backend::iommufd or backend::type1 (never automatic once open).
    [[nodiscard]] backend kind() const noexcept { return kind_; }
    /// The container (type1), or nullptr: `if (auto* c = s.type1()) c->info();`
    [[nodiscard]] container* type1() noexcept { return container_ ? &*container_ : nullptr; }
    /// The iommufd context (iommufd), or nullptr.
    [[nodiscard]] iommufd* context() noexcept { return ctx_ ? &*ctx_ : nullptr; }
    /// The IOAS devices are attached to (iommufd), or nullptr.
    [[nodiscard]] vfiopp::ioas* ioas() noexcept { return ioas_ ? &*ioas_ : nullptr; }
    /// The groups opened for devices (type1).
    [[nodiscard]] std::span<const group> groups() const noexcept { return groups_; }

    /// Opens a device by PCI address or mdev UUID and puts it in this address space: on iommufd its cdev is
    /// opened, bound and attached to the IOAS; on type1 its group is opened (once) and attached to the container.
    ///   auto dev = space.open_device("0000:00:04.0").value();
    [[nodiscard]] result<device> open_device(std::string_view name) {
        auto loc = locate_device(name, sysfs_);
        if (!loc) return loc.error();
        if (kind_ == backend::iommufd) {
            if (loc->cdev.empty())
                return detail::refuse("open_device", "cdev", ENODEV,
                                      "the device has no VFIO cdev (kernel without CONFIG_VFIO_DEVICE_CDEV): open the "
                                      "dma_space with backend::type1")
                    .about(name);
            auto dev = device::open_cdev(loc->cdev, hook_, name);
            if (!dev) return dev.error();
            if (auto b = dev->bind(*ctx_); !b) return b.error();  // closing dev (on return) unbinds it
            if (auto a = dev->attach(*ioas_); !a) return a.error();
            return dev;
        }
        group* g = nullptr;
        for (auto& existing : groups_)
            if (existing.number() == loc->group) g = &existing;
        if (g == nullptr) {
            auto opened = group::open(loc->group, hook_);
            if (!opened) return std::move(opened.error()).about(name);
            if (auto a = opened->attach(*container_); !a) return std::move(a.error()).about(name);
            groups_.push_back(std::move(*opened));
            g = &groups_.back();
        }
        return g->open_device(name);
    }
    /// Opens a device by path instead: a cdev (/dev/vfio/devices/vfioN, iommufd) or a group node and the device's
    /// name in it (/dev/vfio/N + name, type1). `auto dev = space.open_device_at("/dev/vfio/devices/vfio0").value();`
    [[nodiscard]] result<device> open_device_at(std::string_view path, std::string_view name_in_group = {}) {
        if (kind_ == backend::iommufd) {
            auto dev = device::open_cdev(path, hook_);
            if (!dev) return dev.error();
            if (auto b = dev->bind(*ctx_); !b) return b.error();
            if (auto a = dev->attach(*ioas_); !a) return a.error();
            return dev;
        }
        constexpr std::string_view prefix = "/dev/vfio/";
        unsigned n = 0;
        bool ok = path.substr(0, prefix.size()) == prefix && path.size() > prefix.size();
        for (char ch : path.substr(ok ? prefix.size() : path.size()))
            if (ch < '0' || ch > '9' || n > 100000000u) ok = false;
            else n = n * 10 + static_cast<unsigned>(ch - '0');
        if (!ok || name_in_group.empty())
            return detail::refuse("open_device_at", "path", EINVAL,
                                  "type1 needs a group node /dev/vfio/N and the device's name in the group")
                .about(path);
        group* g = nullptr;
        for (auto& existing : groups_)
            if (existing.number() == n) g = &existing;
        if (g == nullptr) {
            auto opened = group::open(n, hook_);
            if (!opened) return opened.error();
            if (auto a = opened->attach(*container_); !a) return a.error();
            groups_.push_back(std::move(*opened));
            g = &groups_.back();
        }
        return g->open_device(name_in_group);
    }

    /// Maps [vaddr, vaddr + size) at iova for DMA, on either backend: `auto m = s.map(ram, 0, 64 << 20).value();`
    [[nodiscard]] result<dma_mapping> map(const void* vaddr, std::uint64_t iova, std::uint64_t size,
                                          dma_access access = dma_access::read_write) {
        if (kind_ == backend::iommufd) return ioas_->map(vaddr, size, access, iova);
        if (kind_ == backend::type1) return container_->map(vaddr, iova, size, access);
        return detail::refuse("dma_space::map", "backend", EBADF, "the dma_space is not open");
    }
    /// Unmaps [iova, iova + size) by address (mappings given up with release(), vIOMMU unmaps); the bytes unmapped.
    [[nodiscard]] result<std::uint64_t> unmap(std::uint64_t iova, std::uint64_t size,
                                              missing_mapping missing = missing_mapping::error) {
        if (kind_ == backend::iommufd) return ioas_->unmap(iova, size, missing);
        if (kind_ == backend::type1) return container_->unmap(iova, size, missing);
        return detail::refuse("dma_space::unmap", "backend", EBADF, "the dma_space is not open");
    }
    /// The usable IOVA ranges (type1: CAP_IOVA_RANGE, needs a device opened; iommufd: IOAS_IOVA_RANGES) and the
    /// alignment of mappings: `auto alloc = vfiopp::iova_allocator::create(r->ranges, r->alignment);`
    [[nodiscard]] result<ioas_ranges> iova_ranges() const {
        if (kind_ == backend::iommufd) return ioas_->iova_ranges();
        if (kind_ != backend::type1) return detail::refuse("dma_space::iova_ranges", "backend", EBADF, "the dma_space is not open");
        auto info = container_->info();
        if (!info) return info.error();
        return ioas_ranges{std::move(info->iova_ranges), info->min_page_size()};
    }

private:
    // Destruction runs bottom-up, which is the kernel's teardown order: the groups leave the container
    // (UNSET_CONTAINER) before the container closes, and the IOAS is destroyed before its iommufd closes. The
    // caller's devices and mappings must already be gone (declare them after the dma_space).
    io::ioctl_hook hook_{};
    std::string sysfs_;
    backend kind_ = backend::automatic;
    std::optional<container> container_;
    std::vector<group> groups_;
    std::optional<iommufd> ctx_;
    std::optional<vfiopp::ioas> ioas_;
};

}  // namespace vfiopp
