// vfiopp/uapi/ioctl.hpp - ioctl codes and the compile-time description of one ioctl.
//
// Each uapi header declares its ioctls once, as an X-macro list
//   X(cxx_name, KERNEL_MACRO, TYPE_CHAR, NR, FD, ARG, ArgType, RETURNS, SINCE)
// expanded with VFIOPP_IOCTL_DEFS(list, abi) into `inline constexpr ioctl_def<ArgType> cxx_name{...}` objects; the
// registry (registry.hpp) expands the same lists into its tables. ARG says how the third ioctl argument is passed:
//   none   - no argument (VFIO_GET_API_VERSION),
//   value  - an integer by value (VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU),
//   in/out/inout - a pointer to ArgType that the kernel reads / writes / both.
// RETURNS says what a successful call gives back (io::submit's result type follows from it):
//   status - 0 (result<void>),
//   value  - a non-negative int: API version, extension check, PASID (result<int>),
//   new_fd - a new file descriptor as the return value (result<unique_fd>: GROUP_GET_DEVICE_FD),
//   out_fd - a new file descriptor written into an out field of ArgType, named next to the struct with
//            VFIOPP_OUT_FD(ArgType, field) (result<unique_fd>: FAULT_QUEUE_ALLOC's out_fault_fd).
// SINCE is a token naming the first kernel whose header has the ioctl in this form (k6_1 for "6.1 or older",
// never for the 2020 proposal); the kernel-header cross-check uses it.
#pragma once

#include <vfiopp/uapi/layout.hpp>

#include <cstddef>
#include <string_view>
#include <type_traits>

namespace vfiopp::uapi {

/// _IOC(dir, type, nr, size) as in <asm-generic/ioctl.h> (x86_64: 2 dir bits, 14 size bits, 8 type, 8 nr).
constexpr u32 ioc(u32 dir, u32 type, u32 nr, u32 size) { return (dir << 30) | (size << 16) | (type << 8) | nr; }
/// _IO(type, nr): every VFIO and iommufd ioctl is one of these (no direction or size is encoded).
constexpr u32 io(u32 type, u32 nr) { return ioc(0, type, nr, 0); }

/// The file descriptor an ioctl is issued on.
enum class fd_kind : u8 {
    container,  ///< /dev/vfio/vfio (a type1 container, or iommufd's compat container)
    group,      ///< /dev/vfio/N
    device,     ///< a VFIO device fd (from VFIO_GROUP_GET_DEVICE_FD or /dev/vfio/devices/vfioX)
    iommufd,    ///< /dev/iommu
    migration_data,  ///< the data_fd a VFIO device returns on entering a migration state (VFIO_MIG_GET_PRECOPY_INFO)
};
/// How the ioctl's third argument is passed.
enum class arg_kind : u8 { none, value, in, out, inout };
/// Which ABI an ioctl belongs to; codes of different ABIs may collide (v7 PASID_REQUEST == DEVICE_BIND_IOMMUFD).
enum class abi_kind : u8 { mainline, seed, v7 };

constexpr std::string_view to_string(fd_kind k) {
    switch (k) {
        case fd_kind::container: return "container";
        case fd_kind::group: return "group";
        case fd_kind::device: return "device";
        case fd_kind::iommufd: return "iommufd";
        case fd_kind::migration_data: return "migration data";
    }
    return "?";
}
constexpr std::string_view to_string(arg_kind k) {
    switch (k) {
        case arg_kind::none: return "none";
        case arg_kind::value: return "value";
        case arg_kind::in: return "in";
        case arg_kind::out: return "out";
        case arg_kind::inout: return "inout";
    }
    return "?";
}
constexpr std::string_view to_string(abi_kind k) {
    switch (k) {
        case abi_kind::mainline: return "mainline";
        case abi_kind::seed: return "seed";
        case abi_kind::v7: return "v7";
    }
    return "?";
}

/// What a successful ioctl gives back; see the top of this file.
enum class returns : u8 { status, value, new_fd, out_fd };

constexpr std::string_view to_string(returns r) {
    switch (r) {
        case returns::status: return "status";
        case returns::value: return "value";
        case returns::new_fd: return "new fd";
        case returns::out_fd: return "fd in an out field";
    }
    return "?";
}

/// What a request's successful submit yields: the kind, and for out_fd the byte offset of the fd in the image.
/// Structural, so it can be a template argument: `request<def, storage, return_spec{returns::out_fd, 12}>`.
struct return_spec {
    returns kind = returns::status;
    u16 fd_offset = 0;  ///< out_fd only: offset of the s32/u32 fd field from the start of the ioctl's argument
    friend constexpr bool operator==(return_spec, return_spec) = default;
};

/// No pointed-to argument (ARG none or value).
struct no_arg {};

/// The out-field fd of T, declared with VFIOPP_OUT_FD(T, field) next to the struct (found by ADL).
template <typename T>
concept has_out_fd = requires { vfiopp_out_fd(std::type_identity<T>{}); };

/// One ioctl: its kernel name, request code, fd, argument passing, argument type and what it returns.
///   static_assert(vfio::device_get_region_info.code == 0x3b6c);
///   static_assert(vfio::group_get_device_fd.ret.kind == returns::new_fd);
template <typename Arg>
struct ioctl_def {
    using arg_type = Arg;
    std::string_view name;  ///< kernel macro name, e.g. "VFIO_DEVICE_GET_REGION_INFO"
    u32 code;
    fd_kind fd;
    arg_kind arg;
    abi_kind abi;
    return_spec ret;
};

}  // namespace vfiopp::uapi

