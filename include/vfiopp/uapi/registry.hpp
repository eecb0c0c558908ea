// vfiopp/uapi/registry.hpp - every mirrored ioctl in one constexpr table, for lookup, printing and decoding.
//
// The four ioctl lists (vfio::all_ioctls, iommufd::all_ioctls, seed::all_ioctls, v7::all_ioctls) are
//  - concatenated into `all_ioctl_defs`, a tuple of the typed ioctl_def<Arg> objects, and
//  - type-erased into `ioctl_registry`, a constexpr array of ioctl_info sorted by (code, fd, abi), with the
//    kernel name, code, fd, argument passing, ABI, mirror header, argument type name and size, and `since`.
// Lookups: find_ioctl(code, fd, abi) is exact; find_ioctl(code, fd), find_ioctl(code, abi), find_ioctls(code)
// and find_ioctl(name) return every match (ioctl_matches), because request codes are reused: across fds
// (VFIO_IOMMU_GET_INFO on a container == VFIO_DEVICE_GET_PCI_HOT_RESET_INFO on a device, both 0x3b70) and across
// ABIs (the 2020 proposal's v7 VFIO_IOMMU_PASID_REQUEST == mainline VFIO_DEVICE_BIND_IOMMUFD, 0x3b76), and the
// proposal's two revisions share names. visit_ioctl(...) hands the typed ioctl_def to a generic callable, so
// printers and decoders are written once for every ioctl.
//
// Checked at compile time: no two entries share (code, fd, abi) or (name, abi); each list's `since` table (read
// from the same X-macro list) lines up with its all_ioctls tuple.
//
// What vfiopp leaves out of the mirrors on purpose (POWER SPAPR/EEH and s390) is listed in left_out_ioctls and
// left_out_structs; the coverage test (tests/docs) checks that every ioctl of the 7.3 headers is either in the
// registry or in left_out_ioctls, and docs/uapi.md is generated from this file by tools/uapi-doc.cpp.
#pragma once

#include <vfiopp/uapi/all_ioctls.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace vfiopp::uapi {

/// The mirror header (and ioctl namespace) an ioctl is declared in.
enum class uapi_header : u8 {
    vfio,     ///< <vfiopp/uapi/vfio.hpp>: linux/vfio.h (7.3), namespace vfio
    iommufd,  ///< <vfiopp/uapi/iommufd.hpp>: linux/iommufd.h (7.3), namespace iommufd
    seed,     ///< <vfiopp/uapi/vfio_nesting.hpp>: the 2020 proposal as in the seed email, namespace seed
    v7,       ///< <vfiopp/uapi/vfio_nesting.hpp>: the 2020 proposal's v7 (final) revision, namespace v7
};
inline constexpr std::array all_uapi_headers{uapi_header::vfio, uapi_header::iommufd, uapi_header::seed,
                                             uapi_header::v7};

/// The ioctl namespace of a mirror header: `to_string(uapi_header::v7) == "v7"`.
constexpr std::string_view to_string(uapi_header h) {
    switch (h) {
        case uapi_header::vfio: return "vfio";
        case uapi_header::iommufd: return "iommufd";
        case uapi_header::seed: return "seed";
        case uapi_header::v7: return "v7";
    }
    return "?";
}

/// What a mirror header mirrors: `source_of(uapi_header::vfio) == "linux/vfio.h (Linux 7.3)"`.
constexpr std::string_view source_of(uapi_header h) {
    switch (h) {
        case uapi_header::vfio: return "linux/vfio.h (Linux 7.3)";
        case uapi_header::iommufd: return "linux/iommufd.h (Linux 7.3)";
        case uapi_header::seed: return "2020 VFIO vSVA proposal, seed email (Yi Liu, 16 Apr 2020)";
        case uapi_header::v7: return "2020 VFIO vSVA proposal, v7 (10 Sep 2020, final revision)";
    }
    return "?";
}

