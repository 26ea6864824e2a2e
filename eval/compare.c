// compare.c: see compare.h.
#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/json_file.h"
#include "../base/text.h"
#include "../data/jsonl.h"
#include "../dist/dist.h"
#include "../dist/dist_records.h"
#include "../selfplay/answer.h"
#include "winrate.h"

void winrate_options_default(WinrateOptions *o) {
    memset(o, 0, sizeof *o);
    o->device = "auto";
    o->max_new = 256;
    o->batch = 8;
    o->temperature = 0.0f;
    o->top_p = 1.0f;
    o->method = JUDGE_LOGPROB;
    o->judge_max_new = 256;
    o->judge_temperature = 0.0f;
}

void judge_accuracy_options_default(JudgeAccuracyOptions *o) {
    memset(o, 0, sizeof *o);
    o->device = "auto";
    o->batch = 8;
    o->method = JUDGE_LOGPROB;
    o->judge_max_new = 256;
    o->rubric = 1;
}

static const char *method_name(JudgeMethod m) { return JUDGE_METHOD_NAMES[m]; }

// A comparison's report: the Markdown printed and written to `markdown` (if given), the JSON
// written to `out` or, without it, printed; both released.
static void report_emit(json_t *j, Text *md, const char *out, const char *markdown) {
    printf("%s\n", md->s);
    if (out) json_write_atomic(out, j, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    if (markdown) write_file_atomic(markdown, md->s, md->len);
    if (!out) {
        char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(12));
        printf("%s\n", text);
        free(text);
    }
    json_decref(j);
    free(md->s);
    memset(md, 0, sizeof *md);
}

// The records of a .jsonl(.zst) file, each checked to hold the string fields `need`.
static json_t **read_records(const char *path, const char *const *need, int n_need, const char *what, int limit,
                             int *n_out) {
    JsonlReader *r = jsonl_open(path);
    int n = 0, cap = 64;
    json_t **recs = xmalloc((size_t)cap * sizeof(json_t *));
    json_t *obj;
    while ((limit <= 0 || n < limit) && jsonl_next(r, &obj)) {
        for (int k = 0; k < n_need; k++)
            if (!json_is_string(json_object_get(obj, need[k])))
                fail("%s:%ld: field '%s' missing or not a string (%s)", path, jsonl_line(r), need[k], what);
        if (n == cap) recs = xrealloc(recs, (size_t)(cap *= 2) * sizeof(json_t *));
        CHECK(recs != NULL, "out of memory");
        recs[n++] = obj;
    }
    jsonl_close(r);
    if (n == 0) fail("%s holds no records (%s)", path, what);
    *n_out = n;
    return recs;
}

// Output names are checked before any model runs: a bad one must not cost the whole evaluation.
static void check_outputs(const char *records) {
    if (records && !jsonl_is_jsonl_path(records)) fail("records file %s: name it .jsonl or .jsonl.zst", records);
}

static json_t *verdict_json(const PairVerdict *v) {
    const char *name = verdict_name(v->verdict);
    return name ? json_string(name) : json_null();
}

// ---- under mpirun: each rank compares a share of the prompts (dist/dist_records.h) ----

// The places in the file of this rank's inputs (all n without mpirun).
static int *my_inputs(int n, int *n_mine) {
    int *index = xmalloc((size_t)n * sizeof(int)), k = 0;
    for (int i = 0; i < n; i++)
        if (dist_records_mine(i)) index[k++] = i;
    *n_mine = k;
    return index;
}

// Comparison 2i shows the pair in one order, 2i+1 in the other; the places of a rank's
// comparisons among all 2n, for the seeds of sampled verdicts.
static int *comparison_index(const int *index, int n_mine) {
    int *c = xmalloc(2 * (size_t)(n_mine ? n_mine : 1) * sizeof(int));
    for (int k = 0; k < n_mine; k++) c[2 * k] = 2 * index[k], c[2 * k + 1] = 2 * index[k] + 1;
    return c;
}

