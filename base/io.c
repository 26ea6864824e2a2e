// io.c: see io.h.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

void atomic_open(AtomicFile *af, const char *path) {
    af->path = xstrdup(path);
    size_t n = strlen(path) + 32;
    af->tmp_path = xmalloc(n);
    snprintf(af->tmp_path, n, "%s.tmp.%d", path, (int)getpid());
    af->f = fopen(af->tmp_path, "wb");
    if (!af->f) fail("cannot write %s: %s", af->tmp_path, strerror(errno));
}

void atomic_write(AtomicFile *af, const void *data, size_t n) {
    if (n && fwrite(data, 1, n, af->f) != n) {
        int e = errno;
        atomic_abort(af);
        fail("cannot write %s: %s (disk full?)", af->path, strerror(e));
    }
}

void fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return; // best effort: some filesystems do not allow it
    fsync(fd);
    close(fd);
}

void atomic_commit(AtomicFile *af) {
    if (fflush(af->f) != 0 || fsync(fileno(af->f)) != 0) {
        int e = errno;
        atomic_abort(af);
        fail("cannot write %s: %s", af->path, strerror(e));
    }
    if (fclose(af->f) != 0) {
        int e = errno;
        af->f = NULL;
        atomic_abort(af);
        fail("cannot write %s: %s", af->path, strerror(e));
    }
    af->f = NULL;
    if (rename(af->tmp_path, af->path) != 0) {
        int e = errno;
        unlink(af->tmp_path);
        fail("cannot rename %s to %s: %s", af->tmp_path, af->path, strerror(e));
    }
    char *copy = xstrdup(af->path);
    fsync_dir(dirname(copy));
    free(copy);
    free(af->path);
    free(af->tmp_path);
    af->path = af->tmp_path = NULL;
}

void atomic_abort(AtomicFile *af) {
    if (af->f) fclose(af->f);
    af->f = NULL;
    if (af->tmp_path) unlink(af->tmp_path);
    free(af->path);
    free(af->tmp_path);
    af->path = af->tmp_path = NULL;
}

void write_file_atomic(const char *path, const void *data, size_t n) {
    AtomicFile af;
    atomic_open(&af, path);
    atomic_write(&af, data, n);
    atomic_commit(&af);
}

void remove_stale_temps(const char *dir) {
    char *pattern = path_join(dir, "*.tmp.*");
    glob_t g;
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            const char *dot = strrchr(g.gl_pathv[i], '.');
            long pid = dot ? strtol(dot + 1, NULL, 10) : 0;
            if (pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
                fprintf(stderr, "strap: removing %s (left by a writer that was killed)\n", g.gl_pathv[i]);
                unlink(g.gl_pathv[i]);
            }
        }
        globfree(&g);
    }
    free(pattern);
}

char *read_file(const char *path, size_t *size_out) {
    FILE *f = fopen(path, "rb");
    if (!f) fail("cannot read %s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) fail("cannot read %s: %s", path, strerror(errno));
    long size = ftell(f);
    if (size < 0) fail("cannot read %s: %s", path, strerror(errno));
    rewind(f);
    char *buf = xmalloc((size_t)size + 1);
    if ((long)fread(buf, 1, (size_t)size, f) != size) fail("cannot read %s: short read", path);
    buf[size] = '\0';
    fclose(f);
    if (size_out) *size_out = (size_t)size;
    return buf;
}

int path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int is_directory(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void make_dirs(const char *path) {
    char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) fail("cannot create directory %s: %s", p, strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST) fail("cannot create directory %s: %s", p, strerror(errno));
    if (!is_directory(p)) fail("%s exists and is not a directory", p);
    free(p);
}

char *path_join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = xmalloc(n);
    snprintf(s, n, "%s/%s", dir, name);
    return s;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

char **expand_inputs(const char *spec, const char *suffix, int *count) {
    char *pattern;
    if (is_directory(spec)) {
        size_t n = strlen(spec) + strlen(suffix) + 4;
        pattern = xmalloc(n);
        snprintf(pattern, n, "%s/*%s", spec, suffix);
    } else {
        pattern = xstrdup(spec);
    }
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    if (rc != 0 || g.gl_pathc == 0) {
        if (rc == 0) globfree(&g);
        fail("no %s files match '%s' (give a directory of shards or a quoted glob such as 'data/train_*%s')", suffix,
             spec, suffix);
    }
    char **list = xcalloc(g.gl_pathc + 1, sizeof(char *));
    for (size_t i = 0; i < g.gl_pathc; i++) list[i] = xstrdup(g.gl_pathv[i]);
    qsort(list, g.gl_pathc, sizeof(char *), cmp_str);
    *count = (int)g.gl_pathc;
    globfree(&g);
    free(pattern);
    return list;
}

void free_string_list(char **list) {
    if (!list) return;
    for (char **p = list; *p; p++) free(*p);
    free(list);
}

char *path_near_exe(const char *rel) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            char *path = path_join(exe, rel);
            if (path_exists(path)) return path;
            free(path);
        }
    }
    return xstrdup(rel);
}

int str_ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}
