/*
 * main.c - the voxtrace command line: serve, and the admin commands that work on the same store
 * (also while a server runs, since SQLite lets several processes share the file).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "api/api.h"
#include "api/ingest.h"
#include "api/ui.h"
#include "core/log.h"
#include "demo/demo.h"
#include "http/auth.h"
#include "http/server.h"
#include "store/store.h"
#include "store/writer.h"

#define VT_VERSION "0.1.0"

/* ---- options ------------------------------------------------------------------------------ */

typedef struct {
    const char *listen;
    const char *data;
    const char *store;
    const char *org;
    const char *name;
    const char *scopes;
    const char *simulation;   /* import target */
    const char *conversation; /* import target */
    const char *web_dir;      /* serve: the UI from this folder instead of the embedded copy */
    size_t max_body;
    unsigned threads;
    bool demo; /* serve: seed demo data into org "default" while it has no runs */
    bool help;
    const char *pos[4]; /* positional arguments after the command words */
    int n_pos;
} opts_t;

static const char usage_main[] =
    "voxtrace - trace backend for voice AI agents (OpenTelemetry/OTLP over HTTP)\n"
    "\n"
    "Usage:\n"
    "  voxtrace serve   [--listen HOST:PORT] [--data DIR] [--store URL] [--max-body BYTES]\n"
    "                   [--threads N] [--web-dir DIR] [--demo]\n"
    "  voxtrace orgs create SLUG [--name NAME]\n"
    "  voxtrace orgs list\n"
    "  voxtrace keys create --org SLUG [--scopes LIST] [--name NAME]\n"
    "  voxtrace keys list --org SLUG\n"
    "  voxtrace keys revoke KEY_PREFIX\n"
    "  voxtrace import --org SLUG (--simulation ID | --conversation ID) FILE.json\n"
    "  voxtrace demo [--org SLUG]\n"
    "  voxtrace version\n"
    "\n"
    "Options for every command:\n"
    "  --data DIR     data folder (default ./voxtrace-data; env VOXTRACE_DATA)\n"
    "  --store URL    sqlite (default: DIR/voxtrace.db) or sqlite:PATH (env VOXTRACE_STORE)\n"
    "  --help         help for a command, e.g. voxtrace keys --help\n";

static const char usage_serve[] =
    "Usage: voxtrace serve [--listen HOST:PORT] [--data DIR] [--store URL] [--max-body BYTES]\n"
    "                      [--threads N] [--web-dir DIR] [--demo]\n"
    "\n"
    "Runs the HTTP server: the web UI at /, the OTLP/HTTP endpoint POST /v1/traces and the rest\n"
    "of the API.\n"
    "  --listen HOST:PORT  address to listen on (default 127.0.0.1:4318; env VOXTRACE_LISTEN)\n"
    "  --max-body BYTES    largest request body after gzip decoding (default 67108864 = 64 MiB)\n"
    "  --threads N         HTTP worker threads (default: number of cores)\n"
    "  --web-dir DIR       serve the UI's files from DIR (e.g. web) instead of the copy built\n"
    "                      into the binary, so UI changes show on reload\n"
    "  --demo              seed demo data (voxtrace demo) into the org \"default\" if it has no\n"
    "                      runs yet\n"
    "On the first start with an empty store it creates the org \"default\" and an admin API key,\n"
    "and prints the key once. SIGTERM or SIGINT finishes the requests in flight and exits.\n";

static const char usage_demo[] =
    "Usage: voxtrace demo [--org SLUG]\n"
    "\n"
    "Seeds an existing org (default: \"default\") with demo data: two test runs of 50 simulated\n"
    "calls of a dental clinic's phone agent, each with a full trace (turns, STT with provider\n"
    "fallbacks, LLM calls with token usage, tool calls, TTS), transcripts and some failures, and\n"
    "12 monitored production conversations. Works while a server runs. If the org already has\n"
    "demo runs it adds nothing and says so.\n";

