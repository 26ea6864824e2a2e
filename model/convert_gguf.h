// convert_gguf.h: a llama.cpp GGUF model (general.architecture "llama") -> a strap / Hugging
// Face checkpoint directory: config.json, model.safetensors (fp32 or bf16), tokenizer.json,
// tokenizer_config.json (chat template, bos/eos) and generation_config.json.
//
//   metadata   llama.embedding_length, block_count, feed_forward_length,
//              attention.head_count(_kv), attention.layer_norm_rms_epsilon, rope.freq_base,
//              context_length, attention.key_length / rope.dimension_count (head_dim)
//              -> LlamaConfig; vocab_size = rows of token_embd; tied when there is no
//              output.weight.
//   tensors    token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm,
//              ffn_gate, ffn_up, ffn_down}, output_norm, output -> the Hugging Face names. A
//              GGUF matrix with ne = [in, out] is the HF (out, in) matrix, same bytes order.
//              Every tensor is dequantised to fp32 (gguf.h lists the types).
//   RoPE       llama.cpp's converter permutes the rows of q_proj and k_proj from Hugging
//              Face's rotate-half layout to interleaved pairs; strap (like HF) rotates halves,
//              so the permutation is undone here (gguf_unpermute_rope).
//   tokenizer  tokenizer.ggml.model "gpt2" (byte-level BPE) with tokenizer.ggml.pre
//              "llama-bpe" (Llama 3 regex split), "smollm" (individual digits + GPT-2 regex) or
//              "gpt-2"; control tokens become special added tokens, user-defined tokens
//              non-special added tokens, unused ([PAD]) ids are left out.
#pragma once
#include <stdint.h>

#include "../base/flags.h"
#include "config.h"
#include "gguf.h"

typedef struct {
    int bf16;               // write model.safetensors as BF16 (default F32)
    int force;              // overwrite an existing checkpoint in the output directory
    const char *gguf, *out; // convert_run: the GGUF file and the checkpoint directory
} ConvertOptions;

typedef struct {
    LlamaConfig config;
    char name[128]; // general.name ("" if absent)
    uint32_t gguf_version;
    int n_tensors;            // GGUF tensors converted
    int type_count[64];       // tensors per ggml type id
    int64_t type_elems[64];   // elements per ggml type id
    char tokenizer_model[32]; // tokenizer.ggml.model ("" if the GGUF has no tokenizer)
    char tokenizer_pre[64];
    int vocab_tokens;      // entries of tokenizer.json's vocab (0: no tokenizer written)
    int n_control, n_user; // added tokens: special (CONTROL), non-special (USER_DEFINED)
    int n_skipped;         // UNUSED, empty or duplicate token strings left out
    int n_merges;
    int has_chat_template;
} ConvertInfo;

// The LlamaConfig the llama.* metadata and tensor shapes describe (validated). Fails naming
// the file and key for missing/inconsistent metadata, mixture-of-experts or RoPE scaling.
void convert_gguf_config(const GgufFile *g, LlamaConfig *c);

// GGUF (interleaved pairs) -> HF (rotate-half) rows of a q_proj or k_proj weight of n_head
// heads: within each head of D = rows / n_head rows, HF row j*D/2 + i (j = 0, 1; i < D/2) is
// GGUF row 2i + j. src and dst are (rows, cols) row-major and must not overlap.
void gguf_unpermute_rope(const float *src, float *dst, int64_t rows, int64_t cols, int n_head);
// The inverse (HF -> GGUF), as llama.cpp's convert_hf_to_gguf.py permute().
void gguf_permute_rope(const float *src, float *dst, int64_t rows, int64_t cols, int n_head);

// The whole conversion. Everything is checked (architecture, metadata, every tensor's name,
// shape and type, the tokenizer) before out_dir is touched; out_dir must not hold a
// checkpoint already unless o->force. The tokenizer (tokenizer.json, tokenizer_config.json
// with the chat template and bos/eos/pad tokens, generation_config.json) is written when the
// GGUF has tokenizer.ggml.model; a SentencePiece ("llama") or other non-BPE tokenizer, or an
// unknown tokenizer.ggml.pre, fails. Memory: the fp32 parameters (4 bytes each) plus the
// mapped file.
void convert_gguf(const char *gguf_path, const char *out_dir, const ConvertOptions *o, ConvertInfo *info);
// strap convert: convert_gguf(o->gguf, o->out), then a summary of the model on standard output.
int convert_run(const ConvertOptions *o);
extern const Flag CONVERT_FLAGS[]; // strap convert (model/model_flags.c)