// Every rank's tally summed (a no-op with one rank); `extra` host values summed with it.
static void win_tally_sum(WinTally *t, double *extra, int n_extra) {
    double v[16];
    CHECK(n_extra <= 8, "win_tally_sum: %d extra values", n_extra);
    int *field[8] = {&t->prompts,     &t->wins,     &t->ties,           &t->losses,
                     &t->unparseable, &t->verdicts, &t->first_position, &t->consistent};
    for (int k = 0; k < 8; k++) v[k] = *field[k];
    for (int k = 0; k < n_extra; k++) v[8 + k] = extra[k];
    dist_sum(v, 8 + n_extra);
    for (int k = 0; k < 8; k++) *field[k] = (int)v[k];
    for (int k = 0; k < n_extra; k++) extra[k] = v[8 + k];
}

// "winrate: 2 ranks: rank 0 compares 3 of the 5 prompts" (rank 0 under mpirun only)
static void say_split(const char *command, const char *items, int n_mine, int n) {
    if (comm_rank() == 0 && comm_world() > 1)
        printf("%s: %d ranks: rank 0 compares %d of the %d %s\n", command, comm_world(), n_mine, n, items);
}

// ---- strap eval winrate ----

// The record of prompt k (--records): both answers, the verdicts (or rubric scores), the outcome.
static json_t *winrate_record(const WinrateOptions *o, json_t *prompt_rec, int index, const Answers *am,
                              const Answers *ab, int k, const double *score, const PairVerdict *v, Outcome oc) {
    int rubric = o->method == JUDGE_RUBRIC;
    json_t *rec = json_object();
    json_t *id = json_object_get(prompt_rec, "id");
    json_object_set_new(rec, "prompt_id", id ? json_deep_copy(id) : json_integer(index));
    json_object_set(rec, "prompt", json_object_get(prompt_rec, "prompt"));
    json_object_set_new(rec, "answer_model", json_string(am->text[k]));
    json_object_set_new(rec, "answer_baseline", json_string(ab->text[k]));
    json_object_set_new(rec, "tokens_model", json_integer(am->tokens[k]));
    json_object_set_new(rec, "tokens_baseline", json_integer(ab->tokens[k]));
    json_object_set_new(rec, "finish_model", json_string(am->finish[k]));
    json_object_set_new(rec, "finish_baseline", json_string(ab->finish[k]));
    if (rubric) {
        for (int c = 0; c < 2; c++)
            json_object_set_new(rec, c ? "rubric_baseline" : "rubric_model",
                                isnan(score[2 * k + c]) ? json_null() : json_real(score[2 * k + c]));
    } else {
        // "first" in verdict_model_first means the model's answer, in verdict_baseline_first the baseline's
        json_object_set_new(rec, "verdict_model_first", verdict_json(&v[2 * k]));
        json_object_set_new(rec, "verdict_baseline_first", verdict_json(&v[2 * k + 1]));
        for (int c = 0; c < 2; c++) {
            const PairVerdict *pv = &v[2 * k + c];
            if (o->method == JUDGE_LOGPROB)
                json_object_set_new(rec, c ? "p_first_baseline_first" : "p_first_model_first",
                                    isnan(pv->p_first) ? json_null() : json_real(pv->p_first));
            else
                json_object_set_new(rec, c ? "judgement_baseline_first" : "judgement_model_first",
                                    pv->judgement ? json_string(pv->judgement) : json_null());
        }
    }
    for (int c = 0; c < 2; c++)
        if (v[2 * k + c].error)
            json_object_set_new(rec, c ? "error_baseline_first" : "error_model_first", json_string(v[2 * k + c].error));
    json_object_set_new(rec, "outcome", json_string(outcome_name(oc)));
    return rec;
}

