// json_file.c: see json_file.h.
#include "json_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io.h"

char *json_dumps_line(const json_t *j, size_t flags) {
    char *text = json_dumps(j, flags);
    CHECK(text != NULL, "json_dumps failed");
    size_t n = strlen(text);
    text = xrealloc(text, n + 2);
    text[n] = '\n', text[n + 1] = 0;
    return text;
}

void json_write_atomic(const char *path, const json_t *j, size_t flags) {
    char *text = json_dumps_line(j, flags);
    if (path)
        write_file_atomic(path, text, strlen(text));
    else
        fputs(text, stdout);
    free(text);
}
