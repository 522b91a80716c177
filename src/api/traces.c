/*
 * traces.c - POST /v1/traces (OTLP/HTTP ingest) and GET /v1/traces/spans.
 *
 * Ingest runs on an HTTP worker thread up to the point where the batch is ready to store: decode
 * (protobuf or JSON), validate each span, serialise the variable parts to JSON. Then the request
 * is suspended and the batch handed to the ingest writer; the writer's callback builds the
 * response (200 only after commit) and resumes the request.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../core/log.h"
#include "../otlp/otlp_pb.h"
#include "../otlp/span.h"
#include "api.h"
#include "ingest.h"

typedef struct {
    vt_write_job_t job;
    vt_req_t *r;
    bool json;
    vt_ingest_t prep;
} ingest_t;

static const char *const kind_names[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
                                         "CLIENT",      "PRODUCER", "CONSUMER"};
static const char *const status_names[] = {"UNSET", "OK", "ERROR"};

/* Writes the 200 answer of an ingest request in the request's content type. */
static void reply_ingest(vt_req_t *r, bool json, const char *target_id, uint32_t accepted,
                         uint32_t duplicates, uint32_t rejected, const char *reject_msg) {
    vt_buf_reset(&r->resp);
    if (!json) {
        vt_otlp_pb_export_response(&r->resp, rejected, rejected ? reject_msg : NULL);
        r->status = 200;
        r->content_type = "application/x-protobuf";
        return;
    }
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    if (rejected) {
        vt_jw_key(&w, "partialSuccess");
        vt_jw_obj_begin(&w);
        vt_jw_key(&w, "rejectedSpans");
        vt_jw_uint(&w, rejected);
        vt_jw_key(&w, "errorMessage");
        vt_jw_cstr(&w, reject_msg);
        vt_jw_obj_end(&w);
    }
    vt_jw_key(&w, "status");
    vt_jw_cstr(&w, "ok");
    vt_jw_key(&w, "simulation_output_id");
    vt_jw_cstr(&w, target_id);
    vt_jw_key(&w, "accepted_spans");
    vt_jw_uint(&w, accepted);
    vt_jw_key(&w, "duplicate_spans");
    vt_jw_uint(&w, duplicates);
    vt_jw_obj_end(&w);
    vt_req_reply_json(r, 200);
}

static void ingest_done(vt_write_job_t *job, vt_err_t err) {
    ingest_t *in = (ingest_t *)job;
    vt_req_t *r = in->r;
    vt_ingest_free(&in->prep);
    if (err) {
        vt_req_reply_error(r, VT_EUNAVAIL, "Could not store the spans; retry later", NULL, NULL);
    } else if (job->batch.target_missing) {
        vt_req_reply_error(r, VT_ENOTFOUND,
                           job->batch.kind == VT_TARGET_SIMULATION ? "Simulation output not found"
                                                                   : "Conversation not found",
                           NULL, NULL);
    } else {
        const vt_span_batch_t *b = &job->batch;
        reply_ingest(r, in->json, b->target_id, b->inserted, b->duplicates, in->prep.rejected,
                     in->prep.reject_msg);
    }
    vt_req_resume(r);
}

