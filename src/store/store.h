/*
 * store.h - the storage interface. Every back-end (store_sqlite.c, store_clickhouse.c) fills a
 * vt_store_ops_t; the rest of the program talks to a vt_store_t and never sees SQL.
 *
 * Threading: a vt_store_t is shared by all threads. Back-ends keep whatever per-thread state
 * they need (SQLite: one connection per thread) behind the ops.
 * Memory: results that carry strings are allocated in the arena the caller passes; they live
 * as long as that arena.
 * Errors: every op returns vt_err_t; VT_ENOTFOUND for a missing row, VT_EEXIST for a duplicate
 * key, VT_EINTERNAL for a database failure (logged by the back-end).
 */
#ifndef VT_STORE_H
#define VT_STORE_H

#include "../core/arena.h"
#include "../core/vt.h"

typedef struct vt_store vt_store_t;

typedef enum { VT_TARGET_SIMULATION = 1, VT_TARGET_CONVERSATION = 2 } vt_target_kind_t;

/* API key scopes, a bit set. */
enum {
    VT_SCOPE_TRACES_WRITE = 1u << 0, /* "traces:write": POST /v1/traces */
    VT_SCOPE_READ = 1u << 1,         /* "read": every GET */
    VT_SCOPE_WRITE = 1u << 2,        /* "write": create/update/delete resources */
    VT_SCOPE_ADMIN = 1u << 3,        /* "admin": keys and orgs */
};
#define VT_SCOPES_DEFAULT (VT_SCOPE_TRACES_WRITE | VT_SCOPE_READ | VT_SCOPE_WRITE)
#define VT_SCOPES_ALL (VT_SCOPES_DEFAULT | VT_SCOPE_ADMIN)

typedef struct {
    int64_t id;
    const char *slug;
    const char *name;
    int64_t create_ms;
} vt_org_t;

typedef struct {
    int64_t id;
    int64_t org_id;
    const char *prefix; /* the public, non-secret start of the key: identifies it in lists */
    const char *name;
    uint8_t hash[32];   /* BLAKE2b-256 of the whole key */
    uint32_t scopes;
    int64_t create_ms;
    int64_t revoke_ms;  /* 0 while active */
} vt_key_t;

/* Timestamps are milliseconds since the epoch. JSON fields hold serialised JSON text (or NULL
 * when absent); the API layer validates them before they reach the store. */
typedef struct {
    const char *run_id;
    const char *display_name;
    const char *status;
    int64_t create_ms;
    int64_t update_ms;
    const char *metadata_json;
    const char *metric_ids_json;
} vt_run_t;

typedef struct {
    const char *simulation_id;
    const char *run_id;
    const char *status;
    const char *result; /* NULL until set */
    const char *test_case_id;
    int64_t create_ms;
    int64_t update_ms;
    const char *transcript_json;
    const char *metadata_json;
    int64_t span_count;      /* filled on reads */
    int64_t duplicate_count; /* filled on reads: re-sent spans that were not stored again */
} vt_simulation_t;

typedef struct {
    const char *conversation_id;
    const char *status;
    int64_t create_ms;
    int64_t update_ms;
    const char *external_conversation_id;
    const char *agent_id;
    const char *occurred_at;
    /* Everything else the client submitted (transcript, audio_url, metadata, tags, metrics...)
     * as one JSON object, so new fields need no schema change. */
    const char *doc_json;
    int64_t span_count;      /* filled on reads */
    int64_t duplicate_count; /* filled on reads: re-sent spans that were not stored again */
} vt_conversation_t;

/* A metric definition of an org (DESIGN.md 5.6). What lists show and sort by is in fields; the
 * rest of the definition (span_name, aggregation_method, target_condition...) is one JSON
 * object, so a new kind of metric needs no schema change. */
typedef struct {
    const char *metric_id;
    const char *metric_name;
    const char *description; /* NULL when absent */
    const char *metric_type;
    const char *doc_json;    /* object */
    int64_t create_ms;
    int64_t update_ms;
} vt_metric_t;

/* A span ready to store: the fixed fields as columns, the variable parts already serialised
 * to JSON by the otlp module (vt_json_write_attrs...). */
typedef struct {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8];
    bool has_parent;
    vt_str_t name;
    int32_t kind;
    uint64_t start_ns;
    uint64_t end_ns;
    int32_t status_code;
    vt_str_t status_message;
    vt_str_t trace_state;
    uint32_t flags;
    vt_str_t attributes_json; /* object */
    vt_str_t events_json;     /* array, or n == 0 when there are none */
    vt_str_t links_json;      /* array, or n == 0 when there are none */
    uint32_t dropped_attrs;
    uint32_t dropped_events;
    uint32_t dropped_links;
    uint64_t received_ns;
    /* On write: indexes into the batch's resources/scopes. On read: unused. */
    uint32_t resource_idx;
    uint32_t scope_idx;
    /* On read: the JSON of the span's resource and scope (vt_json_write_resource/scope). */
    vt_str_t resource_json;
    vt_str_t scope_json;
} vt_span_row_t;

