/*
 * test_otlp_json.c - the OTLP/JSON decoder (vt_otlp_decode_json) and span validation
 * (vt_span_validate).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/buf.h"
#include "otlp/limits.h"
#include "otlp/span.h"

static vt_arena_t g_arena;
static vt_batch_t g_batch;
static char g_err[512];

static int setup(void **state) {
    (void)state;
    vt_arena_init(&g_arena, 64u << 20);
    memset(&g_batch, 0, sizeof g_batch);
    g_err[0] = '\0';
    return 0;
}

static int teardown(void **state) {
    (void)state;
    vt_arena_free(&g_arena);
    return 0;
}

static vt_err_t decode_n(const char *json, size_t n) {
    return vt_otlp_decode_json(&g_arena, json, n, &g_batch, g_err, sizeof g_err);
}

static vt_err_t decode(const char *json) {
    return decode_n(json, strlen(json));
}

/* Decodes a request holding exactly one span and returns it. */
static const vt_span_t *one_span(const char *json) {
    vt_err_t e = decode(json);
    if (e != VT_OK)
        fail_msg("decode failed (%d): %s", e, g_err);
    assert_int_equal(g_batch.n_spans, 1);
    return &g_batch.spans[0];
}

#define WRAP(spans) "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[" spans "]}]}]}"
#define IDS "\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\""
#define SPAN_WITH(fields) WRAP("{" IDS ",\"name\":\"s\"," fields "}")
#define ATTRS(list) SPAN_WITH("\"attributes\":[" list "]")

static void assert_str(vt_str_t s, const char *expect) {
    assert_int_equal(s.n, strlen(expect));
    assert_memory_equal(s.p, expect, s.n);
}

static const vt_value_t *attr(const vt_span_t *s, uint32_t i, const char *key) {
    assert_true(i < s->attrs.n);
    assert_str(s->attrs.items[i].key, key);
    return &s->attrs.items[i].value;
}

static const uint8_t k_trace[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t k_span[8] = {0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18};

/* ---- whole requests -------------------------------------------------------------------------- */

static const char k_full_camel[] =
    "{\"resourceSpans\":[{"
    "\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"agent\"}}"
    "],"
    "\"droppedAttributesCount\":2},"
    "\"schemaUrl\":\"https://opentelemetry.io/schemas/1.21.0\","
    "\"scopeSpans\":[{"
    "\"scope\":{\"name\":\"pipecat\",\"version\":\"0.0.50\","
    "\"attributes\":[{\"key\":\"sa\",\"value\":{\"boolValue\":true}}]},"
    "\"schemaUrl\":\"scope-schema\","
    "\"spans\":[{"
    "\"traceId\":\"0102030405060708090A0B0C0D0E0F10\","
    "\"spanId\":\"1112131415161718\","
    "\"parentSpanId\":\"2122232425262728\","
    "\"traceState\":\"k=v\","
    "\"flags\":257,"
    "\"name\":\"llm\","
    "\"kind\":\"SPAN_KIND_CLIENT\","
    "\"startTimeUnixNano\":\"1700000000000000001\","
    "\"endTimeUnixNano\":1700000000500000002,"
    "\"attributes\":[{\"key\":\"gen_ai.usage.input_tokens\",\"value\":{\"intValue\":\"42\"}}],"
    "\"droppedAttributesCount\":3,"
    "\"events\":[{\"timeUnixNano\":\"1700000000100000000\",\"name\":\"first_token\","
    "\"attributes\":[{\"key\":\"e\",\"value\":{\"doubleValue\":0.5}}],\"droppedAttributesCount\":1}"
    "],"
    "\"droppedEventsCount\":4,"
    "\"links\":[{\"traceId\":\"a1a2a3a4a5a6a7a8a9aaabacadaeafb0\",\"spanId\":\"b1b2b3b4b5b6b7b8\","
    "\"traceState\":\"lk=lv\",\"flags\":1,\"attributes\":[{\"key\":\"l\",\"value\":{\"intValue\":7}"
    "}],"
    "\"droppedAttributesCount\":6}],"
    "\"droppedLinksCount\":5,"
    "\"status\":{\"code\":\"STATUS_CODE_ERROR\",\"message\":\"boom\"}"
    "}]}]}]}";

/* The same request in snake_case, with numbers where the first has strings and the reverse. */
static const char k_full_snake[] =
    "{\"resource_spans\":[{"
    "\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"string_value\":\"agent\"}"
    "}],"
    "\"dropped_attributes_count\":\"2\"},"
    "\"schema_url\":\"https://opentelemetry.io/schemas/1.21.0\","
    "\"scope_spans\":[{"
    "\"scope\":{\"name\":\"pipecat\",\"version\":\"0.0.50\","
    "\"attributes\":[{\"key\":\"sa\",\"value\":{\"bool_value\":true}}]},"
    "\"schema_url\":\"scope-schema\","
    "\"spans\":[{"
    "\"trace_id\":\"0102030405060708090a0b0c0d0e0f10\","
    "\"span_id\":\"1112131415161718\","
    "\"parent_span_id\":\"2122232425262728\","
    "\"trace_state\":\"k=v\","
    "\"flags\":\"257\","
    "\"name\":\"llm\","
    "\"kind\":3,"
    "\"start_time_unix_nano\":1700000000000000001,"
    "\"end_time_unix_nano\":\"1700000000500000002\","
    "\"attributes\":[{\"key\":\"gen_ai.usage.input_tokens\",\"value\":{\"int_value\":42}}],"
    "\"dropped_attributes_count\":3,"
    "\"events\":[{\"time_unix_nano\":1700000000100000000,\"name\":\"first_token\","
    "\"attributes\":[{\"key\":\"e\",\"value\":{\"double_value\":\"0.5\"}}],"
    "\"dropped_attributes_count\":1}],"
    "\"dropped_events_count\":4,"
    "\"links\":[{\"trace_id\":\"A1A2A3A4A5A6A7A8A9AAABACADAEAFB0\",\"span_id\":"
    "\"B1B2B3B4B5B6B7B8\","
    "\"trace_state\":\"lk=lv\",\"flags\":1,\"attributes\":[{\"key\":\"l\",\"value\":{\"int_value\":"
    "7}}],"
    "\"dropped_attributes_count\":6}],"
    "\"dropped_links_count\":5,"
    "\"status\":{\"code\":2,\"message\":\"boom\"}"
    "}]}]}]}";

static void check_full(void) {
    assert_int_equal(g_batch.n_resources, 1);
    assert_int_equal(g_batch.n_scopes, 1);
    assert_int_equal(g_batch.n_spans, 1);
    const vt_resource_t *r = &g_batch.resources[0];
    assert_int_equal(r->attrs.n, 1);
    assert_int_equal(r->attrs.dropped, 2);
    assert_str(r->attrs.items[0].key, "service.name");
    assert_int_equal(r->attrs.items[0].value.type, VT_VAL_STRING);
    assert_str(r->attrs.items[0].value.u.s, "agent");
    assert_str(r->schema_url, "https://opentelemetry.io/schemas/1.21.0");
    const vt_scope_t *sc = &g_batch.scopes[0];
    assert_str(sc->name, "pipecat");
    assert_str(sc->version, "0.0.50");
    assert_str(sc->schema_url, "scope-schema");
    assert_int_equal(sc->attrs.n, 1);
    assert_int_equal(sc->attrs.items[0].value.type, VT_VAL_BOOL);
    assert_true(sc->attrs.items[0].value.u.b);

    const vt_span_t *s = &g_batch.spans[0];
    assert_int_equal(s->trace_id_len, 16);
    assert_memory_equal(s->trace_id, k_trace, 16);
    assert_int_equal(s->span_id_len, 8);
    assert_memory_equal(s->span_id, k_span, 8);
    const uint8_t parent[8] = {0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28};
    assert_int_equal(s->parent_span_id_len, 8);
    assert_memory_equal(s->parent_span_id, parent, 8);
    assert_str(s->trace_state, "k=v");
    assert_int_equal(s->flags, 257);
    assert_str(s->name, "llm");
    assert_int_equal(s->kind, 3);
    assert_int_equal(s->start_ns, 1700000000000000001ull);
    assert_int_equal(s->end_ns, 1700000000500000002ull);
    assert_int_equal(s->attrs.n, 1);
    assert_int_equal(s->attrs.dropped, 3);
    assert_int_equal(attr(s, 0, "gen_ai.usage.input_tokens")->type, VT_VAL_INT);
    assert_int_equal(s->attrs.items[0].value.u.i, 42);
    assert_int_equal(s->n_events, 1);
    assert_int_equal(s->dropped_events, 4);
    assert_int_equal(s->events[0].time_ns, 1700000000100000000ull);
    assert_str(s->events[0].name, "first_token");
    assert_int_equal(s->events[0].attrs.n, 1);
    assert_int_equal(s->events[0].attrs.dropped, 1);
    assert_int_equal(s->events[0].attrs.items[0].value.type, VT_VAL_DOUBLE);
    assert_true(s->events[0].attrs.items[0].value.u.d == 0.5);
    assert_int_equal(s->n_links, 1);
    assert_int_equal(s->dropped_links, 5);
    const uint8_t lt[16] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,
                            0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0};
    const uint8_t ls[8] = {0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8};
    assert_memory_equal(s->links[0].trace_id, lt, 16);
    assert_memory_equal(s->links[0].span_id, ls, 8);
    assert_str(s->links[0].trace_state, "lk=lv");
    assert_int_equal(s->links[0].flags, 1);
    assert_int_equal(s->links[0].attrs.n, 1);
    assert_int_equal(s->links[0].attrs.dropped, 6);
    assert_int_equal(s->links[0].attrs.items[0].value.u.i, 7);
    assert_int_equal(s->status_code, VT_STATUS_ERROR);
    assert_str(s->status_message, "boom");
    assert_int_equal(s->resource_idx, 0);
    assert_int_equal(s->scope_idx, 0);
    assert_true(vt_span_validate(s, g_err, sizeof g_err));
}

