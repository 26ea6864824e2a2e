// sft.c: see sft.h.
#include "sft.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/progress.h"
#include "../base/rng.h"
#include "../data/jsonl.h"
#include "../model/llama.h"
#include "adamw.h"
#include "ckpt.h"
#include "dist_opt.h"
#include "schedule.h"
#include "step.h"

void sft_options_default(SftOptions *o) {
    memset(o, 0, sizeof *o);
    o->device = "auto";
    o->batch = 4;
    o->grad_accum = 1;
    o->seq = 0; // min(512, max_position_embeddings)
    o->epochs = 1;
    o->lr = 1e-5f;
    o->min_lr = -1; // lr / 10
    o->weight_decay = 0.0f;
    o->grad_clip = 1.0f;
    o->warmup = -1;
    o->seed = 1;
    o->min_score = NAN;
}

// ---- one conversation -> tokens + train mask ----

typedef struct {
    int32_t *ids;
    unsigned char *train;
    size_t n, cap;
} Build;

static void push(Build *b, const int32_t *ids, size_t n, int train) {
    if (b->n + n > b->cap) {
        b->cap = 2 * (b->n + n) + 16;
        b->ids = xrealloc(b->ids, b->cap * sizeof(int32_t));
        b->train = xrealloc(b->train, b->cap);
        CHECK(b->ids != NULL && b->train != NULL, "out of memory");
    }
    memcpy(b->ids + b->n, ids, n * sizeof(int32_t));
    memset(b->train + b->n, train, n);
    b->n += n;
}

static int starts_with(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na >= nb && memcmp(a, b, nb * sizeof(int32_t)) == 0;
}

// The template's own tokens are found by encoding growing prefixes of the conversation:
// P_i = messages [0, i) with the assistant header (what generation is prompted with),
// F_i = messages [0, i] (the template after turn i). Assistant turn i is P_i's new tokens
// (weight 0), then its content and end-of-turn token (weight 1), then whatever the
// template puts after its end-of-turn token (ChatML's "\n", weight 0).
int sft_encode(Tokenizer *t, ChatFormat f, int bos, int end_id, const ChatMessage *msgs, int n, SftExample *ex,
               char *err, size_t err_size) {
    memset(ex, 0, sizeof *ex);
    int last_assistant = -1;
    for (int i = 0; i < n; i++) {
        if (strcmp(msgs[i].role, "assistant") == 0)
            last_assistant = i;
        else if (strcmp(msgs[i].role, "user") != 0 && strcmp(msgs[i].role, "system") != 0) {
            snprintf(err, err_size, "message %d has role '%s' (use system, user or assistant)", i + 1, msgs[i].role);
            return -1;
        }
    }
    if (last_assistant < 0) {
        snprintf(err, err_size, "the conversation has no assistant message to train on");
        return -1;
    }
    // one turn: the prompt exactly as strap gen and strap dpo encode it (chat_encode)
    int sys = n > 0 && strcmp(msgs[0].role, "system") == 0;
    int single = n == 2 + sys && strcmp(msgs[sys].role, "user") == 0 && last_assistant == 1 + sys;
    Build b = {0};
    if (bos >= 0 && f == CHAT_PLAIN) push(&b, (int32_t[]){bos}, 1, 0);
    int32_t *tpl = NULL, *full = NULL, *content = NULL; // P_i, F_i, the content's ids
    size_t n_tpl = 0, c_tpl = 0, n_full = 0, c_full = 0, n_content = 0, c_content = 0, done = 0;
    int32_t *prev = NULL; // F of the previous assistant turn (done tokens)
    for (int i = 0; i < n; i++) {
        if (strcmp(msgs[i].role, "assistant") != 0) continue;
        n_tpl = 0;
        if (single)
            chat_encode(t, f, sys ? msgs[0].content : NULL, msgs[sys].content, &tpl, &n_tpl, &c_tpl);
        else
            chat_encode_messages(t, f, msgs, i, 1, &tpl, &n_tpl, &c_tpl);
        if (prev && !starts_with(tpl, n_tpl, prev, done)) {
            snprintf(err, err_size, "the %s template does not extend turn by turn; give one-turn records",
                     chat_format_name(f));
            free(tpl), free(full), free(content), free(prev), free(b.ids), free(b.train);
            return -1;
        }
        push(&b, tpl + done, n_tpl - done, 0);
        n_content = 0;
        tokenizer_encode(t, msgs[i].content, strlen(msgs[i].content), 0, &content, &n_content, &c_content);
        push(&b, content, n_content, 1);
        if (end_id >= 0) push(&b, (int32_t[]){end_id}, 1, 1);
        if (i == last_assistant) break;
        n_full = 0;
        chat_encode_messages(t, f, msgs, i + 1, 0, &full, &n_full, &c_full);
        if (!starts_with(full, n_full, tpl, n_tpl) || !starts_with(full + n_tpl, n_full - n_tpl, content, n_content)) {
            snprintf(err, err_size, "the %s template does not extend turn by turn; give one-turn records",
                     chat_format_name(f));
            free(tpl), free(full), free(content), free(prev), free(b.ids), free(b.train);
            return -1;
        }
        size_t after = n_tpl + n_content;
        if (after < n_full && full[after] == end_id) after++; // our end-of-turn token is the template's
        push(&b, full + after, n_full - after, 0);
        free(prev);
        prev = xmalloc((n_full ? n_full : 1) * sizeof(int32_t));
        memcpy(prev, full, n_full * sizeof(int32_t));
        done = n_full;
    }
    free(tpl), free(full), free(content), free(prev);
    ex->tokens = b.ids, ex->train = b.train, ex->len = (int)b.n;
    return 0;
}

