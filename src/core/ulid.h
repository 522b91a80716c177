/*
 * ulid.h - 26-character ULIDs (48-bit millisecond time + 80 random bits, Crockford base32)
 * for every id voxtrace generates. Ids made in the same millisecond by one process sort in
 * creation order (the random part is incremented, as the ULID spec's monotonic mode does).
 */
#ifndef VT_ULID_H
#define VT_ULID_H

#include "vt.h"

#define VT_ULID_LEN 26

/* Writes a new ULID and a NUL into out (27 bytes). Thread-safe. */
void vt_ulid_new(char out[VT_ULID_LEN + 1]);
/* Builds a ULID from a given millisecond time and 10 random bytes (for tests). */
void vt_ulid_encode(uint64_t ms, const uint8_t rnd[10], char out[VT_ULID_LEN + 1]);
/* True when s is 26 Crockford base32 characters whose first one is 0-7. */
bool vt_ulid_valid(vt_str_t s);

#endif
