// text.h: a growing string for the reports (Markdown tables, summaries) written by eval/ and
// the commands: printf onto its end.
//
//   Text t = {0};
//   text_printf(&t, "| %s | %.3f |\n", name, value);
//   write_file_atomic(path, t.s, t.len);
//   free(t.s);
#pragma once
#include <stddef.h>

#include "check.h"

typedef struct {
    char *s; // NUL-terminated once anything is written; NULL before
    size_t len, cap;
} Text;

STRAP_PRINTF(2, 3) void text_printf(Text *t, const char *fmt, ...);
