#!/usr/bin/env python3
"""Encode speed, single thread: `strap tok encode` next to Hugging Face `tokenizers` on the
same text and the same tokenizer.json, with a check that the ids are identical.
usage: python3 bench/tok_speed.py TOKENIZER.json TEXT_FILE [--strap ./strap]"""
import argparse
import json
import os
import subprocess
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tokenizer")
    ap.add_argument("text")
    ap.add_argument("--strap", default="./strap")
    args = ap.parse_args()
    os.environ["RAYON_NUM_THREADS"] = "1"
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    from tokenizers import Tokenizer
    data = open(args.text, "rb").read()
    mb = len(data) / 1e6
    t0 = time.perf_counter()
    out = subprocess.run([args.strap, "tok", "encode", "--tokenizer", args.tokenizer], input=data,
                         capture_output=True, check=True).stdout
    strap_s = time.perf_counter() - t0
    strap_ids = list(map(int, out.split()))
    tok = Tokenizer.from_file(args.tokenizer)
    text = data.decode("utf-8")
    t0 = time.perf_counter()
    hf_ids = tok.encode(text, add_special_tokens=False).ids
    hf_s = time.perf_counter() - t0
    print(json.dumps({"bench": "tok_encode", "text_mb": round(mb, 2), "tokens": len(hf_ids),
                      "strap_mb_per_s": round(mb / strap_s, 2), "hf_tokenizers_mb_per_s": round(mb / hf_s, 2),
                      "identical_ids": strap_ids == hf_ids}))


if __name__ == "__main__":
    main()
