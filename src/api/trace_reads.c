/*
 * trace_reads.c - GET /v1/traces/summary and GET /v1/traces/export: the two reads that need a
 * target's spans all at once. Both read up to MAX_SPANS spans in one spans_read, then hand them
 * to a pure function: the summary (analysis/summary.h) or the OTLP JSON encoder
 * (otlp/otlp_export.h).
 *
 * The rows live in an arena of their own, freed as soon as the response text is written. The
 * request arena would not do: its cap follows --max-body, which bounds what a client may send,
 * not what a read of stored spans needs.
 */
#include <stdio.h>

#include "../analysis/summary.h"
#include "../otlp/otlp_export.h"
#include "api.h"

/* The most spans one summary or export reads. A call of a voice agent has hundreds to tens of
 * thousands; this leaves room for long ones while bounding a request's memory (about 1 KiB per
 * span in the arena with typical attributes). */
#define MAX_SPANS 200000
#define READ_ARENA_CAP ((size_t)512 << 20)

static const char *const status_names[] = {"UNSET", "OK", "ERROR"};

static const char *status_name(int32_t code) {
    return code >= 0 && code <= 2 ? status_names[code] : "UNSET";
}

/* Reads every span of the target up to MAX_SPANS into arena a. Replies with the error and
 * returns false on failure. */
static bool read_all(vt_req_t *r, vt_arena_t *a, vt_target_kind_t kind, const char *id,
                     vt_span_row_t **rows, size_t *n, size_t *total) {
    vt_store_t *st = vt_api_app(r)->store;
    vt_err_t e = st->ops->spans_read(st, r->auth.org_id, kind, id, MAX_SPANS, 0, a, rows, n, total);
    if (e == VT_ENOMEM)
        vt_req_reply_error(r, VT_ETOOBIG, "The trace is too large to read at once", NULL, NULL);
    else if (e)
        vt_api_store_error(r, e, "spans");
    return e == VT_OK;
}

/* ---- GET /v1/traces/summary ---------------------------------------------------------------- */

static void write_ms(vt_jw_t *w, const char *key, uint64_t ns) {
    vt_jw_key(w, key);
    vt_jw_double(w, (double)ns / 1e6);
}

static void write_ns_string(vt_jw_t *w, const char *key, uint64_t ns) {
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)ns);
    vt_jw_key(w, key);
    vt_jw_cstr(w, num);
}

/* The identity and placement of one listed span (slowest or error span). */
static void write_span_ref(vt_jw_t *w, const vt_span_row_t *s, uint64_t trace_start_ns) {
    vt_api_write_span_ids(w, s);
    write_ms(w, "start_offset_ms", s->start_ns - trace_start_ns);
    write_ms(w, "duration_ms", s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0);
}

/* A statistic that does not exist without samples is null rather than a made-up 0. */
static void write_stat(vt_jw_t *w, const char *key, bool have, double v) {
    vt_jw_key(w, key);
    if (have)
        vt_jw_double(w, v);
    else
        vt_jw_null(w);
}

