// cmd_bench.c: strap bench step: time of a training step (forward, backward, AdamW).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/progress.h"
#include "../base/rng.h"
#include "../model/generate.h"
#include "../model/llama.h"
#include "../model/presets.h"
#include "../train/adamw.h"
#include "../train/dist_opt.h"
#include "args.h"
#include "cmd_bench_comm.h"
#include "cmd_bench_gpu.h"
#include "commands.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// The model a benchmark runs: a checkpoint, or a preset shape with random weights (its
// context stretched to min_seq if that is longer).
static void bench_model(const Command *cmd, Model *m, const char *model_dir, const char *preset, int min_seq,
                        Backend *backend) {
    if (model_dir) {
        model_load(m, model_dir, backend);
        return;
    }
    LlamaConfig c;
    if (!preset_config(preset, &c))
        args_error(cmd, "--preset '%s' is unknown (choose one of: %s)", preset, preset_names());
    if (min_seq > c.max_seq) c.max_seq = min_seq;
    model_build(m, &c, backend);
    model_init_weights(m, 1);
}

static int bench_step(int argc, char **argv) {
    const char *model_dir = NULL, *preset = NULL, *device = "auto";
    int batch = 4, seq = 256, steps = 10, warmup = 2, threads = 0, json = 0, zero = 0;
    Flag flags[] = {
        {"--model", FLAG_STRING, &model_dir, "DIR", "checkpoint whose shape to use", NULL},
        {"--preset", FLAG_STRING, &preset, "NAME", "or a named shape: tiny, 15m, 125m", NULL},
        {"--batch", FLAG_INT, &batch, "B", "sequences per step", NULL},
        {"--seq", FLAG_INT, &seq, "T", "tokens per sequence", NULL},
        {"--steps", FLAG_INT, &steps, "N", "timed steps (median reported)", NULL},
        {"--warmup", FLAG_INT, &warmup, "N", "untimed steps first", NULL},
        {"--threads", FLAG_INT, &threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &device, "D", "auto, cpu or cuda", NULL},
        {"--zero", FLAG_INT, &zero, "0|1", "under mpirun: time the ZeRO-1 gradient reduce-scatter instead", NULL},
        {"--json", FLAG_BOOL, &json, NULL, "print only the JSON object", NULL},
        {0},
    };
    Command cmd = {"strap bench step (--model DIR | --preset NAME) [--batch B --seq T] [--json]",
                   "Times full training steps (forward, backward, AdamW) on random tokens and "
                   "reports tokens/s and model FLOP/s (6 x matmul parameters + attention per token). "
                   "Under mpirun (one rank per GPU) also the gradient all-reduce: its time and the share "
                   "the backward hides.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    if (!model_dir == !preset) args_error(&cmd, "give exactly one of --model and --preset");
    if (steps < 1 || batch < 1 || seq < 1) args_error(&cmd, "--steps, --batch and --seq must be positive");
    if (zero != 0 && zero != 1) args_error(&cmd, "--zero is 0 or 1");
    Backend *backend = dist_backend_select(device, threads); // under mpirun: the rank's GPU
    int lead = comm_rank() == 0;
    Model m;
    bench_model(&cmd, &m, model_dir, preset, seq, backend);
    if (seq > m.config.max_seq)
        fail("--seq %d is above the model's max_position_embeddings (%d)", seq, m.config.max_seq);
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
    qsort(times, (size_t)steps, sizeof(double), cmp_double);
    double median = times[steps / 2], best = times[0];
    double tok_s = N / median;
    double flops = model_flops_per_token(&m.config, seq) * tok_s;
    const char *name = model_dir ? model_dir : preset;
    if (!json && lead) {
        printf("%-12s %-6s %6s %6s %8s %12s %12s %12s\n", "model", "device", "batch", "seq", "threads", "step ms",
               "tokens/s", "GFLOP/s");
        printf("%-12s %-6s %6d %6d %8d %12.2f %12.0f %12.2f\n", name, backend->name, batch, seq, threads, median * 1e3,
               tok_s, flops / 1e9);
    }
    if (lead)
        printf("{\"bench\": \"step\", \"model\": \"%s\", \"device\": \"%s\", \"params\": %lld, "
               "\"batch\": %d, \"seq\": %d, \"threads\": %d, \"steps\": %d, \"step_ms_median\": %.3f, "
               "\"step_ms_best\": %.3f, \"tokens_per_s\": %.1f, \"flops_per_token\": %.0f, "
               "\"gflops_per_s\": %.3f}\n",
               name, backend->name, config_param_count(&m.config), batch, seq, threads, steps, median * 1e3, best * 1e3,
               tok_s, model_flops_per_token(&m.config, seq), flops / 1e9);
    if (comm_world() > 1) { // the bucketed gradient reduction, after the backward vs during it
        DistOpt d;
        DistOverlapTiming ov;
        dist_opt_build(&d, &m, NULL, 0.9f, 0.95f, 1e-8f, 0.1f, zero);
        const char *what = zero ? "reduce-scatter" : "all-reduce";
        dist_time_overlap(&d, tokens, targets, batch, seq, steps, &ov);
        const char *via = d.dev->name;
        dist_opt_free(&d);
        if (!json && lead)
            printf("%d ranks (%s): fwd+bwd %.2f ms, + %s after it %.2f ms, overlapped %.2f ms: %s "
                   "%.2f ms, %.2f ms exposed, %.0f%% hidden\n",
                   comm_world(), via, ov.compute_ms, what, ov.serial_ms, ov.overlap_ms, what, ov.comm_ms, ov.exposed_ms,
                   100 * ov.hidden);
        if (lead)
            printf("{\"bench\": \"step_allreduce\", \"model\": \"%s\", \"device\": \"%s\", \"world\": %d, "
                   "\"zero\": %d, \"fwd_bwd_ms\": %.3f, \"serial_ms\": %.3f, \"overlap_ms\": %.3f, \"comm_ms\": %.3f, "
                   "\"exposed_ms\": %.3f, \"comm_hidden\": %.3f}\n",
                   name, backend->name, comm_world(), zero, ov.compute_ms, ov.serial_ms, ov.overlap_ms, ov.comm_ms,
                   ov.exposed_ms, ov.hidden);
    }
    free(times);
    free(tokens);
    free(targets);
    adamw_free(&opt, &m);
    model_free(&m);
    return 0;
}

// Prefill and decode speed of generation with the KV cache, on random tokens.
static int bench_gen(int argc, char **argv) {
    const char *model_dir = NULL, *preset = NULL, *device = "auto", *weights = "f32";
    int batch = 1, prompt_len = 128, new_tokens = 64, threads = 0, json = 0;
    Flag flags[] = {
        {"--model", FLAG_STRING, &model_dir, "DIR", "checkpoint to run", NULL},
        {"--preset", FLAG_STRING, &preset, "NAME", "or a named shape with random weights: tiny, 15m, 125m", NULL},
        {"--batch", FLAG_INT, &batch, "B", "sequences decoded together", NULL},
        {"--prompt-len", FLAG_INT, &prompt_len, "P", "prompt tokens per sequence", NULL},
        {"--new", FLAG_INT, &new_tokens, "N", "decode steps", NULL},
        {"--threads", FLAG_INT, &threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &device, "D", "auto, cpu or cuda", NULL},
        {"--weights", FLAG_STRING, &weights, "W", "decode weights: f32, f16 or bf16 (16-bit copies)", NULL},
        {"--json", FLAG_BOOL, &json, NULL, "print only the JSON object", NULL},
        {0},
    };
    Command cmd = {"strap bench gen (--model DIR | --preset NAME) [--batch B --prompt-len P --new N] [--json]",
                   "Times prefill (tokens/s over all prompts) and decode (new tokens/s over the batch) with the "
                   "KV cache, greedy, on random tokens.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    if (!model_dir == !preset) args_error(&cmd, "give exactly one of --model and --preset");
    if (batch < 1 || prompt_len < 1 || new_tokens < 1)
        args_error(&cmd, "--batch, --prompt-len and --new must be positive");
    int wtype = generator_weights_parse(weights);
    if (wtype < 0) args_error(&cmd, "--weights: give f32, f16 or bf16");
    Backend *backend = backend_select(device, threads);
    Model m;
    bench_model(&cmd, &m, model_dir, preset, 0, backend);
    if (prompt_len + new_tokens > m.config.max_seq)
        fail("--prompt-len + --new = %d is above the model's max_position_embeddings (%d)", prompt_len + new_tokens,
             m.config.max_seq);
    Generator g;
    generator_build(&g, &m, batch, prompt_len + new_tokens);
    generator_set_weights(&g, wtype);
    Rng rng;
    rng_seed(&rng, 7);
    int *prompt = xmalloc((size_t)prompt_len * sizeof(int)), *tokens = xmalloc((size_t)batch * sizeof(int)),
        *pos = xmalloc((size_t)batch * sizeof(int));
    for (int i = 0; i < prompt_len; i++) prompt[i] = (int)(rng_u64(&rng) % (uint64_t)m.config.vocab_size);
    generator_prefill(&g, 0, prompt, prompt_len); // warm-up
    backend->synchronize();
    double t0 = now_seconds();
    for (int b = 0; b < batch; b++) generator_prefill(&g, b, prompt, prompt_len);
    backend->synchronize();
    double prefill = now_seconds() - t0;
    for (int b = 0; b < batch; b++) tokens[b] = prompt[b % prompt_len], pos[b] = prompt_len;
    t0 = now_seconds();
    for (int s = 0; s < new_tokens; s++) {
        generator_step(&g, tokens, pos, batch);
        for (int b = 0; b < batch; b++) pos[b]++;
    }
    backend->synchronize();
    double decode = now_seconds() - t0;
    double prefill_tps = (double)batch * prompt_len / prefill, decode_tps = (double)batch * new_tokens / decode;
    const char *name = model_dir ? model_dir : preset;
    if (!json) {
        printf("%-12s %-6s %7s %6s %8s %6s %8s %14s %14s\n", "model", "device", "weights", "batch", "prompt", "new",
               "threads", "prefill tok/s", "decode tok/s");
        printf("%-12s %-6s %7s %6d %8d %6d %8d %14.0f %14.1f\n", name, backend->name, generator_weights_name(wtype),
               batch, prompt_len, new_tokens, threads, prefill_tps, decode_tps);
    }
    printf("{\"bench\": \"gen\", \"impl\": \"strap\", \"model\": \"%s\", \"device\": \"%s\", \"weights\": \"%s\", "
           "\"batch\": %d, \"prompt_len\": %d, \"new\": %d, \"threads\": %d, \"prefill_tokens_per_s\": %.1f, "
           "\"decode_tokens_per_s\": %.1f}\n",
           name, backend->name, generator_weights_name(wtype), batch, prompt_len, new_tokens, threads, prefill_tps,
           decode_tps);
    free(prompt), free(tokens), free(pos);
    generator_free(&g);
    model_free(&m);
    return 0;
}

int cmd_bench(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "step") == 0) return bench_step(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "gen") == 0) return bench_gen(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "gemm") == 0) return bench_gemm(argc - 1, argv + 1);           // cmd_bench_gpu.c
    if (argc >= 2 && strcmp(argv[1], "attention") == 0) return bench_attention(argc - 1, argv + 1); // cmd_bench_gpu.c
    if (argc >= 2 && strcmp(argv[1], "comm") == 0) return bench_comm(argc - 1, argv + 1);           // cmd_bench_comm.c
    int help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    fprintf(help ? stdout : stderr,
            "usage: strap bench <kind> [options]\n\n"
            "kinds:\n  step     a full training step: tokens/s and model FLOP/s\n"
            "  gen      generation: prefill and KV-cache decode tokens/s\n"
            "  gemm     GPU: own tensor-core GEMM vs cuBLAS, TFLOP/s\n"
            "  attention GPU: flash-style vs naive causal attention, forward and backward\n"
            "  comm     under mpirun: all-reduce / reduce-scatter / all-gather bandwidth (MPI or NCCL)\n");
    if (!help && argc >= 2) fprintf(stderr, "\nstrap: error: unknown bench kind '%s'\n", argv[1]);
    return help ? 0 : 2;
}
