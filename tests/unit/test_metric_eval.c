/*
 * test_metric_eval.c - unit tests for src/analysis/metric_eval: parsing and validating metric
 * definitions, every aggregation through a custom trace metric, exact and prefix span names,
 * numeric strings and skipped values, attribute text edge cases (escapes, duplicates, nesting,
 * damage), metrics without spans, target conditions, STT WER from spans and a transcript, and
 * the built-ins.
 *
 * Expected values are worked by hand (percentiles: rank = p/100 * (n-1), linear interpolation):
 *   ttfb values {5,1,4,2,3}: average 3, median 3, p90 4.6, p95 4.8, p99 4.96, sum 15.
 *   {40,10,30,20}: median 25 (rank 1.5), p90 37 (rank 2.7).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "analysis/metric_eval.h"
#include "otlp/span.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)
#define SEC 1000000000ull

/* A span row with what evaluation reads. attrs is the stored attribute object text. */
static vt_span_row_t row(const char *name, uint64_t start_ms, uint64_t dur_ms, int32_t status,
                         const char *attrs) {
    vt_span_row_t r;
    memset(&r, 0, sizeof r);
    r.name = vt_str_c(name);
    r.start_ns = start_ms * 1000000ull;
    r.end_ns = (start_ms + dur_ms) * 1000000ull;
    r.status_code = status;
    r.attributes_json = vt_str_c(attrs ? attrs : "{}");
    return r;
}

/* Parses a definition from JSON text; the test fails unless it is valid. */
static vt_metric_def_t def_of(vt_arena_t *a, const char *json) {
    json_error_t jerr;
    json_t *obj = json_loads(json, 0, &jerr);
    assert_non_null(obj);
    vt_metric_def_t d;
    vt_metric_error_t err;
    vt_err_t e = vt_metric_def_parse(a, obj, &d, &err);
    if (e)
        fprintf(stderr, "unexpected: %s %s\n", err.field, err.description);
    assert_int_equal(e, VT_OK);
    json_decref(obj);
    return d;
}

/* The field a definition is refused for. */
static void assert_invalid(const char *json, const char *field) {
    vt_arena_t a;
    vt_arena_init(&a, 0);
    /* NULs are allowed here so that the parser's own check is what refuses them. */
    json_t *obj = json_loads(json, JSON_ALLOW_NUL, NULL);
    assert_non_null(obj);
    vt_metric_def_t d;
    vt_metric_error_t err;
    assert_int_equal(vt_metric_def_parse(&a, obj, &d, &err), VT_EINVAL);
    if (strcmp(err.field, field) != 0)
        fprintf(stderr, "for %s: got field %s (%s)\n", json, err.field, err.description);
    assert_string_equal(err.field, field);
    assert_true(strlen(err.description) > 0);
    json_decref(obj);
    vt_arena_free(&a);
}

static vt_metric_output_t eval_in(vt_arena_t *a, const vt_metric_def_t *d,
                                  const vt_metric_input_t *in) {
    vt_metric_output_t o;
    assert_int_equal(vt_metric_eval(a, d, in, &o), VT_OK);
    return o;
}

static vt_metric_output_t eval_rows(vt_arena_t *a, const vt_metric_def_t *d,
                                    const vt_span_row_t *rows, size_t n) {
    vt_metric_input_t in = {rows, n, VT_STR_NULL, VT_STR_NULL};
    return eval_in(a, d, &in);
}

/* A custom metric on span `span` reading metrics.ttfb with `method`. */
static vt_metric_def_t ttfb_metric(vt_arena_t *a, const char *span, const char *method) {
    char json[256];
    snprintf(json, sizeof json,
             "{\"metric_name\":\"m\",\"metric_type\":\"METRIC_CUSTOM_TRACE\",\"span_name\":\"%s\","
             "\"metric_attribute\":\"metrics.ttfb\",\"aggregation_method\":\"%s\"}",
             span, method);
    return def_of(a, json);
}

static void assert_completed(const vt_metric_output_t *o, double value, size_t samples) {
    if (o->status != VT_METRIC_COMPLETED)
        fprintf(stderr, "FAILED: %s\n", o->status_reason);
    assert_int_equal(o->status, VT_METRIC_COMPLETED);
    NEAR(o->value, value);
    assert_int_equal(o->sample_count, samples);
    assert_string_equal(o->status_reason, "");
}

static void assert_failed(const vt_metric_output_t *o, const char *reason) {
    assert_int_equal(o->status, VT_METRIC_FAILED);
    assert_int_equal(o->result, VT_METRIC_RESULT_NONE);
    assert_string_equal(o->status_reason, reason);
}

/* ---- definitions ------------------------------------------------------------------------- */

