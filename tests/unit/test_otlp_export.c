/*
 * test_otlp_export.c - the OTLP JSON encoder of stored spans (otlp/otlp_export.h). The main
 * check is the round trip the export endpoint promises: rows -> OTLP JSON -> vt_otlp_decode_json
 * -> vt_ingest_prepare gives back rows with the same ids, times, typed attribute text, events,
 * links, status, dropped counts, resource and scope.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/ingest.h"
#include "otlp/otlp_export.h"
#include "otlp/span.h"

static vt_arena_t g_a;
static vt_buf_t g_b;

static int setup(void **state) {
    (void)state;
    vt_arena_init(&g_a, 0);
    vt_buf_init(&g_b, 0);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    vt_arena_free(&g_a);
    vt_buf_free(&g_b);
    return 0;
}

/* Stored texts in the exact form vt_json_write_* produce, so that the round trip can compare
 * text. Every value type appears: strings with escapes and non-ASCII, int64 extremes, doubles
 * with fraction, exponent and negative zero, booleans, null (an empty value), arrays mixing
 * types and nesting, kvlists nesting arrays, and empty array and kvlist. */
static const char ATTRS_ALL[] =
    "{\"s\":\"h\xc3\xa9\\\"llo\\n\",\"min\":-9223372036854775808,\"max\":9223372036854775807,"
    "\"d\":1.5,\"e\":1e+300,\"tiny\":4.94065645841247e-324,\"neg0\":-0.0,\"t\":true,\"f\":false,"
    "\"nul\":null,"
    "\"arr\":[1,\"x\",2.5,[true],{\"k\":\"v\"},null],\"kv\":{\"a\":1,\"b\":{\"c\":[]}},"
    "\"empty_arr\":[],\"empty_kv\":{}}";
static const char EVENTS[] =
    "[{\"name\":\"ev1\",\"time_unix_nano\":\"1700000000000000001\",\"attributes\":{\"n\":1}},"
    "{\"name\":\"ev2\",\"time_unix_nano\":\"1700000000000000002\",\"attributes\":{},"
    "\"dropped_attributes_count\":3}]";
static const char LINKS[] =
    "[{\"trace_id\":\"0f0e0d0c0b0a09080706050403020100\",\"span_id\":\"1112131415161718\","
    "\"trace_state\":\"a=b\",\"flags\":257,\"attributes\":{\"x\":\"y\",\"z\":2}},"
    "{\"trace_id\":\"0f0e0d0c0b0a09080706050403020101\",\"span_id\":\"2122232425262728\","
    "\"attributes\":{}}]";
static const char RES_1[] = "{\"service.name\":\"agent\",\"n\":3}";
static const char RES_2[] = "{\"service.name\":\"other\",\"deep\":{\"k\":[1,2]}}";
static const char SCOPE_1[] = "{\"name\":\"sc\",\"version\":\"1.0\"}";
static const char SCOPE_2[] = "{\"name\":\"sc2\",\"version\":\"2.0\",\"attributes\":{\"sa\":1}}";
static const char SCOPE_3[] = "{\"name\":\"\",\"version\":\"\"}";

static vt_span_row_t base_row(uint8_t span, const char *name) {
    vt_span_row_t r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < 16; i++)
        r.trace_id[i] = (uint8_t)(0xa0 + i);
    r.span_id[7] = span;
    r.name = vt_str_c(name);
    r.start_ns = 1700000000000000000ull + span;
    r.end_ns = 1700000000500000000ull + span;
    r.attributes_json = VT_STR("{}");
    return r;
}

/* Four rows: A (every value type) and D share resource 1 (D's text is a separate copy, so
 * grouping must go by content) but not their scope; B carries events, links, a parent, trace
 * state, flags, an error status and dropped counts; C has its own resource and scope. */
