// vfio-decode - decodes the argument image of a VFIO / iommufd ioctl, typed: every field by name, capability
// chains, flexible arrays and the 2020 proposal's payloads as their structs (never as raw bytes where vfiopp knows
// the layout); or exports the whole registry.
//
//   vfio-decode VFIO_IOMMU_MAP_DMA 20000000 03000000 00000000007f0000 ...   the image as hex arguments
//   xxd -p image.bin | vfio-decode 0x3b70 --fd container                     ... or on stdin
//   vfio-decode 0x3b76 --fd container --abi v7 HEX...                        a reused code, disambiguated
//   vfio-decode VFIO_IOMMU_GET_INFO --json HEX...                            the decoded image as JSON
//   vfio-decode --list                                                       NAME 0xCODE FD ABI, one per line
//   vfio-decode --list --json                                                the registry: ioctls, structs (every
//                                                                            field's offset and size), enums, constants
// Hex: any mix of arguments and lines; whitespace and ':' are ignored. Without HEX arguments the image is read from
// stdin (unless stdin is a terminal: then the image is empty, as for ioctls without a pointed-to argument).
//
// Exit status: 0 decoded (or listed); 1 the image does not decode: the library's error names the ioctl, the field
// and the errno (an image shorter than its struct, a malformed capability chain); 2 usage: a bad option, an unknown
// ioctl, a code or name that several ioctls share (the candidates are listed with the --fd/--abi that select each),
// input that is not hex.
//
// Nothing here knows an ioctl by hand: the ioctls come from uapi::ioctl_registry, decoding from wire::decode(),
// printing from the {fmt} formatters of the layout descriptors, the JSON export from the same descriptors and the
// X-macro lists the mirrors are declared with. What the tool adds is how to read a trailer: which capability-chain
// kind an info reply has, which payload follows the proposal's NESTING_OP header (by op), VFIO_DEVICE_FEATURE
// (by feature id) and VFIO_DEVICE_SET_IRQS (by data type).
#include <vfiopp/fmt.hpp>
#include <vfiopp/uapi/registry.hpp>
#include <vfiopp/wire/caps.hpp>
#include <vfiopp/wire/decode.hpp>
#include <vfiopp/wire/fmt.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeindex>
#include <variant>
#include <vector>

namespace {

namespace uapi = vfiopp::uapi;
namespace wire = vfiopp::wire;
using json = nlohmann::ordered_json;

constexpr int exit_ok = 0;
constexpr int exit_decode = 1;
constexpr int exit_usage = 2;

// ---- names on the command line ----

/// An fd kind as a command-line token: to_string() without spaces ("migration data" -> "migration_data").
std::string fd_token(uapi::fd_kind k) {
    std::string s(uapi::to_string(k));
    std::replace(s.begin(), s.end(), ' ', '_');
    return s;
}

/// Every fd kind, for parsing and for the --fd help (the enum has no table: its values are consecutive).
constexpr std::array all_fd_kinds{uapi::fd_kind::container, uapi::fd_kind::group, uapi::fd_kind::device,
                                  uapi::fd_kind::iommufd, uapi::fd_kind::migration_data};
constexpr std::array all_abi_kinds{uapi::abi_kind::mainline, uapi::abi_kind::seed, uapi::abi_kind::v7};

/// --fd's value as an fd kind (CLI11 has checked it is one of the tokens).
std::optional<uapi::fd_kind> parse_fd(std::string_view s) {
    for (auto k : all_fd_kinds)
        if (fd_token(k) == s) return k;
    return std::nullopt;
}
/// --abi's value as an ABI.
std::optional<uapi::abi_kind> parse_abi(std::string_view s) {
    for (auto k : all_abi_kinds)
        if (uapi::to_string(k) == s) return k;
    return std::nullopt;
}

/// The ioctl_def object's qualified name: "vfio::iommu_map_dma".
std::string qualified_cxx_name(const uapi::ioctl_info& i) {
    return fmt::format("{}::{}", uapi::to_string(i.header), i.cxx_name);
}

/// Case-insensitive equality (kernel names may be typed in lower case: vfio_iommu_map_dma).
bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// ---- hex input ----

/// The bytes of hex text; whitespace and ':' are ignored. nullopt (with `why`) for anything else or an odd count.
std::optional<std::vector<std::byte>> parse_hex(std::string_view text, std::string& why) {
    std::vector<std::byte> out;
    int high = -1;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (std::isspace(static_cast<unsigned char>(c)) || c == ':') continue;
        int v = -1;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
        if (v < 0) {
            why = fmt::format("'{}' at character {} is not a hex digit", c, i);
            return std::nullopt;
        }
        if (high < 0) {
            high = v;
        } else {
            out.push_back(static_cast<std::byte>(high << 4 | v));
            high = -1;
        }
    }
    if (high >= 0) {
        why = "an odd number of hex digits";
        return std::nullopt;
    }
    return out;
}

/// Bytes as lower-case hex, no separators.
std::string hex_of(std::span<const std::byte> b) {
    std::string s;
    s.reserve(b.size() * 2);
    for (auto x : b) fmt::format_to(std::back_inserter(s), "{:02x}", static_cast<unsigned>(x));
    return s;
}

// ---- values as text and as JSON ----

/// A value as the library's one-line formatter prints it inside a struct ("read|write", "0x100000", "intel_vtd").
template <typename V>
std::string text_of(const V& v) {
    std::string s;
    vfiopp::detail::format_value(std::back_inserter(s), v, -1);
    return s;
}