/* One request's spans for one target, handed to spans_write. The back-end fills the outputs. */
typedef struct {
    int64_t org_id;
    vt_target_kind_t kind;
    const char *target_id;
    const vt_span_row_t *rows;
    uint32_t n_rows;
    const vt_str_t *resources_json; /* one per distinct resource of the request */
    uint32_t n_resources;
    const vt_str_t *scopes_json;
    uint32_t n_scopes;
    /* outputs */
    uint32_t inserted;
    uint32_t duplicates; /* rows whose (target, trace id, span id) was already stored */
    bool target_missing; /* the target no longer exists: nothing of this batch was stored */
} vt_span_batch_t;

/* Paging: a page asks for up to page_size rows after an opaque cursor (NULL for the first page).
 * The store returns the cursor of the next page in *next (arena string), or NULL on the last. */
typedef struct {
    size_t page_size;
    const char *after;
} vt_page_t;

/* How many simulations of a run have one status/result pair. */
typedef struct {
    const char *status;
    const char *result; /* NULL when unset */
    int64_t count;
} vt_sim_count_t;

#define VT_CONV_FILTER_MAX_META 8

/* Conversation list filter; NULL fields do not filter. Metadata filters compare the text of
 * metadata[key] (strings as they are, numbers and booleans as their JSON text). */
typedef struct {
    const char *status;
    const char *external_conversation_id;
    const char *agent_id;
    struct {
        const char *key;
        const char *value;
    } metadata[VT_CONV_FILTER_MAX_META];
    size_t n_metadata;
    bool order_asc; /* by create time; newest first when false */
} vt_conv_filter_t;

/* Which spans spans_scan visits. Zero/NULL fields do not filter. */
typedef struct {
    vt_target_kind_t kind;   /* 0 = both kinds */
    const char *target_id;   /* with kind: one target */
    const char *run_id;      /* only simulations of this run (kind is then SIMULATION) */
    uint64_t start_ns_min;   /* span start >= this */
    uint64_t start_ns_max;   /* span start <= this (0 = unbounded) */
    const char *name;        /* exact span name */
    int32_t status_code;     /* VT_STATUS_* + 1, so 0 = any */
    /* true: a target's spans still come together, but in no particular order within it. Run
     * and single-target scans can then read the spans in storage order rather than look each
     * one up through the time index, which costs a third less; for callers that sort a target's
     * spans themselves or aggregate them. */
    bool any_order;
} vt_span_filter_t;

/* Called for each span spans_scan finds, ordered by target (kind, target id), then start time,
 * then trace id and span id (within a target in any order with any_order). The row and
 * target_id are valid only during the call (the JSON fields included). Returning non-zero stops
 * the scan, and spans_scan returns that value. */
typedef vt_err_t (*vt_span_visit_fn)(void *ud, vt_target_kind_t kind, const char *target_id,
                                     const vt_span_row_t *row);