static void test_parse_valid(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_metric_def_t d = def_of(
        &a, "{\"metric_name\":\"LLM p90\",\"description\":\"slow llm\",\"metric_type\":"
            "\"METRIC_CUSTOM_TRACE\",\"span_name\":\"llm*\",\"value_source\":\"attribute\","
            "\"metric_attribute\":\"metrics.ttfb\",\"aggregation_method\":\"p90\",\"unit\":\"ms\","
            "\"target_condition\":{\"comparison_operator\":\"lte\",\"target_float\":2},"
            "\"ignored\":true}");
    assert_string_equal(d.metric_name, "LLM p90");
    assert_string_equal(d.description, "slow llm");
    assert_int_equal(d.type, VT_METRIC_CUSTOM_TRACE);
    assert_int_equal(d.n_span_names, 1);
    assert_true(vt_str_eq_c(d.span_names[0], "llm*"));
    assert_int_equal(d.source, VT_METRIC_SOURCE_ATTRIBUTE);
    assert_true(vt_str_eq_c(d.attribute, "metrics.ttfb"));
    assert_int_equal(d.method, VT_AGG_P90);
    assert_string_equal(d.unit, "ms");
    assert_true(d.target.present);
    assert_int_equal(d.target.op, VT_METRIC_CMP_LTE);
    NEAR(d.target.target_float, 2);
    assert_false(d.builtin);
    assert_null(d.metric_id);

    /* Defaults: value_source attribute; the unit follows what is measured. */
    d = ttfb_metric(&a, "llm", "average");
    assert_int_equal(d.source, VT_METRIC_SOURCE_ATTRIBUTE);
    assert_null(d.unit);
    assert_null(d.description);
    assert_false(d.target.present);
    d = def_of(&a, "{\"metric_name\":\"d\",\"metric_type\":\"METRIC_CUSTOM_TRACE\","
                   "\"span_name\":\"tts\",\"value_source\":\"duration\",\"metric_attribute\":\"x\","
                   "\"aggregation_method\":\"max\",\"description\":null,\"unit\":null}");
    assert_int_equal(d.source, VT_METRIC_SOURCE_DURATION);
    assert_int_equal(d.attribute.n, 0); /* not used by duration metrics */
    assert_string_equal(d.unit, "s");
    /* count and the rates need no attribute. */
    d = def_of(&a, "{\"metric_name\":\"c\",\"metric_type\":\"METRIC_CUSTOM_TRACE\","
                   "\"span_name\":\"tool_call\",\"aggregation_method\":\"count\"}");
    assert_string_equal(d.unit, "count");
    d = def_of(&a, "{\"metric_name\":\"e\",\"metric_type\":\"METRIC_CUSTOM_TRACE\","
                   "\"span_name\":\"tool_call\",\"aggregation_method\":\"error_rate\"}");
    assert_int_equal(d.method, VT_AGG_ERROR_RATE);
    assert_string_equal(d.unit, "ratio");

    /* WER types ignore the custom fields. */
    d = def_of(&a, "{\"metric_name\":\"w\",\"metric_type\":\"METRIC_STT_WER\",\"span_name\":\"x\","
                   "\"target_condition\":{\"comparison_operator\":\"lt\",\"target_float\":0.1}}");
    assert_int_equal(d.type, VT_METRIC_STT_WER);
    assert_int_equal(d.n_span_names, 0);
    assert_string_equal(d.unit, "ratio");
    assert_true(d.target.present);
    d = def_of(&a, "{\"metric_name\":\"w\",\"metric_type\":\"METRIC_STT_WER_AUDIO_UPLOAD\"}");
    assert_int_equal(d.type, VT_METRIC_STT_WER_AUDIO_UPLOAD);

    /* in / nin take a list. */
    d = def_of(&a, "{\"metric_name\":\"i\",\"metric_type\":\"METRIC_CUSTOM_TRACE\","
                   "\"span_name\":\"t\",\"aggregation_method\":\"count\",\"target_condition\":"
                   "{\"comparison_operator\":\"nin\",\"target_values\":[0,2.5]}}");
    assert_int_equal(d.target.op, VT_METRIC_CMP_NIN);
    assert_int_equal(d.target.n_target_values, 2);
    NEAR(d.target.target_values[1], 2.5);
    vt_arena_free(&a);
}

