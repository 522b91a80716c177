/*
 * store_sqlite.c - the SQLite back-end of the store interface (store.h), the default store.
 *
 * One database file in WAL mode. The store object is shared by every thread, but an SQLite
 * connection must not be, so each thread that touches the store gets its own connection on
 * first use (kept under a pthread key) with its own cache of prepared statements. All SQL is
 * static text with bound parameters; nothing is ever built from data.
 *
 * Durability: journal_mode=WAL with synchronous=NORMAL. In that mode a COMMIT appends the
 * transaction to the WAL file with write() before it returns, and fsyncs only at checkpoints.
 * A process crash (kill -9, abort, OOM kill) cannot undo a write() that returned: the data is
 * in the kernel's page cache and reaches the disk without the process. So "a 200 means
 * committed; kill -9 at any moment loses no acknowledged span" (DESIGN.md 9) holds. What
 * NORMAL gives up is the last transactions before a power loss or kernel crash; paying an
 * fsync per commit (synchronous=FULL) would protect against that too, at a large cost to the
 * ingest target, and the design does not ask for it.
 *
 * Sections: schema and migrations; statements; connections; helpers; ops; open and close.
 */
#include "store.h"

#include "../core/buf.h"
#include "../core/log.h"

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

/* Bigger pages than SQLite's 4 KiB default: a span row with ten attributes is 500-1000 bytes,
 * and a WITHOUT ROWID table keeps a row inline only up to about a quarter of a page, so small
 * pages would push many rows into overflow pages. It only takes effect while the database is
 * still empty. */
#define SQ_PAGE_SIZE "16384"
#define SQ_BUSY_TIMEOUT_MS 5000
#define SQ_DEDUP_SLOTS 64 /* per-connection cache of resource/scope hash -> id; power of two */
#define SQ_HASH_LEN 16
/* Lists return at most this many rows a page, whatever the caller asks (the API caps lower). */
#define SQ_LIST_MAX 1000
/* conv_list statement shapes: 5 flag bits (see conv_shape) times 0..MAX metadata filters. */
#define SQ_CONV_FLAG_BITS 5
#define SQ_CONV_SHAPES ((1u << SQ_CONV_FLAG_BITS) * (VT_CONV_FILTER_MAX_META + 1))
/* Cap of the per-scan cache of resource and scope JSON texts. */
#define SQ_SCAN_CACHE_CAP (64u << 20)

/* ---------------------------------------------------------------------------------------- */
/* Schema and migrations                                                                    */
/* ---------------------------------------------------------------------------------------- */

/* migrations[i] brings the schema from version i to i + 1 (PRAGMA user_version). Never edit a
 * migration that has shipped; append a new one. */
static const char *const migrations[] = {
    /* 1: everything. */
    "CREATE TABLE orgs("
    "  id INTEGER PRIMARY KEY,"
    "  slug TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  create_ms INTEGER NOT NULL);"

    "CREATE TABLE api_keys("
    "  id INTEGER PRIMARY KEY,"
    "  org_id INTEGER NOT NULL REFERENCES orgs(id),"
    "  prefix TEXT NOT NULL UNIQUE,"
    "  hash BLOB NOT NULL,"
    "  name TEXT NOT NULL,"
    "  scopes INTEGER NOT NULL,"
    "  create_ms INTEGER NOT NULL,"
    "  revoke_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX api_keys_org ON api_keys(org_id);"

    "CREATE TABLE runs("
    "  org_id INTEGER NOT NULL REFERENCES orgs(id),"
    "  run_id TEXT NOT NULL,"
    "  display_name TEXT,"
    "  status TEXT NOT NULL,"
    "  create_ms INTEGER NOT NULL,"
    "  update_ms INTEGER NOT NULL,"
    "  metadata TEXT,"
    "  metric_ids TEXT,"
    "  PRIMARY KEY(org_id, run_id));"

    /* Deleting a run takes its simulations with it. */
    "CREATE TABLE simulations("
    "  org_id INTEGER NOT NULL,"
    "  simulation_id TEXT NOT NULL,"
    "  run_id TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  result TEXT,"
    "  test_case_id TEXT,"
    "  create_ms INTEGER NOT NULL,"
    "  update_ms INTEGER NOT NULL,"
    "  transcript TEXT,"
    "  metadata TEXT,"
    "  PRIMARY KEY(org_id, simulation_id),"
    "  FOREIGN KEY(org_id, run_id) REFERENCES runs(org_id, run_id) ON DELETE CASCADE);"
    "CREATE INDEX simulations_run ON simulations(org_id, run_id);"

    "CREATE TABLE conversations("
    "  org_id INTEGER NOT NULL REFERENCES orgs(id),"
    "  conversation_id TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  create_ms INTEGER NOT NULL,"
    "  update_ms INTEGER NOT NULL,"
    "  external_conversation_id TEXT,"
    "  agent_id TEXT,"
    "  occurred_at TEXT,"
    "  doc TEXT,"
    "  PRIMARY KEY(org_id, conversation_id));"
    "CREATE INDEX conversations_external ON conversations(org_id, external_conversation_id);"
    "CREATE INDEX conversations_created ON conversations(org_id, create_ms);"

    /* Kept by spans_write in the same transaction as the spans, so counts never need a scan. */
    "CREATE TABLE target_stats("
    "  org_id INTEGER NOT NULL,"
    "  target_kind INTEGER NOT NULL,"
    "  target_id TEXT NOT NULL,"
    "  span_count INTEGER NOT NULL,"
    "  duplicate_count INTEGER NOT NULL,"
    "  PRIMARY KEY(org_id, target_kind, target_id)) WITHOUT ROWID;"

    /* Resources and scopes repeat in every request of a process; they are stored once, keyed
     * by a hash of (org id, JSON text). The org is part of the hash so that rows are never
     * shared across orgs, not even through a hash collision. */
    "CREATE TABLE resources("
    "  id INTEGER PRIMARY KEY,"
    "  hash BLOB NOT NULL UNIQUE,"
    "  json TEXT NOT NULL);"
    "CREATE TABLE scopes("
    "  id INTEGER PRIMARY KEY,"
    "  hash BLOB NOT NULL UNIQUE,"
    "  json TEXT NOT NULL);"

    /* A target's spans sit together in the primary key order, and a re-sent span conflicts on
     * insert. target_kind is the store's simulation/conversation kind, span_kind the OTLP
     * SpanKind. Times are unsigned nanoseconds stored in a signed 64-bit column (exact until
     * the year 2262). */
    "CREATE TABLE spans("
    "  org_id INTEGER NOT NULL,"
    "  target_kind INTEGER NOT NULL,"
    "  target_id TEXT NOT NULL,"
    "  trace_id BLOB NOT NULL,"
    "  span_id BLOB NOT NULL,"
    "  parent_span_id BLOB,"
    "  name TEXT NOT NULL,"
    "  span_kind INTEGER NOT NULL,"
    "  start_ns INTEGER NOT NULL,"
    "  end_ns INTEGER NOT NULL,"
    "  status_code INTEGER NOT NULL,"
    "  status_message TEXT,"
    "  trace_state TEXT,"
    "  flags INTEGER NOT NULL,"
    "  attributes TEXT NOT NULL,"
    "  events TEXT,"
    "  links TEXT,"
    "  dropped_attrs INTEGER NOT NULL,"
    "  dropped_events INTEGER NOT NULL,"
    "  dropped_links INTEGER NOT NULL,"
    "  resource_id INTEGER,"
    "  scope_id INTEGER,"
    "  received_ns INTEGER NOT NULL,"
    "  PRIMARY KEY(org_id, target_kind, target_id, trace_id, span_id)) WITHOUT ROWID;"
    /* The index carries the primary key after start_ns, so it yields the read order
     * (start_ns, trace_id, span_id) without a sort. */
    "CREATE INDEX spans_time ON spans(org_id, target_kind, target_id, start_ns);",

    /* 2: indexes for the keyset-paged lists and the span scans. A list index ends with the
     * list's order (create_ms, id) so a page is one index range, never a sort. The run index
     * is UNIQUE (it is: (org_id, simulation_id) already is) so that the planner knows a run's
     * simulations come out once each in id order, and can stream a run's spans in (simulation,
     * start time) order without a sort. No index on spans: every scan is driven per target
     * through spans_time, which keeps the ingest path at one index. */
    "DROP INDEX simulations_run;"
    "CREATE UNIQUE INDEX simulations_run ON simulations(org_id, run_id, simulation_id);"
    "CREATE INDEX simulations_run_created"
    "  ON simulations(org_id, run_id, create_ms, simulation_id);"
    "CREATE INDEX simulations_created ON simulations(org_id, create_ms, simulation_id);"
    "DROP INDEX conversations_created;"
    "CREATE INDEX conversations_created ON conversations(org_id, create_ms, conversation_id);"
    "DROP INDEX conversations_external;"
    "CREATE INDEX conversations_external"
    "  ON conversations(org_id, external_conversation_id, create_ms, conversation_id);"
    "CREATE INDEX conversations_agent"
    "  ON conversations(org_id, agent_id, create_ms, conversation_id);"
    "CREATE INDEX conversations_status"
    "  ON conversations(org_id, status, create_ms, conversation_id);",

    /* 3: metric definitions. The primary key is also the list order (ids are ULIDs). */
    "CREATE TABLE metrics("
    "  org_id INTEGER NOT NULL REFERENCES orgs(id),"
    "  metric_id TEXT NOT NULL,"
    "  metric_name TEXT NOT NULL,"
    "  description TEXT,"
    "  metric_type TEXT NOT NULL,"
    "  doc TEXT,"
    "  create_ms INTEGER NOT NULL,"
    "  update_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(org_id, metric_id)) WITHOUT ROWID;",
};
#define SQ_SCHEMA_VERSION ((int)VT_ARRAY_LEN(migrations))

/* The statements below join target_stats on the literal kinds. */
_Static_assert(VT_TARGET_SIMULATION == 1 && VT_TARGET_CONVERSATION == 2,
               "target kinds are stored as 1 and 2");

/* ---------------------------------------------------------------------------------------- */
/* Statements                                                                               */
/* ---------------------------------------------------------------------------------------- */

typedef enum {
    ST_BEGIN,
    ST_BEGIN_IMMEDIATE,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_ORG_INSERT,
    ST_ORG_BY_SLUG,
    ST_ORG_BY_ID,
    ST_ORG_LIST,
    ST_KEY_INSERT,
    ST_KEY_BY_PREFIX,
    ST_KEY_LIST,
    ST_KEY_REVOKE,
    ST_RUN_INSERT,
    ST_RUN_GET,
    ST_RUN_EXISTS,
    ST_SIM_INSERT,
    ST_SIM_GET,
    ST_SIM_EXISTS,
    ST_CONV_INSERT,
    ST_CONV_GET,
    ST_CONV_EXISTS,
    ST_RESOURCE_INSERT,
    ST_RESOURCE_ID,
    ST_RESOURCE_JSON,
    ST_SCOPE_INSERT,
    ST_SCOPE_ID,
    ST_SCOPE_JSON,
    ST_SPAN_INSERT,
    ST_STATS_ADD,
    ST_STATS_COUNT,
    ST_SPANS_READ,
    ST_RUN_LIST,
    ST_RUN_LIST_AFTER,
    ST_RUN_DELETE_SPANS,
    ST_RUN_DELETE_STATS,
    ST_RUN_DELETE,
    ST_RUN_SIM_COUNTS,
    ST_SIM_LIST,
    ST_SIM_LIST_AFTER,
    ST_SIM_LIST_RUN,
    ST_SIM_LIST_RUN_AFTER,
    ST_SIM_UPDATE,
    ST_SIM_DELETE,
    ST_CONV_UPDATE,
    ST_CONV_DELETE,
    ST_TARGET_DELETE_SPANS,
    ST_TARGET_DELETE_STATS,
    ST_SCAN_TARGET,
    ST_SCAN_RUN,
    ST_SCAN_ORG,
    ST_SCAN_TARGET_ANY,
    ST_SCAN_RUN_ANY,
    ST_METRIC_INSERT,
    ST_METRIC_GET,
    ST_METRIC_LIST,
    ST_METRIC_LIST_AFTER,
    ST_METRIC_UPDATE,
    ST_METRIC_DELETE,
    ST__COUNT
} sq_stmt_id_t;

#define SQ_KEY_COLS "id, org_id, prefix, name, hash, scopes, create_ms, revoke_ms"
#define SQ_RUN_COLS                                                                                \
    "run_id, display_name, status, create_ms, update_ms, metadata, metric_ids FROM runs"
/* Simulations and conversations with their span counts; read_sim_cb / read_conv_cb. */
#define SQ_SIM_SELECT                                                                              \
    "SELECT s.simulation_id, s.run_id, s.status, s.result, s.test_case_id, s.create_ms,"           \
    " s.update_ms, s.transcript, s.metadata, coalesce(t.span_count, 0),"                           \
    " coalesce(t.duplicate_count, 0) FROM simulations s LEFT JOIN target_stats t"                  \
    " ON t.org_id = s.org_id AND t.target_kind = 1 AND t.target_id = s.simulation_id"              \
    " WHERE s.org_id = ?1"
