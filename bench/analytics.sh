#!/usr/bin/env bash
# bench/analytics.sh - the read and analytics targets of DESIGN.md 8 (and issue 4, item 5).
#
# Starts build/voxtrace on a free loopback port with a fresh data folder, loads through the API
# (bench/analytics_load.mjs) a run of 1,000 simulations x 300 spans shaped like a voice agent
# (conversation > turn > stt / llm / llm_tool_call / tts, some ERROR spans, transcripts of ~50
# turns, every tenth simulation PATCHed FAILED) and one 10,000-span call in a run of its own,
# then times, with curl, one warm-up and then the median of 5 requests of:
#   GET /v1/runs/{run}/hotspots                 < 500 ms
#   GET /v1/runs/{run}/metrics                  < 500 ms  (every built-in metric, stt_wer included)
#   GET /v1/traces/summary?simulation_id=BIG    < 50 ms
#   GET /v1/traces/spans?...=BIG&limit=10000    < 50 ms
# and prints each with its target and pass/fail. The answers are checked, not just timed: the
# counts, and the run's average STT WER against the value the loader computed independently.
# The figures, with the machine and the date, replace the "Analytics" section of bench/RESULTS.md
# (the rest of the file is kept). The whole script takes about a minute.
#
# Knobs (environment): BENCH_SIMS (1000), BENCH_SPANS (300), BENCH_BIG_SPANS (10000),
# BENCH_REPEAT (5), BENCH_RECORD (1; 0 leaves RESULTS.md alone), BENCH_STRICT (0; 1 makes a missed
# target fail the script), BENCH_PROFILE (0; 1 records `perf record -g` of the server during the
# timed requests into build/bench/perf-analytics.data), BENCH_BIN (build/voxtrace; another build to
# compare).
set -euo pipefail
cd "$(dirname "$0")/.."

SIMS=${BENCH_SIMS:-1000}
SPANS=${BENCH_SPANS:-300}
BIG=${BENCH_BIG_SPANS:-10000}
REPEAT=${BENCH_REPEAT:-5}
RECORD=${BENCH_RECORD:-1}
STRICT=${BENCH_STRICT:-0}
PROFILE=${BENCH_PROFILE:-0}

# DESIGN.md 8, in milliseconds.
T_HOTSPOTS=500
T_METRICS=500
T_SUMMARY=50
T_SPANS=50

BIN=${BENCH_BIN:-build/voxtrace}
OUT=build/bench
RESULTS=bench/RESULTS.md

die() { echo "bench/analytics: $*" >&2; exit 1; }

[ -x "$BIN" ] || die "$BIN is missing: run 'make' first"
for tool in curl jq node; do command -v "$tool" >/dev/null || die "$tool is needed"; done
mkdir -p "$OUT"
exec > >(tee "$OUT/analytics-last-run.txt") 2>&1

# ---- machine -------------------------------------------------------------------------------
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem_gib=$(awk '/^MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
read -r load1 _ < /proc/loadavg
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
MACHINE="$(nproc) cores, ${cpu_model:-unknown CPU}, ${mem_gib} GiB RAM, kernel $(uname -r), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), SQLite $(pkg-config --modversion sqlite3 2>/dev/null || echo '?'), data in ${TMPDIR:-/tmp} on $(df -PT "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}')"
VERSION="$($BIN version 2>/dev/null || echo '?') $(git rev-parse --short HEAD 2>/dev/null || echo '(no commit)')"
echo "voxtrace analytics benchmark, $DATE"
echo "machine: $MACHINE"
echo "         load average before the run: $load1" \
     "$(awk -v l="$load1" 'BEGIN {if (l > 0.5) print "(the machine is busy: figures will be high and noisy)"}')"
echo "voxtrace: $VERSION"
echo

# ---- server --------------------------------------------------------------------------------
BENCH_NAME=analytics
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_start_server
KEY=$("$BIN" keys create --org default --name bench-analytics --data "$TMP/data") || die "cannot create a key"

# ---- data ----------------------------------------------------------------------------------
echo "== loading: $SIMS simulations x $SPANS spans, and one call of $BIG spans (OTLP JSON, 4 requests at a time)"
load=$(node bench/analytics_load.mjs --base "$BASE" --key "$KEY" --sims "$SIMS" --spans "$SPANS" \
       --big "$BIG" --conc 4) || { tail -20 "$TMP/server.log"; die "loading failed"; }
