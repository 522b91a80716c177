/*
 * api.h - the HTTP API's handlers and what they share: the application object (store, ingest
 * writer, limits), the route table, and helpers for reading JSON request bodies.
 */
#ifndef VT_API_H
#define VT_API_H

#include <jansson.h>

#include "../http/server.h"
#include "../store/store.h"
#include "../store/writer.h"

typedef struct {
    vt_store_t *store;
    vt_writer_t *writer;
    const char *data_dir; /* the data folder (uploaded audio lives under DATA/audio) */
    const char *web_dir;  /* serve the UI from this folder instead of the embedded copy, or NULL */
} vt_app_t;

/* The route table, terminated by a NULL method. */
extern const vt_route_t vt_api_routes[];

/* Handlers, one file per resource. */
void vt_api_health(vt_req_t *r);
void vt_api_traces_post(vt_req_t *r);
void vt_api_traces_spans(vt_req_t *r);
/* trace_reads.c: GET /v1/traces/summary and GET /v1/traces/export. */
void vt_api_traces_summary(vt_req_t *r);
void vt_api_traces_export(vt_req_t *r);
void vt_api_runs_create(vt_req_t *r);
void vt_api_runs_get(vt_req_t *r);
void vt_api_runs_hotspots(vt_req_t *r);
void vt_api_sims_create(vt_req_t *r);
void vt_api_sims_get(vt_req_t *r);
void vt_api_convs_submit(vt_req_t *r);
void vt_api_convs_get(vt_req_t *r);
/* runs.c, simulations.c, conversations.c: lists, updates, deletes and conversation audio. */
void vt_api_runs_list(vt_req_t *r);
void vt_api_runs_delete(vt_req_t *r);
void vt_api_sims_list(vt_req_t *r);
void vt_api_sims_patch(vt_req_t *r);
void vt_api_sims_delete(vt_req_t *r);
void vt_api_convs_list(vt_req_t *r);
void vt_api_convs_patch(vt_req_t *r);
void vt_api_convs_delete(vt_req_t *r);
void vt_api_convs_audio(vt_req_t *r);
/* search.c: POST /v1/traces/search. upload.c: POST /v1/conversations:upload (multipart). */
void vt_api_traces_search(vt_req_t *r);
void vt_api_convs_upload(vt_req_t *r);
/* sessions.c: POST, GET and DELETE /v1/sessions (UI sign-in). The UI's files: ui.h. */
void vt_api_sessions_create(vt_req_t *r);
void vt_api_sessions_get(vt_req_t *r);
void vt_api_sessions_delete(vt_req_t *r);

/* metrics.c: metric definitions, and the metric outputs of simulations, conversations, runs. */
void vt_api_metrics_create(vt_req_t *r);
void vt_api_metrics_list(vt_req_t *r);
void vt_api_metrics_get(vt_req_t *r);
void vt_api_metrics_patch(vt_req_t *r);
void vt_api_metrics_delete(vt_req_t *r);
void vt_api_sims_metrics(vt_req_t *r);
void vt_api_convs_metrics(vt_req_t *r);
void vt_api_runs_metrics(vt_req_t *r);

/* conversations.c, shared with the upload endpoint: checks a transcript array (replies 400 naming
 * the field and returns false when invalid), and replies with a conversation resource. */
bool vt_api_conv_check_transcript(vt_req_t *r, json_t *transcript);
void vt_api_conv_reply(vt_req_t *r, const vt_conversation_t *c);

static inline vt_app_t *vt_api_app(vt_req_t *r) {
    return (vt_app_t *)r->app;
}

/*
 * Request JSON helpers (json_util.c). vt_api_parse_object parses the body as one JSON object;
 * on failure it replies 400 itself and returns NULL. The field helpers reply 400 naming the field
 * and return false when a present field has the wrong type or fails its rule; an absent field
 * leaves *out unchanged and returns true (or replies 400 when `required`).
 */
json_t *vt_api_parse_object(vt_req_t *r);
bool vt_api_get_string(vt_req_t *r, json_t *obj, const char *field, bool required, size_t max_len,
                       const char **out);
bool vt_api_get_object_text(vt_req_t *r, json_t *obj, const char *field, const char **out_json);
bool vt_api_get_array_text(vt_req_t *r, json_t *obj, const char *field, const char **out_json);
/* Checks that every member of a PATCH body is one of the `allowed` names; otherwise replies 400
 * naming the first other member ("cannot be changed; PATCH accepts ...") and returns false. */
bool vt_api_patch_keys_check(vt_req_t *r, json_t *body, const char *const *allowed, size_t n);
/* Stores a jansson value as compact JSON text in the request arena. */
const char *vt_api_dump(vt_req_t *r, const json_t *v);

/* RFC 3339 UTC text of a millisecond timestamp, in the request arena. */
const char *vt_api_time(vt_req_t *r, int64_t ms);
/* Current time in milliseconds. */
int64_t vt_api_now_ms(void);
/* Writes "key": raw JSON text, or the fallback literal when text is NULL. */
void vt_api_raw_field(vt_jw_t *w, const char *key, const char *json, const char *fallback);
/* Resolves the trace target a query names (simulation_output_id, its alias simulation_id, or
 * conversation_id) and checks it exists in the caller's org; replies 400/404 and returns false
 * when it does not. */
bool vt_api_query_target(vt_req_t *r, vt_target_kind_t *kind, const char **id);
/* Writes a span's trace_id, span_id, parent_span_id (null for a root) and name members. */
void vt_api_write_span_ids(vt_jw_t *w, const vt_span_row_t *s);
/* Writes one stored span in the read API's JSON form. */
void vt_api_write_span(vt_jw_t *w, const vt_span_row_t *s, const char *service_name);
/* Replies with a store error using a message per error kind. */
void vt_api_store_error(vt_req_t *r, vt_err_t e, const char *what);

#endif
