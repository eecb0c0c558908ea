// vfiopp/wire/decode.hpp - decode an ioctl argument image (request or reply) into its typed mirror, and back.
//
//   std::span<const std::byte> image = ...;              // what was passed to ioctl(fd, code, image.data())
//   auto d = wire::decode(0x3b70, image, {.fd = fd_kind::container});
//   if (!d) return log(d.error());                         // ENOTTY (not mirrored), EINVAL (ambiguous, too short)
//   std::visit([](const auto& a) { use(a.ioctl.name, a.value, a.trailer); }, *d);
//   assert(wire::encode(*d) == bytes_of(image));            // exact round trip, unknown bits and padding included
//
// Every ioctl of the four lists (VFIOPP_IOCTLS_vfio, _iommufd, _seed, _v7, through their all_ioctls tuples) is
// covered without a hand-written switch: decoded_arg is a std::variant of decoded<Arg> over every distinct
// argument type. An image is the fixed-size mirror (sizeof(Arg) bytes, copied with memcpy: the image may be
// unaligned) followed by a trailer (a flexible array's payload, a capability chain, the rest of argsz...), which
// is kept as a span of the image, not copied. Ioctls whose argument is not a pointer (arg none or value) decode
// from an empty image to decoded<no_arg>.
//
// Codes are reused across fds (0x3b70 is VFIO_IOMMU_GET_INFO on a container and VFIO_DEVICE_GET_PCI_HOT_RESET_INFO
// on a device) and across ABIs (v7's VFIO_IOMMU_PASID_REQUEST is mainline's VFIO_DEVICE_BIND_IOMMUFD): give the
// fd kind and/or ABI in decode_options; an ambiguous code is an EINVAL error, never a guess.
// The decoder does not judge the contents (argsz, flags, reserved fields): it is for printing, tracing and
// fuzzing what a VMM or the kernel wrote; wire/request.hpp and wire/caps.hpp check contents.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/uapi/all_ioctls.hpp>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace vfiopp::wire {

/// One decoded argument image: the ioctl it belongs to, the mirror and the bytes after it.
///   decoded<vfio_region_info> r = ...;  r.value.size;  r.trailer.size();  r.ioctl.name
template <typename Arg>
struct decoded {
    using arg_type = Arg;
    uapi::ioctl_def<Arg> ioctl;             ///< which ioctl (kernel name, code, fd kind, arg passing, ABI)
    Arg value{};                            ///< the fixed-size argument, copied out of the image
    std::span<const std::byte> trailer;     ///< the image's bytes after the mirror (not copied)
};

/// Which fd and ABI an image belongs to, for codes that are reused; unset means "any".
struct decode_options {
    std::optional<uapi::fd_kind> fd = std::nullopt;
    std::optional<uapi::abi_kind> abi = std::nullopt;
};

}  // namespace vfiopp::wire

namespace vfiopp::detail {

/// Every mirrored ioctl_def, typed: vfio, iommufd, seed, v7.
inline constexpr auto decode_defs =
    std::tuple_cat(uapi::vfio::all_ioctls, uapi::iommufd::all_ioctls, uapi::seed::all_ioctls, uapi::v7::all_ioctls);
inline constexpr std::size_t decode_def_count = std::tuple_size_v<std::remove_cv_t<decltype(decode_defs)>>;

template <typename... Ts>
struct type_list {};

template <typename List, typename T>
struct append_unique;
template <typename... Ts, typename T>
struct append_unique<type_list<Ts...>, T> {
    using type = std::conditional_t<(std::is_same_v<T, Ts> || ...), type_list<Ts...>, type_list<Ts..., T>>;
};

template <typename List, typename... Defs>
struct unique_args {
    using type = List;
};
template <typename List, typename D, typename... Defs>
struct unique_args<List, D, Defs...> {
    using type = typename unique_args<typename append_unique<List, typename D::arg_type>::type, Defs...>::type;
};

template <typename Tuple>
struct decoded_variant_of;
template <typename... Defs>
struct decoded_variant_of<std::tuple<Defs...>> {
    template <typename List>
    struct to_variant;
    template <typename... As>
    struct to_variant<type_list<As...>> {
        using type = std::variant<wire::decoded<As>...>;
    };
    // no_arg first: the variant is then default-constructible whatever the lists hold
    using type = typename to_variant<typename unique_args<type_list<uapi::no_arg>, Defs...>::type>::type;
};

template <typename Def>
constexpr bool def_matches(const Def& d, uapi::u32 code, const wire::decode_options& o) {
    return d.code == code && (!o.fd || *o.fd == d.fd) && (!o.abi || *o.abi == d.abi);
}
template <typename Def>
constexpr bool def_matches(const Def& d, std::string_view name, const wire::decode_options& o) {
    return d.name == name && (!o.fd || *o.fd == d.fd) && (!o.abi || *o.abi == d.abi);
}

/// Calls fn(def) for the index-th def of decode_defs.
template <typename Fn>
constexpr void visit_def(std::size_t index, Fn&& fn) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (void)((index == I ? (fn(std::get<I>(decode_defs)), true) : false) || ...);
    }(std::make_index_sequence<decode_def_count>{});
}

}  // namespace vfiopp::detail