/// One mirrored ioctl, type-erased: what printing, decoding and lookups need at run time.
///   const ioctl_info* i = find_ioctl(0x3b6c, fd_kind::device, abi_kind::mainline);  // i->name == "VFIO_DEVICE_GET_REGION_INFO"
struct ioctl_info {
    std::string_view name{};           ///< kernel macro name: "VFIO_DEVICE_GET_REGION_INFO"
    std::string_view cxx_name{};       ///< the ioctl_def object in its header's namespace: "device_get_region_info"
    u32 code = 0;                    ///< request code, _IO(type, nr)
    fd_kind fd = fd_kind::container;
    arg_kind arg = arg_kind::none;
    abi_kind abi = abi_kind::mainline;
    uapi_header header = uapi_header::vfio;
    std::string_view arg_type_name{};  ///< mirror type of the pointed-to argument ("vfio_region_info"); "" if none
    std::size_t arg_size = 0;        ///< sizeof the mirror type; 0 if none
    bool arg_has_flex = false;       ///< the argument ends in a flexible array member (VFIOPP_FLEX)
    return_spec ret{};               ///< what a successful call gives back (status, value, new fd, fd in an out field)
    std::string_view since{};          ///< SINCE token of the list: "k6_1" (6.1 or older), "k6_8", "never" (proposal)
    std::size_t def_index = 0;       ///< index of the typed ioctl_def in all_ioctl_defs
};

/// An ioctl of the 7.3 headers that vfiopp does not mirror, on purpose.
struct left_out_ioctl {
    std::string_view name;      ///< kernel macro name
    u32 code;
    fd_kind fd;
    std::string_view platform;  ///< "POWER" or "s390"
    std::string_view reason;
};

/// A struct of the 7.3 headers that vfiopp does not mirror, on purpose.
struct left_out_struct {
    std::string_view name;      ///< kernel struct name
    std::string_view platform;  ///< "POWER" or "s390"
    std::string_view reason;
};

/// Every ioctl of linux/vfio.h 7.3 that is not mirrored: the POWER-only SPAPR TCE IOMMU and EEH ioctls. Their
/// codes reuse type1 container codes (SPAPR_TCE_GET_INFO == IOMMU_GET_INFO), so they could not even be told apart
/// on a container fd without knowing its IOMMU type. linux/iommufd.h leaves nothing out; vfio.h has no s390 ioctl.
///   for (auto& l : left_out_ioctls) fmt::print("{} ({})\n", l.name, l.platform);
inline constexpr std::array left_out_ioctls{
    left_out_ioctl{"VFIO_IOMMU_SPAPR_TCE_GET_INFO", io(';', 100 + 12), fd_kind::container, "POWER",
                   "SPAPR TCE IOMMU (ppc64 only)"},
    left_out_ioctl{"VFIO_IOMMU_SPAPR_REGISTER_MEMORY", io(';', 100 + 17), fd_kind::container, "POWER",
                   "SPAPR TCE IOMMU v2 (ppc64 only)"},
    left_out_ioctl{"VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY", io(';', 100 + 18), fd_kind::container, "POWER",
                   "SPAPR TCE IOMMU v2 (ppc64 only)"},
    left_out_ioctl{"VFIO_IOMMU_SPAPR_TCE_CREATE", io(';', 100 + 19), fd_kind::container, "POWER",
                   "SPAPR TCE IOMMU v2 (ppc64 only)"},
    left_out_ioctl{"VFIO_IOMMU_SPAPR_TCE_REMOVE", io(';', 100 + 20), fd_kind::container, "POWER",
                   "SPAPR TCE IOMMU v2 (ppc64 only)"},
    left_out_ioctl{"VFIO_EEH_PE_OP", io(';', 100 + 21), fd_kind::container, "POWER",
                   "EEH error recovery (ppc64 only)"},
};

/// Every struct of linux/vfio.h 7.3 that is not mirrored, on purpose (POWER SPAPR/EEH, s390 zPCI).
///   bool skipped = std::ranges::any_of(left_out_structs, [](auto& s) { return s.name == "vfio_eeh_pe_op"; });
inline constexpr std::array left_out_structs{
    left_out_struct{"vfio_iommu_spapr_tce_ddw_info", "POWER", "argument of a left-out SPAPR ioctl"},
    left_out_struct{"vfio_iommu_spapr_tce_info", "POWER", "argument of a left-out SPAPR ioctl"},
    left_out_struct{"vfio_iommu_spapr_register_memory", "POWER", "argument of a left-out SPAPR ioctl"},
    left_out_struct{"vfio_iommu_spapr_tce_create", "POWER", "argument of a left-out SPAPR ioctl"},
    left_out_struct{"vfio_iommu_spapr_tce_remove", "POWER", "argument of a left-out SPAPR ioctl"},
    left_out_struct{"vfio_eeh_pe_err", "POWER", "argument of the left-out VFIO_EEH_PE_OP"},
    left_out_struct{"vfio_eeh_pe_op", "POWER", "argument of the left-out VFIO_EEH_PE_OP"},
    left_out_struct{"vfio_device_feature_zpci_err", "s390", "zPCI error-injection feature (s390 only)"},
};

}  // namespace vfiopp::uapi

