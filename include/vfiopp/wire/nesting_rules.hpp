// vfiopp/wire/nesting_rules.hpp - the 2020 kernel's validation of VFIO_IOMMU_PASID_REQUEST and VFIO_IOMMU_NESTING_OP,
// as a model that judges request images, and the PASID table the model (and vfiopp's iommufd realisation) keep.
//
//   auto req = wire::nesting_op<abi::v7>(wire::cache_invalidate{info}).value();
//   auto v = wire::rules::check_nesting_op<abi::v7>(req.bytes());       // what the v7 kernel would answer
//   if (!v.accepted()) fmt::print("{} {} ({})\n", errno_name(v.code), v.field, v.reported ? "returned" : "discarded");
//
// No released kernel implements the proposal, so no test can ask a kernel. The model restates the code the
// proposal was reviewed with (../shared/reference/SEED-UAPI.md):
//   - the VFIO layer: v7 vfio_iommu_type1_pasid_request() (§2.2) and vfio_iommu_type1_nesting_op() (§4.2);
//   - the generic IOMMU layer of 5.10 drivers/iommu/iommu.c: iommu_uapi_cache_invalidate(),
//     iommu_sva_prepare_bind_data() and their content checks (§5.4), which the proposal hands the payload to;
//   - the Intel VT-d driver's bind checks (5.10 intel/svm.c intel_svm_bind_gpasid: format, argsz of the vendor
//     part, vendor flags, host PASID range), applied when kernel_state::vtd is set (the default).
// The seed (16 Apr 2020) had no implementation: its rules are v7's with the seed's sizes (argsz >= 20 and 12),
// flags == 0 in the NESTING_OP header, and no 31-bit PASID bound (v2-v6 lacked it too).
//
// A verdict's `reported` is false where the 2020 kernel computes the error and returns 0 anyway: v7's UNBIND_PGTBL
// and CACHE_INVLD ignore the per-device result of the IOMMU layer. A VMM would believe the IOTLB flushed when it was
// not; this is why the builders of wire/nesting.hpp refuse every payload the model rejects.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/uapi/iommu.hpp>
#include <vfiopp/uapi/vfio_nesting.hpp>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

