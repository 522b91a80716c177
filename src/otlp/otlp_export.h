/*
 * otlp_export.h - stored spans back to OTLP: the OTLP JSON encoder behind
 * GET /v1/traces/export. What it writes, vt_otlp_decode_json reads back into the same spans
 * (ids, names, times, kinds, typed attributes, events, links, status, dropped counts, resource
 * and scope), so an exported call can be imported or uploaded again unchanged.
 */
#ifndef VT_OTLP_EXPORT_H
#define VT_OTLP_EXPORT_H

#include "../core/buf.h"
#include "../store/store.h"

/*
 * Appends one ExportTraceServiceRequest in the OTLP JSON mapping to b: one resourceSpans per
 * distinct resource, one scopeSpans per distinct scope within it, spans in row order inside
 * each. Rows are what spans_read returns (resource_json and scope_json filled; an empty one
 * reads as an empty resource or scope).
 *
 * Stored attribute values map back by their JSON type: integers to intValue (as a decimal
 * string), numbers with a fraction or exponent to doubleValue, strings to stringValue, arrays
 * to arrayValue, objects to kvlistValue, null to an empty value. Bytes values were stored as
 * base64 strings and doubles NaN/Infinity as the strings "NaN"/"Infinity", so those come back
 * as strings (which is also what importing the export stores again).
 *
 * VT_EINTERNAL when a stored JSON fragment does not parse (err names the span), VT_ENOMEM when
 * b cannot grow (b->failed is set).
 */
vt_err_t vt_otlp_export_json(vt_buf_t *b, const vt_span_row_t *rows, size_t n, char *err,
                             size_t errlen);

#endif
