/*
 * hotspots.c - the Transition Hotspots matrix (see hotspots.h for the semantics).
 *
 * Distinct span names are interned once into a table of names, each classified once (kept,
 * wrapper, filtered) so the per-span work is one hash lookup. Cells are keyed by the pair of
 * name ids in a second open-addressing table. Per simulation, a scratch area (reused, grown
 * geometrically) holds the span depths, the kept spans to sort, and the list of cells the
 * simulation touched, whose per-simulation counts are settled at the end of the add. All of it
 * lives in the caller's arena; grown arrays leave their old copy behind, which costs at most as
 * much again as the final size. Only the parent links (tree.h) go into a temporary arena per
 * simulation, since they are rebuilt for each one.
 */
#include "hotspots.h"

#include <sodium.h>
#include <stdlib.h>

#include "../otlp/span.h"
#include "tree.h"

/* ---- small helpers ------------------------------------------------------------------------- */

enum { NAME_KEPT = 0, NAME_WRAPPER, NAME_FILTERED };

typedef struct {
    vt_str_t name; /* arena copy, NUL-terminated */
    uint64_t hash;
    uint8_t kind;       /* NAME_* */
    bool collapsed;     /* dropped as a wrapper in at least one simulation */
    bool in_transition; /* is the from or to of at least one occurrence */
} name_t;

typedef struct {
    uint32_t from, to; /* name ids */
    uint64_t count;
    uint64_t sims;
    uint64_t failed_sims;
    uint64_t errors;
    uint64_t last_sim; /* ordinal (1-based) of the last simulation with an occurrence */
    bool err_in_sim;   /* an occurrence erred in simulation last_sim */
    uint8_t n_failed_ex, n_ok_ex;
    vt_str_t failed_ex[VT_HOTSPOTS_MAX_EXEMPLARS];
    vt_str_t ok_ex[VT_HOTSPOTS_MAX_EXEMPLARS];
} cell_t;

/* A kept span of the simulation being added, with its sort keys. */
typedef struct {
    uint64_t start;
    uint32_t depth;
    uint32_t name;
    const vt_span_row_t *row;
} item_t;

#define DEPTH_UNKNOWN UINT32_MAX
#define DEPTH_BUSY (UINT32_MAX - 1) /* on the walk being resolved: meeting it again is a cycle */

struct vt_hotspots {
    vt_arena_t *a;
    vt_err_t err; /* sticky: the first failure */
    unsigned char hash_key[crypto_shorthash_KEYBYTES];
    bool collapse;
    vt_str_t *include, *exclude;
    size_t n_include, n_exclude;
    uint64_t n_sims, n_traced;

    name_t *names;
    uint32_t n_names, cap_names;
    uint32_t *name_slots; /* id + 1, 0 = empty; size name_mask + 1 */
    uint32_t name_mask;

    cell_t *cells;
    uint32_t n_cells, cap_cells;
    uint32_t *cell_slots;
    uint32_t cell_mask;

    /* Per-simulation scratch, sized for scratch_cap spans. */
    size_t scratch_cap;
    uint32_t *depth;
    uint32_t *stack;
    item_t *items;
    uint32_t *touched;
};

/* Span names and the pairs of them come from senders, who could choose them to collide in an
 * unkeyed hash and make every lookup walk the whole table. A SipHash keyed with random bytes per
 * builder rules that out; the key never affects a result, since every output is sorted. */
static uint64_t keyed_hash(const vt_hotspots_t *h, const void *p, size_t n) {
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, n ? p : (const void *)"", n, h->hash_key);
    uint64_t v;
    memcpy(&v, out, sizeof v);
    return v;
}

static int str_cmp(vt_str_t a, vt_str_t b) {
    size_t n = VT_MIN(a.n, b.n);
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c)
        return c;
    return a.n < b.n ? -1 : a.n > b.n;
}

/* Copies s into the arena, NUL-terminated. */
static vt_err_t dup_str(vt_arena_t *a, vt_str_t s, vt_str_t *out) {
    char *p = vt_arena_strndup(a, s.p, s.n);
    if (!p)
        return VT_ENOMEM;
    *out = (vt_str_t){p, s.n};
    return VT_OK;
}

static bool str_in(vt_str_t s, const vt_str_t *set, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (vt_str_eq(s, set[i]))
            return true;
    return false;
}

static vt_err_t fail(vt_hotspots_t *h, vt_err_t e) {
    if (!h->err)
        h->err = e;
    return h->err;
}