/// A value as JSON, derived from the layout descriptors: structs are objects of their fields; bitmasks
/// {"value", "names"}; named enums {"value", "name"}; byte arrays and unions hex strings; integers numbers.
template <typename V>
json value_json(const V& v) {
    if constexpr (uapi::is_bitmask_v<V>) {
        using E = typename V::enum_type;
        json names = json::array();
        for (const auto& e : uapi::enum_entries<E>) {
            auto b = static_cast<std::underlying_type_t<E>>(e.value);
            if (b != 0 && std::has_single_bit(b) && (v.bits() & b)) names.push_back(e.name);
        }
        return json{{"value", v.bits()}, {"names", names}};
    } else if constexpr (uapi::named_enum<V>) {
        auto n = uapi::enum_name(v);
        return json{{"value", static_cast<std::underlying_type_t<V>>(v)}, {"name", n ? json(*n) : json(nullptr)}};
    } else if constexpr (std::is_enum_v<V>) {
        return json(static_cast<std::underlying_type_t<V>>(v));
    } else if constexpr (uapi::described<V>) {
        json o = json::object();
        uapi::for_each_field(uapi::layout_of<V>, [&](auto f) { o[std::string(f.name)] = value_json(v.*(f.member)); });
        return o;
    } else if constexpr (vfiopp::detail::is_byte_array_v<V>) {
        return json(hex_of(std::as_bytes(std::span(v))));
    } else if constexpr (vfiopp::detail::is_std_array_v<V>) {
        json a = json::array();
        for (const auto& e : v) a.push_back(value_json(e));
        return a;
    } else if constexpr (std::is_integral_v<V>) {
        return json(v);
    } else if constexpr (std::is_pointer_v<V>) {
        return json(reinterpret_cast<std::uintptr_t>(v));  // a user pointer: its address
    } else {
        static_assert(std::is_trivially_copyable_v<V>);
        return json{{"bytes", hex_of(std::as_bytes(std::span(&v, 1)))}};  // a union: the active member is not knowable here
    }
}

// ---- trailers: what follows the fixed struct ----

/// What the command line says about the image beyond the ioctl: a v7 (2020 proposal) kernel answered it, so an
/// IOMMU info reply's capability id 3 is NESTING, not DMA_AVAIL.
struct decode_context {
    bool v7_caps = false;
};

/// Prints a decoded image's parts as text (one struct per block, capability chains one capability per line).
struct text_sink {
    std::string out;

    /// A typed part at `offset` of the image: a struct (one field per line) or a scalar.
    template <typename T>
    void item(std::string_view label, std::size_t offset, const T& v) {
        if constexpr (uapi::described<T>)
            fmt::format_to(std::back_inserter(out), "@{} {}: {:l}\n", offset, label, v);
        else
            fmt::format_to(std::back_inserter(out), "@{} {}: {}\n", offset, label, text_of(v));
    }
    /// An array of typed elements at `offset`.
    template <typename T>
    void array(std::string_view label, std::size_t offset, const std::vector<T>& v) {
        fmt::format_to(std::back_inserter(out), "@{} {} ({} x {} bytes):", offset, label, v.size(), sizeof(T));
        if constexpr (uapi::described<T>) {
            for (std::size_t i = 0; i < v.size(); ++i)
                fmt::format_to(std::back_inserter(out), "\n  [{}] {}", i, fmt::format("{}", v[i]));
            out += '\n';
        } else {
            std::vector<std::string> parts;
            for (const auto& e : v) parts.push_back(text_of(e));
            fmt::format_to(std::back_inserter(out), " [{}]\n", fmt::join(parts, ", "));
        }
    }
    /// Bytes vfiopp has no layout for (or that a layout does not reach).
    void bytes(std::string_view label, std::size_t offset, std::span<const std::byte> b) {
        fmt::format_to(std::back_inserter(out), "@{} {} ({} bytes): {}\n", offset, label, b.size(), hex_of(b));
    }
    /// A NUL-terminated string argument.
    void string(std::string_view label, std::string_view s) {
        fmt::format_to(std::back_inserter(out), "{}: \"{}\"\n", label, s);
    }
    /// A validated capability chain: one capability per block.
    template <typename K>
    void chain(const wire::cap_chain_view<K>& c) {
        if (c.truncated()) {
            fmt::format_to(std::back_inserter(out),
                           "capabilities: truncated: the kernel has a chain for this reply but needs argsz {}\n",
                           c.required_argsz());
            return;
        }
        fmt::format_to(std::back_inserter(out), "capabilities ({}):\n", c.size());
        for (const auto& cap : c) fmt::format_to(std::back_inserter(out), "  {}\n", cap);
    }
};

/// Collects a decoded image's parts as JSON.
struct json_sink {
    json parts = json::array();

