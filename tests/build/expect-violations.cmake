# cmake -DCHECKER=check-layers.cmake -DFIXTURE=<dir holding vfiopp/ and EXPECTED> -P expect-violations.cmake
#
# The layer check's negative control: runs CHECKER on FIXTURE and passes only if it fails (non-zero exit) and
# reports exactly the violations listed in FIXTURE/EXPECTED (one a line, exact text), no more and no fewer.
cmake_minimum_required(VERSION 3.25)

foreach(v CHECKER FIXTURE)
  if(NOT EXISTS "${${v}}")
    message(FATAL_ERROR "negative control: ${v}='${${v}}' does not exist")
  endif()
endforeach()

execute_process(COMMAND "${CMAKE_COMMAND}" "-DINCLUDE_DIR=${FIXTURE}" -P "${CHECKER}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("---- checker output ----\n${out}------------------------")

file(STRINGS "${FIXTURE}/EXPECTED" expected)
string(REPLACE ";" "\\;" out_escaped "${out}")
string(REPLACE "\n" ";" out_lines "${out_escaped}")
set(reported)
foreach(line IN LISTS out_lines)
  if(line MATCHES "^vfiopp/.*: (includes |is in no layer)")
    list(APPEND reported "${line}")
  endif()
endforeach()

set(problems)
if(rc EQUAL 0)
  list(APPEND problems "the checker passed (exit 0) a tree with a deliberate violation")
endif()
foreach(e IN LISTS expected)
  if(NOT e IN_LIST reported)
    list(APPEND problems "not reported: ${e}")
  endif()
endforeach()
foreach(r IN LISTS reported)
  if(NOT r IN_LIST expected)
    list(APPEND problems "reported but not expected: ${r}")
  endif()
endforeach()

if(problems)
  string(REPLACE ";" "\n  " problems "${problems}")
  message(FATAL_ERROR "negative control FAILED:\n  ${problems}")
endif()
list(LENGTH reported n)
message("negative control: the checker failed as it must, reporting exactly the ${n} expected violation(s)")