static bool media_type_is(const char *ct, const char *type) {
    size_t n = strlen(type);
    return strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

void vt_api_traces_post(vt_req_t *r) {
    vt_app_t *app = vt_api_app(r);
    uint64_t received_ns = vt_now_ns();
    const char *ct = vt_req_header(r, "Content-Type");
    bool json;
    if (ct && (media_type_is(ct, "application/x-protobuf") || media_type_is(ct, "application/protobuf")))
        json = false;
    else if (ct && media_type_is(ct, "application/json"))
        json = true;
    else {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "Unsupported Content-Type %.80s: use application/x-protobuf or application/json",
                 ct ? ct : "(none)");
        vt_req_reply_error(r, VT_EMEDIA, msg, NULL, NULL);
        return;
    }

    const char *sim = vt_req_header(r, "X-Simulation-Id");
    const char *conv = vt_req_header(r, "X-Conversation-Id");
    if (sim && !*sim)
        sim = NULL;
    if (conv && !*conv)
        conv = NULL;
    if (!sim && !conv) {
        vt_req_reply_error(r, VT_EINVAL,
                           "Missing required header: X-Simulation-Id or X-Conversation-Id", NULL,
                           NULL);
        return;
    }
    if (sim && conv) {
        vt_req_reply_error(r, VT_EINVAL,
                           "Send only one of X-Simulation-Id or X-Conversation-Id, not both", NULL,
                           NULL);
        return;
    }
    vt_target_kind_t kind = sim ? VT_TARGET_SIMULATION : VT_TARGET_CONVERSATION;
    const char *target = sim ? sim : conv;
    const char *not_found = sim ? "Simulation output not found" : "Conversation not found";
    bool exists = false;
    vt_err_t e = strlen(target) > 128
                     ? VT_OK
                     : app->store->ops->target_exists(app->store, r->auth.org_id, kind, target, &exists);
    if (e) {
        vt_api_store_error(r, e, "the trace target");
        return;
    }
    if (!exists) {
        vt_req_reply_error(r, VT_ENOTFOUND, not_found, NULL, NULL);
        return;
    }

    vt_batch_t batch;
    char derr[256] = "";
    e = json ? vt_otlp_decode_json(&r->arena, r->body.data, r->body.len, &batch, derr, sizeof derr)
             : vt_otlp_decode_protobuf(&r->arena, (const uint8_t *)r->body.data, r->body.len,
                                       &batch, derr, sizeof derr);
    if (e) {
        char msg[320];
        snprintf(msg, sizeof msg, "Invalid OTLP %s: %s", json ? "JSON" : "protobuf", derr);
        vt_req_reply_error(r, e == VT_ETOOBIG ? VT_ETOOBIG : VT_EINVAL, msg, NULL, NULL);
        return;
    }

    ingest_t *in = vt_arena_calloc(&r->arena, 1, sizeof *in);
    if (!in || vt_ingest_prepare(&r->arena, &batch, received_ns, &in->prep) != VT_OK) {
        vt_req_reply_error(r, VT_ETOOBIG, "Request too large to process", NULL, NULL);
        return;
    }
    in->r = r;
    in->json = json;
    if (in->prep.batch.n_rows == 0) {
        reply_ingest(r, json, target, 0, 0, in->prep.rejected, in->prep.reject_msg);
        vt_ingest_free(&in->prep);
        return;
    }
    in->job.batch = in->prep.batch;
    in->job.batch.org_id = r->auth.org_id;
    in->job.batch.kind = kind;
    in->job.batch.target_id = vt_arena_strndup(&r->arena, target, strlen(target));
    in->job.done = ingest_done;
    vt_req_suspend(r);
    if (vt_writer_submit(app->writer, &in->job) != VT_OK) {
        vt_ingest_free(&in->prep);
        vt_req_reply_error(r, VT_EUNAVAIL, "Ingest queue is full; retry later", NULL, NULL);
        vt_req_resume(r);
    }
}

/* ---- GET /v1/traces/spans ----------------------------------------------------------------- */

/* Parses a non-negative integer query argument; false (and a 400) when malformed. */
static bool query_uint(vt_req_t *r, const char *name, size_t def, size_t max, size_t *out) {
    const char *v = vt_req_query(r, name);
    if (!v || !*v) {
        *out = def;
        return true;
    }
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end || v[0] == '-' || n > max) {
        char desc[96];
        snprintf(desc, sizeof desc, "must be an integer from 0 to %zu", max);
        char msg[160];
        snprintf(msg, sizeof msg, "Invalid query parameter %s: %s", name, desc);
        vt_req_reply_error(r, VT_EINVAL, msg, name, desc);
        return false;
    }
    *out = (size_t)n;
    return true;
}

bool vt_api_query_target(vt_req_t *r, vt_target_kind_t *kind, const char **id) {
    const char *sim = vt_req_query(r, "simulation_output_id");
    if (!sim)
        sim = vt_req_query(r, "simulation_id");
    const char *conv = vt_req_query(r, "conversation_id");
    if ((!sim || !*sim) == (!conv || !*conv)) {
        vt_req_reply_error(r, VT_EINVAL,
                           "Give exactly one of simulation_output_id or conversation_id", NULL, NULL);
        return false;
    }
    *kind = sim && *sim ? VT_TARGET_SIMULATION : VT_TARGET_CONVERSATION;
    *id = sim && *sim ? sim : conv;
    bool exists = false;
    vt_store_t *st = vt_api_app(r)->store;
    vt_err_t e = strlen(*id) > 128 ? VT_OK
                                   : st->ops->target_exists(st, r->auth.org_id, *kind, *id, &exists);
    if (e) {
        vt_api_store_error(r, e, "the trace target");
        return false;
    }
    if (!exists) {
        vt_req_reply_error(r, VT_ENOTFOUND,
                           *kind == VT_TARGET_SIMULATION ? "Simulation output not found"
                                                         : "Conversation not found",
                           NULL, NULL);
        return false;
    }
    return true;
}

/* Finds "service.name" in a resource's attribute JSON; NULL when absent. */
static const char *service_name_of(vt_req_t *r, vt_str_t resource_json) {
    json_t *o = json_loadb(resource_json.p, resource_json.n, 0, NULL);
    const char *name = NULL;
    json_t *v = o ? json_object_get(o, "service.name") : NULL;
    if (json_is_string(v))
        name = vt_arena_strndup(&r->arena, json_string_value(v), json_string_length(v));
    json_decref(o);
    return name;
}

