// args.c: see args.h.
#include "args.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void args_usage(const Command *cmd) {
    fprintf(stderr, "usage: %s\n", cmd->usage);
    if (cmd->description) fprintf(stderr, "\n%s\n", cmd->description);
    if (cmd->flags && cmd->flags[0].name) fprintf(stderr, "\noptions:\n");
    for (const Flag *f = cmd->flags; f && f->name; f++) {
        char left[96];
        if (f->alias)
            snprintf(left, sizeof left, "%s, %s %s", f->alias, f->name, f->meta ? f->meta : "");
        else
            snprintf(left, sizeof left, "%s %s", f->name, f->meta ? f->meta : "");
        fprintf(stderr, "  %-28s %s", left, f->help ? f->help : "");
        switch (f->type) {
        case FLAG_INT: fprintf(stderr, " [%d]", *(int *)f->value); break;
        case FLAG_INT64: fprintf(stderr, " [%lld]", (long long)*(int64_t *)f->value); break;
        case FLAG_FLOAT: fprintf(stderr, " [%g]", *(float *)f->value); break;
        case FLAG_STRING:
            if (*(const char **)f->value) fprintf(stderr, " [%s]", *(const char **)f->value);
            break;
        default: break;
        }
        fprintf(stderr, "\n");
    }
    fprintf(stderr, "  %-28s %s\n", "-h, --help", "show this help");
}

void args_error(const Command *cmd, const char *fmt, ...) {
    fflush(stdout);
    fprintf(stderr, "strap: error: ");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n");
    args_usage(cmd);
    exit(2);
}

void args_require(const Command *cmd, const char *flag, int ok) {
    if (!ok) args_error(cmd, "%s is required", flag);
}

static Flag *find_flag(Command *cmd, const char *name, size_t len) {
    for (Flag *f = cmd->flags; f && f->name; f++) {
        if (strlen(f->name) == len && strncmp(f->name, name, len) == 0) return f;
        if (f->alias && strlen(f->alias) == len && strncmp(f->alias, name, len) == 0) return f;
    }
    return NULL;
}

static void set_value(Command *cmd, Flag *f, const char *v) {
    char *end = NULL;
    errno = 0;
    switch (f->type) {
    case FLAG_INT: {
        long x = strtol(v, &end, 10);
        if (errno || end == v || *end || x < INT_MIN || x > INT_MAX)
            args_error(cmd, "%s expects an integer, got '%s'", f->name, v);
        *(int *)f->value = (int)x;
        break;
    }
    case FLAG_INT64: {
        long long x = strtoll(v, &end, 10);
        if (errno || end == v || *end) args_error(cmd, "%s expects an integer, got '%s'", f->name, v);
        *(int64_t *)f->value = x;
        break;
    }
    case FLAG_FLOAT: {
        float x = strtof(v, &end);
        if (errno || end == v || *end || !isfinite(x))
            args_error(cmd, "%s expects a number, got '%s'", f->name, v);
        *(float *)f->value = x;
        break;
    }
    case FLAG_STRING: *(const char **)f->value = v; break;
    default: break;
    }
}

void args_parse(Command *cmd, int argc, char **argv) {
    cmd->n_positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            args_usage(cmd);
            exit(0);
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (cmd->n_positional >= cmd->max_positional)
                args_error(cmd, "unexpected argument '%s'", a);
            cmd->positional[cmd->n_positional++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        Flag *f = find_flag(cmd, a, len);
        if (!f) args_error(cmd, "unknown flag '%.*s'", (int)len, a);
        if (f->type == FLAG_BOOL) {
            if (eq) args_error(cmd, "%s takes no value", f->name);
            *(int *)f->value = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (i + 1 >= argc) args_error(cmd, "%s needs a value (%s)", f->name, f->meta ? f->meta : "value");
            v = argv[++i];
        }
        set_value(cmd, f, v);
    }
}
