/*
 * hotspots.c - GET /v1/runs/{run_id}/hotspots: the Transition Hotspots of a run (DESIGN.md 5.5).
 *
 * One ordered scan of the run's spans feeds the hotspot builder a simulation at a time. Store rows
 * are valid only inside the scan callback, so the fields the builder reads are copied into a
 * per-simulation scratch arena that is emptied after each simulation. A simulation is failed when
 * its status or result is FAILED or when one of the run's metrics with a target condition fails
 * for it; those metrics are evaluated on the same collected spans, so no second read is needed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../analysis/hotspots.h"
#include "api.h"
#include "metrics.h"

/* A simulation of the run and whether it counts as failed before its spans are looked at. */
typedef struct {
    const char *id;
    const char *transcript_json; /* for the WER reference of target metrics */
    bool failed;
    bool seen; /* had spans in the scan */
} sim_state_t;

typedef struct {
    vt_req_t *r;
    vt_hotspots_t *h;
    sim_state_t *sims; /* sorted by id */
    size_t n_sims;
    const vt_metric_def_t *defs; /* the run's metrics with a target condition */
    size_t n_defs;
    /* The simulation being collected. */
    char cur_id[160];
    bool have_cur;
    vt_arena_t scratch;
    vt_span_row_t *rows;
    size_t n_rows, cap_rows;
} scan_t;

static int sim_cmp(const void *a, const void *b) {
    return strcmp(((const sim_state_t *)a)->id, ((const sim_state_t *)b)->id);
}

static sim_state_t *sim_find(scan_t *s, const char *id) {
    sim_state_t key = {.id = id};
    return bsearch(&key, s->sims, s->n_sims, sizeof key, sim_cmp);
}

/* True when one of the run's target metrics fails for the simulation's collected spans. */
static vt_err_t metrics_fail(scan_t *s, const sim_state_t *st, bool *failed) {
    vt_metric_input_t in = {.rows = s->rows, .n = s->n_rows};
    vt_err_t e = vt_metric_transcript_reference_text(&s->scratch, vt_str_c(st->transcript_json),
                                                     &in.transcript_reference);
    if (e)
        return e;
    for (size_t d = 0; d < s->n_defs && !*failed; d++) {
        vt_metric_output_t out;
        if ((e = vt_metric_eval(&s->scratch, &s->defs[d], &in, &out)))
            return e;
        *failed = out.result == VT_METRIC_RESULT_FAILED;
    }
    return VT_OK;
}

/* Hands the collected simulation to the builder and empties the scratch space. */
static vt_err_t flush_sim(scan_t *s) {
    if (!s->have_cur)
        return VT_OK;
    sim_state_t *st = sim_find(s, s->cur_id);
    vt_err_t e = VT_OK;
    /* A span of a simulation created after the list was read is left out, consistently with
     * the simulation count. */
    if (st) {
        st->seen = true;
        bool failed = st->failed;
        if (!failed && s->n_defs)
            e = metrics_fail(s, st, &failed);
        if (!e)
            e = vt_hotspots_add_simulation(s->h, vt_str_c(st->id), failed, s->rows, s->n_rows);
    }
    s->have_cur = false;
    s->n_rows = 0;
    vt_arena_free(&s->scratch);
    vt_arena_init(&s->scratch, 256u << 20);
    return e;
}

static vt_err_t on_span(void *ud, vt_target_kind_t kind, const char *target_id,
                        const vt_span_row_t *row) {
    (void)kind;
    scan_t *s = ud;
    if (!s->have_cur || strcmp(s->cur_id, target_id) != 0) {
        vt_err_t e = flush_sim(s);
        if (e)
            return e;
        snprintf(s->cur_id, sizeof s->cur_id, "%s", target_id);
        s->have_cur = true;
    }
    if (s->n_rows == s->cap_rows) {
        size_t cap = s->cap_rows ? 2 * s->cap_rows : 512;
        vt_span_row_t *rows = realloc(s->rows, cap * sizeof *rows);
        if (!rows)
            return VT_ENOMEM;
        s->rows = rows;
        s->cap_rows = cap;
    }
    vt_span_row_t *c = &s->rows[s->n_rows++];
    memset(c, 0, sizeof *c);
    memcpy(c->trace_id, row->trace_id, 16);
    memcpy(c->span_id, row->span_id, 8);
    memcpy(c->parent_span_id, row->parent_span_id, 8);
    c->has_parent = row->has_parent;
    c->start_ns = row->start_ns;
    c->end_ns = row->end_ns;
    c->status_code = row->status_code;
    c->name = vt_arena_str(&s->scratch, row->name);
    if (s->n_defs) /* the metrics read attributes; the matrix alone does not */
        c->attributes_json = vt_arena_str(&s->scratch, row->attributes_json);
    return s->scratch.failed ? VT_ENOMEM : VT_OK;
}

