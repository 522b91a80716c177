/*
 * otlp_pb.c - OTLP/protobuf: an ExportTraceServiceRequest body into the span model of span.h,
 * and the protobuf response bodies of otlp_pb.h.
 *
 * Decoding takes three steps. A wire-format walker reads the whole body first: it checks that
 * the body is well formed, that every known field has the wire type of its declaration, and that
 * attribute values nest no deeper than VT_MAX_VALUE_DEPTH. Only then does the generated
 * protobuf-c code unpack it. protobuf-c recurses on the C stack once per nested message, and the
 * schema lets AnyValue nest without end, so a hostile body would otherwise choose how deep we
 * recurse; it also reads length prefixes in 32-bit arithmetic. The walker is driven by the same
 * descriptors protobuf-c unpacks with, so the two cannot disagree about which fields are
 * messages. The unpacked tree is allocated from the caller's arena, and the last step flattens
 * it into a vt_batch_t whose strings point into that tree.
 */
#include "otlp_pb.h"

#include "limits.h"
#include "span.h"

#include <google/rpc/status.pb-c.h>
#include <opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>

/* Shorter names for the generated types. */
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest pb_request_t;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse pb_response_t;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess pb_partial_t;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans pb_resource_spans_t;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans pb_scope_spans_t;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span_t;
typedef Opentelemetry__Proto__Trace__V1__Span__Event pb_event_t;
typedef Opentelemetry__Proto__Trace__V1__Span__Link pb_link_t;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any_t;

/* ---- wire-format walker ---------------------------------------------------------------------- */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

/* Nesting of messages allowed at all. The trace schema reaches an attribute value 6 levels
 * down and each of the VT_MAX_VALUE_DEPTH nested arrays/kvlists adds at most 3 more, so this
 * is never reached by a body the depth check lets through; it bounds the walker's own recursion
 * whatever the schema becomes. */
#define WALK_MAX_LEVELS 64

/* Bodies are capped well below the 4 GiB at which protobuf-c's 32-bit length arithmetic would
 * wrap; HTTP caps them far lower anyway. */
#define PB_MAX_BODY ((size_t)INT32_MAX)

typedef struct {
    const uint8_t *base;               /* start of the body, for byte offsets in messages */
    const char *path[WALK_MAX_LEVELS]; /* path[i]: the field that led from level i to i + 1 */
    char *err;                         /* caller's message buffer */
    size_t errlen;
} walk_t;

/* Writes "<reason> at byte N (in a.b.c)" and returns VT_EINVAL. level names are taken from
 * w->path, then `field` (the field being read, may be NULL). A long path keeps its two ends. */
__attribute__((format(printf, 5, 6))) static vt_err_t
walk_fail(walk_t *w, int level, const uint8_t *at, const char *field, const char *fmt, ...) {
    if (!w->err || !w->errlen)
        return VT_EINVAL;
    const char *names[WALK_MAX_LEVELS + 1];
    int n = 0;
    for (int i = 0; i < level; i++)
        names[n++] = w->path[i];
    if (field)
        names[n++] = field;

    char path[320];
    size_t pl = 0;
    path[0] = '\0';
    for (int i = 0; i < n && pl < sizeof path; i++) {
        /* Keep the first 6 and the last 3 names of a deep path. */
        if (n > 10 && i == 6) {
            pl += (size_t)snprintf(path + pl, sizeof path - pl, "...");
            i = n - 4;
            continue;
        }
        int k = snprintf(path + pl, sizeof path - pl, "%s%s", pl && path[pl - 1] != '.' ? "." : "",
                         names[i]);
        if (k < 0)
            break;
        pl += (size_t)k;
    }

    char reason[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    snprintf(w->err, w->errlen, "%s at byte %zu%s%s%s", reason, (size_t)(at - w->base),
             n ? " (in " : "", n ? path : "", n ? ")" : "");
    return VT_EINVAL;
}

/* Reads a base-128 varint of at most maxbytes bytes. False when it is truncated, longer than
 * maxbytes, or (at 10 bytes) carries bits past 64. */
static inline bool read_varint(const uint8_t **pp, const uint8_t *end, int maxbytes,
                               uint64_t *out) {
    const uint8_t *p = *pp;
    /* Most keys, lengths and small numbers fit in one byte. */
    if (p < end && *p < 0x80) {
        *out = *p;
        *pp = p + 1;
        return true;
    }
    uint64_t v = 0;
    for (int i = 0; i < maxbytes && p < end; i++, p++) {
        if (i == 9 && *p > 1)
            return false;
        v |= (uint64_t)(*p & 0x7f) << (7 * i);
        if (!(*p & 0x80)) {
            *pp = p + 1;
            *out = v;
            return true;
        }
    }
    return false;
}

/* The wire type a field is written with. Repeated scalar fields could also come packed (as
 * WT_LEN), but the trace schema has none, so that form is not accepted here. */
static unsigned wire_type_of(const ProtobufCFieldDescriptor *f) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return WT_I32;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return WT_I64;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return WT_LEN;
    default:
        return WT_VARINT;
    }
}

