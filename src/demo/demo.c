/*
 * demo.c - the demo data set (see demo.h): scripted calls of a dental clinic's phone agent,
 * turned into traces, simulations, runs and monitored conversations.
 *
 * Reading order: the fixed-seed generator, the script (what callers say and what the agent
 * answers and calls in each state), the trace builder, one call, then the runs and conversations
 * that hold the calls.
 */
#include "demo.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../analysis/metric_eval.h"
#include "../api/ingest.h"
#include "../core/buf.h"
#include "../core/ulid.h"
#include "../otlp/span.h"

#define NS_PER_S 1000000000.0
#define MS_PER_HOUR (3600 * 1000LL)

/* ---- deterministic randomness --------------------------------------------------------------- */

/* splitmix64: tiny, fast and good enough to make demo data look varied. The seed is fixed so the
 * data set is the same everywhere. */
typedef struct {
    uint64_t s;
} rng_t;

static uint64_t rng_next(rng_t *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double rng_unit(rng_t *r) {
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_range(rng_t *r, double lo, double hi) {
    return lo + (hi - lo) * rng_unit(r);
}

static bool rng_chance(rng_t *r, double p) {
    return rng_unit(r) < p;
}

static uint32_t rng_below(rng_t *r, uint32_t n) {
    return (uint32_t)(rng_next(r) % n);
}

/* Random bytes, never all zero (span and trace ids must not be). */
static void rng_id(rng_t *r, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)rng_next(r);
    out[0] |= 1;
}

static double round_to(double v, double step) {
    return (double)(int64_t)(v / step + 0.5) * step;
}

/* ---- the script ------------------------------------------------------------------------------ */

/* The agent's states: each turn's reply is produced in one of them, and each becomes a span name
 * (the states of Transition Hotspots). */
enum {
    ST_GREETING,
    ST_ACCOUNT,
    ST_TRIAGE,
    ST_BOOKING,
    ST_RESCHEDULE,
    ST_CANCEL,
    ST_BILLING,
    ST_TRANSFER,
    ST_CONFIRM,
    ST_GOODBYE,
};
static const char *const state_names[] = {
    "greeting",     "account_lookup", "triage",   "booking",      "reschedule",
    "cancellation", "billing",        "transfer", "confirmation", "goodbye",
};

/* What happens when an exchange's tool call fails. */
typedef enum {
    FAIL_RETRY, /* the agent calls it again, which works */
    FAIL_SOFT,  /* the call goes on without it */
    FAIL_FATAL, /* the agent gives up: the call's result is FAILED */
} fail_mode_t;

/* One turn: the caller speaks (unless user is NULL), the agent answers in a state, perhaps after
 * calling a tool. Texts may hold {name}, {first} and {dob}, filled from the caller's persona. */
typedef struct {
    int state;
    const char *user;
    const char *reply;
    const char *tool; /* function the LLM calls, or NULL */
    const char *args; /* its arguments, JSON text */
    double p_fail[2]; /* chance the tool fails, in run 1 and in run 2 (and production) */
    fail_mode_t fail_mode;
    const char *error;      /* the tool's error message */
    const char *fail_reply; /* what the agent says after a fatal failure */
    bool ends_call;         /* when it works, the call ends here (a transfer) */
} exchange_t;

#define MAX_EXCHANGES 8

typedef struct {
    const char *id; /* test_case_id */
    const char *title;
    unsigned weight; /* how often callers come with this request, out of 100 */
    exchange_t ex[MAX_EXCHANGES];
    unsigned n;
} scenario_t;

/* Exchanges several scenarios share. Macros rather than const objects: C does not allow a const
 * object as an initializer of another static object. */
#define EX_GREETING                                                                                \
    {                                                                                              \
        ST_GREETING, NULL,                                                                         \
            "Thanks for calling Bright Smile Dental, this is Ava. How can I help you today?"       \
    }

#define EX_IDENTIFY                                                                                \
    {                                                                                              \
        ST_ACCOUNT, "Sure, it's {name}, and my date of birth is {dob}.",                           \
            "Thank you, {first}. I found your account.", "lookup_patient",                         \
            "{\"name\":\"{name}\",\"date_of_birth\":\"{dob}\"}", {0.12, 0.06}, FAIL_RETRY,         \
            "patient directory timed out after 3000 ms"                                            \
    }

#define EX_CONFIRM                                                                                 \
    {                                                                                              \
        ST_CONFIRM, "Can you text me the details?",                                                \
            "Of course. I've sent a confirmation text to the number on your file.", "send_sms",    \
            "{\"template\":\"appointment_confirmation\",\"to\":\"patient_mobile\"}", {0.15, 0.10}, \
            FAIL_SOFT, "SMS gateway returned 503"                                                  \
    }

#define EX_GOODBYE                                                                                 \
    {                                                                                              \
        ST_GOODBYE, "No, that's everything. Thank you!",                                           \
            "You're welcome, {first}. Have a great day!"                                           \
    }

#define EX_TRANSFER_BILLING                                                                        \
    {                                                                                              \
        ST_TRANSFER, "Yes please, put me through.", "Connecting you to our billing team now.",     \
            "transfer_call", "{\"department\":\"billing\",\"reason\":\"charge_dispute\"}",         \
            {0.45, 0.25}, FAIL_FATAL, "no agents available in queue billing",                      \
            "I'm sorry, nobody from billing is available right now. Please call back after 9 am.", \
            true                                                                                   \
    }

static const scenario_t scenarios[] = {
    {"tc-book-cleaning",
     "Book a cleaning",
     35,
     {EX_GREETING,
      {ST_ACCOUNT, "Hi, I'd like to book a cleaning for next week.",
       "I can help with that. Can I have your full name and date of birth?"},
      EX_IDENTIFY,
      {ST_BOOKING,
       "Do you have anything on Tuesday morning?",
       "Dr. Patel has Tuesday at 9:30 or at 11. Which works better for you?",
       "check_availability",
       "{\"service\":\"cleaning\",\"day\":\"tuesday\",\"part_of_day\":\"morning\"}",
       {0.32, 0.08},
       FAIL_FATAL,
       "scheduling API returned 502 Bad Gateway",
       "I'm sorry, I can't reach our scheduling system right now. Could you call back later?"},
      {ST_BOOKING,
       "9:30 works for me.",
       "You're booked for Tuesday at 9:30 with Dr. Patel.",
       "book_appointment",
       "{\"slot\":\"tuesday-09:30\",\"provider\":\"dr_patel\"}",
       {0.05, 0.03},
       FAIL_FATAL,
       "slot no longer available",
       "I'm sorry, that slot was just taken. Please call us again to find another time."},
      EX_CONFIRM,
      EX_GOODBYE},
     7},
    {"tc-reschedule",
     "Reschedule an appointment",
     20,
     {EX_GREETING,
      {ST_ACCOUNT, "Hello, I need to move my appointment on Thursday.",
       "No problem. What's your full name and date of birth?"},
      EX_IDENTIFY,
      {ST_RESCHEDULE,
       "Could we move it to Friday afternoon?",
       "I see your Thursday 2 pm cleaning. Friday at 3 pm is open, shall I move it?",
       "find_appointment",
       "{\"patient\":\"{name}\",\"day\":\"thursday\"}",
       {0.10, 0.05},
       FAIL_FATAL,
       "appointment index unavailable",
       "I'm sorry, I can't pull up your appointment right now. Please try again later."},
      {ST_RESCHEDULE,
       "Yes, Friday at 3 is perfect.",
       "Done, you're now seeing us Friday at 3 pm.",
       "move_appointment",
       "{\"to\":\"friday-15:00\"}",
       {0.08, 0.04},
       FAIL_RETRY,
       "optimistic lock conflict, retry"},
      EX_CONFIRM,
      EX_GOODBYE},
     7},
    {"tc-billing-question",
     "Question about a bill",
     20,
     {EX_GREETING,
      {ST_ACCOUNT, "I have a question about a charge on my last bill.",
       "Sure. Can I get your full name and date of birth first?"},
      EX_IDENTIFY,
      {ST_BILLING,
       "There's a charge of 120 dollars I don't recognize.",
       "That's the X-ray from your March visit. Would you like me to transfer you to billing?",
       "get_invoice",
       "{\"patient\":\"{name}\",\"amount\":120}",
       {0.06, 0.04},
       FAIL_RETRY,
       "billing service timed out"},
      EX_TRANSFER_BILLING},
     5},
    {"tc-cancel",
     "Cancel an appointment",
     15,
     {EX_GREETING,
      {ST_ACCOUNT, "I need to cancel my appointment tomorrow.",
       "I'm sorry to hear that. May I have your full name and date of birth?"},
      EX_IDENTIFY,
      {ST_CANCEL,
       "Yes, the one at 10 in the morning.",
       "Your 10 am appointment tomorrow is cancelled.",
       "cancel_appointment",
       "{\"day\":\"tomorrow\",\"time\":\"10:00\"}",
       {0.07, 0.03},
       FAIL_FATAL,
       "appointment not found",
       "I couldn't find that appointment. Please call the front desk during office hours."},
      EX_GOODBYE},
     5},
    {"tc-dental-emergency",
     "Dental emergency",
     10,
     {EX_GREETING,
      {ST_TRIAGE, "I chipped a tooth and it really hurts. Can someone see me today?",
       "I'm sorry, that sounds painful. Is there swelling or bleeding?"},
      {ST_TRIAGE, "No swelling, it's just very sensitive.",
       "Thank you. I'll connect you with our on-call dentist. First, your name and date of birth?"},
      EX_IDENTIFY,
      {ST_TRANSFER,
       "Okay, thank you.",
       "Transferring you to the on-call dentist now.",
       "transfer_call",
       "{\"department\":\"on_call\",\"reason\":\"urgent_pain\"}",
       {0.30, 0.20},
       FAIL_FATAL,
       "on-call line busy",
       "I'm sorry, the on-call line is busy. Please go to urgent care if the pain gets worse.",
       true}},
     5},
};

typedef struct {
    const char *name, *first, *dob;
} persona_t;

static const persona_t personas[] = {
    {"Maria Gonzalez", "Maria", "March 4th 1985"},
    {"James Carter", "James", "July 19th 1972"},
    {"Aisha Khan", "Aisha", "November 2nd 1990"},
    {"Tom Becker", "Tom", "January 30th 1964"},
    {"Linda Nguyen", "Linda", "May 12th 1988"},
    {"Robert Miller", "Robert", "August 8th 1957"},
    {"Sofia Rossi", "Sofia", "February 14th 1995"},
    {"Daniel Okafor", "Daniel", "June 3rd 1979"},
    {"Emily Chen", "Emily", "October 21st 2001"},
    {"Marcus Johnson", "Marcus", "April 9th 1983"},
    {"Hannah Weber", "Hannah", "December 1st 1969"},
    {"Carlos Diaz", "Carlos", "September 27th 1992"},
};

/* Words the speech recogniser gets wrong now and then: the stt transcript differs from what was
 * said, which gives the STT word error rate metric something to measure. */
static const struct {
    const char *said, *heard;
} mishearings[] = {
    {"Tuesday", "Thursday"},      {"cleaning", "clean in"}, {"Friday", "fried a"},
    {"cancel", "cancer"},         {"bill", "build"},        {"book", "look"},
    {"tooth", "truth"},           {"charge", "change"},     {"details", "the tails"},
    {"sensitive", "sensitivity"},
};

/* One kind of run: the agent version under test and how its calls go. */
typedef struct {
    const char *display_name;
    const char *version;
    const char *environment;
    int fail_idx;      /* column of exchange_t.p_fail */
    double p_fallback; /* an STT turn falls back from deepgram to google */
    double p_mishear;  /* a user utterance is misrecognised */
    double p_dropped;  /* the call drops mid-way (simulation status FAILED) */
    double llm_ttfb_lo, llm_ttfb_hi;
} profile_t;

static const profile_t run_profiles[VT_DEMO_RUNS] = {
    {"Front desk regression · v1.3.0", "1.3.0", "staging", 0, 0.14, 0.22, 0.06, 0.45, 1.30},
    {"Front desk regression · v1.4.0-rc1", "1.4.0-rc1", "staging", 1, 0.10, 0.16, 0.04, 0.30, 0.85},
};
static const profile_t production = {NULL, "1.3.0", "production", 0, 0.12, 0.20, 0.0, 0.40, 1.10};

/* ---- text helpers ---------------------------------------------------------------------------- */

/* Fills {name}, {first} and {dob} in a script text. NULL when the arena is full. */
static const char *expand(vt_arena_t *a, const char *tmpl, const persona_t *p) {
    vt_buf_t b;
    vt_buf_init(&b, 4096);
    for (const char *s = tmpl; *s;) {
        const char *v = NULL;
        size_t skip = 0;
        if (strncmp(s, "{name}", 6) == 0)
            v = p->name, skip = 6;
        else if (strncmp(s, "{first}", 7) == 0)
            v = p->first, skip = 7;
        else if (strncmp(s, "{dob}", 5) == 0)
            v = p->dob, skip = 5;
        if (v) {
            vt_buf_append_c(&b, v);
            s += skip;
        } else {
            vt_buf_append_char(&b, *s++);
        }
    }
    const char *out = b.failed ? NULL : vt_arena_strndup(a, b.data ? b.data : "", b.len);
    vt_buf_free(&b);
    return out;
}

static bool is_word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '\'';
}

