/*
 * test_hotspots.c - unit tests for src/analysis/hotspots: a small run whose matrix is worked out
 * by hand below, the filters, the ranking and its ties, caps, and hostile parent links.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "analysis/hotspots.h"
#include "otlp/span.h"

/* ---- building spans ------------------------------------------------------------------------ */

/* A span in short form: ids are one byte (the last byte of the 8-byte id, so id order is byte
 * order); parent 0 means a root. */
typedef struct {
    uint8_t id, parent;
    const char *name;
    uint64_t start;
    int32_t status;
} sp_t;

#define ERR VT_STATUS_ERROR

static vt_span_row_t *rows_of(const sp_t *in, size_t n) {
    vt_span_row_t *r = calloc(n ? n : 1, sizeof *r);
    assert_non_null(r);
    for (size_t i = 0; i < n; i++) {
        r[i].trace_id[0] = 0xAB;
        r[i].span_id[7] = in[i].id;
        r[i].parent_span_id[7] = in[i].parent;
        r[i].has_parent = in[i].parent != 0;
        r[i].name = vt_str_c(in[i].name);
        r[i].start_ns = in[i].start;
        r[i].end_ns = in[i].start + 1;
        r[i].status_code = in[i].status;
    }
    return r;
}

static void add(vt_hotspots_t *h, const char *sim, bool failed, const sp_t *in, size_t n) {
    vt_span_row_t *r = rows_of(in, n);
    assert_int_equal(vt_hotspots_add_simulation(h, vt_str_c(sim), failed, r, n), VT_OK);
    free(r);
}

/* ---- the hand-worked run -------------------------------------------------------------------
 *
 * Nine simulations (spans listed by start time; "<-" names the parent; [E] = status ERROR).
 * Spans are handed to the builder out of order on purpose.
 *
 * S1 ok:     conversation@0 ; pipeline@0 <-conversation ; stt@10, llm(id 4)@20, llm@30, tts@40
 *            <-pipeline ; tool_call(id 3)@20 <-llm(id 4).
 *            At 20, llm (depth 2) precedes tool_call (depth 3) although tool_call's id is smaller.
 *            Kept: stt llm tool_call llm tts -> stt>llm, llm>tool_call, tool_call>llm, llm>tts.
 * S2 FAILED: session:abc@0 ; stt@5, llm@10, llm@15 [E], llm@17, tts@20, all <-session:abc.
 *            -> stt>llm, llm>llm [E], llm>llm, llm>tts.
 * S3 ok:     vad(id 1)@5 and stt(id 2)@5, both roots (same depth: span id decides, vad first) ;
 *            llm@10 ; tool_call@12 [E] <-llm ; llm@15 ; tts@20 [E].
 *            -> vad>stt, stt>llm, llm>tool_call [E], tool_call>llm, llm>tts [E].
 * S4 ok:     no spans (counts as a simulation, not as traced).
 * S5 ok:     conversation@0 ; transport@1 <-conversation. Only wrappers: no transitions.
 * S6 FAILED: stt@1, llm@2 -> stt>llm.
 * S7 ok:     conversation(id 0x30)@0 ; pipeline(id 0x31)@0 <-conversation ;
 *            llm(id 1)@100 <-pipeline (depth 2) ; stt(id 2)@100 root (depth 0).
 *            Depth counts the dropped wrappers, so stt comes first: -> stt>llm. (Were depth taken
 *            after dropping them, both would be depth 0 and the smaller id, llm, would lead.)
 * S8 FAILED: stt@1, llm@2 -> stt>llm.
 * S9 ok:     stt@1, llm@2 -> stt>llm.
 *
 * The matrix (failed = the simulation failed or an occurrence of that cell erred in it):
 *
 *   from>to         count sims failed errors rate     exemplars (failed first, then in order)
 *   llm>llm           2     1     1      1   100      S2
 *   llm>tool_call     2     2     1      1    50      S3 S1
 *   llm>tts           3     3     2      1   66.67    S2 S3 S1
 *   stt>llm           7     7     3      0   42.86    S2 S6 S8 S1 S3  (S7 S9 beyond five)
 *   tool_call>llm     2     2     0      0     0      S1 S3
 *   vad>stt           1     1     0      0     0      S3
 *
 * states: llm stt tool_call tts vad; collapsed: conversation pipeline session:abc transport;
 * simulation_count 9, traced 8.
 * top_hotspots (failed > 0): stt>llm (3), llm>tts (2), then llm>llm and llm>tool_call with one
 * failed simulation each, llm>llm first on its higher rate (100 > 50): indexes 3, 2, 0, 1.
 */
