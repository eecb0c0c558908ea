// vfiopp/iommufd.hpp - the iommufd context (/dev/iommu) and its I/O address spaces (IOAS).
//
//   auto ctx = vfiopp::iommufd::open().value();
//   auto as = ctx.alloc_ioas().value();                          // IOMMU_IOAS_ALLOC; IOMMU_DESTROY when it goes
//   auto ranges = as.iova_ranges().value();                      // usable IOVAs and the alignment
//   auto ram = as.map(guest_ram, 64 << 20, vfiopp::dma_access::read_write, 0x0).value();   // fixed IOVA
//   auto ram2 = as.map_file(memfd, 0, 64 << 20, vfiopp::dma_access::read_write).value();   // kernel picks IOVA
//   auto dev = vfiopp::device::open_cdev("/dev/vfio/devices/vfio0").value();
//   dev.bind(ctx).value(); dev.attach(as).value();
//
// An ioas borrows its context's fd (it must go before the context: declare it after). Mappings borrow it too.
#pragma once

#include <vfiopp/dma_mapping.hpp>
#include <vfiopp/error.hpp>
#include <vfiopp/io/negotiate.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/iova_allocator.hpp>
#include <vfiopp/unique_fd.hpp>
#include <vfiopp/wire/iommufd.hpp>

#include <fcntl.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace vfiopp {

/// What IOMMU_IOAS_IOVA_RANGES reports.
struct ioas_ranges {
    std::vector<iova_range> ranges;  ///< usable IOVA ranges (inclusive last)
    std::uint64_t alignment = 0;     ///< out_iova_alignment: iova, length and user_va must be multiples of it
};

class ioas;

/// The iommufd context; move-only; owns the /dev/iommu fd (closing it destroys every object in it).
class iommufd {
public:
    iommufd() noexcept = default;
    /// Opens /dev/iommu: `auto ctx = vfiopp::iommufd::open().value();`
    [[nodiscard]] static result<iommufd> open(io::ioctl_hook hook = {}) {
        unique_fd fd{::open("/dev/iommu", O_RDWR | O_CLOEXEC)};
        if (!fd) {
            int code = errno;
            error e{"open", "path", code, {}, error_origin::kernel};
            e.about("/dev/iommu");
            if (code == ENOENT) e.advise("no iommufd: the kernel needs CONFIG_IOMMUFD (6.2+); use the type1 backend");
            if (code == EACCES || code == EPERM) e.advise("permission denied: the VMM needs read/write access to /dev/iommu");
            return e;
        }
        return from_fd(std::move(fd), hook);
    }
    /// Adopts an iommufd (e.g. received from a privileged helper): `auto ctx = vfiopp::iommufd::from_fd(std::move(fd));`
    [[nodiscard]] static result<iommufd> from_fd(unique_fd fd, io::ioctl_hook hook = {}) {
        if (!fd) return detail::refuse("iommufd", "fd", EBADF, "no iommufd");
        iommufd c;
        c.fd_ = std::move(fd);
        c.hook_ = hook;
        return c;
    }

    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    [[nodiscard]] const io::ioctl_hook& hook() const noexcept { return hook_; }

    /// IOMMU_IOAS_ALLOC: a new, empty IOAS, destroyed when the returned object goes.
    [[nodiscard]] result<ioas> alloc_ioas() const;

