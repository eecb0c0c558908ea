# Tests of examples/vfio-bind.cpp on the host (label unit), against a fake sysfs tree made here and with --dry-run
# (nothing is written: the tests check the plan, the group logic and the refusals). The real binds, unbinds and
# restores, with the bridged edu pair and (6.1) a group peer held by a host driver, run in the VM:
# tests/tools/vfio-ls_vm.sh, registered by tests/tools/vfio-ls.cmake (one boot for the four tools).

# vfio_bind_test(NAME STATUS EXPECT SCRIPT): passes when SCRIPT's last command exits STATUS and the output (stderr
# merged into stdout, in order) matches EXPECT. $1 is vfio-bind, $2 the fake sysfs root, $3 a state directory, $4 a
# --json document of an earlier bind. Scripts are lines without ';' (vfiopp_expect_test's list encoding).
set(vfio_bind_sysfs "${CMAKE_CURRENT_BINARY_DIR}/vfio-bind-sysfs")
set(vfio_bind_state "${CMAKE_CURRENT_BINARY_DIR}/vfio-bind-state")
set(vfio_bind_saved "${CMAKE_CURRENT_BINARY_DIR}/vfio-bind-saved.json")
function(vfio_bind_test name status expect script)
  vfiopp_expect_test(NAME "tools: vfio-bind ${name}" LABELS unit EXPECT "${expect}"
    COMMAND sh -c "exec 2>&1\n${script}\nrc=$?\necho \"exit status $rc\"\n[ $rc -eq ${status} ]"
            sh $<TARGET_FILE:vfio-bind> "${vfio_bind_sysfs}" "${vfio_bind_state}" "${vfio_bind_saved}")
endfunction()

# Group 4: a NIC on e1000e (a host driver that does DMA: it keeps the group from being viable) next to a device on
# vfio-pci; group 1: a device without a driver.
file(REMOVE_RECURSE "${vfio_bind_sysfs}" "${vfio_bind_state}")
file(MAKE_DIRECTORY "${vfio_bind_state}")
file(WRITE "${vfio_bind_sysfs}/bus/pci/drivers_probe" "")
function(vfio_bind_fake_device addr class driver override group)
  set(d "${vfio_bind_sysfs}/bus/pci/devices/${addr}")
  file(MAKE_DIRECTORY "${d}" "${vfio_bind_sysfs}/kernel/iommu_groups/${group}/devices/${addr}")
  file(WRITE "${d}/class" "${class}\n")
  file(WRITE "${d}/driver_override" "${override}\n")
  file(CREATE_LINK "../../../../kernel/iommu_groups/${group}" "${d}/iommu_group" SYMBOLIC)
  if(driver)
    file(CREATE_LINK "../../../../bus/pci/drivers/${driver}" "${d}/driver" SYMBOLIC)
  endif()
endfunction()
vfio_bind_fake_device(0000:00:19.0 0x020000 e1000e "(null)" 4)
vfio_bind_fake_device(0000:00:19.1 0x020000 vfio-pci vfio-pci 4)
vfio_bind_fake_device(0000:00:03.0 0x00ff00 "" "(null)" 1)
# what `vfio-bind --json --group 0000:00:19.1` printed when it took 0000:00:19.1 from e1000e (the entry a restore
# reads), next to an entry it did not change (skipped: no driver to give back)
file(WRITE "${vfio_bind_saved}" [=[{"action": "bind", "devices": [
  {"address": "0000:00:19.1", "action": "bind", "changed": true, "previous_driver": "e1000e", "previous_override": null},
  {"address": "0000:00:03.0", "action": "bind", "skipped": "already bound", "previous_driver": "vfio-pci"}]}
]=])

vfio_bind_test(help 0 "Usage: vfio-bind \\[OPTIONS\\] \\[DEVICE...\\].*--restore.*--group.*--guest-mem.*Exit codes:.*5  refused: the device's IOMMU group would not be viable.*exit status 0"
  "\"$1\" --help")
vfio_bind_test("refuses a group that would not be viable" 5
  "0000:00:19\\.1: refused: IOMMU group 4 would not be viable\\..*\n  0000:00:19\\.0 bound to e1000e\n  rerun with --group.*vfio-bind: bind \\(dry run\\): 0 devices changed, exit 5\nexit status 5"
  "\"$1\" --sysfs \"$2\" --state-dir \"$3\" --dry-run 0000:00:19.1")
vfio_bind_test("--group plans the whole group" 0
  "0000:00:19\\.0: would bind to vfio-pci \\(from e1000e\\)\n0000:00:19\\.1: already bound to vfio-pci\n.*would write: vfio-pci > [^\n]*/bus/pci/devices/0000:00:19\\.0/driver_override\nwould write: 0000:00:19\\.0 > [^\n]*/bus/pci/devices/0000:00:19\\.0/driver/unbind\nwould write: 0000:00:19\\.0 > [^\n]*/bus/pci/drivers_probe\n.*exit status 0"
  "\"$1\" --sysfs \"$2\" --state-dir \"$3\" --dry-run --group 0000:00:19.1")
vfio_bind_test("a device without a driver" 0
  "0000:00:03\\.0: would bind to vfio-pci \\(from no driver\\)\n.*would write: vfio-pci > [^\n]*/0000:00:03\\.0/driver_override\nwould write: 0000:00:03\\.0 > [^\n]*/bus/pci/drivers_probe\n.*exit status 0"
  "\"$1\" --sysfs \"$2\" --state-dir \"$3\" --dry-run 0000:00:03.0")
vfio_bind_test("unbind plan" 0
  "0000:00:19\\.1: would unbind from vfio-pci\n.*would write: \\(empty\\) > [^\n]*/0000:00:19\\.1/driver_override\nwould write: 0000:00:19\\.1 > [^\n]*/0000:00:19\\.1/driver/unbind\n.*exit status 0"
  "\"$1\" --sysfs \"$2\" --state-dir \"$3\" --dry-run --unbind 0000:00:19.1")
vfio_bind_test("restore from --json output" 0
  "0000:00:19\\.1: would go back to e1000e\n.*would write: e1000e > [^\n]*/0000:00:19\\.1/driver_override\nwould write: 0000:00:19\\.1 > [^\n]*/0000:00:19\\.1/driver/unbind\nwould write: 0000:00:19\\.1 > [^\n]*/bus/pci/drivers_probe\nwould write: \\(empty\\) > [^\n]*/0000:00:19\\.1/driver_override\n.*vfio-bind: restore \\(dry run\\): 0 devices changed, exit 0\nexit status 0"
  "\"$1\" --sysfs \"$2\" --state-dir \"$3\" --dry-run --restore --from \"$4\"")
vfio_bind_test("restore with nothing remembered" 6 "--restore: nothing remembered in [^\n]*vfio-bind-state\nexit status 6"
  "\"$1\" --sysfs \"$2\" --state-dir \"$3\" --restore")
vfio_bind_test("no such device" 3 "0000:00:42\\.0: no such PCI device.*exit status 3"
  "\"$1\" --sysfs \"$2\" --state-dir \"$3\" --dry-run 0000:00:42.0")
vfio_bind_test("bad --guest-mem" 2 "--guest-mem lots: not a size.*exit status 2"
  "\"$1\" --sysfs \"$2\" --guest-mem lots 0000:00:03.0")
vfio_bind_test("--unbind with --restore" 2 "--unbind excludes --restore.*exit status 2"
  "\"$1\" --unbind --restore 0000:00:03.0")
