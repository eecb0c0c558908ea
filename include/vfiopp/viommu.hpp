// vfiopp/viommu.hpp - the iommufd vIOMMU objects: viommu (IOMMU_VIOMMU_ALLOC), vdevice (IOMMU_VDEVICE_ALLOC),
// veventq (IOMMU_VEVENTQ_ALLOC, with its event reader) and hw_queue (IOMMU_HW_QUEUE_ALLOC).
//
//   auto ctx = vfiopp::iommufd::open().value();
//   auto vi = vfiopp::viommu::alloc(ctx, dev.dev_id(), nest_parent_hwpt, uapi::viommu_type::arm_smmuv3).value();
//   auto vdev = vi.alloc_vdevice(dev.dev_id(), 0x10).value();          // the guest's vSID for the device
//   auto q = vi.alloc_veventq(uapi::veventq_type::arm_smmuv3, 64).value();   // owns the fd and the object
//   std::array<std::byte, 4096> buf;                                   // poll(q.fd()) for POLLIN, then:
//   for (const vfiopp::vevent& e : q.read_events(buf).value())         // in order; e.lost: events lost before it
//       if (auto rec = e.as<uapi::iommu_vevent_arm_smmuv3>()) inject_into_guest(*rec);
//   q.lost();                                                          // events lost so far, all reads together
//
// Each object borrows the iommufd's fd and is IOMMU_DESTROYed once when it goes (a vEVENTQ's fd is closed first).
// The kernel's references fix the order: declare the vIOMMU after its nest-parent HWPT, and its vDEVICEs, vEVENTQs
// and HW queues after the vIOMMU, so that they go first (a vIOMMU with any of them left is EBUSY to destroy).
//
// vEVENTQ records (eventq.c): each is an iommufd_vevent_header {flags, sequence} followed by the queue type's
// record (32 bytes for ARM SMMUv3, 16 for Tegra241 CMDQV, 4 for the IOMMUFD_TEST mock), except a header flagged
// IOMMU_VEVENTQ_FLAG_LOST_EVENTS, which has no data and stands for events dropped at the tail of a full queue.
// sequence counts every event the queue was given, lost ones included, in [0, INT_MAX] (INT_MAX is followed by 0).
// So a record whose sequence is k past the one expected follows k lost events, and a LOST_EVENTS header k past the
// expected one reports k + 1 (its own sequence is the last lost event's). A read returns whole records only; one
// that ends inside a record is refused (EBADMSG) without changing the counts.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/fault_queue.hpp>
#include <vfiopp/iommufd.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/uapi/iommufd.hpp>
#include <vfiopp/unique_fd.hpp>
#include <vfiopp/wire/iommufd.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

namespace vfiopp {

/// The types of the kernel's IOMMUFD_TEST mock driver (drivers/iommu/iommufd/iommufd_test.h, CONFIG_IOMMUFD_TEST;
/// not uapi): for tests against the mock. `viommu::alloc(ctx, dev, parent, iommufd_test::viommu_type_selftest)`
namespace iommufd_test {
inline constexpr auto viommu_type_selftest = static_cast<uapi::viommu_type>(0xdeadbeefu);    ///< IOMMU_VIOMMU_TYPE_SELFTEST
inline constexpr auto veventq_type_selftest = static_cast<uapi::veventq_type>(0xbeefbeefu);  ///< IOMMU_VEVENTQ_TYPE_SELFTEST
inline constexpr auto hw_queue_type_selftest = static_cast<uapi::hw_queue_type>(0xdeadbeefu);  ///< IOMMU_HW_QUEUE_TYPE_SELFTEST
/// struct iommu_viommu_event_selftest: the mock's vEVENT record, the vDEVICE's virt_id. `e.as<vevent_selftest>()`
struct vevent_selftest {
    std::uint32_t virt_id;
};
static_assert(sizeof(vevent_selftest) == 4);
}  // namespace iommufd_test

/// The bytes of type-specific data after each (non-LOST_EVENTS) vEVENT header of a queue of type t; 0 when vfiopp
/// does not know the type. `vevent_data_size(uapi::veventq_type::arm_smmuv3) == 32`
[[nodiscard]] constexpr std::size_t vevent_data_size(uapi::veventq_type t) noexcept {
    switch (t) {
        case uapi::veventq_type::arm_smmuv3: return sizeof(uapi::iommu_vevent_arm_smmuv3);
        case uapi::veventq_type::tegra241_cmdqv: return sizeof(uapi::iommu_vevent_tegra241_cmdqv);
        default: return t == iommufd_test::veventq_type_selftest ? sizeof(iommufd_test::vevent_selftest) : 0;
    }
}

/// The largest vEVENT sequence number (INT_MAX); the one after it is 0.
inline constexpr std::uint32_t vevent_sequence_max = 0x7fffffffu;

/// One record of a vEVENTQ read: the header's flags and sequence, the type-specific data (empty for a LOST_EVENTS
/// header) and how many events were lost just before it. `if (e.lost) warn(e.lost); use(e.as<T>());`
struct vevent {
    uapi::bitmask<uapi::veventq_flag> flags{};
    std::uint32_t sequence = 0;
    std::span<const std::byte> data;  ///< points into the read buffer
    std::uint32_t lost = 0;           ///< events lost before this record; for a LOST_EVENTS header, the ones it reports

