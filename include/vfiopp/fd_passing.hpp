// vfiopp/fd_passing.hpp - sending and receiving fds over a unix socket (SCM_RIGHTS).
//
//   // the privileged helper: opens /dev/vfio/devices/vfio3 and hands it over
//   if (auto r = vfiopp::send_fd(sock, dev.get()); !r) return r.error();   // names sendmsg
//   // the VMM: owns the fd from the moment recvmsg returns
//   vfiopp::unique_fd dev = vfiopp::receive_fd(sock).value();
//   // several fds and a payload in one message (a group fd and an iommufd, say)
//   auto got = vfiopp::receive_fds(sock, std::as_writable_bytes(std::span{buf})).value();   // got.fds, got.bytes
//
// A VMM often gets its VFIO fds (/dev/vfio/N group fds, /dev/vfio/devices/vfioN cdev fds, /dev/iommu fds) from a
// privileged helper. One message carries at most 253 fds (SCM_MAX_FD) in one SCM_RIGHTS control message and at
// least one byte of data: a stream socket carries no ancillary data without data, so an empty payload is sent as
// one zero byte, and an empty payload on the receiving side reads (and drops) that byte. Received fds are
// close-on-exec (MSG_CMSG_CLOEXEC) and owned by a unique_fd at once, so no error path leaks one. EINTR is retried;
// the socket is expected to be blocking. Errors name the operation ("sendmsg" or "recvmsg") where other vfiopp
// errors name the ioctl.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/unique_fd.hpp>

#include <sys/socket.h>
#include <sys/types.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <iosfwd>
#include <span>
#include <vector>

