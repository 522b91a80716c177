/*
 * vt.c - the mapping from vt_err_t to the HTTP API's status codes and error names, and the clock.
 */
#include "vt.h"

#include <time.h>

int vt_err_http_status(vt_err_t e) {
    switch (e) {
    case VT_OK: return 200;
    case VT_EINVAL: return 400;
    case VT_EUNAUTH: return 401;
    case VT_EPERM: return 403;
    case VT_ENOTFOUND: return 404;
    case VT_EEXIST: return 409;
    case VT_ETOOBIG: return 413;
    case VT_EMEDIA: return 415;
    case VT_ELIMIT: return 429;
    case VT_EUNAVAIL: return 503;
    case VT_EINTERNAL:
    case VT_ENOMEM: break;
    }
    return 500;
}

const char *vt_err_code_name(vt_err_t e) {
    switch (e) {
    case VT_OK: return "OK";
    case VT_EINVAL: return "INVALID_ARGUMENT";
    case VT_EUNAUTH: return "UNAUTHENTICATED";
    case VT_EPERM: return "PERMISSION_DENIED";
    case VT_ENOTFOUND: return "NOT_FOUND";
    case VT_EEXIST: return "ALREADY_EXISTS";
    case VT_ETOOBIG: return "PAYLOAD_TOO_LARGE";
    case VT_EMEDIA: return "UNSUPPORTED_MEDIA_TYPE";
    case VT_ELIMIT: return "RESOURCE_EXHAUSTED";
    case VT_EUNAVAIL: return "UNAVAILABLE";
    case VT_EINTERNAL:
    case VT_ENOMEM: break;
    }
    return "INTERNAL";
}

/* google.rpc.Code numbers: there is no code for "too large" or "unsupported media type", so those
 * map to the closest ones gRPC gateways use (OUT_OF_RANGE is not it: INVALID_ARGUMENT is). */
int vt_err_grpc_code(vt_err_t e) {
    switch (e) {
    case VT_OK: return 0;
    case VT_EINVAL: return 3;
    case VT_EUNAUTH: return 16;
    case VT_EPERM: return 7;
    case VT_ENOTFOUND: return 5;
    case VT_EEXIST: return 6;
    case VT_ETOOBIG: return 8;
    case VT_EMEDIA: return 3;
    case VT_ELIMIT: return 8;
    case VT_EUNAVAIL: return 14;
    case VT_EINTERNAL:
    case VT_ENOMEM: break;
    }
    return 13;
}

uint64_t vt_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
