/*
 * ui.c - the web dashboard's files: path rules, the embedded table, --web-dir on disk, and the
 * headers every UI response carries (see ui.h).
 */
#include "ui.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"

/* ---- paths -------------------------------------------------------------------------------- */

vt_ui_path_kind_t vt_ui_classify(const char *path, vt_str_t *rel) {
    *rel = VT_STR_NULL;
    if (path[0] != '/')
        return VT_UI_PATH_BAD;
    if (strncmp(path, "/v1", 3) == 0 && (path[3] == '\0' || path[3] == '/'))
        return VT_UI_PATH_API;
    if (path[1] == '\0') {
        *rel = VT_STR("index.html");
        return VT_UI_PATH_FILE;
    }
    const char *start = path + 1, *last = start;
    for (const char *seg = start;;) {
        const char *end = seg;
        while (*end && *end != '/')
            end++;
        /* An empty segment is allowed only at the very end ("/default/runs/"). Dot segments and
         * hidden files are never the UI's; refusing them here is what keeps --web-dir inside its
         * folder (symbolic links are checked when the file is opened). */
        if ((end == seg && *end) || *seg == '.')
            return VT_UI_PATH_BAD;
        for (const char *c = seg; c < end; c++)
            if (*c == '\\' || (unsigned char)*c < 0x20 || *c == 0x7f)
                return VT_UI_PATH_BAD;
        last = seg;
        if (!*end)
            break;
        seg = end + 1;
    }
    *rel = vt_str_c(start);
    return *last && vt_web_content_type(last) ? VT_UI_PATH_FILE : VT_UI_PATH_PAGE;
}

const vt_web_asset_t *vt_ui_find(const vt_web_asset_t *table, size_t n, vt_str_t rel) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *p = table[mid].path;
        size_t pn = strlen(p);
        int c = memcmp(rel.p, p, VT_MIN(rel.n, pn));
        if (c == 0)
            c = rel.n < pn ? -1 : rel.n > pn ? 1 : 0;
        if (c == 0)
            return &table[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

vt_err_t vt_ui_read_disk(const char *web_dir, vt_str_t rel, vt_buf_t *out) {
    vt_buf_reset(out);
    char root[PATH_MAX], joined[PATH_MAX], real[PATH_MAX];
    if (!realpath(web_dir, root))
        return VT_ENOTFOUND;
    int jn = snprintf(joined, sizeof joined, "%s/%.*s", root, (int)rel.n, rel.p);
    if (jn < 0 || (size_t)jn >= sizeof joined || !realpath(joined, real))
        return VT_ENOTFOUND;
    size_t rn = strlen(root);
    if (rn && root[rn - 1] == '/')
        rn--; /* the folder is "/" itself */
    if (strncmp(real, root, rn) != 0 || real[rn] != '/')
        return VT_ENOTFOUND;
    /* O_NOFOLLOW: real has no links left, so a link appearing now is a race to refuse. */
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return VT_ENOTFOUND;
    vt_err_t e = VT_OK;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        e = VT_ENOTFOUND;
        goto out;
    }
    if ((uint64_t)st.st_size > VT_UI_MAX_FILE) {
        e = VT_ETOOBIG;
        goto out;
    }
    char chunk[1 << 14];
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof chunk);
        if (got < 0) {
            e = VT_EINTERNAL;
            break;
        }
        if (got == 0)
            break;
        if (out->len + (size_t)got > VT_UI_MAX_FILE) {
            e = VT_ETOOBIG; /* it grew after fstat */
            break;
        }
        if ((e = vt_buf_append(out, chunk, (size_t)got)))
            break;
    }
out:
    close(fd);
    if (e)
        vt_buf_reset(out);
    return e;
}

bool vt_ui_etag_matches(const char *if_none_match, const char *etag) {
    size_t en = strlen(etag);
    const char *p = if_none_match;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *tag_end = end;
        while (tag_end > p && (tag_end[-1] == ' ' || tag_end[-1] == '\t'))
            tag_end--;
        /* If-None-Match compares weakly (RFC 9110 13.1.2): W/"x" matches "x". */
        const char *tag = p;
        if (tag_end - tag >= 2 && tag[0] == 'W' && tag[1] == '/')
            tag += 2;
        size_t tn = (size_t)(tag_end - tag);
        if ((tn == 1 && tag[0] == '*') || (tn == en && memcmp(tag, etag, en) == 0))
            return true;
        p = end;
    }
    return false;
}

/* ---- responses ---------------------------------------------------------------------------- */

static void add_security_headers(vt_req_t *r) {
    vt_req_add_header(r, "Content-Security-Policy", VT_UI_CSP);
    vt_req_add_header(r, "X-Frame-Options", "DENY");
    vt_req_add_header(r, "Referrer-Policy", "no-referrer");
}

