/*
 * test_otlp_pb.c - the OTLP/protobuf decoder (vt_otlp_decode_protobuf) and the protobuf
 * response encoders of otlp_pb.h.
 *
 * Requests are built with the generated protobuf-c structs and packed, or written byte by byte
 * where the point is a malformed or hostile body. With VT_PB_SEED_DIR set, the packed requests
 * of a few tests are also written there as fuzzing seeds (tests/fuzz/corpus_pb/ came from this).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <google/rpc/status.pb-c.h>
#include <opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h>

#include "core/buf.h"
#include "otlp/otlp_pb.h"
#include "otlp/span.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest pb_request_t;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse pb_response_t;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans pb_resource_spans_t;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans pb_scope_spans_t;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span_t;
typedef Opentelemetry__Proto__Trace__V1__Span__Event pb_event_t;
typedef Opentelemetry__Proto__Trace__V1__Span__Link pb_link_t;
typedef Opentelemetry__Proto__Trace__V1__Status pb_status_t;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource_t;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope_t;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any_t;
typedef Opentelemetry__Proto__Common__V1__ArrayValue pb_array_t;
typedef Opentelemetry__Proto__Common__V1__KeyValueList pb_kvlist_t;

static vt_arena_t g_build; /* the request structs a test builds, and their packed bytes */
static vt_arena_t g_arena; /* what the decoder allocates */
static vt_batch_t g_batch;
static char g_err[512];

static int setup(void **state) {
    (void)state;
    vt_arena_init(&g_build, 0);
    vt_arena_init(&g_arena, 64u << 20);
    memset(&g_batch, 0, sizeof g_batch);
    g_err[0] = '\0';
    return 0;
}

static int teardown(void **state) {
    (void)state;
    vt_arena_free(&g_build);
    vt_arena_free(&g_arena);
    return 0;
}

/* ---- building requests ----------------------------------------------------------------------- */

static void *bnew(size_t n) {
    void *p = vt_arena_calloc(&g_build, 1, n);
    assert_non_null(p);
    return p;
}

static char *bstrdup(const char *s) {
    return vt_arena_strndup(&g_build, s, strlen(s));
}

static char *brepeat(char c, size_t n) {
    char *s = bnew(n + 1);
    memset(s, c, n);
    return s;
}

static pb_any_t *av_new(Opentelemetry__Proto__Common__V1__AnyValue__ValueCase c) {
    pb_any_t *v = bnew(sizeof *v);
    opentelemetry__proto__common__v1__any_value__init(v);
    v->value_case = c;
    return v;
}

static pb_any_t *av_str(const char *s) {
    pb_any_t *v = av_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
    v->string_value = (char *)s;
    return v;
}

static pb_any_t *av_bool(bool b) {
    pb_any_t *v = av_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
    v->bool_value = b;
    return v;
}

static pb_any_t *av_int(int64_t i) {
    pb_any_t *v = av_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
    v->int_value = i;
    return v;
}

static pb_any_t *av_double(double d) {
    pb_any_t *v = av_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE);
    v->double_value = d;
    return v;
}

static pb_any_t *av_bytes(const void *p, size_t n) {
    pb_any_t *v = av_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE);
    v->bytes_value.data = (uint8_t *)p;
    v->bytes_value.len = n;
    return v;
}

static pb_any_t *av_array(size_t n, pb_any_t **items) {
    pb_any_t *v = av_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE);
    pb_array_t *a = bnew(sizeof *a);
    opentelemetry__proto__common__v1__array_value__init(a);
    a->n_values = n;
    a->values = items;
    v->array_value = a;
    return v;
}

static pb_any_t *av_kvlist(size_t n, pb_kv_t **items) {
    pb_any_t *v = av_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE);
    pb_kvlist_t *l = bnew(sizeof *l);
    opentelemetry__proto__common__v1__key_value_list__init(l);
    l->n_values = n;
    l->values = items;
    v->kvlist_value = l;
    return v;
}

static pb_kv_t *kv(const char *key, pb_any_t *value) {
    pb_kv_t *k = bnew(sizeof *k);
    opentelemetry__proto__common__v1__key_value__init(k);
    k->key = (char *)key;
    k->value = value;
    return k;
}

/* An array of n pointers, filled from the variadic list. */
static void **plist(size_t n, ...) {
    void **a = bnew(n * sizeof *a);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        a[i] = va_arg(ap, void *);
    va_end(ap);
    return a;
}

/* n KeyValues "k0".."k<n-1>" with int values 0..n-1. */
static pb_kv_t **many_kvs(size_t n) {
    pb_kv_t **a = bnew(n * sizeof *a);
    for (size_t i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%zu", i);
        a[i] = kv(bstrdup(key), av_int((int64_t)i));
    }
    return a;
}

static const uint8_t k_trace[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t k_span[8] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8};
static const uint8_t k_parent[8] = {0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8};
static const uint8_t k_ids20[20] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,
                                    10, 11, 12, 13, 14, 15, 16, 17, 18, 19};

static ProtobufCBinaryData bin(const void *p, size_t n) {
    return (ProtobufCBinaryData){n, (uint8_t *)p};
}

static pb_span_t *span_new(const char *name) {
    pb_span_t *s = bnew(sizeof *s);
    opentelemetry__proto__trace__v1__span__init(s);
    s->trace_id = bin(k_trace, 16);
    s->span_id = bin(k_span, 8);
    s->name = (char *)name;
    return s;
}

static pb_scope_spans_t *scope_spans(const char *scope_name, size_t n, pb_span_t **spans) {
    pb_scope_spans_t *ss = bnew(sizeof *ss);
    opentelemetry__proto__trace__v1__scope_spans__init(ss);
    if (scope_name) {
        pb_scope_t *sc = bnew(sizeof *sc);
        opentelemetry__proto__common__v1__instrumentation_scope__init(sc);
        sc->name = (char *)scope_name;
        ss->scope = sc;
    }
    ss->n_spans = n;
    ss->spans = spans;
    return ss;
}

static pb_resource_spans_t *resource_spans(pb_resource_t *res, size_t n, pb_scope_spans_t **sss) {
    pb_resource_spans_t *rs = bnew(sizeof *rs);
    opentelemetry__proto__trace__v1__resource_spans__init(rs);
    rs->resource = res;
    rs->n_scope_spans = n;
    rs->scope_spans = sss;
    return rs;
}

static pb_request_t *request(size_t n, pb_resource_spans_t **rss) {
    pb_request_t *r = bnew(sizeof *r);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(r);
    r->n_resource_spans = n;
    r->resource_spans = rss;
    return r;
}

/* A request holding the given spans under one resource and one scope. */
static pb_request_t *request_of(size_t n, pb_span_t **spans) {
    pb_scope_spans_t *ss = scope_spans("scope", n, spans);
    return request(1, (pb_resource_spans_t **)plist(
                          1, resource_spans(NULL, 1, (pb_scope_spans_t **)plist(1, ss))));
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len) {
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *p = bnew(*len ? *len : 1);
    assert_int_equal(protobuf_c_message_pack(m, p), *len);
    return p;
}

