/*
 * buf.c - growable buffers with a maximum, and the JSON writer.
 */
#include "buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void vt_buf_init(vt_buf_t *b, size_t max) {
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
    b->failed = false;
}

void vt_buf_free(vt_buf_t *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void vt_buf_reset(vt_buf_t *b) {
    b->len = 0;
    b->failed = false;
    if (b->data)
        b->data[0] = '\0';
}

vt_err_t vt_buf_reserve(vt_buf_t *b, size_t n) {
    if (b->failed)
        return VT_ETOOBIG;
    if (n > SIZE_MAX - b->len - 1 || (b->max && b->len + n > b->max)) {
        b->failed = true;
        return VT_ETOOBIG;
    }
    size_t need = b->len + n + 1; /* room for the NUL */
    if (need <= b->cap)
        return VT_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return VT_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return VT_OK;
}

vt_err_t vt_buf_append(vt_buf_t *b, const void *p, size_t n) {
    vt_err_t e = vt_buf_reserve(b, n);
    if (e)
        return e;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return VT_OK;
}

vt_err_t vt_buf_append_str(vt_buf_t *b, vt_str_t s) {
    return vt_buf_append(b, s.p, s.n);
}

vt_err_t vt_buf_append_c(vt_buf_t *b, const char *s) {
    return vt_buf_append(b, s, strlen(s));
}

vt_err_t vt_buf_append_char(vt_buf_t *b, char c) {
    return vt_buf_append(b, &c, 1);
}

vt_err_t vt_buf_printf(vt_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return VT_EINTERNAL;
    vt_err_t e = vt_buf_reserve(b, (size_t)n);
    if (e)
        return e;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return VT_OK;
}

char *vt_buf_steal(vt_buf_t *b, size_t *len) {
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

/* ---- hex ---------------------------------------------------------------------------------- */

void vt_hex_encode(const uint8_t *p, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_val(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool vt_hex_decode(const char *s, size_t slen, uint8_t *out, size_t n) {
    if (slen != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_val(s[2 * i]), lo = hex_val(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* ---- JSON writer -------------------------------------------------------------------------- */

void vt_jw_init(vt_jw_t *w, vt_buf_t *b) {
    w->b = b;
    w->depth = 0;
    w->need_comma = 0;
}

/* Called before every value and key: writes the separating comma when the current container
 * already has a member. A value right after a key needs no comma (the key wrote ':'). */
static void jw_sep(vt_jw_t *w) {
    uint64_t bit = 1ull << (w->depth & 63);
    if (w->need_comma & bit)
        vt_buf_append_char(w->b, ',');
    w->need_comma |= bit;
}

static void jw_open(vt_jw_t *w, char c) {
    jw_sep(w);
    vt_buf_append_char(w->b, c);
    w->depth++;
    w->need_comma &= ~(1ull << (w->depth & 63));
}

static void jw_close(vt_jw_t *w, char c) {
    w->depth--;
    vt_buf_append_char(w->b, c);
}

void vt_jw_obj_begin(vt_jw_t *w) { jw_open(w, '{'); }
void vt_jw_obj_end(vt_jw_t *w) { jw_close(w, '}'); }
void vt_jw_arr_begin(vt_jw_t *w) { jw_open(w, '['); }
void vt_jw_arr_end(vt_jw_t *w) { jw_close(w, ']'); }

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when it is invalid. */
static size_t utf8_seq_len(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0) {
        len = 2;
        min = 0x80;
        c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3;
        min = 0x800;
        c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4;
        min = 0x10000;
        c &= 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    return len;
}

static void jw_escape(vt_buf_t *b, vt_str_t s) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s.p;
    if (s.n == 0) { /* VT_STR_NULL has p == NULL, and NULL + 0 is undefined in C */
        vt_buf_append(b, "\"\"", 2);
        return;
    }
    vt_buf_append_char(b, '"');
    size_t run = 0; /* start of the current run of bytes that need no escaping */
    size_t i = 0;
    while (i < s.n) {
        unsigned char c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t l = utf8_seq_len(p + i, s.n - i);
            if (l) {
                i += l;
                continue;
            }
        }
        vt_buf_append(b, p + run, i - run);
        switch (c) {
        case '"': vt_buf_append(b, "\\\"", 2); break;
        case '\\': vt_buf_append(b, "\\\\", 2); break;
        case '\n': vt_buf_append(b, "\\n", 2); break;
        case '\r': vt_buf_append(b, "\\r", 2); break;
        case '\t': vt_buf_append(b, "\\t", 2); break;
        default:
            if (c < 0x20) {
                char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                vt_buf_append(b, e, 6);
            } else {
                vt_buf_append(b, "\xef\xbf\xbd", 3); /* invalid UTF-8 byte -> U+FFFD */
            }
        }
        i++;
        run = i;
    }
    vt_buf_append(b, p + run, i - run);
    vt_buf_append_char(b, '"');
}

void vt_jw_key_str(vt_jw_t *w, vt_str_t key) {
    jw_sep(w);
    jw_escape(w->b, key);
    vt_buf_append_char(w->b, ':');
    /* The value that follows must not write a comma; its own jw_sep sets the bit again. */
    w->need_comma &= ~(1ull << (w->depth & 63));
}

void vt_jw_key(vt_jw_t *w, const char *key) { vt_jw_key_str(w, vt_str_c(key)); }

void vt_jw_str(vt_jw_t *w, vt_str_t s) {
    jw_sep(w);
    jw_escape(w->b, s);
}

void vt_jw_cstr(vt_jw_t *w, const char *s) {
    if (!s)
        vt_jw_null(w);
    else
        vt_jw_str(w, vt_str_c(s));
}

void vt_jw_int(vt_jw_t *w, int64_t v) {
    jw_sep(w);
    vt_buf_printf(w->b, "%lld", (long long)v);
}

void vt_jw_uint(vt_jw_t *w, uint64_t v) {
    jw_sep(w);
    vt_buf_printf(w->b, "%llu", (unsigned long long)v);
}

void vt_jw_double(vt_jw_t *w, double v) {
    jw_sep(w);
    if (isnan(v)) {
        vt_buf_append_c(w->b, "\"NaN\"");
        return;
    }
    if (isinf(v)) {
        vt_buf_append_c(w->b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    char tmp[40];
    snprintf(tmp, sizeof tmp, "%.15g", v);
    if (strtod(tmp, NULL) != v)
        snprintf(tmp, sizeof tmp, "%.17g", v);
    vt_buf_append_c(w->b, tmp);
    if (!strpbrk(tmp, ".eE"))
        vt_buf_append(w->b, ".0", 2);
}

void vt_jw_bool(vt_jw_t *w, bool v) {
    jw_sep(w);
    vt_buf_append_c(w->b, v ? "true" : "false");
}

void vt_jw_null(vt_jw_t *w) {
    jw_sep(w);
    vt_buf_append_c(w->b, "null");
}

void vt_jw_raw(vt_jw_t *w, vt_str_t json) {
    jw_sep(w);
    vt_buf_append_str(w->b, json);
}

void vt_jw_hex(vt_jw_t *w, const uint8_t *p, size_t n) {
    jw_sep(w);
    vt_buf_append_char(w->b, '"');
    if (vt_buf_reserve(w->b, 2 * n) == VT_OK) {
        vt_hex_encode(p, n, w->b->data + w->b->len);
        w->b->len += 2 * n;
    }
    vt_buf_append_char(w->b, '"');
}
