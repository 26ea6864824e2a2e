// loop_report.c: see loop_report.h.
#include "loop_report.h"

#include <jansson.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/text.h"

extern char **environ;

// W/iter-NN/name as JSON, or NULL when the stage has not written it.
static json_t *load(const char *workdir, int t, const char *name) {
    char rel[128];
    snprintf(rel, sizeof rel, "iter-%02d/%s", t, name);
    char *path = path_join(workdir, rel);
    json_t *j = NULL;
    if (path_exists(path)) {
        json_error_t err;
        j = json_load_file(path, 0, &err);
        if (!j) fail("%s:%d: %s", path, err.line, err.text);
    }
    free(path);
    return j;
}

// The DPO metrics: first and last step, means over the run.
typedef struct {
    int steps;
    json_t *first, *last;
} DpoSummary;

static DpoSummary load_dpo(const char *workdir, int t) {
    DpoSummary d = {0};
    char rel[128];
    snprintf(rel, sizeof rel, "iter-%02d/model/metrics.jsonl", t);
    char *path = path_join(workdir, rel);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f) return d;
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        if (!j || !json_object_get(j, "loss")) {
            json_decref(j);
            continue;
        }
        d.steps++;
        if (!d.first)
            d.first = j;
        else {
            json_decref(d.last);
            d.last = j;
        }
    }
    fclose(f);
    if (d.first && !d.last) d.last = json_incref(d.first);
    return d;
}

static double num(json_t *o, const char *key) {
    json_t *v = o ? json_object_get(o, key) : NULL;
    return v ? json_number_value(v) : 0.0;
}

static int has(json_t *o, const char *key) { return o && json_object_get(o, key) != NULL; }

// Runs scripts/plot_loop.py (next to the binary, else ./scripts) with python3 when both
// are there; the script itself says when matplotlib is missing.
static void make_plots(const char *workdir) {
    char *script = path_near_exe("scripts/plot_loop.py");
    // the python3 on PATH, else the system's (where Debian's python3-matplotlib lives when PATH
    // leads to another Python); the script exits 3 when it finds no matplotlib
    static const char *pythons[] = {"python3", "/usr/bin/python3"};
    for (int k = 0; k < 2 && path_exists(script); k++) {
        char *argv[] = {(char *)pythons[k], script, (char *)workdir, "--quiet", NULL};
        pid_t pid;
        int status = -1;
        if (posix_spawnp(&pid, pythons[k], NULL, NULL, argv, environ) != 0) continue;
        waitpid(pid, &status, 0);
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 3)) break;
    }
    free(script);
}

// The held-out verifiable-instruction accuracy of M0 and every M(t) (eval constraints, each
// against M0), when the run has it.
static void constraints_table(Text *t, const char *workdir, int iterations) {
    json_t *first = load(workdir, 1, "constraints.json");
    if (!first) return;
    json_t *m0 = json_object_get(first, "baseline");
    text_printf(t,
                "\n**Verifiable instructions on held-out prompts** (`iter-NN/constraints.md`: %.0f prompts, %.0f "
                "constraints, greedy answers checked by program; each model against M0, exact McNemar test):\n\n",
                num(first, "prompts"), num(first, "instructions"));
    text_printf(
        t, "| model | prompt-level | instruction-level | vs M0 (points) | passes only M(t) / only M0 | McNemar p | "
           "cut off | loops |\n|---|---|---|---|---|---|---|---|\n");
    text_printf(t, "| M0 | %.3f | %.3f | | | | %.0f | %.0f |\n", num(m0, "prompt_accuracy"),
                num(m0, "instruction_accuracy"), num(m0, "cut_off"), num(m0, "loops"));
    json_decref(first);
    for (int i = 1; i <= iterations; i++) {
        json_t *c = load(workdir, i, "constraints.json");
        if (!c) continue;
        json_t *m = json_object_get(c, "model");
        text_printf(t, "| M%d | %.3f | %.3f | %+.1f | %.0f / %.0f | %.4g | %.0f | %.0f |\n", i,
                    num(m, "prompt_accuracy"), num(m, "instruction_accuracy"), 100 * num(c, "prompt_accuracy_delta"),
                    num(c, "model_only_passes"), num(c, "baseline_only_passes"), num(c, "mcnemar_p"), num(m, "cut_off"),
                    num(m, "loops"));
        json_decref(c);
    }
    text_printf(t, "\n![Held-out verifiable instructions](plots/constraints.png)\n");
}

