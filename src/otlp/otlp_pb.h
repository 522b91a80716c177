/*
 * otlp_pb.h - protobuf response bodies for OTLP/HTTP. The protobuf request decoder,
 * vt_otlp_decode_protobuf, is declared with the span model in span.h; this header holds what
 * goes the other way.
 */
#ifndef VT_OTLP_PB_H
#define VT_OTLP_PB_H

#include "../core/buf.h"
#include "../core/vt.h"

/* Appends an ExportTraceServiceResponse to out. With rejected_spans == 0 and no message (NULL or
 * "") it is the empty message, which encodes as 0 bytes: OTLP's "everything accepted".
 * Otherwise partial_success carries both fields. Fails like vt_buf_append (VT_ETOOBIG over
 * out's maximum, VT_ENOMEM), appending nothing. */
vt_err_t vt_otlp_pb_export_response(vt_buf_t *out, int64_t rejected_spans,
                                    const char *error_message);

/* Appends a google.rpc.Status {code, message} to out (message may be NULL), the body OTLP/HTTP
 * sends protobuf clients along with an error status. Fails as vt_otlp_pb_export_response. */
vt_err_t vt_otlp_pb_status(vt_buf_t *out, int32_t grpc_code, const char *message);

#endif
