#!/usr/bin/env bash
# run-tests.sh - the test command: set-up included, on a fresh Debian 12 machine (as root).
#  1. tools/setup-debian.sh installs every package and downloads the kernels and 7.3 headers into the cache;
#  2. builds the tests whose code a sanitizer can check with Clang 19, ASan and UBSan and runs them: unit, golden,
#     fuzz (libFuzzer smoke runs on the checked-in corpora) and the library's own VM tests; the first run builds the
#     iommufd kernel into the cache (in the background from the start: 6.5-20 minutes of both cores, by machine; later runs
#     reuse it);
#  3. builds everything with GCC 12 and runs every test, VM suites included (the unit executables in step 4);
#  4. tools/coverage.sh: line coverage of include/vfiopp from the unit tests (gcov), and every refusal site that no
#     test reaches (the GCC build's three unit-test executables are built with --coverage for it).
# Ends with the coverage report. Exit status: non-zero if anything failed (a test, or an unreached refusal site).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
bash tools/setup-debian.sh

# The 7.3 test kernel (tools/build-kernel.sh, 6.5-20 minutes of both cores from scratch by machine; nothing when cached)
# builds in the background from here, at a lower priority than the compilers, filling the cores the builds and
# tests leave idle. Its CTest fixture (vm_kernel_build) takes the same lock, waits for this build and reports it;
# a failed build here is retried and reported there.
KERNEL_LOG=$(mktemp "${TMPDIR:-/tmp}/vfiopp-kernel.XXXXXX.log")
# Its own process group (set -m), so that stopping this command stops make and its compilers too; the same session
# (not setsid: a new session is a new scheduler autogroup, which would get half the CPU whatever its nice value).
set -m
nice -n 10 bash tools/build-kernel.sh >"$KERNEL_LOG" 2>&1 &
kernel_pid=$!
set +m
trap 'kill -- -$kernel_pid 2>/dev/null || true' EXIT

# ccache (installed by setup-debian.sh) keeps compiled objects in the cache across runs and clones: paths are taken
# relative to the checkout (CCACHE_BASEDIR) and the working directory is not hashed, so a fresh clone of the same
# sources hits. A cold cache only adds its small overhead. The coverage-instrumented unit tests are never cached
# (their .gcno files name the directory they were built in).
export CCACHE_DIR=${CCACHE_DIR:-${VFIOPP_CACHE:-$HOME/.cache/vfiopp}/ccache} CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-6G}
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache); fi

configure_build() {  # dir, compiler, C compiler, extra cmake arguments
  cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER="$2" -DCMAKE_C_COMPILER="$3" \
    "${launcher[@]}" "${@:4}" >/dev/null
  cmake --build "$1" -j"$JOBS"
}

echo "==== Clang 19 with ASan + UBSan: build and test what the sanitizers check ===="
# Every test program is built with AddressSanitizer + UndefinedBehaviorSanitizer (VFIOPP_SANITIZE=ON; any report
# fails its test): the unit and golden tests, the fuzz targets, and the library's own VM tests (the objects and the
# library test, on one boot per kernel; the other VM suites test the kernel and run in the GCC pass). Checks whose
# result no sanitizer changes - compile-fail, the kernel cross-checks, header hygiene, docs, README examples,
# benchmarks, the tools (VFIOPP_BUILD_EXAMPLES=OFF) and the package consumers - are built and run once, in the GCC
# pass (tests/CMakeLists.txt).
# Reports name functions and lines (llvm-19's symbolizer), UBSan's with a stack; LeakSanitizer is on by default.
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-19/bin/llvm-symbolizer UBSAN_OPTIONS=print_stacktrace=1
configure_build build/clang clang++-19 clang-19 -DVFIOPP_SANITIZE=ON -DVFIOPP_BUILD_EXAMPLES=OFF
(cd build/clang && ctest --output-on-failure -j"$JOBS" -LE "package")

echo "==== GCC 12: build and test (everything, VM suites included) ===="
# VFIOPP_COVERAGE=ON instruments vfiopp_unit and vfiopp_wire_golden (-O0 --coverage) here, so that the coverage step
# reuses this build instead of compiling the unit tests a third time.
# The unit, uring and golden executables ("unit: ..." in CTest) are not run one case per process here: the coverage
# step below runs each of them once, whole, on this build (a failure fails this command and prints the test's
# output); running them here too would only run the same binaries twice.
# -g1 (line tables and functions, no variables): backtraces keep their lines, and a build from scratch takes about
# 15% less compiler time than -g.
configure_build build/gcc g++ gcc -DVFIOPP_COVERAGE=ON -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DCMAKE_C_FLAGS_DEBUG=-g1
(cd build/gcc && ctest --output-on-failure -j"$JOBS" -E '^unit: ')

echo "==== Coverage: include/vfiopp from the unit tests, refusal sites reached ===="
JOBS=$JOBS COVERAGE_BUILD=build/gcc bash tools/coverage.sh
if command -v ccache >/dev/null; then echo "ccache: $(ccache --show-stats 2>/dev/null | grep -E '^(Hits|Misses|Cacheable calls)' | tr -s ' \n' ' ')"; fi
