// Every error path of submission (io/sync.hpp, io/reply.hpp) and negotiation (io/negotiate.hpp), driven through an
// injected ioctl: the kernel's errno (ioctl(2) style: -1 and errno) and the raw-syscall convention (-errno), for
// every kind of reply; negotiation's passthrough of kernel errors, round exhaustion (EAGAIN), a reply larger than the
// caller's storage (EMSGSIZE, with the size or count needed left in the header), a count larger than the room given
// (EOVERFLOW) and an unbuilt request (EINVAL). Each error is checked for its ioctl, field, errno and origin, and for
// the number of ioctls issued.
#include <vfiopp/io/negotiate.hpp>
#include <vfiopp/io/reply.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/uapi/iommufd.hpp>
#include <vfiopp/uapi/vfio.hpp>
#include <vfiopp/wire/iommufd.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <catch2/catch_test_macros.hpp>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

using namespace vfiopp;
using namespace vfiopp::uapi;
namespace wv = vfiopp::wire::vfio;
namespace wi = vfiopp::wire::iommufd;

namespace {

void check_error(const error& e, std::string_view ioctl, std::string_view field, int code, error_origin origin) {
    CHECK(e.ioctl == ioctl);
    CHECK(e.field == field);
    CHECK(e.code == code);
    CHECK(e.origin == origin);
    if (origin == error_origin::library) CHECK_FALSE(e.message.empty());
    else CHECK(e.message.empty());
}

template <typename R>
void check_kernel_error(const R& r, std::string_view ioctl, int code) {
    REQUIRE_FALSE(r.has_value());
    check_error(r.error(), ioctl, "", code, error_origin::kernel);
}

template <typename R>
void check_refused(const R& r, std::string_view ioctl, std::string_view field, int code) {
    REQUIRE_FALSE(r.has_value());
    check_error(r.error(), ioctl, field, code, error_origin::library);
}

/// How an injected ioctl reports a failure.
enum class style { errno_minus_one, minus_errno };

/// An ioctl that fails with `code` in the given style, counting its calls.
struct failing {
    style how;
    int code;
    int* calls;
    int operator()(int, unsigned long, void*) const {
        ++*calls;
        if (how == style::minus_errno) {
            errno = 0;  // -errno must be read from the return value, not from errno
            return -code;
        }
        errno = code;
        return -1;
    }
};

u32 argsz_of(const void* arg) {
    u32 v;
    std::memcpy(&v, arg, 4);
    return v;
}
void put_argsz(void* arg, u32 v) { std::memcpy(arg, &v, 4); }

iommu_ioas_iova_ranges ranges_hdr(const void* arg) {
    iommu_ioas_iova_ranges h;
    std::memcpy(&h, arg, sizeof h);
    return h;
}
void put_ranges_hdr(void* arg, const iommu_ioas_iova_ranges& h) { std::memcpy(arg, &h, sizeof h); }

/// A submitter for the *_with forms that is not io::sync_submitter (as an io_uring one would be).
template <typename Fn>
struct custom_submitter {
    Fn fn;
    int* calls;
    template <typename Req>
    io::submit_result<Req> operator()(int fd, Req& req) {
        ++*calls;
        errno = 0;
        int rc = fn(fd, static_cast<unsigned long>(Req::ioctl.code), req.ioctl_arg());
        if (rc == -1 && errno != 0) rc = -errno;  // ioctl(2) style to the completion's -errno
        return vfiopp::detail::reply(req, rc);
    }
};
template <typename Fn>
custom_submitter<Fn> submitter(Fn fn, int* calls) {
    return {fn, calls};
}

constexpr std::array<style, 2> styles{style::errno_minus_one, style::minus_errno};

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// io::submit
// ---------------------------------------------------------------------------------------------------------------
TEST_CASE("submit: a kernel error, as -1/errno or as -errno, is an error for every reply kind", "[io][errors]") {
    for (style how : styles) {
        CAPTURE(how == style::minus_errno);
        int calls = 0;
        // status -> result<void>
        auto map = wv::iommu_map_dma(0x1000, 0x100000, 0x1000, map_dma_flag::read).value();
        auto s = io::submit(3, map, failing{how, EEXIST, &calls});
        STATIC_CHECK(std::is_same_v<decltype(s), result<void>>);
        check_kernel_error(s, "VFIO_IOMMU_MAP_DMA", EEXIST);
        // value -> result<int>: -errno must not come back as a (negative) value
        auto v = io::submit(3, wv::check_extension(extension::type1v2_iommu), failing{how, EINVAL, &calls});
        STATIC_CHECK(std::is_same_v<decltype(v), result<int>>);
        check_kernel_error(v, "VFIO_CHECK_EXTENSION", EINVAL);
        auto ver = io::submit(3, wv::get_api_version(), failing{how, ENOTTY, &calls});
        check_kernel_error(ver, "VFIO_GET_API_VERSION", ENOTTY);
        // new_fd -> result<unique_fd>: -errno must not become an (empty or bogus) fd
        auto dev = io::submit(3, wv::group_get_device_fd("0000:00:04.0").value(), failing{how, ENODEV, &calls});
        STATIC_CHECK(std::is_same_v<decltype(dev), result<unique_fd>>);
        check_kernel_error(dev, "VFIO_GROUP_GET_DEVICE_FD", ENODEV);
        // out_fd -> result<unique_fd>: the fd field is not read on failure
        auto fq = io::submit(3, wi::fault_queue_alloc(), failing{how, EOPNOTSUPP, &calls});
        check_kernel_error(fq, "IOMMU_FAULT_QUEUE_ALLOC", EOPNOTSUPP);
        auto mig = io::submit(3, wv::feature_set(vfio_device_feature_mig_state{device_mig_state::stop_copy, -1}),
                              failing{how, EBUSY, &calls});
        check_kernel_error(mig, "VFIO_DEVICE_FEATURE", EBUSY);
        // value-argument ioctl without a reply struct
        auto reset = io::submit(3, wv::device_reset(), failing{how, EIO, &calls});
        check_kernel_error(reset, "VFIO_DEVICE_RESET", EIO);
        CHECK(calls == 7);  // one ioctl each: a failure is not retried
    }
}

TEST_CASE("submit: -1 without errno is EIO, never a success", "[io][errors]") {
    auto no_errno = [](int, unsigned long, void*) {
        errno = 0;
        return -1;
    };
    check_kernel_error(io::submit(3, wv::check_extension(extension::type1_iommu), no_errno), "VFIO_CHECK_EXTENSION", EIO);
    check_kernel_error(io::submit(3, wv::device_reset(), no_errno), "VFIO_DEVICE_RESET", EIO);
    check_kernel_error(io::submit(3, wv::group_get_device_fd("a").value(), no_errno), "VFIO_GROUP_GET_DEVICE_FD", EIO);
}

TEST_CASE("submit: EINTR is retried, then the final result (success, -1/errno, -errno) is the one reported",
          "[io][errors]") {
    int calls = 0;
    auto eintr_then = [&](int final_rc, int final_errno) {
        return [&calls, final_rc, final_errno](int, unsigned long, void*) {
            if (++calls < 3) {
                errno = EINTR;
                return -1;
            }
            errno = final_errno;
            return final_rc;
        };
    };
    auto ok = io::submit(3, wv::check_extension(extension::type1v2_iommu), eintr_then(1, 0));
    REQUIRE(ok.has_value());
    CHECK(*ok == 1);
    CHECK(calls == 3);
    calls = 0;
    check_kernel_error(io::submit(3, wv::device_reset(), eintr_then(-1, EBUSY)), "VFIO_DEVICE_RESET", EBUSY);
    CHECK(calls == 3);
    calls = 0;
    check_kernel_error(io::submit(3, wv::device_reset(), eintr_then(-ENXIO, 0)), "VFIO_DEVICE_RESET", ENXIO);
    CHECK(calls == 3);
    // -EINTR as a raw return value is a kernel error like any other (only -1/EINTR is ioctl(2)'s restart signal).
    calls = 0;
    check_kernel_error(io::submit(3, wv::device_reset(), [&](int, unsigned long, void*) {
                           ++calls;
                           errno = 0;
                           return -EINTR;
                       }),
                       "VFIO_DEVICE_RESET", EINTR);
    CHECK(calls == 1);
}

TEST_CASE("submit: success values pass through, including 0 and large values", "[io][errors]") {
    auto ret = [](int rc) { return [rc](int, unsigned long, void*) { return rc; }; };
    CHECK(io::submit(3, wv::check_extension(extension::type1v2_iommu), ret(0)).value() == 0);
    CHECK(io::submit(3, wv::check_extension(extension::type1v2_iommu), ret(0x7fffffff)).value() == 0x7fffffff);
    auto unit = io::submit(3, wv::device_reset(), ret(5));  // a positive return of a status ioctl is still success
    CHECK(unit.has_value());
}

TEST_CASE("detail::reply: the io_uring convention (cqe->res = -errno) for every reply kind", "[io][errors]") {
    auto map = wv::iommu_unmap_all();
    check_kernel_error(vfiopp::detail::reply(map, -EPERM), "VFIO_IOMMU_UNMAP_DMA", EPERM);
    auto ext = wv::check_extension(extension::type1v2_iommu);
    check_kernel_error(vfiopp::detail::reply(ext, -EFAULT), "VFIO_CHECK_EXTENSION", EFAULT);
    auto dev = wv::group_get_device_fd("x").value();
    check_kernel_error(vfiopp::detail::reply(dev, -EACCES), "VFIO_GROUP_GET_DEVICE_FD", EACCES);
    auto fq = wi::fault_queue_alloc();
    check_kernel_error(vfiopp::detail::reply(fq, -ENOMEM), "IOMMU_FAULT_QUEUE_ALLOC", ENOMEM);
    CHECK(vfiopp::detail::reply(ext, 3).value() == 3);
}

TEST_CASE("sync_submitter reports kernel errors in both conventions", "[io][errors]") {
    for (style how : styles) {
        int calls = 0;
        io::sync_submitter s{failing{how, ENOSPC, &calls}};
        auto req = wv::device_get_irq_info(pci_irq_index::msix);
        check_kernel_error(s(3, req), "VFIO_DEVICE_GET_IRQ_INFO", ENOSPC);
        CHECK(calls == 1);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// io::negotiate / negotiate_with (argsz growth)
// ---------------------------------------------------------------------------------------------------------------
TEST_CASE("negotiate: a kernel error in the first round is returned as is", "[io][negotiate][errors]") {
    for (style how : styles) {
        CAPTURE(how == style::minus_errno);
        int calls = 0;
        auto req = wv::iommu_get_info<256>();
        check_kernel_error(io::negotiate(3, req, failing{how, ENOTTY, &calls}), "VFIO_IOMMU_GET_INFO", ENOTTY);
        CHECK(calls == 1);

        int sub_calls = 0;
        calls = 0;
        auto req2 = wv::device_get_region_info<256>(pci_region_index::bar0);
        check_kernel_error(io::negotiate_with(submitter(failing{how, EINVAL, &calls}, &sub_calls), 3, req2),
                           "VFIO_DEVICE_GET_REGION_INFO", EINVAL);
        CHECK(sub_calls == 1);
    }
}

TEST_CASE("negotiate: a kernel error after the argsz grew is returned as is", "[io][negotiate][errors]") {
    for (style how : styles) {
        CAPTURE(how == style::minus_errno);
        int calls = 0;
        auto grow_then_fail = [&](int, unsigned long, void* arg) {
            if (++calls == 1) {
                put_argsz(arg, 96);  // round 1: "I need 96 bytes"
                return 0;
            }
            CHECK(argsz_of(arg) == 96);
            if (how == style::minus_errno) return -EFAULT;
            errno = EFAULT;
            return -1;
        };
        auto req = wv::device_get_info<128>();
        check_kernel_error(io::negotiate(3, req, grow_then_fail), "VFIO_DEVICE_GET_INFO", EFAULT);
        CHECK(calls == 2);

        calls = 0;
        int sub_calls = 0;
        auto req2 = wv::device_get_info<128>();
        check_kernel_error(io::negotiate_with(submitter(grow_then_fail, &sub_calls), 3, req2), "VFIO_DEVICE_GET_INFO",
                           EFAULT);
        CHECK(sub_calls == 2);
    }
}

TEST_CASE("negotiate: a kernel that keeps asking for more is EAGAIN after max_rounds", "[io][negotiate][errors]") {
    int calls = 0;
    auto greedy = [&](int, unsigned long, void* arg) {
        ++calls;
        put_argsz(arg, argsz_of(arg) + 8);  // always 8 more than offered
        return 0;
    };
    auto req = wv::iommu_get_info<512>();
    check_refused(io::negotiate(3, req, greedy), "VFIO_IOMMU_GET_INFO", "argsz", EAGAIN);
    CHECK(calls == 4);  // the default bound

    calls = 0;
    auto req2 = wv::iommu_get_info<512>();
    check_refused(io::negotiate(3, req2, greedy, 2), "VFIO_IOMMU_GET_INFO", "argsz", EAGAIN);
    CHECK(calls == 2);

    calls = 0;
    int sub_calls = 0;
    auto req3 = wv::iommu_get_info<512>();
    check_refused(io::negotiate_with(submitter(greedy, &sub_calls), 3, req3, 3), "VFIO_IOMMU_GET_INFO", "argsz", EAGAIN);
    CHECK(sub_calls == 3);

    // No round at all: nothing is issued, and that is not a success either.
    calls = 0;
    auto req4 = wv::iommu_get_info<512>();
    check_refused(io::negotiate(3, req4, greedy, 0), "VFIO_IOMMU_GET_INFO", "argsz", EAGAIN);
    CHECK(calls == 0);

    // A kernel that asks for more twice, then is content, succeeds in 3 rounds (24 -> 32 -> 40).
    calls = 0;
    auto twice = [&](int, unsigned long, void* arg) {
        if (++calls < 3) put_argsz(arg, argsz_of(arg) + 8);
        return 0;
    };
    auto req5 = wv::iommu_get_info<512>();
    REQUIRE(io::negotiate(3, req5, twice, 3).has_value());
    CHECK(calls == 3);
    CHECK(req5.size() == 40);
}

TEST_CASE("negotiate: a reply larger than the storage is EMSGSIZE; header().argsz is the size needed",
          "[io][negotiate][errors]") {
    int calls = 0;
    auto wants = [&](u32 need) {
        return [&calls, need](int, unsigned long, void* arg) {
            ++calls;
            if (argsz_of(arg) < need) put_argsz(arg, need);
            return 0;
        };
    };
    auto req = wv::device_get_region_info<64>(pci_region_index::bar2);
    check_refused(io::negotiate(3, req, wants(65)), "VFIO_DEVICE_GET_REGION_INFO", "argsz", EMSGSIZE);
    CHECK(calls == 1);  // not re-issued with a size the storage cannot hold
    CHECK(req.header().argsz == 65);
    CHECK(req.header().index == 2);

    // Exactly the capacity fits.
    calls = 0;
    auto fit = wv::device_get_region_info<64>(pci_region_index::bar2);
    REQUIRE(io::negotiate(3, fit, wants(64)).has_value());
    CHECK(calls == 2);
    CHECK(fit.size() == 64);
    CHECK(fit.header().argsz == 64);

    // Through a custom submitter, and with a request whose storage is exactly its struct.
    int sub_calls = 0;
    auto bare = wv::device_get_info();
    CHECK(bare.capacity() == sizeof(vfio_device_info));
    check_refused(io::negotiate_with(submitter(wants(40), &sub_calls), 3, bare), "VFIO_DEVICE_GET_INFO", "argsz", EMSGSIZE);
    CHECK(sub_calls == 1);
    CHECK(bare.header().argsz == 40);
}

TEST_CASE("negotiate: an unbuilt request is EINVAL before any ioctl", "[io][negotiate][errors]") {
    int calls = 0;
    wire::request<vfio::iommu_get_info, wire::inline_storage<128>> empty;  // size 0: nothing built
    REQUIRE(empty.size() == 0);
    check_refused(io::negotiate(3, empty, failing{style::minus_errno, EIO, &calls}), "VFIO_IOMMU_GET_INFO", "argsz",
                  EINVAL);
    CHECK(calls == 0);
    // iommufd structs name their size field `size`.
    wire::request<iommufd::get_hw_info, wire::inline_storage<128>> hw;
    check_refused(io::negotiate(3, hw, failing{style::minus_errno, EIO, &calls}), "IOMMU_GET_HW_INFO", "size", EINVAL);
    CHECK(calls == 0);
    int sub_calls = 0;
    check_refused(io::negotiate_with(submitter(failing{style::minus_errno, EIO, &calls}, &sub_calls), 3, empty),
                  "VFIO_IOMMU_GET_INFO", "argsz", EINVAL);
    CHECK(sub_calls == 0);
}

TEST_CASE("negotiate: success keeps the image size the kernel was given", "[io][negotiate]") {
    // A kernel that writes a smaller argsz when the reply fits: the image stays at the size it was issued with.
    auto shrinks = [](int, unsigned long, void* arg) {
        put_argsz(arg, 8);
        return 0;
    };
    auto req = wv::iommu_get_info<64>();
    REQUIRE(io::negotiate(3, req, shrinks).has_value());
    CHECK(req.size() == sizeof(vfio_iommu_type1_info));
    CHECK(req.header().argsz == sizeof(vfio_iommu_type1_info));
}

// ---------------------------------------------------------------------------------------------------------------
// io::negotiate_array / negotiate_array_with (count write-back with EMSGSIZE)
// ---------------------------------------------------------------------------------------------------------------
namespace {

const io::array_fields<iommu_ioas_iova_ranges> ranges_fields{&iommu_ioas_iova_ranges::num_iovas,
                                                             &iommu_ioas_iova_ranges::allowed_iovas, "num_iovas"};

/// A kernel with `have` ranges: EMSGSIZE (in the given style) and num_iovas = have when given fewer slots,
/// else fills them; `report` overrides the count it writes back on success (a kernel bug: more than it had room for).
struct ranges_kernel {
    u32 have;
    style how = style::errno_minus_one;
    int calls = 0;
    u32 report = 0;
    std::array<u32, 8> seen_count{};
    std::array<u64, 8> seen_uptr{};
    auto fn() {
        return [this](int, unsigned long code, void* arg) {
            CHECK(code == iommufd::ioas_iova_ranges.code);
            auto h = ranges_hdr(arg);
            CHECK(h.size == sizeof h);
            const auto i = static_cast<std::size_t>(calls++);
            if (i < seen_count.size()) {
                seen_count[i] = h.num_iovas;
                seen_uptr[i] = h.allowed_iovas;
            }
            if (h.num_iovas < have) {
                h.num_iovas = have;
                put_ranges_hdr(arg, h);
                if (how == style::minus_errno) return -EMSGSIZE;
                errno = EMSGSIZE;
                return -1;
            }
            auto* out = reinterpret_cast<iommu_iova_range*>(static_cast<std::uintptr_t>(h.allowed_iovas));
            for (u32 k = 0; k < have; ++k) out[k] = {u64{k} << 20, (u64{k} << 20) + 0xfffff};
            h.num_iovas = report ? report : have;
            h.out_iova_alignment = 0x1000;
            put_ranges_hdr(arg, h);
            return 0;
        };
    }
};

}  // namespace

TEST_CASE("negotiate_array: a kernel error other than EMSGSIZE is returned as is", "[io][negotiate][errors]") {
    for (style how : styles) {
        CAPTURE(how == style::minus_errno);
        std::array<iommu_iova_range, 4> buf{};
        int calls = 0;
        auto req = wi::ioas_iova_ranges(7, buf).value();
        auto r = io::negotiate_array(3, req, std::span<iommu_iova_range>(buf), ranges_fields, failing{how, ENOENT, &calls});
        check_kernel_error(r, "IOMMU_IOAS_IOVA_RANGES", ENOENT);
        CHECK(calls == 1);

        int sub_calls = 0;
        auto req2 = wi::ioas_iova_ranges(7, buf).value();
        auto r2 = io::negotiate_array_with(submitter(failing{how, EBADF, &calls}, &sub_calls), 3, req2, std::span<iommu_iova_range>(buf),
                                           ranges_fields);
        check_kernel_error(r2, "IOMMU_IOAS_IOVA_RANGES", EBADF);
        CHECK(sub_calls == 1);

        auto r3 = io::ioas_iova_ranges(3, 7, buf, failing{how, EACCES, &calls});
        check_kernel_error(r3, "IOMMU_IOAS_IOVA_RANGES", EACCES);
        int sub3 = 0;
        auto r4 = io::ioas_iova_ranges_with(submitter(failing{how, ENODEV, &calls}, &sub3), 3, 7, buf);
        check_kernel_error(r4, "IOMMU_IOAS_IOVA_RANGES", ENODEV);
        CHECK(sub3 == 1);
    }
}

TEST_CASE("negotiate_array: a kernel error after an EMSGSIZE round is returned as is", "[io][negotiate][errors]") {
    int calls = 0;
    auto race_then_fail = [&](int, unsigned long, void* arg) {
        if (++calls == 1) {
            auto h = ranges_hdr(arg);
            h.num_iovas = 2;  // "2 needed", which fits: re-issued
            put_ranges_hdr(arg, h);
            return -EMSGSIZE;
        }
        return -ENOENT;  // the IOAS went away in between
    };
    std::array<iommu_iova_range, 4> buf{};
    auto r = io::ioas_iova_ranges(3, 7, buf, race_then_fail);
    check_kernel_error(r, "IOMMU_IOAS_IOVA_RANGES", ENOENT);
    CHECK(calls == 2);
}

TEST_CASE("negotiate_array: more entries than the storage is EMSGSIZE naming the count; header() has the count",
          "[io][negotiate][errors]") {
    for (style how : styles) {
        CAPTURE(how == style::minus_errno);
        ranges_kernel k{5, how};
        std::array<iommu_iova_range, 4> buf{};
        auto req = wi::ioas_iova_ranges(7, buf).value();
        auto r = io::negotiate_array(3, req, std::span<iommu_iova_range>(buf), ranges_fields, k.fn());
        check_refused(r, "IOMMU_IOAS_IOVA_RANGES", "num_iovas", EMSGSIZE);
        CHECK(k.calls == 1);  // not re-issued: the storage cannot grow
        CHECK(req.header().num_iovas == 5);
        CHECK(k.seen_count[0] == 4);
        CHECK(k.seen_uptr[0] == reinterpret_cast<std::uintptr_t>(buf.data()));

        ranges_kernel k2{9, how};
        auto r2 = io::ioas_iova_ranges(3, 7, buf, k2.fn());
        check_refused(r2, "IOMMU_IOAS_IOVA_RANGES", "num_iovas", EMSGSIZE);
        CHECK(k2.calls == 1);

        // An empty array: the kernel is asked with num_iovas 0 and says how many it has.
        ranges_kernel k3{1, how};
        auto r3 = io::ioas_iova_ranges(3, 7, {}, k3.fn());
        check_refused(r3, "IOMMU_IOAS_IOVA_RANGES", "num_iovas", EMSGSIZE);
        CHECK(k3.seen_count[0] == 0);
        CHECK(k3.seen_uptr[0] == 0);
    }
}

TEST_CASE("negotiate_array: success fills exactly the reported part; a full array fits", "[io][negotiate]") {
    ranges_kernel k{4};
    std::array<iommu_iova_range, 4> buf{};
    auto got = io::ioas_iova_ranges(3, 7, buf, k.fn());
    REQUIRE(got.has_value());
    CHECK(k.calls == 1);
    CHECK(got->ranges.size() == 4);
    CHECK(got->ranges.data() == buf.data());
    CHECK(got->ranges[3].start == u64{3} << 20);
    CHECK(got->alignment == 0x1000);

    ranges_kernel none{0};
    auto empty = io::ioas_iova_ranges(3, 7, buf, none.fn());
    REQUIRE(empty.has_value());
    CHECK(empty->ranges.empty());
}

TEST_CASE("negotiate_array: a kernel that reports more entries than it had room for is EOVERFLOW",
          "[io][negotiate][errors]") {
    ranges_kernel k{2};
    k.report = 5;  // claims 5 filled entries in an array of 4
    std::array<iommu_iova_range, 4> buf{};
    auto req = wi::ioas_iova_ranges(7, buf).value();
    auto r = io::negotiate_array(3, req, std::span<iommu_iova_range>(buf), ranges_fields, k.fn());
    check_refused(r, "IOMMU_IOAS_IOVA_RANGES", "num_iovas", EOVERFLOW);
    CHECK(k.calls == 1);

    ranges_kernel k2{2};
    k2.report = 3;
    std::array<iommu_iova_range, 2> two{};
    check_refused(io::ioas_iova_ranges(3, 7, two, k2.fn()), "IOMMU_IOAS_IOVA_RANGES", "num_iovas", EOVERFLOW);
    int sub_calls = 0;
    ranges_kernel k3{1};
    k3.report = 3;
    check_refused(io::ioas_iova_ranges_with(submitter(k3.fn(), &sub_calls), 3, 7, two), "IOMMU_IOAS_IOVA_RANGES",
                  "num_iovas", EOVERFLOW);
}

TEST_CASE("negotiate_array: a kernel that keeps reporting EMSGSIZE is EAGAIN after max_rounds", "[io][negotiate][errors]") {
    for (style how : styles) {
        CAPTURE(how == style::minus_errno);
        int calls = 0;
        // Always EMSGSIZE with a count that fits: the set "changes" between every pair of calls.
        auto flapping = [&](int, unsigned long, void* arg) {
            ++calls;
            auto h = ranges_hdr(arg);
            CHECK(h.num_iovas == 4);  // every round offers all of the caller's room again
            h.num_iovas = 3;
            put_ranges_hdr(arg, h);
            if (how == style::minus_errno) return -EMSGSIZE;
            errno = EMSGSIZE;
            return -1;
        };
        std::array<iommu_iova_range, 4> buf{};
        auto req = wi::ioas_iova_ranges(7, buf).value();
        auto r = io::negotiate_array(3, req, std::span<iommu_iova_range>(buf), ranges_fields, flapping);
        check_refused(r, "IOMMU_IOAS_IOVA_RANGES", "num_iovas", EAGAIN);
        CHECK(calls == 4);

        calls = 0;
        auto req2 = wi::ioas_iova_ranges(7, buf).value();
        check_refused(io::negotiate_array(3, req2, std::span<iommu_iova_range>(buf), ranges_fields, flapping, 2), "IOMMU_IOAS_IOVA_RANGES",
                      "num_iovas", EAGAIN);
        CHECK(calls == 2);

        calls = 0;
        check_refused(io::ioas_iova_ranges(3, 7, buf, flapping, 3), "IOMMU_IOAS_IOVA_RANGES", "num_iovas", EAGAIN);
        CHECK(calls == 3);

        calls = 0;
        int sub_calls = 0;
        auto req3 = wi::ioas_iova_ranges(7, buf).value();
        check_refused(io::negotiate_array_with(submitter(flapping, &sub_calls), 3, req3, std::span<iommu_iova_range>(buf), ranges_fields),
                      "IOMMU_IOAS_IOVA_RANGES", "num_iovas", EAGAIN);
        CHECK(sub_calls == 4);

        calls = 0;
        check_refused(io::ioas_iova_ranges(3, 7, buf, flapping, 0), "IOMMU_IOAS_IOVA_RANGES", "num_iovas", EAGAIN);
        CHECK(calls == 0);
    }
}

TEST_CASE("negotiate_array: storage larger than the count field is EOVERFLOW before any ioctl", "[io][negotiate][errors]") {
    int calls = 0;
    std::array<iommu_iova_range, 1> one{};
    // Never dereferenced: the size is refused first.
    std::span<iommu_iova_range> huge(one.data(), std::size_t{1} << 32);
    auto req = wire::prep<iommufd::ioas_iova_ranges>({});
    check_refused(io::negotiate_array(3, req, huge, ranges_fields, failing{style::minus_errno, EIO, &calls}),
                  "IOMMU_IOAS_IOVA_RANGES", "num_iovas", EOVERFLOW);
    CHECK(calls == 0);
    // ioas_iova_ranges refuses it in the builder, with the same error.
    check_refused(io::ioas_iova_ranges(3, 7, huge, failing{style::minus_errno, EIO, &calls}), "IOMMU_IOAS_IOVA_RANGES",
                  "num_iovas", EOVERFLOW);
    CHECK(calls == 0);
    int sub_calls = 0;
    check_refused(io::ioas_iova_ranges_with(submitter(failing{style::minus_errno, EIO, &calls}, &sub_calls), 3, 7, huge),
                  "IOMMU_IOAS_IOVA_RANGES", "num_iovas", EOVERFLOW);
    CHECK(sub_calls == 0);
}
