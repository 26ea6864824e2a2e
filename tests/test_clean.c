// test_clean.c: strap data clean: normalisation, repairs, filters, exact and near-duplicate
// removal (MinHash against the exact shingle Jaccard, the LSH S-curve), the record reader
// and writer, determinism, and bad input (exit 1 naming file:line, checked in a forked child).
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../base/check.h"
#include "../base/io.h"
#include "../base/rng.h"
#include "../data/clean.h"
#include "../data/clean_text.h"
#include "../data/jsonl.h"
#include "../data/minhash.h"
#include "../data/records_writer.h"
#include "test.h"

static char tmpdir[64];

static char *tmp_path(const char *name) { return path_join(tmpdir, name); }

// ---- helpers ----

// Normalised text of a C string (NULL if invalid UTF-8).
static char *norm(const char *s) {
    size_t n;
    return text_normalise(s, strlen(s), &n);
}

// Normalised and repaired text.
static char *repaired(const char *s, int *repairs) {
    char *n = norm(s);
    size_t len;
    int dummy;
    char *r = text_repair(n, strlen(n), &len, repairs ? repairs : &dummy);
    free(n);
    return r;
}

static CleanReason reason_of(const TextFilter *f, const char *s) {
    CleanResult res;
    text_clean(f, s, strlen(s), &res);
    CleanReason r = res.reason;
    clean_result_free(&res);
    return r;
}

// n pseudo-words "wNNNN" from a vocabulary of `vocab`, with a full stop at the end.
static char *random_text(Rng *rng, int n, int vocab) {
    char *s = xmalloc((size_t)n * 8 + 2);
    size_t at = 0;
    for (int i = 0; i < n; i++)
        at += (size_t)sprintf(s + at, "%sw%d", i ? " " : "", (int)(rng_u64(rng) % (uint64_t)vocab));
    strcpy(s + at, ".");
    return s;
}

// Exact Jaccard similarity of the shingle sets of two texts.
static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static size_t unique_sorted(uint64_t *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_u64);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || v[i] != v[m - 1]) v[m++] = v[i];
    return m;
}

static double exact_jaccard(const char *a, const char *b) {
    uint64_t *sa, *sb;
    size_t na = text_shingles(a, strlen(a), &sa), nb = text_shingles(b, strlen(b), &sb);
    na = unique_sorted(sa, na);
    nb = unique_sorted(sb, nb);
    size_t i = 0, j = 0, both = 0;
    while (i < na && j < nb) {
        if (sa[i] == sb[j])
            both++, i++, j++;
        else if (sa[i] < sb[j])
            i++;
        else
            j++;
    }
    free(sa), free(sb);
    return na + nb - both ? (double)both / (double)(na + nb - both) : 1.0;
}

static double signature_similarity(const MinHash *mh, const char *a, const char *b) {
    uint64_t *sh, sa[MINHASH_MAX_PERM], sb[MINHASH_MAX_PERM];
    size_t n = text_shingles(a, strlen(a), &sh);
    minhash_signature(mh, sh, n, sa);
    free(sh);
    n = text_shingles(b, strlen(b), &sh);
    minhash_signature(mh, sh, n, sb);
    free(sh);
    return minhash_similarity(sa, sb, mh->perm);
}

// Writes records {"id": i, "text": texts[i]} as .jsonl (plain, or .zst by the suffix).
static void write_texts(const char *path, char **texts, int n) {
    RecordsWriter *w = records_writer_open(path);
    for (int i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(i));
        json_object_set_new(o, "text", json_string(texts[i]));
        records_writer_write(w, o);
        json_decref(o);
    }
    records_writer_close(w);
}

// All records of a file (an array of objects; the caller decrefs).
static json_t *read_records(const char *path) {
    json_t *all = json_array(), *o;
    JsonlReader *r = jsonl_open(path);
    while (jsonl_next(r, &o)) json_array_append_new(all, o);
    jsonl_close(r);
    return all;
}

static CleanOptions quiet_options(const char *in, const char *out) {
    CleanOptions o;
    clean_options_defaults(&o);
    o.input = in, o.output = out, o.progress = 0;
    return o;
}

// Runs fn(arg) in a child; expects exit status 1 and `needle` in its stderr.
static void expect_failure(void (*fn)(const char *), const char *arg, const char *needle, const char *what) {
    expect_failure_exit(fn, arg, needle, NULL, what);
}

// ---- normalisation ----

