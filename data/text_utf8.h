// text_utf8.h: model output as JSON-safe text.
#pragma once
#include <stddef.h>

// A copy of s[0..len) with each invalid UTF-8 sequence replaced by U+FFFD (JSON strings
// must be UTF-8; a model's raw bytes need not be). malloc'd, NUL-terminated; *out_len (may
// be NULL) receives its length.
char *utf8_valid_copy(const char *s, size_t len, size_t *out_len);
