/*
 * loadgen.c - the load generator of the ingest benchmark: keep-alive HTTP/1.1 connections to a
 * voxtrace on the loopback interface, each posting OTLP protobuf ExportTraceServiceRequest
 * bodies to POST /v1/traces as fast as the server answers (a closed loop: a connection sends
 * its next request when the previous one is answered).
 *
 *   loadgen --mode batch|single --port P --key KEY --sim SIMULATION_ID
 *           [--conns C] [--spans S] [--duration SECONDS] [--warmup SECONDS] [--requests N]
 *   loadgen --free-port        prints a loopback TCP port that is free right now
 *
 * batch:  S spans per request (default 512), C connections (default 4); the figure is spans/s
 *         acknowledged, i.e. in 200 answers, minus any the server reports as rejected.
 * single: 1 span per request, 64 connections by default; the figures are requests/s and the
 *         latency percentiles (send of the first byte to receipt of the whole answer). Each
 *         connection is one agent with a SimpleSpanProcessor: it sends the spans of a call
 *         one request at a time, LG_CALL_SPANS - 1 children of one trace, then starts the next
 *         call (the root span is left out: with fixed-size rewriting a body cannot lose its
 *         parent field).
 *
 * Bodies are encoded once, with the protobuf-c code the build generates from proto/, and then
 * only their ids and times are rewritten in place for each request (fixed-size fields, so the
 * length never changes): every span sent is a new one, never a duplicate, and the generator
 * spends its CPU on the socket, not on encoding. In batch mode each request is one whole call
 * and the rows are exactly those of bench_rows.h that the raw SQLite ceiling inserts.
 *
 * One thread, epoll, non-blocking sockets. Bounded: at most LG_MAX_CONNS connections,
 * LG_MAX_DURATION seconds, LG_MAX_SAMPLES latency samples, a fixed answer buffer per connection;
 * connects only to 127.0.0.1. Prints human lines, then one machine line starting "RESULT".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include "bench_rows.h"

#define LG_MAX_CONNS 256
#define LG_MAX_SPANS 4096
#define LG_MAX_DURATION 120
#define LG_MAX_SAMPLES (4u << 20)
#define LG_RESP_CAP 65536
#define LG_DRAIN_S 10.0       /* how long in-flight requests may take after the end */
#define LG_MAX_ERRORS 1000    /* connection failures before giving up */
#define LG_CALL_SPANS 512     /* spans of one call (trace) in single mode, root included */

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest lg_export_req_t;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse lg_export_resp_t;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans lg_resource_spans_t;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans lg_scope_spans_t;
typedef Opentelemetry__Proto__Trace__V1__Span lg_span_t;
typedef Opentelemetry__Proto__Trace__V1__Status lg_status_t;
typedef Opentelemetry__Proto__Resource__V1__Resource lg_resource_t;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope lg_scope_t;
typedef Opentelemetry__Proto__Common__V1__KeyValue lg_kv_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue lg_any_t;

/* ---------------------------------------------------------------------------------------- */
/* State                                                                                    */
/* ---------------------------------------------------------------------------------------- */

/* Where one span's rewritable fields sit in the encoded body. */
typedef struct {
    size_t trace, span, parent, start, end; /* parent is unused for the root (index 0) */
} lg_offs_t;

typedef struct {
    int fd;
    bool busy;           /* a request is in flight */
    bool want_out;       /* registered for EPOLLOUT because a send would block */
    char *req;           /* header + body, rewritten before each request */
    size_t sent;         /* bytes of req written so far */
    double t_send;       /* when the request's first byte went out */
    uint64_t call;       /* single mode: the call (trace) this connection is sending */
    uint32_t next_index; /* single mode: index in the call of the next span, 0 = no call yet */
    char resp[LG_RESP_CAP];
    size_t resp_len;
} lg_conn_t;

