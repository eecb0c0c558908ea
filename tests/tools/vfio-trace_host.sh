#!/usr/bin/env bash
# vfio-trace_host.sh SECTION VFIO_TRACE FAKE CMAKE WORKDIR - vfio-trace's host tests (no VFIO needed).
#
# vfio-trace_fake issues VFIO/iommufd codes on plain files that --assume-kind maps to fd kinds (see the fake's
# header), so the decoding by fd kind, the fd tracking, threads, forks, signals and exit statuses are checked on any
# Linux host. Sections (one CTest test each):
#   text     the decoded lines: same code by fd kind, dup/fcntl/dup2/close followed, errno names, a thread, a child
#   json     --json: every line parses back (CMake's own JSON parser), fields and the summary object hold
#   summary  --summary: calls and errors per ioctl, errors per errno, unknown count
#   status   exit statuses: the program's (7), death by its signal (SIGTERM: 143), 127, 2
#   attach   -p on a running process: fds from /proc, its signal delivered, SIGINT detaches, it runs on untraced
# Prints "vfio-trace host SECTION: all N checks passed" last when everything holds; exits 1 otherwise.
set -u
SECTION=$1 TRACE=$2 FAKE=$3 CMAKE=$4 WORK=$5
rm -rf "$WORK" && mkdir -p "$WORK" || exit 1
D=$WORK/files
mkdir -p "$D"
ASSUME=(--assume-kind "$D/container=container" --assume-kind "$D/device=device" --assume-kind "$D/group=group"
        --assume-kind "$D/iommu=iommufd")
passed=0 failed=0
check() {  # check MESSAGE COMMAND...: passes when COMMAND succeeds
  local msg=$1
  shift
  if "$@"; then passed=$((passed + 1)); echo "PASS: $msg"; else failed=$((failed + 1)); echo "FAIL: $msg"; fi
}
has() { grep -qF -- "$2" "$1"; }        # has FILE TEXT
has_re() { grep -qE -- "$2" "$1"; }     # has_re FILE REGEX
fake_value() { sed -n "s/^fake:.* $1=\([0-9a-z]*\).*/\1/p" "$WORK/fake.out" | head -n 1; }
differs() { [ -n "$1" ] && [ "$1" != "$2" ]; }   # differs A B: A is set and is not B
not_stopped() { local s; s=$(awk '{print $3}' "/proc/$1/stat"); [ "$s" != t ] && [ "$s" != T ]; }
finish() {
  echo "vfio-trace host $SECTION: $passed passed, $failed failed"
  [ $failed = 0 ] || exit 1
  echo "vfio-trace host $SECTION: all $passed checks passed"
  exit 0
}

# run_fake [vfio-trace options...]: the fake's run mode (exit status 7) traced; the trace in $WORK/trace
run_fake() {
  "$TRACE" "$@" -o "$WORK/trace" "${ASSUME[@]}" -- "$FAKE" run "$D" 7 >"$WORK/fake.out"
  status=$?
  echo "--- the fake's output"; cat "$WORK/fake.out"
  echo "--- the trace"; cat "$WORK/trace"
  PID=$(fake_value pid) C=$(fake_value container) DEV=$(fake_value device) G=$(fake_value group)
  I=$(fake_value iommu) DUP=$(fake_value dup) TID=$(fake_value thread) CHILD=$(fake_value child)
  EFD=$(fake_value eventfd)
}

