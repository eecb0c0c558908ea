// vfiopp/wire/request.hpp - typed ioctl requests built in place in their final byte image.
//
// A request is the exact byte image the kernel reads (argsz/size first, then the fixed header, then an optional
// trailer at the struct's flexible array offset), kept in an 8-aligned buffer, plus the ioctl it is for:
//
//   auto req = wire::prep<uapi::vfio::device_get_region_info>({.index = 0});   // argsz = 32
//   io::submit(device_fd, req);                                    // ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, image)
//   vfio_region_info reply = req.header();
//
// The argsz (VFIO) or size (iommufd) field is always the image's size: it is written by the library and cannot be
// set by the caller. Flags and op words that follow from the payload are written by the specific builders
// (wire/vfio.hpp, wire/iommufd.hpp, wire/nesting.hpp); the generic prep() here takes the caller's struct as is, apart from
// its size field.
//
// Storage: inline_storage<N> (an alignas(8) std::array<std::byte, N> inside the request: no heap, sized at compile
// time for the largest payload) or external_storage (a caller's span, for runtime-sized images). Building never
// allocates.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/uapi/ioctl.hpp>
#include <vfiopp/uapi/layout.hpp>
#include <vfiopp/wire/checked.hpp>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

namespace vfiopp::wire {

using uapi::u16;
using uapi::u32;
using uapi::u64;
using uapi::u8;

/// Inline byte storage for an image of at most Capacity bytes, 8-aligned. Not zero-initialised: whoever sets an
/// image's size writes every byte below it (builders write the header, zero the gap to a flexible array, copy the
/// trailer), and requests with room for a reply (prep_with_room, device_get_pci_hot_reset_info) zero that room,
/// so nothing the kernel or request::read() can see is left unset. Zeroing all of it up front cost a
/// set_irqs_request<32> 2-3x the hand-written C that fills the same struct (tests/bench/builders_bench).
template <std::size_t Capacity>
struct inline_storage {
    static_assert(Capacity > 0, "vfiopp: an image needs at least one byte");
    static constexpr std::size_t capacity = Capacity;
    alignas(8) std::array<std::byte, Capacity> bytes;
    std::span<std::byte> span() noexcept { return bytes; }
    std::span<const std::byte> span() const noexcept { return bytes; }
};

/// Caller-provided storage (must stay alive and 8-aligned while the request is used).
struct external_storage {
    std::span<std::byte> bytes;
    std::span<std::byte> span() const noexcept { return bytes; }
};

/// What a successful submit yields (declared with each ioctl in its uapi list; see uapi/ioctl.hpp).
using uapi::return_spec;
using uapi::returns;

/// A return_spec as a type, for request's template argument (a type rather than a class-type value: GCC 12
/// crashes on the latter in alias templates). `request<def, storage, returning<returns::out_fd, 12>>`
template <returns Kind, uapi::u16 FdOffset = 0>
struct returning {
    static constexpr return_spec spec{Kind, FdOffset};
};
/// What the ioctl Def itself returns: `returning_of<uapi::vfio::group_get_device_fd>::spec.kind == returns::new_fd`.
template <const auto& Def>
using returning_of = returning<Def.ret.kind, Def.ret.fd_offset>;

}  // namespace vfiopp::wire

namespace vfiopp::detail {
using uapi::u16;
using uapi::u32;
using uapi::u64;
using uapi::u8;

template <typename Def>
using def_arg_t = typename std::remove_cvref_t<Def>::arg_type;

/// The leading u32 that holds the image size: `argsz` (VFIO) or `size` (iommufd), always at offset 0. Read from the
/// struct's field list (VFIOPP_LAYOUT), not its descriptor, so that building a request instantiates no tuple.
template <typename A>
constexpr bool has_size_field() {
    if constexpr (requires { vfiopp_size_field(std::type_identity<A>{}); })
        return !vfiopp_size_field(std::type_identity<A>{}).empty();
    else
        return false;
}

/// Name of the size field, for errors.
template <typename A>
constexpr std::string_view size_field_name() {
    if constexpr (has_size_field<A>()) return vfiopp_size_field(std::type_identity<A>{});
    else return "argsz";
}

struct image_access;

/// Tag of request's in-place constructor, for the builders: `Req(detail::fill_in_place, [&](Req& r) { ... })`.
struct fill_in_place_t {
    explicit fill_in_place_t() = default;
};
inline constexpr fill_in_place_t fill_in_place{};

}  // namespace vfiopp::detail

