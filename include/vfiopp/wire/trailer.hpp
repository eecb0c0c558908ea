// vfiopp/wire/trailer.hpp - requests whose flags/op/size follow from their payload's C++ type.
//
// One small function per kernel operation fills one request (liburing's io_uring_prep_* style):
//
//   auto irq = wire::vfio::set_irqs_none<wire::vfio::irq_trigger>(pci_irq_index::intx, 0, 1);
//   wire::vfio::set_irqs_request<8> msix;                        // room for 8 eventfds, no heap
//   wire::vfio::set_irqs_eventfds<wire::vfio::irq_trigger>(msix, pci_irq_index::msix, 0, fds).value();
//   auto mig = wire::vfio::feature_set(vfio_device_feature_mig_state{device_mig_state::stop_copy, -1});
//   auto bind = wire::nesting_op<abi::v7>(wire::bind_pgtbl{data});       // op = BIND_PGTBL, argsz = 8 + 72
//   auto hwpt = wire::iommufd::hwpt_alloc(dev, parent, flags, vtd);      // data_type/len/uptr from vtd
//   auto inv = wire::iommufd::hwpt_invalidate(hwpt_id, std::span{entries}).value();
//
// What the kernel rejects is refused here: at compile time (static_assert naming the ioctl) when the types
// decide it, else before the ioctl with an error naming the ioctl, the field and the errno the kernel would give.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/uapi/iommu.hpp>
#include <vfiopp/uapi/iommufd.hpp>
#include <vfiopp/uapi/vfio.hpp>
#include <vfiopp/uapi/vfio_nesting.hpp>
#include <vfiopp/wire/checked.hpp>
#include <vfiopp/wire/request.hpp>

#include <algorithm>
#include <optional>
#include <span>
#include <variant>

