/*
 * fuzz_otlp_pb.c - libFuzzer driver for the OTLP/protobuf decoder (vt_otlp_decode_protobuf)
 * and the protobuf response encoders. Seeds: tests/fuzz/corpus_pb/.
 *
 * Beyond "no crash, no leak", it checks what callers rely on: only VT_OK, VT_EINVAL or
 * VT_ETOOBIG come back; a decoded batch keeps every limit of span.h and every index in range;
 * and every byte the batch points at is readable (the checksum walk makes ASan see a dangling
 * or out-of-bounds string). The encoders must produce what protobuf-c reads back.
 *
 *   make $(find proto -name '*.proto' | sed 's|^proto/\(.*\)\.proto$|build/gen/\1.pb-c.c|')
 *   clang -std=c11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Isrc -Ibuild/gen \
 *       -o build/fuzz_otlp_pb tests/fuzz/fuzz_otlp_pb.c src/core/{arena,buf,vt}.c \
 *       src/otlp/{otlp_pb,limits}.c $(find build/gen -name '*.pb-c.c') -lprotobuf-c -lm
 *   mkdir -p build/corpus_pb    # new inputs go to the first directory, not the checked-in seeds
 *   build/fuzz_otlp_pb -max_total_time=60 -max_len=16384 build/corpus_pb tests/fuzz/corpus_pb
 */
#include <stdio.h>
#include <stdlib.h>

#include <google/rpc/status.pb-c.h>
#include <opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h>

#include "otlp/otlp_pb.h"
#include "otlp/span.h"

/* A cap small enough that libFuzzer's inputs can reach it, so the exhaustion paths run too. */
#define FUZZ_ARENA_CAP (256u << 10)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static uint64_t g_sum; /* keeps the reads of the checksum walk from being optimised away */

static void touch(vt_str_t s, size_t max) {
    CHECK(s.n <= max);
    CHECK(s.n == 0 || s.p != NULL);
    for (size_t i = 0; i < s.n; i++)
        g_sum += (unsigned char)s.p[i];
}

static void check_attrs(const vt_attrs_t *a, uint32_t max, int depth);

static void check_value(const vt_value_t *v, int depth) {
    CHECK(depth <= VT_MAX_VALUE_DEPTH);
    switch (v->type) {
    case VT_VAL_STRING:
    case VT_VAL_BYTES:
        touch(v->u.s, VT_MAX_ATTR_VALUE_LEN);
        break;
    case VT_VAL_ARRAY:
        CHECK(v->u.arr.n <= VT_MAX_ARRAY_ITEMS);
        CHECK(depth < VT_MAX_VALUE_DEPTH);
        for (uint32_t i = 0; i < v->u.arr.n; i++)
            check_value(&v->u.arr.items[i], depth + 1);
        break;
    case VT_VAL_KVLIST: {
        CHECK(depth < VT_MAX_VALUE_DEPTH);
        vt_attrs_t a = {v->u.kv.items, v->u.kv.n, 0};
        check_attrs(&a, VT_MAX_ARRAY_ITEMS, depth + 1);
        break;
    }
    default:
        CHECK(v->type >= VT_VAL_EMPTY && v->type <= VT_VAL_KVLIST);
        break;
    }
}

static void check_attrs(const vt_attrs_t *a, uint32_t max, int depth) {
    CHECK(a->n <= max);
    for (uint32_t i = 0; i < a->n; i++) {
        touch(a->items[i].key, SIZE_MAX);
        check_value(&a->items[i].value, depth);
    }
}

static void check_batch(const vt_batch_t *b) {
    for (uint32_t i = 0; i < b->n_resources; i++) {
        check_attrs(&b->resources[i].attrs, VT_MAX_ATTRS_PER_SPAN, 0);
        touch(b->resources[i].schema_url, SIZE_MAX);
    }
    for (uint32_t i = 0; i < b->n_scopes; i++) {
        touch(b->scopes[i].name, SIZE_MAX);
        touch(b->scopes[i].version, SIZE_MAX);
        touch(b->scopes[i].schema_url, SIZE_MAX);
        check_attrs(&b->scopes[i].attrs, VT_MAX_ATTRS_PER_SPAN, 0);
    }
    for (uint32_t i = 0; i < b->n_spans; i++) {
        const vt_span_t *s = &b->spans[i];
        CHECK(s->resource_idx < b->n_resources);
        CHECK(s->scope_idx < b->n_scopes);
        CHECK(s->kind >= 0 && s->kind <= 5);
        CHECK(s->status_code >= VT_STATUS_UNSET && s->status_code <= VT_STATUS_ERROR);
        touch(s->name, VT_MAX_NAME_LEN);
        touch(s->trace_state, SIZE_MAX);
        touch(s->status_message, SIZE_MAX);
        check_attrs(&s->attrs, VT_MAX_ATTRS_PER_SPAN, 0);
        CHECK(s->n_events <= VT_MAX_EVENTS_PER_SPAN);
        for (uint32_t j = 0; j < s->n_events; j++) {
            touch(s->events[j].name, VT_MAX_NAME_LEN);
            check_attrs(&s->events[j].attrs, VT_MAX_ATTRS_PER_EVENT, 0);
        }
        CHECK(s->n_links <= VT_MAX_LINKS_PER_SPAN);
        for (uint32_t j = 0; j < s->n_links; j++) {
            touch(s->links[j].trace_state, SIZE_MAX);
            check_attrs(&s->links[j].attrs, VT_MAX_ATTRS_PER_EVENT, 0);
        }
    }
}

/* The input's first bytes (up to a NUL) as the message of both response bodies, read back. */
static void check_encoders(const uint8_t *data, size_t size) {
    char msg[128];
    size_t n = size < sizeof msg - 1 ? size : sizeof msg - 1;
    memcpy(msg, data, n);
    msg[n] = '\0';
    int64_t rejected = size > 0 ? (int64_t)data[0] - 128 : 0;

    vt_buf_t b;
    vt_buf_init(&b, 4096);
    CHECK(vt_otlp_pb_export_response(&b, rejected, msg) == VT_OK);
    CHECK((b.len == 0) == (rejected == 0 && msg[0] == '\0'));
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *r =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
            NULL, b.len, (const uint8_t *)b.data);
    CHECK(r != NULL);
    if (b.len) {
        CHECK(r->partial_success != NULL);
        CHECK(r->partial_success->rejected_spans == rejected);
        CHECK(strcmp(r->partial_success->error_message, msg) == 0);
    }
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(r,
                                                                                             NULL);

    vt_buf_reset(&b);
    CHECK(vt_otlp_pb_status(&b, (int32_t)rejected, msg) == VT_OK);
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, b.len, (const uint8_t *)b.data);
    CHECK(st != NULL);
    CHECK(st->code == (int32_t)rejected);
    CHECK(strcmp(st->message, msg) == 0);
    google__rpc__status__free_unpacked(st, NULL);
    vt_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vt_arena_t a;
    vt_batch_t batch;
    char err[256];
    vt_arena_init(&a, FUZZ_ARENA_CAP);
    vt_err_t e = vt_otlp_decode_protobuf(&a, data, size, &batch, err, sizeof err);
    CHECK(e == VT_OK || e == VT_EINVAL || e == VT_ETOOBIG);
    if (e == VT_OK)
        check_batch(&batch);
    else
        CHECK(err[0] != '\0' && batch.n_spans == 0);
    vt_arena_free(&a);
    check_encoders(data, size);
    return 0;
}