static void test_normalise_unicode(void) {
    char *composed = norm("Caf\xc3\xa9 au lait"), *decomposed = norm("Cafe\xcc\x81 au lait");
    EXPECT(strcmp(composed, decomposed) == 0, "NFC: '%s' vs '%s'", composed, decomposed);
    EXPECT(strcmp(composed, "Caf\xc3\xa9 au lait") == 0, "composed form: %s", composed);
    free(composed), free(decomposed);
    char *s = norm("\xef\xbb\xbfhello"); // a leading byte-order mark
    EXPECT(strcmp(s, "hello") == 0, "BOM: %s", s);
    free(s);
    EXPECT(norm("bad \xff byte") == NULL, "invalid byte accepted");
    EXPECT(norm("overlong \xc0\xaf") == NULL, "overlong encoding accepted");
    EXPECT(norm("surrogate \xed\xa0\x80") == NULL, "encoded surrogate accepted");
    EXPECT(norm("cut \xe2\x82") == NULL, "truncated sequence accepted");
    TextFilter f;
    text_filter_defaults(&f);
    EXPECT(reason_of(&f, "a long enough text with one \xfe bad byte.") == CLEAN_INVALID_UTF8, "invalid UTF-8 reason");
}

static void test_normalise_controls_and_newlines(void) {
    char *s = norm("one\r\ntwo\rthree\n");
    EXPECT(strcmp(s, "one\ntwo\nthree") == 0, "newlines: '%s'", s);
    free(s);
    s = norm("a\x01"
             "b\x7f"
             "c\xc2\x80"
             "d\x1b[0m\te\x0c");
    EXPECT(strcmp(s, "abcd[0m e") == 0, "controls: '%s'", s);
    free(s);
}

static void test_normalise_whitespace(void) {
    char *s = norm("  hello   \t world  \n\n\n\nnext \t line  \n\n");
    EXPECT(strcmp(s, "hello world\n\nnext line") == 0, "runs, trailing, blank lines, trim: '%s'", s);
    free(s);
    s = norm("Items:\n    - first   item\n\n\n    - second");
    EXPECT(strcmp(s, "Items:\n    - first item\n\n    - second") == 0, "indentation kept: '%s'", s);
    free(s);
    s = norm("Code:\n```\nx  =  1   \n    y\t= 2\n```\nafter   this");
    EXPECT(strcmp(s, "Code:\n```\nx  =  1\n    y\t= 2\n```\nafter this") == 0, "code kept: '%s'", s);
    free(s);
    s = norm(" \t\n\n ");
    EXPECT(s && s[0] == '\0', "whitespace only -> empty: '%s'", s);
    free(s);
}

// ---- repairs ----

static void test_repair_fence(void) {
    int rep;
    char *s = repaired("Here is code:\n```python\nprint('hi')", &rep);
    EXPECT(strcmp(s, "Here is code:\n```python\nprint('hi')\n```") == 0 && (rep & REPAIR_FENCE), "closed: '%s'", s);
    EXPECT(!(rep & REPAIR_CUT_OFF), "a text ending in a closing fence is not cut");
    free(s);
    s = repaired("Run:\n```\nls\n```\nDone.", &rep);
    EXPECT(strcmp(s, "Run:\n```\nls\n```\nDone.") == 0 && rep == 0, "balanced fences untouched: '%s'", s);
    free(s);
}

static void test_repair_markers(void) {
    int rep;
    char *s = repaired("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi there.<|im_end|>\n"
                       "<|im_start|>assistant\nHello! How can I help?<|im_end|>\n",
                       &rep);
    EXPECT(strcmp(s, "You are helpful.\nHi there.\nHello! How can I help?") == 0 && (rep & REPAIR_MARKERS),
           "ChatML: '%s'", s);
    free(s);
    s = repaired("<|begin_of_text|><|start_header_id|>assistant<|end_header_id|>\n\nSure, here it is.<|eot_id|>", &rep);
    EXPECT(strcmp(s, "Sure, here it is.") == 0, "Llama 3 headers: '%s'", s);
    free(s);
    s = repaired("### User: What is 2+2?\n### Assistant: The answer is 4.", &rep);
    EXPECT(strcmp(s, "What is 2+2?\nThe answer is 4.") == 0, "### prefixes: '%s'", s);
    free(s);
    s = repaired("<|im_start|>\nassistant\nOk then, done.<|endoftext|>", &rep);
    EXPECT(strcmp(s, "Ok then, done.") == 0, "role line after a marker: '%s'", s);
    free(s);
    s = repaired("first part<|endoftext|>second part.", &rep);
    EXPECT(strcmp(s, "first part second part.") == 0, "marker between words: '%s'", s);
    free(s);
    s = repaired(
        "ChatML wraps turns in `<|im_start|>` and `<|im_end|>`:\n```\n<|im_start|>user\nHi<|im_end|>\n```\nThat is all.",
        &rep);
    EXPECT(
        strcmp(
            s,
            "ChatML wraps turns in `<|im_start|>` and `<|im_end|>`:\n```\n<|im_start|>user\nHi<|im_end|>\n```\nThat is all.") ==
                0 &&
            rep == 0,
        "markers in code are content: '%s'", s);
    free(s);
    s = repaired("Example:\n```python\nprint(1)\n<|im_end|>", &rep);
    EXPECT(strcmp(s, "Example:\n```python\nprint(1)\n```") == 0 && (rep & REPAIR_MARKERS) && (rep & REPAIR_FENCE),
           "a trailing marker in an unclosed block: '%s'", s);
    free(s);
    s = repaired("Pick a role:\nuser\nThat is all.", &rep);
    EXPECT(strcmp(s, "Pick a role:\nuser\nThat is all.") == 0 && rep == 0, "a role line without a marker stays: '%s'",
           s);
    free(s);
    TextFilter f;
    text_filter_defaults(&f);
    EXPECT(reason_of(&f, "<|im_start|>assistant\n<|im_end|>") == CLEAN_UNREPAIRABLE, "markers only");
    EXPECT(reason_of(&f, " \n\t\r\n ") == CLEAN_UNREPAIRABLE, "whitespace only");
    EXPECT(reason_of(&f, "```\n\n```") == CLEAN_UNREPAIRABLE, "an empty code block only");
}

