// A deliberately broken mirror: each VFIOPP_BREAK_* variant must fail to compile with vfiopp's message,
// and the unbroken variant must compile (so the failure is the assertion's, not a typo's).
#include <vfiopp/uapi/vfio.hpp>
#if defined(VFIOPP_BREAK_XCHECK)
#include <linux/vfio.h>
#include "../unit/kernel_xcheck.hpp"
#endif

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

#if defined(VFIOPP_BREAK_XCHECK)
// A mirror that agrees with its own offsets but not with the kernel: vfio_region_info with index and
// cap_offset swapped in the C++ struct and list alike.
namespace vfiopp::uapi::test2 {
struct vfio_region_info {
    u32 argsz;
    u32 flags;
    u32 cap_offset;
    u32 index;
    aligned_u64 size;
    aligned_u64 offset;
};
}  // namespace vfiopp::uapi::test2
#define VFIOPP_FIELDS_swapped(F, T) F(T, argsz, 0) F(T, flags, 4) F(T, index, 12) F(T, cap_offset, 8) F(T, size, 16)
static_assert(offsetof(::vfio_region_info, index) == offsetof(vfiopp::uapi::test2::vfio_region_info, index),
              "kernel vfio_region_info::index is not at the mirror's offset");
#endif

// The field-count proof runs where the descriptor is used (printing, decoding, the tests), not in every TU that
// includes a mirror: use it here.
int main() { return vfiopp::uapi::layout_of<vfiopp::uapi::test::broken>.size == 16 ? 0 : 1; }
