// args.c: see args.h.
#include "args.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"

static void flag_usage(const Command *cmd, const Flag *f) {
    char left[96];
    const char *meta = f->meta ? f->meta : f->type == FLAG_CHOICE ? "NAME" : "";
    if (f->alias)
        snprintf(left, sizeof left, "%s, %s %s", f->alias, f->name, meta);
    else
        snprintf(left, sizeof left, "%s %s", f->name, meta);
    fprintf(stderr, "  %-28s %s", left, f->help ? f->help : "");
    const void *x = flag_target(f, cmd->options);
    char choices[256];
    switch (f->type) {
    case FLAG_INT: fprintf(stderr, " [%d]", *(const int *)x); break;
    case FLAG_INT64: fprintf(stderr, " [%lld]", (long long)*(const int64_t *)x); break;
    case FLAG_FLOAT:
        if (!isnan(*(const float *)x)) fprintf(stderr, " [%g]", *(const float *)x);
        break;
    case FLAG_DOUBLE: fprintf(stderr, " [%g]", *(const double *)x); break;
    case FLAG_STRING:
        if (*(const char *const *)x) fprintf(stderr, " [%s]", *(const char *const *)x);
        break;
    case FLAG_CHOICE:
        flag_choices_text(f, choices, sizeof choices);
        fprintf(stderr, ": %s [%s]", choices, f->choices[*(const int *)x]);
        break;
    default: break;
    }
    fprintf(stderr, "\n");
}