static void test_repair_cut_off(void) {
    int rep;
    char *s = repaired("First sentence is here. Second sentence is also here. Third is cut o", &rep);
    EXPECT(strcmp(s, "First sentence is here. Second sentence is also here.") == 0 && (rep & REPAIR_CUT_OFF),
           "cut: '%s'", s);
    free(s);
    s = repaired("He said \"stop it.\" Then he left the", &rep);
    EXPECT(strcmp(s, "He said \"stop it.\"") == 0, "closing quote kept: '%s'", s);
    free(s);
    const char *long_tail = "Short. and then a very long tail without any punctuation at all going on and on";
    s = repaired(long_tail, &rep);
    EXPECT(strcmp(s, long_tail) == 0 && !(rep & REPAIR_CUT_OFF), "cut would lose over half: '%s'", s);
    free(s);
    s = repaired("A complete answer (with a note)", &rep);
    EXPECT(rep == 0, "ends with a closer: repairs %d", rep);
    free(s);
    s = repaired("An introduction that is long enough to matter here. Steps:\n1. Install it\n2. Run the", &rep);
    EXPECT(strcmp(s, "An introduction that is long enough to matter here.") == 0,
           "list numbers are not sentence ends: '%s'", s);
    free(s);
    s = repaired("Intro text is here.\n```\nint x = 1. y\n```\nthen a tail without an end but short", &rep);
    EXPECT(strcmp(s, "Intro text is here.\n```\nint x = 1. y\n```") == 0, "cut back to a closed code block: '%s'", s);
    free(s);
}

// ---- filters ----

static void test_filters(void) {
    TextFilter f;
    text_filter_defaults(&f);
    EXPECT(reason_of(&f, "A perfectly ordinary sentence about models.") == CLEAN_KEEP, "ordinary text kept");
    EXPECT(reason_of(&f, "Too short.") == CLEAN_TOO_SHORT, "too short");
    f.max_chars = 30;
    EXPECT(reason_of(&f, "This sentence is a good deal longer than thirty characters.") == CLEAN_TOO_LONG, "too long");
    text_filter_defaults(&f);
    f.min_words = 8;
    EXPECT(reason_of(&f, "Only five words are here.") == CLEAN_TOO_FEW_WORDS, "too few words");
    text_filter_defaults(&f);
    TextStats st;
    const char *rep = "a b c a b c a b c";
    text_stats(rep, strlen(rep), &st);
    EXPECT(st.words == 9 && st.trigrams == 7 && st.repeated_trigrams == 4,
           "3-grams: %lld words %lld trigrams %lld repeated", (long long)st.words, (long long)st.trigrams,
           (long long)st.repeated_trigrams);
    EXPECT(reason_of(&f, "the same words the same words the same words the same words.") == CLEAN_REPETITIVE,
           "repetitive");
    EXPECT(reason_of(&f, "Words, and Words AND words: case and punctuation do not hide repeats? Words and words.") ==
               CLEAN_KEEP,
           "a little repetition is fine");
    char np[256] = "";
    for (int i = 0; i < 8; i++) strcat(np, "\xe2\x80\x8b"); // zero-width spaces (Cf)
    strcat(np, "visible text of fifty characters or so here.");
    text_stats(np, strlen(np), &st);
    EXPECT(st.non_printable == 8, "non-printable count %lld", (long long)st.non_printable);
    EXPECT(reason_of(&f, np) == CLEAN_NON_PRINTABLE, "non-printable share above 0.1");
    f.max_non_printable = 0.5f;
    EXPECT(reason_of(&f, np) == CLEAN_KEEP, "non-printable share below --max-non-printable");
}

