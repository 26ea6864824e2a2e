// ckpt.c: see ckpt.h.
#include "ckpt.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"

static volatile sig_atomic_t stop_signal = 0;

static void on_signal(int sig) {
    stop_signal = sig;
    signal(sig, SIG_DFL); // a second signal ends the process at once
}

void stop_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int stop_signal_received(void) { return stop_signal; }

int ckpt_stop_reason(int step, int start_step, int total, int stop_after) {
    int sig = dist_any(stop_signal); // every rank stops at the same step
    if (sig) return sig;
    return stop_after > 0 && step - start_step >= stop_after && step < total ? CKPT_STOP_AFTER : 0;
}

void ckpt_diverged(const char *what, int step, int first_step, double loss, double norm, const char *out,
                   const char *hint) {
    char *state = path_join(out, "trainer_state.json");
    int saved = path_exists(state);
    free(state);
    char where[1024];
    if (saved)
        snprintf(where, sizeof where, "the last checkpoint in %s is intact", out);
    else
        snprintf(where, sizeof where, "%s holds no checkpoint of this run", out);
    if (step == first_step)
        fail("%s step %d: loss %g, grad norm %g before any update of this run: the starting model or the data gives "
             "non-finite numbers, so the learning rate is not the cause (check the model with strap eval ppl); %s",
             what, step, loss, norm, where);
    fail("%s step %d: loss %g, grad norm %g: training diverged; %s (%s)", what, step, loss, norm, hint, where);
}

int ckpt_stopped(int reason, int step, int stop_after, const char *out) {
    if (comm_rank() == 0) {
        if (reason == CKPT_STOP_AFTER)
            printf("stopped after %d steps (as asked) at step %d; checkpoint saved in %s; resume the run to "
                   "continue\n",
                   stop_after, step, out);
        else
            printf("stopped by %s at step %d; checkpoint saved in %s; resume the run to continue\n",
                   reason == SIGINT ? "SIGINT" : "SIGTERM", step, out);
    }
    return reason == CKPT_STOP_AFTER ? 0 : 128 + reason;
}

void ckpt_start_from(Model *m, const LlamaConfig *config, Backend *backend, const char *model_dir, int resuming,
                     DistOpt *opt, float weight_decay, int zero) {
    model_build(m, config, backend);
    float *initial = NULL;
    if (!resuming) {
        initial = xmalloc(m->n_params * sizeof(float));
        model_read_weights(m, model_dir, initial);
        model_set_params(m, initial);
    }
    model_enable_grads(m);
    dist_opt_build(opt, m, initial, 0.9f, 0.999f, 1e-8f, weight_decay, zero);
    free(initial);
}

void ckpt_save(const char *out_dir, Model *m, DistOpt *opt, const char *resume_state, const char *final_state,
               int save_bf16) {
    char *opt_path = path_join(out_dir, "optimizer.safetensors");
    float *master = dist_opt_save(opt, opt_path, resume_state); // the fp32 master weights, on rank 0
    free(opt_path);
    if (comm_rank() != 0) return;
    model_save(m, out_dir, save_bf16, master);
    free(master);
    const char *state = final_state ? final_state : resume_state;
    char *state_path = path_join(out_dir, "trainer_state.json");
    write_file_atomic(state_path, state, strlen(state));
    free(state_path);
}

void metrics_truncate(const char *path, int last_step) {
    if (!path_exists(path)) return;
    size_t size;
    char *text = read_file(path, &size);
    AtomicFile af;
    atomic_open(&af, path);
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line + 1) : strlen(line);
        json_t *j = json_loadb(line, len, 0, NULL);
        json_t *step = j ? json_object_get(j, "step") : NULL;
        if (step && json_integer_value(step) <= last_step) atomic_write(&af, line, len);
        if (j) json_decref(j);
        line += len;
    }
    atomic_commit(&af);
    free(text);
}

void copy_model_files(const char *from_dir, const char *to_dir) {
    const char *names[] = {"tokenizer.json", "tokenizer_config.json", "generation_config.json"};
    for (int i = 0; i < 3; i++) {
        char *src = path_join(from_dir, names[i]);
        if (path_exists(src)) {
            size_t n;
            char *data = read_file(src, &n);
            char *dst = path_join(to_dir, names[i]);
            write_file_atomic(dst, data, n);
            free(dst);
            free(data);
        }
        free(src);
    }
}
