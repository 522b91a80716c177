/*
 * metric_eval.c - trace metric definitions, the built-ins, and their evaluation over one call's
 * spans (see metric_eval.h for the contract).
 *
 * Sections: names; built-ins; parsing definitions; reading attributes from the stored JSON;
 * evaluation; transcripts.
 */
#include "metric_eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../otlp/span.h"
#include "wer.h"

/* ---- names ------------------------------------------------------------------------------- */

static const char *const type_names[] = {
    [VT_METRIC_NONE] = "",
    [VT_METRIC_CUSTOM_TRACE] = "METRIC_CUSTOM_TRACE",
    [VT_METRIC_STT_WER] = "METRIC_STT_WER",
    [VT_METRIC_STT_WER_AUDIO_UPLOAD] = "METRIC_STT_WER_AUDIO_UPLOAD",
};

static const char *const source_names[] = {
    [VT_METRIC_SOURCE_ATTRIBUTE] = "attribute",
    [VT_METRIC_SOURCE_DURATION] = "duration",
};

static const char *const cmp_names[] = {
    [VT_METRIC_CMP_EQ] = "eq",   [VT_METRIC_CMP_NEQ] = "neq", [VT_METRIC_CMP_GT] = "gt",
    [VT_METRIC_CMP_GTE] = "gte", [VT_METRIC_CMP_LT] = "lt",   [VT_METRIC_CMP_LTE] = "lte",
    [VT_METRIC_CMP_IN] = "in",   [VT_METRIC_CMP_NIN] = "nin",
};

static const char *const units[] = {"s", "ms", "count", "ratio", "percent", "tokens", "score"};
#define UNITS_TEXT "s, ms, count, ratio, percent, tokens, score"

const char *vt_metric_type_name(vt_metric_type_t t) {
    return (size_t)t < VT_ARRAY_LEN(type_names) ? type_names[t] : "";
}

const char *vt_metric_source_name(vt_metric_source_t s) {
    return (size_t)s < VT_ARRAY_LEN(source_names) ? source_names[s] : "";
}

const char *vt_metric_cmp_name(vt_metric_cmp_t c) {
    return (size_t)c < VT_ARRAY_LEN(cmp_names) ? cmp_names[c] : "";
}