/* What the recogniser heard: the text, sometimes with one word misheard. */
static const char *hear(vt_arena_t *a, rng_t *rng, const char *said, double p_mishear,
                        bool *misheard) {
    *misheard = false;
    if (!rng_chance(rng, p_mishear))
        return said;
    for (size_t i = 0; i < VT_ARRAY_LEN(mishearings); i++) {
        size_t wn = strlen(mishearings[i].said);
        for (const char *p = strstr(said, mishearings[i].said); p;
             p = strstr(p + 1, mishearings[i].said)) {
            if ((p > said && is_word_char(p[-1])) || is_word_char(p[wn]))
                continue;
            *misheard = true;
            return vt_arena_printf(a, "%.*s%s%s", (int)(p - said), said, mishearings[i].heard,
                                   p + wn);
        }
    }
    /* No word to mishear: drop the last word instead, as a clipped utterance would. */
    const char *sp = strrchr(said, ' ');
    if (!sp)
        return said;
    *misheard = true;
    return vt_arena_printf(a, "%.*s", (int)(sp - said), said);
}

static unsigned word_count(const char *s) {
    unsigned n = 0;
    for (bool in = false; *s; s++) {
        bool w = *s != ' ';
        n += w && !in;
        in = w;
    }
    return n;
}

/* A tool call id as OpenAI writes them: "call_" and 24 letters and digits. */
static const char *tool_call_id(vt_arena_t *a, rng_t *rng) {
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    char id[30] = "call_";
    for (int i = 0; i < 24; i++)
        id[5 + i] = alnum[rng_below(rng, sizeof alnum - 1)];
    id[29] = '\0';
    return vt_arena_strndup(a, id, 29);
}

