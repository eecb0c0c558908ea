// vfiopp/wire/nesting.hpp - builders for the 2020 VFIO vSVA proposal: VFIO_IOMMU_PASID_REQUEST and
// VFIO_IOMMU_NESTING_OP, in both ABI revisions (uapi/vfio_nesting.hpp), selected by an ABI tag type.
//
//   auto pasid = wire::pasid_alloc<abi::v7>({1, 1000});              // submit() yields the PASID (v7)
//   auto bind  = wire::nesting_op<abi::v7>(wire::bind_pgtbl{data}).value();  // op = BIND_PGTBL, argsz = 8 + 72
//   auto inv   = wire::nesting_op<abi::seed>(wire::cache_invalidate{info});  // result: refused payloads say why
//
// The NESTING_OP trailer is a std::variant of the three payloads; the op, the header's argsz and the payload's own
// argsz and version follow from the alternative. Inline storage is sized for the largest alternative: no heap.
// The proposal was never merged: these ioctls give ENOTTY on every real kernel (tests/vm checks that).
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/uapi/iommu.hpp>
#include <vfiopp/uapi/vfio_nesting.hpp>
#include <vfiopp/wire/nesting_rules.hpp>
#include <vfiopp/wire/detail/trailer.hpp>
#include <vfiopp/wire/request.hpp>

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <variant>

namespace vfiopp::wire {

/// NESTING_OP payload alternatives; the op follows the alternative.
struct bind_pgtbl {
    uapi::iommu_gpasid_bind_data data;
};
struct unbind_pgtbl {
    uapi::iommu_gpasid_bind_data data;
};
struct cache_invalidate {
    uapi::iommu_cache_invalidate_info data;
};
/// The data[] of VFIO_IOMMU_NESTING_OP: `nesting_payload p = wire::cache_invalidate{info};`
using nesting_payload = std::variant<bind_pgtbl, unbind_pgtbl, cache_invalidate>;

}  // namespace vfiopp::wire

namespace vfiopp::detail {
template <typename Abi>
using nesting_header_t = typename uapi::abi_traits<Abi>::nesting_op_type;
constexpr std::size_t nesting_payload_max =
    std::max({sizeof(uapi::iommu_gpasid_bind_data), sizeof(uapi::iommu_cache_invalidate_info)});
template <typename Abi, typename Alt>
constexpr auto op_of_alternative() {
    using op = typename uapi::abi_traits<Abi>::op_type;
    if constexpr (std::is_same_v<Alt, wire::bind_pgtbl>) return op::bind_pgtbl;
    else if constexpr (std::is_same_v<Alt, wire::unbind_pgtbl>) return op::unbind_pgtbl;
    else return op::cache_invld;
}
}  // namespace vfiopp::detail

namespace vfiopp::wire {

/// VFIO_IOMMU_NESTING_OP of revision Abi, sized for the largest alternative.
template <typename Abi>
using nesting_op_request =
    request<uapi::abi_traits<Abi>::nesting_op,
            inline_storage<::vfiopp::detail::round8(uapi::abi_traits<Abi>::data_offset + detail::nesting_payload_max)>>;

/// VFIO_IOMMU_NESTING_OP for revision Abi (abi::seed: op field, data at 12; abi::v7: op in flags, data at 8);
/// op, argsz (header + the payload struct) and the payload's own argsz and version follow from the alternative.
/// Refused before the ioctl (EINVAL, naming the payload field) is every payload the 2020 kernel would reject
/// (wire/nesting_rules.hpp), because v7 discards the error of UNBIND_PGTBL and CACHE_INVLD and returns 0:
///   - cache_invalidate: cache bits beyond IOTLB/DEV_IOTLB/PASID or none at all; granularity beyond addr; the
///     combinations the kernel refuses (DEV_IOTLB at domain, PASID-cache at addr granularity); undefined
///     addr_info/pasid_info flags; non-zero padding;
///   - bind_pgtbl / unbind_pgtbl: a format other than Intel VT-d, flags beyond GPASID_VAL, VT-d flags beyond
///     IOMMU_SVA_VTD_GPASID_LAST, a host PASID outside (0, 2^20), non-zero padding.
///   auto req = wire::nesting_op<abi::v7>(wire::cache_invalidate{info}).value();
template <typename Abi>
[[nodiscard]] inline result<nesting_op_request<Abi>> nesting_op(const nesting_payload& payload) {
    using T = uapi::abi_traits<Abi>;
    using Req = nesting_op_request<Abi>;
    constexpr std::string_view name = T::nesting_op.name;
    return std::visit(
        [&](const auto& alt) -> result<Req> {
            using Alt = std::remove_cvref_t<decltype(alt)>;
            typename T::nesting_op_type h{};
            T::set_op(h, detail::op_of_alternative<Abi, Alt>());
            // The 5.10 payloads carry their own argsz and version (the kernel's iommu_uapi_* checks them): both
            // follow from the payload type, like the header's argsz and op.
            auto data = alt.data;
            data.argsz = sizeof data;
            data.version = 1;  // IOMMU_GPASID_BIND_VERSION_1 == IOMMU_CACHE_INVALIDATE_INFO_VERSION_1 == 1
            rules::verdict v;
            if constexpr (std::is_same_v<Alt, cache_invalidate>) {
                v = rules::check_cache_invalidate_content(data);
                if (v.accepted() && !data.cache.any())  // the kernel lets it through as a no-op; say so instead
                    return detail::refused(name, "data.cache", EINVAL, "no cache to invalidate");
            } else {
                // The VT-d driver's bind checks for unbind too, stricter than the 2020 kernel (its unbind reads
                // only hpasid past the generic checks): a payload that could not have bound (format 0, undefined
                // VT-d flags, a host PASID outside (0, 2^20)) is a caller's mistake that v7 would answer with 0.
                v = rules::check_bind_content(data, true);
            }
            if (!v.accepted()) return detail::refused(name, v.field, v.code, v.rule);  // = v.as_error(name)
            // The storage is sized for the largest alternative, so put_with_trailer's checks cannot fail: the
            // image is written in the result's storage directly, the payload copied from the caller's (not from
            // `data`, which was just patched: GCC would copy it with wide loads waiting on those narrow stores),
            // then its argsz and version set in place.
            return detail::make_result<Req>([&](Req& r) {
                detail::write_with_trailer(r, h, &alt.data, sizeof data);
                detail::image_access::write(r, T::data_offset + offsetof(decltype(data), argsz), data.argsz);
                detail::image_access::write(r, T::data_offset + offsetof(decltype(data), version), data.version);
            });
        },
        payload);
}

/// An inclusive PASID range: `wire::pasid_range{1, 1000}`.
struct pasid_range {
    u32 min;
    u32 max;
};

/// VFIO_IOMMU_PASID_REQUEST of revision Abi: v7 returns the PASID as the ioctl's value (submit() yields it), the
/// seed writes it to header().pasid.
template <typename Abi>
using pasid_request =
    request<uapi::abi_traits<Abi>::pasid_request, inline_storage<sizeof(typename uapi::abi_traits<Abi>::pasid_request_type)>,
            returning_of<uapi::abi_traits<Abi>::pasid_request>>;

}  // namespace vfiopp::wire

