/*
 * metrics.c - metric definitions (POST/GET/PATCH/DELETE /v1/metrics) and metric outputs of
 * simulations, conversations and runs (DESIGN.md 5.6).
 *
 * Definitions: the built-ins live in the analysis module (metric_eval.c) with fixed ids and are
 * read-only. An org's own metrics are stored with the columns a list shows and the rest of the
 * definition as a JSON document, and every read runs the document through the same parser that
 * validated it, so a stored metric is always one the API would accept.
 *
 * Outputs are never stored: they are computed on every read from the spans as they are then, so
 * spans that arrive late count. A call's spans are read once for all of its metrics; a run's are
 * read in one ordered scan for all of its simulations.
 *
 * Sections: definitions from storage; writing; definition handlers; resolving metric ids;
 * evaluating one call; evaluating a run; output handlers.
 */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>

#include "../core/log.h"
#include "../core/ulid.h"
#include "paging.h"

#define METRICS_MAX_PAGE 100
/* Memory for one call's copied spans plus the evaluation's scratch space. */
#define METRICS_ROWS_CAP ((size_t)256 << 20)
/* Memory for a run evaluation's simulation ids, transcript references and results. */
#define METRICS_RUN_CAP ((size_t)256 << 20)
/* Rows of one store page while a run's simulations are listed. */
#define METRICS_SIM_PAGE 1000

/* Members of a definition kept in the stored document; the others are columns. */
static const char *const doc_fields[] = {"span_name",          "value_source", "metric_attribute",
                                         "aggregation_method", "unit",         "target_condition"};

static const char *param_id(vt_req_t *r) {
    return vt_arena_strndup(&r->arena, r->params[0].p, r->params[0].n);
}

static vt_store_t *store_of(vt_req_t *r) {
    return vt_api_app(r)->store;
}

/* ---- definitions from storage ------------------------------------------------------------ */

/* A stored metric as the object the API accepts: its document plus the columns. NULL when the
 * document is not a JSON object. */
static json_t *stored_object(const vt_metric_t *m) {
    json_t *obj = m->doc_json ? json_loads(m->doc_json, 0, NULL) : json_object();
    if (!json_is_object(obj)) {
        json_decref(obj);
        return NULL;
    }
    json_object_set_new(obj, "metric_name", json_string(m->metric_name ? m->metric_name : ""));
    if (m->description)
        json_object_set_new(obj, "description", json_string(m->description));
    json_object_set_new(obj, "metric_type", json_string(m->metric_type ? m->metric_type : ""));
    return obj;
}

/* Parses a stored metric. A row that no longer parses is damage, not the caller's mistake. */
static vt_err_t def_of_stored(vt_req_t *r, const vt_metric_t *m, vt_metric_def_t *d) {
    json_t *obj = stored_object(m);
    vt_metric_error_t err = {0};
    vt_err_t e = obj ? vt_metric_def_parse(&r->arena, obj, d, &err) : VT_EINVAL;
    json_decref(obj);
    if (e == VT_EINVAL) {
        vt_log_error("metric %s: stored definition is invalid: %s %s", m->metric_id, err.field,
                     err.description);
        return VT_EINTERNAL;
    }
    if (e)
        return e;
    d->metric_id = m->metric_id;
    return VT_OK;
}

/* The definition an id names: a built-in, or a metric of the caller's org (then *row, if
 * given, receives the stored row). VT_ENOTFOUND when neither. */
static vt_err_t def_by_id(vt_req_t *r, const char *id, vt_metric_def_t *d, vt_metric_t *row) {
    const vt_metric_def_t *b = vt_metric_builtin(vt_str_c(id));
    if (row)
        memset(row, 0, sizeof *row);
    if (b) {
        *d = *b;
        return VT_OK;
    }
    vt_store_t *st = store_of(r);
    vt_metric_t m;
    vt_err_t e = st->ops->metric_get(st, r->auth.org_id, id, &r->arena, &m);
    if (e)
        return e;
    if (row)
        *row = m;
    return def_of_stored(r, &m, d);
}

/* The document stored for a validated definition object: its known members, as given. */
static const char *doc_of(vt_req_t *r, const json_t *obj) {
    json_t *doc = json_object();
    for (size_t i = 0; i < VT_ARRAY_LEN(doc_fields); i++) {
        json_t *v = json_object_get(obj, doc_fields[i]);
        if (v && !json_is_null(v))
            json_object_set(doc, doc_fields[i], v);
    }
    const char *text = vt_api_dump(r, doc);
    json_decref(doc);
    return text;
}

/* ---- writing ----------------------------------------------------------------------------- */

static void write_target(vt_jw_t *w, const vt_metric_target_t *t) {
    if (!t->present) {
        vt_jw_null(w);
        return;
    }
    vt_jw_obj_begin(w);
    vt_jw_key(w, "comparison_operator");
    vt_jw_cstr(w, vt_metric_cmp_name(t->op));
    if (t->op == VT_METRIC_CMP_IN || t->op == VT_METRIC_CMP_NIN) {
        vt_jw_key(w, "target_values");
        vt_jw_arr_begin(w);
        for (size_t i = 0; i < t->n_target_values; i++)
            vt_jw_double(w, t->target_values[i]);
        vt_jw_arr_end(w);
    } else {
        vt_jw_key(w, "target_float");
        vt_jw_double(w, t->target_float);
    }
    vt_jw_obj_end(w);
}

