/*
 * conversations.c - monitoring conversations: a production call submitted after it ended, the
 * target of X-Conversation-Id. Submitted, listed, patched (some fields only once), deleted, and
 * their audio served: an uploaded file from the data folder, or a redirect to the audio_url.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/ulid.h"
#include "api.h"
#include "filter.h"
#include "metrics.h"
#include "paging.h"

#define CONV_MAX_PAYLOAD (256 * 1024)
#define CONV_MAX_TAGS 20
#define CONV_MAX_TAG_LEN 200
#define CONVS_MAX_PAGE 250
/* Largest stored audio file served. The upload endpoint caps what it stores far below this;
 * the check only keeps a damaged data folder from making one response huge. */
#define CONV_MAX_AUDIO_BYTES ((off_t)256 << 20)

static const char *const conv_statuses[] = {"PENDING",   "IN_QUEUE", "IN_PROGRESS",
                                            "COMPLETED", "FAILED",   "CANCELLED"};
#define CONV_STATUSES_TEXT "PENDING, IN_QUEUE, IN_PROGRESS, COMPLETED, FAILED, CANCELLED"

static void field_invalid(vt_req_t *r, const char *field, const char *desc) {
    char msg[300];
    snprintf(msg, sizeof msg, "Invalid field %s: %s", field, desc);
    vt_req_reply_error(r, VT_EINVAL, msg, field, desc);
}

/* Checks one transcript message; on failure replies naming e.g. "transcript[3].role". */
static bool check_message(vt_req_t *r, json_t *m, size_t i) {
    char f[96];
    if (!json_is_object(m)) {
        snprintf(f, sizeof f, "transcript[%zu]", i);
        field_invalid(r, f, "must be an object");
        return false;
    }
    json_t *role = json_object_get(m, "role");
    const char *rv = json_string_value(role);
    if (!rv || (strcmp(rv, "user") && strcmp(rv, "assistant") && strcmp(rv, "system") &&
                strcmp(rv, "tool"))) {
        snprintf(f, sizeof f, "transcript[%zu].role", i);
        field_invalid(r, f, "must be one of user, assistant, system, tool");
        return false;
    }
    json_t *content = json_object_get(m, "content");
    json_t *message = json_object_get(m, "message");
    json_t *tool_calls = json_object_get(m, "tool_calls");
    if ((content && !json_is_string(content) && !json_is_null(content)) ||
        (message && !json_is_string(message) && !json_is_null(message))) {
        snprintf(f, sizeof f, "transcript[%zu].%s", i,
                 content && !json_is_string(content) && !json_is_null(content) ? "content"
                                                                               : "message");
        field_invalid(r, f, "must be a string");
        return false;
    }
    if (tool_calls && !json_is_null(tool_calls) && !json_is_array(tool_calls)) {
        snprintf(f, sizeof f, "transcript[%zu].tool_calls", i);
        field_invalid(r, f, "must be an array");
        return false;
    }
    if (!json_is_string(content) && !json_is_string(message) && !json_is_array(tool_calls)) {
        snprintf(f, sizeof f, "transcript[%zu].content", i);
        field_invalid(r, f, "is required (content or message, unless tool_calls are given)");
        return false;
    }
    size_t k;
    json_t *tc;
    json_array_foreach(tool_calls, k, tc) {
        json_t *fn = json_object_get(tc, "function");
        json_t *id = json_object_get(tc, "id"), *type = json_object_get(tc, "type");
        json_t *args = json_object_get(fn, "arguments");
        /* The OpenAI-style shape: the id is text, the only type is "function", and arguments are
         * a JSON-encoded string (or already an object). */
        if (!json_is_object(tc) || !json_is_object(fn) ||
            !json_is_string(json_object_get(fn, "name")) || (id && !json_is_string(id)) ||
            (type && (!json_is_string(type) || strcmp(json_string_value(type), "function"))) ||
            (args && !json_is_string(args) && !json_is_object(args) && !json_is_null(args))) {
            snprintf(f, sizeof f, "transcript[%zu].tool_calls[%zu]", i, k);
            field_invalid(r, f, "must be {id, type: \"function\", function: {name, arguments}}");
            return false;
        }
    }
    static const char *const str_fields[] = {"tool_call_id"};
    for (size_t s = 0; s < VT_ARRAY_LEN(str_fields); s++) {
        json_t *v = json_object_get(m, str_fields[s]);
        if (v && !json_is_string(v) && !json_is_null(v)) {
            snprintf(f, sizeof f, "transcript[%zu].%s", i, str_fields[s]);
            field_invalid(r, f, "must be a string");
            return false;
        }
    }
    static const char *const num_fields[] = {"start_time", "end_time"};
    for (size_t s = 0; s < VT_ARRAY_LEN(num_fields); s++) {
        json_t *v = json_object_get(m, num_fields[s]);
        if (v && !json_is_number(v) && !json_is_null(v)) {
            snprintf(f, sizeof f, "transcript[%zu].%s", i, num_fields[s]);
            field_invalid(r, f, "must be a number of seconds");
            return false;
        }
    }
    return true;
}

