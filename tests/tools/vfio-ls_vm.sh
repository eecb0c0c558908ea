#!/bin/busybox sh
# tests/tools/vfio-ls_vm.sh - the four command-line tools (vfio-ls, vfio-bind, vfio-dma, vfio-migrate) in one guest
# boot, run by tests/vm/run with the tools copied in by --add (see tests/tools/vfio-ls.cmake): one boot per kernel
# keeps the suite fast. Every check runs a tool, keeps its output in /tmp/<name>.out (printed, prefixed "  | ") and
# greps concrete values from it: edu's 1234:11e8, its 9 regions and 5 IRQ indexes, the group nodes, the DMA
# self-test's PASS line, the 96 bytes vfio-migrate moves between two mtty instances and the port registers the
# target holds afterwards. A failed check is reported and the script goes on; it exits 1 when any failed, after the
# summary line "tools-vm: N checks, ...".
#
# Environment: tests/vm/run's (VFIOPP_VM_KERNEL, VFIOPP_EDU, VFIOPP_EDU_GROUPS, VFIOPP_EDU_BRIDGED,
# VFIOPP_EDU_BRIDGED_GROUPS, VFIOPP_MTTY, VFIOPP_MTTY_CDEVS); VFIOPP_TOOLS is where the tools are (default /tools).
T=${VFIOPP_TOOLS:-/tools}
K=$VFIOPP_VM_KERNEL
checks=0
fails=0
pass() { checks=$((checks + 1)); echo "tools-vm: PASS: $*"; }
fail() { checks=$((checks + 1)); fails=$((fails + 1)); echo "tools-vm: FAIL: $*"; }
# run NAME STATUS CMD...: runs CMD with its output in /tmp/NAME.out (not a terminal: plain lines), shows it, and
# checks the exit status against STATUS
run() {
  name=$1 want=$2
  shift 2
  echo "tools-vm: \$ $*"
  "$@" >/tmp/$name.out 2>&1
  rc=$?
  sed 's/^/  | /' /tmp/$name.out
  if [ "$rc" = "$want" ]; then pass "$name: exit status $rc"; else fail "$name: exit status $rc, expected $want"; fi
}
# has NAME REGEX WHAT / hasnt NAME REGEX WHAT: an extended regex in NAME's output
has() { if grep -qE -- "$2" /tmp/$1.out; then pass "$1: $3"; else fail "$1: $3 (no line matches '$2')"; fi; }
hasnt() { if grep -qE -- "$2" /tmp/$1.out; then fail "$1: $3 (a line matches '$2')"; else pass "$1: $3"; fi; }
# is WHAT ACTUAL EXPECTED
is() { if [ "$2" = "$3" ]; then pass "$1: $2"; else fail "$1: '$2', expected '$3'"; fi; }
drv() { basename "$(readlink /sys/bus/pci/devices/$1/driver)" 2>/dev/null; }
# escape the dots of a PCI address for a regex
re() { echo "$1" | sed 's/\./\\./g'; }

set -- $VFIOPP_EDU; E0=$1 E1=$2
set -- $VFIOPP_EDU_GROUPS; G0=$1
set -- $VFIOPP_EDU_BRIDGED; B0=$1 B1=$2
set -- $VFIOPP_EDU_BRIDGED_GROUPS; BG=$1
set -- $VFIOPP_MTTY; M0=${1:-} M1=${2:-}
set -- $VFIOPP_MTTY_CDEVS; MC1=${2:-}
if [ "$K" = debian ]; then BACKEND=type1; else BACKEND=iommufd; fi
NMTTY=$(echo $VFIOPP_MTTY | wc -w)
echo "tools-vm: kernel $K ($(uname -r)), backend $BACKEND, edu $E0 $E1, bridged $B0 $B1 (group $BG), mtty ${VFIOPP_MTTY:-none}"
# a user without rights, for the permission checks (busybox su as root asks no password)
mkdir -p /etc
echo "nobody:x:65534:65534:nobody:/:/bin/sh" >/etc/passwd
echo "nogroup:x:65534:" >/etc/group

