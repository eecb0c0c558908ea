// vfiopp/device_features.hpp - the VFIO device features a VMM uses besides migration: runtime low power, ioeventfds,
// dma-buf export of a BAR range, and the SR-IOV VF token.
//
//   vfiopp::low_power_entry(dev).value();  /* ... */  vfiopp::low_power_exit(dev).value();   // runtime PM (D3cold)
//   auto ev = vfiopp::ioeventfd::add<std::uint32_t>(dev, bar0, 0x04, 0x1234).value();        // write on signal
//   ev.signal();                                   // the kernel writes 0x1234 at BAR0 + 4; removed when `ev` goes
//   vfiopp::unique_fd buf = vfiopp::export_dma_buf(dev, 0, 0, 0x1000).value();               // BAR0's first page
//   auto m = ioas.map_file(buf.get(), 0, 0x1000).value();         // peer-to-peer: another device DMAs into BAR0
//   vfiopp::set_vf_token(pf, vfiopp::parse_uuid("2ab74924-c335-45f4-9b16-8569e5b08258").value()).value();
//
// The functions take the device's fd only; `hook` is the ioctl hook (device.hpp keeps the device's own private).
#pragma once

#include <vfiopp/device.hpp>
#include <vfiopp/error.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/region.hpp>
#include <vfiopp/uapi/vfio.hpp>
#include <vfiopp/unique_fd.hpp>
#include <vfiopp/wire/request.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace vfiopp {

namespace detail {
template <typename Req>
result<void> submit_feature(const device& dev, Req& req, io::ioctl_hook hook) {
    if (auto r = io::submit(dev.fd(), req, hook); !r) {
        auto e = r.error();
        if (e.code == ENOTTY) e.advise("the device's driver does not implement this feature (or the kernel predates it)");
        return e.about(dev.name());
    }
    return {};
}
}  // namespace detail

/// VFIO_DEVICE_FEATURE PROBE of payload P (wire::vfio::low_power_entry, uapi::vfio_device_feature_dma_buf, ...):
/// true when the device supports it, false on ENOTTY (unknown to the driver), the error otherwise.
///   bool p2p = vfiopp::feature_supported<vfiopp::uapi::vfio_device_feature_dma_buf>(dev).value();
template <typename P>
[[nodiscard]] result<bool> feature_supported(const device& dev, io::ioctl_hook hook = {}) {
    auto req = wire::vfio::feature_probe<P>();
    if (auto r = io::submit(dev.fd(), req, hook); !r) {
        if (r.error().code == ENOTTY) return false;
        return r.error().about(dev.name());
    }
    return true;
}

// ---- runtime low power (vfio-pci: the device goes to D3cold through runtime PM while no one touches it) ----

/// VFIO_DEVICE_FEATURE SET LOW_POWER_ENTRY: the device may enter low power; any access (mmap, read, ioctl) or
/// low_power_exit() wakes it. `vfiopp::low_power_entry(dev).value();`
[[nodiscard]] inline result<void> low_power_entry(device& dev, io::ioctl_hook hook = {}) {
    auto req = wire::vfio::feature_set(wire::vfio::low_power_entry{});
    return detail::submit_feature(dev, req, hook);
}
/// VFIO_DEVICE_FEATURE SET LOW_POWER_ENTRY_WITH_WAKEUP: as low_power_entry(), and the kernel signals wakeup_efd when
/// the device asks to wake up (PME); the caller then exits low power. `vfiopp::low_power_entry(dev, efd.get());`
[[nodiscard]] inline result<void> low_power_entry(device& dev, int wakeup_efd, io::ioctl_hook hook = {}) {
    if (wakeup_efd < 0)
        return detail::refuse(uapi::vfio::device_feature.name, "wakeup_eventfd", EBADF, "the wakeup eventfd must be >= 0")
            .about(dev.name());
    uapi::vfio_device_low_power_entry_with_wakeup p{};
    p.wakeup_eventfd = wakeup_efd;
    auto req = wire::vfio::feature_set(p);
    return detail::submit_feature(dev, req, hook);
}
/// VFIO_DEVICE_FEATURE SET LOW_POWER_EXIT (a no-op when the device is not in low power): `low_power_exit(dev);`
[[nodiscard]] inline result<void> low_power_exit(device& dev, io::ioctl_hook hook = {}) {
    auto req = wire::vfio::feature_set(wire::vfio::low_power_exit{});
    return detail::submit_feature(dev, req, hook);
}

