/*
 * test_store_sqlite.c - the SQLite store (store_sqlite.c) and the store URL parser (store.c).
 * Each test gets a fresh temporary directory with its own database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otlp/span.h"
#include "store/store.h"

typedef struct {
    char dir[64];
    char db[96];
    vt_store_t *s;
    vt_arena_t a;
    int64_t org;  /* org "acme" */
    int64_t org2; /* org "other" */
} fx_t;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state) {
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/vt_store_test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/t.db", f->dir);
    char err[256] = "";
    assert_int_equal(vt_store_sqlite_open(f->db, &f->s, err, sizeof err), VT_OK);
    vt_arena_init(&f->a, 0);
    vt_org_t o;
    assert_int_equal(f->s->ops->org_create(f->s, "acme", "Acme", &f->a, &o), VT_OK);
    f->org = o.id;
    assert_int_equal(f->s->ops->org_create(f->s, "other", NULL, &f->a, &o), VT_OK);
    f->org2 = o.id;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx_t *f = *state;
    if (f->s)
        f->s->ops->close(f->s);
    vt_arena_free(&f->a);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Runs one SQL query on the database file directly and returns the first column of the first
 * row as an integer (-1 when there is no row). Used to look behind the interface. */
static int64_t sql_int(const char *db, const char *sql) {
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static void make_run(fx_t *f, int64_t org, const char *run_id) {
    vt_run_t r = {.run_id = run_id, .display_name = "run", .status = "RUNNING"};
    assert_int_equal(f->s->ops->run_create(f->s, org, &r), VT_OK);
}

static void make_sim(fx_t *f, int64_t org, const char *run_id, const char *sim_id) {
    vt_simulation_t sim = {.simulation_id = sim_id, .run_id = run_id, .status = "PENDING"};
    assert_int_equal(f->s->ops->sim_create(f->s, org, &sim), VT_OK);
}

/* A span row whose ids are derived from small numbers, so tests can predict the order. */
static vt_span_row_t row(uint8_t trace, uint8_t span, uint64_t start_ns) {
    vt_span_row_t r = {0};
    r.trace_id[15] = trace;
    r.span_id[7] = span;
    r.name = VT_STR("llm");
    r.kind = 1;
    r.start_ns = start_ns;
    r.end_ns = start_ns + 1000;
    r.attributes_json = VT_STR("{\"k\":1}");
    r.received_ns = start_ns + 5000;
    return r;
}

static const vt_str_t res_a = VT_STR("{\"service.name\":\"agent\"}");
static const vt_str_t scope_a = VT_STR("{\"name\":\"pipecat\",\"version\":\"1.0\"}");

static vt_span_batch_t batch(int64_t org, vt_target_kind_t kind, const char *target,
                             const vt_span_row_t *rows, uint32_t n) {
    return (vt_span_batch_t){.org_id = org,
                             .kind = kind,
                             .target_id = target,
                             .rows = rows,
                             .n_rows = n,
                             .resources_json = &res_a,
                             .n_resources = 1,
                             .scopes_json = &scope_a,
                             .n_scopes = 1};
}

/* ---------------------------------------------------------------------------------------- */

static void test_store_open_urls(void **state) {
    fx_t *f = *state;
    char err[256] = "";
    char data[128];
    snprintf(data, sizeof data, "%s/a/b", f->dir);
    vt_store_t *s = NULL;
    assert_int_equal(vt_store_open("sqlite", data, &s, err, sizeof err), VT_OK);
    assert_non_null(s);
    s->ops->close(s);
    struct stat st;
    assert_int_equal(stat(data, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char db[160];
    snprintf(db, sizeof db, "%s/voxtrace.db", data);
    assert_int_equal(access(db, F_OK), 0);
    assert_int_equal(sql_int(db, "PRAGMA user_version"), 3);

    char url[160];
    snprintf(url, sizeof url, "sqlite:%s/explicit.db", f->dir);
    assert_int_equal(vt_store_open(url, NULL, &s, err, sizeof err), VT_OK);
    s->ops->close(s);
    snprintf(db, sizeof db, "%s/explicit.db", f->dir);
    assert_int_equal(access(db, F_OK), 0);

    s = (vt_store_t *)1;
    assert_int_equal(vt_store_open("clickhouse://u:p@localhost:8123/db", data, &s, err, sizeof err),
                     VT_EINVAL);
    assert_null(s);
    assert_non_null(strstr(err, "ClickHouse store is not built yet"));
    assert_int_equal(vt_store_open("postgres://x", data, &s, err, sizeof err), VT_EINVAL);
    assert_non_null(strstr(err, "unknown store URL"));
    assert_int_equal(vt_store_open("sqlite:", data, &s, err, sizeof err), VT_EINVAL);
    assert_int_equal(vt_store_open("sqlite", NULL, &s, err, sizeof err), VT_EINVAL);

    /* A data directory that is a file cannot be used. */
    snprintf(data, sizeof data, "%s/explicit.db", f->dir);
    assert_int_equal(vt_store_open("sqlite", data, &s, err, sizeof err), VT_EINVAL);
    /* A database file in a directory that does not exist fails cleanly. */
    snprintf(url, sizeof url, "sqlite:%s/missing/x.db", f->dir);
    assert_int_equal(vt_store_open(url, NULL, &s, err, sizeof err), VT_EINTERNAL);
    assert_null(s);
}

static void test_orgs(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    vt_org_t o;
    assert_int_equal(s->ops->org_create(s, "acme", "Again", &f->a, &o), VT_EEXIST);
    assert_int_equal(s->ops->org_create(s, "", "x", &f->a, &o), VT_EINVAL);

    assert_int_equal(s->ops->org_get_by_slug(s, "acme", &f->a, &o), VT_OK);
    assert_int_equal(o.id, f->org);
    assert_string_equal(o.name, "Acme");
    assert_true(o.create_ms > 1600000000000);
    assert_int_equal(s->ops->org_get_by_id(s, f->org2, &f->a, &o), VT_OK);
    assert_string_equal(o.slug, "other");
    assert_string_equal(o.name, "other"); /* the name defaults to the slug */
    assert_int_equal(s->ops->org_get_by_slug(s, "nope", &f->a, &o), VT_ENOTFOUND);
    assert_int_equal(s->ops->org_get_by_id(s, 9999, &f->a, &o), VT_ENOTFOUND);

    vt_org_t *list;
    size_t n;
    for (int i = 0; i < 40; i++) {
        char slug[16];
        snprintf(slug, sizeof slug, "org%02d", i);
        assert_int_equal(s->ops->org_create(s, slug, NULL, &f->a, NULL), VT_OK);
    }
    assert_int_equal(s->ops->org_list(s, &f->a, &list, &n), VT_OK);
    assert_int_equal(n, 42);
    assert_string_equal(list[0].slug, "acme");
    assert_string_equal(list[1].slug, "other");
    assert_string_equal(list[41].slug, "org39");
    for (size_t i = 1; i < n; i++)
        assert_true(list[i].id > list[i - 1].id);
}

static void test_keys(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    vt_key_t k = {.org_id = f->org,
                  .prefix = "vtk_abc",
                  .name = "ci",
                  .scopes = VT_SCOPES_ALL,
                  .create_ms = 1000};
    for (int i = 0; i < 32; i++)
        k.hash[i] = (uint8_t)(i * 7);
    int64_t id = 0;
    assert_int_equal(s->ops->key_create(s, &k, &id), VT_OK);
    assert_true(id > 0);
    assert_int_equal(s->ops->key_create(s, &k, &id), VT_EEXIST);
    vt_key_t k2 = {.org_id = f->org2, .prefix = "vtk_xyz", .scopes = VT_SCOPE_READ};
    assert_int_equal(s->ops->key_create(s, &k2, NULL), VT_OK);
    vt_key_t k3 = {.org_id = f->org, .prefix = "vtk_def", .name = "two", .scopes = 1};
    assert_int_equal(s->ops->key_create(s, &k3, NULL), VT_OK);
    /* A key of an org that does not exist violates the foreign key. */
    vt_key_t k4 = {.org_id = 777, .prefix = "vtk_zzz"};
    assert_int_equal(s->ops->key_create(s, &k4, NULL), VT_ENOTFOUND);

    vt_key_t got;
    assert_int_equal(s->ops->key_find_by_prefix(s, "vtk_abc", &f->a, &got), VT_OK);
    assert_int_equal(got.id, id);
    assert_int_equal(got.org_id, f->org);
    assert_string_equal(got.prefix, "vtk_abc");
    assert_string_equal(got.name, "ci");
    assert_memory_equal(got.hash, k.hash, 32);
    assert_int_equal(got.scopes, VT_SCOPES_ALL);
    assert_int_equal(got.create_ms, 1000);
    assert_int_equal(got.revoke_ms, 0);
    assert_int_equal(s->ops->key_find_by_prefix(s, "vtk_nope", &f->a, &got), VT_ENOTFOUND);

    vt_key_t *list;
    size_t n;
    assert_int_equal(s->ops->key_list(s, f->org, &f->a, &list, &n), VT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].prefix, "vtk_abc");
    assert_string_equal(list[1].prefix, "vtk_def");
    assert_int_equal(s->ops->key_list(s, f->org2, &f->a, &list, &n), VT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "");

    assert_int_equal(s->ops->key_revoke(s, "vtk_abc", 5000), VT_OK);
    assert_int_equal(s->ops->key_revoke(s, "vtk_abc", 9000), VT_OK);
    assert_int_equal(s->ops->key_revoke(s, "vtk_nope", 9000), VT_ENOTFOUND);
    /* Revoked keys are still found; the first revocation time stays. */
    assert_int_equal(s->ops->key_find_by_prefix(s, "vtk_abc", &f->a, &got), VT_OK);
    assert_int_equal(got.revoke_ms, 5000);
    assert_int_equal(s->ops->key_find_by_prefix(s, "vtk_def", &f->a, &got), VT_OK);
    assert_int_equal(got.revoke_ms, 0);
}

static void test_runs_and_simulations(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    vt_run_t r = {.run_id = "run1",
                  .display_name = "Nightly",
                  .status = "RUNNING",
                  .create_ms = 10,
                  .update_ms = 20,
                  .metadata_json = "{\"a\":1}",
                  .metric_ids_json = "[\"m1\"]"};
    assert_int_equal(s->ops->run_create(s, f->org, &r), VT_OK);
    assert_int_equal(s->ops->run_create(s, f->org, &r), VT_EEXIST);
    /* The same run id in another org is a different run. */
    vt_run_t r2 = {.run_id = "run1", .display_name = "Theirs", .status = "DONE"};
    assert_int_equal(s->ops->run_create(s, f->org2, &r2), VT_OK);
    assert_int_equal(s->ops->run_create(s, 12345, &r2), VT_ENOTFOUND);
    vt_run_t bad = {.run_id = "x"};
    assert_int_equal(s->ops->run_create(s, f->org, &bad), VT_EINVAL);

    vt_run_t got;
    assert_int_equal(s->ops->run_get(s, f->org, "run1", &f->a, &got), VT_OK);
    assert_string_equal(got.run_id, "run1");
    assert_string_equal(got.display_name, "Nightly");
    assert_string_equal(got.status, "RUNNING");
    assert_int_equal(got.create_ms, 10);
    assert_int_equal(got.update_ms, 20);
    assert_string_equal(got.metadata_json, "{\"a\":1}");
    assert_string_equal(got.metric_ids_json, "[\"m1\"]");
    assert_int_equal(s->ops->run_get(s, f->org2, "run1", &f->a, &got), VT_OK);
    assert_string_equal(got.display_name, "Theirs");
    assert_null(got.metadata_json);
    assert_null(got.metric_ids_json);
    assert_int_equal(s->ops->run_get(s, f->org, "run2", &f->a, &got), VT_ENOTFOUND);

    vt_simulation_t sim = {.simulation_id = "sim1",
                           .run_id = "run1",
                           .status = "PENDING",
                           .test_case_id = "tc1",
                           .create_ms = 30,
                           .update_ms = 40,
                           .transcript_json = "[{\"role\":\"user\"}]",
                           .metadata_json = "{}"};
    assert_int_equal(s->ops->sim_create(s, f->org, &sim), VT_OK);
    assert_int_equal(s->ops->sim_create(s, f->org, &sim), VT_EEXIST);
    /* The run must exist in the same org; a missing run wins over a taken id. */
    vt_simulation_t sim2 = {.simulation_id = "sim2", .run_id = "nope", .status = "PENDING"};
    assert_int_equal(s->ops->sim_create(s, f->org, &sim2), VT_ENOTFOUND);
    sim2.simulation_id = "sim1";
    assert_int_equal(s->ops->sim_create(s, f->org, &sim2), VT_ENOTFOUND);
    make_run(f, f->org2, "only_theirs");
    sim2.simulation_id = "sim3";
    sim2.run_id = "only_theirs";
    assert_int_equal(s->ops->sim_create(s, f->org, &sim2), VT_ENOTFOUND);
    assert_int_equal(s->ops->sim_create(s, f->org2, &sim2), VT_OK);

    vt_simulation_t gs;
    assert_int_equal(s->ops->sim_get(s, f->org, "sim1", &f->a, &gs), VT_OK);
    assert_string_equal(gs.simulation_id, "sim1");
    assert_string_equal(gs.run_id, "run1");
    assert_string_equal(gs.status, "PENDING");
    assert_null(gs.result);
    assert_string_equal(gs.test_case_id, "tc1");
    assert_int_equal(gs.create_ms, 30);
    assert_int_equal(gs.update_ms, 40);
    assert_string_equal(gs.transcript_json, "[{\"role\":\"user\"}]");
    assert_string_equal(gs.metadata_json, "{}");
    assert_int_equal(gs.span_count, 0);
    /* Another org's simulation is not found. */
    assert_int_equal(s->ops->sim_get(s, f->org2, "sim1", &f->a, &gs), VT_ENOTFOUND);
    assert_int_equal(s->ops->sim_get(s, f->org, "sim3", &f->a, &gs), VT_ENOTFOUND);

    bool ex = false;
    assert_int_equal(s->ops->target_exists(s, f->org, VT_TARGET_SIMULATION, "sim1", &ex), VT_OK);
    assert_true(ex);
    assert_int_equal(s->ops->target_exists(s, f->org2, VT_TARGET_SIMULATION, "sim1", &ex), VT_OK);
    assert_false(ex);
    assert_int_equal(s->ops->target_exists(s, f->org, VT_TARGET_CONVERSATION, "sim1", &ex), VT_OK);
    assert_false(ex);
    assert_int_equal(s->ops->target_exists(s, f->org, 7, "sim1", &ex), VT_EINVAL);
}

static void test_conversations(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    vt_conversation_t c = {.conversation_id = "conv1",
                           .status = "PENDING",
                           .create_ms = 5,
                           .update_ms = 6,
                           .external_conversation_id = "ext-9",
                           .agent_id = "agent-1",
                           .occurred_at = "2024-01-01T00:00:00Z",
                           .doc_json = "{\"tags\":[\"a\"]}"};
    assert_int_equal(s->ops->conv_create(s, f->org, &c), VT_OK);
    assert_int_equal(s->ops->conv_create(s, f->org, &c), VT_EEXIST);
    vt_conversation_t c2 = {.conversation_id = "conv1", .status = "DONE"};
    assert_int_equal(s->ops->conv_create(s, f->org2, &c2), VT_OK);

    vt_conversation_t g;
    assert_int_equal(s->ops->conv_get(s, f->org, "conv1", &f->a, &g), VT_OK);
    assert_string_equal(g.conversation_id, "conv1");
    assert_string_equal(g.status, "PENDING");
    assert_int_equal(g.create_ms, 5);
    assert_int_equal(g.update_ms, 6);
    assert_string_equal(g.external_conversation_id, "ext-9");
    assert_string_equal(g.agent_id, "agent-1");
    assert_string_equal(g.occurred_at, "2024-01-01T00:00:00Z");
    assert_string_equal(g.doc_json, "{\"tags\":[\"a\"]}");
    assert_int_equal(g.span_count, 0);
    assert_int_equal(s->ops->conv_get(s, f->org2, "conv1", &f->a, &g), VT_OK);
    assert_string_equal(g.status, "DONE");
    assert_null(g.external_conversation_id);
    assert_null(g.doc_json);
    assert_int_equal(s->ops->conv_get(s, f->org, "conv2", &f->a, &g), VT_ENOTFOUND);

    bool ex = false;
    assert_int_equal(s->ops->target_exists(s, f->org, VT_TARGET_CONVERSATION, "conv1", &ex), VT_OK);
    assert_true(ex);
    assert_int_equal(s->ops->target_exists(s, f->org, VT_TARGET_CONVERSATION, "conv2", &ex), VT_OK);
    assert_false(ex);

    /* Span counts come from the stats the span writes keep. */
    vt_span_row_t rows[3] = {row(1, 1, 100), row(1, 2, 200), row(1, 1, 100)};
    vt_span_batch_t b = batch(f->org, VT_TARGET_CONVERSATION, "conv1", rows, 3);
    assert_int_equal(s->ops->spans_write(s, &b, 1), VT_OK);
    assert_int_equal(s->ops->conv_get(s, f->org, "conv1", &f->a, &g), VT_OK);
    assert_int_equal(g.span_count, 2);
    assert_int_equal(s->ops->conv_get(s, f->org2, "conv1", &f->a, &g), VT_OK);
    assert_int_equal(g.span_count, 0);
}

static void test_spans_roundtrip(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    make_run(f, f->org, "r");
    make_sim(f, f->org, "r", "sim");

    vt_span_row_t rows[2] = {row(9, 1, 1000), row(9, 2, 2000)};
    rows[1].has_parent = true;
    rows[1].parent_span_id[7] = 1;
    rows[1].name = VT_STR("tts");
    rows[1].kind = 3;
    rows[1].status_code = 2;
    rows[1].status_message = VT_STR("boom");
    rows[1].trace_state = VT_STR("k=v");
    rows[1].flags = 0x301;
    rows[1].attributes_json = VT_STR("{\"text\":\"hi\",\"n\":2.5}");
    rows[1].events_json = VT_STR("[{\"name\":\"e\",\"time_unix_nano\":\"5\",\"attributes\":{}}]");
    rows[1].links_json = VT_STR("[{\"trace_id\":\"00\",\"span_id\":\"01\",\"attributes\":{}}]");
    rows[1].dropped_attrs = 3;
    rows[1].dropped_events = 4;
    rows[1].dropped_links = 5;
    rows[1].end_ns = UINT64_C(1700000000000000000);
    rows[0].attributes_json = VT_STR_NULL; /* stored as an empty object */
    rows[0].name = VT_STR_NULL;            /* invalid upstream, but must not fail the write */
    vt_span_batch_t b = batch(f->org, VT_TARGET_SIMULATION, "sim", rows, 2);
    assert_int_equal(s->ops->spans_write(s, &b, 1), VT_OK);
    assert_int_equal(b.inserted, 2);
    assert_int_equal(b.duplicates, 0);

    vt_span_row_t *out;
    size_t n, total;
    assert_int_equal(
        s->ops->spans_read(s, f->org, VT_TARGET_SIMULATION, "sim", 50, 0, &f->a, &out, &n, &total),
        VT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(total, 2);
    assert_false(out[0].has_parent);
    assert_int_equal(out[0].name.n, 0);
    assert_string_equal(out[0].attributes_json.p, "{}");
    assert_null(out[0].events_json.p);
    assert_int_equal(out[0].events_json.n, 0);
    assert_int_equal(out[0].links_json.n, 0);
    assert_int_equal(out[0].status_message.n, 0);

    const vt_span_row_t *r = &out[1];
    assert_memory_equal(r->trace_id, rows[1].trace_id, 16);
    assert_memory_equal(r->span_id, rows[1].span_id, 8);
    assert_true(r->has_parent);
    assert_memory_equal(r->parent_span_id, rows[1].parent_span_id, 8);
    assert_true(vt_str_eq_c(r->name, "tts"));
    assert_int_equal(r->kind, 3);
    assert_int_equal(r->start_ns, 2000);
    assert_true(r->end_ns == UINT64_C(1700000000000000000));
    assert_int_equal(r->status_code, 2);
    assert_true(vt_str_eq_c(r->status_message, "boom"));
    assert_true(vt_str_eq_c(r->trace_state, "k=v"));
    assert_int_equal(r->flags, 0x301);
    assert_true(vt_str_eq(r->attributes_json, rows[1].attributes_json));
    assert_true(vt_str_eq(r->events_json, rows[1].events_json));
    assert_true(vt_str_eq(r->links_json, rows[1].links_json));
    assert_int_equal(r->dropped_attrs, 3);
    assert_int_equal(r->dropped_events, 4);
    assert_int_equal(r->dropped_links, 5);
    assert_int_equal(r->received_ns, 7000);
    assert_true(vt_str_eq(r->resource_json, res_a));
    assert_true(vt_str_eq(r->scope_json, scope_a));
    /* Rows sharing a resource share one arena copy of it. */
    assert_ptr_equal(out[0].resource_json.p, out[1].resource_json.p);

    vt_simulation_t sim;
    assert_int_equal(s->ops->sim_get(s, f->org, "sim", &f->a, &sim), VT_OK);
    assert_int_equal(sim.span_count, 2);
}

static void test_spans_duplicates_and_batches(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    make_run(f, f->org, "r");
    make_sim(f, f->org, "r", "a");
    make_sim(f, f->org, "r", "b");

    /* One call, three batches: a duplicate inside batch 0, batch 1 re-sends a span of batch 0,
     * batch 2 goes to another simulation with the same ids (not duplicates there). */
    vt_span_row_t r0[3] = {row(1, 1, 10), row(1, 2, 20), row(1, 1, 10)};
    vt_span_row_t r1[2] = {row(1, 2, 20), row(1, 3, 30)};
    vt_span_row_t r2[2] = {row(1, 1, 10), row(1, 2, 20)};
    vt_span_batch_t b[3] = {batch(f->org, VT_TARGET_SIMULATION, "a", r0, 3),
                            batch(f->org, VT_TARGET_SIMULATION, "a", r1, 2),
                            batch(f->org, VT_TARGET_SIMULATION, "b", r2, 2)};
    assert_int_equal(s->ops->spans_write(s, b, 3), VT_OK);
    assert_int_equal(b[0].inserted, 2);
    assert_int_equal(b[0].duplicates, 1);
    assert_int_equal(b[1].inserted, 1);
    assert_int_equal(b[1].duplicates, 1);
    assert_int_equal(b[2].inserted, 2);
    assert_int_equal(b[2].duplicates, 0);

    /* Across calls: everything is a duplicate now. */
    vt_span_batch_t again = batch(f->org, VT_TARGET_SIMULATION, "a", r0, 3);
    assert_int_equal(s->ops->spans_write(s, &again, 1), VT_OK);
    assert_int_equal(again.inserted, 0);
    assert_int_equal(again.duplicates, 3);

    vt_simulation_t sim;
    assert_int_equal(s->ops->sim_get(s, f->org, "a", &f->a, &sim), VT_OK);
    assert_int_equal(sim.span_count, 3);
    assert_int_equal(s->ops->sim_get(s, f->org, "b", &f->a, &sim), VT_OK);
    assert_int_equal(sim.span_count, 2);
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT duplicate_count FROM target_stats WHERE org_id = %lld AND target_id = 'a'",
             (long long)f->org);
    assert_int_equal(sql_int(f->db, sql), 5);

    /* Writing nothing is fine. */
    assert_int_equal(s->ops->spans_write(s, NULL, 0), VT_OK);
    vt_span_batch_t empty = batch(f->org, VT_TARGET_SIMULATION, "a", NULL, 0);
    assert_int_equal(s->ops->spans_write(s, &empty, 1), VT_OK);
    assert_int_equal(empty.inserted, 0);
}

static void test_spans_read_order_and_paging(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    make_run(f, f->org, "r");
    make_sim(f, f->org, "r", "sim");
    /* Ties on start time are ordered by trace id, then span id. */
    vt_span_row_t rows[6] = {row(2, 1, 300), row(1, 9, 300), row(1, 2, 300),
                             row(5, 5, 100), row(3, 3, 200), row(4, 4, 400)};
    vt_span_batch_t b = batch(f->org, VT_TARGET_SIMULATION, "sim", rows, 6);
    assert_int_equal(s->ops->spans_write(s, &b, 1), VT_OK);
    static const uint8_t want_trace[6] = {5, 3, 1, 1, 2, 4};
    static const uint8_t want_span[6] = {5, 3, 2, 9, 1, 4};

    vt_span_row_t *out;
    size_t n, total;
    assert_int_equal(
        s->ops->spans_read(s, f->org, VT_TARGET_SIMULATION, "sim", 100, 0, &f->a, &out, &n, &total),
        VT_OK);
    assert_int_equal(n, 6);
    assert_int_equal(total, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(out[i].trace_id[15], want_trace[i]);
        assert_int_equal(out[i].span_id[7], want_span[i]);
    }
    /* Pages of 4: the second page holds the last two. */
    assert_int_equal(
        s->ops->spans_read(s, f->org, VT_TARGET_SIMULATION, "sim", 4, 0, &f->a, &out, &n, &total),
        VT_OK);
    assert_int_equal(n, 4);
    assert_int_equal(total, 6);
    assert_int_equal(out[3].span_id[7], 9);
    assert_int_equal(
        s->ops->spans_read(s, f->org, VT_TARGET_SIMULATION, "sim", 4, 4, &f->a, &out, &n, &total),
        VT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(total, 6);
    assert_int_equal(out[0].trace_id[15], 2);
    assert_int_equal(out[1].trace_id[15], 4);
    assert_int_equal(
        s->ops->spans_read(s, f->org, VT_TARGET_SIMULATION, "sim", 4, 6, &f->a, &out, &n, &total),
        VT_OK);
    assert_int_equal(n, 0);
    assert_int_equal(total, 6);
    assert_int_equal(
        s->ops->spans_read(s, f->org, VT_TARGET_SIMULATION, "sim", 0, 0, &f->a, &out, &n, &total),
        VT_OK);
    assert_int_equal(n, 0);
    assert_int_equal(total, 6);

    /* Another org, another kind, an unknown target: nothing. */
    assert_int_equal(
        s->ops->spans_read(s, f->org2, VT_TARGET_SIMULATION, "sim", 10, 0, &f->a, &out, &n, &total),
        VT_OK);
    assert_int_equal(n, 0);
    assert_int_equal(total, 0);
    assert_int_equal(s->ops->spans_read(s, f->org, VT_TARGET_CONVERSATION, "sim", 10, 0, &f->a,
                                        &out, &n, &total),
                     VT_OK);
    assert_int_equal(total, 0);
    assert_int_equal(s->ops->spans_read(s, f->org, 0, "sim", 10, 0, &f->a, &out, &n, &total),
                     VT_EINVAL);
}

static void test_resource_dedup(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    make_run(f, f->org, "r");
    make_sim(f, f->org, "r", "sim");
    make_sim(f, f->org, "r", "sim2");

    /* Two calls with the same resource and scope, and a third batch with two resources. */
    vt_span_row_t r1[1] = {row(1, 1, 1)};
    vt_span_row_t r2[1] = {row(1, 2, 2)};
    vt_span_batch_t b1 = batch(f->org, VT_TARGET_SIMULATION, "sim", r1, 1);
    vt_span_batch_t b2 = batch(f->org, VT_TARGET_SIMULATION, "sim2", r2, 1);
    assert_int_equal(s->ops->spans_write(s, &b1, 1), VT_OK);
    assert_int_equal(s->ops->spans_write(s, &b2, 1), VT_OK);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM resources"), 1);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM scopes"), 1);

    vt_str_t res2[2] = {VT_STR("{\"service.name\":\"stt\"}"), res_a};
    vt_span_row_t r3[3] = {row(2, 1, 3), row(2, 2, 4), row(2, 3, 5)};
    r3[0].resource_idx = 0;
    r3[1].resource_idx = 1;
    r3[2].resource_idx = 0;
    vt_span_batch_t b3 = batch(f->org, VT_TARGET_SIMULATION, "sim", r3, 3);
    b3.resources_json = res2;
    b3.n_resources = 2;
    assert_int_equal(s->ops->spans_write(s, &b3, 1), VT_OK);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM resources"), 2);

    /* The same JSON in another org gets its own row: orgs never share one. */
    make_run(f, f->org2, "r");
    make_sim(f, f->org2, "r", "sim");
    vt_span_batch_t b4 = batch(f->org2, VT_TARGET_SIMULATION, "sim", r1, 1);
    assert_int_equal(s->ops->spans_write(s, &b4, 1), VT_OK);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM resources"), 3);

    vt_span_row_t *out;
    size_t n, total;
    assert_int_equal(
        s->ops->spans_read(s, f->org, VT_TARGET_SIMULATION, "sim", 10, 0, &f->a, &out, &n, &total),
        VT_OK);
    assert_int_equal(n, 4);
    assert_true(vt_str_eq(out[0].resource_json, res_a));
    assert_true(vt_str_eq(out[1].resource_json, res2[0]));
    assert_true(vt_str_eq(out[2].resource_json, res_a));
    assert_true(vt_str_eq(out[3].resource_json, res2[0]));
    for (size_t i = 0; i < n; i++)
        assert_true(vt_str_eq(out[i].scope_json, scope_a));
    assert_int_equal(
        s->ops->spans_read(s, f->org, VT_TARGET_SIMULATION, "sim2", 10, 0, &f->a, &out, &n, &total),
        VT_OK);
    assert_int_equal(n, 1);
    assert_true(vt_str_eq(out[0].resource_json, res_a));

    /* A batch without resources stores none. */
    vt_span_row_t r5[1] = {row(3, 1, 9)};
    vt_span_batch_t b5 = batch(f->org, VT_TARGET_SIMULATION, "sim2", r5, 1);
    b5.n_resources = 0;
    b5.n_scopes = 0;
    assert_int_equal(s->ops->spans_write(s, &b5, 1), VT_OK);
    assert_int_equal(
        s->ops->spans_read(s, f->org, VT_TARGET_SIMULATION, "sim2", 10, 0, &f->a, &out, &n, &total),
        VT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[1].resource_json.n, 0);
    assert_int_equal(out[1].scope_json.n, 0);
}

static void test_spans_write_rolls_back(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    make_run(f, f->org, "r");
    make_sim(f, f->org, "r", "sim");
    /* A new resource is inserted by the good batch, then the bad batch fails: neither the
     * spans nor the resource may survive, and the next write must not reuse the id the
     * rolled-back resource had. */
    vt_str_t res_new = VT_STR("{\"service.name\":\"new\"}");
    vt_span_row_t good[2] = {row(1, 1, 1), row(1, 2, 2)};
    vt_span_row_t bad[1] = {row(1, 3, 3)};
    bad[0].resource_idx = 5;
    vt_span_batch_t b[2] = {batch(f->org, VT_TARGET_SIMULATION, "sim", good, 2),
                            batch(f->org, VT_TARGET_SIMULATION, "sim", bad, 1)};
    b[0].resources_json = &res_new;
    assert_int_equal(s->ops->spans_write(s, b, 2), VT_EINVAL);
    assert_int_equal(b[0].inserted, 0);
    assert_int_equal(b[1].inserted, 0);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM spans"), 0);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM resources"), 0);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM target_stats"), 0);

    /* An unrelated resource takes the next id; then the rolled-back one is written again. */
    vt_span_row_t other[1] = {row(7, 7, 7)};
    vt_span_batch_t bo = batch(f->org, VT_TARGET_SIMULATION, "sim", other, 1);
    assert_int_equal(s->ops->spans_write(s, &bo, 1), VT_OK);
    b[0].n_rows = 2;
    assert_int_equal(s->ops->spans_write(s, &b[0], 1), VT_OK);
    assert_int_equal(b[0].inserted, 2);

    vt_span_row_t *out;
    size_t n, total;
    assert_int_equal(
        s->ops->spans_read(s, f->org, VT_TARGET_SIMULATION, "sim", 10, 0, &f->a, &out, &n, &total),
        VT_OK);
    assert_int_equal(n, 3);
    assert_int_equal(total, 3);
    assert_true(vt_str_eq(out[0].resource_json, res_new));
    assert_true(vt_str_eq(out[1].resource_json, res_new));
    assert_true(vt_str_eq(out[2].resource_json, res_a));

    /* Invalid batches are refused before anything is written. */
    vt_span_batch_t nokind = batch(f->org, 0, "sim", good, 2);
    assert_int_equal(s->ops->spans_write(s, &nokind, 1), VT_EINVAL);
    vt_span_batch_t noid = batch(f->org, VT_TARGET_SIMULATION, NULL, good, 2);
    assert_int_equal(s->ops->spans_write(s, &noid, 1), VT_EINVAL);
}

