#!/usr/bin/env bash
# shellcheck disable=SC2046  # pkg-config output is meant to split into words where it is used
# bench/run.sh - the ingest benchmark of DESIGN.md 8, run by `make bench` (see bench/README.md).
#
# Builds the load generator and the raw SQLite ceiling into build/bench/, starts build/voxtrace
# on a free loopback port with a fresh data folder, and measures, in this order and in one run:
#   1. raw:    the same span rows inserted into SQLite by a minimal C program (the ceiling);
#   2. batch:  OTLP protobuf, 512 spans x 10 attributes per request, 4 keep-alive connections;
#   3. single: 1 span per request, 64 keep-alive connections, requests/s and latency.
# Then prints each figure with its target, its ratio to the raw ceiling and pass/fail, stops
# the server and removes the data. A copy of the output goes to build/bench/last-run.txt.
#
# Knobs (environment): BENCH_RAW_SPANS (1000000), BENCH_BATCH_SECONDS (15), BENCH_BATCH_CONNS (4),
# BENCH_SINGLE_SECONDS (10), BENCH_SINGLE_CONNS (64), BENCH_WARMUP (2), BENCH_STRICT (0; 1 makes
# a missed target fail the script), BENCH_PROFILE (0; 1 records `perf record -g` of the server
# during the batch phase into build/bench/perf-batch.data).
set -euo pipefail
cd "$(dirname "$0")/.."

RAW_SPANS=${BENCH_RAW_SPANS:-1000000}
BATCH_SECONDS=${BENCH_BATCH_SECONDS:-15}
BATCH_CONNS=${BENCH_BATCH_CONNS:-4}
SINGLE_SECONDS=${BENCH_SINGLE_SECONDS:-10}
SINGLE_CONNS=${BENCH_SINGLE_CONNS:-64}
WARMUP=${BENCH_WARMUP:-2}
STRICT=${BENCH_STRICT:-0}
PROFILE=${BENCH_PROFILE:-0}

# DESIGN.md 8.
T_INGEST=150000     # spans/s
T_RATIO=0.6         # of the raw ceiling
T_SINGLE=40000      # requests/s
T_P99_MS=5          # ms

BIN=build/voxtrace
OUT=build/bench
GEN=build/gen/opentelemetry/proto
CFLAGS=(-std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
        -Wmissing-prototypes)

die() { echo "bench: $*" >&2; exit 1; }

[ -x "$BIN" ] || die "$BIN is missing: run 'make bench' (or 'make' first)"
[ -f "$GEN/collector/trace/v1/trace_service.pb-c.c" ] ||
  die "generated protobuf code is missing under $GEN: run 'make' first"
command -v curl >/dev/null || die "curl is needed"
command -v jq >/dev/null || die "jq is needed"

mkdir -p "$OUT"
exec > >(tee "$OUT/last-run.txt") 2>&1

# ---- machine -------------------------------------------------------------------------------
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem_gib=$(awk '/^MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
echo "voxtrace ingest benchmark, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine: $(nproc) cores, ${cpu_model:-unknown CPU}, ${mem_gib} GiB RAM, kernel $(uname -r)"
echo "         $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), SQLite $(pkg-config --modversion sqlite3)," \
     "libmicrohttpd $(pkg-config --modversion libmicrohttpd), data in ${TMPDIR:-/tmp} on $(df -PT "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}')"
read -r load1 _ < /proc/loadavg
echo "         load average before the run: $load1" \
     "$(awk -v l="$load1" 'BEGIN {if (l > 1.0) print "(the machine was busy; see \"other processes\" per phase)"}')"
echo "voxtrace: $($BIN version 2>/dev/null || echo '?')" \
     "$(git rev-parse --short HEAD 2>/dev/null || echo '(no commit)')"
echo

# ---- build ---------------------------------------------------------------------------------
# Nothing here goes into the voxtrace binary, so it is built outside the Makefile's graph: the
# generated OTLP code is compiled again with these flags rather than reusing make's objects.
cc "${CFLAGS[@]}" -o "$OUT/raw_sqlite" bench/raw_sqlite.c $(pkg-config --cflags --libs sqlite3)
pb_objs=()
for f in common/v1/common resource/v1/resource trace/v1/trace collector/trace/v1/trace_service; do
  o="$OUT/$(basename "$f").pb-c.o"
  cc -std=c11 -O2 -w -Ibuild/gen $(pkg-config --cflags libprotobuf-c) -c -o "$o" "$GEN/$f.pb-c.c"
  pb_objs+=("$o")
done
cc "${CFLAGS[@]}" -Ibuild/gen $(pkg-config --cflags libprotobuf-c) -o "$OUT/loadgen" \
   bench/loadgen.c "${pb_objs[@]}" $(pkg-config --libs libprotobuf-c)

