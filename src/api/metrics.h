/*
 * metrics.h - what the metrics API (metrics.c) shares with the other resources: resolving metric
 * ids into definitions, evaluating metrics on one call or on a whole run, and writing the
 * results into simulation, conversation and run objects.
 *
 * Evaluation reads spans as they are at the time of the request, so spans that arrive late
 * count on the next read. Everything returned lives in the request arena unless said otherwise.
 */
#ifndef VT_API_METRICS_H
#define VT_API_METRICS_H

#include "../analysis/metric_eval.h"
#include "api.h"

/* Metric ids one run or conversation may name. */
#define VT_API_METRIC_IDS_MAX 50
/* Metrics of one org that an outputs request evaluates at once (beyond it: ?metric_id=). */
#define VT_API_ORG_METRICS_MAX 1000
/* Simulations of one run whose metrics are evaluated together. */
#define VT_API_RUN_METRICS_MAX_SIMS 100000

/* Definitions plus their outputs on one call, index by index. */
typedef struct {
    vt_metric_def_t *defs;
    vt_metric_output_t *outs;
    size_t n;
} vt_api_metric_results_t;

/* The run's metrics (its metric_ids) that have a target condition, parsed, for the rule that
 * a simulation fails when one of them fails for it (DESIGN.md 5.2). Ids that name no metric any
 * more are left out. Pair with vt_metric_eval on a simulation's spans; a WER metric needs the
 * simulation's transcript reference (vt_metric_transcript_reference), and without one it is
 * FAILED with no result, so it does not fail the simulation. Replies nothing; store errors are
 * returned. */
vt_err_t vt_api_run_metric_defs(vt_req_t *r, const vt_run_t *run, vt_metric_def_t **defs,
                                size_t *n);

/* The definitions of a JSON array text of metric ids, in order (NULL or "[]": none). An id that
 * names no metric (deleted since) gives a definition of type VT_METRIC_NONE carrying the id,
 * whose output is FAILED. Non-string entries are skipped. */
vt_err_t vt_api_metric_defs_of_ids(vt_req_t *r, const char *ids_json, vt_metric_def_t **defs,
                                   size_t *n);

/* Checks a request's list of metric ids (field names the member, e.g. "metric_ids"): absent or
 * null passes; otherwise an array of at most VT_API_METRIC_IDS_MAX strings, each a built-in id
 * or a metric of the caller's org. Replies 400 naming e.g. "metric_ids[2]" (or 500 on a store
 * failure) and returns false otherwise. */
bool vt_api_metric_ids_check(vt_req_t *r, json_t *ids, const char *field);

/* Evaluates the metrics of a simulation's run (its metric_ids) on the simulation. */
vt_err_t vt_api_sim_metrics(vt_req_t *r, const vt_simulation_t *sim, vt_api_metric_results_t *out);

/* Evaluates the metrics given to conversations:submit (doc "metric_ids") on a conversation.
 * doc is the conversation's parsed document (may be NULL). */
vt_err_t vt_api_conv_metrics(vt_req_t *r, const vt_conversation_t *c, const json_t *doc,
                             vt_api_metric_results_t *out);

/* Writes "metric_values" as {metric_id: value or null} (simulations) or, with as_array, as
 * [{metric_id, value}] (conversations, as the API of API-FACTS.md has it). */
void vt_api_write_metric_values(vt_jw_t *w, const vt_api_metric_results_t *m, bool as_array);

/* Writes an array of metric outputs of target_id (see docs/api.md for the fields). */
void vt_api_write_metric_outputs(vt_req_t *r, vt_jw_t *w, const char *target_id,
                                 const vt_api_metric_results_t *m);

/* One metric on one simulation of a run. */
typedef struct {
    double value;
    uint8_t status; /* vt_metric_status_t */
    uint8_t result; /* vt_metric_result_t */
} vt_api_metric_cell_t;

/* Metrics evaluated over every simulation of a run. */
typedef struct {
    size_t n_sims;
    const char **sim_ids; /* in creation order */
    size_t n_defs;
    vt_api_metric_cell_t *cells; /* cells[d * n_sims + s]: metric d on simulation s */
    int64_t failed;              /* simulations with status or result FAILED, or a FAILED
                                  * target condition among the metrics evaluated */
    vt_arena_t arena;            /* owns all of the above; vt_api_run_eval_free */
} vt_api_run_eval_t;

/* Evaluates defs on every simulation of the run from ONE ordered scan of the run's spans: each
 * simulation's spans are copied out of the scan into a scratch arena, evaluated, and dropped
 * before the next. Simulations without spans are evaluated on no spans. VT_ELIMIT past
 * VT_API_RUN_METRICS_MAX_SIMS simulations or a simulation too large to hold. *out must be
 * freed with vt_api_run_eval_free, also after a failure. */
vt_err_t vt_api_run_eval(vt_req_t *r, const vt_run_t *run, const vt_metric_def_t *defs, size_t n,
                         vt_api_run_eval_t *out);
void vt_api_run_eval_free(vt_api_run_eval_t *ev);
/* The average of metric d's COMPLETED values over the simulations; false when there are none. */
bool vt_api_run_eval_average(const vt_api_run_eval_t *ev, size_t d, double *avg);

#endif
