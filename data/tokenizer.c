// tokenizer.c: see tokenizer.h.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer.h"

#include <jansson.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/hash64.h"
#include "../base/io.h"

#define GPT2_PATTERN "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

// ---- hash maps (open addressing, power-of-two tables) ----

typedef struct {
    const char **keys; // token strings (owned by the Tokenizer's token array)
    int32_t *values;
    size_t cap;
} StrMap;

static void strmap_init(StrMap *m, size_t n) {
    m->cap = 16;
    while (m->cap < 2 * n + 16) m->cap *= 2;
    m->keys = xcalloc(m->cap, sizeof(char *));
    m->values = xcalloc(m->cap, sizeof(int32_t));
}
static int32_t strmap_get(const StrMap *m, const char *key, size_t len) {
    for (size_t i = fnv1a64(key, len) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) return -1;
        if (strlen(m->keys[i]) == len && memcmp(m->keys[i], key, len) == 0) return m->values[i];
    }
}
static void strmap_put(StrMap *m, const char *key, int32_t value) {
    size_t len = strlen(key);
    for (size_t i = fnv1a64(key, len) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i] || strcmp(m->keys[i], key) == 0) {
            m->keys[i] = key;
            m->values[i] = value;
            return;
        }
    }
}

typedef struct {
    uint64_t *keys; // (left << 32 | right) + 1, 0 = empty
    int32_t *rank, *merged;
    size_t cap;
} PairMap;

static void pairmap_init(PairMap *m, size_t n) {
    m->cap = 16;
    while (m->cap < 2 * n + 16) m->cap *= 2;
    m->keys = xcalloc(m->cap, sizeof(uint64_t));
    m->rank = xcalloc(m->cap, sizeof(int32_t));
    m->merged = xcalloc(m->cap, sizeof(int32_t));
}
static size_t pairmap_slot(const PairMap *m, int32_t a, int32_t b) {
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    for (size_t i = hash_u64(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == key || m->keys[i] == 0) return i;
}

// ---- the tokenizer ----

typedef enum { STEP_REGEX, STEP_BYTELEVEL_REGEX } StepKind;
typedef struct {
    pcre2_code *code;
} Step;

typedef struct {
    char *content;
    int32_t id;
    int special;
} AddedToken;

struct Tokenizer {
    char *path;
    char **tokens; // [vocab] token text by id (NULL for unused ids)
    int vocab;
    StrMap by_text;
    PairMap merges;
    int32_t byte_id[256];   // id of each byte's byte-level character
    char byte_char[256][3]; // the byte-level character of each byte, UTF-8, NUL-terminated
    int16_t char_byte[324]; // code point (< 324) of a byte-level character -> its byte
    int ignore_merges;
    int32_t unk_id; // unk_token's id, or -1
    Step steps[8];
    int n_steps;
    int add_prefix_space;
    AddedToken *added;
    int n_added;
    pcre2_match_data *match;
    // scratch: pieces and BPE symbols
    size_t *piece_start, *piece_len, pieces_cap, n_pieces;
    size_t *next_start, *next_len, next_cap;
    int32_t *sym;
    size_t sym_cap;
};

// GPT-2's reversible map from bytes to printable unicode characters.
static void build_byte_chars(Tokenizer *t) {
    int n = 0;
    for (int i = 0; i < 324; i++) t->char_byte[i] = -1;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        unsigned cp = printable ? (unsigned)b : 256u + (unsigned)n++;
        t->char_byte[cp] = (int16_t)b;
        if (cp < 0x80) {
            t->byte_char[b][0] = (char)cp;
            t->byte_char[b][1] = 0;
        } else {
            t->byte_char[b][0] = (char)(0xC0 | (cp >> 6));
            t->byte_char[b][1] = (char)(0x80 | (cp & 0x3F));
            t->byte_char[b][2] = 0;
        }
    }
}

