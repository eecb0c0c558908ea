// vfio-nesting - the 2020 VFIO vSVA proposal from the command line: PASID requests and nesting ops in either of its
// ABI revisions on a VFIO container, or the same operations realised on iommufd; with --dry-run, the exact ioctl
// image, annotated field by field, and what the 2020 kernel would have answered (the model of
// <vfiopp/wire/nesting_rules.hpp>), without touching a device.
//
//   vfio-nesting --abi v7 --dry-run bind --hpasid 5 --gpgd 0x1000 --sre          the image, and the model's verdict
//   vfio-nesting --abi seed --dry-run invalidate --cache iotlb --granularity pasid --pasid 5
//   vfio-nesting --abi v7 --group 12 pasid-alloc 1 1000                         on /dev/vfio/vfio with group 12
//   vfio-nesting --abi iommufd --device /dev/vfio/devices/vfio0 session          alloc, bind, invalidate, unbind, free
//
// seed and v7 go through proposal::probe() and proposal::container_backend<Abi> on a container with a group attached
// (a container without an IOMMU model answers EINVAL to every unknown ioctl, so --group is required). No mainline
// kernel implements the proposal: the kernel answers ENOTTY, reported as "this kernel does not implement the 2020
// proposal" (proposal::not_supported), exit 3. iommufd goes through proposal::iommufd_backend<> with a
// proposal::device_port on a VFIO cdev: the stage-2 parent (IOMMU_HWPT_ALLOC with NEST_PARENT) is allocated first,
// and an IOMMU that cannot nest answers EOPNOTSUPP (exit 3). The iommufd backend's PASID table lives in this
// process: one process is one session, so `bind` allocates its --hpasid first and everything is undone at exit;
// `session` runs the whole sequence.
//
// Exit status: 0 done (dry run: built, and the model accepts it); 1 refused before any ioctl: by vfiopp's builders
// or translation (the error names the field), or in a dry run by the model; 2 usage; 3 the kernel does not support
// it (ENOTTY from the proposal's ioctls, EOPNOTSUPP from the kernel); 4 any other failure (open, kernel errors).
#include <vfiopp/fmt.hpp>
#include <vfiopp/fmt_error.hpp>
#include <vfiopp/group.hpp>
#include <vfiopp/proposal.hpp>
#include <vfiopp/unique_fd.hpp>
#include <vfiopp/wire/nesting.hpp>
#include <vfiopp/wire/nesting_rules.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <fcntl.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

namespace uapi = vfiopp::uapi;
namespace wire = vfiopp::wire;
namespace rules = vfiopp::wire::rules;
namespace proposal = vfiopp::proposal;
using vfiopp::error;
using vfiopp::result;

constexpr int exit_ok = 0;
constexpr int exit_refused = 1;
constexpr int exit_usage = 2;
constexpr int exit_unsupported = 3;
constexpr int exit_failed = 4;

/// The seed frees one PASID per request: how many a `pasid-free MIN MAX` range may span.
constexpr std::uint32_t seed_free_max = 64;

enum class command { pasid_alloc, pasid_free, bind, unbind, invalidate, session };

/// The command line, parsed.
struct options {
    std::string abi;
    bool dry_run = false;
    std::string container = "/dev/vfio/vfio";
    unsigned group = 0;
    bool group_given = false;
    std::string device;
    std::string model_features = "syswide_pasid,bind_pgtbl,cache_invld";
    bool model_no_nesting = false;
    bool model_no_pasid_set = false;
    command cmd = command::session;
    // pasid-alloc / pasid-free MIN MAX; session --min --max
    std::uint32_t min = 1;
    std::uint32_t max = 1000;
    // bind / unbind (session: the bind's table)
    std::uint64_t hpasid = 0;
    std::uint64_t gpgd = 0x100000;
    std::uint32_t addr_width = 48;
    std::uint64_t gpasid = 0;
    bool gpasid_given = false;
    std::uint32_t format = static_cast<std::uint32_t>(uapi::iommu_pasid_format::intel_vtd);
    bool sre = false, eafe = false, pcd = false, pwt = false, emte = false, cd = false;
    std::uint32_t pat = 0, emt = 0;
    // invalidate
    std::string cache;
    std::string granularity;
    std::uint64_t pasid = 0;
    bool pasid_given = false;
    std::uint32_t archid = 0;
    bool archid_given = false;
    std::uint64_t addr = 0;
    std::uint64_t granule_size = 4096;
    std::uint64_t nb_granules = 1;
    bool addr_given = false;
    bool leaf = false;
};

// ---- payloads from the command line ----

/// A comma-separated list of names of the flag family E (C++ or kernel names), or nullopt with `bad` set.
template <typename E>
std::optional<uapi::bitmask<E>> parse_flags(std::string_view list, std::string& bad) {
    uapi::bitmask<E> m;
    while (!list.empty()) {
        const auto comma = list.find(',');
        const auto name = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (name.empty()) continue;
        auto v = uapi::enum_from_name<E>(name);
        if (!v) {
            bad = std::string(name);
            return std::nullopt;
        }
        m |= *v;
    }
    return m;
}

/// The names of an enum family, for messages: "iotlb, dev_iotlb, pasid".
template <typename E>
std::string names_of() {
    std::string s;
    for (const auto& e : uapi::enum_entries<E>) s += (s.empty() ? "" : ", ") + std::string(e.name);
    return s;
}

