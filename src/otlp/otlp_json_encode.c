/*
 * otlp_json_encode.c - stored span rows to OTLP JSON (see otlp_export.h).
 *
 * The rows keep attributes, events and links as the typed JSON of span.h ({key: value}, ints
 * as JSON integers, doubles always with a fraction or exponent). jansson reads that text back
 * with the same distinction (json_integer vs json_real), which is what lets each value be
 * written again as the AnyValue member it came from. Each fragment is parsed, rewritten and
 * freed on its own, so memory beyond the output stays at one span's worth.
 */
#include "otlp_export.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    vt_jw_t w;
    char *err;
    size_t errlen;
} enc_t;

/* ---- values ---------------------------------------------------------------------------------- */

static vt_str_t jstr(const json_t *v) {
    return (vt_str_t){json_string_value(v), json_string_length(v)};
}

/* int64 and uint64 fields are decimal strings in the JSON mapping. */
static void write_dec_i64(vt_jw_t *w, int64_t v) {
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%" PRId64, v);
    vt_jw_cstr(w, tmp);
}

static void write_dec_u64(vt_jw_t *w, uint64_t v) {
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    vt_jw_cstr(w, tmp);
}

static void write_kvs(vt_jw_t *w, json_t *obj);

/* One stored value as an AnyValue object. */
static void write_any(vt_jw_t *w, json_t *v) {
    vt_jw_obj_begin(w);
    switch (json_typeof(v)) {
    case JSON_STRING:
        vt_jw_key(w, "stringValue");
        vt_jw_str(w, jstr(v));
        break;
    case JSON_INTEGER:
        vt_jw_key(w, "intValue");
        write_dec_i64(w, (int64_t)json_integer_value(v));
        break;
    case JSON_REAL:
        vt_jw_key(w, "doubleValue");
        vt_jw_double(w, json_real_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        vt_jw_key(w, "boolValue");
        vt_jw_bool(w, json_is_true(v));
        break;
    case JSON_ARRAY: {
        vt_jw_key(w, "arrayValue");
        vt_jw_obj_begin(w);
        vt_jw_key(w, "values");
        vt_jw_arr_begin(w);
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) write_any(w, item);
        vt_jw_arr_end(w);
        vt_jw_obj_end(w);
        break;
    }
    case JSON_OBJECT:
        vt_jw_key(w, "kvlistValue");
        vt_jw_obj_begin(w);
        vt_jw_key(w, "values");
        write_kvs(w, v);
        vt_jw_obj_end(w);
        break;
    case JSON_NULL:
        break; /* an empty AnyValue: no member set */
    }
    vt_jw_obj_end(w);
}

/* A stored {key: value} object as a KeyValue list. Objects keep their members in insertion
 * order in jansson, so the stored order (the sender's) is kept. */
static void write_kvs(vt_jw_t *w, json_t *obj) {
    vt_jw_arr_begin(w);
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        vt_jw_obj_begin(w);
        vt_jw_key(w, "key");
        vt_jw_cstr(w, key);
        vt_jw_key(w, "value");
        write_any(w, v);
        vt_jw_obj_end(w);
    }
    vt_jw_arr_end(w);
}

/* ---- stored fragments ------------------------------------------------------------------------ */

/* Parses a stored fragment that must be of JSON type `type`. Empty text is NULL with success
 * (nothing stored); text that does not parse to that type is an error naming what and whose. */
static vt_err_t load(enc_t *e, vt_str_t text, json_type type, const char *what,
                     const vt_span_row_t *s, json_t **out) {
    *out = NULL;
    if (text.n == 0)
        return VT_OK;
    *out = json_loadb(text.p, text.n, JSON_ALLOW_NUL, NULL);
    if (*out && json_typeof(*out) == type)
        return VT_OK;
    json_decref(*out);
    *out = NULL;
    if (e->err && e->errlen) {
        char id[17];
        vt_hex_encode(s->span_id, sizeof s->span_id, id);
        snprintf(e->err, e->errlen, "stored %s of span %s is not valid JSON", what, id);
    }
    return VT_EINTERNAL;
}

/* "attributes":[...] from a stored attribute object (absent text = no attributes). */
static vt_err_t write_attrs(enc_t *e, vt_str_t text, const char *what, const vt_span_row_t *s) {
    json_t *o;
    vt_err_t err = load(e, text, JSON_OBJECT, what, s, &o);
    if (err)
        return err;
    vt_jw_key(&e->w, "attributes");
    if (o)
        write_kvs(&e->w, o);
    else {
        vt_jw_arr_begin(&e->w);
        vt_jw_arr_end(&e->w);
    }
    json_decref(o);
    return VT_OK;
}

/* Writes `camel` with the value of stored field `snake` of o when it is a non-empty string. */
static void copy_string(vt_jw_t *w, json_t *o, const char *snake, const char *camel) {
    json_t *v = json_object_get(o, snake);
    if (json_is_string(v) && json_string_length(v)) {
        vt_jw_key(w, camel);
        vt_jw_str(w, jstr(v));
    }
}