static void add_run(vt_hotspots_t *h) {
    const sp_t s1[] = {
        {7, 2, "tts", 40, 0},         {4, 2, "llm", 20, 0}, {3, 4, "tool_call", 20, 0},
        {1, 0, "conversation", 0, 0}, {5, 2, "stt", 10, 0}, {2, 1, "pipeline", 0, 0},
        {6, 2, "llm", 30, 0},
    };
    const sp_t s2[] = {
        {0x15, 0x10, "tts", 20, 0}, {0x13, 0x10, "llm", 15, ERR}, {0x10, 0, "session:abc", 0, 0},
        {0x12, 0x10, "llm", 10, 0}, {0x14, 0x10, "llm", 17, 0},   {0x11, 0x10, "stt", 5, 0},
    };
    const sp_t s3[] = {
        {2, 0, "stt", 5, 0},          {1, 0, "vad", 5, 0},  {6, 0, "tts", 20, ERR},
        {4, 3, "tool_call", 12, ERR}, {3, 0, "llm", 10, 0}, {5, 0, "llm", 15, 0},
    };
    const sp_t s5[] = {{2, 1, "transport", 1, 0}, {1, 0, "conversation", 0, 0}};
    const sp_t pair[] = {{1, 0, "stt", 1, 0}, {2, 0, "llm", 2, 0}};
    const sp_t s7[] = {
        {1, 0x31, "llm", 100, 0},
        {2, 0, "stt", 100, 0},
        {0x30, 0, "conversation", 0, 0},
        {0x31, 0x30, "pipeline", 0, 0},
    };
    add(h, "S1", false, s1, VT_ARRAY_LEN(s1));
    add(h, "S2", true, s2, VT_ARRAY_LEN(s2));
    add(h, "S3", false, s3, VT_ARRAY_LEN(s3));
    add(h, "S4", false, NULL, 0);
    add(h, "S5", false, s5, VT_ARRAY_LEN(s5));
    add(h, "S6", true, pair, VT_ARRAY_LEN(pair));
    add(h, "S7", false, s7, VT_ARRAY_LEN(s7));
    add(h, "S8", true, pair, VT_ARRAY_LEN(pair));
    add(h, "S9", false, pair, VT_ARRAY_LEN(pair));
}

static void assert_strs(const vt_str_t *got, size_t n, const char *const *want, size_t n_want) {
    assert_int_equal(n, n_want);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i].n, strlen(want[i]));
        assert_memory_equal(got[i].p, want[i], got[i].n);
        assert_int_equal(got[i].p[got[i].n], '\0');
    }
}
#define STRS(...) ((const char *const[]){__VA_ARGS__})
#define NSTRS(...) VT_ARRAY_LEN(STRS(__VA_ARGS__))
#define ASSERT_STRS(got, n, ...) assert_strs(got, n, STRS(__VA_ARGS__), NSTRS(__VA_ARGS__))

static void assert_cell(const vt_hotspot_transition_t *t, const char *from, const char *to,
                        uint64_t count, uint64_t sims, uint64_t failed, uint64_t errors) {
    assert_true(vt_str_eq_c(t->from, from));
    assert_true(vt_str_eq_c(t->to, to));
    assert_int_equal(t->count, count);
    assert_int_equal(t->simulation_count, sims);
    assert_int_equal(t->failed_simulation_count, failed);
    assert_int_equal(t->error_count, errors);
    assert_true(fabs(t->failure_rate - (double)failed * 100.0 / (double)sims) < 1e-9);
}

static vt_hotspots_result_t run_with(vt_arena_t *a, const vt_hotspots_opts_t *o) {
    vt_hotspots_t *h;
    vt_hotspots_result_t r;
    assert_int_equal(vt_hotspots_begin(a, o, &h), VT_OK);
    add_run(h);
    assert_int_equal(vt_hotspots_finish(h, &r), VT_OK);
    return r;
}

