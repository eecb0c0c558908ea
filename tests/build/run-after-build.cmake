# cmake -DBUILD_DIR=<build tree> -DTARGET=<target> -DEXE=<its file> -P run-after-build.cmake
#
# Builds TARGET (an EXCLUDE_FROM_ALL target, so a header that breaks it breaks this test and not everyone's
# build), printing the compiler's output when that fails, then runs EXE and passes on its output and exit status.
cmake_minimum_required(VERSION 3.25)

execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target "${TARGET}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message("${out}")
  message(FATAL_ERROR "building ${TARGET} failed (exit ${rc}); the compiler's output is above")
endif()
execute_process(COMMAND "${EXE}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} exited with ${rc}")
endif()
