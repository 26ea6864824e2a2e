// constraints.c: see constraints.h. One table row per family: its name, the parameters it
// draws, the families it cannot be combined with, and its check.
#include "constraints.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "../base/check.h"

// ---- text helpers: the counting rules of constraints.h ----

// The answer without trailing whitespace (length only; the text is not copied).
static size_t trimmed_len(const char *s) {
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    return n;
}

static const char *skip_space(const char *s) {
    while (*s && isspace((unsigned char)*s)) s++;
    return s;
}

// The code point at s[i] (len bytes in all); *step gets its length (1 for a bad byte).
static int32_t cp_at(const char *s, size_t i, size_t len, size_t *step) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
    if (k <= 0) {
        *step = 1;
        return -1;
    }
    *step = (size_t)k;
    return cp;
}

static int is_letter(int32_t cp) {
    if (cp < 0) return 0;
    utf8proc_category_t c = utf8proc_category(cp);
    return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

static int is_alnum_cp(int32_t cp) {
    if (cp < 0) return 0;
    utf8proc_category_t c = utf8proc_category(cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
           (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
}

static int is_word_cp(int32_t cp) { return is_alnum_cp(cp) || cp == '\'' || cp == 0x2019 || cp == '-'; }

// Calls fn for every word of s[0..len): a maximal run of letters, digits, apostrophes and
// hyphens holding at least one letter or digit. Returns the number of words.
typedef void (*WordFn)(void *ctx, const char *w, size_t n);
static int for_each_word(const char *s, size_t len, WordFn fn, void *ctx) {
    int words = 0;
    size_t i = 0;
    while (i < len) {
        size_t step;
        int32_t cp = cp_at(s, i, len, &step);
        if (!is_word_cp(cp)) {
            i += step;
            continue;
        }
        size_t start = i;
        int alnum = 0;
        while (i < len) {
            cp = cp_at(s, i, len, &step);
            if (!is_word_cp(cp)) break;
            alnum |= is_alnum_cp(cp);
            i += step;
        }
        if (alnum) {
            words++;
            if (fn) fn(ctx, s + start, i - start);
        }
    }
    return words;
}

static int count_words(const char *s, size_t len) { return for_each_word(s, len, NULL, NULL); }

// case-insensitive (ASCII) equality of a word with a keyword
static int word_equals(const char *w, size_t n, const char *key) {
    return strlen(key) == n && strncasecmp(w, key, n) == 0;
}

typedef struct {
    const char *key;
    int count;
    int all_caps; // capital words: counts words of 2+ letters whose letters are all upper case
} WordCount;

static void count_key(void *ctx, const char *w, size_t n) {
    WordCount *c = ctx;
    if (c->key && word_equals(w, n, c->key)) c->count++;
    if (c->all_caps) {
        int letters = 0, upper = 1;
        for (size_t i = 0, step; i < n; i += step) {
            int32_t cp = cp_at(w, i, n, &step);
            if (!is_letter(cp)) continue;
            letters++;
            if (!utf8proc_isupper(cp) || utf8proc_islower(cp)) upper = 0;
        }
        if (letters >= 2 && upper) c->count++;
    }
}

static int keyword_count(const char *s, size_t len, const char *key) {
    WordCount c = {key, 0, 0};
    for_each_word(s, len, count_key, &c);
    return c.count;
}

// Sentences: text up to a run of '.', '!' or '?' followed by whitespace or the end; a piece
// counts when it holds a word (a trailing piece without a terminator too).
static int count_sentences(const char *s, size_t len) {
    int n = 0;
    size_t start = 0, i = 0;
    while (i < len) {
        if (s[i] == '.' || s[i] == '!' || s[i] == '?') {
            size_t j = i;
            while (j < len && (s[j] == '.' || s[j] == '!' || s[j] == '?')) j++;
            if (j == len || isspace((unsigned char)s[j])) {
                if (count_words(s + start, j - start) > 0) n++;
                start = j;
            }
            i = j;
        } else {
            i++;
        }
    }
    if (start < len && count_words(s + start, len - start) > 0) n++;
    return n;
}

// The lines of s[0..len): calls fn(line, n) for each (without the newline).
typedef int (*LineFn)(void *ctx, const char *line, size_t n); // nonzero: stop
static void for_each_line(const char *s, size_t len, LineFn fn, void *ctx) {
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && s[j] != '\n') j++;
        size_t n = j - i;
        if (n > 0 && s[i + n - 1] == '\r') n--;
        if (fn(ctx, s + i, n)) return;
        if (j >= len) break;
        i = j + 1;
    }
}

static int blank(const char *line, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)line[i])) return 0;
    return 1;
}

typedef struct {
    int count, in_block;
} Paragraphs;

static int paragraph_line(void *ctx, const char *line, size_t n) {
    Paragraphs *p = ctx;
    if (blank(line, n))
        p->in_block = 0;
    else if (!p->in_block)
        p->count++, p->in_block = 1;
    return 0;
}

static int count_paragraphs(const char *s, size_t len) {
    Paragraphs p = {0, 0};
    for_each_line(s, len, paragraph_line, &p);
    return p.count;
}

