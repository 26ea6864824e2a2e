// token_ids.h: token ids written as text (strap tok decode's input, strap eval's tokens
// files): non-negative integers separated by whitespace or commas, optionally inside [ ].
#pragma once
#include <stddef.h>
#include <stdint.h>

// The ids of text[0..len). Ids >= vocab are an error naming the vocabulary `vocab_of`
// (vocab <= 0: any id up to 2^31 - 1). Errors name `source`, the line, the byte and the
// word. n_out: how many; free() the result.
int32_t *token_ids_parse(const char *text, size_t len, const char *source, int vocab, const char *vocab_of,
                         size_t *n_out);