void vt_api_write_span_ids(vt_jw_t *w, const vt_span_row_t *s) {
    vt_jw_key(w, "trace_id");
    vt_jw_hex(w, s->trace_id, 16);
    vt_jw_key(w, "span_id");
    vt_jw_hex(w, s->span_id, 8);
    vt_jw_key(w, "parent_span_id");
    if (s->has_parent)
        vt_jw_hex(w, s->parent_span_id, 8);
    else
        vt_jw_null(w);
    vt_jw_key(w, "name");
    vt_jw_str(w, s->name);
}

void vt_api_write_span(vt_jw_t *w, const vt_span_row_t *s, const char *service_name) {
    vt_jw_obj_begin(w);
    vt_api_write_span_ids(w, s);
    vt_jw_key(w, "kind");
    vt_jw_cstr(w, s->kind >= 0 && s->kind <= 5 ? kind_names[s->kind] : "UNSPECIFIED");
    char num[24];
    vt_jw_key(w, "start_time_unix_nano");
    snprintf(num, sizeof num, "%llu", (unsigned long long)s->start_ns);
    vt_jw_cstr(w, num);
    vt_jw_key(w, "end_time_unix_nano");
    snprintf(num, sizeof num, "%llu", (unsigned long long)s->end_ns);
    vt_jw_cstr(w, num);
    vt_jw_key(w, "duration_ms");
    vt_jw_double(w, (double)(s->end_ns - s->start_ns) / 1e6);
    vt_jw_key(w, "status");
    vt_jw_obj_begin(w);
    vt_jw_key(w, "code");
    vt_jw_cstr(w, s->status_code >= 0 && s->status_code <= 2 ? status_names[s->status_code] : "UNSET");
    vt_jw_key(w, "message");
    vt_jw_str(w, s->status_message);
    vt_jw_obj_end(w);
    vt_jw_key(w, "attributes");
    vt_jw_raw(w, s->attributes_json.n ? s->attributes_json : VT_STR("{}"));
    vt_jw_key(w, "events");
    vt_jw_raw(w, s->events_json.n ? s->events_json : VT_STR("[]"));
    vt_jw_key(w, "links");
    vt_jw_raw(w, s->links_json.n ? s->links_json : VT_STR("[]"));
    if (s->trace_state.n) {
        vt_jw_key(w, "trace_state");
        vt_jw_str(w, s->trace_state);
    }
    if (s->dropped_attrs || s->dropped_events || s->dropped_links) {
        vt_jw_key(w, "dropped_attributes_count");
        vt_jw_uint(w, s->dropped_attrs);
        vt_jw_key(w, "dropped_events_count");
        vt_jw_uint(w, s->dropped_events);
        vt_jw_key(w, "dropped_links_count");
        vt_jw_uint(w, s->dropped_links);
    }
    vt_jw_key(w, "resource");
    vt_jw_raw(w, s->resource_json.n ? s->resource_json : VT_STR("{}"));
    vt_jw_key(w, "scope");
    vt_jw_raw(w, s->scope_json.n ? s->scope_json : VT_STR("{}"));
    vt_jw_key(w, "service_name");
    vt_jw_cstr(w, service_name);
    vt_jw_obj_end(w);
}

void vt_api_traces_spans(vt_req_t *r) {
    vt_target_kind_t kind;
    const char *id;
    size_t limit, offset;
    if (!query_uint(r, "limit", 50, 10000, &limit) || !query_uint(r, "offset", 0, 100000000, &offset))
        return;
    if (limit == 0)
        limit = 50;
    if (!vt_api_query_target(r, &kind, &id))
        return;
    vt_store_t *st = vt_api_app(r)->store;
    vt_span_row_t *rows;
    size_t n, total;
    vt_err_t e = st->ops->spans_read(st, r->auth.org_id, kind, id, limit, offset, &r->arena, &rows, &n,
                                     &total);
    if (e) {
        vt_api_store_error(r, e, "spans");
        return;
    }
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "traces");
    vt_jw_arr_begin(&w);
    const char *last_res = NULL, *service = NULL;
    for (size_t i = 0; i < n; i++) {
        /* Rows of one resource share its JSON text, so the name is looked up once per resource. */
        if (rows[i].resource_json.p != last_res) {
            last_res = rows[i].resource_json.p;
            service = rows[i].resource_json.n ? service_name_of(r, rows[i].resource_json) : NULL;
        }
        vt_api_write_span(&w, &rows[i], service);
    }
    vt_jw_arr_end(&w);
    vt_jw_key(&w, "total_spans");
    vt_jw_uint(&w, total);
    vt_jw_obj_end(&w);
    vt_req_reply_json(r, 200);
}
