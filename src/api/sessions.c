/*
 * sessions.c - signing in to the UI with an API key (DESIGN.md 5.7): POST /v1/sessions sets the
 * session cookie, GET /v1/sessions says who is signed in, DELETE /v1/sessions signs out. The
 * cookie itself is made and checked in src/http/session.c, where the server authenticates.
 *
 * The cookie is HttpOnly (scripts cannot read it) and SameSite=Strict (browsers send it only on
 * requests from this origin's own pages). It has no Secure attribute because voxtrace speaks
 * plain HTTP; behind a TLS-terminating proxy, the proxy should add it.
 */
#include <stdio.h>

#include "../http/session.h"
#include "api.h"

/* Writes {"org":{"slug","name"},"scopes":[...]} for the caller's org and scopes. */
static void reply_session(vt_req_t *r, int64_t org_id, uint32_t scopes) {
    vt_store_t *st = vt_api_app(r)->store;
    vt_org_t org;
    vt_err_t e = st->ops->org_get_by_id(st, org_id, &r->arena, &org);
    if (e) {
        vt_api_store_error(r, e, "Org");
        return;
    }
    char names[64];
    vt_auth_scopes_format(scopes, names, sizeof names);
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "org");
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "slug");
    vt_jw_cstr(&w, org.slug);
    vt_jw_key(&w, "name");
    vt_jw_cstr(&w, org.name);
    vt_jw_obj_end(&w);
    vt_jw_key(&w, "scopes");
    vt_jw_arr_begin(&w);
    for (const char *p = names; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        vt_jw_str(&w, (vt_str_t){p, n});
        p += n + (end ? 1 : 0);
    }
    vt_jw_arr_end(&w);
    vt_jw_obj_end(&w);
    vt_req_reply_json(r, 200);
}

void vt_api_sessions_create(vt_req_t *r) {
    /* Public route, so the server's CSRF check does not run: without this, another site could
     * sign a visitor's browser in to the other site's org (login CSRF). */
    const char *ui = vt_req_header(r, VT_UI_HEADER);
    if (!ui || strcmp(ui, "1") != 0) {
        vt_req_reply_error(r, VT_EPERM, "missing CSRF header: send " VT_UI_HEADER ": 1", NULL,
                           NULL);
        return;
    }
    json_t *body = vt_api_parse_object(r);
    if (!body)
        return;
    const char *key = NULL;
    if (!vt_api_get_string(r, body, "api_key", true, 256, &key))
        goto out;
    char value[VT_SESSION_VALUE_LEN + 1], err[160];
    int64_t org_id;
    uint32_t scopes;
    vt_err_t e = vt_session_issue(vt_api_app(r)->store, &r->arena, vt_str_c(key),
                                  (int64_t)(vt_now_ns() / 1000000000u), value, &org_id, &scopes,
                                  err, sizeof err);
    if (e) {
        vt_req_reply_error(r, e, err, e == VT_EUNAUTH ? "api_key" : NULL, NULL);
        goto out;
    }
    const char *cookie = vt_arena_printf(
        &r->arena, VT_SESSION_COOKIE "=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict", value,
        VT_SESSION_TTL_S);
    if (!cookie) {
        vt_req_reply_error(r, VT_ENOMEM, "Out of memory", NULL, NULL);
        goto out;
    }
    reply_session(r, org_id, scopes);
    if (r->status == 200)
        vt_req_add_header(r, "Set-Cookie", cookie);
out:
    json_decref(body);
}

void vt_api_sessions_get(vt_req_t *r) {
    /* Being signed out is an answer, not an error: the UI asks on every page load, and a 401
     * there would show as a failed request in the browser for every visitor. */
    if (r->auth.org_id == 0) {
        vt_buf_append_c(&r->resp, "{\"org\":null,\"scopes\":[]}");
        vt_req_reply_json(r, 200);
        return;
    }
    reply_session(r, r->auth.org_id, r->auth.scopes);
}

void vt_api_sessions_delete(vt_req_t *r) {
    /* Public: signing out must work with an expired or broken cookie too. */
    vt_req_add_header(r, "Set-Cookie",
                      VT_SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    vt_buf_append_c(&r->resp, "{}");
    vt_req_reply_json(r, 200);
}
