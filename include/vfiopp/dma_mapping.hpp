// vfiopp/dma_mapping.hpp - one DMA mapping of process memory into an IOMMU address space, unmapped when it goes.
//
//   vfiopp::dma_mapping ram = space.map(guest_ram, 0x0, 64 << 20).value();   // container, ioas or dma_space
//   ram.iova();                          // where the device sees it
//   // ... DMA ...
//   // ram's destructor unmaps it (VFIO_IOMMU_UNMAP_DMA or IOMMU_IOAS_UNMAP); ram.unmap() reports the error instead
//
// A mapping is made by container::map (type1), ioas::map / ioas::map_file / ioas::copy (iommufd) or dma_space::map
// (either). It borrows the container or iommufd fd it was made on: it must go before that object does (declare
// it after; the VMM holding both gets this for free from C++'s reverse destruction order).
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/wire/iommufd.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <utility>

namespace vfiopp {

/// Who may access a mapping: the device reads it (read), writes it (write), or both (the default).
enum class dma_access : unsigned char { read = 1, write = 2, read_write = 3 };

/// What an unmap that finds nothing mapped means. iommufd fails it with ENOENT and type1 unmaps 0 bytes;
/// `error` reports both as ENOENT, `ignore` reports 0 bytes unmapped (QEMU treats vIOMMU unmaps this way).
enum class missing_mapping : unsigned char { error, ignore };

namespace detail {

/// Live-state shared by a type1 container and what depends on it (groups, mappings): allocated once per container
/// and shared, so that it stays put when the container moves and outlives it when a group or mapping is destroyed
/// after the container (declared in the wrong order): they then see `closed` instead of freed memory.
struct type1_state {
    // All atomic: a container is shared by the threads of a VMM (maps from vCPU/device threads, a hot-plug
    // thread attaching or detaching groups); each member is read or changed alone, never two under one lock.
    std::atomic<unsigned> groups{0};          ///< groups attached (VFIO_GROUP_SET_CONTAINER) through vfiopp
    std::atomic<unsigned long> mappings{0};   ///< live dma_mapping objects of this container
    std::atomic<bool> iommu_set{false};       ///< VFIO_SET_IOMMU done
    std::atomic<bool> closed{false};          ///< the container fd is closed: its fd number must not be used any more

    void drop_mapping() noexcept { (void)decrement(mappings); }
    /// One group fewer; returns how many there were (0: none was counted, nothing changed).
    unsigned drop_group() noexcept { return decrement(groups); }

private:
    template <typename T>
    static T decrement(std::atomic<T>& n) noexcept {  // by one, never below 0, without a lock; the value before
        T before = n.load();
        while (before > 0 && !n.compare_exchange_weak(before, before - 1)) {
        }
        return before;
    }
};

/// VFIO_IOMMU_UNMAP_DMA of exactly [iova, iova + size): the bytes the kernel unmapped.
inline result<std::uint64_t> type1_unmap(int fd, const io::ioctl_hook& hook, std::uint64_t iova, std::uint64_t size,
                                         missing_mapping missing) {
    auto req = wire::vfio::iommu_unmap_dma(iova, size);
    if (!req) return std::move(req.error()).with("iova", iova).with("size", size);
    if (auto r = io::submit(fd, *req, hook); !r) return r.error().with("iova", iova).with("size", size);
    std::uint64_t done = req->header().size;
    if (done == 0 && missing == missing_mapping::error)
        return detail::refuse(uapi::vfio::iommu_unmap_dma.name, "iova", ENOENT,
                              "nothing was mapped there (already unmapped, or the container lost its IOMMU when its "
                              "last group detached)")
            .with("iova", iova)
            .with("size", size);
    return done;
}

/// IOMMU_IOAS_UNMAP of [iova, iova + size) in ioas_id: the bytes the kernel unmapped.
inline result<std::uint64_t> ioas_unmap(int fd, const io::ioctl_hook& hook, std::uint32_t ioas_id, std::uint64_t iova,
                                        std::uint64_t size, missing_mapping missing) {
    auto req = wire::iommufd::ioas_unmap(ioas_id, iova, size);
    if (!req) return std::move(req.error()).with("iova", iova).with("size", size);
    if (auto r = io::submit(fd, *req, hook); !r) {
        if (r.error().code == ENOENT && missing == missing_mapping::ignore) return std::uint64_t{0};
        return r.error().with("ioas", ioas_id).with("iova", iova).with("size", size);
    }
    return req->header().length;
}

/// The advice vfiopp attaches to a failed MAP (type1 or iommufd), by errno and request; empty when it has none.
constexpr std::string_view map_advice(int code, std::uint64_t vaddr, std::uint64_t iova, std::uint64_t size) noexcept {
    switch (code) {
        case EINVAL:
            if (((vaddr | iova | size) & 0xfff) != 0)
                return "vaddr, iova and size must be multiples of the IOMMU page size (4 KiB at least): map "
                       "page-aligned memory (mmap, aligned_alloc)";
            return {};
        case ENOMEM:
            return "pinning the mapping would exceed the locked-memory limit: raise RLIMIT_MEMLOCK (ulimit -l, "
                   "systemd LimitMEMLOCK=) to at least the memory mapped for DMA";
        case EEXIST: return "an existing mapping overlaps this IOVA range: unmap it first";
        case ENOSPC: return "the container has no mapping entries left (vfio_iommu_type1 dma_entry_limit)";
        case EFAULT: return "the user address range is not mapped in this process";
        default: return {};
    }
}

}  // namespace detail

/// One mapping of [vaddr, vaddr + size) (or of a file range) at iova; move-only; unmapped by its destructor.
///   if (auto m = container.map(buf, 0x100000, 1 << 20)) use(m->iova());
class dma_mapping {
public:
    /// An empty mapping (maps nothing; mapped() is false).
    dma_mapping() noexcept = default;
    dma_mapping(const dma_mapping&) = delete;
    dma_mapping& operator=(const dma_mapping&) = delete;
    dma_mapping(dma_mapping&& o) noexcept { take(o); }
    /// Unmaps what this held, then takes o's mapping.
    dma_mapping& operator=(dma_mapping&& o) noexcept {
        if (this != &o) {
            (void)unmap();
            take(o);
        }
        return *this;
    }
    /// Unmaps; an error is dropped here (call unmap() to see it). Never throws.
    ~dma_mapping() { (void)unmap(); }