static pcre2_code *compile_regex(const char *file, const char *pattern) {
    int err;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &off, NULL);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        fail("%s: pre-tokenizer regex does not compile at offset %zu: %s", file, (size_t)off, (char *)msg);
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); // falls back to the interpreter if JIT is unavailable
    return code;
}

static void add_step(Tokenizer *t, const char *pattern) {
    if (t->n_steps == 8) fail("%s: more than 8 pre-tokenizers", t->path);
    t->steps[t->n_steps++].code = compile_regex(t->path, pattern);
}

static void parse_pre_tokenizer(Tokenizer *t, json_t *p) {
    if (!p || json_is_null(p)) return;
    const char *type = json_string_value(json_object_get(p, "type"));
    if (!type) fail("%s: pre_tokenizer without a type", t->path);
    if (strcmp(type, "Sequence") == 0) {
        size_t i;
        json_t *sub;
        json_array_foreach(json_object_get(p, "pretokenizers"), i, sub) parse_pre_tokenizer(t, sub);
    } else if (strcmp(type, "ByteLevel") == 0) {
        json_t *use_regex = json_object_get(p, "use_regex");
        if (!use_regex || json_is_true(use_regex)) add_step(t, GPT2_PATTERN);
        if (json_is_true(json_object_get(p, "add_prefix_space"))) t->add_prefix_space = 1;
    } else if (strcmp(type, "Split") == 0) {
        json_t *pat = json_object_get(p, "pattern");
        const char *behavior = json_string_value(json_object_get(p, "behavior"));
        if (json_is_true(json_object_get(p, "invert")) || !behavior || strcmp(behavior, "Isolated") != 0)
            fail("%s: Split pre-tokenizer with behavior %s%s is not supported (only Isolated, not inverted)", t->path,
                 behavior ? behavior : "?", json_is_true(json_object_get(p, "invert")) ? " inverted" : "");
        const char *regex = json_string_value(json_object_get(pat, "Regex"));
        const char *str = json_string_value(json_object_get(pat, "String"));
        if (regex) {
            add_step(t, regex);
        } else if (str) { // a literal: quote it for PCRE2
            size_t n = strlen(str);
            char *quoted = xmalloc(n + 5);
            snprintf(quoted, n + 5, "\\Q%s\\E", str);
            add_step(t, quoted);
            free(quoted);
        } else {
            fail("%s: Split pre-tokenizer without a pattern", t->path);
        }
    } else if (strcmp(type, "Digits") == 0) {
        add_step(t, json_is_true(json_object_get(p, "individual_digits")) ? "\\p{N}" : "\\p{N}+");
    } else {
        fail("%s: pre-tokenizer type '%s' is not supported (strap implements Sequence, ByteLevel, Split, Digits)",
             t->path, type);
    }
}