static void test_reopen_persists_and_migrations(void **state) {
    fx_t *f = *state;
    make_run(f, f->org, "r");
    make_sim(f, f->org, "r", "sim");
    vt_span_row_t rows[2] = {row(1, 1, 1), row(1, 2, 2)};
    vt_span_batch_t b = batch(f->org, VT_TARGET_SIMULATION, "sim", rows, 2);
    assert_int_equal(f->s->ops->spans_write(f->s, &b, 1), VT_OK);
    f->s->ops->close(f->s);
    f->s = NULL;
    assert_int_equal(sql_int(f->db, "PRAGMA user_version"), 3);
    assert_int_equal(sql_int(f->db, "PRAGMA page_size"), 16384);

    char err[256] = "";
    assert_int_equal(vt_store_sqlite_open(f->db, &f->s, err, sizeof err), VT_OK);
    assert_int_equal(sql_int(f->db, "PRAGMA user_version"), 3);
    vt_org_t o;
    assert_int_equal(f->s->ops->org_get_by_slug(f->s, "acme", &f->a, &o), VT_OK);
    assert_int_equal(o.id, f->org);
    vt_simulation_t sim;
    assert_int_equal(f->s->ops->sim_get(f->s, f->org, "sim", &f->a, &sim), VT_OK);
    assert_int_equal(sim.span_count, 2);
    vt_span_row_t *out;
    size_t n, total;
    assert_int_equal(f->s->ops->spans_read(f->s, f->org, VT_TARGET_SIMULATION, "sim", 10, 0, &f->a,
                                           &out, &n, &total),
                     VT_OK);
    assert_int_equal(n, 2);
    assert_true(vt_str_eq(out[0].resource_json, res_a));
    f->s->ops->close(f->s);
    f->s = NULL;

    /* A database from a newer voxtrace is refused. */
    sqlite3 *h;
    assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    vt_store_t *s = (vt_store_t *)1;
    assert_int_equal(vt_store_sqlite_open(f->db, &s, err, sizeof err), VT_EINVAL);
    assert_null(s);
    assert_non_null(strstr(err, "newer"));
}

