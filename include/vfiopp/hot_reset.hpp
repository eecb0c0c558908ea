// vfiopp/hot_reset.hpp - PCI hot reset (a slot or secondary bus reset) of a VFIO device and every device it drags along.
//
//   auto info = vfiopp::hot_reset_info(dev).value();          // who else a bus/slot reset affects (sized by vfiopp)
//   for (auto& d : info.devices) fmt::print("{} group {}\n", d.address(), d.group_id);
//   vfiopp::hot_reset(dev, std::array{group.fd()}).value();   // group form: the fd of every affected group
//   vfiopp::hot_reset(dev).value();                           // cdev form: every affected device in dev's iommufd
//
// The kernel answers ENODEV when neither a slot nor a bus reset is possible (a device on the root bus), EINVAL
// when the caller does not prove ownership of every affected device (hot_reset_info() says which ones).
// The functions take the device's fd only; the hook parameter is the ioctl hook (device.hpp keeps its own private).
#pragma once

#include <vfiopp/device.hpp>
#include <vfiopp/error.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/uapi/vfio.hpp>
#include <vfiopp/wire/detail/trailer.hpp>
#include <vfiopp/wire/request.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

namespace vfiopp {

/// How a device affected by a hot reset is identified, and whether the caller owns it (the cdev form).
enum class reset_ownership : unsigned char {
    group,      ///< group form: group_id names its IOMMU group; the caller proves ownership with the group's fd
    devid,      ///< cdev form: bound to the caller's iommufd; devid is its device ID there
    owned,      ///< cdev form: not bound, but its IOMMU group is owned by the caller's iommufd (VFIO_PCI_DEVID_OWNED)
    not_owned,  ///< cdev form: the caller does not own it (VFIO_PCI_DEVID_NOT_OWNED): the reset will be refused
};

/// One device a hot reset affects (vfio_pci_dependent_device, decoded).
struct reset_device {
    std::uint16_t segment = 0;
    std::uint8_t bus = 0;
    std::uint8_t devfn = 0;        ///< slot << 3 | function
    std::uint32_t group_id = 0;    ///< group form: its IOMMU group number (/dev/vfio/<group_id>); 0 in the cdev form
    std::uint32_t devid = 0;       ///< cdev form, ownership devid: its iommufd device ID; 0 otherwise
    reset_ownership ownership = reset_ownership::group;

    /// The device number: `d.slot() == 1`.
    [[nodiscard]] unsigned slot() const noexcept { return devfn >> 3; }
    /// The function number: `d.function() == 0`.
    [[nodiscard]] unsigned function() const noexcept { return devfn & 7u; }
    /// Its PCI address as sysfs spells it: `d.address() == "0000:01:01.0"`.
    [[nodiscard]] std::string address() const {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%04x:%02x:%02x.%u", segment, bus, slot(), function());
        return buf;
    }
    /// Whether the caller owns it in the cdev form (always true in the group form: ownership is the group fds'):
    /// `if (!d.owned()) ...`.
    [[nodiscard]] bool owned() const noexcept { return ownership != reset_ownership::not_owned; }
};

/// What VFIO_DEVICE_GET_PCI_HOT_RESET_INFO reports.
struct reset_info {
    uapi::bitmask<uapi::pci_hot_reset_flag> flags{};  ///< the kernel's flags, as reported
    std::vector<reset_device> devices;                 ///< every device the reset affects, dev itself included