static const char usage_orgs[] =
    "Usage: voxtrace orgs create SLUG [--name NAME]\n"
    "       voxtrace orgs list\n"
    "\n"
    "An org owns runs, simulations, conversations, traces and keys; orgs never see each other's\n"
    "data. SLUG: 1-64 characters of a-z, 0-9 and '-', starting with a letter or digit.\n";

static const char usage_keys[] =
    "Usage: voxtrace keys create --org SLUG [--scopes LIST] [--name NAME]\n"
    "       voxtrace keys list --org SLUG\n"
    "       voxtrace keys revoke KEY_PREFIX\n"
    "\n"
    "create prints the new key alone on stdout; it is stored only as a hash and cannot be shown\n"
    "again. LIST is a comma-separated subset of traces:write, read, write, admin (default:\n"
    "traces:write,read,write). list shows each key's prefix (its first 12 characters), which\n"
    "is what revoke takes.\n";

static const char usage_import[] =
    "Usage: voxtrace import --org SLUG (--simulation ID | --conversation ID) FILE.json\n"
    "\n"
    "Loads an OTLP JSON file (an ExportTraceServiceRequest with \"resourceSpans\", as\n"
    "GET /v1/traces/export writes it) into an existing simulation or conversation of the org.\n"
    "Spans go through the same checks as POST /v1/traces: invalid ones are rejected, spans\n"
    "already stored are counted as duplicates. Works while a server runs. Files up to 256 MiB.\n"
    "Prints \"imported N spans (M duplicates, K rejected)\"; exits 1 when the file cannot be\n"
    "imported or any span was rejected (the valid spans are stored all the same).\n";

static int usage_error(const char *usage, const char *fmt, const char *arg) {
    fprintf(stderr, "voxtrace: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", usage);
    return 2;
}

/* Parses argv[start..] into o. Returns 0, or 2 after printing an error. */
static int parse_opts(int argc, char **argv, int start, opts_t *o, const char *usage) {
    for (int i = start; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            o->help = true;
            continue;
        }
        if (strcmp(a, "--demo") == 0) {
            o->demo = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (o->n_pos >= (int)VT_ARRAY_LEN(o->pos))
                return usage_error(usage, "unexpected argument %s", a);
            o->pos[o->n_pos++] = a;
            continue;
        }
        static const char *const names[] = {
            "--listen",   "--data",    "--store",      "--org",          "--name",   "--scopes",
            "--max-body", "--threads", "--simulation", "--conversation", "--web-dir"};
        const char *val = NULL;
        size_t which = VT_ARRAY_LEN(names);
        for (size_t k = 0; k < VT_ARRAY_LEN(names); k++) {
            size_t n = strlen(names[k]);
            if (strncmp(a, names[k], n) == 0 && (a[n] == '\0' || a[n] == '=')) {
                which = k;
                val = a[n] == '=' ? a + n + 1 : NULL;
            }
        }
        if (which == VT_ARRAY_LEN(names))
            return usage_error(usage, "unknown option %s", a);
        if (!val) {
            if (i + 1 >= argc)
                return usage_error(usage, "option %s needs a value", a);
            val = argv[++i];
        }
        char *end;
        switch (which) {
        case 0: o->listen = val; break;
        case 1: o->data = val; break;
        case 2: o->store = val; break;
        case 3: o->org = val; break;
        case 4: o->name = val; break;
        case 5: o->scopes = val; break;
        case 6:
            errno = 0;
            o->max_body = strtoull(val, &end, 10);
            if (errno || *end || o->max_body < 1024)
                return usage_error(usage, "--max-body needs a number of bytes >= 1024, not %s", val);
            break;
        case 7:
            errno = 0;
            o->threads = (unsigned)strtoul(val, &end, 10);
            if (errno || *end || o->threads < 1 || o->threads > 256)
                return usage_error(usage, "--threads needs a number from 1 to 256, not %s", val);
            break;
        case 8: o->simulation = val; break;
        case 9: o->conversation = val; break;
        case 10: o->web_dir = val; break;
        }
    }
    return 0;
}