void sft_example_free(SftExample *ex) {
    free(ex->tokens), free(ex->train);
    memset(ex, 0, sizeof *ex);
}

// ---- packing ----

void sft_pack(const SftExample *ex, int n, int T, SftPacked *p) {
    memset(p, 0, sizeof *p);
    p->T = T;
    int rows = 0, used = T; // used = T: the first example opens a row
    for (int i = 0; i < n; i++) {
        CHECK(ex[i].len >= 1 && ex[i].len <= T, "example %d has %d tokens for rows of %d", i, ex[i].len, T);
        if (used + ex[i].len > T) rows++, used = 0;
        used += ex[i].len;
    }
    p->rows = rows;
    p->tokens = xcalloc((size_t)rows * T, sizeof(int));
    p->targets = xmalloc((size_t)rows * T * sizeof(int));
    p->row_examples = xcalloc((size_t)(rows ? rows : 1), sizeof(int));
    for (size_t k = 0; k < (size_t)rows * T; k++) p->targets[k] = -1;
    int r = -1;
    used = T;
    for (int i = 0; i < n; i++) {
        if (used + ex[i].len > T) r++, used = 0;
        int *tok = p->tokens + (size_t)r * T + used, *tgt = p->targets + (size_t)r * T + used;
        for (int k = 0; k < ex[i].len; k++) {
            tok[k] = ex[i].tokens[k];
            // position k predicts token k+1 of the same conversation, if that is an assistant token
            if (k + 1 < ex[i].len && ex[i].train[k + 1]) tgt[k] = ex[i].tokens[k + 1];
        }
        p->row_examples[r]++;
        used += ex[i].len;
    }
}

void sft_packed_free(SftPacked *p) {
    free(p->tokens), free(p->targets), free(p->row_examples);
    memset(p, 0, sizeof *p);
}

// ---- the records ----

typedef struct {
    int records, kept, below_score, unscored, unended, truncated;
} LoadStats;

