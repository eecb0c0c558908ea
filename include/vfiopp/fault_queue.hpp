// vfiopp/fault_queue.hpp - an iommufd fault queue (IOMMU_FAULT_QUEUE_ALLOC): I/O page faults of the HWPTs
// allocated with its ID, read from its fd as groups, answered with page responses written back to it.
//
//   auto ctx = vfiopp::iommufd::open().value();
//   auto faults = vfiopp::fault_queue::alloc(ctx).value();         // owns the fd and the object
//   auto req = vfiopp::wire::iommufd::hwpt_alloc(dev_id, ioas_id, {}, faults.id()).value();   // FAULT_ID_VALID
//   ...                                                             // poll(faults.fd()) for POLLIN, then:
//   for (auto& g : faults.read_groups().value())                   // whole groups (LAST_PAGE seen), by grpid
//       faults.respond(g, vfiopp::uapi::hwpt_page_response_code::success).value();   // {cookie, code} written
//
// The fd gives whole struct iommu_hwpt_pgfault records (40 bytes; a read count that is not a multiple of 40 is
// ESPIPE in the kernel, so reads are sized to whole records here). A group is the faults of one device with one
// grpid, the last one flagged IOMMU_PGFAULT_FLAGS_LAST_PAGE; all carry the group's cookie, which the response
// echoes. Records and groups split across reads (not the kernel's doing, but any fd may return short counts) are
// put back together; a short write of responses is continued where it stopped. The queue borrows the iommufd's fd:
// declare it after the iommufd and before the HWPTs that use it. When it goes the fd is closed first (the kernel
// answers INVALID to every fault not yet responded to), then IOMMU_DESTROY.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/iommufd.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/uapi/iommufd.hpp>
#include <vfiopp/unique_fd.hpp>
#include <vfiopp/wire/iommufd.hpp>

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace vfiopp {

namespace detail {
/// One iommufd object ID (borrowing the iommufd's fd and hook), IOMMU_DESTROYed exactly once: by destroy() or when
/// it goes. The base of vfiopp's iommufd objects beyond the IOAS (fault queue, vIOMMU, vDEVICE, vEVENTQ, HW queue).
///   detail::iommufd_id obj{ctx.fd(), ctx.hook(), id};   // obj.destroy("viommu") names the object in errors
class iommufd_id {
public:
    iommufd_id() noexcept = default;
    /// Owns id of the iommufd ctx_fd: `detail::iommufd_id o{ctx_fd, hook, id};`
    iommufd_id(int ctx_fd, io::ioctl_hook hook, std::uint32_t id) noexcept : fd_(ctx_fd), hook_(hook), id_(id) {}
    iommufd_id(const iommufd_id&) = delete;
    iommufd_id& operator=(const iommufd_id&) = delete;
    iommufd_id(iommufd_id&& o) noexcept : fd_(std::exchange(o.fd_, -1)), hook_(o.hook_), id_(std::exchange(o.id_, 0)) {}
    iommufd_id& operator=(iommufd_id&& o) noexcept {
        if (this != &o) {
            (void)destroy("id");
            fd_ = std::exchange(o.fd_, -1);
            hook_ = o.hook_;
            id_ = std::exchange(o.id_, 0);
        }
        return *this;
    }
    /// IOMMU_DESTROY (errors are dropped here; call destroy() to see them).
    ~iommufd_id() { (void)destroy("id"); }

    /// The object ID (0 when empty or destroyed): `hwpt_alloc(dev, ioas, {}, q.id())`.
    [[nodiscard]] std::uint32_t id() const noexcept { return id_; }
    /// The iommufd's fd (borrowed).
    [[nodiscard]] int ctx_fd() const noexcept { return fd_; }
    /// The hook every ioctl goes through.
    [[nodiscard]] const io::ioctl_hook& hook() const noexcept { return hook_; }

    /// IOMMU_DESTROY now; the error names the object as `what`: `if (auto r = o.destroy("vdevice"); !r) ...`.
    /// The ID is dropped either way (never issued twice).
    [[nodiscard]] result<void> destroy(std::string_view what) noexcept {
        if (id_ == 0 || fd_ < 0) return {};
        const std::uint32_t id = std::exchange(id_, 0);
        if (auto r = io::submit(fd_, wire::iommufd::destroy(id), hook_); !r) return r.error().with(what, id);
        return {};
    }

private:
    int fd_ = -1;  // borrowed: the iommufd's
    io::ioctl_hook hook_{};
    std::uint32_t id_ = 0;
};

/// read(2) of an event fd (fault queue, vEVENTQ), retrying EINTR; a kernel error names "read" and `field`.
///   auto n = detail::read_event_fd(fd, buf, "fault_fd");
[[nodiscard]] inline result<std::size_t> read_event_fd(int fd, std::span<std::byte> buf, std::string_view field) noexcept {
    ssize_t n;
    do {
        n = ::read(fd, buf.data(), buf.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) return error{"read", field, errno > 0 ? errno : EIO, {}, error_origin::kernel};
    return static_cast<std::size_t>(n);
}
}  // namespace detail

/// One group of I/O page faults (one device, one grpid): what a fault_queue read delivers, in arrival order; the
/// last fault has IOMMU_PGFAULT_FLAGS_LAST_PAGE. `for (auto& f : g.faults) map_on_demand(f.addr, f.perm);`
struct fault_group {
    std::vector<uapi::iommu_hwpt_pgfault> faults;  ///< never empty in a delivered group

    /// The iommufd device ID that faulted: `g.dev_id() == dev.dev_id()`.
    [[nodiscard]] std::uint32_t dev_id() const noexcept { return faults.empty() ? 0 : faults.back().dev_id; }
    /// The page request group ID: `g.grpid()`.
    [[nodiscard]] std::uint32_t grpid() const noexcept { return faults.empty() ? 0 : faults.back().grpid; }
    /// The PASID, when the fault carries one (PASID_VALID): `if (auto p = g.pasid()) ...`.
    [[nodiscard]] std::optional<std::uint32_t> pasid() const noexcept {
        if (faults.empty() || !faults.back().flags.has(uapi::hwpt_pgfault_flag::pasid_valid)) return std::nullopt;
        return faults.back().pasid;
    }
    /// The cookie the response must echo (the last fault's; the kernel gives the whole group one).
    [[nodiscard]] std::uint32_t cookie() const noexcept { return faults.empty() ? 0 : faults.back().cookie; }
    /// The response record for this group: `auto r = g.response(hwpt_page_response_code::success);`
    [[nodiscard]] uapi::iommu_hwpt_page_response response(uapi::hwpt_page_response_code code) const noexcept {
        return {cookie(), code};
    }
};

/// An iommufd fault queue: owns its fd and its object ID; move-only. See the header comment.
class fault_queue {
public:
    /// sizeof(struct iommu_hwpt_pgfault): the unit of every read.
    static constexpr std::size_t record_size = sizeof(uapi::iommu_hwpt_pgfault);
    /// sizeof(struct iommu_hwpt_page_response): the unit of every write.
    static constexpr std::size_t response_size = sizeof(uapi::iommu_hwpt_page_response);

    fault_queue() noexcept = default;
    fault_queue(const fault_queue&) = delete;
    fault_queue& operator=(const fault_queue&) = delete;
    fault_queue(fault_queue&&) noexcept = default;
    /// Releases what this queue held (fd closed, then IOMMU_DESTROY), then takes o's.
    fault_queue& operator=(fault_queue&& o) noexcept {
        if (this != &o) {
            (void)destroy();
            fd_ = std::move(o.fd_);
            obj_ = std::move(o.obj_);
            pending_ = std::move(o.pending_);
            carry_ = o.carry_;
            carry_len_ = std::exchange(o.carry_len_, 0);
        }
        return *this;
    }
    /// Closes the fd, then IOMMU_DESTROY (EBUSY while a HWPT still uses the queue: destroy those first; dropped here).
    ~fault_queue() { (void)destroy(); }

    /// IOMMU_FAULT_QUEUE_ALLOC on ctx: `auto q = vfiopp::fault_queue::alloc(ctx).value();`
    [[nodiscard]] static result<fault_queue> alloc(const iommufd& ctx) { return alloc(ctx.fd(), ctx.hook()); }
    /// IOMMU_FAULT_QUEUE_ALLOC on an iommufd given by fd (borrowed): `auto q = vfiopp::fault_queue::alloc(fd).value();`
    [[nodiscard]] static result<fault_queue> alloc(int ctx_fd, io::ioctl_hook hook = {}) {
        auto req = wire::iommufd::fault_queue_alloc();
        auto fd = io::submit(ctx_fd, req, hook);
        if (!fd) return fd.error();
        fault_queue q;
        q.obj_ = detail::iommufd_id{ctx_fd, hook, req.header().out_fault_id};
        q.fd_ = std::move(*fd);
        return q;
    }

    /// The fault object ID, for IOMMU_HWPT_ALLOC's fault_id: `wire::iommufd::hwpt_alloc(dev, ioas, {}, q.id())`.
    [[nodiscard]] std::uint32_t id() const noexcept { return obj_.id(); }
    /// The fault fd (still owned here), for poll()/epoll: POLLIN when a fault group waits, POLLOUT always.
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    /// Faults read so far of groups whose LAST_PAGE fault has not come yet: `q.pending() == 0`.
    [[nodiscard]] std::size_t pending() const noexcept {
        std::size_t n = 0;
        for (const auto& g : pending_) n += g.faults.size();
        return n;
    }

    /// One read(2) of up to buf.size() bytes (rounded down to whole records; fewer than 40: EINVAL before the read);
    /// calls on_group(fault_group&&) for each group completed, in order; returns how many. 0 when nothing waits.
    ///   std::array<std::byte, 40 * 16> buf; q.read_groups(buf, [&](vfiopp::fault_group&& g) { todo.push_back(g); });
    template <typename Fn>
    [[nodiscard]] result<std::size_t> read_groups(std::span<std::byte> buf, Fn&& on_group) {
        const std::size_t count = buf.size() / record_size * record_size;
        if (count == 0)
            return detail::refuse("read", "count", EINVAL, "the buffer must hold one iommu_hwpt_pgfault record (40 bytes)")
                .with("fault", id())
                .with("count", buf.size());
        if (!fd_) return detail::refuse("read", "fault_fd", EBADF, "the fault queue has no fd (moved from or destroyed)");
        auto n = detail::read_event_fd(fd_.get(), buf.first(count), "fault_fd");
        if (!n) {
            auto e = std::move(n.error()).with("fault", id()).with("count", count);
            if (e.code == ESPIPE) e.advise("the read count must be a multiple of 40 bytes (whole iommu_hwpt_pgfault records)");
            if (e.code == EINVAL) e.advise("the buffer is smaller than the next fault group (its faults are delivered together)");
            return e;
        }
        std::span<const std::byte> in = buf.first(*n);
        std::size_t done = 0;
        if (carry_len_ > 0) {  // the rest of a record a previous read cut
            const std::size_t take = std::min(record_size - carry_len_, in.size());
            std::memcpy(carry_.data() + carry_len_, in.data(), take);
            carry_len_ += take;
            in = in.subspan(take);
            if (carry_len_ < record_size) return std::size_t{0};
            carry_len_ = 0;
            done += add(carry_.data(), on_group);
        }
        for (; in.size() >= record_size; in = in.subspan(record_size)) done += add(in.data(), on_group);
        std::memcpy(carry_.data(), in.data(), in.size());
        carry_len_ = in.size();
        return done;
    }
    /// One read of up to max_records faults; the groups it completed: `for (auto& g : q.read_groups().value()) ...`
    [[nodiscard]] result<std::vector<fault_group>> read_groups(std::size_t max_records = 64) {
        std::vector<std::byte> buf(max_records * record_size);
        std::vector<fault_group> out;
        auto r = read_groups(std::span(buf), [&out](fault_group&& g) { out.push_back(std::move(g)); });
        if (!r) return r.error();
        return out;
    }

    /// Writes the group's response {cookie, code}: `q.respond(g, uapi::hwpt_page_response_code::success).value();`
    [[nodiscard]] result<void> respond(const fault_group& g, uapi::hwpt_page_response_code code) {
        const uapi::iommu_hwpt_page_response r = g.response(code);
        return respond(std::span(&r, 1));
    }
    /// Writes responses (one write(2), continued after a short count); code must be success or invalid (else EINVAL
    /// before the write). A kernel refusal names the response it stopped at (index, cookie): an unknown cookie
    /// (never read, or answered already) is EINVAL. `q.respond(std::span(responses)).value();`
    [[nodiscard]] result<void> respond(std::span<const uapi::iommu_hwpt_page_response> responses) {
        for (std::size_t i = 0; i < responses.size(); ++i)
            if (responses[i].code != uapi::hwpt_page_response_code::success &&
                responses[i].code != uapi::hwpt_page_response_code::invalid)
                return detail::refuse("write", "code", EINVAL, "a page response code is success (0) or invalid (1)")
                    .with("index", i)
                    .with("code", static_cast<std::uint32_t>(responses[i].code));
        if (!fd_) return detail::refuse("write", "fault_fd", EBADF, "the fault queue has no fd (moved from or destroyed)");
        const auto* p = reinterpret_cast<const std::byte*>(responses.data());
        const std::size_t total = responses.size_bytes();
        for (std::size_t done = 0; done < total;) {
            ssize_t w = ::write(fd_.get(), p + done, total - done);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                const std::size_t index = done / response_size;
                error e{"write", "fault_fd", w < 0 && errno > 0 ? errno : EIO, {}, error_origin::kernel};
                e.with("fault", id()).with("index", index).with("cookie", responses[index].cookie);
                if (e.code == EINVAL) e.advise("no fault group with this cookie waits for a response (never read, or answered)");
                if (e.code == ESPIPE) e.advise("the write count must be a multiple of 8 bytes (whole page responses)");
                return e;
            }
            done += static_cast<std::size_t>(w);
        }
        return {};
    }

    /// Closes the fd, then IOMMU_DESTROY, reporting its error (EBUSY: a HWPT still uses the queue); the queue is
    /// empty afterwards either way. `if (auto r = q.destroy(); !r) ...`
    [[nodiscard]] result<void> destroy() noexcept {
        fd_.reset();  // the fd holds a reference on the object: IOMMU_DESTROY is EBUSY while it is open
        pending_.clear();
        carry_len_ = 0;
        if (auto r = obj_.destroy("fault"); !r) {
            auto e = r.error();
            if (e.code == EBUSY) e.advise("a HWPT allocated with this fault_id still exists: destroy it first");
            return e;
        }
        return {};
    }

private:
    // One whole record: into the pending group of its (dev_id, grpid); a LAST_PAGE fault completes the group.
    template <typename Fn>
    std::size_t add(const std::byte* rec, Fn& on_group) {
        uapi::iommu_hwpt_pgfault f;
        std::memcpy(&f, rec, record_size);
        auto it = pending_.begin();
        while (it != pending_.end() && !(it->dev_id() == f.dev_id && it->grpid() == f.grpid)) ++it;
        if (it == pending_.end()) it = pending_.insert(pending_.end(), fault_group{});
        it->faults.push_back(f);
        if (!f.flags.has(uapi::hwpt_pgfault_flag::last_page)) return 0;
        fault_group g = std::move(*it);
        pending_.erase(it);
        on_group(std::move(g));
        return 1;
    }

    unique_fd fd_;  // declared before obj_: in a moved-into object the order does not matter, destroy() orders them
    detail::iommufd_id obj_;
    std::vector<fault_group> pending_;
    std::array<std::byte, record_size> carry_{};
    std::size_t carry_len_ = 0;
};

}  // namespace vfiopp
