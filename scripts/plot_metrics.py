#!/usr/bin/env python3
"""Plots a strap metrics.jsonl (train loss, eval loss, learning rate, grad norm) as a PNG.

usage: python3 scripts/plot_metrics.py RUN/metrics.jsonl [-o plot.png]
needs: pip install matplotlib
"""
import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("metrics")
    ap.add_argument("-o", "--out", default=None, help="PNG path (default: next to the metrics)")
    args = ap.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_metrics.py needs matplotlib: pip install matplotlib")
    train, evals = [], []
    with open(args.metrics) as f:
        for n, line in enumerate(f, 1):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{args.metrics}:{n}: not JSON ({e})")
            (evals if "eval_loss" in rec else train).append(rec)
    if not train:
        sys.exit(f"{args.metrics}: no training steps recorded")
    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    steps = [r["step"] for r in train]
    ax[0].plot(steps, [r["loss"] for r in train], label="train", lw=1)
    if evals:
        ax[0].plot([r["step"] for r in evals], [r["eval_loss"] for r in evals], "o-", label="eval")
    ax[0].set_title("loss (nats/token)")
    ax[0].legend()
    ax[1].plot(steps, [r["lr"] for r in train])
    ax[1].set_title("learning rate")
    ax[2].plot(steps, [r["grad_norm"] for r in train], lw=1)
    ax[2].set_title("gradient norm (before clipping)")
    for a in ax:
        a.set_xlabel("step")
    out = args.out or args.metrics.rsplit(".", 1)[0] + ".png"
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(out)


if __name__ == "__main__":
    main()