    /// IOMMU_DESTROY of any object ID: `ctx.destroy(hwpt_id).value();`
    [[nodiscard]] result<void> destroy(std::uint32_t id) const {
        if (auto r = io::submit(fd(), wire::iommufd::destroy(id), hook_); !r) {
            auto e = r.error().with("id", id);
            if (e.code == EBUSY) e.advise("the object is still in use (a device attached, or an object built on it)");
            return e;
        }
        return {};
    }
    /// IOMMU_OPTION GET (object_id 0: a global option): `auto mode = ctx.option(uapi::iommufd_option::rlimit_mode);`
    [[nodiscard]] result<std::uint64_t> option(uapi::iommufd_option id, std::uint32_t object_id = 0) const {
        auto req = wire::iommufd::option_get(id, object_id);
        if (auto r = io::submit(fd(), req, hook_); !r)
            return r.error().with("option", static_cast<std::uint32_t>(id)).with("object_id", object_id);
        return req.header().val64;
    }
    /// IOMMU_OPTION SET: `ctx.set_option(uapi::iommufd_option::rlimit_mode, 1).value();`
    [[nodiscard]] result<void> set_option(uapi::iommufd_option id, std::uint64_t value, std::uint32_t object_id = 0) const {
        if (auto r = io::submit(fd(), wire::iommufd::option_set(id, value, object_id), hook_); !r) {
            auto e = r.error().with("option", static_cast<std::uint32_t>(id)).with("value", value).with("object_id", object_id);
            if (e.code == EPERM && id == uapi::iommufd_option::rlimit_mode)
                e.advise("changing the accounting mode needs CAP_SYS_RESOURCE");
            return e;
        }
        return {};
    }
    /// RLIMIT_MODE: charge pinned pages to the process (true: mm->pinned_vm, like type1's locked_vm accounting) or
    /// to the user (false, the default). Needs CAP_SYS_RESOURCE and no pinned pages yet.
    [[nodiscard]] result<void> set_rlimit_per_process(bool per_process) const {
        return set_option(uapi::iommufd_option::rlimit_mode, per_process ? 1 : 0);
    }

private:
    io::ioctl_hook hook_{};
    unique_fd fd_;
};

/// An I/O address space in an iommufd; move-only; IOMMU_DESTROY when it goes (its mappings go with it).
class ioas {
public:
    ioas() noexcept = default;
    ioas(const ioas&) = delete;
    ioas& operator=(const ioas&) = delete;
    ioas(ioas&& o) noexcept : fd_(std::exchange(o.fd_, -1)), hook_(o.hook_), id_(std::exchange(o.id_, 0)) {}
    ioas& operator=(ioas&& o) noexcept {
        if (this != &o) {
            (void)destroy();
            fd_ = std::exchange(o.fd_, -1);
            hook_ = o.hook_;
            id_ = std::exchange(o.id_, 0);
        }
        return *this;
    }
    /// IOMMU_DESTROY (EBUSY while a device is attached: detach or close the devices first; errors are dropped here).
    ~ioas() { (void)destroy(); }

    /// Adopts an existing IOAS ID of the iommufd ctx_fd (e.g. one allocated by another component); destroyed when
    /// the object goes. `auto a = vfiopp::ioas::adopt(ctx.fd(), id);`
    [[nodiscard]] static ioas adopt(int ctx_fd, std::uint32_t id, io::ioctl_hook hook = {}) noexcept {
        ioas a;
        a.fd_ = ctx_fd;
        a.hook_ = hook;
        a.id_ = id;
        return a;
    }

    [[nodiscard]] std::uint32_t id() const noexcept { return id_; }
    /// The iommufd's fd (borrowed).
    [[nodiscard]] int fd() const noexcept { return fd_; }