    /// A typed part at `offset` of the image.
    template <typename T>
    void item(std::string_view label, std::size_t offset, const T& v) {
        parts.push_back(json{{"label", label}, {"offset", offset}, {"type", vfiopp::detail::arg_type_name<T>()},
                             {"value", value_json(v)}});
    }
    /// An array of typed elements at `offset`.
    template <typename T>
    void array(std::string_view label, std::size_t offset, const std::vector<T>& v) {
        json a = json::array();
        for (const auto& e : v) a.push_back(value_json(e));
        parts.push_back(json{{"label", label}, {"offset", offset}, {"type", vfiopp::detail::arg_type_name<T>()},
                             {"count", v.size()}, {"value", a}});
    }
    /// Bytes without a layout, as hex.
    void bytes(std::string_view label, std::size_t offset, std::span<const std::byte> b) {
        parts.push_back(json{{"label", label}, {"offset", offset}, {"type", "bytes"}, {"size", b.size()}, {"value", hex_of(b)}});
    }
    /// A NUL-terminated string argument.
    void string(std::string_view label, std::string_view s) {
        parts.push_back(json{{"label", label}, {"offset", 0}, {"type", "string"}, {"value", s}});
    }
    /// A validated capability chain: each capability with its name, offset, id, version, struct and array.
    template <typename K>
    void chain(const wire::cap_chain_view<K>& c) {
        json caps = json::array();
        if (!c.truncated())
            for (const auto& cap : c) {
                std::visit(
                    [&](const auto& x) {
                        using Cap = std::remove_cvref_t<decltype(x)>;
                        json j;
                        if constexpr (std::is_same_v<Cap, wire::unknown_cap>) {
                            j = json{{"name", "unknown"}, {"kernel_name", nullptr}, {"offset", x.offset},
                                     {"id", x.id()}, {"version", x.version()}, {"value", value_json(x.value)},
                                     {"bytes", hex_of(x.bytes)}};
                        } else {
                            j = json{{"name", Cap::name}, {"kernel_name", Cap::kernel_name}, {"offset", x.offset},
                                     {"id", x.header().id}, {"version", x.header().version},
                                     {"type", vfiopp::detail::arg_type_name<typename Cap::mirror_type>()},
                                     {"value", value_json(x.value)}};
                            if constexpr (vfiopp::detail::array_cap<Cap>) {
                                json a = json::array();
                                for (auto e : x.elements()) a.push_back(value_json(e));
                                j[std::string(Cap::count_field)] = a;
                            }
                        }
                        caps.push_back(std::move(j));
                    },
                    cap);
            }
        parts.push_back(json{{"label", "capabilities"}, {"type", "capability chain"}, {"truncated", c.truncated()},
                             {"required_argsz", c.truncated() ? json(c.required_argsz()) : json(nullptr)},
                             {"value", caps}});
    }
};

/// Copies a T out of `b` at `offset` (the caller checked it fits).
template <typename T>
T load(std::span<const std::byte> b, std::size_t offset) {
    T v;
    std::memcpy(static_cast<void*>(&v), b.data() + offset, sizeof v);
    return v;
}

/// `count` elements of T from `b` at `offset`, as many as fit.
template <typename T>
std::vector<T> load_array(std::span<const std::byte> b, std::size_t offset, std::size_t count) {
    std::vector<T> v;
    for (std::size_t i = 0; i < count && offset + (i + 1) * sizeof(T) <= b.size(); ++i)
        v.push_back(load<T>(b, offset + i * sizeof(T)));
    return v;
}

/// The 5.10 payload P of a NESTING_OP at `offset` (the data[] bytes), with its union's active member: the VT-d
/// vendor part of a bind, the granularity's member of an invalidation. Returns the bytes it covered.
template <typename P, typename Sink>
std::size_t nesting_payload(Sink& s, std::string_view label, std::span<const std::byte> data, std::size_t offset) {
    if (data.size() < sizeof(P)) {
        s.bytes(fmt::format("{} (shorter than {}, {} bytes)", label, uapi::layout_of<P>.name, sizeof(P)), offset, data);
        return data.size();
    }
    const auto p = load<P>(data, 0);
    s.item(label, offset, p);
    if constexpr (std::is_same_v<P, uapi::iommu_gpasid_bind_data>) {
        if (p.format == uapi::iommu_pasid_format::intel_vtd)
            s.item("data[].vendor.vtd", offset + offsetof(P, vendor), p.vendor.vtd);
    } else {
        const std::size_t at = offset + offsetof(P, granu);
        if (p.granularity == uapi::iommu_inv_granularity::pasid)
            s.item("data[].granu.pasid_info", at, p.granu.pasid_info);
        else if (p.granularity == uapi::iommu_inv_granularity::addr)
            s.item("data[].granu.addr_info", at, p.granu.addr_info);
    }
    return sizeof(P);
}

/// The payload types of VFIO_DEVICE_FEATURE that wire::vfio::feature_traits knows; the one whose id matches the
/// header's low 16 bits reads data[].
using feature_payloads =
    std::tuple<wire::vfio::pci_vf_token, uapi::vfio_device_feature_migration, uapi::vfio_device_feature_mig_state,
               wire::vfio::low_power_entry, uapi::vfio_device_low_power_entry_with_wakeup, wire::vfio::low_power_exit,
               uapi::vfio_device_feature_dma_logging_control, wire::vfio::dma_logging_stop,
               wire::vfio::mig_precopy_infov2, uapi::vfio_device_feature_dma_logging_report,
               uapi::vfio_device_feature_mig_data_size, uapi::vfio_device_feature_bus_master,
               uapi::vfio_device_feature_dma_buf>;

