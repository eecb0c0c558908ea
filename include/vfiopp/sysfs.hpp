// vfiopp/sysfs.hpp - where a VFIO device's nodes are, read from sysfs: its IOMMU group, its cdev, its driver.
//
//   auto where = vfiopp::locate_device("0000:00:04.0").value();
//   where.group;        // 12   -> /dev/vfio/12
//   where.cdev;         // "/dev/vfio/devices/vfio0" ("" when the kernel has no VFIO cdevs)
//   where.driver;       // "vfio-pci"
//
// A PCI address (DDDD:BB:DD.F) is looked up under /sys/bus/pci/devices, an mdev UUID under /sys/bus/mdev/devices.
// The root directory is a parameter so that tests can point it at a fake tree.
#pragma once

#include <vfiopp/error.hpp>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vfiopp {

/// A device's VFIO nodes.
struct device_location {
    std::string name;          ///< PCI address or mdev UUID, as given
    std::string sysfs;         ///< /sys/bus/<bus>/devices/<name>
    std::string driver;        ///< bound driver ("vfio-pci"; an mdev's parent driver, e.g. "mtty"), "" when none
    unsigned group = 0;        ///< IOMMU group number: /dev/vfio/<group>
    std::string cdev;          ///< /dev/vfio/devices/vfioN, or "" without VFIO_DEVICE_CDEV
    [[nodiscard]] std::string group_path() const { return "/dev/vfio/" + std::to_string(group); }
};

namespace detail {
inline std::string read_link_name(const std::string& path) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    if (n <= 0) return {};
    std::string_view s(buf, static_cast<std::size_t>(n));
    auto slash = s.rfind('/');
    return std::string(slash == std::string_view::npos ? s : s.substr(slash + 1));
}
/// stat(2) asked "is it there?": the stat buffer, std::nullopt when nothing is at path (ENOENT, ENOTDIR), else
/// stat's errno as a kernel error naming `stat` and the caller's field. Any other failure (EACCES, ENOMEM, ...)
/// says nothing about what exists, so taking it for absence would hide the error behind a later, wrong one.
///   auto st = detail::stat_if_present("/dev/iommu", "backend", "cannot tell whether /dev/iommu exists");
inline result<std::optional<struct stat>> stat_if_present(const std::string& path, const char* field,
                                                          const char* what) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) return std::optional<struct stat>(st);
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<struct stat>();
    return error{"stat", field, errno, what, error_origin::kernel};
}
inline bool is_dir(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
/// The last component of the symlink at path: "" when there is no link (ENOENT), else readlink's errno (ENOMEM,
/// EACCES, ...) as an error naming the syscall, so that a failing read is not taken for a missing link.
inline result<std::string> link_name_checked(const std::string& path) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    if (n < 0 && errno == ENOENT) return std::string{};
    if (n <= 0)
        return error{"readlink", "path", n < 0 ? errno : EIO, "reading the device's sysfs link failed", error_origin::kernel};
    std::string_view s(buf, static_cast<std::size_t>(n));
    auto slash = s.rfind('/');
    return std::string(slash == std::string_view::npos ? s : s.substr(slash + 1));
}
inline std::vector<std::string> list_dir(const std::string& path) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(path.c_str())) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') out.emplace_back(e->d_name);
        ::closedir(d);
    }
    return out;
}
}  // namespace detail

