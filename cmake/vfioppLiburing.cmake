# vfiopp_find_liburing(<found_var> [GLOBAL])
# Defines the imported target vfiopp::liburing, which vfiopp::uring links, and sets <found_var> to TRUE when
# liburing was found, FALSE if not. Never fails and prints nothing: the caller decides whether liburing is
# required. Used by the build tree (CMakeLists.txt) and by the installed vfioppConfig.cmake, so both look the same
# way (liburing has no CMake package):
#   1. pkg-config's liburing module, when pkg-config is there (imported target PkgConfig::VFIOPP_LIBURING);
#   2. else liburing.h and the uring library (cache VFIOPP_LIBURING_INCLUDE_DIR and VFIOPP_LIBURING_LIBRARY);
#   3. else vfiopp::liburing links plain `uring`, which the toolchain may still find, and <found_var> is FALSE.
# GLOBAL makes the imported targets global. A second call in the same scope reuses vfiopp::liburing.
include_guard(GLOBAL)

function(vfiopp_find_liburing found_var)
  cmake_parse_arguments(PARSE_ARGV 1 arg "GLOBAL" "" "")
  if(TARGET vfiopp::liburing)
    get_target_property(found vfiopp::liburing VFIOPP_LIBURING_FOUND)
    set(${found_var} ${found} PARENT_SCOPE)
    return()
  endif()

  set(global "")
  if(arg_GLOBAL)
    set(global GLOBAL)
  endif()
  set(found FALSE)
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(VFIOPP_LIBURING QUIET IMPORTED_TARGET ${global} liburing)
  endif()
  if(VFIOPP_LIBURING_FOUND AND TARGET PkgConfig::VFIOPP_LIBURING)
    set(found TRUE)
    set(link PkgConfig::VFIOPP_LIBURING)
    set(include "")
  else()
    find_path(VFIOPP_LIBURING_INCLUDE_DIR liburing.h DOC "Directory holding liburing.h (for vfiopp::uring)")
    find_library(VFIOPP_LIBURING_LIBRARY uring DOC "The liburing library (for vfiopp::uring)")
    mark_as_advanced(VFIOPP_LIBURING_INCLUDE_DIR VFIOPP_LIBURING_LIBRARY)
    if(VFIOPP_LIBURING_INCLUDE_DIR AND VFIOPP_LIBURING_LIBRARY)
      set(found TRUE)
      set(link "${VFIOPP_LIBURING_LIBRARY}")
      set(include "${VFIOPP_LIBURING_INCLUDE_DIR}")
    else()
      set(link uring)
      set(include "")
    endif()
  endif()

  add_library(vfiopp::liburing INTERFACE IMPORTED ${global})
  set_target_properties(vfiopp::liburing PROPERTIES INTERFACE_LINK_LIBRARIES "${link}" VFIOPP_LIBURING_FOUND ${found})
  if(include)
    set_target_properties(vfiopp::liburing PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${include}")
  endif()
  set(${found_var} ${found} PARENT_SCOPE)
endfunction()
