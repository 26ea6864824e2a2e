// stages.c: see stages.h.
#include "stages.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/check.h"
#include "../base/io.h"

char *iter_dir(const char *workdir, int t) {
    char name[32];
    snprintf(name, sizeof name, "iter-%02d", t);
    return path_join(workdir, name);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    if (remove(path) != 0) fail("cannot remove %s: %s", path, strerror(errno));
    return 0;
}

void remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) fail("cannot remove %s", path);
}

// The index of `name` in a NULL-terminated list of choices (a FLAG_CHOICE's names).
static int choice(const char *const *names, const char *name, const char *what) {
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], name) == 0) return i;
    fail("the %s '%s' is not one of the known names", what, name);
}

static int count_records_of(const char *json_path, const char *key) {
    json_error_t err;
    json_t *j = json_load_file(json_path, 0, &err);
    if (!j) fail("%s:%d: %s", json_path, err.line, err.text);
    int n = (int)json_integer_value(json_object_get(j, key));
    json_decref(j);
    return n;
}

// ---- what each stage runs ----

static void synth_options(Iter *it, StageOptions *so, StageOptions *defaults) {
    const LoopOptions *o = it->o;
    synth_options_default(&defaults->synth);
    SynthOptions *s = &so->synth;
    *s = defaults->synth;
    s->model_dir = it->prev_model, s->out = it->prompts, s->count = o->prompts, s->mode = o->synth_mode;
    s->seed_prompts = it->seed_prompts, s->existing = it->earlier_prompts;
    s->avoid = o->heldout; // held-out requests never come back as training prompts
    s->catalog_dir = o->catalog;
    s->max_new = o->synth_max_new, s->max_attempts = 8 * o->prompts + 16;
    s->id_prefix = it->id_prefix, s->iteration = it->t, s->seed = (int)it->seed, s->batch = o->batch;
    s->report = it->synth_report, s->rejects = it->synth_rejects; // what the filters dropped, and why
    if (o->constraints > 0) s->constraints = o->constraints, s->constraint_draws = o->constraint_draws;
    s->chat_template = o->chat_template, s->threads = o->threads, s->device = o->device;
}

static void gen_options(Iter *it, StageOptions *so, StageOptions *defaults) {
    const LoopOptions *o = it->o;
    answer_file_options_default(&defaults->gen);
    AnswerFileOptions *g = &so->gen;
    *g = defaults->gen;
    g->model_dir = it->prev_model, g->in = it->prompts, g->out = it->candidates;
    g->samples = o->candidates, g->max_new = o->max_new;
    g->sample.temperature = o->temperature, g->sample.top_p = 0.95f, g->sample.no_repeat_ngram = o->no_repeat_ngram;
    g->seed = (int)it->seed, g->batch = o->batch;
    g->chat_template = o->chat_template, g->threads = o->threads, g->device = o->device;
}

static void judge_options(Iter *it, StageOptions *so, StageOptions *defaults) {
    const LoopOptions *o = it->o;
    judge_options_default(&defaults->judge);
    JudgeOptions *j = &so->judge;
    *j = defaults->judge;
    j->model_dir = it->prev_model, j->in = it->candidates, j->out = it->judged, j->method = o->judge_method;
    if (strcmp(o->judge_method, "text") == 0) j->samples = o->judge_samples;
    j->seed = (int)it->seed, j->batch = o->batch, j->threads = o->threads, j->device = o->device;
}

static void clean_options(Iter *it, StageOptions *so, StageOptions *defaults) {
    clean_options_defaults(&defaults->clean);
    CleanOptions *c = &so->clean;
    *c = defaults->clean;
    c->input = it->use_judge ? it->judged : it->candidates, c->output = it->cleaned, c->report = it->clean_report;
    c->filter.min_chars = 1, c->progress = 0, c->threads = it->o->threads;
}

// the checks run on the cleaned text: what the pairs and SFT train on
static void verify_options(Iter *it, StageOptions *so, StageOptions *defaults) {
    verify_options_default(&defaults->verify);
    VerifyOptions *v = &so->verify;
    *v = defaults->verify;
    v->in = it->cleaned, v->out = it->verified, v->report = it->verify_report, v->repair = it->o->repair;
}

