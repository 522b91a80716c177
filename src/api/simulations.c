/*
 * simulations.c - simulations: one test call of a run, the target of X-Simulation-Id.
 */
#include "../core/ulid.h"
#include "api.h"

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

static void write_sim(vt_req_t *r, const vt_simulation_t *s) {
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "simulation");
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "simulation_id");
    vt_jw_cstr(&w, s->simulation_id);
    vt_jw_key(&w, "run_id");
    vt_jw_cstr(&w, s->run_id);
    vt_jw_key(&w, "status");
    vt_jw_cstr(&w, s->status);
    vt_jw_key(&w, "result");
    vt_jw_cstr(&w, s->result);
    vt_jw_key(&w, "test_case_id");
    vt_jw_cstr(&w, s->test_case_id);
    vt_jw_key(&w, "create_time");
    vt_jw_cstr(&w, vt_api_time(r, s->create_ms));
    vt_jw_key(&w, "update_time");
    vt_jw_cstr(&w, vt_api_time(r, s->update_ms));
    vt_api_raw_field(&w, "transcript", s->transcript_json, "[]");
    vt_api_raw_field(&w, "metadata", s->metadata_json, "{}");
    vt_jw_key(&w, "span_count");
    vt_jw_int(&w, s->span_count);
    vt_jw_obj_end(&w);
    vt_jw_obj_end(&w);
    vt_req_reply_json(r, 200);
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
        vt_req_reply_error(r, VT_EINVAL, "Invalid field simulation_id: use 1-64 of A-Z a-z 0-9 _ . -",
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
    write_sim(r, &sim);
out:
    json_decref(body);
}

void vt_api_sims_get(vt_req_t *r) {
    const char *id = vt_arena_strndup(&r->arena, r->params[0].p, r->params[0].n);
    vt_store_t *st = vt_api_app(r)->store;
    vt_simulation_t sim;
    vt_err_t e = st->ops->sim_get(st, r->auth.org_id, id, &r->arena, &sim);
    if (e) {
        vt_api_store_error(r, e, "Simulation");
        return;
    }
    write_sim(r, &sim);
}