namespace vfiopp::detail {
/// The return_spec of an ioctl list entry: out_fd needs the argument's VFIOPP_OUT_FD.
template <typename A, uapi::returns R>
constexpr uapi::return_spec return_spec_of() {
    if constexpr (R == uapi::returns::out_fd) {
        static_assert(uapi::has_out_fd<A>, "vfiopp: an ioctl returning out_fd needs VFIOPP_OUT_FD(ArgType, field)");
        return {R, static_cast<uapi::u16>(vfiopp_out_fd(std::type_identity<A>{}))};
    } else {
        return {R, 0};
    }
}
}  // namespace vfiopp::detail

// K is stringized by the per-ABI wrappers (where it is still the list's token): passed on one more level it would
// be macro-expanded first, so a TU that included <linux/vfio.h> before vfiopp would get the kernel's expansion.
#define VFIOPP_DETAIL_IOCTL_DEF(n, KNAME, type, nr, fd, arg, A, ret, since, ABI)                              \
    inline constexpr ::vfiopp::uapi::ioctl_def<A> n{KNAME,                                                    \
                                                    ::vfiopp::uapi::io(type, nr),                             \
                                                    ::vfiopp::uapi::fd_kind::fd,                              \
                                                    ::vfiopp::uapi::arg_kind::arg,                            \
                                                    ::vfiopp::uapi::abi_kind::ABI,                            \
                                                    ::vfiopp::detail::return_spec_of<A, ::vfiopp::uapi::returns::ret>()};
#define VFIOPP_DETAIL_IOCTL_DEF_mainline(n, K, type, nr, fd, arg, A, ret, since)                              \
    VFIOPP_DETAIL_IOCTL_DEF(n, #K, type, nr, fd, arg, A, ret, since, mainline)
#define VFIOPP_DETAIL_IOCTL_DEF_seed(n, K, type, nr, fd, arg, A, ret, since)                                  \
    VFIOPP_DETAIL_IOCTL_DEF(n, #K, type, nr, fd, arg, A, ret, since, seed)
#define VFIOPP_DETAIL_IOCTL_DEF_v7(n, K, type, nr, fd, arg, A, ret, since)                                    \
    VFIOPP_DETAIL_IOCTL_DEF(n, #K, type, nr, fd, arg, A, ret, since, v7)

/// Defines one ioctl_def per entry of LIST, of ABI (mainline, seed or v7). The tuple of all of them is in
/// registry.hpp (`vfio::all_ioctls`), so that a TU using a few ioctls does not instantiate it.
#define VFIOPP_IOCTL_DEFS(LIST, ABI) LIST(VFIOPP_DETAIL_IOCTL_DEF_##ABI)

/// Names T's out-field fd (an ioctl with RETURNS out_fd writes a new fd there):
///   VFIOPP_OUT_FD(iommu_fault_alloc, out_fault_fd)
#define VFIOPP_OUT_FD(T, FIELD)                                                                               \
    static_assert(sizeof(T::FIELD) == 4, "vfiopp: an out-field fd is a 32-bit field");                        \
    [[maybe_unused]] constexpr std::size_t vfiopp_out_fd(std::type_identity<T>) { return offsetof(T, FIELD); }