/// The typed part of a trailer `t` (at image offset `base`); returns the bytes it covered. Capability-chain replies
/// are parsed from the whole image (`image`), and a malformed chain is the library's error.
template <typename Arg, typename Sink>
vfiopp::result<std::size_t> typed_trailer(const wire::decoded<Arg>& d, std::span<const std::byte> image,
                                          std::span<const std::byte> t, std::size_t base, const decode_context& ctx,
                                          Sink& s) {
    [[maybe_unused]] const auto& h = d.value;
    [[maybe_unused]] auto chain_of = [&]<typename Kind>(std::type_identity<Kind>) -> vfiopp::result<std::size_t> {
        auto c = wire::cap_chain_view<Kind>::parse(image);
        if (!c) return c.error();
        if (c->truncated() || !c->empty()) s.chain(*c);
        return t.size();  // the chain owns the rest of the reply
    };
    if constexpr (std::is_same_v<Arg, uapi::vfio_iommu_type1_info>) {
        if (ctx.v7_caps) return chain_of(std::type_identity<wire::iommu_info_caps_v7>{});
        return chain_of(std::type_identity<wire::iommu_info_caps>{});
    } else if constexpr (std::is_same_v<Arg, uapi::vfio_device_info>) {
        return chain_of(std::type_identity<wire::device_info_caps>{});
    } else if constexpr (std::is_same_v<Arg, uapi::vfio_region_info>) {
        return chain_of(std::type_identity<wire::region_info_caps>{});
    } else if constexpr (std::is_same_v<Arg, uapi::seed::vfio_iommu_type1_nesting_op> ||
                         std::is_same_v<Arg, uapi::v7::vfio_iommu_type1_nesting_op>) {
        using Abi = std::conditional_t<std::is_same_v<Arg, uapi::seed::vfio_iommu_type1_nesting_op>, uapi::abi::seed,
                                       uapi::abi::v7>;
        using op = typename uapi::abi_traits<Abi>::op_type;
        const auto o = uapi::abi_traits<Abi>::op_of(h);
        if (o == op::bind_pgtbl || o == op::unbind_pgtbl)
            return nesting_payload<uapi::iommu_gpasid_bind_data>(
                s, o == op::bind_pgtbl ? "data[] (bind_pgtbl)" : "data[] (unbind_pgtbl)", t, base);
        if (o == op::cache_invld) return nesting_payload<uapi::iommu_cache_invalidate_info>(s, "data[] (cache_invld)", t, base);
        return std::size_t{0};  // an op beyond CACHE_INVLD: no payload layout; shown as bytes
    } else if constexpr (std::is_same_v<Arg, uapi::vfio_irq_set>) {
        if (h.flags.has(uapi::irq_set_flag::data_eventfd)) {
            auto v = load_array<uapi::s32>(t, 0, h.count);
            s.array("data[] (eventfds)", base, v);
            return v.size() * sizeof(uapi::s32);
        }
        if (h.flags.has(uapi::irq_set_flag::data_bool)) {
            auto v = load_array<uapi::u8>(t, 0, h.count);
            s.array("data[] (bools)", base, v);
            return v.size();
        }
        return std::size_t{0};
    } else if constexpr (std::is_same_v<Arg, uapi::vfio_device_feature>) {
        const auto id = static_cast<uapi::u32>(h.flags.bits() & uapi::device_feature_mask);
        std::size_t used = 0;
        std::apply(
            [&](auto... p) {
                (
                    [&](auto payload) {
                        using P = decltype(payload);
                        using traits = wire::vfio::feature_traits<P>;
                        if (static_cast<uapi::u32>(traits::id) != id || traits::size == 0 || t.size() < traits::size) return;
                        const auto label = fmt::format("data[] ({})", text_of(traits::id));
                        if constexpr (uapi::described<P>) s.item(label, base, load<P>(t, 0));
                        else s.bytes(label, base, t.first(traits::size));
                        used = traits::size;
                    }(p),
                    ...);
            },
            feature_payloads{});
        return used;
    } else if constexpr (std::is_same_v<Arg, uapi::vfio_iommu_type1_dma_unmap>) {
        if (!h.flags.has(uapi::unmap_dma_flag::get_dirty_bitmap) || t.size() < sizeof(uapi::vfio_bitmap)) return std::size_t{0};
        s.item("data[] (dirty bitmap)", base, load<uapi::vfio_bitmap>(t, 0));
        return sizeof(uapi::vfio_bitmap);
    } else if constexpr (std::is_same_v<Arg, uapi::vfio_iommu_type1_dirty_bitmap>) {
        using G = uapi::vfio_iommu_type1_dirty_bitmap_get;
        if (!h.flags.has(uapi::dirty_pages_flag::get_bitmap) || t.size() < sizeof(G)) return std::size_t{0};
        s.item("data[] (get_bitmap)", base, load<G>(t, 0));
        return sizeof(G);
    } else if constexpr (uapi::has_flexible_array<Arg>) {
        using E = typename uapi::flexible_array_of<Arg>::element_type;
        auto v = load_array<E>(t, 0, t.size() / sizeof(E));
        s.array(fmt::format("{}[]", uapi::flexible_array_name<Arg>), base, v);
        return v.size() * sizeof(E);
    } else {
        return std::size_t{0};
    }
}