#define SQ_CONV_SELECT                                                                             \
    "SELECT c.conversation_id, c.status, c.create_ms, c.update_ms,"                                \
    " c.external_conversation_id, c.agent_id, c.occurred_at, c.doc,"                               \
    " coalesce(t.span_count, 0), coalesce(t.duplicate_count, 0) FROM conversations c"              \
    " LEFT JOIN target_stats t ON t.org_id = c.org_id AND t.target_kind = 2"                       \
    " AND t.target_id = c.conversation_id WHERE c.org_id = ?1"
/* The simulation list: ?1 org, ?2 limit, ?3/?4 the cursor (create_ms, id), ?5 run id. */
#define SQ_SIM_LIST(cond) SQ_SIM_SELECT cond " ORDER BY s.create_ms, s.simulation_id LIMIT ?2"
#define SQ_SIM_AFTER " AND (s.create_ms, s.simulation_id) > (?3, ?4)"
/* The simulations of run ?2 in org ?1, for deleting what hangs off them. */
#define SQ_RUN_SIMS "(SELECT simulation_id FROM simulations WHERE org_id = ?1 AND run_id = ?2)"
#define SQ_METRIC_COLS                                                                             \
    "metric_id, metric_name, description, metric_type, doc, create_ms, update_ms FROM metrics"
#define SQ_SPAN_COLS                                                                               \
    "trace_id, span_id, parent_span_id, name, span_kind, start_ns, end_ns, status_code,"           \
    " status_message, trace_state, flags, attributes, events, links, dropped_attrs,"               \
    " dropped_events, dropped_links, resource_id, scope_id, received_ns"

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN",
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_ORG_INSERT] = "INSERT INTO orgs(slug, name, create_ms) VALUES(?1, ?2, ?3)",
    [ST_ORG_BY_SLUG] = "SELECT id, slug, name, create_ms FROM orgs WHERE slug = ?1",
    [ST_ORG_BY_ID] = "SELECT id, slug, name, create_ms FROM orgs WHERE id = ?1",
    [ST_ORG_LIST] = "SELECT id, slug, name, create_ms FROM orgs ORDER BY id",
    [ST_KEY_INSERT] = "INSERT INTO api_keys(org_id, prefix, name, hash, scopes, create_ms,"
                      " revoke_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_KEY_BY_PREFIX] = "SELECT " SQ_KEY_COLS " FROM api_keys WHERE prefix = ?1",
    [ST_KEY_LIST] = "SELECT " SQ_KEY_COLS " FROM api_keys WHERE org_id = ?1 ORDER BY id",
    /* A second revoke keeps the first revocation time. */
    [ST_KEY_REVOKE] = "UPDATE api_keys SET revoke_ms = CASE WHEN revoke_ms = 0 THEN ?2"
                      " ELSE revoke_ms END WHERE prefix = ?1",
    [ST_RUN_INSERT] = "INSERT INTO runs(org_id, run_id, display_name, status, create_ms,"
                      " update_ms, metadata, metric_ids) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_RUN_GET] = "SELECT " SQ_RUN_COLS " WHERE org_id = ?1 AND run_id = ?2",
    [ST_RUN_EXISTS] = "SELECT 1 FROM runs WHERE org_id = ?1 AND run_id = ?2",
    [ST_SIM_INSERT] = "INSERT INTO simulations(org_id, simulation_id, run_id, status, result,"
                      " test_case_id, create_ms, update_ms, transcript, metadata)"
                      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [ST_SIM_GET] = SQ_SIM_SELECT " AND s.simulation_id = ?2",
    [ST_SIM_EXISTS] = "SELECT 1 FROM simulations WHERE org_id = ?1 AND simulation_id = ?2",
    [ST_CONV_INSERT] = "INSERT INTO conversations(org_id, conversation_id, status, create_ms,"
                       " update_ms, external_conversation_id, agent_id, occurred_at, doc)"
                       " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_CONV_GET] = SQ_CONV_SELECT " AND c.conversation_id = ?2",
    [ST_CONV_EXISTS] = "SELECT 1 FROM conversations WHERE org_id = ?1 AND conversation_id = ?2",
    [ST_RESOURCE_INSERT] = "INSERT INTO resources(hash, json) VALUES(?1, ?2)"
                           " ON CONFLICT(hash) DO NOTHING",
    [ST_RESOURCE_ID] = "SELECT id FROM resources WHERE hash = ?1",
    [ST_RESOURCE_JSON] = "SELECT json FROM resources WHERE id = ?1",
    [ST_SCOPE_INSERT] =
        "INSERT INTO scopes(hash, json) VALUES(?1, ?2) ON CONFLICT(hash) DO NOTHING",
    [ST_SCOPE_ID] = "SELECT id FROM scopes WHERE hash = ?1",
    [ST_SCOPE_JSON] = "SELECT json FROM scopes WHERE id = ?1",
    /* ON CONFLICT on the primary key rather than INSERT OR IGNORE: OR IGNORE would also
     * swallow a NOT NULL violation and count a broken row as a duplicate. */
    [ST_SPAN_INSERT] = "INSERT INTO spans(org_id, target_kind, target_id, " SQ_SPAN_COLS ")"
                       " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
                       " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)"
                       " ON CONFLICT(org_id, target_kind, target_id, trace_id, span_id)"
                       " DO NOTHING",
    [ST_STATS_ADD] = "INSERT INTO target_stats(org_id, target_kind, target_id, span_count,"
                     " duplicate_count) VALUES(?1, ?2, ?3, ?4, ?5)"
                     " ON CONFLICT(org_id, target_kind, target_id) DO UPDATE SET"
                     " span_count = span_count + excluded.span_count,"
                     " duplicate_count = duplicate_count + excluded.duplicate_count",
    [ST_STATS_COUNT] = "SELECT span_count FROM target_stats"
                       " WHERE org_id = ?1 AND target_kind = ?2 AND target_id = ?3",
    [ST_SPANS_READ] = "SELECT " SQ_SPAN_COLS " FROM spans"
                      " WHERE org_id = ?1 AND target_kind = ?2 AND target_id = ?3"
                      " ORDER BY start_ns, trace_id, span_id LIMIT ?4 OFFSET ?5",
    /* Run ids are ULIDs: descending id is newest first. ?1 org, ?2 limit, ?3 the cursor. */
    [ST_RUN_LIST] = "SELECT " SQ_RUN_COLS " WHERE org_id = ?1 ORDER BY run_id DESC LIMIT ?2",
    [ST_RUN_LIST_AFTER] = "SELECT " SQ_RUN_COLS " WHERE org_id = ?1 AND run_id < ?3"
                          " ORDER BY run_id DESC LIMIT ?2",
    [ST_RUN_DELETE_SPANS] = "DELETE FROM spans WHERE org_id = ?1 AND target_kind = 1"
                            " AND target_id IN " SQ_RUN_SIMS,
    [ST_RUN_DELETE_STATS] = "DELETE FROM target_stats WHERE org_id = ?1 AND target_kind = 1"
                            " AND target_id IN " SQ_RUN_SIMS,
    /* The foreign key takes the run's simulations with it. */
    [ST_RUN_DELETE] = "DELETE FROM runs WHERE org_id = ?1 AND run_id = ?2",
    [ST_RUN_SIM_COUNTS] = "SELECT status, result, count(*) FROM simulations"
                          " WHERE org_id = ?1 AND run_id = ?2"
                          " GROUP BY status, result ORDER BY status, result",
    [ST_SIM_LIST] = SQ_SIM_LIST(""),
    [ST_SIM_LIST_AFTER] = SQ_SIM_LIST(SQ_SIM_AFTER),
    [ST_SIM_LIST_RUN] = SQ_SIM_LIST(" AND s.run_id = ?5"),
    [ST_SIM_LIST_RUN_AFTER] = SQ_SIM_LIST(" AND s.run_id = ?5" SQ_SIM_AFTER),
    [ST_SIM_UPDATE] = "UPDATE simulations SET status = ?3, result = ?4, transcript = ?5,"
                      " metadata = ?6, update_ms = ?7 WHERE org_id = ?1 AND simulation_id = ?2",
    [ST_SIM_DELETE] = "DELETE FROM simulations WHERE org_id = ?1 AND simulation_id = ?2",
    [ST_CONV_UPDATE] = "UPDATE conversations SET status = ?3, update_ms = ?4,"
                       " external_conversation_id = ?5, agent_id = ?6, occurred_at = ?7, doc = ?8"
                       " WHERE org_id = ?1 AND conversation_id = ?2",
    [ST_CONV_DELETE] = "DELETE FROM conversations WHERE org_id = ?1 AND conversation_id = ?2",
    [ST_TARGET_DELETE_SPANS] =
        "DELETE FROM spans WHERE org_id = ?1 AND target_kind = ?2 AND target_id = ?3",
    [ST_TARGET_DELETE_STATS] =
        "DELETE FROM target_stats WHERE org_id = ?1 AND target_kind = ?2 AND target_id = ?3",
    /* Span scans, one per way of choosing the targets; all share the parameters ?1 org, ?2 kind
     * (0 = both), ?3 target id, ?4/?5 the start time range, ?6 name, ?7 status code (NULL = no
     * filter), ?8 run id. Each is one ordered read with no sort: the outer loop yields the
     * targets in id order (CROSS JOIN pins the loop order, which the planner would otherwise
     * pick from guesses), and spans_time yields each target's spans in (start, trace id, span
     * id) order. The span columns come first, so read_span reads all three. */
    [ST_SCAN_TARGET] = "SELECT " SQ_SPAN_COLS ", target_kind, target_id FROM spans"
                       " WHERE org_id = ?1 AND target_kind = ?2 AND target_id = ?3"
                       " AND start_ns BETWEEN ?4 AND ?5 AND (?6 IS NULL OR name = ?6)"
                       " AND (?7 IS NULL OR status_code = ?7)"
                       " ORDER BY start_ns, trace_id, span_id",
    [ST_SCAN_RUN] = "SELECT " SQ_SPAN_COLS ", s.target_kind, s.target_id FROM simulations m"
                    " CROSS JOIN spans s ON s.org_id = m.org_id AND s.target_kind = 1"
                    " AND s.target_id = m.simulation_id"
                    " WHERE m.org_id = ?1 AND m.run_id = ?8"
                    " AND (?3 IS NULL OR m.simulation_id = ?3)"
                    " AND s.start_ns BETWEEN ?4 AND ?5 AND (?6 IS NULL OR s.name = ?6)"
                    " AND (?7 IS NULL OR s.status_code = ?7)"
                    " ORDER BY m.simulation_id, s.start_ns, s.trace_id, s.span_id",
    /* Driven by target_stats, which lists exactly the targets that have spans: a time-bounded
     * scan costs one index seek per target instead of a walk over every span of the org. The
     * kind test must not be a range on g.target_kind: SQLite would carry the range over to
     * s.target_kind and seek spans on it instead of on the target. */
    [ST_SCAN_ORG] = "SELECT " SQ_SPAN_COLS ", s.target_kind, s.target_id FROM target_stats g"
                    " CROSS JOIN spans s ON s.org_id = g.org_id AND s.target_kind = g.target_kind"
                    " AND s.target_id = g.target_id"
                    " WHERE g.org_id = ?1 AND (?2 = 0 OR g.target_kind = ?2)"
                    " AND s.start_ns BETWEEN ?4 AND ?5 AND (?6 IS NULL OR s.name = ?6)"
                    " AND (?7 IS NULL OR s.status_code = ?7)"
                    " ORDER BY g.target_kind, g.target_id, s.start_ns, s.trace_id, s.span_id",
    /* The any_order variants of the target and run scans: the spans of a target in primary key
     * order, read straight from the table. The time index would cost a primary key lookup per
     * span (the table is WITHOUT ROWID); the unary + keeps the planner off it. */
    [ST_SCAN_TARGET_ANY] = "SELECT " SQ_SPAN_COLS ", target_kind, target_id FROM spans"
                           " WHERE org_id = ?1 AND target_kind = ?2 AND target_id = ?3"
                           " AND +start_ns BETWEEN ?4 AND ?5 AND (?6 IS NULL OR name = ?6)"
                           " AND (?7 IS NULL OR status_code = ?7)"
                           " ORDER BY trace_id, span_id",
    [ST_SCAN_RUN_ANY] = "SELECT " SQ_SPAN_COLS ", s.target_kind, s.target_id FROM simulations m"
                        " CROSS JOIN spans s ON s.org_id = m.org_id AND s.target_kind = 1"
                        " AND s.target_id = m.simulation_id"
                        " WHERE m.org_id = ?1 AND m.run_id = ?8"
                        " AND (?3 IS NULL OR m.simulation_id = ?3)"
                        " AND +s.start_ns BETWEEN ?4 AND ?5 AND (?6 IS NULL OR s.name = ?6)"
                        " AND (?7 IS NULL OR s.status_code = ?7)"
                        " ORDER BY m.simulation_id, s.trace_id, s.span_id",
    [ST_METRIC_INSERT] = "INSERT INTO metrics(org_id, metric_id, metric_name, description,"
                         " metric_type, doc, create_ms, update_ms)"
                         " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_METRIC_GET] = "SELECT " SQ_METRIC_COLS " WHERE org_id = ?1 AND metric_id = ?2",
    /* ?1 org, ?2 limit, ?3 the cursor (the last id of the previous page). */
    [ST_METRIC_LIST] = "SELECT " SQ_METRIC_COLS " WHERE org_id = ?1 ORDER BY metric_id LIMIT ?2",
    [ST_METRIC_LIST_AFTER] = "SELECT " SQ_METRIC_COLS " WHERE org_id = ?1 AND metric_id > ?3"
                             " ORDER BY metric_id LIMIT ?2",
    [ST_METRIC_UPDATE] = "UPDATE metrics SET metric_name = ?3, description = ?4, metric_type = ?5,"
                         " doc = ?6, update_ms = ?7 WHERE org_id = ?1 AND metric_id = ?2",
    [ST_METRIC_DELETE] = "DELETE FROM metrics WHERE org_id = ?1 AND metric_id = ?2",
};

