/*
 * tree.h - the parent/child structure of a target's spans. A span's parent is the span with
 * the same trace id whose span id is the child's parent span id, looked up among the spans
 * given (one simulation's or conversation's), never across targets.
 *
 * Pure: rows in, indexes out; no I/O. Lookups go through a sorted index rather than a hash
 * table, so crafted ids cannot make the work quadratic: O(n log n) for n spans.
 */
#ifndef VT_TREE_H
#define VT_TREE_H

#include "../core/arena.h"
#include "../store/store.h"

/* Values of vt_tree_t.parent for spans without a parent among the rows. */
#define VT_TREE_ROOT (-1)   /* no parent span id */
#define VT_TREE_ORPHAN (-2) /* a parent span id that no span of the rows has */

typedef struct {
    int32_t *parent;  /* per row: the parent's row index, VT_TREE_ROOT or VT_TREE_ORPHAN */
    size_t n_traces;  /* distinct trace ids */
    size_t n_roots;   /* rows with VT_TREE_ROOT */
    size_t n_orphans; /* rows with VT_TREE_ORPHAN */
} vt_tree_t;

/* Links n rows. out->parent comes from arena a and lives as long as it. When two rows share a
 * (trace id, span id), the first of them is the parent its children see. VT_EINVAL when n does
 * not fit an int32_t, VT_ENOMEM when the arena is exhausted. */
vt_err_t vt_tree_build(vt_arena_t *a, const vt_span_row_t *rows, size_t n, vt_tree_t *out);

#endif
