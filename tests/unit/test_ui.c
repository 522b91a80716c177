/*
 * test_ui.c - serving the web UI: the table tools/embed_web.c generates (checked against the
 * files under web/ and by running the tool), path rules, lookups, reading --web-dir safely, and
 * If-None-Match matching (src/api/ui.c, src/api/web_asset.h).
 *
 * Run from the repository root (make does): the embedded table is compared with web/ on disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/ui.h"

static char tool_path[4096]; /* $(BUILD)/tools/embed_web, found next to this test binary */

/* ---- helpers ------------------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir) {
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

/* Reads a whole file into a malloc'd buffer; NULL when it cannot be opened. */
static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    vt_buf_t b;
    vt_buf_init(&b, 0);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(vt_buf_append(&b, chunk, got), VT_OK);
    fclose(f);
    return (unsigned char *)vt_buf_steal(&b, len);
}

/* Runs the embed tool with the given arguments; returns its exit status. */
static int run_tool(char *const args[]) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 2); /* the tool explains refusals on stderr; the test checks the status */
        execv(tool_path, args);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- the embedded table ------------------------------------------------------------------- */

static size_t disk_files;

static int count_file(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)ftw;
    if (flag == FTW_F && !strstr(path, "/."))
        disk_files++;
    return 0;
}

/* Every file under web/ is in the table, byte for byte, with the content type and ETag the
 * shared rules give, sorted by path; and nothing else is. */
static void test_embedded_table_matches_web(void **state) {
    (void)state;
    disk_files = 0;
    if (access("web", F_OK) == 0)
        assert_int_equal(nftw("web", count_file, 8, FTW_PHYS), 0);
    assert_int_equal(vt_web_assets_count, disk_files);
    assert_null(vt_web_assets[vt_web_assets_count].path);
    for (size_t i = 0; i < vt_web_assets_count; i++) {
        const vt_web_asset_t *a = &vt_web_assets[i];
        if (i)
            assert_true(strcmp(vt_web_assets[i - 1].path, a->path) < 0);
        assert_string_equal(a->content_type, vt_web_content_type(a->path));
        char etag[VT_WEB_ETAG_LEN + 1];
        vt_web_etag(a->data, a->len, etag);
        assert_string_equal(a->etag, etag);
        char disk[512];
        snprintf(disk, sizeof disk, "web/%s", a->path);
        size_t len;
        unsigned char *bytes = slurp(disk, &len);
        assert_non_null(bytes);
        assert_int_equal(len, a->len);
        assert_memory_equal(bytes, a->data, len);
        free(bytes);
        /* The lookup the server uses finds every entry. */
        assert_ptr_equal(vt_ui_find(vt_web_assets, vt_web_assets_count, vt_str_c(a->path)), a);
    }
}

/* The tool on a folder of its own: sorted rows, banner, bytes; refusals for unsafe names. */
static void test_generator(void **state) {
    (void)state;
    char dir[] = "/tmp/vt_ui_gen.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char root[128], sub[160], idx[160], js[160], css[160], out[160], bad[160];
    snprintf(root, sizeof root, "%s/web", dir);
    snprintf(sub, sizeof sub, "%s/trace", root);
    snprintf(idx, sizeof idx, "%s/index.html", root);
    snprintf(js, sizeof js, "%s/trace/viewer.js", root);
    snprintf(css, sizeof css, "%s/empty.css", root);
    snprintf(out, sizeof out, "%s/assets.c", dir);
    assert_int_equal(mkdir(root, 0700), 0);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file(idx, "<!doctype html>\n");
    write_file(js, "export {};\n");
    write_file(css, "");

    char *ok[] = {tool_path, out, root, js, idx, css, NULL};
    assert_int_equal(run_tool(ok), 0);
    size_t len;
    char *c = (char *)slurp(out, &len);
    assert_non_null(c);
    assert_non_null(strstr(c, "generated by tools/embed_web.c"));
    assert_non_null(strstr(c, "do not edit"));
    /* Sorted by path whatever the argument order: empty.css, index.html, trace/viewer.js. */
    const char *r0 = strstr(c, "{\"empty.css\", \"text/css; charset=utf-8\", f0, 0, ");
    const char *r1 = strstr(c, "{\"index.html\", \"text/html; charset=utf-8\", f1, 16, ");
    const char *r2 =
        strstr(c, "{\"trace/viewer.js\", \"text/javascript; charset=utf-8\", f2, 11, ");
    assert_non_null(r0);
    assert_non_null(r1);
    assert_non_null(r2);
    assert_true(r0 < r1 && r1 < r2);
    char etag[VT_WEB_ETAG_LEN + 1], want[64];
    vt_web_etag((const unsigned char *)"<!doctype html>\n", 16, etag);
    snprintf(want, sizeof want, "f1, 16, \"\\\"%.16s\\\"\"}", etag + 1);
    assert_non_null(strstr(c, want));
    assert_non_null(strstr(c, "0x3c,0x21,0x64,0x6f")); /* "<!do" */
    assert_non_null(strstr(c, "const size_t vt_web_assets_count = 3;"));
    free(c);

    /* Refusals: a hidden file, an unknown type, a file outside the root. Nothing is written. */
    assert_int_equal(remove(out), 0);
    snprintf(bad, sizeof bad, "%s/.secret.js", root);
    write_file(bad, "x");
    char *hidden[] = {tool_path, out, root, idx, bad, NULL};
    assert_int_equal(run_tool(hidden), 1);
    snprintf(bad, sizeof bad, "%s/notes.docx", root);
    write_file(bad, "x");
    char *unknown[] = {tool_path, out, root, bad, NULL};
    assert_int_equal(run_tool(unknown), 1);
    char *outside[] = {tool_path, out, sub, idx, NULL};
    assert_int_equal(run_tool(outside), 1);
    assert_int_equal(access(out, F_OK), -1);
    rm_tree(dir);
}