/* ---- trace builder --------------------------------------------------------------------------- */

#define MAX_SPANS_PER_CALL 256
#define MAX_ATTRS_PER_SPAN 8

/* The spans of one call, built in an arena. Spans live in a fixed array so pointers to them stay
 * valid while children are added; the scripts are far below the cap, which `overflow` guards. */
typedef struct {
    vt_arena_t *a;
    rng_t *rng;
    vt_span_t *spans;
    uint32_t n;
    uint8_t trace_id[16];
    bool overflow;
    vt_span_t scratch; /* handed out after an overflow so callers need no checks */
    vt_value_t sink;   /* likewise for attribute values */
} trace_t;

static vt_span_t *span_new(trace_t *t, const vt_span_t *parent, const char *name, int32_t kind,
                           uint64_t start_ns) {
    if (t->n == MAX_SPANS_PER_CALL) {
        t->overflow = true;
        memset(&t->scratch, 0, sizeof t->scratch);
        return &t->scratch;
    }
    vt_span_t *s = &t->spans[t->n++];
    memset(s, 0, sizeof *s);
    memcpy(s->trace_id, t->trace_id, 16);
    s->trace_id_len = 16;
    rng_id(t->rng, s->span_id, 8);
    s->span_id_len = 8;
    if (parent) {
        memcpy(s->parent_span_id, parent->span_id, 8);
        s->parent_span_id_len = 8;
    }
    s->flags = 1; /* sampled */
    s->name = vt_str_c(name);
    s->kind = kind;
    s->start_ns = s->end_ns = start_ns;
    s->attrs.items = vt_arena_calloc(t->a, MAX_ATTRS_PER_SPAN, sizeof(vt_kv_t));
    if (!s->attrs.items)
        t->overflow = true;
    return s;
}

static vt_value_t *attr(trace_t *t, vt_span_t *s, const char *key) {
    if (!s->attrs.items || s->attrs.n == MAX_ATTRS_PER_SPAN) {
        t->overflow = true;
        return &t->sink;
    }
    vt_kv_t *kv = &s->attrs.items[s->attrs.n++];
    kv->key = vt_str_c(key);
    return &kv->value;
}

static void attr_str(trace_t *t, vt_span_t *s, const char *key, const char *v) {
    vt_value_t *val = attr(t, s, key);
    val->type = VT_VAL_STRING;
    val->u.s = vt_str_c(v ? v : "");
}

static void attr_int(trace_t *t, vt_span_t *s, const char *key, int64_t v) {
    vt_value_t *val = attr(t, s, key);
    val->type = VT_VAL_INT;
    val->u.i = v;
}

static void attr_double(trace_t *t, vt_span_t *s, const char *key, double v) {
    vt_value_t *val = attr(t, s, key);
    val->type = VT_VAL_DOUBLE;
    val->u.d = v;
}

static void attr_bool(trace_t *t, vt_span_t *s, const char *key, bool v) {
    vt_value_t *val = attr(t, s, key);
    val->type = VT_VAL_BOOL;
    val->u.b = v;
}

static void span_error(vt_span_t *s, const char *msg) {
    s->status_code = VT_STATUS_ERROR;
    s->status_message = vt_str_c(msg);
}

static uint64_t secs(double s) {
    return (uint64_t)(s * NS_PER_S);
}

/* ---- one call -------------------------------------------------------------------------------- */

enum { KIND_INTERNAL = 1, KIND_SERVER = 2, KIND_CLIENT = 3 };

typedef struct {
    /* in */
    const scenario_t *sc;
    const persona_t *who;
    const profile_t *prof;
    uint64_t start_ns;
    /* out */
    vt_batch_t batch;
    const char *transcript_json;
    bool result_failed; /* the agent did not do what the caller asked */
    bool dropped;       /* the call broke off (simulation status FAILED) */
    uint64_t end_ns;
} call_t;

/* Appends {"role":..,"content":..} to the transcript being written. */
static void say(vt_jw_t *w, const char *role, const char *text) {
    vt_jw_obj_begin(w);
    vt_jw_key(w, "role");
    vt_jw_cstr(w, role);
    vt_jw_key(w, "content");
    vt_jw_cstr(w, text);
    vt_jw_obj_end(w);
}

