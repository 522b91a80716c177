/*
 * wer.h - word error rate of a speech-to-text hypothesis against a reference (DESIGN.md 5.6).
 * Pure: no I/O; memory from the caller's arena.
 *
 * Normalisation (both texts): lowercase; drop punctuation except apostrophes inside words; split
 * on whitespace. In detail:
 *  - Lowercasing covers ASCII, Latin-1, Latin Extended-A, basic Greek and basic Cyrillic capitals
 *    (simple one-to-one mappings); other characters are kept as they are.
 *  - Punctuation is deleted, not replaced by a space ("well-known" -> "wellknown"), as DESIGN says
 *    "drop". It is every printable ASCII character that is not a letter, digit or apostrophe
 *    (symbols such as $ % + included), the Latin-1 punctuation marks (¡ § « ¶ · » ¿), the General
 *    Punctuation block (dashes, curly quotes, ellipsis...), CJK and fullwidth ASCII punctuation.
 *  - An apostrophe (', U+2019 or U+02BC) is kept, as ', only with a word character on both sides
 *    ("don't" and "rock'n'roll" stay one word; quotes around 'this' go).
 *  - Whitespace is ASCII whitespace plus the Unicode space characters (NBSP, U+2000-U+200A...).
 *  - Bytes that are not valid UTF-8 are kept as they are and compare bytewise.
 *
 * Alignment: word-level Levenshtein distance (each substitution, deletion, insertion costs 1),
 * O(N*M) time and O(M) memory, counting S, D and I inside the dynamic programme instead of
 * backtracking. Where several edits give the same minimal cost at a cell, the choice prefers
 * match/substitution, then deletion, then insertion. S + D + I equals the distance whatever the
 * choice, so the WER never depends on it; only the split between S, D and I can. When only the
 * rate is wanted, vt_wer_rate computes the distance alone, bit-parallel.
 */
#ifndef VT_WER_H
#define VT_WER_H

#include "../core/arena.h"
#include "../core/vt.h"

/* Words per text; past it the functions fail with VT_ELIMIT (the alignment is O(N*M)). An hour of
 * speech is about 9,000 words. */
#define VT_WER_MAX_WORDS 16384

typedef struct {
    size_t reference_words; /* N */
    size_t hypothesis_words;
    size_t hits;          /* reference words matched exactly */
    size_t substitutions; /* S */
    size_t deletions;     /* D: reference words the hypothesis lacks */
    size_t insertions;    /* I: hypothesis words the reference lacks */
    double wer;           /* (S + D + I) / N, not clamped: can exceed 1 */
} vt_wer_t;

/* Normalises text and splits it into words (arena memory; the words point into one normalised
 * copy and are not NUL-terminated). *n_words may be 0. VT_ELIMIT past VT_WER_MAX_WORDS words,
 * VT_ENOMEM on arena exhaustion. */
vt_err_t vt_wer_normalize(vt_arena_t *a, vt_str_t text, vt_str_t **words, size_t *n_words);

/* Aligns two word lists (already normalised) and fills *out. VT_ENOTFOUND when the reference has
 * no words (WER undefined: a distinct status, not 0); VT_ELIMIT past VT_WER_MAX_WORDS on either
 * side; VT_ENOMEM on arena exhaustion. */
vt_err_t vt_wer_align(vt_arena_t *a, const vt_str_t *ref, size_t n_ref, const vt_str_t *hyp,
                      size_t n_hyp, vt_wer_t *out);

/* Normalises both texts and aligns them: the WER of `hypothesis` against `reference`. Errors as
 * for vt_wer_normalize and vt_wer_align (VT_ENOTFOUND for a reference without words). */
vt_err_t vt_wer_compute(vt_arena_t *a, vt_str_t reference, vt_str_t hypothesis, vt_wer_t *out);

/* The word-level Levenshtein distance alone (S + D + I, without the split) of two normalised word
 * lists, for callers that only need the rate. Words become integer ids through a hash table, then
 * a bit-parallel edit distance (Myers' algorithm, in Hyyro's form for global distance, in blocks
 * of 64 reference words) runs in O(ceil(N/64) * M) time and O(N + M) memory. Always equal to the
 * S + D + I of vt_wer_align. An empty side is fine: the distance is the other side's length.
 * VT_ELIMIT past VT_WER_MAX_WORDS on either side; VT_ENOMEM on arena exhaustion. */
vt_err_t vt_wer_distance(vt_arena_t *a, const vt_str_t *ref, size_t n_ref, const vt_str_t *hyp,
                         size_t n_hyp, size_t *distance);

/* Normalises both texts and sets *wer to vt_wer_distance / N: the same value as the wer of
 * vt_wer_compute, much faster on long texts. Errors as for vt_wer_compute. */
vt_err_t vt_wer_rate(vt_arena_t *a, vt_str_t reference, vt_str_t hypothesis, double *wer);

#endif