static vt_store_t *open_store(const opts_t *o) {
    vt_store_t *st = NULL;
    char err[256];
    if (vt_store_open(o->store, o->data, &st, err, sizeof err) != VT_OK) {
        fprintf(stderr, "voxtrace: cannot open the store: %s\n", err);
        return NULL;
    }
    return st;
}

static bool slug_valid(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

static void format_ms(int64_t ms, char *out, size_t n) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- orgs and keys ------------------------------------------------------------------------ */

static int cmd_orgs(opts_t *o) {
    if (o->help || o->n_pos < 1) {
        fputs(usage_orgs, o->help ? stdout : stderr);
        return o->help ? 0 : 2;
    }
    vt_store_t *st = open_store(o);
    if (!st)
        return 1;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    int rc = 0;
    if (strcmp(o->pos[0], "create") == 0 && o->n_pos == 2) {
        if (!slug_valid(o->pos[1])) {
            fprintf(stderr, "voxtrace: invalid org slug %s (use a-z, 0-9, '-')\n", o->pos[1]);
            rc = 2;
            goto out;
        }
        vt_org_t org;
        vt_err_t e = st->ops->org_create(st, o->pos[1], o->name ? o->name : o->pos[1], &a, &org);
        if (e) {
            fprintf(stderr, "voxtrace: %s\n",
                    e == VT_EEXIST ? "an org with that slug already exists" : "cannot create the org");
            rc = 1;
            goto out;
        }
        printf("%s\n", org.slug);
    } else if (strcmp(o->pos[0], "list") == 0 && o->n_pos == 1) {
        vt_org_t *orgs;
        size_t n;
        if (st->ops->org_list(st, &a, &orgs, &n)) {
            rc = 1;
            goto out;
        }
        printf("%-24s %-32s %s\n", "SLUG", "NAME", "CREATED");
        for (size_t i = 0; i < n; i++) {
            char t[32];
            format_ms(orgs[i].create_ms, t, sizeof t);
            printf("%-24s %-32s %s\n", orgs[i].slug, orgs[i].name, t);
        }
    } else {
        fputs(usage_orgs, stderr);
        rc = 2;
    }
out:
    vt_arena_free(&a);
    st->ops->close(st);
    return rc;
}

static int cmd_keys(opts_t *o) {
    if (o->help || o->n_pos < 1) {
        fputs(usage_keys, o->help ? stdout : stderr);
        return o->help ? 0 : 2;
    }
    const char *sub = o->pos[0];
    bool needs_org = strcmp(sub, "create") == 0 || strcmp(sub, "list") == 0;
    if (needs_org && (!o->org || o->n_pos != 1))
        return usage_error(usage_keys, "keys %s needs --org SLUG", sub);
    if (!needs_org && (strcmp(sub, "revoke") != 0 || o->n_pos != 2))
        return usage_error(usage_keys, "unknown keys command %s", sub);
    vt_store_t *st = open_store(o);
    if (!st)
        return 1;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    int rc = 0;
    vt_org_t org;
    if (needs_org && st->ops->org_get_by_slug(st, o->org, &a, &org) != VT_OK) {
        fprintf(stderr, "voxtrace: no org %s\n", o->org);
        rc = 1;
        goto out;
    }
    if (strcmp(sub, "create") == 0) {
        uint32_t scopes = VT_SCOPES_DEFAULT;
        if (o->scopes && vt_auth_scopes_parse(o->scopes, &scopes) != VT_OK) {
            fprintf(stderr, "voxtrace: invalid --scopes %s (use traces:write, read, write, admin)\n",
                    o->scopes);
            rc = 2;
            goto out;
        }
        char key[VT_KEY_LEN + 1];
        if (vt_auth_key_create(st, org.id, o->name, scopes, key) != VT_OK) {
            fprintf(stderr, "voxtrace: cannot create the key\n");
            rc = 1;
            goto out;
        }
        printf("%s\n", key);
        sodium_memzero(key, sizeof key);
    } else if (strcmp(sub, "list") == 0) {
        vt_key_t *keys;
        size_t n;
        if (st->ops->key_list(st, org.id, &a, &keys, &n)) {
            rc = 1;
            goto out;
        }
        printf("%-14s %-20s %-28s %-21s %s\n", "PREFIX", "NAME", "SCOPES", "CREATED", "STATUS");
        for (size_t i = 0; i < n; i++) {
            char t[32], sc[64];
            format_ms(keys[i].create_ms, t, sizeof t);
            vt_auth_scopes_format(keys[i].scopes, sc, sizeof sc);
            printf("%-14s %-20s %-28s %-21s %s\n", keys[i].prefix,
                   keys[i].name && *keys[i].name ? keys[i].name : "-", sc, t,
                   keys[i].revoke_ms ? "revoked" : "active");
        }
    } else {
        /* A whole key is accepted too: its first characters are the prefix. */
        char prefix[VT_KEY_PREFIX_LEN + 1];
        snprintf(prefix, sizeof prefix, "%s", o->pos[1]);
        vt_err_t e = st->ops->key_revoke(st, prefix, (int64_t)(vt_now_ns() / 1000000u));
        if (e) {
            fprintf(stderr, "voxtrace: %s\n",
                    e == VT_ENOTFOUND ? "no key with that prefix" : "cannot revoke the key");
            rc = 1;
            goto out;
        }
        printf("revoked %s\n", prefix);
    }
out:
    vt_arena_free(&a);
    st->ops->close(st);
    return rc;
}

/* ---- import ------------------------------------------------------------------------------- */

/* The largest file import reads. Larger than the server's default body cap: one command holds
 * one file, while a server holds many bodies at once. */
#define IMPORT_MAX_FILE ((size_t)256 << 20)

/* Reads a whole file of at most max bytes into b. On failure prints why and returns false. */
static bool read_file(const char *path, size_t max, vt_buf_t *b) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "voxtrace: cannot open %s: %s\n", path, strerror(errno));
        return false;
    }
    vt_buf_init(b, max);
    char chunk[1 << 16];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && vt_buf_append(b, chunk, got) == VT_OK)
        ;
    bool read_error = ferror(f) != 0;
    fclose(f);
    if (b->failed || read_error) {
        if (b->failed)
            fprintf(stderr, "voxtrace: %s is larger than %zu MiB\n", path, max >> 20);
        else
            fprintf(stderr, "voxtrace: cannot read %s\n", path);
        vt_buf_free(b);
        return false;
    }
    return true;
}

