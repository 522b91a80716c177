/*
 * validate.c - the per-span checks of DESIGN.md 5.1. A span that fails them is rejected alone;
 * the rest of its batch is still stored.
 */
#include "limits.h"
#include "span.h"

#include <stdarg.h>
#include <stdio.h>

static bool all_zero(const uint8_t *p, size_t n) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* Writes `span "<name>" <span id>: <reason>` into err. The name (cut to a readable length) and
 * the span id (when it is a usable one) are what a user can search their own code and traces
 * for; the position of the span in the request would mean little to them. */
__attribute__((format(printf, 4, 5))) static bool reject(const vt_span_t *s, char *err,
                                                         size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0)
        return false;
    size_t used = 0;
    int n;
    enum { NAME_SHOWN = 64 };
    vt_str_t name = vt_otlp_str_truncate_utf8(s->name, NAME_SHOWN);
    if (name.n > 0)
        n = snprintf(err, errlen, "span \"%.*s%s\"", (int)name.n, name.p,
                     name.n < s->name.n ? "..." : "");
    else
        n = snprintf(err, errlen, "span");
    if (n > 0)
        used = VT_MIN((size_t)n, errlen - 1);
    if (s->span_id_len == sizeof s->span_id && !all_zero(s->span_id, sizeof s->span_id)) {
        char hex[2 * sizeof s->span_id + 1];
        vt_hex_encode(s->span_id, sizeof s->span_id, hex);
        n = snprintf(err + used, errlen - used, " %s", hex);
        if (n > 0)
            used += VT_MIN((size_t)n, errlen - 1 - used);
    }
    n = snprintf(err + used, errlen - used, ": ");
    if (n > 0)
        used += VT_MIN((size_t)n, errlen - 1 - used);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + used, errlen - used, fmt, ap);
    va_end(ap);
    return false;
}

bool vt_span_validate(const vt_span_t *s, char *err, size_t errlen) {
    if (s->trace_id_len != sizeof s->trace_id)
        return reject(s, err, errlen, "trace_id must be 16 bytes, got %u", s->trace_id_len);
    if (all_zero(s->trace_id, sizeof s->trace_id))
        return reject(s, err, errlen, "trace_id must not be all zeros");
    if (s->span_id_len != sizeof s->span_id)
        return reject(s, err, errlen, "span_id must be 8 bytes, got %u", s->span_id_len);
    if (all_zero(s->span_id, sizeof s->span_id))
        return reject(s, err, errlen, "span_id must not be all zeros");
    /* An all-zero parent passes: it means "no parent" (decoders store it as length 0). */
    if (s->parent_span_id_len != 0 && s->parent_span_id_len != sizeof s->parent_span_id)
        return reject(s, err, errlen, "parent_span_id must be empty or 8 bytes, got %u",
                      s->parent_span_id_len);
    if (s->name.n == 0)
        return reject(s, err, errlen, "name must not be empty");
    if (s->end_ns < s->start_ns)
        return reject(s, err, errlen, "end_time_unix_nano %llu is before start_time_unix_nano %llu",
                      (unsigned long long)s->end_ns, (unsigned long long)s->start_ns);
    if (err && errlen)
        err[0] = '\0';
    return true;
}
