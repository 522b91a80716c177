/*
 * test_span_json.c - the JSON writers of span.h (attributes, values, events, links, resource,
 * scope). Outputs are checked as exact text and, parsed back with jansson, as values.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "core/buf.h"
#include "otlp/span.h"

static vt_buf_t g_b;
static vt_jw_t g_w;

static int setup(void **state) {
    (void)state;
    vt_buf_init(&g_b, 0);
    vt_jw_init(&g_w, &g_b);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    vt_buf_free(&g_b);
    return 0;
}

/* The output so far must be valid JSON equal to `expect`, and exactly `expect` as text when
 * exact_text is set. */
static void assert_json(const char *expect, bool exact_text) {
    assert_false(g_b.failed);
    assert_non_null(g_b.data);
    if (exact_text)
        assert_string_equal(g_b.data, expect);
    json_error_t e1, e2;
    json_t *got = json_loadb(g_b.data, g_b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e1);
    if (!got)
        fail_msg("output is not JSON (%s): %s", e1.text, g_b.data);
    json_t *want = json_loads(expect, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e2);
    assert_non_null(want);
    if (!json_equal(got, want))
        fail_msg("got %s\nwant %s", g_b.data, expect);
    json_decref(got);
    json_decref(want);
}

static vt_value_t v_str(const char *s) {
    vt_value_t v = {.type = VT_VAL_STRING};
    v.u.s = vt_str_c(s);
    return v;
}

static vt_value_t v_int(int64_t i) {
    vt_value_t v = {.type = VT_VAL_INT};
    v.u.i = i;
    return v;
}

static vt_value_t v_double(double d) {
    vt_value_t v = {.type = VT_VAL_DOUBLE};
    v.u.d = d;
    return v;
}

static vt_value_t v_bool(bool b) {
    vt_value_t v = {.type = VT_VAL_BOOL};
    v.u.b = b;
    return v;
}

static vt_value_t v_bytes(const char *p, size_t n) {
    vt_value_t v = {.type = VT_VAL_BYTES};
    v.u.s = (vt_str_t){p, n};
    return v;
}

/* ---- values and attributes ------------------------------------------------------------------- */

static void test_every_value_type(void **state) {
    (void)state;
    vt_value_t arr_items[] = {v_int(1), v_str("a"), {.type = VT_VAL_EMPTY}, v_double(0.25)};
    vt_value_t arr = {.type = VT_VAL_ARRAY};
    arr.u.arr.items = arr_items;
    arr.u.arr.n = VT_ARRAY_LEN(arr_items);
    vt_kv_t inner[] = {{VT_STR("x"), v_bool(false)}};
    vt_value_t kv = {.type = VT_VAL_KVLIST};
    kv.u.kv.items = inner;
    kv.u.kv.n = 1;
    vt_value_t empty_arr = {.type = VT_VAL_ARRAY};
    vt_value_t empty_kv = {.type = VT_VAL_KVLIST};
    vt_kv_t items[] = {
        {VT_STR("s"), v_str("x\"y")},
        {VT_STR("t"), v_bool(true)},
        {VT_STR("i"), v_int(-5)},
        {VT_STR("big"), v_int(INT64_MAX)},
        {VT_STR("d"), v_double(1.5)},
        {VT_STR("whole"), v_double(2.0)},
        {VT_STR("nan"), v_double(NAN)},
        {VT_STR("inf"), v_double(-INFINITY)},
        {VT_STR("bytes"), v_bytes("\x00\xff\xfe"
                                  "a",
                                  4)},
        {VT_STR("nobytes"), v_bytes(NULL, 0)},
        {VT_STR("arr"), arr},
        {VT_STR("kv"), kv},
        {VT_STR("e"), {.type = VT_VAL_EMPTY}},
        {VT_STR("ea"), empty_arr},
        {VT_STR("ek"), empty_kv},
        {VT_STR("k\n\""), v_str("")},
    };
    vt_attrs_t attrs = {items, VT_ARRAY_LEN(items), 0};
    vt_json_write_attrs(&g_w, &attrs);
    assert_json("{\"s\":\"x\\\"y\",\"t\":true,\"i\":-5,\"big\":9223372036854775807,\"d\":1.5,"
                "\"whole\":2.0,\"nan\":\"NaN\",\"inf\":\"-Infinity\",\"bytes\":\"AP/+YQ==\","
                "\"nobytes\":\"\",\"arr\":[1,\"a\",null,0.25],\"kv\":{\"x\":false},\"e\":null,"
                "\"ea\":[],\"ek\":{},\"k\\n\\\"\":\"\"}",
                true);
    /* Ints read back as integers, doubles as reals, even when whole. */
    json_t *root = json_loadb(g_b.data, g_b.len, 0, NULL);
    assert_true(json_is_integer(json_object_get(root, "big")));
    assert_true(json_integer_value(json_object_get(root, "big")) == INT64_MAX);
    assert_true(json_is_real(json_object_get(root, "whole")));
    json_decref(root);
}

