#!/usr/bin/env bash
# run.sh MODE SOURCE_DIR WORK_DIR CXX - builds a consumer of vfiopp one way and runs it (the *_missing and
# *_unknown modes instead check that find_package(vfiopp) fails, and say why). Modes:
#   find_package, add_subdirectory, pkg_config   tests/package/consumer (vfiopp::fmt), {fmt} visible
#   core_find_package, core_add_subdirectory,    tests/package/core_consumer (vfiopp::vfiopp only), with {fmt}
#   core_pkg_config                              hidden from CMake and pkg-config, also when vfiopp itself is
#                                                configured
#   fmt_component                                find_package(vfiopp CONFIG REQUIRED COMPONENTS fmt)
#   fmt_component_missing                        the same with {fmt} hidden: must fail
#   uring_component, uring_add_subdirectory,     tests/package/uring_consumer (vfiopp::uring: liburing, threads)
#   uring_pkg_config                             found with COMPONENTS uring, add_subdirectory or vfiopp-uring.pc
#   NAME_component_unknown                       find_package(vfiopp CONFIG REQUIRED COMPONENTS NAME), nothing
#                                                hidden, for a NAME vfiopp has no component for: must fail, and the
#                                                install must have no target vfiopp::NAME and no vfiopp-NAME.pc
# Each step's output goes to a log in WORK_DIR, printed when the step fails.
set -euo pipefail
mode=$1 src=$2 work=$3 cxx=$4
rm -rf "$work" && mkdir -p "$work"
consumer=$src/tests/package/consumer
core_consumer=$src/tests/package/core_consumer
uring_consumer=$src/tests/package/uring_consumer

# step LOG COMMAND... - runs COMMAND with its output in WORK_DIR/LOG; on failure prints the log and stops.
step() {
  local log=$work/$1
  shift
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "run.sh: $mode: failed: $*" >&2
    exit 1
  fi
}
# expect LOG TEXT - stops unless WORK_DIR/LOG contains TEXT.
expect() {
  if ! grep -qF -- "$2" "$work/$1"; then
    cat "$work/$1" >&2
    echo "run.sh: $mode: '$2' not in $1" >&2
    exit 1
  fi
}
# install_vfiopp [CMAKE_ARGS...] - configures vfiopp (no tests, no examples) and installs it into WORK_DIR/prefix.
install_vfiopp() {
  step vfiopp-configure.log cmake -S "$src" -B "$work/vfiopp" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_INSTALL_PREFIX="$work/prefix" -DVFIOPP_BUILD_TESTS=OFF -DVFIOPP_BUILD_EXAMPLES=OFF -DVFIOPP_INSTALL=ON "$@"
  step vfiopp-install.log cmake --install "$work/vfiopp"
}
# Hides {fmt}: CMake may not look for fmt (a REQUIRED lookup is an error, a quiet one finds nothing), and
# pkg-config (hide_pkg_config) sees no module but vfiopp's; find_package still sees Boost.
mkdir -p "$work/empty"
hidden=(-DCMAKE_DISABLE_FIND_PACKAGE_fmt=ON)
hide_pkg_config() { export PKG_CONFIG_LIBDIR=$work/empty PKG_CONFIG_PATH=$work/prefix/share/pkgconfig; }