case $SECTION in
text)
  run_fake
  T=$WORK/trace
  check "the program exits with its own status (7)" [ "$status" = 7 ]
  check "its signal handler ran (SIGUSR1 delivered)" has "$WORK/fake.out" "fake: usr1=1"
  check "its SIGSTOP left it stopped until SIGCONT" has "$WORK/fake.out" "fake: stopped=y"
  check "0x3b71 on the container is VFIO_IOMMU_MAP_DMA, iova and size printed" has "$T" \
    "[$PID] fd $C (container) VFIO_IOMMU_MAP_DMA vfio_iommu_type1_dma_map{argsz=32, flags=read|write, vaddr=0x7f0000000000, iova=0x100000, size=0x200000} = -1 ENOTTY (Inappropriate ioctl for device)"
  check "0x3b71 on the device is VFIO_DEVICE_PCI_HOT_RESET, its group fds printed" has "$T" \
    "[$PID] fd $DEV (device) VFIO_DEVICE_PCI_HOT_RESET vfio_pci_hot_reset{argsz=16, flags=0, count=1} group_fds=[$G] = -1 ENOTTY"
  check "dup: the copy is a container (CHECK_EXTENSION's value decoded)" has "$T" \
    "[$PID] fd $DUP (container) VFIO_CHECK_EXTENSION 3 (VFIO_TYPE1v2_IOMMU) = -1 ENOTTY"
  check "fcntl(F_DUPFD_CLOEXEC): fd 100 is a container" has "$T" "[$PID] fd 100 (container) VFIO_GET_API_VERSION = -1 ENOTTY"
  check "dup2: fd 50 is a device" has "$T" \
    "[$PID] fd 50 (device) VFIO_DEVICE_GET_REGION_INFO vfio_region_info{argsz=32, flags=0, index=7,"
  check "GROUP_GET_DEVICE_FD: the device name read from the program" has "$T" \
    "[$PID] fd $G (group) VFIO_GROUP_GET_DEVICE_FD \"0000:00:03.0\" = -1 ENOTTY"
  check "GROUP_SET_CONTAINER: the fd it points to, and its kind" has "$T" \
    "[$PID] fd $G (group) VFIO_GROUP_SET_CONTAINER container_fd=$C (container) = -1 ENOTTY"
  check "iommufd: IOMMU_IOAS_MAP decoded" has "$T" \
    "[$PID] fd $I (iommufd) IOMMU_IOAS_MAP iommu_ioas_map{size=40, flags=fixed_iova|readable, ioas_id=2, __reserved=0, user_va=0x7f0000200000, length=0x1000, iova=0xfee00000} = -1 ENOTTY"
  check "close: the closed fd is no container any more, EBADF by name" has_re "$T" \
    "^\[$PID\] fd $DUP \(other\) unknown 0x3b71 on a non-VFIO fd \[VFIO_IOMMU_MAP_DMA on a container, VFIO_DEVICE_PCI_HOT_RESET on a device\] arg=0x[0-9a-f]+ = -1 EBADF \(Bad file descriptor\)$"
  check "a VFIO code on an eventfd: not decoded as VFIO, counted unknown, ENOTTY" has_re "$T" \
    "^\[$PID\] fd $EFD \(other\) unknown 0x3b71 on a non-VFIO fd .* = -1 ENOTTY"
  check "an unreadable argument is said so (the kernel fails the call, not the tracer)" has_re "$T" \
    "^\[$PID\] fd $C \(container\) VFIO_IOMMU_MAP_DMA \(argument at 0x8 unreadable: E[A-Z]+\) = -1 ENOTTY"
  check "a thread's ioctl: its own tid, the shared fd table" has "$T" \
    "[$TID] fd $C (container) VFIO_IOMMU_UNMAP_DMA vfio_iommu_type1_dma_unmap{argsz=24, flags=0, iova=0x100000, size=0x200000} = -1 ENOTTY"
  check "the thread is not the main thread" differs "$TID" "$PID"
  check "a forked child's ioctl on its copy of the device fd" has "$T" "[$CHILD] fd $DEV (device) VFIO_DEVICE_RESET = -1 ENOTTY"
  check "the child's close did not close the parent's container" has "$T" "[$PID] fd $C (container) VFIO_IOMMU_GET_INFO vfio_iommu_type1_info{argsz=24,"
  check "14 ioctls traced, one line each" [ "$(grep -c '^\[' "$T")" = 14 ]
  ;;
json)
  run_fake --json --summary
  check "the program exits with its own status (7)" [ "$status" = 7 ]
  cat >"$WORK/parse.cmake" <<'EOF'