// Rank 0: the JSON and Markdown of the comparison (sums: answer tokens of the model and of
// the baseline, rubric scores of both; scored: prompts with both rubric scores).
static void winrate_report(const WinrateOptions *o, const WinTally *tally, const double *sums, int n, int scored) {
    int rubric = o->method == JUDGE_RUBRIC;
    WinTally t = *tally;
    json_t *j = win_tally_json(&t);
    json_object_set_new(j, "mean_tokens_model", json_real(sums[0] / n));
    json_object_set_new(j, "mean_tokens_baseline", json_real(sums[1] / n));
    if (rubric) {
        json_object_set_new(j, "mean_rubric_model", scored ? json_real(sums[2] / scored) : json_null());
        json_object_set_new(j, "mean_rubric_baseline", scored ? json_real(sums[3] / scored) : json_null());
    }
    json_object_set_new(j, "model", json_string(o->model_dir));
    json_object_set_new(j, "baseline", json_string(o->baseline_dir));
    json_object_set_new(j, "judge", json_string(o->judge_dir));
    json_object_set_new(j, "judge_method", json_string(method_name(o->method)));
    json_object_set_new(j, "prompts_file", json_string(o->prompts));
    json_object_set_new(j, "max_new", json_integer(o->max_new));
    json_object_set_new(j, "temperature", json_real(o->temperature));
    json_object_set_new(j, "seed", json_integer(o->seed));
    double rate = win_tally_rate(&t), lo, hi;
    wilson_interval(rate, t.prompts, WILSON_Z95, &lo, &hi);

    Text md = {0};
    text_printf(&md, "# Win rate: %s against %s\n\n", o->model_dir, o->baseline_dir);
    if (rubric)
        text_printf(&md,
                    "Judge %s: each answer to each of %d prompts from `%s` scored alone with the 5-point rubric "
                    "(expected score by log-prob): a win when the model's answer scores higher, a loss when lower, "
                    "a tie when equal or unscored (%d prompt%s too long for the judge). Mean rubric score: model "
                    "%.3f, baseline %.3f. Ties count as half a win; the interval is the 95%% Wilson score "
                    "interval.\n\n",
                    o->judge_dir, n, o->prompts, t.unparseable, t.unparseable == 1 ? "" : "s",
                    scored ? sums[2] / scored : NAN, scored ? sums[3] / scored : NAN);
    else
        text_printf(&md,
                    "Judge %s (%s verdicts), each of %d prompts from `%s` judged in both answer orders: a win when "
                    "the model's answer is preferred in both, a loss when the baseline's is, a tie otherwise "
                    "(including %d prompt%s with an unparseable verdict). Ties count as half a win; the interval is "
                    "the 95%% Wilson score interval.\n\n",
                    o->judge_dir, method_name(o->method), n, o->prompts, t.unparseable, t.unparseable == 1 ? "" : "s");
    text_printf(&md, "| prompts | wins | ties | losses | unparseable | win rate | 95%% CI | position consistency | "
                     "first-position rate | mean answer tokens (model / baseline) |\n");
    text_printf(&md, "|---|---|---|---|---|---|---|---|---|---|\n");
    text_printf(&md, "| %d | %d | %d | %d | %d | %.3f | %.3f-%.3f | ", t.prompts, t.wins, t.ties, t.losses,
                t.unparseable, rate, lo, hi);
    if (rubric)
        text_printf(&md, "- | ");
    else
        text_printf(&md, "%.3f | ", (double)t.consistent / t.prompts);
    if (t.verdicts && !rubric)
        text_printf(&md, "%.3f | ", (double)t.first_position / t.verdicts);
    else
        text_printf(&md, "- | ");
    text_printf(&md, "%.1f / %.1f |\n", sums[0] / n, sums[1] / n);

    report_emit(j, &md, o->out, o->markdown);
}

