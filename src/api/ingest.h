/*
 * ingest.h - turning a decoded OTLP batch into rows the store can write: validation of each span
 * (invalid ones are counted, not stored) and serialisation of attributes, events, links,
 * resources and scopes to their stored JSON form. Shared by POST /v1/traces, the upload endpoint
 * and `voxtrace import`.
 */
#ifndef VT_INGEST_H
#define VT_INGEST_H

#include "../core/buf.h"
#include "../otlp/span.h"
#include "../store/store.h"

typedef struct {
    /* rows, resources and scopes are filled; the caller sets org_id, kind and target_id. */
    vt_span_batch_t batch;
    uint32_t rejected;      /* spans that failed vt_span_validate */
    const char *reject_msg; /* the first failure's reason (in the arena), NULL when none */
    vt_buf_t text;          /* owns the JSON text the rows point into: free with vt_ingest_free */
} vt_ingest_t;

/* Prepares a batch. Arrays come from arena a; the JSON text lives in out->text (heap), which
 * must outlive the write. VT_ETOOBIG when the arena cap is reached. */
vt_err_t vt_ingest_prepare(vt_arena_t *a, const vt_batch_t *batch, uint64_t received_ns,
                           vt_ingest_t *out);
/* Frees out->text. Safe to call twice. */
void vt_ingest_free(vt_ingest_t *in);

#endif