static void test_full_request_camel(void **state) {
    (void)state;
    assert_int_equal(decode(k_full_camel), VT_OK);
    check_full();
}

static void test_full_request_snake(void **state) {
    (void)state;
    assert_int_equal(decode(k_full_snake), VT_OK);
    check_full();
}

/* Resources and scopes are numbered across the whole request and spans point at theirs. */
static void test_indexes(void **state) {
    (void)state;
    const char *json =
        "{\"resourceSpans\":["
        "{\"scopeSpans\":[{\"scope\":{\"name\":\"a\"},\"spans\":[{\"name\":\"1\"},{\"name\":\"2\"}]"
        "},"
        "{\"scope\":{\"name\":\"b\"},\"spans\":[{\"name\":\"3\"}]}]},"
        "{\"scopeSpans\":[{\"scope\":{\"name\":\"c\"},\"spans\":[{\"name\":\"4\"}]},{}]},"
        "{\"resource\":{}}]}";
    assert_int_equal(decode(json), VT_OK);
    assert_int_equal(g_batch.n_resources, 3);
    assert_int_equal(g_batch.n_scopes, 4);
    assert_int_equal(g_batch.n_spans, 4);
    const char *names[] = {"1", "2", "3", "4"};
    const uint32_t res[] = {0, 0, 0, 1}, sc[] = {0, 0, 1, 2};
    for (int i = 0; i < 4; i++) {
        assert_str(g_batch.spans[i].name, names[i]);
        assert_int_equal(g_batch.spans[i].resource_idx, res[i]);
        assert_int_equal(g_batch.spans[i].scope_idx, sc[i]);
    }
    assert_str(g_batch.scopes[2].name, "c");
    assert_str(g_batch.scopes[3].name, ""); /* absent scope: empty name and version */
    assert_non_null(g_batch.scopes[3].name.p);
    assert_str(g_batch.scopes[3].version, "");
    assert_int_equal(g_batch.resources[2].attrs.n, 0);
}

static void test_empty_inputs(void **state) {
    (void)state;
    const char *empties[] = {"",
                             " \n\t\r ",
                             "{}",
                             "{\"resourceSpans\":[]}",
                             "{\"resourceSpans\":null}",
                             "{\"resource_spans\":[]}",
                             "{\"somethingElse\":[1,2,3]}"};
    for (size_t i = 0; i < VT_ARRAY_LEN(empties); i++) {
        memset(&g_batch, 0xff, sizeof g_batch);
        assert_int_equal(decode(empties[i]), VT_OK);
        assert_int_equal(g_batch.n_resources, 0);
        assert_int_equal(g_batch.n_scopes, 0);
        assert_int_equal(g_batch.n_spans, 0);
        assert_null(g_batch.spans);
    }
    assert_int_equal(decode("{\"resourceSpans\":[{}]}"), VT_OK);
    assert_int_equal(g_batch.n_resources, 1);
    assert_int_equal(g_batch.n_spans, 0);
    assert_int_equal(decode("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[]}]}]}"), VT_OK);
    assert_int_equal(g_batch.n_scopes, 1);
    assert_int_equal(g_batch.n_spans, 0);
    /* An empty span object decodes (to an invalid span). */
    const vt_span_t *s = one_span(WRAP("{}"));
    assert_int_equal(s->trace_id_len, 0);
    assert_str(s->name, "");
    assert_str(s->status_message, "");
    assert_false(vt_span_validate(s, g_err, sizeof g_err));
}

static void test_not_json(void **state) {
    (void)state;
    const char *bad[] = {"{", "nope", "{\"resourceSpans\":[}", "{} {}", "\xff"};
    for (size_t i = 0; i < VT_ARRAY_LEN(bad); i++) {
        assert_int_equal(decode(bad[i]), VT_EINVAL);
        assert_true(strncmp(g_err, "invalid JSON at line 1 column ", 30) == 0);
    }
    const char *not_object[] = {"[]", "[{\"resourceSpans\":[]}]"};
    for (size_t i = 0; i < VT_ARRAY_LEN(not_object); i++) {
        assert_int_equal(decode(not_object[i]), VT_EINVAL);
        assert_string_equal(g_err, "the request body must be a JSON object");
    }
    const char *scalars[] = {"5", "\"x\"", "null", "true"};
    for (size_t i = 0; i < VT_ARRAY_LEN(scalars); i++) {
        assert_int_equal(decode(scalars[i]), VT_EINVAL);
        assert_true(strncmp(g_err, "invalid JSON", 12) == 0);
    }
}