namespace vfiopp::detail {

/// One entry of an ioctl X-macro list, as text: what the typed ioctl_def does not carry.
struct ioctl_meta {
    std::string_view cxx_name;
    std::string_view kernel_name;
    std::string_view since;
};

}  // namespace vfiopp::detail

// Each list is expanded once more here, only stringizing (no argument is evaluated); a sentinel entry ends each
// array so that an empty list still declares one.
#define VFIOPP_DETAIL_IOCTL_META(n, K, type, nr, fd, arg, A, ret, since) ::vfiopp::detail::ioctl_meta{#n, #K, #since},

namespace vfiopp::detail {

inline constexpr ioctl_meta ioctl_meta_vfio[] = {VFIOPP_IOCTLS_vfio(VFIOPP_DETAIL_IOCTL_META) ioctl_meta{}};
inline constexpr ioctl_meta ioctl_meta_iommufd[] = {VFIOPP_IOCTLS_iommufd(VFIOPP_DETAIL_IOCTL_META) ioctl_meta{}};
inline constexpr ioctl_meta ioctl_meta_seed[] = {VFIOPP_IOCTLS_seed(VFIOPP_DETAIL_IOCTL_META) ioctl_meta{}};
inline constexpr ioctl_meta ioctl_meta_v7[] = {VFIOPP_IOCTLS_v7(VFIOPP_DETAIL_IOCTL_META) ioctl_meta{}};

static_assert(std::size(ioctl_meta_vfio) - 1 == std::tuple_size_v<decltype(uapi::vfio::all_ioctls)>);
static_assert(std::size(ioctl_meta_iommufd) - 1 == std::tuple_size_v<decltype(uapi::iommufd::all_ioctls)>);
static_assert(std::size(ioctl_meta_seed) - 1 == std::tuple_size_v<decltype(uapi::seed::all_ioctls)>);
static_assert(std::size(ioctl_meta_v7) - 1 == std::tuple_size_v<decltype(uapi::v7::all_ioctls)>);

/// Not constexpr on purpose: a constant-evaluated check that reaches it fails to compile, naming `what`.
inline void compile_time_check_failed(const char* what) noexcept { (void)what; }

// Reached only if a list's all_ioctls tuple and its X-macro list disagree (they cannot while both come from
// VFIOPP_IOCTL_DEFS): calling a non-constexpr function ends constant evaluation (a throw would too, but the headers
// must compile with -fno-exceptions).
constexpr void ioctl_list_mismatch(std::string_view def_name, std::string_view list_name) {
    if (def_name != list_name) compile_time_check_failed("vfiopp: an all_ioctls tuple does not follow its X-macro list");
}

/// A type's name in the kernel's spelling where it has one (`__u32`), else its C++ name without namespaces.
template <typename T>
constexpr std::string_view pretty_type_name() {
#if defined(__clang__) || defined(__GNUC__)
    std::string_view f = __PRETTY_FUNCTION__;
    // GCC: "... [with T = vfiopp::uapi::x; std::string_view = ...]"; Clang: "... [T = vfiopp::uapi::x]"
    auto b = f.find("T = ");
    if (b == std::string_view::npos) return "?";
    f.remove_prefix(b + 4);
    f = f.substr(0, std::min(f.find(';'), f.find(']')));
    for (std::string_view ns : {"vfiopp::uapi::", "std::"})
        if (f.starts_with(ns)) f.remove_prefix(ns.size());
    return f;
#else
    return "?";
#endif
}

template <typename T>
constexpr std::string_view arg_type_name() {
    if constexpr (std::is_same_v<T, uapi::no_arg>)
        return "";
    else if constexpr (uapi::described<T>)
        return uapi::layout_of<T>.name;
    else if constexpr (std::is_same_v<T, char>)
        return "char";
    else if constexpr (std::is_integral_v<T>) {
        constexpr std::array<std::string_view, 4> u{"__u8", "__u16", "__u32", "__u64"};
        constexpr std::array<std::string_view, 4> s{"__s8", "__s16", "__s32", "__s64"};
        constexpr std::size_t i = sizeof(T) == 1 ? 0 : sizeof(T) == 2 ? 1 : sizeof(T) == 4 ? 2 : 3;
        return std::is_signed_v<T> ? s[i] : u[i];
    } else
        return pretty_type_name<T>();
}

template <typename A>
constexpr uapi::ioctl_info make_ioctl_info(const uapi::ioctl_def<A>& d, const ioctl_meta& m, uapi::uapi_header h,
                                           std::size_t def_index) {
    if (d.name != m.kernel_name) ioctl_list_mismatch(d.name, m.kernel_name);
    uapi::ioctl_info i{};
    i.name = d.name;
    i.cxx_name = m.cxx_name;
    i.code = d.code;
    i.fd = d.fd;
    i.arg = d.arg;
    i.abi = d.abi;
    i.header = h;
    i.arg_type_name = arg_type_name<A>();
    if constexpr (!std::is_same_v<A, uapi::no_arg>) i.arg_size = sizeof(A);
    if constexpr (uapi::has_flexible_array<A>) i.arg_has_flex = true;
    i.since = m.since;
    i.ret = d.ret;
    i.def_index = def_index;
    return i;
}

template <std::size_t Offset, typename Tuple, std::size_t M>
constexpr auto make_ioctl_infos(const Tuple& defs, const ioctl_meta (&meta)[M], uapi::uapi_header h) {
    constexpr std::size_t n = std::tuple_size_v<Tuple>;
    static_assert(M == n + 1, "vfiopp: an ioctl list and its all_ioctls tuple differ in length");
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return std::array<uapi::ioctl_info, n>{make_ioctl_info(std::get<I>(defs), meta[I], h, Offset + I)...};
    }(std::make_index_sequence<n>{});
}

