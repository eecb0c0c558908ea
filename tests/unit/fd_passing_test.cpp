// fds sent with send_fds/send_fd over a socketpair arrive as new fds of the same open file (proven by writing through
// one and reading through the other, and by st_dev/st_ino), close-on-exec, with the payload; every refusal (too many
// fds sent or received, no fd, a foreign control message, a closed peer, a bad socket) comes with its errno, and no
// path leaks an fd (counted in /proc/self/fd around each case).
#include <vfiopp/fd_passing.hpp>

#include "unit_support.hpp"

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

using namespace vfiopp;

namespace {
using unit_support::open_fds;


struct socket_pair {
    unique_fd a, b;
};

socket_pair make_pair(int type) {
    int sv[2] = {-1, -1};
    REQUIRE(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) == 0);
    return {unique_fd{sv[0]}, unique_fd{sv[1]}};
}

struct pipe_pair {
    unique_fd r, w;
};

pipe_pair make_pipe(int flags = O_CLOEXEC) {
    int p[2] = {-1, -1};
    REQUIRE(::pipe2(p, flags) == 0);
    return {unique_fd{p[0]}, unique_fd{p[1]}};
}

bool same_file(int x, int y) {
    struct stat sx {}, sy {};
    REQUIRE(::fstat(x, &sx) == 0);
    REQUIRE(::fstat(y, &sy) == 0);
    return sx.st_dev == sy.st_dev && sx.st_ino == sy.st_ino;
}

bool cloexec(int fd) {
    int flags = ::fcntl(fd, F_GETFD);
    REQUIRE(flags != -1);
    return (flags & FD_CLOEXEC) != 0;
}

/// Nothing is waiting on the socket (a non-blocking peek finds no data).
bool nothing_pending(int sock) {
    char c;
    return ::recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) == -1 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

std::span<const std::byte> bytes_of(std::string_view s) { return std::as_bytes(std::span{s.data(), s.size()}); }

}  // namespace

