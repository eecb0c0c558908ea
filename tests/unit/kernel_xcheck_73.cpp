// Cross-check against linux-libc-dev 7.3 (its include dir comes first on this target's include path).
#include <linux/vfio.h>
#include <linux/iommufd.h>
#include <linux/version.h>
static_assert(LINUX_VERSION_CODE >= KERNEL_VERSION(7, 3, 0), "kernel_xcheck_73 must see the 7.3 uapi headers");
#include "kernel_xcheck.inc"
