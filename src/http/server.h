/*
 * server.h - the HTTP layer on libmicrohttpd: connection handling, request bodies (chunked,
 * gzip-encoded, capped), routing by method and path, authentication, and responses.
 *
 * A request is handled in three steps. The server accumulates the body, resolves the route and
 * authenticates the caller; then it calls the route's handler on an HTTP worker thread. The handler
 * either answers at once (vt_req_reply_*) or hands work to another thread and calls
 * vt_req_suspend; that thread later fills the response and calls vt_req_resume, and the server
 * sends it. Everything a request allocates comes from r->arena, freed when the response is done.
 */
#ifndef VT_SERVER_H
#define VT_SERVER_H

#include "../core/arena.h"
#include "../core/buf.h"
#include "../store/store.h"

struct MHD_Connection;
typedef struct vt_server vt_server_t;
typedef struct vt_req vt_req_t;

typedef void (*vt_handler_fn)(vt_req_t *r);

/* Route flags. */
enum {
    VT_ROUTE_PUBLIC = 1u << 0, /* no authentication (health, sign-in, static files) */
    VT_ROUTE_OTLP = 1u << 1,   /* errors follow the request's content type (google.rpc.Status for protobuf) */
    VT_ROUTE_AUTH_OPTIONAL = 1u << 2, /* authenticate when possible; otherwise run the handler
                                         with r->auth.org_id == 0 ("who am I" endpoints) */
};

/* A route. pattern is a path whose segments may be "{}" (one path segment, captured into
 * r->params) and whose last segment may be "*" (the rest of the path, captured). ':' is an
 * ordinary character, so "/v1/conversations:submit" is a literal path. */
typedef struct {
    const char *method;
    const char *pattern;
    vt_handler_fn handler;
    uint32_t scope; /* scope the caller must hold (VT_SCOPE_*), 0 = any authenticated caller */
    uint32_t flags;
} vt_route_t;

/* The header the UI sends with every request; cookie-authenticated requests that change state
 * must carry it with the value "1" (CSRF defence, DESIGN.md 5.7). */
#define VT_UI_HEADER "X-Voxtrace-UI"

#define VT_REQ_MAX_PARAMS 4
#define VT_REQ_MAX_HEADERS 12 /* response headers a handler may add (vt_req_add_header) */

/* Who is calling, after authentication. */
typedef struct {
    int64_t org_id;
    const char *org_slug;
    uint32_t scopes;
    bool via_session; /* authenticated by the UI's session cookie rather than an API key */
} vt_auth_t;

struct vt_req {
    struct MHD_Connection *conn;
    vt_server_t *server;
    void *app;          /* the application object given to vt_server_start */
    const char *method;
    const char *path;
    const vt_route_t *route;
    vt_str_t params[VT_REQ_MAX_PARAMS];
    unsigned n_params;
    vt_arena_t arena;
    vt_buf_t body;      /* request body, decoded when it was gzip-encoded */
    vt_auth_t auth;

    /* Response, filled by the handler (or by whoever resumes it). */
    int status;
    vt_buf_t resp;
    const char *content_type;
    int retry_after;    /* seconds for Retry-After, 0 = none */
    const char *extra_header_name; /* one optional extra header (e.g. Content-Disposition) */
    const char *extra_header_value;
    struct {
        const char *name, *value;  /* static or in r->arena: they must live until sent */
    } headers[VT_REQ_MAX_HEADERS]; /* more headers, see vt_req_add_header */
    unsigned n_headers;

    /* Server-private state. */
    int state;
    bool pb_errors;     /* errors as google.rpc.Status protobuf (OTLP protobuf requests) */
    bool discard;       /* an error response is decided; remaining body bytes are dropped */
    bool suspended;     /* set by vt_req_suspend; read and cleared only on the HTTP thread, so
                         * it stays right even when the resume has already happened */
    size_t body_accounted; /* bytes of this request counted against the global in-flight limit */
    vt_buf_t raw;       /* the body as received, when it still needs gzip decoding */
};

typedef struct {
    const char *host;          /* listen address, e.g. "127.0.0.1" */
    uint16_t port;             /* 0 picks a free port (see vt_server_port) */
    unsigned threads;          /* HTTP worker threads; 0 = number of cores */
    size_t max_body;           /* largest request body after decompression (bytes) */
    size_t max_inflight;       /* all request bodies held in memory at once (bytes) */
    unsigned timeout_s;        /* idle connection timeout */
    unsigned max_connections;
    const vt_route_t *routes;  /* terminated by an entry whose method is NULL */
    vt_handler_fn not_found;   /* called for unrouted GETs (the UI), may be NULL */
    vt_store_t *store;         /* for authentication */
    void *app;
} vt_server_config_t;

/* Starts listening and serving. On failure writes the reason into err. */
vt_err_t vt_server_start(const vt_server_config_t *cfg, vt_server_t **out, char *err, size_t errlen);
/* The port actually bound. */
uint16_t vt_server_port(const vt_server_t *s);
/* Stops accepting, waits for the workers and frees the server. Suspended requests must have been
 * resumed before (the ingest writer drains first). */
void vt_server_stop(vt_server_t *s);

/* ---- for handlers ---- */

/* A request header (case-insensitive name) or NULL. */
const char *vt_req_header(vt_req_t *r, const char *name);
/* A query-string argument or NULL. */
const char *vt_req_query(vt_req_t *r, const char *name);

/* Sets a JSON response; takes the text from the writer's buffer r->resp (already written). */
void vt_req_reply_json(vt_req_t *r, int status);
/* Sets an error response in the format the request expects (JSON error body, or google.rpc.Status
 * for OTLP protobuf requests). field/description fill one "details" entry when field is not NULL. */
void vt_req_reply_error(vt_req_t *r, vt_err_t err, const char *message, const char *field,
                        const char *description);
/* Sets a response with the given bytes and content type (copied). */
void vt_req_reply_bytes(vt_req_t *r, int status, const char *content_type, const void *p, size_t n);
/* Adds a response header. name and value are not copied: pass static strings or strings in
 * r->arena. A Cache-Control header replaces the default "no-store". Returns false (and adds
 * nothing) when VT_REQ_MAX_HEADERS are already set, which is a bug in the caller. */
bool vt_req_add_header(vt_req_t *r, const char *name, const char *value);
/* A cookie the request carries, or NULL. */
const char *vt_req_cookie(vt_req_t *r, const char *name);

/* Marks the request as waiting for another thread. Call only from the handler, as its last act. */
void vt_req_suspend(vt_req_t *r);
/* From any thread: the response of a suspended request is filled in; send it. */
void vt_req_resume(vt_req_t *r);

#endif