void args_usage(const Command *cmd) {
    fprintf(stderr, "usage: %s\n", cmd->usage);
    if (cmd->description) fprintf(stderr, "\n%s\n", cmd->description);
    if ((cmd->flags && cmd->flags[0].name) || (cmd->more && cmd->more[0].name)) fprintf(stderr, "\noptions:\n");
    for (const Flag *f = cmd->flags; f && f->name; f++) flag_usage(cmd, f);
    for (const Flag *f = cmd->more; f && f->name; f++) flag_usage(cmd, f);
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

static int flag_named(const Flag *f, const char *name, size_t len) {
    return (strlen(f->name) == len && strncmp(f->name, name, len) == 0) ||
           (f->alias && strlen(f->alias) == len && strncmp(f->alias, name, len) == 0);
}

static const Flag *find_flag(const Command *cmd, const char *name, size_t len) {
    for (const Flag *f = cmd->flags; f && f->name; f++)
        if (flag_named(f, name, len)) return f;
    for (const Flag *f = cmd->more; f && f->name; f++)
        if (flag_named(f, name, len)) return f;
    return NULL;
}

static void check_range(const Command *cmd, const Flag *f, double x, const char *text);

static void set_value(Command *cmd, const Flag *f, const char *v) {
    char *end = NULL;
    errno = 0;
    void *target = flag_target(f, cmd->options);
    switch (f->type) {
    case FLAG_INT: {
        long x = strtol(v, &end, 10);
        if (errno || end == v || *end || x < INT_MIN || x > INT_MAX)
            args_error(cmd, "%s expects an integer, got '%s'", f->name, v);
        check_range(cmd, f, (double)x, v);
        *(int *)target = (int)x;
        break;
    }
    case FLAG_INT64: {
        long long x = strtoll(v, &end, 10);
        if (errno || end == v || *end) args_error(cmd, "%s expects an integer, got '%s'", f->name, v);
        check_range(cmd, f, (double)x, v);
        *(int64_t *)target = x;
        break;
    }
    case FLAG_FLOAT: {
        float x = strtof(v, &end);
        if (errno || end == v || *end || !isfinite(x)) args_error(cmd, "%s expects a number, got '%s'", f->name, v);
        check_range(cmd, f, (double)x, v);
        *(float *)target = x;
        break;
    }
    case FLAG_DOUBLE: {
        double x = strtod(v, &end);
        if (errno || end == v || *end || !isfinite(x)) args_error(cmd, "%s expects a number, got '%s'", f->name, v);
        check_range(cmd, f, x, v);
        *(double *)target = x;
        break;
    }
    case FLAG_STRING: *(const char **)target = v; break;
    case FLAG_CHOICE: {
        int k = flag_choice_index(f, v);
        if (k < 0) {
            char choices[256];
            flag_choices_text(f, choices, sizeof choices);
            args_error(cmd, "%s must be %s, got '%s'", f->name, choices, v);
        }
        *(int *)target = k;
        break;
    }
    default: break;
    }
}

// ---- the allowed range of every numeric flag ----
// One table for all commands: a flag name means the same everywhere ("--lr" is a learning
// rate > 0 in train, sft, dpo and loop); "CMD --flag" rows override it for one command.
// Only values given on the command line are checked (a default like --warmup -1, "auto",
// never is). Every numeric flag of every command must have a row: args_parse checks that
// first (tests/cli/flags.sh runs --help of every command).
typedef struct {
    const char *name;
    double lo, hi;
    int lo_open, hi_open; // the bound itself is excluded
} FlagRange;

#define BIG 1e300
static const FlagRange RANGES[] = {
    // counts that must be positive
    {"--batch", 1, BIG, 0, 0},
    {"--dpo-batch", 1, BIG, 0, 0},
    {"--epochs", 1, BIG, 0, 0},
    {"--grad-accum", 1, BIG, 0, 0},
    {"--iterations", 1, BIG, 0, 0},
    {"--iters", 1, BIG, 0, 0},
    {"--max-new", 1, BIG, 0, 0},
    {"--eval-max-new", 1, BIG, 0, 0},
    {"--synth-max-new", 1, BIG, 0, 0},
    {"--judge-max-new", 1, BIG, 0, 0},
    {"--judge-samples", 1, BIG, 0, 0},
    {"--samples", 1, BIG, 0, 0},
    {"-n", 1, BIG, 0, 0},
    {"--ideas", 1, BIG, 0, 0},
    {"--max-len", 2, BIG, 0, 0},
    {"--seq", 1, BIG, 0, 0},
    {"--prompts", 1, BIG, 0, 0},
    {"--candidates", 2, BIG, 0, 0},
    {"--constraint-draws", 1, 100, 0, 0},
    {"--dim", 1, BIG, 0, 0},
    {"--ffn", 1, BIG, 0, 0},
    {"--heads", 1, BIG, 0, 0},
    {"--kv-heads", 1, BIG, 0, 0},
    {"--layers", 1, BIG, 0, 0},
    {"--max-seq", 1, BIG, 0, 0},
    {"--vocab", 1, BIG, 0, 0},
    {"--frame-tokens", 1, BIG, 0, 0},
    {"--shard-tokens", 1, BIG, 0, 0},
    {"--new", 1, BIG, 0, 0},
    {"--prompt-len", 1, BIG, 0, 0},
    {"--tokens", 1, BIG, 0, 0},
    {"--top", 1, BIG, 0, 0},
    {"--records", 1, BIG, 0, 0},
    {"--min-bytes", 1, BIG, 0, 0},
    {"--max-bytes", 1, BIG, 0, 0},
    {"--max-words", 1, BIG, 0, 0},
    {"--perm", 1, 256, 0, 0},
    {"--level", 1, 22, 0, 0},
    // counts that may be zero (0 is "off", "all" or "default" where the help says so)
    {"--threads", 0, 4096, 0, 0},
    {"--steps", 0, BIG, 0, 0},
    {"--warmup", 0, BIG, 0, 0},
    {"--save-every", 0, BIG, 0, 0},
    {"--stop-after", 0, BIG, 0, 0},
    {"--eval-every", 0, BIG, 0, 0},
    {"--eval-batches", 0, BIG, 0, 0},
    {"--eval-count", 0, BIG, 0, 0},
    {"--eval-text-batches", 0, BIG, 0, 0},
    {"--limit", 0, BIG, 0, 0},
    {"--max-batches", 0, BIG, 0, 0},
    {"--max-attempts", 0, BIG, 0, 0},
    {"--count", 0, BIG, 0, 0},
    {"--examples", 0, 8, 0, 0},
    {"--min-words", 0, BIG, 0, 0},
    {"--min-chars", 0, BIG, 0, 0},
    {"--max-chars", 0, BIG, 0, 0},
    {"--top-k", 0, BIG, 0, 0},
    {"--no-repeat-ngram", 0, BIG, 0, 0},
    {"--sft-steps", 0, BIG, 0, 0},
    {"--iteration", 0, BIG, 0, 0},
    {"--constraints", 0, 3, 0, 0},
    {"--zero", 0, 1, 0, 0},
    {"--seed", 0, 2147483647, 0, 0},
    {"--bos-id", -1, BIG, 0, 0},
    {"--eos-id", -1, BIG, 0, 0},
    {"data inspect --tokens", 0, BIG, 0, 0},
    {"data inspect --records", 0, BIG, 0, 0},
    // rates, scales and probabilities
    {"--lr", 0, BIG, 1, 0},
    {"--sft-lr", 0, BIG, 0, 0},
    {"--min-lr", 0, BIG, 0, 0},
    {"--weight-decay", 0, BIG, 0, 0},
    {"--grad-clip", 0, BIG, 0, 0},
    {"--beta", 0, BIG, 1, 0},
    {"--beta1", 0, 1, 0, 1},
    {"--beta2", 0, 1, 0, 1},
    {"--label-smoothing", 0, 0.5, 0, 1},
    {"--temperature", 0, BIG, 0, 0},
    {"--judge-temperature", 0, BIG, 0, 0},
    {"--top-p", 0, 1, 1, 0},
    {"--min-p", 0, 1, 0, 0},
    {"--repetition-penalty", 0, BIG, 1, 0},
    {"--dedup-threshold", 0, 1, 1, 0},
    {"--threshold", 0, 1, 1, 0},
    {"--val-fraction", 0, 1, 0, 1},
    {"--max-non-printable", 0, 1, 0, 0},
    {"--max-repeat", 0, 1, 0, 0},
    {"--min-margin", 0, BIG, 0, 0},
    {"--min-score", -BIG, BIG, 0, 0},
    {"--sft-min-score", 0, BIG, 0, 0},
    {"--norm-eps", 0, 1, 1, 0},
    {"--rope-theta", 0, BIG, 1, 0},
    {"--init-std", 0, BIG, 0, 0},
};

// "strap eval winrate --model ..." -> "eval winrate" (the words before the first option)
static void command_name(const Command *cmd, char *out, size_t size) {
    const char *u = cmd->usage ? cmd->usage : "";
    if (strncmp(u, "strap ", 6) == 0) u += 6;
    size_t n = 0;
    while (u[n] && u[n] != '\n' && !(u[n] == ' ' && (strchr("-[<(", u[n + 1]) || (u[n + 1] >= 'A' && u[n + 1] <= 'Z'))))
        n++;
    snprintf(out, size, "%.*s", (int)n, u);
}

static const FlagRange *range_of(const Command *cmd, const char *flag) {
    char name[96], key[160];
    command_name(cmd, name, sizeof name);
    snprintf(key, sizeof key, "%s %s", name, flag);
    const FlagRange *general = NULL;
    for (size_t i = 0; i < sizeof RANGES / sizeof RANGES[0]; i++) {
        if (strcmp(RANGES[i].name, key) == 0) return &RANGES[i];
        if (strcmp(RANGES[i].name, flag) == 0) general = &RANGES[i];
    }
    return general;
}

// "> 0", "in [0, 1)", "at least 1", ...
static void describe_range(const FlagRange *r, char *out, size_t size) {
    if (r->hi >= BIG)
        snprintf(out, size, "%s %g", r->lo_open ? "above" : "at least", r->lo);
    else if (r->lo <= -BIG)
        snprintf(out, size, "%s %g", r->hi_open ? "below" : "at most", r->hi);
    else
        snprintf(out, size, "in %c%g, %g%c", r->lo_open ? '(' : '[', r->lo, r->hi, r->hi_open ? ')' : ']');
}

static void check_range(const Command *cmd, const Flag *f, double x, const char *text) {
    const FlagRange *r = range_of(cmd, f->name);
    if (!r) return;
    int below = r->lo_open ? x <= r->lo : x < r->lo, above = r->hi_open ? x >= r->hi : x > r->hi;
    if (below || above) {
        char allowed[64];
        describe_range(r, allowed, sizeof allowed);
        args_error(cmd, "%s %s is out of range: it must be %s", f->name, text, allowed);
    }
}

void args_parse(Command *cmd, int argc, char **argv) {
    cmd->n_positional = 0;
    for (int table = 0; table < 2; table++)
        for (const Flag *f = table ? cmd->more : cmd->flags; f && f->name; f++)
            if (f->type == FLAG_INT || f->type == FLAG_INT64 || f->type == FLAG_FLOAT || f->type == FLAG_DOUBLE) {
                char name[96];
                command_name(cmd, name, sizeof name);
                CHECK(range_of(cmd, f->name) != NULL,
                      "strap %s: the numeric flag %s has no allowed range in cli/args.c", name, f->name);
            }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            args_usage(cmd);
            exit(0);
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (cmd->n_positional >= cmd->max_positional) args_error(cmd, "unexpected argument '%s'", a);
            cmd->positional[cmd->n_positional++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        const Flag *f = find_flag(cmd, a, len);
        if (!f) args_error(cmd, "unknown flag '%.*s'", (int)len, a);
        if (f->type == FLAG_BOOL || f->type == FLAG_OFF) {
            if (eq) args_error(cmd, "%s takes no value", f->name);
            *(int *)flag_target(f, cmd->options) = f->type == FLAG_BOOL;
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
