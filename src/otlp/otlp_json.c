/*
 * otlp_json.c - the OTLP/JSON decoder: an ExportTraceServiceRequest in the protobuf JSON mapping
 * (lowerCamelCase keys, snake_case accepted too, hex trace/span ids, 64-bit integers as strings
 * or numbers, enums as numbers or names) into the span model of span.h.
 *
 * jansson parses the body into a tree; one walk counts the spans and scopes so the batch arrays
 * can be allocated once, a second walk copies everything into the caller's arena, then the tree
 * is freed. Nothing in the result points into jansson's memory or into the input.
 */
#include "limits.h"
#include "span.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- decoder state and error reporting ----------------------------------------------------- */

typedef struct {
    vt_arena_t *a;
    char *err; /* caller's message buffer */
    size_t errlen;
    char path[256]; /* field path of the value being decoded, for error messages */
    size_t plen;
} dec_t;

/* path_key/path_idx extend the path and return a mark; path_pop goes back to a mark. A path too
 * long for the buffer is cut, which only shortens the message. */
static size_t path_key(dec_t *d, const char *key) {
    size_t mark = d->plen;
    snprintf(d->path + d->plen, sizeof d->path - d->plen, "%s%s", d->plen ? "." : "", key);
    d->plen += strlen(d->path + d->plen);
    return mark;
}

static size_t path_idx(dec_t *d, size_t i) {
    size_t mark = d->plen;
    snprintf(d->path + d->plen, sizeof d->path - d->plen, "[%zu]", i);
    d->plen += strlen(d->path + d->plen);
    return mark;
}

static void path_pop(dec_t *d, size_t mark) {
    d->plen = mark;
    d->path[mark] = '\0';
}

