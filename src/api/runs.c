/*
 * runs.c - runs: a test run groups the simulations (one per test call) of one harness run.
 *
 * A run's progress and, once it has simulations, its status are not stored: they are derived
 * from its simulations' status/result counts on every read, so they can never disagree with the
 * simulations a harness PATCHes one by one.
 */
#include "../core/ulid.h"
#include "api.h"
#include "metrics.h"
#include "paging.h"

#define RUNS_MAX_PAGE 100

/* Progress figures of a run, from its simulation counts. */
typedef struct {
    int64_t total, completed, failed, in_progress;
} run_progress_t;

static bool str_is(const char *s, const char *v) {
    return s && strcmp(s, v) == 0;
}

static run_progress_t progress_of(const vt_sim_count_t *counts, size_t n) {
    run_progress_t p = {0};
    for (size_t i = 0; i < n; i++) {
        const vt_sim_count_t *c = &counts[i];
        p.total += c->count;
        /* Finished, whichever way it ended. */
        if (str_is(c->status, "COMPLETED") || str_is(c->status, "FAILED") ||
            str_is(c->status, "CANCELLED"))
            p.completed += c->count;
        if (str_is(c->status, "FAILED") || str_is(c->result, "FAILED"))
            p.failed += c->count;
        if (str_is(c->status, "IN PROGRESS") || str_is(c->status, "PENDING"))
            p.in_progress += c->count;
    }
    return p;
}

/* The run's metrics (its metric_ids) and, once it has simulations, their evaluation. */
typedef struct {
    const vt_metric_def_t *defs;
    size_t n;
    const vt_api_run_eval_t *ev; /* NULL: no simulation evaluated, every average is null */
} run_metrics_t;

/* Writes one run object. counts are its simulation counts (n == 0: none yet). m carries its
 * metrics; lists pass NULL and leave metric_averages out (and count failed_test_cases by status
 * and result only), since averages mean reading every listed run's spans. */
static void write_run(vt_req_t *r, vt_jw_t *w, const vt_run_t *run, const vt_sim_count_t *counts,
                      size_t n, const run_metrics_t *m) {
    run_progress_t p = progress_of(counts, n);
    /* A simulation whose run metric misses its target condition is failed too (DESIGN 5.2);
     * the evaluation counted all three reasons, once per simulation. */
    if (m && m->ev)
        p.failed = m->ev->failed;
    const char *status = run->status;
    if (p.total)
        status = p.in_progress ? "IN PROGRESS" : "COMPLETED";
    vt_jw_obj_begin(w);
    vt_jw_key(w, "run_id");
    vt_jw_cstr(w, run->run_id);
    vt_jw_key(w, "display_name");
    vt_jw_cstr(w, run->display_name);
    vt_jw_key(w, "status");
    vt_jw_cstr(w, status);
    vt_jw_key(w, "create_time");
    vt_jw_cstr(w, vt_api_time(r, run->create_ms));
    vt_jw_key(w, "update_time");
    vt_jw_cstr(w, vt_api_time(r, run->update_ms));
    vt_api_raw_field(w, "metadata", run->metadata_json, "{}");
    vt_api_raw_field(w, "metric_ids", run->metric_ids_json, "[]");
    vt_jw_key(w, "progress");
    vt_jw_obj_begin(w);
    vt_jw_key(w, "total_test_cases");
    vt_jw_int(w, p.total);
    vt_jw_key(w, "completed_test_cases");
    vt_jw_int(w, p.completed);
    vt_jw_key(w, "failed_test_cases");
    vt_jw_int(w, p.failed);
    vt_jw_key(w, "in_progress_test_cases");
    vt_jw_int(w, p.in_progress);
    vt_jw_obj_end(w);
    if (m) {
        /* Average of each run metric over the simulations where it has a value; null where it
         * has none. */
        vt_jw_key(w, "metric_averages");
        vt_jw_obj_begin(w);
        for (size_t i = 0; i < m->n; i++) {
            double avg;
            vt_jw_key(w, m->defs[i].metric_id);
            if (m->ev && vt_api_run_eval_average(m->ev, i, &avg))
                vt_jw_double(w, avg);
            else
                vt_jw_null(w);
        }
        vt_jw_obj_end(w);
    }
    vt_jw_obj_end(w);
}

/* Replies {"run":{...}} after reading the run's simulation counts and evaluating its metrics
 * over its simulations. */
