#!/usr/bin/env bash
# bench-compile.sh - what including vfiopp costs a translation unit, as compile time (issue 14, 1d).
#
#   tools/bench-compile.sh [CXX]          (default g++; e.g. tools/bench-compile.sh clang++-19)
#   RUNS=5 tools/bench-compile.sh         (runs per measurement, median taken; default 5)
#   KEEP=1 tools/bench-compile.sh         (keep the generated TUs and baselines; their directory is printed)
#
# Two TUs, each against its own baseline:
#   (a) the objects' headers: `#include <vfiopp/device.hpp>` and `#include <vfiopp/dma_space.hpp>` - a device and
#       a DMA address space, what a VMM needs first (dma_space.hpp pulls in container, group, iommufd, dma_mapping
#       and the builders; device.hpp region and interrupts);
#   (b) the umbrella `#include <vfiopp/vfiopp.hpp>` (every object header).
# The baseline of a TU includes exactly the standard, Boost and system headers that vfiopp's headers include
# directly, as the compiler saw them: the include tree printed by `CXX -H` for the TU, keeping each header that is
# not under include/ and is included from a vfiopp header (or the TU), in first-seen order, spelled as the compiler's
# search path finds it. Including those reproduces every system header the TU parses; what is left is vfiopp itself.
# Each TU and its baseline are compiled to an object (`CXX -std=c++20 -I include -c`) at -O0 and at -O2, RUNS
# times, alternating the two, and the median CPU time (user + system, /usr/bin/time) is reported: on a shared
# machine wall-clock time mostly measures the other jobs.
#
# Output: a `ratio | d compile | ...` line per TU and level in the common format of the benchmarks (tools/bench.sh
# collects them; CPU seconds instead of ns), goal <= 1.50x for (a) (none for the umbrella), and `fact` lines with the
# baselines' sizes. Nothing fails on a ratio; the exit status is non-zero only when a TU does not compile.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
CXX=${1:-g++}
RUNS=${RUNS:-5}
GOAL=1.50
command -v "$CXX" >/dev/null || { echo "bench-compile: compiler not found: $CXX" >&2; exit 2; }
TIME=/usr/bin/time
[[ -x $TIME ]] || { echo "bench-compile: $TIME not found (Debian package 'time')" >&2; exit 2; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench-compile: RUNS must be a positive integer" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench-compile.XXXXXX")
if [[ ${KEEP:-0} == 1 ]]; then echo "bench-compile: keeping $TMP"; else trap 'rm -rf "$TMP"' EXIT; fi
FLAGS=(-std=c++20 -I "$ROOT/include")

# The compiler's <...> search path, canonical, longest first (to spell a header path as #include <...>).
mapfile -t SEARCH < <("$CXX" "${FLAGS[@]}" -x c++ -E -v /dev/null 2>&1 >/dev/null |
  sed -n '/#include <...> search starts here:/,/End of search list\./p' | sed '1d;$d' |
  sed 's/^ *//; s/ (framework directory)$//' | while read -r d; do realpath -m "$d"; done |
  awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-)
