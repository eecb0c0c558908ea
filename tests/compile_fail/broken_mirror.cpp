// A deliberately broken mirror: each VFIOPP_BREAK_* variant must fail to compile with vfiopp's message,
// and the unbroken variant must compile (so the failure is the assertion's, not a typo's).
//
// Two checks are put to the test:
//  - the layout proof every mirror gets (VFIOPP_LAYOUT): OFFSET, SIZE, COUNT break `broken` against its own list;
//  - the kernel cross-check (tests/unit/kernel_xcheck.hpp): the XCHECK* variants break a mirror of <linux/vfio.h>
//    that still agrees with its own list (its VFIOPP_LAYOUT passes), so only the cross-check can refuse it. The
//    mirror is declared exactly as vfio.hpp declares its own (kernel names in vfiopp::uapi, X-macro lists) and is
//    expanded through the cross-check's own list macros (VFIOPP_XC_STRUCTS_OF, ..._ENUM_VALUES_OF, ..._CONSTANTS_OF,
//    ..._IOCTLS_OF, the ones kernel_xcheck.inc expands for the real headers), so the expected message comes from the
//    cross-check's static_asserts: this file writes none of them. The unbroken variant runs the same expansion on a
//    correct mirror and also asserts that each entry was *checked*, so an emptied cross-check fails here too.
#include <vfiopp/uapi/enums.hpp>
#include <vfiopp/uapi/ioctl.hpp>
#include <vfiopp/uapi/layout.hpp>

#include <array>

#include <linux/vfio.h>
#include "../unit/kernel_xcheck.hpp"

namespace vfiopp::uapi::test {

struct broken {
#if defined(VFIOPP_BREAK_OFFSET)
    u32 flags;  // declared in the wrong order: argsz is no longer at 0
    u32 argsz;
#else
    u32 argsz;
    u32 flags;
#endif
    aligned_u64 iova;
#if defined(VFIOPP_BREAK_SIZE)
    u32 extra;  // a field the ABI does not have, unnamed in the list
#endif
};
#if defined(VFIOPP_BREAK_COUNT)
// the list forgets a field; size and offsets still agree
#define VFIOPP_FIELDS_broken(F, T) F(T, argsz, 0) F(T, iova, 8)
#else
#define VFIOPP_FIELDS_broken(F, T) F(T, argsz, 0) F(T, flags, 4) F(T, iova, 8)
#endif
VFIOPP_LAYOUT(broken, 16, 8, never)

}  // namespace vfiopp::uapi::test

// ---- the kernel cross-check's negative control: a mirror of <linux/vfio.h>'s vfio_region_info ----
// (vfio.hpp is not included: this file's vfiopp::uapi::vfio_region_info stands in for it.)
namespace vfiopp::uapi {

// X(name, KERNEL_MACRO, value, since)
#if defined(VFIOPP_BREAK_XCHECK_CONSTANT)
#define VFIOPP_CONSTANTS_xcontrol(X) X(vfio_api_version, VFIO_API_VERSION, u32{1}, k6_1)  // the kernel's is 0
#else
#define VFIOPP_CONSTANTS_xcontrol(X) X(vfio_api_version, VFIO_API_VERSION, u32{0}, k6_1)
#endif
VFIOPP_CONSTANTS(VFIOPP_CONSTANTS_xcontrol)

#if defined(VFIOPP_BREAK_XCHECK_ENUM)
#define VFIOPP_ENUM_region_info_flag(X)                        \
    X(read, VFIO_REGION_INFO_FLAG_READ, 1u << 0, k6_1)         \
    X(write, VFIO_REGION_INFO_FLAG_WRITE, 1u << 2, k6_1) /* the kernel's is 1 << 1 */
#else
#define VFIOPP_ENUM_region_info_flag(X)                        \
    X(read, VFIO_REGION_INFO_FLAG_READ, 1u << 0, k6_1)         \
    X(write, VFIO_REGION_INFO_FLAG_WRITE, 1u << 1, k6_1)
#endif
VFIOPP_FLAGS(region_info_flag, u32)
#define VFIOPP_ENUMS_xcontrol(X) X(region_info_flag)

struct vfio_region_info {
    u32 argsz;
    bitmask<region_info_flag> flags;
#if defined(VFIOPP_BREAK_XCHECK)
    u32 cap_offset;  // index and cap_offset swapped, in the struct and in its list alike
    u32 index;
#elif defined(VFIOPP_BREAK_XCHECK_TYPE)
    s32 index;  // the kernel's __u32 index, mirrored signed: same size and offset
    u32 cap_offset;
#else
    u32 index;
    u32 cap_offset;
#endif
    aligned_u64 size;
#if defined(VFIOPP_BREAK_XCHECK_SIZE)
    std::array<u64, 2> offset;  // twice the kernel's __u64 offset: every offset still agrees, the size does not
#else
    aligned_u64 offset;
#endif
};
#if defined(VFIOPP_BREAK_XCHECK)
#define VFIOPP_FIELDS_vfio_region_info(F, T) \
    F(T, argsz, 0) F(T, flags, 4) F(T, index, 12) F(T, cap_offset, 8) F(T, size, 16) F(T, offset, 24)
#else
#define VFIOPP_FIELDS_vfio_region_info(F, T) \
    F(T, argsz, 0) F(T, flags, 4) F(T, index, 8) F(T, cap_offset, 12) F(T, size, 16) F(T, offset, 24)
#endif
#if defined(VFIOPP_BREAK_XCHECK_SIZE)
#define VFIOPP_STRUCTS_xcontrol(X) X(vfio_region_info, 40, 8, k6_1)
#else
#define VFIOPP_STRUCTS_xcontrol(X) X(vfio_region_info, 32, 8, k6_1)
#endif
VFIOPP_STRUCTS_xcontrol(VFIOPP_LAYOUT)  // the mirror's own layout proof: passes in every variant

}  // namespace vfiopp::uapi

