/*
 * test_summary.c - the trace summary (analysis/summary.h) and the span tree under it
 * (analysis/tree.h), on hand-built rows whose expected figures are worked out in the comments.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "analysis/summary.h"
#include "analysis/tree.h"

#define T0 1700000000000000000ull /* a base time in ns, so offsets stay readable */
#define MS 1000000ull

static vt_arena_t g_a;

static int setup(void **state) {
    (void)state;
    vt_arena_init(&g_a, 0);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    vt_arena_free(&g_a);
    return 0;
}

/* A row of trace `trace`, span `span`, parent `parent` (0 = none), over [start, end] ms after
 * T0. Ids are the small numbers in the last byte. */
static vt_span_row_t row(uint8_t trace, uint8_t span, uint8_t parent, const char *name,
                         uint64_t start, uint64_t end) {
    vt_span_row_t r;
    memset(&r, 0, sizeof r);
    r.trace_id[15] = trace;
    r.span_id[7] = span;
    if (parent) {
        r.has_parent = true;
        r.parent_span_id[7] = parent;
    }
    r.name = vt_str_c(name);
    r.start_ns = T0 + start * MS;
    r.end_ns = T0 + end * MS;
    return r;
}

static void test_empty(void **state) {
    (void)state;
    vt_summary_t s;
    memset(&s, 0xab, sizeof s);
    assert_int_equal(vt_summary_compute(&g_a, NULL, 0, &s), VT_OK);
    assert_int_equal(s.span_count, 0);
    assert_int_equal(s.trace_count, 0);
    assert_int_equal(s.root_span_count, 0);
    assert_int_equal(s.orphan_span_count, 0);
    assert_int_equal(s.child_timing_violation_count, 0);
    assert_int_equal(s.status_counts[0] + s.status_counts[1] + s.status_counts[2], 0);
    assert_int_equal(s.export_lag.sample_count, 0);
    assert_int_equal(s.export_lag.clock_skew_sample_count, 0);
    assert_true(s.export_lag.p95_seconds == 0.0);
    assert_int_equal(s.start_ns, 0);
    assert_int_equal(s.end_ns, 0);
    assert_int_equal(s.n_groups, 0);
    assert_int_equal(s.n_slowest, 0);
    assert_int_equal(s.n_errors, 0);
    assert_int_equal(s.n_resource_keys, 0);
}

/*
 * Trace 1: root 1 [1000,2000]; 2 child of 1 [1100,1500] (inside); 3 child of 1 [900,1200]
 * (starts before its parent: violation); 4 child of 2 [1400,1600] (ends after 2: violation);
 * 5 child of 99, which does not exist (orphan).
 * Trace 2: root 1 [3000,4000] (same span id as trace 1's root: ids are per trace);
 * 6 child of 2 [3100,3200]: span 2 exists only in trace 1, so this is an orphan, and it is not a
 * violation although trace 1's span 2 does not contain it.
 */
static void structure_rows(vt_span_row_t *r) {
    r[0] = row(1, 1, 0, "root", 1000, 2000);
    r[1] = row(1, 2, 1, "a", 1100, 1500);
    r[2] = row(1, 3, 1, "b", 900, 1200);
    r[3] = row(1, 4, 2, "c", 1400, 1600);
    r[4] = row(1, 5, 99, "d", 1200, 1300);
    r[5] = row(2, 1, 0, "root", 3000, 4000);
    r[6] = row(2, 6, 2, "e", 3100, 3200);
}

static void test_tree(void **state) {
    (void)state;
    vt_span_row_t r[7];
    structure_rows(r);
    vt_tree_t t;
    assert_int_equal(vt_tree_build(&g_a, r, 7, &t), VT_OK);
    assert_int_equal(t.n_traces, 2);
    assert_int_equal(t.n_roots, 2);
    assert_int_equal(t.n_orphans, 2);
    const int32_t want[7] = {VT_TREE_ROOT, 0, 0, 1, VT_TREE_ORPHAN, VT_TREE_ROOT, VT_TREE_ORPHAN};
    for (int i = 0; i < 7; i++)
        assert_int_equal(t.parent[i], want[i]);

    /* Two rows with one (trace, span): children see the first of them. */
    vt_span_row_t d[3] = {row(1, 7, 0, "x", 0, 10), row(1, 7, 0, "x", 0, 10),
                          row(1, 8, 7, "y", 1, 2)};
    assert_int_equal(vt_tree_build(&g_a, d, 3, &t), VT_OK);
    assert_int_equal(t.n_traces, 1);
    assert_int_equal(t.parent[2], 0);

    assert_int_equal(vt_tree_build(&g_a, NULL, 0, &t), VT_OK);
    assert_null(t.parent);
    assert_int_equal(t.n_traces, 0);
}

