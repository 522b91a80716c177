/*
 * summary.h - the trace summary of one simulation or conversation (DESIGN.md 5.4): structure
 * (traces, roots, orphans, children outside their parent's time), status counts, export lag,
 * per-name span groups with the share of the trace's time they cover, the slowest spans, the
 * error spans, and the resource attribute keys.
 *
 * Pure: an array of stored span rows in, figures out; no I/O, no SQL. O(n log n) for n spans.
 */
#ifndef VT_SUMMARY_H
#define VT_SUMMARY_H

#include "../core/arena.h"
#include "../otlp/span.h"
#include "../store/store.h"

#define VT_SUMMARY_SLOWEST 5 /* spans listed in slowest */
#define VT_SUMMARY_ERRORS 20 /* spans listed in errors */

/* The spans of one name. */
typedef struct {
    vt_str_t name; /* points into the rows */
    size_t count;
    size_t error_count;  /* spans with status ERROR */
    uint64_t total_ns;   /* sum of the spans' durations (overlaps counted twice) */
    uint64_t covered_ns; /* length of the union of the spans' [start, end] intervals */
    double time_percent; /* covered_ns / the trace's duration * 100; 0 when that is 0 */
} vt_summary_group_t;

/* Export lag: per span, the time it was received minus its end time. A negative lag (the span
 * ended after it arrived) can only come from a sender clock ahead of ours: clock skew. */
typedef struct {
    size_t sample_count;            /* spans with a receive time */
    size_t clock_skew_sample_count; /* of those, spans received before their end time */
    double average_seconds;         /* the statistics are 0 when sample_count is 0 */
    double p95_seconds;             /* linear interpolation between closest ranks, as numpy */
    double max_seconds;
} vt_summary_lag_t;

typedef struct {
    size_t span_count;
    size_t trace_count;
    size_t root_span_count;   /* spans without a parent span id */
    size_t orphan_span_count; /* parent span id set, but no such span among the rows */
    /* Spans whose parent is among the rows, and which start before it or end after it. */
    size_t child_timing_violation_count;
    size_t status_counts[3]; /* by VT_STATUS_*; codes out of range count as UNSET */
    vt_summary_lag_t export_lag;
    uint64_t start_ns; /* earliest start and latest end over all rows; both 0 without rows */
    uint64_t end_ns;
    /* Groups ordered by total_ns descending, then count descending, then name. */
    vt_summary_group_t *groups;
    size_t n_groups;
    /* Row indexes: the longest spans (ties: earlier start, then row order), and the error
     * spans in start order (ties: row order). */
    uint32_t slowest[VT_SUMMARY_SLOWEST];
    size_t n_slowest;
    uint32_t errors[VT_SUMMARY_ERRORS];
    size_t n_errors;
    /* Distinct keys of the rows' resource attributes, sorted bytewise. Resource JSON that does
     * not parse as an object contributes no keys. */
    vt_str_t *resource_keys;
    size_t n_resource_keys;
} vt_summary_t;

/* Summarises n rows (resource_json filled, as spans_read returns them). Arrays and key strings
 * of *out come from arena a; group names point into the rows, which must outlive *out.
 * VT_EINVAL when n does not fit an int32_t, VT_ENOMEM when memory runs out. */
vt_err_t vt_summary_compute(vt_arena_t *a, const vt_span_row_t *rows, size_t n, vt_summary_t *out);

#endif