static void test_empty_attrs(void **state) {
    (void)state;
    vt_attrs_t none = {NULL, 0, 7};
    vt_json_write_attrs(&g_w, &none);
    assert_json("{}", true);
}

static void test_duplicate_keys_small(void **state) {
    (void)state;
    vt_kv_t items[] = {
        {VT_STR("a"), v_int(1)}, {VT_STR("b"), v_int(2)}, {VT_STR("a"), v_int(3)},
        {VT_STR("c"), v_int(4)}, {VT_STR("b"), v_int(5)}, {VT_STR("ab"), v_int(6)},
    };
    vt_attrs_t attrs = {items, VT_ARRAY_LEN(items), 0};
    vt_json_write_attrs(&g_w, &attrs);
    assert_json("{\"a\":3,\"c\":4,\"b\":5,\"ab\":6}", true);
}

/* Above the linear-scan size the hash table path must give the same answer. */
static void test_duplicate_keys_many(void **state) {
    (void)state;
    enum { N = 500 };
    vt_kv_t *items = calloc(N, sizeof *items);
    char(*keys)[8] = calloc(N, sizeof *keys);
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i % 37);
        items[i].key = vt_str_c(keys[i]);
        items[i].value = v_int(i);
    }
    vt_attrs_t attrs = {items, N, 0};
    vt_json_write_attrs(&g_w, &attrs);
    /* The last occurrences are items 463..499, in that order. */
    vt_buf_t want;
    vt_buf_init(&want, 0);
    vt_buf_append_char(&want, '{');
    for (int i = N - 37; i < N; i++)
        vt_buf_printf(&want, "%s\"k%d\":%d", i > N - 37 ? "," : "", i % 37, i);
    vt_buf_append_char(&want, '}');
    assert_json(want.data, true);
    vt_buf_free(&want);

    /* All keys distinct: everything is written, in order. */
    vt_buf_reset(&g_b);
    vt_jw_init(&g_w, &g_b);
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "u%d", i);
        items[i].key = vt_str_c(keys[i]);
    }
    vt_json_write_attrs(&g_w, &attrs);
    json_t *root = json_loadb(g_b.data, g_b.len, 0, NULL);
    assert_int_equal(json_object_size(root), N);
    assert_int_equal(json_integer_value(json_object_get(root, "u499")), 499);
    json_decref(root);
    assert_true(strncmp(g_b.data, "{\"u0\":0,\"u1\":1,", 15) == 0);
    free(items);
    free(keys);
}

static void test_kvlist_duplicates_and_nesting(void **state) {
    (void)state;
    vt_kv_t deep[] = {{VT_STR("z"), v_int(1)}, {VT_STR("z"), v_int(2)}};
    vt_value_t deepv = {.type = VT_VAL_KVLIST};
    deepv.u.kv.items = deep;
    deepv.u.kv.n = 2;
    vt_value_t arr_items[] = {deepv, deepv};
    vt_value_t arr = {.type = VT_VAL_ARRAY};
    arr.u.arr.items = arr_items;
    arr.u.arr.n = 2;
    vt_json_write_value(&g_w, &arr);
    assert_json("[{\"z\":2},{\"z\":2}]", true);
}

