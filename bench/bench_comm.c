// bench_comm.c: see bench_comm.h.
#include "bench_comm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/progress.h"
#include "../dist/comm.h"
#include "../dist/dist.h"

static const char *op_name(BenchCommOp op) {
    return op == BENCH_ALL_REDUCE ? "all_reduce" : op == BENCH_REDUCE_SCATTER ? "reduce_scatter" : "all_gather";
}

// One call on `buf` (total elements f32: the whole buffer; chunk = total / world).
static void run_op(Comm *c, BenchCommOp op, void *buf, size_t total) {
    size_t chunk = total / (size_t)c->world;
    if (op == BENCH_ALL_REDUCE)
        c->all_reduce(buf, total, COMM_F32, COMM_SUM, "bench comm");
    else if (op == BENCH_REDUCE_SCATTER)
        c->reduce_scatter(buf, chunk, COMM_F32, COMM_SUM, "bench comm");
    else
        c->all_gather(buf, chunk, COMM_F32, "bench comm");
}

// The checked call: fills the buffer, runs the op once, compares the parts this rank must hold.
static int check_op(Comm *c, Backend *b, BenchCommOp op, void *buf, float *host, size_t total) {
    int world = c->world, rank = c->rank;
    size_t chunk = total / (size_t)world;
    for (size_t i = 0; i < total; i++) { // all-gather: only this rank's chunk is its own (rank + 1)
        int own = i / chunk == (size_t)rank;
        host[i] = op != BENCH_ALL_GATHER ? (float)(rank + 1) : own ? (float)(rank + 1) : 0.0f;
    }
    b->upload(buf, host, total * sizeof(float));
    run_op(c, op, buf, total);
    c->synchronize();
    b->synchronize();
    b->download(host, buf, total * sizeof(float));
    float sum = (float)world * (float)(world + 1) / 2;
    size_t lo = op == BENCH_REDUCE_SCATTER ? (size_t)rank * chunk : 0,
           hi = op == BENCH_REDUCE_SCATTER ? lo + chunk : total;
    for (size_t i = lo; i < hi; i++) {
        float want = op == BENCH_ALL_GATHER ? (float)(i / chunk + 1) : sum;
        if (host[i] != want) {
            fprintf(stderr, "strap bench comm: rank %d: %s of %zu floats: element %zu is %g, want %g\n", rank,
                    op_name(op), total, i, host[i], want);
            return 0;
        }
    }
    return 1;
}

int bench_comm_op(const char *name) {
    if (strcmp(name, "all_reduce") == 0) return BENCH_ALL_REDUCE;
    if (strcmp(name, "reduce_scatter") == 0) return BENCH_REDUCE_SCATTER;
    if (strcmp(name, "all_gather") == 0) return BENCH_ALL_GATHER;
    return -1;
}

void bench_comm_options_default(BenchCommOptions *o) {
    memset(o, 0, sizeof *o);
    o->op = "all_reduce";
    o->min_bytes = 8;
    o->max_bytes = (int64_t)64 << 20;
    o->iters = 20;
    o->warmup = 5;
    o->device = "auto";
}

// One size: checked, then timed; rank 0 prints its row.
static void bench_size(const BenchCommOptions *o, BenchCommOp op, Comm *c, Backend *b, void *buf, float *hostbuf,
                       size_t total) {
    Comm *host = comm_host();
    int world = comm_world(), lead = comm_rank() == 0;
    double factor = op == BENCH_ALL_REDUCE ? 2.0 * (world - 1) / world : (double)(world - 1) / world;
    int ok = check_op(c, b, op, buf, hostbuf, total);
    if (dist_any(!ok)) fail("%s of %zu bytes gave wrong sums (see above)", op_name(op), total * sizeof(float));
    for (int i = 0; i < o->warmup; i++) run_op(c, op, buf, total);
    c->synchronize();
    host->barrier();
    double t0 = now_seconds();
    for (int i = 0; i < o->iters; i++) run_op(c, op, buf, total);
    c->synchronize();
    b->synchronize();
    double t = (now_seconds() - t0) / o->iters;
    host->all_reduce(&t, 1, COMM_F64, COMM_MAX, "bench comm timings");
    double size = (double)total * sizeof(float), algbw = size / t / 1e9, busbw = algbw * factor;
    if (!lead) return;
    if (!o->json) printf("%12.0f %12.1f %12.3f %12.3f\n", size, t * 1e6, algbw, busbw);
    printf("{\"bench\": \"comm\", \"op\": \"%s\", \"world\": %d, \"via\": \"%s\", \"device\": \"%s\", "
           "\"bytes\": %.0f, \"time_us\": %.3f, \"algbw_gbs\": %.4f, \"busbw_gbs\": %.4f}\n",
           op_name(op), world, c->name, b->name, size, t * 1e6, algbw, busbw);
    fflush(stdout);
}

int bench_comm_run(const BenchCommOptions *o) {
    int op_ = bench_comm_op(o->op);
    if (op_ < 0) fail("the collective '%s' is unknown (all_reduce, reduce_scatter or all_gather)", o->op);
    BenchCommOp op = (BenchCommOp)op_;
    if (o->min_bytes < 4 || o->max_bytes < o->min_bytes)
        fail("buffer sizes from %lld to %lld bytes: give 4 <= smallest <= largest", (long long)o->min_bytes,
             (long long)o->max_bytes);
    if (comm_world() < 2)
        fail("strap bench comm measures collectives between ranks: start it with mpirun -np N (N >= 2) or srun");
    Backend *b = dist_backend_select(o->device, o->threads);
    Comm *c = comm_for_backend(b);
    int world = comm_world(), lead = comm_rank() == 0;
    size_t max_total = (size_t)o->max_bytes / sizeof(float);
    max_total -= max_total % (size_t)world;
    if (max_total == 0) max_total = (size_t)world;
    void *buf = b->alloc(max_total * sizeof(float));
    float *hostbuf = xmalloc(max_total * sizeof(float));
    if (!o->json && lead)
        printf("%s on %d ranks (%s, %s), f32\n%12s %12s %12s %12s\n", op_name(op), world, c->name, b->name, "bytes",
               "time us", "algbw GB/s", "busbw GB/s");
    for (int64_t bytes = o->min_bytes; bytes <= o->max_bytes; bytes *= 2) {
        size_t total = (size_t)bytes / sizeof(float);
        total -= total % (size_t)world; // reduce-scatter and all-gather: a whole chunk per rank
        if (total == 0) continue;
        bench_size(o, op, c, b, buf, hostbuf, total);
    }
    b->free(buf);
    free(hostbuf);
    return 0;
}
