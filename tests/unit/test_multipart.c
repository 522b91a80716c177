/*
 * test_multipart.c - unit tests for src/http/multipart.c.
 *
 * libmicrohttpd's post processor reads the boundary from a live connection's Content-Type, so
 * the parser cannot run on a bare buffer. Each test therefore starts the real HTTP layer on a
 * loopback port with one public route whose handler parses the form and answers with what it
 * found as JSON; the test sends exact bytes over a socket and checks that answer.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/multipart.h"
#include "http/server.h"

/* The limits the handler parses with; each test sets them before sending. */
static vt_mp_limits_t g_limits;

static void write_form(vt_jw_t *w, vt_err_t e, const vt_mp_form_t *f, const char *msg) {
    vt_jw_obj_begin(w);
    vt_jw_key(w, "err");
    vt_jw_int(w, e);
    vt_jw_key(w, "msg");
    vt_jw_cstr(w, e ? msg : NULL);
    vt_jw_key(w, "field");
    vt_jw_cstr(w, f->field);
    vt_jw_key(w, "parts");
    vt_jw_arr_begin(w);
    for (size_t i = 0; e == VT_OK && i < f->n; i++) {
        const vt_mp_part_t *p = &f->parts[i];
        vt_jw_obj_begin(w);
        vt_jw_key(w, "name");
        vt_jw_cstr(w, p->name);
        vt_jw_key(w, "filename");
        vt_jw_cstr(w, p->filename);
        vt_jw_key(w, "content_type");
        vt_jw_cstr(w, p->content_type);
        vt_jw_key(w, "hex"); /* hex keeps NUL and non-UTF-8 bytes exact */
        vt_jw_hex(w, (const uint8_t *)p->data, p->len);
        vt_jw_key(w, "nul_terminated");
        vt_jw_bool(w, p->data[p->len] == '\0');
        vt_jw_obj_end(w);
    }
    vt_jw_arr_end(w);
    if (e == VT_OK) {
        vt_jw_key(w, "count_a");
        vt_jw_uint(w, vt_multipart_count(f, "a"));
        const vt_mp_part_t *first = vt_multipart_get(f, "a");
        vt_jw_key(w, "get_a_index");
        vt_jw_int(w, first ? (int64_t)(first - f->parts) : -1);
    }
    vt_jw_obj_end(w);
}

static void form_handler(vt_req_t *r) {
    vt_mp_form_t f;
    char msg[256] = "";
    vt_err_t e = vt_multipart_parse(r, &g_limits, &f, msg, sizeof msg);
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    write_form(&w, e, &f, msg);
    vt_req_reply_json(r, 200);
}

static const vt_route_t routes[] = {
    {"POST", "/form", form_handler, 0, VT_ROUTE_PUBLIC},
    {NULL, NULL, NULL, 0, 0},
};

typedef struct {
    vt_server_t *srv;
} fixture_t;

static int setup(void **state) {
    fixture_t *fx = calloc(1, sizeof *fx);
    vt_server_config_t cfg = {.host = "127.0.0.1",
                              .threads = 2,
                              .max_body = 4u << 20,
                              .max_inflight = 64u << 20,
                              .timeout_s = 10,
                              .max_connections = 16,
                              .routes = routes};
    char err[200];
    if (!fx || vt_server_start(&cfg, &fx->srv, err, sizeof err) != VT_OK) {
        free(fx);
        return -1;
    }
    g_limits = (vt_mp_limits_t){.max_parts = 16, .max_part_bytes = 1u << 20};
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture_t *fx = *state;
    vt_server_stop(fx->srv);
    free(fx);
    return 0;
}

/* Sends one POST /form with the given Content-Type (NULL = none) and body; returns the parsed
 * JSON answer (the caller decrefs). */
static json_t *post(fixture_t *fx, const char *content_type, const char *body, size_t len) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(vt_server_port(fx->srv))};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    vt_buf_t req;
    vt_buf_init(&req, 0);
    vt_buf_printf(&req, "POST /form HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    if (content_type)
        vt_buf_printf(&req, "Content-Type: %s\r\n", content_type);
    vt_buf_printf(&req, "Content-Length: %zu\r\n\r\n", len);
    vt_buf_append(&req, body, len);
    for (size_t off = 0; off < req.len;) {
        ssize_t n = write(fd, req.data + off, req.len - off);
        assert_true(n > 0);
        off += (size_t)n;
    }
    vt_buf_free(&req);
    vt_buf_t resp;
    vt_buf_init(&resp, 0);
    char tmp[4096];
    ssize_t n;
    while ((n = read(fd, tmp, sizeof tmp)) > 0)
        vt_buf_append(&resp, tmp, (size_t)n);
    close(fd);
    assert_non_null(resp.data);
    assert_memory_equal(resp.data, "HTTP/1.1 200", 12);
    const char *json_start = strstr(resp.data, "\r\n\r\n");
    assert_non_null(json_start);
    json_error_t jerr;
    json_t *root = json_loads(json_start + 4, 0, &jerr);
    vt_buf_free(&resp);
    assert_non_null(root);
    return root;
}