/* Writes "<path>: <reason>" into the caller's buffer and returns VT_EINVAL. */
__attribute__((format(printf, 2, 3))) static vt_err_t fail(dec_t *d, const char *fmt, ...) {
    if (d->err && d->errlen) {
        int n = d->plen ? snprintf(d->err, d->errlen, "%s: ", d->path) : 0;
        if (n >= 0 && (size_t)n < d->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(d->err + n, d->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return VT_EINVAL;
}

static vt_err_t out_of_memory(dec_t *d) {
    if (d->err && d->errlen)
        snprintf(d->err, d->errlen, "decoded request exceeds the memory limit");
    return VT_ETOOBIG;
}

static uint32_t sat_add_u32(uint32_t a, size_t b) {
    return b > UINT32_MAX - a ? UINT32_MAX : a + (uint32_t)b;
}

/* ---- field access ---------------------------------------------------------------------------- */

/* Looks a field up by its lowerCamelCase name, then by its snake_case name. JSON null counts as
 * absent, as the protobuf JSON mapping says. */
static json_t *field(json_t *obj, const char *camel, const char *snake) {
    json_t *v = json_object_get(obj, camel);
    if ((!v || json_is_null(v)) && snake)
        v = json_object_get(obj, snake);
    return v && !json_is_null(v) ? v : NULL;
}

/* Fetches an array or object field; *out is NULL when it is absent. A value of another JSON
 * type is an error naming the field. */
static vt_err_t get_typed(dec_t *d, json_t *obj, const char *camel, const char *snake,
                          json_type type, json_t **out) {
    *out = field(obj, camel, snake);
    if (!*out || json_typeof(*out) == type)
        return VT_OK;
    size_t m = path_key(d, camel);
    vt_err_t e = fail(d, type == JSON_ARRAY ? "expected an array" : "expected an object");
    path_pop(d, m);
    return e;
}

static vt_err_t get_array(dec_t *d, json_t *obj, const char *camel, const char *snake,
                          json_t **out) {
    return get_typed(d, obj, camel, snake, JSON_ARRAY, out);
}

static vt_err_t get_object(dec_t *d, json_t *obj, const char *camel, const char *snake,
                           json_t **out) {
    return get_typed(d, obj, camel, snake, JSON_OBJECT, out);
}

/* Copies a JSON string into the arena, cut at its first NUL and then to max bytes on a UTF-8
 * boundary. The protobuf decoder's strings end at a NUL too (protobuf-c hands them over as C
 * strings), and keeping NUL out of the model keeps it out of the stored JSON, which jansson
 * (the reader everywhere else) refuses in object keys and, by default, in any string. */
static vt_err_t copy_str(dec_t *d, json_t *v, size_t max, vt_str_t *out) {
    const char *p = json_string_value(v);
    vt_str_t s = vt_otlp_str_truncate_utf8((vt_str_t){p, strnlen(p, json_string_length(v))}, max);
    char *copy = vt_arena_strndup(d->a, s.p, s.n);
    if (!copy)
        return out_of_memory(d);
    *out = (vt_str_t){copy, s.n};
    return VT_OK;
}

/* A string field; absent means "". */
static vt_err_t get_str(dec_t *d, json_t *obj, const char *camel, const char *snake, size_t max,
                        vt_str_t *out) {
    json_t *v = field(obj, camel, snake);
    *out = (vt_str_t){"", 0};
    if (!v)
        return VT_OK;
    if (!json_is_string(v)) {
        size_t m = path_key(d, camel);
        vt_err_t e = fail(d, "expected a string");
        path_pop(d, m);
        return e;
    }
    return copy_str(d, v, max, out);
}

/* ---- numbers -----------------------------------------------------------------------------------
 */

/* Parses an optionally negative decimal integer that must fill the whole string. The magnitude
 * goes to *mag, which may be up to UINT64_MAX. */
static bool parse_decimal(const char *s, size_t n, bool *neg, uint64_t *mag) {
    size_t i = 0;
    *neg = false;
    if (n > 0 && s[0] == '-') {
        *neg = true;
        i = 1;
    }
    if (i == n)
        return false;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned digit = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *mag = v;
    return true;
}

/* The protobuf JSON mapping lets 64-bit integers arrive as JSON numbers or as decimal strings,
 * and a number may be written with a fraction or exponent as long as its value is integral.
 * jansson keeps integers exact up to the int64 range; larger ones must come as strings. */
static bool json_to_u64(json_t *v, uint64_t *out) {
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0)
            return false;
        *out = (uint64_t)i;
        return true;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        if (!(x >= 0 && x < 18446744073709551616.0) || x != floor(x))
            return false;
        *out = (uint64_t)x;
        return true;
    }
    bool neg;
    return json_is_string(v) &&
           parse_decimal(json_string_value(v), json_string_length(v), &neg, out) && !neg;
}

static bool json_to_i64(json_t *v, int64_t *out) {
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0) || x != floor(x))
            return false;
        *out = (int64_t)x;
        return true;
    }
    bool neg;
    uint64_t mag;
    if (!json_is_string(v) ||
        !parse_decimal(json_string_value(v), json_string_length(v), &neg, &mag))
        return false;
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1)
            return false;
        /* Negating in unsigned arithmetic and converting back is exact, INT64_MIN included. */
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)mag;
    }
    return true;
}

/* A double: any JSON number, or the strings the JSON mapping uses for the values JSON lacks,
 * or a number written as a string (which the mapping also allows). */
static bool json_to_double(json_t *v, double *out) {
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    if (!json_is_string(v))
        return false;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (vt_str_eq_c((vt_str_t){s, n}, "NaN")) {
        *out = NAN;
        return true;
    }
    if (vt_str_eq_c((vt_str_t){s, n}, "Infinity")) {
        *out = INFINITY;
        return true;
    }
    if (vt_str_eq_c((vt_str_t){s, n}, "-Infinity")) {
        *out = -INFINITY;
        return true;
    }
    /* strtod also takes hex floats, "inf", leading spaces...; only JSON number characters are
     * allowed here. The NUL check matters because jansson strings may contain NUL. */
    if (n == 0 || n > 64 || strspn(s, "0123456789+-.eE") != n)
        return false;
    char *end;
    *out = strtod(s, &end);
    return end == s + n;
}

