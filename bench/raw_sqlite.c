/*
 * raw_sqlite.c - the raw ceiling of the ingest benchmark: the span rows the server would store
 * for the load generator's requests, inserted straight into SQLite by a minimal C program. No
 * HTTP, no protobuf, no JSON building in the timed loop, one thread. The ingest figure of the
 * benchmark is reported as a ratio to this number (DESIGN.md 8: >= 0.6).
 *
 * The table, index, PRAGMAs and INSERT statement mirror src/store/store_sqlite.c (schema
 * version 1); if that schema changes, change this file with it. Rows come from bench_rows.h,
 * the same generator the load generator uses, so both sides write the same bytes.
 *
 *   raw_sqlite --db PATH [--spans N] [--txn ROWS]
 *
 * Prints a human line and a machine line "RESULT raw spans=.. seconds=.. spans_per_s=..".
 */
#define _GNU_SOURCE
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_rows.h"

#define RAW_MAX_SPANS 50000000ull
#define RAW_MAX_TXN 65536u
#define RAW_ATTR_CAP 1024

/* The server's span table as store_sqlite.c creates it: same columns, key, index, settings. */
static const char schema_sql[] =
    "PRAGMA page_size = 16384;"
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = NORMAL;"
    "PRAGMA foreign_keys = ON;"
    "PRAGMA cache_size = -8192;"
    "PRAGMA temp_store = MEMORY;"
    "PRAGMA journal_size_limit = 67108864;"
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
    "CREATE INDEX spans_time ON spans(org_id, target_kind, target_id, start_ns);";

static const char insert_sql[] =
    "INSERT INTO spans(org_id, target_kind, target_id, trace_id, span_id, parent_span_id, name,"
    " span_kind, start_ns, end_ns, status_code, status_message, trace_state, flags, attributes,"
    " events, links, dropped_attrs, dropped_events, dropped_links, resource_id, scope_id,"
    " received_ns) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
    " ?17, ?18, ?19, ?20, ?21, ?22, ?23)"
    " ON CONFLICT(org_id, target_kind, target_id, trace_id, span_id) DO NOTHING";

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int usage(void) {
    fprintf(stderr, "usage: raw_sqlite --db PATH [--spans N (<= %llu)] [--txn ROWS (<= %u)]\n",
            RAW_MAX_SPANS, RAW_MAX_TXN);
    return 2;
}

/* Parses a positive integer no larger than max; 0 when invalid. */
static unsigned long long parse_count(const char *s, unsigned long long max) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    return (*s && !*end && s[0] != '-' && v <= max) ? v : 0;
}