typedef struct {
    /* options */
    bool single;
    unsigned port, conns, spans, duration, warmup;
    uint32_t base;                   /* index in its call of a body's first span (0 or 1) */
    unsigned long long max_requests; /* 0 = no cap */
    const char *key, *sim;

    /* the request */
    uint64_t seed, t0;
    lg_offs_t *offs;
    size_t hdr_len, body_len, req_len;
    uint64_t next_call;         /* calls (traces) started */
    uint64_t started;           /* requests started */

    /* the run */
    int ep;
    lg_conn_t *conn;
    unsigned active;            /* connections still open */
    double t_start, t_warm, t_end, t_last_done;

    /* results in the measured window [t_warm, t_end) */
    unsigned long long ok, non200, rejected, acked, done;
    unsigned long long status_count[600];
    uint64_t *lat_ns;           /* latency samples of requests sent inside the window */
    size_t n_lat;
    /* results over the whole run, for a cross-check against the server's stored count */
    unsigned long long total_acked, total_ok, errors;
    char first_error[240];
} lg_t;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void put_u64le(char *p, uint64_t v) {
    for (int k = 0; k < 8; k++, v >>= 8)
        p[k] = (char)(uint8_t)v;
}

/* ---------------------------------------------------------------------------------------- */
/* The request body                                                                         */
/* ---------------------------------------------------------------------------------------- */

/* Sentinel i of kind k: a random-looking value, distinct for every (k, i), put into a field of
 * the template so that the field can be found in the encoded bytes. */
static uint64_t sentinel(uint64_t seed, unsigned k, uint32_t i) {
    return bench_mix(bench_mix(seed ^ 0x5e47u) + ((uint64_t)k << 32) + i);
}

static lg_kv_t *kv_new(lg_kv_t *kv, lg_any_t *v, const char *key) {
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(v);
    kv->key = (char *)key;
    kv->value = v;
    return kv;
}

/* Finds the 8 (or 16) sentinel bytes in body[from..]; returns the offset or (size_t)-1. */
static size_t find_bytes(const uint8_t *body, size_t len, size_t from, const uint8_t *pat,
                         size_t n) {
    const void *p = memmem(body + from, len - from, pat, n);
    return p ? (size_t)((const uint8_t *)p - body) : (size_t)-1;
}

/* Encodes the template request into out (malloc'd) and records the offsets of every span's
 * ids and times. Span k of the body is span g->base + k of its call: the root when that is 0,
 * otherwise a child with a parent id. Returns false with a message on stderr on failure. */
