/*
 * server.c - libmicrohttpd glue: request lifecycle, bodies, routing, authentication, responses.
 *
 * libmicrohttpd calls the access handler several times per request: once when the headers are in
 * (we route and authenticate), once per piece of body (we append, or drop it when an error is
 * already decided), and once when the body is complete (we run the handler). A handler that
 * waits for another thread suspends the connection; when it is resumed libmicrohttpd calls the
 * access handler once more and we send the response that the other thread filled in.
 */
#include "server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "../core/log.h"
#include "../otlp/otlp_pb.h"
#include "auth.h"
#include "session.h"

enum {
    REQ_NEW = 0,   /* headers seen, not yet routed */
    REQ_BODY,      /* receiving the body */
    REQ_WAITING,   /* handler suspended the connection */
    REQ_DONE,      /* response filled in, to be sent */
};

struct vt_server {
    struct MHD_Daemon *daemon;
    vt_server_config_t cfg;
    uint16_t port;
    atomic_size_t inflight; /* body bytes held by all requests */
};

/* ---- responses ---------------------------------------------------------------------------- */

void vt_req_reply_json(vt_req_t *r, int status) {
    r->status = status;
    r->content_type = "application/json";
}

void vt_req_reply_bytes(vt_req_t *r, int status, const char *content_type, const void *p, size_t n) {
    vt_buf_reset(&r->resp);
    vt_buf_append(&r->resp, p, n);
    r->status = status;
    r->content_type = content_type;
}

void vt_req_reply_error(vt_req_t *r, vt_err_t err, const char *message, const char *field,
                        const char *description) {
    vt_buf_reset(&r->resp);
    r->status = vt_err_http_status(err);
    if (err == VT_EUNAVAIL && !r->retry_after)
        r->retry_after = 1;
    if (r->pb_errors) {
        vt_otlp_pb_status(&r->resp, vt_err_grpc_code(err), message);
        r->content_type = "application/x-protobuf";
        return;
    }
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "error");
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "code");
    vt_jw_cstr(&w, vt_err_code_name(err));
    vt_jw_key(&w, "message");
    vt_jw_cstr(&w, message);
    if (field) {
        vt_jw_key(&w, "details");
        vt_jw_arr_begin(&w);
        vt_jw_obj_begin(&w);
        vt_jw_key(&w, "field");
        vt_jw_cstr(&w, field);
        vt_jw_key(&w, "description");
        vt_jw_cstr(&w, description ? description : message);
        vt_jw_obj_end(&w);
        vt_jw_arr_end(&w);
    }
    vt_jw_obj_end(&w);
    vt_jw_obj_end(&w);
    r->content_type = "application/json";
}

