// examples/vfio-trace/fds.hpp - what each file descriptor of a traced process is (vfio-trace's fd tables).
//
// VFIO and iommufd reuse request codes across fds (0x3b71 is VFIO_IOMMU_MAP_DMA on a container and
// VFIO_DEVICE_PCI_HOT_RESET on a device), so an ioctl is decoded only by what its fd is. The tracer follows how
// fds come to be (open of /dev/vfio/vfio, /dev/vfio/N, /dev/vfio/devices/vfioN, /dev/iommu; dup*, fcntl(F_DUPFD*);
// fds returned by ioctls) and go (close, close_range, exec). A table belongs to a process, and threads share it
// (CLONE_FILES): threads hold a shared_ptr to one table, fork gives the child a copy.
// An fd the tracer never saw being made (a process attached late, an fd received over SCM_RIGHTS) is looked up
// once in /proc/PID/fd and then kept in the table like any other.
#pragma once

#include <vfiopp/uapi/ioctl.hpp>

#include <dirent.h>
#include <unistd.h>

#include <cctype>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vfio_trace {

/// What an fd is, as far as decoding its ioctls goes; `other` is everything that is not a VFIO or iommufd fd
/// (eventfds, a fault queue's fd, a dma-buf, files).
enum class fd_kind : std::uint8_t { other, container, group, device, iommufd, migration_data };

inline std::string_view to_string(fd_kind k) {
    switch (k) {
        case fd_kind::container: return "container";
        case fd_kind::group: return "group";
        case fd_kind::device: return "device";
        case fd_kind::iommufd: return "iommufd";
        case fd_kind::migration_data: return "migration-data";
        case fd_kind::other: return "other";
    }
    return "?";
}

/// The spelling --assume-kind takes: the names to_string gives.
inline std::optional<fd_kind> kind_from_string(std::string_view s) {
    for (auto k : {fd_kind::other, fd_kind::container, fd_kind::group, fd_kind::device, fd_kind::iommufd,
                   fd_kind::migration_data})
        if (to_string(k) == s) return k;
    return std::nullopt;
}

/// The registry's fd kind, for find_ioctl(code, fd, abi); nullopt for `other` (no VFIO ioctl is issued there).
inline std::optional<vfiopp::uapi::fd_kind> registry_kind(fd_kind k) {
    using R = vfiopp::uapi::fd_kind;
    switch (k) {
        case fd_kind::container: return R::container;
        case fd_kind::group: return R::group;
        case fd_kind::device: return R::device;
        case fd_kind::iommufd: return R::iommufd;
        case fd_kind::migration_data: return R::migration_data;
        case fd_kind::other: return std::nullopt;
    }
    return std::nullopt;
}

/// Extra path -> kind rules (the hidden --assume-kind option: host tests have no /dev/vfio).
using assumptions = std::map<std::string, fd_kind, std::less<>>;

namespace detail {
inline bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
}
}  // namespace detail

/// The kind of a path as opened, or as /proc/PID/fd shows it; nullopt when it is none of VFIO's.
///   classify("/dev/vfio/12", {}) == fd_kind::group;  classify("anon_inode:[vfio-device]", {}) == fd_kind::device
inline std::optional<fd_kind> classify(std::string_view path, const assumptions& extra) {
    if (auto it = extra.find(path); it != extra.end()) return it->second;
    if (path == "/dev/vfio/vfio") return fd_kind::container;
    if (path == "/dev/iommu") return fd_kind::iommufd;
    // a device from VFIO_GROUP_GET_DEVICE_FD has no path; /proc shows its anon inode
    if (path == "anon_inode:[vfio-device]") return fd_kind::device;
    constexpr std::string_view cdev = "/dev/vfio/devices/vfio", noiommu_cdev = "/dev/vfio/devices/noiommu-vfio";
    if (path.starts_with(cdev) && detail::all_digits(path.substr(cdev.size()))) return fd_kind::device;
    if (path.starts_with(noiommu_cdev) && detail::all_digits(path.substr(noiommu_cdev.size()))) return fd_kind::device;
    constexpr std::string_view grp = "/dev/vfio/", noiommu_grp = "/dev/vfio/noiommu-";
    if (path.starts_with(noiommu_grp) && detail::all_digits(path.substr(noiommu_grp.size()))) return fd_kind::group;
    if (path.starts_with(grp) && detail::all_digits(path.substr(grp.size()))) return fd_kind::group;
    return std::nullopt;
}

/// readlink(2) of /proc/PID/fd/FD, or nullopt when the fd is not open.
inline std::optional<std::string> proc_fd_link(pid_t pid, int fd) {
    char link[64], buf[PATH_MAX];
    std::snprintf(link, sizeof link, "/proc/%d/fd/%d", static_cast<int>(pid), fd);
    ssize_t n = ::readlink(link, buf, sizeof buf);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<std::size_t>(n));
}

/// One process's fd table: fd -> kind. Every fd it holds is open in the process (closes are followed).
class fd_table {
public:
    /// The kind of `fd` in process `pid`; an fd never seen is looked up in /proc once (then kept).
    fd_kind lookup(pid_t pid, int fd, const assumptions& extra) {
        if (auto it = fds_.find(fd); it != fds_.end()) return it->second;
        auto link = proc_fd_link(pid, fd);
        if (!link) return fd_kind::other;  // not open: nothing to keep (the ioctl fails with EBADF)
        auto k = classify(*link, extra).value_or(fd_kind::other);
        fds_[fd] = k;
        return k;
    }
    /// Whether `fd` is in the table (followed or looked up), without a lookup.
    std::optional<fd_kind> find(int fd) const {
        if (auto it = fds_.find(fd); it != fds_.end()) return it->second;
        return std::nullopt;
    }
    void set(int fd, fd_kind k) { fds_[fd] = k; }
    void erase(int fd) { fds_.erase(fd); }
    void erase_range(unsigned first, unsigned last) {
        for (auto it = fds_.lower_bound(static_cast<int>(std::min<unsigned>(first, INT_MAX))); it != fds_.end();) {
            if (static_cast<unsigned>(it->first) > last) break;
            it = fds_.erase(it);
        }
    }
    /// Fills the table from /proc/PID/fd (a process attached late, or one that just exec'd: close-on-exec fds went).
    void seed(pid_t pid, const assumptions& extra) {
        fds_.clear();
        char dir[64];
        std::snprintf(dir, sizeof dir, "/proc/%d/fd", static_cast<int>(pid));
        DIR* d = ::opendir(dir);
        if (!d) return;
        while (auto* e = ::readdir(d)) {
            std::string_view name = e->d_name;
            if (!detail::all_digits(name)) continue;
            int fd = std::stoi(std::string(name));
            if (auto link = proc_fd_link(pid, fd)) fds_[fd] = classify(*link, extra).value_or(fd_kind::other);
        }
        ::closedir(d);
    }

private:
    std::map<int, fd_kind> fds_;  // ordered: close_range erases a span
};

}  // namespace vfio_trace