static void maybe_write_seed(const char *name, const uint8_t *p, size_t n) {
    const char *dir = getenv("VT_PB_SEED_DIR");
    if (!dir)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* ---- decoding helpers ------------------------------------------------------------------------ */

static vt_err_t decode_bytes(const void *p, size_t n) {
    return vt_otlp_decode_protobuf(&g_arena, p, n, &g_batch, g_err, sizeof g_err);
}

static vt_err_t decode_msg(pb_request_t *req) {
    size_t n;
    uint8_t *p = pack(&req->base, &n);
    return decode_bytes(p, n);
}

static void decode_ok(pb_request_t *req) {
    vt_err_t e = decode_msg(req);
    if (e != VT_OK)
        fail_msg("decode failed (%d): %s", e, g_err);
}

static const vt_span_t *one_span(pb_span_t *s) {
    decode_ok(request_of(1, (pb_span_t **)plist(1, s)));
    assert_int_equal(g_batch.n_spans, 1);
    return &g_batch.spans[0];
}

static void assert_str(vt_str_t s, const char *expect) {
    assert_int_equal(s.n, strlen(expect));
    assert_memory_equal(s.p, expect, s.n);
}

static const vt_value_t *attr(const vt_attrs_t *a, uint32_t i, const char *key) {
    assert_true(i < a->n);
    assert_str(a->items[i].key, key);
    return &a->items[i].value;
}

/* Hand-written protobuf, built from the innermost field outwards at the end of a buffer so that
 * deep nesting costs linear time. */
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t pos; /* the bytes written are buf[pos, cap) */
} rev_t;

static void rev_init(rev_t *r, size_t cap) {
    r->buf = malloc(cap);
    assert_non_null(r->buf);
    r->cap = r->pos = cap;
}

static void rev_bytes(rev_t *r, const void *p, size_t n) {
    assert_true(n <= r->pos);
    r->pos -= n;
    memcpy(r->buf + r->pos, p, n);
}

static void rev_varint(rev_t *r, uint64_t v) {
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    rev_bytes(r, tmp, n);
}

/* Makes everything written so far the length-delimited field `field`. */
static void rev_wrap(rev_t *r, uint32_t field) {
    rev_varint(r, r->cap - r->pos);
    rev_varint(r, (uint64_t)field << 3 | 2);
}

/* Prepends a string/bytes field. */
static void rev_lenfield(rev_t *r, uint32_t field, const char *s) {
    rev_bytes(r, s, strlen(s));
    rev_varint(r, strlen(s));
    rev_varint(r, (uint64_t)field << 3 | 2);
}

/* Wraps the span fields written so far into a whole request (span -> scope_spans ->
 * resource_spans -> request). */
static void rev_wrap_span(rev_t *r) {
    rev_wrap(r, 2); /* ScopeSpans.spans */
    rev_wrap(r, 2); /* ResourceSpans.scope_spans */
    rev_wrap(r, 1); /* ExportTraceServiceRequest.resource_spans */
}

static vt_err_t decode_rev(rev_t *r) {
    return decode_bytes(r->buf + r->pos, r->cap - r->pos);
}

/* ---- empty and minimal requests -------------------------------------------------------------- */

static void test_empty_body(void **state) {
    (void)state;
    memset(&g_batch, 0xaa, sizeof g_batch);
    snprintf(g_err, sizeof g_err, "stale");
    assert_int_equal(decode_bytes(NULL, 0), VT_OK);
    assert_int_equal(g_batch.n_spans, 0);
    assert_int_equal(g_batch.n_resources, 0);
    assert_int_equal(g_batch.n_scopes, 0);
    assert_null(g_batch.spans);
    assert_string_equal(g_err, "");

    /* One ResourceSpans with nothing in it. */
    static const uint8_t one_empty[] = {0x0a, 0x00};
    assert_int_equal(decode_bytes(one_empty, sizeof one_empty), VT_OK);
    assert_int_equal(g_batch.n_resources, 1);
    assert_int_equal(g_batch.n_scopes, 0);
    assert_int_equal(g_batch.n_spans, 0);
    assert_int_equal(g_batch.resources[0].attrs.n, 0);
    assert_str(g_batch.resources[0].schema_url, "");
}

/* ---- every field ----------------------------------------------------------------------------- */

static const uint8_t k_blob[] = {0x00, 0x01, 0x02, 0xff};

static pb_request_t *full_request(void) {
    pb_resource_t *res = bnew(sizeof *res);
    opentelemetry__proto__resource__v1__resource__init(res);
    res->n_attributes = 2;
    res->attributes =
        (pb_kv_t **)plist(2, kv("service.name", av_str("voice-agent")), kv("host.cpus", av_int(8)));
    res->dropped_attributes_count = 1;

    pb_span_t *s = span_new("llm");
    s->parent_span_id = bin(k_parent, 8);
    s->trace_state = "congo=t61rcWkgMzE";
    s->flags = 0x301;
    s->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    s->start_time_unix_nano = 1700000000123456789ull;
    s->end_time_unix_nano = 1700000001623456789ull;

    pb_any_t *nested_arr =
        av_array(3, (pb_any_t **)plist(3, av_str("x"), av_int(7),
                                       av_array(1, (pb_any_t **)plist(1, av_bool(true)))));
    pb_any_t *nested_kv = av_kvlist(
        2, (pb_kv_t **)plist(
               2, kv("inner", av_kvlist(1, (pb_kv_t **)plist(1, kv("deep", av_str("v"))))),
               kv("n", av_double(1.5))));
    s->n_attributes = 10;
    s->attributes = (pb_kv_t **)plist(
        10, kv("s", av_str("hello")), kv("b", av_bool(true)), kv("i", av_int(-42)),
        kv("d", av_double(3.25)), kv("bytes", av_bytes(k_blob, sizeof k_blob)),
        kv("empty", av_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET)),
        kv("novalue", NULL), kv("arr", nested_arr), kv("kv", nested_kv), kv("f", av_bool(false)));
    s->dropped_attributes_count = 3;

    pb_event_t *e0 = bnew(sizeof *e0), *e1 = bnew(sizeof *e1);
    opentelemetry__proto__trace__v1__span__event__init(e0);
    opentelemetry__proto__trace__v1__span__event__init(e1);
    e0->time_unix_nano = 1700000000200000000ull;
    e0->name = "start";
    e0->n_attributes = 1;
    e0->attributes = (pb_kv_t **)plist(1, kv("k", av_str("v")));
    e0->dropped_attributes_count = 1;
    e1->time_unix_nano = 1700000001600000000ull;
    e1->name = "end";
    s->n_events = 2;
    s->events = (pb_event_t **)plist(2, e0, e1);
    s->dropped_events_count = 4;

    pb_link_t *l = bnew(sizeof *l);
    opentelemetry__proto__trace__v1__span__link__init(l);
    l->trace_id = bin(k_ids20 + 4, 16);
    l->span_id = bin(k_parent, 8);
    l->trace_state = "ts=1";
    l->n_attributes = 1;
    l->attributes = (pb_kv_t **)plist(1, kv("link.kind", av_str("follows")));
    l->dropped_attributes_count = 5;
    l->flags = 0x100;
    s->n_links = 1;
    s->links = (pb_link_t **)plist(1, l);
    s->dropped_links_count = 6;

    pb_status_t *st = bnew(sizeof *st);
    opentelemetry__proto__trace__v1__status__init(st);
    st->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    st->message = "boom";
    s->status = st;

    pb_scope_spans_t *ss = scope_spans("livekit.agents", 1, (pb_span_t **)plist(1, s));
    ss->scope->version = "1.2.3";
    ss->scope->n_attributes = 1;
    ss->scope->attributes = (pb_kv_t **)plist(1, kv("scope.attr", av_bool(true)));
    ss->scope->dropped_attributes_count = 2;
    ss->schema_url = "https://example.com/scope";
    pb_resource_spans_t *rs = resource_spans(res, 1, (pb_scope_spans_t **)plist(1, ss));
    rs->schema_url = "https://opentelemetry.io/schemas/1.21.0";
    return request(1, (pb_resource_spans_t **)plist(1, rs));
}

