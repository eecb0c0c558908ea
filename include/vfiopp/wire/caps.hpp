// vfiopp/wire/caps.hpp - typed, bounds-checked views of the capability chains of VFIO info replies.
//
// VFIO_IOMMU_GET_INFO, VFIO_DEVICE_GET_INFO and VFIO_DEVICE_GET_REGION_INFO may append a chain of capabilities
// to their reply: `cap_offset` (in the reply) and each capability's `next` are byte offsets from the start of the
// reply buffer, 0 ends the chain. The same id means different things in different replies (1 is IOVA_RANGE for
// the IOMMU, SPARSE_MMAP for a region, s390's ZPCI_BASE for a device), and in the 2020 proposal's (v7) IOMMU reply
// id 3 is NESTING where mainline has DMA_AVAIL: the chain kind is part of the type.
//
// Usage: parse once, then iterate; parsing validates the whole chain, so iterating a parsed chain cannot fail:
//
//   auto chain = wire::iommu_info_chain::parse(reply_bytes);   // result<iommu_info_chain>
//   if (!chain) return log(chain.error());                      // ioctl, field, errno and message
//   if (chain->truncated()) retry_with_argsz(chain->required_argsz());
//   for (const auto& cap : *chain)                               // std::variant<iova_range_cap, ..., unknown_cap>
//       std::visit(overloaded{[](const wire::iova_range_cap& c) { for (auto r : c.ranges) use(r.start, r.end); },
//                             [](const auto&) {}}, cap);
//   if (auto r = chain->find<wire::iova_range_cap>()) ...;       // or pick one capability directly
//
// Why validate up front instead of an iterator that stops at the first bad capability: a VMM that forgets to check
// `chain.error()` after a loop would silently act on half a chain (e.g. miss the IOVA_RANGE cap and map DMA into
// the MSI hole). Here a malformed chain never yields anything; chains are a handful of capabilities, so walking
// twice costs nothing.
//
// Rules a chain must follow (a violation is an error, never undefined behaviour):
//  - the reply is at least as large as its fixed struct; only bytes below min(reply size, argsz) are read;
//  - every capability starts at a 4-aligned offset (vfio_info_cap_header's alignment: kernels before 6.5 pack
//    capabilities back to back, so Debian 12's 6.1 puts IOVA_RANGE at 68 after the 12-byte DMA_AVAIL; since 6.5
//    vfio_info_cap_add() aligns each one to 8), past the reply's fixed struct, and strictly after the previous capability's fixed
//    part (so offsets only grow: no loops, nothing backwards, no overlap);
//  - a known capability's fixed struct and its array (count * element size, computed with overflow checks) fit
//    before the next capability, or before the end of the reply for the last one.
// errno: EINVAL for a structural fault (misaligned, backwards, loop, overlap), EOVERFLOW when something extends past
// the end of the reply or an element count overflows.
// Reading never forms a pointer to a mirror inside the buffer: capabilities and array elements are copied out
// with memcpy (a capability at offset 4 mod 8 would make a u64 member misaligned).
// A capability whose version is not 1 is still decoded with the version-1 layout (VFIO extends capabilities by
// appending fields); its version is in `header().version`.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/wire/checked.hpp>
#include <vfiopp/uapi/all.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace vfiopp::detail {

/// Copies a T out of `bytes` at `offset`; the caller has checked offset + sizeof(T) <= bytes.size().
template <typename T>
T load_at(std::span<const std::byte> bytes, std::size_t offset) {
    static_assert(std::is_trivially_copyable_v<T>);
    T v;
    std::memcpy(&v, bytes.data() + offset, sizeof v);
    return v;
}

struct cap_reader;

}  // namespace vfiopp::detail

namespace vfiopp::wire {

/// A read-only array of T stored unaligned in a byte buffer; elements are returned by value (memcpy).
///   for (vfio_iova_range r : cap.ranges) map_allowed(r.start, r.end);   cap.ranges[1].end; cap.ranges.size()
template <typename T>
class unaligned_array {
    static_assert(std::is_trivially_copyable_v<T>);

public:
    using value_type = T;