/// The decoded image's parts into `s`: the fixed struct (or scalar, or string), then the trailer, typed where
/// vfiopp knows its layout, the rest as bytes. Errors: a malformed capability chain.
template <typename Arg, typename Sink>
vfiopp::result<void> walk(const wire::decoded<Arg>& d, std::span<const std::byte> image, const decode_context& ctx,
                          Sink& s) {
    if constexpr (std::is_same_v<Arg, uapi::no_arg>) {
        return {};
    } else if constexpr (std::is_same_v<Arg, char>) {
        // a NUL-terminated string (VFIO_GROUP_GET_DEVICE_FD's device name)
        std::string_view str(reinterpret_cast<const char*>(image.data()), image.size());
        const auto nul = str.find('\0');
        s.string("name", str.substr(0, nul));
        if (nul != std::string_view::npos && nul + 1 < image.size())
            s.bytes("after the NUL", nul + 1, image.subspan(nul + 1));
        return {};
    } else {
        s.item("argument", 0, d.value);
        auto t = d.trailer;
        // the kernel reads argsz bytes: what lies beyond is the caller's buffer, not the argument
        std::span<const std::byte> beyond;
        if constexpr (uapi::described<Arg>) {
            if (vfiopp_size_field(std::type_identity<Arg>{}) == "argsz") {
                const auto argsz = load<uapi::u32>(image, 0);
                if (argsz >= sizeof(Arg) && argsz < image.size()) {
                    beyond = image.subspan(argsz);
                    t = t.first(argsz - sizeof(Arg));
                }
            }
        }
        auto used = typed_trailer(d, image, t, sizeof(Arg), ctx, s);
        if (!used) return used.error();
        if (*used < t.size()) s.bytes("trailer", sizeof(Arg) + *used, t.subspan(*used));
        if (!beyond.empty()) s.bytes("beyond argsz", image.size() - beyond.size(), beyond);
        return {};
    }
}

/// The ioctl an image belongs to, as JSON.
json ioctl_json(const uapi::ioctl_info& i) {
    return json{{"name", i.name},
                {"code", i.code},
                {"code_hex", fmt::format("{:#06x}", i.code)},
                {"fd", fd_token(i.fd)},
                {"abi", uapi::to_string(i.abi)},
                {"arg", uapi::to_string(i.arg)},
                {"arg_type", i.arg_type_name.empty() ? json(nullptr) : json(i.arg_type_name)}};
}

// ---- finding the ioctl ----

/// Every registry entry the command line's IOCTL (kernel name, C++ name, or code) names, before --fd / --abi.
std::vector<const uapi::ioctl_info*> named(std::string_view spec) {
    std::vector<const uapi::ioctl_info*> out;
    if (!spec.empty() && std::isdigit(static_cast<unsigned char>(spec[0]))) {
        char* end = nullptr;
        const std::string s(spec);
        const unsigned long code = std::strtoul(s.c_str(), &end, 0);
        if (end == nullptr || *end != '\0') return out;
        for (const auto* i : uapi::find_ioctls(static_cast<uapi::u32>(code))) out.push_back(i);
        return out;
    }
    for (const auto& i : uapi::ioctl_registry)
        if (iequals(i.name, spec) || iequals(i.cxx_name, spec) || iequals(qualified_cxx_name(i), spec)) out.push_back(&i);
    return out;
}

/// One line per candidate, with the options that select it.
std::string candidates_text(const std::vector<const uapi::ioctl_info*>& v) {
    std::string s;
    for (const auto* i : v)
        fmt::format_to(std::back_inserter(s), "  {:<36} {:#06x}  --fd {:<9} --abi {}\n", i->name, i->code, fd_token(i->fd),
                       uapi::to_string(i->abi));
    return s;
}

/// The registry entry the command line selects, or a usage error (exit 2) saying why, with the candidates. With
/// --abi seed or v7, a mainline ioctl is found too (a 2020 proposal kernel is a mainline kernel plus the proposal),
/// and `ctx.v7_caps` is set so that an IOMMU info reply's capability 3 reads as NESTING.
const uapi::ioctl_info* resolve(std::string_view spec, std::optional<uapi::fd_kind> fd, std::optional<uapi::abi_kind> abi,
                                decode_context& ctx) {
    const auto all = named(spec);
    auto select = [&](std::optional<uapi::abi_kind> a) {
        std::vector<const uapi::ioctl_info*> v;
        for (const auto* i : all)
            if ((!fd || *fd == i->fd) && (!a || *a == i->abi)) v.push_back(i);
        return v;
    };
    auto found = select(abi);
    if (found.empty() && abi && *abi != uapi::abi_kind::mainline) {
        found = select(uapi::abi_kind::mainline);
        ctx.v7_caps = *abi == uapi::abi_kind::v7;
    }
    if (found.size() == 1) return found.front();
    if (found.size() > 1) {
        fmt::print(stderr,
                   "vfio-decode: {} is ambiguous: {} ioctls use it; say which with --fd and/or --abi:\n{}", spec,
                   found.size(), candidates_text(found));
        return nullptr;
    }
    if (!all.empty()) {
        fmt::print(stderr, "vfio-decode: {} is not an ioctl{}{}; it is:\n{}", spec,
                   fd ? fmt::format(" of a {} fd", fd_token(*fd)) : "",
                   abi ? fmt::format(" in the {} ABI", uapi::to_string(*abi)) : "", candidates_text(all));
        return nullptr;
    }
    fmt::print(stderr, "vfio-decode: no ioctl vfiopp mirrors is named {} (vfio-decode --list shows them)\n", spec);
    for (const auto& l : uapi::left_out_ioctls)
        if (iequals(l.name, spec)) fmt::print(stderr, "vfio-decode: {} is left out on purpose: {} ({})\n", l.name, l.reason, l.platform);
    return nullptr;
}

// ---- the registry as JSON ----