    /// A LOST_EVENTS header (no data; `lost` says how many): `if (e.lost_events()) ...`.
    [[nodiscard]] bool lost_events() const noexcept { return flags.has(uapi::veventq_flag::lost_events); }
    /// The data as T when its size is T's (a copy: the buffer is not aligned for T): `e.as<iommu_vevent_arm_smmuv3>()`.
    template <typename T>
    [[nodiscard]] std::optional<T> as() const noexcept {
        static_assert(std::is_trivially_copyable_v<T>);
        if (data.size() != sizeof(T)) return std::nullopt;
        T t;
        std::memcpy(&t, data.data(), sizeof(T));
        return t;
    }
};

/// The records of one vEVENTQ read, validated; iterating yields vevent in order. `for (const vevent& e : list) ...`
class vevent_list {
public:
    /// Forward iterator over the records.
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = vevent;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = vevent;
        iterator() noexcept = default;
        /// The record here: `vevent e = *it;`
        vevent operator*() const noexcept {
            vevent e;
            std::uint32_t flags = 0;
            std::memcpy(&flags, bytes_.data() + off_, 4);
            std::memcpy(&e.sequence, bytes_.data() + off_ + 4, 4);
            e.flags = uapi::bitmask<uapi::veventq_flag>::from_bits(flags);
            const std::uint32_t gap = (e.sequence - expected_) & vevent_sequence_max;
            e.lost = e.lost_events() ? gap + 1 : gap;
            if (!e.lost_events()) e.data = bytes_.subspan(off_ + header_size, data_size_);
            return e;
        }
        /// The next record: `++it;`
        iterator& operator++() noexcept {
            vevent e = **this;
            expected_ = (e.sequence + 1) & vevent_sequence_max;
            off_ += header_size + e.data.size();
            return *this;
        }
        iterator operator++(int) noexcept {
            iterator t = *this;
            ++*this;
            return t;
        }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.off_ == b.off_; }

