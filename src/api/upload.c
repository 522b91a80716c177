/*
 * upload.c - POST /v1/conversations:upload: a conversation and its traces from one
 * multipart/form-data request, what the Monitoring page's "Upload to Monitoring" sends.
 *
 * Everything that can be refused is checked first (the form, the transcript, the audio's type,
 * the OTLP JSON traces, already serialised for the store), so a bad file creates nothing. Then
 * the audio file is stored, the conversation created, and the spans handed to the ingest writer
 * exactly as POST /v1/traces does; the answer goes out after the commit. When the spans cannot
 * be stored the conversation and its audio are removed again, so a retry starts clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/ulid.h"
#include "../http/multipart.h"
#include "../otlp/span.h"
#include "api.h"
#include "ingest.h"

#define UPLOAD_MAX_PARTS 32
#define UPLOAD_MAX_AUDIO ((size_t)50 << 20)
#define UPLOAD_MAX_TRANSCRIPT ((size_t)16 << 20)
#define UPLOAD_MAX_METADATA ((size_t)256 << 10)
#define UPLOAD_MAX_REFERENCE ((size_t)1 << 20)
#define UPLOAD_MAX_SHORT 256 /* ids and other one-line fields */

/* Per-field caps; fields not listed (ignored ones, and traces) are bounded by the body cap. */
static const vt_mp_cap_t upload_caps[] = {
    {"audio", UPLOAD_MAX_AUDIO},
    {"transcript", UPLOAD_MAX_TRANSCRIPT},
    {"metadata", UPLOAD_MAX_METADATA},
    {"reference_transcript", UPLOAD_MAX_REFERENCE},
    {"external_conversation_id", UPLOAD_MAX_SHORT},
    {"agent_id", UPLOAD_MAX_SHORT},
    {"occurred_at", UPLOAD_MAX_SHORT},
};

typedef struct {
    vt_write_job_t job;
    vt_req_t *r;
    vt_conversation_t conv;
    const char *audio_path; /* the stored audio file, NULL without audio */
    vt_ingest_t prep;
} upload_t;

static void field_invalid(vt_req_t *r, const char *field, const char *desc) {
    char msg[400];
    snprintf(msg, sizeof msg, "Invalid field %s: %s", field, desc);
    vt_req_reply_error(r, VT_EINVAL, msg, field, desc);
}

/* A field's part, or NULL when it is absent or empty: a browser sends a file input left blank
 * as an empty part, so an empty file counts as no file. A field given twice is refused. */
static bool get_part(vt_req_t *r, const vt_mp_form_t *f, const char *name,
                     const vt_mp_part_t **out) {
    *out = NULL;
    if (vt_multipart_count(f, name) > 1) {
        field_invalid(r, name, "is given more than once");
        return false;
    }
    const vt_mp_part_t *p = vt_multipart_get(f, name);
    if (p && p->len)
        *out = p;
    return true;
}

/* A text field: UTF-8 without NUL, at most max bytes. Absent or empty leaves *out NULL. */
static bool get_text(vt_req_t *r, const vt_mp_form_t *f, const char *name, size_t max,
                     const char **out) {
    const vt_mp_part_t *p;
    *out = NULL;
    if (!get_part(r, f, name, &p))
        return false;
    if (!p)
        return true;
    json_t *s = json_stringn(p->data, p->len); /* NULL for invalid UTF-8 */
    json_decref(s);
    if (!s || memchr(p->data, '\0', p->len) || p->len > max) {
        char desc[96];
        snprintf(desc, sizeof desc, "must be UTF-8 text of at most %zu bytes", max);
        field_invalid(r, name, desc);
        return false;
    }
    *out = p->data; /* NUL-terminated by the form parser */
    return true;
}

/* A JSON field (a plain value or an uploaded file). NULL in *out when absent. */
static bool get_json(vt_req_t *r, const vt_mp_form_t *f, const char *name, json_t **out) {
    const vt_mp_part_t *p;
    *out = NULL;
    if (!get_part(r, f, name, &p))
        return false;
    if (!p)
        return true;
    json_error_t jerr;
    *out = json_loadb(p->data, p->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*out) {
        char desc[300];
        snprintf(desc, sizeof desc, "is not valid JSON (line %d column %d: %s)", jerr.line,
                 jerr.column, jerr.text);
        field_invalid(r, name, desc);
        return false;
    }
    return true;
}

