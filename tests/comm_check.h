// comm_check.h: every collective of a Comm (dist/comm.h) checked against results computed
// here, on the buffers of a Backend: host memory with MPI (tests/test_comm.c, under mpirun),
// GPU memory with NCCL (tests/gpu/test_comm_nccl.c). Every rank calls comm_check_all with
// the same arguments.
//
// Rank r's inputs are small integers made from (r, i), exact in f32, bf16, f64 and i32, and
// so are their sums over a few ranks: every SUM and MAX result must match bit for bit, an
// AVG result to within a few roundings.
//
// A check fails on every rank when it fails on one (the failure flags are combined on the
// `agree` Comm, host buffers), so all ranks count the same and rank 0's summary line speaks
// for the job.
#pragma once
#include <stdint.h>
#include <string.h>

#include "../dist/comm.h"
#include "../kernels/backend.h"
#include "test.h"

static const char *comm_type_name(CommType t) {
    return t == COMM_F32 ? "f32" : t == COMM_BF16 ? "bf16" : t == COMM_F64 ? "f64" : "i32";
}

// ---- host values of every CommType ----

static double cc_get(const void *buf, CommType t, size_t i) {
    switch (t) {
    case COMM_F32: return ((const float *)buf)[i];
    case COMM_F64: return ((const double *)buf)[i];
    case COMM_I32: return ((const int32_t *)buf)[i];
    case COMM_BF16: {
        uint32_t bits = (uint32_t)((const uint16_t *)buf)[i] << 16;
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    }
    return NAN;
}

// v must be exact in the type (small integers): bf16 keeps the top 16 bits of the f32.
static void cc_set(void *buf, CommType t, size_t i, double v) {
    switch (t) {
    case COMM_F32: ((float *)buf)[i] = (float)v; break;
    case COMM_F64: ((double *)buf)[i] = v; break;
    case COMM_I32: ((int32_t *)buf)[i] = (int32_t)v; break;
    case COMM_BF16: {
        float f = (float)v;
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        ((uint16_t *)buf)[i] = (uint16_t)(bits >> 16);
        break;
    }
    }
}

// Rank r's input at i: 1..64 (bf16 sums of up to 4 ranks stay exact: <= 256).
static double cc_input(int r, size_t i) { return (double)((i * 7 + (size_t)r * 13) % 64 + 1); }

typedef struct {
    Comm *c;     // the collectives under test
    Comm *agree; // host collectives combining the failure flags (NULL with one rank)
    Backend *b;  // whose buffers c works on
} CommCheck;

// Allocates n elements on the backend filled with rank r's inputs (fill(r, i) when given).
static void *cc_upload(const CommCheck *k, CommType t, size_t n, double (*fill)(int, size_t)) {
    size_t es = comm_type_size(t);
    char *host = malloc(n * es);
    for (size_t i = 0; i < n; i++) cc_set(host, t, i, fill ? fill(k->c->rank, i) : cc_input(k->c->rank, i));
    void *dev = k->b->alloc(n * es);
    k->b->upload(dev, host, n * es);
    free(host);
    return dev;
}

// The backend buffer's n elements on the host (after everything enqueued has finished).
static char *cc_download(const CommCheck *k, const void *dev, CommType t, size_t n) {
    k->c->synchronize();
    k->b->synchronize();
    char *host = malloc(n * comm_type_size(t));
    k->b->download(host, dev, n * comm_type_size(t));
    return host;
}

static double cc_reduce(CommOp op, int world, size_t i) {
    double s = 0, mx = -INFINITY;
    for (int r = 0; r < world; r++) s += cc_input(r, i), mx = fmax(mx, cc_input(r, i));
    return op == COMM_SUM ? s : op == COMM_MAX ? mx : s / world;
}

// got[i] against the reduction of every rank's input i, for i in [lo, hi): exact, or (AVG)
// within a few roundings (NCCL may scale each input by 1/world before summing)
static int cc_expect_range(const char *what, const char *got, CommType t, size_t lo, size_t hi, CommOp op, int world) {
    double tol = op != COMM_AVG ? 0 : t == COMM_BF16 ? 3.0 / 256 : t == COMM_F32 ? 4.0 / (1 << 23) : 1e-14;
    for (size_t i = lo; i < hi; i++) {
        double want = cc_reduce(op, world, i), v = cc_get(got, t, i);
        if (!(fabs(v - want) <= tol * fabs(want))) {
            EXPECT(0, "%s (%s): element %zu is %.9g, want %.9g", what, comm_type_name(t), i, v, want);
            return 0;
        }
    }
    return 1;
}

// ---- the checks ----

static void cc_all_reduce(const CommCheck *k, CommType t, CommOp op, size_t n) {
    void *buf = cc_upload(k, t, n, NULL);
    k->c->all_reduce(buf, n, t, op, "comm_check all_reduce");
    char *got = cc_download(k, buf, t, n);
    cc_expect_range(op == COMM_SUM   ? "all_reduce SUM"
                    : op == COMM_MAX ? "all_reduce MAX"
                                     : "all_reduce AVG",
                    got, t, 0, n, op, k->c->world);
    free(got);
    k->b->free(buf);
}

// rank r ends with the reduced chunk r in place: buf[r n, (r + 1) n)
static void cc_reduce_scatter(const CommCheck *k, CommType t, CommOp op, size_t n) {
    int r = k->c->rank, world = k->c->world;
    void *buf = cc_upload(k, t, (size_t)world * n, NULL);
    k->c->reduce_scatter(buf, n, t, op, "comm_check reduce_scatter");
    char *got = cc_download(k, buf, t, (size_t)world * n);
    cc_expect_range("reduce_scatter", got, t, (size_t)r * n, (size_t)(r + 1) * n, op, world);
    free(got);
    k->b->free(buf);
}

static double cc_owner_fill(int r, size_t i) { return (double)(r * 5 + (int)(i % 11) + 1); }

// chunk r comes from rank r; chunks of other ranks start as garbage (-1) on each rank
static void cc_all_gather(const CommCheck *k, CommType t, size_t n) {
    int r = k->c->rank, world = k->c->world;
    size_t es = comm_type_size(t), total = (size_t)world * n;
    char *host = malloc(total * es);
    for (size_t i = 0; i < total; i++) cc_set(host, t, i, i / n == (size_t)r ? cc_owner_fill(r, i % n) : -1);
    void *buf = k->b->alloc(total * es);
    k->b->upload(buf, host, total * es);
    k->c->all_gather(buf, n, t, "comm_check all_gather");
    char *got = cc_download(k, buf, t, total);
    for (size_t i = 0; i < total; i++) {
        double want = cc_owner_fill((int)(i / n), i % n), v = cc_get(got, t, i);
        if (v != want) {
            EXPECT(0, "all_gather (%s): element %zu (chunk %zu) is %g, want %g", comm_type_name(t), i, i / n, v, want);
            break;
        }
    }
    free(host), free(got);
    k->b->free(buf);
}

// bytes from the last rank (an odd count: no element size)
static void cc_broadcast(const CommCheck *k, size_t bytes) {
    int root = k->c->world - 1;
    unsigned char *host = malloc(bytes);
    for (size_t i = 0; i < bytes; i++) host[i] = (unsigned char)(k->c->rank == root ? (i * 31 + 7) & 255 : 0xEE);
    void *buf = k->b->alloc(bytes);
    k->b->upload(buf, host, bytes);
    k->c->broadcast(buf, bytes, root, "comm_check broadcast");
    k->c->synchronize();
    k->b->synchronize();
    k->b->download(host, buf, bytes);
    for (size_t i = 0; i < bytes; i++)
        if (host[i] != (unsigned char)((i * 31 + 7) & 255)) {
            EXPECT(0, "broadcast from rank %d: byte %zu is %u", root, i, host[i]);
            break;
        }
    free(host);
    k->b->free(buf);
}

// Started reductions as the gradient buckets use them: an all-reduce, then one reduce into
// each rank (ZeRO-1's pieces), with a blocking all-reduce called while they run; after
// wait_started every root holds its sum and the other ranks' buffers are as they were.
static void cc_started(const CommCheck *k, CommType t, size_t n) {
    int world = k->c->world, rank = k->c->rank;
    void *all = cc_upload(k, t, n, NULL), *between = cc_upload(k, t, n, NULL);
    void **to = malloc((size_t)world * sizeof(void *));
    k->c->reduce_start(all, n, t, COMM_SUM, COMM_ALL, "comm_check started all-reduce");
    for (int root = 0; root < world; root++) {
        to[root] = cc_upload(k, t, n, NULL);
        k->c->reduce_start(to[root], n, t, COMM_SUM, root, "comm_check started reduce");
        if (root == 0) k->c->all_reduce(between, n, t, COMM_SUM, "comm_check all_reduce between started ones");
    }
    k->c->wait_started("comm_check started");
    char *got = cc_download(k, all, t, n);
    cc_expect_range("started all-reduce", got, t, 0, n, COMM_SUM, world);
    free(got);
    got = cc_download(k, between, t, n);
    cc_expect_range("all_reduce while started ones run", got, t, 0, n, COMM_SUM, world);
    free(got);
    for (int root = 0; root < world; root++) {
        got = cc_download(k, to[root], t, n);
        if (rank == root) {
            cc_expect_range("started reduce, at its root", got, t, 0, n, COMM_SUM, world);
        } else {
            for (size_t i = 0; i < n; i++)
                if (cc_get(got, t, i) != cc_input(rank, i)) {
                    EXPECT(0, "started reduce into rank %d changed rank %d's buffer at %zu", root, rank, i);
                    break;
                }
        }
        free(got);
        k->b->free(to[root]);
    }
    free(to);
    k->b->free(all), k->b->free(between);
}

// ---- running them ----

// Every rank's failure flag for the check just run, combined: a failure anywhere fails it
// on every rank.
static void cc_agree(const CommCheck *k) {
    if (!k->agree) return;
    int32_t f = test_current_failed;
    k->agree->all_reduce(&f, 1, COMM_I32, COMM_MAX, "comm_check failure flags");
    test_current_failed = f;
}

#define CC_RUN(k, label, call)                               \
    do {                                                     \
        test_current_failed = 0;                             \
        call;                                                \
        k->c->barrier();                                     \
        cc_agree(k);                                         \
        if (test_current_failed)                             \
            test_failed_count++, printf("FAIL %s\n", label); \
        else                                                 \
            test_passed_count++, printf("ok   %s\n", label); \
        fflush(stdout);                                      \
    } while (0)

// Every collective on `types` (n_types of them), with element counts that are not round.
static void comm_check_all(const CommCheck *k, const CommType *types, int n_types) {
    char label[128];
    for (int j = 0; j < n_types; j++) {
        CommType t = types[j];
        int fp = t != COMM_I32;
        const size_t sizes[2] = {1, 4099};
        for (int s = 0; s < 2; s++) {
            size_t n = sizes[s];
            snprintf(label, sizeof label, "%s all_reduce SUM, %s x %zu", k->c->name, comm_type_name(t), n);
            CC_RUN(k, label, cc_all_reduce(k, t, COMM_SUM, n));
            snprintf(label, sizeof label, "%s all_reduce MAX, %s x %zu", k->c->name, comm_type_name(t), n);
            CC_RUN(k, label, cc_all_reduce(k, t, COMM_MAX, n));
            if (fp) {
                snprintf(label, sizeof label, "%s all_reduce AVG, %s x %zu", k->c->name, comm_type_name(t), n);
                CC_RUN(k, label, cc_all_reduce(k, t, COMM_AVG, n));
            }
            snprintf(label, sizeof label, "%s reduce_scatter SUM, %s x %zu per rank", k->c->name, comm_type_name(t), n);
            CC_RUN(k, label, cc_reduce_scatter(k, t, COMM_SUM, n));
            if (fp) {
                snprintf(label, sizeof label, "%s reduce_scatter AVG, %s x %zu per rank", k->c->name, comm_type_name(t),
                         n);
                CC_RUN(k, label, cc_reduce_scatter(k, t, COMM_AVG, n));
            }
            snprintf(label, sizeof label, "%s all_gather, %s x %zu per rank", k->c->name, comm_type_name(t), n);
            CC_RUN(k, label, cc_all_gather(k, t, n));
            snprintf(label, sizeof label, "%s started all-reduce and reduces, %s x %zu", k->c->name, comm_type_name(t),
                     n);
            CC_RUN(k, label, cc_started(k, t, n));
        }
    }
    snprintf(label, sizeof label, "%s broadcast of 1001 bytes from the last rank", k->c->name);
    CC_RUN(k, label, cc_broadcast(k, 1001));
}
