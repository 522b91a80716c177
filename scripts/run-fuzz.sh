#!/usr/bin/env bash
# Runs each libFuzzer driver for a fixed time on a scratch copy of its checked-in corpus
# (tests/fuzz/corpus_<name>/), so new inputs found on the way do not dirty the tree.
# Usage: run-fuzz.sh BUILD_DIR SECONDS DRIVER...
set -u
build=$1; secs=$2; shift 2
pass=0; fail=0
for d in "$@"; do
  name=${d#fuzz_}
  work=$(mktemp -d)
  [ -d "tests/fuzz/corpus_$name" ] && cp -r "tests/fuzz/corpus_$name/." "$work/"
  dict=(); [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
  if "$build/fuzzers/$d" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=0 \
       -artifact_prefix="$work/" "${dict[@]}" "$work" >"$work.log" 2>&1; then
    pass=$((pass+1)); echo "fuzz $d: ok ($(grep -c . "$work.log") log lines, ${secs}s)"
  else
    fail=$((fail+1)); echo "fuzz $d: FAILED"; tail -40 "$work.log"; ls "$work"/crash-* "$work"/leak-* 2>/dev/null
  fi
  rm -rf "$work" "$work.log"
done
echo "fuzz drivers: ${pass} passed, ${fail} failed"
[ "$fail" -eq 0 ]
