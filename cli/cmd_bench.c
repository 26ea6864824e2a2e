// cmd_bench.c: strap bench step | gen (bench/bench_step.c, bench/bench_gen.c); gemm and
// attention are cmd_bench_gpu.c, comm is cmd_bench_comm.c.
#include <stdio.h>
#include <string.h>

#include "../bench/bench_gen.h"
#include "../bench/bench_step.h"
#include "../model/generate.h"
#include "../model/presets.h"
#include "args.h"
#include "cmd_bench_comm.h"
#include "cmd_bench_gpu.h"
#include "commands.h"

// --preset: a shape strap knows (model/presets.h).
static void check_preset(const Command *cmd, const char *preset) {
    LlamaConfig c;
    if (preset && !preset_config(preset, &c))
        args_error(cmd, "--preset '%s' is unknown (choose one of: %s)", preset, preset_names());
}

static int bench_step(int argc, char **argv) {
    BenchStepOptions o;
    bench_step_options_default(&o);
    Command cmd = {"strap bench step (--model DIR | --preset NAME) [--batch B --seq T] [--json]",
                   "Times full training steps (forward, backward, AdamW) on random tokens and "
                   "reports tokens/s and model FLOP/s (6 x matmul parameters + attention per token). "
                   "Under mpirun (one rank per GPU) also the gradient all-reduce: its time and the share "
                   "the backward hides.",
                   BENCH_STEP_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    if (!o.model_dir == !o.preset) args_error(&cmd, "give exactly one of --model and --preset");
    if (o.steps < 1 || o.batch < 1 || o.seq < 1) args_error(&cmd, "--steps, --batch and --seq must be positive");
    if (o.zero != 0 && o.zero != 1) args_error(&cmd, "--zero is 0 or 1");
    check_preset(&cmd, o.preset);
    return bench_step_run(&o);
}

// Prefill and decode speed of generation with the KV cache, on random tokens.
static int bench_gen(int argc, char **argv) {
    BenchGenOptions o;
    bench_gen_options_default(&o);
    Command cmd = {"strap bench gen (--model DIR | --preset NAME) [--batch B --prompt-len P --new N] [--json]",
                   "Times prefill (tokens/s over all prompts) and decode (new tokens/s over the batch) with the "
                   "KV cache, greedy, on random tokens.",
                   BENCH_GEN_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    if (!o.model_dir == !o.preset) args_error(&cmd, "give exactly one of --model and --preset");
    if (o.batch < 1 || o.prompt_len < 1 || o.new_tokens < 1)
        args_error(&cmd, "--batch, --prompt-len and --new must be positive");
    if (generator_weights_parse(o.weights) < 0) args_error(&cmd, "--weights: give f32, f16 or bf16");
    check_preset(&cmd, o.preset);
    return bench_gen_run(&o);
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