/* Index of s among names[0..n), or -1. Entries that are "" never match. */
static int name_index(const char *const *names, size_t n, const char *s, size_t len) {
    for (size_t i = 0; i < n; i++)
        if (names[i][0] && strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
            return (int)i;
    return -1;
}

/* ---- built-ins --------------------------------------------------------------------------- */

#define S(lit)                                                                                     \
    { lit, sizeof(lit) - 1 }

static const vt_metric_def_t builtins[] = {
    {.metric_id = "llm_ttfb",
     .metric_name = "LLM time to first byte",
     .description = "Average of metrics.ttfb on the spans named llm, in seconds.",
     .type = VT_METRIC_CUSTOM_TRACE,
     .span_names = {S("llm")},
     .n_span_names = 1,
     .attribute = S("metrics.ttfb"),
     .method = VT_AGG_AVERAGE,
     .unit = "s",
     .builtin = true},
    {.metric_id = "stt_ttfb",
     .metric_name = "STT time to first byte",
     .description = "Average of metrics.ttfb on the spans named stt, in seconds.",
     .type = VT_METRIC_CUSTOM_TRACE,
     .span_names = {S("stt")},
     .n_span_names = 1,
     .attribute = S("metrics.ttfb"),
     .method = VT_AGG_AVERAGE,
     .unit = "s",
     .builtin = true},
    {.metric_id = "tts_ttfb",
     .metric_name = "TTS time to first byte",
     .description = "Average of metrics.ttfb on the spans named tts, in seconds.",
     .type = VT_METRIC_CUSTOM_TRACE,
     .span_names = {S("tts")},
     .n_span_names = 1,
     .attribute = S("metrics.ttfb"),
     .method = VT_AGG_AVERAGE,
     .unit = "s",
     .builtin = true},
    /* Token counts come from the spans named llm only: a retry or provider child span that
     * repeats gen_ai.usage.* would otherwise count the same tokens twice. */
    {.metric_id = "llm_input_tokens",
     .metric_name = "LLM input tokens",
     .description = "Sum of gen_ai.usage.input_tokens on the spans named llm.",
     .type = VT_METRIC_CUSTOM_TRACE,
     .span_names = {S("llm")},
     .n_span_names = 1,
     .attribute = S("gen_ai.usage.input_tokens"),
     .method = VT_AGG_SUM,
     .unit = "tokens",
     .builtin = true},
    {.metric_id = "llm_output_tokens",
     .metric_name = "LLM output tokens",
     .description = "Sum of gen_ai.usage.output_tokens on the spans named llm.",
     .type = VT_METRIC_CUSTOM_TRACE,
     .span_names = {S("llm")},
     .n_span_names = 1,
     .attribute = S("gen_ai.usage.output_tokens"),
     .method = VT_AGG_SUM,
     .unit = "tokens",
     .builtin = true},
    {.metric_id = "tool_call_count",
     .metric_name = "Tool call count",
     .description = "Number of spans named llm_tool_call or tool_call.",
     .type = VT_METRIC_CUSTOM_TRACE,
     .span_names = {S("llm_tool_call"), S("tool_call")},
     .n_span_names = 2,
     .method = VT_AGG_COUNT,
     .unit = "count",
     .builtin = true,
     .none_is_zero = true},
    {.metric_id = "stt_wer",
     .metric_name = "STT word error rate",
     .description = "Word error rate of the transcript attributes of the stt spans against the "
                    "user turns of the call's transcript.",
     .type = VT_METRIC_STT_WER,
     .unit = "ratio",
     .builtin = true},
    {.metric_id = "stt_wer_audio_upload",
     .metric_name = "STT word error rate (audio upload)",
     .description = "Word error rate of the transcript attributes of the stt spans against the "
                    "reference transcript uploaded with the call.",
     .type = VT_METRIC_STT_WER_AUDIO_UPLOAD,
     .unit = "ratio",
     .builtin = true},
};

#undef S

const vt_metric_def_t *vt_metric_builtins(size_t *n) {
    *n = VT_ARRAY_LEN(builtins);
    return builtins;
}

const vt_metric_def_t *vt_metric_builtin(vt_str_t id) {
    for (size_t i = 0; i < VT_ARRAY_LEN(builtins); i++)
        if (vt_str_eq_c(id, builtins[i].metric_id))
            return &builtins[i];
    return NULL;
}

/* ---- parsing definitions ----------------------------------------------------------------- */

static vt_err_t invalid(vt_metric_error_t *err, const char *field, const char *description) {
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->description, sizeof err->description, "%s", description);
    return VT_EINVAL;
}

/* Reads an optional string member (null = absent: *out stays NULL). Non-strings, strings with
 * NUL characters, longer strings than max, and (when required) absent or empty ones are
 * VT_EINVAL naming the field. */
static vt_err_t get_string(const json_t *obj, const char *field, bool required, size_t max,
                           vt_str_t *out, vt_metric_error_t *err) {
    *out = VT_STR_NULL;
    const json_t *v = json_object_get(obj, field);
    if (!v || json_is_null(v))
        return required ? invalid(err, field, "is required") : VT_OK;
    if (!json_is_string(v))
        return invalid(err, field, "must be a string");
    size_t n = json_string_length(v);
    if (required && n == 0)
        return invalid(err, field, "must not be empty");
    if (n > max) {
        char d[64];
        snprintf(d, sizeof d, "must be at most %zu characters", max);
        return invalid(err, field, d);
    }
    if (memchr(json_string_value(v), '\0', n))
        return invalid(err, field, "must not contain NUL characters");
    *out = (vt_str_t){json_string_value(v), n};
    return VT_OK;
}

/* Copies a parsed string into the arena as a C string (NULL stays NULL). */
static vt_err_t keep(vt_arena_t *a, vt_str_t s, const char **out) {
    *out = NULL;
    if (!s.p)
        return VT_OK;
    *out = vt_arena_strndup(a, s.p, s.n);
    return *out ? VT_OK : VT_ENOMEM;
}

static vt_err_t keep_str(vt_arena_t *a, vt_str_t s, vt_str_t *out) {
    const char *p;
    vt_err_t e = keep(a, s, &p);
    *out = p ? (vt_str_t){p, s.n} : VT_STR_NULL;
    return e;
}

/* A JSON number (integer or real) as a finite double. */
static bool json_finite(const json_t *v, double *out) {
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return isfinite(*out);
}

