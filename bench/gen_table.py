#!/usr/bin/env python3
"""Table of bench/gen_compare.sh's JSON lines: per batch and implementation / weight type,
the best prefill and decode tokens/s over the repeated runs, and strap's decode speed
relative to llama.cpp at the same precision (f32 vs F32, f16 vs F16) and to transformers.
Prints Markdown (pasted into docs/perf.md).

usage: python3 bench/gen_table.py build/bench/gen_compare.jsonl
"""
import json
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_table.py FILE.jsonl")
    best = {}
    with open(sys.argv[1]) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit("%s:%d: not JSON (%s)" % (sys.argv[1], n, e))
            key = (r["batch"], r.get("impl", "strap"), r.get("weights", "f32").lower())
            b = best.setdefault(key, {"prefill": 0.0, "decode": 0.0, "runs": 0, "threads": r["threads"]})
            b["prefill"] = max(b["prefill"], r["prefill_tokens_per_s"])
            b["decode"] = max(b["decode"], r["decode_tokens_per_s"])
            b["runs"] += 1
    order = {"strap": 0, "llama.cpp": 1, "transformers": 2}
    print("| batch | implementation | weights | prefill tok/s | decode tok/s | strap decode / this |")
    print("|---|---|---|---|---|---|")
    for key in sorted(best, key=lambda k: (k[0], order.get(k[1], 9), k[2])):
        batch, impl, w = key
        b = best[key]
        ratio = "-"
        if impl != "strap" and (batch, "strap", w) in best:
            ratio = "%.2fx" % (best[(batch, "strap", w)]["decode"] / b["decode"])
        print("| %d | %s | %s | %.0f | %.1f | %s |" % (batch, impl, w, b["prefill"], b["decode"], ratio))


if __name__ == "__main__":
    main()