static int cmd_import(opts_t *o) {
    if (o->help) {
        fputs(usage_import, stdout);
        return 0;
    }
    if (!o->org)
        return usage_error(usage_import, "%s", "import needs --org SLUG");
    if (!o->simulation == !o->conversation)
        return usage_error(usage_import, "%s",
                           "give exactly one of --simulation or --conversation");
    if (o->n_pos != 1)
        return usage_error(usage_import, "%s", "import needs one FILE.json");
    vt_target_kind_t kind = o->simulation ? VT_TARGET_SIMULATION : VT_TARGET_CONVERSATION;
    const char *target = o->simulation ? o->simulation : o->conversation;
    const char *what = o->simulation ? "simulation" : "conversation";

    vt_buf_t file;
    if (!read_file(o->pos[0], IMPORT_MAX_FILE, &file))
        return 1;
    vt_store_t *st = open_store(o);
    if (!st) {
        vt_buf_free(&file);
        return 1;
    }
    /* The same memory budget a request of this size gets in the server. */
    vt_arena_t a;
    vt_arena_init(&a, 4 * file.len + ((size_t)16 << 20));
    vt_ingest_t in = {0};
    int rc = 1;
    vt_org_t org;
    bool exists = false;
    if (st->ops->org_get_by_slug(st, o->org, &a, &org) != VT_OK) {
        fprintf(stderr, "voxtrace: no org %s\n", o->org);
        goto out;
    }
    if (strlen(target) > 128 ||
        st->ops->target_exists(st, org.id, kind, target, &exists) != VT_OK || !exists) {
        fprintf(stderr, "voxtrace: no %s %s in org %s\n", what, target, o->org);
        goto out;
    }
    vt_batch_t batch;
    char err[256] = "";
    vt_err_t e =
        vt_otlp_decode_json(&a, file.data ? file.data : "", file.len, &batch, err, sizeof err);
    if (e) {
        fprintf(stderr, "voxtrace: %s is not valid OTLP JSON: %s\n", o->pos[0], err);
        goto out;
    }
    if (vt_ingest_prepare(&a, &batch, vt_now_ns(), &in) != VT_OK) {
        fprintf(stderr, "voxtrace: %s is too large to import at once\n", o->pos[0]);
        goto out;
    }
    in.batch.org_id = org.id;
    in.batch.kind = kind;
    in.batch.target_id = target;
    if (in.batch.n_rows && st->ops->spans_write(st, &in.batch, 1) != VT_OK) {
        fprintf(stderr, "voxtrace: cannot store the spans\n");
        goto out;
    }
    if (in.batch.target_missing) {
        fprintf(stderr, "voxtrace: the target was deleted while importing\n");
        goto out;
    }
    if (in.rejected)
        printf("imported %u spans (%u duplicates, %u rejected: %s)\n", in.batch.inserted,
               in.batch.duplicates, in.rejected, in.reject_msg ? in.reject_msg : "invalid span");
    else
        printf("imported %u spans (%u duplicates, 0 rejected)\n", in.batch.inserted,
               in.batch.duplicates);
    rc = in.rejected ? 1 : 0;
out:
    vt_ingest_free(&in);
    vt_arena_free(&a);
    vt_buf_free(&file);
    st->ops->close(st);
    return rc;
}