    /// IOMMU_IOAS_MAP of [vaddr, vaddr + size) at iova (or where the kernel picks, inside the usable ranges, when
    /// none is given). `auto m = as.map(buf, 2 << 20, vfiopp::dma_access::read_write, 0x100000).value();`
    [[nodiscard]] result<dma_mapping> map(const void* vaddr, std::uint64_t size, dma_access access = dma_access::read_write,
                                          std::optional<std::uint64_t> iova = {}) {
        auto va = reinterpret_cast<std::uintptr_t>(vaddr);
        auto req = wire::iommufd::ioas_map(id_, va, size, flags_of(access), iova);
        if (!req) return std::move(req.error()).with("iova", iova.value_or(0)).with("size", size);
        if (auto r = io::submit(fd_, *req, hook_); !r) return map_error(r.error(), iova, size, "vaddr", va);
        return dma_mapping{dma_mapping::kind::ioas, fd_, hook_, nullptr, id_, req->header().iova, size};
    }
    /// IOMMU_IOAS_MAP_FILE of [offset, offset + size) of a memfd (7.0+; guest RAM kept in a memfd, no process
    /// mapping needed). `auto m = as.map_file(memfd, 0, ram_size, vfiopp::dma_access::read_write, 0).value();`
    [[nodiscard]] result<dma_mapping> map_file(int file_fd, std::uint64_t offset, std::uint64_t size,
                                               dma_access access = dma_access::read_write,
                                               std::optional<std::uint64_t> iova = {}) {
        auto req = wire::iommufd::ioas_map_file(id_, file_fd, offset, size, flags_of(access), iova);
        if (!req) return std::move(req.error()).with("iova", iova.value_or(0)).with("size", size);
        if (auto r = io::submit(fd_, *req, hook_); !r) {
            auto e = map_error(r.error(), iova, size, "offset", offset);
            if (e.code == ENOTTY) e.advise("IOMMU_IOAS_MAP_FILE needs Linux 6.13 or later");
            return e;
        }
        return dma_mapping{dma_mapping::kind::ioas, fd_, hook_, nullptr, id_, req->header().iova, size};
    }
    /// IOMMU_IOAS_COPY of src's mapping [src_iova, src_iova + size) into this IOAS (no new pinning).
    ///   auto m = dst.copy_from(src, 0x100000, 1 << 20).value();
    [[nodiscard]] result<dma_mapping> copy_from(const ioas& src, std::uint64_t src_iova, std::uint64_t size,
                                                dma_access access = dma_access::read_write,
                                                std::optional<std::uint64_t> iova = {}) {
        auto req = wire::iommufd::ioas_copy(id_, src.id(), src_iova, size, flags_of(access), iova);
        if (!req) return std::move(req.error()).with("iova", src_iova).with("size", size);
        if (auto r = io::submit(fd_, *req, hook_); !r)
            return r.error().with("src_ioas", src.id()).with("src_iova", src_iova).with("size", size);
        return dma_mapping{dma_mapping::kind::ioas, fd_, hook_, nullptr, id_, req->header().dst_iova, size};
    }
    /// IOMMU_IOAS_UNMAP of [iova, iova + size) by address; returns the bytes unmapped.
    ///   as.unmap(iova, size, vfiopp::missing_mapping::ignore).value();   // a vIOMMU unmap of nothing is fine
    [[nodiscard]] result<std::uint64_t> unmap(std::uint64_t iova, std::uint64_t size,
                                              missing_mapping missing = missing_mapping::error) {
        return detail::ioas_unmap(fd_, hook_, id_, iova, size, missing);
    }
    /// IOMMU_IOAS_UNMAP of everything; returns the bytes unmapped (0 when the IOAS is empty: the kernel's ENOENT
    /// for "nothing there" is read as 0 here).
    [[nodiscard]] result<std::uint64_t> unmap_all() {
        auto req = wire::iommufd::ioas_unmap_all(id_);
        if (auto r = io::submit(fd_, req, hook_); !r) {
            if (r.error().code == ENOENT) return std::uint64_t{0};
            return r.error().with("ioas", id_);
        }
        return req.header().length;
    }
    /// IOMMU_IOAS_IOVA_RANGES: the usable ranges (all of them: the kernel's count is asked for on EMSGSIZE) and
    /// the alignment. `auto r = as.iova_ranges().value(); r.alignment;`
    [[nodiscard]] result<ioas_ranges> iova_ranges() const {
        std::vector<uapi::iommu_iova_range> buf(8);
        for (int round = 0; round < 4; ++round) {
            auto req = wire::iommufd::ioas_iova_ranges(id_, std::span(buf));
            if (!req) return req.error();
            auto r = io::submit(fd_, *req, hook_);
            auto n = req->header().num_iovas;
            if (!r && r.error().code == EMSGSIZE && n > buf.size()) {
                buf.resize(n);  // the kernel wrote the count it needs
                continue;
            }
            if (!r) return r.error().with("ioas", id_);
            ioas_ranges out;
            out.alignment = req->header().out_iova_alignment;
            for (std::uint32_t i = 0; i < n && i < buf.size(); ++i) out.ranges.push_back({buf[i].start, buf[i].last});
            return out;
        }
        return detail::refuse(uapi::iommufd::ioas_iova_ranges.name, "num_iovas", EAGAIN,
                              "the number of ranges kept changing")
            .with("ioas", id_);
    }
    /// IOMMU_IOAS_ALLOW_IOVAS: only these ranges may be used from now (empty: no restriction).
    [[nodiscard]] result<void> allow_iovas(std::span<const iova_range> ranges) {
        std::vector<uapi::iommu_iova_range> buf;
        for (auto r : ranges) buf.push_back({r.start, r.last});
        auto req = wire::iommufd::ioas_allow_iovas(id_, std::span<const uapi::iommu_iova_range>(buf));
        if (!req) return req.error();
        if (auto r = io::submit(fd_, *req, hook_); !r) return r.error().with("ioas", id_).with("count", buf.size());
        return {};
    }
    /// IOMMU_OPTION HUGE_PAGES of this IOAS (default on): off maps everything with PAGE_SIZE (needs an empty IOAS).
    [[nodiscard]] result<void> set_huge_pages(bool on) {
        if (auto r = io::submit(fd_, wire::iommufd::option_set(uapi::iommufd_option::huge_pages, on ? 1 : 0, id_), hook_); !r)
            return r.error().with("ioas", id_);
        return {};
    }
    /// IOMMU_OPTION HUGE_PAGES GET of this IOAS.
    [[nodiscard]] result<bool> huge_pages() const {
        auto req = wire::iommufd::option_get(uapi::iommufd_option::huge_pages, id_);
        if (auto r = io::submit(fd_, req, hook_); !r) return r.error().with("ioas", id_);
        return req.header().val64 != 0;
    }

