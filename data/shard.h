// shard.h: token shards (.tok.zst). Little-endian throughout.
//
//   header (64 bytes):
//     0  magic "STRAPTOK"            8 bytes
//     8  version (1)                 u32
//    12  token_bytes (2 or 4)        u32   2 when vocab_size <= 65536
//    16  vocab_size                  u32
//    20  frame_tokens                u32   tokens per frame (the last may hold fewer)
//    24  n_tokens                    u64
//    32  n_docs                      u64
//    40  n_frames                    u64
//    48  index_offset                u64   file offset of the frame index
//    56  header checksum             u32   FNV-1a 32 of bytes 0..55
//    60  reserved (0)                u32
//   frames: independent zstd frames (content checksums on) of token_bytes-wide ids
//     frame k starts where frame k-1 ends (frame 0 at byte 64); every frame but the last
//     holds frame_tokens tokens, so token i lives in frame i / frame_tokens
//   index at index_offset: n_frames x {u64 offset, u32 compressed bytes, u32 tokens},
//     then u64 FNV-1a 64 of those bytes; the index ends the file.
//
// Readers can seek to any frame and split a shard by rank. Any corruption (wrong magic,
// checksums, truncation, frames outside the file, zstd errors, ids outside the vocabulary)
// is a fail() naming the file (and the frame); no input makes the reader crash.
#pragma once
#include <stdint.h>
#include <stdio.h>

#define SHARD_MAGIC            "STRAPTOK"
#define SHARD_VERSION          1
#define SHARD_HEADER_BYTES     64
#define SHARD_MAX_FRAME_TOKENS (1 << 24) // writers and readers refuse larger frames

typedef struct ShardWriter ShardWriter;

// Tokens must lie in [0, vocab_size). Nothing appears under `path` until close succeeds;
// if the process exits before close (a fail() anywhere), the temp file is deleted.
ShardWriter *shard_writer_open(const char *path, int vocab_size, int frame_tokens, int zstd_level);
void shard_writer_add(ShardWriter *w, const int32_t *tokens, size_t n);
void shard_writer_end_doc(ShardWriter *w); // counts one document
uint64_t shard_writer_tokens(const ShardWriter *w);
// Writes the index and header and renames the file into place; returns compressed bytes.
uint64_t shard_writer_close(ShardWriter *w);

typedef struct {
    uint64_t offset;
    uint32_t bytes;
    uint32_t tokens;
    uint64_t first_token; // index of the frame's first token in the shard
} ShardFrame;

typedef struct {
    char *path;
    FILE *f;
    uint64_t file_size;
    int token_bytes, vocab_size, frame_tokens;
    uint64_t n_tokens, n_docs, n_frames;
    ShardFrame *frames;
    uint64_t index_offset;
    // cache of the last decoded frame; buffers are allocated on the first read
    int64_t cached_frame;
    int32_t *cache;
    void *compressed;
    size_t compressed_cap;
    void *dctx; // ZSTD_DCtx
} Shard;

// Opens and validates header and index; fails naming the file on any problem.
Shard *shard_open(const char *path);
void shard_close(Shard *s);
// Decodes frame k into out[frames[k].tokens] (k < n_frames).
void shard_read_frame(Shard *s, uint64_t k, int32_t *out);
// Reads tokens [start, start + count) into out (start + count <= n_tokens), caching the
// last decoded frame.
void shard_read(Shard *s, uint64_t start, uint64_t count, int32_t *out);
