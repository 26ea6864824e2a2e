// arg_list.h: a command line being built, word by word, for posix_spawn.
#pragma once

typedef struct {
    char **argv; // [n + 1], NULL-terminated
    int n, cap;
} ArgList;

// Appends one word, printf-style.
void arg_add(ArgList *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Appends the space-separated words of `words` (NULL: none).
void arg_add_words(ArgList *a, const char *words);
void arg_list_free(ArgList *a);
// The command line as a shell would take it back (words quoted where needed); free() it.
char *arg_list_command_line(const ArgList *a);
