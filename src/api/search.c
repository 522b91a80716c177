/*
 * search.c - POST /v1/traces/search: which calls (simulations and conversations) have spans that
 * match a set of filters, one item per call, sorted and paged.
 *
 * The search runs in three steps over the store's ordered span scan:
 *   1. One scan with the filters the store can apply itself (time range, exact span name,
 *      status) pushed down; every other filter is evaluated here, and each call with at least
 *      one matching span becomes a hit carrying its sort keys. A call's spans arrive together,
 *      so hits are produced as the scan moves from one call to the next.
 *   2. The aggregate error figures need to know which hits have an ERROR span among ALL their
 *      spans, not only the matching ones: when filters were pushed down, a second scan over
 *      the org's ERROR spans marks them (skipped when the first scan saw every span anyway).
 *   3. Call-level filters (agent_id, test_set_id) look each hit's call up; the hits are sorted,
 *      the page after the cursor is cut, and only the page's calls are scanned again in full
 *      for their span counts and matched names.
 * Memory is bounded by the number of matching calls (capped), never by the number of spans.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "../otlp/span.h"
#include "api.h"

#define SEARCH_DEFAULT_LIMIT 25
#define SEARCH_MAX_LIMIT 100
#define SEARCH_MAX_ATTR_FILTERS 10
#define SEARCH_MAX_TARGETS 200000       /* matching calls one search may collect */
#define SEARCH_MAX_NAMES 100            /* distinct names listed per item and list */
#define SEARCH_MAX_TEXT 1024            /* longest filter string */
#define SEARCH_MAX_ID 256               /* longest call id a cursor may carry */
#define SEARCH_LOOKUP_ARENA (64u << 20) /* scratch arena of one call lookup */

typedef enum { OP_CONTAINS, OP_EQ, OP_EXISTS, OP_GT, OP_GTE, OP_LT, OP_LTE } op_t;
static const char *const op_names[] = {"contains", "eq", "exists", "gt", "gte", "lt", "lte"};

typedef enum { SORT_NEWEST, SORT_OLDEST, SORT_SLOWEST, SORT_FASTEST } sort_t;
static const char *const sort_names[] = {"newest", "oldest", "slowest", "fastest"};
static const char sort_tags[] = "nosf"; /* one letter per sort, carried in cursors */

static const char *const status_names[] = {"UNSET", "OK", "ERROR"};

typedef struct {
    const char *key;
    op_t op;
    json_t *value;      /* borrowed from the request body */
    const char *needle; /* "key" as stored JSON writes it, or NULL when it needs escaping */
} attr_filter_t;

/* The parsed request. Absent filters are off (has_* false, NULL, status -1). */
typedef struct {
    size_t limit;
    const char *cursor;
    bool has_start, has_end;
    uint64_t start_ns, end_ns; /* span start time bounds, inclusive */
    const char *span_name;
    size_t span_name_len;
    bool span_name_prefix; /* span_name ended in '*': match names starting with the rest */
    const char *provider;
    bool provider_plain; /* the provider appears verbatim in stored JSON (no escapes) */
    int status;
    attr_filter_t attrs[SEARCH_MAX_ATTR_FILTERS];
    size_t n_attrs;
    bool has_dur_min, has_dur_max;
    double dur_min_ms, dur_max_ms;
    sort_t sort;
    const char *agent_id;
    const char *test_set_id;
} query_t;

/* ---- request parsing ------------------------------------------------------------------------ */

static void bad_field(vt_req_t *r, const char *field, const char *desc) {
    char msg[300];
    snprintf(msg, sizeof msg, "Invalid field %s: %s", field, desc);
    vt_req_reply_error(r, VT_EINVAL, msg, field, desc);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). The year is shifted to
 * start in March so that the leap day is the last day of its year. */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Parses an RFC 3339 timestamp ("2025-01-31T12:00:00.5Z", "...+02:00") or a plain date
 * ("2025-01-31", the day's first nanosecond, or its last when end_of_day) into nanoseconds
 * since the epoch. Dates before 1970 are refused. */
static bool parse_time(const char *s, bool end_of_day, uint64_t *out) {
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d))
        return false;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap))
        return false;
    int64_t days = days_from_civil(y, mo, d);
    const char *p = s + 10;
    if (*p == '\0') {
        *out = (uint64_t)(days + end_of_day) * 86400000000000ull - end_of_day;
        return true;
    }
    if ((*p != 'T' && *p != 't' && *p != ' ') || !digits(p + 1, 2, &h) || p[3] != ':' ||
        !digits(p + 4, 2, &mi) || p[6] != ':' || !digits(p + 7, 2, &sec) || h > 23 || mi > 59 ||
        sec > 60)
        return false;
    p += 9;
    uint64_t frac = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        for (; *p >= '0' && *p <= '9'; p++, nd++)
            if (nd < 9)
                frac = frac * 10 + (uint64_t)(*p - '0');
        if (nd == 0)
            return false;
        for (; nd < 9; nd++)
            frac *= 10;
    }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        offset_s = (*p == '-' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
        p += 6;
    } else {
        return false;
    }
    if (*p)
        return false;
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    if (secs < 0)
        return false;
    *out = (uint64_t)secs * 1000000000ull + frac;
    return true;
}