/* The caller's part of a turn: voice activity, then speech recognition, with one provider
 * attempt per child span (deepgram first, google when deepgram fails). Returns the end time. */
static uint64_t user_speaks(trace_t *t, call_t *c, vt_span_t *turn, const char *said, uint64_t at) {
    rng_t *rng = t->rng;
    double speech = 0.45 + 0.31 * word_count(said) + rng_range(rng, 0.0, 0.6);
    vt_span_t *vad = span_new(t, turn, "vad", KIND_INTERNAL, at);
    vad->end_ns = at + secs(speech + 0.2);
    attr_double(t, vad, "vad.speech_duration_s", round_to(speech, 0.01));
    attr_double(t, vad, "vad.stop_secs", 0.2);

    bool misheard;
    const char *heard = hear(t->a, rng, said, c->prof->p_mishear, &misheard);
    bool fallback = rng_chance(rng, c->prof->p_fallback);
    uint64_t stt_start = at + secs(0.1);
    double ttfb = rng_range(rng, 0.12, 0.38);
    double confidence = misheard ? rng_range(rng, 0.62, 0.84) : rng_range(rng, 0.88, 0.99);
    vt_span_t *stt = span_new(t, turn, "stt", KIND_CLIENT, stt_start);
    uint64_t stt_end = at + secs(speech + ttfb + (fallback ? 0.9 : 0.0));
    stt->end_ns = stt_end;

    uint64_t attempt = stt_start;
    if (fallback) {
        vt_span_t *dg = span_new(t, stt, "stt.provider.deepgram", KIND_CLIENT, attempt);
        dg->end_ns = attempt + secs(rng_range(rng, 0.5, 1.1));
        attr_str(t, dg, "stt.providerName", "deepgram");
        span_error(dg, rng_chance(rng, 0.5) ? "deepgram: websocket closed (1011 internal error)"
                                            : "deepgram: no final transcript within 1000 ms");
        attempt = dg->end_ns;
    }
    const char *provider = fallback ? "google" : "deepgram";
    vt_span_t *pv = span_new(t, stt, fallback ? "stt.provider.google" : "stt.provider.deepgram",
                             KIND_CLIENT, attempt);
    pv->end_ns = stt_end;
    pv->status_code = VT_STATUS_OK;
    attr_str(t, pv, "stt.providerName", provider);
    attr_double(t, pv, "stt.confidence", round_to(confidence, 0.0001));
    attr_double(t, pv, "metrics.ttfb", round_to(ttfb, 0.0001));

    attr_str(t, stt, "transcript", heard);
    attr_double(t, stt, "stt.confidence", round_to(confidence, 0.0001));
    attr_double(t, stt, "metrics.ttfb",
                round_to((double)(stt_end - stt_start) / NS_PER_S - speech + 0.1, 0.0001));
    attr_str(t, stt, "stt.provider", provider);
    attr_str(t, stt, "stt.language", "en-US");
    return stt_end;
}

/* One LLM call in a state. finish is its llm.finish_reason. */
static uint64_t llm_call(trace_t *t, call_t *c, vt_span_t *parent, unsigned turn_no, int extra_in,
                         const char *finish, uint64_t at) {
    rng_t *rng = t->rng;
    double ttfb = rng_range(rng, c->prof->llm_ttfb_lo, c->prof->llm_ttfb_hi);
    vt_span_t *llm = span_new(t, parent, "llm", KIND_CLIENT, at);
    llm->end_ns = at + secs(ttfb + rng_range(rng, 0.15, 0.9));
    attr_str(t, llm, "gen_ai.system", "openai");
    attr_str(t, llm, "gen_ai.request.model", "gpt-4o-mini");
    attr_double(t, llm, "metrics.ttfb", round_to(ttfb, 0.0001));
    attr_int(t, llm, "gen_ai.usage.input_tokens",
             410 + 135 * (int64_t)turn_no + extra_in + (int64_t)rng_below(rng, 90));
    attr_int(t, llm, "gen_ai.usage.output_tokens",
             strcmp(finish, "tool_calls") == 0 ? 18 + rng_below(rng, 20) : 24 + rng_below(rng, 60));
    attr_str(t, llm, "llm.finish_reason", finish);
    return llm->end_ns;
}

/* One tool call, failing with the exchange's error when fail is set. Returns its end time. */
static uint64_t tool_call(trace_t *t, call_t *c, vt_span_t *parent, const exchange_t *ex, bool fail,
                          uint64_t at) {
    rng_t *rng = t->rng;
    vt_span_t *tc = span_new(t, parent, "llm_tool_call", KIND_CLIENT, at);
    tc->end_ns = at + secs(fail ? rng_range(rng, 1.2, 3.1) : rng_range(rng, 0.06, 0.75));
    attr_str(t, tc, "function.name", ex->tool);
    attr_str(t, tc, "tool_call_id", tool_call_id(t->a, rng));
    attr_str(t, tc, "function.arguments", expand(t->a, ex->args, c->who));
    if (fail)
        span_error(tc, ex->error);
    else
        tc->status_code = VT_STATUS_OK;
    return tc->end_ns;
}

/* After a fatal failure the agent has apologised; the caller ends the call. */
static const exchange_t ex_hangup = {ST_GOODBYE, "Okay, thanks anyway. Goodbye.",
                                     "I'm sorry again, {first}. Goodbye."};

/* One turn of a call, starting at *at (advanced to when the next turn starts). Returns false when
 * the call ends with this turn: a drop, a fatal tool failure, or a turn that ends calls. */
