// trainer.c: see trainer.h.
#include "trainer.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/json_file.h"
#include "../base/progress.h"
#include "../base/rng.h"
#include "../data/loader.h"
#include "../eval/ppl.h"
#include "../model/llama.h"
#include "adamw.h"
#include "ckpt.h"
#include "dist_opt.h"
#include "schedule.h"
#include "step.h"

void train_options_default(TrainOptions *o) {
    memset(o, 0, sizeof *o);
    o->device = "auto";
    o->steps = 100;
    o->batch = 8;
    o->seq = 256;
    o->grad_accum = 1;
    o->lr = 3e-4f;
    o->min_lr = -1; // default: lr / 10
    o->weight_decay = 0.1f;
    o->grad_clip = 1.0f;
    o->beta1 = 0.9f;
    o->beta2 = 0.95f;
    o->eps = 1e-8f;
    o->warmup = -1; // default: min(100, steps / 10)
    o->eval_batches = 20;
    o->seed = 1337;
}

// ---- trainer state (JSON) ----

typedef struct {
    int step;
    uint64_t cursor, epoch;
    uint64_t rng;
    uint64_t tokens_seen;
    double elapsed;
} RunState;

// with_clock: include the wall-clock time spent (trainer_state.json only, so that
// optimizer.safetensors of a resumed run is byte-identical to an uninterrupted one)
static char *state_to_json(const TrainOptions *o, const RunState *s, float loss, int with_clock) {
    char rng[32];
    snprintf(rng, sizeof rng, "%016" PRIx64, s->rng);
    json_t *j = json_pack(
        "{s:i, s:i, s:I, s:I, s:s, s:I, s:f, s:i, s:i, s:i, s:i, s:f, s:f, "
        "s:f, s:i, s:f, s:f, s:s, s:f, s:i, s:i}",
        "step", s->step, "steps", o->steps, "cursor", (json_int_t)s->cursor, "epoch", (json_int_t)s->epoch, "rng", rng,
        "tokens_seen", (json_int_t)s->tokens_seen, "elapsed_s", s->elapsed, "batch", o->batch, "seq", o->seq,
        "grad_accum", o->grad_accum, "threads", o->threads, "lr", (double)o->lr, "min_lr", (double)o->min_lr,
        "weight_decay", (double)o->weight_decay, "warmup", o->warmup, "grad_clip", (double)o->grad_clip, "loss",
        (double)loss, "data", o->data, "beta2", (double)o->beta2, "world", comm_world(), "zero", o->zero);
    CHECK(j != NULL, "json_pack failed");
    if (!with_clock) json_object_del(j, "elapsed_s");
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(j);
    return text;
}

static void state_from_json(const char *text, const char *path, const TrainOptions *o, RunState *s) {
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j) fail("%s: trainer_state is not valid JSON: %s", path, err.text);
    json_int_t cursor = 0, epoch = 0, tokens = 0;
    int step = 0, batch = 0, seq = 0, accum = 0, threads = 0, world = 1;
    const char *rng = NULL;
    double elapsed = 0;
    if (json_unpack_ex(j, &err, 0, "{s:i, s:I, s:I, s:s, s:I, s?F, s:i, s:i, s:i, s:i, s?i}", "step", &step, "cursor",
                       &cursor, "epoch", &epoch, "rng", &rng, "tokens_seen", &tokens, "elapsed_s", &elapsed, "batch",
                       &batch, "seq", &seq, "grad_accum", &accum, "threads", &threads, "world", &world) != 0)
        fail("%s: trainer_state: %s", path, err.text);
    // the global batch (batch x grad_accum x ranks) fixes the token stream; how it is split
    // between ranks and accumulation steps may change
    long long global = (long long)batch * accum * world, now = (long long)o->batch * o->grad_accum * comm_world();
    if (global != now || seq != o->seq)
        fail("%s: the run was made with a global batch of %lld sequences (batch %d x gradient accumulation %d x %d "
             "rank(s)) of %d tokens; resume it with the same global batch and sequence length (got %d x %d x %d = "
             "%lld, of %d tokens)",
             path, global, batch, accum, world, seq, o->batch, o->grad_accum, comm_world(), now, o->seq);
    step_warn_if_layout_changed(threads, batch, world, o->threads, o->batch);
    s->step = step;
    s->cursor = (uint64_t)cursor;
    s->epoch = (uint64_t)epoch;
    s->rng = strtoull(rng, NULL, 16);
    s->tokens_seen = (uint64_t)tokens;
    s->elapsed = elapsed;
    json_decref(j);
}