static SftExample *load_examples(const SftOptions *o, Tokenizer *tok, ChatFormat f, const char *default_system, int bos,
                                 int end_id, int T, int *n_out, LoadStats *st) {
    JsonlReader *r = jsonl_open(o->data);
    int n = 0, cap = 64;
    SftExample *ex = xmalloc((size_t)cap * sizeof(SftExample));
    json_t *obj;
    char err[256];
    while (jsonl_next(r, &obj)) {
        long line = jsonl_line(r);
        st->records++;
        if (o->ended_only) { // a generation cut off at its token limit teaches the model not to stop
            const char *finish = json_string_value(json_object_get(obj, "finish"));
            if (finish && strcmp(finish, "eos") != 0 && strcmp(finish, "stop") != 0) {
                st->unended++;
                json_decref(obj);
                continue;
            }
        }
        if (!isnan(o->min_score)) {
            const char *field = o->score_field ? o->score_field : "score";
            json_t *score = json_object_get(obj, field);
            if (!score)
                fail("%s:%ld: no \"%s\" field: a minimum score needs judged records (strap judge; or strap verify, "
                     "with verify_score as the score field)",
                     o->data, line, field);
            if (!json_is_number(score)) {
                if (!json_is_null(score)) fail("%s:%ld: \"%s\" must be a number or null", o->data, line, field);
                st->unscored++;
                json_decref(obj);
                continue;
            }
            if (json_number_value(score) < o->min_score) {
                st->below_score++;
                json_decref(obj);
                continue;
            }
        }
        ChatMessage msgs[64];
        int n_msgs = 0;
        json_t *messages = json_object_get(obj, "messages");
        if (f != CHAT_PLAIN && default_system) { // the template adds it when a conversation has none
            json_t *m0 = json_array_get(messages, 0);
            const char *role0 = json_string_value(json_object_get(m0, "role"));
            if (!role0 || strcmp(role0, "system") != 0) msgs[n_msgs++] = (ChatMessage){"system", default_system};
        }
        if (messages) {
            if (!json_is_array(messages) || json_array_size(messages) == 0)
                fail("%s:%ld: \"messages\" must be a non-empty list of {\"role\", \"content\"}", o->data, line);
            if (json_array_size(messages) > 63)
                fail("%s:%ld: %zu messages; at most 63 per conversation", o->data, line, json_array_size(messages));
            for (size_t k = 0; k < json_array_size(messages); k++) {
                json_t *m = json_array_get(messages, k);
                const char *role = json_string_value(json_object_get(m, "role")),
                           *content = json_string_value(json_object_get(m, "content"));
                if (!role || !content)
                    fail("%s:%ld: message %zu needs string fields \"role\" and \"content\"", o->data, line, k + 1);
                msgs[n_msgs++] = (ChatMessage){role, content};
            }
        } else {
            const char *prompt = json_string_value(json_object_get(obj, "prompt"));
            const char *field = o->field ? o->field : json_object_get(obj, "response") ? "response" : "text";
            const char *answer = json_string_value(json_object_get(obj, field));
            if (!prompt || !answer)
                fail("%s:%ld: a record needs \"messages\", or \"prompt\" and \"%s\" as strings%s", o->data, line,
                     o->field ? o->field : "response",
                     o->field ? "" : " (or \"text\"; the answer can be taken from another field, e.g. chosen)");
            json_t *system = json_object_get(obj, "system");
            if (json_is_string(system)) {
                if (n_msgs) n_msgs = 0; // the record's own system message replaces the default
                msgs[n_msgs++] = (ChatMessage){"system", json_string_value(system)};
            }
            msgs[n_msgs++] = (ChatMessage){"user", prompt};
            msgs[n_msgs++] = (ChatMessage){"assistant", answer};
        }
        if (n == cap) ex = xrealloc(ex, (size_t)(cap *= 2) * sizeof(SftExample));
        CHECK(ex != NULL, "out of memory");
        SftExample *e = &ex[n];
        if (sft_encode(tok, f, bos, end_id, msgs, n_msgs, e, err, sizeof err) != 0)
            fail("%s:%ld: %s", o->data, line, err);
        int first = 0;
        while (first < e->len && !e->train[first]) first++;
        if (first >= T)
            fail("%s:%ld: the prompt takes %d tokens, so no answer token fits in a sequence of %d; raise the sequence "
                 "length (the model allows up to its max_position_embeddings) or shorten or drop this record",
                 o->data, line, first, T);
        if (e->len > T) e->len = T, st->truncated++; // the answer is cut
        n++;
        json_decref(obj);
    }
    jsonl_close(r);
    if (st->records == 0)
        fail("%s holds no records: give chat records ({\"prompt\", \"response\"} or {\"messages\"})", o->data);
    if (n == 0)
        fail("%s: no record has a score >= %g (%d records: %d below, %d unscored, %d cut off); lower the minimum score",
             o->data, (double)o->min_score, st->records, st->below_score, st->unscored, st->unended);
    st->kept = n;
    *n_out = n;
    return ex;
}