template <std::size_t... N>
constexpr auto concat_infos(const std::array<uapi::ioctl_info, N>&... parts) {
    std::array<uapi::ioctl_info, (N + ... + 0)> out{};
    std::size_t at = 0;
    ((std::copy(parts.begin(), parts.end(), out.begin() + at), at += N), ...);
    return out;
}

constexpr bool code_order(const uapi::ioctl_info& a, const uapi::ioctl_info& b) {
    if (a.code != b.code) return a.code < b.code;
    if (a.fd != b.fd) return a.fd < b.fd;
    return a.abi < b.abi;
}

inline constexpr std::size_t n_vfio = std::tuple_size_v<decltype(uapi::vfio::all_ioctls)>;
inline constexpr std::size_t n_iommufd = std::tuple_size_v<decltype(uapi::iommufd::all_ioctls)>;
inline constexpr std::size_t n_seed = std::tuple_size_v<decltype(uapi::seed::all_ioctls)>;

constexpr auto build_registry() {
    auto all = concat_infos(
        make_ioctl_infos<0>(uapi::vfio::all_ioctls, ioctl_meta_vfio, uapi::uapi_header::vfio),
        make_ioctl_infos<n_vfio>(uapi::iommufd::all_ioctls, ioctl_meta_iommufd, uapi::uapi_header::iommufd),
        make_ioctl_infos<n_vfio + n_iommufd>(uapi::seed::all_ioctls, ioctl_meta_seed, uapi::uapi_header::seed),
        make_ioctl_infos<n_vfio + n_iommufd + n_seed>(uapi::v7::all_ioctls, ioctl_meta_v7, uapi::uapi_header::v7));
    std::sort(all.begin(), all.end(), code_order);
    return all;
}

/// Index of the first entry of a sorted registry whose (code, fd, abi) equals its predecessor's, or N.
template <std::size_t N>
constexpr std::size_t first_duplicate_code(const std::array<uapi::ioctl_info, N>& r) {
    for (std::size_t i = 1; i < N; ++i)
        if (r[i - 1].code == r[i].code && r[i - 1].fd == r[i].fd && r[i - 1].abi == r[i].abi) return i;
    return N;
}

/// Index of the first entry whose (name, abi) an earlier entry has too, or N.
template <std::size_t N>
constexpr std::size_t first_duplicate_name(const std::array<uapi::ioctl_info, N>& r) {
    for (std::size_t j = 0; j < N; ++j)
        for (std::size_t i = 0; i < j; ++i)
            if (r[i].name == r[j].name && r[i].abi == r[j].abi) return j;
    return N;
}

