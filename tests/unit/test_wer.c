/*
 * test_wer.c - unit tests for src/analysis/wer: normalisation and the alignment on pairs whose
 * edits are counted by hand in the comments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "analysis/wer.h"

static vt_wer_t wer(vt_arena_t *a, const char *ref, const char *hyp) {
    vt_wer_t w;
    memset(&w, 0xAA, sizeof w);
    assert_int_equal(vt_wer_compute(a, vt_str_c(ref), vt_str_c(hyp), &w), VT_OK);
    return w;
}

static void assert_edits(const vt_wer_t *w, size_t n, size_t s, size_t d, size_t i) {
    assert_int_equal(w->reference_words, n);
    assert_int_equal(w->substitutions, s);
    assert_int_equal(w->deletions, d);
    assert_int_equal(w->insertions, i);
    assert_int_equal(w->hits, n - s - d);
    assert_true(w->wer == (double)(s + d + i) / (double)n);
}

static void assert_words(vt_arena_t *a, const char *text, const char *const *want, size_t n) {
    vt_str_t *w;
    size_t nw;
    assert_int_equal(vt_wer_normalize(a, vt_str_c(text), &w, &nw), VT_OK);
    assert_int_equal(nw, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(w[i].n, strlen(want[i]));
        assert_memory_equal(w[i].p, want[i], w[i].n);
    }
}
#define WORDS(a, text, ...)                                                                        \
    assert_words(a, text, (const char *const[]){__VA_ARGS__},                                      \
                 VT_ARRAY_LEN(((const char *const[]){__VA_ARGS__})))

static void test_identical(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_wer_t w = wer(&a, "I would like to book a table", "I would like to book a table");
    assert_edits(&w, 7, 0, 0, 0);
    assert_true(w.wer == 0.0);
    assert_int_equal(w.hypothesis_words, 7);
    vt_arena_free(&a);
}

/* Nothing heard: every reference word is a deletion, WER 1. */
static void test_all_deleted(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_wer_t w = wer(&a, "one two three", "");
    assert_edits(&w, 3, 0, 3, 0);
    assert_true(w.wer == 1.0);
    assert_int_equal(w.hypothesis_words, 0);
    /* Punctuation alone is no words either. */
    w = wer(&a, "one two three", " ... !? ");
    assert_edits(&w, 3, 0, 3, 0);
    vt_arena_free(&a);
}

/* "yes" heard as "oh yes yes please": three insertions over one reference word, WER 3 (not
 * clamped to 1). */
static void test_insertions_over_one(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_wer_t w = wer(&a, "yes", "oh yes yes please");
    assert_edits(&w, 1, 0, 0, 3);
    assert_true(w.wer == 3.0);
    vt_arena_free(&a);
}

/* The classic: "the cat sat on the mat" vs "the cat sit on mat": sat->sit (S) and the second
 * "the" missing (D): 2/6. */
static void test_substitution_and_deletion(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_wer_t w = wer(&a, "the cat sat on the mat", "the cat sit on mat");
    assert_edits(&w, 6, 1, 1, 0);
    assert_true(w.wer == 2.0 / 6.0);
    /* Mixed: ref "call me at five" vs hyp "please call me at nine ok":
     * please (I), five->nine (S), ok (I) = 3/4. */
    w = wer(&a, "call me at five", "please call me at nine ok");
    assert_edits(&w, 4, 1, 0, 2);
    assert_true(w.wer == 0.75);
    vt_arena_free(&a);
}

/* "a b" vs "b a" costs 2 either as two substitutions or as a deletion plus an insertion; the
 * documented preference for match/substitution gives S = 2. The reverse pair the same. */
static void test_tie_break(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_wer_t w = wer(&a, "a b", "b a");
    assert_edits(&w, 2, 2, 0, 0);
    /* "a b c" vs "b c d": deleting a and inserting d (cost 2) beats three substitutions. */
    w = wer(&a, "a b c", "b c d");
    assert_edits(&w, 3, 0, 1, 1);
    vt_arena_free(&a);
}

