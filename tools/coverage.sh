#!/usr/bin/env bash
# coverage.sh - line coverage of include/vfiopp from the unit tests, and the refusal sites no test reaches.
#
#  1. configures a separate GCC build (build/coverage: -DVFIOPP_COVERAGE=ON, -O0, --coverage, no debug info) and
#     builds only vfiopp_unit and vfiopp_wire_golden;
#  2. runs them (fresh counters): with the test command this is the GCC pass's one run of the unit tests (its ctest
#     leaves them out); then one gcov pass prints the per-file line coverage of include/vfiopp and, from the same
#     data,
#  3. lists every refusal site of include/vfiopp/wire and include/vfiopp/io - a line with `refuse(`, an error
#     propagation `return X.error();` or `return error{...}` - that no test executed, as
#       UNREACHED refusal: FILE:LINE: TEXT  (why)
#     A site on one line with its condition (`if (c) return refuse(...)`) counts as reached only when the
#     refusal itself ran in some instantiation (gcov: no unexecuted block on that line), not merely the `if`.
#     Sites unreachable by construction are listed in UNREACHABLE below, with the reason, and reported as such.
# Exit status: non-zero if a test fails or a refusal site is unreached. Needs g++/gcov 12, python3, cmake, ninja.
# Environment: JOBS (default nproc), COVERAGE_BUILD (default build/coverage; a GCC build configured with
# -DVFIOPP_COVERAGE=ON is reused without reconfiguring).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-$(nproc)}
B=${COVERAGE_BUILD:-build/coverage}
start=$(date +%s)

# A GCC build already configured with -DVFIOPP_COVERAGE=ON (the test command's GCC pass) is reused as it is: the two
# executables are instrumented there already, and building them again would cost a full compile of the unit tests.
if grep -qs '^VFIOPP_COVERAGE:BOOL=ON$' "$B/CMakeCache.txt" && grep -qs '^CMAKE_CXX_COMPILER:.*g++' "$B/CMakeCache.txt"; then
  echo "coverage: reusing $B (configured with VFIOPP_COVERAGE=ON); building vfiopp_unit, vfiopp_wire_golden if stale"
else
  echo "coverage: configuring $B (GCC, --coverage -O0) and building vfiopp_unit, vfiopp_wire_golden"
  cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE= -DCMAKE_CXX_COMPILER=g++ -DCMAKE_C_COMPILER=gcc \
    -DVFIOPP_COVERAGE=ON >/dev/null
fi
cmake --build "$B" -j"$JOBS" --target vfiopp_unit vfiopp_uring_unit vfiopp_wire_golden

# Counters of this run only (building runs the executables once to list their tests: that wrote counters too).
find "$B" -name '*.gcda' -delete
echo "coverage: running the unit tests"
run_tests() {  # dir, executable: the summary line, or everything when a test fails
  if (cd "$B/$1" && "./$2" >"$2.log" 2>&1); then tail -n 2 "$B/$1/$2.log"
  else cat "$B/$1/$2.log"; echo "coverage: $2 failed" >&2; exit 1; fi
}
run_tests tests/unit vfiopp_unit
run_tests tests/unit vfiopp_uring_unit
run_tests tests/unit/golden vfiopp_wire_golden

echo "coverage: line coverage of include/vfiopp, and its refusal sites (gcov)"

python3 - "$ROOT" "$ROOT/$B/tests/unit" <<'PY'
import glob, json, os, re, subprocess, sys
from concurrent.futures import ThreadPoolExecutor

root, objdir = sys.argv[1], sys.argv[2]
inc = os.path.join(root, 'include', 'vfiopp') + os.sep

# Sites that no input can reach, by construction: (file, line before, the line) -> why. Matched on text, not line
# numbers; an entry that no longer matches an unreached line is reported.
UNREACHABLE = {
    ('include/vfiopp/wire/iommufd.hpp', 'else',
     'return detail::refused(uapi::iommufd::hwpt_alloc.name, "data_type", EOPNOTSUPP, "unknown vendor data type");'):
        'instantiated only for a type without wire::hwpt_data_traits, which the static_assert above rejects at compile '
        'time (tests/compile_fail vendor_traits)',
    ('include/vfiopp/wire/caps.hpp', '}',
     'return refused(ioctl, c.field, EINVAL, "");  // not reached: callers pass a failed check'):
        'after a switch that returns for every cap_fault but none; cap_refusal is called only with a failed check',
    ('include/vfiopp/io/uring.hpp', 'if (!msg_ring)',
     'return detail::refuse(name, "workers", EOPNOTSUPP,'):
        'needs a kernel without IORING_OP_MSG_RING (before 5.18); the host and both VM kernels (6.1, 7.3) have it',
}