static json_t *post_c(fixture_t *fx, const char *content_type, const char *body) {
    return post(fx, content_type, body, strlen(body));
}

static int64_t err_of(json_t *root) {
    return json_integer_value(json_object_get(root, "err"));
}

static json_t *part(json_t *root, size_t i) {
    return json_array_get(json_object_get(root, "parts"), i);
}

static const char *str_of(json_t *o, const char *key) {
    return json_string_value(json_object_get(o, key));
}

/* Hex of a C string, for comparing with a part's "hex". */
static const char *hex_of(const void *p, size_t n) {
    static char out[8192];
    assert_true(2 * n < sizeof out);
    vt_hex_encode(p, n, out);
    return out;
}

#define CT "multipart/form-data; boundary=XyZ"

/* ---- tests --------------------------------------------------------------------------------- */

static void test_fields_and_file(void **state) {
    fixture_t *fx = *state;
    const char body[] =
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"agent_id\"\r\n"
        "\r\n"
        "agent-7\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"transcript\"; filename=\"t.json\"\r\n"
        "Content-Type: application/json\r\n"
        "\r\n"
        "[{\"role\":\"user\",\r\n\"content\":\"hi\"}]\r\n"
        "--XyZ--\r\n";
    json_t *root = post_c(fx, CT, body);
    assert_int_equal(err_of(root), VT_OK);
    assert_int_equal(json_array_size(json_object_get(root, "parts")), 2);
    json_t *p0 = part(root, 0), *p1 = part(root, 1);
    assert_string_equal(str_of(p0, "name"), "agent_id");
    assert_null(str_of(p0, "filename"));
    assert_null(str_of(p0, "content_type"));
    assert_string_equal(str_of(p0, "hex"), hex_of("agent-7", 7));
    assert_true(json_is_true(json_object_get(p0, "nul_terminated")));
    assert_string_equal(str_of(p1, "name"), "transcript");
    assert_string_equal(str_of(p1, "filename"), "t.json");
    assert_string_equal(str_of(p1, "content_type"), "application/json");
    /* A CRLF inside the value belongs to the value; only the one before the boundary does not. */
    const char *want = "[{\"role\":\"user\",\r\n\"content\":\"hi\"}]";
    assert_string_equal(str_of(p1, "hex"), hex_of(want, strlen(want)));
    assert_true(json_is_true(json_object_get(p1, "nul_terminated")));
    json_decref(root);
}

static void test_binary_and_boundary_lookalikes(void **state) {
    fixture_t *fx = *state;
    /* NUL bytes, 0xFF, and "\r\n--" followed by something that is not the boundary. */
    const char value[] = "RIFF\0\0\xff\xfe\r\n--XyQ not the end\r\n--Xy";
    size_t vlen = sizeof value - 1;
    vt_buf_t b;
    vt_buf_init(&b, 0);
    vt_buf_append_c(&b, "--XyZ\r\nContent-Disposition: form-data; name=\"audio\"; "
                        "filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n");
    vt_buf_append(&b, value, vlen);
    vt_buf_append_c(&b, "\r\n--XyZ--\r\n");
    json_t *root = post(fx, CT, b.data, b.len);
    vt_buf_free(&b);
    assert_int_equal(err_of(root), VT_OK);
    assert_int_equal(json_array_size(json_object_get(root, "parts")), 1);
    assert_string_equal(str_of(part(root, 0), "hex"), hex_of(value, vlen));
    json_decref(root);
}

