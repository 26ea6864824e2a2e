// bench_gen.c: see bench_gen.h.
#include "bench_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/progress.h"
#include "../base/rng.h"
#include "../model/generate.h"
#include "../model/llama.h"
#include "bench_model.h"

void bench_gen_options_default(BenchGenOptions *o) {
    memset(o, 0, sizeof *o);
    o->batch = 1;
    o->prompt_len = 128;
    o->new_tokens = 64;
    o->device = "auto";
    o->weights = "f32";
}

static void print_result(const BenchGenOptions *o, const char *device, int wtype, double prefill_tps,
                         double decode_tps) {
    const char *name = o->model_dir ? o->model_dir : o->preset;
    if (!o->json) {
        printf("%-12s %-6s %7s %6s %8s %6s %8s %14s %14s\n", "model", "device", "weights", "batch", "prompt", "new",
               "threads", "prefill tok/s", "decode tok/s");
        printf("%-12s %-6s %7s %6d %8d %6d %8d %14.0f %14.1f\n", name, device, generator_weights_name(wtype), o->batch,
               o->prompt_len, o->new_tokens, o->threads, prefill_tps, decode_tps);
    }
    printf("{\"bench\": \"gen\", \"impl\": \"strap\", \"model\": \"%s\", \"device\": \"%s\", \"weights\": \"%s\", "
           "\"batch\": %d, \"prompt_len\": %d, \"new\": %d, \"threads\": %d, \"prefill_tokens_per_s\": %.1f, "
           "\"decode_tokens_per_s\": %.1f}\n",
           name, device, generator_weights_name(wtype), o->batch, o->prompt_len, o->new_tokens, o->threads, prefill_tps,
           decode_tps);
}

int bench_gen_run(const BenchGenOptions *o) {
    const int batch = o->batch, prompt_len = o->prompt_len, new_tokens = o->new_tokens;
    int wtype = generator_weights_parse(o->weights);
    if (wtype < 0) fail("decode weights '%s' are unknown (f32, f16 or bf16)", o->weights);
    Backend *backend = backend_select(o->device, o->threads);
    Model m;
    bench_model(&m, o->model_dir, o->preset, 0, backend);
    if (prompt_len + new_tokens > m.config.max_seq)
        fail("a prompt of %d tokens and %d new ones (%d) are above the model's max_position_embeddings (%d)",
             prompt_len, new_tokens, prompt_len + new_tokens, m.config.max_seq);
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
    print_result(o, backend->name, wtype, (double)batch * prompt_len / prefill, (double)batch * new_tokens / decode);
    free(prompt), free(tokens), free(pos);
    generator_free(&g);
    model_free(&m);
    return 0;
}