    /// Where the device sees the mapping: `edu.dma(m.iova(), ...)`.
    [[nodiscard]] std::uint64_t iova() const noexcept { return iova_; }
    /// Its length in bytes.
    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
    /// The IOAS it lives in (iommufd), 0 for a type1 container.
    [[nodiscard]] std::uint32_t ioas_id() const noexcept { return ioas_id_; }
    /// Whether it is still mapped by this object: `if (m.mapped()) ...`.
    [[nodiscard]] bool mapped() const noexcept { return kind_ != kind::none; }

    /// Unmaps now and reports the kernel's answer; the object is empty afterwards whatever happened (a failed unmap
    /// is not retried by the destructor). `if (auto r = m.unmap(); !r) log(r.error());`
    [[nodiscard]] result<void> unmap() noexcept {
        kind k = std::exchange(kind_, kind::none);
        if (k == kind::none) return {};
        result<std::uint64_t> r = std::uint64_t{0};
        if (k == kind::type1) {
            if (state_ && state_->closed) {
                state_.reset();
                return detail::refuse(uapi::vfio::iommu_unmap_dma.name, "container", EBADF,
                                      "the container was closed before this mapping: the mapping went with it when "
                                      "its last group left (destroy mappings before their container)")
                    .with("iova", iova_)
                    .with("size", size_);
            }
            r = detail::type1_unmap(fd_, hook_, iova_, size_, missing_mapping::error);
            if (state_) state_->drop_mapping();
            state_.reset();
        } else {
            r = detail::ioas_unmap(fd_, hook_, ioas_id_, iova_, size_, missing_mapping::error);
        }
        if (!r) return r.error();
        if (*r != size_)
            return detail::refuse(k == kind::type1 ? uapi::vfio::iommu_unmap_dma.name : uapi::iommufd::ioas_unmap.name,
                                  "size", EIO, "the kernel unmapped a different number of bytes than were mapped")
                .with("iova", iova_)
                .with("size", size_)
                .with("unmapped", *r);
        return {};
    }

    /// Gives the mapping up without unmapping it (it stays until unmapped by address or the address space goes):
    /// `auto [iova, size] = m.release();`
    std::pair<std::uint64_t, std::uint64_t> release() noexcept {
        if (kind_ == kind::type1 && state_) state_->drop_mapping();
        state_.reset();
        kind_ = kind::none;
        return {iova_, size_};
    }

private:
    friend class container;
    friend class ioas;
    enum class kind : unsigned char { none, type1, ioas };

    dma_mapping(kind k, int fd, io::ioctl_hook hook, std::shared_ptr<detail::type1_state> state, std::uint32_t ioas_id,
                std::uint64_t iova, std::uint64_t size) noexcept
        : fd_(fd), hook_(hook), state_(std::move(state)), ioas_id_(ioas_id), iova_(iova), size_(size), kind_(k) {
        if (k == kind::type1 && state_) ++state_->mappings;
    }
    void take(dma_mapping& o) noexcept {
        fd_ = o.fd_;
        hook_ = o.hook_;
        state_ = std::move(o.state_);
        ioas_id_ = o.ioas_id_;
        iova_ = o.iova_;
        size_ = o.size_;
        kind_ = std::exchange(o.kind_, kind::none);
    }

    int fd_ = -1;  // borrowed: the container's or the iommufd's
    io::ioctl_hook hook_{};
    std::shared_ptr<detail::type1_state> state_;  // type1: the container's live state
    std::uint32_t ioas_id_ = 0;
    std::uint64_t iova_ = 0;
    std::uint64_t size_ = 0;
    kind kind_ = kind::none;
};

}  // namespace vfiopp