bool vt_hotspots_is_wrapper(vt_str_t name) {
    return vt_str_eq_c(name, "conversation") || vt_str_eq_c(name, "pipeline") ||
           vt_str_eq_c(name, "transport") || vt_str_has_prefix(name, "session:");
}

/* ---- names --------------------------------------------------------------------------------- */

static vt_err_t names_rehash(vt_hotspots_t *h, uint32_t nslots) {
    uint32_t *slots = vt_arena_calloc(h->a, nslots, sizeof *slots);
    if (!slots)
        return VT_ENOMEM;
    uint32_t mask = nslots - 1;
    for (uint32_t id = 0; id < h->n_names; id++) {
        uint32_t s = (uint32_t)h->names[id].hash & mask;
        while (slots[s])
            s = (s + 1) & mask;
        slots[s] = id + 1;
    }
    h->name_slots = slots;
    h->name_mask = mask;
    return VT_OK;
}

/* Finds or adds a name; its id goes to *id. New names are copied and classified. */
static vt_err_t name_intern(vt_hotspots_t *h, vt_str_t name, uint32_t *id) {
    uint64_t hash = keyed_hash(h, name.p, name.n);
    uint32_t s = (uint32_t)hash & h->name_mask;
    for (; h->name_slots[s]; s = (s + 1) & h->name_mask) {
        const name_t *e = &h->names[h->name_slots[s] - 1];
        if (e->hash == hash && vt_str_eq(e->name, name)) {
            *id = h->name_slots[s] - 1;
            return VT_OK;
        }
    }
    if (h->n_names >= VT_HOTSPOTS_MAX_NAMES)
        return VT_ELIMIT;
    if (h->n_names == h->cap_names) {
        uint32_t cap = h->cap_names * 2;
        name_t *nn = vt_arena_alloc(h->a, cap * sizeof *nn);
        if (!nn)
            return VT_ENOMEM;
        memcpy(nn, h->names, h->n_names * sizeof *nn);
        h->names = nn;
        h->cap_names = cap;
    }
    name_t *e = &h->names[h->n_names];
    if (dup_str(h->a, name, &e->name))
        return VT_ENOMEM;
    e->hash = hash;
    e->collapsed = false;
    e->in_transition = false;
    if (h->collapse && vt_hotspots_is_wrapper(name))
        e->kind = NAME_WRAPPER;
    else if (h->n_include && !str_in(name, h->include, h->n_include))
        e->kind = NAME_FILTERED;
    else if (str_in(name, h->exclude, h->n_exclude))
        e->kind = NAME_FILTERED;
    else
        e->kind = NAME_KEPT;
    h->name_slots[s] = h->n_names + 1;
    *id = h->n_names++;
    /* Keep the load factor at or below one half. */
    if ((uint64_t)h->n_names * 2 > h->name_mask + 1u)
        return names_rehash(h, (h->name_mask + 1u) * 2);
    return VT_OK;
}

/* ---- cells --------------------------------------------------------------------------------- */

static uint64_t cell_hash(const vt_hotspots_t *h, uint32_t from, uint32_t to) {
    uint32_t pair[2] = {from, to};
    return keyed_hash(h, pair, sizeof pair);
}

static vt_err_t cells_rehash(vt_hotspots_t *h, uint32_t nslots) {
    uint32_t *slots = vt_arena_calloc(h->a, nslots, sizeof *slots);
    if (!slots)
        return VT_ENOMEM;
    uint32_t mask = nslots - 1;
    for (uint32_t i = 0; i < h->n_cells; i++) {
        uint32_t s = (uint32_t)cell_hash(h, h->cells[i].from, h->cells[i].to) & mask;
        while (slots[s])
            s = (s + 1) & mask;
        slots[s] = i + 1;
    }
    h->cell_slots = slots;
    h->cell_mask = mask;
    return VT_OK;
}

