// vfiopp/group.hpp - a VFIO group (/dev/vfio/N): the unit of isolation of the type1 backend.
//
//   auto c = vfiopp::container::open().value();
//   auto g = vfiopp::group::open(12).value();        // EACCES, not viable, ... each says what to do
//   g.attach(c).value();                              // SET_CONTAINER (+ SET_IOMMU type1v2 on the first group)
//   auto dev = g.open_device("0000:00:04.0").value();
//   // teardown: dev, then g (UNSET_CONTAINER), then c - the reverse of the declarations
//
// A group borrows the container it is attached to: it must go before the container.
#pragma once

#include <vfiopp/container.hpp>
#include <vfiopp/device.hpp>
#include <vfiopp/error.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/sysfs.hpp>
#include <vfiopp/unique_fd.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <fcntl.h>

#include <cerrno>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace vfiopp {

/// VFIO_GROUP_GET_STATUS.
struct group_status {
    bool viable = false;         ///< every device of the group is bound to a VFIO driver (or none)
    bool container_set = false;  ///< the group is attached to a container
};

/// A VFIO group; move-only; owns its fd; leaves its container (UNSET_CONTAINER) when it goes.
class group {
public:
    group() noexcept = default;
    group(const group&) = delete;
    group& operator=(const group&) = delete;
    group(group&& o) noexcept
        : hook_(o.hook_), number_(o.number_), container_(std::move(o.container_)), fd_(std::move(o.fd_)) {}
    group& operator=(group&& o) noexcept {
        if (this != &o) {
            leave();
            hook_ = o.hook_;
            number_ = o.number_;
            container_ = std::move(o.container_);
            fd_ = std::move(o.fd_);
        }
        return *this;
    }
    /// Leaves the container (errors dropped: the kernel does it anyway when the fd closes), then closes.
    ~group() { leave(); }

    /// Opens /dev/vfio/<number> and checks that the group is viable.
    ///   auto g = vfiopp::group::open(vfiopp::locate_device("0000:00:04.0")->group).value();
    [[nodiscard]] static result<group> open(unsigned number, io::ioctl_hook hook = {}) {
        std::string path = "/dev/vfio/" + std::to_string(number);
        unique_fd fd{::open(path.c_str(), O_RDWR | O_CLOEXEC)};
        if (!fd) {
            int code = errno;
            error e{"open", "path", code, {}, error_origin::kernel};
            e.with("group", number).about(path);
            if (code == EACCES || code == EPERM)
                e.advise("permission denied on the group node: run as root, or give the VMM's user the node "
                         "(chown user /dev/vfio/N, or a udev rule) and enough RLIMIT_MEMLOCK");
            if (code == ENOENT)
                e.advise("no such group node: bind the group's devices to vfio-pci first (the node appears then)");
            if (code == EBUSY) e.advise("the group is already open (VFIO allows one open of a group at a time)");
            return e;
        }
        return from_fd(std::move(fd), number, hook);
    }
    /// Adopts a group fd (e.g. from a privileged helper over SCM_RIGHTS) and checks that it is viable.
    [[nodiscard]] static result<group> from_fd(unique_fd fd, unsigned number, io::ioctl_hook hook = {}) {
        group g;
        g.fd_ = std::move(fd);
        g.number_ = number;
        g.hook_ = hook;
        auto st = g.status();
        if (!st) return st.error();
        if (!st->viable) {
            auto blockers = group_blockers(number);
            auto e = detail::refuse(uapi::vfio::group_get_status.name, "flags", EINVAL,
                                    "the group is not viable: every device in /sys/kernel/iommu_groups/N/devices must be "
                                    "bound to vfio-pci (or to no driver); the device named here is bound elsewhere")
                         .with("group", number);
            if (!blockers.empty()) e.about(blockers.front().first + " (" + blockers.front().second + ")");
            return e;
        }
        return g;
    }

    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    [[nodiscard]] unsigned number() const noexcept { return number_; }
    [[nodiscard]] bool attached() const noexcept { return container_ != nullptr; }

    /// VFIO_GROUP_GET_STATUS: `if (!g.status()->viable) ...`.
    [[nodiscard]] result<group_status> status() const {
        auto req = wire::vfio::group_get_status();
        if (auto r = io::submit(fd(), req, hook_); !r) return r.error().with("group", number_);
        auto f = req.header().flags;
        return group_status{f.has(uapi::group_flag::viable), f.has(uapi::group_flag::container_set)};
    }

