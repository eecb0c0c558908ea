// vfiopp/interrupts.hpp - one IRQ index of a VFIO device (INTx, MSI, MSI-X, ERR, REQ) wired to eventfds.
//
//   auto msi = dev.interrupts(vfiopp::uapi::pci_irq_index::msi).value();
//   msi.enable(1).value();                 // one eventfd per vector, made and owned here; SET_IRQS TRIGGER
//   poll_on(msi.eventfd(0));               // the caller's event loop reads it
//   msi.mask(0).value(); msi.unmask(0).value(); msi.trigger(0).value();   // (mask/unmask: if the index is maskable)
//   auto intx = dev.interrupts(vfiopp::uapi::pci_irq_index::intx).value();
//   intx.enable(1).value(); intx.enable_resample().value();   // INTx is level: unmask through a resample eventfd
//   // the destructor disables the index (SET_IRQS DATA_NONE count 0) before its eventfds close
//
// It borrows the device's fd (it must go before the device).
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/unique_fd.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <sys/eventfd.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace vfiopp {

/// VFIO_DEVICE_GET_IRQ_INFO of one index.
struct irq_info {
    std::uint32_t index = 0;
    std::uint32_t count = 0;  ///< vectors of this index (0: the device has none)
    uapi::bitmask<uapi::irq_info_flag> flags{};
    [[nodiscard]] bool maskable() const noexcept { return flags.has(uapi::irq_info_flag::maskable); }
    [[nodiscard]] bool automasked() const noexcept { return flags.has(uapi::irq_info_flag::automasked); }
};

/// One IRQ index; move-only; disables the index and closes the eventfds it owns when it goes.
class interrupts {
public:
    /// Most vectors one SET_IRQS of this object carries (PCI MSI-X allows 2048).
    static constexpr std::uint32_t max_vectors = 2048;

    interrupts() noexcept = default;
    interrupts(const interrupts&) = delete;
    interrupts& operator=(const interrupts&) = delete;
    interrupts(interrupts&& o) noexcept { take(o); }
    interrupts& operator=(interrupts&& o) noexcept {
        if (this != &o) {
            (void)disable();
            take(o);
        }
        return *this;
    }
    /// Disables the index if this object enabled it (errors dropped; call disable() to see them), then the owned
    /// eventfds close (member order).
    ~interrupts() { (void)disable(); }

    /// VFIO_DEVICE_GET_IRQ_INFO of index on device_fd; usually called through device::interrupts().
    [[nodiscard]] static result<interrupts> query(int device_fd, std::uint32_t index, io::ioctl_hook hook = {}) {
        auto req = wire::vfio::device_get_irq_info(index);
        if (auto r = io::submit(device_fd, req, hook); !r) return r.error().with("index", index);
        interrupts out;
        out.fd_ = device_fd;
        out.hook_ = hook;
        out.info_ = {index, req.header().count, req.header().flags};
        return out;
    }

    [[nodiscard]] const irq_info& info() const noexcept { return info_; }
    [[nodiscard]] std::uint32_t index() const noexcept { return info_.index; }
    [[nodiscard]] std::uint32_t count() const noexcept { return info_.count; }
    /// Whether this object has triggers set on the index.
    [[nodiscard]] bool enabled() const noexcept { return enabled_; }

    /// SET_IRQS TRIGGER with the caller's eventfds for vectors [start, start + fds.size()) (-1 leaves a vector
    /// without one); the caller keeps owning them. `msi.enable(std::span{fds}).value();`
    [[nodiscard]] result<void> enable(std::span<const int> fds, std::uint32_t start = 0) {
        constexpr auto name = uapi::vfio::device_set_irqs.name;
        if (fds.empty()) return detail::refuse(name, "count", EINVAL, "enable() needs at least one eventfd").with("index", index());
        if (start > info_.count || fds.size() > info_.count - start)
            return detail::refuse(name, "count", EINVAL, "more vectors than the index has (irq_info().count)")
                .with("index", index())
                .with("start", start)
                .with("count", fds.size());
        auto req = std::make_unique<wire::vfio::set_irqs_request<max_vectors>>();  // 8 KiB: not on the stack
        if (auto b = wire::vfio::set_irqs_eventfds<wire::vfio::irq_trigger>(*req, index(), start, fds); !b)
            return b.error().with("index", index());
        if (auto r = io::submit(fd_, *req, hook_); !r) return r.error().with("index", index()).with("count", fds.size());
        eventfds_.clear();  // eventfds made by an earlier enable(n) are no longer wired
        enabled_ = true;
        return {};
    }
    /// Makes n eventfds (EFD_CLOEXEC | EFD_NONBLOCK), owned here, and enables vectors [0, n) with them:
    ///   msix.enable(4).value(); int efd = msix.eventfd(3);
    [[nodiscard]] result<void> enable(std::uint32_t n) {
        if (n == 0 || n > info_.count)
            return detail::refuse(uapi::vfio::device_set_irqs.name, "count", EINVAL,
                                  n == 0 ? "enable() needs at least one vector" : "more vectors than the index has (irq_info().count)")
                .with("index", index())
                .with("count", n);
        std::vector<unique_fd> made;
        std::vector<int> raw;
        for (std::uint32_t i = 0; i < n; ++i) {
            made.emplace_back(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
            if (!made.back()) return error{"eventfd", "count", errno, {}, error_origin::kernel}.with("index", index());
            raw.push_back(made.back().get());
        }
        if (auto r = enable(std::span<const int>(raw)); !r) return r.error();  // `made` closes them
        eventfds_ = std::move(made);
        return {};
    }
    /// The owned eventfd of vector i (from enable(n)), or -1: `poll_on(msi.eventfd(0));`
    [[nodiscard]] int eventfd(std::uint32_t i) const noexcept { return i < eventfds_.size() ? eventfds_[i].get() : -1; }

    /// SET_IRQS TRIGGER DATA_NONE count 0: the index is disabled (its eventfds are released by the kernel).
    [[nodiscard]] result<void> disable() {
        if (!enabled_) return {};
        enabled_ = false;
        auto r = io::submit(fd_, wire::vfio::set_irqs_none<wire::vfio::irq_trigger>(index(), 0, 0), hook_);
        resample_.reset();
        eventfds_.clear();
        if (!r) return r.error().with("index", index());
        return {};
    }
    /// SET_IRQS MASK DATA_NONE on [start, start + count): `intx.mask().value();`
    [[nodiscard]] result<void> mask(std::uint32_t start = 0, std::uint32_t count = 1) {
        return none<wire::vfio::irq_mask>(start, count);
    }
    /// SET_IRQS UNMASK DATA_NONE on [start, start + count).
    [[nodiscard]] result<void> unmask(std::uint32_t start = 0, std::uint32_t count = 1) {
        return none<wire::vfio::irq_unmask>(start, count);
    }
    /// SET_IRQS TRIGGER DATA_NONE on [start, start + count): the kernel signals those vectors' eventfds (a test
    /// of the wiring, or a software-injected interrupt). `msi.trigger(0).value();`
    [[nodiscard]] result<void> trigger(std::uint32_t start = 0, std::uint32_t count = 1) {
        return none<wire::vfio::irq_trigger>(start, count);
    }
    /// INTx only: SET_IRQS UNMASK DATA_EVENTFD with a resample eventfd made and owned here: a write to it (the
    /// guest's EOI) unmasks the line in the kernel without a VMM round trip. Returns the eventfd.
    [[nodiscard]] result<int> enable_resample() {
        constexpr auto name = uapi::vfio::device_set_irqs.name;
        if (index() != static_cast<std::uint32_t>(uapi::pci_irq_index::intx))
            return detail::refuse(name, "index", EINVAL, "a resample eventfd exists for INTx only").with("index", index());
        unique_fd efd{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
        if (!efd) return error{"eventfd", "", errno, {}, error_origin::kernel};
        wire::vfio::set_irqs_request<1> req;
        const int fds[] = {efd.get()};
        if (auto b = wire::vfio::set_irqs_eventfds<wire::vfio::irq_unmask>(req, index(), 0, std::span<const int>(fds)); !b)
            return b.error();
        if (auto r = io::submit(fd_, req, hook_); !r) return r.error().with("index", index());
        resample_ = std::move(efd);
        return resample_.get();
    }

private:
    template <typename Action>
    result<void> none(std::uint32_t start, std::uint32_t count) {
        if (auto r = io::submit(fd_, wire::vfio::set_irqs_none<Action>(index(), start, count), hook_); !r)
            return r.error().with("index", index()).with("start", start).with("count", count);
        return {};
    }
    void take(interrupts& o) noexcept {
        fd_ = o.fd_;
        hook_ = o.hook_;
        info_ = o.info_;
        eventfds_ = std::move(o.eventfds_);
        resample_ = std::move(o.resample_);
        enabled_ = std::exchange(o.enabled_, false);
    }

    int fd_ = -1;  // borrowed: the device's
    io::ioctl_hook hook_{};
    irq_info info_{};
    // The eventfds are declared before enabled_'s users run in the destructor body: the body disables the index
    // first, then these members close the eventfds.
    std::vector<unique_fd> eventfds_;
    unique_fd resample_;
    bool enabled_ = false;
};

}  // namespace vfiopp