static void test_structure_and_status(void **state) {
    (void)state;
    vt_span_row_t r[7];
    structure_rows(r);
    r[1].status_code = VT_STATUS_OK;
    r[2].status_code = VT_STATUS_ERROR;
    r[3].status_code = VT_STATUS_ERROR;
    r[4].status_code = 7; /* out of range: counted as UNSET */
    vt_summary_t s;
    assert_int_equal(vt_summary_compute(&g_a, r, 7, &s), VT_OK);
    assert_int_equal(s.span_count, 7);
    assert_int_equal(s.trace_count, 2);
    assert_int_equal(s.root_span_count, 2);
    assert_int_equal(s.orphan_span_count, 2);
    assert_int_equal(s.child_timing_violation_count, 2);
    assert_int_equal(s.status_counts[VT_STATUS_UNSET], 4);
    assert_int_equal(s.status_counts[VT_STATUS_OK], 1);
    assert_int_equal(s.status_counts[VT_STATUS_ERROR], 2);
    /* Earliest start 900 (span 3), latest end 4000. */
    assert_int_equal(s.start_ns, T0 + 900 * MS);
    assert_int_equal(s.end_ns, T0 + 4000 * MS);
    /* Error spans in start order: span 3 (900) then span 4 (1400). */
    assert_int_equal(s.n_errors, 2);
    assert_int_equal(s.errors[0], 2);
    assert_int_equal(s.errors[1], 3);
}

/*
 * Groups. llm: [0,10] [5,15] [6,8] [20,30] -> count 4, total 10+10+2+10 = 32 ms, union
 * [0,15] + [20,30] = 25 ms. tts: [0,40] -> union 40. stt: [35,35] (zero length) -> union 0.
 * The trace lasts 0..40 = 40 ms, so llm covers 62.5 %, tts 100 %, stt 0 %.
 * Order by total: tts (40), llm (32), stt (0).
 */
static void test_groups_union(void **state) {
    (void)state;
    vt_span_row_t r[6] = {
        row(1, 1, 0, "llm", 20, 30), row(1, 2, 0, "tts", 0, 40), row(1, 3, 0, "llm", 0, 10),
        row(1, 4, 0, "llm", 6, 8),   row(1, 5, 0, "llm", 5, 15), row(1, 6, 0, "stt", 35, 35),
    };
    r[0].status_code = VT_STATUS_ERROR;
    r[3].status_code = VT_STATUS_ERROR;
    vt_summary_t s;
    assert_int_equal(vt_summary_compute(&g_a, r, 6, &s), VT_OK);
    assert_int_equal(s.n_groups, 3);
    assert_true(vt_str_eq_c(s.groups[0].name, "tts"));
    assert_int_equal(s.groups[0].count, 1);
    assert_int_equal(s.groups[0].total_ns, 40 * MS);
    assert_int_equal(s.groups[0].covered_ns, 40 * MS);
    assert_true(fabs(s.groups[0].time_percent - 100.0) < 1e-9);
    assert_int_equal(s.groups[0].error_count, 0);

    assert_true(vt_str_eq_c(s.groups[1].name, "llm"));
    assert_int_equal(s.groups[1].count, 4);
    assert_int_equal(s.groups[1].total_ns, 32 * MS);
    assert_int_equal(s.groups[1].covered_ns, 25 * MS);
    assert_true(fabs(s.groups[1].time_percent - 62.5) < 1e-9);
    assert_int_equal(s.groups[1].error_count, 2);

    assert_true(vt_str_eq_c(s.groups[2].name, "stt"));
    assert_int_equal(s.groups[2].covered_ns, 0);
    assert_true(s.groups[2].time_percent == 0.0);

    /* A trace of zero duration: percentages are 0, not NaN. */
    vt_span_row_t z[2] = {row(1, 1, 0, "x", 5, 5), row(1, 2, 0, "x", 5, 5)};
    assert_int_equal(vt_summary_compute(&g_a, z, 2, &s), VT_OK);
    assert_int_equal(s.n_groups, 1);
    assert_int_equal(s.groups[0].count, 2);
    assert_true(s.groups[0].time_percent == 0.0);

    /* A name stored empty (NULL pointer, length 0) is a group like any other. */
    vt_span_row_t e[3] = {row(1, 1, 0, "x", 0, 4), row(1, 2, 0, "x", 0, 4),
                          row(1, 3, 0, "x", 0, 2)};
    e[1].name = VT_STR_NULL;
    assert_int_equal(vt_summary_compute(&g_a, e, 3, &s), VT_OK);
    assert_int_equal(s.n_groups, 2);
    assert_true(vt_str_eq_c(s.groups[0].name, "x"));
    assert_int_equal(s.groups[0].total_ns, 6 * MS);
    assert_int_equal(s.groups[1].name.n, 0);
    assert_int_equal(s.groups[1].count, 1);
}