namespace vfiopp::wire {

/// A decoded image of any mirrored ioctl: std::variant<decoded<no_arg>, decoded<vfio_group_status>, ...>.
using decoded_arg = typename vfiopp::detail::decoded_variant_of<
    std::remove_cv_t<decltype(vfiopp::detail::decode_defs)>>::type;

/// Decodes an image as the argument of the ioctl `def`: `auto r = decode_as(vfio::device_get_region_info, img);`.
/// Errors: EINVAL when the image is shorter than the mirror, or non-empty for an ioctl without a pointer argument.
template <typename Arg>
result<decoded<Arg>> decode_as(const uapi::ioctl_def<Arg>& def, std::span<const std::byte> image) {
    decoded<Arg> d{def, Arg{}, {}};
    if constexpr (std::is_same_v<Arg, uapi::no_arg>) {
        if (!image.empty())
            return detail::refuse(def.name, "", EINVAL, "this ioctl takes no pointed-to argument, the image must be empty");
    } else {
        static_assert(std::is_trivially_copyable_v<Arg>);
        if (image.size() < sizeof(Arg))
            return detail::refuse(def.name, "argsz", EINVAL, "image is shorter than the ioctl's argument struct");
        std::memcpy(&d.value, image.data(), sizeof(Arg));
        d.trailer = image.subspan(sizeof(Arg));
    }
    return d;
}

}  // namespace vfiopp::wire

namespace vfiopp::detail {
template <typename Key>
result<wire::decoded_arg> decode_by(Key key, std::span<const std::byte> image, const wire::decode_options& opts) {
    std::size_t found = 0, index = 0, i = 0;
    std::apply([&](const auto&... d) { ((def_matches(d, key, opts) ? (++found, index = i) : 0, ++i), ...); },
               decode_defs);
    if (found == 0)
        return detail::refuse("", "", ENOTTY, "no mirrored ioctl has this code (or name) on this fd kind and ABI");
    result<wire::decoded_arg> out = error{};
    visit_def(index, [&](const auto& def) {
        if (found > 1) {
            out = detail::refuse(def.name, "", EINVAL, "the code is reused: give the fd kind and/or ABI in decode_options");
            return;
        }
        auto r = wire::decode_as(def, image);
        if (r)
            out = wire::decoded_arg(std::move(*r));
        else
            out = r.error();
    });
    return out;
}
}  // namespace vfiopp::detail

namespace vfiopp::wire {

/// Decodes an argument image by request code: `decode(0x3b6c, img, {.fd = fd_kind::device})`.
/// Errors: ENOTTY (no mirrored ioctl matches), EINVAL (ambiguous code, or image too short / non-empty).
inline result<decoded_arg> decode(uapi::u32 code, std::span<const std::byte> image, decode_options opts = {}) {
    return vfiopp::detail::decode_by(code, image, opts);
}

/// Decodes an argument image by kernel name: `decode("VFIO_IOMMU_PASID_REQUEST", img, {.abi = abi_kind::v7})`.
inline result<decoded_arg> decode(std::string_view kernel_name, std::span<const std::byte> image,
                                  decode_options opts = {}) {
    return vfiopp::detail::decode_by(kernel_name, image, opts);
}

/// The image of a decoded argument: the mirror's bytes then the trailer. `encode(*decode(c, img)) == img`.
template <typename Arg>
std::vector<std::byte> encode(const decoded<Arg>& d) {
    std::vector<std::byte> out;
    if constexpr (!std::is_same_v<Arg, uapi::no_arg>) {
        out.resize(sizeof(Arg) + d.trailer.size());
        std::memcpy(out.data(), &d.value, sizeof(Arg));
        if (!d.trailer.empty()) std::memcpy(out.data() + sizeof(Arg), d.trailer.data(), d.trailer.size());
    }
    return out;
}

/// The image of any decoded argument: `auto bytes = encode(*decode(code, img));`.
inline std::vector<std::byte> encode(const decoded_arg& d) {
    return std::visit([](const auto& a) { return encode(a); }, d);
}

/// The ioctl a decoded argument belongs to (name, code, fd kind, ABI), type-erased.
///   ioctl_name(*decode(0x3b70, img, {.fd = fd_kind::container})) == "VFIO_IOMMU_GET_INFO"
inline std::string_view ioctl_name(const decoded_arg& d) {
    return std::visit([](const auto& a) { return a.ioctl.name; }, d);
}

/// Calls fn(def) for every mirrored ioctl_def (all four lists, in order): what decode() can decode.
///   for_each_decodable([](const auto& def) { fmt::print("{}\n", def.name); });
template <typename Fn>
void for_each_decodable(Fn&& fn) {
    std::apply([&](const auto&... d) { (fn(d), ...); }, vfiopp::detail::decode_defs);
}

}  // namespace vfiopp::wire