// a markdown bullet: "* ", "- " or "+ " after optional spaces
static int bullet_line(const char *line, size_t n) {
    size_t i = 0;
    while (i < n && (line[i] == ' ' || line[i] == '\t')) i++;
    return i + 1 < n && (line[i] == '*' || line[i] == '-' || line[i] == '+') && line[i + 1] == ' ' &&
           !blank(line + i + 2, n - i - 2);
}

static int count_bullet(void *ctx, const char *line, size_t n) {
    *(int *)ctx += bullet_line(line, n);
    return 0;
}

typedef struct {
    const char *marker;
    int count, in_order;
} Sections;

static int section_line(void *ctx, const char *line, size_t n) {
    Sections *sec = ctx;
    size_t m = strlen(sec->marker), i = 0;
    while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '#')) i++; // "## SECTION 1" counts
    if (n - i <= m + 1 || strncasecmp(line + i, sec->marker, m) != 0 || line[i + m] != ' ') return 0;
    i += m + 1;
    if (i >= n || !isdigit((unsigned char)line[i])) return 0;
    int k = 0;
    while (i < n && isdigit((unsigned char)line[i]) && k < 1000) k = 10 * k + (line[i++] - '0');
    sec->count++;
    if (k != sec->count) sec->in_order = 0;
    return 0;
}

typedef struct {
    const char *marker;
    int found;
} Postscript;

static int postscript_line(void *ctx, const char *line, size_t n) {
    Postscript *p = ctx;
    size_t m = strlen(p->marker), i = 0;
    while (i < n && isspace((unsigned char)line[i])) i++;
    if (n - i >= m && strncasecmp(line + i, p->marker, m) == 0 && !blank(line + i + m, n - i - m)) p->found = 1;
    return p->found;
}

typedef struct {
    int count;
} Highlights;

// *text* spans inside a line (a leading bullet marker skipped); a run of asterisks is one
// delimiter, so **bold** counts as one highlight
static int highlight_line(void *ctx, const char *line, size_t n) {
    Highlights *h = ctx;
    size_t i = 0;
    while (i < n && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i + 1 < n && line[i] == '*' && line[i + 1] == ' ') i += 2;
    long open = -1;
    while (i < n) {
        if (line[i] != '*') {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && line[j] == '*') j++;
        if (open < 0)
            open = (long)j;
        else {
            if (!blank(line + open, i - (size_t)open)) h->count++;
            open = -1;
        }
        i = j;
    }
    return 0;
}

static const char *const SEPARATOR = "******";

// ---- the families ----

typedef enum {
    P_N = 1,
    P_RELATION = 2,
    P_KEYWORD = 4,
    P_KEYWORDS = 8,
    P_WORDS = 16,
    P_LETTER = 32,
    P_PHRASE = 64,
    P_MARKER = 128,
    P_LANGUAGE = 256
} ParamBits;

typedef int (*CheckFn)(const json_t *c, const char *prompt, const char *answer, char *detail, size_t size);

typedef struct {
    const char *name;
    unsigned params;       // ParamBits it draws and its checker reads
    const char *conflicts; // space-separated families it cannot be combined with
    CheckFn check;
} Family;

// parameter access (a missing or mistyped one makes the constraint malformed)
static int get_int(const json_t *c, const char *key, int *v) {
    json_t *x = json_object_get(c, key);
    if (!json_is_integer(x)) return 0;
    *v = (int)json_integer_value(x);
    return 1;
}

static const char *get_str(const json_t *c, const char *key) { return json_string_value(json_object_get(c, key)); }

#define MALFORMED(...)  (snprintf(detail, size, __VA_ARGS__), -1)
#define RESULT(ok, ...) (snprintf(detail, size, __VA_ARGS__), (ok) ? 1 : 0)

// relation "at least" / "at most"; -1 malformed
static int relation_of(const json_t *c) {
    const char *r = get_str(c, "relation");
    if (!r) return -1;
    if (strcmp(r, "at least") == 0) return 0;
    if (strcmp(r, "at most") == 0) return 1;
    return -1;
}

static int compare(int count, int rel, int n) { return rel == 0 ? count >= n : count <= n; }

static int check_case(const char *answer, int want_lower, char *detail, size_t size) {
    size_t len = trimmed_len(answer);
    int letters = 0;
    for (size_t i = 0, step; i < len; i += step) {
        int32_t cp = cp_at(answer, i, len, &step);
        if (!is_letter(cp)) continue;
        letters++;
        int bad = want_lower ? utf8proc_isupper(cp) || utf8proc_category(cp) == UTF8PROC_CATEGORY_LT
                             : utf8proc_islower(cp) || utf8proc_category(cp) == UTF8PROC_CATEGORY_LT;
        if (bad)
            return RESULT(0, "'%.*s' at byte %zu is %s case", (int)step, answer + i, i, want_lower ? "upper" : "lower");
    }
    if (!letters) return RESULT(0, "no letters");
    return RESULT(1, "%d letters, all %s case", letters, want_lower ? "lower" : "upper");
}

static int check_lowercase(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)c, (void)p;
    return check_case(a, 1, detail, size);
}

static int check_uppercase(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)c, (void)p;
    return check_case(a, 0, detail, size);
}

