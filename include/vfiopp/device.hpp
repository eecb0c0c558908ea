// vfiopp/device.hpp - a VFIO device fd: from a group (type1) or from its cdev (iommufd).
//
//   // type1: the group gives the fd             // iommufd: open the cdev, bind, attach
//   auto dev = group.open_device("0000:00:04.0").value();
//   auto dev = vfiopp::device::open_cdev("/dev/vfio/devices/vfio0").value();
//   dev.bind(ctx).value();  dev.attach(ioas).value();
//
//   auto info = dev.info().value();                      // flags, regions, IRQs, capability chain
//   auto bar0 = dev.region(vfiopp::uapi::pci_region_index::bar0).value();
//   auto msi = dev.interrupts(vfiopp::uapi::pci_irq_index::msi).value();
//   dev.reset().value();
//
//   // iommufd: move the device onto a HWPT and back; give one PASID its own page table (7.3 uapi)
//   auto h = vfiopp::hwpt::alloc(ctx, dev.dev_id(), ioas.id(), vfiopp::uapi::hwpt_alloc_flag::pasid).value();
//   dev.replace(h).value();  dev.attach_pasid(5, h.id()).value();  dev.detach_pasid(5).value();
//
// Regions and interrupts made by a device borrow its fd: they must go before it. Closing a cdev device unbinds it
// from its iommufd (the kernel detaches it), so the destructor only closes the fd.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/interrupts.hpp>
#include <vfiopp/io/negotiate.hpp>
#include <vfiopp/hwpt.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/iommufd.hpp>
#include <vfiopp/region.hpp>
#include <vfiopp/unique_fd.hpp>
#include <vfiopp/wire/caps.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <fcntl.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vfiopp {

/// What VFIO_DEVICE_GET_INFO reports, with its capability chain read out.
struct device_info {
    uapi::bitmask<uapi::device_info_flag> flags{};
    std::uint32_t num_regions = 0;
    std::uint32_t num_irqs = 0;
    std::optional<uapi::bitmask<uapi::pci_atomic_comp_flag>> pci_atomic_comp;  ///< CAP_PCI_ATOMIC_COMP (6.5+)
    [[nodiscard]] bool is_pci() const noexcept { return flags.has(uapi::device_info_flag::pci); }
    [[nodiscard]] bool can_reset() const noexcept { return flags.has(uapi::device_info_flag::reset); }
};

/// A VFIO device; move-only; owns its fd.
class device {
public:
    device() noexcept = default;

    /// Opens a VFIO cdev (/dev/vfio/devices/vfioN); then bind() and attach() it. name (default: the path) is what
    /// errors call the device, e.g. its PCI address.
    ///   auto dev = vfiopp::device::open_cdev("/dev/vfio/devices/vfio0").value();
    [[nodiscard]] static result<device> open_cdev(std::string_view path, io::ioctl_hook hook = {},
                                                  std::string_view name = {}) {
        std::string p(path);
        unique_fd fd{::open(p.c_str(), O_RDWR | O_CLOEXEC)};
        if (!fd) {
            int code = errno;
            error e{"open", "path", code, {}, error_origin::kernel};
            e.about(path);
            if (code == ENOENT)
                e.advise("no such VFIO cdev: the kernel needs CONFIG_VFIO_DEVICE_CDEV and the device must be bound to "
                         "vfio-pci (its cdev is /sys/bus/pci/devices/<address>/vfio-dev/vfioN)");
            if (code == EACCES || code == EPERM)
                e.advise("permission denied: give the VMM's user read/write access to the cdev (chown/udev rule)");
            if (code == EBUSY) e.advise("the device is already open (in another process, or through its group)");
            return e;
        }
        return from_fd(std::move(fd), name.empty() ? path : name, hook);
    }
    /// Adopts a device fd (from VFIO_GROUP_GET_DEVICE_FD, a cdev open, or a privileged helper over SCM_RIGHTS);
    /// name is for errors. `auto dev = vfiopp::device::from_fd(vfiopp::receive_fd(sock).value(), "vfio0");`
    [[nodiscard]] static result<device> from_fd(unique_fd fd, std::string_view name, io::ioctl_hook hook = {}) {
        if (!fd) return detail::refuse("device", "fd", EBADF, "no device fd").about(name);
        device d;
        d.fd_ = std::move(fd);
        d.name_ = name;
        d.hook_ = hook;
        return d;
    }