// ---- checkpoints ----

typedef struct {
    int examples, rows, total;
} RunShape;

static char *state_json(const SftOptions *o, const RunShape *s, int step, int with_extra, double loss) {
    json_t *j = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:f, s:i, s:s}", "step", step,
                          "steps", s->total, "examples", s->examples, "rows", s->rows, "batch", o->batch, "grad_accum",
                          o->grad_accum, "world", comm_world(), "seq", o->seq, "seed", o->seed, "threads", o->threads,
                          "lr", (double)o->lr, "min_score", !isnan(o->min_score) ? (double)o->min_score : -1.0,
                          "epochs", o->epochs, "data", o->data);
    CHECK(j != NULL, "json_pack failed");
    if (with_extra) json_object_set_new(j, "loss", json_real(loss));
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(j);
    return text;
}

static int state_check(const char *text, const char *path, const SftOptions *o, const RunShape *s) {
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j) fail("%s: trainer_state is not valid JSON: %s", path, err.text);
    int step = 0, steps = 0, examples = 0, rows = 0, batch = 0, accum = 1, world = 1, seq = 0, seed = 0, threads = 0;
    if (json_unpack_ex(j, &err, 0, "{s:i, s:i, s:i, s:i, s:i, s?i, s?i, s:i, s:i, s:i}", "step", &step, "steps", &steps,
                       "examples", &examples, "rows", &rows, "batch", &batch, "grad_accum", &accum, "world", &world,
                       "seq", &seq, "seed", &seed, "threads", &threads) != 0)
        fail("%s: trainer_state: %s (was it written by strap sft?)", path, err.text);
    long long global = (long long)batch * accum * world, now = (long long)o->batch * o->grad_accum * comm_world();
    if (examples != s->examples || rows != s->rows || global != now || seq != o->seq || seed != o->seed ||
        steps != s->total)
        fail("%s: the run was made on %d examples in %d rows with a global batch of %lld rows (batch %d x "
             "gradient accumulation %d x %d rank(s)), a sequence length of %d and seed %d for %d steps; resume it with "
             "the same data and values (got %d examples, %d rows, %lld, %d, %d, %d steps)",
             path, examples, rows, global, batch, accum, world, seq, seed, steps, s->examples, s->rows, now, o->seq,
             o->seed, s->total);
    step_warn_if_layout_changed(threads, batch, world, o->threads, o->batch);
    json_decref(j);
    return step;
}

// Collective: the checkpoint (ckpt.h); trainer_state.json adds the loss and the clock.
static void save(const SftOptions *o, Model *m, DistOpt *opt, const RunShape *s, int step, double loss) {
    char *resume = state_json(o, s, step, 0, 0), *final = state_json(o, s, step, 1, loss);
    ckpt_save(o->out, m, opt, resume, final, 0);
    free(resume), free(final);
}

