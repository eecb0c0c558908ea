#!/bin/busybox sh
# vfio-trace_vm.sh - vfio-trace against a real VMM, inside the test guest (run by tests/vm/run; see vfio-trace.cmake).
#
# The host's own qemu-system-x86_64 passes the first edu device through with vfio-pci, once per backend (type1:
# group + container; iommufd: cdev + /dev/iommu). With -S QEMU sets the device up and maps guest RAM for DMA, then
# idles; it is stopped with SIGTERM. Each backend runs twice: under vfio-trace --summary, then under
# strace -f -y -X raw -e trace=ioctl (when /usr/bin/strace is in the guest). Checked per backend:
#  - every VFIO/iommufd ioctl QEMU issued was decoded: no "unknown" line, "0 unknown" in the summary;
#  - vfio-trace's count per (fd kind, code) equals strace's (strace -y names each fd's file, which gives the kind);
#  - the ioctls TESTBED.md lists for the backend are there, and decodings that show the arguments were read:
#    the device name of GROUP_GET_DEVICE_FD and the fd it returns, GET_INFO's capability chain, IOAS_IOVA_RANGES'
#    ranges, the errno names QEMU sees (ENOTTY for DEVICE_FEATURE, ENODEV for the hot-reset info);
#  - QEMU behaves as untraced: its SIGTERM handler runs, it exits 0 (as strace sees it exit too), and it prints
#    the same under vfio-trace as under strace.
# A run ends when QEMU's setup is over (settle), not after a fixed time: the whole guest run takes about 30 s.
# Prints "vfio-trace vm: all N checks passed" last when everything holds; exits 1 otherwise.
export PATH=/bin:/usr/bin
set -- $VFIOPP_EDU
DEV=$1
[ -n "$DEV" ] || { echo "vfio-trace vm: no edu device (VFIOPP_EDU is empty)"; exit 1; }
QEMU="qemu-system-x86_64 -machine q35 -accel tcg -m 64 -nodefaults -display none -S -bios /usr/share/qemu/qboot.rom -L /usr/share/qemu"
passed=0
failed=0
check() {  # check CONDITION-STATUS MESSAGE
  if [ "$1" = 0 ]; then passed=$((passed + 1)); echo "PASS: $2"; else failed=$((failed + 1)); echo "FAIL: $2"; fi
}
now() { cut -d' ' -f1 /proc/uptime; }

# settle FILE: waits until QEMU's setup is over: its main thread waits in ppoll (syscall 271: the main loop runs;
# with -S nothing else happens) and FILE has not grown for 3 s; at most 60 s. Prints how long it took.
settle() {
  t=0 last=-1 same=0
  while [ $t -lt 60 ]; do
    sleep 1
    t=$((t + 1))
    n=$(wc -c <"$1" 2>/dev/null || echo 0)
    p=$(pidof qemu-system-x86_64)
    sc=$(cut -d' ' -f1 /proc/${p:-0}/syscall 2>/dev/null)
    if [ "$n" -gt 0 ] && [ "$n" = "$last" ]; then same=$((same + 1)); else same=0; fi
    last=$n
    if [ $same -ge 3 ] && [ "$sc" = 271 ]; then
      echo "-- settled after ${t}s (QEMU's main thread in ppoll, the log quiet for 3 s)"
      return 0
    fi
  done
  echo "-- not settled after ${t}s (QEMU's main thread: syscall '${sc}')"
  return 1
}

# stop_qemu: SIGTERM to the inner QEMU (it tears the device down and exits 0)
stop_qemu() {
  p=$(pidof qemu-system-x86_64)
  [ -n "$p" ] && kill -TERM $p
}

