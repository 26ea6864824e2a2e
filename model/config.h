// config.h: Llama hyper-parameters, read from and written to a Hugging Face config.json
// (LlamaConfig keys), so a strap checkpoint directory loads in transformers unchanged.
#pragma once

typedef struct {
    int vocab_size;        // V
    int hidden_size;       // C
    int intermediate_size; // F (SwiGLU hidden width)
    int n_layers;          // num_hidden_layers
    int n_heads;           // num_attention_heads (H)
    int n_kv_heads;        // num_key_value_heads (KV); divides n_heads
    int head_dim;          // D; hidden_size / n_heads unless config.json says head_dim
    int max_seq;           // max_position_embeddings
    float rope_theta;
    float rms_norm_eps;
    int tie_embeddings;   // tie_word_embeddings: lm_head shares embed_tokens
    int bos_token_id;     // -1 when absent
    int eos_token_ids[8]; // eos_token_id may be an int or a list in config.json
    int n_eos;
    float initializer_range; // std of the normal init (0.02)
} LlamaConfig;

// Reads DIR/config.json (or a path to the json file itself). Fails with a message naming
// the file and key on a missing/invalid key, an unsupported architecture
// (model_type != "llama"), rope_scaling that strap does not implement, or inconsistent
// sizes (n_heads % n_kv_heads, head_dim even, ...).
void config_read(LlamaConfig *c, const char *path);
// Writes config.json atomically (architectures, model_type, all keys above,
// hidden_act "silu", attention_bias/mlp_bias false, torch_dtype).
void config_write(const LlamaConfig *c, const char *path, const char *torch_dtype);
// Validates a config built in memory (same checks as config_read); `where` names its origin.
void config_validate(const LlamaConfig *c, const char *where);
// Parameter count.
long long config_param_count(const LlamaConfig *c);