/* ---- serve -------------------------------------------------------------------------------- */

/* Splits HOST:PORT ([v6]:PORT for IPv6). */
static bool parse_listen(const char *s, char *host, size_t hostlen, uint16_t *port) {
    const char *colon = strrchr(s, ':');
    if (!colon)
        return false;
    const char *h = s;
    size_t hn = (size_t)(colon - s);
    if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
        h++;
        hn -= 2;
    }
    if (hn == 0 || hn >= hostlen)
        return false;
    memcpy(host, h, hn);
    host[hn] = '\0';
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end || colon[1] == '\0' || p > 65535)
        return false;
    *port = (uint16_t)p;
    if (strcmp(host, "localhost") == 0)
        snprintf(host, hostlen, "127.0.0.1");
    return true;
}

/* On an empty store: creates org "default" and an admin key. The key is written to key_out
 * (empty when the store already had orgs), to be printed once the server listens. */
static int first_start(vt_store_t *st, char key_out[VT_KEY_LEN + 1]) {
    key_out[0] = '\0';
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_org_t *orgs;
    size_t n;
    int rc = 0;
    if (st->ops->org_list(st, &a, &orgs, &n) != VT_OK) {
        rc = 1;
        goto out;
    }
    if (n == 0) {
        vt_org_t org;
        if (st->ops->org_create(st, "default", "Default", &a, &org) != VT_OK ||
            vt_auth_key_create(st, org.id, "admin (first start)", VT_SCOPES_ALL, key_out) !=
                VT_OK) {
            fprintf(stderr, "voxtrace: cannot create the default org and key\n");
            rc = 1;
        }
    }
out:
    vt_arena_free(&a);
    return rc;
}

/* Seeds demo data into an org and prints what it did. only_if_empty: add nothing to an org that
 * has any run (serve --demo); otherwise add nothing only when demo runs are there already. */