/// The registry, every struct, enum family and constant, as JSON: what a script needs instead of hand-written
/// constants. Keys: structs by kernel name ("seed::" / "v7::" for the 2020 proposal's, whose names collide), enum
/// families by their C++ name, constants by kernel macro name.
class catalog {
public:
    /// Registers T's key (first pass: fields may name any struct).
    template <typename T>
    void declare_struct(std::string_view header) {
        const std::string name(uapi::layout_of<T>.name);
        const bool proposal = header == "seed" || header == "v7";
        struct_keys_[typeid(T)] = proposal ? fmt::format("{}::{}", header, name) : name;
    }
    /// Describes T: size, alignment, every field's name, offset, size and type, its flexible array.
    template <typename T>
    void add_struct(std::string_view header, std::string_view since) {
        json fields = json::array();
        uapi::for_each_field(uapi::layout_of<T>, [&](auto f) {
            using M = typename decltype(f)::type;
            json j = json{{"name", f.name}, {"offset", f.offset}, {"size", sizeof(M)}};
            j.update(type_json<M>());
            fields.push_back(std::move(j));
        });
        json s = json{{"name", uapi::layout_of<T>.name}, {"header", header}, {"since", since},
                      {"size", uapi::layout_of<T>.size}, {"align", uapi::layout_of<T>.align}, {"fields", fields}};
        if constexpr (uapi::has_flexible_array<T>) {
            using F = uapi::flexible_array_of<T>;
            json flex = json{{"name", uapi::flexible_array_name<T>}, {"offset", F::offset}};
            flex["element"] = type_json<typename F::element_type>();
            flex["element"]["size"] = sizeof(typename F::element_type);
            s["flex"] = flex;
        } else {
            s["flex"] = nullptr;
        }
        structs_[struct_key<T>()] = std::move(s);
    }
    /// Registers an enum family's key (first pass).
    template <typename E>
    void declare_enum(std::string_view family) {
        enum_keys_[typeid(E)] = std::string(family);
    }
    /// Describes an enum family: every value with its C++ and kernel name.
    template <typename E>
    void add_enum(std::string_view family, std::string_view header) {
        json values = json::array();
        for (const auto& e : uapi::enum_entries<E>)
            values.push_back(json{{"name", e.name}, {"kernel_name", e.kernel_name},
                                  {"value", static_cast<std::underlying_type_t<E>>(e.value)}});
        enums_[std::string(family)] = json{{"kind", uapi::flag_enum<E> ? "flags" : "enum"}, {"header", header},
                                           {"type", vfiopp::detail::arg_type_name<std::underlying_type_t<E>>()},
                                           {"values", values}};
        enum_values_ += uapi::enum_entries<E>.size();
    }
    /// A lone constant of a VFIOPP_CONSTANTS_* list.
    template <typename V>
    void add_constant(std::string_view name, std::string_view kernel_name, V value, std::string_view header,
                      std::string_view since) {
        std::string key(kernel_name);
        if (constants_.contains(key)) key = fmt::format("{}::{}", header, kernel_name);
        constants_[key] = json{{"name", name}, {"header", header}, {"since", since},
                               {"type", vfiopp::detail::arg_type_name<V>()}, {"value", value}};
    }
    /// An ioctl of the registry, with its typed def (for the argument's struct key).
    template <typename A>
    void add_ioctl(const uapi::ioctl_info& i, const uapi::ioctl_def<A>&) {
        json j = ioctl_json(i);
        j["cxx_name"] = qualified_cxx_name(i);
        j["header"] = uapi::to_string(i.header);
        j["source"] = uapi::source_of(i.header);
        j["since"] = i.since;
        j["arg_size"] = i.arg_size;
        if constexpr (uapi::described<A>) j["arg_struct"] = struct_key<A>();
        else j["arg_struct"] = nullptr;
        j["returns"] = json{{"kind", uapi::to_string(i.ret.kind)},
                            {"fd_offset", i.ret.kind == uapi::returns::out_fd ? json(i.ret.fd_offset) : json(nullptr)}};
        ioctls_.push_back(std::move(j));
    }
    /// The whole export.
    json document() const {
        json left_ioctls = json::array(), left_structs = json::array();
        for (const auto& l : uapi::left_out_ioctls)
            left_ioctls.push_back(json{{"name", l.name}, {"code", l.code}, {"code_hex", fmt::format("{:#06x}", l.code)},
                                       {"fd", fd_token(l.fd)}, {"platform", l.platform}, {"reason", l.reason}});
        for (const auto& l : uapi::left_out_structs)
            left_structs.push_back(json{{"name", l.name}, {"platform", l.platform}, {"reason", l.reason}});
        return json{{"generator", "vfio-decode --list --json (vfiopp, from include/vfiopp/uapi)"},
                    {"counts", json{{"ioctls", ioctls_.size()}, {"structs", structs_.size()}, {"enums", enums_.size()},
                                    {"enum_values", enum_values_}, {"constants", constants_.size()}}},
                    {"ioctls", ioctls_},
                    {"structs", structs_},
                    {"enums", enums_},
                    {"constants", constants_},
                    {"left_out", json{{"ioctls", left_ioctls}, {"structs", left_structs}}}};
    }

private:
    template <typename T>
    std::string struct_key() const {
        auto it = struct_keys_.find(typeid(T));
        return it != struct_keys_.end() ? it->second : std::string(uapi::layout_of<T>.name);
    }
    template <typename E>
    json enum_key() const {
        auto it = enum_keys_.find(typeid(E));
        return it != enum_keys_.end() ? json(it->second) : json(vfiopp::detail::pretty_type_name<E>());
    }
    /// What a field's type is: integer, flags / enum (with the family), struct (with its key), array, union.
    template <typename M>
    json type_json() const {
        if constexpr (uapi::is_bitmask_v<M>) {
            using E = typename M::enum_type;
            return json{{"kind", "flags"}, {"type", vfiopp::detail::arg_type_name<std::underlying_type_t<E>>()},
                        {"enum", enum_key<E>()}};
        } else if constexpr (uapi::named_enum<M>) {
            return json{{"kind", "enum"}, {"type", vfiopp::detail::arg_type_name<std::underlying_type_t<M>>()},
                        {"enum", enum_key<M>()}};
        } else if constexpr (std::is_enum_v<M>) {
            return json{{"kind", "integer"}, {"type", vfiopp::detail::arg_type_name<std::underlying_type_t<M>>()}};
        } else if constexpr (uapi::described<M>) {
            return json{{"kind", "struct"}, {"type", uapi::layout_of<M>.name}, {"struct", struct_key<M>()}};
        } else if constexpr (vfiopp::detail::is_std_array_v<M>) {
            using E = typename M::value_type;
            json e = type_json<E>();
            e["size"] = sizeof(E);
            return json{{"kind", "array"}, {"count", std::tuple_size_v<M>}, {"element", e}};
        } else if constexpr (std::is_integral_v<M>) {
            return json{{"kind", "integer"}, {"type", vfiopp::detail::arg_type_name<M>()}};
        } else if constexpr (std::is_pointer_v<M>) {  // a user pointer (vfio_bitmap::data)
            return json{{"kind", "pointer"}, {"type", fmt::format("{} *", vfiopp::detail::arg_type_name<std::remove_pointer_t<M>>())}};
        } else {
            // A union has no descriptor (its members are not reflectable); an anonymous one has no portable name.
            std::string_view name = vfiopp::detail::pretty_type_name<M>();
            const bool anonymous = name.find("unnamed") != std::string_view::npos || name.find("anonymous") != std::string_view::npos;
            return json{{"kind", std::is_union_v<M> ? "union" : "bytes"}, {"type", anonymous ? json(nullptr) : json(name)}};
        }
    }

