# Tests of examples/vfio-decode.cpp (label unit, host only). The images come from vfio-decode_check, which builds
# them with vfiopp's own builders and mirrors; the same program checks the JSON against concrete facts and against
# the registry the library holds. Each test is a short sh script: $1 is vfio-decode, $2 is vfio-decode_check.
find_package(nlohmann_json CONFIG REQUIRED)  # imported targets are per directory: examples/ found its own
add_executable(vfio-decode_check ${CMAKE_CURRENT_LIST_DIR}/vfio-decode_check.cpp)
target_link_libraries(vfio-decode_check PRIVATE vfiopp::fmt nlohmann_json::nlohmann_json vfiopp_warnings)

# The number of ioctls the registry has, read from the committed docs/uapi.md (tests/docs keeps it current): the
# expected line count of --list.
file(STRINGS ${PROJECT_SOURCE_DIR}/docs/uapi.md vfio_decode_total_line REGEX "^\\| \\| total \\| [0-9]+ \\|$")
string(REGEX REPLACE "^\\| \\| total \\| ([0-9]+) \\|$" "\\1" vfio_decode_ioctls "${vfio_decode_total_line}")
if(NOT vfio_decode_ioctls MATCHES "^[0-9]+$")
  message(FATAL_ERROR "tests/tools/vfio-decode.cmake: no '| | total | N |' row in docs/uapi.md")
endif()

# vfio_decode_test(NAME STATUS EXPECT SCRIPT): passes when SCRIPT's last command exits STATUS and the output
# (stderr merged into stdout, in order) matches EXPECT. Scripts are lines without ';' (vfiopp_expect_test's list encoding).
function(vfio_decode_test name status expect script)
  vfiopp_expect_test(NAME "tools: vfio-decode ${name}" LABELS unit EXPECT "${expect}"
    COMMAND sh -c "exec 2>&1\n${script}\nrc=$?\necho \"exit status $rc\"\n[ $rc -eq ${status} ]"
            sh $<TARGET_FILE:vfio-decode> $<TARGET_FILE:vfio-decode_check>)
endfunction()

vfio_decode_test(help 0 "Exit status: 0 decoded or listed.*--list.*exit status 0" "\"$1\" --help")

# --list: one line per registry entry, NAME 0xCODE FD ABI
vfio_decode_test(list 0
  "VFIO_IOMMU_MAP_DMA 0x3b71 container mainline\n.*VFIO_IOMMU_PASID_REQUEST 0x3b76 container v7\n.*IOMMU_HWPT_ALLOC 0x3b89 iommufd mainline\n.*lines: *${vfio_decode_ioctls}\nexit status 0"
  "out=$(\"$1\" --list) || exit 1\nprintf '%s\\n' \"$out\"\necho \"lines: $(printf '%s\\n' \"$out\" | wc -l)\"")

# --list --json: parses back, as many ioctls as --list lines, offsets/codes/constants as the kernel has them
vfio_decode_test(list-json 0
  "registry JSON ok: ${vfio_decode_ioctls} ioctls \\(= ${vfio_decode_ioctls} lines of --list\\)"
  "n=$(\"$1\" --list | wc -l)\n\"$1\" --list --json | \"$2\" registry $n")

# A request image built by the library (the golden MAP_DMA), decoded by name from arguments and by code from stdin
vfio_decode_test(map-dma 0
  "VFIO_IOMMU_MAP_DMA: code 0x3b71, container fd, mainline ABI.*argsz=32\n  flags=read\\|write\n  vaddr=0x7f0000000000\n  iova=0x100000\n  size=0x200000\n"
  "\"$1\" VFIO_IOMMU_MAP_DMA $(\"$2\" image map_dma)")
vfio_decode_test(map-dma-stdin-code 0
  "VFIO_IOMMU_MAP_DMA: code 0x3b71.*iova=0x100000"
  "\"$2\" image map_dma | sed 's/../&:/g' | \"$1\" 0x3b71 --fd container")
vfio_decode_test(map-dma-json 0
  "decoded JSON ok: VFIO_IOMMU_MAP_DMA iova=0x100000 flags=read\\|write"
  "\"$1\" VFIO_IOMMU_MAP_DMA --json $(\"$2\" image map_dma) | \"$2\" decoded")

