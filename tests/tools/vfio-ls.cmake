# Tests of examples/vfio-ls.cpp. Host (label unit): --help, and the listing of a fake sysfs tree made here (groups,
# drivers, viability: a group with a device on a host driver is not viable and names it; exit 3 for a missing
# device). VM (label vm): tests/tools/vfio-ls_vm.sh runs all four tools of issue 13 (vfio-ls, vfio-bind, vfio-dma,
# vfio-migrate) in one boot per kernel, to keep the suite fast; their own .cmake files hold their host tests.

# vfio_ls_test(NAME STATUS EXPECT SCRIPT): passes when SCRIPT's last command exits STATUS and the output (stderr merged
# into stdout, in order) matches EXPECT. $1 is vfio-ls, $2 the fake sysfs root. Scripts are lines without ';', and
# brackets in EXPECT come in pairs (vfiopp_expect_test passes its arguments as a CMake list, which an unpaired '['
# would keep from splitting).
function(vfio_ls_test name status expect script)
  vfiopp_expect_test(NAME "tools: vfio-ls ${name}" LABELS unit EXPECT "${expect}"
    COMMAND sh -c "exec 2>&1\n${script}\nrc=$?\necho \"exit status $rc\"\n[ $rc -eq ${status} ]"
            sh $<TARGET_FILE:vfio-ls> "${CMAKE_CURRENT_BINARY_DIR}/vfio-ls-sysfs")
endfunction()

# The fake tree: what vfio-ls reads of sysfs (bus/pci/devices/<addr>/{vendor,device,class,driver,iommu_group,vfio-dev},
# kernel/iommu_groups/<n>/devices/<addr>). Group 1: an edu on vfio-pci with a cdev; group 3: a bridge without a driver
# and an edu on vfio-pci (viable); group 4: a NIC on e1000e next to a device on vfio-pci (not viable).
set(vfio_ls_sysfs "${CMAKE_CURRENT_BINARY_DIR}/vfio-ls-sysfs")
file(REMOVE_RECURSE "${vfio_ls_sysfs}")
function(vfio_ls_fake_device addr vendor device class driver group)
  set(d "${vfio_ls_sysfs}/bus/pci/devices/${addr}")
  file(MAKE_DIRECTORY "${d}" "${vfio_ls_sysfs}/kernel/iommu_groups/${group}/devices/${addr}")
  file(WRITE "${d}/vendor" "${vendor}\n")
  file(WRITE "${d}/device" "${device}\n")
  file(WRITE "${d}/class" "${class}\n")
  file(CREATE_LINK "../../../../kernel/iommu_groups/${group}" "${d}/iommu_group" SYMBOLIC)
  if(driver)
    file(CREATE_LINK "../../../../bus/pci/drivers/${driver}" "${d}/driver" SYMBOLIC)
  endif()
  if(ARGN)
    file(MAKE_DIRECTORY "${d}/vfio-dev/${ARGN}")
  endif()
endfunction()
vfio_ls_fake_device(0000:00:03.0 0x1234 0x11e8 0x00ff00 vfio-pci 1 vfio0)
vfio_ls_fake_device(0000:00:05.0 0x1b36 0x0001 0x060400 "" 3)
vfio_ls_fake_device(0000:01:01.0 0x1234 0x11e8 0x00ff00 vfio-pci 3 vfio1)
vfio_ls_fake_device(0000:00:19.0 0x8086 0x15b7 0x020000 e1000e 4)
vfio_ls_fake_device(0000:00:19.1 0x8086 0x15b8 0x020000 vfio-pci 4 vfio2)

vfio_ls_test(help 0 "Usage: vfio-ls \\[OPTIONS\\] \\[DEVICE...\\].*--json.*Exit codes:.*3  a device named on the command line does not exist.*exit status 0"
  "\"$1\" --help")