/* Writes one conversation object. m holds the values of the metrics given to
 * conversations:submit; lists pass NULL and leave metric_values and metric_outputs out, since
 * computing them means reading every listed conversation's spans. */
static void write_conv(vt_req_t *r, vt_jw_t *w, const vt_conversation_t *c,
                       const vt_api_metric_results_t *m) {
    json_t *doc = c->doc_json ? json_loads(c->doc_json, 0, NULL) : NULL;
    vt_jw_obj_begin(w);
    vt_jw_key(w, "name");
    vt_jw_cstr(w, vt_arena_printf(&r->arena, "conversations/%s", c->conversation_id));
    vt_jw_key(w, "conversation_id");
    vt_jw_cstr(w, c->conversation_id);
    vt_jw_key(w, "status");
    vt_jw_cstr(w, c->status);
    vt_jw_key(w, "create_time");
    vt_jw_cstr(w, vt_api_time(r, c->create_ms));
    vt_jw_key(w, "update_time");
    vt_jw_cstr(w, vt_api_time(r, c->update_ms));
    vt_jw_key(w, "external_conversation_id");
    vt_jw_cstr(w, c->external_conversation_id);
    vt_jw_key(w, "occurred_at");
    vt_jw_cstr(w, c->occurred_at);
    vt_jw_key(w, "agent_id");
    vt_jw_cstr(w, c->agent_id);
    vt_jw_key(w, "has_audio");
    vt_jw_bool(w, json_is_string(json_object_get(doc, "audio_url")) ||
                      json_is_string(json_object_get(doc, "audio_file")));
    static const struct {
        const char *key, *fallback;
    } parts[] = {{"audio_url", "null"},
                 {"metadata", "{}"},
                 {"tags", "[]"},
                 {"metric_ids", "[]"},
                 {"transcript", "[]"}};
    for (size_t i = 0; i < VT_ARRAY_LEN(parts); i++) {
        json_t *v = json_object_get(doc, parts[i].key);
        vt_api_raw_field(w, parts[i].key, v ? vt_api_dump(r, v) : NULL, parts[i].fallback);
    }
    vt_jw_key(w, "span_count");
    vt_jw_int(w, c->span_count);
    if (m) {
        vt_api_write_metric_values(w, m, true);
        vt_jw_key(w, "metric_outputs");
        vt_api_write_metric_outputs(r, w, c->conversation_id, m);
    }
    vt_jw_obj_end(w);
    json_decref(doc);
}

/* Evaluates the conversation's metrics on its spans as they are now, then replies. */
void vt_api_conv_reply(vt_req_t *r, const vt_conversation_t *c) {
    json_t *doc = c->doc_json ? json_loads(c->doc_json, 0, NULL) : NULL;
    vt_api_metric_results_t m;
    vt_err_t e = vt_api_conv_metrics(r, c, doc, &m);
    if (e) {
        vt_api_store_error(r, e, "Conversation metrics");
        goto out;
    }
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "conversation");
    write_conv(r, &w, c, &m);
    vt_jw_obj_end(&w);
    vt_req_reply_json(r, 200);
