// comm.c: the process group (MPI) and the MPI collectives on host buffers; see comm.h.
#include "comm.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"

#ifdef STRAP_MPI
#include <mpi.h>
#endif

static struct {
    int rank, world, local_rank, local_world;
    int mpi_active; // MPI_Init was called and MPI_Finalize not yet
} g = {0, 1, 0, 1, 0};

int comm_rank(void) { return g.rank; }
int comm_world(void) { return g.world; }
int comm_local_rank(void) { return g.local_rank; }
int comm_local_world(void) { return g.local_world; }

const char *comm_compiled_list(void) {
#if defined(STRAP_MPI) && defined(STRAP_NCCL)
    return "mpi, nccl";
#elif defined(STRAP_MPI)
    return "mpi";
#else
    return "none (built with MPI=0: one rank)";
#endif
}

// A launcher (mpirun, srun with PMI/PMIx) started this process: the world size it gives,
// or 0 when started on its own.
static int launcher_world(void) {
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", NULL};
    for (int i = 0; vars[i]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return atoi(v) > 0 ? atoi(v) : 1;
    }
    return getenv("PMIX_RANK") || getenv("PMI_RANK") ? 1 : 0;
}

#ifdef STRAP_MPI

int comm_have_mpi(void) { return 1; }

// the channel and requests of started reductions (see mpi_reduce_start)
static MPI_Comm started_comm = MPI_COMM_NULL;
static MPI_Request *started;
static int n_started, started_cap;

static void mpi_check(int rc, const char *call, const char *what) {
    if (rc == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    fail("rank %d of %d: %s (%s) failed: %s", g.rank, g.world, call, what, msg);
}

// exit() with a non-zero status while MPI is up (fail(), CHECK, a caught error anywhere)
// takes the whole job down instead of leaving the other ranks blocked in a collective.
static void on_process_exit(int status, void *arg) {
    (void)arg;
    if (!g.mpi_active) return;
    if (status != 0 && g.world > 1) {
        fflush(stdout);
        fprintf(stderr, "strap: error: rank %d of %d failed (exit status %d, see above); stopping all ranks\n", g.rank,
                g.world, status);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, status);
    }
    g.mpi_active = 0;
    MPI_Finalize();
}

void comm_init(int *argc, char ***argv) {
    if (launcher_world() == 0) return; // started on its own: rank 0 of 1, no MPI
    int provided = 0;
    int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) fail("MPI_Init failed (error %d): check the mpirun / srun command line", rc);
    g.mpi_active = 1;
    on_exit(on_process_exit, NULL);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g.world);
    MPI_Comm local;
    mpi_check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g.rank, MPI_INFO_NULL, &local),
              "MPI_Comm_split_type", "ranks on this node");
    MPI_Comm_rank(local, &g.local_rank);
    MPI_Comm_size(local, &g.local_world);
    MPI_Comm_free(&local);
    mpi_check(MPI_Comm_dup(MPI_COMM_WORLD, &started_comm), "MPI_Comm_dup", "the channel of started all-reduces");
}

void comm_finalize(void) {
    if (!g.mpi_active) return;
    g.mpi_active = 0;
    MPI_Finalize();
}

static MPI_Datatype mpi_type(CommType type, const char *what) {
    switch (type) {
    case COMM_F32: return MPI_FLOAT;
    case COMM_F64: return MPI_DOUBLE;
    case COMM_I32: return MPI_INT;
    case COMM_BF16: break;
    }
    fail("rank %d: %s: MPI has no bf16 type; bf16 buffers live on the GPU and go through NCCL", g.rank, what);
}

static MPI_Op mpi_op(CommOp op) { return op == COMM_MAX ? MPI_MAX : MPI_SUM; }

// AVG = SUM / world on the reduced elements
static void scale_avg(void *buf, size_t n, CommType type) {
    if (type == COMM_F32)
        for (size_t i = 0; i < n; i++) ((float *)buf)[i] /= (float)g.world;
    else if (type == COMM_F64)
        for (size_t i = 0; i < n; i++) ((double *)buf)[i] /= (double)g.world;
    else
        CHECK(0, "COMM_AVG needs a floating-point type");
}

#define MPI_CHUNK ((size_t)1 << 30) // MPI counts are int: big buffers go in chunks

static void mpi_all_reduce(void *buf, size_t n, CommType type, CommOp op, const char *what) {
    size_t es = comm_type_size(type);
    for (size_t at = 0; at < n; at += MPI_CHUNK) {
        size_t m = n - at < MPI_CHUNK ? n - at : MPI_CHUNK;
        mpi_check(MPI_Allreduce(MPI_IN_PLACE, (char *)buf + at * es, (int)m, mpi_type(type, what), mpi_op(op),
                                MPI_COMM_WORLD),
                  "MPI_Allreduce", what);
    }
    if (op == COMM_AVG) scale_avg(buf, n, type);
}

static void mpi_reduce_scatter(void *buf, size_t n, CommType type, CommOp op, const char *what) {
    size_t es = comm_type_size(type);
    if (n > (size_t)INT_MAX) { // rare: reduce everything (correct, more traffic)
        mpi_all_reduce(buf, n * g.world, type, op, what);
        return;
    }
    // chunk r reduced into rank r, one MPI_Reduce per chunk: Open MPI's MPI_Reduce_scatter_block
    // is an order of magnitude slower on shared memory (docs/perf.md)
    for (int r = 0; r < g.world; r++) {
        char *chunk = (char *)buf + (size_t)r * n * es;
        mpi_check(MPI_Reduce(g.rank == r ? MPI_IN_PLACE : chunk, chunk, (int)n, mpi_type(type, what), mpi_op(op), r,
                             MPI_COMM_WORLD),
                  "MPI_Reduce", what);
    }
    char *mine = (char *)buf + (size_t)g.rank * n * es;
    if (op == COMM_AVG) scale_avg(mine, n, type);
}

