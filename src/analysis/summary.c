/*
 * summary.c - the trace summary (see summary.h).
 *
 * Everything that needs more than one pass over the rows works on sorted copies: parents by
 * (trace id, span id) in tree.c, span groups by (name, start) so that each name's intervals can
 * be merged in one sweep, export lags by value for the percentile, resource texts by content so
 * that each distinct resource is parsed once. No step is worse than O(n log n).
 */
#include "summary.h"

#include <jansson.h>
#include <stdlib.h>

#include "tree.h"

/* ---- ordering helpers ------------------------------------------------------------------------ */

static int str_cmp(vt_str_t a, vt_str_t b) {
    if (a.p == b.p && a.n == b.n)
        return 0;
    size_t common = VT_MIN(a.n, b.n);
    int c = common ? memcmp(a.p, b.p, common) : 0; /* an empty string may have a NULL pointer */
    if (c)
        return c;
    return a.n < b.n ? -1 : a.n > b.n;
}

static uint64_t duration_ns(const vt_span_row_t *s) {
    return s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0;
}

/* Keeps best[0..*nb) as the k best rows seen so far, best first, by `before`. k is small (at
 * most VT_SUMMARY_ERRORS), so insertion into a short array beats a heap. */
static void keep_best(uint32_t *best, size_t *nb, size_t k, const vt_span_row_t *rows,
                      uint32_t cand,
                      bool (*before)(const vt_span_row_t *rows, uint32_t a, uint32_t b)) {
    size_t pos = *nb;
    while (pos > 0 && before(rows, cand, best[pos - 1]))
        pos--;
    if (pos >= k)
        return;
    size_t last = *nb < k ? *nb : k - 1;
    memmove(best + pos + 1, best + pos, (last - pos) * sizeof *best);
    best[pos] = cand;
    if (*nb < k)
        (*nb)++;
}

static bool slower(const vt_span_row_t *rows, uint32_t a, uint32_t b) {
    uint64_t da = duration_ns(&rows[a]), db = duration_ns(&rows[b]);
    if (da != db)
        return da > db;
    if (rows[a].start_ns != rows[b].start_ns)
        return rows[a].start_ns < rows[b].start_ns;
    return a < b;
}

static bool starts_earlier(const vt_span_row_t *rows, uint32_t a, uint32_t b) {
    if (rows[a].start_ns != rows[b].start_ns)
        return rows[a].start_ns < rows[b].start_ns;
    return a < b;
}

/* ---- export lag ------------------------------------------------------------------------------ */

static int double_cmp(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return a < b ? -1 : a > b;
}

/* The p-th percentile of sorted values (n > 0): linear interpolation between the closest ranks,
 * rank = p/100 * (n-1), which is numpy's default method. */
static double percentile(const double *v, size_t n, double p) {
    double rank = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)rank;
    if (lo + 1 >= n)
        return v[n - 1];
    return v[lo] + (v[lo + 1] - v[lo]) * (rank - (double)lo);
}

static vt_err_t export_lag(vt_arena_t *a, const vt_span_row_t *rows, size_t n,
                           vt_summary_lag_t *out) {
    double *lag = vt_arena_alloc(a, n * sizeof *lag);
    if (!lag)
        return VT_ENOMEM;
    size_t m = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].received_ns)
            continue; /* no receive time recorded: not a sample */
        /* The difference is taken in 64-bit two's complement, exact for any realistic skew,
         * and only then turned into a double: the absolute times would lose nanoseconds. */
        int64_t d = (int64_t)(rows[i].received_ns - rows[i].end_ns);
        if (rows[i].received_ns < rows[i].end_ns)
            out->clock_skew_sample_count++;
        lag[m] = (double)d / 1e9;
        sum += lag[m];
        m++;
    }
    out->sample_count = m;
    if (m == 0)
        return VT_OK;
    qsort(lag, m, sizeof *lag, double_cmp);
    out->average_seconds = sum / (double)m;
    out->p95_seconds = percentile(lag, m, 95.0);
    out->max_seconds = lag[m - 1];
    return VT_OK;
}

/* ---- span groups ----------------------------------------------------------------------------- */

typedef struct {
    vt_str_t name;
    uint64_t start, end;
    int32_t status;
} interval_t;

static int interval_cmp(const void *pa, const void *pb) {
    const interval_t *a = pa, *b = pb;
    int c = str_cmp(a->name, b->name);
    if (c)
        return c;
    return a->start < b->start ? -1 : a->start > b->start;
}

static int group_cmp(const void *pa, const void *pb) {
    const vt_summary_group_t *a = pa, *b = pb;
    if (a->total_ns != b->total_ns)
        return a->total_ns > b->total_ns ? -1 : 1;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return str_cmp(a->name, b->name);
}

/* Groups the rows by name. With the intervals of one name sorted by start, their union is one
 * sweep: an interval that starts after the covered stretch ends closes that stretch. */
