#!/usr/bin/env python3
"""Writes the Hugging Face reference fixtures that tests/test_model.c compares strap with.

For each tiny configuration below: a LlamaForCausalLM with random weights (normal(0, 0.3),
norm weights 1 + normal(0, 0.1), so signals are far from zero), saved by transformers
itself (config.json + model.safetensors, float32), and expected.safetensors holding, for
a fixed batch of tokens: tokens (I32, B x T), targets (I32, B x T; -100 = ignored), logits
(F32, B x T x V), loss (F32, [1], mean cross-entropy over the counted targets) and
grad.<parameter name> (F32) for every parameter. The reference runs in float64 on the
float32 weights, so the only differences strap shows are its own float32 rounding.

usage: python3 tests/ref/make_model_fixtures.py     (pip install torch transformers safetensors)
"""
import json
import os

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIGS = {
    "gqa_untied": dict(vocab_size=67, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                       rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False),
    "gqa_tied": dict(vocab_size=67, hidden_size=48, intermediate_size=80, num_hidden_layers=3,
                     num_attention_heads=3, num_key_value_heads=1, max_position_embeddings=64,
                     rope_theta=500000.0, rms_norm_eps=1e-6, tie_word_embeddings=True),
}
B, T = 2, 11


def make(name, cfg, seed):
    torch.manual_seed(seed)
    config = LlamaConfig(**cfg, attn_implementation="eager", torch_dtype="float32")
    model = LlamaForCausalLM(config).float()
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if "norm" in pname:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    out = os.path.join(HERE, "fixtures", name)
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    if name == "gqa_untied":  # the same weights in Hugging Face's sharded layout
        model.save_pretrained(out + "_sharded", safe_serialization=True, max_shard_size="40KB")

    model = model.double()
    tokens = torch.randint(0, cfg["vocab_size"], (B, T))
    targets = torch.full((B, T), -100, dtype=torch.long)
    targets[:, :-1] = tokens[:, 1:]
    targets[0, 3] = -100
    targets[1, 6] = -100
    logits = model(input_ids=tokens).logits
    loss = F.cross_entropy(logits.reshape(-1, cfg["vocab_size"]), targets.reshape(-1), ignore_index=-100)
    loss.backward()
    expected = {
        "tokens": tokens.to(torch.int32).contiguous(),
        "targets": targets.to(torch.int32).contiguous(),
        "logits": logits.detach().float().contiguous(),
        "loss": loss.detach().float().reshape(1),
    }
    for pname, p in model.named_parameters():
        expected["grad." + pname] = p.grad.float().contiguous()
    save_file(expected, os.path.join(out, "expected.safetensors"))
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"loss": loss.item(), "tensors": sorted(expected)}, f, indent=1)

    # Self-checks (they change no file): the saved directory reloads to the same logits, and
    # transformers' own shifted loss (labels=) over the same counted positions is the same.
    with torch.no_grad():
        again = LlamaForCausalLM.from_pretrained(out, attn_implementation="eager").double()
        assert torch.allclose(again(input_ids=tokens).logits, logits.detach(), rtol=0, atol=1e-12), "reload differs"
        labels = tokens.clone()
        labels[:, 1:][targets[:, :-1] == -100] = -100
        hf_loss = model(input_ids=tokens, labels=labels).loss.item()
        # (transformers computes this loss in float32, hence the tolerance)
        assert abs(hf_loss - loss.item()) < 1e-6 * loss.item(), f"labels= loss {hf_loss} vs {loss.item()}"

    print(f"{out}: loss {loss.item():.6f} (B={B}, T={T}, {int((targets != -100).sum())} counted targets)")
    for fname in ("model.safetensors", "expected.safetensors"):
        path = os.path.join(out, fname)
        with safe_open(path, "pt") as f:
            print(f"  {fname} ({os.path.getsize(path)} bytes)")
            for k in f.keys():
                t = f.get_slice(k)
                print(f"    {k:52s} {t.get_dtype():4s} {list(t.get_shape())}")


if __name__ == "__main__":
    import transformers
    print("torch", torch.__version__, "transformers", transformers.__version__)
    for i, (name, cfg) in enumerate(CONFIGS.items()):
        make(name, cfg, 1000 + i)