# strace_counts LOG: "kind code count" per VFIO/iommufd ioctl in an strace -y log (the fd's file gives the kind)
strace_counts() {
  awk '
    /ioctl\(/ && !/resumed>/ {
      s = substr($0, index($0, "ioctl(") + 6)
      n = split(s, a, ", ")
      if (n < 2 || a[2] !~ /^0x3b[0-9a-f][0-9a-f]$/) next
      path = a[1]; sub(/^[0-9]+</, "", path); sub(/>$/, "", path)
      kind = "other"
      if (path == "/dev/vfio/vfio") kind = "container"
      else if (path ~ /^\/dev\/vfio\/[0-9]+$/) kind = "group"
      else if (path ~ /^\/dev\/vfio\/devices\/vfio[0-9]+$/ || path == "anon_inode:[vfio-device]") kind = "device"
      else if (path == "/dev/iommu") kind = "iommufd"
      c[kind " " a[2]]++
    }
    END { for (k in c) print k, c[k] }' "$1" | sort
}

# trace_counts TRACE: "kind code count" from vfio-trace's summary table
trace_counts() {
  awk '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $4 ~ /^0x/ { print $3, $4, $1 }' "$1" | sort
}

run_backend() {  # run_backend type1|iommufd
  b=$1
  if [ $b = iommufd ]; then
    V="-object iommufd,id=ifd0 -device vfio-pci,host=$DEV,iommufd=ifd0"
    expected="VFIO_DEVICE_BIND_IOMMUFD IOMMU_GET_HW_INFO IOMMU_IOAS_ALLOC VFIO_DEVICE_ATTACH_IOMMUFD_PT IOMMU_IOAS_IOVA_RANGES IOMMU_IOAS_MAP IOMMU_IOAS_UNMAP VFIO_DEVICE_GET_INFO VFIO_DEVICE_GET_REGION_INFO VFIO_DEVICE_GET_IRQ_INFO VFIO_DEVICE_SET_IRQS"
  else
    V="-device vfio-pci,host=$DEV"
    expected="VFIO_GROUP_GET_STATUS VFIO_GET_API_VERSION VFIO_CHECK_EXTENSION VFIO_GROUP_SET_CONTAINER VFIO_SET_IOMMU VFIO_IOMMU_GET_INFO VFIO_IOMMU_MAP_DMA VFIO_IOMMU_UNMAP_DMA VFIO_GROUP_GET_DEVICE_FD VFIO_DEVICE_GET_INFO VFIO_DEVICE_GET_REGION_INFO VFIO_DEVICE_GET_IRQ_INFO VFIO_DEVICE_SET_IRQS"
  fi
  T=/tmp/$b.trace
  echo "== $b: vfio-trace --summary -- $QEMU $V (uptime $(now)s)"
  vfio-trace --summary -o $T -- $QEMU $V >/tmp/$b.qemu 2>&1 &
  tp=$!
  settle $T
  check $? "$b: QEMU set the device up under vfio-trace (the trace settled)"
  stop_qemu
  wait $tp
  trace_rc=$?
  echo "-- $b: the trace (uptime $(now)s)"
  cat $T
  echo "-- $b: QEMU's output"
  cat /tmp/$b.qemu

  n=$(grep -c '^\[' $T)
  check $([ "$n" -gt 0 ]; echo $?) "$b: vfio-trace printed $n ioctls"
  check $(grep '^\[' $T | grep -q ' unknown ' && echo 1 || echo 0) "$b: every ioctl decoded (no 'unknown' line)"
  check $(grep -q 'total: [0-9]* ioctls, [0-9]* failed, 0 unknown' $T; echo $?) "$b: the summary counts 0 unknown"
  for name in $expected; do
    check $(grep -q "^\[[0-9]*\] fd [0-9]* ([a-z]*) $name " $T; echo $?) "$b: $name decoded"
  done
  check $(grep 'VFIO_DEVICE_FEATURE' $T | grep -q '= -1 ENOTTY'; echo $?) "$b: VFIO_DEVICE_FEATURE fails with ENOTTY, by name"
  check $(grep 'VFIO_DEVICE_GET_PCI_HOT_RESET_INFO' $T | grep -q '= -1 ENODEV'; echo $?) \
    "$b: VFIO_DEVICE_GET_PCI_HOT_RESET_INFO (0x3b70 on the device fd) fails with ENODEV"
  if [ $b = type1 ]; then
    check $(grep "VFIO_GROUP_GET_DEVICE_FD \"$DEV\"" $T | grep -q '(new device fd)'; echo $?) \
      "$b: GROUP_GET_DEVICE_FD shows the device name and returns a device fd"
    check $(grep 'VFIO_IOMMU_GET_INFO' $T | grep -q 'caps=\[.*iova_range'; echo $?) "$b: IOMMU_GET_INFO's capability chain decoded"
    check $(grep -q 'VFIO_IOMMU_MAP_DMA vfio_iommu_type1_dma_map{argsz=32, flags=read|write' $T; echo $?) "$b: MAP_DMA's request decoded"
  else
    check $(grep 'IOMMU_IOAS_IOVA_RANGES' $T | grep -q 'ranges=\[iommu_iova_range{'; echo $?) "$b: IOAS_IOVA_RANGES' ranges read from QEMU"
    check $(grep 'IOMMU_IOAS_IOVA_RANGES' $T | grep -q 'EMSGSIZE'; echo $?) "$b: IOAS_IOVA_RANGES' EMSGSIZE negotiation shown"
    check $(grep -q 'VFIO_DEVICE_BIND_IOMMUFD vfio_device_bind_iommufd{' $T; echo $?) "$b: BIND_IOMMUFD (0x3b76 on a cdev) decoded"
  fi
  check $([ "$trace_rc" = 0 ]; echo $?) "$b: vfio-trace exited with QEMU's status on SIGTERM, 0 ($trace_rc)"
  check $(grep -q 'terminating on signal 15' /tmp/$b.qemu; echo $?) "$b: QEMU's SIGTERM handler ran under vfio-trace"

  if [ -x /usr/bin/strace ]; then
    S=/tmp/$b.strace
    echo "== $b: strace -f -y -X raw -e trace=ioctl (uptime $(now)s)"
    strace -f -y -X raw -e trace=ioctl -o $S $QEMU $V >/tmp/$b.qemu2 2>&1 &
    sp=$!
    settle $S
    check $? "$b: QEMU set the device up under strace"
    stop_qemu
    wait $sp
    strace_rc=$?
    strace_counts $S >/tmp/$b.scount
    trace_counts $T >/tmp/$b.tcount
    echo "-- $b: kind code count, vfio-trace | strace"
    paste /tmp/$b.tcount /tmp/$b.scount
    check $(cmp -s /tmp/$b.tcount /tmp/$b.scount; echo $?) "$b: vfio-trace's count per (fd kind, code) equals strace's"
    # the exit strace saw for QEMU's main thread is QEMU's own
    main=$(awk 'NR == 1 { print $1 }' $S)
    check $(grep -q "^$main  *+++ exited with $trace_rc +++" $S; echo $?) "$b: strace saw QEMU exit with $trace_rc too ($strace_rc)"
    # what QEMU printed (warnings, and its SIGTERM handler's message) does not depend on who traces it
    check $(cmp -s /tmp/$b.qemu /tmp/$b.qemu2; echo $?) "$b: QEMU printed the same under vfio-trace as under strace"
  else
    echo "-- $b: no strace in the guest: the expected list alone is checked"
  fi
}

run_backend type1
if [ -e /dev/iommu ] && [ -n "$VFIOPP_EDU_CDEVS" ]; then
  run_backend iommufd
else
  check 1 "iommufd: /dev/iommu and the VFIO cdevs are needed (run with --kernel iommufd)"
fi
echo "vfio-trace vm: $passed passed, $failed failed (uptime $(now)s)"
[ $failed = 0 ] || exit 1
echo "vfio-trace vm: all $passed checks passed"
