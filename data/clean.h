// clean.h: the cleaning pipeline over a record file (strap data clean).
//
//   input (.jsonl / .jsonl.zst)
//     -> per record: normalise + repair + filters on the text field (data/clean_text.h)
//     -> exact dedup: 64-bit hash of the cleaned text, the first record kept
//     -> near-dedup: MinHash + LSH + union-find (data/minhash.h), the first record of
//        every cluster kept
//     -> output: kept records with the text field replaced by its cleaned text and every
//        other field byte for byte as it was; optionally every removed record (as it was
//        read) with "drop_reason" and, for duplicates, "duplicate_of": the 0-based index
//        (among the input's records; blank lines do not count) of the kept record it
//        duplicates
//     -> report (JSON): counts per reason, repairs, LSH parameters, cluster sizes, examples.
//
// Two passes over the input: the first decides the fate of every record (a later record can
// join two clusters, so near-dedup needs the whole corpus before anything is written), the
// second re-cleans the kept records and writes. Memory: about perm*8 bytes per record that
// reaches near-dedup (1 KiB at 128 permutations) plus 24 bytes per record.
//
// All input errors (bad JSON, a missing text field) are found in the first pass, before
// any output file is opened; outputs are written atomically (base/io.h), so a failed run
// leaves nothing behind. The result is deterministic: the same input and options give the
// same output bytes for any thread count.
#pragma once
#include <jansson.h>
#include <stdint.h>

#include "../base/flags.h"
#include "clean_text.h"

typedef struct {
    const char *input;   // .jsonl or .jsonl.zst
    const char *output;  // .jsonl or .jsonl.zst
    const char *field;   // the text field ("text")
    const char *report;  // report JSON path, or NULL
    const char *dropped; // removed records (.jsonl or .jsonl.zst), or NULL
    TextFilter filter;
    int exact_dedup; // 1: drop records whose cleaned text equals an earlier one's
    int near_dedup;  // 1: drop near-duplicates
    int perm;        // MinHash permutations (1..256), default 128
    float threshold; // Jaccard similarity of near-duplicates, default 0.8
    int progress;    // 1: progress on stderr
    int threads;     // clean_run: CPU threads (0: all cores); the output does not depend on it
} CleanOptions;

void clean_options_defaults(CleanOptions *o);
extern const Flag CLEAN_FLAGS[]; // strap data clean (data/data_flags.c)

typedef struct {
    int64_t records_in, records_out;
    int64_t removed[CLEAN_N_REASONS]; // per reason; removed[CLEAN_KEEP] stays 0
    int64_t removed_total;
    // among the records written: how many normalisation or repair changed
    int64_t normalised, markers_stripped, fences_closed, cut_offs_trimmed;
    int64_t text_bytes_in, text_bytes_out; // the text field, all records in / records out
    int bands, rows;                       // LSH parameters used
    int64_t candidate_pairs, confirmed_pairs;
    int64_t clusters, clustered_records, largest_cluster; // near-duplicate clusters (size >= 2)
    double seconds;
    json_t *report; // the whole report (owned; what --report holds)
} CleanStats;

// Runs the pipeline; errors exit with a message naming the file and line.
void clean_corpus(const CleanOptions *o, CleanStats *st);
void clean_stats_free(CleanStats *st);
// strap data clean: sets the threads, cleans, prints the summary; returns the exit status.
int clean_run(const CleanOptions *o);
