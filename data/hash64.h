// hash64.h: small, fast, non-cryptographic 64-bit hashes for deduplication: a mixer (a
// bijection on 64-bit words) and a byte-string hash. Both are defined on byte values, not
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
