/*
 * limits.c - limit helpers shared by the OTLP decoders (see limits.h).
 */
#include "limits.h"

vt_str_t vt_otlp_str_truncate_utf8(vt_str_t s, size_t max) {
    if (s.n <= max)
        return s;
    const unsigned char *p = (const unsigned char *)s.p;
    size_t n = max;
    /* p[n] is the first byte cut off. While it is a continuation byte (10xxxxxx), the character
     * it belongs to started before the cut, so move the cut back to that character's first
     * byte. A UTF-8 character has at most 3 continuation bytes. */
    for (int k = 0; k < 3 && n > 0 && (p[n] & 0xc0) == 0x80; k++)
        n--;
    if (n > 0 && (p[n] & 0xc0) == 0x80)
        n = max; /* four continuation bytes in a row: not UTF-8, so cut where asked */
    return (vt_str_t){s.p, n};
}
