#!/bin/busybox sh
# vm-bench.sh - the guest side of the VM benchmarks: one boot runs each benchmark program given (host paths that
# tests/vm/run copied in with --add) with the same Google Benchmark arguments; fails when one of them fails.
# Usage (as tests/vm/run's PROGRAM): vm-bench.sh "PROG1 PROG2 ..." [benchmark arguments...]
progs=$1
shift
rc=0
for p in $progs; do
  echo "==== $(basename "$p") ===="
  "$p" "$@" || { echo "vm-bench: $(basename "$p") failed (exit $?)"; rc=1; }
done
exit $rc
