// vfiopp/io/negotiate.hpp - size negotiation with the kernel, without heap, written once for every submitter.
//
// Two kernel conventions are handled:
//  - argsz growth (VFIO_IOMMU_GET_INFO, VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_REGION_INFO with capability chains):
//    when the reply does not fit, the kernel writes the argsz it needs and succeeds with an incomplete reply.
//    negotiate() re-issues with that argsz while it fits the request's storage.
//      auto req = wire::vfio::device_get_region_info<512>(pci_region_index::bar0);
//      if (auto r = io::negotiate(device_fd, req); !r) ...   // EMSGSIZE naming argsz: storage too small
//  - count write-back with EMSGSIZE (IOMMU_IOAS_IOVA_RANGES): the kernel fails with EMSGSIZE and writes the count
//    it needs. negotiate_array() re-issues with that count while it fits the caller's array.
// Both are bounded (max_rounds issues) and never grow past the storage the caller provided.
//
// The loops take a submitter: any callable `submit(fd, req)` returning io::submit_result<Req>. io::sync_submitter
// issues ioctl(2); an io_uring submitter that waits for its completion works the same way. The io::negotiate(fd,
// req[, ioctl_fn]) forms are the synchronous ones.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/uapi/iommufd.hpp>
#include <vfiopp/wire/checked.hpp>
#include <vfiopp/wire/iommufd.hpp>
#include <vfiopp/wire/request.hpp>

#include <span>
#include <string_view>
#include <utility>