def gcov_json(gcda):
    p = subprocess.run(['gcov', '--json-format', '--stdout', gcda], capture_output=True, text=True,
                       cwd=os.path.dirname(gcda))
    return gcda, p.stdout

# (file, line) -> [(count, unexecuted_block)] per function instantiation, over every object of the run;
# (file, function's mangled name) -> executed at least once (over every object: inline functions are in many).
records = {}
functions = {}
gcdas = sorted(glob.glob(os.path.join(objdir, '**', '*.gcda'), recursive=True))
if not gcdas:
    sys.exit('coverage: no .gcda files under ' + objdir)
with ThreadPoolExecutor(max_workers=int(os.environ.get('JOBS', '2'))) as ex:
    for gcda, out in ex.map(gcov_json, gcdas):
        for doc in out.splitlines():
            if not doc.startswith('{'):
                continue
            for f in json.loads(doc)['files']:
                path = os.path.normpath(os.path.join(os.path.dirname(gcda), f['file']))
                if path.startswith(inc):
                    for l in f['lines']:
                        records.setdefault((path, l['line_number']), []).append((l['count'], l['unexecuted_block']))
                    for fn in f.get('functions', []):
                        key = (path, fn['name'])
                        functions[key] = functions.get(key, False) or fn['execution_count'] > 0

# Line coverage per file: a line counts as executed when any instantiation in any object ran it.
def ranges(nums):
    out, start, prev = [], None, None
    for n in nums:
        if start is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            out.append(f'{start}' if start == prev else f'{start}-{prev}')
        start = prev = n
    if start is not None:
        out.append(f'{start}' if start == prev else f'{start}-{prev}')
    return ','.join(out)
per_file = {}
for (path, no), recs in records.items():
    per_file.setdefault(path, {})[no] = any(c > 0 for c, _ in recs)
print(f'{"File":<44} {"Lines":>6} {"Exec":>6} {"Cover":>6}   Missing')
all_lines = all_exec = 0
for path in sorted(per_file):
    lines = per_file[path]
    n, e = len(lines), sum(lines.values())
    all_lines, all_exec = all_lines + n, all_exec + e
    missing = ranges(sorted(no for no, ran in lines.items() if not ran))
    print(f'{os.path.relpath(path, root):<44} {n:>6} {e:>6} {100 * e // n:>5}%   {missing}')
fn_total, fn_exec = len(functions), sum(functions.values())
print(f'lines: {100 * all_exec / max(all_lines, 1):.1f}% ({all_exec} out of {all_lines})')
print(f'functions: {100 * fn_exec / max(fn_total, 1):.1f}% ({fn_exec} out of {fn_total})')
print('coverage: refusal sites of include/vfiopp/wire and include/vfiopp/io')

site = re.compile(r'\b(?:refused?|pass_error)\s*\(|\breturn\s+[^;]*\.error\(\)\s*;|\breturn\s+error\s*\{')
total, unreached, allowed, used = 0, [], [], set()
for sub in ('wire', 'io'):
    for path in sorted(glob.glob(os.path.join(inc, sub, '**', '*.hpp'), recursive=True)):
        rel = os.path.relpath(path, root)
        with open(path) as fh:
            lines = fh.read().splitlines()
            for no, text in enumerate(lines, 1):
                code = '' if text.lstrip().startswith('//') else text.split('//')[0]
                m = site.search(code)
                if not m:
                    continue
                total += 1
                one_line = bool(re.search(r'\bif\s*\(', code[:m.start()]))
                recs = records.get((path, no), [])
                if any(c > 0 and (not one_line or not unexec) for c, unexec in recs):
                    continue
                key = (rel, lines[no - 2].strip() if no > 1 else '', text.strip())
                if key in UNREACHABLE:
                    used.add(key)
                    allowed.append(f'unreachable by construction: {rel}:{no}: {text.strip()}  ({UNREACHABLE[key]})')
                    continue
                why = ('no code: never instantiated by a test' if not recs else
                       'never executed' if all(c == 0 for c, _ in recs) else
                       'the line ran, its error return never did')
                unreached.append(f'UNREACHED refusal: {rel}:{no}: {text.strip()}  ({why})')
for line in allowed:
    print('  ' + line)
for key in sorted(set(UNREACHABLE) - used):
    print(f'  note: UNREACHABLE entry no longer matches an unreached line: {key[0]}: {key[2]}')
for line in unreached:
    print(line)
print(f'coverage: {total} refusal sites, {total - len(unreached) - len(allowed)} reached, '
      f'{len(allowed)} unreachable by construction, {len(unreached)} unreached')
sys.exit(1 if unreached else 0)
PY
echo "coverage: done in $(( $(date +%s) - start )) s"