/* Writes `camel` with the value of stored integer field `snake` of o when it is non-zero. */
static void copy_count(vt_jw_t *w, json_t *o, const char *snake, const char *camel) {
    json_t *v = json_object_get(o, snake);
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        vt_jw_key(w, camel);
        vt_jw_int(w, (int64_t)json_integer_value(v));
    }
}

static vt_err_t write_events(enc_t *e, const vt_span_row_t *s) {
    json_t *arr;
    vt_err_t err = load(e, s->events_json, JSON_ARRAY, "events", s, &arr);
    if (err)
        return err;
    vt_jw_t *w = &e->w;
    vt_jw_key(w, "events");
    vt_jw_arr_begin(w);
    size_t i;
    json_t *ev;
    json_array_foreach(arr, i, ev) {
        vt_jw_obj_begin(w);
        json_t *t = json_object_get(ev, "time_unix_nano");
        vt_jw_key(w, "timeUnixNano");
        if (json_is_string(t))
            vt_jw_str(w, jstr(t));
        else
            write_dec_u64(w, json_is_integer(t) ? (uint64_t)json_integer_value(t) : 0);
        json_t *name = json_object_get(ev, "name");
        vt_jw_key(w, "name");
        vt_jw_str(w, json_is_string(name) ? jstr(name) : VT_STR(""));
        json_t *attrs = json_object_get(ev, "attributes");
        vt_jw_key(w, "attributes");
        if (json_is_object(attrs))
            write_kvs(w, attrs);
        else {
            vt_jw_arr_begin(w);
            vt_jw_arr_end(w);
        }
        copy_count(w, ev, "dropped_attributes_count", "droppedAttributesCount");
        vt_jw_obj_end(w);
    }
    vt_jw_arr_end(w);
    json_decref(arr);
    return VT_OK;
}

static vt_err_t write_links(enc_t *e, const vt_span_row_t *s) {
    json_t *arr;
    vt_err_t err = load(e, s->links_json, JSON_ARRAY, "links", s, &arr);
    if (err)
        return err;
    vt_jw_t *w = &e->w;
    vt_jw_key(w, "links");
    vt_jw_arr_begin(w);
    size_t i;
    json_t *l;
    json_array_foreach(arr, i, l) {
        vt_jw_obj_begin(w);
        copy_string(w, l, "trace_id", "traceId");
        copy_string(w, l, "span_id", "spanId");
        copy_string(w, l, "trace_state", "traceState");
        copy_count(w, l, "flags", "flags");
        json_t *attrs = json_object_get(l, "attributes");
        vt_jw_key(w, "attributes");
        if (json_is_object(attrs))
            write_kvs(w, attrs);
        else {
            vt_jw_arr_begin(w);
            vt_jw_arr_end(w);
        }
        vt_jw_obj_end(w);
    }
    vt_jw_arr_end(w);
    json_decref(arr);
    return VT_OK;
}

/* ---- spans, scopes, resources ---------------------------------------------------------------- */

static vt_err_t write_span(enc_t *e, const vt_span_row_t *s) {
    vt_jw_t *w = &e->w;
    vt_jw_obj_begin(w);
    vt_jw_key(w, "traceId");
    vt_jw_hex(w, s->trace_id, sizeof s->trace_id);
    vt_jw_key(w, "spanId");
    vt_jw_hex(w, s->span_id, sizeof s->span_id);
    if (s->has_parent) {
        vt_jw_key(w, "parentSpanId");
        vt_jw_hex(w, s->parent_span_id, sizeof s->parent_span_id);
    }
    if (s->trace_state.n) {
        vt_jw_key(w, "traceState");
        vt_jw_str(w, s->trace_state);
    }
    if (s->flags) {
        vt_jw_key(w, "flags");
        vt_jw_uint(w, s->flags);
    }
    vt_jw_key(w, "name");
    vt_jw_str(w, s->name);
    vt_jw_key(w, "kind");
    vt_jw_int(w, s->kind);
    vt_jw_key(w, "startTimeUnixNano");
    write_dec_u64(w, s->start_ns);
    vt_jw_key(w, "endTimeUnixNano");
    write_dec_u64(w, s->end_ns);
    vt_err_t err = write_attrs(e, s->attributes_json, "attributes", s);
    if (err)
        return err;
    if (s->dropped_attrs) {
        vt_jw_key(w, "droppedAttributesCount");
        vt_jw_uint(w, s->dropped_attrs);
    }
    if ((err = write_events(e, s)))
        return err;
    if (s->dropped_events) {
        vt_jw_key(w, "droppedEventsCount");
        vt_jw_uint(w, s->dropped_events);
    }
    if ((err = write_links(e, s)))
        return err;
    if (s->dropped_links) {
        vt_jw_key(w, "droppedLinksCount");
        vt_jw_uint(w, s->dropped_links);
    }
    vt_jw_key(w, "status");
    vt_jw_obj_begin(w);
    vt_jw_key(w, "code");
    vt_jw_int(w, s->status_code);
    if (s->status_message.n) {
        vt_jw_key(w, "message");
        vt_jw_str(w, s->status_message);
    }
    vt_jw_obj_end(w);
    vt_jw_obj_end(w);
    return VT_OK;
}