static void test_punctuation_and_case(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_wer_t w = wer(&a, "Hello, World! How are YOU?", "hello world how are you");
    assert_edits(&w, 5, 0, 0, 0);
    /* Punctuation is deleted, not turned into a space: "well-known" is one word. */
    WORDS(&a, "A well-known $5 fee; 50% off (today).", "a", "wellknown", "5", "fee", "50", "off",
          "today");
    /* Unicode dashes, curly quotes, ellipsis and guillemets go; whitespace variants split. */
    WORDS(&a, "Wait — what… “really”? «oui»", "wait", "what", "really", "oui");
    /* NBSP (U+00A0) and EM SPACE (U+2003) split words like ASCII whitespace. */
    WORDS(&a, "a\u00A0b\u2003c\td\r\ne", "a", "b", "c", "d", "e");
    vt_arena_free(&a);
}

static void test_apostrophes(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    WORDS(&a, "Don't stop", "don't", "stop");
    /* Only between word characters: quotes and a trailing possessive go, inner ones stay. */
    WORDS(&a, "  Rock'n'roll, 'quoted' dogs' o''clock it's ", "rock'n'roll", "quoted", "dogs",
          "oclock", "it's");
    /* The typographic apostrophe (U+2019) and U+02BC count as apostrophes, written as '. */
    WORDS(&a, "don’t canʼt", "don't", "can't");
    /* So "don’t" matches "don't", while "dont" is a substitution. */
    vt_wer_t w = wer(&a, "Don't stop.", "don’t stop");
    assert_edits(&w, 2, 0, 0, 0);
    w = wer(&a, "Don't stop.", "dont stop");
    assert_edits(&w, 2, 1, 0, 0);
    assert_true(w.wer == 0.5);
    vt_arena_free(&a);
}

static void test_unicode_lowercase(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    /* Latin-1 (É, Ñ, Ú, Ó), Latin Extended-A (Ł, Ž, Ÿ), Greek, Cyrillic (Ё is in U+0400-040F). */
    WORDS(&a, "ÉCOLE ÑANDÚ ŁÓŽKO Ÿ", "école", "ñandú", "łóžko", "ÿ");
    WORDS(&a, "ΑΘΗΝΑ ЁЖ", "αθηνα", "ёж");
    /* The multiplication sign is not a capital; ß has no simple uppercase pair. */
    WORDS(&a, "× ß", "×", "ß");
    vt_arena_free(&a);
}

/* Bytes that are not UTF-8 are kept raw and compared bytewise; they never split or vanish. */
static void test_invalid_utf8(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    WORDS(&a, "caf\xFF ok \xC3", "caf\xFF", "ok", "\xC3");
    /* An overlong "A" (0xC1 0x81) is two raw bytes, not an A. */
    WORDS(&a, "\xC1\x81", "\xC1\x81");
    vt_wer_t w = wer(&a, "caf\xFF", "caf\xFE");
    assert_edits(&w, 1, 1, 0, 0);
    vt_arena_free(&a);
}

/* An empty reference has no defined WER: VT_ENOTFOUND, distinct from a WER of 0. */
static void test_empty_reference(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    vt_wer_t w;
    assert_int_equal(vt_wer_compute(&a, VT_STR(""), VT_STR("hello"), &w), VT_ENOTFOUND);
    assert_int_equal(vt_wer_compute(&a, VT_STR(""), VT_STR(""), &w), VT_ENOTFOUND);
    assert_int_equal(vt_wer_compute(&a, VT_STR(" , . "), VT_STR("hi"), &w), VT_ENOTFOUND);
    assert_int_equal(vt_wer_compute(&a, VT_STR_NULL, VT_STR_NULL, &w), VT_ENOTFOUND);
    vt_arena_free(&a);
}

