#!/usr/bin/env python3
"""bench/gpu_table.py FILE.jsonl: the table of `strap bench gemm --json` or
`strap bench attention --json` lines (bench/run.sh and scripts/gpu-check.sh print it)."""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
if not rows:
    sys.exit("no results in " + sys.argv[1])
f = lambda v, fmt: "-" if v is None else fmt % v
print("%s on %s" % ("GEMM (own mma.sync / wgmma vs cuBLAS)" if rows[0]["bench"] == "gemm" else "causal attention (flash vs naive)",
                    rows[0]["device"]))
if rows[0]["bench"] == "gemm":
    print("%-22s %2s %6s %6s %6s %9s %9s %9s %7s %10s" % ("shape", "op", "M", "N", "K", "mma TF/s", "wgmma", "cuBLAS",
          "ratio", "max diff"))
    for r in rows:
        print("%-22s %2s %6d %6d %6d %9s %9s %9s %7s %10s" % (r["shape"], r["op"], r["M"], r["N"], r["K"],
              f(r["mma_tflops"], "%.1f"), f(r["wgmma_tflops"], "%.1f"), f(r["cublas_tflops"], "%.1f"),
              f(r["ratio"], "%.2fx"), f(r["max_rel_diff"], "%.2e")))
else:
    print("%3s %5s %3s %3s %4s %-8s %10s %8s %10s %8s %8s %10s" % ("B", "T", "H", "KV", "D", "pass", "flash ms", "TF/s",
          "naive ms", "TF/s", "speedup", "max diff"))
    for r in rows:
        print("%3d %5d %3d %3d %4d %-8s %10.3f %8.1f %10.3f %8.1f %7.2fx %10s" % (r["B"], r["T"], r["H"], r["KV"], r["D"],
              r["pass"], r["flash_ms"], r["flash_tflops"], r["naive_ms"], r["naive_tflops"], r["speedup"], f(r["max_rel_diff"], "%.2e")))