static void write_summary(vt_jw_t *w, const vt_summary_t *s, const vt_span_row_t *rows) {
    vt_jw_key(w, "trace_count");
    vt_jw_uint(w, s->trace_count);
    vt_jw_key(w, "root_span_count");
    vt_jw_uint(w, s->root_span_count);
    vt_jw_key(w, "orphan_span_count");
    vt_jw_uint(w, s->orphan_span_count);
    vt_jw_key(w, "child_timing_violation_count");
    vt_jw_uint(w, s->child_timing_violation_count);
    vt_jw_key(w, "status_counts");
    vt_jw_obj_begin(w);
    for (int i = 0; i < 3; i++) {
        vt_jw_key(w, status_names[i]);
        vt_jw_uint(w, s->status_counts[i]);
    }
    vt_jw_obj_end(w);

    const vt_summary_lag_t *lag = &s->export_lag;
    bool have = lag->sample_count > 0;
    vt_jw_key(w, "export_lag");
    vt_jw_obj_begin(w);
    vt_jw_key(w, "sample_count");
    vt_jw_uint(w, lag->sample_count);
    vt_jw_key(w, "clock_skew_sample_count");
    vt_jw_uint(w, lag->clock_skew_sample_count);
    write_stat(w, "average_seconds", have, lag->average_seconds);
    write_stat(w, "p95_seconds", have, lag->p95_seconds);
    write_stat(w, "max_seconds", have, lag->max_seconds);
    vt_jw_obj_end(w);

    if (s->span_count) {
        write_ns_string(w, "start_time_unix_nano", s->start_ns);
        write_ns_string(w, "end_time_unix_nano", s->end_ns);
    } else {
        vt_jw_key(w, "start_time_unix_nano");
        vt_jw_null(w);
        vt_jw_key(w, "end_time_unix_nano");
        vt_jw_null(w);
    }
    write_ms(w, "duration_ms", s->end_ns - s->start_ns);

    vt_jw_key(w, "span_groups");
    vt_jw_arr_begin(w);
    for (size_t i = 0; i < s->n_groups; i++) {
        const vt_summary_group_t *g = &s->groups[i];
        vt_jw_obj_begin(w);
        vt_jw_key(w, "name");
        vt_jw_str(w, g->name);
        vt_jw_key(w, "count");
        vt_jw_uint(w, g->count);
        write_ms(w, "total_duration_ms", g->total_ns);
        vt_jw_key(w, "time_percent");
        vt_jw_double(w, g->time_percent);
        vt_jw_key(w, "error_count");
        vt_jw_uint(w, g->error_count);
        vt_jw_obj_end(w);
    }
    vt_jw_arr_end(w);

    vt_jw_key(w, "slowest_spans");
    vt_jw_arr_begin(w);
    for (size_t i = 0; i < s->n_slowest; i++) {
        const vt_span_row_t *sp = &rows[s->slowest[i]];
        vt_jw_obj_begin(w);
        write_span_ref(w, sp, s->start_ns);
        vt_jw_key(w, "status_code");
        vt_jw_cstr(w, status_name(sp->status_code));
        vt_jw_obj_end(w);
    }
    vt_jw_arr_end(w);

    vt_jw_key(w, "error_spans");
    vt_jw_arr_begin(w);
    for (size_t i = 0; i < s->n_errors; i++) {
        const vt_span_row_t *sp = &rows[s->errors[i]];
        vt_jw_obj_begin(w);
        write_span_ref(w, sp, s->start_ns);
        vt_jw_key(w, "status_message");
        vt_jw_str(w, sp->status_message);
        vt_jw_obj_end(w);
    }
    vt_jw_arr_end(w);

    vt_jw_key(w, "resource_attribute_keys");
    vt_jw_arr_begin(w);
    for (size_t i = 0; i < s->n_resource_keys; i++)
        vt_jw_str(w, s->resource_keys[i]);
    vt_jw_arr_end(w);
}