    private:
        friend class vevent_list;
        iterator(std::span<const std::byte> b, std::size_t off, std::size_t data_size, std::uint32_t expected) noexcept
            : bytes_(b), off_(off), data_size_(data_size), expected_(expected) {}
        std::span<const std::byte> bytes_;
        std::size_t off_ = 0;
        std::size_t data_size_ = 0;
        std::uint32_t expected_ = 0;
    };

    static constexpr std::size_t header_size = sizeof(uapi::iommufd_vevent_header);

    vevent_list() noexcept = default;
    /// Validates bytes (whole records of data_size bytes after each header, LOST_EVENTS headers alone; sequences
    /// at most INT_MAX) read from a queue that expected sequence `expected` next: EBADMSG naming the record's offset
    /// otherwise. `auto l = vevent_list::parse(bytes, 32, q.next_sequence()).value();`
    [[nodiscard]] static result<vevent_list> parse(std::span<const std::byte> bytes, std::size_t data_size,
                                                   std::uint32_t expected) {
        vevent_list l;
        l.bytes_ = bytes;
        l.data_size_ = data_size;
        l.first_expected_ = expected;
        for (std::size_t off = 0; off < bytes.size();) {
            if (bytes.size() - off < header_size)
                return detail::refuse("read", "veventq_fd", EBADMSG, "a read ended inside a vEVENT header")
                    .with("offset", off)
                    .with("bytes", bytes.size());
            std::uint32_t flags = 0, seq = 0;
            std::memcpy(&flags, bytes.data() + off, 4);
            std::memcpy(&seq, bytes.data() + off + 4, 4);
            if (seq > vevent_sequence_max)
                return detail::refuse("read", "sequence", EBADMSG, "a vEVENT sequence above INT_MAX (the kernel wraps at INT_MAX)")
                    .with("offset", off)
                    .with("sequence", seq);
            const bool lost_hdr = (flags & static_cast<std::uint32_t>(uapi::veventq_flag::lost_events)) != 0;
            const std::size_t len = header_size + (lost_hdr ? 0 : data_size);
            if (bytes.size() - off < len)
                return detail::refuse("read", "veventq_fd", EBADMSG, "a read ended inside a vEVENT record (truncated)")
                    .with("offset", off)
                    .with("record", len)
                    .with("bytes", bytes.size());
            const std::uint32_t gap = (seq - expected) & vevent_sequence_max;
            l.lost_ += lost_hdr ? std::uint64_t{gap} + 1 : gap;
            if (!lost_hdr) ++l.events_;
            ++l.records_;
            expected = (seq + 1) & vevent_sequence_max;
            off += len;
        }
        l.next_expected_ = expected;
        return l;
    }

    [[nodiscard]] iterator begin() const noexcept { return {bytes_, 0, data_size_, first_expected_}; }
    [[nodiscard]] iterator end() const noexcept { return {bytes_, bytes_.size(), data_size_, 0}; }
    /// Records read (events and LOST_EVENTS headers): `l.records()`.
    [[nodiscard]] std::size_t records() const noexcept { return records_; }
    /// Events with data read: `l.events()`.
    [[nodiscard]] std::size_t events() const noexcept { return events_; }
    /// Events lost before or among these records (sequence gaps and LOST_EVENTS headers): `l.lost()`.
    [[nodiscard]] std::uint64_t lost() const noexcept { return lost_; }
    /// Whether nothing was read: `if (l.empty()) wait();`
    [[nodiscard]] bool empty() const noexcept { return records_ == 0; }
    /// The sequence expected after these records: `l.next_sequence()`.
    [[nodiscard]] std::uint32_t next_sequence() const noexcept { return next_expected_; }

private:
    std::span<const std::byte> bytes_;
    std::size_t data_size_ = 0;
    std::uint32_t first_expected_ = 0, next_expected_ = 0;
    std::size_t records_ = 0, events_ = 0;
    std::uint64_t lost_ = 0;
};

/// A virtual device (a physical device as the guest's vIOMMU sees it, by virt_id); move-only; IOMMU_DESTROY when
/// it goes (destroy it before closing the device: the kernel otherwise leaks its ID until the iommufd closes).
class vdevice {
public:
    vdevice() noexcept = default;
    /// The vDEVICE object ID: `vdev.id()`.
    [[nodiscard]] std::uint32_t id() const noexcept { return obj_.id(); }
    /// The guest's ID for the device (vSID, vDeviceID, vRID): `vdev.virt_id() == 0x10`.
    [[nodiscard]] std::uint64_t virt_id() const noexcept { return virt_id_; }
    /// The iommufd device ID: `vdev.dev_id()`.
    [[nodiscard]] std::uint32_t dev_id() const noexcept { return dev_id_; }
    /// IOMMU_DESTROY now, reporting the error: `vdev.destroy().value();`
    [[nodiscard]] result<void> destroy() noexcept { return obj_.destroy("vdevice"); }

private:
    friend class viommu;
    detail::iommufd_id obj_;
    std::uint64_t virt_id_ = 0;
    std::uint32_t dev_id_ = 0;
};

/// A HW-accelerated queue of a vIOMMU over guest memory (IOMMU_HW_QUEUE_ALLOC, 6.17+); move-only; IOMMU_DESTROY
/// when it goes (before unmapping its memory from the parent IOAS).
class hw_queue {
public:
    hw_queue() noexcept = default;
    /// The HW queue object ID: `q.id()`.
    [[nodiscard]] std::uint32_t id() const noexcept { return obj_.id(); }
    /// The queue's index among the vIOMMU's queues of its type: `q.index()`.
    [[nodiscard]] std::uint32_t index() const noexcept { return index_; }
    /// IOMMU_DESTROY now, reporting the error: `q.destroy().value();`
    [[nodiscard]] result<void> destroy() noexcept { return obj_.destroy("hw_queue"); }

private:
    friend class viommu;
    detail::iommufd_id obj_;
    std::uint32_t index_ = 0;
};

