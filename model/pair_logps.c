// pair_logps.c: see pair_logps.h.
#include "pair_logps.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../data/jsonl.h"
#include "../data/tokenizer.h"
#include "chat.h"

static Seq make_seq(Tokenizer *t, ChatFormat f, const char *system, const char *prompt, const char *answer, int end_id,
                    int max_len) {
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    chat_encode(t, f, system, prompt, &ids, &n, &cap);
    size_t start = n;
    tokenizer_encode(t, answer, strlen(answer), 0, &ids, &n, &cap);
    if (end_id >= 0) {
        if (n == cap) ids = xrealloc(ids, (cap = cap * 2 + 1) * sizeof(int32_t));
        ids[n++] = end_id;
    }
    Seq s = {(int *)ids, (int)(n < (size_t)max_len ? n : (size_t)max_len), (int)start};
    return s;
}

void seqs_forward_logps(Model *m, Seq *const *seqs, int n, int T, int *tokens, int *targets, double *logp) {
    for (int i = 0; i < n; i++) {
        const Seq *s = seqs[i];
        for (int t = 0; t < T; t++) {
            int at = i * T + t;
            tokens[at] = t < s->len ? s->tokens[t] : 0;
            // position t predicts token t+1; only answer tokens are scored
            targets[at] = (t + 1 < s->len && t + 1 >= s->start) ? s->tokens[t + 1] : -1;
        }
    }
    model_forward(m, tokens, targets, n, T);
    for (int i = 0; i < n; i++) {
        double sum = 0;
        for (int t = 0; t < T; t++)
            if (targets[i * T + t] >= 0) sum -= m->acts.losses_host[i * T + t];
        logp[i] = sum;
    }
}

int seqs_max_len(Seq *const *seqs, int n) {
    int T = 1;
    for (int i = 0; i < n; i++) T = seqs[i]->len > T ? seqs[i]->len : T;
    return T;
}

Pair *pairs_load(const char *path, const char *model_dir, const char *chat_template, int max_len, int *n_out,
                 int *max_T_out) {
    char *tok_path = path_join(model_dir, "tokenizer.json");
    if (!path_exists(tok_path)) fail("%s not found: preference pairs need the model's tokenizer", tok_path);
    Tokenizer *tok = tokenizer_load(tok_path);
    ChatFormat f = chat_template ? chat_format_from_name(chat_template) : chat_format_detect(model_dir);
    char *system = f == CHAT_PLAIN ? NULL : chat_default_system(model_dir);
    int stops[4], n_stops = chat_stop_ids(tok, f, stops), end_id = n_stops ? stops[0] : -1;
    JsonlReader *r = jsonl_open(path);
    int n_pairs = 0, cap = 64, max_T = 1;
    Pair *pairs = xmalloc((size_t)cap * sizeof(Pair));
    json_t *obj;
    while (jsonl_next(r, &obj)) {
        const char *fields[3] = {"prompt", "chosen", "rejected"}, *v[3];
        for (int k = 0; k < 3; k++) {
            v[k] = json_string_value(json_object_get(obj, fields[k]));
            if (!v[k])
                fail("%s:%ld: field '%s' missing or not a string (a pair needs prompt, chosen, rejected)", path,
                     jsonl_line(r), fields[k]);
        }
        if (n_pairs == cap) pairs = xrealloc(pairs, (size_t)(cap *= 2) * sizeof(Pair));
        Pair *p = &pairs[n_pairs++];
        p->chosen = make_seq(tok, f, system, v[0], v[1], end_id, max_len);
        p->rejected = make_seq(tok, f, system, v[0], v[2], end_id, max_len);
        if (p->chosen.start >= p->chosen.len || p->rejected.start >= p->rejected.len)
            fail("%s:%ld: the prompt alone fills the maximum length of %d tokens; raise it or shorten the prompt", path,
                 jsonl_line(r), max_len);
        max_T = p->chosen.len > max_T ? p->chosen.len : max_T;
        max_T = p->rejected.len > max_T ? p->rejected.len : max_T;
        json_decref(obj);
    }
    jsonl_close(r);
    if (n_pairs == 0) fail("%s holds no pairs", path);
    free(system), free(tok_path);
    tokenizer_free(tok);
    *n_out = n_pairs;
    *max_T_out = max_T;
    return pairs;
}

PairScratch pair_scratch_build(int batch, int max_T) {
    size_t rows = 2 * (size_t)batch * max_T;
    PairScratch s = {xmalloc(rows * sizeof(int)), xmalloc(rows * sizeof(int)), xmalloc(rows * sizeof(float)),
                     xmalloc(2 * (size_t)batch * sizeof(double)), xmalloc(2 * (size_t)batch * sizeof(Seq *))};
    return s;
}
void pair_scratch_free(PairScratch *s) {
    free(s->tokens), free(s->targets), free(s->weights), free(s->logp), free(s->seqs);
}

void pairs_logps(const char *dir, Backend *backend, Pair *pairs, int n_pairs, int batch, int max_T, PairScratch *s,
                 double *out, const char *owned) {
    Model m;
    model_load(&m, dir, backend);
    if (max_T > m.config.max_seq)
        fail("the maximum length %d is above the model's context (%d)", max_T, m.config.max_seq);
    for (int b0 = 0; b0 < n_pairs; b0 += batch) {
        if (owned && !owned[b0 / batch]) continue;
        int nb = n_pairs - b0 < batch ? n_pairs - b0 : batch;
        for (int i = 0; i < nb; i++)
            s->seqs[2 * i] = &pairs[b0 + i].chosen, s->seqs[2 * i + 1] = &pairs[b0 + i].rejected;
        seqs_forward_logps(&m, s->seqs, 2 * nb, seqs_max_len(s->seqs, 2 * nb), s->tokens, s->targets, out + 2 * b0);
    }
    model_free(&m);
}

void pairs_free(Pair *pairs, int n) {
    for (int i = 0; i < n; i++) free(pairs[i].chosen.tokens), free(pairs[i].rejected.tokens);
    free(pairs);
}