TEST_CASE("fd_passing: an eventfd sent with send_fd is the same eventfd on arrival", "[fd_passing]") {
    const int type = GENERATE(SOCK_STREAM, SOCK_SEQPACKET);
    CAPTURE(type);
    auto sp = make_pair(type);
    unique_fd ev{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
    REQUIRE(ev);
    const int before = open_fds();

    REQUIRE(send_fd(sp.a.get(), ev.get()));
    auto got = receive_fd(sp.b.get());
    REQUIRE(got);
    CHECK(open_fds() == before + 1);
    CHECK(got->get() != ev.get());  // a new fd ...
    CHECK(same_file(got->get(), ev.get()));  // weak for eventfds (they share one anon inode): the counter proves it

    std::uint64_t v = 41;
    REQUIRE(::write(got->get(), &v, sizeof v) == static_cast<ssize_t>(sizeof v));
    std::uint64_t out = 0;
    REQUIRE(::read(ev.get(), &out, sizeof out) == static_cast<ssize_t>(sizeof out));
    CHECK(out == 41);
    CHECK(nothing_pending(sp.b.get()));  // the filler byte was read with the fd
    got->reset();
    CHECK(open_fds() == before);
}

TEST_CASE("fd_passing: pipe ends and a payload travel in one message", "[fd_passing]") {
    const int type = GENERATE(SOCK_STREAM, SOCK_SEQPACKET);
    CAPTURE(type);
    auto sp = make_pair(type);
    auto p = make_pipe();
    const int before = open_fds();

    const std::array<int, 2> fds{p.r.get(), p.w.get()};
    REQUIRE(send_fds(sp.a.get(), fds, bytes_of("group 12")));
    std::array<std::byte, 32> buf{};
    auto got = receive_fds(sp.b.get(), buf);
    REQUIRE(got);
    CHECK(got->bytes == 8);
    CHECK(std::string_view(reinterpret_cast<const char*>(buf.data()), got->bytes) == "group 12");
    REQUIRE(got->fds.size() == 2);
    CHECK(open_fds() == before + 2);
    CHECK(same_file(got->fds[0].get(), p.r.get()));  // both ends share the pipe's inode ...
    CHECK(same_file(got->fds[1].get(), p.w.get()));
    CHECK((::fcntl(got->fds[0].get(), F_GETFL) & O_ACCMODE) == O_RDONLY);  // ... the access mode tells them apart
    CHECK((::fcntl(got->fds[1].get(), F_GETFL) & O_ACCMODE) == O_WRONLY);

    // written through the received write end, read through the original read end, and the other way round
    REQUIRE(::write(got->fds[1].get(), "ab", 2) == 2);
    char c[2] = {};
    REQUIRE(::read(p.r.get(), c, 2) == 2);
    CHECK(std::string_view(c, 2) == "ab");
    REQUIRE(::write(p.w.get(), "xy", 2) == 2);
    REQUIRE(::read(got->fds[0].get(), c, 2) == 2);
    CHECK(std::string_view(c, 2) == "xy");
    got->fds.clear();
    CHECK(open_fds() == before);
}

TEST_CASE("fd_passing: the stream stays in step: filler bytes are consumed, later data is intact", "[fd_passing]") {
    auto sp = make_pair(SOCK_STREAM);
    auto p1 = make_pipe(), p2 = make_pipe();
    REQUIRE(send_fd(sp.a.get(), p1.w.get()));
    REQUIRE(send_fd(sp.a.get(), p2.w.get()));
    REQUIRE(::send(sp.a.get(), "Z", 1, 0) == 1);

    auto r1 = receive_fd(sp.b.get());
    auto r2 = receive_fd(sp.b.get());
    REQUIRE(r1);
    REQUIRE(r2);
    CHECK(same_file(r1->get(), p1.w.get()));  // in the order sent (pipes have an inode each; eventfds share one)
    CHECK(same_file(r2->get(), p2.w.get()));
    CHECK_FALSE(same_file(r1->get(), r2->get()));
    char c = 0;
    REQUIRE(::recv(sp.b.get(), &c, 1, MSG_DONTWAIT) == 1);
    CHECK(c == 'Z');  // the two filler bytes were read with their fds, not left in front of this one
}

TEST_CASE("fd_passing: a large payload on a stream socket: the fds come with the first part", "[fd_passing]") {
    auto sp = make_pair(SOCK_STREAM);
    auto ev = make_pipe();
    std::vector<std::byte> big(1 << 20);  // more than the socket buffer holds
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::byte>(i * 7 + 3);

    result<void> sent;
    std::thread sender([&] { sent = send_fds(sp.a.get(), std::array{ev.r.get()}, big); });
    std::vector<std::byte> in(big.size());
    auto got = receive_fds(sp.b.get(), in, 4);
    REQUIRE(got);
    REQUIRE(got->fds.size() == 1);
    CHECK(same_file(got->fds[0].get(), ev.r.get()));
    auto other = make_pipe();
    CHECK_FALSE(same_file(got->fds[0].get(), other.r.get()));
    std::size_t have = got->bytes;
    CHECK(have > 0);
    while (have < in.size()) {  // the rest with plain reads, as receive_fds documents
        ssize_t n = ::read(sp.b.get(), in.data() + have, in.size() - have);
        REQUIRE(n > 0);
        have += static_cast<std::size_t>(n);
    }
    sender.join();
    CHECK(sent.has_value());
    CHECK(in == big);
}

TEST_CASE("fd_passing: received fds are close-on-exec", "[fd_passing]") {
    const int type = GENERATE(SOCK_STREAM, SOCK_SEQPACKET);
    CAPTURE(type);
    auto sp = make_pair(type);
    auto p = make_pipe(0);  // sent without FD_CLOEXEC: the flag on arrival is MSG_CMSG_CLOEXEC's
    REQUIRE_FALSE(cloexec(p.r.get()));
    REQUIRE_FALSE(cloexec(p.w.get()));
    REQUIRE(send_fds(sp.a.get(), std::array{p.r.get(), p.w.get()}));
    std::array<std::byte, 4> buf{};
    auto got = receive_fds(sp.b.get(), buf);
    REQUIRE(got);
    CHECK(got->bytes == 1);  // the filler byte send_fds sends with no payload
    CHECK(buf[0] == std::byte{0});
    REQUIRE(got->fds.size() == 2);
    CHECK(cloexec(got->fds[0].get()));
    CHECK(cloexec(got->fds[1].get()));
}

TEST_CASE("fd_passing: more fds sent than max_fds: EMSGSIZE, nothing leaks", "[fd_passing]") {
    const int type = GENERATE(SOCK_STREAM, SOCK_SEQPACKET);
    CAPTURE(type);
    auto sp = make_pair(type);
    unique_fd e1{::eventfd(0, EFD_CLOEXEC)}, e2{::eventfd(0, EFD_CLOEXEC)}, e3{::eventfd(0, EFD_CLOEXEC)};
    const int before = open_fds();

    REQUIRE(send_fds(sp.a.get(), std::array{e1.get(), e2.get(), e3.get()}, bytes_of("abc")));
    std::array<std::byte, 8> buf{};
    auto got = receive_fds(sp.b.get(), buf, 1);
    REQUIRE_FALSE(got);
    CHECK(got.error().code == EMSGSIZE);
    CHECK(got.error().ioctl == "recvmsg");
    CHECK(got.error().field == "max_fds");
    CHECK(got.error().origin == error_origin::library);
    CHECK(got.error().message.find("more fds than asked for") != std::string_view::npos);
    CHECK(open_fds() == before);  // the one that came was closed, the kernel closed the other two

    SECTION("two fds, max_fds 1: the kernel fits both into the padded buffer; EMSGSIZE all the same") {
        REQUIRE(send_fds(sp.a.get(), std::array{e1.get(), e2.get()}));
        auto two = receive_fds(sp.b.get(), buf, 1);
        REQUIRE_FALSE(two);
        CHECK(two.error().code == EMSGSIZE);
        CHECK(two.error().field == "max_fds");
        CHECK(open_fds() == before);
    }
    SECTION("receive_fd with two fds: EMSGSIZE, both closed") {
        REQUIRE(send_fds(sp.a.get(), std::array{e1.get(), e2.get()}));
        auto one = receive_fd(sp.b.get());
        REQUIRE_FALSE(one);
        CHECK(one.error().code == EMSGSIZE);
        CHECK(one.error().field == "fd");
        CHECK(open_fds() == before);
    }
}

TEST_CASE("fd_passing: max_fds above 253 is capped; 253 fds fit in one message, 254 are refused", "[fd_passing]") {
    auto sp = make_pair(SOCK_STREAM);
    auto p = make_pipe(), other = make_pipe();
    unique_fd& ev = p.w;
    const int before = open_fds();

    std::vector<int> many(253, ev.get());
    REQUIRE(send_fds(sp.a.get(), many));
    auto got = receive_fds(sp.b.get(), {}, 1000);
    REQUIRE(got);
    CHECK(got->bytes == 0);
    REQUIRE(got->fds.size() == 253);
    CHECK(open_fds() == before + 253);
    CHECK(same_file(got->fds.front().get(), ev.get()));
    CHECK(same_file(got->fds.back().get(), ev.get()));
    CHECK_FALSE(same_file(got->fds.back().get(), other.w.get()));
    got->fds.clear();
    CHECK(open_fds() == before);

    many.push_back(ev.get());
    auto r = send_fds(sp.a.get(), many);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == EINVAL);
    CHECK(r.error().ioctl == "sendmsg");
    CHECK(r.error().field == "fds");
    CHECK(r.error().origin == error_origin::library);
    CHECK(nothing_pending(sp.b.get()));  // refused before sendmsg: nothing reached the peer
    auto bad = send_fds(-1, many);  // on a bad socket too: no syscall, so no EBADF
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == EINVAL);
    CHECK(bad.error().origin == error_origin::library);
}

