// examples/vfio-trace/render.hpp - one ioctl argument image as text ({fmt}, vfiopp's formatters) and as JSON.
//
// The mirror struct prints through vfiopp's formatters (<vfiopp/fmt.hpp>, <vfiopp/wire/fmt.hpp>), so the trace reads
// like every other vfiopp message; JSON is derived from the same layout descriptors (uapi::layout_of). What follows
// the struct is decoded where the uAPI says what it is: capability chains of the info replies (wire::*_chain),
// SET_IRQS eventfds/bools, hot-reset devices and group fds, a device feature's payload (by feature number), unmap
// and dirty-page bitmaps, and the arrays iommufd ioctls point to (IOVA ranges, GET_HW_INFO's VT-d data), read from
// the tracee. Anything else after the struct is shown as bytes.
#pragma once

#include "fds.hpp"
#include "memory.hpp"

#include <vfiopp/error.hpp>
#include <vfiopp/fmt.hpp>
#include <vfiopp/uapi/registry.hpp>
#include <vfiopp/wire/caps.hpp>
#include <vfiopp/wire/decode.hpp>
#include <vfiopp/wire/fmt.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace vfio_trace {

using json = nlohmann::ordered_json;  // ordered: fields come out in the struct's order
namespace uapi = vfiopp::uapi;
namespace wire = vfiopp::wire;

/// errno names, including the kernel-internal restart codes a tracer sees when a signal interrupts a call
/// (they never reach the program: the call is restarted or fails with EINTR).
inline std::string errno_text(int e) {
    switch (e) {
        case 512: return "ERESTARTSYS";
        case 513: return "ERESTARTNOINTR";
        case 514: return "ERESTARTNOHAND";
        case 515: return "ENOIOCTLCMD";
        case 516: return "ERESTART_RESTARTBLOCK";
    }
    auto n = vfiopp::errno_name(e);
    return n.empty() ? fmt::format("errno {}", e) : std::string(n);
}

// ---- JSON of any mirrored value ----

template <typename T>
inline constexpr bool is_std_array_v = false;
template <typename T, std::size_t N>
inline constexpr bool is_std_array_v<std::array<T, N>> = true;
template <typename T>
inline constexpr bool is_byte_array_v = false;
template <std::size_t N>
inline constexpr bool is_byte_array_v<std::array<std::uint8_t, N>> = true;

inline std::string hex_bytes(std::span<const std::byte> b, std::size_t max = SIZE_MAX) {
    std::string s;
    for (std::size_t i = 0; i < b.size() && i < max; ++i) s += fmt::format("{:02x}", static_cast<unsigned>(b[i]));
    if (b.size() > max) s += fmt::format("...(+{} bytes)", b.size() - max);
    return s;
}

/// JSON of a mirror value: structs are objects (fields in order), flags and enums their names as {fmt} prints
/// them ("read|write", "type1v2_iommu"), integers numbers, byte arrays and unions hex strings.
template <typename V>
json to_json(const V& v) {
    if constexpr (uapi::is_bitmask_v<V>) {
        return fmt::format("{}", v);
    } else if constexpr (uapi::named_enum<V>) {
        if (auto n = uapi::enum_name(v)) return std::string(*n);
        return static_cast<std::underlying_type_t<V>>(v);
    } else if constexpr (std::is_enum_v<V>) {
        return static_cast<std::underlying_type_t<V>>(v);
    } else if constexpr (uapi::described<V>) {
        json o = json::object();
        uapi::for_each_field(uapi::layout_of<V>, [&](auto f) { o[std::string(f.name)] = to_json(v.*(f.member)); });
        return o;
    } else if constexpr (std::is_integral_v<V>) {
        return v;
    } else if constexpr (std::is_pointer_v<V>) {  // a user pointer (vfio_bitmap::data): its address
        return reinterpret_cast<std::uintptr_t>(v);
    } else if constexpr (is_byte_array_v<V>) {
        return hex_bytes(std::as_bytes(std::span(v)));
    } else if constexpr (is_std_array_v<V>) {
        json a = json::array();
        for (const auto& e : v) a.push_back(to_json(e));
        return a;
    } else {
        static_assert(std::is_trivially_copyable_v<V>);
        return hex_bytes(std::as_bytes(std::span<const V, 1>(&v, 1)));  // a union: which member is live is not knowable
    }
}