static vt_err_t cell_get(vt_hotspots_t *h, uint32_t from, uint32_t to, uint32_t *idx) {
    uint32_t s = (uint32_t)cell_hash(h, from, to) & h->cell_mask;
    for (; h->cell_slots[s]; s = (s + 1) & h->cell_mask) {
        const cell_t *c = &h->cells[h->cell_slots[s] - 1];
        if (c->from == from && c->to == to) {
            *idx = h->cell_slots[s] - 1;
            return VT_OK;
        }
    }
    if (h->n_cells >= VT_HOTSPOTS_MAX_CELLS)
        return VT_ELIMIT;
    if (h->n_cells == h->cap_cells) {
        uint32_t cap = h->cap_cells * 2;
        cell_t *nc = vt_arena_alloc(h->a, cap * sizeof *nc);
        if (!nc)
            return VT_ENOMEM;
        memcpy(nc, h->cells, h->n_cells * sizeof *nc);
        h->cells = nc;
        h->cap_cells = cap;
    }
    cell_t *c = &h->cells[h->n_cells];
    memset(c, 0, sizeof *c);
    c->from = from;
    c->to = to;
    h->cell_slots[s] = h->n_cells + 1;
    *idx = h->n_cells++;
    if ((uint64_t)h->n_cells * 2 > h->cell_mask + 1u)
        return cells_rehash(h, (h->cell_mask + 1u) * 2);
    return VT_OK;
}

/* ---- builder ------------------------------------------------------------------------------- */

static vt_err_t copy_names(vt_arena_t *a, const vt_str_t *in, size_t n, vt_str_t **out) {
    *out = NULL;
    if (!n)
        return VT_OK;
    if (n > VT_HOTSPOTS_MAX_FILTER_NAMES)
        return VT_EINVAL;
    vt_str_t *v = vt_arena_alloc(a, n * sizeof *v);
    if (!v)
        return VT_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (dup_str(a, in[i], &v[i]))
            return VT_ENOMEM;
    *out = v;
    return VT_OK;
}

vt_err_t vt_hotspots_begin(vt_arena_t *a, const vt_hotspots_opts_t *opts, vt_hotspots_t **out) {
    vt_err_t e;
    vt_hotspots_t *h = vt_arena_calloc(a, 1, sizeof *h);
    if (!h)
        return VT_ENOMEM;
    h->a = a;
    randombytes_buf(h->hash_key, sizeof h->hash_key);
    h->collapse = opts->collapse_wrappers;
    if ((e = copy_names(a, opts->include, opts->n_include, &h->include)))
        return e;
    h->n_include = opts->n_include;
    if ((e = copy_names(a, opts->exclude, opts->n_exclude, &h->exclude)))
        return e;
    h->n_exclude = opts->n_exclude;

    h->cap_names = 16;
    h->names = vt_arena_alloc(a, h->cap_names * sizeof *h->names);
    h->cap_cells = 64;
    h->cells = vt_arena_alloc(a, h->cap_cells * sizeof *h->cells);
    if (!h->names || !h->cells)
        return VT_ENOMEM;
    if ((e = names_rehash(h, 32)) || (e = cells_rehash(h, 128)))
        return e;
    *out = h;
    return VT_OK;
}

/* Makes the per-simulation scratch hold n spans. */
static vt_err_t scratch_reserve(vt_hotspots_t *h, size_t n) {
    if (n <= h->scratch_cap)
        return VT_OK;
    size_t cap = VT_MAX(n, h->scratch_cap * 2);
    cap = VT_MAX(cap, 64);
    h->depth = vt_arena_alloc(h->a, cap * sizeof *h->depth);
    h->stack = vt_arena_alloc(h->a, cap * sizeof *h->stack);
    h->items = vt_arena_alloc(h->a, cap * sizeof *h->items);
    h->touched = vt_arena_alloc(h->a, cap * sizeof *h->touched);
    if (!h->depth || !h->stack || !h->items || !h->touched) {
        h->scratch_cap = 0;
        return VT_ENOMEM;
    }
    h->scratch_cap = cap;
    return VT_OK;
}

/* Fills h->depth[0..n) by parent links (tree.h). A span whose parent is not among the spans is
 * a root (depth 0). Hostile input may form a parent cycle; the walk stops where it meets its own
 * path and treats the last span before the repeat as a root, so every span gets a finite depth.
 * The links live in a temporary arena released before returning, so the per-simulation index
 * does not pile up in the caller's arena over a run. */