/// The BIND_PGTBL / UNBIND_PGTBL payload the options describe (argsz and version are the builders').
uapi::iommu_gpasid_bind_data bind_data(const options& o) {
    using f = uapi::iommu_gpasid_vtd_flag;
    uapi::iommu_gpasid_bind_data b{};
    b.format = static_cast<uapi::iommu_pasid_format>(o.format);
    b.addr_width = o.addr_width;
    b.gpgd = o.gpgd;
    b.hpasid = o.hpasid;
    if (o.gpasid_given) {
        b.flags = uapi::iommu_gpasid_bind_flag::gpasid_val;
        b.gpasid = o.gpasid;
    }
    uapi::bitmask<f> v;
    if (o.sre) v |= f::sre;
    if (o.eafe) v |= f::eafe;
    if (o.pcd) v |= f::pcd;
    if (o.pwt) v |= f::pwt;
    if (o.emte) v |= f::emte;
    if (o.cd) v |= f::cd;
    b.vendor.vtd.flags = v;
    b.vendor.vtd.pat = o.pat;
    b.vendor.vtd.emt = o.emt;
    return b;
}

/// The CACHE_INVLD payload the options describe, or nullopt after printing the usage error.
std::optional<uapi::iommu_cache_invalidate_info> cache_info(const options& o) {
    std::string bad;
    auto cache = parse_flags<uapi::iommu_cache_inv_type>(o.cache, bad);
    if (!cache) {
        fmt::print(stderr, "vfio-nesting: --cache: '{}' is not a cache ({})\n", bad, names_of<uapi::iommu_cache_inv_type>());
        return std::nullopt;
    }
    auto g = uapi::enum_from_name<uapi::iommu_inv_granularity>(o.granularity);
    if (!g) {
        fmt::print(stderr, "vfio-nesting: --granularity: '{}' is not one of {}\n", o.granularity,
                   names_of<uapi::iommu_inv_granularity>());
        return std::nullopt;
    }
    if ((o.addr_given || o.leaf) && *g != uapi::iommu_inv_granularity::addr) {
        fmt::print(stderr, "vfio-nesting: --addr, --granule-size, --nb-granules and --leaf need --granularity addr\n");
        return std::nullopt;
    }
    if ((o.pasid_given || o.archid_given) && *g == uapi::iommu_inv_granularity::domain) {
        fmt::print(stderr, "vfio-nesting: --pasid and --archid need --granularity pasid or addr\n");
        return std::nullopt;
    }
    uapi::iommu_cache_invalidate_info i{};
    i.cache = *cache;
    i.granularity = *g;
    if (*g == uapi::iommu_inv_granularity::pasid) {
        auto& p = i.granu.pasid_info;
        p = {};
        if (o.pasid_given) {
            p.flags |= uapi::iommu_inv_pasid_flag::pasid;
            p.pasid = o.pasid;
        }
        if (o.archid_given) {
            p.flags |= uapi::iommu_inv_pasid_flag::archid;
            p.archid = o.archid;
        }
    } else if (*g == uapi::iommu_inv_granularity::addr) {
        auto& a = i.granu.addr_info;
        if (o.pasid_given) {
            a.flags |= uapi::iommu_inv_addr_flag::pasid;
            a.pasid = o.pasid;
        }
        if (o.archid_given) {
            a.flags |= uapi::iommu_inv_addr_flag::archid;
            a.archid = o.archid;
        }
        if (o.leaf) a.flags |= uapi::iommu_inv_addr_flag::leaf;
        a.addr = o.addr;
        a.granule_size = o.granule_size;
        a.nb_granules = o.nb_granules;
    }
    return i;
}

/// The model's kernel from the --model-* options, or nullopt after printing the usage error.
std::optional<rules::kernel_state> kernel_of(const options& o) {
    std::string bad;
    auto f = parse_flags<uapi::v7::nesting_feature>(o.model_features, bad);
    if (!f) {
        fmt::print(stderr, "vfio-nesting: --model-features: '{}' is not one of {}\n", bad,
                   names_of<uapi::v7::nesting_feature>());
        return std::nullopt;
    }
    rules::kernel_state k;
    k.features = *f;
    k.nesting_info = !o.model_no_nesting;
    k.vfio_mm = !o.model_no_pasid_set && f->has(uapi::v7::nesting_feature::syswide_pasid);
    return k;
}

// ---- annotated images ----

/// One line of an annotated image: a leaf field, where it is, and its value as vfiopp prints it.
struct row {
    std::size_t offset;
    std::size_t size;
    std::string field;
    std::string value;
    std::string note;
};

/// A value as the library's one-line formatter prints it inside a struct ("sre|eafe", "0x1000", "intel_vtd").
template <typename V>
std::string text_of(const V& v) {
    std::string s;
    vfiopp::detail::format_value(std::back_inserter(s), v, -1);
    return s;
}

template <typename T>
void annotate(std::vector<row>& rows, const T& v, std::size_t base, const std::string& prefix);

/// The rows of a union field of `parent`: the member the payload uses (the VT-d part of a bind; the granularity's
/// member of an invalidation), else the union's bytes as one row.
template <typename P, typename U>
void union_rows(std::vector<row>& rows, const P& parent, const U& u, std::size_t at, const std::string& name) {
    if constexpr (std::is_same_v<P, uapi::iommu_gpasid_bind_data>) {
        if (parent.format == uapi::iommu_pasid_format::intel_vtd) return annotate(rows, u.vtd, at, name + ".vtd.");
    } else if constexpr (std::is_same_v<P, uapi::iommu_cache_invalidate_info>) {
        if (parent.granularity == uapi::iommu_inv_granularity::addr)
            return annotate(rows, u.addr_info, at, name + ".addr_info.");
        if (parent.granularity == uapi::iommu_inv_granularity::pasid) {
            annotate(rows, u.pasid_info, at, name + ".pasid_info.");
            const std::size_t used = sizeof(u.pasid_info);
            std::string rest;
            vfiopp::detail::format_bytes(std::back_inserter(rest), reinterpret_cast<const unsigned char*>(&u) + used,
                                         sizeof(U) - used);
            rows.push_back({at + used, sizeof(U) - used, name + " (rest)", rest, "not read at pasid granularity"});
            return;
        }
    }
    std::string bytes;
    vfiopp::detail::format_bytes(std::back_inserter(bytes), &u, sizeof(U));
    rows.push_back({at, sizeof(U), name, bytes, "not read for this payload"});
}