int winrate_run(const WinrateOptions *o) {
    if (o->max_new < 1 || o->batch < 1 || o->judge_max_new < 1)
        fail("the new tokens per answer, the batch and the judge's new tokens must be positive (got %d, %d, %d)",
             o->max_new, o->batch, o->judge_max_new);
    check_outputs(o->records);
    char *tpl = o->template_path ? read_file(o->template_path, NULL) : NULL;
    if (tpl) free(pairwise_build_prompt(tpl, "", "", "")); // a bad template fails before any work
    const char *need[1] = {"prompt"};
    int n, n_mine, lead = comm_rank() == 0;
    json_t **recs = read_records(o->prompts, need, 1, "a prompt record needs \"prompt\"", o->limit, &n);
    int *mine = my_inputs(n, &n_mine), *cmp_index = comparison_index(mine, n_mine);
    json_t **my_recs = xmalloc((size_t)(n_mine ? n_mine : 1) * sizeof(json_t *));
    for (int k = 0; k < n_mine; k++) my_recs[k] = recs[mine[k]];
    Backend *backend = dist_backend_select(o->device, o->threads); // a rank's share of the cores, its own GPU
    AnswerOptions ao;
    memset(&ao, 0, sizeof ao);
    ao.chat_template = o->chat_template, ao.max_new = o->max_new, ao.batch = o->batch, ao.seed = (uint64_t)o->seed;
    ao.index = mine;
    sample_options_default(&ao.sample);
    ao.sample.temperature = o->temperature, ao.sample.top_p = o->top_p;
    Answers am = {0}, ab = {0};
    if (lead) printf("winrate: %d prompts; answering with %s, then %s\n", n, o->model_dir, o->baseline_dir);
    say_split("winrate", "prompts", n_mine, n);
    fflush(stdout);
    if (n_mine) { // more ranks than prompts: some have nothing to do
        ao.progress = lead ? "winrate: the model answers" : NULL;
        answers_generate(&am, o->model_dir, backend, my_recs, n_mine, o->prompts, &ao);
        ao.progress = lead ? "winrate: the baseline answers" : NULL;
        answers_generate(&ab, o->baseline_dir, backend, my_recs, n_mine, o->prompts, &ao);
    }

    // comparisons 2k (model first) and 2k+1 (baseline first) of this rank's k-th prompt
    size_t n_cmp = 2 * (size_t)(n_mine ? n_mine : 1);
    const char **prompt = xmalloc(n_cmp * sizeof(char *)), **first = xmalloc(n_cmp * sizeof(char *)),
               **second = xmalloc(n_cmp * sizeof(char *));
    for (int k = 0; k < n_mine; k++) {
        prompt[2 * k] = prompt[2 * k + 1] = json_string_value(json_object_get(my_recs[k], "prompt"));
        first[2 * k] = am.text[k], second[2 * k] = ab.text[k];
        first[2 * k + 1] = ab.text[k], second[2 * k + 1] = am.text[k];
    }
    int rubric = o->method == JUDGE_RUBRIC;
    if (lead && rubric)
        printf("winrate: scoring %d answers with %s (the 5-point rubric by log-prob, each answer alone)\n", 2 * n,
               o->judge_dir);
    else if (lead)
        printf("winrate: judging %d comparisons with %s (%s verdicts, both answer orders)\n", 2 * n, o->judge_dir,
               method_name(o->method));
    fflush(stdout);
    PairVerdict *v = xcalloc(n_cmp, sizeof(PairVerdict));
    double *score = rubric ? xmalloc(n_cmp * sizeof(double)) : NULL; // 2k: the model's answer, 2k+1: the baseline's
    if (n_mine) {
        PairJudge judge;
        pair_judge_open(&judge, o->judge_dir, backend, o->chat_template, o->method, tpl, o->judge_max_new,
                        o->judge_temperature, (uint64_t)o->seed);
        judge.progress = lead ? "winrate: judging" : NULL;
        if (rubric)
            pair_judge_rubric(&judge, prompt, first, 2 * n_mine, score); // first: model, baseline, ...
        else
            pair_judge_run(&judge, prompt, first, second, 2 * n_mine, cmp_index, o->batch, v);
        pair_judge_close(&judge);
    }

    WinTally t = {0};
    t.pointwise = rubric;          // (a rank without prompts adds none)
    double sums[4] = {0, 0, 0, 0}; // answer tokens of the model, of the baseline; rubric scores of both
    DistRecords w;
    if (o->records) dist_records_open(&w, o->records);
    for (int k = 0; k < n_mine; k++) {
        Outcome oc = rubric ? win_tally_add_scores(&t, score[2 * k], score[2 * k + 1])
                            : win_tally_add(&t, v[2 * k].verdict, v[2 * k + 1].verdict);
        sums[0] += am.tokens[k], sums[1] += ab.tokens[k];
        if (rubric && !isnan(score[2 * k]) && !isnan(score[2 * k + 1]))
            sums[2] += score[2 * k], sums[3] += score[2 * k + 1];
        if (!o->records) continue;
        json_t *rec = winrate_record(o, my_recs[k], mine[k], &am, &ab, k, score, v, oc);
        dist_records_put(&w, rec);
        dist_records_end_input(&w);
        json_decref(rec);
    }
    win_tally_sum(&t, sums, 4);
    int scored = t.prompts - t.unparseable; // rubric: prompts with both scores
    if (o->records) dist_records_close(&w); // collective: rank 0 writes every rank's records in prompt order

    if (lead) winrate_report(o, &t, sums, n, scored);
    for (int i = 0; i < 2 * n_mine; i++) free(v[i].judgement);
    free(v), free(score), free(prompt), free(first), free(second), free(tpl), free(mine), free(cmp_index),
        free(my_recs);
    answers_free(&am), answers_free(&ab);
    for (int i = 0; i < n; i++) json_decref(recs[i]);
    free(recs);
    return 0;
}

