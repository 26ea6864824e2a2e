// bpe_train.c: see bpe_train.h.
#include "bpe_train.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/check.h"
#include "../base/hash64.h"
#include "../base/io.h"
#include "../base/progress.h"
#include "records.h"
#include "tokenizer.h"

#define LLAMA3_PATTERN                                                                                                     \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|" \
    "\\s+(?!\\S)|\\s+"

// ---- unique pieces and their counts ----

typedef struct {
    char *key;
    size_t len;
    long long count;
} Piece;

typedef struct {
    Piece *slots;
    size_t cap, used;
} PieceMap;

static void piecemap_add(PieceMap *m, const char *s, size_t n);
static void piecemap_grow(PieceMap *m) {
    PieceMap bigger = {xcalloc(m->cap * 2, sizeof(Piece)), m->cap * 2, 0};
    for (size_t i = 0; i < m->cap; i++) {
        Piece *p = &m->slots[i];
        if (!p->key) continue;
        size_t j = fnv1a64(p->key, p->len) & (bigger.cap - 1);
        while (bigger.slots[j].key) j = (j + 1) & (bigger.cap - 1);
        bigger.slots[j] = *p;
        bigger.used++;
    }
    free(m->slots);
    *m = bigger;
}
static void piecemap_add(PieceMap *m, const char *s, size_t n) {
    if (2 * (m->used + 1) > m->cap) piecemap_grow(m);
    size_t i = fnv1a64(s, n) & (m->cap - 1);
    for (;; i = (i + 1) & (m->cap - 1)) {
        Piece *p = &m->slots[i];
        if (!p->key) {
            p->key = xmalloc(n + 1);
            memcpy(p->key, s, n);
            p->key[n] = 0;
            p->len = n;
            p->count = 1;
            m->used++;
            return;
        }
        if (p->len == n && memcmp(p->key, s, n) == 0) {
            p->count++;
            return;
        }
    }
}
static void count_piece(void *ctx, const char *piece, size_t n) { piecemap_add(ctx, piece, n); }

// ---- pairs: counts and the words they occur in ----

typedef struct {
    uint64_t key; // (left << 32 | right) + 1; 0 = empty
    long long count;
    int32_t *words;
    int n_words, cap_words;
} Pair;

typedef struct {
    Pair *slots;
    size_t cap, used;
} PairTable;

static uint64_t pair_key(int32_t a, int32_t b) { return (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1; }

static Pair *pair_get(PairTable *t, uint64_t key) {
    if (2 * (t->used + 1) > t->cap) { // grow
        PairTable bigger = {xcalloc(t->cap * 2, sizeof(Pair)), t->cap * 2, 0};
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->slots[i].key) continue;
            size_t j = hash_u64(t->slots[i].key) & (bigger.cap - 1);
            while (bigger.slots[j].key) j = (j + 1) & (bigger.cap - 1);
            bigger.slots[j] = t->slots[i];
            bigger.used++;
        }
        free(t->slots);
        *t = bigger;
    }
    size_t i = hash_u64(key) & (t->cap - 1);
    while (t->slots[i].key && t->slots[i].key != key) i = (i + 1) & (t->cap - 1);
    if (!t->slots[i].key) {
        t->slots[i].key = key;
        t->used++;
    }
    return &t->slots[i];
}

static void pair_add_word(Pair *p, int32_t w) {
    if (p->n_words && p->words[p->n_words - 1] == w) return;
    if (p->n_words == p->cap_words) {
        p->cap_words = p->cap_words ? 2 * p->cap_words : 4;
        p->words = xrealloc(p->words, (size_t)p->cap_words * sizeof(int32_t));
        CHECK(p->words != NULL, "out of memory");
    }
    p->words[p->n_words++] = w;
}

// max-heap of (count, key) with lazy deletion; ties: the smaller key first
typedef struct {
    long long count;
    uint64_t key;
} HeapItem;
typedef struct {
    HeapItem *items;
    size_t n, cap;
} Heap;

