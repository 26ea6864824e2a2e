// loop.c: see loop.h.
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/json_file.h"
#include "../base/progress.h"
#include "../dist/comm.h"
#include "loop_report.h"

extern char **environ;

void loop_options_default(LoopOptions *o) {
    memset(o, 0, sizeof *o);
    o->iterations = 1;
    o->prompts = 32;
    o->candidates = 4;
    o->synth_mode = "self-instruct";
    o->synth_max_new = 160;
    o->judge_method = "logprob";
    o->judge_samples = 3;
    o->min_margin = 0.0f;
    o->sft_steps = 0;
    o->dpo_loss = "sigmoid";
    o->beta = 0.1f;
    o->lr = 5e-6f;
    o->dpo_batch = 4;
    o->epochs = 1;
    o->max_len = 512;
    o->max_new = 128;
    o->temperature = 0.8f;
    o->eval_count = 0;
    o->winrate_method = "logprob";
    o->eval_text_batches = 16;
    o->batch = 8;
    o->device = "auto";
    o->constraints = 0;
    o->constraint_draws = 1;
    o->reward = "judge";
    o->eval_max_new = 256;
}

// ---- child processes ----

typedef struct {
    char **argv;
    int n, cap;
} ArgList;

static void arg(ArgList *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(ArgList *a, const char *fmt, ...) {
    if (a->n + 2 > a->cap) {
        a->cap = 2 * a->cap + 16;
        a->argv = xrealloc(a->argv, (size_t)a->cap * sizeof(char *));
    }
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&a->argv[a->n], fmt, ap) < 0) fail("out of memory");
    va_end(ap);
    a->argv[++a->n] = NULL;
}

// Appends the words of a stage's extra options (--synth-args "..." and the like).
static void extra_args(ArgList *a, const char *words) {
    if (!words) return;
    char *copy = strdup(words);
    for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) arg(a, "%s", w);
    free(copy);
}

// A stage that runs on many ranks starts with the launcher's words (--launch), then strap.
static void stage_start(ArgList *a, const LoopOptions *o, const char *exe) {
    extra_args(a, o->launch);
    arg(a, "%s", exe);
}

static void args_free(ArgList *a) {
    for (int i = 0; i < a->n; i++) free(a->argv[i]);
    free(a->argv);
    memset(a, 0, sizeof *a);
}

// The command line as a shell would take it back.
static char *command_line(const ArgList *a) {
    size_t cap = 64, len = 0;
    char *s = xmalloc(cap);
    s[0] = 0;
    for (int i = 0; i < a->n; i++) {
        const char *w = a->argv[i];
        int plain = *w != 0;
        for (const char *p = w; *p; p++)
            if (!(strchr("-_./=,:@%+", *p) || (*p >= '0' && *p <= '9') || ((*p | 32) >= 'a' && (*p | 32) <= 'z')))
                plain = 0;
        size_t need = len + 4 * strlen(w) + 4;
        if (need > cap) s = xrealloc(s, cap = 2 * need);
        if (i) s[len++] = ' ';
        if (plain) {
            len += (size_t)sprintf(s + len, "%s", w);
        } else {
            s[len++] = '\'';
            for (const char *p = w; *p; p++) {
                if (*p == '\'')
                    len += (size_t)sprintf(s + len, "'\\''");
                else
                    s[len++] = *p;
            }
            s[len++] = '\'';
            s[len] = 0;
        }
    }
    return s;
}

typedef struct {
    const char *workdir;
    const char *crash_stage; // STRAP_LOOP_CRASH
    int crash_ms;            // < 0: kill the loop after the stage; else kill the child after ms
    int crashed_once;
} Runner;

static void log_command(const Runner *r, const char *line) {
    char *path = path_join(r->workdir, "commands.log");
    FILE *f = fopen(path, "a");
    if (!f) fail("cannot append to %s: %s", path, strerror(errno));
    fprintf(f, "%s\n", line);
    fclose(f);
    free(path);
}

