# vfiopp_compile_fail(PREFIX SOURCE MACRO_PREFIX TITLE CASES...)
# Each case "name|message" builds SOURCE with -D<MACRO_PREFIX><NAME> at test time; the test passes only if the
# build fails with `message` in its output. The case "control|" builds SOURCE unchanged and must succeed, so a
# failure is the assertion's and not a typo's.
function(vfiopp_compile_fail prefix source macro_prefix title)
  foreach(c ${ARGN})
    string(REPLACE "|" ";" parts "${c}")
    list(GET parts 0 name)
    set(target ${prefix}_${name})
    add_executable(${target} EXCLUDE_FROM_ALL ${source})
    target_link_libraries(${target} PRIVATE vfiopp vfiopp_warnings)
    set(t "compile-fail: ${title} (${name})")
    add_test(NAME "${t}" COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target ${target})
    if(name STREQUAL "control")
      set_tests_properties("${t}" PROPERTIES LABELS unit)
    else()
      string(TOUPPER ${name} NAME)
      target_compile_definitions(${target} PRIVATE ${macro_prefix}${NAME})
      list(GET parts 1 msg)
      set_tests_properties("${t}" PROPERTIES LABELS unit PASS_REGULAR_EXPRESSION "${msg}"
        FAIL_REGULAR_EXPRESSION "Built target ${target}")
    endif()
  endforeach()
endfunction()
