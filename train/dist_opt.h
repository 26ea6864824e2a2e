// dist_opt.h: data-parallel training, shared by strap train, strap sft and strap dpo.
//
// Every rank holds the whole model and computes gradients on its own slice of the global
// batch, scaled so that their sum over ranks is the gradient of the global mean loss. Then:
//
//   zero = 0  the gradients are all-reduced (summed) in buckets; every rank holds the full
//             AdamW state and takes the same step.
//   zero = 1  ZeRO-1: the gradients are reduce-scattered; rank r owns chunk r of the
//             parameter vector (n_params / world elements, plus the < world elements of the
//             tail that every rank updates alike), keeps fp32 master weights and AdamW
//             moments for that chunk only, updates it, and the parameters are all-gathered.
//             The reduce-scatter goes bucket by bucket: each bucket is cut at the chunk
//             boundaries and each piece reduced into its owner (the tail all-reduced), so
//             the same buckets as zero = 0 can start during the backward.
//
// The bucket reductions overlap the backward: dist_overlap_arm() before the step's last
// backward makes the model call back (Model.on_layer_grads) as each layer's gradients are
// final, and every bucket whose elements are all final is started at once (comm
// reduce_start: NCCL on its own stream ordered by events, MPI_Iallreduce / MPI_Ireduce on
// CPU); dist_reduce_grads starts the rest and waits. Buckets are always started last-first
// (the order the backward finishes them) and with the same bounds, so the sums are the same
// whether or not the backward was armed. The overlap is on by default on GPUs (NCCL) and off
// on CPU ranks, where MPI moves the data only inside MPI calls, on the cores the backward
// is using (measured: nothing hidden); STRAP_OVERLAP=1 or 0 forces it on or off. The
// parameter all-gather of zero = 1 is not overlapped (it waits for the whole step).
//
// With one rank (no mpirun) both are the plain AdamW of adamw.h. Checkpoints always hold
// the full state (gathered on rank 0, which alone writes), so a run resumes at any world
// size and with or without --zero.
#pragma once
#include "../dist/dist.h"
#include "../model/llama.h"
#include "adamw.h"

typedef struct {
    Model *model;
    int rank, world, zero;
    Comm *host;            // collectives on host buffers; NULL when world == 1
    Comm *dev;             // collectives on the backend's buffers; NULL when world == 1
    AdamW opt;             // hyper-parameters and step; zero = 0: the full state
    size_t shard;          // zero = 1: elements of each rank's chunk
    size_t tail;           // zero = 1: n_params - world * shard, updated by every rank
    size_t bucket;         // elements per all-reduce bucket
    int n_buckets;         // ceil(n_params / bucket)
    int overlap;           // world > 1, NCCL or STRAP_OVERLAP=1: buckets start during the backward
    int armed;             // the backward under way is the step's last (dist_overlap_arm)
    int unstarted;         // buckets [0, unstarted) are not started yet this step
    float *m, *v, *master; // zero = 1: (shard + tail) device fp32; master NULL without has_master
} DistOpt;

// `initial` (n_params fp32, host) holds the starting weights (every rank passes the same);
// NULL: the model's parameters as they are.
void dist_opt_build(DistOpt *d, Model *model, const float *initial, float beta1, float beta2, float eps,
                    float weight_decay, int zero);
void dist_opt_free(DistOpt *d);

// Called right before the backward that completes this step's gradients (the last
// micro-batch): its finished buckets start reducing while it runs. A no-op without overlap.
void dist_overlap_arm(DistOpt *d);

// After backward: sums the gradients of all ranks (zero = 0: into every rank's full
// gradient; zero = 1: into this rank's chunk). Returns the global L2 norm of the sum.
float dist_reduce_grads(DistOpt *d);
// One AdamW step (clip scale as adamw_step), then, with zero = 1, all-gather the parameters.
void dist_opt_step(DistOpt *d, float lr, float grad_scale);

// Collective: gathers the full fp32 master weights, moments and step; rank 0 writes them
// to `path` (optimizer.safetensors) and gets the master weights (n_params fp32, malloc'd,
// for model.safetensors); the other ranks get NULL.
float *dist_opt_save(DistOpt *d, const char *path, const char *state_json);
// Every rank reads `path` (the run directory must be visible to all ranks); returns the
// trainer_state JSON (malloc'd).
char *dist_opt_load(DistOpt *d, const char *path);

// strap bench step with several ranks: how much of the gradient all-reduce the backward
// hides. Medians over `steps` steps (after one warm-up each; the slowest rank's) of a
// forward + backward on (B, T) tokens alone (compute), then followed by the bucket
// reductions (serial), then with the reductions overlapped (overlap). comm = serial -
// compute, exposed = overlap - compute, hidden = 1 - exposed / comm clamped to [0, 1].
// Collective; leaves garbage in the gradients.
typedef struct {
    double compute_ms, serial_ms, overlap_ms, comm_ms, exposed_ms, hidden;
} DistOverlapTiming;
void dist_time_overlap(DistOpt *d, const int *tokens, const int *targets, int B, int T, int steps,
                       DistOverlapTiming *t);
