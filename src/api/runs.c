/*
 * runs.c - runs: a test run groups the simulations (one per test call) of one harness run.
 */
#include "../core/ulid.h"
#include "api.h"

static void write_run(vt_req_t *r, const vt_run_t *run) {
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "run");
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "run_id");
    vt_jw_cstr(&w, run->run_id);
    vt_jw_key(&w, "display_name");
    vt_jw_cstr(&w, run->display_name);
    vt_jw_key(&w, "status");
    vt_jw_cstr(&w, run->status);
    vt_jw_key(&w, "create_time");
    vt_jw_cstr(&w, vt_api_time(r, run->create_ms));
    vt_jw_key(&w, "update_time");
    vt_jw_cstr(&w, vt_api_time(r, run->update_ms));
    vt_api_raw_field(&w, "metadata", run->metadata_json, "{}");
    vt_api_raw_field(&w, "metric_ids", run->metric_ids_json, "[]");
    vt_jw_obj_end(&w);
    vt_jw_obj_end(&w);
    vt_req_reply_json(r, 200);
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
        !vt_api_get_array_text(r, body, "metric_ids", &run.metric_ids_json))
        goto out;
    vt_store_t *st = vt_api_app(r)->store;
    vt_err_t e = st->ops->run_create(st, r->auth.org_id, &run);
    if (e) {
        vt_api_store_error(r, e, "Run");
        goto out;
    }
    write_run(r, &run);
out:
    json_decref(body);
}

void vt_api_runs_get(vt_req_t *r) {
    const char *id = vt_arena_strndup(&r->arena, r->params[0].p, r->params[0].n);
    vt_store_t *st = vt_api_app(r)->store;
    vt_run_t run;
    vt_err_t e = st->ops->run_get(st, r->auth.org_id, id, &r->arena, &run);
    if (e) {
        vt_api_store_error(r, e, "Run");
        return;
    }
    write_run(r, &run);
}
