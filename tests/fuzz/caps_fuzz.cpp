// libFuzzer target: the capability chain views of wire/caps.hpp, every chain kind (iommu_info_caps,
// iommu_info_caps_v7, device_info_caps, region_info_caps) over the same reply bytes, and their printing.
// Input: byte 0 bits 0-2 put the reply that many bytes off 8-byte alignment; the rest is the reply buffer, in an
// allocation of its own that ends where the reply ends (ASan sees any read past it).
// Invariants (abort on violation), for every kind:
//   - parse() refuses only with EINVAL or EOVERFLOW, naming the kind's ioctl and a field;
//   - a parsed chain's bytes() are the buffer's first min(size, argsz) bytes, reply() its first struct;
//     truncated() is "CAPS flag set, cap_offset 0"; empty() is "nothing to iterate";
//   - iterating yields the chain in order: the first at cap_offset, each next at the previous header's next, the
//     last with next 0; offsets 4-aligned, past the reply struct, strictly growing, each at least the previous
//     capability's fixed part further; a capability's bytes run from its offset to the next one (or the end) and
//     hold its fixed part; a known capability has its kind's id, an unknown one an id no known alternative has;
//     an array capability's elements are count * sizeof(element) bytes right after its fixed part, inside its bytes;
//   - size() counts what iterating yields; find<Cap>() is the first Cap iterated; the walk ends (no loop);
//   - parsing bytes() again gives the same chain; "{}" prints one line, "{:l}" prints.
#include <vfiopp/wire/fmt.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

using namespace vfiopp;