// ---- strap eval judge-accuracy ----

// The record of labelled pair k (--records): both verdicts, the outcome, rubric scores.
static json_t *accuracy_record(const JudgeAccuracyOptions *o, json_t *pair_rec, int index, int k, const PairVerdict *v,
                               Outcome oc, int rubric, const double *scores) {
    json_t *rec = json_object();
    json_t *id = json_object_get(pair_rec, "prompt_id");
    json_object_set_new(rec, "prompt_id", id ? json_deep_copy(id) : json_integer(index));
    json_object_set_new(rec, "verdict_chosen_first", verdict_json(&v[2 * k]));
    json_object_set_new(rec, "verdict_rejected_first", verdict_json(&v[2 * k + 1]));
    if (o->method == JUDGE_LOGPROB) {
        json_object_set_new(rec, "p_first_chosen_first",
                            isnan(v[2 * k].p_first) ? json_null() : json_real(v[2 * k].p_first));
        json_object_set_new(rec, "p_first_rejected_first",
                            isnan(v[2 * k + 1].p_first) ? json_null() : json_real(v[2 * k + 1].p_first));
    } else {
        json_object_set_new(rec, "judgement_chosen_first",
                            v[2 * k].judgement ? json_string(v[2 * k].judgement) : json_null());
        json_object_set_new(rec, "judgement_rejected_first",
                            v[2 * k + 1].judgement ? json_string(v[2 * k + 1].judgement) : json_null());
    }
    json_object_set_new(rec, "outcome",
                        json_string(oc == OUTCOME_WIN    ? "correct"
                                    : oc == OUTCOME_LOSS ? "wrong"
                                                         : "tie"));
    if (rubric) {
        json_object_set_new(rec, "rubric_chosen", isnan(scores[2 * k]) ? json_null() : json_real(scores[2 * k]));
        json_object_set_new(rec, "rubric_rejected",
                            isnan(scores[2 * k + 1]) ? json_null() : json_real(scores[2 * k + 1]));
    }
    return rec;
}

