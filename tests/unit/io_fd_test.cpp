// New fds that come back from the kernel are owned by a unique_fd from the moment the submit returns, whether the
// ioctl returns the fd or writes it into an out field; they are closed when the owner goes away and never leaked
// on an error path. Proven by counting /proc/self/fd around each case. The "kernel" is an injected ioctl that
// hands out real eventfds, as the kernel would hand out device, fault-queue or data-transfer fds.
#include <vfiopp/io/sync.hpp>
#include <vfiopp/unique_fd.hpp>
#include <vfiopp/wire/iommufd.hpp>
#include <vfiopp/wire/vfio.hpp>

#include "unit_support.hpp"

#include <catch2/catch_test_macros.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <type_traits>
#include <utility>

using namespace vfiopp;
using namespace vfiopp::uapi;

namespace {
using unit_support::open_fds;
using unit_support::is_open;


}  // namespace

TEST_CASE("unique_fd: move-only owner, -1 when empty, closes once", "[io][fd]") {
    STATIC_CHECK_FALSE(std::is_copy_constructible_v<unique_fd>);
    STATIC_CHECK(std::is_nothrow_move_constructible_v<unique_fd>);
    STATIC_CHECK(std::is_nothrow_destructible_v<unique_fd>);
    const int before = open_fds();
    int raw = -1;
    {
        unique_fd a{::eventfd(0, EFD_CLOEXEC)};
        raw = a.get();
        REQUIRE(a);
        unique_fd b = std::move(a);
        CHECK(a.get() == -1);
        CHECK_FALSE(a);
        CHECK(b.get() == raw);
        CHECK(open_fds() == before + 1);
        unique_fd c{::eventfd(0, EFD_CLOEXEC)};
        int other = c.get();
        c = std::move(b);  // closes `other`, takes raw
        CHECK_FALSE(is_open(other));
        CHECK(c.get() == raw);
        CHECK(open_fds() == before + 1);
    }
    CHECK_FALSE(is_open(raw));
    CHECK(open_fds() == before);

    unique_fd d{::eventfd(0, EFD_CLOEXEC)};
    int kept = d.release();
    CHECK(d.get() == -1);
    CHECK(is_open(kept));
    ::close(kept);
    CHECK(unique_fd{-5}.get() == -1);  // a negative fd makes an empty owner
    CHECK(open_fds() == before);
}

TEST_CASE("a new fd returned by the ioctl is owned from the submit on (new_fd)", "[io][fd]") {
    const int before = open_fds();
    int handed = -1;
    auto kernel = [&](int, unsigned long, void*) { return handed = ::eventfd(0, EFD_CLOEXEC); };
    {
        auto r = io::submit(3, wire::vfio::group_get_device_fd("0000:00:04.0").value(), kernel);
        STATIC_CHECK(std::is_same_v<decltype(r), result<unique_fd>>);
        REQUIRE(r);
        CHECK(r->get() == handed);
        CHECK(open_fds() == before + 1);
    }
    CHECK_FALSE(is_open(handed));
    CHECK(open_fds() == before);

    // A dropped result still closes it: the fd has no way to escape unowned.
    { (void)io::submit(3, wire::vfio::device_get_gfx_dmabuf(7), kernel); }
    CHECK(open_fds() == before);
    // DEVICE_FEATURE DMA_BUF: the feature's GET returns a new dma-buf fd.
    {
        auto r = io::submit(3, wire::vfio::feature_get<vfio_device_feature_dma_buf>(), kernel);
        STATIC_CHECK(std::is_same_v<decltype(r), result<unique_fd>>);
        REQUIRE(r);
        CHECK(r->get() == handed);
    }
    CHECK(open_fds() == before);
}