// ---- metrics.jsonl ----

// One metrics line (released): the JSON object and a newline.
static void put_metrics(StepRun *run, int step, json_t *j) {
    char *line = json_dumps_line(j, JSON_COMPACT | JSON_REAL_PRECISION(7));
    step_log(run, step, line, NULL);
    free(line);
    json_decref(j);
}

// ---- checkpoints ----

// Collective: the checkpoint (ckpt.h); trainer_state.json adds the loss and the clock.
static void save_checkpoint(const TrainOptions *o, Model *model, DistOpt *opt, const RunState *s, float loss) {
    char *resume = state_to_json(o, s, loss, 0), *final = state_to_json(o, s, loss, 1);
    ckpt_save(o->out, model, opt, resume, final, o->save_bf16);
    free(resume), free(final);
}

typedef struct { // what save_checkpoint needs
    const TrainOptions *o;
    Model *model;
    DistOpt *opt;
    const RunState *s;
    float loss;
} SaveCtx;

static void save_step(void *ctx, int step, int stopping) {
    SaveCtx *c = ctx;
    save_checkpoint(c->o, c->model, c->opt, c->s, c->loss);
    if (comm_rank() == 0 && !stopping && step != c->o->steps)
        printf("saved checkpoint at step %d in %s\n", step, c->o->out);
}

// ---- the loop ----

// The state of the run checkpointed in o->out: the optimizer, the loader's place and the
// rng. Returns 0 when that run is already at its last step (nothing to do).
static int train_resume(const TrainOptions *o, DistOpt *opt, Loader *loader, RunState *s, Rng *rng) {
    char *opt_path = path_join(o->out, "optimizer.safetensors"), *state = dist_opt_load(opt, opt_path);
    state_from_json(state, opt_path, o, s);
    free(state);
    if (opt->opt.step != s->step)
        fail("%s: optimizer step %d and trainer_state step %d disagree", opt_path, opt->opt.step, s->step);
    free(opt_path);
    loader_set_state(loader, s->cursor, s->epoch);
    // wall-clock time spent so far lives in trainer_state.json (informative only)
    char *state_path = path_join(o->out, "trainer_state.json");
    json_t *js = path_exists(state_path) ? json_load_file(state_path, 0, NULL) : NULL;
    json_t *step_j = js ? json_object_get(js, "step") : NULL;
    if (step_j && json_integer_value(step_j) == s->step)
        s->elapsed = json_number_value(json_object_get(js, "elapsed_s"));
    if (js) json_decref(js);
    free(state_path);
    rng->state = s->rng;
    int lead = comm_rank() == 0;
    if (s->step >= o->steps) {
        if (lead) printf("run in %s is already at step %d of %d; nothing to do\n", o->out, s->step, o->steps);
        return 0;
    }
    if (lead) printf("resuming %s at step %d\n", o->out, s->step);
    return 1;
}

// The model to train on `backend`: its config (of the checkpoint when resuming), gradients
// on; a new run's starting weights are read and returned (fp32, malloc'd: the exact master
// weights on bf16 backends), NULL when resuming (the checkpoint brings them).
static float *train_model(const TrainOptions *o, int resuming, Backend *backend, Model *model, LlamaConfig *config) {
    config_read(config, resuming ? o->out : o->model_dir);
    if (o->seq > config->max_seq)
        fail("sequence length %d is above the model's max_position_embeddings (%d)", o->seq, config->max_seq);
    model_build(model, config, backend);
    float *initial = NULL;
    if (!resuming) {
        initial = xmalloc(model->n_params * sizeof(float));
        model_read_weights(model, o->model_dir, initial);
        model_set_params(model, initial);
    }
    model_enable_grads(model);
    return initial;
}

