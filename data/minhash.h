// minhash.h: near-duplicate detection: MinHash signatures over word 5-gram shingles and
// a banded LSH index whose candidate pairs are confirmed by signature similarity and
// merged into clusters (union-find).
//
//   shingles   lowercased word 5-grams, each hashed to 64 bits (text_shingles); a text of
//              fewer than 5 words is one shingle made of all its words
//   signature  sig[i] = min over shingles x of mix64(x ^ seed_i), i < perm: the share of
//              equal entries of two signatures estimates the Jaccard similarity of their
//              shingle sets (standard error sqrt(J(1-J)/perm))
//   LSH        the signature is cut into `bands` bands of `rows` values (bands*rows = perm);
//              two texts become a candidate pair when some band is equal, which happens
//              with probability 1-(1-J^rows)^bands (the S-curve). lsh_params picks the
//              (bands, rows) minimising the false-positive area below the threshold plus
//              the false-negative area above it (as datasketch does, with equal weights).
//   clusters   a candidate pair whose signature similarity is >= threshold is merged;
//              every cluster is represented by its smallest item, the one to keep.
//
// Everything is deterministic: fixed seeds, items added in order.
#pragma once
#include <stddef.h>
#include <stdint.h>

#define MINHASH_SHINGLE_WORDS 5
#define MINHASH_MAX_PERM      256

// Shingle hashes of a text (duplicates possible); returns the count (0 for a text with
// no words), *shingles malloc'd.
size_t text_shingles(const char *text, size_t len, uint64_t **shingles);
// The same from a text's word ids (text_word_ids), in place: ids[0, returned count) become
// the shingle hashes.
size_t shingles_from_words(uint64_t *ids, size_t n);

typedef struct {
    int perm;        // number of hash functions, 1..MINHASH_MAX_PERM
    uint64_t *seeds; // [perm]
} MinHash;

void minhash_init(MinHash *m, int perm, uint64_t seed);
void minhash_free(MinHash *m);
// sig[perm]; with n == 0 every entry is UINT64_MAX.
void minhash_signature(const MinHash *m, const uint64_t *shingles, size_t n, uint64_t *sig);
// Share of equal entries: the Jaccard estimate.
double minhash_similarity(const uint64_t *a, const uint64_t *b, int perm);

// Probability that a pair of Jaccard similarity s becomes a candidate: 1-(1-s^rows)^bands.
double lsh_probability(double s, int bands, int rows);
// The (bands, rows) with bands*rows == perm that best separates pairs above `threshold`
// from pairs below it (see above).
void lsh_params(double threshold, int perm, int *bands, int *rows);

typedef struct NearDupIndex NearDupIndex;

NearDupIndex *near_dup_create(int perm, int bands, int rows, double threshold);
// Adds an item (its signature is copied) and merges it with every earlier item that shares
// a band and whose signature similarity is >= threshold. Returns the item's number
// (0, 1, 2, ... in the order of adding).
int64_t near_dup_add(NearDupIndex *x, const uint64_t *sig);
// The smallest item of the cluster holding `item` (the item itself if it has no duplicate).
int64_t near_dup_root(NearDupIndex *x, int64_t item);
int64_t near_dup_items(const NearDupIndex *x);
// Candidate pairs compared, and pairs confirmed (merged).
int64_t near_dup_candidates(const NearDupIndex *x);
int64_t near_dup_confirmed(const NearDupIndex *x);
void near_dup_free(NearDupIndex *x);
