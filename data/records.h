// records.h: streaming reader of text documents from .txt (the whole file is one document,
// or one per blank-line-separated paragraph), .jsonl and .jsonl.zst (one JSON object per
// line; the text is a string field, "text" by default). Errors name the file and line.
#pragma once
#include <stddef.h>

typedef struct RecordReader RecordReader;

// split_paragraphs applies to .txt input only.
RecordReader *records_open(const char *path, const char *field, int split_paragraphs);
// 1 and (text, len) for the next document (valid until the next call), 0 at the end.
int records_next(RecordReader *r, const char **text, size_t *len);
// Line number of the last record returned (1-based; .txt paragraphs count from line 1).
long records_line(const RecordReader *r);
void records_close(RecordReader *r);