    /// Whether the entries carry device IDs (the device was opened as a cdev: VFIO_PCI_HOT_RESET_FLAG_DEV_ID).
    [[nodiscard]] bool dev_id_form() const noexcept { return flags.has(uapi::pci_hot_reset_flag::dev_id); }
    /// cdev form: whether the caller owns every affected device (VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED), so that
    /// hot_reset(dev) can succeed. `if (info.all_owned()) hot_reset(dev);`
    [[nodiscard]] bool all_owned() const noexcept { return flags.has(uapi::pci_hot_reset_flag::dev_id_owned); }
    /// group form: the distinct IOMMU groups affected, in order of first appearance: the group fds hot_reset()
    /// needs. `for (auto g : info.groups()) fds.push_back(open_groups.at(g).fd());`
    [[nodiscard]] std::vector<std::uint32_t> groups() const {
        std::vector<std::uint32_t> out;
        if (dev_id_form()) return out;
        for (const auto& d : devices) {
            bool seen = false;
            for (auto g : out) seen = seen || g == d.group_id;
            if (!seen) out.push_back(d.group_id);
        }
        return out;
    }
};

namespace detail {
inline reset_device decode_dependent(const uapi::vfio_pci_dependent_device& e, bool dev_id_form) noexcept {
    reset_device d;
    d.segment = e.segment;
    d.bus = e.bus;
    d.devfn = e.devfn;
    if (!dev_id_form) {
        d.group_id = e.id.group_id;
        d.ownership = reset_ownership::group;
    } else if (e.id.devid == static_cast<std::uint32_t>(uapi::pci_devid_owned)) {
        d.ownership = reset_ownership::owned;
    } else if (e.id.devid == static_cast<std::uint32_t>(uapi::pci_devid_not_owned)) {
        d.ownership = reset_ownership::not_owned;
    } else {
        d.devid = e.id.devid;
        d.ownership = reset_ownership::devid;
    }
    return d;
}
inline error hot_reset_advice(error e) {
    if (e.code == ENODEV)
        e.advise("neither a slot nor a bus reset is possible for this device (e.g. it sits on the root bus: only "
                 "devices behind a bridge or in a hotplug slot can be hot reset)");
    else if (e.code == EPERM)
        e.advise("an affected device is in no IOMMU group (not isolated): the kernel never resets it for a user");
    return e;
}
}  // namespace detail

/// VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, sized by vfiopp: a first call with no room (the kernel answers ENOSPC with
/// the count), then one sized for it (retried if the topology grew meanwhile). `auto info = hot_reset_info(dev).value();`
[[nodiscard]] inline result<reset_info> hot_reset_info(const device& dev, io::ioctl_hook hook = {}) {
    constexpr auto name = uapi::vfio::device_get_pci_hot_reset_info.name;
    constexpr std::size_t head = detail::flex_offset<uapi::vfio_pci_hot_reset_info>;
    constexpr std::size_t entry = sizeof(uapi::vfio_pci_dependent_device);
    std::uint32_t want = 0;
    for (int round = 0; round < 4; ++round) {
        std::vector<std::uint64_t> buf((head + entry * want + 7) / 8 + 1);  // 8-aligned, zeroed
        std::span<std::byte> bytes(reinterpret_cast<std::byte*>(buf.data()), head + entry * want);
        wire::request<uapi::vfio::device_get_pci_hot_reset_info, wire::external_storage> req{bytes};
        detail::put_header(req, uapi::vfio_pci_hot_reset_info{}, static_cast<std::uint32_t>(bytes.size()));
        auto r = io::submit(dev.fd(), req, hook);
        auto h = req.header();
        if (!r && r.error().code == ENOSPC && h.count > want) {
            want = h.count;  // the kernel wrote the count it needs
            continue;
        }
        if (!r) return detail::hot_reset_advice(r.error().with("count", want)).about(dev.name());
        if (h.count > want)
            return detail::refuse(name, "count", EOVERFLOW, "the kernel reported more devices than the room it was given")
                .with("count", h.count)
                .with("room", want)
                .about(dev.name());
        reset_info out;
        out.flags = h.flags;
        bool dev_id = out.dev_id_form();
        for (std::uint32_t i = 0; i < h.count; ++i)
            out.devices.push_back(detail::decode_dependent(req.read<uapi::vfio_pci_dependent_device>(head + entry * i), dev_id));
        return out;
    }
    return detail::refuse(name, "count", EAGAIN, "the number of affected devices kept changing").about(dev.name());
}

/// The most group fds hot_reset() sends (the kernel takes at most one per affected device; more is E2BIG here).
inline constexpr std::size_t max_reset_groups = 64;

/// VFIO_DEVICE_PCI_HOT_RESET, group form (a device opened from its group): group_fds must hold the fd of every
/// group hot_reset_info() lists (at most max_reset_groups). `vfiopp::hot_reset(dev, std::array{g.fd()}).value();`
[[nodiscard]] inline result<void> hot_reset(device& dev, std::span<const int> group_fds, io::ioctl_hook hook = {}) {
    wire::vfio::pci_hot_reset_request<max_reset_groups> req;
    if (auto b = wire::vfio::pci_hot_reset_groups(req, group_fds); !b) return std::move(b.error()).about(dev.name());
    if (auto r = io::submit(dev.fd(), req, hook); !r) {
        auto e = detail::hot_reset_advice(r.error().with("count", group_fds.size()));
        if (e.code == EINVAL)
            e.advise("an affected device is in none of the groups given (hot_reset_info() lists them), a fd is not "
                     "a VFIO group, more fds than affected devices, or the device was opened as a cdev (use hot_reset(dev))");
        return e.about(dev.name());
    }
    return {};
}

/// VFIO_DEVICE_PCI_HOT_RESET, cdev form (zero-length group array, kernel 6.6+): every affected device must be bound
/// to dev's iommufd, or be in an IOMMU group it owns. `vfiopp::hot_reset(dev).value();`
[[nodiscard]] inline result<void> hot_reset(device& dev, io::ioctl_hook hook = {}) {
    if (auto r = io::submit(dev.fd(), wire::vfio::pci_hot_reset_devid(), hook); !r) {
        auto e = detail::hot_reset_advice(r.error().with("count", 0));
        if (e.code == EINVAL)
            e.advise("an affected device is neither bound to this device's iommufd nor in a group it owns "
                     "(hot_reset_info() says which), or the device came from a group (pass the group fds then)");
        return e.about(dev.name());
    }
    return {};
}

}  // namespace vfiopp
