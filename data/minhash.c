// minhash.c: see minhash.h.
#include "minhash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/hash64.h"
#include "clean_text.h"

#define SHINGLE_SEED 0x7368696e676c6573ULL // "shingles"
#define BAND_SEED    0x62616e646b657973ULL // "bandkeys"

size_t shingles_from_words(uint64_t *ids, size_t n) {
    if (n == 0) return 0;
    if (n < MINHASH_SHINGLE_WORDS) {
        ids[0] = hash64_words(ids, n, SHINGLE_SEED);
        return 1;
    }
    size_t k = n - MINHASH_SHINGLE_WORDS + 1;
    // in place: shingle i reads words i..i+4, which are not yet overwritten
    for (size_t i = 0; i < k; i++) ids[i] = hash64_words(ids + i, MINHASH_SHINGLE_WORDS, SHINGLE_SEED);
    return k;
}

size_t text_shingles(const char *text, size_t len, uint64_t **shingles) {
    size_t n = text_word_ids(text, len, shingles);
    return shingles_from_words(*shingles, n);
}

void minhash_init(MinHash *m, int perm, uint64_t seed) {
    CHECK(perm >= 1 && perm <= MINHASH_MAX_PERM, "MinHash with %d permutations (1..%d)", perm, MINHASH_MAX_PERM);
    m->perm = perm;
    m->seeds = xmalloc((size_t)perm * sizeof *m->seeds);
    uint64_t s = seed;
    for (int i = 0; i < perm; i++) {
        s += 0x9e3779b97f4a7c15ULL; // splitmix64
        m->seeds[i] = mix64(s);
    }
}

void minhash_free(MinHash *m) {
    free(m->seeds);
    m->seeds = NULL;
}

void minhash_signature(const MinHash *m, const uint64_t *shingles, size_t n, uint64_t *sig) {
    const int perm = m->perm;
    const uint64_t *seeds = m->seeds;
    for (int i = 0; i < perm; i++) sig[i] = UINT64_MAX;
    for (size_t k = 0; k < n; k++) {
        const uint64_t x = shingles[k];
        for (int i = 0; i < perm; i++) { // vectorises: one lane per hash function
            uint64_t v = mix64(x ^ seeds[i]);
            sig[i] = v < sig[i] ? v : sig[i];
        }
    }
}

double minhash_similarity(const uint64_t *a, const uint64_t *b, int perm) {
    int equal = 0;
    for (int i = 0; i < perm; i++) equal += a[i] == b[i];
    return (double)equal / perm;
}

double lsh_probability(double s, int bands, int rows) { return 1.0 - pow(1.0 - pow(s, rows), bands); }

// Simpson's rule with 1000 intervals of f(s) = P(candidate) (or 1 - it) on [a, b].
static double integrate(int bands, int rows, double a, double b, int complement) {
    const int n = 1000;
    double h = (b - a) / n, sum = 0;
    for (int i = 0; i <= n; i++) {
        double p = lsh_probability(a + i * h, bands, rows);
        double f = complement ? 1.0 - p : p;
        sum += f * (i == 0 || i == n ? 1 : i % 2 ? 4 : 2);
    }
    return sum * h / 3;
}

void lsh_params(double threshold, int perm, int *bands, int *rows) {
    double best = INFINITY;
    *bands = perm, *rows = 1;
    for (int b = 1; b <= perm; b++) {
        if (perm % b) continue;
        int r = perm / b;
        double false_pos = integrate(b, r, 0.0, threshold, 0);
        double false_neg = integrate(b, r, threshold, 1.0, 1);
        double err = 0.5 * false_pos + 0.5 * false_neg;
        if (err < best - 1e-12) {
            best = err;
            *bands = b, *rows = r;
        }
    }
}

// ---- the index ----

struct NearDupIndex {
    int perm, bands, rows, need; // need: equal entries for similarity >= threshold
    int64_t n, cap;
    uint64_t *sigs;  // [cap][perm]
    int64_t *parent; // union-find
    int64_t *next;   // [cap][bands]: the previous item in the same bucket, -1 at the end
    int64_t *seen;   // [cap]: the last item compared with this one
    // buckets: open addressing from band key to the newest item in the bucket
    uint64_t *keys;
    int64_t *heads; // -1: empty slot
    size_t table_cap, table_used;
    int64_t candidates, confirmed;
};

NearDupIndex *near_dup_create(int perm, int bands, int rows, double threshold) {
    CHECK(bands >= 1 && rows >= 1 && bands * rows == perm, "LSH %d bands x %d rows for %d permutations", bands, rows,
          perm);
    NearDupIndex *x = xcalloc(1, sizeof *x);
    x->perm = perm, x->bands = bands, x->rows = rows;
    x->need = (int)ceil(threshold * perm - 1e-9);
    if (x->need < 1) x->need = 1;
    x->table_cap = 1024;
    x->keys = xmalloc(x->table_cap * sizeof *x->keys);
    x->heads = xmalloc(x->table_cap * sizeof *x->heads);
    for (size_t i = 0; i < x->table_cap; i++) x->heads[i] = -1;
    return x;
}