// The forward and backward passes of one step (grad_accum micro-batches of this rank);
// returns the mean loss over every rank's micro-batches.
static float train_step_passes(const TrainOptions *o, Model *model, DistOpt *opt, Loader *loader, int *inputs,
                               int *targets, size_t tokens_per_step) {
    model_zero_grads(model);
    double loss_sum = 0;
    for (int micro = 0; micro < o->grad_accum; micro++) {
        loader_next(loader, inputs, targets);
        loss_sum += model_forward(model, inputs, targets, o->batch, o->seq);
        if (micro == o->grad_accum - 1) dist_overlap_arm(opt); // reduce buckets during this backward
        model_backward(model, 1.0f / (float)tokens_per_step);  // the ranks' sum is the global mean
    }
    dist_sum(&loss_sum, 1);
    return (float)(loss_sum / (o->grad_accum * comm_world()));
}

// The step skeleton of a pretraining run (step.h): a line per step, no progress bar.
static StepRun train_step_run(const TrainOptions *o, Backend *backend, DistOpt *opt) {
    StepRun run = {.what = "train",
                   .out = o->out,
                   .diverge_hint = "lower the learning rate or lengthen the warmup",
                   .backend = backend};
    run.opt = opt, run.sched = (LrSchedule){o->lr, o->min_lr, o->warmup, o->steps}, run.grad_clip = o->grad_clip;
    run.total = o->steps, run.save_every = o->save_every, run.stop_after = o->stop_after, run.progress = 0;
    return run;
}