static void test_hand_worked_run(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_hotspots_opts_t o = {.collapse_wrappers = true};
    vt_hotspots_result_t r = run_with(&a, &o);

    assert_int_equal(r.simulation_count, 9);
    assert_int_equal(r.traced_simulation_count, 8);
    ASSERT_STRS(r.states, r.n_states, "llm", "stt", "tool_call", "tts", "vad");
    ASSERT_STRS(r.collapsed, r.n_collapsed, "conversation", "pipeline", "session:abc", "transport");
    assert_int_equal(r.n_include, 0);
    assert_int_equal(r.n_exclude, 0);

    assert_int_equal(r.n_transitions, 6);
    const vt_hotspot_transition_t *t = r.transitions;
    assert_cell(&t[0], "llm", "llm", 2, 1, 1, 1);
    assert_true(t[0].failure_rate == 100.0);
    ASSERT_STRS(t[0].exemplars, t[0].n_exemplars, "S2");
    assert_cell(&t[1], "llm", "tool_call", 2, 2, 1, 1);
    assert_true(t[1].failure_rate == 50.0);
    ASSERT_STRS(t[1].exemplars, t[1].n_exemplars, "S3", "S1");
    assert_cell(&t[2], "llm", "tts", 3, 3, 2, 1);
    ASSERT_STRS(t[2].exemplars, t[2].n_exemplars, "S2", "S3", "S1");
    assert_cell(&t[3], "stt", "llm", 7, 7, 3, 0);
    assert_true(fabs(t[3].failure_rate - 42.857142857142854) < 1e-9);
    ASSERT_STRS(t[3].exemplars, t[3].n_exemplars, "S2", "S6", "S8", "S1", "S3");
    assert_cell(&t[4], "tool_call", "llm", 2, 2, 0, 0);
    assert_true(t[4].failure_rate == 0.0);
    ASSERT_STRS(t[4].exemplars, t[4].n_exemplars, "S1", "S3");
    assert_cell(&t[5], "vad", "stt", 1, 1, 0, 0);
    ASSERT_STRS(t[5].exemplars, t[5].n_exemplars, "S3");

    assert_int_equal(r.n_top_hotspots, 4);
    assert_int_equal(r.top_hotspots[0], 3);
    assert_int_equal(r.top_hotspots[1], 2);
    assert_int_equal(r.top_hotspots[2], 0);
    assert_int_equal(r.top_hotspots[3], 1);
    vt_arena_free(&a);
}

/* collapse_wrappers=false: the wrappers become states. New cells over the table above:
 *   conversation>pipeline  S1, S7          count 2, sims 2, failed 0
 *   pipeline>stt           S1, S7 (stt@100 at depth 0 follows pipeline@0)   count 2
 *   session:abc>stt        S2 (failed)     count 1, failed 1
 *   conversation>transport S5              count 1
 * and the rest is unchanged (stt>llm still 7: in S7 stt precedes llm by depth). */
static void test_wrappers_kept(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_hotspots_opts_t o = {.collapse_wrappers = false};
    vt_hotspots_result_t r = run_with(&a, &o);
    assert_int_equal(r.n_collapsed, 0);
    ASSERT_STRS(r.states, r.n_states, "conversation", "llm", "pipeline", "session:abc", "stt",
                "tool_call", "transport", "tts", "vad");
    assert_int_equal(r.n_transitions, 10);
    const vt_hotspot_transition_t *t = r.transitions;
    assert_cell(&t[0], "conversation", "pipeline", 2, 2, 0, 0);
    ASSERT_STRS(t[0].exemplars, t[0].n_exemplars, "S1", "S7");
    assert_cell(&t[1], "conversation", "transport", 1, 1, 0, 0);
    assert_cell(&t[5], "pipeline", "stt", 2, 2, 0, 0);
    assert_cell(&t[6], "session:abc", "stt", 1, 1, 1, 0);
    assert_cell(&t[7], "stt", "llm", 7, 7, 3, 0);
    assert_int_equal(r.traced_simulation_count, 8);
    vt_arena_free(&a);
}