// The summary table: one row per iteration (and M0's perplexity).
static void summary_table(Text *t, const char *workdir, int iterations) {
    text_printf(
        t,
        "| iteration | prompts (generated) | answers judged | kept after cleaning | pairs | DPO steps | DPO loss "
        "(first -> last) | reward accuracy (last step) | pair accuracy | win rate vs previous (95%% CI) | held-out ppl |\n");
    text_printf(t, "|---|---|---|---|---|---|---|---|---|---|---|\n");
    char *init_ppl_path = path_join(workdir, "seed/ppl-init.json");
    json_t *init_ppl = NULL;
    if (path_exists(init_ppl_path)) init_ppl = json_load_file(init_ppl_path, 0, NULL);
    free(init_ppl_path);
    if (init_ppl) text_printf(t, "| 0 (M0) | | | | | | | | | | %.3f |\n", num(init_ppl, "ppl"));
    for (int i = 1; i <= iterations; i++) {
        json_t *synth = load(workdir, i, "synth.json"), *clean = load(workdir, i, "clean.json");
        json_t *pairs = load(workdir, i, "pairs.json"), *ev = load(workdir, i, "eval_pairs.json");
        json_t *wr = load(workdir, i, "winrate.json");
        DpoSummary d = load_dpo(workdir, i);
        text_printf(t, "| %d | %.0f (%.0f) | %.0f | %.0f | %.0f | %d | %.4f -> %.4f | %.2f | %.3f | ", i,
                    num(synth, "accepted"), num(synth, "generated"), num(clean, "records_in"),
                    num(clean, "records_out"), num(pairs, "pairs"), d.steps, num(d.first, "loss"), num(d.last, "loss"),
                    num(d.last, "rewards_accuracy"), num(ev, "accuracy"));
        if (has(wr, "win_rate"))
            text_printf(t, "%.3f (%.3f-%.3f) | ", num(wr, "win_rate"), num(wr, "ci_low"), num(wr, "ci_high"));
        else
            text_printf(t, "- | ");
        json_t *ppl = load(workdir, i, "ppl.json");
        if (ppl)
            text_printf(t, "%.3f |\n", num(ppl, "ppl"));
        else
            text_printf(t, "- |\n");
        json_decref(ppl);
        json_decref(synth), json_decref(clean), json_decref(pairs), json_decref(ev), json_decref(wr);
        json_decref(d.first), json_decref(d.last);
    }
    json_decref(init_ppl);
}

// Stage times (from the .done markers) and throughput.
static void stage_times(Text *t, const char *workdir, int i, json_t *synth) {
    static const char *stages[] = {"synth", "gen", "judge",      "clean",   "verify",           "pairs",
                                   "sft",   "dpo", "eval-pairs", "winrate", "eval-constraints", "eval-ppl"};
    double total = 0, gen_judge = 0;
    int any_time = 0;
    for (int k = 0; k < (int)(sizeof stages / sizeof stages[0]); k++) {
        char name[64];
        snprintf(name, sizeof name, ".done/%s", stages[k]);
        json_t *m = load(workdir, i, name);
        if (!m) continue;
        double sec = num(m, "seconds");
        text_printf(t, "%s%s %.1fs", any_time ? ", " : "**Stage times**: ", stages[k], sec);
        total += sec, any_time = 1;
        if (!strcmp(stages[k], "gen") || !strcmp(stages[k], "judge")) gen_judge += sec;
        json_decref(m);
    }
    if (any_time) {
        text_printf(t, "; total %.1f min", total / 60);
        if (gen_judge > 0 && synth)
            text_printf(t, " (answering and judging: %.1f prompts/minute)", num(synth, "accepted") * 60 / gen_judge);
        text_printf(t, ".\n\n");
    }
}