static int check_counted(const json_t *c, int count, const char *what, char *detail, size_t size) {
    int n, rel = relation_of(c);
    if (!get_int(c, "n", &n) || rel < 0) return MALFORMED("needs \"relation\" (at least | at most) and integer \"n\"");
    return RESULT(compare(count, rel, n), "%d %s, %s %d", count, what, rel ? "at most" : "at least", n);
}

static int check_word_count(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)p;
    return check_counted(c, count_words(a, trimmed_len(a)), "words", detail, size);
}

static int check_sentence_count(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)p;
    return check_counted(c, count_sentences(a, trimmed_len(a)), "sentences", detail, size);
}

static int check_paragraph_count(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)p;
    int n;
    if (!get_int(c, "n", &n)) return MALFORMED("needs integer \"n\"");
    int k = count_paragraphs(a, trimmed_len(a));
    return RESULT(k == n, "%d paragraphs, exactly %d asked", k, n);
}

static int check_bullet_count(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)p;
    int n, k = 0;
    if (!get_int(c, "n", &n)) return MALFORMED("needs integer \"n\"");
    for_each_line(a, trimmed_len(a), count_bullet, &k);
    return RESULT(k == n, "%d bullets, exactly %d asked", k, n);
}

static int check_numbered_sections(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)p;
    int n;
    const char *marker = get_str(c, "marker");
    if (!get_int(c, "n", &n) || !marker || !*marker) return MALFORMED("needs integer \"n\" and \"marker\"");
    Sections sec = {marker, 0, 1};
    for_each_line(a, trimmed_len(a), section_line, &sec);
    return RESULT(sec.count == n && sec.in_order, "%d lines start with '%s k'%s, exactly %d asked", sec.count, marker,
                  sec.in_order ? "" : " (not numbered 1, 2, ...)", n);
}

static int check_title(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)c, (void)p;
    for (const char *s = strstr(a, "<<"); s; s = strstr(s + 2, "<<")) {
        const char *e = strstr(s + 2, ">>");
        if (!e) break;
        const char *nl = memchr(s + 2, '\n', (size_t)(e - s - 2));
        if (!nl && !blank(s + 2, (size_t)(e - s - 2)) && !memchr(s + 2, '<', (size_t)(e - s - 2)))
            return RESULT(1, "title <<%.*s>>", (int)(e - s - 2 < 60 ? e - s - 2 : 60), s + 2);
    }
    return RESULT(0, "no <<title>>");
}

static int check_include_keywords(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)p;
    json_t *kw = json_object_get(c, "keywords");
    if (!json_is_array(kw) || json_array_size(kw) == 0) return MALFORMED("needs a non-empty list \"keywords\"");
    size_t i, len = trimmed_len(a);
    json_t *k;
    json_array_foreach(kw, i, k) {
        if (!json_is_string(k)) return MALFORMED("\"keywords\" must hold strings");
        if (keyword_count(a, len, json_string_value(k)) == 0) return RESULT(0, "'%s' missing", json_string_value(k));
    }
    return RESULT(1, "all %zu keywords present", json_array_size(kw));
}

static int check_forbidden_words(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)p;
    json_t *kw = json_object_get(c, "words");
    if (!json_is_array(kw) || json_array_size(kw) == 0) return MALFORMED("needs a non-empty list \"words\"");
    size_t i, len = trimmed_len(a);
    json_t *k;
    json_array_foreach(kw, i, k) {
        if (!json_is_string(k)) return MALFORMED("\"words\" must hold strings");
        int n = keyword_count(a, len, json_string_value(k));
        if (n) return RESULT(0, "'%s' used %d times", json_string_value(k), n);
    }
    return RESULT(1, "none of the %zu words used", json_array_size(kw));
}

static int check_keyword_frequency(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)p;
    const char *key = get_str(c, "keyword");
    if (!key || !*key) return MALFORMED("needs \"keyword\"");
    char what[96];
    snprintf(what, sizeof what, "times '%s'", key);
    return check_counted(c, keyword_count(a, trimmed_len(a), key), what, detail, size);
}

static int check_letter_frequency(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)p;
    const char *letter = get_str(c, "letter");
    if (!letter || strlen(letter) != 1 || !isalpha((unsigned char)letter[0]))
        return MALFORMED("needs one ASCII \"letter\"");
    int count = 0, want = tolower((unsigned char)letter[0]);
    for (size_t i = 0, len = trimmed_len(a); i < len; i++) count += tolower((unsigned char)a[i]) == want;
    char what[32];
    snprintf(what, sizeof what, "letters '%c'", want);
    return check_counted(c, count, what, detail, size);
}

static int check_no_commas(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)c, (void)p;
    const char *comma = strchr(a, ','), *wide = strstr(a, "\xef\xbc\x8c"); // U+FF0C fullwidth comma
    if (comma || wide) return RESULT(0, "a comma at byte %ld", (long)((comma ? comma : wide) - a));
    return RESULT(1, "no commas");
}

static int check_end_with(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)p;
    const char *phrase = get_str(c, "phrase");
    if (!phrase || !*phrase) return MALFORMED("needs \"phrase\"");
    size_t len = trimmed_len(a), m = trimmed_len(phrase);
    int ok = len >= m && strncasecmp(a + len - m, phrase, m) == 0;
    return RESULT(ok, ok ? "ends with the phrase" : "ends with '%.40s'", len > 40 ? a + len - 40 : a);
}

