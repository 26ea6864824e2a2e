// io.h: file helpers every writer uses. Nothing is ever half-written under its real
// name: writers create "<path>.tmp.<pid>", fsync it, rename it into place and fsync the
// directory.
#pragma once
#include <stddef.h>
#include <stdio.h>

typedef struct {
    FILE *f;
    char *path;     // final name
    char *tmp_path; // name while writing
} AtomicFile;

// Opens a temp file next to `path` for writing ("wb"). Fails with a message.
void atomic_open(AtomicFile *af, const char *path);
// Writes n bytes or fails naming the file.
void atomic_write(AtomicFile *af, const void *data, size_t n);
// Flushes, fsyncs, closes and renames into place; fsyncs the directory.
void atomic_commit(AtomicFile *af);
// Closes and deletes the temp file (on an error path before commit).
void atomic_abort(AtomicFile *af);
// Writes a whole buffer atomically.
void write_file_atomic(const char *path, const void *data, size_t n);

// Deletes "<name>.tmp.<pid>" files in dir left by writers that were killed (pid not alive).
void remove_stale_temps(const char *dir);

// Reads a whole file into a malloc'd buffer (NUL-terminated for convenience).
// Fails with "cannot read PATH: reason" when what is non-NULL (what = "checkpoint", ...).
char *read_file(const char *path, size_t *size_out);
// 1 if path exists / is a directory.
int path_exists(const char *path);
int is_directory(const char *path);
// mkdir -p; fails with a message.
void make_dirs(const char *path);
// fsync a directory (after a rename inside it).
void fsync_dir(const char *dir);
// Joins dir and name into a malloc'd string.
char *path_join(const char *dir, const char *name);
// 1 when s ends with suffix (".jsonl.zst", ...).
int str_ends_with(const char *s, const char *suffix);
// rel under the directory of the running binary when it exists there (a build tree holding
// data/ and scripts/), else rel itself (under the working directory). malloc'd.
char *path_near_exe(const char *rel);
// Expands a directory (all *.tok.zst inside, sorted) or a glob pattern (sorted) into a
// NULL-terminated malloc'd list; *count receives the number. Fails if nothing matches.
char **expand_inputs(const char *spec, const char *suffix, int *count);
void free_string_list(char **list);