/* A date filter: an RFC 3339 string (or plain date) or integer epoch milliseconds. */
static bool get_date(vt_req_t *r, json_t *filters, const char *key, const char *field,
                     bool end_of_day, bool *has, uint64_t *ns) {
    json_t *v = json_object_get(filters, key);
    if (!v || json_is_null(v))
        return true;
    if (json_is_integer(v) && json_integer_value(v) >= 0 &&
        json_integer_value(v) <= (json_int_t)(UINT64_MAX / 1000000u)) {
        *ns = (uint64_t)json_integer_value(v) * 1000000u;
    } else if (!json_is_string(v) || !parse_time(json_string_value(v), end_of_day, ns)) {
        bad_field(r, field,
                  "must be an RFC 3339 timestamp (e.g. 2025-01-31T12:00:00Z), a date "
                  "(2025-01-31) or epoch milliseconds");
        return false;
    }
    *has = true;
    return true;
}

/* A string filter of at most SEARCH_MAX_TEXT bytes; empty counts as absent. */
static bool get_text(vt_req_t *r, json_t *obj, const char *key, const char *field,
                     const char **out) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v) || json_string_length(v) > SEARCH_MAX_TEXT ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        bad_field(r, field, "must be a string of at most 1024 characters");
        return false;
    }
    if (json_string_length(v))
        *out = json_string_value(v);
    return true;
}

static bool get_duration(vt_req_t *r, json_t *filters, const char *key, const char *field,
                         bool *has, double *out) {
    json_t *v = json_object_get(filters, key);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_number(v) || json_number_value(v) < 0) {
        bad_field(r, field, "must be a non-negative number of milliseconds");
        return false;
    }
    *has = true;
    *out = json_number_value(v);
    return true;
}

/* Picks one of a list of names; false (with a 400) when s is none of them. */
static bool get_enum(vt_req_t *r, json_t *obj, const char *key, const char *field,
                     const char *const *names, size_t n, const char *desc, int *out) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return true;
    for (size_t i = 0; json_is_string(v) && i < n; i++) {
        if (strcasecmp(json_string_value(v), names[i]) == 0) {
            *out = (int)i;
            return true;
        }
    }
    bad_field(r, field, desc);
    return false;
}

/* The number a JSON value stands for: a number, or a string that is entirely a finite number. */
static bool numeric(const json_t *v, double *out) {
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    if (!json_is_string(v) || json_string_length(v) == 0)
        return false;
    const char *s = json_string_value(v);
    char *end;
    double d = strtod(s, &end);
    if (end == s || *end || !isfinite(d))
        return false;
    *out = d;
    return true;
}

/* True when stored JSON holds the string verbatim: the JSON writer escapes only quotes,
 * backslashes and control characters (jansson has already checked the UTF-8). */
static bool json_plain(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\')
            return false;
    return true;
}

static bool parse_attr_filters(vt_req_t *r, json_t *filters, query_t *q) {
    json_t *arr = json_object_get(filters, "attribute_filters");
    if (!arr || json_is_null(arr))
        return true;
    if (!json_is_array(arr) || json_array_size(arr) > SEARCH_MAX_ATTR_FILTERS) {
        bad_field(r, "filters.attribute_filters", "must be an array of at most 10 filters");
        return false;
    }
    size_t i;
    json_t *f;
    char field[80];
    json_array_foreach(arr, i, f) {
        attr_filter_t *af = &q->attrs[q->n_attrs++];
        if (!json_is_object(f)) {
            snprintf(field, sizeof field, "filters.attribute_filters[%zu]", i);
            bad_field(r, field, "must be an object {key, operator, value}");
            return false;
        }
        json_t *key = json_object_get(f, "key");
        if (!json_is_string(key) || json_string_length(key) == 0 || json_string_length(key) > 256) {
            snprintf(field, sizeof field, "filters.attribute_filters[%zu].key", i);
            bad_field(r, field, "must be a non-empty string of at most 256 characters");
            return false;
        }
        af->key = json_string_value(key);
        af->needle = json_plain(af->key) ? vt_arena_printf(&r->arena, "\"%s\"", af->key) : NULL;
        int op = -1;
        snprintf(field, sizeof field, "filters.attribute_filters[%zu].operator", i);
        if (!get_enum(r, f, "operator", field, op_names, VT_ARRAY_LEN(op_names),
                      "must be one of contains, eq, exists, gt, gte, lt, lte", &op))
            return false;
        if (op < 0) {
            bad_field(r, field, "is required (contains, eq, exists, gt, gte, lt, lte)");
            return false;
        }
        af->op = (op_t)op;
        af->value = json_object_get(f, "value");
        if (af->op == OP_EXISTS)
            continue;
        snprintf(field, sizeof field, "filters.attribute_filters[%zu].value", i);
        double d;
        if (af->op >= OP_GT && !numeric(af->value, &d)) {
            char desc[64];
            snprintf(desc, sizeof desc, "must be a number for operator %s", op_names[af->op]);
            bad_field(r, field, desc);
            return false;
        }
        if (!json_is_string(af->value) && !json_is_number(af->value) &&
            !json_is_boolean(af->value)) {
            bad_field(r, field, "must be a string, number or boolean");
            return false;
        }
    }
    return true;
}