// ---- ioeventfd ----

/// A VFIO_DEVICE_IOEVENTFD: when its eventfd is signalled, the kernel writes `data` (width sizeof(T)) at a region
/// offset, without a trip through the VMM. Move-only; owns the eventfd; removed (fd -1) when it goes. It borrows
/// the device's fd: it must go before the device.
///   auto ev = vfiopp::ioeventfd::add<std::uint16_t>(dev, bar, 0x10, 1).value();  kvm_ioeventfd(ev.fd(), ...);
class ioeventfd {
public:
    ioeventfd() noexcept = default;
    ioeventfd(const ioeventfd&) = delete;
    ioeventfd& operator=(const ioeventfd&) = delete;
    ioeventfd(ioeventfd&& o) noexcept { take(o); }
    /// Removes what this held, then takes o's.
    ioeventfd& operator=(ioeventfd&& o) noexcept {
        if (this != &o) {
            (void)remove();
            take(o);
        }
        return *this;
    }
    /// Removes it (errors dropped: call remove() to see them), then closes the eventfd.
    ~ioeventfd() { (void)remove(); }

    /// Registers an ioeventfd writing data (sizeof(T): u8, u16, u32 or u64) at reg's offset `offset` when efd is
    /// signalled; with no efd, a new eventfd (EFD_CLOEXEC) is made. Needs a region of the device (BAR).
    ///   auto ev = vfiopp::ioeventfd::add<std::uint32_t>(dev, bar0, 4, 0x5a5a).value();
    template <typename T>
    [[nodiscard]] static result<ioeventfd> add(const device& dev, const region& reg, std::uint64_t offset,
                                               std::type_identity_t<T> data, unique_fd efd = {}, io::ioctl_hook hook = {}) {
        constexpr auto name = uapi::vfio::device_ioeventfd.name;
        if (offset > reg.size() || reg.size() - offset < sizeof(T))
            return detail::refuse(name, "offset", EINVAL, "the write falls outside the region")
                .with("offset", offset)
                .with("region_size", reg.size())
                .about(dev.name());
        if (!efd) {
            efd.reset(::eventfd(0, EFD_CLOEXEC));
            if (!efd) return error{"eventfd", "", errno, "cannot create the ioeventfd's eventfd", error_origin::kernel};
        }
        const std::uint64_t at = reg.offset() + offset;
        auto req = wire::vfio::device_ioeventfd<T>(at, data, efd.get());
        if (!req) return std::move(req.error()).about(dev.name());
        if (auto r = io::submit(dev.fd(), *req, hook); !r) {
            auto e = r.error().with("offset", offset).with("data", static_cast<std::uint64_t>(data)).with("index", reg.index());
            if (e.code == EEXIST) e.advise("an ioeventfd with this offset, width and data is already registered");
            if (e.code == EINVAL) e.advise("ioeventfds need a BAR with MMIO or I/O ports (vfio-pci) and a naturally aligned offset");
            if (e.code == ENOSPC) e.advise("the device has its maximum number of ioeventfds (vfio-pci: 1000)");
            return e.about(dev.name());
        }
        ioeventfd out;
        out.device_fd_ = dev.fd();
        out.hook_ = hook;
        out.offset_ = at;
        out.data_ = static_cast<std::uint64_t>(data);
        out.width_ = sizeof(T);
        out.efd_ = std::move(efd);
        return out;
    }