static vt_err_t parse_target(const json_t *obj, vt_metric_target_t *t, vt_metric_error_t *err) {
    memset(t, 0, sizeof *t);
    const json_t *tc = json_object_get(obj, "target_condition");
    if (!tc || json_is_null(tc))
        return VT_OK;
    if (!json_is_object(tc))
        return invalid(err, "target_condition",
                       "must be an object {comparison_operator, target_float}");
    const json_t *op = json_object_get(tc, "comparison_operator");
    int i = json_is_string(op) ? name_index(cmp_names, VT_ARRAY_LEN(cmp_names),
                                            json_string_value(op), json_string_length(op))
                               : -1;
    if (i < 0)
        return invalid(err, "target_condition.comparison_operator",
                       "must be one of eq, neq, gt, gte, lt, lte, in, nin");
    t->op = (vt_metric_cmp_t)i;
    if (t->op == VT_METRIC_CMP_IN || t->op == VT_METRIC_CMP_NIN) {
        const json_t *vals = json_object_get(tc, "target_values");
        size_t n = json_array_size(vals);
        if (!json_is_array(vals) || n == 0 || n > VT_METRIC_MAX_TARGET_VALUES)
            return invalid(err, "target_condition.target_values",
                           "must be an array of 1 to 32 numbers (in and nin compare with a list)");
        for (size_t k = 0; k < n; k++) {
            if (!json_finite(json_array_get(vals, k), &t->target_values[k])) {
                char f[64];
                snprintf(f, sizeof f, "target_condition.target_values[%zu]", k);
                return invalid(err, f, "must be a number");
            }
        }
        t->n_target_values = n;
    } else if (!json_finite(json_object_get(tc, "target_float"), &t->target_float)) {
        return invalid(err, "target_condition.target_float", "is required and must be a number");
    }
    t->present = true;
    return VT_OK;
}

/* The unit a metric shows when the definition names none. */
static const char *default_unit(const vt_metric_def_t *d) {
    if (d->type != VT_METRIC_CUSTOM_TRACE)
        return "ratio";
    if (d->method == VT_AGG_COUNT)
        return "count";
    if (vt_aggregate_method_on_statuses(d->method))
        return "ratio";
    return d->source == VT_METRIC_SOURCE_DURATION ? "s" : NULL;
}

static vt_err_t parse_custom(vt_arena_t *a, const json_t *obj, vt_metric_def_t *d,
                             vt_metric_error_t *err) {
    vt_str_t span, source, attr, method;
    vt_err_t e;
    if ((e = get_string(obj, "span_name", true, VT_METRIC_MAX_SPAN_NAME, &span, err)) ||
        (e = get_string(obj, "value_source", false, 16, &source, err)) ||
        (e = get_string(obj, "metric_attribute", false, VT_METRIC_MAX_ATTRIBUTE, &attr, err)) ||
        (e = get_string(obj, "aggregation_method", true, 16, &method, err)))
        return e;
    if (vt_aggregate_method_parse(method, &d->method) != VT_OK)
        return invalid(err, "aggregation_method",
                       "must be one of average, median, p90, p95, p99, max, min, sum, count, "
                       "error_rate, success_rate");
    if (source.p) {
        int i = name_index(source_names, VT_ARRAY_LEN(source_names), source.p, source.n);
        if (i < 0)
            return invalid(err, "value_source", "must be attribute or duration");
        d->source = (vt_metric_source_t)i;
    }
    /* count, error_rate and success_rate look at spans, not values: no attribute needed. */
    bool on_spans = d->method == VT_AGG_COUNT || vt_aggregate_method_on_statuses(d->method);
    if (d->source == VT_METRIC_SOURCE_ATTRIBUTE && !on_spans && attr.n == 0)
        return invalid(err, "metric_attribute",
                       "is required when value_source is attribute (the span attribute that "
                       "holds the number, e.g. metrics.ttfb)");
    d->n_span_names = 1;
    if ((e = keep_str(a, span, &d->span_names[0])))
        return e;
    if (d->source == VT_METRIC_SOURCE_ATTRIBUTE && attr.n && (e = keep_str(a, attr, &d->attribute)))
        return e;
    return VT_OK;
}

