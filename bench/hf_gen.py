#!/usr/bin/env python3
"""The Hugging Face transformers baseline for `strap bench gen`: the same preset shape
(random weights) or the same checkpoint (--model DIR), fp32, CPU, the same batch, prompt
length, new tokens and threads; greedy decoding with the KV cache. Prints JSON with the
same keys as strap.

usage: python3 bench/hf_gen.py --preset 125m --batch 1 --prompt-len 128 --new 32 --threads 2
       python3 bench/hf_gen.py --model models/smollm2-135m-instruct --batch 16
"""
import argparse
import json
import time

from torch_step import PRESETS


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="125m")
    ap.add_argument("--model", help="a checkpoint directory instead of the preset's random weights")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--new", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.model:
        model = LlamaForCausalLM.from_pretrained(args.model, torch_dtype=torch.float32).eval()
    else:
        model = LlamaForCausalLM(LlamaConfig(**PRESETS[args.preset])).eval()
    x = torch.randint(0, model.config.vocab_size, (args.batch, args.prompt_len))
    with torch.no_grad():
        model(x[:, :8])  # warm-up
        t0 = time.perf_counter()
        out = model(x, use_cache=True)
        prefill = time.perf_counter() - t0
        past, tok = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
        t0 = time.perf_counter()
        for _ in range(args.new):
            out = model(tok, past_key_values=past, use_cache=True)
            past, tok = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
        decode = time.perf_counter() - t0
    print(json.dumps({"bench": "gen", "impl": "transformers", "model": args.model or args.preset, "device": "cpu",
                      "weights": "f32", "transformers": __import__("transformers").__version__,
                      "batch": args.batch, "prompt_len": args.prompt_len, "new": args.new, "threads": args.threads,
                      "prefill_tokens_per_s": round(args.batch * args.prompt_len / prefill, 1),
                      "decode_tokens_per_s": round(args.batch * args.new / decode, 1)}))


if __name__ == "__main__":
    main()
