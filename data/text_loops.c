// text_loops.c: see text_loops.h.
#include "text_loops.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/hash64.h"

static uint64_t hash_words(const char *const *start, const int *len, int n) {
    uint64_t h = 1469598103934665603ull; // FNV-1a over the words and a separator
    for (int w = 0; w < n; w++) {
        for (int i = 0; i < len[w]; i++) h = (h ^ (unsigned char)start[w][i]) * FNV64_PRIME;
        h = (h ^ 0xff) * FNV64_PRIME;
    }
    return h;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

double text_repeated_ngram_share(const char *text, int n) {
    if (n < 1) return 0;
    int cap = 64, count = 0;
    const char **start = xmalloc((size_t)cap * sizeof(char *));
    int *len = xmalloc((size_t)cap * sizeof(int));
    for (const char *p = text; *p;) {
        while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
        if (!*p) break;
        const char *s = p;
        while (*p && !(*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')) p++;
        if (count == cap) {
            cap *= 2;
            start = xrealloc(start, (size_t)cap * sizeof(char *));
            len = xrealloc(len, (size_t)cap * sizeof(int));
        }
        start[count] = s, len[count++] = (int)(p - s);
    }
    double share = 0;
    int grams = count - n + 1;
    if (grams > 0) {
        uint64_t *h = xmalloc((size_t)grams * sizeof(uint64_t));
        for (int i = 0; i < grams; i++) h[i] = hash_words(start + i, len + i, n);
        qsort(h, (size_t)grams, sizeof(uint64_t), cmp_u64);
        int repeats = 0; // every n-gram after the first of its kind
        for (int i = 1; i < grams; i++) repeats += h[i] == h[i - 1];
        share = (double)repeats / grams;
        free(h);
    }
    free(start), free(len);
    return share;
}

int answer_loops(const char *text, const char *finish) {
    int ended = finish && (strcmp(finish, "eos") == 0 || strcmp(finish, "stop") == 0);
    return !ended && text_repeated_ngram_share(text, 4) >= 0.25;
}