static void mpi_broadcast(void *buf, size_t bytes, int root, const char *what) {
    for (size_t at = 0; at < bytes; at += MPI_CHUNK) {
        size_t m = bytes - at < MPI_CHUNK ? bytes - at : MPI_CHUNK;
        mpi_check(MPI_Bcast((char *)buf + at, (int)m, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast", what);
    }
}

static void mpi_all_gather(void *buf, size_t n, CommType type, const char *what) {
    size_t es = comm_type_size(type);
    if (n > (size_t)INT_MAX) {
        for (int r = 0; r < g.world; r++) mpi_broadcast((char *)buf + (size_t)r * n * es, n * es, r, what);
        return;
    }
    mpi_check(MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, (int)n, mpi_type(type, what), MPI_COMM_WORLD),
              "MPI_Allgather", what);
}

static void mpi_barrier(void) { mpi_check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier", "barrier"); }
static void mpi_synchronize(void) {}

// Started reductions: MPI_Iallreduce / MPI_Ireduce on a duplicate of MPI_COMM_WORLD (made in
// comm_init, since MPI_Comm_dup is itself a collective), so the blocking collectives called
// meanwhile (step statistics) never pair with them. The requests wait in `started` (declared
// at the top).
static void mpi_reduce_start(void *buf, size_t n, CommType type, CommOp op, int root, const char *what) {
    CHECK(op != COMM_AVG, "%s: a started reduction sums (COMM_AVG would need a pass after it)", what);
    CHECK(root >= COMM_ALL && root < g.world, "%s: reduce_start to rank %d of %d", what, root, g.world);
    size_t es = comm_type_size(type);
    for (size_t at = 0; at < n; at += MPI_CHUNK) {
        size_t m = n - at < MPI_CHUNK ? n - at : MPI_CHUNK;
        if (n_started == started_cap) {
            started_cap = started_cap ? 2 * started_cap : 64; // grows to the bucket count once
            started = xrealloc(started, (size_t)started_cap * sizeof(MPI_Request));
            CHECK(started != NULL, "out of memory (%d MPI requests)", started_cap);
        }
        char *at_buf = (char *)buf + at * es;
        if (root == COMM_ALL)
            mpi_check(MPI_Iallreduce(MPI_IN_PLACE, at_buf, (int)m, mpi_type(type, what), mpi_op(op), started_comm,
                                     &started[n_started++]),
                      "MPI_Iallreduce", what);
        else // the root reduces in place; the others only send
            mpi_check(MPI_Ireduce(g.rank == root ? MPI_IN_PLACE : at_buf, at_buf, (int)m, mpi_type(type, what),
                                  mpi_op(op), root, started_comm, &started[n_started++]),
                      "MPI_Ireduce", what);
    }
    // let the ones already started move on (MPI progresses them inside MPI calls)
    int done = 0;
    mpi_check(MPI_Testall(n_started, started, &done, MPI_STATUSES_IGNORE), "MPI_Testall", what);
}

static void mpi_wait_started(const char *what) {
    mpi_check(MPI_Waitall(n_started, started, MPI_STATUSES_IGNORE), "MPI_Waitall", what);
    n_started = 0;
}

static Comm mpi_comm = {"mpi",
                        0,
                        1,
                        mpi_all_reduce,
                        mpi_reduce_scatter,
                        mpi_all_gather,
                        mpi_broadcast,
                        mpi_barrier,
                        mpi_synchronize,
                        mpi_reduce_start,
                        mpi_wait_started};

Comm *comm_host(void) {
    if (g.world == 1) return NULL;
    mpi_comm.rank = g.rank;
    mpi_comm.world = g.world;
    return &mpi_comm;
}

Comm *comm_for_backend(const Backend *backend) {
    if (g.world == 1) return NULL;
    if (strcmp(backend->name, "cpu") == 0) return comm_host();
#ifdef STRAP_NCCL
    static Comm *nccl = NULL;
    if (!nccl) {
        unsigned char id[COMM_NCCL_ID_BYTES];
        if (g.rank == 0) comm_nccl_unique_id(id);
        mpi_broadcast(id, sizeof id, 0, "NCCL unique id");
        nccl = comm_nccl_create(id, g.rank, g.world);
    }
    return nccl;
#else
    fail("rank %d of %d: this strap was built without NCCL, so %d ranks cannot train on the %s backend: install "
         "NCCL (libnccl-dev, or the one in the CUDA toolkit) and rebuild, or run on the cpu device",
         g.rank, g.world, g.world, backend->name);
#endif
}

#else // built with MPI=0: a single-rank strap

int comm_have_mpi(void) { return 0; }

void comm_init(int *argc, char ***argv) {
    (void)argc, (void)argv;
    int world = launcher_world();
    if (world > 1)
        fail("this strap was built with MPI=0 (a single-rank binary) but the launcher started %d ranks: install "
             "OpenMPI (apt-get install openmpi-bin libopenmpi-dev) and rebuild with make",
             world);
}

void comm_finalize(void) {}
Comm *comm_host(void) { return NULL; }
Comm *comm_for_backend(const Backend *backend) {
    (void)backend;
    return NULL;
}

#endif
