# Tests of examples/vfio-nesting.cpp. Host tests (label unit): the dry runs, whose images and verdicts are exact
# (header argsz, op, payload offsets, the model's errno, field and report/discard), the library's refusals (exit 1,
# naming the field), usage errors (exit 2). One VM test (label vm): the real answers of Linux 7.3, on a type1
# container (ENOTTY: no kernel implements the proposal, exit 3) and on iommufd (EOPNOTSUPP for NEST_PARENT on
# QEMU's emulated VT-d, exit 3).

# vfio_nesting_test(NAME STATUS EXPECT SCRIPT): passes when SCRIPT's last command exits STATUS and the output
# (stderr merged into stdout, in order) matches EXPECT. $1 is vfio-nesting, $2 vfio-decode. Lines without ';'.
function(vfio_nesting_test name status expect script)
  vfiopp_expect_test(NAME "tools: vfio-nesting ${name}" LABELS unit EXPECT "${expect}"
    COMMAND sh -c "exec 2>&1\n${script}\nrc=$?\necho \"exit status $rc\"\n[ $rc -eq ${status} ]"
            sh $<TARGET_FILE:vfio-nesting> $<$<TARGET_EXISTS:vfio-decode>:$<TARGET_FILE:vfio-decode>>)
endfunction()

vfio_nesting_test(help 0 "Exit status: 0 done.*3 the kernel does not support\nit \\(ENOTTY.*exit status 0" "\"$1\" --help")

# BIND_PGTBL in both revisions: v7's 8-byte header with the op in flags (argsz 8 + 72), the seed's 12-byte header
# with its own op field (argsz 12 + 72); the payload's own argsz and version written by the builder
vfio_nesting_test(v7-bind-dry-run 0
  "VFIO_IOMMU_NESTING_OP \\(v7, code 0x3b77, container fd\\): 80 bytes = 8-byte header \\+ data\\[\\] at 8: iommu_gpasid_bind_data \\(bind_pgtbl\\)\n.*\n +0 +4 +50 00 00 00 +argsz +80\n +4 +4 +00 00 00 00 +flags +0  \\(op bind_pgtbl\\)\n +8 +4 +48 00 00 00 +data\\.argsz +72\n +12 +4 +01 00 00 00 +data\\.version +1\n.*\n +40 +8 +05 00 00 00 00 00 00 00 +data\\.hpasid +0x5\n.*\n +64 +8 +03 00 00 00 00 00 00 00 +data\\.vendor\\.vtd\\.flags +sre\\|eafe\n.*model \\(v7 kernel, nesting container on Intel VT-d, features syswide_pasid\\|bind_pgtbl\\|cache_invld\\): accepted\nexit status 0"
  "\"$1\" --abi v7 --dry-run bind --hpasid 5 --gpgd 0x1000 --sre --eafe")
vfio_nesting_test(seed-bind-dry-run 0
  "VFIO_IOMMU_NESTING_OP \\(seed, code 0x3b7b, container fd\\): 84 bytes = 12-byte header \\+ data\\[\\] at 12.*\n +0 +4 +54 00 00 00 +argsz +84\n +4 +4 +00 00 00 00 +flags +0\n +8 +4 +00 00 00 00 +op +bind_pgtbl\n +12 +4 +48 00 00 00 +data\\.argsz +72\n.*\n +44 +8 +05 00 00 00 00 00 00 00 +data\\.hpasid +0x5\n.*model \\(seed kernel.*\\): accepted\nexit status 0"
  "\"$1\" --abi seed --dry-run bind --hpasid 5 --gpgd 0x1000")

# CACHE_INVLD: a payload the 2020 kernel would refuse and then report as success (v7 discards the error) is refused
# by the builder, naming data.cache; the raw image and the model's verdict are still shown
vfio_nesting_test(v7-invalidate-refused 1
  "refused before any ioctl: VFIO_IOMMU_NESTING_OP: data.cache: EINVAL \\(Invalid argument\\): domain granularity cannot invalidate the device IOTLB\n.*the raw image vfiopp refuses to build\n.*data\\.cache +dev_iotlb\n.*model \\(v7 kernel.*\\): EINVAL on data\\.cache: domain granularity cannot invalidate the device IOTLB; discarded: the 2020 kernel computes EINVAL and returns 0.*exit status 1"
  "\"$1\" --abi v7 --dry-run invalidate --cache dev_iotlb --granularity domain")
vfio_nesting_test(v7-invalidate-dry-run 0
  "\\(v7, code 0x3b77, container fd\\): 64 bytes = 8-byte header \\+ data\\[\\] at 8: iommu_cache_invalidate_info \\(cache_invld\\)\n.*\n +4 +4 +02 00 00 00 +flags +2  \\(op cache_invld\\)\n.*\n +16 +1 +03 +data\\.cache +iotlb\\|dev_iotlb\n +17 +1 +02 +data\\.granularity +addr\n.*\n +24 +4 +05 00 00 00 +data\\.granu\\.addr_info\\.flags +pasid\\|leaf\n.*\n +56 +8 +04 00 00 00 00 00 00 00 +data\\.granu\\.addr_info\\.nb_granules +0x4\nhex: [0-9a-f]+\nmodel \\(v7 kernel, nesting container on Intel VT-d, features syswide_pasid\\|bind_pgtbl\\|cache_invld\\): accepted\nexit status 0"
  "\"$1\" --abi v7 --dry-run invalidate --cache iotlb,dev_iotlb --granularity addr --pasid 5 --addr 0x10000 --nb-granules 4 --leaf")