// Random texts built from troublesome pieces: cleaning never crashes, gives valid UTF-8,
// and cleaning the result again changes nothing (idempotent).
static void test_clean_is_idempotent(void) {
    static const char *const pieces[] = {"word",
                                         "Words",
                                         " ",
                                         "  ",
                                         "\t",
                                         "\n",
                                         "\n\n\n",
                                         "\r\n",
                                         "\r",
                                         ".",
                                         "!",
                                         "?",
                                         ",",
                                         "\"",
                                         ")",
                                         "*",
                                         "```",
                                         "```python\n",
                                         "`",
                                         "<|im_start|>",
                                         "<|im_end|>",
                                         "assistant",
                                         "\nuser\n",
                                         "<|endoftext|>",
                                         "<|start_header_id|>",
                                         "<|end_header_id|>",
                                         "### Assistant: ",
                                         "- ",
                                         "1. ",
                                         "e\xcc\x81",
                                         "\xc3\xa9",
                                         "\xe2\x80\x8b",
                                         "\x01",
                                         "\x7f",
                                         "\xc2\x85",
                                         "\xef\xbb\xbf",
                                         "\xe2\x80\xa6",
                                         "\xe3\x80\x82",
                                         "x"};
    const int n_pieces = (int)(sizeof pieces / sizeof pieces[0]);
    TextFilter f;
    text_filter_defaults(&f);
    Rng rng;
    rng_seed(&rng, 3);
    int bad = 0;
    char text[4096];
    for (int t = 0; t < 3000 && bad < 5; t++) {
        size_t n = 0;
        int k = 1 + (int)(rng_u64(&rng) % 60);
        for (int i = 0; i < k; i++) {
            const char *p = pieces[rng_u64(&rng) % (uint64_t)n_pieces];
            memcpy(text + n, p, strlen(p));
            n += strlen(p);
        }
        CleanResult a, b;
        text_clean(&f, text, n, &a);
        if (a.reason == CLEAN_INVALID_UTF8 || a.reason == CLEAN_UNREPAIRABLE) {
            clean_result_free(&a);
            continue;
        }
        text_clean(&f, a.text, a.len, &b);
        int same = b.text && b.len == a.len && memcmp(a.text, b.text, a.len) == 0;
        if (!same || b.repairs || b.normalised) {
            bad++;
            EXPECT(0, "not idempotent: '%.*s' -> '%s' -> '%s'", (int)n, text, a.text, b.text ? b.text : "(null)");
        }
        clean_result_free(&a);
        clean_result_free(&b);
    }
}

// ---- MinHash and LSH ----

// The estimate is a share of 128 coin flips with success probability J, so its standard
// error is sqrt(J(1-J)/128), up to 0.044 at J = 0.5: "within 0.1" holds for ~98% of pairs
// near J = 0.5 and nearly all others. The test asks that of 95% of 100 random pairs, and
// that no pair is off by more than 4 standard errors (a biased hash family would fail).
static void test_minhash_estimate(void) {
    MinHash mh;
    minhash_init(&mh, 128, 42);
    Rng rng;
    rng_seed(&rng, 7);
    double worst = 0, total = 0;
    int within = 0, outliers = 0;
    const int pairs = 100;
    for (int p = 0; p < pairs; p++) {
        // b shares a growing share of a's text: a prefix of a, then fresh words
        int n = 150 + (int)(rng_u64(&rng) % 150);
        char *a = random_text(&rng, n, 5000), *fresh = random_text(&rng, n, 5000);
        size_t keep = (size_t)(strlen(a) * ((p + 0.5) / pairs));
        while (keep > 0 && a[keep] != ' ') keep--;
        char *b = xmalloc(strlen(a) + strlen(fresh) + 2);
        memcpy(b, a, keep);
        sprintf(b + keep, " %s", fresh + (keep < strlen(fresh) ? keep : 0));
        double exact = exact_jaccard(a, b), est = signature_similarity(&mh, a, b), err = fabs(est - exact);
        double se = sqrt(exact * (1 - exact) / 128);
        if (err > worst) worst = err;
        total += err;
        within += err <= 0.1;
        if (err > 4 * se + 1e-9) {
            outliers++;
            EXPECT(0, "pair %d: MinHash %.3f vs exact Jaccard %.3f: off by %.1f standard errors", p, est, exact,
                   err / se);
        }
        free(a), free(b), free(fresh);
    }
    EXPECT(within >= 95, "only %d of %d estimates within 0.1 of the exact Jaccard", within, pairs);
    EXPECT(total / pairs < 0.04, "mean |error| %.3f", total / pairs);
    printf("    MinHash(128) vs exact shingle Jaccard, %d pairs: %d within 0.1, mean |error| %.3f, worst %.3f\n", pairs,
           within, total / pairs, worst);
    minhash_free(&mh);
}