# Parses every line of FILE as JSON (CMake's own parser) and checks the fields; prints "json: ..." lines.
file(READ "${FILE}" content)
set(n 0)
set(found_map FALSE)
set(found_reset FALSE)
set(found_value FALSE)
set(found_thread FALSE)
set(summary "")
while(NOT content STREQUAL "")
  string(FIND "${content}" "\n" nl)
  if(nl EQUAL -1)
    set(line "${content}")
    set(content "")
  else()
    string(SUBSTRING "${content}" 0 ${nl} line)
    math(EXPR next "${nl} + 1")
    string(SUBSTRING "${content}" ${next} -1 content)
  endif()
  if(line STREQUAL "")
    continue()
  endif()
  string(JSON type ERROR_VARIABLE err TYPE "${line}")
  if(err OR NOT type STREQUAL "OBJECT")
    message(FATAL_ERROR "json: not a JSON object (${err}): ${line}")
  endif()
  math(EXPR n "${n} + 1")
  string(JSON s ERROR_VARIABLE no_summary GET "${line}" summary)
  if(NOT no_summary)
    set(summary "${s}")
    continue()
  endif()
  string(JSON name GET "${line}" ioctl)
  string(JSON kind GET "${line}" kind)
  string(JSON tid GET "${line}" tid)
  if(name STREQUAL "VFIO_IOMMU_MAP_DMA" AND kind STREQUAL "container" AND NOT found_map)
    string(JSON iova GET "${line}" request iova)
    string(JSON size GET "${line}" request size)
    string(JSON flags GET "${line}" request flags)
    string(JSON errno GET "${line}" errno)
    string(JSON ret GET "${line}" ret)
    if(iova EQUAL 1048576 AND size EQUAL 2097152 AND flags STREQUAL "read|write" AND errno STREQUAL "ENOTTY" AND ret EQUAL -1)
      set(found_map TRUE)
    endif()
  endif()
  if(name STREQUAL "VFIO_DEVICE_PCI_HOT_RESET" AND kind STREQUAL "device")
    string(JSON gfd GET "${line}" request group_fds 0)
    if(gfd EQUAL GROUP)
      set(found_reset TRUE)
    endif()
  endif()
  if(name STREQUAL "VFIO_CHECK_EXTENSION")
    string(JSON v GET "${line}" value)
    string(JSON vn GET "${line}" value_name)
    if(v EQUAL 3 AND vn STREQUAL "VFIO_TYPE1v2_IOMMU")
      set(found_value TRUE)
    endif()
  endif()
  if(name STREQUAL "VFIO_IOMMU_UNMAP_DMA" AND tid EQUAL THREAD)
    set(found_thread TRUE)
  endif()
endwhile()
message("json: ${n} objects parsed")
foreach(f found_map found_reset found_value found_thread)
  if(NOT ${f})
    message(FATAL_ERROR "json: ${f} is false")
  endif()
endforeach()
if(summary STREQUAL "")
  message(FATAL_ERROR "json: no summary object")
endif()
string(JSON total GET "${summary}" total)
string(JSON unknown GET "${summary}" unknown)
string(JSON enotty GET "${summary}" errors_by_errno ENOTTY)
string(JSON rows LENGTH "${summary}" ioctls)
message("json: summary total=${total} unknown=${unknown} ENOTTY=${enotty} rows=${rows}")
if(NOT total EQUAL 14 OR NOT unknown EQUAL 2 OR NOT enotty EQUAL 13 OR NOT rows EQUAL 12 OR NOT n EQUAL 15)
  message(FATAL_ERROR "json: unexpected counts")
endif()
message("json: all fields as expected")
EOF
  "$CMAKE" -DFILE="$WORK/trace" -DGROUP="$G" -DTHREAD="$TID" -P "$WORK/parse.cmake" >"$WORK/parse.out" 2>&1
  rc=$?
  cat "$WORK/parse.out"
  check "every line parses back as JSON, fields and the summary object hold" [ $rc = 0 ]
  ;;
summary)
  run_fake --summary
  T=$WORK/trace
  check "the program exits with its own status (7)" [ "$status" = 7 ]
  check "MAP_DMA on a container: 2 calls, 2 errors" has_re "$T" '^ +2 +2 +container +0x3b71 +VFIO_IOMMU_MAP_DMA$'
  check "PCI_HOT_RESET on a device: counted apart from MAP_DMA (same code)" has_re "$T" '^ +1 +1 +device +0x3b71 +VFIO_DEVICE_PCI_HOT_RESET$'
  check "the two VFIO codes on non-VFIO fds: one unknown row" has_re "$T" '^ +2 +2 +other +0x3b71 +unknown$'
  check "the child's VFIO_DEVICE_RESET counted" has_re "$T" '^ +1 +1 +device +0x3b6f +VFIO_DEVICE_RESET$'
  check "errors per errno" has "$T" "  errors by errno: EBADF 1, ENOTTY 13"
  check "totals: 14 ioctls, 14 failed, 2 unknown" has "$T" "  total: 14 ioctls, 14 failed, 2 unknown"
  check "12 rows, one per (ioctl, fd kind, code)" [ "$(grep -cE '^ +[0-9]+ +[0-9]+ +[a-z-]+ +0x' "$T")" = 12 ]
  ;;
