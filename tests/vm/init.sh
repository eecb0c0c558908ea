#!/bin/busybox sh
# /init of the test guest (copied into the initramfs by tests/vm/run): loads the VFIO modules, binds every edu
# device to vfio-pci, creates the mtty instances, runs /program with the documented VFIOPP_* environment, prints
# "VFIOPP-VM-EXIT=<status>" and powers off. Lines starting "vm-init:" are the harness's own.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t debugfs none /sys/kernel/debug 2>/dev/null
. /config
echo "VFIOPP-VM-INIT uptime $(cut -d' ' -f1 /proc/uptime)s kernel $(uname -r)"
note() { echo "vm-init: $*"; }

for m in $(cat /modules.list); do
  insmod /lib/modules/$m.ko || note "insmod $m failed"
done

# bind every edu (1234:11e8) to vfio-pci; those on the root bus (00) are VFIOPP_EDU, those behind the PCI bridge
# VFIOPP_EDU_BRIDGED; both lists in PCI address order
EDU="" EDU_GROUPS="" EDU_CDEVS="" BR="" BR_GROUPS="" BR_CDEVS=""
for d in $(ls -d /sys/bus/pci/devices/* | sort); do
  [ "$(cat $d/vendor)" = 0x1234 ] && [ "$(cat $d/device)" = 0x11e8 ] || continue
  bdf=${d##*/}
  echo vfio-pci >$d/driver_override
  [ -e $d/driver ] && echo $bdf >$d/driver/unbind
  echo $bdf >/sys/bus/pci/drivers_probe
  drv=$(basename "$(readlink $d/driver)" 2>/dev/null)
  [ "$drv" = vfio-pci ] || note "$bdf: bound to '${drv:-nothing}', not vfio-pci"
  grp=$(basename "$(readlink $d/iommu_group)" 2>/dev/null)
  [ -n "$grp" ] || note "$bdf: no IOMMU group (is the IOMMU on?)"
  cdevs=""
  for c in $d/vfio-dev/vfio*; do [ -e "/dev/vfio/devices/${c##*/}" ] && cdevs="$cdevs /dev/vfio/devices/${c##*/}"; done
  case $bdf in
    0000:00:*) EDU="$EDU $bdf" EDU_GROUPS="$EDU_GROUPS $grp" EDU_CDEVS="$EDU_CDEVS$cdevs" ;;
    *) BR="$BR $bdf" BR_GROUPS="$BR_GROUPS $grp" BR_CDEVS="$BR_CDEVS$cdevs" ;;
  esac
done

# mtty instances (mtty-2: two serial ports each)
MTTY_GROUPS="" MTTY_CDEVS=""
for u in $MTTY_UUIDS; do
  echo $u >/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create || note "creating mtty $u failed"
  d=/sys/bus/mdev/devices/$u
  MTTY_GROUPS="$MTTY_GROUPS $(basename "$(readlink $d/iommu_group)" 2>/dev/null)"
  for c in $d/vfio-dev/vfio*; do [ -e "/dev/vfio/devices/${c##*/}" ] && MTTY_CDEVS="$MTTY_CDEVS /dev/vfio/devices/${c##*/}"; done
done

export VFIOPP_VM=1 VFIOPP_VM_KERNEL=$KTAG VFIOPP_VM_IOMMU=$IOMMU_OPTS
export VFIOPP_EDU="${EDU# }" VFIOPP_EDU_GROUPS="${EDU_GROUPS# }" VFIOPP_EDU_CDEVS="${EDU_CDEVS# }"
export VFIOPP_EDU_BRIDGED="${BR# }" VFIOPP_EDU_BRIDGED_GROUPS="${BR_GROUPS# }" VFIOPP_EDU_BRIDGED_CDEVS="${BR_CDEVS# }"
export VFIOPP_MTTY="$MTTY_UUIDS" VFIOPP_MTTY_GROUPS="${MTTY_GROUPS# }" VFIOPP_MTTY_CDEVS="${MTTY_CDEVS# }"
note "edu: $VFIOPP_EDU groups: $VFIOPP_EDU_GROUPS cdevs: ${VFIOPP_EDU_CDEVS:-none}; bridged edu: $VFIOPP_EDU_BRIDGED groups: $VFIOPP_EDU_BRIDGED_GROUPS cdevs: ${VFIOPP_EDU_BRIDGED_CDEVS:-none}${MTTY_UUIDS:+; mtty: $VFIOPP_MTTY groups: $VFIOPP_MTTY_GROUPS cdevs: $VFIOPP_MTTY_CDEVS}"

# the arguments, one file each, so that spaces and quotes survive
set --
i=0
while [ $i -lt $NARGS ]; do set -- "$@" "$(cat /args/$i)"; i=$((i + 1)); done
note "running the program at uptime $(cut -d' ' -f1 /proc/uptime)s"
exec 3<&0  # an asynchronous command's stdin would be /dev/null: the program keeps the console's
/program "$@" <&3 3<&- &
program=$!
# A hang would end in tests/vm/run's TIMEOUT with nothing to go on: 20 s before it (the guest's clock follows the
# host's under TCG; boot time counted), print where every thread of the program waits and the blocked tasks.
up=$(cut -d. -f1 /proc/uptime)
( sleep $((TIMEOUT > up + 40 ? TIMEOUT - up - 20 : 20))
  kill -0 $program 2>/dev/null || exit 0
  note "watchdog: the program is still running at uptime $(cut -d' ' -f1 /proc/uptime)s, near the ${TIMEOUT}s limit"
  for t in /proc/$program/task/* $(for c in $(cat /proc/$program/task/*/children 2>/dev/null); do echo /proc/$c/task/*; done); do
    note "watchdog: thread ${t##*/} ($(cat $t/comm 2>/dev/null)) state $(sed -n 's/^State:[[:space:]]*//p' $t/status 2>/dev/null), wchan $(cat $t/wchan 2>/dev/null), syscall $(cat $t/syscall 2>/dev/null)"
    sed 's/^/vm-init: watchdog:   /' $t/stack 2>/dev/null
  done
  echo w >/proc/sysrq-trigger 2>/dev/null
  dmesg | tail -n 40 | sed 's/^/vm-init: watchdog: dmesg: /'
) &
watchdog=$!
wait $program
status=$?
kill $watchdog 2>/dev/null
if [ $status != 0 ]; then
  note "the program failed: the guest kernel's last log lines follow"
  dmesg | tail -n 60 | sed 's/^/vm-init: dmesg: /'
fi
# an Oops or a WARN() splat is logged below the console's level: repeat it where tests/vm/run looks (it fails the run)
dmesg | grep -E '(Oops|BUG):|WARNING: CPU:' | head -n 3 | sed 's/^/vm-init: kernel: /'
echo "VFIOPP-VM-EXIT=$status"
note "done at uptime $(cut -d' ' -f1 /proc/uptime)s, powering off"
poweroff -f