/// The rows of every leaf field of `v` (a mirror at `base` of the image), nested structs flattened with dots,
/// from the layout descriptors.
template <typename T>
void annotate(std::vector<row>& rows, const T& v, std::size_t base, const std::string& prefix) {
    uapi::for_each_field(uapi::layout_of<T>, [&](auto f) {
        using M = typename decltype(f)::type;
        const M& m = v.*(f.member);
        const std::string name = prefix + std::string(f.name);
        const std::size_t at = base + f.offset;
        if constexpr (uapi::described<M>) annotate(rows, m, at, name + ".");
        else if constexpr (std::is_union_v<M>) union_rows(rows, v, m, at, name);
        else rows.push_back({at, sizeof(M), name, text_of(m), {}});
    });
}

/// Copies a T out of an image (the caller checked it fits).
template <typename T>
T load(std::span<const std::byte> img, std::size_t offset) {
    T v;
    std::memcpy(static_cast<void*>(&v), img.data() + offset, sizeof v);
    return v;
}

/// Bytes as lower-case hex, `sep` between bytes: hex_of(b, " ") == "50 00 00 00".
std::string hex_of(std::span<const std::byte> b, std::string_view sep = "") {
    std::string s;
    for (std::size_t i = 0; i < b.size(); ++i)
        fmt::format_to(std::back_inserter(s), "{}{:02x}", i ? sep : "", static_cast<unsigned>(b[i]));
    return s;
}

/// Prints an image: a title, one line per field (offset, size, the image's bytes, field, value), and the whole
/// image as one hex string (which `vfio-decode` reads back).
void print_image(std::string_view title, std::span<const std::byte> img, const std::vector<row>& rows) {
    fmt::print("{}\n  {:>6}  {:>4}  {:<26}  {:<34} {}\n", title, "offset", "size", "bytes", "field", "value");
    for (const auto& r : rows) {
        const auto end = std::min(img.size(), r.offset + r.size);
        auto b = r.offset < end ? img.subspan(r.offset, end - r.offset) : std::span<const std::byte>{};
        std::string bytes = hex_of(b.first(std::min<std::size_t>(b.size(), 8)), " ");
        if (b.size() > 8) bytes += " ..";
        fmt::print("  {:>6}  {:>4}  {:<26}  {:<34} {}{}\n", r.offset, r.size, bytes, r.field, r.value,
                   r.note.empty() ? "" : fmt::format("  ({})", r.note));
    }
    fmt::print("hex: {}\n", hex_of(img));
}

/// Bytes of a trivially copyable value.
template <typename T>
std::vector<std::byte> bytes_of(const T& v) {
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    return {p, p + sizeof v};
}

/// What the model assumes, for the verdict line.
std::string kernel_text(uapi::abi_kind abi, const rules::kernel_state& k) {
    return fmt::format("{} kernel, {} on Intel VT-d, {}features {}", uapi::to_string(abi),
                       k.nesting_info ? "nesting container" : "container without nesting info",
                       k.vfio_mm ? "" : "no PASID set, ", text_of(k.features));
}

/// Prints the model's verdict on an image; returns whether it accepts.
bool print_verdict(const rules::verdict& v, uapi::abi_kind abi, const rules::kernel_state& k) {
    if (v.accepted()) {
        fmt::print("model ({}): accepted\n", kernel_text(abi, k));
        return true;
    }
    const auto e = vfiopp::errno_name(v.code);
    fmt::print("model ({}): {} on {}: {}; {}\n", kernel_text(abi, k), e, v.field.empty() ? "(no field)" : v.field,
               v.rule,
               v.reported ? fmt::format("reported: the ioctl fails with {}", e)
                          : fmt::format("discarded: the 2020 kernel computes {} and returns 0, so the operation silently "
                                        "does not happen (why vfiopp refuses to build it)",
                                        e));
    return false;
}

/// Prints a refusal of the library (before any ioctl): the typed error, naming ioctl and field.
void print_refusal(const error& e) {
    std::fflush(stdout);  // stdout is buffered when piped: keep the lines in the order they happened
    fmt::print(stderr, "vfio-nesting: refused before any ioctl: {}\n", e);
}

// ---- dry runs: the 2020 proposal's images ----

