// arg_list.c: see arg_list.h.
#include "arg_list.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

void arg_add(ArgList *a, const char *fmt, ...) {
    if (a->n + 2 > a->cap) {
        a->cap = 2 * a->cap + 16;
        a->argv = xrealloc(a->argv, (size_t)a->cap * sizeof(char *));
    }
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&a->argv[a->n], fmt, ap) < 0) fail("out of memory");
    va_end(ap);
    a->argv[++a->n] = NULL;
}

void arg_add_words(ArgList *a, const char *words) {
    if (!words) return;
    char *copy = xstrdup(words);
    for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) arg_add(a, "%s", w);
    free(copy);
}

void arg_list_free(ArgList *a) {
    for (int i = 0; i < a->n; i++) free(a->argv[i]);
    free(a->argv);
    memset(a, 0, sizeof *a);
}

static int plain_word(const char *w) {
    if (!*w) return 0;
    for (const char *p = w; *p; p++)
        if (!(strchr("-_./=,:@%+", *p) || (*p >= '0' && *p <= '9') || ((*p | 32) >= 'a' && (*p | 32) <= 'z'))) return 0;
    return 1;
}

char *arg_list_command_line(const ArgList *a) {
    size_t cap = 64, len = 0;
    char *s = xmalloc(cap);
    s[0] = 0;
    for (int i = 0; i < a->n; i++) {
        const char *w = a->argv[i];
        size_t need = len + 4 * strlen(w) + 4;
        if (need > cap) s = xrealloc(s, cap = 2 * need);
        if (i) s[len++] = ' ';
        if (plain_word(w)) {
            len += (size_t)sprintf(s + len, "%s", w);
            continue;
        }
        s[len++] = '\'';
        for (const char *p = w; *p; p++) {
            if (*p == '\'')
                len += (size_t)sprintf(s + len, "'\\''");
            else
                s[len++] = *p;
        }
        s[len++] = '\'';
        s[len] = 0;
    }
    return s;
}
