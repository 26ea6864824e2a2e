// comm_nccl.cu: the Comm table (kernels/comm_ops.h) for CUDA device buffers, on NCCL.
//
// Collectives run on their own stream, ordered with the backend's compute stream by
// events: a collective waits for the work enqueued on g_cuda.stream before it, and the
// work enqueued after it waits for the collective (a started all-reduce: only the work
// enqueued after wait_started). Nothing blocks the host except
// `synchronize` and `barrier`, so the compute stream can keep working on whatever does not
// depend on the collective (overlap), and consecutive buckets pipeline on the wire.
#include <nccl.h>

#include "cuda_common.cuh"

extern "C" {
#include "../comm_ops.h"
}

static_assert(sizeof(ncclUniqueId) == COMM_NCCL_ID_BYTES, "NCCL unique id size changed");

static struct {
    ncclComm_t comm;
    cudaStream_t stream;      // the collectives' stream
    cudaEvent_t compute_done; // recorded on g_cuda.stream before each collective
    cudaEvent_t comm_done;    // recorded on `stream` after it
    int *one;                 // (1) device int for barrier
    int rank, world;
} g_nccl;

#define NCCL_CHECK(call, what)                                                                                      \
    do {                                                                                                            \
        ncclResult_t r_ = (call);                                                                                   \
        if (r_ != ncclSuccess)                                                                                      \
            check_failed(__FILE__, __LINE__, "rank %d of %d: %s (%s) failed: %s", g_nccl.rank, g_nccl.world, #call, \
                         what, ncclGetErrorString(r_));                                                             \
    } while (0)

static ncclDataType_t nccl_type(CommType type) {
    switch (type) {
    case COMM_F32: return ncclFloat32;
    case COMM_BF16: return ncclBfloat16;
    case COMM_F64: return ncclFloat64;
    case COMM_I32: return ncclInt32;
    }
    CHECK(0, "unknown CommType %d", (int)type);
    return ncclFloat32;
}

static ncclRedOp_t nccl_op(CommOp op) {
    switch (op) {
    case COMM_SUM: return ncclSum;
    case COMM_AVG: return ncclAvg;
    case COMM_MAX: return ncclMax;
    }
    return ncclSum;
}

// the collective's stream waits for the compute stream
static void begin(void) {
    CUDA_CHECK(cudaEventRecord(g_nccl.compute_done, g_cuda.stream));
    CUDA_CHECK(cudaStreamWaitEvent(g_nccl.stream, g_nccl.compute_done, 0));
}

// later compute waits for the collective
static void end(void) {
    CUDA_CHECK(cudaEventRecord(g_nccl.comm_done, g_nccl.stream));
    CUDA_CHECK(cudaStreamWaitEvent(g_cuda.stream, g_nccl.comm_done, 0));
}

static void nccl_all_reduce(void *buf, size_t n, CommType type, CommOp op, const char *what) {
    begin();
    NCCL_CHECK(ncclAllReduce(buf, buf, n, nccl_type(type), nccl_op(op), g_nccl.comm, g_nccl.stream), what);
    end();
}

static void nccl_reduce_scatter(void *buf, size_t n, CommType type, CommOp op, const char *what) {
    char *mine = (char *)buf + (size_t)g_nccl.rank * n * comm_type_size(type); // in place
    begin();
    NCCL_CHECK(ncclReduceScatter(buf, mine, n, nccl_type(type), nccl_op(op), g_nccl.comm, g_nccl.stream), what);
    end();
}

static void nccl_all_gather(void *buf, size_t n, CommType type, const char *what) {
    const char *mine = (const char *)buf + (size_t)g_nccl.rank * n * comm_type_size(type); // in place
    begin();
    NCCL_CHECK(ncclAllGather(mine, buf, n, nccl_type(type), g_nccl.comm, g_nccl.stream), what);
    end();
}

static void nccl_broadcast(void *buf, size_t bytes, int root, const char *what) {
    begin();
    NCCL_CHECK(ncclBroadcast(buf, buf, bytes, ncclUint8, root, g_nccl.comm, g_nccl.stream), what);
    end();
}

// Started reductions (gradient buckets during the backward): like nccl_all_reduce without
// end(), so the compute stream goes on with the backward of earlier layers while the bucket
// is on the wire; wait_started puts the compute stream behind all of them (the collectives'
// stream runs them in order, so its last event covers every one).
static void nccl_reduce_start(void *buf, size_t n, CommType type, CommOp op, int root, const char *what) {
    CHECK(root >= COMM_ALL && root < g_nccl.world, "%s: reduce_start to rank %d of %d", what, root, g_nccl.world);
    begin();
    if (root == COMM_ALL)
        NCCL_CHECK(ncclAllReduce(buf, buf, n, nccl_type(type), nccl_op(op), g_nccl.comm, g_nccl.stream), what);
    else
        NCCL_CHECK(ncclReduce(buf, buf, n, nccl_type(type), nccl_op(op), root, g_nccl.comm, g_nccl.stream), what);
}

static void nccl_wait_started(const char *what) {
    (void)what;
    end();
}

static void nccl_synchronize(void) {
    CUDA_CHECK(cudaStreamSynchronize(g_nccl.stream));
    ncclResult_t async = ncclSuccess;
    NCCL_CHECK(ncclCommGetAsyncError(g_nccl.comm, &async), "async error query");
    if (async != ncclSuccess)
        fail("rank %d of %d: an NCCL collective failed: %s (set NCCL_DEBUG=INFO for details)", g_nccl.rank,
             g_nccl.world, ncclGetErrorString(async));
}

static void nccl_barrier(void) {
    begin();
    NCCL_CHECK(ncclAllReduce(g_nccl.one, g_nccl.one, 1, ncclInt32, ncclSum, g_nccl.comm, g_nccl.stream), "barrier");
    end();
    nccl_synchronize();
}

static Comm nccl_comm_table = {"nccl",
                               0,
                               1,
                               nccl_all_reduce,
                               nccl_reduce_scatter,
                               nccl_all_gather,
                               nccl_broadcast,
                               nccl_barrier,
                               nccl_synchronize,
                               nccl_reduce_start,
                               nccl_wait_started};

extern "C" void comm_nccl_unique_id(void *id) {
    ncclUniqueId u;
    NCCL_CHECK(ncclGetUniqueId(&u), "making the unique id on rank 0");
    memcpy(id, &u, sizeof u);
}

extern "C" Comm *comm_nccl_create(const void *id, int rank, int world) {
    g_nccl.rank = rank;
    g_nccl.world = world;
    ncclUniqueId u;
    memcpy(&u, id, sizeof u);
    // on the device the backend chose (cudaSetDevice in backend_cuda)
    NCCL_CHECK(ncclCommInitRank(&g_nccl.comm, world, u, rank), "joining the NCCL communicator");
    CUDA_CHECK(cudaStreamCreateWithFlags(&g_nccl.stream, cudaStreamNonBlocking));
    CUDA_CHECK(cudaEventCreateWithFlags(&g_nccl.compute_done, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&g_nccl.comm_done, cudaEventDisableTiming));
    CUDA_CHECK(cudaMalloc((void **)&g_nccl.one, sizeof(int)));
    CUDA_CHECK(cudaMemset(g_nccl.one, 0, sizeof(int)));
    nccl_comm_table.rank = rank;
    nccl_comm_table.world = world;
    return &nccl_comm_table;
}