/// A virtual event queue: owns its fd and its object ID; move-only; reads vEVENTs in order and counts lost ones.
class veventq {
public:
    veventq() noexcept = default;
    veventq(const veventq&) = delete;
    veventq& operator=(const veventq&) = delete;
    veventq(veventq&&) noexcept = default;
    /// Releases what this queue held (fd closed, then IOMMU_DESTROY), then takes o's.
    veventq& operator=(veventq&& o) noexcept {
        if (this != &o) {
            (void)destroy();
            fd_ = std::move(o.fd_);
            obj_ = std::move(o.obj_);
            type_ = o.type_;
            depth_ = o.depth_;
            data_size_ = o.data_size_;
            next_ = o.next_;
            lost_ = o.lost_;
            events_ = o.events_;
        }
        return *this;
    }
    /// Closes the fd, then IOMMU_DESTROY (errors dropped here).
    ~veventq() { (void)destroy(); }

    /// The vEVENTQ object ID: `q.id()`.
    [[nodiscard]] std::uint32_t id() const noexcept { return obj_.id(); }
    /// The fd (still owned here), for poll()/epoll: POLLIN while a record waits. Reads never block.
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    /// The queue's type: `q.type()`.
    [[nodiscard]] uapi::veventq_type type() const noexcept { return type_; }
    /// The depth it was allocated with (more pending events are lost): `q.depth()`.
    [[nodiscard]] std::uint32_t depth() const noexcept { return depth_; }
    /// The data bytes after each header: `q.data_size() == 32` (ARM SMMUv3).
    [[nodiscard]] std::size_t data_size() const noexcept { return data_size_; }
    /// The smallest read buffer that holds one event: `std::vector<std::byte> buf(q.record_size() * 16);`
    [[nodiscard]] std::size_t record_size() const noexcept { return vevent_list::header_size + data_size_; }
    /// The sequence the next record should carry: `q.next_sequence()`.
    [[nodiscard]] std::uint32_t next_sequence() const noexcept { return next_; }
    /// Events lost so far (sequence gaps and LOST_EVENTS headers over every read): `q.lost()`.
    [[nodiscard]] std::uint64_t lost() const noexcept { return lost_; }
    /// Events (with data) read so far: `q.received()`.
    [[nodiscard]] std::uint64_t received() const noexcept { return events_; }

    /// One read(2) into buf (at least record_size() bytes: EINVAL before the read otherwise); the records it
    /// returned, validated, and the counts updated. Empty when nothing waits.
    ///   for (const vevent& e : q.read_events(buf).value()) handle(e);
    [[nodiscard]] result<vevent_list> read_events(std::span<std::byte> buf) {
        if (buf.size() < record_size())
            return detail::refuse("read", "count", EINVAL, "the buffer must hold one vEVENT (header + the type's record)")
                .with("veventq", id())
                .with("count", buf.size())
                .with("record", record_size());
        if (!fd_) return detail::refuse("read", "veventq_fd", EBADF, "the vEVENTQ has no fd (moved from or destroyed)");
        auto n = detail::read_event_fd(fd_.get(), buf, "veventq_fd");
        if (!n) {
            auto e = std::move(n.error()).with("veventq", id()).with("count", buf.size());
            if (e.code == EINVAL) e.advise("the buffer is smaller than the next vEVENT (its data size is not the queue type's?)");
            return e;
        }
        auto l = vevent_list::parse(std::span<const std::byte>(buf.first(*n)), data_size_, next_);
        if (!l) return std::move(l.error()).with("veventq", id());
        next_ = l->next_sequence();
        lost_ += l->lost();
        events_ += l->events();
        return l;
    }
    /// As above, calling on_event(const vevent&) for each record in order; returns how many records.
    ///   q.read_events(buf, [](const vfiopp::vevent& e) { ... }).value();
    template <typename Fn>
    [[nodiscard]] result<std::size_t> read_events(std::span<std::byte> buf, Fn&& on_event) {
        auto l = read_events(buf);
        if (!l) return l.error();
        for (const vevent& e : *l) on_event(e);
        return l->records();
    }