    /// An iterator yielding T by value (a C++20 random-access iterator whose reference type is T).
    class iterator {
    public:
        using iterator_concept = std::random_access_iterator_tag;
        using iterator_category = std::input_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using reference = T;

        iterator() = default;
        T operator*() const { return vfiopp::detail::load_at<T>(bytes_, i_ * sizeof(T)); }
        T operator[](difference_type n) const { return *(*this + n); }
        iterator& operator++() { ++i_; return *this; }
        iterator operator++(int) { auto t = *this; ++i_; return t; }
        iterator& operator--() { --i_; return *this; }
        iterator operator--(int) { auto t = *this; --i_; return t; }
        iterator& operator+=(difference_type n) { i_ = static_cast<std::size_t>(static_cast<difference_type>(i_) + n); return *this; }
        iterator& operator-=(difference_type n) { return *this += -n; }
        friend iterator operator+(iterator a, difference_type n) { return a += n; }
        friend iterator operator+(difference_type n, iterator a) { return a += n; }
        friend iterator operator-(iterator a, difference_type n) { return a -= n; }
        friend difference_type operator-(iterator a, iterator b) {
            return static_cast<difference_type>(a.i_) - static_cast<difference_type>(b.i_);
        }
        friend bool operator==(iterator a, iterator b) { return a.i_ == b.i_; }
        friend auto operator<=>(iterator a, iterator b) { return a.i_ <=> b.i_; }

    private:
        friend class unaligned_array;
        iterator(std::span<const std::byte> b, std::size_t i) : bytes_(b), i_(i) {}
        std::span<const std::byte> bytes_;
        std::size_t i_ = 0;
    };

    unaligned_array() = default;

    /// The array of `count` T at `offset` of `bytes`, or an error (EOVERFLOW) when it does not fit or
    /// count * sizeof(T) overflows; `field` names the count in the error.
    ///   auto a = unaligned_array<vfio_iova_range>::make(buf, 16, n, "VFIO_IOMMU_GET_INFO", "nr_iovas");
    static result<unaligned_array> make(std::span<const std::byte> bytes, std::size_t offset,
                                               std::size_t count, std::string_view ioctl, std::string_view field) {
        std::size_t len = 0, end = 0;
        if (!vfiopp::detail::mul_fits(count, sizeof(T), len)) return vfiopp::detail::product_overflow({ioctl, field});
        if (!vfiopp::detail::add_fits(offset, len, end) || end > bytes.size())
            return vfiopp::detail::refused(ioctl, field, EOVERFLOW,
                                           "array extends past the next capability or the end of the reply");
        return unaligned_array(bytes.subspan(offset, len));
    }