vt_err_t vt_metric_def_parse(vt_arena_t *a, const json_t *obj, vt_metric_def_t *out,
                             vt_metric_error_t *err) {
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    if (!json_is_object(obj))
        return invalid(err, "metric", "must be a JSON object");
    vt_str_t name, desc, type, unit;
    vt_err_t e;
    if ((e = get_string(obj, "metric_name", true, VT_METRIC_MAX_NAME, &name, err)) ||
        (e = get_string(obj, "description", false, VT_METRIC_MAX_DESCRIPTION, &desc, err)) ||
        (e = get_string(obj, "metric_type", true, 64, &type, err)) ||
        (e = get_string(obj, "unit", false, 16, &unit, err)))
        return e;
    int t = name_index(type_names, VT_ARRAY_LEN(type_names), type.p, type.n);
    if (t < 0)
        return invalid(err, "metric_type",
                       "must be one of METRIC_CUSTOM_TRACE, METRIC_STT_WER, "
                       "METRIC_STT_WER_AUDIO_UPLOAD");
    out->type = (vt_metric_type_t)t;
    int u = unit.p ? name_index(units, VT_ARRAY_LEN(units), unit.p, unit.n) : -1;
    if (unit.p && u < 0)
        return invalid(err, "unit", "must be one of " UNITS_TEXT);
    if ((e = parse_target(obj, &out->target, err)))
        return e;
    if (out->type == VT_METRIC_CUSTOM_TRACE && (e = parse_custom(a, obj, out, err)))
        return e;
    out->unit = u >= 0 ? units[u] : default_unit(out);
    if ((e = keep(a, name, &out->metric_name)) || (e = keep(a, desc, &out->description)))
        return e;
    return VT_OK;
}

/* ---- reading attributes from the stored JSON --------------------------------------------- */

/* Evaluation reads one or two attributes of many spans. Parsing every span's attribute object
 * with jansson would cost more than the rest of a run's metrics together, so the stored text
 * (valid JSON written by vt_json_write_attrs) is walked instead: top-level members are skipped
 * over without building anything until the key is found. Malformed text reads as "no such
 * attribute" rather than failing, and every index is bounds-checked. */

static size_t skip_ws(const char *p, size_t n, size_t i) {
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

/* p[i] is '"'. Returns the index after the closing quote, or 0 if the string does not end;
 * sets *esc when the string holds an escape. */
static size_t skip_string(const char *p, size_t n, size_t i, bool *esc) {
    for (i++; i < n; i++) {
        if (p[i] == '\\') {
            *esc = true;
            i++;
        } else if (p[i] == '"') {
            return i + 1;
        }
    }
    return 0;
}

/* Returns the index after the JSON value starting at p[i], or 0 if it is malformed. Containers
 * are skipped by counting brackets outside strings, so nesting costs no recursion. */
static size_t skip_value(const char *p, size_t n, size_t i) {
    bool esc = false;
    if (i >= n)
        return 0;
    if (p[i] == '"')
        return skip_string(p, n, i, &esc);
    if (p[i] == '{' || p[i] == '[') {
        size_t depth = 0;
        for (; i < n; i++) {
            char c = p[i];
            if (c == '"') {
                size_t end = skip_string(p, n, i, &esc);
                if (!end)
                    return 0;
                i = end - 1;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (--depth == 0)
                    return i + 1;
            }
        }
        return 0;
    }
    size_t start = i;
    while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' && p[i] != '\t' &&
           p[i] != '\n' && p[i] != '\r')
        i++;
    return i > start ? i : 0;
}

/* Does the key text (between the quotes, escapes undecoded) equal key? */
static bool key_equal(const char *p, size_t n, bool esc, vt_str_t key) {
    if (!esc)
        return n == key.n && memcmp(p, key.p, n) == 0;
    /* Rare: an escaped key. Let jansson decode the quoted text (p - 1 is the opening quote). */
    json_t *s = json_loadb(p - 1, n + 2, JSON_DECODE_ANY, NULL);
    bool eq = json_is_string(s) && json_string_length(s) == key.n &&
              memcmp(json_string_value(s), key.p, key.n) == 0;
    json_decref(s);
    return eq;
}

/* The raw text of the value of top-level member `key` of a JSON object text; the last one when
 * the key repeats, as a JSON reader would keep it. */