/// Finds a device's group, cdev and driver: `auto loc = vfiopp::locate_device("0000:00:04.0").value();`
/// A device that does not exist is ENOENT; one with no IOMMU group, or not bound to a VFIO driver, is ENODEV with
/// what to do.
[[nodiscard]] inline result<device_location> locate_device(std::string_view name, std::string_view sysfs_root = "/sys") {
    device_location loc;
    loc.name = name;
    // Only "not there" (ENOENT, ENOTDIR) means no such device: any other errno of the syscalls below (ENOMEM, ...)
    // is reported as the syscall's own error, not as a missing device, group or cdev.
    for (const char* bus : {"pci", "mdev"}) {
        std::string p = std::string(sysfs_root) + "/bus/" + bus + "/devices/" + loc.name;
        auto st = detail::stat_if_present(p, "name", "reading the device's sysfs directory failed");
        if (!st) return std::move(st.error()).about(name);
        if (*st && S_ISDIR((*st)->st_mode)) {
            loc.sysfs = std::move(p);
            break;
        }
    }
    if (loc.sysfs.empty())
        return detail::refuse("locate_device", "name", ENOENT,
                              "no such PCI device or mdev (expected a PCI address DDDD:BB:DD.F or an mdev UUID)")
            .about(name);
    auto driver = detail::link_name_checked(loc.sysfs + "/driver");
    if (!driver) return std::move(driver.error()).about(name);
    loc.driver = std::move(*driver);
    auto group_link = detail::link_name_checked(loc.sysfs + "/iommu_group");
    if (!group_link) return std::move(group_link.error()).about(name);
    const std::string& group = *group_link;
    if (group.empty())
        return detail::refuse("locate_device", "iommu_group", ENODEV,
                              "the device has no IOMMU group: boot with the IOMMU on (intel_iommu=on) or use "
                              "vfio's no-IOMMU mode")
            .about(name);
    char* end = nullptr;
    unsigned long n = std::strtoul(group.c_str(), &end, 10);
    if (end == group.c_str() || *end != '\0' || n > UINT_MAX)
        return detail::refuse("locate_device", "iommu_group", EINVAL, "the iommu_group link does not name a group number")
            .about(name);
    loc.group = static_cast<unsigned>(n);
    // An mdev's driver is its parent's VFIO driver (mtty, i915's kvmgt, ...): any driver will do there.
    bool is_pci = loc.sysfs.find("/bus/pci/") != std::string::npos;
    if (is_pci && loc.driver.rfind("vfio", 0) != 0 && !detail::is_dir(loc.sysfs + "/vfio-dev"))
        return detail::refuse("locate_device", "driver", ENODEV,
                              loc.driver.empty()
                                  ? "the device is bound to no driver: bind it to vfio-pci (echo vfio-pci > "
                                    "<sysfs>/driver_override; echo <address> > /sys/bus/pci/drivers_probe)"
                                  : "the device is bound to another driver: unbind it (echo <address> > "
                                    "<sysfs>/driver/unbind) and bind it to vfio-pci (driver_override, drivers_probe)")
            .about(name);
    const std::string vfio_dev = loc.sysfs + "/vfio-dev";
    DIR* d = ::opendir(vfio_dev.c_str());
    if (d == nullptr && errno != ENOENT)
        return error{"opendir", "vfio-dev", errno, "reading the device's sysfs vfio-dev directory failed",
                     error_origin::kernel}
            .about(name);
    if (d != nullptr) {
        errno = 0;
        while (dirent* e = ::readdir(d)) {
            if (std::string_view(e->d_name).rfind("vfio", 0) == 0) loc.cdev = std::string("/dev/vfio/devices/") + e->d_name;
            errno = 0;
        }
        const int code = errno;
        ::closedir(d);
        if (code != 0)
            return error{"readdir", "vfio-dev", code, "reading the device's sysfs vfio-dev directory failed",
                         error_origin::kernel}
                .about(name);
    }
    return loc;
}

/// The devices of IOMMU group n that keep it from being viable (bound to a driver other than a VFIO one), with
/// their drivers: `for (auto& [dev, drv] : vfiopp::group_blockers(12)) ...`.
[[nodiscard]] inline std::vector<std::pair<std::string, std::string>> group_blockers(unsigned n,
                                                                                     std::string_view sysfs_root = "/sys") {
    std::vector<std::pair<std::string, std::string>> out;
    std::string dir = std::string(sysfs_root) + "/kernel/iommu_groups/" + std::to_string(n) + "/devices";
    for (const auto& dev : detail::list_dir(dir)) {
        std::string drv = detail::read_link_name(dir + "/" + dev + "/driver");
        // pcieport and pci-stub are harmless to VFIO (the kernel's driver allow-list); no driver is fine too.
        if (!drv.empty() && drv.rfind("vfio", 0) != 0 && drv != "pci-stub" && drv != "pcieport")
            out.emplace_back(dev, drv);
    }
    return out;
}

}  // namespace vfiopp