static void test_unknown_fields_ignored(void **state) {
    (void)state;
    const char *json =
        "{\"resourceSpans\":[{\"future\":{\"x\":[1]},\"resource\":{\"extra\":1,"
        "\"attributes\":[{\"key\":\"a\",\"value\":{\"stringValue\":\"b\",\"note\":true},\"zz\":0}]}"
        ","
        "\"scopeSpans\":[{\"what\":null,\"spans\":[{" IDS ",\"name\":\"n\",\"newField\":\"x\","
        "\"status\":{\"code\":1,\"deprecatedCode\":5}}]}]}],\"top\":1}";
    const vt_span_t *s = one_span(json);
    assert_str(s->name, "n");
    assert_int_equal(s->status_code, VT_STATUS_OK);
    assert_int_equal(g_batch.resources[0].attrs.n, 1);
    assert_str(g_batch.resources[0].attrs.items[0].value.u.s, "b");
    /* An AnyValue with no known member is an empty value; so is a missing one. */
    s = one_span(ATTRS("{\"key\":\"a\",\"value\":{\"mystery\":1}},{\"key\":\"b\"}"));
    assert_int_equal(attr(s, 0, "a")->type, VT_VAL_EMPTY);
    assert_int_equal(attr(s, 1, "b")->type, VT_VAL_EMPTY);
    /* null counts as absent. */
    s = one_span(SPAN_WITH("\"kind\":null,\"status\":null,\"attributes\":null,\"events\":null"));
    assert_int_equal(s->kind, 0);
    assert_int_equal(s->attrs.n, 0);
}

/* ---- AnyValue -----------------------------------------------------------------------------------
 */

static void check_any_values(const vt_span_t *s) {
    const vt_value_t *v;
    assert_int_equal(s->attrs.n, 12);
    v = attr(s, 0, "str");
    assert_int_equal(v->type, VT_VAL_STRING);
    assert_str(v->u.s, "h\xc3\xa9llo \"q\"");
    v = attr(s, 1, "t");
    assert_int_equal(v->type, VT_VAL_BOOL);
    assert_true(v->u.b);
    v = attr(s, 2, "f");
    assert_int_equal(v->type, VT_VAL_BOOL);
    assert_false(v->u.b);
    v = attr(s, 3, "i");
    assert_int_equal(v->type, VT_VAL_INT);
    assert_int_equal(v->u.i, -17);
    v = attr(s, 4, "d");
    assert_int_equal(v->type, VT_VAL_DOUBLE);
    assert_true(v->u.d == 2.5);
    v = attr(s, 5, "dint");
    assert_int_equal(v->type, VT_VAL_DOUBLE);
    assert_true(v->u.d == 3.0);
    v = attr(s, 6, "nan");
    assert_int_equal(v->type, VT_VAL_DOUBLE);
    assert_true(isnan(v->u.d));
    v = attr(s, 7, "inf");
    assert_true(isinf(v->u.d) && v->u.d > 0);
    v = attr(s, 8, "ninf");
    assert_true(isinf(v->u.d) && v->u.d < 0);
    v = attr(s, 9, "bytes");
    assert_int_equal(v->type, VT_VAL_BYTES);
    assert_int_equal(v->u.s.n, 4);
    assert_memory_equal(v->u.s.p,
                        "\x00\xff\xfe"
                        "a",
                        4);
    v = attr(s, 10, "arr");
    assert_int_equal(v->type, VT_VAL_ARRAY);
    assert_int_equal(v->u.arr.n, 3);
    assert_int_equal(v->u.arr.items[0].type, VT_VAL_STRING);
    assert_str(v->u.arr.items[0].u.s, "x");
    assert_int_equal(v->u.arr.items[1].type, VT_VAL_INT);
    assert_int_equal(v->u.arr.items[1].u.i, 1);
    assert_int_equal(v->u.arr.items[2].type, VT_VAL_ARRAY);
    assert_int_equal(v->u.arr.items[2].u.arr.n, 0);
    v = attr(s, 11, "kv");
    assert_int_equal(v->type, VT_VAL_KVLIST);
    assert_int_equal(v->u.kv.n, 2);
    assert_str(v->u.kv.items[0].key, "inner");
    assert_int_equal(v->u.kv.items[0].value.type, VT_VAL_BOOL);
    assert_str(v->u.kv.items[1].key, "nested");
    assert_int_equal(v->u.kv.items[1].value.type, VT_VAL_KVLIST);
    assert_int_equal(v->u.kv.items[1].value.u.kv.n, 1);
    assert_str(v->u.kv.items[1].value.u.kv.items[0].key, "deep");
    assert_int_equal(v->u.kv.items[1].value.u.kv.items[0].value.u.i, 9);
}

static void test_any_values_camel(void **state) {
    (void)state;
    check_any_values(one_span(
        ATTRS("{\"key\":\"str\",\"value\":{\"stringValue\":\"h\\u00e9llo \\\"q\\\"\"}},"
              "{\"key\":\"t\",\"value\":{\"boolValue\":true}},"
              "{\"key\":\"f\",\"value\":{\"boolValue\":false}},"
              "{\"key\":\"i\",\"value\":{\"intValue\":\"-17\"}},"
              "{\"key\":\"d\",\"value\":{\"doubleValue\":2.5}},"
              "{\"key\":\"dint\",\"value\":{\"doubleValue\":3}},"
              "{\"key\":\"nan\",\"value\":{\"doubleValue\":\"NaN\"}},"
              "{\"key\":\"inf\",\"value\":{\"doubleValue\":\"Infinity\"}},"
              "{\"key\":\"ninf\",\"value\":{\"doubleValue\":\"-Infinity\"}},"
              "{\"key\":\"bytes\",\"value\":{\"bytesValue\":\"AP/+YQ==\"}},"
              "{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"x\"},"
              "{\"intValue\":1},{\"arrayValue\":{}}]}}},"
              "{\"key\":\"kv\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"inner\","
              "\"value\":{\"boolValue\":false}},{\"key\":\"nested\",\"value\":{\"kvlistValue\":"
              "{\"values\":[{\"key\":\"deep\",\"value\":{\"intValue\":9}}]}}}]}}}")));
}

static void test_any_values_snake(void **state) {
    (void)state;
    /* Also the other spellings: URL-safe unpadded base64, numbers given as strings. */
    check_any_values(one_span(
        ATTRS("{\"key\":\"str\",\"value\":{\"string_value\":\"h\\u00e9llo \\\"q\\\"\"}},"
              "{\"key\":\"t\",\"value\":{\"bool_value\":true}},"
              "{\"key\":\"f\",\"value\":{\"bool_value\":false}},"
              "{\"key\":\"i\",\"value\":{\"int_value\":-17}},"
              "{\"key\":\"d\",\"value\":{\"double_value\":\"2.5\"}},"
              "{\"key\":\"dint\",\"value\":{\"double_value\":3.0}},"
              "{\"key\":\"nan\",\"value\":{\"double_value\":\"NaN\"}},"
              "{\"key\":\"inf\",\"value\":{\"double_value\":\"Infinity\"}},"
              "{\"key\":\"ninf\",\"value\":{\"double_value\":\"-Infinity\"}},"
              "{\"key\":\"bytes\",\"value\":{\"bytes_value\":\"AP_-YQ\"}},"
              "{\"key\":\"arr\",\"value\":{\"array_value\":{\"values\":[{\"string_value\":\"x\"},"
              "{\"int_value\":\"1\"},{\"array_value\":{\"values\":[]}}]}}},"
              "{\"key\":\"kv\",\"value\":{\"kvlist_value\":{\"values\":[{\"key\":\"inner\","
              "\"value\":{\"bool_value\":false}},{\"key\":\"nested\",\"value\":{\"kvlist_value\":"
              "{\"values\":[{\"key\":\"deep\",\"value\":{\"int_value\":\"9\"}}]}}}]}}}")));
}

