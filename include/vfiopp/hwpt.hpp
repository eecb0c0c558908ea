// vfiopp/hwpt.hpp - hardware page tables (IOMMU_HWPT_ALLOC): kernel-managed, nest parents, nested with vendor data.
//
//   auto ctx = vfiopp::iommufd::open().value();
//   auto as = ctx.alloc_ioas().value();
//   dev.bind(ctx).value(); dev.attach(as).value();
//   using vfiopp::uapi::hwpt_alloc_flag;
//   auto parent = vfiopp::hwpt::alloc(ctx, dev.dev_id(), as.id(), hwpt_alloc_flag::nest_parent).value();
//   vfiopp::uapi::iommu_hwpt_vtd_s1 s1{};                       // the guest's stage-1 table, from its vIOMMU
//   s1.pgtbl_addr = guest_pgd; s1.addr_width = 48;
//   auto stage1 = vfiopp::hwpt::alloc_nested(ctx, dev.dev_id(), parent, s1).value();
//   dev.replace(stage1).value();                                 // DMA now walks both stages
//   std::array<vfiopp::uapi::iommu_hwpt_vtd_s1_invalidate, 1> inv{};  // the guest's IOTLB invalidation
//   auto out = stage1.invalidate(std::span<const vfiopp::uapi::iommu_hwpt_vtd_s1_invalidate>(inv));
//   if (!out.status) report_to_guest(out.done);                 // entries [0, done) were handled
//
// Vendor data is any type with a vfiopp::wire::hwpt_data_traits specialization (the kernel's are given; a driver
// vfiopp does not know is one specialization away, see wire/iommufd.hpp). A hwpt borrows its context's fd (it must
// go before the context: declare it after) and is destroyed (IOMMU_DESTROY) when it goes; a nested hwpt must go
// before its parent, and a device must be moved off a hwpt before it can go (EBUSY otherwise: destroy() reports it).
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/iommufd.hpp>
#include <vfiopp/wire/iommufd.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <utility>

namespace vfiopp {

/// What IOMMU_HWPT_INVALIDATE did: the kernel handled entries [0, done); status is the error of entry `done` when
/// it stopped there (the count matters then: a vIOMMU reports the failing entry to its guest).
///   auto out = h.invalidate(std::span<const E>(entries)); if (!out.status) fail_at(out.done);
struct invalidate_outcome {
    std::uint32_t done = 0;  ///< entries the kernel handled (its entry_num written back)
    result<void> status{};   ///< success, or the error of entry `done` (values: hwpt, entry_num, entries)
};

/// Whether to clear the dirty state the read reports (the default) or to keep it (IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR).
enum class dirty_read : unsigned char { clear, keep };

/// A hardware page table in an iommufd; move-only; IOMMU_DESTROY when it goes.
class hwpt {
public:
    hwpt() noexcept = default;
    hwpt(const hwpt&) = delete;
    hwpt& operator=(const hwpt&) = delete;
    hwpt(hwpt&& o) noexcept
        : fd_(std::exchange(o.fd_, -1)), hook_(o.hook_), id_(std::exchange(o.id_, 0)), parent_(o.parent_), flags_(o.flags_) {}
    hwpt& operator=(hwpt&& o) noexcept {
        if (this != &o) {
            (void)destroy();
            fd_ = std::exchange(o.fd_, -1);
            hook_ = o.hook_;
            id_ = std::exchange(o.id_, 0);
            parent_ = o.parent_;
            flags_ = o.flags_;
        }
        return *this;
    }
    /// IOMMU_DESTROY (errors dropped here: EBUSY while a device or a nested hwpt uses it; destroy() reports them).
    ~hwpt() { (void)destroy(); }

