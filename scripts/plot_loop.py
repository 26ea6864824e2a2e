#!/usr/bin/env python3
"""Plots the DPO metrics of every iteration of a strap loop work directory as PNGs.

usage: python3 scripts/plot_loop.py W [--quiet]
writes W/plots/dpo-iter-NN.png (loss, reward accuracy, reward margin, chosen and rejected
rewards per step), W/plots/iterations.png (pair accuracy and win rate per iteration) and,
when the run evaluates held-out constraint prompts, W/plots/constraints.png (prompt- and
instruction-level accuracy of M0, M1, ... with the McNemar p-value of each against M0).
needs: matplotlib (pip install matplotlib, or apt-get install python3-matplotlib)
"""
import argparse
import glob
import json
import os
import sys


def read_jsonl(path):
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not JSON ({e})")
    return rows


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir")
    ap.add_argument("--quiet", action="store_true", help="say nothing when matplotlib is missing")
    args = ap.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        if args.quiet:
            sys.exit(3)  # strap loop then tries the system's python3
        sys.exit("plot_loop.py needs matplotlib: pip install matplotlib")
    iters = sorted(glob.glob(os.path.join(args.workdir, "iter-[0-9][0-9]")))
    os.makedirs(os.path.join(args.workdir, "plots"), exist_ok=True)
    summary = []
    for d in iters:
        n = int(d.rsplit("-", 1)[1])
        metrics = os.path.join(d, "model", "metrics.jsonl")
        if os.path.exists(metrics):
            rows = [r for r in read_jsonl(metrics) if "loss" in r]
            if rows:
                steps = [r["step"] for r in rows]
                fig, ax = plt.subplots(1, 4, figsize=(18, 4))
                ax[0].plot(steps, [r["loss"] for r in rows])
                ax[0].set_title("DPO loss")
                ax[1].plot(steps, [r["rewards_accuracy"] for r in rows])
                ax[1].set_ylim(-0.05, 1.05)
                ax[1].set_title("rewards/accuracies")
                ax[2].plot(steps, [r["rewards_margin"] for r in rows])
                ax[2].set_title("rewards/margins")
                ax[3].plot(steps, [r["rewards_chosen"] for r in rows], label="chosen")
                ax[3].plot(steps, [r["rewards_rejected"] for r in rows], label="rejected")
                ax[3].set_title("rewards")
                ax[3].legend()
                for a in ax:
                    a.set_xlabel("step")
                fig.suptitle(f"iteration {n}")
                fig.tight_layout()
                out = os.path.join(args.workdir, "plots", f"dpo-iter-{n:02d}.png")
                fig.savefig(out, dpi=90)
                plt.close(fig)
                if not args.quiet:
                    print(out)
        ev = read_json(os.path.join(d, "eval_pairs.json"))
        wr = read_json(os.path.join(d, "winrate.json"))
        summary.append((n, ev.get("accuracy") if ev else None, wr.get("win_rate") if wr else None))
    if summary:
        fig, ax = plt.subplots(figsize=(6, 4))
        xs = [s[0] for s in summary]
        ax.plot(xs, [s[1] for s in summary], "o-", label="pair accuracy")
        ax.plot(xs, [s[2] for s in summary], "s-", label="win rate vs previous")
        ax.axhline(0.5, color="grey", lw=0.5)
        ax.set_xlabel("iteration")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xticks(xs)
        ax.legend()
        fig.tight_layout()
        out = os.path.join(args.workdir, "plots", "iterations.png")
        fig.savefig(out, dpi=90)
        plt.close(fig)
        if not args.quiet:
            print(out)
    plot_constraints(plt, args, iters)


def plot_constraints(plt, args, iters):
    rows = []
    for d in iters:
        c = read_json(os.path.join(d, "constraints.json"))
        if c:
            rows.append((int(d.rsplit("-", 1)[1]), c))
    if not rows:
        return
    m0 = rows[0][1]["baseline"]
    xs = [0] + [n for n, _ in rows]
    prompt = [m0["prompt_accuracy"]] + [c["model"]["prompt_accuracy"] for _, c in rows]
    instr = [m0["instruction_accuracy"]] + [c["model"]["instruction_accuracy"] for _, c in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(xs, prompt, "o-", label="prompt-level")
    ax.plot(xs, instr, "s-", label="instruction-level")
    for (n, c), y in zip(rows, prompt[1:]):
        ax.annotate(f"p={c['mcnemar_p']:.2g}", (n, y), textcoords="offset points", xytext=(4, -12), fontsize=8)
    ax.set_xlabel("model M(t)")
    ax.set_ylabel("accuracy on held-out prompts")
    ax.set_xticks(xs)
    ax.set_ylim(0, 1)
    ax.legend()
    ax.set_title("verifiable instructions (greedy)")
    fig.tight_layout()
    out = os.path.join(args.workdir, "plots", "constraints.png")
    fig.savefig(out, dpi=90)
    plt.close(fig)
    if not args.quiet:
        print(out)


if __name__ == "__main__":
    main()