/*
 * Export lag = received - end. Lags 1.0, 2.0, 3.0, 4.0 and -0.5 s (received before the end: clock
 * skew); one row without a receive time is not a sample. Average 9.5/5 = 1.9; sorted
 * [-0.5, 1, 2, 3, 4], p95 rank = 0.95 * 4 = 3.8 -> 3 + 0.8 * (4 - 3) = 3.8; max 4.
 */
static void test_export_lag(void **state) {
    (void)state;
    const double lags[5] = {3.0, -0.5, 1.0, 4.0, 2.0};
    vt_span_row_t r[6];
    for (int i = 0; i < 5; i++) {
        r[i] = row(1, (uint8_t)(i + 1), 0, "s", 0, 100);
        r[i].received_ns = (uint64_t)((int64_t)r[i].end_ns + (int64_t)(lags[i] * 1e9));
    }
    r[5] = row(1, 6, 0, "s", 0, 100);
    vt_summary_t s;
    assert_int_equal(vt_summary_compute(&g_a, r, 6, &s), VT_OK);
    assert_int_equal(s.export_lag.sample_count, 5);
    assert_int_equal(s.export_lag.clock_skew_sample_count, 1);
    assert_true(fabs(s.export_lag.average_seconds - 1.9) < 1e-12);
    assert_true(fabs(s.export_lag.p95_seconds - 3.8) < 1e-12);
    assert_true(fabs(s.export_lag.max_seconds - 4.0) < 1e-12);

    /* One sample: every statistic is that sample. Two: p95 = a + 0.95 * (b - a). */
    assert_int_equal(vt_summary_compute(&g_a, r + 1, 1, &s), VT_OK);
    assert_int_equal(s.export_lag.sample_count, 1);
    assert_true(fabs(s.export_lag.p95_seconds + 0.5) < 1e-12);
    assert_true(fabs(s.export_lag.max_seconds + 0.5) < 1e-12);
    assert_int_equal(vt_summary_compute(&g_a, r + 2, 2, &s), VT_OK); /* lags 1 and 4 */
    assert_true(fabs(s.export_lag.p95_seconds - 3.85) < 1e-12);
    assert_true(fabs(s.export_lag.average_seconds - 2.5) < 1e-12);

    /* Nanosecond lags survive: the difference is taken before converting to seconds. */
    vt_span_row_t one = row(1, 1, 0, "s", 0, 1);
    one.received_ns = one.end_ns + 1;
    assert_int_equal(vt_summary_compute(&g_a, &one, 1, &s), VT_OK);
    assert_true(s.export_lag.max_seconds == 1e-9);
}

/* Slowest: durations 10, 50, 30, 50, 20, 40, 5 ms; the two 50s tie and the earlier start (row 3,
 * start 0) goes first. Top five: rows 3, 1, 5, 2, 4. */
static void test_slowest(void **state) {
    (void)state;
    vt_span_row_t r[7] = {
        row(1, 1, 0, "a", 0, 10), row(1, 2, 0, "b", 10, 60), row(1, 3, 0, "c", 0, 30),
        row(1, 4, 0, "d", 0, 50), row(1, 5, 0, "e", 0, 20),  row(1, 6, 0, "f", 0, 40),
        row(1, 7, 0, "g", 0, 5),
    };
    vt_summary_t s;
    assert_int_equal(vt_summary_compute(&g_a, r, 7, &s), VT_OK);
    assert_int_equal(s.n_slowest, 5);
    const uint32_t want[5] = {3, 1, 5, 2, 4};
    for (int i = 0; i < 5; i++)
        assert_int_equal(s.slowest[i], want[i]);

    assert_int_equal(vt_summary_compute(&g_a, r, 2, &s), VT_OK);
    assert_int_equal(s.n_slowest, 2);
    assert_int_equal(s.slowest[0], 1);
    assert_int_equal(s.slowest[1], 0);
}

