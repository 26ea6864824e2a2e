// dpo.c: see dpo.h.
#include "dpo.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../data/io.h"
#include "../data/jsonl.h"
#include "../data/tokenizer.h"
#include "../kernels/check.h"
#include "../model/chat.h"
#include "../model/llama.h"
#include "adamw.h"
#include "progress.h"
#include "schedule.h"

void dpo_options_default(DpoOptions *o) {
    memset(o, 0, sizeof *o);
    o->device = "auto";
    o->loss = (DpoLoss){DPO_SIGMOID, 0.1, 0.0};
    o->batch = 4;
    o->epochs = 1;
    o->max_len = 512;
    o->lr = 5e-6f;
    o->weight_decay = 0.0f;
    o->grad_clip = 1.0f;
    o->warmup = 0;
    o->seed = 1;
}

// One tokenized sequence: tokens[0..len), answer tokens from `start` on.
typedef struct {
    int *tokens;
    int len, start;
} Seq;

typedef struct {
    Seq chosen, rejected;
    double ref_chosen, ref_rejected; // reference log-probabilities (sums over answer tokens)
} Pair;

static Seq make_seq(Tokenizer *t, ChatFormat f, const char *system, const char *prompt, const char *answer, int end_id,
                    int max_len) {
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    chat_encode(t, f, system, prompt, &ids, &n, &cap);
    size_t start = n;
    tokenizer_encode(t, answer, strlen(answer), 0, &ids, &n, &cap);
    if (end_id >= 0) {
        if (n == cap) ids = realloc(ids, (cap = cap * 2 + 1) * sizeof(int32_t));
        ids[n++] = end_id;
    }
    Seq s = {(int *)ids, (int)(n < (size_t)max_len ? n : (size_t)max_len), (int)start};
    return s;
}