/* ---- paths -------------------------------------------------------------------------------- */

static void expect(const char *path, vt_ui_path_kind_t kind, const char *rel) {
    vt_str_t r;
    assert_int_equal(vt_ui_classify(path, &r), kind);
    if (rel)
        assert_true(vt_str_eq_c(r, rel));
}

static void test_classify(void **state) {
    (void)state;
    expect("/", VT_UI_PATH_FILE, "index.html");
    expect("/app.js", VT_UI_PATH_FILE, "app.js");
    expect("/trace/viewer.js", VT_UI_PATH_FILE, "trace/viewer.js");
    expect("/style.css", VT_UI_PATH_FILE, "style.css");
    /* App pages, including ids with dots that are not file extensions. */
    expect("/default/runs", VT_UI_PATH_PAGE, "default/runs");
    expect("/default/runs/", VT_UI_PATH_PAGE, "default/runs/");
    expect("/default/runs/01J0/results/sim.1/traces", VT_UI_PATH_PAGE, NULL);
    expect("/default/runs/01J0/results/call.v2", VT_UI_PATH_PAGE, NULL);
    expect("/v10", VT_UI_PATH_PAGE, "v10");
    /* The API's namespace is never the UI's. */
    expect("/v1", VT_UI_PATH_API, NULL);
    expect("/v1/", VT_UI_PATH_API, NULL);
    expect("/v1/nope", VT_UI_PATH_API, NULL);
    /* Paths that could leave the folder or reach hidden files. */
    expect("/..", VT_UI_PATH_BAD, NULL);
    expect("/../etc/passwd", VT_UI_PATH_BAD, NULL);
    expect("/trace/../../etc/passwd", VT_UI_PATH_BAD, NULL);
    expect("/./app.js", VT_UI_PATH_BAD, NULL);
    expect("/.git/config", VT_UI_PATH_BAD, NULL);
    expect("/trace/.hidden.js", VT_UI_PATH_BAD, NULL);
    expect("//etc/passwd", VT_UI_PATH_BAD, NULL);
    expect("/a//b", VT_UI_PATH_BAD, NULL);
    expect("/a\\..\\b", VT_UI_PATH_BAD, NULL);
    expect("/a\x01", VT_UI_PATH_BAD, NULL);
    expect("app.js", VT_UI_PATH_BAD, NULL);
}

static void test_find(void **state) {
    (void)state;
    static const unsigned char x[1] = {0};
    const vt_web_asset_t t[] = {
        {"a.js", "t", x, 0, "\"1\""},
        {"index.html", "t", x, 0, "\"2\""},
        {"trace/viewer.js", "t", x, 0, "\"3\""},
        {"views/runs.js", "t", x, 0, "\"4\""},
    };
    for (size_t i = 0; i < 4; i++)
        assert_ptr_equal(vt_ui_find(t, 4, vt_str_c(t[i].path)), &t[i]);
    assert_null(vt_ui_find(t, 4, VT_STR("index.htm")));
    assert_null(vt_ui_find(t, 4, VT_STR("index.html2")));
    assert_null(vt_ui_find(t, 4, VT_STR("trace")));
    assert_null(vt_ui_find(t, 4, VT_STR("zzz")));
    assert_null(vt_ui_find(t, 4, VT_STR("")));
    assert_null(vt_ui_find(t, 0, VT_STR("a.js")));
    /* A sized string that is a prefix of a longer C string still matches exactly. */
    assert_ptr_equal(vt_ui_find(t, 4, (vt_str_t){"a.jsX", 4}), &t[0]);
}

/* ---- --web-dir ---------------------------------------------------------------------------- */

