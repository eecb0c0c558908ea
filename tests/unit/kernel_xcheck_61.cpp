// Cross-check against the system's kernel headers (linux-libc-dev 6.1 on Debian 12).
// The mirrors come first: ioctl.hpp stringizes each ioctl's kernel name through one macro level too many, so a
// kernel header included before it would turn the names into the macros' expansions (see the notes in the report).
#include <vfiopp/uapi/all.hpp>
#include <vfiopp/uapi/registry.hpp>

#include <linux/vfio.h>
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#endif
#include <linux/iommu.h>
#include "kernel_xcheck.inc"