    std::map<std::type_index, std::string> struct_keys_;
    std::map<std::type_index, std::string> enum_keys_;
    json ioctls_ = json::array();
    json structs_ = json::object();
    json enums_ = json::object();
    json constants_ = json::object();
    std::size_t enum_values_ = 0;
};

// The mirror headers' X-macro lists, expanded once more: every struct, enum family and constant.
#define VFIODEC_DECLARE_STRUCT(T, size, align, since) c.declare_struct<T>(header);
#define VFIODEC_ADD_STRUCT(T, size, align, since) c.add_struct<T>(header, #since);
#define VFIODEC_DECLARE_ENUM(E) c.declare_enum<::vfiopp::uapi::E>(#E);
#define VFIODEC_ADD_ENUM(E) c.add_enum<::vfiopp::uapi::E>(#E, header);
#define VFIODEC_ADD_CONSTANT(n, K, v, since) c.add_constant(#n, #K, (v), header, #since);

/// Runs LIST(X) with `header` naming the mirror header (the proposal's structs need their revision's namespace).
#define VFIODEC_EACH_HEADER(WHAT, X)                                                   \
    {                                                                                  \
        using namespace ::vfiopp::uapi;                                                \
        std::string_view header = "vfio";                                              \
        VFIOPP_##WHAT##_vfio(X) header = "iommufd";                                    \
        VFIOPP_##WHAT##_iommufd(X) header = "iommu";                                   \
        VFIOPP_##WHAT##_iommu(X)                                                       \
    }                                                                                  \
    {                                                                                  \
        using namespace ::vfiopp::uapi;                                                \
        using namespace ::vfiopp::uapi::seed;                                          \
        [[maybe_unused]] std::string_view header = "seed";                             \
        VFIOPP_##WHAT##_seed(X)                                                        \
    }                                                                                  \
    {                                                                                  \
        using namespace ::vfiopp::uapi;                                                \
        using namespace ::vfiopp::uapi::v7;                                            \
        [[maybe_unused]] std::string_view header = "v7";                               \
        VFIOPP_##WHAT##_v7(X)                                                          \
    }

/// The registry export, built from the lists and ioctl_registry.
json registry_json() {
    catalog c;
    VFIODEC_EACH_HEADER(STRUCTS, VFIODEC_DECLARE_STRUCT)
    VFIODEC_EACH_HEADER(ENUMS, VFIODEC_DECLARE_ENUM)
    VFIODEC_EACH_HEADER(STRUCTS, VFIODEC_ADD_STRUCT)
    VFIODEC_EACH_HEADER(ENUMS, VFIODEC_ADD_ENUM)
    VFIODEC_EACH_HEADER(CONSTANTS, VFIODEC_ADD_CONSTANT)
    for (const auto& i : uapi::ioctl_registry) uapi::visit_ioctl(i, [&](const auto& def) { c.add_ioctl(i, def); });
    return c.document();
}

// ---- the commands ----

/// --list: one line per ioctl, or the registry as JSON.
int list(bool as_json) {
    if (as_json) {
        fmt::print("{}\n", registry_json().dump(2));
        return exit_ok;
    }
    for (const auto& i : uapi::ioctl_registry)
        fmt::print("{} {:#06x} {} {}\n", i.name, i.code, fd_token(i.fd), uapi::to_string(i.abi));
    return exit_ok;
}