static bool build_template(lg_t *g, uint8_t **out, size_t *out_len) {
    uint32_t n = g->spans;
    bool ok = false;
    uint8_t *body = NULL;
    lg_span_t *spans = calloc(n, sizeof *spans);
    lg_span_t **span_ptrs = calloc(n, sizeof *span_ptrs);
    lg_kv_t *kvs = calloc((size_t)n * BENCH_ATTRS, sizeof *kvs);
    lg_kv_t **kv_ptrs = calloc((size_t)n * BENCH_ATTRS, sizeof *kv_ptrs);
    lg_any_t *anys = calloc((size_t)n * BENCH_ATTRS, sizeof *anys);
    uint8_t (*ids)[4][8] = calloc(n, sizeof *ids); /* span, parent, start, end */
    lg_status_t status;
    uint8_t trace[16];
    g->offs = calloc(n, sizeof *g->offs);
    if (!spans || !span_ptrs || !kvs || !kv_ptrs || !anys || !ids || !g->offs) {
        fprintf(stderr, "loadgen: out of memory\n");
        goto out;
    }
    bench_put_u64be(trace, sentinel(g->seed, 0, 0));
    bench_put_u64be(trace + 8, sentinel(g->seed, 0, 1));
    opentelemetry__proto__trace__v1__status__init(&status);
    status.code = 1; /* STATUS_CODE_OK */

    for (uint32_t i = 0; i < n; i++) {
        uint32_t idx = g->base + i; /* the span's index in its call */
        lg_span_t *s = &spans[i];
        opentelemetry__proto__trace__v1__span__init(s);
        span_ptrs[i] = s;
        bench_put_u64be(ids[i][0], sentinel(g->seed, 1, i));
        /* A child's parent id will be the root's span id; in the template it gets a sentinel
         * of its own so that every field can be found. */
        bench_put_u64be(ids[i][1], sentinel(g->seed, 2, i));
        put_u64le((char *)ids[i][2], sentinel(g->seed, 3, i));
        put_u64le((char *)ids[i][3], sentinel(g->seed, 4, i));
        s->trace_id = (ProtobufCBinaryData){16, trace};
        s->span_id = (ProtobufCBinaryData){8, ids[i][0]};
        if (idx)
            s->parent_span_id = (ProtobufCBinaryData){8, ids[i][1]};
        s->name = (char *)bench_span_name(idx);
        s->kind = 1; /* SPAN_KIND_INTERNAL */
        /* The encoder writes fixed64 little-endian, so the sentinel's bytes reappear as is. */
        memcpy(&s->start_time_unix_nano, ids[i][2], 8);
        memcpy(&s->end_time_unix_nano, ids[i][3], 8);
        s->flags = 1; /* sampled */
        s->status = &status;
        bench_attr_t a[BENCH_ATTRS];
        bench_attrs(idx, a);
        for (int k = 0; k < BENCH_ATTRS; k++) {
            size_t j = (size_t)i * BENCH_ATTRS + (size_t)k;
            lg_kv_t *kv = kv_ptrs[j] = kv_new(&kvs[j], &anys[j], a[k].key);
            switch (a[k].type) {
            case BENCH_STR:
                kv->value->value_case =
                    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
                kv->value->string_value = (char *)a[k].s;
                break;
            case BENCH_INT:
                kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
                kv->value->int_value = a[k].i64;
                break;
            case BENCH_DOUBLE:
                kv->value->value_case =
                    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
                kv->value->double_value = a[k].dbl;
                break;
            case BENCH_BOOL:
                kv->value->value_case =
                    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
                kv->value->bool_value = a[k].boolean;
                break;
            }
        }
        s->n_attributes = BENCH_ATTRS;
        s->attributes = &kv_ptrs[(size_t)i * BENCH_ATTRS];
    }

    /* One resource and one scope, as an agent process sends them. */
    static const char *const res_keys[] = {"service.name", "agent.name", "agent.provider",
                                           "telemetry.sdk.language"};
    static const char *const res_vals[] = {"bench-voice-agent", "scheduler", "pipecat", "python"};
    lg_kv_t rkv[4], *rkv_ptrs[4];
    lg_any_t rany[4];
    for (int k = 0; k < 4; k++) {
        rkv_ptrs[k] = kv_new(&rkv[k], &rany[k], res_keys[k]);
        rany[k].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        rany[k].string_value = (char *)res_vals[k];
    }
    lg_resource_t res;
    opentelemetry__proto__resource__v1__resource__init(&res);
    res.n_attributes = 4;
    res.attributes = rkv_ptrs;
    lg_scope_t scope;
    opentelemetry__proto__common__v1__instrumentation_scope__init(&scope);
    scope.name = "voxtrace-bench";
    scope.version = "1.0.0";
    lg_scope_spans_t ss, *ss_ptr = &ss;
    opentelemetry__proto__trace__v1__scope_spans__init(&ss);
    ss.scope = &scope;
    ss.n_spans = n;
    ss.spans = span_ptrs;
    lg_resource_spans_t rs, *rs_ptr = &rs;
    opentelemetry__proto__trace__v1__resource_spans__init(&rs);
    rs.resource = &res;
    rs.n_scope_spans = 1;
    rs.scope_spans = &ss_ptr;
    lg_export_req_t req;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
    req.n_resource_spans = 1;
    req.resource_spans = &rs_ptr;

    size_t len = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(&req);
    body = malloc(len);
    if (!body) {
        fprintf(stderr, "loadgen: out of memory\n");
        goto out;
    }
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, body);

    /* Spans are encoded in order, so each one's fields lie after the previous one's. */
    size_t cursor = 0;
    for (uint32_t i = 0; i < n; i++) {
        lg_offs_t *o = &g->offs[i];
        size_t far = cursor;
        size_t *slot[5] = {&o->trace, &o->span, &o->parent, &o->start, &o->end};
        const uint8_t *pat[5] = {trace, ids[i][0], ids[i][1], ids[i][2], ids[i][3]};
        for (int k = 0; k < 5; k++) {
            if (k == 2 && g->base + i == 0)
                continue;
            *slot[k] = find_bytes(body, len, cursor, pat[k], k == 0 ? 16 : 8);
            if (*slot[k] == (size_t)-1) {
                fprintf(stderr, "loadgen: cannot find field %d of span %u in the template\n", k,
                        i);
                goto out;
            }
            if (*slot[k] > far)
                far = *slot[k];
        }
        cursor = far;
    }
    *out = body;
    *out_len = len;
    body = NULL;
    ok = true;

