/*
 * paging.c - page sizes and page tokens. The token is only an encoding of the store's cursor:
 * nothing is kept between requests, so any node can serve the next page. A token that was
 * tampered with but still decodes is harmless: the store binds the cursor as a parameter, and
 * either rejects it (a 400 here) or answers some other page.
 */
#include "paging.h"

#include "api.h"

#include <sodium.h>
#include <stdio.h>

#define TOKEN_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

vt_err_t vt_paging_size(const char *text, size_t def, size_t max, size_t *out, char *err,
                        size_t errlen) {
    if (!text) {
        *out = VT_MIN(def, max);
        return VT_OK;
    }
    if (!*text) {
        snprintf(err, errlen, "must be a number");
        return VT_EINVAL;
    }
    size_t v = 0;
    for (const char *c = text; *c; c++) {
        if (*c == '-' && c == text) {
            snprintf(err, errlen, "must not be negative");
            return VT_EINVAL;
        }
        if (*c < '0' || *c > '9') {
            snprintf(err, errlen, "must be a number");
            return VT_EINVAL;
        }
        /* Saturate instead of overflowing: anything above max is clamped anyway. */
        if (v <= max)
            v = v * 10 + (size_t)(*c - '0');
    }
    *out = v == 0 ? VT_MIN(def, max) : VT_MIN(v, max);
    return VT_OK;
}

char *vt_paging_token_encode(vt_arena_t *a, const char *cursor) {
    size_t n = strlen(cursor);
    size_t len = sodium_base64_ENCODED_LEN(n, TOKEN_VARIANT);
    char *out = vt_arena_alloc(a, len);
    if (!out)
        return NULL;
    sodium_bin2base64(out, len, (const unsigned char *)cursor, n, TOKEN_VARIANT);
    return out;
}

vt_err_t vt_paging_token_decode(vt_arena_t *a, const char *token, const char **cursor, char *err,
                                size_t errlen) {
    size_t n = strlen(token);
    if (n == 0 || n > VT_PAGING_MAX_TOKEN) {
        snprintf(err, errlen, "is not a page token from this API (wrong length)");
        return VT_EINVAL;
    }
    /* Decoding 4 characters gives at most 3 bytes; one more for the terminator. */
    size_t max = n / 4 * 3 + 3;
    unsigned char *bin = vt_arena_alloc(a, max + 1);
    if (!bin)
        return VT_ENOMEM;
    size_t bin_len = 0;
    /* With no end pointer libsodium fails unless the whole token is canonical base64url. */
    if (sodium_base642bin(bin, max, token, n, NULL, &bin_len, NULL, TOKEN_VARIANT) != 0 ||
        bin_len == 0 || memchr(bin, '\0', bin_len)) {
        snprintf(err, errlen, "is not a page token from this API");
        return VT_EINVAL;
    }
    bin[bin_len] = '\0';
    *cursor = (const char *)bin;
    return VT_OK;
}

bool vt_paging_from_query(vt_req_t *r, size_t max, vt_page_t *pg) {
    char why[96], msg[160];
    pg->after = NULL;
    if (vt_paging_size(vt_req_query(r, "page_size"), VT_PAGING_DEFAULT_SIZE, max, &pg->page_size,
                       why, sizeof why) != VT_OK) {
        snprintf(msg, sizeof msg, "Invalid page_size: %s", why);
        vt_req_reply_error(r, VT_EINVAL, msg, "page_size", why);
        return false;
    }
    const char *token = vt_req_query(r, "page_token");
    if (!token || !*token) /* "" is what the last page hands out: start over like no token */
        return true;
    vt_err_t e = vt_paging_token_decode(&r->arena, token, &pg->after, why, sizeof why);
    if (e == VT_ENOMEM) {
        vt_req_reply_error(r, VT_ENOMEM, "Out of memory while reading page_token", NULL, NULL);
        return false;
    }
    if (e) {
        snprintf(msg, sizeof msg, "Invalid page_token: %s", why);
        vt_req_reply_error(r, VT_EINVAL, msg, "page_token", why);
        return false;
    }
    return true;
}

void vt_paging_reply_list_error(vt_req_t *r, vt_err_t e, const char *what) {
    if (e == VT_EINVAL) {
        vt_req_reply_error(r, VT_EINVAL, "Invalid page_token: is not a page token from this API",
                           "page_token", "is not a page token from this API");
        return;
    }
    vt_api_store_error(r, e, what);
}

bool vt_paging_write_next(vt_req_t *r, vt_jw_t *w, const char *next) {
    const char *token = next ? vt_paging_token_encode(&r->arena, next) : "";
    if (!token)
        return false;
    vt_jw_key(w, "next_page_token");
    vt_jw_cstr(w, token);
    return true;
}