/* ---------------------------------------------------------------------------------------- */
/* Connections                                                                              */
/* ---------------------------------------------------------------------------------------- */

typedef struct sq_store sq_store_t;

/* One remembered hash -> row id of the resources or scopes table. id 0 marks an empty slot
 * (INTEGER PRIMARY KEY ids start at 1). */
typedef struct {
    uint8_t hash[SQ_HASH_LEN];
    int64_t id;
} sq_dedup_slot_t;

enum { SQ_DEDUP_RESOURCE, SQ_DEDUP_SCOPE };

/* A thread's connection to one store. Only its thread uses it, except that close() and the
 * thread-exit destructor tear it down, both after taking it out of the registry. */
typedef struct sq_conn {
    struct sq_conn *next; /* registry link (g_conns) */
    sq_store_t *owner;
    sqlite3 *db;
    sqlite3_stmt *stmt[ST__COUNT];           /* prepared on first use */
    sqlite3_stmt *conv_list[SQ_CONV_SHAPES]; /* conv_list's statement per filter shape, ditto */
    bool scanning; /* inside spans_scan, whose statements must not be re-entered */
    sq_dedup_slot_t dedup[2][SQ_DEDUP_SLOTS];
    /* spans_write scratch: the row ids of one batch's resources then scopes, 0 = not yet
     * resolved, -1 = none. Grows to the largest batch seen; freed with the connection. */
    int64_t *ids;
    size_t ids_cap;
} sq_conn_t;

struct sq_store {
    vt_store_t base;
    char *path;
    pthread_key_t key; /* this thread's sq_conn_t */
};

/* Every open connection of every store. A registry, rather than only the pthread key, lets
 * close() reach the connections of threads that are still alive, and lets the thread-exit
 * destructor see whether close() already took its connection. */
static pthread_mutex_t g_conns_mu = PTHREAD_MUTEX_INITIALIZER;
static sq_conn_t *g_conns;

static void conn_free(sq_conn_t *c) {
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(c->stmt[i]);
    for (size_t i = 0; i < SQ_CONV_SHAPES; i++)
        sqlite3_finalize(c->conv_list[i]);
    if (c->db) {
        int rc = sqlite3_close(c->db);
        if (rc != SQLITE_OK)
            vt_log_error("sqlite: close: %s", sqlite3_errstr(rc));
    }
    free(c->ids);
    free(c);
}

/* Unlinks c from the registry if it is still there. It compares pointers only: when close()
 * has already freed c, c is not in the list and is never dereferenced. */
static bool registry_take(sq_conn_t *c) {
    pthread_mutex_lock(&g_conns_mu);
    bool found = false;
    for (sq_conn_t **pp = &g_conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&g_conns_mu);
    return found;
}

/* pthread key destructor: a thread that used the store is exiting. */
static void conn_thread_exit(void *p) {
    sq_conn_t *c = p;
    if (registry_take(c))
        conn_free(c);
}

/* Opens a connection with the per-connection settings. The page size must come before
 * journal_mode=WAL: once the file has a WAL it can no longer change. */
