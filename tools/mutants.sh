#!/usr/bin/env bash
# mutants.sh - proves the tests catch deliberate bugs: applies each mutant of tools/mutants.list, one at a time, to
# a copy of the tree, rebuilds only the tests named for it and runs them; a mutant is killed when a test fails.
#
#   bash tools/mutants.sh                 # every mutant of tools/mutants.list
#   bash tools/mutants.sh caps xcheck     # only mutants whose name contains one of these words
#
# The copy holds the files git knows (tracked, and untracked but not ignored) as they are in the working tree. It
# is configured once (GCC, -O0, no debug info); each unit test file named by a mutant is built alone as
# mut_<stem> with ASan and UBSan (-fno-sanitize-recover: a misaligned load or an overflow is a failure), registered
# as the CTest test "mut: <stem>"; `golden` is vfiopp_wire_golden, `xcheck` the kernel_xcheck_* tests. First the
# unmutated baseline must pass; then per mutant: patch (the find text must occur exactly once), rebuild the
# mutant's targets, `ctest -R` its tests, restore. Prints killed/survived per mutant and "mutants: K killed / N
# total". Exit status: non-zero if a mutant survives, no longer applies or no longer builds, or the baseline fails.
# Environment: JOBS (default nproc), MUTANTS_LIST (default tools/mutants.list), MUTANTS_KEEP=1 keeps the copy.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export JOBS=${JOBS:-$(nproc)}
LIST=${MUTANTS_LIST:-$ROOT/tools/mutants.list}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vfiopp-mutants.XXXXXX")
if [ "${MUTANTS_KEEP:-0}" != 1 ]; then trap 'rm -rf "$WORK"' EXIT; else echo "mutants: keeping $WORK"; fi
start=$(date +%s)

# ---- the copy: what git knows, as it is in the working tree ----
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -xf - -C "$WORK"
cat >>"$WORK/tests/unit/CMakeLists.txt" <<'EOF'

# ---- added by tools/mutants.sh in its copy of the tree: each unit test file alone, with ASan and UBSan ----
foreach(src ${VFIOPP_UNIT_SOURCES})
  get_filename_component(stem ${src} NAME_WE)
  add_executable(mut_${stem} EXCLUDE_FROM_ALL ${src})
  target_link_libraries(mut_${stem} PRIVATE vfiopp::fmt vfiopp_warnings Catch2::Catch2WithMain)
  target_compile_definitions(mut_${stem} PRIVATE VFIOPP_KERNEL_HEADERS_73="${VFIOPP_KERNEL_HEADERS_73}")
  target_compile_options(mut_${stem} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=all)
  target_link_options(mut_${stem} PRIVATE -fsanitize=address,undefined)
  add_test(NAME "mut: ${stem}" COMMAND mut_${stem})
endforeach()
add_test(NAME "mut: golden" COMMAND vfiopp_wire_golden)
EOF
echo "mutants: copy of the tree in $WORK; configuring"
cmake -S "$WORK" -B "$WORK/build" -G Ninja -DCMAKE_BUILD_TYPE= -DCMAKE_CXX_COMPILER=g++ -DCMAKE_C_COMPILER=gcc \
  -DCMAKE_CXX_FLAGS=-O0 >"$WORK/configure.log" 2>&1 || { cat "$WORK/configure.log"; exit 1; }

export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
python3 - "$WORK" "$LIST" "$start" "$@" <<'PY'
import os, re, subprocess, sys, time

work, list_path, start, only = sys.argv[1], sys.argv[2], int(sys.argv[3]), [w.lower() for w in sys.argv[4:]]
build = os.path.join(work, 'build')
jobs = os.environ.get('JOBS', '2')

def parse(path):
    mutants, cur = [], {}
    for raw in open(path).read().split('\n') + ['']:
        line = raw.rstrip('\n')
        if line.startswith('#'):
            continue
        if not line.strip():
            if cur:
                missing = {'mutant', 'file', 'find', 'replace', 'tests'} - set(cur)
                if missing:
                    sys.exit(f'mutants: {path}: mutant {cur.get("mutant", "?")!r} lacks {sorted(missing)}')
                mutants.append(cur)
                cur = {}
            continue
        key, _, value = line.partition(':')
        cur[key.strip()] = value.strip()
    return mutants

def unescape(s):
    return s.replace('\\n', '\n')

xcheck_targets = sorted(t for t in re.findall(r'^(kernel_xcheck_\d+):', subprocess.run(
    ['ninja', '-C', build, '-t', 'targets', 'all'], capture_output=True, text=True).stdout, re.M))

