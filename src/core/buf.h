/*
 * buf.h - a growable byte buffer with a maximum size, and a small JSON writer on top of it.
 * Used for request bodies, response bodies and the stored JSON form of span attributes.
 */
#ifndef VT_BUF_H
#define VT_BUF_H

#include "vt.h"

typedef struct {
    char *data;   /* heap memory owned by the buffer; always NUL-terminated when len > 0 */
    size_t len;
    size_t cap;   /* allocated bytes */
    size_t max;   /* largest len allowed; 0 means no limit */
    bool failed;  /* set once an append failed (over max or out of memory); later appends are no-ops */
} vt_buf_t;

/* Initialises an empty buffer with a maximum length (0 = unlimited). */
void vt_buf_init(vt_buf_t *b, size_t max);
/* Releases the memory. */
void vt_buf_free(vt_buf_t *b);
/* Empties the buffer, keeping its memory. Clears failed. */
void vt_buf_reset(vt_buf_t *b);
/* Makes room for n more bytes. VT_ETOOBIG over max, VT_ENOMEM when malloc fails. */
vt_err_t vt_buf_reserve(vt_buf_t *b, size_t n);
/* Appends bytes. On failure sets b->failed and returns its error. */
vt_err_t vt_buf_append(vt_buf_t *b, const void *p, size_t n);
vt_err_t vt_buf_append_str(vt_buf_t *b, vt_str_t s);
vt_err_t vt_buf_append_c(vt_buf_t *b, const char *s);
vt_err_t vt_buf_append_char(vt_buf_t *b, char c);
vt_err_t vt_buf_printf(vt_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes the buffer's memory out (caller frees with free()); the buffer is left empty. */
char *vt_buf_steal(vt_buf_t *b, size_t *len);

/*
 * JSON writer. It writes straight into a vt_buf_t and tracks only whether a comma is needed,
 * so callers must pair begin/end calls themselves. Strings are escaped per RFC 8259; invalid
 * UTF-8 is replaced with U+FFFD so the output is always valid JSON.
 */
typedef struct {
    vt_buf_t *b;
    uint32_t depth;
    uint64_t need_comma; /* bit d set: the container at depth d already has a member */
} vt_jw_t;

void vt_jw_init(vt_jw_t *w, vt_buf_t *b);
void vt_jw_obj_begin(vt_jw_t *w);
void vt_jw_obj_end(vt_jw_t *w);
void vt_jw_arr_begin(vt_jw_t *w);
void vt_jw_arr_end(vt_jw_t *w);
/* Writes a member key inside an object; the next value call writes its value. */
void vt_jw_key(vt_jw_t *w, const char *key);
void vt_jw_key_str(vt_jw_t *w, vt_str_t key);
void vt_jw_str(vt_jw_t *w, vt_str_t s);
void vt_jw_cstr(vt_jw_t *w, const char *s); /* NULL writes null */
void vt_jw_int(vt_jw_t *w, int64_t v);
void vt_jw_uint(vt_jw_t *w, uint64_t v);
/* Writes a double so that it reads back as the same double and is recognisably a float
 * (always has '.', 'e', or is one of the strings "NaN", "Infinity", "-Infinity"). */
void vt_jw_double(vt_jw_t *w, double v);
void vt_jw_bool(vt_jw_t *w, bool v);
void vt_jw_null(vt_jw_t *w);
/* Writes already-serialised JSON text as one value (caller guarantees it is valid JSON). */
void vt_jw_raw(vt_jw_t *w, vt_str_t json);
/* Writes bytes as a lowercase hex string value. */
void vt_jw_hex(vt_jw_t *w, const uint8_t *p, size_t n);

/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void vt_hex_encode(const uint8_t *p, size_t n, char *out);
/* Decodes exactly 2n hex digits (either case) into n bytes. false on bad input. */
bool vt_hex_decode(const char *s, size_t slen, uint8_t *out, size_t n);

#endif
