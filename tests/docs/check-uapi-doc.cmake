# cmake -DTOOL=<vfiopp_uapi_doc> -DCOMMITTED=<docs/uapi.md> -DGENERATED=<out> -DBUILD_DIR=<build> -P check-uapi-doc.cmake
# Regenerates docs/uapi.md into GENERATED and fails, with a diff and the command to regenerate, if the
# committed file differs.
foreach(v TOOL COMMITTED GENERATED BUILD_DIR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "check-uapi-doc: -D${v}=... is required")
  endif()
endforeach()
execute_process(COMMAND ${TOOL} ${GENERATED} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "check-uapi-doc: ${TOOL} failed (${rc})")
endif()
if(NOT EXISTS ${COMMITTED})
  message(FATAL_ERROR "check-uapi-doc: ${COMMITTED} does not exist.\n"
                      "Generate it with: cmake --build ${BUILD_DIR} --target vfiopp_uapi_doc_update")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${COMMITTED} ${GENERATED} RESULT_VARIABLE differ)
if(differ)
  find_program(DIFF diff)
  if(DIFF)
    execute_process(COMMAND ${DIFF} -u ${COMMITTED} ${GENERATED})
  endif()
  message(FATAL_ERROR "check-uapi-doc: docs/uapi.md is out of date with the ioctl registry (diff above: - committed, "
                      "+ generated).\nRegenerate it with: cmake --build ${BUILD_DIR} --target vfiopp_uapi_doc_update\n"
                      "and commit docs/uapi.md.")
endif()
message(STATUS "docs/uapi.md matches the registry")
