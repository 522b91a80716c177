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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
