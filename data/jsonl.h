// jsonl.h: streaming reader of whole JSON records from .jsonl and .jsonl.zst files (one
// JSON object per line; blank lines are skipped). Where data/records.h hands out only the
// text field, this reader hands out each line's json_t object and its raw bytes, so a
// rewriting stage (data clean) can keep every other field as it was.
//
// Errors (unreadable file, corrupt or truncated zstd, invalid JSON, a line that is not an
// object) exit with "strap: error: FILE:LINE: ...".
//
// Invalid UTF-8 does not stop the reader: a line whose bytes are not UTF-8 (or whose \u
// escapes hold an unpaired surrogate, which no UTF-8 text can carry) is parsed with each
// bad sequence replaced by U+FFFD, and jsonl_invalid_utf8() says so, so the caller can
// drop the record and explain why.
#pragma once
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct JsonlReader JsonlReader;

// .jsonl / .json (plain) or .jsonl.zst / .json.zst (zstd); any other name fails.
JsonlReader *jsonl_open(const char *path);
// 1 and a new reference in *obj (release with json_decref) for the next record, 0 at the end.
int jsonl_next(JsonlReader *r, json_t **obj);
// The next non-blank line, unparsed (surrounding whitespace removed; valid until the next
// call), for callers that parse many lines in parallel with jsonl_parse; 0 at the end.
int jsonl_next_line(JsonlReader *r, const char **line, size_t *len);
// 1-based line number of the last record returned.
long jsonl_line(const JsonlReader *r);
const char *jsonl_path(const JsonlReader *r);
// The last record's line as read (surrounding whitespace removed); valid until the next
// call to jsonl_next.
const char *jsonl_raw(const JsonlReader *r, size_t *len);
// 1 if the last record's line was not valid UTF-8 (see above).
int jsonl_invalid_utf8(const JsonlReader *r);
// Bytes of the file consumed so far and the file's size (for progress).
int64_t jsonl_bytes_read(const JsonlReader *r);
int64_t jsonl_file_size(const JsonlReader *r);
void jsonl_close(JsonlReader *r);

// Parses one line (thread-safe; call json_object_seed(0) once before parsing in several
// threads). Returns the object, or NULL with a message in err[err_size] (the caller adds
// the file and line). A line that is not UTF-8 is parsed with U+FFFD in place of each bad
// sequence: *invalid_utf8 = 1 and, if fixed is not NULL, *fixed receives the repaired line
// (malloc'd; NULL when the line was valid).
json_t *jsonl_parse(const char *line, size_t len, int *invalid_utf8, char **fixed, size_t *fixed_len, char *err,
                    size_t err_size);

// 1 if `path` names a file jsonl_open accepts (by its suffix).
int jsonl_is_jsonl_path(const char *path);

// Locates the value of the top-level key `key` in a line holding one valid JSON object:
// the value's bytes are line[*start, *end). Returns 0 if the key is absent (or spelled
// with escapes). With duplicate keys the last one counts, as in jansson.
int jsonl_field_span(const char *line, size_t len, const char *key, size_t *start, size_t *end);
