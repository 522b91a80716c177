/*
 * test_paging.c - unit tests for src/api/paging.c: page_size parsing (default, clamping,
 * rejects) and page tokens (round trip, malformed tokens, length limits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "api/paging.h"

/* ---- page_size ----------------------------------------------------------------------------- */

static size_t size_ok(const char *text, size_t def, size_t max) {
    char err[96];
    size_t out = 12345;
    vt_err_t e = vt_paging_size(text, def, max, &out, err, sizeof err);
    if (e != VT_OK)
        fail_msg("page_size %s: unexpected error %s", text ? text : "(null)", err);
    return out;
}

static void size_bad(const char *text, const char *want) {
    char err[96] = "";
    size_t out = 777;
    assert_int_equal(vt_paging_size(text, 50, 100, &out, err, sizeof err), VT_EINVAL);
    assert_string_equal(err, want);
    assert_int_equal(out, 777); /* untouched on failure */
}

static void test_size_defaults_and_clamps(void **state) {
    (void)state;
    assert_int_equal(size_ok(NULL, 50, 100), 50);
    assert_int_equal(size_ok("0", 50, 100), 50);
    assert_int_equal(size_ok("000", 50, 250), 50);
    assert_int_equal(size_ok("1", 50, 100), 1);
    assert_int_equal(size_ok("100", 50, 100), 100);
    assert_int_equal(size_ok("101", 50, 100), 100);
    assert_int_equal(size_ok("250", 50, 250), 250);
    assert_int_equal(size_ok("251", 50, 250), 250);
    /* Far beyond size_t: saturates and clamps instead of wrapping around to something small. */
    assert_int_equal(size_ok("99999999999999999999999999999999999999", 50, 100), 100);
    assert_int_equal(size_ok("18446744073709551617", 50, 100), 100);
    /* A default above the maximum is clamped too. */
    assert_int_equal(size_ok(NULL, 50, 20), 20);
}

static void test_size_rejects(void **state) {
    (void)state;
    size_bad("-1", "must not be negative");
    size_bad("-0", "must not be negative");
    size_bad("", "must be a number");
    size_bad("abc", "must be a number");
    size_bad("10x", "must be a number");
    size_bad("+10", "must be a number");
    size_bad(" 10", "must be a number");
    size_bad("1.5", "must be a number");
    size_bad("1e3", "must be a number");
    size_bad("5-", "must be a number");
}

/* ---- tokens -------------------------------------------------------------------------------- */

static void round_trip(vt_arena_t *a, const char *cursor) {
    char *token = vt_paging_token_encode(a, cursor);
    assert_non_null(token);
    /* URL-safe alphabet, no padding: the token needs no escaping in a query string. */
    for (const char *c = token; *c; c++)
        assert_true((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                    (*c >= '0' && *c <= '9') || *c == '-' || *c == '_');
    const char *back = NULL;
    char err[96];
    assert_int_equal(vt_paging_token_decode(a, token, &back, err, sizeof err), VT_OK);
    assert_string_equal(back, cursor);
}

static void test_token_round_trip(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 1 << 20);
    round_trip(&a, "01J9ZQ3V6Y8K2M4N5P7R9S0T1V");
    round_trip(&a, "1732406400000:01J9ZQ3V6Y8K2M4N5P7R9S0T1V");
    round_trip(&a, "x");
    round_trip(&a, "xy");
    round_trip(&a, "xyz");
    /* Bytes that would need '+' and '/' in standard base64, and non-ASCII. */
    round_trip(&a, "\xfb\xff\xbf?>~");
    round_trip(&a, "sim id with spaces/and/slashes?&=");
    /* The longest cursor whose token fits the limit. */
    char big[VT_PAGING_MAX_TOKEN / 4 * 3 + 1];
    memset(big, 'c', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    round_trip(&a, big);
    /* A known value, so the encoding itself is pinned down. */
    char *t = vt_paging_token_encode(&a, "\xfb\xff");
    assert_string_equal(t, "-_8");
    vt_arena_free(&a);
}

static void token_bad(vt_arena_t *a, const char *token, const char *want) {
    const char *cursor = "unchanged";
    char err[96] = "";
    assert_int_equal(vt_paging_token_decode(a, token, &cursor, err, sizeof err), VT_EINVAL);
    assert_string_equal(err, want);
    assert_string_equal(cursor, "unchanged");
}

static void test_token_malformed(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 1 << 20);
    const char *not_ours = "is not a page token from this API";
    const char *wrong_len = "is not a page token from this API (wrong length)";
    token_bad(&a, "", wrong_len);
    char big[VT_PAGING_MAX_TOKEN + 2];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    token_bad(&a, big, wrong_len);
    token_bad(&a, "abc$", not_ours);  /* outside the alphabet */
    token_bad(&a, "ab+/", not_ours);  /* standard base64, not base64url */
    token_bad(&a, "eHl6=", not_ours); /* padding is never produced, so never accepted */
    token_bad(&a, "eHl", not_ours);   /* non-zero leftover bits: not what the encoder writes */
    token_bad(&a, "e", not_ours);     /* a lone character cannot hold a byte */
    token_bad(&a, "eHl 6", not_ours); /* blanks */
    token_bad(&a, "AA", not_ours);    /* decodes to a NUL byte */
    token_bad(&a, "YQBi", not_ours);  /* "a\0b": a NUL inside the cursor */
    /* The valid neighbours of those rejects do decode. */
    const char *cursor = NULL;
    char err[96];
    assert_int_equal(vt_paging_token_decode(&a, "eHk", &cursor, err, sizeof err), VT_OK);
    assert_string_equal(cursor, "xy");
    assert_int_equal(vt_paging_token_decode(&a, "eHl6", &cursor, err, sizeof err), VT_OK);
    assert_string_equal(cursor, "xyz");
    vt_arena_free(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_defaults_and_clamps),
        cmocka_unit_test(test_size_rejects),
        cmocka_unit_test(test_token_round_trip),
        cmocka_unit_test(test_token_malformed),
    };
    return cmocka_run_group_tests_name("paging", tests, NULL, NULL);
}