static void test_parse_errors(void **state) {
    (void)state;
#define CT "\"metric_type\":\"METRIC_CUSTOM_TRACE\""
#define OK_REST "\"span_name\":\"llm\",\"metric_attribute\":\"a\",\"aggregation_method\":\"max\""
    assert_invalid("{" CT "," OK_REST "}", "metric_name");
    assert_invalid("{\"metric_name\":\"\"," CT "," OK_REST "}", "metric_name");
    assert_invalid("{\"metric_name\":42," CT "," OK_REST "}", "metric_name");
    assert_invalid("{\"metric_name\":\"a\\u0000b\"," CT "," OK_REST "}", "metric_name");
    assert_invalid("{\"metric_name\":\"m\"," OK_REST "}", "metric_type");
    assert_invalid("{\"metric_name\":\"m\",\"metric_type\":\"METRIC_VIBES\"," OK_REST "}",
                   "metric_type");
    assert_invalid("{\"metric_name\":\"m\",\"description\":[]," CT "," OK_REST "}", "description");
    assert_invalid("{\"metric_name\":\"m\"," CT ",\"metric_attribute\":\"a\","
                   "\"aggregation_method\":\"max\"}",
                   "span_name");
    assert_invalid("{\"metric_name\":\"m\"," CT ",\"span_name\":\"\",\"metric_attribute\":\"a\","
                   "\"aggregation_method\":\"max\"}",
                   "span_name");
    assert_invalid("{\"metric_name\":\"m\"," CT
                   ",\"span_name\":\"llm\",\"metric_attribute\":\"a\"}",
                   "aggregation_method");
    assert_invalid("{\"metric_name\":\"m\"," CT ",\"span_name\":\"llm\",\"metric_attribute\":\"a\","
                   "\"aggregation_method\":\"mean\"}",
                   "aggregation_method");
    assert_invalid("{\"metric_name\":\"m\"," CT "," OK_REST ",\"value_source\":\"tokens\"}",
                   "value_source");
    assert_invalid("{\"metric_name\":\"m\"," CT ",\"span_name\":\"llm\","
                   "\"aggregation_method\":\"average\"}",
                   "metric_attribute");
    assert_invalid("{\"metric_name\":\"m\"," CT "," OK_REST ",\"unit\":\"parsecs\"}", "unit");
    assert_invalid("{\"metric_name\":\"m\"," CT "," OK_REST ",\"target_condition\":5}",
                   "target_condition");
    assert_invalid("{\"metric_name\":\"m\"," CT "," OK_REST
                   ",\"target_condition\":{\"comparison_operator\":\"approx\",\"target_float\":1}}",
                   "target_condition.comparison_operator");
    assert_invalid("{\"metric_name\":\"m\"," CT "," OK_REST
                   ",\"target_condition\":{\"comparison_operator\":\"lt\",\"target_float\":\"x\"}}",
                   "target_condition.target_float");
    assert_invalid("{\"metric_name\":\"m\"," CT "," OK_REST
                   ",\"target_condition\":{\"comparison_operator\":\"lt\"}}",
                   "target_condition.target_float");
    assert_invalid("{\"metric_name\":\"m\"," CT "," OK_REST
                   ",\"target_condition\":{\"comparison_operator\":\"in\",\"target_values\":[]}}",
                   "target_condition.target_values");
    assert_invalid("{\"metric_name\":\"m\"," CT "," OK_REST
                   ",\"target_condition\":{\"comparison_operator\":\"in\",\"target_values\":[1,"
                   "\"2\"]}}",
                   "target_condition.target_values[1]");
#undef CT
#undef OK_REST
    /* Not an object at all. */
    vt_arena_t a;
    vt_arena_init(&a, 0);
    json_t *arr = json_array();
    vt_metric_def_t d;
    vt_metric_error_t err;
    assert_int_equal(vt_metric_def_parse(&a, arr, &d, &err), VT_EINVAL);
    json_decref(arr);
    vt_arena_free(&a);
}

/* ---- custom trace metrics ---------------------------------------------------------------- */

/* Five llm spans with ttfb 5,1,4,2,3 given as an integer, doubles and numeric strings; one
 * llm span without the attribute (ERROR); two spans of other names that must not count. */
static void llm_rows(vt_span_row_t *rows) {
    rows[0] = row("llm", 0, 500, VT_STATUS_OK, "{\"metrics.ttfb\":5}");
    rows[1] = row("llm", 1000, 1500, VT_STATUS_UNSET, "{\"x\":\"y\",\"metrics.ttfb\":1.0}");
    rows[2] = row("llm", 3000, 250, VT_STATUS_ERROR, "{\"metrics.ttfb\":\"4\"}");
    rows[3] = row("llm", 4000, 750, VT_STATUS_OK, "{\"metrics.ttfb\":\" 2.0 \",\"z\":[1,2]}");
    rows[4] = row("llm", 5000, 1000, VT_STATUS_OK, "{\"a\":{\"b\":1},\"metrics.ttfb\":3e0}");
    rows[5] = row("llm", 6000, 2000, VT_STATUS_ERROR, "{}");
    rows[6] = row("llm.retry", 7000, 100, VT_STATUS_OK, "{\"metrics.ttfb\":99}");
    rows[7] = row("tts", 8000, 100, VT_STATUS_OK, "{\"metrics.ttfb\":99}");
}

static void test_every_aggregation(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_span_row_t rows[8];
    llm_rows(rows);
    static const struct {
        const char *method;
        double want;
        size_t samples;
    } cases[] = {
        {"average", 3, 5},
        {"median", 3, 5},
        {"p90", 4.6, 5},
        {"p95", 4.8, 5},
        {"p99", 4.96, 5},
        {"max", 5, 5},
        {"min", 1, 5},
        {"sum", 15, 5},
        /* count and the rates look at all six llm spans, attribute or not; two are ERROR. */
        {"count", 6, 6},
        {"error_rate", 2.0 / 6, 6},
        {"success_rate", 4.0 / 6, 6},
    };
    for (size_t i = 0; i < VT_ARRAY_LEN(cases); i++) {
        vt_metric_def_t d = ttfb_metric(&a, "llm", cases[i].method);
        vt_metric_output_t o = eval_rows(&a, &d, rows, 8);
        assert_completed(&o, cases[i].want, cases[i].samples);
        assert_int_equal(o.result, VT_METRIC_RESULT_NONE);
    }
    /* An even count: 40,10,30,20. */
    vt_span_row_t even[4] = {
        row("stt", 0, 1, 0, "{\"metrics.ttfb\":40}"), row("stt", 1, 1, 0, "{\"metrics.ttfb\":10}"),
        row("stt", 2, 1, 0, "{\"metrics.ttfb\":30}"), row("stt", 3, 1, 0, "{\"metrics.ttfb\":20}")};
    vt_metric_def_t d = ttfb_metric(&a, "stt", "median");
    vt_metric_output_t o = eval_rows(&a, &d, even, 4);
    assert_completed(&o, 25, 4);
    d = ttfb_metric(&a, "stt", "p90");
    o = eval_rows(&a, &d, even, 4);
    assert_completed(&o, 37, 4);
    /* One value. */
    d = ttfb_metric(&a, "stt", "p99");
    o = eval_rows(&a, &d, even + 2, 1);
    assert_completed(&o, 30, 1);
    vt_arena_free(&a);
}