# ... on a modelled container whose IOMMU lacks CACHE_INVLD: the kernel's EOPNOTSUPP, reported
vfio_nesting_test(v7-invalidate-no-feature 1
  "model \\(v7 kernel, nesting container on Intel VT-d, features syswide_pasid\\|bind_pgtbl\\): EOPNOTSUPP on op: the container's IOMMU does not report CACHE_INVLD; reported: the ioctl fails with EOPNOTSUPP\nexit status 1"
  "\"$1\" --abi v7 --dry-run --model-features syswide_pasid,bind_pgtbl invalidate --cache iotlb --granularity pasid --pasid 5")

# PASID_REQUEST: the builder's 31-bit bound is stricter than the v7 kernel's `>` check, which lets 0x80000000 through
vfio_nesting_test(v7-pasid-alloc-bound 1
  "VFIO_IOMMU_PASID_REQUEST: range: EINVAL \\(Invalid argument\\): range.max exceeds the 31-bit PASID space\n.*\n +12 +4 +00 00 00 80 +range\\.max +2147483648\n.*model \\(v7 kernel.*\\): accepted\nmodel: a process holding no PASID gets PASID 1 as the ioctl's return value\nexit status 1"
  "\"$1\" --abi v7 --dry-run pasid-alloc 1 0x80000000")
vfio_nesting_test(seed-pasid-alloc 0
  "\\(seed, code 0x3b7a, container fd\\): 20 bytes\n.*\n +0 +4 +14 00 00 00 +argsz +20\n +4 +4 +01 00 00 00 +flags +alloc\n.*gets PASID 100 written to pasid \\(offset 8\\), the ioctl returns 0\nexit status 0"
  "\"$1\" --abi seed --dry-run pasid-alloc 100 200")

# iommufd: the VT-d stage-1 data the backend sends; a memory-type flag it has no field for is refused, named
vfio_nesting_test(iommufd-bind-dry-run 0
  "IOMMU_HWPT_ALLOC data \\(data_type vtd_s1, 24 bytes\\).*attached at PASID 7.*\n +0 +8 +01 00 00 00 00 00 00 00 +flags +sre\n +8 +8 +00 10 00 00 00 00 00 00 +pgtbl_addr +0x1000\n +16 +4 +27 00 00 00 +addr_width +39\n.*exit status 0"
  "\"$1\" --abi iommufd --dry-run bind --hpasid 7 --gpgd 0x1000 --addr-width 39 --sre")
vfio_nesting_test(iommufd-bind-refused 1
  "refused before any ioctl: IOMMU_HWPT_ALLOC: data.vendor.vtd.flags: EOPNOTSUPP.*exit status 1"
  "\"$1\" --abi iommufd --dry-run bind --hpasid 7 --gpgd 0x1000 --pcd")

# Usage: a container needs a group first; an unknown cache name
vfio_nesting_test(needs-group 2 "--abi v7 needs --group N.*exit status 2" "\"$1\" --abi v7 pasid-alloc 1 10")
vfio_nesting_test(bad-cache 2 "--cache: 'tlb' is not a cache \\(iotlb, dev_iotlb, pasid\\)\nexit status 2"
  "\"$1\" --abi v7 --dry-run invalidate --cache tlb --granularity domain")

# The dry run's hex line is the image: vfio-decode reads it back as the same typed payload
if(TARGET vfio-decode)
  vfio_nesting_test(hex-decodes 0
    "VFIO_IOMMU_NESTING_OP: code 0x3b7b, container fd, seed ABI.*op=cache_invld\n.*@12 data\\[\\] \\(cache_invld\\): iommu_cache_invalidate_info\\{.*granularity=pasid\n.*@28 data\\[\\]\\.granu\\.pasid_info: iommu_inv_pasid_info\\{\n  flags=pasid\n  archid=0\n  pasid=0x2a\n\\}\nexit status 0"
    "hex=$(\"$1\" --abi seed --dry-run invalidate --cache iotlb --granularity pasid --pasid 42 | sed -n 's/^hex: //p')\n\"$2\" VFIO_IOMMU_NESTING_OP --abi seed $hex")
endif()

# In the guest, on Linux 7.3: seed and v7 on a real type1 container (group of the first edu) are ENOTTY, typed, and
# reported as "this kernel does not implement the 2020 proposal" (exit 3); the iommufd session on the edu's cdev
# stops at the stage-2 parent with the kernel's EOPNOTSUPP for NEST_PARENT, typed (exit 3). The checks are in
# vfio-nesting_vm.sh, which prints its success line only when every one holds.
if(VFIOPP_VM_TESTS)
  vfiopp_expect_test(NAME "vm_tools_vfio-nesting" LABELS vm EXPECT "vfio-nesting-vm: all 5 checks passed"
    COMMAND "${VFIOPP_VM_RUN}" --kernel iommufd --timeout 280
            --workdir "${CMAKE_CURRENT_BINARY_DIR}/vm_tools_vfio-nesting"
            --add $<TARGET_FILE:vfio-nesting>:/bin/vfio-nesting -- "${CMAKE_CURRENT_LIST_DIR}/vfio-nesting_vm.sh")
  set_tests_properties("vm_tools_vfio-nesting" PROPERTIES FIXTURES_REQUIRED vm_iommufd_kernel TIMEOUT 300)
endif()
