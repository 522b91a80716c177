/*
 * auth.c - API key creation and verification.
 *
 * Keys carry 256 bits of randomness, so a fast cryptographic hash (BLAKE2b via libsodium) is the
 * right way to store them: a slow password hash protects guessable secrets, and these are not.
 */
#include "auth.h"

#include <sodium.h>
#include <stdio.h>

static const char key_tag[] = "vtk_";

static void key_hash(vt_str_t key, uint8_t out[32]) {
    crypto_generichash(out, 32, (const unsigned char *)key.p, key.n, NULL, 0);
}

vt_err_t vt_auth_key_create(vt_store_t *s, int64_t org_id, const char *name, uint32_t scopes,
                            char key_out[VT_KEY_LEN + 1]) {
    uint8_t rnd[32];
    randombytes_buf(rnd, sizeof rnd);
    memcpy(key_out, key_tag, 4);
    sodium_bin2base64(key_out + 4, VT_KEY_LEN + 1 - 4, rnd, sizeof rnd,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(rnd, sizeof rnd);

    char prefix[VT_KEY_PREFIX_LEN + 1];
    memcpy(prefix, key_out, VT_KEY_PREFIX_LEN);
    prefix[VT_KEY_PREFIX_LEN] = '\0';

    vt_key_t k = {.org_id = org_id,
                  .prefix = prefix,
                  .name = name ? name : "",
                  .scopes = scopes,
                  .create_ms = (int64_t)(vt_now_ns() / 1000000u)};
    key_hash(vt_str_c(key_out), k.hash);
    int64_t id;
    vt_err_t e = s->ops->key_create(s, &k, &id);
    if (e)
        sodium_memzero(key_out, VT_KEY_LEN + 1);
    return e;
}

vt_err_t vt_auth_key_verify(vt_store_t *s, vt_arena_t *a, vt_str_t key, int64_t *org_id,
                            uint32_t *scopes, char *err, size_t errlen) {
    if (key.n != VT_KEY_LEN || memcmp(key.p, key_tag, 4) != 0) {
        snprintf(err, errlen, "Invalid API key");
        return VT_EUNAUTH;
    }
    char prefix[VT_KEY_PREFIX_LEN + 1];
    memcpy(prefix, key.p, VT_KEY_PREFIX_LEN);
    prefix[VT_KEY_PREFIX_LEN] = '\0';

    vt_key_t k;
    vt_err_t e = s->ops->key_find_by_prefix(s, prefix, a, &k);
    if (e == VT_ENOTFOUND) {
        snprintf(err, errlen, "Invalid API key");
        return VT_EUNAUTH;
    }
    if (e) {
        snprintf(err, errlen, "Could not check the API key");
        return e;
    }
    uint8_t h[32];
    key_hash(key, h);
    if (sodium_memcmp(h, k.hash, sizeof h) != 0) {
        snprintf(err, errlen, "Invalid API key");
        return VT_EUNAUTH;
    }
    if (k.revoke_ms) {
        snprintf(err, errlen, "API key has been revoked");
        return VT_EUNAUTH;
    }
    *org_id = k.org_id;
    *scopes = k.scopes;
    return VT_OK;
}

static const struct {
    const char *name;
    uint32_t bit;
} scope_names[] = {
    {"traces:write", VT_SCOPE_TRACES_WRITE},
    {"read", VT_SCOPE_READ},
    {"write", VT_SCOPE_WRITE},
    {"admin", VT_SCOPE_ADMIN},
};

vt_err_t vt_auth_scopes_parse(const char *list, uint32_t *out) {
    uint32_t set = 0;
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && (*p == ' ')) {
            p++;
            n--;
        }
        while (n && p[n - 1] == ' ')
            n--;
        bool found = false;
        for (size_t i = 0; i < VT_ARRAY_LEN(scope_names); i++) {
            if (strlen(scope_names[i].name) == n && memcmp(scope_names[i].name, p, n) == 0) {
                set |= scope_names[i].bit;
                found = true;
            }
        }
        if (!found && n)
            return VT_EINVAL;
        if (!end)
            break;
        p = end + 1;
    }
    if (!set)
        return VT_EINVAL;
    *out = set;
    return VT_OK;
}

void vt_auth_scopes_format(uint32_t scopes, char *out, size_t outlen) {
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < VT_ARRAY_LEN(scope_names); i++) {
        if (!(scopes & scope_names[i].bit))
            continue;
        int n = snprintf(out + len, outlen - len, "%s%s", len ? "," : "", scope_names[i].name);
        if (n < 0 || (size_t)n >= outlen - len)
            return;
        len += (size_t)n;
    }
}