/* Writes one metric resource. row is the stored row (its times), NULL for a built-in. */
static void write_metric(vt_req_t *r, vt_jw_t *w, const vt_metric_def_t *d,
                         const vt_metric_t *row) {
    bool custom = d->type == VT_METRIC_CUSTOM_TRACE;
    vt_jw_obj_begin(w);
    vt_jw_key(w, "metric_id");
    vt_jw_cstr(w, d->metric_id);
    vt_jw_key(w, "metric_name");
    vt_jw_cstr(w, d->metric_name);
    vt_jw_key(w, "description");
    vt_jw_cstr(w, d->description);
    vt_jw_key(w, "metric_type");
    vt_jw_cstr(w, vt_metric_type_name(d->type));
    /* The built-in tool_call_count matches two names; its description says so. */
    vt_jw_key(w, "span_name");
    if (custom)
        vt_jw_str(w, d->span_names[0]);
    else
        vt_jw_null(w);
    vt_jw_key(w, "value_source");
    vt_jw_cstr(w, custom ? vt_metric_source_name(d->source) : NULL);
    vt_jw_key(w, "metric_attribute");
    if (custom && d->attribute.n)
        vt_jw_str(w, d->attribute);
    else
        vt_jw_null(w);
    vt_jw_key(w, "aggregation_method");
    vt_jw_cstr(w, custom ? vt_aggregate_method_name(d->method) : NULL);
    vt_jw_key(w, "unit");
    vt_jw_cstr(w, d->unit);
    vt_jw_key(w, "target_condition");
    write_target(w, &d->target);
    vt_jw_key(w, "create_time");
    vt_jw_cstr(w, row ? vt_api_time(r, row->create_ms) : NULL);
    vt_jw_key(w, "update_time");
    vt_jw_cstr(w, row ? vt_api_time(r, row->update_ms) : NULL);
    vt_jw_key(w, "builtin");
    vt_jw_bool(w, d->builtin);
    vt_jw_obj_end(w);
}

static void reply_metric(vt_req_t *r, const vt_metric_def_t *d, const vt_metric_t *row) {
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "metric");
    write_metric(r, &w, d, row);
    vt_jw_obj_end(&w);
    vt_req_reply_json(r, 200);
}

static void reply_invalid(vt_req_t *r, const vt_metric_error_t *err) {
    char msg[320];
    snprintf(msg, sizeof msg, "Invalid field %s: %s", err->field, err->description);
    vt_req_reply_error(r, VT_EINVAL, msg, err->field, err->description);
}

/* Built-ins are fixed: every org sees the same ones, so no org may change them. */
static void reply_builtin(vt_req_t *r, const char *id) {
    char msg[160];
    snprintf(msg, sizeof msg, "Metric %s is built in and cannot be changed or deleted", id);
    vt_req_reply_error(r, VT_EPERM, msg, "metric_id",
                       "names a built-in metric, which is read-only");
}

static const char *status_name(unsigned s) {
    return s == VT_METRIC_COMPLETED ? "COMPLETED" : "FAILED";
}

static const char *result_name(unsigned res) {
    return res == VT_METRIC_RESULT_PASSED   ? "PASSED"
           : res == VT_METRIC_RESULT_FAILED ? "FAILED"
                                            : NULL;
}

static void write_value(vt_jw_t *w, unsigned status, double value) {
    if (status == VT_METRIC_COMPLETED)
        vt_jw_double(w, value);
    else
        vt_jw_null(w);
}

void vt_api_write_metric_values(vt_jw_t *w, const vt_api_metric_results_t *m, bool as_array) {
    vt_jw_key(w, "metric_values");
    if (as_array)
        vt_jw_arr_begin(w);
    else
        vt_jw_obj_begin(w);
    for (size_t i = 0; i < m->n; i++) {
        const vt_metric_output_t *o = &m->outs[i];
        if (as_array) {
            vt_jw_obj_begin(w);
            vt_jw_key(w, "metric_id");
            vt_jw_cstr(w, m->defs[i].metric_id);
            vt_jw_key(w, "value");
            write_value(w, o->status, o->value);
            vt_jw_obj_end(w);
        } else {
            vt_jw_key(w, m->defs[i].metric_id);
            write_value(w, o->status, o->value);
        }
    }
    if (as_array)
        vt_jw_arr_end(w);
    else
        vt_jw_obj_end(w);
}

void vt_api_write_metric_outputs(vt_req_t *r, vt_jw_t *w, const char *target_id,
                                 const vt_api_metric_results_t *m) {
    vt_jw_arr_begin(w);
    for (size_t i = 0; i < m->n; i++) {
        const vt_metric_def_t *d = &m->defs[i];
        const vt_metric_output_t *o = &m->outs[i];
        vt_jw_obj_begin(w);
        /* Stable across reads: an output is a (call, metric) pair, recomputed each time. */
        vt_jw_key(w, "metric_output_id");
        vt_jw_cstr(w, vt_arena_printf(&r->arena, "%s:%s", target_id, d->metric_id));
        vt_jw_key(w, "metric_id");
        vt_jw_cstr(w, d->metric_id);
        vt_jw_key(w, "metric_name");
        vt_jw_cstr(w, d->metric_name);
        vt_jw_key(w, "value");
        write_value(w, o->status, o->value);
        vt_jw_key(w, "unit");
        vt_jw_cstr(w, d->unit);
        vt_jw_key(w, "status");
        vt_jw_cstr(w, status_name(o->status));
        vt_jw_key(w, "status_reason");
        vt_jw_cstr(w, o->status == VT_METRIC_FAILED ? o->status_reason : NULL);
        vt_jw_key(w, "result");
        vt_jw_cstr(w, result_name(o->result));
        vt_jw_key(w, "sample_count");
        vt_jw_uint(w, o->sample_count);
        vt_jw_obj_end(w);
    }
    vt_jw_arr_end(w);
}

