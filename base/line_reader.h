// line_reader.h: the lines of a plain or zstd-compressed file, read in chunks: decoded
// bytes accumulate in a growing buffer and each line is cut out of it in place.
//
//   LineReader *r = line_reader_open(path, is_zst);
//   char *line; size_t len;
//   while (line_reader_next(r, &line, &len)) ...   // line NUL-terminated, without '\n'
//   line_reader_close(r);
//
// Read errors, a truncated zstd stream and corrupt zstd data stop the run with a message
// naming the file and the line.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct LineReader LineReader;

LineReader *line_reader_open(const char *path, int zst);
// The next line (valid until the next call); 0 at the end. A last line without '\n' counts.
int line_reader_next(LineReader *r, char **line, size_t *len);
// Everything not read yet, as one block (valid until the next call; NUL-terminated);
// NULL at the end. Counts as one line.
char *line_reader_rest(LineReader *r, size_t *len);
long line_reader_line(const LineReader *r);          // lines returned so far
int64_t line_reader_bytes_read(const LineReader *r); // bytes of the file read so far
int64_t line_reader_file_size(const LineReader *r);  // 0 when unknown
void line_reader_close(LineReader *r);