    /// VFIO_GROUP_SET_CONTAINER, then VFIO_SET_IOMMU (type1v2, else type1) if the container has no model yet.
    /// `g.attach(c).value();`
    [[nodiscard]] result<void> attach(container& c) {
        if (container_ != nullptr)
            return detail::refuse(uapi::vfio::group_set_container.name, "container_fd", EBUSY,
                                  "the group is already attached to a container: detach() it first")
                .with("group", number_);
        auto req = wire::vfio::group_set_container(c.fd());
        if (!req) return std::move(req.error()).with("group", number_);
        if (auto r = io::submit(fd(), *req, hook_); !r) return r.error().with("group", number_);
        container_ = c.state_;
        ++container_->groups;
        if (!c.iommu_set()) {
            auto v2 = c.has_extension(uapi::extension::type1v2_iommu);
            if (!v2) {
                leave();  // undo SET_CONTAINER: nothing half-done is left
                return v2.error().with("group", number_);
            }
            auto model = *v2 ? uapi::extension::type1v2_iommu : uapi::extension::type1_iommu;
            if (auto s = c.set_iommu(model); !s) {
                leave();  // undo SET_CONTAINER: nothing half-done is left
                return s.error().with("group", number_);
            }
        }
        return {};
    }
    /// VFIO_GROUP_UNSET_CONTAINER. Refused (EBUSY) for the container's last group while it has mappings: the kernel
    /// would drop the IOMMU model and every mapping with it. `g.detach().value();`
    [[nodiscard]] result<void> detach() {
        if (container_ == nullptr) return {};
        if (container_->groups == 1 && container_->mappings > 0)
            return detail::refuse(uapi::vfio::group_unset_container.name, "group", EBUSY,
                                  "this is the container's last group and the container still has mappings: the kernel "
                                  "would discard them with its IOMMU; unmap them (destroy the dma_mapping objects) first")
                .with("group", number_)
                .with("mappings", container_->mappings.load());
        if (auto r = io::submit(fd(), wire::vfio::group_unset_container(), hook_); !r) {
            auto e = r.error().with("group", number_);
            if (e.code == EBUSY) e.advise("a device of the group is still open: close it first");
            return e;
        }
        if (--container_->groups == 0) container_->iommu_set = false;
        container_ = nullptr;
        return {};
    }

    /// VFIO_GROUP_GET_DEVICE_FD(name): the device, by PCI address or mdev UUID.
    ///   auto dev = g.open_device("0000:00:04.0").value();
    [[nodiscard]] result<device> open_device(std::string_view name) const {
        auto req = wire::vfio::group_get_device_fd(name);
        if (!req) return std::move(req.error()).about(name);
        auto fd = io::submit(fd_.get(), *req, hook_);
        if (!fd) {
            auto e = fd.error().with("group", number_).about(name);
            if (e.code == EINVAL && container_ == nullptr)
                e.advise("the group is not attached to a container with an IOMMU model: attach() it first");
            else if (e.code == ENODEV || e.code == EINVAL)
                e.advise("no device of that name in this group (a PCI address DDDD:BB:DD.F or an mdev UUID)");
            return e;
        }
        return device::from_fd(std::move(*fd), name, hook_);
    }

private:
    // UNSET_CONTAINER whatever the state (the fd is about to close, or SET_CONTAINER is being undone), and the
    // container's bookkeeping follows: with its last group gone the kernel has dropped its IOMMU model and mappings.
    void leave() noexcept {
        if (!container_) return;
        (void)io::submit(fd_.get(), wire::vfio::group_unset_container(), hook_);  // the group fd is ours: valid
        if (container_->drop_group() <= 1) {  // that was the last group
            container_->iommu_set = false;
            container_->mappings = 0;
        }
        container_.reset();
    }

    io::ioctl_hook hook_{};
    unsigned number_ = 0;
    std::shared_ptr<detail::type1_state> container_;  // the container's state while attached (shared: see type1_state)
    unique_fd fd_;  // last: the group node closes after UNSET_CONTAINER (the destructor body)
};

}  // namespace vfiopp
