# cmake -DINCLUDE_DIR=<dir holding vfiopp/> -P check-layers.cmake
#
# Checks that the headers under <INCLUDE_DIR>/vfiopp are layered. Each header has a rank, from its path:
#   rank 0  vfiopp/error.hpp, vfiopp/unique_fd.hpp, vfiopp/detail/**      (the base)
#   rank 1  vfiopp/uapi/**                                                (the kernel ABI mirrors)
#   rank 2  vfiopp/wire/**                                                (request builders, decoders)
#   rank 3  vfiopp/io/**                                                  (the system calls)
#   rank 4  every other header directly in vfiopp/                        (objects, ...)
# and may include vfiopp headers of its own rank or below only. Besides:
#   - "printing" headers (named fmt.hpp or fmt_error.hpp, anywhere; shown as rank 4 printing) may include
#     printing headers and headers of ranks 0-2 only, and no other header may include a printing header;
#   - vfiopp/unique_fd.hpp includes no other vfiopp header;
#   - headers of ranks 0-2 (by directory) include none of <sys/ioctl.h>, <liburing.h>, <unistd.h>: no system
#     calls below io/ (vfiopp/unique_fd.hpp may include <unistd.h>, for close());
#   - a header in a subdirectory of vfiopp/ not named above is in no layer, which is a violation too (give the
#     new directory a rank here).
# Every `#include` line counts, also inside #if blocks. Prints each violation as
#   vfiopp/wire/x.hpp: includes vfiopp/io/y.hpp (rank 2 -> rank 3)
# and fails; prints the number of headers checked when there are none.
cmake_minimum_required(VERSION 3.25)

if(NOT INCLUDE_DIR OR NOT IS_DIRECTORY "${INCLUDE_DIR}/vfiopp")
  message(FATAL_ERROR "layers: usage: cmake -DINCLUDE_DIR=<dir holding vfiopp/> -P check-layers.cmake "
                      "(got INCLUDE_DIR='${INCLUDE_DIR}')")
endif()
cmake_path(ABSOLUTE_PATH INCLUDE_DIR NORMALIZE)
string(REGEX REPLACE "/$" "" INCLUDE_DIR "${INCLUDE_DIR}")

set(syscall_headers "sys/ioctl.h" "liburing.h" "unistd.h")

# rank_of(<path relative to INCLUDE_DIR> <out-var>): 0..4 by directory, -1 when in no layer.
function(rank_of path out)
  if(path MATCHES "^vfiopp/(error|unique_fd)\\.hpp$" OR path MATCHES "^vfiopp/detail/")
    set(r 0)
  elseif(path MATCHES "^vfiopp/uapi/")
    set(r 1)
  elseif(path MATCHES "^vfiopp/wire/")
    set(r 2)
  elseif(path MATCHES "^vfiopp/io/")
    set(r 3)
  elseif(path MATCHES "^vfiopp/[^/]+$")
    set(r 4)
  else()
    set(r -1)
  endif()
  set(${out} ${r} PARENT_SCOPE)
endfunction()

function(is_printing path out)
  cmake_path(GET path FILENAME name)
  if(name STREQUAL "fmt.hpp" OR name STREQUAL "fmt_error.hpp")
    set(${out} TRUE PARENT_SCOPE)
  else()
    set(${out} FALSE PARENT_SCOPE)
  endif()
endfunction()

# label_of(<path> <out-var>): "rank N", "rank 4 printing" or "no layer", for the messages.
function(label_of path out)
  is_printing("${path}" p)
  rank_of("${path}" r)
  if(p)
    set(${out} "rank 4 printing" PARENT_SCOPE)
  elseif(r EQUAL -1)
    set(${out} "no layer" PARENT_SCOPE)
  else()
    set(${out} "rank ${r}" PARENT_SCOPE)
  endif()
endfunction()

file(GLOB_RECURSE headers LIST_DIRECTORIES false RELATIVE "${INCLUDE_DIR}"
  "${INCLUDE_DIR}/vfiopp/*.hpp" "${INCLUDE_DIR}/vfiopp/*.h" "${INCLUDE_DIR}/vfiopp/*.hh"
  "${INCLUDE_DIR}/vfiopp/*.ipp" "${INCLUDE_DIR}/vfiopp/*.inc")
list(SORT headers)
list(LENGTH headers checked)
if(checked EQUAL 0)
  message(FATAL_ERROR "layers: no headers under ${INCLUDE_DIR}/vfiopp")
endif()

set(violations)
foreach(h IN LISTS headers)
  rank_of("${h}" hr)
  is_printing("${h}" hp)
  label_of("${h}" hl)
  if(hr EQUAL -1 AND NOT hp)
    list(APPEND violations "${h}: is in no layer (ranks: 0 error.hpp unique_fd.hpp detail/, 1 uapi/, 2 wire/, 3 io/, 4 vfiopp/*.hpp)")
  endif()
  cmake_path(GET h PARENT_PATH hdir)
  file(STRINGS "${INCLUDE_DIR}/${h}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "^[ \t]*#[ \t]*include[ \t]*([<\"])([^>\"]+)[>\"]")
      continue()
    endif()
    set(delim "${CMAKE_MATCH_1}")
    set(inc "${CMAKE_MATCH_2}")
    # "..." includes: relative to the including header first, as compilers search them.
    set(target "")
    if(delim STREQUAL "\"" AND EXISTS "${INCLUDE_DIR}/${hdir}/${inc}")
      cmake_path(SET target NORMALIZE "${hdir}/${inc}")
    elseif(inc MATCHES "^vfiopp/")
      cmake_path(SET target NORMALIZE "${inc}")
    endif()

    if(target STREQUAL "")
      # Not a vfiopp header: only the system-call rule applies.
      if(inc IN_LIST syscall_headers AND hr GREATER_EQUAL 0 AND hr LESS_EQUAL 2)
        if(NOT (h STREQUAL "vfiopp/unique_fd.hpp" AND inc STREQUAL "unistd.h"))
          list(APPEND violations "${h}: includes <${inc}> (rank ${hr} -> rank 3: system calls belong in io/)")
        endif()
      endif()
      continue()
    endif()

    rank_of("${target}" tr)
    is_printing("${target}" tp)
    label_of("${target}" tl)
    set(bad TRUE)
    set(why "")
    if(h STREQUAL "vfiopp/unique_fd.hpp")
      set(why ": vfiopp/unique_fd.hpp includes no other vfiopp header")
    elseif(tr EQUAL -1 AND NOT tp)
      set(why ": the included header is in no layer")
    elseif(hp)
      if(tp OR tr LESS_EQUAL 2)
        set(bad FALSE)
      else()
        set(why ": printing headers include printing headers and ranks 0-2 only")
      endif()
    elseif(tp)
      set(why ": only printing headers include printing headers")
    elseif(hr EQUAL -1 OR tr LESS_EQUAL hr)
      set(bad FALSE)  # a header in no layer is reported once, above
    endif()
    if(bad)
      list(APPEND violations "${h}: includes ${target} (${hl} -> ${tl}${why})")
    endif()
  endforeach()
endforeach()

list(LENGTH violations n)
if(n GREATER 0)
  foreach(v IN LISTS violations)
    message("${v}")
  endforeach()
  message(FATAL_ERROR "layers: ${n} violation(s) in ${checked} headers checked under ${INCLUDE_DIR}/vfiopp")
endif()
message("layers: ${checked} headers checked under ${INCLUDE_DIR}/vfiopp, no violations")
