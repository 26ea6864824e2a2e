// cmd_bench_comm.c: strap bench comm: the bandwidth of strap's own collectives (dist/comm.h)
// on the buffers training uses: MPI on CPU ranks, NCCL on GPUs. Run under mpirun, one rank
// per GPU; sizes double from --min-bytes to --max-bytes.
//
// For each size: one checked call (every rank's buffer holds rank + 1; the result must be
// the sum 1 + ... + world), --warmup untimed calls, then --iters timed calls between two
// barriers; the time per call is the slowest rank's. As in nccl-tests:
//   algbw = bytes / time, where bytes is the whole buffer (world x chunk for reduce-scatter
//           and all-gather);
//   busbw = algbw x 2 (world - 1) / world for all-reduce, x (world - 1) / world for
//           reduce-scatter and all-gather: the rate each link carries, comparable across
//           world sizes and with the link's own speed.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/progress.h"
#include "../dist/comm.h"
#include "../dist/dist.h"
#include "args.h"
#include "cmd_bench_comm.h"

typedef enum { OP_ALL_REDUCE, OP_REDUCE_SCATTER, OP_ALL_GATHER } CommBenchOp;

static const char *op_name(CommBenchOp op) {
    return op == OP_ALL_REDUCE ? "all_reduce" : op == OP_REDUCE_SCATTER ? "reduce_scatter" : "all_gather";
}

// One call on `buf` (total elements f32: the whole buffer; chunk = total / world).
static void run_op(Comm *c, CommBenchOp op, void *buf, size_t total) {
    size_t chunk = total / (size_t)c->world;
    if (op == OP_ALL_REDUCE)
        c->all_reduce(buf, total, COMM_F32, COMM_SUM, "bench comm");
    else if (op == OP_REDUCE_SCATTER)
        c->reduce_scatter(buf, chunk, COMM_F32, COMM_SUM, "bench comm");
    else
        c->all_gather(buf, chunk, COMM_F32, "bench comm");
}

// The checked call: fills the buffer, runs the op once, compares the parts this rank must hold.
static int check_op(Comm *c, Backend *b, CommBenchOp op, void *buf, float *host, size_t total) {
    int world = c->world, rank = c->rank;
    size_t chunk = total / (size_t)world;
    for (size_t i = 0; i < total; i++) { // all-gather: only this rank's chunk is its own (rank + 1)
        int own = i / chunk == (size_t)rank;
        host[i] = op != OP_ALL_GATHER ? (float)(rank + 1) : own ? (float)(rank + 1) : 0.0f;
    }
    b->upload(buf, host, total * sizeof(float));
    run_op(c, op, buf, total);
    c->synchronize();
    b->synchronize();
    b->download(host, buf, total * sizeof(float));
    float sum = (float)world * (float)(world + 1) / 2;
    size_t lo = op == OP_REDUCE_SCATTER ? (size_t)rank * chunk : 0, hi = op == OP_REDUCE_SCATTER ? lo + chunk : total;
    for (size_t i = lo; i < hi; i++) {
        float want = op == OP_ALL_GATHER ? (float)(i / chunk + 1) : sum;
        if (host[i] != want) {
            fprintf(stderr, "strap bench comm: rank %d: %s of %zu floats: element %zu is %g, want %g\n", rank,
                    op_name(op), total, i, host[i], want);
            return 0;
        }
    }
    return 1;
}