TEST_CASE("a new fd written into an out field is owned from the submit on (out_fd)", "[io][fd]") {
    const int before = open_fds();
    int handed = -1;
    SECTION("IOMMU_FAULT_QUEUE_ALLOC: out_fault_fd") {
        auto req = wire::iommufd::fault_queue_alloc();
        auto r = io::submit(3, req, [&](int, unsigned long, void* arg) {
            iommu_fault_alloc a;
            std::memcpy(&a, arg, sizeof a);
            a.out_fault_id = 9;
            a.out_fault_fd = static_cast<u32>(handed = ::eventfd(0, EFD_CLOEXEC));
            std::memcpy(arg, &a, sizeof a);
            return 0;
        });
        STATIC_CHECK(std::is_same_v<decltype(r), result<unique_fd>>);
        REQUIRE(r);
        CHECK(r->get() == handed);
        CHECK(req.header().out_fault_id == 9);  // the rest of the reply is still in the request
        CHECK(open_fds() == before + 1);
    }
    SECTION("IOMMU_VEVENTQ_ALLOC: out_veventq_fd") {
        auto req = wire::iommufd::veventq_alloc(1, veventq_type::arm_smmuv3, 16).value();
        auto r = io::submit(3, req, [&](int, unsigned long, void* arg) {
            iommu_veventq_alloc a;
            std::memcpy(&a, arg, sizeof a);
            a.out_veventq_fd = static_cast<u32>(handed = ::eventfd(0, EFD_CLOEXEC));
            std::memcpy(arg, &a, sizeof a);
            return 0;
        });
        REQUIRE(r);
        CHECK(r->get() == handed);
    }
    SECTION("MIG_DEVICE_STATE SET: data_fd in the payload (after the 8-byte feature header)") {
        auto req = wire::vfio::feature_set(vfio_device_feature_mig_state{device_mig_state::stop_copy, -1});
        auto r = io::submit(3, req, [&](int, unsigned long, void* arg) {
            vfio_device_feature_mig_state m;
            std::memcpy(&m, static_cast<char*>(arg) + sizeof(vfio_device_feature), sizeof m);
            CHECK(m.device_state == device_mig_state::stop_copy);
            m.data_fd = handed = ::eventfd(0, EFD_CLOEXEC);
            std::memcpy(static_cast<char*>(arg) + sizeof(vfio_device_feature), &m, sizeof m);
            return 0;
        });
        STATIC_CHECK(std::is_same_v<decltype(r), result<unique_fd>>);
        REQUIRE(r);
        CHECK(r->get() == handed);
    }
    SECTION("MIG_DEVICE_STATE SET to a state without a data transfer: data_fd -1, an empty owner") {
        auto req = wire::vfio::feature_set(vfio_device_feature_mig_state{device_mig_state::running, -1});
        auto r = io::submit(3, req, [](int, unsigned long, void*) { return 0; });
        REQUIRE(r);
        CHECK_FALSE(*r);
    }
    CHECK_FALSE(is_open(handed));
    CHECK(open_fds() == before);
}

TEST_CASE("no fd on an error path: kernel error, refused builder", "[io][fd]") {
    const int before = open_fds();
    auto fail = [](int, unsigned long, void*) {
        errno = ENODEV;
        return -1;
    };
    auto r = io::submit(3, wire::vfio::group_get_device_fd("0000:00:04.0").value(), fail);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ENODEV);
    CHECK(r.error().ioctl == "VFIO_GROUP_GET_DEVICE_FD");
    CHECK(r.error().origin == error_origin::kernel);
    // -errno from a raw-syscall style function, and -1 without errno, are errors too (never a success).
    auto raw = io::submit(3, wire::iommufd::fault_queue_alloc(), [](int, unsigned long, void*) { return -EBUSY; });
    REQUIRE_FALSE(raw);
    CHECK(raw.error().code == EBUSY);
    auto bare = io::submit(3, wire::iommufd::fault_queue_alloc(), [](int, unsigned long, void*) {
        errno = 0;
        return -1;
    });
    REQUIRE_FALSE(bare);
    CHECK(bare.error().code == EIO);
    // Refused before the ioctl: nothing was issued, nothing was opened.
    CHECK_FALSE(wire::vfio::group_get_device_fd("").has_value());
    CHECK(open_fds() == before);
}