/// The PASID_REQUEST image of revision Abi (the builder's, or, when it refuses, the raw image a caller without
/// vfiopp would send), annotated and judged by the model. Returns the exit status.
template <typename Abi>
int dry_pasid_image(const result<wire::pasid_request<Abi>>& req, const typename uapi::abi_traits<Abi>::pasid_request_type& raw,
                    const rules::kernel_state& k) {
    using T = uapi::abi_traits<Abi>;
    std::vector<std::byte> img;
    if (req) {
        img.assign(req->bytes().begin(), req->bytes().end());
    } else {
        print_refusal(req.error());
        auto r = raw;
        r.argsz = sizeof r;
        img = bytes_of(r);
    }
    std::vector<row> rows;
    annotate(rows, load<typename T::pasid_request_type>(img, 0), 0, "");
    print_image(fmt::format("{} ({}, code {:#06x}, container fd): {} bytes{}", T::pasid_request.name,
                            uapi::to_string(T::kind), T::pasid_request.code, img.size(),
                            req ? "" : "; the raw image vfiopp refuses to build"),
                img, rows);
    const auto v = rules::check_pasid_request<Abi>(img, k);
    const bool ok = print_verdict(v, T::kind, k);
    if (ok) {
        rules::pasid_table t;
        auto copy = img;
        const long rc = rules::pasid_request_effect<Abi>(copy, t, k);
        const auto h = load<typename T::pasid_request_type>(img, 0);
        if (rc < 0) {
            fmt::print("model: a process holding no PASID gets {}\n", vfiopp::errno_name(static_cast<int>(-rc)));
        } else if (!h.flags.has(T::pasid_request_flag::alloc)) {
            if constexpr (T::pasid_is_return_value)
                fmt::print("model: frees the PASIDs the process holds in the range (a process holding none: nothing), "
                           "returns 0\n");
            else
                fmt::print("model: frees PASID {} if the process holds it (a process holding none: nothing), returns 0\n",
                           h.pasid);
        } else if constexpr (T::pasid_is_return_value) {
            fmt::print("model: a process holding no PASID gets PASID {} as the ioctl's return value\n", rc);
        } else {
            fmt::print("model: a process holding no PASID gets PASID {} written to pasid (offset 8), the ioctl returns 0\n",
                       load<typename T::pasid_request_type>(copy, 0).pasid);
        }
    }
    return req && ok ? exit_ok : exit_refused;
}

/// The NESTING_OP image of revision Abi for `payload`, annotated and judged by the model. Returns the exit status.
template <typename Abi>
int dry_nesting_image(const wire::nesting_payload& payload, const rules::kernel_state& k) {
    using T = uapi::abi_traits<Abi>;
    auto req = wire::nesting_op<Abi>(payload);
    std::vector<std::byte> img;
    if (req) {
        img.assign(req->bytes().begin(), req->bytes().end());
    } else {
        print_refusal(req.error());
        // the raw image: the same header and payload, argsz and version as the builder would write them
        std::visit(
            [&](const auto& alt) {
                typename T::nesting_op_type h{};
                T::set_op(h, vfiopp::detail::op_of_alternative<Abi, std::remove_cvref_t<decltype(alt)>>());
                auto data = alt.data;
                data.argsz = sizeof data;
                data.version = 1;
                h.argsz = T::argsz_for(sizeof data);
                img = bytes_of(h);
                img.resize(T::data_offset);
                auto d = bytes_of(data);
                img.insert(img.end(), d.begin(), d.end());
            },
            payload);
    }
    const auto h = load<typename T::nesting_op_type>(img, 0);
    std::vector<row> rows;
    annotate(rows, h, 0, "");
    const auto op = T::op_of(h);
    if constexpr (std::is_same_v<Abi, uapi::abi::v7>)
        for (auto& r : rows)
            if (r.field == "flags") r.note = fmt::format("op {}", text_of(op));
    std::string_view payload_type;
    std::visit(
        [&](const auto& alt) {
            using P = decltype(alt.data);
            annotate(rows, load<P>(img, T::data_offset), T::data_offset, "data.");
            payload_type = uapi::layout_of<P>.name;
        },
        payload);
    print_image(fmt::format("{} ({}, code {:#06x}, container fd): {} bytes = {}-byte header + data[] at {}: {} ({}){}",
                            T::nesting_op.name, uapi::to_string(T::kind), T::nesting_op.code, img.size(),
                            sizeof(typename T::nesting_op_type), T::data_offset, payload_type, text_of(op),
                            req ? "" : "; the raw image vfiopp refuses to build"),
                img, rows);
    const bool ok = print_verdict(rules::check_nesting_op<Abi>(img, k), T::kind, k);
    return req && ok ? exit_ok : exit_refused;
}

/// --dry-run for seed / v7.
template <typename Abi>
int dry_run_container(const options& o, const rules::kernel_state& k) {
    using T = uapi::abi_traits<Abi>;
    typename T::pasid_request_type raw{};
    raw.range.min = o.min;
    raw.range.max = o.max;
    switch (o.cmd) {
        case command::pasid_alloc:
            raw.flags = T::pasid_request_flag::alloc;
            return dry_pasid_image<Abi>(wire::pasid_alloc<Abi>({o.min, o.max}), raw, k);
        case command::pasid_free:
            raw.flags = T::pasid_request_flag::free;
            if constexpr (std::is_same_v<Abi, uapi::abi::v7>) {
                return dry_pasid_image<Abi>(wire::pasid_free<Abi>({o.min, o.max}), raw, k);
            } else {
                // the seed frees the one PASID its request names: one request per PASID of the range
                int rc = exit_ok;
                for (std::uint64_t p = o.min; p <= o.max; ++p) {
                    raw.pasid = static_cast<std::uint32_t>(p);
                    auto req = wire::pasid_free<Abi>(static_cast<std::uint32_t>(p));
                    rc = std::max(rc, dry_pasid_image<Abi>(result<wire::pasid_request<Abi>>(req), raw, k));
                }
                return rc;
            }
        case command::bind: return dry_nesting_image<Abi>(wire::bind_pgtbl{bind_data(o)}, k);
        case command::unbind: return dry_nesting_image<Abi>(wire::unbind_pgtbl{bind_data(o)}, k);
        case command::invalidate: {
            auto i = cache_info(o);
            if (!i) return exit_usage;
            return dry_nesting_image<Abi>(wire::cache_invalidate{*i}, k);
        }
        case command::session: break;
    }
    return exit_usage;
}