int bench_comm(int argc, char **argv) {
    const char *device = "auto", *op_arg = "all_reduce";
    int64_t min_bytes = 8, max_bytes = (int64_t)64 << 20;
    int iters = 20, warmup = 5, threads = 0, json = 0;
    Flag flags[] = {
        {"--op", FLAG_STRING, &op_arg, "OP", "all_reduce, reduce_scatter or all_gather", NULL},
        {"--min-bytes", FLAG_INT64, &min_bytes, "B", "smallest buffer", NULL},
        {"--max-bytes", FLAG_INT64, &max_bytes, "B", "largest buffer (sizes double in between)", NULL},
        {"--iters", FLAG_INT, &iters, "N", "timed calls per size", NULL},
        {"--warmup", FLAG_INT, &warmup, "N", "untimed calls per size first", NULL},
        {"--threads", FLAG_INT, &threads, "N", "CPU threads (0: the rank's share of the cores)", NULL},
        {"--device", FLAG_STRING, &device, "D", "auto, cpu or cuda (one GPU per rank)", NULL},
        {"--json", FLAG_BOOL, &json, NULL, "print only one JSON object per size", NULL},
        {0},
    };
    Command cmd = {"mpirun -np N strap bench comm [--op all_reduce|reduce_scatter|all_gather] [--max-bytes B]",
                   "Bandwidth of strap's collectives (MPI on CPU ranks, NCCL on GPUs) as nccl-tests reports it: "
                   "time per call (the slowest rank's), algorithm and bus bandwidth, for buffer sizes doubling "
                   "from --min-bytes to --max-bytes. Every size is first checked for the right sums.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    CommBenchOp op = strcmp(op_arg, "all_reduce") == 0       ? OP_ALL_REDUCE
                     : strcmp(op_arg, "reduce_scatter") == 0 ? OP_REDUCE_SCATTER
                     : strcmp(op_arg, "all_gather") == 0     ? OP_ALL_GATHER
                                                             : (CommBenchOp)-1;
    if ((int)op < 0) args_error(&cmd, "--op must be all_reduce, reduce_scatter or all_gather (got '%s')", op_arg);
    if (min_bytes < 4 || max_bytes < min_bytes || iters < 1 || warmup < 0)
        args_error(&cmd, "give 4 <= --min-bytes <= --max-bytes, --iters >= 1 and --warmup >= 0");
    if (comm_world() < 2)
        fail("strap bench comm measures collectives between ranks: start it with mpirun -np N (N >= 2) or srun");
    Backend *b = dist_backend_select(device, threads);
    Comm *c = comm_for_backend(b), *host = comm_host();
    int world = comm_world(), lead = comm_rank() == 0;
    size_t max_total = (size_t)max_bytes / sizeof(float);
    max_total -= max_total % (size_t)world;
    if (max_total == 0) max_total = (size_t)world;
    void *buf = b->alloc(max_total * sizeof(float));
    float *hostbuf = xmalloc(max_total * sizeof(float));
    double factor = op == OP_ALL_REDUCE ? 2.0 * (world - 1) / world : (double)(world - 1) / world;
    if (!json && lead)
        printf("%s on %d ranks (%s, %s), f32\n%12s %12s %12s %12s\n", op_name(op), world, c->name, b->name, "bytes",
               "time us", "algbw GB/s", "busbw GB/s");
    for (int64_t bytes = min_bytes; bytes <= max_bytes; bytes *= 2) {
        size_t total = (size_t)bytes / sizeof(float);
        total -= total % (size_t)world; // reduce-scatter and all-gather: a whole chunk per rank
        if (total == 0) continue;
        int ok = check_op(c, b, op, buf, hostbuf, total);
        if (dist_any(!ok)) fail("%s of %zu bytes gave wrong sums (see above)", op_name(op), total * sizeof(float));
        for (int i = 0; i < warmup; i++) run_op(c, op, buf, total);
        c->synchronize();
        host->barrier();
        double t0 = now_seconds();
        for (int i = 0; i < iters; i++) run_op(c, op, buf, total);
        c->synchronize();
        b->synchronize();
        double t = (now_seconds() - t0) / iters;
        host->all_reduce(&t, 1, COMM_F64, COMM_MAX, "bench comm timings");
        double size = (double)total * sizeof(float), algbw = size / t / 1e9, busbw = algbw * factor;
        if (!lead) continue;
        if (!json) printf("%12.0f %12.1f %12.3f %12.3f\n", size, t * 1e6, algbw, busbw);
        printf("{\"bench\": \"comm\", \"op\": \"%s\", \"world\": %d, \"via\": \"%s\", \"device\": \"%s\", "
               "\"bytes\": %.0f, \"time_us\": %.3f, \"algbw_gbs\": %.4f, \"busbw_gbs\": %.4f}\n",
               op_name(op), world, c->name, b->name, size, t * 1e6, algbw, busbw);
        fflush(stdout);
    }
    b->free(buf);
    free(hostbuf);
    return 0;
}