namespace vfiopp::io {

/// GET_INFO-style negotiation through `submit` (at most max_rounds issues). On success the image is the complete
/// reply (req.size() is the final argsz). If the kernel needs more than the storage holds: EMSGSIZE naming argsz,
/// and req.header().argsz is the size asked for. A kernel error is returned as is.
///   auto req = wire::vfio::iommu_get_info<512>(); io::negotiate_with(io::sync_submitter{}, container, req).value();
template <typename Submit, const auto& Def, typename Storage, typename R>
[[nodiscard]] result<void> negotiate_with(Submit&& submit, int fd, wire::request<Def, Storage, R>& req,
                                          unsigned max_rounds = 4) {
    using A = typename wire::request<Def, Storage, R>::arg_type;
    static_assert(detail::has_size_field<A>(), "vfiopp: negotiate() needs a request whose first field is argsz");
    constexpr std::string_view field = detail::size_field_name<A>();
    using access = detail::image_access;
    if (req.size() < sizeof(A))
        return detail::refuse(Def.name, field, EINVAL, "negotiate() needs a built request (argsz >= the struct's size)");
    const A input = req.header();  // the caller's input fields, restored before every re-issue
    auto want = static_cast<uapi::u32>(req.size());
    for (unsigned round = 0; round < max_rounds; ++round) {
        access::write(req, 0, input);
        access::zero(req, sizeof(A), want - sizeof(A));
        access::set_size(req, want);
        if (auto r = submit(fd, req); !r) return r.error();
        auto asked = req.template read<uapi::u32>(0);
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

/// negotiate_with() over ioctl(2) (or an injected ioctl_fn): `io::negotiate(device_fd, req).value();`
template <const auto& Def, typename Storage, typename R, typename Ioctl = sys_ioctl>
[[nodiscard]] result<void> negotiate(int fd, wire::request<Def, Storage, R>& req, Ioctl&& ioctl_fn = {},
                                     unsigned max_rounds = 4) {
    return negotiate_with(sync_submitter<std::decay_t<Ioctl>>{std::forward<Ioctl>(ioctl_fn)}, fd, req, max_rounds);
}

/// The fields negotiate_array() adjusts: the count in/out field and the user pointer to the array.
template <typename A>
struct array_fields {
    uapi::u32 A::*count;
    uapi::u64 A::*uptr;
    std::string_view count_name;  ///< for errors, e.g. "num_iovas"
};

/// Issues a request whose array (pointed to by a u64 field) the kernel fills, with the caller's storage; on
/// EMSGSIZE the kernel wrote the count it needs: re-issue if it fits, else fail with EMSGSIZE naming the count
/// field (req.header().*count is then the number needed). Returns the filled part of storage.
///   auto got = io::negotiate_array_with(io::sync_submitter{}, fd, req, std::span{ranges},
///                                       {&iommu_ioas_iova_ranges::num_iovas, &iommu_ioas_iova_ranges::allowed_iovas, "num_iovas"});
template <typename Submit, const auto& Def, typename Storage, typename R, typename Elem>
[[nodiscard]] result<std::span<Elem>> negotiate_array_with(Submit&& submit, int fd, wire::request<Def, Storage, R>& req,
                                                           std::span<Elem> storage,
                                                           array_fields<typename wire::request<Def, Storage, R>::arg_type> f,
                                                           unsigned max_rounds = 4) {
    using access = detail::image_access;
    auto cap = wire::checked_cast<uapi::u32>(storage.size(), {Def.name, f.count_name});
    if (!cap) return cap.error();
    auto h = req.header();
    h.*f.uptr = reinterpret_cast<std::uintptr_t>(storage.data());
    h.*f.count = *cap;
    for (unsigned round = 0; round < max_rounds; ++round) {
        access::write(req, 0, h);
        access::set_size(req, static_cast<uapi::u32>(req.size()));
        auto r = submit(fd, req);
        uapi::u32 n = req.header().*f.count;
        if (r) {
            if (n > storage.size())
                return detail::refuse(Def.name, f.count_name, EOVERFLOW,
                                      "the kernel reported more entries than it was given room for");
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

/// negotiate_array_with() over ioctl(2) (or an injected ioctl_fn).
template <const auto& Def, typename Storage, typename R, typename Elem, typename Ioctl = sys_ioctl>
[[nodiscard]] result<std::span<Elem>> negotiate_array(int fd, wire::request<Def, Storage, R>& req, std::span<Elem> storage,
                                                      array_fields<typename wire::request<Def, Storage, R>::arg_type> f,
                                                      Ioctl&& ioctl_fn = {}, unsigned max_rounds = 4) {
    return negotiate_array_with(sync_submitter<std::decay_t<Ioctl>>{std::forward<Ioctl>(ioctl_fn)}, fd, req, storage, f,
                                max_rounds);
}

/// What IOMMU_IOAS_IOVA_RANGES reports: the usable IOVA ranges and the alignment every mapping must respect.
struct iova_ranges {
    std::span<uapi::iommu_iova_range> ranges;  ///< the filled part of the caller's array
    uapi::u64 alignment = 0;                   ///< out_iova_alignment: user_va, length and iova are multiples of it
};

/// IOMMU_IOAS_IOVA_RANGES of ioas_id into the caller's array (no heap), negotiated on EMSGSIZE, through `submit`.
/// An array too small for every range: EMSGSIZE naming num_iovas.
///   std::array<iommu_iova_range, 8> buf; auto got = io::ioas_iova_ranges(iommufd, ioas, buf).value(); got.alignment;
template <typename Submit>
[[nodiscard]] result<iova_ranges> ioas_iova_ranges_with(Submit&& submit, int fd, uapi::u32 ioas_id,
                                                        std::span<uapi::iommu_iova_range> out, unsigned max_rounds = 4) {
    auto req = wire::iommufd::ioas_iova_ranges(ioas_id, out);
    if (!req) return req.error();
    auto got = negotiate_array_with(std::forward<Submit>(submit), fd, *req, out,
                                    array_fields<uapi::iommu_ioas_iova_ranges>{&uapi::iommu_ioas_iova_ranges::num_iovas,
                                                                               &uapi::iommu_ioas_iova_ranges::allowed_iovas,
                                                                               "num_iovas"},
                                    max_rounds);
    if (!got) {
        // The request is ours, so "header() has the count" would point nowhere: say how to get the count.
        if (got.error().code == EMSGSIZE && got.error().origin == error_origin::library)
            return detail::refuse(uapi::iommufd::ioas_iova_ranges.name, "num_iovas", EMSGSIZE,
                                  "more ranges than the caller's array holds (to learn the count, issue "
                                  "wire::iommufd::ioas_iova_ranges with io::negotiate_array and read header().num_iovas)");
        return got.error();
    }
    return iova_ranges{*got, req->header().out_iova_alignment};
}

/// ioas_iova_ranges_with() over ioctl(2) (or an injected ioctl_fn).
template <typename Ioctl = sys_ioctl>
[[nodiscard]] result<iova_ranges> ioas_iova_ranges(int fd, uapi::u32 ioas_id, std::span<uapi::iommu_iova_range> out,
                                                   Ioctl&& ioctl_fn = {}, unsigned max_rounds = 4) {
    return ioas_iova_ranges_with(sync_submitter<std::decay_t<Ioctl>>{std::forward<Ioctl>(ioctl_fn)}, fd, ioas_id, out,
                                 max_rounds);
}

}  // namespace vfiopp::io
