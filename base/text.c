// text.c: see text.h.
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void text_printf(Text *t, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        CHECK(n >= 0, "text_printf: bad format '%s'", fmt);
        if (t->s && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        t->cap = 2 * (t->cap + (size_t)n) + 256;
        t->s = xrealloc(t->s, t->cap);
        CHECK(t->s != NULL, "out of memory (%zu bytes of report text)", t->cap);
    }
}
