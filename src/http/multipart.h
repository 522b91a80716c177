/*
 * multipart.h - multipart/form-data request bodies (RFC 7578), parsed with libmicrohttpd's post
 * processor into a flat list of parts.
 *
 * The server has already accumulated the whole body in r->body (capped by --max-body), so the
 * parser works in one pass over it and copies each part's bytes into one block of the request
 * arena; parts live as long as the request. Limits bound the number of parts and the size of
 * each part, per field name if wanted.
 */
#ifndef VT_MULTIPART_H
#define VT_MULTIPART_H

#include "server.h"

typedef struct {
    const char *name;         /* the form field name, never NULL */
    const char *filename;     /* the uploaded file's name, NULL for a plain field */
    const char *content_type; /* the part's Content-Type, NULL when it sent none */
    const char *data;         /* len bytes, followed by a NUL that len does not count */
    size_t len;
} vt_mp_part_t;

/* A size cap for the parts of one field name. */
typedef struct {
    const char *name;
    size_t max_bytes;
} vt_mp_cap_t;

typedef struct {
    size_t max_parts;        /* parts in the whole form */
    size_t max_part_bytes;   /* cap of a part whose name has no entry in caps */
    const vt_mp_cap_t *caps; /* per-name caps (may be NULL) */
    size_t n_caps;
} vt_mp_limits_t;

typedef struct {
    vt_mp_part_t *parts; /* in body order; the same name may appear several times */
    size_t n;
    const char *field; /* after a failure: the field it concerns, or NULL */
} vt_mp_form_t;

/* True when a Content-Type header value names multipart/form-data (parameters allowed). */
bool vt_multipart_is_form(const char *content_type);

/* Parses r->body as the multipart/form-data body its Content-Type header announces. Fails with
 * VT_EMEDIA when the request is not multipart/form-data, VT_EINVAL for a missing boundary, a
 * malformed or truncated body, a part without a name, a Content-Transfer-Encoding other than
 * 7bit/8bit/binary, or more than max_parts parts; VT_ETOOBIG when a part exceeds its cap (the
 * reason goes into err and, where it applies, out->field names the part); VT_ENOMEM when the
 * arena is exhausted. A body with no boundary line at all is an empty form. */
vt_err_t vt_multipart_parse(vt_req_t *r, const vt_mp_limits_t *lim, vt_mp_form_t *out, char *err,
                            size_t errlen);

/* The first part with this name, or NULL. */
const vt_mp_part_t *vt_multipart_get(const vt_mp_form_t *f, const char *name);
/* How many parts carry this name. */
size_t vt_multipart_count(const vt_mp_form_t *f, const char *name);

#endif