static void make_rows(vt_span_row_t *r, char *res1_copy) {
    memcpy(res1_copy, RES_1, sizeof RES_1);
    r[0] = base_row(1, "conversation");
    r[0].kind = 2;
    r[0].status_code = VT_STATUS_OK;
    r[0].attributes_json = VT_STR(ATTRS_ALL);
    r[0].resource_json = VT_STR(RES_1);
    r[0].scope_json = VT_STR(SCOPE_1);

    r[1] = base_row(2, "llm \xe2\x86\x92 tool");
    r[1].has_parent = true;
    r[1].parent_span_id[7] = 1;
    r[1].kind = 3;
    r[1].trace_state = VT_STR("k=v,w=x");
    r[1].flags = 1;
    r[1].status_code = VT_STATUS_ERROR;
    r[1].status_message = VT_STR("upstream \"timeout\"");
    r[1].attributes_json = VT_STR("{\"metrics.ttfb\":0.42,\"gen_ai.usage.input_tokens\":512}");
    r[1].events_json = VT_STR(EVENTS);
    r[1].links_json = VT_STR(LINKS);
    r[1].dropped_attrs = 2;
    r[1].dropped_events = 1;
    r[1].dropped_links = 4;
    r[1].resource_json = VT_STR(RES_1);
    r[1].scope_json = VT_STR(SCOPE_1);

    r[2] = base_row(3, "stt");
    r[2].kind = 1;
    r[2].resource_json = VT_STR(RES_2);
    r[2].scope_json = VT_STR(SCOPE_2);

    r[3] = base_row(4, "tts");
    r[3].end_ns = r[3].start_ns; /* zero length */
    r[3].resource_json = vt_str_c(res1_copy);
    r[3].scope_json = VT_STR(SCOPE_3);
}

static void assert_str(vt_str_t got, vt_str_t want) {
    if (!vt_str_eq(got, want))
        fail_msg("got  %.*s\nwant %.*s", (int)got.n, got.p, (int)want.n, want.p);
}

static void test_round_trip(void **state) {
    (void)state;
    vt_span_row_t rows[4];
    char res1_copy[sizeof RES_1];
    make_rows(rows, res1_copy);
    char err[200];
    assert_int_equal(vt_otlp_export_json(&g_b, rows, 4, err, sizeof err), VT_OK);
    assert_false(g_b.failed);

    /* Spot checks on the wire form: 64-bit values as strings, kind and status as numbers. */
    assert_non_null(
        strstr(g_b.data, "{\"key\":\"min\",\"value\":{\"intValue\":\"-9223372036854775808\"}}"));
    assert_non_null(strstr(g_b.data, "{\"key\":\"d\",\"value\":{\"doubleValue\":1.5}}"));
    assert_non_null(strstr(g_b.data, "{\"key\":\"nul\",\"value\":{}}"));
    assert_non_null(strstr(g_b.data, "\"startTimeUnixNano\":\"1700000000000000001\""));
    assert_non_null(
        strstr(g_b.data, "\"status\":{\"code\":2,\"message\":\"upstream \\\"timeout\\\"\"}"));

    vt_batch_t batch;
    char derr[256] = "";
    vt_err_t e = vt_otlp_decode_json(&g_a, g_b.data, g_b.len, &batch, derr, sizeof derr);
    if (e)
        fail_msg("decode failed: %s", derr);
    assert_int_equal(batch.n_spans, 4);
    /* A and D share one resource; three distinct scopes. */
    assert_int_equal(batch.n_resources, 2);
    assert_int_equal(batch.n_scopes, 3);

    vt_ingest_t in;
    assert_int_equal(vt_ingest_prepare(&g_a, &batch, 42, &in), VT_OK);
    assert_int_equal(in.rejected, 0);
    assert_int_equal(in.batch.n_rows, 4);
    for (uint32_t i = 0; i < 4; i++) {
        const vt_span_row_t *got = &in.batch.rows[i];
        const vt_span_row_t *want = NULL;
        for (int k = 0; k < 4; k++)
            if (memcmp(rows[k].span_id, got->span_id, 8) == 0)
                want = &rows[k];
        assert_non_null(want);
        assert_memory_equal(got->trace_id, want->trace_id, 16);
        assert_int_equal(got->has_parent, want->has_parent);
        assert_memory_equal(got->parent_span_id, want->parent_span_id, 8);
        assert_str(got->name, want->name);
        assert_int_equal(got->kind, want->kind);
        assert_int_equal(got->start_ns, want->start_ns);
        assert_int_equal(got->end_ns, want->end_ns);
        assert_int_equal(got->status_code, want->status_code);
        assert_str(got->status_message, want->status_message);
        assert_str(got->trace_state, want->trace_state);
        assert_int_equal(got->flags, want->flags);
        assert_str(got->attributes_json, want->attributes_json);
        assert_str(got->events_json, want->events_json);
        assert_str(got->links_json, want->links_json);
        assert_int_equal(got->dropped_attrs, want->dropped_attrs);
        assert_int_equal(got->dropped_events, want->dropped_events);
        assert_int_equal(got->dropped_links, want->dropped_links);
        assert_str(in.batch.resources_json[got->resource_idx], want->resource_json);
        assert_str(in.batch.scopes_json[got->scope_idx], want->scope_json);
    }
    vt_ingest_free(&in);
}

/* Within a (resource, scope) group spans keep their row order; groups follow the order of their
 * texts, so the output does not depend on where the store's strings happen to live. */