/* ---- definition handlers ----------------------------------------------------------------- */

void vt_api_metrics_create(vt_req_t *r) {
    json_t *body = vt_api_parse_object(r);
    if (!body)
        return;
    vt_metric_def_t d;
    vt_metric_error_t err;
    vt_err_t e = vt_metric_def_parse(&r->arena, body, &d, &err);
    if (e == VT_EINVAL) {
        reply_invalid(r, &err);
        goto out;
    }
    const char *doc = e ? NULL : doc_of(r, body);
    if (!doc) {
        vt_req_reply_error(r, VT_ENOMEM, "Out of memory while reading the metric", NULL, NULL);
        goto out;
    }
    char id[VT_ULID_LEN + 1];
    vt_ulid_new(id);
    vt_metric_t m = {.metric_id = id,
                     .metric_name = d.metric_name,
                     .description = d.description,
                     .metric_type = vt_metric_type_name(d.type),
                     .doc_json = doc};
    m.create_ms = m.update_ms = vt_api_now_ms();
    vt_store_t *st = store_of(r);
    if ((e = st->ops->metric_create(st, r->auth.org_id, &m))) {
        vt_api_store_error(r, e, "Metric");
        goto out;
    }
    d.metric_id = id;
    reply_metric(r, &d, &m);
out:
    json_decref(body);
}

void vt_api_metrics_get(vt_req_t *r) {
    vt_metric_def_t d;
    vt_metric_t row;
    vt_err_t e = def_by_id(r, param_id(r), &d, &row);
    if (e) {
        vt_api_store_error(r, e, "Metric");
        return;
    }
    reply_metric(r, &d, d.builtin ? NULL : &row);
}

/* include_builtin: true/1 or false/0 (absent or empty: false). */
static bool include_builtin_of(vt_req_t *r, bool *out) {
    const char *v = vt_req_query(r, "include_builtin");
    *out = v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
    if (!v || !*v || *out || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        return true;
    vt_req_reply_error(r, VT_EINVAL, "Invalid include_builtin: use true or false",
                       "include_builtin", "must be true or false");
    return false;
}

/* The list is the built-ins (when included) followed by the org's metrics in creation order, and
 * a page token names the last metric of the previous page: a built-in id means "continue after
 * that built-in", anything else is the store's cursor among the org's metrics. Built-in ids are
 * lowercase and metric ids are uppercase ULIDs, so the two cannot be confused. */
void vt_api_metrics_list(vt_req_t *r) {
    bool with_builtins;
    vt_page_t pg;
    if (!include_builtin_of(r, &with_builtins) || !vt_paging_from_query(r, METRICS_MAX_PAGE, &pg))
        return;
    size_t nb;
    const vt_metric_def_t *builtins = vt_metric_builtins(&nb);
    size_t b0 = with_builtins ? 0 : nb;
    const char *after = pg.after;
    if (after) {
        /* After a built-in, the org's metrics start from their beginning. */
        const vt_metric_def_t *b = vt_metric_builtin(vt_str_c(after));
        b0 = b && with_builtins ? (size_t)(b - builtins) + 1 : nb;
        if (b)
            after = NULL;
    }
    size_t b1 = VT_MIN(nb, b0 + pg.page_size); /* built-ins [b0, b1) are on this page */
    size_t room = pg.page_size - (b1 - b0);
    vt_store_t *st = store_of(r);
    vt_metric_t *rows = NULL;
    size_t n = 0;
    const char *next = NULL;
    vt_err_t e = VT_OK;
    if (b1 < nb) {
        next = builtins[b1 - 1].metric_id;
    } else if (room) {
        vt_page_t spg = {.page_size = room, .after = after};
        e = st->ops->metric_list(st, r->auth.org_id, &spg, &r->arena, &rows, &n, &next);
    } else {
        /* The page ends with the last built-in: is there anything after it? */
        vt_page_t probe = {.page_size = 1};
        vt_metric_t *one;
        size_t k;
        const char *ignored;
        e = st->ops->metric_list(st, r->auth.org_id, &probe, &r->arena, &one, &k, &ignored);
        if (!e && k)
            next = builtins[nb - 1].metric_id;
    }
    if (e) {
        vt_paging_reply_list_error(r, e, "Metrics");
        return;
    }
    vt_metric_def_t *defs = vt_arena_calloc(&r->arena, n ? n : 1, sizeof *defs);
    if (!defs) {
        vt_req_reply_error(r, VT_ENOMEM, "Out of memory while listing metrics", NULL, NULL);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if ((e = def_of_stored(r, &rows[i], &defs[i]))) {
            vt_api_store_error(r, e, "Metrics");
            return;
        }
    }
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "metrics");
    vt_jw_arr_begin(&w);
    for (size_t i = b0; i < b1; i++)
        write_metric(r, &w, &builtins[i], NULL);
    for (size_t i = 0; i < n; i++)
        write_metric(r, &w, &defs[i], &rows[i]);
    vt_jw_arr_end(&w);
    if (!vt_paging_write_next(r, &w, next)) {
        vt_req_reply_error(r, VT_ENOMEM, "Out of memory while listing metrics", NULL, NULL);
        return;
    }
    vt_jw_obj_end(&w);
    vt_req_reply_json(r, 200);
}

/* A PATCH is merged into the stored definition member by member (null clears an optional
 * member), and the result is validated as a whole, exactly like a POST. */