static void test_int64_exact(void **state) {
    (void)state;
    const vt_span_t *s =
        one_span(WRAP("{" IDS ",\"name\":\"n\",\"startTimeUnixNano\":\"18446744073709551615\","
                      "\"endTimeUnixNano\":9223372036854775807,\"attributes\":["
                      "{\"key\":\"a\",\"value\":{\"intValue\":\"9223372036854775807\"}},"
                      "{\"key\":\"b\",\"value\":{\"intValue\":\"-9223372036854775808\"}},"
                      "{\"key\":\"c\",\"value\":{\"intValue\":9007199254740993}},"
                      "{\"key\":\"d\",\"value\":{\"intValue\":-9223372036854775808}},"
                      "{\"key\":\"e\",\"value\":{\"intValue\":\"9007199254740993\"}},"
                      "{\"key\":\"f\",\"value\":{\"intValue\":1e3}},"
                      "{\"key\":\"g\",\"value\":{\"intValue\":\"0\"}}]}"));
    assert_int_equal(s->start_ns, UINT64_MAX);
    assert_int_equal(s->end_ns, (uint64_t)INT64_MAX);
    assert_true(attr(s, 0, "a")->u.i == INT64_MAX);
    assert_true(attr(s, 1, "b")->u.i == INT64_MIN);
    assert_true(attr(s, 2, "c")->u.i == 9007199254740993ll); /* 2^53 + 1: not a double */
    assert_true(attr(s, 3, "d")->u.i == INT64_MIN);
    assert_true(attr(s, 4, "e")->u.i == 9007199254740993ll);
    assert_true(attr(s, 5, "f")->u.i == 1000);
    assert_true(attr(s, 6, "g")->u.i == 0);
    /* Times given as exponent numbers are fine when integral. */
    s = one_span(SPAN_WITH("\"startTimeUnixNano\":1.5e9,\"endTimeUnixNano\":2e9"));
    assert_int_equal(s->start_ns, 1500000000u);
    assert_int_equal(s->end_ns, 2000000000u);
}

static void test_bad_numbers(void **state) {
    (void)state;
    struct {
        const char *json;
        const char *msg;
    } cases[] = {
        {SPAN_WITH("\"startTimeUnixNano\":\"18446744073709551616\""),
         "resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: expected an unsigned 64-bit "
         "integer (number or decimal string)"},
        {SPAN_WITH("\"startTimeUnixNano\":-1"), NULL},
        {SPAN_WITH("\"startTimeUnixNano\":\"-1\""), NULL},
        {SPAN_WITH("\"startTimeUnixNano\":\"\""), NULL},
        {SPAN_WITH("\"startTimeUnixNano\":\"12a\""), NULL},
        {SPAN_WITH("\"startTimeUnixNano\":\" 12\""), NULL},
        {SPAN_WITH("\"endTimeUnixNano\":1.5"), NULL},
        {SPAN_WITH("\"endTimeUnixNano\":true"), NULL},
        {SPAN_WITH("\"flags\":4294967296"),
         "resourceSpans[0].scopeSpans[0].spans[0].flags: expected an unsigned 32-bit integer"},
        {SPAN_WITH("\"droppedEventsCount\":\"x\""), NULL},
        {ATTRS("{\"key\":\"k\",\"value\":{\"intValue\":\"9223372036854775808\"}}"),
         "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue: expected a 64-bit "
         "integer (number or decimal string)"},
        {ATTRS("{\"key\":\"k\",\"value\":{\"intValue\":\"-9223372036854775809\"}}"), NULL},
        {ATTRS("{\"key\":\"k\",\"value\":{\"intValue\":1.25}}"), NULL},
        {ATTRS("{\"key\":\"k\",\"value\":{\"intValue\":\"1.0\"}}"), NULL},
        {ATTRS("{\"key\":\"k\",\"value\":{\"intValue\":\"-\"}}"), NULL},
        {ATTRS("{\"key\":\"k\",\"value\":{\"doubleValue\":\"nan\"}}"),
         "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.doubleValue: expected a "
         "number or \"NaN\", \"Infinity\", \"-Infinity\""},
        {ATTRS("{\"key\":\"k\",\"value\":{\"doubleValue\":\"0x10\"}}"), NULL},
        {ATTRS("{\"key\":\"k\",\"value\":{\"doubleValue\":\"1.5x\"}}"), NULL},
        {ATTRS("{\"key\":\"k\",\"value\":{\"doubleValue\":true}}"), NULL},
    };
    for (size_t i = 0; i < VT_ARRAY_LEN(cases); i++) {
        assert_int_equal(decode(cases[i].json), VT_EINVAL);
        if (cases[i].msg)
            assert_string_equal(g_err, cases[i].msg);
        assert_int_equal(g_batch.n_spans, 0);
    }
    /* jansson cannot hold integers beyond int64 exactly; the message says what to do. */
    assert_int_equal(decode(SPAN_WITH("\"startTimeUnixNano\":18446744073709551615")), VT_EINVAL);
    assert_non_null(strstr(g_err, "as decimal strings"));
}

static void test_enums(void **state) {
    (void)state;
    const struct {
        const char *json;
        int32_t kind, code;
    } cases[] = {
        {SPAN_WITH("\"kind\":\"SPAN_KIND_SERVER\",\"status\":{\"code\":\"STATUS_CODE_OK\"}"), 2, 1},
        {SPAN_WITH("\"kind\":\"SPAN_KIND_CONSUMER\",\"status\":{\"code\":\"STATUS_CODE_ERROR\"}"),
         5, 2},
        {SPAN_WITH("\"kind\":\"SPAN_KIND_INTERNAL\",\"status\":{\"code\":\"STATUS_CODE_UNSET\"}"),
         1, 0},
        {SPAN_WITH("\"kind\":4,\"status\":{\"code\":2}"), 4, 2},
        {SPAN_WITH("\"kind\":0,\"status\":{\"code\":0}"), 0, 0},
        /* Unknown values read as unspecified/unset. */
        {SPAN_WITH("\"kind\":6,\"status\":{\"code\":3}"), 0, 0},
        {SPAN_WITH("\"kind\":-1,\"status\":{\"code\":-2}"), 0, 0},
        {SPAN_WITH("\"kind\":\"SERVER\",\"status\":{\"code\":\"ERROR\"}"), 0, 0},
        {SPAN_WITH("\"kind\":\"span_kind_server\",\"status\":{}"), 0, 0},
    };
    for (size_t i = 0; i < VT_ARRAY_LEN(cases); i++) {
        const vt_span_t *s = one_span(cases[i].json);
        assert_int_equal(s->kind, cases[i].kind);
        assert_int_equal(s->status_code, cases[i].code);
    }
    assert_int_equal(decode(SPAN_WITH("\"kind\":true")), VT_EINVAL);
    assert_string_equal(
        g_err, "resourceSpans[0].scopeSpans[0].spans[0].kind: expected an enum number or name");
    assert_int_equal(decode(SPAN_WITH("\"status\":{\"code\":[2]}")), VT_EINVAL);
    assert_string_equal(
        g_err,
        "resourceSpans[0].scopeSpans[0].spans[0].status.code: expected an enum number or name");
}

/* ---- ids ------------------------------------------------------------------------------------- */

