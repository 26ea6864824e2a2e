// clean_text.c: see clean_text.h.
#include "clean_text.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "../base/check.h"
#include "../base/hash64.h"

static const char *const REASON_NAMES[CLEAN_N_REASONS] = {
    "kept",          "invalid_utf8",  "unrepairable", "too_short",       "too_long",
    "too_few_words", "non_printable", "repetitive",   "exact_duplicate", "near_duplicate",
};

const char *clean_reason_name(CleanReason reason) {
    return reason >= 0 && reason < CLEAN_N_REASONS ? REASON_NAMES[reason] : "unknown";
}

void text_filter_defaults(TextFilter *f) {
    f->min_chars = 20;
    f->max_chars = 100000;
    f->min_words = 0;
    f->max_repeat = 0.3f;
    f->max_non_printable = 0.1f;
}

// ---- a growable byte buffer ----

typedef struct {
    char *p;
    size_t n, cap;
} Buf;

static void buf_reserve(Buf *b, size_t extra) {
    CHECK(extra < ((size_t)1 << 48) && b->n < ((size_t)1 << 48), "text of %zu + %zu bytes is too large", b->n, extra);
    size_t need = b->n + extra + 1;
    if (b->p && need <= b->cap) return;
    b->cap = need * 2;
    b->p = xrealloc(b->p, b->cap);
    CHECK(b->p != NULL, "out of memory (%zu bytes)", b->cap);
}

static void buf_put(Buf *b, const void *s, size_t k) {
    buf_reserve(b, k);
    memcpy(b->p + b->n, s, k);
    b->n += k;
    b->p[b->n] = '\0';
}

static void buf_putc(Buf *b, char c) { buf_put(b, &c, 1); }

static char *buf_take(Buf *b, size_t *len) {
    buf_reserve(b, 0);
    b->p[b->n] = '\0';
    *len = b->n;
    return b->p;
}

// ---- lines and fences ----

static int is_blank(char c) { return c == ' ' || c == '\t'; }

// A fence line: optional indentation, then ``` (an info string such as "python" may follow).
static int is_fence_line(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && is_blank(s[i])) i++;
    return n - i >= 3 && s[i] == '`' && s[i + 1] == '`' && s[i + 2] == '`';
}

static size_t line_end(const char *s, size_t start, size_t len) {
    const char *nl = memchr(s + start, '\n', len - start);
    return nl ? (size_t)(nl - s) : len;
}

static int count_fences(const char *s, size_t len) {
    int n = 0;
    for (size_t ls = 0; ls < len;) {
        size_t le = line_end(s, ls, len);
        n += is_fence_line(s + ls, le - ls);
        ls = le + 1;
    }
    return n;
}

// Trailing blanks off every line, runs of blanks inside prose lines to one space (the
// indentation and fenced code kept), at most one blank line in a row, the whole trimmed.
static char *whitespace_pass(const char *s, size_t len, size_t *out_len) {
    Buf b = {0};
    buf_reserve(&b, len);
    int in_code = 0, started = 0, blank_lines = 0;
    for (size_t ls = 0; ls <= len;) {
        size_t le = line_end(s, ls, len), e = le;
        while (e > ls && is_blank(s[e - 1])) e--;
        if (e == ls) { // blank line
            if (started) blank_lines++;
            ls = le + 1;
            continue;
        }
        if (started) {
            buf_putc(&b, '\n');
            if (blank_lines) buf_putc(&b, '\n');
        }
        blank_lines = 0;
        int fence = is_fence_line(s + ls, e - ls);
        size_t i = ls;
        if (!started) // the text's leading whitespace goes
            while (i < e && is_blank(s[i])) i++;
        if (in_code && !fence) {
            buf_put(&b, s + i, e - i);
        } else {
            size_t ind = i;
            while (ind < e && is_blank(s[ind])) ind++;
            buf_put(&b, s + i, ind - i); // indentation as it was
            for (i = ind; i < e; i++) {
                if (is_blank(s[i])) {
                    if (!is_blank(s[i - 1])) buf_putc(&b, ' ');
                } else {
                    buf_putc(&b, s[i]);
                }
            }
        }
        if (fence) in_code = !in_code;
        started = 1;
        ls = le + 1;
    }
    return buf_take(&b, out_len);
}

// ---- normalisation ----