typedef struct {
    /* Lifecycle. close frees the store itself. */
    void (*close)(vt_store_t *s);

    /* Orgs. org_create: VT_EEXIST when the slug is taken. */
    vt_err_t (*org_create)(vt_store_t *s, const char *slug, const char *name, vt_arena_t *a,
                           vt_org_t *out);
    vt_err_t (*org_get_by_slug)(vt_store_t *s, const char *slug, vt_arena_t *a, vt_org_t *out);
    vt_err_t (*org_get_by_id)(vt_store_t *s, int64_t id, vt_arena_t *a, vt_org_t *out);
    vt_err_t (*org_list)(vt_store_t *s, vt_arena_t *a, vt_org_t **out, size_t *n);

    /* Keys. key_find_by_prefix returns revoked keys too (the caller checks revoke_ms). */
    vt_err_t (*key_create)(vt_store_t *s, const vt_key_t *k, int64_t *id_out);
    vt_err_t (*key_find_by_prefix)(vt_store_t *s, const char *prefix, vt_arena_t *a, vt_key_t *out);
    vt_err_t (*key_list)(vt_store_t *s, int64_t org_id, vt_arena_t *a, vt_key_t **out, size_t *n);
    vt_err_t (*key_revoke)(vt_store_t *s, const char *prefix, int64_t when_ms);

    /* Runs and simulations. Creates fail with VT_EEXIST on a taken id; the simulation's run
     * must exist in the same org (VT_ENOTFOUND otherwise). */
    vt_err_t (*run_create)(vt_store_t *s, int64_t org_id, const vt_run_t *r);
    vt_err_t (*run_get)(vt_store_t *s, int64_t org_id, const char *run_id, vt_arena_t *a, vt_run_t *out);
    vt_err_t (*sim_create)(vt_store_t *s, int64_t org_id, const vt_simulation_t *sim);
    vt_err_t (*sim_get)(vt_store_t *s, int64_t org_id, const char *sim_id, vt_arena_t *a,
                        vt_simulation_t *out);

    /* Newest first (run ids are ULIDs, so id order is creation order). */
    vt_err_t (*run_list)(vt_store_t *s, int64_t org_id, const vt_page_t *pg, vt_arena_t *a,
                         vt_run_t **out, size_t *n, const char **next);
    /* Deletes the run, its simulations and their spans, in one transaction. */
    vt_err_t (*run_delete)(vt_store_t *s, int64_t org_id, const char *run_id);
    /* Simulation counts per (status, result) of a run, for its progress figures. */
    vt_err_t (*run_sim_counts)(vt_store_t *s, int64_t org_id, const char *run_id, vt_arena_t *a,
                               vt_sim_count_t **out, size_t *n);
    /* Simulations in creation order (then id); run_id NULL lists the whole org. span_count filled. */
    vt_err_t (*sim_list)(vt_store_t *s, int64_t org_id, const char *run_id, const vt_page_t *pg,
                         vt_arena_t *a, vt_simulation_t **out, size_t *n, const char **next);
    /* Replaces status, result, transcript_json, metadata_json and update_ms of an existing
     * simulation (the caller merges the PATCH into what sim_get returned). */
    vt_err_t (*sim_update)(vt_store_t *s, int64_t org_id, const vt_simulation_t *sim);
    /* Deletes the simulation and its spans. */
    vt_err_t (*sim_delete)(vt_store_t *s, int64_t org_id, const char *sim_id);

    /* Conversations. */
    vt_err_t (*conv_create)(vt_store_t *s, int64_t org_id, const vt_conversation_t *c);
    vt_err_t (*conv_get)(vt_store_t *s, int64_t org_id, const char *conv_id, vt_arena_t *a,
                         vt_conversation_t *out);
    vt_err_t (*conv_list)(vt_store_t *s, int64_t org_id, const vt_conv_filter_t *f,
                          const vt_page_t *pg, vt_arena_t *a, vt_conversation_t **out, size_t *n,
                          const char **next);
    /* Replaces every field but the id and create_ms. */
    vt_err_t (*conv_update)(vt_store_t *s, int64_t org_id, const vt_conversation_t *c);
    /* Deletes the conversation and its spans. */
    vt_err_t (*conv_delete)(vt_store_t *s, int64_t org_id, const char *conv_id);

    /* True/false in *exists: does this simulation or conversation exist in the org. */
    vt_err_t (*target_exists)(vt_store_t *s, int64_t org_id, vt_target_kind_t kind, const char *id,
                              bool *exists);

    /* Stores several batches in one transaction: all of them are durable when it returns
     * VT_OK, none of them when it fails. Duplicates are skipped and counted per batch. */
    vt_err_t (*spans_write)(vt_store_t *s, vt_span_batch_t *batches, size_t n);

    /* Reads a target's spans ordered by start time (then trace id, span id), with paging.
     * *total receives the number of stored spans of the target. */
    vt_err_t (*spans_read)(vt_store_t *s, int64_t org_id, vt_target_kind_t kind, const char *id,
                           size_t limit, size_t offset, vt_arena_t *a, vt_span_row_t **out, size_t *n,
                           size_t *total);

    /* Visits the org's spans that pass the filter, in one ordered read (see vt_span_visit_fn).
     * resource_json/scope_json of the rows are filled. The callback may call other ops, but
     * not spans_scan (VT_EINVAL). VT_EINVAL for a target_id without kind or run_id. */
    vt_err_t (*spans_scan)(vt_store_t *s, int64_t org_id, const vt_span_filter_t *f,
                           vt_span_visit_fn fn, void *ud);

    /* Metric definitions. metric_create: VT_EEXIST on a taken id. metric_list: in id order
     * (metric ids are ULIDs, so creation order); the cursor is the last id of a page.
     * metric_update replaces every field but the id and create_ms. */
    vt_err_t (*metric_create)(vt_store_t *s, int64_t org_id, const vt_metric_t *m);
    vt_err_t (*metric_get)(vt_store_t *s, int64_t org_id, const char *metric_id, vt_arena_t *a,
                           vt_metric_t *out);
    vt_err_t (*metric_list)(vt_store_t *s, int64_t org_id, const vt_page_t *pg, vt_arena_t *a,
                            vt_metric_t **out, size_t *n, const char **next);
    vt_err_t (*metric_update)(vt_store_t *s, int64_t org_id, const vt_metric_t *m);
    vt_err_t (*metric_delete)(vt_store_t *s, int64_t org_id, const char *metric_id);
} vt_store_ops_t;

/* Base of every back-end's store object (back-ends embed it first). */
struct vt_store {
    const vt_store_ops_t *ops;
};

/* Opens the store a URL names: "sqlite" (file DATA_DIR/voxtrace.db), "sqlite:PATH", or
 * "clickhouse://[user[:password]@]host:port/database". Creates DATA_DIR and applies migrations.
 * On failure writes the reason into err. */
vt_err_t vt_store_open(const char *url, const char *data_dir, vt_store_t **out, char *err, size_t errlen);

/* The SQLite back-end (store_sqlite.c). path is the database file. */
vt_err_t vt_store_sqlite_open(const char *path, vt_store_t **out, char *err, size_t errlen);

#endif