/* Parses the request body into q; replies 400 and returns false when it is invalid. */
static bool parse_query(vt_req_t *r, json_t *body, query_t *q) {
    memset(q, 0, sizeof *q);
    q->limit = SEARCH_DEFAULT_LIMIT;
    q->status = -1;
    json_t *lim = json_object_get(body, "limit");
    if (lim && !json_is_null(lim)) {
        if (!json_is_integer(lim) || json_integer_value(lim) < 0) {
            bad_field(r, "limit", "must be an integer from 1 to 100");
            return false;
        }
        json_int_t n = json_integer_value(lim);
        q->limit = n == 0                 ? SEARCH_DEFAULT_LIMIT
                   : n > SEARCH_MAX_LIMIT ? SEARCH_MAX_LIMIT
                                          : (size_t)n;
    }
    json_t *cur = json_object_get(body, "cursor");
    if (cur && !json_is_null(cur) && !json_is_string(cur)) {
        bad_field(r, "cursor", "must be the next_cursor string of a previous answer");
        return false;
    }
    if (json_string_length(cur))
        q->cursor = json_string_value(cur);
    json_t *f = json_object_get(body, "filters");
    if (!f || json_is_null(f))
        return true;
    if (!json_is_object(f)) {
        bad_field(r, "filters", "must be an object");
        return false;
    }
    int sort = SORT_NEWEST;
    if (!get_date(r, f, "start_date", "filters.start_date", false, &q->has_start, &q->start_ns) ||
        !get_date(r, f, "end_date", "filters.end_date", true, &q->has_end, &q->end_ns) ||
        !get_text(r, f, "span_name", "filters.span_name", &q->span_name) ||
        !get_text(r, f, "provider", "filters.provider", &q->provider) ||
        !get_enum(r, f, "status", "filters.status", status_names, VT_ARRAY_LEN(status_names),
                  "must be one of ERROR, OK, UNSET", &q->status) ||
        !parse_attr_filters(r, f, q) ||
        !get_duration(r, f, "duration_ms_min", "filters.duration_ms_min", &q->has_dur_min,
                      &q->dur_min_ms) ||
        !get_duration(r, f, "duration_ms_max", "filters.duration_ms_max", &q->has_dur_max,
                      &q->dur_max_ms) ||
        !get_enum(r, f, "sort_by", "filters.sort_by", sort_names, VT_ARRAY_LEN(sort_names),
                  "must be one of newest, oldest, slowest, fastest", &sort) ||
        !get_text(r, f, "agent_id", "filters.agent_id", &q->agent_id) ||
        !get_text(r, f, "test_set_id", "filters.test_set_id", &q->test_set_id))
        return false;
    q->sort = (sort_t)sort;
    if (q->has_start && q->has_end && q->end_ns < q->start_ns) {
        bad_field(r, "filters.end_date", "must not be before start_date");
        return false;
    }
    if (q->has_dur_min && q->has_dur_max && q->dur_max_ms < q->dur_min_ms) {
        bad_field(r, "filters.duration_ms_max", "must not be less than duration_ms_min");
        return false;
    }
    q->provider_plain = q->provider && json_plain(q->provider);
    if (q->span_name) {
        q->span_name_len = strlen(q->span_name);
        if (q->span_name[q->span_name_len - 1] == '*') {
            q->span_name_prefix = true;
            q->span_name_len--;
        }
    }
    return true;
}

/* ---- evaluating a span ---------------------------------------------------------------------- */

/* The parsed form of the last JSON text seen. Consecutive spans usually share their resource
 * and scope, so comparing the text is much cheaper than parsing it again. */
typedef struct {
    vt_buf_t text;
    json_t *obj;
    bool valid;
} json_cache_t;

static json_t *cache_get(json_cache_t *c, vt_str_t text) {
    if (c->valid && c->text.len == text.n &&
        (text.n == 0 || memcmp(c->text.data, text.p, text.n) == 0))
        return c->obj;
    json_decref(c->obj);
    c->obj = text.n ? json_loadb(text.p, text.n, 0, NULL) : NULL;
    vt_buf_reset(&c->text);
    c->valid = text.n == 0 || vt_buf_append(&c->text, text.p, text.n) == VT_OK;
    return c->obj;
}

static void cache_free(json_cache_t *c) {
    json_decref(c->obj);
    vt_buf_free(&c->text);
}

/* Per-scan evaluation state: the query and the parsed JSON of the current span. */
typedef struct {
    const query_t *q;
    json_t *attrs; /* the current span's attributes, parsed on first need; NULL before */
    bool attrs_loaded;
    json_cache_t resource;
    json_cache_t scope;
} eval_t;

static json_t *span_attrs(eval_t *ev, const vt_span_row_t *row) {
    if (!ev->attrs_loaded) {
        ev->attrs = row->attributes_json.n
                        ? json_loadb(row->attributes_json.p, row->attributes_json.n, 0, NULL)
                        : NULL;
        ev->attrs_loaded = true;
    }
    return ev->attrs;
}

/* Forgets the current span's parsed attributes; call after each span. */
static void span_done(eval_t *ev) {
    json_decref(ev->attrs);
    ev->attrs = NULL;
    ev->attrs_loaded = false;
}