    std::size_t size() const { return bytes_.size() / sizeof(T); }
    bool empty() const { return bytes_.empty(); }
    /// Element i (unchecked, like span::operator[]; use at() for a checked read).
    T operator[](std::size_t i) const { return vfiopp::detail::load_at<T>(bytes_, i * sizeof(T)); }
    /// Element i, or nullopt past the end.
    std::optional<T> at(std::size_t i) const {
        if (i >= size()) return std::nullopt;
        return (*this)[i];
    }
    iterator begin() const { return iterator(bytes_, 0); }
    iterator end() const { return iterator(bytes_, size()); }
    /// The elements' bytes, exactly as in the reply.
    std::span<const std::byte> bytes() const { return bytes_; }

private:
    friend struct vfiopp::detail::cap_reader;
    explicit unaligned_array(std::span<const std::byte> b) : bytes_(b) {}
    std::span<const std::byte> bytes_;
};

// ---- capability views ----

/// Fields every capability view has: its offset in the reply and its bytes (up to the next capability or the end
/// of the reply).
struct cap_location {
    std::size_t offset = 0;              ///< where the capability starts in the reply buffer
    std::span<const std::byte> bytes;  ///< from offset to the next capability (or the end of the reply)
};

/// A capability with a fixed layout: `value` is the mirror (header included), copied out of the reply.
template <typename Mirror>
struct fixed_cap : cap_location {
    using mirror_type = Mirror;
    Mirror value{};
    /// The capability header: id, version, next.
    const uapi::vfio_info_cap_header& header() const { return value.header; }
};

/// VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE (IOMMU info, id 1): the IOVA ranges DMA may be mapped in.
///   for (auto r : cap.ranges) fmt::print("[{:#x}, {:#x}]\n", r.start, r.end);
struct iova_range_cap : fixed_cap<uapi::vfio_iommu_type1_info_cap_iova_range> {
    static constexpr uapi::u16 id = 1;
    static constexpr std::string_view name = "iova_range";
    static constexpr std::string_view kernel_name = "VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE";
    static constexpr std::string_view count_field = "nr_iovas";
    static constexpr auto count_member = &mirror_type::nr_iovas;
    unaligned_array<uapi::vfio_iova_range> ranges;  ///< value.nr_iovas entries
    const auto& elements() const { return ranges; }
};

/// VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION (IOMMU info, id 2): dirty page tracking page sizes and bitmap limit.
struct migration_cap : fixed_cap<uapi::vfio_iommu_type1_info_cap_migration> {
    static constexpr uapi::u16 id = 2;
    static constexpr std::string_view name = "migration";
    static constexpr std::string_view kernel_name = "VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION";
};

/// VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL (mainline IOMMU info, id 3): how many more DMA mappings are allowed.
struct dma_avail_cap : fixed_cap<uapi::vfio_iommu_type1_info_dma_avail> {
    static constexpr uapi::u16 id = 3;
    static constexpr std::string_view name = "dma_avail";
    static constexpr std::string_view kernel_name = "VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL";
};

/// VFIO_IOMMU_TYPE1_INFO_CAP_NESTING (the 2020 proposal, v7 IOMMU info, id 3): the host's iommu_nesting_info.
struct nesting_cap : fixed_cap<uapi::v7::vfio_iommu_type1_info_cap_nesting> {
    static constexpr uapi::u16 id = 3;
    static constexpr std::string_view name = "nesting";
    static constexpr std::string_view kernel_name = "VFIO_IOMMU_TYPE1_INFO_CAP_NESTING";
};

/// VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP (device info, id 5): PCIe AtomicOp completer widths (flags).
struct pci_atomic_comp_cap : fixed_cap<uapi::vfio_device_info_cap_pci_atomic_comp> {
    static constexpr uapi::u16 id = 5;
    static constexpr std::string_view name = "pci_atomic_comp";
    static constexpr std::string_view kernel_name = "VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP";
};

/// VFIO_REGION_INFO_CAP_SPARSE_MMAP (region info, id 1): the only areas of the region that may be mmapped.
///   for (auto a : cap.areas) mmap(..., a.size, ..., region.offset + a.offset);
struct sparse_mmap_cap : fixed_cap<uapi::vfio_region_info_cap_sparse_mmap> {
    static constexpr uapi::u16 id = 1;
    static constexpr std::string_view name = "sparse_mmap";
    static constexpr std::string_view kernel_name = "VFIO_REGION_INFO_CAP_SPARSE_MMAP";
    static constexpr std::string_view count_field = "nr_areas";
    static constexpr auto count_member = &mirror_type::nr_areas;
    unaligned_array<uapi::vfio_region_sparse_mmap_area> areas;  ///< value.nr_areas entries
    const auto& elements() const { return areas; }
};

/// VFIO_REGION_INFO_CAP_TYPE (region info, id 2): the device-specific region type and subtype.
struct region_type_cap : fixed_cap<uapi::vfio_region_info_cap_type> {
    static constexpr uapi::u16 id = 2;
    static constexpr std::string_view name = "type";
    static constexpr std::string_view kernel_name = "VFIO_REGION_INFO_CAP_TYPE";
};

/// VFIO_REGION_INFO_CAP_MSIX_MAPPABLE (region info, id 3): the MSI-X table's BAR may be mmapped whole; no payload.
struct msix_mappable_cap : fixed_cap<uapi::vfio_info_cap_header> {
    static constexpr uapi::u16 id = 3;
    static constexpr std::string_view name = "msix_mappable";
    static constexpr std::string_view kernel_name = "VFIO_REGION_INFO_CAP_MSIX_MAPPABLE";
    const uapi::vfio_info_cap_header& header() const { return value; }
};

/// A capability this chain kind does not know (or an s390/POWER one vfiopp leaves out): header and raw bytes.
struct unknown_cap : cap_location {
    uapi::vfio_info_cap_header value{};
    const uapi::vfio_info_cap_header& header() const { return value; }
    uapi::u16 id() const { return value.id; }
    uapi::u16 version() const { return value.version; }
};

// ---- chain kinds: which reply, which capabilities ----

/// Capabilities of a mainline VFIO_IOMMU_GET_INFO reply (struct vfio_iommu_type1_info).
struct iommu_info_caps {
    using reply_type = uapi::vfio_iommu_type1_info;
    using cap_type = std::variant<iova_range_cap, migration_cap, dma_avail_cap, unknown_cap>;
    static constexpr std::string_view ioctl = "VFIO_IOMMU_GET_INFO";
    static constexpr uapi::u32 caps_flag = 1u << 1;  // VFIO_IOMMU_INFO_CAPS
};
/// Capabilities of a VFIO_IOMMU_GET_INFO reply from a kernel with the 2020 proposal (v7): id 3 is NESTING.
struct iommu_info_caps_v7 {
    using reply_type = uapi::vfio_iommu_type1_info;
    using cap_type = std::variant<iova_range_cap, migration_cap, nesting_cap, unknown_cap>;
    static constexpr std::string_view ioctl = "VFIO_IOMMU_GET_INFO";
    static constexpr uapi::u32 caps_flag = 1u << 1;  // VFIO_IOMMU_INFO_CAPS
};
/// Capabilities of a VFIO_DEVICE_GET_INFO reply (struct vfio_device_info); s390 ZPCI caps (1-4) are unknown_cap.
struct device_info_caps {
    using reply_type = uapi::vfio_device_info;
    using cap_type = std::variant<pci_atomic_comp_cap, unknown_cap>;
    static constexpr std::string_view ioctl = "VFIO_DEVICE_GET_INFO";
    static constexpr uapi::u32 caps_flag = 1u << 7;  // VFIO_DEVICE_FLAGS_CAPS
};
/// Capabilities of a VFIO_DEVICE_GET_REGION_INFO reply (struct vfio_region_info); POWER NVLINK2 caps are unknown_cap.
struct region_info_caps {
    using reply_type = uapi::vfio_region_info;
    using cap_type = std::variant<sparse_mmap_cap, region_type_cap, msix_mappable_cap, unknown_cap>;
    static constexpr std::string_view ioctl = "VFIO_DEVICE_GET_REGION_INFO";
    static constexpr uapi::u32 caps_flag = 1u << 3;  // VFIO_REGION_INFO_FLAG_CAPS
};

}  // namespace vfiopp::wire

