// pack_run.c: see pack_run.h.
#include "pack_run.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../base/check.h"
#include "../base/io.h"
#include "pack.h"
#include "tokenizer.h"

void pack_run_options_default(PackRunOptions *o) {
    memset(o, 0, sizeof *o);
    o->field = "text";
    o->shard_tokens = 10000000;
    o->frame_tokens = 65536;
    o->level = 3;
}

static int omp_threads(void) {
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

int pack_run(const PackRunOptions *o) {
    const char *tokenizer = o->tokenizer, *input = o->input, *out = o->out, *field = o->field;
    const char *bos_text = o->bos, *eos_text = o->eos;
    int split = o->split_paragraphs, frame_tokens = o->frame_tokens, level = o->level, threads = o->threads;
    int64_t shard_tokens = o->shard_tokens;
    float val_fraction = o->val_fraction;
    Tokenizer *tok = NULL;
    int bos = BYTES_BOS, eos = BYTES_EOS;
    if (strcmp(tokenizer, "bytes") != 0) {
        tok = tokenizer_load(tokenizer);
        bos = eos = -1;
        const char *bos_names[] = {"<|begin_of_text|>", "<s>", NULL},
                   *eos_names[] = {"<|endoftext|>", "<|end_of_text|>", "</s>", NULL};
        for (int i = 0; bos_names[i] && bos < 0; i++) bos = tokenizer_token_id(tok, bos_names[i]);
        for (int i = 0; eos_names[i] && eos < 0; i++) eos = tokenizer_token_id(tok, eos_names[i]);
    }
    if (bos_text) {
        bos = strcmp(bos_text, "none") == 0 ? -1 : tok ? tokenizer_token_id(tok, bos_text) : -2;
        if (bos == -2 || (bos < 0 && strcmp(bos_text, "none") != 0))
            fail("the BOS token '%s' is not an added token of %s", bos_text, tokenizer);
    }
    if (eos_text) {
        eos = strcmp(eos_text, "none") == 0 ? -1 : tok ? tokenizer_token_id(tok, eos_text) : -2;
        if (eos == -2 || (eos < 0 && strcmp(eos_text, "none") != 0))
            fail("the EOS token '%s' is not an added token of %s", eos_text, tokenizer);
    }

    // inputs: comma-separated; each item a file or a glob
    int n = 0, cap = 16;
    char **inputs = xmalloc((size_t)cap * sizeof(char *));
    char *list = strdup(input);
    for (char *item = strtok(list, ","); item; item = strtok(NULL, ",")) {
        int count = 0;
        char **matched = NULL;
        if (path_exists(item)) {
            matched = xcalloc(2, sizeof(char *));
            matched[0] = strdup(item);
            count = 1;
        } else if (strpbrk(item, "*?[")) {
            matched = expand_inputs(item, "", &count);
        } else {
            fail("the input %s does not exist", item);
        }
        for (int i = 0; i < count; i++) {
            if (n == cap) inputs = xrealloc(inputs, (size_t)(cap *= 2) * sizeof(char *));
            inputs[n++] = strdup(matched[i]);
        }
        free_string_list(matched);
    }
    free(list);
    if (threads <= 0) threads = omp_threads();
    Tokenizer **toks = NULL;
    if (tok) { // one tokenizer per thread (each keeps its own scratch)
        toks = xcalloc((size_t)threads, sizeof(Tokenizer *));
        toks[0] = tok;
        for (int i = 1; i < threads; i++) toks[i] = tokenizer_load(tokenizer);
    }
    PackOptions po = {inputs,       n,     out,  field,   split, val_fraction, (uint64_t)shard_tokens,
                      frame_tokens, level, toks, threads, bos,   eos};
    PackStats st = pack_documents(&po);
    for (int i = 1; toks && i < threads; i++) tokenizer_free(toks[i]);
    free(toks);
    uint64_t tokens = st.tokens + st.val_tokens;
    printf("packed %d file(s): %" PRIu64 " documents (%" PRIu64 " validation), %" PRIu64 " tokens (%" PRIu64
           " validation) into %d shard(s) in %s; %" PRIu64 " bytes on disk, %.2f bytes/token, "
           "text/disk ratio %.2f (%" PRIu64 " bytes of text)\n",
           n, st.docs + st.val_docs, st.val_docs, tokens, st.val_tokens, st.shards, out, st.bytes_on_disk,
           tokens ? (double)st.bytes_on_disk / tokens : 0.0,
           st.bytes_on_disk ? (double)st.text_bytes / st.bytes_on_disk : 0.0, st.text_bytes);
    for (int i = 0; i < n; i++) free(inputs[i]);
    free(inputs);
    tokenizer_free(tok);
    return 0;
}
