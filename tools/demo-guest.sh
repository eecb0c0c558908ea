#!/bin/busybox sh
# demo-guest.sh - tools/demo.sh's part inside the test guest (tests/vm/run sets VFIOPP_EDU and the PATH's tools).
export PATH=/bin:/usr/bin
set -- $VFIOPP_EDU
DEV=$1
[ -n "$DEV" ] || { echo "demo: no edu device in the guest"; exit 1; }
step() { echo; echo "=================== $* ==================="; }
rc=0

step "1. vfio-ls -v $DEV"
vfio-ls -v "$DEV" || rc=1
echo "On a real host: vfio-ls (every group and device), vfio-ls -v 0000:BB:DD.F (one device in detail), --json for scripts."

step "2. vfio-dma --no-bench $DEV (the DMA self-test)"
vfio-dma --no-bench "$DEV" || rc=1
echo "On a real host: vfio-bind 0000:BB:DD.F first, then vfio-dma on an edu device (QEMU's -device edu);"
echo "  vfio-dma --no-selftest DEVICE measures map/unmap throughput on any device bound to vfio-pci."

step "3. vfio-trace -- qemu-system-x86_64 ... -device vfio-pci,host=$DEV,iommufd=ifd0"
# QEMU with -S sets the device up (bind, attach, map guest RAM) and then waits: stop it once the trace is quiet
vfio-trace --summary -o /tmp/trace -- qemu-system-x86_64 -machine q35 -accel tcg -m 64 -nodefaults -display none -S \
  -bios /usr/share/qemu/qboot.rom -L /usr/share/qemu -object iommufd,id=ifd0 \
  -device vfio-pci,host="$DEV",iommufd=ifd0 >/tmp/qemu.out 2>&1 &
tp=$!
last=-1 same=0 t=0
while [ $t -lt 60 ] && [ $same -lt 3 ]; do
  sleep 1; t=$((t + 1))
  n=$(wc -c </tmp/trace 2>/dev/null || echo 0)
  if [ "$n" -gt 0 ] && [ "$n" = "$last" ]; then same=$((same + 1)); else same=0; fi
  last=$n
done
p=$(pidof qemu-system-x86_64)
[ -n "$p" ] && kill -TERM $p
wait $tp || rc=1
cat /tmp/trace
grep -q ' 0 unknown' /tmp/trace || { echo "demo: some ioctls were not decoded"; rc=1; }
echo "On a real host: vfio-trace -p \$(pidof qemu-system-x86_64) attaches to a running VMM (Ctrl-C detaches);"
echo "  vfio-trace -- COMMAND starts one under the tracer; --json writes one JSON object per ioctl."

echo
[ $rc = 0 ] && echo "demo: all three steps passed" || echo "demo: a step failed"
exit $rc