static bool json_member(vt_str_t obj, vt_str_t key, vt_str_t *val) {
    const char *p = obj.p;
    size_t n = obj.n, i = skip_ws(p, n, 0);
    bool found = false;
    if (i >= n || p[i] != '{')
        return false;
    i++;
    for (;;) {
        i = skip_ws(p, n, i);
        if (i >= n)
            return false;
        if (p[i] == '}')
            return found;
        if (p[i] != '"')
            return false;
        bool esc = false;
        size_t key_end = skip_string(p, n, i, &esc);
        if (!key_end)
            return false;
        const char *k = p + i + 1;
        size_t kn = key_end - i - 2;
        i = skip_ws(p, n, key_end);
        if (i >= n || p[i] != ':')
            return false;
        i = skip_ws(p, n, i + 1);
        size_t end = skip_value(p, n, i);
        if (!end)
            return false;
        if (key_equal(k, kn, esc, key)) {
            *val = (vt_str_t){p + i, end - i};
            found = true;
        }
        i = skip_ws(p, n, end);
        if (i < n && p[i] == ',')
            i++;
        else if (i < n && p[i] == '}')
            return found;
        else
            return false;
    }
}

/* The raw value of attribute `key` of a span. Most spans lack most attributes, so one memmem
 * answers first: without the key's bytes anywhere in the text and without any escape, no
 * member's key can decode to it. */
static bool attr_raw(vt_str_t attrs, vt_str_t key, vt_str_t *val) {
    if (attrs.n == 0 || key.n == 0)
        return false;
    if (!memmem(attrs.p, attrs.n, key.p, key.n) && !memchr(attrs.p, '\\', attrs.n))
        return false;
    return json_member(attrs, key, val);
}

/* The number a raw JSON value holds, by the rules of vt_aggregate_number_json. Plain numbers
 * and strings without escapes go straight to vt_aggregate_number_text (JSON number syntax is a
 * subset of what it accepts, and it reads them to the same double); the rest through jansson. */
static bool raw_number(vt_str_t v, double *out) {
    if (v.n == 0)
        return false;
    char c = v.p[0];
    bool plain_number = (c == '-' || (c >= '0' && c <= '9')) && v.n <= VT_AGGREGATE_MAX_NUMBER_TEXT;
    if (plain_number)
        return vt_aggregate_number_text(v.p, v.n, out);
    if (c == '"' && v.n >= 2 && !memchr(v.p, '\\', v.n))
        return vt_aggregate_number_text(v.p + 1, v.n - 2, out);
    if (c != '"' && c != '-' && (c < '0' || c > '9'))
        return false; /* true, false, null, arrays and objects */
    json_t *j = json_loadb(v.p, v.n, JSON_DECODE_ANY, NULL);
    bool ok = j && vt_aggregate_number_json(j, out);
    json_decref(j);
    return ok;
}

/* The text of a raw JSON string value (views into v when it has no escapes, else a decoded
 * copy in arena a). false for other values; VT_ENOMEM is reported through *oom. */
static bool raw_string(vt_arena_t *a, vt_str_t v, vt_str_t *out, bool *oom) {
    if (v.n < 2 || v.p[0] != '"')
        return false;
    if (!memchr(v.p, '\\', v.n)) {
        *out = (vt_str_t){v.p + 1, v.n - 2};
        return true;
    }
    json_t *j = json_loadb(v.p, v.n, JSON_DECODE_ANY, NULL);
    bool ok = json_is_string(j);
    if (ok) {
        *out = vt_arena_str(a, (vt_str_t){json_string_value(j), json_string_length(j)});
        if (out->n != json_string_length(j))
            *oom = true;
    }
    json_decref(j);
    return ok && !*oom;
}

/* ---- evaluation -------------------------------------------------------------------------- */

static bool span_matches(const vt_metric_def_t *d, vt_str_t name) {
    for (size_t i = 0; i < d->n_span_names; i++) {
        vt_str_t pat = d->span_names[i];
        if (pat.n && pat.p[pat.n - 1] == '*') {
            if (name.n >= pat.n - 1 && memcmp(name.p, pat.p, pat.n - 1) == 0)
                return true;
        } else if (vt_str_eq(name, pat)) {
            return true;
        }
    }
    return false;
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence, for quoting names
 * (up to 1 KiB each) inside a status reason of 256 bytes. */
static int clip(vt_str_t s, size_t max) {
    size_t n = s.n;
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s.p[n] & 0xc0) == 0x80)
            n--;
    }
    return (int)n;
}

#define CLIP 80 /* bytes of one name quoted in a reason */

/* Which spans a custom metric reads, as words: "spans named llm", "spans named llm_tool_call
 * or tool_call", "spans whose name starts with llm", "any span". */