# ---------------- vfio-ls ----------------
run ls_all 0 $T/vfio-ls
has ls_all "^group $G0  /dev/vfio/$G0  viable$" "edu 0's group is viable and has its node"
has ls_all "^  $(re $E0)  \[1234:11e8\] class 00ff00  driver vfio-pci" "edu 0 listed as 1234:11e8 on vfio-pci"
has ls_all "^group $BG  /dev/vfio/$BG  viable$" "the bridged pair's group"
has ls_all "^  0000:00:05\.0  \[1b36:0001\] class 060400 \(bridge\)  driver none$" "the bridge is in the bridged group, no driver"
has ls_all "^  $(re $B1)  \[1234:11e8\]" "bridged edu 1 listed"
has ls_all "no VFIO node: no device of the group is bound to a VFIO driver" "a group without VFIO devices says so"
has ls_all "^vfio-ls: [0-9]+ IOMMU groups, [0-9]+ devices, $((4 + NMTTY)) bound to VFIO, 0 inspected$" "summary: $((4 + NMTTY)) VFIO devices"
if [ "$K" = debian ]; then
  hasnt ls_all "cdev /dev/vfio/devices" "no cdev on 6.1 (sysfs has vfio-dev, /dev has no node)"
else
  has ls_all "^  $(re $E0)  .*  cdev /dev/vfio/devices/vfio[0-9]+$" "edu 0's cdev"
fi

run ls_edu 0 $T/vfio-ls $E0
has ls_edu "opened \($BACKEND.*\): flags pci, 9 regions, 5 IRQ indexes" "opened with the $BACKEND backend: 9 regions, 5 IRQ indexes"
has ls_edu "^    BAR0: size 0x100000 \(1M\) offset 0x0 flags read\|write\|mmap" "BAR0: 1 MiB, mmappable"
has ls_edu "^    config: size 0x100 \(256\)" "config space: 256 bytes"
has ls_edu "^    INTx: count 1 flags eventfd\|maskable\|automasked$" "INTx: 1 vector, maskable, automasked"
has ls_edu "^    MSI: count 1 flags eventfd\|noresize$" "MSI: 1 vector"
has ls_edu "^    migration: none \(no migration driver" "edu has no migration"
if [ "$K" = debian ]; then
  has ls_edu "^    IOMMU \(type1 container\): page sizes 0x[0-9a-f]+ \(4K" "type1 info: page sizes"
  has ls_edu "^      IOVA ranges: \[0x0, 0xfedfffff\] \[0xfef00000, 0xffffffffffff\]$" "type1 info: IOVA ranges around the MSI window"
  has ls_edu "^      DMA mappings available: [0-9]+$" "type1 info: DMA_AVAIL"
else
  has ls_edu "^    IOMMU \(iommufd IOAS\): alignment 0x1000, IOVA ranges: \[0x0, 0xfedfffff\] \[0xfef00000, 0xffffffffffff\]$" "IOAS ranges"
  has ls_edu "^    IOMMU_GET_HW_INFO: type intel_vtd \(1\)" "GET_HW_INFO: VT-d"
  has ls_edu "^      VT-d cap_reg 0x[0-9a-f]{16}: .*mgaw=48" "VT-d cap decoded: 48-bit MGAW"
  has ls_edu "^      VT-d ecap_reg 0x[0-9a-f]{16}: .*smts=1" "VT-d ecap decoded: scalable mode (SMTS)"
  has ls_edu "^      VT-d: 48-bit guest addresses, 65536 domains, scalable mode, no nesting" "VT-d summary"
  run ls_edu_type1 0 $T/vfio-ls --backend type1 $E0
  has ls_edu_type1 "opened \(type1\): flags pci, 9 regions, 5 IRQ indexes" "the type1 backend on 7.3 too"
  has ls_edu_type1 "^      IOVA ranges: \[0x0, 0xfedfffff\] \[0xfef00000, 0xffffffffffff\]$" "type1 IOVA ranges on 7.3"