# ---- server --------------------------------------------------------------------------------
BENCH_NAME=ingest
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_start_server
KEY=$("$BIN" keys create --org default --name bench --data "$TMP/data") || die "cannot create a key"
api() { # METHOD PATH [JSON]
  curl -sS --fail-with-body -X "$1" -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \
       ${3:+--data "$3"} "$BASE$2"
}
RUN_ID=$(api POST /v1/runs '{"display_name":"bench"}' | jq -er .run.run_id) || die "cannot create a run"
new_sim() { api POST /v1/simulations "{\"run_id\":\"$RUN_ID\"}" | jq -er .simulation.simulation_id; }
SIM_BATCH=$(new_sim) || die "cannot create a simulation"
SIM_SINGLE=$(new_sim) || die "cannot create a simulation"

# CPU accounting of a phase, from /proc: the server's CPU seconds, the kernel threads' (disk
# writeback for our own writes happens there), the whole machine's busy CPU seconds, and the
# wall clock. What the machine spent beyond those and the load generator went to other
# processes, which would make the figures low: it is reported.
server_cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$SERVER_PID/stat"; }
busy_cpu() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / {print ($2 + $3 + $4 + $7 + $8 + $9) / hz}' /proc/stat; }
kthread_cpu() { # children of kthreadd (pid 2); the fields after "(comm) " start at state
  # Processes come and go while cat reads: a vanished one is not an error.
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v hz="$(getconf CLK_TCK)" '
    { sub(/^.*\) /, ""); if ($2 == 2) t += $12 + $13 } END { print t / hz }'
}
phase_begin() { P_SRV=$(server_cpu); P_K=$(kthread_cpu); P_BUSY=$(busy_cpu); P_T=$(date +%s.%N); }
phase_end() { # OWN_CPU_SECONDS (of the load generator or raw_sqlite)
  awk -v s0="$P_SRV" -v s1="$(server_cpu)" -v k0="$P_K" -v k1="$(kthread_cpu)" -v b0="$P_BUSY" \
      -v b1="$(busy_cpu)" -v t0="$P_T" -v t1="$(date +%s.%N)" -v lg="$1" 'BEGIN {
    # A kernel thread that exits takes its CPU time out of the sum: never count below zero.
    t = t1 - t0; srv = (s1 - s0) / t; k = (k1 > k0 ? k1 - k0 : 0) / t
    other = (b1 - b0 - (s1 - s0) - k * t - lg) / t; if (other < 0) other = 0
    printf "  CPU over the phase (%.1f s): server %.2f cores, load generator %.2f, kernel threads %.2f, other processes %.2f%s\n",
      t, srv, lg / t, k, other, (other > 0.2 ? "  <- the machine was not quiet: figures are low" : "")
  }'
}
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2" | tail -1; }

# ---- 1. raw ceiling ------------------------------------------------------------------------
echo "== 1. raw SQLite ceiling: $RAW_SPANS spans, 512 rows per transaction, same schema"
mkdir -p "$TMP/raw"
phase_begin
raw_out=$("$OUT/raw_sqlite" --db "$TMP/raw/raw.db" --spans "$RAW_SPANS" --txn 512) || die "raw_sqlite failed"
echo "$raw_out" | grep -v '^RESULT'
RAW=$(field spans_per_s "$raw_out")
phase_end "$(field cpu_s "$raw_out")" | sed 's/load generator/raw_sqlite/'
rm -rf "$TMP/raw"
echo

# ---- 2. batch ingest -----------------------------------------------------------------------
echo "== 2. batch ingest: 512 spans x 10 attributes per request, $BATCH_CONNS connections, ${BATCH_SECONDS} s"
if [ "$PROFILE" = 1 ] && command -v perf >/dev/null; then
  perf record -g -o "$OUT/perf-batch.data" -p "$SERVER_PID" >/dev/null 2>&1 &
  PERF_PID=$!
fi
phase_begin
batch_out=$("$OUT/loadgen" --mode batch --port "$PORT" --key "$KEY" --sim "$SIM_BATCH" \
            --conns "$BATCH_CONNS" --spans 512 --duration "$BATCH_SECONDS" --warmup "$WARMUP") ||
  { echo "$batch_out"; tail -20 "$TMP/server.log"; die "the batch load failed"; }
if [ -n "$PERF_PID" ]; then
  kill -INT "$PERF_PID" 2>/dev/null || true; wait "$PERF_PID" 2>/dev/null || true; PERF_PID=
  echo "perf profile of the server: $OUT/perf-batch.data (perf report -i $OUT/perf-batch.data)"
