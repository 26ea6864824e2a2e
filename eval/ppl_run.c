// ppl_run.c: see ppl_run.h.
#include "ppl_run.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../data/loader.h"
#include "../data/token_ids.h"
#include "../dist/dist.h"
#include "eval_report.h"
#include "ppl.h"

void ppl_options_default(PplOptions *o) {
    memset(o, 0, sizeof *o);
    o->batch = 4;
    o->device = "auto";
}

int *tokens_file_read(const char *path, int64_t *n_out) {
    size_t size, n;
    char *text = read_file(path, &size);
    int32_t *ids = token_ids_parse(text, size, path, 0, NULL, &n);
    free(text);
    *n_out = (int64_t)n;
    return ids;
}

int ppl_run(const PplOptions *o) {
    const char *model_dir = o->model_dir, *data = o->data, *tokens_file = o->tokens_file;
    int seq = o->seq;
    Model m;
    model_load(&m, model_dir, dist_backend_select(o->device, o->threads)); // under mpirun: batches split over the ranks
    EvalResult r;
    if (tokens_file) {
        int64_t n;
        int *ids = tokens_file_read(tokens_file, &n);
        r = eval_tokens(&m, ids, n);
        free(ids);
    } else {
        if (seq <= 0) seq = m.config.max_seq < 512 ? m.config.max_seq : 512;
        if (seq > m.config.max_seq)
            fail("a sequence of %d tokens is longer than the model's context (max_position_embeddings %d)", seq,
                 m.config.max_seq);
        int n_files;
        char **files = expand_inputs(data, ".tok.zst", &n_files);
        Loader *l = loader_open(files, n_files, o->batch, seq, 0, 1);
        if (loader_vocab_size(l) > m.config.vocab_size)
            fail("data '%s' uses a vocabulary of %d ids but the model has vocab_size %d", data, loader_vocab_size(l),
                 m.config.vocab_size);
        r = eval_loader(&m, l, o->batch, seq, o->max_batches);
        loader_close(l);
        free_string_list(files);
    }
    if (!isfinite(r.loss))
        fail("eval ppl: the loss of %s on %s is not a finite number (%g): its weights or activations overflow; nothing "
             "is reported",
             model_dir, data ? data : tokens_file, r.loss);
    json_t *res = json_pack("{s:f, s:f, s:I}", "loss", r.loss, "ppl", r.ppl, "tokens", (json_int_t)r.tokens);
    char title[512];
    snprintf(title, sizeof title, "Perplexity of %s on %s", model_dir, data ? data : tokens_file);
    if (comm_rank() == 0) eval_report(res, title, o->json, o->out, o->markdown);
    json_decref(res);
    model_free(&m);
    return 0;
}
