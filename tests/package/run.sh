#!/usr/bin/env bash
# run.sh MODE SOURCE_DIR WORK_DIR CXX - builds tests/package/consumer against vfiopp three ways and runs it.
set -euo pipefail
mode=$1 src=$2 work=$3 cxx=$4
rm -rf "$work" && mkdir -p "$work"
consumer=$src/tests/package/consumer
case $mode in
  find_package)
    cmake -S "$src" -B "$work/vfiopp" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_INSTALL_PREFIX="$work/prefix" \
      -DVFIOPP_BUILD_TESTS=OFF -DVFIOPP_BUILD_EXAMPLES=OFF -DVFIOPP_INSTALL=ON >/dev/null
    cmake --install "$work/vfiopp" >/dev/null
    cmake -S "$consumer" -B "$work/consumer" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
    cmake --build "$work/consumer" >/dev/null
    "$work/consumer/consumer" ;;
  add_subdirectory)
    cmake -S "$consumer" -B "$work/consumer" -DCMAKE_CXX_COMPILER="$cxx" -DVFIOPP_SOURCE_DIR="$src" >/dev/null
    cmake --build "$work/consumer" >/dev/null
    "$work/consumer/consumer" ;;
  pkg_config)
    cmake -S "$src" -B "$work/vfiopp" -DCMAKE_INSTALL_PREFIX="$work/prefix" \
      -DVFIOPP_BUILD_TESTS=OFF -DVFIOPP_BUILD_EXAMPLES=OFF -DVFIOPP_INSTALL=ON >/dev/null
    cmake --install "$work/vfiopp" >/dev/null
    flags=$(PKG_CONFIG_PATH="$work/prefix/share/pkgconfig" pkg-config --cflags vfiopp)
    # shellcheck disable=SC2086
    "$cxx" $flags "$consumer/main.cpp" -o "$work/consumer-pc" -lfmt
    "$work/consumer-pc" ;;
  *) echo "run.sh: unknown mode $mode" >&2; exit 2 ;;
esac