static void describe_spans(const vt_metric_def_t *d, char *buf, size_t size) {
    vt_str_t a = d->span_names[0];
    if (d->n_span_names == 2) {
        vt_str_t b = d->span_names[1];
        snprintf(buf, size, "spans named %.*s or %.*s", clip(a, CLIP), a.p, clip(b, CLIP), b.p);
    } else if (a.n == 1 && a.p[0] == '*') {
        snprintf(buf, size, "any span");
    } else if (a.n && a.p[a.n - 1] == '*') {
        vt_str_t prefix = {a.p, a.n - 1};
        snprintf(buf, size, "spans whose name starts with %.*s", clip(prefix, CLIP), prefix.p);
    } else {
        snprintf(buf, size, "spans named %.*s", clip(a, CLIP), a.p);
    }
}

static void fail(vt_metric_output_t *out, const char *reason) {
    out->status = VT_METRIC_FAILED;
    out->value = 0;
    out->result = VT_METRIC_RESULT_NONE;
    snprintf(out->status_reason, sizeof out->status_reason, "%s", reason);
}

static void complete(const vt_metric_def_t *d, vt_metric_output_t *out, double value) {
    if (!isfinite(value)) {
        fail(out, "the aggregated value is not a finite number");
        return;
    }
    out->status = VT_METRIC_COMPLETED;
    out->value = value;
    out->status_reason[0] = '\0';
    out->result = vt_metric_target_check(&d->target, value);
}

static vt_err_t eval_custom(vt_arena_t *scratch, const vt_metric_def_t *d,
                            const vt_metric_input_t *in, vt_metric_output_t *out) {
    bool on_spans = d->method == VT_AGG_COUNT || vt_aggregate_method_on_statuses(d->method);
    double *values = NULL;
    int32_t *statuses = NULL;
    if (in->n) {
        if (on_spans)
            statuses = vt_arena_alloc(scratch, in->n * sizeof *statuses);
        else
            values = vt_arena_alloc(scratch, in->n * sizeof *values);
        if (!statuses && !values) {
            fail(out, "out of memory");
            return VT_ENOMEM;
        }
    }
    size_t matched = 0, k = 0;
    for (size_t i = 0; i < in->n; i++) {
        const vt_span_row_t *row = &in->rows[i];
        if (!span_matches(d, row->name))
            continue;
        matched++;
        vt_str_t raw;
        if (on_spans)
            statuses[k++] = row->status_code;
        else if (d->source == VT_METRIC_SOURCE_DURATION)
            values[k++] = (double)(row->end_ns - row->start_ns) / 1e9;
        else if (attr_raw(row->attributes_json, d->attribute, &raw) && raw_number(raw, &values[k]))
            k++;
    }
    char spans[200], reason[VT_METRIC_REASON_MAX];
    describe_spans(d, spans, sizeof spans);
    if (matched == 0 && d->none_is_zero && d->method == VT_AGG_COUNT && in->n > 0) {
        complete(d, out, 0);
        return VT_OK;
    }
    if (matched == 0) {
        /* "spans named llm" -> "no span named llm"; "any span" -> "no spans". */
        if (strncmp(spans, "spans ", 6) == 0)
            snprintf(reason, sizeof reason, "no span %s", spans + 6);
        else
            snprintf(reason, sizeof reason, "no spans");
        fail(out, reason);
        return VT_OK;
    }
    if (k == 0) {
        snprintf(reason, sizeof reason, "no numeric values of %.*s on %s", clip(d->attribute, CLIP),
                 d->attribute.p, spans);
        fail(out, reason);
        return VT_OK;
    }
    double v;
    vt_err_t e = on_spans ? vt_aggregate_statuses(d->method, statuses, k, &v)
                          : vt_aggregate(d->method, values, k, &v);
    if (e) {
        fail(out, "the aggregation method does not apply to these values");
        return VT_OK;
    }
    out->sample_count = k;
    complete(d, out, v);
    return VT_OK;
}

/* One stt span's transcript, with what orders it. */
typedef struct {
    uint64_t start_ns;
    size_t idx;
    vt_str_t text;
} stt_piece_t;