static int check_start_with(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)p;
    const char *phrase = get_str(c, "phrase");
    if (!phrase || !*phrase) return MALFORMED("needs \"phrase\"");
    const char *s = skip_space(a);
    size_t m = trimmed_len(phrase);
    int ok = strncasecmp(s, phrase, m) == 0;
    return RESULT(ok, ok ? "starts with the phrase" : "starts with '%.40s'", s);
}

static int check_quotes(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)c, (void)p;
    const char *s = skip_space(a);
    size_t len = trimmed_len(s);
    int plain = len >= 2 && s[0] == '"' && s[len - 1] == '"';
    int curly = len >= 6 && strncmp(s, "\xe2\x80\x9c", 3) == 0 && strncmp(s + len - 3, "\xe2\x80\x9d", 3) == 0;
    return RESULT(plain || curly, plain || curly ? "wrapped in double quotes" : "not wrapped in double quotes");
}

static int check_json_format(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)c, (void)p;
    const char *s = skip_space(a);
    size_t len = trimmed_len(s);
    if (len >= 6 && strncmp(s, "```", 3) == 0 && strncmp(s + len - 3, "```", 3) == 0) { // one fenced block
        const char *nl = memchr(s, '\n', len);
        if (!nl || nl >= s + len - 3) return RESULT(0, "an empty code fence");
        len = (size_t)(s + len - 3 - (nl + 1));
        s = nl + 1;
    }
    json_error_t err;
    json_t *j = json_loadb(s, len, JSON_DECODE_ANY, &err);
    int ok = j && (json_is_object(j) || json_is_array(j));
    json_decref(j);
    if (!ok) return RESULT(0, j ? "JSON, but not an object or a list" : "not JSON: %s", err.text);
    return RESULT(1, "valid JSON");
}

static int check_placeholders(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)p;
    int n, k = 0;
    if (!get_int(c, "n", &n)) return MALFORMED("needs integer \"n\"");
    for (const char *s = strchr(a, '['); s; s = strchr(s + 1, '[')) {
        size_t j = 1;
        while (s[j] && s[j] != ']' && s[j] != '[' && s[j] != '\n') j++;
        if (s[j] == ']' && !blank(s + 1, j - 1)) k++;
    }
    return RESULT(k >= n, "%d [placeholders], at least %d asked", k, n);
}

static int check_postscript(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)p;
    const char *marker = get_str(c, "marker");
    if (!marker || !*marker) return MALFORMED("needs \"marker\"");
    Postscript ps = {marker, 0};
    for_each_line(a, trimmed_len(a), postscript_line, &ps);
    return RESULT(ps.found, ps.found ? "a postscript starting with %s" : "no line starting with %s and some text",
                  marker);
}

typedef struct {
    int parts;
    const char *start[3];
    size_t len[3];
    const char *text;
} Responses;

static int separator_line(void *ctx, const char *line, size_t n) {
    Responses *r = ctx;
    const char *s = line;
    size_t m = n;
    while (m && isspace((unsigned char)*s)) s++, m--;
    while (m && isspace((unsigned char)s[m - 1])) m--;
    if (m == strlen(SEPARATOR) && strncmp(s, SEPARATOR, m) == 0) {
        if (r->parts < 3) r->len[r->parts - 1] = (size_t)(line - r->start[r->parts - 1]);
        r->parts++;
        if (r->parts <= 3) r->start[r->parts - 1] = line + n;
    }
    return 0;
}

static int check_two_responses(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)c, (void)p;
    size_t len = trimmed_len(a);
    Responses r = {1, {a, NULL, NULL}, {0, 0, 0}, a};
    for_each_line(a, len, separator_line, &r);
    if (r.parts != 2) return RESULT(0, "%d parts separated by %s lines, 2 asked", r.parts, SEPARATOR);
    r.len[1] = (size_t)(a + len - r.start[1]);
    if (blank(r.start[0], r.len[0]) || blank(r.start[1], r.len[1])) return RESULT(0, "an empty response");
    const char *x = skip_space(r.start[0]), *y = skip_space(r.start[1]);
    size_t nx = r.len[0] - (size_t)(x - r.start[0]), ny = r.len[1] - (size_t)(y - r.start[1]);
    while (nx && isspace((unsigned char)x[nx - 1])) nx--;
    while (ny && isspace((unsigned char)y[ny - 1])) ny--;
    if (nx == ny && memcmp(x, y, nx) == 0) return RESULT(0, "the two responses are the same");
    return RESULT(1, "two different responses");
}

static int check_repeat_request(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)c;
    if (!p || !*p) return MALFORMED("needs the request (base_prompt)");
    const char *s = skip_space(a), *q = skip_space(p);
    size_t m = trimmed_len(q);
    int ok = strncasecmp(s, q, m) == 0;
    return RESULT(ok, ok ? "starts with the request" : "does not start with the request");
}

// the script of a language: code point ranges
typedef struct {
    const char *language;
    int32_t ranges[6][2];
} Script;