namespace vfiopp::uapi::xcontrol {
// X(cxx_name, KERNEL_MACRO, type, nr, fd, arg, ArgType, returns, since)
#if defined(VFIOPP_BREAK_XCHECK_IOCTL)
#define VFIOPP_IOCTLS_xcontrol(X) /* VFIO_BASE + 9 is VFIO_DEVICE_GET_IRQ_INFO's number */                   \
    X(device_get_region_info, VFIO_DEVICE_GET_REGION_INFO, u32{';'}, 100 + 9, device, inout, vfio_region_info, status, k6_1)
#else
#define VFIOPP_IOCTLS_xcontrol(X)                                                                              \
    X(device_get_region_info, VFIO_DEVICE_GET_REGION_INFO, u32{';'}, 100 + 8, device, inout, vfio_region_info, status, k6_1)
#endif
VFIOPP_IOCTL_DEFS(VFIOPP_IOCTLS_xcontrol, mainline)
}  // namespace vfiopp::uapi::xcontrol

// The cross-check of the stand-in "header", through the same macros as kernel_xcheck.inc's.
inline constexpr vfiopp_xcheck::tally xc_structs = VFIOPP_XC_STRUCTS_OF(xcontrol);
inline constexpr vfiopp_xcheck::tally xc_enum_values = VFIOPP_XC_ENUM_VALUES_OF(xcontrol);
inline constexpr vfiopp_xcheck::tally xc_constants = VFIOPP_XC_CONSTANTS_OF(xcontrol);
#define VFIOPP_XC_IOCTL_NS ::vfiopp::uapi::xcontrol
inline constexpr vfiopp_xcheck::tally xc_ioctls = VFIOPP_XC_IOCTLS_OF(xcontrol);
#undef VFIOPP_XC_IOCTL_NS
// Each entry was compared, not skipped (k6_1 on the 6.1 system headers): a cross-check that compares nothing fails
// to build here in every variant, the unbroken one included.
static_assert(xc_structs.checked == 1 && xc_structs.total() == 1, "control: the cross-check did not check the struct");
static_assert(xc_enum_values.checked == 2 && xc_enum_values.total() == 2, "control: the cross-check did not check the enum");
static_assert(xc_constants.checked == 1 && xc_constants.total() == 1, "control: the cross-check did not check the constant");
static_assert(xc_ioctls.checked == 1 && xc_ioctls.total() == 1, "control: the cross-check did not check the ioctl");

// The field-count proof runs where the descriptor is used (printing, decoding, the tests), not in every TU that
// includes a mirror: use it here (and on the stand-in mirror, whose list must name all of its fields).
int main() {
    return vfiopp::uapi::layout_of<vfiopp::uapi::test::broken>.size == 16 &&
                   vfiopp::uapi::layout_of<vfiopp::uapi::vfio_region_info>.size == sizeof(vfiopp::uapi::vfio_region_info)
               ? 0
               : 1;
}
