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
    assert_int_equal(sql_int(db, "PRAGMA user_version"), 1);

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
    assert_int_equal(sql_int(f->db, "PRAGMA user_version"), 1);
    assert_int_equal(sql_int(f->db, "PRAGMA page_size"), 16384);

    char err[256] = "";
    assert_int_equal(vt_store_sqlite_open(f->db, &f->s, err, sizeof err), VT_OK);
    assert_int_equal(sql_int(f->db, "PRAGMA user_version"), 1);
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
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_with_live_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
