/*
 * filter.h - the `filter` query parameter of list endpoints, in the subset of AIP-160 the API
 * accepts: terms `field = "quoted string"` joined by AND, for example
 *
 *     status="COMPLETED" AND metadata.customer="acme"
 *
 * A field is an identifier ([A-Za-z_][A-Za-z0-9_]*) optionally followed by dotted keys
 * ([A-Za-z0-9_-]+ each), so `metadata.KEY` names one metadata entry. Inside the quotes \" and \\
 * are the only escapes. Which fields a list understands is the list's business: the parser only
 * checks the syntax, the term count and that no field appears twice.
 */
#ifndef VT_FILTER_H
#define VT_FILTER_H

#include "../core/arena.h"
#include "../http/server.h"

#define VT_FILTER_MAX_TERMS 16
#define VT_FILTER_MAX_LEN 4096 /* bytes of filter text */

typedef struct {
    const char *field; /* e.g. "run_id", "metadata.customer" */
    const char *value; /* unescaped */
} vt_filter_term_t;

typedef struct {
    vt_filter_term_t terms[VT_FILTER_MAX_TERMS];
    size_t n; /* 0 for an empty (or all-blank) filter: nothing is filtered */
} vt_filter_t;

/* Parses filter text. The strings of *out live in the arena. On a syntax error returns VT_EINVAL
 * and writes a sentence naming the problem and its 1-based character position into err;
 * VT_ENOMEM when the arena is exhausted. */
vt_err_t vt_filter_parse(vt_str_t text, vt_arena_t *a, vt_filter_t *out, char *err, size_t errlen);

/* The value of a field, or NULL when the filter does not name it. */
const char *vt_filter_get(const vt_filter_t *f, const char *field);

/* Reads the request's `filter` query parameter (absent = no terms). On a syntax error replies
 * 400 with details naming the field "filter" and returns false. */
bool vt_filter_from_query(vt_req_t *r, vt_filter_t *out);

/* Replies 400 for a term the list cannot filter on; `supported` lists what it can, for the
 * message (e.g. "run_id"). */
void vt_filter_reply_unsupported(vt_req_t *r, const char *field, const char *supported);

#endif