namespace vfiopp::wire::rules {

using uapi::u32;
using uapi::u64;

/// What the kernel answers a request image: accepted (code 0) or the errno of the first check that fails, the
/// field that check reads and why; `reported` is false when the kernel then returns 0 regardless.
///   if (auto v = rules::check_nesting_op<abi::v7>(img); !v.accepted()) ...
struct verdict {
    int code = 0;                ///< 0: every check passes; else EINVAL, EFAULT, EOPNOTSUPP, ENOSPC, ENODEV
    std::string_view field;      ///< the field the failing check reads ("data.granularity", "flags", ...)
    std::string_view rule;       ///< what the check demands (static text)
    bool reported = true;        ///< false: v7 discards this error and the ioctl returns 0
    [[nodiscard]] constexpr bool accepted() const noexcept { return code == 0; }
    /// The library error for a refusal of `ioctl` (builders use it; the field and rule carry over).
    [[nodiscard]] constexpr error as_error(std::string_view ioctl) const noexcept {
        return vfiopp::detail::refuse(ioctl, field, code, rule);
    }
};

/// The kernel a request meets, beyond the request's own bytes. The default is a v7 kernel whose container is a
/// nesting container on Intel VT-d with every nesting feature: the most permissive state.
///   rules::kernel_state k; k.features = {};   // a nesting container without BIND_PGTBL / CACHE_INVLD
struct kernel_state {
    bool nesting_info = true;  ///< the container is VFIO_TYPE1_NESTING_IOMMU and its IOMMU reported nesting info
    bool vfio_mm = true;       ///< the IOMMU reported SYSWIDE_PASID, so the container has a PASID set (vfio_mm)
    uapi::bitmask<uapi::v7::nesting_feature> features = uapi::v7::nesting_feature::syswide_pasid |
                                                          uapi::v7::nesting_feature::bind_pgtbl |
                                                          uapi::v7::nesting_feature::cache_invld;
    bool driver_ops = true;  ///< the IOMMU driver has sva_bind_gpasid / cache_invalidate (else ENODEV)
    bool vtd = true;         ///< apply the Intel VT-d driver's bind checks after the generic ones
};

/// Intel VT-d's PASID space (PASID_MAX, 20 bits): the driver refuses a host PASID outside (0, 2^20).
inline constexpr u64 vtd_pasid_max = u64{1} << 20;
/// The default per-process PASID quota of v7's vfio_pasid.ko (module parameter pasid_quota).
inline constexpr u32 default_pasid_quota = 1000;

namespace detail {
constexpr verdict ok() noexcept { return {}; }
constexpr verdict fail(int code, std::string_view field, std::string_view rule, bool reported = true) noexcept {
    return {code, field, rule, reported};
}
/// The kernel's copy_from_user of the first n bytes: a shorter image is a fault.
template <typename T>
inline bool copy_prefix(std::span<const std::byte> img, std::size_t off, std::size_t n, T& out) noexcept {
    if (img.size() < off || img.size() - off < n) return false;
    std::memcpy(static_cast<void*>(&out), img.data() + off, n);
    return true;
}
template <typename A>
constexpr bool all_zero(const A& a) noexcept {
    return std::all_of(a.begin(), a.end(), [](auto b) { return b == 0; });
}
}  // namespace detail

// ---- the generic IOMMU layer (5.10 iommu.c) ----

/// iommu_check_cache_invl_data(): the content checks of a cache-invalidate payload, after its argsz passed.
///   auto v = rules::check_cache_invalidate_content(info);   // EINVAL with the field at fault, or accepted
[[nodiscard]] constexpr verdict check_cache_invalidate_content(const uapi::iommu_cache_invalidate_info& i) noexcept {
    using uapi::iommu_cache_inv_type;
    using uapi::iommu_inv_granularity;
    if (i.version != uapi::iommu_cache_invalidate_info_version_1)
        return detail::fail(EINVAL, "data.version", "IOMMU_CACHE_INVALIDATE_INFO_VERSION_1 (1) is the only version");
    if (i.cache.bits() & ~((1u << uapi::iommu_cache_inv_type_nr) - 1))
        return detail::fail(EINVAL, "data.cache", "cache has bits beyond IOTLB, DEV_IOTLB and PASID");
    if (static_cast<u32>(i.granularity) >= uapi::iommu_inv_granu_nr)
        return detail::fail(EINVAL, "data.granularity", "granularity is not domain, pasid or addr");
    switch (i.granularity) {
        case iommu_inv_granularity::addr:
            if (i.cache.has(iommu_cache_inv_type::pasid))
                return detail::fail(EINVAL, "data.cache", "address granularity cannot invalidate the PASID cache");
            if (i.granu.addr_info.flags.unknown())
                return detail::fail(EINVAL, "data.granu.addr_info.flags", "addr_info.flags has bits beyond PASID, ARCHID, LEAF");
            break;
        case iommu_inv_granularity::pasid:
            if (i.granu.pasid_info.flags.unknown())
                return detail::fail(EINVAL, "data.granu.pasid_info.flags", "pasid_info.flags has bits beyond PASID, ARCHID");
            break;
        case iommu_inv_granularity::domain:
            if (i.cache.has(iommu_cache_inv_type::dev_iotlb))
                return detail::fail(EINVAL, "data.cache", "domain granularity cannot invalidate the device IOTLB");
            break;
    }
    if (!detail::all_zero(i.padding)) return detail::fail(EINVAL, "data.padding", "padding must be zero");
    return detail::ok();
}

/// iommu_uapi_cache_invalidate() on the payload bytes: argsz minimums (16; 32 for pasid and 56 for addr
/// granularity), the copy of min(argsz, 56) bytes, then the content checks.
///   auto v = rules::check_cache_invalidate(std::as_bytes(std::span(&info, 1)));
[[nodiscard]] inline verdict check_cache_invalidate(std::span<const std::byte> payload,
                                                       const kernel_state& k = {}) noexcept {
    using uapi::iommu_inv_granularity;
    if (!k.driver_ops) return detail::fail(ENODEV, "", "the IOMMU driver has no cache_invalidate");
    uapi::iommu_cache_invalidate_info i{};
    constexpr std::size_t minsz = offsetof(uapi::iommu_cache_invalidate_info, granu);  // 16
    if (!detail::copy_prefix(payload, 0, minsz, i)) return detail::fail(EFAULT, "data", "payload shorter than 16 bytes");
    if (i.argsz < minsz) return detail::fail(EINVAL, "data.argsz", "argsz below offsetof(granu) = 16");
    if (i.granularity == iommu_inv_granularity::pasid && i.argsz < minsz + sizeof(uapi::iommu_inv_pasid_info))
        return detail::fail(EINVAL, "data.argsz", "pasid granularity needs argsz >= 32");
    if (i.granularity == iommu_inv_granularity::addr && i.argsz < minsz + sizeof(uapi::iommu_inv_addr_info))
        return detail::fail(EINVAL, "data.argsz", "addr granularity needs argsz >= 56");
    const std::size_t n = std::min<std::size_t>(i.argsz, sizeof i);
    if (!detail::copy_prefix(payload, 0, n, i)) return detail::fail(EFAULT, "data", "payload shorter than its argsz");
    return check_cache_invalidate_content(i);
}

/// iommu_check_bind_data() (generic) and, with k.vtd, intel_svm_bind_gpasid()'s checks (bind only).
///   auto v = rules::check_bind_content(data, true);
[[nodiscard]] constexpr verdict check_bind_content(const uapi::iommu_gpasid_bind_data& d, bool bind,
                                                   const kernel_state& k = {}) noexcept {
    if (d.version != uapi::iommu_gpasid_bind_version_1)
        return detail::fail(EINVAL, "data.version", "IOMMU_GPASID_BIND_VERSION_1 (1) is the only version");
    if (static_cast<u32>(d.format) >= uapi::iommu_pasid_format_last)
        return detail::fail(EINVAL, "data.format", "format is beyond IOMMU_PASID_FORMAT_LAST");
    if (d.flags.unknown()) return detail::fail(EINVAL, "data.flags", "flags has bits beyond IOMMU_SVA_GPASID_VAL");
    if (!detail::all_zero(d.padding)) return detail::fail(EINVAL, "data.padding", "padding must be zero");
    if (bind && k.vtd) {
        if (d.format != uapi::iommu_pasid_format::intel_vtd)
            return detail::fail(EINVAL, "data.format", "the VT-d driver binds only IOMMU_PASID_FORMAT_INTEL_VTD");
        if (d.argsz < sizeof d) return detail::fail(EINVAL, "data.argsz", "the VT-d driver needs the vendor part: argsz >= 72");
        if (d.vendor.vtd.flags.bits() & ~(uapi::iommu_sva_vtd_gpasid_last - 1))
            return detail::fail(EINVAL, "data.vendor.vtd.flags", "VT-d flags beyond IOMMU_SVA_VTD_GPASID_LAST");
        if (d.hpasid == 0 || d.hpasid >= vtd_pasid_max)
            return detail::fail(EINVAL, "data.hpasid", "the host PASID must be in (0, 2^20)");
    }
    return detail::ok();
}

/// iommu_sva_prepare_bind_data() on the payload bytes: argsz >= 56 (offsetof vendor), the copy of min(argsz, 72)
/// bytes, then check_bind_content().
///   auto v = rules::check_bind(std::as_bytes(std::span(&data, 1)), true);
[[nodiscard]] inline verdict check_bind(std::span<const std::byte> payload, bool bind,
                                           const kernel_state& k = {}) noexcept {
    if (!k.driver_ops) return detail::fail(ENODEV, "", "the IOMMU driver has no sva_bind_gpasid");
    uapi::iommu_gpasid_bind_data d{};
    constexpr std::size_t minsz = offsetof(uapi::iommu_gpasid_bind_data, vendor);  // 56
    if (!detail::copy_prefix(payload, 0, minsz, d)) return detail::fail(EFAULT, "data", "payload shorter than 56 bytes");
    if (d.argsz < minsz) return detail::fail(EINVAL, "data.argsz", "argsz below offsetof(vendor) = 56");
    const std::size_t n = std::min<std::size_t>(d.argsz, sizeof d);
    if (!detail::copy_prefix(payload, 0, n, d)) return detail::fail(EFAULT, "data", "payload shorter than its argsz");
    return check_bind_content(d, bind, k);
}

// ---- the PASID table (vfio_mm's ioasid_set: quota, ownership) ----

/// The PASIDs one process holds, with the per-process quota: what v7's vfio_pasid.ko keeps per mm, and what
/// vfiopp's iommufd realisation of PASID_REQUEST keeps in user space (iommufd has no host PASID allocator).
///   rules::pasid_table t;                      // quota 1000
///   auto p = t.alloc(1, 100);                  // the lowest free PASID in [1, 100], or ENOSPC
///   t.free(1, 100);                            // frees the held ones in range; returns how many
class pasid_table {
public:
    explicit pasid_table(u32 quota = default_pasid_quota) : quota_(quota) {}
    /// Allocates the lowest free PASID in [min, max] (inclusive); ENOSPC when the range is full or the quota used.
    ///   if (auto p = t.alloc(1, 1000)) use(*p);
    [[nodiscard]] result<u32> alloc(u32 min, u32 max) {
        if (held_.size() >= quota_)
            return vfiopp::detail::refuse("VFIO_IOMMU_PASID_REQUEST", "range", ENOSPC, "the per-process PASID quota is used up");
        u64 candidate = min;
        // held_ is sorted: walk the held PASIDs at or above min until a gap appears
        for (auto it = std::lower_bound(held_.begin(), held_.end(), min); it != held_.end() && *it == candidate; ++it)
            ++candidate;
        if (candidate > max || min > max)
            return vfiopp::detail::refuse("VFIO_IOMMU_PASID_REQUEST", "range", ENOSPC, "every PASID of the range is held");
        held_.insert(std::lower_bound(held_.begin(), held_.end(), static_cast<u32>(candidate)), static_cast<u32>(candidate));
        return static_cast<u32>(candidate);
    }
    /// Frees every held PASID in [min, max]; PASIDs not held are skipped (as v7 does). Returns how many went.
    ///   auto n = t.free(5, 5);
    std::size_t free(u32 min, u32 max) {
        if (min > max) return 0;
        auto first = std::lower_bound(held_.begin(), held_.end(), min);
        auto last = std::upper_bound(first, held_.end(), max);
        auto n = static_cast<std::size_t>(last - first);
        held_.erase(first, last);
        return n;
    }
    /// Records a PASID allocated elsewhere (by a kernel); false when it was held already or the quota is used.
    ///   t.adopt(static_cast<u32>(ioctl_return_value));
    bool adopt(u32 pasid) {
        auto it = std::lower_bound(held_.begin(), held_.end(), pasid);
        if ((it != held_.end() && *it == pasid) || held_.size() >= quota_) return false;
        held_.insert(it, pasid);
        return true;
    }
    /// Whether pasid is held: `if (t.holds(5)) ...`
    [[nodiscard]] bool holds(u32 pasid) const { return std::binary_search(held_.begin(), held_.end(), pasid); }
    /// How many PASIDs are held: `t.size() <= t.quota()`.
    [[nodiscard]] std::size_t size() const noexcept { return held_.size(); }
    /// The quota: `rules::pasid_table t{16}; t.quota() == 16`.
    [[nodiscard]] u32 quota() const noexcept { return quota_; }
    /// The held PASIDs, ascending.
    [[nodiscard]] std::span<const u32> held() const noexcept { return held_; }

private:
    u32 quota_;
    std::vector<u32> held_;  // sorted, unique
};

// ---- the VFIO layer ----

/// vfio_iommu_type1_pasid_request() of revision Abi on an image, without the allocation (see pasid_request_effect).
/// v7: argsz >= 16, flags within 0x3, min <= max, both <= 2^31 (the kernel's own bound, which lets 0x80000000
/// through), a PASID set (vfio_mm, else EOPNOTSUPP), exactly one of alloc / free. seed: argsz >= 20, no 31-bit bound.
///   auto v = rules::check_pasid_request<abi::v7>(req.bytes());
template <uapi::proposal_abi Abi>
[[nodiscard]] inline verdict check_pasid_request(std::span<const std::byte> img, const kernel_state& k = {}) noexcept {
    using T = uapi::abi_traits<Abi>;
    typename T::pasid_request_type h{};
    constexpr std::size_t minsz = sizeof h;
    if (!detail::copy_prefix(img, 0, minsz, h)) return detail::fail(EFAULT, "argsz", "image shorter than the header");
    if (h.argsz < minsz) return detail::fail(EINVAL, "argsz", "argsz below the struct's size");
    if (h.flags.unknown()) return detail::fail(EINVAL, "flags", "flags has bits beyond ALLOC and FREE");
    const bool is_free = h.flags.bits() == static_cast<u32>(T::pasid_request_flag::free);
    if (std::is_same_v<Abi, uapi::abi::v7> || !is_free) {  // the seed's FREE names one PASID, not a range
        if (h.range.min > h.range.max) return detail::fail(EINVAL, "range", "range.min is above range.max");
        if constexpr (std::is_same_v<Abi, uapi::abi::v7>) {
            constexpr u32 bound = u32{1} << uapi::v7::vfio_iommu_pasid_bits;
            if (h.range.min > bound || h.range.max > bound)
                return detail::fail(EINVAL, "range", "range beyond 1 << VFIO_IOMMU_PASID_BITS");
        }
    }
    if (!k.vfio_mm) return detail::fail(EOPNOTSUPP, "", "the container has no PASID set (no SYSWIDE_PASID nesting)");
    const u32 f = h.flags.bits();
    if (f != static_cast<u32>(T::pasid_request_flag::alloc) && f != static_cast<u32>(T::pasid_request_flag::free))
        return detail::fail(EINVAL, "flags", "flags must be exactly ALLOC or exactly FREE");
    return detail::ok();
}

/// What a PASID_REQUEST does to the process's table once check_pasid_request() passed: the kernel's return value
/// (v7 alloc: the PASID; seed alloc: 0 with the PASID written to the image's `pasid`; free: 0) or -errno (ENOSPC).
///   long rc = rules::pasid_request_effect<abi::v7>(img, table);
template <uapi::proposal_abi Abi>
[[nodiscard]] long pasid_request_effect(std::span<std::byte> img, pasid_table& t, const kernel_state& k = {}) {
    using T = uapi::abi_traits<Abi>;
    if (auto v = check_pasid_request<Abi>(img, k); !v.accepted()) return -v.code;
    typename T::pasid_request_type h{};
    std::memcpy(&h, img.data(), sizeof h);
    if (h.flags.bits() == static_cast<u32>(T::pasid_request_flag::alloc)) {
        auto p = t.alloc(h.range.min, h.range.max);
        if (!p) return -p.error().code;
        if constexpr (T::pasid_is_return_value) {
            return static_cast<long>(*p);
        } else {
            h.pasid = *p;
            std::memcpy(img.data(), &h, sizeof h);
            return 0;
        }
    }
    if constexpr (std::is_same_v<Abi, uapi::abi::v7>) (void)t.free(h.range.min, h.range.max);
    else (void)t.free(h.pasid, h.pasid);
    return 0;
}

/// vfio_iommu_type1_nesting_op() of revision Abi on an image, with the payload checks of the IOMMU layer it hands
/// the payload to. v7: argsz >= 8, flags[31:16] zero, op < 3; bind/unbind need BIND_PGTBL and a PASID set,
/// cache_invld needs CACHE_INVLD (EOPNOTSUPP); payload errors of unbind and cache_invld are not reported.
/// seed: argsz >= 12, flags == 0, op < 3, payload at 12.
///   auto v = rules::check_nesting_op<abi::v7>(req.bytes());
template <uapi::proposal_abi Abi>
[[nodiscard]] inline verdict check_nesting_op(std::span<const std::byte> img, const kernel_state& k = {}) noexcept {
    using T = uapi::abi_traits<Abi>;
    typename T::nesting_op_type h{};
    constexpr std::size_t minsz = sizeof h;
    if (!detail::copy_prefix(img, 0, minsz, h)) return detail::fail(EFAULT, "argsz", "image shorter than the header");
    if (h.argsz < minsz) return detail::fail(EINVAL, "argsz", "argsz below the header's size");
    u32 op = 0;
    if constexpr (std::is_same_v<Abi, uapi::abi::v7>) {
        if (h.flags & ~uapi::v7::vfio_nesting_op_mask) return detail::fail(EINVAL, "flags", "flags[31:16] must be zero");
        op = h.flags & uapi::v7::vfio_nesting_op_mask;
    } else {
        if (h.flags != 0) return detail::fail(EINVAL, "flags", "the seed's flags must be zero");
        op = static_cast<u32>(h.op);
    }
    if (op >= uapi::v7::vfio_iommu_nesting_op_num) return detail::fail(EINVAL, "op", "op beyond CACHE_INVLD");
    const auto payload = img.size() > T::data_offset ? img.subspan(T::data_offset) : std::span<const std::byte>{};
    using op_t = typename T::op_type;
    if (op == static_cast<u32>(op_t::cache_invld)) {
        if (!k.nesting_info || !k.features.has(uapi::v7::nesting_feature::cache_invld))
            return detail::fail(EOPNOTSUPP, "op", "the container's IOMMU does not report CACHE_INVLD");
        auto v = check_cache_invalidate(payload, k);
        v.reported = v.accepted();  // vfio_iommu_invalidate_cache() ignores iommu_uapi_cache_invalidate()'s result
        return v;
    }
    if (!k.nesting_info || !k.features.has(uapi::v7::nesting_feature::bind_pgtbl))
        return detail::fail(EOPNOTSUPP, "op", "the container's IOMMU does not report BIND_PGTBL");
    if (!k.vfio_mm) return detail::fail(EINVAL, "op", "the container has no PASID set (vfio_mm)");
    const bool bind = op == static_cast<u32>(op_t::bind_pgtbl);
    auto v = check_bind(payload, bind, k);
    if (!bind) v.reported = v.accepted();  // the unbind loop ignores iommu_uapi_sva_unbind_gpasid()'s result
    return v;
}

}  // namespace vfiopp::wire::rules