static void test_lsh_params(void) {
    int b, r;
    lsh_params(0.8, 128, &b, &r);
    EXPECT(b * r == 128, "b %d x r %d", b, r);
    double half = pow(1.0 - pow(0.5, 1.0 / b), 1.0 / r); // where the S-curve crosses 0.5
    EXPECT(half > 0.7 && half < 0.9, "S-curve (b %d, r %d) passes 0.5 at %.3f", b, r, half);
    EXPECT(fabs(lsh_probability(half, b, r) - 0.5) < 1e-9, "lsh_probability at the midpoint %.6f",
           lsh_probability(half, b, r));
    EXPECT(b == 8 && r == 16, "datasketch's optimum for 0.8/128 is 8 x 16, got %d x %d", b, r);
    printf("    threshold 0.8, 128 permutations: %d bands x %d rows, S-curve 0.5 at %.3f\n", b, r, half);
    lsh_params(0.5, 256, &b, &r);
    EXPECT(b * r == 256, "256 perms: %d x %d", b, r);
    half = pow(1.0 - pow(0.5, 1.0 / b), 1.0 / r);
    EXPECT(half > 0.35 && half < 0.65, "threshold 0.5: S-curve midpoint %.3f", half);
}

// ---- the pipeline ----

// A paragraph of n words with exact shingle Jaccard about 0.9 to `a` (one word changed),
// and one with about 0.5 (the last third replaced).
static void test_near_duplicates(void) {
    Rng rng;
    rng_seed(&rng, 11);
    enum { PAIRS = 20 };
    char *texts[4 * PAIRS];
    double j90 = 0, j50 = 0;
    for (int p = 0; p < PAIRS; p++) {
        char *a = random_text(&rng, 100, 100000);
        char *b = strdup(a); // one word in the middle changed
        char *mid = strchr(b + strlen(b) / 2, ' ');
        mid[1] = 'x';
        char *c = random_text(&rng, 100, 100000), *tail = random_text(&rng, 40, 100000);
        char *d = xmalloc(strlen(c) + strlen(tail) + 2);
        size_t keep = strlen(c) * 2 / 3;
        while (c[keep] != ' ') keep--;
        memcpy(d, c, keep);
        sprintf(d + keep, " %s", tail);
        j90 += exact_jaccard(a, b) / PAIRS;
        j50 += exact_jaccard(c, d) / PAIRS;
        texts[4 * p] = a, texts[4 * p + 1] = b, texts[4 * p + 2] = c, texts[4 * p + 3] = d;
        free(tail);
    }
    EXPECT(j90 > 0.85 && j90 < 0.95, "mean Jaccard of the one-word-changed pairs %.3f", j90);
    EXPECT(j50 > 0.4 && j50 < 0.6, "mean Jaccard of the half-shared pairs %.3f", j50);
    // one long paragraph with one word changed
    const char *para =
        "strap is a trainer for small Llama models written in C. It reads records from compressed JSON lines, "
        "cleans them, packs them into token shards and trains a model on one CPU, one GPU or many GPUs. "
        "The self-rewarding loop lets a model write prompts and answers, judge the answers itself, turn the "
        "judgements into preference pairs and learn from them with DPO, one iteration after another. Every "
        "stage reads files and writes files, so any stage can be inspected with standard tools, re-run on its "
        "own, or replaced by something better. Checkpoints are written to a temporary name and renamed, so a "
        "crash never leaves half a checkpoint behind, and training resumes exactly where it stopped.";
    char *changed = strdup(para);
    char *judge = strstr(changed, "judge the");
    memcpy(judge, "grade", 5);
    double j_para = exact_jaccard(para, changed);
    EXPECT(j_para > 0.88 && j_para < 0.93, "paragraph pair Jaccard %.3f", j_para);
    free(texts[0]), free(texts[1]);
    texts[0] = strdup(para), texts[1] = changed;
    char *in = tmp_path("near.jsonl"), *out = tmp_path("near_out.jsonl"), *dropped = tmp_path("near_dropped.jsonl");
    write_texts(in, texts, 4 * PAIRS);
    CleanOptions o = quiet_options(in, out);
    o.dropped = dropped;
    CleanStats st;
    clean_corpus(&o, &st);
    json_t *kept = read_records(out), *gone = read_records(dropped);
    int removed90 = 0, removed50 = 0, first_removed = 0, wrong_dup = 0;
    size_t i;
    json_t *rec;
    json_array_foreach(gone, i, rec) {
        int id = (int)json_integer_value(json_object_get(rec, "id"));
        const char *why = json_string_value(json_object_get(rec, "drop_reason"));
        EXPECT(why && strcmp(why, "near_duplicate") == 0, "record %d dropped as %s", id, why);
        if (id % 4 == 1) removed90++;
        if (id % 4 == 3) removed50++;
        if (id % 2 == 0) first_removed++;
        wrong_dup += json_integer_value(json_object_get(rec, "duplicate_of")) != id - 1;
    }
    EXPECT(json_integer_value(json_object_get(json_array_get(gone, 0), "id")) == 1,
           "the changed paragraph (J %.2f) was kept", j_para);
    EXPECT(removed50 == 0, "%d of %d pairs with Jaccard ~0.5 removed", removed50, PAIRS);
    EXPECT(first_removed == 0 && wrong_dup == 0, "the first of a pair survives (%d) and is named (%d)", first_removed,
           wrong_dup);
    // LSH finds a pair at J=0.9 with probability 1-(1-0.9^16)^8 = 0.81
    EXPECT(removed90 >= 13, "only %d of %d pairs with Jaccard ~0.9 removed", removed90, PAIRS);
    EXPECT(json_array_size(kept) + json_array_size(gone) == 4 * PAIRS, "kept + dropped = input");
    EXPECT(st.removed[CLEAN_NEAR_DUPLICATE] == removed90 && st.clusters == removed90,
           "report: %lld near, %lld clusters", (long long)st.removed[CLEAN_NEAR_DUPLICATE], (long long)st.clusters);
    printf("    paragraph with one word changed (J %.3f) removed; random pairs with one word changed (mean J %.2f): "
           "%d/%d removed; half shared (mean J %.2f): %d/%d removed\n",
           j_para, j90, removed90, PAIRS, j50, removed50, PAIRS);
    json_decref(kept), json_decref(gone);
    clean_stats_free(&st);
    for (int k = 0; k < 4 * PAIRS; k++) free(texts[k]);
    free(in), free(out), free(dropped);
}