fi
has ls_edu "^vfio-ls: 1 IOMMU group, 1 device, 1 bound to VFIO, 1 inspected$" "summary: 1 inspected"
run ls_json 0 $T/vfio-ls --json $E1
has ls_json '"num_regions": 9,' "JSON: num_regions 9"
has ls_json '"vendor": "1234",' "JSON: vendor 1234"
has ls_json '"device": "11e8",' "JSON: device 11e8"
has ls_json "\"backend\": \"$BACKEND\"," "JSON: backend $BACKEND"
run ls_missing 3 $T/vfio-ls 0000:00:1e.7
has ls_missing "no such PCI device, mdev or VFIO cdev" "a missing device is named as such"
run ls_unbound 5 $T/vfio-ls 0000:00:1f.2
has ls_unbound "0000:00:1f\.2 is not bound to a VFIO driver \(no driver\): bind it with: vfio-bind 0000:00:1f\.2" "an unbound device says how to bind it"
run ls_nobody 4 su -s /bin/sh nobody -c "$T/vfio-ls $E0"
has ls_nobody "EACCES \(Permission denied\)" "permission denied is the kernel's EACCES"
has ls_nobody "run vfio-ls as root, or give your user the VFIO nodes" "and says what to do"

# ---------------- vfio-bind ----------------
rm -rf /run/vfio-bind
run bind_unbind 0 $T/vfio-bind --unbind $E0
has bind_unbind "^$(re $E0): unbound from vfio-pci, now no driver \(remembered in /run/vfio-bind/$E0\.json\)$" "unbound, remembered"
has bind_unbind "^group $G0: viable, node none" "the group node is gone with its only VFIO device"
is "bind_unbind: driver in sysfs" "$(drv $E0)" ""
has bind_unbind "^vfio-bind: unbind: 1 device changed, exit 0$" "summary"
run ls_after_unbind 5 $T/vfio-ls $E0
has ls_after_unbind "bind it with: vfio-bind $(re $E0)" "vfio-ls points at vfio-bind"
run dma_unbound 5 $T/vfio-dma $E0
has dma_unbound "bound to no driver: bind it to vfio-pci" "vfio-dma says the device is unbound (the library's advice)"
has dma_unbound "bind it with: vfio-bind $(re $E0)" "and names vfio-bind"
run bind_again 0 $T/vfio-bind --guest-mem 2G $E0
has bind_again "^$(re $E0): bound to vfio-pci \(was no driver; remembered in /run/vfio-bind/$E0\.json\)$" "bound back"
has bind_again "^group $G0: viable, node /dev/vfio/$G0 \(uid 0 gid 0 mode 0600\)$" "the group node is back, with its owner and mode"
if [ "$K" = debian ]; then
  has bind_again "^  $(re $E0)  driver vfio-pci  cdev none \(this kernel has no VFIO cdevs" "no cdev on 6.1, said so"
else
  has bind_again "^  $(re $E0)  driver vfio-pci  cdev /dev/vfio/devices/vfio[0-9]+ \(uid 0 gid 0 mode 0600\)$" "the cdev node"