static int seed_demo(vt_store_t *st, const char *slug, bool only_if_empty) {
    vt_arena_t a;
    vt_arena_init(&a, 0);
    int rc = 1;
    vt_org_t org;
    bool has_runs, has_demo;
    if (st->ops->org_get_by_slug(st, slug, &a, &org) != VT_OK) {
        fprintf(stderr,
                "voxtrace: no org %s (voxtrace orgs create %s, or start voxtrace serve once)\n",
                slug, slug);
        goto out;
    }
    if (vt_demo_status(st, org.id, &has_runs, &has_demo) != VT_OK) {
        fprintf(stderr, "voxtrace: cannot list the runs of org %s\n", slug);
        goto out;
    }
    rc = 0;
    if (has_demo || (only_if_empty && has_runs)) {
        printf("demo: org %s already has %s; no demo data added\n", slug,
               has_demo ? "demo data" : "runs");
        goto out;
    }
    vt_demo_report_t rep;
    char err[256] = "";
    if (vt_demo_seed(st, org.id, (int64_t)(vt_now_ns() / 1000000u), &rep, err, sizeof err) !=
        VT_OK) {
        fprintf(stderr, "voxtrace: demo data: %s\n", err);
        rc = 1;
        goto out;
    }
    printf("demo: added to org %s: %u runs, %u simulated calls, %u monitored conversations, "
           "%llu spans\n",
           slug, rep.runs, rep.simulations, rep.conversations, (unsigned long long)rep.spans);
    if (rep.metrics_skipped)
        printf("demo: no custom metrics (this store keeps no metrics); built-in metrics apply\n");
    else
        printf("demo: %u custom trace metrics\n", rep.metrics);
out:
    vt_arena_free(&a);
    return rc;
}

static int cmd_demo(opts_t *o) {
    if (o->help) {
        fputs(usage_demo, stdout);
        return 0;
    }
    if (o->n_pos)
        return usage_error(usage_demo, "unexpected argument %s", o->pos[0]);
    const char *slug = o->org ? o->org : "default";
    vt_store_t *st = open_store(o);
    if (!st)
        return 1;
    int rc = seed_demo(st, slug, false);
    st->ops->close(st);
    return rc;
}