vfio_ls_test("fake sysfs" 0
  "group 1  [^ ]+  viable[^\n]*\n  0000:00:03\\.0  \\[1234:11e8\\] class 00ff00  driver vfio-pci\n.*group 3  [^ ]+  viable[^\n]*\n  0000:00:05\\.0  \\[1b36:0001\\] class 060400 \\(bridge\\)  driver none\n  0000:01:01\\.0 .*group 4  [^ ]+  not viable: 0000:00:19\\.0 \\(e1000e\\) bound to a non-VFIO driver.*\n  0000:00:19\\.0  \\[8086:15b7\\] class 020000  driver e1000e  <- keeps the group from being viable\n.*vfio-ls: 3 IOMMU groups, 5 devices, 3 bound to VFIO, 0 inspected\nexit status 0"
  "\"$1\" --sysfs \"$2\"")
vfio_ls_test("fake sysfs json" 0
  "\"blockers\": .\n +{\n +\"device\": \"0000:00:19\\.0\",\n +\"driver\": \"e1000e\"\n.*\"viable\": false.*\"vfio_devices\": 3\n.*exit status 0"
  "\"$1\" --sysfs \"$2\" --json")
vfio_ls_test("not viable" 5
  "0000:00:19\\.1: group 4 is not viable: bind the whole group with: vfio-bind --group 0000:00:19\\.1\nvfio-ls: 1 IOMMU group, 1 device, 1 bound to VFIO, 0 inspected\nexit status 5"
  "\"$1\" --sysfs \"$2\" 0000:00:19.1")
vfio_ls_test("unbound device" 5
  "0000:00:19\\.0 is not bound to a VFIO driver \\(e1000e\\): bind it with: vfio-bind 0000:00:19\\.0.*exit status 5"
  "\"$1\" --sysfs \"$2\" 0000:00:19.0")
vfio_ls_test("no such device" 3 "0000:00:42\\.0: no such PCI device, mdev or VFIO cdev.*exit status 3"
  "\"$1\" --sysfs \"$2\" 0000:00:42.0")
vfio_ls_test("bad option" 2 "--bogus.*exit status 2" "\"$1\" --bogus")

# One boot per kernel runs all four tools (tests/tools/vfio-ls_vm.sh): Debian's 6.1 (type1 only, no mtty: vfio-migrate
# must report that edu has no migration support) and 7.3 in VT-d scalable mode with two mtty instances. Passes on exit
# 0 and the script's summary line (printed only when every check held).
if(VFIOPP_VM_TESTS)
  set(vfio_tools_add
      --add $<TARGET_FILE:vfio-ls>:/tools/vfio-ls --add $<TARGET_FILE:vfio-bind>:/tools/vfio-bind
      --add $<TARGET_FILE:vfio-dma>:/tools/vfio-dma --add $<TARGET_FILE:vfio-migrate>:/tools/vfio-migrate)
  vfiopp_expect_test(NAME vm_tools_debian LABELS vm EXPECT "tools-vm: [0-9]+ checks, all passed on debian"
    COMMAND "${VFIOPP_VM_RUN}" --kernel debian --timeout 280 --workdir "${CMAKE_CURRENT_BINARY_DIR}/vm_tools_debian"
            ${vfio_tools_add} -- "${CMAKE_CURRENT_LIST_DIR}/vfio-ls_vm.sh")
  set_tests_properties(vm_tools_debian PROPERTIES TIMEOUT 300)
  vfiopp_expect_test(NAME vm_tools_iommufd_scalable LABELS vm EXPECT "tools-vm: [0-9]+ checks, all passed on iommufd"
    COMMAND "${VFIOPP_VM_RUN}" --kernel iommufd --iommu "x-scalable-mode=on,x-pasid-mode=on" --mtty 2 --timeout 280
            --workdir "${CMAKE_CURRENT_BINARY_DIR}/vm_tools_iommufd_scalable"
            ${vfio_tools_add} -- "${CMAKE_CURRENT_LIST_DIR}/vfio-ls_vm.sh")
  set_tests_properties(vm_tools_iommufd_scalable PROPERTIES TIMEOUT 300 FIXTURES_REQUIRED vm_iommufd_kernel)
endif()