out:
    free(body);
    free(spans);
    free(span_ptrs);
    free(kvs);
    free(kv_ptrs);
    free(anys);
    free(ids);
    return ok;
}

/* Rewrites the ids and times of body: its spans become spans first, first + 1, ... of call
 * number `call`. Only ids and times change; names and attributes stay the template's. */
static void patch(const lg_t *g, char *body, uint64_t call, uint32_t first) {
    uint8_t tid[16], root[8], sid[8];
    bench_trace_id(g->seed, call, tid);
    bench_span_id(g->seed, call, 0, root);
    for (uint32_t k = 0; k < g->spans; k++) {
        const lg_offs_t *o = &g->offs[k];
        uint32_t i = first + k;
        memcpy(body + o->trace, tid, 16);
        bench_span_id(g->seed, call, i, sid);
        memcpy(body + o->span, sid, 8);
        if (g->base + k)
            memcpy(body + o->parent, root, 8);
        put_u64le(body + o->start, bench_start_ns(g->t0, call, i));
        put_u64le(body + o->end, bench_end_ns(g->t0, call, i));
    }
}

/* Decodes a patched body and checks every id and time against what patch meant to write, so
 * that a sentinel found in the wrong place can never go unnoticed. */
static bool verify(const lg_t *g, const char *body, uint64_t call) {
    lg_export_req_t *req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
        NULL, g->body_len, (const uint8_t *)body);
    bool ok = req && req->n_resource_spans == 1 && req->resource_spans[0]->n_scope_spans == 1 &&
              req->resource_spans[0]->scope_spans[0]->n_spans == g->spans;
    uint8_t tid[16], root[8], sid[8];
    bench_trace_id(g->seed, call, tid);
    bench_span_id(g->seed, call, 0, root);
    for (uint32_t k = 0; ok && k < g->spans; k++) {
        const lg_span_t *s = req->resource_spans[0]->scope_spans[0]->spans[k];
        uint32_t i = g->base + k;
        bench_span_id(g->seed, call, i, sid);
        ok = s->trace_id.len == 16 && !memcmp(s->trace_id.data, tid, 16) && s->span_id.len == 8 &&
             !memcmp(s->span_id.data, sid, 8) &&
             (i ? s->parent_span_id.len == 8 && !memcmp(s->parent_span_id.data, root, 8)
                : s->parent_span_id.len == 0) &&
             s->start_time_unix_nano == bench_start_ns(g->t0, call, i) &&
             s->end_time_unix_nano == bench_end_ns(g->t0, call, i) &&
             s->n_attributes == BENCH_ATTRS && !strcmp(s->name, bench_span_name(i));
    }
    if (req)
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
            req, NULL);
    if (!ok)
        fprintf(stderr, "loadgen: the rewritten template does not decode as intended\n");
    return ok;
}

/* ---------------------------------------------------------------------------------------- */
/* Connections                                                                              */
/* ---------------------------------------------------------------------------------------- */

static void note_error(lg_t *g, const char *fmt, const char *detail) {
    g->errors++;
    if (!g->first_error[0])
        snprintf(g->first_error, sizeof g->first_error, fmt, detail);
}

static bool conn_open(lg_t *g, lg_conn_t *c) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        note_error(g, "connect: %s", strerror(errno));
        goto fail;
    }
    /* Connected blocking (loopback answers at once), then non-blocking for the loop. */
    int fl = fcntl(c->fd, F_GETFL);
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 || fl < 0 ||
        fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) != 0)
        goto fail;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(g->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        goto fail;
    c->busy = c->want_out = false;
    return true;

fail:
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    return false;
}