static void test_long_bytes_base64(void **state) {
    (void)state;
    enum { N = 70000 };
    unsigned char *raw = malloc(N);
    for (int i = 0; i < N; i++)
        raw[i] = (unsigned char)(i * 7);
    vt_value_t v = v_bytes((const char *)raw, N);
    vt_json_write_value(&g_w, &v);
    assert_int_equal(g_b.len, 2 + (N + 2) / 3 * 4);
    unsigned char *back = malloc(N);
    size_t n;
    assert_int_equal(sodium_base642bin(back, N, g_b.data + 1, g_b.len - 2, NULL, &n, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(n, N);
    assert_memory_equal(back, raw, N);
    free(raw);
    free(back);
}

static void test_output_cap(void **state) {
    (void)state;
    vt_buf_t small;
    vt_jw_t w;
    vt_buf_init(&small, 16);
    vt_jw_init(&w, &small);
    vt_kv_t items[] = {{VT_STR("key"), v_str("a value longer than sixteen bytes")}};
    vt_attrs_t attrs = {items, 1, 0};
    vt_json_write_attrs(&w, &attrs);
    assert_true(small.failed);
    vt_buf_free(&small);
}

/* ---- events, links, resource, scope ---------------------------------------------------------- */

static void test_events(void **state) {
    (void)state;
    vt_kv_t a[] = {{VT_STR("k"), v_str("v")}};
    vt_event_t ev[] = {
        {.time_ns = 1700000000123456789ull, .name = VT_STR("first_token"), .attrs = {a, 1, 0}},
        {.time_ns = UINT64_MAX, .name = VT_STR("x"), .attrs = {NULL, 0, 3}},
        {.time_ns = 0, .name = VT_STR_NULL},
    };
    vt_json_write_events(&g_w, ev, 3);
    assert_json("[{\"name\":\"first_token\",\"time_unix_nano\":\"1700000000123456789\","
                "\"attributes\":{\"k\":\"v\"}},"
                "{\"name\":\"x\",\"time_unix_nano\":\"18446744073709551615\",\"attributes\":{},"
                "\"dropped_attributes_count\":3},"
                "{\"name\":\"\",\"time_unix_nano\":\"0\",\"attributes\":{}}]",
                true);
    vt_buf_reset(&g_b);
    vt_jw_init(&g_w, &g_b);
    vt_json_write_events(&g_w, NULL, 0);
    assert_json("[]", true);
}

static void test_links(void **state) {
    (void)state;
    vt_kv_t a[] = {{VT_STR("n"), v_int(2)}, {VT_STR("n"), v_int(3)}};
    vt_link_t l[2];
    memset(l, 0, sizeof l);
    for (int i = 0; i < 16; i++)
        l[0].trace_id[i] = (uint8_t)(0xa0 + i);
    memcpy(l[0].span_id, "\x01\x02\x03\x04\x05\x06\x07\xff", 8);
    l[0].trace_state = VT_STR("k=v");
    l[0].flags = 257;
    l[0].attrs = (vt_attrs_t){a, 2, 1};
    vt_json_write_links(&g_w, l, 2);
    assert_json(
        "[{\"trace_id\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\",\"span_id\":\"01020304050607ff\","
        "\"trace_state\":\"k=v\",\"flags\":257,\"attributes\":{\"n\":3}},"
        "{\"trace_id\":\"00000000000000000000000000000000\",\"span_id\":\"0000000000000000\","
        "\"attributes\":{}}]",
        true);
}

static void test_resource_and_scope(void **state) {
    (void)state;
    vt_kv_t ra[] = {{VT_STR("service.name"), v_str("agent")}, {VT_STR("pid"), v_int(42)}};
    vt_resource_t r = {.attrs = {ra, 2, 9}, .schema_url = VT_STR("https://example/schema")};
    vt_json_write_resource(&g_w, &r);
    assert_json("{\"service.name\":\"agent\",\"pid\":42}", true);

    vt_buf_reset(&g_b);
    vt_jw_init(&g_w, &g_b);
    vt_kv_t sa[] = {{VT_STR("lib"), v_bool(true)}};
    vt_scope_t with = {.name = VT_STR("pipecat"), .version = VT_STR("0.0.50"), .attrs = {sa, 1, 0}};
    vt_scope_t without = {.name = VT_STR("x"), .version = VT_STR_NULL};
    vt_jw_arr_begin(&g_w);
    vt_json_write_scope(&g_w, &with);
    vt_json_write_scope(&g_w, &without);
    vt_jw_arr_end(&g_w);
    assert_json("[{\"name\":\"pipecat\",\"version\":\"0.0.50\",\"attributes\":{\"lib\":true}},"
                "{\"name\":\"x\",\"version\":\"\"}]",
                true);
}

/* Decoder output written back: what the store keeps for a span that came in as OTLP/JSON. */
static void test_decode_then_write(void **state) {
    (void)state;
    const char *json =
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
        "{\"stringValue\":\"bot\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"s\",\"version\":\"1\"}"
        ","
        "\"spans\":[{\"name\":\"tts\",\"attributes\":["
        "{\"key\":\"text\",\"value\":{\"stringValue\":\"hi \\u00e9\"}},"
        "{\"key\":\"n\",\"value\":{\"intValue\":\"9007199254740993\"}},"
        "{\"key\":\"ttfb\",\"value\":{\"doubleValue\":0.1}},"
        "{\"key\":\"raw\",\"value\":{\"bytesValue\":\"AQID\"}},"
        "{\"key\":\"list\",\"value\":{\"arrayValue\":{\"values\":[{\"boolValue\":true}]}}},"
        "{\"key\":\"n\",\"value\":{\"intValue\":\"-1\"}}],"
        "\"events\":[{\"timeUnixNano\":\"5\",\"name\":\"e\"}],"
        "\"links\":[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\","
        "\"spanId\":\"1112131415161718\"}]}]}]}]}";
    vt_arena_t a;
    vt_arena_init(&a, 1 << 20);
    vt_batch_t b;
    char err[256];
    assert_int_equal(vt_otlp_decode_json(&a, json, strlen(json), &b, err, sizeof err), VT_OK);
    const vt_span_t *s = &b.spans[0];
    vt_json_write_attrs(&g_w, &s->attrs);
    assert_json("{\"text\":\"hi \xc3\xa9\",\"ttfb\":0.1,\"raw\":\"AQID\",\"list\":[true],\"n\":-1}",
                true);
    vt_buf_reset(&g_b);
    vt_jw_init(&g_w, &g_b);
    vt_jw_obj_begin(&g_w);
    vt_jw_key(&g_w, "events");
    vt_json_write_events(&g_w, s->events, s->n_events);
    vt_jw_key(&g_w, "links");
    vt_json_write_links(&g_w, s->links, s->n_links);
    vt_jw_key(&g_w, "resource");
    vt_json_write_resource(&g_w, &b.resources[s->resource_idx]);
    vt_jw_key(&g_w, "scope");
    vt_json_write_scope(&g_w, &b.scopes[s->scope_idx]);
    vt_jw_obj_end(&g_w);
    assert_json("{\"events\":[{\"name\":\"e\",\"time_unix_nano\":\"5\",\"attributes\":{}}],"
                "\"links\":[{\"trace_id\":\"0102030405060708090a0b0c0d0e0f10\","
                "\"span_id\":\"1112131415161718\",\"attributes\":{}}],"
                "\"resource\":{\"service.name\":\"bot\"},"
                "\"scope\":{\"name\":\"s\",\"version\":\"1\"}}",
                true);
    vt_arena_free(&a);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_every_value_type),
        T(test_empty_attrs),
        T(test_duplicate_keys_small),
        T(test_duplicate_keys_many),
        T(test_kvlist_duplicates_and_nesting),
        T(test_long_bytes_base64),
        T(test_output_cap),
        T(test_events),
        T(test_links),
        T(test_resource_and_scope),
        T(test_decode_then_write),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