out:
    json_decref(doc);
}

/* Checks a tags array: at most 20 strings of at most 200 characters. */
static bool check_tags(vt_req_t *r, json_t *tags) {
    if (!json_is_array(tags) || json_array_size(tags) > CONV_MAX_TAGS) {
        field_invalid(r, "tags", "must be an array of at most 20 strings");
        return false;
    }
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t) {
        if (!json_is_string(t) || json_string_length(t) > CONV_MAX_TAG_LEN) {
            char f[32];
            snprintf(f, sizeof f, "tags[%zu]", i);
            field_invalid(r, f, "must be a string of at most 200 characters");
            return false;
        }
    }
    return true;
}

/* An audio_url must be an absolute http(s) URL without blanks or control characters: it is
 * later sent back verbatim in a Location header. */
static bool audio_url_valid(const char *u) {
    if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8))
        return false;
    for (const unsigned char *c = (const unsigned char *)u; *c; c++)
        if (*c <= ' ' || *c == 0x7f)
            return false;
    return true;
}

/* Checks the body's metadata (an object) and tags, and puts those given into the stored
 * document (null leaves them as they are). Replies 400 naming the field and returns false. */
static bool copy_metadata_and_tags(vt_req_t *r, json_t *body, json_t *doc) {
    json_t *metadata = json_object_get(body, "metadata");
    if (metadata && !json_is_null(metadata)) {
        if (!json_is_object(metadata)) {
            field_invalid(r, "metadata", "must be an object");
            return false;
        }
        json_object_set(doc, "metadata", metadata);
    }
    json_t *tags = json_object_get(body, "tags");
    if (tags && !json_is_null(tags)) {
        if (!check_tags(r, tags))
            return false;
        json_object_set(doc, "tags", tags);
    }
    return true;
}

bool vt_api_conv_check_transcript(vt_req_t *r, json_t *transcript) {
    if (!json_is_array(transcript)) {
        field_invalid(r, "transcript", "must be an array of messages");
        return false;
    }
    size_t i;
    json_t *m;
    json_array_foreach(transcript, i, m) {
        if (!check_message(r, m, i))
            return false;
    }
    return true;
}

void vt_api_convs_submit(vt_req_t *r) {
    if (r->body.len > CONV_MAX_PAYLOAD) {
        vt_req_reply_error(r, VT_ETOOBIG, "Conversation payload exceeds 256 KiB", NULL, NULL);
        return;
    }
    json_t *body = vt_api_parse_object(r);
    if (!body)
        return;
    json_t *doc = json_object();
    char id[VT_ULID_LEN + 1];
    vt_ulid_new(id);
    vt_conversation_t c = {.conversation_id = id, .status = "COMPLETED"};
    c.create_ms = c.update_ms = vt_api_now_ms();
    const char *audio_url = NULL, *upload_id = NULL;
    if (!vt_api_get_string(r, body, "external_conversation_id", false, 256,
                           &c.external_conversation_id) ||
        !vt_api_get_string(r, body, "agent_id", false, 256, &c.agent_id) ||
        !vt_api_get_string(r, body, "occurred_at", false, 64, &c.occurred_at) ||
        !vt_api_get_string(r, body, "audio_url", false, 4096, &audio_url) ||
        !vt_api_get_string(r, body, "upload_id", false, 256, &upload_id))
        goto out;

    json_t *transcript = json_object_get(body, "transcript");
    if (transcript && !json_is_null(transcript)) {
        if (!vt_api_conv_check_transcript(r, transcript))
            goto out;
        json_object_set(doc, "transcript", transcript);
    }
    if ((!transcript || json_array_size(transcript) == 0) && !audio_url && !upload_id) {
        vt_req_reply_error(r, VT_EINVAL, "One of transcript, audio_url or upload_id is required",
                           "transcript", "one of transcript, audio_url or upload_id is required");
        goto out;
    }
    if (audio_url && !audio_url_valid(audio_url)) {
        field_invalid(r, "audio_url", "must be an http(s) URL without blanks");
        goto out;
    }
    if (audio_url)
        json_object_set_new(doc, "audio_url", json_string(audio_url));
    if (upload_id)
        json_object_set_new(doc, "upload_id", json_string(upload_id));

    if (!copy_metadata_and_tags(r, body, doc))
        goto out;
    json_t *metrics = json_object_get(body, "metrics");
    if (metrics && !json_is_null(metrics)) {
        size_t i;
        json_t *m;
        if (!json_is_array(metrics)) {
            field_invalid(r, "metrics", "must be an array of metric ids");
            goto out;
        }
        json_array_foreach(metrics, i, m) {
            if (!json_is_string(m)) {
                char f[32];
                snprintf(f, sizeof f, "metrics[%zu]", i);
                field_invalid(r, f, "must be a metric id string");
                goto out;
            }
        }
        /* Every id must name a metric now; one deleted later shows as a FAILED output. */
        if (!vt_api_metric_ids_check(r, metrics, "metrics"))
            goto out;
        json_object_set(doc, "metric_ids", metrics);
    }
    c.doc_json = vt_api_dump(r, doc);
    vt_store_t *st = vt_api_app(r)->store;
    vt_err_t e = st->ops->conv_create(st, r->auth.org_id, &c);
    if (e) {
        vt_api_store_error(r, e, "Conversation");
        goto out;
    }
    vt_api_conv_reply(r, &c);
out:
    json_decref(doc);
    json_decref(body);
}

