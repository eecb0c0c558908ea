// Cross-check against linux-libc-dev 7.3 (its include dir comes first on this target's include path).
// The mirrors come first: ioctl.hpp stringizes each ioctl's kernel name through one macro level too many, so a
// kernel header included before it would turn the names into the macros' expansions.
#include <vfiopp/uapi/all.hpp>
#include <vfiopp/uapi/registry.hpp>

#include <linux/vfio.h>
#include <linux/iommufd.h>
#include <linux/version.h>
static_assert(LINUX_VERSION_CODE >= KERNEL_VERSION(7, 3, 0), "kernel_xcheck_73 must see the 7.3 uapi headers");
#include "kernel_xcheck.inc"