/* ---------------------------------------------------------------------------------------- */
/* Lists, updates, deletes                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* Counts rows of a table that belong to one target (or, for simulations, one id). */
static int64_t target_rows(fx_t *f, const char *table, int64_t org, int kind, const char *id) {
    char sql[256];
    snprintf(
        sql, sizeof sql,
        "SELECT count(*) FROM %s WHERE org_id = %lld AND target_kind = %d AND target_id = '%s'",
        table, (long long)org, kind, id);
    return sql_int(f->db, sql);
}

static void write_spans(fx_t *f, int64_t org, vt_target_kind_t kind, const char *id, uint8_t trace,
                        int n) {
    vt_span_row_t rows[16];
    assert_true(n <= 16);
    for (int i = 0; i < n; i++)
        rows[i] = row(trace, (uint8_t)(i + 1), (uint64_t)(1000 * (i + 1)));
    vt_span_batch_t b = batch(org, kind, id, rows, (uint32_t)n);
    assert_int_equal(f->s->ops->spans_write(f->s, &b, 1), VT_OK);
}

static void test_run_list_paging(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    char id[16];
    for (int i = 0; i < 25; i++) {
        snprintf(id, sizeof id, "run%02d", i);
        make_run(f, f->org, id);
    }
    make_run(f, f->org2, "run99");

    /* Pages of 10 rows, newest (highest id) first, each row once. */
    bool seen[25] = {false};
    const char *after = NULL;
    int expect = 24, pages = 0;
    for (;;) {
        vt_page_t pg = {.page_size = 10, .after = after};
        vt_run_t *runs;
        size_t n;
        const char *next;
        assert_int_equal(s->ops->run_list(s, f->org, &pg, &f->a, &runs, &n, &next), VT_OK);
        pages++;
        assert_int_equal(n, pages < 3 ? 10 : 4);
        for (size_t i = 0; i < n; i++) {
            if (expect == 10 && pages > 1)
                expect--; /* deleted after the first page */
            snprintf(id, sizeof id, "run%02d", expect);
            assert_string_equal(runs[i].run_id, id);
            assert_string_equal(runs[i].status, "RUNNING");
            assert_false(seen[expect]);
            seen[expect] = true;
            expect--;
        }
        if (!next)
            break;
        assert_string_equal(next, runs[n - 1].run_id);
        after = next;
        if (pages == 1) {
            /* A run created between pages is newer than the cursor and does not show up
             * later; a run deleted from the next page simply is not there. */
            make_run(f, f->org, "run50");
            assert_int_equal(s->ops->run_delete(s, f->org, "run10"), VT_OK);
            seen[10] = true;
        }
    }
    assert_int_equal(pages, 3);
    assert_int_equal(expect, -1);
    for (int i = 0; i < 25; i++)
        assert_true(seen[i]);

    /* A full last page hands out no cursor; a huge page size is clamped, not overflowed. */
    vt_run_t *runs;
    size_t n;
    const char *next;
    vt_page_t all = {.page_size = 25};
    assert_int_equal(s->ops->run_list(s, f->org, &all, &f->a, &runs, &n, &next), VT_OK);
    assert_int_equal(n, 25); /* 24 of the first ones plus run50 */
    assert_null(next);
    assert_string_equal(runs[0].run_id, "run50");
    vt_page_t huge = {.page_size = SIZE_MAX};
    assert_int_equal(s->ops->run_list(s, f->org, &huge, &f->a, &runs, &n, &next), VT_OK);
    assert_int_equal(n, 25);
    assert_null(next);

    /* The other org sees only its run. */
    assert_int_equal(s->ops->run_list(s, f->org2, &all, &f->a, &runs, &n, &next), VT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(runs[0].run_id, "run99");

    vt_page_t zero = {.page_size = 0};
    assert_int_equal(s->ops->run_list(s, f->org, &zero, &f->a, &runs, &n, &next), VT_EINVAL);
    vt_page_t empty = {.page_size = 5, .after = ""};
    assert_int_equal(s->ops->run_list(s, f->org, &empty, &f->a, &runs, &n, &next), VT_EINVAL);
    assert_int_equal(n, 0);
    assert_null(runs);
}

static void test_run_delete_cascades(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    make_run(f, f->org, "A");
    make_sim(f, f->org, "A", "a1");
    make_sim(f, f->org, "A", "a2");
    make_run(f, f->org, "B");
    make_sim(f, f->org, "B", "b1");
    /* The same ids in the other org. */
    make_run(f, f->org2, "A");
    make_sim(f, f->org2, "A", "a1");
    vt_conversation_t cv = {.conversation_id = "a1", .status = "DONE"};
    assert_int_equal(s->ops->conv_create(s, f->org, &cv), VT_OK);
    write_spans(f, f->org, VT_TARGET_SIMULATION, "a1", 1, 3);
    write_spans(f, f->org, VT_TARGET_SIMULATION, "a2", 2, 2);
    write_spans(f, f->org, VT_TARGET_SIMULATION, "b1", 3, 4);
    write_spans(f, f->org2, VT_TARGET_SIMULATION, "a1", 1, 5);
    write_spans(f, f->org, VT_TARGET_CONVERSATION, "a1", 1, 6);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM spans"), 20);

    assert_int_equal(s->ops->run_delete(s, f->org, "A"), VT_OK);
    vt_run_t r;
    vt_simulation_t sim;
    assert_int_equal(s->ops->run_get(s, f->org, "A", &f->a, &r), VT_ENOTFOUND);
    assert_int_equal(s->ops->sim_get(s, f->org, "a1", &f->a, &sim), VT_ENOTFOUND);
    assert_int_equal(s->ops->sim_get(s, f->org, "a2", &f->a, &sim), VT_ENOTFOUND);
    assert_int_equal(target_rows(f, "spans", f->org, 1, "a1"), 0);
    assert_int_equal(target_rows(f, "spans", f->org, 1, "a2"), 0);
    assert_int_equal(target_rows(f, "target_stats", f->org, 1, "a1"), 0);
    assert_int_equal(target_rows(f, "target_stats", f->org, 1, "a2"), 0);

    /* Untouched: the other run, the other org's run with the same ids, and a conversation
     * that shares a simulation's id. */
    assert_int_equal(s->ops->sim_get(s, f->org, "b1", &f->a, &sim), VT_OK);
    assert_int_equal(sim.span_count, 4);
    assert_int_equal(s->ops->run_get(s, f->org2, "A", &f->a, &r), VT_OK);
    assert_int_equal(s->ops->sim_get(s, f->org2, "a1", &f->a, &sim), VT_OK);
    assert_int_equal(sim.span_count, 5);
    vt_conversation_t gc;
    assert_int_equal(s->ops->conv_get(s, f->org, "a1", &f->a, &gc), VT_OK);
    assert_int_equal(gc.span_count, 6);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM spans"), 15);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM target_stats"), 3);

    assert_int_equal(s->ops->run_delete(s, f->org, "A"), VT_ENOTFOUND);
    assert_int_equal(s->ops->run_delete(s, f->org2, "B"), VT_ENOTFOUND);
    assert_int_equal(s->ops->run_get(s, f->org, "B", &f->a, &r), VT_OK);
    assert_int_equal(s->ops->run_delete(s, f->org, NULL), VT_EINVAL);
}