void vt_api_metrics_patch(vt_req_t *r) {
    const char *id = param_id(r);
    if (vt_metric_builtin(vt_str_c(id))) {
        reply_builtin(r, id);
        return;
    }
    json_t *body = vt_api_parse_object(r);
    if (!body)
        return;
    json_t *obj = NULL;
    static const char *const patchable[] = {"metric_name",      "description",
                                            "metric_type",      "span_name",
                                            "value_source",     "metric_attribute",
                                            "aggregation_method", "unit",
                                            "target_condition"};
    if (!vt_api_patch_keys_check(r, body, patchable, VT_ARRAY_LEN(patchable)))
        goto out;
    vt_store_t *st = store_of(r);
    vt_metric_t m;
    vt_err_t e = st->ops->metric_get(st, r->auth.org_id, id, &r->arena, &m);
    if (e) {
        vt_api_store_error(r, e, "Metric");
        goto out;
    }
    if (!(obj = stored_object(&m))) {
        vt_log_error("metric %s: stored document is not a JSON object", m.metric_id);
        vt_req_reply_error(r, VT_EINTERNAL, "Stored metric is damaged", NULL, NULL);
        goto out;
    }
    json_object_update(obj, body);
    vt_metric_def_t d;
    vt_metric_error_t err;
    e = vt_metric_def_parse(&r->arena, obj, &d, &err);
    if (e == VT_EINVAL) {
        reply_invalid(r, &err);
        goto out;
    }
    const char *doc = e ? NULL : doc_of(r, obj);
    if (!doc) {
        vt_req_reply_error(r, VT_ENOMEM, "Out of memory while reading the metric", NULL, NULL);
        goto out;
    }
    vt_metric_t upd = {.metric_id = m.metric_id,
                       .metric_name = d.metric_name,
                       .description = d.description,
                       .metric_type = vt_metric_type_name(d.type),
                       .doc_json = doc,
                       .create_ms = m.create_ms,
                       .update_ms = vt_api_now_ms()};
    if ((e = st->ops->metric_update(st, r->auth.org_id, &upd))) {
        vt_api_store_error(r, e, "Metric");
        goto out;
    }
    d.metric_id = m.metric_id;
    reply_metric(r, &d, &upd);
out:
    json_decref(obj);
    json_decref(body);
}

/* Deleting a metric leaves the runs and conversations that name it alone: their outputs for it
 * become FAILED ("no metric has this id") rather than the delete failing or cascading. */
void vt_api_metrics_delete(vt_req_t *r) {
    const char *id = param_id(r);
    if (vt_metric_builtin(vt_str_c(id))) {
        reply_builtin(r, id);
        return;
    }
    vt_store_t *st = store_of(r);
    vt_err_t e = st->ops->metric_delete(st, r->auth.org_id, id);
    if (e) {
        vt_api_store_error(r, e, "Metric");
        return;
    }
    vt_buf_append_c(&r->resp, "{}");
    vt_req_reply_json(r, 200);
}

/* ---- resolving metric ids ---------------------------------------------------------------- */

/* Definitions of a JSON array of ids (see vt_api_metric_defs_of_ids). Repeated ids count once,
 * so metric_values never has a key twice. */
static vt_err_t defs_of_array(vt_req_t *r, const json_t *ids, vt_metric_def_t **defs, size_t *n) {
    *defs = NULL;
    *n = 0;
    size_t cnt = VT_MIN(json_array_size(ids), (size_t)VT_API_METRIC_IDS_MAX);
    if (cnt == 0)
        return VT_OK;
    vt_metric_def_t *out = vt_arena_calloc(&r->arena, cnt, sizeof *out);
    if (!out)
        return VT_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < cnt; i++) {
        const char *id = json_string_value(json_array_get(ids, i));
        bool dup = false;
        for (size_t j = 0; id && j < k && !dup; j++)
            dup = strcmp(out[j].metric_id, id) == 0;
        if (!id || dup)
            continue;
        if (!(id = vt_arena_strndup(&r->arena, id, strlen(id))))
            return VT_ENOMEM;
        vt_err_t e = def_by_id(r, id, &out[k], NULL);
        if (e == VT_ENOTFOUND)
            out[k] = (vt_metric_def_t){.metric_id = id, .type = VT_METRIC_NONE};
        else if (e)
            return e;
        k++;
    }
    *defs = out;
    *n = k;
    return VT_OK;
}

vt_err_t vt_api_metric_defs_of_ids(vt_req_t *r, const char *ids_json, vt_metric_def_t **defs,
                                   size_t *n) {
    *defs = NULL;
    *n = 0;
    if (!ids_json)
        return VT_OK;
    json_t *ids = json_loads(ids_json, 0, NULL);
    vt_err_t e = defs_of_array(r, ids, defs, n);
    json_decref(ids);
    return e;
}

vt_err_t vt_api_run_metric_defs(vt_req_t *r, const vt_run_t *run, vt_metric_def_t **defs,
                                size_t *n) {
    vt_err_t e = vt_api_metric_defs_of_ids(r, run->metric_ids_json, defs, n);
    if (e)
        return e;
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if ((*defs)[i].type != VT_METRIC_NONE && (*defs)[i].target.present)
            (*defs)[k++] = (*defs)[i];
    *n = k;
    return VT_OK;
}

