// eval_report.c: see eval_report.h.
#include "eval_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/text.h"

void eval_report(json_t *res, const char *title, int json, const char *out, const char *markdown) {
    CHECK(res != NULL, "%s: no result to report (a value was not a finite number)", title);
    char *line = json_dumps(res, JSON_REAL_PRECISION(10)); // one line, "key": value
    if (json) {
        printf("%s\n", line);
    } else {
        const char *key;
        json_t *v;
        int first = 1;
        json_object_foreach(res, key, v) {
            if (json_is_integer(v))
                printf("%s%s %lld", first ? "" : " | ", key, (long long)json_integer_value(v));
            else if (json_is_real(v))
                printf("%s%s %.4f", first ? "" : " | ", key, json_real_value(v));
            else
                continue;
            first = 0;
        }
        printf("\n");
    }
    if (out) {
        size_t n = strlen(line);
        line = xrealloc(line, n + 2);
        line[n] = '\n', line[n + 1] = 0;
        write_file_atomic(out, line, n + 1);
    }
    free(line);
    if (markdown) {
        Text md = {0};
        text_printf(&md, "### %s\n\n| measure | value |\n|---|---|\n", title);
        const char *key;
        json_t *v;
        json_object_foreach(res, key, v) {
            if (json_is_integer(v))
                text_printf(&md, "| %s | %lld |\n", key, (long long)json_integer_value(v));
            else if (json_is_real(v))
                text_printf(&md, "| %s | %.4f |\n", key, json_real_value(v));
            else if (json_is_string(v))
                text_printf(&md, "| %s | %s |\n", key, json_string_value(v));
        }
        write_file_atomic(markdown, md.s, md.len);
        free(md.s);
    }
}
