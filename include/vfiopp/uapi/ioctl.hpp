// vfiopp/uapi/ioctl.hpp - ioctl codes and the compile-time description of one ioctl.
//
// Each uapi header declares its ioctls once, as an X-macro list
//   X(cxx_name, KERNEL_MACRO, TYPE_CHAR, NR, FD, ARG, ArgType, SINCE)
// expanded with VFIOPP_IOCTL_DEFS(list) into `inline constexpr ioctl_def<ArgType> cxx_name{...}` objects and a tuple
// of them, which the registry (registry.hpp) concatenates. ARG says how the third ioctl argument is passed:
//   none   - no argument (VFIO_GET_API_VERSION),
//   value  - an integer by value (VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU),
//   in/out/inout - a pointer to ArgType that the kernel reads / writes / both.
// SINCE is a token naming the first kernel whose header has the ioctl in this form (k6_1 for "6.1 or older",
// never for the 2020 proposal); the kernel-header cross-check uses it.
#pragma once

#include <vfiopp/uapi/layout.hpp>

#include <string_view>
#include <tuple>

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

/// No pointed-to argument (ARG none or value).
struct no_arg {};

/// One ioctl: its kernel name, request code, fd, argument passing and argument type.
///   static_assert(vfio::device_get_region_info.code == 0x3b6c);
template <typename Arg>
struct ioctl_def {
    using arg_type = Arg;
    std::string_view name;  ///< kernel macro name, e.g. "VFIO_DEVICE_GET_REGION_INFO"
    u32 code;
    fd_kind fd;
    arg_kind arg;
    abi_kind abi;
};

}  // namespace vfiopp::uapi

#define VFIOPP_DETAIL_IOCTL_DEF(n, K, type, nr, fd, arg, A, since)                                            \
    inline constexpr ::vfiopp::uapi::ioctl_def<A> n{#K, ::vfiopp::uapi::io(type, nr), ::vfiopp::uapi::fd_kind::fd, \
                                                    ::vfiopp::uapi::arg_kind::arg, vfiopp_abi};
#define VFIOPP_DETAIL_IOCTL_REF(n, K, type, nr, fd, arg, A, since) n,

/// Defines one ioctl_def per entry of LIST and `all_ioctls`, a tuple of them. Needs `vfiopp_abi` in scope.
#define VFIOPP_IOCTL_DEFS(LIST)                                                                               \
    LIST(VFIOPP_DETAIL_IOCTL_DEF)                                                                             \
    inline constexpr auto all_ioctls = std::tuple{LIST(VFIOPP_DETAIL_IOCTL_REF)};