char *text_normalise(const char *text, size_t len, size_t *out_len) {
    Buf a = {0};
    buf_reserve(&a, len);
    int ascii = 1;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x80) {
            if (c == '\r') { // \r\n -> \n, a lone \r -> \n
                if (!(i + 1 < len && text[i + 1] == '\n')) buf_putc(&a, '\n');
            } else if (c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f)) {
                buf_putc(&a, (char)c);
            }
            i++;
            continue;
        }
        ascii = 0;
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k < 0) {
            free(a.p);
            return NULL;
        }
        int drop = cp == 0xFEFF || utf8proc_category(cp) == UTF8PROC_CATEGORY_CC; // byte-order marks too
        if (!drop) buf_put(&a, text + i, (size_t)k);
        i += (size_t)k;
    }
    if (!ascii && a.n > 0) {
        utf8proc_uint8_t *nfc = NULL;
        utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)a.p, (utf8proc_ssize_t)a.n, &nfc,
                                          UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        CHECK(n >= 0, "utf8proc NFC failed: %s", utf8proc_errmsg(n));
        free(a.p);
        a.p = (char *)nfc;
        a.n = a.cap = (size_t)n;
    }
    char *out = whitespace_pass(a.p ? a.p : "", a.n, out_len);
    free(a.p);
    return out;
}

// ---- repair: leaked chat markers ----

static const char *const MARKERS[] = {
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|begin_of_text|>", "<|end_of_text|>", NULL};
static const char HEADER_START[] = "<|start_header_id|>", HEADER_END[] = "<|end_header_id|>";
static const char *const ROLE_PREFIXES[] = {"### Assistant:", "### User:", "### System:", "### Human:", NULL};

static int starts_with(const char *s, size_t n, const char *prefix) {
    size_t k = strlen(prefix);
    return n >= k && memcmp(s, prefix, k) == 0;
}

// "assistant", "user" or "system" (any case, an optional ':'), surrounded by blanks.
static int is_role_line(const char *s, size_t n) {
    while (n > 0 && is_blank(s[0])) s++, n--;
    while (n > 0 && is_blank(s[n - 1])) n--;
    if (n > 0 && s[n - 1] == ':') n--;
    static const char *const roles[] = {"assistant", "user", "system", NULL};
    for (int r = 0; roles[r]; r++)
        if (strlen(roles[r]) == n && strncasecmp(s, roles[r], n) == 0) return 1;
    return 0;
}

// Length of the marker at s (0 if none); a header <|start_header_id|>ROLE<|end_header_id|>
// counts as one marker.
static size_t marker_at(const char *s, size_t n) {
    if (n < 2 || s[0] != '<' || s[1] != '|') return 0;
    for (int m = 0; MARKERS[m]; m++)
        if (starts_with(s, n, MARKERS[m])) return strlen(MARKERS[m]);
    if (starts_with(s, n, HEADER_START)) {
        const char *end = memmem(s, n, HEADER_END, sizeof HEADER_END - 1);
        return end ? (size_t)(end - s) + sizeof HEADER_END - 1 : sizeof HEADER_START - 1;
    }
    if (starts_with(s, n, HEADER_END)) return sizeof HEADER_END - 1;
    return 0;
}

static int has_content(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_blank(s[i])) return 1;
    return 0;
}

// Length of text without the markers (and blanks) at its very end: a turn's end leaked
// after an unclosed code block is stripped there too.
static size_t without_trailing_markers(const char *s, size_t len) {
    for (;;) {
        while (len > 0 && (is_blank(s[len - 1]) || s[len - 1] == '\n')) len--;
        size_t before = len;
        for (int m = 0; MARKERS[m]; m++) {
            size_t k = strlen(MARKERS[m]);
            if (len >= k && memcmp(s + len - k, MARKERS[m], k) == 0) len -= k;
        }
        size_t k = sizeof HEADER_END - 1;
        if (len == before && len >= k && memcmp(s + len - k, HEADER_END, k) == 0) len -= k;
        if (len == before) return len;
    }
}