// The row order of an epoch: a permutation drawn from (seed, epoch) alone, so a resumed run
// finds it again.
static void epoch_order(int *order, int rows, int seed, int epoch) {
    Rng rng;
    rng_seed(&rng, (uint64_t)seed * 1000003u + (uint64_t)epoch);
    for (int i = 0; i < rows; i++) order[i] = i;
    for (int i = rows - 1; i > 0; i--) {
        int k = (int)(rng_u64(&rng) % (uint64_t)(i + 1)), tmp = order[i];
        order[i] = order[k], order[k] = tmp;
    }
}

// ---- the run ----

typedef struct { // what save() needs
    const SftOptions *o;
    Model *m;
    DistOpt *opt;
    const RunShape *shape;
    double loss;
} SaveCtx;

static void save_step(void *ctx, int step, int stopping) {
    (void)stopping;
    SaveCtx *c = ctx;
    save(c->o, c->m, c->opt, c->shape, step, c->loss);
}

// 1. the conversations of o->data, tokenized and packed into rows of o->seq tokens; prints
// what was kept. *n_ex gets the examples kept.
static void sft_data(const SftOptions *o, const LlamaConfig *config, int global, SftPacked *pk, int *n_ex_out) {
    char *tok_path = path_join(o->model_dir, "tokenizer.json");
    if (!path_exists(tok_path)) fail("%s not found: SFT needs the model's tokenizer", tok_path);
    Tokenizer *tok = tokenizer_load(tok_path);
    free(tok_path);
    if (tokenizer_vocab_size(tok) > config->vocab_size)
        fail("%s: the tokenizer has %d tokens but the model's vocab_size is %d", o->model_dir,
             tokenizer_vocab_size(tok), config->vocab_size);
    ChatFormat f = o->chat_template ? chat_format_from_name(o->chat_template) : chat_format_detect(o->model_dir);
    char *default_system = f == CHAT_PLAIN ? NULL : chat_default_system(o->model_dir);
    int stops[4], n_stops = chat_stop_ids(tok, f, stops), end_id = n_stops ? stops[0] : -1;
    if (end_id < 0 && config->n_eos > 0) end_id = config->eos_token_ids[0];
    LoadStats st = {0};
    int n_ex;
    SftExample *ex = load_examples(o, tok, f, default_system, config->bos_token_id, end_id, o->seq, &n_ex, &st);
    sft_pack(ex, n_ex, o->seq, pk);
    long long answer_tokens = 0, all_tokens = 0;
    for (int i = 0; i < n_ex; i++) {
        all_tokens += ex[i].len;
        for (int k = 1; k < ex[i].len; k++) answer_tokens += ex[i].train[k];
    }
    for (int i = 0; i < n_ex; i++) sft_example_free(&ex[i]);
    free(ex), free(default_system);
    tokenizer_free(tok);
    int steps_per_epoch = (pk->rows + global - 1) / global,
        total = o->steps > 0 ? o->steps : steps_per_epoch * o->epochs;
    if (comm_rank() == 0) {
        printf("sft: %d records, %d kept", st.records, n_ex);
        if (!isnan(o->min_score))
            printf(" (%s >= %g; %d below, %d unscored)", o->score_field ? o->score_field : "score",
                   (double)o->min_score, st.below_score, st.unscored);
        if (o->ended_only) printf(" (%d cut off dropped)", st.unended);
        printf(
            ", %d cut to %d tokens | %lld tokens (%lld trained) packed in %d rows | %d steps of up to %d rows (%s chat "
            "format)\n",
            st.truncated, o->seq, all_tokens, answer_tokens, pk->rows, total, global, chat_format_name(f));
    }
    if (st.truncated && comm_rank() == 0)
        fprintf(stderr,
                "strap: warning: %d conversation(s) longer than the sequence length %d were cut (their answers end "
                "early)\n",
                st.truncated, o->seq);
    *n_ex_out = n_ex;
}