    /// Closes the fd, then IOMMU_DESTROY, reporting its error; empty afterwards. `q.destroy().value();`
    [[nodiscard]] result<void> destroy() noexcept {
        fd_.reset();  // the fd holds a reference on the object: IOMMU_DESTROY is EBUSY while it is open
        return obj_.destroy("veventq");
    }

private:
    friend class viommu;
    unique_fd fd_;
    detail::iommufd_id obj_;
    uapi::veventq_type type_{};
    std::uint32_t depth_ = 0;
    std::size_t data_size_ = 0;
    std::uint32_t next_ = 0;  // a new queue's first event has sequence 0
    std::uint64_t lost_ = 0, events_ = 0;
};

/// A virtual IOMMU over a nest-parent HWPT; move-only; IOMMU_DESTROY when it goes. See the header comment.
class viommu {
public:
    viommu() noexcept = default;

    /// IOMMU_VIOMMU_ALLOC of type for dev_id's IOMMU over the nest-parent HWPT hwpt_id (driver without vIOMMU, or
    /// an unknown type: EOPNOTSUPP; not a NEST_PARENT HWPT: EINVAL).
    ///   auto vi = vfiopp::viommu::alloc(ctx, dev.dev_id(), parent, uapi::viommu_type::arm_smmuv3).value();
    [[nodiscard]] static result<viommu> alloc(const iommufd& ctx, std::uint32_t dev_id, std::uint32_t hwpt_id,
                                              uapi::viommu_type type) {
        return alloc(ctx.fd(), dev_id, hwpt_id, type, ctx.hook());
    }
    /// As above on an iommufd given by fd (borrowed): `auto vi = vfiopp::viommu::alloc(fd, dev, parent, type).value();`
    [[nodiscard]] static result<viommu> alloc(int ctx_fd, std::uint32_t dev_id, std::uint32_t hwpt_id,
                                              uapi::viommu_type type, io::ioctl_hook hook = {}) {
        auto req = wire::iommufd::viommu_alloc(dev_id, hwpt_id, type);
        if (auto r = io::submit(ctx_fd, req, hook); !r) {
            auto e = r.error().with("type", static_cast<std::uint32_t>(type)).with("dev_id", dev_id).with("hwpt_id", hwpt_id);
            if (e.code == EOPNOTSUPP) e.advise("the device's IOMMU driver has no vIOMMU of this type (VT-d has none)");
            if (e.code == EINVAL) e.advise("hwpt_id must be a HWPT allocated with NEST_PARENT");
            return e;
        }
        viommu v;
        v.obj_ = detail::iommufd_id{ctx_fd, hook, req.header().out_viommu_id};
        v.type_ = type;
        v.dev_id_ = dev_id;
        v.hwpt_id_ = hwpt_id;
        return v;
    }

    /// The vIOMMU object ID (also a pt_id for nested HWPTs): `vi.id()`.
    [[nodiscard]] std::uint32_t id() const noexcept { return obj_.id(); }
    /// The iommufd's fd (borrowed).
    [[nodiscard]] int fd() const noexcept { return obj_.ctx_fd(); }
    /// The type it was allocated as: `vi.type()`.
    [[nodiscard]] uapi::viommu_type type() const noexcept { return type_; }
    /// The iommufd device ID it was allocated for: `vi.dev_id()`.
    [[nodiscard]] std::uint32_t dev_id() const noexcept { return dev_id_; }
    /// The nest-parent HWPT it sits on: `vi.hwpt_id()`.
    [[nodiscard]] std::uint32_t hwpt_id() const noexcept { return hwpt_id_; }

    /// IOMMU_VDEVICE_ALLOC of dev_id as virt_id on this vIOMMU (a device has one vDEVICE: EEXIST).
    ///   auto vdev = vi.alloc_vdevice(dev.dev_id(), 0x10).value();
    [[nodiscard]] result<vdevice> alloc_vdevice(std::uint32_t dev_id, std::uint64_t virt_id) const {
        auto req = wire::iommufd::vdevice_alloc(id(), dev_id, virt_id);
        if (auto r = io::submit(fd(), req, obj_.hook()); !r) {
            auto e = r.error().with("viommu", id()).with("dev_id", dev_id).with("virt_id", virt_id);
            if (e.code == EEXIST) e.advise("the device already has a vDEVICE, or virt_id is taken on this vIOMMU");
            return e;
        }
        vdevice d;
        d.obj_ = detail::iommufd_id{fd(), obj_.hook(), req.header().out_vdevice_id};
        d.virt_id_ = virt_id;
        d.dev_id_ = dev_id;
        return d;
    }