static void reply_text(vt_req_t *r, int status, const char *text) {
    vt_req_reply_bytes(r, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* Sets the caching headers and turns the response into a 304 when the browser's copy is current.
 * The body is already in r->resp. */
static void finish_file(vt_req_t *r, const char *content_type, const char *etag) {
    vt_req_add_header(r, "ETag", etag);
    /* no-cache: keep it, but ask every time; the ETag makes asking cheap. */
    vt_req_add_header(r, "Cache-Control", "no-cache");
    const char *inm = vt_req_header(r, "If-None-Match");
    if (inm && vt_ui_etag_matches(inm, etag)) {
        vt_buf_reset(&r->resp);
        r->status = 304;
        r->content_type = NULL;
        return;
    }
    r->status = 200;
    r->content_type = content_type;
}

/* A missing file falls back to the app's index.html, unless the path has a file extension and
 * the browser is not loading a page (Sec-Fetch-Dest: document): then it is a broken link to a
 * script, style or image, and a 404 says so. Browsers always send Sec-Fetch-Dest; without it
 * (curl, scripts) the extension alone decides. */
static bool falls_back_to_index(vt_req_t *r, vt_ui_path_kind_t kind) {
    if (kind != VT_UI_PATH_FILE)
        return true;
    const char *dest = vt_req_header(r, "Sec-Fetch-Dest");
    return dest && strcmp(dest, "document") == 0;
}

static void serve_embedded(vt_req_t *r, vt_str_t rel, vt_ui_path_kind_t kind) {
    const vt_web_asset_t *a = vt_ui_find(vt_web_assets, vt_web_assets_count, rel);
    if (!a && falls_back_to_index(r, kind)) {
        a = vt_ui_find(vt_web_assets, vt_web_assets_count, VT_STR("index.html"));
        if (!a) {
            reply_text(r, 404, "This build of voxtrace carries no UI (web/ had no index.html).\n");
            return;
        }
    }
    if (!a) {
        reply_text(r, 404, "Not found\n");
        return;
    }
    vt_buf_reset(&r->resp);
    if (vt_buf_append(&r->resp, a->data, a->len) != VT_OK) {
        vt_req_reply_error(r, VT_ENOMEM, "Out of memory", NULL, NULL);
        return;
    }
    finish_file(r, a->content_type, a->etag);
}

/* Reads one UI file from --web-dir into r->resp. Files of a type the UI does not use are not
 * served, just as the embed tool refuses them. */
static vt_err_t read_disk_file(vt_req_t *r, const char *web_dir, vt_str_t rel, const char **type) {
    const char *name = vt_arena_strndup(&r->arena, rel.p, rel.n);
    *type = name ? vt_web_content_type(name) : NULL;
    if (!*type)
        return VT_ENOTFOUND;
    return vt_ui_read_disk(web_dir, rel, &r->resp);
}

static void serve_disk(vt_req_t *r, const char *web_dir, vt_str_t rel, vt_ui_path_kind_t kind) {
    const char *type;
    vt_err_t e = read_disk_file(r, web_dir, rel, &type);
    if (e == VT_ENOTFOUND && falls_back_to_index(r, kind)) {
        e = read_disk_file(r, web_dir, VT_STR("index.html"), &type);
        if (e == VT_ENOTFOUND) {
            reply_text(r, 404, "No index.html in the --web-dir folder.\n");
            return;
        }
    }
    if (e == VT_ENOTFOUND) {
        reply_text(r, 404, "Not found\n");
        return;
    }
    if (e) {
        reply_text(r, e == VT_ETOOBIG ? 413 : 500, "Cannot read this UI file.\n");
        return;
    }
    char etag[VT_WEB_ETAG_LEN + 1];
    vt_web_etag((const unsigned char *)r->resp.data, r->resp.len, etag);
    const char *etag_copy = vt_arena_strndup(&r->arena, etag, VT_WEB_ETAG_LEN);
    if (!etag_copy) {
        vt_req_reply_error(r, VT_ENOMEM, "Out of memory", NULL, NULL);
        return;
    }
    finish_file(r, type, etag_copy);
}

void vt_api_ui_get(vt_req_t *r) {
    vt_str_t rel;
    vt_ui_path_kind_t kind = vt_ui_classify(r->path, &rel);
    if (kind == VT_UI_PATH_API) {
        vt_req_reply_error(r, VT_ENOTFOUND, "No such endpoint", NULL, NULL);
        return;
    }
    add_security_headers(r);
    if (kind == VT_UI_PATH_BAD) {
        reply_text(r, 404, "Not found\n");
        return;
    }
    const char *web_dir = vt_api_app(r)->web_dir;
    if (web_dir)
        serve_disk(r, web_dir, rel, kind);
    else
        serve_embedded(r, rel, kind);
}