// One step's rows [first, first + n_step) of the epoch's order: forward and backward of this
// rank's slices; returns the mean loss over the step's assistant tokens (every rank), *counted
// and *seen get the step's trained tokens and examples.
static double sft_step_passes(const SftOptions *o, Model *m, DistOpt *opt, const SftPacked *pk, const int *order,
                              int first, int n_step, int *tokens, int *targets, int *counted_out, int *seen_out) {
    int T = o->seq, rank = comm_rank(), world = comm_world();
    // the step's assistant tokens over every rank (each rank holds every row): the loss is
    // their mean, so each token's gradient weight is 1 / counted
    int counted = 0, seen = 0;
    for (int b = 0; b < n_step; b++) {
        const int *tg = pk->targets + (size_t)order[first + b] * T;
        for (int t = 0; t < T; t++) counted += tg[t] >= 0;
        seen += pk->row_examples[order[first + b]];
    }
    model_zero_grads(m);
    double loss_sum = 0; // this rank's sum of token losses
    for (int micro = 0; micro < o->grad_accum; micro++) {
        int b0 = first + (micro * world + rank) * o->batch;
        int nb = first + n_step - b0 < o->batch ? first + n_step - b0 : o->batch;
        if (nb <= 0) continue; // a short last step: nothing left for this slice
        int mb_counted = 0;
        for (int b = 0; b < nb; b++) {
            int r = order[b0 + b];
            memcpy(tokens + (size_t)b * T, pk->tokens + (size_t)r * T, (size_t)T * sizeof(int));
            memcpy(targets + (size_t)b * T, pk->targets + (size_t)r * T, (size_t)T * sizeof(int));
            for (int t = 0; t < T; t++) mb_counted += targets[(size_t)b * T + t] >= 0;
        }
        double mb_loss = model_forward(m, tokens, targets, nb, T); // mean over mb_counted tokens
        if (mb_counted) loss_sum += mb_loss * mb_counted;
        if (micro == o->grad_accum - 1) dist_overlap_arm(opt); // reduce buckets during this backward
        model_backward(m, counted ? 1.0f / (float)counted : 0.0f);
    }
    dist_sum(&loss_sum, 1);
    *counted_out = counted, *seen_out = seen;
    return counted ? loss_sum / counted : 0;
}