static int heap_before(HeapItem a, HeapItem b) { return a.count > b.count || (a.count == b.count && a.key < b.key); }
static void heap_push(Heap *h, long long count, uint64_t key) {
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 1024;
        h->items = xrealloc(h->items, h->cap * sizeof(HeapItem));
        CHECK(h->items != NULL, "out of memory");
    }
    size_t i = h->n++;
    h->items[i] = (HeapItem){count, key};
    while (i > 0 && heap_before(h->items[i], h->items[(i - 1) / 2])) {
        HeapItem tmp = h->items[i];
        h->items[i] = h->items[(i - 1) / 2];
        h->items[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
}
static HeapItem heap_pop(Heap *h) {
    HeapItem top = h->items[0];
    h->items[0] = h->items[--h->n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < h->n && heap_before(h->items[l], h->items[best])) best = l;
        if (r < h->n && heap_before(h->items[r], h->items[best])) best = r;
        if (best == i) break;
        HeapItem tmp = h->items[i];
        h->items[i] = h->items[best];
        h->items[best] = tmp;
        i = best;
    }
    return top;
}

// ---- tokenizer.json ----

static json_t *pre_tokenizer_json(const char *pattern) {
    if (strcmp(pattern, "gpt2") == 0)
        return json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1,
                         "use_regex", 1);
    return json_pack("{s:s, s:[{s:s, s:{s:s}, s:s, s:b}, {s:s, s:b, s:b, s:b}]}", "type", "Sequence", "pretokenizers",
                     "type", "Split", "pattern", "Regex", LLAMA3_PATTERN, "behavior", "Isolated", "invert", 0, "type",
                     "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1, "use_regex", 0);
}

static char *tokenizer_json_text(const BpeTrainOptions *o, char **tokens, int n_tokens, const int32_t *merges,
                                 int n_merges) {
    json_t *added = json_array();
    for (int i = 0; i < o->n_special; i++)
        json_array_append_new(added,
                              json_pack("{s:i, s:s, s:b, s:b, s:b, s:b, s:b}", "id", i, "content", o->special[i],
                                        "single_word", 0, "lstrip", 0, "rstrip", 0, "normalized", 0, "special", 1));
    json_t *vocab = json_object();
    for (int i = 0; i < n_tokens; i++) json_object_set_new(vocab, tokens[i], json_integer(i));
    json_t *merge_list = json_array();
    for (int i = 0; i < n_merges; i++) {
        size_t la = strlen(tokens[merges[2 * i]]), lb = strlen(tokens[merges[2 * i + 1]]);
        char *s = xmalloc(la + lb + 2);
        snprintf(s, la + lb + 2, "%s %s", tokens[merges[2 * i]], tokens[merges[2 * i + 1]]);
        json_array_append_new(merge_list, json_string(s));
        free(s);
    }
    json_t *model = json_pack("{s:s, s:n, s:n, s:n, s:n, s:b, s:b, s:b, s:o, s:o}", "type", "BPE", "dropout",
                              "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0,
                              "byte_fallback", 0, "ignore_merges", 0, "vocab", vocab, "merges", merge_list);
    json_t *root = json_pack("{s:s, s:n, s:o, s:n, s:o, s:n, s:{s:s, s:b, s:b, s:b}, s:o}", "version", "1.0",
                             "truncation", "added_tokens", added, "normalizer", "pre_tokenizer",
                             pre_tokenizer_json(o->pattern), "post_processor", "decoder", "type", "ByteLevel",
                             "add_prefix_space", 1, "trim_offsets", 1, "use_regex", 1, "model", model);
    CHECK(root != NULL, "json_pack failed");
    json_object_set_new(root, "padding", json_null());
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(root);
    return text;
}

// ---- training ----