static const char *scored(const Iter *it) { return it->use_verify ? it->verified : it->cleaned; }

static void pairs_options(Iter *it, StageOptions *so, StageOptions *defaults) {
    pairs_options_default(&defaults->pairs);
    PairsOptions *p = &so->pairs;
    *p = defaults->pairs;
    p->in = scored(it), p->out = it->pairs, p->report = it->pairs_report, p->min_margin = it->o->min_margin;
    p->reward = (Reward)choice(REWARD_NAMES, it->o->reward, "reward");
}

static void pairs_check(Iter *it) {
    if (count_records_of(it->pairs_report, "pairs") == 0)
        fail("iteration %d made no preference pairs (see %s: ties, margins, unscored answers): nothing to train "
             "on. Try more candidates per prompt, a higher temperature or the logprob judge method",
             it->t, it->pairs_report);
}

static void sft_options(Iter *it, StageOptions *so, StageOptions *defaults) {
    const LoopOptions *o = it->o;
    remove_tree(it->sft);
    sft_options_default(&defaults->sft);
    SftOptions *s = &so->sft;
    *s = defaults->sft;
    s->model_dir = it->prev_model, s->data = scored(it), s->min_score = o->sft_min_score;
    if (it->use_verify) s->score_field = "verify_score", s->ended_only = 1;
    s->out = it->sft, s->lr = o->sft_lr > 0 ? o->sft_lr : o->lr;
    if (o->sft_steps > 0) s->steps = o->sft_steps;
    s->seed = (int)it->seed, s->chat_template = o->chat_template, s->threads = o->threads, s->device = o->device;
}

static void dpo_options(Iter *it, StageOptions *so, StageOptions *defaults) {
    const LoopOptions *o = it->o;
    char *state = path_join(it->model, "trainer_state.json");
    it->dpo_resume = path_exists(state);
    free(state);
    if (!it->dpo_resume) remove_tree(it->model);
    dpo_options_default(&defaults->dpo);
    DpoOptions *d = &so->dpo;
    *d = defaults->dpo;
    d->model_dir = it->policy_start, d->ref_dir = it->policy_start, d->pairs = it->pairs, d->out = it->model;
    d->loss = (DpoLossType)choice(DPO_LOSS_NAMES, o->dpo_loss, "DPO loss");
    d->beta = o->beta, d->lr = o->lr, d->batch = o->dpo_batch, d->epochs = o->epochs, d->max_len = o->max_len;
    d->save_every = 25, d->resume = it->dpo_resume;
    d->chat_template = o->chat_template, d->threads = o->threads, d->device = o->device;
}

static void dpo_after(Iter *it) { // the finished model needs no optimizer state (2 x 4 bytes x parameters more)
    char *opt = path_join(it->model, "optimizer.safetensors");
    unlink(opt);
    free(opt);
}

static void eval_pairs_options(Iter *it, StageOptions *so, StageOptions *defaults) {
    const LoopOptions *o = it->o;
    dpo_eval_options_default(&defaults->eval_pairs);
    DpoEvalOptions *e = &so->eval_pairs;
    *e = defaults->eval_pairs;
    e->model_dir = it->model, e->ref_dir = it->policy_start, e->pairs = it->pairs;
    e->beta = o->beta, e->max_len = o->max_len, e->json = 1;
    e->chat_template = o->chat_template, e->threads = o->threads, e->device = o->device;
}

static void winrate_options(Iter *it, StageOptions *so, StageOptions *defaults) {
    const LoopOptions *o = it->o;
    winrate_options_default(&defaults->winrate);
    WinrateOptions *w = &so->winrate;
    *w = defaults->winrate;
    w->model_dir = it->model, w->baseline_dir = it->prev_model, w->judge_dir = it->prev_model;
    w->prompts = it->eval_prompts, w->limit = o->eval_count > 0 ? o->eval_count : 0;
    w->max_new = o->max_new, w->seed = (int)it->seed;
    w->method = (JudgeMethod)choice(JUDGE_METHOD_NAMES, o->winrate_method, "win-rate judge method");
    w->out = it->winrate, w->markdown = it->winrate_md;
    w->chat_template = o->chat_template, w->threads = o->threads, w->device = o->device;
}