static void test_exact_duplicates_and_fields(void) {
    char *in = tmp_path("exact.jsonl"), *out = tmp_path("exact_out.jsonl.zst"),
         *dropped = tmp_path("exact_dropped.jsonl");
    char *report = tmp_path("exact_report.json");
    const char *lines =
        "{\"id\": 1, \"text\": \"The model learns from its own judgements.\", \"score\": 0.85, \"meta\": {\"k\": [1, \"}\"]}}\n"
        "\n"
        "{\"id\": 2, \"text\": \"The model   learns from its own judgements.  \"}\n"
        "{\"id\": 3, \"text\": \"Another record that stays in the output.\", \"big\": 12345678901234}\n"
        "{\"id\": 4, \"text\": \"The model learns from its own judgements.\"}\n"
        "{\"id\": 5, \"text\": \"raw \xff byte: invalid UTF-8 in this record.\"}\n"
        "{\"id\": 6, \"text\": \"an escaped lone surrogate \\ud800 here, also invalid.\"}\n"
        "{\"id\": 7, \"text\": \"tiny\", \"drop_reason\": \"mine\"}\n";
    write_file_atomic(in, lines, strlen(lines));
    CleanOptions o = quiet_options(in, out);
    o.dropped = dropped, o.report = report;
    CleanStats st;
    clean_corpus(&o, &st);
    EXPECT(st.records_in == 7 && st.records_out == 2, "%lld in, %lld out", (long long)st.records_in,
           (long long)st.records_out);
    EXPECT(st.removed[CLEAN_EXACT_DUPLICATE] == 2 && st.removed[CLEAN_INVALID_UTF8] == 2 &&
               st.removed[CLEAN_TOO_SHORT] == 1,
           "reasons: exact %lld, utf8 %lld, short %lld", (long long)st.removed[CLEAN_EXACT_DUPLICATE],
           (long long)st.removed[CLEAN_INVALID_UTF8], (long long)st.removed[CLEAN_TOO_SHORT]);
    // the kept lines: every other field byte for byte
    JsonlReader *r = jsonl_open(out);
    json_t *obj;
    size_t n;
    EXPECT(jsonl_next(r, &obj), "first kept record");
    const char *raw = jsonl_raw(r, &n);
    EXPECT(
        strcmp(
            raw,
            "{\"id\": 1, \"text\": \"The model learns from its own judgements.\", \"score\": 0.85, \"meta\": {\"k\": [1, \"}\"]}}") ==
            0,
        "fields kept as written: %s", raw);
    json_decref(obj);
    EXPECT(jsonl_next(r, &obj), "second kept record");
    raw = jsonl_raw(r, &n);
    EXPECT(strstr(raw, "\"big\": 12345678901234") != NULL, "integer kept: %s", raw);
    json_decref(obj);
    EXPECT(!jsonl_next(r, &obj), "two kept records");
    jsonl_close(r);
    json_t *gone = read_records(dropped);
    EXPECT(json_array_size(gone) == 5, "%zu dropped records", json_array_size(gone));
    const char *why[5] = {"exact_duplicate", "exact_duplicate", "invalid_utf8", "invalid_utf8", "too_short"};
    int dup_of[5] = {0, 0, -1, -1, -1};
    for (size_t k = 0; k < json_array_size(gone) && k < 5; k++) {
        json_t *rec = json_array_get(gone, k);
        const char *reason = json_string_value(json_object_get(rec, "drop_reason"));
        EXPECT(reason && strcmp(reason, why[k]) == 0, "dropped %zu: %s, expected %s", k, reason, why[k]);
        json_t *d = json_object_get(rec, "duplicate_of");
        EXPECT(dup_of[k] < 0 ? d == NULL : json_integer_value(d) == dup_of[k], "dropped %zu: duplicate_of", k);
    }
    const char *t = json_string_value(json_object_get(json_array_get(gone, 2), "text"));
    EXPECT(t && strstr(t, "\xef\xbf\xbd") != NULL, "invalid bytes shown as U+FFFD: %s", t);
    json_decref(gone);
    json_error_t err;
    json_t *rep = json_load_file(report, 0, &err);
    EXPECT(rep && json_integer_value(json_object_get(rep, "records_out")) == 2, "report records_out");
    json_t *ex = json_object_get(json_object_get(rep, "examples"), "exact_duplicate");
    EXPECT(json_array_size(ex) == 2 && json_integer_value(json_object_get(json_array_get(ex, 0), "duplicate_of")) == 0,
           "exact duplicate examples");
    json_decref(rep);
    clean_stats_free(&st);
    free(in), free(out), free(dropped), free(report);
}