static void eval_free(eval_t *ev) {
    span_done(ev);
    cache_free(&ev->resource);
    cache_free(&ev->scope);
}

#define SPAN_MAX_PROVIDERS 8

/* Attributes that name a span's provider, and span-name prefixes whose rest is one. */
static const char *const provider_keys[] = {"stt.providerName",     "gen_ai.system",
                                            "gen_ai.provider.name", "llm.provider",
                                            "tts.provider",         "provider"};
static const char *const provider_prefixes[] = {"stt.provider.", "tts.provider.", "llm.provider."};

/* Providers named by the span's name (stt.provider.<name>...): no parsing needed. */
static size_t name_providers(const vt_span_row_t *row, vt_str_t *out) {
    size_t n = 0;
    for (size_t i = 0; i < VT_ARRAY_LEN(provider_prefixes); i++) {
        size_t pl = strlen(provider_prefixes[i]);
        if (row->name.n > pl && vt_str_has_prefix(row->name, provider_prefixes[i]))
            out[n++] = (vt_str_t){row->name.p + pl, row->name.n - pl};
    }
    return n;
}

/* Collects the names of a span's providers (at most SPAN_MAX_PROVIDERS). The strings point into
 * the span's name or its parsed attributes, valid until span_done. */
static size_t span_providers(eval_t *ev, const vt_span_row_t *row, vt_str_t *out) {
    size_t n = name_providers(row, out);
    /* Every provider key contains "provider" or is gen_ai.system: spans whose attribute text
     * has neither are not parsed at all. */
    vt_str_t t = row->attributes_json;
    if (!t.n || (!memmem(t.p, t.n, "provider", 8) && !memmem(t.p, t.n, "gen_ai.system", 13)))
        return n;
    json_t *attrs = span_attrs(ev, row);
    for (size_t i = 0; i < VT_ARRAY_LEN(provider_keys) && n < SPAN_MAX_PROVIDERS; i++) {
        json_t *v = json_object_get(attrs, provider_keys[i]);
        if (json_is_string(v) && json_string_length(v))
            out[n++] = (vt_str_t){json_string_value(v), json_string_length(v)};
    }
    return n;
}

/* Does the text contain the needle, ignoring ASCII case? */
static bool text_has_icase(vt_str_t t, const char *needle) {
    size_t m = strlen(needle);
    for (size_t i = 0; m && i + m <= t.n; i++)
        if (strncasecmp(t.p + i, needle, m) == 0)
            return true;
    return false;
}

static bool str_ieq(vt_str_t a, const char *b) {
    return a.n == strlen(b) && strncasecmp(a.p, b, a.n) == 0;
}

/* Equality of an attribute value and a filter value: same JSON types compare directly; a
 * number and a numeric string compare as numbers; a boolean and "true"/"false" as text. */
static bool values_equal(const json_t *a, const json_t *f) {
    if (json_is_integer(a) && json_is_integer(f))
        return json_integer_value(a) == json_integer_value(f);
    if (json_is_string(a) && json_is_string(f))
        return json_string_length(a) == json_string_length(f) &&
               memcmp(json_string_value(a), json_string_value(f), json_string_length(a)) == 0;
    if (json_is_boolean(a) || json_is_boolean(f)) {
        const json_t *b = json_is_boolean(a) ? a : f, *o = b == a ? f : a;
        if (json_is_boolean(o))
            return json_is_true(b) == json_is_true(o);
        return json_is_string(o) &&
               strcmp(json_string_value(o), json_is_true(b) ? "true" : "false") == 0;
    }
    double x, y;
    return numeric(a, &x) && numeric(f, &y) && x == y;
}

static bool attr_filter_matches(const attr_filter_t *af, const json_t *v) {
    if (!v)
        return false;
    double x, y;
    switch (af->op) {
    case OP_EXISTS:
        return true;
    case OP_EQ:
        return values_equal(v, af->value);
    case OP_CONTAINS:
        if (json_is_array(v)) {
            size_t i;
            json_t *item;
            json_array_foreach(v, i, item) {
                if (values_equal(item, af->value))
                    return true;
            }
            return false;
        }
        /* Substring search ignores ASCII case, as a search box does. */
        return json_is_string(v) && json_is_string(af->value) &&
               strcasestr(json_string_value(v), json_string_value(af->value)) != NULL;
    case OP_GT:
        return numeric(v, &x) && numeric(af->value, &y) && x > y;
    case OP_GTE:
        return numeric(v, &x) && numeric(af->value, &y) && x >= y;
    case OP_LT:
        return numeric(v, &x) && numeric(af->value, &y) && x < y;
    case OP_LTE:
        return numeric(v, &x) && numeric(af->value, &y) && x <= y;
    }
    return false;
}

/* Does the span pass every span-level filter? Filters pushed down to the store are checked
 * again here, which keeps this the one definition of a match (step 3 scans without them). */
