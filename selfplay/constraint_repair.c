// constraint_repair.c: see constraint_repair.h. Each edit works on the whole answer text;
// the checker (constraints.c) stays the only judge of the result.
#include "constraint_repair.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "../base/check.h"
#include "../base/text.h"
#include "constraints.h"

// the families with an edit, in the order the edits run: content first (joining, deleting,
// cutting), then what goes before and after, then letter case over all of it, then wrappers
static const char *const EDIT_ORDER[] = {
    "two_responses", "no_commas", "sentence_count", "word_count",  "title", "repeat_request", "start_with", "end_with",
    "lowercase",     "uppercase", "quotes",         "json_format", NULL};

static char *trimmed_copy(const char *s) {
    while (*s && isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    char *out = xmalloc(n + 1);
    memcpy(out, s, n);
    out[n] = 0;
    return out;
}

// frees the parts given, returns their concatenation
static char *join3(char *a, const char *mid, char *b) {
    Text t = {0};
    text_printf(&t, "%s%s%s", a, mid, b);
    free(a), free(b);
    return t.s;
}

static char *map_case(char *s, int upper) {
    Text t = {0};
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k <= 0) { // a bad byte: kept as it is
            text_printf(&t, "%c", s[i]);
            i++;
            continue;
        }
        utf8proc_uint8_t buf[4];
        utf8proc_ssize_t m = utf8proc_encode_char(upper ? utf8proc_toupper(cp) : utf8proc_tolower(cp), buf);
        text_printf(&t, "%.*s", (int)m, (const char *)buf);
        i += (size_t)k;
    }
    free(s);
    if (!t.s) t.s = xcalloc(1, 1);
    return t.s;
}

static char *delete_commas(char *s) {
    size_t j = 0;
    for (size_t i = 0; s[i];) {
        if (s[i] == ',')
            i++;
        else if (strncmp(s + i, "\xef\xbc\x8c", 3) == 0)
            i += 3; // U+FF0C fullwidth comma
        else
            s[j++] = s[i++];
    }
    s[j] = 0;
    return s;
}

// The longest prefix of s ending at a sentence end ('.', '!' or '?' run followed by
// whitespace or the end) that satisfies c; NULL when none does.
static char *cut_sentences(char *s, const json_t *c, const char *prompt) {
    size_t len = strlen(s), best = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] != '.' && s[i] != '!' && s[i] != '?') {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && (s[j] == '.' || s[j] == '!' || s[j] == '?')) j++;
        if (j == len || isspace((unsigned char)s[j])) {
            char saved = s[j];
            s[j] = 0;
            if (constraint_check_one(c, prompt, s, NULL, 0) == 1) best = j;
            s[j] = saved;
        }
        i = j;
    }
    if (best == 0) {
        free(s);
        return NULL;
    }
    s[best] = 0;
    return s;
}

// <<the first words of the answer's first line>>: at most 6 words, markdown marks and
// trailing punctuation left out
static char *make_title(const char *s) {
    while (*s == '#' || *s == '*' || *s == '"' || *s == '>' || isspace((unsigned char)*s)) s++;
    size_t n = strcspn(s, "\n.!?:<>");
    int words = 0;
    size_t end = 0;
    for (size_t i = 0; i < n && words < 6;) {
        while (i < n && isspace((unsigned char)s[i])) i++;
        if (i >= n) break;
        while (i < n && !isspace((unsigned char)s[i])) i++;
        words++, end = i;
    }
    while (end > 0 && (ispunct((unsigned char)s[end - 1]) || isspace((unsigned char)s[end - 1]))) end--;
    if (end == 0) return NULL;
    Text t = {0};
    text_printf(&t, "<<%.*s>>", (int)end, s);
    return t.s;
}

static char *wrap_json(char *s) {
    json_t *obj = json_pack("{s:s}", "response", s);
    char *out = obj ? json_dumps(obj, JSON_INDENT(2)) : NULL;
    json_decref(obj);
    free(s);
    return out;
}

// Applies the edit of family `kind` (constraint c) to s, which it takes; NULL: no edit.
static char *apply_edit(const char *kind, const json_t *c, char *s, const char *prompt, const char *other) {
    const char *phrase = json_string_value(json_object_get(c, "phrase"));
    const char *relation = json_string_value(json_object_get(c, "relation"));
    if (strcmp(kind, "two_responses") == 0) {
        if (!other) return free(s), NULL;
        char *second = trimmed_copy(other);
        if (!*second || strcmp(second, s) == 0) return free(second), free(s), NULL;
        return join3(s, "\n\n******\n\n", second);
    }
    if (strcmp(kind, "no_commas") == 0) return delete_commas(s);
    if (strcmp(kind, "sentence_count") == 0 || strcmp(kind, "word_count") == 0) {
        if (!relation || strcmp(relation, "at most") != 0) return free(s), NULL;
        return cut_sentences(s, c, prompt);
    }
    if (strcmp(kind, "title") == 0) {
        char *title = make_title(s);
        if (!title) return free(s), NULL;
        return join3(title, "\n\n", s);
    }
    if (strcmp(kind, "repeat_request") == 0) {
        if (!prompt || !*prompt) return free(s), NULL;
        return join3(trimmed_copy(prompt), "\n\n", s);
    }
    if (strcmp(kind, "start_with") == 0 || strcmp(kind, "end_with") == 0) {
        if (!phrase || !*phrase) return free(s), NULL;
        char *p = trimmed_copy(phrase);
        return kind[0] == 's' ? join3(p, " ", s) : join3(s, " ", p);
    }
    if (strcmp(kind, "lowercase") == 0 || strcmp(kind, "uppercase") == 0) return map_case(s, kind[0] == 'u');
    if (strcmp(kind, "quotes") == 0) return join3(xstrdup("\""), "", join3(s, "", xstrdup("\"")));
    if (strcmp(kind, "json_format") == 0) return wrap_json(s);
    free(s);
    return NULL;
}

static int has_edit(const char *kind) {
    for (int i = 0; EDIT_ORDER[i]; i++)
        if (strcmp(EDIT_ORDER[i], kind) == 0) return 1;
    return 0;
}

char *constraints_repair(const json_t *constraints, const char *prompt, const char *answer, const char *other,
                         json_t *edited) {
    if (!answer) answer = "";
    size_t n = json_array_size(constraints);
    if (n == 0) return xstrdup(answer);
    int *failed = xcalloc(n, sizeof(int)), any = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_array_get(constraints, i);
        int r = constraint_check_one(c, prompt, answer, NULL, 0);
        const char *kind = json_string_value(json_object_get(c, "kind"));
        if (r < 0 || (r == 0 && !has_edit(kind))) { // malformed, or nothing to do about it
            free(failed);
            return NULL;
        }
        failed[i] = r == 0, any |= r == 0;
    }
    char *s = any ? trimmed_copy(answer) : xstrdup(answer);
    for (int e = 0; any && s && EDIT_ORDER[e]; e++)
        for (size_t i = 0; i < n && s; i++) {
            const json_t *c = json_array_get(constraints, i);
            if (!failed[i] || strcmp(json_string_value(json_object_get(c, "kind")), EDIT_ORDER[e]) != 0) continue;
            s = apply_edit(EDIT_ORDER[e], c, s, prompt, other);
            if (s && edited) json_array_append_new(edited, json_string(EDIT_ORDER[e]));
        }
    free(failed);
    if (!s) return NULL;
    int passed = 0;
    json_decref(constraints_check(constraints, prompt, s, &passed));
    if ((size_t)passed != n) {
        free(s);
        return NULL;
    }
    return s;
}