/// Text of a value: vfiopp's formatter for mirrors, numbers as {fmt} prints them.
template <typename V>
std::string to_text(const V& v) {
    if constexpr (uapi::described<V> || uapi::is_bitmask_v<V> || uapi::named_enum<V>)
        return fmt::format("{}", v);
    else if constexpr (std::is_same_v<V, std::uint64_t>)
        return fmt::format("{:#x}", v);
    else
        return fmt::format("{}", v);
}

/// One rendered image: the text after the ioctl name, and the same as a JSON object.
struct rendered {
    std::string text;
    json js = json::object();

    /// Appends " label=text" and js[label].
    void add(std::string_view label, std::string t, json j) {
        text += fmt::format("{}{}={}", text.empty() ? "" : " ", label, t);
        js[std::string(label)] = std::move(j);
    }
    template <typename V>
    void add_array(std::string_view label, const std::vector<V>& elems, std::string_view suffix = "") {
        std::string t = "[";
        json j = json::array();
        for (std::size_t i = 0; i < elems.size(); ++i) {
            t += (i ? ", " : "") + to_text(elems[i]);
            j.push_back(to_json(elems[i]));
        }
        add(label, t + "]" + std::string(suffix), std::move(j));
    }
    void note(std::string n) {
        text += fmt::format("{}({})", text.empty() ? "" : " ", n);
        js["notes"].push_back(std::move(n));
    }
};

/// What rendering may need beyond the image: the tracee (pointed-to arrays) and the fd table (fd fields).
struct render_ctx {
    pid_t tid = 0;
    std::function<fd_kind(int)> kind_of;
};

/// Which image: what the caller passed (read at syscall entry) or what the kernel left (at exit).
enum class phase { request, reply };

template <typename E>
std::vector<E> elements_at(std::span<const std::byte> image, std::size_t offset, std::size_t count) {
    std::vector<E> out;
    for (std::size_t i = 0; i < count && offset + (i + 1) * sizeof(E) <= image.size(); ++i) {
        E e;
        std::memcpy(&e, image.data() + offset + i * sizeof(E), sizeof(E));
        out.push_back(e);
    }
    return out;
}

/// `count` elements of E at `addr` in the tracee (an iommufd ioctl's pointer field); at most `limit` shown.
template <typename E>
void add_remote_array(rendered& r, const render_ctx& ctx, std::string_view label, std::uint64_t addr,
                      std::size_t count, std::size_t limit = 64) {
    if (count == 0 || addr == 0) return;
    std::size_t n = std::min(count, limit);
    auto got = read_remote(ctx.tid, addr, n * sizeof(E));
    auto elems = elements_at<E>(got.bytes, 0, n);
    std::string suffix = n < count ? fmt::format(" (+{} not shown)", count - n) : "";
    if (!got.complete) suffix += fmt::format(" (unreadable: {})", errno_text(got.err));
    r.add_array(label, elems, suffix);
}

// ---- capability chains ----

template <typename Cap>
json cap_json(const Cap& c) {
    json j = json::object();
    if constexpr (std::is_same_v<Cap, wire::unknown_cap>) {
        j["cap"] = "unknown";
        j["offset"] = c.offset;
        j["header"] = to_json(c.value);
        j["bytes"] = c.bytes.size();
    } else {
        j["cap"] = std::string(Cap::name);
        j["offset"] = c.offset;
        j["value"] = to_json(c.value);
        if constexpr (vfiopp::detail::array_cap<Cap>) {
            json a = json::array();
            for (auto e : c.elements()) a.push_back(to_json(e));
            j[std::string(Cap::count_field)] = std::move(a);
        }
    }
    return j;
}

