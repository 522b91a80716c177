/*
 * simulations.c - simulations: one test call of a run, the target of X-Simulation-Id. A harness
 * creates one per call, lists them per run, and PATCHes status/result when the call ends.
 */
#include <stdio.h>

#include "../core/ulid.h"
#include "api.h"
#include "filter.h"
#include "metrics.h"
#include "paging.h"

#define SIMS_MAX_PAGE 100

/* Supplied simulation ids: 1-64 characters of [A-Za-z0-9_.-]. */
static bool sim_id_valid(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

static const char *const sim_statuses[] = {"PENDING", "IN PROGRESS", "COMPLETED", "FAILED",
                                           "CANCELLED"};
static const char *const sim_results[] = {"PASSED", "FAILED"};

/* Accepts one of the allowed values ("IN_PROGRESS" is read as "IN PROGRESS"); NULL if none. */
static const char *enum_value(const char *v, const char *const *allowed, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const char *a = allowed[i];
        size_t k = 0;
        while (a[k] && v[k] && (a[k] == v[k] || (a[k] == ' ' && v[k] == '_')))
            k++;
        if (!a[k] && !v[k])
            return a;
    }
    return NULL;
}

/* Writes one simulation object. m holds the values of its run's metrics; lists pass NULL and
 * leave metric_values out, since computing it means reading every listed simulation's spans
 * (docs/api.md says where to get them instead). */
static void write_sim(vt_req_t *r, vt_jw_t *w, const vt_simulation_t *s,
                      const vt_api_metric_results_t *m) {
    vt_jw_obj_begin(w);
    vt_jw_key(w, "simulation_id");
    vt_jw_cstr(w, s->simulation_id);
    vt_jw_key(w, "run_id");
    vt_jw_cstr(w, s->run_id);
    vt_jw_key(w, "status");
    vt_jw_cstr(w, s->status);
    vt_jw_key(w, "result");
    vt_jw_cstr(w, s->result);
    vt_jw_key(w, "test_case_id");
    vt_jw_cstr(w, s->test_case_id);
    vt_jw_key(w, "create_time");
    vt_jw_cstr(w, vt_api_time(r, s->create_ms));
    vt_jw_key(w, "update_time");
    vt_jw_cstr(w, vt_api_time(r, s->update_ms));
    vt_api_raw_field(w, "transcript", s->transcript_json, "[]");
    vt_api_raw_field(w, "metadata", s->metadata_json, "{}");
    vt_jw_key(w, "span_count");
    vt_jw_int(w, s->span_count);
    if (m)
        vt_api_write_metric_values(w, m, false);
    vt_jw_obj_end(w);
}

/* Replies {"simulation":{...}} with the values of its run's metrics, computed from its spans
 * as they are now. */
static void reply_sim(vt_req_t *r, const vt_simulation_t *s) {
    vt_api_metric_results_t m;
    vt_err_t e = vt_api_sim_metrics(r, s, &m);
    if (e) {
        vt_api_store_error(r, e, "Simulation metrics");
        return;
    }
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "simulation");
    write_sim(r, &w, s, &m);
    vt_jw_obj_end(&w);
    vt_req_reply_json(r, 200);
}

static const char *param_id(vt_req_t *r) {
    return vt_arena_strndup(&r->arena, r->params[0].p, r->params[0].n);
}

void vt_api_sims_create(vt_req_t *r) {
    json_t *body = vt_api_parse_object(r);
    if (!body)
        return;
    char id[VT_ULID_LEN + 1];
    vt_ulid_new(id);
    vt_simulation_t sim = {.simulation_id = id, .status = "PENDING"};
    sim.create_ms = sim.update_ms = vt_api_now_ms();
    const char *status = NULL;
    if (!vt_api_get_string(r, body, "run_id", true, 64, &sim.run_id) ||
        !vt_api_get_string(r, body, "simulation_id", false, 64, &sim.simulation_id) ||
        !vt_api_get_string(r, body, "test_case_id", false, 256, &sim.test_case_id) ||
        !vt_api_get_string(r, body, "status", false, 32, &status) ||
        !vt_api_get_array_text(r, body, "transcript", &sim.transcript_json) ||
        !vt_api_get_object_text(r, body, "metadata", &sim.metadata_json))
        goto out;
    if (!sim_id_valid(sim.simulation_id)) {
        vt_req_reply_error(r, VT_EINVAL,
                           "Invalid field simulation_id: use 1-64 of A-Z a-z 0-9 _ . -",
                           "simulation_id", "must be 1-64 characters of A-Z a-z 0-9 _ . -");
        goto out;
    }
    if (status) {
        sim.status = enum_value(status, sim_statuses, VT_ARRAY_LEN(sim_statuses));
        if (!sim.status) {
            vt_req_reply_error(r, VT_EINVAL, "Invalid field status", "status",
                               "must be one of PENDING, IN PROGRESS, COMPLETED, FAILED, CANCELLED");
            goto out;
        }
    }
    vt_store_t *st = vt_api_app(r)->store;
    vt_err_t e = st->ops->sim_create(st, r->auth.org_id, &sim);
    if (e == VT_ENOTFOUND) {
        vt_req_reply_error(r, VT_ENOTFOUND, "Run not found", "run_id", "no such run");
        goto out;
    }
    if (e) {
        vt_api_store_error(r, e, "Simulation");
        goto out;
    }
    reply_sim(r, &sim);
out:
    json_decref(body);
}