/// Decodes `image` as the argument of `info` and prints it (text or JSON).
int decode(const uapi::ioctl_info& info, std::span<const std::byte> image, const decode_context& ctx, bool as_json) {
    auto d = wire::decode(info.code, image, {.fd = info.fd, .abi = info.abi});
    if (!d) {
        fmt::print(stderr, "vfio-decode: {}\n", d.error());
        return exit_decode;
    }
    return std::visit(
        [&](const auto& a) -> int {
            using Arg = typename std::remove_cvref_t<decltype(a)>::arg_type;
            if (as_json) {
                json_sink s;
                if (auto r = walk(a, image, ctx, s); !r) {
                    fmt::print(stderr, "vfio-decode: {}\n", r.error());
                    return exit_decode;
                }
                json out = json{{"ioctl", ioctl_json(info)}, {"size", image.size()}};
                if (ctx.v7_caps) out["caps_abi"] = "v7";
                if constexpr (std::is_same_v<Arg, uapi::no_arg>) {
                    out["value"] = nullptr;
                    out["parts"] = json::array();
                } else {
                    out["value"] = s.parts.front()["value"];
                    out["parts"] = s.parts;
                }
                fmt::print("{}\n", out.dump(2));
                return exit_ok;
            }
            text_sink s;
            if (auto r = walk(a, image, ctx, s); !r) {
                fmt::print(stderr, "vfio-decode: {}\n", r.error());
                return exit_decode;
            }
            std::string what;
            if constexpr (std::is_same_v<Arg, uapi::no_arg>)
                what = info.arg == uapi::arg_kind::value ? "its argument is an integer passed by value, not an image"
                                                         : "no argument";
            else if constexpr (std::is_same_v<Arg, char>)
                what = "argument in: a NUL-terminated string";
            else
                what = fmt::format("argument {}: {}, {} bytes", uapi::to_string(info.arg), info.arg_type_name, sizeof(Arg));
            fmt::print("{}: code {:#06x}, {} fd, {} ABI{}; {}; image {} bytes\n{}", info.name, info.code,
                       fd_token(info.fd), uapi::to_string(info.abi), ctx.v7_caps ? " (capabilities read as v7)" : "",
                       what, image.size(), s.out);
            return exit_ok;
        },
        *d);
}

constexpr std::string_view footer =
    "IOCTL is a kernel name (VFIO_IOMMU_MAP_DMA), the ioctl_def's name (iommu_map_dma, vfio::iommu_map_dma) or a\n"
    "request code (0x3b71). Codes are reused across fds and ABIs (0x3b76 is VFIO_DEVICE_BIND_IOMMUFD on a device\n"
    "fd and the 2020 proposal's v7 VFIO_IOMMU_PASID_REQUEST on a container): an ambiguous one is refused with the\n"
    "candidates listed. HEX is the image (the bytes at the ioctl's third argument), whitespace and ':' ignored;\n"
    "without HEX arguments it is read from stdin.\n"
    "\n"
    "Exit status: 0 decoded or listed; 1 the image does not decode (the library's error names the ioctl, the field\n"
    "and the errno); 2 usage (bad option, unknown or ambiguous ioctl, input that is not hex).\n"
    "\n"
    "Examples:\n"
    "  vfio-decode VFIO_IOMMU_MAP_DMA 20000000 03000000 00000000007f0000 0000100000000000 0000200000000000\n"
    "  vfio-decode 0x3b77 --fd container --abi v7 < nesting_op.hex\n"
    "  vfio-decode --list --json > vfio-registry.json";

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"vfio-decode: decode a VFIO / iommufd ioctl argument image, typed (vfiopp)", "vfio-decode"};
    std::string spec;
    std::vector<std::string> hex_args;
    std::string fd_opt, abi_opt;
    bool do_list = false, as_json = false;
    app.add_option("IOCTL", spec, "the ioctl: kernel name, ioctl_def name, or request code (0x3b71)");
    app.add_option("HEX", hex_args, "the image as hex (else read from stdin)");
    std::vector<std::string> fd_names;
    for (auto k : all_fd_kinds) fd_names.push_back(fd_token(k));
    app.add_option("--fd", fd_opt, "the fd kind the ioctl was issued on")->check(CLI::IsMember(fd_names));
    app.add_option("--abi", abi_opt, "the ABI: mainline, or a 2020 proposal revision (seed, v7)")
        ->check(CLI::IsMember({"mainline", "seed", "v7"}));
    app.add_flag("--list", do_list, "print every known ioctl: NAME 0xCODE FD ABI (with --json: the whole registry)");
    app.add_flag("--json", as_json, "print JSON");
    app.footer(std::string(footer));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? exit_ok : exit_usage;
    }

    if (do_list) {
        if (!spec.empty()) {
            fmt::print(stderr, "vfio-decode: --list takes no IOCTL or HEX\n");
            return exit_usage;
        }
        return list(as_json);
    }
    if (spec.empty()) {
        fmt::print(stderr, "vfio-decode: give an IOCTL (name or code) and its image, or --list (--help for more)\n");
        return exit_usage;
    }
    decode_context ctx;
    const auto* info = resolve(spec, parse_fd(fd_opt), parse_abi(abi_opt), ctx);
    if (info == nullptr) return exit_usage;

    std::string text;
    if (!hex_args.empty()) {
        for (const auto& h : hex_args) (text += h) += ' ';
    } else if (!isatty(STDIN_FILENO)) {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }
    std::string why;
    auto image = parse_hex(text, why);
    if (!image) {
        fmt::print(stderr, "vfio-decode: the image is not hex: {}\n", why);
        return exit_usage;
    }
    return decode(*info, *image, ctx, as_json);
}