static void test_hex_ids_any_case(void **state) {
    (void)state;
    const char *variants[] = {
        WRAP("{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\"}"),
        WRAP("{\"traceId\":\"0102030405060708090A0B0C0D0E0F10\",\"spanId\":\"1112131415161718\"}"),
        WRAP("{\"traceId\":\"0102030405060708090a0B0c0D0e0F10\",\"spanId\":\"1112131415161718\"}"),
    };
    for (size_t i = 0; i < VT_ARRAY_LEN(variants); i++) {
        const vt_span_t *s = one_span(variants[i]);
        assert_int_equal(s->trace_id_len, 16);
        assert_memory_equal(s->trace_id, k_trace, 16);
        assert_int_equal(s->span_id_len, 8);
        assert_memory_equal(s->span_id, k_span, 8);
        assert_int_equal(s->parent_span_id_len, 0);
    }
    const vt_span_t *s =
        one_span(WRAP("{\"spanId\":\"ABCDEFabcdef0099\",\"parentSpanId\":\"FFFFFFFFFFFFFFFF\"}"));
    const uint8_t sid[8] = {0xab, 0xcd, 0xef, 0xab, 0xcd, 0xef, 0x00, 0x99};
    assert_memory_equal(s->span_id, sid, 8);
    assert_int_equal(s->parent_span_id_len, 8);
    assert_memory_equal(s->parent_span_id, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
}

/* Malformed ids do not fail the request: each such span decodes and then fails validation
 * with a message that says why, while a good span in the same request passes. */
static void test_bad_ids_fail_validation_only(void **state) {
    (void)state;
    const char *json = WRAP(
        "{" IDS ",\"name\":\"good\"},"
        "{\"traceId\":\"0102030405\",\"spanId\":\"1112131415161718\",\"name\":\"short\"},"
        "{\"traceId\":\"not hex at all, but 32 chars!!!\",\"spanId\":\"1112131415161718\","
        "\"name\":\"nothex\"},"
        "{\"traceId\":\"0102030405060708090a0b0c0d0e0f1\",\"spanId\":\"1112131415161718\","
        "\"name\":\"odd\"},"
        "{\"traceId\":\"0102030405060708090a0b0c0d0e0f1011\",\"spanId\":\"1112131415161718\","
        "\"name\":\"long\"},"
        "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"\",\"name\":\"nospan\"},"
        "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"11121314151617\","
        "\"name\":\"span7\"},"
        "{" IDS ",\"parentSpanId\":\"212223\",\"name\":\"badparent\"},"
        "{" IDS ",\"parentSpanId\":\"zz22232425262728\",\"name\":\"hexparent\"},"
        "{" IDS ",\"parentSpanId\":\"0000000000000000\",\"name\":\"zeroparent\"},"
        "{" IDS ",\"parentSpanId\":\"\",\"name\":\"emptyparent\"},"
        "{\"traceId\":\"00000000000000000000000000000000\",\"spanId\":\"1112131415161718\","
        "\"name\":\"zerotrace\"}");
    assert_int_equal(decode(json), VT_OK);
    assert_int_equal(g_batch.n_spans, 12);
    const struct {
        uint32_t trace_len, span_len, parent_len;
        const char *err; /* NULL = valid */
    } want[] = {
        {16, 8, 0, NULL},
        {5, 8, 0, "span \"short\" 1112131415161718: trace_id must be 16 bytes, got 5"},
        {0, 8, 0, "span \"nothex\" 1112131415161718: trace_id must be 16 bytes, got 0"},
        {0, 8, 0, "span \"odd\" 1112131415161718: trace_id must be 16 bytes, got 0"},
        {17, 8, 0, "span \"long\" 1112131415161718: trace_id must be 16 bytes, got 17"},
        {16, 0, 0, "span \"nospan\": span_id must be 8 bytes, got 0"},
        {16, 7, 0, "span \"span7\": span_id must be 8 bytes, got 7"},
        {16, 8, 3,
         "span \"badparent\" 1112131415161718: parent_span_id must be empty or 8 bytes, got 3"},
        {16, 8, 0, NULL}, /* not hex: as if absent */
        {16, 8, 0, NULL}, /* all zero: root */
        {16, 8, 0, NULL},
        {16, 8, 0, "span \"zerotrace\" 1112131415161718: trace_id must not be all zeros"},
    };
    for (size_t i = 0; i < VT_ARRAY_LEN(want); i++) {
        const vt_span_t *s = &g_batch.spans[i];
        assert_int_equal(s->trace_id_len, want[i].trace_len);
        assert_int_equal(s->span_id_len, want[i].span_len);
        assert_int_equal(s->parent_span_id_len, want[i].parent_len);
        bool ok = vt_span_validate(s, g_err, sizeof g_err);
        if (want[i].err) {
            assert_false(ok);
            assert_string_equal(g_err, want[i].err);
        } else {
            assert_true(ok);
            assert_string_equal(g_err, "");
        }
    }
    /* The bytes that fit are kept from an over-long id. */
    assert_memory_equal(g_batch.spans[4].trace_id, k_trace, 16);
    /* Link ids of the wrong size read as zeros. */
    const vt_span_t *s = one_span(SPAN_WITH("\"links\":[{\"traceId\":\"0102\",\"spanId\":"
                                            "\"1112131415161718\"},{\"traceId\":\"xyz\"}]"));
    assert_int_equal(s->n_links, 2);
    assert_memory_equal(s->links[0].trace_id, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    assert_memory_equal(s->links[0].span_id, k_span, 8);
    assert_memory_equal(s->links[1].trace_id, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    /* An id that is not a string at all is a malformed request. */
    assert_int_equal(decode(WRAP("{\"traceId\":5}")), VT_EINVAL);
    assert_string_equal(g_err,
                        "resourceSpans[0].scopeSpans[0].spans[0].traceId: expected a hex string");
}

/* ---- wrong types ------------------------------------------------------------------------------
 */

static void test_wrong_types_rejected(void **state) {
    (void)state;
    const struct {
        const char *json;
        const char *msg;
    } cases[] = {
        {"{\"resourceSpans\":{}}", "resourceSpans: expected an array"},
        {"{\"resource_spans\":5}", "resourceSpans: expected an array"},
        {"{\"resourceSpans\":[5]}", "resourceSpans[0]: expected a ResourceSpans object"},
        {"{\"resourceSpans\":[{\"resource\":[]}]}",
         "resourceSpans[0].resource: expected an object"},
        {"{\"resourceSpans\":[{\"resource\":{\"attributes\":{}}}]}",
         "resourceSpans[0].resource.attributes: expected an array"},
        {"{\"resourceSpans\":[{\"scopeSpans\":\"x\"}]}",
         "resourceSpans[0].scopeSpans: expected an array"},
        {"{\"resourceSpans\":[{\"scopeSpans\":[null]}]}",
         "resourceSpans[0].scopeSpans[0]: expected a ScopeSpans object"},
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":5}]}]}",
         "resourceSpans[0].scopeSpans[0].spans: expected an array"},
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"scope\":\"s\"}]}]}",
         "resourceSpans[0].scopeSpans[0].scope: expected an object"},
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"scope\":{\"name\":1}}]}]}",
         "resourceSpans[0].scopeSpans[0].scope.name: expected a string"},
        {WRAP("{},[]"), "resourceSpans[0].scopeSpans[0].spans[1]: expected a Span object"},
        {WRAP("{\"name\":5}"), "resourceSpans[0].scopeSpans[0].spans[0].name: expected a string"},
        {SPAN_WITH("\"attributes\":{\"a\":1}"),
         "resourceSpans[0].scopeSpans[0].spans[0].attributes: expected an array"},
        {ATTRS("5"),
         "resourceSpans[0].scopeSpans[0].spans[0].attributes[0]: expected a KeyValue object"},
        {ATTRS("{\"key\":1}"),
         "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].key: expected a string"},
        {ATTRS("{\"key\":\"k\",\"value\":\"v\"}"),
         "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value: expected an object"},
        {ATTRS("{\"key\":\"k\",\"value\":{\"stringValue\":1}}"),
         "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.stringValue: expected a "
         "string"},
        {ATTRS("{\"key\":\"k\",\"value\":{\"boolValue\":\"true\"}}"),
         "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.boolValue: expected true or "
         "false"},
        {ATTRS("{\"key\":\"k\",\"value\":{\"bytesValue\":\"***\"}}"),
         "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.bytesValue: invalid base64"},
        {ATTRS("{\"key\":\"k\",\"value\":{\"bytesValue\":12}}"),
         "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.bytesValue: expected a "
         "base64 string"},
        {ATTRS("{\"key\":\"k\",\"value\":{\"arrayValue\":[]}}"),
         "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.arrayValue: expected an "
         "object"},
        {ATTRS("{\"key\":\"k\",\"value\":{\"arrayValue\":{\"values\":{}}}}"),
         "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.arrayValue.values: expected "
         "an array"},
        {ATTRS("{\"key\":\"k\",\"value\":{\"arrayValue\":{\"values\":[1]}}}"),
         "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.arrayValue.values[0]: "
         "expected an AnyValue object"},
        {ATTRS("{\"key\":\"k\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"a\","
               "\"value\":{\"intValue\":{}}}]}}}"),
         "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.kvlistValue.values[0].value."
         "intValue: expected a 64-bit integer (number or decimal string)"},
        {SPAN_WITH("\"events\":{}"),
         "resourceSpans[0].scopeSpans[0].spans[0].events: expected an array"},
        {SPAN_WITH("\"events\":[{},1]"),
         "resourceSpans[0].scopeSpans[0].spans[0].events[1]: expected an Event object"},
        {SPAN_WITH("\"events\":[{\"attributes\":[{\"key\":\"a\",\"value\":{\"boolValue\":0}}]}]"),
         "resourceSpans[0].scopeSpans[0].spans[0].events[0].attributes[0].value.boolValue: "
         "expected true or false"},
        {SPAN_WITH("\"links\":[\"x\"]"),
         "resourceSpans[0].scopeSpans[0].spans[0].links[0]: expected a Link object"},
        {SPAN_WITH("\"links\":[{\"traceState\":[]}]"),
         "resourceSpans[0].scopeSpans[0].spans[0].links[0].traceState: expected a string"},
        {SPAN_WITH("\"status\":\"ERROR\""),
         "resourceSpans[0].scopeSpans[0].spans[0].status: expected an object"},
        {SPAN_WITH("\"status\":{\"message\":false}"),
         "resourceSpans[0].scopeSpans[0].spans[0].status.message: expected a string"},
        {"{\"resourceSpans\":[{},{\"instrumentationLibrarySpans\":{}}]}",
         "resourceSpans[1].instrumentationLibrarySpans: expected an array"},
    };
    for (size_t i = 0; i < VT_ARRAY_LEN(cases); i++) {
        assert_int_equal(decode(cases[i].json), VT_EINVAL);
        assert_string_equal(g_err, cases[i].msg);
        assert_int_equal(g_batch.n_spans, 0);
        assert_null(g_batch.spans);
    }
}