void vt_api_convs_get(vt_req_t *r) {
    const char *id = vt_arena_strndup(&r->arena, r->params[0].p, r->params[0].n);
    vt_store_t *st = vt_api_app(r)->store;
    vt_conversation_t c;
    vt_err_t e = st->ops->conv_get(st, r->auth.org_id, id, &r->arena, &c);
    if (e) {
        vt_api_store_error(r, e, "Conversation");
        return;
    }
    vt_api_conv_reply(r, &c);
}

static const char *param_id(vt_req_t *r) {
    return vt_arena_strndup(&r->arena, r->params[0].p, r->params[0].n);
}

static bool conv_status_valid(const char *s) {
    for (size_t i = 0; i < VT_ARRAY_LEN(conv_statuses); i++)
        if (strcmp(s, conv_statuses[i]) == 0)
            return true;
    return false;
}

/* ---- list --------------------------------------------------------------------------------- */

/* Turns the parsed filter terms into the store's conversation filter. */
static bool conv_filter_from_terms(vt_req_t *r, const vt_filter_t *f, vt_conv_filter_t *cf) {
    static const char supported[] = "status, external_conversation_id, agent_id, metadata.KEY";
    for (size_t i = 0; i < f->n; i++) {
        const char *field = f->terms[i].field, *value = f->terms[i].value;
        if (strcmp(field, "status") == 0) {
            if (!conv_status_valid(value)) {
                vt_req_reply_error(r, VT_EINVAL,
                                   "Invalid filter: status must be one of " CONV_STATUSES_TEXT,
                                   "filter", "status must be one of " CONV_STATUSES_TEXT);
                return false;
            }
            cf->status = value;
        } else if (strcmp(field, "external_conversation_id") == 0) {
            cf->external_conversation_id = value;
        } else if (strcmp(field, "agent_id") == 0) {
            cf->agent_id = value;
        } else if (strncmp(field, "metadata.", 9) == 0) {
            /* The rest of the name is one top-level metadata key, dots included. */
            if (cf->n_metadata == VT_CONV_FILTER_MAX_META) {
                char why[96];
                snprintf(why, sizeof why, "at most %d metadata terms are supported",
                         VT_CONV_FILTER_MAX_META);
                vt_req_reply_error(r, VT_EINVAL, "Invalid filter: too many metadata terms",
                                   "filter", why);
                return false;
            }
            cf->metadata[cf->n_metadata].key = field + 9;
            cf->metadata[cf->n_metadata].value = value;
            cf->n_metadata++;
        } else {
            vt_filter_reply_unsupported(r, field, supported);
            return false;
        }
    }
    return true;
}