/// A reply with a capability chain: the struct and its chain as wire/fmt.hpp prints them ("... caps=[...]").
/// A malformed chain is reported (the error names the field), and the caller prints the struct alone.
template <typename Chain>
bool render_chain(rendered& r, std::span<const std::byte> image) {
    auto chain = Chain::parse(image);
    if (!chain) {
        r.note(fmt::format("capability chain: {}", chain.error()));
        return false;
    }
    r.text = fmt::format("{}", *chain);
    r.js = to_json(chain->reply());
    if (chain->truncated()) {
        r.js["caps"] = fmt::format("truncated: argsz {} needed", chain->required_argsz());
    } else {
        json caps = json::array();
        for (const auto& cap : *chain) caps.push_back(std::visit([](const auto& c) { return cap_json(c); }, cap));
        r.js["caps"] = std::move(caps);
    }
    return true;
}

// ---- the typed image ----

template <typename A>
constexpr bool has_size_field() {
    if constexpr (requires { vfiopp_size_field(std::type_identity<A>{}); })
        return !vfiopp_size_field(std::type_identity<A>{}).empty();
    else
        return false;
}

/// The feature payloads a VFIO_DEVICE_FEATURE may carry, by feature number (wire::vfio::feature_traits).
using feature_payloads =
    std::tuple<uapi::vfio_device_feature_migration, uapi::vfio_device_feature_mig_state,
               uapi::vfio_device_low_power_entry_with_wakeup, uapi::vfio_device_feature_dma_logging_control,
               uapi::vfio_device_feature_dma_logging_report, uapi::vfio_device_feature_mig_data_size,
               uapi::vfio_device_feature_bus_master, uapi::vfio_device_feature_dma_buf>;

inline void render_feature(rendered& r, const uapi::vfio_device_feature& h, std::span<const std::byte> image, phase ph) {
    auto flags = h.flags.bits();
    auto id = static_cast<std::uint16_t>(flags & 0xffff);
    auto feature = static_cast<uapi::device_feature_id>(id);
    if (auto name = uapi::enum_name(feature))
        r.add("feature", std::string(*name), std::string(*name));
    else
        r.add("feature", fmt::format("{}", id), id);
    const bool get = flags & static_cast<std::uint32_t>(uapi::device_feature_flag::get);
    const bool set = flags & static_cast<std::uint32_t>(uapi::device_feature_flag::set);
    const bool probe = flags & static_cast<std::uint32_t>(uapi::device_feature_flag::probe);
    // The kernel reads the payload of a SET and writes the payload of a GET (and a MIG_DEVICE_STATE SET's data_fd);
    // a PROBE has none.
    const bool writes_back = get || feature == uapi::device_feature_id::mig_device_state;
    if (probe || (ph == phase::request && !set) || (ph == phase::reply && !writes_back)) return;
    auto payload = image.size() > sizeof(uapi::vfio_device_feature) ? image.subspan(sizeof(uapi::vfio_device_feature))
                                                                     : std::span<const std::byte>{};
    if (feature == uapi::device_feature_id::pci_vf_token) {  // a bare UUID, no mirror struct
        auto uuid = hex_bytes(payload.first(std::min<std::size_t>(16, payload.size())));
        r.add("uuid", uuid, uuid);
        return;
    }
    bool done = false;
    std::apply([&](auto... p) {
        ([&] {
            using P = decltype(p);
            if (done || wire::vfio::feature_traits<P>::id != feature) return;
            done = true;
            if (payload.size() < sizeof(P)) {
                r.add("payload", fmt::format("{} bytes, {} expected", payload.size(), sizeof(P)), payload.size());
                return;
            }
            P v;
            std::memcpy(&v, payload.data(), sizeof v);
            r.add("payload", to_text(v), to_json(v));
            if constexpr (uapi::has_flexible_array<P>) {
                using F = uapi::flexible_array_of<P>;
                using E = typename F::element_type;
                std::size_t room = payload.size() - std::min(payload.size(), F::offset);
                r.add_array(uapi::flexible_array_name<P>, elements_at<E>(payload, F::offset, room / sizeof(E)));
            }
        }(), ...);
    }, feature_payloads{});
    if (!done && !payload.empty()) r.add("payload", fmt::format("{{{}}}", hex_bytes(payload, 64)), hex_bytes(payload));
}