TEST_CASE("fd_passing: a message without fds: receive_fds returns none, receive_fd says EBADMSG", "[fd_passing]") {
    const int type = GENERATE(SOCK_STREAM, SOCK_SEQPACKET);
    CAPTURE(type);
    auto sp = make_pair(type);
    const int before = open_fds();

    REQUIRE(send_fds(sp.a.get(), {}, bytes_of("hi")));  // no fds: the payload alone
    std::array<std::byte, 8> buf{};
    auto plain = receive_fds(sp.b.get(), buf);
    REQUIRE(plain);
    CHECK(plain->fds.empty());
    CHECK(plain->bytes == 2);
    CHECK(std::string_view(reinterpret_cast<const char*>(buf.data()), 2) == "hi");

    REQUIRE(::send(sp.a.get(), "x", 1, 0) == 1);
    auto r = receive_fd(sp.b.get());
    REQUIRE_FALSE(r);
    CHECK(r.error().code == EBADMSG);
    CHECK(r.error().ioctl == "recvmsg");
    CHECK(r.error().message == "no fd came with the message");
    CHECK(r.error().origin == error_origin::library);
    CHECK(open_fds() == before);
}

TEST_CASE("fd_passing: the peer closed the socket: EPIPE", "[fd_passing]") {
    const int type = GENERATE(SOCK_STREAM, SOCK_SEQPACKET);
    CAPTURE(type);
    auto sp = make_pair(type);
    sp.a.reset();
    auto r = receive_fd(sp.b.get());
    REQUIRE_FALSE(r);
    CHECK(r.error().code == EPIPE);
    CHECK(r.error().message == "the peer closed the socket");
    CHECK(r.error().origin == error_origin::library);
    std::array<std::byte, 4> buf{};
    auto rs = receive_fds(sp.b.get(), buf);
    REQUIRE_FALSE(rs);
    CHECK(rs.error().code == EPIPE);

    // and sending to a closed peer is the kernel's EPIPE, without a SIGPIPE killing the test (MSG_NOSIGNAL)
    unique_fd ev{::eventfd(0, EFD_CLOEXEC)};
    auto s = send_fd(sp.b.get(), ev.get());
    REQUIRE_FALSE(s);
    CHECK(s.error().code == EPIPE);
    CHECK(s.error().origin == error_origin::kernel);
}