Tokenizer *tokenizer_load(const char *path_or_dir) {
    Tokenizer *t = xcalloc(1, sizeof *t);
    t->path = is_directory(path_or_dir) ? path_join(path_or_dir, "tokenizer.json") : strdup(path_or_dir);
    json_error_t err;
    json_t *root = json_load_file(t->path, 0, &err);
    if (!root) fail("%s:%d: cannot load tokenizer: %s", t->path, err.line, err.text);
    json_t *model = json_object_get(root, "model");
    const char *type = json_string_value(json_object_get(model, "type"));
    if (!type || strcmp(type, "BPE") != 0)
        fail("%s: model type '%s' is not supported (strap implements byte-level BPE)", t->path, type ? type : "?");
    json_t *norm = json_object_get(root, "normalizer");
    if (norm && !json_is_null(norm))
        fail("%s: normalizer '%s' is not supported (byte-level BPE tokenizers have none)", t->path,
             json_string_value(json_object_get(norm, "type")) ? json_string_value(json_object_get(norm, "type")) : "?");
    json_t *dec = json_object_get(root, "decoder");
    const char *dec_type = json_string_value(json_object_get(dec, "type"));
    if (dec_type && strcmp(dec_type, "ByteLevel") != 0)
        fail("%s: decoder '%s' is not supported (expected ByteLevel)", t->path, dec_type);
    t->ignore_merges = json_is_true(json_object_get(model, "ignore_merges"));

    json_t *vocab = json_object_get(model, "vocab");
    json_t *added = json_object_get(root, "added_tokens");
    if (!json_is_object(vocab)) fail("%s: model.vocab must be an object", t->path);
    int max_id = -1;
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) >= (1 << 24))
            fail("%s: vocab entry '%s' has an invalid id", t->path, key);
        if (json_integer_value(val) > max_id) max_id = (int)json_integer_value(val);
    }
    size_t i;
    json_array_foreach(added, i, val) {
        json_int_t id = json_integer_value(json_object_get(val, "id"));
        if (id < 0 || id >= (1 << 24)) fail("%s: added token %zu has an invalid id", t->path, i);
        if (id > max_id) max_id = (int)id;
    }
    t->vocab = max_id + 1;
    t->tokens = xcalloc((size_t)t->vocab, sizeof(char *));
    strmap_init(&t->by_text, (size_t)t->vocab);
    json_object_foreach(vocab, key, val) {
        int id = (int)json_integer_value(val);
        t->tokens[id] = strdup(key);
        strmap_put(&t->by_text, t->tokens[id], id);
    }
    t->n_added = (int)json_array_size(added);
    t->added = xcalloc((size_t)t->n_added + 1, sizeof(AddedToken));
    json_array_foreach(added, i, val) {
        const char *content = json_string_value(json_object_get(val, "content"));
        if (!content || !*content) fail("%s: added token %zu has no content", t->path, i);
        AddedToken *a = &t->added[i];
        a->content = strdup(content);
        a->id = (int32_t)json_integer_value(json_object_get(val, "id"));
        a->special = json_is_true(json_object_get(val, "special"));
        if (!t->tokens[a->id]) t->tokens[a->id] = strdup(content);
    }

    build_byte_chars(t);
    // A vocabulary may lack some byte characters (SmolLM2 has no token for most control
    // bytes). Like `tokenizers`, such a byte becomes unk_token when the model names one and
    // is dropped otherwise (then that text cannot round-trip: strap-trained vocabularies
    // always hold all 256).
    const char *unk = json_string_value(json_object_get(model, "unk_token"));
    t->unk_id = unk ? strmap_get(&t->by_text, unk, strlen(unk)) : -1;
    for (int b = 0; b < 256; b++) t->byte_id[b] = strmap_get(&t->by_text, t->byte_char[b], strlen(t->byte_char[b]));
    // Bytes of ordinary text (tab, newline, printable ASCII, UTF-8 lead and continuation bytes
    // of the common planes) must have a token, or text would vanish silently on encode.
    if (t->unk_id < 0)
        for (int b = 0; b < 256; b++) {
            int ordinary = b == '\t' || b == '\n' || b == '\r' || (b >= 0x20 && b <= 0x7E) ||
                           (b >= 0x80 && b <= 0xBF) || (b >= 0xC2 && b <= 0xF0);
            if (ordinary && t->byte_id[b] < 0)
                fail("%s: the byte-level vocabulary has no token for byte 0x%02X ('%s') and no unk_token: text with "
                     "that byte could not be encoded. A byte-level BPE vocabulary holds the 256 byte characters "
                     "(strap tok train writes them all)",
                     t->path, b, t->byte_char[b]);
        }
    json_t *merges = json_object_get(model, "merges");
    pairmap_init(&t->merges, json_array_size(merges));
    json_array_foreach(merges, i, val) {
        const char *a, *b;
        char *buf = NULL;
        if (json_is_string(val)) { // "left right"
            buf = strdup(json_string_value(val));
            char *space = strchr(buf, ' ');
            if (!space) fail("%s: merge %zu '%s' is not 'left right'", t->path, i, buf);
            *space = 0;
            a = buf, b = space + 1;
        } else if (json_is_array(val) && json_array_size(val) == 2) { // ["left", "right"]
            a = json_string_value(json_array_get(val, 0));
            b = json_string_value(json_array_get(val, 1));
            if (!a || !b) fail("%s: merge %zu is not a pair of strings", t->path, i);
        } else {
            fail("%s: merge %zu is neither 'left right' nor [left, right]", t->path, i);
        }
        size_t la = strlen(a), lb = strlen(b);
        char *joined = xmalloc(la + lb + 1);
        memcpy(joined, a, la);
        memcpy(joined + la, b, lb + 1);
        int32_t ia = strmap_get(&t->by_text, a, la), ib = strmap_get(&t->by_text, b, lb),
                im = strmap_get(&t->by_text, joined, la + lb);
        if (ia < 0 || ib < 0 || im < 0)
            fail("%s: merge %zu ('%s' '%s') uses a token missing from the vocabulary", t->path, i, a, b);
        size_t slot = pairmap_slot(&t->merges, ia, ib);
        if (t->merges.keys[slot] == 0) { // the first (lowest-rank) occurrence wins
            t->merges.keys[slot] = (((uint64_t)(uint32_t)ia << 32) | (uint32_t)ib) + 1;
            t->merges.rank[slot] = (int32_t)i;
            t->merges.merged[slot] = im;
        }
        free(joined);
        free(buf);
    }
    parse_pre_tokenizer(t, json_object_get(root, "pre_tokenizer"));
    if (t->add_prefix_space) fail("%s: ByteLevel add_prefix_space=true is not supported yet", t->path);
    t->match = pcre2_match_data_create(4, NULL);
    json_decref(root);
    return t;
}

