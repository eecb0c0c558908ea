// libFuzzer target: wire::decode() of every mirrored ioctl's argument image (wire/decode.hpp), its round trip through
// wire::encode() and its printing (wire/fmt.hpp).
// Input: byte 0 picks the ioctl (an index into every mirrored ioctl_def, or when >= their count the raw code
// 0x3b00 | byte 0); byte 1 the options: bit 7 gives the fd kind (bits 0-2, mod 5), bit 6 the ABI (bits 3-4, mod 3),
// bit 5 decodes by kernel name instead of code (by def only); the rest is the image, in an allocation of its own
// that ends where the image ends (ASan sees any read past it) and starts 1 byte off alignment when bit 4 is set.
// Invariants (abort on violation):
//   - decode() answers a decoded_arg or ENOTTY (exactly when no def matches code/name, fd and ABI) or EINVAL
//     (several match; or the image is too short, or not empty for a no-pointer ioctl);
//   - what it decodes is the one def that matches: same code (or name), fd kind and ABI as asked, trailer = the
//     image after sizeof(Arg); encode() gives the image back byte for byte;
//   - every def decodes from its own code given its own fd kind and ABI, and from its name given its ABI, exactly
//     when the image fits (decode_as agrees), and to that def;
//   - "{}" prints one line, "{:l}" prints; neither throws.
#include <vfiopp/wire/fmt.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

using namespace vfiopp;

namespace {

[[noreturn]] void fail(const char* why) {
    std::fprintf(stderr, "decode_fuzz: invariant violated: %s\n", why);
    std::abort();
}

struct def_key {
    uapi::u32 code;
    std::string_view name;
    uapi::fd_kind fd;
    uapi::abi_kind abi;
};

const std::vector<def_key>& all_defs() {
    static const std::vector<def_key> defs = [] {
        std::vector<def_key> v;
        wire::for_each_decodable([&](const auto& d) { v.push_back({d.code, d.name, d.fd, d.abi}); });
        return v;
    }();
    return defs;
}

template <typename Key>
std::size_t matches(Key key, const wire::decode_options& o) {
    std::size_t n = 0;
    for (const auto& d : all_defs()) {
        bool k;
        if constexpr (std::is_same_v<Key, uapi::u32>)
            k = d.code == key;
        else
            k = d.name == key;
        if (k && (!o.fd || *o.fd == d.fd) && (!o.abi || *o.abi == d.abi)) ++n;
    }
    return n;
}

void check_decoded(const wire::decoded_arg& d, std::span<const std::byte> img) {
    std::visit(
        [&](const auto& a) {
            using Arg = typename std::remove_cvref_t<decltype(a)>::arg_type;
            if constexpr (std::is_same_v<Arg, uapi::no_arg>) {
                if (!img.empty() || !a.trailer.empty()) fail("no_arg decoded from a non-empty image");
            } else {
                if (img.size() < sizeof(Arg)) fail("decoded from an image shorter than the mirror");
                if (a.trailer.data() != img.data() + sizeof(Arg) || a.trailer.size() != img.size() - sizeof(Arg))
                    fail("trailer is not the image after the mirror");
                if (std::memcmp(&a.value, img.data(), sizeof(Arg)) != 0) fail("value is not the image's mirror bytes");
            }
        },
        d);
    const auto again = wire::encode(d);
    if (again.size() != img.size() || !std::equal(again.begin(), again.end(), img.begin()))
        fail("encode(decode(image)) != image");
    const std::string line = fmt::format("{}", d);
    if (line.find('\n') != std::string::npos) fail("\"{}\" of a decoded argument is not one line");
    (void)fmt::format("{:l}", d);
}

template <typename Key>
void decode_checked(Key key, std::span<const std::byte> img, const wire::decode_options& opts) {
    const std::size_t n = matches(key, opts);
    auto d = wire::decode(key, img, opts);
    if (!d) {
        const int e = d.error().code;
        if (n == 0 ? e != ENOTTY : e != EINVAL) fail("decode error is not ENOTTY (no match) / EINVAL (ambiguous, size)");
        if (n == 1 && d.error().ioctl.empty()) fail("a size refusal names no ioctl");
        return;
    }
    if (n != 1) fail("decode succeeded for a key that matches no or several defs");
    const bool same = std::visit(
        [&](const auto& a) {
            bool k;
            if constexpr (std::is_same_v<Key, uapi::u32>)
                k = a.ioctl.code == key;
            else
                k = a.ioctl.name == key;
            return k && (!opts.fd || *opts.fd == a.ioctl.fd) && (!opts.abi || *opts.abi == a.ioctl.abi);
        },
        *d);
    if (!same) fail("decoded as a def that does not match the key and options");
    check_decoded(*d, img);
}

/// The def at `index`: decode by its own code / name must find it, exactly when decode_as accepts the image.
void check_def(std::size_t index, std::span<const std::byte> img, bool by_name) {
    vfiopp::detail::visit_def(index, [&](const auto& def) {
        auto direct = wire::decode_as(def, img);
        auto by_code = wire::decode(def.code, img, {.fd = def.fd, .abi = def.abi});
        if (direct.has_value() != by_code.has_value()) fail("decode(code, fd, abi) disagrees with decode_as");
        if (by_code && wire::ioctl_name(*by_code) != def.name) fail("decode(code, fd, abi) found another def");
        if (by_name) {
            auto named = wire::decode(def.name, img, {.abi = def.abi});
            if (direct.has_value() != named.has_value()) fail("decode(name, abi) disagrees with decode_as");
            if (named && wire::ioctl_name(*named) != def.name) fail("decode(name, abi) found another def");
        }
        if (direct) check_decoded(wire::decoded_arg(*direct), img);
    });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::uint8_t sel = data[0], o = data[1];
    const std::size_t n = size - 2, skew = (o & 0x10) ? 1 : 0;
    auto buf = std::make_unique<std::byte[]>(n + skew);
    if (n) std::memcpy(buf.get() + skew, data + 2, n);
    const std::span<const std::byte> img(buf.get() + skew, n);

    wire::decode_options opts;
    if (o & 0x80) opts.fd = static_cast<uapi::fd_kind>((o & 0x7) % 5);
    if (o & 0x40) opts.abi = static_cast<uapi::abi_kind>(((o >> 3) & 0x3) % 3);
    const auto& defs = all_defs();
    if (sel < defs.size()) {
        check_def(sel, img, o & 0x20);
        if (o & 0x20)
            decode_checked(defs[sel].name, img, opts);
        else
            decode_checked(defs[sel].code, img, opts);
    } else {
        decode_checked(static_cast<uapi::u32>(0x3b00u | sel), img, opts);
    }
    return 0;
}