def targets_and_regex(tests):
    targets, names = [], []
    for t in tests.split():
        if t == 'golden':
            targets.append('vfiopp_wire_golden'); names.append('mut: golden')
        elif t == 'xcheck':
            targets += xcheck_targets; names.append('xcheck: .*')
        else:
            targets.append('mut_' + t); names.append('mut: ' + t)
    return targets, '^(' + '|'.join(n if n.endswith('.*') else re.escape(n) for n in names) + ')$'

def run(cmd, log):
    with open(log, 'w') as fh:
        return subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT).returncode

def tail(log, n=25):
    lines = open(log, errors='replace').read().splitlines()
    return '\n'.join('      ' + l for l in lines[-n:])

mutants = parse(list_path)
if only:
    mutants = [m for m in mutants if any(w in m['mutant'].lower() for w in only)]
if not mutants:
    sys.exit('mutants: nothing to do')

# ---- every mutant must still apply (exactly one match), before anything is built ----
bad = []
for m in mutants:
    text = open(os.path.join(work, m['file'])).read()
    n = text.count(unescape(m['find']))
    if n != 1:
        bad.append(f"  {m['mutant']}: {m['file']}: the find text occurs {n} times (must be exactly once)")
if bad:
    print('mutants: ERROR: mutants that no longer apply:\n' + '\n'.join(bad))
    sys.exit(2)

# ---- baseline: the unmutated tests must pass ----
all_targets, all_tests = [], []
for m in mutants:
    t, _ = targets_and_regex(m['tests'])
    all_targets += [x for x in t if x not in all_targets]
    all_tests += [x for x in m['tests'].split() if x not in all_tests]
_, all_regex = targets_and_regex(' '.join(all_tests))
print(f'mutants: baseline: building {" ".join(all_targets)}', flush=True)
log = os.path.join(work, 'baseline.log')
if run(['cmake', '--build', build, '-j', jobs, '--target', *all_targets], log) != 0:
    print('mutants: ERROR: the unmutated tree does not build:\n' + tail(log)); sys.exit(2)
if run(['ctest', '--test-dir', build, '-R', all_regex, '--output-on-failure', '-j', jobs], log) != 0:
    print('mutants: ERROR: the unmutated tests fail:\n' + tail(log, 60)); sys.exit(2)
print(f'mutants: baseline passes ({int(time.time()) - start} s so far)', flush=True)

killed, survived, broken = 0, [], []
for i, m in enumerate(mutants, 1):
    t0 = time.time()
    path = os.path.join(work, m['file'])
    original = open(path).read()
    targets, regex = targets_and_regex(m['tests'])
    log = os.path.join(work, f'mutant-{i}.log')
    try:
        with open(path, 'w') as fh:
            fh.write(original.replace(unescape(m['find']), unescape(m['replace']), 1))
        if run(['cmake', '--build', build, '-j', jobs, '--target', *targets], log) != 0:
            broken.append(m['mutant'])
            print(f"[{i}/{len(mutants)}] BROKEN (does not build)  {m['mutant']}\n{tail(log, 12)}", flush=True)
            continue
        rc = run(['ctest', '--test-dir', build, '-R', regex, '-j', jobs, '--output-on-failure'], log)
    finally:
        with open(path, 'w') as fh:
            fh.write(original)
    secs = int(time.time() - t0)
    if rc != 0:
        killed += 1
        out = open(log, errors='replace').read().splitlines()
        failed = [l.split(' - ')[-1].strip() for l in out if re.match(r'\s*\d+ - ', l)]
        # the first sign of why: a sanitizer report, a failed assertion (and its expansion), the cross-check's count
        why = next((l.strip() for l in out if re.search(r'runtime error|Sanitizer|COVERAGE MISMATCH|differ', l)), '')
        if not why:
            for k, l in enumerate(out):
                if 'FAILED:' in l:
                    why = ' '.join(x.strip() for x in out[k + 1:k + 5] if x.strip() and not x.startswith('with expansion'))
                    break
        why = re.sub(r'\s*with (message|expansion):.*$', '', why)
        print(f"[{i}/{len(mutants)}] killed    {m['mutant']}  ({secs} s; by {', '.join(failed) or m['tests']})"
              + (f"\n      {why[:200]}" if why else ''), flush=True)
    else:
        survived.append(m['mutant'])
        print(f"[{i}/{len(mutants)}] SURVIVED  {m['mutant']}  ({secs} s; {m['tests']} all pass)", flush=True)

print(f'mutants: {killed} killed / {len(mutants)} total'
      + (f'; survived: {"; ".join(survived)}' if survived else '')
      + (f'; do not build: {"; ".join(broken)}' if broken else '')
      + f'  ({int(time.time()) - start} s)')
sys.exit(0 if killed == len(mutants) else 1)
PY