static void test_empty_values_and_repeats(void **state) {
    fixture_t *fx = *state;
    const char body[] = "--XyZ\r\n"
                        "Content-Disposition: form-data; name=\"a\"\r\n\r\n"
                        "\r\n"
                        "--XyZ\r\n"
                        "Content-Disposition: form-data; name=\"audio\"; filename=\"\"\r\n"
                        "Content-Type: application/octet-stream\r\n\r\n"
                        "\r\n"
                        "--XyZ\r\n"
                        "Content-Disposition: form-data; name=\"a\"\r\n\r\n"
                        "second\r\n"
                        "--XyZ--\r\n";
    json_t *root = post_c(fx, CT, body);
    assert_int_equal(err_of(root), VT_OK);
    /* Empty values are parts of length 0, not missing parts. */
    assert_int_equal(json_array_size(json_object_get(root, "parts")), 3);
    assert_string_equal(str_of(part(root, 0), "name"), "a");
    assert_string_equal(str_of(part(root, 0), "hex"), "");
    assert_string_equal(str_of(part(root, 1), "name"), "audio");
    assert_string_equal(str_of(part(root, 1), "filename"), "");
    assert_string_equal(str_of(part(root, 1), "hex"), "");
    assert_string_equal(str_of(part(root, 2), "hex"), hex_of("second", 6));
    assert_int_equal(json_integer_value(json_object_get(root, "count_a")), 2);
    assert_int_equal(json_integer_value(json_object_get(root, "get_a_index")), 0);
    json_decref(root);
}

static void test_large_part_spans_buffers(void **state) {
    fixture_t *fx = *state;
    /* Larger than the post processor's internal buffer, so it arrives in several pieces. */
    size_t n = 300 * 1000;
    vt_buf_t b;
    vt_buf_init(&b, 0);
    vt_buf_append_c(&b,
                    "preamble that must be ignored\r\n--XyZ\r\n"
                    "Content-Disposition: form-data; name=\"traces\"; filename=\"t.json\"\r\n\r\n");
    size_t start = b.len;
    for (size_t i = 0; i < n; i++)
        vt_buf_append_char(&b, (char)('a' + (i * 7) % 26));
    vt_buf_append_c(&b, "\r\n--XyZ--\r\n");
    json_t *root = post(fx, "multipart/form-data; boundary=\"XyZ\"", b.data, b.len);
    assert_int_equal(err_of(root), VT_OK);
    assert_int_equal(json_array_size(json_object_get(root, "parts")), 1);
    const char *hex = str_of(part(root, 0), "hex");
    assert_int_equal(strlen(hex), 2 * n);
    char *want = malloc(2 * n + 1);
    vt_hex_encode((const uint8_t *)b.data + start, n, want);
    assert_string_equal(hex, want);
    free(want);
    vt_buf_free(&b);
    json_decref(root);
}

static void test_part_caps(void **state) {
    fixture_t *fx = *state;
    static const vt_mp_cap_t caps[] = {{"audio", 10}};
    g_limits = (vt_mp_limits_t){.max_parts = 16, .max_part_bytes = 4, .caps = caps, .n_caps = 1};
    /* audio may hold 10 bytes; other fields 4. */
    json_t *root = post_c(fx, CT,
                          "--XyZ\r\nContent-Disposition: form-data; name=\"audio\"\r\n\r\n"
                          "0123456789\r\n"
                          "--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n"
                          "abcd\r\n--XyZ--\r\n");
    assert_int_equal(err_of(root), VT_OK);
    json_decref(root);
    root = post_c(fx, CT,
                  "--XyZ\r\nContent-Disposition: form-data; name=\"audio\"\r\n\r\n"
                  "0123456789A\r\n--XyZ--\r\n");
    assert_int_equal(err_of(root), VT_ETOOBIG);
    assert_string_equal(str_of(root, "field"), "audio");
    assert_string_equal(str_of(root, "msg"), "Form field audio exceeds 10 bytes");
    json_decref(root);
    root = post_c(fx, CT,
                  "--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n"
                  "abcde\r\n--XyZ--\r\n");
    assert_int_equal(err_of(root), VT_ETOOBIG);
    assert_string_equal(str_of(root, "field"), "x");
    json_decref(root);
}

static void test_too_many_parts(void **state) {
    fixture_t *fx = *state;
    g_limits.max_parts = 2;
    const char one[] = "--XyZ\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\nv\r\n";
    vt_buf_t b;
    vt_buf_init(&b, 0);
    for (int i = 0; i < 2; i++)
        vt_buf_append_c(&b, one);
    vt_buf_append_c(&b, "--XyZ--\r\n");
    json_t *root = post(fx, CT, b.data, b.len);
    assert_int_equal(err_of(root), VT_OK);
    json_decref(root);
    vt_buf_reset(&b);
    for (int i = 0; i < 3; i++)
        vt_buf_append_c(&b, one);
    vt_buf_append_c(&b, "--XyZ--\r\n");
    root = post(fx, CT, b.data, b.len);
    assert_int_equal(err_of(root), VT_EINVAL);
    assert_string_equal(str_of(root, "msg"), "The form has more than 2 parts");
    json_decref(root);
    vt_buf_free(&b);
}