static void test_determinism(void) {
    Rng rng;
    rng_seed(&rng, 5);
    enum { N = 1500 };
    char **texts = xmalloc(N * sizeof *texts);
    for (int i = 0; i < N; i++) {
        if (i >= 10 && rng_u64(&rng) % 5 == 0) { // a near or exact copy of an earlier one
            const char *src = texts[rng_u64(&rng) % (uint64_t)i];
            texts[i] = strdup(src);
            if (i % 2) texts[i][strlen(src) / 2] = 'q';
        } else {
            texts[i] = random_text(&rng, 20 + (int)(rng_u64(&rng) % 200), 3000);
        }
    }
    char *in = tmp_path("det.jsonl.zst");
    write_texts(in, texts, N);
    const char *names[2][2] = {{"det1.jsonl.zst", "det1_dropped.jsonl.zst"},
                               {"det2.jsonl.zst", "det2_dropped.jsonl.zst"}};
    char *files[2][2];
    CleanStats st[2];
    for (int run = 0; run < 2; run++) {
#ifdef _OPENMP
        omp_set_num_threads(run == 0 ? 1 : 3);
#endif
        files[run][0] = tmp_path(names[run][0]);
        files[run][1] = tmp_path(names[run][1]);
        CleanOptions o = quiet_options(in, files[run][0]);
        o.dropped = files[run][1];
        clean_corpus(&o, &st[run]);
    }
    for (int k = 0; k < 2; k++) {
        size_t na, nb;
        char *a = read_file(files[0][k], &na), *b = read_file(files[1][k], &nb);
        EXPECT(na == nb && memcmp(a, b, na) == 0, "%s and %s differ (1 vs 3 threads)", files[0][k], files[1][k]);
        free(a), free(b);
    }
    for (int run = 0; run < 2; run++) { // the file names differ, nothing else may
        json_object_del(st[run].report, "output");
        json_object_del(st[run].report, "dropped");
    }
    char *ra = json_dumps(st[0].report, JSON_SORT_KEYS), *rb = json_dumps(st[1].report, JSON_SORT_KEYS);
    EXPECT(strcmp(ra, rb) == 0, "reports differ:\n%s\n%s", ra, rb);
    EXPECT(st[0].removed[CLEAN_NEAR_DUPLICATE] > 0 && st[0].removed[CLEAN_EXACT_DUPLICATE] > 0,
           "the corpus has duplicates");
    EXPECT(st[0].records_in == N && st[0].records_out + st[0].removed_total == N, "counts add up");
    free(ra), free(rb);
    for (int run = 0; run < 2; run++) {
        clean_stats_free(&st[run]);
        free(files[run][0]), free(files[run][1]);
    }
#ifdef _OPENMP
    omp_set_num_threads(omp_get_num_procs());
#endif
    for (int i = 0; i < N; i++) free(texts[i]);
    free(texts);
    free(in);
}

// ---- reader and writer ----

