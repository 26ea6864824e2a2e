// clean_text.h: cleaning one document's text, and the measures the quality filters use.
// Every function here is a pure function of its input (same bytes in, same bytes out), so
// a corpus can be cleaned in parallel and re-cleaned later with identical results.
//
// Normalisation (text_normalise):
//   - the text must be valid UTF-8 (else NULL: the record is dropped as "invalid_utf8");
//   - byte-order marks (U+FEFF) are removed; "\r\n" and a lone "\r" become "\n";
//   - control characters (Unicode category Cc) other than "\n" and "\t" are removed;
//   - Unicode NFC (utf8proc), so a composed and a decomposed "é" become the same bytes;
//   - within a line, runs of spaces and tabs between words become one space; the line's
//     leading indentation is kept (lists, quoted code) and lines inside ``` fenced code
//     blocks are kept as they are, because collapsing them would break code;
//   - trailing spaces and tabs on every line are removed;
//   - three or more consecutive newlines become two (at most one blank line);
//   - leading and trailing whitespace of the whole text is removed.
//
// Repair (text_repair), on normalised text:
//   - leaked chat-template markers are stripped: <|im_start|>, <|im_end|>, <|endoftext|>,
//     <|eot_id|>, <|begin_of_text|>, <|end_of_text|>, <|start_header_id|>ROLE<|end_header_id|>,
//     a role line ("assistant", "user", "system", optionally with ':') right after a marker,
//     and "### Assistant:", "### User:", "### System:", "### Human:" line prefixes; inside
//     ``` code blocks and `inline code` markers are content (a text about chat templates
//     shows them) and only those at the very end of the text are stripped;
//   - an odd number of ``` fence lines gets a closing fence appended;
//   - a cut-off ending (the text ends neither with terminal punctuation .!?"')]}` (or
//     * for **bold**, … 。！？ ” ’ ») nor with a closing fence) is cut back to the last
//     sentence end outside code (a list number such as "2." is not one) or the end of a
//     closed code block, if that keeps at least half of the text's bytes; otherwise the
//     text stays;
//   - repairs repeat until nothing changes (one can uncover another), so repairing a
//     repaired text changes nothing;
//   - a text left with nothing but whitespace and fences cannot be repaired.
#pragma once
#include <stddef.h>
#include <stdint.h>

// Why a record was removed. CLEAN_KEEP (0) means it was not.
typedef enum {
    CLEAN_KEEP = 0,
    CLEAN_INVALID_UTF8,    // the record's bytes are not UTF-8
    CLEAN_UNREPAIRABLE,    // nothing left after normalisation and repair
    CLEAN_TOO_SHORT,       // fewer than min_chars characters
    CLEAN_TOO_LONG,        // more than max_chars characters
    CLEAN_TOO_FEW_WORDS,   // fewer than min_words words
    CLEAN_NON_PRINTABLE,   // share of non-printable characters above max_non_printable
    CLEAN_REPETITIVE,      // share of repeated word 3-grams above max_repeat
    CLEAN_EXACT_DUPLICATE, // same cleaned text as an earlier record
    CLEAN_NEAR_DUPLICATE,  // MinHash similarity to an earlier record at or above the threshold
    CLEAN_N_REASONS
} CleanReason;

// "invalid_utf8", "unrepairable", "too_short", ... (the names used in reports).
const char *clean_reason_name(CleanReason reason);

// What repair changed (bits of CleanResult.repairs).
enum {
    REPAIR_MARKERS = 1, // chat/role markers stripped
    REPAIR_FENCE = 2,   // a closing ``` appended
    REPAIR_CUT_OFF = 4, // a cut-off last sentence trimmed
};

typedef struct {
    int min_chars;           // characters (code points) of the cleaned text; default 20
    int max_chars;           // default 100000
    int min_words;           // default 0 (off)
    float max_repeat;        // share of duplicate word 3-grams; default 0.3
    float max_non_printable; // share of non-printable characters; default 0.1
} TextFilter;

void text_filter_defaults(TextFilter *f);

// Measures of a cleaned text.
typedef struct {
    int64_t chars;             // code points
    int64_t words;             // runs of letters, marks, digits and '_'
    int64_t trigrams;          // word 3-grams (words - 2, or 0)
    int64_t repeated_trigrams; // trigrams minus distinct trigrams
    int64_t non_printable;     // code points in categories Cc (but \n, \t), Cf, Co, Cs, Cn, and U+FFFD
} TextStats;

// Returns malloc'd, NUL-terminated normalised text and its length, or NULL if `text` is
// not valid UTF-8.
char *text_normalise(const char *text, size_t len, size_t *out_len);
// Repairs normalised text; returns malloc'd text (possibly empty) and sets *repairs bits.
char *text_repair(const char *text, size_t len, size_t *out_len, int *repairs);
void text_stats(const char *text, size_t len, TextStats *st);
// The first filter the stats fail, or CLEAN_KEEP.
CleanReason text_filter(const TextFilter *f, const TextStats *st);

// Lowercased word ids (64-bit hashes) of a text, in order; returns the count, *ids malloc'd.
// Words are runs of letters, marks, digits and '_' (text_stats counts the same words).
size_t text_word_ids(const char *text, size_t len, uint64_t **ids);

typedef struct {
    CleanReason reason; // CLEAN_KEEP or why the text is dropped (before deduplication)
    char *text;         // the cleaned text (malloc'd; NULL when invalid UTF-8)
    size_t len;
    int repairs;    // REPAIR_* bits
    int normalised; // 1 if normalisation changed the bytes
    TextStats stats;
    uint64_t *word_ids; // the cleaned text's word ids (text_word_ids), for shingling; malloc'd
    size_t n_words;
} CleanResult;

// Normalise, repair, measure and filter one text.
void text_clean(const TextFilter *f, const char *text, size_t len, CleanResult *res);
void clean_result_free(CleanResult *res);
