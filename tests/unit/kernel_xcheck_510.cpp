// Cross-check of iommu.hpp, the 5.10 payloads of the 2020 proposal, against Linux 5.10's own <linux/iommu.h>
// (linux-libc-dev 5.10 from Debian 11, downloaded and unpacked into the cache by tools/setup-debian.sh; its include
// dir comes first on this target's include path). Struct by struct (size, alignment, every field's offset, size and
// integer type), constant by constant and enum value by enum value, like the 6.1 and 7.3 checks; then the count:
// every entry of iommu.hpp's lists must have been checked, none skipped.
//
// iommu.hpp marks its 5.10-only entries `never` (no header of a kernel this project runs has them): here they are
// this header's, so VFIOPP_XC_CHECK_NEVER makes the cross-check compare them. Only iommu.hpp's lists are expanded.
#define VFIOPP_XC_CHECK_NEVER
#include <vfiopp/uapi/iommu.hpp>

#include <linux/iommu.h>
#include <linux/version.h>
static_assert(LINUX_VERSION_CODE >= KERNEL_VERSION(5, 10, 0) && LINUX_VERSION_CODE < KERNEL_VERSION(5, 11, 0),
              "kernel_xcheck_510 must see the 5.10 uapi headers");
#include "kernel_xcheck.hpp"

#include <cstdio>

namespace vfiopp_xc_visited {
inline constexpr ::vfiopp_xcheck::tally structs = VFIOPP_XC_STRUCTS_OF(iommu);
inline constexpr ::vfiopp_xcheck::tally enum_values = VFIOPP_XC_ENUM_VALUES_OF(iommu);
inline constexpr ::vfiopp_xcheck::tally constants = VFIOPP_XC_CONSTANTS_OF(iommu);
}  // namespace vfiopp_xc_visited
namespace vfiopp_xc_expected {
inline constexpr ::vfiopp_xcheck::tally structs = VFIOPP_XC_EXPECTED_STRUCTS_OF(iommu);
inline constexpr ::vfiopp_xcheck::tally enum_values = VFIOPP_XC_EXPECTED_ENUM_VALUES_OF(iommu);
inline constexpr std::size_t enum_table_sizes = VFIOPP_XC_ENUM_TABLE_SIZES_OF(iommu);
inline constexpr ::vfiopp_xcheck::tally constants = VFIOPP_XC_EXPECTED_CONSTANTS_OF(iommu);
}  // namespace vfiopp_xc_expected

int main() {
    const int major = LINUX_VERSION_CODE >> 16, minor = (LINUX_VERSION_CODE >> 8) & 0xff, patch = LINUX_VERSION_CODE & 0xff;
    struct row {
        const char* kind;
        vfiopp_xcheck::tally visited, expected;
    };
    const row rows[] = {{"structs", vfiopp_xc_visited::structs, vfiopp_xc_expected::structs},
                        {"enum values", vfiopp_xc_visited::enum_values, vfiopp_xc_expected::enum_values},
                        {"constants", vfiopp_xc_visited::constants, vfiopp_xc_expected::constants}};
    bool ok = vfiopp_xc_expected::enum_values.total() == vfiopp_xc_expected::enum_table_sizes;
    std::printf("kernel header %d.%d.%d: iommu.hpp against <linux/iommu.h>\n", major, minor, patch);
    std::size_t checked = 0, total = 0;
    for (const row& r : rows) {
        // Everything iommu.hpp mirrors is in the 5.10 header: nothing may be skipped.
        const bool good = r.visited == r.expected && r.visited.checked == r.visited.total();
        ok = ok && good;
        checked += r.visited.checked;
        total += r.expected.total();
        std::printf("  %-11s iommu    checked %zu of %zu (skipped: %zu newer, %zu never, %zu removed)%s\n", r.kind,
                    r.visited.checked, r.expected.total(), r.visited.newer, r.visited.never, r.visited.removed,
                    good ? "" : "  <- COVERAGE MISMATCH");
    }
    if (!ok) {
        std::printf("kernel header %d.%d.%d: COVERAGE MISMATCH: the cross-check did not check every iommu.hpp entry\n",
                    major, minor, patch);
        return 1;
    }
    std::printf("kernel header %d.%d.%d: every iommu.hpp mirror and constant matches (checked at compile time); "
                "checked %zu of %zu entries\n", major, minor, patch, checked, total);
    return 0;
}