bool vt_api_metric_ids_check(vt_req_t *r, json_t *ids, const char *field) {
    char f[96], msg[256];
    if (!ids || json_is_null(ids))
        return true;
    if (!json_is_array(ids) || json_array_size(ids) > VT_API_METRIC_IDS_MAX) {
        snprintf(msg, sizeof msg, "Invalid field %s: must be an array of at most %d metric ids",
                 field, VT_API_METRIC_IDS_MAX);
        vt_req_reply_error(r, VT_EINVAL, msg, field, "must be an array of at most 50 metric ids");
        return false;
    }
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        snprintf(f, sizeof f, "%s[%zu]", field, i);
        const char *id = json_string_value(v);
        if (!id) {
            snprintf(msg, sizeof msg, "Invalid field %s: must be a metric id string", f);
            vt_req_reply_error(r, VT_EINVAL, msg, f, "must be a metric id string");
            return false;
        }
        if (vt_metric_builtin(vt_str_c(id)))
            continue;
        vt_store_t *st = store_of(r);
        vt_metric_t m;
        vt_err_t e = st->ops->metric_get(st, r->auth.org_id, id, &r->arena, &m);
        if (e == VT_ENOTFOUND) {
            snprintf(msg, sizeof msg, "Invalid field %s: no metric has this id", f);
            vt_req_reply_error(r, VT_EINVAL, msg, f,
                               "no metric has this id (use a built-in id or one returned by "
                               "POST /v1/metrics)");
            return false;
        }
        if (e) {
            vt_api_store_error(r, e, "Metric");
            return false;
        }
    }
    return true;
}

/* ---- evaluating one call ----------------------------------------------------------------- */

/* Spans copied out of a store scan, whose rows are only valid inside the callback. Only what
 * evaluation reads (metric_eval.h) is copied. The arena doubles as the evaluation's scratch. */
typedef struct {
    vt_arena_t arena;
    vt_span_row_t *rows; /* heap, grown by doubling */
    size_t n, cap;
} rows_t;

static void rows_init(rows_t *c) {
    memset(c, 0, sizeof *c);
    vt_arena_init(&c->arena, METRICS_ROWS_CAP);
}

/* Empties c for the next call, keeping the row array. */
static void rows_clear(rows_t *c) {
    vt_arena_free(&c->arena);
    vt_arena_init(&c->arena, METRICS_ROWS_CAP);
    c->n = 0;
}

static void rows_free(rows_t *c) {
    vt_arena_free(&c->arena);
    free(c->rows);
    c->rows = NULL;
}

/* VT_ELIMIT when one call's spans outgrow METRICS_ROWS_CAP. */
static vt_err_t rows_add(rows_t *c, const vt_span_row_t *src) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        vt_span_row_t *rows = realloc(c->rows, cap * sizeof *rows);
        if (!rows)
            return VT_ENOMEM;
        c->rows = rows;
        c->cap = cap;
    }
    vt_span_row_t *d = &c->rows[c->n];
    memset(d, 0, sizeof *d);
    d->start_ns = src->start_ns;
    d->end_ns = src->end_ns;
    d->status_code = src->status_code;
    d->name = vt_arena_str(&c->arena, src->name);
    d->attributes_json = vt_arena_str(&c->arena, src->attributes_json);
    if (c->arena.failed)
        return VT_ELIMIT;
    c->n++;
    return VT_OK;
}

static vt_err_t collect_cb(void *ud, vt_target_kind_t kind, const char *target_id,
                           const vt_span_row_t *row) {
    (void)kind;
    (void)target_id;
    return rows_add(ud, row);
}

static bool needs_transcript(const vt_metric_def_t *defs, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (defs[i].type == VT_METRIC_STT_WER)
            return true;
    return false;
}

/* The WER reference of a stored transcript text (NULL or not an array: empty). */
static vt_err_t reference_of_text(vt_arena_t *a, const char *transcript_json, vt_str_t *out) {
    return vt_metric_transcript_reference_text(a, vt_str_c(transcript_json), out);
}

/* Evaluates m->defs on one call: one scan of its spans. Fills m->outs (request arena). */
static vt_err_t eval_target(vt_req_t *r, vt_target_kind_t kind, const char *id,
                            vt_str_t transcript_ref, vt_str_t uploaded_ref,
                            vt_api_metric_results_t *m) {
    m->outs = vt_arena_calloc(&r->arena, m->n ? m->n : 1, sizeof *m->outs);
    if (!m->outs)
        return VT_ENOMEM;
    if (m->n == 0)
        return VT_OK;
    rows_t c;
    rows_init(&c);
    vt_store_t *st = store_of(r);
    vt_span_filter_t f = {.kind = kind, .target_id = id, .any_order = true};
    vt_err_t e = st->ops->spans_scan(st, r->auth.org_id, &f, collect_cb, &c);
    vt_metric_input_t in = {c.rows, c.n, transcript_ref, uploaded_ref};
    for (size_t i = 0; i < m->n && !e; i++)
        e = vt_metric_eval(&c.arena, &m->defs[i], &in, &m->outs[i]);
    rows_free(&c);
    return e;
}

vt_err_t vt_api_sim_metrics(vt_req_t *r, const vt_simulation_t *sim, vt_api_metric_results_t *out) {
    memset(out, 0, sizeof *out);
    vt_store_t *st = store_of(r);
    vt_run_t run;
    vt_err_t e = st->ops->run_get(st, r->auth.org_id, sim->run_id, &r->arena, &run);
    if (e == VT_ENOTFOUND)
        return VT_OK; /* the run was deleted meanwhile: no metrics to show */
    if (e || (e = vt_api_metric_defs_of_ids(r, run.metric_ids_json, &out->defs, &out->n)) ||
        out->n == 0)
        return e;
    vt_str_t ref = VT_STR_NULL;
    if (needs_transcript(out->defs, out->n) &&
        (e = reference_of_text(&r->arena, sim->transcript_json, &ref)))
        return e;
    return eval_target(r, VT_TARGET_SIMULATION, sim->simulation_id, ref, VT_STR_NULL, out);
}

/* The references of a conversation's document: its transcript's user messages, and the
 * reference_transcript of an upload. */