// Strips markers outside code: inside ``` blocks and `inline code` they are content (a
// document about chat templates shows them); only trailing ones are removed there.
static char *strip_markers(const char *s, size_t len, size_t *out_len, int *changed) {
    Buf b = {0}, line = {0};
    buf_reserve(&b, len);
    int after_marker = 0, in_code = 0;
    size_t trimmed = without_trailing_markers(s, len);
    *changed = trimmed < len;
    len = trimmed;
    for (size_t ls = 0; ls < len;) {
        size_t le = line_end(s, ls, len), p = ls;
        ls = le + 1;
        if (in_code || is_fence_line(s + p, le - p)) { // code: as it is
            if (is_fence_line(s + p, le - p)) in_code = !in_code;
            buf_put(&b, s + p, le - p);
            buf_putc(&b, '\n');
            after_marker = 0;
            continue;
        }
        int had_marker = 0, ends_with_marker = 0, in_tick = 0;
        line.n = 0;
        while (p < le) {
            size_t m = in_tick ? 0 : marker_at(s + p, le - p);
            for (int k = 0; !m && ROLE_PREFIXES[k] && !has_content(line.p, line.n); k++) // "### User:" opening the line
                if (starts_with(s + p, le - p, ROLE_PREFIXES[k])) m = strlen(ROLE_PREFIXES[k]);
            if (!m) {
                if (s[p] == '`') in_tick = !in_tick;
                buf_putc(&line, s[p]);
                if (!is_blank(s[p])) ends_with_marker = 0;
                p++;
                continue;
            }
            p += m;
            had_marker = ends_with_marker = 1;
            if (is_role_line(s + p, le - p)) p = le; // "<|im_start|>assistant"
            if (has_content(line.p, line.n))
                buf_putc(&line, ' '); // keep the words on either side apart
            else
                while (p < le && is_blank(s[p])) p++; // no indentation from a marker
        }
        int content = has_content(line.p, line.n);
        if (had_marker && !content) { // the line held only markers (and a role)
            after_marker = 1;
            *changed = 1;
            continue;
        }
        if (!had_marker && after_marker && content && is_role_line(line.p, line.n)) {
            after_marker = 0;
            *changed = 1;
            continue;
        }
        if (had_marker) *changed = 1;
        if (content) after_marker = had_marker && ends_with_marker;
        buf_put(&b, line.p ? line.p : "", line.n);
        buf_putc(&b, '\n');
    }
    free(line.p);
    return buf_take(&b, out_len);
}

// ---- repair: cut-off endings ----

// The code point ending at s[n-1] (0 if none).
static int32_t last_codepoint(const char *s, size_t n) {
    if (n == 0) return 0;
    size_t i = n - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    utf8proc_int32_t cp = 0;
    utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
    return cp;
}

static int is_sentence_end(int32_t cp) {
    return cp == '.' || cp == '!' || cp == '?' || cp == 0x2026 /* … */ || cp == 0x3002 /* 。 */ ||
           cp == 0xFF01 /* ！ */ || cp == 0xFF1F /* ？ */;
}

static int is_closer(int32_t cp) {
    return cp == '"' || cp == '\'' || cp == ')' || cp == ']' || cp == '}' || cp == '`' || cp == '*' /* **bold** */ ||
           cp == 0x201D /* ” */ || cp == 0x2019 /* ’ */ || cp == 0xBB /* » */;
}

// Length of a list marker ("- ", "* ", "+ ", "12. ", "3) ") opening the line (after its
// indentation), 0 if none.
static size_t list_marker(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && is_blank(s[i])) i++;
    if (i + 1 < n && (s[i] == '-' || s[i] == '*' || s[i] == '+') && s[i + 1] == ' ') return i + 2;
    size_t d = i;
    while (d < n && s[d] >= '0' && s[d] <= '9') d++;
    if (d > i && d + 1 < n && (s[d] == '.' || s[d] == ')') && s[d + 1] == ' ') return d + 2;
    return 0;
}

// Where a cut-off text should end: just after the last sentence end outside code or the
// end of a closed code block, if that keeps at least half of the text; len when nothing
// should be cut. (The result ends like a complete text, so cutting again changes nothing.)
static size_t cut_off_point(const char *s, size_t len) {
    if (len == 0) return len;
    size_t last_ls = len;
    while (last_ls > 0 && s[last_ls - 1] != '\n') last_ls--;
    if (is_fence_line(s + last_ls, len - last_ls)) return len;
    int32_t last = last_codepoint(s, len);
    if (is_sentence_end(last) || is_closer(last)) return len;
    size_t best = 0;
    int in_code = 0;
    for (size_t ls = 0; ls < len;) {
        size_t le = line_end(s, ls, len);
        if (is_fence_line(s + ls, le - ls)) {
            in_code = !in_code;
            if (!in_code) best = le; // the end of a closed code block
        } else if (!in_code) {
            size_t marker = list_marker(s + ls, le - ls);
            for (size_t i = ls + marker; i < le;) { // "1. " is a list number, not a sentence end
                utf8proc_int32_t cp;
                utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(le - i), &cp);
                if (k < 1) k = 1, cp = 0;
                i += (size_t)k;
                if (!is_sentence_end(cp)) continue;
                size_t j = i;
                while (j < le) { // closing quotes and brackets belong to the sentence
                    utf8proc_int32_t c2;
                    utf8proc_ssize_t k2 =
                        utf8proc_iterate((const utf8proc_uint8_t *)s + j, (utf8proc_ssize_t)(le - j), &c2);
                    if (k2 < 1 || !is_closer(c2)) break;
                    j += (size_t)k2;
                }
                if (j == le || is_blank(s[j]) || cp > 0x2000) best = j;
            }
        }
        ls = le + 1;
    }
    return best > 0 && 2 * best >= len ? best : len;
}

