// bench_step.c: see bench_step.h.
#include "bench_step.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/progress.h"
#include "../base/rng.h"
#include "../dist/dist.h"
#include "../model/llama.h"
#include "../train/adamw.h"
#include "../train/dist_opt.h"
#include "bench_model.h"

void bench_step_options_default(BenchStepOptions *o) {
    memset(o, 0, sizeof *o);
    o->batch = 4;
    o->seq = 256;
    o->steps = 10;
    o->warmup = 2;
    o->device = "auto";
}

// The bucketed gradient reduction over the ranks, after the backward vs during it.
static void time_reduction(const BenchStepOptions *o, Model *m, const int *tokens, const int *targets, const char *name,
                           const Backend *backend) {
    int lead = comm_rank() == 0;
    DistOpt d;
    DistOverlapTiming ov;
    dist_opt_build(&d, m, NULL, 0.9f, 0.95f, 1e-8f, 0.1f, o->zero);
    const char *what = o->zero ? "reduce-scatter" : "all-reduce";
    dist_time_overlap(&d, tokens, targets, o->batch, o->seq, o->steps, &ov);
    const char *via = d.dev->name;
    dist_opt_free(&d);
    if (!o->json && lead)
        printf("%d ranks (%s): fwd+bwd %.2f ms, + %s after it %.2f ms, overlapped %.2f ms: %s "
               "%.2f ms, %.2f ms exposed, %.0f%% hidden\n",
               comm_world(), via, ov.compute_ms, what, ov.serial_ms, ov.overlap_ms, what, ov.comm_ms, ov.exposed_ms,
               100 * ov.hidden);
    if (lead)
        printf("{\"bench\": \"step_allreduce\", \"model\": \"%s\", \"device\": \"%s\", \"world\": %d, "
               "\"zero\": %d, \"fwd_bwd_ms\": %.3f, \"serial_ms\": %.3f, \"overlap_ms\": %.3f, \"comm_ms\": %.3f, "
               "\"exposed_ms\": %.3f, \"comm_hidden\": %.3f}\n",
               name, backend->name, comm_world(), o->zero, ov.compute_ms, ov.serial_ms, ov.overlap_ms, ov.comm_ms,
               ov.exposed_ms, ov.hidden);
}

int bench_step_run(const BenchStepOptions *o) {
    const int batch = o->batch, seq = o->seq, steps = o->steps, warmup = o->warmup;
    Backend *backend = dist_backend_select(o->device, o->threads); // under mpirun: the rank's GPU
    int lead = comm_rank() == 0;
    Model m;
    bench_model(&m, o->model_dir, o->preset, seq, backend);
    if (seq > m.config.max_seq)
        fail("a sequence of %d tokens is above the model's max_position_embeddings (%d)", seq, m.config.max_seq);
    model_enable_grads(&m);
    AdamW opt;
    adamw_build(&opt, &m, NULL, 0.9f, 0.95f, 1e-8f, 0.1f);
    size_t N = (size_t)batch * seq;
    int *tokens = xmalloc(N * sizeof(int)), *targets = xmalloc(N * sizeof(int));
    Rng rng;
    rng_seed(&rng, 42);
    for (size_t i = 0; i < N; i++) tokens[i] = (int)(rng_u64(&rng) % (uint64_t)m.config.vocab_size);
    for (size_t i = 0; i < N; i++) targets[i] = i + 1 < N ? tokens[i + 1] : tokens[0];
    double *times = xmalloc((size_t)steps * sizeof(double));
    for (int i = 0; i < warmup + steps; i++) {
        double t0 = now_seconds();
        model_zero_grads(&m);
        model_forward(&m, tokens, targets, batch, seq);
        model_backward(&m, 1.0f / (float)N);
        float norm = grad_global_norm(&m);
        adamw_step(&opt, &m, 1e-4f, norm > 1 ? 1 / norm : 1);
        backend->synchronize();
        if (i >= warmup) times[i - warmup] = now_seconds() - t0;
    }
    qsort(times, (size_t)steps, sizeof(double), bench_cmp_double);
    double median = times[steps / 2], best = times[0];
    double tok_s = N / median;
    double flops = model_flops_per_token(&m.config, seq) * tok_s;
    const char *name = o->model_dir ? o->model_dir : o->preset;
    if (!o->json && lead) {
        printf("%-12s %-6s %6s %6s %8s %12s %12s %12s\n", "model", "device", "batch", "seq", "threads", "step ms",
               "tokens/s", "GFLOP/s");
        printf("%-12s %-6s %6d %6d %8d %12.2f %12.0f %12.2f\n", name, backend->name, batch, seq, o->threads,
               median * 1e3, tok_s, flops / 1e9);
    }
    if (lead)
        printf("{\"bench\": \"step\", \"model\": \"%s\", \"device\": \"%s\", \"params\": %lld, "
               "\"batch\": %d, \"seq\": %d, \"threads\": %d, \"steps\": %d, \"step_ms_median\": %.3f, "
               "\"step_ms_best\": %.3f, \"tokens_per_s\": %.1f, \"flops_per_token\": %.0f, "
               "\"gflops_per_s\": %.3f}\n",
               name, backend->name, config_param_count(&m.config), batch, seq, o->threads, steps, median * 1e3,
               best * 1e3, tok_s, model_flops_per_token(&m.config, seq), flops / 1e9);
    if (comm_world() > 1) time_reduction(o, &m, tokens, targets, name, backend);
    free(times);
    free(tokens);
    free(targets);
    adamw_free(&opt, &m);
    model_free(&m);
    return 0;
}