void vt_api_traces_summary(vt_req_t *r) {
    vt_target_kind_t kind;
    const char *id;
    if (!vt_api_query_target(r, &kind, &id))
        return;
    vt_store_t *st = vt_api_app(r)->store;
    const char *run_id = NULL;
    int64_t duplicates = 0;
    vt_err_t e;
    if (kind == VT_TARGET_SIMULATION) {
        vt_simulation_t sim;
        e = st->ops->sim_get(st, r->auth.org_id, id, &r->arena, &sim);
        run_id = e ? NULL : sim.run_id;
        duplicates = e ? 0 : sim.duplicate_count;
    } else {
        vt_conversation_t conv;
        e = st->ops->conv_get(st, r->auth.org_id, id, &r->arena, &conv);
        duplicates = e ? 0 : conv.duplicate_count;
    }
    if (e == VT_ENOTFOUND) { /* deleted since vt_api_query_target looked */
        vt_req_reply_error(r, VT_ENOTFOUND,
                           kind == VT_TARGET_SIMULATION ? "Simulation output not found"
                                                        : "Conversation not found",
                           NULL, NULL);
        return;
    }
    if (e) {
        vt_api_store_error(r, e, "the trace target");
        return;
    }
    vt_arena_t a;
    vt_arena_init(&a, READ_ARENA_CAP);
    vt_span_row_t *rows = NULL;
    size_t n = 0, total = 0;
    vt_summary_t s;
    if (!read_all(r, &a, kind, id, &rows, &n, &total))
        goto out;
    if (vt_summary_compute(&a, rows, n, &s) != VT_OK) {
        vt_req_reply_error(r, VT_ETOOBIG, "The trace is too large to summarise", NULL, NULL);
        goto out;
    }

    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "target");
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "type");
    vt_jw_cstr(&w, kind == VT_TARGET_SIMULATION ? "simulation" : "conversation");
    vt_jw_key(&w, "id");
    vt_jw_cstr(&w, id);
    vt_jw_obj_end(&w);
    vt_jw_key(&w, "trace_summary");
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "simulation_output_id");
    vt_jw_cstr(&w, id);
    vt_jw_key(&w, "run_id");
    vt_jw_cstr(&w, run_id);
    vt_jw_key(&w, "total_spans");
    vt_jw_uint(&w, total);
    vt_jw_key(&w, "returned_spans");
    vt_jw_uint(&w, n);
    vt_jw_key(&w, "is_truncated");
    vt_jw_bool(&w, n < total);
    /* Stored spans are unique by (trace id, span id); re-sent copies were only counted. */
    vt_jw_key(&w, "unique_span_count");
    vt_jw_uint(&w, total);
    vt_jw_key(&w, "duplicate_span_count");
    vt_jw_int(&w, duplicates);
    write_summary(&w, &s, rows);
    vt_jw_obj_end(&w);
    vt_jw_obj_end(&w);
    vt_req_reply_json(r, 200);
out:
    vt_arena_free(&a);
}

/* ---- GET /v1/traces/export ----------------------------------------------------------------- */

/* "voxtrace-<kind>-<id>.json", with every character of the id outside [A-Za-z0-9._-] replaced,
 * so the header value needs no quoting rules and names no path. */
static const char *export_filename(vt_req_t *r, vt_target_kind_t kind, const char *id) {
    char safe[65];
    size_t n = 0;
    for (; id[n] && n < sizeof safe - 1; n++) {
        char c = id[n];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        safe[n] = ok ? c : '_';
    }
    safe[n] = '\0';
    return vt_arena_printf(&r->arena, "attachment; filename=\"voxtrace-%s-%s.json\"",
                           kind == VT_TARGET_SIMULATION ? "simulation" : "conversation", safe);
}

void vt_api_traces_export(vt_req_t *r) {
    vt_target_kind_t kind;
    const char *id;
    if (!vt_api_query_target(r, &kind, &id))
        return;
    vt_arena_t a;
    vt_arena_init(&a, READ_ARENA_CAP);
    vt_span_row_t *rows = NULL;
    size_t n = 0, total = 0;
    if (!read_all(r, &a, kind, id, &rows, &n, &total))
        goto out;
    if (n < total) {
        char msg[160];
        snprintf(msg, sizeof msg, "The trace has %zu spans; an export holds at most %d", total,
                 MAX_SPANS);
        vt_req_reply_error(r, VT_ETOOBIG, msg, NULL, NULL);
        goto out;
    }
    char err[200];
    vt_err_t e = vt_otlp_export_json(&r->resp, rows, n, err, sizeof err);
    if (e) {
        vt_req_reply_error(r, e == VT_EINTERNAL ? VT_EINTERNAL : VT_ENOMEM,
                           e == VT_EINTERNAL ? err : "Not enough memory to export this trace", NULL,
                           NULL);
        goto out;
    }
    vt_req_reply_json(r, 200);
    r->extra_header_value = export_filename(r, kind, id);
    if (r->extra_header_value)
        r->extra_header_name = "Content-Disposition";
out:
    vt_arena_free(&a);
}
