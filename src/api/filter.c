/*
 * filter.c - parsing list filters (`field = "value"` terms joined by AND). The parser walks the
 * sized text once; every error names what it expected and where, because a filter is typed by a
 * person and "invalid filter" alone does not tell them what to fix.
 */
#include "filter.h"

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

typedef struct {
    vt_str_t s;
    size_t pos;
    char *err;
    size_t errlen;
} parser_t;

static vt_err_t fail(parser_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static vt_err_t fail(parser_t *p, const char *fmt, ...) {
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "%s (at character %zu)", what, p->pos + 1);
    return VT_EINVAL;
}

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
static bool is_ident_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_key_char(char c) {
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '-';
}

static void skip_space(parser_t *p) {
    while (p->pos < p->s.n && is_space(p->s.p[p->pos]))
        p->pos++;
}

static bool at_end(const parser_t *p) {
    return p->pos >= p->s.n;
}

/* The word (run of non-space, non-quote characters) at the cursor, for messages. */
static int word_len(const parser_t *p) {
    size_t e = p->pos;
    while (e < p->s.n && !is_space(p->s.p[e]) && p->s.p[e] != '"' && e - p->pos < 40)
        e++;
    return (int)(e - p->pos);
}

/* field := ident ("." key)* */
static vt_err_t parse_field(parser_t *p, vt_arena_t *a, const char **out) {
    size_t start = p->pos;
    if (at_end(p))
        return fail(p, "expected a field name, found the end of the filter");
    if (p->s.p[p->pos] == '(')
        return fail(p, "parentheses are not supported; join terms with AND");
    if (!is_ident_start(p->s.p[p->pos]))
        return fail(p, "expected a field name, found \"%.*s\"", VT_MAX(word_len(p), 1),
                    p->s.p + p->pos);
    p->pos++;
    while (!at_end(p) &&
           (is_ident_start(p->s.p[p->pos]) || (p->s.p[p->pos] >= '0' && p->s.p[p->pos] <= '9')))
        p->pos++;
    while (!at_end(p) && p->s.p[p->pos] == '.') {
        p->pos++;
        size_t key = p->pos;
        while (!at_end(p) && is_key_char(p->s.p[p->pos]))
            p->pos++;
        if (p->pos == key)
            return fail(p, "expected a key after \"%.*s\"", (int)(p->pos - start), p->s.p + start);
    }
    *out = vt_arena_strndup(a, p->s.p + start, p->pos - start);
    return *out ? VT_OK : VT_ENOMEM;
}

/* The comparison operator; only "=" exists, the others get a message of their own. */
static vt_err_t parse_operator(parser_t *p, const char *field) {
    if (at_end(p))
        return fail(p, "expected = after %s, found the end of the filter", field);
    const char *c = p->s.p + p->pos;
    size_t left = p->s.n - p->pos;
    if (c[0] == '=' && !(left > 1 && c[1] == '=')) {
        p->pos++;
        return VT_OK;
    }
    static const char *const others[] = {"==", "!=", "<=", ">=", "<", ">", ":"};
    for (size_t i = 0; i < VT_ARRAY_LEN(others); i++) {
        size_t n = strlen(others[i]);
        if (left >= n && memcmp(c, others[i], n) == 0)
            return fail(p, "operator %s is not supported after %s; only = is", others[i], field);
    }
    return fail(p, "expected = after %s, found \"%.*s\"", field, VT_MAX(word_len(p), 1), c);
}

/* string := '"' (char | \" | \\)* '"' ; the value is unescaped into the arena. */
static vt_err_t parse_value(parser_t *p, vt_arena_t *a, const char *field, const char **out) {
    if (at_end(p))
        return fail(p, "expected a quoted value after %s=, found the end of the filter", field);
    if (p->s.p[p->pos] != '"')
        return fail(p, "the value of %s must be a quoted string, e.g. %s=\"...\"", field, field);
    p->pos++;
    /* The unescaped value is never longer than what remains of the text. */
    char *v = vt_arena_alloc(a, p->s.n - p->pos + 1);
    if (!v)
        return VT_ENOMEM;
    size_t n = 0;
    for (;;) {
        if (at_end(p))
            return fail(p, "the value of %s has no closing quote", field);
        char c = p->s.p[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c == '\\') {
            char next = p->pos + 1 < p->s.n ? p->s.p[p->pos + 1] : '\0';
            if (next != '"' && next != '\\')
                return fail(p,
                            "unsupported escape in the value of %s; only \\\" and \\\\ are allowed",
                            field);
            c = next;
            p->pos++;
        }
        v[n++] = c;
        p->pos++;
    }
    v[n] = '\0';
    *out = v;
    return VT_OK;
}