static vt_err_t conn_open(sq_store_t *s, sq_conn_t **out, char *err, size_t errlen) {
    static const char pragmas[] = "PRAGMA page_size = " SQ_PAGE_SIZE ";"
                                  "PRAGMA journal_mode = WAL;"
                                  "PRAGMA synchronous = NORMAL;"
                                  "PRAGMA foreign_keys = ON;"
                                  "PRAGMA cache_size = -8192;" /* KiB */
                                  "PRAGMA temp_store = MEMORY;"
                                  "PRAGMA journal_size_limit = 67108864;";
    *out = NULL;
    sq_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return VT_ENOMEM;
    }
    c->owner = s;
    /* NOMUTEX: the connection belongs to one thread, so SQLite's own locking is wasted. */
    int rc = sqlite3_open_v2(
        s->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
    rc = sqlite3_exec(c->db, pragmas, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    *out = c;
    return VT_OK;

fail:
    snprintf(err, errlen, "cannot open SQLite database %s: %s", s->path,
             c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
    vt_log_error("sqlite: %s", err);
    conn_free(c);
    return VT_EINTERNAL;
}

/* Makes c this thread's connection to its store and adds it to the registry. */
static vt_err_t conn_register(sq_conn_t *c) {
    if (pthread_setspecific(c->owner->key, c) != 0) {
        vt_log_error("sqlite: pthread_setspecific failed");
        conn_free(c);
        return VT_EINTERNAL;
    }
    pthread_mutex_lock(&g_conns_mu);
    c->next = g_conns;
    g_conns = c;
    pthread_mutex_unlock(&g_conns_mu);
    return VT_OK;
}

/* This thread's connection, opened and registered on first use. */
static vt_err_t conn_get(sq_store_t *s, sq_conn_t **out) {
    sq_conn_t *c = pthread_getspecific(s->key);
    if (!c) {
        char err[256];
        vt_err_t e = conn_open(s, &c, err, sizeof err);
        if (e || (e = conn_register(c)))
            return e;
    }
    *out = c;
    return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* Turns a failed SQLite call into a vt_err_t. Unique-key violations are the caller's EEXIST
 * and foreign-key violations mean a parent row (org, run) is missing; both are normal outcomes
 * and are not logged. A lock that stayed busy past the timeout is a transient overload. */
static vt_err_t sq_fail(sq_conn_t *c, const char *what) {
    int ext = sqlite3_extended_errcode(c->db);
    switch (ext) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
        return VT_EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return VT_ENOTFOUND;
    default:
        break;
    }
    vt_log_error("sqlite: %s: %s (%d)", what, sqlite3_errmsg(c->db), ext);
    if ((ext & 0xff) == SQLITE_BUSY || (ext & 0xff) == SQLITE_LOCKED)
        return VT_EUNAVAIL;
    if ((ext & 0xff) == SQLITE_NOMEM)
        return VT_ENOMEM;
    return VT_EINTERNAL;
}

/* The connection's prepared statement, prepared once and kept (PERSISTENT tells SQLite it will
 * be reused many times). Callers reset it after use so no read transaction stays open. */
static vt_err_t stmt_get(sq_conn_t *c, sq_stmt_id_t id, sqlite3_stmt **out) {
    if (!c->stmt[id]) {
        int rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &c->stmt[id], NULL);
        if (rc != SQLITE_OK) {
            c->stmt[id] = NULL;
            *out = NULL;
            return sq_fail(c, "prepare");
        }
    }
    *out = c->stmt[id];
    return VT_OK;
}

/* This thread's connection and one of its statements, in one call. */
static vt_err_t prep(vt_store_t *vs, sq_stmt_id_t id, sq_conn_t **c, sqlite3_stmt **st) {
    vt_err_t e = conn_get((sq_store_t *)vs, c);
    return e ? e : stmt_get(*c, id, st);
}

/* Runs a statement that returns no rows and resets it. */
static vt_err_t step_done(sq_conn_t *c, sqlite3_stmt *st, const char *what) {
    int rc = sqlite3_step(st);
    vt_err_t e = rc == SQLITE_DONE ? VT_OK : sq_fail(c, what);
    sqlite3_reset(st);
    return e;
}

static vt_err_t exec_stmt(sq_conn_t *c, sq_stmt_id_t id) {
    sqlite3_stmt *st;
    vt_err_t e = stmt_get(c, id, &st);
    return e ? e : step_done(c, st, stmt_sql[id]);
}

/* Writers take the write lock up front (BEGIN IMMEDIATE): a deferred transaction that reads and
 * then writes can fail with SQLITE_BUSY without waiting, if another writer got in between. */
static vt_err_t tx_begin(sq_conn_t *c, bool write) {
    return exec_stmt(c, write ? ST_BEGIN_IMMEDIATE : ST_BEGIN);
}

static vt_err_t tx_commit(sq_conn_t *c) {
    return exec_stmt(c, ST_COMMIT);
}

/* Some errors (disk full, I/O) already rolled the transaction back; only roll back if one is
 * still open. */
static void tx_rollback(sq_conn_t *c) {
    if (!sqlite3_get_autocommit(c->db))
        exec_stmt(c, ST_ROLLBACK);
}

/* Binds a C string (NULL binds SQL NULL). SQLITE_STATIC: the caller's string outlives the step. */
static int bind_cstr(sqlite3_stmt *st, int i, const char *s) {
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Binds a sized string; empty binds SQL NULL. */
static int bind_str(sqlite3_stmt *st, int i, vt_str_t s) {
    if (s.n == 0)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text64(st, i, s.p, (sqlite3_uint64)s.n, SQLITE_STATIC, SQLITE_UTF8);
}

/* Binds a sized string into a NOT NULL column, using dflt when it is empty. Validation upstream
 * should make the default unreachable; it is here so one bad row cannot fail a group commit
 * that carries other requests' spans. */
static int bind_str_nonnull(sqlite3_stmt *st, int i, vt_str_t s, vt_str_t dflt) {
    if (s.n == 0)
        s = dflt;
    return sqlite3_bind_text64(st, i, s.p, (sqlite3_uint64)s.n, SQLITE_STATIC, SQLITE_UTF8);
}

/* Reports a failed bind. With SQLITE_STATIC and the value caps upstream this takes misuse or a
 * value over SQLite's 1 GB limit; the statement is reset so the next use starts clean. */
static vt_err_t bind_fail(sqlite3_stmt *st, const char *what) {
    vt_log_error("sqlite: %s: cannot bind parameters", what);
    sqlite3_reset(st);
    return VT_EINTERNAL;
}

/* Column readers copy into the caller's arena. SQL NULL reads as NULL / an empty string; an
 * arena failure sets *oom. */
static const char *col_cstr(vt_arena_t *a, sqlite3_stmt *st, int i, bool *oom) {
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    const char *p = (const char *)sqlite3_column_text(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    char *copy = vt_arena_strndup(a, p ? p : "", n);
    if (!copy)
        *oom = true;
    return copy;
}

/* With a NULL arena col_str copies nothing and returns a view of SQLite's own text, valid until
 * the statement steps or resets. */
static vt_str_t col_str(vt_arena_t *a, sqlite3_stmt *st, int i, bool *oom) {
    if (!a) {
        if (sqlite3_column_type(st, i) == SQLITE_NULL)
            return VT_STR_NULL;
        const char *v = (const char *)sqlite3_column_text(st, i);
        return v ? (vt_str_t){v, (size_t)sqlite3_column_bytes(st, i)} : VT_STR_NULL;
    }
    const char *p = col_cstr(a, st, i, oom);
    return p ? (vt_str_t){p, (size_t)sqlite3_column_bytes(st, i)} : VT_STR_NULL;
}

static void col_blob(sqlite3_stmt *st, int i, uint8_t *out, size_t n) {
    const void *p = sqlite3_column_blob(st, i);
    size_t have = (size_t)sqlite3_column_bytes(st, i);
    memset(out, 0, n);
    if (p)
        memcpy(out, p, VT_MIN(have, n));
}

static int64_t now_ms(void) {
    return (int64_t)(vt_now_ns() / 1000000u);
}

static bool kind_valid(vt_target_kind_t k) {
    return k == VT_TARGET_SIMULATION || k == VT_TARGET_CONVERSATION;
}

/* Grows an arena array of n_cap elements to twice its size, copying n_used of them. */
static void *arena_grow(vt_arena_t *a, void *old, size_t *n_cap, size_t n_used, size_t size) {
    size_t cap = *n_cap ? *n_cap * 2 : 16;
    void *p = vt_arena_calloc(a, cap, size);
    if (!p)
        return NULL;
    if (n_used)
        memcpy(p, old, n_used * size);
    *n_cap = cap;
    return p;
}

/* ---------------------------------------------------------------------------------------- */
/* Orgs                                                                                     */
/* ---------------------------------------------------------------------------------------- */

static void read_org(vt_arena_t *a, sqlite3_stmt *st, vt_org_t *o, bool *oom) {
    o->id = sqlite3_column_int64(st, 0);
    o->slug = col_cstr(a, st, 1, oom);
    o->name = col_cstr(a, st, 2, oom);
    o->create_ms = sqlite3_column_int64(st, 3);
}

typedef void (*sq_read_fn)(vt_arena_t *a, sqlite3_stmt *st, void *out, bool *oom);

/* Steps a bound list statement whose LIMIT is page + 1 and reads up to `page` rows of `size`
 * bytes with `read` into an arena array. *more tells whether a row beyond the page exists.
 * With page SIZE_MAX (and no LIMIT) it reads every row. */
static vt_err_t read_list(sq_conn_t *c, sqlite3_stmt *st, const char *what, size_t page,
                          vt_arena_t *a, sq_read_fn read, size_t size, void **out, size_t *n,
                          bool *more) {
    char *rows = NULL;
    size_t len = 0, cap = 0;
    bool oom = false, extra = false;
    int rc;
    while (!oom && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == page) {
            extra = true;
            break;
        }
        if (len == cap && !(rows = arena_grow(a, rows, &cap, len, size))) {
            oom = true;
            break;
        }
        read(a, st, rows + len * size, &oom);
        len++;
    }
    vt_err_t e = VT_OK;
    if (oom)
        e = VT_ENOMEM;
    else if (!extra && rc != SQLITE_DONE)
        e = sq_fail(c, what);
    sqlite3_reset(st);
    if (e)
        return e;
    *out = rows;
    *n = len;
    *more = extra;
    return VT_OK;
}

/* Runs a query expected to return at most one row and reads it with `read`. */
static vt_err_t query_one(sq_conn_t *c, sqlite3_stmt *st, const char *what, vt_arena_t *a,
                          void (*read)(vt_arena_t *, sqlite3_stmt *, void *, bool *), void *out) {
    int rc = sqlite3_step(st);
    vt_err_t e = VT_OK;
    if (rc == SQLITE_ROW) {
        bool oom = false;
        read(a, st, out, &oom);
        if (oom)
            e = VT_ENOMEM;
    } else if (rc == SQLITE_DONE) {
        e = VT_ENOTFOUND;
    } else {
        e = sq_fail(c, what);
    }
    sqlite3_reset(st);
    return e;
}

/* The "one row of an org by its id" read shared by run_get, sim_get, conv_get and metric_get:
 * statement id binds (org_id, id). */
static vt_err_t get_in_org(vt_store_t *vs, sq_stmt_id_t id, const char *what, int64_t org_id,
                           const char *key, vt_arena_t *a,
                           void (*read)(vt_arena_t *, sqlite3_stmt *, void *, bool *), void *out) {
    if (!key)
        return VT_EINVAL;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = prep(vs, id, &c, &st);
    if (e)
        return e;
    if (sqlite3_bind_int64(st, 1, org_id) | bind_cstr(st, 2, key))
        return bind_fail(st, what);
    return query_one(c, st, what, a, read, out);
}

static void read_org_cb(vt_arena_t *a, sqlite3_stmt *st, void *out, bool *oom) {
    read_org(a, st, out, oom);
}

static vt_err_t sq_org_create(vt_store_t *vs, const char *slug, const char *name, vt_arena_t *a,
                              vt_org_t *out) {
    if (!slug || !*slug)
        return VT_EINVAL;
    if (!name)
        name = slug;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = prep(vs, ST_ORG_INSERT, &c, &st);
    if (e)
        return e;
    int64_t created = now_ms();
    if (bind_cstr(st, 1, slug) | bind_cstr(st, 2, name) | sqlite3_bind_int64(st, 3, created))
        return bind_fail(st, "org_create");
    if ((e = step_done(c, st, "org_create")))
        return e;
    if (!out)
        return VT_OK;
    out->id = sqlite3_last_insert_rowid(c->db);
    out->slug = vt_arena_strndup(a, slug, strlen(slug));
    out->name = vt_arena_strndup(a, name, strlen(name));
    out->create_ms = created;
    return out->slug && out->name ? VT_OK : VT_ENOMEM;
}

static vt_err_t sq_org_get_by_slug(vt_store_t *vs, const char *slug, vt_arena_t *a, vt_org_t *out) {
    if (!slug)
        return VT_EINVAL;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = prep(vs, ST_ORG_BY_SLUG, &c, &st);
    if (e)
        return e;
    if (bind_cstr(st, 1, slug))
        return bind_fail(st, "org_get_by_slug");
    return query_one(c, st, "org_get_by_slug", a, read_org_cb, out);
}

static vt_err_t sq_org_get_by_id(vt_store_t *vs, int64_t id, vt_arena_t *a, vt_org_t *out) {
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = prep(vs, ST_ORG_BY_ID, &c, &st);
    if (e)
        return e;
    sqlite3_bind_int64(st, 1, id);
    return query_one(c, st, "org_get_by_id", a, read_org_cb, out);
}

static vt_err_t sq_org_list(vt_store_t *vs, vt_arena_t *a, vt_org_t **out, size_t *n) {
    *out = NULL;
    *n = 0;
    sq_conn_t *c;
    sqlite3_stmt *st;
    void *rows;
    bool more;
    vt_err_t e = prep(vs, ST_ORG_LIST, &c, &st);
    if (e || (e = read_list(c, st, "org_list", SIZE_MAX, a, read_org_cb, sizeof(vt_org_t), &rows,
                            n, &more)))
        return e;
    *out = rows;
    return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Keys                                                                                     */
/* ---------------------------------------------------------------------------------------- */

static void read_key(vt_arena_t *a, sqlite3_stmt *st, vt_key_t *k, bool *oom) {
    k->id = sqlite3_column_int64(st, 0);
    k->org_id = sqlite3_column_int64(st, 1);
    k->prefix = col_cstr(a, st, 2, oom);
    k->name = col_cstr(a, st, 3, oom);
    col_blob(st, 4, k->hash, sizeof k->hash);
    k->scopes = (uint32_t)sqlite3_column_int64(st, 5);
    k->create_ms = sqlite3_column_int64(st, 6);
    k->revoke_ms = sqlite3_column_int64(st, 7);
}

static void read_key_cb(vt_arena_t *a, sqlite3_stmt *st, void *out, bool *oom) {
    read_key(a, st, out, oom);
}

static vt_err_t sq_key_create(vt_store_t *vs, const vt_key_t *k, int64_t *id_out) {
    if (!k->prefix || !*k->prefix)
        return VT_EINVAL;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = prep(vs, ST_KEY_INSERT, &c, &st);
    if (e)
        return e;
    if (sqlite3_bind_int64(st, 1, k->org_id) | bind_cstr(st, 2, k->prefix) |
        bind_cstr(st, 3, k->name ? k->name : "") |
        sqlite3_bind_blob(st, 4, k->hash, sizeof k->hash, SQLITE_STATIC) |
        sqlite3_bind_int64(st, 5, k->scopes) | sqlite3_bind_int64(st, 6, k->create_ms) |
        sqlite3_bind_int64(st, 7, k->revoke_ms))
        return bind_fail(st, "key_create");
    if ((e = step_done(c, st, "key_create")))
        return e;
    if (id_out)
        *id_out = sqlite3_last_insert_rowid(c->db);
    return VT_OK;
}

static vt_err_t sq_key_find_by_prefix(vt_store_t *vs, const char *prefix, vt_arena_t *a,
                                      vt_key_t *out) {
    if (!prefix)
        return VT_EINVAL;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = prep(vs, ST_KEY_BY_PREFIX, &c, &st);
    if (e)
        return e;
    if (bind_cstr(st, 1, prefix))
        return bind_fail(st, "key_find_by_prefix");
    return query_one(c, st, "key_find_by_prefix", a, read_key_cb, out);
}

static vt_err_t sq_key_list(vt_store_t *vs, int64_t org_id, vt_arena_t *a, vt_key_t **out,
                            size_t *n) {
    *out = NULL;
    *n = 0;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = prep(vs, ST_KEY_LIST, &c, &st);
    if (e)
        return e;
    sqlite3_bind_int64(st, 1, org_id);
    void *rows;
    bool more;
    if ((e = read_list(c, st, "key_list", SIZE_MAX, a, read_key_cb, sizeof(vt_key_t), &rows, n,
                       &more)))
        return e;
    *out = rows;
    return VT_OK;
}

static vt_err_t sq_key_revoke(vt_store_t *vs, const char *prefix, int64_t when_ms) {
    if (!prefix)
        return VT_EINVAL;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = prep(vs, ST_KEY_REVOKE, &c, &st);
    if (e)
        return e;
    if (bind_cstr(st, 1, prefix) | sqlite3_bind_int64(st, 2, when_ms))
        return bind_fail(st, "key_revoke");
    if ((e = step_done(c, st, "key_revoke")))
        return e;
    return sqlite3_changes(c->db) ? VT_OK : VT_ENOTFOUND;
}

/* ---------------------------------------------------------------------------------------- */
/* Runs, simulations, conversations                                                         */
/* ---------------------------------------------------------------------------------------- */

static vt_err_t sq_run_create(vt_store_t *vs, int64_t org_id, const vt_run_t *r) {
    if (!r->run_id || !*r->run_id || !r->status)
        return VT_EINVAL;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = prep(vs, ST_RUN_INSERT, &c, &st);
    if (e)
        return e;
    if (sqlite3_bind_int64(st, 1, org_id) | bind_cstr(st, 2, r->run_id) |
        bind_cstr(st, 3, r->display_name) | bind_cstr(st, 4, r->status) |
        sqlite3_bind_int64(st, 5, r->create_ms) | sqlite3_bind_int64(st, 6, r->update_ms) |
        bind_cstr(st, 7, r->metadata_json) | bind_cstr(st, 8, r->metric_ids_json))
        return bind_fail(st, "run_create");
    return step_done(c, st, "run_create");
}

static void read_run_cb(vt_arena_t *a, sqlite3_stmt *st, void *out, bool *oom) {
    vt_run_t *r = out;
    r->run_id = col_cstr(a, st, 0, oom);
    r->display_name = col_cstr(a, st, 1, oom);
    r->status = col_cstr(a, st, 2, oom);
    r->create_ms = sqlite3_column_int64(st, 3);
    r->update_ms = sqlite3_column_int64(st, 4);
    r->metadata_json = col_cstr(a, st, 5, oom);
    r->metric_ids_json = col_cstr(a, st, 6, oom);
}

static vt_err_t sq_run_get(vt_store_t *vs, int64_t org_id, const char *run_id, vt_arena_t *a,
                           vt_run_t *out) {
    return get_in_org(vs, ST_RUN_GET, "run_get", org_id, run_id, a, read_run_cb, out);
}

/* Runs an existence query (SELECT 1 ... WHERE org_id = ?1 AND <id> = ?2). */
static vt_err_t exists_query(sq_conn_t *c, sq_stmt_id_t id, int64_t org_id, const char *key,
                             bool *exists) {
    sqlite3_stmt *st;
    vt_err_t e = stmt_get(c, id, &st);
    if (e)
        return e;
    if (sqlite3_bind_int64(st, 1, org_id) | bind_cstr(st, 2, key))
        return bind_fail(st, "exists");
    int rc = sqlite3_step(st);
    *exists = rc == SQLITE_ROW;
    e = rc == SQLITE_ROW || rc == SQLITE_DONE ? VT_OK : sq_fail(c, "exists");
    sqlite3_reset(st);
    return e;
}

/* The run check and the insert share one write transaction, so the answer cannot go stale
 * between them. Checking the run first makes a missing run win over a taken id. */
static vt_err_t sq_sim_create(vt_store_t *vs, int64_t org_id, const vt_simulation_t *sim) {
    if (!sim->simulation_id || !*sim->simulation_id || !sim->run_id || !sim->status)
        return VT_EINVAL;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = prep(vs, ST_SIM_INSERT, &c, &st);
    if (e || (e = tx_begin(c, true)))
        return e;
    bool run_exists;
    if ((e = exists_query(c, ST_RUN_EXISTS, org_id, sim->run_id, &run_exists)))
        goto fail;
    if (!run_exists) {
        e = VT_ENOTFOUND;
        goto fail;
    }
    if (sqlite3_bind_int64(st, 1, org_id) | bind_cstr(st, 2, sim->simulation_id) |
        bind_cstr(st, 3, sim->run_id) | bind_cstr(st, 4, sim->status) |
        bind_cstr(st, 5, sim->result) | bind_cstr(st, 6, sim->test_case_id) |
        sqlite3_bind_int64(st, 7, sim->create_ms) | sqlite3_bind_int64(st, 8, sim->update_ms) |
        bind_cstr(st, 9, sim->transcript_json) | bind_cstr(st, 10, sim->metadata_json)) {
        e = bind_fail(st, "sim_create");
        goto fail;
    }
    if ((e = step_done(c, st, "sim_create")) || (e = tx_commit(c)))
        goto fail;
    return VT_OK;

fail:
    tx_rollback(c);
    return e;
}

static void read_sim_cb(vt_arena_t *a, sqlite3_stmt *st, void *out, bool *oom) {
    vt_simulation_t *sim = out;
    sim->simulation_id = col_cstr(a, st, 0, oom);
    sim->run_id = col_cstr(a, st, 1, oom);
    sim->status = col_cstr(a, st, 2, oom);
    sim->result = col_cstr(a, st, 3, oom);
    sim->test_case_id = col_cstr(a, st, 4, oom);
    sim->create_ms = sqlite3_column_int64(st, 5);
    sim->update_ms = sqlite3_column_int64(st, 6);
    sim->transcript_json = col_cstr(a, st, 7, oom);
    sim->metadata_json = col_cstr(a, st, 8, oom);
    sim->span_count = sqlite3_column_int64(st, 9);
    sim->duplicate_count = sqlite3_column_int64(st, 10);
}

static vt_err_t sq_sim_get(vt_store_t *vs, int64_t org_id, const char *sim_id, vt_arena_t *a,
                           vt_simulation_t *out) {
    return get_in_org(vs, ST_SIM_GET, "sim_get", org_id, sim_id, a, read_sim_cb, out);
}

static vt_err_t sq_conv_create(vt_store_t *vs, int64_t org_id, const vt_conversation_t *cv) {
    if (!cv->conversation_id || !*cv->conversation_id || !cv->status)
        return VT_EINVAL;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = prep(vs, ST_CONV_INSERT, &c, &st);
    if (e)
        return e;
    if (sqlite3_bind_int64(st, 1, org_id) | bind_cstr(st, 2, cv->conversation_id) |
        bind_cstr(st, 3, cv->status) | sqlite3_bind_int64(st, 4, cv->create_ms) |
        sqlite3_bind_int64(st, 5, cv->update_ms) | bind_cstr(st, 6, cv->external_conversation_id) |
        bind_cstr(st, 7, cv->agent_id) | bind_cstr(st, 8, cv->occurred_at) |
        bind_cstr(st, 9, cv->doc_json))
        return bind_fail(st, "conv_create");
    return step_done(c, st, "conv_create");
}

static void read_conv_cb(vt_arena_t *a, sqlite3_stmt *st, void *out, bool *oom) {
    vt_conversation_t *cv = out;
    cv->conversation_id = col_cstr(a, st, 0, oom);
    cv->status = col_cstr(a, st, 1, oom);
    cv->create_ms = sqlite3_column_int64(st, 2);
    cv->update_ms = sqlite3_column_int64(st, 3);
    cv->external_conversation_id = col_cstr(a, st, 4, oom);
    cv->agent_id = col_cstr(a, st, 5, oom);
    cv->occurred_at = col_cstr(a, st, 6, oom);
    cv->doc_json = col_cstr(a, st, 7, oom);
    cv->span_count = sqlite3_column_int64(st, 8);
    cv->duplicate_count = sqlite3_column_int64(st, 9);
}

static vt_err_t sq_conv_get(vt_store_t *vs, int64_t org_id, const char *conv_id, vt_arena_t *a,
                            vt_conversation_t *out) {
    return get_in_org(vs, ST_CONV_GET, "conv_get", org_id, conv_id, a, read_conv_cb, out);
}

static vt_err_t sq_target_exists(vt_store_t *vs, int64_t org_id, vt_target_kind_t kind,
                                 const char *id, bool *exists) {
    *exists = false;
    if (!id || !kind_valid(kind))
        return VT_EINVAL;
    sq_conn_t *c;
    vt_err_t e = conn_get((sq_store_t *)vs, &c);
    if (e)
        return e;
    return exists_query(c, kind == VT_TARGET_SIMULATION ? ST_SIM_EXISTS : ST_CONV_EXISTS, org_id,
                        id, exists);
}

/* ---------------------------------------------------------------------------------------- */
/* Lists, updates, deletes                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* Keyset paging. A page ends at its last row and the next page starts strictly after that row
 * in the list's order, so rows created or deleted between two pages cause neither repeats nor
 * gaps among the others (offsets would shift). Cursors: the run list's is the last run id;
 * the simulation and conversation lists' is "<create_ms>:<id>", the decimal time, a colon,
 * then the id verbatim. A list asks for one row more than the page to learn whether a next
 * page exists, so the last page never hands out a cursor to an empty one. */

static vt_err_t page_size_of(const vt_page_t *pg, size_t *out) {
    if (!pg || pg->page_size == 0 || (pg->after && !*pg->after))
        return VT_EINVAL;
    *out = VT_MIN(pg->page_size, (size_t)SQ_LIST_MAX);
    return VT_OK;
}

/* Parses "<create_ms>:<id>": an optional minus sign, decimal digits in int64 range, a colon and
 * a non-empty id. *id points into cur. */
static bool cursor_parse(const char *cur, int64_t *ms, const char **id) {
    const char *p = cur;
    bool neg = *p == '-';
    if (neg)
        p++;
    if (*p < '0' || *p > '9')
        return false;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (*p != ':' || !p[1])
        return false;
    *ms = !neg ? (int64_t)v : v == 0 ? 0 : -(int64_t)(v - 1) - 1;
    *id = p + 1;
    return true;
}

static const char *cursor_make(vt_arena_t *a, int64_t ms, const char *id) {
    return vt_arena_printf(a, "%lld:%s", (long long)ms, id);
}

static vt_err_t sq_run_list(vt_store_t *vs, int64_t org_id, const vt_page_t *pg, vt_arena_t *a,
                            vt_run_t **out, size_t *n, const char **next) {
    *out = NULL;
    *n = 0;
    *next = NULL;
    size_t page;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = page_size_of(pg, &page);
    if (e || (e = prep(vs, pg->after ? ST_RUN_LIST_AFTER : ST_RUN_LIST, &c, &st)))
        return e;
    if (sqlite3_bind_int64(st, 1, org_id) | sqlite3_bind_int64(st, 2, (sqlite3_int64)page + 1) |
        (pg->after ? bind_cstr(st, 3, pg->after) : SQLITE_OK))
        return bind_fail(st, "run_list");
    void *rows;
    bool more;
    if ((e = read_list(c, st, "run_list", page, a, read_run_cb, sizeof(vt_run_t), &rows, n, &more)))
        return e;
    *out = rows;
    if (more)
        *next = (*out)[*n - 1].run_id;
    return VT_OK;
}

/* Runs a statement with the parameters (?1 org, ?2 key) that returns no rows. */
static vt_err_t exec_keyed(sq_conn_t *c, sq_stmt_id_t id, int64_t org_id, const char *key) {
    sqlite3_stmt *st;
    vt_err_t e = stmt_get(c, id, &st);
    if (e)
        return e;
    if (sqlite3_bind_int64(st, 1, org_id) | bind_cstr(st, 2, key))
        return bind_fail(st, stmt_sql[id]);
    return step_done(c, st, stmt_sql[id]);
}

/* The spans and stats go first, while the simulations that name them still exist; the run
 * goes last and takes its simulations along (ON DELETE CASCADE). A missing run deletes
 * nothing on the way: without the run there are no simulations. */
static vt_err_t sq_run_delete(vt_store_t *vs, int64_t org_id, const char *run_id) {
    static const sq_stmt_id_t steps[] = {ST_RUN_DELETE_SPANS, ST_RUN_DELETE_STATS, ST_RUN_DELETE};
    if (!run_id)
        return VT_EINVAL;
    sq_conn_t *c;
    vt_err_t e = conn_get((sq_store_t *)vs, &c);
    if (e || (e = tx_begin(c, true)))
        return e;
    for (size_t i = 0; i < VT_ARRAY_LEN(steps); i++)
        if ((e = exec_keyed(c, steps[i], org_id, run_id)))
            goto fail;
    if (sqlite3_changes(c->db) == 0) {
        e = VT_ENOTFOUND;
        goto fail;
    }
    if ((e = tx_commit(c)))
        goto fail;
    return VT_OK;

fail:
    tx_rollback(c);
    return e;
}

static void read_count_cb(vt_arena_t *a, sqlite3_stmt *st, void *out, bool *oom) {
    vt_sim_count_t *k = out;
    k->status = col_cstr(a, st, 0, oom);
    k->result = col_cstr(a, st, 1, oom);
    k->count = sqlite3_column_int64(st, 2);
}

/* An unknown run has no simulations and answers an empty list. The pairs are few (the API
 * accepts a handful of statuses and results); SQ_LIST_MAX bounds them all the same. */
static vt_err_t sq_run_sim_counts(vt_store_t *vs, int64_t org_id, const char *run_id, vt_arena_t *a,
                                  vt_sim_count_t **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (!run_id)
        return VT_EINVAL;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = prep(vs, ST_RUN_SIM_COUNTS, &c, &st);
    if (e)
        return e;
    if (sqlite3_bind_int64(st, 1, org_id) | bind_cstr(st, 2, run_id))
        return bind_fail(st, "run_sim_counts");
    void *rows;
    bool more;
    e = read_list(c, st, "run_sim_counts", SQ_LIST_MAX, a, read_count_cb, sizeof(vt_sim_count_t),
                  &rows, n, &more);
    if (!e)
        *out = rows;
    return e;
}

static vt_err_t sq_sim_list(vt_store_t *vs, int64_t org_id, const char *run_id, const vt_page_t *pg,
                            vt_arena_t *a, vt_simulation_t **out, size_t *n, const char **next) {
    *out = NULL;
    *n = 0;
    *next = NULL;
    size_t page;
    int64_t after_ms = 0;
    const char *after_id = NULL;
    vt_err_t e = page_size_of(pg, &page);
    if (e)
        return e;
    if (pg->after && !cursor_parse(pg->after, &after_ms, &after_id))
        return VT_EINVAL;
    sq_stmt_id_t id = run_id ? (pg->after ? ST_SIM_LIST_RUN_AFTER : ST_SIM_LIST_RUN)
                             : (pg->after ? ST_SIM_LIST_AFTER : ST_SIM_LIST);
    sq_conn_t *c;
    sqlite3_stmt *st;
    if ((e = prep(vs, id, &c, &st)))
        return e;
    if (sqlite3_bind_int64(st, 1, org_id) | sqlite3_bind_int64(st, 2, (sqlite3_int64)page + 1) |
        (pg->after ? sqlite3_bind_int64(st, 3, after_ms) | bind_cstr(st, 4, after_id) : SQLITE_OK) |
        (run_id ? bind_cstr(st, 5, run_id) : SQLITE_OK))
        return bind_fail(st, "sim_list");
    void *rows;
    bool more;
    if ((e = read_list(c, st, "sim_list", page, a, read_sim_cb, sizeof(vt_simulation_t), &rows, n,
                       &more)))
        return e;
    *out = rows;
    if (more) {
        const vt_simulation_t *last = &(*out)[*n - 1];
        if (!(*next = cursor_make(a, last->create_ms, last->simulation_id)))
            return VT_ENOMEM;
    }
    return VT_OK;
}

static vt_err_t sq_sim_update(vt_store_t *vs, int64_t org_id, const vt_simulation_t *sim) {
    if (!sim->simulation_id || !sim->status)
        return VT_EINVAL;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = prep(vs, ST_SIM_UPDATE, &c, &st);
    if (e)
        return e;
    if (sqlite3_bind_int64(st, 1, org_id) | bind_cstr(st, 2, sim->simulation_id) |
        bind_cstr(st, 3, sim->status) | bind_cstr(st, 4, sim->result) |
        bind_cstr(st, 5, sim->transcript_json) | bind_cstr(st, 6, sim->metadata_json) |
        sqlite3_bind_int64(st, 7, sim->update_ms))
        return bind_fail(st, "sim_update");
    if ((e = step_done(c, st, "sim_update")))
        return e;
    return sqlite3_changes(c->db) ? VT_OK : VT_ENOTFOUND;
}

/* Deletes a simulation or conversation row, then its spans and stats, in one transaction. */
static vt_err_t delete_target(vt_store_t *vs, int64_t org_id, vt_target_kind_t kind,
                              const char *id) {
    static const sq_stmt_id_t hanging[] = {ST_TARGET_DELETE_SPANS, ST_TARGET_DELETE_STATS};
    if (!id)
        return VT_EINVAL;
    sq_conn_t *c;
    vt_err_t e = conn_get((sq_store_t *)vs, &c);
    if (e || (e = tx_begin(c, true)))
        return e;
    if ((e = exec_keyed(c, kind == VT_TARGET_SIMULATION ? ST_SIM_DELETE : ST_CONV_DELETE, org_id,
                        id)))
        goto fail;
    if (sqlite3_changes(c->db) == 0) {
        e = VT_ENOTFOUND;
        goto fail;
    }
    for (size_t i = 0; i < VT_ARRAY_LEN(hanging); i++) {
        sqlite3_stmt *st;
        if ((e = stmt_get(c, hanging[i], &st)))
            goto fail;
        if (sqlite3_bind_int64(st, 1, org_id) | sqlite3_bind_int(st, 2, (int)kind) |
            bind_cstr(st, 3, id)) {
            e = bind_fail(st, "delete target");
            goto fail;
        }
        if ((e = step_done(c, st, "delete target")))
            goto fail;
    }
    if ((e = tx_commit(c)))
        goto fail;
    return VT_OK;

fail:
    tx_rollback(c);
    return e;
}

static vt_err_t sq_sim_delete(vt_store_t *vs, int64_t org_id, const char *sim_id) {
    return delete_target(vs, org_id, VT_TARGET_SIMULATION, sim_id);
}

static vt_err_t sq_conv_delete(vt_store_t *vs, int64_t org_id, const char *conv_id) {
    return delete_target(vs, org_id, VT_TARGET_CONVERSATION, conv_id);
}

static vt_err_t sq_conv_update(vt_store_t *vs, int64_t org_id, const vt_conversation_t *cv) {
    if (!cv->conversation_id || !cv->status)
        return VT_EINVAL;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = prep(vs, ST_CONV_UPDATE, &c, &st);
    if (e)
        return e;
    if (sqlite3_bind_int64(st, 1, org_id) | bind_cstr(st, 2, cv->conversation_id) |
        bind_cstr(st, 3, cv->status) | sqlite3_bind_int64(st, 4, cv->update_ms) |
        bind_cstr(st, 5, cv->external_conversation_id) | bind_cstr(st, 6, cv->agent_id) |
        bind_cstr(st, 7, cv->occurred_at) | bind_cstr(st, 8, cv->doc_json))
        return bind_fail(st, "conv_update");
    if ((e = step_done(c, st, "conv_update")))
        return e;
    return sqlite3_changes(c->db) ? VT_OK : VT_ENOTFOUND;
}

/* The conversation list has optional conditions, so its SQL depends on the filter's shape: one
 * bit per optional condition, plus the number of metadata filters. Each shape's SQL is put
 * together from fixed fragments whose only variable parts are parameter numbers, prepared on
 * first use and kept per connection like the static statements. The parameters are fixed:
 * ?1 org, ?2 status, ?3 external id, ?4 agent id, ?5/?6 the cursor, ?7 the limit, then
 * ?8 + 2i / ?9 + 2i the key and value of metadata filter i. */
enum {
    SQ_CONV_STATUS = 1u << 0,
    SQ_CONV_EXTERNAL = 1u << 1,
    SQ_CONV_AGENT = 1u << 2,
    SQ_CONV_ASC = 1u << 3,
    SQ_CONV_AFTER = 1u << 4,
};
_Static_assert(SQ_CONV_AFTER < 1u << SQ_CONV_FLAG_BITS, "conv_list flags fit their bits");

static unsigned conv_shape(const vt_conv_filter_t *f, bool after) {
    return (f->status ? SQ_CONV_STATUS : 0u) |
           (f->external_conversation_id ? SQ_CONV_EXTERNAL : 0u) |
           (f->agent_id ? SQ_CONV_AGENT : 0u) | (f->order_asc ? SQ_CONV_ASC : 0u) |
           (after ? SQ_CONV_AFTER : 0u) | (unsigned)f->n_metadata << SQ_CONV_FLAG_BITS;
}

/* A metadata filter matches when metadata has the key and the value's text equals the
 * filter's: strings as they are, integers in decimal, reals as SQLite prints them (2.5,
 * 1000.0), booleans as true/false; null, objects and arrays never match. The key is compared
 * to json_each's unescaped keys rather than looked up with a JSON path: the SQLite of Debian 12
 * (3.40) ends a quoted path label at the first quote, escaped or not, so a path could not reach
 * a key that holds a quote. A document that is not valid JSON has no metadata rather than
 * failing the whole list. */
#define SQ_CONV_META                                                                               \
    " AND EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(c.doc) THEN c.doc END,"             \
    " '$.metadata') m WHERE m.key = ?%u AND CASE WHEN m.type IN ('text', 'integer', 'real')"       \
    " THEN CAST(m.atom AS TEXT) WHEN m.type IN ('true', 'false') THEN m.type END = ?%u)"

static vt_err_t conv_list_stmt(sq_conn_t *c, unsigned shape, sqlite3_stmt **out) {
    if (c->conv_list[shape]) {
        *out = c->conv_list[shape];
        return VT_OK;
    }
    bool asc = shape & SQ_CONV_ASC;
    /* Appends after a failed one are no-ops, so one check at the end covers them all. */
    vt_buf_t sql;
    vt_buf_init(&sql, 8192);
    vt_buf_append_c(&sql, SQ_CONV_SELECT);
    if (shape & SQ_CONV_STATUS)
        vt_buf_append_c(&sql, " AND c.status = ?2");
    if (shape & SQ_CONV_EXTERNAL)
        vt_buf_append_c(&sql, " AND c.external_conversation_id = ?3");
    if (shape & SQ_CONV_AGENT)
        vt_buf_append_c(&sql, " AND c.agent_id = ?4");
    if (shape & SQ_CONV_AFTER)
        vt_buf_append_c(&sql, asc ? " AND (c.create_ms, c.conversation_id) > (?5, ?6)"
                                  : " AND (c.create_ms, c.conversation_id) < (?5, ?6)");
    for (unsigned i = 0; i < shape >> SQ_CONV_FLAG_BITS; i++)
        vt_buf_printf(&sql, SQ_CONV_META, 8 + 2 * i, 9 + 2 * i);
    vt_buf_append_c(&sql, asc ? " ORDER BY c.create_ms, c.conversation_id LIMIT ?7"
                              : " ORDER BY c.create_ms DESC, c.conversation_id DESC LIMIT ?7");
    vt_err_t e = VT_OK;
    if (sql.failed) {
        e = VT_ENOMEM;
    } else if (sqlite3_prepare_v3(c->db, sql.data, (int)sql.len, SQLITE_PREPARE_PERSISTENT,
                                  &c->conv_list[shape], NULL) != SQLITE_OK) {
        c->conv_list[shape] = NULL;
        e = sq_fail(c, "prepare conv_list");
    }
    vt_buf_free(&sql);
    *out = c->conv_list[shape];
    return e;
}

static vt_err_t sq_conv_list(vt_store_t *vs, int64_t org_id, const vt_conv_filter_t *f,
                             const vt_page_t *pg, vt_arena_t *a, vt_conversation_t **out, size_t *n,
                             const char **next) {
    *out = NULL;
    *n = 0;
    *next = NULL;
    static const vt_conv_filter_t none = {0};
    if (!f)
        f = &none;
    size_t page;
    int64_t after_ms = 0;
    const char *after_id = NULL;
    vt_err_t e = page_size_of(pg, &page);
    if (e)
        return e;
    if ((pg->after && !cursor_parse(pg->after, &after_ms, &after_id)) ||
        f->n_metadata > VT_CONV_FILTER_MAX_META)
        return VT_EINVAL;
    for (size_t i = 0; i < f->n_metadata; i++)
        if (!f->metadata[i].key || !f->metadata[i].value)
            return VT_EINVAL;
    sq_conn_t *c;
    sqlite3_stmt *st;
    if ((e = conn_get((sq_store_t *)vs, &c)) ||
        (e = conv_list_stmt(c, conv_shape(f, pg->after != NULL), &st)))
        return e;
    /* Parameters a shape leaves out are below ?7, which every shape has, so binding them is
     * allowed and has no effect. */
    int brc = sqlite3_bind_int64(st, 1, org_id) | bind_cstr(st, 2, f->status) |
              bind_cstr(st, 3, f->external_conversation_id) | bind_cstr(st, 4, f->agent_id) |
              sqlite3_bind_int64(st, 5, after_ms) | bind_cstr(st, 6, after_id) |
              sqlite3_bind_int64(st, 7, (sqlite3_int64)page + 1);
    for (size_t i = 0; i < f->n_metadata; i++)
        brc |= bind_cstr(st, 8 + 2 * (int)i, f->metadata[i].key) |
               bind_cstr(st, 9 + 2 * (int)i, f->metadata[i].value);
    if (brc)
        return bind_fail(st, "conv_list");
    void *rows;
    bool more;
    if ((e = read_list(c, st, "conv_list", page, a, read_conv_cb, sizeof(vt_conversation_t), &rows,
                       n, &more)))
        return e;
    *out = rows;
    if (more) {
        const vt_conversation_t *last = &(*out)[*n - 1];
        if (!(*next = cursor_make(a, last->create_ms, last->conversation_id)))
            return VT_ENOMEM;
    }
    return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Metric definitions                                                                       */
/* ---------------------------------------------------------------------------------------- */

static vt_err_t sq_metric_create(vt_store_t *vs, int64_t org_id, const vt_metric_t *m) {
    if (!m->metric_id || !*m->metric_id || !m->metric_name || !m->metric_type)
        return VT_EINVAL;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = prep(vs, ST_METRIC_INSERT, &c, &st);
    if (e)
        return e;
    if (sqlite3_bind_int64(st, 1, org_id) | bind_cstr(st, 2, m->metric_id) |
        bind_cstr(st, 3, m->metric_name) | bind_cstr(st, 4, m->description) |
        bind_cstr(st, 5, m->metric_type) | bind_cstr(st, 6, m->doc_json) |
        sqlite3_bind_int64(st, 7, m->create_ms) | sqlite3_bind_int64(st, 8, m->update_ms))
        return bind_fail(st, "metric_create");
    return step_done(c, st, "metric_create");
}

static void read_metric_cb(vt_arena_t *a, sqlite3_stmt *st, void *out, bool *oom) {
    vt_metric_t *m = out;
    m->metric_id = col_cstr(a, st, 0, oom);
    m->metric_name = col_cstr(a, st, 1, oom);
    m->description = col_cstr(a, st, 2, oom);
    m->metric_type = col_cstr(a, st, 3, oom);
    m->doc_json = col_cstr(a, st, 4, oom);
    m->create_ms = sqlite3_column_int64(st, 5);
    m->update_ms = sqlite3_column_int64(st, 6);
}

static vt_err_t sq_metric_get(vt_store_t *vs, int64_t org_id, const char *metric_id, vt_arena_t *a,
                              vt_metric_t *out) {
    return get_in_org(vs, ST_METRIC_GET, "metric_get", org_id, metric_id, a, read_metric_cb, out);
}

static vt_err_t sq_metric_list(vt_store_t *vs, int64_t org_id, const vt_page_t *pg, vt_arena_t *a,
                               vt_metric_t **out, size_t *n, const char **next) {
    *out = NULL;
    *n = 0;
    *next = NULL;
    size_t page;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = page_size_of(pg, &page);
    if (e || (e = prep(vs, pg->after ? ST_METRIC_LIST_AFTER : ST_METRIC_LIST, &c, &st)))
        return e;
    if (sqlite3_bind_int64(st, 1, org_id) | sqlite3_bind_int64(st, 2, (sqlite3_int64)page + 1) |
        (pg->after ? bind_cstr(st, 3, pg->after) : SQLITE_OK))
        return bind_fail(st, "metric_list");
    void *rows;
    bool more;
    if ((e = read_list(c, st, "metric_list", page, a, read_metric_cb, sizeof(vt_metric_t), &rows, n,
                       &more)))
        return e;
    *out = rows;
    if (more)
        *next = (*out)[*n - 1].metric_id;
    return VT_OK;
}

static vt_err_t sq_metric_update(vt_store_t *vs, int64_t org_id, const vt_metric_t *m) {
    if (!m->metric_id || !m->metric_name || !m->metric_type)
        return VT_EINVAL;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = prep(vs, ST_METRIC_UPDATE, &c, &st);
    if (e)
        return e;
    if (sqlite3_bind_int64(st, 1, org_id) | bind_cstr(st, 2, m->metric_id) |
        bind_cstr(st, 3, m->metric_name) | bind_cstr(st, 4, m->description) |
        bind_cstr(st, 5, m->metric_type) | bind_cstr(st, 6, m->doc_json) |
        sqlite3_bind_int64(st, 7, m->update_ms))
        return bind_fail(st, "metric_update");
    if ((e = step_done(c, st, "metric_update")))
        return e;
    return sqlite3_changes(c->db) ? VT_OK : VT_ENOTFOUND;
}

static vt_err_t sq_metric_delete(vt_store_t *vs, int64_t org_id, const char *metric_id) {
    if (!metric_id)
        return VT_EINVAL;
    sq_conn_t *c;
    vt_err_t e = conn_get((sq_store_t *)vs, &c);
    if (e || (e = exec_keyed(c, ST_METRIC_DELETE, org_id, metric_id)))
        return e;
    return sqlite3_changes(c->db) ? VT_OK : VT_ENOTFOUND;
}

/* ---------------------------------------------------------------------------------------- */
/* Span writes                                                                              */
/* ---------------------------------------------------------------------------------------- */

/* The row id of a resource or scope JSON text in org `org_id`, inserting it when new. A small
 * per-connection cache answers the common case (the same resource in every request of an
 * agent) without touching the database. Resource and scope rows are never deleted, so a
 * cached id stays valid, with one exception: the caller's transaction is open, and if it is
 * rolled back, dedup_forget must drop the ids this transaction may have cached. */
static vt_err_t dedup_resolve(sq_conn_t *c, int which, int64_t org_id, vt_str_t json, int64_t *id) {
    uint8_t hash[SQ_HASH_LEN];
    uint8_t org_le[8];
    for (int i = 0; i < 8; i++)
        org_le[i] = (uint8_t)((uint64_t)org_id >> (8 * i));
    crypto_generichash_state hs;
    crypto_generichash_init(&hs, NULL, 0, sizeof hash);
    crypto_generichash_update(&hs, org_le, sizeof org_le);
    crypto_generichash_update(&hs, (const unsigned char *)json.p, json.n);
    crypto_generichash_final(&hs, hash, sizeof hash);

    sq_dedup_slot_t *slot = &c->dedup[which][hash[0] & (SQ_DEDUP_SLOTS - 1)];
    if (slot->id && memcmp(slot->hash, hash, sizeof hash) == 0) {
        *id = slot->id;
        return VT_OK;
    }
    bool res = which == SQ_DEDUP_RESOURCE;
    sqlite3_stmt *ins, *sel;
    vt_err_t e;
    if ((e = stmt_get(c, res ? ST_RESOURCE_INSERT : ST_SCOPE_INSERT, &ins)) ||
        (e = stmt_get(c, res ? ST_RESOURCE_ID : ST_SCOPE_ID, &sel)))
        return e;
    if (sqlite3_bind_blob(ins, 1, hash, sizeof hash, SQLITE_STATIC) | bind_str(ins, 2, json))
        return bind_fail(ins, "dedup insert");
    if ((e = step_done(c, ins, "dedup insert")))
        return e;
    sqlite3_bind_blob(sel, 1, hash, sizeof hash, SQLITE_STATIC);
    int rc = sqlite3_step(sel);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(sel, 0);
    else
        e = sq_fail(c, "dedup select");
    sqlite3_reset(sel);
    if (e)
        return e;
    memcpy(slot->hash, hash, sizeof hash);
    slot->id = *id;
    return VT_OK;
}

static void dedup_forget(sq_conn_t *c) {
    memset(c->dedup, 0, sizeof c->dedup);
}

/* The row id for a span's resource or scope index, resolving each index of the batch once.
 * An empty JSON text or a batch without resources/scopes stores NULL. */
static vt_err_t batch_ref(sq_conn_t *c, int which, const vt_span_batch_t *b, int64_t *ids,
                          uint32_t idx, int64_t *out) {
    const vt_str_t *jsons = which == SQ_DEDUP_RESOURCE ? b->resources_json : b->scopes_json;
    uint32_t n = which == SQ_DEDUP_RESOURCE ? b->n_resources : b->n_scopes;
    if (n == 0) {
        *out = -1;
        return VT_OK;
    }
    if (idx >= n) {
        vt_log_error("sqlite: spans_write: %s index %u out of range (%u)",
                     which == SQ_DEDUP_RESOURCE ? "resource" : "scope", idx, n);
        return VT_EINVAL;
    }
    if (ids[idx] == 0) {
        if (jsons[idx].n == 0) {
            ids[idx] = -1;
        } else {
            vt_err_t e = dedup_resolve(c, which, b->org_id, jsons[idx], &ids[idx]);
            if (e)
                return e;
        }
    }
    *out = ids[idx];
    return VT_OK;
}

static int bind_ref(sqlite3_stmt *st, int i, int64_t id) {
    return id > 0 ? sqlite3_bind_int64(st, i, id) : sqlite3_bind_null(st, i);
}

/* Inserts one batch's rows inside the caller's transaction and adds them to the target's
 * stats. The insert statement keeps its bindings across resets, so the target columns are
 * bound once per batch and only the row's own columns per row. */
static vt_err_t write_batch(sq_conn_t *c, vt_span_batch_t *b) {
    sqlite3_stmt *ins, *stats;
    vt_err_t e;
    if ((e = stmt_get(c, ST_SPAN_INSERT, &ins)) || (e = stmt_get(c, ST_STATS_ADD, &stats)))
        return e;

    size_t need = (size_t)b->n_resources + b->n_scopes;
    if (need > c->ids_cap) {
        int64_t *ids = realloc(c->ids, need * sizeof *ids);
        if (!ids)
            return VT_ENOMEM;
        c->ids = ids;
        c->ids_cap = need;
    }
    if (need)
        memset(c->ids, 0, need * sizeof *c->ids);
    int64_t *res_ids = c->ids, *scope_ids = c->ids + b->n_resources;

    /* The handler checked the target before decoding, but it may have been deleted since; checked
     * again inside the write transaction, a deleted target can never leave orphan spans behind. */
    bool exists = false;
    if ((e = exists_query(c, b->kind == VT_TARGET_SIMULATION ? ST_SIM_EXISTS : ST_CONV_EXISTS,
                          b->org_id, b->target_id, &exists)))
        return e;
    if (!exists) {
        b->target_missing = true;
        return VT_OK;
    }

    if (sqlite3_bind_int64(ins, 1, b->org_id) | sqlite3_bind_int(ins, 2, (int)b->kind) |
        bind_cstr(ins, 3, b->target_id))
        return bind_fail(ins, "spans_write");
    for (uint32_t i = 0; i < b->n_rows; i++) {
        const vt_span_row_t *r = &b->rows[i];
        int64_t res_id, scope_id;
        if ((e = batch_ref(c, SQ_DEDUP_RESOURCE, b, res_ids, r->resource_idx, &res_id)) ||
            (e = batch_ref(c, SQ_DEDUP_SCOPE, b, scope_ids, r->scope_idx, &scope_id)))
            return e;
        int brc = sqlite3_bind_blob(ins, 4, r->trace_id, sizeof r->trace_id, SQLITE_STATIC) |
                  sqlite3_bind_blob(ins, 5, r->span_id, sizeof r->span_id, SQLITE_STATIC) |
                  (r->has_parent ? sqlite3_bind_blob(ins, 6, r->parent_span_id,
                                                     sizeof r->parent_span_id, SQLITE_STATIC)
                                 : sqlite3_bind_null(ins, 6)) |
                  bind_str_nonnull(ins, 7, r->name, VT_STR("")) |
                  sqlite3_bind_int(ins, 8, r->kind) |
                  sqlite3_bind_int64(ins, 9, (sqlite3_int64)r->start_ns) |
                  sqlite3_bind_int64(ins, 10, (sqlite3_int64)r->end_ns) |
                  sqlite3_bind_int(ins, 11, r->status_code) | bind_str(ins, 12, r->status_message) |
                  bind_str(ins, 13, r->trace_state) | sqlite3_bind_int64(ins, 14, r->flags) |
                  bind_str_nonnull(ins, 15, r->attributes_json, VT_STR("{}")) |
                  bind_str(ins, 16, r->events_json) | bind_str(ins, 17, r->links_json) |
                  sqlite3_bind_int64(ins, 18, r->dropped_attrs) |
                  sqlite3_bind_int64(ins, 19, r->dropped_events) |
                  sqlite3_bind_int64(ins, 20, r->dropped_links) | bind_ref(ins, 21, res_id) |
                  bind_ref(ins, 22, scope_id) |
                  sqlite3_bind_int64(ins, 23, (sqlite3_int64)r->received_ns);
        if (brc)
            return bind_fail(ins, "spans_write");
        if ((e = step_done(c, ins, "spans_write")))
            return e;
        if (sqlite3_changes(c->db))
            b->inserted++;
        else
            b->duplicates++;
    }
    if (b->n_rows == 0)
        return VT_OK;
    if (sqlite3_bind_int64(stats, 1, b->org_id) | sqlite3_bind_int(stats, 2, (int)b->kind) |
        bind_cstr(stats, 3, b->target_id) | sqlite3_bind_int64(stats, 4, b->inserted) |
        sqlite3_bind_int64(stats, 5, b->duplicates))
        return bind_fail(stats, "spans_write stats");
    return step_done(c, stats, "spans_write stats");
}

/* All batches in one write transaction: the group commit of the ingest writer. */
static vt_err_t sq_spans_write(vt_store_t *vs, vt_span_batch_t *batches, size_t n) {
    for (size_t i = 0; i < n; i++) {
        batches[i].inserted = batches[i].duplicates = 0;
        batches[i].target_missing = false;
        if (!batches[i].target_id || !kind_valid(batches[i].kind) ||
            (batches[i].n_rows && !batches[i].rows))
            return VT_EINVAL;
    }
    if (n == 0)
        return VT_OK;
    sq_conn_t *c;
    vt_err_t e = conn_get((sq_store_t *)vs, &c);
    if (e || (e = tx_begin(c, true)))
        return e;
    for (size_t i = 0; i < n; i++)
        if ((e = write_batch(c, &batches[i])))
            goto fail;
    if ((e = tx_commit(c)))
        goto fail;
    return VT_OK;

fail:
    tx_rollback(c);
    dedup_forget(c);
    for (size_t i = 0; i < n; i++)
        batches[i].inserted = batches[i].duplicates = 0;
    return e;
}

/* ---------------------------------------------------------------------------------------- */
/* Span reads                                                                               */
/* ---------------------------------------------------------------------------------------- */

/* Per-call map from a resource or scope row id to its JSON copied into the caller's arena, so
 * that each distinct one is fetched and copied once, however many spans share it. Open
 * addressing, kept at most half full; it lives in the arena and dies with it. */
typedef struct {
    int64_t *ids; /* 0 = empty slot */
    vt_str_t *json;
    size_t cap; /* power of two */
    size_t len;
    sq_stmt_id_t stmt; /* ST_RESOURCE_JSON or ST_SCOPE_JSON */
} sq_json_map_t;

static size_t map_slot(const sq_json_map_t *m, int64_t id) {
    size_t i = (size_t)((uint64_t)id * 0x9E3779B97F4A7C15u >> 32) & (m->cap - 1);
    while (m->ids[i] && m->ids[i] != id)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static bool map_grow(vt_arena_t *a, sq_json_map_t *m) {
    sq_json_map_t g = *m;
    g.cap = m->cap ? m->cap * 2 : 16;
    g.ids = vt_arena_calloc(a, g.cap, sizeof *g.ids);
    g.json = vt_arena_calloc(a, g.cap, sizeof *g.json);
    if (!g.ids || !g.json)
        return false;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->ids[i]) {
            size_t j = map_slot(&g, m->ids[i]);
            g.ids[j] = m->ids[i];
            g.json[j] = m->json[i];
        }
    }
    *m = g;
    return true;
}

static vt_err_t map_lookup(sq_conn_t *c, vt_arena_t *a, sq_json_map_t *m, int64_t id,
                           vt_str_t *out) {
    if (m->cap && m->ids[map_slot(m, id)] == id) {
        *out = m->json[map_slot(m, id)];
        return VT_OK;
    }
    sqlite3_stmt *st;
    vt_err_t e = stmt_get(c, m->stmt, &st);
    if (e)
        return e;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    bool oom = false;
    vt_str_t json = VT_STR_NULL;
    if (rc == SQLITE_ROW)
        json = col_str(a, st, 0, &oom);
    else if (rc != SQLITE_DONE)
        e = sq_fail(c, "spans_read json");
    sqlite3_reset(st);
    if (e)
        return e;
    if (oom || ((m->len + 1) * 2 > m->cap && !map_grow(a, m)))
        return VT_ENOMEM;
    size_t i = map_slot(m, id);
    m->ids[i] = id;
    m->json[i] = json;
    m->len++;
    *out = json;
    return VT_OK;
}

/* Reads the span columns (SQ_SPAN_COLS) of the current row. The strings are copied into a, or
 * with a NULL arena are views that last until the statement moves on (see col_str). */
static void read_span(vt_arena_t *a, sqlite3_stmt *st, vt_span_row_t *r, bool *oom) {
    memset(r, 0, sizeof *r);
    col_blob(st, 0, r->trace_id, sizeof r->trace_id);
    col_blob(st, 1, r->span_id, sizeof r->span_id);
    r->has_parent = sqlite3_column_type(st, 2) != SQLITE_NULL;
    if (r->has_parent)
        col_blob(st, 2, r->parent_span_id, sizeof r->parent_span_id);
    r->name = col_str(a, st, 3, oom);
    r->kind = sqlite3_column_int(st, 4);
    r->start_ns = (uint64_t)sqlite3_column_int64(st, 5);
    r->end_ns = (uint64_t)sqlite3_column_int64(st, 6);
    r->status_code = sqlite3_column_int(st, 7);
    r->status_message = col_str(a, st, 8, oom);
    r->trace_state = col_str(a, st, 9, oom);
    r->flags = (uint32_t)sqlite3_column_int64(st, 10);
    r->attributes_json = col_str(a, st, 11, oom);
    r->events_json = col_str(a, st, 12, oom);
    r->links_json = col_str(a, st, 13, oom);
    r->dropped_attrs = (uint32_t)sqlite3_column_int64(st, 14);
    r->dropped_events = (uint32_t)sqlite3_column_int64(st, 15);
    r->dropped_links = (uint32_t)sqlite3_column_int64(st, 16);
    r->received_ns = (uint64_t)sqlite3_column_int64(st, 19);
}

/* Reads the rows of one page inside a read transaction (so the total and the rows come from
 * the same snapshot). The output array is sized from the stats row, never from the limit
 * alone, so a huge limit costs nothing. */
static vt_err_t read_page(sq_conn_t *c, int64_t org_id, vt_target_kind_t kind, const char *id,
                          size_t limit, size_t offset, vt_arena_t *a, vt_span_row_t **out,
                          size_t *n, size_t *total) {
    sqlite3_stmt *cnt, *st;
    vt_err_t e;
    if ((e = stmt_get(c, ST_STATS_COUNT, &cnt)) || (e = stmt_get(c, ST_SPANS_READ, &st)))
        return e;
    if (sqlite3_bind_int64(cnt, 1, org_id) | sqlite3_bind_int(cnt, 2, (int)kind) |
        bind_cstr(cnt, 3, id))
        return bind_fail(cnt, "spans_read");
    int rc = sqlite3_step(cnt);
    int64_t count = 0;
    if (rc == SQLITE_ROW)
        count = sqlite3_column_int64(cnt, 0);
    else if (rc != SQLITE_DONE)
        e = sq_fail(c, "spans_read count");
    sqlite3_reset(cnt);
    if (e)
        return e;
    *total = count > 0 ? (size_t)count : 0;
    if (offset >= *total || limit == 0)
        return VT_OK;
    size_t want = VT_MIN(limit, *total - offset);
    vt_span_row_t *rows = vt_arena_calloc(a, want, sizeof *rows);
    if (!rows)
        return VT_ENOMEM;

    if (sqlite3_bind_int64(st, 1, org_id) | sqlite3_bind_int(st, 2, (int)kind) |
        bind_cstr(st, 3, id) | sqlite3_bind_int64(st, 4, (sqlite3_int64)want) |
        sqlite3_bind_int64(st, 5, (sqlite3_int64)offset))
        return bind_fail(st, "spans_read");
    sq_json_map_t resources = {.stmt = ST_RESOURCE_JSON}, scopes = {.stmt = ST_SCOPE_JSON};
    size_t len = 0;
    bool oom = false;
    while (len < want && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        vt_span_row_t *r = &rows[len++];
        read_span(a, st, r, &oom);
        if (oom) {
            e = VT_ENOMEM;
            break;
        }
        if (sqlite3_column_type(st, 17) != SQLITE_NULL &&
            (e = map_lookup(c, a, &resources, sqlite3_column_int64(st, 17), &r->resource_json)))
            break;
        if (sqlite3_column_type(st, 18) != SQLITE_NULL &&
            (e = map_lookup(c, a, &scopes, sqlite3_column_int64(st, 18), &r->scope_json)))
            break;
    }
    if (!e && len < want && rc != SQLITE_DONE)
        e = sq_fail(c, "spans_read");
    sqlite3_reset(st);
    if (e)
        return e;
    *out = rows;
    *n = len;
    return VT_OK;
}

static vt_err_t sq_spans_read(vt_store_t *vs, int64_t org_id, vt_target_kind_t kind, const char *id,
                              size_t limit, size_t offset, vt_arena_t *a, vt_span_row_t **out,
                              size_t *n, size_t *total) {
    *out = NULL;
    *n = 0;
    *total = 0;
    if (!id || !kind_valid(kind))
        return VT_EINVAL;
    if (offset > INT64_MAX)
        offset = INT64_MAX;
    sq_conn_t *c;
    vt_err_t e = conn_get((sq_store_t *)vs, &c);
    if (e || (e = tx_begin(c, false)))
        return e;
    e = read_page(c, org_id, kind, id, limit, offset, a, out, n, total);
    if (!e)
        e = tx_commit(c);
    if (e) {
        tx_rollback(c);
        *out = NULL;
        *n = 0;
        *total = 0;
    }
    return e;
}

/* One ordered read over the statement that fits the filter (see ST_SCAN_*). Rows go to the
 * callback straight from SQLite's buffers, valid until the next step; only the resource and
 * scope texts are copied, once each, into a cache that lives for the call. The statement holds
 * its read snapshot until it is reset, so the scan sees one consistent state of the database
 * however long the callback takes. The callback may use the store, except for spans_scan
 * itself: the scan statement is in use. */
static vt_err_t sq_spans_scan(vt_store_t *vs, int64_t org_id, const vt_span_filter_t *f,
                              vt_span_visit_fn fn, void *ud) {
    if (!f || !fn || (f->kind && !kind_valid(f->kind)) || f->status_code < 0 ||
        (f->run_id && f->kind == VT_TARGET_CONVERSATION) ||
        (f->target_id && !f->kind && !f->run_id))
        return VT_EINVAL;
    sq_stmt_id_t id = f->run_id      ? (f->any_order ? ST_SCAN_RUN_ANY : ST_SCAN_RUN)
                      : f->target_id ? (f->any_order ? ST_SCAN_TARGET_ANY : ST_SCAN_TARGET)
                                     : ST_SCAN_ORG;
    vt_target_kind_t kind = f->run_id ? VT_TARGET_SIMULATION : f->kind;
    /* Start times are unsigned in the API and signed in the table; a bound past INT64_MAX is
     * treated as INT64_MAX. */
    int64_t lo = (int64_t)VT_MIN(f->start_ns_min, (uint64_t)INT64_MAX);
    int64_t hi =
        f->start_ns_max ? (int64_t)VT_MIN(f->start_ns_max, (uint64_t)INT64_MAX) : INT64_MAX;
    sq_conn_t *c;
    sqlite3_stmt *st;
    vt_err_t e = conn_get((sq_store_t *)vs, &c);
    if (e)
        return e;
    if (c->scanning) {
        vt_log_error("sqlite: spans_scan called from its own callback");
        return VT_EINVAL;
    }
    if ((e = stmt_get(c, id, &st)))
        return e;
    if (sqlite3_bind_int64(st, 1, org_id) | sqlite3_bind_int(st, 2, (int)kind) |
        bind_cstr(st, 3, f->target_id) | sqlite3_bind_int64(st, 4, lo) |
        sqlite3_bind_int64(st, 5, hi) | bind_cstr(st, 6, f->name) |
        (f->status_code ? sqlite3_bind_int(st, 7, f->status_code - 1) : sqlite3_bind_null(st, 7)) |
        (f->run_id ? bind_cstr(st, 8, f->run_id) : SQLITE_OK))
        return bind_fail(st, "spans_scan");

    c->scanning = true;
    vt_arena_t cache;
    vt_arena_init(&cache, SQ_SCAN_CACHE_CAP);
    sq_json_map_t resources = {.stmt = ST_RESOURCE_JSON}, scopes = {.stmt = ST_SCOPE_JSON};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        vt_span_row_t r;
        bool oom = false; /* stays false: views allocate nothing */
        read_span(NULL, st, &r, &oom);
        if (sqlite3_column_type(st, 17) != SQLITE_NULL &&
            (e = map_lookup(c, &cache, &resources, sqlite3_column_int64(st, 17), &r.resource_json)))
            break;
        if (sqlite3_column_type(st, 18) != SQLITE_NULL &&
            (e = map_lookup(c, &cache, &scopes, sqlite3_column_int64(st, 18), &r.scope_json)))
            break;
        const char *target = (const char *)sqlite3_column_text(st, 21);
        if ((e = fn(ud, (vt_target_kind_t)sqlite3_column_int(st, 20), target ? target : "", &r)))
            break;
    }
    if (!e && rc != SQLITE_DONE)
        e = sq_fail(c, "spans_scan");
    sqlite3_reset(st);
    vt_arena_free(&cache);
    c->scanning = false;
    return e;
}

/* ---------------------------------------------------------------------------------------- */
/* Open and close                                                                           */
/* ---------------------------------------------------------------------------------------- */

/* Brings the schema to SQ_SCHEMA_VERSION in one write transaction, so two processes starting
 * together (a server and an admin command) cannot both apply a migration. */
static vt_err_t migrate(sq_conn_t *c, char *err, size_t errlen) {
    vt_err_t e = tx_begin(c, true);
    if (e) {
        snprintf(err, errlen, "cannot lock the database for migrations: %s", sqlite3_errmsg(c->db));
        return e;
    }
    sqlite3_stmt *st = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version < 0) {
        snprintf(err, errlen, "cannot read the schema version: %s", sqlite3_errmsg(c->db));
        e = VT_EINTERNAL;
        goto fail;
    }
    if (version > SQ_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "database schema version %d is newer than this voxtrace supports (%d);"
                 " upgrade voxtrace",
                 version, SQ_SCHEMA_VERSION);
        e = VT_EINVAL;
        goto fail;
    }
    for (int v = version; v < SQ_SCHEMA_VERSION; v++) {
        char *msg = NULL;
        if (sqlite3_exec(c->db, migrations[v], NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, errlen, "migration %d failed: %s", v + 1, msg ? msg : "?");
            sqlite3_free(msg);
            e = VT_EINTERNAL;
            goto fail;
        }
    }
    if (version < SQ_SCHEMA_VERSION) {
        /* PRAGMA takes no bound parameters; the value is a compile-time constant. */
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", SQ_SCHEMA_VERSION);
        if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "cannot set the schema version: %s", sqlite3_errmsg(c->db));
            e = VT_EINTERNAL;
            goto fail;
        }
    }
    if ((e = tx_commit(c))) {
        snprintf(err, errlen, "cannot commit migrations: %s", sqlite3_errmsg(c->db));
        goto fail;
    }
    return VT_OK;