/* 25 error spans given latest first: the 20 listed are the 20 earliest, in start order. */
static void test_error_spans_capped(void **state) {
    (void)state;
    vt_span_row_t r[30];
    for (int i = 0; i < 30; i++) {
        r[i] = row(1, (uint8_t)(i + 1), 0, "s", (uint64_t)(100 - i), 200);
        r[i].status_code = i < 25 ? VT_STATUS_ERROR : VT_STATUS_OK;
    }
    vt_summary_t s;
    assert_int_equal(vt_summary_compute(&g_a, r, 30, &s), VT_OK);
    assert_int_equal(s.status_counts[VT_STATUS_ERROR], 25);
    assert_int_equal(s.n_errors, VT_SUMMARY_ERRORS);
    /* Row 24 starts at 76, the earliest error; row 5 starts at 95, the 20th. */
    for (int i = 0; i < VT_SUMMARY_ERRORS; i++)
        assert_int_equal(s.errors[i], 24 - i);
}

/* Keys of every distinct resource, sorted and unique; equal texts at different addresses count
 * once; text that is not a JSON object adds nothing. */
static void test_resource_keys(void **state) {
    (void)state;
    static const char res_a[] = "{\"service.name\":\"a\",\"b\":1}";
    char res_a_copy[sizeof res_a];
    memcpy(res_a_copy, res_a, sizeof res_a);
    static const char res_b[] = "{\"a\":true,\"service.name\":\"b\",\"z\":{\"nested\":1}}";
    vt_span_row_t r[5];
    for (int i = 0; i < 5; i++)
        r[i] = row(1, (uint8_t)(i + 1), 0, "s", 0, 1);
    r[0].resource_json = vt_str_c(res_a);
    r[1].resource_json = vt_str_c(res_b);
    r[2].resource_json = vt_str_c(res_a_copy);
    r[3].resource_json = VT_STR("not json");
    r[4].resource_json = VT_STR("[1,2]");
    vt_summary_t s;
    assert_int_equal(vt_summary_compute(&g_a, r, 5, &s), VT_OK);
    const char *want[] = {"a", "b", "service.name", "z"};
    assert_int_equal(s.n_resource_keys, 4);
    for (int i = 0; i < 4; i++)
        assert_true(vt_str_eq_c(s.resource_keys[i], want[i]));
}

/* A larger input: a chain of 5,000 spans (each the parent of the next) plus siblings, checked
 * against figures that follow from the construction; exercises the sorted lookups at size. */
static void test_large(void **state) {
    (void)state;
    enum { N = 10000 };
    vt_span_row_t *r = calloc(N, sizeof *r);
    assert_non_null(r);
    for (uint32_t i = 0; i < N; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].trace_id[0] = (uint8_t)(i % 4 + 1); /* four traces */
        memcpy(r[i].span_id, &(uint64_t){i + 1}, 8);
        if (i >= 4) {
            r[i].has_parent = true;
            memcpy(r[i].parent_span_id, &(uint64_t){i - 4 + 1}, 8); /* same trace: i - 4 */
        }
        r[i].name = i % 2 ? VT_STR("odd") : VT_STR("even");
        /* Each span starts later and ends earlier than its parent, except every 100th, which
         * ends 1 ns after its parent. */
        r[i].start_ns = T0 + i;
        r[i].end_ns = T0 + 2 * (uint64_t)N - i + (i >= 4 && i % 100 == 0 ? 5 : 0);
        r[i].received_ns = r[i].end_ns + 1000000000ull;
    }
    vt_summary_t s;
    assert_int_equal(vt_summary_compute(&g_a, r, N, &s), VT_OK);
    assert_int_equal(s.trace_count, 4);
    assert_int_equal(s.root_span_count, 4);
    assert_int_equal(s.orphan_span_count, 0);
    /* i = 100, 200, ... 9900 end 5 ns late against parents that end 4 ns later than them
     * without the bump: 99 violations. */
    assert_int_equal(s.child_timing_violation_count, 99);
    assert_int_equal(s.export_lag.sample_count, N);
    assert_true(fabs(s.export_lag.p95_seconds - 1.0) < 1e-12);
    assert_int_equal(s.n_groups, 2);
    free(r);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_empty),      T(test_tree),    T(test_structure_and_status), T(test_groups_union),
        T(test_export_lag), T(test_slowest), T(test_error_spans_capped),   T(test_resource_keys),
        T(test_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
