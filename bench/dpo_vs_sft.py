#!/usr/bin/env python3
"""DPO step cost against an SFT step on the same tokens (strap dpo vs strap sft).

usage: python3 bench/dpo_vs_sft.py [--strap ./strap] [--threads 2] [--json out.json]

A model (4 layers, width 256, the 700-token test tokenizer) and 64 preference pairs whose
chosen and rejected answers have the same length are made in a temp directory. `strap dpo
--batch 4` then runs 16 steps: each step is the forward and backward of 8 sequences (4
chosen, 4 rejected). `strap sft --batch 8 --seq S` runs 16 steps on the same 128
conversations, S chosen so that a packed row holds exactly one conversation: 8 rows of the
same sequences per step. Both log tokens and tokens_per_s per step in metrics.jsonl, which
gives the wall time of every step; the table compares the median step times (the first two
steps are warm-up). The reference log-probabilities of DPO are computed once before its
first step; that pass is reported separately as its share of the whole run.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time


def run(cmd):
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    return time.monotonic() - t0


def step_seconds(metrics):
    rows = [json.loads(l) for l in open(metrics)]
    return [r["tokens"] / r["tokens_per_s"] for r in rows if r.get("tokens_per_s")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strap", default="./strap")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    strap = os.path.abspath(args.strap)
    tok = os.path.abspath("tests/ref/fixtures/tok/llama3.tokenizer.json")
    with tempfile.TemporaryDirectory() as d:
        m = os.path.join(d, "m")
        run([strap, "init", "--out", m, "--vocab", "700", "--dim", "256", "--layers", "4", "--heads", "4",
             "--kv-heads", "2", "--ffn", "768", "--max-seq", "512", "--seed", "1"])
        subprocess.run(["cp", tok, os.path.join(m, "tokenizer.json")], check=True)
        rnd = random.Random(0)
        words = ["alpha", "beta", "gamma", "delta", "river", "stone", "light", "north", "paper", "green"]
        pairs, convs = [], []
        for i in range(64):
            prompt = "question %d: " % i + " ".join(rnd.choice(words) for _ in range(12))
            answer = " ".join(rnd.choice(words) for _ in range(60))
            # the rejected answer: the same words in another order (the same tokens, so the same length)
            ws = answer.split()
            rnd.shuffle(ws)
            rejected = " ".join(ws)
            pairs.append({"prompt": prompt, "chosen": answer, "rejected": rejected})
            convs += [{"prompt": prompt, "response": answer}, {"prompt": prompt, "response": rejected}]
        with open(os.path.join(d, "pairs.jsonl"), "w") as f:
            f.writelines(json.dumps(p) + "\n" for p in pairs)
        with open(os.path.join(d, "sft.jsonl"), "w") as f:
            f.writelines(json.dumps(c) + "\n" for c in convs)
        # the longest conversation (prompt, answer, end token, BOS) decides the row length
        longest = 0
        for c in convs:
            out = subprocess.run([strap, "tok", "encode", "--tokenizer", tok], input=c["prompt"] + c["response"],
                                 capture_output=True, text=True, check=True).stdout.split()
            longest = max(longest, len(out))
        seq = longest + 8
        common = ["--threads", str(args.threads), "--lr", "1e-4"]
        t_dpo = run([strap, "dpo", "--model", m, "--pairs", os.path.join(d, "pairs.jsonl"), "--out",
                     os.path.join(d, "dpo"), "--batch", "4", "--epochs", "1", "--max-len", str(seq)] + common)
        t_sft = run([strap, "sft", "--model", m, "--data", os.path.join(d, "sft.jsonl"), "--out",
                     os.path.join(d, "sft"), "--batch", "8", "--seq", str(seq), "--steps", "16"] + common)
        dpo = step_seconds(os.path.join(d, "dpo", "metrics.jsonl"))
        sft = step_seconds(os.path.join(d, "sft", "metrics.jsonl"))
        med_dpo, med_sft = statistics.median(dpo[2:]), statistics.median(sft[2:])
        ref_share = (t_dpo - sum(dpo)) / t_dpo  # load, reference pass and saving, over the run
        res = {"threads": args.threads, "pairs": 64, "seq": seq, "steps": len(dpo), "dpo_step_s": med_dpo,
               "sft_step_s": med_sft, "ratio": med_dpo / med_sft, "dpo_run_s": t_dpo, "sft_run_s": t_sft,
               "dpo_outside_steps_share": ref_share}
    print("| | median step (s) | whole run (s) |")
    print("|---|---|---|")
    print("| strap sft --batch 8 (8 rows of %d) | %.3f | %.1f |" % (seq, med_sft, t_sft))
    print("| strap dpo --batch 4 (8 sequences) | %.3f | %.1f |" % (med_dpo, t_dpo))
    print("DPO step / SFT step: %.3f (time outside the steps, reference pass included: %.0f%% of the DPO run)"
          % (res["ratio"], 100 * ref_share))
    print(json.dumps(res))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