static void test_duration(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_span_row_t rows[8];
    llm_rows(rows);
    /* llm durations: 0.5 1.5 0.25 0.75 1.0 2.0 s. */
    vt_metric_def_t d = def_of(&a, "{\"metric_name\":\"d\",\"metric_type\":\"METRIC_CUSTOM_TRACE\","
                                   "\"span_name\":\"llm\",\"value_source\":\"duration\","
                                   "\"aggregation_method\":\"sum\"}");
    vt_metric_output_t o = eval_rows(&a, &d, rows, 8);
    assert_completed(&o, 6.0, 6);
    d.method = VT_AGG_MEDIAN; /* 0.25 0.5 0.75 1.0 1.5 2.0: (0.75 + 1.0) / 2 */
    o = eval_rows(&a, &d, rows, 8);
    assert_completed(&o, 0.875, 6);
    vt_arena_free(&a);
}

static void test_span_names(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_span_row_t rows[] = {
        row("llm", 0, 1000, 0, NULL),
        row("llm_tool_call", 0, 2000, 0, NULL),
        row("llm.retry", 0, 3000, 0, NULL),
        row("stt.provider.google", 0, 4000, 0, NULL),
        row("stt.provider.azure", 0, 5000, 0, NULL),
        row("stt.providerX", 0, 6000, 0, NULL),
        row("ll", 0, 7000, 0, NULL),
    };
    static const struct {
        const char *span;
        size_t count;
        double sum_seconds;
    } cases[] = {
        {"llm", 1, 1}, {"llm*", 3, 6}, {"stt.provider.*", 2, 9}, {"stt.provider*", 3, 15},
        {"*", 7, 28},  {"ll", 1, 7},
    };
    for (size_t i = 0; i < VT_ARRAY_LEN(cases); i++) {
        char json[256];
        snprintf(json, sizeof json,
                 "{\"metric_name\":\"n\",\"metric_type\":\"METRIC_CUSTOM_TRACE\",\"span_name\":"
                 "\"%s\",\"value_source\":\"duration\",\"aggregation_method\":\"count\"}",
                 cases[i].span);
        vt_metric_def_t d = def_of(&a, json);
        vt_metric_output_t o = eval_rows(&a, &d, rows, VT_ARRAY_LEN(rows));
        assert_completed(&o, (double)cases[i].count, cases[i].count);
        d.method = VT_AGG_SUM;
        o = eval_rows(&a, &d, rows, VT_ARRAY_LEN(rows));
        assert_completed(&o, cases[i].sum_seconds, cases[i].count);
    }
    vt_arena_free(&a);
}

static void test_numeric_values(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    /* Numeric: 0.4, "0.6", "1e-1", " 7 ", an escaped "\u0033" (3), an escaped key that reads
     * metrics.ttfb (2), and the later of two duplicates (5, not 100). */
    vt_span_row_t rows[] = {
        row("llm", 0, 1, 0, "{\"metrics.ttfb\":0.4}"),
        row("llm", 1, 1, 0, "{\"metrics.ttfb\":\"0.6\"}"),
        row("llm", 2, 1, 0, "{\"metrics.ttfb\":\"fast\"}"),
        row("llm", 3, 1, 0, "{\"metrics.ttfb\":true}"),
        row("llm", 4, 1, 0, "{\"metrics.ttfb\":\"1e-1\"}"),
        row("llm", 5, 1, 0, "{\"metrics.ttfb\":\"\"}"),
        row("llm", 6, 1, 0, "{\"metrics.ttfb\":\"12abc\"}"),
        row("llm", 7, 1, 0, "{\"metrics.ttfb\":null}"),
        row("llm", 8, 1, 0, "{\"metrics.ttfb\":[1]}"),
        row("llm", 9, 1, 0, "{\"metrics.ttfb\":{\"v\":1}}"),
        row("llm", 10, 1, 0, "{\"metrics.ttfb\":\" 7 \"}"),
        row("llm", 11, 1, 0, "{\"metrics.ttfb\":\"\\u0033\"}"),
        row("llm", 12, 1, 0, "{\"metrics\\u002ettfb\":2}"),
        row("llm", 13, 1, 0, "{\"metrics.ttfb\":100,\"metrics.ttfb\":5}"),
        /* Not top level, not the same key, or not a number. */
        row("llm", 14, 1, 0, "{\"x\":{\"metrics.ttfb\":9},\"y\":[\"metrics.ttfb\",9]}"),
        row("llm", 15, 1, 0, "{\"metrics.ttfb2\":9,\"xmetrics.ttfb\":9}"),
        row("llm", 16, 1, 0, "{\"metrics.ttfb\":\"inf\"}"),
        row("llm", 17, 1, 0, "{\"note\":\"has \\\"metrics.ttfb\\\": 9 in text\"}"),
        /* Damaged text reads as "no attribute", never as a crash. */
        row("llm", 18, 1, 0, "{\"metrics.ttfb\":"),
        row("llm", 19, 1, 0, "{\"metrics.ttfb\" 9}"),
        row("llm", 20, 1, 0, "not json"),
        row("llm", 21, 1, 0, ""),
        row("llm", 22, 1, 0, "{\"metrics.ttfb\":\"unterminated}"),
        row("llm", 23, 1, 0, "{\"a\":[{\"b\":\"]\"}],\"metrics.ttfb\":1,"),
    };
    vt_metric_def_t d = ttfb_metric(&a, "llm", "sum");
    vt_metric_output_t o = eval_rows(&a, &d, rows, VT_ARRAY_LEN(rows));
    assert_completed(&o, 0.4 + 0.6 + 0.1 + 7 + 3 + 2 + 5, 7);
    vt_arena_free(&a);
}