// Anything but whitespace outside the fence lines.
static int has_text(const char *s, size_t len) {
    for (size_t ls = 0; ls < len;) {
        size_t le = line_end(s, ls, len);
        if (!is_fence_line(s + ls, le - ls)) {
            for (size_t i = ls; i < le; i++)
                if (!is_blank(s[i])) return 1;
        }
        ls = le + 1;
    }
    return 0;
}

// One round of repairs (markers, fence, cut-off); *repairs gets the REPAIR_* bits applied.
static char *repair_once(const char *text, size_t len, size_t *out_len, int *repairs) {
    *repairs = 0;
    Buf b = {0};
    int changed = 0;
    if (memmem(text, len, "<|", 2) || memmem(text, len, "### ", 4)) {
        size_t n;
        char *stripped = strip_markers(text, len, &n, &changed);
        if (changed) {
            *repairs |= REPAIR_MARKERS;
            b.p = whitespace_pass(stripped, n, &b.n);
            b.cap = b.n + 1;
        }
        free(stripped);
    }
    if (!changed) buf_put(&b, text, len);
    if (b.n > 0 && count_fences(b.p, b.n) % 2 == 1) {
        buf_put(&b, "\n```", 4);
        *repairs |= REPAIR_FENCE;
    }
    size_t cut = cut_off_point(b.p, b.n);
    if (cut < b.n) {
        b.n = cut;
        while (b.n > 0 && (is_blank(b.p[b.n - 1]) || b.p[b.n - 1] == '\n')) b.n--;
        *repairs |= REPAIR_CUT_OFF;
    }
    return buf_take(&b, out_len);
}

// Repairs can uncover each other's work (a cut exposes a trailing marker, a stripped marker
// turns a line into a fence), so rounds repeat until nothing changes: repairing a repaired
// text changes nothing.
char *text_repair(const char *text, size_t len, size_t *out_len, int *repairs) {
    *repairs = 0;
    char *cur = NULL;
    size_t n = len;
    for (int round = 0; round < 8; round++) {
        int r;
        size_t m;
        char *next = repair_once(cur ? cur : text, n, &m, &r);
        if (!r) {
            free(next);
            break;
        }
        *repairs |= r;
        free(cur);
        cur = next;
        n = m;
    }
    if (!cur) {
        Buf b = {0};
        buf_put(&b, text, len);
        cur = b.p;
    }
    if (!has_text(cur, n)) n = 0; // nothing but whitespace and fences: nothing to keep
    cur[n] = '\0';
    *out_len = n;
    return cur;
}

// ---- measures ----

// A word character: a letter, mark, digit or '_'.
static int is_word_char(int32_t cp) {
    if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') || cp == '_';
    utf8proc_category_t c = utf8proc_category(cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_NO);
}

static int is_non_printable(int32_t cp) {
    if (cp == '\n' || cp == '\t') return 0;
    if (cp < 0x80) return cp < 0x20 || cp == 0x7f;
    if (cp == 0xFFFD) return 1;
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_CO ||
           c == UTF8PROC_CATEGORY_CS || c == UTF8PROC_CATEGORY_CN;
}