((${#SEARCH[@]})) || { echo "bench-compile: could not read $CXX's include search path" >&2; exit 2; }

spell() {  # canonical path -> the name #include <...> finds it by
  local p=$1 d
  for d in "${SEARCH[@]}"; do
    if [[ $p == "$d"/* ]]; then printf '%s\n' "${p#"$d"/}"; return; fi
  done
  printf '%s\n' "$p"
}

# baseline NAME : writes $TMP/NAME-base.cpp from the include tree of $TMP/NAME.cpp; sets n_base.
baseline() {
  local name=$1 tree
  tree=$("$CXX" "${FLAGS[@]}" -H -fsyntax-only "$TMP/$name.cpp" 2>&1 >/dev/null) || {
    echo "bench-compile: $name.cpp does not compile with $CXX:" >&2; echo "$tree" >&2; exit 1; }
  # depth = number of leading dots; a header's includer is the last line one level up (the TU at depth 0)
  local -a picked=()
  local -A seen=()
  local -a stack=("$TMP/$name.cpp")
  local line dots path depth parent
  while IFS= read -r line; do
    [[ $line =~ ^(\.+)\ (.+)$ ]] || continue
    dots=${BASH_REMATCH[1]} path=$(realpath -m "${BASH_REMATCH[2]}")
    depth=${#dots}
    parent=${stack[depth - 1]}
    stack[depth]=$path
    [[ $path == "$ROOT/include/"* ]] && continue
    [[ $parent == "$ROOT/include/"* || $depth == 1 ]] || continue
    [[ -n ${seen[$path]:-} ]] && continue
    seen[$path]=1
    picked+=("$(spell "$path")")
  done <<<"$tree"
  : >"$TMP/$name-base.cpp"
  local h
  for h in "${picked[@]}"; do echo "#include <$h>" >>"$TMP/$name-base.cpp"; done
  n_base=${#picked[@]}
}

seconds() {  # CXX args... : CPU seconds (user + system) of one compile, the driver and its children
  "$TIME" -f '%U %S' -o "$TMP/t" "$CXX" "$@" >/dev/null 2>"$TMP/err" ||
    { echo "bench-compile: compile failed: $CXX $*" >&2; cat "$TMP/err" >&2; exit 1; }
  awk '{ printf "%.4f\n", $1 + $2 }' "$TMP/t"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# measure NAME WHAT GOAL : the ratio lines of TU NAME against its baseline at -O0 and -O2
measure() {
  local name=$1 what=$2 goal=$3 opt i a b ta tb r verdict
  for opt in -O0 -O2; do
    : >"$TMP/a.times"; : >"$TMP/b.times"
    for ((i = 0; i < RUNS; i++)); do  # alternate, so that a load change hits both alike
      seconds "${FLAGS[@]}" "$opt" -c "$TMP/$name.cpp" -o "$TMP/$name.o" >>"$TMP/a.times"
      seconds "${FLAGS[@]}" "$opt" -c "$TMP/$name-base.cpp" -o "$TMP/$name-base.o" >>"$TMP/b.times"
    done
    ta=$(median <"$TMP/a.times") tb=$(median <"$TMP/b.times")
    r=$(awk -v a="$ta" -v b="$tb" 'BEGIN { printf "%.2f", a / b }')
    if [[ $goal == - ]]; then
      printf 'ratio | d compile | %s, %s -c, CPU seconds [%s] | %.2f | %.2f | %sx | goal - | -\n' "$what" "$opt" "$CXX" "$ta" "$tb" "$r"
    else
      verdict=$(awk -v r="$r" -v g="$goal" 'BEGIN { print (r <= g) ? "met" : "MISSED" }')
      printf 'ratio | d compile | %s, %s -c, CPU seconds [%s] | %.2f | %.2f | %sx | goal <= %.2fx | %s\n' \
        "$what" "$opt" "$CXX" "$ta" "$tb" "$r" "$goal" "$verdict"
    fi
  done
}

printf '#include <vfiopp/device.hpp>\n#include <vfiopp/dma_space.hpp>\n' >"$TMP/objects.cpp"
printf '#include <vfiopp/vfiopp.hpp>\n' >"$TMP/umbrella.cpp"
baseline objects
n_objects=$n_base
baseline umbrella
n_umbrella=$n_base

echo "bench-compile: $CXX ($("$CXX" --version | head -1)), median of $RUNS runs each"
measure objects "objects' headers (device.hpp + dma_space.hpp) / their std+Boost+system headers" "$GOAL"
measure umbrella "umbrella vfiopp.hpp / its std+Boost+system headers" -
printf 'fact | d compile | baseline of device.hpp + dma_space.hpp [%s] | %d std/Boost/system headers included by vfiopp headers (from %s -H)\n' \
  "$CXX" "$n_objects" "$CXX"
printf 'fact | d compile | baseline of vfiopp.hpp [%s] | %d std/Boost/system headers included by vfiopp headers (from %s -H)\n' \
  "$CXX" "$n_umbrella" "$CXX"