static void test_without_spans_or_values(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_span_row_t rows[8];
    llm_rows(rows);
    vt_metric_def_t d = ttfb_metric(&a, "asr", "average");
    vt_metric_output_t o = eval_rows(&a, &d, rows, 8);
    assert_failed(&o, "no span named asr");
    d = ttfb_metric(&a, "asr.*", "count");
    o = eval_rows(&a, &d, rows, 8);
    assert_failed(&o, "no span whose name starts with asr.");
    d = ttfb_metric(&a, "*", "max");
    o = eval_rows(&a, &d, rows, 0);
    assert_failed(&o, "no spans");
    d = def_of(&a, "{\"metric_name\":\"t\",\"metric_type\":\"METRIC_CUSTOM_TRACE\","
                   "\"span_name\":\"llm\",\"metric_attribute\":\"gen_ai.usage.input_tokens\","
                   "\"aggregation_method\":\"sum\",\"target_condition\":"
                   "{\"comparison_operator\":\"lt\",\"target_float\":10}}");
    o = eval_rows(&a, &d, rows, 8);
    assert_failed(&o, "no numeric values of gen_ai.usage.input_tokens on spans named llm");

    /* The built-in tool_call_count: 0 for a call without tool calls, FAILED without spans. */
    const vt_metric_def_t *tc = vt_metric_builtin(VT_STR("tool_call_count"));
    assert_non_null(tc);
    o = eval_rows(&a, tc, rows, 8);
    assert_completed(&o, 0, 0);
    o = eval_rows(&a, tc, rows, 0);
    assert_failed(&o, "no span named llm_tool_call or tool_call");
    vt_span_row_t tools[] = {row("tool_call", 0, 1, 0, NULL), row("llm_tool_call", 1, 1, 0, NULL),
                             row("tool_call_result", 2, 1, 0, NULL)};
    o = eval_rows(&a, tc, tools, 3);
    assert_completed(&o, 2, 2);
    vt_arena_free(&a);
}

/* ---- target conditions ------------------------------------------------------------------- */

static void test_target_check(void **state) {
    (void)state;
    vt_metric_target_t t = {.present = true, .target_float = 1.25};
    static const struct {
        vt_metric_cmp_t op;
        double value;
        vt_metric_result_t want;
    } cases[] = {
        {VT_METRIC_CMP_GT, 1.3, VT_METRIC_RESULT_PASSED},
        {VT_METRIC_CMP_GT, 1.25, VT_METRIC_RESULT_FAILED},
        {VT_METRIC_CMP_GTE, 1.25, VT_METRIC_RESULT_PASSED},
        {VT_METRIC_CMP_GTE, 1.2, VT_METRIC_RESULT_FAILED},
        {VT_METRIC_CMP_LT, 1.2, VT_METRIC_RESULT_PASSED},
        {VT_METRIC_CMP_LT, 1.25, VT_METRIC_RESULT_FAILED},
        {VT_METRIC_CMP_LTE, 1.25, VT_METRIC_RESULT_PASSED},
        {VT_METRIC_CMP_LTE, 1.3, VT_METRIC_RESULT_FAILED},
        {VT_METRIC_CMP_EQ, 1.25, VT_METRIC_RESULT_PASSED},
        {VT_METRIC_CMP_EQ, 1.2501, VT_METRIC_RESULT_FAILED},
        {VT_METRIC_CMP_NEQ, 1.0, VT_METRIC_RESULT_PASSED},
        {VT_METRIC_CMP_NEQ, 1.25, VT_METRIC_RESULT_FAILED},
    };
    for (size_t i = 0; i < VT_ARRAY_LEN(cases); i++) {
        t.op = cases[i].op;
        assert_int_equal(vt_metric_target_check(&t, cases[i].value), cases[i].want);
    }
    /* eq tolerates rounding: 0.1 + 0.2 is 0.30000000000000004. */
    t.op = VT_METRIC_CMP_EQ;
    t.target_float = 0.3;
    assert_int_equal(vt_metric_target_check(&t, 0.1 + 0.2), VT_METRIC_RESULT_PASSED);
    t = (vt_metric_target_t){
        .present = true, .op = VT_METRIC_CMP_IN, .target_values = {1, 2}, .n_target_values = 2};
    assert_int_equal(vt_metric_target_check(&t, 2), VT_METRIC_RESULT_PASSED);
    assert_int_equal(vt_metric_target_check(&t, 3), VT_METRIC_RESULT_FAILED);
    t.op = VT_METRIC_CMP_NIN;
    assert_int_equal(vt_metric_target_check(&t, 3), VT_METRIC_RESULT_PASSED);
    assert_int_equal(vt_metric_target_check(&t, 1), VT_METRIC_RESULT_FAILED);
    t.present = false;
    assert_int_equal(vt_metric_target_check(&t, 1), VT_METRIC_RESULT_NONE);
}

