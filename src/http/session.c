/*
 * session.c - signing and checking the UI's stateless session cookies (see session.h for the
 * format and why it is keyed with the API key's stored hash).
 */
#include "session.h"

#include <sodium.h>
#include <stdio.h>

#define SESSION_VERSION 1
#define SIGNED_LEN (1 + VT_KEY_PREFIX_LEN + 8)
#define RAW_LEN (SIGNED_LEN + crypto_auth_BYTES)

_Static_assert(crypto_auth_KEYBYTES == sizeof(((vt_key_t *)0)->hash),
               "the stored key hash is used as the MAC key as it is");
_Static_assert(sodium_base64_ENCODED_LEN(RAW_LEN, sodium_base64_VARIANT_URLSAFE_NO_PADDING) ==
                   VT_SESSION_VALUE_LEN + 1,
               "VT_SESSION_VALUE_LEN matches the encoding");

void vt_session_sign(const char *prefix, const uint8_t key_hash[32], int64_t expiry_s,
                     char out[VT_SESSION_VALUE_LEN + 1]) {
    uint8_t raw[RAW_LEN];
    raw[0] = SESSION_VERSION;
    memcpy(raw + 1, prefix, VT_KEY_PREFIX_LEN);
    uint64_t e = (uint64_t)expiry_s;
    for (int i = 0; i < 8; i++)
        raw[1 + VT_KEY_PREFIX_LEN + i] = (uint8_t)(e >> (56 - 8 * i));
    crypto_auth(raw + SIGNED_LEN, raw, SIGNED_LEN, key_hash);
    sodium_bin2base64(out, VT_SESSION_VALUE_LEN + 1, raw, RAW_LEN,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Base64url-decodes a cookie value of exactly the right length into raw. */
static bool raw_decode(vt_str_t value, uint8_t raw[RAW_LEN]) {
    if (value.n != VT_SESSION_VALUE_LEN)
        return false;
    size_t got = 0;
    if (sodium_base642bin(raw, RAW_LEN, value.p, value.n, NULL, &got, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        got != RAW_LEN)
        return false;
    return raw[0] == SESSION_VERSION;
}

static int64_t raw_expiry(const uint8_t raw[RAW_LEN]) {
    uint64_t e = 0;
    for (int i = 0; i < 8; i++)
        e = (e << 8) | raw[1 + VT_KEY_PREFIX_LEN + i];
    return (int64_t)e;
}

vt_err_t vt_session_decode(vt_str_t value, char prefix[VT_KEY_PREFIX_LEN + 1], int64_t *expiry_s) {
    uint8_t raw[RAW_LEN];
    if (!raw_decode(value, raw))
        return VT_EUNAUTH;
    /* The prefix goes into a store lookup: it must look like a key's prefix, no NULs. */
    for (int i = 0; i < VT_KEY_PREFIX_LEN; i++) {
        uint8_t c = raw[1 + i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return VT_EUNAUTH;
    }
    memcpy(prefix, raw + 1, VT_KEY_PREFIX_LEN);
    prefix[VT_KEY_PREFIX_LEN] = '\0';
    *expiry_s = raw_expiry(raw);
    return VT_OK;
}

vt_err_t vt_session_check(vt_str_t value, const uint8_t key_hash[32], int64_t now_s) {
    uint8_t raw[RAW_LEN];
    if (!raw_decode(value, raw))
        return VT_EUNAUTH;
    if (crypto_auth_verify(raw + SIGNED_LEN, raw, SIGNED_LEN, key_hash) != 0)
        return VT_EUNAUTH;
    return now_s < raw_expiry(raw) ? VT_OK : VT_EUNAUTH;
}

vt_err_t vt_session_verify(vt_store_t *s, vt_arena_t *a, vt_str_t value, int64_t now_s,
                           int64_t *org_id, uint32_t *scopes, char *err, size_t errlen) {
    char prefix[VT_KEY_PREFIX_LEN + 1];
    int64_t expiry;
    if (vt_session_decode(value, prefix, &expiry) != VT_OK) {
        snprintf(err, errlen, "Invalid session; sign in again");
        return VT_EUNAUTH;
    }
    vt_key_t k;
    vt_err_t e = s->ops->key_find_by_prefix(s, prefix, a, &k);
    if (e == VT_ENOTFOUND) {
        snprintf(err, errlen, "Invalid session; sign in again");
        return VT_EUNAUTH;
    }
    if (e) {
        snprintf(err, errlen, "Could not check the session");
        return e;
    }
    /* The MAC first: until it matches, nothing in the cookie is to be believed, expiry included. */
    uint8_t raw[RAW_LEN];
    if (!raw_decode(value, raw) ||
        crypto_auth_verify(raw + SIGNED_LEN, raw, SIGNED_LEN, k.hash) != 0) {
        snprintf(err, errlen, "Invalid session; sign in again");
        return VT_EUNAUTH;
    }
    if (now_s >= expiry) {
        snprintf(err, errlen, "Session expired; sign in again");
        return VT_EUNAUTH;
    }
    if (k.revoke_ms) {
        snprintf(err, errlen, "The API key of this session has been revoked; sign in again");
        return VT_EUNAUTH;
    }
    *org_id = k.org_id;
    *scopes = k.scopes;
    return VT_OK;
}

vt_err_t vt_session_issue(vt_store_t *s, vt_arena_t *a, vt_str_t api_key, int64_t now_s,
                          char out[VT_SESSION_VALUE_LEN + 1], int64_t *org_id, uint32_t *scopes,
                          char *err, size_t errlen) {
    vt_err_t e = vt_auth_key_verify(s, a, api_key, org_id, scopes, err, errlen);
    if (e)
        return e;
    /* The key is valid, so its prefix names it; read its stored hash to key the MAC. */
    char prefix[VT_KEY_PREFIX_LEN + 1];
    memcpy(prefix, api_key.p, VT_KEY_PREFIX_LEN);
    prefix[VT_KEY_PREFIX_LEN] = '\0';
    vt_key_t k;
    e = s->ops->key_find_by_prefix(s, prefix, a, &k);
    if (e) {
        snprintf(err, errlen, "Could not start the session");
        return e == VT_ENOTFOUND ? VT_EUNAUTH : e;
    }
    vt_session_sign(prefix, k.hash, now_s + VT_SESSION_TTL_S, out);
    return VT_OK;
}