fi
has bind_again "^RLIMIT_MEMLOCK: .* may be locked .*; a guest of 2 GiB pins 2 GiB: enough here \(CAP_IPC_LOCK" "the memlock verdict for a 2 GiB guest"
is "bind_again: driver in sysfs" "$(drv $E0)" vfio-pci
has bind_again "^vfio-bind: bind: 1 device changed, exit 0$" "summary"
grep -q '"previous_driver": "vfio-pci"' /run/vfio-bind/$E0.json && pass "state file keeps the first previous driver" || fail "state file: $(cat /run/vfio-bind/$E0.json)"
run bind_restore_same 0 $T/vfio-bind --restore $E0
has bind_restore_same "already on vfio-pci as remembered" "restore to the remembered driver: nothing to do"
[ ! -e /run/vfio-bind/$E0.json ] && pass "bind_restore_same: state file removed" || fail "bind_restore_same: state file left"
# --json output as the memory: unbind, restore from it
$T/vfio-bind --unbind --json $E1 >/tmp/unbind.json 2>/tmp/unbind.err
is "bind_json: driver after --unbind --json" "$(drv $E1)" ""
rm -f /run/vfio-bind/$E1.json  # only the --json document remembers it now
run bind_from 0 $T/vfio-bind --restore --from /tmp/unbind.json
has bind_from "^$(re $E1): restored to vfio-pci \(was no driver\)$" "restored from the --json output"
is "bind_from: driver" "$(drv $E1)" vfio-pci
run bind_nothing 6 $T/vfio-bind --restore $E1
has bind_nothing "nothing remembered for it" "--restore without memory says so"
run bind_dry 0 $T/vfio-bind --dry-run --unbind $E1
has bind_dry "^would write: $(re $E1) > /sys/bus/pci/devices/$(re $E1)/driver/unbind$" "--dry-run shows the writes"
is "bind_dry: driver unchanged" "$(drv $E1)" vfio-pci
run bind_mdev 3 $T/vfio-bind 0000:00:1e.7
has bind_mdev "no such PCI device" "a missing device"

# the group logic on the bridged pair (one group with the bridge)
rm -rf /run/vfio-bind
run grp_unbind_one 0 $T/vfio-bind --unbind $B0
has grp_unbind_one "^group $BG: viable, node /dev/vfio/$BG" "one device unbound: the group stays viable, its node stays"
has grp_unbind_one "^  $(re $B0)  driver none$" "the unbound one has no driver"
run grp_unbind_all 0 $T/vfio-bind --unbind --group $B1
has grp_unbind_all "^0000:00:05\.0: a bridge: left as it is$" "the bridge is left alone"
has grp_unbind_all "^$(re $B1): unbound from vfio-pci" "the other device unbound"
has grp_unbind_all "^$(re $B0): already has no driver$" "the first one had none already"
has grp_unbind_all "^group $BG: viable, node none" "no node without a VFIO device"
run grp_bind_one 0 $T/vfio-bind $B1
has grp_bind_one "^$(re $B1): group $BG peer $(re $B0) has no driver: the group stays viable" "a driverless peer is named, not refused"
has grp_bind_one "^group $BG: viable, node /dev/vfio/$BG" "the node is back"
run grp_bind_all 0 $T/vfio-bind --group $B1
has grp_bind_all "^$(re $B0): bound to vfio-pci \(was no driver" "--group binds the peer"
has grp_bind_all "^$(re $B1): already bound to vfio-pci$" "and leaves the bound one"
run ls_bridged 0 $T/vfio-ls $B0 $B1
has ls_bridged "^vfio-ls: 1 IOMMU group, 2 devices, 2 bound to VFIO, 2 inspected$" "both devices of the group inspected"
if [ "$K" = debian ]; then
  # a real blocker: bridged edu 1 on a host driver that does DMA (iosf_mbi_pci takes any device by override on 6.1)
  echo $B1 >/sys/bus/pci/devices/$B1/driver/unbind
  echo iosf_mbi_pci >/sys/bus/pci/devices/$B1/driver_override
  echo $B1 >/sys/bus/pci/drivers_probe
  is "blocker: bridged edu 1 on a host driver" "$(drv $B1)" iosf_mbi_pci
  run blk_ls 0 $T/vfio-ls
  has blk_ls "^group $BG  /dev/vfio/$BG  not viable: $(re $B1) \(iosf_mbi_pci\) bound to a non-VFIO driver" "vfio-ls: not viable, the blocker named"
  run blk_ls_dev 5 $T/vfio-ls $B0
  has blk_ls_dev "group $BG is not viable: bind the whole group with: vfio-bind --group $(re $B0)" "vfio-ls of a device in it says what to do"
  run blk_dma 5 $T/vfio-dma --no-bench $B0
  has blk_dma "the group is not viable" "vfio-dma: the library's not-viable error"
  run blk_refused 5 $T/vfio-bind $B0
  has blk_refused "refused: IOMMU group $BG would not be viable" "vfio-bind refuses"
  has blk_refused "^  $(re $B1) bound to iosf_mbi_pci$" "and lists the blocker"
  run blk_group 0 $T/vfio-bind --group $B0
  has blk_group "^$(re $B1): bound to vfio-pci \(was iosf_mbi_pci;" "--group takes the blocker over"
  has blk_group "^group $BG: viable" "the group is viable again"
  run blk_restore 0 $T/vfio-bind --restore $B1
  has blk_restore "^$(re $B1): restored to iosf_mbi_pci \(was vfio-pci\)$" "--restore gives it back to its driver"
  is "blk_restore: driver" "$(drv $B1)" iosf_mbi_pci
  run blk_rebind 0 $T/vfio-bind --group $B1
  is "blk_rebind: driver" "$(drv $B1)" vfio-pci