    /// The eventfd, to hand to KVM (KVM_IOEVENTFD) or to signal: `kvm.ioeventfd(ev.fd(), gpa, 4);`
    [[nodiscard]] int fd() const noexcept { return efd_.get(); }
    /// Whether it is registered: `if (ev.active()) ...`.
    [[nodiscard]] bool active() const noexcept { return width_ != 0; }
    /// The device fd offset it writes at (region offset + offset in the region).
    [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }
    /// The value it writes.
    [[nodiscard]] std::uint64_t data() const noexcept { return data_; }
    /// Signals the eventfd (adds 1), as KVM does on a guest write: `ev.signal().value();`
    [[nodiscard]] result<void> signal() const {
        const std::uint64_t one = 1;
        if (::write(efd_.get(), &one, sizeof one) != static_cast<ssize_t>(sizeof one))
            return error{"write", "eventfd", errno, "cannot signal the ioeventfd", error_origin::kernel};
        return {};
    }
    /// Removes it now (VFIO_DEVICE_IOEVENTFD with fd -1) and reports the kernel's answer; the eventfd stays open
    /// until the object goes. Empty afterwards whatever happened. `if (auto r = ev.remove(); !r) log(r.error());`
    [[nodiscard]] result<void> remove() noexcept {
        unsigned w = std::exchange(width_, 0u);
        if (w == 0) return {};
        result<request_type> req = w == 1   ? wire::vfio::device_ioeventfd<std::uint8_t>(offset_, static_cast<std::uint8_t>(data_), -1)
                                   : w == 2 ? wire::vfio::device_ioeventfd<std::uint16_t>(offset_, static_cast<std::uint16_t>(data_), -1)
                                   : w == 4 ? wire::vfio::device_ioeventfd<std::uint32_t>(offset_, static_cast<std::uint32_t>(data_), -1)
                                            : wire::vfio::device_ioeventfd<std::uint64_t>(offset_, data_, -1);
        if (!req) return req.error();
        if (auto r = io::submit(device_fd_, *req, hook_); !r) return r.error().with("offset", offset_).with("data", data_);
        return {};
    }

private:
    using request_type = wire::request<uapi::vfio::device_ioeventfd>;
    void take(ioeventfd& o) noexcept {
        device_fd_ = o.device_fd_;
        hook_ = o.hook_;
        offset_ = o.offset_;
        data_ = o.data_;
        width_ = std::exchange(o.width_, 0u);
        efd_ = std::move(o.efd_);
    }

    int device_fd_ = -1;  // borrowed
    io::ioctl_hook hook_{};
    std::uint64_t offset_ = 0;
    std::uint64_t data_ = 0;
    unsigned width_ = 0;  // bytes; 0: not registered
    unique_fd efd_;
};

// ---- dma-buf export (7.0+, CONFIG_VFIO_PCI_DMABUF) ----

/// The most ranges export_dma_buf() sends in one request.
inline constexpr std::size_t max_dma_buf_ranges = 16;

