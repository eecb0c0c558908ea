// vfiopp/error.hpp - the one error type of vfiopp, and result<T>.
//
//   vfiopp::result<int> r = vfiopp::io::submit(fd, req);
//   if (!r) fmt::print("{}\n", r.error());   // VFIO_DEVICE_SET_IRQS: count: EINVAL: ... (<vfiopp/fmt_error.hpp>)
//
// An error names the ioctl it belongs to (its kernel macro name), the field that caused it when known, the errno
// value (the kernel's, or the one the kernel would have returned when vfiopp refuses a request before issuing it),
// and a fixed message. Every member is a string_view to static text, so making, copying and returning an error
// never allocates.
#pragma once

#include <boost/system/result.hpp>

#include <array>
#include <cstdint>
#include <utility>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iosfwd>
#include <string>
#include <string_view>
#include <system_error>

namespace vfiopp {

/// Where an error was detected.
enum class error_origin : unsigned char {
    library,  ///< refused by vfiopp before the ioctl was issued (the errno is the one the kernel would return)
    kernel,   ///< the ioctl returned -1 with this errno
};

/// One key value of the request an error belongs to: `{"iova", 0x100000}`. The name is static text.
struct error_value {
    std::string_view name;  ///< empty when the slot is unused
    std::uint64_t value = 0;
    friend constexpr bool operator==(const error_value&, const error_value&) = default;
};

/// What a request was about (a device name, a path), copied into the error: the error owns no heap, so the text is
/// kept in a fixed buffer and cut at `capacity` characters.
class error_subject {
public:
    static constexpr std::size_t capacity = 47;
    constexpr error_subject() noexcept = default;
    constexpr explicit error_subject(std::string_view s) noexcept {
        size_ = static_cast<unsigned char>(s.size() < capacity ? s.size() : capacity);
        for (std::size_t i = 0; i < size_; ++i) text_[i] = s[i];
    }
    /// The text: `e.subject.view() == "0000:00:04.0"`.
    [[nodiscard]] constexpr std::string_view view() const noexcept { return {text_, size_}; }
    [[nodiscard]] constexpr bool empty() const noexcept { return size_ == 0; }
    friend constexpr bool operator==(const error_subject& a, const error_subject& b) noexcept { return a.view() == b.view(); }

private:
    char text_[capacity] = {};
    unsigned char size_ = 0;
};

/// What went wrong, with the ioctl and field it concerns, and the request's key values when an object issued it.
///   vfiopp::error e{"VFIO_DEVICE_SET_IRQS", "count", EINVAL, "too many eventfds"};
///   e.with("index", 1).about("0000:00:04.0");   // printed: ... [index=0x1] on 0000:00:04.0
struct error {
    std::string_view ioctl;    ///< kernel macro name of the ioctl, e.g. "IOMMU_HWPT_INVALIDATE"; empty if none
    std::string_view field;    ///< field of the request at fault, e.g. "entry_num"; empty if unknown
    int code = 0;              ///< errno value: EINVAL, EOVERFLOW, EMSGSIZE, ...
    std::string_view message;  ///< fixed explanation (for kernel errors: what to do, when vfiopp knows)
    error_origin origin = error_origin::library;
    std::array<error_value, 3> values{};  ///< the request's key values (iova, size, index, ...), in order; unused slots empty
    error_subject subject{};              ///< what the request was about: device name, PCI address, path

