/*
 * bench_rows.h - the span rows of the benchmark, shared by the load generator (which sends them
 * as OTLP protobuf) and the raw SQLite ceiling (which inserts them directly), so that both sides
 * of the ratio store the same rows: same ids, times, names and attributes.
 *
 * A request (or a raw transaction) is one call of a voice agent: one trace of `n` spans, span 0
 * the root "conversation", the others its children named like a Pipecat pipeline. Every span
 * carries the same ten attributes (strings, ints, doubles and a bool, the keys a voice agent
 * exports); their values depend only on the span's index in the request, which lets the load
 * generator encode a request once and then only rewrite ids and times.
 *
 * Ids are a keyed hash of a per-run seed and a sequence number, so they look random (as SDK ids
 * do: B-tree inserts land all over the primary key, not at its end) yet never repeat in a run.
 */
#ifndef BENCH_ROWS_H
#define BENCH_ROWS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define BENCH_ATTRS 10

typedef enum { BENCH_STR, BENCH_INT, BENCH_DOUBLE, BENCH_BOOL } bench_attr_type_t;

/* One attribute value of span `i`: the string, or the number in i64/dbl/boolean. */
typedef struct {
    const char *key;
    bench_attr_type_t type;
    const char *s;
    int64_t i64;
    double dbl;
    int boolean;
} bench_attr_t;

static const char *const bench_span_names[] = {"turn", "stt", "llm", "tts", "llm_tool_call"};

/* splitmix64's finaliser: a cheap bijective mix, so distinct inputs give distinct ids. */
static inline uint64_t bench_mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static inline void bench_put_u64be(uint8_t *p, uint64_t v) {
    for (int k = 7; k >= 0; k--, v >>= 8)
        p[k] = (uint8_t)v;
}

/* The trace id of request `req`: 16 bytes, never all zero. */
static inline void bench_trace_id(uint64_t seed, uint64_t req, uint8_t out[16]) {
    uint64_t hi = bench_mix(seed ^ (req << 1)), lo = bench_mix(seed ^ ((req << 1) | 1));
    bench_put_u64be(out, hi);
    bench_put_u64be(out + 8, lo | 1);
}

/* The span id of span `i` of request `req` (requests have at most 2^16 spans), never zero. The
 * seed is mixed once more so that span ids and trace ids come from unrelated streams. */
static inline void bench_span_id(uint64_t seed, uint64_t req, uint32_t i, uint8_t out[8]) {
    uint64_t v = bench_mix(bench_mix(seed) ^ ((req << 16) | i));
    bench_put_u64be(out, v ? v : 1);
}

/* Start and end times in Unix nanoseconds: requests 1 ms apart, spans 1 us apart within one. */
static inline uint64_t bench_start_ns(uint64_t t0, uint64_t req, uint32_t i) {
    return t0 + req * 1000000ull + (uint64_t)i * 1000ull;
}
static inline uint64_t bench_end_ns(uint64_t t0, uint64_t req, uint32_t i) {
    return bench_start_ns(t0, req, i) + 200000ull + (uint64_t)(i % 7) * 50000ull;
}

static inline const char *bench_span_name(uint32_t i) {
    return i == 0 ? "conversation" : bench_span_names[(i - 1) % 5];
}

/* The ten attributes of span `i`: what a voice agent puts on stt/llm/tts spans. */
static inline void bench_attrs(uint32_t i, bench_attr_t out[BENCH_ATTRS]) {
    static const char *const transcripts[] = {
        "Hi, I'd like to move my appointment from Tuesday to Thursday afternoon if possible.",
        "Sure, let me check what we have available on Thursday after two o'clock for you.",
        "Great, the three thirty slot works for me. Can you send a confirmation text?",
        "Done. You will get a text shortly. Is there anything else I can help you with?",
    };
    static const char *const models[] = {"gpt-4o-mini", "claude-3-5-haiku", "llama-3.1-8b"};
    static const char *const finish[] = {"stop", "tool_calls", "length"};
    bench_attr_t a[BENCH_ATTRS] = {
        {.key = "transcript", .type = BENCH_STR, .s = transcripts[i % 4]},
        {.key = "metrics.ttfb", .type = BENCH_DOUBLE, .dbl = 0.125 + (double)(i % 50) * 0.0173},
        {.key = "gen_ai.usage.input_tokens", .type = BENCH_INT, .i64 = 812 + (int64_t)i},
        {.key = "gen_ai.usage.output_tokens", .type = BENCH_INT, .i64 = 37 + (int64_t)(i % 120)},
        {.key = "gen_ai.request.model", .type = BENCH_STR, .s = models[i % 3]},
        {.key = "llm.finish_reason", .type = BENCH_STR, .s = finish[i % 3]},
        {.key = "stt.confidence", .type = BENCH_DOUBLE, .dbl = 0.9 + (double)(i % 10) * 0.00937},
        {.key = "turn.number", .type = BENCH_INT, .i64 = (int64_t)(i / 5)},
        {.key = "turn.was_interrupted", .type = BENCH_BOOL, .boolean = (i % 11) == 3},
        {.key = "stt.provider", .type = BENCH_STR, .s = "deepgram"},
    };
    memcpy(out, a, sizeof a);
}

/* Appends `s` as a JSON string; the benchmark's strings need no escapes but quotes and
 * backslashes are escaped anyway. Returns the new length, or cap if it did not fit. */
static inline size_t bench_json_str(char *b, size_t n, size_t cap, const char *s) {
    if (n < cap)
        b[n++] = '"';
    for (; *s && n < cap; s++) {
        if ((*s == '"' || *s == '\\') && n + 1 < cap)
            b[n++] = '\\';
        b[n++] = *s;
    }
    if (n < cap)
        b[n++] = '"';
    return n;
}

/* The attributes of span `i` as the JSON object text the server stores (span.h: typed values,
 * doubles always with a '.' or an exponent). Returns the length, or 0 if cap is too small. */
static inline size_t bench_attrs_json(uint32_t i, char *b, size_t cap) {
    bench_attr_t a[BENCH_ATTRS];
    bench_attrs(i, a);
    size_t n = 0;
    if (cap < 2)
        return 0;
    b[n++] = '{';
    for (int k = 0; k < BENCH_ATTRS && n < cap; k++) {
        if (k)
            b[n++] = ',';
        n = bench_json_str(b, n, cap, a[k].key);
        if (n < cap)
            b[n++] = ':';
        char num[40];
        switch (a[k].type) {
        case BENCH_STR:
            n = bench_json_str(b, n, cap, a[k].s);
            continue;
        case BENCH_INT:
            snprintf(num, sizeof num, "%lld", (long long)a[k].i64);
            break;
        case BENCH_DOUBLE:
            if (snprintf(num, sizeof num, "%.15g", a[k].dbl) < (int)sizeof num - 2 &&
                !strpbrk(num, ".eE"))
                memcpy(num + strlen(num), ".0", 3);
            break;
        case BENCH_BOOL:
            snprintf(num, sizeof num, "%s", a[k].boolean ? "true" : "false");
            break;
        }
        size_t len = strlen(num);
        if (n + len > cap)
            return 0;
        memcpy(b + n, num, len);
        n += len;
    }
    if (n + 1 > cap)
        return 0;
    b[n++] = '}';
    return n;
}

#endif