    /// The fd, for the caller's own event loop, mmap, or to hand to another process.
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    /// The ioctl hook every request of this device (and what it makes) goes through: `migration::open(dev, dev.hook())`.
    [[nodiscard]] const io::ioctl_hook& hook() const noexcept { return hook_; }
    /// The name it was opened by (PCI address, mdev UUID or cdev path).
    [[nodiscard]] std::string_view name() const noexcept { return name_; }
    /// The iommufd device ID after bind() (0 before).
    [[nodiscard]] std::uint32_t dev_id() const noexcept { return dev_id_; }
    /// The page table (IOAS or HWPT) attached, 0 when none; after attaching an IOAS, the HWPT the kernel made.
    [[nodiscard]] std::uint32_t pt_id() const noexcept { return pt_id_; }

    /// VFIO_DEVICE_BIND_IOMMUFD (cdev only): binds the device to ctx; returns the device ID.
    [[nodiscard]] result<std::uint32_t> bind(const iommufd& ctx) {
        auto req = wire::vfio::device_bind_iommufd(ctx.fd());
        if (!req) return std::move(req.error()).about(name_);
        if (auto r = io::submit(fd(), *req, hook_); !r) {
            auto e = r.error().about(name_);
            if (e.code == ENOTTY) e.advise("not a cdev fd (a device from a group cannot be bound to an iommufd)");
            return e;
        }
        dev_id_ = req->header().out_devid;
        return dev_id_;
    }
    /// VFIO_DEVICE_ATTACH_IOMMUFD_PT: attaches to an IOAS or HWPT (bound devices only). Attaching again while
    /// attached replaces the page table atomically (the kernel's replace). Returns the HWPT now in use.
    [[nodiscard]] result<std::uint32_t> attach(std::uint32_t pt_id) {
        auto req = wire::vfio::device_attach_iommufd_pt(pt_id);
        if (auto r = io::submit(fd(), req, hook_); !r) return r.error().with("pt_id", pt_id).about(name_);
        pt_id_ = req.header().pt_id;
        return pt_id_;
    }
    /// attach() to an IOAS object: `dev.attach(ioas).value();`
    [[nodiscard]] result<std::uint32_t> attach(const ioas& a) { return attach(a.id()); }
    /// Replaces the attached page table with pt_id without a window of blocked DMA: `dev.replace(hwpt.id());`
    [[nodiscard]] result<std::uint32_t> replace(std::uint32_t pt_id) {
        if (pt_id_ == 0)
            return detail::refuse(uapi::vfio::device_attach_iommufd_pt.name, "pt_id", EINVAL,
                                  "replace() needs an attached page table: attach() first")
                .about(name_);
        return attach(pt_id);
    }
    /// attach() to a HWPT object: `dev.attach(h).value();`
    [[nodiscard]] result<std::uint32_t> attach(const hwpt& h) { return attach(h.id()); }
    /// replace() with a HWPT object (device re-attach without a window of blocked DMA): `dev.replace(h).value();`
    [[nodiscard]] result<std::uint32_t> replace(const hwpt& h) { return replace(h.id()); }

    /// VFIO_DEVICE_ATTACH_IOMMUFD_PT of one PASID (flags PASID, argsz 16) to the IOAS or HWPT pt_id; the PASID's
    /// traffic is then translated by it. Attaching a PASID already attached replaces its page table. Returns the
    /// HWPT now in use. A kernel without the PASID forms answers EINVAL to the flag: the error then says so (it is
    /// told apart from an incompatible page table by has_pasid_forms()). `dev.attach_pasid(5, h.id()).value();`
    [[nodiscard]] result<std::uint32_t> attach_pasid(std::uint32_t pasid, std::uint32_t pt_id) {
        auto req = wire::vfio::device_attach_iommufd_pt(pt_id, pasid);
        if (auto r = io::submit(fd(), req, hook_); !r) return pasid_error(r.error().with("pasid", pasid).with("pt_id", pt_id));
        bool known = false;
        for (auto p : pasids_) known |= p == pasid;
        if (!known) pasids_.push_back(pasid);
        return req.header().pt_id;
    }
    /// Replaces the page table of an attached PASID (refused, EINVAL, for a PASID this object did not attach).
    ///   dev.replace_pasid(5, other.id()).value();
    [[nodiscard]] result<std::uint32_t> replace_pasid(std::uint32_t pasid, std::uint32_t pt_id) {
        bool known = false;
        for (auto p : pasids_) known |= p == pasid;
        if (!known)
            return detail::refuse(uapi::vfio::device_attach_iommufd_pt.name, "pasid", EINVAL,
                                  "replace_pasid() needs the PASID attached: attach_pasid() first")
                .with("pasid", pasid)
                .about(name_);
        return attach_pasid(pasid, pt_id);
    }
    /// VFIO_DEVICE_DETACH_IOMMUFD_PT of one PASID (flags PASID, argsz 12): its DMA is blocked afterwards; a PASID
    /// never attached is a no-op for the kernel. `dev.detach_pasid(5).value();`
    [[nodiscard]] result<void> detach_pasid(std::uint32_t pasid) {
        if (auto r = io::submit(fd(), wire::vfio::device_detach_iommufd_pt(pasid), hook_); !r)
            return pasid_error(r.error().with("pasid", pasid));
        std::erase(pasids_, pasid);
        return {};
    }
    /// The PASIDs attached through this object, in attach order: `for (auto p : dev.pasids()) ...`
    [[nodiscard]] std::span<const std::uint32_t> pasids() const noexcept { return pasids_; }
    /// Whether the kernel knows the PASID forms of ATTACH/DETACH_IOMMUFD_PT: a DETACH of PASID 0xffffffff (never
    /// attached: a no-op) answers EINVAL on a kernel without them, success (or EOPNOTSUPP for a device without PASID
    /// ops) on one with them. `if (!dev.has_pasid_forms().value()) use_whole_device_only();`
    [[nodiscard]] result<bool> has_pasid_forms() const {
        auto r = io::submit(fd(), wire::vfio::device_detach_iommufd_pt(0xffffffffu), hook_);
        if (r || r.error().code == EOPNOTSUPP) return true;
        if (r.error().code == EINVAL) return false;
        return r.error().about(name_);
    }