static int piece_cmp(const void *pa, const void *pb) {
    const stt_piece_t *a = pa, *b = pb;
    if (a->start_ns != b->start_ns)
        return a->start_ns < b->start_ns ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

static vt_err_t eval_wer(vt_arena_t *scratch, const vt_metric_def_t *d, const vt_metric_input_t *in,
                         vt_metric_output_t *out) {
    static const vt_str_t stt = {"stt", 3};
    static const vt_str_t keys[] = {{"transcript", 10}, {"stt.transcription", 17}};
    size_t n_stt = 0, n = 0;
    for (size_t i = 0; i < in->n; i++)
        n_stt += vt_str_eq(in->rows[i].name, stt);
    if (n_stt == 0) {
        fail(out, "no span named stt");
        return VT_OK;
    }
    stt_piece_t *pieces = vt_arena_alloc(scratch, n_stt * sizeof *pieces);
    if (!pieces) {
        fail(out, "out of memory");
        return VT_ENOMEM;
    }
    bool oom = false;
    size_t total = 0;
    for (size_t i = 0; i < in->n && !oom; i++) {
        const vt_span_row_t *row = &in->rows[i];
        if (!vt_str_eq(row->name, stt))
            continue;
        vt_str_t raw, text;
        for (size_t k = 0; k < VT_ARRAY_LEN(keys); k++) {
            if (attr_raw(row->attributes_json, keys[k], &raw) &&
                raw_string(scratch, raw, &text, &oom)) {
                pieces[n++] = (stt_piece_t){row->start_ns, i, text};
                total += text.n + 1;
                break;
            }
        }
    }
    if (oom) {
        fail(out, "out of memory");
        return VT_ENOMEM;
    }
    if (n == 0) {
        fail(out, "no stt span has a transcript attribute");
        return VT_OK;
    }
    qsort(pieces, n, sizeof *pieces, piece_cmp);
    char *hyp = vt_arena_alloc(scratch, total);
    if (!hyp) {
        fail(out, "out of memory");
        return VT_ENOMEM;
    }
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            hyp[len++] = ' ';
        if (pieces[i].text.n)
            memcpy(hyp + len, pieces[i].text.p, pieces[i].text.n);
        len += pieces[i].text.n;
    }

    bool upload = d->type == VT_METRIC_STT_WER_AUDIO_UPLOAD;
    vt_str_t ref = upload ? in->uploaded_reference : in->transcript_reference;
    if (ref.n == 0) {
        fail(out, upload ? "no reference_transcript was uploaded with the call"
                         : "the call's transcript has no user messages to compare with");
        return VT_OK;
    }
    /* Only the rate is reported, so the distance-only path does (no S/D/I split needed). */
    double wer;
    vt_err_t e = vt_wer_rate(scratch, ref, (vt_str_t){hyp, len}, &wer);
    if (e == VT_ENOTFOUND) {
        fail(out, "the reference transcript has no words");
        return VT_OK;
    }
    if (e == VT_ELIMIT) {
        char reason[VT_METRIC_REASON_MAX];
        snprintf(reason, sizeof reason, "a transcript has more than %d words", VT_WER_MAX_WORDS);
        fail(out, reason);
        return VT_OK;
    }
    if (e) {
        fail(out, "out of memory");
        return e;
    }
    out->sample_count = n;
    complete(d, out, wer);
    return VT_OK;
}

vt_err_t vt_metric_eval(vt_arena_t *scratch, const vt_metric_def_t *def,
                        const vt_metric_input_t *in, vt_metric_output_t *out) {
    memset(out, 0, sizeof *out);
    switch (def->type) {
    case VT_METRIC_CUSTOM_TRACE:
        return eval_custom(scratch, def, in, out);
    case VT_METRIC_STT_WER:
    case VT_METRIC_STT_WER_AUDIO_UPLOAD:
        return eval_wer(scratch, def, in, out);
    default:
        fail(out, "no metric has this id (it may have been deleted)");
        return VT_OK;
    }
}

/* Equal within a relative 1e-9 (absolute near zero): values that went through an average or a
 * division rarely land on the decimal a person typed. */
static bool near(double a, double b) {
    double scale = fmax(1.0, fmax(fabs(a), fabs(b)));
    return fabs(a - b) <= 1e-9 * scale;
}