// Walks code points: counts chars and non-printables, collects lowercased word ids.
static size_t scan_words(const char *s, size_t len, uint64_t **ids, int64_t *chars, int64_t *non_printable) {
    size_t n = 0, cap = 64;
    uint64_t *out = xmalloc(cap * sizeof *out);
    uint64_t h = 0;
    int in_word = 0;
    int64_t nc = 0, np = 0;
    for (size_t i = 0; i <= len;) {
        utf8proc_int32_t cp = 0;
        if (i < len) {
            unsigned char c = (unsigned char)s[i];
            if (c < 0x80) {
                cp = c;
                i++;
            } else {
                utf8proc_ssize_t k =
                    utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
                if (k < 1) k = 1, cp = 0xFFFD;
                i += (size_t)k;
            }
            nc++;
            np += is_non_printable(cp);
        } else {
            i++; // past the end: closes the last word
        }
        int w = cp != 0 && is_word_char(cp);
        if (w) {
            int32_t lower = cp < 0x80 ? (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp) : utf8proc_tolower(cp);
            if (!in_word) h = FNV64_OFFSET;
            h = (h ^ (uint64_t)lower) * FNV64_PRIME; // FNV-1a over code points
            in_word = 1;
        } else if (in_word) {
            if (n == cap) {
                out = xrealloc(out, (cap *= 2) * sizeof *out);
                CHECK(out != NULL, "out of memory");
            }
            out[n++] = mix64(h);
            in_word = 0;
        }
    }
    if (chars) *chars = nc;
    if (non_printable) *non_printable = np;
    *ids = out;
    return n;
}

size_t text_word_ids(const char *text, size_t len, uint64_t **ids) { return scan_words(text, len, ids, NULL, NULL); }

// Distinct values among n 64-bit hashes (open addressing; 0 stands for "empty", so the
// value 0 is counted apart).
static size_t count_distinct(const uint64_t *v, size_t n) {
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    uint64_t *set = xcalloc(cap, sizeof *set);
    size_t distinct = 0;
    int zero = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == 0) {
            distinct += !zero;
            zero = 1;
            continue;
        }
        size_t j = (size_t)(v[i] >> 7) & (cap - 1);
        while (set[j] && set[j] != v[i]) j = (j + 1) & (cap - 1);
        if (!set[j]) {
            set[j] = v[i];
            distinct++;
        }
    }
    free(set);
    return distinct;
}

// The measures of a text; its word ids go to *ids_out (or are freed when ids_out is NULL).
static void stats_and_words(const char *text, size_t len, TextStats *st, uint64_t **ids_out, size_t *n_out) {
    memset(st, 0, sizeof *st);
    uint64_t *ids;
    size_t n = scan_words(text, len, &ids, &st->chars, &st->non_printable);
    st->words = (int64_t)n;
    if (n >= 3) {
        uint64_t *tri = xmalloc((n - 2) * sizeof *tri);
        for (size_t i = 0; i + 2 < n; i++) tri[i] = hash64_words(ids + i, 3, 0x7472696772616d73ULL);
        st->trigrams = (int64_t)(n - 2);
        st->repeated_trigrams = st->trigrams - (int64_t)count_distinct(tri, n - 2);
        free(tri);
    }
    if (ids_out) {
        *ids_out = ids;
        *n_out = n;
    } else {
        free(ids);
    }
}

void text_stats(const char *text, size_t len, TextStats *st) { stats_and_words(text, len, st, NULL, NULL); }

CleanReason text_filter(const TextFilter *f, const TextStats *st) {
    if (st->chars < f->min_chars) return CLEAN_TOO_SHORT;
    if (f->max_chars > 0 && st->chars > f->max_chars) return CLEAN_TOO_LONG;
    if (f->min_words > 0 && st->words < f->min_words) return CLEAN_TOO_FEW_WORDS;
    if (st->chars > 0 && (double)st->non_printable / (double)st->chars > f->max_non_printable)
        return CLEAN_NON_PRINTABLE;
    if (st->trigrams > 0 && (double)st->repeated_trigrams / (double)st->trigrams > f->max_repeat)
        return CLEAN_REPETITIVE;
    return CLEAN_KEEP;
}

void text_clean(const TextFilter *f, const char *text, size_t len, CleanResult *res) {
    memset(res, 0, sizeof *res);
    size_t n;
    char *norm = text_normalise(text, len, &n);
    if (!norm) {
        res->reason = CLEAN_INVALID_UTF8;
        return;
    }
    res->normalised = n != len || memcmp(norm, text, len) != 0;
    res->text = text_repair(norm, n, &res->len, &res->repairs);
    free(norm);
    if (res->len == 0) {
        res->reason = CLEAN_UNREPAIRABLE;
        return;
    }
    stats_and_words(res->text, res->len, &res->stats, &res->word_ids, &res->n_words);
    res->reason = text_filter(f, &res->stats);
}

void clean_result_free(CleanResult *res) {
    free(res->text);
    free(res->word_ids);
    res->text = NULL;
    res->word_ids = NULL;
}
