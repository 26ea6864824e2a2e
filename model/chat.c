// chat.c: see chat.h.
#include "chat.h"

#include <jansson.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"

ChatFormat chat_format_from_name(const char *name) {
    if (strcmp(name, "chatml") == 0) return CHAT_CHATML;
    if (strcmp(name, "llama3") == 0) return CHAT_LLAMA3;
    if (strcmp(name, "plain") == 0) return CHAT_PLAIN;
    fail("chat template '%s' is unknown (choose chatml, llama3 or plain)", name);
}

const char *chat_format_name(ChatFormat f) {
    return f == CHAT_CHATML ? "chatml" : f == CHAT_LLAMA3 ? "llama3" : "plain";
}

ChatFormat chat_format_detect(const char *model_dir) {
    char *path = path_join(model_dir, "tokenizer_config.json");
    ChatFormat f = CHAT_PLAIN;
    if (path_exists(path)) {
        json_error_t err;
        json_t *root = json_load_file(path, 0, &err);
        if (!root) fail("%s:%d: invalid JSON: %s", path, err.line, err.text);
        const char *tpl = json_string_value(json_object_get(root, "chat_template"));
        if (tpl && strstr(tpl, "<|im_start|>"))
            f = CHAT_CHATML;
        else if (tpl && strstr(tpl, "<|start_header_id|>"))
            f = CHAT_LLAMA3;
        else if (tpl)
            fail("%s: the chat_template is not one strap recognises (ChatML or Llama 3 headers); name the template "
                 "to use: chatml, llama3 or plain",
                 path);
        json_decref(root);
    }
    free(path);
    return f;
}

char *chat_default_system(const char *model_dir) {
    char *path = path_join(model_dir, "tokenizer_config.json");
    char *found = NULL;
    json_t *root = path_exists(path) ? json_load_file(path, 0, NULL) : NULL;
    const char *tpl = root ? json_string_value(json_object_get(root, "chat_template")) : NULL;
    // the newline after "system" is either a real one or a Jinja escape (backslash, n)
    const char *opens[2] = {"<|im_start|>system\n", "<|im_start|>system\\n"}, *at = NULL;
    for (int i = 0; i < 2 && tpl && !at; i++)
        if ((at = strstr(tpl, opens[i]))) at += strlen(opens[i]);
    if (at) {
        const char *end = strstr(at, "<|im_end|>");
        // a literal default, not a template expression such as {{ message['content'] }}
        if (end && end > at && !memchr(at, '{', (size_t)(end - at)) && !memchr(at, '\'', (size_t)(end - at))) {
            found = xmalloc((size_t)(end - at) + 1);
            memcpy(found, at, (size_t)(end - at));
            found[end - at] = 0;
        }
    }
    if (root) json_decref(root);
    free(path);
    return found;
}

static void add(Tokenizer *t, const char *text, int special, int32_t **ids, size_t *n, size_t *cap) {
    tokenizer_encode(t, text, strlen(text), special, ids, n, cap);
}

static void need_token(Tokenizer *t, const char *content, ChatFormat f) {
    if (tokenizer_token_id(t, content) < 0)
        fail(
            "the tokenizer has no '%s' token, so it cannot use the %s chat format (the plain format works with any tokenizer)",
            content, chat_format_name(f));
}

void chat_encode_messages(Tokenizer *t, ChatFormat f, const ChatMessage *messages, int n, int add_generation_prompt,
                          int32_t **ids, size_t *n_ids, size_t *cap) {
    if (f == CHAT_CHATML) need_token(t, "<|im_start|>", f), need_token(t, "<|im_end|>", f);
    if (f == CHAT_LLAMA3) {
        need_token(t, "<|start_header_id|>", f), need_token(t, "<|eot_id|>", f);
        if (tokenizer_token_id(t, "<|begin_of_text|>") >= 0) add(t, "<|begin_of_text|>", 1, ids, n_ids, cap);
    }
    char header[96];
    for (int i = 0; i < n; i++) {
        const ChatMessage *m = &messages[i];
        if (f == CHAT_CHATML) {
            snprintf(header, sizeof header, "<|im_start|>%s\n", m->role);
            add(t, header, 1, ids, n_ids, cap);
            add(t, m->content, 0, ids, n_ids, cap);
            add(t, "<|im_end|>\n", 1, ids, n_ids, cap);
        } else if (f == CHAT_LLAMA3) {
            snprintf(header, sizeof header, "<|start_header_id|>%s<|end_header_id|>\n\n", m->role);
            add(t, header, 1, ids, n_ids, cap);
            add(t, m->content, 0, ids, n_ids, cap);
            add(t, "<|eot_id|>", 1, ids, n_ids, cap);
        } else { // plain: messages separated by blank lines
            add(t, m->content, 0, ids, n_ids, cap);
            if (i + 1 < n || add_generation_prompt) add(t, "\n\n", 0, ids, n_ids, cap);
        }
    }
    if (add_generation_prompt && f == CHAT_CHATML) add(t, "<|im_start|>assistant\n", 1, ids, n_ids, cap);
    if (add_generation_prompt && f == CHAT_LLAMA3)
        add(t, "<|start_header_id|>assistant<|end_header_id|>\n\n", 1, ids, n_ids, cap);
}

void chat_encode(Tokenizer *t, ChatFormat f, const char *system, const char *user, int32_t **ids, size_t *n,
                 size_t *cap) {
    ChatMessage m[2] = {{"system", system}, {"user", user}};
    if (f == CHAT_PLAIN) { // a plain completion: the prompt text as it is
        if (system) chat_encode_messages(t, f, m, 1, 1, ids, n, cap);
        add(t, user, 0, ids, n, cap);
        return;
    }
    chat_encode_messages(t, f, system ? m : m + 1, system ? 2 : 1, 1, ids, n, cap);
}

int chat_stop_ids(Tokenizer *t, ChatFormat f, int *ids) {
    int n = 0;
    const char *names[] = {f == CHAT_CHATML   ? "<|im_end|>"
                           : f == CHAT_LLAMA3 ? "<|eot_id|>"
                                              : NULL,
                           "<|endoftext|>", "<|end_of_text|>", "</s>"};
    for (int i = 0; i < 4; i++) {
        int id = names[i] ? tokenizer_token_id(t, names[i]) : -1;
        if (id >= 0 && n < 4) ids[n++] = id;
    }
    return n;
}