    /// VFIO_DEVICE_DETACH_IOMMUFD_PT: DMA is blocked afterwards.
    [[nodiscard]] result<void> detach() {
        if (auto r = io::submit(fd(), wire::vfio::device_detach_iommufd_pt(), hook_); !r) return r.error().about(name_);
        pt_id_ = 0;
        return {};
    }

    /// VFIO_DEVICE_GET_INFO with its capability chain: `auto info = dev.info().value(); info.num_regions;`
    [[nodiscard]] result<device_info> info() const {
        auto req = wire::vfio::device_get_info<512>();
        if (auto r = io::negotiate(fd(), req, hook_); !r) return r.error().about(name_);
        auto chain = wire::device_info_chain::parse(req.bytes());
        if (!chain) return std::move(chain.error()).about(name_);
        auto h = req.header();
        device_info out{h.flags, h.num_regions, h.num_irqs, {}};
        if (auto a = chain->find<wire::pci_atomic_comp_cap>()) out.pci_atomic_comp = a->value.flags;
        return out;
    }
    /// A region by index (VFIO_DEVICE_GET_REGION_INFO with capabilities): `auto bar = dev.region(pci_region_index::bar0);`
    template <typename Index>
    [[nodiscard]] result<vfiopp::region> region(Index index) const {
        auto r = vfiopp::region::query(fd(), static_cast<std::uint32_t>(index), hook_);
        if (!r) return std::move(r.error()).about(name_);
        return r;
    }
    /// An IRQ index (VFIO_DEVICE_GET_IRQ_INFO): `auto msi = dev.interrupts(pci_irq_index::msi).value();`
    template <typename Index>
    [[nodiscard]] result<vfiopp::interrupts> interrupts(Index index) const {
        auto r = vfiopp::interrupts::query(fd(), static_cast<std::uint32_t>(index), hook_);
        if (!r) return std::move(r.error()).about(name_);
        return r;
    }
    /// VFIO_DEVICE_RESET (function-level or other reset the device supports): `dev.reset().value();`
    [[nodiscard]] result<void> reset() {
        if (auto r = io::submit(fd(), wire::vfio::device_reset(), hook_); !r) return r.error().about(name_);
        return {};
    }

private:
    error pasid_error(error e) const {
        e.about(name_);
        if (e.code == EINVAL) {
            auto forms = has_pasid_forms();
            if (forms && !*forms)
                e.advise("this kernel has no PASID forms of VFIO_DEVICE_ATTACH/DETACH_IOMMUFD_PT (flag "
                         "VFIO_DEVICE_ATTACH_PASID, Linux 7.3 uapi): it refuses the flag; attach the whole device");
            else
                e.advise("the page table is not PASID-compatible (allocate the HWPT with hwpt_alloc_flag::pasid; the "
                         "device's whole-device page table must be PASID-compatible too, an IOAS's automatic HWPT is "
                         "not), or the PASID is past the device's PASID width");
        }
        if (e.code == EOPNOTSUPP)
            e.advise("no PASID support for this device: its driver has no PASID attach (emulated/mdev devices), or "
                     "the IOMMU has none (VT-d: scalable mode with ECAP.PASID)");
        if (e.code == ENOENT) e.advise("no such IOAS or HWPT ID in the device's iommufd");
        return e;
    }

    io::ioctl_hook hook_{};
    std::string name_;
    std::vector<std::uint32_t> pasids_;  // attached through attach_pasid()
    std::uint32_t dev_id_ = 0;
    std::uint32_t pt_id_ = 0;
    unique_fd fd_;  // last: regions and interrupts the caller holds borrow it
};

}  // namespace vfiopp