// Reached only when a check fails: the non-constexpr call ends constant evaluation, and Clang's note on the call shows the
// offending kernel names ("in call to 'duplicate_ioctl_code_fd_abi({20, &"VFIO_..."[0]}, ...)'").
constexpr bool duplicate_ioctl_code_fd_abi(std::string_view first, std::string_view second) {
    if (!first.empty() || !second.empty()) compile_time_check_failed("vfiopp: two mirrored ioctls have the same (code, fd, abi)");
    return false;
}
constexpr bool duplicate_ioctl_name_abi(std::string_view name) {
    if (!name.empty()) compile_time_check_failed("vfiopp: a kernel name is mirrored twice in one ABI");
    return false;
}

/// The most entries that share one code in a table sorted by code.
constexpr std::size_t max_entries_per_code(std::span<const uapi::ioctl_info> table) {
    std::size_t most = 0;
    for (std::size_t b = 0, e = 0; b < table.size(); b = e) {
        while (e < table.size() && table[e].code == table[b].code) ++e;
        most = std::max(most, e - b);
    }
    return most;
}

/// True when no two entries share (code, fd, abi) or (name, abi); fails constant evaluation naming them if not.
template <std::size_t N>
constexpr bool registry_is_unique(const std::array<uapi::ioctl_info, N>& r) {
    if (auto i = first_duplicate_code(r); i != N) return duplicate_ioctl_code_fd_abi(r[i - 1].name, r[i].name);
    if (auto i = first_duplicate_name(r); i != N) return duplicate_ioctl_name_abi(r[i].name);
    return true;
}

}  // namespace vfiopp::detail

namespace vfiopp::uapi {

/// Every mirrored ioctl_def, typed, in list order: vfio, iommufd, seed, v7.
///   std::apply([](const auto&... d) { (fmt::print("{}\n", d.name), ...); }, all_ioctl_defs);
inline constexpr auto all_ioctl_defs =
    std::tuple_cat(vfio::all_ioctls, iommufd::all_ioctls, seed::all_ioctls, v7::all_ioctls);

/// Every mirrored ioctl, type-erased and sorted by (code, fd, abi).
///   for (const ioctl_info& i : ioctl_registry) fmt::print("{:#x} {}\n", i.code, i.name);
inline constexpr auto ioctl_registry = detail::build_registry();

static_assert(ioctl_registry.size() == std::tuple_size_v<decltype(all_ioctl_defs)>);
// No two entries share (code, fd, abi) or (name, abi).
static_assert(detail::registry_is_unique(ioctl_registry), "vfiopp: two mirrored ioctls collide (see the notes)");

/// How many ioctls a mirror header declares: `ioctl_count(uapi_header::iommufd)`.
constexpr std::size_t ioctl_count(uapi_header h) {
    return static_cast<std::size_t>(
        std::count_if(ioctl_registry.begin(), ioctl_registry.end(), [h](const ioctl_info& i) { return i.header == h; }));
}

/// The entries a lookup found; more than one means the lookup was ambiguous (the code is reused).
///   auto m = find_ioctl(0x3b76, fd_kind::container);  if (m.ambiguous()) ...;  if (auto* i = m.unique()) ...
class ioctl_matches {
public:
    /// Most entries one code can have; a static_assert below proves no code of the registry has more.
    static constexpr std::size_t capacity = 16;

    constexpr std::size_t size() const { return n_; }
    constexpr bool empty() const { return n_ == 0; }
    /// More than one entry matched: the caller must say which fd or ABI it means.
    constexpr bool ambiguous() const { return n_ > 1; }
    /// The single match, or nullptr when none or several matched.
    constexpr const ioctl_info* unique() const { return n_ == 1 ? items_[0] : nullptr; }
    constexpr const ioctl_info& operator[](std::size_t i) const { return *items_[i]; }
    constexpr const ioctl_info* const* begin() const { return items_.data(); }
    constexpr const ioctl_info* const* end() const { return items_.data() + n_; }