TEST_CASE("fd_passing: a control message other than SCM_RIGHTS: EPROTO, the fds closed", "[fd_passing]") {
    auto sp = make_pair(SOCK_STREAM);
    int on = 1;  // the kernel now adds SCM_CREDENTIALS to every message
    REQUIRE(::setsockopt(sp.b.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0);
    unique_fd ev{::eventfd(0, EFD_CLOEXEC)};
    const int before = open_fds();
    REQUIRE(send_fd(sp.a.get(), ev.get()));
    std::array<std::byte, 4> buf{};
    auto got = receive_fds(sp.b.get(), buf);  // room for the credentials and 8 fds
    REQUIRE_FALSE(got);
    CHECK(got.error().code == EPROTO);
    CHECK(got.error().ioctl == "recvmsg");
    CHECK(open_fds() == before);  // the eventfd that came along with the credentials was closed
}

TEST_CASE("fd_passing: a bad socket is the kernel's error (EBADF, ENOTSOCK)", "[fd_passing]") {
    unique_fd ev{::eventfd(0, EFD_CLOEXEC)};
    const int before = open_fds();

    int closed = -1;
    {
        auto sp = make_pair(SOCK_STREAM);
        closed = sp.a.get();
    }  // both ends closed now
    auto r = send_fd(closed, ev.get());
    REQUIRE_FALSE(r);
    CHECK(r.error().code == EBADF);
    CHECK(r.error().ioctl == "sendmsg");
    CHECK(r.error().field.empty());
    CHECK(r.error().message.empty());
    CHECK(r.error().origin == error_origin::kernel);

    auto ns = send_fd(ev.get(), ev.get());  // an eventfd is no socket
    REQUIRE_FALSE(ns);
    CHECK(ns.error().code == ENOTSOCK);
    CHECK(ns.error().origin == error_origin::kernel);

    auto rn = receive_fd(ev.get());
    REQUIRE_FALSE(rn);
    CHECK(rn.error().code == ENOTSOCK);
    CHECK(rn.error().ioctl == "recvmsg");
    CHECK(rn.error().origin == error_origin::kernel);

    auto sp = make_pair(SOCK_STREAM);
    auto bad_fd = send_fd(sp.a.get(), -1);  // the fd to send is bad: sendmsg fails with EBADF
    REQUIRE_FALSE(bad_fd);
    CHECK(bad_fd.error().code == EBADF);
    CHECK(bad_fd.error().origin == error_origin::kernel);
    CHECK(nothing_pending(sp.b.get()));
    sp = {};
    CHECK(open_fds() == before);
}