static bool span_matches(eval_t *ev, const vt_span_row_t *row) {
    const query_t *q = ev->q;
    if (q->status >= 0 && row->status_code != q->status)
        return false;
    if ((q->has_start && row->start_ns < q->start_ns) || (q->has_end && row->start_ns > q->end_ns))
        return false;
    if (q->span_name && (row->name.n < q->span_name_len ||
                         (!q->span_name_prefix && row->name.n != q->span_name_len) ||
                         memcmp(row->name.p, q->span_name, q->span_name_len) != 0))
        return false;
    if (q->has_dur_min || q->has_dur_max) {
        double ms = row->end_ns > row->start_ns ? (double)(row->end_ns - row->start_ns) / 1e6 : 0;
        if ((q->has_dur_min && ms < q->dur_min_ms) || (q->has_dur_max && ms > q->dur_max_ms))
            return false;
    }
    if (q->provider) {
        /* Parsing attributes is the expensive part of a search: a span whose attribute text
         * does not even contain the provider's name is decided by its name alone. */
        vt_str_t prov[SPAN_MAX_PROVIDERS];
        size_t n = q->provider_plain && !text_has_icase(row->attributes_json, q->provider)
                       ? name_providers(row, prov)
                       : span_providers(ev, row, prov);
        bool found = false;
        for (size_t i = 0; i < n && !found; i++)
            found = str_ieq(prov[i], q->provider);
        if (!found)
            return false;
    }
    for (size_t i = 0; i < q->n_attrs; i++) {
        /* A key the span lacks is looked up on its resource (service.name, deployment...). Both
         * are parsed only when their text holds the quoted key. */
        const attr_filter_t *af = &q->attrs[i];
        vt_str_t at = row->attributes_json, rt = row->resource_json;
        json_t *v = NULL;
        if (!af->needle || (at.n && memmem(at.p, at.n, af->needle, strlen(af->needle))))
            v = json_object_get(span_attrs(ev, row), af->key);
        if (!v && (!af->needle || (rt.n && memmem(rt.p, rt.n, af->needle, strlen(af->needle)))))
            v = json_object_get(cache_get(&ev->resource, rt), af->key);
        if (!attr_filter_matches(af, v))
            return false;
    }
    return true;
}

/* ---- step 1: collecting hits ---------------------------------------------------------------- */

typedef struct {
    vt_target_kind_t kind;
    const char *id;    /* request arena */
    uint64_t first_ns; /* earliest start of a matching span */
    uint64_t last_ns;  /* latest start of a matching span */
    uint64_t max_dur_ns;
    int64_t key;    /* sort key: ascending key order is the requested order */
    bool has_error; /* the call has an ERROR span (any span, matching or not) */
} hit_t;

typedef struct {
    eval_t ev;
    vt_req_t *r;
    hit_t *hits; /* heap, grows up to SEARCH_MAX_TARGETS */
    size_t n, cap;
    bool all_spans; /* no filter was pushed down: the scan sees every span */
    /* the call being scanned */
    bool in_target;
    vt_target_kind_t kind;
    vt_buf_t id;
    hit_t cur;
    bool cur_matched;
} collect_t;

static vt_err_t flush_target(collect_t *c) {
    if (!c->in_target || !c->cur_matched)
        return VT_OK;
    if (c->n == SEARCH_MAX_TARGETS)
        return VT_ELIMIT;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        hit_t *h = realloc(c->hits, cap * sizeof *h);
        if (!h)
            return VT_ENOMEM;
        c->hits = h;
        c->cap = cap;
    }
    c->cur.kind = c->kind;
    c->cur.id = vt_arena_strndup(&c->r->arena, c->id.data, c->id.len);
    if (!c->cur.id)
        return VT_ENOMEM;
    c->hits[c->n++] = c->cur;
    return VT_OK;
}

static vt_err_t collect_visit(void *ud, vt_target_kind_t kind, const char *target_id,
                              const vt_span_row_t *row) {
    collect_t *c = ud;
    size_t idlen = strlen(target_id);
    if (!c->in_target || kind != c->kind || idlen != c->id.len ||
        (idlen && memcmp(target_id, c->id.data, idlen) != 0)) {
        vt_err_t e = flush_target(c);
        if (e)
            return e;
        c->in_target = true;
        c->kind = kind;
        vt_buf_reset(&c->id);
        if (vt_buf_append(&c->id, target_id, idlen) != VT_OK || idlen > SEARCH_MAX_ID)
            return VT_ENOMEM;
        memset(&c->cur, 0, sizeof c->cur);
        c->cur_matched = false;
    }
    if (row->status_code == VT_STATUS_ERROR)
        c->cur.has_error = true; /* meaningful only when the scan sees all spans */
    bool m = span_matches(&c->ev, row);
    span_done(&c->ev);
    if (!m)
        return VT_OK;
    uint64_t dur = row->end_ns > row->start_ns ? row->end_ns - row->start_ns : 0;
    if (!c->cur_matched || row->start_ns < c->cur.first_ns)
        c->cur.first_ns = row->start_ns;
    if (!c->cur_matched || row->start_ns > c->cur.last_ns)
        c->cur.last_ns = row->start_ns;
    if (dur > c->cur.max_dur_ns)
        c->cur.max_dur_ns = dur;
    c->cur_matched = true;
    return VT_OK;
}

static int cmp_target(vt_target_kind_t ka, const char *a, vt_target_kind_t kb, const char *b) {
    if (ka != kb)
        return ka < kb ? -1 : 1;
    return strcmp(a, b);
}

static int cmp_hit_target(const void *a, const void *b) {
    const hit_t *x = a, *y = b;
    return cmp_target(x->kind, x->id, y->kind, y->id);
}