    /// Adds an entry (used by the lookups); entries beyond capacity are dropped, which the static_assert on
    /// max_entries_per_code rules out for the registry.
    constexpr void add(const ioctl_info& i) {
        if (n_ < capacity) items_[n_++] = &i;
    }

private:
    std::array<const ioctl_info*, capacity> items_{};
    std::size_t n_ = 0;
};

static_assert(detail::max_entries_per_code(ioctl_registry) <= ioctl_matches::capacity,
              "vfiopp: more ioctls share one code than ioctl_matches can hold; raise its capacity");

/// Every entry with this code, on any fd and in any ABI, from a sorted table (ioctl_registry by default).
///   for (const ioctl_info* i : find_ioctls(0x3b70)) fmt::print("{} on {}\n", i->name, to_string(i->fd));
constexpr ioctl_matches find_ioctls(u32 code, std::span<const ioctl_info> table = ioctl_registry) {
    ioctl_matches m;
    auto lo = std::lower_bound(table.begin(), table.end(), code,
                               [](const ioctl_info& i, u32 c) { return i.code < c; });
    for (; lo != table.end() && lo->code == code; ++lo) m.add(*lo);
    return m;
}

/// Every entry with this code on this fd kind, in any ABI.
///   if (auto* i = find_ioctl(0x3b6c, fd_kind::device).unique()) use(i->name);
constexpr ioctl_matches find_ioctl(u32 code, fd_kind fd, std::span<const ioctl_info> table = ioctl_registry) {
    ioctl_matches m;
    for (const ioctl_info* i : find_ioctls(code, table))
        if (i->fd == fd) m.add(*i);
    return m;
}

/// Every entry with this code in this ABI, on any fd kind.
///   find_ioctl(0x3b76, abi_kind::v7).unique()->name == "VFIO_IOMMU_PASID_REQUEST"
constexpr ioctl_matches find_ioctl(u32 code, abi_kind abi, std::span<const ioctl_info> table = ioctl_registry) {
    ioctl_matches m;
    for (const ioctl_info* i : find_ioctls(code, table))
        if (i->abi == abi) m.add(*i);
    return m;
}

/// The entry with this code, fd kind and ABI, or nullptr; never ambiguous.
///   find_ioctl(0x3b70, fd_kind::container, abi_kind::mainline)->name == "VFIO_IOMMU_GET_INFO"
constexpr const ioctl_info* find_ioctl(u32 code, fd_kind fd, abi_kind abi,
                                       std::span<const ioctl_info> table = ioctl_registry) {
    for (const ioctl_info* i : find_ioctls(code, table))
        if (i->fd == fd && i->abi == abi) return i;
    return nullptr;
}

/// Every entry with this kernel name; the proposal's revisions share names (VFIO_IOMMU_PASID_REQUEST).
///   find_ioctl("VFIO_DEVICE_GET_REGION_INFO").unique()->code == 0x3b6c
constexpr ioctl_matches find_ioctl(std::string_view name, std::span<const ioctl_info> table = ioctl_registry) {
    ioctl_matches m;
    for (const ioctl_info& i : table)
        if (i.name == name) m.add(i);
    return m;
}

/// The entry with this kernel name in this ABI, or nullptr.
///   find_ioctl("VFIO_IOMMU_PASID_REQUEST", abi_kind::seed)->code == 0x3b7a
constexpr const ioctl_info* find_ioctl(std::string_view name, abi_kind abi,
                                       std::span<const ioctl_info> table = ioctl_registry) {
    for (const ioctl_info& i : table)
        if (i.name == name && i.abi == abi) return &i;
    return nullptr;
}

/// Calls fn(def) with the typed ioctl_def<Arg> an ioctl_info of ioctl_registry stands for; false if none.
///   visit_ioctl(*info, [](const auto& d) { using A = typename std::decay_t<decltype(d)>::arg_type; ... });
template <typename Fn>
constexpr bool visit_ioctl(const ioctl_info& info, Fn&& fn) {
    constexpr std::size_t n = std::tuple_size_v<decltype(all_ioctl_defs)>;
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return ((info.def_index == I ? (static_cast<void>(fn(std::get<I>(all_ioctl_defs))), true) : false) || ...);
    }(std::make_index_sequence<n>{});
}

/// Calls fn(def) with the typed ioctl_def of (code, fd, abi); returns false (fn not called) if none is mirrored.
///   visit_ioctl(req, fd_kind::device, abi_kind::mainline, [&](const auto& d) { print_arg(d, arg_ptr); });
template <typename Fn>
constexpr bool visit_ioctl(u32 code, fd_kind fd, abi_kind abi, Fn&& fn) {
    const ioctl_info* i = find_ioctl(code, fd, abi);
    return i != nullptr && visit_ioctl(*i, std::forward<Fn>(fn));
}

/// Calls fn(def) for every mirrored typed ioctl_def, in list order (vfio, iommufd, seed, v7).
///   for_each_ioctl([&](const auto& d) { ++n; });
template <typename Fn>
constexpr void for_each_ioctl(Fn&& fn) {
    std::apply([&](const auto&... d) { (static_cast<void>(fn(d)), ...); }, all_ioctl_defs);
}

}  // namespace vfiopp::uapi
