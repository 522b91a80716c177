/*
 * metric_eval.h - trace metric definitions and their evaluation over one call's spans
 * (DESIGN.md 5.6): custom trace metrics (span name + attribute or duration + aggregation), STT
 * word error rate and its audio-upload variant, the built-in metrics with fixed ids, and target
 * conditions that turn a value into PASSED / FAILED.
 *
 * Pure: definitions are parsed from jansson values and evaluated over arrays of stored span rows;
 * no I/O. Evaluation reads only these fields of a row: name, start_ns, end_ns, status_code and
 * attributes_json (the object vt_json_write_attrs writes), so callers that copy rows out of a
 * store scan need to copy only those.
 *
 * An evaluation always ends in an output: COMPLETED with a value, or FAILED with a reason a
 * person can act on ("no span named llm"). Function errors are reserved for running out of
 * memory.
 */
#ifndef VT_METRIC_EVAL_H
#define VT_METRIC_EVAL_H

#include <jansson.h>

#include "../core/arena.h"
#include "../core/vt.h"
#include "../store/store.h"
#include "aggregate.h"

/* Caps on the text fields of a definition (characters of UTF-8). */
#define VT_METRIC_MAX_NAME 256
#define VT_METRIC_MAX_DESCRIPTION 4096
#define VT_METRIC_MAX_SPAN_NAME 1024 /* as long as a stored span name can be */
#define VT_METRIC_MAX_ATTRIBUTE 1024
#define VT_METRIC_MAX_TARGET_VALUES 32 /* target_values of the in / nin operators */
/* Span names one definition matches; only the built-in tool_call_count uses two. */
#define VT_METRIC_MAX_SPAN_NAMES 2
/* Bytes of a status_reason, NUL included; longer reasons are cut (names inside are shortened
 * first, see the .c file). */
#define VT_METRIC_REASON_MAX 256

typedef enum {
    VT_METRIC_NONE = 0, /* no definition: an id that names no metric (deleted since) */
    VT_METRIC_CUSTOM_TRACE,
    VT_METRIC_STT_WER,
    VT_METRIC_STT_WER_AUDIO_UPLOAD,
} vt_metric_type_t;

typedef enum {
    VT_METRIC_SOURCE_ATTRIBUTE = 0, /* the numeric value of metric_attribute */
    VT_METRIC_SOURCE_DURATION,      /* end - start, in seconds */
} vt_metric_source_t;

typedef enum {
    VT_METRIC_CMP_EQ = 0,
    VT_METRIC_CMP_NEQ,
    VT_METRIC_CMP_GT,
    VT_METRIC_CMP_GTE,
    VT_METRIC_CMP_LT,
    VT_METRIC_CMP_LTE,
    VT_METRIC_CMP_IN,  /* equal to one of target_values */
    VT_METRIC_CMP_NIN, /* equal to none of target_values */
} vt_metric_cmp_t;

typedef struct {
    bool present;
    vt_metric_cmp_t op;
    double target_float;                               /* eq .. lte */
    double target_values[VT_METRIC_MAX_TARGET_VALUES]; /* in, nin */
    size_t n_target_values;
} vt_metric_target_t;

/* A parsed metric definition. Strings live in the arena given to vt_metric_def_parse (or are
 * static, for the built-ins). */
typedef struct {
    const char *metric_id; /* set by the caller for stored metrics; fixed for built-ins */
    const char *metric_name;
    const char *description; /* NULL when absent */
    vt_metric_type_t type;
    /* METRIC_CUSTOM_TRACE only: the span names matched. A name ending in '*' is a prefix
     * ("llm*" matches llm and llm_tool_call; "*" matches every span); any other name is exact. */
    vt_str_t span_names[VT_METRIC_MAX_SPAN_NAMES];
    size_t n_span_names;
    vt_metric_source_t source;
    vt_str_t attribute; /* empty for duration, and for the status aggregations if not given */
    vt_aggregate_method_t method;
    const char *unit; /* one of s, ms, count, ratio, percent, tokens, score; NULL = none */
    vt_metric_target_t target;
    bool builtin;
    /* count only: a call that has spans but none matching counts 0 instead of FAILED. Set for
     * the built-in tool_call_count, where "no tool call" is the common, meaningful answer;
     * custom metrics keep DESIGN's rule that no matching span is FAILED. */
    bool none_is_zero;
} vt_metric_def_t;

/* Why a definition is invalid: the offending field ("metric_type",
 * "target_condition.target_float"...) and a description of the rule, for an API error. */
typedef struct {
    char field[64];
    char description[192];
} vt_metric_error_t;