    /// The errno as a std::error_code: `if (e.error_code() == std::errc::invalid_argument) ...`.
    std::error_code error_code() const noexcept { return {code, std::generic_category()}; }
    /// Adds a key value in the first free slot (ignored when all are used): `return e.with("iova", iova);`
    constexpr error& with(std::string_view name, std::uint64_t value) & noexcept {
        for (auto& v : values)
            if (v.name.empty()) {
                v = {name, value};
                break;
            }
        return *this;
    }
    constexpr error&& with(std::string_view name, std::uint64_t value) && noexcept { return std::move(with(name, value)); }
    /// Records what the request was about: `return std::move(e).about(pci_address);`
    constexpr error& about(std::string_view s) & noexcept {
        subject = error_subject{s};
        return *this;
    }
    constexpr error&& about(std::string_view s) && noexcept { return std::move(about(s)); }
    /// Replaces the message with advice (static text), keeping everything else: `e.advise("raise RLIMIT_MEMLOCK")`.
    constexpr error& advise(std::string_view m) & noexcept {
        message = m;
        return *this;
    }
    constexpr error&& advise(std::string_view m) && noexcept { return std::move(advise(m)); }
    friend constexpr bool operator==(const error&, const error&) = default;
};

/// A value or a vfiopp::error: `vfiopp::result<u32> n = ...; if (n) use(*n); else log(n.error());`.
template <typename T = void>
using result = boost::system::result<T, error>;

/// The symbolic name of an errno value, or "" when vfiopp does not know it: `errno_name(EINVAL) == "EINVAL"`.
constexpr std::string_view errno_name(int code) noexcept {
    switch (code) {
        case EPERM: return "EPERM";
        case ENOENT: return "ENOENT";
        case EINTR: return "EINTR";
        case EIO: return "EIO";
        case E2BIG: return "E2BIG";
        case EBADF: return "EBADF";
        case EAGAIN: return "EAGAIN";
        case ENOMEM: return "ENOMEM";
        case EACCES: return "EACCES";
        case EFAULT: return "EFAULT";
        case EBUSY: return "EBUSY";
        case EEXIST: return "EEXIST";
        case ENODEV: return "ENODEV";
        case EINVAL: return "EINVAL";
        case ENOTTY: return "ENOTTY";
        case ENOSPC: return "ENOSPC";
        case ERANGE: return "ERANGE";
        case EMSGSIZE: return "EMSGSIZE";
        case EOPNOTSUPP: return "EOPNOTSUPP";
        case EOVERFLOW: return "EOVERFLOW";
        case ENXIO: return "ENXIO";
        case EPIPE: return "EPIPE";
        case EPROTO: return "EPROTO";
        case EBADMSG: return "EBADMSG";
        case ECONNRESET: return "ECONNRESET";
        case ENOTSOCK: return "ENOTSOCK";
        default: return "";
    }
}

/// Streams an error (used by boost::system::result's operator<< and test frameworks); <vfiopp/fmt_error.hpp> has
/// the {fmt} formatter with the errno's text. `std::cerr << r.error();  // VFIO_DEVICE_SET_IRQS: count: EINVAL`
template <typename Ch, typename Tr>
std::basic_ostream<Ch, Tr>& operator<<(std::basic_ostream<Ch, Tr>& os, const error& e) {
    if (!e.ioctl.empty()) os << e.ioctl << ": ";
    if (!e.field.empty()) os << e.field << ": ";
    else if (e.origin == error_origin::kernel) os << "kernel: ";
    if (auto n = errno_name(e.code); !n.empty()) os << n;
    else os << "errno " << e.code;
    if (!e.message.empty()) os << ": " << e.message;
    for (std::size_t i = 0; i < e.values.size() && !e.values[i].name.empty(); ++i) {
        char hex[19] = "0x";  // without <ios>: 0x and up to 16 digits
        std::size_t n = 2;
        for (int shift = 60; shift >= 0; shift -= 4) {
            auto digit = static_cast<unsigned>((e.values[i].value >> shift) & 0xf);
            if (digit != 0 || n > 2 || shift == 0) hex[n++] = "0123456789abcdef"[digit];
        }
        hex[n] = '\0';
        os << (i == 0 ? " [" : " ") << e.values[i].name << "=" << hex
           << (i + 1 == e.values.size() || e.values[i + 1].name.empty() ? "]" : "");
    }
    if (!e.subject.empty()) os << " on " << e.subject.view();
    return os;
}

#if defined(__cpp_exceptions)
/// The exception result<T>::value() throws on error; what() is the errno's text, error() the full record.
///   try { auto fd = vfiopp::io::submit(group, req).value(); } catch (const vfiopp::system_error& e) { e.error(); }
class system_error : public std::system_error {
public:
    explicit system_error(const vfiopp::error& e)
        : std::system_error(e.error_code(), std::string(e.ioctl)), error_(e) {}
    const vfiopp::error& error() const noexcept { return error_; }

private:
    vfiopp::error error_;
};

/// Found by boost::system::result<T, error>::value() through ADL; throws vfiopp::system_error.
[[noreturn]] inline void throw_exception_from_error(const error& e, const boost::source_location&) {
    throw system_error(e);
}
#else
/// Built with -fno-exceptions: result<T>::value() on an error is a programming error (test `if (r)` or use
/// `*r` after checking); it prints the error and aborts, as std::vector::at() does in such builds.
[[noreturn]] inline void throw_exception_from_error(const error& e, const boost::source_location&) {
    std::fprintf(stderr, "vfiopp: result::value() on an error: %.*s: %.*s (errno %d)\n",
                 static_cast<int>(e.ioctl.size()), e.ioctl.data(), static_cast<int>(e.field.size()), e.field.data(),
                 e.code);
    std::abort();
}
#endif

namespace detail {
/// The one way vfiopp makes a library error (a request refused before the ioctl, a malformed reply):
///   return detail::refuse("VFIO_IOMMU_MAP_DMA", "size", EINVAL, "a mapping needs a non-zero size");
[[nodiscard]] constexpr error refuse(std::string_view ioctl, std::string_view field, int code,
                                     std::string_view message) noexcept {
    return error{ioctl, field, code, message, error_origin::library};
}

/// A library error not made yet, for `return` in a function that returns a result<T> (the builders and views of
/// vfiopp::wire): it converts to any result<T>, and the conversion makes the error - the same refuse() makes - in the
/// result's own storage, out of line and marked cold. An error is about 190 bytes (no heap: static text, a fixed
/// subject buffer); written and copied inline at every refusal, it makes a builder too large for GCC to inline and
/// keeps its request in memory, copied twice on the way out. With refused() a refusal costs the builder one call on
/// its cold path, and the success path is only the image being written where the caller reads it.
///   return detail::refused("VFIO_IOMMU_MAP_DMA", "size", EINVAL, "a mapping needs a non-zero size");
struct refusal {
    std::string_view ioctl;
    std::string_view field;
    int code;
    std::string_view message;
    template <typename T>
    [[gnu::cold, gnu::noinline]] constexpr operator result<T>() const noexcept {  // NOLINT: implicit by design
        return refuse(ioctl, field, code, message);
    }
};
/// refuse()'s error as a refusal: `return detail::refused(ioctl, field, EINVAL, "...");` (result<T> functions only).
[[nodiscard]] constexpr refusal refused(std::string_view ioctl, std::string_view field, int code,
                                        std::string_view message) noexcept {
    return {ioctl, field, code, message};
}

/// The error of a failed result<U>, passed on as any result<T>, copied out of line like refusal's:
///   if (auto n = wire::checked_cast<u32>(size, w); !n) return detail::pass_error(n);
template <typename U>
struct passed_error {
    const result<U>& from;
    template <typename T>
    [[gnu::cold, gnu::noinline]] constexpr operator result<T>() const noexcept {  // NOLINT: implicit by design
        return from.error();
    }
};
template <typename U>
[[nodiscard]] constexpr passed_error<U> pass_error(const result<U>& failed) noexcept {
    return {failed};
}
}  // namespace detail

}  // namespace vfiopp
