/*
 * web_asset.h - the UI's files as the binary carries them, and the two rules that both the build
 * and the server must agree on: the content type of a file (by its extension) and its ETag (a
 * hash of its bytes).
 *
 * tools/embed_web.c includes this header to bake content types and ETags into
 * build/gen/web_assets.c; ui.c includes it to serve that table, and to compute the same values
 * for files it reads from --web-dir. Keeping both rules here, header-only, is what makes a file
 * served from disk carry the same ETag as its embedded copy.
 */
#ifndef VT_WEB_ASSET_H
#define VT_WEB_ASSET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* One embedded file. path is relative to web/ without a leading '/' ("index.html",
 * "trace/viewer.js"); etag is the quoted strong validator sent in the ETag header. */
typedef struct {
    const char *path;
    const char *content_type;
    const unsigned char *data;
    size_t len;
    const char *etag;
} vt_web_asset_t;

/* The generated table (build/gen/web_assets.c), sorted by path (bytewise), vt_web_assets_count
 * entries followed by one whose path is NULL. */
extern const vt_web_asset_t vt_web_assets[];
extern const size_t vt_web_assets_count;

/* Length of an ETag as vt_web_etag writes it: a quoted 16-digit hex number. */
#define VT_WEB_ETAG_LEN 18

/* The content type of a UI file by its extension, or NULL when the extension is not one the UI
 * uses. Text types name their charset: the files are UTF-8 and a browser must not guess. */
static inline const char *vt_web_content_type(const char *path) {
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".webp", "image/webp"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (!dot)
        return NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

/* Writes the ETag of a file's bytes into out (VT_WEB_ETAG_LEN + 1 bytes): 64-bit FNV-1a, which
 * is enough to tell versions of one file apart; it is a cache validator, not a security check. */
static inline void vt_web_etag(const unsigned char *p, size_t n, char out[VT_WEB_ETAG_LEN + 1]) {
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3u;
    }
    snprintf(out, VT_WEB_ETAG_LEN + 1, "\"%016llx\"", (unsigned long long)h);
}

#endif