static int64_t find(NearDupIndex *x, int64_t a) {
    while (x->parent[a] != a) {
        x->parent[a] = x->parent[x->parent[a]]; // path halving
        a = x->parent[a];
    }
    return a;
}

// The smaller root becomes the parent, so a root is always its cluster's smallest item.
static void merge(NearDupIndex *x, int64_t a, int64_t b) {
    a = find(x, a), b = find(x, b);
    if (a == b) return;
    if (a < b)
        x->parent[b] = a;
    else
        x->parent[a] = b;
}

static size_t slot_of(const NearDupIndex *x, uint64_t key) {
    size_t i = (size_t)(key >> 17) & (x->table_cap - 1);
    while (x->heads[i] >= 0 && x->keys[i] != key) i = (i + 1) & (x->table_cap - 1);
    return i;
}

static void grow_table(NearDupIndex *x) {
    uint64_t *old_keys = x->keys;
    int64_t *old_heads = x->heads;
    size_t old_cap = x->table_cap;
    x->table_cap *= 2;
    x->keys = xmalloc(x->table_cap * sizeof *x->keys);
    x->heads = xmalloc(x->table_cap * sizeof *x->heads);
    for (size_t i = 0; i < x->table_cap; i++) x->heads[i] = -1;
    for (size_t i = 0; i < old_cap; i++) {
        if (old_heads[i] < 0) continue;
        size_t j = slot_of(x, old_keys[i]);
        x->keys[j] = old_keys[i];
        x->heads[j] = old_heads[i];
    }
    free(old_keys);
    free(old_heads);
}

static void *grow(void *p, int64_t cap, size_t elem) {
    p = xrealloc(p, (size_t)cap * elem);
    CHECK(p != NULL, "out of memory (near-duplicate index of %lld items)", (long long)cap);
    return p;
}

int64_t near_dup_add(NearDupIndex *x, const uint64_t *sig) {
    if (x->n == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 1024;
        x->sigs = grow(x->sigs, x->cap, (size_t)x->perm * sizeof *x->sigs);
        x->parent = grow(x->parent, x->cap, sizeof *x->parent);
        x->next = grow(x->next, x->cap, (size_t)x->bands * sizeof *x->next);
        x->seen = grow(x->seen, x->cap, sizeof *x->seen);
    }
    const int64_t item = x->n++;
    uint64_t *mine = x->sigs + (size_t)item * x->perm;
    memcpy(mine, sig, (size_t)x->perm * sizeof *sig);
    x->parent[item] = item;
    x->seen[item] = -1;
    for (int band = 0; band < x->bands; band++) {
        if (2 * (x->table_used + 1) > x->table_cap) grow_table(x);
        uint64_t key = hash64_words(mine + (size_t)band * x->rows, (size_t)x->rows, BAND_SEED + (uint64_t)band);
        size_t slot = slot_of(x, key);
        int64_t head = x->heads[slot];
        for (int64_t other = head; other >= 0; other = x->next[(size_t)other * x->bands + band]) {
            if (x->seen[other] == item) continue; // already compared through another band
            x->seen[other] = item;
            if (find(x, other) == find(x, item)) continue; // already in the same cluster
            x->candidates++;
            const uint64_t *theirs = x->sigs + (size_t)other * x->perm;
            int equal = 0;
            for (int i = 0; i < x->perm; i++) equal += theirs[i] == mine[i];
            if (equal >= x->need) {
                merge(x, other, item);
                x->confirmed++;
            }
        }
        if (head < 0) {
            x->keys[slot] = key;
            x->table_used++;
        }
        x->next[(size_t)item * x->bands + band] = head;
        x->heads[slot] = item;
    }
    return item;
}

int64_t near_dup_root(NearDupIndex *x, int64_t item) {
    CHECK(item >= 0 && item < x->n, "near-duplicate item %lld of %lld", (long long)item, (long long)x->n);
    return find(x, item);
}

int64_t near_dup_items(const NearDupIndex *x) { return x->n; }
int64_t near_dup_candidates(const NearDupIndex *x) { return x->candidates; }
int64_t near_dup_confirmed(const NearDupIndex *x) { return x->confirmed; }

void near_dup_free(NearDupIndex *x) {
    if (!x) return;
    free(x->sigs);
    free(x->parent);
    free(x->next);
    free(x->seen);
    free(x->keys);
    free(x->heads);
    free(x);
}