/* "scope":{name, version, attributes?} from the stored scope object. */
static vt_err_t write_scope(enc_t *e, const vt_span_row_t *s) {
    json_t *o;
    vt_err_t err = load(e, s->scope_json, JSON_OBJECT, "scope", s, &o);
    if (err)
        return err;
    vt_jw_t *w = &e->w;
    vt_jw_key(w, "scope");
    vt_jw_obj_begin(w);
    json_t *name = json_object_get(o, "name"), *version = json_object_get(o, "version");
    vt_jw_key(w, "name");
    vt_jw_str(w, json_is_string(name) ? jstr(name) : VT_STR(""));
    vt_jw_key(w, "version");
    vt_jw_str(w, json_is_string(version) ? jstr(version) : VT_STR(""));
    json_t *attrs = json_object_get(o, "attributes");
    if (json_is_object(attrs) && json_object_size(attrs)) {
        vt_jw_key(w, "attributes");
        write_kvs(w, attrs);
    }
    vt_jw_obj_end(w);
    json_decref(o);
    return VT_OK;
}

/* Rows sorted by (resource text, scope text, row order) put each group's spans together. */
typedef struct {
    vt_str_t res, scope;
    size_t row;
} group_key_t;

static int text_cmp(vt_str_t a, vt_str_t b) {
    if (a.p == b.p && a.n == b.n)
        return 0; /* the store hands out one text per distinct resource/scope: the usual case */
    size_t common = VT_MIN(a.n, b.n);
    int c = common ? memcmp(a.p, b.p, common) : 0; /* an empty string may have a NULL pointer */
    if (c)
        return c;
    return a.n < b.n ? -1 : a.n > b.n;
}

static int group_key_cmp(const void *pa, const void *pb) {
    const group_key_t *a = pa, *b = pb;
    int c = text_cmp(a->res, b->res);
    if (!c)
        c = text_cmp(a->scope, b->scope);
    if (c)
        return c;
    return a->row < b->row ? -1 : a->row > b->row;
}

vt_err_t vt_otlp_export_json(vt_buf_t *b, const vt_span_row_t *rows, size_t n, char *err,
                             size_t errlen) {
    enc_t e = {.err = err, .errlen = errlen};
    if (err && errlen)
        err[0] = '\0';
    vt_jw_init(&e.w, b);
    group_key_t *keys = n ? malloc(n * sizeof *keys) : NULL;
    if (n && !keys)
        return VT_ENOMEM;
    for (size_t i = 0; i < n; i++)
        keys[i] = (group_key_t){rows[i].resource_json, rows[i].scope_json, i};
    if (n)
        qsort(keys, n, sizeof *keys, group_key_cmp);

    vt_jw_t *w = &e.w;
    vt_err_t rc = VT_OK;
    vt_jw_obj_begin(w);
    vt_jw_key(w, "resourceSpans");
    vt_jw_arr_begin(w);
    for (size_t i = 0; i < n && !rc && !b->failed; i++) {
        const vt_span_row_t *s = &rows[keys[i].row];
        bool new_res = i == 0 || text_cmp(keys[i - 1].res, keys[i].res) != 0;
        bool new_scope = new_res || text_cmp(keys[i - 1].scope, keys[i].scope) != 0;
        if (new_scope && i > 0) {
            vt_jw_arr_end(w); /* spans */
            vt_jw_obj_end(w); /* scopeSpans item */
        }
        if (new_res && i > 0) {
            vt_jw_arr_end(w); /* scopeSpans */
            vt_jw_obj_end(w); /* resourceSpans item */
        }
        if (new_res) {
            vt_jw_obj_begin(w);
            vt_jw_key(w, "resource");
            vt_jw_obj_begin(w);
            rc = write_attrs(&e, s->resource_json, "resource", s);
            vt_jw_obj_end(w);
            vt_jw_key(w, "scopeSpans");
            vt_jw_arr_begin(w);
        }
        if (new_scope && !rc) {
            vt_jw_obj_begin(w);
            rc = write_scope(&e, s);
            vt_jw_key(w, "spans");
            vt_jw_arr_begin(w);
        }
        if (!rc)
            rc = write_span(&e, s);
    }
    if (n && !rc) {
        vt_jw_arr_end(w); /* spans */
        vt_jw_obj_end(w); /* scopeSpans item */
        vt_jw_arr_end(w); /* scopeSpans */
        vt_jw_obj_end(w); /* resourceSpans item */
    }
    vt_jw_arr_end(w);
    vt_jw_obj_end(w);
    free(keys);
    if (!rc && b->failed)
        rc = VT_ENOMEM;
    return rc;
}
