/*
 * routes.c - the route table of the HTTP API, and the health check.
 */
#include "api.h"

const vt_route_t vt_api_routes[] = {
    {"GET", "/healthz", vt_api_health, 0, VT_ROUTE_PUBLIC},
    {"POST", "/v1/traces", vt_api_traces_post, VT_SCOPE_TRACES_WRITE, VT_ROUTE_OTLP},
    {"GET", "/v1/traces/spans", vt_api_traces_spans, VT_SCOPE_READ, 0},
    {"GET", "/v1/traces/summary", vt_api_traces_summary, VT_SCOPE_READ, 0},
    {"GET", "/v1/traces/export", vt_api_traces_export, VT_SCOPE_READ, 0},
    {"POST", "/v1/traces/search", vt_api_traces_search, VT_SCOPE_READ, 0},
    {"POST", "/v1/runs", vt_api_runs_create, VT_SCOPE_WRITE, 0},
    {"GET", "/v1/runs", vt_api_runs_list, VT_SCOPE_READ, 0},
    {"GET", "/v1/runs/{}", vt_api_runs_get, VT_SCOPE_READ, 0},
    {"GET", "/v1/runs/{}/hotspots", vt_api_runs_hotspots, VT_SCOPE_READ, 0},
    {"DELETE", "/v1/runs/{}", vt_api_runs_delete, VT_SCOPE_WRITE, 0},
    {"POST", "/v1/simulations", vt_api_sims_create, VT_SCOPE_WRITE, 0},
    {"GET", "/v1/simulations", vt_api_sims_list, VT_SCOPE_READ, 0},
    {"GET", "/v1/simulations/{}", vt_api_sims_get, VT_SCOPE_READ, 0},
    {"PATCH", "/v1/simulations/{}", vt_api_sims_patch, VT_SCOPE_WRITE, 0},
    {"DELETE", "/v1/simulations/{}", vt_api_sims_delete, VT_SCOPE_WRITE, 0},
    {"POST", "/v1/conversations:submit", vt_api_convs_submit, VT_SCOPE_WRITE, 0},
    {"POST", "/v1/conversations:upload", vt_api_convs_upload, VT_SCOPE_WRITE, 0},
    {"GET", "/v1/conversations", vt_api_convs_list, VT_SCOPE_READ, 0},
    {"GET", "/v1/conversations/{}", vt_api_convs_get, VT_SCOPE_READ, 0},
    {"PATCH", "/v1/conversations/{}", vt_api_convs_patch, VT_SCOPE_WRITE, 0},
    {"DELETE", "/v1/conversations/{}", vt_api_convs_delete, VT_SCOPE_WRITE, 0},
    {"GET", "/v1/conversations/{}/audio", vt_api_convs_audio, VT_SCOPE_READ, 0},
    {"POST", "/v1/metrics", vt_api_metrics_create, VT_SCOPE_WRITE, 0},
    {"GET", "/v1/metrics", vt_api_metrics_list, VT_SCOPE_READ, 0},
    {"GET", "/v1/metrics/{}", vt_api_metrics_get, VT_SCOPE_READ, 0},
    {"PATCH", "/v1/metrics/{}", vt_api_metrics_patch, VT_SCOPE_WRITE, 0},
    {"DELETE", "/v1/metrics/{}", vt_api_metrics_delete, VT_SCOPE_WRITE, 0},
    {"GET", "/v1/simulations/{}/metrics", vt_api_sims_metrics, VT_SCOPE_READ, 0},
    {"GET", "/v1/conversations/{}/metrics", vt_api_convs_metrics, VT_SCOPE_READ, 0},
    {"GET", "/v1/runs/{}/metrics", vt_api_runs_metrics, VT_SCOPE_READ, 0},
    {"POST", "/v1/sessions", vt_api_sessions_create, 0, VT_ROUTE_PUBLIC},
    {"GET", "/v1/sessions", vt_api_sessions_get, 0, VT_ROUTE_AUTH_OPTIONAL},
    {"DELETE", "/v1/sessions", vt_api_sessions_delete, 0, VT_ROUTE_PUBLIC},
    {NULL, NULL, NULL, 0, 0},
};

void vt_api_health(vt_req_t *r) {
    vt_buf_append_c(&r->resp, "{\"status\":\"ok\"}");
    vt_req_reply_json(r, 200);
}