namespace vfiopp::wire {

/// An ioctl request: the ioctl (Def, an ioctl_def object) and the byte image its argument points to.
///   request<uapi::vfio::iommu_get_info, inline_storage<256>> info;   // GET_INFO with room for a capability chain
/// R, what a successful submit yields, is the ioctl's own (Def.ret) unless a builder knows better (a device feature
/// that returns an fd).
template <const auto& Def, typename Storage = inline_storage<sizeof(detail::def_arg_t<decltype(Def)>)>,
          typename R = returning_of<Def>>
class [[nodiscard]] request {
public:
    using arg_type = detail::def_arg_t<decltype(Def)>;
    using storage_type = Storage;
    static constexpr const auto& ioctl = Def;
    static constexpr return_spec ret = R::spec;
    static_assert(Def.arg != uapi::arg_kind::none && Def.arg != uapi::arg_kind::value,
                  "vfiopp: this ioctl takes no pointed-to argument; use wire::value_request (wire::prep<def>() or "
                  "wire::prep<def>(value))");
    static_assert(std::is_trivially_copyable_v<arg_type> && std::is_standard_layout_v<arg_type>,
                  "vfiopp: the ioctl's argument type must be a mirrored kernel struct");

    /// An empty image (size 0) in inline storage; builders fill it. Until one does, the storage's bytes are
    /// unspecified (not zeroed): header() and read() are meaningful only after a builder or the kernel wrote them.
    request() noexcept
        requires(!std::is_same_v<Storage, external_storage>)
    = default;
    /// An empty image in the caller's buffer: `std::array<std::byte, 4096> buf; request<def, external_storage> r{buf};`
    explicit request(std::span<std::byte> buffer) noexcept
        requires std::is_same_v<Storage, external_storage>
        : storage_{buffer} {}
    /// For the builders (vfiopp::detail): an empty image that fill(*this) then writes. A builder that returns
    /// result<request> constructs it this way inside the result (boost::system::in_place_value), so the image is
    /// written where the caller receives it instead of being built on the stack and copied in.
    template <typename F>
    request(detail::fill_in_place_t, F&& fill) noexcept
        requires(!std::is_same_v<Storage, external_storage>)
    {
        fill(*this);
    }

    /// The image as sent to (and written back by) the kernel: `req.bytes().size() == req.header().argsz`.
    std::span<const std::byte> bytes() const noexcept { return storage_.span().first(size_); }
    /// Number of bytes in the image (the argsz/size the kernel sees).
    std::size_t size() const noexcept { return size_; }
    /// Largest image the storage can hold: `req.capacity() >= req.size()`.
    std::size_t capacity() const noexcept { return storage_.span().size(); }
    /// The pointer passed as the ioctl's third argument: `ioctl(fd, req.ioctl.code, req.ioctl_arg())`.
    void* ioctl_arg() noexcept { return storage_.span().data(); }
    /// A copy of the fixed part (the kernel struct), e.g. after the kernel wrote its reply: `req.header().flags`.
    arg_type header() const noexcept { return read<arg_type>(0); }
    /// A trivially copyable T read from the image at offset (bounds are checked against capacity, not size).
    ///   auto cap = req.read<vfio_info_cap_header>(req.header().cap_offset);
    template <typename T>
    T read(std::size_t offset) const noexcept {
        static_assert(std::is_trivially_copyable_v<T>);
        T v{};
        auto s = storage_.span();
        if (offset <= s.size() && sizeof(T) <= s.size() - offset) std::memcpy(&v, s.data() + offset, sizeof(T));
        return v;
    }

private:
    friend struct detail::image_access;
    Storage storage_;
    std::uint32_t size_ = 0;
};

/// A request whose ioctl argument is an integer (or nothing): VFIO_CHECK_EXTENSION, VFIO_GET_API_VERSION, ...
///   auto req = wire::prep<uapi::vfio::check_extension>(1u);  // VFIO_TYPE1_IOMMU
template <const auto& Def, typename R = returning_of<Def>>
class [[nodiscard]] value_request {
public:
    static constexpr const auto& ioctl = Def;
    static constexpr return_spec ret = R::spec;
    static_assert(Def.arg == uapi::arg_kind::none || Def.arg == uapi::arg_kind::value,
                  "vfiopp: this ioctl takes a pointer to its struct; use wire::request");

    constexpr value_request() = default;
    constexpr explicit value_request(unsigned long v) noexcept : value_(v) {}
    /// The integer argument, passed in the pointer's place.
    constexpr unsigned long value() const noexcept { return value_; }
    void* ioctl_arg() const noexcept { return reinterpret_cast<void*>(value_); }  // NOLINT: ioctl(2) is variadic

private:
    unsigned long value_ = 0;
};

}  // namespace vfiopp::wire

namespace vfiopp::detail {
template <typename Lazy, typename T>
struct lazy_type {
    using type = T;
};
}  // namespace vfiopp::detail

