// text_utf8.c: see text_utf8.h.
#include "text_utf8.h"

#include <string.h>
#include <utf8proc.h>

#include "../base/check.h"

char *utf8_valid_copy(const char *s, size_t len, size_t *out_len) {
    char *out = xmalloc(3 * len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n < 1) { // one bad byte becomes one replacement character
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3, i += 1;
        } else {
            memcpy(out + o, s + i, (size_t)n);
            o += (size_t)n, i += (size_t)n;
        }
    }
    out[o] = 0;
    if (out_len) *out_len = o;
    return out;
}