void tokenizer_free(Tokenizer *t) {
    if (!t) return;
    for (int i = 0; i < t->vocab; i++) free(t->tokens[i]);
    free(t->tokens);
    free(t->by_text.keys), free(t->by_text.values);
    free(t->merges.keys), free(t->merges.rank), free(t->merges.merged);
    for (int i = 0; i < t->n_steps; i++) pcre2_code_free(t->steps[i].code);
    for (int i = 0; i < t->n_added; i++) free(t->added[i].content);
    free(t->added);
    pcre2_match_data_free(t->match);
    free(t->piece_start), free(t->piece_len), free(t->next_start), free(t->next_len), free(t->sym);
    free(t->path);
    free(t);
}

int tokenizer_vocab_size(const Tokenizer *t) { return t->vocab; }
const char *tokenizer_token_text(const Tokenizer *t, int id) { return id >= 0 && id < t->vocab ? t->tokens[id] : NULL; }
int tokenizer_token_id(const Tokenizer *t, const char *content) {
    for (int i = 0; i < t->n_added; i++)
        if (strcmp(t->added[i].content, content) == 0) return t->added[i].id;
    return -1;
}

// ---- encoding ----

static void push_piece(Tokenizer *t, size_t start, size_t len) {
    if (len == 0) return;
    if (t->n_pieces == t->next_cap) {
        t->next_cap = t->next_cap ? 2 * t->next_cap : 256;
        t->next_start = xrealloc(t->next_start, t->next_cap * sizeof(size_t));
        t->next_len = xrealloc(t->next_len, t->next_cap * sizeof(size_t));
        CHECK(t->next_start && t->next_len, "out of memory");
    }
    t->next_start[t->n_pieces] = start;
    t->next_len[t->n_pieces] = len;
    t->n_pieces++;
}

// Splits [start, start+len) of text by the regex, Isolated: matches and the gaps between
// them all become pieces (bytes that are not valid UTF-8 never match and stay in gaps).
static void split_regex(Tokenizer *t, pcre2_code *code, const char *text, size_t start, size_t len) {
    const PCRE2_SPTR subject = (PCRE2_SPTR)(text + start);
    size_t pos = 0, gap = 0;
    while (pos < len) {
        int rc = pcre2_match(code, subject, len, pos, 0, t->match, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        CHECK(rc >= 0, "pcre2_match failed (%d)", rc);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->match);
        size_t ms = ov[0], me = ov[1];
        if (me == ms) { // empty match: step over one byte
            pos = ms + 1;
            continue;
        }
        push_piece(t, start + gap, ms - gap);
        push_piece(t, start + ms, me - ms);
        pos = gap = me;
    }
    push_piece(t, start + gap, len - gap);
}

