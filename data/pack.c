// pack.c: see pack.h.
#include "pack.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../base/check.h"
#include "../base/io.h"
#include "../base/progress.h"
#include "records.h"
#include "shard.h"

typedef struct {
    const PackOptions *o;
    const char *prefix;
    int val; // shards go to OUT/val/
    ShardWriter *w;
    int index;
    PackStats *stats;
    uint64_t *tokens;
} Split;

static void split_open(Split *s) {
    char name[64];
    snprintf(name, sizeof name, "%s_%06d.tok.zst", s->prefix, s->index++);
    char *dir = s->val ? path_join(s->o->out_dir, "val") : strdup(s->o->out_dir);
    make_dirs(dir);
    char *path = path_join(dir, name);
    free(dir);
    int vocab = s->o->tokenizers ? tokenizer_vocab_size(s->o->tokenizers[0]) : BYTES_VOCAB;
    s->w = shard_writer_open(path, vocab, s->o->frame_tokens, s->o->level);
    free(path);
}

static void split_close(Split *s) {
    if (!s->w) return;
    s->stats->bytes_on_disk += shard_writer_close(s->w);
    s->stats->shards++;
    s->w = NULL;
}

// A full shard is closed only when more tokens arrive, so the end of a document that
// fills a shard exactly is counted in that shard (and no empty shard is ever written).
static void split_add(Split *s, const int32_t *ids, size_t n) {
    while (n > 0) {
        if (s->w && shard_writer_tokens(s->w) >= s->o->shard_tokens) split_close(s);
        if (!s->w) split_open(s);
        uint64_t room = s->o->shard_tokens - shard_writer_tokens(s->w);
        size_t take = n < room ? n : (size_t)room;
        shard_writer_add(s->w, ids, take);
        *s->tokens += take;
        ids += take, n -= take;
    }
}

PackStats pack_documents(const PackOptions *o) {
    PackStats st = {0};
    make_dirs(o->out_dir);
    // document i is held out when i % every == every - 1 (every = round(1/f)): no hashing,
    // so the split is the same on every machine and for every thread count
    double inv = o->val_fraction > 0 ? round(1.0 / o->val_fraction) : 0;
    uint64_t every = inv > 1e18 ? (uint64_t)1e18 : (uint64_t)inv;
    if (o->val_fraction > 0 && every < 2) fail("validation fraction %g is too large (at most 0.5)", o->val_fraction);
    Split train = {o, "train", 0, NULL, 0, &st, &st.tokens}, val = {o, "val", 1, NULL, 0, &st, &st.val_tokens};
    // A batch of documents is read, encoded in parallel (each thread with its own
    // tokenizer), then written in order, so the shards do not depend on the thread count.
    enum { BATCH = 1024 };
    char **texts = xcalloc(BATCH, sizeof(char *));
    size_t *lens = xcalloc(BATCH, sizeof(size_t)), *text_caps = xcalloc(BATCH, sizeof(size_t));
    int32_t **ids = xcalloc(BATCH, sizeof(int32_t *));
    size_t *n_ids = xcalloc(BATCH, sizeof(size_t)), *id_caps = xcalloc(BATCH, sizeof(size_t));
    int threads = o->threads > 0 ? o->threads : 1;
    (void)threads; // used by the OpenMP pragma only
    Progress p;
    progress_start(&p, "pack", o->n_inputs);
    uint64_t doc_index = 0;
    for (int f = 0; f < o->n_inputs; f++) {
        RecordReader *r = records_open(o->inputs[f], o->field, o->split_paragraphs);
        for (int more = 1; more;) {
            int n = 0;
            const char *text;
            size_t len;
            while (n < BATCH && (more = records_next(r, &text, &len))) {
                if (len + 1 > text_caps[n]) {
                    text_caps[n] = 2 * len + 1;
                    texts[n] = xrealloc(texts[n], text_caps[n]);
                    CHECK(texts[n] != NULL, "out of memory");
                }
                memcpy(texts[n], text, len);
                lens[n++] = len;
            }
#pragma omp parallel for schedule(dynamic, 8) num_threads(threads)
            for (int d = 0; d < n; d++) {
                size_t need = lens[d] + 2; // byte-level: one id per byte; BPE grows the buffer itself
                if (need > id_caps[d]) {
                    id_caps[d] = need;
                    ids[d] = xrealloc(ids[d], id_caps[d] * sizeof(int32_t));
                    CHECK(ids[d] != NULL, "out of memory");
                }
                size_t k = 0;
                if (o->bos >= 0) ids[d][k++] = o->bos;
                if (o->tokenizers) {
#ifdef _OPENMP
                    Tokenizer *t = o->tokenizers[omp_get_thread_num()];
#else
                    Tokenizer *t = o->tokenizers[0];
#endif
                    tokenizer_encode(t, texts[d], lens[d], 0, &ids[d], &k, &id_caps[d]); // user text: no control tokens
                    if (k + 1 > id_caps[d]) {
                        id_caps[d] = 2 * (k + 1);
                        ids[d] = xrealloc(ids[d], id_caps[d] * sizeof(int32_t));
                        CHECK(ids[d] != NULL, "out of memory");
                    }
                } else {
                    for (size_t i = 0; i < lens[d]; i++) ids[d][k++] = (unsigned char)texts[d][i];
                }
                if (o->eos >= 0) ids[d][k++] = o->eos;
                n_ids[d] = k;
            }
            for (int d = 0; d < n; d++) {
                Split *s = every && doc_index % every == every - 1 ? &val : &train;
                split_add(s, ids[d], n_ids[d]);
                if (!s->w) split_open(s); // an empty document (no BOS/EOS) still counts in a shard
                shard_writer_end_doc(s->w);
                if (s == &val)
                    st.val_docs++;
                else
                    st.docs++;
                st.text_bytes += lens[d];
                doc_index++;
            }
            char extra[64];
            snprintf(extra, sizeof extra, "%llu documents", (unsigned long long)doc_index);
            progress_update(&p, f, extra);
        }
        records_close(r);
    }
    for (int d = 0; d < BATCH; d++) free(texts[d]), free(ids[d]);
    free(texts), free(lens), free(text_caps), free(ids), free(n_ids), free(id_caps);
    if (doc_index == 0) fail("no documents found in the input (empty files?)");
    if (st.docs == 0) fail("every document went to the validation split; lower the validation fraction or add text");
    if (every && st.val_docs == 0)
        fprintf(stderr,
                "strap: warning: validation fraction %g held out no document (every %llu-th document is held out, "
                "and there are %llu); split one .txt file into a document per paragraph, or add text\n",
                o->val_fraction, (unsigned long long)every, (unsigned long long)doc_index);
    split_close(&train);
    split_close(&val);
    progress_finish(&p, NULL);
    return st;
}