static void test_target_through_eval(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_span_row_t rows[8];
    llm_rows(rows);
    vt_metric_def_t d = ttfb_metric(&a, "llm", "max"); /* 5 */
    d.target = (vt_metric_target_t){.present = true, .op = VT_METRIC_CMP_LT, .target_float = 5};
    vt_metric_output_t o = eval_rows(&a, &d, rows, 8);
    assert_completed(&o, 5, 5);
    assert_int_equal(o.result, VT_METRIC_RESULT_FAILED);
    d.target.op = VT_METRIC_CMP_LTE;
    o = eval_rows(&a, &d, rows, 8);
    assert_int_equal(o.result, VT_METRIC_RESULT_PASSED);
    /* Without a value there is nothing to compare: no result. */
    o = eval_rows(&a, &d, rows, 0);
    assert_int_equal(o.status, VT_METRIC_FAILED);
    assert_int_equal(o.result, VT_METRIC_RESULT_NONE);
    vt_arena_free(&a);
}

/* ---- STT word error rate ----------------------------------------------------------------- */

static void test_transcript_reference(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    json_t *t = json_loads("[{\"role\":\"user\",\"content\":\"Book a table.\"},"
                           "{\"role\":\"assistant\",\"content\":\"Sure.\"},"
                           "{\"role\":\"user\",\"message\":\"For two\"},"
                           "{\"role\":\"user\",\"content\":\"\"},"
                           "{\"role\":\"user\",\"content\":null,\"message\":\"at seven\"},"
                           "{\"role\":\"user\",\"tool_calls\":[]},"
                           "\"not a message\","
                           "{\"role\":\"system\",\"content\":\"be nice\"}]",
                           0, NULL);
    assert_non_null(t);
    vt_str_t ref;
    assert_int_equal(vt_metric_transcript_reference(&a, t, &ref), VT_OK);
    assert_true(vt_str_eq_c(ref, "Book a table. For two at seven"));
    json_decref(t);
    t = json_loads("{\"role\":\"user\"}", 0, NULL);
    assert_int_equal(vt_metric_transcript_reference(&a, t, &ref), VT_OK);
    assert_int_equal(ref.n, 0);
    json_decref(t);
    assert_int_equal(vt_metric_transcript_reference(&a, NULL, &ref), VT_OK);
    assert_int_equal(ref.n, 0);
    vt_arena_free(&a);
}

/* The text walker must give what the parsed-document version gives on every valid transcript,
 * and nothing on a malformed one (as the parse would fail). */
static void test_transcript_reference_text(void **state) {
    (void)state;
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"[{\"role\":\"user\",\"content\":\"Book a table.\"},{\"role\":\"assistant\",\"content\":"
         "\"Sure.\"},{\"role\":\"user\",\"message\":\"For two\"},{\"role\":\"user\",\"content\":"
         "\"\"},{\"role\":\"user\",\"content\":null,\"message\":\"at seven\"},{\"role\":\"user\","
         "\"tool_calls\":[]},\"not a message\",{\"role\":\"system\",\"content\":\"be nice\"}]",
         "Book a table. For two at seven"},
        /* Escapes in the role and the text are decoded; raw UTF-8 is kept. */
        {"[{\"role\":\"us\\u0065r\",\"content\":\"say \\\"hi\\\"\\n\\u00e9 \\ud83d\\ude00\"},"
         "{\"role\":\"user\",\"content\":\"caf\xc3\xa9\"}]",
         "say \"hi\"\n\xc3\xa9 \xf0\x9f\x98\x80 caf\xc3\xa9"},
        /* The last of repeated keys; nested values in other members; spaces everywhere. */
        {" [ { \"meta\" : {\"role\":\"user\",\"content\":[\"x\"]} , \"role\" : \"assistant\" ,"
         " \"role\" : \"user\" , \"content\" : \"a\" , \"content\" : \"b\" } , 1 , null ] ",
         "b"},
        {"[{\"role\":\"User\",\"content\":\"no\"},{\"role\":\"user\",\"content\":{\"t\":\"x\"},"
         "\"message\":\"yes\"},{\"role\":\"user\",\"content\":\"  \"}]",
         "yes   "},
        {"[]", ""},
        {"[{\"role\":\"assistant\",\"content\":\"hello\"}]", ""},
        {"{\"role\":\"user\",\"content\":\"not in an array\"}", ""},
        {"\"text\"", ""},
    };
    vt_arena_t a;
    vt_arena_init(&a, 0);
    for (size_t i = 0; i < VT_ARRAY_LEN(cases); i++) {
        vt_str_t got, tree;
        assert_int_equal(vt_metric_transcript_reference_text(&a, vt_str_c(cases[i].json), &got),
                         VT_OK);
        if (!vt_str_eq_c(got, cases[i].want))
            fail_msg("case %zu: got \"%.*s\"", i, (int)got.n, got.p ? got.p : "");
        json_t *t = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        assert_non_null(t);
        assert_int_equal(vt_metric_transcript_reference(&a, t, &tree), VT_OK);
        assert_true(vt_str_eq(got, tree));
        json_decref(t);
    }
    /* Malformed text (what json_loads rejects) and no text at all give an empty reference. */
    static const char *const bad[] = {
        "[{\"role\":\"user\",\"content\":\"x\"}",
        "[{\"role\":\"user\",\"content\":\"x\"},]",
        "[{\"role\":\"user\",\"content\":\"x\"} {\"role\":\"user\",\"content\":\"y\"}]",
        "[{\"role\":\"user\",\"content\":\"unterminated}]",
        "[",
        "",
    };
    for (size_t i = 0; i < VT_ARRAY_LEN(bad); i++) {
        vt_str_t got = VT_STR("untouched");
        assert_int_equal(vt_metric_transcript_reference_text(&a, vt_str_c(bad[i]), &got), VT_OK);
        assert_int_equal(got.n, 0);
        assert_null(json_loads(bad[i], JSON_DECODE_ANY, NULL));
    }
    vt_str_t got = VT_STR("untouched");
    assert_int_equal(vt_metric_transcript_reference_text(&a, VT_STR_NULL, &got), VT_OK);
    assert_int_equal(got.n, 0);
    vt_arena_free(&a);
}

