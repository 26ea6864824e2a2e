// pack.c: see pack.h.
#include "pack.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/check.h"
#include "../train/progress.h"
#include "io.h"
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
    int vocab = s->o->tokenizer ? tokenizer_vocab_size(s->o->tokenizer) : BYTES_VOCAB;
    s->w = shard_writer_open(path, vocab, s->o->frame_tokens, s->o->level);
    free(path);
}

static void split_close(Split *s) {
    if (!s->w) return;
    s->stats->bytes_on_disk += shard_writer_close(s->w);
    s->stats->shards++;
    s->w = NULL;
}

static void split_add(Split *s, const int32_t *ids, size_t n) {
    while (n > 0) {
        if (!s->w) split_open(s);
        uint64_t room = s->o->shard_tokens - shard_writer_tokens(s->w);
        size_t take = n < room ? n : (size_t)room;
        shard_writer_add(s->w, ids, take);
        *s->tokens += take;
        ids += take, n -= take;
        if (shard_writer_tokens(s->w) >= s->o->shard_tokens) split_close(s);
    }
}

PackStats pack_documents(const PackOptions *o) {
    PackStats st = {0};
    make_dirs(o->out_dir);
    int every = o->val_fraction > 0 ? (int)lround(1.0 / o->val_fraction) : 0;
    if (o->val_fraction > 0 && every < 2) fail("--val-fraction %g is too large (at most 0.5)", o->val_fraction);
    Split train = {o, "train", 0, NULL, 0, &st, &st.tokens}, val = {o, "val", 1, NULL, 0, &st, &st.val_tokens};
    size_t cap = 1 << 16;
    int32_t *ids = xmalloc(cap * sizeof(int32_t));
    Progress p;
    progress_start(&p, "pack", o->n_inputs);
    uint64_t doc_index = 0;
    for (int f = 0; f < o->n_inputs; f++) {
        RecordReader *r = records_open(o->inputs[f], o->field, o->split_paragraphs);
        const char *text;
        size_t len;
        while (records_next(r, &text, &len)) {
            if (len + 2 > cap) {
                cap = (len + 2) * 2;
                ids = realloc(ids, cap * sizeof(int32_t));
                CHECK(ids != NULL, "out of memory");
            }
            size_t n = 0;
            if (o->bos >= 0) ids[n++] = o->bos;
            if (o->tokenizer) {
                tokenizer_encode(o->tokenizer, text, len, 0, &ids, &n, &cap); // user text: no control tokens
                if (n + 1 > cap) {
                    cap = 2 * (n + 1);
                    ids = realloc(ids, cap * sizeof(int32_t));
                    CHECK(ids != NULL, "out of memory");
                }
            } else {
                for (size_t i = 0; i < len; i++) ids[n++] = (unsigned char)text[i];
            }
            if (o->eos >= 0) ids[n++] = o->eos;
            Split *s = every && doc_index % (uint64_t)every == (uint64_t)every - 1 ? &val : &train;
            split_add(s, ids, n);
            if (!s->w) split_open(s); // the document count belongs to the shard holding its end
            shard_writer_end_doc(s->w);
            if (s == &val) st.val_docs++;
            else st.docs++;
            st.text_bytes += len;
            doc_index++;
        }
        records_close(r);
        char extra[64];
        snprintf(extra, sizeof extra, "%llu documents", (unsigned long long)doc_index);
        progress_update(&p, f + 1, extra);
    }
    if (doc_index == 0) fail("no documents found in the input (empty files?)");
    if (st.docs == 0) fail("every document went to the validation split; lower --val-fraction or add text");
    split_close(&train);
    split_close(&val);
    progress_finish(&p, NULL);
    free(ids);
    return st;
}
