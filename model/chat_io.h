// chat_io.h: how prompts go into a model and its answers come out, as everything that makes
// a model answer (strap gen, strap synth, eval winrate, the pairwise judge) does it: the
// model's tokenizer and chat format, the template's default system message, the tokens that
// end a turn, and a model without tokenizer.json that reads bytes (strap demo-pretrain's).
//
//   ChatIO io;
//   chat_io_open(&io, model_dir, &model.config, NULL, "strap gen");
//   int32_t *ids = chat_io_encode(&io, NULL, "Write a haiku.", &n); // the model's input
//   ... generate with io.stop / io.n_stop as the end ids ...
//   char *text = chat_io_decode(&io, out, n_out, finish, &len);    // the answer's bytes
//   chat_io_close(&io);
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "chat.h"
#include "config.h"
#include "generate.h"

typedef struct {
    Tokenizer *tok;       // NULL: a byte-level model (BYTES_BOS, then one id per byte)
    ChatFormat format;    // CHAT_PLAIN for a byte-level model
    int bos;              // put first in the plain format (-1: none)
    char *default_system; // the template's default system message, or NULL
    int stop[8], n_stop;  // the format's end-of-turn ids, then the model's EOS ids
} ChatIO;

// Loads model_dir/tokenizer.json and the chat format: template_name ("chatml", "llama3",
// "plain") or NULL for the model's own (chat_format_detect). A model without tokenizer.json
// must be byte-level (vocab_size BYTES_VOCAB); otherwise it fails saying `who` needs it.
void chat_io_open(ChatIO *c, const char *model_dir, const LlamaConfig *config, const char *template_name,
                  const char *who);
void chat_io_close(ChatIO *c);

// The model's input for one user message ending where the assistant's answer starts: the
// chat turn with `system` (NULL: the default system message), BOS first in the plain
// format; for a byte-level model BYTES_BOS and the message's bytes. malloc'd, *n ids.
int32_t *chat_io_encode(const ChatIO *c, const char *system, const char *user, size_t *n);

// The text of an answer: its n new tokens decoded, the end-of-turn token that stopped it
// (finish FINISH_EOS) left out; for a byte-level model the bytes (ids >= 256 skipped). The
// bytes are as the model wrote them, not necessarily valid UTF-8. malloc'd, NUL-terminated,
// *len bytes.
char *chat_io_decode(const ChatIO *c, const int *ids, int n, FinishReason finish, size_t *len);