    /// IOMMU_HWPT_ALLOC of a kernel-managed HWPT over the IOAS pt_id for dev_id (data_type NONE); flags nest_parent,
    /// dirty_tracking, pasid; fault_id (a fault queue's ID) sets FAULT_ID_VALID.
    ///   auto h = vfiopp::hwpt::alloc(ctx, dev.dev_id(), as.id(), uapi::hwpt_alloc_flag::dirty_tracking).value();
    [[nodiscard]] static result<hwpt> alloc(const iommufd& ctx, std::uint32_t dev_id, std::uint32_t pt_id,
                                            uapi::bitmask<uapi::hwpt_alloc_flag> flags = {},
                                            std::optional<std::uint32_t> fault_id = {}) {
        auto req = wire::iommufd::hwpt_alloc(dev_id, pt_id, flags, fault_id);
        return finish(ctx, req, dev_id, pt_id, flags, uapi::hwpt_data_type::none, 0);
    }
    /// IOMMU_HWPT_ALLOC of a nested (user-managed) HWPT over the nest parent `parent` with vendor data D (a type with
    /// a wire::hwpt_data_traits specialization; copied by the kernel during the call).
    ///   auto s1 = vfiopp::hwpt::alloc_nested(ctx, dev.dev_id(), parent, vtd_s1).value();
    template <detail::hwpt_data_candidate D>
    [[nodiscard]] static result<hwpt> alloc_nested(const iommufd& ctx, std::uint32_t dev_id, const hwpt& parent,
                                                   const D& data, uapi::bitmask<uapi::hwpt_alloc_flag> flags = {},
                                                   std::optional<std::uint32_t> fault_id = {}) {
        return alloc_nested(ctx, dev_id, parent.id(), data, flags, fault_id);
    }
    /// The same over a parent ID (a NEST_PARENT HWPT or a vIOMMU another component owns).
    ///   auto s1 = vfiopp::hwpt::alloc_nested(ctx, dev.dev_id(), viommu_id, ste).value();
    template <detail::hwpt_data_candidate D>
    [[nodiscard]] static result<hwpt> alloc_nested(const iommufd& ctx, std::uint32_t dev_id, std::uint32_t parent_id,
                                                   const D& data, uapi::bitmask<uapi::hwpt_alloc_flag> flags = {},
                                                   std::optional<std::uint32_t> fault_id = {}) {
        auto req = wire::iommufd::hwpt_alloc(dev_id, parent_id, flags, data, fault_id);  // static_assert without traits
        if constexpr (wire::iommufd::hwpt_vendor_data<D>) {
            constexpr auto type = wire::hwpt_data_traits<D>::data_type;
            auto h = finish(ctx, req, dev_id, parent_id, flags, type, static_cast<std::uint32_t>(type));
            if (h) h->parent_ = parent_id;
            return h;
        } else {
            return req.error();
        }
    }
    /// Adopts an existing HWPT ID of the iommufd ctx_fd (destroyed when the object goes).
    ///   auto h = vfiopp::hwpt::adopt(ctx.fd(), id, ctx.hook());
    [[nodiscard]] static hwpt adopt(int ctx_fd, std::uint32_t id, io::ioctl_hook hook = {}) noexcept {
        hwpt h;
        h.fd_ = ctx_fd;
        h.hook_ = hook;
        h.id_ = id;
        return h;
    }

    /// The HWPT ID (0 once destroyed or moved from): `dev.attach(h.id());`
    [[nodiscard]] std::uint32_t id() const noexcept { return id_; }
    /// The iommufd's fd (borrowed).
    [[nodiscard]] int fd() const noexcept { return fd_; }
    /// The parent's ID for a nested HWPT, 0 otherwise: `if (h.parent_id() != 0) ...`
    [[nodiscard]] std::uint32_t parent_id() const noexcept { return parent_; }
    /// The flags it was allocated with (fault_id_valid included when a fault_id was given).
    [[nodiscard]] uapi::bitmask<uapi::hwpt_alloc_flag> flags() const noexcept { return flags_; }

