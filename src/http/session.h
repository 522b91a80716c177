/*
 * session.h - the UI's sign-in sessions (DESIGN.md 5.7), kept in a cookie and nowhere else, so
 * any number of voxtrace nodes sharing one store accept each other's sessions with no session
 * table to share.
 *
 * The cookie value is base64url (no padding) of
 *     version (1 byte, = 1) | key prefix (VT_KEY_PREFIX_LEN bytes) | expiry (8 bytes, Unix
 *     seconds, big-endian) | MAC (32 bytes)
 * where MAC = HMAC-SHA512-256 (libsodium crypto_auth) of everything before it, keyed with the
 * stored hash of the API key the user signed in with. A session therefore speaks for one key:
 * each request re-reads that key by its prefix, so revoking the key ends its sessions at once and
 * the session carries the key's scopes as they are now. Signing out only deletes the cookie in
 * the browser; a copied cookie value stays valid until it expires or its key is revoked.
 */
#ifndef VT_SESSION_H
#define VT_SESSION_H

#include "../store/store.h"
#include "auth.h"

#define VT_SESSION_COOKIE "vt_session"
#define VT_SESSION_TTL_S 43200 /* 12 hours */
/* Length of a cookie value: base64url of 1 + 12 + 8 + 32 = 53 bytes. */
#define VT_SESSION_VALUE_LEN 71

/* Writes the cookie value (NUL-terminated) of a session for the key with this prefix and stored
 * hash, valid until expiry_s. prefix is the key's VT_KEY_PREFIX_LEN-character prefix. */
void vt_session_sign(const char *prefix, const uint8_t key_hash[32], int64_t expiry_s,
                     char out[VT_SESSION_VALUE_LEN + 1]);

/* Reads the key prefix (NUL-terminated) and expiry out of a cookie value without checking its
 * MAC. VT_EUNAUTH when the value is not a session cookie of this format. */
vt_err_t vt_session_decode(vt_str_t value, char prefix[VT_KEY_PREFIX_LEN + 1], int64_t *expiry_s);

/* Checks a cookie value against the stored hash of its key and the clock: VT_OK when the MAC
 * matches (compared in constant time) and now_s is before the expiry, VT_EUNAUTH otherwise. */
vt_err_t vt_session_check(vt_str_t value, const uint8_t key_hash[32], int64_t now_s);

/* Authenticates a request by its cookie value: finds the key by the prefix, checks the MAC, the
 * expiry and that the key is not revoked, then fills the key's org and current scopes.
 * VT_EUNAUTH with a message for people in err when the session is not (or no longer) valid;
 * another error when the store fails. Strings come from arena a. */
vt_err_t vt_session_verify(vt_store_t *s, vt_arena_t *a, vt_str_t value, int64_t now_s,
                           int64_t *org_id, uint32_t *scopes, char *err, size_t errlen);

/* Signs in: verifies the API key (vt_auth_key_verify) and writes the cookie value of a session
 * valid for VT_SESSION_TTL_S from now_s, with the key's org and scopes. Fails like
 * vt_auth_key_verify. */
vt_err_t vt_session_issue(vt_store_t *s, vt_arena_t *a, vt_str_t api_key, int64_t now_s,
                          char out[VT_SESSION_VALUE_LEN + 1], int64_t *org_id, uint32_t *scopes,
                          char *err, size_t errlen);

#endif
