// loader.c: see loader.h.
#include "loader.h"

#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "shard.h"

struct Loader {
    Shard **shards;
    uint64_t *starts; // first stream index of each shard
    int n_shards;
    uint64_t total;
    int B, T, rank, world, accum, vocab;
    int micro;              // micro-step within the current global batch
    uint64_t cursor, epoch; // cursor: first token of the current global batch
    int32_t *window;        // (T + 1)
};

Loader *loader_open(char **files, int n_files, int B, int T, int rank, int world) {
    return loader_open_dp(files, n_files, B, T, rank, world, 1);
}

Loader *loader_open_dp(char **files, int n_files, int B, int T, int rank, int world, int accum) {
    CHECK(n_files > 0 && B > 0 && T > 0 && world > 0 && rank >= 0 && rank < world && accum > 0, "bad loader arguments");
    Loader *l = xcalloc(1, sizeof *l);
    l->shards = xcalloc((size_t)n_files, sizeof(Shard *));
    l->starts = xcalloc((size_t)n_files + 1, sizeof(uint64_t));
    l->n_shards = n_files;
    l->B = B, l->T = T, l->rank = rank, l->world = world, l->accum = accum;
    for (int i = 0; i < n_files; i++) {
        l->shards[i] = shard_open(files[i]);
        if (i > 0 && l->shards[i]->vocab_size != l->shards[0]->vocab_size)
            fail("%s has vocab_size %d but %s has %d: shards of one run must come from one tokenizer", files[i],
                 l->shards[i]->vocab_size, files[0], l->shards[0]->vocab_size);
        l->starts[i] = l->total;
        l->total += l->shards[i]->n_tokens;
    }
    l->starts[n_files] = l->total;
    l->vocab = l->shards[0]->vocab_size;
    uint64_t need = (uint64_t)B * world * accum * T + 1;
    if (l->total < need && accum == 1)
        fail("data '%s'%s: %llu tokens, but one batch needs B x world x T + 1 = %llu (B=%d, T=%d, world=%d); "
             "lower the batch or the sequence length, or pack more text",
             files[0], n_files > 1 ? " and others" : "", (unsigned long long)l->total, (unsigned long long)need, B, T,
             world);
    if (l->total < need)
        fail("data '%s'%s: %llu tokens, but one batch needs B x world x accum x T + 1 = %llu (B=%d, T=%d, world=%d, "
             "accum=%d); lower the batch, the gradient accumulation or the sequence length, or pack more text",
             files[0], n_files > 1 ? " and others" : "", (unsigned long long)l->total, (unsigned long long)need, B, T,
             world, accum);
    l->window = xmalloc(((size_t)T + 1) * sizeof(int32_t));
    return l;
}

void loader_close(Loader *l) {
    if (!l) return;
    for (int i = 0; i < l->n_shards; i++) shard_close(l->shards[i]);
    free(l->shards);
    free(l->starts);
    free(l->window);
    free(l);
}

// Reads stream tokens [start, start + n), crossing shard boundaries.
static void read_stream(Loader *l, uint64_t start, uint64_t n, int32_t *out) {
    CHECK(start + n <= l->total, "loader read past the end of the stream");
    int lo = 0, hi = l->n_shards - 1; // the last shard i with starts[i] <= start
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (l->starts[mid] <= start)
            lo = mid;
        else
            hi = mid - 1;
    }
    int i = lo;
    while (n > 0) {
        uint64_t in_shard = start - l->starts[i];
        uint64_t avail = l->shards[i]->n_tokens - in_shard;
        uint64_t take = avail < n ? avail : n;
        if (take) shard_read(l->shards[i], in_shard, take, out);
        out += take, start += take, n -= take;
        i++;
    }
}

void loader_next(Loader *l, int *inputs, int *targets) {
    uint64_t rows = (uint64_t)l->B * l->world * l->accum, step = rows * l->T;
    if (l->micro == 0 && l->cursor + step + 1 > l->total) {
        l->cursor = 0;
        l->epoch++;
    }
    uint64_t slice = (uint64_t)l->micro * l->world + l->rank;
    for (int b = 0; b < l->B; b++) {
        uint64_t row = slice * l->B + b;
        read_stream(l, l->cursor + row * l->T, (uint64_t)l->T + 1, l->window);
        for (int t = 0; t < l->T; t++) {
            inputs[(size_t)b * l->T + t] = l->window[t];
            targets[(size_t)b * l->T + t] = l->window[t + 1];
        }
    }
    if (++l->micro == l->accum) {
        l->micro = 0;
        l->cursor += step;
    }
}

int loader_vocab_size(const Loader *l) { return l->vocab; }
uint64_t loader_total_tokens(const Loader *l) { return l->total; }
uint64_t loader_batches_per_epoch(const Loader *l) {
    return (l->total - 1) / ((uint64_t)l->B * l->world * l->accum * l->T);
}
void loader_get_state(const Loader *l, uint64_t *cursor, uint64_t *epoch) {
    CHECK(l->micro == 0, "loader state asked in the middle of a global batch (micro-step %d of %d)", l->micro,
          l->accum);
    *cursor = l->cursor;
    *epoch = l->epoch;
}
void loader_set_state(Loader *l, uint64_t cursor, uint64_t epoch) {
    if (cursor >= l->total)
        fail("data cursor %llu is past the end of the data (%llu tokens in %s%s): the run was made on other data; "
             "resume it on the same data",
             (unsigned long long)cursor, (unsigned long long)l->total, l->shards[0]->path,
             l->n_shards > 1 ? " and the other shards" : "");
    l->cursor = cursor;
    l->epoch = epoch;
    l->micro = 0;
}