# A reply with a capability chain: every capability typed, the IOVA ranges as vfio_iova_range
vfio_decode_test(iommu-info-caps 0
  "iova_pgsizes=0x40201000.*capabilities \\(2\\):\n  iova_range@24 vfio_iommu_type1_info_cap_iova_range\\{header=vfio_info_cap_header\\{id=1, version=1, next=72\\}, nr_iovas=2, reserved=0\\} nr_iovas=\\[vfio_iova_range\\{start=0x0, end=0xfedfffff\\}, vfio_iova_range\\{start=0xfef00000, end=0xffffffffffff\\}\\]\n  dma_avail@72 vfio_iommu_type1_info_dma_avail\\{header=vfio_info_cap_header\\{id=3, version=1, next=0\\}, avail=65535\\}"
  "\"$1\" 0x3b70 --fd container $(\"$2\" image iommu_info)")
# ... and read as a 2020 proposal (v7) kernel's reply, id 3 is NESTING: too short for it, so the library refuses
vfio_decode_test(iommu-info-caps-v7 1
  "vfio-decode: VFIO_IOMMU_GET_INFO: nesting: EOVERFLOW \\(Value too large for defined data type\\): capability truncated by the end of the reply\nexit status 1"
  "\"$1\" 0x3b70 --fd container --abi v7 $(\"$2\" image iommu_info)")
# A malformed chain is the library's error naming the ioctl, the field and the errno
vfio_decode_test(iommu-info-bad-chain 1
  "vfio-decode: VFIO_IOMMU_GET_INFO: cap_offset: EINVAL \\(Invalid argument\\): capability offset is not 4-byte aligned\nexit status 1"
  "\"$1\" VFIO_IOMMU_GET_INFO $(\"$2\" image iommu_info_bad)")

# The proposal's NESTING_OP: the payload after the header is the bind struct, its VT-d part typed
vfio_decode_test(nesting-v7-bind 0
  "VFIO_IOMMU_NESTING_OP: code 0x3b77, container fd, v7 ABI.*argsz=80\n  flags=0\n.*@8 data\\[\\] \\(bind_pgtbl\\): iommu_gpasid_bind_data\\{\n  argsz=72\n  version=1\n  format=intel_vtd\n  addr_width=48\n.*gpgd=0x1000\n  hpasid=0x5\n.*@64 data\\[\\]\\.vendor\\.vtd: iommu_gpasid_bind_data_vtd\\{\n  flags=sre\n"
  "\"$1\" VFIO_IOMMU_NESTING_OP --abi v7 $(\"$2\" image nesting_v7_bind)")
# Flexible arrays by what the header says: SET_IRQS with DATA_EVENTFD carries s32 eventfds
vfio_decode_test(irq-set-eventfds 0
  "flags=data_eventfd\\|action_trigger\n  index=2\n  start=0\n  count=3\n\\}\n@20 data\\[\\] \\(eventfds\\) \\(3 x 4 bytes\\): \\[5, 6, -1\\]\nexit status 0"
  "\"$1\" VFIO_DEVICE_SET_IRQS $(\"$2\" image irq_set)")

# Reused codes are refused with the candidates and the options that pick each; then the options pick one
vfio_decode_test(ambiguous 2
  "0x3b76 is ambiguous: 2 ioctls use it; say which with --fd and/or --abi:\n  VFIO_IOMMU_PASID_REQUEST +0x3b76  --fd container --abi v7\n  VFIO_DEVICE_BIND_IOMMUFD +0x3b76  --fd device +--abi mainline\nexit status 2"
  "\"$1\" 0x3b76 10000000010000000100000064000000")
vfio_decode_test(disambiguated 0
  "VFIO_IOMMU_PASID_REQUEST: code 0x3b76, container fd, v7 ABI.*flags=alloc\n.*min=1\n    max=100\n"
  "\"$1\" 0x3b76 --fd container --abi v7 10000000010000000100000064000000")

# Errors: a short image (exit 1, the library names the field), input that is not hex and unknown names (exit 2)
vfio_decode_test(short-image 1
  "vfio-decode: VFIO_IOMMU_MAP_DMA: argsz: EINVAL \\(Invalid argument\\): image is shorter than the ioctl's argument struct\nexit status 1"
  "\"$1\" VFIO_IOMMU_MAP_DMA 20000000 03000000")
vfio_decode_test(not-hex 2 "the image is not hex: 'x' at character 1 is not a hex digit\nexit status 2"
  "\"$1\" VFIO_IOMMU_MAP_DMA 2x")
vfio_decode_test(unknown 2 "no ioctl vfiopp mirrors is named VFIO_IOMMU_SPAPR_TCE_CREATE.*left out on purpose: SPAPR TCE IOMMU v2 \\(ppc64 only\\) \\(POWER\\)\nexit status 2"
  "\"$1\" VFIO_IOMMU_SPAPR_TCE_CREATE")
