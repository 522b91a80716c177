/*
 * fuzz_otlp_json.c - libFuzzer driver for the OTLP/JSON decoder and the span JSON writers.
 * Every input is decoded; every span of a decoded batch is validated and written the way the
 * store writes it, and each written document must parse back as JSON.
 *
 *   clang -std=c11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Isrc \
 *       $(pkg-config --cflags jansson libsodium) -o build/fuzz_otlp_json \
 *       tests/fuzz/fuzz_otlp_json.c src/core/{arena,buf,vt}.c \
 *       src/otlp/{otlp_json,span_json,validate,limits}.c $(pkg-config --libs jansson libsodium) -lm
 *   build/fuzz_otlp_json -max_total_time=60 tests/fuzz/corpus_json
 */
#include <jansson.h>
#include <stdlib.h>

#include "core/arena.h"
#include "core/buf.h"
#include "otlp/span.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The writer's output must always be JSON that jansson reads with its default flags (so no
 * "\u0000"), whatever bytes the input strings held. */
static void check_json(vt_buf_t *b) {
    if (b->failed)
        abort();
    json_error_t e;
    json_t *j = json_loadb(b->data, b->len, JSON_DECODE_ANY, &e);
    if (!j)
        abort();
    json_decref(j);
    vt_buf_reset(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vt_arena_t a;
    vt_arena_init(&a, 64u << 20);
    vt_batch_t batch;
    char err[256];
    vt_err_t e = vt_otlp_decode_json(&a, (const char *)data, size, &batch, err, sizeof err);
    if (e != VT_OK) {
        /* A failure must say why and leave an empty batch. */
        if (err[0] == '\0' || batch.n_spans != 0 || (e != VT_EINVAL && e != VT_ETOOBIG))
            abort();
        vt_arena_free(&a);
        return 0;
    }
    vt_buf_t b;
    vt_jw_t w;
    vt_buf_init(&b, 0);
    for (uint32_t i = 0; i < batch.n_spans; i++) {
        const vt_span_t *s = &batch.spans[i];
        if (!vt_span_validate(s, err, sizeof err) && err[0] == '\0')
            abort();
        if (s->resource_idx >= batch.n_resources || s->scope_idx >= batch.n_scopes)
            abort();
        vt_jw_init(&w, &b);
        vt_json_write_attrs(&w, &s->attrs);
        check_json(&b);
        vt_jw_init(&w, &b);
        vt_json_write_events(&w, s->events, s->n_events);
        check_json(&b);
        vt_jw_init(&w, &b);
        vt_json_write_links(&w, s->links, s->n_links);
        check_json(&b);
        vt_jw_init(&w, &b);
        vt_json_write_resource(&w, &batch.resources[s->resource_idx]);
        check_json(&b);
        vt_jw_init(&w, &b);
        vt_json_write_scope(&w, &batch.scopes[s->scope_idx]);
        check_json(&b);
    }
    vt_buf_free(&b);
    vt_arena_free(&a);
    return 0;
}