static void eval_constraints_options(Iter *it, StageOptions *so, StageOptions *defaults) {
    const LoopOptions *o = it->o;
    constraint_eval_options_default(&defaults->constraints);
    ConstraintEvalOptions *c = &so->constraints;
    *c = defaults->constraints;
    c->model_dir = it->model, c->baseline_dir = o->init, c->prompts = o->heldout;
    c->max_new = o->eval_max_new, c->batch = o->batch;
    c->out = it->constraints_json, c->markdown = it->constraints_md, c->records = it->constraints_records;
    if (it->t > 1) c->baseline_answers = it->m0_constraint_answers; // M0 answered the same prompts in iteration 1
    c->chat_template = o->chat_template, c->threads = o->threads, c->device = o->device;
}

static void ppl_options(const LoopOptions *o, const char *model, const char *data, PplOptions *p,
                        PplOptions *defaults) {
    ppl_options_default(defaults);
    *p = *defaults;
    p->model_dir = model, p->data = data, p->seq = 256, p->batch = 4, p->max_batches = o->eval_text_batches;
    p->json = 1, p->threads = o->threads, p->device = o->device;
}

static void eval_ppl_options(Iter *it, StageOptions *so, StageOptions *defaults) {
    ppl_options(it->o, it->model, it->eval_data, &so->ppl, &defaults->ppl);
}

static int uses_judge(const Iter *it) { return it->use_judge; }
static int uses_verify(const Iter *it) { return it->use_verify; }
static int uses_sft(const Iter *it) { return it->o->sft_min_score > 0; }
static int uses_winrate(const Iter *it) {
    return it->o->winrate_method[0] && strcmp(it->o->winrate_method, "none") != 0;
}
static int uses_heldout(const Iter *it) { return it->o->heldout != NULL; }
static int uses_eval_text(const Iter *it) { return it->o->eval_text != NULL; }

#define EXTRA(field) offsetof(LoopOptions, field)

// The stages of an iteration, in order (docs/formats.md "Self-rewarding work directory").
const Stage STAGES[] = {
    {"synth", NULL, "synth", SYNTH_FLAGS, 0, synth_options, EXTRA(synth_args), NULL, NULL, 0},
    {"gen", NULL, "gen", GEN_FLAGS, 1, gen_options, EXTRA(gen_args), NULL, NULL, 0},
    {"judge", uses_judge, "judge", JUDGE_FLAGS, 1, judge_options, EXTRA(judge_args), NULL, NULL, 0},
    {"clean", NULL, "data clean", CLEAN_FLAGS, 0, clean_options, EXTRA(clean_args), NULL, NULL, 0},
    {"verify", uses_verify, "verify", VERIFY_FLAGS, 0, verify_options, 0, NULL, NULL, 0},
    {"pairs", NULL, "pairs", PAIRS_FLAGS, 0, pairs_options, 0, pairs_check, NULL, 0},
    {"sft", uses_sft, "sft", SFT_FLAGS, 1, sft_options, 0, NULL, NULL, 0},
    {"dpo", NULL, "dpo", DPO_FLAGS, 1, dpo_options, EXTRA(dpo_args), NULL, dpo_after, 0},
    {"eval-pairs", NULL, "eval pairs", EVAL_PAIRS_FLAGS, 1, eval_pairs_options, 0, NULL, NULL,
     offsetof(Iter, eval_pairs)},
    {"winrate", uses_winrate, "eval winrate", WINRATE_FLAGS, 1, winrate_options, 0, NULL, NULL, 0},
    {"eval-constraints", uses_heldout, "eval constraints", CONSTRAINT_EVAL_FLAGS, 1, eval_constraints_options, 0, NULL,
     NULL, 0},
    {"eval-ppl", uses_eval_text, "eval ppl", PPL_FLAGS, 1, eval_ppl_options, 0, NULL, NULL, offsetof(Iter, ppl)},
};
const int N_STAGES = (int)(sizeof STAGES / sizeof STAGES[0]);