namespace vfiopp::wire {

/// The result type of a builder that can refuse: result<T>, spelled through an unused, defaulted template parameter
/// of the builder (`template <typename Lazy = void> lazy_result<Lazy, request<...>> iommu_map_dma(...)`). The type is
/// the same; what changes is that a TU instantiates boost::system::result<T> only for the builders it calls, not
/// for all ~30 it includes (about 2 MB and 20 ms each on GCC; see tools/compile-cost.sh). Callers never name Lazy.
template <typename Lazy, typename T>
using lazy_result = result<typename detail::lazy_type<Lazy, T>::type>;

/// Anything io::submit() can issue.
template <typename R>
concept request_like = requires(R& r) {
    { R::ioctl.code } -> std::convertible_to<u32>;
    { R::ioctl.name } -> std::convertible_to<std::string_view>;
    { r.ioctl_arg() } -> std::same_as<void*>;
    { R::ret } -> std::convertible_to<return_spec>;
};

}  // namespace vfiopp::wire

namespace vfiopp::detail {

/// The only writer of request images (builders in vfiopp::wire use it; users cannot).
struct image_access {
    template <typename Req>
    static std::span<std::byte> storage(Req& r) noexcept {
        return r.storage_.span();
    }
    /// Sets the image size and writes it into the leading size field.
    template <typename Req>
    static void set_size(Req& r, u32 n) noexcept {
        r.size_ = n;
        if constexpr (has_size_field<typename Req::arg_type>()) std::memcpy(r.storage_.span().data(), &n, sizeof n);
    }
    /// Writes the fixed header at offset 0 with its size field (if any) set to n, and sets the image size to n.
    /// The header is copied in as one typed object (the storage is 8-aligned and offset 0 suits every argument
    /// struct), with the size put into the copy first: compilers then write the fields straight into the image,
    /// where a memcpy of the struct followed by a 4-byte store over its start made GCC assemble the struct on the
    /// stack and copy it with wide loads that wait for the narrow stores (store-forwarding stalls, ~13 ns a request).
    template <typename Req>
    static void put_header(Req& r, const typename Req::arg_type& h, u32 n) noexcept {
        using A = typename Req::arg_type;
        static_assert(alignof(A) <= 8, "vfiopp: request storage is 8-aligned");
        A copy = h;
        if constexpr (has_size_field<A>()) std::memcpy(static_cast<void*>(&copy), &n, sizeof n);
        ::new (static_cast<void*>(r.storage_.span().data())) A(copy);
        r.size_ = n;
    }
    template <typename Req, typename T>
    static void write(Req& r, std::size_t offset, const T& v) noexcept {
        static_assert(std::is_trivially_copyable_v<T>);
        std::memcpy(r.storage_.span().data() + offset, &v, sizeof(T));
    }
    template <typename Req>
    static void write_bytes(Req& r, std::size_t offset, const void* p, std::size_t n) noexcept {
        if (n) std::memcpy(r.storage_.span().data() + offset, p, n);
    }
    template <typename Req>
    static void zero(Req& r, std::size_t offset, std::size_t n) noexcept {
        if (n) std::memset(r.storage_.span().data() + offset, 0, n);
    }
};

/// Writes the fixed header (with its size field overwritten by the library) and sets the image size to n.
template <typename Req>
inline void put_header(Req& r, const typename Req::arg_type& h, u32 n) noexcept {
    image_access::put_header(r, h, n);
}

/// A builder's successful result<Req>, its request constructed in the result's storage and filled by fill(req):
///   return detail::make_result<Req>([&](Req& r) { detail::put_header(r, h, sizeof h); });
/// (A named result<Req> variable would not do: GCC constant-folds its initialisation into zeroing the whole
/// result, error alternative included.)
template <typename Req, typename F>
[[nodiscard]] inline result<Req> make_result(F&& fill) noexcept {
    return result<Req>(boost::system::in_place_value, fill_in_place, std::forward<F>(fill));
}

/// wire::prep<Def>(h) as the successful result of a builder, built in the result's own storage. Lazy is the
/// builder's own template parameter (see wire::lazy_result), so that the call stays dependent and result<T> is
/// instantiated only where the builder is: `return detail::prep_result<uapi::vfio::iommu_map_dma, Lazy>(m);`
template <const auto& Def, typename Lazy, typename R = wire::returning_of<Def>>
[[nodiscard]] inline wire::lazy_result<Lazy, wire::request<Def, wire::inline_storage<sizeof(def_arg_t<decltype(Def)>)>, R>>
prep_result(const def_arg_t<decltype(Def)>& h) noexcept {
    using A = def_arg_t<decltype(Def)>;
    static_assert(has_size_field<A>(), "vfiopp: prep_result needs a struct whose first field is argsz or size");
    using Req = wire::request<Def, wire::inline_storage<sizeof(A)>, R>;
    return make_result<Req>([&](Req& r) { image_access::put_header(r, h, static_cast<u32>(sizeof(A))); });
}

}  // namespace vfiopp::detail