/* Between terms: whitespace, the keyword AND, whitespace. */
static vt_err_t parse_and(parser_t *p) {
    const char *c = p->s.p + p->pos;
    size_t left = p->s.n - p->pos;
    if (left >= 3 && memcmp(c, "AND", 3) == 0 && (left == 3 || is_space(c[3]))) {
        p->pos += 3;
        return VT_OK;
    }
    if ((left >= 2 && memcmp(c, "OR", 2) == 0 && (left == 2 || is_space(c[2]))) ||
        (left >= 3 && memcmp(c, "NOT", 3) == 0 && (left == 3 || is_space(c[3]))))
        return fail(p, "%.*s is not supported; join terms with AND", c[0] == 'O' ? 2 : 3, c);
    if (left >= 3 && strncasecmp(c, "and", 3) == 0 && (left == 3 || is_space(c[3])))
        return fail(p, "write AND in capitals");
    return fail(p, "expected AND between terms, found \"%.*s\"", VT_MAX(word_len(p), 1), c);
}

vt_err_t vt_filter_parse(vt_str_t text, vt_arena_t *a, vt_filter_t *out, char *err, size_t errlen) {
    parser_t p = {.s = text, .pos = 0, .err = err, .errlen = errlen};
    out->n = 0;
    if (text.n > VT_FILTER_MAX_LEN) {
        snprintf(err, errlen, "filter is longer than %d characters", VT_FILTER_MAX_LEN);
        return VT_EINVAL;
    }
    if (text.n && memchr(text.p, '\0', text.n)) {
        p.pos = (size_t)((const char *)memchr(text.p, '\0', text.n) - text.p);
        return fail(&p, "filter contains a NUL character");
    }
    skip_space(&p);
    if (at_end(&p))
        return VT_OK;
    for (;;) {
        if (out->n == VT_FILTER_MAX_TERMS)
            return fail(&p, "filter has more than %d terms", VT_FILTER_MAX_TERMS);
        vt_filter_term_t *t = &out->terms[out->n];
        size_t field_pos = p.pos;
        vt_err_t e = parse_field(&p, a, &t->field);
        if (e)
            return e;
        if (vt_filter_get(out, t->field)) {
            p.pos = field_pos;
            return fail(&p, "field %s appears more than once", t->field);
        }
        skip_space(&p);
        if ((e = parse_operator(&p, t->field)) != VT_OK)
            return e;
        skip_space(&p);
        if ((e = parse_value(&p, a, t->field, &t->value)) != VT_OK)
            return e;
        out->n++;
        skip_space(&p);
        if (at_end(&p))
            return VT_OK;
        if ((e = parse_and(&p)) != VT_OK)
            return e;
        skip_space(&p);
        if (at_end(&p))
            return fail(&p, "expected a term after AND, found the end of the filter");
    }
}

const char *vt_filter_get(const vt_filter_t *f, const char *field) {
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->terms[i].field, field) == 0)
            return f->terms[i].value;
    return NULL;
}

bool vt_filter_from_query(vt_req_t *r, vt_filter_t *out) {
    out->n = 0;
    const char *text = vt_req_query(r, "filter");
    if (!text)
        return true;
    char why[320];
    vt_err_t e = vt_filter_parse(vt_str_c(text), &r->arena, out, why, sizeof why);
    if (e == VT_ENOMEM) {
        vt_req_reply_error(r, VT_ENOMEM, "Out of memory while reading the filter", NULL, NULL);
        return false;
    }
    if (e) {
        char msg[360];
        snprintf(msg, sizeof msg, "Invalid filter: %s", why);
        vt_req_reply_error(r, VT_EINVAL, msg, "filter", why);
        return false;
    }
    return true;
}

void vt_filter_reply_unsupported(vt_req_t *r, const char *field, const char *supported) {
    char why[256], msg[300];
    snprintf(why, sizeof why, "cannot filter on %s; supported: %s", field, supported);
    snprintf(msg, sizeof msg, "Invalid filter: %s", why);
    vt_req_reply_error(r, VT_EINVAL, msg, "filter", why);
}