/* include=llm,tts: S1 keeps llm@20 llm@30 tts, S2 llm llm[E] llm tts, S3 llm llm tts[E]; the
 * single-llm simulations have no pair.
 *   llm>llm  count 1+2+1 = 4, sims S1 S2 S3, failed S2 only (S2 failed; S3's second llm is OK),
 *            errors 1 (S2's llm@15), exemplars S2 S1 S3
 *   llm>tts  as before: 3, 3, failed 2, errors 1
 * Wrappers are still dropped before the include filter, so they are still reported collapsed. */
static void test_include(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    const vt_str_t inc[] = {VT_STR("llm"), VT_STR("tts")};
    vt_hotspots_opts_t o = {.include = inc, .n_include = 2, .collapse_wrappers = true};
    vt_hotspots_result_t r = run_with(&a, &o);
    ASSERT_STRS(r.include, r.n_include, "llm", "tts");
    assert_int_equal(r.n_exclude, 0);
    ASSERT_STRS(r.states, r.n_states, "llm", "tts");
    ASSERT_STRS(r.collapsed, r.n_collapsed, "conversation", "pipeline", "session:abc", "transport");
    assert_int_equal(r.n_transitions, 2);
    assert_cell(&r.transitions[0], "llm", "llm", 4, 3, 1, 1);
    ASSERT_STRS(r.transitions[0].exemplars, r.transitions[0].n_exemplars, "S2", "S1", "S3");
    assert_cell(&r.transitions[1], "llm", "tts", 3, 3, 2, 1);
    assert_int_equal(r.n_top_hotspots, 2);
    assert_int_equal(r.top_hotspots[0], 1); /* 2 failed beats 1 */
    assert_int_equal(r.top_hotspots[1], 0);
    vt_arena_free(&a);
}

/* exclude=tool_call,vad: llm>llm as in the include case (S3's erring tool_call is gone, so S3 is
 * not failed for it), llm>tts unchanged, stt>llm unchanged; no tool_call or vad state. */
static void test_exclude(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    const vt_str_t exc[] = {VT_STR("tool_call"), VT_STR("vad")};
    vt_hotspots_opts_t o = {.exclude = exc, .n_exclude = 2, .collapse_wrappers = true};
    vt_hotspots_result_t r = run_with(&a, &o);
    ASSERT_STRS(r.exclude, r.n_exclude, "tool_call", "vad");
    ASSERT_STRS(r.states, r.n_states, "llm", "stt", "tts");
    assert_int_equal(r.n_transitions, 3);
    assert_cell(&r.transitions[0], "llm", "llm", 4, 3, 1, 1);
    assert_cell(&r.transitions[1], "llm", "tts", 3, 3, 2, 1);
    assert_cell(&r.transitions[2], "stt", "llm", 7, 7, 3, 0);
    vt_arena_free(&a);
}

/* An include of a wrapper name does not bring it back while wrappers are collapsed (the order of
 * DESIGN 5.5: wrappers first, then include); with collapse off it does. */
static void test_include_wrapper(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    const vt_str_t inc[] = {VT_STR("pipeline"), VT_STR("stt")};
    vt_hotspots_opts_t o = {.include = inc, .n_include = 2, .collapse_wrappers = true};
    vt_hotspots_result_t r = run_with(&a, &o);
    assert_int_equal(r.n_transitions, 0);
    assert_int_equal(r.n_states, 0);
    assert_int_equal(r.n_top_hotspots, 0);
    o.collapse_wrappers = false;
    r = run_with(&a, &o);
    /* S1 and S7: pipeline@0 then stt. */
    assert_int_equal(r.n_transitions, 1);
    assert_cell(&r.transitions[0], "pipeline", "stt", 2, 2, 0, 0);
    vt_arena_free(&a);
}

/* Ranking ties. Simulations:
 *   T1 FAILED: p q p q -> p>q twice, q>p once
 *   T2 FAILED: r s ; T3 ok: r s       -> r>s count 2, sims 2, failed 1, rate 50
 *   T4 FAILED: m n                    -> m>n count 1, rate 100
 * All have one failed simulation. p>q (rate 100, count 2) leads; m>n and q>p tie on rate and
 * count and go by name (m before q); r>s is last on its lower rate despite count 2. */