static void test_wer(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    const vt_metric_def_t *wer = vt_metric_builtin(VT_STR("stt_wer"));
    const vt_metric_def_t *upload = vt_metric_builtin(VT_STR("stt_wer_audio_upload"));
    assert_non_null(wer);
    assert_non_null(upload);
    json_t *t = json_loads("[{\"role\":\"user\",\"content\":\"Book a table for two.\"},"
                           "{\"role\":\"assistant\",\"content\":\"Sure, what time?\"},"
                           "{\"role\":\"user\",\"content\":\"At seven, please! I'd like the "
                           "window.\"}]",
                           0, NULL);
    vt_str_t ref;
    assert_int_equal(vt_metric_transcript_reference(&a, t, &ref), VT_OK);
    json_decref(t);
    /* The stt spans come out of start order; the alias and a provider child's transcript (not
     * an stt span) and an stt span without any transcript are in the mix. By hand: reference
     * "book a table for two at seven please i'd like the window" (12 words); hypothesis "book
     * the table for at seven please i'd like a window": a->the, two deleted, the->a = 3/12. */
    vt_span_row_t rows[] = {
        row("stt", 5000, 500, 0, "{\"stt.transcription\":\"at seven please I'd like a window\"}"),
        row("stt.provider.google", 0, 100, 0, "{\"transcript\":\"totally different words\"}"),
        row("stt", 0, 500, 0, "{\"metrics.ttfb\":0.2,\"transcript\":\"book the table for\"}"),
        row("stt", 9000, 500, 0, "{\"metrics.ttfb\":0.2}"),
        row("llm", 1000, 100, 0, "{\"transcript\":\"nope\"}"),
    };
    vt_metric_input_t in = {rows, VT_ARRAY_LEN(rows), ref, VT_STR("book a table for")};
    vt_metric_output_t o = eval_in(&a, wer, &in);
    assert_completed(&o, 0.25, 2);
    /* The audio-upload variant compares with the uploaded reference (4 words; the hypothesis
     * has 11): the->a, then 7 insertions = 8/4. */
    o = eval_in(&a, upload, &in);
    assert_completed(&o, 2.0, 2);

    /* Transcripts with escapes are decoded: hypothesis "say "hi" now" -> say hi now. */
    vt_span_row_t esc[] = {row("stt", 0, 1, 0, "{\"transcript\":\"say \\\"hi\\\"\\nnow\"}")};
    in = (vt_metric_input_t){esc, 1, VT_STR("Say hi now."), VT_STR_NULL};
    o = eval_in(&a, wer, &in);
    assert_completed(&o, 0, 1);
    /* Insertions take the WER past 1. */
    vt_span_row_t yes[] = {row("stt", 0, 1, 0, "{\"transcript\":\"yes yes yes\"}")};
    in = (vt_metric_input_t){yes, 1, VT_STR("Yes."), VT_STR_NULL};
    o = eval_in(&a, wer, &in);
    assert_completed(&o, 2, 1);
    /* A target condition on WER. */
    vt_metric_def_t gated = *wer;
    gated.target =
        (vt_metric_target_t){.present = true, .op = VT_METRIC_CMP_LTE, .target_float = 0.1};
    o = eval_in(&a, &gated, &in);
    assert_int_equal(o.result, VT_METRIC_RESULT_FAILED);

    /* What makes WER FAILED. */
    in = (vt_metric_input_t){rows + 4, 1, ref, VT_STR_NULL};
    o = eval_in(&a, wer, &in);
    assert_failed(&o, "no span named stt");
    in = (vt_metric_input_t){rows + 3, 1, ref, VT_STR_NULL};
    o = eval_in(&a, wer, &in);
    assert_failed(&o, "no stt span has a transcript attribute");
    in = (vt_metric_input_t){yes, 1, VT_STR_NULL, VT_STR_NULL};
    o = eval_in(&a, wer, &in);
    assert_failed(&o, "the call's transcript has no user messages to compare with");
    o = eval_in(&a, upload, &in);
    assert_failed(&o, "no reference_transcript was uploaded with the call");
    in = (vt_metric_input_t){yes, 1, VT_STR("?!"), VT_STR_NULL};
    o = eval_in(&a, wer, &in);
    assert_failed(&o, "the reference transcript has no words");
    vt_arena_free(&a);
}