namespace vfiopp::detail {

template <typename Cap>
concept array_cap = requires { Cap::count_member; };

/// The number of bytes a capability needs before the next one may start: its fixed part.
template <typename Cap>
constexpr std::size_t cap_fixed_size() {
    if constexpr (std::is_same_v<Cap, wire::unknown_cap>)
        return sizeof(uapi::vfio_info_cap_header);
    else
        return sizeof(typename Cap::mirror_type);
}

template <typename Cap>
constexpr std::string_view cap_name() {
    if constexpr (std::is_same_v<Cap, wire::unknown_cap>)
        return "unknown";
    else
        return Cap::name;
}

/// The fixed size of whichever capability `id` is in chain kind Kind.
template <typename Kind, std::size_t I = 0>
constexpr std::size_t fixed_size_of_id(uapi::u16 id) {
    using variant_type = typename Kind::cap_type;
    if constexpr (I + 1 == std::variant_size_v<variant_type>) {
        return sizeof(uapi::vfio_info_cap_header);
    } else {
        using Cap = std::variant_alternative_t<I, variant_type>;
        return id == Cap::id ? cap_fixed_size<Cap>() : fixed_size_of_id<Kind, I + 1>(id);
    }
}

// A chain walk checks each capability (check_cap) and then, where it yields one, reads it (cap_reader::read).
// Checks return a cap_check - what is wrong and the field to name - not a result: a result holds a whole error,
// which the compiler then keeps in memory on the walk's good path too. parse() turns a failed check into the
// error (cap_refusal) once, on its way out.

/// What a capability check found wrong (none: nothing).
enum class cap_fault : unsigned char {
    none,
    points_at_itself,   ///< EINVAL: offset == the previous capability's
    backwards,          ///< EINVAL: offset below the previous capability's
    overlaps_struct,    ///< EINVAL: the first capability starts inside the reply's struct
    misaligned,         ///< EINVAL: offset not 4-aligned
    header_past_end,    ///< EOVERFLOW: the header does not fit the reply
    next_overlaps,      ///< EINVAL: `next` points inside this capability's fixed part
    truncated,          ///< EOVERFLOW: the fixed part does not fit before the next capability / the end
    array_overflow,     ///< EOVERFLOW: count * element size overflows
    array_past_end,     ///< EOVERFLOW: the array does not fit before the next capability / the end
};
struct cap_check {
    cap_fault fault = cap_fault::none;
    std::string_view field;  ///< "cap_offset" / "next", the capability's name (truncated), its count field (arrays)
    [[nodiscard]] constexpr bool ok() const noexcept { return fault == cap_fault::none; }
};

/// The error of a failed check in a reply of ioctl `ioctl` (made only when a walk fails).
[[nodiscard]] constexpr refusal cap_refusal(std::string_view ioctl, cap_check c) noexcept {
    switch (c.fault) {
        case cap_fault::points_at_itself:
            return refused(ioctl, c.field, EINVAL, "capability points at itself: the chain loops");
        case cap_fault::backwards:
            return refused(ioctl, c.field, EINVAL, "capability offset points backwards: the chain loops");
        case cap_fault::overlaps_struct:
            return refused(ioctl, c.field, EINVAL, "first capability overlaps the reply's own struct");
        case cap_fault::misaligned: return refused(ioctl, c.field, EINVAL, "capability offset is not 4-byte aligned");
        case cap_fault::header_past_end:
            return refused(ioctl, c.field, EOVERFLOW, "capability header lies past the end of the reply");
        case cap_fault::next_overlaps: return refused(ioctl, c.field, EINVAL, "next capability overlaps this capability");
        case cap_fault::truncated: return refused(ioctl, c.field, EOVERFLOW, "capability truncated by the end of the reply");
        case cap_fault::array_overflow: return product_overflow({ioctl, c.field});
        case cap_fault::array_past_end:
            return refused(ioctl, c.field, EOVERFLOW, "array extends past the next capability or the end of the reply");
        case cap_fault::none: break;
    }
    return refused(ioctl, c.field, EINVAL, "");  // not reached: callers pass a failed check
}

/// The element type of an array capability's array.
template <typename Cap>
using cap_element_t = typename std::remove_cvref_t<decltype(std::declval<const Cap&>().elements())>::value_type;

/// The checks of the capability whose id selects alternative I.. of Kind's variant, at `offset` of `reply` (already
/// cut to the readable part), ending at `end`: its fixed part, and its array, fit before `end`.
template <typename Kind, std::size_t I = 0>
[[gnu::always_inline]] constexpr cap_check check_cap_body(std::span<const std::byte> reply, std::size_t offset, std::size_t end, uapi::u16 id) {
    using variant_type = typename Kind::cap_type;
    if constexpr (I + 1 == std::variant_size_v<variant_type>) {
        return {};  // unknown_cap: its header was checked to fit
    } else {
        using Cap = std::variant_alternative_t<I, variant_type>;
        if (id != Cap::id) return check_cap_body<Kind, I + 1>(reply, offset, end, id);
        constexpr std::size_t fixed = cap_fixed_size<Cap>();
        if (fixed > end - offset) return {cap_fault::truncated, cap_name<Cap>()};
        if constexpr (array_cap<Cap>) {
            const std::size_t count = load_at<typename Cap::mirror_type>(reply, offset).*Cap::count_member;
            std::size_t len = 0, stop = 0;
            if (!mul_fits(count, sizeof(cap_element_t<Cap>), len)) return {cap_fault::array_overflow, Cap::count_field};
            if (!add_fits(offset + fixed, len, stop) || stop > end) return {cap_fault::array_past_end, Cap::count_field};
        }
        return {};
    }
}

/// Where a walk stands: the capability at `offset` (its header, its end: the next capability's offset or the end of
/// the reply, its fixed size) and what the next step needs.
struct cap_position {
    std::size_t offset = 0;
    std::size_t end = 0;
    std::size_t fixed = 0;
    uapi::vfio_info_cap_header header{};
};

/// Checks the capability at `offset` of `reply` (the readable part: min(size, argsz)): `min_offset` is the first
/// offset it may start at (the end of the reply's struct, or of the previous capability's fixed part), `prev_offset`
/// the previous capability's offset, `field` names where the offset came from ("cap_offset" or "next"). Fills `at`.
template <typename Kind>
[[gnu::always_inline]] constexpr cap_check check_cap(std::span<const std::byte> reply, std::size_t offset, std::size_t min_offset,
                              std::size_t prev_offset, bool first, std::string_view field, cap_position& at) {
    constexpr auto hdr = sizeof(uapi::vfio_info_cap_header);
    if (!first && offset == prev_offset) return {cap_fault::points_at_itself, field};
    if (!first && offset < prev_offset) return {cap_fault::backwards, field};
    // A later capability inside the previous one's fixed part already failed that one's `next` check
    // (next_overlaps); the check stays so that no offset below min_offset is ever read.
    if (offset < min_offset) return {first ? cap_fault::overlaps_struct : cap_fault::next_overlaps, field};
    if (offset % alignof(uapi::vfio_info_cap_header) != 0) return {cap_fault::misaligned, field};
    if (offset > reply.size() || reply.size() - offset < hdr) return {cap_fault::header_past_end, field};
    at.offset = offset;
    at.header = load_at<uapi::vfio_info_cap_header>(reply, offset);
    at.fixed = fixed_size_of_id<Kind>(at.header.id);
    at.end = reply.size();
    // next <= offset: reported by the next step with the right wording (loop / backwards)
    if (at.header.next != 0 && at.header.next > offset) {
        if (at.header.next - offset < at.fixed) return {cap_fault::next_overlaps, "next"};
        at.end = std::min<std::size_t>(at.header.next, reply.size());
    }
    return check_cap_body<Kind>(reply, offset, at.end, at.header.id);
}

/// Reads a checked capability into its view, constructed in place in `out` (a temporary view copied into `out`
/// made GCC assemble it on the stack and copy it with wide loads that wait on the narrow stores).
struct cap_reader {
    template <typename Kind, std::size_t I = 0>
    [[gnu::always_inline]] static void read(std::span<const std::byte> reply, const cap_position& at,
                                            typename Kind::cap_type& out) {
        using variant_type = typename Kind::cap_type;
        using Cap = std::variant_alternative_t<I, variant_type>;
        if constexpr (I + 1 < std::variant_size_v<variant_type>) {  // the last alternative is unknown_cap
            if (at.header.id != Cap::id) return read<Kind, I + 1>(reply, at, out);
        }
        // a fresh variant holding alternative I (trivially destructible: nothing to end), then its fields
        Cap& cap = *std::get_if<I>(std::construct_at(&out, std::in_place_index<I>));
        cap.offset = at.offset;
        cap.bytes = reply.subspan(at.offset, at.end - at.offset);
        cap.value = load_at<decltype(cap.value)>(reply, at.offset);
        if constexpr (array_cap<Cap>) {
            using array_type = std::remove_cvref_t<decltype(cap.elements())>;
            constexpr std::size_t fixed = cap_fixed_size<Cap>();
            const array_type a(reply.subspan(at.offset + fixed, cap.value.*Cap::count_member * sizeof(cap_element_t<Cap>)));
            if constexpr (std::is_same_v<Cap, wire::iova_range_cap>)
                cap.ranges = a;
            else
                cap.areas = a;
        }
    }
};

}  // namespace vfiopp::detail

