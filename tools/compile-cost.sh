#!/usr/bin/env bash
# compile-cost.sh - what including vfiopp costs a translation unit, against the standard + Boost headers it uses.
#
#   tools/compile-cost.sh [--max-mem-ratio R] [--compiler CXX]... [--runs N] [--tu "HEADER..."]... [HEADER...]
#
# TU A includes each HEADER (vfiopp headers, spelled as in `#include <vfiopp/io/sync.hpp>`; default: whichever of
# vfiopp/io/sync.hpp vfiopp/io/negotiate.hpp vfiopp/wire/vfio.hpp vfiopp/wire/iommufd.hpp vfiopp/wire/nesting.hpp
# exist). TU B, its baseline, is found automatically: every non-vfiopp `#include <...>` of the vfiopp headers A
# includes, transitively (walked from include/, deduplicated, in first-seen order) - the standard, Boost and
# system headers vfiopp itself uses. Each TU is compiled with `CXX -std=c++20 -fsyntax-only -I include` under
# /usr/bin/time, N times (default 3); the best (least) time and the largest peak resident memory are reported,
# with the ratios A/B, for each compiler (default: g++ and clang++-19, those installed).
#
# Exit status: 1 when A's peak memory exceeds R times B's (default R = 2.0) for some compiler; time is reported,
# not enforced. 2 on a usage error, a missing header or a TU that does not compile.
#
# --tu "H1 H2 ..." measures one more TU of the given vfiopp headers against its own std+Boost baseline, for
# information only (no limit): --tu "vfiopp/uapi/all.hpp" --tu "vfiopp/uapi/registry.hpp". May be repeated.
#
# Includes inside #if blocks count (the baseline is an upper bound then); "..." includes are resolved relative to
# the including header. Peak MB is the peak resident set size in MiB (KiB / 1024) of the compiler process tree.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INC=$ROOT/include
DEFAULT_HEADERS=(vfiopp/io/sync.hpp vfiopp/io/negotiate.hpp vfiopp/wire/vfio.hpp vfiopp/wire/iommufd.hpp
                 vfiopp/wire/nesting.hpp)