static vt_err_t conv_references(vt_req_t *r, const json_t *doc, vt_str_t *transcript_ref,
                                vt_str_t *uploaded_ref) {
    const json_t *up = json_object_get(doc, "reference_transcript");
    *uploaded_ref = json_is_string(up) ? (vt_str_t){json_string_value(up), json_string_length(up)}
                                       : VT_STR_NULL;
    return vt_metric_transcript_reference(&r->arena, json_object_get(doc, "transcript"),
                                          transcript_ref);
}

vt_err_t vt_api_conv_metrics(vt_req_t *r, const vt_conversation_t *c, const json_t *doc,
                             vt_api_metric_results_t *out) {
    memset(out, 0, sizeof *out);
    vt_err_t e = defs_of_array(r, json_object_get(doc, "metric_ids"), &out->defs, &out->n);
    if (e || out->n == 0)
        return e;
    vt_str_t tref, uref;
    if ((e = conv_references(r, doc, &tref, &uref)))
        return e;
    return eval_target(r, VT_TARGET_CONVERSATION, c->conversation_id, tref, uref, out);
}

/* ---- evaluating a run -------------------------------------------------------------------- */

typedef struct {
    const char *id; /* ev->arena */
    bool failed;    /* status or result FAILED */
    vt_str_t ref;   /* WER reference of its transcript (ev->arena), when a metric needs it */
    size_t order;   /* index in creation order */
} run_sim_t;

typedef struct {
    vt_api_run_eval_t *ev;
    const vt_metric_def_t *defs;
    run_sim_t *sims;   /* heap, in creation order */
    run_sim_t **by_id; /* heap, sorted by id, for the scan's lookups */
    bool *done;        /* heap, per simulation: evaluated */
    size_t n;
    rows_t rows;
    char *cur_id;   /* heap: the simulation whose spans are being collected */
    run_sim_t *cur; /* NULL when the scan found a simulation created after the list */
} run_scan_t;

static int by_id_cmp(const void *a, const void *b) {
    return strcmp((*(run_sim_t *const *)a)->id, (*(run_sim_t *const *)b)->id);
}

static run_sim_t *find_sim(run_scan_t *s, const char *id) {
    run_sim_t key = {.id = id}, *kp = &key;
    run_sim_t **hit = bsearch(&kp, s->by_id, s->n, sizeof *s->by_id, by_id_cmp);
    return hit ? *hit : NULL;
}

/* Reads every simulation of the run (id, failed flag, transcript reference) in store pages. */
static vt_err_t read_sims(vt_req_t *r, const vt_run_t *run, bool need_ref, run_scan_t *s) {
    vt_store_t *st = store_of(r);
    vt_page_t pg = {.page_size = METRICS_SIM_PAGE};
    size_t cap = 0;
    vt_err_t e = VT_OK;
    do {
        vt_arena_t page;
        vt_arena_init(&page, 0);
        vt_simulation_t *sims;
        size_t n;
        const char *next;
        e = st->ops->sim_list(st, r->auth.org_id, run->run_id, &pg, &page, &sims, &n, &next);
        for (size_t i = 0; i < n && !e; i++) {
            if (s->n == VT_API_RUN_METRICS_MAX_SIMS) {
                e = VT_ELIMIT;
                break;
            }
            if (s->n == cap) {
                cap = cap ? 2 * cap : 64;
                run_sim_t *grown = realloc(s->sims, cap * sizeof *grown);
                if (!grown) {
                    e = VT_ENOMEM;
                    break;
                }
                s->sims = grown;
            }
            run_sim_t *sim = &s->sims[s->n];
            *sim = (run_sim_t){.order = s->n};
            const char *id = sims[i].simulation_id;
            const char *status = sims[i].status, *result = sims[i].result;
            sim->failed = (status && strcmp(status, "FAILED") == 0) ||
                          (result && strcmp(result, "FAILED") == 0);
            if (!(sim->id = vt_arena_strndup(&s->ev->arena, id, strlen(id))))
                e = VT_ENOMEM;
            else if (need_ref)
                e = reference_of_text(&s->ev->arena, sims[i].transcript_json, &sim->ref);
            s->n++;
        }
        /* The cursor lives in the page arena: carry it over before freeing. */
        pg.after = next && !e ? vt_arena_strndup(&s->ev->arena, next, strlen(next)) : NULL;
        if (next && !e && !pg.after)
            e = VT_ENOMEM;
        vt_arena_free(&page);
    } while (!e && pg.after);
    return e;
}

/* Evaluates every metric on one simulation and stores the cells. */
static vt_err_t eval_sim(run_scan_t *s, run_sim_t *sim) {
    vt_api_run_eval_t *ev = s->ev;
    vt_metric_input_t in = {s->rows.rows, s->rows.n, sim->ref, VT_STR_NULL};
    for (size_t d = 0; d < ev->n_defs; d++) {
        vt_metric_output_t o;
        vt_err_t e = vt_metric_eval(&s->rows.arena, &s->defs[d], &in, &o);
        if (e)
            return e;
        ev->cells[d * ev->n_sims + sim->order] =
            (vt_api_metric_cell_t){o.value, (uint8_t)o.status, (uint8_t)o.result};
    }
    s->done[sim->order] = true;
    return VT_OK;
}

/* Ends the simulation being collected: evaluates it and empties the row buffer. */
static vt_err_t flush_sim(run_scan_t *s) {
    vt_err_t e = s->cur ? eval_sim(s, s->cur) : VT_OK;
    rows_clear(&s->rows);
    free(s->cur_id);
    s->cur_id = NULL;
    s->cur = NULL;
    return e;
}