static void reply_run(vt_req_t *r, const vt_run_t *run, bool has_sims) {
    vt_sim_count_t *counts = NULL;
    size_t n = 0;
    vt_store_t *st = vt_api_app(r)->store;
    vt_metric_def_t *defs;
    run_metrics_t m = {0};
    vt_api_run_eval_t ev = {0};
    vt_err_t e = vt_api_metric_defs_of_ids(r, run->metric_ids_json, &defs, &m.n);
    m.defs = defs;
    if (!e && has_sims)
        e = st->ops->run_sim_counts(st, r->auth.org_id, run->run_id, &r->arena, &counts, &n);
    if (!e && n && m.n) {
        e = vt_api_run_eval(r, run, defs, m.n, &ev);
        m.ev = &ev;
    }
    if (e) {
        vt_api_store_error(r, e, "Run");
        goto out;
    }
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "run");
    write_run(r, &w, run, counts, n, &m);
    vt_jw_obj_end(&w);
    vt_req_reply_json(r, 200);
out:
    vt_api_run_eval_free(&ev);
}

static const char *param_id(vt_req_t *r) {
    return vt_arena_strndup(&r->arena, r->params[0].p, r->params[0].n);
}

void vt_api_runs_create(vt_req_t *r) {
    json_t *body = vt_api_parse_object(r);
    if (!body)
        return;
    char id[VT_ULID_LEN + 1];
    vt_ulid_new(id);
    vt_run_t run = {.run_id = id, .status = "PENDING"};
    run.create_ms = run.update_ms = vt_api_now_ms();
    if (!vt_api_get_string(r, body, "display_name", true, 256, &run.display_name) ||
        !vt_api_get_object_text(r, body, "metadata", &run.metadata_json) ||
        !vt_api_get_array_text(r, body, "metric_ids", &run.metric_ids_json) ||
        !vt_api_metric_ids_check(r, json_object_get(body, "metric_ids"), "metric_ids"))
        goto out;
    vt_store_t *st = vt_api_app(r)->store;
    vt_err_t e = st->ops->run_create(st, r->auth.org_id, &run);
    if (e) {
        vt_api_store_error(r, e, "Run");
        goto out;
    }
    reply_run(r, &run, false); /* a new run has no simulations yet */
out:
    json_decref(body);
}

void vt_api_runs_get(vt_req_t *r) {
    vt_store_t *st = vt_api_app(r)->store;
    vt_run_t run;
    vt_err_t e = st->ops->run_get(st, r->auth.org_id, param_id(r), &r->arena, &run);
    if (e) {
        vt_api_store_error(r, e, "Run");
        return;
    }
    reply_run(r, &run, true);
}

void vt_api_runs_list(vt_req_t *r) {
    const char *filter = vt_req_query(r, "filter");
    if (filter && *filter) {
        vt_req_reply_error(r, VT_EINVAL, "Invalid filter: runs cannot be filtered", "filter",
                           "runs cannot be filtered");
        return;
    }
    vt_page_t pg;
    if (!vt_paging_from_query(r, RUNS_MAX_PAGE, &pg))
        return;
    /* A runs cursor is the last run id of the previous page; anything else was not handed out. */
    if (pg.after && !vt_ulid_valid(vt_str_c(pg.after))) {
        vt_req_reply_error(r, VT_EINVAL, "Invalid page_token", "page_token",
                           "not a token this API handed out");
        return;
    }
    vt_store_t *st = vt_api_app(r)->store;
    vt_run_t *runs;
    size_t n;
    const char *next;
    vt_err_t e = st->ops->run_list(st, r->auth.org_id, &pg, &r->arena, &runs, &n, &next);
    if (e) {
        vt_paging_reply_list_error(r, e, "Runs");
        return;
    }
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "runs");
    vt_jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        /* One count query per run: a page holds at most RUNS_MAX_PAGE runs and each query
         * reads one run's simulations through an index. */
        vt_sim_count_t *counts;
        size_t nc;
        e = st->ops->run_sim_counts(st, r->auth.org_id, runs[i].run_id, &r->arena, &counts, &nc);
        if (e) {
            vt_api_store_error(r, e, "Runs");
            return;
        }
        write_run(r, &w, &runs[i], counts, nc, NULL);
    }
    vt_jw_arr_end(&w);
    if (!vt_paging_write_next(r, &w, next)) {
        vt_req_reply_error(r, VT_ENOMEM, "Out of memory while listing runs", NULL, NULL);
        return;
    }
    vt_jw_obj_end(&w);
    vt_req_reply_json(r, 200);
}

void vt_api_runs_delete(vt_req_t *r) {
    vt_store_t *st = vt_api_app(r)->store;
    vt_err_t e = st->ops->run_delete(st, r->auth.org_id, param_id(r));
    if (e) {
        vt_api_store_error(r, e, "Run");
        return;
    }
    vt_buf_append_c(&r->resp, "{}");
    vt_req_reply_json(r, 200);
}
