/*
 * limits.h - helpers the protobuf and JSON decoders share so that both apply the limits of
 * span.h in exactly the same way.
 */
#ifndef VT_OTLP_LIMITS_H
#define VT_OTLP_LIMITS_H

#include "../core/vt.h"

/* Returns s cut to at most max bytes without splitting a UTF-8 sequence: when the cut would fall
 * inside a multi-byte character, that whole character goes too. At most 3 bytes more are dropped
 * even for invalid UTF-8, so a string is never cut to much less than max. Points into s. */
vt_str_t vt_otlp_str_truncate_utf8(vt_str_t s, size_t max);

#endif