fi
rm -rf /run/vfio-bind

# ---------------- vfio-dma ----------------
if [ "$K" = debian ]; then
  run dma_nohuge 0 $T/vfio-dma --no-selftest --max-size 4M --iterations 2 $E0
  has dma_nohuge "^2M hugepages: unavailable: MAP_HUGETLB of 4M failed .*HugePages_Free 0\): reserve them with echo 2 > /proc/sys/vm/nr_hugepages$" "no hugepages reserved: said, with the remedy"
  echo 40 >/proc/sys/vm/nr_hugepages
fi
run dma 0 $T/vfio-dma $E0
has dma "^device $(re $E0): edu \[1234:11e8\]$" "the device is edu 1234:11e8"
has dma "^edu id 0x010000ed, liveness ok$" "edu's id register and liveness check"
has dma "^DMA self-test: PASS \(4096 bytes RAM -> edu -> RAM through IOVA 0x1000000, bytes equal, MSI received, $BACKEND backend\)$" "the DMA self-test PASS line"
for s in 4K 16K 64K 256K 1M 4M 16M 64M; do
  has dma "^map/unmap +4K pages +$s: map +[0-9.]+ us" "4K pages, $s measured"
done
if [ "$K" = debian ]; then
  for s in 4M 16M 64M; do has dma "^map/unmap +2M pages +$s: map +[0-9.]+ us" "2M hugepages, $s measured"; done
  has dma "^vfio-dma: self-test PASS, 11 throughput measurements, 2M hugepages measured, type1 backend$" "summary"
else
  has dma "^2M hugepages: unavailable: this kernel has no hugetlbfs" "no hugetlbfs on the 7.3 testbed kernel: said"
  has dma "^vfio-dma: self-test PASS, 8 throughput measurements, 2M hugepages unavailable, iommufd backend$" "summary"
fi
run dma_json 0 $T/vfio-dma --backend type1 --json --iterations 2 --max-size 1M $E1
has dma_json '"result": "PASS"' "JSON: self-test PASS"
has dma_json '"backend": "type1",' "JSON: the type1 backend"
has dma_json '"exit_code": 0' "JSON: exit code 0"
echo "tools-vm: \$ $T/vfio-dma --no-selftest --max-size 256K --iterations 4 $E1   (on the console: a terminal, so a progress bar)"
$T/vfio-dma --no-selftest --max-size 256K --iterations 4 $E1 && pass "dma_tty: exit status 0" || fail "dma_tty: exit status $?"
if [ -n "$M0" ]; then
  run dma_mtty 7 $T/vfio-dma $M0
  has dma_mtty "not QEMU's edu \(1234:11e8\): the self-test needs one" "a non-edu device is refused for the self-test"
  run dma_mtty_bench 0 $T/vfio-dma --no-selftest --max-size 64K --iterations 2 $M0
  has dma_mtty_bench "^vfio-dma: self-test skipped, 3 throughput measurements" "throughput through an mdev's address space"