// Runs strap with `a`; with stdout_path the child's standard output goes to a temp file
// that is renamed into place when it succeeds. Fails (exits) when the child fails.
static double run_stage(Runner *r, const char *stage, ArgList *a, const char *stdout_path) {
    char *line = command_line(a);
    printf("\n== %s: %s%s%s\n", stage, line, stdout_path ? " > " : "", stdout_path ? stdout_path : "");
    fflush(stdout);
    log_command(r, line);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    char tmp[PATH_MAX];
    if (stdout_path) {
        snprintf(tmp, sizeof tmp, "%s.tmp.%d", stdout_path, (int)getpid());
        posix_spawn_file_actions_addopen(&actions, 1, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    }
    pid_t pid;
    // strap itself by its path; a launcher (--launch "mpirun ...") found on PATH
    int rc = posix_spawnp(&pid, a->argv[0], &actions, NULL, a->argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) fail("cannot start %s: %s", a->argv[0], strerror(rc));
    int crash_here = r->crash_stage && !r->crashed_once && strcmp(r->crash_stage, stage) == 0;
    double start = now_seconds();
    int status;
    for (;;) {
        pid_t w = waitpid(pid, &status, crash_here && r->crash_ms >= 0 ? WNOHANG : 0);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) fail("waitpid: %s", strerror(errno));
        if (crash_here && r->crash_ms >= 0 && (now_seconds() - start) * 1000 >= r->crash_ms) {
            fprintf(stderr, "strap loop: STRAP_LOOP_CRASH: killing %s (pid %d) after %d ms, then the loop\n", stage,
                    (int)pid, r->crash_ms);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            raise(SIGKILL);
        }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (stdout_path) unlink(tmp);
        if (WIFSIGNALED(status))
            fail("stage %s was killed by signal %d; run strap loop again with the same options to resume. The command "
                 "was: %s",
                 stage, WTERMSIG(status), line);
        fail("stage %s failed (exit status %d); fix the cause and run strap loop again with the same options to resume "
             "from this stage. The command was: %s",
             stage, WEXITSTATUS(status), line);
    }
    if (stdout_path) {
        if (rename(tmp, stdout_path) != 0) fail("cannot rename %s to %s: %s", tmp, stdout_path, strerror(errno));
    }
    double seconds = now_seconds() - start;
    printf("== %s done in %.1fs\n", stage, seconds);
    fflush(stdout);
    if (crash_here && r->crash_ms < 0) {
        fprintf(stderr, "strap loop: STRAP_LOOP_CRASH: killing the loop after %s, before it is marked done\n", stage);
        raise(SIGKILL);
    }
    free(line);
    return seconds;
}

// ---- stage markers ----

static char *iter_dir(const char *workdir, int t) {
    char name[32];
    snprintf(name, sizeof name, "iter-%02d", t);
    return path_join(workdir, name);
}

// A stage of the work directory `dir` (W/seed or W/iter-NN) is done when dir/.done/STAGE exists.
static int stage_done(const char *dir, const char *stage) {
    char name[64];
    snprintf(name, sizeof name, ".done/%s", stage);
    char *p = path_join(dir, name);
    int done = path_exists(p);
    free(p);
    return done;
}

static void mark_done(const char *dir, const char *stage, double seconds) {
    char *done_dir = path_join(dir, ".done");
    make_dirs(done_dir);
    char *p = path_join(done_dir, stage);
    char text[96];
    int n = snprintf(text, sizeof text, "{\"finished\": %ld, \"seconds\": %.3f}\n", (long)time(NULL), seconds);
    write_file_atomic(p, text, (size_t)n);
    free(p), free(done_dir);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    if (remove(path) != 0) fail("cannot remove %s: %s", path, strerror(errno));
    return 0;
}

// Deletes a file or directory tree (what an unfinished stage left behind).
static void remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) fail("cannot remove %s", path);
}

// ---- the options a work directory was started with ----