fi
echo "$batch_out" | grep -v '^RESULT'
BATCH=$(field spans_per_s "$batch_out")
BATCH_NON200=$(field non200 "$batch_out")
BATCH_ERR=$(field errors "$batch_out")
BATCH_P99=$(field p99_ms "$batch_out")
phase_end "$(field cpu_s "$batch_out")"
# Every acknowledged span must be stored, once.
acked=$(field total_acked_spans "$batch_out")
stored=$(api GET "/v1/simulations/$SIM_BATCH" | jq -r .simulation.span_count)
if [ "$stored" = "$acked" ]; then STORED_OK=yes; else STORED_OK=no; fi
echo "  stored span count check: server says $stored, load generator got $acked acknowledged: $STORED_OK"
echo

# ---- 3. single-span requests ---------------------------------------------------------------
echo "== 3. single-span requests: $SINGLE_CONNS connections, ${SINGLE_SECONDS} s"
phase_begin
single_out=$("$OUT/loadgen" --mode single --port "$PORT" --key "$KEY" --sim "$SIM_SINGLE" \
             --conns "$SINGLE_CONNS" --duration "$SINGLE_SECONDS" --warmup "$WARMUP") ||
  { echo "$single_out"; tail -20 "$TMP/server.log"; die "the single-span load failed"; }
echo "$single_out" | grep -v '^RESULT'
SINGLE=$(field req_per_s "$single_out")
P50=$(field p50_ms "$single_out")
P99=$(field p99_ms "$single_out")
SINGLE_NON200=$(field non200 "$single_out")
SINGLE_ERR=$(field errors "$single_out")
phase_end "$(field cpu_s "$single_out")"
RSS_MIB=$(awk '/^VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER_PID/status")
echo "  server peak RSS over the whole run: ${RSS_MIB} MiB"
echo

# ---- table ---------------------------------------------------------------------------------
awk -v raw="$RAW" -v batch="$BATCH" -v single="$SINGLE" -v p50="$P50" -v p99="$P99" \
    -v bp99="$BATCH_P99" -v ti="$T_INGEST" -v tr="$T_RATIO" -v ts="$T_SINGLE" -v tp="$T_P99_MS" \
    -v bn="$BATCH_NON200" -v be="$BATCH_ERR" -v sn="$SINGLE_NON200" -v se="$SINGLE_ERR" \
    -v stored="$STORED_OK" '
function commas(x,   s, out) {
  s = sprintf("%.0f", x); out = ""
  while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
  return s out
}
function verdict(ok, miss) { if (ok) return "PASS"; fails++; return "FAIL (" miss ")" }
BEGIN {
  ratio = raw > 0 ? batch / raw : 0
  printf "%-36s %18s  %-26s %8s  %s\n", "figure", "value", "target (DESIGN.md 8)", "vs raw", "result"
  printf "%-36s %18s  %-26s %8s  %s\n", "raw SQLite insert, same rows", commas(raw) " spans/s", "(ceiling)", "1.00", "-"
  printf "%-36s %18s  %-26s %8.2f  %s\n", "ingest, 512 spans/req, protobuf", commas(batch) " spans/s", ">= " commas(ti) " spans/s", ratio, \
    verdict(batch >= ti, sprintf("%.0f%% short", (1 - batch / ti) * 100))
  printf "%-36s %18s  %-26s %8.2f  %s\n", "ingest as a share of raw", sprintf("%.2f", ratio), ">= " tr " of raw", ratio, \
    verdict(ratio >= tr, sprintf("%.2f short", tr - ratio))
  printf "%-36s %18s  %-26s %8s  %s\n", "single-span requests, 64 conns", commas(single) " req/s", ">= " commas(ts) " req/s", "-", \
    verdict(single >= ts, sprintf("%.0f%% short", (1 - single / ts) * 100))
  printf "%-36s %18s  %-26s %8s  %s\n", "single-span latency p99", sprintf("%.2f ms", p99), "< " tp " ms", "-", \
    verdict(p99 < tp, sprintf("%.1fx the target", p99 / tp))
  printf "%-36s %18s  %-26s %8s  %s\n", "single-span latency p50", sprintf("%.2f ms", p50), "-", "-", "-"
  printf "%-36s %18s  %-26s %8s  %s\n", "batch request latency p99", sprintf("%.2f ms", bp99), "-", "-", "-"
  printf "%-36s %18s  %-26s %8s  %s\n", "non-200 answers / conn. errors", bn "+" sn " / " be "+" se, "0", "-", \
    verdict(bn + sn + be + se == 0, "see above")
  printf "%-36s %18s  %-26s %8s  %s\n", "acknowledged spans all stored once", stored, "yes", "-", verdict(stored == "yes", "count differs")
  exit fails > 0 ? 3 : 0
}' && all_pass=1 || all_pass=0

if [ "$all_pass" = 0 ] && [ "$STRICT" = 1 ]; then
  echo; echo "bench: some targets were missed (BENCH_STRICT=1)"; exit 1
fi
exit 0