/* Checks the message of type desc in [p, end) and, recursively, every known message field in
 * it. vdepth counts the arrays and kvlists around the AnyValue values inside (0 for an
 * attribute's own value), with the same meaning as in the JSON decoder: an AnyValue at depth
 * VT_MAX_VALUE_DEPTH may not hold an array or kvlist. Unknown fields are only skipped:
 * protobuf-c keeps them as opaque bytes and never parses them. */
static vt_err_t walk(walk_t *w, const ProtobufCMessageDescriptor *desc, const uint8_t *p,
                     const uint8_t *end, int level, int vdepth) {
    bool is_any = desc == &opentelemetry__proto__common__v1__any_value__descriptor;
    /* The field last looked up: repeated fields come in runs, so it is often the next one. */
    const ProtobufCFieldDescriptor *f = NULL;
    while (p < end) {
        const uint8_t *at = p;
        uint64_t key, v;
        if (!read_varint(&p, end, 5, &key) || key > UINT32_MAX)
            return walk_fail(w, level, at, NULL, "invalid protobuf: bad field key");
        uint32_t num = (uint32_t)(key >> 3);
        unsigned wire = (unsigned)(key & 7);
        if (num == 0)
            return walk_fail(w, level, at, NULL, "invalid protobuf: field number 0");
        if (!f || f->id != num)
            f = protobuf_c_message_descriptor_get_field(desc, num);
        const char *fname = f ? f->name : NULL;

        const uint8_t *body = p;
        switch (wire) {
        case WT_VARINT:
            if (!read_varint(&p, end, 10, &v))
                return walk_fail(w, level, at, fname, "invalid protobuf: bad varint in field %u",
                                 num);
            break;
        case WT_I64:
        case WT_I32: {
            size_t size = wire == WT_I64 ? 8 : 4;
            if ((size_t)(end - p) < size)
                return walk_fail(w, level, at, fname, "invalid protobuf: truncated field %u", num);
            p += size;
            break;
        }
        case WT_LEN:
            if (!read_varint(&p, end, 5, &v))
                return walk_fail(w, level, at, fname, "invalid protobuf: bad length of field %u",
                                 num);
            if (v > (uint64_t)(end - p))
                return walk_fail(w, level, at, fname,
                                 "invalid protobuf: field %u is truncated (%llu bytes announced, "
                                 "%zu left)",
                                 num, (unsigned long long)v, (size_t)(end - p));
            body = p;
            p += v;
            break;
        case WT_SGROUP:
        case WT_EGROUP:
            return walk_fail(w, level, at, fname,
                             "invalid protobuf: field %u uses groups, which are not supported",
                             num);
        default:
            return walk_fail(w, level, at, fname, "invalid protobuf: wire type %u is not valid",
                             wire);
        }
        if (!f)
            continue;
        if (wire != wire_type_of(f))
            return walk_fail(w, level, at, fname,
                             "invalid protobuf: wire type %u where the field's type needs %u", wire,
                             wire_type_of(f));
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        int child_vdepth = vdepth;
        if (is_any) {
            /* AnyValue's only message fields are array_value and kvlist_value. */
            if (vdepth >= VT_MAX_VALUE_DEPTH)
                return walk_fail(w, level, at, fname,
                                 "attribute values nested deeper than %d levels",
                                 VT_MAX_VALUE_DEPTH);
            child_vdepth = vdepth + 1;
        }
        if (level + 1 >= WALK_MAX_LEVELS)
            return walk_fail(w, level, at, fname, "messages nested deeper than %d levels",
                             WALK_MAX_LEVELS);
        w->path[level] = f->name;
        vt_err_t e = walk(w, f->descriptor, body, p, level + 1, child_vdepth);
        if (e)
            return e;
    }
    return VT_OK;
}