static json_t *options_json(const LoopOptions *o) {
    // what the data depends on (not: iterations, which may grow; threads, device)
    json_t *j = json_pack(
        "{s:s, s:i, s:i, s:s, s:s, s:s, s:f, s:f, s:s, s:f, s:f, s:i, s:i, s:i, s:i, s:i, s:f, s:i, s:s?, s:i, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s}",
        "init", o->init, "prompts", o->prompts, "candidates", o->candidates, "synth_mode", o->synth_mode,
        "judge_method", o->judge_method, "dpo_loss", o->dpo_loss, "beta", (double)o->beta, "lr", (double)o->lr,
        "seed_prompts", o->seed_prompts ? o->seed_prompts : "(catalogue)", "min_margin", (double)o->min_margin,
        "sft_min_score", (double)o->sft_min_score, "dpo_batch", o->dpo_batch, "epochs", o->epochs, "max_len",
        o->max_len, "max_new", o->max_new, "synth_max_new", o->synth_max_new, "temperature", (double)o->temperature,
        "seed", o->seed, "chat_template", o->chat_template, "judge_samples", o->judge_samples, "synth_args",
        o->synth_args, "gen_args", o->gen_args, "judge_args", o->judge_args, "clean_args", o->clean_args, "dpo_args",
        o->dpo_args, "eval_text", o->eval_text, "winrate_method", o->winrate_method);
    // the verifiable-reward options, recorded only when used (work directories made before them resume)
    if (o->constraints)
        json_object_set_new(j, "constraints",
                            json_pack("{s:i, s:i}", "per_prompt", o->constraints, "draws", o->constraint_draws));
    if (strcmp(o->reward, "judge") != 0) json_object_set_new(j, "reward", json_string(o->reward));
    if (o->heldout)
        json_object_set_new(j, "heldout", json_pack("{s:s, s:i}", "prompts", o->heldout, "max_new", o->eval_max_new));
    if (o->no_repeat_ngram) json_object_set_new(j, "no_repeat_ngram", json_integer(o->no_repeat_ngram));
    if (o->sft_lr > 0) json_object_set_new(j, "sft_lr", json_real(o->sft_lr));
    if (o->repair) json_object_set_new(j, "repair", json_true());
    return j;
}

static void check_or_write_options(const LoopOptions *o) {
    char *path = path_join(o->workdir, "loop.json");
    json_t *now = options_json(o);
    if (path_exists(path)) {
        json_error_t err;
        json_t *was = json_load_file(path, 0, &err);
        if (!was) fail("%s:%d: %s (delete it to start this work directory afresh)", path, err.line, err.text);
        const char *key;
        json_t *v;
        json_object_foreach(now, key, v) {
            json_t *old = json_object_get(was, key);
            if (!old || !json_equal(old, v)) {
                char *a = old ? json_dumps(old, JSON_ENCODE_ANY) : strdup("(absent)"),
                     *b = json_dumps(v, JSON_ENCODE_ANY);
                fail("%s was started with %s = %s, this run asks for %s: resume with the same options, or use a new "
                     "--workdir",
                     o->workdir, key, a, b);
            }
        }
        json_decref(was);
    } else {
        json_write_atomic(path, now, JSON_INDENT(2));
    }
    json_decref(now);
    free(path);
}

static void copy_file(const char *from, const char *to) {
    size_t n;
    char *data = read_file(from, &n);
    write_file_atomic(to, data, n);
    free(data);
}

static char *self_exe(void) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) fail("cannot find the strap binary (/proc/self/exe): %s", strerror(errno));
    exe[n] = 0;
    return strdup(exe);
}

// ---- the loop ----

static void common_args(ArgList *a, const LoopOptions *o) {
    if (o->threads) arg(a, "--threads"), arg(a, "%d", o->threads);
    arg(a, "--device"), arg(a, "%s", o->device);
}

static void template_arg(ArgList *a, const LoopOptions *o) {
    if (o->chat_template) arg(a, "--chat-template"), arg(a, "%s", o->chat_template);
}

static int count_records_of(const char *json_path, const char *key) {
    json_error_t err;
    json_t *j = json_load_file(json_path, 0, &err);
    if (!j) fail("%s:%d: %s", json_path, err.line, err.text);
    int n = (int)json_integer_value(json_object_get(j, key));
    json_decref(j);
    return n;
}

static void ppl_args(ArgList *a, const char *exe, const LoopOptions *o, const char *model, const char *data) {
    stage_start(a, o, exe), arg(a, "eval"), arg(a, "ppl"), arg(a, "--model"), arg(a, "%s", model);
    arg(a, "--data"), arg(a, "%s", data), arg(a, "--seq"), arg(a, "256"), arg(a, "--batch"), arg(a, "4");
    arg(a, "--max-batches"), arg(a, "%d", o->eval_text_batches), arg(a, "--json");
    common_args(a, o);
}

// ---- one iteration: its files, then a table of stages ----