/* ---- nesting and limits ------------------------------------------------------------------------
 */

/* A span with one attribute whose value is `levels` arrays (or kvlists) inside each other. */
static char *nested_request(int levels, bool kvlist) {
    vt_buf_t b;
    vt_buf_init(&b, 0);
    vt_buf_append_c(&b, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":"
                        "[{\"key\":\"deep\",\"value\":");
    for (int i = 0; i < levels; i++)
        vt_buf_append_c(&b, kvlist ? "{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":"
                                   : "{\"arrayValue\":{\"values\":[");
    vt_buf_append_c(&b, "{\"intValue\":1}");
    for (int i = 0; i < levels; i++)
        vt_buf_append_c(&b, kvlist ? "}]}}" : "]}}");
    vt_buf_append_c(&b, "}]}]}]}]}");
    return vt_buf_steal(&b, NULL);
}

static void test_nesting_limit(void **state) {
    (void)state;
    for (int kv = 0; kv < 2; kv++) {
        char *ok = nested_request(VT_MAX_VALUE_DEPTH, kv);
        const vt_span_t *s = one_span(ok);
        const vt_value_t *v = attr(s, 0, "deep");
        for (int i = 0; i < VT_MAX_VALUE_DEPTH; i++) {
            assert_int_equal(v->type, kv ? VT_VAL_KVLIST : VT_VAL_ARRAY);
            v = kv ? &v->u.kv.items[0].value : &v->u.arr.items[0];
        }
        assert_int_equal(v->type, VT_VAL_INT);
        free(ok);

        char *deep = nested_request(VT_MAX_VALUE_DEPTH + 1, kv);
        assert_int_equal(decode(deep), VT_EINVAL);
        assert_non_null(strstr(g_err, "values nested deeper than 16 levels"));
        free(deep);
    }
    /* Deeper than jansson's own limit: still a plain 400. */
    char *very = nested_request(1000, false);
    assert_int_equal(decode(very), VT_EINVAL);
    assert_non_null(strstr(g_err, "invalid JSON"));
    free(very);
}

/* n KeyValue members "k0".."k<n-1>" with int values. */
static void append_kvs(vt_buf_t *b, int n) {
    for (int i = 0; i < n; i++)
        vt_buf_printf(b, "%s{\"key\":\"k%d\",\"value\":{\"intValue\":%d}}", i ? "," : "", i, i);
}

