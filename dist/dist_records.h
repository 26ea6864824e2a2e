// dist_records.h: a record-by-record job (strap gen --prompts, strap judge, strap eval
// winrate) split over the ranks of an mpirun, whose output file is byte for byte the one a
// single process writes.
//
// Every rank reads the whole input and numbers its records 0, 1, 2, ... in file order; record
// i is the work of rank i % world (round robin: neighbouring prompts cost alike, so the ranks
// finish together). A rank puts the output records of its own inputs, in input order, one or
// more per input (gen -n K puts K), which wait in memory. dist_records_close gathers them on
// rank 0 (host collectives; no part files), which writes them in input order, i.e. taking
// each rank's next group in turn, to a temp name and renames it into place. A rank that
// fails during the work takes the job down (comm.h) before anything is written: no output,
// no temp. With one rank (no mpirun) records go straight to the file as they come.
//
// Results do not depend on the number of ranks as long as everything random is seeded per
// record (e.g. seed * 1000003 + global job index) and not per rank. CPU ranks sum in the
// same order as one process with the same --threads.
//
// Use (eval winrate, per prompt p with answers and verdicts):
//   DistRecords out;
//   dist_records_open(&out, path);
//   for (i = 0; i < n_inputs; i++) {
//       if (!dist_records_mine(i)) continue;
//       ... compute ...
//       dist_records_put(&out, rec);   // any number per input; none is fine too
//       dist_records_end_input(&out);  // once per own input, after its records
//   }
//   dist_records_close(&out);          // collective: every rank calls it
// Totals that every rank needs (win counts) are summed separately with dist_sum (dist.h).
#pragma once
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../data/records_writer.h"
#include "comm.h"

typedef struct {
    int rank, world;
    Comm *host;          // NULL with one rank
    RecordsWriter *file; // the output: one rank from open, rank 0 of several in close
    char *path;
    // world > 1: this rank's output, one JSON line per record, each ending in '\n'
    char *buf;
    size_t len, cap;
    // group k (the records of this rank's k-th input) ends at record group_end[k]
    int64_t *group_end;
    int64_t n_groups, groups_cap, n_records;
} DistRecords;

// 1 if input record `index` (0-based, in file order) is this rank's work.
int dist_records_mine(int64_t index);
// How many of `n` inputs are this rank's.
int64_t dist_records_share(int64_t n);

// `path`: .jsonl or .jsonl.zst (records_writer_open). With several ranks rank 0 checks now
// that it can be written, and writes it at close.
void dist_records_open(DistRecords *d, const char *path);
// One output record of the current input (serialised as records_writer_write does).
void dist_records_put(DistRecords *d, const json_t *rec);
// The current input has all its records.
void dist_records_end_input(DistRecords *d);
// Collective: merges every rank's groups in input order into the file on rank 0 and commits
// it. Returns the number of records written (every rank gets it).
int64_t dist_records_close(DistRecords *d);