/* ---- protobuf-c allocator over the arena ----------------------------------------------------- */

typedef struct {
    vt_arena_t *a;
    bool exhausted; /* an allocation failed: the arena's cap (or malloc) was reached */
} pb_arena_t;

static void *pb_alloc(void *ud, size_t n) {
    pb_arena_t *pa = ud;
    void *p = vt_arena_alloc(pa->a, n);
    if (!p)
        pa->exhausted = true;
    return p;
}

/* Everything is released with the arena, so single frees (protobuf-c makes them when it merges
 * repeated occurrences of a field or gives up half way) do nothing. */
static void pb_free(void *ud, void *p) {
    (void)ud;
    (void)p;
}

/* ---- flattening into the span model ---------------------------------------------------------- */

typedef struct {
    vt_arena_t *a;
    char *err;
    size_t errlen;
} dec_t;

static vt_err_t out_of_memory(dec_t *d) {
    if (d->err && d->errlen)
        snprintf(d->err, d->errlen, "decoded request exceeds the memory limit");
    return VT_ETOOBIG;
}

static uint32_t sat_add_u32(uint32_t a, size_t b) {
    return b > UINT32_MAX - a ? UINT32_MAX : a + (uint32_t)b;
}

/* A protobuf-c string as a sized string, cut to max bytes on a UTF-8 boundary. protobuf-c
 * NUL-terminates its copies without keeping their length, so a string with an embedded NUL
 * ends there. */
static vt_str_t cstr(const char *s, size_t max) {
    if (!s)
        return (vt_str_t){"", 0};
    return vt_otlp_str_truncate_utf8((vt_str_t){s, strlen(s)}, max);
}

static vt_err_t conv_kvs(dec_t *d, pb_kv_t *const *kvs, size_t total, uint32_t max, vt_kv_t **items,
                         uint32_t *n, uint32_t *dropped);

/* Converts one AnyValue (NULL = absent = empty). Recursion is bounded by the walker's depth
 * check. Array and kvlist items beyond VT_MAX_ARRAY_ITEMS are dropped; the model has no counter
 * for them. */
static vt_err_t conv_value(dec_t *d, const pb_any_t *v, vt_value_t *out) {
    memset(out, 0, sizeof *out);
    out->type = VT_VAL_EMPTY;
    if (!v)
        return VT_OK;
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        out->type = VT_VAL_STRING;
        out->u.s = cstr(v->string_value, VT_MAX_ATTR_VALUE_LEN);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        out->type = VT_VAL_BOOL;
        out->u.b = v->bool_value != 0;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        out->type = VT_VAL_INT;
        out->u.i = v->int_value;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        out->type = VT_VAL_DOUBLE;
        out->u.d = v->double_value;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        out->type = VT_VAL_BYTES;
        /* Bytes are not text: cut exactly at the limit. protobuf-c leaves data NULL when empty. */
        out->u.s = v->bytes_value.len
                       ? (vt_str_t){(const char *)v->bytes_value.data,
                                    VT_MIN(v->bytes_value.len, (size_t)VT_MAX_ATTR_VALUE_LEN)}
                       : (vt_str_t){"", 0};
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE: {
        out->type = VT_VAL_ARRAY;
        size_t total = v->array_value ? v->array_value->n_values : 0;
        uint32_t n = (uint32_t)VT_MIN(total, (size_t)VT_MAX_ARRAY_ITEMS);
        if (n == 0)
            break;
        vt_value_t *items = vt_arena_calloc(d->a, n, sizeof *items);
        if (!items)
            return out_of_memory(d);
        for (uint32_t i = 0; i < n; i++) {
            vt_err_t e = conv_value(d, v->array_value->values[i], &items[i]);
            if (e)
                return e;
        }
        out->u.arr.items = items;
        out->u.arr.n = n;
        break;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
        out->type = VT_VAL_KVLIST;
        if (v->kvlist_value)
            return conv_kvs(d, v->kvlist_value->values, v->kvlist_value->n_values,
                            VT_MAX_ARRAY_ITEMS, &out->u.kv.items, &out->u.kv.n, NULL);
        break;
    default:
        break; /* no member set: the empty value */
    }
    return VT_OK;
}

