// flags.c: see flags.h.
#include "flags.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *flag_target(const Flag *f, const void *options) { return f->value ? f->value : (char *)options + f->offset; }

int flag_choice_index(const Flag *f, const char *name) {
    for (int i = 0; f->choices && f->choices[i]; i++)
        if (strcmp(f->choices[i], name) == 0) return i;
    return -1;
}

void flag_choices_text(const Flag *f, char *out, size_t size) {
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; f->choices && f->choices[i] && len < size; i++) {
        const char *sep = i == 0 ? "" : f->choices[i + 1] ? ", " : " or ";
        len += (size_t)snprintf(out + len, size - len, "%s%s", sep, f->choices[i]);
    }
}

// The shortest "%.Ng" that reads back as the same float / double.
static void shortest_float(char *out, size_t size, float x) {
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(out, size, "%.*g", digits, (double)x);
        if (strtof(out, NULL) == x) return;
    }
}

static void shortest_double(char *out, size_t size, double x) {
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(out, size, "%.*g", digits, x);
        if (strtod(out, NULL) == x) return;
    }
}

void flags_to_args(const Flag *flags, const void *options, const void *defaults, ArgList *a) {
    for (const Flag *f = flags; f && f->name; f++) {
        if (f->value) continue;
        const void *x = (const char *)options + f->offset, *d = (const char *)defaults + f->offset;
        char text[64];
        switch (f->type) {
        case FLAG_BOOL:
            if (*(const int *)x && !*(const int *)d) arg_add(a, "%s", f->name);
            break;
        case FLAG_OFF:
            if (!*(const int *)x && *(const int *)d) arg_add(a, "%s", f->name);
            break;
        case FLAG_INT:
        case FLAG_CHOICE:
            if (*(const int *)x == *(const int *)d) break;
            arg_add(a, "%s", f->name);
            if (f->type == FLAG_INT)
                arg_add(a, "%d", *(const int *)x);
            else
                arg_add(a, "%s", f->choices[*(const int *)x]);
            break;
        case FLAG_INT64:
            if (*(const int64_t *)x != *(const int64_t *)d)
                arg_add(a, "%s", f->name), arg_add(a, "%" PRId64, *(const int64_t *)x);
            break;
        case FLAG_FLOAT:
            if (memcmp(x, d, sizeof(float)) == 0) break; // bit for bit: a NAN default is no value
            shortest_float(text, sizeof text, *(const float *)x);
            arg_add(a, "%s", f->name), arg_add(a, "%s", text);
            break;
        case FLAG_DOUBLE:
            if (memcmp(x, d, sizeof(double)) == 0) break;
            shortest_double(text, sizeof text, *(const double *)x);
            arg_add(a, "%s", f->name), arg_add(a, "%s", text);
            break;
        case FLAG_STRING: {
            const char *s = *(const char *const *)x, *sd = *(const char *const *)d;
            if (s && (!sd || strcmp(s, sd) != 0)) arg_add(a, "%s", f->name), arg_add(a, "%s", s);
            break;
        }
        default: break;
        }
    }
}
