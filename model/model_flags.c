// model_flags.c: the flags of strap init, strap convert and strap chat, over their options
// (base/flags.h).
#include <stddef.h>

#include "convert_gguf.h"
#include "init_run.h"
#include "stream_run.h"

#define S InitOptions
const Flag INIT_FLAGS[] = {
    FLAG(S, out, FLAG_STRING, "--out", "DIR", "output checkpoint directory (required)"),
    FLAG(S, preset, FLAG_STRING, "--preset", "NAME", "start from a named shape: tiny, 15m, 125m"),
    FLAG(S, vocab, FLAG_INT, "--vocab", "V", "vocabulary size (258 for --tokenizer bytes shards)"),
    FLAG(S, dim, FLAG_INT, "--dim", "C", "model width (hidden_size)"),
    FLAG(S, layers, FLAG_INT, "--layers", "L", "number of transformer blocks"),
    FLAG(S, heads, FLAG_INT, "--heads", "H", "attention heads"),
    FLAG(S, kv_heads, FLAG_INT, "--kv-heads", "K", "key/value heads (divides --heads; default --heads)"),
    FLAG(S, ffn, FLAG_INT, "--ffn", "F", "SwiGLU hidden width (intermediate_size)"),
    FLAG(S, max_seq, FLAG_INT, "--max-seq", "T", "max_position_embeddings"),
    FLAG(S, rope_theta, FLAG_FLOAT, "--rope-theta", "X", "RoPE base (default 10000)"),
    FLAG(S, norm_eps, FLAG_FLOAT, "--norm-eps", "E", "RMSNorm epsilon (default 1e-5)"),
    FLAG(S, init_std, FLAG_FLOAT, "--init-std", "S", "std of the normal init (default 0.02)"),
    FLAG(S, tie_embeddings, FLAG_BOOL, "--tie-embeddings", NULL, "share the embedding and the output layer"),
    FLAG(S, bos_id, FLAG_INT, "--bos-id", "ID", "bos_token_id (default 256 when vocab is 258)"),
    FLAG(S, eos_id, FLAG_INT, "--eos-id", "ID", "eos_token_id (default 257 when vocab is 258)"),
    FLAG(S, seed, FLAG_INT, "--seed", "S", "random seed of the init"),
    FLAG(S, bf16, FLAG_BOOL, "--bf16", NULL, "write model.safetensors in BF16"),
    FLAG(S, force, FLAG_BOOL, "--force", NULL, "overwrite an existing model in --out"),
    {0},
};
#undef S

#define S ConvertOptions
const Flag CONVERT_FLAGS[] = {
    FLAG(S, gguf, FLAG_STRING, "--gguf", "FILE", "llama.cpp model file (.gguf, general.architecture llama) (required)"),
    FLAG(S, out, FLAG_STRING, "--out", "DIR", "checkpoint directory to write (required)"),
    FLAG(S, bf16, FLAG_BOOL, "--bf16", NULL, "write model.safetensors in BF16 (default F32)"),
    FLAG(S, force, FLAG_BOOL, "--force", NULL, "overwrite a checkpoint already in --out"),
    {0},
};
#undef S

#define S ChatOptions
const Flag CHAT_FLAGS[] = {
    FLAG(S, model_dir, FLAG_STRING, "--model", "DIR", "checkpoint directory with tokenizer.json (required)"),
    FLAG(S, system, FLAG_STRING, "--system", "S", "a system message"),
    FLAG(S, chat_template, FLAG_STRING, "--chat-template", "NAME",
         "chatml, llama3 or plain (default: from the model's files)"),
    FLAG(S, max_new, FLAG_INT, "--max-new", "N", "new tokens per answer at most"),
    FLAG(S, sample.temperature, FLAG_FLOAT, "--temperature", "T", "0 = greedy"),
    FLAG(S, sample.top_p, FLAG_FLOAT, "--top-p", "P", "nucleus sampling mass (1: off)"),
    FLAG(S, sample.repetition_penalty, FLAG_FLOAT, "--repetition-penalty", "R",
         "penalise tokens already present (1: off)"),
    FLAG(S, sample.no_repeat_ngram, FLAG_INT, "--no-repeat-ngram", "N",
         "never repeat an N-gram of the answer's tokens (0: off)"),
    FLAG(S, seed, FLAG_INT, "--seed", "S", "random seed"),
    FLAG_THREADS(S),
    FLAG_DEVICE(S),
    {0},
};
#undef S
