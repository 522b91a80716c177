/*
 * aggregate.c - aggregations of span values and statuses, and numeric attribute values.
 */
#include "aggregate.h"

#include <math.h>
#include <stdlib.h>

#include "../otlp/span.h"

static const char *const method_names[] = {
    [VT_AGG_AVERAGE] = "average",
    [VT_AGG_MEDIAN] = "median",
    [VT_AGG_P90] = "p90",
    [VT_AGG_P95] = "p95",
    [VT_AGG_P99] = "p99",
    [VT_AGG_MAX] = "max",
    [VT_AGG_MIN] = "min",
    [VT_AGG_SUM] = "sum",
    [VT_AGG_COUNT] = "count",
    [VT_AGG_ERROR_RATE] = "error_rate",
    [VT_AGG_SUCCESS_RATE] = "success_rate",
};

vt_err_t vt_aggregate_method_parse(vt_str_t name, vt_aggregate_method_t *out) {
    for (size_t i = 0; i < VT_ARRAY_LEN(method_names); i++) {
        if (vt_str_eq_c(name, method_names[i])) {
            *out = (vt_aggregate_method_t)i;
            return VT_OK;
        }
    }
    return VT_EINVAL;
}

const char *vt_aggregate_method_name(vt_aggregate_method_t m) {
    return (size_t)m < VT_ARRAY_LEN(method_names) ? method_names[m] : "";
}

bool vt_aggregate_method_on_statuses(vt_aggregate_method_t m) {
    return m == VT_AGG_ERROR_RATE || m == VT_AGG_SUCCESS_RATE;
}

static int double_cmp(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Sum with Neumaier's compensation, so a long run of small latencies next to one large value
 * does not lose the small ones. */
static double sum(const double *v, size_t n) {
    double s = 0, c = 0;
    for (size_t i = 0; i < n; i++) {
        double t = s + v[i];
        if (fabs(s) >= fabs(v[i]))
            c += (s - t) + v[i];
        else
            c += (v[i] - t) + s;
        s = t;
    }
    return s + c;
}

/* Percentile p of sorted values: linear interpolation between the closest ranks. The lerp is
 * taken from the nearer end, as numpy does, so the result is exact at both ranks and monotonic. */
static double percentile(const double *sorted, size_t n, double p) {
    double rank = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(rank);
    if (lo >= n - 1)
        return sorted[n - 1];
    double t = rank - (double)lo, a = sorted[lo], b = sorted[lo + 1], d = b - a;
    return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

vt_err_t vt_aggregate(vt_aggregate_method_t m, double *values, size_t n, double *out) {
    if (vt_aggregate_method_on_statuses(m) || (size_t)m >= VT_ARRAY_LEN(method_names))
        return VT_EINVAL;
    if (n == 0)
        return VT_ENOTFOUND;
    switch (m) {
    case VT_AGG_AVERAGE:
        *out = sum(values, n) / (double)n;
        break;
    case VT_AGG_SUM:
        *out = sum(values, n);
        break;
    case VT_AGG_COUNT:
        *out = (double)n;
        break;
    case VT_AGG_MAX:
    case VT_AGG_MIN: {
        double best = values[0];
        for (size_t i = 1; i < n; i++)
            if (m == VT_AGG_MAX ? values[i] > best : values[i] < best)
                best = values[i];
        *out = best;
        break;
    }
    default: {
        double p = m == VT_AGG_MEDIAN ? 50 : m == VT_AGG_P90 ? 90 : m == VT_AGG_P95 ? 95 : 99;
        qsort(values, n, sizeof *values, double_cmp);
        *out = percentile(values, n, p);
        break;
    }
    }
    return VT_OK;
}

vt_err_t vt_aggregate_statuses(vt_aggregate_method_t m, const int32_t *statuses, size_t n,
                               double *out) {
    if (!vt_aggregate_method_on_statuses(m) && m != VT_AGG_COUNT)
        return VT_EINVAL;
    if (n == 0)
        return VT_ENOTFOUND;
    if (m == VT_AGG_COUNT) {
        *out = (double)n;
        return VT_OK;
    }
    size_t errors = 0;
    for (size_t i = 0; i < n; i++)
        errors += statuses[i] == VT_STATUS_ERROR;
    /* success_rate is computed from its own count rather than 1 - error_rate, so that e.g. 1/3
     * and 2/3 are each the correctly rounded quotient. */
    size_t hits = m == VT_AGG_ERROR_RATE ? errors : n - errors;
    *out = (double)hits / (double)n;
    return VT_OK;
}

/* ---- numeric values ------------------------------------------------------------------------ */

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* Length of the run of digits at s[i..n). */
static size_t digits(const char *s, size_t i, size_t n) {
    size_t k = i;
    while (k < n && is_digit(s[k]))
        k++;
    return k - i;
}

bool vt_aggregate_number_text(const char *s, size_t n, double *out) {
    while (n && is_space(*s))
        s++, n--;
    while (n && is_space(s[n - 1]))
        n--;
    if (n == 0 || n > VT_AGGREGATE_MAX_NUMBER_TEXT)
        return false;
    /* Check the grammar first: strtod alone would also take hex, "inf", "nan" and a prefix. */
    size_t i = 0;
    if (s[i] == '+' || s[i] == '-')
        i++;
    size_t int_digits = digits(s, i, n);
    i += int_digits;
    size_t frac_digits = 0;
    if (i < n && s[i] == '.') {
        i++;
        frac_digits = digits(s, i, n);
        i += frac_digits;
    }
    if (int_digits + frac_digits == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exp_digits = digits(s, i, n);
        if (!exp_digits)
            return false;
        i += exp_digits;
    }
    if (i != n)
        return false;
    char buf[VT_AGGREGATE_MAX_NUMBER_TEXT + 1];
    memcpy(buf, s, n);
    buf[n] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return false;
    *out = v;
    return true;
}

bool vt_aggregate_number_json(const json_t *v, double *out) {
    if (json_is_integer(v)) {
        *out = (double)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        *out = json_real_value(v);
        return true;
    }
    if (json_is_string(v))
        return vt_aggregate_number_text(json_string_value(v), json_string_length(v), out);
    return false;
}
