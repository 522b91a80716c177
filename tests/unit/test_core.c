/*
 * test_core.c - unit tests for src/core: buffers, the JSON writer, hex, the arena and ULIDs.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/ulid.h"

/* ---- buffers ------------------------------------------------------------------------------- */

static void test_buf_append_and_max(void **state) {
    (void)state;
    vt_buf_t b;
    vt_buf_init(&b, 10);
    assert_int_equal(vt_buf_append_c(&b, "hello"), VT_OK);
    assert_int_equal(vt_buf_append(&b, "world", 5), VT_OK);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "helloworld");
    /* One byte over the maximum fails, leaves the contents alone and sticks. */
    assert_int_equal(vt_buf_append_char(&b, '!'), VT_ETOOBIG);
    assert_true(b.failed);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "helloworld");
    assert_int_equal(vt_buf_append(&b, "", 0), VT_ETOOBIG);
    vt_buf_reset(&b);
    assert_false(b.failed);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(vt_buf_printf(&b, "%d-%s", 42, "x"), VT_OK);
    assert_string_equal(b.data, "42-x");
    assert_int_equal(vt_buf_printf(&b, "%s", "1234567"), VT_ETOOBIG);
    assert_string_equal(b.data, "42-x");
    vt_buf_free(&b);
}

static void test_buf_unlimited_and_steal(void **state) {
    (void)state;
    vt_buf_t b;
    vt_buf_init(&b, 0);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(vt_buf_append_str(&b, VT_STR("0123456789")), VT_OK);
    assert_int_equal(b.len, 1000000);
    assert_int_equal(b.data[b.len], '\0');
    assert_memory_equal(b.data + 999990, "0123456789", 10);
    size_t len;
    char *p = vt_buf_steal(&b, &len);
    assert_int_equal(len, 1000000);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(p);
    /* An empty append still yields a NUL-terminated (empty) string. */
    assert_int_equal(vt_buf_append(&b, NULL, 0), VT_OK);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    vt_buf_free(&b);
}

/* ---- hex ----------------------------------------------------------------------------------- */

static void test_hex(void **state) {
    (void)state;
    const uint8_t bytes[] = {0x00, 0x01, 0xab, 0xff, 0x7e};
    char out[11];
    vt_hex_encode(bytes, sizeof bytes, out);
    assert_string_equal(out, "0001abff7e");
    uint8_t back[5];
    assert_true(vt_hex_decode("0001ABff7E", 10, back, 5));
    assert_memory_equal(back, bytes, 5);
    assert_false(vt_hex_decode("0001abff7", 9, back, 5));     /* odd length */
    assert_false(vt_hex_decode("0001abff7e00", 12, back, 5)); /* too long */
    assert_false(vt_hex_decode("0001abfg7e", 10, back, 5));   /* not hex */
    assert_false(vt_hex_decode("0001ab f7e", 10, back, 5));
    assert_true(vt_hex_decode("", 0, back, 0));
}

/* ---- JSON writer --------------------------------------------------------------------------- */

static vt_buf_t g_b;
static vt_jw_t g_w;

static int jw_setup(void **state) {
    (void)state;
    vt_buf_init(&g_b, 0);
    vt_jw_init(&g_w, &g_b);
    return 0;
}

static int jw_teardown(void **state) {
    (void)state;
    vt_buf_free(&g_b);
    return 0;
}

static void test_jw_structure(void **state) {
    (void)state;
    vt_jw_t *w = &g_w;
    vt_jw_obj_begin(w);
    vt_jw_key(w, "a");
    vt_jw_int(w, 1);
    vt_jw_key(w, "b");
    vt_jw_arr_begin(w);
    vt_jw_int(w, INT64_MIN);
    vt_jw_uint(w, UINT64_MAX);
    vt_jw_obj_begin(w);
    vt_jw_key(w, "c");
    vt_jw_null(w);
    vt_jw_key(w, "d");
    vt_jw_cstr(w, NULL);
    vt_jw_obj_end(w);
    vt_jw_arr_begin(w);
    vt_jw_arr_end(w);
    vt_jw_obj_begin(w);
    vt_jw_obj_end(w);
    vt_jw_bool(w, true);
    vt_jw_bool(w, false);
    vt_jw_arr_end(w);
    vt_jw_key_str(w, VT_STR("raw"));
    vt_jw_raw(w, VT_STR("{\"x\":[1]}"));
    vt_jw_key(w, "hex");
    const uint8_t id[] = {0xde, 0xad, 0x01};
    vt_jw_hex(w, id, sizeof id);
    vt_jw_key(w, "e");
    vt_jw_str(w, VT_STR_NULL);
    vt_jw_key(w, "f");
    vt_jw_cstr(w, "");
    vt_jw_obj_end(w);
    assert_false(g_b.failed);
    assert_string_equal(g_b.data, "{\"a\":1,\"b\":[-9223372036854775808,18446744073709551615,"
                                  "{\"c\":null,\"d\":null},[],{},true,false],"
                                  "\"raw\":{\"x\":[1]},\"hex\":\"dead01\",\"e\":\"\",\"f\":\"\"}");
    assert_int_equal(g_w.depth, 0);
}