static vt_err_t get_u64(dec_t *d, json_t *obj, const char *camel, const char *snake,
                        uint64_t *out) {
    json_t *v = field(obj, camel, snake);
    *out = 0;
    if (!v || json_to_u64(v, out))
        return VT_OK;
    size_t m = path_key(d, camel);
    vt_err_t e = fail(d, "expected an unsigned 64-bit integer (number or decimal string)");
    path_pop(d, m);
    return e;
}

static vt_err_t get_u32(dec_t *d, json_t *obj, const char *camel, const char *snake,
                        uint32_t *out) {
    json_t *v = field(obj, camel, snake);
    uint64_t x = 0;
    *out = 0;
    if (!v || (json_to_u64(v, &x) && x <= UINT32_MAX)) {
        *out = (uint32_t)x;
        return VT_OK;
    }
    size_t m = path_key(d, camel);
    vt_err_t e = fail(d, "expected an unsigned 32-bit integer");
    path_pop(d, m);
    return e;
}

/* An enum as its number or its name. Values outside the known range (numbers the protocol may
 * add later, or unknown names) read as 0, the "unspecified" value: readers index name tables
 * with these fields, so they must stay within the known range. */
static vt_err_t get_enum(dec_t *d, json_t *obj, const char *camel, const char *snake,
                         const char *const *names, int n_names, int32_t *out) {
    json_t *v = field(obj, camel, snake);
    *out = 0;
    if (!v)
        return VT_OK;
    if (json_is_string(v)) {
        vt_str_t s = {json_string_value(v), json_string_length(v)};
        for (int i = 0; i < n_names; i++)
            if (vt_str_eq_c(s, names[i]))
                *out = i;
        return VT_OK;
    }
    int64_t x;
    if (json_is_number(v) && json_to_i64(v, &x)) {
        *out = x >= 0 && x < n_names ? (int32_t)x : 0;
        return VT_OK;
    }
    size_t m = path_key(d, camel);
    vt_err_t e = fail(d, "expected an enum number or name");
    path_pop(d, m);
    return e;
}

/* ---- ids ------------------------------------------------------------------------------------- */

/* Reads a hex id into out (size bytes) and its decoded length into *len. An id that is not hex
 * does not fail the request: its length is recorded as 0 so that vt_span_validate rejects that
 * span alone. A hex id of the wrong size keeps its real length for the same reason; only the
 * bytes that fit are kept. out is NULL for link ids, whose length is not kept (a bad link id
 * reads as zeros). */
static vt_err_t get_id(dec_t *d, json_t *obj, const char *camel, const char *snake, uint8_t *out,
                       size_t size, uint32_t *len) {
    json_t *v = field(obj, camel, snake);
    memset(out, 0, size);
    if (len)
        *len = 0;
    if (!v)
        return VT_OK;
    if (!json_is_string(v)) {
        size_t m = path_key(d, camel);
        vt_err_t e = fail(d, "expected a hex string");
        path_pop(d, m);
        return e;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n % 2 != 0 || strspn(s, "0123456789abcdefABCDEF") != n)
        return VT_OK;
    size_t bytes = n / 2;
    size_t keep = VT_MIN(bytes, size);
    if (bytes != size && !len)
        return VT_OK;
    vt_hex_decode(s, 2 * keep, out, keep);
    if (len)
        *len = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
    return VT_OK;
}

/* ---- AnyValue and attributes ------------------------------------------------------------------
 */

static vt_err_t dec_kvs(dec_t *d, json_t *arr, uint32_t max, int depth, vt_kv_t **items,
                        uint32_t *n, uint32_t *dropped);

