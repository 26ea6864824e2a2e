// records_writer.h: streaming writer of record files: .jsonl (plain) or .jsonl.zst (one
// zstd frame, level 3, content checksum), one compact JSON object per line, UTF-8 kept
// readable (no \u escapes for non-ASCII).
//
// Nothing appears under the real name before records_writer_close: the records go to
// "<path>.tmp.<pid>" (base/io.h) which close fsyncs and renames into place. If the process
// exits before close (an error elsewhere calls fail()), an exit handler deletes the temp
// file, so a failed run leaves neither a half-written file nor a stray temp.
#pragma once
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct RecordsWriter RecordsWriter;

// The suffix picks the format: .jsonl/.json or .jsonl.zst/.json.zst; anything else fails.
RecordsWriter *records_writer_open(const char *path);
// Writes obj as one line (JSON_COMPACT, insertion order kept).
void records_writer_write(RecordsWriter *w, const json_t *obj);
// Writes a line that already holds one JSON object (no newline inside); '\n' is added.
void records_writer_write_line(RecordsWriter *w, const char *line, size_t len);
// Finishes the stream and commits the file atomically; frees w.
void records_writer_close(RecordsWriter *w);
// Deletes the temp file without committing; frees w.
void records_writer_abort(RecordsWriter *w);
// Records written so far, and bytes written to the file so far (compressed for .zst).
int64_t records_writer_count(const RecordsWriter *w);
int64_t records_writer_bytes(const RecordsWriter *w);