die() { echo "compile-cost: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

max_ratio=2.0
runs=3
compilers=()
headers=()
extra_tus=()
while (($#)); do
  case $1 in
    --max-mem-ratio) (($# >= 2)) || usage; max_ratio=$2; shift 2 ;;
    --max-mem-ratio=*) max_ratio=${1#*=}; shift ;;
    --compiler) (($# >= 2)) || usage; compilers+=("$2"); shift 2 ;;
    --compiler=*) compilers+=("${1#*=}"); shift ;;
    --tu) (($# >= 2)) || usage; extra_tus+=("$2"); shift 2 ;;
    --tu=*) extra_tus+=("${1#*=}"); shift ;;
    --runs) (($# >= 2)) || usage; runs=$2; shift 2 ;;
    --runs=*) runs=${1#*=}; shift ;;
    -h|--help) usage ;;
    -*) echo "compile-cost: unknown option $1" >&2; usage ;;
    *) headers+=("$1"); shift ;;
  esac
done
[[ $max_ratio =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--max-mem-ratio wants a number, got '$max_ratio'"
max_ratio=$(awk -v r="$max_ratio" 'BEGIN { printf "%.2f", r }')
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive integer, got '$runs'"

# A header as spelled in #include <...>: accepts include/vfiopp/x.hpp and absolute paths under include/ too.
normalize() {
  local h=$1
  [[ $h == /* && $h == "$INC"/* ]] && h=${h#"$INC"/}
  h=${h#./}
  h=${h#include/}
  [[ -f $INC/$h ]] || die "no such header: $INC/$h"
  printf '%s\n' "$h"
}

if ((${#headers[@]} == 0)); then
  for h in "${DEFAULT_HEADERS[@]}"; do [[ -f $INC/$h ]] && headers+=("$h"); done
  ((${#headers[@]})) || die "none of the default headers exists under $INC (${DEFAULT_HEADERS[*]}); name some"
else
  for i in "${!headers[@]}"; do headers[i]=$(normalize "${headers[i]}"); done
fi

if ((${#compilers[@]} == 0)); then
  for c in g++ clang++-19; do command -v "$c" >/dev/null && compilers+=("$c"); done
  ((${#compilers[@]})) || die "neither g++ nor clang++-19 is installed; pass --compiler CXX"
fi
for c in "${compilers[@]}"; do command -v "$c" >/dev/null || die "compiler not found: $c"; done

# Measuring: /usr/bin/time (Debian package `time`); without it, python3's getrusage() of the children.
if [[ -x /usr/bin/time ]]; then
  TIMER=gnu
elif command -v python3 >/dev/null; then
  TIMER=python
  echo "compile-cost: /usr/bin/time not found (install the Debian package 'time'); measuring with python3" >&2
else
  die "/usr/bin/time not found (install the Debian package 'time') and no python3 to measure with"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/compile-cost.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# ---- the baseline: system includes of the transitive closure of vfiopp includes ----
INCLUDE_RE='^[[:space:]]*#[[:space:]]*include[[:space:]]*([<"])([^>"]+)[>"]'
declare -A seen
sys_includes=()
declare -A sys_seen
walked=0
walk() {  # header (relative to include/)
  local h=$1 f line d inc rel
  [[ -n ${seen[$h]:-} ]] && return 0
  seen[$h]=1
  walked=$((walked + 1))
  f=$INC/$h
  [[ -f $f ]] || die "$h is included (transitively) but $f does not exist"
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ $INCLUDE_RE ]] || continue
    d=${BASH_REMATCH[1]} inc=${BASH_REMATCH[2]}
    if [[ $d == '"' && -f $(dirname "$f")/$inc ]]; then
      rel=$(realpath -m --relative-to="$INC" "$(dirname "$f")/$inc")
      walk "$rel"
    elif [[ $inc == vfiopp/* ]]; then
      walk "$inc"
    elif [[ $d == '<' && -z ${sys_seen[$inc]:-} ]]; then
      sys_seen[$inc]=1
      sys_includes+=("$inc")
    fi
  done <"$f"
}

# make_tu NAME "HEADER..." : writes NAME.cpp (the headers) and NAME-base.cpp (their std+Boost closure);
# sets tu_closure (vfiopp headers walked) and tu_nsys (baseline headers).
make_tu() {
  local name=$1 h
  local -a list
  read -r -a list <<<"$2"
  ((${#list[@]})) || die "empty TU: '$2'"
  seen=() sys_seen=() sys_includes=() walked=0
  : >"$TMP/$name.cpp"
  for h in "${list[@]}"; do
    h=$(normalize "$h")
    echo "#include <$h>" >>"$TMP/$name.cpp"
    walk "$h"
  done
  : >"$TMP/$name-base.cpp"
  for h in "${sys_includes[@]}"; do echo "#include <$h>" >>"$TMP/$name-base.cpp"; done
  tu_closure=$walked
  tu_nsys=${#sys_includes[@]}
}

# measure CXX FILE : sets m_time (least seconds) and m_kb (largest peak RSS, KiB) over $runs runs.
measure() {
  local cxx=$1 file=$2 i t kb
  m_time="" m_kb=0
  for ((i = 0; i < runs; i++)); do
    local cmd=("$cxx" -std=c++20 -fsyntax-only -I "$INC" "$file")
    if [[ $TIMER == gnu ]]; then
      if ! /usr/bin/time -f '%e %M' -o "$TMP/time" "${cmd[@]}" >"$TMP/out" 2>&1; then
        cat "$TMP/out" >&2
        die "$cxx: $(basename "$file") ($(sed 's/^#include //' "$file" | tr '\n' ' ')) does not compile (errors above)"
      fi
      read -r t kb < <(tail -n 1 "$TMP/time")
    else
      if ! python3 - "${cmd[@]}" >"$TMP/time" 2>"$TMP/out" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
rc = subprocess.run(sys.argv[1:], stdout=sys.stderr).returncode
print(f"{time.monotonic() - t:.2f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
sys.exit(rc)
PY
      then
        cat "$TMP/out" >&2
        die "$cxx: $(basename "$file") ($(sed 's/^#include //' "$file" | tr '\n' ' ')) does not compile (errors above)"
      fi
      read -r t kb <"$TMP/time"
    fi
    if [[ -z $m_time ]] || awk -v a="$t" -v b="$m_time" 'BEGIN { exit !(a < b) }'; then m_time=$t; fi
    if ((kb > m_kb)); then m_kb=$kb; fi
  done
  return 0
}

# ---- the TUs ----
tus=(A)
declare -A tu_enforced
make_tu A "${headers[*]}"
echo "compile-cost: CXX -std=c++20 -fsyntax-only -I include, best time and peak memory of $runs run(s) each"
echo "TU A   = ${headers[*]}  ($tu_closure vfiopp headers in all)"
echo "TU A.b = the $tu_nsys std/Boost/system headers those include: $(sed 's/^#include //' "$TMP/A-base.cpp" | tr '\n' ' ')"
tu_enforced[A]=1
n=0
for extra in "${extra_tus[@]}"; do
  n=$((n + 1))
  name=T$n
  make_tu "$name" "$extra"
  tus+=("$name")
  tu_enforced[$name]=0
  echo "TU $name   = $extra  ($tu_closure vfiopp headers in all; informational)"
  echo "TU $name.b = the $tu_nsys std/Boost/system headers those include: $(sed 's/^#include //' "$TMP/$name-base.cpp" | tr '\n' ' ')"
done

status=0
failures=()
for cxx in "${compilers[@]}"; do
  echo
  echo "== $cxx: $("$cxx" --version | head -n 1) =="
  printf '  %-8s %8s %9s\n' "TU" "time s" "peak MB"
  for name in "${tus[@]}"; do
    measure "$cxx" "$TMP/$name.cpp"; a_t=$m_time a_kb=$m_kb
    measure "$cxx" "$TMP/$name-base.cpp"; b_t=$m_time b_kb=$m_kb
    read -r a_mb b_mb rt rm < <(awk -v at="$a_t" -v bt="$b_t" -v ak="$a_kb" -v bk="$b_kb" 'BEGIN {
      printf "%.1f %.1f %.2f %.2f\n", ak / 1024, bk / 1024, (bt > 0 ? at / bt : 0), (bk > 0 ? ak / bk : 0) }')
    printf '  %-8s %8.2f %9s\n' "$name" "$a_t" "$a_mb"
    printf '  %-8s %8.2f %9s\n' "$name.b" "$b_t" "$b_mb"
    if [[ ${tu_enforced[$name]} == 1 ]]; then
      if awk -v r="$rm" -v m="$max_ratio" 'BEGIN { exit !(r > m) }'; then
        verdict="memory ratio above the limit ${max_ratio}x: FAIL"
        status=1
        failures+=("$cxx: peak memory of TU A is ${rm}x that of its std+Boost baseline (limit ${max_ratio}x)")
      else
        verdict="memory ratio within the limit ${max_ratio}x: ok"
      fi
    else
      verdict="informational"
    fi
    printf '  %-8s %7sx %8sx   %s\n' "$name/$name.b" "$rt" "$rm" "$verdict"
  done
done

echo
if ((status)); then
  printf 'compile-cost: FAIL: %s\n' "${failures[@]}"
else
  echo "compile-cost: ok: peak memory of TU A within ${max_ratio}x its std+Boost baseline for ${compilers[*]}"
fi
exit $status