static void test_ranking_ties(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_hotspots_t *h;
    vt_hotspots_opts_t o = {.collapse_wrappers = true};
    assert_int_equal(vt_hotspots_begin(&a, &o, &h), VT_OK);
    const sp_t t1[] = {{1, 0, "p", 1, 0}, {2, 0, "q", 2, 0}, {3, 0, "p", 3, 0}, {4, 0, "q", 4, 0}};
    const sp_t rs[] = {{1, 0, "r", 1, 0}, {2, 0, "s", 2, 0}};
    const sp_t mn[] = {{1, 0, "m", 1, 0}, {2, 0, "n", 2, 0}};
    add(h, "T1", true, t1, 4);
    add(h, "T2", true, rs, 2);
    add(h, "T3", false, rs, 2);
    add(h, "T4", true, mn, 2);
    vt_hotspots_result_t r;
    assert_int_equal(vt_hotspots_finish(h, &r), VT_OK);
    /* transitions: m>n, p>q, q>p, r>s */
    assert_int_equal(r.n_transitions, 4);
    assert_cell(&r.transitions[1], "p", "q", 2, 1, 1, 0);
    assert_cell(&r.transitions[3], "r", "s", 2, 2, 1, 0);
    assert_int_equal(r.n_top_hotspots, 4);
    assert_int_equal(r.top_hotspots[0], 1);
    assert_int_equal(r.top_hotspots[1], 0);
    assert_int_equal(r.top_hotspots[2], 2);
    assert_int_equal(r.top_hotspots[3], 3);
    vt_arena_free(&a);
}

/* Twelve transitions, each in one failed simulation: all tie, so the top ten are the first ten by
 * name; transitions without failures are never hotspots. */
static void test_top_ten(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_hotspots_t *h;
    vt_hotspots_opts_t o = {.collapse_wrappers = true};
    assert_int_equal(vt_hotspots_begin(&a, &o, &h), VT_OK);
    char from[12][8], to[12][8], sim[12][8];
    for (int i = 11; i >= 0; i--) {
        snprintf(from[i], sizeof from[i], "a%02d", i);
        snprintf(to[i], sizeof to[i], "b%02d", i);
        snprintf(sim[i], sizeof sim[i], "F%02d", i);
        const sp_t s[] = {{1, 0, from[i], 1, 0}, {2, 0, to[i], 2, 0}};
        add(h, sim[i], true, s, 2);
    }
    const sp_t ok[] = {{1, 0, "x", 1, 0}, {2, 0, "y", 2, 0}};
    add(h, "OK", false, ok, 2);
    vt_hotspots_result_t r;
    assert_int_equal(vt_hotspots_finish(h, &r), VT_OK);
    assert_int_equal(r.n_transitions, 13);
    assert_int_equal(r.n_top_hotspots, 10);
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(r.top_hotspots[i], i);
        assert_true(vt_str_eq_c(r.transitions[i].from, from[i]));
    }
    vt_arena_free(&a);
}

/* Parent links that form a cycle (a <- b <- a) or point at the span itself must not hang or
 * crash; the spans still give their transitions. */
static void test_parent_cycle(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_hotspots_t *h;
    vt_hotspots_opts_t o = {.collapse_wrappers = true};
    assert_int_equal(vt_hotspots_begin(&a, &o, &h), VT_OK);
    const sp_t s[] = {{1, 2, "a", 5, 0}, {2, 1, "b", 5, 0}, {3, 3, "c", 9, ERR}};
    add(h, "C", false, s, 3);
    vt_hotspots_result_t r;
    assert_int_equal(vt_hotspots_finish(h, &r), VT_OK);
    assert_int_equal(r.n_transitions, 2);
    /* The walk from a (first in input) meets a again: b is taken as the root, so b (depth 0)
     * precedes a (depth 1). */
    assert_cell(&r.transitions[0], "a", "c", 1, 1, 1, 1);
    assert_cell(&r.transitions[1], "b", "a", 1, 1, 0, 0);
    vt_arena_free(&a);
}