static void test_all_fields(void **state) {
    (void)state;
    size_t n;
    uint8_t *p = pack(&full_request()->base, &n);
    maybe_write_seed("full_request.pb", p, n);
    assert_int_equal(decode_bytes(p, n), VT_OK);
    assert_int_equal(g_batch.n_resources, 1);
    assert_int_equal(g_batch.n_scopes, 1);
    assert_int_equal(g_batch.n_spans, 1);

    const vt_resource_t *r = &g_batch.resources[0];
    assert_int_equal(r->attrs.n, 2);
    assert_int_equal(r->attrs.dropped, 1);
    assert_str(attr(&r->attrs, 0, "service.name")->u.s, "voice-agent");
    assert_int_equal(attr(&r->attrs, 1, "host.cpus")->u.i, 8);
    assert_str(r->schema_url, "https://opentelemetry.io/schemas/1.21.0");

    const vt_scope_t *sc = &g_batch.scopes[0];
    assert_str(sc->name, "livekit.agents");
    assert_str(sc->version, "1.2.3");
    assert_str(sc->schema_url, "https://example.com/scope");
    assert_int_equal(sc->attrs.n, 1);
    assert_int_equal(sc->attrs.dropped, 2);
    assert_true(attr(&sc->attrs, 0, "scope.attr")->u.b);

    const vt_span_t *s = &g_batch.spans[0];
    assert_int_equal(s->resource_idx, 0);
    assert_int_equal(s->scope_idx, 0);
    assert_int_equal(s->trace_id_len, 16);
    assert_memory_equal(s->trace_id, k_trace, 16);
    assert_int_equal(s->span_id_len, 8);
    assert_memory_equal(s->span_id, k_span, 8);
    assert_int_equal(s->parent_span_id_len, 8);
    assert_memory_equal(s->parent_span_id, k_parent, 8);
    assert_str(s->trace_state, "congo=t61rcWkgMzE");
    assert_int_equal(s->flags, 0x301);
    assert_str(s->name, "llm");
    assert_int_equal(s->kind, 2);
    assert_true(s->start_ns == 1700000000123456789ull);
    assert_true(s->end_ns == 1700000001623456789ull);

    /* Attributes, in order, with every value type. */
    assert_int_equal(s->attrs.n, 10);
    assert_int_equal(s->attrs.dropped, 3);
    const vt_value_t *v = attr(&s->attrs, 0, "s");
    assert_int_equal(v->type, VT_VAL_STRING);
    assert_str(v->u.s, "hello");
    v = attr(&s->attrs, 1, "b");
    assert_int_equal(v->type, VT_VAL_BOOL);
    assert_true(v->u.b);
    v = attr(&s->attrs, 2, "i");
    assert_int_equal(v->type, VT_VAL_INT);
    assert_true(v->u.i == -42);
    v = attr(&s->attrs, 3, "d");
    assert_int_equal(v->type, VT_VAL_DOUBLE);
    assert_true(v->u.d == 3.25);
    v = attr(&s->attrs, 4, "bytes");
    assert_int_equal(v->type, VT_VAL_BYTES);
    assert_int_equal(v->u.s.n, sizeof k_blob);
    assert_memory_equal(v->u.s.p, k_blob, sizeof k_blob);
    assert_int_equal(attr(&s->attrs, 5, "empty")->type, VT_VAL_EMPTY);
    assert_int_equal(attr(&s->attrs, 6, "novalue")->type, VT_VAL_EMPTY);

    v = attr(&s->attrs, 7, "arr");
    assert_int_equal(v->type, VT_VAL_ARRAY);
    assert_int_equal(v->u.arr.n, 3);
    assert_int_equal(v->u.arr.items[0].type, VT_VAL_STRING);
    assert_str(v->u.arr.items[0].u.s, "x");
    assert_int_equal(v->u.arr.items[1].type, VT_VAL_INT);
    assert_true(v->u.arr.items[1].u.i == 7);
    const vt_value_t *inner = &v->u.arr.items[2];
    assert_int_equal(inner->type, VT_VAL_ARRAY);
    assert_int_equal(inner->u.arr.n, 1);
    assert_int_equal(inner->u.arr.items[0].type, VT_VAL_BOOL);
    assert_true(inner->u.arr.items[0].u.b);

    v = attr(&s->attrs, 8, "kv");
    assert_int_equal(v->type, VT_VAL_KVLIST);
    assert_int_equal(v->u.kv.n, 2);
    assert_str(v->u.kv.items[0].key, "inner");
    inner = &v->u.kv.items[0].value;
    assert_int_equal(inner->type, VT_VAL_KVLIST);
    assert_int_equal(inner->u.kv.n, 1);
    assert_str(inner->u.kv.items[0].key, "deep");
    assert_int_equal(inner->u.kv.items[0].value.type, VT_VAL_STRING);
    assert_str(inner->u.kv.items[0].value.u.s, "v");
    assert_str(v->u.kv.items[1].key, "n");
    assert_int_equal(v->u.kv.items[1].value.type, VT_VAL_DOUBLE);
    assert_true(v->u.kv.items[1].value.u.d == 1.5);

    v = attr(&s->attrs, 9, "f");
    assert_int_equal(v->type, VT_VAL_BOOL);
    assert_false(v->u.b);

    /* Events. */
    assert_int_equal(s->n_events, 2);
    assert_int_equal(s->dropped_events, 4);
    assert_true(s->events[0].time_ns == 1700000000200000000ull);
    assert_str(s->events[0].name, "start");
    assert_int_equal(s->events[0].attrs.n, 1);
    assert_int_equal(s->events[0].attrs.dropped, 1);
    assert_str(attr(&s->events[0].attrs, 0, "k")->u.s, "v");
    assert_true(s->events[1].time_ns == 1700000001600000000ull);
    assert_str(s->events[1].name, "end");
    assert_int_equal(s->events[1].attrs.n, 0);
    assert_int_equal(s->events[1].attrs.dropped, 0);

    /* Links. */
    assert_int_equal(s->n_links, 1);
    assert_int_equal(s->dropped_links, 6);
    const vt_link_t *l = &s->links[0];
    assert_memory_equal(l->trace_id, k_ids20 + 4, 16);
    assert_memory_equal(l->span_id, k_parent, 8);
    assert_str(l->trace_state, "ts=1");
    assert_int_equal(l->flags, 0x100);
    assert_int_equal(l->attrs.n, 1);
    assert_int_equal(l->attrs.dropped, 5);
    assert_str(attr(&l->attrs, 0, "link.kind")->u.s, "follows");

    assert_int_equal(s->status_code, VT_STATUS_ERROR);
    assert_str(s->status_message, "boom");
}