static void winrate_line(Text *t, json_t *wr) {
    if (wr) {
        text_printf(t, "**Win rate** against the previous model (`winrate.json`): ");
        if (has(wr, "wins"))
            text_printf(t, "%.0f wins, %.0f ties, %.0f losses", num(wr, "wins"), num(wr, "ties"), num(wr, "losses"));
        if (has(wr, "win_rate"))
            text_printf(t, "; win rate %.3f, 95%% Wilson interval %.3f-%.3f", num(wr, "win_rate"), num(wr, "ci_low"),
                        num(wr, "ci_high"));
        if (json_is_number(json_object_get(wr, "mean_rubric_model")))
            text_printf(t, "; judged by each answer's rubric score, mean %.3f against %.3f",
                        num(wr, "mean_rubric_model"), num(wr, "mean_rubric_baseline"));
        text_printf(t, ".\n");
    }
}

// The section of iteration i: prompts, cleaning, verification, reward, pairs, DPO, accuracy,
// stage times, win rate.
static void iteration_section(Text *t, const char *workdir, int i) {
    json_t *synth = load(workdir, i, "synth.json"), *clean = load(workdir, i, "clean.json");
    json_t *pairs = load(workdir, i, "pairs.json"), *ev = load(workdir, i, "eval_pairs.json");
    json_t *wr = load(workdir, i, "winrate.json"), *verify = load(workdir, i, "verify.json");
    DpoSummary d = load_dpo(workdir, i);
    text_printf(t, "\n## Iteration %d\n\n", i);
    if (synth) {
        text_printf(
            t, "**Prompts** (`iter-%02d/prompts.jsonl.zst`, mode %s): %.0f accepted of %.0f generated; dropped:", i,
            json_string_value(json_object_get(synth, "mode")), num(synth, "accepted"), num(synth, "generated"));
        const char *key;
        json_t *v;
        int any = 0;
        json_object_foreach(json_object_get(synth, "dropped"), key, v) if (json_integer_value(v)) {
            text_printf(t, "%s %s %lld", any ? "," : "", key, (long long)json_integer_value(v));
            any = 1;
        }
        text_printf(t, "%s%s.\n\n", any ? "" : " none",
                    any ? " (the texts with their reasons: `synth-rejects.jsonl.zst`)" : "");
    }
    if (clean)
        text_printf(t, "**Cleaning** (`cleaned.jsonl.zst`): %.0f of %.0f judged answers kept.\n\n",
                    num(clean, "records_out"), num(clean, "records_in"));
    if (verify)
        text_printf(t,
                    "**Verified** (`verified.jsonl.zst`): %.0f answers, %.1f%% pass all their constraints, %.1f%% of "
                    "the constraints pass.\n\n",
                    num(verify, "records"), 100 * num(verify, "prompt_accuracy"),
                    100 * num(verify, "instruction_accuracy"));
    if (has(pairs, "decided_by")) {
        json_t *by = json_object_get(pairs, "decided_by");
        text_printf(t,
                    "**Reward** %s: pairs decided by a looping rejected answer %.0f, by verified constraints %.0f, "
                    "by the judge %.0f; chosen answers passing every constraint: %.0f; looping answers: %.0f.\n\n",
                    json_string_value(json_object_get(pairs, "reward")), num(by, "loop"), num(by, "verify"),
                    num(by, "judge"), num(pairs, "chosen_passes_all"), num(pairs, "looping_answers"));
    }
    if (pairs) {
        json_t *h = json_object_get(pairs, "score_histogram");
        text_printf(t,
                    "**Pairs** (`pairs.jsonl.zst`): %.0f pairs from %.0f prompts; %.0f ties and %.0f under the margin "
                    "dropped, %.0f prompts without two scored answers. Judge scores (rounded) 0..5: ",
                    num(pairs, "pairs"), num(pairs, "prompts"), num(pairs, "ties_dropped"),
                    num(pairs, "under_margin_dropped"), num(pairs, "unscored_prompts"));
        for (size_t k = 0; k < json_array_size(h); k++)
            text_printf(t, "%s%lld", k ? " / " : "", (long long)json_integer_value(json_array_get(h, k)));
        text_printf(t,
                    ". Mean length of chosen vs rejected answers: %.0f vs %.0f characters (verbosity bias shows "
                    "as chosen >> rejected).\n\n",
                    num(pairs, "mean_chars_chosen"), num(pairs, "mean_chars_rejected"));
    }
    if (d.steps) {
        text_printf(t,
                    "**DPO** (`model/metrics.jsonl`, %d steps):\n\n| step | loss | rewards chosen | rewards rejected | "
                    "margin | accuracy | grad norm |\n|---|---|---|---|---|---|---|\n",
                    d.steps);
        json_t *rows[2] = {d.first, d.last};
        for (int k = 0; k < 2; k++)
            text_printf(t, "| %.0f | %.4f | %.4f | %.4f | %.4f | %.2f | %.3f |\n", num(rows[k], "step"),
                        num(rows[k], "loss"), num(rows[k], "rewards_chosen"), num(rows[k], "rewards_rejected"),
                        num(rows[k], "rewards_margin"), num(rows[k], "rewards_accuracy"), num(rows[k], "grad_norm"));
        text_printf(t, "\n![DPO metrics, iteration %d](plots/dpo-iter-%02d.png)\n\n", i, i);
    }
    if (ev)
        text_printf(t,
                    "**Preference accuracy** of the new model on its training pairs (against the model it started "
                    "from): %.3f, mean reward margin %.4f, log-prob accuracy %.3f.\n\n",
                    num(ev, "accuracy"), num(ev, "margin"), num(ev, "logp_accuracy"));
    stage_times(t, workdir, i, synth);
    winrate_line(t, wr);
    json_decref(synth), json_decref(clean), json_decref(pairs), json_decref(ev), json_decref(wr), json_decref(verify);
    json_decref(d.first), json_decref(d.last);
}

