// cmd_convert.c: strap convert --gguf FILE --out DIR [--bf16] [--force].
#include "cmd_convert.h"

#include <stdio.h>

#include "../model/convert_gguf.h"
#include "../model/gguf.h"
#include "args.h"

// 1234 -> "1.2k", 5600000 -> "5.6M"
static const char *count_text(double n, char *buf, size_t size) {
    if (n >= 1e9)
        snprintf(buf, size, "%.2fG", n / 1e9);
    else if (n >= 1e6)
        snprintf(buf, size, "%.2fM", n / 1e6);
    else if (n >= 1e3)
        snprintf(buf, size, "%.1fk", n / 1e3);
    else
        snprintf(buf, size, "%.0f", n);
    return buf;
}

int cmd_convert(int argc, char **argv) {
    const char *gguf = NULL, *out = NULL;
    int bf16 = 0, force = 0;
    Flag flags[] = {
        {"--gguf", FLAG_STRING, &gguf, "FILE", "llama.cpp model file (.gguf, general.architecture llama) (required)",
         NULL},
        {"--out", FLAG_STRING, &out, "DIR", "checkpoint directory to write (required)", NULL},
        {"--bf16", FLAG_BOOL, &bf16, NULL, "write model.safetensors in BF16 (default F32)", NULL},
        {"--force", FLAG_BOOL, &force, NULL, "overwrite a checkpoint already in --out", NULL},
        {0},
    };
    Command cmd = {"strap convert --gguf FILE --out DIR [--bf16] [--force]",
                   "Convert a llama.cpp GGUF Llama model into a checkpoint directory that strap and Hugging Face "
                   "transformers load: config.json, model.safetensors (every tensor dequantised: F32, F16, BF16, "
                   "Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K), tokenizer.json, tokenizer_config.json (chat template) and "
                   "generation_config.json. q_proj/k_proj rows go back from llama.cpp's interleaved RoPE layout to "
                   "Hugging Face's rotate-half layout.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--gguf", gguf != NULL);
    args_require(&cmd, "--out", out != NULL);

    ConvertOptions o = {bf16, force};
    ConvertInfo info;
    convert_gguf(gguf, out, &o, &info);

    const LlamaConfig *c = &info.config;
    char num[32];
    printf("converted %s (GGUF v%u, llama%s%s%s) -> %s\n", gguf, info.gguf_version, info.name[0] ? ": \"" : "",
           info.name, info.name[0] ? "\"" : "", out);
    printf("  shape: vocab %d, hidden %d, layers %d, heads %d (kv %d, head_dim %d), ffn %d, context %d, "
           "rope_theta %g, rms_eps %g, %s embeddings, %s parameters\n",
           c->vocab_size, c->hidden_size, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, c->intermediate_size,
           c->max_seq, (double)c->rope_theta, (double)c->rms_norm_eps, c->tie_embeddings ? "tied" : "untied",
           count_text((double)config_param_count(c), num, sizeof num));
    printf("  tensors: %d dequantised to %s:", info.n_tensors, bf16 ? "bf16" : "fp32");
    for (int t = 0; t < 64; t++)
        if (info.type_count[t])
            printf(" %s x%d (%s)", gguf_type_name((uint32_t)t), info.type_count[t],
                   count_text((double)info.type_elems[t], num, sizeof num));
    printf("\n");
    if (info.vocab_tokens) {
        printf("  tokenizer: byte-level BPE (pre '%s'), %d tokens, %d merges, %d special + %d user-defined added "
               "tokens",
               info.tokenizer_pre, info.vocab_tokens, info.n_merges, info.n_control, info.n_user);
        if (info.n_skipped) printf(", %d unused ids left out", info.n_skipped);
        printf("; bos %d, eos", c->bos_token_id);
        for (int i = 0; i < c->n_eos; i++) printf("%s%d", i ? "," : " ", c->eos_token_ids[i]);
        printf("%s\n", info.has_chat_template ? "; chat template kept" : "");
    } else {
        printf("  tokenizer: none in the GGUF (no tokenizer.json written)\n");
    }
    return 0;
}