/* A span with nothing but ids: every other field reads as its zero value. */
static void test_defaults(void **state) {
    (void)state;
    pb_span_t *ps = span_new("");
    const vt_span_t *s = one_span(ps);
    assert_int_equal(s->parent_span_id_len, 0);
    assert_str(s->name, "");
    assert_str(s->trace_state, "");
    assert_int_equal(s->kind, 0);
    assert_int_equal(s->flags, 0);
    assert_true(s->start_ns == 0 && s->end_ns == 0);
    assert_int_equal(s->attrs.n, 0);
    assert_null(s->events);
    assert_int_equal(s->n_events + s->n_links + s->dropped_events + s->dropped_links, 0);
    assert_int_equal(s->status_code, VT_STATUS_UNSET);
    assert_str(s->status_message, "");
    assert_str(g_batch.scopes[0].version, "");
}

/* ---- resources and scopes -------------------------------------------------------------------- */

static void test_resource_scope_sharing(void **state) {
    (void)state;
    pb_resource_t *res = bnew(sizeof *res);
    opentelemetry__proto__resource__v1__resource__init(res);
    res->n_attributes = 1;
    res->attributes = (pb_kv_t **)plist(1, kv("service.name", av_str("a")));

    pb_scope_spans_t *ss0 =
        scope_spans("s0", 2, (pb_span_t **)plist(2, span_new("A"), span_new("B")));
    pb_scope_spans_t *ss1 = scope_spans(NULL, 1, (pb_span_t **)plist(1, span_new("C")));
    pb_scope_spans_t *ss2 = scope_spans("s2", 1, (pb_span_t **)plist(1, span_new("D")));
    pb_scope_spans_t *ss3 = scope_spans("s3", 0, NULL);
    pb_resource_spans_t *rs0 = resource_spans(res, 2, (pb_scope_spans_t **)plist(2, ss0, ss1));
    pb_resource_spans_t *rs1 = resource_spans(NULL, 2, (pb_scope_spans_t **)plist(2, ss2, ss3));
    rs1->schema_url = "u1";
    size_t n;
    uint8_t *p = pack(&request(2, (pb_resource_spans_t **)plist(2, rs0, rs1))->base, &n);
    maybe_write_seed("two_resources.pb", p, n);
    assert_int_equal(decode_bytes(p, n), VT_OK);

    assert_int_equal(g_batch.n_resources, 2);
    assert_int_equal(g_batch.n_scopes, 4);
    assert_int_equal(g_batch.n_spans, 4);
    assert_str(attr(&g_batch.resources[0].attrs, 0, "service.name")->u.s, "a");
    assert_int_equal(g_batch.resources[1].attrs.n, 0);
    assert_str(g_batch.resources[1].schema_url, "u1");
    assert_str(g_batch.scopes[0].name, "s0");
    assert_str(g_batch.scopes[1].name, "");
    assert_str(g_batch.scopes[2].name, "s2");
    assert_str(g_batch.scopes[3].name, "s3");

    static const char *names[] = {"A", "B", "C", "D"};
    static const uint32_t res_idx[] = {0, 0, 0, 1};
    static const uint32_t scope_idx[] = {0, 0, 1, 2};
    for (int i = 0; i < 4; i++) {
        assert_str(g_batch.spans[i].name, names[i]);
        assert_int_equal(g_batch.spans[i].resource_idx, res_idx[i]);
        assert_int_equal(g_batch.spans[i].scope_idx, scope_idx[i]);
    }
}

/* Field 1000 of ResourceSpans (instrumentation_library_spans, from before OTLP 0.19) is read
 * when scope_spans is empty and ignored otherwise. */
static void test_instrumentation_library_spans(void **state) {
    (void)state;
    pb_resource_spans_t *old = resource_spans(NULL, 0, NULL);
    old->n_instrumentation_library_spans = 1;
    old->instrumentation_library_spans = (pb_scope_spans_t **)plist(
        1, scope_spans("old-lib", 2, (pb_span_t **)plist(2, span_new("X"), span_new("Y"))));
    pb_resource_spans_t *both =
        resource_spans(NULL, 1,
                       (pb_scope_spans_t **)plist(
                           1, scope_spans("new-lib", 1, (pb_span_t **)plist(1, span_new("Z")))));
    both->n_instrumentation_library_spans = 1;
    both->instrumentation_library_spans = (pb_scope_spans_t **)plist(
        1, scope_spans("ignored", 1, (pb_span_t **)plist(1, span_new("W"))));

    decode_ok(request(2, (pb_resource_spans_t **)plist(2, old, both)));
    assert_int_equal(g_batch.n_scopes, 2);
    assert_int_equal(g_batch.n_spans, 3);
    assert_str(g_batch.scopes[0].name, "old-lib");
    assert_str(g_batch.scopes[1].name, "new-lib");
    assert_str(g_batch.spans[0].name, "X");
    assert_str(g_batch.spans[1].name, "Y");
    assert_str(g_batch.spans[2].name, "Z");
    assert_int_equal(g_batch.spans[2].scope_idx, 1);
    assert_int_equal(g_batch.spans[2].resource_idx, 1);
}

/* ---- ids ------------------------------------------------------------------------------------- */

static void test_wrong_length_ids(void **state) {
    (void)state;
    pb_span_t *ps = span_new("s");
    ps->trace_id = bin(k_ids20, 20);
    ps->span_id = bin(k_span, 3);
    ps->parent_span_id = bin(k_ids20, 9);
    pb_link_t *l = bnew(sizeof *l);
    opentelemetry__proto__trace__v1__span__link__init(l);
    l->trace_id = bin(k_ids20, 15);
    l->span_id = bin(k_span, 8);
    ps->n_links = 1;
    ps->links = (pb_link_t **)plist(1, l);

    const vt_span_t *s = one_span(ps);
    static const uint8_t zeros[16] = {0};
    static const uint8_t span3[8] = {0xa1, 0xa2, 0xa3, 0, 0, 0, 0, 0};
    assert_int_equal(s->trace_id_len, 20);
    assert_memory_equal(s->trace_id, k_ids20, 16);
    assert_int_equal(s->span_id_len, 3);
    assert_memory_equal(s->span_id, span3, 8);
    assert_int_equal(s->parent_span_id_len, 9);
    assert_memory_equal(s->parent_span_id, k_ids20, 8);
    /* A link id of the wrong size reads as zeros; the right-sized one is kept. */
    assert_memory_equal(s->links[0].trace_id, zeros, 16);
    assert_memory_equal(s->links[0].span_id, k_span, 8);

    /* Missing ids have length 0. */
    ps = span_new("s");
    ps->trace_id = bin(NULL, 0);
    ps->span_id = bin(NULL, 0);
    s = one_span(ps);
    assert_int_equal(s->trace_id_len, 0);
    assert_int_equal(s->span_id_len, 0);
    assert_memory_equal(s->trace_id, zeros, 16);
}