void vt_api_sims_get(vt_req_t *r) {
    vt_store_t *st = vt_api_app(r)->store;
    vt_simulation_t sim;
    vt_err_t e = st->ops->sim_get(st, r->auth.org_id, param_id(r), &r->arena, &sim);
    if (e) {
        vt_api_store_error(r, e, "Simulation");
        return;
    }
    reply_sim(r, &sim);
}

void vt_api_sims_list(vt_req_t *r) {
    vt_filter_t f;
    vt_page_t pg;
    if (!vt_filter_from_query(r, &f) || !vt_paging_from_query(r, SIMS_MAX_PAGE, &pg))
        return;
    for (size_t i = 0; i < f.n; i++) {
        if (strcmp(f.terms[i].field, "run_id") != 0) {
            vt_filter_reply_unsupported(r, f.terms[i].field, "run_id");
            return;
        }
    }
    /* A run of another org, or none at all, simply has no simulations here: an empty list. */
    const char *run_id = vt_filter_get(&f, "run_id");
    vt_store_t *st = vt_api_app(r)->store;
    vt_simulation_t *sims;
    size_t n;
    const char *next;
    vt_err_t e = st->ops->sim_list(st, r->auth.org_id, run_id, &pg, &r->arena, &sims, &n, &next);
    if (e) {
        vt_paging_reply_list_error(r, e, "Simulations");
        return;
    }
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "simulations");
    vt_jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
        write_sim(r, &w, &sims[i], NULL);
    vt_jw_arr_end(&w);
    if (!vt_paging_write_next(r, &w, next)) {
        vt_req_reply_error(r, VT_ENOMEM, "Out of memory while listing simulations", NULL, NULL);
        return;
    }
    vt_jw_obj_end(&w);
    vt_req_reply_json(r, 200);
}

/* Reads an enum field of a PATCH body into *out (unchanged when absent or null). */
static bool patch_enum(vt_req_t *r, json_t *body, const char *field, const char *const *allowed,
                       size_t n, const char *allowed_text, const char **out) {
    const char *v = NULL;
    if (!vt_api_get_string(r, body, field, false, 32, &v))
        return false;
    if (!v)
        return true;
    const char *canon = enum_value(v, allowed, n);
    if (!canon) {
        char desc[128], msg[160];
        snprintf(desc, sizeof desc, "must be one of %s", allowed_text);
        snprintf(msg, sizeof msg, "Invalid field %s: %s", field, desc);
        vt_req_reply_error(r, VT_EINVAL, msg, field, desc);
        return false;
    }
    *out = canon;
    return true;
}

void vt_api_sims_patch(vt_req_t *r) {
    json_t *body = vt_api_parse_object(r);
    if (!body)
        return;
    static const char *const patchable[] = {"status", "result", "transcript", "metadata"};
    if (!vt_api_patch_keys_check(r, body, patchable, VT_ARRAY_LEN(patchable)))
        goto out;
    vt_store_t *st = vt_api_app(r)->store;
    vt_simulation_t sim;
    vt_err_t e = st->ops->sim_get(st, r->auth.org_id, param_id(r), &r->arena, &sim);
    if (e) {
        vt_api_store_error(r, e, "Simulation");
        goto out;
    }
    if (!patch_enum(r, body, "status", sim_statuses, VT_ARRAY_LEN(sim_statuses),
                    "PENDING, IN PROGRESS, COMPLETED, FAILED, CANCELLED", &sim.status) ||
        !patch_enum(r, body, "result", sim_results, VT_ARRAY_LEN(sim_results), "PASSED, FAILED",
                    &sim.result) ||
        !vt_api_get_array_text(r, body, "transcript", &sim.transcript_json) ||
        !vt_api_get_object_text(r, body, "metadata", &sim.metadata_json))
        goto out;
    sim.update_ms = vt_api_now_ms();
    e = st->ops->sim_update(st, r->auth.org_id, &sim);
    if (e) {
        vt_api_store_error(r, e, "Simulation");
        goto out;
    }
    reply_sim(r, &sim);
out:
    json_decref(body);
}

void vt_api_sims_delete(vt_req_t *r) {
    vt_store_t *st = vt_api_app(r)->store;
    vt_err_t e = st->ops->sim_delete(st, r->auth.org_id, param_id(r));
    if (e) {
        vt_api_store_error(r, e, "Simulation");
        return;
    }
    vt_buf_append_c(&r->resp, "{}");
    vt_req_reply_json(r, 200);
}
