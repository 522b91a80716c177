/*
 * paging.h - page_size and page_token of list endpoints. A page token is the store's cursor
 * (vt_page_t.after) encoded as unpadded base64url, so clients treat it as opaque and it travels
 * in a query string without escaping.
 */
#ifndef VT_PAGING_H
#define VT_PAGING_H

#include "../core/arena.h"
#include "../core/buf.h"
#include "../http/server.h"

#define VT_PAGING_DEFAULT_SIZE 50
#define VT_PAGING_MAX_TOKEN 512 /* characters of a page token; longer ones are malformed */

/* Reads a page_size: NULL or "0" gives def; larger than max is clamped to max. Anything but
 * decimal digits (a sign, blanks, an empty string) is VT_EINVAL with the reason in err. */
vt_err_t vt_paging_size(const char *text, size_t def, size_t max, size_t *out, char *err,
                        size_t errlen);

/* Encodes a store cursor as a page token (arena string). NULL on arena exhaustion. */
char *vt_paging_token_encode(vt_arena_t *a, const char *cursor);

/* Decodes a page token back to the store cursor (arena string). VT_EINVAL with the reason in err
 * when the token is too long, not base64url, or decodes to an empty or NUL-containing cursor;
 * VT_ENOMEM on arena exhaustion. */
vt_err_t vt_paging_token_decode(vt_arena_t *a, const char *token, const char **cursor, char *err,
                                size_t errlen);

/* Fills pg from the request's page_size and page_token query parameters. On a malformed one
 * replies 400 naming it and returns false. */
bool vt_paging_from_query(vt_req_t *r, size_t max, vt_page_t *pg);

/* Replies to a failed store list call. The store answers VT_EINVAL for a cursor it cannot
 * read (a token that decodes but was not made by this API): that is the client's page_token,
 * so 400 naming it; other errors as vt_api_store_error. */
void vt_paging_reply_list_error(vt_req_t *r, vt_err_t e, const char *what);

/* Writes the "next_page_token" member: the token of next, or "" when next is NULL (last page).
 * Returns false, writing nothing, when the request arena is exhausted (the caller replies 500:
 * an empty token would silently end the client's paging). */
bool vt_paging_write_next(vt_req_t *r, vt_jw_t *w, const char *next);

#endif