static void test_kind_and_status_codes(void **state) {
    (void)state;
    static const struct {
        int kind, status, want_kind, want_status;
    } cases[] = {
        {5, 1, 5, VT_STATUS_OK},
        {1, 0, 1, VT_STATUS_UNSET},
        {9, 7, 0, 0},
        {-1, -3, 0, 0},
    };
    for (size_t i = 0; i < VT_ARRAY_LEN(cases); i++) {
        pb_span_t *ps = span_new("s");
        ps->kind = cases[i].kind;
        pb_status_t *st = bnew(sizeof *st);
        opentelemetry__proto__trace__v1__status__init(st);
        st->code = cases[i].status;
        st->message = "m";
        ps->status = st;
        const vt_span_t *s = one_span(ps);
        assert_int_equal(s->kind, cases[i].want_kind);
        assert_int_equal(s->status_code, cases[i].want_status);
        assert_str(s->status_message, "m");
    }
}

/* ---- limits ---------------------------------------------------------------------------------- */

static void test_count_limits(void **state) {
    (void)state;
    pb_span_t *ps = span_new("s");
    ps->n_attributes = 300;
    ps->attributes = many_kvs(300);
    ps->dropped_attributes_count = 2;

    ps->n_events = 300;
    ps->events = bnew(300 * sizeof *ps->events);
    for (size_t i = 0; i < 300; i++) {
        pb_event_t *e = bnew(sizeof *e);
        opentelemetry__proto__trace__v1__span__event__init(e);
        e->name = "e";
        e->time_unix_nano = i;
        ps->events[i] = e;
    }
    ps->events[0]->n_attributes = 130;
    ps->events[0]->attributes = many_kvs(130);
    ps->events[0]->dropped_attributes_count = 1;
    ps->dropped_events_count = 7;

    ps->n_links = 130;
    ps->links = bnew(130 * sizeof *ps->links);
    for (size_t i = 0; i < 130; i++) {
        pb_link_t *l = bnew(sizeof *l);
        opentelemetry__proto__trace__v1__span__link__init(l);
        ps->links[i] = l;
    }
    ps->links[0]->n_attributes = 130;
    ps->links[0]->attributes = many_kvs(130);
    ps->dropped_links_count = 1;

    pb_any_t **items = bnew(1100 * sizeof *items);
    for (size_t i = 0; i < 1100; i++)
        items[i] = av_int((int64_t)i);
    ps->attributes[0]->value = av_array(1100, items);
    ps->attributes[1]->value = av_kvlist(1100, many_kvs(1100));

    pb_scope_spans_t *ss = scope_spans("scope", 1, (pb_span_t **)plist(1, ps));
    ss->scope->n_attributes = 300;
    ss->scope->attributes = many_kvs(300);
    pb_resource_t *res = bnew(sizeof *res);
    opentelemetry__proto__resource__v1__resource__init(res);
    res->n_attributes = 257;
    res->attributes = many_kvs(257);
    res->dropped_attributes_count = UINT32_MAX; /* the sum saturates */
    decode_ok(request(1, (pb_resource_spans_t **)plist(
                             1, resource_spans(res, 1, (pb_scope_spans_t **)plist(1, ss)))));

    const vt_span_t *s = &g_batch.spans[0];
    assert_int_equal(s->attrs.n, VT_MAX_ATTRS_PER_SPAN);
    assert_int_equal(s->attrs.dropped, 2 + 300 - VT_MAX_ATTRS_PER_SPAN);
    assert_str(s->attrs.items[255].key, "k255");
    assert_true(s->attrs.items[255].value.u.i == 255);

    assert_int_equal(s->n_events, VT_MAX_EVENTS_PER_SPAN);
    assert_int_equal(s->dropped_events, 7 + 300 - VT_MAX_EVENTS_PER_SPAN);
    assert_true(s->events[255].time_ns == 255);
    assert_int_equal(s->events[0].attrs.n, VT_MAX_ATTRS_PER_EVENT);
    assert_int_equal(s->events[0].attrs.dropped, 1 + 130 - VT_MAX_ATTRS_PER_EVENT);

    assert_int_equal(s->n_links, VT_MAX_LINKS_PER_SPAN);
    assert_int_equal(s->dropped_links, 1 + 130 - VT_MAX_LINKS_PER_SPAN);
    assert_int_equal(s->links[0].attrs.n, VT_MAX_ATTRS_PER_EVENT);
    assert_int_equal(s->links[0].attrs.dropped, 130 - VT_MAX_ATTRS_PER_EVENT);

    const vt_value_t *arr = &s->attrs.items[0].value;
    assert_int_equal(arr->type, VT_VAL_ARRAY);
    assert_int_equal(arr->u.arr.n, VT_MAX_ARRAY_ITEMS);
    assert_true(arr->u.arr.items[1023].u.i == 1023);
    const vt_value_t *kvl = &s->attrs.items[1].value;
    assert_int_equal(kvl->type, VT_VAL_KVLIST);
    assert_int_equal(kvl->u.kv.n, VT_MAX_ARRAY_ITEMS);
    assert_str(kvl->u.kv.items[1023].key, "k1023");

    assert_int_equal(g_batch.scopes[0].attrs.n, VT_MAX_ATTRS_PER_SPAN);
    assert_int_equal(g_batch.scopes[0].attrs.dropped, 300 - VT_MAX_ATTRS_PER_SPAN);
    assert_int_equal(g_batch.resources[0].attrs.n, VT_MAX_ATTRS_PER_SPAN);
    assert_int_equal(g_batch.resources[0].attrs.dropped, UINT32_MAX);
}