/* Result order: sort key, then the call, so equal keys still page deterministically. */
static int cmp_hit_order(const void *a, const void *b) {
    const hit_t *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return cmp_hit_target(a, b);
}

/* ---- step 2: ERROR spans of the hits -------------------------------------------------------- */

typedef struct {
    hit_t *hits; /* sorted by call */
    size_t n;
    vt_target_kind_t last_kind; /* the previous span's call */
    char last_id[SEARCH_MAX_ID + 1];
} errscan_t;

static vt_err_t errors_visit(void *ud, vt_target_kind_t kind, const char *target_id,
                             const vt_span_row_t *row) {
    (void)row;
    errscan_t *s = ud;
    /* An ERROR-only scan still returns every error span of a call together: look each call up
     * once. */
    if (s->last_id[0] && kind == s->last_kind && strcmp(target_id, s->last_id) == 0)
        return VT_OK;
    s->last_kind = kind;
    snprintf(s->last_id, sizeof s->last_id, "%s", target_id);
    hit_t key = {.kind = kind, .id = target_id};
    hit_t *h = bsearch(&key, s->hits, s->n, sizeof *s->hits, cmp_hit_target);
    if (h)
        h->has_error = true;
    return VT_OK;
}

/* ---- step 3: call filters and the page's details -------------------------------------------- */

/* Does the call pass agent_id / test_set_id? Looked up in a scratch arena so that a long list
 * of calls with large transcripts does not pile up in the request's arena. */
static vt_err_t call_passes(vt_req_t *r, const query_t *q, const hit_t *h, bool *pass) {
    vt_store_t *st = vt_api_app(r)->store;
    vt_arena_t tmp;
    vt_arena_init(&tmp, SEARCH_LOOKUP_ARENA);
    vt_err_t e = VT_OK;
    *pass = false;
    if (h->kind == VT_TARGET_CONVERSATION) {
        /* Conversations belong to no test set. */
        vt_conversation_t c;
        if (!q->test_set_id &&
            (e = st->ops->conv_get(st, r->auth.org_id, h->id, &tmp, &c)) == VT_OK)
            *pass = c.agent_id && strcmp(c.agent_id, q->agent_id) == 0;
    } else {
        vt_simulation_t s;
        if ((e = st->ops->sim_get(st, r->auth.org_id, h->id, &tmp, &s)) == VT_OK) {
            json_t *meta = s.metadata_json ? json_loads(s.metadata_json, 0, NULL) : NULL;
            const char *agent = json_string_value(json_object_get(meta, "agent_id"));
            const char *set = json_string_value(json_object_get(meta, "test_set_id"));
            *pass = (!q->agent_id || (agent && strcmp(agent, q->agent_id) == 0)) &&
                    (!q->test_set_id ||
                     (s.test_case_id && strcmp(s.test_case_id, q->test_set_id) == 0) ||
                     (set && strcmp(set, q->test_set_id) == 0));
            json_decref(meta);
        }
    }
    vt_arena_free(&tmp);
    /* A call deleted since the scan simply drops out. */
    return e == VT_ENOTFOUND ? VT_OK : e;
}

/* Distinct names, in the request arena, at most SEARCH_MAX_NAMES. */
typedef struct {
    const char *items[SEARCH_MAX_NAMES];
    size_t n;
} names_t;

static void names_add(vt_arena_t *a, names_t *s, vt_str_t name) {
    if (!name.n || s->n == SEARCH_MAX_NAMES)
        return;
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->items[i]) == name.n && memcmp(s->items[i], name.p, name.n) == 0)
            return;
    const char *copy = vt_arena_strndup(a, name.p, name.n);
    if (copy)
        s->items[s->n++] = copy;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

typedef struct {
    eval_t ev;
    vt_arena_t *arena;
    int64_t total, by_status[3], matched;
    names_t spans, providers, services, scopes;
} detail_t;

static vt_str_t json_str_member(json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? (vt_str_t){json_string_value(v), json_string_length(v)}
                             : VT_STR_NULL;
}

static vt_err_t detail_visit(void *ud, vt_target_kind_t kind, const char *target_id,
                             const vt_span_row_t *row) {
    (void)kind;
    (void)target_id;
    detail_t *d = ud;
    d->total++;
    if (row->status_code >= 0 && row->status_code <= 2)
        d->by_status[row->status_code]++;
    if (span_matches(&d->ev, row)) {
        d->matched++;
        names_add(d->arena, &d->spans, row->name);
        vt_str_t prov[SPAN_MAX_PROVIDERS];
        size_t n = span_providers(&d->ev, row, prov);
        for (size_t i = 0; i < n; i++)
            names_add(d->arena, &d->providers, prov[i]);
        names_add(d->arena, &d->services,
                  json_str_member(cache_get(&d->ev.resource, row->resource_json), "service.name"));
        names_add(d->arena, &d->scopes,
                  json_str_member(cache_get(&d->ev.scope, row->scope_json), "name"));
    }
    span_done(&d->ev);
    return VT_OK;
}

static void write_names(vt_jw_t *w, const char *key, names_t *s) {
    qsort(s->items, s->n, sizeof s->items[0], cmp_str);
    vt_jw_key(w, key);
    vt_jw_arr_begin(w);
    for (size_t i = 0; i < s->n; i++)
        vt_jw_cstr(w, s->items[i]);
    vt_jw_arr_end(w);
}