static void sim_with(fx_t *f, int64_t org, const char *run, const char *id, const char *status,
                     const char *result, int64_t create_ms) {
    vt_simulation_t sim = {.simulation_id = id,
                           .run_id = run,
                           .status = status,
                           .result = result,
                           .create_ms = create_ms,
                           .update_ms = create_ms};
    assert_int_equal(f->s->ops->sim_create(f->s, org, &sim), VT_OK);
}

static void test_run_sim_counts(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    make_run(f, f->org, "r");
    make_run(f, f->org, "other");
    make_run(f, f->org2, "r");
    sim_with(f, f->org, "r", "s1", "COMPLETED", "PASSED", 1);
    sim_with(f, f->org, "r", "s2", "COMPLETED", "PASSED", 2);
    sim_with(f, f->org, "r", "s3", "COMPLETED", "FAILED", 3);
    sim_with(f, f->org, "r", "s4", "IN PROGRESS", NULL, 4);
    sim_with(f, f->org, "r", "s5", "IN PROGRESS", NULL, 5);
    sim_with(f, f->org, "r", "s6", "PENDING", NULL, 6);
    sim_with(f, f->org, "other", "o1", "PENDING", NULL, 7);
    sim_with(f, f->org2, "r", "x1", "PENDING", NULL, 8);

    vt_sim_count_t *k;
    size_t n;
    assert_int_equal(s->ops->run_sim_counts(s, f->org, "r", &f->a, &k, &n), VT_OK);
    assert_int_equal(n, 4);
    assert_string_equal(k[0].status, "COMPLETED");
    assert_string_equal(k[0].result, "FAILED");
    assert_int_equal(k[0].count, 1);
    assert_string_equal(k[1].status, "COMPLETED");
    assert_string_equal(k[1].result, "PASSED");
    assert_int_equal(k[1].count, 2);
    assert_string_equal(k[2].status, "IN PROGRESS");
    assert_null(k[2].result);
    assert_int_equal(k[2].count, 2);
    assert_string_equal(k[3].status, "PENDING");
    assert_int_equal(k[3].count, 1);

    assert_int_equal(s->ops->run_sim_counts(s, f->org2, "r", &f->a, &k, &n), VT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(k[0].count, 1);
    assert_int_equal(s->ops->run_sim_counts(s, f->org, "missing", &f->a, &k, &n), VT_OK);
    assert_int_equal(n, 0);
}

static void test_sim_list(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    make_run(f, f->org, "r1");
    make_run(f, f->org, "r2");
    make_run(f, f->org2, "r1");
    /* Creation times with ties, ids out of creation order: the list order is (create_ms, id). */
    static const struct {
        const char *id, *run;
        int64_t ms;
    } sims[] = {{"k", "r1", 300}, {"b", "r2", 100}, {"z", "r1", 100}, {"a", "r1", 200},
                {"c", "r2", 200}, {"m", "r1", 100}, {"y", "r2", 300}};
    static const char *const order[] = {"b", "m", "z", "a", "c", "k", "y"};
    static const char *const order_r1[] = {"m", "z", "a", "k"};
    for (size_t i = 0; i < VT_ARRAY_LEN(sims); i++)
        sim_with(f, f->org, sims[i].run, sims[i].id, "PENDING", NULL, sims[i].ms);
    sim_with(f, f->org2, "r1", "other", "PENDING", NULL, 150);
    write_spans(f, f->org, VT_TARGET_SIMULATION, "a", 1, 3);
    write_spans(f, f->org, VT_TARGET_SIMULATION, "a", 1, 5); /* 3 duplicates, 2 new */

    for (size_t page = 1; page <= 8; page++) {
        size_t got = 0;
        const char *after = NULL;
        for (;;) {
            vt_page_t pg = {.page_size = page, .after = after};
            vt_simulation_t *out;
            size_t n;
            const char *next;
            assert_int_equal(s->ops->sim_list(s, f->org, NULL, &pg, &f->a, &out, &n, &next), VT_OK);
            assert_true(n <= page);
            for (size_t i = 0; i < n; i++) {
                assert_true(got < VT_ARRAY_LEN(order));
                assert_string_equal(out[i].simulation_id, order[got]);
                if (strcmp(out[i].simulation_id, "a") == 0) {
                    assert_int_equal(out[i].span_count, 5);
                    assert_int_equal(out[i].duplicate_count, 3);
                    assert_int_equal(out[i].create_ms, 200);
                    assert_string_equal(out[i].run_id, "r1");
                } else {
                    assert_int_equal(out[i].span_count, 0);
                    assert_int_equal(out[i].duplicate_count, 0);
                }
                got++;
            }
            if (!next)
                break;
            char want[32];
            snprintf(want, sizeof want, "%lld:%s", (long long)out[n - 1].create_ms,
                     out[n - 1].simulation_id);
            assert_string_equal(next, want);
            after = next;
        }
        assert_int_equal(got, VT_ARRAY_LEN(order));
    }

    /* One run's simulations, two pages. */
    vt_page_t pg = {.page_size = 3};
    vt_simulation_t *out;
    size_t n;
    const char *next;
    assert_int_equal(s->ops->sim_list(s, f->org, "r1", &pg, &f->a, &out, &n, &next), VT_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(out[i].simulation_id, order_r1[i]);
    assert_string_equal(next, "200:a");
    pg.after = next;
    assert_int_equal(s->ops->sim_list(s, f->org, "r1", &pg, &f->a, &out, &n, &next), VT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(out[0].simulation_id, "k");
    assert_null(next);

    /* A cursor is a position, not a row: one made by hand works, a negative time too. */
    pg = (vt_page_t){.page_size = 10, .after = "100:n"};
    assert_int_equal(s->ops->sim_list(s, f->org, NULL, &pg, &f->a, &out, &n, &next), VT_OK);
    assert_int_equal(n, 5);
    assert_string_equal(out[0].simulation_id, "z");
    pg.after = "-9223372036854775808:a";
    assert_int_equal(s->ops->sim_list(s, f->org, NULL, &pg, &f->a, &out, &n, &next), VT_OK);
    assert_int_equal(n, 7);

    /* Org isolation, unknown runs. */
    assert_int_equal(s->ops->sim_list(s, f->org2, NULL, &pg, &f->a, &out, &n, &next), VT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(out[0].simulation_id, "other");
    pg.after = NULL;
    assert_int_equal(s->ops->sim_list(s, f->org2, "r2", &pg, &f->a, &out, &n, &next), VT_OK);
    assert_int_equal(n, 0);
    assert_null(next);

    static const char *const bad[] = {"",
                                      "abc",
                                      "12",
                                      "12:",
                                      ":x",
                                      "-:x",
                                      "+1:x",
                                      " 1:x",
                                      "1x:a",
                                      "9223372036854775808:a",
                                      "-9223372036854775809:a",
                                      "99999999999999999999:x"};
    for (size_t i = 0; i < VT_ARRAY_LEN(bad); i++) {
        pg.after = bad[i];
        assert_int_equal(s->ops->sim_list(s, f->org, NULL, &pg, &f->a, &out, &n, &next), VT_EINVAL);
    }
    pg.after = "9223372036854775807:a";
    assert_int_equal(s->ops->sim_list(s, f->org, NULL, &pg, &f->a, &out, &n, &next), VT_OK);
    assert_int_equal(n, 0);
}

/* A batch for a target deleted after the handler's check stores nothing and says so, while the
 * other batches of the same transaction are stored. */
static void test_spans_write_deleted_target(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    make_run(f, f->org, "r");
    make_sim(f, f->org, "r", "kept");
    make_sim(f, f->org, "r", "gone");
    assert_int_equal(s->ops->sim_delete(s, f->org, "gone"), VT_OK);
    vt_span_row_t rows[2] = {row(1, 1, 100), row(1, 2, 200)};
    vt_span_batch_t b[2] = {batch(f->org, VT_TARGET_SIMULATION, "gone", rows, 2),
                            batch(f->org, VT_TARGET_SIMULATION, "kept", rows, 2)};
    assert_int_equal(s->ops->spans_write(s, b, 2), VT_OK);
    assert_true(b[0].target_missing);
    assert_int_equal(b[0].inserted, 0);
    assert_false(b[1].target_missing);
    assert_int_equal(b[1].inserted, 2);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM spans WHERE target_id = 'gone'"), 0);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM spans WHERE target_id = 'kept'"), 2);
    /* A simulation created again under the same id starts empty. */
    make_sim(f, f->org, "r", "gone");
    vt_simulation_t g;
    assert_int_equal(s->ops->sim_get(s, f->org, "gone", &f->a, &g), VT_OK);
    assert_int_equal(g.span_count, 0);
}

static void test_sim_update_and_delete(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    make_run(f, f->org, "r");
    make_run(f, f->org2, "r");
    vt_simulation_t sim = {.simulation_id = "s1",
                           .run_id = "r",
                           .status = "PENDING",
                           .test_case_id = "tc",
                           .create_ms = 10,
                           .update_ms = 10,
                           .transcript_json = "[]",
                           .metadata_json = "{\"a\":1}"};
    assert_int_equal(s->ops->sim_create(s, f->org, &sim), VT_OK);
    assert_int_equal(s->ops->sim_create(s, f->org2, &sim), VT_OK);
    make_sim(f, f->org, "r", "s2");

    vt_simulation_t up = {.simulation_id = "s1",
                          .run_id = "ignored",
                          .status = "COMPLETED",
                          .result = "PASSED",
                          .test_case_id = "ignored",
                          .create_ms = 999,
                          .update_ms = 50,
                          .transcript_json = "[{\"role\":\"agent\"}]",
                          .metadata_json = NULL};
    assert_int_equal(s->ops->sim_update(s, f->org, &up), VT_OK);
    vt_simulation_t g;
    assert_int_equal(s->ops->sim_get(s, f->org, "s1", &f->a, &g), VT_OK);
    assert_string_equal(g.status, "COMPLETED");
    assert_string_equal(g.result, "PASSED");
    assert_string_equal(g.transcript_json, "[{\"role\":\"agent\"}]");
    assert_null(g.metadata_json);
    assert_int_equal(g.update_ms, 50);
    assert_int_equal(g.create_ms, 10);
    assert_string_equal(g.run_id, "r");
    assert_string_equal(g.test_case_id, "tc");
    /* The other org's simulation with the same id is unchanged. */
    assert_int_equal(s->ops->sim_get(s, f->org2, "s1", &f->a, &g), VT_OK);
    assert_string_equal(g.status, "PENDING");
    assert_null(g.result);
    assert_string_equal(g.metadata_json, "{\"a\":1}");

    up.simulation_id = "nope";
    assert_int_equal(s->ops->sim_update(s, f->org, &up), VT_ENOTFOUND);
    assert_int_equal(s->ops->sim_update(s, 777, &sim), VT_ENOTFOUND);
    up.simulation_id = "s1";
    up.status = NULL;
    assert_int_equal(s->ops->sim_update(s, f->org, &up), VT_EINVAL);

    write_spans(f, f->org, VT_TARGET_SIMULATION, "s1", 1, 4);
    write_spans(f, f->org, VT_TARGET_SIMULATION, "s2", 1, 2);
    write_spans(f, f->org2, VT_TARGET_SIMULATION, "s1", 1, 3);
    assert_int_equal(s->ops->sim_delete(s, f->org, "s1"), VT_OK);
    assert_int_equal(s->ops->sim_get(s, f->org, "s1", &f->a, &g), VT_ENOTFOUND);
    assert_int_equal(target_rows(f, "spans", f->org, 1, "s1"), 0);
    assert_int_equal(target_rows(f, "target_stats", f->org, 1, "s1"), 0);
    assert_int_equal(s->ops->sim_get(s, f->org, "s2", &f->a, &g), VT_OK);
    assert_int_equal(g.span_count, 2);
    assert_int_equal(s->ops->sim_get(s, f->org2, "s1", &f->a, &g), VT_OK);
    assert_int_equal(g.span_count, 3);
    assert_int_equal(target_rows(f, "spans", f->org2, 1, "s1"), 3);
    assert_int_equal(s->ops->sim_delete(s, f->org, "s1"), VT_ENOTFOUND);
    /* Deleting in the wrong org does nothing. */
    assert_int_equal(s->ops->sim_delete(s, f->org2, "s2"), VT_ENOTFOUND);
    assert_int_equal(target_rows(f, "spans", f->org, 1, "s2"), 2);
    /* The run stays and counts what is left. */
    vt_sim_count_t *k;
    size_t n;
    assert_int_equal(s->ops->run_sim_counts(s, f->org, "r", &f->a, &k, &n), VT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(k[0].count, 1);
}

static void conv_with(fx_t *f, int64_t org, const char *id, int64_t ms, const char *status,
                      const char *ext, const char *agent, const char *doc) {
    vt_conversation_t c = {.conversation_id = id,
                           .status = status,
                           .create_ms = ms,
                           .update_ms = ms,
                           .external_conversation_id = ext,
                           .agent_id = agent,
                           .doc_json = doc};
    assert_int_equal(f->s->ops->conv_create(f->s, org, &c), VT_OK);
}

/* Lists every page of a conversation query and writes the ids in order, comma-separated. */
static void conv_ids(fx_t *f, int64_t org, const vt_conv_filter_t *flt, size_t page, char *out,
                     size_t cap) {
    out[0] = 0;
    const char *after = NULL;
    size_t len = 0;
    for (int guard = 0; guard < 100; guard++) {
        vt_page_t pg = {.page_size = page, .after = after};
        vt_conversation_t *cv;
        size_t n;
        const char *next;
        assert_int_equal(f->s->ops->conv_list(f->s, org, flt, &pg, &f->a, &cv, &n, &next), VT_OK);
        assert_true(n <= page);
        for (size_t i = 0; i < n; i++) {
            int w = snprintf(out + len, cap - len, "%s%s", len ? "," : "", cv[i].conversation_id);
            assert_true(w > 0 && (size_t)w < cap - len);
            len += (size_t)w;
        }
        if (!next)
            return;
        assert_true(n == page);
        after = next;
    }
    fail_msg("conversation paging did not end");
}

static void test_conv_list(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    conv_with(f, f->org, "c1", 100, "DONE", "ext-1", "ag-a",
              "{\"metadata\":{\"region\":\"eu\",\"tier\":3,\"score\":2.5,\"vip\":true}}");
    conv_with(f, f->org, "c2", 200, "PENDING", "ext-2", "ag-b",
              "{\"metadata\":{\"region\":\"us\",\"tier\":\"3\",\"vip\":false}}");
    conv_with(
        f, f->org, "c3", 200, "DONE", "ext-1", "ag-a",
        "{\"metadata\":{\"region\":\"eu\",\"say \\\"hi\\\"\":\"yes\",\"back\\\\slash\":\"b\"}}");
    conv_with(f, f->org, "c4", 50, "DONE", NULL, NULL, NULL);
    conv_with(f, f->org, "c5", 300, "DONE", "ext-3", "ag-a", "{\"metadata\":{\"region\":null}}");
    conv_with(f, f->org, "c6", 150, "DONE", "ext-4", "ag-c", "not json");
    conv_with(f, f->org, "c7", 250, "DONE", "ext-5", "ag-c",
              "{\"metadata\":{\"region\":{\"x\":1},\"a.b\":\"dot\",\"caf\\u00e9\":\"u\"}}");
    conv_with(f, f->org2, "c1", 100, "DONE", "ext-1", "ag-a", "{\"metadata\":{\"region\":\"eu\"}}");
    write_spans(f, f->org, VT_TARGET_CONVERSATION, "c3", 1, 2);
    write_spans(f, f->org, VT_TARGET_CONVERSATION, "c3", 1, 2);

    char ids[256];
    /* No filter: newest first by default, ties broken by id; oldest first on request. Every
     * page size gives the same sequence. */
    for (size_t page = 1; page <= 8; page++) {
        conv_ids(f, f->org, NULL, page, ids, sizeof ids);
        assert_string_equal(ids, "c5,c7,c3,c2,c6,c1,c4");
        vt_conv_filter_t asc = {.order_asc = true};
        conv_ids(f, f->org, &asc, page, ids, sizeof ids);
        assert_string_equal(ids, "c4,c1,c6,c2,c3,c7,c5");
    }
    conv_ids(f, f->org2, NULL, 10, ids, sizeof ids);
    assert_string_equal(ids, "c1");

    vt_conv_filter_t flt = {.status = "DONE"};
    conv_ids(f, f->org, &flt, 2, ids, sizeof ids);
    assert_string_equal(ids, "c5,c7,c3,c6,c1,c4");
    flt = (vt_conv_filter_t){.external_conversation_id = "ext-1", .order_asc = true};
    conv_ids(f, f->org, &flt, 1, ids, sizeof ids);
    assert_string_equal(ids, "c1,c3");
    flt = (vt_conv_filter_t){.agent_id = "ag-a", .status = "DONE"};
    conv_ids(f, f->org, &flt, 2, ids, sizeof ids);
    assert_string_equal(ids, "c5,c3,c1");
    flt = (vt_conv_filter_t){.agent_id = "nobody"};
    conv_ids(f, f->org, &flt, 2, ids, sizeof ids);
    assert_string_equal(ids, "");

    /* Metadata: strings as they are, numbers and booleans as their JSON text; null, objects
     * and invalid documents never match. */
    static const struct {
        const char *key, *value, *want;
    } meta[] = {
        {"region", "eu", "c3,c1"},
        {"region", "us", "c2"},
        {"tier", "3", "c2,c1"},
        {"score", "2.5", "c1"},
        {"vip", "true", "c1"},
        {"vip", "false", "c2"},
        {"vip", "1", ""},
        {"region", "null", ""},
        {"region", "{\"x\":1}", ""},
        {"say \"hi\"", "yes", "c3"},
        {"back\\slash", "b", "c3"},
        {"a.b", "dot", "c7"},
        {"caf\xc3\xa9", "u", "c7"},
        {"missing", "eu", ""},
        {"REGION", "eu", ""},
    };
    for (size_t i = 0; i < VT_ARRAY_LEN(meta); i++) {
        flt = (vt_conv_filter_t){.n_metadata = 1};
        flt.metadata[0].key = meta[i].key;
        flt.metadata[0].value = meta[i].value;
        conv_ids(f, f->org, &flt, 1, ids, sizeof ids);
        if (strcmp(ids, meta[i].want) != 0)
            fail_msg("metadata %s=%s: got [%s], want [%s]", meta[i].key, meta[i].value, ids,
                     meta[i].want);
    }
    /* Filters combine with AND, including with the columns. */
    flt = (vt_conv_filter_t){.n_metadata = 2, .order_asc = true};
    flt.metadata[0].key = "region";
    flt.metadata[0].value = "eu";
    flt.metadata[1].key = "say \"hi\"";
    flt.metadata[1].value = "yes";
    conv_ids(f, f->org, &flt, 1, ids, sizeof ids);
    assert_string_equal(ids, "c3");
    flt.n_metadata = 1;
    flt.external_conversation_id = "ext-1";
    conv_ids(f, f->org, &flt, 1, ids, sizeof ids);
    assert_string_equal(ids, "c1,c3");
    /* The most filters a query may have, the same one eight times. */
    flt = (vt_conv_filter_t){.n_metadata = VT_CONV_FILTER_MAX_META};
    for (size_t i = 0; i < VT_CONV_FILTER_MAX_META; i++) {
        flt.metadata[i].key = "region";
        flt.metadata[i].value = "eu";
    }
    conv_ids(f, f->org, &flt, 3, ids, sizeof ids);
    assert_string_equal(ids, "c3,c1");
    /* The other org has its own c1. */
    conv_ids(f, f->org2, &flt, 3, ids, sizeof ids);
    assert_string_equal(ids, "c1");

    /* Span counts come along; the cursor is (create_ms, id). */
    vt_page_t pg = {.page_size = 3};
    vt_conversation_t *cv;
    size_t n;
    const char *next;
    assert_int_equal(s->ops->conv_list(s, f->org, NULL, &pg, &f->a, &cv, &n, &next), VT_OK);
    assert_int_equal(n, 3);
    assert_string_equal(cv[2].conversation_id, "c3");
    assert_int_equal(cv[2].span_count, 2);
    assert_int_equal(cv[2].duplicate_count, 2);
    assert_string_equal(cv[2].external_conversation_id, "ext-1");
    assert_int_equal(cv[0].span_count, 0);
    assert_string_equal(next, "200:c3");

    flt = (vt_conv_filter_t){.n_metadata = VT_CONV_FILTER_MAX_META + 1};
    assert_int_equal(s->ops->conv_list(s, f->org, &flt, &pg, &f->a, &cv, &n, &next), VT_EINVAL);
    flt = (vt_conv_filter_t){.n_metadata = 1};
    flt.metadata[0].key = "region";
    assert_int_equal(s->ops->conv_list(s, f->org, &flt, &pg, &f->a, &cv, &n, &next), VT_EINVAL);
    pg.after = "c3";
    assert_int_equal(s->ops->conv_list(s, f->org, NULL, &pg, &f->a, &cv, &n, &next), VT_EINVAL);
}

static void test_conv_update_and_delete(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    conv_with(f, f->org, "c1", 100, "PENDING", "ext-1", "ag", "{\"metadata\":{}}");
    conv_with(f, f->org, "c2", 100, "PENDING", NULL, NULL, NULL);
    conv_with(f, f->org2, "c1", 100, "PENDING", "ext-1", "ag", NULL);
    vt_conversation_t up = {.conversation_id = "c1",
                            .status = "DONE",
                            .create_ms = 999,
                            .update_ms = 200,
                            .external_conversation_id = NULL,
                            .agent_id = "ag2",
                            .occurred_at = "2024-05-01T00:00:00Z",
                            .doc_json = "{\"audio_url\":\"x\"}"};
    assert_int_equal(s->ops->conv_update(s, f->org, &up), VT_OK);
    vt_conversation_t g;
    assert_int_equal(s->ops->conv_get(s, f->org, "c1", &f->a, &g), VT_OK);
    assert_string_equal(g.status, "DONE");
    assert_int_equal(g.create_ms, 100);
    assert_int_equal(g.update_ms, 200);
    assert_null(g.external_conversation_id);
    assert_string_equal(g.agent_id, "ag2");
    assert_string_equal(g.occurred_at, "2024-05-01T00:00:00Z");
    assert_string_equal(g.doc_json, "{\"audio_url\":\"x\"}");
    assert_int_equal(s->ops->conv_get(s, f->org2, "c1", &f->a, &g), VT_OK);
    assert_string_equal(g.status, "PENDING");
    assert_string_equal(g.external_conversation_id, "ext-1");
    up.conversation_id = "nope";
    assert_int_equal(s->ops->conv_update(s, f->org, &up), VT_ENOTFOUND);
    up.conversation_id = "c1";
    up.status = NULL;
    assert_int_equal(s->ops->conv_update(s, f->org, &up), VT_EINVAL);

    write_spans(f, f->org, VT_TARGET_CONVERSATION, "c1", 1, 3);
    write_spans(f, f->org, VT_TARGET_CONVERSATION, "c2", 1, 2);
    write_spans(f, f->org2, VT_TARGET_CONVERSATION, "c1", 1, 4);
    assert_int_equal(s->ops->conv_delete(s, f->org, "c1"), VT_OK);
    assert_int_equal(s->ops->conv_get(s, f->org, "c1", &f->a, &g), VT_ENOTFOUND);
    assert_int_equal(target_rows(f, "spans", f->org, 2, "c1"), 0);
    assert_int_equal(target_rows(f, "target_stats", f->org, 2, "c1"), 0);
    assert_int_equal(target_rows(f, "spans", f->org, 2, "c2"), 2);
    assert_int_equal(target_rows(f, "spans", f->org2, 2, "c1"), 4);
    assert_int_equal(s->ops->conv_get(s, f->org2, "c1", &f->a, &g), VT_OK);
    assert_int_equal(g.span_count, 4);
    assert_int_equal(s->ops->conv_delete(s, f->org, "c1"), VT_ENOTFOUND);
    assert_int_equal(s->ops->conv_delete(s, f->org2, "c2"), VT_ENOTFOUND);
    assert_int_equal(s->ops->conv_delete(s, f->org, NULL), VT_EINVAL);
}

/* ---------------------------------------------------------------------------------------- */
/* Span scans                                                                               */
/* ---------------------------------------------------------------------------------------- */

#define VISITS_MAX 64

/* What a scan callback saw, in order. */
typedef struct {
    size_t n;
    size_t stop_after; /* 0 = never stop */
    struct {
        vt_target_kind_t kind;
        char target[16];
        uint64_t start_ns;
        uint8_t trace, span;
        char name[16];
        bool has_resource, has_scope;
    } v[VISITS_MAX];
    /* Nested calls made from inside the callback, once. */
    fx_t *f;
    vt_err_t nested_scan;
    vt_err_t nested_get;
} visits_t;

static vt_err_t record_visit(void *ud, vt_target_kind_t kind, const char *target_id,
                             const vt_span_row_t *row_) {
    visits_t *vs = ud;
    if (vs->n >= VISITS_MAX)
        return VT_ELIMIT;
    vs->v[vs->n].kind = kind;
    snprintf(vs->v[vs->n].target, sizeof vs->v[vs->n].target, "%s", target_id);
    vs->v[vs->n].start_ns = row_->start_ns;
    vs->v[vs->n].trace = row_->trace_id[15];
    vs->v[vs->n].span = row_->span_id[7];
    snprintf(vs->v[vs->n].name, sizeof vs->v[vs->n].name, "%.*s", (int)row_->name.n, row_->name.p);
    vs->v[vs->n].has_resource = vt_str_eq(row_->resource_json, res_a);
    vs->v[vs->n].has_scope = vt_str_eq(row_->scope_json, scope_a);
    vs->n++;
    if (vs->f && vs->n == 1) {
        vt_span_filter_t all = {0};
        vs->nested_scan = vs->f->s->ops->spans_scan(vs->f->s, vs->f->org, &all, record_visit, vs);
        vt_simulation_t sim;
        vs->nested_get = vs->f->s->ops->sim_get(vs->f->s, vs->f->org, "s1", &vs->f->a, &sim);
    }
    return vs->stop_after && vs->n == vs->stop_after ? VT_EUNAVAIL : VT_OK;
}

/* Scans with a filter and returns the visits as "target:trace.span" joined by commas. */
static const char *scan(fx_t *f, int64_t org, const vt_span_filter_t *flt, visits_t *vs) {
    memset(vs, 0, sizeof *vs);
    assert_int_equal(f->s->ops->spans_scan(f->s, org, flt, record_visit, vs), VT_OK);
    static char out[1024];
    size_t len = 0;
    out[0] = 0;
    for (size_t i = 0; i < vs->n; i++)
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%s:%u.%u", i ? "," : "",
                                vs->v[i].target, vs->v[i].trace, vs->v[i].span);
    return out;
}

static void test_spans_scan(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    make_run(f, f->org, "r1");
    make_run(f, f->org, "r2");
    make_sim(f, f->org, "r1", "s2");
    make_sim(f, f->org, "r1", "s1");
    make_sim(f, f->org, "r2", "s3");
    conv_with(f, f->org, "c1", 1, "DONE", NULL, NULL, NULL);
    make_run(f, f->org2, "r1");
    make_sim(f, f->org2, "r1", "s1");

    /* Spans written out of time order; names and statuses vary. */
    vt_span_row_t s1[3] = {row(1, 3, 300), row(1, 1, 100), row(1, 2, 200)};
    s1[0].name = VT_STR("tts");
    s1[2].status_code = 2;
    vt_span_row_t s2[2] = {row(2, 2, 150), row(2, 1, 150)}; /* same start: span id decides */
    s2[1].status_code = 2;
    vt_span_row_t s3[1] = {row(3, 1, 50)};
    s3[0].name = VT_STR("tts");
    vt_span_row_t c1[2] = {row(4, 1, 400), row(4, 2, 10)};
    c1[1].status_code = 1;
    vt_span_row_t o1[1] = {row(9, 9, 100)};
    vt_span_batch_t b[5] = {batch(f->org, VT_TARGET_SIMULATION, "s1", s1, 3),
                            batch(f->org, VT_TARGET_SIMULATION, "s2", s2, 2),
                            batch(f->org, VT_TARGET_SIMULATION, "s3", s3, 1),
                            batch(f->org, VT_TARGET_CONVERSATION, "c1", c1, 2),
                            batch(f->org2, VT_TARGET_SIMULATION, "s1", o1, 1)};
    assert_int_equal(s->ops->spans_write(s, b, 5), VT_OK);

    visits_t vs;
    vt_span_filter_t flt = {0};
    /* Everything: by kind, target id, then start time, trace id, span id. */
    assert_string_equal(scan(f, f->org, &flt, &vs), "s1:1.1,s1:1.2,s1:1.3,s2:2.1,s2:2.2,s3:3.1,"
                                                    "c1:4.2,c1:4.1");
    assert_int_equal(vs.v[0].kind, VT_TARGET_SIMULATION);
    assert_int_equal(vs.v[6].kind, VT_TARGET_CONVERSATION);
    assert_int_equal(vs.v[2].start_ns, 300);
    assert_string_equal(vs.v[2].name, "tts");
    for (size_t i = 0; i < vs.n; i++)
        assert_true(vs.v[i].has_resource && vs.v[i].has_scope);

    flt = (vt_span_filter_t){.kind = VT_TARGET_CONVERSATION};
    assert_string_equal(scan(f, f->org, &flt, &vs), "c1:4.2,c1:4.1");
    flt = (vt_span_filter_t){.kind = VT_TARGET_SIMULATION};
    assert_string_equal(scan(f, f->org, &flt, &vs), "s1:1.1,s1:1.2,s1:1.3,s2:2.1,s2:2.2,s3:3.1");
    flt = (vt_span_filter_t){.kind = VT_TARGET_SIMULATION, .target_id = "s2"};
    assert_string_equal(scan(f, f->org, &flt, &vs), "s2:2.1,s2:2.2");
    flt = (vt_span_filter_t){.kind = VT_TARGET_CONVERSATION, .target_id = "s2"};
    assert_string_equal(scan(f, f->org, &flt, &vs), "");
    flt = (vt_span_filter_t){.run_id = "r1"};
    assert_string_equal(scan(f, f->org, &flt, &vs), "s1:1.1,s1:1.2,s1:1.3,s2:2.1,s2:2.2");
    flt = (vt_span_filter_t){.run_id = "r1", .kind = VT_TARGET_SIMULATION, .target_id = "s2"};
    assert_string_equal(scan(f, f->org, &flt, &vs), "s2:2.1,s2:2.2");
    flt = (vt_span_filter_t){.run_id = "r1", .target_id = "s3"};
    assert_string_equal(scan(f, f->org, &flt, &vs), "");
    flt = (vt_span_filter_t){.run_id = "r2"};
    assert_string_equal(scan(f, f->org, &flt, &vs), "s3:3.1");
    flt = (vt_span_filter_t){.run_id = "nope"};
    assert_string_equal(scan(f, f->org, &flt, &vs), "");

    /* Time bounds are inclusive; max 0 is unbounded. */
    flt = (vt_span_filter_t){.start_ns_min = 150, .start_ns_max = 300};
    assert_string_equal(scan(f, f->org, &flt, &vs), "s1:1.2,s1:1.3,s2:2.1,s2:2.2");
    flt = (vt_span_filter_t){.start_ns_min = 301};
    assert_string_equal(scan(f, f->org, &flt, &vs), "c1:4.1");
    flt = (vt_span_filter_t){.start_ns_max = 50};
    assert_string_equal(scan(f, f->org, &flt, &vs), "s3:3.1,c1:4.2");
    flt = (vt_span_filter_t){.run_id = "r1", .start_ns_min = 200, .start_ns_max = UINT64_MAX};
    assert_string_equal(scan(f, f->org, &flt, &vs), "s1:1.2,s1:1.3");
    flt = (vt_span_filter_t){.start_ns_min = UINT64_MAX};
    assert_string_equal(scan(f, f->org, &flt, &vs), "");

    flt = (vt_span_filter_t){.name = "tts"};
    assert_string_equal(scan(f, f->org, &flt, &vs), "s1:1.3,s3:3.1");
    flt = (vt_span_filter_t){.status_code = VT_STATUS_ERROR + 1};
    assert_string_equal(scan(f, f->org, &flt, &vs), "s1:1.2,s2:2.1");
    flt = (vt_span_filter_t){.status_code = VT_STATUS_UNSET + 1};
    assert_string_equal(scan(f, f->org, &flt, &vs), "s1:1.1,s1:1.3,s2:2.2,s3:3.1,c1:4.1");
    flt = (vt_span_filter_t){.status_code = VT_STATUS_ERROR + 1,
                             .kind = VT_TARGET_SIMULATION,
                             .target_id = "s1",
                             .name = "llm",
                             .start_ns_min = 200};
    assert_string_equal(scan(f, f->org, &flt, &vs), "s1:1.2");

    /* any_order: targets still come one after the other, each with all of its spans (here in
     * storage order: c1's span 1 starts after span 2), and every filter still applies. */
    flt = (vt_span_filter_t){.kind = VT_TARGET_CONVERSATION, .target_id = "c1", .any_order = true};
    assert_string_equal(scan(f, f->org, &flt, &vs), "c1:4.1,c1:4.2");
    flt = (vt_span_filter_t){
        .kind = VT_TARGET_CONVERSATION, .target_id = "c1", .any_order = true, .start_ns_min = 100};
    assert_string_equal(scan(f, f->org, &flt, &vs), "c1:4.1");
    flt = (vt_span_filter_t){.run_id = "r1", .any_order = true};
    assert_string_equal(scan(f, f->org, &flt, &vs), "s1:1.1,s1:1.2,s1:1.3,s2:2.1,s2:2.2");
    for (size_t i = 0; i < vs.n; i++)
        assert_true(vs.v[i].has_resource && vs.v[i].has_scope);
    flt = (vt_span_filter_t){.run_id = "r1",
                             .any_order = true,
                             .start_ns_min = 200,
                             .name = "llm",
                             .status_code = VT_STATUS_ERROR + 1};
    assert_string_equal(scan(f, f->org, &flt, &vs), "s1:1.2");
    flt = (vt_span_filter_t){.run_id = "r1", .target_id = "s2", .any_order = true};
    assert_string_equal(scan(f, f->org, &flt, &vs), "s2:2.1,s2:2.2");
    flt = (vt_span_filter_t){.run_id = "r1", .any_order = true};
    assert_string_equal(scan(f, f->org2, &flt, &vs), "s1:9.9");

    /* The other org sees only its own span, under the same simulation id. */
    flt = (vt_span_filter_t){0};
    assert_string_equal(scan(f, f->org2, &flt, &vs), "s1:9.9");
    flt = (vt_span_filter_t){.run_id = "r2"};
    assert_string_equal(scan(f, f->org2, &flt, &vs), "");

    /* The callback's non-zero result stops the scan and is returned; the next scan starts
     * afresh. */
    memset(&vs, 0, sizeof vs);
    vs.stop_after = 3;
    flt = (vt_span_filter_t){0};
    assert_int_equal(s->ops->spans_scan(s, f->org, &flt, record_visit, &vs), VT_EUNAVAIL);
    assert_int_equal(vs.n, 3);
    assert_string_equal(scan(f, f->org, &flt, &vs), "s1:1.1,s1:1.2,s1:1.3,s2:2.1,s2:2.2,s3:3.1,"
                                                    "c1:4.2,c1:4.1");

    /* From the callback the store can be read, but not scanned again. */
    memset(&vs, 0, sizeof vs);
    vs.f = f;
    vs.nested_scan = VT_OK;
    vs.nested_get = VT_EINTERNAL;
    flt = (vt_span_filter_t){.kind = VT_TARGET_CONVERSATION};
    assert_int_equal(s->ops->spans_scan(s, f->org, &flt, record_visit, &vs), VT_OK);
    assert_int_equal(vs.n, 2);
    assert_int_equal(vs.nested_scan, VT_EINVAL);
    assert_int_equal(vs.nested_get, VT_OK);

    /* Contradictory or incomplete filters. */
    vt_span_filter_t bad[] = {{.target_id = "s1"},
                              {.kind = 7},
                              {.run_id = "r1", .kind = VT_TARGET_CONVERSATION},
                              {.status_code = -1}};
    for (size_t i = 0; i < VT_ARRAY_LEN(bad); i++)
        assert_int_equal(s->ops->spans_scan(s, f->org, &bad[i], record_visit, &vs), VT_EINVAL);
    assert_int_equal(s->ops->spans_scan(s, f->org, NULL, record_visit, &vs), VT_EINVAL);
    assert_int_equal(s->ops->spans_scan(s, f->org, &flt, NULL, &vs), VT_EINVAL);

    /* Deleted targets' spans are gone from scans too. */
    assert_int_equal(s->ops->run_delete(s, f->org, "r1"), VT_OK);
    assert_int_equal(s->ops->conv_delete(s, f->org, "c1"), VT_OK);
    flt = (vt_span_filter_t){0};
    assert_string_equal(scan(f, f->org, &flt, &vs), "s3:3.1");
}

/* A version 1 database (the schema before the list indexes) is brought to the current
 * version on open, keeping its data. The old indexes are put back by hand. */
static void test_migration_from_v1(void **state) {
    fx_t *f = *state;
    make_run(f, f->org, "r");
    sim_with(f, f->org, "r", "s1", "PENDING", NULL, 5);
    conv_with(f, f->org, "c1", 7, "DONE", "ext", NULL, NULL);
    f->s->ops->close(f->s);
    f->s = NULL;
    sqlite3 *h;
    assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(h,
                     "DROP INDEX simulations_run; DROP INDEX simulations_run_created;"
                     "DROP INDEX simulations_created; DROP INDEX conversations_created;"
                     "DROP INDEX conversations_external; DROP INDEX conversations_agent;"
                     "DROP INDEX conversations_status;"
                     "CREATE INDEX simulations_run ON simulations(org_id, run_id);"
                     "CREATE INDEX conversations_external"
                     "  ON conversations(org_id, external_conversation_id);"
                     "CREATE INDEX conversations_created ON conversations(org_id, create_ms);"
                     "DROP TABLE metrics;" /* migration 3 */
                     "PRAGMA user_version = 1;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(h);

    char err[256] = "";
    assert_int_equal(vt_store_sqlite_open(f->db, &f->s, err, sizeof err), VT_OK);
    assert_int_equal(sql_int(f->db, "PRAGMA user_version"), 3);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                                    " AND name = 'metrics'"),
                     1);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                    " AND name IN ('simulations_run', 'simulations_run_created',"
                                    " 'simulations_created', 'conversations_created',"
                                    " 'conversations_external', 'conversations_agent',"
                                    " 'conversations_status')"),
                     7);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM pragma_index_info('simulations_run')"),
                     3);
    vt_page_t pg = {.page_size = 10};
    vt_simulation_t *sims;
    vt_conversation_t *convs;
    size_t n;
    const char *next;
    assert_int_equal(f->s->ops->sim_list(f->s, f->org, "r", &pg, &f->a, &sims, &n, &next), VT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(sims[0].simulation_id, "s1");
    vt_conv_filter_t flt = {.external_conversation_id = "ext"};
    assert_int_equal(f->s->ops->conv_list(f->s, f->org, &flt, &pg, &f->a, &convs, &n, &next),
                     VT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(convs[0].create_ms, 7);
}

/* ---------------------------------------------------------------------------------------- */
/* Metric definitions                                                                       */
/* ---------------------------------------------------------------------------------------- */

static void make_metric(fx_t *f, int64_t org, const char *id, const char *name, int64_t ms) {
    vt_metric_t m = {.metric_id = id,
                     .metric_name = name,
                     .metric_type = "METRIC_CUSTOM_TRACE",
                     .doc_json = "{\"span_name\":\"llm\"}",
                     .create_ms = ms,
                     .update_ms = ms};
    assert_int_equal(f->s->ops->metric_create(f->s, org, &m), VT_OK);
}

static void test_metrics_crud(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    vt_metric_t m = {.metric_id = "M1",
                     .metric_name = "llm p90",
                     .description = "slow llm",
                     .metric_type = "METRIC_CUSTOM_TRACE",
                     .doc_json = "{\"span_name\":\"llm\",\"aggregation_method\":\"p90\"}",
                     .create_ms = 100,
                     .update_ms = 100};
    assert_int_equal(s->ops->metric_create(s, f->org, &m), VT_OK);
    assert_int_equal(s->ops->metric_create(s, f->org, &m), VT_EEXIST);
    /* The same id in another org is another metric. */
    assert_int_equal(s->ops->metric_create(s, f->org2, &m), VT_OK);
    /* An org that does not exist cannot own one. */
    assert_int_equal(s->ops->metric_create(s, 9999, &m), VT_ENOTFOUND);
    vt_metric_t bad = m;
    bad.metric_name = NULL;
    assert_int_equal(s->ops->metric_create(s, f->org, &bad), VT_EINVAL);

    vt_metric_t got;
    assert_int_equal(s->ops->metric_get(s, f->org, "M1", &f->a, &got), VT_OK);
    assert_string_equal(got.metric_id, "M1");
    assert_string_equal(got.metric_name, "llm p90");
    assert_string_equal(got.description, "slow llm");
    assert_string_equal(got.metric_type, "METRIC_CUSTOM_TRACE");
    assert_string_equal(got.doc_json, "{\"span_name\":\"llm\",\"aggregation_method\":\"p90\"}");
    assert_int_equal(got.create_ms, 100);
    assert_int_equal(got.update_ms, 100);
    assert_int_equal(s->ops->metric_get(s, f->org, "M2", &f->a, &got), VT_ENOTFOUND);

    /* Update replaces everything but the id and create time; description may be cleared. */
    vt_metric_t upd = {.metric_id = "M1",
                       .metric_name = "llm max",
                       .metric_type = "METRIC_STT_WER",
                       .doc_json = "{}",
                       .create_ms = 555,
                       .update_ms = 200};
    assert_int_equal(s->ops->metric_update(s, f->org, &upd), VT_OK);
    assert_int_equal(s->ops->metric_get(s, f->org, "M1", &f->a, &got), VT_OK);
    assert_string_equal(got.metric_name, "llm max");
    assert_null(got.description);
    assert_string_equal(got.metric_type, "METRIC_STT_WER");
    assert_string_equal(got.doc_json, "{}");
    assert_int_equal(got.create_ms, 100);
    assert_int_equal(got.update_ms, 200);
    /* The other org's copy is untouched. */
    assert_int_equal(s->ops->metric_get(s, f->org2, "M1", &f->a, &got), VT_OK);
    assert_string_equal(got.metric_name, "llm p90");
    upd.metric_id = "M2";
    assert_int_equal(s->ops->metric_update(s, f->org, &upd), VT_ENOTFOUND);

    assert_int_equal(s->ops->metric_delete(s, f->org, "M1"), VT_OK);
    assert_int_equal(s->ops->metric_get(s, f->org, "M1", &f->a, &got), VT_ENOTFOUND);
    assert_int_equal(s->ops->metric_delete(s, f->org, "M1"), VT_ENOTFOUND);
    assert_int_equal(s->ops->metric_get(s, f->org2, "M1", &f->a, &got), VT_OK);
    assert_int_equal(s->ops->metric_delete(s, f->org, NULL), VT_EINVAL);
}

static void test_metric_list(void **state) {
    fx_t *f = *state;
    vt_store_t *s = f->s;
    char id[16], name[32];
    for (int i = 0; i < 7; i++) {
        snprintf(id, sizeof id, "M%02d", 6 - i); /* created out of id order */
        snprintf(name, sizeof name, "metric %d", 6 - i);
        make_metric(f, f->org, id, name, i);
    }
    make_metric(f, f->org2, "M99", "other", 0);

    /* Pages of 3 in id order: M00-M02, M03-M05, M06; the cursor is the last id. */
    const char *after = NULL;
    int expect = 0, pages = 0;
    for (;;) {
        vt_page_t pg = {.page_size = 3, .after = after};
        vt_metric_t *ms;
        size_t n;
        const char *next;
        assert_int_equal(s->ops->metric_list(s, f->org, &pg, &f->a, &ms, &n, &next), VT_OK);
        pages++;
        assert_int_equal(n, pages < 3 ? 3 : 1);
        for (size_t i = 0; i < n; i++) {
            snprintf(id, sizeof id, "M%02d", expect);
            snprintf(name, sizeof name, "metric %d", expect);
            assert_string_equal(ms[i].metric_id, id);
            assert_string_equal(ms[i].metric_name, name);
            assert_string_equal(ms[i].doc_json, "{\"span_name\":\"llm\"}");
            expect++;
        }
        if (!next)
            break;
        assert_string_equal(next, ms[n - 1].metric_id);
        after = next;
    }
    assert_int_equal(pages, 3);
    assert_int_equal(expect, 7);

    /* A page that ends exactly at the last row hands out no cursor. */
    vt_page_t all = {.page_size = 7};
    vt_metric_t *ms;
    size_t n;
    const char *next;
    assert_int_equal(s->ops->metric_list(s, f->org, &all, &f->a, &ms, &n, &next), VT_OK);
    assert_int_equal(n, 7);
    assert_null(next);
    assert_int_equal(s->ops->metric_list(s, f->org2, &all, &f->a, &ms, &n, &next), VT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ms[0].metric_id, "M99");
    vt_page_t zero = {.page_size = 0};
    assert_int_equal(s->ops->metric_list(s, f->org, &zero, &f->a, &ms, &n, &next), VT_EINVAL);
    /* An org without metrics lists nothing. */
    vt_org_t o;
    assert_int_equal(s->ops->org_create(s, "empty", NULL, &f->a, &o), VT_OK);
    assert_int_equal(s->ops->metric_list(s, o.id, &all, &f->a, &ms, &n, &next), VT_OK);
    assert_int_equal(n, 0);
    assert_null(next);
}

/* ---------------------------------------------------------------------------------------- */
/* Threads                                                                                  */
/* ---------------------------------------------------------------------------------------- */

#define THREADS 4
#define ROUNDS 25
#define ROWS_PER_ROUND 20

typedef struct {
    fx_t *f;
    int idx;
    int errors;
} worker_t;

static void *worker(void *p) {
    worker_t *w = p;
    vt_store_t *s = w->f->s;
    char sim_id[16];
    snprintf(sim_id, sizeof sim_id, "sim%d", w->idx);
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_span_row_t rows[ROWS_PER_ROUND];
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < ROWS_PER_ROUND; i++)
            rows[i] = row((uint8_t)r, (uint8_t)(i + 1), (uint64_t)(r * 100 + i));
        /* Each round writes its own simulation and the shared one, where the threads' spans
         * collide: only the first writer of each span inserts it. */
        vt_span_batch_t b[2] = {
            batch(w->f->org, VT_TARGET_SIMULATION, sim_id, rows, ROWS_PER_ROUND),
            batch(w->f->org, VT_TARGET_SIMULATION, "shared", rows, ROWS_PER_ROUND)};
        if (s->ops->spans_write(s, b, 2) != VT_OK || b[0].inserted != ROWS_PER_ROUND)
            w->errors++;
        vt_span_row_t *out;
        size_t n, total;
        if (s->ops->spans_read(s, w->f->org, VT_TARGET_SIMULATION, sim_id, 1000, 0, &a, &out, &n,
                               &total) != VT_OK ||
            n != (size_t)(r + 1) * ROWS_PER_ROUND || total != n ||
            !vt_str_eq(out[n - 1].resource_json, res_a))
            w->errors++;
        bool ex;
        if (s->ops->target_exists(s, w->f->org, VT_TARGET_SIMULATION, sim_id, &ex) != VT_OK || !ex)
            w->errors++;
    }
    vt_arena_free(&a);
    return NULL;
}

