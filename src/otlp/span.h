/*
 * span.h - the in-memory span model that both OTLP decoders (protobuf and JSON) produce and
 * that validation, storage and analysis consume. Everything a decoded batch points at lives in
 * one arena owned by the caller; the model never owns memory itself.
 */
#ifndef VT_SPAN_H
#define VT_SPAN_H

#include "../core/arena.h"
#include "../core/buf.h"
#include "../core/vt.h"

/* Limits applied while decoding, in the spirit of the OpenTelemetry SDK span limits: what is
 * over a limit is dropped and counted in the dropped_* fields rather than rejected. */
#define VT_MAX_ATTRS_PER_SPAN 256
#define VT_MAX_EVENTS_PER_SPAN 256
#define VT_MAX_LINKS_PER_SPAN 128
#define VT_MAX_ATTRS_PER_EVENT 128
#define VT_MAX_ATTR_VALUE_LEN (64 * 1024) /* longer strings/bytes are truncated (UTF-8 safe) */
#define VT_MAX_ARRAY_ITEMS 1024           /* items kept in one array or kvlist value */
#define VT_MAX_VALUE_DEPTH 16             /* nesting of arrays/kvlists; deeper input is a 400 */
#define VT_MAX_NAME_LEN 1024              /* span/event names are truncated to this */

typedef enum {
    VT_VAL_EMPTY = 0,
    VT_VAL_STRING,
    VT_VAL_BOOL,
    VT_VAL_INT,
    VT_VAL_DOUBLE,
    VT_VAL_BYTES,
    VT_VAL_ARRAY,
    VT_VAL_KVLIST,
} vt_val_type_t;

typedef struct vt_kv vt_kv_t;
typedef struct vt_value vt_value_t;

struct vt_value {
    vt_val_type_t type;
    union {
        vt_str_t s; /* STRING and BYTES (raw bytes for BYTES) */
        bool b;
        int64_t i;
        double d;
        struct {
            vt_value_t *items;
            uint32_t n;
        } arr;
        struct {
            vt_kv_t *items;
            uint32_t n;
        } kv;
    } u;
};

struct vt_kv {
    vt_str_t key;
    vt_value_t value;
};

typedef struct {
    vt_kv_t *items;
    uint32_t n;
    uint32_t dropped; /* dropped_attributes_count from the sender plus what the limits dropped */
} vt_attrs_t;

typedef struct {
    uint64_t time_ns;
    vt_str_t name;
    vt_attrs_t attrs;
} vt_event_t;

typedef struct {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    vt_str_t trace_state;
    uint32_t flags;
    vt_attrs_t attrs;
} vt_link_t;

/* Resource and instrumentation scope are shared by many spans of a batch; spans refer to them
 * by index into the batch's arrays. */
typedef struct {
    vt_attrs_t attrs;
    vt_str_t schema_url;
} vt_resource_t;

typedef struct {
    vt_str_t name;
    vt_str_t version;
    vt_attrs_t attrs;
    vt_str_t schema_url;
} vt_scope_t;

/* OTLP status codes. */
enum { VT_STATUS_UNSET = 0, VT_STATUS_OK = 1, VT_STATUS_ERROR = 2 };

typedef struct {
    /* Ids as they came: the lengths tell validation whether they were the right size. Bytes
     * beyond the fixed arrays are not kept; the *_len fields record what the sender sent. */
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8];
    uint32_t trace_id_len;
    uint32_t span_id_len;
    uint32_t parent_span_id_len; /* 0 = root span; decoders store an all-zero parent as 0 */
    vt_str_t trace_state;
    uint32_t flags;
    vt_str_t name;
    int32_t kind; /* SpanKind 0-5 */
    uint64_t start_ns;
    uint64_t end_ns;
    vt_attrs_t attrs;
    vt_event_t *events;
    uint32_t n_events;
    uint32_t dropped_events;
    vt_link_t *links;
    uint32_t n_links;
    uint32_t dropped_links;
    int32_t status_code; /* VT_STATUS_* */
    vt_str_t status_message;
    uint32_t resource_idx; /* into vt_batch_t.resources */
    uint32_t scope_idx;    /* into vt_batch_t.scopes */
} vt_span_t;

/* A decoded ExportTraceServiceRequest, flattened. */
typedef struct {
    vt_resource_t *resources;
    uint32_t n_resources;
    vt_scope_t *scopes;
    uint32_t n_scopes;
    vt_span_t *spans;
    uint32_t n_spans;
} vt_batch_t;

/*
 * Decoders. Both fill *out with memory from arena `a`; the input bytes must outlive the batch
 * (strings may point into them). On malformed input they return VT_EINVAL and write a short
 * human-readable reason into err (errlen bytes, NUL-terminated); on arena exhaustion VT_ETOOBIG.
 * Spans are not validated here (see vt_span_validate): a span with a bad id still decodes.
 */
vt_err_t vt_otlp_decode_protobuf(vt_arena_t *a, const uint8_t *data, size_t len, vt_batch_t *out,
                                 char *err, size_t errlen);
vt_err_t vt_otlp_decode_json(vt_arena_t *a, const char *data, size_t len, vt_batch_t *out, char *err,
                             size_t errlen);

/* Checks one span against DESIGN.md 5.1: trace id 16 bytes not all zero, span id 8 bytes not all
 * zero, parent empty or 8 bytes, end >= start, name non-empty. Returns true when valid; otherwise
 * writes the reason into err. */
bool vt_span_validate(const vt_span_t *s, char *err, size_t errlen);

/*
 * Storage/API JSON forms. Attributes are written as one JSON object {key: typed value}:
 * strings as strings, bools, ints as JSON integers, doubles always with a '.' or exponent so
 * they read back as doubles, bytes as base64 strings, arrays as arrays, kvlists as objects.
 * Later duplicates of a key win, as in the SDKs.
 */
void vt_json_write_value(vt_jw_t *w, const vt_value_t *v);
void vt_json_write_attrs(vt_jw_t *w, const vt_attrs_t *attrs);
/* [{"name","time_unix_nano":"..","attributes":{..},"dropped_attributes_count"?}] */
void vt_json_write_events(vt_jw_t *w, const vt_event_t *ev, uint32_t n);
/* [{"trace_id","span_id","trace_state"?,"flags"?,"attributes":{..}}] */
void vt_json_write_links(vt_jw_t *w, const vt_link_t *l, uint32_t n);
/* The resource as its flat attributes object {key: typed value} (what the read API shows as
 * "resource"); schema_url and dropped counts are not kept. */
void vt_json_write_resource(vt_jw_t *w, const vt_resource_t *r);
/* {"name":"..","version":"..","attributes":{..}} ("attributes" only when there are any). */
void vt_json_write_scope(vt_jw_t *w, const vt_scope_t *s);

#endif