    /// IOMMU_VEVENTQ_ALLOC of a queue of type holding depth events (1 .. 2^19); data_size is the record size after
    /// each header, by default vevent_data_size(type) (an unknown type needs it: EINVAL before the ioctl). One
    /// queue per type: EEXIST. `auto q = vi.alloc_veventq(uapi::veventq_type::arm_smmuv3, 64).value();`
    [[nodiscard]] result<veventq> alloc_veventq(uapi::veventq_type type, std::uint32_t depth,
                                                std::optional<std::size_t> data_size = {}) const {
        constexpr std::string_view name = uapi::iommufd::veventq_alloc.name;
        const std::size_t size = data_size.value_or(vevent_data_size(type));
        if (size == 0)
            return detail::refuse(name, "data_size", EINVAL, "vfiopp does not know this vEVENTQ type's record size: pass it")
                .with("type", static_cast<std::uint32_t>(type));
        auto req = wire::iommufd::veventq_alloc(id(), type, depth);
        if (!req) return std::move(req.error()).with("viommu", id()).with("depth", depth);
        auto fd_r = io::submit(fd(), *req, obj_.hook());
        if (!fd_r) {
            auto e = fd_r.error().with("viommu", id()).with("type", static_cast<std::uint32_t>(type)).with("depth", depth);
            if (e.code == EEXIST) e.advise("the vIOMMU already has a vEVENTQ of this type");
            if (e.code == EINVAL) e.advise("veventq_depth must be 1 .. 524288");
            return e;
        }
        veventq q;
        q.fd_ = std::move(*fd_r);
        q.obj_ = detail::iommufd_id{fd(), obj_.hook(), req->header().out_veventq_id};
        q.type_ = type;
        q.depth_ = depth;
        q.data_size_ = size;
        return q;
    }

    /// IOMMU_HW_QUEUE_ALLOC of queue index of type over [nesting_parent_iova, + length) of the parent IOAS (mapped
    /// there; the driver may need it contiguous). Kernels before 6.17: ENOTTY.
    ///   auto hq = vi.alloc_hw_queue(uapi::hw_queue_type::tegra241_cmdqv, 0, gpa, 0x10000).value();
    [[nodiscard]] result<hw_queue> alloc_hw_queue(uapi::hw_queue_type type, std::uint32_t index, std::uint64_t nesting_parent_iova,
                                                  std::uint64_t length) const {
        auto req = wire::iommufd::hw_queue_alloc(id(), type, index, nesting_parent_iova, length);
        if (!req) return std::move(req.error()).with("viommu", id()).with("index", index);
        if (auto r = io::submit(fd(), *req, obj_.hook()); !r) {
            auto e = r.error().with("viommu", id()).with("index", index).with("iova", nesting_parent_iova);
            if (e.code == ENOTTY) e.advise("IOMMU_HW_QUEUE_ALLOC needs Linux 6.17 or later");
            if (e.code == EOPNOTSUPP) e.advise("the vIOMMU's driver has no HW queue of this type");
            return e;
        }
        hw_queue q;
        q.obj_ = detail::iommufd_id{fd(), obj_.hook(), req->header().out_hw_queue_id};
        q.index_ = index;
        return q;
    }

    /// IOMMU_DESTROY now, reporting the error (EBUSY while a vDEVICE, vEVENTQ, HW queue or nested HWPT uses it).
    ///   if (auto r = vi.destroy(); !r) ...
    [[nodiscard]] result<void> destroy() noexcept {
        if (auto r = obj_.destroy("viommu"); !r) {
            auto e = r.error();
            if (e.code == EBUSY) e.advise("destroy the vIOMMU's vDEVICEs, vEVENTQs, HW queues and nested HWPTs first");
            return e;
        }
        return {};
    }

private:
    detail::iommufd_id obj_;
    uapi::viommu_type type_{};
    std::uint32_t dev_id_ = 0;
    std::uint32_t hwpt_id_ = 0;
};

}  // namespace vfiopp