/// --dry-run for iommufd: what the backend checks (the VT-d model's content rules) and the vendor data it sends.
int dry_run_iommufd(const options& o) {
    constexpr std::string_view nesting_op = "VFIO_IOMMU_NESTING_OP";
    switch (o.cmd) {
        case command::pasid_alloc: {
            if (auto c = vfiopp::detail::check_pasid_range<uapi::abi::v7>({o.min, o.max}); !c) {
                print_refusal(c.error());
                return exit_refused;
            }
            rules::pasid_table t;
            auto p = t.alloc(o.min, o.max);
            if (!p) {
                print_refusal(p.error());
                return exit_refused;
            }
            fmt::print("iommufd has no PASID allocator: the backend's user-space table (quota {}) gives a fresh session "
                       "PASID {} of [{}, {}]; no ioctl\n",
                       t.quota(), *p, o.min, o.max);
            return exit_ok;
        }
        case command::pasid_free: {
            if (auto c = vfiopp::detail::check_pasid_range<uapi::abi::v7>({o.min, o.max}); !c) {
                print_refusal(c.error());
                return exit_refused;
            }
            fmt::print("frees the session's PASIDs in [{}, {}] from the user-space table, unbinding bound ones first "
                       "(VFIO_DEVICE_DETACH_IOMMUFD_PT, IOMMU_DESTROY); no ioctl of its own\n",
                       o.min, o.max);
            return exit_ok;
        }
        case command::bind: {
            auto d = bind_data(o);
            d.argsz = sizeof d;
            d.version = 1;
            const rules::kernel_state k;
            const auto v = rules::check_bind_content(d, true, k);
            if (!v.accepted()) {
                print_refusal(v.as_error(nesting_op));
                return exit_refused;
            }
            auto s1 = proposal::vtd_translation::stage1(d);
            if (!s1) {
                print_refusal(s1.error());
                return exit_refused;
            }
            std::vector<row> rows;
            annotate(rows, *s1, 0, "");
            print_image(fmt::format("IOMMU_HWPT_ALLOC data (data_type {}, {} bytes): the nested stage-1 HWPT on the "
                                    "NEST_PARENT one, then attached at PASID {} (VFIO_DEVICE_ATTACH_IOMMUFD_PT)",
                                    text_of(wire::hwpt_data_traits<uapi::iommu_hwpt_vtd_s1>::data_type), sizeof(*s1),
                                    o.hpasid),
                        bytes_of(*s1), rows);
            fmt::print("model (VT-d bind checks, as the backend applies them): accepted\n");
            return exit_ok;
        }
        case command::unbind: {
            auto req = wire::vfio::device_detach_iommufd_pt(static_cast<std::uint32_t>(o.hpasid));
            std::vector<row> rows;
            annotate(rows, req.header(), 0, "");
            print_image(fmt::format("VFIO_DEVICE_DETACH_IOMMUFD_PT (code {:#06x}, device fd): {} bytes; then "
                                    "IOMMU_DESTROY of the PASID's nested HWPT",
                                    uapi::vfio::device_detach_iommufd_pt.code, req.bytes().size()),
                        req.bytes(), rows);
            return exit_ok;
        }
        case command::invalidate: {
            auto i = cache_info(o);
            if (!i) return exit_usage;
            i->argsz = sizeof *i;
            i->version = 1;
            const auto v = rules::check_cache_invalidate_content(*i);
            if (!v.accepted()) {
                print_refusal(v.as_error(nesting_op));
                return exit_refused;
            }
            if (!i->cache.any()) {
                print_refusal(vfiopp::detail::refuse(nesting_op, "data.cache", EINVAL, "no cache to invalidate"));
                return exit_refused;
            }
            if (!i->cache.has(uapi::iommu_cache_inv_type::iotlb) && !i->cache.has(uapi::iommu_cache_inv_type::dev_iotlb)) {
                fmt::print("the PASID cache alone: the host owns the PASID table and flushes it on attach and detach; "
                           "nothing is sent (done = 0)\n");
                return exit_ok;
            }
            std::array<proposal::vtd_translation::invalidate_entry, proposal::vtd_translation::max_entries> e{};
            auto n = proposal::vtd_translation::entries(*i, e);
            if (!n) {
                print_refusal(n.error());
                return exit_refused;
            }
            std::vector<row> rows;
            annotate(rows, e[0], 0, "");
            print_image(fmt::format("IOMMU_HWPT_INVALIDATE entry (data_type {}, {} bytes), to {}",
                                    text_of(wire::hwpt_data_traits<proposal::vtd_translation::invalidate_entry>::invalidate_type),
                                    sizeof(e[0]),
                                    o.pasid_given ? fmt::format("the nested HWPT of PASID {}", o.pasid)
                                                  : std::string("every bound nested HWPT")),
                        bytes_of(e[0]), rows);
            fmt::print("model (generic invalidation checks, as the backend applies them): accepted\n");
            return exit_ok;
        }
        case command::session: break;
    }
    return exit_usage;
}

// ---- running on a kernel ----

/// Prints a failed operation's error with what it means; returns the exit status for it.
int report(std::string_view what, const error& e) {
    std::fflush(stdout);  // stdout is buffered when piped: keep the lines in the order they happened
    if (proposal::not_supported(e)) {
        fmt::print(stderr, "vfio-nesting: {}: this kernel does not implement the 2020 proposal (ENOTTY): {}\n", what, e);
        return exit_unsupported;
    }
    if (e.origin == vfiopp::error_origin::library) {
        fmt::print(stderr, "vfio-nesting: {}: refused before any ioctl: {}\n", what, e);
        return exit_refused;
    }
    if (e.code == EOPNOTSUPP) {
        fmt::print(stderr, "vfio-nesting: {}: the kernel does not support it (EOPNOTSUPP): {}\n", what, e);
        if (e.ioctl == "IOMMU_HWPT_ALLOC")
            fmt::print(stderr, "vfio-nesting: a NEST_PARENT HWPT needs an IOMMU that nests (Intel VT-d: ECAP.NEST, which "
                               "QEMU's emulated VT-d does not set)\n");
        return exit_unsupported;
    }
    fmt::print(stderr, "vfio-nesting: {}: failed: {}\n", what, e);
    return exit_failed;
}