/* Splits a comma-separated query value into names (empty items skipped). */
static bool split_names(vt_req_t *r, const char *param, vt_str_t **out, size_t *n) {
    const char *v = vt_req_query(r, param);
    *out = NULL;
    *n = 0;
    if (!v || !*v)
        return true;
    size_t count = 1;
    for (const char *p = v; *p; p++)
        count += *p == ',';
    if (count > VT_HOTSPOTS_MAX_FILTER_NAMES) {
        char msg[120];
        snprintf(msg, sizeof msg, "Invalid query parameter %s: at most %d names", param,
                 VT_HOTSPOTS_MAX_FILTER_NAMES);
        vt_req_reply_error(r, VT_EINVAL, msg, param, "too many names");
        return false;
    }
    vt_str_t *names = vt_arena_calloc(&r->arena, count, sizeof *names);
    if (!names)
        return false;
    const char *p = v;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && *p == ' ') {
            p++;
            len--;
        }
        while (len && p[len - 1] == ' ')
            len--;
        if (len)
            names[(*n)++] = (vt_str_t){p, len};
        if (!end)
            break;
        p = end + 1;
    }
    *out = names;
    return true;
}

/* Reads every simulation of the run with its failed flag (status or result FAILED). */
static vt_err_t load_sims(vt_req_t *r, const char *run_id, sim_state_t **out, size_t *n) {
    vt_store_t *st = vt_api_app(r)->store;
    size_t cap = 0, count = 0;
    sim_state_t *sims = NULL;
    vt_page_t pg = {.page_size = 1000};
    for (;;) {
        vt_simulation_t *page;
        size_t got;
        const char *next = NULL;
        vt_err_t e = st->ops->sim_list(st, r->auth.org_id, run_id, &pg, &r->arena, &page, &got, &next);
        if (e)
            return e;
        if (count + got > cap) {
            size_t ncap = VT_MAX(2 * cap, count + got);
            sim_state_t *ns = vt_arena_alloc(&r->arena, ncap * sizeof *ns);
            if (!ns)
                return VT_ENOMEM;
            if (count)
                memcpy(ns, sims, count * sizeof *ns);
            sims = ns;
            cap = ncap;
        }
        for (size_t i = 0; i < got; i++) {
            bool failed = (page[i].status && strcmp(page[i].status, "FAILED") == 0) ||
                          (page[i].result && strcmp(page[i].result, "FAILED") == 0);
            sims[count++] = (sim_state_t){.id = page[i].simulation_id,
                                          .transcript_json = page[i].transcript_json,
                                          .failed = failed};
        }
        if (!next)
            break;
        pg.after = next;
    }
    if (count)
        qsort(sims, count, sizeof *sims, sim_cmp);
    *out = sims;
    *n = count;
    return VT_OK;
}

static void write_names(vt_jw_t *w, const char *key, const vt_str_t *names, size_t n) {
    vt_jw_key(w, key);
    vt_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++)
        vt_jw_str(w, names[i]);
    vt_jw_arr_end(w);
}

static void write_transition(vt_jw_t *w, const vt_hotspot_transition_t *t) {
    vt_jw_obj_begin(w);
    vt_jw_key(w, "from");
    vt_jw_str(w, t->from);
    vt_jw_key(w, "to");
    vt_jw_str(w, t->to);
    vt_jw_key(w, "count");
    vt_jw_uint(w, t->count);
    vt_jw_key(w, "simulation_count");
    vt_jw_uint(w, t->simulation_count);
    vt_jw_key(w, "failed_simulation_count");
    vt_jw_uint(w, t->failed_simulation_count);
    vt_jw_key(w, "failure_rate");
    vt_jw_double(w, t->failure_rate);
    vt_jw_key(w, "error_count");
    vt_jw_uint(w, t->error_count);
    write_names(w, "exemplars", t->exemplars, t->n_exemplars);
    vt_jw_obj_end(w);
}

