/*
 * demo.h - realistic demo data for a newcomer's first look (`voxtrace demo`, `serve --demo`):
 * a dental clinic's phone agent, tested by two regression runs of 50 simulated calls each and
 * watched in production through a dozen monitored conversations.
 *
 * Every call is a full trace of the shapes the seed documents: conversation > turn > vad, stt
 * (with stt.provider.* attempts, some falling back from deepgram to google), the agent's state
 * for that turn (greeting, account_lookup, booking, transfer...) > llm, llm_tool_call, tts. Tool
 * failures and failed transfers make some transitions fail often, so Transition Hotspots has
 * something to show; the second run is the "fixed" agent version and fails less. STT transcripts
 * differ from what the caller said now and then, so word error rates are not all zero.
 *
 * The data is the same on every machine: a fixed-seed generator decides everything except the
 * timestamps, which are placed in the days before now_ms. Everything is written through the
 * store interface, spans through vt_ingest_prepare like any ingest path.
 */
#ifndef VT_DEMO_H
#define VT_DEMO_H

#include "../store/store.h"

#define VT_DEMO_RUNS 2
#define VT_DEMO_SIMS_PER_RUN 50
#define VT_DEMO_CONVERSATIONS 12
/* The key in a run's metadata that marks it as demo data. */
#define VT_DEMO_MARK "voxtrace_demo"

typedef struct {
    unsigned runs, simulations, conversations, metrics;
    uint64_t spans;
    /* Set when the metrics store is not available in this build, so no custom metrics were
     * created (the runs still name the built-in metrics). */
    bool metrics_skipped;
} vt_demo_report_t;

/* Looks at the org's runs (at most the newest 10,000): *has_runs when there is any run,
 * *has_demo when one of them is marked as demo data. */
vt_err_t vt_demo_status(vt_store_t *st, int64_t org_id, bool *has_runs, bool *has_demo);

/* Writes the demo data into the org, with timestamps in the three days before now_ms, and fills
 * *out. It does not check for earlier demo data (vt_demo_status does). On failure it writes the
 * reason into err; what was written before the failure stays. */
vt_err_t vt_demo_seed(vt_store_t *st, int64_t org_id, int64_t now_ms, vt_demo_report_t *out,
                      char *err, size_t errlen);

#endif
