/*
 * store.c - picks the storage back-end a store URL names (--store, VOXTRACE_STORE) and opens it.
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Creates dir and any missing parents with mode 0700: the directory holds the database and
 * everything the users uploaded, which no other local user should read. An existing directory
 * keeps its mode. */
static vt_err_t make_dirs(const char *dir, char *err, size_t errlen) {
    size_t n = strlen(dir);
    char *path = malloc(n + 1);
    if (!path) {
        snprintf(err, errlen, "out of memory");
        return VT_ENOMEM;
    }
    memcpy(path, dir, n + 1);
    vt_err_t e = VT_OK;
    /* Each '/' after the first character ends a parent; the full path comes last. */
    for (size_t i = 1; i <= n && !e; i++) {
        if (i < n && path[i] != '/')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create data directory %s: %s", path, strerror(errno));
            e = VT_EINVAL;
        }
        path[i] = saved;
    }
    if (!e) {
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "data directory %s is not a directory", dir);
            e = VT_EINVAL;
        }
    }
    free(path);
    return e;
}

vt_err_t vt_store_open(const char *url, const char *data_dir, vt_store_t **out, char *err,
                       size_t errlen) {
    *out = NULL;
    if (!url || !*url)
        url = "sqlite";
    if (strcmp(url, "sqlite") == 0) {
        if (!data_dir || !*data_dir) {
            snprintf(err, errlen, "the sqlite store needs a data directory (--data)");
            return VT_EINVAL;
        }
        vt_err_t e = make_dirs(data_dir, err, errlen);
        if (e)
            return e;
        size_t n = strlen(data_dir) + sizeof "/voxtrace.db";
        char *path = malloc(n);
        if (!path) {
            snprintf(err, errlen, "out of memory");
            return VT_ENOMEM;
        }
        snprintf(path, n, "%s/voxtrace.db", data_dir);
        e = vt_store_sqlite_open(path, out, err, errlen);
        free(path);
        return e;
    }
    if (strncmp(url, "sqlite:", 7) == 0) {
        if (!url[7]) {
            snprintf(err, errlen, "store URL 'sqlite:' needs a file path after the colon");
            return VT_EINVAL;
        }
        return vt_store_sqlite_open(url + 7, out, err, errlen);
    }
    if (strncmp(url, "clickhouse://", 13) == 0) {
        snprintf(err, errlen, "ClickHouse store is not built yet");
        return VT_EINVAL;
    }
    snprintf(err, errlen,
             "unknown store URL '%.64s' (expected sqlite, sqlite:PATH or "
             "clickhouse://[user[:password]@]host:port/database)",
             url);
    return VT_EINVAL;
}
