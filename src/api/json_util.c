/*
 * json_util.c - reading request bodies with jansson, and small response helpers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "api.h"

json_t *vt_api_parse_object(vt_req_t *r) {
    json_error_t jerr;
    if (r->body.len == 0) {
        vt_req_reply_error(r, VT_EINVAL, "Request body must be a JSON object", NULL, NULL);
        return NULL;
    }
    json_t *root = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        char msg[256];
        snprintf(msg, sizeof msg, "Invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        vt_req_reply_error(r, VT_EINVAL, msg, NULL, NULL);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        vt_req_reply_error(r, VT_EINVAL, "Request body must be a JSON object", NULL, NULL);
        return NULL;
    }
    return root;
}

static void field_error(vt_req_t *r, const char *field, const char *desc) {
    char msg[256];
    snprintf(msg, sizeof msg, "Invalid field %s: %s", field, desc);
    vt_req_reply_error(r, VT_EINVAL, msg, field, desc);
}

bool vt_api_get_string(vt_req_t *r, json_t *obj, const char *field, bool required, size_t max_len,
                       const char **out) {
    json_t *v = json_object_get(obj, field);
    if (!v || json_is_null(v)) {
        if (required) {
            field_error(r, field, "is required");
            return false;
        }
        return true;
    }
    if (!json_is_string(v)) {
        field_error(r, field, "must be a string");
        return false;
    }
    size_t n = json_string_length(v);
    if (required && n == 0) {
        field_error(r, field, "must not be empty");
        return false;
    }
    if (max_len && n > max_len) {
        char d[64];
        snprintf(d, sizeof d, "must be at most %zu characters", max_len);
        field_error(r, field, d);
        return false;
    }
    if (memchr(json_string_value(v), '\0', n)) {
        field_error(r, field, "must not contain NUL characters");
        return false;
    }
    *out = vt_arena_strndup(&r->arena, json_string_value(v), n);
    return *out != NULL;
}

static bool get_typed_text(vt_req_t *r, json_t *obj, const char *field, bool want_object,
                           const char **out_json) {
    json_t *v = json_object_get(obj, field);
    if (!v || json_is_null(v))
        return true;
    if (want_object ? !json_is_object(v) : !json_is_array(v)) {
        field_error(r, field, want_object ? "must be an object" : "must be an array");
        return false;
    }
    *out_json = vt_api_dump(r, v);
    return *out_json != NULL;
}

bool vt_api_get_object_text(vt_req_t *r, json_t *obj, const char *field, const char **out_json) {
    return get_typed_text(r, obj, field, true, out_json);
}

bool vt_api_get_array_text(vt_req_t *r, json_t *obj, const char *field, const char **out_json) {
    return get_typed_text(r, obj, field, false, out_json);
}

bool vt_api_patch_keys_check(vt_req_t *r, json_t *body, const char *const *allowed, size_t n) {
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val) {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (known)
            continue;
        /* Fields fixed at creation (or computed) are refused rather than silently ignored. The
         * name is echoed back, so only its start: a key may be megabytes long. */
        char field[65], msg[160], desc[400];
        snprintf(field, sizeof field, "%s", key);
        snprintf(msg, sizeof msg, "Invalid field %s: cannot be changed", field);
        int len = snprintf(desc, sizeof desc, "cannot be changed; PATCH accepts");
        for (size_t i = 0; i < n && len > 0 && (size_t)len < sizeof desc; i++)
            len += snprintf(desc + len, sizeof desc - (size_t)len, "%s %s", i ? "," : "", allowed[i]);
        vt_req_reply_error(r, VT_EINVAL, msg, field, desc);
        return false;
    }
    return true;
}

const char *vt_api_dump(vt_req_t *r, const json_t *v) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        return NULL;
    char *copy = vt_arena_strndup(&r->arena, s, strlen(s));
    free(s);
    return copy;
}

const char *vt_api_time(vt_req_t *r, int64_t ms) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    return vt_arena_printf(&r->arena, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                           (int)(ms % 1000));
}

int64_t vt_api_now_ms(void) {
    return (int64_t)(vt_now_ns() / 1000000u);
}

void vt_api_raw_field(vt_jw_t *w, const char *key, const char *json, const char *fallback) {
    vt_jw_key(w, key);
    vt_jw_raw(w, vt_str_c(json ? json : fallback));
}

void vt_api_store_error(vt_req_t *r, vt_err_t e, const char *what) {
    char msg[160];
    switch (e) {
    case VT_ENOTFOUND: snprintf(msg, sizeof msg, "%s not found", what); break;
    case VT_EEXIST: snprintf(msg, sizeof msg, "%s already exists", what); break;
    default: snprintf(msg, sizeof msg, "Storage failure while handling %s", what); break;
    }
    vt_req_reply_error(r, e, msg, NULL, NULL);
}