// The special tokens and GPT-2's byte alphabet into tokens[0, S + 256), and a tokenizer
// with them and no merges: the byte characters and the pre-tokenizer (the same code that
// encodes later).
static Tokenizer *byte_tokenizer(const BpeTrainOptions *o, char **tokens, int S, int first_merge) {
    for (int i = 0; i < S; i++) tokens[i] = strdup(o->special[i]);
    {
        char base_chars[256][3];
        for (int b = 0, n = 0; b < 256; b++) { // GPT-2's byte -> printable character map
            int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
            unsigned cp = printable ? (unsigned)b : 256u + (unsigned)n++;
            if (cp < 0x80)
                base_chars[b][0] = (char)cp, base_chars[b][1] = 0;
            else
                base_chars[b][0] = (char)(0xC0 | (cp >> 6)), base_chars[b][1] = (char)(0x80 | (cp & 0x3F)),
                base_chars[b][2] = 0;
            tokens[S + b] = strdup(base_chars[b]);
        }
    }
    char *base_text = tokenizer_json_text(o, tokens, first_merge, NULL, 0);
    char base_path[512];
    snprintf(base_path, sizeof base_path, "%s.base.%d", o->out, (int)getpid());
    write_file_atomic(base_path, base_text, strlen(base_text));
    free(base_text);
    Tokenizer *base = tokenizer_load(base_path);
    unlink(base_path);
    for (int b = 0; b < 256; b++)
        CHECK(strcmp(tokenizer_token_text(base, S + b), tokens[S + b]) == 0, "byte alphabet mismatch at %d", b);

    return base;
}

// Every pre-tokenized piece of the inputs with its count.
static PieceMap count_pieces(const BpeTrainOptions *o, Tokenizer *base, BpeTrainStats *st) {
    PieceMap pieces = {xcalloc(1 << 16, sizeof(Piece)), 1 << 16, 0};
    Progress prog;
    progress_start(&prog, "tok train: reading", o->n_inputs);
    for (int f = 0; f < o->n_inputs; f++) {
        RecordReader *r = records_open(o->inputs[f], o->field, 0);
        const char *text;
        size_t len;
        while (records_next(r, &text, &len)) {
            tokenizer_pieces(base, text, len, count_piece, &pieces);
            st->documents++;
            st->bytes += (long long)len;
        }
        records_close(r);
        progress_update(&prog, f + 1, NULL);
    }
    progress_finish(&prog, NULL);
    return pieces;
}

// The pieces (released) as words of byte symbols S + byte, in the hash table's order (which
// depends only on the pieces, so it is deterministic), with their counts.
static void words_from_pieces(PieceMap *pieces, int S, int32_t **word, int *word_len, long long *word_count) {
    size_t w = 0;
    for (size_t i = 0; i < pieces->cap; i++) {
        Piece *p = &pieces->slots[i];
        if (!p->key) continue;
        word[w] = xmalloc((p->len + 1) * sizeof(int32_t));
        for (size_t k = 0; k < p->len; k++) word[w][k] = S + (unsigned char)p->key[k];
        word_len[w] = (int)p->len;
        word_count[w] = p->count;
        free(p->key);
        w++;
    }
    free(pieces->slots);
}

