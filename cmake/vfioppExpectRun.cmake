# Runs VFIOPP_CMD (a list encoded by vfiopp_expect_test) and fails unless it exits 0 and its output matches
# VFIOPP_EXPECT. See vfioppExpectTest.cmake.
string(REPLACE "<vfiopp-sep>" ";" cmd "${VFIOPP_CMD}")
string(REPLACE "<vfiopp-semicolon>" ";" expect "${VFIOPP_EXPECT}")
execute_process(COMMAND ${cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "expect-test: the command exited with status '${rc}' (it must exit 0): ${cmd}")
endif()
if(NOT "${out}${err}" MATCHES "${expect}")
  message(FATAL_ERROR "expect-test: the command exited 0 but did not print its success line: ${expect}")
endif()
message("expect-test: exit status 0 and the success line was printed")
