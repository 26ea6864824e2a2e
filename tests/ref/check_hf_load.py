#!/usr/bin/env python3
"""Loads a strap checkpoint directory with Hugging Face transformers and scores a token
file, to check that strap's checkpoints load unchanged in transformers and give the same
numbers as strap.

usage: python3 tests/ref/check_hf_load.py DIR TOKENS_FILE [--compare FILE.json] [--strap ./strap]
                                          [--dtype float64|float32] [--tol 1e-4]

DIR          a checkpoint directory (config.json + model.safetensors, or a sharded
             model.safetensors.index.json), loaded with LlamaForCausalLM.from_pretrained
TOKENS_FILE  whitespace-separated token ids: one sequence, scored as given (position i
             predicts token i+1)

Prints one JSON object:
  {"loss": mean next-token cross-entropy over the len-1 predictions,
   "tokens": number of predictions, "logits_last": the first 8 logits of the last position,
   "dtype": the compute dtype, "transformers": version}
The model is run in float64 by default (from the stored weights, whatever their dtype), so
the result is a reference for strap's float32 CPU numbers.

--compare FILE.json  a JSON object with "loss" (strap's, e.g. the output of
                     `strap eval ppl --tokens-file F --json`) and optionally "logits_last";
                     adds "compare": {...} with the differences and exits 1 if the loss
                     differs by more than --tol (relative) or a logit by more than --tol
                     times max(1, |logit|).
--strap BIN          runs `BIN eval ppl --model DIR --tokens-file TOKENS_FILE --json --device cpu`
                     and compares with its output the same way.

needs: pip install torch transformers safetensors
"""
import argparse
import json
import subprocess
import sys


def load_tokens(path):
    text = open(path).read().split()
    try:
        ids = [int(t) for t in text]
    except ValueError as e:
        sys.exit(f"{path}: not a whitespace-separated list of token ids ({e})")
    if len(ids) < 2:
        sys.exit(f"{path}: needs at least 2 token ids (got {len(ids)})")
    return ids


def compare(out, ref, tol, what):
    res = {"against": what}
    ok = True
    if "loss" not in ref:
        sys.exit(f"{what}: no \"loss\" key to compare with")
    diff = abs(float(ref["loss"]) - out["loss"])
    res["loss"] = float(ref["loss"])
    res["loss_abs_diff"] = diff
    if diff > tol * max(1.0, abs(out["loss"])):
        ok = False
    if "logits_last" in ref:
        theirs = [float(x) for x in ref["logits_last"]]
        n = min(len(theirs), len(out["logits_last"]))
        worst = max((abs(a - b) / max(1.0, abs(b)) for a, b in zip(theirs[:n], out["logits_last"][:n])), default=0.0)
        res["logits_last_max_rel_diff"] = worst
        if worst > tol:
            ok = False
    res["ok"] = ok
    return res


def main():
    ap = argparse.ArgumentParser(description="score a token file with transformers.LlamaForCausalLM")
    ap.add_argument("dir")
    ap.add_argument("tokens")
    ap.add_argument("--compare", metavar="FILE.json", help="JSON with \"loss\" (and \"logits_last\") to compare with")
    ap.add_argument("--strap", metavar="BIN", help="strap binary: run `eval ppl` on the same tokens and compare")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--tol", type=float, default=1e-4, help="relative tolerance for --compare/--strap (1e-4)")
    args = ap.parse_args()

    import torch
    import torch.nn.functional as F
    import transformers
    from transformers import LlamaForCausalLM

    ids = load_tokens(args.tokens)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    model = LlamaForCausalLM.from_pretrained(args.dir, attn_implementation="eager").to(dtype)
    model.eval()
    vocab, max_pos = model.config.vocab_size, model.config.max_position_embeddings
    bad = [t for t in ids if not 0 <= t < vocab]
    if bad:
        sys.exit(f"{args.tokens}: token id {bad[0]} is outside the vocabulary ({vocab})")
    if len(ids) > max_pos:
        sys.exit(f"{args.tokens}: {len(ids)} tokens, above max_position_embeddings {max_pos}")
    with torch.no_grad():
        x = torch.tensor([ids])
        logits = model(input_ids=x).logits[0].double()
        loss = F.cross_entropy(logits[:-1], x[0, 1:]).item()
    out = {"loss": loss, "tokens": len(ids) - 1, "logits_last": logits[-1, :8].tolist(), "dtype": args.dtype,
           "transformers": transformers.__version__}
    ok = True
    if args.compare:
        with open(args.compare) as f:
            ref = json.load(f)
        out["compare"] = compare(out, ref, args.tol, args.compare)
        ok &= out["compare"]["ok"]
    if args.strap:
        res = subprocess.run([args.strap, "eval", "ppl", "--model", args.dir, "--tokens-file", args.tokens, "--json",
                              "--device", "cpu"], capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit(f"{args.strap} eval ppl failed (exit {res.returncode}): {res.stderr.strip()}")
        out["strap"] = compare(out, json.loads(res.stdout), args.tol, f"{args.strap} eval ppl")
        ok &= out["strap"]["ok"]
    print(json.dumps(out))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