/* Spans of different traces share no parent links even when the span ids match. */
static void test_parent_in_other_trace(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_hotspots_t *h;
    vt_hotspots_opts_t o = {.collapse_wrappers = true};
    assert_int_equal(vt_hotspots_begin(&a, &o, &h), VT_OK);
    const sp_t s[] = {{9, 0, "root", 0, 0}, {1, 9, "x", 5, 0}, {2, 0, "y", 5, 0}};
    vt_span_row_t *rows = rows_of(s, 3);
    /* x's parent id 9 exists, but in trace 0xAB; x lives in another trace, so it is a root, ties
     * with y on depth, and leads on span id. In its own trace it would have depth 1 and follow. */
    rows[1].trace_id[0] = 0xCD;
    assert_int_equal(vt_hotspots_add_simulation(h, VT_STR("X"), false, rows, 3), VT_OK);
    free(rows);
    vt_hotspots_result_t r;
    assert_int_equal(vt_hotspots_finish(h, &r), VT_OK);
    assert_int_equal(r.n_transitions, 2);
    assert_cell(&r.transitions[0], "root", "x", 1, 1, 0, 0);
    assert_cell(&r.transitions[1], "x", "y", 1, 1, 0, 0);
    vt_arena_free(&a);
}

static void test_limits_and_errors(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_hotspots_t *h;
    vt_str_t many[VT_HOTSPOTS_MAX_FILTER_NAMES + 1];
    for (size_t i = 0; i < VT_ARRAY_LEN(many); i++)
        many[i] = VT_STR("x");
    vt_hotspots_opts_t o = {.include = many, .n_include = VT_ARRAY_LEN(many)};
    assert_int_equal(vt_hotspots_begin(&a, &o, &h), VT_EINVAL);

    /* More distinct names than the cap: VT_ELIMIT, and it sticks. */
    o = (vt_hotspots_opts_t){.collapse_wrappers = true};
    assert_int_equal(vt_hotspots_begin(&a, &o, &h), VT_OK);
    size_t n = VT_HOTSPOTS_MAX_NAMES + 1;
    vt_span_row_t *rows = calloc(n, sizeof *rows);
    char(*names)[16] = calloc(n, sizeof *names);
    assert_non_null(rows);
    assert_non_null(names);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "n%zu", i);
        rows[i].trace_id[0] = 1;
        rows[i].span_id[0] = (uint8_t)(i >> 8);
        rows[i].span_id[1] = (uint8_t)i;
        rows[i].name = vt_str_c(names[i]);
        rows[i].start_ns = i;
    }
    assert_int_equal(vt_hotspots_add_simulation(h, VT_STR("S"), false, rows, n), VT_ELIMIT);
    assert_int_equal(vt_hotspots_add_simulation(h, VT_STR("S"), false, rows, 1), VT_ELIMIT);
    vt_hotspots_result_t r;
    assert_int_equal(vt_hotspots_finish(h, &r), VT_ELIMIT);
    free(rows);
    free(names);
    vt_arena_free(&a);

    /* An arena too small for the run: VT_ENOMEM, also sticky, never a crash. */
    vt_arena_t small;
    vt_arena_init(&small, 8 * 1024);
    vt_err_t e = vt_hotspots_begin(&small, &o, &h);
    if (e == VT_OK) {
        const sp_t s[] = {{1, 0, "a", 1, 0}, {2, 0, "b", 2, 0}};
        vt_span_row_t *big = rows_of(s, 2);
        e = vt_hotspots_add_simulation(h, VT_STR("S"), false, big, 2);
        free(big);
        if (e == VT_OK)
            e = vt_hotspots_finish(h, &r);
    }
    assert_int_equal(e, VT_ENOMEM);
    vt_arena_free(&small);
}

/* A run of the size DESIGN 8 benchmarks (1,000 simulations x 300 spans), built so the answer is
 * known: each simulation is a wrapper root and then 299 children cycling stt, llm, tts by start
 * time; in every simulation the span at position 8 (an llm) is ERROR, and every tenth
 * simulation is failed. Per simulation the 298 transitions are stt>llm (100), llm>tts (99),
 * tts>stt (99), so over the run: stt>llm 100,000 occurrences; failed simulations for stt>llm =
 * 100 failed + 900 with the erring llm = all 1,000; llm>tts 100 failed ones. */
