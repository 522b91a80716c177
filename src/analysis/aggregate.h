/*
 * aggregate.h - the aggregations of custom trace metrics (DESIGN.md 5.6) over the values taken
 * from matching spans, and the rule for which attribute values count as numbers. Pure: no I/O,
 * no allocation.
 *
 * "No values" is reported as VT_ENOTFOUND by every aggregation, count included, so a caller can
 * tell "nothing matched" (a FAILED metric output with a reason) from a genuine 0.
 */
#ifndef VT_AGGREGATE_H
#define VT_AGGREGATE_H

#include <jansson.h>

#include "../core/vt.h"

typedef enum {
    VT_AGG_AVERAGE = 0,
    VT_AGG_MEDIAN,
    VT_AGG_P90,
    VT_AGG_P95,
    VT_AGG_P99,
    VT_AGG_MAX,
    VT_AGG_MIN,
    VT_AGG_SUM,
    VT_AGG_COUNT,
    VT_AGG_ERROR_RATE,   /* on spans: fraction with status ERROR, a ratio in [0, 1] */
    VT_AGG_SUCCESS_RATE, /* on spans: fraction without status ERROR, a ratio in [0, 1] */
} vt_aggregate_method_t;

/* Parses an aggregation_method name as the API spells it ("average", "median", "p90", "p95",
 * "p99", "max", "min", "sum", "count", "error_rate", "success_rate"; exact, lowercase).
 * VT_EINVAL for anything else. */
vt_err_t vt_aggregate_method_parse(vt_str_t name, vt_aggregate_method_t *out);
/* The API name of a method (static storage); "" for a value outside the enum. */
const char *vt_aggregate_method_name(vt_aggregate_method_t m);
/* True for the methods computed from span statuses rather than values (error_rate, success_rate).
 * count works on either. */
bool vt_aggregate_method_on_statuses(vt_aggregate_method_t m);

/* Aggregates n finite values into *out. Percentiles (median = p50, p90, p95, p99) interpolate
 * linearly between the closest ranks, rank = p/100 * (n-1), as numpy's default does; they sort
 * `values` in place, which is why it is not const. count gives n.
 * VT_ENOTFOUND when n == 0 (*out untouched); VT_EINVAL for error_rate/success_rate, which need
 * statuses (vt_aggregate_statuses). */
vt_err_t vt_aggregate(vt_aggregate_method_t m, double *values, size_t n, double *out);

/* Aggregates the OTLP status codes (VT_STATUS_*) of n spans: error_rate and success_rate as ratios
 * in [0, 1] (not percent), count as n. VT_ENOTFOUND when n == 0; VT_EINVAL for the value methods.
 */
vt_err_t vt_aggregate_statuses(vt_aggregate_method_t m, const int32_t *statuses, size_t n,
                               double *out);

/* Longest string (after trimming) accepted as a number; longer strings are not numeric. */
#define VT_AGGREGATE_MAX_NUMBER_TEXT 64

/* The number a string holds, if it holds one: decimal notation with optional sign, fraction and
 * exponent ("0.42", "-3", "1e-3", ".5", "7."), surrounded by optional ASCII whitespace (" 7 " is 7,
 * as Python's float() reads it). Not numeric: empty or blank text, hex, "inf"/"nan", digit group
 * separators, values that overflow a double, anything else. Needs the C locale for LC_NUMERIC
 * (voxtrace never changes it). */
bool vt_aggregate_number_text(const char *s, size_t n, double *out);

/* The number an attribute's typed JSON value holds: a JSON integer or real, or a string accepted
 * by vt_aggregate_number_text. Booleans, null, arrays and objects are not numeric. */
bool vt_aggregate_number_json(const json_t *v, double *out);

#endif
