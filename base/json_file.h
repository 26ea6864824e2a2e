// json_file.h: JSON written the one way strap writes it: json_dumps with the caller's flags,
// then a newline, to a file atomically (a temp name, then rename: io.h) or to stdout.
#pragma once
#include <jansson.h>
#include <stddef.h>

// json_dumps(j, flags) followed by "\n" (malloc'd); stops the run if jansson fails.
char *json_dumps_line(const json_t *j, size_t flags);
// Writes json_dumps_line(j, flags) to `path` atomically, or prints it when path is NULL.
void json_write_atomic(const char *path, const json_t *j, size_t flags);