namespace vfiopp {

namespace detail::fdp {

/// The most fds one SCM_RIGHTS message may carry (the kernel's SCM_MAX_FD).
inline constexpr std::size_t max_fds = 253;

/// SCM_PIDFD (Linux 6.5): a control message the kernel adds when the receiver set SO_PASSPIDFD; it carries an fd.
inline constexpr int scm_pidfd = 0x04;

// The CMSG_* macros cast in the C style and mix signed and unsigned types; they are used only through these.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wcast-align"
/// CMSG_SPACE(len): `cmsg_space(n * sizeof(int))` bytes of control buffer hold n fds.
constexpr std::size_t cmsg_space(std::size_t len) noexcept { return CMSG_SPACE(len); }
/// CMSG_LEN(len): the cmsg_len of a control message with len bytes of data.
constexpr std::size_t cmsg_len(std::size_t len) noexcept { return CMSG_LEN(len); }
/// CMSG_FIRSTHDR(m): the first control message of m, or nullptr.
inline cmsghdr* cmsg_first(msghdr* m) noexcept { return CMSG_FIRSTHDR(m); }
/// CMSG_NXTHDR(m, c): the control message after c, or nullptr.
inline cmsghdr* cmsg_next(msghdr* m, cmsghdr* c) noexcept { return CMSG_NXTHDR(m, c); }
/// CMSG_DATA(c): the data of control message c.
inline unsigned char* cmsg_data(cmsghdr* c) noexcept { return CMSG_DATA(c); }
#pragma GCC diagnostic pop

/// A control buffer that holds the largest SCM_RIGHTS message, aligned as its header.
struct control_buffer {
    alignas(cmsghdr) std::byte bytes[cmsg_space(max_fds * sizeof(int))]{};
};

/// A kernel error of op (errno, -EIO when errno is unset): `return kernel("sendmsg");`
[[nodiscard]] inline error kernel(std::string_view op) noexcept {
    return error{op, {}, errno > 0 ? errno : EIO, {}, error_origin::kernel};
}

}  // namespace detail::fdp

/// Sends fds (at most 253) and payload in one message on a connected unix socket:
///   vfiopp::send_fds(sock, std::array{group.get(), iommufd.get()}, std::as_bytes(std::span{"vfio"}));
/// An empty payload is sent as one zero byte; no fds sends the payload alone. A stream socket that takes only part
/// of the payload got the fds with its first byte; the rest follows with send(2).
[[nodiscard]] inline result<void> send_fds(int socket, std::span<const int> fds,
                                           std::span<const std::byte> payload = {}) {
    using namespace detail::fdp;
    if (fds.size() > max_fds)
        return detail::refuse("sendmsg", "fds", EINVAL, "at most 253 fds (SCM_MAX_FD) fit in one message");
    const std::byte filler{0};
    if (payload.empty()) payload = std::span<const std::byte>(&filler, 1);

    ::iovec iov{};
    iov.iov_base = const_cast<std::byte*>(payload.data());  // sendmsg does not write through it
    iov.iov_len = payload.size();
    ::msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    control_buffer control;
    if (!fds.empty()) {
        msg.msg_control = control.bytes;
        msg.msg_controllen = static_cast<decltype(msg.msg_controllen)>(cmsg_space(fds.size() * sizeof(int)));
        cmsghdr* c = cmsg_first(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = static_cast<decltype(c->cmsg_len)>(cmsg_len(fds.size() * sizeof(int)));
        std::memcpy(cmsg_data(c), fds.data(), fds.size() * sizeof(int));
    }

    ssize_t n;
    do {
        n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
    } while (n == -1 && errno == EINTR);
    if (n == -1) return detail::fdp::kernel("sendmsg");
    auto sent = static_cast<std::size_t>(n);
    while (sent < payload.size()) {  // a stream socket took only part; the fds went with the first byte
        n = ::send(socket, payload.data() + sent, payload.size() - sent, MSG_NOSIGNAL);
        if (n == -1 && errno == EINTR) continue;
        if (n == -1) return detail::fdp::kernel("sendmsg");
        if (n == 0) return detail::refuse("sendmsg", "payload", EIO, "the socket took no more bytes of the payload");
        sent += static_cast<std::size_t>(n);
    }
    return {};
}

/// Sends one fd (with one zero byte of data): `vfiopp::send_fd(sock, group.get());`
[[nodiscard]] inline result<void> send_fd(int socket, int fd) {
    return send_fds(socket, std::span<const int>(&fd, 1));
}

/// What one receive_fds got: the fds, owned, in the order sent, and the number of payload bytes read.
struct received_fds {
    std::vector<unique_fd> fds;
    std::size_t bytes = 0;

    /// For logs and test frameworks: `std::cerr << *got;  // 2 fds (fd 7, fd 8), 8 bytes`.
    template <typename Ch, typename Tr>
    friend std::basic_ostream<Ch, Tr>& operator<<(std::basic_ostream<Ch, Tr>& os, const received_fds& r) {
        os << r.fds.size() << (r.fds.size() == 1 ? " fd" : " fds");
        for (std::size_t i = 0; i < r.fds.size(); ++i) os << (i == 0 ? " (" : ", ") << r.fds[i];
        return os << (r.fds.empty() ? ", " : "), ") << r.bytes << (r.bytes == 1 ? " byte" : " bytes");
    }
};

/// Receives one message: up to payload.size() bytes into payload and up to max_fds fds (at most 253):
///   std::array<std::byte, 64> buf;  auto got = vfiopp::receive_fds(sock, buf, 2);   // got->fds, got->bytes
/// An empty payload reads and drops the one byte send_fds sends with no payload (bytes is 0 then). On a stream
/// socket fewer bytes than were sent may come (read the rest with read(2)); on SOCK_SEQPACKET the part of a message
/// beyond payload is discarded, as with recv(2). Errors: EMSGSIZE "max_fds" when more fds came than max_fds (all
/// are closed), EPIPE when the peer closed the socket, EPROTO for a control message other than SCM_RIGHTS.
[[nodiscard]] inline result<received_fds> receive_fds(int socket, std::span<std::byte> payload,
                                                      std::size_t max_fds = 16) {
    using namespace detail::fdp;
    if (max_fds > detail::fdp::max_fds) max_fds = detail::fdp::max_fds;
    std::byte scratch{};
    const bool drop = payload.empty();
    if (drop) payload = std::span<std::byte>(&scratch, 1);

    ::iovec iov{};
    iov.iov_base = payload.data();
    iov.iov_len = payload.size();
    control_buffer control;
    ::msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.bytes;
    msg.msg_controllen = static_cast<decltype(msg.msg_controllen)>(cmsg_space(max_fds * sizeof(int)));

    ssize_t n;
    do {
        n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    } while (n == -1 && errno == EINTR);
    if (n == -1) return detail::fdp::kernel("recvmsg");

    // Own every fd that came before looking at anything else; these close them on every error path.
    std::array<unique_fd, detail::fdp::max_fds> owned;
    std::size_t count = 0;
    bool foreign = false;
    if (msg.msg_controllen > 0) {
        for (cmsghdr* c = cmsg_first(&msg); c != nullptr; c = cmsg_next(&msg, c)) {
            const std::size_t len = c->cmsg_len;
            const std::size_t data = len > cmsg_len(0) ? len - cmsg_len(0) : 0;
            const bool rights = c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS;
            const bool pidfd = c->cmsg_level == SOL_SOCKET && c->cmsg_type == scm_pidfd;
            if (!rights) foreign = true;
            if (!rights && !pidfd) continue;
            for (std::size_t i = 0; i + sizeof(int) <= data; i += sizeof(int)) {
                int fd;
                std::memcpy(&fd, cmsg_data(c) + i, sizeof(int));
                unique_fd taken{fd};
                if (rights && count < owned.size()) owned[count++] = std::move(taken);
                // else: a pidfd, or more fds than the buffer can hold: closed here by `taken`
            }
        }
    }

    if (foreign)
        return detail::refuse("recvmsg", "", EPROTO,
                              "a control message other than SCM_RIGHTS came; the fds that came were closed");
    // CMSG_SPACE pads the buffer, so the kernel may fit one fd more than max_fds into it without MSG_CTRUNC.
    if ((msg.msg_flags & MSG_CTRUNC) || count > max_fds)
        return detail::refuse("recvmsg", "max_fds", EMSGSIZE,
                              "the sender sent more fds than asked for; those that came were closed, the kernel "
                              "closed the rest");
    if (n == 0 && count == 0) return detail::refuse("recvmsg", "", EPIPE, "the peer closed the socket");

    received_fds got;
    got.fds.reserve(count);
    for (std::size_t i = 0; i < count; ++i) got.fds.push_back(std::move(owned[i]));
    got.bytes = drop ? 0 : static_cast<std::size_t>(n);
    return got;
}

/// Receives a message that carries exactly one fd (as send_fd sends it):
///   vfiopp::unique_fd dev = vfiopp::receive_fd(sock).value();
/// Errors: EBADMSG when no fd came, EMSGSIZE "fd" when more than one came (all are closed), and receive_fds's.
[[nodiscard]] inline result<unique_fd> receive_fd(int socket) {
    auto got = receive_fds(socket, {}, 1);
    if (!got) {
        if (got.error().code == EMSGSIZE && got.error().field == "max_fds")
            return detail::refuse("recvmsg", "fd", EMSGSIZE,
                                  "more than one fd came with the message; all were closed");
        return got.error();
    }
    if (got->fds.empty()) return detail::refuse("recvmsg", "", EBADMSG, "no fd came with the message");
    return std::move(got->fds.front());
}

}  // namespace vfiopp