static void test_length_limits(void **state) {
    (void)state;
    /* A two-byte character (é) straddles the name limit: it goes whole. */
    char *name = brepeat('a', VT_MAX_NAME_LEN + 10);
    memcpy(name + VT_MAX_NAME_LEN - 1, "\xc3\xa9", 2);
    /* A three-byte character (€) straddles the value limit. */
    char *long_val = brepeat('x', VT_MAX_ATTR_VALUE_LEN + 100);
    memcpy(long_val + VT_MAX_ATTR_VALUE_LEN - 1, "\xe2\x82\xac", 3);
    char *exact_val = brepeat('y', VT_MAX_ATTR_VALUE_LEN);
    char *long_key = brepeat('k', 2000);
    char *long_state = brepeat('t', 3000);
    uint8_t *blob = bnew(VT_MAX_ATTR_VALUE_LEN + 5000);
    blob[VT_MAX_ATTR_VALUE_LEN - 1] = 0x7f;

    pb_span_t *ps = span_new(name);
    ps->trace_state = long_state;
    ps->n_attributes = 5;
    ps->attributes = (pb_kv_t **)plist(
        5, kv("long", av_str(long_val)), kv("exact", av_str(exact_val)), kv(long_key, av_str("v")),
        kv("blob", av_bytes(blob, VT_MAX_ATTR_VALUE_LEN + 5000)),
        kv("nested", av_array(1, (pb_any_t **)plist(1, av_str(long_val)))));
    pb_event_t *e = bnew(sizeof *e);
    opentelemetry__proto__trace__v1__span__event__init(e);
    e->name = brepeat('b', 2000);
    ps->n_events = 1;
    ps->events = (pb_event_t **)plist(1, e);

    const vt_span_t *s = one_span(ps);
    assert_int_equal(s->name.n, VT_MAX_NAME_LEN - 1);
    assert_memory_equal(s->name.p, name, VT_MAX_NAME_LEN - 1);
    assert_int_equal(s->events[0].name.n, VT_MAX_NAME_LEN);
    assert_int_equal(s->trace_state.n, 3000);

    assert_int_equal(s->attrs.items[0].value.u.s.n, VT_MAX_ATTR_VALUE_LEN - 1);
    assert_int_equal(s->attrs.items[1].value.u.s.n, VT_MAX_ATTR_VALUE_LEN);
    assert_int_equal(s->attrs.items[2].key.n, 2000);
    assert_int_equal(s->attrs.items[3].value.type, VT_VAL_BYTES);
    assert_int_equal(s->attrs.items[3].value.u.s.n, VT_MAX_ATTR_VALUE_LEN);
    assert_int_equal((uint8_t)s->attrs.items[3].value.u.s.p[VT_MAX_ATTR_VALUE_LEN - 1], 0x7f);
    assert_int_equal(s->attrs.items[4].value.u.arr.items[0].u.s.n, VT_MAX_ATTR_VALUE_LEN - 1);
}

/* ---- nesting --------------------------------------------------------------------------------- */

/* A value of `levels` nested arrays (or kvlists with key "n") around the string "leaf". */
static pb_any_t *nested_value(int levels, bool kvlists) {
    pb_any_t *v = av_str("leaf");
    for (int i = 0; i < levels; i++)
        v = kvlists ? av_kvlist(1, (pb_kv_t **)plist(1, kv("n", v)))
                    : av_array(1, (pb_any_t **)plist(1, v));
    return v;
}

static void test_nesting_limit(void **state) {
    (void)state;
    for (int kvlists = 0; kvlists < 2; kvlists++) {
        pb_span_t *ps = span_new("s");
        ps->n_attributes = 1;
        ps->attributes =
            (pb_kv_t **)plist(1, kv("deep", nested_value(VT_MAX_VALUE_DEPTH, kvlists)));
        size_t n;
        uint8_t *p = pack(&request_of(1, (pb_span_t **)plist(1, ps))->base, &n);
        if (kvlists)
            maybe_write_seed("nested_kvlists_16.pb", p, n);
        assert_int_equal(decode_bytes(p, n), VT_OK);
        const vt_value_t *v = &g_batch.spans[0].attrs.items[0].value;
        for (int i = 0; i < VT_MAX_VALUE_DEPTH; i++) {
            assert_int_equal(v->type, kvlists ? VT_VAL_KVLIST : VT_VAL_ARRAY);
            v = kvlists ? &v->u.kv.items[0].value : &v->u.arr.items[0];
        }
        assert_int_equal(v->type, VT_VAL_STRING);
        assert_str(v->u.s, "leaf");

        /* One level more is refused, wherever the value is: span, event, link, resource. */
        for (int where = 0; where < 4; where++) {
            ps = span_new("s");
            pb_kv_t **attrs =
                (pb_kv_t **)plist(1, kv("deep", nested_value(VT_MAX_VALUE_DEPTH + 1, kvlists)));
            pb_resource_t *res = NULL;
            if (where == 0) {
                ps->n_attributes = 1;
                ps->attributes = attrs;
            } else if (where == 1) {
                pb_event_t *e = bnew(sizeof *e);
                opentelemetry__proto__trace__v1__span__event__init(e);
                e->n_attributes = 1;
                e->attributes = attrs;
                ps->n_events = 1;
                ps->events = (pb_event_t **)plist(1, e);
            } else if (where == 2) {
                pb_link_t *l = bnew(sizeof *l);
                opentelemetry__proto__trace__v1__span__link__init(l);
                l->n_attributes = 1;
                l->attributes = attrs;
                ps->n_links = 1;
                ps->links = (pb_link_t **)plist(1, l);
            } else {
                res = bnew(sizeof *res);
                opentelemetry__proto__resource__v1__resource__init(res);
                res->n_attributes = 1;
                res->attributes = attrs;
            }
            pb_scope_spans_t *ss = scope_spans("x", 1, (pb_span_t **)plist(1, ps));
            assert_int_equal(
                decode_msg(
                    request(1, (pb_resource_spans_t **)plist(
                                   1, resource_spans(res, 1, (pb_scope_spans_t **)plist(1, ss))))),
                VT_EINVAL);
            assert_non_null(strstr(g_err, "nested deeper than 16 levels"));
            assert_int_equal(g_batch.n_spans, 0);
        }
    }
}

/* A hostile body nesting 200,000 arrays must be refused without recursing that deep (under
 * ASan, whose frames are larger, a recursive unpack of it would overflow the stack). */
static void test_hostile_nesting(void **state) {
    (void)state;
    for (int kvlists = 0; kvlists < 2; kvlists++) {
        rev_t r;
        rev_init(&r, 200000 * 16 + 256);
        for (int i = 0; i < 200000; i++) {
            if (kvlists) {
                rev_wrap(&r, 2); /* KeyValue.value */
                rev_wrap(&r, 1); /* KeyValueList.values */
                rev_wrap(&r, 6); /* AnyValue.kvlist_value */
            } else {
                rev_wrap(&r, 1); /* ArrayValue.values */
                rev_wrap(&r, 5); /* AnyValue.array_value */
            }
        }
        rev_wrap(&r, 2);          /* KeyValue.value */
        rev_lenfield(&r, 1, "k"); /* KeyValue.key */
        rev_wrap(&r, 9);          /* Span.attributes */
        rev_wrap_span(&r);
        assert_int_equal(decode_rev(&r), VT_EINVAL);
        assert_non_null(strstr(g_err, "nested deeper than 16 levels"));
        assert_non_null(strstr(g_err, "resource_spans.scope_spans.spans.attributes"));
        free(r.buf);
    }
}

/* ---- malformed input ------------------------------------------------------------------------- */