/* Converts a list of KeyValue, keeping the first max and adding the number of the others to
 * *dropped (when dropped is not NULL). */
static vt_err_t conv_kvs(dec_t *d, pb_kv_t *const *kvs, size_t total, uint32_t max, vt_kv_t **items,
                         uint32_t *n, uint32_t *dropped) {
    uint32_t keep = (uint32_t)VT_MIN(total, (size_t)max);
    *items = NULL;
    *n = 0;
    if (dropped)
        *dropped = sat_add_u32(*dropped, total - keep);
    if (keep == 0)
        return VT_OK;
    vt_kv_t *kv = vt_arena_calloc(d->a, keep, sizeof *kv);
    if (!kv)
        return out_of_memory(d);
    for (uint32_t i = 0; i < keep; i++) {
        kv[i].key = cstr(kvs[i]->key, SIZE_MAX);
        vt_err_t e = conv_value(d, kvs[i]->value, &kv[i].value);
        if (e)
            return e;
    }
    *items = kv;
    *n = keep;
    return VT_OK;
}

/* Attributes with the sender's drop count; what the limit drops here is added to it. */
static vt_err_t conv_attrs(dec_t *d, pb_kv_t *const *kvs, size_t total, uint32_t sender_dropped,
                           uint32_t max, vt_attrs_t *attrs) {
    attrs->dropped = sender_dropped;
    return conv_kvs(d, kvs, total, max, &attrs->items, &attrs->n, &attrs->dropped);
}

/* Copies an id into its fixed array (zero-filled, bytes past the array ignored) and returns the
 * length that was sent, which validation checks. */
static uint32_t copy_id(uint8_t *dst, size_t size, ProtobufCBinaryData id) {
    memset(dst, 0, size);
    if (id.len)
        memcpy(dst, id.data, VT_MIN(id.len, size));
    return id.len > UINT32_MAX ? UINT32_MAX : (uint32_t)id.len;
}

/* Links get the per-event attribute limit, as in the JSON decoder. A link id of the wrong size
 * reads as zeros: the model keeps no length for link ids, and a truncated id would look like a
 * real one. */
static vt_err_t conv_link(dec_t *d, const pb_link_t *pl, vt_link_t *l) {
    if (pl->trace_id.len == sizeof l->trace_id)
        memcpy(l->trace_id, pl->trace_id.data, sizeof l->trace_id);
    if (pl->span_id.len == sizeof l->span_id)
        memcpy(l->span_id, pl->span_id.data, sizeof l->span_id);
    l->trace_state = cstr(pl->trace_state, SIZE_MAX);
    l->flags = pl->flags;
    return conv_attrs(d, pl->attributes, pl->n_attributes, pl->dropped_attributes_count,
                      VT_MAX_ATTRS_PER_EVENT, &l->attrs);
}

