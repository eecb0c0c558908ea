#!/bin/busybox sh
# vfio-nesting_vm.sh - the VM test of examples/vfio-nesting.cpp (tests/tools/vfio-nesting.cmake runs it with
# tests/vm/run --kernel iommufd, vfio-nesting copied to /bin/vfio-nesting). On Linux 7.3 with QEMU's emulated VT-d:
#   - seed and v7 on a real type1 container (the group of the first edu, VFIOPP_EDU_GROUPS): proposal::probe() finds
#     nothing, and the kernel answers the proposal's ioctls ENOTTY: "this kernel does not implement the 2020
#     proposal", typed (ioctl, errno), exit 3;
#   - iommufd on the first edu's cdev (VFIOPP_EDU_CDEVS): the session stops at the stage-2 parent, the kernel's
#     EOPNOTSUPP from IOMMU_HWPT_ALLOC for NEST_PARENT (QEMU sets no ECAP.NEST), typed, exit 3.
# Prints "vfio-nesting-vm: all N checks passed" and exits 0 only when every check holds.
set -u
group=${VFIOPP_EDU_GROUPS%% *}
cdev=${VFIOPP_EDU_CDEVS%% *}
echo "vfio-nesting-vm: edu ${VFIOPP_EDU%% *}, group $group, cdev ${cdev:-none}"
passed=0
failed=0

# check NAME STATUS TEXT... -- COMMAND...: COMMAND exits STATUS and prints every TEXT (fixed strings)
check() {
  name=$1 want=$2
  shift 2
  texts=""
  while [ "$1" != "--" ]; do texts="$texts$1
"; shift; done
  shift
  out=$("$@" 2>&1)
  rc=$?
  echo "$out" | sed "s/^/[$name] /"
  ok=1
  [ "$rc" -eq "$want" ] || { echo "vfio-nesting-vm: FAIL $name: exit status $rc, expected $want"; ok=0; }
  while IFS= read -r t; do
    [ -n "$t" ] || continue
    echo "$out" | grep -qF -- "$t" || { echo "vfio-nesting-vm: FAIL $name: no line with: $t"; ok=0; }
  done <<TEXTS
$texts
TEXTS
  if [ $ok = 1 ]; then passed=$((passed + 1)); echo "vfio-nesting-vm: ok $name"; else failed=$((failed + 1)); fi
}

check v7-pasid-alloc 3 \
  "probe: no form of the 2020 proposal on this kernel" \
  "v7 PASID_REQUEST #18 unknown (ENOTTY)" \
  "vfio-nesting: pasid-alloc: this kernel does not implement the 2020 proposal (ENOTTY): VFIO_IOMMU_PASID_REQUEST: kernel: ENOTTY (Inappropriate ioctl for device)" \
  -- vfio-nesting --abi v7 --group "$group" pasid-alloc 1 1000
check v7-invalidate 3 \
  "vfio-nesting: invalidate (0 entries done): this kernel does not implement the 2020 proposal (ENOTTY): VFIO_IOMMU_NESTING_OP: kernel: ENOTTY" \
  -- vfio-nesting --abi v7 --group "$group" invalidate --cache iotlb --granularity pasid --pasid 5
check seed-bind 3 \
  "backend: container/seed" \
  "vfio-nesting: bind: this kernel does not implement the 2020 proposal (ENOTTY): VFIO_IOMMU_NESTING_OP: kernel: ENOTTY" \
  -- vfio-nesting --abi seed --group "$group" bind --hpasid 5 --gpgd 0x1000 --sre
check seed-session 3 \
  "vfio-nesting: session: step 1/5 pasid-alloc [1, 1000]: this kernel does not implement the 2020 proposal (ENOTTY): VFIO_IOMMU_PASID_REQUEST: kernel: ENOTTY" \
  -- vfio-nesting --abi seed --group "$group" session
check iommufd-session 3 \
  "iommufd: $cdev bound (dev_id" \
  "vfio-nesting: session: setup: the NEST_PARENT HWPT: the kernel does not support it (EOPNOTSUPP): IOMMU_HWPT_ALLOC: kernel: EOPNOTSUPP (Operation not supported)" \
  -- vfio-nesting --abi iommufd --device "$cdev" session

total=$((passed + failed))
if [ $failed = 0 ]; then
  echo "vfio-nesting-vm: all $total checks passed"
  exit 0
fi
echo "vfio-nesting-vm: $failed of $total checks failed"
exit 1
