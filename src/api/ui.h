/*
 * ui.h - serving the web dashboard (DESIGN.md 6): the files of web/, either the copy embedded in
 * the binary at build time (web_asset.h) or, with `serve --web-dir DIR`, the files on disk, so
 * UI work needs no rebuild.
 *
 * The server calls vt_api_ui_get for every GET that no API route takes. A path names a UI file
 * when one exists there; every other path is a page of the single-page app and gets index.html,
 * whose scripts read the path themselves. Two exceptions answer 404: paths under /v1/ (an API
 * endpoint that does not exist must not look like a page), and a missing file with a known file
 * extension that the browser did not ask for as a page (a stale script URL should fail loudly, not
 * load HTML as JavaScript).
 *
 * Every UI response carries a strict Content-Security-Policy (no inline script or style, nothing
 * from other origins), X-Frame-Options DENY and Referrer-Policy no-referrer, an ETag and
 * Cache-Control: no-cache, so browsers revalidate with If-None-Match and get 304 while the file
 * has not changed.
 */
#ifndef VT_UI_H
#define VT_UI_H

#include "../core/buf.h"
#include "../http/server.h"
#include "web_asset.h"

/* The Content-Security-Policy of every UI response. */
#define VT_UI_CSP                                                                                  \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "        \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "             \
    "form-action 'self'"

/* Largest UI file served from --web-dir (the embed tool has the same cap). */
#define VT_UI_MAX_FILE ((size_t)8 << 20)

typedef enum {
    VT_UI_PATH_API,  /* "/v1" or under "/v1/": not the UI's */
    VT_UI_PATH_BAD,  /* not a path the UI ever has: "..", ".", empty or hidden segments, '\\' */
    VT_UI_PATH_FILE, /* the last segment has a known file extension: a file, if it exists */
    VT_UI_PATH_PAGE, /* anything else: a file if one exists, otherwise an app page */
} vt_ui_path_kind_t;

/* Classifies a request path (already percent-decoded, as libmicrohttpd hands it over) and sets
 * *rel to the path relative to web/ ("/" becomes "index.html"; rel points into path). */
vt_ui_path_kind_t vt_ui_classify(const char *path, vt_str_t *rel);

/* The embedded file at rel (relative to web/), by binary search in a table sorted by path;
 * NULL when there is none. The server passes vt_web_assets / vt_web_assets_count. */
const vt_web_asset_t *vt_ui_find(const vt_web_asset_t *table, size_t n, vt_str_t rel);

/* Reads web_dir/rel into out (out is reset first). rel must be a path vt_ui_classify accepted.
 * The file must be a regular file whose real path (symbolic links resolved) lies inside the real
 * path of web_dir: VT_ENOTFOUND otherwise, or when it does not exist; VT_ETOOBIG above
 * VT_UI_MAX_FILE. */
vt_err_t vt_ui_read_disk(const char *web_dir, vt_str_t rel, vt_buf_t *out);

/* True when an If-None-Match header value (a list of entity tags, weak ones included, or "*")
 * matches etag. */
bool vt_ui_etag_matches(const char *if_none_match, const char *etag);

/* The handler for unrouted GETs (vt_server_config_t.not_found). Serves from vt_app_t.web_dir when
 * it is set, from the embedded table otherwise. */
void vt_api_ui_get(vt_req_t *r);

#endif
