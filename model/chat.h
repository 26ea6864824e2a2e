// chat.h: chat templates without a Jinja interpreter. The format is recognised from the
// template string shipped with the model (tokenizer_config.json "chat_template"), or
// named with --chat-template: chatml (SmolLM2, Qwen), llama3 (Llama 3 headers), plain.
// Template markers are encoded as special tokens; the user's text never is.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "../data/tokenizer.h"

typedef enum { CHAT_PLAIN, CHAT_CHATML, CHAT_LLAMA3 } ChatFormat;

// "chatml" | "llama3" | "plain"; fails naming the value otherwise.
ChatFormat chat_format_from_name(const char *name);
const char *chat_format_name(ChatFormat f);
// From DIR/tokenizer_config.json: plain when there is no chat_template; fails when the
// template is one strap does not know (pass --chat-template to choose).
ChatFormat chat_format_detect(const char *model_dir);
typedef struct {
    const char *role; // "system", "user" or "assistant"
    const char *content;
} ChatMessage;

// The system message the template adds when a conversation has none (SmolLM2's
// "You are a helpful AI assistant named SmolLM, ..."), read from a literal
// '<|im_start|>system\n...<|im_end|>' in the template; NULL if there is none. malloc'd.
char *chat_default_system(const char *model_dir);
// Appends the ids of a conversation; with add_generation_prompt the assistant header
// follows, so generation continues as the assistant.
void chat_encode_messages(Tokenizer *t, ChatFormat f, const ChatMessage *messages, int n, int add_generation_prompt,
                          int32_t **ids, size_t *n_ids, size_t *cap);
// Appends the ids of a one-turn conversation ending where the assistant's answer starts.
// system may be NULL.
void chat_encode(Tokenizer *t, ChatFormat f, const char *system, const char *user, int32_t **ids, size_t *n,
                 size_t *cap);
// The token ids that end an assistant turn in this format (written to ids, at most 4).
int chat_stop_ids(Tokenizer *t, ChatFormat f, int *ids);
