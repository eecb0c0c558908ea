# Tests of examples/vfio-migrate.cpp on the host (label unit): --help and the command-line errors. The migrations
# need VFIO devices with migration support (two mtty instances on Linux 7.3) and, on Debian's 6.1, the report that
# edu has none: they run in the VM, tests/tools/vfio-ls_vm.sh, registered by tests/tools/vfio-ls.cmake (one boot for
# the four tools).

# vfio_migrate_test(NAME STATUS EXPECT SCRIPT): passes when SCRIPT's last command exits STATUS and the output (stderr
# merged into stdout) matches EXPECT; $1 is vfio-migrate. Scripts are lines without ';' (vfiopp_expect_test's encoding).
function(vfio_migrate_test name status expect script)
  vfiopp_expect_test(NAME "tools: vfio-migrate ${name}" LABELS unit EXPECT "${expect}"
    COMMAND sh -c "exec 2>&1\n${script}\nrc=$?\necho \"exit status $rc\"\n[ $rc -eq ${status} ]" sh $<TARGET_FILE:vfio-migrate>)
endfunction()

vfio_migrate_test(help 0 "Usage: vfio-migrate \\[OPTIONS\\] SRC DST.*--no-precopy.*--verify.*Exit codes:.*6  a device has no migration support.*8  the target did not reach RUNNING.*exit status 0"
  "\"$1\" --help")
vfio_migrate_test("one device given" 2 "DST is required.*exit status 2" "\"$1\" 0000:00:03.0")
vfio_migrate_test("the same device twice" 2 "SRC and DST are the same device \\(0000:00:03\\.0\\)\nexit status 2"
  "\"$1\" 0000:00:03.0 0000:00:03.0")
vfio_migrate_test("bad --src-write" 2 "--src-write 0:7: want INDEX:OFFSET=VALUE \\(e\\.g\\. 0:7=0x5a\\)\nexit status 2"
  "\"$1\" --src-write 0:7 a b")
vfio_migrate_test("bad --dst-read" 2 "--dst-read x: want INDEX:OFFSET.*exit status 2" "\"$1\" --dst-read x a b")
vfio_migrate_test("no such device" 3 "locate_device: name: ENOENT .*no such PCI device or mdev.* on 0000:7f:1f\\.7\nexit status 3"
  "\"$1\" 0000:7f:1f.7 0000:7f:1f.6")