static enum MHD_Result send_response(vt_req_t *r) {
    if (r->resp.failed) {
        /* The response did not fit its buffer: say so rather than send half of it. */
        r->pb_errors = false;
        vt_buf_free(&r->resp);
        vt_buf_init(&r->resp, 0);
        vt_req_reply_error(r, VT_EINTERNAL, "Response too large", NULL, NULL);
    }
    size_t len;
    char *data = vt_buf_steal(&r->resp, &len);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, data ? data : (char *)"", data ? MHD_RESPMEM_MUST_FREE
                                                                            : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    if (r->content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    bool cache_set = r->extra_header_name && strcasecmp(r->extra_header_name, "Cache-Control") == 0;
    for (unsigned i = 0; i < r->n_headers; i++) {
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
        if (strcasecmp(r->headers[i].name, "Cache-Control") == 0)
            cache_set = true;
    }
    if (!cache_set)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (r->retry_after) {
        char v[16];
        snprintf(v, sizeof v, "%d", r->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
    }
    if (r->extra_header_name && r->extra_header_value)
        MHD_add_response_header(resp, r->extra_header_name, r->extra_header_value);
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

bool vt_req_add_header(vt_req_t *r, const char *name, const char *value) {
    if (r->n_headers >= VT_REQ_MAX_HEADERS) {
        vt_log_error("http: more than %d response headers on %s %s", VT_REQ_MAX_HEADERS, r->method,
                     r->path);
        return false;
    }
    r->headers[r->n_headers].name = name;
    r->headers[r->n_headers].value = value;
    r->n_headers++;
    return true;
}

/* ---- request helpers ---------------------------------------------------------------------- */

const char *vt_req_cookie(vt_req_t *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

const char *vt_req_header(vt_req_t *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *vt_req_query(vt_req_t *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

void vt_req_suspend(vt_req_t *r) {
    r->state = REQ_WAITING;
    r->suspended = true;
    MHD_suspend_connection(r->conn);
}

void vt_req_resume(vt_req_t *r) {
    r->state = REQ_DONE;
    MHD_resume_connection(r->conn);
}

/* ---- routing ------------------------------------------------------------------------------ */

/* Matches path against pattern, capturing "{}" segments and a trailing "*". */
static bool route_match(const char *pattern, const char *path, vt_req_t *r) {
    unsigned n = 0;
    const char *p = pattern, *s = path;
    while (*p) {
        if (p[0] == '{' && p[1] == '}') {
            const char *end = s;
            while (*end && *end != '/')
                end++;
            if (end == s || n >= VT_REQ_MAX_PARAMS)
                return false;
            r->params[n++] = (vt_str_t){s, (size_t)(end - s)};
            s = end;
            p += 2;
        } else if (p[0] == '*' && p[1] == '\0') {
            if (n >= VT_REQ_MAX_PARAMS)
                return false;
            r->params[n++] = vt_str_c(s);
            s += strlen(s);
            p++;
        } else {
            if (*p != *s)
                return false;
            p++;
            s++;
        }
    }
    if (*s)
        return false;
    r->n_params = n;
    return true;
}

/* Finds the route. *method_mismatch is set when the path exists under another method. */
static const vt_route_t *route_find(const vt_route_t *routes, vt_req_t *r, bool *method_mismatch) {
    *method_mismatch = false;
    for (const vt_route_t *rt = routes; rt->method; rt++) {
        if (!route_match(rt->pattern, r->path, r))
            continue;
        if (strcmp(rt->method, r->method) == 0)
            return rt;
        *method_mismatch = true;
    }
    r->n_params = 0;
    return NULL;
}

/* ---- authentication ----------------------------------------------------------------------- */

/* Methods that only read: cookie-authenticated requests with any other method must carry the
 * UI's header. */
static bool method_is_safe(const char *m) {
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

/* An API key in a header wins; without one, the UI's session cookie is accepted. A cookie goes
 * with every request the browser makes to this origin, whoever caused the request, so a
 * state-changing request authenticated by it must also carry X-Voxtrace-UI: a custom header that
 * another origin's page cannot add without a CORS preflight, which this server never grants. */
static vt_err_t authenticate(vt_req_t *r, char *msg, size_t msglen) {
    const char *key = vt_req_header(r, "X-API-Key");
    if (!key) {
        const char *authz = vt_req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
        if (authz && strncasecmp(authz, "Bearer ", 7) == 0) {
            key = authz + 7;
            while (*key == ' ')
                key++;
        }
    }
    vt_err_t e;
    const char *cookie = NULL;
    if ((!key || !*key) && (cookie = vt_req_cookie(r, VT_SESSION_COOKIE)) && *cookie) {
        e = vt_session_verify(r->server->cfg.store, &r->arena, vt_str_c(cookie),
                              (int64_t)(vt_now_ns() / 1000000000u), &r->auth.org_id,
                              &r->auth.scopes, msg, msglen);
        if (e)
            return e;
        r->auth.via_session = true;
        const char *ui = vt_req_header(r, VT_UI_HEADER);
        if (!method_is_safe(r->method) && !(ui && strcmp(ui, "1") == 0)) {
            snprintf(msg, msglen,
                     "missing CSRF header: send " VT_UI_HEADER ": 1 with a session cookie");
            return VT_EPERM;
        }
    } else {
        if (!key || !*key) {
            snprintf(msg, msglen, "Missing API key: send it in the X-API-Key header");
            return VT_EUNAUTH;
        }
        e = vt_auth_key_verify(r->server->cfg.store, &r->arena, vt_str_c(key), &r->auth.org_id,
                               &r->auth.scopes, msg, msglen);
        if (e)
            return e;
    }
    if (r->route->scope && !(r->auth.scopes & r->route->scope)) {
        char need[64];
        vt_auth_scopes_format(r->route->scope, need, sizeof need);
        snprintf(msg, msglen, "API key lacks the %s scope", need);
        return VT_EPERM;
    }
    return VT_OK;
}

/* ---- bodies ------------------------------------------------------------------------------- */

static bool is_protobuf_type(const char *ct) {
    return ct && (strncasecmp(ct, "application/x-protobuf", 22) == 0 ||
                  strncasecmp(ct, "application/protobuf", 20) == 0);
}

/* Inflates a gzip body into r->body, stopping at the size cap. */
static vt_err_t gunzip_body(vt_req_t *r, char *msg, size_t msglen) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        snprintf(msg, msglen, "Could not start gzip decoding");
        return VT_EINTERNAL;
    }
    z.next_in = (Bytef *)r->raw.data;
    z.avail_in = (uInt)r->raw.len;
    vt_err_t result = VT_OK;
    for (;;) {
        if (vt_buf_reserve(&r->body, 64 * 1024) != VT_OK) {
            /* Reserve fails at the cap with less than 64 KiB left: try the exact remainder. */
            size_t left = r->body.max - r->body.len;
            if (!left || vt_buf_reserve(&r->body, left) != VT_OK) {
                snprintf(msg, msglen, "Decompressed request body exceeds %zu bytes", r->body.max);
                result = VT_ETOOBIG;
                break;
            }
        }
        size_t room = r->body.cap - r->body.len - 1;
        z.next_out = (Bytef *)r->body.data + r->body.len;
        z.avail_out = (uInt)VT_MIN(room, (size_t)UINT32_MAX);
        int zr = inflate(&z, Z_NO_FLUSH);
        r->body.len = r->body.cap - 1 - z.avail_out;
        r->body.data[r->body.len] = '\0';
        if (zr == Z_STREAM_END) {
            /* Concatenated gzip members are valid gzip; continue with the next one. */
            if (z.avail_in == 0)
                break;
            inflateReset(&z);
            continue;
        }
        if (zr == Z_BUF_ERROR && z.avail_in == 0) {
            snprintf(msg, msglen, "Invalid gzip body: truncated");
            result = VT_EINVAL;
            break;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            snprintf(msg, msglen, "Invalid gzip body: %s", z.msg ? z.msg : "corrupt data");
            result = VT_EINVAL;
            break;
        }
        if (z.avail_out != 0 && zr == Z_BUF_ERROR) {
            snprintf(msg, msglen, "Invalid gzip body");
            result = VT_EINVAL;
            break;
        }
    }
    inflateEnd(&z);
    return result;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void req_free(vt_req_t *r) {
    if (r->body_accounted)
        atomic_fetch_sub(&r->server->inflight, r->body_accounted);
    vt_buf_free(&r->body);
    vt_buf_free(&r->raw);
    vt_buf_free(&r->resp);
    vt_arena_free(&r->arena);
    free(r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)c;
    (void)toe;
    if (*con_cls)
        req_free(*con_cls);
    *con_cls = NULL;
}

/* First call for a request: route, authenticate, check the announced size. When the answer is
 * already decided (an error), r->discard is set: the body is then drained but not kept. */
static void req_begin(vt_req_t *r) {
    vt_server_t *s = r->server;
    bool mismatch;
    r->route = route_find(s->cfg.routes, r, &mismatch);
    const char *ct = vt_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (r->route && (r->route->flags & VT_ROUTE_OTLP) && is_protobuf_type(ct))
        r->pb_errors = true;

    if (!r->route) {
        if (!mismatch && s->cfg.not_found && strcmp(r->method, "GET") == 0)
            return; /* the UI handler answers after the (empty) body */
        r->discard = true;
        if (mismatch)
            vt_req_reply_error(r, VT_ENOTFOUND, "Method not allowed on this path", NULL, NULL);
        else
            vt_req_reply_error(r, VT_ENOTFOUND, "No such endpoint", NULL, NULL);
        if (mismatch)
            r->status = 405;
        return;
    }

    const char *cl = vt_req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (n > s->cfg.max_body) {
            r->discard = true;
            char msg[96];
            snprintf(msg, sizeof msg, "Request body exceeds %zu bytes", s->cfg.max_body);
            vt_req_reply_error(r, VT_ETOOBIG, msg, NULL, NULL);
            return;
        }
        if (n && vt_buf_reserve(&r->raw, (size_t)n) != VT_OK) {
            r->discard = true;
            vt_req_reply_error(r, VT_EUNAVAIL, "Out of memory", NULL, NULL);
            return;
        }
    }

    if (!(r->route->flags & VT_ROUTE_PUBLIC)) {
        char msg[160];
        vt_err_t e = authenticate(r, msg, sizeof msg);
        if (e == VT_EUNAUTH && (r->route->flags & VT_ROUTE_AUTH_OPTIONAL)) {
            memset(&r->auth, 0, sizeof r->auth);
        } else if (e) {
            r->discard = true;
            vt_req_reply_error(r, e, msg, NULL, NULL);
        }
    }
}

/* Appends a piece of body, enforcing the per-request and global limits. */
static void req_body(vt_req_t *r, const char *data, size_t n) {
    vt_server_t *s = r->server;
    if (r->discard)
        return;
    size_t now = atomic_fetch_add(&s->inflight, n) + n;
    r->body_accounted += n;
    if (now > s->cfg.max_inflight) {
        r->discard = true;
        vt_req_reply_error(r, VT_EUNAVAIL, "Server is busy; retry later", NULL, NULL);
        return;
    }
    if (vt_buf_append(&r->raw, data, n) != VT_OK) {
        r->discard = true;
        char msg[96];
        snprintf(msg, sizeof msg, "Request body exceeds %zu bytes", s->cfg.max_body);
        vt_req_reply_error(r, VT_ETOOBIG, msg, NULL, NULL);
    }
}

/* The body is complete: decode it and run the handler. */
static void req_run(vt_req_t *r) {
    vt_server_t *s = r->server;
    const char *enc = vt_req_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING);
    if (enc && strcasecmp(enc, "gzip") == 0) {
        char msg[160];
        vt_err_t e = gunzip_body(r, msg, sizeof msg);
        vt_buf_free(&r->raw);
        if (e) {
            vt_req_reply_error(r, e, msg, NULL, NULL);
            return;
        }
    } else if (enc && *enc && strcasecmp(enc, "identity") != 0) {
        vt_req_reply_error(r, VT_EMEDIA, "Unsupported Content-Encoding; use gzip or none", NULL,
                           NULL);
        return;
    } else {
        /* No decoding: the received bytes are the body. */
        vt_buf_t tmp = r->body;
        r->body = r->raw;
        r->body.max = s->cfg.max_body;
        r->raw = tmp;
    }
    /* Decoding a body takes several times its size (protobuf-c's tree, the span model, the
     * stored JSON): the arena may grow to a multiple of this body, not of the largest allowed. */
    r->arena.cap = (16u << 20) + 12 * r->body.len;
    if (!r->route) {
        s->cfg.not_found(r);
        return;
    }
    r->route->handler(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    (void)version;
    vt_server_t *s = cls;
    vt_req_t *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->conn = c;
        r->server = s;
        r->app = s->cfg.app;
        r->method = method;
        r->path = url;
        r->status = 200;
        vt_arena_init(&r->arena, 16u << 20);
        vt_buf_init(&r->raw, s->cfg.max_body);
        vt_buf_init(&r->body, s->cfg.max_body);
        vt_buf_init(&r->resp, 0);
        *con_cls = r;
        req_begin(r);
        r->state = REQ_BODY;
        return MHD_YES;
    }
    if (r->state == REQ_BODY && *upload_data_size) {
        req_body(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->state == REQ_BODY) {
        if (!r->discard)
            req_run(r);
        /* Not r->state: the writer may already have resumed the request (state REQ_DONE)
         * before this thread got here, and the response must wait for MHD to call again. */
        if (r->suspended) {
            r->suspended = false;
            return MHD_YES;
        }
        r->state = REQ_DONE;
    }
    if (r->state == REQ_DONE)
        return send_response(r);
    return MHD_YES; /* REQ_WAITING: a spurious call before resume */
}

static void log_mhd(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    vt_log_debug("http: %s", msg);
}

vt_err_t vt_server_start(const vt_server_config_t *cfg, vt_server_t **out, char *err, size_t errlen) {
    vt_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return VT_ENOMEM;
    s->cfg = *cfg;
    atomic_init(&s->inflight, 0);
    unsigned threads = cfg->threads ? cfg->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;

    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    struct sockaddr *sa;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (inet_pton(AF_INET, cfg->host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons(cfg->port);
        sa = (struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, cfg->host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons(cfg->port);
        sa = (struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "listen address %s is not an IPv4 or IPv6 address", cfg->host);
        free(s);
        return VT_EINVAL;
    }

    s->daemon = MHD_start_daemon(
        flags, cfg->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%u (address in use or not available)", cfg->host,
                 cfg->port);
        free(s);
        return VT_EUNAVAIL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : cfg->port;
    *out = s;
    return VT_OK;
}

uint16_t vt_server_port(const vt_server_t *s) {
    return s->port;
}

void vt_server_stop(vt_server_t *s) {
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
