# shellcheck shell=bash
# bench/lib.sh - sourced by bench/run.sh and bench/analytics.sh: runs a copy of the server for
# one benchmark on a free loopback port with a fresh data folder, and stops it on exit.
#
# The caller sets BIN (the server binary), OUT (the output folder), BENCH_NAME (used in file
# names and messages) and defines die(). bench_start_server then sets BIN to the copy, TMP (a
# scratch folder, removed on exit), PORT, BASE and SERVER_PID. A caller that records a perf
# profile puts its pid in PERF_PID, so that an early exit stops the recording too.

SERVER_PID=
PERF_PID=
TMP=

bench_cleanup() {
  if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID" 2>/dev/null || true; wait "$PERF_PID" 2>/dev/null || true; fi
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SERVER_PID" 2>/dev/null && { echo "$BENCH_NAME: server ignored SIGTERM for 10 s, killing it"; kill -KILL "$SERVER_PID"; }
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  [ -z "$TMP" ] || rm -rf "$TMP"
}

# A free port from the kernel; another process may take it before the server binds, which is
# why bench_start_server tries again on a new port when the server exits at start.
bench_free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

bench_start_server() {
  # The server runs from a copy, so that a rebuild during the run changes nothing and a perf
  # profile can still be read afterwards.
  cp "$BIN" "$OUT/voxtrace-$BENCH_NAME"
  BIN=$OUT/voxtrace-$BENCH_NAME
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/voxtrace-$BENCH_NAME.XXXXXX")
  trap bench_cleanup EXIT
  trap 'echo "$BENCH_NAME: interrupted" >&2; exit 130' INT TERM HUP
  local attempt code
  for attempt in 1 2 3; do
    PORT=$(bench_free_port)
    BASE="http://127.0.0.1:$PORT"
    rm -rf "$TMP/data"
    "$BIN" serve --listen "127.0.0.1:$PORT" --data "$TMP/data" >"$TMP/server.log" 2>&1 &
    SERVER_PID=$!
    code=000
    for _ in $(seq 100); do
      code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz" || true)
      [ "$code" = 200 ] && break
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    [ "$code" = 200 ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null &&
      die "the server did not answer on $BASE within 10 s (attempt $attempt): $(tail -5 "$TMP/server.log")"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  done
  die "the server exited at start: $(tail -5 "$TMP/server.log")"
}