static const Script SCRIPTS[] = {
    {"Russian", {{0x0400, 0x04FF}, {0x0500, 0x052F}}},
    {"Greek", {{0x0370, 0x03FF}, {0x1F00, 0x1FFF}}},
    {"Japanese", {{0x3040, 0x309F}, {0x30A0, 0x30FF}, {0x4E00, 0x9FFF}, {0x31F0, 0x31FF}}},
    {"Chinese", {{0x4E00, 0x9FFF}, {0x3400, 0x4DBF}}},
    {"Korean", {{0xAC00, 0xD7AF}, {0x1100, 0x11FF}, {0x3130, 0x318F}}},
    {"Arabic", {{0x0600, 0x06FF}, {0x0750, 0x077F}}},
    {"Hindi", {{0x0900, 0x097F}}},
    {"Hebrew", {{0x0590, 0x05FF}}},
    {"Thai", {{0x0E00, 0x0E7F}}},
};

static const Script *script_of(const char *language) {
    for (size_t i = 0; i < sizeof SCRIPTS / sizeof SCRIPTS[0]; i++)
        if (strcmp(SCRIPTS[i].language, language) == 0) return &SCRIPTS[i];
    return NULL;
}

static int check_language(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)p;
    const char *lang = get_str(c, "language");
    const Script *sc = lang ? script_of(lang) : NULL;
    if (!sc)
        return MALFORMED(
            "needs \"language\": Russian, Greek, Japanese, Chinese, Korean, Arabic, Hindi, Hebrew or Thai");
    size_t len = trimmed_len(a);
    int letters = 0, in_script = 0;
    for (size_t i = 0, step; i < len; i += step) {
        int32_t cp = cp_at(a, i, len, &step);
        if (!is_letter(cp)) continue;
        letters++;
        for (int r = 0; r < 6 && sc->ranges[r][1]; r++)
            if (cp >= sc->ranges[r][0] && cp <= sc->ranges[r][1]) {
                in_script++;
                break;
            }
    }
    int ok = letters > 0 && in_script * 10 >= letters * 6;
    return RESULT(ok, "%d of %d letters in the %s script (60%% asked)", in_script, letters, lang);
}

static int check_highlighted_sections(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)p;
    int n;
    if (!get_int(c, "n", &n)) return MALFORMED("needs integer \"n\"");
    Highlights h = {0};
    for_each_line(a, trimmed_len(a), highlight_line, &h);
    return RESULT(h.count >= n, "%d *highlighted* sections, at least %d asked", h.count, n);
}

static int check_capital_word_frequency(const json_t *c, const char *p, const char *a, char *detail, size_t size) {
    (void)p;
    WordCount wc = {NULL, 0, 1};
    for_each_word(a, trimmed_len(a), count_key, &wc);
    return check_counted(c, wc.count, "words in capitals", detail, size);
}

#define STRUCTURED \
    "bullet_count numbered_sections title postscript two_responses quotes repeat_request start_with end_with paragraph_count highlighted_sections placeholders"
static const Family FAMILIES[] = {
    {"lowercase", 0, "uppercase capital_word_frequency language json_format", check_lowercase},
    {"uppercase", 0, "lowercase capital_word_frequency language json_format", check_uppercase},
    {"word_count", P_RELATION | P_N, "json_format", check_word_count},
    {"sentence_count", P_RELATION | P_N, "json_format", check_sentence_count},
    {"paragraph_count", P_N, "json_format two_responses bullet_count numbered_sections", check_paragraph_count},
    {"bullet_count", P_N, "json_format quotes paragraph_count", check_bullet_count},
    {"numbered_sections", P_MARKER | P_N, "json_format quotes paragraph_count", check_numbered_sections},
    {"title", 0, "json_format", check_title},
    {"include_keywords", P_KEYWORDS, "language forbidden_words", check_include_keywords},
    {"forbidden_words", P_WORDS, "include_keywords keyword_frequency", check_forbidden_words},
    {"keyword_frequency", P_KEYWORD | P_RELATION | P_N, "language forbidden_words", check_keyword_frequency},
    {"letter_frequency", P_LETTER | P_RELATION | P_N, "language", check_letter_frequency},
    {"no_commas", 0, "json_format", check_no_commas},
    {"end_with", P_PHRASE, "json_format quotes two_responses language postscript", check_end_with},
    {"start_with", P_PHRASE, "json_format quotes repeat_request language", check_start_with},
    {"quotes", 0, "json_format two_responses start_with end_with repeat_request bullet_count numbered_sections",
     check_quotes},
    {"json_format", 0, "lowercase uppercase word_count sentence_count no_commas " STRUCTURED, check_json_format},
    {"placeholders", P_N, "json_format", check_placeholders},
    {"postscript", P_MARKER, "json_format end_with", check_postscript},
    {"two_responses", 0, "json_format quotes paragraph_count end_with repeat_request", check_two_responses},
    {"repeat_request", 0, "json_format quotes start_with two_responses language", check_repeat_request},
    {"language", P_LANGUAGE,
     "lowercase uppercase include_keywords keyword_frequency letter_frequency capital_word_frequency start_with end_with repeat_request",
     check_language},
    {"highlighted_sections", P_N, "json_format", check_highlighted_sections},
    {"capital_word_frequency", P_RELATION | P_N, "lowercase uppercase language", check_capital_word_frequency},
};
enum { N_FAMILIES = sizeof FAMILIES / sizeof FAMILIES[0] };

static const Family *family_of(const char *name) {
    for (int i = 0; i < N_FAMILIES; i++)
        if (strcmp(FAMILIES[i].name, name) == 0) return &FAMILIES[i];
    return NULL;
}