/// One command (or the session) on a vsva backend; prints each step's result. Returns the exit status.
int run_on(proposal::vsva& s, const options& o) {
    fmt::print("backend: {}\n", s.backend());
    auto bind_at = [&](std::uint64_t pasid) {
        auto b = bind_data(o);
        b.hpasid = pasid;
        return b;
    };
    switch (o.cmd) {
        case command::pasid_alloc: {
            auto p = s.pasid_alloc({o.min, o.max});
            if (!p) return report("pasid-alloc", p.error());
            fmt::print("pasid-alloc [{}, {}]: PASID {}\n", o.min, o.max, *p);
            return exit_ok;
        }
        case command::pasid_free: {
            if (auto r = s.pasid_free({o.min, o.max}); !r) return report("pasid-free", r.error());
            fmt::print("pasid-free [{}, {}]: done\n", o.min, o.max);
            return exit_ok;
        }
        case command::bind: {
            if (s.backend() == "iommufd") {  // the session's PASID table is this process's: the PASID comes from it
                auto p = s.pasid_alloc({static_cast<std::uint32_t>(o.hpasid), static_cast<std::uint32_t>(o.hpasid)});
                if (!p) return report("pasid-alloc (for the bind)", p.error());
            }
            if (auto r = s.bind(bind_data(o)); !r) return report("bind", r.error());
            fmt::print("bind gpgd {:#x} at PASID {}: done (undone when this process exits)\n", o.gpgd, o.hpasid);
            return exit_ok;
        }
        case command::unbind: {
            if (auto r = s.unbind(bind_data(o)); !r) return report("unbind", r.error());
            fmt::print("unbind PASID {}: done\n", o.hpasid);
            return exit_ok;
        }
        case command::invalidate: {
            auto i = cache_info(o);
            if (!i) return exit_usage;
            auto out = s.invalidate(*i);
            if (!out.status) return report(fmt::format("invalidate ({} entries done)", out.done), out.status.error());
            fmt::print("invalidate: done, {} entries consumed\n", out.done);
            return exit_ok;
        }
        case command::session: {
            auto p = s.pasid_alloc({o.min, o.max});
            if (!p) return report(fmt::format("session: step 1/5 pasid-alloc [{}, {}]", o.min, o.max), p.error());
            fmt::print("session: step 1/5 pasid-alloc [{}, {}]: PASID {}\n", o.min, o.max, *p);
            if (auto r = s.bind(bind_at(*p)); !r) return report("session: step 2/5 bind", r.error());
            fmt::print("session: step 2/5 bind gpgd {:#x} at PASID {}: done\n", o.gpgd, *p);
            uapi::iommu_cache_invalidate_info i{};
            i.cache = uapi::iommu_cache_inv_type::iotlb;
            i.granularity = uapi::iommu_inv_granularity::pasid;
            i.granu.pasid_info = {};
            i.granu.pasid_info.flags = uapi::iommu_inv_pasid_flag::pasid;
            i.granu.pasid_info.pasid = *p;
            auto out = s.invalidate(i);
            if (!out.status)
                return report(fmt::format("session: step 3/5 invalidate iotlb of PASID {} ({} done)", *p, out.done),
                              out.status.error());
            fmt::print("session: step 3/5 invalidate iotlb of PASID {}: {} entries consumed\n", *p, out.done);
            if (auto r = s.unbind(bind_at(*p)); !r) return report("session: step 4/5 unbind", r.error());
            fmt::print("session: step 4/5 unbind PASID {}: done\n", *p);
            if (auto r = s.pasid_free({*p, *p}); !r) return report("session: step 5/5 pasid-free", r.error());
            fmt::print("session: step 5/5 pasid-free [{}, {}]: done\n", *p, *p);
            return exit_ok;
        }
    }
    return exit_usage;
}

/// proposal::probe()'s findings, one line.
void print_probe(const proposal::support& s) {
    auto yn = [](bool b) { return b ? "known" : "unknown (ENOTTY)"; };
    fmt::print("probe: VFIO_TYPE1_NESTING_IOMMU extension {}; CAP_NESTING {}; v7 PASID_REQUEST #18 {}, v7 NESTING_OP "
               "#19 {}, seed PASID_REQUEST #22 {}, seed NESTING_OP #23 {}\n",
               s.nesting_extension ? "yes" : "no", s.nesting ? fmt::format("{}", *s.nesting) : std::string("none"),
               yn(s.v7_pasid_request), yn(s.v7_nesting_op), yn(s.seed_pasid_request), yn(s.seed_nesting_op));
    if (!s.any()) fmt::print("probe: no form of the 2020 proposal on this kernel\n");
}