static bool take_turn(trace_t *t, call_t *c, vt_span_t *conv, vt_span_t *transport,
                      const exchange_t *ex, unsigned turn_no, bool drop, vt_jw_t *w, uint64_t *at) {
    rng_t *rng = t->rng;
    vt_span_t *turn = span_new(t, conv, "turn", KIND_INTERNAL, *at);
    attr_int(t, turn, "turn.number", turn_no);
    if (ex->user) {
        const char *said = expand(t->a, ex->user, c->who);
        say(w, "user", said);
        *at = user_speaks(t, c, turn, said, *at);
    }
    if (drop) {
        /* The line goes dead after the caller spoke: no answer, the media stream closes. */
        turn->end_ns = *at + secs(0.2); /* covers the vad span, which ends 0.2 s after speech */
        attr_bool(t, turn, "turn.was_interrupted", true);
        span_error(transport, "media stream closed by peer (websocket 1006)");
        c->dropped = true;
        *at += secs(0.3);
        return false;
    }
    vt_span_t *state = span_new(t, turn, state_names[ex->state], KIND_INTERNAL, *at);
    uint64_t step = *at;
    bool fatal = false;
    /* The greeting is a fixed sentence: no model call, straight to speech. */
    if (ex->state != ST_GREETING) {
        step = llm_call(t, c, state, turn_no, 0, ex->tool ? "tool_calls" : "stop", step);
        if (ex->tool) {
            bool fail = rng_chance(rng, ex->p_fail[c->prof->fail_idx]);
            step = tool_call(t, c, state, ex, fail, step);
            if (fail && ex->fail_mode == FAIL_RETRY) {
                step = llm_call(t, c, state, turn_no, 80, "tool_calls", step);
                step = tool_call(t, c, state, ex, false, step);
            }
            fatal = fail && ex->fail_mode == FAIL_FATAL;
            /* The model words the answer from the tool's result. Now and then it runs out of
             * tokens mid-sentence, which llm.finish_reason shows. */
            step = llm_call(t, c, state, turn_no, 160, rng_chance(rng, 0.03) ? "length" : "stop",
                            step);
        }
    }
    const char *reply = expand(t->a, fatal ? ex->fail_reply : ex->reply, c->who);
    if (!reply)
        reply = "";
    double ttfb = rng_range(rng, 0.09, 0.32);
    vt_span_t *tts = span_new(t, state, "tts", KIND_CLIENT, step);
    tts->end_ns = step + secs(ttfb + rng_range(rng, 0.2, 0.7));
    attr_double(t, tts, "metrics.ttfb", round_to(ttfb, 0.0001));
    attr_str(t, tts, "tts.voice", "aura-asteria-en");
    attr_int(t, tts, "tts.characters", (int64_t)strlen(reply));
    say(w, "assistant", reply);
    state->end_ns = turn->end_ns = tts->end_ns;
    if (fatal) {
        span_error(state, ex->error);
        c->result_failed = true;
    }
    /* The next turn starts once the agent has finished speaking and the caller answers. */
    *at = step + secs(ttfb + 0.36 * word_count(reply) + rng_range(rng, 0.4, 1.3));
    return !fatal && !ex->ends_call;
}

/* Builds one call's spans and transcript. */
static vt_err_t build_call(vt_arena_t *a, rng_t *rng, call_t *c) {
    trace_t t = {.a = a, .rng = rng};
    t.spans = vt_arena_calloc(a, MAX_SPANS_PER_CALL, sizeof(vt_span_t));
    if (!t.spans)
        return VT_ENOMEM;
    rng_id(rng, t.trace_id, 16);
    vt_buf_t tb;
    vt_buf_init(&tb, 1 << 20);
    vt_jw_t w;
    vt_jw_init(&w, &tb);
    vt_jw_arr_begin(&w);

    uint64_t at = c->start_ns;
    vt_span_t *conv = span_new(&t, NULL, "conversation", KIND_SERVER, at);
    attr_str(&t, conv, "call.direction", "inbound");
    attr_str(&t, conv, "agent.version", c->prof->version);
    attr_str(&t, conv, "test_case.id", c->sc->id);
    vt_span_t *transport = span_new(&t, conv, "transport", KIND_INTERNAL, at);
    attr_str(&t, transport, "transport.type", "twilio_media_stream");
    attr_str(&t, transport, "audio.codec", "mulaw/8000");

    /* A dropped call breaks off after the caller speaks in one of the middle turns. */
    unsigned drop_at = rng_chance(rng, c->prof->p_dropped) ? 2 + rng_below(rng, c->sc->n - 2) : 0;
    unsigned turn_no = 0;
    for (unsigned i = 0; i < c->sc->n; i++) {
        const exchange_t *ex = &c->sc->ex[i];
        turn_no++;
        if (take_turn(&t, c, conv, transport, ex, turn_no, turn_no == drop_at, &w, &at))
            continue;
        if (c->result_failed && !ex->ends_call)
            take_turn(&t, c, conv, transport, &ex_hangup, ++turn_no, false, &w, &at);
        break;
    }
    transport->end_ns = at;
    conv->end_ns = at + secs(0.05);
    c->end_ns = conv->end_ns;
    vt_jw_arr_end(&w);

    vt_err_t e = VT_OK;
    if (t.overflow || tb.failed) {
        e = VT_ENOMEM;
    } else {
        c->transcript_json = vt_arena_strndup(a, tb.data, tb.len);
        if (!c->transcript_json)
            e = VT_ENOMEM;
    }
    vt_buf_free(&tb);
    c->batch.spans = t.spans;
    c->batch.n_spans = t.n;
    return e;
}

/* The resource and instrumentation scope every span of the demo shares, per environment. */
static vt_err_t set_resource(vt_arena_t *a, const profile_t *prof, vt_batch_t *b) {
    vt_resource_t *res = vt_arena_calloc(a, 1, sizeof *res);
    vt_scope_t *scope = vt_arena_calloc(a, 1, sizeof *scope);
    vt_kv_t *kv = vt_arena_calloc(a, 5, sizeof *kv);
    if (!res || !scope || !kv)
        return VT_ENOMEM;
    static const char *const keys[] = {"service.name", "service.version", "deployment.environment",
                                       "telemetry.sdk.language", "telemetry.sdk.name"};
    const char *vals[] = {"front-desk-agent", prof->version, prof->environment, "python",
                          "opentelemetry"};
    for (int i = 0; i < 5; i++) {
        kv[i].key = vt_str_c(keys[i]);
        kv[i].value.type = VT_VAL_STRING;
        kv[i].value.u.s = vt_str_c(vals[i]);
    }
    res->attrs.items = kv;
    res->attrs.n = 5;
    scope->name = VT_STR("front_desk_agent.tracing");
    scope->version = VT_STR("1.0.0");
    b->resources = res;
    b->n_resources = 1;
    b->scopes = scope;
    b->n_scopes = 1;
    return VT_OK;
}

/* ---- runs and conversations ------------------------------------------------------------------ */

static const scenario_t *pick_scenario(rng_t *rng) {
    uint32_t roll = rng_below(rng, 100), acc = 0;
    for (size_t i = 0; i < VT_ARRAY_LEN(scenarios); i++) {
        acc += scenarios[i].weight;
        if (roll < acc)
            return &scenarios[i];
    }
    return &scenarios[0];
}