namespace vfiopp::wire {

/// A validated capability chain of one info reply; iterating yields Kind::cap_type (a std::variant of the typed
/// capability views and unknown_cap). Holds a span of the reply: the buffer must outlive the view.
///   auto chain = region_info_chain::parse(buf);  if (chain) for (auto& cap : *chain) ...
template <typename Kind>
class cap_chain_view {
public:
    using kind_type = Kind;
    using reply_type = typename Kind::reply_type;
    using cap_type = typename Kind::cap_type;

    /// Validates the whole chain of the reply in `reply` (the buffer passed to the ioctl).
    ///   auto chain = iommu_info_chain::parse(std::as_bytes(std::span(buf)));
    [[gnu::always_inline]] static result<cap_chain_view> parse(std::span<const std::byte> reply) {
        if (reply.size() < sizeof(reply_type))
            return vfiopp::detail::refused(Kind::ioctl, "argsz", EINVAL, "reply buffer is shorter than the reply's struct");
        cap_chain_view v;
        v.header_ = vfiopp::detail::load_at<reply_type>(reply, 0);
        const auto argsz = vfiopp::detail::load_at<uapi::u32>(reply, 0);
        v.bytes_ = reply.first(std::min<std::size_t>(reply.size(), argsz));
        v.first_ = first_offset(v.header_);
        if (auto c = v.validate(); !c.ok()) return vfiopp::detail::cap_refusal(Kind::ioctl, c);
        return v;
    }

