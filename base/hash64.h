// hash64.h: small, fast, non-cryptographic hashes: a mixer (a bijection on 64-bit words),
// a byte-string hash for deduplication, and FNV-1a (hash tables, the shard format's
// checksums). Both are defined on byte values, not
// on the machine's byte order, so every machine computes the same hashes (and therefore
// the same dedup decisions).
#pragma once
#include <stddef.h>
#include <stdint.h>

// The splitmix64 / murmur3 finaliser: every input bit affects every output bit.
static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

// Hash of n bytes; different seeds give independent-looking hash functions.
static inline uint64_t hash64(const void *data, size_t n, uint64_t seed) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t h = mix64(seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ULL));
    while (n >= 8) {
        uint64_t w = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
                     (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
        h = mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) w |= (uint64_t)p[i] << (8 * i);
    return mix64(h ^ w ^ 0x5851f42d4c957f2dULL);
}

// Hash of a sequence of 64-bit values (word ids -> n-gram ids).
static inline uint64_t hash64_words(const uint64_t *w, size_t n, uint64_t seed) {
    uint64_t h = mix64(seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ULL));
    for (size_t i = 0; i < n; i++) h = mix64(h ^ w[i]) + 0x9e3779b97f4a7c15ULL;
    return mix64(h);
}

// FNV-1a over bytes, 64 and 32 bits (the .tok.zst index and header checksums).
#define FNV64_OFFSET 14695981039346656037ull
#define FNV64_PRIME  1099511628211ull
static inline uint64_t fnv1a64(const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t h = FNV64_OFFSET;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * FNV64_PRIME;
    return h;
}
static inline uint32_t fnv1a32(const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

// A 64-bit finaliser for integer keys of hash tables (murmur3's first half).
static inline uint64_t hash_u64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}