static vt_err_t dec_bytes(dec_t *d, json_t *v, vt_str_t *out) {
    if (!json_is_string(v))
        return fail(d, "expected a base64 string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    size_t cap = n / 4 * 3 + 3;
    unsigned char *buf = vt_arena_alloc(d->a, cap);
    if (!buf)
        return out_of_memory(d);
    /* The JSON mapping writes bytes as standard base64 with padding but lets readers accept
     * the URL-safe alphabet and missing padding as well. */
    static const int variants[] = {
        sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
        sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING};
    for (size_t i = 0; i < VT_ARRAY_LEN(variants); i++) {
        size_t bin_len;
        if (sodium_base642bin(buf, cap, s, n, NULL, &bin_len, NULL, variants[i]) == 0) {
            *out = (vt_str_t){(const char *)buf, VT_MIN(bin_len, (size_t)VT_MAX_ATTR_VALUE_LEN)};
            return VT_OK;
        }
    }
    return fail(d, "invalid base64");
}

/* Decodes an AnyValue object (NULL = absent = empty value). depth counts the arrays and kvlists
 * around this value: a value at depth VT_MAX_VALUE_DEPTH may not be an array or kvlist itself,
 * so at most VT_MAX_VALUE_DEPTH of them nest. Array items beyond VT_MAX_ARRAY_ITEMS are dropped
 * unread (the model has no counter for them). */
static vt_err_t dec_value(dec_t *d, json_t *v, int depth, vt_value_t *out) {
    memset(out, 0, sizeof *out);
    out->type = VT_VAL_EMPTY;
    if (!v)
        return VT_OK;
    if (!json_is_object(v))
        return fail(d, "expected an AnyValue object");
    json_t *x;
    size_t m;
    vt_err_t e = VT_OK;
    if ((x = field(v, "stringValue", "string_value"))) {
        m = path_key(d, "stringValue");
        out->type = VT_VAL_STRING;
        e = json_is_string(x) ? copy_str(d, x, VT_MAX_ATTR_VALUE_LEN, &out->u.s)
                              : fail(d, "expected a string");
    } else if ((x = field(v, "boolValue", "bool_value"))) {
        m = path_key(d, "boolValue");
        out->type = VT_VAL_BOOL;
        out->u.b = json_is_true(x);
        if (!json_is_boolean(x))
            e = fail(d, "expected true or false");
    } else if ((x = field(v, "intValue", "int_value"))) {
        m = path_key(d, "intValue");
        out->type = VT_VAL_INT;
        if (!json_to_i64(x, &out->u.i))
            e = fail(d, "expected a 64-bit integer (number or decimal string)");
    } else if ((x = field(v, "doubleValue", "double_value"))) {
        m = path_key(d, "doubleValue");
        out->type = VT_VAL_DOUBLE;
        if (!json_to_double(x, &out->u.d))
            e = fail(d, "expected a number or \"NaN\", \"Infinity\", \"-Infinity\"");
    } else if ((x = field(v, "arrayValue", "array_value"))) {
        m = path_key(d, "arrayValue");
        out->type = VT_VAL_ARRAY;
        json_t *vals = NULL;
        if (!json_is_object(x))
            e = fail(d, "expected an object");
        else if (depth >= VT_MAX_VALUE_DEPTH)
            e = fail(d, "values nested deeper than %d levels", VT_MAX_VALUE_DEPTH);
        else
            e = get_array(d, x, "values", NULL, &vals);
        if (!e && vals) {
            size_t total = json_array_size(vals);
            uint32_t n = (uint32_t)VT_MIN(total, (size_t)VT_MAX_ARRAY_ITEMS);
            vt_value_t *items = n ? vt_arena_calloc(d->a, n, sizeof *items) : NULL;
            if (n && !items)
                e = out_of_memory(d);
            size_t m2 = path_key(d, "values");
            for (uint32_t i = 0; !e && i < n; i++) {
                size_t m3 = path_idx(d, i);
                e = dec_value(d, json_array_get(vals, i), depth + 1, &items[i]);
                path_pop(d, m3);
            }
            path_pop(d, m2);
            out->u.arr.items = items;
            out->u.arr.n = n;
        }
    } else if ((x = field(v, "kvlistValue", "kvlist_value"))) {
        m = path_key(d, "kvlistValue");
        out->type = VT_VAL_KVLIST;
        json_t *vals = NULL;
        if (!json_is_object(x))
            e = fail(d, "expected an object");
        else if (depth >= VT_MAX_VALUE_DEPTH)
            e = fail(d, "values nested deeper than %d levels", VT_MAX_VALUE_DEPTH);
        else
            e = get_array(d, x, "values", NULL, &vals);
        if (!e && vals) {
            size_t m2 = path_key(d, "values");
            e = dec_kvs(d, vals, VT_MAX_ARRAY_ITEMS, depth + 1, &out->u.kv.items, &out->u.kv.n,
                        NULL);
            path_pop(d, m2);
        }
    } else if ((x = field(v, "bytesValue", "bytes_value"))) {
        m = path_key(d, "bytesValue");
        out->type = VT_VAL_BYTES;
        e = dec_bytes(d, x, &out->u.s);
    } else {
        return VT_OK; /* no known member: an empty value, as an unset oneof is */
    }
    path_pop(d, m);
    return e;
}

/* Decodes a JSON array of KeyValue objects, keeping the first `max` and adding the number of
 * the others to *dropped (when dropped is not NULL). */
static vt_err_t dec_kvs(dec_t *d, json_t *arr, uint32_t max, int depth, vt_kv_t **items,
                        uint32_t *n, uint32_t *dropped) {
    size_t total = json_array_size(arr);
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
    vt_err_t e = VT_OK;
    for (uint32_t i = 0; !e && i < keep; i++) {
        json_t *el = json_array_get(arr, i);
        size_t m = path_idx(d, i);
        json_t *val = NULL;
        if (!json_is_object(el))
            e = fail(d, "expected a KeyValue object");
        if (!e)
            e = get_str(d, el, "key", NULL, SIZE_MAX, &kv[i].key);
        if (!e)
            e = get_object(d, el, "value", NULL, &val);
        if (!e) {
            size_t m2 = path_key(d, "value");
            e = dec_value(d, val, depth, &kv[i].value);
            path_pop(d, m2);
        }
        path_pop(d, m);
    }
    *items = kv;
    *n = keep;
    return e;
}

/* The "attributes" and "droppedAttributesCount" fields of obj. The sender's drop count and
 * what the limit drops here add up in attrs->dropped. */
static vt_err_t dec_attrs(dec_t *d, json_t *obj, uint32_t max, vt_attrs_t *attrs) {
    json_t *arr;
    memset(attrs, 0, sizeof *attrs);
    vt_err_t e =
        get_u32(d, obj, "droppedAttributesCount", "dropped_attributes_count", &attrs->dropped);
    if (!e)
        e = get_array(d, obj, "attributes", NULL, &arr);
    if (e || !arr)
        return e;
    size_t m = path_key(d, "attributes");
    e = dec_kvs(d, arr, max, 0, &attrs->items, &attrs->n, &attrs->dropped);
    path_pop(d, m);
    return e;
}

/* ---- spans ------------------------------------------------------------------------------------
 */

static const char *const kind_names[] = {
    "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",      "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
};
static const char *const status_names[] = {
    "STATUS_CODE_UNSET",
    "STATUS_CODE_OK",
    "STATUS_CODE_ERROR",
};

static vt_err_t dec_event(dec_t *d, json_t *o, vt_event_t *ev) {
    if (!json_is_object(o))
        return fail(d, "expected an Event object");
    vt_err_t e = get_u64(d, o, "timeUnixNano", "time_unix_nano", &ev->time_ns);
    if (!e)
        e = get_str(d, o, "name", NULL, VT_MAX_NAME_LEN, &ev->name);
    if (!e)
        e = dec_attrs(d, o, VT_MAX_ATTRS_PER_EVENT, &ev->attrs);
    return e;
}

/* Links get the per-event attribute limit: span.h has no separate one, and the SDKs' defaults
 * for the two are the same (128). */
static vt_err_t dec_link(dec_t *d, json_t *o, vt_link_t *l) {
    if (!json_is_object(o))
        return fail(d, "expected a Link object");
    vt_err_t e = get_id(d, o, "traceId", "trace_id", l->trace_id, sizeof l->trace_id, NULL);
    if (!e)
        e = get_id(d, o, "spanId", "span_id", l->span_id, sizeof l->span_id, NULL);
    if (!e)
        e = get_str(d, o, "traceState", "trace_state", SIZE_MAX, &l->trace_state);
    if (!e)
        e = get_u32(d, o, "flags", NULL, &l->flags);
    if (!e)
        e = dec_attrs(d, o, VT_MAX_ATTRS_PER_EVENT, &l->attrs);
    return e;
}

/* Decodes the array field `camel` of span object o into *items (n kept, the rest counted in
 * *dropped on top of the sender's count, which the caller has read already). */
static vt_err_t dec_list(dec_t *d, json_t *o, const char *camel, const char *snake, size_t elsize,
                         uint32_t max, void **items, uint32_t *n, uint32_t *dropped,
                         vt_err_t (*one)(dec_t *, json_t *, void *)) {
    json_t *arr;
    vt_err_t e = get_array(d, o, camel, snake, &arr);
    *items = NULL;
    *n = 0;
    if (e || !arr)
        return e;
    size_t total = json_array_size(arr);
    uint32_t keep = (uint32_t)VT_MIN(total, (size_t)max);
    *dropped = sat_add_u32(*dropped, total - keep);
    if (keep == 0)
        return VT_OK;
    unsigned char *mem = vt_arena_calloc(d->a, keep, elsize);
    if (!mem)
        return out_of_memory(d);
    size_t m = path_key(d, camel);
    for (uint32_t i = 0; !e && i < keep; i++) {
        size_t m2 = path_idx(d, i);
        e = one(d, json_array_get(arr, i), mem + i * elsize);
        path_pop(d, m2);
    }
    path_pop(d, m);
    *items = mem;
    *n = keep;
    return e;
}

static vt_err_t dec_event_v(dec_t *d, json_t *o, void *out) {
    return dec_event(d, o, out);
}

static vt_err_t dec_link_v(dec_t *d, json_t *o, void *out) {
    return dec_link(d, o, out);
}

static vt_err_t dec_span(dec_t *d, json_t *o, vt_span_t *s) {
    if (!json_is_object(o))
        return fail(d, "expected a Span object");
    vt_err_t e =
        get_id(d, o, "traceId", "trace_id", s->trace_id, sizeof s->trace_id, &s->trace_id_len);
    if (!e)
        e = get_id(d, o, "spanId", "span_id", s->span_id, sizeof s->span_id, &s->span_id_len);
    if (!e)
        e = get_id(d, o, "parentSpanId", "parent_span_id", s->parent_span_id,
                   sizeof s->parent_span_id, &s->parent_span_id_len);
    if (!e && s->parent_span_id_len == sizeof s->parent_span_id &&
        sodium_is_zero(s->parent_span_id, sizeof s->parent_span_id))
        s->parent_span_id_len = 0; /* an all-zero parent means "no parent" (span.h) */
    if (!e)
        e = get_str(d, o, "traceState", "trace_state", SIZE_MAX, &s->trace_state);
    if (!e)
        e = get_u32(d, o, "flags", NULL, &s->flags);
    if (!e)
        e = get_str(d, o, "name", NULL, VT_MAX_NAME_LEN, &s->name);
    if (!e)
        e = get_enum(d, o, "kind", NULL, kind_names, (int)VT_ARRAY_LEN(kind_names), &s->kind);
    if (!e)
        e = get_u64(d, o, "startTimeUnixNano", "start_time_unix_nano", &s->start_ns);
    if (!e)
        e = get_u64(d, o, "endTimeUnixNano", "end_time_unix_nano", &s->end_ns);
    if (!e)
        e = dec_attrs(d, o, VT_MAX_ATTRS_PER_SPAN, &s->attrs);
    if (!e)
        e = get_u32(d, o, "droppedEventsCount", "dropped_events_count", &s->dropped_events);
    if (!e)
        e = get_u32(d, o, "droppedLinksCount", "dropped_links_count", &s->dropped_links);
    void *items;
    if (!e) {
        e = dec_list(d, o, "events", NULL, sizeof(vt_event_t), VT_MAX_EVENTS_PER_SPAN, &items,
                     &s->n_events, &s->dropped_events, dec_event_v);
        s->events = items;
    }
    if (!e) {
        e = dec_list(d, o, "links", NULL, sizeof(vt_link_t), VT_MAX_LINKS_PER_SPAN, &items,
                     &s->n_links, &s->dropped_links, dec_link_v);
        s->links = items;
    }
    json_t *st = NULL;
    s->status_message = (vt_str_t){"", 0};
    if (!e)
        e = get_object(d, o, "status", NULL, &st);
    if (!e && st) {
        size_t m = path_key(d, "status");
        e = get_enum(d, st, "code", NULL, status_names, (int)VT_ARRAY_LEN(status_names),
                     &s->status_code);
        if (!e)
            e = get_str(d, st, "message", NULL, SIZE_MAX, &s->status_message);
        path_pop(d, m);
    }
    return e;
}

/* ---- resource and scope levels
 * ------------------------------------------------------------------- */

/* The list of ScopeSpans of a ResourceSpans object. Senders from before OTLP 0.19 call it
 * instrumentationLibrarySpans; as in the Collector, that list is read only when scopeSpans is
 * empty. Returns false when either field has the wrong type (name says which). */
static bool pick_scope_spans(json_t *rs, json_t **out, const char **name) {
    json_t *ss = field(rs, "scopeSpans", "scope_spans");
    json_t *ils = field(rs, "instrumentationLibrarySpans", "instrumentation_library_spans");
    *out = NULL;
    if (ss && !json_is_array(ss)) {
        *name = "scopeSpans";
        return false;
    }
    if (ils && !json_is_array(ils)) {
        *name = "instrumentationLibrarySpans";
        return false;
    }
    if (ils && json_array_size(ils) > 0 && (!ss || json_array_size(ss) == 0)) {
        *out = ils;
        *name = "instrumentationLibrarySpans";
    } else {
        *out = ss;
        *name = "scopeSpans";
    }
    return true;
}

/* First walk: how many scopes and spans the batch will have. Wrong types count as nothing here;
 * the second walk reports them. */
static void count(json_t *rss, size_t *n_scopes, size_t *n_spans) {
    *n_scopes = *n_spans = 0;
    for (size_t i = 0; i < json_array_size(rss); i++) {
        json_t *rs = json_array_get(rss, i), *sss, *spans;
        const char *name;
        if (!json_is_object(rs) || !pick_scope_spans(rs, &sss, &name))
            continue;
        *n_scopes += json_array_size(sss);
        for (size_t j = 0; j < json_array_size(sss); j++) {
            json_t *ss = json_array_get(sss, j);
            if (json_is_object(ss) && (spans = field(ss, "spans", NULL)))
                *n_spans += json_array_size(spans);
        }
    }
}

static vt_err_t dec_scope_spans(dec_t *d, json_t *ss, uint32_t resource_idx, vt_batch_t *b) {
    if (!json_is_object(ss))
        return fail(d, "expected a ScopeSpans object");
    uint32_t scope_idx = b->n_scopes++;
    vt_scope_t *sc = &b->scopes[scope_idx];
    json_t *so, *spans;
    const char *scope_key = "scope";
    sc->name = sc->version = (vt_str_t){"", 0};
    vt_err_t e = get_object(d, ss, "scope", NULL, &so);
    if (!e && !so) {
        scope_key = "instrumentationLibrary";
        e = get_object(d, ss, "instrumentationLibrary", "instrumentation_library", &so);
    }
    if (!e && so) {
        size_t m = path_key(d, scope_key);
        e = get_str(d, so, "name", NULL, SIZE_MAX, &sc->name);
        if (!e)
            e = get_str(d, so, "version", NULL, SIZE_MAX, &sc->version);
        if (!e)
            e = dec_attrs(d, so, VT_MAX_ATTRS_PER_SPAN, &sc->attrs);
        path_pop(d, m);
    }
    if (!e)
        e = get_str(d, ss, "schemaUrl", "schema_url", SIZE_MAX, &sc->schema_url);
    if (!e)
        e = get_array(d, ss, "spans", NULL, &spans);
    if (e || !spans)
        return e;
    size_t m = path_key(d, "spans");
    for (size_t k = 0; !e && k < json_array_size(spans); k++) {
        size_t m2 = path_idx(d, k);
        vt_span_t *s = &b->spans[b->n_spans++];
        s->resource_idx = resource_idx;
        s->scope_idx = scope_idx;
        e = dec_span(d, json_array_get(spans, k), s);
        path_pop(d, m2);
    }
    path_pop(d, m);
    return e;
}

static vt_err_t dec_resource_spans(dec_t *d, json_t *rs, vt_batch_t *b) {
    if (!json_is_object(rs))
        return fail(d, "expected a ResourceSpans object");
    uint32_t resource_idx = b->n_resources++;
    vt_resource_t *r = &b->resources[resource_idx];
    json_t *ro, *sss;
    const char *name;
    vt_err_t e = get_object(d, rs, "resource", NULL, &ro);
    if (!e && ro) {
        size_t m = path_key(d, "resource");
        e = dec_attrs(d, ro, VT_MAX_ATTRS_PER_SPAN, &r->attrs);
        path_pop(d, m);
    }
    if (!e)
        e = get_str(d, rs, "schemaUrl", "schema_url", SIZE_MAX, &r->schema_url);
    if (e)
        return e;
    if (!pick_scope_spans(rs, &sss, &name)) {
        size_t m = path_key(d, name);
        e = fail(d, "expected an array");
        path_pop(d, m);
        return e;
    }
    size_t m = path_key(d, name);
    for (size_t j = 0; !e && j < json_array_size(sss); j++) {
        size_t m2 = path_idx(d, j);
        e = dec_scope_spans(d, json_array_get(sss, j), resource_idx, b);
        path_pop(d, m2);
    }
    path_pop(d, m);
    return e;
}

/* ---- entry point ------------------------------------------------------------------------------
 */

/* An empty body (or one of only whitespace) is an empty batch: the API answers an empty export
 * request with 200, whatever its encoding. */
static bool is_blank(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
            return false;
    return true;
}

vt_err_t vt_otlp_decode_json(vt_arena_t *a, const char *data, size_t len, vt_batch_t *out,
                             char *err, size_t errlen) {
    dec_t d = {.a = a, .err = err, .errlen = errlen};
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (is_blank(data, len))
        return VT_OK;

    /* JSON_ALLOW_NUL: a "\u0000" inside a string cuts that string (see copy_str) rather than
     * failing the whole request. jansson limits nesting itself
     * (JSON_PARSER_MAX_DEPTH), far above what VT_MAX_VALUE_DEPTH lets through below. */
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        if (err && errlen)
            snprintf(err, errlen, "invalid JSON at line %d column %d: %s%s", jerr.line, jerr.column,
                     jerr.text,
                     json_error_code(&jerr) == json_error_numeric_overflow
                         ? " (send integers beyond the int64 range as decimal strings)"
                         : "");
        return VT_EINVAL;
    }
    vt_err_t e = VT_OK;
    json_t *rss = NULL;
    if (!json_is_object(root)) {
        e = fail(&d, "the request body must be a JSON object");
        goto out;
    }
    e = get_array(&d, root, "resourceSpans", "resource_spans", &rss);
    if (e || !rss)
        goto out;

    size_t n_scopes, n_spans;
    count(rss, &n_scopes, &n_spans);
    size_t n_res = json_array_size(rss);
    if (n_res > UINT32_MAX || n_scopes > UINT32_MAX || n_spans > UINT32_MAX) {
        e = out_of_memory(&d);
        goto out;
    }
    out->resources = n_res ? vt_arena_calloc(a, n_res, sizeof *out->resources) : NULL;
    out->scopes = n_scopes ? vt_arena_calloc(a, n_scopes, sizeof *out->scopes) : NULL;
    out->spans = n_spans ? vt_arena_calloc(a, n_spans, sizeof *out->spans) : NULL;
    if ((n_res && !out->resources) || (n_scopes && !out->scopes) || (n_spans && !out->spans)) {
        e = out_of_memory(&d);
        goto out;
    }
    size_t m = path_key(&d, "resourceSpans");
    for (size_t i = 0; !e && i < n_res; i++) {
        size_t m2 = path_idx(&d, i);
        e = dec_resource_spans(&d, json_array_get(rss, i), out);
        path_pop(&d, m2);
    }
    path_pop(&d, m);
out:
    json_decref(root);
    if (e)
        memset(out, 0, sizeof *out);
    return e;
}