    /// The reply's fixed struct, copied out of the buffer.
    const reply_type& reply() const { return header_; }
    /// True when the kernel has capabilities to report but the buffer was too small (CAPS flag set, cap_offset 0):
    /// call again with argsz = required_argsz().
    bool truncated() const { return (flags_of(header_) & Kind::caps_flag) && first_ == 0; }
    /// The argsz the kernel asked for when truncated() (the reply's argsz).
    uapi::u32 required_argsz() const { return vfiopp::detail::load_at<uapi::u32>(std::as_bytes(std::span(&header_, 1)), 0); }
    /// The reply's readable bytes: min(buffer size, argsz).
    std::span<const std::byte> bytes() const { return bytes_; }

    /// Iterates the capabilities in chain order; yields cap_type by value.
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using iterator_concept = std::forward_iterator_tag;
        using value_type = cap_type;
        using difference_type = std::ptrdiff_t;
        using reference = const cap_type&;
        using pointer = const cap_type*;

        iterator() noexcept {}
        const cap_type& operator*() const { return slot_.cap; }
        const cap_type* operator->() const { return &slot_.cap; }
        [[gnu::always_inline]] iterator& operator++() {
            if (at_.header.next == 0) valid_ = false;
            else step(at_.header.next, at_.offset + at_.fixed, at_.offset, false, "next");
            return *this;
        }
        iterator operator++(int) { auto t = *this; ++*this; return t; }
        friend bool operator==(const iterator& a, const iterator& b) {
            return a.valid_ == b.valid_ && (!a.valid_ || a.at_.offset == b.at_.offset);
        }