static vt_err_t conv_span(dec_t *d, const pb_span_t *ps, vt_span_t *s) {
    s->trace_id_len = copy_id(s->trace_id, sizeof s->trace_id, ps->trace_id);
    s->span_id_len = copy_id(s->span_id, sizeof s->span_id, ps->span_id);
    s->parent_span_id_len =
        copy_id(s->parent_span_id, sizeof s->parent_span_id, ps->parent_span_id);
    if (s->parent_span_id_len == sizeof s->parent_span_id &&
        sodium_is_zero(s->parent_span_id, sizeof s->parent_span_id))
        s->parent_span_id_len = 0; /* an all-zero parent means "no parent" (span.h) */
    s->trace_state = cstr(ps->trace_state, SIZE_MAX);
    s->flags = ps->flags;
    s->name = cstr(ps->name, VT_MAX_NAME_LEN);
    /* Enums are open in proto3; readers index name tables with these, so values the protocol
     * might add later read as the "unspecified" 0. */
    s->kind = ps->kind >= 0 && ps->kind <= 5 ? (int32_t)ps->kind : 0;
    s->start_ns = ps->start_time_unix_nano;
    s->end_ns = ps->end_time_unix_nano;
    vt_err_t e = conv_attrs(d, ps->attributes, ps->n_attributes, ps->dropped_attributes_count,
                            VT_MAX_ATTRS_PER_SPAN, &s->attrs);
    if (e)
        return e;

    s->n_events = (uint32_t)VT_MIN(ps->n_events, (size_t)VT_MAX_EVENTS_PER_SPAN);
    s->dropped_events = sat_add_u32(ps->dropped_events_count, ps->n_events - s->n_events);
    if (s->n_events) {
        s->events = vt_arena_calloc(d->a, s->n_events, sizeof *s->events);
        if (!s->events)
            return out_of_memory(d);
    }
    for (uint32_t i = 0; i < s->n_events; i++) {
        const pb_event_t *pe = ps->events[i];
        vt_event_t *ev = &s->events[i];
        ev->time_ns = pe->time_unix_nano;
        ev->name = cstr(pe->name, VT_MAX_NAME_LEN);
        e = conv_attrs(d, pe->attributes, pe->n_attributes, pe->dropped_attributes_count,
                       VT_MAX_ATTRS_PER_EVENT, &ev->attrs);
        if (e)
            return e;
    }

    s->n_links = (uint32_t)VT_MIN(ps->n_links, (size_t)VT_MAX_LINKS_PER_SPAN);
    s->dropped_links = sat_add_u32(ps->dropped_links_count, ps->n_links - s->n_links);
    if (s->n_links) {
        s->links = vt_arena_calloc(d->a, s->n_links, sizeof *s->links);
        if (!s->links)
            return out_of_memory(d);
    }
    for (uint32_t i = 0; i < s->n_links; i++) {
        e = conv_link(d, ps->links[i], &s->links[i]);
        if (e)
            return e;
    }

    if (ps->status) {
        int code = ps->status->code;
        s->status_code = code >= VT_STATUS_UNSET && code <= VT_STATUS_ERROR ? code : 0;
        s->status_message = cstr(ps->status->message, SIZE_MAX);
    } else {
        s->status_message = (vt_str_t){"", 0};
    }
    return VT_OK;
}

/* The ScopeSpans of a ResourceSpans. Exporters older than OTLP 0.19 sent them in field 1000
 * (instrumentation_library_spans, same layout); as the specification asks, that list is used
 * only when scope_spans is empty. */
static pb_scope_spans_t **scope_list(const pb_resource_spans_t *rs, size_t *n) {
    if (rs->n_scope_spans == 0 && rs->n_instrumentation_library_spans > 0) {
        *n = rs->n_instrumentation_library_spans;
        return rs->instrumentation_library_spans;
    }
    *n = rs->n_scope_spans;
    return rs->scope_spans;
}

static vt_err_t flatten(dec_t *d, const pb_request_t *req, vt_batch_t *b) {
    size_t n_scopes = 0, n_spans = 0;
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        size_t n;
        pb_scope_spans_t **sss = scope_list(req->resource_spans[i], &n);
        n_scopes += n;
        for (size_t j = 0; j < n; j++)
            n_spans += sss[j]->n_spans;
    }
    /* Counts are bounded by the body size, far below these, but the model's counters are 32-bit. */
    if (req->n_resource_spans > UINT32_MAX || n_scopes > UINT32_MAX || n_spans > UINT32_MAX)
        return out_of_memory(d);
    size_t n_res = req->n_resource_spans;
    b->resources = n_res ? vt_arena_calloc(d->a, n_res, sizeof *b->resources) : NULL;
    b->scopes = n_scopes ? vt_arena_calloc(d->a, n_scopes, sizeof *b->scopes) : NULL;
    b->spans = n_spans ? vt_arena_calloc(d->a, n_spans, sizeof *b->spans) : NULL;
    if ((n_res && !b->resources) || (n_scopes && !b->scopes) || (n_spans && !b->spans))
        return out_of_memory(d);

    vt_err_t e = VT_OK;
    for (size_t i = 0; !e && i < n_res; i++) {
        const pb_resource_spans_t *rs = req->resource_spans[i];
        uint32_t res_idx = b->n_resources++;
        vt_resource_t *r = &b->resources[res_idx];
        r->schema_url = cstr(rs->schema_url, SIZE_MAX);
        if (rs->resource)
            e = conv_attrs(d, rs->resource->attributes, rs->resource->n_attributes,
                           rs->resource->dropped_attributes_count, VT_MAX_ATTRS_PER_SPAN,
                           &r->attrs);
        size_t n;
        pb_scope_spans_t **sss = scope_list(rs, &n);
        for (size_t j = 0; !e && j < n; j++) {
            const pb_scope_spans_t *ss = sss[j];
            uint32_t scope_idx = b->n_scopes++;
            vt_scope_t *sc = &b->scopes[scope_idx];
            sc->schema_url = cstr(ss->schema_url, SIZE_MAX);
            if (ss->scope) {
                sc->name = cstr(ss->scope->name, SIZE_MAX);
                sc->version = cstr(ss->scope->version, SIZE_MAX);
                e = conv_attrs(d, ss->scope->attributes, ss->scope->n_attributes,
                               ss->scope->dropped_attributes_count, VT_MAX_ATTRS_PER_SPAN,
                               &sc->attrs);
            } else {
                sc->name = sc->version = (vt_str_t){"", 0};
            }
            for (size_t k = 0; !e && k < ss->n_spans; k++) {
                vt_span_t *s = &b->spans[b->n_spans++];
                s->resource_idx = res_idx;
                s->scope_idx = scope_idx;
                e = conv_span(d, ss->spans[k], s);
            }
        }
    }
    return e;
}