// Rank 0: the JSON and Markdown of the judge's accuracy (rubric_count: rubric-scored pairs,
// correct, ties).
static void accuracy_report(const JudgeAccuracyOptions *o, const WinTally *tally, int n, int rubric,
                            const double *rubric_count) {
    WinTally t = *tally;
    int rubric_scored = (int)rubric_count[0], rubric_correct = (int)rubric_count[1], rubric_ties = (int)rubric_count[2];
    double acc = win_tally_rate(&t), lo, hi;
    wilson_interval(acc, t.prompts, WILSON_Z95, &lo, &hi);
    json_t *j = json_pack("{s:i, s:f, s:f, s:f, s:i, s:i, s:i, s:i, s:f}", "pairs", n, "accuracy", acc, "ci_low", lo,
                          "ci_high", hi, "correct", t.wins, "ties", t.ties, "wrong", t.losses, "unparseable",
                          t.unparseable, "ties_count_as", 0.5);
    CHECK(j != NULL, "json_pack failed");
    json_object_set_new(j, "position_consistency", json_real((double)t.consistent / n));
    json_object_set_new(j, "first_position_rate",
                        t.verdicts ? json_real((double)t.first_position / t.verdicts) : json_null());
    double racc = 0, rlo = 0, rhi = 1;
    if (rubric_scored) {
        racc = (rubric_correct + 0.5 * rubric_ties) / rubric_scored;
        wilson_interval(racc, rubric_scored, WILSON_Z95, &rlo, &rhi);
        json_object_set_new(j, "rubric",
                            json_pack("{s:i, s:f, s:f, s:f, s:i, s:i}", "scored", rubric_scored, "accuracy", racc,
                                      "ci_low", rlo, "ci_high", rhi, "correct", rubric_correct, "ties", rubric_ties));
    } else if (rubric) { // every rubric prompt was longer than the judge's context
        json_object_set_new(j, "rubric", json_pack("{s:i}", "scored", 0));
    }
    json_object_set_new(j, "judge", json_string(o->judge_dir));
    json_object_set_new(j, "judge_method", json_string(method_name(o->method)));
    json_object_set_new(j, "labelled", json_string(o->labelled));

    Text md = {0};
    text_printf(&md, "# Judge accuracy: %s on `%s`\n\n", o->judge_dir, o->labelled);
    text_printf(
        &md,
        "Each of %d labelled pairs judged pairwise in both answer orders (%s verdicts): correct when the chosen "
        "answer is preferred in both, wrong when the rejected one is, a tie otherwise (including %d with an "
        "unparseable verdict); ties count as half. %s95%% Wilson score intervals.\n\n",
        n, method_name(o->method), t.unparseable,
        rubric_scored ? "Rubric: the 5-point rubric's expected score (log-prob) of each answer, correct when the "
                        "chosen answer scores higher. "
                      : "");
    text_printf(&md,
                "| method | pairs | correct | ties | wrong | accuracy | 95%% CI |\n|---|---|---|---|---|---|---|\n");
    text_printf(&md, "| pairwise, both orders | %d | %d | %d | %d | %.3f | %.3f-%.3f |\n", n, t.wins, t.ties, t.losses,
                acc, lo, hi);
    if (rubric_scored)
        text_printf(&md, "| rubric score | %d | %d | %d | %d | %.3f | %.3f-%.3f |\n", rubric_scored, rubric_correct,
                    rubric_ties, rubric_scored - rubric_correct - rubric_ties, racc, rlo, rhi);
    report_emit(j, &md, o->out, o->markdown);
}