static void new_id(rng_t *rng, int64_t ms, char out[VT_ULID_LEN + 1]) {
    uint8_t rnd[10];
    for (int i = 0; i < 10; i++)
        rnd[i] = (uint8_t)rng_next(rng);
    vt_ulid_encode((uint64_t)ms, rnd, out);
}

static const char *rfc3339(vt_arena_t *a, int64_t ms) {
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return vt_arena_strndup(a, buf, strlen(buf));
}

/* Span exports as an OpenTelemetry SDK's batch span processor makes them: the spans that ended
 * in each window of window_s seconds go out together shortly after the window closes, so the
 * receive times (and the trace summary's export lag) look like a live agent's. window_s 0 means
 * one export after the call, as the monitoring flow does (spans buffered, sent after submit). */
#define MAX_EXPORTS_PER_CALL 64

typedef struct {
    vt_ingest_t *ins;         /* one per export; each owns its JSON text */
    vt_span_batch_t *batches; /* what spans_write gets, one per export */
    size_t n, cap;
} exports_t;

static vt_err_t exports_init(vt_arena_t *a, size_t calls, exports_t *x) {
    x->n = 0;
    x->cap = calls * MAX_EXPORTS_PER_CALL;
    x->ins = vt_arena_calloc(a, x->cap, sizeof *x->ins);
    x->batches = vt_arena_calloc(a, x->cap, sizeof *x->batches);
    return x->ins && x->batches ? VT_OK : VT_ENOMEM;
}

static void exports_free(exports_t *x) {
    for (size_t i = 0; i < x->n; i++)
        vt_ingest_free(&x->ins[i]);
    x->n = 0;
}

static vt_err_t export_call(vt_arena_t *a, rng_t *rng, const call_t *c, double window_s,
                            int64_t org_id, vt_target_kind_t kind, const char *target,
                            exports_t *x) {
    uint64_t window = window_s > 0 ? secs(window_s) : c->end_ns - c->start_ns + 1;
    uint64_t n_windows = (c->end_ns - c->start_ns) / window + 1;
    if (n_windows > MAX_EXPORTS_PER_CALL || x->n + n_windows > x->cap)
        return VT_ENOMEM;
    vt_span_t *part = vt_arena_calloc(a, c->batch.n_spans ? c->batch.n_spans : 1, sizeof *part);
    if (!part)
        return VT_ENOMEM;
    for (uint64_t w = 0; w < n_windows; w++) {
        vt_batch_t b = c->batch;
        b.spans = part;
        b.n_spans = 0;
        for (uint32_t i = 0; i < c->batch.n_spans; i++)
            if ((c->batch.spans[i].end_ns - c->start_ns) / window == w)
                part[b.n_spans++] = c->batch.spans[i];
        if (!b.n_spans)
            continue;
        uint64_t received = c->start_ns + (w + 1) * window + secs(rng_range(rng, 0.02, 0.4));
        vt_ingest_t *in = &x->ins[x->n];
        /* prepare copies what it needs out of b, so part can be refilled for the next window */
        vt_err_t e = vt_ingest_prepare(a, &b, received, in);
        x->n++; /* counted even on failure, so exports_free frees its text */
        if (e)
            return e;
        if (in->rejected) /* the builder makes only valid spans; a rejection is a bug here */
            return VT_EINTERNAL;
        in->batch.org_id = org_id;
        in->batch.kind = kind;
        in->batch.target_id = target;
        x->batches[x->n - 1] = in->batch;
    }
    return VT_OK;
}

/* Stores every export in one transaction and counts the spans. */
static vt_err_t exports_write(vt_store_t *st, exports_t *x, vt_demo_report_t *rep) {
    if (!x->n)
        return VT_OK;
    vt_err_t e = st->ops->spans_write(st, x->batches, x->n);
    if (e)
        return e;
    for (size_t i = 0; i < x->n; i++)
        rep->spans += x->batches[i].inserted;
    return VT_OK;
}

static const char *call_metadata(vt_arena_t *a, const call_t *c, const char *extra) {
    return vt_arena_printf(a, "{\"scenario\":\"%s\",\"persona\":\"%s\",\"agent_version\":\"%s\"%s}",
                           c->sc->title, c->who->name, c->prof->version, extra ? extra : "");
}

/* One run of VT_DEMO_SIMS_PER_RUN simulated calls; all its spans go in one transaction. */
static vt_err_t seed_run(vt_store_t *st, int64_t org_id, rng_t *rng, const profile_t *prof,
                         int64_t start_ms, const char *metric_ids_json, vt_demo_report_t *rep,
                         char *err, size_t errlen) {
    vt_arena_t a;
    vt_arena_init(&a, (size_t)256 << 20);
    exports_t x = {0};
    call_t calls[VT_DEMO_SIMS_PER_RUN];
    char sim_ids[VT_DEMO_SIMS_PER_RUN][VT_ULID_LEN + 1];
    vt_err_t e = exports_init(&a, VT_DEMO_SIMS_PER_RUN, &x);
    if (e)
        goto out;
    char run_id[VT_ULID_LEN + 1];
    new_id(rng, start_ms - 60000, run_id);
    vt_run_t run = {.run_id = run_id,
                    .display_name = prof->display_name,
                    .status = "COMPLETED",
                    .create_ms = start_ms - 60000,
                    .metric_ids_json = metric_ids_json};
    run.metadata_json = vt_arena_printf(&a,
                                        "{\"" VT_DEMO_MARK "\":true,\"agent_version\":\"%s\","
                                        "\"suite\":\"front-desk regression\",\"branch\":\"%s\"}",
                                        prof->version, prof->fail_idx ? "release/1.4" : "main");
    if (!run.metadata_json) {
        e = VT_ENOMEM;
        goto out;
    }
    /* The calls are built first: the run's update time is when its last call ended. */
    int64_t last_ms = start_ms;
    for (unsigned i = 0; i < VT_DEMO_SIMS_PER_RUN; i++) {
        call_t *c = &calls[i];
        memset(c, 0, sizeof *c);
        c->sc = pick_scenario(rng);
        c->who = &personas[rng_below(rng, VT_ARRAY_LEN(personas))];
        c->prof = prof;
        /* A harness places several calls at once: starts ~40 s apart, each lasting minutes. */
        int64_t sim_ms = start_ms + (int64_t)i * 41000 + (int64_t)rng_below(rng, 15000);
        c->start_ns = (uint64_t)sim_ms * 1000000u;
        if ((e = set_resource(&a, prof, &c->batch)) || (e = build_call(&a, rng, c)))
            goto out;
        new_id(rng, sim_ms - 1500, sim_ids[i]);
        int64_t end_ms = (int64_t)(c->end_ns / 1000000u);
        if (end_ms > last_ms)
            last_ms = end_ms;
    }
    run.update_ms = last_ms + 2000;
    if ((e = st->ops->run_create(st, org_id, &run))) {
        snprintf(err, errlen, "cannot create the demo run");
        goto out;
    }
    rep->runs++;
    for (unsigned i = 0; i < VT_DEMO_SIMS_PER_RUN; i++) {
        call_t *c = &calls[i];
        int64_t start = (int64_t)(c->start_ns / 1000000u);
        vt_simulation_t sim = {
            .simulation_id = sim_ids[i],
            .run_id = run_id,
            .status = c->dropped ? "FAILED" : "COMPLETED",
            .result = c->dropped         ? NULL
                      : c->result_failed ? "FAILED"
                                         : "PASSED",
            .test_case_id = c->sc->id,
            .create_ms = start - 1500,
            .update_ms = (int64_t)(c->end_ns / 1000000u) + 2500,
            .transcript_json = c->transcript_json,
            .metadata_json = call_metadata(&a, c, NULL),
        };
        if (!sim.metadata_json) {
            e = VT_ENOMEM;
            goto out;
        }
        if ((e = st->ops->sim_create(st, org_id, &sim))) {
            snprintf(err, errlen, "cannot create a demo simulation");
            goto out;
        }
        rep->simulations++;
        /* The test harness's agent exports with a batch span processor every 5 s. */
        if ((e = export_call(&a, rng, c, 5.0, org_id, VT_TARGET_SIMULATION, sim_ids[i], &x))) {
            snprintf(err, errlen, "cannot prepare the demo spans");
            goto out;
        }
    }
    if ((e = exports_write(st, &x, rep)))
        snprintf(err, errlen, "cannot store the demo spans");
out:
    if (e == VT_ENOMEM)
        snprintf(err, errlen, "out of memory while building the demo data");
    exports_free(&x);
    vt_arena_free(&a);
    return e;
}