void vt_api_convs_list(vt_req_t *r) {
    vt_filter_t f;
    vt_page_t pg;
    vt_conv_filter_t cf = {0};
    if (!vt_filter_from_query(r, &f) || !vt_paging_from_query(r, CONVS_MAX_PAGE, &pg) ||
        !conv_filter_from_terms(r, &f, &cf))
        return;
    const char *order = vt_req_query(r, "order_by");
    if (order && strcmp(order, "-create_time") != 0) {
        if (strcmp(order, "create_time") != 0) {
            vt_req_reply_error(r, VT_EINVAL,
                               "Invalid order_by: use create_time (oldest first) or -create_time "
                               "(newest first)",
                               "order_by", "must be create_time or -create_time");
            return;
        }
        cf.order_asc = true;
    }
    vt_store_t *st = vt_api_app(r)->store;
    vt_conversation_t *convs;
    size_t n;
    const char *next;
    vt_err_t e = st->ops->conv_list(st, r->auth.org_id, &cf, &pg, &r->arena, &convs, &n, &next);
    if (e) {
        vt_paging_reply_list_error(r, e, "Conversations");
        return;
    }
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "conversations");
    vt_jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
        write_conv(r, &w, &convs[i], NULL);
    vt_jw_arr_end(&w);
    if (!vt_paging_write_next(r, &w, next)) {
        vt_req_reply_error(r, VT_ENOMEM, "Out of memory while listing conversations", NULL, NULL);
        return;
    }
    vt_jw_obj_end(&w);
    vt_req_reply_json(r, 200);
}

/* ---- patch -------------------------------------------------------------------------------- */

static void reply_write_once(vt_req_t *r, const char *field) {
    char msg[128];
    snprintf(msg, sizeof msg, "Field %s is already set and cannot be changed", field);
    vt_req_reply_error(r, VT_EEXIST, msg, field, "is already set; it can be written once");
}

/* A write-once column: an unset one takes the new value, a set one only the same value again.
 * Replies (400 or 409) and returns false otherwise. */
static bool patch_once_column(vt_req_t *r, json_t *body, const char *field, size_t max_len,
                              const char **column) {
    const char *v = NULL;
    if (!vt_api_get_string(r, body, field, false, max_len, &v))
        return false;
    if (!v)
        return true;
    if (*column && strcmp(*column, v) != 0) {
        reply_write_once(r, field);
        return false;
    }
    *column = v;
    return true;
}

/* A write-once member of the document: unset means absent, null or an empty array. */
static bool patch_once_doc(vt_req_t *r, json_t *doc, const char *field, json_t *v) {
    json_t *cur = json_object_get(doc, field);
    bool unset = !cur || json_is_null(cur) || (json_is_array(cur) && json_array_size(cur) == 0);
    if (!unset) {
        if (json_equal(cur, v))
            return true;
        reply_write_once(r, field);
        return false;
    }
    json_object_set(doc, field, v);
    return true;
}

