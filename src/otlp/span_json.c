/*
 * span_json.c - the JSON forms of attributes, events, links, resources and scopes that the
 * stores keep and the read API returns (span.h). Everything goes through the vt_jw_* writer,
 * so strings are escaped and invalid UTF-8 is replaced on the way out.
 */
#include "span.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- objects with unique keys ---------------------------------------------------------------- */

/* Up to this many members, finding later duplicates by comparing every pair is cheaper than
 * building a hash table. */
#define DEDUP_LINEAR_MAX 16

static uint64_t key_hash(vt_str_t k) {
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (size_t i = 0; i < k.n; i++)
        h = (h ^ (unsigned char)k.p[i]) * 1099511628211ull;
    return h;
}

/* For each member, whether it is the last one with its key: only those are written. keep[] has
 * n entries. Returns false when the hash table cannot be allocated. */
static bool mark_last_keys(const vt_kv_t *kv, uint32_t n, bool *keep) {
    if (n <= DEDUP_LINEAR_MAX) {
        for (uint32_t i = 0; i < n; i++) {
            keep[i] = true;
            for (uint32_t j = i + 1; j < n && keep[i]; j++)
                if (vt_str_eq(kv[i].key, kv[j].key))
                    keep[i] = false;
        }
        return true;
    }
    /* Open addressing with linear probing; a slot holds 1 + the index of the latest member
     * seen with that key (0 = empty). At least twice as many slots as members. */
    size_t size = 64;
    while (size < 2 * (size_t)n)
        size *= 2;
    uint32_t *slot = calloc(size, sizeof *slot);
    if (!slot)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        size_t h = (size_t)key_hash(kv[i].key) & (size - 1);
        while (slot[h] && !vt_str_eq(kv[slot[h] - 1].key, kv[i].key))
            h = (h + 1) & (size - 1);
        if (slot[h])
            keep[slot[h] - 1] = false;
        slot[h] = i + 1;
        keep[i] = true;
    }
    free(slot);
    return true;
}

/* Writes key/value pairs as one JSON object in which each key appears once: for a repeated key
 * the last value wins, at the position of its last occurrence. */
static void write_kv_object(vt_jw_t *w, const vt_kv_t *kv, uint32_t n) {
    bool small[DEDUP_LINEAR_MAX];
    bool *keep = n <= DEDUP_LINEAR_MAX ? small : malloc(n * sizeof *keep);
    if (!keep || !mark_last_keys(kv, n, keep)) {
        w->b->failed = true; /* out of memory: the output is unusable, say so like a full buffer */
        if (keep != small)
            free(keep);
        return;
    }
    vt_jw_obj_begin(w);
    for (uint32_t i = 0; i < n; i++) {
        if (!keep[i])
            continue;
        vt_jw_key_str(w, kv[i].key);
        vt_json_write_value(w, &kv[i].value);
    }
    vt_jw_obj_end(w);
    if (keep != small)
        free(keep);
}

/* ---- values ------------------------------------------------------------------------------------
 */

/* Bytes as standard base64 with padding, the form the protobuf JSON mapping uses. */
static void write_base64(vt_jw_t *w, vt_str_t bytes) {
    size_t len = sodium_base64_ENCODED_LEN(bytes.n, sodium_base64_VARIANT_ORIGINAL);
    char *tmp = malloc(len);
    if (!tmp) {
        w->b->failed = true;
        return;
    }
    sodium_bin2base64(tmp, len, (const unsigned char *)bytes.p, bytes.n,
                      sodium_base64_VARIANT_ORIGINAL);
    vt_jw_str(w, (vt_str_t){tmp, len - 1});
    free(tmp);
}

void vt_json_write_value(vt_jw_t *w, const vt_value_t *v) {
    switch (v->type) {
    case VT_VAL_STRING:
        vt_jw_str(w, v->u.s);
        return;
    case VT_VAL_BOOL:
        vt_jw_bool(w, v->u.b);
        return;
    case VT_VAL_INT:
        vt_jw_int(w, v->u.i);
        return;
    case VT_VAL_DOUBLE:
        vt_jw_double(w, v->u.d);
        return;
    case VT_VAL_BYTES:
        write_base64(w, v->u.s);
        return;
    case VT_VAL_ARRAY:
        vt_jw_arr_begin(w);
        for (uint32_t i = 0; i < v->u.arr.n; i++)
            vt_json_write_value(w, &v->u.arr.items[i]);
        vt_jw_arr_end(w);
        return;
    case VT_VAL_KVLIST:
        write_kv_object(w, v->u.kv.items, v->u.kv.n);
        return;
    case VT_VAL_EMPTY:
        break;
    }
    vt_jw_null(w);
}

void vt_json_write_attrs(vt_jw_t *w, const vt_attrs_t *attrs) {
    write_kv_object(w, attrs->items, attrs->n);
}

/* ---- events, links, resource, scope ------------------------------------------------------------
 */

/* 64-bit nanosecond times are written as decimal strings: JSON readers that hold numbers as
 * doubles (JavaScript) would round them. */
static void write_u64_string(vt_jw_t *w, uint64_t v) {
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    vt_jw_cstr(w, tmp);
}

void vt_json_write_events(vt_jw_t *w, const vt_event_t *ev, uint32_t n) {
    vt_jw_arr_begin(w);
    for (uint32_t i = 0; i < n; i++) {
        vt_jw_obj_begin(w);
        vt_jw_key(w, "name");
        vt_jw_str(w, ev[i].name);
        vt_jw_key(w, "time_unix_nano");
        write_u64_string(w, ev[i].time_ns);
        vt_jw_key(w, "attributes");
        vt_json_write_attrs(w, &ev[i].attrs);
        if (ev[i].attrs.dropped) {
            vt_jw_key(w, "dropped_attributes_count");
            vt_jw_uint(w, ev[i].attrs.dropped);
        }
        vt_jw_obj_end(w);
    }
    vt_jw_arr_end(w);
}

void vt_json_write_links(vt_jw_t *w, const vt_link_t *l, uint32_t n) {
    vt_jw_arr_begin(w);
    for (uint32_t i = 0; i < n; i++) {
        vt_jw_obj_begin(w);
        vt_jw_key(w, "trace_id");
        vt_jw_hex(w, l[i].trace_id, sizeof l[i].trace_id);
        vt_jw_key(w, "span_id");
        vt_jw_hex(w, l[i].span_id, sizeof l[i].span_id);
        if (l[i].trace_state.n) {
            vt_jw_key(w, "trace_state");
            vt_jw_str(w, l[i].trace_state);
        }
        if (l[i].flags) {
            vt_jw_key(w, "flags");
            vt_jw_uint(w, l[i].flags);
        }
        vt_jw_key(w, "attributes");
        vt_json_write_attrs(w, &l[i].attrs);
        vt_jw_obj_end(w);
    }
    vt_jw_arr_end(w);
}

void vt_json_write_resource(vt_jw_t *w, const vt_resource_t *r) {
    vt_json_write_attrs(w, &r->attrs);
}

void vt_json_write_scope(vt_jw_t *w, const vt_scope_t *s) {
    vt_jw_obj_begin(w);
    vt_jw_key(w, "name");
    vt_jw_str(w, s->name);
    vt_jw_key(w, "version");
    vt_jw_str(w, s->version);
    if (s->attrs.n) {
        vt_jw_key(w, "attributes");
        vt_json_write_attrs(w, &s->attrs);
    }
    vt_jw_obj_end(w);
}
