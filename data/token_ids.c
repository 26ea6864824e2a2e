// token_ids.c: see token_ids.h.
#include "token_ids.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"

#define SEPARATORS " ,\t\n\r[]"

int32_t *token_ids_parse(const char *text, size_t len, const char *source, int vocab, const char *vocab_of,
                         size_t *n_out) {
    size_t n = 0, cap = 64;
    int32_t *ids = xmalloc(cap * sizeof(int32_t)); // [cap]
    int line = 1;
    for (const char *p = text; p < text + len && *p;) {
        if (strchr(SEPARATORS, *p)) {
            line += *p == '\n';
            p++;
            continue;
        }
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        size_t word = strcspn(p, SEPARATORS);
        if (end == p || v < 0 || (size_t)(end - p) != word)
            fail("%s:%d: '%.*s' (byte %td) is not a token id: give non-negative integers separated by spaces or "
                 "commas",
                 source, line, (int)(word < 32 ? word : 32), p, p - text + 1);
        if (errno == ERANGE || v > INT32_MAX || (vocab > 0 && v >= vocab))
            fail("%s:%d: id %.*s (id %zu, byte %td) is outside the vocabulary of %s (ids 0..%d)", source, line,
                 (int)(end - p), p, n + 1, p - text + 1, vocab_of ? vocab_of : "int32 ids",
                 vocab > 0 ? vocab - 1 : INT32_MAX);
        if (n == cap) ids = xrealloc(ids, (cap *= 2) * sizeof(int32_t));
        ids[n++] = (int32_t)v;
        p = end;
    }
    *n_out = n;
    return ids;
}