namespace vfiopp::wire {

/// The request's ioctl name, for messages: `wire::name_of(req) == "VFIO_DEVICE_SET_IRQS"`.
template <request_like Req>
constexpr std::string_view name_of(const Req&) noexcept {
    return Req::ioctl.name;
}

/// A fixed-size request from the kernel struct: every field as given, except argsz/size = sizeof(struct).
///   auto req = wire::prep<uapi::vfio::device_get_region_info>({.index = 2});
template <const auto& Def, typename R = returning_of<Def>>
    requires(Def.arg != uapi::arg_kind::none && Def.arg != uapi::arg_kind::value)
[[nodiscard]] inline request<Def, inline_storage<sizeof(detail::def_arg_t<decltype(Def)>)>, R> prep(const detail::def_arg_t<decltype(Def)>& arg) {
    using A = detail::def_arg_t<decltype(Def)>;
    static_assert(detail::has_size_field<A>(),
                  "vfiopp: wire::prep<def>(struct) needs a struct whose first field is argsz or size; use the "
                  "ioctl's own builder");
    request<Def, inline_storage<sizeof(A)>, R> r;
    detail::put_header(r, arg, static_cast<u32>(sizeof(A)));
    return r;
}

/// As prep(), with room for a reply larger than the struct (a GET_INFO capability chain); argsz starts at
/// sizeof(struct) and io::negotiate() grows it up to Capacity.
///   auto req = wire::prep_with_room<uapi::vfio::device_get_region_info, 512>({.index = 0});
template <const auto& Def, std::size_t Capacity, typename R = returning_of<Def>>
    requires(Def.arg != uapi::arg_kind::none && Def.arg != uapi::arg_kind::value)
[[nodiscard]] inline request<Def, inline_storage<Capacity>, R> prep_with_room(const detail::def_arg_t<decltype(Def)>& arg) {
    using A = detail::def_arg_t<decltype(Def)>;
    static_assert(Capacity >= sizeof(A), "vfiopp: the capacity must hold at least the ioctl's struct");
    static_assert(detail::has_size_field<A>(), "vfiopp: prep_with_room needs a struct whose first field is argsz or size");
    request<Def, inline_storage<Capacity>, R> r;
    detail::put_header(r, arg, static_cast<u32>(sizeof(A)));
    // the room is where the kernel writes its reply, and io::negotiate() grows argsz over it: zero, so that a
    // reply shorter than the room leaves nothing unset for read() or a capability-chain view
    detail::image_access::zero(r, sizeof(A), Capacity - sizeof(A));
    return r;
}

/// As prep(), in the caller's buffer (8-aligned, at least sizeof(struct) bytes; else EINVAL before any ioctl).
///   alignas(8) std::array<std::byte, 4096> buf;
///   auto req = wire::prep_in<uapi::vfio::iommu_get_info>(buf, {}).value();
template <const auto& Def, typename R = returning_of<Def>>
    requires(Def.arg != uapi::arg_kind::none && Def.arg != uapi::arg_kind::value)
[[nodiscard]] inline result<request<Def, external_storage, R>> prep_in(std::span<std::byte> buffer, const detail::def_arg_t<decltype(Def)>& arg) {
    using A = detail::def_arg_t<decltype(Def)>;
    static_assert(detail::has_size_field<A>(), "vfiopp: prep_in needs a struct whose first field is argsz or size");
    if (buffer.size() < sizeof(A))
        return detail::refused(Def.name, detail::size_field_name<A>(), EINVAL, "the buffer is smaller than the ioctl's struct");
    if (reinterpret_cast<std::uintptr_t>(buffer.data()) % 8 != 0)
        return detail::refused(Def.name, detail::size_field_name<A>(), EINVAL, "the buffer is not 8-byte aligned");
    request<Def, external_storage, R> r{buffer};
    detail::put_header(r, arg, static_cast<u32>(sizeof(A)));
    return r;
}

/// A request for an ioctl whose argument is an integer: `auto req = wire::prep<uapi::vfio::check_extension>(1u);`
template <const auto& Def, typename R = returning_of<Def>>
    requires(Def.arg == uapi::arg_kind::value)
[[nodiscard]] constexpr value_request<Def, R> prep(unsigned long value) noexcept {
    return value_request<Def, R>{value};
}

/// A request for an ioctl without argument: `auto req = wire::prep<uapi::vfio::get_api_version>();`
template <const auto& Def, typename R = returning_of<Def>>
    requires(Def.arg == uapi::arg_kind::none)
[[nodiscard]] constexpr value_request<Def, R> prep() noexcept {
    return value_request<Def, R>{};
}

}  // namespace vfiopp::wire