    /// IOMMU_HWPT_SET_DIRTY_TRACKING on or off (needs a HWPT allocated with dirty_tracking).
    ///   h.set_dirty_tracking(true).value();
    [[nodiscard]] result<void> set_dirty_tracking(bool on) {
        if (auto r = io::submit(fd_, wire::iommufd::hwpt_set_dirty_tracking(id_, on), hook_); !r) {
            auto e = r.error().with("hwpt", id_).with("enable", on ? 1u : 0u);
            if (e.code == EOPNOTSUPP)
                e.advise("the HWPT has no dirty tracking: allocate it with hwpt_alloc_flag::dirty_tracking, which the "
                         "IOMMU must support (IOMMU_HW_CAP_DIRTY_TRACKING in get_hw_info)");
            return e;
        }
        return {};
    }

    /// IOMMU_HWPT_GET_DIRTY_BITMAP of [iova, iova + length) at page_size granularity into bitmap; returns the number
    /// of dirty pages. The bitmap is relative to iova (the kernel's iova_bitmap): bit n, i.e. bit n % 64 of
    /// bitmap[n / 64], is the page [iova + n * page_size, + page_size). The words covering the range are zeroed
    /// first (the kernel only sets bits). The kernel reports whole IOMMU pages: when its page is larger than
    /// page_size, every bit of a dirty IOMMU page is set. iova and length must be multiples of page_size (a power of
    /// two) and of the IOAS's alignment; the bitmap needs ceil(length / page_size / 64) words (EINVAL before the
    /// ioctl otherwise). `std::array<std::uint64_t, 1> b{}; auto n = h.get_dirty_bitmap(iova, 64 * 4096, 4096, b).value();`
    [[nodiscard]] result<std::uint64_t> get_dirty_bitmap(std::uint64_t iova, std::uint64_t length, std::uint64_t page_size,
                                                         std::span<std::uint64_t> bitmap, dirty_read how = dirty_read::clear) {
        auto req = wire::iommufd::hwpt_get_dirty_bitmap(id_, iova, length, page_size, bitmap, how == dirty_read::keep);
        if (!req) return std::move(req.error()).with("hwpt", id_).with("iova", iova).with("length", length);
        const std::uint64_t pages = length / page_size;
        const std::size_t words = static_cast<std::size_t>(pages / 64 + (pages % 64 != 0 ? 1 : 0));
        std::memset(bitmap.data(), 0, words * sizeof(std::uint64_t));
        if (auto r = io::submit(fd_, *req, hook_); !r) {
            auto e = r.error().with("hwpt", id_).with("iova", iova).with("length", length);
            if (e.code == EOPNOTSUPP)
                e.advise("the HWPT has no dirty tracking: allocate it with hwpt_alloc_flag::dirty_tracking and "
                         "set_dirty_tracking(true) first");
            if (e.code == EINVAL)
                e.advise("iova and length must be multiples of page_size and of the IOAS's IOVA alignment "
                         "(ioas::iova_ranges().alignment), and dirty tracking must be on");
            return e;
        }
        std::uint64_t dirty = 0;
        for (std::uint64_t n = 0; n < pages; ++n)
            if (dirty_page(bitmap, n)) ++dirty;
        return dirty;
    }
    /// Whether page n of a get_dirty_bitmap() range (the page at iova + n * page_size) is dirty; false past the
    /// bitmap. `for (std::uint64_t n = 0; n < pages; ++n) if (vfiopp::hwpt::dirty_page(b, n)) copy(iova + n * ps);`
    [[nodiscard]] static constexpr bool dirty_page(std::span<const std::uint64_t> bitmap, std::uint64_t n) noexcept {
        return n / 64 < bitmap.size() && ((bitmap[static_cast<std::size_t>(n / 64)] >> (n % 64)) & 1u) != 0;
    }