/// seed or v7 on a container with --group attached: probe, then the command through container_backend<Abi>.
template <typename Abi>
int run_container(const options& o) {
    vfiopp::unique_fd fd{::open(o.container.c_str(), O_RDWR | O_CLOEXEC)};
    if (!fd) return report("open the container", error{"open", "path", errno, {}, vfiopp::error_origin::kernel}.about(o.container));
    auto c = vfiopp::container::from_fd(std::move(fd));
    if (!c) return report("container", c.error());
    auto g = vfiopp::group::open(o.group);
    if (!g) return report(fmt::format("open group {}", o.group), g.error());
    if (auto r = g->attach(*c); !r) return report(fmt::format("attach group {}", o.group), r.error());
    fmt::print("container {}: group {} attached, IOMMU model set\n", o.container, o.group);
    auto sup = proposal::probe(*c);
    if (!sup) return report("probe", sup.error());
    print_probe(*sup);
    if (std::is_same_v<Abi, uapi::abi::seed> && o.cmd == command::pasid_free) {
        // the seed's FREE names one PASID: one request per PASID of the range (the backend frees only what it holds)
        for (std::uint64_t p = o.min; p <= o.max; ++p) {
            auto req = wire::pasid_free<uapi::abi::seed>(static_cast<std::uint32_t>(p));
            if (auto r = vfiopp::io::submit(c->fd(), req, c->hook()); !r)
                return report("pasid-free", r.error().with("pasid", p));
        }
        fmt::print("pasid-free [{}, {}]: done\n", o.min, o.max);
        return exit_ok;
    }
    proposal::container_backend<Abi> s{*c};  // declared after the group and container: it goes first
    return run_on(s, o);
}

/// iommufd on a VFIO cdev: the device bound and attached to a fresh IOAS, then the backend.
int run_iommufd(const options& o) {
    auto ctx = vfiopp::iommufd::open();
    if (!ctx) return report("open /dev/iommu", ctx.error());
    auto as = ctx->alloc_ioas();
    if (!as) return report("IOAS", as.error());
    auto dev = vfiopp::device::open_cdev(o.device);
    if (!dev) return report(fmt::format("open {}", o.device), dev.error());
    auto id = dev->bind(*ctx);
    if (!id) return report("bind the device to the iommufd", id.error());
    auto pt = dev->attach(*as);
    if (!pt) return report("attach the device to the IOAS", pt.error());
    fmt::print("iommufd: {} bound (dev_id {}), attached to IOAS {} (HWPT {})\n", o.device, *id, as->id(), *pt);
    proposal::device_port port{*dev};
    auto s = proposal::iommufd_backend<>::create(*ctx, port, as->id());
    if (!s) return report(o.cmd == command::session ? "session: setup: the NEST_PARENT HWPT" : "setup: the NEST_PARENT HWPT",
                          s.error());
    fmt::print("iommufd: NEST_PARENT HWPT {} over IOAS {}, {} attach\n", (*s)->parent_id(), as->id(),
               (*s)->pasid_attach() ? "PASID" : "RID");
    return run_on(**s, o);
}

constexpr std::string_view footer =
    "Every command also takes the global options after it. seed and v7 run on a VFIO container (--container,\n"
    "--group N: the group is attached and an IOMMU model set first), iommufd on a VFIO cdev (--device). With\n"
    "--dry-run nothing is opened: the exact image is printed field by field with its bytes and checked by the model\n"
    "of the 2020 kernel (--model-features, --model-no-nesting, --model-no-pasid-set narrow the modelled kernel);\n"
    "for iommufd the vendor data the backend would send, after the checks it applies.\n"
    "\n"
    "Exit status: 0 done (dry run: built and accepted by the model); 1 refused before any ioctl (vfiopp's builders\n"
    "or translation name the field; in a dry run also the model's refusal); 2 usage; 3 the kernel does not support\n"
    "it (ENOTTY: no kernel implements the 2020 proposal; EOPNOTSUPP, e.g. no nesting IOMMU for NEST_PARENT);\n"
    "4 other failures (open, other kernel errors).\n"
    "\n"
    "Examples:\n"
    "  vfio-nesting --abi v7 --dry-run bind --hpasid 5 --gpgd 0x1000 --sre\n"
    "  vfio-nesting --abi v7 --dry-run invalidate --cache dev_iotlb --granularity domain       (refused: exit 1)\n"
    "  vfio-nesting --abi seed --group 12 pasid-alloc 1 1000\n"
    "  vfio-nesting --abi iommufd --device /dev/vfio/devices/vfio0 session";