BpeTrainStats bpe_train(const BpeTrainOptions *o) {
    BpeTrainStats st = {0};
    if (strcmp(o->pattern, "gpt2") != 0 && strcmp(o->pattern, "llama3") != 0)
        fail("pre-tokenizer pattern '%s' is unknown (choose gpt2 or llama3)", o->pattern);
    int S = o->n_special, first_merge = S + 256;
    if (o->vocab_size <= first_merge)
        fail("a vocabulary of %d leaves no room for merges: it must exceed 256 bytes + %d special tokens",
             o->vocab_size, S);
    for (int i = 0; i < S; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(o->special[i], o->special[j]) == 0) fail("special token '%s' is given twice", o->special[i]);

    char **tokens = xcalloc((size_t)o->vocab_size, sizeof(char *));
    Tokenizer *base = byte_tokenizer(o, tokens, S, first_merge);

    // 1. count the pre-tokenized pieces
    PieceMap pieces = count_pieces(o, base, &st);
    tokenizer_free(base);
    if (st.documents == 0) fail("no documents in the input");

    // 2. words as symbol sequences
    size_t n_words = pieces.used;
    st.unique_pieces = (long long)n_words;
    int32_t **word = xcalloc(n_words, sizeof(int32_t *));
    int *word_len = xcalloc(n_words, sizeof(int));
    long long *word_count = xcalloc(n_words, sizeof(long long));
    words_from_pieces(&pieces, S, word, word_len, word_count);
    // the order of the hash table depends only on the pieces, so it is deterministic

    PairTable pairs = {xcalloc(1 << 16, sizeof(Pair)), 1 << 16, 0};
    for (size_t i = 0; i < n_words; i++)
        for (int k = 0; k + 1 < word_len[i]; k++) {
            Pair *p = pair_get(&pairs, pair_key(word[i][k], word[i][k + 1]));
            p->count += word_count[i];
            pair_add_word(p, (int32_t)i);
        }
    Heap heap = {0};
    for (size_t i = 0; i < pairs.cap; i++)
        if (pairs.slots[i].key) heap_push(&heap, pairs.slots[i].count, pairs.slots[i].key);

    // 3. merge the most frequent pair until the vocabulary is full
    int n_tokens = first_merge, max_merges = o->vocab_size - first_merge;
    int32_t *merges = xmalloc((size_t)max_merges * 2 * sizeof(int32_t));
    int32_t *scratch = NULL;
    size_t scratch_cap = 0;
    Progress prog;
    progress_start(&prog, "tok train: merges", max_merges);
    while (st.merges < max_merges && heap.n > 0) {
        HeapItem top = heap_pop(&heap);
        Pair *best = pair_get(&pairs, top.key);
        if (best->count != top.count) { // stale entry
            if (best->count > 0) heap_push(&heap, best->count, top.key);
            continue;
        }
        if (best->count < 2) break; // nothing occurs twice any more
        int32_t a = (int32_t)((top.key - 1) >> 32), b = (int32_t)((top.key - 1) & 0xffffffffu), m = n_tokens++;
        size_t la = strlen(tokens[a]), lb = strlen(tokens[b]);
        tokens[m] = xmalloc(la + lb + 1);
        memcpy(tokens[m], tokens[a], la);
        memcpy(tokens[m] + la, tokens[b], lb + 1);
        merges[2 * st.merges] = a, merges[2 * st.merges + 1] = b;
        st.merges++;
        // rewrite every word holding (a, b); the word list is copied since pair_get may move slots
        int n_affected = best->n_words;
        int32_t *affected = xmalloc((size_t)(n_affected + 1) * sizeof(int32_t));
        memcpy(affected, best->words, (size_t)n_affected * sizeof(int32_t));
        for (int j = 0; j < n_affected; j++) {
            int32_t wi = affected[j];
            int32_t *s = word[wi];
            int len = word_len[wi];
            int has = 0;
            for (int k = 0; k + 1 < len && !has; k++) has = s[k] == a && s[k + 1] == b;
            if (!has) continue;
            if ((size_t)len > scratch_cap) {
                scratch_cap = 2 * (size_t)len;
                scratch = xrealloc(scratch, scratch_cap * sizeof(int32_t));
                CHECK(scratch != NULL, "out of memory");
            }
            for (int k = 0; k + 1 < len; k++) pair_get(&pairs, pair_key(s[k], s[k + 1]))->count -= word_count[wi];
            int out = 0;
            for (int k = 0; k < len;) {
                if (k + 1 < len && s[k] == a && s[k + 1] == b)
                    scratch[out++] = m, k += 2;
                else
                    scratch[out++] = s[k++];
            }
            memcpy(s, scratch, (size_t)out * sizeof(int32_t));
            word_len[wi] = out;
            for (int k = 0; k + 1 < out; k++) {
                uint64_t key = pair_key(s[k], s[k + 1]);
                Pair *p = pair_get(&pairs, key);
                p->count += word_count[wi];
                if (s[k] == m || s[k + 1] == m) { // a pair that did not exist in this word before
                    pair_add_word(p, wi);
                    heap_push(&heap, p->count, key);
                }
            }
        }
        free(affected);
        progress_update(&prog, st.merges, NULL);
    }
    prog.total = st.merges;
    progress_finish(&prog, NULL);
    if (st.merges < max_merges)
        fprintf(stderr, "strap: note: stopped at %d merges (vocabulary %d): no pair occurs twice any more\n", st.merges,
                n_tokens);
    st.vocab_size = n_tokens;

    char *text = tokenizer_json_text(o, tokens, n_tokens, merges, st.merges);
    write_file_atomic(o->out, text, strlen(text));
    free(text);
    for (int i = 0; i < n_tokens; i++) free(tokens[i]);
    free(tokens);
    for (size_t i = 0; i < n_words; i++) free(word[i]);
    free(word), free(word_len), free(word_count), free(merges), free(scratch), free(heap.items);
    for (size_t i = 0; i < pairs.cap; i++) free(pairs.slots[i].words);
    free(pairs.slots);
    return st;
}