/* Monitored production calls: conversations with transcripts and traces. */
static vt_err_t seed_conversations(vt_store_t *st, int64_t org_id, rng_t *rng, int64_t now_ms,
                                   vt_demo_report_t *rep, char *err, size_t errlen) {
    static const char *const regions[] = {"US-CA", "US-NY", "US-TX", "US-WA"};
    vt_arena_t a;
    vt_arena_init(&a, (size_t)64 << 20);
    exports_t x = {0};
    char ids[VT_DEMO_CONVERSATIONS][VT_ULID_LEN + 1];
    vt_err_t e = exports_init(&a, VT_DEMO_CONVERSATIONS, &x);
    if (e)
        goto out;
    for (unsigned i = 0; i < VT_DEMO_CONVERSATIONS; i++) {
        call_t c = {.sc = pick_scenario(rng),
                    .who = &personas[rng_below(rng, VT_ARRAY_LEN(personas))],
                    .prof = &production};
        /* Spread over the last three days, newest first. */
        int64_t start_ms = now_ms - (int64_t)i * 6 * MS_PER_HOUR - MS_PER_HOUR -
                           (int64_t)rng_below(rng, 3 * 3600) * 1000;
        c.start_ns = (uint64_t)start_ms * 1000000u;
        if ((e = set_resource(&a, &production, &c.batch)) || (e = build_call(&a, rng, &c)))
            goto out;
        new_id(rng, start_ms, ids[i]);
        uint8_t sid[16];
        rng_id(rng, sid, sizeof sid);
        char sid_hex[33];
        vt_hex_encode(sid, sizeof sid, sid_hex);
        const char *extra = vt_arena_printf(&a, ",\"channel\":\"phone\",\"caller_region\":\"%s\"",
                                            regions[rng_below(rng, VT_ARRAY_LEN(regions))]);
        const char *meta = extra ? call_metadata(&a, &c, extra) : NULL;
        const char *doc =
            meta ? vt_arena_printf(&a,
                                   "{\"transcript\":%s,\"metadata\":%s,"
                                   "\"tags\":[\"production\",\"%s\"%s]}",
                                   c.transcript_json, meta, c.sc->id,
                                   c.result_failed || c.dropped ? ",\"needs-review\"" : "")
                 : NULL;
        int64_t submitted_ms = (int64_t)(c.end_ns / 1000000u) + 900;
        vt_conversation_t conv = {
            .conversation_id = ids[i],
            .status = "COMPLETED",
            .create_ms = submitted_ms,
            .update_ms = submitted_ms,
            .external_conversation_id = vt_arena_printf(&a, "CA%s", sid_hex),
            .agent_id = "front-desk-agent",
            .occurred_at = rfc3339(&a, start_ms),
            .doc_json = doc,
        };
        if (!doc || !conv.external_conversation_id || !conv.occurred_at) {
            e = VT_ENOMEM;
            goto out;
        }
        if ((e = st->ops->conv_create(st, org_id, &conv))) {
            snprintf(err, errlen, "cannot create a demo conversation");
            goto out;
        }
        rep->conversations++;
        if ((e = export_call(&a, rng, &c, 0, org_id, VT_TARGET_CONVERSATION, ids[i], &x))) {
            snprintf(err, errlen, "cannot prepare the demo spans");
            goto out;
        }
    }
    if ((e = exports_write(st, &x, rep)))
        snprintf(err, errlen, "cannot store the demo spans");
out:
    if (e == VT_ENOMEM)
        snprintf(err, errlen, "out of memory while building the demo data");
    exports_free(&x);
    vt_arena_free(&a);
    return e;
}

/* Custom trace metrics (DESIGN.md 5.6), as POST /v1/metrics would take them. Each is checked
 * with the same parser the API uses before it is stored. */
