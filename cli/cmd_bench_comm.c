// cmd_bench_comm.c: strap bench comm (bench/bench_comm.c): the bandwidth of strap's own
// collectives, MPI on CPU ranks, NCCL on GPUs, under mpirun.
#include "cmd_bench_comm.h"

#include "../bench/bench_comm.h"
#include "args.h"

int bench_comm(int argc, char **argv) {
    BenchCommOptions o;
    bench_comm_options_default(&o);
    Command cmd = {"mpirun -np N strap bench comm [--op all_reduce|reduce_scatter|all_gather] [--max-bytes B]",
                   "Bandwidth of strap's collectives (MPI on CPU ranks, NCCL on GPUs) as nccl-tests reports it: "
                   "time per call (the slowest rank's), algorithm and bus bandwidth, for buffer sizes doubling "
                   "from --min-bytes to --max-bytes. Every size is first checked for the right sums.",
                   BENCH_COMM_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    if (bench_comm_op(o.op) < 0)
        args_error(&cmd, "--op must be all_reduce, reduce_scatter or all_gather (got '%s')", o.op);
    if (o.min_bytes < 4 || o.max_bytes < o.min_bytes || o.iters < 1 || o.warmup < 0)
        args_error(&cmd, "give 4 <= --min-bytes <= --max-bytes, --iters >= 1 and --warmup >= 0");
    return bench_comm_run(&o);
}
