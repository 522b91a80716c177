/*
 * wer.c - text normalisation and word-level Levenshtein alignment for the word error rate, and a
 * bit-parallel distance-only path for callers that need the rate alone.
 */
#include "wer.h"

/* ---- UTF-8 --------------------------------------------------------------------------------- */

/* Decodes one code point at s[0..n) (n >= 1) into *cp and returns its length in bytes. A byte
 * that does not start a valid, shortest-form sequence comes back as a length of 1 with
 * *cp = -1, so the caller keeps it raw. */
static size_t utf8_decode(const unsigned char *s, size_t n, int32_t *cp) {
    unsigned char b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t len;
    int32_t v;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
        v = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        v = b & 0x0F;
        if (b == 0xE0)
            lo = 0xA0; /* overlong */
        if (b == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        v = b & 0x07;
        if (b == 0xF0)
            lo = 0x90;
        if (b == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        *cp = -1;
        return 1;
    }
    if (n < len || s[1] < lo || s[1] > hi) {
        *cp = -1;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = -1;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return len;
}

static size_t utf8_encode(int32_t cp, unsigned char *out) {
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- character classes --------------------------------------------------------------------- */

enum { CH_WORD, CH_SPACE, CH_PUNCT, CH_APOS };

static int char_class(int32_t cp) {
    if (cp < 0)
        return CH_WORD; /* an invalid byte, kept raw */
    if (cp < 0x80) {
        if (cp == ' ' || (cp >= '\t' && cp <= '\r'))
            return CH_SPACE;
        if (cp == '\'')
            return CH_APOS;
        if ((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))
            return CH_WORD;
        /* The other printable characters are punctuation and symbols; control characters are
         * not words either, so they go too. */
        return CH_PUNCT;
    }
    if (cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
        cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000)
        return CH_SPACE;
    if (cp == 0x2019 || cp == 0x02BC)
        return CH_APOS;
    if (cp < 0xA0 || cp == 0xA1 || cp == 0xA7 || cp == 0xAB || cp == 0xB6 || cp == 0xB7 ||
        cp == 0xBB || cp == 0xBF)
        return CH_PUNCT; /* C1 controls and Latin-1 punctuation */
    if ((cp >= 0x2010 && cp <= 0x2027) || (cp >= 0x2030 && cp <= 0x205E))
        return CH_PUNCT; /* General Punctuation */
    if ((cp >= 0x3001 && cp <= 0x3003) || (cp >= 0x3008 && cp <= 0x3011))
        return CH_PUNCT; /* CJK punctuation and brackets */
    if ((cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
        (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65))
        return CH_PUNCT; /* fullwidth ASCII punctuation */
    return CH_WORD;
}

/* Simple lowercase mapping for the scripts STT output usually comes in. Every mapping here
 * keeps the UTF-8 length, so the normalised text is never longer than the input. */
static int32_t to_lower(int32_t cp) {
    if (cp >= 'A' && cp <= 'Z')
        return cp + 32;
    if (cp < 0xC0)
        return cp;
    if (cp <= 0xDE)
        return cp == 0xD7 ? cp : cp + 32; /* Latin-1, except the multiplication sign */
    if (cp >= 0x100 && cp <= 0x17F) {     /* Latin Extended-A: upper/lower pairs */
        if (cp == 0x178)
            return 0xFF;
        if ((cp <= 0x12F || (cp >= 0x132 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177)) &&
            cp % 2 == 0)
            return cp + 1;
        if (((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) && cp % 2 == 1)
            return cp + 1;
        return cp;
    }
    if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2)
        return cp + 32; /* Greek */
    if (cp >= 0x410 && cp <= 0x42F)
        return cp + 32; /* Cyrillic */
    if (cp >= 0x400 && cp <= 0x40F)
        return cp + 80;
    return cp;
}

/* ---- normalisation ------------------------------------------------------------------------- */

vt_err_t vt_wer_normalize(vt_arena_t *a, vt_str_t text, vt_str_t **words, size_t *n_words) {
    const unsigned char *s = (const unsigned char *)text.p;
    size_t n = text.n;
    unsigned char *out = vt_arena_alloc(a, n + 1);
    /* A word takes at least one byte plus a separator, so this bound always holds. */
    size_t max_words = VT_MIN(n / 2 + 1, (size_t)VT_WER_MAX_WORDS + 1);
    vt_str_t *w = vt_arena_alloc(a, max_words * sizeof *w);
    if (!out || !w)
        return VT_ENOMEM;

    size_t o = 0, word_start = 0, nw = 0;
    int prev = CH_SPACE;
    for (size_t i = 0; i < n;) {
        /* ASCII, nearly all of most transcripts, skips the decoder. */
        int32_t cp = s[i];
        size_t len = cp < 0x80 ? 1 : utf8_decode(s + i, n - i, &cp);
        int cls = char_class(cp);
        if (cls == CH_APOS) {
            int32_t next_cp = 0;
            int next = CH_SPACE;
            if (i + len < n) {
                utf8_decode(s + i + len, n - i - len, &next_cp);
                next = char_class(next_cp);
            }
            if (prev == CH_WORD && next == CH_WORD)
                out[o++] = '\'';
        } else if (cls == CH_WORD) {
            if (cp < 0)
                out[o++] = s[i];
            else if (cp < 0x80)
                out[o++] = (unsigned char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
            else
                o += utf8_encode(to_lower(cp), out + o);
        } else if (cls == CH_SPACE && o > word_start) {
            if (nw == VT_WER_MAX_WORDS)
                return VT_ELIMIT;
            w[nw++] = (vt_str_t){(const char *)out + word_start, o - word_start};
            word_start = o;
        }
        prev = cls;
        i += len;
    }
    if (o > word_start) {
        if (nw == VT_WER_MAX_WORDS)
            return VT_ELIMIT;
        w[nw++] = (vt_str_t){(const char *)out + word_start, o - word_start};
    }
    out[o] = '\0';
    *words = w;
    *n_words = nw;
    return VT_OK;
}

/* ---- alignment ----------------------------------------------------------------------------- */

/* One cell of the dynamic programme: the cost of the best alignment of a reference prefix with a
 * hypothesis prefix, and how many of each edit it uses. */
typedef struct {
    uint32_t cost, sub, del, ins;
} cell_t;

static uint64_t word_hash(vt_str_t w) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < w.n; i++) {
        h ^= (unsigned char)w.p[i];
        h *= 1099511628211ull;
    }
    return h;
}

vt_err_t vt_wer_align(vt_arena_t *a, const vt_str_t *ref, size_t n_ref, const vt_str_t *hyp,
                      size_t n_hyp, vt_wer_t *out) {
    if (n_ref > VT_WER_MAX_WORDS || n_hyp > VT_WER_MAX_WORDS)
        return VT_ELIMIT;
    if (n_ref == 0)
        return VT_ENOTFOUND;
    /* Hashes make the O(N*M) comparisons one integer compare each; equal hashes are confirmed. */
    uint64_t *rh = vt_arena_alloc(a, n_ref * sizeof *rh);
    uint64_t *hh = vt_arena_alloc(a, VT_MAX(n_hyp, 1) * sizeof *hh);
    cell_t *prev = vt_arena_alloc(a, (n_hyp + 1) * sizeof *prev);
    cell_t *cur = vt_arena_alloc(a, (n_hyp + 1) * sizeof *cur);
    if (!rh || !hh || !prev || !cur)
        return VT_ENOMEM;
    for (size_t i = 0; i < n_ref; i++)
        rh[i] = word_hash(ref[i]);
    for (size_t j = 0; j < n_hyp; j++)
        hh[j] = word_hash(hyp[j]);

    /* Row 0: the empty reference prefix against j hypothesis words is j insertions. */
    for (size_t j = 0; j <= n_hyp; j++)
        prev[j] = (cell_t){(uint32_t)j, 0, 0, (uint32_t)j};
    for (size_t i = 1; i <= n_ref; i++) {
        cur[0] = (cell_t){(uint32_t)i, 0, (uint32_t)i, 0};
        for (size_t j = 1; j <= n_hyp; j++) {
            bool same = rh[i - 1] == hh[j - 1] && vt_str_eq(ref[i - 1], hyp[j - 1]);
            cell_t best = prev[j - 1];
            if (!same) {
                best.cost++;
                best.sub++;
            }
            if (prev[j].cost + 1 < best.cost) {
                best = prev[j];
                best.cost++;
                best.del++;
            }
            if (cur[j - 1].cost + 1 < best.cost) {
                best = cur[j - 1];
                best.cost++;
                best.ins++;
            }
            cur[j] = best;
        }
        cell_t *t = prev;
        prev = cur;
        cur = t;
    }

    const cell_t *end = &prev[n_hyp];
    out->reference_words = n_ref;
    out->hypothesis_words = n_hyp;
    out->substitutions = end->sub;
    out->deletions = end->del;
    out->insertions = end->ins;
    out->hits = n_ref - end->sub - end->del;
    out->wer = (double)end->cost / (double)n_ref;
    return VT_OK;
}

/* ---- distance only ------------------------------------------------------------------------- */

/* A slot of the word-id table: a reference word (by its first position) and its id, 0 = empty. */
typedef struct {
    uint64_t hash;
    uint32_t first;
    uint32_t id;
} id_slot_t;

/* Gives each distinct reference word a dense id from 1 and each hypothesis word the id of the
 * equal reference word, or 0 when the reference lacks it: such a word can never match, so it
 * needs no id of its own. The table is open-addressed with linear probing, at most half full.
 * *n_ids is the largest id. */
static vt_err_t word_ids(vt_arena_t *a, const vt_str_t *ref, size_t n_ref, const vt_str_t *hyp,
                         size_t n_hyp, uint32_t **ref_ids, uint32_t **hyp_ids, size_t *n_ids) {
    size_t cap = 16;
    while (cap < 2 * n_ref)
        cap *= 2;
    id_slot_t *slots = vt_arena_calloc(a, cap, sizeof *slots);
    uint32_t *rid = vt_arena_alloc(a, n_ref * sizeof *rid);
    uint32_t *hid = vt_arena_alloc(a, n_hyp * sizeof *hid);
    if (!slots || !rid || !hid)
        return VT_ENOMEM;
    uint32_t next = 1;
    for (size_t i = 0; i < n_ref; i++) {
        uint64_t h = word_hash(ref[i]);
        size_t k = (size_t)h & (cap - 1);
        while (slots[k].id && (slots[k].hash != h || !vt_str_eq(ref[slots[k].first], ref[i])))
            k = (k + 1) & (cap - 1);
        if (!slots[k].id)
            slots[k] = (id_slot_t){h, (uint32_t)i, next++};
        rid[i] = slots[k].id;
    }
    for (size_t j = 0; j < n_hyp; j++) {
        uint64_t h = word_hash(hyp[j]);
        size_t k = (size_t)h & (cap - 1);
        while (slots[k].id && (slots[k].hash != h || !vt_str_eq(ref[slots[k].first], hyp[j])))
            k = (k + 1) & (cap - 1);
        hid[j] = slots[k].id; /* 0 when the probe ended on an empty slot */
    }
    *ref_ids = rid;
    *hyp_ids = hid;
    *n_ids = next - 1;
    return VT_OK;
}

/*
 * The distance matrix D[i][j] (i reference words against j hypothesis words) is never stored;
 * only its differences are, two bits per cell: a column's vertical differences D[i][j] -
 * D[i-1][j] are each -1, 0 or +1, held as two bit masks (pv: +1, mv: -1) over the 64 reference
 * words of a block, and a whole column is computed from the previous one with a few word-wide
 * operations. The reference is cut into blocks of 64 words, handled one after the other; each
 * block walks every hypothesis word and passes, per column, the horizontal difference of its
 * last row D[i][j] - D[i][j-1] to the block below it in `carry`. Row 0 is D[0][j] = j, so the
 * first block receives +1 everywhere, and the answer is D[N][0] + the sum of the last block's
 * differences = N + sum(carry).
 *
 * Within a block, for hypothesis word j: eq has bit i set when reference word i equals it. xh
 * marks the rows whose horizontal difference can be below +1: a match, or a -1 handed down from
 * the row above, which flows on down a run of vertical +1s; following those runs is one addition
 * whose carries travel along them. From xh and the previous column come the horizontal
 * differences (ph: +1, mh: -1), and from those, shifted one row down, the new column's pv and mv.
 * A carry of -1 into the block acts on its first row like a match would, so it is or-ed into eq
 * for that step. Bits above the last row of a short final block hold garbage, which never
 * reaches the rows below: additions and shifts only move information towards higher bits.
 * (The column step is Myers' 1999 bit-vector algorithm; the blocks and the global-distance
 * boundary follow Hyyro's 2003 formulation.)
 */
vt_err_t vt_wer_distance(vt_arena_t *a, const vt_str_t *ref, size_t n_ref, const vt_str_t *hyp,
                         size_t n_hyp, size_t *distance) {
    if (n_ref > VT_WER_MAX_WORDS || n_hyp > VT_WER_MAX_WORDS)
        return VT_ELIMIT;
    if (n_ref == 0 || n_hyp == 0) {
        *distance = n_ref + n_hyp;
        return VT_OK;
    }
    uint32_t *rid, *hid;
    size_t n_ids;
    vt_err_t e = word_ids(a, ref, n_ref, hyp, n_hyp, &rid, &hid, &n_ids);
    if (e)
        return e;
    /* peq[id]: the reference words of the current block equal to word `id`; peq[0] stays 0. */
    uint64_t *peq = vt_arena_calloc(a, n_ids + 1, sizeof *peq);
    int8_t *carry = vt_arena_alloc(a, n_hyp);
    if (!peq || !carry)
        return VT_ENOMEM;
    memset(carry, 1, n_hyp);

    for (size_t base = 0; base < n_ref; base += 64) {
        size_t rows = VT_MIN(n_ref - base, (size_t)64);
        uint64_t last = 1ull << (rows - 1);
        for (size_t i = 0; i < rows; i++)
            peq[rid[base + i]] |= 1ull << i;
        /* Column 0 is D[i][0] = i: every vertical difference is +1. */
        uint64_t pv = ~0ull, mv = 0;
        for (size_t j = 0; j < n_hyp; j++) {
            int hin = carry[j];
            uint64_t hin_neg = hin < 0;
            uint64_t hin_pos = hin > 0;
            uint64_t eq = peq[hid[j]];
            uint64_t xv = eq | mv;
            eq |= hin_neg;
            uint64_t xh = (((eq & pv) + pv) ^ pv) | eq;
            uint64_t ph = mv | ~(xh | pv); /* horizontal +1 below each row */
            uint64_t mh = pv & xh;         /* horizontal -1 */
            carry[j] = (int8_t)((int)((ph & last) != 0) - (int)((mh & last) != 0));
            ph = (ph << 1) | hin_pos;
            mh = (mh << 1) | hin_neg;
            pv = mh | ~(xv | ph);
            mv = ph & xv;
        }
        for (size_t i = 0; i < rows; i++)
            peq[rid[base + i]] = 0;
    }

    size_t d = n_ref;
    for (size_t j = 0; j < n_hyp; j++)
        d = (size_t)((ptrdiff_t)d + carry[j]);
    *distance = d;
    return VT_OK;
}

vt_err_t vt_wer_rate(vt_arena_t *a, vt_str_t reference, vt_str_t hypothesis, double *wer) {
    vt_str_t *rw, *hw;
    size_t nr, nh, d;
    vt_err_t e;
    if ((e = vt_wer_normalize(a, reference, &rw, &nr)) ||
        (e = vt_wer_normalize(a, hypothesis, &hw, &nh)))
        return e;
    if (nr == 0)
        return VT_ENOTFOUND;
    if ((e = vt_wer_distance(a, rw, nr, hw, nh, &d)))
        return e;
    *wer = (double)d / (double)nr;
    return VT_OK;
}

vt_err_t vt_wer_compute(vt_arena_t *a, vt_str_t reference, vt_str_t hypothesis, vt_wer_t *out) {
    vt_str_t *rw, *hw;
    size_t nr, nh;
    vt_err_t e;
    if ((e = vt_wer_normalize(a, reference, &rw, &nr)) ||
        (e = vt_wer_normalize(a, hypothesis, &hw, &nh)))
        return e;
    return vt_wer_align(a, rw, nr, hw, nh, out);
}