/// Adds the bind payload's options (bind, unbind's hpasid, the session's table) to a subcommand.
void bind_options(CLI::App* c, options& o, bool full) {
    c->add_option("--hpasid", o.hpasid, "the host PASID")->required();
    if (!full) return;
    c->add_option("--gpgd", o.gpgd, "the guest's stage-1 page table (guest physical)")->required();
    c->add_option("--addr-width", o.addr_width, "the guest's address width (default 48)");
    c->add_option("--gpasid", o.gpasid, "the guest PASID (sets IOMMU_SVA_GPASID_VAL)");
    c->add_option("--format", o.format, "the PASID table format (default 1, IOMMU_PASID_FORMAT_INTEL_VTD)");
    c->add_flag("--sre", o.sre, "VT-d: supervisor requests");
    c->add_flag("--eafe", o.eafe, "VT-d: extended access flag");
    c->add_flag("--pcd", o.pcd, "VT-d: page-level cache disable");
    c->add_flag("--pwt", o.pwt, "VT-d: page-level write through");
    c->add_flag("--emte", o.emte, "VT-d: extended memory type enable");
    c->add_flag("--cd", o.cd, "VT-d: cache disable");
    c->add_option("--pat", o.pat, "VT-d: page attribute table");
    c->add_option("--emt", o.emt, "VT-d: extended memory type");
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    CLI::App app{"vfio-nesting: the 2020 VFIO vSVA proposal (PASID_REQUEST, NESTING_OP) from the command line, on a "
                 "VFIO container in its seed or v7 ABI, or realised on iommufd (vfiopp)",
                 "vfio-nesting"};
    app.add_option("--abi", o.abi, "seed, v7 (a VFIO container) or iommufd (a VFIO cdev)")
        ->required()
        ->check(CLI::IsMember({"seed", "v7", "iommufd"}));
    app.add_flag("--dry-run", o.dry_run, "print the image, annotated, and the model's verdict; open nothing");
    app.add_option("--container", o.container, "the VFIO container (default /dev/vfio/vfio)");
    app.add_option("--group", o.group, "the IOMMU group to attach to the container (/dev/vfio/N)");
    app.add_option("--device", o.device, "the VFIO cdev for --abi iommufd (/dev/vfio/devices/vfioN)");
    app.add_option("--model-features", o.model_features,
                   "dry run: the modelled kernel's nesting features (default syswide_pasid,bind_pgtbl,cache_invld)");
    app.add_flag("--model-no-nesting", o.model_no_nesting, "dry run: the modelled container is not a nesting container");
    app.add_flag("--model-no-pasid-set", o.model_no_pasid_set, "dry run: the modelled container has no PASID set");
    app.footer(std::string(footer));
    app.require_subcommand(1);
    app.fallthrough();

    auto* alloc = app.add_subcommand("pasid-alloc", "VFIO_IOMMU_PASID_REQUEST ALLOC: one PASID in [MIN, MAX]");
    alloc->add_option("MIN", o.min, "the range's first PASID")->required();
    alloc->add_option("MAX", o.max, "the range's last PASID (inclusive)")->required();
    auto* release = app.add_subcommand("pasid-free", "VFIO_IOMMU_PASID_REQUEST FREE: the PASIDs held in [MIN, MAX]");
    release->add_option("MIN", o.min, "the range's first PASID")->required();
    release->add_option("MAX", o.max, "the range's last PASID (inclusive)")->required();
    auto* bind = app.add_subcommand("bind", "NESTING_OP BIND_PGTBL: the guest's stage-1 table at a host PASID");
    bind_options(bind, o, true);
    auto* unbind = app.add_subcommand("unbind", "NESTING_OP UNBIND_PGTBL of a host PASID");
    bind_options(unbind, o, false);
    auto* inv = app.add_subcommand("invalidate", "NESTING_OP CACHE_INVLD: invalidate stage-1 caches");
    inv->add_option("--cache", o.cache, "caches, comma-separated: iotlb, dev_iotlb, pasid")->required();
    inv->add_option("--granularity", o.granularity, "domain, pasid or addr")->required();
    inv->add_option("--pasid", o.pasid, "the PASID (sets the PASID flag)");
    inv->add_option("--archid", o.archid, "the architecture ID (sets the ARCHID flag)");
    inv->add_option("--addr", o.addr, "addr granularity: the first address");
    inv->add_option("--granule-size", o.granule_size, "addr granularity: bytes per granule (default 4096)");
    inv->add_option("--nb-granules", o.nb_granules, "addr granularity: how many granules (default 1)");
    inv->add_flag("--leaf", o.leaf, "addr granularity: leaf entries only");
    auto* session = app.add_subcommand("session", "pasid-alloc, bind, invalidate (IOTLB of the PASID), unbind, "
                                                  "pasid-free in one process, each step printed");
    session->add_option("--min", o.min, "the PASID range's first (default 1)");
    session->add_option("--max", o.max, "the PASID range's last (default 1000)");
    session->add_option("--gpgd", o.gpgd, "the stage-1 table to bind (default 0x100000)");
    session->add_option("--addr-width", o.addr_width, "the guest's address width (default 48)");
    session->add_flag("--sre", o.sre, "VT-d: supervisor requests");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? exit_ok : exit_usage;
    }
    const std::pair<CLI::App*, command> cmds[] = {{alloc, command::pasid_alloc}, {release, command::pasid_free},
                                                  {bind, command::bind},         {unbind, command::unbind},
                                                  {inv, command::invalidate},    {session, command::session}};
    for (const auto& [sub, cmd] : cmds)
        if (sub->parsed()) o.cmd = cmd;
    o.group_given = app.count("--group") > 0;
    o.gpasid_given = bind->count("--gpasid") > 0;
    o.pasid_given = inv->count("--pasid") > 0;
    o.archid_given = inv->count("--archid") > 0;
    o.addr_given = inv->count("--addr") + inv->count("--granule-size") + inv->count("--nb-granules") > 0;
    if (o.min > o.max && o.cmd == command::pasid_free && o.abi == "seed") {
        fmt::print(stderr, "vfio-nesting: pasid-free: MIN is above MAX\n");
        return exit_usage;
    }
    if (o.cmd == command::pasid_free && o.abi == "seed" && o.max - o.min >= seed_free_max) {
        fmt::print(stderr, "vfio-nesting: the seed frees one PASID per request: a range of at most {} PASIDs\n", seed_free_max);
        return exit_usage;
    }

    if (o.dry_run) {
        if (o.cmd == command::session) {
            fmt::print(stderr, "vfio-nesting: session runs on a kernel; --dry-run shows one command's image\n");
            return exit_usage;
        }
        if (o.abi == "iommufd") return dry_run_iommufd(o);
        auto k = kernel_of(o);
        if (!k) return exit_usage;
        return o.abi == "v7" ? dry_run_container<uapi::abi::v7>(o, *k) : dry_run_container<uapi::abi::seed>(o, *k);
    }
    if (o.abi == "iommufd") {
        if (o.device.empty()) {
            fmt::print(stderr, "vfio-nesting: --abi iommufd needs --device /dev/vfio/devices/vfioN\n");
            return exit_usage;
        }
        return run_iommufd(o);
    }
    if (!o.group_given) {
        fmt::print(stderr, "vfio-nesting: --abi {} needs --group N: a container answers EINVAL to every unknown ioctl "
                           "until a group is attached and an IOMMU model set\n",
                   o.abi);
        return exit_usage;
    }
    return o.abi == "v7" ? run_container<uapi::abi::v7>(o) : run_container<uapi::abi::seed>(o);
}