static void bpe_piece(Tokenizer *t, const char *s, size_t len, int32_t **ids, size_t *n, size_t *cap) {
    if (t->ignore_merges) { // Llama 3: a piece that is itself a token is taken whole
        char buf[1024];
        size_t bl = 0;
        for (size_t i = 0; i < len && bl + 2 < sizeof buf; i++) {
            const char *c = t->byte_char[(unsigned char)s[i]];
            size_t cl = strlen(c);
            memcpy(buf + bl, c, cl);
            bl += cl;
        }
        int32_t id = len * 2 < sizeof buf ? strmap_get(&t->by_text, buf, bl) : -1;
        if (id >= 0) {
            if (*n == *cap) {
                *cap = *cap ? 2 * *cap : 256;
                *ids = xrealloc(*ids, *cap * sizeof(int32_t));
            }
            (*ids)[(*n)++] = id;
            return;
        }
    }
    if (len > t->sym_cap) {
        t->sym_cap = 2 * len;
        t->sym = xrealloc(t->sym, t->sym_cap * sizeof(int32_t));
        CHECK(t->sym != NULL, "out of memory");
    }
    int32_t *sym = t->sym;
    size_t ns = 0;
    for (size_t i = 0; i < len; i++) {
        int32_t id = t->byte_id[(unsigned char)s[i]];
        if (id < 0) id = t->unk_id; // a byte the vocabulary lacks
        if (id >= 0) sym[ns++] = id;
    }
    for (;;) { // merge the lowest-ranked adjacent pair, leftmost first
        int32_t best_rank = INT32_MAX, best_merged = -1;
        size_t best_at = 0;
        for (size_t i = 0; i + 1 < ns; i++) {
            size_t slot = pairmap_slot(&t->merges, sym[i], sym[i + 1]);
            if (t->merges.keys[slot] && t->merges.rank[slot] < best_rank) {
                best_rank = t->merges.rank[slot];
                best_merged = t->merges.merged[slot];
                best_at = i;
            }
        }
        if (best_merged < 0) break;
        sym[best_at] = best_merged;
        memmove(sym + best_at + 1, sym + best_at + 2, (ns - best_at - 2) * sizeof(int32_t));
        ns--;
    }
    if (*n + ns > *cap) {
        while (*n + ns > *cap) *cap = *cap ? 2 * *cap : 256;
        *ids = xrealloc(*ids, *cap * sizeof(int32_t));
        CHECK(*ids != NULL, "out of memory");
    }
    if (ns) memcpy(*ids + *n, sym, ns * sizeof(int32_t));
    *n += ns;
}

// Splits text into the pieces of the pre-tokenizer chain (left in next_start/next_len).
static void pretokenize(Tokenizer *t, const char *text, size_t len) {
    t->n_pieces = 0;
    push_piece(t, 0, len);
    for (int s = 0; s < t->n_steps; s++) {
        // current pieces become the input; split each into the next list
        size_t count = t->n_pieces;
        if (count > t->pieces_cap) {
            t->pieces_cap = count;
            t->piece_start = xrealloc(t->piece_start, count * sizeof(size_t));
            t->piece_len = xrealloc(t->piece_len, count * sizeof(size_t));
            CHECK(t->piece_start && t->piece_len, "out of memory");
        }
        memcpy(t->piece_start, t->next_start, count * sizeof(size_t));
        memcpy(t->piece_len, t->next_len, count * sizeof(size_t));
        t->n_pieces = 0;
        for (size_t p = 0; p < count; p++) split_regex(t, t->steps[s].code, text, t->piece_start[p], t->piece_len[p]);
    }
}