/* ---- built-ins and names ----------------------------------------------------------------- */

static void test_builtins(void **state) {
    (void)state;
    static const char *const ids[] = {
        "llm_ttfb",          "stt_ttfb",        "tts_ttfb", "llm_input_tokens",
        "llm_output_tokens", "tool_call_count", "stt_wer",  "stt_wer_audio_upload"};
    size_t n;
    const vt_metric_def_t *b = vt_metric_builtins(&n);
    assert_int_equal(n, VT_ARRAY_LEN(ids));
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(b[i].metric_id, ids[i]);
        assert_true(b[i].builtin);
        assert_non_null(b[i].metric_name);
        assert_non_null(b[i].unit);
        assert_ptr_equal(vt_metric_builtin(vt_str_c(ids[i])), &b[i]);
    }
    assert_null(vt_metric_builtin(VT_STR("LLM_TTFB")));
    assert_null(vt_metric_builtin(VT_STR("01HZZZZZZZZZZZZZZZZZZZZZZZ")));

    /* Values of the built-ins on one call: ttfb averages per exact name, token sums on llm. */
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_span_row_t rows[] = {
        row("llm", 0, 1, 0,
            "{\"metrics.ttfb\":0.4,\"gen_ai.usage.input_tokens\":800,"
            "\"gen_ai.usage.output_tokens\":60}"),
        row("llm", 1, 1, 0,
            "{\"metrics.ttfb\":0.2,\"gen_ai.usage.input_tokens\":\"200\","
            "\"gen_ai.usage.output_tokens\":40}"),
        row("llm.retry", 2, 1, 0, "{\"metrics.ttfb\":9,\"gen_ai.usage.input_tokens\":1}"),
        row("stt", 3, 1, 0, "{\"metrics.ttfb\":0.5}"),
        row("stt.provider.x", 4, 1, 0, "{\"metrics.ttfb\":9}"),
        row("tts", 5, 1, 0, "{\"metrics.ttfb\":0.1}"),
        row("tts", 6, 1, 0, "{\"metrics.ttfb\":0.3}"),
    };
    static const struct {
        const char *id;
        double want;
        size_t samples;
    } cases[] = {{"llm_ttfb", 0.3, 2},
                 {"stt_ttfb", 0.5, 1},
                 {"tts_ttfb", 0.2, 2},
                 {"llm_input_tokens", 1000, 2},
                 {"llm_output_tokens", 100, 2}};
    for (size_t i = 0; i < VT_ARRAY_LEN(cases); i++) {
        vt_metric_output_t o =
            eval_rows(&a, vt_metric_builtin(vt_str_c(cases[i].id)), rows, VT_ARRAY_LEN(rows));
        assert_completed(&o, cases[i].want, cases[i].samples);
    }
    /* A definition without a type: an id that names no metric. */
    vt_metric_def_t none = {.metric_id = "gone"};
    vt_metric_output_t o = eval_rows(&a, &none, rows, VT_ARRAY_LEN(rows));
    assert_failed(&o, "no metric has this id (it may have been deleted)");
    vt_arena_free(&a);

    assert_string_equal(vt_metric_type_name(VT_METRIC_STT_WER), "METRIC_STT_WER");
    assert_string_equal(vt_metric_type_name(VT_METRIC_NONE), "");
    assert_string_equal(vt_metric_source_name(VT_METRIC_SOURCE_DURATION), "duration");
    assert_string_equal(vt_metric_cmp_name(VT_METRIC_CMP_NIN), "nin");
    assert_string_equal(vt_metric_cmp_name((vt_metric_cmp_t)99), "");
}

/* Long names are cut inside the reason without splitting a UTF-8 character. */
static void test_reason_truncation(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    char name[1001];
    for (int i = 0; i < 500; i++)
        memcpy(name + 2 * i, "\xc3\xa9", 2); /* é, two bytes */
    name[1000] = '\0';
    char json[1400];
    snprintf(json, sizeof json,
             "{\"metric_name\":\"n\",\"metric_type\":\"METRIC_CUSTOM_TRACE\",\"span_name\":\"%s\","
             "\"value_source\":\"duration\",\"aggregation_method\":\"max\"}",
             name);
    vt_metric_def_t d = def_of(&a, json);
    vt_span_row_t r = row("llm", 0, 1, 0, NULL);
    vt_metric_output_t o = eval_rows(&a, &d, &r, 1);
    assert_int_equal(o.status, VT_METRIC_FAILED);
    size_t len = strlen(o.status_reason);
    assert_true(len > 20 && len < VT_METRIC_REASON_MAX);
    assert_memory_equal(o.status_reason, "no span named \xc3\xa9", 16);
    /* 80 bytes of name at most, ending on a whole character. */
    assert_int_equal(len, strlen("no span named ") + 80);
    vt_arena_free(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_every_aggregation),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_span_names),
        cmocka_unit_test(test_numeric_values),
        cmocka_unit_test(test_without_spans_or_values),
        cmocka_unit_test(test_target_check),
        cmocka_unit_test(test_target_through_eval),
        cmocka_unit_test(test_transcript_reference),
        cmocka_unit_test(test_transcript_reference_text),
        cmocka_unit_test(test_wer),
        cmocka_unit_test(test_builtins),
        cmocka_unit_test(test_reason_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
