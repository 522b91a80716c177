/*
 * conversations.c - monitoring conversations: a production call submitted after it ended, the
 * target of X-Conversation-Id.
 */
#include <stdio.h>

#include "../core/ulid.h"
#include "api.h"

#define CONV_MAX_PAYLOAD (256 * 1024)
#define CONV_MAX_TAGS 20
#define CONV_MAX_TAG_LEN 200

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
                 content && !json_is_string(content) && !json_is_null(content) ? "content" : "message");
        field_invalid(r, f, "must be a string");
        return false;
    }
    if (!json_is_string(content) && !json_is_string(message) && !json_is_array(tool_calls)) {
        snprintf(f, sizeof f, "transcript[%zu].content", i);
        field_invalid(r, f, "is required (content or message, unless tool_calls are given)");
        return false;
    }
    if (tool_calls && !json_is_array(tool_calls)) {
        snprintf(f, sizeof f, "transcript[%zu].tool_calls", i);
        field_invalid(r, f, "must be an array");
        return false;
    }
    size_t k;
    json_t *tc;
    json_array_foreach(tool_calls, k, tc) {
        json_t *fn = json_object_get(tc, "function");
        if (!json_is_object(tc) || !json_is_object(fn) ||
            !json_is_string(json_object_get(fn, "name"))) {
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

void vt_api_conv_reply(vt_req_t *r, const vt_conversation_t *c) {
    json_t *doc = c->doc_json ? json_loads(c->doc_json, 0, NULL) : NULL;
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "conversation");
    vt_jw_obj_begin(&w);
    vt_jw_key(&w, "name");
    vt_jw_cstr(&w, vt_arena_printf(&r->arena, "conversations/%s", c->conversation_id));
    vt_jw_key(&w, "conversation_id");
    vt_jw_cstr(&w, c->conversation_id);
    vt_jw_key(&w, "status");
    vt_jw_cstr(&w, c->status);
    vt_jw_key(&w, "create_time");
    vt_jw_cstr(&w, vt_api_time(r, c->create_ms));
    vt_jw_key(&w, "update_time");
    vt_jw_cstr(&w, vt_api_time(r, c->update_ms));
    vt_jw_key(&w, "external_conversation_id");
    vt_jw_cstr(&w, c->external_conversation_id);
    vt_jw_key(&w, "occurred_at");
    vt_jw_cstr(&w, c->occurred_at);
    vt_jw_key(&w, "agent_id");
    vt_jw_cstr(&w, c->agent_id);
    json_t *audio = json_object_get(doc, "audio_url");
    vt_jw_key(&w, "has_audio");
    vt_jw_bool(&w, json_is_string(audio));
    static const struct {
        const char *key, *fallback;
    } parts[] = {{"audio_url", "null"}, {"metadata", "{}"},   {"tags", "[]"},
                 {"metric_ids", "[]"},  {"transcript", "[]"}};
    for (size_t i = 0; i < VT_ARRAY_LEN(parts); i++) {
        json_t *v = json_object_get(doc, parts[i].key);
        vt_api_raw_field(&w, parts[i].key, v ? vt_api_dump(r, v) : NULL, parts[i].fallback);
    }
    vt_jw_key(&w, "span_count");
    vt_jw_int(&w, c->span_count);
    vt_jw_obj_end(&w);
    vt_jw_obj_end(&w);
    json_decref(doc);
    vt_req_reply_json(r, 200);
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
    if (audio_url && strncmp(audio_url, "http://", 7) && strncmp(audio_url, "https://", 8)) {
        field_invalid(r, "audio_url", "must be an http(s) URL");
        goto out;
    }
    if (audio_url)
        json_object_set_new(doc, "audio_url", json_string(audio_url));
    if (upload_id)
        json_object_set_new(doc, "upload_id", json_string(upload_id));

    json_t *metadata = json_object_get(body, "metadata");
    if (metadata && !json_is_null(metadata)) {
        if (!json_is_object(metadata)) {
            field_invalid(r, "metadata", "must be an object");
            goto out;
        }
        json_object_set(doc, "metadata", metadata);
    }
    json_t *tags = json_object_get(body, "tags");
    if (tags && !json_is_null(tags)) {
        if (!json_is_array(tags) || json_array_size(tags) > CONV_MAX_TAGS) {
            field_invalid(r, "tags", "must be an array of at most 20 strings");
            goto out;
        }
        size_t i;
        json_t *t;
        json_array_foreach(tags, i, t) {
            if (!json_is_string(t) || json_string_length(t) > CONV_MAX_TAG_LEN) {
                char f[32];
                snprintf(f, sizeof f, "tags[%zu]", i);
                field_invalid(r, f, "must be a string of at most 200 characters");
                goto out;
            }
        }
        json_object_set(doc, "tags", tags);
    }
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