void tokenizer_pieces(Tokenizer *t, const char *text, size_t len, void (*fn)(void *ctx, const char *piece, size_t n),
                      void *ctx) {
    if (len == 0) return;
    pretokenize(t, text, len);
    for (size_t p = 0; p < t->n_pieces; p++) fn(ctx, text + t->next_start[p], t->next_len[p]);
}

// Encodes ordinary text (no added tokens inside).
static void encode_plain(Tokenizer *t, const char *text, size_t len, int32_t **ids, size_t *n, size_t *cap) {
    if (len == 0) return;
    pretokenize(t, text, len);
    for (size_t p = 0; p < t->n_pieces; p++) bpe_piece(t, text + t->next_start[p], t->next_len[p], ids, n, cap);
}

void tokenizer_encode(Tokenizer *t, const char *text, size_t len, int allow_special, int32_t **ids, size_t *n,
                      size_t *cap) {
    size_t pos = 0;
    while (pos < len) {
        // the earliest (then longest) added token that may be matched here
        size_t best_at = len, best_len = 0;
        int best = -1;
        for (int a = 0; a < t->n_added; a++) {
            if (t->added[a].special && !allow_special) continue;
            const char *c = t->added[a].content;
            size_t cl = strlen(c);
            const char *hit = memmem(text + pos, len - pos, c, cl);
            if (!hit) continue;
            size_t at = (size_t)(hit - text);
            if (at < best_at || (at == best_at && cl > best_len)) best_at = at, best_len = cl, best = a;
        }
        encode_plain(t, text + pos, best_at - pos, ids, n, cap);
        if (best < 0) break;
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 256;
            *ids = xrealloc(*ids, *cap * sizeof(int32_t));
            CHECK(*ids != NULL, "out of memory");
        }
        (*ids)[(*n)++] = t->added[best].id;
        pos = best_at + best_len;
    }
}

// ---- decoding ----

static int byte_of_char(const Tokenizer *t, const unsigned char *s, int *consumed) {
    // byte-level characters are U+0021..U+0143: one or two UTF-8 bytes
    unsigned cp;
    if (s[0] < 0x80)
        cp = s[0], *consumed = 1;
    else if ((s[0] & 0xE0) == 0xC0 && (s[1] & 0xC0) == 0x80)
        cp = ((s[0] & 0x1Fu) << 6) | (s[1] & 0x3Fu), *consumed = 2;
    else
        return -1;
    return cp < 324 ? t->char_byte[cp] : -1;
}

size_t tokenizer_decode(const Tokenizer *t, const int32_t *ids, size_t n, char **out, size_t *cap) {
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->vocab || !t->tokens[ids[i]])
            fail("token id %d is outside the tokenizer's vocabulary (%d) (%s)", ids[i], t->vocab, t->path);
        const char *tok = t->tokens[ids[i]];
        size_t tl = strlen(tok);
        if (len + tl + 1 > *cap) {
            while (len + tl + 1 > *cap) *cap = *cap ? 2 * *cap : 256;
            *out = xrealloc(*out, *cap);
            CHECK(*out != NULL, "out of memory");
        }
        int is_added = 0;
        for (int a = 0; a < t->n_added && !is_added; a++) is_added = t->added[a].id == ids[i];
        if (is_added) {
            memcpy(*out + len, tok, tl);
            len += tl;
            continue;
        }
        for (size_t j = 0; j < tl;) {
            int used;
            int b = byte_of_char(t, (const unsigned char *)tok + j, &used);
            if (b < 0) fail("%s: token %d ('%s') is not byte-level text", t->path, ids[i], tok);
            (*out)[len++] = (char)b;
            j += (size_t)used;
        }
    }
    if (len + 1 > *cap) {
        *cap = len + 1;
        *out = xrealloc(*out, *cap);
    }
    (*out)[len] = 0;
    return len;
}
