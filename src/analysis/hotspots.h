/*
 * hotspots.h - Transition Hotspots (DESIGN.md 5.5): which state-to-state transitions occur across
 * the simulations of a run, and in how many failed simulations each occurs.
 *
 * The builder is incremental so the API can stream one ordered read of a whole run through it:
 * begin, then one add per simulation (all spans of that simulation at once, in any order), then
 * finish. It is pure: no I/O. The builder and result live in the arena the caller gives to
 * begin, which must outlive the result; nothing is freed separately. (Each add also uses a
 * temporary arena for the parent links of that one simulation, released before it returns.)
 *
 * Semantics, per simulation:
 *  1. Depth of every span by parent links within its trace (a root, or a span whose parent is
 *     not among the simulation's spans, has depth 0), computed over ALL spans of the simulation,
 *     so dropped wrappers still count as ancestors.
 *  2. Drop wrapper spans (names "conversation", "pipeline", "transport", or starting "session:")
 *     when collapse_wrappers is set; then, if include names are given, keep only spans with one
 *     of those names; then drop spans whose name is excluded. Names match exactly (bytes).
 *  3. Order the rest by start time, then depth (parent first), then span id, then trace id
 *     (bytewise, so the order is total). The state of a span is its name; each consecutive pair
 *     is one occurrence of the transition `from -> to` (self-transitions such as llm -> llm
 *     included).
 *  4. An occurrence errs when its `to` span has status ERROR. A simulation counts as failed for a
 *     cell when the caller says it failed, or when one of its occurrences of that cell errs.
 */
#ifndef VT_HOTSPOTS_H
#define VT_HOTSPOTS_H

#include "../core/arena.h"
#include "../core/vt.h"
#include "../store/store.h"

#define VT_HOTSPOTS_MAX_EXEMPLARS 5
#define VT_HOTSPOTS_TOP 10
/* Caps on what grows with the input. Past them the builder fails with VT_ELIMIT: a matrix of
 * thousands of states is not readable anyway, and include/exclude can narrow it. */
#define VT_HOTSPOTS_MAX_NAMES 4096       /* distinct span names seen, filtered ones included */
#define VT_HOTSPOTS_MAX_CELLS 65536      /* distinct (from, to) pairs */
#define VT_HOTSPOTS_MAX_FILTER_NAMES 256 /* include or exclude names, each */
#define VT_HOTSPOTS_MAX_SPANS_PER_SIM (1u << 20)

typedef struct {
    const vt_str_t *include; /* n_include == 0: no include filter */
    size_t n_include;
    const vt_str_t *exclude;
    size_t n_exclude;
    bool collapse_wrappers; /* DESIGN default: true */
} vt_hotspots_opts_t;

typedef struct {
    vt_str_t from, to;
    uint64_t count;                   /* occurrences over the run */
    uint64_t simulation_count;        /* simulations with >= 1 occurrence */
    uint64_t failed_simulation_count; /* of those, failed ones (see 4. above) */
    double failure_rate;              /* failed_simulation_count / simulation_count * 100 */
    uint64_t error_count;             /* occurrences whose `to` span has status ERROR */
    /* Up to 5 simulation ids: those failed for this cell first, then the others; each group in
     * the order the simulations were added. */
    vt_str_t exemplars[VT_HOTSPOTS_MAX_EXEMPLARS];
    size_t n_exemplars;
} vt_hotspot_transition_t;

typedef struct {
    uint64_t simulation_count;        /* simulations added */
    uint64_t traced_simulation_count; /* simulations added with >= 1 span */
    /* States that take part in at least one transition (the matrix axes), sorted bytewise. */
    vt_str_t *states;
    size_t n_states;
    /* Every transition, sorted by from, then to (bytewise). */
    vt_hotspot_transition_t *transitions;
    size_t n_transitions;
    /* Indexes into transitions[] of up to 10 transitions with the most failed simulations; ties:
     * higher failure_rate, then higher count, then from, then to (bytewise). Transitions with no
     * failed simulation are not hotspots and are left out, so the list may be shorter or empty. */
    size_t *top_hotspots;
    size_t n_top_hotspots;
    /* The filters as applied: include/exclude as given (copies), and the wrapper names actually
     * dropped from at least one simulation, sorted bytewise (empty unless collapse_wrappers). */
    vt_str_t *include;
    size_t n_include;
    vt_str_t *exclude;
    size_t n_exclude;
    vt_str_t *collapsed;
    size_t n_collapsed;
} vt_hotspots_result_t;

typedef struct vt_hotspots vt_hotspots_t;

/* True for the names DESIGN 5.5 calls wrappers: conversation, pipeline, transport, session:*. */
bool vt_hotspots_is_wrapper(vt_str_t name);

/* Starts a builder in arena `a`; copies the option strings. VT_EINVAL with more than
 * VT_HOTSPOTS_MAX_FILTER_NAMES include or exclude names, VT_ENOMEM when the arena is exhausted. */
vt_err_t vt_hotspots_begin(vt_arena_t *a, const vt_hotspots_opts_t *opts, vt_hotspots_t **out);

/* Adds one simulation with all of its spans (n may be 0: it still counts in simulation_count).
 * Each simulation must be added once. The spans and sim_id are only read during the call (names
 * and ids are copied as needed), so rows valid only inside a store scan callback are fine once
 * collected for the simulation. Fails with VT_ELIMIT past a cap, VT_ENOMEM on arena exhaustion;
 * after a failure every later call returns the same error. */
vt_err_t vt_hotspots_add_simulation(vt_hotspots_t *h, vt_str_t sim_id, bool sim_failed,
                                    const vt_span_row_t *spans, size_t n);

/* Builds the result (arena memory of the builder). The builder must not be used afterwards.
 * Returns the builder's sticky error if an add failed, or VT_ENOMEM. */
vt_err_t vt_hotspots_finish(vt_hotspots_t *h, vt_hotspots_result_t *out);

#endif
