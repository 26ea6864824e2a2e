// ckpt.c: see ckpt.h.
#include "ckpt.h"

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "../data/io.h"

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