vt_metric_result_t vt_metric_target_check(const vt_metric_target_t *t, double value) {
    if (!t->present)
        return VT_METRIC_RESULT_NONE;
    bool pass = false;
    switch (t->op) {
    case VT_METRIC_CMP_EQ:
        pass = near(value, t->target_float);
        break;
    case VT_METRIC_CMP_NEQ:
        pass = !near(value, t->target_float);
        break;
    case VT_METRIC_CMP_GT:
        pass = value > t->target_float;
        break;
    case VT_METRIC_CMP_GTE:
        pass = value >= t->target_float;
        break;
    case VT_METRIC_CMP_LT:
        pass = value < t->target_float;
        break;
    case VT_METRIC_CMP_LTE:
        pass = value <= t->target_float;
        break;
    case VT_METRIC_CMP_IN:
    case VT_METRIC_CMP_NIN: {
        bool hit = false;
        for (size_t i = 0; i < t->n_target_values && !hit; i++)
            hit = near(value, t->target_values[i]);
        pass = t->op == VT_METRIC_CMP_IN ? hit : !hit;
        break;
    }
    }
    return pass ? VT_METRIC_RESULT_PASSED : VT_METRIC_RESULT_FAILED;
}

/* ---- transcripts ------------------------------------------------------------------------- */

/* The text of a user message, or an empty string. */
static vt_str_t user_text(const json_t *m) {
    const char *role = json_string_value(json_object_get(m, "role"));
    if (!role || strcmp(role, "user") != 0)
        return VT_STR_NULL;
    const json_t *t = json_object_get(m, "content");
    if (!json_is_string(t))
        t = json_object_get(m, "message");
    if (!json_is_string(t))
        return VT_STR_NULL;
    return (vt_str_t){json_string_value(t), json_string_length(t)};
}

vt_err_t vt_metric_transcript_reference(vt_arena_t *a, const json_t *transcript, vt_str_t *out) {
    *out = VT_STR_NULL;
    size_t total = 0, i;
    const json_t *m;
    json_array_foreach(transcript, i, m) total += user_text(m).n + 1;
    if (total == 0)
        return VT_OK;
    char *buf = vt_arena_alloc(a, total);
    if (!buf)
        return VT_ENOMEM;
    size_t len = 0;
    json_array_foreach(transcript, i, m) {
        vt_str_t t = user_text(m);
        if (t.n == 0)
            continue;
        if (len)
            buf[len++] = ' ';
        memcpy(buf + len, t.p, t.n);
        len += t.n;
    }
    *out = (vt_str_t){buf, len};
    return VT_OK;
}

/* The text of a raw JSON member value when it is a string; false otherwise (or on *oom). */
static bool member_string(vt_arena_t *a, vt_str_t obj, vt_str_t key, vt_str_t *text, bool *oom) {
    vt_str_t raw;
    return json_member(obj, key, &raw) && raw_string(a, raw, text, oom);
}

/* Reading a run's metrics parses every simulation's stored transcript, and jansson building a
 * document of every message cost as much as the rest of the evaluation; the text is walked
 * with the attribute scanner instead, and only the strings that are kept are decoded. */
vt_err_t vt_metric_transcript_reference_text(vt_arena_t *a, vt_str_t json, vt_str_t *out) {
    static const vt_str_t role = {"role", 4}, content = {"content", 7}, message = {"message", 7};
    *out = VT_STR_NULL;
    const char *p = json.p;
    size_t n = json.n, i = skip_ws(p, n, 0);
    if (i >= n || p[i] != '[')
        return VT_OK;
    /* Decoding never lengthens a string, and each kept string brings at least its two quotes
     * for the one separator it adds, so the joined text fits in n bytes. */
    char *buf = vt_arena_alloc(a, n);
    if (!buf)
        return VT_ENOMEM;
    size_t len = 0;
    bool oom = false;
    i = skip_ws(p, n, i + 1);
    if (i < n && p[i] == ']')
        return VT_OK;
    for (;;) {
        size_t end = skip_value(p, n, i);
        if (!end)
            return VT_OK; /* malformed: empty, like a text jansson rejects */
        vt_str_t m = {p + i, end - i}, r, t;
        if (p[i] == '{' && member_string(a, m, role, &r, &oom) && vt_str_eq(r, VT_STR("user")) &&
            (member_string(a, m, content, &t, &oom) || member_string(a, m, message, &t, &oom)) &&
            t.n) {
            if (len)
                buf[len++] = ' ';
            memcpy(buf + len, t.p, t.n);
            len += t.n;
        }
        if (oom)
            return VT_ENOMEM;
        i = skip_ws(p, n, end);
        if (i < n && p[i] == ']')
            break;
        if (i >= n || p[i] != ',')
            return VT_OK;
        i = skip_ws(p, n, i + 1);
    }
    if (len)
        *out = (vt_str_t){buf, len};
    return VT_OK;
}
