/*
 * ingest.c - batch preparation (see ingest.h).
 *
 * All JSON fragments go into one growing buffer; rows first record offsets, and pointers are made
 * only once the buffer has stopped moving.
 */
#include "ingest.h"

typedef struct {
    size_t attrs_off, attrs_len, events_off, events_len, links_off, links_len;
} span_text_t;

/* Writes one fragment as its own top-level JSON value and returns its [start, end) offsets. A
 * fresh writer state per fragment keeps the writer from joining fragments with commas. */
#define FRAGMENT(buf, off_out, len_out, call)                                                      \
    do {                                                                                           \
        vt_jw_t w_;                                                                                \
        vt_jw_init(&w_, (buf));                                                                    \
        (off_out) = (buf)->len;                                                                    \
        call;                                                                                      \
        (len_out) = (buf)->len - (off_out);                                                        \
    } while (0)

vt_err_t vt_ingest_prepare(vt_arena_t *a, const vt_batch_t *batch, uint64_t received_ns,
                           vt_ingest_t *out) {
    memset(out, 0, sizeof *out);
    vt_buf_init(&out->text, 0);
    uint32_t ns = batch->n_spans ? batch->n_spans : 1;
    vt_span_row_t *rows = vt_arena_calloc(a, ns, sizeof *rows);
    span_text_t *offs = vt_arena_calloc(a, ns, sizeof *offs);
    vt_str_t *res_json = vt_arena_calloc(a, batch->n_resources + 1, sizeof *res_json);
    vt_str_t *scope_json = vt_arena_calloc(a, batch->n_scopes + 1, sizeof *scope_json);
    size_t *meta_off = vt_arena_calloc(a, 2 * ((size_t)batch->n_resources + batch->n_scopes) + 1,
                                       sizeof *meta_off);
    if (!rows || !offs || !res_json || !scope_json || !meta_off)
        return VT_ETOOBIG;

    uint32_t n = 0;
    for (uint32_t i = 0; i < batch->n_spans; i++) {
        const vt_span_t *s = &batch->spans[i];
        char verr[200];
        if (!vt_span_validate(s, verr, sizeof verr)) {
            if (!out->rejected)
                out->reject_msg = vt_arena_strndup(a, verr, strlen(verr));
            out->rejected++;
            continue;
        }
        vt_span_row_t *row = &rows[n];
        span_text_t *o = &offs[n];
        n++;
        memcpy(row->trace_id, s->trace_id, 16);
        memcpy(row->span_id, s->span_id, 8);
        if (s->parent_span_id_len == 8) {
            static const uint8_t zero[8];
            row->has_parent = memcmp(s->parent_span_id, zero, 8) != 0;
            memcpy(row->parent_span_id, s->parent_span_id, 8);
        }
        row->name = s->name;
        row->kind = s->kind;
        row->start_ns = s->start_ns;
        row->end_ns = s->end_ns;
        row->status_code = s->status_code;
        row->status_message = s->status_message;
        row->trace_state = s->trace_state;
        row->flags = s->flags;
        row->dropped_attrs = s->attrs.dropped;
        row->dropped_events = s->dropped_events;
        row->dropped_links = s->dropped_links;
        row->received_ns = received_ns;
        row->resource_idx = s->resource_idx;
        row->scope_idx = s->scope_idx;
        FRAGMENT(&out->text, o->attrs_off, o->attrs_len, vt_json_write_attrs(&w_, &s->attrs));
        if (s->n_events)
            FRAGMENT(&out->text, o->events_off, o->events_len,
                     vt_json_write_events(&w_, s->events, s->n_events));
        if (s->n_links)
            FRAGMENT(&out->text, o->links_off, o->links_len,
                     vt_json_write_links(&w_, s->links, s->n_links));
    }
    size_t k = 0, len;
    for (uint32_t i = 0; i < batch->n_resources; i++, k += 2) {
        FRAGMENT(&out->text, meta_off[k], len, vt_json_write_resource(&w_, &batch->resources[i]));
        meta_off[k + 1] = len;
    }
    for (uint32_t i = 0; i < batch->n_scopes; i++, k += 2) {
        FRAGMENT(&out->text, meta_off[k], len, vt_json_write_scope(&w_, &batch->scopes[i]));
        meta_off[k + 1] = len;
    }
    if (out->text.failed) {
        vt_ingest_free(out);
        return VT_ETOOBIG;
    }
    const char *base = out->text.data;
    for (uint32_t i = 0; i < n; i++) {
        rows[i].attributes_json = (vt_str_t){base + offs[i].attrs_off, offs[i].attrs_len};
        rows[i].events_json = (vt_str_t){base + offs[i].events_off, offs[i].events_len};
        rows[i].links_json = (vt_str_t){base + offs[i].links_off, offs[i].links_len};
    }
    k = 0;
    for (uint32_t i = 0; i < batch->n_resources; i++, k += 2)
        res_json[i] = (vt_str_t){base + meta_off[k], meta_off[k + 1]};
    for (uint32_t i = 0; i < batch->n_scopes; i++, k += 2)
        scope_json[i] = (vt_str_t){base + meta_off[k], meta_off[k + 1]};

    out->batch.rows = rows;
    out->batch.n_rows = n;
    out->batch.resources_json = res_json;
    out->batch.n_resources = batch->n_resources;
    out->batch.scopes_json = scope_json;
    out->batch.n_scopes = batch->n_scopes;
    return VT_OK;
}

void vt_ingest_free(vt_ingest_t *in) {
    vt_buf_free(&in->text);
}
