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


def main():
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