/* The scan yields a run's spans grouped by simulation: a new target id ends the previous one. */
static vt_err_t run_scan_cb(void *ud, vt_target_kind_t kind, const char *target_id,
                            const vt_span_row_t *row) {
    (void)kind;
    run_scan_t *s = ud;
    if (!s->cur_id || strcmp(s->cur_id, target_id) != 0) {
        vt_err_t e = flush_sim(s);
        if (e)
            return e;
        if (!(s->cur_id = strdup(target_id)))
            return VT_ENOMEM;
        s->cur = find_sim(s, target_id);
    }
    return s->cur ? rows_add(&s->rows, row) : VT_OK;
}

vt_err_t vt_api_run_eval(vt_req_t *r, const vt_run_t *run, const vt_metric_def_t *defs, size_t n,
                         vt_api_run_eval_t *out) {
    memset(out, 0, sizeof *out);
    vt_arena_init(&out->arena, METRICS_RUN_CAP);
    out->n_defs = n;
    run_scan_t s = {.ev = out, .defs = defs};
    rows_init(&s.rows);
    vt_err_t e = read_sims(r, run, needs_transcript(defs, n), &s);
    if (e)
        goto out;
    out->n_sims = s.n;
    out->sim_ids = vt_arena_calloc(&out->arena, s.n ? s.n : 1, sizeof *out->sim_ids);
    out->cells = vt_arena_calloc(&out->arena, n && s.n ? n * s.n : 1, sizeof *out->cells);
    s.by_id = malloc((s.n ? s.n : 1) * sizeof *s.by_id);
    s.done = calloc(s.n ? s.n : 1, sizeof *s.done);
    if (!out->sim_ids || !out->cells || !s.by_id || !s.done) {
        e = VT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < s.n; i++) {
        out->sim_ids[i] = s.sims[i].id;
        s.by_id[i] = &s.sims[i];
    }
    qsort(s.by_id, s.n, sizeof *s.by_id, by_id_cmp);

    if (n && s.n) {
        vt_store_t *st = store_of(r);
        vt_span_filter_t f = {.run_id = run->run_id, .any_order = true};
        if ((e = st->ops->spans_scan(st, r->auth.org_id, &f, run_scan_cb, &s)) ||
            (e = flush_sim(&s)))
            goto out;
        /* Simulations without spans still get outputs (FAILED: no span...). */
        for (size_t i = 0; i < s.n && !e; i++)
            if (!s.done[i])
                e = eval_sim(&s, &s.sims[i]);
        if (e)
            goto out;
    }
    for (size_t i = 0; i < s.n; i++) {
        bool failed = s.sims[i].failed;
        for (size_t d = 0; d < n && !failed; d++)
            failed = out->cells[d * s.n + i].result == VT_METRIC_RESULT_FAILED;
        out->failed += failed;
    }
out:
    if (!e && out->arena.failed)
        e = VT_ENOMEM;
    rows_free(&s.rows);
    free(s.cur_id);
    free(s.sims);
    free(s.by_id);
    free(s.done);
    return e;
}

void vt_api_run_eval_free(vt_api_run_eval_t *ev) {
    vt_arena_free(&ev->arena);
}

bool vt_api_run_eval_average(const vt_api_run_eval_t *ev, size_t d, double *avg) {
    double *vals = malloc((ev->n_sims ? ev->n_sims : 1) * sizeof *vals);
    size_t k = 0;
    for (size_t s = 0; vals && s < ev->n_sims; s++) {
        const vt_api_metric_cell_t *c = &ev->cells[d * ev->n_sims + s];
        if (c->status == VT_METRIC_COMPLETED)
            vals[k++] = c->value;
    }
    bool ok = vals && vt_aggregate(VT_AGG_AVERAGE, vals, k, avg) == VT_OK;
    free(vals);
    return ok;
}

/* ---- output handlers --------------------------------------------------------------------- */

/* Every built-in metric followed by every metric of the org. */
static vt_err_t all_defs(vt_req_t *r, vt_metric_def_t **defs, size_t *n) {
    size_t nb;
    const vt_metric_def_t *builtins = vt_metric_builtins(&nb);
    vt_store_t *st = store_of(r);
    vt_page_t pg = {.page_size = VT_API_ORG_METRICS_MAX};
    vt_metric_t *rows;
    size_t nr;
    const char *next;
    vt_err_t e = st->ops->metric_list(st, r->auth.org_id, &pg, &r->arena, &rows, &nr, &next);
    if (e)
        return e;
    if (next)
        return VT_ELIMIT;
    vt_metric_def_t *out = vt_arena_calloc(&r->arena, nb + nr, sizeof *out);
    if (!out)
        return VT_ENOMEM;
    memcpy(out, builtins, nb * sizeof *out);
    for (size_t i = 0; i < nr; i++)
        if ((e = def_of_stored(r, &rows[i], &out[nb + i])))
            return e;
    *defs = out;
    *n = nb + nr;
    return VT_OK;
}

/* Replies to a failed evaluation. */
static void reply_eval_error(vt_req_t *r, vt_err_t e) {
    if (e == VT_ELIMIT)
        vt_req_reply_error(r, VT_ELIMIT,
                           "Too much to evaluate at once: more than 1000 metrics (ask for one "
                           "with ?metric_id=), more than 100000 simulations, or a call whose "
                           "spans exceed 256 MiB",
                           NULL, NULL);
    else
        vt_api_store_error(r, e, "Metrics");
}

/* The definitions an outputs request asks for: the one ?metric_id= names (404 when it names
 * none), else `fallback` when given, else every built-in and org metric. Replies on failure. */