static vt_err_t compute_depths(vt_hotspots_t *h, const vt_span_row_t *spans, size_t n) {
    vt_arena_t tmp;
    vt_tree_t tree;
    vt_arena_init(&tmp, 0);
    vt_err_t e = vt_tree_build(&tmp, spans, n, &tree);
    if (e)
        goto out;
    for (size_t i = 0; i < n; i++)
        h->depth[i] = DEPTH_UNKNOWN;
    for (size_t i = 0; i < n; i++) {
        if (h->depth[i] != DEPTH_UNKNOWN)
            continue;
        /* Walk up until a span of known depth, a root, or a cycle; then assign on the way back. */
        size_t top = 0;
        uint32_t base; /* depth of the highest span on the walk */
        int32_t cur = (int32_t)i;
        for (;;) {
            h->depth[cur] = DEPTH_BUSY;
            h->stack[top++] = (uint32_t)cur;
            int32_t p = tree.parent[cur];
            if (p < 0 || h->depth[p] == DEPTH_BUSY) {
                base = 0;
                break;
            }
            if (h->depth[p] != DEPTH_UNKNOWN) {
                base = h->depth[p] + 1;
                break;
            }
            cur = p;
        }
        for (size_t k = top; k-- > 0;)
            h->depth[h->stack[k]] = base + (uint32_t)(top - 1 - k);
    }
out:
    vt_arena_free(&tmp);
    return e;
}

static int item_cmp(const void *pa, const void *pb) {
    const item_t *a = pa, *b = pb;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->depth != b->depth)
        return a->depth < b->depth ? -1 : 1;
    int c = memcmp(a->row->span_id, b->row->span_id, 8);
    if (c)
        return c;
    return memcmp(a->row->trace_id, b->row->trace_id, 16);
}

vt_err_t vt_hotspots_add_simulation(vt_hotspots_t *h, vt_str_t sim_id, bool sim_failed,
                                    const vt_span_row_t *spans, size_t n) {
    vt_err_t e;
    if (h->err)
        return h->err;
    h->n_sims++;
    if (!n)
        return VT_OK;
    h->n_traced++;
    if (n > VT_HOTSPOTS_MAX_SPANS_PER_SIM)
        return fail(h, VT_ELIMIT);
    if ((e = scratch_reserve(h, n)) || (e = compute_depths(h, spans, n)))
        return fail(h, e);

    size_t n_items = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t id;
        if ((e = name_intern(h, spans[i].name, &id)))
            return fail(h, e);
        name_t *nm = &h->names[id];
        if (nm->kind == NAME_WRAPPER)
            nm->collapsed = true;
        if (nm->kind != NAME_KEPT)
            continue;
        h->items[n_items++] = (item_t){spans[i].start_ns, h->depth[i], id, &spans[i]};
    }
    /* The stores read spans in start order, so the items are usually sorted already; checking
     * first saves the sort on the common path. */
    size_t k = 1;
    while (k < n_items && item_cmp(&h->items[k - 1], &h->items[k]) <= 0)
        k++;
    if (k < n_items)
        qsort(h->items, n_items, sizeof *h->items, item_cmp);

    /* Count the occurrences; remember each cell the first time this simulation touches it. */
    size_t n_touched = 0;
    for (k = 1; k < n_items; k++) {
        uint32_t from = h->items[k - 1].name, to = h->items[k].name, ci;
        if ((e = cell_get(h, from, to, &ci)))
            return fail(h, e);
        cell_t *c = &h->cells[ci];
        if (c->last_sim != h->n_sims) {
            c->last_sim = h->n_sims;
            c->err_in_sim = false;
            h->touched[n_touched++] = ci;
        }
        c->count++;
        if (h->items[k].row->status_code == VT_STATUS_ERROR) {
            c->errors++;
            c->err_in_sim = true;
        }
        h->names[from].in_transition = true;
        h->names[to].in_transition = true;
    }

    /* Settle the per-simulation figures of the touched cells. The id is copied once, and only
     * when some cell keeps it as an exemplar. */
    vt_str_t id_copy = VT_STR_NULL;
    for (k = 0; k < n_touched; k++) {
        cell_t *c = &h->cells[h->touched[k]];
        bool failed = sim_failed || c->err_in_sim;
        c->sims++;
        if (failed)
            c->failed_sims++;
        vt_str_t *slot = NULL;
        if (failed && c->n_failed_ex < VT_HOTSPOTS_MAX_EXEMPLARS)
            slot = &c->failed_ex[c->n_failed_ex++];
        else if (!failed && c->n_ok_ex < VT_HOTSPOTS_MAX_EXEMPLARS)
            slot = &c->ok_ex[c->n_ok_ex++];
        if (!slot)
            continue;
        if (!id_copy.p && dup_str(h->a, sim_id, &id_copy))
            return fail(h, VT_ENOMEM);
        *slot = id_copy;
    }
    return VT_OK;
}

/* ---- result -------------------------------------------------------------------------------- */

static int vstr_cmp(const void *pa, const void *pb) {
    return str_cmp(*(const vt_str_t *)pa, *(const vt_str_t *)pb);
}