/* vt_wer_align on word lists the caller already has. */
static void test_align_words(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    const vt_str_t ref[] = {VT_STR("book"), VT_STR("a"), VT_STR("table")};
    const vt_str_t hyp[] = {VT_STR("book"), VT_STR("the"), VT_STR("table"), VT_STR("now")};
    vt_wer_t w;
    assert_int_equal(vt_wer_align(&a, ref, 3, hyp, 4, &w), VT_OK);
    assert_edits(&w, 3, 1, 0, 1);
    assert_int_equal(w.hypothesis_words, 4);
    assert_int_equal(vt_wer_align(&a, ref, 0, hyp, 4, &w), VT_ENOTFOUND);
    vt_arena_free(&a);
}

static void test_limits(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    size_t n = (size_t)VT_WER_MAX_WORDS + 1;
    char *text = malloc(n * 2);
    assert_non_null(text);
    for (size_t i = 0; i < n; i++) {
        text[2 * i] = 'w';
        text[2 * i + 1] = ' ';
    }
    vt_str_t *w;
    size_t nw;
    assert_int_equal(vt_wer_normalize(&a, (vt_str_t){text, n * 2}, &w, &nw), VT_ELIMIT);
    /* Without the trailing space the last word is added at the end: still over. */
    assert_int_equal(vt_wer_normalize(&a, (vt_str_t){text, n * 2 - 1}, &w, &nw), VT_ELIMIT);
    /* Exactly at the cap is fine. */
    assert_int_equal(vt_wer_normalize(&a, (vt_str_t){text, (n - 1) * 2}, &w, &nw), VT_OK);
    assert_int_equal(nw, VT_WER_MAX_WORDS);
    vt_wer_t r;
    assert_int_equal(vt_wer_align(&a, w, nw + 1, w, 1, &r), VT_ELIMIT);
    free(text);

    /* A full-size alignment (2,000 x 2,000 words) with a known answer: every tenth word of
     * the hypothesis differs, so S = 200. */
    vt_arena_t b;
    vt_arena_init(&b, 0);
    vt_str_t *ref = vt_arena_alloc(&b, 2000 * sizeof *ref);
    vt_str_t *hyp = vt_arena_alloc(&b, 2000 * sizeof *hyp);
    assert_non_null(ref);
    assert_non_null(hyp);
    for (size_t i = 0; i < 2000; i++) {
        ref[i] = vt_str_c(vt_arena_printf(&b, "w%zu", i));
        hyp[i] = i % 10 == 0 ? VT_STR("x") : ref[i];
    }
    assert_int_equal(vt_wer_align(&b, ref, 2000, hyp, 2000, &r), VT_OK);
    assert_edits(&r, 2000, 200, 0, 0);
    vt_arena_free(&b);
    vt_arena_free(&a);
}

/* ---- the distance-only path against the dynamic programme ---------------------------------- */

/* A fixed-seed xorshift generator, so a failing case is the same on every run. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* n words drawn from the first `vocab` words of `words`. */
static vt_str_t *random_words(vt_arena_t *a, const vt_str_t *words, size_t vocab, size_t n) {
    vt_str_t *w = vt_arena_alloc(a, VT_MAX(n, 1) * sizeof *w);
    assert_non_null(w);
    for (size_t i = 0; i < n; i++)
        w[i] = words[rng() % vocab];
    return w;
}

/* A hypothesis made from the reference the way STT errs: words kept, dropped, replaced, or
 * followed by an extra word, about one edit in `edit_every`. Returns its length in *n_out. */
static vt_str_t *edited_words(vt_arena_t *a, const vt_str_t *ref, size_t n, const vt_str_t *words,
                              size_t vocab, unsigned edit_every, size_t *n_out) {
    vt_str_t *w = vt_arena_alloc(a, (2 * n + 1) * sizeof *w);
    assert_non_null(w);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned r = (unsigned)(rng() % (3 * edit_every));
        if (r == 0)
            continue; /* deleted */
        w[k++] = r == 1 ? words[rng() % vocab] : ref[i];
        if (r == 2)
            w[k++] = words[rng() % vocab]; /* inserted */
    }
    *n_out = k;
    return w;
}