static void test_jw_escaping(void **state) {
    (void)state;
    vt_jw_arr_begin(&g_w);
    vt_jw_str(&g_w, VT_STR("q\"b\\n\nr\rt\t\x01\x1f\x7f/"));
    vt_jw_str(&g_w, VT_STR("nul\0end"));
    vt_jw_key_str(&g_w, VT_STR("k\"")); /* keys are escaped the same way */
    vt_jw_arr_end(&g_w);
    assert_string_equal(g_b.data, "[\"q\\\"b\\\\n\\nr\\rt\\t\\u0001\\u001f\x7f/\","
                                  "\"nul\\u0000end\",\"k\\\"\":]");
}

static void test_jw_utf8(void **state) {
    (void)state;
    vt_jw_arr_begin(&g_w);
    /* Valid two-, three- and four-byte sequences pass through unchanged. */
    vt_jw_str(&g_w, VT_STR("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
    vt_jw_str(&g_w, VT_STR("a\xff"
                           "b"));                /* never valid in UTF-8 */
    vt_jw_str(&g_w, VT_STR("\xc3"));             /* sequence cut short at the end */
    vt_jw_str(&g_w, VT_STR("\xc0\xaf"));         /* overlong '/' */
    vt_jw_str(&g_w, VT_STR("\xed\xa0\x80"));     /* UTF-16 surrogate */
    vt_jw_str(&g_w, VT_STR("\xf4\x90\x80\x80")); /* above U+10FFFF */
    vt_jw_str(&g_w, VT_STR("\xe2\x82"
                           "x")); /* continuation missing */
    vt_jw_arr_end(&g_w);
#define FFFD "\xef\xbf\xbd"
    assert_string_equal(g_b.data, "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\","
                                  "\"a" FFFD "b\","
                                  "\"" FFFD "\","
                                  "\"" FFFD FFFD "\","
                                  "\"" FFFD FFFD FFFD "\","
                                  "\"" FFFD FFFD FFFD FFFD "\","
                                  "\"" FFFD FFFD "x\"]");
#undef FFFD
}

/* Each double must read back as the same double and contain '.' or an exponent. */
static void test_jw_double(void **state) {
    (void)state;
    const double vals[] = {0.0,
                           -0.0,
                           1.0,
                           -1.0,
                           0.1,
                           1.0 / 3,
                           100.0,
                           1e15,
                           1e16,
                           1e21,
                           1e300,
                           DBL_MAX,
                           DBL_MIN,
                           5e-324,
                           9007199254740993.0,
                           0.1 + 0.2,
                           123456789012345678.0,
                           -2.5e-8,
                           4503599627370497.5};
    for (size_t i = 0; i < VT_ARRAY_LEN(vals); i++) {
        vt_buf_reset(&g_b);
        vt_jw_init(&g_w, &g_b);
        vt_jw_double(&g_w, vals[i]);
        assert_non_null(strpbrk(g_b.data, ".eE"));
        char *end;
        double back = strtod(g_b.data, &end);
        assert_ptr_equal(end, g_b.data + g_b.len);
        assert_memory_equal(&back, &vals[i], sizeof back); /* bit-exact, so -0.0 counts */
    }
    const struct {
        double v;
        const char *text;
    } exact[] = {{1.0, "1.0"},
                 {-0.0, "-0.0"},
                 {0.1, "0.1"},
                 {100.0, "100.0"},
                 {1e21, "1e+21"},
                 {0.1 + 0.2, "0.30000000000000004"},
                 {NAN, "\"NaN\""},
                 {INFINITY, "\"Infinity\""},
                 {-INFINITY, "\"-Infinity\""}};
    for (size_t i = 0; i < VT_ARRAY_LEN(exact); i++) {
        vt_buf_reset(&g_b);
        vt_jw_init(&g_w, &g_b);
        vt_jw_double(&g_w, exact[i].v);
        assert_string_equal(g_b.data, exact[i].text);
    }
}

static void test_jw_over_max(void **state) {
    (void)state;
    vt_buf_t b;
    vt_jw_t w;
    vt_buf_init(&b, 8);
    vt_jw_init(&w, &b);
    vt_jw_arr_begin(&w);
    vt_jw_str(&w, VT_STR("too long for the buffer"));
    vt_jw_arr_end(&w);
    assert_true(b.failed);
    assert_true(b.len <= 8);
    vt_buf_free(&b);
}

/* ---- arena --------------------------------------------------------------------------------- */

static void test_arena_alignment_and_contents(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    char *blocks[200];
    for (size_t n = 0; n < 200; n++) {
        blocks[n] = vt_arena_alloc(&a, n);
        assert_non_null(blocks[n]);
        assert_int_equal((uintptr_t)blocks[n] % _Alignof(max_align_t), 0);
        memset(blocks[n], (int)n, n);
    }
    /* No block overlaps another: each still holds what was written into it. */
    for (size_t n = 0; n < 200; n++)
        for (size_t i = 0; i < n; i++)
            assert_int_equal((unsigned char)blocks[n][i], n);
    uint64_t *z = vt_arena_calloc(&a, 100, sizeof *z);
    assert_non_null(z);
    for (int i = 0; i < 100; i++)
        assert_int_equal(z[i], 0);
    assert_null(vt_arena_calloc(&a, SIZE_MAX / 4, 8)); /* count*size overflows */
    assert_true(a.failed);
    char *s = vt_arena_strndup(&a, "abcdef", 3);
    assert_string_equal(s, "abc");
    vt_str_t c = vt_arena_str(&a, VT_STR("xyz"));
    assert_int_equal(c.n, 3);
    assert_string_equal(c.p, "xyz");
    assert_string_equal(vt_arena_printf(&a, "%s=%d", "k", 7), "k=7");
    vt_arena_free(&a);
}

static void test_arena_cap(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 1 << 20);
    assert_non_null(vt_arena_alloc(&a, 1000));
    assert_false(a.failed);
    assert_null(vt_arena_alloc(&a, 2 << 20)); /* alone bigger than the cap */
    assert_true(a.failed);
    /* Fill up to the cap with 4 KiB blocks: it holds close to 1 MiB, never more. */
    size_t got = 0;
    while (vt_arena_alloc(&a, 4096))
        got += 4096;
    assert_true(a.used_total <= (size_t)1 << 20);
    while (vt_arena_alloc(&a, 1))
        got += 16;
    /* Only chunk headers and the tails of full chunks are lost (before the cap is met). */
    assert_true(got >= (1 << 20) - 8192);
    assert_true(a.used_total <= (size_t)1 << 20);
    vt_str_t s = vt_arena_str(&a, VT_STR("no room"));
    assert_int_equal(s.n, 0);
    assert_string_equal(s.p, "");
    vt_arena_free(&a);

    /* A cap below one standard chunk still allows allocations up to the cap. */
    vt_arena_init(&a, 16 * 1024);
    char *p = vt_arena_alloc(&a, 100);
    assert_non_null(p);
    memset(p, 1, 100);
    assert_null(vt_arena_alloc(&a, 16 * 1024));
    assert_true(a.used_total <= 16 * 1024);
    vt_arena_free(&a);
}

static void test_arena_big_allocations(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    char *small = vt_arena_alloc(&a, 100);
    size_t after_small = a.used_total;
    /* A block bigger than a chunk gets its own chunk, sized to fit... */
    char *big = vt_arena_alloc(&a, 1 << 20);
    assert_non_null(big);
    memset(big, 0xab, 1 << 20);
    assert_true(a.used_total - after_small >= 1 << 20);
    assert_true(a.used_total - after_small < (1 << 20) + 256);
    /* ...and small blocks keep coming from the first chunk's free space. */
    size_t after_big = a.used_total;
    for (int i = 0; i < 100; i++) {
        char *p = vt_arena_alloc(&a, 64);
        assert_non_null(p);
        memset(p, i, 64);
    }
    assert_int_equal(a.used_total, after_big);
    memset(small, 1, 100);
    assert_int_equal((unsigned char)big[(1 << 20) - 1], 0xab);
    vt_arena_free(&a);
    assert_null(a.head);
    assert_int_equal(a.used_total, 0);
}

/* ---- ULID ---------------------------------------------------------------------------------- */

/* Expected strings worked out from the ULID spec: the 128-bit number (48-bit ms, then the 80
 * random bits) written as 26 Crockford base32 digits, most significant first; the first digit
 * carries only 3 bits (130 - 128). */
static void test_ulid_encode_vectors(void **state) {
    (void)state;
    char out[VT_ULID_LEN + 1];
    uint8_t rnd[10] = {0};

    vt_ulid_encode(0, rnd, out);
    assert_string_equal(out, "00000000000000000000000000");

    /* ms = 1 is bit 80 = 5*16: digit 16 from the right (index 9) holds 1. */
    vt_ulid_encode(1, rnd, out);
    assert_string_equal(out, "00000000010000000000000000");

    /* ms = 32 is bit 85 = 5*17: index 8. */
    vt_ulid_encode(32, rnd, out);
    assert_string_equal(out, "00000000100000000000000000");

    /* Top bit of the random part is bit 79 = 5*15 + 4: index 10 holds 16, 'G'. */
    rnd[0] = 0x80;
    vt_ulid_encode(0, rnd, out);
    assert_string_equal(out, "0000000000G000000000000000");

    /* Lowest random byte 0x1f is bits 0-4: last digit 31, 'Z'; 0x3f adds bit 5 (index 24). */
    memset(rnd, 0, sizeof rnd);
    rnd[9] = 0x3f;
    vt_ulid_encode(0, rnd, out);
    assert_string_equal(out, "0000000000000000000000001Z");

    /* The largest ULID the spec allows. */
    memset(rnd, 0xff, sizeof rnd);
    vt_ulid_encode(0xffffffffffffull, rnd, out);
    assert_string_equal(out, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");

    /* The spec's example: time 1469918176385 is "01ARYZ6S41"; the random part
     * "TSV4RRFFQ69G5FAV" is these 80 bits. */
    const uint8_t ex[10] = {0xd6, 0x76, 0x4c, 0x61, 0xef, 0xb9, 0x93, 0x02, 0xbd, 0x5b};
    vt_ulid_encode(1469918176385ull, ex, out);
    assert_string_equal(out, "01ARYZ6S41TSV4RRFFQ69G5FAV");
}

static void test_ulid_new_monotonic(void **state) {
    (void)state;
    char prev[VT_ULID_LEN + 1], cur[VT_ULID_LEN + 1];
    vt_ulid_new(prev);
    assert_true(vt_ulid_valid(vt_str_c(prev)));
    for (int i = 0; i < 10000; i++) {
        vt_ulid_new(cur);
        assert_int_equal(strlen(cur), VT_ULID_LEN);
        assert_true(vt_ulid_valid(vt_str_c(cur)));
        assert_true(strcmp(cur, prev) > 0);
        memcpy(prev, cur, sizeof prev);
    }
    /* The time part is now, in ms. */
    uint64_t ms = 0;
    static const char digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    for (int i = 0; i < 10; i++)
        ms = ms * 32 + (uint64_t)(strchr(digits, cur[i]) - digits);
    uint64_t now = vt_now_ns() / 1000000u;
    assert_true(ms <= now && now - ms < 60000);
}

static void test_ulid_valid(void **state) {
    (void)state;
    assert_true(vt_ulid_valid(VT_STR("01ARYZ6S41TSV4RRFFQ69G5FAV")));
    assert_true(vt_ulid_valid(VT_STR("7ZZZZZZZZZZZZZZZZZZZZZZZZZ")));
    assert_false(vt_ulid_valid(VT_STR("8ZZZZZZZZZZZZZZZZZZZZZZZZZ"))); /* over 128 bits */
    assert_false(vt_ulid_valid(VT_STR("01ARYZ6S41TSV4RRFFQ69G5FA")));  /* 25 chars */
    assert_false(vt_ulid_valid(VT_STR("01ARYZ6S41TSV4RRFFQ69G5FAVX")));
    assert_false(vt_ulid_valid(VT_STR("01ARYZ6S41TSV4RRFFQ69G5FAI"))); /* I, L, O, U excluded */
    assert_false(vt_ulid_valid(VT_STR("01ARYZ6S41TSV4RRFFQ69G5FAL")));
    assert_false(vt_ulid_valid(VT_STR("01ARYZ6S41TSV4RRFFQ69G5FAO")));
    assert_false(vt_ulid_valid(VT_STR("01ARYZ6S41TSV4RRFFQ69G5FAU")));
    assert_false(vt_ulid_valid(VT_STR("01aryz6s41tsv4rrffq69g5fav"))); /* ours are upper case */
    assert_false(vt_ulid_valid(VT_STR("01ARYZ6S41TSV4RR\0FQ69G5FAV")));
    assert_false(vt_ulid_valid(VT_STR("01ARYZ6S41TSV4RR-FQ69G5FAV")));
    assert_false(vt_ulid_valid(VT_STR("")));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_append_and_max),
        cmocka_unit_test(test_buf_unlimited_and_steal),
        cmocka_unit_test(test_hex),
        cmocka_unit_test_setup_teardown(test_jw_structure, jw_setup, jw_teardown),
        cmocka_unit_test_setup_teardown(test_jw_escaping, jw_setup, jw_teardown),
        cmocka_unit_test_setup_teardown(test_jw_utf8, jw_setup, jw_teardown),
        cmocka_unit_test_setup_teardown(test_jw_double, jw_setup, jw_teardown),
        cmocka_unit_test(test_jw_over_max),
        cmocka_unit_test(test_arena_alignment_and_contents),
        cmocka_unit_test(test_arena_cap),
        cmocka_unit_test(test_arena_big_allocations),
        cmocka_unit_test(test_ulid_encode_vectors),
        cmocka_unit_test(test_ulid_new_monotonic),
        cmocka_unit_test(test_ulid_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