static bool output_defs(vt_req_t *r, const char *fallback_ids, vt_metric_def_t **defs, size_t *n) {
    const char *id = vt_req_query(r, "metric_id");
    vt_err_t e;
    if (id && *id) {
        vt_metric_def_t *d = vt_arena_calloc(&r->arena, 1, sizeof *d);
        if (!d) {
            vt_req_reply_error(r, VT_ENOMEM, "Out of memory", NULL, NULL);
            return false;
        }
        e = def_by_id(r, id, d, NULL);
        if (e == VT_ENOTFOUND) {
            vt_req_reply_error(r, VT_ENOTFOUND, "Metric not found", "metric_id",
                               "no metric has this id");
            return false;
        }
        *defs = d;
        *n = 1;
    } else if (fallback_ids) {
        e = vt_api_metric_defs_of_ids(r, fallback_ids, defs, n);
        if (!e && *n == 0)
            e = all_defs(r, defs, n);
    } else {
        e = all_defs(r, defs, n);
    }
    if (e) {
        reply_eval_error(r, e);
        return false;
    }
    return true;
}

static void reply_outputs(vt_req_t *r, const char *target_id, const vt_api_metric_results_t *m) {
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "metric_outputs");
    vt_api_write_metric_outputs(r, &w, target_id, m);
    vt_jw_obj_end(&w);
    vt_req_reply_json(r, 200);
}

void vt_api_sims_metrics(vt_req_t *r) {
    vt_store_t *st = store_of(r);
    vt_simulation_t sim;
    vt_err_t e = st->ops->sim_get(st, r->auth.org_id, param_id(r), &r->arena, &sim);
    if (e) {
        vt_api_store_error(r, e, "Simulation");
        return;
    }
    vt_api_metric_results_t m = {0};
    if (!output_defs(r, NULL, &m.defs, &m.n))
        return;
    vt_str_t ref = VT_STR_NULL;
    if ((e = reference_of_text(&r->arena, sim.transcript_json, &ref)) ||
        (e = eval_target(r, VT_TARGET_SIMULATION, sim.simulation_id, ref, VT_STR_NULL, &m))) {
        reply_eval_error(r, e);
        return;
    }
    reply_outputs(r, sim.simulation_id, &m);
}

void vt_api_convs_metrics(vt_req_t *r) {
    vt_store_t *st = store_of(r);
    vt_conversation_t c;
    vt_err_t e = st->ops->conv_get(st, r->auth.org_id, param_id(r), &r->arena, &c);
    if (e) {
        vt_api_store_error(r, e, "Conversation");
        return;
    }
    vt_api_metric_results_t m = {0};
    if (!output_defs(r, NULL, &m.defs, &m.n))
        return;
    json_t *doc = c.doc_json ? json_loads(c.doc_json, 0, NULL) : NULL;
    vt_str_t tref, uref;
    /* The references point into doc, which lives until the reply is written. */
    if ((e = conv_references(r, doc, &tref, &uref)) ||
        (e = eval_target(r, VT_TARGET_CONVERSATION, c.conversation_id, tref, uref, &m)))
        reply_eval_error(r, e);
    else
        reply_outputs(r, c.conversation_id, &m);
    json_decref(doc);
}

void vt_api_runs_metrics(vt_req_t *r) {
    vt_store_t *st = store_of(r);
    vt_run_t run;
    vt_err_t e = st->ops->run_get(st, r->auth.org_id, param_id(r), &r->arena, &run);
    if (e) {
        vt_api_store_error(r, e, "Run");
        return;
    }
    vt_metric_def_t *defs = NULL;
    size_t n = 0;
    if (!output_defs(r, run.metric_ids_json ? run.metric_ids_json : "[]", &defs, &n))
        return;
    vt_api_run_eval_t ev;
    if ((e = vt_api_run_eval(r, &run, defs, n, &ev))) {
        reply_eval_error(r, e);
        vt_api_run_eval_free(&ev);
        return;
    }
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "run_id");
    vt_jw_cstr(&w, run.run_id);
    vt_jw_key(&w, "metrics");
    vt_jw_arr_begin(&w);
    for (size_t d = 0; d < n; d++) {
        vt_jw_obj_begin(&w);
        vt_jw_key(&w, "metric_id");
        vt_jw_cstr(&w, defs[d].metric_id);
        vt_jw_key(&w, "metric_name");
        vt_jw_cstr(&w, defs[d].metric_name);
        vt_jw_key(&w, "unit");
        vt_jw_cstr(&w, defs[d].unit);
        double avg;
        vt_jw_key(&w, "average");
        if (vt_api_run_eval_average(&ev, d, &avg))
            vt_jw_double(&w, avg);
        else
            vt_jw_null(&w);
        vt_jw_key(&w, "simulations");
        vt_jw_arr_begin(&w);
        for (size_t s = 0; s < ev.n_sims; s++) {
            const vt_api_metric_cell_t *c = &ev.cells[d * ev.n_sims + s];
            vt_jw_obj_begin(&w);
            vt_jw_key(&w, "simulation_id");
            vt_jw_cstr(&w, ev.sim_ids[s]);
            vt_jw_key(&w, "value");
            write_value(&w, c->status, c->value);
            vt_jw_key(&w, "status");
            vt_jw_cstr(&w, status_name(c->status));
            vt_jw_key(&w, "result");
            vt_jw_cstr(&w, result_name(c->result));
            vt_jw_obj_end(&w);
        }
        vt_jw_arr_end(&w);
        vt_jw_obj_end(&w);
    }
    vt_jw_arr_end(&w);
    vt_jw_obj_end(&w);
    vt_api_run_eval_free(&ev);
    vt_req_reply_json(r, 200);
}