static const struct {
    const char *name, *description, *definition;
} demo_metrics[] = {
    {"Tool call error rate", "Share of tool calls that returned an error.",
     "{\"metric_type\":\"METRIC_CUSTOM_TRACE\",\"span_name\":\"llm_tool_call\","
     "\"aggregation_method\":\"error_rate\",\"unit\":\"ratio\"}"},
    {"LLM time to first byte p90", "90th percentile of metrics.ttfb on llm spans.",
     "{\"metric_type\":\"METRIC_CUSTOM_TRACE\",\"span_name\":\"llm\",\"value_source\":"
     "\"attribute\","
     "\"metric_attribute\":\"metrics.ttfb\",\"aggregation_method\":\"p90\",\"unit\":\"s\","
     "\"target_condition\":{\"comparison_operator\":\"lt\",\"target_float\":1.25}}"},
    {"STT confidence", "Average stt.confidence of the final transcripts.",
     "{\"metric_type\":\"METRIC_CUSTOM_TRACE\",\"span_name\":\"stt\",\"value_source\":"
     "\"attribute\","
     "\"metric_attribute\":\"stt.confidence\",\"aggregation_method\":\"average\","
     "\"target_condition\":{\"comparison_operator\":\"gte\",\"target_float\":0.85}}"},
    {"Booking step duration", "Longest time the agent spent in the booking state.",
     "{\"metric_type\":\"METRIC_CUSTOM_TRACE\",\"span_name\":\"booking\","
     "\"value_source\":\"duration\",\"aggregation_method\":\"max\",\"unit\":\"s\"}"},
};

/* The stored document of a definition: the members that are not columns (as metrics.c keeps
 * them). */
static const char *const metric_doc_fields[] = {
    "span_name",          "value_source", "metric_attribute",
    "aggregation_method", "unit",         "target_condition"};

/* Creates the custom metrics and writes the JSON array of every metric id the runs ask for
 * (built-ins and these) into *ids_json (arena a). Without a metrics store only the built-ins. */
static vt_err_t seed_metrics(vt_store_t *st, int64_t org_id, rng_t *rng, int64_t now_ms,
                             vt_arena_t *a, const char **ids_json, vt_demo_report_t *rep, char *err,
                             size_t errlen) {
    static const char builtins[] = "\"llm_ttfb\",\"stt_ttfb\",\"tts_ttfb\",\"stt_wer\","
                                   "\"tool_call_count\",\"llm_input_tokens\",\"llm_output_tokens\"";
    *ids_json = vt_arena_printf(a, "[%s]", builtins);
    if (!st->ops->metric_create) {
        rep->metrics_skipped = true;
        return *ids_json ? VT_OK : VT_ENOMEM;
    }
    vt_buf_t ids;
    vt_buf_init(&ids, 4096);
    vt_buf_append_c(&ids, builtins);
    vt_err_t e = VT_OK;
    for (size_t i = 0; i < VT_ARRAY_LEN(demo_metrics) && !e; i++) {
        json_t *def = json_loads(demo_metrics[i].definition, 0, NULL);
        json_t *doc = json_object();
        vt_metric_def_t parsed;
        vt_metric_error_t perr = {0};
        if (def) {
            json_object_set_new(def, "metric_name", json_string(demo_metrics[i].name));
            for (size_t k = 0; k < VT_ARRAY_LEN(metric_doc_fields); k++) {
                json_t *v = json_object_get(def, metric_doc_fields[k]);
                if (v)
                    json_object_set(doc, metric_doc_fields[k], v);
            }
        }
        char *doc_text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        if (!def || !doc_text || vt_metric_def_parse(a, def, &parsed, &perr) != VT_OK) {
            snprintf(err, errlen, "demo metric \"%s\" is invalid: %s %s", demo_metrics[i].name,
                     perr.field, perr.description);
            e = VT_EINTERNAL;
        } else {
            char id[VT_ULID_LEN + 1];
            new_id(rng, now_ms - 72 * MS_PER_HOUR + (int64_t)i * 60000, id);
            vt_metric_t m = {.metric_id = id,
                             .metric_name = demo_metrics[i].name,
                             .description = demo_metrics[i].description,
                             .metric_type = vt_metric_type_name(parsed.type),
                             .doc_json = doc_text,
                             .create_ms = now_ms - 72 * MS_PER_HOUR + (int64_t)i * 60000};
            m.update_ms = m.create_ms;
            if ((e = st->ops->metric_create(st, org_id, &m)))
                snprintf(err, errlen, "cannot create a demo metric");
            else {
                rep->metrics++;
                vt_buf_printf(&ids, ",\"%s\"", id);
            }
        }
        free(doc_text);
        json_decref(doc);
        json_decref(def);
    }
    if (!e) {
        *ids_json = ids.failed ? NULL : vt_arena_printf(a, "[%s]", ids.data);
        if (!*ids_json)
            e = VT_ENOMEM;
    }
    vt_buf_free(&ids);
    return e;
}

/* ---- entry points ---------------------------------------------------------------------------- */

vt_err_t vt_demo_status(vt_store_t *st, int64_t org_id, bool *has_runs, bool *has_demo) {
    *has_runs = *has_demo = false;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_err_t e = VT_OK;
    const char *after = NULL;
    for (int page = 0; page < 100 && !*has_demo; page++) {
        vt_page_t pg = {.page_size = 100, .after = after};
        vt_run_t *runs;
        size_t n;
        const char *next;
        if ((e = st->ops->run_list(st, org_id, &pg, &a, &runs, &n, &next)))
            break;
        *has_runs = *has_runs || n > 0;
        for (size_t i = 0; i < n && !*has_demo; i++) {
            json_t *m = runs[i].metadata_json ? json_loads(runs[i].metadata_json, 0, NULL) : NULL;
            *has_demo = json_is_true(json_object_get(m, VT_DEMO_MARK));
            json_decref(m);
        }
        if (!next)
            break;
        after = next;
    }
    vt_arena_free(&a);
    return e;
}

vt_err_t vt_demo_seed(vt_store_t *st, int64_t org_id, int64_t now_ms, vt_demo_report_t *out,
                      char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    rng_t rng = {.s = 0x766f787472616365u}; /* "voxtrace" */
    vt_arena_t a;
    vt_arena_init(&a, 0);
    const char *metric_ids;
    vt_err_t e = seed_metrics(st, org_id, &rng, now_ms, &a, &metric_ids, out, err, errlen);
    /* The older run two days ago, the release candidate this morning. */
    const int64_t starts[VT_DEMO_RUNS] = {now_ms - 51 * MS_PER_HOUR, now_ms - 5 * MS_PER_HOUR};
    for (int i = 0; i < VT_DEMO_RUNS && !e; i++)
        e = seed_run(st, org_id, &rng, &run_profiles[i], starts[i], metric_ids, out, err, errlen);
    if (!e)
        e = seed_conversations(st, org_id, &rng, now_ms, out, err, errlen);
    vt_arena_free(&a);
    return e;
}
