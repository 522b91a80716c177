/*
 * auth.h - API keys: creation (random, shown once, stored hashed) and verification (constant-time
 * comparison of hashes). A key looks like "vtk_" followed by 43 base64url characters (32 random
 * bytes); its first VT_KEY_PREFIX_LEN characters are its public prefix, which identifies it in
 * lists and is how the store finds it.
 */
#ifndef VT_AUTH_H
#define VT_AUTH_H

#include "../store/store.h"

#define VT_KEY_PREFIX_LEN 12
#define VT_KEY_LEN 47

/* Creates a key for an org and stores its hash. The plain key is written to key_out (NUL-
 * terminated) and exists nowhere else afterwards. */
vt_err_t vt_auth_key_create(vt_store_t *s, int64_t org_id, const char *name, uint32_t scopes,
                            char key_out[VT_KEY_LEN + 1]);
/* Checks a presented key. VT_EUNAUTH with a message in err when it is unknown, malformed or
 * revoked; on success fills org id and scopes. */
vt_err_t vt_auth_key_verify(vt_store_t *s, vt_arena_t *a, vt_str_t key, int64_t *org_id,
                            uint32_t *scopes, char *err, size_t errlen);
/* Parses "traces:write,read,write,admin" into a scope set. VT_EINVAL on an unknown name. */
vt_err_t vt_auth_scopes_parse(const char *list, uint32_t *out);
/* Writes the scope names of a set, comma-separated, into out. */
void vt_auth_scopes_format(uint32_t scopes, char *out, size_t outlen);

#endif