typedef struct {
    const LoopOptions *o;
    const char *exe;
    int t;                                 // the iteration, 1..
    uint64_t seed;                         // the iteration's seed for every stage
    const char *prev_model, *policy_start; // M(t-1); where DPO starts (M(t-1), or the SFT model)
    const char *earlier_prompts;           // comma-separated prompt files of the finished iterations
    const char *seed_prompts, *eval_prompts, *eval_data;
    int use_judge, use_verify;
    char *dir, *prompts, *candidates, *judged, *cleaned, *verified, *pairs, *sft, *model;
    char *synth_report, *clean_report, *verify_report, *pairs_report, *eval_pairs, *winrate, *winrate_md, *ppl;
    int dpo_resume; // a DPO run a crash interrupted continues from its last checkpoint
} Iter;

static void synth_stage(Iter *it, ArgList *a) {
    const LoopOptions *o = it->o;
    arg(a, "%s", it->exe), arg(a, "synth"), arg(a, "--model"), arg(a, "%s", it->prev_model);
    arg(a, "--out"), arg(a, "%s", it->prompts), arg(a, "--count"), arg(a, "%d", o->prompts);
    arg(a, "--mode"), arg(a, "%s", o->synth_mode), arg(a, "--seed-prompts"), arg(a, "%s", it->seed_prompts);
    if (it->earlier_prompts) arg(a, "--existing"), arg(a, "%s", it->earlier_prompts);
    if (o->heldout)
        arg(a, "--avoid"), arg(a, "%s", o->heldout); // held-out requests never come back as training prompts
    if (o->catalog) arg(a, "--catalog"), arg(a, "%s", o->catalog);
    arg(a, "--max-new"), arg(a, "%d", o->synth_max_new), arg(a, "--max-attempts"), arg(a, "%d", 8 * o->prompts + 16);
    arg(a, "--id-prefix"), arg(a, "it%02d", it->t), arg(a, "--iteration"), arg(a, "%d", it->t);
    arg(a, "--seed"), arg(a, "%llu", (unsigned long long)it->seed), arg(a, "--batch"), arg(a, "%d", o->batch);
    arg(a, "--report"), arg(a, "%s", it->synth_report);
    arg(a, "--rejects"), arg(a, "%s/synth-rejects.jsonl.zst", it->dir); // what the filters dropped, and why
    if (o->constraints > 0) {
        arg(a, "--constraints"), arg(a, "%d", o->constraints);
        arg(a, "--constraint-draws"), arg(a, "%d", o->constraint_draws);
    }
    template_arg(a, o), common_args(a, o);
    extra_args(a, o->synth_args);
}

static void gen_stage(Iter *it, ArgList *a) {
    const LoopOptions *o = it->o;
    stage_start(a, o, it->exe), arg(a, "gen"), arg(a, "--model"), arg(a, "%s", it->prev_model);
    arg(a, "--prompts"), arg(a, "%s", it->prompts), arg(a, "--out"), arg(a, "%s", it->candidates);
    arg(a, "-n"), arg(a, "%d", o->candidates), arg(a, "--max-new"), arg(a, "%d", o->max_new);
    arg(a, "--temperature"), arg(a, "%g", (double)o->temperature), arg(a, "--top-p"), arg(a, "0.95");
    arg(a, "--seed"), arg(a, "%llu", (unsigned long long)it->seed), arg(a, "--batch"), arg(a, "%d", o->batch);
    if (o->no_repeat_ngram) arg(a, "--no-repeat-ngram"), arg(a, "%d", o->no_repeat_ngram);
    template_arg(a, o), common_args(a, o);
    extra_args(a, o->gen_args);
}

static void judge_stage(Iter *it, ArgList *a) {
    const LoopOptions *o = it->o;
    stage_start(a, o, it->exe), arg(a, "judge"), arg(a, "--model"), arg(a, "%s", it->prev_model);
    arg(a, "--in"), arg(a, "%s", it->candidates), arg(a, "--out"), arg(a, "%s", it->judged);
    arg(a, "--method"), arg(a, "%s", o->judge_method);
    if (strcmp(o->judge_method, "text") == 0) arg(a, "--samples"), arg(a, "%d", o->judge_samples);
    arg(a, "--seed"), arg(a, "%llu", (unsigned long long)it->seed), arg(a, "--batch"), arg(a, "%d", o->batch);
    common_args(a, o);
    extra_args(a, o->judge_args);
}

