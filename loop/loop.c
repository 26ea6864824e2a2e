// loop.c: see loop.h.
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/json_file.h"
#include "../base/progress.h"
#include "../dist/comm.h"
#include "loop_report.h"
#include "stages.h"

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
    char *line = arg_list_command_line(a);
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
                     "work directory",
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

static void run_iteration(Runner *r, Iter *it) {
    make_dirs(it->dir);
    remove_stale_temps(it->dir); // what a killed stage was writing
    printf("\n==== iteration %d of %d: %s -> %s/model\n", it->t, it->o->iterations, it->prev_model, it->dir);
    for (int s = 0; s < N_STAGES; s++) {
        const Stage *st = &STAGES[s];
        if ((st->used && !st->used(it)) || stage_done(it->dir, st->name)) continue;
        ArgList a = {0};
        stage_args(st, it, &a);
        const char *captured = st->captured ? *(char **)((char *)it + st->captured) : NULL;
        double secs = run_stage(r, st->name, &a, captured);
        arg_list_free(&a);
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
    if (!path_exists(from)) fail("%s not found: name the seed prompts file", from);
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
        seed_pack_args(o, exe, eval_data, &a);
        double secs = run_stage(r, "pack", &a, NULL);
        arg_list_free(&a);
        mark_done(seed_dir, "pack", secs);
    }
    if (!stage_done(seed_dir, "ppl-init")) {
        char *out = path_join(seed_dir, "ppl-init.json");
        seed_ppl_args(o, exe, eval_data, &a);
        double secs = run_stage(r, "ppl-init", &a, out);
        arg_list_free(&a);
        mark_done(seed_dir, "ppl-init", secs);
        free(out);
    }
}

int loop_run(const LoopOptions *o) {
    if (!o->init || !o->workdir) fail("the loop needs a starting model and a work directory");
    if (comm_world() > 1)
        fail("strap loop runs as one process that starts its stages; to run them on %d ranks start it without "
             "mpirun / srun and give --launch \"mpirun -np %d\" (or --launch srun inside an allocation)",
             comm_world(), comm_world());
    char *config = path_join(o->init, "config.json");
    if (!path_exists(config))
        fail("%s not found: the starting model must be a model directory (config.json, model.safetensors)", config);
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