static vt_err_t span_groups(vt_arena_t *a, const vt_span_row_t *rows, size_t n, uint64_t trace_ns,
                            vt_summary_t *out) {
    interval_t *iv = vt_arena_alloc(a, n * sizeof *iv);
    vt_summary_group_t *g = vt_arena_calloc(a, n, sizeof *g);
    if (!iv || !g)
        return VT_ENOMEM;
    for (size_t i = 0; i < n; i++)
        iv[i] = (interval_t){rows[i].name, rows[i].start_ns,
                             VT_MAX(rows[i].end_ns, rows[i].start_ns), rows[i].status_code};
    qsort(iv, n, sizeof *iv, interval_cmp);

    size_t ng = 0;
    uint64_t cov_start = 0, cov_end = 0;
    for (size_t i = 0; i < n; i++) {
        vt_summary_group_t *cur = ng ? &g[ng - 1] : NULL;
        if (!cur || !vt_str_eq(cur->name, iv[i].name)) {
            if (cur)
                cur->covered_ns += cov_end - cov_start;
            cur = &g[ng++];
            cur->name = iv[i].name;
            cov_start = iv[i].start;
            cov_end = iv[i].end;
        } else if (iv[i].start > cov_end) {
            cur->covered_ns += cov_end - cov_start;
            cov_start = iv[i].start;
            cov_end = iv[i].end;
        } else if (iv[i].end > cov_end) {
            cov_end = iv[i].end;
        }
        cur->count++;
        cur->total_ns += iv[i].end - iv[i].start;
        if (iv[i].status == VT_STATUS_ERROR)
            cur->error_count++;
    }
    if (ng)
        g[ng - 1].covered_ns += cov_end - cov_start;
    for (size_t i = 0; i < ng; i++)
        g[i].time_percent = trace_ns ? (double)g[i].covered_ns / (double)trace_ns * 100.0 : 0.0;
    qsort(g, ng, sizeof *g, group_cmp);
    out->groups = g;
    out->n_groups = ng;
    return VT_OK;
}

/* ---- resource attribute keys ----------------------------------------------------------------- */

static int vstr_cmp(const void *pa, const void *pb) {
    return str_cmp(*(const vt_str_t *)pa, *(const vt_str_t *)pb);
}

/* Adds the keys of one resource's attribute object to *keys (a heap array that grows by
 * doubling). Text that is not a JSON object adds nothing. */
static vt_err_t add_keys(vt_arena_t *a, vt_str_t json, vt_str_t **keys, size_t *n, size_t *cap) {
    json_t *o = json_loadb(json.p, json.n, 0, NULL);
    vt_err_t e = VT_OK;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        (void)v;
        if (*n == *cap) {
            size_t nc = *cap ? 2 * *cap : 64;
            vt_str_t *grown = realloc(*keys, nc * sizeof *grown);
            if (!grown) {
                e = VT_ENOMEM;
                break;
            }
            *keys = grown;
            *cap = nc;
        }
        vt_str_t copy = vt_arena_str(a, vt_str_c(k));
        if (copy.n != strlen(k)) {
            e = VT_ENOMEM;
            break;
        }
        (*keys)[(*n)++] = copy;
    }
    json_decref(o);
    return e;
}

/* Parses each distinct resource text once. Rows of one resource usually sit next to each other
 * or share one text, so most rows are skipped by the comparison with their predecessor before
 * the sort. */
static vt_err_t resource_keys(vt_arena_t *a, const vt_span_row_t *rows, size_t n,
                              vt_summary_t *out) {
    vt_str_t *texts = vt_arena_alloc(a, (n ? n : 1) * sizeof *texts);
    if (!texts)
        return VT_ENOMEM;
    size_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        vt_str_t t = rows[i].resource_json;
        if (t.n && (nt == 0 || str_cmp(texts[nt - 1], t) != 0))
            texts[nt++] = t;
    }
    qsort(texts, nt, sizeof *texts, vstr_cmp);

    vt_str_t *keys = NULL;
    size_t nk = 0, cap = 0;
    vt_err_t e = VT_OK;
    for (size_t i = 0; i < nt && !e; i++)
        if (i == 0 || str_cmp(texts[i - 1], texts[i]) != 0)
            e = add_keys(a, texts[i], &keys, &nk, &cap);
    if (!e && nk) {
        qsort(keys, nk, sizeof *keys, vstr_cmp);
        out->resource_keys = vt_arena_alloc(a, nk * sizeof *keys);
        if (!out->resource_keys)
            e = VT_ENOMEM;
        for (size_t i = 0; !e && i < nk; i++)
            if (i == 0 || !vt_str_eq(keys[i - 1], keys[i]))
                out->resource_keys[out->n_resource_keys++] = keys[i];
    }
    free(keys);
    return e;
}

/* ---- entry point ----------------------------------------------------------------------------- */

vt_err_t vt_summary_compute(vt_arena_t *a, const vt_span_row_t *rows, size_t n, vt_summary_t *out) {
    memset(out, 0, sizeof *out);
    if (n > INT32_MAX)
        return VT_EINVAL;
    out->span_count = n;
    if (n == 0)
        return VT_OK;

    vt_tree_t tree;
    vt_err_t e = vt_tree_build(a, rows, n, &tree);
    if (e)
        return e;
    out->trace_count = tree.n_traces;
    out->root_span_count = tree.n_roots;
    out->orphan_span_count = tree.n_orphans;

    out->start_ns = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        const vt_span_row_t *s = &rows[i];
        int32_t p = tree.parent[i];
        if (p >= 0 && (s->start_ns < rows[p].start_ns || s->end_ns > rows[p].end_ns))
            out->child_timing_violation_count++;
        int32_t code = s->status_code;
        out->status_counts[code == VT_STATUS_OK || code == VT_STATUS_ERROR ? code
                                                                           : VT_STATUS_UNSET]++;
        out->start_ns = VT_MIN(out->start_ns, s->start_ns);
        out->end_ns = VT_MAX(out->end_ns, VT_MAX(s->end_ns, s->start_ns));
        keep_best(out->slowest, &out->n_slowest, VT_SUMMARY_SLOWEST, rows, (uint32_t)i, slower);
        if (code == VT_STATUS_ERROR)
            keep_best(out->errors, &out->n_errors, VT_SUMMARY_ERRORS, rows, (uint32_t)i,
                      starts_earlier);
    }

    if ((e = export_lag(a, rows, n, &out->export_lag)) ||
        (e = span_groups(a, rows, n, out->end_ns - out->start_ns, out)) ||
        (e = resource_keys(a, rows, n, out)))
        return e;
    return VT_OK;
}
