/*
 * vt.h - the few definitions every voxtrace module shares: the status enum that every
 * fallible function returns, and the sized string used for all bytes that came off the wire.
 */
#ifndef VT_H
#define VT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* One status enum for the whole program; 0 is success. The values map onto the HTTP API's error
 * codes (vt_err_http_status, vt_err_code_name) so a failure can travel from the store to the
 * response without translation tables in every handler. */
typedef enum {
    VT_OK = 0,
    VT_EINVAL,     /* INVALID_ARGUMENT, 400 */
    VT_EUNAUTH,    /* UNAUTHENTICATED, 401 */
    VT_EPERM,      /* PERMISSION_DENIED, 403 */
    VT_ENOTFOUND,  /* NOT_FOUND, 404 */
    VT_EEXIST,     /* ALREADY_EXISTS, 409 */
    VT_ETOOBIG,    /* PAYLOAD_TOO_LARGE, 413 */
    VT_EMEDIA,     /* UNSUPPORTED_MEDIA_TYPE, 415 */
    VT_ELIMIT,     /* RESOURCE_EXHAUSTED, 429 */
    VT_EINTERNAL,  /* INTERNAL, 500 */
    VT_EUNAVAIL,   /* UNAVAILABLE, 503 */
    VT_ENOMEM,     /* INTERNAL, 500: an allocation or an arena cap failed */
} vt_err_t;

/* HTTP status for an error (200 for VT_OK). */
int vt_err_http_status(vt_err_t e);
/* API error code name ("INVALID_ARGUMENT"...); "OK" for VT_OK. Static storage. */
const char *vt_err_code_name(vt_err_t e);
/* google.rpc.Code value for an error (used in protobuf error bodies). */
int vt_err_grpc_code(vt_err_t e);

/* A sized string. It does not own its bytes and is not NUL-terminated unless said so. */
typedef struct {
    const char *p;
    size_t n;
} vt_str_t;

#define VT_STR(lit) ((vt_str_t){(lit), sizeof(lit) - 1})
#define VT_STR_NULL ((vt_str_t){NULL, 0})

static inline vt_str_t vt_str_c(const char *s) {
    return (vt_str_t){s, s ? strlen(s) : 0};
}
static inline bool vt_str_eq(vt_str_t a, vt_str_t b) {
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}
static inline bool vt_str_eq_c(vt_str_t a, const char *b) {
    return vt_str_eq(a, vt_str_c(b));
}
static inline bool vt_str_has_prefix(vt_str_t a, const char *prefix) {
    size_t n = strlen(prefix);
    return a.n >= n && memcmp(a.p, prefix, n) == 0;
}

/* Nanoseconds since the Unix epoch, wall clock. */
uint64_t vt_now_ns(void);

#define VT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define VT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VT_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