void vt_api_convs_patch(vt_req_t *r) {
    if (r->body.len > CONV_MAX_PAYLOAD) {
        vt_req_reply_error(r, VT_ETOOBIG, "Conversation payload exceeds 256 KiB", NULL, NULL);
        return;
    }
    json_t *body = vt_api_parse_object(r);
    if (!body)
        return;
    json_t *doc = NULL;
    static const char *const patchable[] = {"metadata",    "tags",      "status",
                                            "external_conversation_id", "agent_id",
                                            "occurred_at", "audio_url", "transcript"};
    if (!vt_api_patch_keys_check(r, body, patchable, VT_ARRAY_LEN(patchable)))
        goto out;
    vt_store_t *st = vt_api_app(r)->store;
    vt_conversation_t c;
    vt_err_t e = st->ops->conv_get(st, r->auth.org_id, param_id(r), &r->arena, &c);
    if (e) {
        vt_api_store_error(r, e, "Conversation");
        goto out;
    }
    doc = c.doc_json ? json_loads(c.doc_json, 0, NULL) : json_object();
    if (!json_is_object(doc)) {
        vt_req_reply_error(r, VT_EINTERNAL, "Stored conversation is damaged", NULL, NULL);
        goto out;
    }

    const char *status = NULL;
    if (!vt_api_get_string(r, body, "status", false, 32, &status))
        goto out;
    if (status) {
        if (!conv_status_valid(status)) {
            field_invalid(r, "status", "must be one of " CONV_STATUSES_TEXT);
            goto out;
        }
        c.status = status;
    }
    if (!copy_metadata_and_tags(r, body, doc))
        goto out;

    if (!patch_once_column(r, body, "external_conversation_id", 256, &c.external_conversation_id) ||
        !patch_once_column(r, body, "agent_id", 256, &c.agent_id) ||
        !patch_once_column(r, body, "occurred_at", 64, &c.occurred_at))
        goto out;
    json_t *audio_url = json_object_get(body, "audio_url");
    if (audio_url && !json_is_null(audio_url)) {
        if (!json_is_string(audio_url) || !audio_url_valid(json_string_value(audio_url)) ||
            json_string_length(audio_url) > 4096) {
            field_invalid(r, "audio_url", "must be an http(s) URL without blanks");
            goto out;
        }
        if (!patch_once_doc(r, doc, "audio_url", audio_url))
            goto out;
    }
    json_t *transcript = json_object_get(body, "transcript");
    if (transcript && !json_is_null(transcript)) {
        if (!vt_api_conv_check_transcript(r, transcript) ||
            !patch_once_doc(r, doc, "transcript", transcript))
            goto out;
    }

    c.doc_json = vt_api_dump(r, doc);
    c.update_ms = vt_api_now_ms();
    e = st->ops->conv_update(st, r->auth.org_id, &c);
    if (e) {
        vt_api_store_error(r, e, "Conversation");
        goto out;
    }
    vt_api_conv_reply(r, &c);
out:
    json_decref(doc);
    json_decref(body);
}

/* ---- audio and delete --------------------------------------------------------------------- */

/* The uploaded audio file a stored document names, as a path under the data folder, or NULL
 * when it names none. The name comes from the document the upload endpoint wrote, never from
 * the request, and is still checked so a damaged row cannot point outside the org's folder:
 * only [A-Za-z0-9_.-], and no leading dot (which also excludes "." and ".."). *bad is set when
 * a name is present but unusable. */
static const char *audio_file_path(vt_req_t *r, json_t *doc, bool *bad) {
    *bad = false;
    const char *name = json_string_value(json_object_get(doc, "audio_file"));
    if (!name)
        return NULL;
    size_t n = strlen(name);
    *bad = n == 0 || n > 255 || name[0] == '.';
    for (size_t i = 0; i < n && !*bad; i++) {
        char ch = name[i];
        *bad = !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '_' || ch == '.' || ch == '-');
    }
    if (*bad)
        return NULL;
    const char *dir = vt_api_app(r)->data_dir;
    return vt_arena_printf(&r->arena, "%s/audio/%" PRId64 "/%s", dir ? dir : ".", r->auth.org_id,
                           name);
}

/* Reads a regular file into the response body. VT_ENOTFOUND when it does not exist; other
 * failures are logged here, where the reason is known. */
static vt_err_t read_audio(vt_req_t *r, const char *path) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return VT_ENOTFOUND;
        vt_log_error("cannot open audio file %s: %s", path, strerror(errno));
        return VT_EINTERNAL;
    }
    vt_err_t e = VT_OK;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > CONV_MAX_AUDIO_BYTES) {
        vt_log_error("audio file %s is not a regular file of at most %lld bytes", path,
                     (long long)CONV_MAX_AUDIO_BYTES);
        e = VT_EINTERNAL;
        goto out;
    }
    vt_buf_reset(&r->resp);
    size_t want = (size_t)sb.st_size;
    if ((e = vt_buf_reserve(&r->resp, want)) != VT_OK)
        goto out;
    /* Reads straight into the reserved room; a file that shrank meanwhile ends early. */
    while (r->resp.len < want) {
        ssize_t got = read(fd, r->resp.data + r->resp.len, want - r->resp.len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            vt_log_error("cannot read audio file %s: %s", path, strerror(errno));
            e = VT_EINTERNAL;
            goto out;
        }
        if (got == 0)
            break;
        r->resp.len += (size_t)got;
    }
    if (r->resp.data)
        r->resp.data[r->resp.len] = '\0';