void loop_report_write(const char *workdir, int iterations) {
    Text t = {0};
    text_printf(&t, "# Self-rewarding run: %s\n\n", workdir);
    text_printf(&t,
                "Each iteration: the current model writes prompts (synth), answers each several times (gen), "
                "judges its answers with the additive 5-point rubric (judge), the answers are cleaned, the best and "
                "worst answer of each prompt become a preference pair, and DPO against the current model gives the "
                "next one, which is then evaluated: preference accuracy on the pairs and win rate against the model "
                "it started from (judged by that model: pairwise in both answer orders, or each answer by the rubric). "
                "With verifiable rewards (--reward verify or mix) every cleaned answer is also checked against its "
                "prompt's constraints, the pairs follow the reward (the Reward line of each iteration), and with "
                "--heldout every model answers held-out prompts with constraints against M0.\n\n");
    summary_table(&t, workdir, iterations);
    constraints_table(&t, workdir, iterations);
    for (int i = 1; i <= iterations; i++) iteration_section(&t, workdir, i);
    text_printf(&t, "\nPlots: `python3 scripts/plot_loop.py %s` (needs matplotlib) writes plots/dpo-iter-NN.png.\n",
                workdir);
    char *path = path_join(workdir, "report.md");
    write_file_atomic(path, t.s, t.len);
    free(path);
    free(t.s);
    make_plots(workdir);
}