status)
  "$TRACE" -o "$WORK/trace" "${ASSUME[@]}" -- "$FAKE" kill "$D" >"$WORK/fake.out" 2>&1
  status=$?
  cat "$WORK/fake.out"
  check "a program killed by SIGTERM: vfio-trace dies of SIGTERM too (143)" [ "$status" = 143 ]
  "$TRACE" -o "$WORK/trace" -- sh -c 'exit 42'
  check "a shell's exit 42 is passed through" [ $? = 42 ]
  "$TRACE" -o "$WORK/trace" -- "$WORK/no-such-program" 2>"$WORK/err"
  check "a missing command: 127, and said so" [ $? = 127 ]
  check "... with the command's name" has "$WORK/err" "vfio-trace: cannot run $WORK/no-such-program"
  "$TRACE" --no-such-option -- true 2>/dev/null
  check "a bad option: 2" [ $? = 2 ]
  "$TRACE" 2>/dev/null
  check "neither -p nor a command: 2" [ $? = 2 ]
  "$TRACE" --assume-kind "$D/x=spaceship" -- true 2>/dev/null
  check "a bad --assume-kind: 2" [ $? = 2 ]
  "$TRACE" -o "$WORK/no-such-dir/trace" -- true 2>/dev/null
  check "an unwritable -o: 125" [ $? = 125 ]
  "$TRACE" -p 2147483646 2>/dev/null
  check "-p of no process: 125" [ $? = 125 ]
  ;;
attach)
  "$FAKE" wait "$D" >"$WORK/fake.out" &
  fp=$!
  for _ in $(seq 100); do grep -q ready "$WORK/fake.out" && break; sleep 0.05; done
  C=$(fake_value container)
  "$TRACE" -p $fp --summary -o "$WORK/trace" --assume-kind "$D/container=container" &
  tp=$!
  attached=1
  for _ in $(seq 100); do grep -qE "^TracerPid:\s+$tp$" /proc/$fp/status && { attached=0; break; }; sleep 0.05; done
  check "-p attached to the waiting program" [ $attached = 0 ]
  # The tracer stops each thread once after seizing it, then restarts it with syscall tracing; give it that moment.
  sleep 0.3
  kill -USR1 $fp
  for _ in $(seq 100); do grep -q issued "$WORK/fake.out" && break; sleep 0.05; done
  check "the program got its SIGUSR1 while traced" has "$WORK/fake.out" "fake: issued sig=10"
  for _ in $(seq 100); do grep -q VFIO_IOMMU_MAP_DMA "$WORK/trace" && break; sleep 0.05; done
  kill -INT $tp
  wait $tp
  check "SIGINT: vfio-trace detaches and exits 0" [ $? = 0 ]
  check "the program is no longer traced" grep -qE "^TracerPid:\s+0$" /proc/$fp/status
  check "the program is not left stopped" not_stopped $fp
  kill -USR2 $fp
  wait $fp
  check "the program runs on untraced and exits 0" [ $? = 0 ]
  cat "$WORK/fake.out" "$WORK/trace"
  check "an fd opened before the attach is known from /proc (a container)" has_re "$WORK/trace" \
    "^\[$fp\] fd $C \(container\) VFIO_IOMMU_MAP_DMA vfio_iommu_type1_dma_map\{argsz=32, .*iova=0x100000, size=0x200000\} = -1 ENOTTY"
  check "the summary after detaching" has "$WORK/trace" "  total: 1 ioctls, 1 failed, 0 unknown"
  ;;
*)
  echo "vfio-trace_host.sh: unknown section '$SECTION'"
  exit 2
  ;;
esac
finish