namespace vfiopp::wire {

namespace detail {
constexpr std::size_t round8(std::size_t n) { return (n + 7) / 8 * 8; }
template <typename A>
inline constexpr std::size_t flex_offset = uapi::flexible_array_of<A>::offset;
template <typename T>
inline constexpr bool dependent_false = false;

/// Header + `bytes` trailer bytes at the flexible array's offset; fails (E2BIG) past the inline capacity.
template <typename Req>
result<void> put_with_trailer(Req& r, const typename Req::arg_type& h, const void* data, std::size_t bytes,
                              std::string_view count_field) {
    using A = typename Req::arg_type;
    constexpr std::size_t off = flex_offset<A>;
    auto total = checked_add<u32>(off, bytes, {Req::ioctl.name, size_field_name<A>()});
    if (!total) return total.error();
    if (*total > r.capacity())
        return refuse(Req::ioctl.name, count_field, E2BIG, "more trailer elements than the request's capacity");
    image_access::write(r, 0, h);
    image_access::zero(r, sizeof(A), off - sizeof(A));
    image_access::write_bytes(r, off, data, bytes);
    image_access::set_size(r, *total);
    return {};
}
}  // namespace detail

// =====================================================================================================
// VFIO (mainline)
// =====================================================================================================
namespace vfio {
using uapi::irq_set_flag;

/// Action tags of VFIO_DEVICE_SET_IRQS: the action bit is a type, so the data type it allows is checked.
struct irq_mask {
    static constexpr irq_set_flag flag = irq_set_flag::action_mask;
};
struct irq_unmask {
    static constexpr irq_set_flag flag = irq_set_flag::action_unmask;
};
struct irq_trigger {
    static constexpr irq_set_flag flag = irq_set_flag::action_trigger;
};

/// VFIO_DEVICE_SET_IRQS with inline room for MaxData trailer elements (eventfds are 4 bytes, bools 1).
///   wire::vfio::set_irqs_request<32> req;
template <std::size_t MaxData>
using set_irqs_request =
    request<uapi::vfio::device_set_irqs, inline_storage<::vfiopp::wire::detail::flex_offset<uapi::vfio_irq_set> + 4 * MaxData>>;

namespace detail {
template <typename Action>
uapi::vfio_irq_set irq_header(irq_set_flag data, u32 index, u32 start, u32 count) {
    uapi::vfio_irq_set h{};
    h.flags = data | Action::flag;
    h.index = index;
    h.start = start;
    h.count = count;
    return h;
}
template <typename I>
constexpr u32 index_value(I i) {
    return static_cast<u32>(i);
}
}  // namespace detail

/// VFIO_DEVICE_SET_IRQS, DATA_NONE: apply Action to [start, start + count) of irq `index` (count 0 with
/// irq_trigger disables the index). `auto r = wire::vfio::set_irqs_none<irq_unmask>(pci_irq_index::intx, 0, 1);`
template <typename Action, typename Index>
set_irqs_request<0> set_irqs_none(Index index, u32 start, u32 count) {
    set_irqs_request<0> r;
    wire::detail::put_header(r, detail::irq_header<Action>(irq_set_flag::data_none, detail::index_value(index), start, count),
                             static_cast<u32>(sizeof(uapi::vfio_irq_set)));
    return r;
}

/// VFIO_DEVICE_SET_IRQS, DATA_BOOL: one bool per vector from start (true = apply Action).
///   wire::vfio::set_irqs_request<4> r; wire::vfio::set_irqs_bools<irq_mask>(r, pci_irq_index::msix, 0, bits);
template <typename Action, std::size_t N, typename Index>
result<void> set_irqs_bools(request<uapi::vfio::device_set_irqs, inline_storage<N>>& r, Index index, u32 start,
                            std::span<const bool> values) {
    constexpr std::string_view name = uapi::vfio::device_set_irqs.name;
    auto count = checked_cast<u32>(values.size(), {name, "count"});
    if (!count) return count.error();
    if (auto end = checked_add<u32>(start, *count, {name, "start"}); !end) return end.error();
    std::array<u8, N> bytes{};
    if (values.size() > N - ::vfiopp::wire::detail::flex_offset<uapi::vfio_irq_set>)
        return wire::detail::refuse(name, "count", E2BIG, "more bools than the request's inline capacity");
    for (std::size_t i = 0; i < values.size(); ++i) bytes[i] = values[i] ? 1 : 0;
    return wire::detail::put_with_trailer(r, detail::irq_header<Action>(irq_set_flag::data_bool, detail::index_value(index), start, *count),
                                          bytes.data(), values.size(), "count");
}

/// VFIO_DEVICE_SET_IRQS, DATA_EVENTFD: one eventfd per vector from start (-1 de-assigns that vector).
///   wire::vfio::set_irqs_request<8> r; wire::vfio::set_irqs_eventfds<irq_trigger>(r, pci_irq_index::msix, 0, fds);
template <typename Action, std::size_t N, typename Index>
result<void> set_irqs_eventfds(request<uapi::vfio::device_set_irqs, inline_storage<N>>& r, Index index, u32 start,
                               std::span<const int> fds) {
    static_assert(!std::is_same_v<Action, irq_mask>,
                  "VFIO_DEVICE_SET_IRQS: ACTION_MASK with DATA_EVENTFD is not implemented by vfio-pci (the kernel "
                  "returns ENOTTY); use set_irqs_none or set_irqs_bools to mask");
    constexpr std::string_view name = uapi::vfio::device_set_irqs.name;
    auto count = checked_cast<u32>(fds.size(), {name, "count"});
    if (!count) return count.error();
    if (auto end = checked_add<u32>(start, *count, {name, "start"}); !end) return end.error();
    if (fds.size() > (N - ::vfiopp::wire::detail::flex_offset<uapi::vfio_irq_set>) / sizeof(int))
        return wire::detail::refuse(name, "count", E2BIG, "more eventfds than the request's inline capacity");
    for (int fd : fds)
        if (fd < -1) return wire::detail::refuse(name, "data", EINVAL, "an eventfd must be >= 0, or -1 to de-assign");
    return wire::detail::put_with_trailer(r, detail::irq_header<Action>(irq_set_flag::data_eventfd, detail::index_value(index), start, *count),
                                          fds.data(), fds.size_bytes(), "count");
}

// ---- VFIO_DEVICE_FEATURE ----
/// Operations a feature payload allows.
enum class feature_ops : u8 { get = 1, set = 2, get_set = 3 };

/// Payloads without data (the feature number alone says it).
struct low_power_entry {};
struct low_power_exit {};
struct dma_logging_stop {};
/// device_feature_id::pci_vf_token payload: the VF token UUID (SET).
struct pci_vf_token {
    std::array<u8, 16> uuid;
};

/// feature_traits<P>: feature number and allowed operations of a payload type.
template <typename P>
struct feature_traits {
    static_assert(wire::detail::dependent_false<P>,
                  "VFIO_DEVICE_FEATURE: this type is not a device feature payload (see feature_traits)");
};
#define VFIOPP_DETAIL_FEATURE(T, ID, OPS, RET)                                                                       \
    template <>                                                                                                      \
    struct feature_traits<T> {                                                                                       \
        static constexpr uapi::device_feature_id id = uapi::device_feature_id::ID;                                   \
        static constexpr feature_ops ops = feature_ops::OPS;                                                         \
        static constexpr std::size_t size = std::is_empty_v<T> ? 0 : sizeof(T);                                     \
        static constexpr returns get_returns = returns::RET;                                                         \
    };
VFIOPP_DETAIL_FEATURE(pci_vf_token, pci_vf_token, set, status)
VFIOPP_DETAIL_FEATURE(uapi::vfio_device_feature_migration, migration, get, status)
VFIOPP_DETAIL_FEATURE(uapi::vfio_device_feature_mig_state, mig_device_state, get_set, status)
VFIOPP_DETAIL_FEATURE(low_power_entry, low_power_entry, set, status)
VFIOPP_DETAIL_FEATURE(uapi::vfio_device_low_power_entry_with_wakeup, low_power_entry_with_wakeup, set, status)
VFIOPP_DETAIL_FEATURE(low_power_exit, low_power_exit, set, status)
VFIOPP_DETAIL_FEATURE(uapi::vfio_device_feature_dma_logging_control, dma_logging_start, set, status)
VFIOPP_DETAIL_FEATURE(dma_logging_stop, dma_logging_stop, set, status)
VFIOPP_DETAIL_FEATURE(uapi::vfio_device_feature_dma_logging_report, dma_logging_report, get, status)
VFIOPP_DETAIL_FEATURE(uapi::vfio_device_feature_mig_data_size, mig_data_size, get, status)
VFIOPP_DETAIL_FEATURE(uapi::vfio_device_feature_bus_master, bus_master, set, status)
VFIOPP_DETAIL_FEATURE(uapi::vfio_device_feature_dma_buf, dma_buf, get, value)
#undef VFIOPP_DETAIL_FEATURE

/// The request type of a feature operation on payload P: header (8) + P, in place.
template <typename P, returns R = returns::status>
using feature_request =
    request<uapi::vfio::device_feature, inline_storage<::vfiopp::wire::detail::round8(sizeof(uapi::vfio_device_feature) + std::max<std::size_t>(feature_traits<P>::size, 1))>, R>;

namespace detail {
template <typename P, returns R>
feature_request<P, R> feature(uapi::bitmask<uapi::device_feature_flag> op, const P* payload) {
    using T = feature_traits<P>;
    feature_request<P, R> r;
    uapi::vfio_device_feature h{};
    h.flags = op | uapi::bitmask<uapi::device_feature_flag>::from_bits(static_cast<u32>(T::id));
    std::size_t n = payload ? T::size : 0;
    wire::detail::image_access::write(r, 0, h);
    if (n) wire::detail::image_access::write_bytes(r, sizeof h, payload, n);
    wire::detail::image_access::set_size(r, static_cast<u32>(sizeof h + n));
    return r;
}
}  // namespace detail

/// VFIO_DEVICE_FEATURE GET of payload P (feature number and GET flag from P; argsz = 8 + sizeof(P)).
///   auto req = wire::vfio::feature_get<vfio_device_feature_migration>(); io::submit(dev, req); req.read<...>(8);
template <typename P>
feature_request<P, feature_traits<P>::get_returns> feature_get() {
    static_assert(static_cast<u8>(feature_traits<P>::ops) & static_cast<u8>(feature_ops::get),
                  "VFIO_DEVICE_FEATURE: this feature does not support GET (the kernel returns EINVAL)");
    P zero{};
    return detail::feature<P, feature_traits<P>::get_returns>(uapi::device_feature_flag::get, &zero);
}

/// VFIO_DEVICE_FEATURE SET with payload p: `auto req = wire::vfio::feature_set(vfio_device_feature_bus_master{...});`
template <typename P>
feature_request<P> feature_set(const P& p) {
    static_assert(static_cast<u8>(feature_traits<P>::ops) & static_cast<u8>(feature_ops::set),
                  "VFIO_DEVICE_FEATURE: this feature does not support SET (the kernel returns EINVAL)");
    return detail::feature<P, returns::status>(uapi::device_feature_flag::set, &p);
}

/// VFIO_DEVICE_FEATURE PROBE: does the device support P with the operations P allows? No payload (argsz 8).
///   bool mig = io::submit(dev, wire::vfio::feature_probe<vfio_device_feature_migration>()).has_value();
template <typename P>
feature_request<P> feature_probe() {
    using T = feature_traits<P>;
    uapi::bitmask<uapi::device_feature_flag> f = uapi::device_feature_flag::probe;
    if (static_cast<u8>(T::ops) & static_cast<u8>(feature_ops::get)) f |= uapi::device_feature_flag::get;
    if (static_cast<u8>(T::ops) & static_cast<u8>(feature_ops::set)) f |= uapi::device_feature_flag::set;
    return detail::feature<P, returns::status>(f, static_cast<const P*>(nullptr));
}

// ---- VFIO_DEVICE_PCI_HOT_RESET ----
/// VFIO_DEVICE_PCI_HOT_RESET with room for MaxGroups group fds.
template <std::size_t MaxGroups>
using pci_hot_reset_request =
    request<uapi::vfio::device_pci_hot_reset, inline_storage<::vfiopp::wire::detail::flex_offset<uapi::vfio_pci_hot_reset> + 4 * MaxGroups>>;

/// Hot reset on a cdev device (iommufd ownership, no group fds: count 0): `io::submit(dev, wire::vfio::pci_hot_reset_devid());`
inline pci_hot_reset_request<0> pci_hot_reset_devid() {
    pci_hot_reset_request<0> r;
    wire::detail::put_header(r, uapi::vfio_pci_hot_reset{}, static_cast<u32>(sizeof(uapi::vfio_pci_hot_reset)));
    return r;
}

/// Hot reset proving ownership of every affected group with its fd.
///   wire::vfio::pci_hot_reset_request<4> r; wire::vfio::pci_hot_reset_groups(r, group_fds).value();
template <std::size_t N>
result<void> pci_hot_reset_groups(request<uapi::vfio::device_pci_hot_reset, inline_storage<N>>& r, std::span<const int> group_fds) {
    constexpr std::string_view name = uapi::vfio::device_pci_hot_reset.name;
    if (group_fds.empty())
        return wire::detail::refuse(name, "count", EINVAL, "the group form needs at least one group fd (use pci_hot_reset_devid on a cdev)");
    if (group_fds.size() > (N - ::vfiopp::wire::detail::flex_offset<uapi::vfio_pci_hot_reset>) / sizeof(int)) return wire::detail::refuse(name, "count", E2BIG, "more group fds than the request's inline capacity");
    for (int fd : group_fds)
        if (fd < 0) return wire::detail::refuse(name, "group_fds", EBADF, "a group fd must be >= 0");
    uapi::vfio_pci_hot_reset h{};
    h.count = static_cast<u32>(group_fds.size());
    return wire::detail::put_with_trailer(r, h, group_fds.data(), group_fds.size_bytes(), "count");
}

/// VFIO_IOMMU_MAP_DMA of [vaddr, vaddr + size) at iova; size 0 or a wrapping range is refused (EINVAL / EOVERFLOW).
///   auto r = wire::vfio::iommu_map_dma(uintptr_t(p), 0x100000, 0x200000, map_dma_flag::read | map_dma_flag::write).value();
inline result<request<uapi::vfio::iommu_map_dma>> iommu_map_dma(u64 vaddr, u64 iova, u64 size, uapi::bitmask<uapi::map_dma_flag> flags) {
    constexpr std::string_view name = uapi::vfio::iommu_map_dma.name;
    if (size == 0) return wire::detail::refuse(name, "size", EINVAL, "a mapping needs a non-zero size");
    if (auto c = checked_range(iova, size, {name, "size"}); !c) return c.error();
    if (auto c = checked_range(vaddr, size, {name, "size"}); !c) return c.error();
    uapi::vfio_iommu_type1_dma_map m{};
    m.flags = flags;
    m.vaddr = vaddr;
    m.iova = iova;
    m.size = size;
    return prep<uapi::vfio::iommu_map_dma>(m);
}
}  // namespace vfio

// =====================================================================================================
// The 2020 proposal: VFIO_IOMMU_NESTING_OP, both revisions, selected by ABI tag
// =====================================================================================================
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

namespace detail {
template <typename Abi>
using nesting_header_t = typename uapi::abi_traits<Abi>::nesting_op_type;
constexpr std::size_t nesting_payload_max =
    std::max({sizeof(uapi::iommu_gpasid_bind_data), sizeof(uapi::iommu_cache_invalidate_info)});
template <typename Abi, typename Alt>
constexpr auto op_of_alternative() {
    using op = typename uapi::abi_traits<Abi>::op_type;
    if constexpr (std::is_same_v<Alt, bind_pgtbl>) return op::bind_pgtbl;
    else if constexpr (std::is_same_v<Alt, unbind_pgtbl>) return op::unbind_pgtbl;
    else return op::cache_invld;
}
}  // namespace detail

/// VFIO_IOMMU_NESTING_OP of revision Abi, sized for the largest alternative.
template <typename Abi>
using nesting_op_request =
    request<uapi::abi_traits<Abi>::nesting_op,
            inline_storage<::vfiopp::wire::detail::round8(uapi::abi_traits<Abi>::data_offset + detail::nesting_payload_max)>>;

/// VFIO_IOMMU_NESTING_OP for revision Abi (abi::seed: op field, data at 12; abi::v7: op in flags, data at 8);
/// op, argsz (header + the payload struct) and the payload's own argsz and version follow from the alternative.
///   auto req = wire::nesting_op<abi::v7>(wire::cache_invalidate{info});
template <typename Abi>
nesting_op_request<Abi> nesting_op(const nesting_payload& payload) {
    using T = uapi::abi_traits<Abi>;
    nesting_op_request<Abi> r;
    std::visit(
        [&](const auto& alt) {
            typename T::nesting_op_type h{};
            T::set_op(h, detail::op_of_alternative<Abi, std::remove_cvref_t<decltype(alt)>>());
            // The 5.10 payloads carry their own argsz and version (the kernel's iommu_uapi_* checks them): both
            // follow from the payload type, like the header's argsz and op.
            auto data = alt.data;
            data.argsz = sizeof data;
            data.version = 1;  // IOMMU_GPASID_BIND_VERSION_1 == IOMMU_CACHE_INVALIDATE_INFO_VERSION_1 == 1
            auto st = detail::put_with_trailer(r, h, &data, sizeof data, "data");
            (void)st;  // cannot fail: the storage is sized for the largest alternative
        },
        payload);
    return r;
}

// =====================================================================================================
// iommufd
// =====================================================================================================
namespace iommufd {
/// HWPT_ALLOC vendor data: none (kernel-managed HWPT from an IOAS) or a user-managed stage-1 table.
using hwpt_data = std::variant<std::monostate, uapi::iommu_hwpt_vtd_s1, uapi::iommu_hwpt_arm_smmuv3, uapi::iommu_hwpt_amd_guest>;


/// Vendor data types of IOMMU_HWPT_ALLOC.
template <typename D>
concept hwpt_vendor_data = std::is_same_v<D, uapi::iommu_hwpt_vtd_s1> || std::is_same_v<D, uapi::iommu_hwpt_arm_smmuv3> ||
                           std::is_same_v<D, uapi::iommu_hwpt_amd_guest>;

namespace detail {
inline result<request<uapi::iommufd::hwpt_alloc>> hwpt_alloc_impl(u32 dev_id, u32 pt_id, uapi::bitmask<uapi::hwpt_alloc_flag> flags,
                                                                  uapi::hwpt_data_type type, const void* data, u32 len,
                                                                  std::optional<u32> fault_id) {
    constexpr std::string_view name = uapi::iommufd::hwpt_alloc.name;
    uapi::iommu_hwpt_alloc h{};
    h.dev_id = dev_id;
    h.pt_id = pt_id;
    h.flags = flags;
    if (flags.has(uapi::hwpt_alloc_flag::fault_id_valid) && !fault_id)
        return wire::detail::refuse(name, "flags", EINVAL, "fault_id_valid is set by passing a fault_id");
    if (fault_id) {
        h.flags |= uapi::hwpt_alloc_flag::fault_id_valid;
        h.fault_id = *fault_id;
    }
    if (data && (flags.has(uapi::hwpt_alloc_flag::nest_parent) || flags.has(uapi::hwpt_alloc_flag::dirty_tracking)))
        return wire::detail::refuse(name, "flags", EOPNOTSUPP, "a nested (vendor data) HWPT cannot be a nest parent or track dirty pages");
    h.data_type = type;
    h.data_len = len;
    h.data_uptr = reinterpret_cast<std::uintptr_t>(data);
    return prep<uapi::iommufd::hwpt_alloc>(h);
}
}  // namespace detail

/// IOMMU_HWPT_ALLOC of a kernel-managed HWPT from an IOAS (data_type none, data_len 0, data_uptr 0).
/// fault_id sets fault_id_valid. `auto r = wire::iommufd::hwpt_alloc(dev, ioas, hwpt_alloc_flag::nest_parent);`
inline result<request<uapi::iommufd::hwpt_alloc>> hwpt_alloc(u32 dev_id, u32 pt_id, uapi::bitmask<uapi::hwpt_alloc_flag> flags,
                                                             std::optional<u32> fault_id = {}) {
    return detail::hwpt_alloc_impl(dev_id, pt_id, flags, uapi::hwpt_data_type::none, nullptr, 0, fault_id);
}

/// IOMMU_HWPT_ALLOC of a nested HWPT with vendor data: data_type/data_len from D, data_uptr points at the caller's
/// object (no copy; it must outlive the submit, so temporaries are refused at compile time). A nested HWPT cannot
/// ask for nest_parent or dirty_tracking (EOPNOTSUPP before the ioctl).
///   uapi::iommu_hwpt_vtd_s1 s1{...}; auto r = wire::iommufd::hwpt_alloc(dev, parent_hwpt, {}, s1);
template <hwpt_vendor_data D>
result<request<uapi::iommufd::hwpt_alloc>> hwpt_alloc(u32 dev_id, u32 pt_id, uapi::bitmask<uapi::hwpt_alloc_flag> flags,
                                                      const D& data, std::optional<u32> fault_id = {}) {
    uapi::hwpt_data_type t = std::is_same_v<D, uapi::iommu_hwpt_vtd_s1>      ? uapi::hwpt_data_type::vtd_s1
                             : std::is_same_v<D, uapi::iommu_hwpt_arm_smmuv3> ? uapi::hwpt_data_type::arm_smmuv3
                                                                               : uapi::hwpt_data_type::amd_guest;
    return detail::hwpt_alloc_impl(dev_id, pt_id, flags, t, &data, static_cast<u32>(sizeof(D)), fault_id);
}
template <hwpt_vendor_data D>
result<request<uapi::iommufd::hwpt_alloc>> hwpt_alloc(u32, u32, uapi::bitmask<uapi::hwpt_alloc_flag>, const D&&,
                                                      std::optional<u32> = {}) = delete;  // data_uptr would dangle

/// The same from a vendor-data variant (the alternative picks data_type; monostate = none); the variant must
/// outlive the submit. `wire::iommufd::hwpt_data d = s1; auto r = wire::iommufd::hwpt_alloc(dev, parent, {}, d);`
inline result<request<uapi::iommufd::hwpt_alloc>> hwpt_alloc(u32 dev_id, u32 pt_id, uapi::bitmask<uapi::hwpt_alloc_flag> flags,
                                                             const hwpt_data& data, std::optional<u32> fault_id = {}) {
    return std::visit(
        [&](const auto& d) {
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(d)>, std::monostate>) return hwpt_alloc(dev_id, pt_id, flags, fault_id);
            else return hwpt_alloc(dev_id, pt_id, flags, d, fault_id);
        },
        data);
}
result<request<uapi::iommufd::hwpt_alloc>> hwpt_alloc(u32, u32, uapi::bitmask<uapi::hwpt_alloc_flag>, const hwpt_data&&,
                                                      std::optional<u32> = {}) = delete;  // data_uptr would dangle

namespace detail {
template <typename E>
constexpr uapi::hwpt_invalidate_data_type invalidate_type_of() {
    if constexpr (std::is_same_v<E, uapi::iommu_hwpt_vtd_s1_invalidate>) return uapi::hwpt_invalidate_data_type::vtd_s1;
    else if constexpr (std::is_same_v<E, uapi::iommu_viommu_arm_smmuv3_invalidate>)
        return uapi::hwpt_invalidate_data_type::viommu_arm_smmuv3;
    else static_assert(wire::detail::dependent_false<E>,
                       "IOMMU_HWPT_INVALIDATE: entries must be iommu_hwpt_vtd_s1_invalidate or "
                       "iommu_viommu_arm_smmuv3_invalidate");
}
}  // namespace detail

/// IOMMU_HWPT_INVALIDATE of hwpt_id with the caller's entries (data_uptr points at them; data_type, entry_len and
/// entry_num from the span). After the ioctl, header().entry_num is the number the kernel handled.
///   std::array<iommu_hwpt_vtd_s1_invalidate, 2> e{...}; auto r = wire::iommufd::hwpt_invalidate(hwpt, std::span{e});
template <typename Entry>
result<request<uapi::iommufd::hwpt_invalidate>> hwpt_invalidate(u32 hwpt_id, std::span<const Entry> entries) {
    constexpr std::string_view name = uapi::iommufd::hwpt_invalidate.name;
    auto n = checked_cast<u32>(entries.size(), {name, "entry_num"});
    if (!n) return n.error();
    if (auto bytes = checked_mul<u32>(*n, sizeof(Entry), {name, "entry_num"}); !bytes) return bytes.error();
    uapi::iommu_hwpt_invalidate h{};
    h.hwpt_id = hwpt_id;
    h.data_type = detail::invalidate_type_of<Entry>();
    h.entry_len = static_cast<u32>(sizeof(Entry));
    h.entry_num = *n;
    h.data_uptr = entries.empty() ? 0 : reinterpret_cast<std::uintptr_t>(entries.data());
    return prep<uapi::iommufd::hwpt_invalidate>(h);
}
template <typename Entry, std::size_t N>
result<request<uapi::iommufd::hwpt_invalidate>> hwpt_invalidate(u32 hwpt_id, const std::array<Entry, N>& entries) {
    return hwpt_invalidate(hwpt_id, std::span<const Entry>(entries));
}
}  // namespace iommufd

}  // namespace vfiopp::wire