int sft_run(const SftOptions *opts) {
    SftOptions o = *opts;
    int world = comm_world(), lead = comm_rank() == 0;
    if (o.batch < 1 || o.grad_accum < 1 || o.epochs < 1 || o.steps < 0)
        fail("the batch, gradient accumulation and epochs must be positive and the steps not negative "
             "(got %d, %d, %d, %d)",
             o.batch, o.grad_accum, o.epochs, o.steps);
    if (o.zero != 0 && o.zero != 1) fail("ZeRO stage %d: choose stage 0 or 1", o.zero);
    int resuming = step_run_dir(o.out, o.resume, "an SFT checkpoint");
    Backend *backend = dist_backend_select(o.device, o.threads); // a rank's share of the cores, its own GPU
    LlamaConfig config;
    config_read(&config, o.model_dir);
    if (o.seq <= 0) o.seq = config.max_seq < 512 ? config.max_seq : 512;
    if (o.seq < 2 || o.seq > config.max_seq)
        fail("sequence length %d: it must lie between 2 and the model's max_position_embeddings (%d)", o.seq,
             config.max_seq);
    int global = o.batch * o.grad_accum * world; // rows per step
    SftPacked pk;
    int n_ex;
    sft_data(&o, &config, global, &pk, &n_ex); // 1. the conversations
    int steps_per_epoch = (pk.rows + global - 1) / global;
    RunShape shape = {n_ex, pk.rows, o.steps > 0 ? o.steps : steps_per_epoch * o.epochs};
    if (o.min_lr < 0) o.min_lr = o.lr / 10;
    if (o.warmup < 0) o.warmup = shape.total / 10 < 100 ? shape.total / 10 : 100;
    if (lead && world > 1)
        printf("%d ranks (%s): a step is batch %d x gradient accumulation %d x %d ranks = %d rows%s\n", world,
               backend->name, o.batch, o.grad_accum, world, global, o.zero ? ", ZeRO-1" : "");

    // 2. the model and optimizer
    Model m;
    DistOpt opt;
    ckpt_start_from(&m, &config, backend, o.model_dir, resuming, &opt, o.weight_decay, o.zero);
    int step = 0;
    if (resuming) {
        char *opt_path = path_join(o.out, "optimizer.safetensors"), *state = dist_opt_load(&opt, opt_path);
        step = state_check(state, opt_path, &o, &shape);
        if (opt.opt.step != step)
            fail("%s: optimizer step %d and trainer_state step %d disagree", opt_path, opt.opt.step, step);
        free(state), free(opt_path);
        if (step >= shape.total) {
            if (lead) printf("sft run in %s is already at step %d of %d; nothing to do\n", o.out, step, shape.total);
            dist_opt_free(&opt), model_free(&m), sft_packed_free(&pk);
            return 0;
        }
        if (lead) printf("resuming %s at step %d of %d\n", o.out, step, shape.total);
    }

    // 3. training
    StepRun run = {.what = "sft",
                   .out = o.out,
                   .diverge_hint = "lower the learning rate",
                   .backend = backend,
                   .opt = &opt,
                   .sched = {o.lr, o.min_lr, o.warmup, shape.total},
                   .grad_clip = o.grad_clip,
                   .total = shape.total,
                   .save_every = o.save_every,
                   .stop_after = o.stop_after,
                   .progress = 1};
    step_run_open(&run, o.model_dir, resuming, step);
    int T = o.seq, *order = xmalloc((size_t)pk.rows * sizeof(int)), order_epoch = -1, exit_status = -1;
    int *tokens = xmalloc((size_t)o.batch * T * sizeof(int)), *targets = xmalloc((size_t)o.batch * T * sizeof(int));
    SaveCtx sc = {&o, &m, &opt, &shape, 0};
    while (step < shape.total && exit_status < 0) {
        int epoch = step / steps_per_epoch, first = (step % steps_per_epoch) * global;
        if (epoch != order_epoch) epoch_order(order, pk.rows, o.seed, epoch), order_epoch = epoch;
        int n_step = pk.rows - first < global ? pk.rows - first : global; // rows in this step
        int counted, seen;
        double t0 = now_seconds();
        sc.loss = sft_step_passes(&o, &m, &opt, &pk, order, first, n_step, tokens, targets, &counted, &seen);
        StepDone d = step_finish(&run, ++step, sc.loss);
        double tok_s = (double)n_step * T / (now_seconds() - t0);
        char line[384], extra[96];
        snprintf(line, sizeof line,
                 "{\"step\": %d, \"epoch\": %d, \"loss\": %.6f, \"lr\": %.3e, \"grad_norm\": %.4f, \"rows\": %d, "
                 "\"examples\": %d, \"trained_tokens\": %d, \"tokens\": %d, \"tokens_per_s\": %.1f}\n",
                 step, epoch, sc.loss, d.lr, d.norm, n_step, seen, counted, n_step * T, tok_s);
        snprintf(extra, sizeof extra, "loss %.4f lr %.2e norm %.3f %.0f tok/s", sc.loss, d.lr, d.norm, tok_s);
        step_log(&run, step, line, extra);
        exit_status = step_checkpoint(&run, step, save_step, &sc);
    }
    step_run_close(&run, step);
    if (exit_status < 0) exit_status = 0;
    if (lead && !exit_status && step == shape.total)
        printf("sft: %d steps, loss %.4f, checkpoint in %s, metrics in %s\n", step, sc.loss, o.out, run.metrics_path);
    step_run_free(&run);
    free(order), free(tokens), free(targets);
    sft_packed_free(&pk);
    dist_opt_free(&opt);
    model_free(&m);
    return exit_status;
}