/* ---- entry points ---------------------------------------------------------------------------- */

vt_err_t vt_otlp_decode_protobuf(vt_arena_t *a, const uint8_t *data, size_t len, vt_batch_t *out,
                                 char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    /* An empty body is the empty message: a valid request with no spans. */
    if (len == 0)
        return VT_OK;
    if (len > PB_MAX_BODY) {
        if (err && errlen)
            snprintf(err, errlen, "protobuf body larger than %zu bytes", PB_MAX_BODY);
        return VT_ETOOBIG;
    }

    walk_t w = {.base = data, .err = err, .errlen = errlen};
    vt_err_t e = walk(
        &w, &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
        data, data + len, 0, 0);
    if (e)
        return e;

    pb_arena_t pa = {.a = a, .exhausted = false};
    ProtobufCAllocator alloc = {.alloc = pb_alloc, .free = pb_free, .allocator_data = &pa};
    pb_request_t *req =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(&alloc,
                                                                                         len, data);
    dec_t d = {.a = a, .err = err, .errlen = errlen};
    if (!req) {
        if (pa.exhausted)
            return out_of_memory(&d);
        /* The walker accepts nothing protobuf-c rejects, as far as its checks go; should the two
         * still differ, the body is refused rather than trusted. */
        if (err && errlen)
            snprintf(err, errlen, "invalid protobuf: the message could not be unpacked");
        return VT_EINVAL;
    }
    e = flatten(&d, req, out);
    if (e)
        memset(out, 0, sizeof *out);
    /* No free_unpacked: the tree stays in the arena, where the batch's strings point. */
    return e;
}

/* Appends the packed form of m to out in one piece. */
static vt_err_t pack_into(vt_buf_t *out, const ProtobufCMessage *m) {
    size_t n = protobuf_c_message_get_packed_size(m);
    vt_err_t e = vt_buf_reserve(out, n);
    if (e)
        return e;
    protobuf_c_message_pack(m, (uint8_t *)out->data + out->len);
    out->len += n;
    out->data[out->len] = '\0';
    return VT_OK;
}

/* protobuf-c's generated structs hold char * even for strings they only read when packing,
 * hence the casts from const below. */

vt_err_t vt_otlp_pb_export_response(vt_buf_t *out, int64_t rejected_spans,
                                    const char *error_message) {
    bool has_message = error_message && error_message[0];
    if (rejected_spans == 0 && !has_message)
        return VT_OK;
    pb_partial_t partial =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
    partial.rejected_spans = rejected_spans;
    if (has_message)
        partial.error_message = (char *)error_message;
    pb_response_t resp =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
    resp.partial_success = &partial;
    return pack_into(out, &resp.base);
}

vt_err_t vt_otlp_pb_status(vt_buf_t *out, int32_t grpc_code, const char *message) {
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    st.code = grpc_code;
    if (message)
        st.message = (char *)message;
    return pack_into(out, &st.base);
}