/* vt_wer_distance must equal S + D + I of vt_wer_align, and the distance of the reversed pair
 * (edit distance is symmetric, and the reversed pair puts the other side in the bit vectors). */
static void check_distance(vt_arena_t *a, const vt_str_t *ref, size_t nr, const vt_str_t *hyp,
                           size_t nh) {
    size_t d = 12345, back = 12345;
    assert_int_equal(vt_wer_distance(a, ref, nr, hyp, nh, &d), VT_OK);
    assert_int_equal(vt_wer_distance(a, hyp, nh, ref, nr, &back), VT_OK);
    assert_int_equal(back, d);
    if (nr == 0) {
        assert_int_equal(d, nh);
        return;
    }
    vt_wer_t w;
    assert_int_equal(vt_wer_align(a, ref, nr, hyp, nh, &w), VT_OK);
    if (d != w.substitutions + w.deletions + w.insertions)
        fail_msg("lengths %zu x %zu: bit-parallel %zu, dynamic programme %zu", nr, nh, d,
                 w.substitutions + w.deletions + w.insertions);
}

/* Vocabulary "w0".."w999" in the arena. */
static vt_str_t *vocabulary(vt_arena_t *a, size_t n) {
    vt_str_t *v = vt_arena_alloc(a, n * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = vt_str_c(vt_arena_printf(a, "w%zu", i));
    return v;
}

/* Every pair of the lengths around the 64-word block edges, with a small vocabulary (many
 * matches, many equal-cost paths) and a large one (mostly mismatches), random and edited. */
static void test_distance_block_edges(void **state) {
    (void)state;
    static const size_t lens[] = {0, 1, 2, 63, 64, 65, 127, 128, 129, 400, 2000};
    vt_arena_t v;
    vt_arena_init(&v, 0);
    vt_str_t *words = vocabulary(&v, 1000);
    for (size_t x = 0; x < VT_ARRAY_LEN(lens); x++) {
        for (size_t y = 0; y < VT_ARRAY_LEN(lens); y++) {
            static const size_t vocabs[] = {3, 1000};
            for (size_t k = 0; k < VT_ARRAY_LEN(vocabs); k++) {
                vt_arena_t a;
                vt_arena_init(&a, 0);
                vt_str_t *ref = random_words(&a, words, vocabs[k], lens[x]);
                vt_str_t *hyp = random_words(&a, words, vocabs[k], lens[y]);
                check_distance(&a, ref, lens[x], hyp, lens[y]);
                vt_arena_free(&a);
            }
        }
        vt_arena_t a;
        vt_arena_init(&a, 0);
        vt_str_t *ref = random_words(&a, words, 1000, lens[x]);
        size_t nh;
        vt_str_t *hyp = edited_words(&a, ref, lens[x], words, 1000, 4, &nh);
        check_distance(&a, ref, lens[x], hyp, nh);
        vt_arena_free(&a);
    }
    vt_arena_free(&v);
}

/* Many random pairs of random lengths and vocabularies, including hypothesis words the
 * reference never uses (they take the no-match id). */
static void test_distance_random(void **state) {
    (void)state;
    vt_arena_t v;
    vt_arena_init(&v, 0);
    vt_str_t *words = vocabulary(&v, 1000);
    static const size_t vocabs[] = {1, 2, 4, 30, 1000};
    for (int round = 0; round < 600; round++) {
        vt_arena_t a;
        vt_arena_init(&a, 0);
        size_t nr = (size_t)(rng() % 300), vocab = vocabs[rng() % VT_ARRAY_LEN(vocabs)];
        vt_str_t *ref = random_words(&a, words, vocab, nr);
        size_t nh;
        vt_str_t *hyp;
        if (round % 2) {
            nh = (size_t)(rng() % 300);
            hyp = random_words(&a, words, VT_MIN(vocab * 2, (size_t)1000), nh);
        } else {
            hyp = edited_words(&a, ref, nr, words, 1000, 1 + (unsigned)(rng() % 8), &nh);
        }
        check_distance(&a, ref, nr, hyp, nh);
        vt_arena_free(&a);
    }
    vt_arena_free(&v);
}

/* Known distances, the limits, and vt_wer_rate against vt_wer_compute on whole texts. */
static void test_distance_and_rate(void **state) {
    (void)state;
    vt_arena_t a;
    vt_arena_init(&a, 0);
    const vt_str_t abc[] = {VT_STR("a"), VT_STR("b"), VT_STR("c")};
    const vt_str_t bcd[] = {VT_STR("b"), VT_STR("c"), VT_STR("d")};
    size_t d;
    assert_int_equal(vt_wer_distance(&a, abc, 3, bcd, 3, &d), VT_OK);
    assert_int_equal(d, 2);
    assert_int_equal(vt_wer_distance(&a, abc, 3, abc, 3, &d), VT_OK);
    assert_int_equal(d, 0);
    assert_int_equal(vt_wer_distance(&a, abc, 3, NULL, 0, &d), VT_OK);
    assert_int_equal(d, 3);
    assert_int_equal(vt_wer_distance(&a, NULL, 0, bcd, 2, &d), VT_OK);
    assert_int_equal(d, 2);
    assert_int_equal(vt_wer_distance(&a, abc, (size_t)VT_WER_MAX_WORDS + 1, abc, 1, &d), VT_ELIMIT);
    assert_int_equal(vt_wer_distance(&a, abc, 1, abc, (size_t)VT_WER_MAX_WORDS + 1, &d), VT_ELIMIT);

    /* The 2,000-word pair of test_limits: every tenth word differs, 200 substitutions. */
    vt_str_t *ref = vt_arena_alloc(&a, 2000 * sizeof *ref);
    vt_str_t *hyp = vt_arena_alloc(&a, 2000 * sizeof *hyp);
    assert_non_null(ref);
    assert_non_null(hyp);
    for (size_t i = 0; i < 2000; i++) {
        ref[i] = vt_str_c(vt_arena_printf(&a, "w%zu", i));
        hyp[i] = i % 10 == 0 ? VT_STR("x") : ref[i];
    }
    assert_int_equal(vt_wer_distance(&a, ref, 2000, hyp, 2000, &d), VT_OK);
    assert_int_equal(d, 200);

    static const char *const pairs[][2] = {
        {"the cat sat on the mat", "the cat sit on mat"},
        {"yes", "oh yes yes please"},
        {"Hello, World! How are YOU?", "hello world how are you"},
        {"Don't stop.", "dont stop"},
        {"one two three", ""},
        {"call me at five", "please call me at nine ok"},
    };
    for (size_t i = 0; i < VT_ARRAY_LEN(pairs); i++) {
        double rate = -1;
        vt_wer_t w = wer(&a, pairs[i][0], pairs[i][1]);
        assert_int_equal(vt_wer_rate(&a, vt_str_c(pairs[i][0]), vt_str_c(pairs[i][1]), &rate),
                         VT_OK);
        assert_true(rate == w.wer);
    }
    double rate;
    assert_int_equal(vt_wer_rate(&a, VT_STR(" , . "), VT_STR("hi"), &rate), VT_ENOTFOUND);
    assert_int_equal(vt_wer_rate(&a, VT_STR_NULL, VT_STR_NULL, &rate), VT_ENOTFOUND);
    vt_arena_free(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical),
        cmocka_unit_test(test_all_deleted),
        cmocka_unit_test(test_insertions_over_one),
        cmocka_unit_test(test_substitution_and_deletion),
        cmocka_unit_test(test_tie_break),
        cmocka_unit_test(test_punctuation_and_case),
        cmocka_unit_test(test_apostrophes),
        cmocka_unit_test(test_unicode_lowercase),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_empty_reference),
        cmocka_unit_test(test_align_words),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_distance_block_edges),
        cmocka_unit_test(test_distance_random),
        cmocka_unit_test(test_distance_and_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