static void test_malformed_bodies(void **state) {
    fixture_t *fx = *state;
    /* No closing boundary. */
    json_t *root = post_c(fx, CT,
                          "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
                          "value without end");
    assert_int_equal(err_of(root), VT_EINVAL);
    assert_non_null(strstr(str_of(root, "msg"), "closing boundary"));
    json_decref(root);
    /* A part without a name. */
    root = post_c(fx, CT, "--XyZ\r\nContent-Disposition: form-data\r\n\r\nv\r\n--XyZ--\r\n");
    assert_int_equal(err_of(root), VT_EINVAL);
    assert_non_null(strstr(str_of(root, "msg"), "no name"));
    json_decref(root);
    /* Garbage where the next boundary should be. */
    root = post_c(fx, CT,
                  "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--XyZ"
                  "garbage");
    assert_int_equal(err_of(root), VT_EINVAL);
    json_decref(root);
    /* An encoding that would need decoding. */
    root = post_c(fx, CT,
                  "--XyZ\r\nContent-Disposition: form-data; name=\"audio\"\r\n"
                  "Content-Transfer-Encoding: base64\r\n\r\nUklGRg==\r\n--XyZ--\r\n");
    assert_int_equal(err_of(root), VT_EINVAL);
    assert_string_equal(str_of(root, "field"), "audio");
    json_decref(root);
}

static void test_epilogue_ignored(void **state) {
    fixture_t *fx = *state;
    /* RFC 2046: whatever follows the closing delimiter is not part of the form. */
    json_t *root = post_c(fx, CT,
                          "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n"
                          "--XyZ--\r\nan epilogue\r\n--XyZ\r\nContent-Disposition: form-data; "
                          "name=\"b\"\r\n\r\nw\r\n--XyZ--\r\n");
    assert_int_equal(err_of(root), VT_OK);
    assert_int_equal(json_array_size(json_object_get(root, "parts")), 1);
    assert_string_equal(str_of(part(root, 0), "name"), "a");
    assert_string_equal(str_of(part(root, 0), "hex"), hex_of("v", 1));
    json_decref(root);
    /* A closing delimiter without its final CRLF ends the form too. */
    root =
        post_c(fx, CT, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--XyZ--");
    assert_int_equal(err_of(root), VT_OK);
    assert_int_equal(json_array_size(json_object_get(root, "parts")), 1);
    json_decref(root);
    /* A form with no parts. */
    root = post_c(fx, CT, "--XyZ--\r\ntrailing");
    assert_int_equal(err_of(root), VT_OK);
    assert_int_equal(json_array_size(json_object_get(root, "parts")), 0);
    json_decref(root);
}

static void test_content_types(void **state) {
    fixture_t *fx = *state;
    const char body[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--XyZ--\r\n";
    json_t *root = post_c(fx, "application/json", body);
    assert_int_equal(err_of(root), VT_EMEDIA);
    json_decref(root);
    root = post_c(fx, NULL, body);
    assert_int_equal(err_of(root), VT_EMEDIA);
    json_decref(root);
    /* Form-urlencoded is a form too, but not the one this parser accepts. */
    root = post_c(fx, "application/x-www-form-urlencoded", "a=v");
    assert_int_equal(err_of(root), VT_EMEDIA);
    json_decref(root);
    root = post_c(fx, "multipart/form-data", body);
    assert_int_equal(err_of(root), VT_EINVAL);
    assert_non_null(strstr(str_of(root, "msg"), "boundary"));
    json_decref(root);
    root = post_c(fx, "Multipart/Form-Data; boundary=XyZ", body);
    assert_int_equal(err_of(root), VT_OK);
    assert_int_equal(json_array_size(json_object_get(root, "parts")), 1);
    json_decref(root);
    /* No boundary line at all: an empty form. */
    root = post_c(fx, CT, "");
    assert_int_equal(err_of(root), VT_OK);
    assert_int_equal(json_array_size(json_object_get(root, "parts")), 0);
    json_decref(root);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fields_and_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_and_boundary_lookalikes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_values_and_repeats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_part_spans_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_part_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_epilogue_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_types, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