static void clean_stage(Iter *it, ArgList *a) {
    const LoopOptions *o = it->o;
    arg(a, "%s", it->exe), arg(a, "data"), arg(a, "clean"), arg(a, "--input"),
        arg(a, "%s", it->use_judge ? it->judged : it->candidates);
    arg(a, "--out"), arg(a, "%s", it->cleaned), arg(a, "--report"), arg(a, "%s", it->clean_report);
    arg(a, "--min-chars"), arg(a, "1"), arg(a, "--quiet");
    if (o->threads) arg(a, "--threads"), arg(a, "%d", o->threads);
    extra_args(a, o->clean_args);
}

// the checks run on the cleaned text: what the pairs and SFT train on
static void verify_stage(Iter *it, ArgList *a) {
    arg(a, "%s", it->exe), arg(a, "verify"), arg(a, "--in"), arg(a, "%s", it->cleaned);
    arg(a, "--out"), arg(a, "%s", it->verified), arg(a, "--report"), arg(a, "%s", it->verify_report);
    if (it->o->repair) arg(a, "--repair");
}

static const char *scored(const Iter *it) { return it->use_verify ? it->verified : it->cleaned; }

static void pairs_stage(Iter *it, ArgList *a) {
    arg(a, "%s", it->exe), arg(a, "pairs"), arg(a, "--in"), arg(a, "%s", scored(it));
    arg(a, "--out"), arg(a, "%s", it->pairs), arg(a, "--report"), arg(a, "%s", it->pairs_report);
    arg(a, "--min-margin"), arg(a, "%g", (double)it->o->min_margin), arg(a, "--reward"), arg(a, "%s", it->o->reward);
}

static void pairs_check(Iter *it) {
    if (count_records_of(it->pairs_report, "pairs") == 0)
        fail("iteration %d made no preference pairs (see %s: ties, margins, unscored answers): nothing to train "
             "on. Try more --candidates, a higher --temperature or --judge-method logprob",
             it->t, it->pairs_report);
}

static void sft_stage(Iter *it, ArgList *a) {
    const LoopOptions *o = it->o;
    remove_tree(it->sft);
    stage_start(a, o, it->exe), arg(a, "sft"), arg(a, "--model"), arg(a, "%s", it->prev_model);
    arg(a, "--data"), arg(a, "%s", scored(it)), arg(a, "--min-score"), arg(a, "%g", (double)o->sft_min_score);
    if (it->use_verify) arg(a, "--score-field"), arg(a, "verify_score"), arg(a, "--ended-only");
    arg(a, "--out"), arg(a, "%s", it->sft), arg(a, "--lr"), arg(a, "%g", (double)(o->sft_lr > 0 ? o->sft_lr : o->lr));
    if (o->sft_steps > 0) arg(a, "--steps"), arg(a, "%d", o->sft_steps);
    arg(a, "--seed"), arg(a, "%llu", (unsigned long long)it->seed);
    template_arg(a, o), common_args(a, o);
}

static void dpo_stage(Iter *it, ArgList *a) {
    const LoopOptions *o = it->o;
    char *state = path_join(it->model, "trainer_state.json");
    it->dpo_resume = path_exists(state);
    free(state);
    if (!it->dpo_resume) remove_tree(it->model);
    stage_start(a, o, it->exe), arg(a, "dpo"), arg(a, "--model"), arg(a, "%s", it->policy_start);
    arg(a, "--ref"), arg(a, "%s", it->policy_start), arg(a, "--pairs"), arg(a, "%s", it->pairs);
    arg(a, "--out"), arg(a, "%s", it->model), arg(a, "--loss"), arg(a, "%s", o->dpo_loss);
    arg(a, "--beta"), arg(a, "%g", (double)o->beta), arg(a, "--lr"), arg(a, "%g", (double)o->lr);
    arg(a, "--batch"), arg(a, "%d", o->dpo_batch), arg(a, "--epochs"), arg(a, "%d", o->epochs);
    arg(a, "--max-len"), arg(a, "%d", o->max_len), arg(a, "--save-every"), arg(a, "25");
    if (it->dpo_resume) arg(a, "--resume");
    template_arg(a, o), common_args(a, o);
    extra_args(a, o->dpo_args);
}

