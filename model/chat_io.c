// chat_io.c: see chat_io.h.
#include "chat_io.h"

#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../data/pack.h"

void chat_io_open(ChatIO *c, const char *model_dir, const LlamaConfig *config, const char *template_name,
                  const char *who) {
    memset(c, 0, sizeof *c);
    c->bos = config->bos_token_id;
    char *tok_path = path_join(model_dir, "tokenizer.json");
    if (path_exists(tok_path)) {
        c->tok = tokenizer_load(tok_path);
        if (tokenizer_vocab_size(c->tok) > config->vocab_size)
            fail("%s has %d tokens but the model's vocab_size is %d", tok_path, tokenizer_vocab_size(c->tok),
                 config->vocab_size);
        c->format = template_name ? chat_format_from_name(template_name) : chat_format_detect(model_dir);
        if (c->format != CHAT_PLAIN) c->default_system = chat_default_system(model_dir);
        c->n_stop = chat_stop_ids(c->tok, c->format, c->stop);
    } else if (config->vocab_size == BYTES_VOCAB) { // trained on byte-level shards
        c->format = CHAT_PLAIN;
        c->stop[c->n_stop++] = BYTES_EOS;
    } else {
        fail("%s not found: %s needs the model's tokenizer to turn prompts into tokens", tok_path, who);
    }
    free(tok_path);
    for (int i = 0; i < config->n_eos && c->n_stop < 8; i++) c->stop[c->n_stop++] = config->eos_token_ids[i];
}

void chat_io_close(ChatIO *c) {
    if (c->tok) tokenizer_free(c->tok);
    free(c->default_system);
    memset(c, 0, sizeof *c);
}

int32_t *chat_io_encode(const ChatIO *c, const char *system, const char *user, size_t *n) {
    int32_t *ids = NULL;
    size_t cap = 0;
    *n = 0;
    if (!c->tok) {
        ids = xmalloc((strlen(user) + 1) * sizeof(int32_t));
        ids[(*n)++] = BYTES_BOS;
        for (const char *p = user; *p; p++) ids[(*n)++] = (unsigned char)*p;
        return ids;
    }
    if (c->bos >= 0 && c->format == CHAT_PLAIN) {
        ids = xmalloc(sizeof(int32_t));
        ids[(*n)++] = c->bos, cap = 1;
    }
    chat_encode(c->tok, c->format, system ? system : c->default_system, user, &ids, n, &cap);
    return ids;
}

char *chat_io_decode(const ChatIO *c, const int *ids, int n, FinishReason finish, size_t *len) {
    int keep = n - (finish == FINISH_EOS && n > 0); // the end-of-turn token is not text
    if (!c->tok) {
        char *text = xmalloc((size_t)keep + 1);
        size_t k = 0;
        for (int i = 0; i < keep; i++)
            if (ids[i] < 256) text[k++] = (char)ids[i];
        text[k] = 0;
        *len = k;
        return text;
    }
    char *text = NULL;
    size_t cap = 0;
    *len = tokenizer_decode(c->tok, (const int32_t *)ids, (size_t)keep, &text, &cap);
    if (!text) text = strdup("");
    CHECK(text != NULL, "out of memory");
    return text;
}