namespace vfiopp::detail {
template <typename Abi>
[[nodiscard]] inline result<void> check_pasid_range(wire::pasid_range r) {
    constexpr std::string_view name = uapi::abi_traits<Abi>::pasid_request.name;
    if (r.min > r.max) return detail::refused(name, "range", EINVAL, "range.min is above range.max");
    if constexpr (std::is_same_v<Abi, uapi::abi::v7>) {
        // The v7 kernel compares with `> 1 << VFIO_IOMMU_PASID_BITS`; PASIDs are 31-bit values, so stay below.
        constexpr u32 pasid_max = (u32{1} << uapi::v7::vfio_iommu_pasid_bits) - 1;
        if (r.max > pasid_max) return detail::refused(name, "range", EINVAL, "range.max exceeds the 31-bit PASID space");
    }
    return {};
}

/// A PASID_REQUEST of revision Abi whose flags are `flag` and whose range is r (checked first): what ALLOC (both
/// revisions) and v7's range FREE share.
template <typename Abi>
inline result<wire::pasid_request<Abi>> pasid_range_request(typename uapi::abi_traits<Abi>::pasid_request_flag flag,
                                                     wire::pasid_range r) {
    if (auto c = check_pasid_range<Abi>(r); !c) return detail::pass_error(c);
    typename uapi::abi_traits<Abi>::pasid_request_type h{};
    h.flags = flag;
    h.range.min = r.min;
    h.range.max = r.max;
    return detail::prep_result<uapi::abi_traits<Abi>::pasid_request, Abi>(h);
}
}  // namespace vfiopp::detail

namespace vfiopp::wire {

/// VFIO_IOMMU_PASID_REQUEST ALLOC of one PASID in range (flags = alloc; min > max, or for v7 max > 0x7fffffff:
/// EINVAL before the ioctl). `int pasid = io::submit(container, wire::pasid_alloc<abi::v7>({1, 1000}).value()).value();`
template <uapi::proposal_abi Abi>
[[nodiscard]] inline result<pasid_request<Abi>> pasid_alloc(pasid_range range) {
    return detail::pasid_range_request<Abi>(uapi::abi_traits<Abi>::pasid_request_flag::alloc, range);
}

/// v7 VFIO_IOMMU_PASID_REQUEST FREE of every PASID of this process in range (flags = free; same range checks).
///   io::submit(container, wire::pasid_free<abi::v7>({5, 5}).value());
template <uapi::proposal_abi Abi>
    requires std::is_same_v<Abi, uapi::abi::v7>
[[nodiscard]] inline result<pasid_request<Abi>> pasid_free(pasid_range range) {
    return detail::pasid_range_request<Abi>(uapi::v7::pasid_request_flag::free, range);
}

/// seed VFIO_IOMMU_PASID_REQUEST FREE of one PASID (the seed frees `pasid`, not a range): `wire::pasid_free<abi::seed>(5u)`
template <uapi::proposal_abi Abi>
    requires std::is_same_v<Abi, uapi::abi::seed>
[[nodiscard]] inline pasid_request<Abi> pasid_free(u32 pasid) {
    uapi::seed::vfio_iommu_pasid_request h{};
    h.flags = uapi::seed::pasid_request_flag::free;
    h.pasid = pasid;
    pasid_request<Abi> r;
    detail::put_header(r, h, static_cast<u32>(sizeof h));
    return r;
}

}  // namespace vfiopp::wire
