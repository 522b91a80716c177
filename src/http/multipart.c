/*
 * multipart.c - multipart/form-data bodies through libmicrohttpd's post processor.
 *
 * The post processor is incremental: it calls an iterator with pieces of each part's value, a
 * new part starting at offset 0. Since the body is complete before the handler runs, we feed it
 * in one call. Part bytes never outnumber body bytes (multipart carries them unencoded, and
 * transfer encodings that would grow them are refused), so one arena block of the body's size
 * holds every part back to back, with room for a NUL after each.
 */
#include "multipart.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

/* Internal buffer of the post processor: the longest part header line it can hold. */
#define MP_PP_BUFFER (64 * 1024)

typedef struct {
    vt_arena_t *arena;
    const vt_mp_limits_t *lim;
    vt_mp_form_t *out;
    char *block; /* every part's bytes, back to back */
    size_t used, block_cap;
    size_t cur_max; /* cap of the part being filled */
    vt_err_t err;   /* why the iterator stopped the parse */
    char *msg;
    size_t msglen;
} mp_state_t;

bool vt_multipart_is_form(const char *ct) {
    static const char type[] = "multipart/form-data";
    size_t n = sizeof type - 1;
    return ct && strncasecmp(ct, type, n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

static size_t cap_for(const vt_mp_limits_t *lim, const char *name) {
    for (size_t i = 0; i < lim->n_caps; i++)
        if (strcmp(lim->caps[i].name, name) == 0)
            return lim->caps[i].max_bytes;
    return lim->max_part_bytes;
}

/* Transfer encodings that leave the bytes as they are; anything else (base64,
 * quoted-printable) would need decoding that no browser or HTTP client asks for. */
static bool identity_encoding(const char *te) {
    return !te || !*te || strcasecmp(te, "binary") == 0 || strcasecmp(te, "8bit") == 0 ||
           strcasecmp(te, "7bit") == 0;
}

/* Stops the parse: records the error, the field it concerns and the message. */
static enum MHD_Result stop(mp_state_t *st, vt_err_t e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum MHD_Result stop(mp_state_t *st, vt_err_t e, const char *field, const char *fmt, ...) {
    st->err = e;
    st->out->field = field;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->msg, st->msglen, fmt, ap);
    va_end(ap);
    return MHD_NO;
}

/* Starts a new part: checks the count, the name and the encoding, copies the headers. */
static enum MHD_Result part_begin(mp_state_t *st, const char *key, const char *filename,
                                  const char *content_type, const char *te) {
    vt_mp_form_t *f = st->out;
    if (!key || !*key)
        return stop(st, VT_EINVAL, NULL, "A form part has no name in its Content-Disposition");
    const char *name = vt_arena_strndup(st->arena, key, strlen(key));
    if (!name)
        return stop(st, VT_ENOMEM, NULL, "Out of memory while reading the form");
    if (f->n == st->lim->max_parts)
        return stop(st, VT_EINVAL, name, "The form has more than %zu parts", st->lim->max_parts);
    if (!identity_encoding(te))
        return stop(st, VT_EINVAL, name,
                    "Form field %s uses a Content-Transfer-Encoding other than binary", name);
    if (f->n) { /* the previous part is complete: terminate it */
        if (st->used + 1 >= st->block_cap)
            return stop(st, VT_EINVAL, NULL, "Malformed multipart body");
        st->block[st->used++] = '\0';
    }
    vt_mp_part_t *p = &f->parts[f->n++];
    p->name = name;
    p->filename = filename ? vt_arena_strndup(st->arena, filename, strlen(filename)) : NULL;
    p->content_type =
        content_type ? vt_arena_strndup(st->arena, content_type, strlen(content_type)) : NULL;
    p->data = st->block + st->used;
    p->len = 0;
    st->cur_max = cap_for(st->lim, name);
    if ((filename && !p->filename) || (content_type && !p->content_type))
        return stop(st, VT_ENOMEM, NULL, "Out of memory while reading the form");
    return MHD_YES;
}

static enum MHD_Result on_data(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size) {
    (void)kind;
    mp_state_t *st = cls;
    if (off == 0 && part_begin(st, key, filename, content_type, transfer_encoding) == MHD_NO)
        return MHD_NO;
    vt_mp_part_t *p = st->out->n ? &st->out->parts[st->out->n - 1] : NULL;
    /* Pieces of one part arrive in order; anything else would be a post processor bug, but the
     * copy below must not trust it. The +1 keeps room for the part's NUL. */
    if (!p || off != p->len || size > st->block_cap - st->used - 1)
        return stop(st, VT_EINVAL, NULL, "Malformed multipart body");
    if (size > st->cur_max - p->len)
        return stop(st, VT_ETOOBIG, p->name, "Form field %s exceeds %zu bytes", p->name,
                    st->cur_max);
    memcpy(st->block + st->used, data, size);
    st->used += size;
    p->len += size;
    return MHD_YES;
}

/* The length of the body up to the end of its closing delimiter line, so that an epilogue after
 * it is ignored as RFC 2046 asks (the post processor would call it garbage). The boundary is
 * read the way the post processor reads it: the rest of the header after "boundary=", without
 * enclosing quotes. The whole length when there is no closing delimiter (then the post
 * processor reports the truncation). */
static size_t form_length(const char *ct, const char *body, size_t len) {
    const char *b = strstr(ct, "boundary=") + strlen("boundary=");
    size_t blen = strlen(b);
    if (blen >= 2 && b[0] == '"' && b[blen - 1] == '"') {
        b++;
        blen -= 2;
    }
    if (len == 0 || blen == 0 || blen > 200)
        return len;
    char delim[208];
    size_t dlen = (size_t)snprintf(delim, sizeof delim, "\r\n--%.*s--", (int)blen, b);
    const char *end = NULL;
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0)
        end = body + dlen - 2; /* a form with no parts */
    else {
        const char *at = memmem(body, len, delim, dlen);
        if (at)
            end = at + dlen;
    }
    if (!end)
        return len;
    size_t n = (size_t)(end - body);
    if (n + 2 <= len && end[0] == '\r' && end[1] == '\n')
        n += 2;
    return n;
}

vt_err_t vt_multipart_parse(vt_req_t *r, const vt_mp_limits_t *lim, vt_mp_form_t *out, char *err,
                            size_t errlen) {
    memset(out, 0, sizeof *out);
    const char *ct = vt_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!vt_multipart_is_form(ct)) {
        snprintf(err, errlen, "Unsupported Content-Type %.80s: use multipart/form-data",
                 ct ? ct : "(none)");
        return VT_EMEDIA;
    }
    if (!strstr(ct, "boundary=")) {
        snprintf(err, errlen, "The multipart/form-data Content-Type has no boundary parameter");
        return VT_EINVAL;
    }
    mp_state_t st = {.arena = &r->arena, .lim = lim, .out = out, .msg = err, .msglen = errlen};
    st.block_cap = r->body.len + 1;
    st.block = vt_arena_alloc(&r->arena, st.block_cap);
    out->parts =
        vt_arena_calloc(&r->arena, lim->max_parts ? lim->max_parts : 1, sizeof *out->parts);
    if (!st.block || !out->parts) {
        snprintf(err, errlen, "Out of memory while reading the form");
        return VT_ENOMEM;
    }
    struct MHD_PostProcessor *pp = MHD_create_post_processor(r->conn, MP_PP_BUFFER, on_data, &st);
    if (!pp) {
        /* It refuses a boundary it cannot use (empty, or too long for its buffer). */
        snprintf(err, errlen, "The multipart/form-data boundary parameter is invalid");
        return VT_EINVAL;
    }
    enum MHD_Result ok =
        MHD_post_process(pp, r->body.data, form_length(ct, r->body.data, r->body.len));
    /* Destroy reports a body that stopped before its closing boundary. */
    enum MHD_Result complete = MHD_destroy_post_processor(pp);
    if (st.err)
        return st.err;
    if (ok == MHD_NO || complete == MHD_NO) {
        out->field = NULL;
        snprintf(err, errlen, "%s",
                 ok == MHD_NO ? "Malformed multipart body"
                              : "Truncated multipart body: the closing boundary is missing");
        return VT_EINVAL;
    }
    st.block[st.used] = '\0';
    return VT_OK;
}

const vt_mp_part_t *vt_multipart_get(const vt_mp_form_t *f, const char *name) {
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->parts[i].name, name) == 0)
            return &f->parts[i];
    return NULL;
}

size_t vt_multipart_count(const vt_mp_form_t *f, const char *name) {
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += strcmp(f->parts[i].name, name) == 0;
    return n;
}