    /// IOMMU_DESTROY now, reporting the error (EBUSY: a device is still attached); the object is empty after a
    /// success. `if (auto r = as.destroy(); !r) ...`
    [[nodiscard]] result<void> destroy() {
        if (id_ == 0 || fd_ < 0) return {};
        if (auto r = io::submit(fd_, wire::iommufd::destroy(id_), hook_); !r) {
            auto e = r.error().with("ioas", id_);
            if (e.code == EBUSY) e.advise("a device is still attached to the IOAS: detach or close it first");
            id_ = 0;  // not retried: the destructor must not issue it twice
            return e;
        }
        id_ = 0;
        return {};
    }

private:
    friend class iommufd;
    static uapi::bitmask<uapi::ioas_map_flag> flags_of(dma_access access) noexcept {
        uapi::bitmask<uapi::ioas_map_flag> f{};
        if (static_cast<unsigned>(access) & 1u) f |= uapi::ioas_map_flag::readable;
        if (static_cast<unsigned>(access) & 2u) f |= uapi::ioas_map_flag::writeable;
        return f;
    }
    static error map_error(error e, std::optional<std::uint64_t> iova, std::uint64_t size, std::string_view source_name,
                           std::uint64_t source) {
        e.with("iova", iova.value_or(0)).with("size", size).with(source_name, source);
        if (auto a = detail::map_advice(e.code, source, iova.value_or(0), size); !a.empty()) e.advise(a);
        return e;
    }

    int fd_ = -1;  // borrowed: the iommufd's
    io::ioctl_hook hook_{};
    std::uint32_t id_ = 0;
};

inline result<ioas> iommufd::alloc_ioas() const {
    auto req = wire::iommufd::ioas_alloc();
    if (auto r = io::submit(fd(), req, hook_); !r) return r.error();
    return ioas::adopt(fd(), req.header().out_ioas_id, hook_);
}

}  // namespace vfiopp