/* Recognises the audio by its first bytes: a RIFF/WAVE header, an ID3 tag, or an MPEG audio
 * frame sync (11 set bits) with a layer other than the reserved 00, which also keeps out AAC's
 * ADTS frames. Returns the content type and sets the file extension, or NULL. */
static const char *audio_type(const vt_mp_part_t *p, const char **ext) {
    const unsigned char *b = (const unsigned char *)p->data;
    if (p->len >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WAVE", 4) == 0) {
        *ext = "wav";
        return "audio/wav";
    }
    if ((p->len >= 10 && memcmp(b, "ID3", 3) == 0) ||
        (p->len >= 4 && b[0] == 0xFF && (b[1] & 0xE0) == 0xE0 && (b[1] & 0x06) != 0)) {
        *ext = "mp3";
        return "audio/mpeg";
    }
    return NULL;
}

/* Reads the transcript file: an array of messages, or an object {"transcript": [...]}. */
static bool get_transcript(vt_req_t *r, const vt_mp_form_t *f, json_t **out) {
    if (!get_json(r, f, "transcript", out))
        return false;
    if (!*out)
        return true;
    if (json_is_object(*out)) {
        json_t *inner = json_incref(json_object_get(*out, "transcript"));
        json_decref(*out);
        *out = inner;
    }
    if (!json_is_array(*out)) {
        field_invalid(r, "transcript",
                      "must be a JSON array of messages or an object {\"transcript\": [...]}");
        return false;
    }
    return vt_api_conv_check_transcript(r, *out);
}

/* Decodes the traces file and prepares its rows. false (with a 400/413) when it is not OTLP
 * JSON with a top-level resourceSpans array. */
static bool get_traces(vt_req_t *r, const vt_mp_form_t *f, upload_t *u, bool *present) {
    const vt_mp_part_t *p;
    *present = false;
    if (!get_part(r, f, "traces", &p))
        return false;
    if (!p)
        return true;
    vt_batch_t batch;
    char derr[256] = "";
    vt_err_t e = vt_otlp_decode_json(&r->arena, p->data, p->len, &batch, derr, sizeof derr);
    if (e == VT_OK && batch.n_resources == 0) {
        /* The decoder takes a missing resourceSpans for an empty export; a file is expected to
         * say what it is, so look for the key itself (only the empty case pays for this). */
        json_t *root = json_loadb(p->data, p->len, 0, NULL);
        bool has = json_is_array(json_object_get(root, "resourceSpans")) ||
                   json_is_array(json_object_get(root, "resource_spans"));
        json_decref(root);
        if (!has) {
            e = VT_EINVAL;
            snprintf(derr, sizeof derr, "the file has no top-level resourceSpans array");
        }
    }
    if (e) {
        char desc[320];
        snprintf(desc, sizeof desc, "must be an OTLP JSON file: %s", derr);
        if (e == VT_ETOOBIG)
            vt_req_reply_error(r, VT_ETOOBIG, "The traces file is too large to process", "traces",
                               NULL);
        else
            field_invalid(r, "traces", desc);
        return false;
    }
    if (vt_ingest_prepare(&r->arena, &batch, vt_now_ns(), &u->prep) != VT_OK) {
        vt_req_reply_error(r, VT_ETOOBIG, "The traces file is too large to process", "traces",
                           NULL);
        return false;
    }
    *present = true;
    return true;
}

/* Creates a directory if it is missing. */
static bool ensure_dir(const char *path) {
    return mkdir(path, 0700) == 0 || errno == EEXIST;
}

/* Stores the audio durably at DATA/audio/<org>/<file>: written under a temporary name, synced,
 * then renamed into place, so a crash never leaves a partial file under the final name. */