namespace {

[[noreturn]] void fail(const char* why) {
    std::fprintf(stderr, "caps_fuzz: invariant violated: %s\n", why);
    std::abort();
}

template <typename Kind, std::size_t I = 0>
constexpr bool known_id(uapi::u16 id) {
    using V = typename Kind::cap_type;
    if constexpr (I + 1 == std::variant_size_v<V>)
        return false;
    else
        return std::variant_alternative_t<I, V>::id == id || known_id<Kind, I + 1>(id);
}

template <typename Kind, typename Cap>
void check_find(const wire::cap_chain_view<Kind>& chain, const std::vector<typename Kind::cap_type>& seen) {
    std::optional<std::size_t> first;
    for (const auto& c : seen)
        if (auto p = std::get_if<Cap>(&c)) {
            first = p->offset;
            break;
        }
    auto f = chain.template find<Cap>();
    if (f.has_value() != first.has_value() || (f && f->offset != *first)) fail("find<Cap>() is not the first Cap");
}

template <typename Kind, std::size_t... I>
void check_finds(const wire::cap_chain_view<Kind>& chain, const std::vector<typename Kind::cap_type>& seen,
                 std::index_sequence<I...>) {
    (check_find<Kind, std::variant_alternative_t<I, typename Kind::cap_type>>(chain, seen), ...);
}

template <typename T>
T load(std::span<const std::byte> b, std::size_t off) {
    T v;
    std::memcpy(&v, b.data() + off, sizeof v);
    return v;
}

/// Walks a parsed chain checking every capability; returns their offsets.
template <typename Kind>
std::vector<std::size_t> walk(const wire::cap_chain_view<Kind>& chain) {
    using cap_type = typename Kind::cap_type;
    const auto bytes = chain.bytes();
    const auto flags = load<uapi::u32>(std::as_bytes(std::span(&chain.reply(), 1)), 4);
    std::size_t expect = (flags & Kind::caps_flag) ? chain.reply().cap_offset : 0;  // where the next one must be
    std::size_t min_next = sizeof(typename Kind::reply_type);
    std::vector<std::size_t> offsets;
    std::vector<cap_type> seen;
    for (const auto& cap : chain) {
        if (seen.size() > bytes.size() / 8) fail("the walk does not end");
        std::visit(
            [&](const auto& c) {
                using Cap = std::remove_cvref_t<decltype(c)>;
                constexpr std::size_t fixed = vfiopp::detail::cap_fixed_size<Cap>();
                if (c.offset != expect) fail("a capability is not where cap_offset / next says");
                if (c.offset % 4 != 0 || c.offset < min_next) fail("capability misaligned, backwards or overlapping");
                if (c.bytes.data() != bytes.data() + c.offset || c.offset + c.bytes.size() > bytes.size())
                    fail("capability bytes are not the reply's from its offset");
                if (c.bytes.size() < fixed) fail("capability bytes do not hold its fixed part");
                if (std::memcmp(&c.value, c.bytes.data(), sizeof c.value) != 0) fail("capability value is not its bytes");
                const auto& h = c.header();
                if constexpr (std::is_same_v<Cap, wire::unknown_cap>) {
                    if (known_id<Kind>(h.id)) fail("a known id read as unknown_cap");
                } else {
                    if (h.id != Cap::id) fail("capability read as the wrong kind");
                }
                if (c.offset + c.bytes.size() != (h.next > c.offset ? std::min<std::size_t>(h.next, bytes.size()) : bytes.size()))
                    fail("capability bytes do not end at the next capability (or the end of the reply)");
                if constexpr (vfiopp::detail::array_cap<Cap>) {
                    const auto& el = c.elements();
                    using E = typename std::remove_cvref_t<decltype(el)>::value_type;
                    if (el.size() != c.value.*Cap::count_member) fail("array size is not the count field");
                    if (el.bytes().size() != el.size() * sizeof(E)) fail("array bytes are not count * element");
                    if (!el.empty() && (el.bytes().data() != c.bytes.data() + fixed ||
                                        fixed + el.bytes().size() > c.bytes.size()))
                        fail("array is not right after the fixed part, inside the capability");
                    std::size_t i = 0;
                    for (E e : el) {
                        if (std::memcmp(&e, el.bytes().data() + i * sizeof(E), sizeof(E)) != 0) fail("element != bytes");
                        ++i;
                    }
                    if (i != el.size() || el.at(i).has_value() || (i && !el.at(i - 1))) fail("array iteration / at()");
                }
                expect = h.next;
                min_next = c.offset + fixed;
                offsets.push_back(c.offset);
                if (fmt::format("{}", cap).find('\n') != std::string::npos) fail("\"{}\" of a capability is not one line");
                (void)fmt::format("{:l}", c);
            },
            cap);
        seen.push_back(cap);
    }
    if (expect != 0) fail("the walk stopped before next == 0");
    if (chain.size() != seen.size()) fail("size() is not what iterating yields");
    if (chain.empty() != seen.empty()) fail("empty() is not 'nothing to iterate'");
    check_finds(chain, seen, std::make_index_sequence<std::variant_size_v<cap_type>>{});
    return offsets;
}

template <typename Kind>
void fuzz_chain(std::span<const std::byte> reply) {
    using reply_type = typename Kind::reply_type;
    auto chain = wire::cap_chain_view<Kind>::parse(reply);
    if (!chain) {
        const auto& e = chain.error();
        if (e.code != EINVAL && e.code != EOVERFLOW) fail("parse error is not EINVAL / EOVERFLOW");
        if (e.ioctl != Kind::ioctl || e.field.empty()) fail("parse error names no field or another ioctl");
        return;
    }
    if (reply.size() < sizeof(reply_type)) fail("parsed a reply shorter than its struct");
    const auto argsz = load<uapi::u32>(reply, 0), flags = load<uapi::u32>(reply, 4);
    if (chain->bytes().data() != reply.data() || chain->bytes().size() != std::min<std::size_t>(reply.size(), argsz))
        fail("bytes() is not the first min(size, argsz) bytes");
    if (std::memcmp(&chain->reply(), reply.data(), sizeof(reply_type)) != 0) fail("reply() is not the reply's struct");
    if (chain->truncated() != ((flags & Kind::caps_flag) && chain->reply().cap_offset == 0)) fail("truncated()");
    if (chain->required_argsz() != argsz) fail("required_argsz() is not argsz");
    const auto offsets = walk(*chain);
    if (chain->truncated() && !offsets.empty()) fail("a truncated chain yields capabilities");
    // the readable part parses to the same chain (when it holds the struct: argsz may be below it)
    if (chain->bytes().size() >= sizeof(reply_type)) {
        auto again = wire::cap_chain_view<Kind>::parse(chain->bytes());
        if (!again || walk(*again) != offsets) fail("parse(bytes()) is not the same chain");
    }
    if (fmt::format("{}", *chain).find('\n') != std::string::npos) fail("\"{}\" of a chain is not one line");
    (void)fmt::format("{:l}", *chain);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::size_t n = size - 1, skew = data[0] & 0x7;
    auto buf = std::make_unique<std::byte[]>(n + skew);
    if (n) std::memcpy(buf.get() + skew, data + 1, n);
    const std::span<const std::byte> reply(buf.get() + skew, n);
    fuzz_chain<wire::iommu_info_caps>(reply);
    fuzz_chain<wire::iommu_info_caps_v7>(reply);
    fuzz_chain<wire::device_info_caps>(reply);
    fuzz_chain<wire::region_info_caps>(reply);
    return 0;
}