// Sequence log-probabilities of up to 2B sequences in one forward (padded to the longest,
// padding and prompt positions ignored): logp[i] = sum over answer positions of
// log p(token | prefix).
static void forward_logps(Model *m, Seq *const *seqs, int n, int T, int *tokens, int *targets, double *logp) {
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

static int batch_len(Seq *const *seqs, int n) {
    int T = 1;
    for (int i = 0; i < n; i++) T = seqs[i]->len > T ? seqs[i]->len : T;
    return T;
}

// The pairs of o->pairs, tokenized with the model's tokenizer and chat template.
static Pair *load_pairs(const DpoOptions *o, int *n_out, int *max_T_out) {
    char *tok_path = path_join(o->model_dir, "tokenizer.json");
    if (!path_exists(tok_path)) fail("%s not found: preference pairs need the model's tokenizer", tok_path);
    Tokenizer *tok = tokenizer_load(tok_path);
    ChatFormat f = o->chat_template ? chat_format_from_name(o->chat_template) : chat_format_detect(o->model_dir);
    char *system = f == CHAT_PLAIN ? NULL : chat_default_system(o->model_dir);
    int stops[4], n_stops = chat_stop_ids(tok, f, stops), end_id = n_stops ? stops[0] : -1;
    JsonlReader *r = jsonl_open(o->pairs);
    int n_pairs = 0, cap = 64, max_T = 1;
    Pair *pairs = xmalloc((size_t)cap * sizeof(Pair));
    json_t *obj;
    while (jsonl_next(r, &obj)) {
        const char *fields[3] = {"prompt", "chosen", "rejected"}, *v[3];
        for (int k = 0; k < 3; k++) {
            v[k] = json_string_value(json_object_get(obj, fields[k]));
            if (!v[k]) fail("%s:%ld: field '%s' missing or not a string (a pair needs prompt, chosen, rejected)", o->pairs,
                            jsonl_line(r), fields[k]);
        }
        if (n_pairs == cap) pairs = realloc(pairs, (size_t)(cap *= 2) * sizeof(Pair));
        Pair *p = &pairs[n_pairs++];
        p->chosen = make_seq(tok, f, system, v[0], v[1], end_id, o->max_len);
        p->rejected = make_seq(tok, f, system, v[0], v[2], end_id, o->max_len);
        if (p->chosen.start >= p->chosen.len || p->rejected.start >= p->rejected.len)
            fail("%s:%ld: the prompt alone fills --max-len %d; raise it or shorten the prompt", o->pairs, jsonl_line(r),
                 o->max_len);
        max_T = p->chosen.len > max_T ? p->chosen.len : max_T;
        max_T = p->rejected.len > max_T ? p->rejected.len : max_T;
        json_decref(obj);
    }
    jsonl_close(r);
    if (n_pairs == 0) fail("%s holds no pairs", o->pairs);
    free(system), free(tok_path);
    tokenizer_free(tok);
    *n_out = n_pairs;
    *max_T_out = max_T;
    return pairs;
}

typedef struct { // batch buffers for 2 x batch sequences of up to max_T tokens
    int *tokens, *targets;
    float *weights;
    double *logp;
    Seq **seqs;
} Scratch;

static Scratch scratch_build(int batch, int max_T) {
    size_t rows = 2 * (size_t)batch * max_T;
    Scratch s = {xmalloc(rows * sizeof(int)), xmalloc(rows * sizeof(int)), xmalloc(rows * sizeof(float)),
                 xmalloc(2 * (size_t)batch * sizeof(double)), xmalloc(2 * (size_t)batch * sizeof(Seq *))};
    return s;
}
static void scratch_free(Scratch *s) { free(s->tokens), free(s->targets), free(s->weights), free(s->logp), free(s->seqs); }

// Log-probabilities of every pair's answers under the model in `dir` into out[2*i], out[2*i+1].
static void answers_logps(const char *dir, Backend *backend, Pair *pairs, int n_pairs, int batch, int max_T,
                          Scratch *s, double *out) {
    Model m;
    model_load(&m, dir, backend);
    if (max_T > m.config.max_seq) fail("--max-len %d is above the model's context (%d)", max_T, m.config.max_seq);
    for (int b0 = 0; b0 < n_pairs; b0 += batch) {
        int nb = n_pairs - b0 < batch ? n_pairs - b0 : batch;
        for (int i = 0; i < nb; i++) s->seqs[2 * i] = &pairs[b0 + i].chosen, s->seqs[2 * i + 1] = &pairs[b0 + i].rejected;
        forward_logps(&m, s->seqs, 2 * nb, batch_len(s->seqs, 2 * nb), s->tokens, s->targets, out + 2 * b0);
    }
    model_free(&m);
}

static void free_pairs(Pair *pairs, int n) {
    for (int i = 0; i < n; i++) free(pairs[i].chosen.tokens), free(pairs[i].rejected.tokens);
    free(pairs);
}

int dpo_eval(const DpoOptions *opts, int json) {
    DpoOptions o = *opts;
    if (!o.ref_dir) fail("--ref is required: the margins are measured against a reference model");
    Backend *backend = backend_select(o.device, o.threads);
    int n_pairs, max_T;
    Pair *pairs = load_pairs(&o, &n_pairs, &max_T);
    Scratch s = scratch_build(o.batch, max_T);
    double *ref = xmalloc(2 * (size_t)n_pairs * sizeof(double)), *pol = xmalloc(2 * (size_t)n_pairs * sizeof(double));
    answers_logps(o.ref_dir, backend, pairs, n_pairs, o.batch, max_T, &s, ref);
    answers_logps(o.model_dir, backend, pairs, n_pairs, o.batch, max_T, &s, pol);
    double acc = 0, margin = 0, loss = 0, rc = 0, rr = 0, plain = 0;
    for (int i = 0; i < n_pairs; i++) {
        double dc, dr, reward_c = o.loss.beta * (pol[2 * i] - ref[2 * i]),
                       reward_r = o.loss.beta * (pol[2 * i + 1] - ref[2 * i + 1]);
        loss += dpo_pair_loss(&o.loss, pol[2 * i], pol[2 * i + 1], ref[2 * i], ref[2 * i + 1], &dc, &dr);
        acc += reward_c > reward_r;
        margin += reward_c - reward_r;
        rc += reward_c, rr += reward_r;
        plain += pol[2 * i] > pol[2 * i + 1]; // the model alone prefers the chosen answer
    }
    int n = n_pairs;
    if (json)
        printf("{\"pairs\": %d, \"accuracy\": %.6f, \"margin\": %.6f, \"rewards_chosen\": %.6f, "
               "\"rewards_rejected\": %.6f, \"loss\": %.6f, \"logp_accuracy\": %.6f}\n",
               n, acc / n, margin / n, rc / n, rr / n, loss / n, plain / n);
    else
        printf("pairs %d | preference accuracy %.3f | mean margin %.4f | rewards chosen %.4f rejected %.4f | loss "
               "%.4f | log-prob accuracy %.3f\n",
               n, acc / n, margin / n, rc / n, rr / n, loss / n, plain / n);
    free(ref), free(pol);
    scratch_free(&s);
    free_pairs(pairs, n_pairs);
    return 0;
}

int dpo_run(const DpoOptions *opts) {
    DpoOptions o = *opts;
    if (!o.ref_dir) o.ref_dir = o.model_dir;
    if (o.batch < 1 || o.epochs < 1 || o.max_len < 2) fail("--batch, --epochs must be positive and --max-len at least 2");
    Backend *backend = backend_select(o.device, o.threads);
    int n_pairs, max_T;
    Pair *pairs = load_pairs(&o, &n_pairs, &max_T); // 1. pairs
    Scratch s = scratch_build(o.batch, max_T);
    int *tokens = s.tokens, *targets = s.targets;
    float *weights = s.weights;
    double *logp = s.logp;
    Seq **seqs = s.seqs;

    // 2. reference log-probabilities, once
    double *ref = xmalloc(2 * (size_t)n_pairs * sizeof(double));
    answers_logps(o.ref_dir, backend, pairs, n_pairs, o.batch, max_T, &s, ref);
    for (int i = 0; i < n_pairs; i++) pairs[i].ref_chosen = ref[2 * i], pairs[i].ref_rejected = ref[2 * i + 1];
    free(ref);

    // 3. training
    Model m;
    LlamaConfig config;
    config_read(&config, o.model_dir);
    model_build(&m, &config, backend);
    float *initial = xmalloc(m.n_params * sizeof(float));
    model_read_weights(&m, o.model_dir, initial);
    model_set_params(&m, initial);
    model_enable_grads(&m);
    AdamW opt;
    adamw_build(&opt, &m, initial, 0.9f, 0.999f, 1e-8f, o.weight_decay);
    free(initial);
    make_dirs(o.out);
    char *metrics_path = path_join(o.out, "metrics.jsonl");
    FILE *metrics = fopen(metrics_path, "w"); // one line per step, flushed: readable while training
    if (!metrics) fail("cannot write %s", metrics_path);
    int steps_per_epoch = (n_pairs + o.batch - 1) / o.batch, total = steps_per_epoch * o.epochs;
    LrSchedule sched = {o.lr, 0.0f, o.warmup, total};
    Progress prog;
    progress_start(&prog, "dpo", total);
    int step = 0;
    for (int epoch = 0; epoch < o.epochs; epoch++)
        for (int b0 = 0; b0 < n_pairs; b0 += o.batch) {
            int nb = n_pairs - b0 < o.batch ? n_pairs - b0 : o.batch;
            for (int i = 0; i < nb; i++) seqs[2 * i] = &pairs[b0 + i].chosen, seqs[2 * i + 1] = &pairs[b0 + i].rejected;
            int T = batch_len(seqs, 2 * nb);
            model_zero_grads(&m);
            forward_logps(&m, seqs, 2 * nb, T, tokens, targets, logp);
            double loss = 0, acc = 0, rc = 0, rr = 0;
            for (int i = 0; i < nb; i++) {
                const Pair *p = &pairs[b0 + i];
                double dc, dr;
                loss += dpo_pair_loss(&o.loss, logp[2 * i], logp[2 * i + 1], p->ref_chosen, p->ref_rejected, &dc, &dr);
                double reward_c = o.loss.beta * (logp[2 * i] - p->ref_chosen),
                       reward_r = o.loss.beta * (logp[2 * i + 1] - p->ref_rejected);
                rc += reward_c, rr += reward_r, acc += reward_c > reward_r;
                // d(mean loss)/d(token loss) = -(d loss / d logp) / nb: a token loss is -log p
                for (int t = 0; t < T; t++) {
                    weights[(2 * i) * T + t] = targets[(2 * i) * T + t] >= 0 ? (float)(-dc / nb) : 0.0f;
                    weights[(2 * i + 1) * T + t] = targets[(2 * i + 1) * T + t] >= 0 ? (float)(-dr / nb) : 0.0f;
                }
            }
            model_backward_weighted(&m, weights);
            float norm = grad_global_norm(&m);
            float clip = (o.grad_clip > 0 && norm > o.grad_clip) ? o.grad_clip / norm : 1.0f;
            float lr = lr_at(&sched, ++step);
            adamw_step(&opt, &m, lr, clip);
            char line[384];
            int len = snprintf(line, sizeof line,
                               "{\"step\": %d, \"epoch\": %d, \"loss\": %.6f, \"rewards_chosen\": %.6f, "
                               "\"rewards_rejected\": %.6f, \"rewards_margin\": %.6f, \"rewards_accuracy\": %.4f, "
                               "\"lr\": %.3e, \"grad_norm\": %.4f}\n",
                               step, epoch, loss / nb, rc / nb, rr / nb, (rc - rr) / nb, acc / nb, lr, norm);
            fwrite(line, 1, (size_t)len, metrics);
            fflush(metrics);
            char extra[96];
            snprintf(extra, sizeof extra, "loss %.4f acc %.2f margin %.3f", loss / nb, acc / nb, (rc - rr) / nb);
            progress_update(&prog, step, extra);
        }
    progress_finish(&prog, NULL);
    fclose(metrics);
    float *master = NULL; // bf16 backends: save the fp32 master weights
    if (opt.master) {
        master = xmalloc(m.n_params * sizeof(float));
        backend->download(master, opt.master, m.n_params * sizeof(float));
    }
    model_save(&m, o.out, 0, master);
    free(master);
    const char *copy[] = {"tokenizer.json", "tokenizer_config.json", "generation_config.json"};
    for (int i = 0; i < 3; i++) {
        char *src = path_join(o.model_dir, copy[i]);
        if (path_exists(src)) {
            size_t n;
            char *data = read_file(src, &n);
            char *dst = path_join(o.out, copy[i]);
            write_file_atomic(dst, data, n);
            free(dst), free(data);
        }
        free(src);
    }
    printf("dpo: %d pairs, %d steps, checkpoint in %s, metrics in %s\n", n_pairs, step, o.out, metrics_path);
    free_pairs(pairs, n_pairs);
    scratch_free(&s);
    free(metrics_path);
    adamw_free(&opt, &m);
    model_free(&m);
    return 0;
}