static vt_err_t store_audio(vt_req_t *r, const vt_mp_part_t *audio, const char *file,
                            const char **path_out) {
    const char *data = vt_api_app(r)->data_dir ? vt_api_app(r)->data_dir : ".";
    const char *root = vt_arena_printf(&r->arena, "%s/audio", data);
    const char *dir = vt_arena_printf(&r->arena, "%s/%" PRId64, root ? root : "", r->auth.org_id);
    const char *path = dir ? vt_arena_printf(&r->arena, "%s/%s", dir, file) : NULL;
    const char *tmp = path ? vt_arena_printf(&r->arena, "%s.tmp", path) : NULL;
    if (!tmp)
        return VT_ENOMEM;
    if (!ensure_dir(root) || !ensure_dir(dir)) {
        vt_log_error("upload: cannot create %s: %s", dir, strerror(errno));
        return VT_EINTERNAL;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        vt_log_error("upload: cannot create %s: %s", tmp, strerror(errno));
        return VT_EINTERNAL;
    }
    size_t off = 0;
    while (off < audio->len) {
        ssize_t n = write(fd, audio->data + off, audio->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    bool ok = off == audio->len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        vt_log_error("upload: cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return VT_EINTERNAL;
    }
    /* The rename is durable once the directory is synced. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0)
            vt_log_warn("upload: cannot sync %s: %s", dir, strerror(errno));
        close(dfd);
    }
    *path_out = path;
    return VT_OK;
}

/* Removes what the upload created (after a failure to store its spans). */
static void undo_upload(upload_t *u) {
    vt_req_t *r = u->r;
    vt_store_t *st = vt_api_app(r)->store;
    vt_err_t e = st->ops->conv_delete
                     ? st->ops->conv_delete(st, r->auth.org_id, u->conv.conversation_id)
                     : VT_EINTERNAL;
    if (e)
        vt_log_error("upload: cannot remove conversation %s after a failed upload",
                     u->conv.conversation_id);
    if (u->audio_path && unlink(u->audio_path) != 0)
        vt_log_error("upload: cannot remove %s: %s", u->audio_path, strerror(errno));
}

/* Answers {"conversation": {...}, "accepted_spans", "rejected_spans", "duplicate_spans",
 * "rejection_message"?}. The conversation object comes from the shared writer in
 * conversations.c; the counts are appended inside its outer object. */
static void reply_upload(upload_t *u, uint32_t accepted, uint32_t duplicates) {
    vt_req_t *r = u->r;
    vt_buf_reset(&r->resp);
    u->conv.span_count = accepted;
    vt_api_conv_reply(r, &u->conv);
    if (r->resp.failed || r->resp.len == 0 || r->resp.data[r->resp.len - 1] != '}')
        return; /* the server answers a failed response buffer with a 500 */
    /* Reopen the outer object: drop its '}' and continue writing at depth 1, after a member. */
    r->resp.data[--r->resp.len] = '\0';
    vt_jw_t w;
    vt_jw_init(&w, &r->resp);
    w.depth = 1;
    w.need_comma = 1ull << 1;
    vt_jw_key(&w, "accepted_spans");
    vt_jw_uint(&w, accepted);
    vt_jw_key(&w, "rejected_spans");
    vt_jw_uint(&w, u->prep.rejected);
    vt_jw_key(&w, "duplicate_spans");
    vt_jw_uint(&w, duplicates);
    if (u->prep.rejected) {
        vt_jw_key(&w, "rejection_message");
        vt_jw_cstr(&w, u->prep.reject_msg);
    }
    vt_jw_obj_end(&w);
    vt_req_reply_json(r, 200);
}

static void upload_done(vt_write_job_t *job, vt_err_t err) {
    upload_t *u = (upload_t *)job;
    vt_req_t *r = u->r;
    vt_ingest_free(&u->prep);
    if (err) {
        undo_upload(u);
        vt_req_reply_error(r, VT_EUNAVAIL, "Could not store the spans; retry later", NULL, NULL);
    } else if (job->batch.target_missing) {
        /* Deleted by another request between its creation and the write. */
        vt_req_reply_error(r, VT_ENOTFOUND, "Conversation not found", NULL, NULL);
    } else {
        reply_upload(u, job->batch.inserted, job->batch.duplicates);
    }
    vt_req_resume(r);
}

static void reply_form_error(vt_req_t *r, vt_err_t e, const vt_mp_form_t *f, const char *msg) {
    if (e == VT_ENOMEM)
        vt_req_reply_error(r, VT_ETOOBIG, "Request too large to process", NULL, NULL);
    else
        vt_req_reply_error(r, e, msg, f->field, f->field ? msg : NULL);
}

void vt_api_convs_upload(vt_req_t *r) {
    vt_app_t *app = vt_api_app(r);
    vt_mp_limits_t lim = {.max_parts = UPLOAD_MAX_PARTS,
                          .max_part_bytes = SIZE_MAX,
                          .caps = upload_caps,
                          .n_caps = VT_ARRAY_LEN(upload_caps)};
    vt_mp_form_t form;
    char msg[256];
    vt_err_t e = vt_multipart_parse(r, &lim, &form, msg, sizeof msg);
    if (e) {
        reply_form_error(r, e, &form, msg);
        return;
    }

    upload_t *u = vt_arena_calloc(&r->arena, 1, sizeof *u);
    if (!u) {
        vt_req_reply_error(r, VT_ETOOBIG, "Request too large to process", NULL, NULL);
        return;
    }
    u->r = r;
    json_t *doc = json_object();
    json_t *transcript = NULL, *metadata = NULL;
    const char *reference = NULL, *audio_ctype = NULL, *ext = NULL;
    const vt_mp_part_t *audio;
    bool traces = false;
    vt_conversation_t *c = &u->conv;
    if (!get_text(r, &form, "external_conversation_id", UPLOAD_MAX_SHORT,
                  &c->external_conversation_id) ||
        !get_text(r, &form, "agent_id", UPLOAD_MAX_SHORT, &c->agent_id) ||
        !get_text(r, &form, "occurred_at", UPLOAD_MAX_SHORT, &c->occurred_at) ||
        !get_text(r, &form, "reference_transcript", UPLOAD_MAX_REFERENCE, &reference) ||
        !get_transcript(r, &form, &transcript) || !get_json(r, &form, "metadata", &metadata) ||
        !get_part(r, &form, "audio", &audio))
        goto out;
    if (metadata && !json_is_object(metadata)) {
        field_invalid(r, "metadata", "must be a JSON object");
        goto out;
    }
    if (audio && !(audio_ctype = audio_type(audio, &ext))) {
        field_invalid(r, "audio", "must be a WAV (RIFF/WAVE) or MP3 file");
        goto out;
    }
    if (json_array_size(transcript) == 0 && !audio) {
        vt_req_reply_error(r, VT_EINVAL, "One of transcript or audio is required", "transcript",
                           "one of transcript (a JSON file) or audio (WAV or MP3) is required");
        goto out;
    }
    if (!get_traces(r, &form, u, &traces))
        goto out;

    /* Everything is valid: create. */
    char id[VT_ULID_LEN + 1];
    vt_ulid_new(id);
    c->conversation_id = vt_arena_strndup(&r->arena, id, VT_ULID_LEN);
    c->status = "COMPLETED";
    c->create_ms = c->update_ms = vt_api_now_ms();
    if (transcript)
        json_object_set(doc, "transcript", transcript);
    if (metadata)
        json_object_set(doc, "metadata", metadata);
    if (reference)
        json_object_set_new(doc, "reference_transcript", json_string(reference));
    if (audio) {
        const char *file = vt_arena_printf(&r->arena, "%s.%s", id, ext);
        if (!file || (e = store_audio(r, audio, file, &u->audio_path)) != VT_OK) {
            vt_req_reply_error(r, VT_EINTERNAL, "Could not store the audio file", NULL, NULL);
            goto out;
        }
        json_object_set_new(doc, "audio_file", json_string(file));
        json_object_set_new(doc, "audio_content_type", json_string(audio_ctype));
    }
    c->doc_json = vt_api_dump(r, doc);
    vt_store_t *st = app->store;
    if (!c->conversation_id || !c->doc_json) {
        e = VT_ENOMEM;
    } else {
        e = st->ops->conv_create(st, r->auth.org_id, c);
    }
    if (e) {
        if (u->audio_path)
            unlink(u->audio_path);
        vt_api_store_error(r, e, "Conversation");
        goto out;
    }
    if (!traces || u->prep.batch.n_rows == 0) {
        reply_upload(u, 0, 0);
        goto out;
    }
    u->job.batch = u->prep.batch;
    u->job.batch.org_id = r->auth.org_id;
    u->job.batch.kind = VT_TARGET_CONVERSATION;
    u->job.batch.target_id = c->conversation_id;
    u->job.done = upload_done;
    json_decref(transcript);
    json_decref(metadata);
    json_decref(doc);
    vt_req_suspend(r);
    if (vt_writer_submit(app->writer, &u->job) != VT_OK) {
        vt_ingest_free(&u->prep);
        undo_upload(u);
        vt_req_reply_error(r, VT_EUNAVAIL, "Ingest queue is full; retry later", NULL, NULL);
        vt_req_resume(r);
    }
    return;
out:
    vt_ingest_free(&u->prep);
    json_decref(transcript);
    json_decref(metadata);
    json_decref(doc);
}