/* Scans one call of the page in full and writes its item. */
static vt_err_t write_item(vt_req_t *r, vt_jw_t *w, const query_t *q, const hit_t *h) {
    vt_store_t *st = vt_api_app(r)->store;
    detail_t *d = vt_arena_calloc(&r->arena, 1, sizeof *d);
    if (!d)
        return VT_ENOMEM;
    d->ev.q = q;
    d->arena = &r->arena;
    vt_span_filter_t f = {.kind = h->kind, .target_id = h->id};
    vt_err_t e = st->ops->spans_scan(st, r->auth.org_id, &f, detail_visit, d);
    eval_free(&d->ev);
    if (e)
        return e;
    const char *run_id = NULL;
    if (h->kind == VT_TARGET_SIMULATION) {
        vt_simulation_t s;
        vt_arena_t tmp;
        vt_arena_init(&tmp, SEARCH_LOOKUP_ARENA);
        e = st->ops->sim_get(st, r->auth.org_id, h->id, &tmp, &s);
        if (e == VT_OK && s.run_id)
            run_id = vt_arena_strndup(&r->arena, s.run_id, strlen(s.run_id));
        vt_arena_free(&tmp);
        if (e && e != VT_ENOTFOUND)
            return e;
    }
    bool conv = h->kind == VT_TARGET_CONVERSATION;
    vt_jw_obj_begin(w);
    vt_jw_key(w, "simulation_output_id");
    vt_jw_cstr(w, h->id);
    if (conv) {
        vt_jw_key(w, "conversation_id");
        vt_jw_cstr(w, h->id);
    }
    vt_jw_key(w, "target_type");
    vt_jw_cstr(w, conv ? "conversation" : "simulation");
    vt_jw_key(w, "run_id");
    vt_jw_cstr(w, run_id);
    vt_jw_key(w, "latest_matched_timestamp_ms");
    vt_jw_uint(w, h->last_ns / 1000000u);
    vt_jw_key(w, "first_matched_timestamp_ms");
    vt_jw_uint(w, h->first_ns / 1000000u);
    vt_jw_key(w, "max_matched_duration_ms");
    vt_jw_double(w, (double)h->max_dur_ns / 1e6);
    vt_jw_key(w, "matched_span_count");
    vt_jw_int(w, d->matched);
    vt_jw_key(w, "total_span_count");
    vt_jw_int(w, d->total);
    vt_jw_key(w, "error_span_count");
    vt_jw_int(w, d->by_status[VT_STATUS_ERROR]);
    vt_jw_key(w, "ok_span_count");
    vt_jw_int(w, d->by_status[VT_STATUS_OK]);
    vt_jw_key(w, "unset_span_count");
    vt_jw_int(w, d->by_status[VT_STATUS_UNSET]);
    vt_jw_key(w, "overall_status");
    vt_jw_cstr(w, d->by_status[VT_STATUS_ERROR] ? "ERROR"
                  : d->by_status[VT_STATUS_OK]  ? "OK"
                                                : "UNSET");
    write_names(w, "matched_span_names", &d->spans);
    write_names(w, "matched_provider_names", &d->providers);
    write_names(w, "matched_service_names", &d->services);
    write_names(w, "matched_scope_names", &d->scopes);
    vt_jw_obj_end(w);
    return VT_OK;
}

/* ---- cursors -------------------------------------------------------------------------------- */

/* A cursor names the last item of a page: "<sort letter><key>.<kind>.<call id>", base64url. The
 * next page starts after that position, so calls that appear meanwhile never shift a page. */