static void test_invalid_wire_data(void **state) {
    (void)state;
    static const struct {
        const char *bytes;
        size_t n;
        const char *expect; /* in the error message */
    } cases[] = {
        {"\xff", 1, "bad field key"},
        {"\x0a\x05\x01", 3, "truncated"},
        {"\x0a\xff\xff\xff\xff\x0f", 6, "truncated"},
        {"\x0a\x80\x80\x80\x80\x80\x01", 7, "bad length"},
        {"\x08\x01", 2, "wire type 0"},
        {"\x0b", 1, "groups"},
        {"\x0c", 1, "groups"},
        {"\x0e", 1, "wire type 6"},
        {"\x00", 1, "field number 0"},
        {"\x78\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11, "bad varint"},
        {"\x78\x80", 2, "bad varint"},
        {"\x79\x01\x02", 3, "truncated field 15"},
        {"\x7d\x01", 2, "truncated field 15"},
        {"\xf8\xff\xff\xff\xff\x01", 6, "bad field key"},
    };
    for (size_t i = 0; i < VT_ARRAY_LEN(cases); i++) {
        g_err[0] = '\0';
        vt_err_t e = decode_bytes(cases[i].bytes, cases[i].n);
        if (e != VT_EINVAL || !strstr(g_err, cases[i].expect))
            fail_msg("case %zu: got %d \"%s\", want \"%s\"", i, e, g_err, cases[i].expect);
        assert_non_null(strstr(g_err, "invalid protobuf"));
    }

    /* Unknown fields of every wire type at the top level are skipped. */
    static const uint8_t unknown[] = {0x78, 0x01, 0x79, 1,   2,   3,    4, 5, 6, 7,
                                      8,    0x7a, 0x02, 'h', 'i', 0x7d, 1, 2, 3, 4};
    assert_int_equal(decode_bytes(unknown, sizeof unknown), VT_OK);
    assert_int_equal(g_batch.n_resources, 0);

    /* A known field with the wrong wire type deep inside: the span name as a varint. The error
     * names the path and the byte. */
    rev_t r;
    rev_init(&r, 64);
    rev_varint(&r, 1);
    rev_varint(&r, 5 << 3 | 0);
    rev_wrap_span(&r);
    assert_int_equal(decode_rev(&r), VT_EINVAL);
    assert_non_null(strstr(g_err, "resource_spans.scope_spans.spans.name"));
    assert_non_null(strstr(g_err, "at byte 6"));
    free(r.buf);

    /* The fixed64 start time as a fixed32. */
    rev_init(&r, 64);
    rev_bytes(&r, "\x01\x02\x03\x04", 4);
    rev_varint(&r, 7 << 3 | 5);
    rev_wrap_span(&r);
    assert_int_equal(decode_rev(&r), VT_EINVAL);
    assert_non_null(strstr(g_err, "start_time_unix_nano"));
    free(r.buf);
}

/* Every strict prefix of a valid body either decodes (it ends between fields) or is refused as
 * invalid; nothing else happens. */
static void test_truncated_bodies(void **state) {
    (void)state;
    size_t n;
    uint8_t *p = pack(&full_request()->base, &n);
    size_t refused = 0;
    for (size_t cut = 0; cut < n; cut++) {
        vt_arena_t a;
        vt_batch_t b;
        vt_arena_init(&a, 1u << 20);
        vt_err_t e = vt_otlp_decode_protobuf(&a, p, cut, &b, g_err, sizeof g_err);
        vt_arena_free(&a);
        if (e != VT_OK && e != VT_EINVAL)
            fail_msg("cut %zu: error %d", cut, e);
        if (e == VT_EINVAL) {
            assert_non_null(strstr(g_err, "invalid protobuf"));
            refused++;
        }
    }
    /* The body is one resource_spans field, so only the empty prefix is a whole message. */
    assert_int_equal(refused, n - 1);
}

static void test_garbage(void **state) {
    (void)state;
    uint32_t x = 12345;
    uint8_t buf[96];
    for (int round = 0; round < 3000; round++) {
        size_t n = 1 + (size_t)(round % (int)sizeof buf);
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t)(x >> 16);
        }
        vt_arena_t a;
        vt_batch_t b;
        vt_arena_init(&a, 1u << 20);
        vt_err_t e = vt_otlp_decode_protobuf(&a, buf, n, &b, g_err, sizeof g_err);
        vt_arena_free(&a);
        if (e != VT_OK && e != VT_EINVAL)
            fail_msg("round %d: error %d", round, e);
    }
}

/* Unknown fields inside messages are ignored, and so is the reserved Status field 1. */
static void test_unknown_fields_ignored(void **state) {
    (void)state;
    static uint8_t varint_one[] = {0x01};
    static uint8_t fixed4[] = {1, 2, 3, 4};
    /* protobuf-c keeps (and packs) the length prefix of an unknown field with its data. */
    static uint8_t str[] = {3, 'z', 'z', 'z'};
    ProtobufCMessageUnknownField unk[] = {
        {99, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, sizeof str, str},
        {100, PROTOBUF_C_WIRE_TYPE_VARINT, sizeof varint_one, varint_one},
        {101, PROTOBUF_C_WIRE_TYPE_32BIT, sizeof fixed4, fixed4},
    };
    pb_span_t *ps = span_new("with-unknowns");
    ps->base.n_unknown_fields = VT_ARRAY_LEN(unk);
    ps->base.unknown_fields = unk;
    pb_any_t *v = av_int(5);
    v->base.n_unknown_fields = 1;
    v->base.unknown_fields = unk + 1;
    ps->n_attributes = 1;
    ps->attributes = (pb_kv_t **)plist(1, kv("k", v));
    pb_status_t *st = bnew(sizeof *st);
    opentelemetry__proto__trace__v1__status__init(st);
    st->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK;
    ProtobufCMessageUnknownField old_code = {1, PROTOBUF_C_WIRE_TYPE_VARINT, 1, varint_one};
    st->base.n_unknown_fields = 1;
    st->base.unknown_fields = &old_code;
    ps->status = st;

    const vt_span_t *s = one_span(ps);
    assert_str(s->name, "with-unknowns");
    assert_int_equal(s->attrs.n, 1);
    assert_int_equal(s->attrs.items[0].value.type, VT_VAL_INT);
    assert_true(s->attrs.items[0].value.u.i == 5);
    assert_int_equal(s->status_code, VT_STATUS_OK);
}

/* Protobuf semantics the decoder inherits: the last member of a oneof wins, and a singular
 * message field sent twice is merged. */