j() { jq -r "$1" <<<"$load"; }
RUN=$(j .run_id)
BIG_SIM=$(j .big_simulation_id)
printf '  %s spans + %s in %.1f s (%s spans/s through the API, transcripts and PATCHes included)\n' \
  "$(j .spans)" "$(j .big_spans)" "$(j .total_seconds)" "$(j .spans_per_second)"
echo "  run $RUN ($(j .failed) simulations FAILED), big call $BIG_SIM"
echo

# ---- timing --------------------------------------------------------------------------------
# time_get NAME PATH: a warm-up request whose answer is kept in $TMP/NAME.json (for the checks),
# then REPEAT timed ones; prints the median total time in ms (curl's time_total: connect to last
# byte) and keeps every sample in $TMP/NAME.times.
time_get() {
  local name=$1 path=$2 code
  code=$(curl -sS -o "$TMP/$name.json" -w '%{http_code}' -H "X-API-Key: $KEY" "$BASE$path") || code=000
  [ "$code" = 200 ] || { head -c 400 "$TMP/$name.json" >&2; die "GET $path answered $code"; }
  : >"$TMP/$name.times"
  for _ in $(seq "$REPEAT"); do
    curl -sS -o /dev/null -w '%{time_total}\n' -H "X-API-Key: $KEY" "$BASE$path" >>"$TMP/$name.times"
  done
  sort -g "$TMP/$name.times" | awk '{v[NR] = $1 * 1000} END {
    printf "%.1f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
samples() { sort -g "$TMP/$1.times" | awk '{printf "%s%.0f", (NR > 1 ? " " : ""), $1 * 1000}'; }

if [ "$PROFILE" = 1 ] && command -v perf >/dev/null; then
  perf record -g -o "$OUT/perf-analytics.data" -p "$SERVER_PID" >/dev/null 2>&1 &
  PERF_PID=$!
  sleep 0.5
fi
echo "== timing: 1 warm-up, then the median of $REPEAT requests each"
HOT_MS=$(time_get hotspots "/v1/runs/$RUN/hotspots")
MET_MS=$(time_get metrics "/v1/runs/$RUN/metrics")
SUM_MS=$(time_get summary "/v1/traces/summary?simulation_id=$BIG_SIM")
SPN_MS=$(time_get spans "/v1/traces/spans?simulation_output_id=$BIG_SIM&limit=10000")
if [ -n "$PERF_PID" ]; then
  kill -INT "$PERF_PID" 2>/dev/null || true; wait "$PERF_PID" 2>/dev/null || true; PERF_PID=
  echo "  perf profile of the server: $OUT/perf-analytics.data (perf report -i $OUT/perf-analytics.data)"
fi
for n in hotspots metrics summary spans; do
  printf '  %-9s samples (ms): %s; answer %s bytes\n' "$n" "$(samples $n)" "$(stat -c %s "$TMP/$n.json")"
done

# ---- checks --------------------------------------------------------------------------------
# The answers must be the real thing: the counts the loader sent and the WER it computed.
checks=()
check() { # DESCRIPTION EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then checks+=("ok    $1: $3"); else checks+=("WRONG $1: expected $2, got $3"); fi
}
check "hotspots simulation_count" "$SIMS" "$(jq .simulation_count "$TMP/hotspots.json")"
check "hotspots traced_simulation_count" "$SIMS" "$(jq .traced_simulation_count "$TMP/hotspots.json")"
check "hotspots transitions to turn seen in every simulation" "$SIMS" \
  "$(jq '[.transitions[] | select(.to == "turn") | .simulation_count] | max' "$TMP/hotspots.json")"
check "metrics stt_wer values completed" "$SIMS" \
  "$(jq '[.metrics[] | select(.metric_id == "stt_wer") | .simulations[] | select(.status == "COMPLETED")] | length' "$TMP/metrics.json")"
check "metrics stt_wer average (9 decimals)" "$(printf '%.9f' "$(j .expected_wer_average)")" \
  "$(printf '%.9f' "$(jq '.metrics[] | select(.metric_id == "stt_wer") | .average' "$TMP/metrics.json")")"
check "metrics built-ins present" 8 \
  "$(jq '[.metrics[] | select(.metric_id | test("^(llm_ttfb|stt_ttfb|tts_ttfb|llm_input_tokens|llm_output_tokens|tool_call_count|stt_wer|stt_wer_audio_upload)$"))] | length' "$TMP/metrics.json")"
check "summary total_spans" "$BIG" "$(jq .trace_summary.total_spans "$TMP/summary.json")"
check "spans returned" "$BIG" "$(jq '.traces | length' "$TMP/spans.json")"
RSS_MIB=$(awk '/^VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER_PID/status")
echo
printf '  %s\n' "${checks[@]}"
echo "  server peak RSS over the run: ${RSS_MIB} MiB"
CHECKS_OK=yes
printf '%s\n' "${checks[@]}" | grep -q '^WRONG' && CHECKS_OK=no
echo

# ---- table ---------------------------------------------------------------------------------
TABLE=$(awk -v hot="$HOT_MS" -v met="$MET_MS" -v sum="$SUM_MS" -v spn="$SPN_MS" -v sims="$SIMS" \
    -v spans="$SPANS" -v big="$BIG" -v th="$T_HOTSPOTS" -v tm="$T_METRICS" -v ts="$T_SUMMARY" \
    -v tp="$T_SPANS" -v ok="$CHECKS_OK" '
function row(what, v, t) {
  printf "| %-52s | %9.1f ms | < %3d ms | %s |\n", what, v, t, (v < t ? "PASS" : sprintf("FAIL (%.1fx)", v / t))
}
BEGIN {
  printf "| %-52s | %12s | %8s | %s |\n", "figure (median of the timed requests)", "value", "target", "result"
  printf "|%s|%s|%s|%s|\n", "------------------------------------------------------", "--------------", "----------", "------"
  row(sprintf("hotspots, run of %d x %d spans", sims, spans), hot, th)
  row(sprintf("run metrics, every built-in incl. stt_wer, %d sims", sims), met, tm)
  row(sprintf("trace summary, %d-span call", big), sum, ts)
  row(sprintf("spans of a %d-span call (limit=10000)", big), spn, tp)
  printf "| %-52s | %12s | %8s | %s |\n", "answers checked against the loaded data", ok, "yes", (ok == "yes" ? "PASS" : "FAIL")
}')
echo "$TABLE"
FAILS=$(grep -c 'FAIL' <<<"$TABLE" || true)

# ---- RESULTS.md ----------------------------------------------------------------------------
# The "## Analytics" section is replaced (the latest run is the record); everything else in the
# file belongs to other benchmarks and is kept as it is.
if [ "$RECORD" = 1 ]; then
  section="$TMP/section.md"
  {
    echo "## Analytics"
    echo
    echo "Recorded by \`bench/analytics.sh\` on $DATE."
    echo
    echo "- machine: $MACHINE; load average before the run $load1"
    echo "- voxtrace: $VERSION"
    echo "- data: run of $SIMS simulations x $SPANS spans (conversation > turn > stt / stt.provider.deepgram / llm / llm_tool_call / tts, ~5% of tool calls and ~1% of tts spans ERROR, every tenth simulation FAILED, transcripts of ~55 user turns), one call of $BIG spans in a run of its own; loaded through the API as OTLP JSON at $(j .spans_per_second) spans/s"
    echo "- timing: curl \`time_total\` on loopback, one warm-up then the median of $REPEAT requests; SQLite store, default server settings"
    echo
    echo "$TABLE"
    echo
    for n in hotspots metrics summary spans; do echo "- $n samples (ms): $(samples $n)"; done
    echo "- server peak RSS: ${RSS_MIB} MiB"
    echo
  } >"$section"
  if [ -f "$RESULTS" ]; then
    # Drop an earlier Analytics section (up to the next level-2 heading) and the blank lines at
    # the end, then append the new section after one blank line.
    awk '/^## / {skip = ($0 == "## Analytics")}
         skip {next}
         /^[[:space:]]*$/ {blank++; next}
         {while (blank) {print ""; blank--} print}' "$RESULTS" >"$TMP/results.kept"
    { cat "$TMP/results.kept"; [ -s "$TMP/results.kept" ] && echo; cat "$section"; } >"$TMP/results.new"
  else
    { echo "# Benchmark results"; echo; cat "$section"; } >"$TMP/results.new"
  fi
  cp "$TMP/results.new" "$RESULTS"
  echo; echo "recorded in $RESULTS (section \"Analytics\")"
fi

if [ "$FAILS" -gt 0 ] && [ "$STRICT" = 1 ]; then
  echo; echo "bench/analytics: some targets were missed (BENCH_STRICT=1)"; exit 1
fi
exit 0