const char *const *constraints_known_kinds(void) {
    static const char *names[N_FAMILIES + 1];
    for (int i = 0; i < N_FAMILIES; i++) names[i] = FAMILIES[i].name;
    names[N_FAMILIES] = NULL;
    return names;
}

// a conflicts with b when either lists the other
static int in_list(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *s = strstr(list, name); s; s = strstr(s + 1, name))
        if ((s == list || s[-1] == ' ') && (s[n] == ' ' || s[n] == 0)) return 1;
    return 0;
}

static int conflict(const Family *a, const Family *b) {
    return a == b || in_list(a->conflicts, b->name) || in_list(b->conflicts, a->name);
}

// ---- checking ----

int constraint_check_one(const json_t *constraint, const char *prompt, const char *answer, char *detail,
                         size_t detail_size) {
    char scratch[8];
    if (!detail || detail_size == 0) detail = scratch, detail_size = sizeof scratch;
    detail[0] = 0;
    const char *kind = json_string_value(json_object_get(constraint, "kind"));
    const Family *f = kind ? family_of(kind) : NULL;
    if (!json_is_object(constraint) || !f) {
        snprintf(detail, detail_size, "unknown or missing \"kind\"%s%s", kind ? ": " : "", kind ? kind : "");
        return -1;
    }
    if (!answer) answer = "";
    int r = f->check(constraint, prompt, answer, detail, detail_size);
    // An answer without a word satisfies no instruction: "no commas" or "at most 3
    // sentences" must not be a reward for saying nothing.
    if (r == 1 && count_words(answer, strlen(answer)) == 0) {
        snprintf(detail, detail_size, "an empty answer (no words)");
        return 0;
    }
    return r;
}

json_t *constraints_check(const json_t *constraints, const char *prompt, const char *answer, int *n_pass) {
    json_t *out = json_array();
    int passed = 0;
    size_t i;
    json_t *c;
    json_array_foreach(constraints, i, c) {
        char detail[160];
        int r = constraint_check_one(c, prompt, answer, detail, sizeof detail);
        const char *kind = json_string_value(json_object_get(c, "kind"));
        json_t *res = json_pack("{s:s, s:b, s:s}", "kind", kind ? kind : "?", "pass", r == 1, "detail", detail);
        if (r < 0) json_object_set_new(res, "error", json_string(detail));
        json_array_append_new(out, res);
        passed += r == 1;
    }
    if (n_pass) *n_pass = passed;
    return out;
}

// ---- the catalogue: wordings and parameter pools ----

typedef struct {
    const Family *family;
    json_t *spec; // the family's object in the catalogue
    char **wordings;
    int n_wordings;
} CatalogFamily;

struct ConstraintCatalog {
    CatalogFamily *families;
    int n;
    json_t *root;
};

// the placeholders each parameter bit needs in a wording
static const struct {
    unsigned bit;
    const char *placeholder, *pool;
} PARAMS[] = {
    {P_N, "{n}", "n"},
    {P_RELATION, "{relation}", NULL},
    {P_KEYWORD, "{keyword}", "keywords"},
    {P_KEYWORDS, "{keywords}", "keywords"},
    {P_WORDS, "{words}", "words"},
    {P_LETTER, "{letter}", "letters"},
    {P_PHRASE, "{phrase}", "phrases"},
    {P_MARKER, "{marker}", "markers"},
    {P_LANGUAGE, "{language}", "languages"},
};

// n: [lo, hi], or {"at least": [lo, hi], "at most": [lo, hi]} for families with a relation
static int valid_range(const json_t *r) {
    return json_is_array(r) && json_array_size(r) == 2 && json_is_integer(json_array_get(r, 0)) &&
           json_is_integer(json_array_get(r, 1)) &&
           json_integer_value(json_array_get(r, 0)) <= json_integer_value(json_array_get(r, 1)) &&
           json_integer_value(json_array_get(r, 0)) >= 0;
}

static int valid_pool(const json_t *p) {
    if (!json_is_array(p) || json_array_size(p) == 0) return 0;
    size_t i;
    json_t *v;
    json_array_foreach(p, i, v) if (!json_is_string(v) || !*json_string_value(v)) return 0;
    return 1;
}