static void test_writer_and_reader(void) {
    const char *names[2] = {"rw.jsonl", "rw.jsonl.zst"};
    for (int k = 0; k < 2; k++) {
        char *path = tmp_path(names[k]);
        RecordsWriter *w = records_writer_open(path);
        json_t *o = json_pack("{s:s, s:i}", "text", "h\xc3\xa9llo\nworld", "n", 3);
        records_writer_write(w, o);
        records_writer_write_line(w, "{\"text\": \"raw\"}", 15);
        EXPECT(!path_exists(path), "%s exists before close", path);
        records_writer_close(w);
        EXPECT(path_exists(path), "%s missing after close", path);
        JsonlReader *r = jsonl_open(path);
        json_t *a, *b, *c;
        size_t n;
        EXPECT(jsonl_next(r, &a) && json_equal(a, o), "%s: first record round-trips", path);
        const char *raw = jsonl_raw(r, &n);
        EXPECT(strcmp(raw, "{\"text\":\"h\xc3\xa9llo\\nworld\",\"n\":3}") == 0, "compact, UTF-8 readable: %s", raw);
        EXPECT(jsonl_next(r, &b) && jsonl_line(r) == 2, "second record at line 2");
        EXPECT(!jsonl_next(r, &c), "two records");
        jsonl_close(r);
        json_decref(a), json_decref(b), json_decref(o);
        if (k == 1) { // a zstd frame with a content checksum
            size_t size;
            char *bytes = read_file(path, &size);
            // magic number, then the frame header descriptor: bit 2 is Content_Checksum_flag
            EXPECT(size > 5 && (unsigned char)bytes[0] == 0x28 && ((unsigned char)bytes[4] >> 2 & 1) == 1,
                   "zstd frame has a checksum");
            free(bytes);
        }
        free(path);
    }
    char *aborted = tmp_path("aborted.jsonl.zst");
    RecordsWriter *w = records_writer_open(aborted);
    records_writer_write_line(w, "{}", 2);
    records_writer_abort(w);
    EXPECT(!path_exists(aborted), "aborted file exists");
    free(aborted);
    // jsonl_field_span
    const char *line =
        "{\"a\": {\"text\": 1, \"s\": \"}\\\"\"}, \"text\" : \"x\\\"y\" , \"b\": [1, {\"text\": 2}], \"text\": \"last\"}";
    size_t s, e;
    EXPECT(jsonl_field_span(line, strlen(line), "text", &s, &e) && strncmp(line + s, "\"last\"", e - s) == 0,
           "the last top-level key wins: %.*s", (int)(e - s), line + s);
    EXPECT(jsonl_field_span(line, strlen(line), "b", &s, &e) && strncmp(line + s, "[1, {\"text\": 2}]", e - s) == 0 &&
               e - s == 16,
           "array value: %.*s", (int)(e - s), line + s);
    EXPECT(!jsonl_field_span(line, strlen(line), "s", &s, &e), "nested keys are not top-level");
}

// ---- bad input ----

static void clean_file(const char *path) {
    char *out = tmp_path("bad_out.jsonl.zst"), *dropped = tmp_path("bad_dropped.jsonl");
    CleanOptions o = quiet_options(path, out);
    o.dropped = dropped;
    CleanStats st;
    clean_corpus(&o, &st);
}

static void writer_then_exit(const char *path) {
    RecordsWriter *w = records_writer_open(path);
    records_writer_write_line(w, "{}", 2);
    fail("stopping before close");
}

static void test_bad_input(void) {
    char *p = tmp_path("bad.jsonl");
    const char *broken = "{\"text\": \"a fine first record of text.\"}\n{\"text\": \"unterminated}\n";
    write_file_atomic(p, broken, strlen(broken));
    expect_failure(clean_file, p, "bad.jsonl:2: invalid JSON", "invalid JSON line");
    const char *missing = "{\"text\": \"a fine first record of text.\"}\n\n{\"body\": \"no text\"}\n";
    write_file_atomic(p, missing, strlen(missing));
    expect_failure(clean_file, p, "bad.jsonl:3: field 'text' missing", "missing field");
    const char *array = "[1, 2]\n";
    write_file_atomic(p, array, strlen(array));
    expect_failure(clean_file, p, "bad.jsonl:1: expected a JSON object", "not an object");
    char *out = tmp_path("bad_out.jsonl.zst"), *dropped = tmp_path("bad_dropped.jsonl");
    EXPECT(!path_exists(out) && !path_exists(dropped), "outputs written despite bad input");
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q '\\.tmp\\.'", tmpdir);
    EXPECT(system(cmd) != 0, "temp files left in %s", tmpdir);
    char *killed = tmp_path("killed.jsonl");
    expect_failure(writer_then_exit, killed, "stopping before close", "exit before close");
    EXPECT(!path_exists(killed) && system(cmd) != 0, "an exit before close leaves a file or a temp behind");
    char *z = tmp_path("trunc.jsonl.zst");
    char big[6000];
    size_t at = 0;
    for (int i = 0; i < 100; i++) at += (size_t)sprintf(big + at, "{\"text\": \"line %d abcdefghijklmn\"}\n", i);
    size_t cap = ZSTD_compressBound(strlen(big));
    char *comp = xmalloc(cap);
    size_t csize = ZSTD_compress(comp, cap, big, strlen(big), 3);
    write_file_atomic(z, comp, csize / 2);
    expect_failure(clean_file, z, "truncated zstd stream", "truncated .zst");
    free(comp), free(z), free(killed), free(out), free(dropped), free(p);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/strap_clean_XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL, "mkdtemp");
    RUN(test_normalise_unicode);
    RUN(test_normalise_controls_and_newlines);
    RUN(test_normalise_whitespace);
    RUN(test_repair_fence);
    RUN(test_repair_markers);
    RUN(test_repair_cut_off);
    RUN(test_filters);
    RUN(test_clean_is_idempotent);
    RUN(test_minhash_estimate);
    RUN(test_lsh_params);
    RUN(test_near_duplicates);
    RUN(test_exact_duplicates_and_fields);
    RUN(test_determinism);
    RUN(test_writer_and_reader);
    RUN(test_bad_input);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary();
}