int train_run(const TrainOptions *opts) {
    TrainOptions o = *opts;
    if (o.steps < 1) fail("the number of steps must be at least 1 (got %d)", o.steps);
    if (o.batch < 1 || o.seq < 1 || o.grad_accum < 1)
        fail("the batch, sequence length and gradient accumulation must be positive (got %d, %d, %d)", o.batch, o.seq,
             o.grad_accum);
    if (o.zero != 0 && o.zero != 1) fail("ZeRO stage %d: only stage 1 is implemented (choose stage 0 or 1)", o.zero);
    if (o.min_lr < 0) o.min_lr = o.lr / 10;
    if (o.warmup < 0) o.warmup = o.steps / 10 < 100 ? o.steps / 10 : 100;
    int rank = comm_rank(), world = comm_world(), lead = rank == 0; // only rank 0 prints and writes
    Backend *backend = dist_backend_select(o.device, o.threads);

    // every rank reads --model, --data and (on resume) --out: they must be on a shared filesystem
    int resuming = step_run_dir(o.out, o.resume, "a training checkpoint");
    if (!resuming && o.resume && lead)
        fprintf(stderr, "strap: no checkpoint in %s yet; starting from %s\n", o.out,
                o.model_dir ? o.model_dir : "(none)");
    if (!resuming && !o.model_dir) fail("a starting model is required (no checkpoint to resume in %s)", o.out);

    Model model;
    LlamaConfig config;
    float *initial = train_model(&o, resuming, backend, &model, &config);

    int n_files = 0;
    char **files = expand_inputs(o.data, ".tok.zst", &n_files);
    Loader *loader = loader_open_dp(files, n_files, o.batch, o.seq, rank, world, o.grad_accum);
    if (loader_vocab_size(loader) > config.vocab_size)
        fail("data '%s' uses a vocabulary of %d ids but the model has vocab_size %d", o.data, loader_vocab_size(loader),
             config.vocab_size);
    Loader *held_out = NULL; // rank 0 evaluates
    char **eval_files = NULL;
    if (o.eval_data && lead) {
        int n_eval = 0;
        eval_files = expand_inputs(o.eval_data, ".tok.zst", &n_eval);
        held_out = loader_open(eval_files, n_eval, o.batch, o.seq, 0, 1);
    }

    DistOpt opt;
    dist_opt_build(&opt, &model, initial, o.beta1, o.beta2, o.eps, o.weight_decay, o.zero);
    free(initial);
    RunState s = {0};
    Rng rng;
    rng_seed(&rng, (uint64_t)o.seed);
    s.rng = rng.state;
    if (resuming && !train_resume(&o, &opt, loader, &s, &rng)) { // already at the last step
        dist_opt_free(&opt), loader_close(loader), model_free(&model);
        if (held_out) loader_close(held_out);
        free_string_list(files), free_string_list(eval_files);
        return 0;
    }
    size_t tokens_per_micro = (size_t)o.batch * o.seq;
    size_t tokens_per_step = tokens_per_micro * o.grad_accum * world; // the global batch
    int *inputs = xmalloc(tokens_per_micro * sizeof(int)), *targets = xmalloc(tokens_per_micro * sizeof(int));
    if (lead) {
        printf("model: %lld parameters, %d layers, width %d | data: %" PRIu64 " tokens in %d shard(s) | "
               "%zu tokens per step | backend %s",
               config_param_count(&config), config.n_layers, config.hidden_size, loader_total_tokens(loader), n_files,
               tokens_per_step, backend->name);
        if (world > 1) printf(" | %d ranks (%s)%s", world, opt.dev->name, opt.zero ? ", ZeRO-1" : "");
        printf("\n");
        fflush(stdout);
    }

    StepRun run = train_step_run(&o, backend, &opt);
    step_run_open(&run, o.model_dir, resuming, s.step);
    double run_start = now_seconds();
    SaveCtx sc = {&o, &model, &opt, &s, 0};
    int exit_status = -1;
    for (int step = s.step + 1; step <= o.steps && exit_status < 0; step++) {
        double t0 = now_seconds();
        sc.loss = train_step_passes(&o, &model, &opt, loader, inputs, targets, tokens_per_step);
        StepDone d = step_finish(&run, step, sc.loss);
        double dt = now_seconds() - t0;
        s.step = step;
        s.tokens_seen += tokens_per_step;
        s.elapsed += dt;
        loader_get_state(loader, &s.cursor, &s.epoch);
        s.rng = rng.state;
        double tok_s = tokens_per_step / dt;
        double avg = (now_seconds() - run_start) / (step - run.start_step);
        char eta[32];
        format_duration(avg * (o.steps - step), eta, sizeof eta);
        if (lead) {
            printf("step %*d/%d | loss %.4f | lr %.2e | norm %.3f | %.0f tok/s | ETA %s\n", (int)(log10(o.steps) + 1),
                   step, o.steps, sc.loss, d.lr, d.norm, tok_s, eta);
            fflush(stdout);
        }
        put_metrics(&run, step,
                    json_pack("{s:i, s:f, s:f, s:f, s:f, s:I, s:f, s:I}", "step", step, "loss", (double)sc.loss, "lr",
                              (double)d.lr, "grad_norm", (double)d.norm, "tokens_per_s", tok_s, "tokens",
                              (json_int_t)s.tokens_seen, "elapsed_s", s.elapsed, "epoch", (json_int_t)s.epoch));
        if (held_out && o.eval_every > 0 && (step % o.eval_every == 0 || step == o.steps)) {
            EvalResult r = eval_loader(&model, held_out, o.batch, o.seq, o.eval_batches);
            printf("eval step %d | loss %.4f | ppl %.3f | %" PRIu64 " tokens\n", step, r.loss, r.ppl, r.tokens);
            put_metrics(&run, step,
                        json_pack("{s:i, s:f, s:f, s:I}", "step", step, "eval_loss", r.loss, "eval_ppl", r.ppl,
                                  "eval_tokens", (json_int_t)r.tokens));
        }
        exit_status = step_checkpoint(&run, step, save_step, &sc);
    }
    step_run_close(&run, s.step);
    step_run_free(&run);
    if (exit_status < 0) exit_status = 0;
    if (lead && !exit_status && s.step == o.steps)
        printf("done: step %d, loss %.4f, checkpoint in %s\n", s.step, sc.loss, o.out);
    free(inputs), free(targets);
    dist_opt_free(&opt);
    loader_close(loader);
    if (held_out) loader_close(held_out);
    free_string_list(files);
    free_string_list(eval_files);
    model_free(&model);
    return exit_status;
}