static void test_repeated_occurrences(void **state) {
    (void)state;
    /* A span with Status twice, {message="early"} then {code=2}, which merge into one; and an
     * attribute whose AnyValue holds a string, then an int. */
    rev_t r;
    rev_init(&r, 256);
    rev_varint(&r, 2);
    rev_varint(&r, 3 << 3 | 0);
    rev_wrap(&r, 15); /* second Status occurrence */
    size_t end_first = r.pos;
    rev_lenfield(&r, 2, "early");
    rev_varint(&r, end_first - r.pos);
    rev_varint(&r, 15 << 3 | 2); /* first Status occurrence */
    size_t end_kv = r.pos;
    rev_varint(&r, 5);
    rev_varint(&r, 3 << 3 | 0); /* AnyValue.int_value = 5 */
    rev_lenfield(&r, 1, "a");   /* AnyValue.string_value = "a", first on the wire */
    rev_varint(&r, end_kv - r.pos);
    rev_varint(&r, 2 << 3 | 2); /* KeyValue.value */
    rev_lenfield(&r, 1, "k");   /* KeyValue.key */
    rev_varint(&r, end_kv - r.pos);
    rev_varint(&r, 9 << 3 | 2); /* Span.attributes */
    rev_wrap_span(&r);
    assert_int_equal(decode_rev(&r), VT_OK);
    const vt_span_t *s = &g_batch.spans[0];
    assert_int_equal(s->attrs.n, 1);
    assert_str(s->attrs.items[0].key, "k");
    assert_int_equal(s->attrs.items[0].value.type, VT_VAL_INT);
    assert_true(s->attrs.items[0].value.u.i == 5);
    assert_int_equal(s->status_code, VT_STATUS_ERROR);
    assert_str(s->status_message, "early");
    free(r.buf);
}

/* ---- memory cap ------------------------------------------------------------------------------ */

static pb_request_t *big_request(size_t n_spans) {
    pb_span_t **spans = bnew(n_spans * sizeof *spans);
    for (size_t i = 0; i < n_spans; i++) {
        spans[i] = span_new("tts");
        spans[i]->n_attributes = 10;
        spans[i]->attributes = many_kvs(10);
    }
    return request_of(n_spans, spans);
}

static void test_arena_cap(void **state) {
    (void)state;
    size_t n;
    uint8_t *p = pack(&big_request(300)->base, &n);

    vt_arena_t a;
    vt_arena_init(&a, 128 * 1024);
    memset(&g_batch, 0xaa, sizeof g_batch);
    assert_int_equal(vt_otlp_decode_protobuf(&a, p, n, &g_batch, g_err, sizeof g_err), VT_ETOOBIG);
    assert_non_null(strstr(g_err, "memory limit"));
    assert_int_equal(g_batch.n_spans, 0);
    assert_null(g_batch.spans);
    vt_arena_free(&a);

    /* Growing the cap: once a decode fits, every larger cap fits too, and the failures before
     * are all VT_ETOOBIG (whether unpacking or flattening ran out). */
    bool fitted = false;
    for (size_t cap = 64 * 1024; cap <= 4u << 20; cap += 24 * 1024) {
        vt_arena_init(&a, cap);
        vt_err_t e = vt_otlp_decode_protobuf(&a, p, n, &g_batch, g_err, sizeof g_err);
        vt_arena_free(&a);
        if (fitted)
            assert_int_equal(e, VT_OK);
        else if (e == VT_OK)
            fitted = true;
        else
            assert_int_equal(e, VT_ETOOBIG);
    }
    assert_true(fitted);

    assert_int_equal(decode_bytes(p, n), VT_OK);
    assert_int_equal(g_batch.n_spans, 300);
    assert_str(g_batch.spans[299].attrs.items[9].key, "k9");
}

/* ---- response encoders ----------------------------------------------------------------------- */

static pb_response_t *unpack_response(const vt_buf_t *b, size_t from) {
    pb_response_t *r =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
            NULL, b->len - from, (const uint8_t *)b->data + from);
    assert_non_null(r);
    return r;
}

static void test_export_response(void **state) {
    (void)state;
    vt_buf_t b;
    vt_buf_init(&b, 0);
    assert_int_equal(vt_otlp_pb_export_response(&b, 0, NULL), VT_OK);
    assert_int_equal(b.len, 0);
    assert_int_equal(vt_otlp_pb_export_response(&b, 0, ""), VT_OK);
    assert_int_equal(b.len, 0);

    static const struct {
        int64_t rejected;
        const char *msg, *want_msg;
    } cases[] = {
        {3, "3 spans have an invalid trace id", "3 spans have an invalid trace id"},
        {0, "warning", "warning"},
        {5, NULL, ""},
        {INT64_MAX, "", ""},
    };
    for (size_t i = 0; i < VT_ARRAY_LEN(cases); i++) {
        vt_buf_reset(&b);
        vt_buf_append_c(&b, "xy"); /* appends after what is there */
        assert_int_equal(vt_otlp_pb_export_response(&b, cases[i].rejected, cases[i].msg), VT_OK);
        assert_true(b.len > 2);
        assert_memory_equal(b.data, "xy", 2);
        pb_response_t *r = unpack_response(&b, 2);
        assert_non_null(r->partial_success);
        assert_true(r->partial_success->rejected_spans == cases[i].rejected);
        assert_string_equal(r->partial_success->error_message, cases[i].want_msg);
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(
            r, NULL);
    }
    vt_buf_free(&b);

    /* Over the buffer's maximum: an error, nothing appended. */
    vt_buf_init(&b, 8);
    assert_int_equal(vt_otlp_pb_export_response(&b, 1, "a message longer than eight bytes"),
                     VT_ETOOBIG);
    assert_int_equal(b.len, 0);
    vt_buf_free(&b);
}

static void test_status(void **state) {
    (void)state;
    vt_buf_t b;
    vt_buf_init(&b, 0);
    assert_int_equal(
        vt_otlp_pb_status(&b, 3, "Missing required header: X-Simulation-Id or X-Conversation-Id"),
        VT_OK);
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, b.len, (const uint8_t *)b.data);
    assert_non_null(st);
    assert_int_equal(st->code, 3);
    assert_string_equal(st->message,
                        "Missing required header: X-Simulation-Id or X-Conversation-Id");
    assert_int_equal(st->n_details, 0);
    google__rpc__status__free_unpacked(st, NULL);

    vt_buf_reset(&b);
    assert_int_equal(vt_otlp_pb_status(&b, 14, NULL), VT_OK);
    st = google__rpc__status__unpack(NULL, b.len, (const uint8_t *)b.data);
    assert_non_null(st);
    assert_int_equal(st->code, 14);
    assert_string_equal(st->message, "");
    google__rpc__status__free_unpacked(st, NULL);

    /* Code 0 and no message is the empty message. */
    vt_buf_reset(&b);
    assert_int_equal(vt_otlp_pb_status(&b, 0, NULL), VT_OK);
    assert_int_equal(b.len, 0);
    vt_buf_free(&b);

    vt_buf_init(&b, 4);
    assert_int_equal(vt_otlp_pb_status(&b, 8, "too long for four bytes"), VT_ETOOBIG);
    assert_int_equal(b.len, 0);
    vt_buf_free(&b);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_empty_body),
        T(test_all_fields),
        T(test_defaults),
        T(test_resource_scope_sharing),
        T(test_instrumentation_library_spans),
        T(test_wrong_length_ids),
        T(test_kind_and_status_codes),
        T(test_count_limits),
        T(test_length_limits),
        T(test_nesting_limit),
        T(test_hostile_nesting),
        T(test_invalid_wire_data),
        T(test_truncated_bodies),
        T(test_garbage),
        T(test_unknown_fields_ignored),
        T(test_repeated_occurrences),
        T(test_arena_cap),
        T(test_export_response),
        T(test_status),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