/* Bytes SQLite has allocated, process-wide. */
static int64_t sqlite_mem(void) {
    sqlite3_int64 cur = 0, hi = 0;
    assert_int_equal(sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &cur, &hi, 0), SQLITE_OK);
    return cur;
}

static void test_threads(void **state) {
    fx_t *f = *state;
    make_run(f, f->org, "r");
    make_sim(f, f->org, "r", "shared");
    for (int i = 0; i < THREADS; i++) {
        char id[16];
        snprintf(id, sizeof id, "sim%d", i);
        make_sim(f, f->org, "r", id);
    }
    int64_t mem_before = sqlite_mem();
    pthread_t th[THREADS];
    worker_t w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker_t){.f = f, .idx = i};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].errors, 0);
    }
    /* The exited threads' connections were closed by the pthread key destructor: SQLite holds
     * hundreds of KiB per open connection, and almost nothing is left of the four. */
    int64_t mem_after = sqlite_mem();
    assert_true(mem_after < mem_before + 16 * 1024);
    vt_simulation_t sim;
    assert_int_equal(f->s->ops->sim_get(f->s, f->org, "shared", &f->a, &sim), VT_OK);
    assert_int_equal(sim.span_count, ROUNDS * ROWS_PER_ROUND);
    char sql[160];
    snprintf(
        sql, sizeof sql,
        "SELECT duplicate_count FROM target_stats WHERE org_id = %lld AND target_id = 'shared'",
        (long long)f->org);
    assert_int_equal(sql_int(f->db, sql), (THREADS - 1) * ROUNDS * ROWS_PER_ROUND);
}