void vt_api_runs_hotspots(vt_req_t *r) {
    vt_store_t *st = vt_api_app(r)->store;
    const char *run_id = vt_arena_strndup(&r->arena, r->params[0].p, r->params[0].n);
    vt_run_t run;
    vt_err_t e = st->ops->run_get(st, r->auth.org_id, run_id, &r->arena, &run);
    if (e) {
        vt_api_store_error(r, e, "Run");
        return;
    }
    vt_hotspots_opts_t opts = {.collapse_wrappers = true};
    const char *cw = vt_req_query(r, "collapse_wrappers");
    if (cw && *cw) {
        if (strcmp(cw, "true") == 0)
            opts.collapse_wrappers = true;
        else if (strcmp(cw, "false") == 0)
            opts.collapse_wrappers = false;
        else {
            vt_req_reply_error(r, VT_EINVAL, "Invalid query parameter collapse_wrappers: use true or false",
                               "collapse_wrappers", "must be true or false");
            return;
        }
    }
    vt_str_t *include, *exclude;
    if (!split_names(r, "include", &include, &opts.n_include) ||
        !split_names(r, "exclude", &exclude, &opts.n_exclude))
        return;
    opts.include = include;
    opts.exclude = exclude;

    scan_t s = {.r = r};
    vt_arena_init(&s.scratch, 256u << 20);
    vt_hotspots_result_t res;
    /* The result lives in its own arena: a run's matrix is not bounded by the request body. */
    vt_arena_t work;
    vt_arena_init(&work, 512u << 20);
    vt_metric_def_t *defs = NULL;
    e = load_sims(r, run_id, &s.sims, &s.n_sims);
    if (!e)
        e = vt_api_run_metric_defs(r, &run, &defs, &s.n_defs);
    s.defs = defs;
    if (!e)
        e = vt_hotspots_begin(&work, &opts, &s.h);
    if (!e) {
        /* Storage order keeps each simulation's spans together, which is all this needs: the
         * builder orders a simulation's spans itself, and skipping the time order saves a
         * lookup per span. */
        vt_span_filter_t f = {.kind = VT_TARGET_SIMULATION, .run_id = run_id, .any_order = true};
        e = st->ops->spans_scan(st, r->auth.org_id, &f, on_span, &s);
    }
    if (!e)
        e = flush_sim(&s);
    /* Simulations without spans still count in simulation_count (their metrics are evaluated
     * on no spans, like the metrics endpoints do). */
    for (size_t i = 0; !e && i < s.n_sims; i++) {
        if (s.sims[i].seen)
            continue;
        bool failed = s.sims[i].failed;
        s.n_rows = 0;
        if (!failed && s.n_defs)
            e = metrics_fail(&s, &s.sims[i], &failed);
        if (!e)
            e = vt_hotspots_add_simulation(s.h, vt_str_c(s.sims[i].id), failed, NULL, 0);
    }
    if (!e)
        e = vt_hotspots_finish(s.h, &res);
    free(s.rows);
    vt_arena_free(&s.scratch);
    if (e) {
        if (e == VT_ELIMIT)
            vt_req_reply_error(r, VT_EINVAL,
                               "Too many distinct span names for a readable matrix: narrow it with "
                               "include or exclude",
                               "include", "too many states");
        else
            vt_api_store_error(r, e, "hotspots");
        vt_arena_free(&work);
        return;
    }

    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "run_id");
    vt_jw_cstr(&w, run_id);
    vt_jw_key(&w, "simulation_count");
    vt_jw_uint(&w, res.simulation_count);
    vt_jw_key(&w, "traced_simulation_count");
    vt_jw_uint(&w, res.traced_simulation_count);
    write_names(&w, "states", res.states, res.n_states);
    vt_jw_key(&w, "transitions");
    vt_jw_arr_begin(&w);
    for (size_t i = 0; i < res.n_transitions; i++)
        write_transition(&w, &res.transitions[i]);
    vt_jw_arr_end(&w);
    vt_jw_key(&w, "top_hotspots");
    vt_jw_arr_begin(&w);
    for (size_t i = 0; i < res.n_top_hotspots; i++)
        write_transition(&w, &res.transitions[res.top_hotspots[i]]);
    vt_jw_arr_end(&w);
    vt_jw_key(&w, "filters");
    vt_jw_obj_begin(&w);
    write_names(&w, "include", res.include, res.n_include);
    write_names(&w, "exclude", res.exclude, res.n_exclude);
    vt_jw_key(&w, "collapse_wrappers");
    vt_jw_bool(&w, opts.collapse_wrappers);
    write_names(&w, "collapsed", res.collapsed, res.n_collapsed);
    vt_jw_obj_end(&w);
    vt_jw_obj_end(&w);
    vt_arena_free(&work);
    vt_req_reply_json(r, 200);
}
