// tokenizer.h: byte-level BPE (GPT-2, Llama 3, SmolLM2 style) loaded from a Hugging Face
// tokenizer.json, with the same ids as the `tokenizers` library.
//
// Encoding: added tokens are cut out first (special ones only when allow_special is set,
// as in tiktoken, so user text cannot inject control tokens); the rest goes through the
// pre-tokenizers (regex splits on PCRE2 with UTF and JIT, Digits, ByteLevel), each piece's
// bytes are mapped to the byte-level alphabet and merged by BPE rank. decode(encode(x)) == x
// for every byte string, including invalid UTF-8 (bytes no regex matches become pieces of
// their own).
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct Tokenizer Tokenizer;

// Loads tokenizer.json (a file, or a directory holding one). Fails with a message naming
// the file and the unsupported feature for anything it does not implement.
Tokenizer *tokenizer_load(const char *path);
void tokenizer_free(Tokenizer *t);
int tokenizer_vocab_size(const Tokenizer *t); // largest id + 1
// Appends the ids of text[0..len) to *ids (grown with realloc; *n and *cap updated).
void tokenizer_encode(Tokenizer *t, const char *text, size_t len, int allow_special, int32_t **ids, size_t *n,
                      size_t *cap);
// Appends the bytes of ids to *out (grown with realloc); returns the new length.
size_t tokenizer_decode(const Tokenizer *t, const int32_t *ids, size_t n, char **out, size_t *cap);
// Calls fn for each pre-tokenized piece of text (no added-token handling): what BPE
// training counts.
void tokenizer_pieces(Tokenizer *t, const char *text, size_t len, void (*fn)(void *ctx, const char *piece, size_t n),
                      void *ctx);
// id of an added token's content (e.g. "<|endoftext|>"), or -1.
int tokenizer_token_id(const Tokenizer *t, const char *content);
// The token's text as stored in the vocabulary (byte-level characters), or NULL.
const char *tokenizer_token_text(const Tokenizer *t, int id);
