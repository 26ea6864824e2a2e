// comm_ops.h: the op table of collectives (Comm), beside the Backend op table: what the
// host (MPI, dist/comm.c) and a device's communicator (NCCL, kernels/cuda/comm_nccl.cu)
// implement. The process group that picks a table is dist/comm.h.
//
// A Comm is an op table, like Backend: one for host buffers (MPI) and, per backend, one
// for that backend's buffers (the same MPI table for the CPU backend, NCCL for CUDA).
// Every collective is called by every rank in the same order with the same counts. A
// failed call stops the job (MPI_Abort) with a message naming the rank and the call.
//
// Buffer rules (n counts elements of `type`, per rank):
//   all_reduce      buf[n]: in place, every rank ends with the sum (or mean) of all ranks'
//   reduce_scatter  buf[world*n]: rank r ends with the reduced chunk r in buf[r*n, (r+1)*n)
//                   (in place; the other chunks are left undefined)
//   all_gather      buf[world*n]: rank r's chunk is buf[r*n, (r+1)*n); every rank ends with
//                   every chunk (in place)
//   broadcast       buf[bytes] from `root` to every rank
// Collectives on device buffers may run asynchronously on the device; they are ordered
// with the backend's own work (no host synchronisation needed), and `synchronize` waits
// for them. `what` names the data for error messages ("gradients", "loss", ...).
//
// Started reductions (gradient buckets overlapped with the backward, train/dist_opt.c):
//   reduce_start      begins an in-place reduction (SUM or MAX) of buf[n] and returns at
//                     once: to every rank (root = COMM_ALL, an all-reduce) or into `root`'s
//                     buf only (a reduce; the other ranks' buf is left as it was). Neither the
//                     host nor the backend's later work waits for it, so buf must not be
//                     touched until wait_started. The work enqueued before it is what it
//                     reduces. Started reductions travel on their own channel (a duplicate MPI
//                     communicator; NCCL's own stream), so other collectives may be called
//                     while they run; every rank starts them in the same order.
//   wait_started      completes every started reduction: on the host it returns when they are
//                     done; on a device the backend's later work waits for them.
#pragma once
#include <stddef.h>

typedef enum { COMM_F32, COMM_BF16, COMM_F64, COMM_I32 } CommType;
typedef enum { COMM_SUM, COMM_AVG, COMM_MAX } CommOp;
#define COMM_ALL (-1) // reduce_start's root for an all-reduce

typedef struct Comm Comm;
struct Comm {
    const char *name; // "mpi" or "nccl"
    int rank, world;
    void (*all_reduce)(void *buf, size_t n, CommType type, CommOp op, const char *what);
    void (*reduce_scatter)(void *buf, size_t n, CommType type, CommOp op, const char *what);
    void (*all_gather)(void *buf, size_t n, CommType type, const char *what);
    void (*broadcast)(void *buf, size_t bytes, int root, const char *what);
    void (*barrier)(void);
    void (*synchronize)(void);
    void (*reduce_start)(void *buf, size_t n, CommType type, CommOp op, int root, const char *what);
    void (*wait_started)(const char *what);
};

// Size in bytes of one element of `type`.
static inline size_t comm_type_size(CommType type) {
    switch (type) {
    case COMM_F32: return 4;
    case COMM_BF16: return 2;
    case COMM_F64: return 8;
    case COMM_I32: return 4;
    }
    return 0;
}

// ---- NCCL (kernels/cuda/comm_nccl.cu; only in builds with CUDA and NCCL) ----
#define COMM_NCCL_ID_BYTES 128
// Rank 0: a fresh NCCL unique id (COMM_NCCL_ID_BYTES bytes) for the others to join with.
void comm_nccl_unique_id(void *id);
// Joins the NCCL communicator of `world` ranks named by `id` on the current CUDA device.
Comm *comm_nccl_create(const void *id, int rank, int world);