static int fail(sqlite3 *db, const char *what) {
    fprintf(stderr, "raw_sqlite: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
    return 1;
}

int main(int argc, char **argv) {
    const char *path = NULL;
    unsigned long long n_spans = 1000000, txn = 512;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        if (!strcmp(argv[i], "--db"))
            path = argv[++i];
        else if (!strcmp(argv[i], "--spans"))
            n_spans = parse_count(argv[++i], RAW_MAX_SPANS);
        else if (!strcmp(argv[i], "--txn"))
            txn = parse_count(argv[++i], RAW_MAX_TXN);
        else
            return usage();
    }
    if (!path || !n_spans || !txn)
        return usage();

    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL, *begin = NULL, *commit = NULL;
    char (*attrs)[RAW_ATTR_CAP] = NULL;
    size_t *attr_len = NULL;
    int rc = 1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = fail(db, "open");
        goto out;
    }
    if (sqlite3_exec(db, schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, insert_sql, -1, &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL) != SQLITE_OK) {
        rc = fail(db, "schema");
        goto out;
    }

    /* The attribute texts depend only on the span's index in its request, as in the load
     * generator's requests; the server builds the same text from the decoded protobuf. */
    attrs = malloc(txn * sizeof *attrs);
    attr_len = malloc(txn * sizeof *attr_len);
    if (!attrs || !attr_len) {
        rc = fail(NULL, "attributes");
        goto out;
    }
    size_t attr_bytes = 0;
    for (uint32_t i = 0; i < txn; i++) {
        attr_len[i] = bench_attrs_json(i, attrs[i], RAW_ATTR_CAP);
        attr_bytes += attr_len[i];
    }

    uint64_t seed = wall_ns();
    uint64_t t0 = seed;
    /* Constant per target, bound once: the server's statement keeps them bound the same way. */
    sqlite3_bind_int64(ins, 1, 1);
    sqlite3_bind_int(ins, 2, 1);
    sqlite3_bind_text(ins, 3, "bench-raw-simulation", -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 21, 1);
    sqlite3_bind_int64(ins, 22, 1);

    unsigned long long inserted = 0;
    double t_start = now_s();
    for (unsigned long long done = 0, req = 0; done < n_spans; req++) {
        uint32_t rows = (uint32_t)(n_spans - done < txn ? n_spans - done : txn);
        uint8_t trace_id[16], root_id[8], span_id[8];
        bench_trace_id(seed, req, trace_id);
        bench_span_id(seed, req, 0, root_id);
        sqlite3_int64 received = (sqlite3_int64)wall_ns();
        if (sqlite3_step(begin) != SQLITE_DONE) {
            rc = fail(db, "begin");
            goto out;
        }
        sqlite3_reset(begin);
        for (uint32_t i = 0; i < rows; i++) {
            bench_span_id(seed, req, i, span_id);
            const char *name = bench_span_name(i);
            int brc =
                sqlite3_bind_blob(ins, 4, trace_id, 16, SQLITE_STATIC) |
                sqlite3_bind_blob(ins, 5, span_id, 8, SQLITE_STATIC) |
                (i ? sqlite3_bind_blob(ins, 6, root_id, 8, SQLITE_STATIC)
                   : sqlite3_bind_null(ins, 6)) |
                sqlite3_bind_text(ins, 7, name, -1, SQLITE_STATIC) |
                sqlite3_bind_int(ins, 8, 1) |
                sqlite3_bind_int64(ins, 9, (sqlite3_int64)bench_start_ns(t0, req, i)) |
                sqlite3_bind_int64(ins, 10, (sqlite3_int64)bench_end_ns(t0, req, i)) |
                sqlite3_bind_int(ins, 11, 1) | sqlite3_bind_null(ins, 12) |
                sqlite3_bind_null(ins, 13) | sqlite3_bind_int64(ins, 14, 1) |
                sqlite3_bind_text64(ins, 15, attrs[i], attr_len[i], SQLITE_STATIC, SQLITE_UTF8) |
                sqlite3_bind_null(ins, 16) | sqlite3_bind_null(ins, 17) |
                sqlite3_bind_int64(ins, 18, 0) | sqlite3_bind_int64(ins, 19, 0) |
                sqlite3_bind_int64(ins, 20, 0) | sqlite3_bind_int64(ins, 23, received);
            if (brc != SQLITE_OK || sqlite3_step(ins) != SQLITE_DONE) {
                rc = fail(db, "insert");
                goto out;
            }
            sqlite3_reset(ins);
            inserted += (unsigned long long)sqlite3_changes(db);
        }
        if (sqlite3_step(commit) != SQLITE_DONE) {
            rc = fail(db, "commit");
            goto out;
        }
        sqlite3_reset(commit);
        done += rows;
    }
    double secs = now_s() - t_start;
    if (inserted != n_spans) {
        fprintf(stderr, "raw_sqlite: inserted %llu of %llu rows (duplicate ids?)\n", inserted,
                n_spans);
        goto out;
    }
    printf("raw SQLite: %llu spans in %.3f s, %u rows/transaction, %.0f attribute bytes/span: "
           "%.0f spans/s\n",
           n_spans, secs, (unsigned)txn, (double)attr_bytes / (double)txn,
           (double)n_spans / secs);
    /* Its own CPU time, so that the caller can tell how much of the machine others used. */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("RESULT raw spans=%llu seconds=%.3f spans_per_s=%.0f cpu_s=%.2f\n", n_spans, secs,
           (double)n_spans / secs, cpu);
    rc = 0;

out:
    free(attrs);
    free(attr_len);
    sqlite3_finalize(ins);
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_close(db);
    return rc;
}