case $mode in
  find_package)
    install_vfiopp
    step consumer-configure.log cmake -S "$consumer" -B "$work/consumer" -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_PREFIX_PATH="$work/prefix"
    step consumer-build.log cmake --build "$work/consumer"
    "$work/consumer/consumer" ;;
  add_subdirectory)
    step consumer-configure.log cmake -S "$consumer" -B "$work/consumer" -DCMAKE_CXX_COMPILER="$cxx" \
      -DVFIOPP_SOURCE_DIR="$src"
    step consumer-build.log cmake --build "$work/consumer"
    "$work/consumer/consumer" ;;
  pkg_config)
    install_vfiopp
    flags=$(PKG_CONFIG_PATH="$work/prefix/share/pkgconfig" pkg-config --cflags --libs vfiopp-fmt)
    # shellcheck disable=SC2086
    step consumer-build.log "$cxx" "$consumer/main.cpp" -o "$work/consumer-pc" $flags
    "$work/consumer-pc" ;;

  core_find_package)
    install_vfiopp "${hidden[@]}"
    expect vfiopp-configure.log "vfiopp: {fmt} not found"
    step consumer-configure.log cmake -S "$core_consumer" -B "$work/consumer" -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_PREFIX_PATH="$work/prefix" "${hidden[@]}"
    expect consumer-configure.log "core_consumer: vfiopp_fmt_FOUND=FALSE"
    step consumer-build.log cmake --build "$work/consumer"
    "$work/consumer/core_consumer" ;;
  core_add_subdirectory)
    step consumer-configure.log cmake -S "$core_consumer" -B "$work/consumer" -DCMAKE_CXX_COMPILER="$cxx" \
      -DVFIOPP_SOURCE_DIR="$src" -DVFIOPP_BUILD_TESTS=OFF -DVFIOPP_BUILD_EXAMPLES=OFF "${hidden[@]}"
    expect consumer-configure.log "vfiopp: {fmt} not found"
    expect consumer-configure.log "core_consumer: vfiopp_fmt_FOUND=FALSE"
    step consumer-build.log cmake --build "$work/consumer"
    "$work/consumer/core_consumer" ;;
  core_pkg_config)
    install_vfiopp "${hidden[@]}"
    hide_pkg_config
    # vfiopp.pc requires nothing; with Requires fmt, pkg-config would fail here.
    if ! requires=$(pkg-config --print-errors --print-requires --print-requires-private vfiopp 2>&1) || [[ -n $requires ]]; then
      echo "run.sh: $mode: vfiopp.pc must require nothing; pkg-config says: ${requires:-(nothing, but fails)}" >&2
      exit 1
    fi
    flags=$(pkg-config --cflags --libs vfiopp)
    # shellcheck disable=SC2086
    step consumer-build.log "$cxx" "$core_consumer/main.cpp" -o "$work/core-consumer-pc" $flags
    "$work/core-consumer-pc" ;;

  fmt_component)
    install_vfiopp
    step consumer-configure.log cmake -S "$consumer" -B "$work/consumer" -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_PREFIX_PATH="$work/prefix" -DVFIOPP_CONSUMER_COMPONENTS="${mode%_component}"
    step consumer-build.log cmake --build "$work/consumer"
    "$work/consumer/consumer" ;;
  uring_component)
    install_vfiopp
    step consumer-configure.log cmake -S "$uring_consumer" -B "$work/consumer" -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_PREFIX_PATH="$work/prefix"
    step consumer-build.log cmake --build "$work/consumer"
    "$work/consumer/uring_consumer" ;;
  uring_add_subdirectory)
    step consumer-configure.log cmake -S "$uring_consumer" -B "$work/consumer" -DCMAKE_CXX_COMPILER="$cxx" \
      -DVFIOPP_SOURCE_DIR="$src" -DVFIOPP_BUILD_TESTS=OFF -DVFIOPP_BUILD_EXAMPLES=OFF
    step consumer-build.log cmake --build "$work/consumer"
    "$work/consumer/uring_consumer" ;;
  uring_pkg_config)
    install_vfiopp
    flags=$(PKG_CONFIG_PATH="$work/prefix/share/pkgconfig" pkg-config --cflags --libs vfiopp-uring)
    # shellcheck disable=SC2086
    step consumer-build.log "$cxx" -std=c++20 "$uring_consumer/main.cpp" -o "$work/uring-consumer-pc" $flags
    "$work/uring-consumer-pc" ;;

  fmt_component_missing | *_component_unknown)
    install_vfiopp
    if [[ $mode == *_component_missing ]]; then
      component=${mode%_component_missing} hide=("${hidden[@]}") why="with $component hidden"
    else
      component=${mode%_component_unknown} hide=() why="but vfiopp has no such component"
      # Nothing installed may advertise it either: no imported target, no pkg-config file.
      if grep -rlF -- "vfiopp::$component" "$work/prefix/share/cmake/vfiopp" >&2; then
        echo "run.sh: $mode: the installed CMake package above mentions vfiopp::$component" >&2
        exit 1
      fi
      if [[ -e $work/prefix/share/pkgconfig/vfiopp-$component.pc ]]; then
        echo "run.sh: $mode: vfiopp-$component.pc is installed" >&2
        exit 1
      fi
    fi
    if cmake -S "$consumer" -B "$work/consumer" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$work/prefix" \
         -DVFIOPP_CONSUMER_COMPONENTS="$component" ${hide[@]+"${hide[@]}"} >"$work/consumer-configure.log" 2>&1; then
      cat "$work/consumer-configure.log" >&2
      echo "run.sh: $mode: find_package(vfiopp COMPONENTS $component) succeeded $why" >&2
      exit 1
    fi
    # The reason, on one line, for the test's PASS_REGULAR_EXPRESSION.
    echo "$mode: find_package(vfiopp COMPONENTS $component) failed:" \
      "$(sed -n '/CMake Error/,/Configuring incomplete/p' "$work/consumer-configure.log" | tr -s ' \n' ' ')" ;;
  *) echo "run.sh: unknown mode $mode" >&2; exit 2 ;;
esac