/// VFIO_DEVICE_FEATURE GET DMA_BUF: a new dma-buf of the given page-aligned slices of BAR bar_index, owned by the
/// caller (iommufd maps one with IOAS_MAP_FILE for peer-to-peer DMA; it supports single-range dma-bufs only).
///   std::array r{uapi::vfio_region_dma_range{0, 0x1000}}; auto buf = export_dma_buf(dev, 0, r).value();
[[nodiscard]] inline result<unique_fd> export_dma_buf(const device& dev, std::uint32_t bar_index,
                                                      std::span<const uapi::vfio_region_dma_range> ranges,
                                                      int open_flags = O_RDWR | O_CLOEXEC, io::ioctl_hook hook = {}) {
    constexpr auto name = uapi::vfio::device_feature.name;
    constexpr std::size_t head = sizeof(uapi::vfio_device_feature) + sizeof(uapi::vfio_device_feature_dma_buf);
    if (ranges.empty()) return detail::refuse(name, "nr_ranges", EINVAL, "a dma-buf needs at least one range").about(dev.name());
    if (ranges.size() > max_dma_buf_ranges)
        return detail::refuse(name, "nr_ranges", E2BIG, "more ranges than export_dma_buf sends (max_dma_buf_ranges)")
            .with("nr_ranges", ranges.size())
            .about(dev.name());
    for (const auto& r : ranges)
        if (r.length == 0 || ((r.offset | r.length) & 0xfff) != 0)
            return detail::refuse(name, "dma_ranges", EINVAL, "every range needs a non-zero, page-aligned offset and length")
                .with("offset", r.offset)
                .with("length", r.length)
                .about(dev.name());
    wire::request<uapi::vfio::device_feature,
                  wire::inline_storage<head + sizeof(uapi::vfio_region_dma_range) * max_dma_buf_ranges>,
                  wire::returning<wire::returns::new_fd>>
        req;
    uapi::vfio_device_feature h{};
    h.flags = uapi::bitmask<uapi::device_feature_flag>(uapi::device_feature_flag::get) |
              uapi::bitmask<uapi::device_feature_flag>::from_bits(static_cast<std::uint32_t>(uapi::device_feature_id::dma_buf));
    uapi::vfio_device_feature_dma_buf p{};
    p.region_index = bar_index;
    p.open_flags = static_cast<std::uint32_t>(open_flags);
    p.nr_ranges = static_cast<std::uint32_t>(ranges.size());
    detail::image_access::write(req, 0, h);
    detail::image_access::write(req, sizeof h, p);
    detail::image_access::write_bytes(req, head, ranges.data(), ranges.size_bytes());
    detail::image_access::set_size(req, static_cast<std::uint32_t>(head + ranges.size_bytes()));
    auto fd = io::submit(dev.fd(), req, hook);
    if (!fd) {
        auto e = fd.error().with("index", bar_index).with("nr_ranges", ranges.size());
        if (e.code == ENOTTY)
            e.advise("no dma-buf export: the kernel needs 7.0+ with CONFIG_VFIO_PCI_DMABUF (PCI_P2PDMA, ZONE_DEVICE)");
        if (e.code == ENODEV) e.advise("the region is not a BAR with MMIO claimed by vfio-pci (or the device is gone)");
        if (e.code == EINVAL) e.advise("a range lies outside the BAR, or the BAR has no peer-to-peer provider");
        return e.about(dev.name());
    }
    return fd;
}
/// export_dma_buf() of one slice [offset, offset + length) of BAR bar_index: `auto b = export_dma_buf(dev, 0, 0, 4096);`
[[nodiscard]] inline result<unique_fd> export_dma_buf(const device& dev, std::uint32_t bar_index, std::uint64_t offset,
                                                      std::uint64_t length, int open_flags = O_RDWR | O_CLOEXEC,
                                                      io::ioctl_hook hook = {}) {
    const uapi::vfio_region_dma_range r{offset, length};
    return export_dma_buf(dev, bar_index, std::span<const uapi::vfio_region_dma_range>(&r, 1), open_flags, hook);
}

// ---- SR-IOV VF token ----

/// A UUID from its text form ("2ab74924-c335-45f4-9b16-8569e5b08258"): `auto t = vfiopp::parse_uuid(s).value();`
[[nodiscard]] constexpr result<std::array<std::uint8_t, 16>> parse_uuid(std::string_view s) noexcept {
    std::array<std::uint8_t, 16> out{};
    auto bad = [] { return detail::refuse("uuid", "text", EINVAL, "not a UUID (8-4-4-4-12 hex digits)"); };
    if (s.size() != 36) return bad();
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size();) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return bad();
            ++i;
            continue;
        }
        unsigned v = 0;
        for (int k = 0; k < 2; ++k, ++i) {
            char c = s[i];
            unsigned d = c >= '0' && c <= '9' ? unsigned(c - '0') : c >= 'a' && c <= 'f' ? unsigned(c - 'a' + 10)
                       : c >= 'A' && c <= 'F' ? unsigned(c - 'A' + 10) : 16u;
            if (d == 16u) return bad();
            v = v << 4 | d;
        }
        out[n++] = static_cast<std::uint8_t>(v);
    }
    return out;
}

/// VFIO_DEVICE_FEATURE SET PCI_VF_TOKEN on an SR-IOV PF opened by vfio-pci: the token its VFs' users must present
/// (VFIO_GROUP_GET_DEVICE_FD "<addr> vf_token=<uuid>", or BIND_IOMMUFD with FLAG_TOKEN). ENOTTY: not a PF with
/// vfio-pci's enable_sriov. `vfiopp::set_vf_token(pf, token).value();`
[[nodiscard]] inline result<void> set_vf_token(device& pf, const std::array<std::uint8_t, 16>& uuid, io::ioctl_hook hook = {}) {
    wire::vfio::pci_vf_token t{};
    t.uuid = uuid;
    auto req = wire::vfio::feature_set(t);
    if (auto r = io::submit(pf.fd(), req, hook); !r) {
        auto e = r.error();
        if (e.code == ENOTTY)
            e.advise("no VF token: the device is not an SR-IOV PF, or vfio-pci was loaded without enable_sriov=1");
        return e.about(pf.name());
    }
    return {};
}

}  // namespace vfiopp