static void dpo_after(Iter *it) { // the finished model needs no optimizer state (2 x 4 bytes x parameters more)
    char *opt = path_join(it->model, "optimizer.safetensors");
    unlink(opt);
    free(opt);
}

static void eval_pairs_stage(Iter *it, ArgList *a) {
    const LoopOptions *o = it->o;
    stage_start(a, o, it->exe), arg(a, "eval"), arg(a, "pairs"), arg(a, "--model"), arg(a, "%s", it->model);
    arg(a, "--ref"), arg(a, "%s", it->policy_start), arg(a, "--pairs"), arg(a, "%s", it->pairs);
    arg(a, "--beta"), arg(a, "%g", (double)o->beta), arg(a, "--max-len"), arg(a, "%d", o->max_len);
    arg(a, "--json");
    template_arg(a, o), common_args(a, o);
}

static void winrate_stage(Iter *it, ArgList *a) {
    const LoopOptions *o = it->o;
    stage_start(a, o, it->exe), arg(a, "eval"), arg(a, "winrate"), arg(a, "--model"), arg(a, "%s", it->model);
    arg(a, "--baseline"), arg(a, "%s", it->prev_model), arg(a, "--judge"), arg(a, "%s", it->prev_model);
    arg(a, "--prompts"), arg(a, "%s", it->eval_prompts);
    if (o->eval_count > 0) arg(a, "--limit"), arg(a, "%d", o->eval_count);
    arg(a, "--max-new"), arg(a, "%d", o->max_new), arg(a, "--seed"), arg(a, "%llu", (unsigned long long)it->seed);
    arg(a, "--judge-method"), arg(a, "%s", o->winrate_method);
    arg(a, "--out"), arg(a, "%s", it->winrate), arg(a, "--markdown"), arg(a, "%s", it->winrate_md);
    template_arg(a, o), common_args(a, o);
}

static void eval_constraints_stage(Iter *it, ArgList *a) {
    const LoopOptions *o = it->o;
    stage_start(a, o, it->exe), arg(a, "eval"), arg(a, "constraints"), arg(a, "--model"), arg(a, "%s", it->model);
    arg(a, "--baseline"), arg(a, "%s", o->init), arg(a, "--prompts"), arg(a, "%s", o->heldout);
    arg(a, "--max-new"), arg(a, "%d", o->eval_max_new), arg(a, "--batch"), arg(a, "%d", o->batch);
    arg(a, "--out"), arg(a, "%s/constraints.json", it->dir), arg(a, "--markdown"), arg(a, "%s/constraints.md", it->dir);
    arg(a, "--records"), arg(a, "%s/constraints.jsonl.zst", it->dir);
    if (it->t > 1) { // M0 answered the same prompts in iteration 1: its answers are reused
        char *first = iter_dir(o->workdir, 1);
        arg(a, "--baseline-answers"), arg(a, "%s/constraints.jsonl.zst", first);
        free(first);
    }
    template_arg(a, o), common_args(a, o);
}

static void eval_ppl_stage(Iter *it, ArgList *a) { ppl_args(a, it->exe, it->o, it->model, it->eval_data); }

static int uses_judge(const Iter *it) { return it->use_judge; }
static int uses_verify(const Iter *it) { return it->use_verify; }
static int uses_sft(const Iter *it) { return it->o->sft_min_score > 0; }
static int uses_winrate(const Iter *it) {
    return it->o->winrate_method[0] && strcmp(it->o->winrate_method, "none") != 0;
}
static int uses_heldout(const Iter *it) { return it->o->heldout != NULL; }
static int uses_eval_text(const Iter *it) { return it->o->eval_text != NULL; }

typedef struct {
    const char *name;                   // its W/iter-NN/.done/ mark and the name STRAP_LOOP_CRASH takes
    int (*used)(const Iter *it);        // NULL: every iteration
    void (*args)(Iter *it, ArgList *a); // the stage's command line
    void (*check)(Iter *it);            // once the command succeeded: fails when its output is unusable
    void (*after)(Iter *it);            // once the stage is marked done
    size_t captured;                    // offsetof(Iter, path) of the file its stdout goes to (0: none)
} Stage;

