# vfiopp_expect_test(NAME name EXPECT regex [LABELS l...] COMMAND cmd args...)
# A CTest test that passes only when the command exits 0 *and* its output matches EXPECT. (CTest's own
# PASS_REGULAR_EXPRESSION ignores the exit status, so a program that prints its success line and then crashes
# would pass.) The command runs under cmake -P tests/... expect-run.cmake, which prints the output either way.
set(VFIOPP_EXPECT_RUNNER ${CMAKE_CURRENT_LIST_DIR}/vfioppExpectRun.cmake)
function(vfiopp_expect_test)
  cmake_parse_arguments(T "" "NAME;EXPECT" "LABELS;COMMAND" ${ARGN})
  if(NOT T_NAME OR NOT T_COMMAND OR NOT DEFINED T_EXPECT)
    message(FATAL_ERROR "vfiopp_expect_test: NAME, EXPECT and COMMAND are required")
  endif()
  # Lists and regexes may hold ';': carry them through add_test's argument list encoded.
  string(REPLACE ";" "<vfiopp-sep>" cmd "${T_COMMAND}")
  string(REPLACE ";" "<vfiopp-semicolon>" expect "${T_EXPECT}")
  add_test(NAME "${T_NAME}" COMMAND ${CMAKE_COMMAND} "-DVFIOPP_CMD=${cmd}" "-DVFIOPP_EXPECT=${expect}"
                                    -P ${VFIOPP_EXPECT_RUNNER})
  if(T_LABELS)
    set_tests_properties("${T_NAME}" PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()
