/*
 * ulid.c - ULID generation. Randomness comes from libsodium. To keep ids made within one
 * millisecond in creation order, the last random part is remembered and incremented.
 */
#include "ulid.h"

#include <pthread.h>
#include <sodium.h>

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static pthread_mutex_t g_ulid_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_last_ms;
static uint8_t g_last_rnd[10];

void vt_ulid_encode(uint64_t ms, const uint8_t rnd[10], char out[VT_ULID_LEN + 1]) {
    /* 128 bits = 48 time + 80 random, written as 26 base32 digits from the top (the first
     * digit holds only 3 bits). */
    uint8_t b[16];
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(ms >> (40 - 8 * i));
    memcpy(b + 6, rnd, 10);
    for (int i = 0; i < VT_ULID_LEN; i++) {
        int bit = 128 - 5 * (VT_ULID_LEN - i); /* position of this digit's top bit, may be < 0 */
        unsigned v = 0;
        for (int k = 0; k < 5; k++) {
            int pos = bit + k;
            v <<= 1;
            if (pos >= 0)
                v |= (b[pos / 8] >> (7 - pos % 8)) & 1u;
        }
        out[i] = crockford[v];
    }
    out[VT_ULID_LEN] = '\0';
}

void vt_ulid_new(char out[VT_ULID_LEN + 1]) {
    uint64_t ms = vt_now_ns() / 1000000u;
    uint8_t rnd[10];
    pthread_mutex_lock(&g_ulid_lock);
    if (ms <= g_last_ms) {
        ms = g_last_ms;
        memcpy(rnd, g_last_rnd, 10);
        for (int i = 9; i >= 0; i--)
            if (++rnd[i] != 0)
                break;
    } else {
        randombytes_buf(rnd, sizeof rnd);
        rnd[0] &= 0x7f; /* leave room to increment within the millisecond */
    }
    g_last_ms = ms;
    memcpy(g_last_rnd, rnd, 10);
    pthread_mutex_unlock(&g_ulid_lock);
    vt_ulid_encode(ms, rnd, out);
}

bool vt_ulid_valid(vt_str_t s) {
    if (s.n != VT_ULID_LEN || s.p[0] < '0' || s.p[0] > '7')
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (!strchr(crockford, s.p[i]) || s.p[i] == '\0')
            return false;
    return true;
}