int judge_accuracy_run(const JudgeAccuracyOptions *o) {
    if (o->batch < 1 || o->judge_max_new < 1)
        fail("the batch and the judge's new tokens must be positive (got %d, %d)", o->batch, o->judge_max_new);
    check_outputs(o->records);
    char *tpl = o->template_path ? read_file(o->template_path, NULL) : NULL;
    if (tpl) free(pairwise_build_prompt(tpl, "", "", ""));
    const char *need[3] = {"prompt", "chosen", "rejected"};
    int n, n_mine, lead = comm_rank() == 0;
    json_t **recs = read_records(o->labelled, need, 3, "a labelled pair needs prompt, chosen, rejected", o->limit, &n);
    int *mine = my_inputs(n, &n_mine), *cmp_index = comparison_index(mine, n_mine);
    Backend *backend = dist_backend_select(o->device, o->threads);
    size_t n_cmp = 2 * (size_t)(n_mine ? n_mine : 1);
    const char **prompt = xmalloc(n_cmp * sizeof(char *)), **first = xmalloc(n_cmp * sizeof(char *)),
               **second = xmalloc(n_cmp * sizeof(char *));
    for (int k = 0; k < n_mine; k++) { // 2k: chosen first; 2k+1: rejected first
        json_t *rec = recs[mine[k]];
        const char *p = json_string_value(json_object_get(rec, "prompt")),
                   *c = json_string_value(json_object_get(rec, "chosen")),
                   *r = json_string_value(json_object_get(rec, "rejected"));
        prompt[2 * k] = prompt[2 * k + 1] = p;
        first[2 * k] = c, second[2 * k] = r, first[2 * k + 1] = r, second[2 * k + 1] = c;
    }
    if (lead)
        printf("judge-accuracy: %d labelled pairs, judge %s (%s verdicts, both answer orders%s)\n", n, o->judge_dir,
               method_name(o->method), o->rubric ? ", and the 5-point rubric by log-prob" : "");
    say_split("judge-accuracy", "pairs", n_mine, n);
    fflush(stdout);
    PairVerdict *v = xmalloc(n_cmp * sizeof(PairVerdict));
    double *scores = NULL; // 2k: chosen, 2k+1: rejected
    int has_digits = 1;
    if (n_mine) {
        PairJudge judge;
        pair_judge_open(&judge, o->judge_dir, backend, o->chat_template, o->method, tpl, o->judge_max_new,
                        o->judge_temperature, (uint64_t)o->seed);
        judge.progress = lead ? "judge-accuracy: pairwise" : NULL;
        pair_judge_run(&judge, prompt, first, second, 2 * n_mine, cmp_index, o->batch, v);
        has_digits = judge.has_digits;
        if (o->rubric && has_digits) {
            scores = xmalloc(n_cmp * sizeof(double));
            const char **answers = xmalloc(n_cmp * sizeof(char *));
            for (int k = 0; k < n_mine; k++) answers[2 * k] = first[2 * k], answers[2 * k + 1] = second[2 * k];
            judge.progress = lead ? "judge-accuracy: rubric" : NULL;
            pair_judge_rubric(&judge, prompt, answers, 2 * n_mine, scores);
            free(answers);
        }
        pair_judge_close(&judge);
    }
    has_digits = !dist_any(!has_digits); // one tokenizer on every rank; a rank without pairs says yes
    int rubric = o->rubric && has_digits;
    if (lead && o->rubric && !has_digits)
        fprintf(
            stderr,
            "strap: warning: the judge's tokenizer does not encode each digit 0-5 as one token: no rubric scores\n");

    WinTally t = {0};
    double rubric_count[3] = {0, 0, 0}; // scored, correct, ties
    DistRecords w;
    if (o->records) dist_records_open(&w, o->records);
    for (int k = 0; k < n_mine; k++) {
        Outcome oc = win_tally_add(&t, v[2 * k].verdict, v[2 * k + 1].verdict);
        int scored = rubric && !isnan(scores[2 * k]) && !isnan(scores[2 * k + 1]);
        if (scored) {
            rubric_count[0]++;
            rubric_count[1] += scores[2 * k] > scores[2 * k + 1];
            rubric_count[2] += scores[2 * k] == scores[2 * k + 1];
        }
        if (!o->records) continue;
        json_t *rec = accuracy_record(o, recs[mine[k]], mine[k], k, v, oc, rubric, scores);
        dist_records_put(&w, rec);
        dist_records_end_input(&w);
        json_decref(rec);
    }
    win_tally_sum(&t, rubric_count, 3);
    if (o->records) dist_records_close(&w);
    if (lead) accuracy_report(o, &t, n, rubric, rubric_count);
    for (int i = 0; i < 2 * n_mine; i++) free(v[i].judgement);
    free(v), free(scores), free(prompt), free(first), free(second), free(tpl), free(mine), free(cmp_index);
    for (int i = 0; i < n; i++) json_decref(recs[i]);
    free(recs);
    return 0;
}