static int cmd_serve(opts_t *o) {
    if (o->help) {
        fputs(usage_serve, stdout);
        return 0;
    }
    if (o->n_pos)
        return usage_error(usage_serve, "unexpected argument %s", o->pos[0]);
    char host[256];
    uint16_t port;
    if (!parse_listen(o->listen, host, sizeof host, &port))
        return usage_error(usage_serve, "--listen needs HOST:PORT, not %s", o->listen);
    if (o->web_dir) {
        struct stat wst;
        if (stat(o->web_dir, &wst) != 0 || !S_ISDIR(wst.st_mode)) {
            fprintf(stderr, "voxtrace: --web-dir %s is not a folder\n", o->web_dir);
            return 1;
        }
    }

    /* Signals are taken synchronously by this thread with sigwait, so every other thread
     * (HTTP workers, the writer) starts with them blocked. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    vt_store_t *st = open_store(o);
    if (!st)
        return 1;
    int rc = 1;
    vt_writer_t *writer = NULL;
    vt_server_t *srv = NULL;
    char key[VT_KEY_LEN + 1] = "";
    vt_app_t app = {.store = st, .data_dir = o->data, .web_dir = o->web_dir};
    /* The default org and the demo data exist before the first request can arrive. */
    if (first_start(st, key) != 0 || (o->demo && seed_demo(st, "default", true) != 0))
        goto out;
    vt_writer_config_t wcfg = {.max_queued_spans = 500000, .max_spans_per_txn = 50000};
    if (vt_writer_start(st, &wcfg, &writer) != VT_OK) {
        fprintf(stderr, "voxtrace: cannot start the ingest writer\n");
        goto out;
    }
    app.writer = writer;
    vt_server_config_t cfg = {.host = host,
                              .port = port,
                              .threads = o->threads,
                              .max_body = o->max_body,
                              .max_inflight = VT_MAX((size_t)1 << 30, 2 * o->max_body),
                              .timeout_s = 60,
                              .max_connections = 1024,
                              .routes = vt_api_routes,
                              .not_found = vt_api_ui_get,
                              .store = st,
                              .app = &app};
    char err[256];
    if (vt_server_start(&cfg, &srv, err, sizeof err) != VT_OK) {
        fprintf(stderr, "voxtrace: %s\n", err);
        goto out;
    }
    char base[300];
    snprintf(base, sizeof base, strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u", host,
             vt_server_port(srv));
    printf("voxtrace %s listening on %s\n"
           "  UI:        %s/%s%s%s\n"
           "  API:       %s/v1/ (docs/api.md)\n"
           "  OTLP/HTTP: %s/v1/traces\n"
           "  store:     %s (data folder %s)\n",
           VT_VERSION, base, base, o->web_dir ? " (files from " : "", o->web_dir ? o->web_dir : "",
           o->web_dir ? ")" : "", base, base, o->store, o->data);
    if (key[0]) {
        printf("\nFirst start: created org \"default\" and an admin API key.\n"
               "It is shown only this once; keep it somewhere safe:\n\n"
               "    %s\n\n"
               "Sign in to the UI at %s/ with it; API clients and OTLP exporters send it\n"
               "in the X-API-Key header.\n\n",
               key, base);
        sodium_memzero(key, sizeof key);
    }
    fflush(stdout);

    int sig = 0;
    sigwait(&sigs, &sig);
    vt_log_info("received %s: finishing requests in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    rc = 0;
out:
    sodium_memzero(key, sizeof key);
    /* Order matters: the writer commits what is queued and resumes those requests, then the
     * server sends their answers and stops. */
    vt_writer_stop(writer);
    if (srv) {
        usleep(200 * 1000);
        vt_server_stop(srv);
    }
    st->ops->close(st);
    return rc;
}

int main(int argc, char **argv) {
    if (sodium_init() < 0) {
        fprintf(stderr, "voxtrace: libsodium failed to initialise\n");
        return 1;
    }
    const char *lvl = getenv("VOXTRACE_LOG");
    if (lvl && strcmp(lvl, "debug") == 0)
        vt_log_set_level(VT_LOG_DEBUG);
    opts_t o = {.listen = getenv("VOXTRACE_LISTEN"),
                .data = getenv("VOXTRACE_DATA"),
                .store = getenv("VOXTRACE_STORE"),
                .max_body = 64u << 20};
    if (!o.listen)
        o.listen = "127.0.0.1:4318";
    if (!o.data)
        o.data = "./voxtrace-data";
    if (!o.store)
        o.store = "sqlite";

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_main, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("voxtrace %s\n", VT_VERSION);
        return 0;
    }
    const char *usage = strcmp(cmd, "serve") == 0    ? usage_serve
                        : strcmp(cmd, "orgs") == 0   ? usage_orgs
                        : strcmp(cmd, "keys") == 0   ? usage_keys
                        : strcmp(cmd, "import") == 0 ? usage_import
                        : strcmp(cmd, "demo") == 0   ? usage_demo
                                                     : NULL;
    if (!usage)
        return usage_error(usage_main, "unknown command %s", cmd);
    int rc = parse_opts(argc, argv, 2, &o, usage);
    if (rc)
        return rc;
    if ((o.demo || o.web_dir) && strcmp(cmd, "serve") != 0)
        return usage_error(usage, "%s is an option of serve only", o.demo ? "--demo" : "--web-dir");
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(&o);
    if (strcmp(cmd, "orgs") == 0)
        return cmd_orgs(&o);
    if (strcmp(cmd, "import") == 0)
        return cmd_import(&o);
    if (strcmp(cmd, "demo") == 0)
        return cmd_demo(&o);
    return cmd_keys(&o);
}