fail:
    vt_log_error("sqlite: %s", err);
    tx_rollback(c);
    return e;
}

/* Closes every connection of the store, including those of threads that are still alive
 * (they must not use the store again), then frees the store. Deleting the key keeps the
 * destructor from running later in those threads. */
static void sq_close(vt_store_t *vs) {
    sq_store_t *s = (sq_store_t *)vs;
    if (!s)
        return;
    sq_conn_t *mine = NULL;
    pthread_mutex_lock(&g_conns_mu);
    for (sq_conn_t **pp = &g_conns; *pp;) {
        sq_conn_t *c = *pp;
        if (c->owner == s) {
            *pp = c->next;
            c->next = mine;
            mine = c;
        } else {
            pp = &c->next;
        }
    }
    pthread_mutex_unlock(&g_conns_mu);
    pthread_key_delete(s->key);
    while (mine) {
        sq_conn_t *next = mine->next;
        conn_free(mine);
        mine = next;
    }
    free(s->path);
    free(s);
}

static const vt_store_ops_t sq_ops = {
    .close = sq_close,
    .org_create = sq_org_create,
    .org_get_by_slug = sq_org_get_by_slug,
    .org_get_by_id = sq_org_get_by_id,
    .org_list = sq_org_list,
    .key_create = sq_key_create,
    .key_find_by_prefix = sq_key_find_by_prefix,
    .key_list = sq_key_list,
    .key_revoke = sq_key_revoke,
    .run_create = sq_run_create,
    .run_get = sq_run_get,
    .sim_create = sq_sim_create,
    .sim_get = sq_sim_get,
    .run_list = sq_run_list,
    .run_delete = sq_run_delete,
    .run_sim_counts = sq_run_sim_counts,
    .sim_list = sq_sim_list,
    .sim_update = sq_sim_update,
    .sim_delete = sq_sim_delete,
    .conv_create = sq_conv_create,
    .conv_get = sq_conv_get,
    .conv_list = sq_conv_list,
    .conv_update = sq_conv_update,
    .conv_delete = sq_conv_delete,
    .target_exists = sq_target_exists,
    .spans_write = sq_spans_write,
    .spans_read = sq_spans_read,
    .spans_scan = sq_spans_scan,
    .metric_create = sq_metric_create,
    .metric_get = sq_metric_get,
    .metric_list = sq_metric_list,
    .metric_update = sq_metric_update,
    .metric_delete = sq_metric_delete,
};

vt_err_t vt_store_sqlite_open(const char *path, vt_store_t **out, char *err, size_t errlen) {
    *out = NULL;
    if (!path || !*path) {
        snprintf(err, errlen, "empty SQLite database path");
        return VT_EINVAL;
    }
    if (sodium_init() < 0 || !sqlite3_threadsafe()) {
        snprintf(err, errlen, "libsodium or a thread-safe SQLite is not available");
        return VT_EINTERNAL;
    }
    sq_store_t *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return VT_ENOMEM;
    }
    s->base.ops = &sq_ops;
    if (pthread_key_create(&s->key, conn_thread_exit) != 0) {
        free(s->path);
        free(s);
        snprintf(err, errlen, "no pthread key left");
        return VT_EINTERNAL;
    }
    /* The opening thread's connection runs the migrations and stays as its connection. */
    sq_conn_t *c;
    vt_err_t e = conn_open(s, &c, err, errlen);
    if (e)
        goto fail;
    if ((e = conn_register(c))) {
        snprintf(err, errlen, "cannot register the SQLite connection");
        goto fail;
    }
    if ((e = migrate(c, err, errlen)))
        goto fail;
    *out = &s->base;
    return VT_OK;

fail:
    sq_close(&s->base);
    return e;
}