static void test_large_run(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_hotspots_t *h;
    vt_hotspots_opts_t o = {.collapse_wrappers = true};
    assert_int_equal(vt_hotspots_begin(&a, &o, &h), VT_OK);
    enum { SIMS = 1000, SPANS = 300 };
    static const char *const cycle[] = {"stt", "llm", "tts"};
    vt_span_row_t *rows = calloc(SPANS, sizeof *rows);
    assert_non_null(rows);
    for (int s = 0; s < SIMS; s++) {
        for (int i = 0; i < SPANS; i++) {
            vt_span_row_t *r = &rows[(i * 7) % SPANS]; /* scattered input order */
            memset(r, 0, sizeof *r);
            r->trace_id[0] = (uint8_t)(s + 1);
            r->span_id[6] = (uint8_t)(i >> 8);
            r->span_id[7] = (uint8_t)i;
            r->start_ns = 1000u * (uint64_t)i;
            if (i == 0) {
                r->name = VT_STR("pipeline");
                r->span_id[5] = 1;
            } else {
                r->name = vt_str_c(cycle[(i - 1) % 3]);
                r->has_parent = true;
                r->parent_span_id[5] = 1;
            }
            r->status_code = i == 8 ? VT_STATUS_ERROR : VT_STATUS_OK;
        }
        char id[16];
        snprintf(id, sizeof id, "sim%04d", s);
        assert_int_equal(vt_hotspots_add_simulation(h, vt_str_c(id), s % 10 == 0, rows, SPANS),
                         VT_OK);
    }
    free(rows);
    vt_hotspots_result_t r;
    assert_int_equal(vt_hotspots_finish(h, &r), VT_OK);
    assert_int_equal(r.n_transitions, 3);
    /* sorted: llm>tts, stt>llm, tts>stt */
    assert_cell(&r.transitions[0], "llm", "tts", 99000, 1000, 100, 0);
    assert_cell(&r.transitions[1], "stt", "llm", 100000, 1000, 1000, 1000);
    assert_cell(&r.transitions[2], "tts", "stt", 99000, 1000, 100, 0);
    ASSERT_STRS(r.transitions[0].exemplars, r.transitions[0].n_exemplars, "sim0000", "sim0010",
                "sim0020", "sim0030", "sim0040");
    ASSERT_STRS(r.transitions[1].exemplars, r.transitions[1].n_exemplars, "sim0000", "sim0001",
                "sim0002", "sim0003", "sim0004");
    assert_int_equal(r.top_hotspots[0], 1);
    ASSERT_STRS(r.collapsed, r.n_collapsed, "pipeline");
    vt_arena_free(&a);
}

static void test_is_wrapper(void **state) {
    (void)state;
    assert_true(vt_hotspots_is_wrapper(VT_STR("conversation")));
    assert_true(vt_hotspots_is_wrapper(VT_STR("pipeline")));
    assert_true(vt_hotspots_is_wrapper(VT_STR("transport")));
    assert_true(vt_hotspots_is_wrapper(VT_STR("session:")));
    assert_true(vt_hotspots_is_wrapper(VT_STR("session:123")));
    assert_false(vt_hotspots_is_wrapper(VT_STR("session")));
    assert_false(vt_hotspots_is_wrapper(VT_STR("Conversation")));
    assert_false(vt_hotspots_is_wrapper(VT_STR("pipelines")));
    assert_false(vt_hotspots_is_wrapper(VT_STR("llm")));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_worked_run),
        cmocka_unit_test(test_wrappers_kept),
        cmocka_unit_test(test_include),
        cmocka_unit_test(test_exclude),
        cmocka_unit_test(test_include_wrapper),
        cmocka_unit_test(test_ranking_ties),
        cmocka_unit_test(test_top_ten),
        cmocka_unit_test(test_parent_cycle),
        cmocka_unit_test(test_parent_in_other_trace),
        cmocka_unit_test(test_limits_and_errors),
        cmocka_unit_test(test_large_run),
        cmocka_unit_test(test_is_wrapper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
