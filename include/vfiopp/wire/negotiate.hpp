// vfiopp/wire/negotiate.hpp - GET_INFO-style size negotiation with the kernel, without heap.
//
// Two kernel conventions are handled:
//  - argsz growth (VFIO_IOMMU_GET_INFO, VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_GET_IRQ_INFO
//    with capability chains): when the reply does not fit, the kernel writes the argsz it needs and succeeds with
//    an incomplete reply. negotiate() re-issues with that argsz while it fits the request's storage.
//      request<uapi::vfio::device_get_region_info, inline_storage<512>> req = ...;
//      if (auto r = wire::negotiate(device_fd, req); !r) ...   // r.error().code == EMSGSIZE: storage too small
//  - count write-back with EMSGSIZE (IOMMU_IOAS_IOVA_RANGES): the kernel fails with EMSGSIZE and writes the count
//    it needs. negotiate_array() re-issues with that count while it fits the caller's array.
// Both are bounded (max_rounds issues), both never grow past the storage the caller provided.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/uapi/iommufd.hpp>
#include <vfiopp/wire/request.hpp>

#include <cstring>
#include <span>

namespace vfiopp::wire {

/// Issues a GET_INFO-style request, re-issuing with the argsz the kernel asks for (at most max_rounds ioctls).
/// On success the image is the complete reply (req.size() is the final argsz). If the kernel needs more than the
/// storage holds: EMSGSIZE naming argsz, and req.header().argsz is the size asked for.
///   auto req = wire::vfio::device_get_region_info<1024>(index);  wire::negotiate(fd, req).value();
template <const auto& Def, typename Storage, returns R, typename Ioctl = io::sys_ioctl>
result<void> negotiate(int fd, request<Def, Storage, R>& req, Ioctl&& ioctl_fn = {}, unsigned max_rounds = 4) {
    using A = typename request<Def, Storage, R>::arg_type;
    static_assert(detail::has_size_field<A>(), "vfiopp: negotiate() needs a request whose first field is argsz");
    constexpr std::string_view field = detail::size_field_name<A>();
    using access = detail::image_access;
    if (req.size() < sizeof(A))
        return detail::refuse(Def.name, field, EINVAL, "negotiate() needs a built request (argsz >= the struct's size)");
    const A input = req.header();  // the caller's input fields, restored before every re-issue
    u32 want = static_cast<u32>(req.size());
    for (unsigned round = 0; round < max_rounds; ++round) {
        access::write(req, 0, input);
        access::zero(req, sizeof(A), want - sizeof(A));
        access::set_size(req, want);
        if (auto r = io::submit(fd, req, ioctl_fn); !r) return r.error();
        u32 asked = req.template read<u32>(0);
        if (asked <= want) {
            access::set_size(req, want);  // the kernel leaves argsz alone when the reply fit; keep the image size
            return {};
        }
        if (asked > req.capacity())
            return detail::refuse(Def.name, field, EMSGSIZE,
                                  "the reply needs more bytes than the request's storage holds (header().argsz)");
        want = asked;
    }
    return detail::refuse(Def.name, field, EAGAIN, "the kernel kept asking for a larger argsz");
}

/// The fields negotiate_array() adjusts: the count in/out field and the user pointer to the array.
template <typename A, typename Elem>
struct array_fields {
    u32 A::*count;
    u64 A::*uptr;
    std::string_view count_name;  ///< for errors, e.g. "num_iovas"
};

/// Issues a request whose array (pointed to by a u64 field) the kernel fills, with the caller's storage; on
/// EMSGSIZE the kernel wrote the count it needs: re-issue if it fits, else fail with EMSGSIZE naming the count
/// field (header().*count is then the number needed). Returns the filled part of storage.
///   std::array<iommu_iova_range, 16> ranges;
///   auto got = wire::negotiate_array(fd, req, std::span{ranges}, {&iommu_ioas_iova_ranges::num_iovas,
///                                    &iommu_ioas_iova_ranges::allowed_iovas, "num_iovas"});
template <const auto& Def, typename Storage, returns R, typename Elem, typename Ioctl = io::sys_ioctl>
result<std::span<Elem>> negotiate_array(int fd, request<Def, Storage, R>& req, std::span<Elem> storage,
                                        array_fields<typename request<Def, Storage, R>::arg_type, Elem> f,
                                        Ioctl&& ioctl_fn = {}, unsigned max_rounds = 4) {
    using A = typename request<Def, Storage, R>::arg_type;
    using access = detail::image_access;
    auto cap = checked_cast<u32>(storage.size(), {Def.name, f.count_name});
    if (!cap) return cap.error();
    A h = req.header();
    h.*f.uptr = reinterpret_cast<std::uintptr_t>(storage.data());
    h.*f.count = *cap;
    for (unsigned round = 0; round < max_rounds; ++round) {
        access::write(req, 0, h);
        access::set_size(req, static_cast<u32>(req.size()));
        auto r = io::submit(fd, req, ioctl_fn);
        u32 n = req.header().*f.count;
        if (r) {
            if (n > storage.size())
                return detail::refuse(Def.name, f.count_name, EOVERFLOW, "the kernel reported more entries than it was given room for");
            return storage.first(n);
        }
        if (r.error().code != EMSGSIZE) return r.error();
        if (n > storage.size())
            return detail::refuse(Def.name, f.count_name, EMSGSIZE,
                                  "the kernel has more entries than the caller's storage holds (header() has the count)");
        h.*f.count = *cap;  // the set changed between the calls: try again with all our room
    }
    return detail::refuse(Def.name, f.count_name, EAGAIN, "the kernel kept reporting EMSGSIZE");
}

namespace iommufd {
/// IOMMU_IOAS_IOVA_RANGES of ioas_id into the caller's array (no heap), negotiated on EMSGSIZE; returns the
/// filled part. `std::array<iommu_iova_range, 8> buf; auto got = wire::iommufd::ioas_iova_ranges(iommufd, ioas, buf);`
template <typename Ioctl = io::sys_ioctl>
result<std::span<uapi::iommu_iova_range>> ioas_iova_ranges(int fd, u32 ioas_id, std::span<uapi::iommu_iova_range> out,
                                                           Ioctl&& ioctl_fn = {}, unsigned max_rounds = 4) {
    uapi::iommu_ioas_iova_ranges h{};
    h.ioas_id = ioas_id;
    auto req = prep<uapi::iommufd::ioas_iova_ranges>(h);
    return negotiate_array(fd, req, out,
                           array_fields<uapi::iommu_ioas_iova_ranges, uapi::iommu_iova_range>{
                               &uapi::iommu_ioas_iova_ranges::num_iovas, &uapi::iommu_ioas_iova_ranges::allowed_iovas,
                               "num_iovas"},
                           std::forward<Ioctl>(ioctl_fn), max_rounds);
}
}  // namespace iommufd

}  // namespace vfiopp::wire