ConstraintCatalog *constraints_load(const char *path) {
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root)
        fail("%s:%d:%d: %s (the constraints catalogue must be JSON: {\"families\": {...}})", path, err.line, err.column,
             err.text);
    json_t *fams = json_object_get(root, "families");
    if (!json_is_object(fams) || json_object_size(fams) == 0)
        fail("%s: no \"families\" object: the catalogue maps each family name to its wordings and pools", path);
    ConstraintCatalog *c = xcalloc(1, sizeof *c);
    c->root = root;
    c->families = xcalloc(json_object_size(fams), sizeof(CatalogFamily));
    const char *name;
    json_t *spec;
    json_object_foreach(fams, name, spec) {
        if (name[0] == '_') continue;
        const Family *f = family_of(name);
        if (!f)
            fail("%s: family \"%s\" is unknown: the checker knows only the families listed in docs/formats.md", path,
                 name);
        json_t *w = json_object_get(spec, "instructions");
        if (!valid_pool(w)) fail("%s: family %s: \"instructions\" must be a non-empty list of wordings", path, name);
        CatalogFamily *cf = &c->families[c->n++];
        cf->family = f, cf->spec = spec, cf->n_wordings = (int)json_array_size(w);
        cf->wordings = xcalloc((size_t)cf->n_wordings, sizeof(char *));
        for (int k = 0; k < cf->n_wordings; k++) {
            const char *text = json_string_value(json_array_get(w, (size_t)k));
            for (size_t p = 0; p < sizeof PARAMS / sizeof PARAMS[0]; p++) {
                unsigned bit = PARAMS[p].bit;
                int used = (f->params & bit) != 0;
                if (bit == P_KEYWORD && (f->params & P_KEYWORDS)) used = 0; // {keyword} vs {keywords}
                if (used && !strstr(text, PARAMS[p].placeholder))
                    fail("%s: family %s: wording %d lacks %s", path, name, k + 1, PARAMS[p].placeholder);
                if (!used && strstr(text, PARAMS[p].placeholder) && !(bit == P_KEYWORD && (f->params & P_KEYWORDS)))
                    fail("%s: family %s: wording %d uses %s, which this family does not draw", path, name, k + 1,
                         PARAMS[p].placeholder);
            }
            cf->wordings[k] = strdup(text);
        }
        for (size_t p = 0; p < sizeof PARAMS / sizeof PARAMS[0]; p++) {
            if (!(f->params & PARAMS[p].bit) || !PARAMS[p].pool) continue;
            json_t *pool = json_object_get(spec, PARAMS[p].pool);
            if (PARAMS[p].bit == P_N) {
                int ok = (f->params & P_RELATION) && json_is_object(pool)
                             ? valid_range(json_object_get(pool, "at least")) &&
                                   valid_range(json_object_get(pool, "at most"))
                             : valid_range(pool);
                if (!ok)
                    fail("%s: family %s: \"n\" must be a range [lo, hi]%s", path, name,
                         (f->params & P_RELATION) ? " or {\"at least\": [lo, hi], \"at most\": [lo, hi]}" : "");
            } else if (!valid_pool(pool)) {
                fail("%s: family %s: \"%s\" must be a non-empty list of strings", path, name, PARAMS[p].pool);
            }
            if (PARAMS[p].bit == P_LANGUAGE) {
                size_t i;
                json_t *v;
                json_array_foreach(pool, i, v) if (!script_of(json_string_value(v)))
                    fail("%s: family language: \"%s\" has no script check (Russian, Greek, Japanese, Chinese, Korean, "
                         "Arabic, Hindi, Hebrew, Thai)",
                         path, json_string_value(v));
            }
            if (PARAMS[p].bit == P_LETTER) {
                size_t i;
                json_t *v;
                json_array_foreach(pool, i, v) if (strlen(json_string_value(v)) != 1 ||
                                                   !isalpha((unsigned char)*json_string_value(v)))
                    fail("%s: family letter_frequency: \"%s\" is not one ASCII letter", path, json_string_value(v));
            }
        }
    }
    if (c->n == 0) fail("%s: no families (keys starting with _ are comments)", path);
    return c;
}

void constraints_free(ConstraintCatalog *c) {
    if (!c) return;
    for (int i = 0; i < c->n; i++) {
        for (int k = 0; k < c->families[i].n_wordings; k++) free(c->families[i].wordings[k]);
        free(c->families[i].wordings);
    }
    free(c->families);
    json_decref(c->root);
    free(c);
}

int constraints_family_count(const ConstraintCatalog *c) { return c->n; }
const char *constraints_family_name(const ConstraintCatalog *c, int i) { return c->families[i].family->name; }

// ---- drawing ----

static int uniform(Rng *rng, int n) { return (int)(rng_u64(rng) % (uint64_t)n); }

static const char *pick(Rng *rng, const json_t *pool) {
    return json_string_value(json_array_get(pool, (size_t)uniform(rng, (int)json_array_size(pool))));
}

static int in_range(Rng *rng, const json_t *range) {
    int lo = (int)json_integer_value(json_array_get(range, 0)), hi = (int)json_integer_value(json_array_get(range, 1));
    return lo + uniform(rng, hi - lo + 1);
}

// s with every `from` replaced by `to` (malloc'd)
static char *replace_all(const char *s, const char *from, const char *to) {
    size_t nf = strlen(from), nt = strlen(to), count = 0;
    for (const char *p = strstr(s, from); p; p = strstr(p + nf, from)) count++;
    char *out = xmalloc(strlen(s) + count * nt + 1), *o = out;
    for (const char *p = s;;) {
        const char *hit = strstr(p, from);
        if (!hit) {
            strcpy(o, p);
            break;
        }
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        memcpy(o, to, nt);
        o += nt;
        p = hit + nf;
    }
    return out;
}

// "a", "b" and "c" -> the quoted list as English
static char *quoted_list(const json_t *list) {
    size_t n = json_array_size(list), cap = 16;
    for (size_t i = 0; i < n; i++) cap += strlen(json_string_value(json_array_get(list, i))) + 8;
    char *s = xmalloc(cap);
    s[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (i) strcat(s, i + 1 == n ? " and " : ", ");
        strcat(s, "\"");
        strcat(s, json_string_value(json_array_get(list, i)));
        strcat(s, "\"");
    }
    return s;
}