// The stages of an iteration, in order (docs/formats.md "Self-rewarding work directory").
static const Stage STAGES[] = {
    {"synth", NULL, synth_stage, NULL, NULL, 0},
    {"gen", NULL, gen_stage, NULL, NULL, 0},
    {"judge", uses_judge, judge_stage, NULL, NULL, 0},
    {"clean", NULL, clean_stage, NULL, NULL, 0},
    {"verify", uses_verify, verify_stage, NULL, NULL, 0},
    {"pairs", NULL, pairs_stage, pairs_check, NULL, 0},
    {"sft", uses_sft, sft_stage, NULL, NULL, 0},
    {"dpo", NULL, dpo_stage, NULL, dpo_after, 0},
    {"eval-pairs", NULL, eval_pairs_stage, NULL, NULL, offsetof(Iter, eval_pairs)},
    {"winrate", uses_winrate, winrate_stage, NULL, NULL, 0},
    {"eval-constraints", uses_heldout, eval_constraints_stage, NULL, NULL, 0},
    {"eval-ppl", uses_eval_text, eval_ppl_stage, NULL, NULL, offsetof(Iter, ppl)},
};

static void iter_build(Iter *it, int t) {
    const LoopOptions *o = it->o;
    it->t = t;
    it->seed = (uint64_t)o->seed * 1000 + (uint64_t)t;
    it->dir = iter_dir(o->workdir, t);
    char **paths[] = {&it->prompts,      &it->candidates,   &it->judged,        &it->cleaned,
                      &it->verified,     &it->pairs,        &it->sft,           &it->model,
                      &it->synth_report, &it->clean_report, &it->verify_report, &it->pairs_report,
                      &it->eval_pairs,   &it->winrate,      &it->winrate_md,    &it->ppl};
    const char *names[] = {"prompts.jsonl.zst",
                           "candidates.jsonl.zst",
                           "judged.jsonl.zst",
                           "cleaned.jsonl.zst",
                           "verified.jsonl.zst",
                           "pairs.jsonl.zst",
                           "sft",
                           "model",
                           "synth.json",
                           "clean.json",
                           "verify.json",
                           "pairs.json",
                           "eval_pairs.json",
                           "winrate.json",
                           "winrate.md",
                           "ppl.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) *paths[i] = path_join(it->dir, names[i]);
    it->use_judge = strcmp(o->reward, "verify") != 0, it->use_verify = strcmp(o->reward, "judge") != 0;
    it->policy_start = o->sft_min_score > 0 ? it->sft : it->prev_model;
}

static void iter_free(Iter *it) {
    free(it->dir), free(it->prompts), free(it->candidates), free(it->judged), free(it->cleaned), free(it->verified);
    free(it->pairs), free(it->sft), free(it->model), free(it->synth_report), free(it->clean_report);
    free(it->verify_report), free(it->pairs_report), free(it->eval_pairs), free(it->winrate), free(it->winrate_md);
    free(it->ppl);
}

static void run_iteration(Runner *r, Iter *it) {
    make_dirs(it->dir);
    remove_stale_temps(it->dir); // what a killed stage was writing
    printf("\n==== iteration %d of %d: %s -> %s/model\n", it->t, it->o->iterations, it->prev_model, it->dir);
    for (size_t s = 0; s < sizeof STAGES / sizeof STAGES[0]; s++) {
        const Stage *st = &STAGES[s];
        if ((st->used && !st->used(it)) || stage_done(it->dir, st->name)) continue;
        ArgList a = {0};
        st->args(it, &a);
        const char *captured = st->captured ? *(char **)((char *)it + st->captured) : NULL;
        double secs = run_stage(r, st->name, &a, captured);
        args_free(&a);
        if (st->check) st->check(it);
        mark_done(it->dir, st->name, secs);
        if (st->after) st->after(it);
    }
}

// ---- the work directory's seed: M0's files and numbers, made once ----

// The human-written seed prompts, copied once into W/seed and never changed; returns the path.
static char *seed_prompts_copy(const LoopOptions *o, const char *seed_dir) {
    char *seed_prompts = path_join(seed_dir, "seed_prompts.jsonl");
    if (path_exists(seed_prompts)) return seed_prompts;
    char *from;
    if (o->seed_prompts)
        from = xstrdup(o->seed_prompts);
    else if (o->catalog)
        from = path_join(o->catalog, "seed_prompts.jsonl");
    else
        from = path_near_exe("data/synth/seed_prompts.jsonl"); // the catalogue next to the binary, else ./data/synth
    if (!path_exists(from)) fail("%s not found: give --seed-prompts", from);
    copy_file(from, seed_prompts);
    free(from);
    return seed_prompts;
}

// Held-out human text: packed once with M0's tokenizer, M0's perplexity as the baseline.
static void seed_eval_text(Runner *r, const LoopOptions *o, const char *exe, const char *seed_dir,
                           const char *eval_data) {
    ArgList a = {0};
    if (!stage_done(seed_dir, "pack")) {
        remove_tree(eval_data);
        arg(&a, "%s", exe), arg(&a, "data"), arg(&a, "pack"), arg(&a, "--tokenizer"),
            arg(&a, "%s/tokenizer.json", o->init);
        arg(&a, "--input"), arg(&a, "%s", o->eval_text), arg(&a, "--out"), arg(&a, "%s", eval_data);
        if (o->threads) arg(&a, "--threads"), arg(&a, "%d", o->threads);
        double secs = run_stage(r, "pack", &a, NULL);
        args_free(&a);
        mark_done(seed_dir, "pack", secs);
    }
    if (!stage_done(seed_dir, "ppl-init")) {
        char *out = path_join(seed_dir, "ppl-init.json");
        ppl_args(&a, exe, o, o->init, eval_data);
        double secs = run_stage(r, "ppl-init", &a, out);
        args_free(&a);
        mark_done(seed_dir, "ppl-init", secs);
        free(out);
    }
}

int loop_run(const LoopOptions *o) {
    if (!o->init || !o->workdir) fail("strap loop needs --init and --workdir");
    if (comm_world() > 1)
        fail("strap loop runs as one process that starts its stages; to run them on %d ranks start it without "
             "mpirun / srun and give --launch \"mpirun -np %d\" (or --launch srun inside an allocation)",
             comm_world(), comm_world());
    char *config = path_join(o->init, "config.json");
    if (!path_exists(config))
        fail("%s not found: --init must be a model directory (config.json, model.safetensors)", config);
    free(config);
    make_dirs(o->workdir);
    check_or_write_options(o);
    Runner r = {o->workdir, NULL, -1, 0};
    const char *crash = getenv("STRAP_LOOP_CRASH");
    char crash_stage[64] = "";
    if (crash && *crash) {
        snprintf(crash_stage, sizeof crash_stage, "%s", crash);
        char *at = strchr(crash_stage, '@');
        if (at) *at = 0, r.crash_ms = atoi(at + 1);
        r.crash_stage = crash_stage;
    }
    char *exe = self_exe();
    char *seed_dir = path_join(o->workdir, "seed");
    make_dirs(seed_dir);
    remove_stale_temps(seed_dir);
    char *seed_prompts = seed_prompts_copy(o, seed_dir), *eval_data = path_join(seed_dir, "eval-text");
    if (o->eval_text) seed_eval_text(&r, o, exe, seed_dir, eval_data);

    char *prev_model = strdup(o->init);
    char *earlier_prompts = NULL; // comma-separated prompt files of the finished iterations
    for (int t = 1; t <= o->iterations; t++) {
        Iter it = {.o = o,
                   .exe = exe,
                   .prev_model = prev_model,
                   .earlier_prompts = earlier_prompts,
                   .seed_prompts = seed_prompts,
                   .eval_prompts = o->eval_prompts ? o->eval_prompts : seed_prompts,
                   .eval_data = eval_data};
        iter_build(&it, t);
        run_iteration(&r, &it);
        loop_report_write(o->workdir, t);
        size_t len = (earlier_prompts ? strlen(earlier_prompts) + 1 : 0) + strlen(it.prompts) + 1;
        char *joined = xmalloc(len);
        snprintf(joined, len, "%s%s%s", earlier_prompts ? earlier_prompts : "", earlier_prompts ? "," : "", it.prompts);
        free(earlier_prompts);
        earlier_prompts = joined;
        free(prev_model);
        prev_model = strdup(it.model);
        iter_free(&it);
    }
    char *report = path_join(o->workdir, "report.md");
    printf("\n==== %d iteration%s done: %s\n", o->iterations, o->iterations == 1 ? "" : "s", report);
    free(report), free(prev_model), free(earlier_prompts), free(exe), free(seed_dir), free(seed_prompts),
        free(eval_data);
    return 0;
}