static void test_read_disk(void **state) {
    (void)state;
    char dir[] = "/tmp/vt_ui_disk.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char web[128], p[256];
    snprintf(web, sizeof web, "%s/web", dir);
    assert_int_equal(mkdir(web, 0700), 0);
    snprintf(p, sizeof p, "%s/index.html", web);
    write_file(p, "<p>hi</p>");
    snprintf(p, sizeof p, "%s/views", web);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/views/runs.js", web);
    write_file(p, "export const x = 1;\n");
    snprintf(p, sizeof p, "%s/secret.js", dir); /* beside the folder, not in it */
    write_file(p, "SECRET");
    snprintf(p, sizeof p, "%s/out.js", web);
    char target[256];
    snprintf(target, sizeof target, "%s/secret.js", dir);
    assert_int_equal(symlink(target, p), 0);
    snprintf(p, sizeof p, "%s/in.js", web);
    assert_int_equal(symlink("views/runs.js", p), 0);
    snprintf(p, sizeof p, "%s/big.js", web);
    int fd = open(p, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)VT_UI_MAX_FILE + 1), 0);
    close(fd);

    vt_buf_t b;
    vt_buf_init(&b, 0);
    assert_int_equal(vt_ui_read_disk(web, VT_STR("index.html"), &b), VT_OK);
    assert_int_equal(b.len, 9);
    assert_memory_equal(b.data, "<p>hi</p>", 9);
    assert_int_equal(vt_ui_read_disk(web, VT_STR("views/runs.js"), &b), VT_OK);
    assert_int_equal(b.len, 20);
    /* A link that stays inside is followed; one that leads out is not, nor is "..". */
    assert_int_equal(vt_ui_read_disk(web, VT_STR("in.js"), &b), VT_OK);
    assert_int_equal(b.len, 20);
    assert_int_equal(vt_ui_read_disk(web, VT_STR("out.js"), &b), VT_ENOTFOUND);
    assert_int_equal(b.len, 0);
    assert_int_equal(vt_ui_read_disk(web, VT_STR("../secret.js"), &b), VT_ENOTFOUND);
    assert_int_equal(vt_ui_read_disk(web, VT_STR("views"), &b), VT_ENOTFOUND);
    assert_int_equal(vt_ui_read_disk(web, VT_STR("missing.js"), &b), VT_ENOTFOUND);
    assert_int_equal(vt_ui_read_disk(web, VT_STR("big.js"), &b), VT_ETOOBIG);
    /* The folder given with a trailing slash or through a link is the same folder. */
    char alt[160];
    snprintf(alt, sizeof alt, "%s/", web);
    assert_int_equal(vt_ui_read_disk(alt, VT_STR("index.html"), &b), VT_OK);
    snprintf(alt, sizeof alt, "%s/link", dir);
    assert_int_equal(symlink(web, alt), 0);
    assert_int_equal(vt_ui_read_disk(alt, VT_STR("index.html"), &b), VT_OK);
    assert_int_equal(vt_ui_read_disk(alt, VT_STR("out.js"), &b), VT_ENOTFOUND);
    snprintf(alt, sizeof alt, "%s/nope", dir);
    assert_int_equal(vt_ui_read_disk(alt, VT_STR("index.html"), &b), VT_ENOTFOUND);
    vt_buf_free(&b);
    rm_tree(dir);
}

/* ---- caching ------------------------------------------------------------------------------ */

static void test_etag_matches(void **state) {
    (void)state;
    const char *e = "\"00ff00ff00ff00ff\"";
    assert_true(vt_ui_etag_matches("\"00ff00ff00ff00ff\"", e));
    assert_true(vt_ui_etag_matches("W/\"00ff00ff00ff00ff\"", e));
    assert_true(vt_ui_etag_matches("\"aaaa\", \"00ff00ff00ff00ff\"", e));
    assert_true(vt_ui_etag_matches("\"aaaa\" ,W/\"00ff00ff00ff00ff\" ", e));
    assert_true(vt_ui_etag_matches("*", e));
    assert_false(vt_ui_etag_matches("", e));
    assert_false(vt_ui_etag_matches("\"00ff00ff00ff00fe\"", e));
    assert_false(vt_ui_etag_matches("00ff00ff00ff00ff", e)); /* unquoted is another tag */
    assert_false(vt_ui_etag_matches("\"00ff00ff00ff00ff\"x", e));
    assert_false(vt_ui_etag_matches(", ,", e));
}

static void test_content_types(void **state) {
    (void)state;
    assert_string_equal(vt_web_content_type("index.html"), "text/html; charset=utf-8");
    assert_string_equal(vt_web_content_type("trace/viewer.js"), "text/javascript; charset=utf-8");
    assert_string_equal(vt_web_content_type("style.css"), "text/css; charset=utf-8");
    assert_string_equal(vt_web_content_type("logo.svg"), "image/svg+xml");
    assert_null(vt_web_content_type("README"));
    assert_null(vt_web_content_type("archive.tar.gz"));
    assert_null(vt_web_content_type("dir.js/file")); /* the extension of the last segment only */
    assert_null(vt_web_content_type("x.JS"));
}

int main(int argc, char **argv) {
    (void)argc;
    char self[4096];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(tool_path, sizeof tool_path, "%s/../tools/embed_web", dirname(self));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedded_table_matches_web),
        cmocka_unit_test(test_generator),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_read_disk),
        cmocka_unit_test(test_etag_matches),
        cmocka_unit_test(test_content_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
