// Cross-check against the system's kernel headers (linux-libc-dev 6.1 on Debian 12).
#include <linux/vfio.h>
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#endif
#include <linux/iommu.h>
#include "kernel_xcheck.inc"
