// vfiopp/unique_fd.hpp - the owner of one file descriptor (fmt's `file`, libunifex's `safe_file_descriptor`).
//
//   vfiopp::unique_fd dev = io::submit(group, wire::vfio::group_get_device_fd("0000:00:04.0").value()).value();
//   poll_on(dev.get());              // borrow it: lower layers take a plain int
//   int raw = dev.release();         // or hand it over; the caller closes it then
//
// Move-only; -1 when empty; the destructor closes and never throws. Every fd vfiopp gets from the kernel (a device
// fd, a migration data_fd, a fault queue fd, a vEVENTQ fd, a dma-buf) is owned by one of these from the moment the
// ioctl returns. This header includes no other vfiopp header, so a VMM can use it on its own.
#pragma once

#include <unistd.h>

#include <iosfwd>
#include <utility>

namespace vfiopp {

/// Owns one fd: `unique_fd fd{::open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC)}; if (!fd) ...;`
class unique_fd {
public:
    /// An empty owner (get() == -1).
    constexpr unique_fd() noexcept = default;
    /// Takes ownership of fd (a negative fd makes an empty owner): `unique_fd fd{::eventfd(0, EFD_CLOEXEC)};`
    constexpr explicit unique_fd(int fd) noexcept : fd_(fd < 0 ? -1 : fd) {}
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    constexpr unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    /// Closes the fd held so far, then takes o's: `a = std::move(b);`
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) reset(std::exchange(o.fd_, -1));
        return *this;
    }
    /// Closes the fd. close(2)'s error is not reported: Linux releases the fd even when close fails, and
    /// retrying on EINTR could close an fd another thread has just been given.
    ~unique_fd() { reset(); }

    /// The fd, still owned here (-1 when empty): `ioctl(fd.get(), ...)`.
    [[nodiscard]] constexpr int get() const noexcept { return fd_; }
    /// Whether an fd is held: `if (fd) ...`.
    constexpr explicit operator bool() const noexcept { return fd_ >= 0; }
    /// Gives up ownership without closing; the caller must close the returned fd: `send_fd(sock, fd.release());`
    [[nodiscard]] constexpr int release() noexcept { return std::exchange(fd_, -1); }
    /// Closes the fd held (if any) and takes fd (default: none): `fd.reset();`
    void reset(int fd = -1) noexcept {
        int old = std::exchange(fd_, fd < 0 ? -1 : fd);
        if (old >= 0) ::close(old);
    }

    friend void swap(unique_fd& a, unique_fd& b) noexcept { std::swap(a.fd_, b.fd_); }

    /// For logs and test frameworks: `std::cerr << fd;  // fd 7` (or `fd -1`).
    template <typename Ch, typename Tr>
    friend std::basic_ostream<Ch, Tr>& operator<<(std::basic_ostream<Ch, Tr>& os, const unique_fd& f) {
        return os << "fd " << f.fd_;
    }

private:
    int fd_ = -1;
};

}  // namespace vfiopp