// k distinct strings of a pool
static json_t *distinct(Rng *rng, const json_t *pool, int k) {
    int n = (int)json_array_size(pool);
    if (k > n) k = n;
    json_t *out = json_array();
    while ((int)json_array_size(out) < k) {
        json_t *v = json_array_get(pool, (size_t)uniform(rng, n));
        int seen = 0;
        size_t i;
        json_t *x;
        json_array_foreach(out, i, x) seen |= json_equal(x, v);
        if (!seen) json_array_append(out, v);
    }
    return out;
}

static json_t *draw_one(const CatalogFamily *cf, Rng *rng) {
    const Family *f = cf->family;
    json_t *c = json_pack("{s:s}", "kind", f->name), *spec = cf->spec;
    char *text = strdup(cf->wordings[uniform(rng, cf->n_wordings)]), num[32];
    const char *rel = NULL;
#define SUB(ph, value)                             \
    do {                                           \
        char *next = replace_all(text, ph, value); \
        free(text);                                \
        text = next;                               \
    } while (0)
    if (f->params & P_RELATION) {
        rel = uniform(rng, 2) ? "at most" : "at least";
        json_object_set_new(c, "relation", json_string(rel));
        SUB("{relation}", rel);
    }
    if (f->params & P_N) {
        json_t *range = json_object_get(spec, "n");
        if (rel && json_is_object(range)) range = json_object_get(range, rel);
        int n = in_range(rng, range);
        json_object_set_new(c, "n", json_integer(n));
        snprintf(num, sizeof num, "%d", n);
        SUB("{n}", num);
    }
    if (f->params & P_KEYWORDS) {
        json_t *kw = distinct(rng, json_object_get(spec, "keywords"), 1 + uniform(rng, 2));
        char *list = quoted_list(kw);
        SUB("{keywords}", list);
        free(list);
        json_object_set_new(c, "keywords", kw);
    } else if (f->params & P_KEYWORD) {
        const char *k = pick(rng, json_object_get(spec, "keywords"));
        json_object_set_new(c, "keyword", json_string(k));
        SUB("{keyword}", k);
    }
    if (f->params & P_WORDS) {
        json_t *w = distinct(rng, json_object_get(spec, "words"), 1 + uniform(rng, 2));
        char *list = quoted_list(w);
        SUB("{words}", list);
        free(list);
        json_object_set_new(c, "words", w);
    }
    static const struct {
        unsigned bit;
        const char *key, *pool, *ph;
    } plain[] = {{P_LETTER, "letter", "letters", "{letter}"},
                 {P_PHRASE, "phrase", "phrases", "{phrase}"},
                 {P_MARKER, "marker", "markers", "{marker}"},
                 {P_LANGUAGE, "language", "languages", "{language}"}};
    for (size_t p = 0; p < sizeof plain / sizeof plain[0]; p++) {
        if (!(f->params & plain[p].bit)) continue;
        const char *v = pick(rng, json_object_get(spec, plain[p].pool));
        json_object_set_new(c, plain[p].key, json_string(v));
        SUB(plain[p].ph, v);
    }
#undef SUB
    json_object_set_new(c, "instruction", json_string(text));
    free(text);
    return c;
}

json_t *constraints_draw(const ConstraintCatalog *c, int k, Rng *rng, const char *const *families, int n_families) {
    CHECK(k >= 1 && k <= 3, "constraints_draw: k = %d (1..3)", k);
    int *allowed = xmalloc((size_t)c->n * sizeof(int)), n_allowed = 0;
    for (int i = 0; i < c->n; i++) {
        int ok = !families;
        for (int j = 0; families && j < n_families && !ok; j++)
            ok = strcmp(families[j], c->families[i].family->name) == 0;
        if (ok) allowed[n_allowed++] = i;
    }
    if (n_allowed == 0) fail("none of the requested constraint families is in the catalogue");
    json_t *out = json_array();
    const Family *chosen[3];
    int n_chosen = 0;
    int *fits = xmalloc((size_t)c->n * sizeof(int));
    while (n_chosen < k) { // each pick from the families compatible with those already drawn
        int n_fits = 0;
        for (int i = 0; i < n_allowed; i++) {
            int clash = 0;
            for (int j = 0; j < n_chosen; j++) clash |= conflict(c->families[allowed[i]].family, chosen[j]);
            if (!clash) fits[n_fits++] = allowed[i];
        }
        if (n_fits == 0) break; // fewer compatible families than asked
        const CatalogFamily *cf = &c->families[fits[uniform(rng, n_fits)]];
        chosen[n_chosen++] = cf->family;
        json_array_append_new(out, draw_one(cf, rng));
    }
    free(allowed), free(fits);
    return out;
}

char *constraints_prompt(const char *base, const json_t *constraints) {
    size_t cap = strlen(base) + 4;
    size_t i;
    json_t *c;
    json_array_foreach(constraints, i, c) cap += strlen(json_string_value(json_object_get(c, "instruction"))) + 2;
    char *s = xmalloc(cap);
    strcpy(s, base);
    strcat(s, "\n");
    json_array_foreach(constraints, i, c) {
        strcat(s, "\n");
        strcat(s, json_string_value(json_object_get(c, "instruction")));
    }
    return s;
}
