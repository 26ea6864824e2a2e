#!/usr/bin/env python3
"""The PyTorch baseline for `strap bench step`: the same Llama shape (Hugging Face
LlamaForCausalLM, fp32, CPU), the same batch, sequence and thread count, one training step
= forward + backward + AdamW. Prints the same JSON keys as strap.

usage: python3 bench/torch_step.py (--preset NAME | --model DIR) --batch B --seq T --threads N
needs: pip install torch transformers
"""
import argparse
import json
import statistics
import time

PRESETS = {  # must match model/presets.c
    "tiny": dict(vocab_size=258, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, intermediate_size=176, max_position_embeddings=256,
                 tie_word_embeddings=False, rope_theta=10000.0),
    "15m": dict(vocab_size=32000, hidden_size=288, num_hidden_layers=6, num_attention_heads=6,
                num_key_value_heads=6, intermediate_size=768, max_position_embeddings=256,
                tie_word_embeddings=False, rope_theta=10000.0),
    "125m": dict(vocab_size=49152, hidden_size=576, num_hidden_layers=30, num_attention_heads=9,
                 num_key_value_heads=3, intermediate_size=1536, max_position_embeddings=2048,
                 tie_word_embeddings=True, rope_theta=100000.0),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset")
    ap.add_argument("--model")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args()
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.model:
        model = LlamaForCausalLM.from_pretrained(args.model, torch_dtype=torch.float32)
        name = args.model
    else:
        cfg = dict(PRESETS[args.preset])
        cfg["max_position_embeddings"] = max(cfg["max_position_embeddings"], args.seq)
        model = LlamaForCausalLM(LlamaConfig(**cfg, attn_implementation="sdpa"))
        name = args.preset
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    vocab = model.config.vocab_size
    x = torch.randint(0, vocab, (args.batch, args.seq))
    y = torch.roll(x, -1, dims=1)
    times = []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(input_ids=x).logits
        loss = torch.nn.functional.cross_entropy(logits.view(-1, vocab), y.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    tokens = args.batch * args.seq
    print(json.dumps({"bench": "step", "impl": "pytorch", "torch": torch.__version__,
                      "model": name, "device": "cpu", "batch": args.batch, "seq": args.seq,
                      "threads": args.threads, "steps": args.steps,
                      "step_ms_median": round(med * 1e3, 3), "step_ms_best": round(min(times) * 1e3, 3),
                      "tokens_per_s": round(tokens / med, 1)}))


if __name__ == "__main__":
    main()
