/*
 * test_session.c - the UI's stateless session cookies (src/http/session.c): signing and checking
 * a value, tampering, expiry, and verification against a real SQLite store (unknown and revoked
 * keys, scopes read at verification time).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/session.h"

static const int64_t NOW = 1700000000;

static void fill_hash(uint8_t h[32], uint8_t seed) {
    for (int i = 0; i < 32; i++)
        h[i] = (uint8_t)(seed + 7 * i);
}

/* ---- the cookie value on its own ---------------------------------------------------------- */

static void test_sign_and_check(void **state) {
    (void)state;
    uint8_t h[32], other[32];
    fill_hash(h, 1);
    fill_hash(other, 2);
    char v[VT_SESSION_VALUE_LEN + 1];
    vt_session_sign("vtk_AbCd-_x9", h, NOW + 100, v);
    assert_int_equal(strlen(v), VT_SESSION_VALUE_LEN);
    /* Cookie-safe: base64url only, no padding. */
    for (size_t i = 0; i < VT_SESSION_VALUE_LEN; i++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", v[i]));

    char prefix[VT_KEY_PREFIX_LEN + 1];
    int64_t exp = 0;
    assert_int_equal(vt_session_decode(vt_str_c(v), prefix, &exp), VT_OK);
    assert_string_equal(prefix, "vtk_AbCd-_x9");
    assert_int_equal(exp, NOW + 100);

    assert_int_equal(vt_session_check(vt_str_c(v), h, NOW), VT_OK);
    assert_int_equal(vt_session_check(vt_str_c(v), h, NOW + 99), VT_OK);
    assert_int_equal(vt_session_check(vt_str_c(v), h, NOW + 100), VT_EUNAUTH); /* expired */
    assert_int_equal(vt_session_check(vt_str_c(v), other, NOW), VT_EUNAUTH);   /* other key */

    /* The same inputs sign to the same value; another expiry to another one. */
    char v2[VT_SESSION_VALUE_LEN + 1];
    vt_session_sign("vtk_AbCd-_x9", h, NOW + 100, v2);
    assert_string_equal(v, v2);
    vt_session_sign("vtk_AbCd-_x9", h, NOW + 101, v2);
    assert_string_not_equal(v, v2);
}

/* Changing any one character of the value breaks it: the MAC covers the prefix and the expiry
 * (extending a session by editing the cookie must not work). */
static void test_tampering(void **state) {
    (void)state;
    uint8_t h[32];
    fill_hash(h, 9);
    char v[VT_SESSION_VALUE_LEN + 1];
    vt_session_sign("vtk_abcdefgh", h, NOW + 3600, v);
    for (size_t i = 0; i < VT_SESSION_VALUE_LEN; i++) {
        char t[VT_SESSION_VALUE_LEN + 1];
        memcpy(t, v, sizeof t);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        assert_int_equal(vt_session_check(vt_str_c(t), h, NOW), VT_EUNAUTH);
    }
    /* Wrong lengths and characters outside base64url. */
    assert_int_equal(vt_session_check((vt_str_t){v, VT_SESSION_VALUE_LEN - 1}, h, NOW), VT_EUNAUTH);
    char longer[VT_SESSION_VALUE_LEN + 2];
    snprintf(longer, sizeof longer, "%sA", v);
    assert_int_equal(vt_session_check(vt_str_c(longer), h, NOW), VT_EUNAUTH);
    char odd[VT_SESSION_VALUE_LEN + 1];
    memcpy(odd, v, sizeof odd);
    odd[10] = '+';
    assert_int_equal(vt_session_check(vt_str_c(odd), h, NOW), VT_EUNAUTH);
    char prefix[VT_KEY_PREFIX_LEN + 1];
    int64_t exp;
    assert_int_equal(vt_session_decode(VT_STR(""), prefix, &exp), VT_EUNAUTH);
    assert_int_equal(vt_session_decode(VT_STR("not a cookie"), prefix, &exp), VT_EUNAUTH);
}

/* A prefix that could not be a key's (a NUL, a quote) is refused before any store lookup. */
static void test_decode_refuses_odd_prefix(void **state) {
    (void)state;
    uint8_t h[32];
    fill_hash(h, 3);
    char v[VT_SESSION_VALUE_LEN + 1], prefix[VT_KEY_PREFIX_LEN + 1];
    int64_t exp;
    vt_session_sign("vtk_ab'd\0fgh", h, NOW + 10, v);
    assert_int_equal(vt_session_decode(vt_str_c(v), prefix, &exp), VT_EUNAUTH);
}

/* ---- against a store ---------------------------------------------------------------------- */

typedef struct {
    char dir[64];
    vt_store_t *s;
    vt_arena_t a;
    int64_t org;
    char key[VT_KEY_LEN + 1];
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
    snprintf(f->dir, sizeof f->dir, "/tmp/vt_session_test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char db[96], err[256] = "";
    snprintf(db, sizeof db, "%s/t.db", f->dir);
    assert_int_equal(vt_store_sqlite_open(db, &f->s, err, sizeof err), VT_OK);
    vt_arena_init(&f->a, 0);
    vt_org_t o;
    assert_int_equal(f->s->ops->org_create(f->s, "acme", "Acme", &f->a, &o), VT_OK);
    f->org = o.id;
    assert_int_equal(vt_auth_key_create(f->s, f->org, "ui", VT_SCOPE_READ | VT_SCOPE_WRITE, f->key),
                     VT_OK);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx_t *f = *state;
    f->s->ops->close(f->s);
    vt_arena_free(&f->a);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void test_issue_and_verify(void **state) {
    fx_t *f = *state;
    char v[VT_SESSION_VALUE_LEN + 1], err[160] = "";
    int64_t org = 0;
    uint32_t scopes = 0;
    assert_int_equal(
        vt_session_issue(f->s, &f->a, vt_str_c(f->key), NOW, v, &org, &scopes, err, sizeof err),
        VT_OK);
    assert_int_equal(org, f->org);
    assert_int_equal(scopes, VT_SCOPE_READ | VT_SCOPE_WRITE);
    char prefix[VT_KEY_PREFIX_LEN + 1];
    int64_t exp;
    assert_int_equal(vt_session_decode(vt_str_c(v), prefix, &exp), VT_OK);
    assert_memory_equal(prefix, f->key, VT_KEY_PREFIX_LEN);
    assert_int_equal(exp, NOW + VT_SESSION_TTL_S);

    org = 0;
    scopes = 0;
    assert_int_equal(
        vt_session_verify(f->s, &f->a, vt_str_c(v), NOW + 60, &org, &scopes, err, sizeof err),
        VT_OK);
    assert_int_equal(org, f->org);
    assert_int_equal(scopes, VT_SCOPE_READ | VT_SCOPE_WRITE);

    /* Twelve hours later it has expired. */
    assert_int_equal(vt_session_verify(f->s, &f->a, vt_str_c(v), NOW + VT_SESSION_TTL_S, &org,
                                       &scopes, err, sizeof err),
                     VT_EUNAUTH);
    assert_non_null(strstr(err, "expired"));
}

static void test_issue_refuses_bad_keys(void **state) {
    fx_t *f = *state;
    char v[VT_SESSION_VALUE_LEN + 1], err[160];
    int64_t org;
    uint32_t scopes;
    char wrong[VT_KEY_LEN + 1];
    memcpy(wrong, f->key, sizeof wrong);
    wrong[VT_KEY_LEN - 1] = wrong[VT_KEY_LEN - 1] == 'A' ? 'B' : 'A';
    assert_int_equal(
        vt_session_issue(f->s, &f->a, vt_str_c(wrong), NOW, v, &org, &scopes, err, sizeof err),
        VT_EUNAUTH);
    assert_int_equal(
        vt_session_issue(f->s, &f->a, VT_STR("vtk_short"), NOW, v, &org, &scopes, err, sizeof err),
        VT_EUNAUTH);
}

/* Only a value MACed with the key's stored hash is accepted: the hash is the secret that keeps
 * anyone who knows a key's public prefix from making sessions for it. */
static void test_verify_needs_the_keys_hash(void **state) {
    fx_t *f = *state;
    char prefix[VT_KEY_PREFIX_LEN + 1];
    memcpy(prefix, f->key, VT_KEY_PREFIX_LEN);
    prefix[VT_KEY_PREFIX_LEN] = '\0';
    uint8_t forged[32];
    fill_hash(forged, 42);
    char v[VT_SESSION_VALUE_LEN + 1], err[160] = "";
    int64_t org;
    uint32_t scopes;
    vt_session_sign(prefix, forged, NOW + 100, v);
    assert_int_equal(
        vt_session_verify(f->s, &f->a, vt_str_c(v), NOW, &org, &scopes, err, sizeof err),
        VT_EUNAUTH);
    assert_non_null(strstr(err, "Invalid session"));

    vt_key_t k;
    assert_int_equal(f->s->ops->key_find_by_prefix(f->s, prefix, &f->a, &k), VT_OK);
    vt_session_sign(prefix, k.hash, NOW + 100, v);
    assert_int_equal(
        vt_session_verify(f->s, &f->a, vt_str_c(v), NOW, &org, &scopes, err, sizeof err), VT_OK);
    /* A prefix no key has. */
    vt_session_sign("vtk_nosuchky", k.hash, NOW + 100, v);
    assert_int_equal(
        vt_session_verify(f->s, &f->a, vt_str_c(v), NOW, &org, &scopes, err, sizeof err),
        VT_EUNAUTH);
}

/* Revoking the key ends every session made with it. */
static void test_revoked_key_ends_sessions(void **state) {
    fx_t *f = *state;
    char v[VT_SESSION_VALUE_LEN + 1], err[160] = "";
    int64_t org;
    uint32_t scopes;
    assert_int_equal(
        vt_session_issue(f->s, &f->a, vt_str_c(f->key), NOW, v, &org, &scopes, err, sizeof err),
        VT_OK);
    char prefix[VT_KEY_PREFIX_LEN + 1];
    memcpy(prefix, f->key, VT_KEY_PREFIX_LEN);
    prefix[VT_KEY_PREFIX_LEN] = '\0';
    assert_int_equal(f->s->ops->key_revoke(f->s, prefix, 1), VT_OK);
    assert_int_equal(
        vt_session_verify(f->s, &f->a, vt_str_c(v), NOW + 1, &org, &scopes, err, sizeof err),
        VT_EUNAUTH);
    assert_non_null(strstr(err, "revoked"));
    assert_int_equal(
        vt_session_issue(f->s, &f->a, vt_str_c(f->key), NOW, v, &org, &scopes, err, sizeof err),
        VT_EUNAUTH);
}

int main(void) {
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_and_check),
        cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_decode_refuses_odd_prefix),
        cmocka_unit_test_setup_teardown(test_issue_and_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issue_refuses_bad_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_needs_the_keys_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoked_key_ends_sessions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