static int transition_cmp(const void *pa, const void *pb) {
    const vt_hotspot_transition_t *a = pa, *b = pb;
    int c = str_cmp(a->from, b->from);
    return c ? c : str_cmp(a->to, b->to);
}

static int hotspot_cmp(const void *pa, const void *pb) {
    const vt_hotspot_transition_t *a = *(const vt_hotspot_transition_t *const *)pa;
    const vt_hotspot_transition_t *b = *(const vt_hotspot_transition_t *const *)pb;
    if (a->failed_simulation_count != b->failed_simulation_count)
        return a->failed_simulation_count > b->failed_simulation_count ? -1 : 1;
    /* Both rates come from the same formula, so equal ratios give bit-identical doubles. */
    if (a->failure_rate != b->failure_rate)
        return a->failure_rate > b->failure_rate ? -1 : 1;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return transition_cmp(a, b);
}

/* Collects, sorted, the names dropped as wrappers (collapsed) or else those that take part in a
 * transition. */
static vt_err_t collect_names(vt_hotspots_t *h, bool collapsed, vt_str_t **out, size_t *n_out) {
    size_t n = 0;
    for (uint32_t i = 0; i < h->n_names; i++)
        n += collapsed ? h->names[i].collapsed : h->names[i].in_transition;
    *out = vt_arena_alloc(h->a, VT_MAX(n, 1) * sizeof **out);
    if (!*out)
        return VT_ENOMEM;
    n = 0;
    for (uint32_t i = 0; i < h->n_names; i++)
        if (collapsed ? h->names[i].collapsed : h->names[i].in_transition)
            (*out)[n++] = h->names[i].name;
    qsort(*out, n, sizeof **out, vstr_cmp);
    *n_out = n;
    return VT_OK;
}

vt_err_t vt_hotspots_finish(vt_hotspots_t *h, vt_hotspots_result_t *out) {
    vt_err_t e;
    memset(out, 0, sizeof *out);
    if (h->err)
        return h->err;
    out->simulation_count = h->n_sims;
    out->traced_simulation_count = h->n_traced;
    out->include = h->include;
    out->n_include = h->n_include;
    out->exclude = h->exclude;
    out->n_exclude = h->n_exclude;
    if ((e = collect_names(h, false, &out->states, &out->n_states)) ||
        (e = collect_names(h, true, &out->collapsed, &out->n_collapsed)))
        return fail(h, e);

    size_t nt = h->n_cells;
    vt_hotspot_transition_t *t = vt_arena_calloc(h->a, VT_MAX(nt, 1), sizeof *t);
    const vt_hotspot_transition_t **rank = vt_arena_alloc(h->a, VT_MAX(nt, 1) * sizeof *rank);
    out->top_hotspots = vt_arena_alloc(h->a, VT_HOTSPOTS_TOP * sizeof *out->top_hotspots);
    if (!t || !rank || !out->top_hotspots)
        return fail(h, VT_ENOMEM);
    for (size_t i = 0; i < nt; i++) {
        const cell_t *c = &h->cells[i];
        t[i].from = h->names[c->from].name;
        t[i].to = h->names[c->to].name;
        t[i].count = c->count;
        t[i].simulation_count = c->sims;
        t[i].failed_simulation_count = c->failed_sims;
        t[i].failure_rate = (double)c->failed_sims / (double)c->sims * 100.0;
        t[i].error_count = c->errors;
        size_t k = 0;
        for (size_t j = 0; j < c->n_failed_ex; j++)
            t[i].exemplars[k++] = c->failed_ex[j];
        for (size_t j = 0; j < c->n_ok_ex && k < VT_HOTSPOTS_MAX_EXEMPLARS; j++)
            t[i].exemplars[k++] = c->ok_ex[j];
        t[i].n_exemplars = k;
    }
    qsort(t, nt, sizeof *t, transition_cmp);
    out->transitions = t;
    out->n_transitions = nt;

    size_t nr = 0;
    for (size_t i = 0; i < nt; i++)
        if (t[i].failed_simulation_count)
            rank[nr++] = &t[i];
    qsort(rank, nr, sizeof *rank, hotspot_cmp);
    out->n_top_hotspots = VT_MIN(nr, (size_t)VT_HOTSPOTS_TOP);
    for (size_t i = 0; i < out->n_top_hotspots; i++)
        out->top_hotspots[i] = (size_t)(rank[i] - t);
    return VT_OK;
}
