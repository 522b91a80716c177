#!/usr/bin/env bash
# Runs each cmocka test binary in its own process with a time limit and prints one summary
# line at the end. Exits non-zero if any binary failed.
set -u
pass=0; fail=0; failed=()
for t in "$@"; do
  if timeout 120 "$t"; then pass=$((pass+1)); else fail=$((fail+1)); failed+=("$t"); fi
done
echo "unit test binaries: ${pass} passed, ${fail} failed"
[ "$fail" -eq 0 ] || { printf 'failed: %s\n' "${failed[@]}"; exit 1; }