out:
    close(fd);
    return e;
}

void vt_api_convs_audio(vt_req_t *r) {
    vt_store_t *st = vt_api_app(r)->store;
    vt_conversation_t c;
    vt_err_t e = st->ops->conv_get(st, r->auth.org_id, param_id(r), &r->arena, &c);
    if (e) {
        vt_api_store_error(r, e, "Conversation");
        return;
    }
    json_t *doc = c.doc_json ? json_loads(c.doc_json, 0, NULL) : NULL;
    bool bad;
    const char *path = audio_file_path(r, doc, &bad);
    const char *url = json_string_value(json_object_get(doc, "audio_url"));
    if (bad) {
        vt_log_error("conversation %s: stored audio file name is not a plain file name",
                     c.conversation_id);
        vt_req_reply_error(r, VT_EINTERNAL, "Stored audio file name is invalid", NULL, NULL);
    } else if (path) {
        e = read_audio(r, path);
        if (e == VT_ENOTFOUND) {
            vt_req_reply_error(r, VT_ENOTFOUND, "Conversation audio file is missing", NULL, NULL);
        } else if (e) {
            vt_req_reply_error(r, VT_EINTERNAL, "Cannot read the conversation's audio file", NULL,
                               NULL);
        } else {
            /* Only the two types the upload accepts are served as such: a damaged document must
             * not make the browser render the bytes as something else (nosniff is set too). */
            const char *type = json_string_value(json_object_get(doc, "audio_content_type"));
            if (!type || (strcmp(type, "audio/wav") && strcmp(type, "audio/mpeg")))
                type = "application/octet-stream";
            r->status = 200;
            r->content_type = vt_arena_strndup(&r->arena, type, strlen(type));
            r->extra_header_name = "Cache-Control";
            r->extra_header_value = "private";
        }
    } else if (url && audio_url_valid(url)) {
        r->extra_header_name = "Location";
        r->extra_header_value = vt_arena_strndup(&r->arena, url, strlen(url));
        vt_jw_t w;
        vt_jw_init(&w, &r->resp);
        vt_jw_obj_begin(&w);
        vt_jw_key(&w, "audio_url");
        vt_jw_cstr(&w, url);
        vt_jw_obj_end(&w);
        vt_req_reply_json(r, 302);
    } else {
        vt_req_reply_error(r, VT_ENOTFOUND, "Conversation has no audio", NULL, NULL);
    }
    json_decref(doc);
}

void vt_api_convs_delete(vt_req_t *r) {
    vt_store_t *st = vt_api_app(r)->store;
    vt_conversation_t c;
    vt_err_t e = st->ops->conv_get(st, r->auth.org_id, param_id(r), &r->arena, &c);
    if (!e)
        e = st->ops->conv_delete(st, r->auth.org_id, c.conversation_id);
    if (e) {
        vt_api_store_error(r, e, "Conversation");
        return;
    }
    /* The row is gone; its uploaded audio goes too, or the data folder would keep growing with
     * files nothing refers to. A failure here is logged, not reported: the delete happened. */
    json_t *doc = c.doc_json ? json_loads(c.doc_json, 0, NULL) : NULL;
    bool bad;
    const char *path = audio_file_path(r, doc, &bad);
    if (path && unlink(path) != 0 && errno != ENOENT)
        vt_log_warn("conversation %s deleted, but not its audio file %s: %s", c.conversation_id,
                    path, strerror(errno));
    json_decref(doc);
    vt_buf_append_c(&r->resp, "{}");
    vt_req_reply_json(r, 200);
}
