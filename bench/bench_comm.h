// bench_comm.h: strap bench comm: the bandwidth of strap's own collectives (dist/comm.h) on
// the buffers training uses: MPI on CPU ranks, NCCL on GPUs. Run under mpirun, one rank per
// GPU; buffer sizes double from min_bytes to max_bytes.
//
// For each size: one checked call (every rank's buffer holds rank + 1; the result must be
// the sum 1 + ... + world), `warmup` untimed calls, then `iters` timed calls between two
// barriers; the time per call is the slowest rank's. As in nccl-tests:
//   algbw = bytes / time, where bytes is the whole buffer (world x chunk for reduce-scatter
//           and all-gather);
//   busbw = algbw x 2 (world - 1) / world for all-reduce, x (world - 1) / world for
//           reduce-scatter and all-gather: the rate each link carries, comparable across
//           world sizes and with the link's own speed.
// Rank 0 prints a table and one JSON line per size.
#pragma once
#include <stdint.h>

#include "../base/flags.h"

typedef struct {
    const char *op;     // the collective: all_reduce, reduce_scatter or all_gather
    int64_t min_bytes;  // the smallest buffer (at least 4)
    int64_t max_bytes;  // the largest buffer (sizes double in between)
    int iters;          // timed calls per size
    int warmup;         // untimed calls per size first
    int threads;        // CPU threads (0: the rank's share of the cores)
    const char *device; // auto, cpu or cuda (one GPU per rank)
    int json;           // print only the JSON lines
} BenchCommOptions;

typedef enum { BENCH_ALL_REDUCE, BENCH_REDUCE_SCATTER, BENCH_ALL_GATHER } BenchCommOp;
// "all_reduce" -> BENCH_ALL_REDUCE, ...; -1 for another name.
int bench_comm_op(const char *name);

void bench_comm_options_default(BenchCommOptions *o);
extern const Flag BENCH_COMM_FLAGS[]; // bench/bench_flags.c
int bench_comm_run(const BenchCommOptions *o);