static const char *cursor_encode(vt_req_t *r, sort_t sort, const hit_t *h) {
    char *raw = vt_arena_printf(&r->arena, "%c%" PRId64 ".%d.%s", sort_tags[sort], h->key,
                                (int)h->kind, h->id);
    if (!raw)
        return NULL;
    size_t n = strlen(raw);
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = vt_arena_alloc(&r->arena, cap);
    if (!out)
        return NULL;
    sodium_bin2base64(out, cap, (const unsigned char *)raw, n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static bool cursor_decode(vt_req_t *r, const char *text, sort_t sort, hit_t *out) {
    unsigned char raw[SEARCH_MAX_ID + 48];
    size_t n;
    if (sodium_base642bin(raw, sizeof raw - 1, text, strlen(text), NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return false;
    raw[n] = '\0';
    if (n < 6 || raw[0] != (unsigned char)sort_tags[sort] || memchr(raw, '\0', n))
        return false;
    char *p = (char *)raw + 1, *end;
    errno = 0;
    long long key = strtoll(p, &end, 10);
    if (errno || end == p || end[0] != '.' || (end[1] != '1' && end[1] != '2') || end[2] != '.' ||
        !end[3])
        return false;
    out->key = key;
    out->kind = end[1] == '1' ? VT_TARGET_SIMULATION : VT_TARGET_CONVERSATION;
    out->id = vt_arena_strndup(&r->arena, end + 3, strlen(end + 3));
    return out->id != NULL;
}

/* ---- the handler ---------------------------------------------------------------------------- */

static int64_t clamp_i64(uint64_t v) {
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

static void reply_search_error(vt_req_t *r, vt_err_t e) {
    if (e == VT_ELIMIT)
        vt_req_reply_error(r, VT_EINVAL,
                           "More than 200000 calls match; narrow the search (start_date, "
                           "end_date, span_name...)",
                           "filters", "matches more than 200000 calls");
    else
        vt_api_store_error(r, e, "the trace search");
}

void vt_api_traces_search(vt_req_t *r) {
    vt_store_t *st = vt_api_app(r)->store;
    json_t *body = r->body.len ? vt_api_parse_object(r) : json_object();
    if (!body)
        return;
    collect_t c = {.r = r};
    vt_buf_init(&c.id, SEARCH_MAX_ID + 1);
    query_t *q = vt_arena_calloc(&r->arena, 1, sizeof *q);
    hit_t after = {0};
    if (!q) {
        vt_req_reply_error(r, VT_ENOMEM, "Out of memory", NULL, NULL);
        goto out;
    }
    if (!parse_query(r, body, q))
        goto out;
    if (!st->ops->spans_scan) {
        vt_req_reply_error(r, VT_EINTERNAL, "This store cannot search spans", NULL, NULL);
        goto out;
    }
    if (q->cursor && !cursor_decode(r, q->cursor, q->sort, &after)) {
        bad_field(r, "cursor", "is not a next_cursor of this search (or sort_by changed)");
        goto out;
    }

    /* Step 1. */
    vt_span_filter_t f = {0};
    f.start_ns_min = q->has_start ? q->start_ns : 0;
    /* 0 means unbounded to the store; an end at the epoch itself is left to span_matches. */
    f.start_ns_max = q->has_end ? q->end_ns : 0;
    if (q->span_name && !q->span_name_prefix)
        f.name = q->span_name;
    f.status_code = q->status >= 0 ? q->status + 1 : 0;
    c.all_spans = !f.start_ns_min && !f.start_ns_max && !f.name && !f.status_code;
    c.ev.q = q;
    vt_err_t e = st->ops->spans_scan(st, r->auth.org_id, &f, collect_visit, &c);
    if (!e)
        e = flush_target(&c);
    eval_free(&c.ev);
    if (e) {
        reply_search_error(r, e);
        goto out;
    }

    /* Step 2. (qsort's array may not be NULL, even for no elements.) */
    if (c.n)
        qsort(c.hits, c.n, sizeof *c.hits, cmp_hit_target);
    if (q->status == VT_STATUS_ERROR) {
        for (size_t i = 0; i < c.n; i++)
            c.hits[i].has_error = true;
    } else if (!c.all_spans && c.n) {
        errscan_t es = {.hits = c.hits, .n = c.n};
        vt_span_filter_t ef = {.status_code = VT_STATUS_ERROR + 1};
        if ((e = st->ops->spans_scan(st, r->auth.org_id, &ef, errors_visit, &es)) != VT_OK) {
            reply_search_error(r, e);
            goto out;
        }
    }

    /* Step 3: call filters, sort keys, order. */
    size_t n = 0;
    int64_t errors = 0;
    for (size_t i = 0; i < c.n; i++) {
        hit_t *h = &c.hits[i];
        if (q->agent_id || q->test_set_id) {
            bool pass;
            if ((e = call_passes(r, q, h, &pass)) != VT_OK) {
                reply_search_error(r, e);
                goto out;
            }
            if (!pass)
                continue;
        }
        switch (q->sort) {
        case SORT_NEWEST:
            h->key = -clamp_i64(h->last_ns);
            break;
        case SORT_OLDEST:
            h->key = clamp_i64(h->first_ns);
            break;
        case SORT_SLOWEST:
            h->key = -clamp_i64(h->max_dur_ns);
            break;
        case SORT_FASTEST:
            h->key = clamp_i64(h->max_dur_ns);
            break;
        }
        errors += h->has_error;
        c.hits[n++] = *h;
    }
    if (n)
        qsort(c.hits, n, sizeof *c.hits, cmp_hit_order);
    size_t first = 0;
    if (q->cursor) {
        /* The first hit after the cursor's position. */
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (cmp_hit_order(&c.hits[mid], &after) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        first = lo;
    }
    size_t last = VT_MIN(n, first + q->limit);

    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "items");
    vt_jw_arr_begin(&w);
    for (size_t i = first; i < last; i++) {
        if ((e = write_item(r, &w, q, &c.hits[i])) != VT_OK) {
            reply_search_error(r, e);
            goto out;
        }
    }
    vt_jw_arr_end(&w);
    vt_jw_key(&w, "total_count");
    vt_jw_uint(&w, n);
    vt_jw_key(&w, "next_cursor");
    vt_jw_cstr(&w, last < n ? cursor_encode(r, q->sort, &c.hits[last - 1]) : "");
    vt_jw_key(&w, "aggregate_stats");
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "error_count");
    vt_jw_int(&w, errors);
    vt_jw_key(&w, "error_rate");
    vt_jw_double(&w, n ? (double)errors / (double)n : 0.0);
    vt_jw_obj_end(&w);
    vt_jw_obj_end(&w);
    vt_req_reply_json(r, 200);
out:
    free(c.hits);
    vt_buf_free(&c.id);
    json_decref(body);
}