static void test_grouping_order(void **state) {
    (void)state;
    vt_span_row_t rows[3] = {base_row(1, "a"), base_row(2, "b"), base_row(3, "c")};
    rows[0].resource_json = rows[2].resource_json = VT_STR("{\"r\":\"z\"}");
    rows[1].resource_json = VT_STR("{\"r\":\"a\"}");
    rows[0].scope_json = rows[1].scope_json = rows[2].scope_json = VT_STR(SCOPE_1);
    assert_int_equal(vt_otlp_export_json(&g_b, rows, 3, NULL, 0), VT_OK);
    json_t *root = json_loadb(g_b.data, g_b.len, 0, NULL);
    assert_non_null(root);
    json_t *rss = json_object_get(root, "resourceSpans");
    assert_int_equal(json_array_size(rss), 2);
    json_t *second = json_array_get(rss, 1);
    json_t *spans =
        json_object_get(json_array_get(json_object_get(second, "scopeSpans"), 0), "spans");
    assert_int_equal(json_array_size(spans), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(spans, 0), "name")), "a");
    assert_string_equal(json_string_value(json_object_get(json_array_get(spans, 1), "name")), "c");
    json_t *attr =
        json_array_get(json_object_get(json_object_get(second, "resource"), "attributes"), 0);
    assert_string_equal(json_string_value(json_object_get(attr, "key")), "r");
    json_decref(root);
}

/* A row without a stored resource or scope (empty text, NULL pointer) exports an empty resource
 * and scope, in a group of its own. */
static void test_missing_resource(void **state) {
    (void)state;
    vt_span_row_t rows[2] = {base_row(1, "a"), base_row(2, "b")};
    rows[0].resource_json = VT_STR_NULL;
    rows[0].scope_json = VT_STR_NULL;
    rows[1].resource_json = VT_STR(RES_1);
    rows[1].scope_json = VT_STR(SCOPE_1);
    assert_int_equal(vt_otlp_export_json(&g_b, rows, 2, NULL, 0), VT_OK);
    assert_non_null(strstr(g_b.data, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[]},"
                                     "\"scopeSpans\":[{\"scope\":{\"name\":\"\",\"version\":\"\"},"
                                     "\"spans\":[{\"traceId\""));
    vt_batch_t batch;
    assert_int_equal(vt_otlp_decode_json(&g_a, g_b.data, g_b.len, &batch, NULL, 0), VT_OK);
    assert_int_equal(batch.n_resources, 2);
    assert_int_equal(batch.n_spans, 2);
    assert_int_equal(batch.resources[batch.spans[0].resource_idx].attrs.n, 0);
}

static void test_empty(void **state) {
    (void)state;
    assert_int_equal(vt_otlp_export_json(&g_b, NULL, 0, NULL, 0), VT_OK);
    assert_string_equal(g_b.data, "{\"resourceSpans\":[]}");
    vt_batch_t batch;
    assert_int_equal(vt_otlp_decode_json(&g_a, g_b.data, g_b.len, &batch, NULL, 0), VT_OK);
    assert_int_equal(batch.n_spans, 0);
}

/* A stored fragment that does not parse is an internal error that names the span. */
static void test_corrupt_fragment(void **state) {
    (void)state;
    vt_span_row_t r = base_row(9, "x");
    r.events_json = VT_STR("[{\"name\":");
    char err[200] = "";
    assert_int_equal(vt_otlp_export_json(&g_b, &r, 1, err, sizeof err), VT_EINTERNAL);
    assert_non_null(strstr(err, "events"));
    assert_non_null(strstr(err, "0000000000000009"));
    vt_buf_reset(&g_b);
    r = base_row(9, "x");
    r.attributes_json = VT_STR("[1]"); /* valid JSON, wrong type */
    assert_int_equal(vt_otlp_export_json(&g_b, &r, 1, err, sizeof err), VT_EINTERNAL);
}

/* A buffer too small for the output reports VT_ENOMEM rather than a truncated document. */
static void test_buffer_cap(void **state) {
    (void)state;
    vt_span_row_t rows[4];
    char res1_copy[sizeof RES_1];
    make_rows(rows, res1_copy);
    vt_buf_t small;
    vt_buf_init(&small, 100);
    assert_int_equal(vt_otlp_export_json(&small, rows, 4, NULL, 0), VT_ENOMEM);
    assert_true(small.failed);
    vt_buf_free(&small);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_round_trip), T(test_grouping_order),   T(test_missing_resource),
        T(test_empty),      T(test_corrupt_fragment), T(test_buffer_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
