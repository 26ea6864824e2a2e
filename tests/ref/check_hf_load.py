#!/usr/bin/env python3
"""Loads a strap checkpoint directory with Hugging Face transformers and scores a token
file, to check that strap's checkpoints load unchanged and give the same numbers.

usage: python3 tests/ref/check_hf_load.py DIR TOKENS_FILE [--strap ./strap]
Prints {"hf_loss": ..., "strap_loss": ..., "logits_max_abs_diff": ...}; with --strap it also
runs `strap eval ppl --tokens-file` and exits 1 if the losses differ by more than 1e-4.
needs: pip install torch transformers
"""
import argparse
import json
import subprocess
import sys

import torch
import torch.nn.functional as F
from transformers import LlamaForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("tokens")
    ap.add_argument("--strap", default=None, help="path to the strap binary to compare with")
    args = ap.parse_args()
    ids = [int(t) for t in open(args.tokens).read().split()]
    model = LlamaForCausalLM.from_pretrained(args.dir, torch_dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        x = torch.tensor([ids])
        logits = model(input_ids=x).logits[0].double()
        loss = F.cross_entropy(logits[:-1], x[0, 1:]).item()
    out = {"hf_loss": loss, "tokens": len(ids) - 1, "logits_last_first8": logits[-1, :8].tolist()}
    if args.strap:
        res = subprocess.run([args.strap, "eval", "ppl", "--model", args.dir, "--tokens-file", args.tokens, "--json",
                              "--device", "cpu"], capture_output=True, text=True, check=True)
        strap = json.loads(res.stdout)
        out["strap_loss"] = strap["loss"]
        out["abs_diff"] = abs(strap["loss"] - loss)
    print(json.dumps(out))
    if args.strap and out["abs_diff"] > 1e-4:
        sys.exit(1)


if __name__ == "__main__":
    main()