    /// IOMMU_HWPT_INVALIDATE with the caller's entries (an entry type with a wire::hwpt_data_traits
    /// invalidate_type: iommu_hwpt_vtd_s1_invalidate, or the caller's). The kernel handles them in order and stops
    /// at the first it refuses: `done` is how many it handled, `status` that entry's error.
    ///   auto out = h.invalidate(std::span<const uapi::iommu_hwpt_vtd_s1_invalidate>(inv));
    template <typename Entry>
    [[nodiscard]] invalidate_outcome invalidate(std::span<const Entry> entries) {
        invalidate_outcome out;
        auto req = wire::iommufd::hwpt_invalidate(id_, entries);
        if (!req) {
            out.status = std::move(req.error()).with("hwpt", id_).with("entries", entries.size());
            return out;
        }
        auto r = io::submit(fd_, *req, hook_);
        out.done = req->header().entry_num;
        if (!r) {
            auto e = r.error().with("hwpt", id_).with("entry_num", out.done).with("entries", entries.size());
            if (e.code == EINVAL)
                e.advise("entry entry_num was refused (bad entry data), or the HWPT is not nested, or the entry type "
                         "is not its driver's");
            if (e.code == EOPNOTSUPP) e.advise("the HWPT's driver has no user cache invalidation");
            out.status = e;
        }
        return out;
    }
    /// invalidate() from an array: `auto out = h.invalidate(std::array{entry0, entry1});`
    template <typename Entry, std::size_t N>
    [[nodiscard]] invalidate_outcome invalidate(const std::array<Entry, N>& entries) {
        return invalidate(std::span<const Entry>(entries));
    }

    /// IOMMU_DESTROY now, reporting the error (EBUSY: a device is attached to it, or a nested HWPT is built on
    /// it); the object is empty afterwards either way. `if (auto r = h.destroy(); !r) ...`
    [[nodiscard]] result<void> destroy() {
        if (id_ == 0 || fd_ < 0) return {};
        const std::uint32_t id = std::exchange(id_, 0);  // not retried: the destructor must not issue it twice
        if (auto r = io::submit(fd_, wire::iommufd::destroy(id), hook_); !r) {
            auto e = r.error().with("hwpt", id);
            if (e.code == EBUSY)
                e.advise("the HWPT is in use: move its devices to another page table (device::replace) and destroy "
                         "the HWPTs nested on it first");
            return e;
        }
        return {};
    }

private:
    template <typename Req>
    static result<hwpt> finish(const iommufd& ctx, Req& req, std::uint32_t dev_id, std::uint32_t pt_id,
                               uapi::bitmask<uapi::hwpt_alloc_flag> flags, uapi::hwpt_data_type type, std::uint32_t raw_type) {
        if (!req) return std::move(req.error()).with("dev_id", dev_id).with("pt_id", pt_id);
        if (auto r = io::submit(ctx.fd(), *req, ctx.hook()); !r) {
            auto e = r.error().with("dev_id", dev_id).with("pt_id", pt_id);
            if (type == uapi::hwpt_data_type::none) e.with("flags", flags.bits());
            else e.with("data_type", raw_type);
            if (e.code == ENOENT) e.advise("no such device ID in this iommufd (bind the device to it first)");
            if (e.code == EINVAL)
                e.advise(type == uapi::hwpt_data_type::none
                             ? "pt_id must be an IOAS of this iommufd"
                             : "pt_id must be a NEST_PARENT HWPT (or a vIOMMU) of this device's IOMMU, and the vendor "
                               "data valid for it");
            if (e.code == EOPNOTSUPP)
                e.advise(type == uapi::hwpt_data_type::none
                             ? "the IOMMU driver cannot honour these flags (nest_parent needs nesting support, "
                               "dirty_tracking IOMMU_HW_CAP_DIRTY_TRACKING, pasid a PASID-capable IOMMU)"
                             : "the IOMMU driver does not take this vendor data type (or cannot nest)");
            return e;
        }
        hwpt h = adopt(ctx.fd(), req->header().out_hwpt_id, ctx.hook());
        h.flags_ = req->header().flags;
        return h;
    }

    int fd_ = -1;  // borrowed: the iommufd's
    io::ioctl_hook hook_{};
    std::uint32_t id_ = 0;
    std::uint32_t parent_ = 0;
    uapi::bitmask<uapi::hwpt_alloc_flag> flags_{};
};

}  // namespace vfiopp