    private:
        friend class cap_chain_view;
        /// Moves to the capability at offset; the checks are parse()'s (they cannot fail on a chain parse()
        /// accepted, and a failure ends the walk rather than reading out of bounds).
        [[gnu::always_inline]] void step(std::size_t offset, std::size_t min_offset, std::size_t prev_offset, bool first, std::string_view field) {
            vfiopp::detail::cap_position at;
            valid_ = vfiopp::detail::check_cap<Kind>(bytes_, offset, min_offset, prev_offset, first, field, at).ok();
            if (!valid_) return;
            at_ = at;
            vfiopp::detail::cap_reader::read<Kind>(bytes_, at_, slot_.cap);
        }
        /// The current capability, constructed by step() only: an end iterator (and every iterator before its
        /// first step) leaves it unconstructed instead of zeroing it. Copying copies its bytes (the view types are
        /// trivially copyable).
        union slot {
            slot() noexcept {}
            cap_type cap;
        };
        static_assert(std::is_trivially_copyable_v<cap_type> && std::is_trivially_destructible_v<cap_type>);
        std::span<const std::byte> bytes_;
        vfiopp::detail::cap_position at_;
        bool valid_ = false;
        slot slot_;
    };

    [[gnu::always_inline]] iterator begin() const {
        iterator it;
        it.bytes_ = bytes_;
        if (first_ != 0) it.step(first_, sizeof(reply_type), 0, true, "cap_offset");
        return it;
    }
    iterator end() const { return iterator{}; }
    bool empty() const { return first_ == 0; }
    /// Number of capabilities (walks the chain).
    std::size_t size() const { return static_cast<std::size_t>(std::distance(begin(), end())); }

