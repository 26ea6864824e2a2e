// comm.h: the processes of a distributed run and the collectives between them.
//
// A run is `world` processes (ranks) started by mpirun or srun; a process started without a
// launcher is rank 0 of 1 and never touches MPI. MPI starts the ranks, tells each its rank,
// world size and local rank (its index among the ranks on the same node, which picks its
// GPU), and does the collectives on host (CPU) buffers. On GPUs, NCCL does the collectives
// on device buffers: rank 0 makes an NCCL unique id and MPI broadcasts it.
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
// Started reductions (gradient buckets overlapped with the backward, train/dist.c):
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

#include "../kernels/backend.h"

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

// ---- the process group (one per process) ----

// Called first thing in main: joins the MPI job when launched by mpirun / srun (MPI_Init),
// and makes every later failure of this process (exit with a non-zero status) abort the
// whole job with a message naming the rank instead of leaving the other ranks waiting.
void comm_init(int *argc, char ***argv);
// Called when main returns normally: MPI_Finalize (no-op for a single process).
void comm_finalize(void);
int comm_rank(void);
int comm_world(void);
int comm_local_rank(void);  // index among the ranks on this node
int comm_local_world(void); // ranks on this node
// 1 when this strap was built with MPI (make MPI=0 builds a single-rank binary).
int comm_have_mpi(void);
// What this build can do across processes, e.g. "mpi, nccl" or "none (built with MPI=0)".
const char *comm_compiled_list(void);

// Collectives on host buffers (MPI); NULL when world == 1.
Comm *comm_host(void);
// Collectives on `backend`'s buffers: the host table for the CPU backend, NCCL for CUDA
// (created on first use). NULL when world == 1. Fails when the backend has no collectives
// in this build (CUDA without NCCL).
Comm *comm_for_backend(const Backend *backend);

// Size in bytes of one element of `type`.
size_t comm_type_size(CommType type);

// ---- NCCL (kernels/cuda/comm_nccl.cu; only in builds with CUDA and NCCL) ----
#define COMM_NCCL_ID_BYTES 128
// Rank 0: a fresh NCCL unique id (COMM_NCCL_ID_BYTES bytes) for the others to join with.
void comm_nccl_unique_id(void *id);
// Joins the NCCL communicator of `world` ranks named by `id` on the current CUDA device.
Comm *comm_nccl_create(const void *id, int rank, int world);