fi

# ---------------- vfio-migrate ----------------
run mig_edu 6 $T/vfio-migrate $E0 $E1
has mig_edu "no migration support: source $(re $E0) \(driver vfio-pci\) implements no VFIO migration \(VFIO_DEVICE_FEATURE: kernel: ENOTTY" "edu: no migration support, said plainly"
if [ "$K" = debian ]; then
  is "mtty on 6.1" "${VFIOPP_MTTY:-none}" none
else
  # mtty instance 0's ports get a state of their own (LCR, SCR, FIFO on, one byte looped back into RX); after the
  # move instance 1 must hold it
  run mig 0 $T/vfio-migrate --verify --src-write 0:3=0x03 --src-write 0:7=0x5a --src-write 0:2=0x07 \
    --src-write 0:0=0x61 --src-write 1:3=0x1b --src-write 1:7=0xa5 \
    --dst-read 0:3 --dst-read 0:7 --dst-read 1:3 --dst-read 1:7 --dst-read 0:0 $M0 $M1
  has mig "^vfio-migrate: $M0 -> $M1 \(mdev mtty-2, iommufd backend\)$" "two mtty-2 instances, iommufd"
  has mig "^source: migration stop_copy\|p2p\|pre_copy, state RUNNING, STOP_COPY estimate 96 bytes$" "source flags and estimate"
  has mig "^source: RUNNING -> PRE_COPY: 24 bytes read while running \(pre-copy\)$" "PRE_COPY used: 24 bytes"
  has mig "^source: PRE_COPY -> PRE_COPY_P2P -> STOP_COPY: 72 bytes read stopped \(stop-copy\)$" "STOP_COPY: 72 bytes"
  has mig "^target: RUNNING -> RUNNING_P2P -> STOP -> RESUMING: 96 bytes written$" "the target resumed 96 bytes"
  has mig "^target: RESUMING -> STOP -> RUNNING_P2P -> RUNNING$" "the target's way back to RUNNING (P2P)"
  has mig "^target: state RUNNING \(MIG_DEVICE_STATE read back\)$" "the target is RUNNING"
  has mig "^verify: 96 bytes saved again from the target equal the 96 bytes moved$" "the target's state re-saved equals the moved bytes"
  has mig "^target: region 0 \[0x3\] = 0x03$" "target port 0 LCR"
  has mig "^target: region 0 \[0x7\] = 0x5a$" "target port 0 SCR"
  has mig "^target: region 1 \[0x3\] = 0x1b$" "target port 1 LCR"
  has mig "^target: region 1 \[0x7\] = 0xa5$" "target port 1 SCR"
  has mig "^target: region 0 \[0x0\] = 0x61$" "target port 0 RX: the byte looped back in the source"
  has mig "^vfio-migrate: moved 96 bytes \(24 pre-copy \+ 72 stop-copy\) from $M0 to $M1; target RUNNING$" "summary: 96 bytes"
  run mig_back 0 $T/vfio-migrate --backend type1 --no-precopy --json $MC1 $M0
  has mig_back '"bytes": 96,' "back by cdev path through the type1 backend, no pre-copy: 96 bytes"
  has mig_back '"precopy_bytes": 0,' "JSON: no pre-copy"
  has mig_back '"target_state": "RUNNING"' "JSON: target RUNNING"
  has mig_back '"backend": "type1"' "JSON: type1"
  run mig_kinds 7 $T/vfio-migrate $M0 $E0
  has mig_kinds "is mdev mtty-2 but $(re $E0) is PCI 1234:11e8" "different kinds are refused"
fi

if [ $fails = 0 ]; then
  echo "tools-vm: $checks checks, all passed on $K"
  exit 0
fi
echo "tools-vm: $checks checks, $fails FAILED on $K"
exit 1