/* Parses and validates a definition from a JSON object with the API's fields: metric_name
 * (required), description, metric_type (required: METRIC_CUSTOM_TRACE, METRIC_STT_WER,
 * METRIC_STT_WER_AUDIO_UPLOAD); for custom trace metrics span_name (required), value_source
 * (attribute, the default, or duration), metric_attribute (required with attribute unless the
 * aggregation is count, error_rate or success_rate), aggregation_method (required); unit; and
 * target_condition {comparison_operator, target_float | target_values}. null counts as absent.
 * Fields a type does not use are ignored. A missing unit gets a default from what the metric
 * measures (s for durations, count, ratio for rates and WER; none for attribute values).
 * metric_id and builtin are left for the caller. Strings are copied into arena a.
 * VT_EINVAL with *err filled for an invalid definition; VT_ENOMEM on arena exhaustion. */
vt_err_t vt_metric_def_parse(vt_arena_t *a, const json_t *obj, vt_metric_def_t *out,
                             vt_metric_error_t *err);

/* The built-in metrics, in the order the API lists them (static storage): llm_ttfb, stt_ttfb,
 * tts_ttfb, llm_input_tokens, llm_output_tokens, tool_call_count, stt_wer,
 * stt_wer_audio_upload. */
const vt_metric_def_t *vt_metric_builtins(size_t *n);
/* The built-in metric with this id, or NULL. */
const vt_metric_def_t *vt_metric_builtin(vt_str_t id);

/* API names (static storage): "METRIC_CUSTOM_TRACE"..., "attribute"/"duration", "eq"...;
 * "" for VT_METRIC_NONE or a value outside its enum. */
const char *vt_metric_type_name(vt_metric_type_t t);
const char *vt_metric_source_name(vt_metric_source_t s);
const char *vt_metric_cmp_name(vt_metric_cmp_t c);

/* What one evaluation reads: one call's spans (any order), and the reference texts the WER
 * metrics compare against. */
typedef struct {
    const vt_span_row_t *rows;
    size_t n;
    /* METRIC_STT_WER: the user messages of the call's transcript joined by spaces
     * (vt_metric_transcript_reference); empty when there are none. */
    vt_str_t transcript_reference;
    /* METRIC_STT_WER_AUDIO_UPLOAD: the reference_transcript uploaded with the call; empty when
     * none was. */
    vt_str_t uploaded_reference;
} vt_metric_input_t;

typedef enum { VT_METRIC_COMPLETED = 0, VT_METRIC_FAILED } vt_metric_status_t;
typedef enum {
    VT_METRIC_RESULT_NONE = 0, /* no target condition, or no value to compare */
    VT_METRIC_RESULT_PASSED,
    VT_METRIC_RESULT_FAILED,
} vt_metric_result_t;

typedef struct {
    vt_metric_status_t status;
    double value;              /* COMPLETED only; always finite */
    vt_metric_result_t result; /* PASSED/FAILED only with a target condition and a value */
    size_t sample_count;       /* values aggregated (spans, for count and the rates; stt spans
                                * with a transcript, for WER) */
    char status_reason[VT_METRIC_REASON_MAX]; /* FAILED only; "" otherwise */
} vt_metric_output_t;

/* Evaluates one definition over one call. Custom trace metrics: spans matching a span name;
 * values from the attribute (JSON numbers and numeric strings, vt_aggregate_number_json rules;
 * spans without the attribute or with a non-numeric value are skipped) or the duration; count,
 * error_rate and success_rate aggregate the matching spans' statuses. WER: the hypothesis is
 * the `transcript` attribute (alias `stt.transcription`) of the spans named exactly "stt", in
 * start order, joined by spaces, against the reference for the metric's type. No matching span
 * (but see none_is_zero), no value, no stt span with a transcript or an empty reference: FAILED
 * with a reason.
 * `scratch` holds temporary memory (values, the hypothesis, the WER alignment); nothing in *out
 * points into it. Returns VT_ENOMEM when scratch is exhausted (*out is then FAILED too). */
vt_err_t vt_metric_eval(vt_arena_t *scratch, const vt_metric_def_t *def,
                        const vt_metric_input_t *in, vt_metric_output_t *out);

/* Compares a value with a target condition: PASSED or FAILED (NONE when t is not present).
 * eq, neq, in and nin compare with a relative tolerance of 1e-9, so an average of 0.1 and 0.2
 * equals 0.15. */
vt_metric_result_t vt_metric_target_check(const vt_metric_target_t *t, double value);

/* The WER reference of a transcript (an array of messages): the `content` (or, without one,
 * `message`) strings of the messages whose role is "user", in order, joined by single spaces.
 * Messages of other roles and entries that are not objects are skipped; a transcript that is
 * not an array gives an empty reference. The text is copied into arena a. VT_ENOMEM on arena
 * exhaustion. */
vt_err_t vt_metric_transcript_reference(vt_arena_t *a, const json_t *transcript, vt_str_t *out);

/* The same reference read from a transcript's JSON text (as stored) without parsing it into a
 * document, several times faster. A well-formed text gives exactly what
 * vt_metric_transcript_reference gives for its parse; text that is not a JSON array, or whose
 * array is malformed, gives an empty reference. Copies into arena a; VT_ENOMEM on exhaustion. */
vt_err_t vt_metric_transcript_reference_text(vt_arena_t *a, vt_str_t transcript_json,
                                             vt_str_t *out);

#endif
