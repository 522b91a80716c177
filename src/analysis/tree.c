/*
 * tree.c - linking spans to their parents (see tree.h).
 *
 * Every row gets a 24-byte key, trace id then span id; the keys are sorted once, and each
 * child finds its parent by binary search for (its trace id, its parent span id). The same
 * sorted order gives the number of distinct trace ids for free.
 */
#include "tree.h"

#include <stdlib.h>

typedef struct {
    uint8_t id[24]; /* trace id (16 bytes) then span id (8 bytes) */
    uint32_t row;
} span_key_t;

static int key_cmp(const void *pa, const void *pb) {
    const span_key_t *a = pa, *b = pb;
    int c = memcmp(a->id, b->id, sizeof a->id);
    if (c)
        return c;
    return a->row < b->row ? -1 : a->row > b->row;
}

/* The first key equal to id (the lowest row among equals), or NULL. */
static const span_key_t *find_first(const span_key_t *keys, size_t n, const uint8_t id[24]) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(keys[mid].id, id, 24) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && memcmp(keys[lo].id, id, 24) == 0 ? &keys[lo] : NULL;
}

vt_err_t vt_tree_build(vt_arena_t *a, const vt_span_row_t *rows, size_t n, vt_tree_t *out) {
    memset(out, 0, sizeof *out);
    if (n > INT32_MAX)
        return VT_EINVAL;
    if (n == 0)
        return VT_OK;
    int32_t *parent = vt_arena_alloc(a, n * sizeof *parent);
    span_key_t *keys = vt_arena_alloc(a, n * sizeof *keys);
    if (!parent || !keys)
        return VT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        memcpy(keys[i].id, rows[i].trace_id, 16);
        memcpy(keys[i].id + 16, rows[i].span_id, 8);
        keys[i].row = (uint32_t)i;
    }
    qsort(keys, n, sizeof *keys, key_cmp);

    out->n_traces = 1;
    for (size_t i = 1; i < n; i++)
        if (memcmp(keys[i].id, keys[i - 1].id, 16) != 0)
            out->n_traces++;

    for (size_t i = 0; i < n; i++) {
        if (!rows[i].has_parent) {
            parent[i] = VT_TREE_ROOT;
            out->n_roots++;
            continue;
        }
        uint8_t want[24];
        memcpy(want, rows[i].trace_id, 16);
        memcpy(want + 16, rows[i].parent_span_id, 8);
        const span_key_t *p = find_first(keys, n, want);
        if (p) {
            parent[i] = (int32_t)p->row;
        } else {
            parent[i] = VT_TREE_ORPHAN;
            out->n_orphans++;
        }
    }
    out->parent = parent;
    return VT_OK;
}
