#!/usr/bin/env bash
# demo.sh - the library doing its real job, in one command (after tools/setup-debian.sh, which the test command runs):
# builds the tools vfio-ls, vfio-dma and vfio-trace (build/demo), then boots the 7.3 test kernel under QEMU with an
# emulated Intel VT-d IOMMU (scalable mode) and, inside it:
#   1. vfio-ls -v on the edu device bound to vfio-pci (its regions, IRQs, IOMMU info, the VT-d registers decoded);
#   2. the vfio-dma self-test on it (a DMA through the IOMMU and back, compared byte for byte, with an MSI);
#   3. vfio-trace on a real VMM: the host's own QEMU, run inside the guest, passing that edu device through with
#      vfio-pci on the iommufd backend; every VFIO and iommufd ioctl QEMU issues, decoded.
# It prints what a user would see, and how to run each tool on a real host. Exit status: non-zero if a step failed.
# The first run builds the 7.3 kernel into the cache if it is not there (about 9-10 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
B=build/demo
echo "demo: building vfio-ls, vfio-dma and vfio-trace in $B"
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVFIOPP_BUILD_TESTS=OFF -DVFIOPP_INSTALL=OFF >/dev/null
cmake --build "$B" -j"$JOBS" --target vfio-ls vfio-dma vfio-trace
tools/build-kernel.sh >/dev/null
echo "demo: booting the 7.3 kernel with emulated VT-d (scalable mode); the tools run inside"
exec tests/vm/run --kernel iommufd --iommu "x-scalable-mode=on,x-pasid-mode=on" --mem 2G --timeout 280 \
  --workdir "$B/vm" \
  --add "$B/examples/vfio-ls:/bin/vfio-ls" --add "$B/examples/vfio-dma:/bin/vfio-dma" \
  --add "$B/examples/vfio-trace:/bin/vfio-trace" \
  --add /usr/bin/qemu-system-x86_64 --add /usr/share/qemu/qboot.rom --add /usr/share/qemu/kvmvapic.bin \
  -- tools/demo-guest.sh