// [launcher] strap COMMAND, then the flags of `o` that differ from `defaults`
static void command_args(const LoopOptions *lo, const char *exe, int launched, const char *command, const Flag *flags,
                         const void *o, const void *defaults, ArgList *a) {
    if (launched) arg_add_words(a, lo->launch);
    arg_add(a, "%s", exe);
    arg_add_words(a, command);
    flags_to_args(flags, o, defaults, a);
}

void stage_args(const Stage *st, Iter *it, ArgList *a) {
    StageOptions o, defaults;
    st->options(it, &o, &defaults);
    command_args(it->o, it->exe, st->launched, st->command, st->flags, &o, &defaults, a);
    if (st->extra) arg_add_words(a, *(const char *const *)((const char *)it->o + st->extra));
}

void seed_pack_args(const LoopOptions *o, const char *exe, const char *eval_data, ArgList *a) {
    PackRunOptions p, defaults;
    pack_run_options_default(&defaults);
    p = defaults;
    char *tokenizer = path_join(o->init, "tokenizer.json");
    p.tokenizer = tokenizer, p.input = o->eval_text, p.out = eval_data, p.threads = o->threads;
    command_args(o, exe, 0, "data pack", PACK_FLAGS, &p, &defaults, a);
    free(tokenizer);
}

void seed_ppl_args(const LoopOptions *o, const char *exe, const char *eval_data, ArgList *a) {
    PplOptions p, defaults;
    ppl_options(o, o->init, eval_data, &p, &defaults);
    command_args(o, exe, 1, "eval ppl", PPL_FLAGS, &p, &defaults, a);
}

// ---- an iteration's files ----

void iter_build(Iter *it, int t) {
    const LoopOptions *o = it->o;
    it->t = t;
    it->seed = (uint64_t)o->seed * 1000 + (uint64_t)t;
    it->dir = iter_dir(o->workdir, t);
    char **paths[] = {&it->prompts,
                      &it->candidates,
                      &it->judged,
                      &it->cleaned,
                      &it->verified,
                      &it->pairs,
                      &it->sft,
                      &it->model,
                      &it->synth_report,
                      &it->synth_rejects,
                      &it->clean_report,
                      &it->verify_report,
                      &it->pairs_report,
                      &it->eval_pairs,
                      &it->winrate,
                      &it->winrate_md,
                      &it->ppl,
                      &it->constraints_json,
                      &it->constraints_md,
                      &it->constraints_records};
    const char *names[] = {"prompts.jsonl.zst",
                           "candidates.jsonl.zst",
                           "judged.jsonl.zst",
                           "cleaned.jsonl.zst",
                           "verified.jsonl.zst",
                           "pairs.jsonl.zst",
                           "sft",
                           "model",
                           "synth.json",
                           "synth-rejects.jsonl.zst",
                           "clean.json",
                           "verify.json",
                           "pairs.json",
                           "eval_pairs.json",
                           "winrate.json",
                           "winrate.md",
                           "ppl.json",
                           "constraints.json",
                           "constraints.md",
                           "constraints.jsonl.zst"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) *paths[i] = path_join(it->dir, names[i]);
    char *first = iter_dir(o->workdir, 1);
    it->m0_constraint_answers = path_join(first, "constraints.jsonl.zst");
    free(first);
    snprintf(it->id_prefix, sizeof it->id_prefix, "it%02d", t);
    it->use_judge = strcmp(o->reward, "verify") != 0, it->use_verify = strcmp(o->reward, "judge") != 0;
    it->policy_start = o->sft_min_score > 0 ? it->sft : it->prev_model;
}

void iter_free(Iter *it) {
    char *paths[] = {it->dir,
                     it->prompts,
                     it->candidates,
                     it->judged,
                     it->cleaned,
                     it->verified,
                     it->pairs,
                     it->sft,
                     it->model,
                     it->synth_report,
                     it->synth_rejects,
                     it->clean_report,
                     it->verify_report,
                     it->pairs_report,
                     it->eval_pairs,
                     it->winrate,
                     it->winrate_md,
                     it->ppl,
                     it->constraints_json,
                     it->constraints_md,
                     it->constraints_records,
                     it->m0_constraint_answers};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) free(paths[i]);
}
