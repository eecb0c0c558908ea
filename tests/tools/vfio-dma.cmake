# Tests of examples/vfio-dma.cpp on the host (label unit): --help and the command-line errors. The DMA self-test
# and the throughput measurements need a VFIO device: they run in the VM, tests/tools/vfio-ls_vm.sh, registered by
# tests/tools/vfio-ls.cmake (one boot for the four tools).

# vfio_dma_test(NAME STATUS EXPECT SCRIPT): passes when SCRIPT's last command exits STATUS and the output (stderr
# merged into stdout) matches EXPECT; $1 is vfio-dma. Scripts are lines without ';' (vfiopp_expect_test's encoding).
function(vfio_dma_test name status expect script)
  vfiopp_expect_test(NAME "tools: vfio-dma ${name}" LABELS unit EXPECT "${expect}"
    COMMAND sh -c "exec 2>&1\n${script}\nrc=$?\necho \"exit status $rc\"\n[ $rc -eq ${status} ]" sh $<TARGET_FILE:vfio-dma>)
endfunction()

vfio_dma_test(help 0 "Usage: vfio-dma \\[OPTIONS\\] DEVICE.*--backend.*--json.*Exit codes:.*6  the DMA self-test failed.*7  the device is not QEMU's edu.*exit status 0"
  "\"$1\" --help")
vfio_dma_test("no device given" 2 "DEVICE is required.*exit status 2" "\"$1\"")
vfio_dma_test("bad --max-size" 2 "--max-size 3T: want a size from 4K to 1G.*exit status 2" "\"$1\" --max-size 3T 0000:00:03.0")
vfio_dma_test("bad --backend" 2 "--backend: lol not in \\{auto,type1,iommufd\\}.*exit status 2" "\"$1\" --backend lol 0000:00:03.0")
vfio_dma_test("no such device" 3 "locate_device: name: ENOENT .*no such PCI device or mdev.* on 0000:7f:1f\\.7\nexit status 3"
  "\"$1\" 0000:7f:1f.7")