/* A thread that still holds its connection when the store closes: close() must release it
 * (ASan reports the leak otherwise) and the thread's exit must not touch it again. */
typedef struct {
    vt_store_t *s;
    int64_t org;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stage; /* 1: the thread has used the store; 2: the store is closed */
    vt_err_t result;
} linger_t;

static void *linger(void *p) {
    linger_t *l = p;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_org_t o;
    vt_err_t e = l->s->ops->org_get_by_id(l->s, l->org, &a, &o);
    vt_arena_free(&a);
    pthread_mutex_lock(&l->mu);
    l->result = e;
    l->stage = 1;
    pthread_cond_broadcast(&l->cv);
    while (l->stage != 2)
        pthread_cond_wait(&l->cv, &l->mu);
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static void test_close_with_live_threads(void **state) {
    fx_t *f = *state;
    linger_t l = {.s = f->s, .org = f->org, .result = VT_EINTERNAL};
    pthread_mutex_init(&l.mu, NULL);
    pthread_cond_init(&l.cv, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, linger, &l), 0);
    pthread_mutex_lock(&l.mu);
    while (l.stage != 1)
        pthread_cond_wait(&l.cv, &l.mu);
    pthread_mutex_unlock(&l.mu);
    f->s->ops->close(f->s);
    f->s = NULL;
    pthread_mutex_lock(&l.mu);
    l.stage = 2;
    pthread_cond_broadcast(&l.cv);
    pthread_mutex_unlock(&l.mu);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(l.result, VT_OK);
    pthread_mutex_destroy(&l.mu);
    pthread_cond_destroy(&l.cv);

    /* The file is consistent afterwards: a new store opens and sees the orgs. */
    char err[256];
    assert_int_equal(vt_store_sqlite_open(f->db, &f->s, err, sizeof err), VT_OK);
    vt_org_t o;
    assert_int_equal(f->s->ops->org_get_by_id(f->s, f->org2, &f->a, &o), VT_OK);
    assert_string_equal(o.slug, "other");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_open_urls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orgs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runs_and_simulations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conversations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spans_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spans_duplicates_and_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spans_read_order_and_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_dedup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spans_write_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_persists_and_migrations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_list_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_delete_cascades, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_sim_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_update_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spans_write_deleted_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conv_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conv_update_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spans_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metric_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_with_live_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