static void conn_close(lg_t *g, lg_conn_t *c) {
    if (c->fd >= 0) {
        epoll_ctl(g->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->busy = false;
}

static void want_out(lg_t *g, lg_conn_t *c, bool on) {
    if (c->want_out == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(g->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = on;
}

/* Writes as much of the request as the socket takes. False when the connection failed. */
static bool conn_send(lg_t *g, lg_conn_t *c) {
    while (c->sent < g->req_len) {
        ssize_t n = send(c->fd, c->req + c->sent, g->req_len - c->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                want_out(g, c, true);
                return true;
            }
            if (errno == EINTR)
                continue;
            note_error(g, "send: %s", strerror(errno));
            return false;
        }
        c->sent += (size_t)n;
    }
    want_out(g, c, false);
    return true;
}

/* Starts the next request on c, unless the run is over or the request cap is reached. Returns
 * false when c should be closed instead. */
static bool conn_next(lg_t *g, lg_conn_t *c, double now) {
    if (now >= g->t_end || (g->max_requests && g->started >= g->max_requests))
        return false;
    g->started++;
    if (!g->single) {
        patch(g, c->req + g->hdr_len, g->next_call++, 0);
    } else {
        if (c->next_index == 0 || c->next_index >= LG_CALL_SPANS) {
            c->call = g->next_call++;
            c->next_index = 1;
        }
        patch(g, c->req + g->hdr_len, c->call, c->next_index++);
    }
    c->sent = 0;
    c->resp_len = 0;
    c->busy = true;
    c->t_send = now_s();
    return conn_send(g, c);
}

/* Parses the answer in c->resp. Returns 1 when complete (status, body and whether the server
 * closes the connection filled in), 0 when more bytes are needed, -1 when malformed. */
static int parse_response(lg_conn_t *c, int *status, const char **body, size_t *body_len,
                          bool *closes) {
    const char *p = c->resp, *end = memmem(p, c->resp_len, "\r\n\r\n", 4);
    if (!end)
        return c->resp_len == sizeof c->resp ? -1 : 0;
    if (end - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ')
        return -1;
    int st = 0;
    for (int k = 9; k < 12; k++) {
        if (p[k] < '0' || p[k] > '9')
            return -1;
        st = st * 10 + (p[k] - '0');
    }
    long long clen = -1;
    *closes = p[7] == '0'; /* HTTP/1.0 closes unless told otherwise; the server speaks 1.1 */
    for (const char *line = memchr(p, '\n', (size_t)(end - p)); line && line < end;
         line = memchr(line, '\n', (size_t)(end - line))) {
        line++;
        if (!strncasecmp(line, "content-length:", 15))
            clen = strtoll(line + 15, NULL, 10);
        else if (!strncasecmp(line, "transfer-encoding:", 18))
            return -1; /* the server answers with a length; chunked answers are not expected */
        else if (!strncasecmp(line, "connection:", 11)) {
            const char *v = line + 11;
            while (*v == ' ')
                v++;
            *closes = !strncasecmp(v, "close", 5);
        }
    }
    size_t hdr = (size_t)(end - p) + 4;
    if (clen < 0)
        clen = (st == 204 || st == 304) ? 0 : -1;
    if (clen < 0 || (unsigned long long)clen > sizeof c->resp - hdr)
        return -1;
    if (c->resp_len < hdr + (size_t)clen)
        return 0;
    if (c->resp_len > hdr + (size_t)clen)
        return -1; /* bytes after the answer: nothing was pipelined, so this is a server bug */
    *status = st;
    *body = p + hdr;
    *body_len = (size_t)clen;
    return 1;
}

/* Books one complete answer. */
static void record(lg_t *g, lg_conn_t *c, int status, const char *body, size_t body_len,
                   double now) {
    uint64_t rejected = 0;
    if (status == 200 && body_len > 0) {
        lg_export_resp_t *r =
            opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
                NULL, body_len, (const uint8_t *)body);
        if (!r) {
            note_error(g, "%s", "a 200 answer is not an ExportTraceServiceResponse");
        } else {
            if (r->partial_success && r->partial_success->rejected_spans > 0)
                rejected = (uint64_t)r->partial_success->rejected_spans;
            opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(
                r, NULL);
        }
    }
    uint64_t acked = status == 200 ? g->spans - (rejected < g->spans ? rejected : g->spans) : 0;
    if (status == 200) {
        g->total_ok++;
        g->total_acked += acked;
    }
    if (status != 200 && !g->first_error[0]) {
        /* Keep the first error answer for the report, printable characters only. */
        int n = snprintf(g->first_error, sizeof g->first_error, "HTTP %d: ", status);
        for (size_t k = 0; k < body_len && (size_t)n + 1 < sizeof g->first_error; k++)
            g->first_error[n++] = (body[k] >= 32 && body[k] < 127) ? body[k] : '.';
        g->first_error[n] = '\0';
    }
    if (now < g->t_warm || now >= g->t_end)
        return;
    g->done++;
    g->t_last_done = now;
    g->status_count[status < 600 ? status : 0]++;
    if (status == 200) {
        g->ok++;
        g->acked += acked;
        g->rejected += rejected;
    } else {
        g->non200++;
    }
    if (c->t_send >= g->t_warm && g->n_lat < LG_MAX_SAMPLES)
        g->lat_ns[g->n_lat++] = (uint64_t)((now - c->t_send) * 1e9);
}

/* Handles readiness of c; closes or reopens it when its request is over for good. */
static void conn_event(lg_t *g, lg_conn_t *c, uint32_t events) {
    if ((events & EPOLLOUT) && c->busy && c->sent < g->req_len && !conn_send(g, c))
        goto broken;
    if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        return;
    ssize_t n = recv(c->fd, c->resp + c->resp_len, sizeof c->resp - c->resp_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        note_error(g, "connection closed by the server%s", c->busy ? " during a request" : "");
        goto broken;
    }
    c->resp_len += (size_t)n;
    int status = 0;
    const char *body = NULL;
    size_t body_len = 0;
    bool closes = false;
    int pr = parse_response(c, &status, &body, &body_len, &closes);
    if (pr == 0)
        return;
    if (pr < 0) {
        note_error(g, "%s", "malformed HTTP answer");
        goto broken;
    }
    double now = now_s();
    record(g, c, status, body, body_len, now);
    c->busy = false;
    if (closes) {
        conn_close(g, c);
        if (!conn_open(g, c))
            goto gone;
    }
    if (!conn_next(g, c, now))
        goto gone;
    return;

broken:
    /* A failed request is not retried; the connection is reopened and goes on. */
    conn_close(g, c);
    if (g->errors < LG_MAX_ERRORS && conn_open(g, c) && conn_next(g, c, now_s()))
        return;
gone:
    conn_close(g, c);
    g->active--;
}

/* ---------------------------------------------------------------------------------------- */
/* Run and report                                                                           */
/* ---------------------------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples, in milliseconds. */
static double pct_ms(const uint64_t *v, size_t n, double p) {
    if (!n)
        return 0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)v[rank - 1] / 1e6;
}

static bool run(lg_t *g) {
    g->ep = epoll_create1(EPOLL_CLOEXEC);
    if (g->ep < 0) {
        perror("loadgen: epoll_create1");
        return false;
    }
    g->t_start = now_s();
    g->t_warm = g->t_start + g->warmup;
    g->t_end = g->t_warm + g->duration;
    for (unsigned i = 0; i < g->conns; i++) {
        lg_conn_t *c = &g->conn[i];
        if (!conn_open(g, c)) {
            fprintf(stderr, "loadgen: cannot connect to 127.0.0.1:%u: %s\n", g->port,
                    g->first_error);
            return false;
        }
        g->active++;
    }
    for (unsigned i = 0; i < g->conns; i++) {
        lg_conn_t *c = &g->conn[i];
        if (!conn_next(g, c, now_s())) {
            conn_close(g, c);
            g->active--;
        }
    }
    struct epoll_event evs[LG_MAX_CONNS];
    while (g->active > 0) {
        double now = now_s();
        if (now >= g->t_end + LG_DRAIN_S) {
            fprintf(stderr, "loadgen: %u requests still unanswered %.0f s after the end\n",
                    g->active, LG_DRAIN_S);
            break;
        }
        int n = epoll_wait(g->ep, evs, LG_MAX_CONNS, 100);
        if (n < 0 && errno != EINTR) {
            perror("loadgen: epoll_wait");
            return false;
        }
        for (int i = 0; i < n; i++)
            conn_event(g, evs[i].data.ptr, evs[i].events);
        /* Idle connections past the end are closed here; busy ones when answered. */
        if (now_s() >= g->t_end)
            for (unsigned i = 0; i < g->conns; i++)
                if (g->conn[i].fd >= 0 && !g->conn[i].busy) {
                    conn_close(g, &g->conn[i]);
                    g->active--;
                }
    }
    for (unsigned i = 0; i < g->conns; i++)
        conn_close(g, &g->conn[i]);
    close(g->ep);
    return true;
}

static void report(lg_t *g) {
    /* With a request cap the run may end before t_end: measure up to the last answer. */
    double end = g->t_end;
    if (g->max_requests && g->t_last_done > g->t_warm && g->t_last_done < end)
        end = g->t_last_done;
    double secs = end - g->t_warm;
    if (secs <= 0)
        secs = 1e-9;
    qsort(g->lat_ns, g->n_lat, sizeof *g->lat_ns, cmp_u64);
    double p50 = pct_ms(g->lat_ns, g->n_lat, 50), p99 = pct_ms(g->lat_ns, g->n_lat, 99),
           pmax = g->n_lat ? (double)g->lat_ns[g->n_lat - 1] / 1e6 : 0;
    char codes[256] = "";
    size_t cl = 0;
    for (int s = 0; s < 600 && cl + 16 < sizeof codes; s++)
        if (s != 200 && g->status_count[s])
            cl += (size_t)snprintf(codes + cl, sizeof codes - cl, "%s%d:%llu", cl ? "," : "", s,
                                   g->status_count[s]);
    printf("%s: %u connections, %u span(s)/request, %u-byte bodies, %.1f s measured after %u s "
           "warm-up\n",
           g->single ? "single" : "batch", g->conns, g->spans, (unsigned)g->body_len, secs,
           g->warmup);
    printf("  %.0f requests/s, %.0f spans/s acknowledged; %llu answers: %llu x 200, %llu other "
           "(%s), %llu spans rejected, %llu connection errors\n",
           (double)g->ok / secs, (double)g->acked / secs, g->done, g->ok, g->non200,
           codes[0] ? codes : "none", g->rejected, g->errors);
    printf("  latency p50 %.3f ms, p99 %.3f ms, max %.3f ms (%zu samples)\n", p50, p99, pmax,
           g->n_lat);
    /* The generator shares the machine with the server; its own CPU time shows how much. */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("  load generator CPU: %.2f s over the whole run\n", cpu);
    if (g->first_error[0])
        printf("  first error: %s\n", g->first_error);
    printf("RESULT mode=%s conns=%u spans_per_req=%u body_bytes=%u seconds=%.3f ok=%llu "
           "non200=%llu rejected_spans=%llu errors=%llu req_per_s=%.0f spans_per_s=%.0f "
           "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f total_ok=%llu total_acked_spans=%llu cpu_s=%.2f\n",
           g->single ? "single" : "batch", g->conns, g->spans, (unsigned)g->body_len, secs, g->ok,
           g->non200, g->rejected, g->errors, (double)g->ok / secs, (double)g->acked / secs, p50,
           p99, pmax, g->total_ok, g->total_acked, cpu);
}

/* ---------------------------------------------------------------------------------------- */
/* Command line                                                                             */
/* ---------------------------------------------------------------------------------------- */

static int usage(void) {
    fprintf(stderr,
            "usage: loadgen --mode batch|single --port P --key KEY --sim SIMULATION_ID\n"
            "               [--conns C (<= %d)] [--spans S (<= %d, batch)] [--duration S (<= %d)]\n"
            "               [--warmup S] [--requests N]\n"
            "       loadgen --free-port\n",
            LG_MAX_CONNS, LG_MAX_SPANS, LG_MAX_DURATION);
    return 2;
}

/* Parses an integer in [min, max]; false when it is not one. */
static bool parse_uint(const char *s, unsigned long long min, unsigned long long max,
                       unsigned long long *out) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || s[0] == '-' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Prints a port that the kernel considers free on 127.0.0.1 at this moment. */
static int free_port(void) {
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        perror("loadgen: free port");
        if (fd >= 0)
            close(fd);
        return 1;
    }
    printf("%u\n", ntohs(sa.sin_port));
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "--free-port"))
        return free_port();
    lg_t *g = calloc(1, sizeof *g);
    if (!g)
        return 1;
    const char *mode = NULL;
    unsigned long long conns = 0, spans = 0, port = 0, duration = 10, warmup = 1, reqs = 0;
    bool bad = false;
    for (int i = 1; i < argc && !bad; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            bad = true;
        else if (!strcmp(k, "--mode"))
            mode = v;
        else if (!strcmp(k, "--key"))
            g->key = v;
        else if (!strcmp(k, "--sim"))
            g->sim = v;
        else if (!strcmp(k, "--port"))
            bad = !parse_uint(v, 1, 65535, &port);
        else if (!strcmp(k, "--conns"))
            bad = !parse_uint(v, 1, LG_MAX_CONNS, &conns);
        else if (!strcmp(k, "--spans"))
            bad = !parse_uint(v, 1, LG_MAX_SPANS, &spans);
        else if (!strcmp(k, "--duration"))
            bad = !parse_uint(v, 1, LG_MAX_DURATION, &duration);
        else if (!strcmp(k, "--warmup"))
            bad = !parse_uint(v, 0, 30, &warmup);
        else if (!strcmp(k, "--requests"))
            bad = !parse_uint(v, 1, 100000000, &reqs);
        else
            bad = true;
    }
    if (bad || !mode || (strcmp(mode, "batch") && strcmp(mode, "single")) || !port || !g->key ||
        !g->sim) {
        free(g);
        return usage();
    }
    /* Header values go into the request verbatim: refuse anything that could split it. */
    if (strpbrk(g->key, "\r\n") || strpbrk(g->sim, "\r\n") || strlen(g->key) > 512 ||
        strlen(g->sim) > 512) {
        free(g);
        return usage();
    }
    g->single = !strcmp(mode, "single");
    g->port = (unsigned)port;
    g->conns = (unsigned)(conns ? conns : g->single ? 64 : 4);
    g->spans = g->single ? 1 : (unsigned)(spans ? spans : 512);
    g->base = g->single ? 1 : 0;
    g->duration = (unsigned)duration;
    g->warmup = (unsigned)warmup;
    g->max_requests = reqs;
    g->seed = wall_ns();
    g->t0 = g->seed;

    int rc = 1;
    uint8_t *tmpl = NULL;
    g->conn = calloc(g->conns, sizeof *g->conn);
    g->lat_ns = malloc(LG_MAX_SAMPLES * sizeof *g->lat_ns);
    if (!g->conn || !g->lat_ns || !build_template(g, &tmpl, &g->body_len))
        goto out;

    char hdr[1400];
    int hl = snprintf(hdr, sizeof hdr,
                      "POST /v1/traces HTTP/1.1\r\n"
                      "Host: 127.0.0.1:%u\r\n"
                      "User-Agent: voxtrace-bench-loadgen\r\n"
                      "Content-Type: application/x-protobuf\r\n"
                      "X-API-Key: %s\r\n"
                      "X-Simulation-Id: %s\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      g->port, g->key, g->sim, g->body_len);
    if (hl < 0 || (size_t)hl >= sizeof hdr)
        goto out;
    g->hdr_len = (size_t)hl;
    g->req_len = g->hdr_len + g->body_len;
    for (unsigned i = 0; i < g->conns; i++) {
        g->conn[i].fd = -1;
        g->conn[i].req = malloc(g->req_len);
        if (!g->conn[i].req)
            goto out;
        memcpy(g->conn[i].req, hdr, g->hdr_len);
        memcpy(g->conn[i].req + g->hdr_len, tmpl, g->body_len);
    }
    /* Call numbers start at 0; check the rewriting on a number no request will use. */
    patch(g, g->conn[0].req + g->hdr_len, UINT64_MAX, g->base);
    if (!verify(g, g->conn[0].req + g->hdr_len, UINT64_MAX))
        goto out;
    if (!run(g))
        goto out;
    report(g);
    rc = g->ok > 0 ? 0 : 1;

out:
    if (g->conn)
        for (unsigned i = 0; i < g->conns; i++)
            free(g->conn[i].req);
    free(g->conn);
    free(g->lat_ns);
    free(g->offs);
    free(tmpl);
    free(g);
    return rc;
}