    /// The first capability of type Cap, or nullopt: `if (auto r = chain.find<iova_range_cap>()) ...`.
    template <typename Cap>
    [[gnu::always_inline]] std::optional<Cap> find() const {
        for (const auto& c : *this)
            if (auto p = std::get_if<Cap>(&c)) return *p;
        return std::nullopt;
    }

private:
    static uapi::u32 flags_of(const reply_type& r) {
        return vfiopp::detail::load_at<uapi::u32>(std::as_bytes(std::span(&r, 1)), 4);
    }
    static std::size_t first_offset(const reply_type& r) {
        if (!(flags_of(r) & Kind::caps_flag)) return 0;  // no chain; cap_offset may be stale user data
        return r.cap_offset;
    }
    /// Walks the chain once, checking every rule; the first failed check.
    [[gnu::always_inline]] vfiopp::detail::cap_check validate() const {
        if (first_ == 0) return {};
        vfiopp::detail::cap_position at;
        if (auto c = vfiopp::detail::check_cap<Kind>(bytes_, first_, sizeof(reply_type), 0, true, "cap_offset", at); !c.ok())
            return c;
        while (at.header.next != 0) {
            const std::size_t prev = at.offset;
            if (auto c = vfiopp::detail::check_cap<Kind>(bytes_, at.header.next, prev + at.fixed, prev, false, "next", at);
                !c.ok())
                return c;
        }
        return {};
    }

    reply_type header_{};
    std::span<const std::byte> bytes_;
    std::size_t first_ = 0;
};

/// The capability chain of a mainline VFIO_IOMMU_GET_INFO reply.
using iommu_info_chain = cap_chain_view<iommu_info_caps>;
/// The capability chain of a VFIO_IOMMU_GET_INFO reply under the 2020 proposal (v7): id 3 is NESTING.
using iommu_info_chain_v7 = cap_chain_view<iommu_info_caps_v7>;
/// The capability chain of a VFIO_DEVICE_GET_INFO reply.
using device_info_chain = cap_chain_view<device_info_caps>;
/// The capability chain of a VFIO_DEVICE_GET_REGION_INFO reply.
using region_info_chain = cap_chain_view<region_info_caps>;

/// Reads a capability chain from a reply buffer: `auto chain = parse_caps<iommu_info_caps>(buf);`.
template <typename Kind>
result<cap_chain_view<Kind>> parse_caps(std::span<const std::byte> reply) {
    return cap_chain_view<Kind>::parse(reply);
}

}  // namespace vfiopp::wire
