# vfio-trace's tests (included by tests/tools/CMakeLists.txt when the tool exists).
#
# Host (label unit): vfio-trace_fake issues VFIO and iommufd codes on plain files that vfio-trace's hidden
# --assume-kind maps to fd kinds (the host has no /dev/vfio), so decoding by fd kind, fd tracking, threads, forks,
# signals, exit statuses, --json, --summary and -p run anywhere (tests/tools/vfio-trace_host.sh, one section each).
# VM (label vm): the host's own QEMU inside the test guest passes an edu device through, on type1 and on iommufd,
# under vfio-trace and then under strace; every ioctl must be decoded and the counts must agree
# (tests/tools/vfio-trace_vm.sh).
find_package(Threads REQUIRED)
add_executable(vfio-trace_fake ${CMAKE_CURRENT_LIST_DIR}/vfio-trace_fake.cpp)
target_link_libraries(vfio-trace_fake PRIVATE vfiopp::vfiopp Threads::Threads)
target_compile_options(vfio-trace_fake PRIVATE -Wall -Wextra -Wpedantic -Werror)

# The decoder alone, on the successful replies a real kernel writes (the fake only ever gets errors).
add_executable(vfio-trace_render ${CMAKE_CURRENT_LIST_DIR}/vfio-trace_render.cpp)
target_include_directories(vfio-trace_render PRIVATE ${PROJECT_SOURCE_DIR}/examples)
target_link_libraries(vfio-trace_render PRIVATE vfiopp::fmt nlohmann_json::nlohmann_json)
target_compile_options(vfio-trace_render PRIVATE -Wall -Wextra -Wpedantic -Werror)
vfiopp_expect_test(NAME "vfio-trace: render" EXPECT "vfio-trace render: all [0-9]+ checks passed" LABELS unit
                   COMMAND $<TARGET_FILE:vfio-trace_render>)

vfiopp_expect_test(NAME "vfio-trace: --help" EXPECT "Exit status:.*127 the command was not found" LABELS unit
                   COMMAND $<TARGET_FILE:vfio-trace> --help)
foreach(section IN ITEMS text json summary status attach)
  vfiopp_expect_test(NAME "vfio-trace: ${section}" EXPECT "vfio-trace host ${section}: all [0-9]+ checks passed" LABELS unit
                     COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/vfio-trace_host.sh ${section} $<TARGET_FILE:vfio-trace>
                             $<TARGET_FILE:vfio-trace_fake> ${CMAKE_COMMAND}
                             ${CMAKE_CURRENT_BINARY_DIR}/vfio-trace-host/${section})
endforeach()

if(VFIOPP_VM_TESTS)
  # QEMU inside the guest: the binary (tests/vm/run brings its libraries), the firmware it boots (qboot) and the
  # option ROM it looks for; strace, when the host has it, for the count cross-check (without it the script checks
  # the ioctls TESTBED.md lists). The 7.3 kernel: type1 and iommufd; scalable mode as QEMU's own vIOMMU tests use.
  find_program(VFIOPP_STRACE strace)
  set(vfio_trace_vm_adds --add /usr/bin/qemu-system-x86_64 --add /usr/share/qemu/qboot.rom
                         --add /usr/share/qemu/kvmvapic.bin --add $<TARGET_FILE:vfio-trace>:/bin/vfio-trace)
  if(VFIOPP_STRACE)
    list(APPEND vfio_trace_vm_adds --add ${VFIOPP_STRACE}:/usr/bin/strace)
  endif()
  vfiopp_expect_test(NAME vm_vfio_trace_qemu EXPECT "vfio-trace vm: all [0-9]+ checks passed" LABELS vm
                     COMMAND ${VFIOPP_VM_RUN} --kernel iommufd --iommu "x-scalable-mode=on,x-pasid-mode=on" --mem 2G
                             --timeout 280 --workdir ${CMAKE_CURRENT_BINARY_DIR}/vm_vfio_trace_qemu
                             ${vfio_trace_vm_adds} -- ${CMAKE_CURRENT_LIST_DIR}/vfio-trace_vm.sh)
  set_tests_properties(vm_vfio_trace_qemu PROPERTIES FIXTURES_REQUIRED vm_iommufd_kernel TIMEOUT 300)
endif()