static void test_count_limits(void **state) {
    (void)state;
    vt_buf_t b;
    vt_buf_init(&b, 0);
    vt_buf_append_c(&b, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[");
    append_kvs(&b, 300);
    vt_buf_append_c(&b,
                    "]},\"scopeSpans\":[{\"spans\":[{\"name\":\"s\",\"droppedAttributesCount\":5,"
                    "\"droppedEventsCount\":1,\"droppedLinksCount\":2,\"attributes\":[");
    append_kvs(&b, 300);
    vt_buf_append_c(&b, "],\"events\":[{\"attributes\":[");
    append_kvs(&b, 130);
    vt_buf_append_c(&b, "]}");
    for (int i = 1; i < 300; i++)
        vt_buf_append_c(&b, ",{\"name\":\"e\"}");
    vt_buf_append_c(&b, "],\"links\":[{\"attributes\":[");
    append_kvs(&b, 130);
    vt_buf_append_c(&b, "]}");
    for (int i = 1; i < 140; i++)
        vt_buf_append_c(&b, ",{}");
    vt_buf_append_c(&b, "]}]}]}]}");
    assert_false(b.failed);
    const vt_span_t *s = one_span(b.data);
    assert_int_equal(s->attrs.n, VT_MAX_ATTRS_PER_SPAN);
    assert_int_equal(s->attrs.dropped, 5 + 300 - VT_MAX_ATTRS_PER_SPAN);
    assert_str(s->attrs.items[VT_MAX_ATTRS_PER_SPAN - 1].key, "k255"); /* the first ones are kept */
    assert_int_equal(s->n_events, VT_MAX_EVENTS_PER_SPAN);
    assert_int_equal(s->dropped_events, 1 + 300 - VT_MAX_EVENTS_PER_SPAN);
    assert_int_equal(s->events[0].attrs.n, VT_MAX_ATTRS_PER_EVENT);
    assert_int_equal(s->events[0].attrs.dropped, 130 - VT_MAX_ATTRS_PER_EVENT);
    assert_int_equal(s->n_links, VT_MAX_LINKS_PER_SPAN);
    assert_int_equal(s->dropped_links, 2 + 140 - VT_MAX_LINKS_PER_SPAN);
    assert_int_equal(s->links[0].attrs.n, VT_MAX_ATTRS_PER_EVENT);
    assert_int_equal(s->links[0].attrs.dropped, 130 - VT_MAX_ATTRS_PER_EVENT);
    assert_int_equal(g_batch.resources[0].attrs.n, VT_MAX_ATTRS_PER_SPAN);
    assert_int_equal(g_batch.resources[0].attrs.dropped, 300 - VT_MAX_ATTRS_PER_SPAN);
    vt_buf_free(&b);

    /* A sender's count near UINT32_MAX saturates instead of wrapping. */
    vt_buf_init(&b, 0);
    vt_buf_append_c(&b,
                    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"droppedAttributesCount\":"
                    "4294967295,\"attributes\":[");
    append_kvs(&b, 260);
    vt_buf_append_c(&b, "]}]}]}]}");
    s = one_span(b.data);
    assert_int_equal(s->attrs.dropped, UINT32_MAX);
    vt_buf_free(&b);

    /* Array and kvlist values keep their first VT_MAX_ARRAY_ITEMS items. */
    vt_buf_init(&b, 0);
    vt_buf_append_c(&b, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":["
                        "{\"key\":\"a\",\"value\":{\"arrayValue\":{\"values\":[");
    for (int i = 0; i < 1100; i++)
        vt_buf_printf(&b, "%s{\"intValue\":%d}", i ? "," : "", i);
    vt_buf_append_c(&b, "]}}},{\"key\":\"kv\",\"value\":{\"kvlistValue\":{\"values\":[");
    append_kvs(&b, 1100);
    vt_buf_append_c(&b, "]}}}]}]}]}]}");
    s = one_span(b.data);
    assert_int_equal(attr(s, 0, "a")->u.arr.n, VT_MAX_ARRAY_ITEMS);
    assert_int_equal(s->attrs.items[0].value.u.arr.items[VT_MAX_ARRAY_ITEMS - 1].u.i, 1023);
    assert_int_equal(attr(s, 1, "kv")->u.kv.n, VT_MAX_ARRAY_ITEMS);
    assert_int_equal(s->attrs.dropped, 0);
    vt_buf_free(&b);
}

static void test_length_limits(void **state) {
    (void)state;
    vt_buf_t b;
    vt_buf_init(&b, 0);
    const size_t big = VT_MAX_ATTR_VALUE_LEN + 100;
    vt_buf_append_c(&b, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"");
    for (size_t i = 0; i < VT_MAX_NAME_LEN - 1; i++)
        vt_buf_append_char(&b, 'n');
    vt_buf_append_c(&b, "\\u00e9xyz\",\"events\":[{\"name\":\"");
    for (size_t i = 0; i < VT_MAX_NAME_LEN + 5; i++)
        vt_buf_append_char(&b, 'e');
    vt_buf_append_c(&b, "\"}],\"attributes\":[{\"key\":\"ascii\",\"value\":{\"stringValue\":\"");
    for (size_t i = 0; i < big; i++)
        vt_buf_append_char(&b, 'a');
    /* 'é' (2 bytes) straddles the limit: the whole character goes. */
    vt_buf_append_c(&b, "\"}},{\"key\":\"utf8\",\"value\":{\"stringValue\":\"");
    for (size_t i = 0; i < VT_MAX_ATTR_VALUE_LEN - 1; i++)
        vt_buf_append_char(&b, 'b');
    vt_buf_append_c(&b, "\\u00e9\"}},{\"key\":\"exact\",\"value\":{\"stringValue\":\"");
    for (size_t i = 0; i < VT_MAX_ATTR_VALUE_LEN - 2; i++)
        vt_buf_append_char(&b, 'c');
    vt_buf_append_c(&b, "\\u00e9\"}},{\"key\":\"bytes\",\"value\":{\"bytesValue\":\"");
    for (size_t i = 0; i < (big + 2) / 3; i++)
        vt_buf_append_c(&b, "AAEC"); /* 00 01 02 */
    vt_buf_append_c(&b, "\"}}]}]}]}]}");
    const vt_span_t *s = one_span(b.data);
    assert_int_equal(s->name.n, VT_MAX_NAME_LEN - 1); /* 'é' would cross the limit */
    assert_int_equal(s->events[0].name.n, VT_MAX_NAME_LEN);
    assert_int_equal(attr(s, 0, "ascii")->u.s.n, VT_MAX_ATTR_VALUE_LEN);
    assert_int_equal(attr(s, 1, "utf8")->u.s.n, VT_MAX_ATTR_VALUE_LEN - 1);
    assert_int_equal(attr(s, 2, "exact")->u.s.n, VT_MAX_ATTR_VALUE_LEN);
    assert_memory_equal(s->attrs.items[2].value.u.s.p + VT_MAX_ATTR_VALUE_LEN - 2, "\xc3\xa9", 2);
    const vt_value_t *v = attr(s, 3, "bytes");
    assert_int_equal(v->type, VT_VAL_BYTES);
    assert_int_equal(v->u.s.n, VT_MAX_ATTR_VALUE_LEN);
    assert_memory_equal(v->u.s.p, "\x00\x01\x02\x00", 4);
    vt_buf_free(&b);
}

static void test_truncate_utf8(void **state) {
    (void)state;
    vt_str_t s = VT_STR("ab\xe2\x82\xac"); /* "ab€" */
    assert_int_equal(vt_otlp_str_truncate_utf8(s, 10).n, 5);
    assert_int_equal(vt_otlp_str_truncate_utf8(s, 5).n, 5);
    assert_int_equal(vt_otlp_str_truncate_utf8(s, 4).n, 2);
    assert_int_equal(vt_otlp_str_truncate_utf8(s, 3).n, 2);
    assert_int_equal(vt_otlp_str_truncate_utf8(s, 2).n, 2);
    assert_int_equal(vt_otlp_str_truncate_utf8(s, 0).n, 0);
    vt_str_t emoji = VT_STR("\xf0\x9f\x98\x80\xf0\x9f\x98\x80");
    assert_int_equal(vt_otlp_str_truncate_utf8(emoji, 7).n, 4);
    assert_int_equal(vt_otlp_str_truncate_utf8(emoji, 3).n, 0);
    /* Not UTF-8: never more than 3 bytes below the limit. */
    vt_str_t junk = VT_STR("a\x80\x80\x80\x80\x80\x80");
    assert_int_equal(vt_otlp_str_truncate_utf8(junk, 6).n, 6);
    assert_ptr_equal(vt_otlp_str_truncate_utf8(s, 3).p, s.p);
}

/* A NUL ends a string, as it does in the protobuf decoder; the request is not rejected. */
static void test_nul_in_strings(void **state) {
    (void)state;
    const vt_span_t *s =
        one_span(WRAP("{\"name\":\"a\\u0000b\",\"attributes\":[{\"key\":\"k\\u0000z\",\"value\":"
                      "{\"stringValue\":\"x\\u0000y\"}},{\"key\":\"\\u0000\"}]}"));
    assert_str(s->name, "a");
    assert_str(attr(s, 0, "k")->u.s, "x");
    assert_int_equal(attr(s, 1, "")->type, VT_VAL_EMPTY);
}

static void test_legacy_names(void **state) {
    (void)state;
    const char *camel =
        "{\"resourceSpans\":[{\"instrumentationLibrarySpans\":[{\"instrumentationLibrary\":"
        "{\"name\":\"old\",\"version\":\"1\"},\"spans\":[{\"name\":\"legacy\"}]}]}]}";
    const vt_span_t *s = one_span(camel);
    assert_str(s->name, "legacy");
    assert_str(g_batch.scopes[0].name, "old");
    assert_str(g_batch.scopes[0].version, "1");

    const char *snake =
        "{\"resource_spans\":[{\"instrumentation_library_spans\":[{\"instrumentation_library\":"
        "{\"name\":\"old2\"},\"spans\":[{\"name\":\"legacy2\"}]}]}]}";
    s = one_span(snake);
    assert_str(s->name, "legacy2");
    assert_str(g_batch.scopes[0].name, "old2");

    /* With both lists, scopeSpans wins unless it is empty. */
    const char *both =
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"scope\":{\"name\":\"new\"},\"spans\":[{\"name\":"
        "\"n\"}]}],\"instrumentationLibrarySpans\":[{\"spans\":[{\"name\":\"o1\"},{\"name\":"
        "\"o2\"}]}]}]}";
    s = one_span(both);
    assert_str(s->name, "n");
    assert_str(g_batch.scopes[0].name, "new");
    const char *empty_new =
        "{\"resourceSpans\":[{\"scopeSpans\":[],\"instrumentationLibrarySpans\":[{\"spans\":["
        "{\"name\":\"o1\"},{\"name\":\"o2\"}]}]}]}";
    assert_int_equal(decode(empty_new), VT_OK);
    assert_int_equal(g_batch.n_spans, 2);
    assert_int_equal(g_batch.n_scopes, 1);
    assert_str(g_batch.spans[1].name, "o2");
    /* "scope" is preferred over the legacy key inside one ScopeSpans. */
    s = one_span("{\"resourceSpans\":[{\"scopeSpans\":[{\"scope\":{\"name\":\"s\"},"
                 "\"instrumentationLibrary\":{\"name\":\"l\"},\"spans\":[{}]}]}]}");
    assert_str(g_batch.scopes[0].name, "s");
}

static void test_arena_exhaustion(void **state) {
    (void)state;
    vt_buf_t b;
    vt_buf_init(&b, 0);
    vt_buf_append_c(&b, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[");
    for (int i = 0; i < 2000; i++)
        vt_buf_printf(&b, "%s{\"name\":\"span number %d\"}", i ? "," : "", i);
    vt_buf_append_c(&b, "]}]}]}");
    vt_arena_t small;
    vt_arena_init(&small, 256 * 1024); /* 2000 spans need more than this */
    vt_err_t e = vt_otlp_decode_json(&small, b.data, b.len, &g_batch, g_err, sizeof g_err);
    assert_int_equal(e, VT_ETOOBIG);
    assert_string_equal(g_err, "decoded request exceeds the memory limit");
    assert_int_equal(g_batch.n_spans, 0);
    vt_arena_free(&small);
    /* With room it decodes. */
    assert_int_equal(decode_n(b.data, b.len), VT_OK);
    assert_int_equal(g_batch.n_spans, 2000);
    assert_str(g_batch.spans[1999].name, "span number 1999");
    vt_buf_free(&b);
}

static void test_error_buffer_small_or_absent(void **state) {
    (void)state;
    const char *json = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":5}]}]}";
    char tiny[8];
    assert_int_equal(vt_otlp_decode_json(&g_arena, json, strlen(json), &g_batch, tiny, sizeof tiny),
                     VT_EINVAL);
    assert_string_equal(tiny, "resourc");
    assert_int_equal(vt_otlp_decode_json(&g_arena, json, strlen(json), &g_batch, NULL, 0),
                     VT_EINVAL);
}

/* ---- validation
 * ----------------------------------------------------------------------------------- */

static vt_span_t valid_span(void) {
    vt_span_t s;
    memset(&s, 0, sizeof s);
    memcpy(s.trace_id, k_trace, 16);
    s.trace_id_len = 16;
    memcpy(s.span_id, k_span, 8);
    s.span_id_len = 8;
    s.name = VT_STR("tts");
    s.start_ns = 100;
    s.end_ns = 200;
    return s;
}

static void expect_invalid(const vt_span_t *s, const char *msg) {
    snprintf(g_err, sizeof g_err, "unchanged");
    assert_false(vt_span_validate(s, g_err, sizeof g_err));
    assert_string_equal(g_err, msg);
}

static void test_validate_rules(void **state) {
    (void)state;
    vt_span_t s = valid_span();
    assert_true(vt_span_validate(&s, g_err, sizeof g_err));
    s.end_ns = s.start_ns; /* zero duration is fine */
    assert_true(vt_span_validate(&s, NULL, 0));

    s = valid_span();
    s.trace_id_len = 5;
    expect_invalid(&s, "span \"tts\" 1112131415161718: trace_id must be 16 bytes, got 5");
    s = valid_span();
    memset(s.trace_id, 0, 16);
    expect_invalid(&s, "span \"tts\" 1112131415161718: trace_id must not be all zeros");
    s = valid_span();
    s.span_id_len = 0;
    expect_invalid(&s, "span \"tts\": span_id must be 8 bytes, got 0");
    s = valid_span();
    s.span_id_len = 16;
    expect_invalid(&s, "span \"tts\": span_id must be 8 bytes, got 16");
    s = valid_span();
    memset(s.span_id, 0, 8);
    expect_invalid(&s, "span \"tts\": span_id must not be all zeros");
    s = valid_span();
    s.parent_span_id_len = 4;
    expect_invalid(&s,
                   "span \"tts\" 1112131415161718: parent_span_id must be empty or 8 bytes, got 4");
    s = valid_span();
    s.parent_span_id_len = 8; /* all zero: counts as no parent */
    assert_true(vt_span_validate(&s, g_err, sizeof g_err));
    memset(s.parent_span_id, 0x42, 8);
    assert_true(vt_span_validate(&s, g_err, sizeof g_err));
    s = valid_span();
    s.name = VT_STR("");
    expect_invalid(&s, "span 1112131415161718: name must not be empty");
    s.name = VT_STR_NULL;
    expect_invalid(&s, "span 1112131415161718: name must not be empty");
    s = valid_span();
    s.start_ns = 1700000000000000001ull;
    s.end_ns = 1700000000000000000ull;
    expect_invalid(&s, "span \"tts\" 1112131415161718: end_time_unix_nano 1700000000000000000 is "
                       "before start_time_unix_nano 1700000000000000001");
    /* No usable name or id: the message still says what is wrong. */
    s = valid_span();
    s.name = VT_STR("");
    s.span_id_len = 3;
    expect_invalid(&s, "span: span_id must be 8 bytes, got 3");
    /* Long names are shortened in the message, on a character boundary. */
    s = valid_span();
    char name[200];
    memset(name, 'x', sizeof name);
    memcpy(name + 63, "\xc3\xa9", 2);
    s.name = (vt_str_t){name, sizeof name};
    s.trace_id_len = 0;
    char expect[256];
    snprintf(expect, sizeof expect,
             "span \"%.63s...\" 1112131415161718: trace_id must be 16 bytes, got 0", name);
    expect_invalid(&s, expect);
    /* A short buffer is cut, still NUL-terminated. */
    char small[10];
    assert_false(vt_span_validate(&s, small, sizeof small));
    assert_string_equal(small, "span \"xxx");
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_full_request_camel),
        T(test_full_request_snake),
        T(test_indexes),
        T(test_empty_inputs),
        T(test_not_json),
        T(test_unknown_fields_ignored),
        T(test_any_values_camel),
        T(test_any_values_snake),
        T(test_int64_exact),
        T(test_bad_numbers),
        T(test_enums),
        T(test_hex_ids_any_case),
        T(test_bad_ids_fail_validation_only),
        T(test_wrong_types_rejected),
        T(test_nesting_limit),
        T(test_count_limits),
        T(test_length_limits),
        T(test_truncate_utf8),
        T(test_nul_in_strings),
        T(test_legacy_names),
        T(test_arena_exhaustion),
        T(test_error_buffer_small_or_absent),
        T(test_validate_rules),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