/// Renders `image` as the argument of ioctl `def` (type A); `in` is the request image when rendering a reply.
template <typename A>
rendered render_image(const uapi::ioctl_def<A>& def, std::span<const std::byte> image, std::span<const std::byte> in,
                      phase ph, const render_ctx& ctx) {
    rendered r;
    (void)def;  // it names A; the image says the rest
    if constexpr (std::is_same_v<A, uapi::no_arg>) {
        return r;
    } else if constexpr (std::is_same_v<A, char>) {  // VFIO_GROUP_GET_DEVICE_FD: the device's name
        std::string s(reinterpret_cast<const char*>(image.data()), image.size());
        if (auto nul = s.find('\0'); nul != std::string::npos) s.resize(nul);
        r.text = fmt::format("{:?}", s);  // quoted, control bytes escaped
        r.js["name"] = s;
        return r;
    } else if constexpr (!uapi::described<A>) {  // a pointer to one integer
        A v{};
        std::memcpy(&v, image.data(), std::min(sizeof v, image.size()));
        if constexpr (std::is_same_v<A, std::int32_t>) {  // VFIO_GROUP_SET_CONTAINER: the container's fd
            r.text = fmt::format("container_fd={} ({})", v, to_string(ctx.kind_of(v)));
            r.js["container_fd"] = v;
            r.js["container_fd_kind"] = std::string(to_string(ctx.kind_of(v)));
        } else {
            r.text = fmt::format("{}", v);
            r.js["value"] = v;
        }
        return r;
    } else {
        A v{};
        std::memcpy(&v, image.data(), std::min(sizeof v, image.size()));
        // a reply with a capability chain prints as the chain (which includes the struct)
        bool chained = false;
        if (ph == phase::reply) {
            if constexpr (std::is_same_v<A, uapi::vfio_iommu_type1_info>) chained = render_chain<wire::iommu_info_chain>(r, image);
            if constexpr (std::is_same_v<A, uapi::vfio_device_info>) chained = render_chain<wire::device_info_chain>(r, image);
            if constexpr (std::is_same_v<A, uapi::vfio_region_info>) chained = render_chain<wire::region_info_chain>(r, image);
        }
        if (!chained) {
            rendered plain;
            plain.text = to_text(v);
            plain.js = to_json(v);
            if (!r.text.empty()) plain.text += " " + r.text;  // a chain's error note
            if (r.js.contains("notes")) plain.js["notes"] = r.js["notes"];
            r = std::move(plain);
        }
        if (image.size() < sizeof(A))
            r.note(fmt::format("{} of {} bytes: the kernel reads no further", image.size(), sizeof(A)));
        auto trailer = image.size() > sizeof(A) ? image.subspan(sizeof(A)) : std::span<const std::byte>{};
        bool trailer_done = chained;
        if constexpr (std::is_same_v<A, uapi::vfio_iommu_type1_info> || std::is_same_v<A, uapi::vfio_device_info> ||
                      std::is_same_v<A, uapi::vfio_region_info>) {
            // before the call, the bytes past the struct are room for the capability chain, not data
            if (ph == phase::request && !trailer.empty()) {
                r.add("room", fmt::format("{} bytes", trailer.size()), trailer.size());
                trailer_done = true;
            }
        }
        if constexpr (std::is_same_v<A, uapi::vfio_irq_set>) {
            auto f = v.flags;
            if (f.has(uapi::irq_set_flag::data_eventfd)) r.add_array("eventfds", elements_at<std::int32_t>(image, 20, v.count));
            if (f.has(uapi::irq_set_flag::data_bool)) r.add_array("bools", elements_at<std::uint8_t>(image, 20, v.count));
            trailer_done = true;
        } else if constexpr (std::is_same_v<A, uapi::vfio_pci_hot_reset_info>) {
            if (ph == phase::reply) r.add_array("devices", elements_at<uapi::vfio_pci_dependent_device>(image, 12, v.count));
            trailer_done = true;
        } else if constexpr (std::is_same_v<A, uapi::vfio_pci_hot_reset>) {
            r.add_array("group_fds", elements_at<std::int32_t>(image, 12, v.count));
            trailer_done = true;
        } else if constexpr (std::is_same_v<A, uapi::vfio_device_feature>) {
            render_feature(r, v, image, ph);
            trailer_done = true;
        } else if constexpr (std::is_same_v<A, uapi::vfio_iommu_type1_dma_unmap>) {
            if (v.flags.has(uapi::unmap_dma_flag::get_dirty_bitmap)) {
                auto b = elements_at<uapi::vfio_bitmap>(image, 24, 1);
                if (!b.empty()) r.add("bitmap", to_text(b[0]), to_json(b[0]));
                trailer_done = true;
            }
        } else if constexpr (std::is_same_v<A, uapi::vfio_iommu_type1_dirty_bitmap>) {
            if (v.flags.has(uapi::dirty_pages_flag::get_bitmap)) {
                auto b = elements_at<uapi::vfio_iommu_type1_dirty_bitmap_get>(image, 8, 1);
                if (!b.empty()) r.add("range", to_text(b[0]), to_json(b[0]));
                trailer_done = true;
            }
        } else if constexpr (std::is_same_v<A, uapi::iommu_ioas_iova_ranges>) {
            // the kernel fills min(its count, the caller's capacity) ranges, and only on success
            if (ph == phase::reply && in.size() >= sizeof(A)) {
                A req;
                std::memcpy(&req, in.data(), sizeof req);
                add_remote_array<uapi::iommu_iova_range>(r, ctx, "ranges", v.allowed_iovas, std::min(v.num_iovas, req.num_iovas));
            }
        } else if constexpr (std::is_same_v<A, uapi::iommu_ioas_allow_iovas>) {
            if (ph == phase::request) add_remote_array<uapi::iommu_iova_range>(r, ctx, "ranges", v.allowed_iovas, v.num_iovas);
        } else if constexpr (std::is_same_v<A, uapi::iommu_hw_info>) {
            if (ph == phase::reply && v.data_type.out_data_type == uapi::hw_info_type::intel_vtd &&
                v.data_len >= sizeof(uapi::iommu_hw_info_vtd) && v.data_uptr != 0) {
                auto got = read_remote(ctx.tid, v.data_uptr, sizeof(uapi::iommu_hw_info_vtd));
                if (got.complete) {
                    uapi::iommu_hw_info_vtd vtd;
                    std::memcpy(&vtd, got.bytes.data(), sizeof vtd);
                    r.add("data", to_text(vtd), to_json(vtd));
                }
            }
        }
        if (!trailer_done && !trailer.empty())
            r.add("trailer", fmt::format("{{{}}}", hex_bytes(trailer, 64)), hex_bytes(trailer));
        return r;
    }
}

