#!/usr/bin/env python3
"""Reference values of the DPO-family losses for tests/test_dpo.c, computed with the
formulas of Hugging Face TRL's DPOTrainer (sigmoid with label smoothing, ipo, robust) in
PyTorch float64 with autograd for the derivatives. Writes tests/ref/fixtures/dpo_loss.json.
usage: python3 tests/ref/make_dpo_fixture.py     (pip install torch)"""
import itertools
import json
import os

import torch
import torch.nn.functional as F


def trl_loss(kind, beta, eps, pc, pr, rc, rr):
    logits = (pc - pr) - (rc - rr)
    if kind == "sigmoid":
        return -F.logsigmoid(beta * logits) * (1 - eps) - F.logsigmoid(-beta * logits) * eps
    if kind == "ipo":
        return (logits - 1 / (2 * beta)) ** 2
    if kind == "robust":
        return (-F.logsigmoid(beta * logits) * (1 - eps) + F.logsigmoid(-beta * logits) * eps) / (1 - 2 * eps)
    raise ValueError(kind)


def model_step():
    """A whole DPO step on the tiny tied fixture model (tests/ref/fixtures/gqa_tied): two
    pairs of token sequences, answer tokens from `start` on; reference log-probs given as
    constants; sigmoid loss (beta 0.5, label smoothing 0.1) averaged over the
    pairs; gradients of every parameter. Written to fixtures/dpo_step/."""
    from safetensors.torch import save_file
    from transformers import LlamaForCausalLM
    here = os.path.dirname(os.path.abspath(__file__))
    model = LlamaForCausalLM.from_pretrained(os.path.join(here, "fixtures", "gqa_tied"), torch_dtype=torch.float64)
    torch.manual_seed(5)
    T = 11
    seqs = [(9, 4), (7, 4), (10, 3), (11, 3)]  # (length, answer start): chosen 0, rejected 0, chosen 1, rejected 1
    tokens = torch.zeros(4, T, dtype=torch.long)
    targets = torch.full((4, T), -100, dtype=torch.long)
    for i, (n, start) in enumerate(seqs):
        tokens[i, :n] = torch.randint(0, model.config.vocab_size, (n,))
        for t in range(n - 1):
            if t + 1 >= start:
                targets[i, t] = tokens[i, t + 1]
    logits = model(input_ids=tokens).logits
    logp_tok = torch.log_softmax(logits, -1)
    mask = targets >= 0
    picked = torch.gather(logp_tok, 2, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    logps = (picked * mask).sum(-1)
    ref = logps.detach() - torch.tensor([0.3, -0.2, -0.5, 0.1], dtype=torch.float64)
    beta, eps = 0.5, 0.1
    losses = [trl_loss("sigmoid", beta, eps, logps[2 * k], logps[2 * k + 1], ref[2 * k], ref[2 * k + 1]) for k in range(2)]
    loss = sum(losses) / 2
    loss.backward()
    out = os.path.join(here, "fixtures", "dpo_step")
    os.makedirs(out, exist_ok=True)
    tensors = {"tokens": tokens.to(torch.int32), "targets": targets.to(torch.int32)}
    for name, p in model.named_parameters():
        tensors["grad." + name] = p.grad.float().contiguous()
    save_file(tensors, os.path.join(out, "expected.safetensors"))
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"beta": beta, "label_smoothing": eps, "policy_logps": logps.tolist(), "ref_logps": ref.tolist(),
                   "loss": loss.item()}, f, indent=1)
    print("wrote", out, "loss", loss.item())


def main():
    model_step()
    cases = []
    points = [(-12.5, -14.0, -13.0, -13.2), (-40.0, -20.0, -35.0, -25.0), (-3.0, -90.0, -4.0, -80.0), (-7.0, -7.0, -7.0, -7.0)]
    for kind, beta, eps, p in itertools.product(["sigmoid", "ipo", "robust"], [0.1, 0.5], [0.0, 0.1], points):
        if kind == "ipo" and eps:
            continue
        x = torch.tensor(p, dtype=torch.float64, requires_grad=True)
        loss = trl_loss(kind, beta, eps, x[0], x[1], x[2], x[3])
        loss.backward()
        cases.append({"loss_type": kind, "beta": beta, "label_smoothing": eps, "logps": list(p),
                      "loss": loss.item(), "d_pi_chosen": x.grad[0].item(), "d_pi_rejected": x.grad[1].item()})
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "dpo_loss.json")
    with open(out, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
    print("wrote", len(cases), "cases to", out)


if __name__ == "__main__":
    main()
