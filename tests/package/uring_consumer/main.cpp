// Links vfiopp::uring and waits on one eventfd through the ring: prints its value, or the error.
#include <vfiopp/io/uring.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>

int main() {
    auto ring = vfiopp::io::uring::create(4);
    if (!ring) {
        std::fprintf(stderr, "uring_consumer: io_uring unavailable: errno %d\n", ring.error().code);
        return 1;
    }
    int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    std::uint64_t one = 7;
    if (efd < 0 || ::write(efd, &one, sizeof one) != sizeof one) return 1;
    if (!ring->wait_eventfd(42, efd)) return 1;
    std::uint64_t got = 0, tag = 0;
    auto n = ring->wait([&](vfiopp::io::completion&& c) {
        tag = c.tag;
        if (c.value) got = *c.value;
    });
    ::close(efd);
    if (!n || tag != 42) return 1;
    std::printf("uring_consumer: eventfd %llu through the ring\n", static_cast<unsigned long long>(got));
    return 0;
}