/// How many bytes an ioctl's argument image has, read from the tracee at `addr`: argsz/size for VFIO and iommufd
/// structs (their first u32), the NUL-terminated string for a device name, sizeof otherwise.
struct image_read {
    std::vector<std::byte> bytes;
    bool complete = true;
    int err = 0;
    std::size_t declared = 0;  ///< argsz as the caller gave it (or the size read)
    bool clipped = false;      ///< argsz larger than vfio-trace reads
};

inline constexpr std::size_t max_image = 1 << 20;  // no VFIO/iommufd argument is near this; a bogus argsz is clipped

template <typename A>
image_read read_image(pid_t tid, std::uint64_t addr) {
    image_read r;
    if constexpr (std::is_same_v<A, uapi::no_arg>) {
        return r;
    } else if constexpr (std::is_same_v<A, char>) {
        std::string s;
        bool ok = read_remote_string(tid, addr, 256, s);
        r.bytes.resize(s.size() + 1);
        std::memcpy(r.bytes.data(), s.data(), s.size());
        r.complete = ok;
        r.err = ok ? 0 : EFAULT;
        r.declared = r.bytes.size();
        return r;
    } else {
        std::size_t n = sizeof(A);
        if constexpr (has_size_field<A>()) {
            auto head = read_remote(tid, addr, 4);
            if (!head.complete) {
                r.complete = false;
                r.err = head.err;
                return r;
            }
            std::uint32_t argsz;
            std::memcpy(&argsz, head.bytes.data(), 4);
            r.declared = argsz;
            n = std::max<std::size_t>(argsz, 4);
            if (n > max_image) {
                n = max_image;
                r.clipped = true;
            }
        } else {
            r.declared = n;
        }
        auto got = read_remote(tid, addr, n);
        r.bytes = std::move(got.bytes);
        r.complete = got.complete;
        r.err = got.err;
        return r;
    }
}

}  // namespace vfio_trace
